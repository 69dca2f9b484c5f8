/* session.h: a long-lived sandbox that runs many commands. Its supervisor
 * is a detached moat process holding one sandbox that serves (struct run
 * with no argv) and a control socket, $XDG_RUNTIME_DIR/moat/<id>.sock (a
 * private 0700 directory under /tmp without it), that only the same uid
 * may use. A command in it is a struct run with session_fd set: the
 * client relays, times and records it as moat run does. Front ends: moat
 * session (and later the TUI and moat mcp). */
#ifndef MOAT_SESSION_H
#define MOAT_SESSION_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

struct profile;
struct run;

#define SESSION_ID_MAX		24
#define SESSION_NAME_MAX	64

struct session_opts {
	const struct profile	*profile;
	const char		*profile_arg;	/* as the user named it, for clients */
	const char		*workspace;	/* -w; NULL: the current directory */
	const char		*name;		/* NULL: none */
	double			 ttl;		/* seconds from now; 0: none */
	double			 idle_ttl;	/* seconds with no command; 0: none */
	bool			 ttl_paused_stop;	/* the TTL stands still while paused */
	int			 verbose;
};

/* What a session says of itself (MSG_HELLO's answer). */
struct session_info {
	char		id[SESSION_ID_MAX];
	char		name[SESSION_NAME_MAX];
	char		profile[PATH_MAX];	/* as named at session new */
	char		profile_hash[65];	/* sha256 of the profile's text */
	char		profile_hash_live[65];	/* the same with the net-allow
						   rules written to its file since
						   (SESSION_ALLOW_WRITTEN): a
						   profile file changed just so
						   still names this sandbox */
	char		net[16];
	char		state[16];		/* "running" or "paused" */
	char		workspace[PATH_MAX];	/* "" when none */
	char		cwd[PATH_MAX];		/* commands start here by default */
	char		run_id[40];		/* the sandbox's: its overlay layer is
						   $XDG_STATE_HOME/moat/runs/RUN_ID */
	pid_t		pid;			/* the supervisor */
	pid_t		init_pid;
	double		created;		/* Unix seconds */
	double		ttl_left;		/* seconds; -1: none */
	double		idle_ttl;		/* seconds; 0: none */
	unsigned	commands;		/* started so far */
	unsigned	live;			/* running now */
	unsigned	procs;			/* processes in the sandbox, and */
	double		mem;			/* bytes resident there: in the answer
						   to MSG_INFO only (0 in a greeting,
						   which every client waits for) */
	double		memory;			/* bytes: the memory limit the
						   session enforces, as resolved at
						   its start; 0: none */
	char		user[256];		/* the user and HOME its commands */
	char		home[PATH_MAX];		/* run as (its home is at that path
						   inside); "": a session of an
						   older moat (the client's own) */
};

/* Whether profile p, as a client loaded it, is the one session in runs:
 * the profile it started with, or that with the net-allow rules written
 * to its file since (SESSION_ALLOW_WRITTEN), less those denied since. */
bool	session_profile_matches(const struct session_info *in,
	    const struct profile *p);

/* An audit handle whose runs the session's supervisor records, over the
 * connection fd (greeted), in the log db (NULL: the default): a client's
 * commands' rows without a database connection of its own
 * (audit_open_remote). */
struct audit;
struct audit	*session_audit_open(int fd, const char *db, struct merr *);
/* The directory of control sockets, made 0700 if missing, refused when it
 * is not ours or not private. */
int	session_dir(char *buf, size_t n, struct merr *);
/* Valid as an id or a name: [A-Za-z0-9._-], 1 to SESSION_NAME_MAX-1, not
 * starting with '.' or '-'. */
bool	session_name_valid(const char *);
/* Starts a session's supervisor (detached) and waits until its sandbox is
 * ready; its id in id. -1 with e set: nothing is left running. */
int	session_start(const struct session_opts *, char id[SESSION_ID_MAX],
	    struct merr *);
/* Connects to the session with that id or name and greets it; the socket,
 * or -1 with e set. info may be NULL. */
int	session_connect(const char *, struct session_info *, struct merr *);
/* The same, calling meanwhile(arg) once while the session answers (after
 * the greeting went, before its answer is read; for a name, before the
 * sessions are greeted): work of the client's own that needs no answer
 * is done while the supervisor works, not after. */
int	session_connect_meanwhile(const char *, struct session_info *,
	    void (*meanwhile)(void *), void *arg, struct merr *);
/* r becomes a command of the session at fd, whose greeting was info: its
 * control socket, its workspace, and the memory limit the session
 * enforces, taken as the command's (not worked out again from meminfo,
 * mountinfo and the cgroup tree for every command). The working directory
 * is the caller's to set. */
void	session_run_attach(struct run *, int fd, const struct session_info *);
/* One request on a connected socket (MSG_INFO, MSG_TTL with code seconds,
 * MSG_PAUSE with code 1 or 0, MSG_CLOSE) and its answer in info (may be
 * NULL). */
int	session_request(int fd, int type, int code, struct session_info *,
	    struct merr *);
/* The layer an overlay session keeps, live or ended, by its id or name:
 * the session's info as it was when it became ready (the file "session"
 * in $XDG_STATE_HOME/moat/runs/RUN_ID); the newest when a name was used
 * again. -1 with e set when there is none. */
int	session_layer_find(const char *, struct session_info *, struct merr *);
/* Changes a running session's allowlist for its commands' next
 * connections: rule (net-allow's grammar, e.g. host, *.suffix, host:port)
 * added (allow) or removed (deny; only a rule equal to one there). It is
 * on the record before it is made: a row of its own in the audit log db
 * (NULL: the default), argv "moat session allow|deny ID RULE", the
 * session's, with source and client (who changed it: "cli", "tui"...; the
 * user and pid are the row's own) and a note of what happened; nothing is
 * changed when it cannot be recorded. allow is SESSION_DENY,
 * SESSION_ALLOW, or SESSION_ALLOW_WRITTEN when the caller has also written
 * the rule to the profile's file (the shell's "always"): a client that
 * loads the file so changed is then still talking to this sandbox
 * (session_profile_matches). 0, or -1 with e saying why. */
enum { SESSION_DENY, SESSION_ALLOW, SESSION_ALLOW_WRITTEN };
int	session_allow(const char *which, const char *rule, int allow,
	    const char *db, const char *source, const char *client,
	    struct merr *);
/* Every live session; stale sockets (a supervisor that was killed) are
 * removed. *v is malloc'd. */
int	session_list(struct session_info **v, size_t *n, struct merr *);
/* Opens PATH as the session's sandbox sees it: the session's init opens it
 * (its root, its mounts, its uid: a read-only or masked path stays so) and
 * passes the descriptor back. Relative paths start at the session's cwd;
 * every symlink, absolute or not, resolves inside that root (openat2
 * RESOLVE_IN_ROOT), and the last component is never followed. sock: a
 * connected, greeted socket. flags: O_RDONLY/O_WRONLY/O_RDWR with O_CREAT,
 * O_TRUNC, O_EXCL, O_DIRECTORY. */
int	session_open_inside(int sock, const struct session_info *,
	    const char *path, int flags, mode_t mode, struct merr *);
/* The info text (key=value lines), both ways; -1: malformed. */
char	*session_info_format(const struct session_info *);
int	 session_info_parse(const char *, size_t, struct session_info *);

#endif
