/* test-audit.c: the audit log: sha256 vectors, a run's row from begin to end,
 * the hash chain against edits, deletions and insertions made with raw SQL,
 * prune, interrupted runs, redaction, concurrent and killed writers, and a
 * read-only or full database. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/redact.h"
#include "audit/replay.h"
#include "audit/spool.h"
#include "base/sha256.h"
#include "sandbox/spawn.h"
#include "../tap.h"
#include "base/util.h"

static char	tmpdir[] = "/tmp/moat-test-audit.XXXXXX";

static long long
q_int(struct audit *a, const char *sql)
{
	sqlite3_stmt	*st;
	long long	 v = -999;

	if (sqlite3_prepare_v2(audit_sqlite(a), sql, -1, &st, NULL) != SQLITE_OK) {
		tap_diag("prepare %s: %s", sql, sqlite3_errmsg(audit_sqlite(a)));
		return (v);
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (v);
}

static char *
q_text(struct audit *a, const char *sql)
{
	sqlite3_stmt	*st;
	char		*v = NULL;

	if (sqlite3_prepare_v2(audit_sqlite(a), sql, -1, &st, NULL) != SQLITE_OK)
		return (xstrdup("(prepare failed)"));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		v = xstrndup((const char *)sqlite3_column_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return (v != NULL ? v : xstrdup("(null)"));
}

static int
sql(struct audit *a, const char *s)
{
	char	*err = NULL;

	if (sqlite3_exec(audit_sqlite(a), s, NULL, NULL, &err) != SQLITE_OK) {
		tap_diag("sql %s: %s", s, err);
		sqlite3_free(err);
		return (-1);
	}
	return (0);
}

static char *
db_path(const char *name)
{
	return (xprintf("%s/%s", tmpdir, name));
}

/* One complete run through the API; started days ago when days > 0. */
static int
one_run(struct audit *a, int i, double started, struct merr *e)
{
	char			 arg[32];
	char			*argv[] = { "sh", "-c", arg, NULL };
	struct audit_start	 s = { .source = "cli", .profile = i % 2 ? "default" : "python",
	    .profile_text = "net isolated\n", .net_mode = "isolated", .workspace = "/w",
	    .cwd = "/w", .argv = argv, .risk = i % 100, .risk_reasons = "[\"r\"]",
	    .started_at = started };
	struct audit_end	 en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .exit_code = i % 3, .cpu_user = 0.5, .cpu_sys = 0.25, .peak_memory = 1 << 20,
	    .peak_pids = 3, .risk = i % 100, .ended_at = started > 0 ? started + 1 : 0 };
	struct run_event	 ev = { .kind = EV_SYSCALL_DENIED, .syscall = "mount",
	    .text = "mount(\"/x\")", .count = 1 };
	struct audit_sample	 sm = { .t = 0.5, .cpu_pct = 50, .mem_bytes = 4096, .pids = 2,
	    .io_read = -1, .io_write = -1 };
	struct audit_run	*ar;

	snprintf(arg, sizeof arg, "echo %d", i);
	if ((ar = audit_run_begin(a, &s, e)) == NULL)
		return (-1);
	audit_output_feed(ar, 1, arg, strlen(arg));
	if (audit_run_event(ar, &ev, e) == -1 || audit_run_sample(ar, &sm, e) == -1) {
		audit_run_abandon(ar);
		return (-1);
	}
	return (audit_run_end(ar, &en, e));
}

static struct audit *
make_db(const char *name, int n, struct merr *e)
{
	autofree char	*p = db_path(name);
	struct audit	*a = audit_open(p, 0, e);

	if (a == NULL)
		return (NULL);
	for (int i = 1; i <= n; i++)
		if (one_run(a, i, 0, e) == -1) {
			audit_close(a);
			return (NULL);
		}
	return (a);
}

static void
test_sha256(void)
{
	char		 hex[SHA256_HEX_LEN];
	struct sha256	 s;
	static char	 mil[1000];

	sha256_hex("", 0, hex);
	tap_ok(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
	    "sha256(\"\")");
	sha256_hex("abc", 3, hex);
	tap_ok(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	    "sha256(\"abc\")");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	tap_ok(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0,
	    "sha256 of the 448-bit vector (two padding blocks)");
	memset(mil, 'a', sizeof mil);
	sha256_init(&s);
	for (int i = 0, k = 0; i < 1000000; i += k) {
		k = 1 + (i * 7) % 997;	/* odd chunk sizes cross block boundaries */
		if (i + k > 1000000)
			k = 1000000 - i;
		sha256_update(&s, mil, (size_t)k);
	}
	sha256_final_hex(&s, hex);
	tap_ok(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
	    "sha256 of a million 'a' fed in uneven chunks");
}

