/* test-cg.c: cg.c against the real kernel. As root on this machine's
 * cgroup v1: limits that the kernel enforces (OOM kill, pids.max, CPU
 * quota), counters, kill, removal, the sweep of a crashed run's group, and
 * the v2 code paths in the (controller-less, hybrid) unified hierarchy,
 * including clone3(CLONE_INTO_CGROUP). Unprivileged: that nothing writable
 * is reported honestly and require_cgroups refuses. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <grp.h>
#include <unistd.h>
#include <linux/sched.h>

#include "sandbox/cg.h"
#include "base/util.h"
#include "../tap.h"

static void
mkid(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "t%ld-%ld-%s", (long)time(NULL), (long)getpid(), what);
}

static bool
exists(const char *p)
{
	struct stat	sb;

	return (p != NULL && stat(p, &sb) == 0);
}

/* Forks a child that waits until the parent attached it, then runs fn. */
static pid_t
spawn_attached(struct cg *cg, int (*fn)(void))
{
	int	p[2];
	pid_t	pid;
	char	c;
	struct merr e;

	if (pipe(p) == -1)
		return (-1);
	if ((pid = fork()) == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(99);
		_exit(fn());
	}
	close(p[0]);
	if (cg_attach(cg, pid, &e) == -1)
		tap_diag("attach: %s", e.msg);
	if (write(p[1], "x", 1) != 1)
		tap_diag("handshake: %s", strerror(errno));
	close(p[1]);
	return (pid);
}

static int
hog(void)
{
	size_t	 i, mb = 200;
	char	*p;

	for (i = 0; i < mb; i++) {
		if ((p = malloc(1 << 20)) == NULL)
			return (3);
		memset(p, 1, 1 << 20);
	}
	return (0);
}

static int
forker(void)
{
	int	i, fails = 0;
	pid_t	pid;

	for (i = 0; i < 40; i++) {
		if ((pid = fork()) == 0) {
			sleep(2);
			_exit(0);
		}
		if (pid == -1)
			fails++;
	}
	while (wait(NULL) > 0)
		;
	return (fails > 100 ? 100 : fails);
}

static int
spin(void)
{
	struct timespec	ts;

	/* 0.7 s of CPU, however long a loaded machine takes to give it. */
	do
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	while (ts.tv_sec + ts.tv_nsec / 1e9 < 0.7);
	return (0);
}

static int
sleeper(void)
{
	if (fork() == 0)
		sleep(30);
	sleep(30);
	return (0);
}

