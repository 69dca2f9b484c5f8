/* spawn.h: run one command in a sandbox. The supervisor side: clone into new
 * namespaces, serve the poll loop, decide the end reason. One function runs a
 * sandbox; `moat run` (and later the TUI, wrap, mcp) are front ends that fill
 * a struct run and pass callbacks. Supervisor only. */
#ifndef MOAT_SPAWN_H
#define MOAT_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/event.h"
#include "meter.h"
#include "network/secret.h"
#include "profile/profile.h"
#include "base/util.h"

struct loop;
struct cg;
struct meter;
struct chan_msg;
struct spawn;

enum end_reason {
	END_NONE,		/* still running, or never started */
	END_EXITED,
	END_SIGNALED,
	END_TIMEOUT,
	END_CPU_TIME,		/* RLIMIT_CPU / cgroup CPU budget */
	END_OOM,
	END_PIDS,
	END_KILLED,		/* killed by the user (signal to moat) */
	END_SETUP_FAILED,	/* the sandbox could not be built: exit 125 */
	END_EXEC_FAILED,	/* the command was not found / not executable */
	END_REFUSED,		/* refused before it started (risk, audit): exit 125 */
};

#define RUN_TIMEOUT_NONE	(-1.0)	/* run.timeout: no wall-clock limit */

