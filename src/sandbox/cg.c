/* cg.c: the run's cgroup. Runs in the supervisor: detects the layout from
 * /proc/self/mountinfo and /proc/self/cgroup, creates <base>/moat/<run-id>
 * (v2: one group, controllers enabled on the way down; v1: one group in each
 * of the memory, pids, cpu, cpuacct and blkio hierarchies), writes the
 * limits, attaches the sandbox init, reads counters and end reasons, and
 * removes the group at the end. Groups are nested under the supervisor's own
 * cgroup (or its nearest writable ancestor) so that whatever limits the user
 * is already under still hold for the sandbox. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cg.h"
#include "base/util.h"

#define CG_PERIOD_US	100000
#define CG_MAXDIRS	6	/* one per v1 hierarchy of cg_v1_ctls */

/* One directory of the run's group: on v2 the only one, on v1 one per
 * hierarchy (cpu and cpuacct share one when co-mounted). */
struct cg_dir {
	unsigned	 ctl;		/* CG_CTL_* this directory serves */
	char		*path;		/* owned */
	int		 fd;
};

struct cg {
	enum cg_mode	 mode;
	struct cg_dir	 dirs[CG_MAXDIRS];
	size_t		 ndirs;
	unsigned	 ctl;		/* controllers the group got */
	double		 cpus;		/* enforced quota in cores, 0 = none */
	char		 desc[512];
	/* v2, a session's group (CG_SESSION): the leaf its init lives in,
	 * so that the group holds no process and can hand controllers down
	 * to its commands' groups, which get child_ctl. -1: none. */
	int		 initfd;
	unsigned	 child_ctl;
};

/* The leaf a session's init lives in, beside its commands' groups. */
#define CG_INIT_LEAF	"init"


/* A cgroup mount from mountinfo. */
struct cg_mnt {
	char	*root;		/* owned: the mount's root inside the hierarchy */
	char	*dir;		/* owned: where it is mounted */
	char	*opts;		/* owned: super options ("rw,memory") */
	bool	 v2;
};

struct cg_layout {
	struct cg_mnt	*m;	/* owned */
	size_t		 n;
	char		*self;	/* owned: /proc/self/cgroup text */
};

static const struct {
	unsigned	 ctl;
	const char	*name;
} cg_v1_ctls[] = {
	{ CG_CTL_MEMORY, "memory" },
	{ CG_CTL_PIDS, "pids" },
	{ CG_CTL_CPU, "cpu" },
	{ CG_CTL_CPUACCT, "cpuacct" },
	{ CG_CTL_IO, "blkio" },
	{ CG_CTL_FREEZER, "freezer" },	/* only when asked for (extra) */
};

static const struct {
	unsigned	 ctl;
	const char	*name;
} cg_v2_ctls[] = {
	{ CG_CTL_MEMORY, "memory" },
	{ CG_CTL_PIDS, "pids" },
	{ CG_CTL_CPU, "cpu" },
	{ CG_CTL_IO, "io" },
};

/* ---- parsing (pure, unit-tested) ---- */

/* "key value" lines (cpu.stat, memory.events, pids.events, oom_control). */
int
cg_parse_keyed(const char *text, const char *key, uint64_t *v)
{
	size_t		 kl = strlen(key);
	const char	*p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && (p[kl] == ' ' || p[kl] == '\t')) {
			char	*end;

			errno = 0;
			*v = strtoull(p + kl + 1, &end, 10);
			if (errno != 0 || end == p + kl + 1)
				return (-1);
			return (0);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return (-1);
}

/* blkio.throttle.io_service_bytes: "8:0 Read 123" ... "Total 456". An
 * empty file is a valid "nothing yet" on an idle group. */
