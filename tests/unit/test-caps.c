/* test-caps.c: caps_drop_all, where it must succeed and where it must
 * refuse. Each case runs in a child, in a user namespace of its own (full
 * capabilities there, none outside), so nothing of the test process
 * changes: a drop leaves all five sets empty; a process that lacks
 * CAP_SETPCAP, or whose securebits were locked the other way, gets an error
 * naming the step instead of going on half-dropped (init then dies with
 * that line rather than run the command). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "sandbox/caps.h"
#include "../tap.h"

/* The five sets of this process, from /proc/self/status: 1 when all are
 * zero. */
static int
sets_zero(void)
{
	FILE	*f = fopen("/proc/self/status", "r");
	char	 line[256];
	int	 zero = 0;

	if (f == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long long	v;

		if (strncmp(line, "Cap", 3) == 0 &&
		    sscanf(strchr(line, ':') + 1, "%llx", &v) == 1 && v == 0)
			zero++;
	}
	fclose(f);
	return (zero == 5);
}

/* Runs fn in a child in a new user namespace; its exit status: 0 expected,
 * 77 when the namespace cannot be made here. */
static int
in_child(int (*fn)(void))
{
	pid_t	pid = fork();
	int	st;

	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) == -1)
			_exit(77);
		exit(fn());	/* exit: a coverage build writes the child's counts */
	}
	if (pid == -1 || waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return (-1);
	return (WEXITSTATUS(st));
}

static int
drop_ok(void)
{
	const char	*what = "";

	if (caps_drop_all(&what) == -1)
		return (1);
	return (sets_zero() ? 0 : 2);
}

/* Without CAP_SETPCAP the bounding set cannot be dropped. */
static int
drop_without_setpcap(void)
{
	const char	*what = "";
	cap_t		 c = cap_get_proc();
	cap_value_t	 v = CAP_SETPCAP;

	if (c == NULL || cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) == -1 ||
	    cap_set_proc(c) == -1)
		return (3);
	cap_free(c);
	if (caps_drop_all(&what) != -1)
		return (1);
	return (strcmp(what, "drop the capability bounding set") == 0 ? 0 : 2);
}

/* Securebits locked with "root keeps its capabilities" cannot be turned
 * into moat's. */
static int
drop_with_locked_securebits(void)
{
	const char	*what = "";

	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED, 0, 0, 0) == -1)
		return (3);
	if (caps_drop_all(&what) != -1)
		return (1);
	return (strcmp(what, "lock the securebits") == 0 ? 0 : 2);
}

int
main(void)
{
	int	rc;

	if ((rc = in_child(drop_ok)) == 77) {
		tap_skip("no user namespace for this user here: caps_drop_all is "
		    "tested end to end by tests/attack/proc-host.sh");
		return (tap_done());
	}
	tap_ok(rc == 0, "caps_drop_all leaves CapInh, CapPrm, CapEff, CapBnd and "
	    "CapAmb all zero (child exit %d)", rc);
	rc = in_child(drop_without_setpcap);
	tap_ok(rc == 0, "without CAP_SETPCAP it fails at the bounding set and says "
	    "so (child exit %d)", rc);
	rc = in_child(drop_with_locked_securebits);
	tap_ok(rc == 0, "with securebits locked the other way it fails and says so "
	    "(child exit %d)", rc);
	return (tap_done());
}
