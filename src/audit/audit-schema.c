/* audit-schema.c: the audit log's schema as forward migrations. Entry v takes
 * a database at PRAGMA user_version v to v+1; audit_open applies the missing
 * ones in one transaction. Never edit a shipped entry: add the next one, and
 * describe it in doc/moat-audit.5. Supervisor and front ends. */
#include <stddef.h>

#include "audit.h"

const char *const audit_schema[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT"
	");"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id TEXT NOT NULL UNIQUE,"
	"  seq INTEGER UNIQUE,"
	"  prev_hash TEXT,"
	"  hash TEXT,"
	"  children_hash TEXT,"
	"  status TEXT NOT NULL CHECK (status IN"
	"    ('running','done','refused','interrupted','setup-failed')),"
	"  source TEXT NOT NULL,"
	"  client TEXT,"
	"  user TEXT,"
	"  uid INTEGER,"
	"  host TEXT,"
	"  profile TEXT,"
	"  profile_hash TEXT,"
	"  net_mode TEXT,"
	"  workspace TEXT,"
	"  cwd TEXT,"
	"  argv TEXT NOT NULL DEFAULT '[]',"
	"  command TEXT NOT NULL DEFAULT '',"
	"  risk_static INTEGER,"
	"  risk_static_reasons TEXT,"
	"  started_at TEXT NOT NULL,"
	"  ended_at TEXT,"
	"  duration REAL,"
	"  end_reason TEXT,"
	"  exit_code INTEGER,"
	"  signal INTEGER,"
	"  cpu_user REAL,"
	"  cpu_sys REAL,"
	"  peak_memory INTEGER,"
	"  peak_pids INTEGER,"
	"  limits TEXT,"
	"  risk_final INTEGER,"
	"  risk_final_reasons TEXT,"
	"  risk INTEGER GENERATED ALWAYS AS (coalesce(risk_final, risk_static)) VIRTUAL,"
	"  stdout_bytes INTEGER,"
	"  stdout_sha256 TEXT,"
	"  stderr_bytes INTEGER,"
	"  stderr_sha256 TEXT,"
	"  owner_pid INTEGER,"
	"  owner_start INTEGER,"
	"  boot_id TEXT"
	");"
	"CREATE INDEX runs_started ON runs (started_at);"
	"CREATE INDEX runs_running ON runs (status) WHERE status = 'running';"
	"CREATE INDEX runs_status ON runs (status);"
	"CREATE INDEX runs_profile ON runs (profile);"
	"CREATE INDEX runs_agent ON runs (source, client);"
	"CREATE INDEX runs_risk ON runs (risk);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	"  t REAL NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('syscall','net','limit','file','note')),"
	"  name TEXT,"
	"  detail TEXT,"
	"  count INTEGER NOT NULL DEFAULT 1,"
	"  host TEXT,"
	"  port INTEGER,"
	"  addr TEXT,"
	"  bytes_out INTEGER,"
	"  bytes_in INTEGER,"
	"  verdict TEXT,"
	"  rule TEXT,"
	"  extra TEXT"
	");"
	"CREATE INDEX events_run ON events (run);"
	"CREATE INDEX events_kind_name ON events (kind, name, count, run);"
	"CREATE INDEX events_kind_host ON events (kind, host, verdict);"
	"CREATE TABLE samples ("
	"  run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	"  t REAL NOT NULL,"
	"  cpu_pct REAL,"
	"  mem_bytes INTEGER,"
	"  pids INTEGER,"
	"  io_read INTEGER,"
	"  io_write INTEGER"
	");"
	"CREATE INDEX samples_run ON samples (run, t);"
	"CREATE TABLE outputs ("
	"  run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	"  stream TEXT NOT NULL CHECK (stream IN ('stdout','stderr')),"
	"  head BLOB,"
	"  tail BLOB,"
	"  PRIMARY KEY (run, stream)"
	") WITHOUT ROWID;"
	"CREATE TABLE checkpoints ("
	"  id INTEGER PRIMARY KEY,"
	"  created_at TEXT NOT NULL,"
	"  before TEXT NOT NULL,"
	"  last_seq INTEGER NOT NULL,"
	"  last_hash TEXT NOT NULL,"
	"  pruned INTEGER NOT NULL"
	");"
	"INSERT INTO meta (key, value) VALUES"
	"  ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  ('head_seq', '0'),"
	"  ('head_hash', '" AUDIT_GENESIS "');",
	/* 1 -> 2: the session a run ran in (moat session exec); NULL for a
	 * run with a sandbox of its own. */
	"ALTER TABLE runs ADD COLUMN session TEXT;"
	"CREATE INDEX runs_session ON runs (session) WHERE session IS NOT NULL;",
	/* 2 -> 3: the hash of what a row held when its moat began it, so that
	 * no moat chains a row it did not begin, nor one edited since. */
	"ALTER TABLE runs ADD COLUMN begin_hash TEXT;",
	/* 3 -> 4: the exec trail, events of kind 'exec' (a program the run
	 * started: name its path, detail its argv, extra its pid, parent,
	 * cwd, argv and static risk). SQLite cannot change a CHECK, so the
	 * table is made again with the same rows. */
	"CREATE TABLE events4 ("
	"  id INTEGER PRIMARY KEY,"
	"  run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	"  t REAL NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('syscall','net','limit','file','note',"
	"    'exec')),"
	"  name TEXT,"
	"  detail TEXT,"
	"  count INTEGER NOT NULL DEFAULT 1,"
	"  host TEXT,"
	"  port INTEGER,"
	"  addr TEXT,"
	"  bytes_out INTEGER,"
	"  bytes_in INTEGER,"
	"  verdict TEXT,"
	"  rule TEXT,"
	"  extra TEXT"
	");"
	"INSERT INTO events4 SELECT * FROM events;"
	"DROP TABLE events;"
	"ALTER TABLE events4 RENAME TO events;"
	"CREATE INDEX events_run ON events (run);"
	"CREATE INDEX events_kind_name ON events (kind, name, count, run);"
	"CREATE INDEX events_kind_host ON events (kind, host, verdict);",
	/* 4 -> 5: when each stretch of a stream's kept output was written
	 * (lines "OFFSET MS"), so moat audit replay plays it at its pace. */
	"ALTER TABLE outputs ADD COLUMN timing TEXT;",
	/* 5 -> 6: outputs as a rowid table with its key in an index. Without
	 * rowid, its b-tree's cells were whole rows, kept output and all, and
	 * every search compared the key with cells read whole, their overflow
	 * pages too: a run's end read the kept output of the runs beside it
	 * in the tree (57 pages to find that one run had none, in a log of
	 * 30,000 runs). The rows and what a row's hash covers are the same. */
	"CREATE TABLE outputs6 ("
	"  id INTEGER PRIMARY KEY,"
	"  run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	"  stream TEXT NOT NULL CHECK (stream IN ('stdout','stderr')),"
	"  head BLOB,"
	"  tail BLOB,"
	"  timing TEXT,"
	"  UNIQUE (run, stream)"
	");"
	"INSERT INTO outputs6 (run, stream, head, tail, timing)"
	"  SELECT run, stream, head, tail, timing FROM outputs ORDER BY run, stream;"
	"DROP TABLE outputs;"
	"ALTER TABLE outputs6 RENAME TO outputs;",
};

const size_t	audit_schema_n = sizeof audit_schema / sizeof audit_schema[0];
