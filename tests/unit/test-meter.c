/* test-meter.c: the meter's math and formatting (pure), then live samplers
 * in the poll loop: from /proc over a process tree (any user) and from a
 * cgroup v1 group (root). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cg.h"
#include "base/loop.h"
#include "sandbox/meter.h"
#include "base/util.h"
#include "../tap.h"

static void
test_math(void)
{
	tap_ok(meter_sub_sat(5, 3) == 2 && meter_sub_sat(3, 5) == 0,
	    "sub_sat saturates at 0");
	tap_ok(meter_dsub_sat(1.5, 0.5) == 1.0 && meter_dsub_sat(0.5, 1.5) == 0 &&
	    isnan(meter_dsub_sat(NAN, 1)), "dsub_sat saturates, NAN stays NAN");
	tap_ok(fabs(meter_cpu_pct(0.25, 0.5) - 50.0) < 1e-9,
	    "cpu_pct: 0.25 s in 0.5 s is 50%%");
	tap_ok(fabs(meter_cpu_pct(1.8, 1.0) - 180.0) < 1e-9,
	    "cpu_pct: two cores can exceed 100%%");
	tap_ok(isnan(meter_cpu_pct(1, 0)) && isnan(meter_cpu_pct(NAN, 1)) &&
	    meter_cpu_pct(-1, 1) == 0, "cpu_pct: no interval is NAN, a drop is 0");
	tap_ok(fabs(meter_quota_pct(50, 0.5) - 100) < 1e-9 &&
	    fabs(meter_quota_pct(100, 2) - 50) < 1e-9 &&
	    isnan(meter_quota_pct(50, 0)), "quota_pct against 0.5 and 2 cores");
	tap_ok(meter_max(NAN, 3) == 3 && meter_max(4, NAN) == 4 &&
	    isnan(meter_max(NAN, NAN)) && meter_max(2, 5) == 5, "max is NAN-aware");
}

static void
test_format(void)
{
	char			 b[512];
	struct meter_sample	 s = { .t = 2.5, .cpu_pct = 48.4, .cpu_quota_pct = 96.8,
	    .mem_current = 200.0 * 1048576, .mem_peak = 210.0 * 1048576,
	    .nprocs = 3, .io_read = 1536, .io_write = 0 };
	struct meter_summary	 sm = { .wall = 2.514, .cpu_user = 1.2, .cpu_sys = 0.03,
	    .mem_peak = 67108864, .procs_peak = 3, .io_read = NAN, .io_write = NAN,
	    .source = "cgroup v1" };
	struct limits		 l = { .memory = 64ULL << 20, .cpus = 0.5, .nproc = 100,
	    .timeout = 10 };

	tap_ok(strcmp(meter_format_bytes(0, b, sizeof b), "0B") == 0, "bytes: 0B");
	tap_ok(strcmp(meter_format_bytes(1536, b, sizeof b), "1.5K") == 0,
	    "bytes: 1.5K");
	tap_ok(strcmp(meter_format_bytes(200.0 * 1048576, b, sizeof b),
	    "200.0M") == 0, "bytes: 200.0M");
	tap_ok(strcmp(meter_format_bytes(NAN, b, sizeof b), "-") == 0,
	    "bytes: NAN is -");
	meter_format_line(&s, b, sizeof b);
	tap_ok(strcmp(b, "cpu  48% (97% of quota)  mem 200.0M (peak 210.0M)  "
	    "procs 3  io 1.5K/0B  2.5s") == 0, "live line: %s", b);
	s.cpu_pct = s.cpu_quota_pct = s.nprocs = NAN;
	meter_format_line(&s, b, sizeof b);
	tap_ok(strstr(b, "cpu    - (- of quota)") != NULL &&
	    strstr(b, "procs -") != NULL, "live line, unknowns: %s", b);
	meter_format_summary(&sm, "oom", b, sizeof b);
	tap_ok(strcmp(b, "moat: wall 2.51s  cpu 1.20s user 0.03s sys  peak mem "
	    "64.0M  peak procs 3  end oom") == 0, "summary: %s", b);
	tap_ok(meter_format_json(&sm, "oom", 137, &l, "cgroup v1: \"mem\" 64M",
	    b, sizeof b) == 0, "json fits");
	tap_ok(strcmp(b, "{\"wall_s\":2.514,\"cpu_user_s\":1.200,\"cpu_sys_s\":0.030,"
	    "\"mem_peak_bytes\":67108864,\"procs_peak\":3,\"io_read_bytes\":null,"
	    "\"io_write_bytes\":null,\"end_reason\":\"oom\",\"exit_code\":137,"
	    "\"limits\":{\"memory_bytes\":67108864,\"memory_swap_bytes\":null,"
	    "\"cpus\":0.50,\"pids\":100,\"timeout_s\":10.000,\"cpu_time_s\":null,"
	    "\"nofile\":null,\"fsize_bytes\":null},"
	    "\"enforced\":\"cgroup v1: \\\"mem\\\" 64M\","
	    "\"meter_source\":\"cgroup v1\"}") == 0, "json: %s", b);
	tap_ok(meter_format_json(&sm, "oom", 137, NULL, NULL, b, 40) == -1 &&
	    b[0] == '\0', "json: too small a buffer is an error, not a cut object");
}

struct collect {
	unsigned long	n;
	double		max_pct, max_mem, max_procs;
	struct meter_sample last;
};

static void
collect_cb(void *arg, const struct meter_sample *s)
{
	struct collect	*c = arg;

	c->n++;
	c->max_pct = meter_max(c->max_pct, s->cpu_pct);
	c->max_mem = meter_max(c->max_mem, s->mem_current);
	c->max_procs = meter_max(c->max_procs, s->nprocs);
	c->last = *s;
}

static char *volatile	keep;	/* so the compiler keeps the writes */

