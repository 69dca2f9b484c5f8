/* cmd-run.c: `moat run`, one sandboxed command; its exit status passes
 * through. Front end: parses flags, loads the profile, fills a struct run and
 * calls run_sandbox(); its callbacks score the command, record it in the
 * audit log, and show what happens. Runs in the supervisor. */
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

#include "audit/audit.h"
#include "cmd.h"
#include "sandbox/meter.h"
#include "profile/net-rule.h"
#include "profile/profile.h"
#include "risk/risk.h"
#include "run-summary.h"
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

/* What the front end keeps for a run: how to show it, how risky it is,
 * where it is recorded. */
struct cmd_run_ui {
	bool			 meter_live;	/* --meter and stderr is a terminal */
	bool			 meter_drawn;	/* a live line is on the screen */
	int			 meter_fd;	/* our terminal, opened again non-blocking:
						   a frame it cannot take now is dropped,
						   never waited for (^S would stop the loop) */
	struct risk_rules	*rules;
	struct risk_result	 risk;		/* the static score, before the run */
	bool			 scored;
	struct strv		 denied;	/* syscall names, once per denial (capped) */
	unsigned		 net_refused;
	struct cmd_run_refusal	 refusals[CMD_RUN_REFUSALS_MAX];
	size_t			 nrefusals;
	unsigned		 refusals_more;	/* distinct ones beyond the array */
	char			*profile_label;	/* owned; the name and any --net-allow */
	const char		*session;	/* the session's id, or NULL */
	struct run_summary	 sum;		/* what the run was refused, for the end */
	/* the audit log */
	const char		*db;		/* --db; NULL: $MOAT_DB or the default */
	bool			 unlogged_ok;	/* --unlogged or audit-unlogged = yes */
	struct audit		*audit;
	struct audit_run	*ar;
	bool			 audit_warned;	/* one message about a failing log */
	char			*profile_text;	/* owned; hashed into the row */
	double			 trace;		/* MOAT_TRACE_TIMING: start, now_mono(); 0 = off */
	/* The preparation thread: opens the log, loads the rules and scores
	 * the command while the supervisor builds the sandbox. */
	pthread_t		 prep;
	bool			 prep_started;
	char			**argv;
	const struct profile	*profile;
	struct merr		 audit_err;	/* audit_open's failure */
	struct merr		 risk_err;	/* risk_load's failure */
	bool			 risk_failed;
};

