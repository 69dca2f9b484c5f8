/* cmd-run.c: `moat run`, one sandboxed command; its exit status passes
 * through. Front end: parses flags, loads the profile, fills a struct run and
 * calls rec_run() (record.h), which scores the command and records it in the
 * audit log; its hooks here show what happens. Runs in the supervisor. */
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "sandbox/meter.h"
#include "profile/net-rule.h"
#include "profile/profile.h"
#include "risk/risk.h"
#include "record/record.h"
#include "sandbox/spawn.h"

/* A destination the proxies refused, once per host and port, for the
 * summary after the run. */
struct cmd_run_refusal {
	char		*host;		/* owned */
	unsigned	 port;
	char		*why;		/* owned; the first refusal's reason */
	unsigned	 n;
};
#define CMD_RUN_REFUSALS_MAX	32
#define CMD_RUN_STDIN_WAIT	0.25	/* seconds a pipe's script is waited for */

/* What the front end keeps for a run: how to show it. The record (record.h)
 * scores and logs it. */
struct cmd_run_ui {
	bool			 meter_live;	/* --meter and stderr is a terminal */
	bool			 meter_drawn;	/* a live line is on the screen */
	int			 meter_fd;	/* our terminal, opened again non-blocking:
						   a frame it cannot take now is dropped,
						   never waited for (^S would stop the loop) */
	struct cmd_run_refusal	 refusals[CMD_RUN_REFUSALS_MAX];
	size_t			 nrefusals;
	unsigned		 refusals_more;	/* distinct ones beyond the array */
	const struct profile	*profile;
	int			 detach_fd;	/* cmd_run_opts.detach_fd, until used */
};

static int	cmd_run_exec(int, char **);

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "run [-p PROFILE] [-w DIR] [--timeout SECS] [-e NAME[=VALUE]]... "
	    "[--net-allow HOST[:PORT]]... [--secret NAME=HOST[,HOST]]... [-v] [-q] [--meter] [--meter-rate HZ] [--json] "
	    "[--db PATH] [--unlogged] [--on ID] [--review] -- CMD [ARG]...",
	.summary = "run one command in the sandbox; its exit status passes through",
	.options = (const char *const[]){
		"-p, --profile PROFILE\ta profile name on the search path, or a path (default: default)",
		"-w, --workspace DIR\tthe workspace instead of the current directory",
		"--timeout SECS\twall-clock limit (1.5, 500ms, 2m; 0 = none), overriding the profile's",
		"-e, --env NAME[=VALUE]\tpass NAME from moat's environment, or set it",
		"--net-allow HOST[:PORT]\tone more net-allow rule for this run (restricted, proxied)",
		"--secret NAME=HOST[,HOST]\tNAME's value stays outside: inside it is a placeholder, swapped for the value on HTTPS to those hosts",
		"-v, --verbose\thow the sandbox was built and what happened in it, on stderr",
		"--meter\ta live CPU, memory and process meter on stderr",
		"--meter-rate HZ\tsamples per second for the meters (default 4, at most 100)",
		"--json\ta JSON summary of the run on stdout after the command's output",
		"-q, --quiet\tno summary on the terminal after the run (what was refused, the risk)",
		"--db PATH\tthe audit database (default $XDG_DATA_HOME/moat/audit.db)",
		"--unlogged\trun even when the audit log cannot be written",
		"--on ID\tstart from what overlay run ID left (its layer under this run's), in its workspace",
		"--review\ton an overlay; after the run, its changes, and on a terminal a question per path before applying",
		"-h, --help\tthis text",
		"exit status\tthe command's; 128+N on signal N; 124 timeout; 125 moat failed; 126, 127",
		NULL,
	},
	.exec = cmd_run_exec,
};

/* The profile's risk-confirm-above: ask on the terminal, never on stdin
 * (it belongs to the command). No terminal: the answer is no. NULL when
 * confirmed, else why not. */
