/* cg.h: a cgroup per run: find a usable hierarchy (v2 unified, v1, hybrid),
 * create the run's group, set its limits, attach the sandbox, read its
 * counters and end reasons, kill and remove it. Supervisor only.
 *
 * The mode is chosen once per run and never hidden: cg_describe() says what
 * is enforced and how, for `moat run -v`, `moat doctor` and the audit. The
 * environment variable MOAT_CGROUP=auto|v2|v1|none forces a mode (tests,
 * debugging); "none" behaves as a host without usable cgroups. */
#ifndef MOAT_CG_H
#define MOAT_CG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "profile/profile.h"
#include "spawn.h"

enum cg_mode {
	CG_NONE,		/* no cgroup: rlimits and /proc accounting only */
	CG_V1,			/* one group per v1 hierarchy */
	CG_V2,			/* one group in the unified hierarchy */
};

/* Controllers a run's group actually got (bit set in cg_controllers()). */
#define CG_CTL_MEMORY	0x01
#define CG_CTL_PIDS	0x02
#define CG_CTL_CPU	0x04	/* v1: cpu (quota); v2: cpu */
#define CG_CTL_CPUACCT	0x08	/* v1 only; v2 always has cpu.stat */
#define CG_CTL_IO	0x10	/* v1 blkio, v2 io: statistics only */
#define CG_CTL_FREEZER	0x20	/* v1 freezer, asked for with cg_create_ex;
				   v2 groups can always freeze */
/* Not a controller: in what cg_child_ctls says, a v2 command group. */
#define CG_CTL_V2	0x40
/* cg_create_ex's extra: a session's group. On v2 its init lives in a leaf
 * of the group ("init"; cg_dirfd gives it, for CLONE_INTO_CGROUP), so that
 * the group can switch controllers on for its commands' groups. */
#define CG_SESSION	0x100

/* Counters of the run's group. NAN: not available with this mode/kernel. */
struct cg_stats {
	double	cpu_user;	/* seconds */
	double	cpu_sys;	/* seconds */
	double	cpu_total;	/* seconds; user + sys, or the exact usage */
	double	mem_current;	/* bytes */
	double	mem_peak;	/* bytes; memory.peak / max_usage_in_bytes */
	double	pids_current;	/* tasks (threads count) */
	double	pids_peak;	/* pids.peak (kernel 6.1+), else NAN */
	double	io_read;	/* bytes, cumulative */
	double	io_write;
};

/* How often the kernel enforced a limit since the group was created. */
struct cg_events {
	uint64_t	oom_kills;	/* memory.events oom_kill / v1 oom_control */
	uint64_t	pids_max;	/* pids.events max: forks refused */
	uint64_t	throttled;	/* cpu.stat nr_throttled: quota periods hit */
};

struct cg;

/* Creates the run's group (named run_id) and applies l. When no cgroup can
 * be used, returns a struct cg in mode CG_NONE whose description says why,
 * unless l->require_cgroups is set: then NULL and e says why. A limit a
 * usable hierarchy cannot enforce (no memory controller delegated, ...) is
 * also an error under require_cgroups, and a note in the description
 * otherwise. NULL with e on real failures (mkdir refused after detection). */
struct cg	*cg_create(const char *run_id, const struct limits *l,
		    struct merr *e);
/* The same, with more v1 hierarchies than the limits need (extra:
 * CG_CTL_FREEZER, for a session that can be paused). */
struct cg	*cg_create_ex(const char *run_id, const struct limits *l,
		    unsigned extra, struct merr *e);
/* The host's cgroup mounts and this process's own groups (mountinfo and
 * /proc/self/cgroup), read at the first call that needs them and kept
 * for the next: a run's limits and its group read them once. */
struct cg_host;
struct cg_host	*cg_host_new(void);
void		 cg_host_free(struct cg_host *);
/* cg_create_ex and cg_limits_resolve on h's reading. */
struct cg	*cg_create_on(struct cg_host *h, const char *run_id,
		    const struct limits *l, unsigned extra, struct merr *e);
void		 cg_limits_resolve_on(struct cg_host *h, const struct limits *l,
		    struct limits *out, char *src, size_t len);
/* Freezes (true) or thaws every process of the group and waits until the
 * kernel says it is done (at most about 2 s). -1 with e set when the group
 * has no freezer (CG_NONE, or no v1 freezer hierarchy we can write). */
int		 cg_freeze(struct cg *, bool frozen, struct merr *);
/* Whether cg_freeze can work on this group. */
bool		 cg_can_freeze(const struct cg *);
/* A command's own group inside a session's, so that its meters, memory
 * peak and OOM kills are its own: on v1, a child group name in every
 * hierarchy of the session's group but the freezer (which stays the
 * session's, for pause). Each one's tasks file (v1; cgroup.procs on v2)
 * opened for writing into procs (the command writes 0 there before it
 * execs, while it is one thread: it moves itself, with the opener's
 * permission) and its directory into dirs (for the client
 * that reads its counters). On v2 (a CG_SESSION group whose init is in its
 * leaf) one directory beside the leaf, with the controllers the session's
 * group could hand down (none on a hybrid host's unified hierarchy, which
 * still counts CPU). Returns how many (0: none to give, on CG_NONE, and on
 * a v2 group without the leaf), or -1 with e set. */
