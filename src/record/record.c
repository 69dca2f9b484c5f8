/* record.c: a run on the record (record.h). The log is opened, the rules
 * loaded and the command scored on a thread of its own while the sandbox is
 * built; the row is begun in before_exec, before the command starts, and
 * completed after the run with the score raised by what was observed.
 * Supervisor only. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "record.h"
#include "audit/audit.h"
#include "base/util.h"
#include "profile/profile.h"
#include "sandbox/cg.h"
#include "sandbox/meter.h"

struct rec {
	const struct rec_opts	*o;
	struct rec_out		*out;
	struct risk_rules	*rules;
	struct strv		 denied;	/* syscall names, once per denial (capped) */
	unsigned		 net_refused;
	unsigned		 secret_misused;	/* refusals of a secret's placeholder */
	struct audit		*audit;
	struct audit_run	*ar;
	bool			 warned;	/* one message about a failing log */
	bool			 refused;	/* a refused row is written */
	bool			 closed;	/* the row ended, the log closed */
	char			*profile_text;	/* owned; hashed into the row */
	/* The preparation thread: opens the log, loads the rules and scores
	 * the command while the supervisor builds the sandbox. */
	pthread_t		 prep;
	bool			 prep_started;
	char			**argv;
	const struct profile	*profile;
	const struct secrets	*secrets;	/* the run's, once read */
	struct merr		 audit_err;	/* audit_open's failure */
	struct merr		 risk_err;	/* risk_load's failure */
	bool			 risk_failed;
	/* The exec trail: the riskiest program the run started, scored as
	 * its command line would be. */
	struct risk_result	 exec_max;
	char			*exec_max_cmd;	/* owned */
	bool			 exec_scored;
	/* A build runs the same command lines again and again: their scores,
	 * by the joined command line, a small ring. */
	struct rec_score {
		char	*cmd;			/* owned */
		int	 score;
		char	*reasons;		/* owned, JSON */
	}			 cache[64];
	size_t			 ncache;
};

static void	*rec_prep(void *);

/* MOAT_TRACE_TIMING=1: what each step cost, on stderr, for bench/startup.sh
 * and whoever asks why a run starts slowly. t0 is when the step began; the
 * line also says how far into the front end it ended. */
static void
rec_trace(const struct rec *rc, const char *what, double t0)
{
	trace_step(rc->o->trace, what, t0);
}

/* The log failed in the middle of a run: say it once and carry on; the
 * command is already running (its row is marked interrupted later). */
static void
rec_warn(struct rec *rc, const struct merr *e)
{
	if (rc->warned)
		return;
	rc->warned = true;
	if (rc->o->on_warn != NULL)
		rc->o->on_warn(e->msg, rc->o->arg);
	else
		fprintf(stderr, "moat: %s%s; the run goes on, and may be missing from the log\n",
		    strncmp(e->msg, "audit log", 9) == 0 ? "" : "audit log: ", e->msg);
}

static void
rec_start_fields(struct run *r, struct rec *rc, struct audit_start *as)
{
	const struct profile	*p = r->profile;
	const struct rec_opts	*o = rc->o;

	memset(as, 0, sizeof *as);
	as->run_id = r->id;
	as->source = o->source != NULL ? o->source : "cli";
	as->client = o->client;
	as->session = o->session;
	as->profile = o->profile_label != NULL ? o->profile_label : p->name;
	as->profile_text = rc->profile_text;
	as->net_mode = profile_net_mode_name(p->net);
	as->workspace = r->ws_path;
	as->cwd = r->cwd_path;
	as->argv = r->argv;
	as->risk = rc->out->scored ? rc->out->risk.score : -1;
	as->output_head = as->output_tail = p->audit_output == 0 ?
	    AUDIT_OUTPUT_NONE : (size_t)p->audit_output;
}

/* Records a refusal (the refusal itself is part of the history). */
static void
rec_refused(struct run *r, struct rec *rc, const char *why)
{
	struct audit_start	 as;
	autofree char		*reasons = NULL;
	struct merr		 ae;

	rc->refused = true;
	if (rc->audit == NULL)
		return;
	rec_start_fields(r, rc, &as);
	if (rc->out->scored)
		as.risk_reasons = reasons = risk_reasons_json(&rc->out->risk);
	if (audit_run_refused(rc->audit, &as, why, &ae) == -1)
		rec_warn(rc, &ae);
}

