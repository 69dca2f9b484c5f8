/* guard.h: a bind workspace's protected and hidden paths kept so while the
 * sandbox runs, against a program on the host that removes or replaces
 * them (which detaches their mounts). Supervisor only. */
#ifndef MOAT_GUARD_H
#define MOAT_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

#include "mounts.h"
#include "base/error.h"

struct guard;

/* What the helper did to one guarded entry (never GUARD_INTACT). path is
 * where it acted (a placeholder's, for GUARD_PLACED). Borrowed for the
 * call. */
struct guard_report {
	const struct mop	*op;
	enum guard_state	 state;
	int			 err;
	const char		*path;
	dev_t			 dev;		/* GUARD_RESTORED, GUARD_PLACED: */
	ino_t			 ino;		/* what was mounted on */
};

/* A file put back, for guard_scan: any descriptor on it counts (a hidden
 * one), or one open for writing or a shared writable mapping (protected). */
struct guard_held {
	dev_t	dev;
	ino_t	ino;
	bool	any;
};

/* Before the clone: the host directories of mp's guarded entries watched
 * (mounts_guarded; ws: a bind workspace, else NULL; the plan is borrowed
 * for the guard's life). NULL with e unset: nothing to guard; with e set:
 * they cannot be watched. */
struct guard	*guard_new(const struct mount_plan *, const char *ws, struct merr *);
int		 guard_fd(const struct guard *);
/* Reads what the watches saw: true when a guarded name changed, a watched
 * directory went, or events were lost. */
bool		 guard_read(struct guard *);
/* A helper enters the sandbox's user and mount namespaces (init's, sent
 * by it: MSG_NS), mounts on each entry that lost its mount, and says so
 * through report; the watches are set again. -1 with e set when the helper
 * could not do its work. */
int		 guard_restore(struct guard *, int userns, int mntns,
		    void (*report)(void *, const struct guard_report *), void *,
		    struct merr *);
/* A process in the pid namespace pidns (its nsfs inode) holding one of
 * h[n] as struct guard_held says: 1 with *who and *which (its index) set,
 * else 0. Looked for after a restore: a descriptor opened in the window
 * before it outlives the new mount. */
int		 guard_scan(ino_t pidns, const struct guard_held *, size_t,
		    pid_t *who, size_t *which);
void		 guard_free(struct guard *);

#endif
