/* init.c: the sandbox init, pid 1 of the new namespaces. It runs in the
 * child of clone(): waits for the supervisor's go-ahead, maps its uid, builds
 * the root (mounts.c), brings up the network (net.c), applies rlimits,
 * drops every capability, sets no_new_privs, installs the seccomp filter,
 * then forks the command, forwards signals to it and reaps every process
 * until it exits. Any failure before exec is fatal: one line to the
 * supervisor and _exit(125) (isolate's "die" through an error pipe). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "filter.h"
#include "init.h"
#include "rlimit.h"
#include "mounts.h"
#include "net.h"
#include "profile/profile.h"
#include "base/cov.h"

extern char	**environ;

/* moat's own argv and environment as the kernel laid them out: init wipes
 * them, so nothing of the host's environment is left in the sandbox, not
 * even in /proc/1/environ or /proc/1/cmdline. */
static char	**host_argv, **host_envp;
static int	  host_argc;

static void __attribute__((constructor))
init_capture(int argc, char **argv, char **envp)
{
	host_argc = argc;
	host_argv = argv;
	host_envp = envp;
}

static volatile pid_t	init_child;
static int		init_pty_slave = -1;	/* for the command, when it gets a terminal */

static void
init_send(int chan, const struct init_msg *m, const int *fds, int nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov = { .iov_base = (void *)m, .iov_len = sizeof *m };
	char		 cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct cmsghdr	*c;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	while (sendmsg(chan, &mh, MSG_NOSIGNAL) == -1 && errno == EINTR)
		;
}

/* Every way out of init and of the command's process before its exec: a
 * coverage build writes its counters first (cov.c). */
static __attribute__((noreturn)) void
init_exit(int code)
{
	cov_dump();
	_exit(code);	/* GCOVR_EXCL_LINE: runs after the counters are written */
}

static __attribute__((noreturn)) void
init_die(int chan, int type, int code, int err, const char *what)
{
	struct init_msg	m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.err = err;
	m.code = code;
	snprintf(m.text, sizeof m.text, "%s", what);
	init_send(chan, &m, NULL, 0);
	init_exit(code);
}

static __attribute__((noreturn)) void
init_die_errno(int chan, const char *what)
{
	init_die(chan, MSG_SETUP_FAILED, 125, errno, what);
}

static void
init_forward(int sig)
{
	if (init_child > 0)
		kill(init_child, sig);
}

static const int	forwarded[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2, SIGCONT,
};

static void
init_wipe_host_memory(void)
{
	char	**p;

	for (p = host_envp; p != NULL && *p != NULL; p++)
		explicit_bzero(*p, strlen(*p));
	for (int i = 1; i < host_argc && host_argv[i] != NULL; i++)
		explicit_bzero(host_argv[i], strlen(host_argv[i]));
}

