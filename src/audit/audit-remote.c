/* audit-remote.c: a run recorded by another process that keeps the log open.
 *
 * The client's handle (audit_open_remote) has no database: its run's begin,
 * its events and samples (in batches) and its completion are requests, in
 * the wire format below, that a transport of the caller's delivers to the
 * keeper (a session's supervisor), whose guest for that client applies each
 * with the same calls a local run makes, on the keeper's one connection. The
 * output's head, tail, ticks and digests are accumulated on the client side
 * (audit_output_feed, no I/O) and sent with the completion.
 *
 * The wire: a request is "MAR1", an op, then its fields in a fixed order:
 * integers and doubles in host order (both ends are one machine), a string
 * as its length (u32; ~0 = NULL) and its bytes and a NUL, a list of strings
 * as a count (~0 = NULL) and the strings, a blob as its length and bytes.
 * Everything is checked against the bytes left; a string may hold no NUL. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <sqlite3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit-int.h"
#include "redact.h"
#include "base/event.h"
#include "base/util.h"

#define WIRE_MAGIC	0x3152414dU	/* "MAR1" */
#define WIRE_NONE	0xffffffffU
#define WIRE_STRV_MAX	65536		/* strings in one list */
#define WIRE_ITEMS_MAX	(1U << 20)	/* events and samples in one request */
#define REMOTE_BATCH	256		/* buffered before a send, as a local run */
#define REMOTE_SECONDS	1.0
#define KEEPER_LOGS_MAX	8		/* logs one keeper holds open */
#define SECRETS_MAX	64

enum wire_op {
	OP_BEGIN = 1,	/* path, start, secret names -> rowid, run_id */
	OP_REFUSED,	/* path, start, secret names, why -> (empty) */
	OP_FAILED,	/* the same */
	OP_APPEND,	/* rowid, items; no answer */
	OP_END,		/* rowid, end, items, outputs -> (empty) */
	OP_ABANDON,	/* rowid; no answer */
};

enum { ITEM_EVENT = 1, ITEM_SAMPLE };

struct keeper_secret {
	char	*name, *value;
	size_t	 len;
};

struct audit_remote {
	audit_xfer_fn	 xfer;
	void		*arg;
	/* Given to audit_redact_secret: the names go with a begin; the
	 * values are for a completion written here should the keeper go. */
	struct keeper_secret secrets[SECRETS_MAX];
	size_t		 nsecrets;
	struct strv	 names;
};

static void
secret_keep(struct keeper_secret *v, size_t *n, const char *name, const char *value,
    size_t len)
{
	struct keeper_secret	*s;

	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i].name, name) == 0)
			return;
	if (*n == SECRETS_MAX)
		return;
	s = &v[(*n)++];
	s->name = xstrdup(name);
	s->value = xmalloc(len + 1);
	memcpy(s->value, value, len);
	s->value[len] = '\0';
	s->len = len;
}

static void
secrets_clear(struct keeper_secret *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		explicit_bzero(v[i].value, v[i].len);
		free(v[i].value);
		free(v[i].name);
	}
}

/* ---- the wire ------------------------------------------------------- */

static void
put(struct sbuf *b, const void *p, size_t n)
{
	sbuf_add(b, p, n);
}

static void
put_u32(struct sbuf *b, uint32_t v)
{
	put(b, &v, sizeof v);
}

static void
put_i64(struct sbuf *b, int64_t v)
{
	put(b, &v, sizeof v);
}

static void
put_f64(struct sbuf *b, double v)
{
	put(b, &v, sizeof v);
}

static void
put_str(struct sbuf *b, const char *s)
{
	size_t	n;

	if (s == NULL) {
		put_u32(b, WIRE_NONE);
		return;
	}
	n = strlen(s);
	put_u32(b, (uint32_t)n);
	put(b, s, n + 1);
}

static void
put_blob(struct sbuf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	if (n > 0)
		put(b, p, n);
}

static void
put_strv(struct sbuf *b, char *const *v)
{
	uint32_t	n = 0;

	if (v == NULL) {
		put_u32(b, WIRE_NONE);
		return;
	}
	while (v[n] != NULL)
		n++;
	put_u32(b, n);
	for (uint32_t i = 0; i < n; i++)
		put_str(b, v[i]);
}

/* A request being read: p is advanced, and bad set at the first field that
 * does not fit or is malformed (every later read then gives zeros). */
struct wire {
	const char	*p, *end;
	bool		 bad;
};

static bool
get(struct wire *w, void *out, size_t n)
{
	if (w->bad || (size_t)(w->end - w->p) < n) {
		w->bad = true;
		memset(out, 0, n);
		return (false);
	}
	memcpy(out, w->p, n);
	w->p += n;
	return (true);
}

