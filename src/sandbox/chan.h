/* chan.h: one framing for two links, both SOCK_SEQPACKET: the channel
 * between a supervisor and its sandbox init, and a session's control socket
 * between a client (moat session exec, ls, kill) and the session's
 * supervisor. A message is a struct chan_msg, an optional payload after it
 * in the same datagram, and up to CHAN_MAX_FDS descriptors. Any process. */
#ifndef MOAT_CHAN_H
#define MOAT_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum chan_msg_type {
	/* supervisor <-> init */
	MSG_GO = 1,		/* supervisor -> init: ids mapped, build the sandbox */
	MSG_READY,		/* init -> supervisor: sandbox built; fds attached */
	MSG_SETUP_FAILED,	/* init -> supervisor: text, err; init exits 125 */
	MSG_EXEC_FAILED,	/* command -> supervisor: code 126/127, text, err;
				   init -> supervisor: code 125 when it could not
				   start a requested command */
	MSG_STATUS,		/* init -> supervisor: the command's wait status;
				   a one-shot run's, flags STATUS_ALONE when
				   nothing else of the sandbox is left */
	MSG_EXEC,		/* supervisor -> init: the run is recorded, start the command */
	MSG_PLACED,		/* supervisor -> init: moved into the run's cgroup */
	/* A sandbox that serves (init_args.serve) starts commands on request;
	 * a session's clients send the same requests to its supervisor. */
	MSG_SPAWN,		/* start a command (tag, argc, envc, flags; payload
				   cwd, argv, envp; fds as flags say) */
	MSG_SPAWNED,		/* started (tag, code = pid inside); fds: its pidfd,
				   then the terminal's master when asked */
	MSG_KILL,		/* signal code to the command tag's process group */
	/* client <-> session supervisor only */
	MSG_HELLO,		/* client: code = protocol version; answer: the
				   version, and the session as "key=value\n" lines */
	MSG_ERROR,		/* answer to a request that cannot be taken: text */
	MSG_EVENT,		/* supervisor -> client: an event of the sandbox
				   (event_encode) while the client's command runs */
	MSG_TTL,		/* client: code = seconds from now (0: none); answer HELLO */
	MSG_CLOSE,		/* client: end the session */
	MSG_INFO,		/* client: the session's state; answer HELLO */
	/* both links; new types go last, the numbers are the protocol's */
	MSG_OPEN,		/* open the payload's path as the sandbox sees it
				   (flags: open flags, code: mode); the answer:
				   the same type and tag, err, and the fd */
	MSG_PAUSE,		/* client: code 1 freeze every process of the
				   session, 0 thaw them; answer HELLO */
	MSG_NET,		/* client: code 1 add the payload's net-allow
				   rule to the session's allowlist, 0 remove
				   it; answer HELLO, or ERROR saying why */
	MSG_STOPPED,		/* init -> supervisor: the one-shot command
				   stopped (code: the signal); SIGCONT goes on */
	MSG_ASK,		/* supervisor -> client: a connection its command
				   made is refused by the allowlist and held:
				   tag = the question's id, code = seconds held,
				   text = "HOST:PORT", payload: why. client ->
				   supervisor: tag 0, code = seconds: this client
				   answers (before its MSG_SPAWN; no reply); tag
				   = a question's id, code = a NETASK_* (no reply;
				   anything else is refused and logged) */
	MSG_SECRETS,		/* client: the session's secrets; answer the
				   same type, payload secrets_encode's */
	MSG_AUDIT,		/* client: a request of its run's record, which the
				   supervisor writes into the log it keeps open
				   (audit_guest_serve's wire), in the payload or,
				   with AUDIT_IN_FD, in a memfd of code bytes;
				   with AUDIT_WANT_REPLY the answer is the same
				   type (its payload) or MSG_ERROR */
	MSG_SPARE,		/* supervisor -> init only: fork the next
				   command's process ahead (tag; code, fds: its
				   cgroup files, as MSG_SPAWN's); init ->
				   supervisor: forked (code = pid inside; fd:
				   its pidfd) */
	MSG_NS,			/* init -> supervisor, before READY when asked
				   (init_args.guard): fds its user, mount and
				   pid namespaces, for the guard; supervisor
				   -> init, after a one-shot command's status:
				   closed, init may exit */
	MSG_TYPE_MAX,
};

/* The control socket's protocol; a client of another version is answered
 * MSG_ERROR naming both. */
#define CHAN_PROTOCOL	5

/* MSG_AUDIT flags, and the largest request (a completion carries the
 * output's head and tail, and the events not yet sent). */