/* The sandbox could not be built before the row was begun (a workspace
 * that is a file, a missing bind source): the failure is a row of its own.
 * Before the clone the preparation never ran: it runs here. */
static void
rec_failed(struct run *r, struct rec *rc, const struct merr *why)
{
	struct audit_start	 as;
	autofree char		*reasons = NULL;
	struct merr		 ae;

	rc->secrets = &r->secrets;	/* read, when the failure came after */
	if (rc->audit == NULL && rc->profile_text == NULL)
		rec_prep(rc);
	if (rc->audit == NULL)
		return;
	rec_start_fields(r, rc, &as);
	if (rc->out->scored)
		as.risk_reasons = reasons = risk_reasons_json(&rc->out->risk);
	if (audit_run_failed(rc->audit, &as, why->msg, &ae) == -1)
		rec_warn(rc, &ae);
}

/* The part of a run's start that needs neither the sandbox nor the run's
 * id: the profile's text for its hash, the log opened (with its sweep of
 * interrupted runs), the risk rules loaded and the command scored. It
 * touches nothing the supervisor does. */
static void *
rec_prep(void *arg)
{
	struct rec	*rc = arg;
	double		 t = now_mono();

	rc->profile_text = profile_format(rc->profile, false, NULL);
	rec_trace(rc, "profile-text", t);
	t = now_mono();
	if (rc->o->audit != NULL)
		rc->audit = rc->o->audit;
	else {
		rc->audit = audit_open(rc->o->db, 0, &rc->audit_err);
		rec_trace(rc, "audit-open", t);
		/* A run whose moat was killed was just marked interrupted: the
		 * groups it made are removed here, off the command's path. */
		if (audit_recovered(rc->audit) > 0) {
			struct merr	ce;

			t = now_mono();
			(void)cg_sweep(&ce);
			rec_trace(rc, "cg-sweep", t);
		}
	}
	/* The run's secrets, read before the clone: never stored. */
	for (size_t i = 0; rc->audit != NULL && rc->secrets != NULL &&
	    i < rc->secrets->n; i++)
		audit_redact_secret(rc->audit, rc->secrets->v[i].name,
		    rc->secrets->v[i].value, rc->secrets->v[i].len);
	t = now_mono();
	if (rc->o->rules != NULL)
		rc->rules = rc->o->rules;
	else if (risk_load(&rc->rules, &rc->risk_err) == -1) {
		rc->risk_failed = true;
		return (NULL);
	} else
		rec_trace(rc, "risk-load", t);
	t = now_mono();
	risk_score_argv(rc->rules, rc->argv, &rc->out->risk);
	if (rc->o->stdin_script != NULL)
		risk_add_stdin(rc->rules, &rc->out->risk, rc->argv,
		    rc->o->stdin_script, rc->o->stdin_len, rc->o->stdin_cut);
	rc->out->scored = true;
	rec_trace(rc, "risk-score", t);
	return (NULL);
}

/* Starts rec_prep with every signal blocked (the supervisor takes them
 * through its signalfd); without a thread, runs it here. Called once the
 * sandbox init is cloned: init is a copy of this process, and a thread busy
 * in malloc or sqlite at the clone would leave init a held lock. */
static void
rec_prep_start(struct run *r)
{
	struct rec	*rc = r->cb_arg;
	sigset_t	 all, old;

	rc->secrets = &r->secrets;
	/* Given the log and the rules (a session's client, the TUI, an MCP
	 * runner), what is left is the profile's text and the score: tens of
	 * microseconds, less than a thread's start. */
	if (rc->o->audit != NULL && rc->o->rules != NULL) {
		rec_prep(rc);
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc->prep_started = pthread_create(&rc->prep, NULL, rec_prep, rc) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc->prep_started)
		rec_prep(rc);
}

static void
rec_prep_join(struct rec *rc)
{
	if (rc->prep_started) {
		pthread_join(rc->prep, NULL);
		rc->prep_started = false;
	}
}