static int
work(double secs, size_t hold_mb, int spinners)
{
	double	 end = now_mono() + secs;
	char	*p = NULL;
	int	 i;

	for (i = 0; i < spinners; i++)
		if (fork() == 0) {
			while (now_mono() < end)
				;
			_exit(0);
		}
	if (hold_mb > 0 && (p = malloc(hold_mb << 20)) != NULL) {
		memset(p, 7, hold_mb << 20);
		keep = p;
	}
	while (now_mono() < end)
		usleep(10000);
	while (wait(NULL) > 0)
		;
	free(p);
	return (0);
}

static double	child_cpu;	/* wait4's user + sys of the last child */

/* Runs the loop until pid exits; returns its status. */
static int
run_until_exit(struct loop *l, pid_t pid)
{
	int		status;
	struct merr	e;
	struct rusage	ru;

	for (;;) {
		if (wait4(pid, &status, WNOHANG, &ru) == pid) {
			child_cpu = (double)ru.ru_utime.tv_sec +
			    (double)ru.ru_utime.tv_usec / 1e6 +
			    (double)ru.ru_stime.tv_sec +
			    (double)ru.ru_stime.tv_usec / 1e6;
			return (status);
		}
		if (loop_once(l, 50, &e) == -1 && errno != EINTR)
			return (-1);
	}
}

