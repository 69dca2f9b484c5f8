/* etc-cache.h: the sandbox's /etc kept between runs as one directory
 * (etc-cache.c). Supervisor, before the clone. */
#ifndef MOAT_ETC_CACHE_H
#define MOAT_ETC_CACHE_H

#include <stddef.h>

#include "base/util.h"

struct etc_view {
	char		*dir;	/* owned: bind it at /etc, read-only */
	/* Paths under root of the entries that are directories, and of those
	 * not copied (a file the user may not read, a device, a file larger
	 * than 4 MiB): bind each over its mount point in dir (the same path
	 * under /etc), a directory or an empty file. */
	struct strv	 binds;
	struct strv	 file_binds;
	int		 lockfd;	/* dir, flock(LOCK_SH) while the run lives */
};

/* A directory under $XDG_CACHE_HOME/moat that holds what root has of
 * names (paths relative to root; regular files copied, symlinks as they
 * are, directories and what is not copied as empty mount points listed in
 * binds and file_binds), a "hostname"
 * of hostname and a newline, and, when resolv is not NULL, a
 * "resolv.conf" of resolv in place of root's. Named by a hash of all of
 * that and of what lstat says of each entry, so a changed entry is a new
 * directory. A directory already there is used when it is the user's,
 * written by no one else, and holds exactly those entries, as they were
 * copied (size and mtime); else it is made anew. -1 when it cannot be
 * had (no cache directory, a file that changed while it was copied):
 * then bind the entries one by one. */
int	etc_cache_get(const char *root, const char *const *names, size_t n,
	    const char *hostname, const char *resolv, struct etc_view *);
/* Lets the directory go (the run is over); a view etc_cache_get did not
 * fill is left alone. */
void	etc_view_free(struct etc_view *);

#endif
