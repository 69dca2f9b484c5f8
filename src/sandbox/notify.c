/* notify.c: the supervisor side of seccomp user notification. The sandbox
 * installs the filter with FILTER_NOTIFY and hands the listener fd to the
 * supervisor, whose poll loop calls us when a denied call waits. We answer
 * it at once with an error, then describe it from its registers and report
 * it, aggregating tight loops into counts. Supervisor only.
 *
 * A denied call is never answered SECCOMP_USER_NOTIF_FLAG_CONTINUE and its
 * memory is never read, so the usual notifier TOCTOU races do not apply:
 * whatever the arguments are, the call does not run.
 *
 * Observed calls (filter.h FILTER_OBSERVE_*) are a record, not a gate: we
 * read the path or address from the task's memory, answer CONTINUE, and the
 * kernel decides (a read-only mount refuses the write, the isolated netns
 * has no route). What we read may change under us before the kernel reads
 * it, so an observed event says what the task appeared to try; the
 * refusal itself never depends on it.
 *
 * connect() under transparent interception (restricted and proxied modes)
 * is neither: notify-connect.c says how it is answered, and why reading
 * its address is safe there.
 *
 * The exec trail (notify_trail) is a record in the same way: for execve
 * and execveat we read the path and argv from the task's memory
 * (process_vm_readv), its cwd and parent, and answer CONTINUE; the answer
 * is only taken while the call still waits (the kernel's check of
 * SECCOMP_IOCTL_NOTIF_ID_VALID), so when it is, the task was the one that
 * made the call all along and the pid was not reused while we read; when
 * it is not (the task was killed), nothing is recorded.
 * Another thread of the task can change that memory between our read and
 * the kernel's, so what is recorded is what the memory held when we
 * looked, which honest programs never change; nothing is decided on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/param.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS	SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP	(1UL << 0)
#endif

#include "filter.h"
#include "base/loop.h"
#include "notify.h"
#include "notify-connect.h"
#include "spawn.h"
#include "base/util.h"

#define X32_SYSCALL_BIT	0x40000000

/* Distinct syscalls remembered; beyond this (garbage numbers on a foreign
 * ABI), denials are counted under "other" so memory stays bounded. */
#define NOTIFY_MAX_SYS	1024
/* Events per run, whatever the code tries: single reports, then totals. */
#define NOTIFY_MAX_SINGLE	50
#define NOTIFY_MAX_TOTALS	50

struct notify_sys {
	uint32_t	 arch;
	int		 nr;
	char		*name;		/* owned: "ptrace", "i386:getpid", "other" */
	uint64_t	 count;
	uint64_t	 reported;	/* how many of count were reported already */
};

#define NOTIFY_EXEC_ARGS_ALLOC	65	/* NOTIFY_EXEC_ARGS and the NULL */
/* Execs reported together at most. The timer, not this, should end a
 * batch: a batch ended by the exec that fills it is reported while that
 * task waits for the CPU it was handed (32 of /bin/true: half a
 * millisecond), one ended by the timer on whichever CPU is free. */
#define NOTIFY_LATER_MAX	256
#define NOTIFY_LATER_WAIT	0.01	/* seconds an exec waits to be reported */
#define NOTIFY_PRESENT		16	/* programs remembered as found */

struct notify {
	struct run		*r;
	struct loop		*loop;
	int			 fd;		/* owned: the listener */
	bool			 registered;	/* in the loop's epoll set */
	bool			 direct;	/* the loop's direct fd instead */
	struct seccomp_notif	*req;		/* owned, kernel-sized */
	struct seccomp_notif_resp *resp;	/* owned, kernel-sized */
	size_t			 req_size, resp_size;
	uint32_t		 native;	/* libseccomp's native arch token */
	struct notify_sys	*sys;		/* owned, nsys entries */
	size_t			 nsys;
	uint64_t		 total;
	unsigned		 singles;	/* single reports so far */
	unsigned		 observe;	/* FILTER_OBSERVE_* */
	int			 nr_open, nr_openat, nr_creat, nr_openat2, nr_connect;
	unsigned		 nobserved;	/* observed events emitted */
	struct proxy		*tproxy;	/* connect() is intercepted for it */
	/* the exec trail */
	bool			 trail;
	uint64_t		 execs;
	pid_t			*seen;		/* owned: pids that exec'd, a ring */
	size_t			 nseen;
	pid_t			 root;		/* the sandbox init's host pid */
	int			 rootfd;	/* owned: the sandbox's root, or -1 */
	int			 mntnsfd;	/* owned: its mount namespace, kept
						   alive for the batch, or -1 */
	/* Execs let go but not yet reported (notify_flush): owned. */
	struct notify_later {
		char		*file;		/* NULL: unknown */
		char		*argv[NOTIFY_EXEC_ARGS_ALLOC];
		size_t		 nargs, bytes;
		char		*cwd;
		pid_t		 pid, parent, nspid;
		double		 t;
		bool		 try_path;	/* may be a PATH try: look first */
	}			 later[NOTIFY_LATER_MAX];
	size_t			 nlater;
	char			*present[NOTIFY_PRESENT];	/* owned: a ring */
	size_t			 npresent;
	int			 laterfd;	/* owned: the timer that flushes them
						   (kept between batches), or -1 */
	bool			 later_armed;
};

/* Observed events per run (protected writes, isolated connections): past
 * this the calls still continue, unrecorded, and one note says so. */
#define NOTIFY_MAX_OBSERVED	200

#define NOTIFY_SEEN_MAX		4096	/* pids remembered for the parents */
#define NOTIFY_EXEC_ARGS	64	/* argv entries read */
#define NOTIFY_EXEC_ARG_MAX	512	/* bytes of one argument */
#define NOTIFY_EXEC_BYTES	8192	/* bytes of argv in all */
#define NOTIFY_EXEC_SPAN	16384	/* the arguments read in one span */

