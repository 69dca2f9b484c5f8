/* event.c: sends a run's events to the sink of whoever started the run.
 * Any process. */
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
