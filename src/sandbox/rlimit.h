/* rlimit.h: rlimits for the sandbox. Applied in the sandbox init before the
 * command is forked (the wall-clock timeout lives in spawn.c's loop). */
#ifndef MOAT_RLIMIT_H
#define MOAT_RLIMIT_H

#include "profile/profile.h"

/* core 0 always; nofile, nproc, fsize, cpu time when set; RLIMIT_DATA
 * when data_bytes is not 0 (the memory fallback without a cgroup). -1 with
 * errno and *what on failure. */
int	rlimit_apply(const struct limits *, uint64_t data_bytes, const char **what);

#endif
