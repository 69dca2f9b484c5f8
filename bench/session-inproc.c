/* session-inproc.c: the in-process path into a session, the one a front end
 * that stays up (the TUI, moat mcp) takes: one connection, then run_sandbox
 * with session_fd for each command, no new process and no audit row, against
 * fork+exec+wait of the same program from the same process. Prints the
 * medians and their ratio (target: at most 1.5x bare fork+exec).
 * usage: session-inproc SESSION [RUNS] (bench/session.sh runs it) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "profile/profile.h"
#include "sandbox/spawn.h"
#include "session/session.h"

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
	double			*in, *bare;

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
	for (int i = 0; i < runs; i++) {
		struct run	r;
		double		t = now_mono();
		pid_t		pid;

		/* bare: fork, exec, wait */
		if ((pid = fork()) == 0) {
			execv(cmd[0], cmd);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
		bare[i] = now_mono() - t;

		run_init(&r);
		r.profile = p;
		r.argv = cmd;
		r.session_fd = fd;
		r.cwd_path = xstrdup(info.cwd);
		t = now_mono();
		if (run_sandbox(&r, &e) == -1 || r.exit_code != 0) {
			fprintf(stderr, "run %d: %s (exit %d)\n", i, e.msg, r.exit_code);
			return (1);
		}
		in[i] = now_mono() - t;
		run_release(&r);
	}
	qsort(in, (size_t)runs, sizeof *in, cmp);
	qsort(bare, (size_t)runs, sizeof *bare, cmp);
	/* The first quartile too: on a loaded machine it moves less. */
	printf("in-process exec into %s: median %.3f ms (q1 %.3f); fork+exec+wait: "
	    "median %.3f ms (q1 %.3f); ratio %.2f (q1 %.2f; target <= 1.5); %d runs\n",
	    info.id, in[runs / 2] * 1e3, in[runs / 4] * 1e3, bare[runs / 2] * 1e3,
	    bare[runs / 4] * 1e3, in[runs / 2] / bare[runs / 2],
	    in[runs / 4] / bare[runs / 4], runs);
	profile_free(p);
	close(fd);
	return (0);
}
