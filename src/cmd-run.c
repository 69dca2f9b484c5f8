/* cmd-run.c: `moat run`, one sandboxed command; its exit status passes
 * through. Front end: parses flags, loads the profile, fills a struct run
 * and calls run_sandbox(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <unistd.h>

#include <fcntl.h>

#include "cmd.h"
#include "meter.h"
#include "profile.h"
#include "risk.h"
#include "spawn.h"

/* What the front end keeps for a run: how to show it, how risky it is. */
struct cmd_run_ui {
	bool			 meter_live;	/* --meter and stderr is a terminal */
	bool			 meter_drawn;	/* a live line is on the screen */
	struct risk_rules	*rules;
	struct risk_result	 risk;		/* the static score, before the run */
	bool			 scored;
};

/* The profile's confirm_above: ask on the terminal, never on stdin (it
 * belongs to the command). No terminal: the answer is no. */
static bool
cmd_run_confirm(const struct risk_result *res, int above)
{
	FILE	*tty;
	char	 line[64];
	bool	 yes = false;
	int	 fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1)
		return (false);
	if ((tty = fdopen(fd, "r+")) == NULL) {
		close(fd);
		return (false);
	}
	fprintf(tty, "moat: this command scores above the profile's "
	    "risk-confirm-above (%d):\n", above);
	risk_result_print(res, tty);
	fprintf(tty, "Run it in the sandbox anyway? [y/N] ");
	fflush(tty);
	if (fgets(line, sizeof line, tty) != NULL)
		yes = line[0] == 'y' || line[0] == 'Y';
	fclose(tty);
	return (yes);
}

/* Runs while the sandbox is being built: the static risk score and what the
 * profile says to do about it. */
static int
cmd_run_before_exec(struct run *r, struct merr *e)
{
	struct cmd_run_ui	*ui = r->cb_arg;
	const struct profile	*p = r->profile;

	if (risk_load(&ui->rules, e) == -1)
		return (-1);
	risk_score_argv(ui->rules, r->argv, &ui->risk);
	ui->scored = true;
	if (r->verbose > 0)
		run_emit(r, EV_NOTE, "static risk %d/100 (%s)", ui->risk.score,
		    risk_band(ui->risk.score));
	if (p->risk_refuse_above >= 0 && ui->risk.score > p->risk_refuse_above) {
		risk_result_print(&ui->risk, stderr);
		return (merr_set(e, "refused: the command's risk score %d is above "
		    "the profile's risk-refuse-above (%d); the reasons are above, "
		    "and moat risk shows them without running anything",
		    ui->risk.score, p->risk_refuse_above));
	}
	if (p->risk_confirm_above >= 0 && ui->risk.score > p->risk_confirm_above &&
	    !cmd_run_confirm(&ui->risk, p->risk_confirm_above)) {
		if (!isatty(STDERR_FILENO))
			risk_result_print(&ui->risk, stderr);
		return (merr_set(e, "refused: the command's risk score %d is above "
		    "the profile's risk-confirm-above (%d) and %s", ui->risk.score,
		    p->risk_confirm_above, isatty(STDIN_FILENO) ?
		    "it was not confirmed" : "there is no terminal to confirm it on"));
	}
	return (0);
}

static int	cmd_run_exec(int, char **);

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "run [-p PROFILE] [-w DIR] [--timeout SECS] [-e NAME[=VALUE]]... [-v] "
	    "[--meter] [--meter-rate HZ] [--json] -- CMD [ARG]...",
	.summary = "run one command in the sandbox; its exit status passes through",
	.exec = cmd_run_exec,
};

