/* rlimit.h: rlimits for the sandbox. Applied in the sandbox init before the
 * command is forked (the wall-clock timeout lives in spawn.c's loop). */
#ifndef MOAT_RLIMIT_H
#define MOAT_RLIMIT_H

#include "profile/profile.h"

/* core 0 always; nofile, nproc, fsize, cpu time when set. -1 with errno
 * and *what on failure. */
int	rlimit_apply(const struct limits *, const char **what);
/* RLIMIT_DATA of bytes (the memory fallback without a cgroup), set in the
 * command's process before its exec; -1 with errno. */
int	rlimit_data(uint64_t bytes);

#endif
