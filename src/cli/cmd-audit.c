/* cmd-audit.c: "moat audit": list, show, replay, stats, export, prune and
 * verify the audit log. Front end; reads (and, for prune, writes) the SQLite file. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <langinfo.h>
#include <math.h>
#include <stddef.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/replay.h"
#include "review/review.h"
#include "session/session.h"
#include "cmd.h"
#include "sandbox/ttystate.h"
#include "sandbox/cg.h"
#include "base/util.h"

static int	cmd_audit_exec(int, char **);

const struct cmd_entry cmd_audit_entry = {
	.name = "audit",
	.usage = "audit [--db PATH] list|show ID|replay ID [--speed N] [--no-wait] [--max-pause T]|stats|export|"
	    "prune [--before DATE] [--layers-max SIZE]|verify [--since T] [--until T] [--profile P] [--status S] [--min-risk N] "
	    "[--agent A] [--session ID] [--grep TEXT] [--limit N] [-v] [--json|--csv] [--format jsonl|csv]",
	.summary = "review what ran, what it tried and how risky it was (moat-audit(5))",
	.options = (const char *const[]){
		"list\tthe runs, newest first (the default)",
		"show ID\tone run: command, verdict, risk reasons, events, output; then its record",
		"replay ID\tplay a run's kept terminal output back at the pace it was written",
		"--speed N\twith replay: N times as fast (0.5 = half as fast)",
		"--no-wait\twith replay: no pauses, everything at once",
		"--max-pause T\twith replay: no pause longer than T (e.g. 2s), however long the run was idle",
		"stats\tcounts, risk bands, top commands, denied calls and hosts",
		"export\tevery matching run with its events, as JSON lines or CSV",
		"prune --before DATE\tdelete runs that ended before DATE (the chain keeps a checkpoint) and overlay layers kept since before it",
		"--layers-max SIZE\twith prune: then remove the oldest kept overlay layers until they hold at most SIZE (e.g. 2G)",
		"verify\tcheck the hash chain: was any row edited, forged or deleted",
		"--db PATH\tthe audit database (default $XDG_DATA_HOME/moat/audit.db)",
		"--since T, --until T\ta time range: a date, or an age such as 2h or 7d",
		"--profile P\truns of that profile",
		"--status S\truns in that state: running, done, refused, interrupted, setup-failed",
		"--min-risk N\truns whose risk score is N or more",
		"--agent A\truns started by that agent or client",
		"--session ID\tthe commands run in that session (moat session exec)",
		"--grep TEXT\truns whose command line, or output as the terminal showed it (escape codes applied, not bytes), holds TEXT",
		"--limit N\tat most N runs",
		"-v, --verbose\tshow: every field of the record (hash chain, owner, digests, limits)",
		"--json, --csv\tmachine-readable output for list, show and stats",
		"--format jsonl|csv\tthe format of export",
		"-h, --help\tthis text",
		NULL,
	},
	.exec = cmd_audit_exec,
};

struct audit_opts {
	const char	*db;
	const char	*sub;
	const char	*id;		/* show */
	char		 since[40], until[40], before[40];
	uint64_t	 layers_max;	/* prune --layers-max; 0 = no cap */
	const char	*profile, *status, *agent, *session, *grep;
	long long	 min_risk;	/* -1 = any */
	long long	 limit;		/* 0 = default */
	bool		 json, csv;
	bool		 verbose;	/* show: every field */
	const char	*format;	/* export */
	double		 speed;		/* replay; 0 = 1 */
	bool		 no_wait;	/* replay */
	double		 max_pause;	/* replay; 0 = none */
};

/* Columns whose text is JSON already: embedded as is in --json output. */
static const char *const audit_json_cols[] = {
	"argv", "risk_static_reasons", "risk_final_reasons", "limits", "extra", "events",
	"reasons",
};

/* Prints untrusted text (command lines, output) without letting control
 * characters reach the terminal: escapes would otherwise be interpreted. */
static void
audit_safe_print(FILE *f, const char *s, size_t n, bool keep_newlines)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)s[i];

		if ((c == '\n' || c == '\t') && keep_newlines)
			fputc(c, f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static int
audit_term_width(void)
{
	struct winsize	 ws;
	const char	*c;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0)
		return (ws.ws_col);
	if ((c = getenv("COLUMNS")) != NULL && atoi(c) > 0)
		return (atoi(c));
	return (0);	/* not a terminal: no truncation */
}

static int
audit_time_opt(const char *name, const char *v, char *out, size_t len)
{
	double	t;

	if (audit_parse_time(v, (double)time(NULL), &t) == -1) {
		cmd_errorf("moat audit: %s \"%s\": expected a date (2026-11-25), a UTC "
		    "time (2026-11-25T13:00) or an age (90s, 30m, 2h, 1d, 2w)\n", name, v);
		return (-1);
	}
	audit_iso_time(t, out, len);
	return (0);
}

static int
audit_parse_opts(int argc, char **argv, struct audit_opts *o)
{
	o->min_risk = -1;
	for (int i = 1; i < argc; i++) {
		const char	*a = argv[i], *v = NULL, *eq;
		char		 name[32];
		unsigned long long n;

		if (strcmp(a, "-h") == 0) {
			cmd_help(&cmd_audit_entry, stdout);
			exit(0);
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o->verbose = true;
			continue;
		}
		if (strcmp(a, "--no-wait") == 0) {
			o->no_wait = true;
			continue;
		}
		if (a[0] != '-' || a[1] != '-') {
			if (o->sub == NULL)
				o->sub = a;
			else if (o->id == NULL && (strcmp(o->sub, "show") == 0 ||
			    strcmp(o->sub, "replay") == 0))
				o->id = a;
			else
				return (cmd_usage_error(&cmd_audit_entry, "unexpected \"%s\"", a));
			continue;
		}
		snprintf(name, sizeof name, "%s", a);
		if ((eq = strchr(a, '=')) != NULL) {
			name[eq - a < (long)sizeof name ? eq - a : (long)sizeof name - 1] = '\0';
			v = eq + 1;
		}
		if (strcmp(name, "--json") == 0 || strcmp(name, "--csv") == 0) {
			*(strcmp(name, "--json") == 0 ? &o->json : &o->csv) = true;
			continue;
		}
		if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
			cmd_help(&cmd_audit_entry, stdout);
			exit(0);
		}
		if (v == NULL) {
			if (i + 1 >= argc)
				return (cmd_usage_error(&cmd_audit_entry, "%s needs a value", name));
			v = argv[++i];
		}
		if (strcmp(name, "--db") == 0)
			o->db = v;
		else if (strcmp(name, "--since") == 0) {
			if (audit_time_opt(name, v, o->since, sizeof o->since) == -1)
				return (EXIT_MOAT);
		} else if (strcmp(name, "--until") == 0) {
			if (audit_time_opt(name, v, o->until, sizeof o->until) == -1)
				return (EXIT_MOAT);
		} else if (strcmp(name, "--layers-max") == 0) {
			if (v == NULL || parse_bytes(v, &o->layers_max) == -1 || o->layers_max == 0)
				return (cmd_usage_error(&cmd_audit_entry, "--layers-max needs a "
				    "size such as 500M or 2G"));
		} else if (strcmp(name, "--before") == 0) {
			if (audit_time_opt(name, v, o->before, sizeof o->before) == -1)
				return (EXIT_MOAT);
		} else if (strcmp(name, "--profile") == 0)
			o->profile = v;
		else if (strcmp(name, "--status") == 0) {
			static const char *const st[] = { "running", "done", "refused",
			    "interrupted", "setup-failed" };
			bool	ok = false;

			for (size_t k = 0; k < nitems(st); k++)
				ok |= strcmp(v, st[k]) == 0;
			if (!ok)
				return (cmd_usage_error(&cmd_audit_entry, "--status \"%s\": valid: "
				    "running, done, refused, interrupted, setup-failed", v));
			o->status = v;
		} else if (strcmp(name, "--agent") == 0)
			o->agent = v;
		else if (strcmp(name, "--session") == 0)
			o->session = v;
		else if (strcmp(name, "--grep") == 0)
			o->grep = v;
		else if (strcmp(name, "--min-risk") == 0) {
			if (parse_uint(v, 100, &n) == -1)
				return (cmd_usage_error(&cmd_audit_entry, "--min-risk \"%s\": "
				    "expected 0-100", v));
			o->min_risk = (long long)n;
		} else if (strcmp(name, "--limit") == 0) {
			if (parse_uint(v, 1000000000, &n) == -1)
				return (cmd_usage_error(&cmd_audit_entry, "--limit \"%s\": expected "
				    "a number (0 = all)", v));
			o->limit = n == 0 ? -1 : (long long)n;
		} else if (strcmp(name, "--format") == 0)
			o->format = v;
		else if (strcmp(name, "--speed") == 0) {
			char	*end;

			errno = 0;
			o->speed = strtod(v, &end);
			if (errno != 0 || end == v || *end != '\0' || !isfinite(o->speed) ||
			    o->speed < 0.01 || o->speed > 10000)
				return (cmd_usage_error(&cmd_audit_entry, "--speed \"%s\": expected "
				    "a factor from 0.01 to 10000, e.g. 2 or 0.5", v));
		} else if (strcmp(name, "--max-pause") == 0) {
			const char	*why = NULL;

			if (parse_duration(v, &o->max_pause, &why) == -1 || o->max_pause <= 0)
				return (cmd_usage_error(&cmd_audit_entry, "--max-pause \"%s\": %s",
				    v, why != NULL ? why : "expected a duration above 0, e.g. 2s"));
		}
		else
			return (cmd_usage_error(&cmd_audit_entry, "unknown option %s", name));
	}
	if (o->json && o->csv)
		return (cmd_usage_error(&cmd_audit_entry, "--json and --csv exclude each other"));
	return (0);
}

