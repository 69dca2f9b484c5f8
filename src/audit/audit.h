/* audit.h: the audit log, one SQLite file (WAL) that records every run before
 * it starts and completes it after, with events, samples, captured output and
 * a hash chain over completed runs. Schema and semantics: moat-audit(5).
 * Supervisor and front ends; never the sandbox. */
#ifndef MOAT_AUDIT_H
#define MOAT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct audit;
struct audit_run;
struct run_event;
struct sqlite3;

#define AUDIT_SCHEMA_VERSION	6
#define AUDIT_OUTPUT_DEFAULT	(64 * 1024)	/* head and tail kept per stream */
#define AUDIT_GENESIS		"0000000000000000000000000000000000000000000000000000000000000000"

enum audit_status {
	AUDIT_RUNNING,
	AUDIT_DONE,		/* the command ran (whatever its exit status) */
	AUDIT_REFUSED,		/* refused before it started (risk) */
	AUDIT_INTERRUPTED,	/* its moat died; marked by a later moat */
	AUDIT_SETUP_FAILED,	/* the sandbox could not be built (exit 125) */
};

/* audit_open flags */
#define AUDIT_READONLY	0x1	/* moat audit list/show/verify: no migration, no recovery */
#define AUDIT_NO_RECOVER 0x2	/* do not mark dead owners' rows interrupted */

/* What is known before the command starts. Strings are borrowed. */
struct audit_start {
	const char	*run_id;	/* struct run's id; NULL = generate one */
	const char	*source;	/* "cli", "tui", "wrap", "mcp" */
	const char	*client;	/* e.g. the MCP client's name; NULL */
	const char	*session;	/* the session's id (moat session exec); NULL */
	const char	*profile;	/* profile name */
	const char	*profile_text;	/* resolved profile text, hashed (sha256); NULL */
	const char	*net_mode;	/* "isolated", "restricted", "proxied" */
	const char	*workspace;
	const char	*cwd;
	char *const	*argv;		/* NULL-terminated; redacted before storing */
	int		 risk;		/* static score 0-100, -1 = not scored */
	const char	*risk_reasons;	/* JSON array text; NULL = [] */
	size_t		 output_head;	/* bytes kept per stream: 0 = 64 KiB, */
	size_t		 output_tail;	/* AUDIT_OUTPUT_NONE = none */
	/* Overrides for tests and importers; 0 = this process, now. */
	pid_t		 owner_pid;
	unsigned long long owner_start;	/* /proc/PID/stat field 22 */
	double		 started_at;	/* Unix seconds */
};
#define AUDIT_OUTPUT_NONE	((size_t)-1)	/* keep no head (or tail) */

/* What is known after. Strings are borrowed. */
struct audit_end {
	enum audit_status status;	/* AUDIT_DONE or AUDIT_SETUP_FAILED */
	const char	*end_reason;	/* end_reason_name(): "exited", "timeout", ... */
	int		 exit_code;	/* what moat exits with */
	int		 signal;	/* the signal that killed the command, or 0 */
	double		 cpu_user, cpu_sys;	/* seconds; < 0 = unknown */
	int64_t		 peak_memory;	/* bytes; < 0 = unknown */
	int64_t		 peak_pids;	/* < 0 = unknown */
	const char	*limits;	/* JSON object: what was enforced and how; NULL */
	int		 risk;		/* final score, -1 = not scored */
	const char	*risk_reasons;	/* JSON array text; NULL = [] */
	double		 ended_at;	/* Unix seconds; 0 = now */
};

/* One meter sample; NAN (or < 0 for the integers) = not measured here. */
struct audit_sample {
	double		 t;		/* seconds since the run started */
	double		 cpu_pct;	/* 100 = one core */
	int64_t		 mem_bytes;
	int64_t		 pids;
	int64_t		 io_read, io_write;	/* cumulative bytes */
};

/* The default path: $MOAT_DB, else $XDG_DATA_HOME/moat/audit.db. */
const char	*audit_default_path(char *, size_t);
/* path NULL = the default. Creates the file (0600) and its directory (0700),
 * migrates the schema, and marks the rows of dead owners interrupted. A
 * read-only or full database fails here with a message that says so. */
struct audit	*audit_open(const char *path, int flags, struct merr *);
void		 audit_close(struct audit *);
/* A run's secret: its value is redacted from everything stored through
 * this handle from now on, as [REDACTED:secret-NAME]. */
void		 audit_redact_secret(struct audit *, const char *name,
		    const char *value, size_t len);
