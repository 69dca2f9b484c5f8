/* init.h: the sandbox's pid 1. Runs in the child of clone(), in the new
 * namespaces; it builds the root, drops privileges, forks the command,
 * forwards signals and reaps. It never returns. */
#ifndef MOAT_INIT_H
#define MOAT_INIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mount_plan;
struct filter;
struct profile;

/* Messages on the SOCK_SEQPACKET channel between supervisor and init. */
enum init_msg_type {
	MSG_GO = 1,		/* supervisor -> init: ids mapped, build the sandbox */
	MSG_READY,		/* init -> supervisor: sandbox built; fds attached */
	MSG_SETUP_FAILED,	/* init -> supervisor: text, err; init exits 125 */
	MSG_EXEC_FAILED,	/* command -> supervisor: code 126/127, text, err */
	MSG_STATUS,		/* init -> supervisor: the command's wait status */
	MSG_EXEC,		/* supervisor -> init: the run is recorded, start the command */
	MSG_PLACED,		/* supervisor -> init: moved into the run's cgroup */
};

struct init_msg {
	int	type;
	int	err;		/* errno */
	int	code;		/* exit code, wait status, or count of fds */
	int	nfds_notify;	/* MSG_READY: 1 when the first fd is the seccomp listener */
	int	has_pty;	/* MSG_READY: 1 when the last fd is the terminal's master */
	char	text[480];
};

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
	uint64_t		 rlimit_as;	/* memory fallback without a cgroup; 0 = none */
	bool			 wait_placed;	/* the supervisor moves init into the
						   cgroup while it builds (v1): wait for
						   MSG_PLACED before the cgroup namespace */
	int			 out[2];	/* write ends for stdout and stderr when the
						   supervisor relays them; -1: passed through */
};

__attribute__((noreturn)) void	init_main(const struct init_args *);

#endif
