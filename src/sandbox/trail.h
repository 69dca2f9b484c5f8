/* trail.h: a session command's part of its session's exec trail. The
 * session's supervisor sends every exec of the sandbox to each client
 * whose command runs; the client keeps those of its own command's tree:
 * its command's first exec (by the command's host pid) and every exec
 * whose parent on the trail is one it kept. Execs that arrive before the
 * session said the command's pid wait for it. Supervisor of a session
 * command (moat session exec, the TUI's and MCP's commands). */
#ifndef MOAT_TRAIL_H
#define MOAT_TRAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TRAIL_PIDS	256	/* pids of the command's tree kept, a ring */
#define TRAIL_PENDING	64	/* execs held until the command's pid is known */

struct run;

struct trail {
	pid_t	 pids[TRAIL_PIDS];
	size_t	 npids;
	char	*pending[TRAIL_PENDING];	/* owned: encoded events */
	size_t	 pendlen[TRAIL_PENDING];
	size_t	 npending;
	bool	 first;		/* the command's own exec was recorded */
	bool	 spawned;	/* MSG_SPAWNED came */
	pid_t	 inner;		/* the command's pid inside the sandbox */
};

/* An encoded EV_EXEC event from the session: r->on_event gets it when it
 * is of r's command, or later (trail_flush) when the command's pids are
 * not known yet. Its own process is known by its host pid (r->cmd_pid,
 * from the pidfd) or, as that is gone when the command ended before its
 * client looked, by its pid inside the sandbox. */
void	trail_event(struct trail *, struct run *, const char *, size_t);
/* MSG_SPAWNED came (inner: the command's pid inside): the held events are
 * decided. */
void	trail_flush(struct trail *, struct run *, pid_t inner);
void	trail_clear(struct trail *);

#endif