static void
test_v1_root(void)
{
	struct limits	 l;
	struct merr	 e;
	struct cg	*cg;
	struct cg_stats	 st;
	struct cg_events ev;
	char		 id[64], path[512];
	int		 status, n;
	pid_t		 pid;
	double		 t0, t1;

	/* Memory: 64M, a child that writes 200M is OOM-killed. */
	memset(&l, 0, sizeof l);
	l.memory = 64ULL << 20;
	mkid(id, sizeof id, "mem");
	{
		/* The group made on the reading its limits were resolved on. */
		struct cg_host	*h = cg_host_new();
		struct limits	 out;
		char		 hid[64];

		cg_limits_resolve_on(h, &l, &out, NULL, 0);
		mkid(hid, sizeof hid, "host");
		cg = cg_create_on(h, hid, &out, 0, &e);
		tap_ok(cg != NULL && cg_mode(cg) == CG_V1 && cg_path(cg) != NULL &&
		    exists(cg_path(cg)), "v1: a group made on a host read for its limits: %s",
		    cg != NULL && cg_path(cg) != NULL ? cg_path(cg) : e.msg);
		if (cg != NULL)
			cg_destroy(cg, &e);
		cg_host_free(h);
	}
	cg = cg_create(id, &l, &e);
	if (!tap_ok(cg != NULL && cg_mode(cg) == CG_V1, "v1: create %s", id)) {
		tap_diag("%s", cg == NULL ? e.msg : cg_describe(cg));
		return;
	}
	tap_diag("%s", cg_describe(cg));
	tap_ok(strstr(cg_describe(cg), "cgroup v1: memory 64M") != NULL,
	    "v1: description names the memory limit");
	snprintf(path, sizeof path, "%s", cg_path(cg));
	tap_ok(exists(path) && strstr(path, "/moat/") != NULL,
	    "v1: group directory %s exists", path);
	pid = spawn_attached(cg, hog);
	waitpid(pid, &status, 0);
	tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "v1: 200M hog under 64M is SIGKILLed (status %#x)", status);
	cg_events(cg, &ev);
	tap_ok(ev.oom_kills >= 1, "v1: oom_kill counted (%llu)",
	    (unsigned long long)ev.oom_kills);
	tap_ok(cg_end_reason(cg) == END_OOM, "v1: end reason is oom");
	cg_stats(cg, &st);
	tap_ok(!isnan(st.mem_peak) && st.mem_peak >= 32e6 &&
	    st.mem_peak <= 68e6, "v1: memory peak %.0f within the 64M limit",
	    st.mem_peak);
	tap_ok(cg_destroy(cg, &e) == 0 && !exists(path),
	    "v1: destroy removes the group");

	/* pids: 10, a fork loop meets the limit. */
	memset(&l, 0, sizeof l);
	l.nproc = 10;
	mkid(id, sizeof id, "pids");
	if ((cg = cg_create(id, &l, &e)) == NULL) {
		tap_ok(0, "v1: create pids group: %s", e.msg);
		return;
	}
	pid = spawn_attached(cg, forker);
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) >= 25,
	    "v1: fork loop refused (%d of 40 forks failed)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	cg_events(cg, &ev);
	tap_ok(ev.pids_max >= 1, "v1: pids.events max counted (%llu)",
	    (unsigned long long)ev.pids_max);
	tap_ok(cg_end_reason(cg) == END_PIDS, "v1: end reason is pids");
	tap_ok(cg_destroy(cg, &e) == 0, "v1: destroy pids group");

	/* cpu 0.5: a spinning child gets about half a core. */
	memset(&l, 0, sizeof l);
	l.cpus = 0.5;
	mkid(id, sizeof id, "cpu");
	if ((cg = cg_create(id, &l, &e)) == NULL) {
		tap_ok(0, "v1: create cpu group: %s", e.msg);
		return;
	}
	tap_ok(cg_cpus(cg) == 0.5, "v1: cpu quota 0.5 set");
	t0 = now_mono();
	pid = spawn_attached(cg, spin);
	waitpid(pid, &status, 0);
	t1 = now_mono();
	cg_stats(cg, &st);
	/* The quota is a ceiling; a loaded machine may give less. That the
	 * kernel throttled the group proves the quota was in force. */
	cg_events(cg, &ev);
	tap_ok(ev.throttled > 0 || st.cpu_total / (t1 - t0) < 0.45,
	    "v1: cpu.stat nr_throttled %llu (or the loaded machine never gave "
	    "it half a core: %.2f)", (unsigned long long)ev.throttled,
	    st.cpu_total / (t1 - t0));
	tap_ok(!isnan(st.cpu_total) && st.cpu_total / (t1 - t0) > 0.05 &&
	    st.cpu_total / (t1 - t0) < 0.6,
	    "v1: spinning under cpus 0.5 used %.2f s CPU in %.2f s (ratio %.2f)",
	    st.cpu_total, t1 - t0, st.cpu_total / (t1 - t0));
	tap_ok(!isnan(st.cpu_user) && !isnan(st.cpu_sys) &&
	    !isnan(st.pids_current) && !isnan(st.mem_current) &&
	    !isnan(st.io_read), "v1: stats readable (user %.2f sys %.2f "
	    "pids %.0f mem %.0f io %.0f/%.0f)", st.cpu_user, st.cpu_sys,
	    st.pids_current, st.mem_current, st.io_read, st.io_write);
	tap_ok(cg_end_reason(cg) == END_NONE, "v1: no limit event on the cpu run");
	cg_destroy(cg, &e);

	/* kill and destroy with live tasks. */
	memset(&l, 0, sizeof l);
	mkid(id, sizeof id, "kill");
	cg = cg_create(id, &l, &e);
	if (cg == NULL)
		return;
	snprintf(path, sizeof path, "%s", cg_path(cg));
	pid = spawn_attached(cg, sleeper);
	usleep(200000);
	cg_stats(cg, &st);
	tap_ok(st.pids_current == 2, "v1: two sleepers counted (%.0f)",
	    st.pids_current);
	n = cg_kill(cg, SIGKILL);
	waitpid(pid, &status, 0);
	tap_ok(n >= 2 && WIFSIGNALED(status), "v1: cg_kill reached %d tasks", n);
	tap_ok(cg_destroy(cg, &e) == 0 && !exists(path),
	    "v1: destroy after kill leaves nothing");
}

