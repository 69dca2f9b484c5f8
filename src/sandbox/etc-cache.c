/* etc-cache.c: the sandbox's /etc as one directory kept between runs, in
 * the supervisor before the clone. init used to build /etc as a tmpfs with
 * a bind for each host entry a program commonly needs (some 40): each bind
 * is a mount to make in init and to tear down with its namespace, about
 * 0.6 ms of a run's start here. Now the regular files are copied once into
 * $XDG_CACHE_HOME/moat/etc-KEY, with the symlinks as they are and an empty
 * mount point for each directory entry (those are still bound: a tree
 * changes without its top directory's times changing), and that directory
 * is bound at /etc. KEY is a SHA-256 of what lstat says of every entry
 * (device, inode, mode, size, mtime and ctime), the hostname and the
 * resolv.conf the run wants: a changed entry is a new directory, never an
 * old one rewritten under a run that has it bound.
 *
 * Trust is the filter cache's (filter-cache.c): the directory is used only
 * when it is the user's and no one else may write it or what is in it, it
 * holds exactly the entries it should (no file planted beside them: an
 * ld.so.preload would do) and each copy has its source's size and mtime; a
 * forgery by whoever can write the user's own files is not looked for, as
 * they could rewrite the profiles too. A run holds a shared flock on the
 * directory for as long as it lives; another key's directory is removed,
 * when a new one is made, only once it has been unused for a day and no
 * run holds it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "etc-cache.h"
#include "base/sha256.h"

#define ETC_MAGIC	"MOATETC1"
#define ETC_MAX		128		/* entries, with the directories made */
#define ETC_UNUSED	(24 * 3600)	/* seconds before another key's goes */
#define ETC_FILE_MAX	(4 << 20)	/* a larger file is bound, not copied */

struct etc_ent {
	char		 name[128];		/* relative to root and to the copy */
	struct stat	 st;			/* the source's (lstat) */
	const char	*data;			/* generated: this content */
	int		 kind;			/* ENT_* */
};

/* A copied file, a symlink, a directory's mount point, a file's mount
 * point (not copied), a directory made for nested names, generated text. */
enum { ENT_FILE, ENT_LINK, ENT_MOUNT, ENT_FMOUNT, ENT_DIR, ENT_DATA };

struct etc_set {
	struct etc_ent	 v[ETC_MAX];
	size_t		 n;
};

static struct etc_ent *
etc_add(struct etc_set *s, const char *name, int kind)
{
	struct etc_ent	*en;

	if (s->n == ETC_MAX || strlen(name) >= sizeof s->v[0].name)
		return (NULL);
	en = &s->v[s->n++];
	memset(en, 0, sizeof *en);
	snprintf(en->name, sizeof en->name, "%s", name);
	en->kind = kind;
	return (en);
}

static bool
etc_has(const struct etc_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return (true);
	return (false);
}