static void
test_redact(void)
{
	struct merr	 e;
	struct redact	*r = redact_new();
	static const struct { const char *in, *gone, *kept; } cases[] = {
		{ "key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws-key]" },
		{ "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		    "wJalrXUtnFEMI", "aws_secret_access_key = [REDACTED]" },
		{ "GH=ghp_1234567890abcdefghijABCDEFGHIJ123456", "ghp_1234567890", "[REDACTED:github-token]" },
		{ "gho_abcdefghijklmnopqrstuvwxyz0123456789", "gho_abc", "[REDACTED:github-token]" },
		{ "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_11",
		    "[REDACTED:github-token]" },
		{ "xoxb-123456789012-abcdefghijkl", "xoxb-1234", "[REDACTED:slack-token]" },
		{ "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz012345", "sk-proj-abc", "[REDACTED" },
		{ "x-api-key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz-0123", "sk-ant-api03", "x-api-key: [REDACTED" },
		{ "AIzaSyA-1234567890abcdefghijklmnopqrstu", "AIzaSyA-123", "[REDACTED:google-key]" },
		{ "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		    "eyJzdWIi", "[REDACTED:jwt]" },
		{ "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAA\n"
		    "-----END OPENSSH PRIVATE KEY-----\nafter", "b3BlbnNzaC1rZXkt",
		    "[REDACTED:private-key]\nafter" },
		{ "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA", "MIIEowIBAAKCAQEA",
		    "[REDACTED:private-key]" },
		{ "Authorization: Bearer abc.def-ghi_jkl123", "abc.def-ghi", "Bearer [REDACTED]" },
		{ "mysql --password=hunter2 db", "hunter2", "--password=[REDACTED] db" },
		{ "tool --token s3cr3tvalue x", "s3cr3tvalue", "--token [REDACTED] x" },
		{ "curl 'https://api.x/?a=1&token=abc123&b=2'", "abc123", "token=[REDACTED]&b=2" },
		{ "PASSWORD: \"swordfish\"", "swordfish", "PASSWORD: \"[REDACTED]" },
		{ "git clone https://alice:pa55w0rd@example.com/r.git", "pa55w0rd",
		    "https://alice:[REDACTED]@example.com/r.git" },
		{ "ls -la /tmp && pytest -q", NULL, "ls -la /tmp && pytest -q" },
		{ "pip install -r requirements.txt", NULL, "pip install -r requirements.txt" },
	};
	char		*out;
	size_t		 n;

	tap_ok(redact_load_default(r, &e) == 0 && redact_count(r) >= 15,
	    "the shipped redaction rules load (%zu rules)", redact_count(r));
	for (size_t i = 0; i < nitems(cases); i++) {
		out = redact_text(r, cases[i].in, strlen(cases[i].in), NULL);
		tap_ok((cases[i].gone == NULL || strstr(out, cases[i].gone) == NULL) &&
		    strstr(out, cases[i].kept) != NULL, "redact \"%.40s\" -> \"%.60s\"",
		    cases[i].in, out);
		free(out);
	}
	/* Binary data: NUL bytes survive, text on both sides is redacted. */
	static const char bin[] = "a token=xyz\0b AKIAIOSFODNN7EXAMPLE";
	out = redact_text(r, bin, sizeof bin - 1, &n);
	tap_ok(n > 20 && memchr(out, '\0', n) != NULL && strstr(out, "xyz") == NULL &&
	    strstr(out + strlen(out) + 1, "AKIA") == NULL, "redaction across a NUL byte");
	free(out);
	{
		char		*argv[] = { "psql", "--password", "hunter2", "-c",
		    "select 1", "--api-key", "k", "--password=x", NULL };
		struct strv	 sv = { NULL, 0 };

		redact_argv(r, argv, &sv);
		tap_ok(sv.n == 8 && strcmp(sv.v[2], "[REDACTED]") == 0 &&
		    strcmp(sv.v[4], "select 1") == 0 && strcmp(sv.v[6], "[REDACTED]") == 0 &&
		    strcmp(sv.v[7], "--password=[REDACTED]") == 0,
		    "argv: the argument after --password and --api-key is hidden");
		strv_clear(&sv);
	}
	{
		/* The shipped rules compile on first need, behind a literal
		 * prefilter: the same file compiled at load (as a user's file
		 * is) must redact every text alike, and every rule compiles. */
		static const char *const more[] = {
			"", "x", "AKIA", "akiaIOSFODNN7EXAMPLE", "Bearer short", "BASIC dXNlcjpwYXNzd29yZA==",
			"export GITHUB_TOKEN=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sk-ant-", "sk-x",
			"key: sk-abcdefghijklmnopqrstuvwxyz", "ssh://u:p@h/x", "http://user@host/",
			"--PASSWORD=Hunter2 --Token tok", "-----BEGIN EC PRIVATE KEY-----\nAAAA",
			"API_KEY='abc' secret:xyz PWD=1 token", "https://hooks.slack.com/services/T0/B0/x",
			"rk_live_0123456789abcdef01", "npm_012345678901234567890123456789012345",
			"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "glpat-abcdefghij0123456789",
			"xoxp-0123456789-abc", "AIza0123456789012345678901234567890123",
		};
		autofree char	*d = xstrdup(MOAT_SRC_PROFILEDIR);
		autofree char	*shipped = xprintf("%s/rules/redact.rules", dirname(d));
		struct redact	*eager = redact_new();
		int		 same = 1;

		tap_ok(redact_load_file(eager, shipped, &e) == 0 &&
		    redact_count(eager) == redact_count(r), "the shipped rules load eagerly too");
		for (size_t i = 0; i < nitems(cases) + nitems(more); i++) {
			const char	*in = i < nitems(cases) ? cases[i].in : more[i - nitems(cases)];
			autofree char	*o1 = redact_text(r, in, strlen(in), NULL);
			autofree char	*o2 = redact_text(eager, in, strlen(in), NULL);

			if (strcmp(o1, o2) != 0) {
				tap_diag("lazy \"%s\" != eager \"%s\"", o1, o2);
				same = 0;
			}
		}
		tap_ok(same, "compiled on first need or at load, the rules redact alike");
		tap_ok(redact_compile(r, &e) == 0, "every shipped redaction rule compiles");
		redact_free(eager);
	}
	redact_free(r);

	/* A bad rule names its file and line. */
	autofree char	*bad = db_path("bad.rules");
	FILE		*f = fopen(bad, "w");

	fprintf(f, "# c\ntext ok X abc\ntext broken X a(b\n");
	fclose(f);
	r = redact_new();
	tap_ok(redact_load_file(r, bad, &e) == -1 && strstr(e.msg, "bad.rules:3") != NULL,
	    "a bad regex is reported with file:line (%s)", e.msg);
	redact_free(r);
}

/* Output is redacted in place: a secret becomes as many bytes as it had,
 * so a terminal's layout and the offsets of output's timing hold. */
static void
test_redact_keep(void)
{
	struct merr	 e;
	struct redact	*r = redact_new();
	static const char *const in[] = {
		"\033[1mGH=ghp_1234567890abcdefghijABCDEFGHIJ123456\033[m next\r\n",
		"token=abc x",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\r\nAAAA\n-----END RSA PRIVATE KEY-----\n$ ",
		"plain text, nothing secret\n",
		"a\0Bearer abcdefghijk\0b",
	};
	static const size_t inlen[] = { 0, 0, 0, 0, 22 };	/* the last holds NULs */

	if (!tap_ok(redact_load_default(r, &e) == 0, "rules for in-place redaction"))
		return;
	for (size_t i = 0; i < nitems(in); i++) {
		size_t		 n = inlen[i] != 0 ? inlen[i] : strlen(in[i]);
		autofree char	*out = redact_text_keep(r, in[i], n);
		size_t		 nl_in = 0, nl_out = 0, cr_in = 0, cr_out = 0;
		bool		 same_pos = true;

		for (size_t k = 0; k < n; k++) {
			nl_in += in[i][k] == '\n';
			nl_out += out[k] == '\n';
			cr_in += in[i][k] == '\r';
			cr_out += out[k] == '\r';
			if ((in[i][k] == '\n') != (out[k] == '\n') || (in[i][k] == '\0') !=
			    (out[k] == '\0'))
				same_pos = false;
		}
		tap_ok(out[n] == '\0' && same_pos && nl_in == nl_out && cr_in == cr_out,
		    "in place: %zu bytes, newlines and NULs where they were (%zu)", n, i);
		if (i == 0)
			tap_ok(strstr(out, "ghp_1234") == NULL && strncmp(out,
			    "\033[1mGH=[REDACTED:github-token]*****************\033[m next\r\n",
			    n) == 0, "a token: its replacement filled with '*' to its length: %s",
			    out);
		if (i == 1)
			tap_ok(strcmp(out, "token=[RE x") == 0, "a short secret: the "
			    "replacement cut to its length: %s", out);
		if (i == 2)
			tap_ok(strstr(out, "MIIE") == NULL && strstr(out, "AAAA") == NULL &&
			    strncmp(out, "[REDACTED:private-key]", 22) == 0 &&
			    strcmp(out + n - 2, "$ ") == 0, "a private key over several "
			    "lines: gone, its lines kept");
		if (i == 3)
			tap_ok(strcmp(out, in[i]) == 0, "text without a secret is unchanged");
		if (i == 4)
			tap_ok(memmem(out, n, "abcdefghijk", 11) == NULL, "after a NUL byte too");
	}
	redact_free(r);
}

static void
test_round_trip(void)
{
	struct merr		 e;
	autofree char		*p = db_path("rt.db");
	struct audit		*a = audit_open(p, 0, &e);
	char			*argv[] = { "curl", "-H", "Authorization: Bearer abcdefghijkl",
	    "--password", "hunter2", NULL };
	struct audit_start	 s = { .run_id = "20261125T000000-42-deadbeef", .source = "mcp",
	    .client = "claude", .profile = "restricted", .profile_text = "abc",
	    .net_mode = "restricted", .workspace = "/w", .cwd = "/w/sub", .argv = argv,
	    .risk = 35, .risk_reasons = "[{\"match\":\"Bearer abcdefghijkl\"}]",
	    .output_head = 16, .output_tail = 16 };
	struct audit_end	 en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .exit_code = 3, .cpu_user = 1.5, .cpu_sys = 0.5, .peak_memory = 123456,
	    .peak_pids = 7, .limits = "{\"memory\":\"cgroup\"}", .risk = 60,
	    .risk_reasons = "[\"x --password hunter2\"]" };
	struct audit_run	*ar;
	struct stat		 sb;
	char			 hex[SHA256_HEX_LEN], want[SHA256_HEX_LEN], *t;
	struct sha256		 sh;
	char			 data[100];
	int			 ok = 1;

	if (!tap_ok(a != NULL, "open a new log")) {
		tap_diag("%s", e.msg);
		return;
	}
	tap_ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the file is 0600 (%o)",
	    sb.st_mode & 0777);
	tap_ok(q_int(a, "PRAGMA user_version") == AUDIT_SCHEMA_VERSION, "schema version %d",
	    AUDIT_SCHEMA_VERSION);
	t = q_text(a, "PRAGMA journal_mode");
	tap_ok(strcmp(t, "wal") == 0, "WAL mode (%s)", t);
	free(t);
	ar = audit_run_begin(a, &s, &e);
	if (!tap_ok(ar != NULL, "begin")) {
		tap_diag("%s", e.msg);
		audit_close(a);
		return;
	}
	tap_ok(q_int(a, "SELECT count(*) FROM runs WHERE status = 'running' AND "
	    "run_id = '20261125T000000-42-deadbeef' AND seq IS NULL") == 1,
	    "the row is \"running\" before the command starts, outside the chain");
	t = q_text(a, "SELECT argv FROM runs");
	tap_ok(strstr(t, "hunter2") == NULL && strstr(t, "abcdefghijkl") == NULL &&
	    strstr(t, "[REDACTED]") != NULL, "argv is stored redacted: %s", t);
	free(t);
	for (int i = 0; i < 100; i++)
		data[i] = (char)('a' + i % 26);
	sha256_init(&sh);
	for (int i = 0; i < 100; i += 7) {
		int	k = i + 7 > 100 ? 100 - i : 7;

		audit_output_feed(ar, 1, data + i, (size_t)k);
		sha256_update(&sh, data + i, (size_t)k);
	}
	sha256_final_hex(&sh, want);
	audit_output_feed(ar, 2, "err token=abc123xyz\n", 20);
	for (int i = 0; i < 1000; i++) {
		struct run_event ev = { .kind = EV_SYSCALL_DENIED, .t = i / 1000.0,
		    .syscall = "mount", .text = "mount(\"proc\", \"/p\")", .count = 1 };

		ok &= audit_run_event(ar, &ev, &e) == 0;
	}
	for (int i = 0; i < 40; i++) {
		char		 d[32];
		struct run_event ev = { .kind = EV_SYSCALL_DENIED, .syscall = "ptrace", .text = d };

		snprintf(d, sizeof d, "ptrace(%d)", i);
		ok &= audit_run_event(ar, &ev, &e) == 0;
	}
	{
		struct run_event ev = { .kind = EV_NET_CONN, .t = 0.2, .host = "pypi.example",
		    .addr = "10.0.0.1", .port = 443, .verdict = "denied", .rule = "allowlist",
		    .text = "CONNECT pypi.example:443", .bytes_out = 0, .bytes_in = 0 };
		struct audit_sample sm = { .t = 1, .cpu_pct = 99.5, .mem_bytes = 1 << 20,
		    .pids = 3, .io_read = 10, .io_write = 20 };

		ok &= audit_run_event(ar, &ev, &e) == 0;
		ok &= audit_run_sample(ar, &sm, &e) == 0;
	}
	tap_ok(ok, "1041 events and a sample buffered");
	/* What moat run does while the command runs: the end's statements
	 * prepared ahead. A schema changed meanwhile by another connection
	 * must not fail the end: SQLite prepares a statement again when the
	 * schema it was made for has changed. */
	audit_run_warm(ar);
	audit_run_warm(ar);
	{
		sqlite3	*other = NULL;

		tap_ok(sqlite3_open(p, &other) == SQLITE_OK && sqlite3_exec(other,
		    "CREATE INDEX runs_test_exit ON runs (exit_code);"
		    "DROP INDEX runs_test_exit", NULL, NULL, NULL) == SQLITE_OK,
		    "another connection changes the schema (and back)");
		sqlite3_close(other);
	}
	tap_ok(audit_run_end(ar, &en, &e) == 0, "end (prepared ahead): %s", ok ? "" : e.msg);
	tap_ok(q_int(a, "SELECT count(*) FROM runs WHERE status = 'done' AND exit_code = 3 "
	    "AND peak_memory = 123456 AND peak_pids = 7 AND risk_final = 60 AND risk = 60 "
	    "AND source = 'mcp' AND client = 'claude' AND seq = 1 AND hash IS NOT NULL "
	    "AND ended_at >= started_at AND duration >= 0") == 1, "the row is complete");
	t = q_text(a, "SELECT risk_static_reasons || risk_final_reasons FROM runs");
	tap_ok(strstr(t, "hunter2") == NULL && strstr(t, "abcdefghijkl") == NULL &&
	    q_int(a, "SELECT json_valid(risk_static_reasons) + json_valid(risk_final_reasons) "
	    "+ (json_type(risk_static_reasons) = 'array') FROM runs") == 3,
	    "risk reasons are redacted and stay valid JSON: %s", t);
	free(t);
	t = q_text(a, "SELECT stdout_sha256 FROM runs");
	tap_ok(strcmp(t, want) == 0, "stdout sha256 is over all 100 bytes");
	free(t);
	sha256_hex("err token=abc123xyz\n", 20, hex);
	t = q_text(a, "SELECT stderr_sha256 FROM runs");
	tap_ok(strcmp(t, hex) == 0 && q_int(a, "SELECT stdout_bytes + stderr_bytes FROM runs")
	    == 120, "stderr sha256 and byte counts");
	free(t);
	t = q_text(a, "SELECT head || '|' || tail FROM outputs WHERE stream = 'stdout'");
	tap_ok(strcmp(t, "abcdefghijklmnop|ghijklmnopqrstuv") == 0 ||
	    (tap_diag("%s", t), 0), "stdout head 16 and tail 16 bytes");
	free(t);
	t = q_text(a, "SELECT head || coalesce(tail, '') FROM outputs WHERE stream = 'stderr'");
	tap_ok(strstr(t, "abc123") == NULL && strstr(t, "xyz") == NULL &&
	    strcmp(t, "err token=[REDACTED\n") == 0, "stored output is redacted, each "
	    "byte in its place, also a secret across the cut of head and tail: %s", t);
	free(t);
	tap_ok(q_int(a, "SELECT sum(count) FROM events WHERE name = 'mount'") == 1000 &&
	    q_int(a, "SELECT count(*) FROM events WHERE name = 'mount'") <= 3,
	    "1000 denials of one call are aggregated (%lld rows)",
	    q_int(a, "SELECT count(*) FROM events WHERE name = 'mount'"));
	tap_ok(q_int(a, "SELECT sum(count) FROM events WHERE name = 'ptrace'") == 40 &&
	    q_int(a, "SELECT count(DISTINCT detail) FROM events WHERE name = 'ptrace'") == 33,
	    "distinct arguments are capped at 32 per call, the rest counted");
	tap_ok(q_int(a, "SELECT count(*) FROM events WHERE kind = 'net' AND host = "
	    "'pypi.example' AND port = 443 AND verdict = 'denied'") == 1, "a net event");
	tap_ok(q_int(a, "SELECT count(*) FROM samples WHERE cpu_pct = 99.5 AND pids = 3") == 1,
	    "a sample");
	{
		struct audit_verify	v;

		tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 1, "verify: one valid row");
	}
	audit_close(a);
	{
		/* moat leaves the run in the WAL (it checkpoints only now and
		 * then): another program's connection sees it, and once that
		 * program checkpoints (the sqlite3 shell does on close, as a
		 * backup tool or someone editing the file would), audit.db
		 * alone holds it and still verifies. */
		autofree char	*wal = xprintf("%s-wal", p);
		sqlite3		*db = NULL;
		sqlite3_stmt	*st = NULL;
		struct audit_verify v = { 0 };
		long long	 n = -1;

		if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) ==
		    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		tap_ok(n == 1 && sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK &&
		    stat(wal, &sb) == 0 && sb.st_size == 0,
		    "another connection sees the run and empties the WAL into audit.db");
		sqlite3_close(db);
		a = audit_open(p, AUDIT_READONLY, &e);
		tap_ok(a != NULL && audit_verify(a, &v, &e) == 0 && v.rows == 1,
		    "audit.db alone holds the run, and it verifies");
		audit_close(a);
	}
}