/* Runs while the sandbox init builds the root: what the profile says to do
 * about the static risk score, and the run's row in the log, written
 * before the command starts. */
static int
rec_before_exec(struct run *r, struct merr *e)
{
	struct rec		*rc = r->cb_arg;
	const struct profile	*p = r->profile;
	struct risk_result	*risk = &rc->out->risk;
	struct audit_start	 as;
	autofree char		*reasons = NULL;
	struct merr		 ae;
	const char		*why;
	double			 t;

	rec_prep_join(rc);
	if (rc->audit == NULL) {
		if (!rc->o->unlogged_ok)
			return (merr_set(e, "%s; the run is refused because it could "
			    "not be recorded (--unlogged, or audit-unlogged = yes in the "
			    "profile, lets it run unrecorded)", rc->audit_err.msg));
		rec_warn(rc, &rc->audit_err);
	}
	if (rc->risk_failed) {
		memcpy(e, &rc->risk_err, sizeof *e);
		rec_refused(r, rc, e->msg);
		return (-1);
	}
	if (r->verbose > 0)
		run_emit(r, EV_NOTE, "static risk %d/100 (%s)", risk->score,
		    risk_band(risk->score));

	if (p->risk_refuse_above >= 0 && risk->score > p->risk_refuse_above) {
		rc->out->refused_risk = true;
		merr_set(e, "refused: the command's risk score %d is above the "
		    "profile's risk-refuse-above (%d); the reasons are above, and "
		    "moat risk shows them without running anything",
		    risk->score, p->risk_refuse_above);
		rec_refused(r, rc, e->msg);
		return (-1);
	}
	if (p->risk_confirm_above >= 0 && risk->score > p->risk_confirm_above) {
		why = rc->o->confirm != NULL ? rc->o->confirm(risk,
		    p->risk_confirm_above, rc->o->arg) :
		    "there is no one to confirm it";
		if (why != NULL) {
			merr_set(e, "refused: the command's risk score %d is above "
			    "the profile's risk-confirm-above (%d) and %s",
			    risk->score, p->risk_confirm_above, why);
			rec_refused(r, rc, e->msg);
			return (-1);
		}
	}

	if (rc->audit == NULL)
		return (0);
	rec_start_fields(r, rc, &as);
	as.risk_reasons = reasons = risk_reasons_json(risk);
	t = now_mono();
	/* In a session, the command's request follows the begin at once,
	 * and rec_begun reads the answer: the supervisor writes the row and
	 * then takes the command without this process's turn in between.
	 * (With --unlogged a row that fails does not hold the command: the
	 * begin is waited for, to say so before it runs.) */
	if (r->session_fd >= 0 && r->begun != NULL && !rc->o->unlogged_ok) {
		rc->ar = audit_run_begin_sent(rc->audit, &as, &ae);
		if ((r->spawn_after_row = audit_run_pending(rc->ar))) {
			rec_trace(rc, "audit-sent", t);
			return (0);
		}
	} else
		rc->ar = audit_run_begin(rc->audit, &as, &ae);
	rec_trace(rc, "audit-begin", t);
	if (rc->ar == NULL) {
		if (!rc->o->unlogged_ok)
			return (merr_set(e, "%s; the run is refused because it could "
			    "not be recorded (--unlogged lets it run unrecorded)",
			    ae.msg));
		rec_warn(rc, &ae);
	} else
		rc->out->logged = true;
	return (0);
}

/* The answer to a begin rec_before_exec sent (a session's command, whose
 * request has gone after it). */
static int
rec_begun(struct run *r, struct merr *e)
{
	struct rec	*rc = r->cb_arg;
	struct merr	 ae;
	double		 t = now_mono();

	if (rc->ar == NULL || !r->spawn_after_row)
		return (0);
	if (audit_run_begun(&rc->ar, &ae) == -1) {
		rec_trace(rc, "audit-begin", t);
		return (merr_set(e, "%s; the run is refused because it could not be "
		    "recorded (--unlogged lets it run unrecorded)", ae.msg));
	}
	rec_trace(rc, "audit-begin", t);
	rc->out->logged = true;
	return (0);
}

/* The riskiest program of the exec trail raises the run's score to its
 * own, with its reasons, each saying which program it was. */
