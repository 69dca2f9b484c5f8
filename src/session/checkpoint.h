/* checkpoint.h: whether a session's processes can be checkpointed with
 * CRIU (moat session snapshot --processes). Used by the client. */
#ifndef MOAT_CHECKPOINT_H
#define MOAT_CHECKPOINT_H

#include <stddef.h>

#include "base/error.h"
#include "profile/profile.h"
#include "session.h"

/* Why the processes of the session (info, started with profile p) cannot
 * be checkpointed here, in e: the first reason found in this order: no
 * criu on PATH, not root (CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE), `criu
 * check` failing (its first error line), then what the session itself is
 * (which no session passes yet: see checkpoint.c). Runs `criu check`. */
void	ckpt_why_not(const struct session_info *info, const struct profile *p,
	    struct merr *e);
/* The line of criu's output (out, n bytes, not NUL-terminated) worth
 * naming: the first that starts with "Error", else the first that is not
 * blank; trimmed, at most linen-1 bytes, "" when there is none. Pure. */
void	ckpt_first_error(const char *out, size_t n, char *line, size_t linen);

#endif