/* A moat that dies without cleaning up: its group must be swept. */
static void
test_sweep(void)
{
	int	 p[2], status;
	char	 path[512] = "";
	pid_t	 pid;
	ssize_t	 n;
	struct merr e;

	if (pipe(p) == -1)
		return;
	if ((pid = fork()) == 0) {
		struct limits	 l;
		struct cg	*cg;
		char		 id[64];

		memset(&l, 0, sizeof l);
		snprintf(id, sizeof id, "t%ld-%ld-crashed", (long)time(NULL),
		    (long)getpid());
		if ((cg = cg_create(id, &l, &e)) == NULL || cg_path(cg) == NULL)
			_exit(1);
		if (fork() == 0) {
			struct merr	e2;

			cg_attach(cg, getpid(), &e2);
			sleep(30);
			_exit(0);
		}
		usleep(100000);
		if (write(p[1], cg_path(cg), strlen(cg_path(cg))) <= 0)
			_exit(2);
		raise(SIGKILL);
	}
	close(p[1]);
	n = read(p[0], path, sizeof path - 1);
	close(p[0]);
	waitpid(pid, &status, 0);
	if (n > 0)
		path[n] = '\0';
	tap_ok(n > 0 && exists(path), "sweep: crashed run left %s", path);
	tap_ok(cg_sweep(&e) >= 1 && !exists(path),
	    "sweep: removes it and kills what was left");
}

static long
clone3_into(int dirfd)
{
	struct clone_args	a;

	memset(&a, 0, sizeof a);
	a.flags = CLONE_INTO_CGROUP;
	a.exit_signal = SIGCHLD;
	a.cgroup = (uint64_t)dirfd;
	return (syscall(SYS_clone3, &a, sizeof a));
}

/* The v2 paths on this hybrid host: the unified hierarchy exists but the
 * controllers are bound to v1, so no limit can be enforced there; the group,
 * CLONE_INTO_CGROUP, cpu.stat, cgroup.kill and removal can be. */
