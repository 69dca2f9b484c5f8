/* test-etc-cache.c: the sandbox's /etc kept as one directory between runs
 * (sandbox/etc-cache.c), on a made-up root in a scratch directory: what is
 * copied and how, that a second run takes the same directory, that a
 * changed entry is a new one, that a planted file or a directory written by
 * others is never used, that a directory a run holds is left alone, and
 * that another key's old directory goes. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/etc-cache.h"
#include "base/util.h"
#include "../tap.h"

static char	scratch[256], root[300], cache[300];

static void
put(const char *rel, const char *text)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static char *
slurp(const char *dir, const char *rel)
{
	char	*path = xprintf("%s/%s", dir, rel), *text = NULL;
	size_t	 len;
	struct merr e;

	if (read_file(path, &text, &len, &e) == -1)
		text = NULL;
	free(path);
	return (text);
}

static bool
exists(const char *dir, const char *rel)
{
	char		path[1024];
	struct stat	st;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return (lstat(path, &st) == 0);
}

static ino_t
inode(const char *path)
{
	struct stat	st;

	return (stat(path, &st) == 0 ? st.st_ino : 0);
}

static const char *names[] = {
	"passwd", "hosts", "resolv.conf", "localtime", "ssl/certs",
	"ssl/openssl.cnf", "alternatives", "missing", "default/locale",
};

static int
get(struct etc_view *v, const char *resolv)
{
	return (etc_cache_get(root, names, nitems(names), "box\n", resolv, v));
}

/* hosts, as root has it now, is not copied: bound over an empty file. */
static void
not_copied(const char *what)
{
	struct etc_view	 v;
	char		*t;

	tap_ok(get(&v, NULL) == 0 && v.file_binds.n == 1 &&
	    strcmp(v.file_binds.v[0], "hosts") == 0, "%s: to be bound", what);
	t = v.dir != NULL ? slurp(v.dir, "hosts") : NULL;
	tap_ok(t != NULL && *t == '\0', "%s: an empty file in its place", what);
	free(t);
	etc_view_free(&v);
}

