/* mounts.c: the sandbox's filesystem view, after bubblewrap's design. The
 * supervisor turns the profile into a plan (mounts_plan); the sandbox init,
 * in its new mount namespace, carries it out (mounts_build_root): a tmpfs
 * base, pivot_root into it with the host root at /oldroot, a second tmpfs
 * /newroot filled from the plan, the host root detached, a last pivot into
 * /newroot, and the root made read-only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mounts.h"
#include "resolve.h"
#include "spawn.h"
#include "base/util.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY	0x00000001
#define MOUNT_ATTR_NOSUID	0x00000002
#define MOUNT_ATTR_NODEV	0x00000004
#define MOUNT_ATTR_NOEXEC	0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE		0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr	442
#endif

struct moat_mount_attr {
	uint64_t	attr_set, attr_clr, propagation, userns_fd;
};

/* Host files a program commonly needs from /etc; nothing that holds
 * secrets (no shadow, no ssl/private, no ssh host keys). */
static const char *etc_files[] = {
	"passwd", "group", "hosts", "host.conf", "nsswitch.conf", "resolv.conf",
	"gai.conf", "services", "protocols", "networks", "localtime", "timezone",
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives",
	"ssl/certs", "ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf",
	"pki", "crypto-policies", "mime.types", "mailcap", "magic",
	"os-release", "lsb-release", "debian_version", "issue",
	"locale.alias", "locale.conf", "default/locale", "environment",
	"bash.bashrc", "inputrc", "profile", "shells", "login.defs",
	"perl", "python3", "java-17-openjdk", "java-21-openjdk", "gitconfig",
	"fonts", "terminfo", "xdg", "vim", "manpath.config",
};

/* Restricted and proxied: names are asked of the sandbox's own resolver,
 * which the supervisor serves (proxy.c). */
#define ETC_RESOLV	"nameserver 127.0.0.1\n"

/* Usual merged-/usr entries: a symlink on merged hosts, a directory on
 * others. */
static const char *root_dirs[] = {
	"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
};

/* /proc entries that control the host or leak its memory. They become
 * read-only (dirs) or masked (files), even when moat runs as root. */
static const char *proc_ro[] = {
	"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
};
static const char *proc_mask[] = {
	"/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/timer_list",
	"/proc/sched_debug", "/proc/latency_stats", "/proc/kallsyms",
	"/proc/kmsg", "/proc/acpi", "/proc/scsi",
};

static const char *dev_nodes[] = {
	"null", "zero", "full", "random", "urandom", "tty",
};

static struct mop *
plan_add(struct mount_plan *mp, enum mop_kind kind, const char *src,
    const char *dst)
{
	struct mop	*op;

	if (mp->n == mp->cap) {
		mp->cap = mp->cap == 0 ? 64 : mp->cap * 2;
		mp->ops = xreallocarray(mp->ops, mp->cap, sizeof *mp->ops);
	}
	op = &mp->ops[mp->n++];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->src = src != NULL ? xstrdup(src) : NULL;
	op->dst = xstrdup(dst);
	return (op);
}

void
mounts_plan_release(struct mount_plan *mp)
{
	for (size_t i = 0; i < mp->n; i++) {
		free(mp->ops[i].src);
		free(mp->ops[i].dst);
		free(mp->ops[i].data);
		free(mp->ops[i].lower);
	}
	free(mp->ops);
	mp->ops = NULL;
	mp->n = mp->cap = 0;
	etc_view_free(&mp->etc);
}

/* A host entry as it is: a symlink stays a symlink, anything else is bound
 * (read-only, now or by a MOP_READONLY later when later is set). */
static void
plan_host_entry(struct mount_plan *mp, const char *path, bool later)
{
	struct stat	st;
	char		target[4096];
	ssize_t		n;

	if (lstat(path, &st) == -1)
		return;
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(path, target, sizeof target - 1)) <= 0)
			return;
		target[n] = '\0';
		plan_add(mp, MOP_SYMLINK, target, path);
	} else {
		struct mop	*op = plan_add(mp, MOP_BIND_RO, path, path);

		op->optional = true;
		op->later = later;
		op->typed = true;
		op->dir = S_ISDIR(st.st_mode);
	}
}

/* Walks a workspace-relative protected path: the full path when it exists,
 * else its first missing component (the placeholder). Symlinks are refused:
 * a read-only mount would land on the link's target and the link itself
 * could be replaced. A regular file where a directory should be is the
 * target itself: a git worktree's or submodule's .git names the repository
 * git uses (its hooks and config), and rewritten it would name one the
 * sandbox made. Returns 0 and sets *skip for any other kind of file. */
static int
protect_target(const char *ws, const char *rel, char **target, bool *dir,
    bool *missing, bool *skip, struct merr *e)
{
	autofree char	*full = NULL;
	size_t		 len, i;
	bool		 trailing;
	struct stat	 st;

	while (*rel == '/')
		rel++;
	len = strlen(rel);
	trailing = len > 0 && rel[len - 1] == '/';
	full = path_join(ws, rel);
	if ((len = strlen(full)) > 1 && full[len - 1] == '/')
		full[--len] = '\0';
	*skip = *missing = false;
	for (i = strlen(ws) + 1; i <= len; i++) {
		if (full[i] != '/' && full[i] != '\0')
			continue;
		full[i] = '\0';
		if (lstat(full, &st) == -1) {
			if (errno != ENOENT)
				return (merr_errno(e, "protected path %s", full));
			*missing = true;
			*dir = i < len || trailing;
			*target = TAKE_PTR(full);
			return (0);
		}
		if (S_ISLNK(st.st_mode))
			return (merr_set(e, "protected path %s is a symbolic link, which "
			    "moat cannot keep read-only; replace the link with the file "
			    "it points to, or remove %s from the profile's protect list",
			    full, rel));
		if (i < len && S_ISREG(st.st_mode)) {
			*dir = false;	/* e.g. .git is a file (a worktree) */
			*target = TAKE_PTR(full);
			return (0);
		}
		if (i < len && !S_ISDIR(st.st_mode)) {
			*skip = true;
			return (0);
		}
		*dir = S_ISDIR(st.st_mode);
		if (i < len)
			full[i] = '/';
	}
	*target = TAKE_PTR(full);
	return (0);
}