static void
test_v2_root(void)
{
	struct limits	 l;
	struct merr	 e;
	struct cg	*cg;
	struct cg_stats	 st;
	char		 id[64], path[512], buf[1024];
	int		 status, fd, n, spun[2];
	long		 pid;

	setenv("MOAT_CGROUP", "v2", 1);
	memset(&l, 0, sizeof l);
	l.memory = 64ULL << 20;
	l.require_cgroups = true;
	mkid(id, sizeof id, "v2req");
	cg = cg_create(id, &l, &e);
	if (cg != NULL && (cg_controllers(cg) & CG_CTL_MEMORY)) {
		tap_diag("v2 has a memory controller here: %s", cg_describe(cg));
		cg_destroy(cg, &e);
	} else {
		tap_ok(cg == NULL && strstr(e.msg, "memory") != NULL,
		    "v2 (no controllers): require_cgroups refuses a memory limit: %s",
		    cg == NULL ? e.msg : "created");
		cg_destroy(cg, &e);
	}
	l.require_cgroups = false;
	l.cpus = 0.5;
	mkid(id, sizeof id, "v2");
	cg = cg_create(id, &l, &e);
	if (!tap_ok(cg != NULL && cg_mode(cg) == CG_V2, "v2: create %s", id)) {
		tap_diag("%s", cg == NULL ? e.msg : cg_describe(cg));
		unsetenv("MOAT_CGROUP");
		return;
	}
	tap_diag("%s", cg_describe(cg));
	snprintf(path, sizeof path, "%s", cg_path(cg));
	if (cg_controllers(cg) == 0)
		tap_ok(strstr(cg_describe(cg), "not enforced") != NULL,
		    "v2: description says which limits are not enforced");
	tap_ok(cg_dirfd(cg) >= 0, "v2: directory fd for CLONE_INTO_CGROUP");
	if (pipe(spun) == -1)
		spun[0] = spun[1] = -1;
	pid = clone3_into(cg_dirfd(cg));
	if (pid == 0) {
		/* Child: spin a little, say so, then sleep until killed. */
		spin();
		(void)!write(spun[1], "x", 1);
		pause();
		_exit(0);
	}
	close(spun[1]);
	tap_ok(pid > 0, "v2: clone3(CLONE_INTO_CGROUP) (%s)",
	    pid > 0 ? "ok" : strerror(errno));
	if (pid <= 0) {
		cg_destroy(cg, &e);
		unsetenv("MOAT_CGROUP");
		return;
	}
	snprintf(buf, sizeof buf, "/proc/%ld/cgroup", pid);
	{
		autofree char	*t = NULL, *self = NULL;

		if (read_file(buf, &t, NULL, &e) == 0)
			self = cg_parse_self(t, "");
		tap_ok(self != NULL && strstr(self, id) != NULL,
		    "v2: the child was born in the group (%s)", self ? self : "?");
	}
	{
		char	x;

		(void)!read(spun[0], &x, 1);	/* the child has spun */
		close(spun[0]);
	}
	cg_stats(cg, &st);
	tap_ok(!isnan(st.cpu_total) && st.cpu_total > 0.5,
	    "v2: cpu.stat usage %.2f s of the spinning child", st.cpu_total);
	snprintf(buf, sizeof buf, "%s/cgroup.kill", path);
	n = cg_kill(cg, SIGKILL);
	waitpid((pid_t)pid, &status, 0);
	tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "v2: cg_kill (%s) killed the child",
	    access(buf, W_OK) == 0 ? "cgroup.kill" : "procs loop");
	(void)n;
	tap_ok(cg_destroy(cg, &e) == 0 && !exists(path),
	    "v2: destroy removes %s", path);
	unsetenv("MOAT_CGROUP");

	/* A cgroup2 mount made by the test is the same hierarchy: report what
	 * it offers. */
	{
		char	tmp[] = "/tmp/moat-cg2.XXXXXX";

		if (mkdtemp(tmp) != NULL) {
			if (mount("none", tmp, "cgroup2", 0, NULL) == 0) {
				snprintf(buf, sizeof buf, "%s/cgroup.controllers", tmp);
				fd = open(buf, O_RDONLY);
				n = fd == -1 ? -1 : (int)read(fd, buf, sizeof buf - 1);
				if (fd != -1)
					close(fd);
				tap_ok(n >= 0, "v2: mounted cgroup2 at %s, controllers: "
				    "\"%.*s\"", tmp, n > 0 ? n - 1 : 0, buf);
				umount2(tmp, MNT_DETACH);
			} else
				tap_diag("mount -t cgroup2: %s", strerror(errno));
			rmdir(tmp);
		}
	}
}

/* Delegation as systemd does it for user@UID.service: a v2 group owned by
 * an unprivileged user (the directory, cgroup.procs, subtree_control,
 * threads). A child moved into it drops to uid 65534 and must find the
 * delegated group writable, nest moat/<id> in it and move a process there
 * (write access to the common ancestor's cgroup.procs). */
