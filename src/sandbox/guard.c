/* guard.c: protected and hidden paths of a bind workspace kept so for the
 * run's life. Their mounts are made by init at the start; Linux detaches a
 * mount, in every namespace, when a program on the host removes the entry
 * it is on or renames another over it (git config, an editor's save, git
 * clean), and the path then shows the host's new file, writable or
 * readable from inside. The supervisor watches the host directories that
 * hold them (inotify, set up before the clone, so that no change is
 * missed); when one of their names changes, a helper it forks enters the
 * sandbox's user and mount namespaces and mounts on again what lost its
 * mount, making first one of moat's placeholders that went
 * (mounts_guard_one). A file or directory of the user's moved or removed
 * (.git, .git/config) ends the sandbox instead: a placeholder would get in
 * the way of the host's next step. What was done is
 * reported back for the run's record. A program inside that writes in
 * the time between the host's change and the new mount (one or two
 * milliseconds, most of it the helper's fork) is not stopped: the window
 * is narrowed, not closed; a descriptor it opened then and still holds is
 * looked for after each restore (guard_scan), and ends the sandbox.
 * Supervisor. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"
#include "base/util.h"

#define GUARD_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

struct guard_dir {
	char	*path;		/* owned; a host directory */
	int	 wd;		/* -1: not watched (gone) */
};

struct guard_entry {
	size_t	 op;		/* in the plan */
	size_t	 dir;		/* in dirs */
	const char *name;	/* borrowed: the op's dst, after its last '/' */
};

struct guard {
	int			 fd;		/* inotify */
	const struct mount_plan	*plan;		/* borrowed */
	struct guard_entry	*entries;	/* owned */
	size_t			 n;
	struct guard_dir	*dirs;		/* owned */
	size_t			 ndirs;
};

/* Watches every directory again: one replaced since gets a new watch (a
 * watch follows an inode, not a name). -1 with e set when one that is
 * there cannot be watched. */
static int
guard_watch(struct guard *g, struct merr *e)
{
	for (size_t i = 0; i < g->ndirs; i++) {
		int	wd = inotify_add_watch(g->fd, g->dirs[i].path, GUARD_MASK);

		if (wd == -1 && errno != ENOENT && errno != ENOTDIR)
			return (merr_errno(e, "watch %s for changes from the host",
			    g->dirs[i].path));
		/* The old directory's watch goes (its IN_IGNORED asks for one
		 * more look, which finds everything in place). */
		if (g->dirs[i].wd >= 0 && g->dirs[i].wd != wd)
			(void)inotify_rm_watch(g->fd, g->dirs[i].wd);
		g->dirs[i].wd = wd;
	}
	return (0);
}

struct guard *
guard_new(const struct mount_plan *mp, const char *ws, struct merr *e)
{
	struct guard	*g;

	g = xcalloc(1, sizeof *g);
	g->fd = -1;
	g->plan = mp;
	for (size_t i = 0; i < mp->n; i++) {
		const struct mop	*op = &mp->ops[i];
		const char		*slash;
		autofree char		*dir = NULL;
		size_t			 d;

		struct stat		 st;

		if (!mounts_guarded(mp, op, ws) || (slash = strrchr(op->dst, '/')) == NULL)
			continue;
		/* A hidden path that is not there now is not hidden by init
		 * either, and one made later may be the sandbox's own file
		 * (a .env its setup writes): left alone, as before. */
		if (op->kind == MOP_MASK && lstat(op->dst, &st) == -1)
			continue;
		dir = xstrndup(op->dst, (size_t)(slash - op->dst));
		for (d = 0; d < g->ndirs; d++)
			if (strcmp(g->dirs[d].path, dir) == 0)
				break;
		if (d == g->ndirs) {
			g->dirs = xreallocarray(g->dirs, g->ndirs + 1, sizeof *g->dirs);
			g->dirs[g->ndirs].path = TAKE_PTR(dir);
			g->dirs[g->ndirs++].wd = -1;
		}
		g->entries = xreallocarray(g->entries, g->n + 1, sizeof *g->entries);
		g->entries[g->n++] = (struct guard_entry){ i, d, slash + 1 };
	}
	if (g->n == 0) {
		guard_free(g);
		return (NULL);
	}
	if ((g->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		merr_errno(e, "inotify");
		guard_free(g);
		return (NULL);
	}
	if (guard_watch(g, e) == -1) {
		guard_free(g);
		return (NULL);
	}
	return (g);
}

int
guard_fd(const struct guard *g)
{
	return (g->fd);
}

bool
guard_read(struct guard *g)
{
	char	buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool	hit = false;
	ssize_t	n;

	while ((n = read(g->fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n; ) {
			const struct inotify_event	*ev = (const void *)p;

			p += sizeof *ev + ev->len;
			/* Lost events, or a watched directory itself moved
			 * or removed: everything is looked at. */
			if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF |
			    IN_MOVE_SELF | IN_IGNORED)) {
				hit = true;
				continue;
			}
			/* A placeholder appearing is init's, or this guard's
			 * (either mounts on it): removing one is what counts. */
			for (size_t i = 0; i < g->n && ev->len > 0; i++)
				if (g->dirs[g->entries[i].dir].wd == ev->wd &&
				    strcmp(g->entries[i].name, ev->name) == 0 &&
				    !((ev->mask & IN_CREATE) &&
				    g->plan->ops[g->entries[i].op].create))
					hit = true;
		}
	}
	return (hit);
}