/* The directories between the workspace and a protected path (.git for
 * .git/hooks and .git/config), each bound onto itself read-write before
 * the path is protected, once: a mount point cannot be renamed or removed
 * from inside, so code in the sandbox cannot move .git away, with the
 * read-only mounts in it, and make a new one with a hook planted. One that
 * is itself protected already stays read-only (nothing is stacked on it). */
static void
plan_protect_parents(struct mount_plan *mp, struct strset *seen,
    struct strset *parents, const char *ws, const char *path)
{
	size_t		 wl = strlen(ws), len = strlen(path);
	autofree char	*p = xstrdup(path);

	if (strncmp(path, ws, wl) != 0 || path[wl] != '/')
		return;
	for (size_t i = wl + 1; i < len; i++) {
		struct mop	*op;

		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (!strset_has(seen, p) && !strset_has(parents, p)) {
			op = plan_add(mp, MOP_BIND_RW, p, p);
			op->inner = true;	/* the workspace's, bound already */
			op->typed = true;
			op->dir = true;
			(void)strset_add(parents, op->dst);	/* the set keeps no copy */
		}
		p[i] = '/';
	}
}

/* seen: the protected paths planned so far (their op's dst), so that a
 * long protect list is planned in linear time. */
static void
plan_protect(struct mount_plan *mp, struct strset *seen, const char *path,
    bool dir, bool missing)
{
	struct mop	*op;

	op = plan_add(mp, MOP_PROTECT, NULL, path);
	if (!strset_add(seen, op->dst)) {
		free(op->dst);
		mp->n--;
		return;
	}
	op->dir = dir;
	op->create = missing;
}

/* moat's own directories: its profiles, caches, audit log and state,
 * canonical; one not made yet (the state directory before a first run)
 * under its canonical parent. Named once a process: the environment that
 * names them does not change, and each is a realpath on every run's path. */
static struct {
	pthread_once_t	 once;
	char		 v[4][PATH_MAX];
	size_t		 n;
}			 own = { .once = PTHREAD_ONCE_INIT };

static void
own_dirs_name(void)
{
	static const struct { const char *var, *dflt; } dirs[] = {
		{ "XDG_CONFIG_HOME", ".config" }, { "XDG_CACHE_HOME", ".cache" },
		{ "XDG_DATA_HOME", ".local/share" }, { "XDG_STATE_HOME", ".local/state" },
	};

	for (size_t i = 0; i < nitems(dirs); i++) {
		char		 base[PATH_MAX], real[PATH_MAX];
		autofree char	*dir = NULL;
		char		*got = own.v[own.n];

		xdg_dir(dirs[i].var, dirs[i].dflt, base, sizeof base);
		dir = path_join(base, "moat");
		if (realpath(dir, got) != NULL ||
		    (realpath(base, real) != NULL &&
		    (size_t)snprintf(got, PATH_MAX, "%s/moat", real) < PATH_MAX) ||
		    (dir[0] == '/' && (size_t)snprintf(got, PATH_MAX, "%s", dir) <
		    PATH_MAX))
			own.n++;
	}
}

bool
mounts_in_own_dir(const char *path, char *which, size_t len)
{
	pthread_once(&own.once, own_dirs_name);
	for (size_t i = 0; i < own.n; i++)
		if (path_is_under(path, own.v[i])) {
			snprintf(which, len, "%s", own.v[i]);
			return (true);
		}
	return (false);
}

/* moat's own directories are never seen in a sandbox, even when the
 * workspace or a profile's bind holds them (moat run -w ~): a command could
 * read the log's recorded output, rewrite a profile, or plant into the
 * caches what later runs take up (the seccomp program, the copy of /etc).
 * Each is hidden under an empty read-only tmpfs where a bind shows it; a
 * bind from inside one is hidden whole. */
static void
plan_hide_own(struct mount_plan *mp)
{
	size_t	n = mp->n;

	pthread_once(&own.once, own_dirs_name);
	for (size_t k = 0; k < own.n; k++) {
		const char	*real = own.v[k];

		for (size_t i = 0; i < n; i++) {
			const struct mop	*op = &mp->ops[i];
			autofree char		*in = NULL;

			if ((op->kind != MOP_BIND_RO && op->kind != MOP_BIND_RW &&
			    op->kind != MOP_OVERLAY) || op->inner || op->copy ||
			    op->src == NULL)
				continue;
			if (path_is_under(op->src, real))
				in = xstrdup(op->dst);
			else if (path_is_under(real, op->src))
				in = xprintf("%s%s", strcmp(op->dst, "/") == 0 ? "" :
				    op->dst, strcmp(op->src, "/") == 0 ? real :
				    real + strlen(op->src));
			else
				continue;
			plan_add(mp, MOP_MASK, NULL, in)->optional = true;
		}
	}
}

