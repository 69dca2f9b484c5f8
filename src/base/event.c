/* event.c: sends a run's events to the sink of whoever started the run.
 * Any process. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event.h"

void
event_send(const struct event_sink *s, struct run_event *ev)
{
	if (s != NULL && s->emit != NULL)
		s->emit(s->arg, ev);
}

void
event_vprintf(const struct event_sink *s, enum run_event_kind kind, const char *fmt,
    va_list ap)
{
	struct run_event	ev;
	char			text[1024];

	if (s == NULL || s->emit == NULL)
		return;
	vsnprintf(text, sizeof text, fmt, ap);
	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.text = text;
	s->emit(s->arg, &ev);
}

void
event_printf(const struct event_sink *s, enum run_event_kind kind, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	event_vprintf(s, kind, fmt, ap);
	va_end(ap);
}

/*
 * An event in one buffer, to pass it to another process (a session's
 * supervisor to the client whose command runs): the numbers as one line of
 * text, then each string field as a presence byte ('-' none, '+' some) and
 * its text, each part ending in NUL. event_decode takes only what
 * event_encode makes.
 */
#define EVENT_NSTR	9

static const char **
event_strings(struct run_event *ev, const char **v)
{
	v[0] = ev->text;
	v[1] = ev->host;
	v[2] = ev->addr;
	v[3] = ev->verdict;
	v[4] = ev->rule;
	v[5] = ev->syscall;
	v[6] = ev->path;
	v[7] = ev->change;
	v[8] = NULL;	/* room for a later field */
	return (v);
}

size_t
event_encode(const struct run_event *ev, char *buf, size_t cap)
{
	const char	*v[EVENT_NSTR];
	size_t		 off;
	int		 n;

	n = snprintf(buf, cap, "%d %.6f %u %" PRIu64 " %" PRIu64 " %.6f %" PRIu64 " %d",
	    (int)ev->kind, ev->t, ev->port, ev->bytes_out, ev->bytes_in,
	    ev->duration, ev->count, ev->outside ? 1 : 0);
	if (n < 0 || (size_t)n + 1 >= cap)
		return (0);
	off = (size_t)n + 1;
	event_strings((struct run_event *)ev, v);
	for (int i = 0; i < EVENT_NSTR; i++) {
		size_t	len = v[i] != NULL ? strlen(v[i]) : 0;

		if (len > EVENT_FIELD_MAX)
			len = EVENT_FIELD_MAX;
		if (off + len + 2 > cap)
			return (0);
		buf[off++] = v[i] != NULL ? '+' : '-';
		memcpy(buf + off, v[i] != NULL ? v[i] : "", len);
		off += len;
		buf[off++] = '\0';
	}
	return (off);
}

int
event_decode(const char *buf, size_t len, struct run_event *ev)
{
	const char	*v[EVENT_NSTR];
	const char	*p = buf, *end = buf + len, *nul;
	int		 kind, outside, used = 0;
	unsigned	 port;
	uint64_t	 out, in, count;
	double		 t, dur;

	memset(ev, 0, sizeof *ev);
	if (len == 0 || (nul = memchr(p, '\0', len)) == NULL)
		return (-1);
	if (sscanf(p, "%d %lf %u %" SCNu64 " %" SCNu64 " %lf %" SCNu64 " %d%n",
	    &kind, &t, &port, &out, &in, &dur, &count, &outside, &used) != 8 ||
	    p + used != nul || kind < EV_NOTE || kind > EV_FILE_CHANGED ||
	    (outside != 0 && outside != 1) || port > 65535 || !(t >= 0) ||
	    !(dur >= 0) || t > 1e12 || dur > 1e12)
		return (-1);
	p = nul + 1;
	for (int i = 0; i < EVENT_NSTR; i++) {
		if (p >= end || (*p != '+' && *p != '-') ||
		    (nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			return (-1);
		v[i] = *p == '+' ? p + 1 : NULL;
		if (*p == '-' && nul != p + 1)
			return (-1);
		p = nul + 1;
	}
	if (p != end)
		return (-1);
	ev->kind = (enum run_event_kind)kind;
	ev->t = t;
	ev->port = port;
	ev->bytes_out = out;
	ev->bytes_in = in;
	ev->duration = dur;
	ev->count = count;
	ev->outside = outside == 1;
	ev->text = v[0];
	ev->host = v[1];
	ev->addr = v[2];
	ev->verdict = v[3];
	ev->rule = v[4];
	ev->syscall = v[5];
	ev->path = v[6];
	ev->change = v[7];
	return (0);
}