static void
rec_exec_merge(struct rec *rc, struct risk_result *fin)
{
	const struct risk_result	*x = &rc->exec_max;

	if (!rc->exec_scored || x->score <= fin->score)
		return;
	for (size_t i = 0; i < x->nreasons; i++) {
		const struct risk_reason	*from = &x->reasons[i];
		struct risk_reason		*to;

		fin->reasons = xreallocarray(fin->reasons, fin->nreasons + 1,
		    sizeof *fin->reasons);
		to = &fin->reasons[fin->nreasons++];
		memset(to, 0, sizeof *to);
		to->rule = xstrdup(from->rule != NULL ? from->rule : "");
		to->category = xstrdup(from->category != NULL ? from->category : "");
		to->weight = from->weight;
		to->match = xstrdup(from->match != NULL ? from->match : "");
		to->reason = xstrdup(from->reason != NULL ? from->reason : "");
		to->via = from->via != NULL ? xprintf("exec %s > %s", rc->exec_max_cmd,
		    from->via) : xprintf("exec %s", rc->exec_max_cmd);
	}
	fin->score = x->score;
}

/* An exec of the trail: scored as its command line (from the cache when
 * the same line was scored before); the riskiest kept. ev->reasons is the
 * caller's to free. */
static void
rec_exec_score(struct rec *rc, struct run_event *ev)
{
	struct risk_result	 res;
	struct rec_score	*c;
	autofree char		*cmd = NULL;

	if (rc->rules == NULL || rc->risk_failed || ev->argv == NULL ||
	    ev->argv[0] == NULL)
		return;
	cmd = risk_argv_join(ev->argv);
	for (size_t i = 0; i < rc->ncache && i < nitems(rc->cache); i++)
		if (strcmp(rc->cache[i].cmd, cmd) == 0) {
			ev->risk = rc->cache[i].score;
			ev->reasons = xstrdup(rc->cache[i].reasons);
			return;
		}
	memset(&res, 0, sizeof res);
	if (risk_score_argv(rc->rules, ev->argv, &res) == -1)
		return;
	ev->risk = res.score;
	ev->reasons = risk_reasons_json(&res);
	c = &rc->cache[rc->ncache++ % nitems(rc->cache)];
	free(c->cmd);
	free(c->reasons);
	c->cmd = xstrdup(cmd);
	c->score = res.score;
	c->reasons = xstrdup(ev->reasons);
	if (!rc->exec_scored || res.score > rc->exec_max.score) {
		if (rc->exec_scored)
			risk_result_free(&rc->exec_max);
		free(rc->exec_max_cmd);
		rc->exec_max = res;
		rc->exec_max_cmd = TAKE_PTR(cmd);
		rc->exec_scored = true;
	} else
		risk_result_free(&res);
}

/* After the run: what was observed adds to the score, and the row is
 * completed. */