/* The shared-memory index of a WAL database: the frames in the WAL and
 * those already copied into the file (SQLite's WAL-index format: mxFrame
 * at byte 16 of the header, nBackfill at 96, native byte order). */
static void
shm_frames(const char *db, uint32_t *mx, uint32_t *back)
{
	autofree char	*p = xprintf("%s-shm", db);
	uint8_t		 b[100];
	int		 fd = open(p, O_RDONLY | O_CLOEXEC);

	*mx = *back = 0;
	if (fd == -1)
		return;
	if (pread(fd, b, sizeof b, 0) == (ssize_t)sizeof b) {
		memcpy(mx, b + 16, 4);
		memcpy(back, b + 96, 4);
	}
	close(fd);
}

/* A keeper in this process: each request served by the guest at once. */
static char	*keeper_later;	/* an AUDIT_XFER_ASK_LATER's answer */
static size_t	 keeper_later_len;
static int	 keeper_later_rc;
static struct merr keeper_later_err;

static int
keeper_xfer(void *arg, const void *req, size_t len, enum audit_xfer_mode mode,
    char **rep, size_t *rlen, struct merr *e)
{
	char	*r = NULL;
	size_t	 n = 0;
	int	 rc;

	if (mode == AUDIT_XFER_ANSWER) {
		*rep = keeper_later;
		*rlen = keeper_later_len;
		keeper_later = NULL;
		if (keeper_later_rc == -1)
			*e = keeper_later_err;
		return (keeper_later_rc);
	}
	rc = audit_guest_serve(arg, req, len, &r, &n, e);
	if (mode == AUDIT_XFER_ASK_LATER) {
		if (rc == -1)
			keeper_later_err = *e;
		keeper_later = r != NULL ? r : xstrdup("");
		keeper_later_len = n;
		keeper_later_rc = rc;
		return (0);
	}
	if (rc == -1)
		return (-1);
	if (mode == AUDIT_XFER_ASK) {
		*rep = r != NULL ? r : xstrdup("");
		*rlen = n;
	} else
		free(r);
	return (0);
}

/* A session's supervisor checkpoints its log's WAL after a run's end has
 * been answered (audit_keeper_tidy), not while its client waits. */
static void
test_keeper_checkpoint(void)
{
	autofree char	*p = db_path("keeper.db");
	char		*argv[] = { "true", NULL };
	struct audit_start s = { .profile = "default", .argv = argv, .risk = 0 };
	struct audit_end en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .cpu_user = -1, .cpu_sys = -1, .peak_memory = -1, .peak_pids = -1, .risk = 0 };
	struct audit_keeper	*k = audit_keeper_new();
	struct audit_guest	*g = audit_guest_new(k, getpid());
	struct merr		 e;
	struct audit		*a = audit_open_remote(p, keeper_xfer, g, &e);
	int			 fails = 0, in_end = 0, after = 0, big = 0;

	for (int i = 0; i < 300 && a != NULL; i++) {
		struct audit_run	*ar = audit_run_begin(a, &s, &e);
		uint32_t		 mx0, b0, mx1, b1, mx2, b2;

		shm_frames(p, &mx0, &b0);
		if (ar == NULL || audit_run_end(ar, &en, &e) == -1) {
			fails++;
			continue;
		}
		shm_frames(p, &mx1, &b1);
		in_end += b1 > b0;	/* copied before the end was answered */
		big += mx1 >= 1000;
		audit_keeper_tidy(k);
		shm_frames(p, &mx2, &b2);
		after += b2 > b1;
	}
	tap_ok(a != NULL && fails == 0 && big > 0 && in_end == 0 && after > 0,
	    "a keeper's WAL checkpoint runs after a run's end is answered: %d of 300 "
	    "ends saw 1000 frames or more, %d checkpointed inside the end, %d after",
	    big, in_end, after);
	audit_close(a);
	audit_guest_free(g);
	audit_keeper_free(k);
}

/* A begin sent without waiting for its answer (a session's client sends its
 * command next): the answer is read by audit_run_begun, and the run goes on
 * as any other; a begin the keeper refuses leaves no run, and says why. */
static void
test_keeper_begin_sent(void)
{
	autofree char	*p = db_path("sent.db");
	char		*argv[] = { "true", NULL };
	struct audit_start s = { .profile = "default", .argv = argv, .risk = 0 };
	struct audit_end en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .exit_code = 4, .cpu_user = -1, .cpu_sys = -1, .peak_memory = -1,
	    .peak_pids = -1, .risk = 0 };
	struct audit_keeper	*k = audit_keeper_new();
	struct audit_guest	*g = audit_guest_new(k, getpid());
	struct merr		 e;
	struct audit		*a = audit_open_remote(p, keeper_xfer, g, &e), *l;
	struct audit_run	*ar = a != NULL ? audit_run_begin_sent(a, &s, &e) : NULL;
	bool			 pending = audit_run_pending(ar);
	int			 begun = audit_run_begun(&ar, &e);
	int			 ended = ar != NULL ? audit_run_end(ar, &en, &e) : -1;
	autofree char		*st = NULL;

	audit_keeper_tidy(k);
	if ((l = audit_open(p, AUDIT_READONLY, &e)) != NULL) {
		st = q_text(l, "SELECT status || ' ' || exit_code FROM runs");
		audit_close(l);
	}
	tap_ok(pending && begun == 0 && ended == 0 && st != NULL &&
	    strcmp(st, "done 4") == 0, "a begin sent without waiting: pending until "
	    "its answer is read, then the run completes (%s)", st != NULL ? st : e.msg);
	/* A secret the keeper was not given: it refuses the begin. */
	audit_redact_secret(a, "NOPE", "value", 5);
	ar = audit_run_begin_sent(a, &s, &e);
	pending = audit_run_pending(ar);
	begun = audit_run_begun(&ar, &e);
	tap_ok(pending && begun == -1 && ar == NULL && strstr(e.msg, "NOPE") != NULL,
	    "a begin the keeper refuses: no run, and the reason (%s)", e.msg);
	audit_close(a);
	audit_guest_free(g);
	audit_keeper_free(k);
	/* On a log of its own, the begin is done at once. */
	if ((l = audit_open(p, 0, &e)) != NULL) {
		ar = audit_run_begin_sent(l, &s, &e);
		tap_ok(ar != NULL && !audit_run_pending(ar) && audit_run_begun(&ar, &e) == 0 &&
		    audit_run_end(ar, &en, &e) == 0, "a local begin sent is a begin");
		audit_close(l);
	} else
		tap_ok(false, "a local begin sent is a begin: %s", e.msg);
}

/* A one-shot moat does not empty the WAL at every close, but the WAL stays
 * bounded over many of them: the next moat reads it all when it opens. */
static void
test_wal_bounded(void)
{
	autofree char	*p = db_path("wal.db"), *wal = xprintf("%s-wal", p);
	char		*argv[] = { "true", NULL };
	struct audit_start s = { .profile = "default", .argv = argv, .risk = 0 };
	struct audit_end en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .cpu_user = -1, .cpu_sys = -1, .peak_memory = -1, .peak_pids = -1, .risk = 0 };
	struct stat	 sb;
	struct merr	 e;
	off_t		 max = 0;
	int		 fails = 0, emptied = 0;

	for (int i = 0; i < 40; i++) {
		struct audit		*a = audit_open(p, 0, &e);
		struct audit_run	*ar = a != NULL ? audit_run_begin(a, &s, &e) : NULL;

		if (ar == NULL || audit_run_end(ar, &en, &e) == -1)
			fails++;
		audit_close(a);
		if (stat(wal, &sb) == 0) {
			max = sb.st_size > max ? sb.st_size : max;
			emptied += sb.st_size == 0;
		}
	}
	/* 64 frames of 4 KiB (AUDIT_TRUNCATE_PAGES) plus one run's worth. */
	tap_ok(fails == 0 && emptied > 0 && emptied < 40 && max < 100 * 4120,
	    "40 one-shot runs: the WAL is emptied now and then (%d times), never "
	    "more than %lld bytes", emptied, (long long)max);
	{
		struct audit		*a = audit_open(p, AUDIT_READONLY, &e);
		struct audit_verify	 v = { 0 };

		tap_ok(a != NULL && audit_verify(a, &v, &e) == 0 && v.rows == 40,
		    "all 40 runs are there and verify");
		audit_close(a);
	}
}

static void
expect_broken(struct audit *a, const char *what, long long id, const char *desc)
{
	struct audit_verify	v;
	struct merr		e;
	int			rc = audit_verify(a, &v, &e);

	tap_ok(rc == 1 && strcmp(v.what, what) == 0 && v.bad_id == id,
	    "%s: verify says %s run %lld (%s)", desc, what, id, rc == -1 ? e.msg : v.msg);
}