static const char *
cmd_run_confirm(const struct risk_result *res, int above, void *arg)
{
	FILE	*tty;
	char	 line[64];
	bool	 yes = false;
	int	 fd;

	(void)arg;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    (tty = fdopen(fd, "r+")) == NULL) {
		if (fd != -1)
			close(fd);
		if (!isatty(STDERR_FILENO))
			risk_result_print(res, stderr);
		return ("there is no terminal to confirm it on");
	}
	fprintf(tty, "moat: this command scores above the profile's "
	    "risk-confirm-above (%d):\n", above);
	risk_result_print(res, tty);
	fprintf(tty, "Run it in the sandbox anyway? [y/N] ");
	fflush(tty);
	if (fgets(line, sizeof line, tty) != NULL)
		yes = line[0] == 'y' || line[0] == 'Y';
	fclose(tty);
	if (yes)
		return (NULL);
	if (!isatty(STDERR_FILENO))
		risk_result_print(res, stderr);
	return (isatty(STDIN_FILENO) ? "it was not confirmed" :
	    "there is no terminal to confirm it on");
}

static void
cmd_run_note_refusal(struct cmd_run_ui *ui, const struct run_event *ev)
{
	struct cmd_run_refusal	*f;

	if (ev->host == NULL || ev->host[0] == '\0')
		return;
	for (size_t i = 0; i < ui->nrefusals; i++)
		if (ui->refusals[i].port == ev->port &&
		    strcmp(ui->refusals[i].host, ev->host) == 0) {
			ui->refusals[i].n++;
			return;
		}
	if (ui->nrefusals == CMD_RUN_REFUSALS_MAX) {
		ui->refusals_more++;
		return;
	}
	f = &ui->refusals[ui->nrefusals++];
	f->host = xstrdup(ev->host);
	f->port = ev->port;
	f->why = xstrdup(ev->rule != NULL ? ev->rule : "");
	f->n = 1;
}

/* On a terminal, after the run: what the proxies refused, once per
 * destination, and the profile line that would allow it. A pip or npm
 * that only says "could not find a version" is then explained. */
static void
cmd_run_refusal_summary(struct cmd_run_ui *ui)
{
	for (size_t i = 0; i < ui->nrefusals; i++) {
		struct cmd_run_refusal	*f = &ui->refusals[i];
		autofree char		*line = NULL;
		bool			 v6 = strchr(f->host, ':') != NULL;

		/* Port 0: a name the sandbox's resolver was asked for. */
		if (f->port == 0)
			cmd_errorf("moat: refused the name %s", f->host);
		else
			cmd_errorf("moat: refused %s%s%s:%u", v6 ? "[" : "", f->host,
			    v6 ? "]" : "", f->port);
		if (f->n > 1)
			fprintf(stderr, " (%u times)", f->n);
		cmd_errorf(": %s", f->why);
		if (strncmp(f->why, "no net-allow rule", 17) == 0 &&
		    (line = net_rule_suggest(f->host, f->port != 0 ? f->port :
		    443)) != NULL)
			cmd_errorf("; to allow it, add \"net-allow = %s\" to "
			    "profile %s, or run with --net-allow %s", line,
			    ui->profile->name, line);
		else if (strstr(f->why, "net-allow-private is off") != NULL)
			fprintf(stderr, "; to allow it, add \"net-allow-private = "
			    "yes\" to profile %s", ui->profile->name);
		fputc('\n', stderr);
	}
	if (ui->refusals_more > 0)
		fprintf(stderr, "moat: and %u more destinations refused (moat run "
		    "-v, or moat audit show, lists them)\n", ui->refusals_more);
}

static void
cmd_run_on_event(struct run *r, const struct run_event *ev, void *arg)
{
	static const char	*kinds[] = {
		[EV_NOTE] = "note", [EV_SYSCALL_DENIED] = "seccomp",
		[EV_NET_CONN] = "net", [EV_LIMIT_HIT] = "limit",
		[EV_FILE_CHANGED] = "file", [EV_EXEC] = "exec",
	};
	struct cmd_run_ui	*ui = arg;

	if (ev->kind == EV_NET_CONN && ev->verdict != NULL &&
	    strcmp(ev->verdict, "refused") == 0)
		cmd_run_note_refusal(ui, ev);
	if (r->verbose == 0 && ev->kind != EV_LIMIT_HIT)
		return;
	if (ui->meter_drawn) {
		fputs("\r\033[K", stderr);
		ui->meter_drawn = false;
	}
	cmd_errorf("moat: [%7.3f] %s: %s\n", ev->t, kinds[ev->kind], ev->text);
}

