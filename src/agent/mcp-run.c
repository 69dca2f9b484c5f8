/* mcp-run.c: run_command's runners. Each command runs in a process of its
 * own forked from `moat mcp` (the runner): it connects to the session, and
 * runs and records the command with rec_run as moat session exec does
 * (source "mcp", the client's name), its stdio on /dev/null and its output
 * kept through the record's hook, then writes the tool's result as one
 * JSON line on a pipe and exits. The server meanwhile reads its input, so
 * a notifications/cancelled ends the runner's command (SIGTERM, which the
 * runner passes to the command; SIGKILL after a grace time, the row then
 * marked interrupted), and progress goes out while it runs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/cov.h"
#include "base/loop.h"
#include "mcp-tools.h"
#include "profile/profile.h"
#include "record/record.h"
#include "session/session.h"

#define MCP_CANCEL_GRACE	3.0	/* seconds between SIGTERM and SIGKILL */
#define MCP_REPORT_MAX		(64u << 20)	/* output_max twice, escaped, twice */

/* What the runner keeps of one stream: the first and the last halves. */
struct mcp_cap {
	char		*head, *tail;	/* owned */
	size_t		 nhead, half;
	size_t		 tpos;		/* ring position in tail */
	uint64_t	 total;
};

struct mcp_runner {
	struct mcp_cap	 out[2];
};

static void
mcp_cap_feed(struct mcp_cap *c, const char *b, size_t n)
{
	c->total += n;
	while (n > 0 && c->nhead < c->half) {
		size_t	k = n < c->half - c->nhead ? n : c->half - c->nhead;

		memcpy(c->head + c->nhead, b, k);
		c->nhead += k;
		b += k;
		n -= k;
	}
	for (; n > 0 && c->half > 0; n--, b++) {
		c->tail[c->tpos % c->half] = *b;
		c->tpos++;
	}
}

/* What was kept, as text: the head, a note of what was cut, the tail. */
static char *
mcp_cap_text(const struct mcp_cap *c, bool *cut)
{
	size_t	 ntail = c->tpos < c->half ? c->tpos : c->half;
	size_t	 start = c->tpos < c->half ? 0 : c->tpos % c->half;
	char	*raw = xmalloc(c->nhead + ntail + 80), *u;
	size_t	 k = 0;

	memcpy(raw, c->head, c->nhead);
	k = c->nhead;
	*cut = c->total > (uint64_t)(c->nhead + ntail);
	if (*cut)
		k += (size_t)snprintf(raw + k, 80, "\n[... moat: %llu bytes cut ...]\n",
		    (unsigned long long)(c->total - c->nhead - ntail));
	for (size_t i = 0; i < ntail; i++)
		raw[k++] = c->tail[(start + i) % c->half];
	u = mcp_utf8(raw, k, NULL);
	free(raw);
	return (u);
}

static void
mcp_runner_output(struct run *r, int stream, const void *b, size_t n, void *arg)
{
	struct mcp_runner	*rn = arg;

	if (stream == 1 || stream == 2)
		mcp_cap_feed(&rn->out[stream - 1], b, n);
}

/* The server's stderr, kept by the runner before its own fd 2 became
 * /dev/null (spawn relays the command's stderr there). */
static int	mcp_runner_log = -1;

static void
mcp_runner_warn(const char *msg, void *arg)
{
	if (mcp_runner_log >= 0)
		dprintf(mcp_runner_log, "moat mcp: audit log: %s\n", msg);
}

static json_t *
mcp_summary_list(const struct run_summary_count *v, size_t n, unsigned long more,
    const char *key)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < n; i++) {
		autofree char	*name = mcp_utf8(v[i].name, strlen(v[i].name), NULL);

		json_array_append_new(a, json_pack("{s:s,s:I}", key, name, "count",
		    (json_int_t)v[i].n));
	}
	if (more > 0)
		json_array_append_new(a, json_pack("{s:s,s:I}", key, "(others)",
		    "count", (json_int_t)more));
	return (a);
}

/* What a runner keeps from one command of its session to the next: the
 * connection, the session's info and the audit log (opening the log and
 * connecting were most of a warm call's cost, and a kept connection to
 * the log means no close of the last one, which checkpoints the WAL). */