static void
test_live_proc(void)
{
	struct merr		 e;
	struct loop		*l = loop_new(&e);
	struct meter		*m;
	struct meter_summary	 sm;
	struct collect		 c = { .max_pct = NAN, .max_mem = NAN, .max_procs = NAN };
	pid_t			 pid;
	int			 p[2];
	char			 x;

	if (pipe(p) == -1)
		return;
	if ((pid = fork()) == 0) {
		close(p[1]);
		if (read(p[0], &x, 1) != 1)
			_exit(1);
		_exit(work(1.5, 64, 2));
	}
	close(p[0]);
	m = meter_start(l, 10, NULL, pid, collect_cb, &c, &e);
	if (!tap_ok(m != NULL, "procfs: meter_start"))
		return;
	if (write(p[1], "x", 1) != 1)
		tap_diag("pipe: %s", strerror(errno));
	close(p[1]);
	run_until_exit(l, pid);
	meter_stop(m, &sm);
	loop_free(l);
	tap_ok(c.n >= 10 && c.n <= 20, "procfs: %lu samples at 10 Hz in ~1.5 s",
	    c.n);
	/* The machine may be loaded: compare with what the kernel says the
	 * tree used rather than with what two spinners could use. */
	tap_ok(c.max_pct > 0 && c.max_pct <= 230,
	    "procfs: two spinners seen at up to %.0f%% of one core", c.max_pct);
	tap_ok(c.max_mem >= 60e6 && c.max_mem <= 90e6,
	    "procfs: 64M held seen as %.1fM", c.max_mem / 1048576);
	tap_ok(c.max_procs >= 3, "procfs: %.0f tasks seen", c.max_procs);
	tap_ok(sm.wall >= 1.4 && strcmp(sm.source, "procfs") == 0 &&
	    sm.cpu_user + sm.cpu_sys >= child_cpu * 0.75 &&
	    sm.cpu_user + sm.cpu_sys <= child_cpu * 1.05 + 0.02,
	    "procfs summary: wall %.2f user %.2f sys %.2f (wait4: %.2f) peak %.1fM "
	    "procs %.0f", sm.wall, sm.cpu_user, sm.cpu_sys, child_cpu,
	    sm.mem_peak / 1048576, sm.procs_peak);
	meter_summary_rusage(&sm, child_cpu, 0, NAN);
	tap_ok(sm.cpu_user + sm.cpu_sys >= child_cpu,
	    "summary raised to the wait4 figure");
	{
		double	peak = sm.mem_peak;

		meter_summary_rusage(&sm, 0, 0, peak * 2);
		tap_ok(sm.mem_peak == peak * 2,
		    "the peak raised to the largest process's resident size");
		meter_summary_rusage(&sm, 0, 0, peak);
		tap_ok(sm.mem_peak == peak * 2, "and never lowered by it");
		sm.mem_peak = NAN;
		meter_summary_rusage(&sm, 0, 0, 123e6);
		tap_ok(sm.mem_peak == 123e6, "a peak no sample gave comes from it");
	}
}

/* A cgroup for a test, named after the test and this process, with a cpu
 * quota when cpus > 0; NULL (said why) where none can be had. */
static struct cg *
test_cg(const char *name, double cpus)
{
	struct merr	 e;
	struct limits	 lim;
	struct cg	*cg;
	char		 id[64];

	memset(&lim, 0, sizeof lim);
	lim.cpus = cpus;
	snprintf(id, sizeof id, "t%ld-%ld-%s", (long)time(NULL), (long)getpid(), name);
	if ((cg = cg_create(id, &lim, &e)) == NULL || cg_mode(cg) == CG_NONE) {
		tap_diag("no cgroup: %s", cg ? cg_describe(cg) : e.msg);
		cg_destroy(cg, &e);
		return (NULL);
	}
	return (cg);
}