int
main(void)
{
	struct etc_view	 v, w;
	char		*t, path[1024], old[600];
	ino_t		 ino;
	struct timespec	 ts[2];
	bool		 listed;
	int		 fd;

	snprintf(scratch, sizeof scratch, "/tmp/moat-etc-cache.XXXXXX");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	snprintf(root, sizeof root, "%s/root", scratch);
	snprintf(cache, sizeof cache, "%s/cache", scratch);
	mkdir(root, 0755);
	snprintf(path, sizeof path, "%s/ssl", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/ssl/certs", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/alternatives", root);
	mkdir(path, 0755);
	put("passwd", "root:x:0:0:root:/root:/bin/sh\n");
	put("hosts", "127.0.0.1 localhost\n");
	put("resolv.conf", "nameserver 192.0.2.1\n");
	put("ssl/openssl.cnf", "# openssl\n");
	put("ssl/certs/ca.pem", "a certificate\n");
	snprintf(path, sizeof path, "%s/localtime", root);
	if (symlink("/usr/share/zoneinfo/Etc/UTC", path) == -1)
		perror("symlink");
	setenv("XDG_CACHE_HOME", cache, 1);

	/* The first run makes it. */
	tap_ok(get(&v, NULL) == 0 && v.dir != NULL, "a directory is made");
	if (v.dir == NULL)
		return (1);
	t = slurp(v.dir, "passwd");
	tap_ok(t != NULL && strcmp(t, "root:x:0:0:root:/root:/bin/sh\n") == 0,
	    "a regular file is copied");
	free(t);
	t = slurp(v.dir, "resolv.conf");
	tap_ok(t != NULL && strcmp(t, "nameserver 192.0.2.1\n") == 0,
	    "resolv.conf is the root's when none is given");
	free(t);
	t = slurp(v.dir, "hostname");
	tap_ok(t != NULL && strcmp(t, "box\n") == 0, "hostname holds the name given");
	free(t);
	{
		char	link[256];
		ssize_t	n;

		snprintf(path, sizeof path, "%s/localtime", v.dir);
		n = readlink(path, link, sizeof link - 1);
		link[n > 0 ? n : 0] = '\0';
		tap_ok(strcmp(link, "/usr/share/zoneinfo/Etc/UTC") == 0,
		    "a symlink stays a symlink to the same target");
	}
	t = slurp(v.dir, "ssl/openssl.cnf");
	tap_ok(t != NULL && strcmp(t, "# openssl\n") == 0,
	    "a file in a subdirectory is copied");
	free(t);
	tap_ok(exists(v.dir, "ssl/certs") && !exists(v.dir, "ssl/certs/ca.pem"),
	    "a directory entry is an empty mount point, its files not copied");
	listed = v.binds.n == 2 && strv_contains(&v.binds, "ssl/certs") &&
	    strv_contains(&v.binds, "alternatives");
	tap_ok(listed, "the directory entries are the ones to bind (%zu)", v.binds.n);
	tap_ok(!exists(v.dir, "missing") && !exists(v.dir, "default"),
	    "an entry the root lacks is not there, nor its parent");
	{
		struct stat	st;

		snprintf(path, sizeof path, "%s/passwd", v.dir);
		tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644 &&
		    st.st_uid == geteuid(), "a copy is the user's, mode 0644");
	}
	snprintf(old, sizeof old, "%s", v.dir);
	ino = inode(v.dir);

	/* A second run, the same directory; the first one's lock shared. */
	tap_ok(get(&w, NULL) == 0 && w.dir != NULL && strcmp(w.dir, old) == 0 &&
	    inode(w.dir) == ino, "a second run takes the same directory, as it is");
	fd = open(old, O_RDONLY | O_DIRECTORY);
	tap_ok(fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK,
	    "while runs hold it, no one may take it to remove");
	if (fd != -1)
		close(fd);
	etc_view_free(&w);

	/* Another resolv.conf: another directory. */
	tap_ok(get(&w, "nameserver 127.0.0.1\n") == 0 && w.dir != NULL &&
	    strcmp(w.dir, old) != 0, "another resolv.conf, another directory");
	t = w.dir != NULL ? slurp(w.dir, "resolv.conf") : NULL;
	tap_ok(t != NULL && strcmp(t, "nameserver 127.0.0.1\n") == 0,
	    "resolv.conf holds the one given");
	free(t);
	etc_view_free(&w);

	/* A changed entry. */
	put("hosts", "127.0.0.1 localhost\n10.0.0.1 db\n");
	tap_ok(get(&w, NULL) == 0 && w.dir != NULL && strcmp(w.dir, old) != 0,
	    "a changed file, another directory");
	t = w.dir != NULL ? slurp(w.dir, "hosts") : NULL;
	tap_ok(t != NULL && strstr(t, "10.0.0.1 db") != NULL,
	    "which holds the file as it is now");
	free(t);
	tap_ok(exists(old, "hosts"), "the old one, still held, is left alone");
	etc_view_free(&w);
	put("hosts", "127.0.0.1 localhost\n");
	etc_view_free(&v);

	/* A planted file: the directory is not used as it is. */
	tap_ok(get(&v, NULL) == 0, "a run after");
	snprintf(old, sizeof old, "%s", v.dir);
	etc_view_free(&v);
	{
		char	p2[1024];
		FILE	*f;

		snprintf(p2, sizeof p2, "%s/ld.so.preload", old);
		if ((f = fopen(p2, "w")) != NULL) {
			fputs("/tmp/evil.so\n", f);
			fclose(f);
		}
	}
	tap_ok(get(&v, NULL) == 0 && v.dir != NULL && !exists(v.dir, "ld.so.preload") &&
	    exists(v.dir, "passwd"), "a file planted in it: made anew, without it");
	etc_view_free(&v);
	snprintf(path, sizeof path, "%s/ssl/planted", old);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd != -1)
		close(fd);
	tap_ok(get(&v, NULL) == 0 && !exists(v.dir, "ssl/planted"),
	    "a file planted in a subdirectory: made anew, without it");
	etc_view_free(&v);

	/* Planted while another run holds it: this run binds one by one. */
	tap_ok(get(&w, NULL) == 0, "a run holds it");
	snprintf(path, sizeof path, "%s/ld.so.preload", w.dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd != -1)
		close(fd);
	tap_ok(get(&v, NULL) == -1 && v.dir == NULL,
	    "planted while held: not used, and not removed under the holder");
	tap_ok(exists(w.dir, "passwd"), "the holder's directory is whole");
	unlink(path);
	etc_view_free(&w);

	/* Written by others: never used. */
	tap_ok(get(&v, NULL) == 0, "a run");
	snprintf(old, sizeof old, "%s", v.dir);
	etc_view_free(&v);
	chmod(old, 0777);
	tap_ok(get(&v, NULL) == 0 && v.dir != NULL, "a directory others may write: "
	    "made anew");
	{
		struct stat	st;

		tap_ok(stat(v.dir, &st) == 0 && (st.st_mode & 022) == 0,
		    "the new one is not writable by others");
	}
	etc_view_free(&v);
	snprintf(path, sizeof path, "%s/moat", cache);
	chmod(path, 0777);
	tap_ok(get(&v, NULL) == -1, "a cache directory others may write: none used");
	chmod(path, 0700);

	/* Another key's directory unused for two days goes when one is made,
	 * unless a run holds it; one used lately stays. */
	tap_ok(get(&v, NULL) == 0, "the current one, held");
	snprintf(old, sizeof old, "%s", v.dir);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 2 * 24 * 3600;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, old, ts, 0);
	put("hosts", "127.0.0.1 localhost other\n");
	tap_ok(get(&w, NULL) == 0 && strcmp(w.dir, old) != 0, "a new key");
	tap_ok(exists(old, "passwd"), "the old key's, unused for two days but held, "
	    "stays");
	etc_view_free(&w);
	etc_view_free(&v);
	utimensat(AT_FDCWD, old, ts, 0);
	put("hosts", "127.0.0.1 localhost another\n");
	tap_ok(get(&v, NULL) == 0 && strcmp(v.dir, old) != 0, "another key");
	tap_ok(!exists(old, "."), "the old key's, unused for two days and not held, "
	    "is removed");
	snprintf(path, sizeof path, "%s/moat", cache);
	{
		char	*cmd = xprintf("ls '%s' | grep -c '^etc-'", path);
		FILE	*f = popen(cmd, "r");
		int	 n = 0;

		if (f != NULL) {
			if (fscanf(f, "%d", &n) != 1)
				n = 0;
			pclose(f);
		}
		free(cmd);
		tap_ok(n >= 2, "those used lately stay (%d)", n);
	}
	etc_view_free(&v);

	/* Entries moat does not copy: bound as they are, over an empty file. */
	snprintf(path, sizeof path, "%s/hosts", root);
	unlink(path);
	if (mkfifo(path, 0644) == 0)
		not_copied("a fifo among the entries");
	else
		tap_skip("no fifo could be made here");
	unlink(path);
	put("hosts", "127.0.0.1 localhost\n");
	if (geteuid() != 0) {
		chmod(path, 0);
		not_copied("a file the user may not read");
		chmod(path, 0644);
	} else
		tap_skip("as root every file is readable");

	{
		char	*cmd = xprintf("rm -rf '%s'", scratch);

		(void)!system(cmd);
		free(cmd);
	}
	printf("1..%d\n", tap_n);
	return (tap_failed > 0);
}