static int	cmd_run_exec(int, char **);

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "run [-p PROFILE] [-w DIR] [--timeout SECS] [-e NAME[=VALUE]]... "
	    "[--net-allow HOST[:PORT]]... [-v] [-q] [--meter] [--meter-rate HZ] [--json] "
	    "[--db PATH] [--unlogged] [--on ID] [--review] -- CMD [ARG]...",
	.summary = "run one command in the sandbox; its exit status passes through",
	.options = (const char *const[]){
		"-p, --profile PROFILE\ta profile name on the search path, or a path (default: default)",
		"-w, --workspace DIR\tthe workspace instead of the current directory",
		"--timeout SECS\twall-clock limit (1.5, 500ms, 2m; 0 = none), overriding the profile's",
		"-e, --env NAME[=VALUE]\tpass NAME from moat's environment, or set it",
		"--net-allow HOST[:PORT]\tone more net-allow rule for this run (restricted, proxied)",
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

/* MOAT_TRACE_TIMING=1: what each step of the front end cost, on stderr, for
 * bench/startup.sh and whoever asks why a run starts slowly. t0 is when the
 * step began; the line also says how far into cmd_run_exec it ended. */
static void
cmd_run_trace(const struct cmd_run_ui *ui, const char *what, double t0)
{
	double	now;

	if (ui->trace == 0)
		return;
	now = now_mono();
	fprintf(stderr, "moat: timing: %-12s %7.3f ms (at %7.3f ms)\n", what,
	    (now - t0) * 1e3, (now - ui->trace) * 1e3);
}

/* The log failed in the middle of a run: say it once and carry on; the
 * command is already running (its row is marked interrupted later). */
static void
cmd_run_audit_warn(struct cmd_run_ui *ui, const struct merr *e)
{
	if (ui->audit_warned)
		return;
	ui->audit_warned = true;
	fprintf(stderr, "moat: audit log: %s\n", e->msg);
}

static void
cmd_run_start_fields(struct run *r, struct cmd_run_ui *ui, struct audit_start *as)
{
	const struct profile	*p = r->profile;

	memset(as, 0, sizeof *as);
	as->run_id = r->id;
	as->source = "cli";
	as->session = ui->session;
	as->profile = ui->profile_label != NULL ? ui->profile_label : p->name;
	as->profile_text = ui->profile_text;
	as->net_mode = profile_net_mode_name(p->net);
	as->workspace = r->ws_path;
	as->cwd = r->cwd_path;
	as->argv = r->argv;
	as->risk = ui->scored ? ui->risk.score : -1;
	as->output_head = as->output_tail = p->audit_output == 0 ?
	    AUDIT_OUTPUT_NONE : (size_t)p->audit_output;
}

int
cmd_run_timeout(const struct cmd_entry *ce, const char *arg, double *out)
{
	const char	*why;

	if (parse_duration(arg, out, &why) == -1) {
		cmd_usage_error(ce, "--timeout %s: %s (seconds, or with ms, s, m, h: "
		    "1.5, 500ms, 2m; 0 = none; at most 366 days)", arg, why);
		return (-1);
	}
	if (*out == 0)
		*out = RUN_TIMEOUT_NONE;
	return (0);
}

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

/* Records a refusal (the refusal itself is part of the history). */
static void
cmd_run_refused(struct run *r, struct cmd_run_ui *ui, const char *why)
{
	struct audit_start	 as;
	autofree char		*reasons = NULL;
	struct merr		 ae;

	if (ui->audit == NULL)
		return;
	cmd_run_start_fields(r, ui, &as);
	if (ui->scored)
		as.risk_reasons = reasons = risk_reasons_json(&ui->risk);
	if (audit_run_refused(ui->audit, &as, why, &ae) == -1)
		cmd_run_audit_warn(ui, &ae);
}

/* The part of a run's start that needs neither the sandbox nor the run's
 * id, on a thread of its own from before the sandbox is built: the
 * profile's text for its hash, the log opened (with its sweep of
 * interrupted runs), the risk rules loaded and the command scored. It
 * touches nothing the supervisor does. */
static void *
cmd_run_prep(void *arg)
{
	struct cmd_run_ui	*ui = arg;
	double			 t = now_mono();

	ui->profile_text = profile_format(ui->profile, false, NULL);
	cmd_run_trace(ui, "profile-text", t);
	t = now_mono();
	ui->audit = audit_open(ui->db, 0, &ui->audit_err);
	cmd_run_trace(ui, "audit-open", t);
	t = now_mono();
	if (risk_load(&ui->rules, &ui->risk_err) == -1) {
		ui->risk_failed = true;
		return (NULL);
	}
	cmd_run_trace(ui, "risk-load", t);
	t = now_mono();
	risk_score_argv(ui->rules, ui->argv, &ui->risk);
	ui->scored = true;
	cmd_run_trace(ui, "risk-score", t);
	return (NULL);
}

/* Starts cmd_run_prep with every signal blocked (the supervisor takes
 * them through its signalfd); without a thread, runs it here. Called once
 * the sandbox init is cloned: init is a copy of this process, and a thread
 * busy in malloc or sqlite at the clone would leave init a held lock. */
static void
cmd_run_prep_start(struct run *r)
{
	struct cmd_run_ui	*ui = r->cb_arg;
	sigset_t		 all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ui->prep_started = pthread_create(&ui->prep, NULL, cmd_run_prep, ui) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ui->prep_started)
		cmd_run_prep(ui);
}

static void
cmd_run_prep_join(struct cmd_run_ui *ui)
{
	if (ui->prep_started) {
		pthread_join(ui->prep, NULL);
		ui->prep_started = false;
	}
}

/* Runs while the sandbox init builds the root: what the profile says to do
 * about the static risk score, and the run's row in the log, written
 * before the command starts. */
