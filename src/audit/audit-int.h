/* audit-int.h: the audit log's own structures, shared by audit.c (the
 * SQLite store) and audit-remote.c (a run recorded through a process that
 * keeps the log open). Internal to src/audit. */
#ifndef MOAT_AUDIT_INT_H
#define MOAT_AUDIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "base/sha256.h"
#include "base/util.h"

struct redact;
struct sqlite3_stmt;

struct audit_remote;

struct audit {
	struct sqlite3	*db;
	char		*path;		/* owned */
	int		 flags;
	struct redact	*redact;	/* owned; NULL when read-only */
	char		 boot_id[64];
	char		 host[256];
	int		 lockfd;	/* the database file, for flock while creating */
	struct audit_stmt {
		const char		*sql;	/* static: compared by address */
		struct sqlite3_stmt	*st;
	}		 cache[32];	/* statements run once per row or per run */
	size_t		 ncache;
	int		 wal_pages;	/* frames in the WAL after our last commit */
	/* A keeper's log: the checkpoint a run's end calls for waits until
	 * its answer has gone (audit_checkpoint_due). */
	bool		 ckpt_later;
	bool		 ckpt_due;
	char		*user;		/* owned; looked up once, not on every begin */
	unsigned long long self_start;	/* our /proc/self/stat start time */
	int		 spoolfd;	/* the completions spool (spool.h), or -1 */
	int		 recovered;	/* runs audit_open found interrupted */
	int64_t		*pending;	/* owned; rows whose spooled completion waits */
	size_t		 npending;
	/* Not NULL: no database here; its runs are recorded by the process
	 * at the other end (audit_open_remote). */
	struct audit_remote *remote;
};

struct audit_ev {
	const char	*kind;		/* static */
	double		 t;
	char		*name, *detail, *host, *addr, *verdict, *rule, *extra;	/* owned */
	int64_t		 count;
	int		 port;
	int64_t		 bytes_out, bytes_in;
};

/* When a stretch of a stream was written: its first byte's offset in the
 * stream, milliseconds after the run began. */
struct audit_tick {
	uint64_t	 off;
	uint64_t	 ms;
};

/* Ticks kept per part of a stream (head, tail); chunks closer than
 * AUDIT_TICK_MS to the last tick share it. */
#define AUDIT_TICKS_MAX	4096
#define AUDIT_TICK_MS	5

struct audit_out {
	uint64_t	 bytes;
	struct sha256	 sha;
	char		*head;		/* owned, head_max bytes */
	size_t		 nhead;
	char		*ring;		/* owned, tail_max bytes */
	size_t		 ring_pos;	/* next write position */
	uint64_t	 ring_fill;	/* bytes that went to the ring */
	struct audit_tick *th;		/* owned, the head's ticks, nth of them */
	size_t		 nth;
	struct audit_tick *tt;		/* owned, the tail's: a ring of */
	size_t		 tt0, ntt;	/* AUDIT_TICKS_MAX from tt0 */
};

struct audit_agg {
	char		*name;		/* owned; a syscall name */
	unsigned	 ndetails;
};

struct audit_run {
	struct audit	*a;
	int64_t		 rowid;
	char		*run_id;	/* owned */
	double		 started_at;
	double		 started_mono;	/* now_mono() at the begin: output's ticks */
	size_t		 head_max, tail_max;
	struct audit_out out[2];
	struct audit_ev	*ev;		/* owned, nev buffered */
	size_t		 nev;
	struct audit_sample *smp;	/* owned, nsmp buffered */
	size_t		 nsmp;
	double		 last_flush;	/* now_mono() */
	struct audit_agg *agg;		/* owned */
	size_t		 nagg;
	char		 begin_hash[SHA256_HEX_LEN];	/* as this moat began it */
	/* A remote run: its events and samples as requests not yet sent,
	 * and how many (the flush's count). */
	struct sbuf	*wire;		/* owned; NULL for a local run */
	size_t		 nwire;
	/* A remote begin sent whose answer is not read yet (rowid 0 until
	 * then; -1 when the keeper refused it). */
	bool		 pending;
	/* A run recorded for another process: its outputs' digests were
	 * computed there (out[].sha is not used). */
	bool		 sha_given;
	char		 sha_hex[2][SHA256_HEX_LEN];
};

/* audit.c's, for audit-remote.c: the same steps a local run takes. */
void	 audit_run_free(struct audit_run *);
/* A new run's output digests and the head and tail it keeps (s's, or the
 * default), and its clocks' start. */
void	 audit_run_output_init(struct audit_run *, const struct audit_start *);
/* The checkpoint a run's end called for on a log with ckpt_later, if any. */
void	 audit_checkpoint_due(struct audit *);

/* audit-remote.c's, for audit.c's entry points on a remote handle. */
struct audit_run *audit_remote_begin(struct audit *, const struct audit_start *,
	    bool later, struct merr *);
int	 audit_remote_begun(struct audit_run *, struct merr *);
int	 audit_remote_unstarted(struct audit *, const struct audit_start *,
	    const char *status, const char *why, struct merr *);
int	 audit_remote_append(struct audit_run *, const struct run_event *,
	    const struct audit_sample *, struct merr *);
int	 audit_remote_flush(struct audit_run *, struct merr *);
int	 audit_remote_end(struct audit_run *, const struct audit_end *, struct merr *);
void	 audit_remote_abandon(struct audit_run *);
void	 audit_remote_secret(struct audit *, const char *name, const char *value,
	    size_t len);
void	 audit_remote_free(struct audit_remote *);

#endif