static void
test_chain(void)
{
	struct merr		e;
	struct audit		*a;
	struct audit_verify	v;

	if ((a = make_db("chain.db", 6, &e)) == NULL) {
		tap_ok(0, "six runs: %s", e.msg);
		return;
	}
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 6, "six runs: the chain is valid");
	sql(a, "UPDATE runs SET exit_code = 42 WHERE id = 3");
	expect_broken(a, "edited", 3, "exit_code of run 3 changed");
	sql(a, "UPDATE runs SET exit_code = 0 WHERE id = 3");	/* its original value */
	tap_ok(audit_verify(a, &v, &e) == 0, "restoring the value makes it valid again");
	sql(a, "UPDATE runs SET command = 'sh -c true' WHERE id = 2");
	expect_broken(a, "edited", 2, "the command of run 2 changed");
	sql(a, "UPDATE runs SET command = 'sh -c ''echo 2''' WHERE id = 2");
	tap_ok(audit_verify(a, &v, &e) == 0, "valid again (%s)", v.msg);
	sql(a, "UPDATE events SET count = 0 WHERE run = 4");
	expect_broken(a, "edited", 4, "an event of run 4 changed");
	sql(a, "UPDATE events SET count = 1 WHERE run = 4");
	tap_ok(audit_verify(a, &v, &e) == 0, "valid again");
	sql(a, "DELETE FROM runs WHERE id = 4");
	expect_broken(a, "deleted", 5, "run 4 deleted");
	audit_close(a);

	a = make_db("chain2.db", 5, &e);
	sql(a, "DELETE FROM runs WHERE id = 5");
	expect_broken(a, "deleted", 4, "the last run deleted");
	audit_close(a);

	a = make_db("chain3.db", 5, &e);
	sql(a, "INSERT INTO runs (run_id, status, source, started_at, ended_at, argv, command) "
	    "VALUES ('forged', 'done', 'cli', '2026-01-01T00:00:00.000Z', "
	    "'2026-01-01T00:00:01.000Z', '[\"true\"]', 'true')");
	expect_broken(a, "inserted", 6, "a completed row without a place in the chain");
	sql(a, "UPDATE runs SET seq = 6, prev_hash = (SELECT hash FROM runs WHERE id = 5), "
	    "hash = 'x' WHERE id = 6");
	expect_broken(a, "inserted", 6, "a row appended after the head");
	audit_close(a);

	/* A row slipped between 2 and 3: renumber to make room, link it to 2. */
	a = make_db("chain4.db", 4, &e);
	sql(a, "UPDATE runs SET seq = seq + 100 WHERE seq >= 3");
	sql(a, "INSERT INTO runs (run_id, status, source, started_at, argv, command, seq, "
	    "prev_hash, hash) VALUES ('forged', 'done', 'cli', '2026-01-01T00:00:00.000Z', "
	    "'[]', '', 3, (SELECT hash FROM runs WHERE seq = 2), 'x')");
	sql(a, "UPDATE runs SET seq = seq - 99 WHERE seq >= 103");
	expect_broken(a, "inserted", 5, "a row inserted between runs 2 and 3");
	audit_close(a);

	/* A middle row deleted and the next relinked to its predecessor: the
	 * links then agree, and only a hash that covers prev_hash notices. */
	a = make_db("chain5.db", 5, &e);
	sql(a, "UPDATE runs SET prev_hash = (SELECT prev_hash FROM runs WHERE id = 3) "
	    "WHERE id = 4");
	sql(a, "DELETE FROM runs WHERE id = 3");
	tap_ok(q_int(a, "SELECT count(*) FROM runs r JOIN runs p ON r.prev_hash = p.hash "
	    "WHERE r.id = 4 AND p.id = 2") == 1, "run 4 now links to run 2");
	expect_broken(a, "edited", 4, "run 3 deleted and run 4 relinked to run 2");
	audit_close(a);
}

/* Appends one column as the chain serialises it: name=TYPElen:bytes. */
static void
ser(char **buf, const char *name, char type, const char *v)
{
	char	*next = xprintf("%s%s=%c%zu:%s\n", *buf, name, type,
	    v != NULL ? strlen(v) : 0, v != NULL ? v : "");

	free(*buf);
	*buf = next;
}

/* The session column: stored from audit_start, covered by the row's hash
 * once set, and left out of the hash while NULL, so that a log chained
 * before the column existed still verifies after the migration that adds
 * it. The old rows' hash is computed here by hand, as version 1 did. */
static void
test_session(void)
{
	struct merr		 e;
	struct audit		*a;
	struct audit_verify	 v;
	autofree char		*p = db_path("session.db"), *p1 = db_path("v1.db");
	autofree char		*t1 = NULL, *t2 = NULL;
	char			*argv[] = { "true", NULL };
	struct audit_start	 s = { .source = "cli", .profile = "default",
	    .net_mode = "isolated", .argv = argv, .risk = -1, .session = "s-0123abcd" };
	struct audit_end	 en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .cpu_user = -1, .cpu_sys = -1, .peak_memory = -1, .peak_pids = -1, .risk = -1 };
	struct audit_run	*ar;
	sqlite3			*db;
	char			 children[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
	char			*row = xstrdup("moat-run-v1\n"), *ins;
	static const char *const nulls[] = { "client", "user", "uid", "host", "profile",
	    "profile_hash", "net_mode", "workspace", "cwd" };
	static const char *const nulls2[] = { "risk_static", "risk_static_reasons" };
	static const char *const nulls3[] = { "duration", "end_reason", "exit_code",
	    "signal", "cpu_user", "cpu_sys", "peak_memory", "peak_pids", "limits",
	    "risk_final", "risk_final_reasons", "stdout_bytes", "stdout_sha256",
	    "stderr_bytes", "stderr_sha256", "owner_pid", "owner_start", "boot_id" };

	if ((a = audit_open(p, 0, &e)) == NULL) {
		tap_ok(0, "open: %s", e.msg);
		return;
	}
	tap_ok(q_int(a, "PRAGMA user_version") >= 2, "the session column is migration 2");
	ar = audit_run_begin(a, &s, &e);
	tap_ok(ar != NULL && audit_run_end(ar, &en, &e) == 0, "a session's run: %s",
	    ar == NULL ? e.msg : "recorded");
	s.session = NULL;
	ar = audit_run_begin(a, &s, &e);
	tap_ok(ar != NULL && audit_run_end(ar, &en, &e) == 0, "a run of its own: recorded");
	t1 = q_text(a, "SELECT session FROM runs WHERE id = 1");
	t2 = q_text(a, "SELECT session FROM runs WHERE id = 2");
	tap_ok(strcmp(t1, "s-0123abcd") == 0, "the session's id is stored: %s", t1);
	tap_ok(strcmp(t2, "(null)") == 0, "a run of its own has none: %s", t2);
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 2, "the chain is valid (%s)", v.msg);
	sql(a, "UPDATE runs SET session = 's-ffffffff' WHERE id = 1");
	expect_broken(a, "edited", 1, "a run moved to another session");
	sql(a, "UPDATE runs SET session = NULL WHERE id = 1");
	expect_broken(a, "edited", 1, "a session's run made a run of its own");
	sql(a, "UPDATE runs SET session = 's-0123abcd' WHERE id = 1");
	tap_ok(audit_verify(a, &v, &e) == 0, "restored: valid again (%s)", v.msg);
	sql(a, "UPDATE runs SET session = 's-0123abcd' WHERE id = 2");
	expect_broken(a, "edited", 2, "a run of its own put in a session");
	audit_close(a);

	/* A version 1 log with one chained row, hashed as version 1 did. */
	if (sqlite3_open(p1, &db) != SQLITE_OK ||
	    sqlite3_exec(db, audit_schema[0], NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL) != SQLITE_OK) {
		tap_ok(0, "a version 1 log: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		free(row);
		return;
	}
	{
		struct sha256	c;

		sha256_init(&c);
		sha256_update(&c, "events\nsamples\noutputs\n", 23);
		sha256_final_hex(&c, children);
	}
	ser(&row, "id", 'I', "1");
	ser(&row, "run_id", 'T', "old");
	ser(&row, "seq", 'I', "1");
	ser(&row, "children_hash", 'T', children);
	ser(&row, "status", 'T', "done");
	ser(&row, "source", 'T', "cli");
	for (size_t i = 0; i < nitems(nulls); i++)
		ser(&row, nulls[i], 'N', NULL);
	ser(&row, "argv", 'T', "[\"true\"]");
	ser(&row, "command", 'T', "true");
	for (size_t i = 0; i < nitems(nulls2); i++)
		ser(&row, nulls2[i], 'N', NULL);
	ser(&row, "started_at", 'T', "2026-01-01T00:00:00.000Z");
	ser(&row, "ended_at", 'T', "2026-01-01T00:00:01.000Z");
	for (size_t i = 0; i < nitems(nulls3); i++)
		ser(&row, nulls3[i], 'N', NULL);
	{
		char	*next = xprintf("%s%s", row, AUDIT_GENESIS);

		free(row);
		row = next;
	}
	sha256_hex(row, strlen(row), hash);
	free(row);
	ins = xprintf("INSERT INTO runs (id, run_id, seq, prev_hash, hash, children_hash, "
	    "status, source, argv, command, started_at, ended_at) VALUES (1, 'old', 1, "
	    "'%s', '%s', '%s', 'done', 'cli', '[\"true\"]', 'true', "
	    "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z');"
	    "UPDATE meta SET value = '1' WHERE key = 'head_seq';"
	    "UPDATE meta SET value = '%s' WHERE key = 'head_hash';",
	    AUDIT_GENESIS, hash, children, hash);
	tap_ok(sqlite3_exec(db, ins, NULL, NULL, NULL) == SQLITE_OK, "a chained row of "
	    "version 1: %s", sqlite3_errmsg(db));
	free(ins);
	sqlite3_close(db);
	if ((a = audit_open(p1, AUDIT_NO_RECOVER, &e)) == NULL) {
		tap_ok(0, "open the version 1 log: %s", e.msg);
		return;
	}
	tap_ok(q_int(a, "PRAGMA user_version") == AUDIT_SCHEMA_VERSION,
	    "opening migrates it to version %d", AUDIT_SCHEMA_VERSION);
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 1,
	    "its row, hashed before the column existed, still verifies (%s)",
	    v.msg);
	s.session = "s-0123abcd";
	ar = audit_run_begin(a, &s, &e);
	tap_ok(ar != NULL && audit_run_end(ar, &en, &e) == 0 &&
	    audit_verify(a, &v, &e) == 0 && v.rows == 2,
	    "a session's run chains after it (%s)", v.msg);
	audit_close(a);
}

/* Output's timing (schema 5): when each stretch of a stream was written,
 * kept for the head and the tail, chained as output is, read back by
 * replay.c into the stretches in time order with the bytes not kept
 * marked. */