static int
cmd_run_before_exec(struct run *r, struct merr *e)
{
	struct cmd_run_ui	*ui = r->cb_arg;
	const struct profile	*p = r->profile;
	struct audit_start	 as;
	autofree char		*reasons = NULL;
	struct merr		 ae;
	double			 t;

	cmd_run_prep_join(ui);
	if (ui->audit == NULL) {
		if (!ui->unlogged_ok)
			return (merr_set(e, "%s; the run is refused because it could "
			    "not be recorded (--unlogged, or audit-unlogged = yes in the "
			    "profile, lets it run unrecorded)", ui->audit_err.msg));
		cmd_run_audit_warn(ui, &ui->audit_err);
	}
	if (ui->risk_failed) {
		memcpy(e, &ui->risk_err, sizeof *e);
		cmd_run_refused(r, ui, e->msg);
		return (-1);
	}
	if (r->verbose > 0)
		run_emit(r, EV_NOTE, "static risk %d/100 (%s)", ui->risk.score,
		    risk_band(ui->risk.score));

	if (p->risk_refuse_above >= 0 && ui->risk.score > p->risk_refuse_above) {
		risk_result_print(&ui->risk, stderr);
		merr_set(e, "refused: the command's risk score %d is above the "
		    "profile's risk-refuse-above (%d); the reasons are above, and "
		    "moat risk shows them without running anything",
		    ui->risk.score, p->risk_refuse_above);
		cmd_run_refused(r, ui, e->msg);
		return (-1);
	}
	if (p->risk_confirm_above >= 0 && ui->risk.score > p->risk_confirm_above &&
	    !cmd_run_confirm(&ui->risk, p->risk_confirm_above)) {
		if (!isatty(STDERR_FILENO))
			risk_result_print(&ui->risk, stderr);
		merr_set(e, "refused: the command's risk score %d is above the "
		    "profile's risk-confirm-above (%d) and %s", ui->risk.score,
		    p->risk_confirm_above, isatty(STDIN_FILENO) ?
		    "it was not confirmed" : "there is no terminal to confirm it on");
		cmd_run_refused(r, ui, e->msg);
		return (-1);
	}

	if (ui->audit == NULL)
		return (0);
	cmd_run_start_fields(r, ui, &as);
	as.risk_reasons = reasons = risk_reasons_json(&ui->risk);
	t = now_mono();
	ui->ar = audit_run_begin(ui->audit, &as, &ae);
	cmd_run_trace(ui, "audit-begin", t);
	if (ui->ar == NULL) {
		if (!ui->unlogged_ok)
			return (merr_set(e, "%s; the run is refused because it could "
			    "not be recorded (--unlogged lets it run unrecorded)",
			    ae.msg));
		cmd_run_audit_warn(ui, &ae);
	}
	return (0);
}

/* After the run: what was observed adds to the score, and the row is
 * completed. */