/* The command: a clean process that execs. */
static __attribute__((noreturn)) void
init_exec(const struct init_args *a)
{
	sigset_t	all;
	const char	*cmd = a->argv[0];
	int		err, keep = cov_fd();	/* -1 but in a coverage build */

	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		signal(forwarded[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* Relayed output: the pipes to the supervisor become stdout/stderr. */
	for (int i = 0; i < 2; i++)
		if (a->out[i] >= 0 && dup2(a->out[i], i + 1) == -1)
			init_die_errno(a->chan, "attach the output relay");
	if (init_pty_slave >= 0) {
		/* Its own session, and the sandbox's terminal as its controlling
		 * one: job control works, and nothing reaches the host's. */
		if (setsid() == -1 || ioctl(init_pty_slave, TIOCSCTTY, 0) == -1)
			init_die_errno(a->chan, "take the sandbox terminal");
		for (int i = 0; i < 3; i++)
			if (a->pty_fd[i] && dup2(init_pty_slave, i) == -1)
				init_die_errno(a->chan, "attach the sandbox terminal");
		if (init_pty_slave > 2)
			close(init_pty_slave);
	}
	/* Only stdin, stdout, stderr and the channel (close-on-exec) survive,
	 * and in a coverage build the build directory (close-on-exec too). */
	if (a->chan != 3) {
		if (dup3(a->chan, 3, O_CLOEXEC) == -1)
			init_die_errno(a->chan, "dup the channel");
	}
	syscall(SYS_close_range, 4U, keep > 3 ? (unsigned)keep - 1 : ~0U, 0U);
	if (keep > 3)
		syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U);
	if (a->new_session && init_pty_slave < 0 && setsid() == -1)
		init_die_errno(3, "setsid");
	if (chdir(a->cwd) == -1)
		init_die_errno(3, "enter the working directory inside the sandbox");
	environ = a->envp;
	cov_dump();
	execvp(cmd, a->argv);
	err = errno;
	if (err == ENOENT || err == ENOTDIR)
		init_die(3, MSG_EXEC_FAILED, 127, err, "command not found");
	init_die(3, MSG_EXEC_FAILED, 126, err, "cannot execute");
}

void
init_main(const struct init_args *a)
{
	struct init_msg	 m;
	const char	*what = "";
	int		 fds[NET_MAX_FDS + 2], nfds = 0, nnet = 0, listener = -1;
	int		 master = -1;
	int		 chan = a->chan, st;
	ssize_t		 n;
	pid_t		 pid;
	struct sigaction sa;
	sigset_t	 none;

	/* If the supervisor dies, so does the sandbox: pid 1's death takes
	 * the whole pid namespace with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		init_die_errno(chan, "prctl(PR_SET_PDEATHSIG)");
	/* The go-ahead; EOF means the supervisor is already gone. */
	do
		n = read(chan, &m, sizeof m);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof m || m.type != MSG_GO)
		init_exit(125);
	if (sethostname(a->hostname, strlen(a->hostname)) == -1)
		init_die_errno(chan, "sethostname");
	if (mounts_build_root(a->plan, &what) == -1)
		init_die_errno(chan, what);
	if (net_setup(a->profile, fds + 1, &nnet, &what) == -1)
		init_die_errno(chan, what);
	if (rlimit_apply(&a->profile->limits, a->rlimit_as, &what) == -1)
		init_die_errno(chan, what);
	/* Nothing of the command runs before this: the supervisor moved us
	 * into the run's cgroup while we built (on v1 that move waits out an
	 * RCU grace period in the kernel, so it is not done before GO). */
	if (a->wait_placed) {
		do
			n = read(chan, &m, sizeof m);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof m || m.type != MSG_PLACED)
			init_exit(125);
	}
	/* Its own cgroup namespace, rooted where the supervisor placed it. */
	if (unshare(CLONE_NEWCGROUP) == -1)
		init_die_errno(chan, "unshare(CLONE_NEWCGROUP)");

	init_wipe_host_memory();
	/* Not dumpable: the command cannot ptrace init or read its /proc files. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		init_die_errno(chan, "prctl(PR_SET_DUMPABLE)");
	if (caps_drop_all(&what) == -1)
		init_die_errno(chan, what);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		init_die_errno(chan, "prctl(PR_SET_NO_NEW_PRIVS)");
	/* Terminal signals reach moat only; it forwards them through us. */
	setpgid(0, 0);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = init_forward;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaction(forwarded[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Last, so nothing above had to be allowed. */
	if (a->filter != NULL) {
		if (filter_install(a->filter, &listener) == -1)
			init_die_errno(chan, "install the seccomp filter");
	}
	if (listener >= 0)
		fds[0] = listener;
	/* A terminal from the sandbox's own devpts: the supervisor keeps the
	 * master and relays it to the host's terminal. */
	if (a->pty) {
		int	unlock = 0;

		if ((master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
		    ioctl(master, TIOCSPTLCK, &unlock) == -1 ||
		    (init_pty_slave = ioctl(master, TIOCGPTPEER,
		    O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
			init_die_errno(chan, "open a terminal in the sandbox's devpts");
		fds[1 + nnet] = master;
	}
	nfds = nnet + (listener >= 0 ? 1 : 0) + (master >= 0 ? 1 : 0);

	memset(&m, 0, sizeof m);
	m.type = MSG_READY;
	m.code = nfds;
	m.nfds_notify = listener >= 0;
	m.has_pty = master >= 0;
	init_send(chan, &m, listener >= 0 ? fds : fds + 1, nfds);
	for (int i = 0; i < nnet; i++)
		close(fds[1 + i]);
	if (listener >= 0)
		close(listener);
	if (master >= 0)
		close(master);

	/* The supervisor scored and recorded the run while we built the
	 * sandbox; the command starts only on its word. */
	do
		n = read(chan, &m, sizeof m);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof m || m.type != MSG_EXEC)
		init_exit(125);

	sigemptyset(&none);
	if ((pid = fork()) == -1)
		init_die_errno(chan, "fork the command");
	if (pid == 0)
		init_exec(a);
	init_child = pid;
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (init_pty_slave >= 0)
		close(init_pty_slave);
	/* Only the command holds the relay pipes: the supervisor sees EOF when
	 * the last process writing to them is gone. */
	for (int i = 0; i < 2; i++)
		if (a->out[i] >= 0)
			close(a->out[i]);

	/* Reap everything; the run ends when the command does, and our exit
	 * takes whatever it left behind with it. */
	for (;;) {
		pid_t	w = wait(&st);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			init_exit(125);
		}
		if (w != pid)
			continue;
		memset(&m, 0, sizeof m);
		m.type = MSG_STATUS;
		m.code = st;
		init_send(chan, &m, NULL, 0);
		if (WIFEXITED(st))
			init_exit(WEXITSTATUS(st));
		init_exit(128 + WTERMSIG(st));
	}
}