static uint32_t
get_u32(struct wire *w)
{
	uint32_t	v;

	get(w, &v, sizeof v);
	return (v);
}

static int64_t
get_i64(struct wire *w)
{
	int64_t	v;

	get(w, &v, sizeof v);
	return (v);
}

static double
get_f64(struct wire *w)
{
	double	v;

	get(w, &v, sizeof v);
	return (isfinite(v) ? v : 0);
}

static int
get_int(struct wire *w)
{
	int64_t	v = get_i64(w);

	if (v < INT_MIN || v > INT_MAX)
		w->bad = true;
	return (w->bad ? 0 : (int)v);
}

/* The string in place (the buffer is the caller's and lives as long). */
static const char *
get_str(struct wire *w)
{
	uint32_t	 n = get_u32(w);
	const char	*s;

	if (w->bad || n == WIRE_NONE)
		return (NULL);
	if ((size_t)(w->end - w->p) < (size_t)n + 1 || w->p[n] != '\0' ||
	    memchr(w->p, '\0', n) != NULL) {
		w->bad = true;
		return (NULL);
	}
	s = w->p;
	w->p += (size_t)n + 1;
	return (s);
}

static const char *
get_blob(struct wire *w, size_t *n)
{
	uint32_t	 k = get_u32(w);
	const char	*s;

	*n = 0;
	if (w->bad)
		return (NULL);
	if ((size_t)(w->end - w->p) < k) {
		w->bad = true;
		return (NULL);
	}
	s = w->p;
	w->p += k;
	*n = k;
	return (s);
}

/* A NULL-terminated array (malloc'd; its strings point into the request). */
static char **
get_strv(struct wire *w)
{
	uint32_t	 n = get_u32(w);
	char		**v;

	if (w->bad || n == WIRE_NONE)
		return (NULL);
	/* Each string takes five bytes at least: no more than are left. */
	if (n > WIRE_STRV_MAX || (size_t)(w->end - w->p) / 5 < n) {
		w->bad = true;
		return (NULL);
	}
	v = xcalloc((size_t)n + 1, sizeof *v);
	for (uint32_t i = 0; i < n; i++)
		if ((v[i] = (char *)get_str(w)) == NULL)
			w->bad = true;
	if (w->bad) {
		free(v);
		return (NULL);
	}
	return (v);
}

static void
put_start(struct sbuf *b, const char *path, const struct audit_start *s,
    const struct strv *secrets)
{
	put_str(b, path);
	put_str(b, s->run_id);
	put_str(b, s->source);
	put_str(b, s->client);
	put_str(b, s->session);
	put_str(b, s->profile);
	put_str(b, s->profile_text);
	put_str(b, s->net_mode);
	put_str(b, s->workspace);
	put_str(b, s->cwd);
	put_strv(b, s->argv);
	put_i64(b, s->risk);
	put_str(b, s->risk_reasons);
	put_i64(b, (int64_t)s->output_head);
	put_i64(b, (int64_t)s->output_tail);
	put_f64(b, s->started_at);
	/* Who sends it, which need not be who connected (exec --detach's
	 * moat is a child of the one that did). */
	put_i64(b, getpid());
	put_strv(b, secrets->v);
}

/* A start as read; argv and the secret names are malloc'd arrays. */
struct wire_start {
	const char	 *path;
	struct audit_start s;
	char		**argv, **secrets;
};

static void
get_start(struct wire *w, struct wire_start *ws)
{
	memset(ws, 0, sizeof *ws);
	ws->path = get_str(w);
	ws->s.run_id = get_str(w);
	ws->s.source = get_str(w);
	ws->s.client = get_str(w);
	ws->s.session = get_str(w);
	ws->s.profile = get_str(w);
	ws->s.profile_text = get_str(w);
	ws->s.net_mode = get_str(w);
	ws->s.workspace = get_str(w);
	ws->s.cwd = get_str(w);
	ws->s.argv = ws->argv = get_strv(w);
	ws->s.risk = get_int(w);
	ws->s.risk_reasons = get_str(w);
	ws->s.output_head = (size_t)get_i64(w);
	ws->s.output_tail = (size_t)get_i64(w);
	ws->s.started_at = get_f64(w);
	ws->s.owner_pid = (pid_t)get_int(w);
	ws->secrets = get_strv(w);
	/* The keeper's clock says when; who is checked by the guest. */
	ws->s.started_at = 0;
	ws->s.owner_start = 0;
	if (ws->s.risk < -1 || ws->s.risk > 100 || ws->path == NULL ||
	    ws->path[0] != '/')
		w->bad = true;
}

