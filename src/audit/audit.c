/* audit.c: the audit log. Opens (and creates, migrates, recovers) the SQLite
 * file, writes a run's row before its command starts and completes it after,
 * buffers events and samples, accumulates output digests, and keeps the hash
 * chain over completed rows (verify, prune). Supervisor and front ends; the
 * sandbox never touches the database.
 *
 * The chain orders runs by completion: a row gets its sequence number, its
 * predecessor's hash and its own hash in the transaction that completes it
 * (BEGIN IMMEDIATE, so concurrent moats serialise there and never fork the
 * chain). Running rows are outside the chain until then. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit-int.h"
#include "redact.h"
#include "spool.h"
#include "base/sha256.h"
#include "base/event.h"
#include "base/util.h"

#define AUDIT_BUSY_MS		5000
#define AUDIT_FLUSH_EVENTS	256	/* buffered events or samples before a write */
#define AUDIT_FLUSH_SECONDS	1.0
#define AUDIT_MAX_DETAILS	32	/* distinct argument summaries per syscall */
#define SPOOL_READ_MAX		(16 << 20)	/* of the spool read at open */

/* The columns a run's hash covers, in order: everything but hash itself and
 * the generated risk column. Changing this list breaks every existing chain:
 * it is part of the schema (moat-audit(5)). Columns added by a later
 * migration go at the end and are listed in audit_hash_late: they are hashed
 * only when not NULL, so the rows that predate them keep their hashes, and
 * setting or clearing one on a chained row still changes its hash. */
#define AUDIT_HASH_COLS \
	"id, run_id, seq, prev_hash, children_hash, status, source, client, user, " \
	"uid, host, profile, profile_hash, net_mode, workspace, cwd, argv, command, " \
	"risk_static, risk_static_reasons, started_at, ended_at, duration, " \
	"end_reason, exit_code, signal, cpu_user, cpu_sys, peak_memory, peak_pids, " \
	"limits, risk_final, risk_final_reasons, stdout_bytes, stdout_sha256, " \
	"stderr_bytes, stderr_sha256, owner_pid, owner_start, boot_id, session, " \
	"begin_hash"

static const char *const audit_hash_late[] = { "session", "begin_hash" };

/* What a row holds when its moat begins it, in order: the begin hash covers
 * these. A moat keeps its own copy and, at completion, compares; recovery
 * and verify compare with the row's begin_hash. Part of the schema too. */
#define AUDIT_BEGIN_COLS \
	"id, run_id, source, client, user, uid, host, profile, profile_hash, " \
	"net_mode, workspace, cwd, argv, command, risk_static, risk_static_reasons, " \
	"started_at, owner_pid, owner_start, boot_id, session"

const char *
audit_status_name(enum audit_status s)
{
	switch (s) {
	case AUDIT_RUNNING:	return ("running");
	case AUDIT_DONE:	return ("done");
	case AUDIT_REFUSED:	return ("refused");
	case AUDIT_INTERRUPTED:	return ("interrupted");
	case AUDIT_SETUP_FAILED: return ("setup-failed");
	}
	return ("done");
}

static double
audit_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

void
audit_iso_time(double t, char *buf, size_t len)
{
	time_t		sec = (time_t)floor(t);
	int		ms = (int)((t - (double)sec) * 1000);
	struct tm	tm;

	if (ms > 999)
		ms = 999;
	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

int
audit_parse_time(const char *s, double now, double *out)
{
	struct tm	 tm;
	char		*end;
	double		 v, ms = 0;
	int		 n = 0;

	if (*s == '\0')
		return (-1);
	/* Relative: a number and a unit, meaning that long ago. */
	v = strtod(s, &end);
	if (end != s && *end != '\0' && strchr("smhdw", *end) != NULL && end[1] == '\0' &&
	    v >= 0 && strchr(s, '-') == NULL) {
		static const struct { char u; double mul; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
		};
		for (size_t i = 0; i < nitems(units); i++)
			if (units[i].u == *end)
				*out = now - v * units[i].mul;
		return (0);
	}
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3)
		return (-1);
	s += n;
	if (*s == 'T' || *s == ' ') {
		s++;
		n = 0;
		if (sscanf(s, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2)
			return (-1);
		s += n;
		if (*s == ':') {
			s++;
			n = 0;
			if (sscanf(s, "%2d%n", &tm.tm_sec, &n) != 1)
				return (-1);
			s += n;
			if (*s == '.') {
				ms = strtod(s, &end);
				s = end;
			}
		}
	}
	if (*s == 'Z')
		s++;
	if (*s != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return (-1);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (double)timegm(&tm) + ms;
	return (0);
}

char *
audit_json_str(const char *s)
{
	size_t		 n = 2;
	char		*out, *p;

	if (s == NULL)
		return (xstrdup("null"));
	for (const char *q = s; *q != '\0'; q++)
		n += (unsigned char)*q < 0x20 || *q == '"' || *q == '\\' ? 6 : 1;
	p = out = xmalloc(n + 1);
	*p++ = '"';
	for (const unsigned char *q = (const unsigned char *)s; *q != '\0'; q++) {
		if (*q == '"' || *q == '\\') {
			*p++ = '\\';
			*p++ = (char)*q;
		} else if (*q == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (*q == '\t') {
			*p++ = '\\';
			*p++ = 't';
		} else if (*q < 0x20)
			p += sprintf(p, "\\u%04x", *q);
		else
			*p++ = (char)*q;
	}
	*p++ = '"';
	*p = '\0';
	return (out);
}

const char *
audit_default_path(char *buf, size_t len)
{
	const char	*env = getenv("MOAT_DB");
	char		 d[4096];

	if (env != NULL && *env != '\0') {
		snprintf(buf, len, "%s", env);
		return (buf);
	}
	snprintf(buf, len, "%s/moat/audit.db",
	    xdg_dir("XDG_DATA_HOME", ".local/share", d, sizeof d));
	return (buf);
}

/* Fills e from the connection's last error, with the cause a user can act on. */
static int
audit_err(struct audit *a, struct merr *e, const char *what)
{
	int		 rc = sqlite3_extended_errcode(a->db);
	const char	*hint = "";

	switch (rc & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		hint = " (the audit log is read-only or not writable: fix its permissions, point "
		    "--db or MOAT_DB elsewhere, or allow unlogged runs)";
		break;
	case SQLITE_FULL:
		hint = " (the disk holding the audit log is full: free space, prune "
		    "with \"moat audit prune\", or allow unlogged runs)";
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		hint = " (another moat held the log locked for more than 5 s)";
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		hint = " (the file is damaged or not a moat audit log)";
		break;
	}
	return (merr_set(e, "audit log %s: %s: %s%s", a->path, what,
	    sqlite3_errmsg(a->db), hint));
}

static int
audit_exec(struct audit *a, const char *sql, struct merr *e)
{
	if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return (audit_err(a, e, sql[0] == 'B' || sql[0] == 'C' ? sql : "write"));
	return (0);
}

static void
audit_rollback(struct audit *a)
{
	if (!sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
}

static struct sqlite3_stmt *
audit_prepare(struct audit *a, const char *sql, struct merr *e)
{
	struct sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
		audit_err(a, e, "prepare");
		return (NULL);
	}
	return (st);
}

static void
audit_finalize(struct sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}
#define autostmt	__attribute__((cleanup(audit_finalize)))

/* A prepared statement kept for the connection's lifetime: preparing costs
 * more than running most of these (verify runs them for every row). sql
 * must be a string literal. Released with autoreset, never finalized. */
static struct sqlite3_stmt *
audit_cached(struct audit *a, const char *sql, struct merr *e)
{
	struct sqlite3_stmt	*st = NULL;

	for (size_t i = 0; i < a->ncache; i++)
		if (a->cache[i].sql == sql) {
			sqlite3_reset(a->cache[i].st);
			sqlite3_clear_bindings(a->cache[i].st);
			return (a->cache[i].st);
		}
	if (sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		audit_err(a, e, "prepare");
		return (NULL);
	}
	if (a->ncache < nitems(a->cache)) {
		a->cache[a->ncache].sql = sql;
		a->cache[a->ncache++].st = st;
	}
	/* else: a programming error (cache too small); it leaks one statement
	 * per call until close, which finalizes only cached ones. */
	return (st);
}

/* Statements a run's completion prepares, named here once: audit_cached
 * knows a statement by its text's address, and audit_run_warm prepares
 * them ahead of the completion. */
static const char audit_sql_begin[] = "BEGIN IMMEDIATE";
static const char audit_sql_commit[] = "COMMIT";
static const char audit_sql_events[] = "SELECT id, t, kind, name, detail, count, "
    "host, port, addr, bytes_out, bytes_in, verdict, rule, extra FROM events "
    "WHERE run = ?1 ORDER BY id";
static const char audit_sql_samples[] = "SELECT t, cpu_pct, mem_bytes, pids, "
    "io_read, io_write FROM samples WHERE run = ?1 ORDER BY rowid";
static const char audit_sql_outputs[] = "SELECT stream, head, tail FROM outputs "
    "WHERE run = ?1 ORDER BY stream";
static const char audit_sql_timing[] = "SELECT stream, timing FROM outputs "
    "WHERE run = ?1 AND timing IS NOT NULL ORDER BY stream";
static const char audit_sql_row[] = "SELECT " AUDIT_HASH_COLS " FROM runs "
    "WHERE id = ?1";
static const char audit_sql_begun[] = "SELECT " AUDIT_BEGIN_COLS " FROM runs "
    "WHERE id = ?1";
static const char audit_sql_meta_get[] = "SELECT value FROM meta WHERE key = ?1";
static const char audit_sql_meta_set[] = "INSERT INTO meta (key, value) "
    "VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char audit_sql_chain[] = "UPDATE runs SET seq = ?1, prev_hash = ?2, "
    "children_hash = ?3 WHERE id = ?4";
static const char audit_sql_hash[] = "UPDATE runs SET hash = ?1 WHERE id = ?2";
static const char audit_sql_begin_hash[] = "UPDATE runs SET begin_hash = ?1 "
    "WHERE id = ?2";
static const char audit_sql_output[] = "INSERT INTO outputs (run, stream, head, "
    "tail, timing) VALUES (?1, ?2, ?3, ?4, ?5)";

/* BEGIN IMMEDIATE or COMMIT, prepared once per connection (sqlite3_exec
 * parses its text at every call). */
static int
audit_tx(struct audit *a, const char *sql, struct merr *e)
{
	struct sqlite3_stmt	*st;
	int			 rc;

	if ((st = audit_cached(a, sql, e)) == NULL)
		return (-1);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return (audit_err(a, e, sql));
	return (0);
}

static void
audit_reset(struct sqlite3_stmt **st)
{
	if (*st != NULL)
		sqlite3_reset(*st);	/* ends its read; keeps it prepared */
}
#define autoreset	__attribute__((cleanup(audit_reset)))

static void
bind_text(struct sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Integers below zero mean "unknown" in the API; the log stores NULL. */
static void
bind_int_opt(struct sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

static void
bind_real_opt(struct sqlite3_stmt *st, int i, double v)
{
	if (isnan(v) || v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, v);
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
static int
audit_step_done(struct audit *a, struct sqlite3_stmt *st, struct merr *e, const char *what)
{
	int	rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		return (audit_err(a, e, what));
	return (0);
}

static void
audit_read_boot_id(char *buf, size_t len)
{
	autofree char	*s = NULL;
	struct merr	 e;

	snprintf(buf, len, "unknown");
	if (read_file("/proc/sys/kernel/random/boot_id", &s, NULL, &e) == 0) {
		s[strcspn(s, "\n")] = '\0';
		snprintf(buf, len, "%s", s);
	}
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks after
 * boot. With the boot id it tells a live owner from a reused pid. */
static unsigned long long
audit_proc_start(pid_t pid)
{
	char			 path[64];
	autofree char		*s = NULL;
	struct merr		 e;
	char			*p;
	unsigned long long	 v = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_file(path, &s, NULL, &e) == -1 || (p = strrchr(s, ')')) == NULL)
		return (0);
	/* After ")": field 3 (state) onwards; skip 19 fields to reach 22. */
	p++;
	for (int f = 3; f < 22 && p != NULL; f++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		v = strtoull(p + 1, NULL, 10);
	return (v);
}

static int
audit_migrate(struct audit *a, struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL;
	int64_t		 v;

	if ((st = audit_prepare(a, "PRAGMA user_version", e)) == NULL)
		return (-1);
	if (sqlite3_step(st) != SQLITE_ROW)
		return (audit_err(a, e, "read schema version"));
	v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (v > (int64_t)audit_schema_n)
		return (merr_set(e, "audit log %s: schema version %lld is newer than this "
		    "moat understands (%zu): upgrade moat", a->path, (long long)v,
		    audit_schema_n));
	if (v == (int64_t)audit_schema_n)
		return (0);
	if (a->flags & AUDIT_READONLY)
		return (merr_set(e, "audit log %s: schema version %lld, this moat needs %zu; "
		    "open it once read-write (any moat run) to migrate", a->path,
		    (long long)v, audit_schema_n));
	if (audit_tx(a, audit_sql_begin, e) == -1)
		return (-1);
	/* Another moat may have migrated while this one waited for the lock. */
	if (sqlite3_step(st) != SQLITE_ROW) {
		audit_rollback(a);
		return (audit_err(a, e, "read schema version"));
	}
	v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (; v < (int64_t)audit_schema_n; v++) {
		char	sql[64];

		if (sqlite3_exec(a->db, audit_schema[v], NULL, NULL, NULL) != SQLITE_OK) {
			audit_err(a, e, "migrate schema");
			audit_rollback(a);
			return (-1);
		}
		snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)v + 1);
		if (audit_exec(a, sql, e) == -1) {
			audit_rollback(a);
			return (-1);
		}
	}
	if (audit_tx(a, audit_sql_commit, e) == -1) {
		audit_rollback(a);
		return (-1);
	}
	/* The WAL header must reach the main file before the lock is released. */
	if (audit_exec(a, "PRAGMA wal_checkpoint(TRUNCATE)", e) == -1)
		return (-1);
	return (0);
}



static int
audit_wal_hook(void *arg, struct sqlite3 *db, const char *name, int pages)
{
	struct audit	*a = arg;

	a->wal_pages = pages;
	return (SQLITE_OK);
}

/* A long-lived moat (TUI, mcp, a session) completes many runs on one
 * connection: keep its WAL bounded, checkpointing after a run's end (never
 * in a begin) once it passes SQLite's usual threshold. */
#define AUDIT_CHECKPOINT_PAGES	1000

/* A one-shot moat leaves its frames in the WAL and the next moat reads
 * them back when it opens the log (its shared-memory index starts empty:
 * ~3 us a frame, and a run writes ~15). Copying the WAL into the file at
 * every close would cost two fsyncs after each command, and one more in
 * the next begin, which writes a new WAL header; a PASSIVE checkpoint
 * alone would not do, since the next moat, rebuilding the index, cannot
 * know the frames were copied and never rewinds the WAL. So the WAL is
 * truncated at close only once it holds this many frames: about one run
 * in four pays ~1 ms, the others nothing, and opening reads at most
 * ~80 frames. */
#define AUDIT_TRUNCATE_PAGES	64
#define AUDIT_END_TRIES		4	/* a completion's tries (busy, full) */
#define AUDIT_CHECK_EVERY	86400.0	/* seconds between checks of a writer's log */

static void
audit_after_end(struct audit *a)
{
	if (a->wal_pages < AUDIT_CHECKPOINT_PAGES)
		return;
	a->ckpt_due = true;
	/* A session's supervisor answers its client first: the copy and its
	 * two fsyncs are no part of the command's end. */
	if (!a->ckpt_later)
		audit_checkpoint_due(a);
}

void
audit_checkpoint_due(struct audit *a)
{
	if (!a->ckpt_due)
		return;
	a->ckpt_due = false;
	sqlite3_wal_checkpoint_v2(a->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* Writes an empty SQLite database in WAL mode (its header page) at path. */
static int
audit_init_file(const char *path)
{
	sqlite3	*db = NULL;
	int	 rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	sqlite3_close(db);
	if (rc != SQLITE_OK) {
		errno = EIO;
		return (-1);
	}
	return (0);
}

/* The log's file, locked with flock(2). A new one is made under a
 * temporary name, locked, then linked into place, so that no other moat
 * ever sees it empty and unlocked: an empty file at the path is then
 * never one being created, but a log that lost its contents. */
static int
audit_open_locked(const char *path, bool *created)
{
	autofree char	*tmp = xprintf("%s.new-%d", path, (int)getpid());
	int		 fd;

	*created = false;
	for (int tries = 0; tries < 3; tries++) {
		if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) != -1 ||
		    errno != ENOENT)
			break;
		unlink(tmp);
		if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0600)) == -1)
			return (-1);
		while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
			;
		/* A database header before it has the log's name: a moat killed
		 * between the link and its first write must not leave an empty
		 * file there, which the next moat would take for a lost log. */
		if (audit_init_file(tmp) == -1) {
			unlink(tmp);
			close(fd);
			return (-1);
		}
		if (link(tmp, path) == 0) {
			unlink(tmp);
			*created = true;
			return (fd);
		}
		unlink(tmp);
		close(fd);
		fd = -1;
		if (errno != EEXIST)
			return (-1);
	}
	if (fd != -1)
		while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
			;
	return (fd);
}

/* An existing log of 0 bytes lost its history: say so, never start over
 * in it silently. */
static bool
audit_empty_file(int fd, const char *path, struct merr *e)
{
	struct stat	st;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size != 0)
		return (false);
	merr_set(e, "audit log %s is an empty file (0 bytes): the history it held "
	    "is gone (truncated, or never written by moat). Restore it from a backup, "
	    "or move it away to start a new log", path);
	return (true);
}

static void	audit_spool_replay(struct audit *);
static int	audit_meta_get(struct audit *, const char *, char *, size_t,
		    struct merr *);
static int	audit_meta_set(struct audit *, const char *, const char *,
		    struct merr *);

/* PRAGMA quick_check: 0 and "" when the file is sound, 1 with the first
 * problem it names in buf, -1 when it could not be run. */
static int
audit_quick_check(struct audit *a, char *buf, size_t len, struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL;
	const char	*r;
	int		 rc;

	buf[0] = '\0';
	if ((st = audit_prepare(a, "PRAGMA quick_check(1)", e)) == NULL) {
		rc = sqlite3_errcode(a->db) & 0xff;
		if (rc != SQLITE_CORRUPT && rc != SQLITE_NOTADB)
			return (-1);
		snprintf(buf, len, "%s", sqlite3_errmsg(a->db));
		return (1);
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
			snprintf(buf, len, "%s", sqlite3_errmsg(a->db));
			return (1);
		}
		return (audit_err(a, e, "check the file"));
	}
	r = (const char *)sqlite3_column_text(st, 0);
	if (r != NULL && strcmp(r, "ok") == 0)
		return (0);
	snprintf(buf, len, "%s", r != NULL ? r : "no answer");
	for (char *c = buf; *c != '\0'; c++)
		if (*c == '\n')
			*c = ' ';
	return (1);
}

