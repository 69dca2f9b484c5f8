/* meter.c: the run's meters. Runs in the supervisor: a timerfd in the run's
 * poll loop samples the run's cgroup (cg.c) or, without one, every process
 * of the sandbox seen from the host in /proc; the deltas and percentages are
 * pure functions below; the formatters serve `moat run --meter` and --json.
 * Sample, compute, draw: three separate steps (htop's Meter). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cg.h"
#include "base/loop.h"
#include "meter.h"
#include "base/util.h"

struct meter {
	struct loop		*loop;		/* borrowed */
	struct cg		*cg;		/* borrowed; NULL or CG_NONE: /proc */
	pid_t			 init;
	int			 tfd;
	meter_cb		 cb;
	void			*arg;

	bool			 same_ns;	/* init shares our pid ns: use its tree */
	dev_t			 ns_dev;
	ino_t			 ns_ino;
	double			 cores;		/* the quota for cpu_quota_pct */
	long			 hz_clk, pagesize;
	int			 procfd;	/* /proc; -1 until a sample walks it */
	bool			 tree;		/* children lists exist: walk them */
	bool			 probed;	/* same_ns, ns_* and tree are known */
	bool			 io_ok;		/* PID/io readable so far */

	double			 t0;
	double			 prev_t, prev_cpu;
	struct meter_sample	 last;
	double			 mem_peak, procs_peak;
	unsigned long		 nsamples;
	const char		*source;
	bool			 mem_cg;	/* a sample had the cgroup's memory */
	char			**tmpfs;	/* owned; meter_add_tmpfs: paths inside */
	size_t			 ntmpfs;
	pid_t			 root_pid;	/* a process of the run's other than
						   init, whose root is the sandbox's */
};

/* ---- pure math ---- */

uint64_t
meter_sub_sat(uint64_t a, uint64_t b)
{
	return (a > b ? a - b : 0);
}

double
meter_dsub_sat(double a, double b)
{
	if (isnan(a) || isnan(b))
		return (NAN);
	return (a > b ? a - b : 0.0);
}

double
meter_cpu_pct(double dcpu, double dt)
{
	if (isnan(dcpu) || isnan(dt) || dt <= 0)
		return (NAN);
	if (dcpu < 0)		/* a counter that went back (a process left) */
		dcpu = 0;
	return (dcpu / dt * 100.0);
}

double
meter_quota_pct(double pct, double cores)
{
	if (isnan(pct) || isnan(cores) || cores <= 0)
		return (NAN);
	return (pct / cores);
}

double
meter_max(double a, double b)
{
	if (isnan(a))
		return (b);
	if (isnan(b))
		return (a);
	return (a > b ? a : b);
}

/* ---- /proc accounting ---- */

struct meter_proc {
	pid_t		pid, ppid;
	double		user, sys;	/* seconds, own + reaped children */
	double		rss;		/* bytes */
	double		threads;
	bool		in;		/* belongs to the run */
};

/* Fields after the ")" of /proc/PID/stat, 0 = state (field 3). */
static int
meter_parse_stat(const char *buf, struct meter_proc *p, long clk, long page)
{
	const char		*s = strrchr(buf, ')');
	unsigned long long	 f[24];
	int			 i;
	char			*end;

	if (s == NULL || s[1] != ' ')
		return (-1);
	s += 4;		/* ") S " */
	for (i = 1; i < 22; i++) {
		f[i] = strtoull(s, &end, 10);
		if (end == s)
			return (-1);
		s = end;
	}
	p->ppid = (pid_t)f[1];
	/* Reaped descendants' times land in their reaper's cutime, so the sum
	 * over live processes of own + children's time counts every process
	 * of the run once. */
	p->user = (double)(f[11] + f[13]) / (double)clk;
	p->sys = (double)(f[12] + f[14]) / (double)clk;
	p->threads = (double)f[17];
	p->rss = (double)f[21] * (double)page;
	return (0);
}