static void
put_event(struct sbuf *b, const struct run_event *re)
{
	uint32_t	t = ITEM_EVENT;

	put_u32(b, t);
	put_i64(b, re->kind);
	put_f64(b, re->t);
	put_str(b, re->text);
	put_str(b, re->host);
	put_str(b, re->addr);
	put_str(b, re->verdict);
	put_str(b, re->rule);
	put_i64(b, re->port);
	put_i64(b, (int64_t)re->bytes_out);
	put_i64(b, (int64_t)re->bytes_in);
	put_f64(b, re->duration);
	put_str(b, re->syscall);
	put_i64(b, (int64_t)re->count);
	put_str(b, re->path);
	put_str(b, re->change);
	put_i64(b, re->outside);
	put_i64(b, re->pid);
	put_i64(b, re->ppid);
	put_i64(b, re->nspid);
	put_str(b, re->cwd);
	put_strv(b, re->argv);
	put_i64(b, re->risk);
	put_str(b, re->reasons);
}

static void
put_sample(struct sbuf *b, const struct audit_sample *s)
{
	put_u32(b, ITEM_SAMPLE);
	put_f64(b, s->t);
	put_f64(b, s->cpu_pct);
	put_i64(b, s->mem_bytes);
	put_i64(b, s->pids);
	put_i64(b, s->io_read);
	put_i64(b, s->io_write);
}

/* Reads the items of a request and gives each to the run, in order. A
 * sample's cpu_pct may be NAN ("not measured"): read as it is. */
static int
get_item(struct wire *w, struct audit_run *ar, struct merr *e)
{
	{
		uint32_t	t = get_u32(w);

		if (t == ITEM_SAMPLE) {
			struct audit_sample	s;

			s.t = get_f64(w);
			get(w, &s.cpu_pct, sizeof s.cpu_pct);
			s.mem_bytes = get_i64(w);
			s.pids = get_i64(w);
			s.io_read = get_i64(w);
			s.io_write = get_i64(w);
			if (!w->bad && audit_run_sample(ar, &s, e) == -1)
				return (-1);
		} else if (t == ITEM_EVENT) {
			struct run_event	re;
			int64_t			k;

			memset(&re, 0, sizeof re);
			k = get_i64(w);
			re.kind = k >= 0 && k <= 64 ? (enum run_event_kind)k : EV_NOTE;
			re.t = get_f64(w);
			re.text = get_str(w);
			re.host = get_str(w);
			re.addr = get_str(w);
			re.verdict = get_str(w);
			re.rule = get_str(w);
			re.port = (unsigned)get_i64(w);
			re.bytes_out = (uint64_t)get_i64(w);
			re.bytes_in = (uint64_t)get_i64(w);
			re.duration = get_f64(w);
			re.syscall = get_str(w);
			re.count = (uint64_t)get_i64(w);
			re.path = get_str(w);
			re.change = get_str(w);
			re.outside = get_i64(w) != 0;
			re.pid = get_int(w);
			re.ppid = get_int(w);
			re.nspid = get_int(w);
			re.cwd = get_str(w);
			{
				autofree char	**argv = get_strv(w);

				re.argv = argv;
				re.risk = get_int(w);
				re.reasons = get_str(w);
				if (!w->bad && audit_run_event(ar, &re, e) == -1)
					return (-1);
			}
		} else
			w->bad = true;
	}
	return (0);
}

static int
get_items(struct wire *w, struct audit_run *ar, struct merr *e)
{
	uint32_t	n = get_u32(w);

	if (n > WIRE_ITEMS_MAX)
		w->bad = true;
	for (uint32_t i = 0; i < n && !w->bad; i++)
		if (get_item(w, ar, e) == -1)
			return (-1);
	return (0);
}

/* ---- the client ----------------------------------------------------- */

struct audit *
audit_open_remote(const char *path, audit_xfer_fn xfer, void *arg, struct merr *e)
{
	struct audit	*a;
	char		 def[4096], cwd[4096];

	if (path == NULL)
		path = audit_default_path(def, sizeof def);
	a = xcalloc(1, sizeof *a);
	a->lockfd = a->spoolfd = -1;
	/* The keeper's working directory is not ours. */
	if (path[0] != '/') {
		if (getcwd(cwd, sizeof cwd) == NULL) {
			merr_errno(e, "audit log %s: the working directory", path);
			free(a);
			return (NULL);
		}
		a->path = xprintf("%s/%s", cwd, path);
	} else
		a->path = xstrdup(path);
	a->remote = xcalloc(1, sizeof *a->remote);
	a->remote->xfer = xfer;
	a->remote->arg = arg;
	return (a);
}