int
mounts_plan(const struct run *r, const char *ws, const char *home,
    const char *upper_dir, struct mount_plan *mp, struct merr *e)
{
	const struct profile	*p = r->profile;
	char			 path[4096], *hostname;
	struct mop		*op;

	memset(mp, 0, sizeof *mp);

	/* The system, read-only. */
	plan_add(mp, MOP_BIND_RO, "/usr", "/usr");
	for (size_t i = 0; i < nitems(root_dirs); i++)
		plan_host_entry(mp, root_dirs[i], false);
	/* /etc: the entries copied into one directory kept between runs, the
	 * host's directories bound over its mount points (etc-cache.c); a
	 * run with secrets (the run's CA goes in), or where there is no cache
	 * directory, a small tmpfs of binds. Read-only in one call at the end,
	 * the copy with its binds. */
	hostname = xprintf("%s\n", p->hostname != NULL ? p->hostname : "moat");
	if (r->secrets.ca_bundle == NULL && etc_cache_get("/etc", etc_files,
	    nitems(etc_files), hostname, p->net != NET_ISOLATED ? ETC_RESOLV : NULL,
	    &mp->etc) == 0) {
		op = plan_add(mp, MOP_BIND_RO, mp->etc.dir, "/etc");
		op->typed = op->dir = op->copy = op->later = true;
		for (size_t i = 0; i < mp->etc.binds.n; i++) {
			snprintf(path, sizeof path, "/etc/%s", mp->etc.binds.v[i]);
			op = plan_add(mp, MOP_BIND_RO, path, path);
			op->optional = op->typed = op->dir = op->later = true;
		}
		for (size_t i = 0; i < mp->etc.file_binds.n; i++) {
			snprintf(path, sizeof path, "/etc/%s", mp->etc.file_binds.v[i]);
			op = plan_add(mp, MOP_BIND_RO, path, path);
			op->optional = op->typed = op->later = true;
		}
		plan_add(mp, MOP_READONLY, NULL, "/etc");
		free(hostname);
		goto proc;
	}
	op = plan_add(mp, MOP_TMPFS, NULL, "/etc");
	op->mode = 0755;
	op->size = 1 << 20;
	for (size_t i = 0; i < nitems(etc_files); i++) {
		/* Restricted and proxied: names are asked of the sandbox's
		 * own resolver, which the supervisor serves (proxy.c). */
		if (p->net != NET_ISOLATED && strcmp(etc_files[i], "resolv.conf") == 0) {
			op = plan_add(mp, MOP_FILE, NULL, "/etc/resolv.conf");
			op->data = xstrdup(ETC_RESOLV);
			op->mode = 0644;
			continue;
		}
		snprintf(path, sizeof path, "/etc/%s", etc_files[i]);
		plan_host_entry(mp, path, true);
	}
	op = plan_add(mp, MOP_FILE, NULL, "/etc/hostname");
	op->data = hostname;
	op->mode = 0644;
	/* With secrets: the system's CAs and the run's, which the proxy's
	 * certificates for the secrets' hosts come from (environ.c names it). */
	if (r->secrets.ca_bundle != NULL) {
		op = plan_add(mp, MOP_FILE, NULL, SECRET_CA_PATH);
		op->data = xstrdup(r->secrets.ca_bundle);
		op->mode = 0644;
	}
	plan_add(mp, MOP_READONLY, NULL, "/etc");

proc:
	/* A fresh /proc with the host-control files read-only or masked. */
	plan_add(mp, MOP_PROC, NULL, "/proc");
	for (size_t i = 0; i < nitems(proc_ro); i++) {
		op = plan_add(mp, MOP_BIND_RO, proc_ro[i], proc_ro[i]);
		op->inner = op->optional = true;
	}
	for (size_t i = 0; i < nitems(proc_mask); i++)
		plan_add(mp, MOP_MASK, NULL, proc_mask[i])->optional = true;

	/* A minimal /dev with its own devpts. */
	op = plan_add(mp, MOP_TMPFS, NULL, "/dev");
	op->mode = 0755;
	op->size = 1 << 20;
	for (size_t i = 0; i < nitems(dev_nodes); i++) {
		snprintf(path, sizeof path, "/dev/%s", dev_nodes[i]);
		plan_add(mp, MOP_BIND_DEV, path, path)->later = true;
	}
	plan_add(mp, MOP_DEVPTS, NULL, "/dev/pts");
	plan_add(mp, MOP_SYMLINK, "pts/ptmx", "/dev/ptmx");
	plan_add(mp, MOP_SYMLINK, "/proc/self/fd", "/dev/fd");
	plan_add(mp, MOP_SYMLINK, "/proc/self/fd/0", "/dev/stdin");
	plan_add(mp, MOP_SYMLINK, "/proc/self/fd/1", "/dev/stdout");
	plan_add(mp, MOP_SYMLINK, "/proc/self/fd/2", "/dev/stderr");
	op = plan_add(mp, MOP_TMPFS, NULL, "/dev/shm");
	op->mode = 01777;
	op->size = p->tmp_size;
	/* The device binds nosuid in one call (the rest of /dev is already). */
	plan_add(mp, MOP_NOSUID, NULL, "/dev");

	/* /tmp and $HOME: empty, size-capped, gone after the run. */
	op = plan_add(mp, MOP_TMPFS, NULL, "/tmp");
	op->mode = 01777;
	op->size = p->tmp_size;
	if (strcmp(home, "/tmp") != 0) {
		op = plan_add(mp, MOP_TMPFS, NULL, home);
		op->mode = 0700;
		op->size = p->tmp_size;
	}

	/* What the profile adds. */
	for (size_t i = 0; i < p->nbinds; i++) {
		const struct bind	*b = &p->binds[i];
		enum mop_kind		 k = b->kind == BIND_RW ? MOP_BIND_RW :
		    b->kind == BIND_DEV ? MOP_BIND_DEV : MOP_BIND_RO;

		if (access(b->src, F_OK) == -1) {
			if (b->optional)
				continue;
			return (merr_errno(e, "profile %s: bind source %s", p->name,
			    b->src));
		}
		plan_add(mp, k, b->src, b->dst);
	}
	/* bind-path-toolchains: where PATH's tools live, when hidden. */
	if (p->bind_path_toolchains) {
		struct strv	tb = { 0 };

		resolve_path_binds(getenv("PATH"), mp, &tb);
		for (size_t i = 0; i < tb.n; i++) {
			char	*colon = strchr(tb.v[i], ':');

			if (colon != NULL)
				*colon = '\0';
			op = plan_add(mp, MOP_BIND_RO, tb.v[i],
			    colon != NULL ? colon + 1 : tb.v[i]);
			op->optional = true;
		}
		strv_clear(&tb);
	}
	for (size_t i = 0; i < p->ntmpfs; i++) {
		op = plan_add(mp, MOP_TMPFS, NULL, p->tmpfs[i].dst);
		op->mode = 0755;
		op->size = p->tmpfs[i].size != 0 ? p->tmpfs[i].size : p->tmp_size;
	}

	/* The workspace, at its host path. */
	if (ws != NULL) {
		switch (p->workspace) {
		case WS_BIND:
			plan_add(mp, MOP_BIND_RW, ws, ws);
			break;
		case WS_RO:
			plan_add(mp, MOP_BIND_RO, ws, ws);
			break;
		case WS_OVERLAY:
			if (strpbrk(ws, ",:\\") != NULL || strpbrk(upper_dir, ",:\\") != NULL)
				return (merr_set(e, "workspace %s: overlay mode cannot use a "
				    "path containing ',', ':' or '\\'; use workspace = bind "
				    "or ro, or move the directory", ws));
			op = plan_add(mp, MOP_OVERLAY, ws, ws);
			op->data = xstrdup(upper_dir);
			/* moat run --on: the layers of earlier runs over the
			 * workspace, the latest first. */
			op->lower = xstrdup("");
			for (size_t i = 0; r->on_layers != NULL && i < r->on_layers->n; i++) {
				char	*l;

				if (strpbrk(r->on_layers->v[i], ",:\\") != NULL)
					return (merr_set(e, "layer %s: overlay mode cannot use a "
					    "path containing ',', ':' or '\\'", r->on_layers->v[i]));
				l = xprintf("%s/oldroot%s:", op->lower, r->on_layers->v[i]);
				free(op->lower);
				op->lower = l;
			}
			{
				char	*l = xprintf("%s/oldroot%s", op->lower, ws);

				free(op->lower);
				op->lower = l;
			}
			if (strlen(op->lower) + 2 * strlen(upper_dir) + 80 > sizeof mp->path_a)
				return (merr_set(e, "workspace %s: too many layers under it "
				    "(a chain of moat run --on); apply or discard some", ws));
			break;
		case WS_NONE:
			break;
		}
		if (p->workspace == WS_BIND || p->workspace == WS_OVERLAY) {
			struct strset	seen = { 0 }, parents = { 0 };

			for (size_t i = 0; i < p->protect.n; i++) {
				autofree char	*t = NULL;
				bool		 dir = false, missing, skip;

				if (protect_target(ws, p->protect.v[i], &t, &dir,
				    &missing, &skip, e) == -1) {
					strset_clear(&seen);
					strset_clear(&parents);
					return (-1);
				}
				if (skip)
					continue;
				plan_protect_parents(mp, &seen, &parents, ws, t);
				plan_protect(mp, &seen, t, dir, missing);
			}
			strset_clear(&seen);
			strset_clear(&parents);
		}
	}

	for (size_t i = 0; i < p->hide.n; i++)
		plan_add(mp, MOP_MASK, NULL, p->hide.v[i])->optional = true;
	plan_hide_own(mp);
	return (0);
}