struct mcp_conn {
	int			 fd;		/* -1: not connected */
	char			*sock;		/* owned; the session's socket */
	dev_t			 dev;		/* its identity when connected */
	ino_t			 ino;
	struct session_info	 info;
	struct audit		*audit;		/* owned */
	bool			 log_tried;
};

/* The log, opened on a thread while the runner connects to its session:
 * neither needs the other. */
struct mcp_runner_log {
	const char	*db;
	struct audit	*audit;
};

static void *
mcp_runner_open_log(void *arg)
{
	struct mcp_runner_log	*rl = arg;
	struct merr		 e;

	rl->audit = audit_open(rl->db, 0, &e);	/* a failure: rec_run says it */
	return (NULL);
}

/* A kept connection the session closed reads as ready: the session sends
 * nothing unasked between commands. A session that is ending removes its
 * socket first, while its end of the connection may last a moment longer
 * (its sandbox is torn down), so the socket is checked too: gone or
 * another, and the session is gone, as a new connection would find. */
static bool
mcp_conn_alive(const struct mcp_conn *c)
{
	struct pollfd	pf = { .fd = c->fd, .events = POLLIN };
	struct stat	st;

	return (poll(&pf, 1, 0) == 0 && c->sock != NULL && stat(c->sock, &st) == 0 &&
	    st.st_dev == c->dev && st.st_ino == c->ino);
}