void
audit_remote_free(struct audit_remote *rm)
{
	if (rm == NULL)
		return;
	secrets_clear(rm->secrets, rm->nsecrets);
	strv_clear(&rm->names);
	free(rm);
}

void
audit_remote_secret(struct audit *a, const char *name, const char *value, size_t len)
{
	struct audit_remote	*rm = a->remote;

	secret_keep(rm->secrets, &rm->nsecrets, name, value, len);
	if (!strv_contains(&rm->names, name))
		strv_add(&rm->names, name);
}

static int
remote_send(struct audit *a, struct sbuf *b, bool reply, char **rep, size_t *rlen,
    struct merr *e)
{
	return (a->remote->xfer(a->remote->arg, b->p, b->len, reply ?
	    AUDIT_XFER_ASK : AUDIT_XFER_TELL, rep, rlen, e));
}

static void
remote_head(struct sbuf *b, enum wire_op op)
{
	put_u32(b, WIRE_MAGIC);
	put_u32(b, op);
}

/* A begin's answer: the row's id, the run's id, its begin hash and start. */
static int
remote_begin_answer(struct audit_run *ar, const char *rep, size_t rlen,
    struct merr *e)
{
	struct wire	 w = { rep, rep + rlen, false };
	const char	*run_id, *bh;
	int64_t		 rowid;
	double		 started;

	rowid = get_i64(&w);
	run_id = get_str(&w);
	bh = get_str(&w);
	started = get_f64(&w);
	if (w.bad || run_id == NULL || rowid <= 0 || bh == NULL ||
	    strlen(bh) != SHA256_HEX_LEN - 1)
		return (merr_set(e, "audit log %s: the session's answer to a run's "
		    "begin is malformed", ar->a->path));
	ar->rowid = rowid;
	ar->run_id = xstrdup(run_id);
	ar->started_at = started;
	memcpy(ar->begin_hash, bh, SHA256_HEX_LEN);
	return (0);
}

struct audit_run *
audit_remote_begin(struct audit *a, const struct audit_start *s, bool later,
    struct merr *e)
{
	struct sbuf		 b = { NULL, 0, 0 };
	autofree char		*rep = NULL;
	size_t			 rlen = 0;
	struct audit_run	*ar;
	int			 rc;

	remote_head(&b, OP_BEGIN);
	put_start(&b, a->path, s, &a->remote->names);
	rc = a->remote->xfer(a->remote->arg, b.p, b.len, later ?
	    AUDIT_XFER_ASK_LATER : AUDIT_XFER_ASK, &rep, &rlen, e);
	free(b.p);
	if (rc < 0)
		return (NULL);
	ar = xcalloc(1, sizeof *ar);
	ar->a = a;
	audit_run_output_init(ar, s);
	ar->wire = xcalloc(1, sizeof *ar->wire);
	if (later)
		ar->pending = true;
	else if (remote_begin_answer(ar, rep, rlen, e) == -1) {
		audit_run_free(ar);
		return (NULL);
	}
	return (ar);
}

/* The answer to a begin sent without waiting, read once; a refusal leaves
 * the run with no row (rowid -1), which every later request then says. */
int
audit_remote_begun(struct audit_run *ar, struct merr *e)
{
	autofree char	*rep = NULL;
	size_t		 rlen = 0;

	if (!ar->pending)
		return (ar->rowid > 0 ? 0 : merr_set(e, "audit log %s: the run's row "
		    "was not begun", ar->a->path));
	ar->pending = false;
	ar->rowid = -1;
	if (ar->a->remote->xfer(ar->a->remote->arg, NULL, 0, AUDIT_XFER_ANSWER, &rep,
	    &rlen, e) < 0)
		return (-1);
	return (remote_begin_answer(ar, rep, rlen, e) == -1 ? -1 : 0);
}

int
audit_remote_unstarted(struct audit *a, const struct audit_start *s,
    const char *status, const char *why, struct merr *e)
{
	struct sbuf	 b = { NULL, 0, 0 };
	autofree char	*rep = NULL;
	size_t		 rlen = 0;
	int		 rc;

	remote_head(&b, strcmp(status, "refused") == 0 ? OP_REFUSED : OP_FAILED);
	put_start(&b, a->path, s, &a->remote->names);
	put_str(&b, why);
	rc = remote_send(a, &b, true, &rep, &rlen, e);
	free(b.p);
	if (rc == AUDIT_XFER_GONE) {
		struct audit	*here;

		if ((here = audit_open(a->path, 0, e)) == NULL)
			return (-1);
		for (size_t i = 0; i < a->remote->nsecrets; i++)
			audit_redact_secret(here, a->remote->secrets[i].name,
			    a->remote->secrets[i].value, a->remote->secrets[i].len);
		rc = strcmp(status, "refused") == 0 ?
		    audit_run_refused(here, s, why, e) : audit_run_failed(here, s, why, e);
		audit_close(here);
	}
	return (rc < 0 ? -1 : 0);
}