static void
test_timing(void)
{
	struct merr		 e;
	autofree char		*p = db_path("timing.db");
	struct audit		*a = audit_open(p, 0, &e);
	char			*argv[] = { "agent", NULL };
	struct audit_start	 s = { .source = "wrap", .profile = "agent",
	    .net_mode = "restricted", .argv = argv, .risk = -1,
	    .output_head = 16, .output_tail = 16 };
	struct audit_end	 en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .cpu_user = -1, .cpu_sys = -1, .peak_memory = -1, .peak_pids = -1, .risk = -1 };
	struct audit_run	*ar;
	struct audit_verify	 v;
	struct replay		 r = { 0 };
	autofree char		*t = NULL;
	char			 chunk[11];
	size_t			 kept = 0, gaps = 0;
	uint64_t		 skipped = 0, last = 0;
	bool			 rising = true;

	if (!tap_ok(a != NULL, "a log for timing"))
		return;
	/* 10 chunks of 10 bytes, 20 ms apart, then 2 bytes to stderr. */
	ar = audit_run_begin(a, &s, &e);
	for (int i = 0; ar != NULL && i < 10; i++) {
		snprintf(chunk, sizeof chunk, "%c%c%c%c%c%c%c%c%c%c", '0' + i, '0' + i,
		    '0' + i, '0' + i, '0' + i, '0' + i, '0' + i, '0' + i, '0' + i, '0' + i);
		audit_output_feed(ar, 1, chunk, 10);
		usleep(20000);
	}
	if (ar != NULL)
		audit_output_feed(ar, 2, "E\n", 2);
	tap_ok(ar != NULL && audit_run_end(ar, &en, &e) == 0, "a run with timed output");
	t = q_text(a, "SELECT timing FROM outputs WHERE stream = 'stdout'");
	{
		struct replay_tick	*tk = NULL;
		size_t			 n = 0;

		tap_ok(replay_timing_parse(t, strlen(t), &tk, &n) == 0 && n == 4 &&
		    tk[0].off == 0 && tk[1].off == 10 && tk[2].off == 84 && tk[3].off == 90 &&
		    tk[1].ms >= tk[0].ms + 15 && tk[3].ms >= tk[2].ms + 15,
		    "stdout's timing: the head's two stretches, then the tail's from its first "
		    "byte (84) and the next (90)") || (tap_diag("%s", t), 0);
		free(tk);
	}
	tap_ok(audit_verify(a, &v, &e) == 0, "the row verifies (%s)", v.msg);
	sql(a, "UPDATE outputs SET timing = '0 0\n' WHERE stream = 'stdout'");
	expect_broken(a, "edited", 1, "timing changed");
	sql(a, "UPDATE outputs SET timing = NULL WHERE stream = 'stdout'");
	expect_broken(a, "edited", 1, "timing removed");
	{
		char	*restore = xprintf("UPDATE outputs SET timing = '%s' WHERE stream = "
		    "'stdout'", t);

		sql(a, restore);
		free(restore);
	}
	tap_ok(audit_verify(a, &v, &e) == 0, "restored: valid again (%s)", v.msg);

	tap_ok(replay_load(a, 1, &r, &e) == 0 && !r.untimed && !r.damaged,
	    "replay_load reads the run");
	for (size_t i = 0; i < r.n; i++) {
		if (r.c[i].ms < last)
			rising = false;
		last = r.c[i].ms;
		kept += r.c[i].len;
		if (r.c[i].skipped > 0) {
			gaps++;
			skipped += r.c[i].skipped;
		}
	}
	tap_ok(rising && kept == 34 && gaps == 1 && skipped == 68,
	    "the chunks: in time order, the 32 bytes kept of stdout and stderr's 2, one gap "
	    "of 68 bytes (%zu chunks, %zu bytes, %zu gaps, %llu skipped)", r.n, kept, gaps,
	    (unsigned long long)skipped);
	tap_ok(r.n >= 2 && r.c[r.n - 1].stream == 2 && memcmp(r.c[r.n - 1].p, "E\n", 2) == 0,
	    "stderr's line, written last, comes last");
	replay_clear(&r);
	audit_close(a);

	/* The parser: what is not lines of two numbers is refused. */
	{
		static const char *const bad[] = { "1", "1 2", "1 2\n0 3\n", "a 1\n", "1  2\n",
		    "-1 2\n", "99999999999999999999 1\n", "1 2\r\n", " 1 2\n" };
		struct replay_tick	*tk = NULL;
		size_t			 n = 7;
		bool			 ok = true;

		for (size_t i = 0; i < nitems(bad); i++)
			if (replay_timing_parse(bad[i], strlen(bad[i]), &tk, &n) != -1) {
				tap_diag("accepted \"%s\"", bad[i]);
				ok = false;
				free(tk);
			}
		tap_ok(ok, "malformed timing is refused");
		tap_ok(replay_timing_parse("", 0, &tk, &n) == 0 && n == 0 && tk == NULL,
		    "empty timing: no ticks");
	}
	/* A damaged timing plays without pauses; a missing one says so. */
	{
		struct replay	 d = { 0 };

		replay_add(&d, 1, "abc", 3, NULL, 0, 3, "x", 1);
		replay_add(&d, 2, "de", 2, NULL, 0, 2, NULL, 0);
		tap_ok(d.damaged && d.untimed && d.n == 2 && d.c[0].len == 3 &&
		    d.c[1].len == 2, "damaged and missing timing: the bytes whole, flagged");
		replay_clear(&d);
	}
}

/* A log of schema 4 (no timing column) with a chained run whose output
 * its moat kept, hashed by hand as schema 4 did: migrated, it still
 * verifies, and replay plays its output without timing. */
static void
test_timing_v4(void)
{
	struct merr		 e;
	struct audit		*a;
	struct audit_verify	 v;
	struct replay		 r = { 0 };
	autofree char		*p = db_path("v4.db");
	sqlite3			*db;
	char			 children[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
	char			*row = xstrdup("moat-run-v1\n"), *ins;
	struct sha256		 c;
	static const char	 kids[] = "events\nsamples\noutputs\nstream=T6:stdout\n"
	    "head=B6:hello\n\ntail=N0:\n\036";
	static const char *const nulls[] = { "client", "user", "uid", "host", "profile",
	    "profile_hash", "net_mode", "workspace", "cwd", "risk_static",
	    "risk_static_reasons" };
	static const char *const nulls3[] = { "duration", "end_reason", "exit_code",
	    "signal", "cpu_user", "cpu_sys", "peak_memory", "peak_pids", "limits",
	    "risk_final", "risk_final_reasons" };
	static const char *const nulls4[] = { "stderr_bytes", "stderr_sha256", "owner_pid",
	    "owner_start", "boot_id" };

	if (sqlite3_open(p, &db) != SQLITE_OK)
		return;
	for (int i = 0; i < 4; i++)
		if (sqlite3_exec(db, audit_schema[i], NULL, NULL, NULL) != SQLITE_OK) {
			tap_ok(0, "a version 4 log: %s", sqlite3_errmsg(db));
			sqlite3_close(db);
			free(row);
			return;
		}
	sqlite3_exec(db, "PRAGMA user_version = 4", NULL, NULL, NULL);
	sha256_init(&c);
	sha256_update(&c, kids, sizeof kids - 1);
	sha256_final_hex(&c, children);
	ser(&row, "id", 'I', "1");
	ser(&row, "run_id", 'T', "old");
	ser(&row, "seq", 'I', "1");
	ser(&row, "children_hash", 'T', children);
	ser(&row, "status", 'T', "done");
	ser(&row, "source", 'T', "cli");
	for (size_t i = 0; i < 9; i++)
		ser(&row, nulls[i], 'N', NULL);
	ser(&row, "argv", 'T', "[\"echo\"]");
	ser(&row, "command", 'T', "echo");
	for (size_t i = 9; i < nitems(nulls); i++)
		ser(&row, nulls[i], 'N', NULL);
	ser(&row, "started_at", 'T', "2026-01-01T00:00:00.000Z");
	ser(&row, "ended_at", 'T', "2026-01-01T00:00:01.000Z");
	for (size_t i = 0; i < nitems(nulls3); i++)
		ser(&row, nulls3[i], 'N', NULL);
	ser(&row, "stdout_bytes", 'I', "6");
	ser(&row, "stdout_sha256", 'N', NULL);
	for (size_t i = 0; i < nitems(nulls4); i++)
		ser(&row, nulls4[i], 'N', NULL);
	{
		char	*next = xprintf("%s%s", row, AUDIT_GENESIS);

		free(row);
		row = next;
	}
	sha256_hex(row, strlen(row), hash);
	free(row);
	ins = xprintf("INSERT INTO runs (id, run_id, seq, prev_hash, hash, children_hash, "
	    "status, source, argv, command, started_at, ended_at, stdout_bytes) VALUES (1, "
	    "'old', 1, '%s', '%s', '%s', 'done', 'cli', '[\"echo\"]', 'echo', "
	    "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', 6);"
	    "INSERT INTO outputs (run, stream, head) VALUES (1, 'stdout', X'68656c6c6f0a');"
	    "UPDATE meta SET value = '1' WHERE key = 'head_seq';"
	    "UPDATE meta SET value = '%s' WHERE key = 'head_hash';",
	    AUDIT_GENESIS, hash, children, hash);
	tap_ok(sqlite3_exec(db, ins, NULL, NULL, NULL) == SQLITE_OK, "a chained row of "
	    "version 4 with output: %s", sqlite3_errmsg(db));
	free(ins);
	sqlite3_close(db);
	if ((a = audit_open(p, AUDIT_NO_RECOVER, &e)) == NULL) {
		tap_ok(0, "open the version 4 log: %s", e.msg);
		return;
	}
	tap_ok(q_int(a, "PRAGMA user_version") == AUDIT_SCHEMA_VERSION,
	    "opening migrates it to version %d", AUDIT_SCHEMA_VERSION);
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 1,
	    "its row with output, hashed before timing existed, still verifies (%s)", v.msg);
	tap_ok(replay_load(a, 1, &r, &e) == 0 && r.untimed && r.n == 1,
	    "migrated: replay plays it, untimed");
	replay_clear(&r);
	audit_close(a);
}

static void
test_prune(void)
{
	struct merr		e;
	autofree char		*p = db_path("prune.db");
	struct audit		*a = audit_open(p, 0, &e);
	struct audit_verify	v;
	double			now = (double)time(NULL);
	char			before[40];
	int			ok = a != NULL;

	for (int d = 10; ok && d >= 1; d--)
		ok = one_run(a, d, now - d * 86400.0, &e) == 0;
	if (!tap_ok(ok, "ten runs over ten days"))
		return;
	audit_iso_time(now - 5.5 * 86400, before, sizeof before);
	tap_ok(audit_prune(a, before, &e) == 5, "prune --before 5.5 days ago deletes 5 runs");
	tap_ok(q_int(a, "SELECT count(*) FROM runs") == 5 &&
	    q_int(a, "SELECT count(*) FROM events WHERE run NOT IN (SELECT id FROM runs)") == 0 &&
	    q_int(a, "SELECT count(*) FROM samples WHERE run NOT IN (SELECT id FROM runs)") == 0,
	    "their events and samples went with them");
	tap_ok(q_int(a, "SELECT count(*) FROM checkpoints WHERE last_seq = 5 AND pruned = 5") == 1,
	    "a checkpoint records the last pruned row");
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 5, "verify passes after prune (%s)",
	    v.msg);
	tap_ok(audit_prune(a, before, &e) == 0, "pruning again deletes nothing");
	tap_ok(one_run(a, 11, 0, &e) == 0 && audit_verify(a, &v, &e) == 0 && v.rows == 6,
	    "a new run after prune chains on");
	sql(a, "DELETE FROM runs WHERE seq = 6");
	expect_broken(a, "deleted", 7, "deleting the first row after a checkpoint");
	audit_close(a);
}

static pid_t
dead_pid(void)
{
	pid_t	pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return (pid);
}

static void
test_interrupted(void)
{
	struct merr		 e;
	autofree char		*p = db_path("intr.db");
	struct audit		*a = audit_open(p, 0, &e);
	char			*argv[] = { "sleep", "100", NULL };
	struct audit_start	 s = { .source = "cli", .argv = argv, .risk = -1 };
	struct audit_run	*dead, *reused, *live;
	struct audit_verify	 v;
	struct audit		*b;

	s.owner_pid = dead_pid();
	s.owner_start = 1;	/* a moat always records its own start time */
	s.run_id = "dead";
	dead = audit_run_begin(a, &s, &e);
	s.owner_pid = getppid();	/* alive, but not the process that started */
	s.owner_start = 1;
	s.run_id = "reused";
	reused = audit_run_begin(a, &s, &e);
	s.owner_pid = 0;
	s.owner_start = 0;
	s.run_id = "live";
	live = audit_run_begin(a, &s, &e);
	if (!tap_ok(dead != NULL && reused != NULL && live != NULL, "three running rows"))
		return;
	audit_run_abandon(dead);
	audit_run_abandon(reused);
	b = audit_open(p, 0, &e);	/* "the next moat" */
	tap_ok(b != NULL && q_int(b, "SELECT count(*) FROM runs WHERE status = 'interrupted' "
	    "AND run_id IN ('dead', 'reused') AND seq IS NOT NULL AND end_reason = "
	    "'owner-gone'") == 2, "a dead owner and a reused pid: both marked interrupted");
	tap_ok(q_int(b, "SELECT count(*) FROM runs WHERE status = 'running' AND run_id = 'live'")
	    == 1, "a live owner's row stays running");
	{
		struct audit_end en = { .status = AUDIT_DONE, .end_reason = "exited" };

		tap_ok(audit_run_end(live, &en, &e) == 0, "the live run completes");
	}
	tap_ok(audit_verify(b, &v, &e) == 0 && v.rows == 3, "the chain holds all three");
	audit_close(b);
	audit_close(a);
}