static const char *const notify_families[] = {
	[AF_UNSPEC] = "AF_UNSPEC", [AF_UNIX] = "AF_UNIX", [AF_INET] = "AF_INET",
	[AF_AX25] = "AF_AX25", [AF_IPX] = "AF_IPX", [AF_APPLETALK] = "AF_APPLETALK",
	[AF_NETROM] = "AF_NETROM", [AF_BRIDGE] = "AF_BRIDGE",
	[AF_ATMPVC] = "AF_ATMPVC", [AF_X25] = "AF_X25", [AF_INET6] = "AF_INET6",
	[AF_ROSE] = "AF_ROSE", [AF_DECnet] = "AF_DECnet",
	[AF_NETBEUI] = "AF_NETBEUI", [AF_SECURITY] = "AF_SECURITY",
	[AF_KEY] = "AF_KEY", [AF_NETLINK] = "AF_NETLINK", [AF_PACKET] = "AF_PACKET",
	[AF_ECONET] = "AF_ECONET", [AF_ATMSVC] = "AF_ATMSVC", [AF_RDS] = "AF_RDS",
	[AF_IRDA] = "AF_IRDA", [AF_PPPOX] = "AF_PPPOX", [AF_WANPIPE] = "AF_WANPIPE",
	[AF_LLC] = "AF_LLC", [AF_IB] = "AF_IB", [AF_MPLS] = "AF_MPLS",
	[AF_CAN] = "AF_CAN", [AF_TIPC] = "AF_TIPC", [AF_BLUETOOTH] = "AF_BLUETOOTH",
	[AF_IUCV] = "AF_IUCV", [AF_RXRPC] = "AF_RXRPC", [AF_ISDN] = "AF_ISDN",
	[AF_PHONET] = "AF_PHONET", [AF_IEEE802154] = "AF_IEEE802154",
	[AF_CAIF] = "AF_CAIF", [AF_ALG] = "AF_ALG", [AF_NFC] = "AF_NFC",
	[AF_VSOCK] = "AF_VSOCK", [AF_KCM] = "AF_KCM", [AF_QIPCRTR] = "AF_QIPCRTR",
	[AF_SMC] = "AF_SMC", [44] = "AF_XDP", [45] = "AF_MCTP",
};

static const char *const notify_socktypes[] = {
	[SOCK_STREAM] = "SOCK_STREAM", [SOCK_DGRAM] = "SOCK_DGRAM",
	[SOCK_RAW] = "SOCK_RAW", [SOCK_RDM] = "SOCK_RDM",
	[SOCK_SEQPACKET] = "SOCK_SEQPACKET", [SOCK_DCCP] = "SOCK_DCCP",
	[SOCK_PACKET] = "SOCK_PACKET",
};

static const char *const notify_netlinks[] = {
	[NETLINK_ROUTE] = "NETLINK_ROUTE", [NETLINK_SOCK_DIAG] = "NETLINK_SOCK_DIAG",
	[NETLINK_XFRM] = "NETLINK_XFRM", [NETLINK_AUDIT] = "NETLINK_AUDIT",
	[NETLINK_NETFILTER] = "NETLINK_NETFILTER",
	[NETLINK_KOBJECT_UEVENT] = "NETLINK_KOBJECT_UEVENT",
	[NETLINK_GENERIC] = "NETLINK_GENERIC",
};

static const struct {
	uint64_t	 flag;
	const char	*name;
} notify_clone_flags[] = {
	{ CLONE_NEWUSER, "CLONE_NEWUSER" }, { CLONE_NEWNS, "CLONE_NEWNS" },
	{ CLONE_NEWPID, "CLONE_NEWPID" }, { CLONE_NEWNET, "CLONE_NEWNET" },
	{ CLONE_NEWIPC, "CLONE_NEWIPC" }, { CLONE_NEWUTS, "CLONE_NEWUTS" },
	{ CLONE_NEWCGROUP, "CLONE_NEWCGROUP" },
};

/* A name from a table indexed by a small number, else the number. */
static const char *
notify_lookup(const char *const *tab, size_t n, uint64_t v, char *buf, size_t len)
{
	if (v < n && tab[v] != NULL)
		return (tab[v]);
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return (buf);
}

static void
notify_describe_clone(char *buf, size_t len, const char *name, uint64_t flags,
    bool newtime)
{
	size_t	n;

	n = (size_t)snprintf(buf, len, "%s(", name);
	for (size_t i = 0; i < nitems(notify_clone_flags) && n < len; i++) {
		if ((flags & notify_clone_flags[i].flag) == 0)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s|", notify_clone_flags[i].name);
		flags &= ~notify_clone_flags[i].flag;
	}
	if (newtime && (flags & CLONE_NEWTIME) && n < len) {
		n += (size_t)snprintf(buf + n, len - n, "CLONE_NEWTIME|");
		flags &= ~(uint64_t)CLONE_NEWTIME;
	}
	if (n < len) {
		if (flags != 0 || buf[n - 1] == '(')
			snprintf(buf + n, len - n, "%#llx)", (unsigned long long)flags);
		else
			snprintf(buf + n - 1, len - n + 1, ")");
	}
}

static void
notify_describe_native(char *buf, size_t len, const char *name, const uint64_t *a)
{
	char	b1[24], b2[24], b3[24];

	if (strcmp(name, "ioctl") == 0) {
		uint32_t	 req = (uint32_t)a[1];
		const char	*rn = req == TIOCSTI ? "TIOCSTI" :
			    req == TIOCLINUX ? "TIOCLINUX" : NULL;

		if (rn != NULL && (a[1] >> 32) == 0)
			snprintf(buf, len, "ioctl(%d, %s)", (int)a[0], rn);
		else if (rn != NULL)
			snprintf(buf, len, "ioctl(%d, %s [%#llx])", (int)a[0], rn,
			    (unsigned long long)a[1]);
		else
			snprintf(buf, len, "ioctl(%d, %#llx)", (int)a[0],
			    (unsigned long long)a[1]);
	} else if (strcmp(name, "socket") == 0 || strcmp(name, "socketpair") == 0) {
		uint64_t	 fam = a[0], type = a[1] & 0xf;
		const char	*proto;

		if (fam == AF_NETLINK)
			proto = notify_lookup(notify_netlinks, nitems(notify_netlinks),
			    a[2], b3, sizeof b3);
		else
			proto = notify_lookup(NULL, 0, a[2] & 0xffffffff, b3, sizeof b3);
		snprintf(buf, len, "%s(%s, %s, %s)", name,
		    notify_lookup(notify_families, nitems(notify_families), fam, b1,
		    sizeof b1),
		    notify_lookup(notify_socktypes, nitems(notify_socktypes), type, b2,
		    sizeof b2), proto);
	} else if (strcmp(name, "unshare") == 0) {
		notify_describe_clone(buf, len, name, a[0], true);
	} else if (strcmp(name, "clone") == 0) {
		notify_describe_clone(buf, len, name, a[0], false);
	} else if (strcmp(name, "ptrace") == 0) {
		const char	*rq = a[0] == PTRACE_ATTACH ? "PTRACE_ATTACH" :
			    a[0] == PTRACE_SEIZE ? "PTRACE_SEIZE" :
			    a[0] == PTRACE_TRACEME ? "PTRACE_TRACEME" :
			    a[0] == PTRACE_PEEKDATA ? "PTRACE_PEEKDATA" :
			    a[0] == PTRACE_POKEDATA ? "PTRACE_POKEDATA" : NULL;

		if (rq == NULL)
			rq = notify_lookup(NULL, 0, a[0], b1, sizeof b1);
		snprintf(buf, len, "ptrace(%s, %d)", rq, (int)a[1]);
	} else if (strcmp(name, "process_vm_readv") == 0 ||
	    strcmp(name, "process_vm_writev") == 0 || strcmp(name, "setns") == 0 ||
	    strcmp(name, "pidfd_getfd") == 0) {
		snprintf(buf, len, "%s(%d, ...)", name, (int)a[0]);
	} else if (strcmp(name, "personality") == 0 || strcmp(name, "keyctl") == 0 ||
	    strcmp(name, "bpf") == 0 || strcmp(name, "seccomp") == 0 ||
	    strcmp(name, "reboot") == 0 || strcmp(name, "iopl") == 0) {
		snprintf(buf, len, "%s(%#llx, ...)", name, (unsigned long long)a[0]);
	} else {
		snprintf(buf, len, "%s(...)", name);
	}
}

