/* replay.c: a run's kept output cut into the stretches it was written in,
 * by the timing column of the outputs table, for moat audit replay. Front
 * ends (reads the log; the cutting is pure). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "replay.h"
#include "base/util.h"

/* Larger than any offset or time moat writes, small enough that a sum of
 * two never overflows. */
#define REPLAY_NUM_MAX	(UINT64_C(1) << 60)

static int
replay_num(const char **sp, const char *end, char stop, uint64_t *v)
{
	const char	*s = *sp;

	*v = 0;
	if (s >= end || *s < '0' || *s > '9')
		return (-1);
	while (s < end && *s >= '0' && *s <= '9') {
		*v = *v * 10 + (uint64_t)(*s++ - '0');
		if (*v > REPLAY_NUM_MAX)
			return (-1);
	}
	if (s >= end || *s != stop)
		return (-1);
	*sp = s + 1;
	return (0);
}

int
replay_timing_parse(const char *text, size_t len, struct replay_tick **out, size_t *n)
{
	const char		*s = text, *end = text + len;
	struct replay_tick	*t = NULL;
	size_t			 nt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	while (s < end) {
		struct replay_tick	x;

		if (replay_num(&s, end, ' ', &x.off) == -1 ||
		    replay_num(&s, end, '\n', &x.ms) == -1 ||
		    (nt > 0 && x.off < t[nt - 1].off)) {
			free(t);
			return (-1);
		}
		if (nt == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			t = xreallocarray(t, cap, sizeof *t);
		}
		t[nt++] = x;
	}
	*out = t;
	*n = nt;
	return (0);
}

static void
replay_push(struct replay *r, int stream, uint64_t ms, const char *p, size_t len,
    uint64_t skipped)
{
	r->c = xreallocarray(r->c, r->n + 1, sizeof *r->c);
	r->c[r->n] = (struct replay_chunk){ stream, ms, p, len, skipped, r->n };
	r->n++;
}

/* Cuts the kept bytes [from, from + len) of a stream at the ticks. */
static void
replay_cut(struct replay *r, int stream, const char *buf, uint64_t from, size_t len,
    const struct replay_tick *t, size_t nt, uint64_t skipped)
{
	uint64_t	 pos = from, end = from + len;
	size_t		 k = 0;

	while (pos < end) {
		uint64_t	 stop = end, ms = nt > 0 ? t[0].ms : 0;

		/* The latest tick at or before pos gives the time; the next
		 * one after it ends the stretch. */
		while (k < nt && t[k].off <= pos)
			k++;
		if (k > 0)
			ms = t[k - 1].ms;
		if (k < nt && t[k].off < stop)
			stop = t[k].off;
		replay_push(r, stream, ms, buf + (pos - from), (size_t)(stop - pos), skipped);
		skipped = 0;
		pos = stop;
	}
}

void
replay_add(struct replay *r, int stream, const char *head, size_t nh, const char *tail,
    size_t nt, uint64_t total, const char *timing, size_t ntiming)
{
	autofree struct replay_tick *t = NULL;
	size_t		 ntick = 0;
	uint64_t	 gap = 0;
	char		*h = NULL, *tl = NULL;

	if (nh + nt == 0)
		return;
	if (timing == NULL)
		r->untimed = true;
	else if (replay_timing_parse(timing, ntiming, &t, &ntick) == -1) {
		r->damaged = true;
		t = NULL;
		ntick = 0;
	}
	if (total < nh + nt)
		total = nh + nt;	/* a log that disagrees: trust the bytes */
	gap = total - nh - nt;
	if (nh > 0 && r->nown < nitems(r->own)) {
		h = r->own[r->nown++] = xmalloc(nh);
		memcpy(h, head, nh);
		replay_cut(r, stream, h, 0, nh, t, ntick, 0);
	}
	if (nt > 0 && r->nown < nitems(r->own)) {
		tl = r->own[r->nown++] = xmalloc(nt);
		memcpy(tl, tail, nt);
		replay_cut(r, stream, tl, total - nt, nt, t, ntick, gap);
	}
}

static int
replay_cmp(const void *x, const void *y)
{
	const struct replay_chunk	*a = x, *b = y;

	if (a->ms != b->ms)
		return (a->ms < b->ms ? -1 : 1);
	if (a->stream != b->stream)
		return (a->stream < b->stream ? -1 : 1);
	return (a->seq < b->seq ? -1 : a->seq > b->seq);
}

void
replay_sort(struct replay *r)
{
	if (r->n > 1)
		qsort(r->c, r->n, sizeof *r->c, replay_cmp);
}

int
replay_load(struct audit *a, int64_t id, struct replay *r, struct merr *e)
{
	struct sqlite3_stmt	*st = NULL;
	struct sqlite3		*db = audit_sqlite(a);
	int			 rc;

	/* A row of a moat before schema 5 has no timing: its output plays
	 * without pauses. */
	rc = sqlite3_prepare_v2(db, "SELECT o.stream, o.head, o.tail, CASE o.stream "
	    "WHEN 'stdout' THEN r.stdout_bytes ELSE r.stderr_bytes END, o.timing "
	    "FROM outputs o JOIN runs r ON r.id = o.run WHERE o.run = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return (merr_set(e, "audit log %s: %s", audit_path(a), sqlite3_errmsg(db)));
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char	*stream = (const char *)sqlite3_column_text(st, 0);
		int		 nh = sqlite3_column_bytes(st, 1), nt = sqlite3_column_bytes(st, 2);
		const char	*h = sqlite3_column_blob(st, 1), *t = sqlite3_column_blob(st, 2);
		sqlite3_int64	 total = sqlite3_column_int64(st, 3);
		const char	*tm = (const char *)sqlite3_column_text(st, 4);
		int		 ntm = sqlite3_column_bytes(st, 4);

		replay_add(r, stream != NULL && strcmp(stream, "stderr") == 0 ? 2 : 1,
		    h, h != NULL ? (size_t)nh : 0, t, t != NULL ? (size_t)nt : 0,
		    total > 0 ? (uint64_t)total : 0, tm, tm != NULL ? (size_t)ntm : 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (merr_set(e, "audit log %s: %s", audit_path(a), sqlite3_errmsg(db)));
	replay_sort(r);
	return (0);
}

void
replay_clear(struct replay *r)
{
	free(r->c);
	for (size_t i = 0; i < r->nown; i++)
		free(r->own[i]);
	memset(r, 0, sizeof *r);
}