/* What the helper sends back for an entry it acted on. */
struct guard_wire {
	int32_t		 entry;		/* -1: the namespaces could not be entered */
	int32_t		 state;		/* enum guard_state */
	int32_t		 err;
	uint32_t	 len;		/* of the path that follows */
	uint64_t	 dev, ino;	/* what was mounted on */
};

static void
guard_write(int fd, const void *p, size_t len)
{
	while (len > 0) {
		ssize_t	n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p = (const char *)p + n;
		len -= (size_t)n;
	}
}

/* The helper: in the sandbox's namespaces, each entry looked at in the
 * plan's order (a directory above protected paths before them). */
static void __attribute__((noreturn))
guard_helper(struct guard *g, int userns, int mntns, int out)
{
	struct guard_wire	w;
	char			at[PATH_MAX];
	int			err;

	if (userns < 0 || mntns < 0 || setns(userns, CLONE_NEWUSER) == -1 ||
	    setns(mntns, CLONE_NEWNS) == -1) {
		w = (struct guard_wire){ -1, GUARD_FAILED, userns < 0 ? EBADF : errno,
		    0, 0, 0 };
		guard_write(out, &w, sizeof w);
		_exit(1);
	}
	for (size_t i = 0; i < g->n; i++) {
		enum guard_state	s;
		struct stat		held = { 0 };

		s = mounts_guard_one(&g->plan->ops[g->entries[i].op], at,
		    sizeof at, &err, &held);
		if (s == GUARD_INTACT)
			continue;
		w = (struct guard_wire){ (int32_t)i, (int32_t)s, err,
		    (uint32_t)strlen(at), (uint64_t)held.st_dev,
		    (uint64_t)held.st_ino };
		guard_write(out, &w, sizeof w);
		guard_write(out, at, w.len);
		/* The sandbox ends: nothing more is made on the host. */
		if (s != GUARD_RESTORED && s != GUARD_PLACED)
			break;
	}
	_exit(0);
}

int
guard_restore(struct guard *g, int userns, int mntns,
    void (*report)(void *, const struct guard_report *), void *arg,
    struct merr *e)
{
	struct guard_wire	 w;
	struct guard_report	 rep;
	char			 at[PATH_MAX];
	int			 p[2], st, rc = 0;
	pid_t			 pid;
	FILE			*f;

	if (pipe2(p, O_CLOEXEC) == -1)
		return (merr_errno(e, "pipe"));
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return (merr_errno(e, "fork"));
	}
	if (pid == 0) {
		close(p[0]);
		guard_helper(g, userns, mntns, p[1]);
	}
	close(p[1]);
	if ((f = fdopen(p[0], "r")) == NULL) {
		close(p[0]);
		rc = merr_errno(e, "fdopen");
	}
	while (f != NULL && fread(&w, sizeof w, 1, f) == 1) {
		if (w.len >= sizeof at || fread(at, 1, w.len, f) != w.len)
			break;
		at[w.len] = '\0';
		if (w.entry < 0 || (size_t)w.entry >= g->n) {
			rc = merr_errno_n(e, w.err, "could not enter the sandbox's "
			    "namespaces to put its protected paths back");
			continue;
		}
		rep.op = &g->plan->ops[g->entries[w.entry].op];
		rep.state = (enum guard_state)w.state;
		rep.err = w.err;
		rep.path = at;
		rep.dev = (dev_t)w.dev;
		rep.ino = (ino_t)w.ino;
		report(arg, &rep);
	}
	if (f != NULL)
		fclose(f);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (rc == 0 && guard_watch(g, e) == -1)
		rc = -1;
	return (rc);
}

/*
 * A descriptor opened in the window before a path was mounted on again
 * (or a shared writable mapping made through one) outlives the new mount:
 * the sandbox's processes are looked through for one on a file put back.
 * Processes of the sandbox: those in its pid namespace (pidns, the inode
 * of init's); moat can read their /proc entries (the same user's, and
 * dumpable), not init's (which holds none).
 */