/* The name we count under: "ptrace" natively, "i386:getpid" and
 * "x32:getpid" for the other ABIs. Returns an owned string. */
static char *
notify_name(uint32_t native, uint32_t arch, int nr)
{
	uint32_t	 tok = arch;
	const char	*abi = NULL;
	char		*sys, *name;

	if (arch == SCMP_ARCH_X86_64 && (nr & X32_SYSCALL_BIT) && nr != -1) {
		tok = SCMP_ARCH_X32;
		abi = "x32";
	} else if (arch == SCMP_ARCH_X86 && arch != native) {
		abi = "i386";
	} else if (arch != native) {
		abi = "foreign";
	}
	sys = seccomp_syscall_resolve_num_arch(tok, nr);
	if (sys == NULL && abi == NULL && filter_syscall_newer_name(nr) != NULL)
		sys = xstrdup(filter_syscall_newer_name(nr));
	if (sys == NULL)
		xasprintf(&sys, "syscall_%d", nr);
	if (abi == NULL)
		return (sys);
	xasprintf(&name, "%s:%s", abi, sys);
	free(sys);
	return (name);
}

void
notify_describe(char *buf, size_t len, uint32_t arch, int nr, const uint64_t args[6])
{
	uint32_t	native = seccomp_arch_native();
	autofree char	*name = notify_name(native, arch, nr);

	if (arch == native && !(arch == SCMP_ARCH_X86_64 && (nr & X32_SYSCALL_BIT)))
		notify_describe_native(buf, len, name, args);
	else
		snprintf(buf, len, "%s(...)", name);
}

static void
notify_emit(struct notify *n, const char *syscall, uint64_t count, const char *text)
{
	struct run_event	ev;

	if (n->r == NULL || n->r->on_event == NULL)
		return;
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_SYSCALL_DENIED;
	ev.t = n->r->t_start > 0 ? now_mono() - n->r->t_start : 0;
	ev.text = text;
	ev.syscall = syscall;
	ev.count = count;
	n->r->on_event(n->r, &ev);
}

static struct notify_sys *
notify_account(struct notify *n, uint32_t arch, int nr)
{
	struct notify_sys	*s;

	n->total++;
	for (size_t i = 0; i < n->nsys; i++) {
		s = &n->sys[i];
		if ((s->arch == arch && s->nr == nr) ||
		    (n->nsys == NOTIFY_MAX_SYS && i == n->nsys - 1)) {
			s->count++;
			return (s);
		}
	}
	n->sys = xreallocarray(n->sys, n->nsys + 1, sizeof *n->sys);
	s = &n->sys[n->nsys++];
	memset(s, 0, sizeof *s);
	s->arch = arch;
	s->nr = nr;
	/* The last slot counts everything new from then on. */
	s->name = n->nsys == NOTIFY_MAX_SYS ? xstrdup("other") :
	    notify_name(n->native, arch, nr);
	s->count = 1;
	return (s);
}

/* Reads up to len bytes at addr in pid's memory (what is mapped of it). */
static ssize_t
notify_peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec	 l = { buf, len }, r = { (void *)(uintptr_t)addr, len };

	return (process_vm_readv(pid, &l, 1, &r, 1, 0));
}

/* The path string at addr, made absolute against dirfd (AT_FDCWD: the
 * task's working directory) as the task sees it, and "." and ".." folded.
 * Returns an owned string or NULL. Symbolic links are not followed: a
 * record, not a decision. */
static char *
notify_path(pid_t pid, int dirfd, uint64_t addr)
{
	char		 buf[PATH_MAX], base[PATH_MAX], *full, *out;
	ssize_t		 n;
	size_t		 got = 0;

	/* Page by page: a path may end just before an unmapped page. */
	while (got < sizeof buf - 1) {
		size_t	chunk = 4096 - ((addr + got) & 4095);

		if (chunk > sizeof buf - 1 - got)
			chunk = sizeof buf - 1 - got;
		if ((n = notify_peek(pid, addr + got, buf + got, chunk)) <= 0)
			return (NULL);
		if (memchr(buf + got, '\0', (size_t)n) != NULL)
			break;
		got += (size_t)n;
	}
	buf[sizeof buf - 1] = '\0';
	if (buf[0] == '/')
		full = xstrdup(buf);
	else {
		autofree char	*link = dirfd == AT_FDCWD ?
		    xprintf("/proc/%ld/cwd", (long)pid) :
		    xprintf("/proc/%ld/fd/%d", (long)pid, dirfd);

		if ((n = readlink(link, base, sizeof base - 1)) <= 0 || base[0] != '/')
			return (NULL);
		base[n] = '\0';
		full = xprintf("%s/%s", base, buf);
	}
	out = path_fold(full);
	free(full);
	return (out);
}

/* The protect entry (or "the read-only workspace") path falls under in r's
 * profile, or NULL: the writes a read-only mount refuses in the workspace. */
static const char *
notify_protected(const struct run *r, const char *path)
{
	const struct profile	*p = r->profile;
	const char		*ws = r->ws_path, *rel;
	size_t			 wl;

	if (p == NULL || ws == NULL)
		return (NULL);
	wl = strlen(ws);
	if (strncmp(path, ws, wl) != 0 || (path[wl] != '/' && path[wl] != '\0'))
		return (NULL);
	if (p->workspace == WS_RO)
		return ("the read-only workspace");
	if (p->workspace != WS_BIND && p->workspace != WS_OVERLAY)
		return (NULL);
	rel = path[wl] == '/' ? path + wl + 1 : "";
	for (size_t i = 0; i < p->protect.n; i++) {
		const char	*e = p->protect.v[i];
		size_t		 el = strlen(e);

		if (el > 0 && e[el - 1] == '/') {
			/* A directory: itself and everything under it. */
			if (strncmp(rel, e, el - 1) == 0 &&
			    (rel[el - 1] == '/' || rel[el - 1] == '\0'))
				return (e);
		} else if (strcmp(rel, e) == 0)
			return (e);
	}
	return (NULL);
}

