/* resolve.h: a command found the way the shell finds it (PATH, then each
 * symbolic link to the real file, then the interpreter of its #! line, found
 * the same way), each step checked against what a mount plan shows, and
 * what to bind read-only so that the sandbox runs the same program the host
 * would. moat run says what is missing when a command is not found or
 * another one would run instead; moat wrap binds an agent's install; the
 * profile key bind-path-toolchains binds PATH's prefixes. Supervisor only. */
#ifndef MOAT_RESOLVE_H
#define MOAT_RESOLVE_H

#include <stdbool.h>

#include "base/util.h"
#include "mounts.h"

enum resolve_role {
	RS_FOUND,	/* the file the host's PATH finds (or the path given) */
	RS_LINK,	/* a symbolic link on the way; target is where it points */
	RS_FILE,	/* the file the links end at */
	RS_INTERP,	/* the interpreter of a #! line (found through PATH for env) */
};

struct resolve_step {
	enum resolve_role	 role;
	char			*path;		/* owned; absolute host path */
	char			*target;	/* owned; RS_LINK: what it points to */
	bool			 shown;		/* the sandbox shows it at that path */
	int			 depth;		/* 0: the command; 1: its interpreter... */
};

struct resolve {
	struct resolve_step	*steps;		/* owned, in the order the kernel follows them */
	size_t			 n;
	bool			 found;		/* the host finds the command */
	bool			 hidden;	/* some step is not shown */
	struct strv		 binds;		/* directories to bind read-only */
	char			*inside;	/* owned; what the sandbox's PATH finds
						   instead of a hidden command, or NULL */
};

/* Resolves cmd (a name searched on path_env, or a path, relative to cwd) on
 * the host and checks each step against plan (NULL: every step shown).
 * Fills res (resolve_release frees it); res->found says whether the host
 * has the command at all. */
void	 resolve_command(const char *cmd, const char *path_env, const char *cwd,
	    const struct mount_plan *, struct resolve *);
void	 resolve_release(struct resolve *);
/* Whether plan shows host path at the same path inside (the last mount
 * that covers it decides). */
bool	 resolve_shown(const struct mount_plan *, const char *path);
/* The directories to bind for a file outside what is shown: the bin, lib,
 * lib64 and libexec of its prefix (the parent of the outermost such
 * directory above it), or else its own directory. Added to out once. */
void	 resolve_prefix_binds(const char *path, struct strv *out);
/* For each directory of path_env that plan does not show, its prefix's
 * binds (bind-path-toolchains). */
void	 resolve_path_binds(const char *path_env, const struct mount_plan *,
	    struct strv *out);
/* What to tell the user when res has hidden steps: which file, link or
 * interpreter lies outside what profile shows, and the lines to add to it.
 * NULL when nothing is hidden. home shortens paths to ~/. Caller frees. */
char	*resolve_hint(const struct resolve *, const char *cmd,
	    const char *profile, const char *home);

#endif
