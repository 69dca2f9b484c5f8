/* wrap.h: moat wrap, a whole interactive CLI agent (Claude Code, Codex,
 * Gemini CLI, aider, ...) in the sandbox: its profile chosen by its name,
 * its install found as the shell finds it and bound read-only, the agent on
 * a terminal of the sandbox's devpts relayed raw, recorded as an audited run
 * with source "wrap", and one line at the end. Supervisor only. */
#ifndef MOAT_WRAP_H
#define MOAT_WRAP_H

#include <stdbool.h>
#include <stdio.h>

#include "base/error.h"
#include "profile/profile.h"
#include "sandbox/spawn.h"

struct wrap_opts {
	const char	*profile;	/* -p; NULL: chosen by the agent's name */
	const char	*workspace;	/* -w; NULL: the current directory */
	bool		 review;	/* the workspace on an overlay */
	const char	*db;		/* --db; NULL: $MOAT_DB or the default */
	bool		 quiet;		/* no line at the end */
	int		 verbose;
	char		**argv;		/* the agent and its arguments */
};

/* The profile moat wrap uses for the agent named argv0 (its last path
 * component): the first profile file on the search path whose own lines
 * say "agent-command = NAME", else "agent". Writes the name into buf. */
void	wrap_profile_for(const char *argv0, char *buf, size_t len);
/* Finds the agent on PATH (links, #! interpreter) and adds what the
 * profile would hide as ro-bind lines of p with the origin "moat wrap".
 * Returns how many were added, or -1 with e set when PATH has no such
 * command (out gets the steps, each one line, for "profiles show"; may
 * be NULL). */
int	wrap_bind_install(struct profile *, const char *agent, const char *ws,
	    FILE *out, struct merr *);
/* Runs the agent; r is the caller's (run_init'ed), filled in here, and
 * kept for what comes after (review). Returns the exit status. */
int	wrap_run(const struct wrap_opts *, struct profile *, struct run *);

#endif
