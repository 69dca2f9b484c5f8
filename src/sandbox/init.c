/* init.c: the sandbox init, pid 1 of the new namespaces. It runs in the
 * child of clone(): waits for the supervisor's go-ahead, maps its uid, builds
 * the root (mounts.c), brings up the network (net.c), applies rlimits,
 * drops every capability, sets no_new_privs, installs the seccomp filter,
 * then forks the command, forwards signals to it and reaps every process
 * until it exits. Any failure before exec is fatal: one line to the
 * supervisor and _exit(125) (isolate's "die" through an error pipe). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "filter.h"
#include "init.h"
#include "rlimit.h"
#include "mounts.h"
#include "net.h"
#include "network/secret.h"
#include "profile/profile.h"
#include "base/cov.h"

extern char	**environ;

/* moat's own argv and environment as the kernel laid them out: init wipes
 * them, so nothing of the host's environment is left in the sandbox, not
 * even in /proc/1/environ or /proc/1/cmdline. */
static char	**host_argv, **host_envp;
static int	  host_argc;

/* With the guard, the supervisor holds the sandbox's mount namespace (its
 * MSG_NS fds) until the command's status reaches it: init's exit waits for
 * it to let go (its MSG_NS back, or the channel's end), so that the
 * namespace's mounts go with init's exit, beside the supervisor's work,
 * and not in the supervisor's close, after it. */
static void
init_guard_wait(const struct init_args *a, int chan)
{
	struct chan_msg	m;
	ssize_t		n;

	if (!a->guard)
		return;
	do
		n = read(chan, &m, sizeof m);
	while ((n == -1 && errno == EINTR) || (n > 0 && m.type != MSG_NS));
}

static void __attribute__((constructor))
init_capture(int argc, char **argv, char **envp)
{
	host_argc = argc;
	host_argv = argv;
	host_envp = envp;
}

static volatile pid_t	init_child;
static int		init_pty_slave = -1;	/* for the command, when it gets a terminal */
static uint32_t		init_tag;	/* the command's, in its process before exec */
static uint64_t		init_rlimit_data;	/* the command's RLIMIT_DATA; 0: none */

static void
init_send(int chan, const struct chan_msg *m, const int *fds, int nfds)
{
	(void)chan_send(chan, m, NULL, 0, fds, nfds);
}

/* Every way out of init and of the command's process before its exec: a
 * coverage build writes its counters first (cov.c). */
static __attribute__((noreturn)) void
init_exit(int code)
{
	cov_dump();
	_exit(code);	/* GCOVR_EXCL_LINE: runs after the counters are written */
}

/* A one-shot run's end: reaps what has exited; true when no process of
 * the sandbox but init is left (the command's children, reparented to
 * init as it exited, count). Whatever is left ends with init's exit. */
static bool
init_alone(void)
{
	for (;;) {
		pid_t	w = waitpid(-1, NULL, WNOHANG);

		if (w > 0 || (w == -1 && errno == EINTR))
			continue;
		return (w == -1 && errno == ECHILD);
	}
}

static int64_t
init_tv_us(const struct timeval *tv)
{
	return ((int64_t)tv->tv_sec * 1000000 + tv->tv_usec);
}

/* What the sandbox used, once init_alone: init's own and its reaped
 * children's, which is what the supervisor would get from reaping init. */
static int
init_rusage(struct chan_rusage *out)
{
	struct rusage	self, kids;

	if (getrusage(RUSAGE_SELF, &self) == -1 ||
	    getrusage(RUSAGE_CHILDREN, &kids) == -1)
		return (-1);
	out->user_us = init_tv_us(&self.ru_utime) + init_tv_us(&kids.ru_utime);
	out->sys_us = init_tv_us(&self.ru_stime) + init_tv_us(&kids.ru_stime);
	out->maxrss_kb = self.ru_maxrss > kids.ru_maxrss ? self.ru_maxrss :
	    kids.ru_maxrss;
	return (0);
}