/* A damaged log is never written into. A whole check reads every page
 * (about 1 s per 100,000 runs), so a writer checks once a day
 * (AUDIT_CHECK_EVERY; meta checked_at); verify checks every time. */
static int
audit_check_damage(struct audit *a, struct merr *e)
{
	char	at[64], why[400];
	double	t;
	int	rc;

	if (audit_meta_get(a, "checked_at", at, sizeof at, e) == -1)
		return (-1);
	t = at[0] != '\0' ? strtod(at, NULL) : 0;
	if (t > 0 && audit_now() - t < AUDIT_CHECK_EVERY && audit_now() >= t)
		return (0);
	if ((rc = audit_quick_check(a, why, sizeof why, e)) == -1)
		return (-1);
	if (rc == 1)
		return (merr_set(e, "audit log %s is damaged (%s): moat will not "
		    "write into it. moat audit verify says so; restore it from a "
		    "backup, or move it away to start a new log (sqlite3's .recover "
		    "may save what is readable)", a->path, why));
	snprintf(at, sizeof at, "%.3f", audit_now());
	return (audit_meta_set(a, "checked_at", at, e));
}

struct audit *
audit_open(const char *path, int flags, struct merr *e)
{
	struct audit	*a;
	char		 def[4096];
	autofree char	*dir = NULL;
	char		*slash;
	autofd int	 fd = -1;
	int		 oflags;
	bool		 created = false;

	if (path == NULL)
		path = audit_default_path(def, sizeof def);
	a = xcalloc(1, sizeof *a);
	a->lockfd = -1;
	a->spoolfd = -1;
	a->path = xstrdup(path);
	a->flags = flags;
	audit_read_boot_id(a->boot_id, sizeof a->boot_id);
	if (gethostname(a->host, sizeof a->host) == -1)
		snprintf(a->host, sizeof a->host, "unknown");
	if (flags & AUDIT_READONLY) {
		if (access(path, F_OK) == -1) {
			merr_errno(e, "audit log %s", path);
			audit_close(a);
			return (NULL);
		}
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1 &&
		    audit_empty_file(fd, path, e)) {
			audit_close(a);
			return (NULL);
		}
		oflags = SQLITE_OPEN_READONLY;
	} else {
		/* Private from the start: the directory 0700, the file 0600. */
		dir = xstrdup(path);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (access(dir, F_OK) == -1 && mkdir_p(dir, 0700, e) == -1) {
				merr_prefix(e, "audit log %s", path);
				audit_close(a);
				return (NULL);
			}
		}
		fd = audit_open_locked(path, &created);
		if (fd == -1 && errno == ELOOP) {
			char	to[4096];
			ssize_t	n = readlink(path, to, sizeof to - 1);

			to[n > 0 ? n : 0] = '\0';
			merr_set(e, "audit log %s is a symbolic link%s%s%s: moat does not "
			    "follow one, so that a link planted where the log is kept "
			    "cannot send the record elsewhere; give --db (or MOAT_DB) "
			    "the real path", path, n > 0 ? " (to " : "", to,
			    n > 0 ? ")" : "");
			audit_close(a);
			return (NULL);
		}
		if (fd == -1 && errno != EACCES && errno != EROFS && errno != EPERM) {
			merr_errno(e, "audit log %s", path);
			audit_close(a);
			return (NULL);
		}
		if (fd != -1 && !created && audit_empty_file(fd, path, e)) {
			close(TAKE_FD(fd));
			audit_close(a);
			return (NULL);
		}
		/* Moats that open a new log at once must not each make it a WAL
		 * database: one that sees the file still empty would discard the
		 * other's WAL. So creation and migration run under flock(2), and
		 * end with a checkpoint that puts the header into the file. The
		 * descriptor stays open until audit_close: closing it earlier
		 * would drop SQLite's own fcntl locks on the file. */
		if (fd != -1)
			a->lockfd = TAKE_FD(fd);
		oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	}
	if (sqlite3_open_v2(path, &a->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (a->db == NULL)
			merr_set(e, "audit log %s: out of memory", path);
		else
			audit_err(a, e, "open");
		audit_close(a);
		return (NULL);
	}
	sqlite3_busy_timeout(a->db, AUDIT_BUSY_MS);
	sqlite3_extended_result_codes(a->db, 1);
	if (!(flags & AUDIT_READONLY) && sqlite3_db_readonly(a->db, "main") == 1) {
		merr_set(e, "audit log %s: the database is read-only (no write permission "
		    "on it or its directory, or a read-only filesystem): fix its "
		    "permissions, point --db or MOAT_DB elsewhere, or allow unlogged runs",
		    path);
		audit_close(a);
		return (NULL);
	}
	/* WAL lets readers (moat audit) and writers (concurrent runs) overlap;
	 * synchronous=NORMAL in WAL mode never corrupts the file, it may lose the
	 * last transactions on power loss only. */
	if (audit_exec(a, "PRAGMA foreign_keys = ON", e) == -1 ||
	    (!(flags & AUDIT_READONLY) &&
	    (audit_exec(a, "PRAGMA journal_mode = WAL", e) == -1 ||
	    audit_exec(a, "PRAGMA synchronous = NORMAL", e) == -1)) ||
	    audit_migrate(a, e) == -1) {
		audit_close(a);
		return (NULL);
	}
	if (a->lockfd != -1)
		flock(a->lockfd, LOCK_UN);
	if (!(flags & AUDIT_READONLY)) {
		int		 one = 1;
		struct passwd	 pwb, *pw = NULL;
		char		 pwbuf[4096];

		/* The reentrant form: moat run opens the log on a thread of
		 * its own while the supervisor builds the sandbox. */
		if (getpwuid_r(getuid(), &pwb, pwbuf, sizeof pwbuf, &pw) != 0)
			pw = NULL;
		a->user = pw != NULL ? xstrdup(pw->pw_name) : NULL;
		a->self_start = audit_proc_start(getpid());

		/* A one-shot moat is usually the log's only connection. By
		 * default its close would delete the WAL and the next moat's
		 * first write (its begin) would create it again, ~10 ms. Keep
		 * the WAL file; never checkpoint inside a commit (a begin);
		 * audit_close empties it, after a run, now and then. */
		sqlite3_file_control(a->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
		sqlite3_db_config(a->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
		sqlite3_wal_autocheckpoint(a->db, 0);
		sqlite3_wal_hook(a->db, audit_wal_hook, a);
		a->redact = redact_new();
		if (redact_load_default(a->redact, e) == -1 ||
		    audit_check_damage(a, e) == -1) {
			audit_close(a);
			return (NULL);
		}
		if ((a->spoolfd = spool_open(path)) != -1)
			audit_spool_replay(a);
		if (!(flags & AUDIT_NO_RECOVER) &&
		    (a->recovered = audit_recover(a, e)) == -1) {
			audit_close(a);
			return (NULL);
		}
	}
	return (a);
}

void
audit_redact_secret(struct audit *a, const char *name, const char *value, size_t len)
{
	autofree char	*repl = NULL;

	if (a->remote != NULL) {
		audit_remote_secret(a, name, value, len);
		return;
	}
	repl = xprintf("[REDACTED:secret-%s]", name);
	if (a->redact != NULL)
		redact_add_literal(a->redact, value, len, repl);
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->remote != NULL) {
		audit_remote_free(a->remote);
		free(a->path);
		free(a);
		return;
	}
	for (size_t i = 0; i < a->ncache; i++)
		sqlite3_finalize(a->cache[i].st);
	/* After a run, not before one, and only when the WAL has grown (see
	 * AUDIT_TRUNCATE_PAGES): copy it into the file and empty it. The
	 * last runs may live in audit.db-wal until then: back the log up
	 * with the sqlite3 shell's .backup, or copy both files. TRUNCATE must
	 * not wait for a reader: when one is busy, a later moat does it. */
	if (a->db != NULL && a->wal_pages >= AUDIT_TRUNCATE_PAGES) {
		sqlite3_busy_timeout(a->db, 0);
		sqlite3_wal_checkpoint_v2(a->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	if (a->db != NULL)
		sqlite3_close_v2(a->db);
	if (a->lockfd != -1)
		close(a->lockfd);
	if (a->spoolfd != -1)
		close(a->spoolfd);
	free(a->pending);
	redact_free(a->redact);
	free(a->user);
	free(a->path);
	free(a);
}

const char *
audit_path(const struct audit *a)
{
	return (a->path);
}

struct sqlite3 *
audit_sqlite(struct audit *a)
{
	return (a->db);
}

/* Feeds one column into the canonical serialisation: name, type, length,
 * bytes. Lengths make the encoding unambiguous whatever the values hold. */
static void
audit_hash_col(struct sha256 *s, struct sqlite3_stmt *st, int i)
{
	const char	*name = sqlite3_column_name(st, i);
	char		 hdr[64], num[64];
	const void	*p = NULL;
	int		 n = 0;
	char		 type;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		type = 'I';
		n = snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, i));
		p = num;
		break;
	case SQLITE_FLOAT:
		type = 'R';
		n = snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, i));
		p = num;
		break;
	case SQLITE_TEXT:
		type = 'T';
		p = sqlite3_column_text(st, i);
		n = sqlite3_column_bytes(st, i);
		break;
	case SQLITE_BLOB:
		type = 'B';
		p = sqlite3_column_blob(st, i);
		n = sqlite3_column_bytes(st, i);
		break;
	default:
		type = 'N';
		break;
	}
	sha256_update(s, name, strlen(name));
	snprintf(hdr, sizeof hdr, "=%c%d:", type, n);
	sha256_update(s, hdr, strlen(hdr));
	if (n > 0)
		sha256_update(s, p, (size_t)n);
	sha256_update(s, "\n", 1);
}