static void
test_live_cg(void)
{
	struct merr		 e;
	struct loop		*l;
	struct meter		*m;
	struct meter_summary	 sm;
	struct collect		 c = { .max_pct = NAN, .max_mem = NAN, .max_procs = NAN };
	struct cg		*cg;
	pid_t			 pid;
	int			 p[2];
	char			 x;

	if ((cg = test_cg("meter", 0.5)) == NULL)
		return;
	l = loop_new(&e);
	if (pipe(p) == -1)
		return;
	if ((pid = fork()) == 0) {
		close(p[1]);
		if (read(p[0], &x, 1) != 1)
			_exit(1);
		_exit(work(1.5, 100, 1));
	}
	close(p[0]);
	cg_attach(cg, pid, &e);
	m = meter_start(l, 10, cg, pid, collect_cb, &c, &e);
	if (write(p[1], "x", 1) != 1)
		tap_diag("pipe: %s", strerror(errno));
	close(p[1]);
	run_until_exit(l, pid);
	meter_stop(m, &sm);
	loop_free(l);
	tap_ok(strcmp(sm.source, "cgroup v1") == 0 || strcmp(sm.source,
	    "cgroup v2") == 0, "cgroup: source %s", sm.source);
	tap_ok(sm.mem_peak >= 100e6 && sm.mem_peak <= 120e6,
	    "cgroup: 100M held, peak %.1fM", sm.mem_peak / 1048576);
	/* One 100 ms sample may straddle two 100 ms quota periods and see up
	 * to a full core; over the run the average holds. */
	tap_ok(c.max_pct > 0 && c.max_pct <= 110 &&
	    (sm.cpu_user + sm.cpu_sys) / sm.wall < 0.6 &&
	    fabs(c.last.cpu_quota_pct - 2 * c.last.cpu_pct) < 1e-6,
	    "cgroup: a spinner under cpus 0.5: %.2f of a core on average, "
	    "samples up to %.0f%%, quota %% is twice the core %%",
	    (sm.cpu_user + sm.cpu_sys) / sm.wall, c.max_pct);
	tap_ok(fabs(sm.cpu_user + sm.cpu_sys - child_cpu) <= 0.1 * child_cpu + 0.05,
	    "cgroup: cpu %.2f s (wait4 %.2f s) over %.2f s wall at 0.5 cores",
	    sm.cpu_user + sm.cpu_sys, child_cpu, sm.wall);
	cg_destroy(cg, &e);
}

/* The first sample's CPU percentage counts from meter_start, not from the
 * group's creation: a group that spent CPU before the meter started (init
 * setting up a sandbox) and is idle after shows an idle first sample, not
 * the earlier spin; and a process that ran and stopped in the group before
 * is in the peak of processes. */
static void
test_start_baseline(void)
{
	struct merr		 e;
	struct loop		*l;
	struct meter		*m;
	struct meter_summary	 sm;
	struct collect		 c = { .max_pct = NAN, .max_mem = NAN, .max_procs = NAN };
	struct cg		*cg;
	pid_t			 pid;
	int			 go[2], spun[2];
	char			 x;

	if ((cg = test_cg("meter0", 0)) == NULL)
		return;
	l = loop_new(&e);
	if (pipe(go) == -1 || pipe(spun) == -1)
		return;
	if ((pid = fork()) == 0) {
		struct timespec	ts;

		close(go[1]);
		close(spun[0]);
		if (read(go[0], &x, 1) != 1)
			_exit(1);
		/* 0.3 s of CPU (not of wall time: a loaded machine gives
		 * less) with a second process, both before the meter. */
		if (fork() == 0)
			_exit(0);
		wait(NULL);
		do
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		while ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 < 0.3);
		if (write(spun[1], "x", 1) != 1)
			_exit(1);
		usleep(450000);
		_exit(0);
	}
	close(go[0]);
	close(spun[1]);
	cg_attach(cg, pid, &e);
	if (write(go[1], "x", 1) != 1 || read(spun[0], &x, 1) != 1)
		tap_diag("pipe: %s", strerror(errno));
	m = meter_start(l, 10, cg, pid, collect_cb, &c, &e);
	run_until_exit(l, pid);
	meter_stop(m, &sm);
	loop_free(l);
	tap_ok(c.n >= 2 && !isnan(c.max_pct) && c.max_pct < 30,
	    "cgroup: CPU spent before meter_start is not in the first samples "
	    "(%lu samples, at most %.0f%%)", c.n, c.max_pct);
	tap_ok(sm.cpu_user + sm.cpu_sys >= 0.25,
	    "cgroup: but it is in the run's CPU time (%.2f s)",
	    sm.cpu_user + sm.cpu_sys);
	tap_ok(sm.procs_peak == 2, "cgroup: a process gone before meter_start is "
	    "in the peak of processes (%.0f)", sm.procs_peak);
	close(go[1]);
	close(spun[0]);
	cg_destroy(cg, &e);
}

int
main(void)
{
	test_math();
	test_format();
	test_live_proc();
	if (geteuid() == 0) {
		test_live_cg();
		test_start_baseline();
	} else
		tap_diag("not root: the cgroup-backed sampler is not tested");
	return (tap_done());
}