static __attribute__((noreturn)) void
init_die(int chan, int type, int code, int err, const char *what)
{
	struct chan_msg	m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.err = err;
	m.code = code;
	m.tag = init_tag;
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
	if (init_child <= 0)
		return;
	/* A stopped job goes on as a whole, as a shell's fg does it. */
	if (sig == SIGCONT)
		kill(-init_child, sig);
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

/* One command to start: the one-shot run's (from init_args) or one asked
 * for with MSG_SPAWN. */
struct init_cmd {
	char		**argv;
	char		**envp;
	const char	 *cwd;
	int		  fd[3];	/* for stdin, stdout, stderr; -1: as init has it */
	int		  pty_slave;	/* -1: no terminal */
	bool		  pty_fd[3];	/* which of the three get the terminal */
	bool		  new_session;	/* no terminal, but its own session */
	bool		  job;		/* init leads the terminal's session: a
					   process group of its own in it, in
					   the foreground */
	int		  chan;
	uint32_t	  tag;
	/* A session command's own cgroup: its tasks (v1) or cgroup.procs (v2)
	 * in each hierarchy, opened by the supervisor, which the command
	 * writes itself into. */
	int		  group[SPAWN_GROUP_MAX];
	int		  ngroup;
	bool		  dfl;		/* the dispositions are the default
					   ones already (a spare) */
};

/* The command: a clean process that execs. */
static __attribute__((noreturn)) void
init_exec(const struct init_cmd *c)
{
	sigset_t	all;
	const char	*cmd = c->argv[0];
	int		err, keep = cov_fd();	/* -1 but in a coverage build */

	init_tag = c->tag;
	/* Into its own group first, while it is one process: whatever it
	 * forks from here on is counted there too. */
	for (int i = 0; i < c->ngroup; i++) {
		if (write(c->group[i], "0\n", 2) != 2)
			init_die_errno(c->chan, "move the command into its own cgroup");
		close(c->group[i]);
	}
	if (!c->dfl) {
		for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
			signal(forwarded[i], SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
	}
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* What the command gets (the relay pipes or what the request brought,
	 * and the terminal) is moved out of the way first, so the channel at
	 * 3 and the dup2s onto 0-2 cannot clobber a source. */
	int	src[3], slave = -1;

	for (int i = 0; i < 3; i++) {
		src[i] = -1;
		if (c->fd[i] >= 0 &&
		    (src[i] = fcntl(c->fd[i], F_DUPFD_CLOEXEC, 10)) == -1)
			init_die_errno(c->chan, "attach the command's stdio");
	}
	if (c->pty_slave >= 0 &&
	    (slave = fcntl(c->pty_slave, F_DUPFD_CLOEXEC, 10)) == -1)
		init_die_errno(c->chan, "attach the sandbox terminal");
	if (c->chan != 3) {
		if (dup3(c->chan, 3, O_CLOEXEC) == -1)
			init_die_errno(c->chan, "dup the channel");
	}
	for (int i = 0; i < 3; i++)
		if (src[i] >= 0 && dup2(src[i], i) == -1)
			init_die_errno(3, "attach the command's stdio");
	if (slave >= 0 && c->job) {
		/* A job of init's session, as a shell starts one: a process
		 * group whose parent is in the same session is not orphaned,
		 * so the stop signals of ^Z (and the agent's own SIGTSTP) stop
		 * it instead of being discarded, and init sees it stop.
		 * SIGTTOU blocked: from a background group tcsetpgrp would
		 * stop it. */
		sigset_t	ttou;

		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		sigprocmask(SIG_BLOCK, &ttou, NULL);
		if (setpgid(0, 0) == -1 || tcsetpgrp(slave, getpid()) == -1)
			init_die_errno(3, "take the sandbox terminal");
		sigprocmask(SIG_UNBLOCK, &ttou, NULL);
		for (int i = 0; i < 3; i++)
			if (c->pty_fd[i] && dup2(slave, i) == -1)
				init_die_errno(3, "attach the sandbox terminal");
	} else if (slave >= 0) {
		/* Its own session, and the sandbox's terminal as its controlling
		 * one: job control works, and nothing reaches the host's. */
		if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1)
			init_die_errno(3, "take the sandbox terminal");
		for (int i = 0; i < 3; i++)
			if (c->pty_fd[i] && dup2(slave, i) == -1)
				init_die_errno(3, "attach the sandbox terminal");
	}
	/* Only stdin, stdout, stderr and the channel (close-on-exec) survive,
	 * and in a coverage build the build directory (close-on-exec too). */
	syscall(SYS_close_range, 4U, keep > 3 ? (unsigned)keep - 1 : ~0U, 0U);
	if (keep > 3)
		syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U);
	if (c->new_session && slave < 0 && setsid() == -1)
		init_die_errno(3, "setsid");
	if (chdir(c->cwd) == -1)
		init_die_errno(3, "enter the working directory inside the sandbox");
	environ = c->envp;
	cov_dump();
	/* Last: nothing of init's allocates after it (rlimit.c). */
	if (init_rlimit_data != 0 && rlimit_data(init_rlimit_data) == -1)
		init_die_errno(3, "setrlimit(RLIMIT_DATA)");
	execvp(cmd, c->argv);
	err = errno;
	if (err == ENOENT || err == ENOTDIR)
		init_die(3, MSG_EXEC_FAILED, 127, err, "command not found");
	init_die(3, MSG_EXEC_FAILED, 126, err, "cannot execute");
}

/*
 * A sandbox that serves: init stays pid 1 with no command of its own and
 * starts one per MSG_SPAWN, each in its own session (so a signal or a kill
 * reaches its whole process group), answering with MSG_SPAWNED and the
 * command's pidfd, and with MSG_STATUS when it exits. What a command leaves
 * running in the background stays (a server a later command reaches); init
 * reaps whatever is orphaned to it. EOF on the channel: the supervisor is
 * gone, and init's exit takes the sandbox with it.
 */
struct init_live {
	pid_t		pid;
	uint32_t	tag;
};