/* Where the session's socket is, and what it is now. */
static void
mcp_conn_note(struct mcp_conn *c)
{
	char		dir[PATH_MAX];
	struct stat	st;
	struct merr	e;

	free(c->sock);
	c->sock = NULL;
	if (session_dir(dir, sizeof dir, &e) == -1)
		return;
	c->sock = xprintf("%s/%s.sock", dir, c->info.id);
	if (stat(c->sock, &st) == -1) {
		free(c->sock);
		c->sock = NULL;
		return;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
}

/* Connects to the session unless still connected; the first time also
 * opens the log, on a thread meanwhile. */
static int
mcp_conn_open(struct mcp *m, struct mcp_conn *c, const char *id, struct merr *e)
{
	struct mcp_runner_log	 rl = { .db = m->o.db };
	pthread_t		 lt;
	bool			 lt_started = false;
	sigset_t		 all, old;

	if (c->fd >= 0 && mcp_conn_alive(c))
		return (0);
	if (c->fd >= 0)
		close(c->fd);
	if (!c->log_tried) {
		c->log_tried = true;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		lt_started = pthread_create(&lt, NULL, mcp_runner_open_log, &rl) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if ((c->fd = session_connect(id, &c->info, e)) >= 0)
		mcp_conn_note(c);
	if (lt_started) {
		pthread_join(lt, NULL);
		c->audit = rl.audit;
	}
	return (c->fd >= 0 ? 0 : -1);
}

static void
mcp_conn_close(struct mcp_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->sock);
	c->sock = NULL;
	audit_close(c->audit);
	c->audit = NULL;
}

/* The runner's work, in the forked process: the tool's result. */
static json_t *
mcp_runner(struct mcp *m, const char *client, struct mcp_run_args *a, struct mcp_conn *conn)
{
	struct session_info	*info = &conn->info;
	struct mcp_runner	 rn;
	struct rec_opts		 ro;
	struct rec_out		 out;
	struct run		 r;
	struct merr		 e;
	json_t			*sc, *res, *reasons;
	autofree char		*rj = NULL, *o1 = NULL, *o2 = NULL, *text = NULL;
	bool			 cut1, cut2;
	int			 rc;
	double			 t0 = now_mono();

	if (mcp_conn_open(m, conn, a->s->id, &e) == -1)
		return (mcp_tool_error("session %s is gone (%s); start another with "
		    "session_new, or leave session out", a->s->id, e.msg));
	run_init(&r);
	r.argv = a->argv;
	session_run_attach(&r, conn->fd, info);
	if (a->cwd == NULL)
		r.cwd_path = xstrdup(info->cwd);
	else if (a->cwd[0] != '/')
		r.cwd_path = path_join(info->cwd, a->cwd);
	else if (path_is_under(a->cwd, info->cwd))
		r.cwd_path = xstrdup(a->cwd);
	else {
		run_release(&r);
		return (mcp_tool_error("cwd %s is not inside the workspace (%s in "
		    "the sandbox)", a->cwd, info->cwd));
	}
	if (a->timeout > 0)
		r.timeout = a->timeout;
	strv_copy(&r.env_extra, &a->env);
	memset(&rn, 0, sizeof rn);
	for (int i = 0; i < 2; i++) {
		rn.out[i].half = a->output_max / 2;
		rn.out[i].head = xmalloc(rn.out[i].half + 1);
		rn.out[i].tail = xmalloc(rn.out[i].half + 1);
	}
	memset(&ro, 0, sizeof ro);
	ro.source = "mcp";
	ro.client = client;
	ro.db = m->o.db;
	ro.session = a->s->id;
	ro.on_output = mcp_runner_output;
	ro.on_warn = mcp_runner_warn;
	ro.rules = m->rules;
	ro.audit = conn->audit;
	ro.arg = &rn;
	if (getenv("MOAT_TRACE_TIMING") != NULL && *getenv("MOAT_TRACE_TIMING") != '\0') {
		ro.trace = now_mono();
		fprintf(stderr, "moat: timing: mcp-connect  %7.3f ms\n", (ro.trace - t0) * 1e3);
	}
	rc = rec_run(&r, a->s->p, &ro, &out, &e);
	if (rc == -1) {
		rj = out.scored ? risk_reasons_json(&out.risk) : NULL;
		if (out.refused_risk)
			res = mcp_tool_error("%s\nreasons: %s", e.msg, rj != NULL ? rj : "[]");
		else
			res = mcp_tool_error("the command did not run: %s", e.msg);
	} else {
		o1 = mcp_cap_text(&rn.out[0], &cut1);
		o2 = mcp_cap_text(&rn.out[1], &cut2);
		rj = out.scored ? risk_reasons_json(&out.risk) : NULL;
		reasons = rj != NULL ? json_loads(rj, 0, NULL) : NULL;
		sc = json_pack("{s:s,s:s,s:i,s:s,s:f,s:s,s:s,s:I,s:I,s:b,s:b,s:i,s:o,"
		    "s:o,s:o,s:i}",
		    "run_id", r.id, "session", a->s->id, "exit_code", r.exit_code,
		    "end_reason", end_reason_name(r.end),
		    "duration_s", round((r.t_end - r.t_start) * 1e4) / 1e4,
		    "stdout", o1, "stderr", o2,
		    "stdout_bytes", (json_int_t)rn.out[0].total,
		    "stderr_bytes", (json_int_t)rn.out[1].total,
		    "stdout_truncated", cut1, "stderr_truncated", cut2,
		    "risk", out.final_risk >= 0 ? out.final_risk : out.scored ?
		    out.risk.score : -1,
		    "risk_reasons", reasons != NULL ? reasons : json_array(),
		    "refused_connections", mcp_summary_list(out.sum.refused,
		    out.sum.nrefused, out.sum.refused_more, "destination"),
		    "denied_syscalls", mcp_summary_list(out.sum.denied,
		    out.sum.ndenied, out.sum.denied_more, "syscall"),
		    "files_changed", (int)out.sum.files_changed);
		text = xprintf("exit code %d (%s) after %.3f s; risk %d; run %s%s%s%s%s%s%s",
		    r.exit_code, end_reason_name(r.end), r.t_end - r.t_start,
		    (int)json_integer_value(json_object_get(sc, "risk")), r.id,
		    o1[0] != '\0' ? "\n--- stdout\n" : "", o1,
		    o2[0] != '\0' ? "\n--- stderr\n" : "", o2,
		    out.sum.nrefused > 0 ? "\n--- moat refused connections (see "
		    "refused_connections)" : "",
		    out.sum.ndenied > 0 ? "\n--- moat denied system calls (see "
		    "denied_syscalls)" : "");
		/* A command that ran is no tool error, whatever its status:
		 * the model reads exit_code and end_reason. */
		res = mcp_tool_result(text, sc);
	}
	for (int i = 0; i < 2; i++) {
		free(rn.out[i].head);
		free(rn.out[i].tail);
	}
	rec_out_free(&out);
	run_release(&r);
	return (res);
}

static struct mcp_call *
mcp_call_find(struct mcp *m, int fd)
{
	for (size_t i = 0; i < MCP_CALLS_MAX; i++)
		if (m->calls[i] != NULL && m->calls[i]->fd == fd)
			return (m->calls[i]);
	return (NULL);
}

void
mcp_call_free(struct mcp_call *c)
{
	if (c == NULL)
		return;
	mcp_req_release(&c->req);
	if (c->fd >= 0)
		close(c->fd);
	if (c->req_fd >= 0)
		close(c->req_fd);
	free(c->buf);
	free(c);
}

/* --- kept runners */

/* Writes all of s and a newline; -1 when the other end is gone. */
static int
mcp_write_line(int fd, const char *s)
{
	size_t	n = s != NULL ? strlen(s) : 0, done = 0;

	while (done < n + 1) {
		ssize_t	w = done < n ? write(fd, s + done, n - done) : write(fd, "\n", 1);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return (-1);
		done += (size_t)w;
	}
	return (0);
}

/* The next request in the runner: a line, parsed; NULL at the end of the
 * server's pipe (or a line it never writes). */
static json_t *
mcp_read_request(int fd)
{
	struct sbuf	 b = { 0 };
	json_t		*o = NULL;
	char		 chunk[4096];

	for (;;) {
		ssize_t	r = read(fd, chunk, sizeof chunk);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || b.len + (size_t)r > MCP_REPORT_MAX)
			break;
		sbuf_add(&b, chunk, (size_t)r);
		if (memchr(chunk, '\n', (size_t)r) != NULL) {
			o = json_loadb(b.p, b.len, JSON_DISABLE_EOF_CHECK |
			    JSON_REJECT_DUPLICATES, NULL);
			break;
		}
	}
	free(b.p);
	return (o);
}