struct run {
	/* in: filled by the front end */
	const struct profile	*profile;
	char			**argv;		/* borrowed, NULL-terminated */
	const char		*workspace;	/* absolute host path; NULL = cwd */
	const char		*cwd;		/* absolute path inside; NULL = workspace */
	/* An overlay run started on earlier ones (moat run --on): their run
	 * id and upper dirs, the latest first; NULL = on the workspace. */
	const char		*on_run_id;
	const struct strv	*on_layers;
	struct strv		 env_extra;	/* -e NAME[=VALUE]; owned */
	double			 timeout;	/* overrides the profile when > 0; 0: the
						 * profile's; RUN_TIMEOUT_NONE: none */
	int			 verbose;
	void			(*on_event)(struct run *, const struct run_event *);
	/* What the network layer reports through: calls on_event with the
	 * time since the start filled in (run_init sets it). */
	struct event_sink	 events;
	void			(*on_sample)(struct run *, const struct meter_sample *);
	/* The command's stdout (1) and stderr (2) as they pass through moat:
	 * pipes when they are not a terminal, and the sandbox's own terminal
	 * (stream 1) when stdin and stdout are one. */
	void			(*on_output)(struct run *, int stream, const void *, size_t);
	/* Runs while the sandbox init builds the root, before the command
	 * starts (score it, record it, ask the user). -1 with e set refuses
	 * the run: it ends END_REFUSED, exit 125, nothing having run. */
	int			(*before_exec)(struct run *, struct merr *);
	/* Called in the supervisor just after the sandbox init is cloned: from
	 * here on the front end may start threads (a thread running at the
	 * clone could leave a lock held in init's copy of the memory). */
	void			(*after_clone)(struct run *);
	/* A run of its own (not a session's command) that ended: called once
	 * its end, exit status, meters and events are all known, before
	 * run_sandbox waits for init's exit and removes the run's groups
	 * (close the record here: the two then overlap). Not called when
	 * run_sandbox fails. */
	void			(*after_run)(struct run *);
	void			*cb_arg;
	double			 meter_hz;	/* 0: the default (4 Hz) */
	/* MOAT_TRACE_TIMING: when the front end started (CLOCK_MONOTONIC
	 * seconds); the supervisor and init then say what each step of the
	 * start took (trace_step). 0: off. */
	double			 trace;
	/* A sandbox that serves commands (a session's supervisor): argv is
	 * NULL and there is no command of its own. serve_ready is called once
	 * the sandbox is built (add to r->loop what the front end serves);
	 * init's answers to run_serve_send (MSG_SPAWNED, MSG_STATUS,
	 * MSG_EXEC_FAILED) go to serve_msg, which owns their fds. The run
	 * ends when run_serve_stop is called or init dies. */
	void			(*serve_ready)(struct run *);
	void			(*serve_msg)(struct run *, const struct chan_msg *,
				    int *fds, int nfds);
	/* A command in a session's sandbox rather than a sandbox of its own:
	 * the control socket, connected and greeted (-1: none, the default).
	 * The workspace and working directory are the session's (ws_path,
	 * cwd_path are filled in by the front end). */
	int			 session_fd;
	/* The memory limit the session enforces (from its greeting), taken
	 * as the command's record's instead of working the share out again
	 * (meminfo, mountinfo, the cgroup tree); 0: worked out. */
	uint64_t		 session_memory;
	/* The user and HOME the session's commands run as (from its
	 * greeting: its sandbox's home is at that path), instead of this
	 * process's (run_who); NULL: this process's. Owned. */
	char			*session_user, *session_home;
	bool			 pty_force;	/* a terminal even when stdout is none */
	/* In a session: called once init has started the command (its pid is
	 * in cmd_pid); NULL: not wanted. */
	void			(*on_spawned)(struct run *);
	/* A run with a sandbox of its own: called once the command is told to
	 * start (MSG_EXEC sent), while init starts it and the supervisor has
	 * nothing else to do; NULL: not wanted. */
	void			(*on_exec)(struct run *);
	/* In a session: before_exec sent the row's begin without waiting for
	 * its answer (its supervisor takes the command's request next, in
	 * order), and begun, called once that request is sent, reads the
	 * answer; -1 refuses the run. With spawn_after_row, the supervisor
	 * runs the command only if it wrote that row (else it refuses it,
	 * and the answer said why); without, it runs it either way
	 * (--unlogged). NULL: the begin was answered in before_exec. */
	int			(*begun)(struct run *, struct merr *);
	bool			 spawn_after_row;
	/* A command in a session (session_fd) only, with pty_force: the
	 * sandbox's terminal belongs to the front end (the TUI's pane):
	 * its output goes to on_output only, never to moat's own terminal,
	 * which is neither made raw nor read; keys go in through
	 * run_pty_write; its size is pty_size, and SIGWINCH calls on_winch. */
	bool			 pty_front;
	/* With pty_front: stderr is a pipe to on_output (stream 2), not the
	 * terminal, so the front end can tell it apart. */
	bool			 pty_no_stderr;
	struct winsize		 pty_size;
	void			(*on_winch)(struct run *);
	/* Called once the run's loop exists, before the command starts: a
	 * front end adds what it serves while the command runs (its keys, a
	 * redraw timer) and removes it when the run returns. */
	void			(*loop_ready)(struct run *, struct loop *);
	/* A connection the allowlist refuses, asked about before it is
	 * refused: its question's id, host and port as the command named
	 * them, and the allowlist's reason; returns the seconds it is held
	 * for an answer (run_net_answer), 0 to refuse it at once. A serving
	 * sandbox's proxy calls it (a session's supervisor, which asks a
	 * client); in a session's command, the question comes from the
	 * supervisor, which holds it only for a client that set this and
	 * said so (net_ask_secs, at most NETASK_SECS_MAX). NULL: refused at once. */
	unsigned		(*on_net_ask)(struct run *, uint32_t id,
				    const char *host, unsigned port,
				    const char *why);
	unsigned		 net_ask_secs;