/* Reads the numbers in "PID/task/TID/children" files of pid into *v. */
static void
meter_children(int pfd, pid_t pid, double threads, pid_t **v, size_t *n,
    size_t *cap)
{
	char		 path[300], buf[4096], *p, *end;
	autofd int	 fd = -1;
	ssize_t		 r;

	if (threads > 1) {
		/* Each thread has its own list of the children it forked. */
		DIR		*dp;
		struct dirent	*de;
		int		 dfd;

		snprintf(path, sizeof path, "%ld/task", (long)pid);
		if ((dfd = openat(pfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			return;
		if ((dp = fdopendir(dfd)) == NULL) {
			close(dfd);
			return;
		}
		while ((de = readdir(dp)) != NULL) {
			autofd int	cfd = -1;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/children", de->d_name);
			if ((cfd = openat(dirfd(dp), path, O_RDONLY | O_CLOEXEC)) == -1 ||
			    (r = read(cfd, buf, sizeof buf - 1)) <= 0)
				continue;
			buf[r] = '\0';
			for (p = buf; *p != '\0'; p = end) {
				long	c = strtol(p, &end, 10);

				if (end == p)
					break;
				if (*n == *cap) {
					*cap = *cap == 0 ? 64 : *cap * 2;
					*v = xreallocarray(*v, *cap, sizeof **v);
				}
				(*v)[(*n)++] = (pid_t)c;
			}
		}
		closedir(dp);
		return;
	}
	snprintf(path, sizeof path, "%ld/task/%ld/children", (long)pid, (long)pid);
	if ((fd = openat(pfd, path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (r = read(fd, buf, sizeof buf - 1)) <= 0)
		return;
	buf[r] = '\0';
	for (p = buf; *p != '\0'; p = end) {
		long	c = strtol(p, &end, 10);

		if (end == p)
			break;
		if (*n == *cap) {
			*cap = *cap == 0 ? 64 : *cap * 2;
			*v = xreallocarray(*v, *cap, sizeof **v);
		}
		(*v)[(*n)++] = (pid_t)c;
	}
}

/* Adds one process's figures to st; false when it is gone. */
static bool
meter_proc_one(struct meter *m, int pfd, pid_t pid, struct cg_stats *st,
    uint64_t *rd, uint64_t *wr, bool *io_any, double *threads)
{
	char			 path[64], buf[1024];
	struct meter_proc	 p;
	autofd int		 fd = -1, iofd = -1;
	ssize_t			 r;
	uint64_t		 a, b;

	snprintf(path, sizeof path, "%ld/stat", (long)pid);
	if ((fd = openat(pfd, path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (r = read(fd, buf, sizeof buf - 1)) <= 0)
		return (false);
	buf[r] = '\0';
	memset(&p, 0, sizeof p);
	if (meter_parse_stat(buf, &p, m->hz_clk, m->pagesize) == -1)
		return (false);
	st->cpu_user += p.user;
	st->cpu_sys += p.sys;
	st->mem_current += p.rss;
	st->pids_current += p.threads;
	*threads = p.threads;
	/* /proc/PID/io needs ptrace access: readable for our own sandbox,
	 * absent on some kernels; stop trying once it failed. */
	if (m->io_ok) {
		snprintf(path, sizeof path, "%ld/io", (long)pid);
		if ((iofd = openat(pfd, path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    (r = read(iofd, buf, sizeof buf - 1)) <= 0) {
			if (errno == EACCES || errno == ENOENT || errno == EPERM)
				m->io_ok = false;
			return (true);
		}
		buf[r] = '\0';
		if (cg_parse_keyed(buf, "read_bytes:", &a) == 0 &&
		    cg_parse_keyed(buf, "write_bytes:", &b) == 0) {
			*rd += a;
			*wr += b;
			*io_any = true;
		}
	}
	return (true);
}

/* The run's processes by walking the children lists down from init: the
 * cost follows the size of the sandbox, not of the host. Every process of
 * the sandbox's pid namespace descends from its init (orphans are
 * reparented to it). */
static void
meter_proc_tree(struct meter *m, struct cg_stats *st)
{
	autofree pid_t	*q = NULL;
	size_t		 n = 0, cap = 0, i;
	uint64_t	 rd = 0, wr = 0;
	bool		 io_any = false;
	double		 threads;

	st->cpu_user = st->cpu_sys = st->mem_current = st->pids_current = 0;
	q = xreallocarray(NULL, (cap = 64), sizeof *q);
	q[n++] = m->init;
	for (i = 0; i < n && i < 100000; i++) {
		if (!meter_proc_one(m, m->procfd, q[i], st, &rd, &wr, &io_any,
		    &threads))
			continue;
		meter_children(m->procfd, q[i], threads, &q, &n, &cap);
	}
	m->root_pid = n > 1 ? q[1] : 0;
	st->cpu_total = st->cpu_user + st->cpu_sys;
	if (io_any) {
		st->io_read = (double)rd;
		st->io_write = (double)wr;
	}
}

/* What the process to sample is: its pid namespace, and whether its
 * children can be walked. -1 with errno: not readable (yet). A command a
 * session's init forked is not dumpable until it execs, and its /proc
 * files are then root's: an unprivileged supervisor asks again at the
 * next sample. */
static int
meter_probe(struct meter *m)
{
	struct stat	a, b;
	char		path[64];

	snprintf(path, sizeof path, "/proc/%ld/ns/pid", (long)m->init);
	if (stat(path, &a) == -1)
		return (-1);
	m->ns_dev = a.st_dev;
	m->ns_ino = a.st_ino;
	m->same_ns = stat("/proc/self/ns/pid", &b) == 0 &&
	    a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children",
	    (long)m->init, (long)m->init);
	m->tree = access(path, R_OK) == 0;	/* CONFIG_PROC_CHILDREN */
	m->probed = true;
	return (0);
}

static void
meter_proc_totals(struct meter *m, struct cg_stats *st)
{
	DIR			*dp;
	struct dirent		*de;
	struct meter_proc	*v = NULL;
	size_t			 n = 0, cap = 0, i, j;
	int			 pfd;
	bool			 changed, io_any = false;
	uint64_t		 rd = 0, wr = 0;

	st->cpu_user = st->cpu_sys = st->cpu_total = NAN;
	st->mem_current = st->mem_peak = st->pids_current = NAN;
	st->pids_peak = st->io_read = st->io_write = NAN;
	if (m->init <= 0 || (!m->probed && meter_probe(m) == -1))
		return;
	if (m->procfd == -1 &&
	    (m->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (m->tree) {
		meter_proc_tree(m, st);
		return;
	}
	if ((dp = opendir("/proc")) == NULL)
		return;
	pfd = dirfd(dp);
	while ((de = readdir(dp)) != NULL) {
		char		 path[64], buf[1024];
		struct meter_proc p;
		struct stat	 sb;
		autofd int	 fd = -1;
		ssize_t		 r;
		long		 pid;
		char		*end;

		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		memset(&p, 0, sizeof p);
		p.pid = (pid_t)pid;
		if (!m->same_ns) {
			snprintf(path, sizeof path, "%ld/ns/pid", pid);
			if (fstatat(pfd, path, &sb, 0) == -1 ||
			    sb.st_ino != m->ns_ino || sb.st_dev != m->ns_dev)
				continue;
			p.in = true;
		}
		snprintf(path, sizeof path, "%ld/stat", pid);
		if ((fd = openat(pfd, path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		if ((r = read(fd, buf, sizeof buf - 1)) <= 0)
			continue;
		buf[r] = '\0';
		if (meter_parse_stat(buf, &p, m->hz_clk, m->pagesize) == -1)
			continue;
		if (p.pid == m->init)
			p.in = true;
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[n++] = p;
	}
	closedir(dp);
	if (m->same_ns) {
		/* No pid namespace of its own (tests, benchmarks): the run is
		 * init and its descendants. */
		do {
			changed = false;
			for (i = 0; i < n; i++) {
				if (v[i].in)
					continue;
				for (j = 0; j < n; j++)
					if (v[j].in && v[j].pid == v[i].ppid) {
						v[i].in = changed = true;
						break;
					}
			}
		} while (changed);
	}
	st->cpu_user = st->cpu_sys = st->mem_current = st->pids_current = 0;
	m->root_pid = 0;
	for (i = 0; i < n; i++) {
		char		 path[64], buf[1024];
		autofd int	 fd = -1;
		ssize_t		 r;
		uint64_t	 a, b;

		if (!v[i].in)
			continue;
		if (v[i].pid != m->init)
			m->root_pid = v[i].pid;
		st->cpu_user += v[i].user;
		st->cpu_sys += v[i].sys;
		st->mem_current += v[i].rss;
		st->pids_current += v[i].threads;
		/* /proc/PID/io needs ptrace access: readable for our own
		 * sandbox, absent on some kernels. */
		snprintf(path, sizeof path, "/proc/%ld/io", (long)v[i].pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    (r = read(fd, buf, sizeof buf - 1)) <= 0)
			continue;
		buf[r] = '\0';
		if (cg_parse_keyed(buf, "read_bytes:", &a) == 0 &&
		    cg_parse_keyed(buf, "write_bytes:", &b) == 0) {
			rd += a;
			wr += b;
			io_any = true;
		}
	}
	free(v);
	st->cpu_total = st->cpu_user + st->cpu_sys;
	if (io_any) {
		st->io_read = (double)rd;
		st->io_write = (double)wr;
	}
}

/* ---- sampling ---- */

/* What the sandbox's tmpfs mounts hold is memory, as a cgroup would charge
 * it. They are reached through the root of a process of the run's (init's
 * own /proc entry is closed to us: it never exec'd, so it is not dumpable
 * to the sandbox's owner); with none left, they count no more. */
static double
meter_tmpfs_bytes(const struct meter *m)
{
	double	sum = 0;

	for (size_t i = 0; m->root_pid > 0 && i < m->ntmpfs; i++) {
		struct statvfs	sv;
		char		path[4200];

		snprintf(path, sizeof path, "/proc/%ld/root%s", (long)m->root_pid,
		    m->tmpfs[i]);
		if (statvfs(path, &sv) == 0 && sv.f_blocks >= sv.f_bfree)
			sum += (double)(sv.f_blocks - sv.f_bfree) * (double)sv.f_frsize;
	}
	return (sum);
}

void
meter_sample_now(struct meter *m, struct meter_sample *out)
{
	struct cg_stats		 st, ps;
	struct meter_sample	 s;
	double			 now = now_mono(), cpu;
	bool			 have_cg = m->cg != NULL && cg_mode(m->cg) != CG_NONE;

	if (have_cg) {
		(void)cg_stats(m->cg, &st);
		if (!isnan(st.mem_current))
			m->mem_cg = true;
	}
	if (!have_cg || isnan(st.cpu_total) || isnan(st.mem_current) ||
	    isnan(st.pids_current)) {
		meter_proc_totals(m, &ps);
		if (!isnan(ps.mem_current))
			ps.mem_current += meter_tmpfs_bytes(m);
		if (!have_cg)
			st = ps;
		else {
			/* A v2 group without controllers: fill the gaps. */
			if (isnan(st.cpu_total)) {
				st.cpu_total = ps.cpu_total;
				st.cpu_user = ps.cpu_user;
				st.cpu_sys = ps.cpu_sys;
			}
			if (isnan(st.mem_current))
				st.mem_current = ps.mem_current;
			if (isnan(st.pids_current))
				st.pids_current = ps.pids_current;
			if (isnan(st.io_read)) {
				st.io_read = ps.io_read;
				st.io_write = ps.io_write;
			}
		}
	}
	memset(&s, 0, sizeof s);
	s.t = now - m->t0;
	/* Counters summed over live processes drop when one leaves without
	 * being reaped inside; keep them monotonic. */
	s.cpu_user = m->nsamples > 0 ? meter_max(st.cpu_user, m->last.cpu_user) :
	    st.cpu_user;
	s.cpu_sys = m->nsamples > 0 ? meter_max(st.cpu_sys, m->last.cpu_sys) :
	    st.cpu_sys;
	cpu = isnan(st.cpu_total) ? NAN : st.cpu_total;
	if (!isnan(m->prev_cpu))
		cpu = meter_max(cpu, m->prev_cpu);
	s.cpu_pct = !isnan(m->prev_cpu) ?
	    meter_cpu_pct(meter_dsub_sat(cpu, m->prev_cpu), now - m->prev_t) : NAN;
	s.cpu_quota_pct = meter_quota_pct(s.cpu_pct, m->cores);
	s.mem_current = st.mem_current;
	m->mem_peak = meter_max(m->mem_peak, meter_max(st.mem_peak, st.mem_current));
	s.mem_peak = m->mem_peak;
	s.nprocs = st.pids_current;
	/* pids.peak catches a fork burst between two samples. */
	m->procs_peak = meter_max(m->procs_peak, meter_max(st.pids_peak,
	    st.pids_current));
	s.io_read = m->nsamples > 0 ? meter_max(st.io_read, m->last.io_read) :
	    st.io_read;
	s.io_write = m->nsamples > 0 ? meter_max(st.io_write, m->last.io_write) :
	    st.io_write;
	m->prev_cpu = cpu;
	m->prev_t = now;
	m->last = s;
	m->nsamples++;
	if (out != NULL)
		*out = s;
}

static void
meter_tick(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct meter		*m = arg;
	struct meter_sample	 s;
	uint64_t		 n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof n) != (ssize_t)sizeof n && errno == EAGAIN)
		return;
	meter_sample_now(m, &s);
	if (m->cb != NULL)
		m->cb(m->arg, &s);
}

/* The first sample from a group: only what the next one needs that it
 * could not read itself, the CPU time so far (the base of its CPU
 * percentage) and the process count's peak where the kernel keeps none.
 * Peaks of memory and processes are the kernel's, read by every sample;
 * the rest is a level, read again. Eight reads fewer at the start of
 * every command, where they would share a CPU with its exec. false: the
 * group lacks one of them (a v2 group without controllers), and a whole
 * sample must be taken. */
static bool
meter_baseline(struct meter *m)
{
	struct cg_stats	st;

	if (cg_stats_start(m->cg, &st) == -1 || isnan(st.cpu_total) ||
	    (isnan(st.pids_peak) && isnan(st.pids_current)))
		return (false);
	m->prev_cpu = st.cpu_total;
	m->prev_t = now_mono();
	m->procs_peak = meter_max(st.pids_peak, st.pids_current);
	return (true);
}

/* Online CPUs, read once a process: glibc reads a sysfs file each time. */
static long
meter_ncpu(void)
{
	static long	ncpu;
	long		n = __atomic_load_n(&ncpu, __ATOMIC_RELAXED);

	if (n <= 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		__atomic_store_n(&ncpu, n, __ATOMIC_RELAXED);
	}
	return (n);
}

struct meter *
meter_start(struct loop *loop, double hz, struct cg *cg, pid_t init_pid,
    meter_cb cb, void *arg, struct merr *e)
{
	struct meter	*m = xcalloc(1, sizeof *m);
	long		 ncpu;
	bool		 have_cg = cg != NULL && cg_mode(cg) != CG_NONE;

	if (hz <= 0)
		hz = METER_HZ_DEFAULT;
	m->loop = loop;
	m->cg = cg;
	m->init = init_pid;
	m->cb = cb;
	m->arg = arg;
	m->tfd = -1;
	m->procfd = -1;
	m->hz_clk = sysconf(_SC_CLK_TCK);
	m->pagesize = sysconf(_SC_PAGESIZE);
	m->mem_peak = m->procs_peak = m->prev_cpu = NAN;
	if (cg != NULL && cg_cpus(cg) > 0)
		m->cores = cg_cpus(cg);
	else
		m->cores = (double)((ncpu = meter_ncpu()) > 0 ? ncpu : 1);
	m->source = !have_cg ? "procfs" : cg_mode(cg) == CG_V2 ? "cgroup v2" :
	    "cgroup v1";
	/* A group's counters need no process: /proc is probed and opened
	 * when a sample first falls back to it. */
	if (!have_cg && init_pid > 0 && meter_probe(m) == -1 &&
	    errno != EACCES && errno != EPERM) {
		merr_errno(e, "meter: stat /proc/%ld/ns/pid", (long)init_pid);
		free(m);
		return (NULL);
	}
	m->io_ok = true;
	m->t0 = now_mono();
	if (!have_cg || !meter_baseline(m))
		meter_sample_now(m, NULL);
	if (loop != NULL && (m->tfd = loop_timer(loop, 1.0 / hz, 1.0 / hz,
	    meter_tick, m, e)) == -1) {
		if (m->procfd != -1)
			close(m->procfd);
		free(m);
		return (NULL);
	}
	return (m);
}

const struct meter_sample *
meter_last(const struct meter *m)
{
	return (&m->last);
}

void
meter_stop(struct meter *m, struct meter_summary *out)
{
	if (m == NULL)
		return;
	meter_sample_now(m, NULL);
	if (out != NULL) {
		memset(out, 0, sizeof *out);
		out->wall = m->last.t;
		out->cpu_user = m->last.cpu_user;
		out->cpu_sys = m->last.cpu_sys;
		out->mem_peak = m->mem_peak;
		out->procs_peak = m->procs_peak;
		out->io_read = m->last.io_read;
		out->io_write = m->last.io_write;
		out->nsamples = m->nsamples;
		out->source = m->source;
		out->mem_cg = m->mem_cg;
	}
	if (m->tfd != -1) {
		loop_del(m->loop, m->tfd);
		close(m->tfd);
	}
	if (m->procfd != -1)
		close(m->procfd);
	for (size_t i = 0; i < m->ntmpfs; i++)
		free(m->tmpfs[i]);
	free(m->tmpfs);
	free(m);
}

void
meter_add_tmpfs(struct meter *m, const char *path)
{
	m->tmpfs = xreallocarray(m->tmpfs, m->ntmpfs + 1, sizeof *m->tmpfs);
	m->tmpfs[m->ntmpfs++] = xstrdup(path);
}

void
meter_summary_rusage(struct meter_summary *sm, double user_s, double sys_s,
    double maxrss_bytes)
{
	sm->cpu_user = meter_max(sm->cpu_user, user_s);
	sm->cpu_sys = meter_max(sm->cpu_sys, sys_s);
	if (!sm->mem_cg)
		sm->mem_peak = meter_max(sm->mem_peak, maxrss_bytes);
}

/* ---- formatting ---- */

char *
meter_format_bytes(double bytes, char *buf, size_t len)
{
	static const char	 units[] = "BKMGTP";
	size_t			 u = 0;

	if (isnan(bytes)) {
		snprintf(buf, len, "-");
		return (buf);
	}
	while (bytes >= 1024 && u < sizeof units - 2) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0fB", bytes);
	else
		snprintf(buf, len, "%.1f%c", bytes, units[u]);
	return (buf);
}

/* v with prec decimals and a unit, or "-" when it is not known (NaN). */
static const char *
meter_fmt(double v, int prec, const char *unit, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f%s", prec, v, unit);
	return (buf);
}

char *
meter_format_line(const struct meter_sample *s, char *buf, size_t len)
{
	char	c[16], q[16], m1[16], m2[16], r[16], w[16], p[16];

	snprintf(buf, len, "cpu %4s (%s of quota)  mem %s (peak %s)  procs %s  "
	    "io %s/%s  %.1fs",
	    meter_fmt(s->cpu_pct, 0, "%", c, sizeof c),
	    meter_fmt(s->cpu_quota_pct, 0, "%", q, sizeof q),
	    meter_format_bytes(s->mem_current, m1, sizeof m1),
	    meter_format_bytes(s->mem_peak, m2, sizeof m2),
	    meter_fmt(s->nprocs, 0, "", p, sizeof p),
	    meter_format_bytes(s->io_read, r, sizeof r),
	    meter_format_bytes(s->io_write, w, sizeof w), s->t);
	return (buf);
}

char *
meter_format_summary(const struct meter_summary *sm, const char *end_reason,
    char *buf, size_t len)
{
	char	w[16], u[16], s[16], m[16], p[16];

	snprintf(buf, len, "moat: wall %s  cpu %s user %s sys  peak mem %s  "
	    "peak procs %s  end %s",
	    meter_fmt(sm->wall, 2, "s", w, sizeof w),
	    meter_fmt(sm->cpu_user, 2, "s", u, sizeof u),
	    meter_fmt(sm->cpu_sys, 2, "s", s, sizeof s),
	    meter_format_bytes(sm->mem_peak, m, sizeof m),
	    meter_fmt(sm->procs_peak, 0, "", p, sizeof p),
	    end_reason != NULL ? end_reason : "-");
	return (buf);
}

/* A tiny appender that remembers overflow. */
struct meter_jbuf {
	char	*p;
	size_t	 len, off;
	bool	 over;
};

static void __attribute__((format(printf, 2, 3)))
meter_j(struct meter_jbuf *j, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (j->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->p + j->off, j->len - j->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= j->len - j->off)
		j->over = true;
	else
		j->off += (size_t)n;
}

static void
meter_j_num(struct meter_jbuf *j, const char *key, double v, int prec)
{
	if (isnan(v) || isinf(v))
		meter_j(j, "\"%s\":null,", key);
	else
		meter_j(j, "\"%s\":%.*f,", key, prec, v);
}

static void
meter_j_str(struct meter_jbuf *j, const char *key, const char *s)
{
	const unsigned char	*c;

	if (s == NULL) {
		meter_j(j, "\"%s\":null,", key);
		return;
	}
	meter_j(j, "\"%s\":\"", key);
	for (c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			meter_j(j, "\\%c", *c);
		else if (*c < 0x20)
			meter_j(j, "\\u%04x", *c);
		else
			meter_j(j, "%c", *c);
	}
	meter_j(j, "\",");
}

int
meter_format_json(const struct meter_summary *sm, const char *end_reason,
    int exit_code, const struct limits *l, const char *enforced, char *buf,
    size_t len)
{
	struct meter_jbuf	j = { buf, len, 0, false };

	if (len == 0)
		return (-1);
	meter_j(&j, "{");
	meter_j_num(&j, "wall_s", sm->wall, 3);
	meter_j_num(&j, "cpu_user_s", sm->cpu_user, 3);
	meter_j_num(&j, "cpu_sys_s", sm->cpu_sys, 3);
	meter_j_num(&j, "mem_peak_bytes", sm->mem_peak, 0);
	meter_j_num(&j, "procs_peak", sm->procs_peak, 0);
	meter_j_num(&j, "io_read_bytes", sm->io_read, 0);
	meter_j_num(&j, "io_write_bytes", sm->io_write, 0);
	meter_j_str(&j, "end_reason", end_reason);
	meter_j(&j, "\"exit_code\":%d,", exit_code);
	meter_j(&j, "\"limits\":{");
	if (l != NULL) {
		meter_j_num(&j, "memory_bytes", l->memory ? (double)l->memory : NAN, 0);
		meter_j_num(&j, "memory_swap_bytes",
		    l->memory_swap ? (double)l->memory_swap : NAN, 0);
		meter_j_num(&j, "cpus", l->cpus > 0 ? l->cpus : NAN, 2);
		meter_j_num(&j, "pids", l->nproc ? (double)l->nproc : NAN, 0);
		meter_j_num(&j, "timeout_s", l->timeout > 0 ? l->timeout : NAN, 3);
		meter_j_num(&j, "cpu_time_s", l->cpu_time > 0 ? l->cpu_time : NAN, 3);
		meter_j_num(&j, "nofile", l->nofile ? (double)l->nofile : NAN, 0);
		meter_j_num(&j, "fsize_bytes", l->fsize ? (double)l->fsize : NAN, 0);
		if (!j.over && buf[j.off - 1] == ',')
			j.off--;
	}
	meter_j(&j, "},");
	meter_j_str(&j, "enforced", enforced);
	meter_j_str(&j, "meter_source", sm->source);
	if (!j.over && buf[j.off - 1] == ',')
		j.off--;
	meter_j(&j, "}");
	if (j.over) {
		buf[0] = '\0';
		return (-1);
	}
	buf[j.off] = '\0';
	return (0);
}