int
audit_remote_flush(struct audit_run *ar, struct merr *e)
{
	struct sbuf	 b = { NULL, 0, 0 };
	int		 rc;

	if (ar->nwire == 0)
		return (0);
	if (audit_remote_begun(ar, e) == -1)
		return (-1);
	remote_head(&b, OP_APPEND);
	put_i64(&b, ar->rowid);
	put_u32(&b, (uint32_t)ar->nwire);
	put(&b, ar->wire->p, ar->wire->len);
	rc = remote_send(ar->a, &b, false, NULL, NULL, e);
	free(b.p);
	ar->wire->len = 0;
	ar->nwire = 0;
	ar->last_flush = now_mono();
	return (rc);
}

int
audit_remote_append(struct audit_run *ar, const struct run_event *re,
    const struct audit_sample *s, struct merr *e)
{
	if (re != NULL)
		put_event(ar->wire, re);
	else
		put_sample(ar->wire, s);
	ar->nwire++;
	if (ar->nwire < REMOTE_BATCH && now_mono() - ar->last_flush < REMOTE_SECONDS)
		return (0);
	return (audit_remote_flush(ar, e));
}

static int	remote_end_here(struct audit_run *, const struct audit_end *,
		    struct merr *);

static void
put_ticks(struct sbuf *b, const struct audit_tick *t, size_t t0, size_t n, bool ring)
{
	put_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct audit_tick	*x = &t[ring ? (t0 + i) % AUDIT_TICKS_MAX : i];

		put_i64(b, (int64_t)x->off);
		put_i64(b, (int64_t)x->ms);
	}
}

int
audit_remote_end(struct audit_run *ar, const struct audit_end *en, struct merr *e)
{
	struct sbuf	 b = { NULL, 0, 0 };
	autofree char	*rep = NULL;
	size_t		 rlen = 0;
	int		 rc;

	if (audit_remote_begun(ar, e) == -1) {
		audit_run_free(ar);
		return (-1);
	}
	remote_head(&b, OP_END);
	put_i64(&b, ar->rowid);
	put_i64(&b, en->status);
	put_str(&b, en->end_reason);
	put_i64(&b, en->exit_code);
	put_i64(&b, en->signal);
	put_f64(&b, en->cpu_user);
	put_f64(&b, en->cpu_sys);
	put_i64(&b, en->peak_memory);
	put_i64(&b, en->peak_pids);
	put_str(&b, en->limits);
	put_i64(&b, en->risk);
	put_str(&b, en->risk_reasons);
	put_f64(&b, en->ended_at);
	put_u32(&b, (uint32_t)ar->nwire);
	put(&b, ar->wire->p, ar->wire->len);
	for (int i = 0; i < 2; i++) {
		struct audit_out	*o = &ar->out[i];
		size_t			 ntail = o->ring_fill < ar->tail_max ?
					    (size_t)o->ring_fill : ar->tail_max;

		sha256_final_hex(&o->sha, ar->sha_hex[i]);
		put_i64(&b, (int64_t)o->bytes);
		put_str(&b, ar->sha_hex[i]);
		put_blob(&b, o->head, o->nhead);
		/* The tail in order, from its oldest byte. */
		put_u32(&b, (uint32_t)ntail);
		if (ntail > 0 && o->ring_fill < ar->tail_max)
			put(&b, o->ring, ntail);
		else if (ntail > 0) {
			put(&b, o->ring + o->ring_pos, ar->tail_max - o->ring_pos);
			put(&b, o->ring, o->ring_pos);
		}
		put_i64(&b, (int64_t)o->ring_fill);
		put_ticks(&b, o->th, 0, o->nth, false);
		put_ticks(&b, o->tt, o->tt0, o->ntt, true);
	}
	rc = remote_send(ar->a, &b, true, &rep, &rlen, e);
	free(b.p);
	if (rc == AUDIT_XFER_GONE)
		rc = remote_end_here(ar, en, e);
	else
		audit_run_free(ar);
	return (rc < 0 ? -1 : 0);
}

/* The keeper went away before the completion (the session was killed
 * under the command): the row is completed here, on a connection of our
 * own, with what the keeper had not written (the events not yet sent; those
 * it held unwritten are lost with it). The begin hash is the one the keeper
 * began the row with. */
