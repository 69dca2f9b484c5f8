/* event.h: what a run observed (a connection, a denied call, a limit hit, a
 * changed file, a note) and the sink every layer reports it through. The
 * network layer, the sandbox and the audit share this type without knowing
 * one another: whoever starts a run owns the sink. Any process. */
#ifndef MOAT_EVENT_H
#define MOAT_EVENT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* Something the run observed: a network connection, a denied syscall, a limit
 * hit. Front ends print or store it. */
enum run_event_kind {
	EV_NOTE,		/* a line for -v: what was set up, how */
	EV_SYSCALL_DENIED,
	EV_NET_CONN,
	EV_LIMIT_HIT,
	EV_FILE_CHANGED,
	EV_EXEC,		/* a program the run started (the exec trail): a
				   record of execve/execveat, not a gate */
};

struct run_event {
	enum run_event_kind	 kind;
	double			 t;		/* seconds since the run started */
	const char		*text;		/* one line for humans */
	/* EV_NET_CONN */
	const char		*host, *addr, *verdict, *rule;
	unsigned		 port;
	uint64_t		 bytes_out, bytes_in;
	double			 duration;
	/* EV_SYSCALL_DENIED */
	const char		*syscall;
	uint64_t		 count;
	/* EV_FILE_CHANGED: a host path, and "added", "modified" or "deleted";
	 * outside: not in the workspace (a profile's rw-bind) */
	const char		*path;
	const char		*change;
	bool			 outside;
	/* EV_EXEC: the task and the parent it was started from (host pids;
	 * ppid is the nearest ancestor on the trail, else the sandbox's
	 * init), its working directory, and the file and argv as read from
	 * its memory at the call (path; argv NULL-terminated, bounded). risk
	 * and reasons (a JSON array) are the static score of that argv, -1
	 * and NULL until the record scores it. */
	int			 pid, ppid;
	int			 nspid;		/* the pid inside the sandbox of a
						   child of its init, else 0 */
	const char		*cwd;
	char *const		*argv;
	int			 risk;
	const char		*reasons;
};

/* Where events go. emit fills in ev->t (seconds since the run started) and
 * hands the event on; the event and its strings are borrowed for the call. */
struct event_sink {
	void	(*emit)(void *arg, struct run_event *);
	void	 *arg;
};

/* Sends ev to the sink; a sink with no emit drops it. */
void	event_send(const struct event_sink *, struct run_event *);
/* An event of that kind whose text is formatted (at most 1 KiB). */
void	event_printf(const struct event_sink *, enum run_event_kind, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	event_vprintf(const struct event_sink *, enum run_event_kind, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));

/* An event as bytes for another process, and back. event_encode: the
 * length, 0 when cap is too small (strings are cut at EVENT_FIELD_MAX);
 * EVENT_WIRE_MAX always suffices. event_decode: -1 for anything event_encode
 * does not make; the strings point into buf, which must outlive ev. An
 * exec's pid, parent, cwd and argv go in one more field (at most
 * EVENT_EXEC_MAX bytes: arguments that do not fit are left out), read back
 * by event_decode_exec only. */
#define EVENT_FIELD_MAX	4096
#define EVENT_EXEC_MAX	16384
#define EVENT_EXEC_ARGS	64
#define EVENT_WIRE_MAX	(8 * (EVENT_FIELD_MAX + 2) + EVENT_EXEC_MAX + 2 + 160)
#include <stddef.h>
size_t	event_encode(const struct run_event *, char *buf, size_t cap);
int	event_decode(const char *buf, size_t len, struct run_event *);

/* Room for what event_decode_exec decodes. */
struct event_exec {
	char	 text[EVENT_EXEC_MAX + 1];	/* the cwd and arguments, NUL after each */
	char	*argv[EVENT_EXEC_ARGS + 1];
};
/* As event_decode; an exec's pid, ppid, cwd and argv are filled too, their
 * strings in x. */
int	event_decode_exec(const char *buf, size_t len, struct run_event *,
	    struct event_exec *x);

#endif