static void
test_v2_delegated(void)
{
	static const char *const files[] = { "", "/cgroup.procs",
	    "/cgroup.subtree_control", "/cgroup.threads" };
	const char	*top = "/sys/fs/cgroup/unified";
	char		 deleg[256], f[300], moatdir[300];
	int		 p[2], status;
	size_t		 i;
	pid_t		 pid;
	ssize_t		 n;
	char		 msg[512] = "";

	snprintf(deleg, sizeof deleg, "%s/moat-test-deleg-%ld", top, (long)getpid());
	if (!exists(top) || mkdir(deleg, 0755) == -1) {
		tap_diag("v2 delegation: cannot make %s: %s", deleg, strerror(errno));
		return;
	}
	for (i = 0; i < nitems(files); i++) {
		snprintf(f, sizeof f, "%s%s", deleg, files[i]);
		if (chown(f, 65534, 65534) == -1)
			tap_diag("chown %s: %s", f, strerror(errno));
	}
	if (pipe(p) == -1)
		return;
	if ((pid = fork()) == 0) {
		struct limits	 l;
		struct merr	 e;
		struct cg	*cg;
		char		 id[64], cgf[64], b[64];
		pid_t		 gc;
		int		 st, fd;

		close(p[0]);
		dup2(p[1], 1);
		snprintf(f, sizeof f, "%s/cgroup.procs", deleg);
		if ((fd = open(f, O_WRONLY)) == -1 ||
		    dprintf(fd, "%ld", (long)getpid()) < 0)
			_exit(10);
		close(fd);
		if (setgroups(0, NULL) == -1 || setgid(65534) == -1 ||
		    setuid(65534) == -1)
			_exit(11);
		setenv("MOAT_CGROUP", "v2", 1);
		memset(&l, 0, sizeof l);
		snprintf(id, sizeof id, "t%ld-%ld-deleg", (long)time(NULL),
		    (long)getpid());
		if ((cg = cg_create(id, &l, &e)) == NULL) {
			printf("create: %s", e.msg);
			_exit(12);
		}
		if (cg_mode(cg) != CG_V2) {
			printf("mode: %s", cg_describe(cg));
			_exit(13);
		}
		if ((gc = fork()) == 0) {
			pause();
			_exit(0);
		}
		if (cg_attach(cg, gc, &e) == -1) {
			printf("attach: %s", e.msg);
			_exit(14);
		}
		snprintf(cgf, sizeof cgf, "/proc/%ld/cgroup", (long)gc);
		{
			autofree char	*t = NULL, *self = NULL;

			if (read_file(cgf, &t, NULL, &e) == 0)
				self = cg_parse_self(t, "");
			snprintf(b, sizeof b, "%s", self ? self : "?");
		}
		cg_kill(cg, SIGKILL);
		waitpid(gc, &st, 0);
		printf("%s|%s", cg_path(cg), b);
		fflush(stdout);
		if (cg_destroy(cg, &e) == -1) {
			printf("|destroy: %s", e.msg);
			_exit(15);
		}
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof msg - 1);
	close(p[0]);
	if (n > 0)
		msg[n] = '\0';
	waitpid(pid, &status, 0);
	snprintf(moatdir, sizeof moatdir, "%s/moat/", deleg);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    strncmp(msg, moatdir, strlen(moatdir)) == 0,
	    "v2 delegated to uid 65534: nested group created, a process moved "
	    "in and removed (%s; status %#x)", msg, status);
	tap_ok(strstr(msg, "|/moat-test-deleg-") != NULL &&
	    strstr(msg, "/moat/t") != NULL, "v2 delegated: the process was in "
	    "the nested group");
	snprintf(f, sizeof f, "%s/moat", deleg);
	rmdir(f);
	tap_ok(rmdir(deleg) == 0, "v2 delegated: nothing left behind");
}

static void
test_none(void)
{
	struct limits	 l;
	struct merr	 e;
	struct cg	*cg;
	struct cg_stats	 st;

	memset(&l, 0, sizeof l);
	l.memory = 64ULL << 20;
	setenv("MOAT_CGROUP", "none", 1);
	cg = cg_create("t1-1-none", &l, &e);
	tap_ok(cg != NULL && cg_mode(cg) == CG_NONE &&
	    strncmp(cg_describe(cg), "rlimits only:", 13) == 0,
	    "MOAT_CGROUP=none: falls back (%s)", cg ? cg_describe(cg) : e.msg);
	if (cg != NULL) {
		tap_ok(cg_attach(cg, getpid(), &e) == 0 && cg_dirfd(cg) == -1 &&
		    cg_stats(cg, &st) == -1 && isnan(st.mem_current) &&
		    cg_end_reason(cg) == END_NONE && cg_kill(cg, SIGKILL) == 0,
		    "CG_NONE: attach no-op, no fd, stats NAN, no events");
		cg_destroy(cg, &e);
	}
	l.require_cgroups = true;
	cg = cg_create("t1-1-none", &l, &e);
	tap_ok(cg == NULL && strstr(e.msg, "require_cgroups") != NULL,
	    "require_cgroups refuses to fall back: %s", e.msg);
	unsetenv("MOAT_CGROUP");
}