static int
remote_end_here(struct audit_run *ar, const struct audit_end *en, struct merr *e)
{
	struct audit	*here, *remote = ar->a;
	struct wire	 w;
	struct merr	 ie;
	int		 rc;

	if ((here = audit_open(remote->path, 0, &ie)) == NULL) {
		merr_set(e, "%s; the session's supervisor that kept it is gone too",
		    ie.msg);
		audit_run_free(ar);
		return (-1);
	}
	for (size_t i = 0; i < remote->remote->nsecrets; i++)
		audit_redact_secret(here, remote->remote->secrets[i].name,
		    remote->remote->secrets[i].value, remote->remote->secrets[i].len);
	ar->a = here;
	ar->sha_given = true;
	if (ar->wire->len > 0) {
		w = (struct wire){ ar->wire->p, ar->wire->p + ar->wire->len, false };
		ar->wire->len = 0;
		for (size_t n = ar->nwire; n > 0 && !w.bad; n--)
			if (get_item(&w, ar, &ie) == -1)
				break;
	}
	ar->nwire = 0;
	rc = audit_run_end(ar, en, e);
	audit_close(here);
	return (rc);
}

void
audit_remote_abandon(struct audit_run *ar)
{
	struct sbuf	b = { NULL, 0, 0 };
	struct merr	e;

	if (audit_remote_begun(ar, &e) == -1) {
		audit_run_free(ar);
		return;
	}
	remote_head(&b, OP_ABANDON);
	put_i64(&b, ar->rowid);
	(void)remote_send(ar->a, &b, false, NULL, NULL, &e);
	free(b.p);
	audit_run_free(ar);
}

/* ---- the keeper ----------------------------------------------------- */

struct audit_keeper {
	struct {
		char		*path;
		struct audit	*a;
	}			 logs[KEEPER_LOGS_MAX];
	size_t			 nlogs;
	struct keeper_secret	 secrets[SECRETS_MAX];
	size_t			 nsecrets;
	bool			 tidy;		/* a run ended or was dropped since
						   the last audit_keeper_tidy */
};

struct guest_run {
	struct guest_run	*next;
	struct audit_run	*ar;
};

struct audit_guest {
	struct audit_keeper	*k;
	pid_t			 pid;
	struct guest_run	*runs;
};

struct audit_keeper *
audit_keeper_new(void)
{
	return (xcalloc(1, sizeof (struct audit_keeper)));
}

void
audit_keeper_secret(struct audit_keeper *k, const char *name, const char *value,
    size_t len)
{
	size_t	n = k->nsecrets;

	secret_keep(k->secrets, &k->nsecrets, name, value, len);
	if (k->nsecrets == n)
		return;
	for (size_t i = 0; i < k->nlogs; i++)
		audit_redact_secret(k->logs[i].a, name, value, len);
}

void
audit_keeper_free(struct audit_keeper *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nlogs; i++) {
		audit_close(k->logs[i].a);
		free(k->logs[i].path);
	}
	secrets_clear(k->secrets, k->nsecrets);
	free(k);
}

void
audit_keeper_tidy(struct audit_keeper *k)
{
	struct merr	e;

	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nlogs; i++)
		audit_checkpoint_due(k->logs[i].a);
	if (!k->tidy)
		return;
	k->tidy = false;
	for (size_t i = 0; i < k->nlogs; i++)
		(void)audit_recover(k->logs[i].a, &e);
}

void
audit_keeper_release(struct audit_keeper *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nlogs; i++)
		sqlite3_db_release_memory(audit_sqlite(k->logs[i].a));
	malloc_trim(0);
}

/* The log at path, opened once and kept. */
static struct audit *
keeper_log(struct audit_keeper *k, const char *path, struct merr *e)
{
	struct audit	*a;

	for (size_t i = 0; i < k->nlogs; i++)
		if (strcmp(k->logs[i].path, path) == 0)
			return (k->logs[i].a);
	if (k->nlogs == KEEPER_LOGS_MAX) {
		merr_set(e, "audit log %s: this session already keeps %d logs open; "
		    "record its commands in one of those", path, KEEPER_LOGS_MAX);
		return (NULL);
	}
	if ((a = audit_open(path, 0, e)) == NULL)
		return (NULL);
	a->ckpt_later = true;
	for (size_t i = 0; i < k->nsecrets; i++)
		audit_redact_secret(a, k->secrets[i].name, k->secrets[i].value,
		    k->secrets[i].len);
	k->logs[k->nlogs].path = xstrdup(path);
	k->logs[k->nlogs++].a = a;
	return (a);
}