/* A stream's kept output as the text a terminal showed (ttystate_text):
 * head and tail as one text when they meet, else each on its own lines.
 * Owned by the caller; *len is its length. */
static char *
audit_render(const char *h, size_t nh, const char *t, size_t nt, long long total,
    size_t *len)
{
	size_t	 n = nh + nt, cap = n * 8 + 4, k = 0;
	char	*out = xmalloc(cap);

	if (h == NULL)
		nh = 0;
	if (t == NULL)
		nt = 0;
	if (nt == 0 || total <= (long long)(nh + nt)) {
		autofree char	*all = xmalloc(nh + nt + 1);

		if (nh > 0)
			memcpy(all, h, nh);
		if (nt > 0)
			memcpy(all + nh, t, nt);
		k = ttystate_text(all, nh + nt, out, cap);
	} else {
		k = ttystate_text(h, nh, out, cap);
		out[k++] = '\n';
		k += ttystate_text(t, nt, out + k, cap - k);
	}
	*len = k;
	return (out);
}

/* moat_seen(head, tail, total, text): the --grep test of one outputs row,
 * over what a terminal showed of it, not its bytes. */
static void
audit_sql_seen(struct sqlite3_context *ctx, int argc, struct sqlite3_value **v)
{
	const char	*text = (const char *)sqlite3_value_text(v[3]);
	size_t		 len;
	autofree char	*r = NULL;

	(void)argc;
	if (text == NULL || *text == '\0') {
		sqlite3_result_int(ctx, 0);
		return;
	}
	r = audit_render(sqlite3_value_blob(v[0]), (size_t)sqlite3_value_bytes(v[0]),
	    sqlite3_value_blob(v[1]), (size_t)sqlite3_value_bytes(v[1]),
	    sqlite3_value_int64(v[2]), &len);
	sqlite3_result_int(ctx, memmem(r, len, text, strlen(text)) != NULL);
}

/* The WHERE clause for the filters that were given, and only those, so that
 * SQLite can use the indexes (started_at, profile, status, risk, source,
 * session); parameters ?1..?8 are bound by audit_bind_filter. Owned by the caller. */
static char *
audit_where(const struct audit_opts *o, bool by_time)
{
	static const struct { size_t off; const char *sql; } conds[] = {
		{ offsetof(struct audit_opts, since), "started_at >= ?1" },
		{ offsetof(struct audit_opts, until), "started_at < ?2" },
		{ offsetof(struct audit_opts, profile), "profile = ?3" },
		{ offsetof(struct audit_opts, status), "status = ?4" },
		{ offsetof(struct audit_opts, min_risk), "risk >= ?5" },
		{ offsetof(struct audit_opts, agent), "(source = ?6 OR client = ?6)" },
		{ offsetof(struct audit_opts, grep), "(instr(command, ?7) > 0 OR EXISTS "
		    "(SELECT 1 FROM outputs o WHERE o.run = runs.id AND moat_seen(o.head, "
		    "o.tail, CASE o.stream WHEN 'stdout' THEN runs.stdout_bytes ELSE "
		    "runs.stderr_bytes END, ?7)))" },
		{ offsetof(struct audit_opts, session), "session = ?8" },
	};
	bool	 on[nitems(conds)] = {
		o->since[0] != '\0', o->until[0] != '\0', o->profile != NULL,
		o->status != NULL, o->min_risk >= 0, o->agent != NULL, o->grep != NULL,
		o->session != NULL,
	};
	char	*w, *next;
	bool	 first = true;

	/* For aggregates over a time range the planner, without statistics,
	 * may prefer an index that saves a sort and then visits every row. */
	w = xstrdup(by_time && (on[0] || on[1]) ? " INDEXED BY runs_started " : " ");

	for (size_t i = 0; i < nitems(conds); i++) {
		if (!on[i])
			continue;
		next = xprintf("%s%s%s ", w, first ? "WHERE " : "AND ", conds[i].sql);
		free(w);
		w = next;
		first = false;
	}
	return (w);
}

static bool
audit_filtered(const struct audit_opts *o)
{
	return (o->since[0] != '\0' || o->until[0] != '\0' || o->profile != NULL ||
	    o->status != NULL || o->min_risk >= 0 || o->agent != NULL || o->grep != NULL ||
	    o->session != NULL);
}

static void
audit_bind_filter(struct sqlite3_stmt *st, const struct audit_opts *o)
{
	if (o->since[0] != '\0')
		sqlite3_bind_text(st, 1, o->since, -1, SQLITE_STATIC);
	if (o->until[0] != '\0')
		sqlite3_bind_text(st, 2, o->until, -1, SQLITE_STATIC);
	if (o->profile != NULL)
		sqlite3_bind_text(st, 3, o->profile, -1, SQLITE_STATIC);
	if (o->status != NULL)
		sqlite3_bind_text(st, 4, o->status, -1, SQLITE_STATIC);
	if (o->min_risk >= 0)
		sqlite3_bind_int64(st, 5, o->min_risk);
	if (o->agent != NULL)
		sqlite3_bind_text(st, 6, o->agent, -1, SQLITE_STATIC);
	if (o->grep != NULL)
		sqlite3_bind_text(st, 7, o->grep, -1, SQLITE_STATIC);
	if (o->session != NULL)
		sqlite3_bind_text(st, 8, o->session, -1, SQLITE_STATIC);
}

