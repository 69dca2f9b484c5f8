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

/* An exec's extra field: "PID PPID NSPID NARGS CWDLEN LEN...:" then the cwd and
 * each argument, without separators. Arguments that would not fit in
 * EVENT_EXEC_MAX are left out. Returns its length, 0 when ev is no exec. */
static size_t
event_exec_field(const struct run_event *ev, char *f)
{
	size_t	 nargs = 0, cwdlen = ev->cwd != NULL ? strlen(ev->cwd) : 0, off, body;

	if (ev->kind != EV_EXEC)
		return (0);
	if (cwdlen > 4096)
		cwdlen = 4096;
	/* How many arguments fit: the header takes at most 21 bytes each. */
	body = cwdlen;
	while (ev->argv != NULL && ev->argv[nargs] != NULL && nargs < EVENT_EXEC_ARGS &&
	    100 + 21 * (nargs + 1) + body + strlen(ev->argv[nargs]) < EVENT_EXEC_MAX)
		body += strlen(ev->argv[nargs++]);
	off = (size_t)snprintf(f, EVENT_EXEC_MAX, "%d %d %d %zu %zu", ev->pid, ev->ppid,
	    ev->nspid, nargs, cwdlen);
	for (size_t i = 0; i < nargs; i++)
		off += (size_t)snprintf(f + off, EVENT_EXEC_MAX - off, " %zu",
		    strlen(ev->argv[i]));
	f[off++] = ':';
	memcpy(f + off, ev->cwd != NULL ? ev->cwd : "", cwdlen);
	off += cwdlen;
	for (size_t i = 0; i < nargs; i++) {
		size_t	l = strlen(ev->argv[i]);

		memcpy(f + off, ev->argv[i], l);
		off += l;
	}
	f[off] = '\0';
	return (off);
}

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
	char		 exec[EVENT_EXEC_MAX + 1];

	n = snprintf(buf, cap, "%d %.6f %u %" PRIu64 " %" PRIu64 " %.6f %" PRIu64 " %d",
	    (int)ev->kind, ev->t, ev->port, ev->bytes_out, ev->bytes_in,
	    ev->duration, ev->count, ev->outside ? 1 : 0);
	if (n < 0 || (size_t)n + 1 >= cap)
		return (0);
	off = (size_t)n + 1;
	event_strings((struct run_event *)ev, v);
	if (event_exec_field(ev, exec) > 0)
		v[8] = exec;
	for (int i = 0; i < EVENT_NSTR; i++) {
		size_t	len = v[i] != NULL ? strlen(v[i]) : 0;

		if (len > (i == 8 ? EVENT_EXEC_MAX : EVENT_FIELD_MAX))
			len = i == 8 ? EVENT_EXEC_MAX : EVENT_FIELD_MAX;
		if (off + len + 2 > cap)
			return (0);
		buf[off++] = v[i] != NULL ? '+' : '-';
		memcpy(buf + off, v[i] != NULL ? v[i] : "", len);
		off += len;
		buf[off++] = '\0';
	}
	return (off);
}

static int
event_decode_v(const char *buf, size_t len, struct run_event *ev, const char **v)
{
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
	    p + used != nul || kind < EV_NOTE || kind > EV_EXEC ||
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
		if ((size_t)(nul - p) - 1 > (i == 8 ? EVENT_EXEC_MAX : EVENT_FIELD_MAX))
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

int
event_decode(const char *buf, size_t len, struct run_event *ev)
{
	const char	*v[EVENT_NSTR];

	return (event_decode_v(buf, len, ev, v));
}

/* A number of the exec field, then the byte that must follow it. */
static int
event_num(const char **sp, const char *end, char stop, unsigned long long max,
    unsigned long long *out)
{
	const char	*s = *sp;

	*out = 0;
	if (s >= end || *s < '0' || *s > '9')
		return (-1);
	while (s < end && *s >= '0' && *s <= '9') {
		*out = *out * 10 + (unsigned long long)(*s++ - '0');
		if (*out > max)
			return (-1);
	}
	if (s >= end || *s != stop)
		return (-1);
	*sp = s + 1;
	return (0);
}

int
event_decode_exec(const char *buf, size_t len, struct run_event *ev, struct event_exec *x)
{
	const char		*v[EVENT_NSTR], *s, *end;
	unsigned long long	 pid, ppid, nspid, nargs, lens[EVENT_EXEC_ARGS + 1], sum = 0;
	size_t			 off = 0;

	if (event_decode_v(buf, len, ev, v) == -1)
		return (-1);
	if (ev->kind != EV_EXEC)
		return (0);
	if ((s = v[8]) == NULL)
		return (-1);
	end = s + strlen(s);
	if (event_num(&s, end, ' ', 1 << 22, &pid) == -1 ||
	    event_num(&s, end, ' ', 1 << 22, &ppid) == -1 ||
	    event_num(&s, end, ' ', 1 << 22, &nspid) == -1 ||
	    event_num(&s, end, ' ', EVENT_EXEC_ARGS, &nargs) == -1)
		return (-1);
	for (size_t i = 0; i <= nargs; i++) {
		if (event_num(&s, end, i == nargs ? ':' : ' ', EVENT_EXEC_MAX, &lens[i]) == -1)
			return (-1);
		sum += lens[i];
	}
	if (sum != (unsigned long long)(end - s) || sum + nargs + 1 > sizeof x->text)
		return (-1);
	for (size_t i = 0; i <= nargs; i++) {
		memcpy(x->text + off, s, lens[i]);
		x->text[off + lens[i]] = '\0';
		if (i > 0)
			x->argv[i - 1] = x->text + off;
		else
			ev->cwd = x->text;
		s += lens[i];
		off += lens[i] + 1;
	}
	x->argv[nargs] = NULL;
	ev->argv = x->argv;
	ev->pid = (int)pid;
	ev->ppid = (int)ppid;
	ev->nspid = (int)nspid;
	return (0);
}