/*
 * Everything below runs in the sandbox init: no allocation, errors are
 * errno plus a fixed string naming the step.
 */

/* No mount_setattr (before Linux 5.12): a tree cannot be changed in one
 * call, so the binds a MOP_READONLY or MOP_NOSUID would cover (later) are
 * each changed when made. */
static bool	no_setattr;

static int
setattr(const char *path, uint64_t set, bool recursive)
{
	struct moat_mount_attr	ma = { .attr_set = set };
	struct statvfs		sv;
	unsigned long		fl = MS_BIND | MS_REMOUNT;

	if (!no_setattr && syscall(SYS_mount_setattr, AT_FDCWD, path,
	    recursive ? AT_RECURSIVE : 0, &ma, sizeof ma) == 0)
		return (0);
	if (!no_setattr && errno != ENOSYS)
		return (-1);
	no_setattr = true;
	/* Before Linux 5.12: the top mount only, keeping its locked flags. */
	if (statvfs(path, &sv) == -1)
		return (-1);
	if (sv.f_flag & ST_NOSUID) fl |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) fl |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) fl |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY) fl |= MS_RDONLY;
	if (set & MOUNT_ATTR_RDONLY) fl |= MS_RDONLY;
	if (set & MOUNT_ATTR_NOSUID) fl |= MS_NOSUID;
	if (set & MOUNT_ATTR_NODEV) fl |= MS_NODEV;
	if (set & MOUNT_ATTR_NOEXEC) fl |= MS_NOEXEC;
	return (mount(NULL, path, NULL, fl, NULL));
}