/* The directories a nested name needs ("ssl" for "ssl/certs"), first. */
static int
etc_parents(struct etc_set *s, const char *name)
{
	char	buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s", name);
	for (char *p = strchr(buf, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (!etc_has(s, buf) && etc_add(s, buf, ENT_DIR) == NULL)
			return (-1);
		*p = '/';
	}
	return (0);
}

/* The user may read it: its mode says so for most (readable by all, or by
 * its owner who is the user); the kernel is asked about the others. */
static bool
etc_readable(int rootfd, const char *name, const struct stat *st)
{
	if ((st->st_mode & S_IROTH) ||
	    (st->st_uid == geteuid() && (st->st_mode & S_IRUSR)))
		return (true);
	return (faccessat(rootfd, name, R_OK, AT_EACCESS) == 0);
}

/* What there is to copy, and the key of it. */
static int
etc_scan(int rootfd, const char *root, const char *const *names, size_t n,
    const char *hostname, const char *resolv, struct etc_set *s,
    uint8_t key[SHA256_LEN])
{
	struct sha256	h;
	char		buf[256];

	s->n = 0;
	sha256_init(&h);
	sha256_update(&h, ETC_MAGIC, sizeof ETC_MAGIC);
	sha256_update(&h, root, strlen(root) + 1);
	for (size_t i = 0; i < n; i++) {
		struct stat	 st;
		struct etc_ent	*en;
		int		 kind;

		if ((resolv != NULL && strcmp(names[i], "resolv.conf") == 0) ||
		    etc_has(s, names[i]))
			continue;
		sha256_update(&h, names[i], strlen(names[i]) + 1);
		if (fstatat(rootfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT && errno != ENOTDIR)
				return (-1);
			sha256_update(&h, "-", 1);
			continue;
		}
		if (S_ISREG(st.st_mode) && st.st_size <= ETC_FILE_MAX &&
		    etc_readable(rootfd, names[i], &st))
			kind = ENT_FILE;
		else if (S_ISLNK(st.st_mode))
			kind = ENT_LINK;
		else if (S_ISDIR(st.st_mode))
			kind = ENT_MOUNT;
		else
			kind = ENT_FMOUNT;	/* bound as it is, as before */
		snprintf(buf, sizeof buf, "%llu %llu %o %lld %lld.%09ld %lld.%09ld",
		    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		    (unsigned)st.st_mode, (long long)st.st_size,
		    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
		sha256_update(&h, buf, strlen(buf) + 1);
		if (etc_parents(s, names[i]) == -1 ||
		    (en = etc_add(s, names[i], kind)) == NULL)
			return (-1);
		en->st = st;
	}
	sha256_update(&h, "hostname", 9);
	sha256_update(&h, hostname, strlen(hostname) + 1);
	if (etc_add(s, "hostname", ENT_DATA) == NULL)
		return (-1);
	s->v[s->n - 1].data = hostname;
	if (resolv != NULL) {
		sha256_update(&h, "resolv.conf", 12);
		sha256_update(&h, resolv, strlen(resolv) + 1);
		if (etc_add(s, "resolv.conf", ENT_DATA) == NULL)
			return (-1);
		s->v[s->n - 1].data = resolv;
	}
	sha256_final(&h, key);
	return (0);
}

static bool
etc_owned(const struct stat *st)
{
	return (st->st_uid == geteuid() && (st->st_mode & 022) == 0);
}

/* How many entries a directory of the copy should hold. */
static size_t
etc_children(const struct etc_set *s, const char *dir)
{
	size_t	n = 0, dl = strlen(dir);

	for (size_t i = 0; i < s->n; i++) {
		const char	*name = s->v[i].name;

		if (dl == 0 ? strchr(name, '/') == NULL :
		    strncmp(name, dir, dl) == 0 && name[dl] == '/' &&
		    strchr(name + dl + 1, '/') == NULL)
			n++;
	}
	return (n);
}

static bool
etc_count_is(int dfd, const char *dir, size_t want)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;
	int		 fd;

	if ((fd = openat(dfd, *dir != '\0' ? dir : ".", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (false);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (false);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return (n == want);
}

/* The copy in dfd is the user's, written by no one else, and holds no
 * entry beside those s names (a file planted there, an ld.so.preload, would
 * be seen inside). What the entries hold is not read again: the key named
 * them when they were copied, and whoever could rewrite them could rewrite
 * the profiles as well. */
static bool
etc_verify(int dfd, const struct etc_set *s)
{
	struct stat	st;

	if (fstat(dfd, &st) == -1 || !S_ISDIR(st.st_mode) || !etc_owned(&st) ||
	    !etc_count_is(dfd, "", etc_children(s, "")))
		return (false);
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == ENT_DIR &&
		    !etc_count_is(dfd, s->v[i].name, etc_children(s, s->v[i].name)))
			return (false);
	return (true);
}

/* One regular file, as it was when scanned, or -1. */
static int
etc_copy(int rootfd, int dfd, const struct etc_ent *en)
{
	char		buf[65536];
	struct stat	st;
	struct timespec	ts[2];
	int		in, out = -1, rc = -1;
	ssize_t		n;

	if ((in = openat(rootfd, en->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(in, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_ino != en->st.st_ino || st.st_dev != en->st.st_dev ||
	    st.st_size != en->st.st_size)
		goto out;
	if ((out = openat(dfd, en->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		goto out;
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n == -1 || write(out, buf, (size_t)n) != n)
			goto out;
	}
	/* Changed while it was read: not the file the key names. */
	if (fstat(in, &st) == -1 || st.st_size != en->st.st_size ||
	    st.st_mtim.tv_sec != en->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != en->st.st_mtim.tv_nsec)
		goto out;
	ts[0] = en->st.st_atim;
	ts[1] = en->st.st_mtim;
	if (fchmod(out, en->st.st_mode & 0755) == -1 || futimens(out, ts) == -1)
		goto out;
	rc = 0;
out:
	close(in);
	if (out != -1 && close(out) == -1)
		rc = -1;
	return (rc);
}

static int
etc_write(int dfd, const char *name, const char *data)
{
	size_t	len = strlen(data);
	int	fd, rc;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		return (-1);
	rc = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	if (close(fd) == -1)
		rc = -1;
	return (rc);
}

/* The copy, into the empty directory dfd. */
static int
etc_build(int rootfd, int dfd, const struct etc_set *s)
{
	char	target[PATH_MAX];
	ssize_t	n;

	for (size_t i = 0; i < s->n; i++) {
		const struct etc_ent	*en = &s->v[i];

		switch (en->kind) {
		case ENT_FILE:
			if (etc_copy(rootfd, dfd, en) == -1)
				return (-1);
			break;
		case ENT_LINK:
			if ((n = readlinkat(rootfd, en->name, target,
			    sizeof target - 1)) <= 0 || n != en->st.st_size)
				return (-1);
			target[n] = '\0';
			if (symlinkat(target, dfd, en->name) == -1)
				return (-1);
			break;
		case ENT_MOUNT:
		case ENT_DIR:
			if (mkdirat(dfd, en->name, 0755) == -1)
				return (-1);
			break;
		case ENT_FMOUNT:
			if (etc_write(dfd, en->name, "") == -1)
				return (-1);
			break;
		case ENT_DATA:
			if (etc_write(dfd, en->name, en->data) == -1)
				return (-1);
			break;
		}
	}
	return (0);
}

/* Removes dir (under dfd) and what it holds, a few levels deep, following
 * no link. */
static void
etc_remove(int dfd, const char *name, int depth)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	if (unlinkat(dfd, name, 0) == 0 || errno != EISDIR)
		return;
	if (depth > 8 || (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			etc_remove(fd, de->d_name, depth + 1);
	closedir(d);
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Other keys' directories that no run holds and none used for a day, and
 * copies left half made by a moat that was killed. */
static void
etc_tidy(int basefd, const char *keep)
{
	DIR		*d;
	struct dirent	*de;
	time_t		 now = time(NULL);
	int		 fd;

	if ((fd = dup(basefd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat	st;
		int		lk;

		if (strncmp(de->d_name, "etc-", 4) != 0 || strcmp(de->d_name, keep) == 0 ||
		    fstatat(basefd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode) || st.st_mtime > now - ETC_UNUSED)
			continue;
		if ((lk = openat(basefd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		if (flock(lk, LOCK_EX | LOCK_NB) == 0)
			etc_remove(basefd, de->d_name, 0);
		close(lk);
	}
	closedir(d);
}

int
etc_cache_get(const char *root, const char *const *names, size_t n,
    const char *hostname, const char *resolv, struct etc_view *out)
{
	struct etc_set	*s = xcalloc(1, sizeof *s);
	char		 base[PATH_MAX], dir[64], tmp[128];
	char		 hex[2 * 16 + 1];
	uint8_t		 key[SHA256_LEN];
	int		 rootfd = -1, basefd = -1, dfd = -1, rc = -1;

	memset(out, 0, sizeof *out);
	out->lockfd = -1;
	xdg_dir("XDG_CACHE_HOME", ".cache", base, sizeof base);
	if (strlen(base) + 6 >= sizeof base)
		goto out;
	strcat(base, "/moat");
	if (!cache_dir_owned(base) ||
	    (basefd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto out;
	if (etc_scan(rootfd, root, names, n, hostname, resolv, s, key) == -1)
		goto out;
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	snprintf(dir, sizeof dir, "etc-%s", hex);

	/* Held as long as the run: etc_tidy leaves it alone. */
	if ((dfd = openat(basefd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		if (flock(dfd, LOCK_SH | LOCK_NB) == 0 && etc_verify(dfd, s))
			goto found;
		/* Damaged: made anew, unless a run has it (then this run
		 * binds the entries one by one). */
		if (flock(dfd, LOCK_EX | LOCK_NB) == -1)
			goto out;
		snprintf(tmp, sizeof tmp, "%s.old.%d", dir, (int)getpid());
		if (renameat(basefd, dir, basefd, tmp) == -1)
			goto out;
		etc_remove(basefd, tmp, 0);
		close(dfd);
		dfd = -1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", dir, (int)getpid());
	etc_remove(basefd, tmp, 0);
	if (mkdirat(basefd, tmp, 0755) == -1)
		goto out;
	if ((dfd = openat(basefd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || flock(dfd, LOCK_SH | LOCK_NB) == -1 ||
	    etc_build(rootfd, dfd, s) == -1 ||
	    renameat(basefd, tmp, basefd, dir) == -1) {
		/* Another moat made it first (ENOTEMPTY): take that one. */
		if (dfd != -1)
			close(dfd);
		etc_remove(basefd, tmp, 0);
		if ((dfd = openat(basefd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1 || flock(dfd, LOCK_SH | LOCK_NB) == -1 ||
		    !etc_verify(dfd, s))
			goto out;
	}
	etc_tidy(basefd, dir);
found:
	/* Its times say when it was last used (etc_tidy). */
	(void)futimens(dfd, NULL);
	out->dir = xprintf("%s/%s", base, dir);
	out->lockfd = dfd;
	dfd = -1;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == ENT_MOUNT)
			strv_add(&out->binds, s->v[i].name);
		else if (s->v[i].kind == ENT_FMOUNT)
			strv_add(&out->file_binds, s->v[i].name);
	rc = 0;
out:
	if (dfd != -1)
		close(dfd);
	if (basefd != -1)
		close(basefd);
	if (rootfd != -1)
		close(rootfd);
	free(s);
	return (rc);
}

void
etc_view_free(struct etc_view *v)
{
	if (v->dir == NULL)
		return;
	free(v->dir);
	v->dir = NULL;
	strv_clear(&v->binds);
	strv_clear(&v->file_binds);
	if (v->lockfd >= 0)
		close(v->lockfd);
	v->lockfd = -1;
}