/* With --meter on a terminal, one line redrawn in place. */
static void
cmd_run_on_sample(struct run *r, const struct meter_sample *ms, void *arg)
{
	struct cmd_run_ui	*ui = arg;
	char			 line[256];

	(void)r;
	if (!ui->meter_live)
		return;
	meter_format_line(ms, line, sizeof line);
	if (ui->meter_fd >= 0) {
		char	frame[300];
		int	n = snprintf(frame, sizeof frame, "\r\033[Kmoat: %s", line);

		fflush(stderr);
		if (n > 0 && write(ui->meter_fd, frame, (size_t)n) > 0)
			ui->meter_drawn = true;
		return;
	}
	fprintf(stderr, "\r\033[Kmoat: %s", line);
	fflush(stderr);
	ui->meter_drawn = true;
}

/* session exec --detach: the command is started; tell the waiting moat its
 * run id and let it go. What the command writes is recorded, not shown. */
static void
cmd_run_on_spawned(struct run *r, void *arg)
{
	struct cmd_run_ui	*ui = arg;
	char			 line[sizeof r->id + 1];
	int			 null;

	if (ui->detach_fd < 0)
		return;
	snprintf(line, sizeof line, "%s\n", r->id);
	(void)!write(ui->detach_fd, line, strlen(line));
	close(ui->detach_fd);
	ui->detach_fd = -1;
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

/* The rest of a run, once the flags are read and the profile loaded: moat
 * run's, and moat session exec's (r->session_fd set). The exit status. */
int
cmd_run_go(struct run *r, struct profile *p, const struct cmd_run_opts *o)
{
	struct cmd_run_ui	 ui;
	struct rec_opts		 ro;
	struct rec_out		 out;
	struct merr		 e;
	int			 status, rc;
	autofree char		*script = NULL;

	memset(&ui, 0, sizeof ui);
	ui.profile = p;
	ui.detach_fd = o->detach_fd;
	ui.meter_live = o->meter && isatty(STDERR_FILENO);
	ui.meter_fd = ui.meter_live ? open("/proc/self/fd/2",
	    O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : -1;
	memset(&ro, 0, sizeof ro);
	ro.source = "cli";
	ro.db = o->db;
	ro.unlogged_ok = o->unlogged || p->audit_unlogged;
	ro.profile_label = o->profile_label;
	ro.session = o->session;
	ro.trace = o->trace;
	ro.audit = o->audit;
	ro.rules = o->rules;
	ro.confirm = cmd_run_confirm;
	ro.on_event = cmd_run_on_event;
	ro.on_sample = cmd_run_on_sample;
	ro.on_spawned = cmd_run_on_spawned;
	ro.arg = &ui;

	/* curl ... | moat run -- sh: the script is read first (at most
	 * RISK_STDIN_MAX bytes, or what a pipe gave within STDIN_WAIT) to be
	 * scored with the command, and stdin is left giving the shell the same
	 * bytes (fd_peek). A terminal is never read. */
	if (!isatty(STDIN_FILENO) && risk_stdin_program(r->argv) != NULL) {
		bool	whole;

		if (fd_peek(STDIN_FILENO, RISK_STDIN_MAX, CMD_RUN_STDIN_WAIT,
		    &script, &ro.stdin_len, &whole, &e) == -1) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
		ro.stdin_script = script;
		ro.stdin_cut = !whole;
	}
	rc = rec_run(r, p, &ro, &out, &e);
	if (ui.meter_drawn)
		fputs("\r\033[K", stderr);
	/* A command the profile hides in part: which file, and what to add. */
	if (r->exec_hint != NULL && (rc == 0 || r->end == END_EXEC_FAILED))
		for (char *l = r->exec_hint, *nl; l != NULL; l = nl) {
			if ((nl = strchr(l, '\n')) != NULL)
				*nl++ = '\0';
			cmd_errorf("%s\n", l);
		}
	if (rc == -1) {
		if (out.refused_risk)
			risk_result_print(&out.risk, stderr);
		merr_print(&e);
		status = EXIT_MOAT;
	} else {
		char	buf[2048];

		status = r->exit_code;
		if (o->json && out.limits_json[0] != '\0') {
			autofree char	*more = run_summary_json(&out.sum, r);

			fflush(stdout);
			/* limits_json ends in "}" */
			printf("%.*s%s}\n", (int)strlen(out.limits_json) - 1,
			    out.limits_json, more);
		}
		if (o->meter) {
			meter_format_summary(&r->summary, end_reason_name(r->end), buf,
			    sizeof buf);
			fprintf(stderr, "%s\n", buf);
		}
		if (isatty(STDERR_FILENO))
			cmd_run_refusal_summary(&ui);
		if (isatty(STDERR_FILENO) && !o->quiet && p->run_summary)
			run_summary_print(&out.sum, r, stderr);
	}
	if (ui.detach_fd >= 0)
		close(ui.detach_fd);	/* never started: the waiting moat reads EOF */
	for (size_t i = 0; i < ui.nrefusals; i++) {
		free(ui.refusals[i].host);
		free(ui.refusals[i].why);
	}
	if (ui.meter_fd >= 0)
		close(ui.meter_fd);
	rec_out_free(&out);
	return (status);
}

int
cmd_run_exec(int argc, char **argv)
{
	static const struct option	opts[] = {
		CMD_RUN_OPTIONS,
		{ "profile", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "meter", no_argument, NULL, 'm' },
		{ "meter-rate", required_argument, NULL, 'r' },
		{ "net-allow", required_argument, NULL, 'A' },
		{ "on", required_argument, NULL, 'O' },
		{ "secret", required_argument, NULL, 'S' },
		{ "review", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char		*pname = "default";
	struct profile		*p;
	struct run		 r;
	struct merr		 e;
	struct cmd_run_opts	 o;
	int			 c, status;
	const char		*why;
	struct strv		 net_allow = { 0 }, on_layers = { 0 }, secrets = { 0 };
	struct net_rule		 rule;
	const char		*on = NULL;
	autofree char		*on_id = NULL, *on_ws = NULL;
	bool			 review = false;

	memset(&o, 0, sizeof o);
	o.detach_fd = -1;
	if (getenv("MOAT_TRACE_TIMING") != NULL && *getenv("MOAT_TRACE_TIMING") != '\0')
		o.trace = now_mono();
	run_init(&r);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:h" CMD_RUN_SHORT, opts, NULL)) != -1) {
		switch (cmd_run_option(&cmd_run_entry, c, optarg, &r, &o)) {
		case 1:
			continue;
		case -1:
			run_release(&r);
			return (EXIT_MOAT);
		}
		switch (c) {
		case 'p':
			pname = optarg;
			break;
		case 'w':
			r.workspace = optarg;
			break;
		case 'm':
			o.meter = true;
			break;
		case 'r':
			if (parse_duration(optarg, &r.meter_hz, &why) == -1 || r.meter_hz <= 0 ||
			    r.meter_hz > 100) {
				run_release(&r);
				return (cmd_usage_error(&cmd_run_entry, "--meter-rate %s: "
				    "not a rate in Hz between 0 and 100", optarg));
			}
			break;
		case 'A':
			/* The profile's own grammar (net-rule.c). */
			if (net_rule_parse(optarg, &rule, &e) == -1) {
				strv_clear(&net_allow);
				run_release(&r);
				return (cmd_usage_error(&cmd_run_entry, "--net-allow %s: "
				    "%s", optarg, e.msg));
			}
			net_rule_release(&rule);
			strv_add(&net_allow, optarg);
			break;
		case 'O':
			on = optarg;
			break;
		case 'S':
			/* NAME=HOST[,HOST]: a profile line "secret = NAME HOST...". */
			{
				const char	*eq = strchr(optarg, '=');
				char		*line, *ch;

				if (eq == NULL || eq == optarg || eq[1] == '\0') {
					strv_clear(&secrets);
					strv_clear(&net_allow);
					run_release(&r);
					return (cmd_usage_error(&cmd_run_entry, "--secret "
					    "%s: expected NAME=HOST[,HOST]... (the variable, "
					    "then the hosts its value is sent to)", optarg));
				}
				line = xstrdup(optarg);
				line[eq - optarg] = ' ';
				for (ch = line; *ch != '\0'; ch++)
					if (*ch == ',')
						*ch = ' ';
				strv_take(&secrets, line);
			}
			break;
		case 'R':
			review = true;
			break;
		case 'h':
			cmd_help(&cmd_run_entry, stdout);
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
		strv_clear(&net_allow);
		strv_clear(&secrets);
		run_release(&r);
		return (EXIT_MOAT);
	}
	if (secrets.n > 0 && p->net == NET_ISOLATED) {
		cmd_errorf("moat run: --secret: profile %s has net = isolated: "
		    "nothing leaves it; use a restricted profile with a net-allow "
		    "line for the secret's hosts (or --net-allow)\n", p->name);
		strv_clear(&net_allow);
		goto secret_fail;
	}
	if (net_allow.n > 0 && (p->net == NET_ISOLATED || (p->net == NET_PROXIED &&
	    p->net_allow.n == 0 && p->net_allow_index.n == 0))) {
		cmd_errorf("moat run: --net-allow %s: profile %s %s\n",
		    net_allow.v[0], p->name, p->net == NET_ISOLATED ?
		    "has net = isolated: nothing leaves it, not even through a "
		    "rule (use a restricted profile)" : "is proxied without "
		    "net-allow lines: it passes every destination already");
		strv_clear(&net_allow);
		profile_free(p);
		run_release(&r);
		return (EXIT_MOAT);
	}
	/* For this run only; the row's profile says so. */
	for (size_t i = 0; i < net_allow.n; i++) {
		char	*label = xprintf("%s --net-allow %s", o.profile_label != NULL ?
			    o.profile_label : p->name, net_allow.v[i]);

		strv_add(&p->net_allow, net_allow.v[i]);
		free(o.profile_label);
		o.profile_label = label;
	}
	strv_clear(&net_allow);
	/* As profile lines, so the row's profile text has them; then checked
	 * against the net-allow rules, --net-allow's included. */
	for (size_t i = 0; i < secrets.n; i++) {
		char	*label = xprintf("%s --secret %s", o.profile_label != NULL ?
			    o.profile_label : p->name, secrets.v[i]);

		free(o.profile_label);
		o.profile_label = label;
		if (profile_add(p, "secret", secrets.v[i], "--secret", &e) == -1) {
			cmd_errorf("moat run: --secret: %s\n", e.msg);
			goto secret_fail;
		}
	}
	if (profile_check_secrets(p, &e) == -1) {
		cmd_errorf("moat run: %s\n", e.msg);
		goto secret_fail;
	}
	strv_clear(&secrets);
	/* --on and --review work on a copy: the workspace as an overlay. */
	if ((on != NULL || review) && p->workspace != WS_OVERLAY) {
		if (p->workspace == WS_NONE) {
			fprintf(stderr, "moat run: --%s: profile %s has workspace = none: "
			    "nothing to review\n", on != NULL ? "on" : "review", p->name);
			profile_free(p);
			run_release(&r);
			return (EXIT_MOAT);
		}
		p->workspace = WS_OVERLAY;
	}
	if (on != NULL && cmd_apply_on(o.db, on, &r, &on_id, &on_ws, &on_layers) == -1) {
		strv_clear(&on_layers);
		profile_free(p);
		run_release(&r);
		return (EXIT_MOAT);
	}
	status = cmd_run_go(&r, p, &o);
	if (review && r.state_dir != NULL)
		status = cmd_apply_review(o.db, r.id, status);
	strv_clear(&on_layers);
	free(o.profile_label);
	profile_free(p);
	run_release(&r);
	return (status);

secret_fail:
	strv_clear(&secrets);
	free(o.profile_label);
	profile_free(p);
	run_release(&r);
	return (EXIT_MOAT);
}
