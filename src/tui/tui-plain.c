/* tui-plain.c: moat shell --plain: the same shell without full screen, for
 * dumb terminals and screen readers. On a terminal a readline prompt (with
 * the same history file), the command on the terminal as moat session
 * exec has it, and one line of meters after it; without one, the lines of
 * stdin, each command's stdin being /dev/null so that it cannot read the
 * lines meant for the shell. Front end (TUI), in the supervisor's
 * process. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "base/util.h"
#include "profile/profile.h"
#include "record/record.h"
#include "sandbox/spawn.h"
#include "tui-meter.h"
#include "tui-shell.h"
#include "tui.h"

struct plain {
	struct tshell	 sh;
	struct tmeter	 meter;
	bool		 tty;
	FILE		*in;		/* without a terminal: the commands */
	char		 history[4096];
};

static void
plain_sample(struct run *r, const struct meter_sample *s, void *arg)
{
	tmeter_sample(&((struct plain *)arg)->meter, s);
}

static void
plain_event(struct run *r, const struct run_event *ev, void *arg)
{
	tmeter_event(&((struct plain *)arg)->meter, ev);
}

static const char *
plain_confirm(const struct risk_result *res, int above, void *arg)
{
	struct plain	*pl = arg;
	char		*ans;
	bool		 yes;

	fprintf(stderr, "moat: risk %d is above the profile's risk-confirm-above "
	    "(%d):\n", res->score, above);
	risk_result_print(res, stderr);
	if (!pl->tty)
		return ("there is no terminal to confirm it on");
	ans = readline("Run it in the sandbox anyway? [y/N] ");
	yes = ans != NULL && (ans[0] == 'y' || ans[0] == 'Y');
	free(ans);
	return (yes ? NULL : "it was not confirmed");
}

static int
plain_exec(struct plain *pl, const char *line)
{
	const struct limits	*lim = &pl->sh.profile->limits;
	struct run		 r;
	struct rec_opts		 ro;
	struct rec_out		 out;
	struct merr		 e;
	char			 m[512];
	int			 rc, status;

	run_init(&r);
	memset(&ro, 0, sizeof ro);
	ro.on_sample = plain_sample;
	ro.on_event = plain_event;
	ro.confirm = plain_confirm;
	ro.arg = pl;
	tmeter_start(&pl->meter, lim->memory, lim->nproc, lim->timeout);
	rc = tshell_exec(&pl->sh, line, &r, &ro, &out, &e);
	tmeter_stop(&pl->meter);
	if (rc == -1) {
		/* The refusal says its reasons are above it. */
		if (out.refused_risk)
			risk_result_print(&out.risk, stderr);
		merr_print(&e);
		status = EXIT_MOAT;
	} else {
		status = r.exit_code;
		tmeter_line(&pl->meter, m, sizeof m);
		fprintf(stderr, "moat: %s %d \u00b7 %s \u00b7 risk %d \u00b7 run %s\n",
		    r.end == END_EXITED ? "exit" : end_reason_name(r.end),
		    r.exit_code, m, out.final_risk, r.id);
		if (out.sum.nrefused > 0 || out.sum.ndenied > 0)
			run_summary_print(&out.sum, &r, stderr);
	}
	rec_out_free(&out);
	run_release(&r);
	return (status);
}

static char *
plain_read(struct plain *pl)
{
	char	*line = NULL, prompt[PATH_MAX + 8];
	size_t	 cap = 0;
	ssize_t	 n;

	if (pl->tty) {
		snprintf(prompt, sizeof prompt, "%s $ ", pl->sh.cwd);
		for (char *c = prompt; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		return (readline(prompt));
	}
	if ((n = getline(&line, &cap, pl->in)) == -1) {
		free(line);
		return (NULL);
	}
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	return (line);
}

int
tui_plain(const struct tui_opts *o)
{
	struct plain	 pl;
	struct merr	 e;
	char		*line;
	int		 status = 0, fd;

	memset(&pl, 0, sizeof pl);
	tui_locale();
	pl.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (!pl.tty) {
		/* The commands come on stdin; the commands get /dev/null. */
		if ((fd = dup(STDIN_FILENO)) == -1 ||
		    (pl.in = fdopen(fd, "r")) == NULL) {
			fprintf(stderr, "moat shell: stdin: %s\n", strerror(errno));
			return (EXIT_MOAT);
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
	}
	if (tshell_open(&pl.sh, o->profile, o->workspace, &e) == -1) {
		merr_print(&e);
		if (pl.in != NULL)
			fclose(pl.in);
		return (EXIT_MOAT);
	}
	pl.sh.db = o->db;
	pl.sh.unlogged = o->unlogged;
	if (pl.tty) {
		rl_readline_name = "moat";
		using_history();
		stifle_history(1000);
		if (tshell_history(pl.history, sizeof pl.history) == NULL)
			pl.history[0] = '\0';
		else
			(void)read_history(pl.history);
		fprintf(stderr, "moat shell: session %s, profile %s; :quit or ^D to "
		    "leave\n", pl.sh.id, pl.sh.profile_arg);
	}
	while ((line = plain_read(&pl)) != NULL) {
		char	*s = str_trim(line), *msg;
		bool	 err;

		if (*s == '\0' || *s == '#') {
			free(line);
			continue;
		}
		if (pl.tty) {
			add_history(s);
			if (pl.history[0] != '\0' && (fd = open(pl.history, O_WRONLY |
			    O_CREAT | O_APPEND | O_CLOEXEC, 0600)) >= 0) {
				close(fd);
				(void)append_history(1, pl.history);
			}
		}
		if (strcmp(s, ":quit") == 0 || strcmp(s, ":q") == 0) {
			free(line);
			break;
		}
		if (strncmp(s, ":profile ", 9) == 0) {
			if (tshell_switch(&pl.sh, str_trim(s + 9), &e) == -1) {
				merr_print(&e);
				status = EXIT_MOAT;
			} else
				fprintf(stderr, "moat: profile %s: a new session, %s\n",
				    pl.sh.profile_arg, pl.sh.id);
			free(line);
			continue;
		}
		if (tshell_builtin(&pl.sh, s, &msg, &err)) {
			if (msg != NULL)
				fprintf(err ? stderr : stdout, "%s%s\n",
				    err ? "moat: " : "", msg);
			free(msg);
			status = err ? 1 : 0;
			free(line);
			continue;
		}
		fflush(stdout);
		status = plain_exec(&pl, s);
		free(line);
	}
	if (pl.tty && pl.history[0] != '\0')
		(void)history_truncate_file(pl.history, 1000);
	tshell_close(&pl.sh);
	if (pl.in != NULL)
		fclose(pl.in);
	return (status);
}
