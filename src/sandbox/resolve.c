/* resolve.c: a command as the host's shell and kernel would find it (PATH,
 * symbolic links, #! interpreters, `env NAME` looked up on PATH again),
 * each step checked against the sandbox's mount plan, and the directories
 * that would have to be bound for the sandbox to run the same program.
 * Runs in the supervisor before clone (stat, readlink, one read per file). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolve.h"

#define RESOLVE_HOPS	40	/* symbolic links, as the kernel's ELOOP */
#define RESOLVE_DEPTH	4	/* interpreters of interpreters */

/* The /etc cache holds copies of the host's entries: one it holds is
 * shown as the host has it. */
static bool
resolve_in_copy(const struct mop *op, const char *path)
{
	autofree char	*in = xprintf("%s%s", op->src, path + strlen(op->dst));
	struct stat	 st;

	return (lstat(in, &st) == 0);
}

bool
resolve_shown(const struct mount_plan *plan, const char *path)
{
	bool	shown = false;

	if (plan == NULL)
		return (true);
	for (size_t i = 0; i < plan->n; i++) {
		const struct mop	*op = &plan->ops[i];

		if (op->dst == NULL || !path_is_under(path, op->dst))
			continue;
		switch (op->kind) {
		case MOP_BIND_RO:
		case MOP_BIND_RW:
		case MOP_BIND_DEV:
		case MOP_OVERLAY:
			shown = !op->inner && op->src != NULL &&
			    (strcmp(op->src, op->dst) == 0 ||
			    (op->copy && resolve_in_copy(op, path)));
			break;
		case MOP_TMPFS:
		case MOP_MASK:
		case MOP_PROC:
		case MOP_DEVPTS:
		case MOP_DIR:
		case MOP_FILE:
			shown = false;
			break;
		case MOP_SYMLINK:	/* the host's own links (/bin -> usr/bin):
					   the canonical path decides */
		case MOP_READONLY:
		case MOP_NOSUID:
		case MOP_PROTECT:
			break;
		}
	}
	return (shown);
}

/* path with its directory made canonical (the last component may be a
 * link, and is kept); NULL when the directory does not exist. */
static char *
resolve_canon_dir(const char *path)
{
	autofree char	*dir = xstrdup(path);
	char		*slash = strrchr(dir, '/'), real[PATH_MAX];

	if (slash == NULL)
		return (NULL);
	if (slash == dir)
		return (xstrdup(path));
	*slash = '\0';
	if (realpath(dir, real) == NULL)
		return (NULL);
	return (xprintf("%s/%s", strcmp(real, "/") == 0 ? "" : real, slash + 1));
}

static struct resolve_step *
resolve_add(struct resolve *res, enum resolve_role role, const char *path,
    const char *target, int depth, const struct mount_plan *plan)
{
	struct resolve_step	*st;
	autofree char		*canon = resolve_canon_dir(path);

	res->steps = xreallocarray(res->steps, res->n + 1, sizeof *res->steps);
	st = &res->steps[res->n++];
	memset(st, 0, sizeof *st);
	st->role = role;
	st->path = xstrdup(path);
	st->target = target != NULL ? xstrdup(target) : NULL;
	st->depth = depth;
	st->shown = resolve_shown(plan, canon != NULL ? canon : path);
	if (!st->shown)
		res->hidden = true;
	return (st);
}

/* The outermost bin, sbin, lib, lib64 or libexec above path names the
 * prefix; its parent's directories of those names are bound. */
void
resolve_prefix_binds(const char *path, struct strv *out)
{
	static const char *const	 names[] = { "bin", "sbin", "lib", "lib64",
					     "libexec" };
	autofree char			*dir = xstrdup(path), *prefix = NULL;
	char				*slash = strrchr(dir, '/'), *p;
	struct stat			 st;

	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';		/* the file's directory */
	for (p = dir; p != NULL && *p != '\0'; p = strchr(p + 1, '/')) {
		char	*end = strchr(p + 1, '/');
		size_t	 len = end != NULL ? (size_t)(end - p - 1) : strlen(p + 1);

		for (size_t i = 0; i < nitems(names); i++)
			if (strlen(names[i]) == len && strncmp(p + 1, names[i], len) == 0 &&
			    p != dir) {
				prefix = xstrndup(dir, (size_t)(p - dir));
				break;
			}
		if (prefix != NULL)
			break;
	}
	if (prefix == NULL) {
		if (!strv_contains(out, dir))
			strv_add(out, dir);
		return;
	}
	for (size_t i = 0; i < nitems(names); i++) {
		autofree char	*d = xprintf("%s/%s", prefix, names[i]);

		if (lstat(d, &st) == 0 && S_ISDIR(st.st_mode) && !strv_contains(out, d))
			strv_add(out, d);
	}
}

/* A directory of PATH as it must appear inside: canonical, and bound at
 * its literal path too when a link leads to it. */