static void
notify_observed_event(struct notify *n, struct run_event *ev)
{
	if (n->r == NULL || n->r->on_event == NULL)
		return;
	if (n->nobserved == NOTIFY_MAX_OBSERVED) {
		struct run_event	note;

		memset(&note, 0, sizeof note);
		note.kind = EV_NOTE;
		note.text = "more refused writes and connections were tried; not "
		    "recorded one by one";
		note.t = n->r->t_start > 0 ? now_mono() - n->r->t_start : 0;
		n->r->on_event(n->r, &note);
	}
	if (n->nobserved++ >= NOTIFY_MAX_OBSERVED)
		return;
	ev->t = n->r->t_start > 0 ? now_mono() - n->r->t_start : 0;
	n->r->on_event(n->r, ev);
}

/* An open with write intent: a write to a protected path is recorded. */
static void
notify_observe_open(struct notify *n, pid_t pid, int dirfd, uint64_t addr)
{
	autofree char		*path = NULL, *text = NULL;
	const char		*why;
	struct run_event	 ev;

	if (n->r == NULL || (path = notify_path(pid, dirfd, addr)) == NULL ||
	    (why = notify_protected(n->r, path)) == NULL)
		return;
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_FILE_CHANGED;
	text = xprintf("write to %s refused: protected (%s)", path, why);
	ev.text = text;
	ev.path = path;
	ev.change = "refused";
	notify_observed_event(n, &ev);
}

/* A connect in an isolated sandbox: anything off its loopback fails. */
static void
notify_observe_connect(struct notify *n, pid_t pid, uint64_t addr, uint64_t len)
{
	struct sockaddr_storage	 ss;
	char			 a[INET6_ADDRSTRLEN];
	autofree char		*text = NULL;
	struct run_event	 ev;
	unsigned		 port;

	memset(&ss, 0, sizeof ss);
	if (len > sizeof ss)
		len = sizeof ss;
	if (len < sizeof(sa_family_t) || notify_peek(pid, addr, &ss, len) != (ssize_t)len)
		return;
	if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in	*in = (const void *)&ss;

		if ((ntohl(in->sin_addr.s_addr) >> 24) == 127)
			return;
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
		port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6	*in6 = (const void *)&ss;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		    in6->sin6_addr.s6_addr[12] == 127))
			return;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
		port = ntohs(in6->sin6_port);
	} else
		return;
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NET_CONN;
	/* Port 53: the resolver of the host's resolv.conf, asked for a name
	 * (which is in the query sent next, not here). */
	text = xprintf(strchr(a, ':') != NULL ? "connect to [%s]:%u refused: the "
	    "network is isolated%s" : "connect to %s:%u refused: the network is "
	    "isolated%s", a, port, port == 53 ? " (a DNS lookup)" : "");
	ev.text = text;
	ev.host = a;
	ev.addr = a;
	ev.port = port;
	ev.verdict = "refused";
	ev.rule = port == 53 ? "net = isolated (a DNS lookup)" : "net = isolated";
	notify_observed_event(n, &ev);
}

/* An observed call: look, then let it run. True when req was one. */
static bool
notify_observe(struct notify *n, const struct seccomp_notif *req)
{
	const __u64	*a = req->data.args;
	int		 nr = req->data.nr;
	pid_t		 pid = (pid_t)req->pid;

	if (req->data.arch != n->native || n->observe == 0)
		return (false);
	if ((n->observe & FILTER_OBSERVE_WRITE) && nr != -1 &&
	    (nr == n->nr_openat || nr == n->nr_openat2))
		notify_observe_open(n, pid, (int)a[0], a[1]);
	else if ((n->observe & FILTER_OBSERVE_WRITE) && nr != -1 &&
	    (nr == n->nr_open || nr == n->nr_creat))
		notify_observe_open(n, pid, AT_FDCWD, a[0]);
	else if ((n->observe & FILTER_OBSERVE_CONNECT) && nr != -1 && nr == n->nr_connect)
		notify_observe_connect(n, pid, a[1], a[2]);
	else
		return (false);
	memset(n->resp, 0, n->resp_size);
	n->resp->id = req->id;
	n->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	(void)ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp);
	return (true);
}

/* Bytes from addr to the end of its page, at most max: a read that stays
 * in one page either succeeds whole or fails (process_vm_readv does not
 * split an iovec element). */
static size_t
notify_in_page(uint64_t addr, size_t max)
{
	size_t	left = 4096 - (size_t)(addr & 4095);

	return (left < max ? left : max);
}

/* A NUL-terminated string of at most max bytes at addr in the task's
 * memory; NULL when it cannot be read. Reads page by page, so a string
 * that ends just before an unmapped page is still read. */
static char *
notify_read_str(pid_t pid, uint64_t addr, size_t max)
{
	char	*buf = xmalloc(max + 1);
	size_t	 got = 0;

	while (got < max) {
		size_t	 want = notify_in_page(addr + got, max - got);
		ssize_t	 n;
		char	*nul;

		n = process_vm_readv(pid, &(struct iovec){ buf + got, want }, 1,
		    &(struct iovec){ (void *)(uintptr_t)(addr + got), want }, 1, 0);
		if (n <= 0)
			break;
		if ((nul = memchr(buf + got, '\0', (size_t)n)) != NULL) {
			got = (size_t)(nul - buf);
			buf[got] = '\0';
			return (buf);
		}
		got += (size_t)n;
	}
	if (got == 0) {
		free(buf);
		return (NULL);
	}
	buf[got] = '\0';	/* cut at max */
	return (buf);
}

/* True when file, an absolute path, names nothing in the sandbox (seen
 * from its root): an execve of it fails with ENOENT, as execvp's and the
 * shells' tries along PATH do. *now is set when file was found there by
 * this look; a path found by an earlier one (the last NOTIFY_PRESENT,
 * such as the program a loop runs again and again) is not looked up
 * again here, but by the batch as before, since it may be gone. */
static bool
notify_absent(struct notify *n, const char *file, bool *now)
{
	char	**slot;

	*now = false;
	if (file == NULL || file[0] != '/' || n->rootfd == -1)
		return (false);
	for (size_t i = 0; i < n->npresent && i < NOTIFY_PRESENT; i++)
		if (strcmp(n->present[i], file) == 0)
			return (false);
	if (faccessat(n->rootfd, file[1] != '\0' ? file + 1 : ".", F_OK, 0) == -1 &&
	    (errno == ENOENT || errno == ENOTDIR))
		return (true);
	slot = &n->present[n->npresent++ % NOTIFY_PRESENT];
	free(*slot);
	*slot = xstrdup(file);
	*now = true;
	return (false);
}