static void
rec_end(struct run *r, struct rec *rc, const char *failed)
{
	bool				 setup_failed = failed != NULL;
	const struct meter_summary	*ms = &r->summary;
	struct audit_end		 en;
	struct risk_result		 fin;
	struct risk_observed		 obs;
	autofree char			*reasons = NULL;
	struct merr			 ae;
	double				 t = now_mono();

	if (rc->out->scored) {
		risk_result_copy(&fin, &rc->out->risk);
		memset(&obs, 0, sizeof obs);
		for (size_t i = 0; i < rc->denied.n; i++)
			obs.denied[risk_deny_kind(rc->denied.v[i])]++;
		obs.net_refused = rc->net_refused;
		obs.secret_misused = rc->secret_misused;
		obs.limit_oom = r->end == END_OOM;
		obs.limit_pids = r->end == END_PIDS;
		obs.limit_timeout = r->end == END_TIMEOUT;
		obs.limit_cpu = r->end == END_CPU_TIME;
		obs.files_outside = r->files_outside;
		risk_add_observed(rc->rules, &fin, &obs);
		rec_exec_merge(rc, &fin);
		rc->out->final_risk = rc->out->sum.risk = fin.score;
	}
	if (rc->ar == NULL)
		goto out;
	memset(&en, 0, sizeof en);
	en.status = setup_failed ? AUDIT_SETUP_FAILED : AUDIT_DONE;
	/* A setup failure's row says what failed, as one refused before
	 * its row was begun does (audit_run_failed). */
	en.end_reason = setup_failed && *failed != '\0' ? failed : end_reason_name(r->end);
	en.exit_code = setup_failed ? EXIT_MOAT : r->exit_code;
	en.signal = !setup_failed && r->end != END_EXEC_FAILED &&
	    WIFSIGNALED(r->wstatus) ? WTERMSIG(r->wstatus) : 0;
	en.cpu_user = isnan(ms->cpu_user) ? -1 : ms->cpu_user;
	en.cpu_sys = isnan(ms->cpu_sys) ? -1 : ms->cpu_sys;
	en.peak_memory = isnan(ms->mem_peak) ? -1 : (int64_t)ms->mem_peak;
	en.peak_pids = isnan(ms->procs_peak) ? -1 : (int64_t)ms->procs_peak;
	en.limits = rc->out->limits_json[0] != '\0' ? rc->out->limits_json : NULL;
	/* When it ended, not when the row could be completed (a log held
	 * locked by another moat delays that). */
	if (r->t_end > 0) {
		struct timespec	ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		en.ended_at = (double)ts.tv_sec + ts.tv_nsec / 1e9 -
		    (now_mono() - r->t_end);
	}
	en.risk = -1;
	if (rc->out->scored) {
		en.risk = fin.score;
		en.risk_reasons = reasons = risk_reasons_json(&fin);
	}
	if (audit_run_end(rc->ar, &en, &ae) == -1)
		rec_warn(rc, &ae);
	rc->ar = NULL;
	rec_trace(rc, "audit-end", t);
out:
	if (rc->out->scored)
		risk_result_free(&fin);
}

static void
rec_on_event(struct run *r, const struct run_event *in)
{
	struct rec		*rc = r->cb_arg;
	struct merr		 ae;
	struct run_event	 x = *in;
	const struct run_event	*ev = &x;
	autofree char		*reasons = NULL;

	if (x.kind == EV_EXEC) {
		rec_exec_score(rc, &x);
		reasons = (char *)x.reasons;
	}

	if (rc->ar != NULL && ev->kind != EV_NOTE &&
	    audit_run_event(rc->ar, ev, &ae) == -1)
		rec_warn(rc, &ae);
	run_summary_event(&rc->out->sum, ev);
	if (ev->kind == EV_SYSCALL_DENIED && ev->syscall != NULL) {
		uint64_t	n = ev->count > 0 ? ev->count : 1;

		/* Enough to score by kind; a tight loop does not grow it. */
		for (uint64_t i = 0; i < n && rc->denied.n < 1000; i++)
			strv_add(&rc->denied, ev->syscall);
	}
	if (ev->kind == EV_NET_CONN && ev->verdict != NULL &&
	    strcmp(ev->verdict, "refused") == 0) {
		rc->net_refused++;
		/* The proxy's refusals of a secret's placeholder all say so. */
		if (ev->rule != NULL && strstr(ev->rule, "the placeholder of secret ") != NULL)
			rc->secret_misused++;
	}
	if (rc->o->on_event != NULL)
		rc->o->on_event(r, ev, rc->o->arg);
}

static void
rec_on_sample(struct run *r, const struct meter_sample *ms)
{
	struct rec	*rc = r->cb_arg;
	struct merr	 ae;

	if (rc->ar != NULL) {
		struct audit_sample	as = {
			.t = ms->t,
			.cpu_pct = isnan(ms->cpu_pct) ? -1 : ms->cpu_pct,
			.mem_bytes = isnan(ms->mem_current) ? -1 : (int64_t)ms->mem_current,
			.pids = isnan(ms->nprocs) ? -1 : (int64_t)ms->nprocs,
			.io_read = isnan(ms->io_read) ? -1 : (int64_t)ms->io_read,
			.io_write = isnan(ms->io_write) ? -1 : (int64_t)ms->io_write,
		};

		if (audit_run_sample(rc->ar, &as, &ae) == -1)
			rec_warn(rc, &ae);
	}
	if (rc->o->on_sample != NULL)
		rc->o->on_sample(r, ms, rc->o->arg);
}