static void
test_unpriv(void)
{
	struct limits	 l;
	struct merr	 e;
	struct cg	*cg;
	char		 d[512];
	int		 status;
	pid_t		 pid;

	memset(&l, 0, sizeof l);
	l.memory = 64ULL << 20;
	cg = cg_create("t1-1-unpriv", &l, &e);
	if (cg != NULL && cg_mode(cg) != CG_NONE) {
		/* A delegated group: what it promises, the kernel must hold. */
		tap_diag("this user has a writable cgroup: %s", cg_describe(cg));
		if (cg_controllers(cg) & CG_CTL_MEMORY) {
			pid = spawn_attached(cg, hog);
			waitpid(pid, &status, 0);
			tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			    "unprivileged, delegated group: a 200M hog under 64M is "
			    "SIGKILLed (status %#x)", status);
		} else
			tap_skip("unprivileged, delegated group: the memory controller "
			    "is not delegated to this user (%s)", cg_describe(cg));
		cg_destroy(cg, &e);
		return;
	}
	tap_ok(cg != NULL && strstr(cg_describe(cg), "rlimits only:") != NULL &&
	    strstr(cg_describe(cg), "unprivileged") != NULL,
	    "unprivileged on v1: falls back and says why (%s)",
	    cg ? cg_describe(cg) : e.msg);
	cg_destroy(cg, &e);
	tap_ok(cg_probe(d, sizeof d) == CG_NONE && strstr(d, "rlimits only") != NULL,
	    "probe: %s", d);
	l.require_cgroups = true;
	cg = cg_create("t1-1-unpriv", &l, &e);
	tap_ok(cg == NULL && strstr(e.msg, "require_cgroups") != NULL,
	    "unprivileged: require_cgroups fails clearly: %s", e.msg);
	cg_destroy(cg, &e);
}

static void
test_parse(void)
{
	uint64_t	 v, r, w;
	char		*s;

	tap_ok(cg_parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
	    "oom_kill", &v) == 0 && v == 3, "parse: oom_control oom_kill");
	tap_ok(cg_parse_keyed("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n", "max",
	    &v) == 0 && v == 7, "parse: memory.events max");
	tap_ok(cg_parse_keyed("usage_usec 5\n", "user_usec", &v) == -1,
	    "parse: absent key");
	tap_ok(cg_parse_io_v1("8:0 Read 100\n8:0 Write 20\n8:0 Sync 5\n"
	    "8:16 Read 1\nTotal 126\n", &r, &w) == 0 && r == 101 && w == 20,
	    "parse: blkio io_service_bytes");
	tap_ok(cg_parse_io_v2("8:0 rbytes=10 wbytes=20 rios=1 wios=2\n"
	    "8:16 rbytes=1 wbytes=2 rios=1\n", &r, &w) == 0 && r == 11 && w == 22,
	    "parse: io.stat");
	s = cg_parse_self("9:name=systemd:/\n4:memory:/a/b\n2:cpu,cpuacct:/c\n0::/u\n",
	    "cpuacct");
	tap_ok(s != NULL && strcmp(s, "/c") == 0, "parse: co-mounted controller");
	free(s);
	s = cg_parse_self("4:memory:/a/b\n0::/user.slice/x\n", "");
	tap_ok(s != NULL && strcmp(s, "/user.slice/x") == 0, "parse: v2 line");
	free(s);
	s = cg_parse_self("4:memory:/a/b\n", "pids");
	tap_ok(s == NULL, "parse: absent controller");
	tap_ok(cg_parse_memtotal("MemTotal:       24730000 kB\nMemFree: 1 kB\n") ==
	    24730000ULL << 10, "parse: MemTotal");
	tap_ok(cg_parse_memtotal("SwapTotal: 5 kB\nXMemTotal: 7 kB\n") == 0,
	    "parse: no MemTotal line");
}

