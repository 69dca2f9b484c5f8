/* caps.c: drops every capability, bounding and ambient sets included. Runs
 * in the sandbox init after the root is built, before the command is forked,
 * so neither init nor the command holds any. */
#include <errno.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <linux/securebits.h>

#include "caps.h"

int
caps_drop_all(const char **what)
{
	cap_t	c;
	int	last = CAP_LAST_CAP, rc;

	/* The running kernel may know more capabilities than our headers. */
	while (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	for (int i = 0; i <= last; i++) {
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) == -1 && errno != EINVAL) {
			*what = "drop the capability bounding set";
			return (-1);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		*what = "clear the ambient capabilities";
		return (-1);
	}
	/* uid 0 (moat run as root) must not get a full set back on exec. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) == -1) {
		*what = "lock the securebits";
		return (-1);
	}
	if ((c = cap_init()) == NULL) {
		*what = "cap_init";
		return (-1);
	}
	rc = cap_set_proc(c);
	cap_free(c);
	if (rc == -1) {
		*what = "clear the permitted, effective and inheritable capabilities";
		return (-1);
	}
	return (0);
}
