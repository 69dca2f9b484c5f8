/* run-summary.h: what moat says after a run, unasked: what it refused
 * (connections by host, system calls by name), the limits hit, the files
 * changed, the final risk and the run id, in one or two lines for a
 * terminal and as fields of --json. moat run and moat session exec share
 * it (cmd_run_go). Supervisor, after the run. */
#ifndef MOAT_RUN_SUMMARY_H
#define MOAT_RUN_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "base/event.h"

struct run;

#define RUN_SUMMARY_MAX	8	/* names kept per list; the rest are counted */

struct run_summary_count {
	char		*name;		/* owned: "host:port" or a syscall */
	unsigned long	 n;
};

struct run_summary {
	struct run_summary_count refused[RUN_SUMMARY_MAX];
	size_t		 nrefused;
	unsigned long	 refused_more;	/* refusals of destinations not kept */
	struct run_summary_count denied[RUN_SUMMARY_MAX];
	size_t		 ndenied;
	unsigned long	 denied_more;
	/* Writes a read-only mount refused (protect, a read-only workspace):
	 * file events whose change is "refused", by path. */
	struct run_summary_count wrefused[RUN_SUMMARY_MAX];
	size_t		 nwrefused;
	unsigned long	 wrefused_more;
	unsigned	 files_changed;	/* the workspace's overlay and rw-binds */
	unsigned	 files_outside;	/* of those, under a profile's rw-bind */
	int		 risk;		/* the final score; -1 when not scored */
};

void	 run_summary_init(struct run_summary *);
/* Counts one event of the run (connections refused, calls denied, files
 * changed); the others are ignored. */
void	 run_summary_event(struct run_summary *, const struct run_event *);
/* The lines for a terminal, each starting "moat: " and ending in a newline;
 * control characters in names from the sandbox are shown as '?'. */
void	 run_summary_print(const struct run_summary *, const struct run *, FILE *);
/* The same as JSON members (",\"run_id\":...,\"risk\":N"), to append to an
 * object; owned. */
char	*run_summary_json(const struct run_summary *, const struct run *);
void	 run_summary_free(struct run_summary *);

#endif