int
cg_parse_io_v1(const char *text, uint64_t *rd, uint64_t *wr)
{
	const char		*p = text;
	char			 dev[32], op[16];
	unsigned long long	 v;

	*rd = *wr = 0;
	while (p != NULL && *p != '\0') {
		if (sscanf(p, "%31s %15s %llu", dev, op, &v) == 3) {
			if (strcmp(op, "Read") == 0)
				*rd += v;
			else if (strcmp(op, "Write") == 0)
				*wr += v;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return (0);
}

/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 ..." per device. */
int
cg_parse_io_v2(const char *text, uint64_t *rd, uint64_t *wr)
{
	const char	*p = text, *q, *eol;

	*rd = *wr = 0;
	while (p != NULL && *p != '\0') {
		eol = strchr(p, '\n');
		for (q = p; q != NULL && (eol == NULL || q < eol);
		    q = strchr(q + 1, ' ')) {
			const char	*f = *q == ' ' ? q + 1 : q;

			if (strncmp(f, "rbytes=", 7) == 0)
				*rd += strtoull(f + 7, NULL, 10);
			else if (strncmp(f, "wbytes=", 7) == 0)
				*wr += strtoull(f + 7, NULL, 10);
		}
		p = eol == NULL ? NULL : eol + 1;
	}
	return (0);
}

/* /proc/self/cgroup: "4:memory:/a/b", "2:cpu,cpuacct:/", "0::/x". */
char *
cg_parse_self(const char *text, const char *ctl)
{
	const char	*p = text;

	while (p != NULL && *p != '\0') {
		const char	*c1 = strchr(p, ':'), *c2, *eol;

		eol = strchr(p, '\n');
		if (c1 == NULL || (eol != NULL && c1 > eol))
			goto next;
		c2 = strchr(c1 + 1, ':');
		if (c2 == NULL || (eol != NULL && c2 > eol))
			goto next;
		if (*ctl == '\0') {
			if (c2 == c1 + 1 && strncmp(p, "0:", 2) == 0)
				goto found;
		} else {
			const char	*s = c1 + 1;
			size_t		 cl = strlen(ctl);

			while (s < c2) {
				const char	*e = memchr(s, ',', (size_t)(c2 - s));

				if (e == NULL)
					e = c2;
				if ((size_t)(e - s) == cl && strncmp(s, ctl, cl) == 0)
					goto found;
				s = e + 1;
			}
		}
	next:
		p = eol == NULL ? NULL : eol + 1;
		continue;
	found:
		return (xstrndup(c2 + 1, eol == NULL ? strlen(c2 + 1) :
		    (size_t)(eol - c2 - 1)));
	}
	return (NULL);
}

/* ---- layout ---- */

static char *
cg_unescape(const char *s)
{
	char	*o = xmalloc(strlen(s) + 1), *d = o;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else
			*d++ = *s++;
	}
	*d = '\0';
	return (o);
}

static void
cg_layout_free(struct cg_layout *lo)
{
	size_t	i;

	for (i = 0; i < lo->n; i++) {
		free(lo->m[i].root);
		free(lo->m[i].dir);
		free(lo->m[i].opts);
	}
	free(lo->m);
	free(lo->self);
	memset(lo, 0, sizeof *lo);
}

static int
cg_layout_read(struct cg_layout *lo, struct merr *e)
{
	autofree char	*mi = NULL;
	char		*line, *save = NULL;

	memset(lo, 0, sizeof *lo);
	if (read_file("/proc/self/mountinfo", &mi, NULL, e) == -1 ||
	    read_file("/proc/self/cgroup", &lo->self, NULL, e) == -1)
		return (-1);
	for (line = strtok_r(mi, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char	*f[6], *dash, *fs, *src, *sopts, *sp = NULL;
		int	 i;

		if ((dash = strstr(line, " - ")) == NULL)
			continue;
		*dash = '\0';
		f[0] = strtok_r(line, " ", &sp);
		for (i = 1; i < 6 && f[i - 1] != NULL; i++)
			f[i] = strtok_r(NULL, " ", &sp);
		if (f[0] == NULL || f[4] == NULL)
			continue;
		sp = NULL;
		fs = strtok_r(dash + 3, " ", &sp);
		src = strtok_r(NULL, " ", &sp);
		sopts = strtok_r(NULL, " ", &sp);
		if (fs == NULL || src == NULL || sopts == NULL)
			continue;
		if (strcmp(fs, "cgroup") != 0 && strcmp(fs, "cgroup2") != 0)
			continue;
		lo->m = xreallocarray(lo->m, lo->n + 1, sizeof *lo->m);
		lo->m[lo->n].root = cg_unescape(f[3]);
		lo->m[lo->n].dir = cg_unescape(f[4]);
		lo->m[lo->n].opts = xstrdup(sopts);
		lo->m[lo->n].v2 = strcmp(fs, "cgroup2") == 0;
		lo->n++;
	}
	return (0);
}

struct cg_host {
	struct cg_layout	lo;
	int			rc;	/* 1: not read yet; 0 read; -1 failed */
	struct merr		err;
};

struct cg_host *
cg_host_new(void)
{
	struct cg_host	*h = xcalloc(1, sizeof *h);

	h->rc = 1;
	return (h);
}

void
cg_host_free(struct cg_host *h)
{
	if (h == NULL)
		return;
	if (h->rc == 0)
		cg_layout_free(&h->lo);
	free(h);
}

/* h's layout, read now if it was not yet; NULL with e set when it could
 * not be (then and at every later call). */
static const struct cg_layout *
cg_host_layout(struct cg_host *h, struct merr *e)
{
	if (h->rc == 1)
		h->rc = cg_layout_read(&h->lo, &h->err);
	if (h->rc == -1) {
		*e = h->err;
		return (NULL);
	}
	return (&h->lo);
}

static bool
cg_has_opt(const char *opts, const char *o)
{
	size_t		 ol = strlen(o);
	const char	*p = opts;

	while (p != NULL) {
		if (strncmp(p, o, ol) == 0 && (p[ol] == ',' || p[ol] == '\0'))
			return (true);
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return (false);
}

/* The host directory of the current cgroup in mount m, or NULL. */
static char *
cg_self_dir(const struct cg_layout *lo, const struct cg_mnt *m,
    const char *ctl)
{
	autofree char	*self = cg_parse_self(lo->self, ctl);
	const char	*rel;
	size_t		 rl;

	if (self == NULL)
		return (NULL);
	rel = self;
	rl = strlen(m->root);
	/* Inside a cgroup namespace the mount root and our path agree; when
	 * our path lies outside the mount, the mount's own root is the best
	 * writable guess. */
	if (strcmp(m->root, "/") != 0) {
		if (strncmp(self, m->root, rl) == 0 &&
		    (self[rl] == '/' || self[rl] == '\0'))
			rel = self + rl;
		else
			rel = "";
	}
	if (*rel == '\0' || strcmp(rel, "/") == 0)
		return (xstrdup(m->dir));
	return (path_join(m->dir, rel));
}

static const struct cg_mnt *
cg_find_v1(const struct cg_layout *lo, const char *ctl)
{
	size_t	i;

	for (i = 0; i < lo->n; i++)
		if (!lo->m[i].v2 && cg_has_opt(lo->m[i].opts, ctl))
			return (&lo->m[i]);
	return (NULL);
}

static const struct cg_mnt *
cg_find_v2(const struct cg_layout *lo)
{
	size_t	i;

	/* Prefer /sys/fs/cgroup (pure v2) over a second mount of the same
	 * hierarchy a test or tool made elsewhere. */
	for (i = 0; i < lo->n; i++)
		if (lo->m[i].v2 && strncmp(lo->m[i].dir, "/sys/fs/cgroup", 14) == 0)
			return (&lo->m[i]);
	for (i = 0; i < lo->n; i++)
		if (lo->m[i].v2)
			return (&lo->m[i]);
	return (NULL);
}

/* ---- small file helpers on a group directory ---- */

static int
cg_read_at(int dfd, const char *name, char *buf, size_t len)
{
	autofd int	fd = -1;
	ssize_t		n;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if ((n = read(fd, buf, len - 1)) < 0)
		return (-1);
	buf[n] = '\0';
	return (0);
}

static int
cg_read_u64(int dfd, const char *name, uint64_t *v)
{
	char	buf[64], *end;

	if (cg_read_at(dfd, name, buf, sizeof buf) == -1)
		return (-1);
	if (strncmp(buf, "max", 3) == 0) {
		*v = UINT64_MAX;
		return (0);
	}
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return (errno != 0 || end == buf ? -1 : 0);
}

static int
cg_write(int dfd, const char *dpath, const char *name, struct merr *e,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
cg_write(int dfd, const char *dpath, const char *name, struct merr *e,
    const char *fmt, ...)
{
	autofd int	 fd = -1;
	autofree char	*full = NULL;
	char		 buf[128];
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* AT_FDCWD: no directory fd yet, dpath is the absolute directory. */
	if (dfd == AT_FDCWD)
		full = path_join(dpath, name);
	if ((fd = openat(dfd, full != NULL ? full : name,
	    O_WRONLY | O_CLOEXEC)) == -1)
		return (merr_errno(e, "open %s/%s", dpath, name));
	if (write(fd, buf, (size_t)n) != n)	/* EBUSY, EINVAL, EACCES */
		return (merr_errno(e, "write \"%.*s\" to %s/%s",
		    n > 0 && buf[n - 1] == '\n' ? n - 1 : n, buf, dpath, name));
	return (0);
}

static bool
cg_writable(const char *dir)
{
	autofree char	*procs = path_join(dir, "cgroup.procs");

	return (access(dir, W_OK | X_OK) == 0 && access(procs, W_OK) == 0);
}

static void
cg_fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b >= (1ULL << 30) && b % (1ULL << 30) == 0)
		snprintf(buf, len, "%" PRIu64 "G", b >> 30);
	else if (b >= (1ULL << 20) && b % (1ULL << 20) == 0)
		snprintf(buf, len, "%" PRIu64 "M", b >> 20);
	else if (b >= 1024 && b % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "K", b >> 10);
	else
		snprintf(buf, len, "%" PRIu64, b);
}

static const char *
cg_env_mode(void)
{
	const char	*s = getenv("MOAT_CGROUP");

	if (s == NULL || *s == '\0')
		return ("auto");
	return (s);
}

/* ---- creation ---- */

static struct cg_dir *
cg_dir_for(struct cg *cg, unsigned ctl)
{
	size_t	i;

	for (i = 0; i < cg->ndirs; i++)
		if (cg->dirs[i].ctl & ctl)
			return (&cg->dirs[i]);
	return (NULL);
}

static int
cg_add_dir(struct cg *cg, unsigned ctl, const char *path, struct merr *e)
{
	struct cg_dir	*d;
	size_t		 i;

	for (i = 0; i < cg->ndirs; i++)
		if (strcmp(cg->dirs[i].path, path) == 0) {
			cg->dirs[i].ctl |= ctl;
			return (0);
		}
	if (mkdir(path, 0755) == -1)
		return (merr_errno(e, "mkdir %s", path));
	if (cg->ndirs >= CG_MAXDIRS)
		return (merr_set(e, "cgroup %s: more hierarchies than moat keeps", path));
	d = &cg->dirs[cg->ndirs];
	if ((d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		merr_errno(e, "open %s", path);
		rmdir(path);
		return (-1);
	}
	d->path = xstrdup(path);
	d->ctl = ctl;
	cg->ndirs++;
	return (0);
}

/* v1: a group in each hierarchy we can write. Controllers that are not
 * mounted or not writable are left out; the caller checks what it needs. */
static int
cg_create_v1(struct cg *cg, const struct cg_layout *lo, const char *id,
    unsigned want, unsigned extra, char *why, size_t whylen, struct merr *e)
{
	size_t	i;
	bool	any_mounted = false;

	for (i = 0; i < nitems(cg_v1_ctls); i++) {
		const struct cg_mnt	*m = cg_find_v1(lo, cg_v1_ctls[i].name);
		autofree char		*self = NULL, *base = NULL, *dir = NULL;

		if (m == NULL || (cg_v1_ctls[i].ctl == CG_CTL_FREEZER &&
		    !(extra & CG_CTL_FREEZER)))
			continue;
		/* cpu alone (not mounted with cpuacct) holds only a quota:
		 * without one its group would count nothing cpuacct does
		 * not, and cost a mkdir and an rmdir, for the run and for
		 * each command of a session. */
		if (cg_v1_ctls[i].ctl == CG_CTL_CPU && !(want & CG_CTL_CPU) &&
		    m != cg_find_v1(lo, "cpuacct"))
			continue;
		any_mounted = true;
		if ((self = cg_self_dir(lo, m, cg_v1_ctls[i].name)) == NULL)
			continue;
		base = path_join(self, "moat");
		if (mkdir(base, 0755) == -1 && errno != EEXIST)
			continue;
		if (!cg_writable(base))
			continue;
		dir = path_join(base, id);
		if (cg_add_dir(cg, cg_v1_ctls[i].ctl, dir, e) == -1)
			return (-1);
		cg->ctl |= cg_v1_ctls[i].ctl;
	}
	if (cg->ndirs == 0) {
		snprintf(why, whylen, any_mounted ?
		    "no writable cgroup v1 hierarchy (%s)" :
		    "no cgroup v1 controllers mounted",
		    getuid() == 0 ? "read-only cgroupfs?" : "unprivileged on cgroup v1");
		return (1);
	}
	cg->mode = CG_V1;
	return (0);
}

/* The CG_CTL_* named in a v2 group's file (cgroup.controllers: what its
 * children could get; cgroup.subtree_control: what they have). */
static unsigned
cg_v2_mask(const char *dir, const char *name)
{
	autofree char	*f = path_join(dir, name);
	autofree char	*t = NULL, *sp = NULL;
	struct merr	 e;
	unsigned	 mask = 0;
	size_t		 i;

	if (read_file(f, &t, NULL, &e) == -1)
		return (0);
	sp = xprintf(" %.*s ", (int)strcspn(t, "\n"), t);
	for (i = 0; i < nitems(cg_v2_ctls); i++) {
		autofree char	*w = xprintf(" %s ", cg_v2_ctls[i].name);

		if (strstr(sp, w) != NULL)
			mask |= cg_v2_ctls[i].ctl;
	}
	return (mask);
}

/* v2: switches the wanted controllers on in dir's subtree_control, one at
 * a time so that one refusal (EBUSY: processes in dir) does not lose all.
 * Returns what dir's children can use afterwards. */
static unsigned
cg_v2_enable(const char *dir, unsigned want)
{
	unsigned	avail = cg_v2_mask(dir, "cgroup.controllers");
	unsigned	on = cg_v2_mask(dir, "cgroup.subtree_control");
	struct merr	e;
	size_t		i;

	for (i = 0; i < nitems(cg_v2_ctls); i++) {
		unsigned	c = cg_v2_ctls[i].ctl;

		if (!(want & c) || !(avail & c) || (on & c))
			continue;
		if (cg_write(AT_FDCWD, dir, "cgroup.subtree_control", &e,
		    "+%s", cg_v2_ctls[i].name) == 0)
			on |= c;
	}
	return (on & want);
}

/* True when the only process in dir is us. */
static bool
cg_v2_only_us(const char *dir)
{
	autofree char	*f = path_join(dir, "cgroup.procs");
	autofree char	*t = NULL;
	struct merr	 e;
	char		*p, *end;

	if (read_file(f, &t, NULL, &e) == -1)
		return (false);
	for (p = t; *p != '\0'; p = end) {
		long	pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid != (long)getpid())
			return (false);
		while (*end == '\n')
			end++;
	}
	return (true);
}

static int
cg_create_v2(struct cg *cg, const struct cg_layout *lo, const char *id,
    unsigned want, char *why, size_t whylen, struct merr *e)
{
	const struct cg_mnt	*m = cg_find_v2(lo);
	autofree char		*self = NULL;
	char			*a, *first = NULL;
	unsigned		 got;
	bool			 fallback = false;

	if (m == NULL) {
		snprintf(why, whylen, "no cgroup v2 mount");
		return (1);
	}
	if ((self = cg_self_dir(lo, m, "")) == NULL) {
		snprintf(why, whylen, "not in a cgroup v2 group");
		return (1);
	}
	/* From our own group up to the mount: the first writable one that can
	 * take the controllers. Moving the sandbox from our group into
	 * A/moat/<id> needs write access to the common ancestor A, which is
	 * why A is the writable ancestor (user@UID.service when delegated by
	 * systemd) rather than any writable descendant. */
	a = xstrdup(self);
	for (;;) {
		autofree char	*base = NULL, *dir = NULL;
		char		*slash;

		if (cg_writable(a)) {
			if (getuid() == 0 && strcmp(a, m->dir) != 0) {
				/* Root may switch controllers on along the
				 * way down from the top. */
				char	*s = a + strlen(m->dir);

				(void)cg_v2_enable(m->dir, want);
				while ((s = strchr(s + 1, '/')) != NULL) {
					autofree char	*p = xstrndup(a,
					    (size_t)(s - a));

					(void)cg_v2_enable(p, want);
				}
			}
			got = cg_v2_enable(a, want);
			if ((got & want) != (want & cg_v2_mask(a, "cgroup.controllers")) &&
			    strcmp(a, self) == 0 && cg_v2_only_us(a)) {
				/* Our own group is not a leaf-able parent
				 * while we sit in it ("no internal
				 * processes"): move into a leaf of our own. */
				autofree char	*leaf = xprintf("%s/moat-supervisor-%ld",
				    a, (long)getpid());
				struct merr	 e2;

				if ((mkdir(leaf, 0755) == 0 || errno == EEXIST) &&
				    cg_write(AT_FDCWD, leaf, "cgroup.procs", &e2,
				    "%ld", (long)getpid()) == 0)
					got = cg_v2_enable(a, want);
			}
			/* Controllers refused here (EBUSY: processes live in
			 * a) may be had further up: try the parent first and
			 * come back to the first writable group otherwise. */
			if (got != (want & cg_v2_mask(a, "cgroup.controllers")) &&
			    !fallback && first == NULL && strcmp(a, m->dir) != 0) {
				first = xstrdup(a);
				goto up;
			}
			base = path_join(a, "moat");
			if (mkdir(base, 0755) == 0 || errno == EEXIST) {
				got = cg_v2_enable(base, got);
				dir = path_join(base, id);
				if (cg_add_dir(cg, got, dir, e) == -1) {
					free(a);
					return (-1);
				}
				cg->ctl = got;
				cg->mode = CG_V2;
				free(a);
				free(first);
				return (0);
			}
		}
	up:
		if (strcmp(a, m->dir) == 0 || (slash = strrchr(a, '/')) == NULL ||
		    slash == a) {
			if (first == NULL)
				break;
			/* Nothing better above: the first writable group,
			 * with what it could get. */
			free(a);
			a = TAKE_PTR(first);
			fallback = true;
			continue;
		}
		*slash = '\0';
	}
	free(a);
	free(first);
	snprintf(why, whylen, "no writable cgroup v2 subtree%s",
	    getuid() == 0 ? "" : " delegated to this user");
	return (1);
}

static void
cg_cat(char *buf, size_t len, const char *s)
{
	size_t	n = strlen(buf);

	snprintf(buf + n, len - n, "%s", s);
}

/* Writes the limits the group can take; records what could not be
 * enforced in miss (controller names) for the description. */
static int
cg_apply(struct cg *cg, const struct limits *l, char *miss, size_t misslen,
    struct merr *e)
{
	struct cg_dir	*d;

	*miss = '\0';
	if (l->memory != 0 || l->memory_swap != 0) {
		if ((d = cg_dir_for(cg, CG_CTL_MEMORY)) == NULL)
			cg_cat(miss, misslen, " memory");
		else if (cg->mode == CG_V2) {
			uint64_t	mem = l->memory != 0 ? l->memory : l->memory_swap;

			if (cg_write(d->fd, d->path, "memory.max", e, "%" PRIu64,
			    mem) == -1)
				return (-1);
			/* memory_swap is memory + swap (as v1 memsw); v2 limits
			 * swap alone. A host without swap has no swap.max. */
			if (l->memory_swap != 0 &&
			    faccessat(d->fd, "memory.swap.max", W_OK, 0) == 0 &&
			    cg_write(d->fd, d->path, "memory.swap.max", e,
			    "%" PRIu64, l->memory_swap > mem ?
			    l->memory_swap - mem : 0) == -1)
				return (-1);
		} else {
			uint64_t	mem = l->memory != 0 ? l->memory : l->memory_swap;

			if (cg_write(d->fd, d->path, "memory.limit_in_bytes", e,
			    "%" PRIu64, mem) == -1)
				return (-1);
			if (l->memory_swap != 0 &&
			    faccessat(d->fd, "memory.memsw.limit_in_bytes", W_OK,
			    0) == 0 &&
			    cg_write(d->fd, d->path, "memory.memsw.limit_in_bytes",
			    e, "%" PRIu64, l->memory_swap > mem ? l->memory_swap :
			    mem) == -1)
				return (-1);
		}
	}
	if (l->nproc != 0) {
		if ((d = cg_dir_for(cg, CG_CTL_PIDS)) == NULL)
			cg_cat(miss, misslen, " pids");
		else if (cg_write(d->fd, d->path, "pids.max", e, "%" PRIu64,
		    l->nproc) == -1)
			return (-1);
	}
	if (l->cpus > 0) {
		long long	quota = llround(l->cpus * CG_PERIOD_US);

		if (quota < 1000)	/* the kernel's minimum */
			quota = 1000;
		if ((d = cg_dir_for(cg, CG_CTL_CPU)) == NULL)
			cg_cat(miss, misslen, " cpu");
		else if (cg->mode == CG_V2) {
			if (cg_write(d->fd, d->path, "cpu.max", e, "%lld %d",
			    quota, CG_PERIOD_US) == -1)
				return (-1);
			cg->cpus = (double)quota / CG_PERIOD_US;
		} else {
			if (cg_write(d->fd, d->path, "cpu.cfs_period_us", e, "%d",
			    CG_PERIOD_US) == -1 ||
			    cg_write(d->fd, d->path, "cpu.cfs_quota_us", e, "%lld",
			    quota) == -1)
				return (-1);
			cg->cpus = (double)quota / CG_PERIOD_US;
		}
	}
	return (0);
}

static void
cg_describe_fill(struct cg *cg, const struct limits *l, const char *miss)
{
	char	*p = cg->desc, b[32];
	size_t	 len = sizeof cg->desc;
	int	 n, lim = 0;

#define ADD(...) do {							\
	n = snprintf(p, len, __VA_ARGS__);				\
	if (n > 0 && (size_t)n < len) { p += n; len -= (size_t)n; }	\
} while (0)
	ADD("cgroup %s:", cg->mode == CG_V2 ? "v2" : "v1");
	if ((l->memory != 0 || l->memory_swap != 0) && cg_dir_for(cg, CG_CTL_MEMORY)) {
		cg_fmt_bytes(b, sizeof b, l->memory != 0 ? l->memory : l->memory_swap);
		ADD(" memory %s", b);
		if (l->memory_swap != 0) {
			cg_fmt_bytes(b, sizeof b, l->memory_swap);
			ADD(" (+swap %s)", b);
		}
		lim++;
	}
	if (l->nproc != 0 && cg_dir_for(cg, CG_CTL_PIDS)) {
		ADD("%s pids %" PRIu64, lim++ ? "," : "", l->nproc);
	}
	if (cg->cpus > 0)
		ADD("%s cpu %.2f", lim++ ? "," : "", cg->cpus);
	if (lim == 0)
		ADD(" accounting only");
	if (*miss != '\0')
		ADD("; not enforced by cgroup (no controller):%s", miss);
	if (cg->ctl != 0)
		ADD(" [%s%s%s%s%s]",
		    cg->ctl & CG_CTL_MEMORY ? "memory " : "",
		    cg->ctl & CG_CTL_PIDS ? "pids " : "",
		    cg->ctl & CG_CTL_CPU ? "cpu " : "",
		    cg->ctl & CG_CTL_CPUACCT ? "cpuacct " : "",
		    cg->ctl & CG_CTL_IO ? (cg->mode == CG_V2 ? "io" : "blkio") : "");
#undef ADD
	/* Trim "[memory ]" to "[memory]". */
	if ((p = strstr(cg->desc, " ]")) != NULL)
		memmove(p, p + 1, strlen(p + 1) + 1);
}

static void
cg_free_dirs(struct cg *cg, bool remove)
{
	size_t	i;

	if (cg->initfd >= 0) {
		close(cg->initfd);
		cg->initfd = -1;
		if (remove)
			(void)unlinkat(cg->dirs[0].fd, CG_INIT_LEAF, AT_REMOVEDIR);
	}
	for (i = 0; i < cg->ndirs; i++) {
		if (cg->dirs[i].fd != -1)
			close(cg->dirs[i].fd);
		if (remove)
			rmdir(cg->dirs[i].path);
		free(cg->dirs[i].path);
	}
	cg->ndirs = 0;
}

/* v2, a session: init goes into a leaf of the session's group, and the
 * group, holding no process then ("no internal processes"), switches on
 * for its children the controllers it has itself. The session's limits
 * stay on the group and hold init and every command together. Where the
 * leaf cannot be made, init lives in the group as before and commands get
 * no group of their own. */
static void
cg_session_leaf(struct cg *cg)
{
	struct cg_dir	*d = &cg->dirs[0];

	if (mkdirat(d->fd, CG_INIT_LEAF, 0755) == -1 && errno != EEXIST)
		return;
	if ((cg->initfd = openat(d->fd, CG_INIT_LEAF, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		(void)unlinkat(d->fd, CG_INIT_LEAF, AT_REMOVEDIR);
		return;
	}
	cg->child_ctl = cg_v2_enable(d->path, cg->ctl);
}

static unsigned
cg_wanted(const struct limits *l)
{
	unsigned	w = CG_CTL_MEMORY | CG_CTL_PIDS | CG_CTL_IO;

	/* Memory, pids and io are always wanted for their counters; cpu only
	 * costs something (the bandwidth controller) when there is a quota,
	 * and v2 reports usage without it. */
	if (l->cpus > 0)
		w |= CG_CTL_CPU;
	return (w);
}

struct cg *
cg_create(const char *run_id, const struct limits *l, struct merr *e)
{
	return (cg_create_ex(run_id, l, 0, e));
}

struct cg *
cg_create_ex(const char *run_id, const struct limits *l, unsigned extra,
    struct merr *e)
{
	struct cg_host	*h = cg_host_new();
	struct cg	*cg = cg_create_on(h, run_id, l, extra, e);

	cg_host_free(h);
	return (cg);
}

struct cg *
cg_create_on(struct cg_host *h, const char *run_id, const struct limits *l,
    unsigned extra, struct merr *e)
{
	struct cg		*cg = xcalloc(1, sizeof *cg);
	const struct cg_layout	*lo;
	const char		*mode = cg_env_mode();
	char			 why1[160] = "", why2[160] = "", miss[64];
	bool			 v1ctl, v2ctl;
	int			 r = 1;
	unsigned		 want = cg_wanted(l);

	cg->mode = CG_NONE;
	cg->initfd = -1;
	if (strcmp(mode, "none") == 0) {
		snprintf(why1, sizeof why1, "cgroups disabled (MOAT_CGROUP=none)");
		goto none;
	}
	if ((lo = cg_host_layout(h, e)) == NULL) {
		free(cg);
		return (NULL);
	}
	/* Where the controllers live decides: on a hybrid host the v2 mount
	 * has none (they are bound to v1), on a pure v2 host v1 is absent. */
	v1ctl = cg_find_v1(lo, "memory") != NULL || cg_find_v1(lo, "pids") != NULL;
	v2ctl = cg_find_v2(lo) != NULL &&
	    cg_v2_mask(cg_find_v2(lo)->dir, "cgroup.controllers") != 0;
	if (strcmp(mode, "v2") == 0)
		r = cg_create_v2(cg, lo, run_id, want, why1, sizeof why1, e);
	else if (strcmp(mode, "v1") == 0)
		r = cg_create_v1(cg, lo, run_id, want, extra, why1, sizeof why1, e);
	else if (v2ctl || !v1ctl) {
		r = cg_create_v2(cg, lo, run_id, want, why1, sizeof why1, e);
		if (r == 1 && v1ctl)
			r = cg_create_v1(cg, lo, run_id, want, extra, why2, sizeof why2, e);
	} else {
		r = cg_create_v1(cg, lo, run_id, want, extra, why1, sizeof why1, e);
		/* Hybrid: an empty v2 group still counts CPU and can kill. */
		if (r == 1 && cg_find_v2(lo) != NULL)
			r = cg_create_v2(cg, lo, run_id, want, why2,
			    sizeof why2, e);
	}
	if (r == -1) {
		cg_free_dirs(cg, true);
		free(cg);
		return (NULL);
	}
	if (r == 1)
		goto none;
	if (cg_apply(cg, l, miss, sizeof miss, e) == -1) {
		merr_prefix(e, "cgroup limits");
		cg_free_dirs(cg, true);
		free(cg);
		return (NULL);
	}
	if (*miss != '\0' && l->require_cgroups) {
		merr_set(e, "require_cgroups: the %s cgroup has no controller for:%s "
		    "(not delegated to this user, or bound to another hierarchy)",
		    cg->mode == CG_V2 ? "v2" : "v1", miss);
		cg_free_dirs(cg, true);
		free(cg);
		return (NULL);
	}
	if (cg->mode == CG_V2 && (extra & CG_SESSION))
		cg_session_leaf(cg);
	cg_describe_fill(cg, l, miss);
	return (cg);

none:
	if (*why2 != '\0')
		snprintf(cg->desc, sizeof cg->desc, "rlimits only: %s; %s", why1, why2);
	else
		snprintf(cg->desc, sizeof cg->desc, "rlimits only: %s", why1);
	if (l->require_cgroups) {
		merr_set(e, "require_cgroups is set but no cgroup can be used: %s",
		    cg->desc + strlen("rlimits only: "));
		free(cg);
		return (NULL);
	}
	return (cg);
}

bool
cg_can_freeze(const struct cg *cg)
{
	return (cg->mode == CG_V2 ? cg->ndirs > 0 :
	    cg->mode == CG_V1 && (cg->ctl & CG_CTL_FREEZER));
}

int
cg_freeze(struct cg *cg, bool frozen, struct merr *e)
{
	struct cg_dir	*d;
	const char	*file, *want;
	char		*t = NULL;
	struct merr	 re;

	if (!cg_can_freeze(cg))
		return (merr_set(e, "no cgroup freezer is reachable here (%s): a "
		    "cgroup v2 group delegated to you (systemd-run --user --scope "
		    "-p Delegate=yes), or root on cgroup v1 with the freezer "
		    "hierarchy mounted", cg->desc));
	if (cg->mode == CG_V2) {
		d = &cg->dirs[0];
		file = "cgroup.events";
		want = frozen ? "frozen 1" : "frozen 0";
		if (cg_write(d->fd, d->path, "cgroup.freeze", e, "%d", frozen ? 1 : 0) == -1)
			return (-1);
	} else {
		d = cg_dir_for(cg, CG_CTL_FREEZER);
		file = "freezer.state";
		want = frozen ? "FROZEN" : "THAWED";
		if (cg_write(d->fd, d->path, "freezer.state", e, "%s", want) == -1)
			return (-1);
	}
	/* The kernel freezes task by task: wait until it says all are. */
	for (int i = 0; i < 200; i++) {
		autofree char	*f = path_join(d->path, file);

		if (read_file(f, &t, NULL, &re) == 0 && strstr(t, want) != NULL) {
			free(t);
			return (0);
		}
		free(t);
		t = NULL;
		usleep(10000);
	}
	return (merr_set(e, "the cgroup %s did not report %s within 2 s", d->path,
	    want));
}

int
cg_attach(struct cg *cg, pid_t pid, struct merr *e)
{
	size_t	i;

	for (i = 0; i < cg->ndirs; i++)
		if (cg_write(cg->dirs[i].fd, cg->dirs[i].path, "cgroup.procs", e,
		    "%ld", (long)pid) == -1)
			return (-1);
	return (0);
}

int
cg_tasks_open(const struct cg *cg, int *fds, size_t max)
{
	size_t	n = 0;

	if (cg->mode != CG_V1 || cg->ndirs > max)
		return (cg->mode != CG_V1 ? 0 : -1);
	for (; n < cg->ndirs; n++)
		if ((fds[n] = openat(cg->dirs[n].fd, "tasks", O_WRONLY |
		    O_CLOEXEC)) == -1) {
			while (n > 0)
				close(fds[--n]);
			return (-1);
		}
	return ((int)n);
}

int
cg_dirfd(const struct cg *cg)
{
	if (cg->mode == CG_V2 && cg->initfd >= 0)
		return (cg->initfd);
	return (cg->mode == CG_V2 && cg->ndirs == 1 ? cg->dirs[0].fd : -1);
}

enum cg_mode
cg_mode(const struct cg *cg)
{
	return (cg->mode);
}

unsigned
cg_controllers(const struct cg *cg)
{
	return (cg->ctl);
}

const char *
cg_path(const struct cg *cg)
{
	const struct cg_dir	*d;

	if (cg->ndirs == 0)
		return (NULL);
	d = cg_dir_for((struct cg *)cg, CG_CTL_MEMORY);
	return (d != NULL ? d->path : cg->dirs[0].path);
}

const char *
cg_describe(const struct cg *cg)
{
	return (cg->desc);
}

double
cg_cpus(const struct cg *cg)
{
	return (cg->cpus);
}

/* Every counter unknown (NAN) until read. */
static void
cg_stats_unknown(struct cg_stats *st)
{
	st->cpu_user = st->cpu_sys = st->cpu_total = NAN;
	st->mem_current = st->mem_peak = st->pids_current = NAN;
	st->pids_peak = st->io_read = st->io_write = NAN;
}

int
cg_stats(struct cg *cg, struct cg_stats *st)
{
	struct cg_dir	*d;
	char		 buf[4096];
	uint64_t	 a, b;

	cg_stats_unknown(st);
	if (cg->mode == CG_NONE)
		return (-1);
	if (cg->mode == CG_V2) {
		d = &cg->dirs[0];
		if (cg_read_at(d->fd, "cpu.stat", buf, sizeof buf) == 0) {
			if (cg_parse_keyed(buf, "usage_usec", &a) == 0)
				st->cpu_total = (double)a / 1e6;
			if (cg_parse_keyed(buf, "user_usec", &a) == 0)
				st->cpu_user = (double)a / 1e6;
			if (cg_parse_keyed(buf, "system_usec", &a) == 0)
				st->cpu_sys = (double)a / 1e6;
		}
		if (cg_read_u64(d->fd, "memory.current", &a) == 0)
			st->mem_current = (double)a;
		if (cg_read_u64(d->fd, "memory.peak", &a) == 0)
			st->mem_peak = (double)a;
		if (cg_read_u64(d->fd, "pids.current", &a) == 0)
			st->pids_current = (double)a;
		if (cg_read_u64(d->fd, "pids.peak", &a) == 0)
			st->pids_peak = (double)a;
		if (cg_read_at(d->fd, "io.stat", buf, sizeof buf) == 0 &&
		    cg_parse_io_v2(buf, &a, &b) == 0) {
			st->io_read = (double)a;
			st->io_write = (double)b;
		}
		return (0);
	}
	if ((d = cg_dir_for(cg, CG_CTL_CPUACCT)) != NULL) {
		if (cg_read_u64(d->fd, "cpuacct.usage_user", &a) == 0 &&
		    cg_read_u64(d->fd, "cpuacct.usage_sys", &b) == 0) {
			st->cpu_user = (double)a / 1e9;
			st->cpu_sys = (double)b / 1e9;
		} else if (cg_read_at(d->fd, "cpuacct.stat", buf, sizeof buf) == 0 &&
		    cg_parse_keyed(buf, "user", &a) == 0 &&
		    cg_parse_keyed(buf, "system", &b) == 0) {
			long	hz = sysconf(_SC_CLK_TCK);

			st->cpu_user = (double)a / (double)hz;
			st->cpu_sys = (double)b / (double)hz;
		}
		if (cg_read_u64(d->fd, "cpuacct.usage", &a) == 0) {
			double	us = st->cpu_user + st->cpu_sys;

			st->cpu_total = (double)a / 1e9;
			/* The user/sys split is sampled at ticks and drifts
			 * from the exact usage: keep the split, trust the sum. */
			if (!isnan(us) && us > 0) {
				st->cpu_user = st->cpu_total * st->cpu_user / us;
				st->cpu_sys = st->cpu_total - st->cpu_user;
			}
		} else
			st->cpu_total = st->cpu_user + st->cpu_sys;
	}
	if ((d = cg_dir_for(cg, CG_CTL_MEMORY)) != NULL) {
		if (cg_read_u64(d->fd, "memory.usage_in_bytes", &a) == 0)
			st->mem_current = (double)a;
		if (cg_read_u64(d->fd, "memory.max_usage_in_bytes", &a) == 0)
			st->mem_peak = (double)a;
	}
	if ((d = cg_dir_for(cg, CG_CTL_PIDS)) != NULL) {
		if (cg_read_u64(d->fd, "pids.current", &a) == 0)
			st->pids_current = (double)a;
		if (cg_read_u64(d->fd, "pids.peak", &a) == 0)
			st->pids_peak = (double)a;
	}
	if ((d = cg_dir_for(cg, CG_CTL_IO)) != NULL &&
	    (cg_read_at(d->fd, "blkio.throttle.io_service_bytes_recursive", buf,
	    sizeof buf) == 0 ||
	    cg_read_at(d->fd, "blkio.throttle.io_service_bytes", buf,
	    sizeof buf) == 0) && cg_parse_io_v1(buf, &a, &b) == 0) {
		st->io_read = (double)a;
		st->io_write = (double)b;
	}
	return (0);
}

int
cg_stats_start(struct cg *cg, struct cg_stats *st)
{
	struct cg_dir	*d;
	char		 buf[1024];
	uint64_t	 a;

	cg_stats_unknown(st);
	if (cg->mode == CG_NONE)
		return (-1);
	if (cg->mode == CG_V2) {
		if (cg_read_at(cg->dirs[0].fd, "cpu.stat", buf, sizeof buf) == 0 &&
		    cg_parse_keyed(buf, "usage_usec", &a) == 0)
			st->cpu_total = (double)a / 1e6;
	} else if ((d = cg_dir_for(cg, CG_CTL_CPUACCT)) != NULL &&
	    cg_read_u64(d->fd, "cpuacct.usage", &a) == 0)
		st->cpu_total = (double)a / 1e9;
	d = cg->mode == CG_V2 ? &cg->dirs[0] : cg_dir_for(cg, CG_CTL_PIDS);
	if (d != NULL) {
		if (cg_read_u64(d->fd, "pids.peak", &a) == 0)
			st->pids_peak = (double)a;
		else if (cg_read_u64(d->fd, "pids.current", &a) == 0)
			st->pids_current = (double)a;
	}
	return (0);
}

int
cg_events(struct cg *cg, struct cg_events *ev)
{
	struct cg_dir	*d;
	char		 buf[1024];
	uint64_t	 v;

	ev->oom_kills = ev->pids_max = ev->throttled = 0;
	if (cg->mode == CG_NONE)
		return (-1);
	if ((d = cg_dir_for(cg, CG_CTL_CPU)) != NULL &&
	    cg_read_at(d->fd, "cpu.stat", buf, sizeof buf) == 0 &&
	    cg_parse_keyed(buf, "nr_throttled", &v) == 0)
		ev->throttled = v;
	if ((d = cg_dir_for(cg, CG_CTL_MEMORY)) != NULL &&
	    cg_read_at(d->fd, cg->mode == CG_V2 ? "memory.events" :
	    "memory.oom_control", buf, sizeof buf) == 0 &&
	    cg_parse_keyed(buf, "oom_kill", &v) == 0)
		ev->oom_kills = v;
	if ((d = cg_dir_for(cg, CG_CTL_PIDS)) != NULL &&
	    cg_read_at(d->fd, "pids.events", buf, sizeof buf) == 0 &&
	    cg_parse_keyed(buf, "max", &v) == 0)
		ev->pids_max = v;
	return (0);
}

enum end_reason
cg_events_reason(const struct cg_events *ev)
{
	if (ev->oom_kills > 0)
		return (END_OOM);
	if (ev->pids_max > 0)
		return (END_PIDS);
	return (END_NONE);
}

enum end_reason
cg_end_reason(struct cg *cg)
{
	struct cg_events	ev;

	if (cg_events(cg, &ev) == -1)
		return (END_NONE);
	return (cg_events_reason(&ev));
}

/* Sends sig to every pid in dir's cgroup.procs that is not yet in
 * seen[0..*nseen) and adds it there; returns how many were new. */
static int
cg_kill_dir(int dfd, int sig, pid_t **seen, size_t *nseen)
{
	char	 buf[16384], *p, *end;
	int	 n = 0;
	size_t	 i;

	if (cg_read_at(dfd, "cgroup.procs", buf, sizeof buf) == -1)
		return (-1);
	for (p = buf; *p != '\0'; p = end) {
		long	pid = strtol(p, &end, 10);

		if (end == p)
			break;
		while (*end == '\n')
			end++;
		if (pid <= 0)
			continue;
		if (seen != NULL) {
			for (i = 0; i < *nseen && (*seen)[i] != (pid_t)pid; i++)
				;
			if (i < *nseen)
				continue;
			*seen = xreallocarray(*seen, *nseen + 1, sizeof **seen);
			(*seen)[(*nseen)++] = (pid_t)pid;
		}
		if (kill((pid_t)pid, sig) == 0)
			n++;
	}
	return (n);
}

int
cg_kill(struct cg *cg, int sig)
{
	autofree pid_t	*seen = NULL;
	size_t		 nseen = 0, i;
	int		 n, total = 0, pass;

	if (cg->mode == CG_NONE)
		return (0);
	if (cg->mode == CG_V2 && sig == SIGKILL &&
	    faccessat(cg->dirs[0].fd, "cgroup.kill", W_OK, 0) == 0) {
		struct merr	e;

		if (cg_write(cg->dirs[0].fd, cg->dirs[0].path, "cgroup.kill", &e,
		    "1") == 0)
			return (1);
	}
	/* A fork loop can add tasks while we read: repeat for SIGKILL until a
	 * pass finds nobody new (killed tasks linger as zombies until reaped;
	 * the pids limit bounds how long this takes). */
	for (pass = 0; pass < (sig == SIGKILL ? 100 : 1); pass++) {
		int	found = 0;

		for (i = 0; i < cg->ndirs; i++)
			if ((n = cg_kill_dir(cg->dirs[i].fd, sig, &seen,
			    &nseen)) > 0)
				found += n;
		total += found;
		if (found == 0)
			break;
	}
	return (total);
}

static int
cg_rmdir_wait(const char *path, int dfd, struct merr *e)
{
	int	i;

	for (i = 0; i < 200; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return (0);
		if (errno != EBUSY)
			break;
		/* Tasks still exiting: kill stragglers, wait 10 ms. */
		if (dfd != -1)
			(void)cg_kill_dir(dfd, SIGKILL, NULL, NULL);
		{
			struct timespec	ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return (merr_errno(e, "rmdir %s", path));
}

/* ---- a command's group inside a session's (v1) ---- */

int
cg_child_make(struct cg *cg, const char *name, int *procs, int *dirs,
    size_t max, struct merr *e)
{
	size_t	n = 0;

	if (cg->mode == CG_V2 && cg->initfd < 0)
		return (0);
	if (cg->mode != CG_V1 && cg->mode != CG_V2)
		return (0);
	for (size_t i = 0; i < cg->ndirs && n < max; i++) {
		/* v1: its tasks file. The command writes 0 there, itself, while
		 * it is one thread: the kernel moves that thread alone and takes
		 * no cgroup_threadgroup_rwsem for it, whose write side, taken
		 * for any write to cgroup.procs, waits for an RCU grace period
		 * when none was recent (5 to 15 ms on a command after a pause).
		 * v2 has no tasks file for a domain group. */
		autofree char	*sub = path_join(name, cg->mode == CG_V1 ?
		    "tasks" : "cgroup.procs");
		int		 d, p;

		/* A freezer is the session's (pause): the command stays in it. */
		if (cg->dirs[i].ctl == CG_CTL_FREEZER)
			continue;
		if (mkdirat(cg->dirs[i].fd, name, 0755) == -1 && errno != EEXIST)
			goto fail;
		if ((d = openat(cg->dirs[i].fd, name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			goto fail;
		if ((p = openat(cg->dirs[i].fd, sub, O_WRONLY | O_CLOEXEC)) == -1) {
			close(d);
			goto fail;
		}
		dirs[n] = d;
		procs[n++] = p;
		continue;
fail:
		merr_errno(e, "the command's group %s/%s", cg->dirs[i].path, name);
		for (size_t k = 0; k < n; k++) {
			close(dirs[k]);
			close(procs[k]);
		}
		cg_child_remove(cg, name);
		return (-1);
	}
	return ((int)n);
}

void
cg_child_remove(struct cg *cg, const char *name)
{
	if (cg->mode != CG_V1 && !(cg->mode == CG_V2 && cg->initfd >= 0))
		return;
	/* EBUSY: a background process of the command is still in it. It is
	 * removed with the session (cg_destroy). The freezer has none
	 * (cg_child_make). */
	for (size_t i = 0; i < cg->ndirs; i++)
		if (cg->dirs[i].ctl != CG_CTL_FREEZER)
			(void)unlinkat(cg->dirs[i].fd, name, AT_REMOVEDIR);
}

void
cg_child_ctls(const struct cg *cg, char *buf, size_t len)
{
	size_t	o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cg->ndirs && o < len; i++) {
		int	k;

		if (cg->dirs[i].ctl == CG_CTL_FREEZER)
			continue;
		if (cg->mode == CG_V2) {
			/* One directory, with what the group handed down. */
			snprintf(buf, len, "%u", cg->child_ctl | CG_CTL_V2);
			return;
		}
		k = snprintf(buf + o, len - o, "%s%u", o > 0 ? " " : "", cg->dirs[i].ctl);
		if (k < 0 || (size_t)k >= len - o)
			break;
		o += (size_t)k;
	}
}

struct cg *
cg_adopt(const int *dirs, size_t n, const char *ctls, struct merr *e)
{
	struct cg	*cg;
	const char	*p = ctls;
	unsigned	 known = CG_CTL_MEMORY | CG_CTL_PIDS | CG_CTL_CPU |
			    CG_CTL_CPUACCT | CG_CTL_IO | CG_CTL_V2;

	if (n == 0 || n > CG_MAXDIRS)
		return (merr_set(e, "no command group to read"), NULL);
	cg = xcalloc(1, sizeof *cg);
	cg->mode = CG_V1;
	cg->initfd = -1;
	for (size_t i = 0; i < n; i++) {
		char		*end;
		unsigned long	 ctl;

		while (*p == ' ')
			p++;
		ctl = strtoul(p, &end, 10);
		if (end == p || *p == '-' || ctl == 0 || (ctl & ~known) != 0)
			goto bad;
		p = end;
		/* v2: one directory, whose controllers may be none (a
		 * hybrid host's unified hierarchy still counts CPU). */
		if ((ctl & CG_CTL_V2) && (n != 1 || (ctl & (CG_CTL_CPUACCT |
		    CG_CTL_FREEZER))))
			goto bad;
		if (ctl & CG_CTL_V2)
			cg->mode = CG_V2;
		ctl &= ~(unsigned long)CG_CTL_V2;
		cg->dirs[i].ctl = (unsigned)ctl;
		cg->ctl |= (unsigned)ctl;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		goto bad;
	for (size_t i = 0; i < n; i++) {
		cg->dirs[i].fd = dirs[i];
		cg->dirs[i].path = xprintf("/proc/self/fd/%d", dirs[i]);
	}
	cg->ndirs = n;
	snprintf(cg->desc, sizeof cg->desc, "cgroup %s: the command's own group "
	    "in its session's", cg->mode == CG_V2 ? "v2" : "v1");
	return (cg);
bad:
	free(cg);
	return (merr_set(e, "a malformed command group (controllers \"%.64s\")",
	    ctls), NULL);
}

void
cg_close(struct cg *cg)
{
	if (cg == NULL)
		return;
	for (size_t i = 0; i < cg->ndirs; i++) {
		if (cg->dirs[i].fd >= 0)
			close(cg->dirs[i].fd);
		free(cg->dirs[i].path);
	}
	free(cg);
}

/* The command groups left in a session's group (the directory dfd at
 * path): what runs in them killed, then removed, before the session's own
 * group can be. */
static void
cg_rmdir_children(int dfd, const char *path)
{
	int		 fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR		*d;
	struct dirent	*de;

	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		autofree char	*sub = NULL;
		struct merr	 ce;
		int		 cfd;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = path_join(path, de->d_name);
		if ((cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) >= 0)
			for (int pass = 0; pass < 100 &&
			    cg_kill_dir(cfd, SIGKILL, NULL, NULL) > 0; pass++)
				;
		(void)cg_rmdir_wait(sub, cfd, &ce);
		if (cfd >= 0)
			close(cfd);
	}
	closedir(d);
}

int
cg_destroy(struct cg *cg, struct merr *e)
{
	size_t	i;
	int	rc = 0;

	if (cg == NULL)
		return (0);
	/* The common end: every process gone, no child group. An rmdir
	 * succeeds only then, so trying it first loses nothing, and saves
	 * the scans below (some 40 calls on v1) on every run's way out. */
	for (i = 0; i < cg->ndirs && cg->initfd < 0; i++) {
		if (rmdir(cg->dirs[i].path) == -1 && errno != ENOENT)
			break;
		close(cg->dirs[i].fd);
		free(cg->dirs[i].path);
	}
	if (i == cg->ndirs) {
		free(cg);
		return (0);
	}
	/* The hierarchies left (each its own: removed ones were apart). */
	memmove(cg->dirs, cg->dirs + i, (cg->ndirs - i) * sizeof cg->dirs[0]);
	cg->ndirs -= i;
	if (cg->mode != CG_NONE)
		(void)cg_kill(cg, SIGKILL);
	if (cg->initfd >= 0) {
		close(cg->initfd);
		cg->initfd = -1;
	}
	/* A session's command groups (and on v2 its init's leaf) first. */
	if (cg->mode != CG_NONE)
		for (i = 0; i < cg->ndirs; i++)
			cg_rmdir_children(cg->dirs[i].fd, cg->dirs[i].path);
	for (i = 0; i < cg->ndirs; i++) {
		if (cg_rmdir_wait(cg->dirs[i].path, cg->dirs[i].fd, e) == -1)
			rc = -1;
		close(cg->dirs[i].fd);
		cg->dirs[i].fd = -1;
		free(cg->dirs[i].path);
	}
	free(cg);
	return (rc);
}

/* The supervisor pid in a run id "time-pid-random", or -1. */
static long
cg_id_pid(const char *id)
{
	const char	*p = strchr(id, '-');
	char		*end;
	long		 pid;

	if (p == NULL)
		return (-1);
	pid = strtol(p + 1, &end, 10);
	if (end == p + 1 || *end != '-' || pid <= 0)
		return (-1);
	return (pid);
}

/* Removes dead runs' groups in dir/moat. */
static int
cg_sweep_dir(const char *moatdir)
{
	DIR			*dp;
	struct dirent		*de;
	int			 n = 0;

	if ((dp = opendir(moatdir)) == NULL)
		return (0);
	while ((de = readdir(dp)) != NULL) {
		autofree char	*path = NULL;
		autofd int	 fd = -1;
		struct merr	 e;
		struct stat	 sb;
		long		 pid;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		pid = cg_id_pid(de->d_name);
		path = path_join(moatdir, de->d_name);
		if (pid > 0) {
			if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 ||
			    errno == EPERM)
				continue;	/* its moat is alive */
		} else if (stat(path, &sb) == -1 ||
		    time(NULL) - sb.st_mtime < 600)
			continue;	/* not ours to judge yet */
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			continue;
		(void)cg_kill_dir(fd, SIGKILL, NULL, NULL);
		cg_rmdir_children(fd, path);	/* a session's command groups */
		if (cg_rmdir_wait(path, fd, &e) == 0)
			n++;
	}
	closedir(dp);
	return (n);
}

int
cg_sweep(struct merr *e)
{
	struct cg_layout	 lo;
	size_t			 i;
	int			 n = 0;

	if (cg_layout_read(&lo, e) == -1)
		return (-1);
	for (i = 0; i < lo.n; i++) {
		const struct cg_mnt	*m = &lo.m[i];
		autofree char		*self = NULL;
		char			*a, *slash;
		size_t			 j;

		if (m->v2)
			self = cg_self_dir(&lo, m, "");
		else
			for (j = 0; j < nitems(cg_v1_ctls) && self == NULL; j++)
				if (cg_has_opt(m->opts, cg_v1_ctls[j].name))
					self = cg_self_dir(&lo, m, cg_v1_ctls[j].name);
		if (self == NULL)
			continue;
		/* Our group and each ancestor may hold a moat/ directory
		 * (v2 uses the nearest writable ancestor). */
		a = xstrdup(self);
		for (;;) {
			autofree char	*md = path_join(a, "moat");

			n += cg_sweep_dir(md);
			if (strcmp(a, m->dir) == 0 || (slash = strrchr(a, '/')) == NULL ||
			    slash == a)
				break;
			*slash = '\0';
		}
		free(a);
	}
	cg_layout_free(&lo);
	return (n);
}

/* ---- the memory a share is taken of ---- */

/* "MemTotal:  24730000 kB" in /proc/meminfo text; 0 when absent. */
uint64_t
cg_parse_memtotal(const char *meminfo)
{
	const char		*p = strstr(meminfo, "MemTotal:");
	unsigned long long	 kb;

	if (p == NULL || (p != meminfo && p[-1] != '\n') ||
	    sscanf(p + 9, "%llu kB", &kb) != 1 || kb > UINT64_MAX >> 10)
		return (0);
	return ((uint64_t)kb << 10);
}

/* The lowest limit in file name of dir and its ancestors up to the
 * mount's root; UINT64_MAX when none is set. */
static uint64_t
cg_limit_up(const char *mntdir, const char *dir, const char *name, char **at)
{
	autofree char	*a = xstrdup(dir);
	uint64_t	 low = UINT64_MAX, v;
	char		*slash;

	for (;;) {
		autofd int	 fd = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		/* v1 says "no limit" with a huge number (PAGE_COUNTER_MAX
		 * pages): anything at or above 2^62 is none. */
		if (fd != -1 && cg_read_u64(fd, name, &v) == 0 && v < (1ULL << 62) &&
		    v < low) {
			low = v;
			free(*at);
			*at = path_join(a, name);
		}
		if (strcmp(a, mntdir) == 0 || (slash = strrchr(a, '/')) == NULL ||
		    slash == a)
			break;
		*slash = '\0';
	}
	return (low);
}

static uint64_t
cg_memory_budget_on(struct cg_host *h, char *src, size_t len)
{
	autofree char		*mi = NULL, *at = NULL;
	const struct cg_layout	*lo;
	struct merr		 e;
	uint64_t		 ram = 0, low = UINT64_MAX;

	if (read_file("/proc/meminfo", &mi, NULL, &e) == 0)
		ram = cg_parse_memtotal(mi);
	if ((lo = cg_host_layout(h, &e)) != NULL) {
		const struct cg_mnt	*m;
		autofree char		*d1 = NULL, *d2 = NULL;

		if ((m = cg_find_v1(lo, "memory")) != NULL &&
		    (d1 = cg_self_dir(lo, m, "memory")) != NULL)
			low = cg_limit_up(m->dir, d1, "memory.limit_in_bytes", &at);
		if ((m = cg_find_v2(lo)) != NULL &&
		    (d2 = cg_self_dir(lo, m, "")) != NULL) {
			uint64_t	v = cg_limit_up(m->dir, d2, "memory.max", &at);

			if (v < low)
				low = v;
		}
	}
	if (low != UINT64_MAX && (ram == 0 || low < ram)) {
		snprintf(src, len, "the cgroup limit in %s", at);
		return (low);
	}
	snprintf(src, len, ram != 0 ? "RAM (MemTotal)" : "nothing: /proc/meminfo "
	    "unreadable");
	return (ram);
}

uint64_t
cg_memory_budget(char *src, size_t len)
{
	struct cg_host	*h = cg_host_new();
	uint64_t	 v = cg_memory_budget_on(h, src, len);

	cg_host_free(h);
	return (v);
}

void
cg_limits_resolve(const struct limits *l, struct limits *out, char *src,
    size_t len)
{
	struct cg_host	*h = cg_host_new();

	cg_limits_resolve_on(h, l, out, src, len);
	cg_host_free(h);
}

void
cg_limits_resolve_on(struct cg_host *h, const struct limits *l,
    struct limits *out, char *src, size_t len)
{
	char	buf[PATH_MAX + 64];

	*out = *l;
	if (src != NULL && len > 0)
		*src = '\0';
	if (l->memory_pct == 0)
		return;
	/* Whole MiB: what the cgroup files and the rlimit are written with
	 * reads back the same. */
	out->memory = ((cg_memory_budget_on(h, buf, sizeof buf) >> 20) *
	    l->memory_pct / 100) << 20;
	out->memory_pct = 0;
	if (src != NULL && len > 0)
		snprintf(src, len, "%u%% of %s", l->memory_pct, buf);
}

enum cg_mode
cg_probe(char *desc, size_t len)
{
	struct limits	 l;
	struct merr	 e;
	struct cg	*cg;
	char		 id[64];
	enum cg_mode	 m;

	memset(&l, 0, sizeof l);
	l.memory = 1ULL << 30;
	l.nproc = 1024;
	l.cpus = 1;
	snprintf(id, sizeof id, "probe-%ld-%ld", (long)getpid(), (long)time(NULL));
	if ((cg = cg_create(id, &l, &e)) == NULL) {
		snprintf(desc, len, "cgroups unusable: %s", e.msg);
		return (CG_NONE);
	}
	m = cg->mode;
	if (m == CG_NONE)
		snprintf(desc, len, "%s", cg->desc);
	else
		snprintf(desc, len, "cgroup %s: controllers%s%s%s%s%s at %s/..",
		    m == CG_V2 ? "v2" : "v1",
		    cg->ctl & CG_CTL_MEMORY ? " memory" : "",
		    cg->ctl & CG_CTL_PIDS ? " pids" : "",
		    cg->ctl & CG_CTL_CPU ? " cpu" : "",
		    cg->ctl & CG_CTL_CPUACCT ? " cpuacct" : "",
		    cg->ctl & CG_CTL_IO ? (m == CG_V2 ? " io" : " blkio") : "",
		    cg_path(cg));
	(void)cg_destroy(cg, &e);
	return (m);
}
