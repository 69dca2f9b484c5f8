/* tui-meter.h: the meter panel. What a running command uses, against its
 * limits: CPU % with a history graph, memory against the limit with the
 * peak, processes against the pids limit, elapsed time against the
 * timeout, connections allowed and refused, denied system calls. Sample,
 * compute and draw are apart: the run's callbacks feed it, the redraw
 * draws it. Front end (TUI). */
#ifndef MOAT_TUI_METER_H
#define MOAT_TUI_METER_H

#include <stdbool.h>
#include <stdint.h>

#include <curses.h>

struct meter_sample;
struct run_event;

#define TMETER_HIST	64

struct tmeter {
	bool		 running;
	double		 t0;		/* CLOCK_MONOTONIC at the start */
	double		 elapsed;	/* seconds, frozen at the end */
	double		 cpu_pct;	/* NAN: not yet */
	double		 hist[TMETER_HIST];	/* CPU %, newest last */
	unsigned	 nhist;
	double		 mem, mem_peak;	/* bytes; NAN: unknown */
	double		 procs;
	uint64_t	 mem_limit;	/* bytes; 0: none */
	uint64_t	 pids_limit;	/* 0: none */
	double		 timeout;	/* seconds; 0: none */
	unsigned	 conn_ok, conn_refused, sys_denied;
	unsigned	 nsamples;
};

void	tmeter_start(struct tmeter *, uint64_t mem_limit, uint64_t pids_limit,
	    double timeout);
void	tmeter_sample(struct tmeter *, const struct meter_sample *);
void	tmeter_event(struct tmeter *, const struct run_event *);
void	tmeter_stop(struct tmeter *);
/* The panel: rows lines of width columns at (y, x) of w. */
void	tmeter_draw(const struct tmeter *, WINDOW *, int y, int x, int rows,
	    int width);
/* One line: "cpu 87% mem 1.2G/2.0G pids 7/512 0:41/30:00 net 14/2 sys 3",
 * as the narrow layout and the plain mode show it. */
void	tmeter_line(const struct tmeter *, char *, size_t);
/* The graph's glyphs for values 0..100 (pure; unit-tested). */
const char *tmeter_spark(double pct);

#endif