/* mkdir -p of path's parents (and path itself when dir), in place. */
static int
make_parents(char *path, bool self)
{
	char	*s;

	for (s = path + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			*s = '/';
			return (-1);
		}
		*s = '/';
	}
	if (self && mkdir(path, 0755) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

/* Makes dst exist as a mount point of the same type as src; the parents
 * are only walked when the direct attempt finds them missing. */
static int
make_mountpoint(char *dst, bool dir)
{
	int	err = ENOENT;

	for (int tries = 0; tries < 2; tries++) {
		if (dir) {
			if (mkdir(dst, 0755) == 0 || errno == EEXIST)
				return (0);
		} else {
			/* One call where open and close were two: mknod of a
			 * regular file needs no privilege, and never follows a
			 * symlink at dst. */
			if (mknod(dst, S_IFREG | 0444, 0) == 0 || errno == EEXIST)
				return (0);
		}
		/* EROFS and the like on an existing path: it is there already.
		 * Else the error is this one (a read-only parent, a /proc that
		 * takes no new entry), not what lstat or make_parents left. */
		if ((err = errno) != ENOENT) {
			struct stat	st;

			if (lstat(dst, &st) == 0)
				return (0);
			errno = err;
			return (-1);
		}
		if (make_parents(dst, false) == -1)
			return (-1);
	}
	errno = err;
	return (-1);
}

static int
do_tmpfs(const char *dst, unsigned mode, uint64_t size)
{
	char	opts[64];

	if (size != 0)
		snprintf(opts, sizeof opts, "mode=%o,size=%llu", mode,
		    (unsigned long long)size);
	else
		snprintf(opts, sizeof opts, "mode=%o", mode);
	return (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts));
}

/* Full: less room left than a page of the smallest write that fails for it
 * would need, or 64 KiB, whichever is more. A write of the last bytes
 * leaves 0; dd or cp into a full /tmp stops at the limit with ENOSPC. */
#define TMPFS_FULL_SLACK	(64 * 1024)

void
mounts_full_tmpfs(const struct mount_plan *mp, char *buf, size_t n)
{
	size_t	off = 0;

	if (n == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < mp->n; i++) {
		const struct mop	*op = &mp->ops[i];
		struct statvfs		 sv;
		int			 w;

		if (op->kind != MOP_TMPFS || op->size == 0 || statvfs(op->dst, &sv) == -1 ||
		    (uint64_t)sv.f_bavail * sv.f_frsize >= TMPFS_FULL_SLACK)
			continue;
		w = op->size % (1 << 20) == 0 ?
		    snprintf(buf + off, n - off, "%s%s (%llu MiB)", off > 0 ? ", " : "",
		    op->dst, (unsigned long long)(op->size >> 20)) :
		    snprintf(buf + off, n - off, "%s%s (%llu KiB)", off > 0 ? ", " : "",
		    op->dst, (unsigned long long)(op->size >> 10));
		if (w < 0 || (size_t)w >= n - off) {
			buf[off] = '\0';
			break;
		}
		off += (size_t)w;
	}
}

static bool
cannot_create(int err)
{
	return (err == EACCES || err == EPERM || err == EROFS);
}