struct audit_guest *
audit_guest_new(struct audit_keeper *k, pid_t pid)
{
	struct audit_guest	*g = xcalloc(1, sizeof *g);

	g->k = k;
	g->pid = pid;
	return (g);
}

void
audit_guest_free(struct audit_guest *g)
{
	struct guest_run	*r, *next;

	if (g == NULL)
		return;
	for (r = g->runs; r != NULL; r = next) {
		next = r->next;
		audit_run_abandon(r->ar);
		free(r);
		g->k->tidy = true;
	}
	free(g);
}

static struct guest_run *
guest_find(struct audit_guest *g, int64_t rowid, struct guest_run ***pp)
{
	for (struct guest_run **p = &g->runs; *p != NULL; p = &(*p)->next)
		if ((*p)->ar->rowid == rowid) {
			if (pp != NULL)
				*pp = p;
			return (*p);
		}
	return (NULL);
}

static int
guest_start(struct audit_guest *g, struct wire *w, enum wire_op op, char **rep,
    size_t *rlen, struct merr *e)
{
	struct wire_start	 ws;
	struct audit		*a;
	const char		*why = NULL;
	int			 rc = -1;

	get_start(w, &ws);
	if (op != OP_BEGIN)
		why = get_str(w);
	if (w->bad || w->p != w->end) {
		rc = merr_set(e, "a malformed audit request");
		goto out;
	}
	/* A secret the client would have redacted and we would not: refused,
	 * rather than its value stored. */
	for (size_t i = 0; ws.secrets != NULL && ws.secrets[i] != NULL; i++) {
		size_t	j;

		for (j = 0; j < g->k->nsecrets; j++)
			if (strcmp(g->k->secrets[j].name, ws.secrets[i]) == 0)
				break;
		if (j == g->k->nsecrets) {
			rc = merr_set(e, "audit log: the run's secret %s is not one of "
			    "the session's, so its value could not be kept out of "
			    "the log", ws.secrets[i]);
			goto out;
		}
	}
	if ((a = keeper_log(g->k, ws.path, e)) == NULL)
		goto out;
	/* The owner: the process that connected, or one it says sends for it
	 * (a child of it, after a fork), if that is a process of our user's
	 * that we can see; else the one that connected. */
	if (ws.s.owner_pid != g->pid) {
		char		path[64];
		struct stat	st;

		snprintf(path, sizeof path, "/proc/%d", (int)ws.s.owner_pid);
		if (ws.s.owner_pid <= 0 || stat(path, &st) == -1 ||
		    st.st_uid != geteuid())
			ws.s.owner_pid = g->pid;
	}
	if (op == OP_BEGIN) {
		struct audit_run	*ar;
		struct guest_run	*r;
		struct sbuf		 b = { NULL, 0, 0 };

		if ((ar = audit_run_begin(a, &ws.s, e)) == NULL)
			goto out;
		r = xcalloc(1, sizeof *r);
		r->ar = ar;
		r->next = g->runs;
		g->runs = r;
		put_i64(&b, ar->rowid);
		put_str(&b, ar->run_id);
		put_str(&b, ar->begin_hash);
		put_f64(&b, ar->started_at);
		*rep = b.p;
		*rlen = b.len;
		rc = 1;
	} else if ((op == OP_REFUSED ? audit_run_refused(a, &ws.s, why, e) :
	    audit_run_failed(a, &ws.s, why, e)) == 0) {
		*rep = xstrdup("");
		*rlen = 0;
		rc = 1;
	}
out:
	free(ws.argv);
	free(ws.secrets);
	return (rc);
}

/* An output as sent: into the run's out[i], as a local run would hold it
 * after the same feed (the tail linear, from the ring's start). */