const char	*audit_path(const struct audit *);
struct sqlite3	*audit_sqlite(struct audit *);	/* for moat audit and tests */
/* Marks runs whose owner is gone interrupted and chains them; returns how
 * many, or -1. A running row that names no owner, or whose start fields no
 * longer give its begin hash, is left alone: moat did not begin it as it is. */
int		 audit_recover(struct audit *, struct merr *);
/* How many runs audit_open marked interrupted: their owners were killed,
 * and may have left cgroups behind (cg_sweep). */
int		 audit_recovered(const struct audit *);

/* Inserts the "running" row in one transaction, before the command starts. */
struct audit_run *audit_run_begin(struct audit *, const struct audit_start *, struct merr *);
/* The same begin, where another process keeps the log (audit_open_remote):
 * the request is sent and its answer is not waited for, so the caller can
 * send what comes next on the same link (a session's command, which the
 * supervisor takes in order, after the row); audit_run_begun then reads the
 * answer. On a log of this process's it is audit_run_begin, and
 * audit_run_begun has nothing left to do. */
struct audit_run *audit_run_begin_sent(struct audit *, const struct audit_start *,
		    struct merr *);
/* -1 with e set when the keeper did not begin the row: *arp is freed and
 * set to NULL. Every other call on a run settles its begin first. */
int		 audit_run_begun(struct audit_run **arp, struct merr *);
/* Its begin was sent to a keeper and not answered yet (audit_run_begun
 * has something to read). */
bool		 audit_run_pending(const struct audit_run *);
/* Records a run_event (spawn.h). Denied syscalls are aggregated into counts;
 * events and samples are written in batches (at most ~1 s late). */
int		 audit_run_event(struct audit_run *, const struct run_event *, struct merr *);
int		 audit_run_sample(struct audit_run *, const struct audit_sample *, struct merr *);
/* stream 1 = stdout, 2 = stderr: counts, sha256, head, tail. No I/O. */
void		 audit_output_feed(struct audit_run *, int stream, const void *, size_t);
int		 audit_run_flush(struct audit_run *, struct merr *);
/* Completes the row, writes buffered events, samples and output, chains it;
 * one transaction. Frees ar whatever happens. */
int		 audit_run_end(struct audit_run *, const struct audit_end *, struct merr *);
/* Prepares the statements audit_run_end will run, where the log is local
 * (a one-shot moat's connection is new: each is parsed at its first use,
 * some 0.2 ms in all): called while the command runs, so that its end
 * does not wait for that. Failures are left for audit_run_end to meet. */
void		 audit_run_warm(struct audit_run *);
/* Drops a run that never got to begin its command without completing it:
 * frees ar; the row stays "running" until audit_recover marks it. Use
 * audit_run_end with AUDIT_SETUP_FAILED instead where possible. */
void		 audit_run_abandon(struct audit_run *);
const char	*audit_run_id(const struct audit_run *);
int64_t		 audit_run_rowid(const struct audit_run *);

/* A run refused before it started, or whose sandbox could not be built
 * before its row was begun: one complete, chained row (status refused or
 * setup-failed, why as its end reason, exit 125). */
int		 audit_run_refused(struct audit *, const struct audit_start *,
		    const char *why, struct merr *);
int		 audit_run_failed(struct audit *, const struct audit_start *,
		    const char *why, struct merr *);

/* A run recorded by another process that keeps the log open: a session's
 * supervisor records its clients' commands over its one connection, so that
 * a `moat session exec` opens no database of its own. The client side is an
 * audit handle like any other (audit_run_begin, _event, _sample,
 * _output_feed, _end, _refused, _failed work on it); each request goes
 * through xfer, which delivers req (len bytes) to the keeper and, for
 * AUDIT_XFER_ASK, returns its answer (malloc'd *rep of *rlen bytes), or -1
 * with e set (the keeper's refusal, or the link's failure); an
 * AUDIT_XFER_ASK_LATER request's answer is read by the next call, one of
 * AUDIT_XFER_ANSWER (req NULL), with anything else sent in between. Events and
 * samples go in batches without a reply; the output's head, tail and
 * digests are kept here and sent with the completion. The run's owner in
 * the log is the client (its pid, from the link's credentials). A secret
 * given to audit_redact_secret must be one the keeper was given too
 * (audit_keeper_secret): the begin names them, and a keeper that does not
 * know one refuses it rather than store its value. xfer returns -1 for a
 * refusal and AUDIT_XFER_GONE when the keeper is gone: a completion (or a
 * refused or failed run) is then written here, on a connection of its own,
 * so that a command whose session was killed under it is still recorded. */