#define AUDIT_WANT_REPLY	0x01
#define AUDIT_IN_FD		0x02
#define AUDIT_REQUEST_MAX	(64 << 20)

/* MSG_ASK's answers: the connection refused, or let go on: once, after a
 * rule was added for the session (session_allow), or after it was also
 * written to the user's profile; the last two say so in its event. */
enum chan_netask {
	NETASK_DENY = 0,
	NETASK_ONCE,
	NETASK_SESSION,
	NETASK_ALWAYS,
	NETASK_MAX = NETASK_ALWAYS,
};
#define NETASK_SECS_MAX	600	/* the longest a connection is held */

/* MSG_SPAWN flags: which of the command's stdin, stdout and stderr come
 * with the message (in that order), and whether it gets a terminal of the
 * sandbox's devpts for the others (and as its controlling terminal). */
#define SPAWN_FD0	0x01
#define SPAWN_FD1	0x02
#define SPAWN_FD2	0x04
#define SPAWN_PTY	0x08
/* A client's MSG_SPAWN right after the MSG_AUDIT that began its row, which
 * it did not wait for: run only if that request was the last of the
 * client's and the row was written (a refusal then is MSG_ERROR with the
 * command's tag). */
#define SPAWN_AFTER_ROW	0x10
/* A request's payload and argument counts are bounded: argv and envp as
 * execve would take them, and never past what one message carries. */
/* A MSG_SPAWN from a session's supervisor to init ends its descriptors
 * with code files of the command's own group (v1 tasks, v2 cgroup.procs; at most
 * SPAWN_GROUP_MAX), which the command writes itself into before it execs;
 * the MSG_SPAWNED it forwards to the client ends with argc directories of
 * that group, their controllers in text (cg_child_ctls). */
#define SPAWN_GROUP_MAX	6
#define SPAWN_PAYLOAD_MAX	(192 * 1024)
#define SPAWN_ARGS_MAX		16384
#define CHAN_MAX_FDS		12

struct chan_msg {
	int		type;
	int		err;		/* errno */
	int		code;		/* exit code, wait status, count of fds, ...
					   (MSG_SPAWN to init: its cgroup files) */
	int		nfds_notify;	/* MSG_READY: 1 when the first fd is the seccomp listener */
	int		has_pty;	/* MSG_READY: 1 when the last fd is the terminal's master */
	uint32_t	tag;		/* MSG_SPAWN and its answers: which command (0: the
					   one-shot run's) */
	int		flags;		/* MSG_SPAWN: SPAWN_* */
	int		argc, envc;	/* MSG_SPAWN: strings in the payload after cwd */
	uint32_t	winsize;	/* MSG_SPAWN with SPAWN_PTY: the terminal's
					   size, rows << 16 | columns (0: unknown) */
	char		text[480];
};
/* MSG_STATUS of a one-shot run: init has reaped everything the command
 * left; only init's own exit (the namespaces' teardown) is still to come.
 * Its payload is then a struct chan_rusage: what the sandbox used, as the
 * supervisor's RUSAGE_CHILDREN would count it once init is reaped. */
#define STATUS_ALONE	0x1

struct chan_rusage {
	int64_t		user_us, sys_us;	/* init and all it reaped */
	int64_t		maxrss_kb;		/* the largest of them */
};

/* MSG_SPAWN's payload: cwd, then argc argv strings, then envc environment
 * strings, each ending in NUL. */

/* Sends m, then len bytes of payload, with nfds descriptors. 0, or -1 with
 * errno set (EPIPE: the peer is gone). Never raises SIGPIPE. */
int	chan_send(int sock, const struct chan_msg *m, const void *payload,
	    size_t len, const int *fds, int nfds);
/* Receives one message into m and, when it has a payload, a malloc'd
 * *payload of *len bytes plus a NUL (NULL when none; payload may be NULL
 * to refuse one). Descriptors (close-on-exec) into fds, at most maxfds,
 * the count in *nfds; any beyond are closed. 1: a message; 0: EOF; -1:
 * errno (EAGAIN with MSG_DONTWAIT in flags, EBADMSG: short, truncated or
 * oversized, its descriptors closed). */
int	chan_recv(int sock, int flags, struct chan_msg *m, char **payload,
	    size_t *len, int *fds, int maxfds, int *nfds);
/* chan_recv on a socket that may be non-blocking, waiting for the message
 * (poll) and through EINTR: 1, 0 for EOF, or -1 (EBADMSG, ...). */
int	chan_recv_wait(int sock, struct chan_msg *m, char **payload,
	    size_t *len, int *fds, int maxfds, int *nfds);

#endif