static int
do_op(struct mount_plan *mp, struct mop *op, const char **what)
{
	char		*src = mp->path_a, *dst = mp->path_b;
	struct stat	 st;
	uint64_t	 attrs;
	int		 fd;

	snprintf(dst, sizeof mp->path_b, "/newroot%s", op->dst);
	if (op->kind != MOP_MASK)
		mp->null_mask = NULL;
	if (op->src != NULL)
		snprintf(src, sizeof mp->path_a, "%s%s",
		    op->inner ? "/newroot" : "/oldroot", op->src);

	switch (op->kind) {
	case MOP_DIR:
		*what = "create a directory in the new root";
		if (make_parents(dst, true) == -1)
			return (-1);
		return (chmod(dst, op->mode));
	case MOP_SYMLINK:
		/* The parents are walked only when the direct attempt finds
		 * them missing (most are there: /, /dev, /etc). */
		*what = "create a symlink in the new root";
		if (symlink(op->src, dst) == 0 || errno == EEXIST)
			return (0);
		if (errno != ENOENT || make_parents(dst, false) == -1)
			return (-1);
		if (symlink(op->src, dst) == -1 && errno != EEXIST)
			return (-1);
		return (0);
	case MOP_FILE:
		*what = "write a file in the new root";
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, op->mode)) == -1) {
			if (errno != ENOENT || make_parents(dst, false) == -1)
				return (-1);
			fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			    O_NOFOLLOW, op->mode);
		}
		if (fd == -1)
			return (-1);
		if (write(fd, op->data, strlen(op->data)) == -1) {
			close(fd);
			return (-1);
		}
		return (close(fd));
	case MOP_BIND_RO:
	case MOP_BIND_RW:
	case MOP_BIND_DEV:
		*what = op->kind == MOP_BIND_DEV ? "bind a device node" :
		    op->inner ? "make /proc host-control files read-only" :
		    "bind a host path";
		/* The host's /etc entries were looked at for the plan: their
		 * type is known (one stat each less on init's path). */
		if (!op->typed) {
			if (stat(src, &st) == -1) {
				if (op->optional && errno == ENOENT)
					return (0);
				return (-1);
			}
			op->dir = S_ISDIR(st.st_mode);
		}
		if (make_mountpoint(dst, op->dir) == -1)
			return (-1);
		if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) == -1) {
			/* Gone since the plan: as if it had never been there. */
			if (op->typed && op->optional && errno == ENOENT) {
				(void)(op->dir ? rmdir(dst) : unlink(dst));
				return (0);
			}
			return (-1);
		}
		if (op->later && !no_setattr)
			return (0);
		attrs = MOUNT_ATTR_NOSUID;
		if (op->kind != MOP_BIND_DEV)
			attrs |= MOUNT_ATTR_NODEV;
		if (op->kind == MOP_BIND_RO)
			attrs |= MOUNT_ATTR_RDONLY;
		*what = "make a bind mount read-only / nosuid";
		return (setattr(dst, attrs, true));
	case MOP_TMPFS:
		*what = "mount a tmpfs";
		if (make_mountpoint(dst, true) == -1)
			return (-1);
		return (do_tmpfs(dst, op->mode, op->size));
	case MOP_PROC:
		*what = "mount a fresh /proc for the new pid namespace";
		if (make_mountpoint(dst, true) == -1)
			return (-1);
		return (mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		    NULL));
	case MOP_DEVPTS:
		*what = "mount a private devpts";
		if (make_mountpoint(dst, true) == -1)
			return (-1);
		return (mount("devpts", dst, "devpts", MS_NOSUID | MS_NOEXEC,
		    "newinstance,ptmxmode=0666,mode=620"));
	case MOP_MASK:
		*what = "mask a path";
		if (lstat(dst, &st) == -1)
			return (op->optional && errno == ENOENT ? 0 : -1);
		if (S_ISDIR(st.st_mode)) {
			mp->null_mask = NULL;	/* it may cover the last one */
			if (do_tmpfs(dst, 0555, 4096) == -1)
				return (-1);
			return (setattr(dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC, false));
		}
		/* After another file mask, with nothing made between: a bind
		 * of that one, which is /dev/null read-only, nosuid, noexec
		 * already (a bind keeps a mount's flags): no call to set them. */
		if (mp->null_mask != NULL) {
			snprintf(src, sizeof mp->path_a, "/newroot%s",
			    mp->null_mask->dst);
			return (mount(src, dst, NULL, MS_BIND, NULL));
		}
		if (mount("/oldroot/dev/null", dst, NULL, MS_BIND, NULL) == -1 ||
		    setattr(dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		    MOUNT_ATTR_NOEXEC, false) == -1)
			return (-1);
		mp->null_mask = op;
		return (0);
	case MOP_OVERLAY: {
		char	*opts = mp->path_a;	/* src is rebuilt into it */

		*what = "mount the overlay workspace (is overlayfs available in a "
		    "user namespace here? see moat doctor)";
		if (make_mountpoint(dst, true) == -1)
			return (-1);
		snprintf(opts, sizeof mp->path_a,
		    "lowerdir=%s,upperdir=/oldroot%s/upper,"
		    "workdir=/oldroot%s/work,userxattr", op->lower, op->data, op->data);
		if (mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV, opts) == -1) {
			/* Kernels before 5.11 have no userxattr (and root needs none). */
			char	*x = strstr(opts, ",userxattr");

			if (x == NULL || errno != EINVAL)
				return (-1);
			*x = '\0';
			return (mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV,
			    opts));
		}
		return (0);
	}
	case MOP_READONLY:
		*what = "make a tree of mounts read-only";
		return (setattr(dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		    MOUNT_ATTR_NODEV, true));
	case MOP_NOSUID:
		*what = "make a tree of mounts nosuid";
		return (setattr(dst, MOUNT_ATTR_NOSUID, true));
	case MOP_PROTECT:
		*what = "protect a path in the workspace";
		if (lstat(dst, &st) == -1) {
			if (errno != ENOENT)
				return (-1);
			/* Not there: an empty placeholder, read-only like the rest.
			 * Where even init cannot create it (a directory the user may
			 * not write, a read-only workspace), the command, with fewer
			 * rights, cannot either: nothing to protect. */
			if (op->dir) {
				if (mkdir(dst, 0755) == -1 && errno != EEXIST)
					return (cannot_create(errno) ? 0 : -1);
			} else if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL |
			    O_CLOEXEC | O_NOFOLLOW, 0644)) == -1) {
				if (errno != EEXIST)
					return (cannot_create(errno) ? 0 : -1);
			} else
				close(fd);
		} else if (S_ISLNK(st.st_mode)) {
			errno = ELOOP;	/* appeared since the plan: refuse */
			return (-1);
		}
		if (mount(dst, dst, NULL, MS_BIND | MS_REC, NULL) == -1)
			return (-1);
		return (setattr(dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		    MOUNT_ATTR_NODEV, true));
	}
	errno = EINVAL;
	return (-1);
}