static struct sqlite3_stmt *
audit_q(struct audit *a, const char *sql)
{
	struct sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(audit_sqlite(a), sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "moat audit: %s: %s\n", audit_path(a),
		    sqlite3_errmsg(audit_sqlite(a)));
		return (NULL);
	}
	return (st);
}

static bool
audit_is_json_col(const char *name)
{
	for (size_t i = 0; i < nitems(audit_json_cols); i++)
		if (strcmp(name, audit_json_cols[i]) == 0)
			return (true);
	return (false);
}

static void
audit_print_json_row(FILE *f, struct sqlite3_stmt *st)
{
	fputc('{', f);
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const char	*name = sqlite3_column_name(st, i);
		autofree char	*k = audit_json_str(name);

		fprintf(f, "%s%s:", i ? "," : "", k);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			fputs("null", f);
			break;
		case SQLITE_INTEGER:
			fprintf(f, "%lld", (long long)sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			fprintf(f, "%.15g", sqlite3_column_double(st, i));
			break;
		default: {
			const char	*t = (const char *)sqlite3_column_text(st, i);
			autofree char	*j = NULL;

			if (audit_is_json_col(name) && sqlite3_column_type(st, i) == SQLITE_TEXT &&
			    (t[0] == '[' || t[0] == '{'))
				fputs(t, f);
			else {
				j = audit_json_str(t);
				fputs(j, f);
			}
		}
		}
	}
	fputc('}', f);
}

static void
audit_print_csv_cell(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\n\r") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Prints every row of st as JSON (array or lines) or CSV with a header. */
static int
audit_dump(struct audit *a, struct sqlite3_stmt *st, const char *how)
{
	int	rc, n = 0;

	if (strcmp(how, "csv") == 0) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			fputs(i ? "," : "", stdout);
			audit_print_csv_cell(stdout, sqlite3_column_name(st, i));
		}
		fputs("\r\n", stdout);
	} else if (strcmp(how, "json") == 0)
		fputs("[", stdout);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (strcmp(how, "csv") == 0) {
			for (int i = 0; i < sqlite3_column_count(st); i++) {
				fputs(i ? "," : "", stdout);
				audit_print_csv_cell(stdout, (const char *)sqlite3_column_text(st, i));
			}
			fputs("\r\n", stdout);
		} else {
			if (strcmp(how, "json") == 0)
				fputs(n ? ",\n" : "\n", stdout);
			audit_print_json_row(stdout, st);
			if (strcmp(how, "jsonl") == 0)
				fputc('\n', stdout);
		}
		n++;
	}
	if (strcmp(how, "json") == 0)
		fputs(n ? "\n]\n" : "]\n", stdout);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "moat audit: %s: %s\n", audit_path(a),
		    sqlite3_errmsg(audit_sqlite(a)));
		return (EXIT_MOAT);
	}
	return (fflush(stdout) == 0 ? 0 : EXIT_MOAT);
}

/* Prints s in exactly w columns (cut with "~" or padded); w 0 = as is. */
static void
audit_cell(FILE *f, const char *s, int w, bool right)
{
	int	n = (int)strlen(s);

	if (w <= 0) {
		audit_safe_print(f, s, strlen(s), false);
		return;
	}
	if (n > w) {
		audit_safe_print(f, s, (size_t)w - 1, false);
		fputc('~', f);
		return;
	}
	if (right)
		fprintf(f, "%*s", w - n, "");
	audit_safe_print(f, s, (size_t)n, false);
	if (!right)
		fprintf(f, "%*s", w - n, "");
}

/* Writes one line cut to the terminal width: the command line, last, gives
 * way first; a narrow terminal loses the columns on the right. */
static void
audit_line_out(char *line, size_t len, int width)
{
	size_t	n = len;

	if (width > 0 && len > (size_t)width) {
		n = (size_t)width - 1;
		while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
			n--;	/* not inside a UTF-8 sequence */
		fwrite(line, 1, n, stdout);
		fputs("~\n", stdout);
		return;
	}
	fwrite(line, 1, n, stdout);
	fputc('\n', stdout);
}

static void
audit_fmt_duration(double d, char *buf, size_t len)
{
	if (d < 0 || isnan(d))
		snprintf(buf, len, "-");
	else if (d < 10)
		snprintf(buf, len, "%.2fs", d);
	else if (d < 600)
		snprintf(buf, len, "%.0fs", d);
	else if (d < 36000)
		snprintf(buf, len, "%.0fm", d / 60);
	else
		snprintf(buf, len, "%.0fh", d / 3600);
}

#define COL_PROFILE	0x1
#define COL_TIME	0x2
#define COL_AGENT	0x4

/* Under a listed run that --grep found by its output: the first line that
 * holds the text, as the terminal showed it. */
static void
audit_grep_line(struct audit *a, int64_t id, const char *grep, int width)
{
	struct sqlite3_stmt	*st = audit_q(a, "SELECT o.stream, o.head, o.tail, "
	    "CASE o.stream WHEN 'stdout' THEN r.stdout_bytes ELSE r.stderr_bytes END "
	    "FROM outputs o JOIN runs r ON r.id = o.run WHERE o.run = ?1 ORDER BY o.stream DESC");

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t		 len;
		autofree char	*r = audit_render(sqlite3_column_blob(st, 1),
				    (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_blob(st, 2),
				    (size_t)sqlite3_column_bytes(st, 2), sqlite3_column_int64(st, 3),
				    &len);
		char		*m = memmem(r, len, grep, strlen(grep)), *b, *e, *line = NULL;
		size_t		 n = 0;
		FILE		*f;

		if (m == NULL)
			continue;
		for (b = m; b > r && b[-1] != '\n'; b--)
			;
		if ((e = memchr(m, '\n', len - (size_t)(m - r))) == NULL)
			e = r + len;
		f = open_memstream(&line, &n);
		fprintf(f, "    %s: ", sqlite3_column_text(st, 0));
		audit_safe_print(f, b, (size_t)(e - b), false);
		fclose(f);
		audit_line_out(line, n, width);
		free(line);
		break;
	}
	sqlite3_finalize(st);
}

static const char audit_list_cols[] =
	"id, run_id, started_at, ended_at, duration, status, source, client, profile, "
	"net_mode, risk, exit_code, signal, end_reason, argv, command, session";