static void
cmd_run_on_event(struct run *r, const struct run_event *ev)
{
	static const char	*kinds[] = {
		[EV_NOTE] = "note", [EV_SYSCALL_DENIED] = "seccomp",
		[EV_NET_CONN] = "net", [EV_LIMIT_HIT] = "limit",
		[EV_FILE_CHANGED] = "file",
	};

	struct cmd_run_ui	*ui = r->cb_arg;

	if (r->verbose == 0 && ev->kind != EV_LIMIT_HIT)
		return;
	if (ui->meter_drawn) {
		fputs("\r\033[K", stderr);
		ui->meter_drawn = false;
	}
	fprintf(stderr, "moat: [%7.3f] %s: %s\n", ev->t, kinds[ev->kind], ev->text);
}

/* --meter on a terminal: one line, redrawn in place. */
static void
cmd_run_on_sample(struct run *r, const struct meter_sample *ms)
{
	struct cmd_run_ui	*ui = r->cb_arg;
	char			 line[256];

	if (!ui->meter_live)
		return;
	meter_format_line(ms, line, sizeof line);
	fprintf(stderr, "\r\033[Kmoat: %s", line);
	fflush(stderr);
	ui->meter_drawn = true;
}

int
cmd_run_exec(int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "meter", no_argument, NULL, 'm' },
		{ "meter-rate", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*pname = "default";
	struct profile	*p;
	struct run		 r;
	struct merr		 e;
	struct cmd_run_ui	 ui = { 0 };
	bool			 meter = false, json = false;
	int			 c, status;

	run_init(&r);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:e:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pname = optarg;
			break;
		case 'w':
			r.workspace = optarg;
			break;
		case 't':
			if (parse_seconds(optarg, &r.timeout) == -1 || r.timeout <= 0) {
				run_release(&r);
				return (cmd_usage_error(&cmd_run_entry, "--timeout %s: not a "
				    "duration (seconds, or with ms, s, m, h: 1.5, 500ms, 2m)",
				    optarg));
			}
			break;
		case 'e':
			strv_add(&r.env_extra, optarg);
			break;
		case 'v':
			r.verbose++;
			break;
		case 'm':
			meter = true;
			break;
		case 'r':
			if (parse_seconds(optarg, &r.meter_hz) == -1 || r.meter_hz <= 0 ||
			    r.meter_hz > 100) {
				run_release(&r);
				return (cmd_usage_error(&cmd_run_entry, "--meter-rate %s: "
				    "not a rate in Hz between 0 and 100", optarg));
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: moat %s\n", cmd_run_entry.usage);
			run_release(&r);
			return (0);
		default:
			run_release(&r);
			return (cmd_usage_error(&cmd_run_entry, "unknown option \"%s\"",
			    argv[optind - 1]));
		}
	}
	if (optind >= argc) {
		run_release(&r);
		return (cmd_usage_error(&cmd_run_entry, "no command given"));
	}
	r.argv = argv + optind;

	if ((p = profile_load(pname, &e)) == NULL) {
		merr_print(&e);
		run_release(&r);
		return (EXIT_MOAT);
	}
	r.profile = p;
	r.on_event = cmd_run_on_event;
	r.on_sample = cmd_run_on_sample;
	r.before_exec = cmd_run_before_exec;
	r.cb_arg = &ui;
	ui.meter_live = meter && isatty(STDERR_FILENO);
	if (run_sandbox(&r, &e) == -1) {
		if (ui.meter_drawn)
			fputs("\r\033[K", stderr);
		merr_print(&e);
		status = EXIT_MOAT;
	} else {
		char	buf[2048];

		status = r.exit_code;
		if (ui.meter_drawn)
			fputs("\r\033[K", stderr);
		if (meter) {
			meter_format_summary(&r.summary, end_reason_name(r.end), buf,
			    sizeof buf);
			fprintf(stderr, "%s\n", buf);
		}
		if (json && meter_format_json(&r.summary, end_reason_name(r.end),
		    r.exit_code, &p->limits, r.enforced, buf, sizeof buf) == 0) {
			fflush(stdout);
			printf("%s\n", buf);
		}
	}
	if (ui.scored)
		risk_result_free(&ui.risk);
	risk_rules_free(ui.rules);
	profile_free(p);
	run_release(&r);
	return (status);
}