	/* out */
	char			 id[40];	/* unique per run: time-pid-random */
	enum end_reason		 end;
	int			 wstatus;	/* the command's wait status, when it ran */
	int			 exit_code;	/* what moat exits with */
	double			 t_start, t_end;	/* CLOCK_MONOTONIC seconds */
	char			*state_dir;	/* owned; $XDG_STATE_HOME/moat/runs/<id> when kept */
	pid_t			 init_pid;	/* host pid of the sandbox init */
	char			 enforced[384];	/* how the limits were enforced (cg_describe) */
	/* The profile's limits as this run got them: a share of memory
	 * (memory_pct) made bytes (memory) of this machine's budget. */
	struct limits		 limits;
	char			*ws_path;	/* owned; the workspace as resolved (NULL: none) */
	char			*cwd_path;	/* owned; the working directory inside */
	struct meter_summary	 summary;	/* the final figures, filled at the end */
	unsigned		 files_outside;	/* files changed under rw-binds */
	uint64_t		 execs;		/* programs started (exec-trail) */
	/* owned; when the host's PATH, a link or a #! interpreter of argv[0]
	 * leads outside what the profile shows: which, and the lines to add
	 * (resolve_hint), for the front end to say. NULL otherwise. */
	char			*exec_hint;
	/* The profile's secrets as this run read them (values, placeholders,
	 * hosts); owned. Filled before the clone: the record teaches the
	 * audit's redaction the values. */
	struct secrets		 secrets;

	/* private to spawn.c */
	struct loop		*loop;
	int			 chan;		/* serving: the channel to init */
	struct spawn		*spawn;		/* while run_sandbox runs */
	pid_t			 cmd_pid;	/* attached: the command's host pid */
};

void		 run_init(struct run *);
/* The user a sandbox runs as inside: this process's user's name (new
 * strings; "user" when it has none) and HOME (its password entry's home
 * when unset, "/" or relative), where the sandbox keeps the home. */
void		 run_who(char **home, char **user);
void		 run_release(struct run *);
/* Builds the sandbox, runs the command, waits, fills end/exit_code. Returns -1
 * with e set only when the sandbox could not be built (exit 125). */
int		 run_sandbox(struct run *, struct merr *);
const char	*end_reason_name(enum end_reason);
/* Serving: a message to init (MSG_SPAWN, MSG_KILL). -1 with e set. */
int		 run_serve_send(struct run *, const struct chan_msg *,
		    const void *payload, size_t, const int *fds, int nfds,
		    struct merr *);
/* Serving: end the sandbox (init is killed; run_sandbox returns). */
void		 run_serve_stop(struct run *);
/* Serving: freeze (true) or thaw every process of the sandbox with the
 * cgroup freezer; -1 with e saying why not (no freezer reachable). */
int		 run_serve_freeze(struct run *, bool frozen, struct merr *);
/* Serving: the sandbox's allowlist changed (proxy_allow): rule added or
 * removed. -1 with e saying why (an isolated sandbox has no proxy). */
/* Events the proxy's interception threads have sent, to on_event now. */
void		 run_serve_drain(struct run *);
int		 run_serve_net(struct run *, const char *rule, bool add,
		    struct merr *);
/* A question of on_net_ask answered: a session's command answers its
 * supervisor (how: a NETASK_* of chan.h; its message to the supervisor); a
 * serving sandbox lets the connection go on (allow) or refuses it, saying
 * who in the event (who: free text). -1 with e: no such question waits
 * (answered, timed out) or the supervisor is gone. */
int		 run_net_answer(struct run *, uint32_t id, int how, struct merr *);
int		 run_serve_answer(struct run *, uint32_t id, bool allow,
		    const char *who, struct merr *);
/* A command's own cgroup in the serving sandbox's (cg_child_make), named
 * after its tag: the descriptors init and the client get, their count (0:
 * none here; the command is metered as its process subtree) and their
 * controllers for cg_adopt in ctls. run_serve_group_done removes it when
 * the command has ended. */
int		 run_serve_group(struct run *, uint32_t tag, int *procs, int *dirs,
		    char *ctls, size_t ctlslen, struct merr *);
void		 run_serve_group_done(struct run *, uint32_t tag);
/* While a command runs (from a callback or a loop_ready handler): a signal
 * to it, as if moat had been sent that signal (SIGKILL ends it as killed);
 * keys to its terminal (pty_front); a new size of that terminal. */
void		 run_signal(struct run *, int sig);
ssize_t		 run_pty_write(struct run *, const void *, size_t);
void		 run_pty_resize(struct run *, const struct winsize *);
void		 run_emit(struct run *, enum run_event_kind, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
