/* record.h: a run on the record. rec_run runs a struct run (a sandbox of its
 * own, or a command in a session) and records it: the command scored before
 * it starts and refused or confirmed as the profile says, its row begun in
 * the audit log before it starts, its events, samples and output as they
 * come, the row completed with the score raised by what was observed. moat
 * run, moat session exec, the TUI, wrap and mcp are front ends: each gives
 * its own hooks for what to show. Supervisor only. */
#ifndef MOAT_RECORD_H
#define MOAT_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "risk/risk.h"
#include "run-summary.h"
#include "sandbox/spawn.h"

struct rec_opts {
	const char	*source;	/* "cli", "tui", "wrap", "mcp" */
	const char	*client;	/* who asked, e.g. the MCP client's name; NULL */
	const char	*db;		/* NULL: $MOAT_DB or the default */
	bool		 unlogged_ok;	/* run even when the log cannot be written */
	const char	*profile_label;	/* the profile as recorded; NULL: its name */
	const char	*session;	/* the session's id, or NULL */
	double		 trace;		/* MOAT_TRACE_TIMING: the start; 0 = off */
	/* The script a shell reads on its stdin (curl ... | moat run -- sh),
	 * as much as was read before the start (fd_peek): scored with the
	 * command. NULL: none. */
	const char	*stdin_script;
	size_t		 stdin_len;
	bool		 stdin_cut;	/* there was more than was read */
	/* Rules loaded once by a front end that runs many commands (borrowed;
	 * loading them is most of a warm run's cost); NULL: loaded per run. */
	struct risk_rules *rules;
	/* The log, opened already by a front end that had time to spare
	 * before the run (borrowed: not closed here); NULL: opened per run. */
	struct audit	*audit;
	/* The profile's risk-confirm-above was passed: NULL when the user
	 * confirmed, else why not ("it was not confirmed"). A NULL hook:
	 * "there is no one to confirm it". */
	const char	*(*confirm)(const struct risk_result *, int above,
			    void *arg);
	/* What the front end shows; each may be NULL. They are called after
	 * the record has taken the event, sample or output. */
	void		 (*on_event)(struct run *, const struct run_event *,
			    void *arg);
	void		 (*on_sample)(struct run *, const struct meter_sample *,
			    void *arg);
	void		 (*on_output)(struct run *, int stream, const void *,
			    size_t, void *arg);
	/* In a session: the command has been started (a session's init
	 * forked it; exec may still fail, and is then the run's end). */
	void		 (*on_spawned)(struct run *, void *arg);
	/* The log failed while the command runs (said once); NULL: on
	 * stderr as "moat: audit log: MSG". */
	void		 (*on_warn)(const char *msg, void *arg);
	void		*arg;
};

/* What the record says of a run once rec_run returns. */
struct rec_out {
	struct risk_result	 risk;		/* the static score and its reasons */
	bool			 scored;
	bool			 refused_risk;	/* refused by the profile's risk
						   thresholds: print risk's reasons */
	int			 final_risk;	/* with what was observed; -1: none */
	struct run_summary	 sum;		/* what was refused, hit, changed */
	char			 limits_json[2048];	/* "" when it did not run */
	bool			 logged;	/* a row was begun in the log */
};

/* Runs r with profile p and records it; r's callbacks belong to the record
 * until it returns. Returns run_sandbox's answer: -1 with e set when the
 * sandbox could not be built or the run was refused (exit 125). out is
 * filled either way; rec_out_free releases it. */
int	rec_run(struct run *, struct profile *, const struct rec_opts *,
	    struct rec_out *, struct merr *);
void	rec_out_free(struct rec_out *);

#endif
