/* cov.c: gcov's counters for processes that never return from main; built
 * only with ./configure --enable-coverage. Runs in the sandbox init and in
 * the command's process before its exec.
 *
 * libgcov writes a process's counters from exit(). gcc itself wraps fork()
 * (the child starts from zero) and the exec family (the counters are written
 * before the exec), but a process that ends in _exit() writes nothing, and
 * that is how the sandbox init ends, and every failure before the command's
 * exec. clone3, called through syscall(), is not wrapped either: the init
 * starts with a copy of the supervisor's counts, which the supervisor writes
 * itself. So cov_child resets the counts in the new child, and cov_dump
 * writes them before each _exit and exec.
 *
 * Where they go. Each .gcda file is named by the absolute path of its object
 * in the build tree, and after pivot_root the sandbox does not see the build
 * tree (binding it in would change what the tests test). cov_child, which
 * runs in the new child before it builds the root, opens the build directory
 * (O_PATH, close-on-exec) and keeps it; cov_dump makes it the working
 * directory for the call and has libgcov use relative names: with
 * GCOV_PREFIX_STRIP set to the depth of the build directory and no
 * GCOV_PREFIX, gcc's documented cross-profiling mode, /work/moat/src/x.gcda
 * becomes src/x.gcda. Through a descriptor, not a path, the counters land
 * whatever root is current at that step (the host's, the base tmpfs before
 * /proc exists, or the new root) and under the seccomp filter (fchdir,
 * openat, fcntl locks, read and write, none of them denied). The environment
 * is swapped for the call only, so the command never sees a GCOV_ variable.
 * libgcov merges into an existing file under an fcntl lock, so the init, the
 * command's process and the supervisor may write the same file at once.
 * The files must be writable by the user the sandbox runs as: make coverage
 * creates them beforehand, mode 0666. A run killed by SIGKILL (a timeout)
 * while its init writes may lose that init's counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cov.h"

extern char	**environ;

/* libgcov's interface (gcc's gcov.h, which not every gcc installs). */
void	__gcov_dump(void);
void	__gcov_reset(void);

static int	cov_dirfd = -1;
static char	cov_strip[32];

void
cov_child(void)
{
	const char	*d = MOAT_COVERAGE_DIR;
	int		 depth = 0;

	__gcov_reset();
	if (cov_dirfd == -1)
		cov_dirfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (; *d != '\0'; d++)
		if (*d == '/' && d[1] != '/' && d[1] != '\0')
			depth++;
	snprintf(cov_strip, sizeof cov_strip, "GCOV_PREFIX_STRIP=%d", depth);
}

void
cov_dump(void)
{
	char	*env[] = { cov_strip, NULL }, **saved = environ;
	int	 here, err = errno;

	if (cov_dirfd == -1) {
		__gcov_dump();		/* not in a sandbox: the paths are right */
		errno = err;
		return;
	}
	here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fchdir(cov_dirfd) == 0) {
		environ = env;
		__gcov_dump();
		environ = saved;
	}
	if (here != -1) {
		(void)!fchdir(here);
		close(here);
	}
	errno = err;
}

int
cov_fd(void)
{
	return (cov_dirfd);
}

void
cov_flush(void)
{
	cov_dump();
	__gcov_reset();
}