int
mounts_build_root(struct mount_plan *mp, const char **what)
{
	*what = "make the mount tree private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return (-1);

	/* A base tmpfs to pivot into, keeping the host root at /oldroot. */
	*what = "mount the base tmpfs";
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") == -1)
		return (-1);
	*what = "prepare the base tmpfs";
	if (chdir("/tmp") == -1 || mkdir("newroot", 0755) == -1 ||
	    mkdir("oldroot", 0755) == -1)
		return (-1);
	*what = "pivot_root into the base tmpfs";
	if (syscall(SYS_pivot_root, ".", "oldroot") == -1 || chdir("/") == -1)
		return (-1);
	*what = "mount the new root tmpfs";
	if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755,size=1m") == -1)
		return (-1);

	for (size_t i = 0; i < mp->n; i++)
		if (do_op(mp, &mp->ops[i], what) == -1) {
			int	err = errno;

			/* Which path: a profile's bind or tmpfs may be the cause. */
			snprintf(mp->what, sizeof mp->what, "%s (%s)", *what,
			    mp->ops[i].dst);
			*what = mp->what;
			errno = err;
			return (-1);
		}

	/* Into the new root, the base tmpfs stacked under it; detaching the
	 * base detaches the host's tree mounted in it too (a lazy umount
	 * takes every mount below), in one umount: each waits for an RCU
	 * grace period, which a busy machine makes long. */
	*what = "pivot_root into the new root";
	if (chdir("/newroot") == -1 || syscall(SYS_pivot_root, ".", ".") == -1)
		return (-1);
	*what = "detach the host root";
	if (umount2(".", MNT_DETACH) == -1 || chdir("/") == -1)
		return (-1);
	*what = "make the new root read-only";
	if (mount("/", "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
	    MS_NODEV, NULL) == -1)
		return (-1);
	return (0);
}

/*
 * After the start: a guarded path put back (guard.c). A mount on a file or
 * directory of the workspace is detached, in every namespace, when a
 * program on the host removes that entry or renames another over it, so
 * the path shows the host's new file, writable. guard.c's helper, in the
 * sandbox's user and mount namespaces (its root is the sandbox's), calls
 * this for each guarded entry. Nothing followed through a symbolic link:
 * each path is opened with RESOLVE_NO_SYMLINKS and mounted on through that
 * descriptor (open_tree, move_mount), so a link planted meanwhile is not
 * where a mount lands. No allocation: the helper is a fork of a threaded
 * process.
 */
#ifndef SYS_open_tree
#define SYS_open_tree		428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount		429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen		430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig		431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount		432
#endif
#ifndef SYS_openat2
#define SYS_openat2		437
#endif
#define G_OPEN_TREE_CLONE	1
#define G_MOVE_MOUNT_F_EMPTY	0x00000004
#define G_MOVE_MOUNT_T_EMPTY	0x00000040
#define G_RESOLVE_NO_MAGICLINKS	0x02
#define G_RESOLVE_NO_SYMLINKS	0x04
#define G_FSCONFIG_SET_STRING	1
#define G_FSCONFIG_CMD_CREATE	6

#ifndef STATX_MNT_ID
#define STATX_MNT_ID		0x00001000
#endif

struct moat_open_how {
	uint64_t	flags, mode, resolve;
};

static bool
guard_under(const char *path, const char *dir)
{
	size_t	l = strlen(dir);

	return (strncmp(path, dir, l) == 0 && path[l] == '/');
}

bool
mounts_guarded(const struct mount_plan *mp, const struct mop *op,
    const char *ws)
{
	if (op->kind == MOP_PROTECT || (op->kind == MOP_BIND_RW && op->inner))
		return (ws != NULL && guard_under(op->dst, ws));
	if (op->kind != MOP_MASK)
		return (false);
	/* A hidden path in a bind of the host's at the same path: the
	 * workspace's (bind, ro), or a profile's (bind = ~/.aws with hide
	 * = ~/.aws/credentials, a file the host refreshes by a rename). */
	for (size_t i = 0; i < mp->n; i++) {
		const struct mop	*b = &mp->ops[i];

		if ((b->kind == MOP_BIND_RO || b->kind == MOP_BIND_RW) &&
		    !b->inner && !b->copy && b->src != NULL &&
		    strcmp(b->src, b->dst) == 0 && guard_under(op->dst, b->dst))
			return (true);
	}
	return (false);
}

/* An O_PATH descriptor of path, no symbolic link followed on the way; a
 * link at the end is opened itself (the caller sees S_IFLNK). */
static int
guard_open(const char *path)
{
	struct moat_open_how	how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = G_RESOLVE_NO_SYMLINKS | G_RESOLVE_NO_MAGICLINKS,
	};

	return ((int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how));
}

/* Whether a mount is on fd's entry: its mount differs from its parent's. */
static int
guard_mounted(int fd, int pfd)
{
	struct statx	a, b;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &a) == -1 ||
	    statx(pfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &b) == -1)
		return (-1);
	if (!(a.stx_mask & STATX_MNT_ID) || !(b.stx_mask & STATX_MNT_ID)) {
		errno = ENOSYS;
		return (-1);
	}
	return (a.stx_mnt_id != b.stx_mnt_id);
}

/* The tree at from (a descriptor, or path when from is -1) onto fd's
 * entry, with attrs set. */
static int
guard_mount_on(int from, const char *path, int fd, uint64_t attrs, bool rec)
{
	struct moat_mount_attr	ma = { .attr_set = attrs };
	int			t, rc;

	t = (int)syscall(SYS_open_tree, from >= 0 ? from : AT_FDCWD,
	    from >= 0 ? "" : path, G_OPEN_TREE_CLONE | O_CLOEXEC |
	    (from >= 0 ? AT_EMPTY_PATH : 0) | (rec ? AT_RECURSIVE : 0));
	if (t == -1)
		return (-1);
	rc = (int)syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH |
	    (rec ? AT_RECURSIVE : 0), &ma, sizeof ma);
	if (rc == 0)
		rc = (int)syscall(SYS_move_mount, t, "", fd, "",
		    G_MOVE_MOUNT_F_EMPTY | G_MOVE_MOUNT_T_EMPTY);
	close(t);
	return (rc);
}