/* Hashes every row a query returns, each column as audit_hash_col does. */
static int
audit_hash_query(struct audit *a, struct sha256 *s, const char *sql, int64_t id,
    struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;
	int	 rc;

	if ((st = audit_cached(a, sql, e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++)
			audit_hash_col(s, st, i);
		sha256_update(s, "\036", 1);	/* record separator */
	}
	if (rc != SQLITE_DONE)
		return (audit_err(a, e, "read for hashing"));
	return (0);
}

/* The digest of a run's events, samples and kept output. */
static int
audit_children_hash(struct audit *a, int64_t id, char hex[SHA256_HEX_LEN], struct merr *e)
{
	struct sha256	s;

	sha256_init(&s);
	sha256_update(&s, "events\n", 7);
	if (audit_hash_query(a, &s, audit_sql_events, id, e) == -1)
		return (-1);
	sha256_update(&s, "samples\n", 8);
	if (audit_hash_query(a, &s, audit_sql_samples, id, e) == -1)
		return (-1);
	sha256_update(&s, "outputs\n", 8);
	if (audit_hash_query(a, &s, audit_sql_outputs, id, e) == -1)
		return (-1);
	/* Output's timing (schema 5) as output: each row that has one, named
	 * by its column, so a row of an older moat, which has none, keeps the
	 * digest it was chained with, and a timing added, changed or removed
	 * later changes it. */
	if (audit_hash_query(a, &s, audit_sql_timing, id, e) == -1)
		return (-1);
	sha256_final_hex(&s, hex);
	return (0);
}

/* hash = sha256(canonical row content || prev_hash). found is false when
 * there is no such row. */
static int
audit_row_hash(struct audit *a, int64_t id, char hex[SHA256_HEX_LEN], struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;
	struct sha256	 s;
	const char	*prev;

	if ((st = audit_cached(a, audit_sql_row, e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return (merr_set(e, "audit log %s: run %lld vanished", a->path, (long long)id));
	sha256_init(&s);
	sha256_update(&s, "moat-run-v1\n", 12);
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const char	*name = sqlite3_column_name(st, i);
		bool		 skip = strcmp(name, "prev_hash") == 0;

		for (size_t k = 0; !skip && k < nitems(audit_hash_late); k++)
			skip = sqlite3_column_type(st, i) == SQLITE_NULL &&
			    strcmp(name, audit_hash_late[k]) == 0;
		if (!skip)
			audit_hash_col(&s, st, i);
	}
	prev = (const char *)sqlite3_column_text(st, 3);
	sha256_update(&s, prev != NULL ? prev : "", prev != NULL ? strlen(prev) : 0);
	sha256_final_hex(&s, hex);
	return (0);
}

/* begin = sha256("moat-begin-v1\n" || the start fields as the chain
 * serialises columns). */
static int
audit_begin_hash(struct audit *a, int64_t id, char hex[SHA256_HEX_LEN], struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;
	struct sha256	 s;

	if ((st = audit_cached(a, audit_sql_begun, e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return (merr_set(e, "audit log %s: run %lld vanished", a->path, (long long)id));
	sha256_init(&s);
	sha256_update(&s, "moat-begin-v1\n", 14);
	for (int i = 0; i < sqlite3_column_count(st); i++)
		audit_hash_col(&s, st, i);
	sha256_final_hex(&s, hex);
	return (0);
}

/* Did this moat's kind begin the running row id, and is it as begun? Its
 * owner named (pid, start time, boot id) and its begin hash still given by
 * its start fields. why says what is wrong otherwise. */
static int
audit_row_begun(struct audit *a, int64_t id, const char **why, struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;
	char		 h[SHA256_HEX_LEN];
	const char	*stored;

	if ((st = audit_cached(a, "SELECT owner_pid, owner_start, boot_id, begin_hash "
	    "FROM runs WHERE id = ?1", e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return (merr_set(e, "audit log %s: run %lld vanished", a->path, (long long)id));
	*why = NULL;
	if (sqlite3_column_int64(st, 0) <= 0 || sqlite3_column_int64(st, 1) <= 0 ||
	    sqlite3_column_type(st, 2) != SQLITE_TEXT || sqlite3_column_bytes(st, 2) == 0)
		*why = "it names no owner (pid, start time and boot id)";
	else if ((stored = (const char *)sqlite3_column_text(st, 3)) == NULL)
		*why = "it has no begin hash";
	else {
		char	copy[SHA256_HEX_LEN];

		snprintf(copy, sizeof copy, "%s", stored);
		sqlite3_reset(st);
		if (audit_begin_hash(a, id, h, e) == -1)
			return (-1);
		if (strcmp(h, copy) != 0)
			*why = "its start fields no longer give its begin hash";
	}
	return (*why == NULL ? 1 : 0);
}

static int
audit_meta_get(struct audit *a, const char *key, char *buf, size_t len, struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;

	if ((st = audit_cached(a, audit_sql_meta_get, e)) == NULL)
		return (-1);
	bind_text(st, 1, key);
	buf[0] = '\0';
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0) ?: "");
		return (0);
	case SQLITE_DONE:
		return (0);
	default:
		return (audit_err(a, e, "read meta"));
	}
}

static int
audit_meta_set(struct audit *a, const char *key, const char *value, struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;

	if ((st = audit_cached(a, audit_sql_meta_set, e)) == NULL)
		return (-1);
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	return (audit_step_done(a, st, e, "write meta"));
}

/* Appends run id to the chain. Inside the caller's BEGIN IMMEDIATE. */
static int
audit_chain(struct audit *a, int64_t id, struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL, *up = NULL;
	char		 seqs[32], prev[SHA256_HEX_LEN + 8], children[SHA256_HEX_LEN],
			 hash[SHA256_HEX_LEN];
	long long	 seq;

	if (audit_meta_get(a, "head_seq", seqs, sizeof seqs, e) == -1 ||
	    audit_meta_get(a, "head_hash", prev, sizeof prev, e) == -1)
		return (-1);
	seq = strtoll(seqs, NULL, 10) + 1;
	if (audit_children_hash(a, id, children, e) == -1)
		return (-1);
	if ((st = audit_cached(a, audit_sql_chain, e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, seq);
	bind_text(st, 2, prev);
	bind_text(st, 3, children);
	sqlite3_bind_int64(st, 4, id);
	if (audit_step_done(a, st, e, "chain run") == -1 ||
	    audit_row_hash(a, id, hash, e) == -1)
		return (-1);
	if ((up = audit_cached(a, audit_sql_hash, e)) == NULL)
		return (-1);
	bind_text(up, 1, hash);
	sqlite3_bind_int64(up, 2, id);
	snprintf(seqs, sizeof seqs, "%lld", seq);
	if (audit_step_done(a, up, e, "chain run") == -1 ||
	    audit_meta_set(a, "head_seq", seqs, e) == -1 ||
	    audit_meta_set(a, "head_hash", hash, e) == -1)
		return (-1);
	return (0);
}

/* Is the moat that owns a running row still alive? Unsure counts as alive:
 * marking a live run interrupted would be worse than a stale "running". */
static bool
audit_owner_alive(struct audit *a, pid_t pid, unsigned long long start,
    const char *boot_id, const char *host)
{
	unsigned long long	now_start;

	if (host != NULL && strcmp(host, a->host) != 0)
		return (true);		/* another machine's run (a shared file) */
	if (boot_id != NULL && strcmp(boot_id, a->boot_id) != 0)
		return (false);		/* the machine rebooted since */
	if (pid <= 0)
		return (false);
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return (false);
	now_start = audit_proc_start(pid);
	if (now_start != 0 && start != 0 && now_start != start)
		return (false);		/* the pid was reused */
	return (true);
}

static const char audit_end_sql[] = "UPDATE runs SET status = ?1, ended_at = ?2, "
    "duration = ?3, end_reason = ?4, exit_code = ?5, signal = ?6, cpu_user = ?7, "
    "cpu_sys = ?8, peak_memory = ?9, peak_pids = ?10, limits = ?11, "
    "risk_final = ?12, risk_final_reasons = CASE WHEN json_valid(?13) THEN ?13 "
    "ELSE json_quote(?13) END, stdout_bytes = ?14, "
    "stdout_sha256 = ?15, stderr_bytes = ?16, stderr_sha256 = ?17 "
    "WHERE id = ?18 AND status = 'running'";

/* The completion's values into audit_end_sql (a spool record holds the same
 * whether it was just made or read back). */
static void
audit_bind_end(struct sqlite3_stmt *st, const struct spool_rec *r)
{
	bind_text(st, 1, r->status);
	bind_text(st, 2, r->ended_at);
	sqlite3_bind_double(st, 3, r->duration);
	bind_text(st, 4, r->end_reason);
	sqlite3_bind_int(st, 5, r->exit_code);
	if (r->signal > 0)
		sqlite3_bind_int(st, 6, r->signal);
	bind_real_opt(st, 7, r->cpu_user);
	bind_real_opt(st, 8, r->cpu_sys);
	bind_int_opt(st, 9, r->peak_memory);
	bind_int_opt(st, 10, r->peak_pids);
	bind_text(st, 11, r->limits);
	bind_int_opt(st, 12, r->risk);
	bind_text(st, 13, r->risk_reasons != NULL ? r->risk_reasons : "[]");
	sqlite3_bind_int64(st, 14, r->out_bytes[0]);
	bind_text(st, 15, r->out_sha[0]);
	sqlite3_bind_int64(st, 16, r->out_bytes[1]);
	bind_text(st, 17, r->out_sha[1]);
	sqlite3_bind_int64(st, 18, r->rowid);
}

static bool
audit_pending(const struct audit *a, int64_t id)
{
	for (size_t i = 0; i < a->npending; i++)
		if (a->pending[i] == id)
			return (true);
	return (false);
}

/* A spooled completion into the log, as audit_run_end would have written
 * it, with a note saying so. 1 written; 0 not this log's to take (no
 * running row by that id and run id, begun by moat as the record says);
 * -1 not now (e says why: the log is still full or busy). */
static int
audit_spool_apply(struct audit *a, const struct spool_rec *r, struct merr *e)
{
	autostmt struct sqlite3_stmt *chk = NULL, *st = NULL, *ev = NULL;
	const char	*why;
	int		 begun;

	if ((chk = audit_prepare(a, "SELECT 1 FROM runs WHERE id = ?1 AND run_id = ?2 "
	    "AND status = 'running' AND begin_hash = ?3", e)) == NULL ||
	    (st = audit_prepare(a, audit_end_sql, e)) == NULL ||
	    (ev = audit_prepare(a, "INSERT INTO events (run, t, kind, name, detail) "
	    "VALUES (?1, ?2, 'note', 'completion-spooled', ?3)", e)) == NULL)
		return (-1);
	sqlite3_bind_int64(chk, 1, r->rowid);
	bind_text(chk, 2, r->run_id);
	bind_text(chk, 3, r->begin_hash);
	audit_bind_end(st, r);
	sqlite3_bind_int64(ev, 1, r->rowid);
	sqlite3_bind_double(ev, 2, r->duration);
	bind_text(ev, 3, "the log could not take this completion when the command "
	    "ended (a full disk, or a lock held past every retry): it was kept in the "
	    "spool and written by a later moat; output and events not yet written "
	    "then were not kept");
	if (audit_tx(a, audit_sql_begin, e) == -1)
		return (-1);
	if (sqlite3_step(chk) != SQLITE_ROW) {
		audit_rollback(a);
		return (0);
	}
	if ((begun = audit_row_begun(a, r->rowid, &why, e)) != 1) {
		audit_rollback(a);
		return (begun);
	}
	if (audit_step_done(a, st, e, "complete a spooled run") == -1 ||
	    audit_step_done(a, ev, e, "complete a spooled run") == -1 ||
	    audit_chain(a, r->rowid, e) == -1 || audit_tx(a, audit_sql_commit, e) == -1) {
		audit_rollback(a);
		return (-1);
	}
	return (1);
}

/* The spool's completions into the log (at open, before recovery, which
 * would otherwise mark those runs interrupted). Lines written are dropped
 * from the spool, and lines that are no record of this log's; those the log
 * cannot take yet stay, and their rows are left running (a->pending). */
static void
audit_spool_replay(struct audit *a)
{
	struct stat	 st;
	autofree char	*buf = NULL;
	char		*kept = NULL;
	size_t		 nkept = 0, len;
	ssize_t		 n;

	if (fstat(a->spoolfd, &st) == -1 || st.st_size == 0 ||
	    flock(a->spoolfd, LOCK_EX) == -1)
		return;
	len = (size_t)(st.st_size < SPOOL_READ_MAX ? st.st_size : SPOOL_READ_MAX);
	buf = xmalloc(len + 1);
	if ((n = pread(a->spoolfd, buf, len, 0)) <= 0)
		goto out;
	buf[n] = '\0';
	kept = xmalloc((size_t)n + 1);
	for (char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		struct spool_rec r;
		struct merr	 e;
		const char	*why;
		autofree char	*copy = NULL;
		size_t		 ll = (size_t)(nl - line);

		*nl = '\0';
		if (ll > SPOOL_LINE_MAX)
			continue;
		copy = xstrdup(line);
		if (spool_parse(copy, &r, &why) == -1)
			continue;
		memset(&e, 0, sizeof e);
		if (audit_spool_apply(a, &r, &e) != -1)
			continue;
		memcpy(kept + nkept, line, ll);
		kept[nkept + ll] = '\n';
		nkept += ll + 1;
		a->pending = xreallocarray(a->pending, a->npending + 1, sizeof *a->pending);
		a->pending[a->npending++] = r.rowid;
	}
	/* What is left, written again into room set aside anew. */
	if (ftruncate(a->spoolfd, 0) == 0) {
		(void)fallocate(a->spoolfd, FALLOC_FL_KEEP_SIZE, 0, SPOOL_RESERVE);
		if (nkept > 0 && write(a->spoolfd, kept, nkept) != (ssize_t)nkept)
			a->npending = 0;	/* lost with the line: recovery marks them */
	}
out:
	free(kept);
	(void)flock(a->spoolfd, LOCK_UN);
}

int
audit_recovered(const struct audit *a)
{
	return (a != NULL && a->remote == NULL ? a->recovered : 0);
}

int
audit_recover(struct audit *a, struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;
	autostmt struct sqlite3_stmt *up = NULL;
	int64_t		*dead = NULL;
	size_t		 ndead = 0;
	int		 rc, marked = 0;
	double		 now = audit_now();
	char		 iso[40];

	/* Kept prepared: a session's supervisor runs it after its clients'
	 * commands (audit_keeper_tidy). */
	if ((st = audit_cached(a, "SELECT id, owner_pid, owner_start, boot_id, host "
	    "FROM runs WHERE status = 'running'", e)) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (audit_pending(a, sqlite3_column_int64(st, 0)))
			continue;	/* its completion waits in the spool */
		if (sqlite3_column_int64(st, 1) > 0 && sqlite3_column_int64(st, 2) > 0 &&
		    sqlite3_column_type(st, 3) == SQLITE_TEXT &&
		    !audit_owner_alive(a, (pid_t)sqlite3_column_int64(st, 1),
		    (unsigned long long)sqlite3_column_int64(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4))) {
			dead = xreallocarray(dead, ndead + 1, sizeof *dead);
			dead[ndead++] = sqlite3_column_int64(st, 0);
		}
	}
	if (rc != SQLITE_DONE) {
		free(dead);
		return (audit_err(a, e, "find interrupted runs"));
	}
	sqlite3_reset(st);
	if (ndead == 0)
		return (0);
	audit_iso_time(now, iso, sizeof iso);
	if ((up = audit_prepare(a, "UPDATE runs SET status = 'interrupted', ended_at = ?1, "
	    "duration = max(0, round((julianday(?1) - julianday(started_at)) * 86400, 3)), "
	    "end_reason = 'owner-gone' WHERE id = ?2 AND status = 'running'", e)) == NULL) {
		free(dead);
		return (-1);
	}
	for (size_t i = 0; i < ndead; i++) {
		if (audit_tx(a, audit_sql_begin, e) == -1)
			goto fail;
		bind_text(up, 1, iso);
		sqlite3_bind_int64(up, 2, dead[i]);
		if (audit_step_done(a, up, e, "mark interrupted") == -1)
			goto fail;
		sqlite3_reset(up);
		/* Another moat may have marked it first. A row moat did not
		 * begin, or one edited since, is never chained: it stays
		 * running, and verify names it. */
		if (sqlite3_changes(a->db) == 1) {
			const char	*why;
			int		 begun = audit_row_begun(a, dead[i], &why, e);

			if (begun == -1)
				goto fail;
			if (begun == 0) {
				audit_rollback(a);
				continue;
			}
			if (audit_chain(a, dead[i], e) == -1)
				goto fail;
			marked++;
		}
		if (audit_tx(a, audit_sql_commit, e) == -1)
			goto fail;
	}
	free(dead);
	return (marked);
fail:
	audit_rollback(a);
	free(dead);
	return (-1);
}

static char *
audit_argv_json(struct strv *sv)
{
	size_t		 len = 3, n;
	char		*out, **parts = xcalloc(sv->n + 1, sizeof *parts);

	for (size_t i = 0; i < sv->n; i++) {
		parts[i] = audit_json_str(sv->v[i]);
		len += strlen(parts[i]) + 1;
	}
	out = xmalloc(len);
	n = 0;
	out[n++] = '[';
	for (size_t i = 0; i < sv->n; i++) {
		if (i > 0)
			out[n++] = ',';
		memcpy(out + n, parts[i], strlen(parts[i]));
		n += strlen(parts[i]);
		free(parts[i]);
	}
	out[n++] = ']';
	out[n] = '\0';
	free(parts);
	return (out);
}

/* A command line for humans and --grep: arguments joined by spaces, quoted
 * when they hold blanks or quotes. */
static char *
audit_argv_line(struct strv *sv)
{
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*f;

	/* One pass into a growing buffer: 100,000 arguments are recorded in
	 * linear time (copying the line per argument was quadratic). */
	if ((f = open_memstream(&out, &len)) == NULL)
		return (xstrdup(""));
	for (size_t i = 0; i < sv->n; i++) {
		const char	*arg = sv->v[i];
		bool		 q = *arg == '\0' || strpbrk(arg, " \t\n'\"\\$`;&|<>*?()") != NULL;

		if (i > 0)
			fputc(' ', f);
		if (q && strchr(arg, '\'') == NULL)
			fprintf(f, "'%s'", arg);
		else if (q) {
			autofree char *j = audit_json_str(arg);

			fputs(j, f);
		} else
			fputs(arg, f);
	}
	if (fclose(f) != 0 || out == NULL) {
		free(out);
		return (xstrdup(""));
	}
	return (out);
}

/* Binds the start fields to the INSERT below; returns the redacted argv. */
static const char audit_insert_sql[] =
	"INSERT INTO runs (run_id, status, source, client, user, uid, host, profile, "
	"profile_hash, net_mode, workspace, cwd, argv, command, risk_static, "
	"risk_static_reasons, started_at, owner_pid, owner_start, boot_id, "
	"ended_at, duration, end_reason, exit_code, risk_final, risk_final_reasons, "
	"session) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
	"CASE WHEN json_valid(?16) THEN ?16 ELSE json_quote(?16) END, ?17, ?18, ?19, "
	"?20, ?21, ?22, ?23, ?24, ?25, "
	"CASE WHEN json_valid(?26) THEN ?26 ELSE json_quote(?26) END, ?27)";

static char	*audit_redacted(struct audit *, const char *);

static void
audit_bind_start(struct audit *a, struct sqlite3_stmt *st, const struct audit_start *s,
    const char *run_id, const char *status, double started)
{
	struct strv	 args = { NULL, 0 };
	char		 iso[40], ph[SHA256_HEX_LEN];
	pid_t		 pid = s->owner_pid > 0 ? s->owner_pid : getpid();
	unsigned long long start = s->owner_start != 0 ? s->owner_start :
	    pid == getpid() ? a->self_start : audit_proc_start(pid);

	redact_argv(a->redact, s->argv, &args);
	audit_iso_time(started, iso, sizeof iso);
	bind_text(st, 1, run_id);
	bind_text(st, 2, status);
	bind_text(st, 3, s->source != NULL ? s->source : "cli");
	bind_text(st, 4, s->client);
	bind_text(st, 5, a->user);
	sqlite3_bind_int64(st, 6, getuid());
	bind_text(st, 7, a->host);
	bind_text(st, 8, s->profile);
	if (s->profile_text != NULL) {
		sha256_hex(s->profile_text, strlen(s->profile_text), ph);
		bind_text(st, 9, ph);
	}
	bind_text(st, 10, s->net_mode);
	bind_text(st, 11, s->workspace);
	bind_text(st, 12, s->cwd);
	sqlite3_bind_text(st, 13, audit_argv_json(&args), -1, free);
	sqlite3_bind_text(st, 14, audit_argv_line(&args), -1, free);
	bind_int_opt(st, 15, s->risk);
	/* Reasons quote the command line, so they are redacted too; if that
	 * breaks their JSON, the insert stores them as one JSON string. */
	sqlite3_bind_text(st, 16, audit_redacted(a, s->risk_reasons != NULL ?
	    s->risk_reasons : "[]"), -1, free);
	bind_text(st, 17, iso);
	sqlite3_bind_int64(st, 18, pid);
	sqlite3_bind_int64(st, 19, (int64_t)start);
	bind_text(st, 20, a->boot_id);
	bind_text(st, 27, s->session);
	strv_clear(&args);
}

static char *
audit_new_run_id(double now)
{
	char		 d[32];
	time_t		 sec = (time_t)now;
	struct tm	 tm;
	unsigned	 r = 0;
	autofd int	 fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || read(fd, &r, sizeof r) != sizeof r)
		r = (unsigned)(now * 1e6) ^ (unsigned)getpid();
	gmtime_r(&sec, &tm);
	strftime(d, sizeof d, "%Y%m%dT%H%M%S", &tm);
	return (xprintf("%s-%d-%08x", d, (int)getpid(), r));
}

/* Computes the begin hash of row id and stores it; inside a transaction. */
static int
audit_set_begin_hash(struct audit *a, int64_t id, char hex[SHA256_HEX_LEN], struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;

	if (audit_begin_hash(a, id, hex, e) == -1 ||
	    (st = audit_cached(a, audit_sql_begin_hash, e)) == NULL)
		return (-1);
	bind_text(st, 1, hex);
	sqlite3_bind_int64(st, 2, id);
	return (audit_step_done(a, st, e, "record run"));
}

struct audit_run *
audit_run_begin(struct audit *a, const struct audit_start *s, struct merr *e)
{
	autoreset struct sqlite3_stmt *st = NULL;
	struct audit_run	*ar;
	double			 now = s->started_at > 0 ? s->started_at : audit_now();

	if (a->remote != NULL)
		return (audit_remote_begin(a, s, false, e));
	if (a->flags & AUDIT_READONLY) {
		merr_set(e, "audit log %s: opened read-only", a->path);
		return (NULL);
	}
	ar = xcalloc(1, sizeof *ar);
	ar->a = a;
	ar->started_at = now;
	ar->run_id = s->run_id != NULL && *s->run_id != '\0' ? xstrdup(s->run_id) :
	    audit_new_run_id(now);
	audit_run_output_init(ar, s);
	if ((st = audit_cached(a, audit_insert_sql, e)) == NULL)
		goto fail;
	audit_bind_start(a, st, s, ar->run_id, "running", now);
	/* The row and its begin hash in one transaction: a running row
	 * without one is not moat's. */
	if (audit_tx(a, audit_sql_begin, e) == -1)
		goto fail;
	if (audit_step_done(a, st, e, "record run") == -1 ||
	    audit_set_begin_hash(a, sqlite3_last_insert_rowid(a->db), ar->begin_hash,
	    e) == -1 || audit_tx(a, audit_sql_commit, e) == -1) {
		audit_rollback(a);
		goto fail;
	}
	ar->rowid = sqlite3_last_insert_rowid(a->db);
	return (ar);
fail:
	free(ar->run_id);
	free(ar);
	return (NULL);
}

struct audit_run *
audit_run_begin_sent(struct audit *a, const struct audit_start *s, struct merr *e)
{
	if (a->remote != NULL)
		return (audit_remote_begin(a, s, true, e));
	return (audit_run_begin(a, s, e));
}

bool
audit_run_pending(const struct audit_run *ar)
{
	return (ar != NULL && ar->pending);
}

int
audit_run_begun(struct audit_run **arp, struct merr *e)
{
	struct audit_run	*ar = *arp;

	if (ar == NULL || !ar->pending)
		return (0);
	if (audit_remote_begun(ar, e) == 0)
		return (0);
	audit_run_free(ar);
	*arp = NULL;
	return (-1);
}

const char *
audit_run_id(const struct audit_run *ar)
{
	return (ar->run_id);
}

int64_t
audit_run_rowid(const struct audit_run *ar)
{
	return (ar->rowid);
}

static int	audit_run_unstarted(struct audit *, const struct audit_start *,
		    const char *, const char *, struct merr *);

int
audit_run_refused(struct audit *a, const struct audit_start *s, const char *why,
    struct merr *e)
{
	return (audit_run_unstarted(a, s, "refused", why, e));
}

int
audit_run_failed(struct audit *a, const struct audit_start *s, const char *why,
    struct merr *e)
{
	return (audit_run_unstarted(a, s, "setup-failed", why, e));
}

/* One complete, chained row for a run that never began its command:
 * status "refused" or "setup-failed", why in end_reason, exit 125. */
static int
audit_run_unstarted(struct audit *a, const struct audit_start *s,
    const char *status, const char *why, struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL;
	autofree char	*run_id = NULL;
	double		 now = s->started_at > 0 ? s->started_at : audit_now();
	char		 iso[40], bh[SHA256_HEX_LEN];

	if (a->remote != NULL)
		return (audit_remote_unstarted(a, s, status, why, e));
	if ((st = audit_prepare(a, audit_insert_sql, e)) == NULL)
		return (-1);
	run_id = s->run_id != NULL && *s->run_id != '\0' ? xstrdup(s->run_id) :
	    audit_new_run_id(now);
	audit_bind_start(a, st, s, run_id, status, now);
	audit_iso_time(now, iso, sizeof iso);
	bind_text(st, 21, iso);
	sqlite3_bind_double(st, 22, 0);
	bind_text(st, 23, why != NULL ? why : status);
	sqlite3_bind_int(st, 24, 125);
	bind_int_opt(st, 25, s->risk);
	sqlite3_bind_text(st, 26, audit_redacted(a, s->risk_reasons != NULL ?
	    s->risk_reasons : "[]"), -1, free);
	if (audit_tx(a, audit_sql_begin, e) == -1)
		return (-1);
	if (audit_step_done(a, st, e, "record a run that did not start") == -1 ||
	    audit_set_begin_hash(a, sqlite3_last_insert_rowid(a->db), bh, e) == -1 ||
	    audit_chain(a, sqlite3_last_insert_rowid(a->db), e) == -1 ||
	    audit_tx(a, audit_sql_commit, e) == -1) {
		audit_rollback(a);
		return (-1);
	}
	audit_after_end(a);
	return (0);
}

static void
audit_ev_clear(struct audit_ev *ev)
{
	free(ev->name);
	free(ev->detail);
	free(ev->host);
	free(ev->addr);
	free(ev->verdict);
	free(ev->rule);
	free(ev->extra);
}

static char *
audit_redacted(struct audit *a, const char *s)
{
	if (s == NULL)
		return (NULL);
	return (redact_text(a->redact, s, strlen(s), NULL));
}

/* Writes buffered events and samples. Inside a transaction when the caller
 * holds one; its own otherwise. */
static int
audit_write_buffers(struct audit_run *ar, struct merr *e)
{
	struct audit	*a = ar->a;
	autoreset struct sqlite3_stmt *ev = NULL, *sm = NULL;

	if (ar->nev > 0) {
		if ((ev = audit_cached(a, "INSERT INTO events (run, t, kind, name, detail, "
		    "count, host, port, addr, bytes_out, bytes_in, verdict, rule, extra) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
		    e)) == NULL)
			return (-1);
		for (size_t i = 0; i < ar->nev; i++) {
			struct audit_ev	*x = &ar->ev[i];

			sqlite3_bind_int64(ev, 1, ar->rowid);
			sqlite3_bind_double(ev, 2, round(x->t * 1000) / 1000);
			bind_text(ev, 3, x->kind);
			bind_text(ev, 4, x->name);
			bind_text(ev, 5, x->detail);
			sqlite3_bind_int64(ev, 6, x->count);
			bind_text(ev, 7, x->host);
			bind_int_opt(ev, 8, x->port > 0 ? x->port : -1);
			bind_text(ev, 9, x->addr);
			bind_int_opt(ev, 10, x->bytes_out);
			bind_int_opt(ev, 11, x->bytes_in);
			bind_text(ev, 12, x->verdict);
			bind_text(ev, 13, x->rule);
			bind_text(ev, 14, x->extra);
			if (audit_step_done(a, ev, e, "record event") == -1)
				return (-1);
			sqlite3_reset(ev);
		}
	}
	if (ar->nsmp > 0) {
		if ((sm = audit_cached(a, "INSERT INTO samples (run, t, cpu_pct, mem_bytes, "
		    "pids, io_read, io_write) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", e)) == NULL)
			return (-1);
		for (size_t i = 0; i < ar->nsmp; i++) {
			struct audit_sample	*x = &ar->smp[i];

			sqlite3_bind_int64(sm, 1, ar->rowid);
			sqlite3_bind_double(sm, 2, round(x->t * 1000) / 1000);
			bind_real_opt(sm, 3, round(x->cpu_pct * 10) / 10);
			bind_int_opt(sm, 4, x->mem_bytes);
			bind_int_opt(sm, 5, x->pids);
			bind_int_opt(sm, 6, x->io_read);
			bind_int_opt(sm, 7, x->io_write);
			if (audit_step_done(a, sm, e, "record sample") == -1)
				return (-1);
			sqlite3_reset(sm);
		}
	}
	for (size_t i = 0; i < ar->nev; i++)
		audit_ev_clear(&ar->ev[i]);
	ar->nev = 0;
	ar->nsmp = 0;
	ar->last_flush = now_mono();
	return (0);
}

int
audit_run_flush(struct audit_run *ar, struct merr *e)
{
	struct audit	*a = ar->a;

	if (a->remote != NULL)
		return (audit_remote_flush(ar, e));
	if (ar->nev == 0 && ar->nsmp == 0)
		return (0);
	if (audit_tx(a, audit_sql_begin, e) == -1)
		return (-1);
	if (audit_write_buffers(ar, e) == -1 || audit_tx(a, audit_sql_commit, e) == -1) {
		audit_rollback(a);
		return (-1);
	}
	return (0);
}

/* While the command runs, a flush never waits for the lock: the
 * supervisor's loop (meters, relays, the proxies) must not stall behind
 * another writer. A busy log keeps the rows buffered for the next try, or
 * for the completion, which does wait. */
static int
audit_maybe_flush(struct audit_run *ar, struct merr *e)
{
	struct audit	*a = ar->a;
	int		 rc;

	if (ar->nev + ar->nsmp < AUDIT_FLUSH_EVENTS &&
	    now_mono() - ar->last_flush < AUDIT_FLUSH_SECONDS)
		return (0);
	sqlite3_busy_timeout(a->db, 0);
	rc = audit_run_flush(ar, e);
	sqlite3_busy_timeout(a->db, AUDIT_BUSY_MS);
	if (rc == -1 && ((sqlite3_extended_errcode(a->db) & 0xff) == SQLITE_BUSY ||
	    (sqlite3_extended_errcode(a->db) & 0xff) == SQLITE_LOCKED)) {
		ar->last_flush = now_mono();	/* again in a while */
		return (0);
	}
	return (rc);
}

/* A denied syscall with the same name and argument summary as one already
 * buffered adds to its count: a tight loop of denials becomes one row a
 * second, not a million. Past AUDIT_MAX_DETAILS distinct summaries for one
 * syscall, the rest are counted under "(other arguments)". */
static bool
audit_aggregate(struct audit_run *ar, const char *name, char **detail, int64_t count)
{
	struct audit_agg	*g = NULL;

	for (size_t i = 0; i < ar->nev; i++) {
		struct audit_ev	*x = &ar->ev[i];

		if (strcmp(x->kind, "syscall") == 0 && strcmp(x->name, name) == 0 &&
		    strcmp(x->detail ?: "", *detail ?: "") == 0) {
			x->count += count;
			return (true);
		}
	}
	for (size_t i = 0; i < ar->nagg; i++)
		if (strcmp(ar->agg[i].name, name) == 0)
			g = &ar->agg[i];
	if (g == NULL) {
		ar->agg = xreallocarray(ar->agg, ar->nagg + 1, sizeof *ar->agg);
		g = &ar->agg[ar->nagg++];
		g->name = xstrdup(name);
		g->ndetails = 0;
	}
	if (++g->ndetails > AUDIT_MAX_DETAILS) {
		free(*detail);
		*detail = xstrdup("(other arguments)");
		g->ndetails--;
		for (size_t i = 0; i < ar->nev; i++) {
			struct audit_ev	*x = &ar->ev[i];

			if (strcmp(x->kind, "syscall") == 0 && strcmp(x->name, name) == 0 &&
			    strcmp(x->detail ?: "", *detail) == 0) {
				x->count += count;
				return (true);
			}
		}
	}
	return (false);
}

/* An exec event's own fields, as JSON: pid, ppid, cwd, argv, risk and its
 * reasons, redacted as one text (one pass of the rules per exec). */
static char *
audit_exec_extra(struct audit *a, const struct run_event *re)
{
	autofree char	*cwd = audit_json_str(re->cwd != NULL ? re->cwd : "");
	struct sbuf	 b = { NULL, 0, 0 };
	char		 num[64];
	char		*out;

	snprintf(num, sizeof num, "{\"pid\":%d,\"ppid\":%d,\"cwd\":", re->pid, re->ppid);
	sbuf_add(&b, num, strlen(num));
	sbuf_add(&b, cwd, strlen(cwd));
	sbuf_add(&b, ",\"argv\":[", 9);
	/* One buffer that grows: an argv of 64 arguments was 64 copies. */
	for (size_t i = 0; re->argv != NULL && re->argv[i] != NULL; i++) {
		autofree char	*j = audit_json_str(re->argv[i]);

		if (i > 0)
			sbuf_add(&b, ",", 1);
		sbuf_add(&b, j, strlen(j));
	}
	snprintf(num, sizeof num, "],\"risk\":%d,\"reasons\":", re->risk);
	sbuf_add(&b, num, strlen(num));
	if (re->reasons != NULL)
		sbuf_add(&b, re->reasons, strlen(re->reasons));
	else
		sbuf_add(&b, "[]", 2);
	sbuf_add(&b, "}", 1);
	out = audit_redacted(a, b.p);
	free(b.p);
	return (out);
}

int
audit_run_event(struct audit_run *ar, const struct run_event *re, struct merr *e)
{
	struct audit_ev	 x;
	const char	*name = NULL;

	if (ar->a->remote != NULL)
		return (audit_remote_append(ar, re, NULL, e));
	memset(&x, 0, sizeof x);
	x.t = re->t;
	x.count = 1;
	x.bytes_out = x.bytes_in = -1;
	x.detail = audit_redacted(ar->a, re->text);
	switch (re->kind) {
	case EV_NOTE:
		x.kind = "note";
		break;
	case EV_SYSCALL_DENIED:
		x.kind = "syscall";
		name = re->syscall != NULL ? re->syscall : "?";
		x.count = re->count > 0 ? (int64_t)re->count : 1;
		if (audit_aggregate(ar, name, &x.detail, x.count)) {
			free(x.detail);
			return (audit_maybe_flush(ar, e));
		}
		break;
	case EV_NET_CONN:
		x.kind = "net";
		name = re->host != NULL ? re->host : re->addr;
		x.host = re->host != NULL ? xstrdup(re->host) : NULL;
		x.addr = re->addr != NULL ? xstrdup(re->addr) : NULL;
		x.port = (int)re->port;
		x.verdict = re->verdict != NULL ? xstrdup(re->verdict) : NULL;
		x.rule = re->rule != NULL ? xstrdup(re->rule) : NULL;
		x.bytes_out = (int64_t)re->bytes_out;
		x.bytes_in = (int64_t)re->bytes_in;
		if (re->duration > 0)
			x.extra = xprintf("{\"duration\":%.3f}", re->duration);
		break;
	case EV_LIMIT_HIT:
		x.kind = "limit";
		break;
	case EV_FILE_CHANGED:
		x.kind = "file";
		name = re->path;
		x.verdict = re->change != NULL ? xstrdup(re->change) : NULL;
		break;
	case EV_EXEC:
		x.kind = "exec";
		name = re->path;
		x.extra = audit_exec_extra(ar->a, re);
		break;
	default:
		x.kind = "note";
		break;
	}
	x.name = name != NULL ? xstrdup(name) : NULL;
	ar->ev = xreallocarray(ar->ev, ar->nev + 1, sizeof *ar->ev);
	ar->ev[ar->nev++] = x;
	return (audit_maybe_flush(ar, e));
}

int
audit_run_sample(struct audit_run *ar, const struct audit_sample *s, struct merr *e)
{
	if (ar->a->remote != NULL)
		return (audit_remote_append(ar, NULL, s, e));
	ar->smp = xreallocarray(ar->smp, ar->nsmp + 1, sizeof *ar->smp);
	ar->smp[ar->nsmp++] = *s;
	return (audit_maybe_flush(ar, e));
}

/* Notes that the bytes from off on were written at ms, into the tail's
 * ring of ticks, dropping those the tail no longer holds. */
static void
audit_tick_tail(struct audit_run *ar, struct audit_out *o, uint64_t off, uint64_t ms)
{
	uint64_t	 from = o->bytes > ar->tail_max ? o->bytes - ar->tail_max : 0;

	if (o->tt == NULL)
		o->tt = xreallocarray(NULL, AUDIT_TICKS_MAX, sizeof *o->tt);
	if (o->ntt == 0 || ms >= o->tt[(o->tt0 + o->ntt - 1) % AUDIT_TICKS_MAX].ms +
	    AUDIT_TICK_MS) {
		if (o->ntt == AUDIT_TICKS_MAX) {
			o->tt0 = (o->tt0 + 1) % AUDIT_TICKS_MAX;
			o->ntt--;
		}
		o->tt[(o->tt0 + o->ntt++) % AUDIT_TICKS_MAX] =
		    (struct audit_tick){ off, ms };
	}
	/* A tick is needed while the stretch it starts reaches into the tail. */
	while (o->ntt > 1 && o->tt[(o->tt0 + 1) % AUDIT_TICKS_MAX].off <= from) {
		o->tt0 = (o->tt0 + 1) % AUDIT_TICKS_MAX;
		o->ntt--;
	}
}

void
audit_output_feed(struct audit_run *ar, int stream, const void *buf, size_t len)
{
	struct audit_out	*o;
	const char		*p = buf;
	size_t			 k;
	uint64_t		 off, ms;
	double			 dt;

	if ((stream != 1 && stream != 2) || len == 0)
		return;
	o = &ar->out[stream - 1];
	off = o->bytes;
	dt = now_mono() - ar->started_mono;
	ms = dt > 0 ? (uint64_t)(dt * 1000) : 0;
	o->bytes += len;
	sha256_update(&o->sha, buf, len);
	if (o->nhead < ar->head_max) {
		if (o->th == NULL)
			o->th = xreallocarray(NULL, AUDIT_TICKS_MAX, sizeof *o->th);
		if (o->nth == 0 || (o->nth < AUDIT_TICKS_MAX &&
		    ms >= o->th[o->nth - 1].ms + AUDIT_TICK_MS))
			o->th[o->nth++] = (struct audit_tick){ off, ms };
		if (o->head == NULL)
			o->head = xmalloc(ar->head_max);
		k = ar->head_max - o->nhead < len ? ar->head_max - o->nhead : len;
		memcpy(o->head + o->nhead, p, k);
		o->nhead += k;
		p += k;
		len -= k;
		off += k;
	}
	if (len == 0 || ar->tail_max == 0)
		return;
	audit_tick_tail(ar, o, off, ms);
	if (o->ring == NULL)
		o->ring = xmalloc(ar->tail_max);
	o->ring_fill += len;
	if (len >= ar->tail_max) {
		memcpy(o->ring, p + len - ar->tail_max, ar->tail_max);
		o->ring_pos = 0;
		return;
	}
	k = ar->tail_max - o->ring_pos < len ? ar->tail_max - o->ring_pos : len;
	memcpy(o->ring + o->ring_pos, p, k);
	memcpy(o->ring, p + k, len - k);
	o->ring_pos = (o->ring_pos + len) % ar->tail_max;
}

/* A stream's ticks as moat-audit(5) says: a line "OFFSET MS" per stretch,
 * offsets rising, only those of bytes kept (the head's, then the tail's,
 * whose first starts where the tail does). */
static char *
audit_timing_text(const struct audit_out *o, size_t ntail)
{
	size_t		 cap = (o->nth + o->ntt) * 42 + 1, len = 0;
	char		*t = xmalloc(cap);
	uint64_t	 from = o->bytes - ntail;

	t[0] = '\0';
	for (size_t j = 0; j < o->nth; j++)
		len += (size_t)snprintf(t + len, cap - len, "%" PRIu64 " %" PRIu64 "\n",
		    o->th[j].off, o->th[j].ms);
	for (size_t j = 0; ntail > 0 && j < o->ntt; j++) {
		const struct audit_tick	*x = &o->tt[(o->tt0 + j) % AUDIT_TICKS_MAX];

		if (j + 1 < o->ntt && o->tt[(o->tt0 + j + 1) % AUDIT_TICKS_MAX].off <= from)
			continue;
		len += (size_t)snprintf(t + len, cap - len, "%" PRIu64 " %" PRIu64 "\n",
		    x->off > from ? x->off : from, x->ms);
	}
	return (t);
}

/* Stores one stream's head and tail, redacted so that every byte keeps
 * its offset, and when each stretch of it was written. */
static int
audit_write_output(struct audit_run *ar, int i, struct merr *e)
{
	struct audit		*a = ar->a;
	struct audit_out	*o = &ar->out[i];
	autoreset struct sqlite3_stmt *st = NULL;
	autofree char		*tail = NULL, *rh = NULL, *rt = NULL, *timing = NULL;
	size_t			 ntail = 0, nrh = 0, nrt = 0;

	if (o->bytes == 0 || (o->nhead == 0 && o->ring_fill == 0))
		return (0);
	if (o->ring_fill > 0) {
		ntail = o->ring_fill < ar->tail_max ? (size_t)o->ring_fill : ar->tail_max;
		tail = xmalloc(ntail);
		if (o->ring_fill < ar->tail_max)
			memcpy(tail, o->ring, ntail);
		else {
			memcpy(tail, o->ring + o->ring_pos, ar->tail_max - o->ring_pos);
			memcpy(tail + ar->tail_max - o->ring_pos, o->ring, o->ring_pos);
		}
	}
	if (o->nhead > 0 && ntail > 0 && o->bytes == o->nhead + ntail) {
		/* Head and tail meet: redacted as one text, so a secret that
		 * spans the cut is found, then cut again where it was. */
		autofree char	*all = xmalloc(o->nhead + ntail), *r = NULL;

		memcpy(all, o->head, o->nhead);
		memcpy(all + o->nhead, tail, ntail);
		r = redact_text_keep(a->redact, all, o->nhead + ntail);
		rh = xmalloc(o->nhead);
		memcpy(rh, r, o->nhead);
		rt = xmalloc(ntail);
		memcpy(rt, r + o->nhead, ntail);
	} else {
		if (ntail > 0)
			rt = redact_text_keep(a->redact, tail, ntail);
		if (o->nhead > 0)
			rh = redact_text_keep(a->redact, o->head, o->nhead);
	}
	nrt = ntail;
	nrh = o->nhead;
	timing = audit_timing_text(o, ntail);
	if ((st = audit_cached(a, audit_sql_output, e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, ar->rowid);
	bind_text(st, 2, i == 0 ? "stdout" : "stderr");
	if (rh != NULL)
		sqlite3_bind_blob(st, 3, rh, (int)nrh, SQLITE_TRANSIENT);
	if (rt != NULL)
		sqlite3_bind_blob(st, 4, rt, (int)nrt, SQLITE_TRANSIENT);
	if (timing != NULL && *timing != '\0')
		bind_text(st, 5, timing);
	return (audit_step_done(a, st, e, "record output"));
}

void
audit_run_output_init(struct audit_run *ar, const struct audit_start *s)
{
	ar->head_max = s->output_head == 0 ? AUDIT_OUTPUT_DEFAULT :
	    s->output_head == AUDIT_OUTPUT_NONE ? 0 : s->output_head;
	ar->tail_max = s->output_tail == 0 ? AUDIT_OUTPUT_DEFAULT :
	    s->output_tail == AUDIT_OUTPUT_NONE ? 0 : s->output_tail;
	for (int i = 0; i < 2; i++)
		sha256_init(&ar->out[i].sha);
	ar->last_flush = ar->started_mono = now_mono();
}

void
audit_run_free(struct audit_run *ar)
{
	if (ar == NULL)
		return;
	for (size_t i = 0; i < ar->nev; i++)
		audit_ev_clear(&ar->ev[i]);
	free(ar->ev);
	free(ar->smp);
	for (size_t i = 0; i < ar->nagg; i++)
		free(ar->agg[i].name);
	free(ar->agg);
	if (ar->wire != NULL) {
		free(ar->wire->p);
		free(ar->wire);
	}
	for (int i = 0; i < 2; i++) {
		free(ar->out[i].head);
		free(ar->out[i].ring);
		free(ar->out[i].th);
		free(ar->out[i].tt);
	}
	free(ar->run_id);
	free(ar);
}

void
audit_run_abandon(struct audit_run *ar)
{
	if (ar->a->remote != NULL) {
		audit_remote_abandon(ar);
		return;
	}
	audit_run_free(ar);
}

/* A note event on the run: its start fields were changed under it. */
static int
audit_note_edited(struct audit_run *ar, struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL;

	if ((st = audit_prepare(ar->a, "INSERT INTO events (run, t, kind, name, detail) "
	    "VALUES (?1, ?2, 'note', 'row-edited', ?3)", e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, ar->rowid);
	sqlite3_bind_double(st, 2, round((audit_now() - ar->started_at) * 1000) / 1000);
	bind_text(st, 3, "the row's start fields (command, profile, owner, ...) were "
	    "edited while the command ran; begin_hash is what moat began");
	return (audit_step_done(ar->a, st, e, "complete run"));
}

static int	audit_run_end_once(struct audit_run *, struct sqlite3_stmt *,
		    struct sqlite3_stmt *, char *, struct merr *);

/* The completion could not be written: into the spool, to be written by
 * the next moat that opens the log. e already says why the log refused;
 * it is told what became of the run. */
static void
audit_spool_end(struct audit_run *ar, const struct spool_rec *r, struct merr *e)
{
	struct audit	*a = ar->a;
	autofree char	*line = NULL;
	size_t		 len;
	char		 why[sizeof e->msg];

	snprintf(why, sizeof why, "%s", e->msg);
	line = spool_format(r, &len);
	if (a->spoolfd == -1 || len > SPOOL_LINE_MAX ||
	    spool_append(a->spoolfd, line, len) == -1) {
		merr_set(e, "%s; run %s's completion (exit %d) is lost: the next moat "
		    "marks it interrupted", why, ar->run_id, r->exit_code);
		return;
	}
	merr_set(e, "%s; run %s's completion (exit %d) was kept in %s-spool, and the "
	    "next moat that opens the log writes it there (the output and events "
	    "not yet written are not kept)", why, ar->run_id, r->exit_code, a->path);
}

int
audit_run_end(struct audit_run *ar, const struct audit_end *en, struct merr *e)
{
	struct audit	*a = ar->a;
	autoreset struct sqlite3_stmt *st = NULL, *up = NULL;
	double		 ended = en->ended_at > 0 ? en->ended_at : audit_now();
	char		 iso[40], sha[2][SHA256_HEX_LEN], now_hash[SHA256_HEX_LEN];
	autofree char	*reasons = NULL;
	struct spool_rec rec;
	int		 rc = -1;

	if (a->remote != NULL)
		return (audit_remote_end(ar, en, e));
	audit_iso_time(ended, iso, sizeof iso);
	for (int i = 0; i < 2; i++)
		if (ar->sha_given)
			memcpy(sha[i], ar->sha_hex[i], SHA256_HEX_LEN);
		else
			sha256_final_hex(&ar->out[i].sha, sha[i]);
	reasons = audit_redacted(a, en->risk_reasons != NULL ? en->risk_reasons : "[]");
	rec = (struct spool_rec){
		.rowid = ar->rowid, .run_id = ar->run_id, .begin_hash = ar->begin_hash,
		.status = audit_status_name(en->status == AUDIT_RUNNING ? AUDIT_DONE :
		    en->status),
		.ended_at = iso,
		.duration = round((ended - ar->started_at) * 1000) / 1000,
		.end_reason = en->end_reason, .exit_code = en->exit_code,
		.signal = en->signal, .cpu_user = en->cpu_user, .cpu_sys = en->cpu_sys,
		.peak_memory = en->peak_memory, .peak_pids = en->peak_pids,
		.limits = en->limits, .risk = en->risk, .risk_reasons = reasons,
		.out_bytes = { (int64_t)ar->out[0].bytes, (int64_t)ar->out[1].bytes },
		.out_sha = { sha[0], sha[1] },
	};
	if ((st = audit_cached(a, audit_end_sql, e)) == NULL)
		goto out;
	audit_bind_end(st, &rec);
	if ((up = audit_cached(a, audit_sql_begin_hash, e)) == NULL)
		goto out;
	bind_text(up, 1, ar->begin_hash);
	sqlite3_bind_int64(up, 2, ar->rowid);
	/* The command has run: its completion is not given up for a lock held
	 * past the busy timeout or a write that failed for space, but tried
	 * again (AUDIT_END_TRIES times; the buffers are still ours), and then
	 * kept in the spool. */
	for (int try = 1; ; try++) {
		int	code;

		sqlite3_reset(st);
		sqlite3_reset(up);
		if (audit_run_end_once(ar, st, up, now_hash, e) == 0)
			break;
		code = sqlite3_extended_errcode(a->db) & 0xff;
		audit_rollback(a);
		if (code != SQLITE_BUSY && code != SQLITE_LOCKED && code != SQLITE_FULL &&
		    code != SQLITE_IOERR)
			goto out;
		if (try == AUDIT_END_TRIES) {
			audit_spool_end(ar, &rec, e);
			goto out;
		}
		if (code == SQLITE_FULL || code == SQLITE_IOERR)
			sleep(1);
	}
	audit_after_end(a);
	rc = 0;
out:
	audit_run_free(ar);
	return (rc);
}

void
audit_run_warm(struct audit_run *ar)
{
	static const char *const sql[] = {
		audit_sql_begin, audit_end_sql, audit_sql_begin_hash,
		audit_sql_output, audit_sql_begun, audit_sql_meta_get,
		audit_sql_events, audit_sql_samples, audit_sql_outputs,
		audit_sql_timing, audit_sql_chain, audit_sql_row, audit_sql_hash,
		audit_sql_meta_set, audit_sql_commit,
	};
	struct merr	e;

	if (ar == NULL || ar->a->remote != NULL || ar->a->db == NULL)
		return;
	for (size_t i = 0; i < nitems(sql); i++)
		(void)audit_cached(ar->a, sql[i], &e);
}

/* One try at audit_run_end's transaction; -1 with e set, not rolled back. */
static int
audit_run_end_once(struct audit_run *ar, struct sqlite3_stmt *st,
    struct sqlite3_stmt *up, char *now_hash, struct merr *e)
{
	struct audit	*a = ar->a;

	if (audit_tx(a, audit_sql_begin, e) == -1)
		return (-1);
	if (audit_write_buffers(ar, e) == -1 ||
	    audit_write_output(ar, 0, e) == -1 || audit_write_output(ar, 1, e) == -1 ||
	    audit_step_done(a, st, e, "complete run") == -1)
		return (-1);
	if (sqlite3_changes(a->db) != 1)
		return (merr_set(e, "audit log %s: run %s is no longer running (marked "
		    "interrupted by another moat?)", a->path, ar->run_id));
	/* The row's start fields as this moat began them, or a note that they
	 * were edited while the command ran. The begin hash stays this moat's
	 * own, so the edit also shows in verify for as long as the row lasts. */
	if (audit_begin_hash(a, ar->rowid, now_hash, e) == -1 ||
	    audit_step_done(a, up, e, "complete run") == -1)
		return (-1);
	if (strcmp(now_hash, ar->begin_hash) != 0 && audit_note_edited(ar, e) == -1)
		return (-1);
	if (audit_chain(a, ar->rowid, e) == -1 || audit_tx(a, audit_sql_commit, e) == -1)
		return (-1);
	return (0);
}

/* Verification walks the chain in sequence order from the last checkpoint.
 * For each row it asks, in this order: is it past the recorded head
 * (inserted)? does it skip its predecessor while the next row links to that
 * predecessor (inserted)? does its content still give its hash (edited)? does
 * it link to its predecessor (deleted when rows are missing before it)? */
struct audit_link {
	int64_t		id, seq;
	char		prev[SHA256_HEX_LEN + 8], hash[SHA256_HEX_LEN + 8];
	char		children[SHA256_HEX_LEN + 8];
	char		begin[SHA256_HEX_LEN + 8];	/* "" = none (rows before it) */
};

static void
audit_link_read(struct sqlite3_stmt *st, struct audit_link *l)
{
	l->id = sqlite3_column_int64(st, 0);
	l->seq = sqlite3_column_int64(st, 1);
	snprintf(l->prev, sizeof l->prev, "%s", (const char *)sqlite3_column_text(st, 2) ?: "");
	snprintf(l->hash, sizeof l->hash, "%s", (const char *)sqlite3_column_text(st, 3) ?: "");
	snprintf(l->children, sizeof l->children, "%s",
	    (const char *)sqlite3_column_text(st, 4) ?: "");
	snprintf(l->begin, sizeof l->begin, "%s", (const char *)sqlite3_column_text(st, 5) ?: "");
}

static int
audit_verify_bad(struct audit_verify *v, int64_t id, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
audit_verify_bad(struct audit_verify *v, int64_t id, const char *what, const char *fmt, ...)
{
	va_list	ap;

	v->bad_id = id;
	snprintf(v->what, sizeof v->what, "%s", what);
	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof v->msg, fmt, ap);
	va_end(ap);
	return (1);
}

/* Running rows: each must be one moat began (else forged); those whose
 * moat is gone are counted, not closed. */
static int
audit_verify_running(struct audit *a, struct audit_verify *v, struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL;
	int		 rc;

	if ((st = audit_prepare(a, "SELECT id, owner_pid, owner_start, boot_id, host "
	    "FROM runs WHERE status = 'running' ORDER BY id", e)) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t		 id = sqlite3_column_int64(st, 0);
		const char	*why;
		int		 begun = audit_row_begun(a, id, &why, e);

		if (begun == -1)
			return (-1);
		if (begun == 0)
			return (audit_verify_bad(v, id, "forged", "run %lld is running, but "
			    "%s: forged or edited (no moat began it as it is; moat will "
			    "never close or chain it)", (long long)id, why));
		if (!audit_owner_alive(a, (pid_t)sqlite3_column_int64(st, 1),
		    (unsigned long long)sqlite3_column_int64(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4)) && v->dead++ == 0)
			v->dead_id = id;
	}
	if (rc != SQLITE_DONE)
		return (audit_err(a, e, "read running runs"));
	return (0);
}

/* The schema as the migrations make it, one line per table, index, view
 * and trigger; owned. */
static char *
audit_schema_text(struct sqlite3 *db)
{
	struct sqlite3_stmt	*st = NULL;
	char			*out = NULL, *next;

	if (sqlite3_prepare_v2(db, "SELECT type || ' ' || name || ': ' || "
	    "coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
	    "ORDER BY type, name", -1, &st, NULL) != SQLITE_OK)
		return (NULL);
	out = xstrdup("");
	while (sqlite3_step(st) == SQLITE_ROW) {
		next = xprintf("%s%s\n", out, (const char *)sqlite3_column_text(st, 0));
		free(out);
		out = next;
	}
	sqlite3_finalize(st);
	return (out);
}

/* Compares the file's schema with what the migrations make: a trigger, a
 * dropped index or a changed column is reported as a schema change. */
static int
audit_verify_schema(struct audit *a, struct audit_verify *v, struct merr *e)
{
	struct sqlite3	*mem = NULL;
	autofree char	*want = NULL, *have = NULL;
	char		*w, *h, *wl, *hl;

	if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(mem);
		return (merr_set(e, "audit log %s: out of memory", a->path));
	}
	for (size_t i = 0; i < audit_schema_n; i++)
		if (sqlite3_exec(mem, audit_schema[i], NULL, NULL, NULL) != SQLITE_OK) {
			merr_set(e, "audit log: schema migration %zu: %s", i,
			    sqlite3_errmsg(mem));
			sqlite3_close(mem);
			return (-1);
		}
	want = audit_schema_text(mem);
	sqlite3_close(mem);
	if ((have = audit_schema_text(a->db)) == NULL)
		return (audit_err(a, e, "read the schema"));
	if (want == NULL)
		return (merr_set(e, "audit log: cannot read the expected schema"));
	if (strcmp(want, have) == 0)
		return (0);
	/* Name the first line that differs: the object added, removed or
	 * changed. */
	for (w = want, h = have; *w != '\0' && *h != '\0'; w = wl + 1, h = hl + 1) {
		wl = strchr(w, '\n');
		hl = strchr(h, '\n');
		if (wl - w != hl - h || memcmp(w, h, (size_t)(wl - w)) != 0)
			break;
	}
	{
		autofree char	*hn = xstrndup(h, strcspn(h, ":\n"));
		autofree char	*wn = xstrndup(w, strcspn(w, ":\n"));

		if (*h == '\0' || (*w != '\0' && strcmp(hn, wn) > 0))
			return (audit_verify_bad(v, 0, "schema", "the schema was changed: "
			    "%s is missing", wn));
		if (*w == '\0' || strcmp(hn, wn) < 0)
			return (audit_verify_bad(v, 0, "schema", "the schema was changed: "
			    "%s was added", hn));
		return (audit_verify_bad(v, 0, "schema", "the schema was changed: %s "
		    "differs from moat's", hn));
	}
}

int
audit_verify(struct audit *a, struct audit_verify *v, struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL, *cp = NULL, *loose = NULL;
	struct audit_link cur, next;
	char		 expect[SHA256_HEX_LEN + 8] = AUDIT_GENESIS, head_hash[80], buf[32];
	char		 h[SHA256_HEX_LEN], ch[SHA256_HEX_LEN];
	int64_t		 expect_seq = 1, head_seq, last_id = 0;
	int		 rc, result = 0;
	bool		 have_next;

	memset(v, 0, sizeof *v);
	/* A damaged file first: what it holds cannot be judged row by row. */
	if ((rc = audit_quick_check(a, v->msg, sizeof v->msg, e)) == -1)
		return (-1);
	if (rc == 1) {
		char	why[sizeof v->msg];

		snprintf(why, sizeof why, "%s", v->msg);
		snprintf(v->msg, sizeof v->msg, "the database file is damaged (%.400s): "
		    "restore it from a backup", why);
		snprintf(v->what, sizeof v->what, "damaged");
		return (1);
	}
	/* One read transaction: a consistent snapshot while runs complete. */
	if (audit_exec(a, "BEGIN", e) == -1)
		return (-1);
	if (audit_meta_get(a, "head_seq", buf, sizeof buf, e) == -1 ||
	    audit_meta_get(a, "head_hash", head_hash, sizeof head_hash, e) == -1)
		goto fail;
	head_seq = strtoll(buf, NULL, 10);
	if ((cp = audit_prepare(a, "SELECT last_seq, last_hash FROM checkpoints "
	    "ORDER BY id DESC LIMIT 1", e)) == NULL)
		goto fail;
	if (sqlite3_step(cp) == SQLITE_ROW) {
		expect_seq = sqlite3_column_int64(cp, 0) + 1;
		snprintf(expect, sizeof expect, "%s", (const char *)sqlite3_column_text(cp, 1) ?: "");
	}
	if ((st = audit_prepare(a, "SELECT id, seq, prev_hash, hash, children_hash, "
	    "begin_hash FROM runs WHERE seq IS NOT NULL ORDER BY seq", e)) == NULL)
		goto fail;
	memset(&cur, 0, sizeof cur);
	memset(&next, 0, sizeof next);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		audit_link_read(st, &next);
	have_next = rc == SQLITE_ROW;
	while (have_next) {
		cur = next;
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			audit_link_read(st, &next);
		else if (rc != SQLITE_DONE) {
			audit_err(a, e, "read chain");
			goto fail;
		}
		have_next = rc == SQLITE_ROW;
		if (cur.seq < expect_seq) {
			result = audit_verify_bad(v, cur.id, "inserted", "run %lld (seq %lld) "
			    "is older than the last prune checkpoint: inserted",
			    (long long)cur.id, (long long)cur.seq);
			break;
		}
		if (cur.seq > head_seq) {
			result = audit_verify_bad(v, cur.id, "inserted", "run %lld (seq %lld) "
			    "is past the recorded head of the chain (seq %lld): inserted",
			    (long long)cur.id, (long long)cur.seq, (long long)head_seq);
			break;
		}
		if (strcmp(cur.prev, expect) != 0 && have_next &&
		    strcmp(next.prev, expect) == 0) {
			result = audit_verify_bad(v, cur.id, "inserted", "run %lld (seq %lld) "
			    "does not belong between its neighbours: inserted",
			    (long long)cur.id, (long long)cur.seq);
			break;
		}
		if (audit_row_hash(a, cur.id, h, e) == -1)
			goto fail;
		if (strcmp(cur.prev, expect) == 0 && have_next && strcmp(next.prev, expect) == 0) {
			/* Two rows claim the same predecessor: the one whose
			 * hash does not hold was slipped in. */
			int64_t	 bad = strcmp(h, cur.hash) != 0 ? cur.id : next.id;

			result = audit_verify_bad(v, bad, "inserted", "run %lld was inserted: "
			    "it and its neighbour both claim to follow seq %lld",
			    (long long)bad, (long long)expect_seq - 1);
			break;
		}
		if (strcmp(h, cur.hash) != 0) {
			result = audit_verify_bad(v, cur.id, "edited", "run %lld (seq %lld) "
			    "was edited: its content no longer matches its hash",
			    (long long)cur.id, (long long)cur.seq);
			break;
		}
		if (audit_children_hash(a, cur.id, ch, e) == -1)
			goto fail;
		if (strcmp(ch, cur.children) != 0) {
			result = audit_verify_bad(v, cur.id, "edited", "run %lld (seq %lld) "
			    "was edited: its events, samples or output no longer match",
			    (long long)cur.id, (long long)cur.seq);
			break;
		}
		if (cur.begin[0] != '\0') {
			if (audit_begin_hash(a, cur.id, h, e) == -1)
				goto fail;
			if (strcmp(h, cur.begin) != 0) {
				result = audit_verify_bad(v, cur.id, "edited", "run %lld "
				    "(seq %lld) was edited while it ran: its command, "
				    "profile or owner are not what moat began",
				    (long long)cur.id, (long long)cur.seq);
				break;
			}
		}
		if (strcmp(cur.prev, expect) != 0) {
			if (cur.seq > expect_seq)
				result = audit_verify_bad(v, cur.id, "deleted", "%lld run(s) "
				    "deleted before run %lld (seq %lld to %lld are missing)",
				    (long long)(cur.seq - expect_seq), (long long)cur.id,
				    (long long)expect_seq, (long long)cur.seq - 1);
			else
				result = audit_verify_bad(v, cur.id, "edited", "run %lld "
				    "(seq %lld) does not link to its predecessor: edited "
				    "or its predecessor was replaced", (long long)cur.id,
				    (long long)cur.seq);
			break;
		}
		snprintf(expect, sizeof expect, "%s", cur.hash);
		expect_seq = cur.seq + 1;
		last_id = cur.id;
		v->rows++;
	}
	if (result == 0 && (expect_seq - 1 != head_seq || strcmp(expect, head_hash) != 0)) {
		if (expect_seq - 1 < head_seq)
			result = audit_verify_bad(v, last_id, "deleted", "%lld run(s) deleted "
			    "at the end of the chain (after %s%lld, seq %lld to %lld are missing)",
			    (long long)(head_seq - expect_seq + 1), last_id ? "run " : "checkpoint ",
			    (long long)(last_id ? last_id : expect_seq - 1),
			    (long long)expect_seq, (long long)head_seq);
		else
			result = audit_verify_bad(v, last_id, "edited", "the recorded head of "
			    "the chain (meta head_hash) does not match run %lld: edited",
			    (long long)last_id);
	}
	if (result == 0) {
		/* A completed run outside the chain was written by something else. */
		if ((loose = audit_prepare(a, "SELECT id FROM runs WHERE seq IS NULL AND "
		    "(status != 'running' OR hash IS NOT NULL) ORDER BY id LIMIT 1", e)) == NULL)
			goto fail;
		if (sqlite3_step(loose) == SQLITE_ROW)
			result = audit_verify_bad(v, sqlite3_column_int64(loose, 0), "inserted",
			    "run %lld is complete but not in the chain: inserted",
			    (long long)sqlite3_column_int64(loose, 0));
	}
	if (result == 0)
		result = audit_verify_running(a, v, e);
	if (result == 0)
		result = audit_verify_schema(a, v, e);
	if (result == -1)
		goto fail;
	if (result == 0)
		snprintf(v->head, sizeof v->head, "%.*s", (int)sizeof v->head - 1, expect);
	sqlite3_finalize(TAKE_PTR(st));
	sqlite3_finalize(TAKE_PTR(cp));
	sqlite3_finalize(TAKE_PTR(loose));
	audit_rollback(a);
	return (result);
fail:
	audit_rollback(a);
	return (-1);
}

int64_t
audit_prune(struct audit *a, const char *before, struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL;
	struct audit_verify v;
	int64_t		 last_seq = 0, pruned, floor_seq = 0;
	char		 hash[80], iso[40];

	switch (audit_verify(a, &v, e)) {
	case -1:
		return (-1);
	case 1:
		return (merr_set(e, "audit log %s: refusing to prune a broken chain: %s",
		    a->path, v.msg));
	}
	if (audit_tx(a, audit_sql_begin, e) == -1)
		return (-1);
	/* Only a prefix of the chain can go, or verify could not start again. */
	if ((st = audit_prepare(a, "SELECT coalesce((SELECT min(seq) FROM runs WHERE "
	    "seq IS NOT NULL AND ended_at >= ?1) - 1, (SELECT max(seq) FROM runs)), "
	    "(SELECT min(seq) FROM runs WHERE seq IS NOT NULL)", e)) == NULL)
		goto fail;
	bind_text(st, 1, before);
	if (sqlite3_step(st) != SQLITE_ROW) {
		audit_err(a, e, "prune");
		goto fail;
	}
	last_seq = sqlite3_column_int64(st, 0);
	floor_seq = sqlite3_column_int64(st, 1);
	sqlite3_finalize(TAKE_PTR(st));
	if (last_seq < floor_seq || last_seq <= 0) {
		audit_rollback(a);
		return (0);
	}
	if ((st = audit_prepare(a, "SELECT hash FROM runs WHERE seq = ?1", e)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, last_seq);
	if (sqlite3_step(st) != SQLITE_ROW) {
		audit_err(a, e, "prune");
		goto fail;
	}
	snprintf(hash, sizeof hash, "%s", (const char *)sqlite3_column_text(st, 0) ?: "");
	sqlite3_finalize(TAKE_PTR(st));
	if ((st = audit_prepare(a, "DELETE FROM runs WHERE seq IS NOT NULL AND seq <= ?1",
	    e)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, last_seq);
	if (audit_step_done(a, st, e, "prune") == -1)
		goto fail;
	pruned = sqlite3_changes(a->db);
	sqlite3_finalize(TAKE_PTR(st));
	audit_iso_time(audit_now(), iso, sizeof iso);
	if ((st = audit_prepare(a, "INSERT INTO checkpoints (created_at, before, last_seq, "
	    "last_hash, pruned) VALUES (?1, ?2, ?3, ?4, ?5)", e)) == NULL)
		goto fail;
	bind_text(st, 1, iso);
	bind_text(st, 2, before);
	sqlite3_bind_int64(st, 3, last_seq);
	bind_text(st, 4, hash);
	sqlite3_bind_int64(st, 5, pruned);
	if (audit_step_done(a, st, e, "record checkpoint") == -1 ||
	    audit_tx(a, audit_sql_commit, e) == -1)
		goto fail;
	return (pruned);
fail:
	audit_rollback(a);
	return (-1);
}

/* The integer id, or a unique prefix of the run id string. */
int
audit_run_find(struct audit *a, const char *arg, struct audit_run_info *ri,
    struct merr *e)
{
	autostmt struct sqlite3_stmt *st = NULL;
	autofree char	*hi = xstrdup(arg);
	size_t		 len = strlen(hi);
	unsigned long long n;
	int		 found = 0, rc;
	int64_t		 id = 0;

	memset(ri, 0, sizeof *ri);
	if (parse_uint(arg, INT64_MAX, &n) == 0) {
		if ((st = audit_prepare(a, "SELECT id FROM runs WHERE id = ?1", e)) == NULL)
			return (-1);
		sqlite3_bind_int64(st, 1, (int64_t)n);
		if (sqlite3_step(st) == SQLITE_ROW) {
			id = (int64_t)n;
			found = 1;
		}
		sqlite3_finalize(TAKE_PTR(st));
	}
	if (!found && len > 0 && (unsigned char)hi[len - 1] != 0xff) {
		hi[len - 1]++;	/* the prefix range [arg, hi) uses the run_id index */
		if ((st = audit_prepare(a, "SELECT id FROM runs WHERE run_id >= ?1 AND "
		    "run_id < ?2 ORDER BY run_id LIMIT 2", e)) == NULL)
			return (-1);
		bind_text(st, 1, arg);
		bind_text(st, 2, hi);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (found++ == 0)
				id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(TAKE_PTR(st));
		if (found > 1)
			return (merr_set(e, "\"%s\" is ambiguous: it starts more than one "
			    "run id; give more of it", arg));
	}
	if (!found)
		return (merr_set(e, "no run \"%s\" in %s (give the ID from \"moat audit "
		    "list\" or a prefix of the run id)", arg, a->path));
	if ((st = audit_prepare(a, "SELECT id, run_id, workspace, profile, "
	    "(julianday(started_at) - 2440587.5) * 86400.0, status FROM runs "
	    "WHERE id = ?1", e)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return (audit_err(a, e, "read a run"));
	ri->id = id;
	snprintf(ri->run_id, sizeof ri->run_id, "%s", sqlite3_column_text(st, 1));
	ri->workspace = sqlite3_column_text(st, 2) != NULL ?
	    xstrdup((const char *)sqlite3_column_text(st, 2)) : NULL;
	ri->profile = sqlite3_column_text(st, 3) != NULL ?
	    xstrdup((const char *)sqlite3_column_text(st, 3)) : NULL;
	ri->started_at = sqlite3_column_double(st, 4);
	snprintf(ri->status, sizeof ri->status, "%s", sqlite3_column_text(st, 5));
	return (0);
}

void
audit_run_info_release(struct audit_run_info *ri)
{
	free(ri->workspace);
	free(ri->profile);
	memset(ri, 0, sizeof *ri);
}