static int
audit_cmd_list(struct audit *a, const struct audit_opts *o)
{
	autofree char		*sql = NULL, *where = audit_where(o, false);
	struct sqlite3_stmt	*st;
	int			 rc, width = audit_term_width(), idw = 2, fixed;
	int			 cols = COL_PROFILE | COL_TIME | COL_AGENT;
	bool			 shortdate = false;
	long long		 limit = o->limit == 0 ? 20 : o->limit;

	sql = xprintf("SELECT %s FROM runs %s ORDER BY id DESC LIMIT %lld", audit_list_cols,
	    where, limit);
	if ((st = audit_q(a, sql)) == NULL)
		return (EXIT_MOAT);
	audit_bind_filter(st, o);
	if (o->json || o->csv) {
		rc = audit_dump(a, st, o->json ? "json" : "csv");
		sqlite3_finalize(st);
		return (rc);
	}
	{
		struct sqlite3_stmt	*mx = audit_q(a, "SELECT max(id) FROM runs");

		if (mx != NULL && sqlite3_step(mx) == SQLITE_ROW)
			idw = snprintf(NULL, 0, "%lld", (long long)sqlite3_column_int64(mx, 0));
		sqlite3_finalize(mx);
		if (idw < 2)
			idw = 2;
	}
	/* A narrow terminal keeps at least 24 columns of command line: it drops
	 * AGENT, then TIME, then PROFILE, then shortens the date. */
	fixed = idw + 1 + 20 + 13 + 11 + 5 + 5 + 7 + 11;
	if (width > 0 && fixed + 24 > width) {
		cols &= ~COL_AGENT;
		fixed -= 11;
	}
	if (width > 0 && fixed + 24 > width) {
		cols &= ~COL_TIME;
		fixed -= 7;
	}
	if (width > 0 && fixed + 24 > width) {
		cols &= ~COL_PROFILE;
		fixed -= 11;
	}
	if (width > 0 && fixed + 24 > width)
		shortdate = true;
	{
		char	*line = NULL;
		size_t	 len = 0;
		FILE	*f = open_memstream(&line, &len);

		audit_cell(f, "ID", idw, true);
		fprintf(f, " %-*s %-12s ", shortdate ? 11 : 19, shortdate ? "STARTED" :
		    "STARTED (UTC)", "STATUS");
		if (cols & COL_PROFILE)
			fprintf(f, "%-10s ", "PROFILE");
		fprintf(f, "%4s %4s ", "RISK", "EXIT");
		if (cols & COL_TIME)
			fprintf(f, "%6s ", "TIME");
		if (cols & COL_AGENT)
			fprintf(f, "%-10s ", "AGENT");
		fprintf(f, "COMMAND");
		fclose(f);
		audit_line_out(line, len, width);
		free(line);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char		 id[24], started[24], risk[8], ex[16], dur[16], agent[64];
		const char	*s;
		char		*line = NULL;
		size_t		 len = 0;
		FILE		*f = open_memstream(&line, &len);

		snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(st, 0));
		snprintf(started, sizeof started, "%.19s",
		    (const char *)sqlite3_column_text(st, 2) ?: "");
		if (strlen(started) > 10)
			started[10] = ' ';
		if (shortdate && strlen(started) > 16)
			started[16] = '\0';	/* "11-25 13:46" below */
		if (sqlite3_column_type(st, 10) == SQLITE_NULL)
			snprintf(risk, sizeof risk, "-");
		else
			snprintf(risk, sizeof risk, "%d", sqlite3_column_int(st, 10));
		if (sqlite3_column_type(st, 12) != SQLITE_NULL)
			snprintf(ex, sizeof ex, "S%d", sqlite3_column_int(st, 12));
		else if (sqlite3_column_type(st, 11) != SQLITE_NULL)
			snprintf(ex, sizeof ex, "%d", sqlite3_column_int(st, 11));
		else
			snprintf(ex, sizeof ex, "-");
		audit_fmt_duration(sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 :
		    sqlite3_column_double(st, 4), dur, sizeof dur);
		s = (const char *)sqlite3_column_text(st, 7);
		snprintf(agent, sizeof agent, "%s%s%s", sqlite3_column_text(st, 6),
		    s != NULL ? ":" : "", s != NULL ? s : "");
		audit_cell(f, id, idw, true);
		fputc(' ', f);
		audit_cell(f, shortdate ? started + 5 : started, shortdate ? 11 : 19, false);
		fputc(' ', f);
		audit_cell(f, (const char *)sqlite3_column_text(st, 5), 12, false);
		fputc(' ', f);
		if (cols & COL_PROFILE) {
			audit_cell(f, (const char *)sqlite3_column_text(st, 8) ?: "-", 10, false);
			fputc(' ', f);
		}
		audit_cell(f, risk, 4, true);
		fputc(' ', f);
		audit_cell(f, ex, 4, true);
		fputc(' ', f);
		if (cols & COL_TIME) {
			audit_cell(f, dur, 6, true);
			fputc(' ', f);
		}
		if (cols & COL_AGENT) {
			audit_cell(f, agent, 10, false);
			fputc(' ', f);
		}
		s = (const char *)sqlite3_column_text(st, 15) ?: "";
		audit_safe_print(f, s, strlen(s), false);
		fclose(f);
		audit_line_out(line, len, width);
		free(line);
		if (o->grep != NULL && strstr(s, o->grep) == NULL)
			audit_grep_line(a, sqlite3_column_int64(st, 0), o->grep, width);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "moat audit: %s\n", sqlite3_errmsg(audit_sqlite(a)));
		return (EXIT_MOAT);
	}
	return (0);
}

/* The integer id, or a unique prefix of the run id string. */
static int
audit_resolve(struct audit *a, const char *arg, int64_t *id)
{
	struct audit_run_info	ri;
	struct merr		e = { 0 };

	if (audit_run_find(a, arg, &ri, &e) == -1) {
		fprintf(stderr, "moat audit: %s\n", e.msg);
		return (-1);
	}
	*id = ri.id;
	audit_run_info_release(&ri);
	return (0);
}

static void
audit_fmt_bytes(double b, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t	i = 0;

	while (b >= 1024 && i + 1 < nitems(u)) {
		b /= 1024;
		i++;
	}
	snprintf(buf, len, i == 0 ? "%.0f %s" : "%.1f %s", b, u[i]);
}

/* A text sparkline of one series, bucketed to width cells (max per cell). */
static void
audit_sparkline(const char *label, const double *v, size_t n, int width, bool bytes)
{
	static const char *const utf[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
	    "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char *const asc[] = { " ", ".", ".", ":", "-", "=", "+", "*", "#" };
	const char *const *glyph = strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? utf : asc;
	double	 max = 0, cell;
	char	 m[32];
	size_t	 cells = n < (size_t)width ? n : (size_t)width;

	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]) && v[i] > max)
			max = v[i];
	printf("  %-4s ", label);
	for (size_t c = 0; c < cells; c++) {
		size_t	from = c * n / cells, to = (c + 1) * n / cells;

		cell = 0;
		for (size_t i = from; i < to; i++)
			if (!isnan(v[i]) && v[i] > cell)
				cell = v[i];
		fputs(glyph[max > 0 ? (int)lround(cell / max * 8) : 0], stdout);
	}
	if (bytes)
		audit_fmt_bytes(max, m, sizeof m);
	else
		snprintf(m, sizeof m, "%.1f%%", max);
	printf("  max %s\n", m);
}

static void
audit_show_output(struct audit *a, int64_t id)
{
	struct sqlite3_stmt	*st = audit_q(a, "SELECT o.stream, o.head, o.tail, "
	    "CASE o.stream WHEN 'stdout' THEN r.stdout_bytes ELSE r.stderr_bytes END "
	    "FROM outputs o JOIN runs r ON r.id = o.run WHERE o.run = ?1 ORDER BY o.stream DESC");

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int		 nh = sqlite3_column_bytes(st, 1), nt = sqlite3_column_bytes(st, 2);
		long long	 total = sqlite3_column_int64(st, 3);
		const char	*h = sqlite3_column_blob(st, 1), *t = sqlite3_column_blob(st, 2);
		/* What a terminal showed (escape sequences, carriage returns):
		 * the text it drew, not the codes. */
		bool		 term = (nh > 0 && (memchr(h, '\033', (size_t)nh) != NULL ||
				    memchr(h, '\r', (size_t)nh) != NULL)) ||
				    (nt > 0 && (memchr(t, '\033', (size_t)nt) != NULL ||
				    memchr(t, '\r', (size_t)nt) != NULL));

		printf("\n%s (%lld bytes%s%s):\n", sqlite3_column_text(st, 0), total,
		    nt > 0 ? ", head and tail" : "", term ? "; as the text a terminal "
		    "drew, --json has the bytes" : "");
		for (int part = 0; part < 2; part++) {
			const char	*b = part == 0 ? h : t;
			int		 len = part == 0 ? nh : nt;

			if (part == 1 && nt > 0 && total > nh + nt)
				printf("\n[... %lld bytes not kept ...]\n", total - nh - nt);
			if (len <= 0)
				continue;
			if (term) {
				size_t	 cap = (size_t)len * 8 + 2;
				char	*txt = xmalloc(cap);
				size_t	 tn = ttystate_text(b, (size_t)len, txt, cap);

				audit_safe_print(stdout, txt, tn, true);
				free(txt);
			} else {
				audit_safe_print(stdout, b, (size_t)len, true);
				if (b[len - 1] != '\n' && (part == 1 || nt == 0))
					putchar('\n');
			}
		}
	}
	sqlite3_finalize(st);
}