static struct init_live	*init_lives;
static size_t		 init_nlives, init_caplives;

static void
init_send_tagged(int chan, int type, uint32_t tag, int code, int err,
    const char *text, const int *fds, int nfds)
{
	struct chan_msg	m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.tag = tag;
	m.code = code;
	m.err = err;
	if (text != NULL)
		snprintf(m.text, sizeof m.text, "%s", text);
	init_send(chan, &m, fds, nfds);
}

/* Splits a MSG_SPAWN's payload into cwd, argv and envp (pointers into buf,
 * which ends in NUL). -1: the counts and the strings do not agree. */
static int
init_spawn_parse(const struct chan_msg *m, char *buf, size_t len,
    struct init_cmd *c)
{
	size_t	off, n = 0, want;
	char	**v;

	if (m->argc < 1 || m->envc < 0 || m->argc > SPAWN_ARGS_MAX ||
	    m->envc > SPAWN_ARGS_MAX || len == 0 || buf[len - 1] != '\0')
		return (-1);
	want = (size_t)m->argc + (size_t)m->envc;
	if ((v = calloc(want + 2, sizeof *v)) == NULL)
		return (-1);
	c->cwd = buf;
	off = strlen(buf) + 1;
	while (off < len && n < want) {
		v[n < (size_t)m->argc ? n : n + 1] = buf + off;
		off += strlen(buf + off) + 1;
		n++;
	}
	if (n != want || off != len || c->cwd[0] != '/' || v[0][0] == '\0') {
		free(v);
		return (-1);
	}
	c->argv = v;
	c->envp = v + m->argc + 1;
	return (0);
}

/*
 * The spare: the next command's process, forked while the session is idle
 * (MSG_SPARE, which the supervisor sends with that command's tag and
 * cgroup files once nothing runs). It does ahead what does not depend on
 * the request: the fork, the move into the command's group, the default
 * dispositions, closing init's descriptors; then it waits on a socket pair
 * for the request, which init passes on with the stdio, the terminal and
 * the channel, and execs. A command's start is then request, spare, exec.
 * It runs inside the sandbox as a copy of init (not dumpable, every signal
 * blocked, holding nothing of init's but its end of the pair), so the
 * session's commands can signal or kill it, as they can each other: a
 * spare that is gone when the request comes is replaced by a fork, as
 * before; one stopped is continued; a signal one of them left pending on
 * it is dropped at the request (only init's own, a kill asked for the
 * command, is kept).
 */
static struct {
	pid_t		pid;	/* 0: none */
	uint32_t	tag;	/* the command it is for */
	int		sock;	/* init's end of the pair */
} init_spare = { 0, 0, -1 };

static void
init_spare_drop(void)
{
	if (init_spare.pid > 0)
		kill(init_spare.pid, SIGKILL);	/* reaped by init_reap */
	if (init_spare.sock >= 0)
		close(init_spare.sock);
	init_spare.pid = 0;
	init_spare.tag = 0;
	init_spare.sock = -1;
}

/* Every descriptor from 3 up closed but keep and, in a coverage build,
 * the build directory's. */
static void
init_close_but(int keep)
{
	int	cov = cov_fd(), lo = keep < cov ? keep : cov, hi = keep < cov ? cov : keep;

	if (lo < 3)
		lo = hi;
	if (lo > 3)
		syscall(SYS_close_range, 3U, (unsigned)lo - 1, 0U);
	if (hi > lo + 1)
		syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0U);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0U);
}

/* The spare itself, after the fork: every signal blocked (init_spare_make). */
static __attribute__((noreturn)) void
init_spare_main(int sock, const int *group, int ngroup)
{
	struct init_cmd	 c;
	struct chan_msg	 m;
	char		*buf = NULL;
	size_t		 len = 0;
	int		 fds[5], nfds = 0, k = 0, rc;
	sigset_t	 all, again;
	siginfo_t	 si;
	struct timespec	 zero = { 0, 0 };

	/* Into the command's group while it is one thread; a spare that
	 * cannot just ends, and the command is forked as before. */
	for (int i = 0; i < ngroup; i++) {
		if (write(group[i], "0\n", 2) != 2)
			init_exit(125);
	}
	init_close_but(sock);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		signal(forwarded[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	do
		rc = chan_recv(sock, 0, &m, &buf, &len, fds, (int)nitems(fds), &nfds);
	while (rc == -1 && errno == EINTR);
	if (rc <= 0 || m.type != MSG_SPAWN || nfds < 1)
		init_exit(0);	/* init is gone, or dropped it */
	/* What waited for it: signals another process of the session sent
	 * while it was idle are not the command's; init's (a kill its
	 * client asked for at once) are, and are raised again. */
	sigfillset(&all);
	sigemptyset(&again);
	while (sigtimedwait(&all, &si, &zero) > 0)
		if (si.si_pid == 1 && si.si_code == SI_USER &&
		    si.si_signo != SIGCONT)
			sigaddset(&again, si.si_signo);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&again, sig) == 1)
			raise(sig);
	memset(&c, 0, sizeof c);
	c.fd[0] = c.fd[1] = c.fd[2] = -1;
	c.pty_slave = -1;
	c.chan = fds[--nfds];	/* init's channel comes last */
	c.tag = m.tag;
	init_tag = m.tag;
	for (int i = 0; i < 3; i++)
		if (m.flags & (SPAWN_FD0 << i)) {
			if (k >= nfds)
				init_die(c.chan, MSG_EXEC_FAILED, 125, EINVAL,
				    "a malformed spawn request");
			c.fd[i] = fds[k++];
		}
	if (m.flags & SPAWN_PTY) {
		if (k >= nfds)
			init_die(c.chan, MSG_EXEC_FAILED, 125, EINVAL,
			    "a malformed spawn request");
		c.pty_slave = fds[k++];
		for (int i = 0; i < 3; i++)
			c.pty_fd[i] = c.fd[i] < 0;
	}
	if (init_spawn_parse(&m, buf, len, &c) == -1)
		init_die(c.chan, MSG_EXEC_FAILED, 125, EINVAL,
		    "a malformed spawn request");
	c.new_session = true;
	c.dfl = true;
	init_exec(&c);
}