static void
cmd_run_audit_end(struct run *r, struct cmd_run_ui *ui, bool setup_failed,
    const char *limits_json)
{
	const struct meter_summary	*ms = &r->summary;
	struct audit_end		 en;
	struct risk_result		 fin;
	struct risk_observed		 obs;
	autofree char			*reasons = NULL;
	struct merr			 ae;
	double				 t = now_mono();

	if (ui->ar == NULL)
		return;
	memset(&en, 0, sizeof en);
	en.status = setup_failed ? AUDIT_SETUP_FAILED : AUDIT_DONE;
	en.end_reason = end_reason_name(r->end);
	en.exit_code = setup_failed ? EXIT_MOAT : r->exit_code;
	en.signal = !setup_failed && r->end != END_EXEC_FAILED &&
	    WIFSIGNALED(r->wstatus) ? WTERMSIG(r->wstatus) : 0;
	en.cpu_user = isnan(ms->cpu_user) ? -1 : ms->cpu_user;
	en.cpu_sys = isnan(ms->cpu_sys) ? -1 : ms->cpu_sys;
	en.peak_memory = isnan(ms->mem_peak) ? -1 : (int64_t)ms->mem_peak;
	en.peak_pids = isnan(ms->procs_peak) ? -1 : (int64_t)ms->procs_peak;
	en.limits = limits_json;
	en.risk = -1;
	memset(&fin, 0, sizeof fin);
	if (ui->scored) {
		risk_result_copy(&fin, &ui->risk);
		memset(&obs, 0, sizeof obs);
		for (size_t i = 0; i < ui->denied.n; i++)
			obs.denied[risk_deny_kind(ui->denied.v[i])]++;
		obs.net_refused = ui->net_refused;
		obs.limit_oom = r->end == END_OOM;
		obs.limit_pids = r->end == END_PIDS;
		obs.limit_timeout = r->end == END_TIMEOUT;
		obs.limit_cpu = r->end == END_CPU_TIME;
		obs.files_outside = r->files_outside;
		risk_add_observed(ui->rules, &fin, &obs);
		en.risk = ui->sum.risk = fin.score;
		en.risk_reasons = reasons = risk_reasons_json(&fin);
	}
	if (audit_run_end(ui->ar, &en, &ae) == -1)
		cmd_run_audit_warn(ui, &ae);
	ui->ar = NULL;
	cmd_run_trace(ui, "audit-end", t);
	if (ui->scored)
		risk_result_free(&fin);
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

		cmd_errorf("moat: refused %s%s%s:%u", v6 ? "[" : "", f->host,
		    v6 ? "]" : "", f->port);
		if (f->n > 1)
			fprintf(stderr, " (%u times)", f->n);
		cmd_errorf(": %s", f->why);
		if (strncmp(f->why, "no net-allow rule", 17) == 0 &&
		    (line = net_rule_suggest(f->host, f->port)) != NULL)
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
cmd_run_on_event(struct run *r, const struct run_event *ev)
{
	static const char	*kinds[] = {
		[EV_NOTE] = "note", [EV_SYSCALL_DENIED] = "seccomp",
		[EV_NET_CONN] = "net", [EV_LIMIT_HIT] = "limit",
		[EV_FILE_CHANGED] = "file",
	};
	struct cmd_run_ui	*ui = r->cb_arg;
	struct merr		 ae;

	if (ui->ar != NULL && ev->kind != EV_NOTE &&
	    audit_run_event(ui->ar, ev, &ae) == -1)
		cmd_run_audit_warn(ui, &ae);
	run_summary_event(&ui->sum, ev);
	if (ev->kind == EV_SYSCALL_DENIED && ev->syscall != NULL) {
		uint64_t	n = ev->count > 0 ? ev->count : 1;

		/* Enough to score by kind; a tight loop does not grow it. */
		for (uint64_t i = 0; i < n && ui->denied.n < 1000; i++)
			strv_add(&ui->denied, ev->syscall);
	}
	if (ev->kind == EV_NET_CONN && ev->verdict != NULL &&
	    strcmp(ev->verdict, "refused") == 0) {
		ui->net_refused++;
		cmd_run_note_refusal(ui, ev);
	}

	if (r->verbose == 0 && ev->kind != EV_LIMIT_HIT)
		return;
	if (ui->meter_drawn) {
		fputs("\r\033[K", stderr);
		ui->meter_drawn = false;
	}
	cmd_errorf("moat: [%7.3f] %s: %s\n", ev->t, kinds[ev->kind], ev->text);
}

/* Samples go to the log; with --meter on a terminal, one line redrawn in
 * place. */
static void
cmd_run_on_sample(struct run *r, const struct meter_sample *ms)
{
	struct cmd_run_ui	*ui = r->cb_arg;
	char			 line[256];
	struct merr		 ae;

	if (ui->ar != NULL) {
		struct audit_sample	as = {
			.t = ms->t,
			.cpu_pct = isnan(ms->cpu_pct) ? -1 : ms->cpu_pct,
			.mem_bytes = isnan(ms->mem_current) ? -1 : (int64_t)ms->mem_current,
			.pids = isnan(ms->nprocs) ? -1 : (int64_t)ms->nprocs,
			.io_read = isnan(ms->io_read) ? -1 : (int64_t)ms->io_read,
			.io_write = isnan(ms->io_write) ? -1 : (int64_t)ms->io_write,
		};

		if (audit_run_sample(ui->ar, &as, &ae) == -1)
			cmd_run_audit_warn(ui, &ae);
	}
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

static void
cmd_run_on_output(struct run *r, int stream, const void *buf, size_t len)
{
	struct cmd_run_ui	*ui = r->cb_arg;

	if (ui->ar != NULL)
		audit_output_feed(ui->ar, stream, buf, len);
}

/* The rest of a run, once the flags are read and the profile loaded: moat
 * run's, and moat session exec's (r->session_fd set). The exit status. */
int
cmd_run_go(struct run *r, struct profile *p, const struct cmd_run_opts *o)
{
	struct cmd_run_ui	 uis, *ui = &uis;
	struct merr		 e;
	bool			 meter = o->meter, json = o->json;
	int			 status, rc;

	memset(ui, 0, sizeof *ui);
	run_summary_init(&ui->sum);
	ui->meter_fd = -1;
	ui->trace = o->trace;
	ui->db = o->db;
	ui->unlogged_ok = o->unlogged;
	ui->profile_label = o->profile_label != NULL ? xstrdup(o->profile_label) : NULL;
	ui->session = o->session;
	r->profile = p;
	r->on_event = cmd_run_on_event;
	r->on_sample = cmd_run_on_sample;
	r->on_output = cmd_run_on_output;
	r->before_exec = cmd_run_before_exec;
	r->cb_arg = ui;
	ui->meter_live = meter && isatty(STDERR_FILENO);
	ui->meter_fd = ui->meter_live ? open("/proc/self/fd/2",
	    O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : -1;
	if (p->audit_unlogged)
		ui->unlogged_ok = true;
	ui->argv = r->argv;
	ui->profile = p;
	r->after_clone = cmd_run_prep_start;

	rc = run_sandbox(r, &e);
	/* A sandbox that failed before before_exec never joined it. */
	cmd_run_prep_join(ui);
	if (rc == -1) {
		if (ui->meter_drawn)
			fputs("\r\033[K", stderr);
		merr_print(&e);
		status = EXIT_MOAT;
		cmd_run_audit_end(r, ui, true, NULL);
	} else {
		char	buf[2048];
		int	jl;

		status = r->exit_code;
		if (ui->meter_drawn)
			fputs("\r\033[K", stderr);
		jl = meter_format_json(&r->summary, end_reason_name(r->end),
		    r->exit_code, &p->limits, r->enforced, buf, sizeof buf);
		if (ui->scored)
			ui->sum.risk = ui->risk.score;	/* the final one if recorded */
		cmd_run_audit_end(r, ui, false, jl == 0 ? buf : NULL);
		if (json && jl == 0) {
			autofree char	*more = run_summary_json(&ui->sum, r);

			fflush(stdout);
			printf("%.*s%s}\n", (int)strlen(buf) - 1, buf, more);	/* buf ends in "}" */
		}
		if (meter) {
			meter_format_summary(&r->summary, end_reason_name(r->end), buf,
			    sizeof buf);
			fprintf(stderr, "%s\n", buf);
		}
		if (isatty(STDERR_FILENO))
			cmd_run_refusal_summary(ui);
		if (isatty(STDERR_FILENO) && !o->quiet && p->run_summary)
			run_summary_print(&ui->sum, r, stderr);
	}
	{
		double	t = now_mono();

		audit_close(ui->audit);
		cmd_run_trace(ui, "audit-close", t);	/* its "at" is the total */
	}
	free(ui->profile_text);
	free(ui->profile_label);
	for (size_t i = 0; i < ui->nrefusals; i++) {
		free(ui->refusals[i].host);
		free(ui->refusals[i].why);
	}
	if (ui->meter_fd >= 0)
		close(ui->meter_fd);
	strv_clear(&ui->denied);
	run_summary_free(&ui->sum);
	if (ui->scored)
		risk_result_free(&ui->risk);
	risk_rules_free(ui->rules);
	return (status);
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
		{ "quiet", no_argument, NULL, 'q' },
		{ "meter", no_argument, NULL, 'm' },
		{ "meter-rate", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'D' },
		{ "unlogged", no_argument, NULL, 'U' },
		{ "net-allow", required_argument, NULL, 'A' },
		{ "on", required_argument, NULL, 'O' },
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
	struct strv		 net_allow = { 0 }, on_layers = { 0 };
	struct net_rule		 rule;
	const char		*on = NULL;
	autofree char		*on_id = NULL, *on_ws = NULL;
	bool			 review = false;

	memset(&o, 0, sizeof o);
	if (getenv("MOAT_TRACE_TIMING") != NULL && *getenv("MOAT_TRACE_TIMING") != '\0')
		o.trace = now_mono();
	run_init(&r);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:e:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pname = optarg;
			break;
		case 'w':
			r.workspace = optarg;
			break;
		case 't':
			if (cmd_run_timeout(&cmd_run_entry, optarg, &r.timeout) == -1) {
				run_release(&r);
				return (EXIT_MOAT);
			}
			break;
		case 'e':
			strv_add(&r.env_extra, optarg);
			break;
		case 'v':
			r.verbose++;
			break;
		case 'q':
			o.quiet = true;
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
		case 'j':
			o.json = true;
			break;
		case 'D':
			o.db = optarg;
			break;
		case 'U':
			o.unlogged = true;
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
		run_release(&r);
		return (EXIT_MOAT);
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
}
