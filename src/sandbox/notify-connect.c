/* notify-connect.c: transparent interception of the sandbox's TCP
 * connections, supervisor side. In restricted and proxied modes the filter
 * sends every connect() to the notifier (FILTER_CONNECT); this file answers
 * them. A connection to the sandbox's own loopback, a Unix socket, or
 * anything but TCP goes on as the sandbox asked
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE): its netns has nothing but loopback, so
 * that cannot reach further than the sandbox could anyway, and rewriting
 * the address under us only ever changes which of its own sockets it gets.
 * Any other TCP destination goes to the network layer (proxy_transparent),
 * which decides with the proxies' allowlist and, when allowed, connects the
 * sandbox's own socket, taken with pidfd_getfd, to the transparent listener
 * inside the netns: the kernel never acts on an address in the sandbox's
 * memory, and the socket never leaves the sandbox's netns. A UDP socket
 * connecting to port 53 elsewhere (a DNS server of the client's own) is
 * connected to the sandbox's resolver instead. Where the
 * supervisor may not take the socket or read the address (a Yama
 * ptrace_scope of 2 or more), the call fails as it would without us, and is
 * recorded as far as we can see it. Supervisor only. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "network/proxy.h"
#include "notify-connect.h"
#include "profile/net-rule.h"
#include "base/util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd		438
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD		O_EXCL
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE	(1UL << 0)
#endif

static void
nc_answer(int listener, struct seccomp_notif_resp *resp, uint64_t id, int err,
    bool cont)
{
	resp->id = id;
	resp->val = 0;
	resp->error = cont ? 0 : -err;
	resp->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
	/* ENOENT: the task is gone, or was signalled and will retry. */
	(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

static bool
nc_valid(int listener, uint64_t id)
{
	return (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0);
}

/* The thread's process's file table: a pidfd of the thread itself (Linux
 * 6.9), else of its thread group leader, read from /proc. */
static int
nc_pidfd(pid_t tid)
{
	char	path[64], line[128];
	FILE	*f;
	int	fd;
	long	tgid = -1;

	if ((fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD)) != -1)
		return (fd);
	if ((fd = (int)syscall(SYS_pidfd_open, tid, 0)) != -1)
		return (fd);
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "Tgid:", 5) == 0) {
			tgid = strtol(line + 5, NULL, 10);
			break;
		}
	fclose(f);
	if (tgid <= 0)
		return (-1);
	return ((int)syscall(SYS_pidfd_open, (pid_t)tgid, 0));
}

/* Is this the sandbox's own loopback (or "this host": 0.0.0.0 and ::
 * connect to loopback too)? */
static bool
nc_local(const struct sockaddr_storage *ss)
{
	static const uint8_t	zero[16];
	uint8_t			a[16];
	int			family;

	if (ss->ss_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
		family = AF_INET;
		if (memcmp(a, zero, 4) == 0)
			return (true);
	} else {
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
		family = AF_INET6;
		if (memcmp(a, zero, 16) == 0)
			return (true);
		/* ::ffff:0.0.0.0 */
		if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff &&
		    memcmp(a + 12, zero, 4) == 0)
			return (true);
	}
	return (net_rule_addr_loopback(family, a));
}

static unsigned
nc_port(const struct sockaddr_storage *ss)
{
	return (ntohs(ss->ss_family == AF_INET6 ?
	    ((const struct sockaddr_in6 *)(const void *)ss)->sin6_port :
	    ((const struct sockaddr_in *)(const void *)ss)->sin_port));
}

void
notify_connect(int listener, const struct seccomp_notif *req,
    struct seccomp_notif_resp *resp, struct proxy *p)
{
	struct sockaddr_storage	 ss;
	size_t			 len = (size_t)req->data.args[2];
	struct iovec		 local, remote;
	autofd int		 pidfd = -1, sock = -1;
	int			 type = 0, proto = 0, err;
	socklen_t		 sl;