int		 cg_child_make(struct cg *, const char *name, int *procs,
		    int *dirs, size_t max, struct merr *);
/* Removes a command's group; one that still holds a background process of
 * the command stays until the session's group is destroyed. */
void		 cg_child_remove(struct cg *, const char *name);
/* The controllers of each directory cg_child_make gives, in its order, as
 * numbers (CG_CTL_*) separated by spaces: what the client passes to
 * cg_adopt. */
void		 cg_child_ctls(const struct cg *, char *buf, size_t);
/* A command's group made by its session (v1, or v2: one): n directory descriptors
 * (taken when it succeeds) and their controllers as cg_child_ctls says
 * them, nothing more. Read it like
 * one's own; free it with cg_close, which removes nothing. */
struct cg	*cg_adopt(const int *dirs, size_t n, const char *ctls,
		    struct merr *);
void		 cg_close(struct cg *);
/* Moves pid into the group (every hierarchy on v1). No-op on CG_NONE. The
 * supervisor calls it after clone and before the sandbox init proceeds. */
int		 cg_attach(struct cg *, pid_t, struct merr *);
/* v1: the tasks file of the group in each hierarchy, opened for init,
 * which writes 0 into each itself while it is one thread: the kernel then
 * moves it without cgroup_threadgroup_rwsem, whose write side (taken by
 * cg_attach's write to cgroup.procs) waits for an RCU grace period when
 * none was recent, 5 to 15 ms. How many (at most max), 0 when the groups
 * are not v1, -1 when one could not be opened (then use cg_attach). */
int		 cg_tasks_open(const struct cg *, int *fds, size_t max);
/* v2: a directory fd of the run's group for clone3(CLONE_INTO_CGROUP);
 * -1 on v1 and CG_NONE (use cg_attach). cg keeps ownership. */
int		 cg_dirfd(const struct cg *);
enum cg_mode	 cg_mode(const struct cg *);
unsigned	 cg_controllers(const struct cg *);
/* The path of the group (v2) or of its memory group (v1); NULL on CG_NONE. */
const char	*cg_path(const struct cg *);
/* "cgroup v1: memory 64.0M, pids 100, cpu 0.50" or "rlimits only: no
 * writable cgroup (unprivileged on cgroup v1)". */
const char	*cg_describe(const struct cg *);
/* CPU cores the group may use (the cpu quota), or 0 when not limited. */
double		 cg_cpus(const struct cg *);
int		 cg_stats(struct cg *, struct cg_stats *);
/* What a meter's first sample needs of cg_stats, in two or three reads
 * rather than eight: the CPU time so far (cpu_total, and v2's split), and
 * the process count's peak (pids_current too where the kernel keeps no
 * peak). The other fields are NAN. */
int		 cg_stats_start(struct cg *, struct cg_stats *);
int		 cg_events(struct cg *, struct cg_events *);
/* END_OOM, END_PIDS or END_NONE from the events. OOM wins: a pids limit hit
 * on the way to an OOM kill is not why the run ended. */
enum end_reason	 cg_end_reason(struct cg *);
/* The same from counters read already (cg_events). */
enum end_reason	 cg_events_reason(const struct cg_events *);
/* Signals every task (cgroup.kill on v2 for SIGKILL when present). Returns
 * the number of tasks signalled (1 for cgroup.kill), -1 on error. */
int		 cg_kill(struct cg *, int sig);
/* Kills what is left, removes the group (retrying up to ~2 s while tasks
 * drain) and frees cg, even on error. NULL is a no-op. */
int		 cg_destroy(struct cg *, struct merr *);
/* Removes moat/<run-id> groups left by a moat that died (its pid, the
 * second field of the run id, is gone), killing what is left in them.
 * Returns how many were removed. */
int		 cg_sweep(struct merr *);
/* What a run by this user would get, without keeping a group: mode and
 * description, for `moat doctor`. */
enum cg_mode	 cg_probe(char *desc, size_t len);

/* The memory a share of RAM is taken of: MemTotal, or less when moat
 * itself runs under a cgroup memory limit (a container, a systemd slice
 * with MemoryMax): the lowest limit of its own group and its ancestors.
 * Writes where the figure came from to src. 0 when nothing can be read. */
uint64_t	 cg_memory_budget(char *src, size_t len);
/* out = l, with a share of memory (l->memory_pct) made bytes of
 * cg_memory_budget(); memory_pct is then 0. src as above (may be NULL). */
void		 cg_limits_resolve(const struct limits *l, struct limits *out,
		    char *src, size_t len);

/* Parsing, exposed for unit tests. */
uint64_t	 cg_parse_memtotal(const char *meminfo);
int		 cg_parse_keyed(const char *text, const char *key, uint64_t *);
int		 cg_parse_io_v1(const char *text, uint64_t *rd, uint64_t *wr);
int		 cg_parse_io_v2(const char *text, uint64_t *rd, uint64_t *wr);
/* The path of the current cgroup for controller ctl ("" = v2 "0::")
 * in /proc/self/cgroup text; NULL when absent. Returns a malloc'd string. */
char		*cg_parse_self(const char *text, const char *ctl);

#endif