static void
resolve_dir_bind(const char *dir, const struct mount_plan *plan, struct strv *out)
{
	char		 real[PATH_MAX];
	autofree char	*probe = NULL, *both = NULL;

	if (realpath(dir, real) == NULL)
		return;
	if (strcmp(real, dir) != 0 && !resolve_shown(plan, dir)) {
		both = xprintf("%s:%s", real, dir);
		if (!strv_contains(out, both))
			strv_add(out, both);
	}
	if (resolve_shown(plan, real))
		return;
	probe = path_join(real, "x");
	resolve_prefix_binds(probe, out);
}

void
resolve_path_binds(const char *path_env, const struct mount_plan *plan,
    struct strv *out)
{
	autofree char	*copy = xstrdup(path_env != NULL ? path_env : "");
	char		*save = NULL;

	for (char *d = strtok_r(copy, ":", &save); d != NULL;
	    d = strtok_r(NULL, ":", &save))
		if (d[0] == '/')
			resolve_dir_bind(d, plan, out);
}

/* NAME on PATH: the first executable regular file. */
static char *
resolve_which(const char *name, const char *path_env, const char *cwd,
    const struct mount_plan *plan, bool need_shown)
{
	autofree char	*copy = xstrdup(path_env != NULL ? path_env : "/usr/bin:/bin");
	char		*save = NULL;
	struct stat	 st;

	for (char *d = strtok_r(copy, ":", &save); d != NULL;
	    d = strtok_r(NULL, ":", &save)) {
		autofree char	*dir = d[0] == '/' ? xstrdup(d) :
		    path_join(cwd != NULL ? cwd : "/", *d != '\0' ? d : ".");
		char		*cand = path_join(dir, name), real[PATH_MAX];

		if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && (!need_shown ||
		    (realpath(cand, real) != NULL && resolve_shown(plan, real) &&
		    resolve_shown(plan, dir))))
			return (cand);
		free(cand);
	}
	return (NULL);
}

static void	resolve_follow(struct resolve *, const char *, enum resolve_role,
		    int, const char *, const char *, const struct mount_plan *);

/* The #! line of the file at path, if any: the interpreter and, for env,
 * the command it looks up. */
static void
resolve_interp(struct resolve *res, const char *path, int depth,
    const char *path_env, const char *cwd, const struct mount_plan *plan)
{
	char		 line[256], *p, *interp, *save = NULL;
	ssize_t		 n;
	autofd int	 fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd == -1 || depth >= RESOLVE_DEPTH ||
	    (n = read(fd, line, sizeof line - 1)) < 3 || line[0] != '#' || line[1] != '!')
		return;
	line[n] = '\0';
	if ((p = strchr(line, '\n')) != NULL)
		*p = '\0';
	if ((interp = strtok_r(line + 2, " \t", &save)) == NULL || interp[0] != '/')
		return;
	resolve_follow(res, interp, RS_INTERP, depth + 1, path_env, cwd, plan);
	if (strcmp(strrchr(interp, '/') + 1, "env") != 0)
		return;
	/* #!/usr/bin/env [-S] [NAME=VALUE]... NAME */
	for (char *w = strtok_r(NULL, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		autofree char	*found = NULL;

		if (w[0] == '-' || strchr(w, '=') != NULL)
			continue;
		if (strchr(w, '/') != NULL)	/* a path, from the caller's cwd */
			found = w[0] == '/' ? xstrdup(w) :
			    path_join(cwd != NULL ? cwd : "/", w);
		else
			found = resolve_which(w, path_env, cwd, plan, false);
		if (found != NULL)
			resolve_follow(res, found, RS_INTERP, depth + 1, path_env,
			    cwd, plan);
		break;
	}
}

/* A file and the links to its real file, then its interpreter. */
static void
resolve_follow(struct resolve *res, const char *path, enum resolve_role role,
    int depth, const char *path_env, const char *cwd, const struct mount_plan *plan)
{
	autofree char	*cur = xstrdup(path);
	char		 target[PATH_MAX];
	struct stat	 st;
	ssize_t		 n;

	for (int hop = 0; hop < RESOLVE_HOPS; hop++) {
		autofree char	*canon = resolve_canon_dir(cur);

		if (canon == NULL || lstat(canon, &st) == -1)
			return;
		if (!S_ISLNK(st.st_mode)) {
			resolve_add(res, role == RS_LINK ? RS_FILE : role, cur, NULL,
			    depth, plan);
			resolve_interp(res, canon, depth, path_env, cwd, plan);
			return;
		}
		if ((n = readlink(canon, target, sizeof target - 1)) <= 0)
			return;
		target[n] = '\0';
		resolve_add(res, role, cur, target, depth, plan);
		role = RS_LINK;
		free(cur);
		if (target[0] == '/')
			cur = xstrdup(target);
		else {
			char	*slash = strrchr(canon, '/'), *tidy;

			*slash = '\0';
			cur = xprintf("%s/%s", canon, target);
			if ((tidy = resolve_canon_dir(cur)) != NULL) {	/* no "bin/../" */
				free(cur);
				cur = tidy;
			}
		}
	}
}