/* A connection event whose text is the proxy's own line ("refused
 * host:port via ...: reason; ...") already says the host, port, verdict
 * and reason: printing the columns before it would say them twice. */
static bool
audit_show_net_line(const char *detail, const char *verdict)
{
	size_t	n;

	if (detail == NULL || verdict == NULL)
		return (false);
	n = strlen(verdict);
	return (strncmp(detail, verdict, n) == 0 && detail[n] == ' ');
}

/* One column of a run's row, for show: the fields a reviewer reads come
 * first, each printed once; what is left (the hash chain, the owner) last. */
struct audit_field {
	char	*name;		/* owned */
	char	*value;		/* owned; NULL when the column is NULL */
	bool	 shown;
};

static const char *
audit_field(struct audit_field *f, int nf, const char *name)
{
	for (int i = 0; i < nf; i++)
		if (strcmp(f[i].name, name) == 0) {
			f[i].shown = true;
			return (f[i].value);
		}
	return (NULL);
}

static void
audit_show_line(const char *label, const char *v)
{
	if (v == NULL)
		return;
	printf("%-10s ", label);
	audit_safe_print(stdout, v, strlen(v), false);
	putchar('\n');
}

/* What the run was and what moat made of it: the command, how it ended, the
 * risk score with each of its reasons, then where and for whom it ran. */
static void
audit_show_head(struct audit *a, int64_t id, struct audit_field *f, int nf)
{
	const char		*v, *status, *reason, *code, *sig, *dur, *rf, *rs;
	const char		*prof, *net, *ws, *cwd;
	char			 buf[512];
	struct sqlite3_stmt	*st;

	printf("%-10s %" PRId64 "\n", "run", id);
	(void)audit_field(f, nf, "id");
	audit_show_line("run_id", audit_field(f, nf, "run_id"));
	audit_show_line("command", audit_field(f, nf, "command"));
	status = audit_field(f, nf, "status");
	reason = audit_field(f, nf, "end_reason");
	code = audit_field(f, nf, "exit_code");
	sig = audit_field(f, nf, "signal");
	dur = audit_field(f, nf, "duration");
	snprintf(buf, sizeof buf, "%s%s%s%s%s%s%s%s%s%s", status ? status : "?",
	    reason ? ", " : "", reason ? reason : "",
	    code ? ", exit " : "", code ? code : "",
	    sig ? ", signal " : "", sig ? sig : "",
	    dur ? " after " : "", dur ? dur : "", dur ? "s" : "");
	audit_show_line("verdict", buf);
	rf = audit_field(f, nf, "risk_final");
	rs = audit_field(f, nf, "risk_static");
	(void)audit_field(f, nf, "risk");
	if (rf != NULL || rs != NULL) {
		snprintf(buf, sizeof buf, "%s%s%s%s", rf ? rf : rs,
		    rf && rs ? " (before the run: " : "", rf && rs ? rs : "",
		    rf && rs ? ")" : "");
		audit_show_line("risk", buf);
	}
	/* Each reason once: the final list holds the static one's. */
	v = audit_field(f, nf, "risk_final_reasons");
	if (v == NULL)
		v = audit_field(f, nf, "risk_static_reasons");
	(void)audit_field(f, nf, "risk_static_reasons");
	if (v != NULL && (st = audit_q(a, "SELECT json_extract(value, '$.weight'), "
	    "json_extract(value, '$.rule'), json_extract(value, '$.category'), "
	    "json_extract(value, '$.reason'), json_extract(value, '$.match') "
	    "FROM json_each(?1)")) != NULL) {
		sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *m = (const char *)sqlite3_column_text(st, 4);

			snprintf(buf, sizeof buf, "+%s %s (%s): %s%s%s%s",
			    sqlite3_column_text(st, 0) ?: (const unsigned char *)"?",
			    sqlite3_column_text(st, 1) ?: (const unsigned char *)"?",
			    sqlite3_column_text(st, 2) ?: (const unsigned char *)"?",
			    sqlite3_column_text(st, 3) ?: (const unsigned char *)"",
			    m ? " [" : "", m ? m : "", m ? "]" : "");
			audit_show_line("  reason", buf);
		}
		sqlite3_finalize(st);
	}
	audit_show_line("started", audit_field(f, nf, "started_at"));
	prof = audit_field(f, nf, "profile");
	net = audit_field(f, nf, "net_mode");
	if (prof != NULL) {
		snprintf(buf, sizeof buf, "%s%s%s%s", prof, net ? " (net " : "",
		    net ? net : "", net ? ")" : "");
		audit_show_line("profile", buf);
	}
	ws = audit_field(f, nf, "workspace");
	cwd = audit_field(f, nf, "cwd");
	audit_show_line("workspace", ws);
	if (cwd != NULL && (ws == NULL || strcmp(ws, cwd) != 0))
		audit_show_line("cwd", cwd);
	if ((v = audit_field(f, nf, "source")) != NULL) {
		const char *cl = audit_field(f, nf, "client");
		const char *u = audit_field(f, nf, "user");

		snprintf(buf, sizeof buf, "%s%s%s%s%s", v, cl ? " " : "", cl ? cl : "",
		    u ? ", user " : "", u ? u : "");
		audit_show_line("by", buf);
	}
	audit_show_line("session", audit_field(f, nf, "session"));
}

/* The rest of the row: with -v every field left, one per line as stored
 * (the hash chain, the owner, the digests, the limits); without, one line
 * that says how to see them. */
static void
audit_show_record(struct audit_field *f, int nf, bool verbose, int64_t id)
{
	if (!verbose) {
		const char *seq = audit_field(f, nf, "seq"), *h = audit_field(f, nf, "hash");

		printf("\nrecord: seq %s, hash %.16s%s (moat audit show -v %" PRId64
		    " for the chain, owner, digests and limits)\n", seq ? seq : "-",
		    h ? h : "-", h ? "..." : "", id);
		return;
	}
	printf("\nrecord:\n");
	for (int i = 0; i < nf; i++) {
		if (f[i].shown)
			continue;
		printf("  %-20s ", f[i].name);
		audit_safe_print(stdout, f[i].value, strlen(f[i].value), false);
		putchar('\n');
	}
}

/* The exec trail as a tree: each program under the one it was started
 * from (the same pid when it exec'd again, else its parent on the trail),
 * in the order they started, with pid, static risk and arguments. */
struct audit_exec {
	double		 t;
	int64_t		 pid, ppid;
	int		 risk;
	char		*cmd;		/* owned: detail, "exec PATH: ARGV..." */
	size_t		 parent;	/* index + 1, 0: a root */
};

static void
audit_trail_print(const struct audit_exec *x, size_t n, size_t parent, int depth)
{
	for (size_t i = 0; i < n; i++) {
		const char	*c;

		if (x[i].parent != parent)
			continue;
		printf("  %8.3fs %*s%s[%lld] ", x[i].t, depth * 2, "", depth > 0 ?
		    "`- " : "", (long long)x[i].pid);
		if ((c = strstr(x[i].cmd, ": ")) != NULL)
			c += 2;
		else
			c = x[i].cmd;
		audit_safe_print(stdout, c, strlen(c), false);
		if (x[i].risk > 0)
			printf("  (risk %d)", x[i].risk);
		putchar('\n');
		if (depth < 64)
			audit_trail_print(x, n, i + 1, depth + 1);
	}
}