/* A share of memory is resolved against RAM, or against the cgroup limit
 * moat runs under when that is lower; bytes pass unchanged. */
static void
test_share(void)
{
	struct limits	 l, out;
	char		 src[512], ram[64];
	autofree char	*mi = NULL;
	struct merr	 e;
	uint64_t	 total, budget;

	if (read_file("/proc/meminfo", &mi, NULL, &e) == -1)
		return;
	total = cg_parse_memtotal(mi);
	budget = cg_memory_budget(src, sizeof src);
	tap_ok(budget > 0 && budget <= total, "budget %llu <= MemTotal %llu (%s)",
	    (unsigned long long)budget, (unsigned long long)total, src);
	memset(&l, 0, sizeof l);
	l.memory_pct = 50;
	l.nproc = 7;
	cg_limits_resolve(&l, &out, src, sizeof src);
	tap_ok(out.memory == ((budget >> 20) * 50 / 100) << 20 &&
	    out.memory_pct == 0 && out.nproc == 7,
	    "50%% resolves to %llu bytes: %s", (unsigned long long)out.memory, src);
	snprintf(ram, sizeof ram, "50%% of ");
	tap_ok(strncmp(src, ram, strlen(ram)) == 0, "and says of what: %s", src);
	l.memory_pct = 0;
	l.memory = 3ULL << 30;
	cg_limits_resolve(&l, &out, src, sizeof src);
	tap_ok(out.memory == 3ULL << 30 && *src == '\0', "bytes pass unchanged");
	/* On one reading of the host (a run's limits, then its group), twice:
	 * the same share, from the same source, each time. */
	{
		struct cg_host	*h = cg_host_new();
		struct limits	 o1, o2;
		char		 s1[512], s2[512];

		l.memory = 0;
		l.memory_pct = 25;
		cg_limits_resolve(&l, &out, src, sizeof src);
		cg_limits_resolve_on(h, &l, &o1, s1, sizeof s1);
		cg_limits_resolve_on(h, &l, &o2, s2, sizeof s2);
		tap_ok(o1.memory == out.memory && o2.memory == out.memory &&
		    strcmp(s1, src) == 0 && strcmp(s2, src) == 0,
		    "a host read once resolves as a fresh reading does: %s", s2);
		cg_host_free(h);
	}
}

/* Root on v1: under a memory group limited to 1G, 50% is 512M, and the
 * source named is that group's file. */
