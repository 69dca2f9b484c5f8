/* meter.h: samples a run's CPU, memory, tasks and I/O at a fixed rate from
 * its cgroup, or from /proc when there is none, and hands each sample to a
 * callback (the TUI draws them, the audit stores them, `moat run --meter`
 * prints them). Supervisor only; the timer lives in the run's poll loop.
 *
 * Every figure is a double; NAN means "not available on this host". */
#ifndef MOAT_METER_H
#define MOAT_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "profile/profile.h"

struct loop;
struct cg;

#define METER_HZ_DEFAULT	4.0

struct meter_sample {
	double	t;		/* seconds since meter_start */
	double	cpu_pct;	/* % of one core over the last interval */
	double	cpu_quota_pct;	/* % of the quota: the cgroup's cpus, else all cores */
	double	cpu_user;	/* seconds, cumulative */
	double	cpu_sys;	/* seconds, cumulative */
	double	mem_current;	/* bytes (cgroup charge, or RSS + tmpfs) */
	double	mem_peak;	/* bytes, since the start */
	double	nprocs;		/* tasks (threads), as pids.current counts them */
	double	io_read;	/* bytes, cumulative */
	double	io_write;
};

struct meter_summary {
	double	wall;		/* seconds, start to stop */
	double	cpu_user;	/* seconds */
	double	cpu_sys;
	double	mem_peak;	/* bytes */
	double	procs_peak;	/* tasks */
	double	io_read, io_write;
	unsigned long nsamples;
	const char *source;	/* "cgroup v1", "cgroup v2", "procfs" */
	bool	mem_cg;		/* the memory figures are a cgroup's counters */
};

typedef void	(*meter_cb)(void *arg, const struct meter_sample *);

struct meter;

/* Starts sampling at hz (<= 0: METER_HZ_DEFAULT) on loop. cg may be NULL or
 * CG_NONE: then the run's processes are found in /proc as every process in
 * init_pid's pid namespace (or, when init shares ours, init_pid and its
 * descendants). The first sample is taken at once (t = 0, no CPU % yet). */
struct meter	*meter_start(struct loop *, double hz, struct cg *, pid_t init_pid,
		    meter_cb, void *arg, struct merr *);
/* A tmpfs of the run's, by its path inside the sandbox: where memory is
 * summed from /proc, what it holds counts too, as a cgroup charges it. */
void		 meter_add_tmpfs(struct meter *, const char *path);
/* Takes one sample now (also done at stop); returns it in *out if not NULL. */
void		 meter_sample_now(struct meter *, struct meter_sample *out);
/* Takes a last sample, removes the timer and frees m. Call it before
 * cg_destroy(): the cgroup's counters are read one last time. */
void		 meter_stop(struct meter *, struct meter_summary *out);
const struct meter_sample *meter_last(const struct meter *);
/* Without a cgroup, the last interval's CPU of processes that are gone is
 * lost to /proc; the init's wait4() rusage (which includes everything it
 * reaped) is exact: raise the summary's user/sys to it. Where no
 * cgroup counts the memory (!mem_cg), its largest process's resident size
 * (maxrss_bytes; NAN: not known) is a floor for the peak, which a command
 * that ends between two samples would otherwise leave without one. (A
 * cgroup's count is the truth where there is one: a resident size also
 * holds file pages charged elsewhere.) */
void		 meter_summary_rusage(struct meter_summary *, double user_s,
		    double sys_s, double maxrss_bytes);

/* Pure math, unit-tested. */
uint64_t	 meter_sub_sat(uint64_t a, uint64_t b);
double		 meter_dsub_sat(double a, double b);
/* % of one core from a CPU-seconds delta over a wall delta; NAN if dt <= 0
 * or either is NAN. */
double		 meter_cpu_pct(double dcpu, double dt);
/* pct (of one core) as % of cores; NAN when cores <= 0. */
double		 meter_quota_pct(double pct, double cores);
/* NAN-aware maximum: NAN only if both are. */
double		 meter_max(double a, double b);

/* Formatting for `moat run --meter` / `--json`. Return buf. */
char		*meter_format_bytes(double bytes, char *buf, size_t len);
/* "cpu  48% (96% of 0.50)  mem 201.3M (peak 201.3M)  procs 3  io 1.2M/0B  2.5s" */
char		*meter_format_line(const struct meter_sample *, char *buf, size_t len);
/* "moat: wall 2.51s  cpu 1.20s user 0.03s sys  peak mem 201.3M  peak procs 3  end exited" */
char		*meter_format_summary(const struct meter_summary *,
		    const char *end_reason, char *buf, size_t len);
/* One JSON object, no newline:
 * {"wall_s":2.51,"cpu_user_s":1.2,"cpu_sys_s":0.03,"mem_peak_bytes":211000000,
 *  "procs_peak":3,"io_read_bytes":0,"io_write_bytes":0,"end_reason":"exited",
 *  "exit_code":0,"limits":{"memory_bytes":67108864,"memory_swap_bytes":null,
 *  "cpus":0.5,"pids":100,"timeout_s":10,"cpu_time_s":null,"nofile":1024,
 *  "fsize_bytes":null},"enforced":"cgroup v1: ...","meter_source":"cgroup v1"}
 * Unknown figures (NAN) are null. Returns -1 if len is too small. */
int		 meter_format_json(const struct meter_summary *, const char *end_reason,
		    int exit_code, const struct limits *, const char *enforced,
		    char *buf, size_t len);

#endif