/* The runner process: the first command (from the server's memory at the
 * fork), then each request the server sends while it keeps this runner
 * for the session, until the end of its request pipe. */
static void __attribute__((noreturn))
mcp_runner_main(struct mcp *m, struct mcp_req *req, struct mcp_run_args *a, int res_fd,
    int req_fd)
{
	struct mcp_conn		 conn = { .fd = -1 };
	struct mcp_session	*s = a->s;
	json_t			*res, *rq;
	char			*line;
	int			 rc;

	res = mcp_runner(m, req->client, a, &conn);
	for (;;) {
		struct mcp_run_args	 next;
		struct strv		 argv = { 0 };
		autofree char		*client = NULL;
		sigset_t		 pend;

		line = json_dumps(json_pack("{s:o}", "result", res), JSON_COMPACT);
		rc = mcp_write_line(res_fd, line);
		free(line);
		/* A cancel that came after the command's end: this runner
		 * is not kept (the server closes its pipe); nothing more. */
		sigemptyset(&pend);
		if (rc == -1 || (sigpending(&pend) == 0 && (sigismember(&pend, SIGTERM) ||
		    sigismember(&pend, SIGINT) || sigismember(&pend, SIGHUP))))
			break;
		if ((rq = mcp_read_request(req_fd)) == NULL)
			break;
		memset(&next, 0, sizeof next);
		next.s = s;
		if (mcp_run_request_decode(rq, &client, &argv, &next) == -1)
			res = mcp_tool_error("the server's request could not be read");
		else
			res = mcp_runner(m, client, &next, &conn);
		json_decref(rq);
		strv_clear(&next.env);
		strv_clear(&argv);
	}
	mcp_conn_close(&conn);
	cov_dump();	/* a coverage build's counters: _exit skips atexit */
	_exit(rc == 0 ? 0 : EXIT_MOAT);
}

static struct mcp_worker *
mcp_worker_find(struct mcp *m, const char *id)
{
	for (size_t i = 0; i < MCP_SESSIONS_MAX; i++)
		if (m->workers[i].session[0] != '\0' && strcmp(m->workers[i].session, id) == 0)
			return (&m->workers[i]);
	return (NULL);
}

/* Ends a kept runner that runs nothing: the end of its request pipe ends
 * it, after it closed its connection and the log. */
