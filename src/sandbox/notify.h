/* notify.h: the supervisor side of seccomp user notification. Every call the
 * filter denies (FILTER_NOTIFY) waits in the kernel until the supervisor
 * answers; we answer a denied call with an error (EPERM, ENOSYS for clone3
 * and for other ABIs), never let it continue, and report what was tried as
 * EV_SYSCALL_DENIED events. Observed calls (FILTER_OBSERVE_*, see
 * notify_observe_calls) continue after a look. Supervisor only. */
#ifndef MOAT_NOTIFY_H
#define MOAT_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct loop;
struct run;

/* The first NOTIFY_REPORT_EACH denials of one syscall are reported one by
 * one (count 1, with an argument summary); the rest are only counted and
 * reported once by notify_stop (count = how many were not reported yet), so
 * the counts of all events for a syscall add up to its denials. */
#define NOTIFY_REPORT_EACH	5
/* Whatever the code tries, a run gets at most about a hundred events: 50
 * single reports in all, 50 totals, and one "other" total for the rest. */

struct notify;

/* Takes the listener fd (it is closed by notify_stop, also on error) and
 * registers it in the loop. Events go to r->on_event (r may be NULL in
 * tests that only look at the counts). */
struct notify	*notify_start(struct run *, struct loop *, int listener,
		    struct merr *);
/* Answers what is pending, reports the totals, unregisters and closes the
 * listener, frees. Calls denied after this fail with ENOSYS (the kernel's
 * answer when no listener is left), so a session keeps its notify until the
 * sandbox is gone. NULL is a no-op. */
void		 notify_stop(struct notify *);

/* Which observed calls (filter.h FILTER_OBSERVE_*) the filter of profile p
 * notifies: they are looked at and continue. A write to a protected path
 * or a read-only workspace is an EV_FILE_CHANGED event with change
 * "refused"; a connection off the loopback an EV_NET_CONN, verdict
 * "refused", rule "net = isolated". */
struct profile;
void		 notify_observe_calls(struct notify *, unsigned flags,
		    const struct profile *p);
/* The exec trail: execve and execveat (filtered with FILTER_EXEC_TRAIL) are
 * read, let continue, and reported as EV_EXEC events. root is the sandbox
 * init's host pid, the parent of what has no traced ancestor. A record,
 * not a gate: see notify.c. */
void		 notify_trail(struct notify *, pid_t root);
/* Programs started so far on the trail (the execs waiting to be reported
 * are reported first). */
uint64_t	 notify_execs(struct notify *);
/* The trail's execs are reported in batches, at most NOTIFY_LATER_WAIT
 * after the task went on: this reports those waiting now. Call it before
 * anything that must come after them (a command's status). NULL: no-op. */
void		 notify_flush(struct notify *);

/* connect() calls (the filter sends them with FILTER_CONNECT) are
 * answered by transparent interception for p (notify-connect.c), which must
 * outlive n. */
struct proxy;
void		 notify_set_connect(struct notify *, struct proxy *);

/* Where events go from now on: a session's next command. */
void		 notify_set_run(struct notify *, struct run *);

/* Totals so far: denials, and distinct syscalls denied. */
uint64_t	 notify_total(const struct notify *);
/* How often one syscall ("ptrace", "i386:getpid") was denied. */
uint64_t	 notify_count(const struct notify *, const char *syscall);

/* "ioctl(0, TIOCSTI)", "socket(AF_PACKET, SOCK_RAW, 0)": a short summary of a
 * denied call from its registers (never from the task's memory). For tests. */
void		 notify_describe(char *, size_t, uint32_t arch, int nr,
		    const uint64_t args[6]);

#endif