static void
rec_on_output(struct run *r, int stream, const void *buf, size_t len)
{
	struct rec	*rc = r->cb_arg;

	if (rc->ar != NULL)
		audit_output_feed(rc->ar, stream, buf, len);
	if (rc->o->on_output != NULL)
		rc->o->on_output(r, stream, buf, len, rc->o->arg);
}

/* The command starts: what the row's end will run is prepared now, not
 * after the command has ended. */
static void
rec_on_exec(struct run *r)
{
	struct rec	*rc = r->cb_arg;

	audit_run_warm(rc->ar);
}

static void
rec_on_spawned(struct run *r)
{
	struct rec	*rc = r->cb_arg;

	if (rc->o->on_spawned != NULL)
		rc->o->on_spawned(r, rc->o->arg);
}

/* The limits as they were in force: --timeout over the profile's, 0 for
 * none; a share of memory as bytes. */
static void
rec_limits(struct run *r, struct rec *rc)
{
	struct limits	l = r->limits;

	if (r->timeout > 0)
		l.timeout = r->timeout;
	else if (r->timeout == RUN_TIMEOUT_NONE)
		l.timeout = 0;
	if (meter_format_json(&r->summary, end_reason_name(r->end), r->exit_code,
	    &l, r->enforced, rc->out->limits_json, sizeof rc->out->limits_json) != 0)
		rc->out->limits_json[0] = '\0';
}

/* The row's end and the log's close; once. */
static void
rec_close(struct run *r, struct rec *rc, const char *failure)
{
	double	t;

	if (rc->closed)
		return;
	rc->closed = true;
	rec_end(r, rc, failure);
	t = now_mono();
	if (rc->audit != rc->o->audit)
		audit_close(rc->audit);
	rec_trace(rc, "audit-close", t);	/* its "at" is the total */
}

/* The run is over but for init's exit: the record is closed while that
 * goes on (run_sandbox then waits for it and removes the groups). */
static void
rec_after_run(struct run *r)
{
	struct rec	*rc = r->cb_arg;

	rec_prep_join(rc);
	rec_limits(r, rc);
	rec_close(r, rc, NULL);
}

int
rec_run(struct run *r, struct profile *p, const struct rec_opts *o,
    struct rec_out *out, struct merr *e)
{
	struct rec	rc;
	int		ret;

	memset(&rc, 0, sizeof rc);
	memset(out, 0, sizeof *out);
	run_summary_init(&out->sum);
	out->final_risk = -1;
	rc.o = o;
	rc.out = out;
	rc.argv = r->argv;
	rc.profile = p;
	r->profile = p;
	r->trace = o->trace;
	r->on_event = rec_on_event;
	r->on_sample = rec_on_sample;
	r->on_output = rec_on_output;
	r->before_exec = rec_before_exec;
	r->after_clone = rec_prep_start;
	r->after_run = rec_after_run;
	r->on_spawned = rec_on_spawned;
	r->on_exec = rec_on_exec;
	r->begun = rec_begun;
	r->cb_arg = &rc;

	ret = run_sandbox(r, e);
	/* A sandbox that failed before before_exec never joined it. */
	rec_prep_join(&rc);
	if (ret == -1 && !rc.refused && rc.ar == NULL)
		rec_failed(r, &rc, e);
	if (ret == 0 && !rc.closed)
		rec_limits(r, &rc);
	rec_close(r, &rc, ret == -1 ? e->msg : NULL);
	r->after_run = NULL;
	r->on_exec = NULL;
	r->begun = NULL;
	r->spawn_after_row = false;
	free(rc.profile_text);
	strv_clear(&rc.denied);
	if (rc.rules != o->rules)
		risk_rules_free(rc.rules);
	if (rc.exec_scored)
		risk_result_free(&rc.exec_max);
	free(rc.exec_max_cmd);
	for (size_t i = 0; i < nitems(rc.cache); i++) {
		free(rc.cache[i].cmd);
		free(rc.cache[i].reasons);
	}
	r->cb_arg = NULL;
	return (ret);
}

void
rec_out_free(struct rec_out *out)
{
	run_summary_free(&out->sum);
	if (out->scored)
		risk_result_free(&out->risk);
	out->scored = false;
}
