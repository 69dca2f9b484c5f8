/* tui-audit.c: the audit view's rows: the log read-only, narrowed in SQL
 * (status, lowest risk, profile, a text of the command), each run as
 * "412 ✓   0  0.8s  12 default  tui  command". Front end (TUI), in the
 * supervisor's process. */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "audit/audit.h"
#include "tui-audit.h"
#include "tui-draw.h"
#include "tui-runs.h"
#include "tui-view.h"

static const char *const taudit_statuses[] = {
	"", "done", "running", "refused", "interrupted", "setup-failed",
};

const char *
taudit_next_status(const char *cur)
{
	size_t	n = sizeof taudit_statuses / sizeof taudit_statuses[0];

	for (size_t i = 0; i < n; i++)
		if (strcmp(cur, taudit_statuses[i]) == 0)
			return (taudit_statuses[(i + 1) % n]);
	return ("");
}

void
taudit_describe(const struct taudit_filter *f, char *buf, size_t len)
{
	size_t	off = 0;

	buf[0] = '\0';
#define ADD(...) do { if (off < len) off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__); } while (0)
	if (f->status[0] != '\0')
		ADD(" status %s", f->status);
	if (f->min_risk > 0)
		ADD(" risk >= %d", f->min_risk);
	if (f->profile[0] != '\0')
		ADD(" profile %s", f->profile);
	if (f->text[0] != '\0')
		ADD(" \"%s\"", f->text);
#undef ADD
	if (buf[0] == '\0')
		snprintf(buf, len, " all runs");
}

/* The command as the log joined it, shell-quoted: a TUI run's line is
 * given back without "/bin/sh -c" and its quotes. */
static void
taudit_command(char *out, size_t n, const char *cmd, const char *src)
{
	size_t	k = 0;

	if (cmd == NULL)
		cmd = "";
	if (src != NULL && strcmp(src, "tui") == 0 && strncmp(cmd, "/bin/sh -c ", 11) == 0)
		cmd += 11;
	while (*cmd != '\0' && k + 1 < n) {
		if (*cmd == '\'') {
			for (cmd++; *cmd != '\0' && *cmd != '\'' && k + 1 < n; cmd++)
				out[k++] = *cmd;
			if (*cmd == '\'')
				cmd++;
		} else if (*cmd == '\\' && cmd[1] != '\0') {
			out[k++] = cmd[1];
			cmd += 2;
		} else
			out[k++] = *cmd++;
	}
	out[k] = '\0';
}

int
taudit_load(const char *db, const struct taudit_filter *f, struct tview *v,
    struct merr *e)
{
	static const char	sql[] = "SELECT id, status, exit_code, risk, duration, "
	    "profile, source, command, started_at FROM runs WHERE "
	    "(?1 = '' OR status = ?1) AND (?2 <= 0 OR risk >= ?2) AND "
	    "(?3 = '' OR profile = ?3) AND (?4 = '' OR instr(lower(command), "
	    "lower(?4)) > 0) ORDER BY id DESC LIMIT ?5";
	struct audit		*a;
	sqlite3_stmt		*q = NULL;
	int			k = 0, rc;

	if ((rc = truns_query(db, sql, &a, &q, e)) <= 0)
		return (rc);
	sqlite3_bind_text(q, 1, f->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, f->min_risk);
	sqlite3_bind_text(q, 3, f->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, f->text, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, TAUDIT_MAX);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char	*status = (const char *)sqlite3_column_text(q, 1);
		const char	*prof = (const char *)sqlite3_column_text(q, 5);
		const char	*src = (const char *)sqlite3_column_text(q, 6);
		const char	*when = (const char *)sqlite3_column_text(q, 8);
		char		 id[24], ex[16], risk[8], dur[16], cmd[512], at[16];
		bool		 ok;
		int		 role;

		snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(q, 0));
		if (status == NULL)
			status = "?";
		ok = strcmp(status, "done") == 0 && sqlite3_column_type(q, 2) !=
		    SQLITE_NULL && sqlite3_column_int(q, 2) == 0;
		if (sqlite3_column_type(q, 2) != SQLITE_NULL)
			snprintf(ex, sizeof ex, "%3d", sqlite3_column_int(q, 2));
		else
			snprintf(ex, sizeof ex, "%.3s", status);
		if (sqlite3_column_type(q, 3) != SQLITE_NULL)
			snprintf(risk, sizeof risk, "%3d", sqlite3_column_int(q, 3));
		else
			snprintf(risk, sizeof risk, "  -");
		if (sqlite3_column_type(q, 4) != SQLITE_NULL)
			snprintf(dur, sizeof dur, "%6.1fs", sqlite3_column_double(q, 4));
		else
			snprintf(dur, sizeof dur, "       ");
		/* "2026-12-06T22:40:01..." as "12-06 22:40". */
		snprintf(at, sizeof at, "%.11s", when != NULL && strlen(when) >= 16 ?
		    when + 5 : "");
		if (at[5] == 'T')
			at[5] = ' ';
		taudit_command(cmd, sizeof cmd, (const char *)sqlite3_column_text(q, 7), src);
		role = strcmp(status, "running") == 0 ? ROLE_WARN : ok ? ROLE_N : ROLE_BAD;
		tview_add(v, id, role, -1, "%6s %s %s %s %s %-11s %-12.12s %-4.4s %s",
		    id, strcmp(status, "running") == 0 ? "\u25b6" : ok ? "\u2713" : "\u2717",
		    ex, dur, risk, at, prof != NULL ? prof : "",
		    src != NULL ? src : "", cmd);
		k++;
	}
	sqlite3_finalize(q);
	audit_close(a);
	return (k);
}