/* A child that writes runs: n of them, or forever when n is 0. */
static void
writer(const char *path, int n, int id)
{
	struct merr	 e;
	struct audit	*a = audit_open(path, 0, &e);

	if (a == NULL) {
		fprintf(stderr, "writer %d: %s\n", id, e.msg);
		_exit(1);
	}
	for (int i = 0; n == 0 || i < n; i++)
		if (one_run(a, id * 1000 + i, 0, &e) == -1) {
			fprintf(stderr, "writer %d: %s\n", id, e.msg);
			_exit(1);
		}
	audit_close(a);
	_exit(0);
}

static void
test_concurrent(int round)
{
	struct merr		 e;
	autofree char		*name = xprintf("conc%d.db", round);
	autofree char		*p = db_path(name);
	pid_t			 pids[20];
	int			 failed = 0, st;
	struct audit		*a;
	struct audit_verify	 v;
	char			*t;

	/* Twenty moats at once on a log none of them has created yet. */
	for (int i = 0; i < 20; i++)
		if ((pids[i] = fork()) == 0)
			writer(p, 1, i + 1);
	for (int i = 0; i < 20; i++)
		if (waitpid(pids[i], &st, 0) == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	tap_ok(failed == 0, "20 concurrent writers succeed (%d failed)", failed);
	a = audit_open(p, 0, &e);
	tap_ok(a != NULL && q_int(a, "SELECT count(*) FROM runs WHERE status = 'done'") == 20 &&
	    q_int(a, "SELECT max(seq) FROM runs") == 20, "20 complete rows, seq 1..20 "
	    "(%lld done, %lld rows, max seq %lld)", a ? q_int(a, "SELECT count(*) FROM runs "
	    "WHERE status = 'done'") : -1, a ? q_int(a, "SELECT count(*) FROM runs") : -1,
	    a ? q_int(a, "SELECT max(seq) FROM runs") : -1);
	tap_ok(a != NULL && audit_verify(a, &v, &e) == 0 && v.rows == 20, "one valid chain (%s)",
	    v.msg);
	t = q_text(a, "PRAGMA integrity_check");
	tap_ok(strcmp(t, "ok") == 0, "integrity_check: %s", t);
	free(t);
	audit_close(a);
}

static void
test_kill_loop(void)
{
	struct merr		 e;
	autofree char		*p = db_path("kill.db");
	struct audit		*a;
	struct audit_verify	 v;
	char			*t;
	pid_t			 pids[3];
	long long		 total;

	srand((unsigned)getpid());
	for (int round = 0; round < 15; round++) {
		struct timespec	ts = { 0, (5 + rand() % 60) * 1000000L };

		for (int i = 0; i < 3; i++)
			if ((pids[i] = fork()) == 0)
				writer(p, 0, round * 10 + i + 1);
		nanosleep(&ts, NULL);
		for (int i = 0; i < 3; i++) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
	a = audit_open(p, 0, &e);
	if (!tap_ok(a != NULL, "open after 15 rounds of kill -9 on 3 writers")) {
		tap_diag("%s", e.msg);
		return;
	}
	t = q_text(a, "PRAGMA integrity_check");
	tap_ok(strcmp(t, "ok") == 0, "integrity_check: %s", t);
	free(t);
	total = q_int(a, "SELECT count(*) FROM runs");
	tap_ok(q_int(a, "SELECT count(*) FROM runs WHERE status = 'running'") == 0 &&
	    q_int(a, "SELECT count(*) FROM runs WHERE seq IS NULL") == 0,
	    "no row left running: %lld done, %lld interrupted", 
	    q_int(a, "SELECT count(*) FROM runs WHERE status = 'done'"),
	    q_int(a, "SELECT count(*) FROM runs WHERE status = 'interrupted'"));
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == total, "the chain is valid (%lld rows)",
	    total);
	audit_close(a);
}

/* A read-only database must fail at open, with a message that says so. */
/* moat never chains a row it did not begin, nor one edited since: forged
 * running rows, with or without an owner, stay out of the chain and verify
 * names them; verify writes nothing and counts dead running rows; an edit
 * under a running command is noted and shows in verify; a schema change is
 * reported. */
static void
test_forged(void)
{
	struct merr		 e;
	autofree char		*p = db_path("forged.db");
	struct audit		*a, *ro;
	struct audit_verify	 v;
	char			*argv[] = { "sleep", "1", NULL };
	struct audit_start	 s = { .source = "cli", .argv = argv, .risk = -1 };
	struct audit_end	 en = { .status = AUDIT_DONE, .end_reason = "exited",
	    .cpu_user = -1, .cpu_sys = -1, .peak_memory = -1, .peak_pids = -1, .risk = -1 };
	struct audit_run	*ar;
	int			 rc;

	if ((a = make_db("forged.db", 2, &e)) == NULL) {
		tap_ok(0, "two runs: %s", e.msg);
		return;
	}
	tap_ok(q_int(a, "SELECT count(*) FROM runs WHERE begin_hash IS NULL") == 0,
	    "every row moat writes has a begin hash");
	sql(a, "INSERT INTO runs (run_id, status, source, argv, command, started_at) "
	    "VALUES ('x', 'running', 'cli', '[]', 'rm -rf / # forged', "
	    "'2026-01-01T00:00:00.000Z')");
	audit_close(a);
	a = audit_open(p, 0, &e);	/* the next moat: its recovery */
	tap_ok(a != NULL && q_int(a, "SELECT count(*) FROM runs WHERE run_id = 'x' AND "
	    "status = 'running' AND seq IS NULL") == 1,
	    "a forged row with no owner is neither closed nor chained");
	rc = audit_verify(a, &v, &e);
	tap_ok(rc == 1 && strcmp(v.what, "forged") == 0 && v.bad_id == 3 &&
	    strstr(v.msg, "names no owner") != NULL, "verify names it forged: %s",
	    rc == -1 ? e.msg : v.msg);
	sql(a, "DELETE FROM runs WHERE run_id = 'x'");

	/* An owner that is gone, but no begin hash, or a wrong one. */
	s.owner_pid = dead_pid();
	s.owner_start = 1;
	s.run_id = "dead";
	ar = audit_run_begin(a, &s, &e);
	tap_ok(ar != NULL, "a run begun by a moat that then dies");
	audit_run_abandon(ar);
	sql(a, "INSERT INTO runs (run_id, status, source, argv, command, started_at, "
	    "owner_pid, owner_start, boot_id, host) SELECT 'nohash', 'running', 'cli', "
	    "'[]', 'forged', started_at, owner_pid, owner_start, boot_id, host "
	    "FROM runs WHERE run_id = 'dead'");
	sql(a, "INSERT INTO runs (run_id, status, source, argv, command, started_at, "
	    "owner_pid, owner_start, boot_id, host, begin_hash) SELECT 'badhash', "
	    "'running', 'cli', '[]', 'forged', started_at, owner_pid, owner_start, "
	    "boot_id, host, begin_hash FROM runs WHERE run_id = 'dead'");
	audit_close(a);

	/* verify first, read-only: it reports, it closes nothing. */
	if ((ro = audit_open(p, AUDIT_READONLY, &e)) == NULL) {
		tap_ok(0, "open read-only: %s", e.msg);
		return;
	}
	rc = audit_verify(ro, &v, &e);
	tap_ok(rc == 1 && strcmp(v.what, "forged") == 0 &&
	    strstr(v.msg, "no begin hash") != NULL, "a row with an owner but no begin "
	    "hash is forged: %s", rc == -1 ? e.msg : v.msg);
	tap_ok(v.dead == 1, "the dead moat's own row is counted as dead (%lld)",
	    (long long)v.dead);
	tap_ok(q_int(ro, "SELECT count(*) FROM runs WHERE status = 'running'") == 3,
	    "verify closed nothing");
	audit_close(ro);

	a = audit_open(p, 0, &e);
	tap_ok(a != NULL && q_int(a, "SELECT count(*) FROM runs WHERE run_id = 'dead' AND "
	    "status = 'interrupted' AND seq IS NOT NULL") == 1,
	    "the next moat closes and chains the row its dead owner began");
	tap_ok(q_int(a, "SELECT count(*) FROM runs WHERE run_id IN ('nohash', 'badhash') "
	    "AND status = 'running' AND seq IS NULL") == 2,
	    "and neither the row without a begin hash nor the one with another's");
	sql(a, "DELETE FROM runs WHERE run_id = 'nohash'");
	expect_broken(a, "forged", 5, "a begin hash that its fields do not give");
	sql(a, "DELETE FROM runs WHERE run_id = 'badhash'");
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 3 && v.dead == 0,
	    "without them the chain is valid (%s)", v.msg);

	/* A dead moat's row edited before the next moat comes. */
	s.owner_pid = dead_pid();
	s.run_id = "edited-dead";
	ar = audit_run_begin(a, &s, &e);
	audit_run_abandon(ar);
	sql(a, "UPDATE runs SET command = 'echo harmless' WHERE run_id = 'edited-dead'");
	audit_close(a);
	a = audit_open(p, 0, &e);
	tap_ok(a != NULL && q_int(a, "SELECT count(*) FROM runs WHERE run_id = "
	    "'edited-dead' AND status = 'running' AND seq IS NULL") == 1,
	    "a dead moat's row edited since is not chained");
	rc = audit_verify(a, &v, &e);
	tap_ok(rc == 1 && strcmp(v.what, "forged") == 0 &&
	    strstr(v.msg, "no longer give") != NULL, "verify: %s", rc == -1 ? e.msg : v.msg);
	sql(a, "DELETE FROM runs WHERE run_id = 'edited-dead'");

	/* A running row edited under its live moat. */
	s.owner_pid = 0;
	s.owner_start = 0;
	s.run_id = "live";
	ar = audit_run_begin(a, &s, &e);
	sql(a, "UPDATE runs SET command = 'echo harmless' WHERE run_id = 'live'");
	tap_ok(ar != NULL && audit_run_end(ar, &en, &e) == 0, "the edited run completes");
	tap_ok(q_int(a, "SELECT count(*) FROM events e JOIN runs r ON r.id = e.run WHERE "
	    "r.run_id = 'live' AND e.kind = 'note' AND e.name = 'row-edited'") == 1,
	    "with a note that its row was edited while it ran");
	rc = audit_verify(a, &v, &e);
	tap_ok(rc == 1 && strcmp(v.what, "edited") == 0 &&
	    strstr(v.msg, "while it ran") != NULL, "verify says it was edited: %s",
	    rc == -1 ? e.msg : v.msg);
	audit_close(a);

	/* Schema changes. */
	a = make_db("schema.db", 1, &e);
	sql(a, "CREATE TRIGGER hide AFTER INSERT ON runs BEGIN "
	    "UPDATE runs SET command = '' WHERE id = new.id; END");
	rc = audit_verify(a, &v, &e);
	tap_ok(rc == 1 && strcmp(v.what, "schema") == 0 &&
	    strstr(v.msg, "trigger hide was added") != NULL, "an added trigger: %s",
	    rc == -1 ? e.msg : v.msg);
	sql(a, "DROP TRIGGER hide");
	sql(a, "DROP INDEX runs_risk");
	rc = audit_verify(a, &v, &e);
	tap_ok(rc == 1 && strcmp(v.what, "schema") == 0 &&
	    strstr(v.msg, "index runs_risk is missing") != NULL, "a dropped index: %s",
	    rc == -1 ? e.msg : v.msg);
	sql(a, "CREATE INDEX runs_risk ON runs (risk)");
	tap_ok(audit_verify(a, &v, &e) == 0, "restored: valid (%s)", v.msg);
	audit_close(a);
}