/* The path and arguments of an execve the task waits in, with as few
 * reads of its memory as the layout allows: the path's first bytes and
 * the argv array in one process_vm_readv, every argument in a second
 * (the pages the strings span when they lie within NOTIFY_EXEC_SPAN,
 * else each string within its page); what does not end there is read
 * page by page.
 * Returns the path (NULL when the memory cannot be read) and fills argv
 * (at most NOTIFY_EXEC_ARGS, NOTIFY_EXEC_BYTES in all). With try_path, an
 * absolute path that names nothing sets *absent and reads no argument;
 * one found there now sets *present (notify_absent). */
static char *
notify_read_exec(struct notify *n, pid_t pid, uint64_t a_path, uint64_t a_argv,
    bool try_path, char **argv, size_t *nargs, size_t *bytes, bool *absent, bool *present)
{
	char		 head[256], *file = NULL, *arena = NULL, *nul;
	uint64_t	 ptrs[NOTIFY_EXEC_ARGS + 1], lo, hi, end;
	struct iovec	 l[NOTIFY_EXEC_ARGS], r[NOTIFY_EXEC_ARGS];
	size_t		 hl = notify_in_page(a_path, sizeof head), np, nread, off;
	size_t		 al = notify_in_page(a_argv, sizeof ptrs) & ~(size_t)7;
	ssize_t		 k;

	*nargs = *bytes = 0;
	k = process_vm_readv(pid, (struct iovec[]){ { head, hl }, { ptrs, al } }, al > 0 ? 2 : 1,
	    (struct iovec[]){ { (void *)(uintptr_t)a_path, hl }, { (void *)(uintptr_t)a_argv, al } },
	    al > 0 ? 2 : 1, 0);
	if (k < (ssize_t)hl)
		return (notify_read_str(pid, a_path, PATH_MAX));
	file = (nul = memchr(head, '\0', hl)) != NULL ? xstrndup(head, (size_t)(nul - head)) :
	    notify_read_str(pid, a_path, PATH_MAX);
	/* A try along PATH: the arguments are not needed. */
	if (try_path && (*absent = notify_absent(n, file, present)))
		return (file);
	np = (size_t)(k - (ssize_t)hl) / sizeof ptrs[0];
	/* An argv array that runs on into the next page. */
	while (np < NOTIFY_EXEC_ARGS + 1 && (np == 0 || ptrs[np - 1] != 0)) {
		size_t	want = notify_in_page(a_argv + np * 8, (NOTIFY_EXEC_ARGS + 1 - np) * 8) &
			    ~(size_t)7;

		if (want == 0 || (k = process_vm_readv(pid, &(struct iovec){ ptrs + np, want }, 1,
		    &(struct iovec){ (void *)(uintptr_t)(a_argv + np * 8), want }, 1, 0)) <= 0)
			break;
		np += (size_t)k / 8;
	}
	for (nread = 0; nread < np && nread < NOTIFY_EXEC_ARGS && ptrs[nread] != 0; nread++)
		;
	if (nread == 0)
		return (file);
	/* Where each argument's bytes were read (avail of them; 0: not). */
	lo = hi = ptrs[0];
	for (size_t i = 1; i < nread; i++) {
		lo = MIN(lo, ptrs[i]);
		hi = MAX(hi, ptrs[i]);
	}
	end = hi + notify_in_page(hi, NOTIFY_EXEC_ARG_MAX);
	if (end > lo && end - lo <= NOTIFY_EXEC_SPAN) {
		/* The strings lie together, as a shell's or a compiler's do:
		 * one read of the pages they span (a page per remote element,
		 * so that an unmapped one ends the read there) instead of an
		 * element per string, each of which the kernel pins apart. */
		size_t	nr = 0, total = (size_t)(end - lo);

		arena = xmalloc(total);
		for (uint64_t a = lo; a < end; nr++) {
			size_t	len = notify_in_page(a, (size_t)(end - a));

			r[nr] = (struct iovec){ (void *)(uintptr_t)a, len };
			a += len;
		}
		k = process_vm_readv(pid, &(struct iovec){ arena, total }, 1, r, nr, 0);
		for (size_t i = 0; i < nread; i++) {
			size_t	o = (size_t)(ptrs[i] - lo);

			l[i].iov_base = arena + o;
			l[i].iov_len = k > 0 && o < (size_t)k ?
			    MIN((size_t)k - o, NOTIFY_EXEC_ARG_MAX) : 0;
		}
	} else {
		arena = xmalloc(nread * NOTIFY_EXEC_ARG_MAX);
		for (size_t i = 0; i < nread; i++) {
			l[i] = (struct iovec){ arena + i * NOTIFY_EXEC_ARG_MAX,
			    notify_in_page(ptrs[i], NOTIFY_EXEC_ARG_MAX) };
			r[i] = (struct iovec){ (void *)(uintptr_t)ptrs[i], l[i].iov_len };
		}
		k = process_vm_readv(pid, l, nread, r, nread, 0);
		/* Each element was read whole, or none after it. */
		off = 0;
		for (size_t i = 0; i < nread; i++) {
			off += l[i].iov_len;
			if (k <= 0 || off > (size_t)k)
				l[i].iov_len = 0;
		}
	}
	for (size_t i = 0; i < nread && *bytes < NOTIFY_EXEC_BYTES; i++) {
		char	*s = NULL;
		size_t	 len = l[i].iov_len;

		if (len > 0) {
			if ((nul = memchr(l[i].iov_base, '\0', len)) != NULL)
				s = xstrndup(l[i].iov_base, (size_t)(nul - (char *)l[i].iov_base));
			else if (len == NOTIFY_EXEC_ARG_MAX)
				s = xstrndup(l[i].iov_base, len);	/* cut at the max */
		}
		/* What ran on past what was read: page by page. */
		if (s == NULL && (s = notify_read_str(pid, ptrs[i], NOTIFY_EXEC_ARG_MAX)) == NULL)
			break;
		*bytes += strlen(s) + 1;
		argv[(*nargs)++] = s;
	}
	free(arena);
	return (file);
}

/* The parent pid from /proc/PID/stat; 0 if unknown. */
static pid_t
notify_ppid_stat(pid_t pid)
{
	char		 path[64], buf[512], *p;
	ssize_t		 n;
	autofd int	 fd = -1;
	int		 ppid;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (n = read(fd, buf, sizeof buf - 1)) <= 0)
		return (0);
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ')
		return (0);
	for (ppid = 0, p += 4; *p >= '0' && *p <= '9' && ppid < 1 << 22; p++)
		ppid = ppid * 10 + (*p - '0');
	return ((pid_t)ppid);
}

/* PIDFD_GET_INFO (Linux 6.13), where the headers predate it. */
struct notify_pidfd_info {
	uint64_t	 mask;
	uint64_t	 cgroupid;
	uint32_t	 pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	uint32_t	 spare0[1];
};
#define NOTIFY_PIDFD_GET_INFO	_IOWR(0xFF, 11, struct notify_pidfd_info)
#define NOTIFY_PIDFD_INFO_PID	1ULL