static void
audit_show_trail(struct audit *a, int64_t id)
{
	struct sqlite3_stmt	*st;
	struct audit_exec	*x = NULL;
	size_t			 n = 0;
	int64_t			 total = 0;

	if ((st = audit_q(a, "SELECT t, json_extract(extra, '$.pid'), "
	    "json_extract(extra, '$.ppid'), json_extract(extra, '$.risk'), detail, "
	    "count(*) OVER () FROM events WHERE run = ?1 AND kind = 'exec' "
	    "ORDER BY t, id LIMIT 2000")) == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char	*d = (const char *)sqlite3_column_text(st, 4);

		x = xreallocarray(x, n + 1, sizeof *x);
		x[n].t = sqlite3_column_double(st, 0);
		x[n].pid = sqlite3_column_int64(st, 1);
		x[n].ppid = sqlite3_column_int64(st, 2);
		x[n].risk = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 :
		    sqlite3_column_int(st, 3);
		x[n].cmd = xstrdup(d != NULL ? d : "?");
		x[n].parent = 0;
		total = sqlite3_column_int64(st, 5);
		/* the latest earlier program of the same pid, else of the parent */
		for (size_t j = n; j-- > 0 && x[n].parent == 0;)
			if (x[j].pid == x[n].pid)
				x[n].parent = j + 1;
		for (size_t j = n; j-- > 0 && x[n].parent == 0;)
			if (x[j].pid == x[n].ppid)
				x[n].parent = j + 1;
		n++;
	}
	sqlite3_finalize(st);
	if (n == 0)
		return;
	printf("\nprograms (%lld, as a tree by parent):\n", (long long)total);
	audit_trail_print(x, n, 0, 0);
	if (total > (int64_t)n)
		printf("  ... and %lld more (moat audit show --json lists them)\n",
		    (long long)(total - (int64_t)n));
	for (size_t i = 0; i < n; i++)
		free(x[i].cmd);
	free(x);
}

static int
audit_cmd_show(struct audit *a, const struct audit_opts *o)
{
	struct sqlite3_stmt	*st;
	int64_t			 id;
	int			 width = audit_term_width();
	double			*cpu = NULL, *mem = NULL;
	size_t			 n = 0;
	struct audit_field	*f;
	int			 nf;

	if (o->id == NULL)
		return (cmd_usage_error(&cmd_audit_entry, "show needs a run: ID or run id prefix"));
	if (audit_resolve(a, o->id, &id) == -1)
		return (1);
	if ((st = audit_q(a, "SELECT *, (SELECT json_group_array(json_object('t', t, "
	    "'kind', kind, 'name', name, 'detail', detail, 'count', count, 'host', host, "
	    "'port', port, 'addr', addr, 'verdict', verdict, 'rule', rule, "
	    "'bytes_out', bytes_out, 'bytes_in', bytes_in, 'extra', json(extra))) "
	    "FROM (SELECT * FROM events WHERE run = ?1 ORDER BY id)) AS events "
	    "FROM runs WHERE id = ?1")) == NULL)
		return (EXIT_MOAT);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return (1);
	}
	if (o->json) {
		audit_print_json_row(stdout, st);
		putchar('\n');
		sqlite3_finalize(st);
		return (0);
	}
	nf = sqlite3_column_count(st);
	f = xcalloc((size_t)nf, sizeof *f);
	for (int i = 0; i < nf; i++) {
		const char	*v = (const char *)sqlite3_column_text(st, i);

		f[i].name = xstrdup(sqlite3_column_name(st, i));
		f[i].value = v != NULL ? xstrdup(v) : NULL;
		f[i].shown = v == NULL || strcmp(f[i].name, "events") == 0;
	}
	sqlite3_finalize(st);
	audit_show_head(a, id, f, nf);

	audit_show_trail(a, id);
	if ((st = audit_q(a, "SELECT t, kind, name, count, detail, host, port, verdict, rule "
	    "FROM events WHERE run = ?1 AND kind != 'exec' ORDER BY t, id LIMIT 200")) != NULL) {
		int	k = 0;

		sqlite3_bind_int64(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(st, 4);

			if (k++ == 0)
				printf("\nevents:\n");
			printf("  %8.3fs %-7s ", sqlite3_column_double(st, 0),
			    sqlite3_column_text(st, 1));
			if (sqlite3_column_text(st, 5) != NULL &&
			    audit_show_net_line(d, (const char *)sqlite3_column_text(st, 7)))
				;	/* the proxy's own line says it all */
			else if (sqlite3_column_text(st, 5) != NULL) {
				const char *h = (const char *)sqlite3_column_text(st, 5);
				bool v6 = strchr(h, ':') != NULL;

				printf("%s%s%s:%d %s%s%s ", v6 ? "[" : "", h, v6 ? "]" : "",
				    sqlite3_column_int(st, 6),
				    sqlite3_column_text(st, 7) ?: (const unsigned char *)"",
				    sqlite3_column_text(st, 8) ? " by " : "",
				    sqlite3_column_text(st, 8) ?: (const unsigned char *)"");
			} else if (sqlite3_column_text(st, 2) != NULL)
				printf("%s ", sqlite3_column_text(st, 2));
			if (sqlite3_column_int64(st, 3) > 1)
				printf("x%lld ", (long long)sqlite3_column_int64(st, 3));
			if (d != NULL)
				audit_safe_print(stdout, d, strlen(d), false);
			putchar('\n');
		}
		sqlite3_finalize(st);
	}
	if ((st = audit_q(a, "SELECT cpu_pct, mem_bytes FROM samples WHERE run = ?1 "
	    "ORDER BY t")) != NULL) {
		sqlite3_bind_int64(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			cpu = xreallocarray(cpu, n + 1, sizeof *cpu);
			mem = xreallocarray(mem, n + 1, sizeof *mem);
			cpu[n] = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN :
			    sqlite3_column_double(st, 0);
			mem[n++] = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN :
			    sqlite3_column_double(st, 1);
		}
		sqlite3_finalize(st);
		if (n > 0) {
			int	w = width > 30 ? width - 30 : 50;

			printf("\nmeters (%zu samples):\n", n);
			audit_sparkline("cpu", cpu, n, w > 80 ? 80 : w, false);
			audit_sparkline("mem", mem, n, w > 80 ? 80 : w, true);
		}
		free(cpu);
		free(mem);
	}
	audit_show_output(a, id);
	audit_show_record(f, nf, o->verbose, id);
	for (int i = 0; i < nf; i++) {
		free(f[i].name);
		free(f[i].value);
	}
	free(f);
	return (0);
}

