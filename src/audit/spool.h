/* spool.h: completions the audit log could not take (a full disk, a lock
 * held past every retry), kept in a side file next to the log and written
 * into it by the next moat that opens it. The file has room set aside in
 * advance, so that a completion still fits when the disk has none left.
 * Internal to src/audit. */
#ifndef MOAT_AUDIT_SPOOL_H
#define MOAT_AUDIT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAGIC	"moat-spool-1"
#define SPOOL_RESERVE	(256 * 1024)	/* bytes set aside past the end */
#define SPOOL_LINE_MAX	(64 * 1024)	/* a longer line is not moat's */

/* One completion: what audit_run_end would have written. Strings point into
 * the line it was parsed from (or the caller's storage); numbers < 0 and
 * NULL strings are "not measured" (NULL in the log). */
struct spool_rec {
	int64_t		 rowid;
	const char	*run_id;
	const char	*begin_hash;	/* 64 hex: the row's as its moat began it */
	const char	*status;	/* "done" or "setup-failed" */
	const char	*ended_at;	/* ISO 8601, as the log writes it */
	double		 duration;
	const char	*end_reason;
	int		 exit_code;
	int		 signal;	/* 0 = none */
	double		 cpu_user, cpu_sys;
	int64_t		 peak_memory, peak_pids;
	const char	*limits;	/* JSON text or NULL */
	int		 risk;		/* -1 = not scored */
	const char	*risk_reasons;	/* JSON text, redacted */
	int64_t		 out_bytes[2];
	const char	*out_sha[2];	/* 64 hex each */
};

/* One line, "\n" included; malloc'd. Tabs, newlines and backslashes in the
 * strings are escaped. */
char	*spool_format(const struct spool_rec *, size_t *len);
/* Parses line (one line without its "\n"; changed in place: unescaped and
 * split) into r. 0, or -1 with *why set: the line is not a record. */
int	 spool_parse(char *line, struct spool_rec *r, const char **why);

/* The file path+"-spool": opened (created 0600, never through a symbolic
 * link, ours or ignored) with room set aside. -1 when there is none. */
int	 spool_open(const char *db_path);
/* Appends one line in one write under the file's lock. 0, or -1 with errno. */
int	 spool_append(int fd, const char *line, size_t len);

#endif