/* The parent pid of a pid; 0 if unknown. A pidfd's PIDFD_GET_INFO first:
 * the kernel fills in a few fields there, where /proc/PID/stat formats
 * fifty. */
static pid_t
notify_ppid(pid_t pid)
{
	static bool	 no_info;

	if (!no_info) {
		struct notify_pidfd_info	 info = { .mask = NOTIFY_PIDFD_INFO_PID };
		autofd int			 pfd = (int)syscall(SYS_pidfd_open, pid, 0);

		if (pfd >= 0 && ioctl(pfd, NOTIFY_PIDFD_GET_INFO, &info) == 0)
			return ((pid_t)info.ppid);
		if (pfd >= 0 && (errno == ENOTTY || errno == EINVAL))
			no_info = true;		/* an older kernel: stat from now on */
	}
	return (notify_ppid_stat(pid));
}

/* The pid of a task in its innermost pid namespace (the last field of
 * NSpid in /proc/PID/status); 0 if unknown. */
static pid_t
notify_nspid(pid_t pid)
{
	char		 path[64], buf[2048], *p, *e;
	ssize_t		 n;
	autofd int	 fd = -1;
	long		 v = 0;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (n = read(fd, buf, sizeof buf - 1)) <= 0)
		return (0);
	buf[n] = '\0';
	if ((p = strstr(buf, "\nNSpid:")) == NULL)
		return (0);
	p += 7;
	if ((e = strchr(p, '\n')) != NULL)
		*e = '\0';
	while ((e = strpbrk(p, " \t")) != NULL && e[strspn(e, " \t")] != '\0')
		p = e + strspn(e, " \t");
	v = strtol(p, NULL, 10);
	return (v > 0 && v < 1 << 22 ? (pid_t)v : 0);
}

/* Newest first: the parent looked for has most often just exec'd. */
static bool
notify_seen(const struct notify *n, pid_t pid)
{
	size_t	have = MIN(n->nseen, (size_t)NOTIFY_SEEN_MAX);

	if (pid == n->root)
		return (true);
	for (size_t i = 1; i <= have; i++)
		if (n->seen[(n->nseen - i) % NOTIFY_SEEN_MAX] == pid)
			return (true);
	return (false);
}

/* The parent on the trail, from the task's own parent p: the nearest
 * ancestor that exec'd before (a subshell that only forked is passed
 * over), else the sandbox's init. Run while the task waits: an ancestor
 * that only waited for the exec (a vfork) may be gone right after it. */
static pid_t
notify_trail_parent(struct notify *n, pid_t p)
{
	pid_t	first = p;

	for (int depth = 0; p > 1 && depth < 64; depth++) {
		if (notify_seen(n, p))
			return (p);
		p = notify_ppid(p);
	}
	return (n->root > 0 ? n->root : first);
}

/* The answer to an exec: let it go on. False when the call no longer
 * waited (ENOENT: the task was killed meanwhile). */
static bool
notify_continue(struct notify *n, uint64_t id)
{
	memset(n->resp, 0, n->resp_size);
	n->resp->id = id;
	n->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	return (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp) == 0);
}

static void	notify_on_later(struct loop *, int, uint32_t, void *);

/* An execve or execveat: read what it runs, its cwd and its parent (from
 * /proc/PID, opened once), check the task is still the caller, let it
 * continue, then decide whether it was a program or a try along PATH, and
 * report it. Everything before the answer delays the task; the rest runs
 * while it execs. */