/* An empty read-only tmpfs onto fd's entry (a hidden directory). */
static int
guard_tmpfs_on(int fd)
{
	int	fs, m, rc = -1;

	if ((fs = (int)syscall(SYS_fsopen, "tmpfs", 1)) == -1)
		return (-1);
	if (syscall(SYS_fsconfig, fs, G_FSCONFIG_SET_STRING, "size", "4096", 0) == 0 &&
	    syscall(SYS_fsconfig, fs, G_FSCONFIG_SET_STRING, "mode", "0555", 0) == 0 &&
	    syscall(SYS_fsconfig, fs, G_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0 &&
	    (m = (int)syscall(SYS_fsmount, fs, 1, MOUNT_ATTR_RDONLY |
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) != -1) {
		rc = (int)syscall(SYS_move_mount, m, "", fd, "",
		    G_MOVE_MOUNT_F_EMPTY | G_MOVE_MOUNT_T_EMPTY);
		close(m);
	}
	close(fs);
	return (rc);
}

/* path's parent directory, opened; path cut at its last slash meanwhile. */
static int
guard_open_parent(char *path, char **base)
{
	char	*slash = strrchr(path, '/');
	int	 fd;

	if (slash == NULL || slash == path) {
		errno = EINVAL;
		return (-1);
	}
	*slash = '\0';
	fd = guard_open(path);
	*slash = '/';
	*base = slash + 1;
	return (fd);
}

/* A placeholder for a guarded entry that is gone, in its parent pfd: a
 * directory or an empty file, as op says. *made false when one appeared
 * meanwhile (the host's), which is mounted on as it is. Its descriptor. */
static int
guard_placeholder(const struct mop *op, int pfd, const char *base, bool *made)
{
	int	fd = -1;

	if (op->dir ? mkdirat(pfd, base, 0755) == -1 : (fd = openat(pfd, base,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) == -1) {
		if (errno != EEXIST)
			return (-1);
		*made = false;
	} else {
		*made = true;
		if (!op->dir)
			close(fd);
	}
	return (openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC));
}

enum guard_state
mounts_guard_one(const struct mop *op, char *at, size_t len,
    int *err, struct stat *held)
{
	char			 path[PATH_MAX], *base;
	struct stat		 st;
	enum guard_state	 state = GUARD_RESTORED;
	uint64_t		 attrs;
	int			 fd = -1, pfd = -1, m;
	bool			 made = false;

	*err = 0;
	at[0] = '\0';
	if (snprintf(path, sizeof path, "%s", op->dst) >= (int)sizeof path) {
		*err = ENAMETOOLONG;
		return (GUARD_FAILED);
	}
	snprintf(at, len, "%s", op->dst);
	if ((pfd = guard_open_parent(path, &base)) >= 0)
		fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ELOOP) {
		state = GUARD_TAMPERED;	/* a link on the way */
		goto out;
	}
	if (fd == -1 && errno == ENOENT) {
		/* A hidden entry that is not there: nothing to hide (its
		 * parent is watched: one made later is hidden then). */
		if (op->kind == MOP_MASK) {
			state = GUARD_INTACT;
			goto out;
		}
		/* One of moat's placeholders (git clean -x removes them): an
		 * empty one in its place, as at the start. A file or directory
		 * of the user's (.git, .git/config, .envrc) moved or removed is
		 * not made again: a placeholder there would turn the host's
		 * next step (cp -a's exclusive create, rm -r's rmdir) into
		 * another, and be removed, empty, at the end; the sandbox ends
		 * instead (GUARD_GONE). */
		if (pfd == -1 || op->kind != MOP_PROTECT || !op->create) {
			state = GUARD_GONE;
			goto out;
		}
		if ((fd = guard_placeholder(op, pfd, base, &made)) == -1) {
			/* Where the helper cannot make it, nothing inside can
			 * (as init: a read-only parent) */
			state = cannot_create(errno) ? GUARD_INTACT :
			    errno == ENOENT ? GUARD_GONE : GUARD_FAILED;
			goto out;
		}
		state = made ? GUARD_PLACED : GUARD_RESTORED;
	} else if (fd == -1) {
		state = GUARD_FAILED;
		goto out;
	}
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == -1) {
		state = GUARD_FAILED;
		goto out;
	}
	/* Mounted on: in place (a hidden file is /dev/null then). */
	if ((m = guard_mounted(fd, pfd)) == -1) {
		state = GUARD_FAILED;
		goto out;
	}
	if (m == 1) {
		state = state == GUARD_PLACED ? GUARD_FAILED : GUARD_INTACT;
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		state = GUARD_TAMPERED;	/* a link, a fifo, a device */
		goto out;
	}
	if (op->kind == MOP_MASK) {
		if (S_ISDIR(st.st_mode))
			m = guard_tmpfs_on(fd);
		else
			m = guard_mount_on(-1, "/dev/null", fd, MOUNT_ATTR_RDONLY |
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);
	} else {
		/* A placeholder, and a protected path, are read-only; a
		 * directory above protected ones (.git) is bound onto itself
		 * so that it cannot be moved away from inside. */
		attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
		if (op->kind == MOP_PROTECT || made)
			attrs |= MOUNT_ATTR_RDONLY;
		m = guard_mount_on(fd, NULL, fd, attrs, true);
	}
	if (m == -1)
		state = GUARD_FAILED;
	else
		*held = st;	/* what a descriptor opened meanwhile would be */
out:
	/* Gone again while it was looked at (the host's rm after its mv):
	 * the change that did it sends the guard back here. */
	if (state == GUARD_FAILED && (errno == ENOENT || errno == ESTALE) &&
	    *err == 0)
		state = GUARD_INTACT;
	if (state == GUARD_FAILED && *err == 0)
		*err = errno;
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	return (state);
}
