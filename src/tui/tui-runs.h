/* tui-runs.h: the recent runs panel, read from the audit log (read-only):
 * id, status, exit, risk, duration and command of the latest runs, the
 * TUI's own and any other moat's. Front end (TUI). */
#ifndef MOAT_TUI_RUNS_H
#define MOAT_TUI_RUNS_H

#include <stdint.h>

#include <curses.h>

#include <sqlite3.h>

#include "base/error.h"

struct audit;

struct trun {
	int64_t		id;
	char		status[16];	/* running, done, refused, ... */
	int		exit_code;	/* -1: none */
	int		risk;		/* -1: not scored */
	double		duration;	/* seconds; < 0: unknown */
	char		command[256];	/* as typed for the TUI's own runs */
};

#define TRUNS_MAX	64

/* The latest n (at most TRUNS_MAX) runs, newest first; how many, or -1
 * with e set. A log that does not exist yet has none. */
int	truns_load(const char *db, struct trun *, int n, struct merr *);
/* The log opened read-only with sql prepared on it, for the TUI's views: 1,
 * 0 when the log does not exist yet, or -1 with e set. */
int	truns_query(const char *db, const char *sql, struct audit **, sqlite3_stmt **,
	    struct merr *);
void	truns_draw(const struct trun *, int n, WINDOW *, int y, int x, int rows,
	    int width);

#endif
