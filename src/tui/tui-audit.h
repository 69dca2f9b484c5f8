/* tui-audit.h: the audit view: the log's runs, newest first, narrowed by
 * status, lowest risk, profile and a text in the command, read-only. A
 * run's details are `moat audit show`'s (the TUI pages them). Front end
 * (TUI). */
#ifndef MOAT_TUI_AUDIT_H
#define MOAT_TUI_AUDIT_H

#include "base/error.h"

struct tview;

struct taudit_filter {
	char	status[16];	/* "" any; running, done, refused, ... */
	int	min_risk;	/* 0: any */
	char	profile[128];	/* "" any */
	char	text[128];	/* "" any; in the command */
};

#define TAUDIT_MAX	1000	/* rows read at once */

/* The runs of the log db (NULL: the default) the filter lets through, as
 * the view's items (key: the run's ID); how many, or -1 with e set. */
int	taudit_load(const char *db, const struct taudit_filter *, struct tview *,
	    struct merr *);
/* The filter in words, for the view's title. */
void	taudit_describe(const struct taudit_filter *, char *, size_t);
/* The next status filter after cur: any, done, running, refused,
 * interrupted, setup-failed, then any again. */
const char *taudit_next_status(const char *cur);

#endif