static void
test_share_v1(void)
{
	autofree char	*self = NULL, *cgt = NULL;
	char		 dir[512], f[600], src[700];
	struct merr	 e;
	int		 st;
	pid_t		 pid;

	if (read_file("/proc/self/cgroup", &cgt, NULL, &e) == -1 ||
	    (self = cg_parse_self(cgt, "memory")) == NULL ||
	    !exists("/sys/fs/cgroup/memory/cgroup.procs")) {
		tap_diag("no v1 memory hierarchy: the budget under a limit is not tested");
		return;
	}
	snprintf(dir, sizeof dir, "/sys/fs/cgroup/memory%s/moat-test-budget-%ld",
	    strcmp(self, "/") == 0 ? "" : self, (long)getpid());
	if (mkdir(dir, 0755) == -1) {
		tap_diag("mkdir %s: %s", dir, strerror(errno));
		return;
	}
	snprintf(f, sizeof f, "%s/memory.limit_in_bytes", dir);
	if ((pid = fork()) == 0) {
		struct limits	 l, out;
		char		 b[32];
		int		 fd;

		if ((fd = open(f, O_WRONLY)) == -1 || write(fd, "1G", 2) != 2)
			_exit(2);
		close(fd);
		snprintf(f, sizeof f, "%s/cgroup.procs", dir);
		snprintf(b, sizeof b, "%ld", (long)getpid());
		if ((fd = open(f, O_WRONLY)) == -1 || write(fd, b, strlen(b)) < 0)
			_exit(3);
		close(fd);
		memset(&l, 0, sizeof l);
		l.memory_pct = 50;
		cg_limits_resolve(&l, &out, src, sizeof src);
		_exit(out.memory == 512ULL << 20 && strstr(src, dir) != NULL ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "v1: 50%% under a 1G group is 512M, named by its file (status %d)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (rmdir(dir) == -1)
		tap_diag("rmdir %s: %s", dir, strerror(errno));
}

/* A command's group as its client adopts it: the controllers the session
 * names for each directory, and nothing else. */
static void
test_adopt(void)
{
	struct merr	 e;
	struct cg	*cg;
	int		 fds[3];
	const char	*bad[] = { "", "x", "1 0", "1 999", "1", "1 2 3 4" };

	for (int i = 0; i < 3; i++)
		fds[i] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cg = cg_adopt(fds, 3, "1 2 12", &e);
	tap_ok(cg != NULL && cg_controllers(cg) == (CG_CTL_MEMORY | CG_CTL_PIDS |
	    CG_CTL_CPU | CG_CTL_CPUACCT), "adopt: the controllers of each directory");
	cg_close(cg);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		size_t	n = k == 4 ? 2 : k == 5 ? 3 : 2;

		for (int i = 0; i < 3; i++)
			fds[i] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		cg = cg_adopt(fds, n, bad[k], &e);
		tap_ok(cg == NULL, "adopt refuses \"%s\" for %zu directories", bad[k], n);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		cg_close(cg);
	}
	tap_ok(cg_adopt(fds, 0, "1", &e) == NULL && cg_adopt(fds, 7, "1", &e) == NULL,
	    "adopt refuses no directory, or more than a group has");
	{
		/* A v2 session's command group: one directory, its controllers
		 * marked v2, none at all on a hybrid host. */
		char		 v2[16], v2none[16];
		const char	*badv2[] = { v2, "72", "96" };

		snprintf(v2, sizeof v2, "%u", CG_CTL_V2 | CG_CTL_MEMORY | CG_CTL_PIDS |
		    CG_CTL_CPU);
		snprintf(v2none, sizeof v2none, "%u", CG_CTL_V2);
		fds[0] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		cg = cg_adopt(fds, 1, v2, &e);
		tap_ok(cg != NULL && cg_mode(cg) == CG_V2 && cg_controllers(cg) ==
		    (CG_CTL_MEMORY | CG_CTL_PIDS | CG_CTL_CPU),
		    "adopt: a v2 command group, its controllers without the mark");
		cg_close(cg);
		fds[0] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		cg = cg_adopt(fds, 1, v2none, &e);
		tap_ok(cg != NULL && cg_mode(cg) == CG_V2 && cg_controllers(cg) == 0,
		    "adopt: a v2 command group with no controller (CPU is still counted)");
		cg_close(cg);
		/* v2 in two directories; v2 with v1's cpuacct or a freezer. */
		for (size_t k = 0; k < sizeof badv2 / sizeof badv2[0]; k++) {
			size_t	n = k == 0 ? 2 : 1;

			for (int i = 0; i < 2; i++)
				fds[i] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			cg = cg_adopt(fds, n, k == 0 ? "71 71" : badv2[k], &e);
			tap_ok(cg == NULL, "adopt refuses v2 \"%s\" for %zu directories",
			    k == 0 ? "71 71" : badv2[k], n);
			for (int i = 0; i < 2; i++)
				close(fds[i]);
			cg_close(cg);
		}
	}
}

int
main(void)
{
	struct merr	e;

	test_parse();
	test_adopt();
	test_share();
	if (geteuid() != 0) {
		tap_diag("not root: the kernel tests need root on cgroup v1");
		test_unpriv();
		test_none();
		return (tap_done());
	}
	(void)cg_sweep(&e);
	test_share_v1();
	test_v1_root();
	test_sweep();
	test_v2_root();
	test_v2_delegated();
	test_none();
	return (tap_done());
}
