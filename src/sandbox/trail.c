/* trail.c: a session command's exec trail, picked out of its session's
 * (trail.h). Supervisor of a session command. */
#include <stdlib.h>
#include <string.h>

#include "trail.h"
#include "spawn.h"
#include "base/event.h"
#include "base/util.h"

static bool
trail_has(const struct trail *t, pid_t pid)
{
	for (size_t i = 0; i < t->npids && i < TRAIL_PIDS; i++)
		if (t->pids[i] == pid)
			return (true);
	return (false);
}

static void
trail_add(struct trail *t, pid_t pid)
{
	if (trail_has(t, pid))
		return;
	t->pids[t->npids++ % TRAIL_PIDS] = pid;
}

/* Decides one event, the command's pid being known. */
static void
trail_decide(struct trail *t, struct run *r, const char *buf, size_t len)
{
	struct run_event	 ev;
	struct event_exec	*x = xmalloc(sizeof *x);
	autofree char		*text = NULL;
	bool			 own;

	if (event_decode_exec(buf, len, &ev, x) == -1 || ev.kind != EV_EXEC)
		goto out;
	own = (r->cmd_pid > 0 && ev.pid == r->cmd_pid) ||
	    (t->inner > 0 && ev.nspid == t->inner);
	if (!own && !trail_has(t, ev.ppid))
		goto out;	/* another command's, or a process init adopted */
	if (own && (ev.argv == NULL || ev.argv[0] == NULL)) {
		/* The command's first exec comes from a copy of the session's
		 * init, which an unprivileged supervisor cannot read: it runs
		 * what this client asked for, and its tries along PATH are
		 * recorded once. */
		if (t->first)
			goto out;
		ev.path = r->argv[0];
		ev.argv = r->argv;
		text = xprintf("exec %s:", r->argv[0]);
		for (char **a = r->argv; *a != NULL && a - r->argv < EVENT_EXEC_ARGS; a++) {
			char	*next = xprintf("%s %s", text, *a);

			free(text);
			text = next;
		}
		ev.text = text;
	}
	if (own)
		t->first = true;
	trail_add(t, ev.pid);
	if (r->on_event != NULL) {
		ev.t = r->t_start > 0 ? now_mono() - r->t_start : 0;
		ev.risk = -1;
		r->on_event(r, &ev);
	}
out:
	free(x);
}

void
trail_event(struct trail *t, struct run *r, const char *buf, size_t len)
{
	if (t->spawned) {
		trail_decide(t, r, buf, len);
		return;
	}
	if (t->npending == TRAIL_PENDING)
		return;
	t->pending[t->npending] = xmalloc(len);
	memcpy(t->pending[t->npending], buf, len);
	t->pendlen[t->npending++] = len;
}

void
trail_flush(struct trail *t, struct run *r, pid_t inner)
{
	t->spawned = true;
	t->inner = inner;
	for (size_t i = 0; i < t->npending; i++) {
		trail_decide(t, r, t->pending[i], t->pendlen[i]);
		free(t->pending[i]);
	}
	t->npending = 0;
}

void
trail_clear(struct trail *t)
{
	for (size_t i = 0; i < t->npending; i++)
		free(t->pending[i]);
	t->npending = 0;
}