static void
notify_exec(struct notify *n, const struct seccomp_notif *req)
{
	bool			 at = req->data.nr != SYS_execve;
	uint64_t		 a_path = at ? req->data.args[1] : req->data.args[0];
	uint64_t		 a_argv = at ? req->data.args[2] : req->data.args[1];
	char			 path[64], cwd[PATH_MAX], *argv[NOTIFY_EXEC_ARGS + 2];
	autofree char		*file = NULL;
	size_t			 nargs = 0, bytes = 0;
	ssize_t			 k;
	pid_t			 pid = (pid_t)req->pid, parent, nspid;
	bool			 fallback = false, absent = false, present = false;

	file = notify_read_exec(n, pid, a_path, a_argv, !at, argv, &nargs, &bytes, &absent,
	    &present);
	/* A try along PATH whose file is not there fails in the kernel: let
	 * it go at once, unrecorded (three in four of a C build's execs, as
	 * gcc runs as through execvp). A file made between this look and the
	 * kernel's runs unrecorded, as memory changed under us is: a record,
	 * not a gate. */
	if (absent) {
		notify_continue(n, req->id);
		return;
	}
	/* The command's own first exec comes from a copy of init, which is
	 * not dumpable and whose memory belongs to the host's user namespace:
	 * an unprivileged supervisor cannot read it. What it runs is what moat
	 * asked init to run; its tries along PATH are recorded once. */
	if (file == NULL && n->r != NULL && n->r->argv != NULL) {
		if (notify_seen(n, pid) && pid != n->root) {
			notify_continue(n, req->id);
			goto out;
		}
		fallback = true;
		file = xstrdup(n->r->argv[0]);
		for (char **a = n->r->argv; *a != NULL && nargs < NOTIFY_EXEC_ARGS &&
		    bytes < NOTIFY_EXEC_BYTES; a++) {
			argv[nargs++] = xstrndup(*a, NOTIFY_EXEC_ARG_MAX);
			bytes += strlen(argv[nargs - 1]) + 1;
		}
	}
	if (n->rootfd == -1 && file != NULL && !fallback) {
		snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
		n->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		/* The batch may be looked at after the sandbox ended: its
		 * mounts stay while the namespace has a reference. */
		snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
		n->mntnsfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	/* The working directory and the parent, while the task waits: a
	 * program that execs and exits at once (the end of a pipeline) would
	 * be gone before we looked. By its pid: the task cannot go and its
	 * pid be reused while it waits here unless a signal kills it, which
	 * the check of the notification's id below sees. */
	snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
	if ((k = readlink(path, cwd, sizeof cwd - 1)) < 0)
		k = 0;
	cwd[k] = '\0';
	parent = notify_ppid(pid);
	/* A child of init is a command's own process: its pid inside is what
	 * a session's client knows it by (trail.c). */
	nspid = parent == n->root && n->root > 0 ? notify_nspid(pid) : 0;
	/* The parent on the trail too, while the ancestors surely live: a
	 * shell's subshell that vforked the task waits in the kernel until
	 * the exec, and may be gone a moment after we answer. */
	parent = notify_trail_parent(n, parent);
	/* The answer taken shows the call still waited, so the pid was the
	 * caller's all along (SECCOMP_IOCTL_NOTIF_ID_VALID would say the
	 * same one call earlier): what was read is the task's. */
	if (!notify_continue(n, req->id))
		goto out;
	/* A PATH try's pid is the program's, so it may be seen now. */
	if (n->nseen == 0 || n->seen[(n->nseen - 1) % NOTIFY_SEEN_MAX] != pid)
		n->seen[n->nseen++ % NOTIFY_SEEN_MAX] = pid;
	/* The rest (PATH tries dropped, the event made, scored and written)
	 * waits for a batch: with SYNC_WAKE_UP the task was woken on this
	 * CPU and runs only once we sleep, so what we do now delays it. */
	{
		struct notify_later	*x;

		if (n->nlater == NOTIFY_LATER_MAX)
			notify_flush(n);
		x = &n->later[n->nlater++];
		x->file = TAKE_PTR(file);
		memcpy(x->argv, argv, nargs * sizeof argv[0]);
		x->nargs = nargs;
		nargs = 0;	/* x owns them */
		x->bytes = bytes;
		x->cwd = xstrdup(cwd);
		x->pid = pid;
		x->parent = parent;
		x->nspid = nspid;
		x->t = n->r != NULL && n->r->t_start > 0 ? now_mono() - n->r->t_start : 0;
		/* A path found there above is a program. */
		x->try_path = !at && !fallback && !present;
		/* One timer for every batch, set again for each. */
		if (!n->later_armed && n->laterfd != -1)
			n->later_armed = loop_timer_set(n->laterfd, NOTIFY_LATER_WAIT, 0) == 0;
		else if (n->laterfd == -1 && n->loop != NULL) {
			struct merr	e;

			n->laterfd = loop_timer(n->loop, NOTIFY_LATER_WAIT, 0,
			    notify_on_later, n, &e);
			n->later_armed = n->laterfd != -1;
		}
		if (!n->later_armed)
			notify_flush(n);
	}
out:
	for (size_t i = 0; i < nargs; i++)
		free(argv[i]);
}

/* One exec let go earlier: a program run, or a try along PATH (dropped);
 * reported as an EV_EXEC event. */
static void
notify_report(struct notify *n, struct notify_later *x)
{
	autofree char		*text = NULL;
	struct run_event	 ev;
	size_t			 tl;

	/* execvp and the shells try each directory of PATH: a file that is
	 * not there (seen from the sandbox's root and the task's cwd) is a
	 * try that fails with ENOENT, not a program run. */
	if (x->file != NULL && x->try_path && n->rootfd != -1) {
		autofree char	*rel = x->file[0] == '/' ? xstrdup(x->file + 1) :
		    xprintf("%s/%s", x->cwd[0] == '/' ? x->cwd + 1 : ".", x->file);

		if (faccessat(n->rootfd, *rel != '\0' ? rel : ".", F_OK, 0) == -1 &&
		    (errno == ENOENT || errno == ENOTDIR))
			return;
	}
	n->execs++;
	x->argv[x->nargs] = NULL;
	/* "exec FILE: ARG ARG...", copied in: x->bytes counts each
	 * argument's bytes and one more, the room for its blank. */
	{
		const char	*f = x->file != NULL ? x->file : "?";
		size_t		 fl = strlen(f), off;

		tl = 7 + fl + x->bytes + 1;
		text = xmalloc(tl);
		memcpy(text, "exec ", 5);
		memcpy(text + 5, f, fl);
		text[5 + fl] = ':';
		off = 6 + fl;
		for (size_t i = 0; i < x->nargs; i++) {
			size_t	al = strlen(x->argv[i]);

			if (off + 1 + al >= tl)
				break;
			text[off++] = ' ';
			memcpy(text + off, x->argv[i], al);
			off += al;
		}
		text[off] = '\0';
	}
	if (n->r != NULL && n->r->on_event != NULL) {
		memset(&ev, 0, sizeof ev);
		ev.kind = EV_EXEC;
		ev.t = x->t;
		ev.text = text;
		ev.path = x->file != NULL ? x->file : "?";
		ev.pid = (int)x->pid;
		ev.ppid = (int)x->parent;
		ev.nspid = (int)x->nspid;
		ev.cwd = x->cwd;
		ev.argv = x->argv;
		ev.risk = -1;
		n->r->on_event(n->r, &ev);
	}
}

void
notify_flush(struct notify *n)
{
	if (n == NULL)
		return;
	/* Disarmed, which also drops an expiry the loop has not read. */
	if (n->later_armed) {
		(void)loop_timer_set(n->laterfd, 0, 0);
		n->later_armed = false;
	}
	for (size_t i = 0; i < n->nlater; i++) {
		struct notify_later	*x = &n->later[i];

		notify_report(n, x);
		free(x->file);
		free(x->cwd);
		for (size_t j = 0; j < x->nargs; j++)
			free(x->argv[j]);
	}
	n->nlater = 0;
}

static void
notify_on_later(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	notify_flush(arg);
}

/* Receives one waiting call, answers it, reports it. Only call it when the
 * listener is readable: the receive ioctl blocks. */
static void
notify_handle(struct notify *n)
{
	struct seccomp_notif	*req = n->req;
	struct notify_sys	*s;
	uint64_t		 args[6];
	uint32_t		 arch;
	int			 nr, err;
	char			 desc[160], text[200];

	memset(req, 0, n->req_size);
	if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_RECV, req) == -1)
		return;		/* ENOENT: the task died or was signalled meanwhile */
	if (notify_observe(n, req))
		return;
	arch = req->data.arch;
	nr = req->data.nr;
	memcpy(args, req->data.args, sizeof args);
	/* connect() is here for transparent interception, not denied. */
	if (n->tproxy != NULL && arch == n->native && nr == SYS_connect) {
		memset(n->resp, 0, n->resp_size);
		notify_connect(n->fd, req, n->resp, n->tproxy);
		return;
	}
	if (n->trail && arch == n->native && (nr == SYS_execve || nr == SYS_execveat)) {
		notify_exec(n, req);
		return;
	}

	/* Another ABI, and clone3 (so that glibc falls back to clone), get
	 * ENOSYS; everything else our filter denies gets EPERM. */
	err = EPERM;
	if (arch != n->native || (arch == SCMP_ARCH_X86_64 && (nr & X32_SYSCALL_BIT)))
		err = ENOSYS;
#ifdef SYS_clone3
	else if (nr == SYS_clone3)
		err = ENOSYS;
