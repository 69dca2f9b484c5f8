/* init.h: the sandbox's pid 1. Runs in the child of clone(), in the new
 * namespaces; it builds the root, drops privileges, forks the command,
 * forwards signals and reaps. It never returns. */
#ifndef MOAT_INIT_H
#define MOAT_INIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

struct mount_plan;
struct filter;
struct profile;
struct secrets;

/* The channel's messages are chan.h's. */

struct init_args {
	const struct profile	*profile;
	struct mount_plan	*plan;
	const struct filter	*filter;	/* NULL: no seccomp (never in moat run) */
	char			**argv;
	char			**envp;
	const char		*cwd;
	const char		*hostname;
	int			 chan;		/* init's end of the channel */
	bool			 new_session;	/* stdin is a terminal: setsid() */
	bool			 pty;		/* give the command a terminal of the
						   sandbox's own devpts, relayed by moat */
	bool			 pty_fd[3];	/* which of stdin/stdout/stderr get it */
	uint64_t		 rlimit_data;	/* memory fallback without a cgroup; 0 = none */
	bool			 wait_placed;	/* the supervisor moves init into the
						   cgroup while it builds (v1): wait for
						   MSG_PLACED before the cgroup namespace */
	int			 tasks[6];	/* v1: the group's tasks file in each
						   hierarchy, which init writes itself
						   into before the cgroup namespace */
	int			 ntasks;
	int			 out[2];	/* write ends for stdout and stderr when the
						   supervisor relays them; -1: passed through */
	struct secrets		*secrets;	/* the supervisor's: init wipes its copy */
	double			 trace;		/* struct run's: trace_step's t0 */
	bool			 guard;		/* send MSG_NS before READY */
	int			 guard_fd;	/* the guard's inotify fd (closed), or -1 */
	bool			 serve;		/* no command of its own: after READY,
						   start commands on MSG_SPAWN until the
						   supervisor closes the channel */
};

__attribute__((noreturn)) void	init_main(const struct init_args *);

#endif