static void
audit_stats_table(struct audit *a, const struct audit_opts *o, const char *title,
    const char *sql, bool first)
{
	struct sqlite3_stmt	*st = audit_q(a, sql);
	int			 k = 0;

	if (st == NULL)
		return;
	audit_bind_filter(st, o);
	if (o->json)
		printf("%s\"%s\":[", first ? "" : ",", title);
	else
		printf("%s%s:\n", first ? "" : "\n", title);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char	*key = (const char *)sqlite3_column_text(st, 0);

		if (o->json) {
			autofree char	*j = audit_json_str(key ?: "(none)");

			printf("%s{\"key\":%s,\"runs\":%lld", k ? "," : "", j,
			    (long long)sqlite3_column_int64(st, 1));
			if (sqlite3_column_count(st) > 2)
				printf(",\"%s\":%lld", sqlite3_column_name(st, 2),
				    (long long)sqlite3_column_int64(st, 2));
			putchar('}');
		} else {
			printf("  %8lld  ", (long long)sqlite3_column_int64(st, 1));
			audit_safe_print(stdout, key ?: "(none)", strlen(key ?: "(none)"), false);
			if (sqlite3_column_count(st) > 2)
				printf("  (%s %lld)", sqlite3_column_name(st, 2),
				    (long long)sqlite3_column_int64(st, 2));
			putchar('\n');
		}
		k++;
	}
	if (o->json)
		putchar(']');
	else if (k == 0)
		printf("  (none)\n");
	sqlite3_finalize(st);
}

static int
audit_cmd_stats(struct audit *a, const struct audit_opts *o)
{
	autofree char	*where = audit_where(o, true), *by_status = NULL, *by_profile = NULL,
			*by_band = NULL, *by_agent = NULL, *sys = NULL, *hosts = NULL;
	/* Events are joined to the filtered runs only when there is a filter:
	 * unfiltered, the (kind, name, count, run) index answers alone. */
	autofree char	*evwhere = audit_filtered(o) ?
	    xprintf("AND run IN (SELECT id FROM runs %s)", where) : xstrdup("");

	by_status = xprintf("SELECT status, count(*) FROM runs %s GROUP BY status "
	    "ORDER BY 2 DESC", where);
	by_profile = xprintf("SELECT profile, count(*) FROM runs %s GROUP BY profile "
	    "ORDER BY 2 DESC LIMIT 20", where);
	/* Count per score first (the risk index), then fold into bands. */
	by_band = xprintf("SELECT CASE WHEN risk IS NULL THEN 'unscored' WHEN risk < 30 "
	    "THEN 'low (0-29)' WHEN risk < 60 THEN 'medium (30-59)' WHEN risk < 85 THEN "
	    "'high (60-84)' ELSE 'critical (85-100)' END AS band, sum(n) FROM "
	    "(SELECT risk, count(*) AS n FROM runs %s GROUP BY risk) "
	    "GROUP BY band ORDER BY min(coalesce(risk, -1))", where);
	by_agent = xprintf("SELECT source || coalesce(':' || client, ''), count(*) FROM runs "
	    "%s GROUP BY source, client ORDER BY 2 DESC LIMIT 20", where);
	sys = xprintf("SELECT name, sum(count) AS denials, count(DISTINCT run) AS runs "
	    "FROM events WHERE kind = 'syscall' %s GROUP BY name ORDER BY 2 DESC LIMIT 10",
	    evwhere);
	hosts = xprintf("SELECT host, count(*) AS connections, sum(verdict != 'allowed') AS "
	    "denied FROM events WHERE kind = 'net' AND host IS NOT NULL %s GROUP BY host "
	    "ORDER BY 2 DESC LIMIT 10", evwhere);
	if (o->json)
		putchar('{');
	audit_stats_table(a, o, "status", by_status, true);
	audit_stats_table(a, o, "profile", by_profile, false);
	audit_stats_table(a, o, "risk", by_band, false);
	audit_stats_table(a, o, "agent", by_agent, false);
	audit_stats_table(a, o, "denied syscalls", sys, false);
	audit_stats_table(a, o, "hosts", hosts, false);
	if (o->json)
		puts("}");
	return (fflush(stdout) == 0 ? 0 : EXIT_MOAT);
}

static int
audit_cmd_export(struct audit *a, const struct audit_opts *o)
{
	const char		*fmt = o->format != NULL ? o->format : o->csv ? "csv" : "jsonl";
	autofree char		*sql = NULL, *lim = NULL, *where = audit_where(o, false);
	struct sqlite3_stmt	*st;
	int			 rc;

	if (strcmp(fmt, "jsonl") != 0 && strcmp(fmt, "csv") != 0)
		return (cmd_usage_error(&cmd_audit_entry, "--format \"%s\": valid: jsonl, csv",
		    fmt));
	/* jsonl carries each run's events; csv is one flat row per run. */
	sql = xprintf("SELECT *%s FROM runs %s ORDER BY id%s", strcmp(fmt, "jsonl") == 0 ?
	    ", (SELECT json_group_array(json_object('t', t, 'kind', kind, 'name', name, "
	    "'detail', detail, 'count', count, 'host', host, 'port', port, 'addr', addr, "
	    "'verdict', verdict, 'rule', rule, 'bytes_out', bytes_out, 'bytes_in', "
	    "bytes_in)) FROM events WHERE run = runs.id) AS events" : "", where,
	    (lim = o->limit > 0 ? xprintf(" LIMIT %lld", o->limit) : xstrdup("")));
	if ((st = audit_q(a, sql)) == NULL)
		return (EXIT_MOAT);
	audit_bind_filter(st, o);
	rc = audit_dump(a, st, fmt);
	sqlite3_finalize(st);
	return (rc);
}

static int
audit_cmd_verify(struct audit *a, const struct audit_opts *o)
{
	struct audit_verify	v;
	struct merr		e;

	switch (audit_verify(a, &v, &e)) {
	case 0:
		if (o->json)
			printf("{\"valid\":true,\"runs\":%lld,\"head\":\"%s\","
			    "\"dead_running\":%lld}\n", (long long)v.rows, v.head,
			    (long long)v.dead);
		else
			printf("ok: %lld runs in the chain; head %s\n", (long long)v.rows, v.head);
		if (v.dead > 0 && !o->json)
			printf("%lld running row(s) whose moat is gone, from run %lld: not in "
			    "the chain yet; the next moat run marks them interrupted\n",
			    (long long)v.dead, (long long)v.dead_id);
		return (0);
	case 1:
		if (o->json) {
			autofree char	*m = audit_json_str(v.msg);

			printf("{\"valid\":false,\"run\":%lld,\"what\":\"%s\",\"message\":%s}\n",
			    (long long)v.bad_id, v.what, m);
		} else
			printf("BROKEN: %s\n", v.msg);
		return (1);
	default:
		merr_print(&e);
		return (EXIT_MOAT);
	}
}

/* A layer whose run still runs, or a live session's, is not pruned. */
struct layer_busy {
	struct audit	*a;
	struct strv	 live;		/* the run ids of live sessions */
};

static bool
audit_layer_busy(const char *run_id, void *arg)
{
	struct layer_busy	*lb = arg;
	struct audit_run_info	 ri;
	struct merr		 e = { 0 };
	bool			 busy;

	if (strv_contains(&lb->live, run_id))
		return (true);
	if (audit_run_find(lb->a, run_id, &ri, &e) == -1)
		return (false);
	busy = strcmp(ri.status, "running") == 0;
	audit_run_info_release(&ri);
	return (busy);
}

static int
audit_cmd_prune(struct audit *a, const struct audit_opts *o)
{
	struct merr		 e = { 0 };
	struct review_pruned	 rp;
	int64_t			 n;
	double			 before = 0;
	char			 freed[32], left[32];
	int			 rc;

	if (o->before[0] == '\0' && o->layers_max == 0)
		return (cmd_usage_error(&cmd_audit_entry, "prune needs --before DATE "
		    "or --layers-max SIZE"));
	if (o->before[0] != '\0') {
		if ((n = audit_prune(a, o->before, &e)) == -1) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
		printf("pruned %lld runs that ended before %s\n", (long long)n, o->before);
		if (audit_parse_time(o->before, 0, &before) == -1)
			before = 0;
	}
	{
		struct layer_busy	 lb = { .a = a };
		struct session_info	*sv = NULL;
		size_t			 nsv = 0;

		if (session_list(&sv, &nsv, &e) == -1) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
		for (size_t k = 0; k < nsv; k++)
			strv_add(&lb.live, sv[k].run_id);
		free(sv);
		rc = review_prune(before, o->layers_max, audit_layer_busy, &lb, &rp, &e);
		strv_clear(&lb.live);
		if (rc == -1) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
	}
	audit_fmt_bytes((double)rp.bytes, freed, sizeof freed);
	audit_fmt_bytes((double)rp.left, left, sizeof left);
	printf("removed %zu kept overlay layers (%s); %s left\n", rp.layers, freed, left);
	return (0);
}

