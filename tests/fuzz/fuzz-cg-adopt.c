/* fuzz-cg-adopt.c: libFuzzer harness for cg_adopt (src/sandbox/cg.c), which
 * reads what a session's supervisor says of a command's cgroup: the
 * controllers of each directory it passes, as numbers (CG_CTL_*) separated
 * by spaces, CG_CTL_V2 marking a v2 group's one directory. The first byte
 * is how many directories (0 to 7), the rest the text (up to a NUL). What
 * it takes must name known controllers only, v2 in one directory; what it
 * refuses must say why and leave the descriptors to the caller. Build and
 * run: tests/fuzz/run.sh. */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/cg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merr	 e;
	struct cg	*cg;
	int		 fds[8];
	size_t		 n;
	char		*s;
	unsigned	 known = CG_CTL_MEMORY | CG_CTL_PIDS | CG_CTL_CPU |
			    CG_CTL_CPUACCT | CG_CTL_IO;

	if (size == 0)
		return (0);
	n = data[0] % 8;
	if ((s = strndup((const char *)data + 1, size - 1)) == NULL)
		return (0);
	for (size_t i = 0; i < n; i++)
		fds[i] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	memset(&e, 0, sizeof e);
	if ((cg = cg_adopt(fds, n, s, &e)) != NULL) {
		assert(n >= 1 && n <= 6);
		assert((cg_controllers(cg) & ~known) == 0);
		assert(cg_mode(cg) == CG_V1 || (cg_mode(cg) == CG_V2 && n == 1));
		if (cg_mode(cg) == CG_V2)
			assert((cg_controllers(cg) & CG_CTL_CPUACCT) == 0);
		cg_close(cg);	/* closes the descriptors it took */
	} else {
		assert(e.msg[0] != '\0');
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
	}
	free(s);
	return (0);
}