#endif
	memset(n->resp, 0, n->resp_size);
	n->resp->id = req->id;
	n->resp->error = -err;
	n->resp->val = 0;
	n->resp->flags = 0;
	/* ENOENT: the task is gone; nothing else can go wrong that we could fix. */
	(void)ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp);

	s = notify_account(n, arch, nr);
	if (s->count > NOTIFY_REPORT_EACH || strcmp(s->name, "other") == 0 ||
	    n->singles >= NOTIFY_MAX_SINGLE)
		return;
	n->singles++;
	s->reported++;
	notify_describe(desc, sizeof desc, arch, nr, args);
	if (s->count == NOTIFY_REPORT_EACH)
		snprintf(text, sizeof text, "denied %s; further %s calls are counted",
		    desc, s->name);
	else
		snprintf(text, sizeof text, "denied %s", desc);
	notify_emit(n, s->name, 1, text);
}

static bool
notify_readable(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
}

static void
notify_unregister(struct notify *n)
{
	if (n->direct)
		loop_direct(n->loop, -1, NULL, NULL);
	else if (n->registered)
		loop_del(n->loop, n->fd);
	n->registered = n->direct = false;
}

static void
notify_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct notify	*n = arg;

	if (events & EPOLLIN) {
		notify_handle(n);
		return;
	}
	/* EPOLLHUP: no task uses the filter any more. Level-triggered, so it
	 * must leave the loop or it would spin. */
	if (events & (EPOLLHUP | EPOLLERR))
		notify_unregister(n);
}

static void
notify_free(struct notify *n)
{
	for (size_t i = 0; i < n->nsys; i++)
		free(n->sys[i].name);
	free(n->sys);
	free(n->seen);
	for (size_t i = 0; i < NOTIFY_PRESENT; i++)
		free(n->present[i]);
	if (n->rootfd != -1)
		close(n->rootfd);
	if (n->mntnsfd != -1)
		close(n->mntnsfd);
	if (n->laterfd != -1) {
		loop_del(n->loop, n->laterfd);
		close(n->laterfd);
	}
	free(n->req);
	free(n->resp);
	if (n->fd != -1)
		close(n->fd);
	free(n);
}

struct notify *
notify_start(struct run *r, struct loop *l, int listener, struct merr *e)
{
	struct notify			*n = xcalloc(1, sizeof *n);
	struct seccomp_notif_sizes	 sz;

	n->r = r;
	n->loop = l;
	n->fd = listener;
	n->rootfd = -1;
	n->mntnsfd = -1;
	n->laterfd = -1;
	n->native = seccomp_arch_native();
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) == -1) {
		merr_errno(e, "seccomp(SECCOMP_GET_NOTIF_SIZES)");
		notify_free(n);
		return (NULL);
	}
	/* The kernel's structs may be larger than our headers' (newer fields). */
	n->req_size = MAX(sz.seccomp_notif, sizeof *n->req);
	n->resp_size = MAX(sz.seccomp_notif_resp, sizeof *n->resp);
	n->req = xcalloc(1, n->req_size);
	n->resp = xcalloc(1, n->resp_size);
	if (loop_add(l, listener, EPOLLIN, notify_cb, n, e) == -1) {
		merr_prefix(e, "seccomp listener");
		notify_free(n);
		return (NULL);
	}
	n->registered = true;
	return (n);
}

void
notify_stop(struct notify *n)
{
	char		text[200];
	unsigned	totals = 0;
	uint64_t	rest = 0;
	size_t		nrest = 0;

	if (n == NULL)
		return;
	/* Calls that are waiting now would otherwise get ENOSYS when the
	 * listener closes; answer them as the filter means. */
	while (n->fd != -1 && notify_readable(n->fd))
		notify_handle(n);
	notify_flush(n);
	for (size_t i = 0; i < n->nsys; i++) {
		struct notify_sys	*s = &n->sys[i];

		if (s->count <= s->reported)
			continue;
		if (totals == NOTIFY_MAX_TOTALS) {
			rest += s->count - s->reported;
			nrest++;
			continue;
		}
		totals++;
		snprintf(text, sizeof text, "denied %s %llu more times (%llu in all)",
		    s->name, (unsigned long long)(s->count - s->reported),
		    (unsigned long long)s->count);
		notify_emit(n, s->name, s->count - s->reported, text);
		s->reported = s->count;
	}
	if (rest > 0) {
		snprintf(text, sizeof text, "denied %llu more calls of at least %zu other syscalls",
		    (unsigned long long)rest, nrest);
		notify_emit(n, "other", rest, text);
	}
	notify_unregister(n);
	notify_free(n);
}

void
notify_observe_calls(struct notify *n, unsigned flags, const struct profile *p)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} calls[] = {
		{ "open", offsetof(struct notify, nr_open) },
		{ "openat", offsetof(struct notify, nr_openat) },
		{ "creat", offsetof(struct notify, nr_creat) },
		{ "openat2", offsetof(struct notify, nr_openat2) },
		{ "connect", offsetof(struct notify, nr_connect) },
	};

	n->observe = flags & (FILTER_OBSERVE_WRITE | FILTER_OBSERVE_CONNECT);
	/* -1 (no such call here, or denied by name: answered as denied). */
	for (size_t i = 0; i < nitems(calls); i++) {
		int	nr = filter_syscall_nr(calls[i].name);

		*(int *)(void *)((char *)n + calls[i].off) =
		    nr == __NR_SCMP_ERROR || !filter_observed(p, calls[i].name) ? -1 : nr;
	}
}

void
notify_set_connect(struct notify *n, struct proxy *p)
{
	n->tproxy = p;
}

void
notify_trail(struct notify *n, pid_t root)
{
	n->trail = true;
	n->root = root;
	if (n->seen == NULL)
		n->seen = xcalloc(NOTIFY_SEEN_MAX, sizeof *n->seen);
	/* The task waits on every exec until we answer: with this flag
	 * (Linux 6.6) the kernel hands the CPU from it to us and back instead
	 * of waking us on whatever CPU is free, and the task again after. An
	 * older kernel refuses it and the trail works as before. */
	(void)ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	/* That hand-off reaches a poll(2) sleeper but not an epoll one:
	 * epoll passes the wake-up on as an ordinary one, which the
	 * scheduler sends to another CPU, idle, and on a virtual machine
	 * slow to wake (0.13 ms per exec seen, where the answer takes 0.02).
	 * So the loop polls the listener directly. */
	if (n->registered && !n->direct) {
		loop_del(n->loop, n->fd);
		n->registered = false;
		loop_direct(n->loop, n->fd, notify_cb, n);
		n->direct = true;
	}
}

uint64_t
notify_execs(struct notify *n)
{
	notify_flush(n);
	return (n != NULL ? n->execs : 0);
}

void
notify_set_run(struct notify *n, struct run *r)
{
	notify_flush(n);	/* the execs so far were the last command's */
	n->r = r;
}

uint64_t
notify_total(const struct notify *n)
{
	return (n->total);
}

uint64_t
notify_count(const struct notify *n, const char *syscall)
{
	for (size_t i = 0; i < n->nsys; i++)
		if (strcmp(n->sys[i].name, syscall) == 0)
			return (n->sys[i].count);
	return (0);
}