static volatile sig_atomic_t	audit_replay_stop;

static void
audit_replay_sig(int sig)
{
	(void)sig;
	audit_replay_stop = 1;
}

/* Writes all of a chunk; false when the reader went away or a signal
 * asked to stop. */
static bool
audit_replay_write(int fd, const char *p, size_t len)
{
	while (len > 0 && !audit_replay_stop) {
		ssize_t	n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (false);
		p += n;
		len -= (size_t)n;
	}
	return (!audit_replay_stop);
}

/* Sleeps s seconds, or until a signal asks to stop. */
static void
audit_replay_pause(double s)
{
	struct timespec	ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (!audit_replay_stop && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* moat audit replay: the run's kept output (stdout to stdout, stderr to
 * stderr) as it was written, paused as it paused; a terminal it played on
 * gets back what the output switched on (ttystate), as the pty relay does
 * when a run ends. */
static int
audit_cmd_replay(struct audit *a, const struct audit_opts *o)
{
	struct replay		 r = { 0 };
	struct merr		 e;
	struct ttystate		 ts[2];
	struct sigaction	 sa = { 0 }, old[3];
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP };
	double			 speed = o->speed > 0 ? o->speed : 1;
	uint64_t		 prev = 0;
	int64_t			 id;
	bool			 tty[2] = { isatty(1) == 1, isatty(2) == 1 };

	if (o->id == NULL)
		return (cmd_usage_error(&cmd_audit_entry, "replay needs a run: ID or run id prefix"));
	if (audit_resolve(a, o->id, &id) == -1)
		return (1);
	if (replay_load(a, id, &r, &e) == -1) {
		merr_print(&e);
		return (EXIT_MOAT);
	}
	if (r.n == 0) {
		cmd_errorf("moat audit replay: run %lld kept no output (it wrote none, "
		    "or its profile keeps none: audit-output = 0)\n", (long long)id);
		replay_clear(&r);
		return (1);
	}
	if (r.damaged)
		cmd_errorf("moat audit replay: run %lld: its output's timing is damaged; "
		    "played without pauses (moat audit verify says whether the row "
		    "was edited)\n", (long long)id);
	else if (r.untimed && !o->no_wait)
		cmd_errorf("moat audit replay: run %lld was recorded without timing (by a "
		    "moat before audit schema 5): played without pauses\n", (long long)id);
	ttystate_init(&ts[0]);
	ttystate_init(&ts[1]);
	sa.sa_handler = audit_replay_sig;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < nitems(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]);
	prev = r.c[0].ms;
	for (size_t i = 0; i < r.n && !audit_replay_stop; i++) {
		const struct replay_chunk	*c = &r.c[i];
		int				 fd = c->stream == 2 ? 2 : 1;
		double				 wait = (double)(c->ms - prev) / 1000 / speed;

		if (c->ms > prev && !o->no_wait && !r.damaged) {
			if (o->max_pause > 0 && wait > o->max_pause)
				wait = o->max_pause;
			audit_replay_pause(wait);
		}
		if (c->ms > prev)
			prev = c->ms;
		if (c->skipped > 0) {
			char	gap[96];
			int	n = snprintf(gap, sizeof gap, "%s[... %llu bytes not kept ...]\r\n",
				    tty[fd - 1] ? "\r\n\033[m" : "\n",
				    (unsigned long long)c->skipped);

			if (!audit_replay_write(fd, gap, (size_t)n))
				break;
		}
		if (tty[fd - 1])
			ttystate_feed(&ts[fd - 1], c->p, c->len);
		if (!audit_replay_write(fd, c->p, c->len))
			break;
	}
	for (int k = 0; k < 2; k++) {
		char	rb[TTYSTATE_RESTORE_MAX];
		size_t	n;

		if (tty[k] && (n = ttystate_restore(&ts[k], rb)) > 0)
			while (write(k + 1, rb, n) == -1 && errno == EINTR)
				;
	}
	for (size_t i = 0; i < nitems(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	replay_clear(&r);
	return (audit_replay_stop ? 130 : 0);
}

static int
cmd_audit_exec(int argc, char **argv)
{
	struct audit_opts	 o;
	struct audit		*a;
	struct merr		 e;
	char			 def[4096];
	const char		*path;
	int			 rc;

	memset(&o, 0, sizeof o);
	if ((rc = audit_parse_opts(argc, argv, &o)) != 0)
		return (rc);
	if (o.sub == NULL)
		o.sub = "list";
	if (strcmp(o.sub, "list") != 0 && strcmp(o.sub, "show") != 0 &&
	    strcmp(o.sub, "stats") != 0 && strcmp(o.sub, "export") != 0 &&
	    strcmp(o.sub, "prune") != 0 && strcmp(o.sub, "verify") != 0 &&
	    strcmp(o.sub, "replay") != 0)
		return (cmd_usage_error(&cmd_audit_entry, "unknown subcommand \"%s\"", o.sub));
	path = o.db != NULL ? o.db : audit_default_path(def, sizeof def);
	if (access(path, F_OK) == -1) {
		cmd_errorf("moat audit: no audit log at %s (nothing recorded yet, or "
		    "give --db PATH)\n", path);
		return (1);
	}
	/* What a killed moat left in the cgroup tree goes as its row is
	 * marked interrupted (the next moat run would do it too). */
	{
		struct merr	ce;

		(void)cg_sweep(&ce);
	}
	/* Read-write when possible, so that runs whose moat died are marked
	 * interrupted before they are shown; read-only otherwise. verify is
	 * always read-only: it reports, it never closes or chains a row. */
	if (strcmp(o.sub, "verify") == 0) {
		if ((a = audit_open(path, AUDIT_READONLY, &e)) == NULL) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
	} else if ((a = audit_open(path, 0, &e)) == NULL) {
		if (strcmp(o.sub, "prune") == 0 ||
		    (a = audit_open(path, AUDIT_READONLY, &e)) == NULL) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
	}
	if (sqlite3_create_function(audit_sqlite(a), "moat_seen", 4, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, audit_sql_seen, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "moat audit: %s: %s\n", audit_path(a),
		    sqlite3_errmsg(audit_sqlite(a)));
		audit_close(a);
		return (EXIT_MOAT);
	}
	if (strcmp(o.sub, "list") == 0)
		rc = audit_cmd_list(a, &o);
	else if (strcmp(o.sub, "show") == 0)
		rc = audit_cmd_show(a, &o);
	else if (strcmp(o.sub, "replay") == 0)
		rc = audit_cmd_replay(a, &o);
	else if (strcmp(o.sub, "stats") == 0)
		rc = audit_cmd_stats(a, &o);
	else if (strcmp(o.sub, "export") == 0)
		rc = audit_cmd_export(a, &o);
	else if (strcmp(o.sub, "prune") == 0)
		rc = audit_cmd_prune(a, &o);
	else
		rc = audit_cmd_verify(a, &o);
	audit_close(a);
	return (rc);
}