static void
mcp_worker_end(struct mcp_worker *w)
{
	close(w->req);
	close(w->res);
	while (waitpid(w->pid, NULL, 0) == -1 && errno == EINTR)
		;
	memset(w, 0, sizeof *w);
}

void
mcp_workers_retire(struct mcp *m, const char *id)
{
	for (size_t i = 0; i < MCP_SESSIONS_MAX; i++) {
		struct mcp_worker	*w = &m->workers[i];

		if (w->session[0] == '\0' || (id != NULL && strcmp(w->session, id) != 0))
			continue;
		if (w->busy)
			w->retire = true;
		else
			mcp_worker_end(w);
	}
}

/* A runner that answered and may run the session's next command: kept
 * when the session has none and still exists here, else ended. */
static void
mcp_worker_keep(struct mcp *m, struct mcp_call *c)
{
	struct mcp_worker	*w = NULL;
	bool			 known = false;

	for (size_t i = 0; i < m->nsessions; i++)
		known |= strcmp(m->sessions[i].id, c->session) == 0;
	if (known && !c->cancelled && mcp_worker_find(m, c->session) == NULL)
		for (size_t i = 0; i < MCP_SESSIONS_MAX && w == NULL; i++)
			if (m->workers[i].session[0] == '\0')
				w = &m->workers[i];
	if (w == NULL) {
		close(c->req_fd);
		c->req_fd = -1;
		while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
			;
		return;
	}
	snprintf(w->session, sizeof w->session, "%s", c->session);
	w->pid = c->pid;
	w->req = TAKE_FD(c->req_fd);
	w->res = TAKE_FD(c->fd);
	w->busy = false;
	w->retire = false;
}

/* A runner killed before it completed its row leaves it running: a sweep
 * of the log marks it interrupted now rather than at the next moat. */
static void
mcp_call_recover(struct mcp *m)
{
	struct merr	 e;
	struct audit	*a = audit_open(m->o.db, 0, &e);

	if (a != NULL)
		audit_close(a);
}

/* The runner answered (a line) or ended (eof): the call's reply, unless
 * cancelled; the runner kept for the session's next command or ended. */