	/* A length the kernel refuses (EINVAL) is its to answer. */
	if (len < sizeof(sa_family_t) || len > sizeof ss) {
		nc_answer(listener, resp, req->id, 0, true);
		return;
	}
	memset(&ss, 0, sizeof ss);
	local.iov_base = &ss;
	local.iov_len = len;
	remote.iov_base = (void *)(uintptr_t)req->data.args[1];
	remote.iov_len = len;
	if (process_vm_readv(req->pid, &local, 1, &remote, 1, 0) != (ssize_t)len) {
		/* EFAULT: the kernel's to answer, with the same. EPERM (Yama,
		 * a security module): we cannot tell a connection to the
		 * sandbox's own loopback or a Unix socket from any other, so
		 * all go on as without us (the netns has no route out), and
		 * the run's record says once that they were not seen. */
		if (errno != EFAULT && errno != ESRCH) {
			char why[160];

			snprintf(why, sizeof why, "connect() is not intercepted: the "
			    "supervisor may not read the sandbox's memory "
			    "(process_vm_readv: %s)", strerror(errno));
			proxy_transparent_blind(p, why);
		}
		nc_answer(listener, resp, req->id, 0, true);
		return;
	}
	/* The address was read from a task that still waits on this call. */
	if (!nc_valid(listener, req->id))
		return;
	if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    (ss.ss_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (ss.ss_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    nc_local(&ss)) {
		nc_answer(listener, resp, req->id, 0, true);
		return;
	}
	if ((pidfd = nc_pidfd((pid_t)req->pid)) == -1 ||
	    !nc_valid(listener, req->id)) {
		nc_answer(listener, resp, req->id, 0, true);
		return;
	}
	if ((sock = (int)syscall(SYS_pidfd_getfd, pidfd, (int)req->data.args[0],
	    0)) == -1) {
		char	why[160];

		err = errno;
		if (err == EBADF) {		/* the kernel's to answer */
			nc_answer(listener, resp, req->id, 0, true);
			return;
		}
		/* EPERM (Yama, a security module), ENOSYS (before 5.6): */
		snprintf(why, sizeof why, "the supervisor may not take the "
		    "sandbox's socket (pidfd_getfd: %s)", strerror(err));
		proxy_transparent_note(p, &ss, len, why);
		nc_answer(listener, resp, req->id, ENETUNREACH, false);
		return;
	}
	sl = sizeof type;
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &sl) == 0 &&
	    type == SOCK_DGRAM && nc_port(&ss) == 53 && (sl = sizeof proto,
	    getsockopt(sock, SOL_SOCKET, SO_PROTOCOL, &proto, &sl)) == 0 &&
	    proto == IPPROTO_UDP) {
		/* A DNS server of the client's own: ours answers instead, on
		 * the same policy. */
		nc_answer(listener, resp, req->id, proxy_transparent_dns(p, sock),
		    false);
		return;
	}
	if (type != SOCK_STREAM || (sl = sizeof proto, getsockopt(sock, SOL_SOCKET,
	    SO_PROTOCOL, &proto, &sl)) == -1 || proto != IPPROTO_TCP) {
		/* Not TCP (UDP, an fd that is no socket): the kernel answers,
		 * and with nothing but loopback there is no route. */
		nc_answer(listener, resp, req->id, 0, true);
		return;
	}
	err = proxy_transparent(p, sock, &ss, len);
	nc_answer(listener, resp, req->id, err, false);
}

int
notify_connect_probe(char *why, size_t len)
{
	pid_t		 pid;
	int		 pfd[2], pidfd, fd, status, rc = -1;
	char		 c = 0, got;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return (-1);
	}
	if ((pid = fork()) == -1) {
		snprintf(why, len, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return (-1);
	}
	if (pid == 0) {
		/* Waits for the parent to take its end of the pipe. */
		close(pfd[1]);
		if (read(pfd[0], &c, 1) == -1) {
			/* EOF or error: done either way. */
		}
		_exit(0);
	}
	close(pfd[0]);
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		snprintf(why, len, "pidfd_open: %s (Linux 5.3 or later)",
		    strerror(errno));
	else if (process_vm_readv(pid, &(struct iovec){ &got, sizeof got }, 1,
	    &(struct iovec){ &c, sizeof c }, 1, 0) != (ssize_t)sizeof c)
		snprintf(why, len, "process_vm_readv: %s%s", strerror(errno),
		    errno == EPERM ? " (a Yama ptrace_scope above 1, or a security "
		    "module, forbids it)" : "");
	else if ((fd = (int)syscall(SYS_pidfd_getfd, pidfd, 0, 0)) == -1)
		snprintf(why, len, "pidfd_getfd: %s%s", strerror(errno), errno == ENOSYS ?
		    " (Linux 5.6 or later)" : errno == EPERM ?
		    " (a Yama ptrace_scope above 1, or a security module, forbids it)" :
		    "");
	else {
		close(fd);
		rc = 0;
	}
	if (pidfd != -1)
		close(pidfd);
	close(pfd[1]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return (rc);
}