/* MSG_SPARE: the next command's process, forked now (an earlier spare
 * is dropped). The supervisor learns its pid, so that it is not counted
 * as one of the session's processes. */
static void
init_spare_make(int chan, const struct chan_msg *m, int *fds, int nfds)
{
	sigset_t	block, saved;
	int		sp[2], pidfd, bufsz = SPAWN_PAYLOAD_MAX + (int)sizeof(struct chan_msg);
	pid_t		pid;

	init_spare_drop();
	if (m->code < 0 || m->code != nfds || m->tag == 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		return;
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
	setsockopt(sp[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	sigfillset(&block);
	sigprocmask(SIG_BLOCK, &block, &saved);
	if ((pid = fork()) == 0) {
		cov_child();
		init_spare_main(sp[1], fds, nfds);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(sp[1]);
	if (pid == -1) {
		close(sp[0]);
		return;
	}
	init_spare.pid = pid;
	init_spare.tag = m->tag;
	init_spare.sock = sp[0];
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) >= 0) {
		init_send_tagged(chan, MSG_SPARE, m->tag, (int)pid, 0, NULL, &pidfd, 1);
		close(pidfd);
	}
}

/* The request to the spare, when there is one for its tag: its pid, or 0
 * when it is gone (or was for another command) and one is forked. */
static pid_t
init_spare_take(int chan, const struct chan_msg *m, const char *buf, size_t len,
    const struct init_cmd *c)
{
	struct chan_msg	fw = *m;
	int		fds[5], k = 0;
	pid_t		pid = init_spare.pid;

	if (pid <= 0 || init_spare.tag != m->tag) {
		init_spare_drop();
		return (0);
	}
	for (int i = 0; i < 3; i++)
		if (c->fd[i] >= 0)
			fds[k++] = c->fd[i];
	if (c->pty_slave >= 0)
		fds[k++] = c->pty_slave;
	fds[k++] = chan;
	fw.code = 0;
	fw.flags = m->flags & (SPAWN_FD0 | SPAWN_FD1 | SPAWN_FD2 | SPAWN_PTY);
	if (c->pty_slave < 0)
		fw.flags &= ~SPAWN_PTY;
	if (chan_send(init_spare.sock, &fw, buf, len, fds, k) == -1) {
		init_spare_drop();	/* killed by a command: fork one */
		return (0);
	}
	/* Stopped by one of the session's commands: it goes on. */
	kill(pid, SIGCONT);
	close(init_spare.sock);
	init_spare.pid = 0;
	init_spare.tag = 0;
	init_spare.sock = -1;
	return (pid);
}

static void
init_spawn(const struct init_args *a, int chan, const struct chan_msg *m,
    char *buf, size_t len, int *fds, int nfds)
{
	struct init_cmd	 c;
	int		 k = 0, master = -1, pidfd = -1, out[2];
	pid_t		 pid;
	sigset_t	 block, saved;

	memset(&c, 0, sizeof c);
	c.fd[0] = c.fd[1] = c.fd[2] = -1;
	c.pty_slave = -1;
	c.chan = chan;
	c.tag = m->tag;
	for (int i = 0; i < 3; i++)
		if (m->flags & (SPAWN_FD0 << i)) {
			if (k >= nfds)
				goto bad;
			c.fd[i] = fds[k++];
		}
	/* After the stdio ones, code of them are the command's cgroup. */
	if (m->code < 0 || m->code > SPAWN_GROUP_MAX || k + m->code != nfds)
		goto bad;
	for (c.ngroup = 0; k < nfds; k++)
		c.group[c.ngroup++] = fds[k];
	if (init_spawn_parse(m, buf, len, &c) == -1)
		goto bad;
	if (m->flags & SPAWN_PTY) {
		int	unlock = 0;

		if ((master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
		    ioctl(master, TIOCSPTLCK, &unlock) == -1 ||
		    (c.pty_slave = ioctl(master, TIOCGPTPEER,
		    O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
			init_send_tagged(chan, MSG_EXEC_FAILED, m->tag, 125, errno,
			    "open a terminal in the sandbox's devpts", NULL, 0);
			goto out;
		}
		for (int i = 0; i < 3; i++)
			c.pty_fd[i] = c.fd[i] < 0;
		/* Its size before it starts: a command that asks at once
		 * (stty size, a full-screen program) is not told 0x0. */
		if (m->winsize > 0) {
			struct winsize	ws = { .ws_row = (unsigned short)(m->winsize >> 16),
					    .ws_col = (unsigned short)(m->winsize & 0xffff) };

			(void)ioctl(master, TIOCSWINSZ, &ws);
		}
	}
	c.new_session = true;
	/* The spare forked for it, which is in its group already. */
	if ((pid = init_spare_take(chan, m, buf, len, &c)) > 0)
		goto started;
	/* The child starts with every signal blocked: one sent to it before
	 * init_exec has put back the default dispositions (a ^C right after
	 * the spawn) waits, and then acts as it would on the command. */
	sigfillset(&block);
	sigprocmask(SIG_BLOCK, &block, &saved);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		init_send_tagged(chan, MSG_EXEC_FAILED, m->tag, 125, errno,
		    "fork the command", NULL, 0);
		goto out;
	}
	if (pid == 0) {
		cov_child();	/* init's counts are init's to write (cov_flush) */
		init_exec(&c);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
started:
	if (init_nlives == init_caplives) {
		size_t		 cap = init_caplives == 0 ? 16 : init_caplives * 2;
		struct init_live *nl = realloc(init_lives, cap * sizeof *nl);

		if (nl == NULL) {
			kill(pid, SIGKILL);
			goto out;
		}
		init_lives = nl;
		init_caplives = cap;
	}
	init_lives[init_nlives].pid = pid;
	init_lives[init_nlives++].tag = m->tag;
	out[0] = pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	out[1] = master;
	if (pidfd >= 0)
		init_send_tagged(chan, MSG_SPAWNED, m->tag, (int)pid, 0, NULL,
		    master >= 0 ? out : out, master >= 0 ? 2 : 1);
	else
		init_send_tagged(chan, MSG_SPAWNED, m->tag, (int)pid, errno, NULL,
		    master >= 0 ? &master : NULL, master >= 0 ? 1 : 0);
	goto out;
bad:
	init_send_tagged(chan, MSG_EXEC_FAILED, m->tag, 125, EINVAL,
	    "a malformed spawn request", NULL, 0);
out:
	free(c.argv);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (c.pty_slave >= 0)
		close(c.pty_slave);
	if (master >= 0)
		close(master);
	if (pidfd >= 0)
		close(pidfd);
}

static void
init_reap(int chan, const struct mount_plan *plan)
{
	char	full[sizeof ((struct chan_msg *)0)->text];
	pid_t	w;
	int	st;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
		if (w == init_spare.pid) {
			/* Killed while it waited: the next command is forked. */
			init_spare.pid = 0;
			init_spare_drop();
			continue;
		}
		for (size_t i = 0; i < init_nlives; i++) {
			if (init_lives[i].pid != w)
				continue;
			mounts_full_tmpfs(plan, full, sizeof full);
			init_send_tagged(chan, MSG_STATUS, init_lives[i].tag, st, 0,
			    full, NULL, 0);
			init_lives[i] = init_lives[--init_nlives];
			break;
		}
	}
}

/*
 * A signal to a command's group reaches each process as it is when init
 * sends it. A process that has a handler for it then, and execs right
 * after, loses it with the exec: dash -c (the shell of the TUI's lines)
 * forks "sleep 60", and its child, still dash with dash's SIGINT handler,
 * takes a ^C that comes before the exec, defers it and execs sleep, which
 * sleeps on; dash, which deferred its own copy while it waits, dies of
 * the ^C a minute later. So for a while after such a signal init looks
 * again at the group's processes that had a handler for it, and gives it
 * once more to those that have none any more (they exec'd), once each.
 * Processes that keep their handler (the waiting dash, a program that
 * traps ^C) are left as they are. A ^C that comes just before dash forks
 * is deferred across the fork and kills dash after it: the child, which
 * joined the group after the signal, never had it and sleeps on, orphaned.
 * So once a process that had a handler has ended, the processes that
 * joined the group since the signal get it too, once each.
 */
#define INIT_KILL_FOLLOW_S	0.5	/* how long init looks again */
#define INIT_KILL_FOLLOW_MS	20	/* how often */
#define INIT_KILL_WATCH		64

static struct init_follow {
	int	sig;
	double	until;
	pid_t	pgrp;
	pid_t	watch[INIT_KILL_WATCH];	/* had a handler; 0: ended */
	bool	given[INIT_KILL_WATCH];	/* given it again (its handler went):
					   watched on for its end only */
	size_t	nwatch;
	pid_t	seen[INIT_KILL_WATCH];	/* in the group at the signal, or given
					   it since */
	size_t	nseen;
	bool	full;			/* the group was larger than seen */
	bool	ended;			/* a watched process has ended */
} init_follow;

static double
init_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* /proc/PID/NAME into buf, NUL-terminated; -1 when pid is gone. */
static int
init_proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
	char	path[64];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	return (0);
}

/* pid's group (stat's fifth field), and whether it has a handler for sig
 * (status's SigCgt); -1 when it is gone. */
static pid_t
init_proc(pid_t pid, int sig, bool *caught)
{
	char			buf[2048], *p, state;
	long			pg = -1;
	unsigned long long	cgt;

	*caught = false;
	if (init_proc_read(pid, "stat", buf, sizeof buf) == -1)
		return (-1);
	/* After the command's name, which may hold anything but ends at
	 * the last ')': state, ppid, pgrp. An ended process not yet reaped
	 * counts as gone. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %*d %ld", &state, &pg) != 2 || state == 'Z')
		return (-1);
	if (init_proc_read(pid, "status", buf, sizeof buf) == -1)
		return (-1);
	if ((p = strstr(buf, "\nSigCgt:")) != NULL &&
	    sscanf(p + 8, "%llx", &cgt) == 1)
		*caught = (cgt >> (sig - 1)) & 1;
	return ((pid_t)pg);
}

/* The group's processes not yet seen: each is seen from now on, watched
 * when it has a handler for the signal, and with give, given it (it joined
 * the group since the signal). A group larger than the table at the signal
 * is marked full, and no newcomer is looked for then. */
static void
init_follow_scan(struct init_follow *f, bool give)
{
	DIR		*d;
	struct dirent	*de;
	bool		 caught, known;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char	*end;
		long	 pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 1 ||
		    init_proc((pid_t)pid, f->sig, &caught) != f->pgrp)
			continue;
		known = false;
		for (size_t i = 0; i < f->nseen && !known; i++)
			known = f->seen[i] == (pid_t)pid;
		if (known)
			continue;
		if (f->nseen < INIT_KILL_WATCH)
			f->seen[f->nseen++] = (pid_t)pid;
		else if (give)
			break;
		else
			f->full = true;
		if (give)
			kill((pid_t)pid, f->sig);
		/* A newcomer still a copy of its parent, with its handler, is
		 * watched too, should it exec next. */
		if (caught && f->nwatch < INIT_KILL_WATCH) {
			f->given[f->nwatch] = false;
			f->watch[f->nwatch++] = (pid_t)pid;
		}
	}
	closedir(d);
}

/* At the kill: the group as it is, and which of it have a handler. */
static void
init_follow_start(pid_t pgrp, int sig)
{
	struct init_follow	*f = &init_follow;

	memset(f, 0, sizeof *f);
	f->sig = sig;
	f->pgrp = pgrp;
	init_follow_scan(f, false);
	if (f->nwatch > 0)
		f->until = init_now() + INIT_KILL_FOLLOW_S;
}

/* Later: a watched process with no handler any more gets it again, once;
 * it is watched on until it ends, as a program that restores the default
 * action and kills itself with the signal (what dash does with a deferred
 * ^C) may be found between the two, and its end is what lets the group's
 * newcomers be given the signal. */
static void
init_follow_check(void)
{
	struct init_follow	*f = &init_follow;
	bool			 caught;

	for (size_t i = 0; i < f->nwatch; i++) {
		if (f->watch[i] == 0)
			continue;
		if (init_proc(f->watch[i], f->sig, &caught) == -1) {
			f->watch[i] = 0;	/* gone */
			f->ended = true;
		} else if (!caught && !f->given[i]) {
			kill(f->watch[i], f->sig);
			f->given[i] = true;
		}
	}
	/* Once a watched process has ended: those that joined the group
	 * since the signal (forked by one that deferred it). */
	if (f->ended && !f->full)
		init_follow_scan(f, true);
	if (init_now() >= f->until)
		f->until = 0;
}

static void
init_kill(const struct chan_msg *m)
{
	for (size_t i = 0; i < init_nlives; i++)
		if (init_lives[i].tag == m->tag) {
			/* Its group, as a terminal's ^C would; then the leader,
			 * should it have left the group. */
			kill(-init_lives[i].pid, m->code);
			kill(init_lives[i].pid, m->code);
			if (m->code > 0 && m->code != SIGKILL)
				init_follow_start(init_lives[i].pid, m->code);
		}
}

/* A path opened for a client of a session (moat session cp): in the
 * sandbox's root and mounts, as its commands would, with every symlink
 * resolved inside that root and the last one never followed. */
static void
init_open(int chan, const struct chan_msg *m, const char *path, size_t len)
{
	struct open_how	how;
	int		fd = -1, err = EINVAL;

	if (path != NULL && len > 0 && path[0] == '/' && strlen(path) == len - 1) {
		memset(&how, 0, sizeof how);
		how.flags = (uint64_t)(m->flags & (O_ACCMODE | O_CREAT | O_TRUNC |
		    O_DIRECTORY | O_EXCL)) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
		how.mode = (how.flags & O_CREAT) ? (uint64_t)(m->code & 0777) : 0;
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
		err = fd == -1 ? errno : 0;
	}
	init_send_tagged(chan, MSG_OPEN, m->tag, 0, err, NULL, fd >= 0 ? &fd : NULL,
	    fd >= 0 ? 1 : 0);
	if (fd >= 0)
		close(fd);
}

static __attribute__((noreturn)) void
init_serve(const struct init_args *a, int chan)
{
	sigset_t	chld;
	int		sigfd;
	int		bufsz = SPAWN_PAYLOAD_MAX + (int)sizeof(struct chan_msg);

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if ((sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		init_die_errno(chan, "signalfd");
	setsockopt(chan, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	for (;;) {
		struct pollfd	pfd[2] = { { .fd = chan, .events = POLLIN },
				    { .fd = sigfd, .events = POLLIN } };
		struct signalfd_siginfo	si;

		if (poll(pfd, 2, init_follow.until > 0 ? INIT_KILL_FOLLOW_MS : -1) == -1) {
			if (errno == EINTR)
				continue;
			init_exit(125);
		}
		if (init_follow.until > 0)
			init_follow_check();
		if (pfd[1].revents & POLLIN) {
			while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
				;
			init_reap(chan, a->plan);
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct chan_msg	 m;
			char		*buf = NULL;
			size_t		 n = 0;
			int		 fds[3 + SPAWN_GROUP_MAX], nfds = 0, rc;

			rc = chan_recv(chan, MSG_DONTWAIT, &m, &buf, &n, fds,
			    (int)nitems(fds), &nfds);
			if (rc == -1 && (errno == EINTR || errno == EAGAIN ||
			    errno == EBADMSG))
				continue;
			if (rc <= 0)
				init_exit(0);	/* the supervisor is gone */
			if (m.type == MSG_SPAWN)
				init_spawn(a, chan, &m, buf, n, fds, nfds);
			else if (m.type == MSG_SPARE) {
				init_spare_make(chan, &m, fds, nfds);
				for (int i = 0; i < nfds; i++)
					close(fds[i]);
			}
			else if (m.type == MSG_OPEN) {
				init_open(chan, &m, buf, buf != NULL ? n : 0);
				for (int i = 0; i < nfds; i++)
					close(fds[i]);
			}
			else {
				if (m.type == MSG_KILL)
					init_kill(&m);
				for (int i = 0; i < nfds; i++)
					close(fds[i]);
			}
			free(buf);
			/* A serving init is killed, never exits: a coverage
			 * build writes its counts as it goes. */
			cov_flush();
		}
	}
}

void
init_main(const struct init_args *a)
{
	struct chan_msg	 m;
	struct chan_rusage ru;
	const char	*what = "";
	int		 fds[NET_MAX_FDS + 2], nfds = 0, nnet = 0, listener = -1;
	int		 master = -1;
	int		 chan = a->chan, st, code;
	ssize_t		 n;
	pid_t		 pid;
	struct sigaction sa;
	sigset_t	 none;
	double		 t;

	/* If the supervisor dies, so does the sandbox: pid 1's death takes
	 * the whole pid namespace with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		init_die_errno(chan, "prctl(PR_SET_PDEATHSIG)");
	/* The guard's watches on the host are the supervisor's alone. */
	if (a->guard_fd >= 0)
		close(a->guard_fd);
	/* The go-ahead; EOF means the supervisor is already gone. */
	do
		n = read(chan, &m, sizeof m);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof m || m.type != MSG_GO)
		init_exit(125);
	t = now_mono();
	if (sethostname(a->hostname, strlen(a->hostname)) == -1)
		init_die_errno(chan, "sethostname");
	if (mounts_build_root(a->plan, &what) == -1)
		init_die_errno(chan, what);
	trace_step(a->trace, "init-root", t);
	t = now_mono();
	if (net_setup(a->profile, fds + 1, &nnet, &what) == -1)
		init_die_errno(chan, what);
	if (rlimit_apply(&a->profile->limits, &what) == -1)
		init_die_errno(chan, what);
	init_rlimit_data = a->rlimit_data;
	trace_step(a->trace, "init-net", t);
	t = now_mono();
	/* Nothing of the command runs before this: the supervisor moved us
	 * into the run's cgroup while we built (on v1 that move waits out an
	 * RCU grace period in the kernel, so it is not done before GO). */
	if (a->wait_placed) {
		do
			n = read(chan, &m, sizeof m);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof m || m.type != MSG_PLACED)
			init_exit(125);
		trace_step(a->trace, "init-placed", t);
		t = now_mono();
	}
	/* v1: init moves itself, one thread, through each tasks file. */
	for (int i = 0; i < a->ntasks; i++) {
		if (write(a->tasks[i], "0", 1) != 1)
			init_die_errno(chan, "join the run's cgroup");
		close(a->tasks[i]);
	}
	if (a->ntasks > 0) {
		trace_step(a->trace, "init-placed", t);
		t = now_mono();
	}
	/* Its own cgroup namespace, rooted where the supervisor placed it. */
	if (unshare(CLONE_NEWCGROUP) == -1)
		init_die_errno(chan, "unshare(CLONE_NEWCGROUP)");

	init_wipe_host_memory();
	secrets_wipe(a->secrets);
	/* Not dumpable: the command cannot ptrace init or read its /proc files. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		init_die_errno(chan, "prctl(PR_SET_DUMPABLE)");
	if (caps_drop_all(&what) == -1)
		init_die_errno(chan, what);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		init_die_errno(chan, "prctl(PR_SET_NO_NEW_PRIVS)");
	/* Terminal signals reach moat only; it forwards them through us.
	 * With a terminal of the sandbox's, init leads a session of its own
	 * and the terminal is its controlling one, so that the command is a
	 * job in it that ^Z can stop (see init_exec). */
	if (a->pty ? setsid() == -1 : setpgid(0, 0) == -1)
		init_die_errno(chan, "leave the host's process group");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = init_forward;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaction(forwarded[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The namespaces, for the supervisor's guard (guard.c): its helper
	 * enters them through these, as init is not dumpable (no ptrace
	 * access, which /proc/PID/ns and a pidfd's setns ask for, is given
	 * to an unprivileged supervisor). Before the filter, like the rest. */
	if (a->guard) {
		int	ns[3];

		if ((ns[0] = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC)) == -1 ||
		    (ns[1] = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) == -1 ||
		    (ns[2] = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) == -1)
			init_die_errno(chan, "open the sandbox's namespaces for the "
			    "supervisor");
		memset(&m, 0, sizeof m);
		m.type = MSG_NS;
		init_send(chan, &m, ns, 3);
		for (int i = 0; i < 3; i++)
			close(ns[i]);
	}
	/* A terminal from the sandbox's own devpts: the supervisor keeps the
	 * master and relays it to the host's terminal. Opened before the
	 * filter: an open for writing is observed through the listener, which
	 * the supervisor does not hold yet. */
	if (a->pty) {
		int	unlock = 0;

		if ((master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
		    ioctl(master, TIOCSPTLCK, &unlock) == -1 ||
		    (init_pty_slave = ioctl(master, TIOCGPTPEER,
		    O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
			init_die_errno(chan, "open a terminal in the sandbox's devpts");
		if (ioctl(init_pty_slave, TIOCSCTTY, 0) == -1)
			init_die_errno(chan, "take the sandbox terminal");
		fds[1 + nnet] = master;
	}
	/* Last, so nothing above had to be allowed; from here until the
	 * listener is sent, nothing may open a file for writing or connect. */
	if (a->filter != NULL) {
		if (filter_install(a->filter, &listener) == -1)
			init_die_errno(chan, "install the seccomp filter");
	}
	if (listener >= 0)
		fds[0] = listener;
	nfds = nnet + (listener >= 0 ? 1 : 0) + (master >= 0 ? 1 : 0);

	trace_step(a->trace, "init-seal", t);
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

	if (a->serve)
		init_serve(a, chan);

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
	if (pid == 0) {
		struct init_cmd	c = {
			.argv = a->argv, .envp = a->envp, .cwd = a->cwd,
			.fd = { -1, a->out[0], a->out[1] },
			.pty_slave = init_pty_slave,
			.pty_fd = { a->pty_fd[0], a->pty_fd[1], a->pty_fd[2] },
			.new_session = a->new_session, .chan = chan,
			.job = init_pty_slave >= 0,
		};

		init_exec(&c);
	}
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
		pid_t	w = waitpid(-1, &st, WUNTRACED);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			init_exit(125);
		}
		if (w != pid)
			continue;
		if (WIFSTOPPED(st)) {
			/* ^Z on its terminal, or it stopped itself: the
			 * supervisor gives the host's terminal back and says
			 * when to go on (SIGCONT, passed to its group). */
			memset(&m, 0, sizeof m);
			m.type = MSG_STOPPED;
			m.code = WSTOPSIG(st);
			init_send(chan, &m, NULL, 0);
			continue;
		}
		code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		memset(&m, 0, sizeof m);
		m.type = MSG_STATUS;
		m.code = st;
		mounts_full_tmpfs(a->plan, m.text, sizeof m.text);
		if (init_alone() && init_rusage(&ru) == 0) {
			/* The supervisor stops serving the seccomp notifier
			 * once it has this: a coverage build's counters, whose
			 * files are opened for writing (a notified call), are
			 * written first. */
			m.flags = STATUS_ALONE;
			cov_dump();
			(void)chan_send(chan, &m, &ru, sizeof ru, NULL, 0);
			init_guard_wait(a, chan);
			_exit(code);	/* GCOVR_EXCL_LINE */
		}
		init_send(chan, &m, NULL, 0);
		init_guard_wait(a, chan);
		init_exit(code);
	}
}