#define AUDIT_XFER_GONE	(-2)	/* xfer: the keeper is gone (the link broke) */
enum audit_xfer_mode {
	AUDIT_XFER_TELL,	/* no answer */
	AUDIT_XFER_ASK,		/* its answer, waited for */
	AUDIT_XFER_ASK_LATER,	/* an answer, read by AUDIT_XFER_ANSWER */
	AUDIT_XFER_ANSWER,	/* the answer to the last ASK_LATER */
};
typedef int	(*audit_xfer_fn)(void *arg, const void *req, size_t len,
		    enum audit_xfer_mode, char **rep, size_t *rlen, struct merr *e);
/* path: the log the keeper opens (made absolute here); NULL = the default. */
struct audit	*audit_open_remote(const char *path, audit_xfer_fn, void *arg,
		    struct merr *);

/* The keeper's side. One keeper per process: the logs it opened, each
 * once, kept open until audit_keeper_free; a guest per client, whose open
 * runs are dropped with it (their rows stay running until a later moat
 * finds the client gone and marks them interrupted). */
struct audit_keeper;
struct audit_guest;
struct audit_keeper *audit_keeper_new(void);
/* A secret redacted from everything the keeper stores, in every log. */
void		 audit_keeper_secret(struct audit_keeper *, const char *name,
		    const char *value, size_t len);
void		 audit_keeper_free(struct audit_keeper *);
/* What a moat does when it opens the log, done again on the logs kept open
 * once a run has ended or been dropped since the last call (off the
 * client's path: after its answer): runs whose owner is gone are marked
 * interrupted (audit_recover), a client killed mid-command's among them;
 * and the WAL checkpoint a run's end called for. */
void		 audit_keeper_tidy(struct audit_keeper *);
/* The logs' caches given back, and the heap trimmed: for a keeper that has
 * been idle a while (its connections stay open). */
void		 audit_keeper_release(struct audit_keeper *);
/* pid: the client's, from its socket's credentials (the run's owner). */
struct audit_guest *audit_guest_new(struct audit_keeper *, pid_t pid);
void		 audit_guest_free(struct audit_guest *);
/* Takes one request. 1: *rep (malloc'd, *rlen bytes) is the answer to
 * send; 0: no answer is wanted; -1: e says why the request was refused
 * (malformed, or the log's failure): the client gets that as an error. */
int		 audit_guest_serve(struct audit_guest *, const void *req, size_t len,
		    char **rep, size_t *rlen, struct merr *e);

/* The chain, the begin hashes of running rows and the schema. Writes
 * nothing. verify: 0 valid, 1 broken (msg says where and how), -1 error. */
struct audit_verify {
	int64_t		 rows;		/* chained rows checked */
	int64_t		 bad_id;	/* runs.id of the first bad row, 0 = none */
	char		 what[16];	/* "edited", "inserted", "deleted", "forged", "damaged",
					 * "schema" */
	char		 msg[512];
	char		 head[65];	/* hash of the last row when valid */
	int64_t		 dead;		/* running rows whose moat is gone (left as
					 * they are: the next moat run closes them) */
	int64_t		 dead_id;	/* the first of them */
};
int		 audit_verify(struct audit *, struct audit_verify *, struct merr *);
/* Deletes completed runs that ended before `before` (ISO-8601 UTC) and that
 * come first in the chain; records a checkpoint. Returns rows deleted or -1. */
int64_t		 audit_prune(struct audit *, const char *before, struct merr *);

/* A run found by its integer id or a unique prefix of its run id. */
struct audit_run_info {
	int64_t		 id;
	char		 run_id[64];
	char		*workspace;	/* owned; NULL when it had none */
	char		*profile;	/* owned; the name or path it ran with */
	double		 started_at;	/* Unix seconds */
	char		 status[16];
};
int		 audit_run_find(struct audit *, const char *, struct audit_run_info *,
		    struct merr *);
void		 audit_run_info_release(struct audit_run_info *);

const char	*audit_status_name(enum audit_status);
/* "2026-11-25T13:46:14.123Z" */
void		 audit_iso_time(double, char *, size_t);
/* ISO date/time (UTC: "2026-11-25", "2026-11-25 13:00", "...T13:00:00Z") or
 * relative to now ("90s", "30m", "2h", "1d", "2w"); -1 when unparsable. */
int		 audit_parse_time(const char *, double now, double *);
/* JSON string literal of s, quotes included; owned. */
char		*audit_json_str(const char *);

/* Migrations: schema[v] takes version v to v+1 (audit-schema.c). */
extern const char *const audit_schema[];
extern const size_t	 audit_schema_n;

#endif