static void
mcp_call_done(struct mcp *m, struct mcp_call *c, bool eof)
{
	json_t	*rep = NULL, *res;
	int	 st = 0;

	for (size_t i = 0; i < MCP_CALLS_MAX; i++)
		if (m->calls[i] == c)
			m->calls[i] = NULL;
	if (m->loop != NULL)
		loop_del(m->loop, c->fd);
	if (!eof && !c->killed)
		rep = json_loadb(c->buf, c->len, JSON_DISABLE_EOF_CHECK, NULL);
	res = json_object_get(rep, "result");
	if (c->w != NULL) {
		/* Its pipes are the kept runner's. */
		c->fd = -1;
		c->req_fd = -1;
		c->w->busy = false;
		if (eof || c->killed || c->cancelled || c->w->retire) {
			/* It is gone or going: the end of its pipe, a wait. */
			if (eof || c->killed)
				kill(c->w->pid, SIGKILL);
			mcp_worker_end(c->w);
		}
	} else if (eof || c->killed) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (c->killed || !json_is_object(res))
		mcp_call_recover(m);
	if (!c->cancelled) {
		if (json_is_object(res))
			mcp_reply(m, &c->req, json_incref(res));
		else
			mcp_reply_error(m, c->req.id, RPC_INTERNAL_ERROR, NULL,
			    "Internal error: the runner of the command %s %d",
			    WIFSIGNALED(st) ? "died of signal" : "exited with status",
			    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	} else if (m->o.verbose > 0)
		fprintf(stderr, "moat mcp: a cancelled call ended\n");
	/* After the reply: keeping or ending the runner waits for nothing
	 * the client waits for. */
	if (c->w == NULL && !eof && !c->killed)
		mcp_worker_keep(m, c);
	json_decref(rep);
	mcp_call_free(c);
}

static void
mcp_on_runner(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mcp	*m = arg;
	struct mcp_call	*c = mcp_call_find(m, fd);
	ssize_t		 r;

	if (c == NULL)
		return;
	if (c->cap - c->len < 65536) {
		c->cap = c->cap == 0 ? 65536 * 2 : c->cap * 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	r = read(fd, c->buf + c->len, c->cap - c->len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r > 0 && c->len + (size_t)r <= MCP_REPORT_MAX) {
		c->len += (size_t)r;
		/* The result is one line; the runner then waits. */
		if (memchr(c->buf + c->len - (size_t)r, '\n', (size_t)r) != NULL)
			mcp_call_done(m, c, false);
		return;
	}
	if (r > 0) {
		/* More than a runner writes: not its report. It is stopped
		 * before it is waited for (it may be blocked writing). */
		c->len = 0;
		kill(c->pid, SIGKILL);
		c->killed = true;
	}
	mcp_call_done(m, c, true);
}

int
mcp_run_start(struct mcp *m, struct mcp_req *req, struct mcp_run_args *a)
{
	struct mcp_call		*c;
	struct mcp_worker	*w;
	struct merr		 e;
	size_t			 slot;
	int			 p[2] = { -1, -1 }, q[2] = { -1, -1 }, null;
	pid_t			 parent = getpid(), pid = -1;

	for (slot = 0; slot < MCP_CALLS_MAX && m->calls[slot] != NULL; slot++)
		;
	/* Once, here: the runners forked from now on inherit them. A failure
	 * is left for each runner's own load to report. */
	if (!m->rules_tried) {
		m->rules_tried = true;
		if (risk_load(&m->rules, &e) == -1)
			m->rules = NULL;
	}
	if (slot == MCP_CALLS_MAX) {
		mcp_reply(m, req, mcp_tool_error("could not start the command: %s",
		    "too many running"));
		return (-1);
	}
	/* The session's kept runner, when it is free: no fork, no connection
	 * and no opening of the log. One that is gone is ended, and a new
	 * runner forked. */
	if ((w = mcp_worker_find(m, a->s->id)) != NULL && !w->busy && !w->retire) {
		autofree char	*rq = mcp_run_request_encode(req->client, a);

		if (rq != NULL && mcp_write_line(w->req, rq) == 0)
			pid = w->pid;
		else {
			kill(w->pid, SIGKILL);
			mcp_worker_end(w);
			w = NULL;
		}
	} else
		w = NULL;
	if (w == NULL && (pipe2(p, O_CLOEXEC) == -1 || pipe2(q, O_CLOEXEC) == -1)) {
		mcp_reply(m, req, mcp_tool_error("could not start the command: %s",
		    strerror(errno)));
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		return (-1);
	}
	if (w == NULL) {
		fflush(stderr);
		if ((pid = fork()) == -1) {
			close(p[0]);
			close(p[1]);
			close(q[0]);
			close(q[1]);
			mcp_reply(m, req, mcp_tool_error("could not start the command: "
			    "fork: %s", strerror(errno)));
			return (-1);
		}
	}
	if (pid == 0) {
		/* The runner. If moat mcp dies, its command is ended and its
		 * row completed (SIGTERM is passed to the command). The other
		 * runners' pipes are closed here: a copy of one would keep
		 * that runner from seeing the end of its request pipe. */
		close(p[0]);
		close(q[1]);
		for (size_t i = 0; i < MCP_SESSIONS_MAX; i++)
			if (m->workers[i].session[0] != '\0') {
				close(m->workers[i].req);
				close(m->workers[i].res);
			}
		for (size_t i = 0; i < MCP_CALLS_MAX; i++)
			if (m->calls[i] != NULL) {
				if (m->calls[i]->fd >= 0)
					close(m->calls[i]->fd);
				if (m->calls[i]->req_fd >= 0)
					close(m->calls[i]->req_fd);
			}
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(EXIT_MOAT);
		mcp_runner_log = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			/* MOAT_TRACE_TIMING: the record's timings (and the
			 * command's stderr) on the server's stderr. */
			if (getenv("MOAT_TRACE_TIMING") == NULL)
				dup2(null, 2);
		}
		mcp_runner_main(m, req, a, p[1], q[0]);
	}
	c = xcalloc(1, sizeof *c);
	c->req.id = json_incref(req->id);
	c->req.modern = req->modern;
	c->req.client = req->client != NULL ? xstrdup(req->client) : NULL;
	c->req.progress = json_incref(req->progress);
	c->pid = pid;
	snprintf(c->session, sizeof c->session, "%s", a->s->id);
	if (w != NULL) {
		c->w = w;
		c->fd = w->res;
		c->req_fd = -1;
		w->busy = true;
	} else {
		close(p[1]);
		close(q[0]);
		c->fd = p[0];
		c->req_fd = q[1];
	}
	c->t_start = now_mono();
	m->calls[slot] = c;
	if (m->loop == NULL || loop_add(m->loop, c->fd, EPOLLIN, mcp_on_runner, m, &e) == -1) {
		c->cancelled = true;
		kill(pid, SIGKILL);
		c->killed = true;
		mcp_call_done(m, c, true);
		mcp_reply_error(m, req->id, RPC_INTERNAL_ERROR, NULL, "Internal error: "
		    "the runner could not be watched");
		return (-1);
	}
	return (0);
}

size_t
mcp_calls_running(const struct mcp *m)
{
	size_t	n = 0;

	for (size_t i = 0; i < MCP_CALLS_MAX; i++)
		n += m->calls[i] != NULL;
	return (n);
}

void
mcp_call_cancel(struct mcp *m, const json_t *id)
{
	for (size_t i = 0; i < MCP_CALLS_MAX; i++) {
		struct mcp_call	*c = m->calls[i];

		if (c == NULL || c->cancelled || !json_equal(c->req.id, (json_t *)id))
			continue;
		if (m->o.verbose > 0)
			fprintf(stderr, "moat mcp: cancelling a call (runner %d)\n",
			    (int)c->pid);
		c->cancelled = true;
		c->t_cancel = now_mono();
		kill(c->pid, SIGTERM);
	}
}

void
mcp_calls_tick(struct mcp *m)
{
	double	now = now_mono();

	for (size_t i = 0; i < MCP_CALLS_MAX; i++) {
		struct mcp_call	*c = m->calls[i];
		double		 t;

		if (c == NULL)
			continue;
		if (c->cancelled) {
			if (!c->killed && now - c->t_cancel > MCP_CANCEL_GRACE) {
				kill(c->pid, SIGKILL);
				c->killed = true;
			}
			continue;
		}
		if (c->req.progress == NULL)
			continue;
		/* Seconds so far: it only grows. No total: a command's end is
		 * not known before it comes. */
		t = floor((now - c->t_start) * 10) / 10;
		if (t <= c->progress)
			continue;
		c->progress = t;
		mcp_send(m, json_pack("{s:s,s:s,s:{s:O,s:f,s:s%}}", "jsonrpc", "2.0",
		    "method", "notifications/progress", "params", "progressToken",
		    c->req.progress, "progress", t, "message", "running", 7));
	}
}

void
mcp_calls_shutdown(struct mcp *m)
{
	double	t0 = now_mono();
	bool	killed = false;

	for (size_t i = 0; i < MCP_CALLS_MAX; i++)
		if (m->calls[i] != NULL && !m->calls[i]->cancelled) {
			m->calls[i]->cancelled = true;
			kill(m->calls[i]->pid, SIGTERM);
		}
	/* Their rows are completed as they end; a runner that outlives the
	 * grace time is killed. */
	while (mcp_calls_running(m) > 0) {
		struct pollfd	 pf[MCP_CALLS_MAX];
		nfds_t		 n = 0;

		if (!killed && now_mono() - t0 > MCP_CANCEL_GRACE) {
			for (size_t i = 0; i < MCP_CALLS_MAX; i++)
				if (m->calls[i] != NULL) {
					kill(m->calls[i]->pid, SIGKILL);
					m->calls[i]->killed = true;
				}
			killed = true;
		}
		for (size_t i = 0; i < MCP_CALLS_MAX; i++)
			if (m->calls[i] != NULL) {
				pf[n].fd = m->calls[i]->fd;
				pf[n++].events = POLLIN;
			}
		if (poll(pf, n, 200) <= 0)
			continue;
		for (nfds_t i = 0; i < n; i++)
			if (pf[i].revents != 0)
				mcp_on_runner(NULL, pf[i].fd, 0, m);
	}
}
