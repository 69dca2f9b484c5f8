/* tui-shell.h: the shell behind the TUI and its plain mode. One session
 * (session_start) holds the sandbox; each command line runs in it as
 * "sh -c LINE", recorded with source "tui" (rec_run); cd, export and
 * unset are built in and carried to the next command (its working
 * directory and environment). Front end (TUI). */
#ifndef MOAT_TUI_SHELL_H
#define MOAT_TUI_SHELL_H

#include <stdbool.h>

#include "base/error.h"
#include "base/util.h"
#include "record/record.h"
#include "session/session.h"

struct profile;
struct run;

struct tshell {
	struct profile		*profile;	/* owned */
	char			*profile_arg;	/* owned; as the user named it */
	char			*workspace;	/* owned; -w as given, or NULL */
	struct session_info	 info;		/* of the session, at its start */
	char			 id[SESSION_ID_MAX];
	bool			 started;	/* ours to close */
	char			*cwd;		/* owned; inside */
	char			*oldpwd;	/* owned; cd - */
	struct strv		 env;		/* NAME=VALUE, or NAME (passed) */
	const char		*db;		/* --db; NULL: the default */
	bool			 unlogged;
	unsigned		 ncommands;
};

/* Loads the profile and starts the session (its supervisor detached); -1
 * with e set, nothing left running. */
int	tshell_open(struct tshell *, const char *profile, const char *workspace,
	    struct merr *);
/* Ends the session (its sandbox and everything in it) and frees. */
void	tshell_close(struct tshell *);
/* A new session with another profile in place of this one; on -1 the old
 * one goes on. */
int	tshell_switch(struct tshell *, const char *profile, struct merr *);
/* Attaches to a running session (an id or a name) in place of this one,
 * which ends if the shell started it; the one attached to is not ended
 * when the shell leaves. Refused when its profile changed since it
 * started. On -1 the old one goes on. */
int	tshell_attach(struct tshell *, const char *which, struct merr *);
/* cd, export, unset: 1 when line was one (msg: what to show, malloc'd, or
 * NULL; err: it is an error), 0 when it is for the sandbox's shell. */
int	tshell_builtin(struct tshell *, const char *line, char **msg, bool *err);
/* Runs line in the session, recorded: r was run_init'd and may carry the
 * front end's terminal settings (pty_front, loop_ready...); ro its hooks.
 * Returns rec_run's answer. */
int	tshell_exec(struct tshell *, const char *line, struct run *,
	    struct rec_opts *, struct rec_out *, struct merr *);
/* The history file, $XDG_STATE_HOME/moat/history, its directory made
 * (0700); NULL when it cannot be. */
const char *tshell_history(char *buf, size_t len);
#endif