void
resolve_command(const char *cmd, const char *path_env, const char *cwd,
    const struct mount_plan *plan, struct resolve *res)
{
	autofree char	*path = NULL;

	memset(res, 0, sizeof *res);
	if (cmd == NULL || *cmd == '\0')
		return;
	if (strchr(cmd, '/') != NULL)
		path = cmd[0] == '/' ? xstrdup(cmd) : path_join(cwd != NULL ? cwd : "/", cmd);
	else
		path = resolve_which(cmd, path_env, cwd, plan, false);
	if (path == NULL || access(path, F_OK) == -1)
		return;
	res->found = true;
	resolve_follow(res, path, RS_FOUND, 0, path_env, cwd, plan);
	for (size_t i = 0; i < res->n; i++) {
		const struct resolve_step	*st = &res->steps[i];
		autofree char			*canon = NULL;

		if (st->shown)
			continue;
		/* Where PATH found it (the command or env's NAME): that directory
		 * at its own path, for the lookup inside. */
		if ((st->role == RS_FOUND && strchr(cmd, '/') == NULL) ||
		    st->role == RS_INTERP) {
			autofree char	*dir = xstrdup(st->path);

			*strrchr(dir, '/') = '\0';
			if (*dir != '\0')
				resolve_dir_bind(dir, plan, &res->binds);
		}
		if ((canon = resolve_canon_dir(st->path)) != NULL)
			resolve_prefix_binds(canon, &res->binds);
	}
	if (res->hidden && res->n > 0 && !res->steps[0].shown && strchr(cmd, '/') == NULL)
		res->inside = resolve_which(cmd, path_env, cwd, plan, true);
}

void
resolve_release(struct resolve *res)
{
	for (size_t i = 0; i < res->n; i++) {
		free(res->steps[i].path);
		free(res->steps[i].target);
	}
	free(res->steps);
	strv_clear(&res->binds);
	free(res->inside);
	memset(res, 0, sizeof *res);
}

/* path with $HOME written ~ (both sides of SRC:DST). */
static char *
resolve_tilde(const char *path, const char *home)
{
	const char	*colon = strchr(path, ':');

	if (colon != NULL) {
		autofree char	*a = xstrndup(path, (size_t)(colon - path));
		autofree char	*sa = resolve_tilde(a, home);
		autofree char	*sb = resolve_tilde(colon + 1, home);

		return (xprintf("%s:%s", sa, sb));
	}
	if (home != NULL && strcmp(home, "/") != 0 && path_is_under(path, home))
		return (xprintf("~%s", path + strlen(home)));
	return (xstrdup(path));
}

char *
resolve_hint(const struct resolve *res, const char *cmd, const char *profile,
    const char *home)
{
	const struct resolve_step	*st = NULL, *prev = NULL;
	char				*out = NULL, *t;
	autofree char			*what = NULL, *where = NULL;

	if (!res->found || !res->hidden)
		return (NULL);
	for (size_t i = 0; i < res->n && st == NULL; i++) {
		if (!res->steps[i].shown)
			st = &res->steps[i];
		else
			prev = &res->steps[i];
	}
	if (st == NULL)
		return (NULL);
	where = resolve_tilde(st->path, home);
	switch (st->role) {
	case RS_FOUND:
		what = strchr(cmd, '/') != NULL ? xstrdup(where) :
		    xprintf("your PATH finds %s", where);
		break;
	case RS_LINK:
	case RS_FILE: {
		autofree char	*from = prev != NULL ? resolve_tilde(prev->path, home) :
		    xstrdup(cmd);

		what = xprintf("%s is a symbolic link to %s", from, where);
		break;
	}
	case RS_INTERP: {
		autofree char	*by = prev != NULL ? resolve_tilde(prev->path, home) :
		    xstrdup(cmd);

		what = xprintf("%s runs with the interpreter %s (its #! line)", by,
		    where);
		break;
	}
	}
	xasprintf(&out, "moat: %s: %s, which profile %s does not show%s%s", cmd, what,
	    profile, res->inside != NULL ? "; the sandbox runs this instead: " : "",
	    res->inside != NULL ? res->inside : "");
	if (res->binds.n > 0) {
		xasprintf(&t, "%s\nmoat: to run it from there, add to the profile:", out);
		free(out);
		out = t;
		for (size_t i = 0; i < res->binds.n; i++) {
			autofree char	*b = resolve_tilde(res->binds.v[i], home);

			xasprintf(&t, "%s\n    ro-bind = %s", out, b);
			free(out);
			out = t;
		}
		if ((st->role == RS_FOUND && strchr(cmd, '/') == NULL) ||
		    st->role == RS_INTERP) {
			xasprintf(&t, "%s\nmoat: (or \"bind-path-toolchains = yes\", "
			    "which binds the prefixes of every PATH directory the "
			    "profile hides)", out);
			free(out);
			out = t;
		}
	}
	return (out);
}
