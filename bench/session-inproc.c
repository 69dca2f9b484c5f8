/* session-inproc.c: the in-process path into a session, the one a front end
 * that stays up (the TUI, moat mcp) takes: one connection, then run_sandbox
 * with session_fd for each command, no new process and no audit row, against
 * fork+exec+wait of the same program from the same process. Prints the
 * medians and their ratio (target: at most 1.5x bare fork+exec), and the
 * CPU time per run: this client's, the session's (its supervisor's and
 * init's, with what init reaped: the command), and bare's child's.
 * usage: session-inproc SESSION [RUNS] (bench/session.sh runs it) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "profile/profile.h"
#include "sandbox/spawn.h"
#include "session/session.h"

/* utime + stime (+ cutime + cstime with children) of pid, in seconds;
 * 0 when it cannot be read. */
static double
proc_cpu(pid_t pid, bool children)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 v[4];
	FILE			*f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%llu %llu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return (0);
	return ((double)(v[0] + v[1] + (children ? v[2] + v[3] : 0)) /
	    (double)sysconf(_SC_CLK_TCK));
}

static double
self_cpu(int who)
{
	struct rusage	ru;

	getrusage(who, &ru);
	return ((double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
}

static int
cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

int
main(int argc, char **argv)
{
	struct session_info	 info;
	struct profile		*p;
	struct merr		 e;
	char			*cmd[] = { "/bin/true", NULL };
	int			 runs = argc > 2 ? atoi(argv[2]) : 200, fd;
	double			*in, *bare, c_in = 0, c_bare = 0, c_sess, t0;

	if (argc < 2 || runs < 1) {
		fprintf(stderr, "usage: session-inproc SESSION [RUNS]\n");
		return (2);
	}
	if ((fd = session_connect(argv[1], &info, &e)) == -1 ||
	    (p = profile_load(info.profile, &e)) == NULL) {
		merr_print(&e);
		return (1);
	}
	in = xcalloc((size_t)runs, sizeof *in);
	bare = xcalloc((size_t)runs, sizeof *bare);
	c_sess = -(proc_cpu(info.pid, false) + proc_cpu(info.init_pid, true));
	for (int i = 0; i < runs; i++) {
		struct run	r;
		double		t = now_mono();
		pid_t		pid;

		/* bare: fork, exec, wait */
		t0 = self_cpu(RUSAGE_SELF) + self_cpu(RUSAGE_CHILDREN);
		if ((pid = fork()) == 0) {
			execv(cmd[0], cmd);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
		bare[i] = now_mono() - t;
		c_bare += self_cpu(RUSAGE_SELF) + self_cpu(RUSAGE_CHILDREN) - t0;

		run_init(&r);
		r.profile = p;
		r.argv = cmd;
		session_run_attach(&r, fd, &info);
		r.cwd_path = xstrdup(info.cwd);
		t0 = self_cpu(RUSAGE_SELF);
		t = now_mono();
		if (run_sandbox(&r, &e) == -1 || r.exit_code != 0) {
			fprintf(stderr, "run %d: %s (exit %d)\n", i, e.msg, r.exit_code);
			return (1);
		}
		in[i] = now_mono() - t;
		c_in += self_cpu(RUSAGE_SELF) - t0;
		run_release(&r);
	}
	c_sess += proc_cpu(info.pid, false) + proc_cpu(info.init_pid, true);
	qsort(in, (size_t)runs, sizeof *in, cmp);
	qsort(bare, (size_t)runs, sizeof *bare, cmp);
	/* The first quartile too: on a loaded machine it moves less. */
	printf("in-process exec into %s: median %.3f ms (q1 %.3f); fork+exec+wait: "
	    "median %.3f ms (q1 %.3f); ratio %.2f (q1 %.2f; target <= 1.5); %d runs\n",
	    info.id, in[runs / 2] * 1e3, in[runs / 4] * 1e3, bare[runs / 2] * 1e3,
	    bare[runs / 4] * 1e3, in[runs / 2] / bare[runs / 2],
	    in[runs / 4] / bare[runs / 4], runs);
	printf("CPU per run: in-process %.3f ms (this client %.3f, the session's "
	    "supervisor and init with the command %.3f); fork+exec+wait %.3f ms\n",
	    (c_in + c_sess) / runs * 1e3, c_in / runs * 1e3, c_sess / runs * 1e3,
	    c_bare / runs * 1e3);
	profile_free(p);
	close(fd);
	return (0);
}