/* An existing log of 0 bytes is refused, saying its history is gone; a new
 * one is created as before. */
static void
test_empty(void)
{
	struct merr	 e = { .msg = "" };
	autofree char	*p = db_path("empty.db"), *n = db_path("new.db");
	struct audit	*a;
	struct stat	 st;
	int		 fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	close(fd);
	a = audit_open(p, 0, &e);
	tap_ok(a == NULL && strstr(e.msg, "is an empty file (0 bytes): the history it "
	    "held is gone") != NULL, "an empty file is refused: %s", e.msg);
	audit_close(a);
	tap_ok(stat(p, &st) == 0 && st.st_size == 0, "and left as it was");
	a = audit_open(p, AUDIT_READONLY, &e);
	tap_ok(a == NULL && strstr(e.msg, "empty file") != NULL,
	    "read-only too (moat audit): %s", e.msg);
	audit_close(a);
	a = audit_open(n, 0, &e);
	tap_ok(a != NULL, "a new log is created");
	audit_close(a);
	a = audit_open(n, 0, &e);
	tap_ok(a != NULL, "and opened again");
	audit_close(a);
}

static void
test_readonly(void)
{
	struct merr	 e;
	autofree char	*dir = db_path("ro"), *p = db_path("ro/audit.db");
	struct audit	*a;
	int		 fds[2], st;
	pid_t		 pid;
	char		 msg[1100] = "";
	ssize_t		 n;

	mkdir(dir, 0700);
	if ((a = audit_open(p, 0, &e)) == NULL || one_run(a, 1, 0, &e) == -1) {
		tap_ok(0, "make a log: %s", e.msg);
		return;
	}
	audit_close(a);
	if (pipe(fds) == -1)
		return;
	if ((pid = fork()) == 0) {
		close(fds[0]);
		if (getuid() == 0) {
			/* Root writes through permissions: use a read-only mount. */
			if (unshare(CLONE_NEWNS) == -1 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
			    mount(dir, dir, NULL, MS_BIND, NULL) == -1 ||
			    mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == -1) {
				dprintf(fds[1], "SKIP mount namespace: %s", strerror(errno));
				_exit(2);
			}
		} else {
			chmod(p, 0400);
			chmod(dir, 0500);
		}
		a = audit_open(p, 0, &e);
		if (a != NULL) {
			dprintf(fds[1], "opened");
			_exit(1);
		}
		dprintf(fds[1], "%s", e.msg);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof msg - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &st, 0);
	chmod(dir, 0700);
	chmod(p, 0600);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
		printf("ok %d - read-only database # %s\n", ++tap_n, msg);
		return;
	}
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(msg, "read-only") != NULL &&
	    strstr(msg, p) != NULL, "a read-only database fails at open: %s", msg);
}

static void
test_full(void)
{
	struct merr		 e;
	struct audit		*a = make_db("full.db", 1, &e);
	static char		 big[200000];
	char			*argv[] = { "echo", big, NULL };
	struct audit_start	 s = { .argv = argv, .risk = -1 };
	char			 sqlbuf[128];

	if (a == NULL)
		return;
	memset(big, 'x', sizeof big - 1);
	/* max_page_count makes this connection's file "full" where it is now. */
	snprintf(sqlbuf, sizeof sqlbuf, "PRAGMA max_page_count = %lld",
	    q_int(a, "PRAGMA page_count"));
	sql(a, sqlbuf);
	tap_ok(audit_run_begin(a, &s, &e) == NULL && strstr(e.msg, "full") != NULL,
	    "a full disk fails begin: %s", e.msg);
	tap_ok(audit_run_refused(a, &s, "risk", &e) == -1 && strstr(e.msg, "full") != NULL,
	    "and a refusal record");
	audit_close(a);
}

/* A completion the log cannot take (full past every retry) is kept in the
 * spool by a moat that then exits; the next moat to open the log writes it,
 * instead of marking the run interrupted. Lines that are no record of a
 * running row are dropped without touching the log. */
static void
test_spool(void)
{
	struct merr		 e;
	autofree char		*p = db_path("spool.db");
	autofree char		*sp = xprintf("%s-spool", p);
	struct audit		*a = make_db("spool.db", 1, &e);
	struct audit_verify	 v;
	char			*t;
	int			 fds[2], st;
	char			 msg[1024] = "";
	ssize_t			 n;
	pid_t			 pid;
	FILE			*f;

	if (a == NULL || pipe(fds) == -1) {
		tap_ok(0, "spool: make the log: %s", e.msg);
		return;
	}
	audit_close(a);
	if ((pid = fork()) == 0) {
		static char		 big[300000];
		char			*argv[] = { "spooled-cmd", NULL };
		struct audit_start	 s = { .argv = argv, .risk = 7 };
		struct audit_end	 en = { .status = AUDIT_DONE, .end_reason = "exited",
					    .exit_code = 3, .risk = 9, .cpu_user = 0.5,
					    .cpu_sys = -1, .peak_memory = 4096, .peak_pids = -1,
					    .limits = "{\"timeout_s\":7}" };
		struct audit_run	*ar;
		char			 q[128];

		close(fds[0]);
		a = audit_open(p, 0, &e);
		ar = a != NULL ? audit_run_begin(a, &s, &e) : NULL;
		if (ar == NULL)
			_exit(2);
		memset(big, 'y', sizeof big);
		audit_output_feed(ar, 1, big, sizeof big);
		snprintf(q, sizeof q, "PRAGMA max_page_count = %lld",
		    q_int(a, "PRAGMA page_count"));
		sql(a, q);
		if (audit_run_end(ar, &en, &e) == 0)
			_exit(3);
		if (write(fds[1], e.msg, strlen(e.msg)) < 0)
			_exit(4);
		_exit(0);	/* its owner gone, as a moat that warned and exited */
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof msg - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &st, 0);
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(msg, "full") != NULL &&
	    strstr(msg, "kept in") != NULL && strstr(msg, "-spool") != NULL,
	    "spool: a full log's completion is kept in the spool, saying so: %s", msg);
	f = fopen(sp, "r");
	{
		char	line[4096] = "";

		tap_ok(f != NULL && fgets(line, sizeof line, f) != NULL &&
		    strncmp(line, "moat-spool-1\t2\t", 15) == 0,
		    "spool: the spool holds the run's record: %.40s", line);
		if (f != NULL)
			fclose(f);
	}
	a = audit_open(p, 0, &e);
	if (a == NULL) {
		tap_ok(0, "spool: reopen: %s", e.msg);
		return;
	}
	t = q_text(a, "SELECT status || ' ' || end_reason || ' ' || exit_code || ' ' || "
	    "risk_final || ' ' || stdout_bytes || ' ' || (seq IS NOT NULL) FROM runs WHERE id = 2");
	tap_ok(strcmp(t, "done exited 3 9 300000 1") == 0,
	    "spool: the next open writes the completion, chained: %s", t);
	free(t);
	t = q_text(a, "SELECT name FROM events WHERE run = 2 AND kind = 'note'");
	tap_ok(strcmp(t, "completion-spooled") == 0, "spool: with a note saying so: %s", t);
	free(t);
	tap_ok(audit_verify(a, &v, &e) == 0 && v.rows == 2, "spool: verify: valid, 2 rows");
	{
		struct stat	sb;

		tap_ok(stat(sp, &sb) == 0 && sb.st_size == 0, "spool: the spool is empty again");
	}
	audit_close(a);

	/* A running row moat never began (no owner), forged into the log. */
	a = audit_open(p, 0, &e);
	if (a != NULL)
		sql(a, "INSERT INTO runs (run_id, status, source, argv, command, started_at, "
		    "begin_hash) VALUES ('forged', 'running', 'cli', '[]', 'rm -rf / # forged', "
		    "'2026-01-01T00:00:00.000Z', '" "0000000000000000000000000000000000000000"
		    "000000000000000000000000')");
	audit_close(a);
	/* Garbage, a record for a row that is no longer running, one for the
	 * forged row, and a cut line: dropped, the log unchanged. */
	f = fopen(sp, "w");
	if (f != NULL) {
		fprintf(f, "garbage\nmoat-spool-1\t2\tx\t%064d\tdone\t"
		    "2026-01-01T00:00:00.000Z\t1\texited\t0\t\t\t\t\t\t\t\t[]\t0\t%064d\t0\t%064d\n"
		    "moat-spool-1\t3\tforged\t%064d\tdone\t"
		    "2026-01-01T00:00:00.000Z\t1\texited\t0\t\t\t\t\t\t\t\t[]\t0\t%064d\t0\t%064d\n"
		    "moat-spool-1\t2", 0, 0, 0, 0, 0, 0);
		fclose(f);
	}
	a = audit_open(p, 0, &e);
	t = a != NULL ? q_text(a, "SELECT exit_code FROM runs WHERE id = 2") : xstrdup("?");
	tap_ok(strcmp(t, "3") == 0, "spool: lines that are no running row's are dropped: "
	    "exit %s", t);
	free(t);
	t = a != NULL ? q_text(a, "SELECT status || ' ' || (seq IS NULL) FROM runs "
	    "WHERE run_id = 'forged'") : xstrdup("?");
	tap_ok(strcmp(t, "running 1") == 0, "spool: a record for a row moat did not begin "
	    "is not written, nor chained: %s", t);
	free(t);
	{
		struct stat	sb;

		tap_ok(stat(sp, &sb) == 0 && sb.st_size == 0, "spool: and removed from it");
	}
	audit_close(a);
}

/* The spool's reader takes only lines moat writes: each kind of damage is
 * refused with what is wrong, and what it takes comes back the same. */
