/* rlimit.c: rlimits. Runs in the sandbox init, which the command inherits
 * them from (RLIMIT_DATA: in the command's process before its exec); they
 * hold with or without cgroups (see cg.c for those). */
#include <math.h>
#include <sys/resource.h>

#include "rlimit.h"

static int
rlimit_set(int res, rlim_t v)
{
	struct rlimit	rl;

	if (getrlimit(res, &rl) == -1)
		return (-1);
	/* Never raise a limit the host already set lower. */
	if (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max)
		v = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = v;
	return (setrlimit(res, &rl));
}

/* Without a cgroup, memory is held per process by RLIMIT_DATA: since Linux
 * 4.7 it counts every private writable mapping (brk, anonymous mmap, thread
 * stacks), and not the address space a runtime only reserves (PROT_NONE),
 * which RLIMIT_AS counts: node, the JVM and Go reserve gigabytes they never
 * touch, and fail to start under an RLIMIT_AS of a few hundred megabytes
 * (bench/README.md has the figures). The supervisor adds the sum over the
 * sandbox (spawn.c). It is set in the command's process, not in init: init
 * is moat's own code, and must still be able to allocate for a session's
 * next command (a sanitizer build of init maps terabytes of shadow memory,
 * which is over any such limit already). */
int
rlimit_data(uint64_t bytes)
{
	return (rlimit_set(RLIMIT_DATA, bytes));
}

int
rlimit_apply(const struct limits *l, const char **what)
{
	if (rlimit_set(RLIMIT_CORE, 0) == -1) {
		*what = "setrlimit(RLIMIT_CORE)";
		return (-1);
	}
	if (l->nofile != 0 && rlimit_set(RLIMIT_NOFILE, l->nofile) == -1) {
		*what = "setrlimit(RLIMIT_NOFILE)";
		return (-1);
	}
	if (l->nproc != 0 && rlimit_set(RLIMIT_NPROC, l->nproc) == -1) {
		*what = "setrlimit(RLIMIT_NPROC)";
		return (-1);
	}
	if (l->fsize != 0 && rlimit_set(RLIMIT_FSIZE, l->fsize) == -1) {
		*what = "setrlimit(RLIMIT_FSIZE)";
		return (-1);
	}
	if (l->cpu_time > 0 &&
	    rlimit_set(RLIMIT_CPU, (rlim_t)ceil(l->cpu_time)) == -1) {
		*what = "setrlimit(RLIMIT_CPU)";
		return (-1);
	}
	return (0);
}