static bool
guard_fd_mode_hit(const char *pid, const char *fd, bool any)
{
	char		 p[600], line[128];
	unsigned long	 flags = 0;
	bool		 hit = false;
	FILE		*f;

	snprintf(p, sizeof p, "/proc/%s/fdinfo/%s", pid, fd);
	if ((f = fopen(p, "re")) == NULL)
		return (false);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "flags: %lo", &flags) == 1) {
			hit = !(flags & O_PATH) && (any ||
			    (flags & O_ACCMODE) != O_RDONLY);
			break;
		}
	fclose(f);
	return (hit);
}

/* pid's mappings, read once: the index in h of a file one maps as h
 * says, or -1. */
static ssize_t
guard_maps_hit(const char *pid, const struct guard_held *h, size_t n)
{
	char		 p[300], line[512], perms[8];
	unsigned	 maj, min;
	unsigned long	 ino;
	ssize_t		 hit = -1;
	FILE		*f;

	snprintf(p, sizeof p, "/proc/%s/maps", pid);
	if ((f = fopen(p, "re")) == NULL)
		return (-1);
	while (hit == -1 && fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%*s %7s %*s %x:%x %lu", perms, &maj, &min, &ino) != 4)
			continue;
		for (size_t i = 0; i < n && hit == -1; i++)
			if (ino == h[i].ino && makedev(maj, min) == h[i].dev &&
			    (h[i].any || (perms[1] == 'w' && perms[3] == 's')))
				hit = (ssize_t)i;
	}
	fclose(f);
	return (hit);
}

int
guard_scan(ino_t pidns, const struct guard_held *h, size_t n, pid_t *who,
    size_t *which)
{
	struct dirent	*de, *fe;
	DIR		*d, *fd;
	char		 p[600];
	struct stat	 st;

	if (n == 0 || (d = opendir("/proc")) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/ns/pid", de->d_name);
		if (stat(p, &st) == -1 || st.st_ino != pidns)
			continue;
		snprintf(p, sizeof p, "/proc/%s/fd", de->d_name);
		if ((fd = opendir(p)) != NULL) {
			while ((fe = readdir(fd)) != NULL) {
				if (fe->d_name[0] == '.')
					continue;
				snprintf(p, sizeof p, "/proc/%s/fd/%s", de->d_name,
				    fe->d_name);
				if (stat(p, &st) == -1)
					continue;
				for (size_t i = 0; i < n; i++)
					if (st.st_dev == h[i].dev && st.st_ino == h[i].ino &&
					    guard_fd_mode_hit(de->d_name, fe->d_name,
					    h[i].any)) {
						*who = (pid_t)atoi(de->d_name);
						*which = i;
						closedir(fd);
						closedir(d);
						return (1);
					}
			}
			closedir(fd);
		}
		{
			ssize_t	i = guard_maps_hit(de->d_name, h, n);

			if (i >= 0) {
				*who = (pid_t)atoi(de->d_name);
				*which = (size_t)i;
				closedir(d);
				return (1);
			}
		}
	}
	closedir(d);
	return (0);
}

/*
 * Closing an inotify instance that has watches waits for the kernel to free
 * them (an SRCU grace period: 8 to 24 ms on the machine of bench/), and
 * moat's exit would wait so too. The last reference goes to a /bin/true
 * that nobody waits for (its exit frees them): it gets this descriptor
 * alone (a pipe it held would delay a reader's end of file), and moat
 * closes its own copy once true is exec'd. A one-shot moat has exited by the
 * time true does, and whoever reaps orphans reaps it; a later close in the
 * same process reaps the one before. Where true cannot be started, the
 * close is moat's own.
 */
static pid_t	guard_closer = -1;

static void
guard_close(int fd)
{
	static char *const	 argv[] = { "true", NULL }, *const envp[] = { NULL };
	pid_t			 pid;

	if (guard_closer > 0)
		(void)waitpid(guard_closer, NULL, WNOHANG);
	guard_closer = -1;
	/* vfork: nothing copied, and moat goes on once true is exec'd. */
	if ((pid = vfork()) == 0) {
		if (fd != 3 ? dup2(fd, 3) == -1 : fcntl(3, F_SETFD, 0) == -1)
			_exit(127);
		syscall(SYS_close_range, 0U, 2U, 0U);
		syscall(SYS_close_range, 4U, ~0U, 0U);
		execve("/bin/true", argv, envp);
		execve("/usr/bin/true", argv, envp);
		_exit(127);
	}
	if (pid > 0)
		guard_closer = pid;
	close(fd);
}

void
guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	if (g->fd >= 0)
		guard_close(g->fd);
	for (size_t i = 0; i < g->ndirs; i++)
		free(g->dirs[i].path);
	free(g->dirs);
	free(g->entries);
	free(g);
}