static void
get_output(struct wire *w, struct audit_run *ar, int i)
{
	struct audit_out	*o = &ar->out[i];
	const char		*hex, *head, *tail;
	size_t			 nhead, ntail;
	uint64_t		 fill;

	o->bytes = (uint64_t)get_i64(w);
	hex = get_str(w);
	head = get_blob(w, &nhead);
	tail = get_blob(w, &ntail);
	fill = (uint64_t)get_i64(w);
	if (w->bad || hex == NULL || strlen(hex) != SHA256_HEX_LEN - 1 ||
	    nhead > ar->head_max || ntail != (fill < ar->tail_max ? fill : ar->tail_max) ||
	    o->bytes < nhead + fill || fill > o->bytes) {
		w->bad = true;
		return;
	}
	memcpy(ar->sha_hex[i], hex, SHA256_HEX_LEN);
	if (nhead > 0) {
		o->head = xmalloc(nhead);
		memcpy(o->head, head, nhead);
	}
	o->nhead = nhead;
	if (ntail > 0) {
		o->ring = xmalloc(ntail);
		memcpy(o->ring, tail, ntail);
	}
	o->ring_pos = 0;
	o->ring_fill = fill;
	for (int part = 0; part < 2 && !w->bad; part++) {
		uint32_t		 n = get_u32(w);
		struct audit_tick	*t;

		if (n > AUDIT_TICKS_MAX || (size_t)(w->end - w->p) / 16 < n) {
			w->bad = true;
			return;
		}
		t = xreallocarray(NULL, AUDIT_TICKS_MAX, sizeof *t);
		for (uint32_t j = 0; j < n; j++) {
			t[j].off = (uint64_t)get_i64(w);
			t[j].ms = (uint64_t)get_i64(w);
		}
		if (part == 0) {
			o->th = t;
			o->nth = n;
		} else {
			o->tt = t;
			o->tt0 = 0;
			o->ntt = n;
		}
	}
}

static int
guest_end(struct audit_guest *g, struct wire *w, char **rep, size_t *rlen,
    struct merr *e)
{
	struct guest_run	*r, **pp = NULL;
	struct audit_run	*ar;
	struct audit_end	 en;
	int64_t			 status;

	if ((r = guest_find(g, get_i64(w), &pp)) == NULL || w->bad)
		return (merr_set(e, "an audit request for a run this client did not "
		    "begin"));
	ar = r->ar;
	memset(&en, 0, sizeof en);
	status = get_i64(w);
	en.status = status == AUDIT_SETUP_FAILED ? AUDIT_SETUP_FAILED : AUDIT_DONE;
	en.end_reason = get_str(w);
	en.exit_code = get_int(w);
	en.signal = get_int(w);
	en.cpu_user = get_f64(w);
	en.cpu_sys = get_f64(w);
	en.peak_memory = get_i64(w);
	en.peak_pids = get_i64(w);
	en.limits = get_str(w);
	en.risk = get_int(w);
	en.risk_reasons = get_str(w);
	en.ended_at = get_f64(w);
	/* When it ended: now, or a time the log can write (Unix seconds,
	 * before the year 5000). */
	if (en.risk < -1 || en.risk > 100 || en.ended_at < 0 || en.ended_at > 95e9)
		w->bad = true;
	/* The run leaves the guest whatever happens next: a completion that
	 * fails is the client's to report, and the row recovery's. */
	*pp = r->next;
	free(r);
	if (!w->bad && get_items(w, ar, e) == -1) {
		audit_run_abandon(ar);
		return (-1);
	}
	for (int i = 0; i < 2 && !w->bad; i++)
		get_output(w, ar, i);
	if (w->bad || w->p != w->end) {
		audit_run_abandon(ar);
		return (merr_set(e, "a malformed audit request"));
	}
	ar->sha_given = true;
	g->k->tidy = true;
	if (audit_run_end(ar, &en, e) == -1)
		return (-1);
	*rep = xstrdup("");
	*rlen = 0;
	return (1);
}

int
audit_guest_serve(struct audit_guest *g, const void *req, size_t len, char **rep,
    size_t *rlen, struct merr *e)
{
	struct wire		 w = { req, (const char *)req + len, false };
	struct guest_run	*r, **pp = NULL;
	uint32_t		 op;

	*rep = NULL;
	*rlen = 0;
	if (get_u32(&w) != WIRE_MAGIC)
		return (merr_set(e, "a malformed audit request"));
	switch ((op = get_u32(&w))) {
	case OP_BEGIN:
	case OP_REFUSED:
	case OP_FAILED:
		return (guest_start(g, &w, (enum wire_op)op, rep, rlen, e));
	case OP_APPEND:
		if ((r = guest_find(g, get_i64(&w), NULL)) == NULL || w.bad)
			return (merr_set(e, "an audit request for a run this client "
			    "did not begin"));
		if (get_items(&w, r->ar, e) == -1)
			return (-1);
		if (w.bad || w.p != w.end)
			return (merr_set(e, "a malformed audit request"));
		return (0);
	case OP_END:
		return (guest_end(g, &w, rep, rlen, e));
	case OP_ABANDON:
		if ((r = guest_find(g, get_i64(&w), &pp)) == NULL || w.bad ||
		    w.p != w.end)
			return (merr_set(e, "an audit request for a run this client "
			    "did not begin"));
		*pp = r->next;
		audit_run_abandon(r->ar);
		free(r);
		return (0);
	default:
		return (merr_set(e, "a malformed audit request"));
	}
}