static void
test_spool_parse(void)
{
	static const char	h[] = "0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef";
	static const struct {
		const char	*fields;	/* after the magic; %s = a hash */
		const char	*why;
	} bad[] = {
		{ "x\t%s", "too few fields" },
		{ "0\tr\t%s\tdone\tt\t1\texited\t0\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s", "a bad row id" },
		{ "1\tr\tnothex\tdone\tt\t1\texited\t0\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s", "begin hash" },
		{ "1\tr\t%s\trunning\tt\t1\texited\t0\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s", "status" },
		{ "1\tr\t%s\tdone\tt\t-1\texited\t0\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s", "duration" },
		{ "1\tr\t%s\tdone\tt\t1\texited\t256\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s", "exit code" },
		{ "1\tr\t%s\tdone\tt\t1\texited\t0\t65\t\t\t\t\t\t\t\t0\t%s\t0\t%s", "signal" },
		{ "1\tr\t%s\tdone\tt\t1\texited\t0\t\t\t\t-5\t\t\t\t\t0\t%s\t0\t%s", "peak" },
		{ "1\tr\t%s\tdone\tt\t1\texited\t0\t\t\t\t\t\t\t1001\t\t0\t%s\t0\t%s", "risk" },
		{ "1\tr\t%s\tdone\tt\t1\texited\t0\t\t\t\t\t\t\t\t\t-1\t%s\t0\t%s", "output" },
		{ "1\tr\\q\t%s\tdone\tt\t1\texited\t0\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s", "escape" },
		{ "1\tr\t%s\tdone\tt\t1\texited\t0\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s\textra", "too many" },
	};
	struct spool_rec	 r;
	const char		*why;
	autofree char		*line = NULL;
	int			 rc;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char		 l[1024];
		size_t		 o = (size_t)snprintf(l, sizeof l, "%s\t", SPOOL_MAGIC);

		/* Each "%s" of the fields becomes the hash. */
		for (const char *f = bad[i].fields; *f != '\0' && o < sizeof l - 70; f++)
			if (f[0] == '%' && f[1] == 's') {
				o += (size_t)snprintf(l + o, sizeof l - o, "%s", h);
				f++;
			} else
				l[o++] = *f;
		l[o] = '\0';
		why = NULL;
		rc = spool_parse(l, &r, &why);
		tap_ok(rc == -1 && why != NULL &&
		    strstr(why, bad[i].why) != NULL, "spool line refused for %s: %s",
		    bad[i].why, why != NULL ? why : "(accepted)");
	}
	{
		autofree char	*l = xprintf("other-magic\t1\tr\t%s\tdone\tt\t1\texited\t0"
				    "\t\t\t\t\t\t\t\t\t0\t%s\t0\t%s", h, h, h);

		rc = spool_parse(l, &r, &why);
		tap_ok(rc == -1 && strstr(why, "not a moat") != NULL,
		    "spool line of another kind refused: %s", why);
	}
	{
		struct spool_rec w = { .rowid = 7, .run_id = "a\tb\\c\nd",
				      .begin_hash = h, .status = "setup-failed",
				      .ended_at = "2026-12-06T00:00:00.000Z", .duration = 0.25,
				      .end_reason = "killed", .exit_code = 137, .signal = 9,
				      .cpu_user = -1, .cpu_sys = 0.5, .peak_memory = -1,
				      .peak_pids = 3, .limits = NULL, .risk = -1,
				      .risk_reasons = "[\"x\"]", .out_bytes = { 1, 0 },
				      .out_sha = { h, h } };
		size_t		 len;

		line = spool_format(&w, &len);
		line[len - 1] = '\0';
		tap_ok(spool_parse(line, &r, &why) == 0 && r.rowid == 7 &&
		    strcmp(r.run_id, "a\tb\\c\nd") == 0 && r.signal == 9 &&
		    r.cpu_user < 0 && r.cpu_sys == 0.5 && r.peak_memory < 0 &&
		    r.peak_pids == 3 && r.limits == NULL && r.risk == -1 &&
		    strcmp(r.status, "setup-failed") == 0,
		    "spool: a record with tabs, newlines and backslashes comes back the same");
	}
}

/* A log from a newer moat is refused, never written into or downgraded; an
 * older one is migrated by a writer only, and a reader says so. */
static void
test_schema_versions(void)
{
	struct merr	 e;
	autofree char	*pn = db_path("newer.db"), *po = db_path("older.db");
	struct audit	*a;
	sqlite3		*db;
	char		 want[128];

	if (sqlite3_open(pn, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE x (y); PRAGMA user_version = 99", NULL, NULL,
	    NULL) != SQLITE_OK) {
		tap_ok(0, "a log of schema 99: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return;
	}
	sqlite3_close(db);
	snprintf(want, sizeof want, "schema version 99 is newer than this moat understands "
	    "(%d): upgrade moat", AUDIT_SCHEMA_VERSION);
	memset(&e, 0, sizeof e);
	a = audit_open(pn, 0, &e);
	tap_ok(a == NULL && strstr(e.msg, want) != NULL, "a newer log is refused for "
	    "writing: %s", e.msg);
	audit_close(a);
	memset(&e, 0, sizeof e);
	a = audit_open(pn, AUDIT_READONLY, &e);
	tap_ok(a == NULL && strstr(e.msg, want) != NULL, "and for reading: %s", e.msg);
	audit_close(a);
	if (sqlite3_open(pn, &db) == SQLITE_OK) {
		sqlite3_stmt	*st;

		tap_ok(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
		    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_int(st, 0) == 99, "the newer log is left as it was");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}

	if (sqlite3_open(po, &db) != SQLITE_OK ||
	    sqlite3_exec(db, audit_schema[0], NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL) != SQLITE_OK) {
		tap_ok(0, "a log of schema 1: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return;
	}
	sqlite3_close(db);
	memset(&e, 0, sizeof e);
	a = audit_open(po, AUDIT_READONLY, &e);
	tap_ok(a == NULL && strstr(e.msg, "schema version 1, this moat needs") != NULL &&
	    strstr(e.msg, "open it once read-write (any moat run) to migrate") != NULL,
	    "an older log opened for reading says how to migrate it: %s", e.msg);
	audit_close(a);
	memset(&e, 0, sizeof e);
	a = audit_open(po, 0, &e);
	tap_ok(a != NULL && q_int(a, "PRAGMA user_version") == AUDIT_SCHEMA_VERSION,
	    "and a writer migrates it: %s", a != NULL ? "ok" : e.msg);
	audit_close(a);
}

static void
test_time(void)
{
	double	t;
	char	buf[40];

	tap_ok(audit_parse_time("2026-11-25", 0, &t) == 0 && t == 1795564800.0,
	    "parse a date (UTC)");
	tap_ok(audit_parse_time("2026-11-25T13:46:14.5Z", 0, &t) == 0 &&
	    t == 1795564800.0 + 13 * 3600 + 46 * 60 + 14.5, "parse a time with fraction");
	tap_ok(audit_parse_time("2h", 10000, &t) == 0 && t == 10000 - 7200, "2h ago");
	tap_ok(audit_parse_time("1d", 100000, &t) == 0 && t == 100000 - 86400, "1d ago");
	tap_ok(audit_parse_time("yesterday", 0, &t) == -1 &&
	    audit_parse_time("2026-13-01", 0, &t) == -1, "nonsense is refused");
	audit_iso_time(1795564800.25, buf, sizeof buf);
	tap_ok(strcmp(buf, "2026-11-25T00:00:00.250Z") == 0, "ISO-8601 with ms: %s", buf);
}

static void
test_speed(void)
{
	struct merr	 e;
	struct audit	*a = make_db("speed.db", 0, &e);
	double		 t0, tb = 0, te = 0;
	char		*argv[] = { "python3", "x.py", NULL };
	struct audit_start s = { .source = "cli", .profile = "default", .argv = argv, .risk = 5 };
	struct audit_end en = { .status = AUDIT_DONE, .end_reason = "exited" };
	int		 n = 200;

	for (int i = 0; i < n; i++) {
		struct audit_run *ar;

		t0 = now_mono();
		ar = audit_run_begin(a, &s, &e);
		tb += now_mono() - t0;
		audit_output_feed(ar, 1, "hello\n", 6);
		t0 = now_mono();
		audit_run_end(ar, &en, &e);
		te += now_mono() - t0;
	}
	tap_diag("begin %.3f ms, end %.3f ms on average over %d runs",
	    tb * 1000 / n, te * 1000 / n, n);
	audit_close(a);
}

/* A run's kept output is found without reading the kept output of the
 * runs beside it: 400 runs, every other one with 96 KiB kept, the log
 * opened again (a cold page cache, as each moat has), then a search for
 * a run that kept none, and the length of one that did. As a table
 * without rowid, whose cells were whole rows, the two read 202 pages. */
static void
test_outputs_search(void)
{
	struct merr	 e;
	struct audit	*a;
	autofree char	*p = db_path("outputs.db");
	int		 cur = 0, hi = 0;

	if ((a = audit_open(p, AUDIT_NO_RECOVER, &e)) == NULL) {
		tap_ok(0, "open %s: %s", p, e.msg);
		return;
	}
	tap_ok(sqlite3_exec(audit_sqlite(a), "BEGIN;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)"
	    "  INSERT INTO runs (id, run_id, status, source, started_at)"
	    "  SELECT i, 'r' || i, 'done', 'cli', '2026-01-01T00:00:00.000Z' FROM n;"
	    "INSERT INTO outputs (run, stream, head, tail)"
	    "  SELECT id, 'stdout', zeroblob(65536), zeroblob(32768) FROM runs WHERE id % 2 = 0;"
	    "COMMIT;", NULL, NULL, NULL) == SQLITE_OK, "400 runs, 200 with 96 KiB of "
	    "kept output: %s", sqlite3_errmsg(audit_sqlite(a)));
	audit_close(a);
	if ((a = audit_open(p, AUDIT_NO_RECOVER, &e)) == NULL) {
		tap_ok(0, "open %s again: %s", p, e.msg);
		return;
	}
	sqlite3_db_status(audit_sqlite(a), SQLITE_DBSTATUS_CACHE_MISS, &cur, &hi, 1);
	tap_ok(q_int(a, "SELECT count(*) FROM outputs WHERE run = 201") == 0 &&
	    q_int(a, "SELECT length(head) FROM outputs WHERE run = 202") == 65536,
	    "run 201 kept no output, run 202 its 64 KiB");
	sqlite3_db_status(audit_sqlite(a), SQLITE_DBSTATUS_CACHE_MISS, &cur, &hi, 0);
	tap_ok(cur <= 40, "finding them read %d pages (at most 40), not the output "
	    "kept beside them", cur);
	audit_close(a);
}

int
main(void)
{
	char	*rm;

	if (mkdtemp(tmpdir) == NULL)
		return (1);
	chmod(tmpdir, 0777);	/* the unprivileged pass may share /tmp */
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	unsetenv("MOAT_REDACT_RULES");
	test_sha256();
	test_time();
	test_redact();
	test_redact_keep();
	test_round_trip();
	test_wal_bounded();
	test_keeper_checkpoint();
	test_keeper_begin_sent();
	test_chain();
	test_session();
	test_timing();
	test_timing_v4();
	test_prune();
	test_interrupted();
	for (int i = 0; i < 3; i++)
		test_concurrent(i);
	test_kill_loop();
	test_forged();
	test_empty();
	test_readonly();
	test_full();
	test_spool();
	test_spool_parse();
	test_schema_versions();
	test_outputs_search();
	test_speed();
	rm = xprintf("rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		tap_diag("could not remove %s", tmpdir);
	free(rm);
	return (tap_done());
}
