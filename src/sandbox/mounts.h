/* mounts.h: the sandbox's filesystem view. The plan is made in the
 * supervisor before clone (it allocates, it can fail with a good message);
 * the sandbox init carries it out without allocating. */
#ifndef MOAT_MOUNTS_H
#define MOAT_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "etc-cache.h"
#include "profile/profile.h"

enum mop_kind {
	MOP_DIR,		/* mkdir dst */
	MOP_SYMLINK,		/* dst -> src */
	MOP_FILE,		/* dst with content data (generated /etc files) */
	MOP_BIND_RO,		/* src (host) onto dst, read-only, recursive */
	MOP_BIND_RW,
	MOP_BIND_DEV,		/* a device node */
	MOP_TMPFS,		/* size bytes, mode */
	MOP_PROC,
	MOP_DEVPTS,
	MOP_MASK,		/* an empty read-only tmpfs (dir) or /dev/null (file) over dst */
	MOP_OVERLAY,		/* lower src, upper/work in data ("upper\0work") */
	MOP_PROTECT,		/* dst stays read-only; created first when missing */
	MOP_READONLY,		/* dst and every mount under it: read-only, nosuid, nodev */
	MOP_NOSUID,		/* dst and every mount under it: nosuid (/dev's device
				   binds, made with later set, in one call) */
};

struct mop {
	enum mop_kind	 kind;
	char		*src;		/* owned; host path, or symlink target */
	char		*dst;		/* owned; path inside the sandbox */
	char		*data;		/* owned; file content, overlay dirs */
	char		*lower;		/* owned; MOP_OVERLAY: its lowerdir option */
	uint64_t	 size;
	unsigned	 mode;
	bool		 optional;	/* skip when the source is missing */
	bool		 dir;		/* MOP_PROTECT: the placeholder is a directory;
					   typed binds: the source is one */
	bool		 typed;		/* binds: the source's type was seen in the
					   plan (dir), so init need not stat it */
	bool		 inner;		/* src is a path inside the new root, not the host */
	bool		 create;	/* MOP_PROTECT: missing before the run */
	bool		 later;		/* binds: a MOP_READONLY or MOP_NOSUID further on
					   covers it */
	bool		 copy;		/* MOP_BIND_RO: src holds copies of the host's
					   entries under dst (the /etc cache) */
};

struct mount_plan {
	struct mop	*ops;		/* owned */
	size_t		 n, cap;
	struct etc_view	 etc;		/* /etc from the cache, held while the plan is */
	char		 path_a[4096];	/* scratch for init, so it never allocates */
	char		 path_b[4096];
	char		 what[480];	/* the failed step and its path, for init's message */
	const struct mop *null_mask;	/* init: the file mask just made, which the
					   next one binds (flags and all) */
};

struct run;

int	mounts_plan(const struct run *, const char *ws, const char *home,
	    const char *upper_dir, struct mount_plan *, struct merr *);
void	mounts_plan_release(struct mount_plan *);
/* path is inside one of moat's own directories (its profiles, caches,
 * audit log, state), which no sandbox may see: that one into which. */
bool	mounts_in_own_dir(const char *path, char *which, size_t len);
/* In init, in the new mount namespace: builds the root, pivots into it,
 * detaches the host's. -1 with errno set and *what naming the step. */
int	mounts_build_root(struct mount_plan *, const char **what);
/* In init, after a command: the size-capped tmpfs mounts (/tmp, the home,
 * tmpfs entries) that have no room left, named in buf ("" when none). */
void	mounts_full_tmpfs(const struct mount_plan *, char *buf, size_t n);

/* Kept after the start (guard.c): the entries whose mounts a program on
 * the host can detach by removing or replacing them: a bind workspace's
 * protected paths and the directories above them (ws: a bind workspace,
 * else NULL), and hidden paths in any bind of a host path at that path. */
bool	mounts_guarded(const struct mount_plan *, const struct mop *,
	    const char *ws);
enum guard_state {
	GUARD_INTACT,		/* still mounted on, or nothing there to hide */
	GUARD_RESTORED,		/* mounted on again */
	GUARD_PLACED,		/* gone: a placeholder made and mounted on */
	GUARD_GONE,		/* a file or directory of the user's moved or
				   removed (not moat's placeholder) */
	GUARD_TAMPERED,		/* a symbolic link or a special file there now */
	GUARD_FAILED,		/* could not be mounted on (err) */
};
/* In guard.c's helper, in the sandbox's user and mount namespaces: op's
 * entry mounted on again when nothing is (made again first when it was a
 * placeholder of moat's that is gone). at: its path; held: what was
 * mounted on (GUARD_RESTORED, GUARD_PLACED). No allocation. */
struct stat;
enum guard_state mounts_guard_one(const struct mop *, char *at,
	    size_t len, int *err, struct stat *held);

/* The placeholders a run created on the host (bind mode) are removed after
 * it, once no other run uses the workspace: see spawn.c. */

#endif
