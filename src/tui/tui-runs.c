/* tui-runs.c: the recent runs panel: a read-only look at the audit log
 * after each command, drawn as "412 ✓ 0  0.8s  3 command". Front end
 * (TUI), in the supervisor's process. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "audit/audit.h"
#include "tui-draw.h"
#include "tui-line.h"
#include "tui-runs.h"

/* The audit log opened read-only and sql prepared on it: 1, or 0 when the
 * log does not exist yet (no runs), or -1 with e set. Finalize *q and close
 * *a after. */
int
truns_query(const char *db, const char *sql, struct audit **a, sqlite3_stmt **q,
    struct merr *e)
{
	char		path[4096];
	struct stat	st;

	if (db == NULL)
		db = audit_default_path(path, sizeof path);
	if (db == NULL || stat(db, &st) == -1)
		return (0);
	if ((*a = audit_open(db, AUDIT_READONLY, e)) == NULL)
		return (-1);
	if (sqlite3_prepare_v2(audit_sqlite(*a), sql, -1, q, NULL) != SQLITE_OK) {
		merr_set(e, "audit log %s: %s", db, sqlite3_errmsg(audit_sqlite(*a)));
		audit_close(*a);
		return (-1);
	}
	return (1);
}

int
truns_load(const char *db, struct trun *v, int n, struct merr *e)
{
	static const char	sql[] = "SELECT id, status, exit_code, risk, "
	    "duration, command, source FROM runs ORDER BY id DESC LIMIT ?1";
	struct audit		*a;
	sqlite3_stmt		*q = NULL;
	int			k = 0, rc;

	if ((rc = truns_query(db, sql, &a, &q, e)) <= 0)
		return (rc);
	sqlite3_bind_int(q, 1, n > TRUNS_MAX ? TRUNS_MAX : n);
	while (k < n && sqlite3_step(q) == SQLITE_ROW) {
		struct trun	*t = &v[k++];
		const char	*cmd = (const char *)sqlite3_column_text(q, 5);
		const char	*src = (const char *)sqlite3_column_text(q, 6);

		t->id = sqlite3_column_int64(q, 0);
		snprintf(t->status, sizeof t->status, "%s",
		    (const char *)sqlite3_column_text(q, 1));
		t->exit_code = sqlite3_column_type(q, 2) == SQLITE_NULL ? -1 :
		    sqlite3_column_int(q, 2);
		t->risk = sqlite3_column_type(q, 3) == SQLITE_NULL ? -1 :
		    sqlite3_column_int(q, 3);
		t->duration = sqlite3_column_type(q, 4) == SQLITE_NULL ? -1 :
		    sqlite3_column_double(q, 4);
		if (cmd == NULL)
			cmd = "";
		/* The TUI's runs are its line given to sh -c: show the line. */
		if (src != NULL && strcmp(src, "tui") == 0 &&
		    strncmp(cmd, "/bin/sh -c ", 11) == 0)
			cmd += 11;
		tline_unquote(t->command, sizeof t->command, cmd);
	}
	sqlite3_finalize(q);
	audit_close(a);
	return (k);
}

void
truns_draw(const struct trun *v, int n, WINDOW *w, int y, int x, int rows,
    int width)
{
	char	buf[64];

	for (int i = 0; i < rows; i++) {
		wmove(w, y + i, x);
		if (i >= n) {
			draw_fill(w, x + width);
			continue;
		}
		snprintf(buf, sizeof buf, "%4lld ", (long long)(v[i].id % 10000));
		draw_str(w, buf, width);
		if (strcmp(v[i].status, "running") == 0) {
			draw_set_role(w, ROLE_WARN);
			draw_str(w, "\u25b6", 1);
		} else if (strcmp(v[i].status, "done") == 0 && v[i].exit_code == 0) {
			draw_set_role(w, ROLE_OK);
			draw_str(w, "\u2713", 1);
		} else {
			draw_set_role(w, ROLE_BAD);
			draw_str(w, "\u2717", 1);
		}
		wattr_set(w, A_NORMAL, 0, NULL);
		if (v[i].exit_code >= 0)
			snprintf(buf, sizeof buf, " %3d", v[i].exit_code);
		else
			snprintf(buf, sizeof buf, " %3.3s", v[i].status);
		draw_str(w, buf, width - (getcurx(w) - x));
		if (v[i].duration >= 0)
			snprintf(buf, sizeof buf, v[i].duration < 10 ? " %4.1fs" :
			    " %4.0fs", v[i].duration);
		else
			snprintf(buf, sizeof buf, "      ");
		draw_str(w, buf, width - (getcurx(w) - x));
		if (v[i].risk >= 0) {
			snprintf(buf, sizeof buf, " %3d", v[i].risk);
			draw_set_role(w, v[i].risk >= 60 ? ROLE_BAD : v[i].risk >= 30 ?
			    ROLE_WARN : ROLE_DIM);
		} else
			snprintf(buf, sizeof buf, "   -");
		draw_str(w, buf, width - (getcurx(w) - x));
		wattr_set(w, A_NORMAL, 0, NULL);
		draw_str(w, " ", width - (getcurx(w) - x));
		draw_str(w, v[i].command, width - (getcurx(w) - x));
		draw_fill(w, x + width);
	}
}
