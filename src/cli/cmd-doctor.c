/* cmd-doctor.c: "moat doctor [--json]": which layers of isolation this
 * machine allows for the calling user, why a layer is not available and how
 * to fix it, and a verdict (exit 0: moat can sandbox here, 1: it cannot).
 *
 * Front end process. Every probe that could change the process (unshare,
 * mounts, seccomp filters, capability drops) runs in a forked child, in its
 * own process group, killed after DOCTOR_TIMEOUT seconds; the child reports
 * one line through a pipe. The doctor process itself only reads files. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "network/tls.h"
#include "base/cov.h"
#include "profile/profile.h"
#include "sandbox/cg.h"
#include "sandbox/notify-connect.h"
#include "cmd.h"
#include "base/util.h"

#define DOCTOR_TIMEOUT	2.0	/* seconds per probe */
#define DOCTOR_MAX	32

enum doctor_status {
	DOCTOR_OK,
	DOCTOR_WARN,		/* works, but a layer is weaker or a feature is off */
	DOCTOR_MISSING,		/* not available; when required, moat cannot sandbox */
};

struct doctor_check {
	const char		*name;
	enum doctor_status	 status;
	bool			 required;	/* missing => moat cannot sandbox */
	char			 detail[512];
	char			 fix[640];
};

struct doctor {
	bool			 root;		/* euid 0: moat runs without a user namespace */
	uid_t			 uid;
	gid_t			 gid;
	bool			 userns_ok;	/* this user can create a user namespace */
	struct doctor_check	 checks[DOCTOR_MAX];
	size_t			 n;
};

/* What a probe child reports: a line of text and an exit status. */
struct probe {
	int			 fd;		/* write end of the report pipe */
	const struct doctor	*d;
	unsigned long		 arg;		/* e.g. the CLONE_NEW* flag to try */
	char			 msg[400];
};

enum probe_result {
	PROBE_OK,
	PROBE_FAILED,
	PROBE_TIMEOUT,		/* killed after DOCTOR_TIMEOUT, or died of a signal */
};

static struct doctor_check *
doctor_add(struct doctor *d, const char *name, bool required)
{
	struct doctor_check	*c = &d->checks[d->n++];

	memset(c, 0, sizeof *c);
	c->name = name;
	c->required = required;
	return (c);
}

static void __attribute__((format(printf, 3, 4)))
doctor_set(struct doctor_check *c, enum doctor_status st, const char *fmt, ...)
{
	va_list	ap;

	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof c->detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
doctor_fix(struct doctor_check *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->fix, sizeof c->fix, fmt, ap);
	va_end(ap);
}

static const char *
doctor_status_name(enum doctor_status st)
{
	switch (st) {
	case DOCTOR_OK:
		return ("ok");
	case DOCTOR_WARN:
		return ("warn");
	case DOCTOR_MISSING:
		break;
	}
	return ("missing");
}

/* --- probes: all of this runs in the forked child */

static int __attribute__((format(printf, 2, 3)))
probe_say(struct probe *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof p->msg, fmt, ap);
	va_end(ap);
	return (0);
}

static int __attribute__((format(printf, 2, 3)))
probe_fail(struct probe *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof p->msg, fmt, ap);
	va_end(ap);
	return (1);
}

/* Appends ": strerror(errno)"; errno is read first. */
static int __attribute__((format(printf, 2, 3)))
probe_fail_errno(struct probe *p, const char *fmt, ...)
{
	int	err = errno;
	size_t	n;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof p->msg, fmt, ap);
	va_end(ap);
	n = strlen(p->msg);
	snprintf(p->msg + n, sizeof p->msg - n, ": %s", strerror(err));
	return (1);
}

static void __attribute__((noreturn))
probe_exit(struct probe *p, int rc)
{
	if (p->msg[0] != '\0')
		(void)!write(p->fd, p->msg, strlen(p->msg));
	cov_dump();
	_exit(rc);
}

static int
probe_write(struct probe *p, const char *path, const char *s)
{
	struct merr	e;

	if (write_file_at(AT_FDCWD, path, s, &e) == -1) {
		errno = e.err;
		return (probe_fail_errno(p, "write %s", path));
	}
	return (0);
}

/* As spawn.c does: the sandbox side unshares a user namespace and the side
 * outside writes its maps (root: every id mapped 1:1, which only the parent
 * namespace may write; others: their own uid and gid, setgroups denied).
 * Returns 0 in the process inside; the outside one only waits for it and
 * exits with its status. */
static int
probe_enter_userns(struct probe *p)
{
	char	path[64], map[64], c = 0;
	int	ready[2], go[2], st;
	pid_t	pid;

	if (pipe2(ready, O_CLOEXEC) == -1 || pipe2(go, O_CLOEXEC) == -1)
		return (probe_fail_errno(p, "pipe"));
	if ((pid = fork()) == -1)
		return (probe_fail_errno(p, "fork"));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(ready[0]);
		close(go[1]);
		if (unshare(CLONE_NEWUSER) == -1)
			probe_exit(p, probe_fail_errno(p, "unshare(CLONE_NEWUSER)"));
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1 || c != 'g')
			_exit(1);	/* the outside side says why */
		close(ready[1]);
		close(go[0]);
		return (0);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) == 1) {
		if (p->d->root) {
			snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
			if (probe_write(p, path, "0 0 4294967295\n") != 0)
				goto fail;
			snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
			if (probe_write(p, path, "0 0 4294967295\n") != 0)
				goto fail;
		} else {
			/* gid_map is refused until setgroups is denied (since 3.19). */
			snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
			if (probe_write(p, path, "deny") != 0)
				goto fail;
			snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
			snprintf(map, sizeof map, "%u %u 1\n", (unsigned)p->d->uid, (unsigned)p->d->uid);
			if (probe_write(p, path, map) != 0)
				goto fail;
			snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
			snprintf(map, sizeof map, "%u %u 1\n", (unsigned)p->d->gid, (unsigned)p->d->gid);
			if (probe_write(p, path, map) != 0)
				goto fail;
		}
		if (write(go[1], "g", 1) != 1)
			goto fail;
	}
	close(go[1]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			_exit(1);
	if (WIFSIGNALED(st))
		probe_exit(p, probe_fail(p, "probe died of signal %d", WTERMSIG(st)));
	cov_dump();
	_exit(WEXITSTATUS(st));	/* its message went down the pipe */
fail:
	kill(pid, SIGKILL);
	probe_exit(p, 1);
}

/* Forks a process that dies with its parent; the pipe stays shared. */
static pid_t
probe_fork(void)
{
	pid_t	pid = fork();

	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	return (pid);
}

/* Waits for a grandchild and returns its exit status; its message, if any,
 * went down the pipe already. */
static int
probe_wait(struct probe *p, pid_t pid)
{
	int	st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return (probe_fail_errno(p, "waitpid"));
	if (WIFSIGNALED(st))
		return (probe_fail(p, "probe died of signal %d", WTERMSIG(st)));
	return (WEXITSTATUS(st));
}

static int
probe_userns(struct probe *p)
{
	if (probe_enter_userns(p) != 0)
		return (1);
	if (getuid() != p->d->uid || getgid() != p->d->gid)
		return (probe_fail(p, "uid_map written but uid is %u", (unsigned)getuid()));
	if (p->d->root)
		return (probe_say(p, "unshare(CLONE_NEWUSER) works; as root, moat maps every id 1:1 "
		    "and capabilities exist only inside it"));
	return (probe_say(p, "unshare(CLONE_NEWUSER) works, uid %u and gid %u map to themselves",
	    (unsigned)p->d->uid, (unsigned)p->d->gid));
}

static int
probe_lo_up(struct probe *p)
{
	struct ifreq	ifr;
	autofd int	fd = -1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (probe_fail_errno(p, "socket in the new netns"));
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1)
		return (probe_fail_errno(p, "SIOCGIFFLAGS lo"));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) == -1)
		return (probe_fail_errno(p, "bring up lo in the new netns"));
	return (0);
}

/* One namespace (p->arg), inside the user namespace when not root. */
static int
probe_ns(struct probe *p)
{
	char	flag[64];
	pid_t	pid;

	/* p->msg holds the flag's name on entry; it is about to be reused. */
	snprintf(flag, sizeof flag, "%.63s", p->msg);
	if (probe_enter_userns(p) != 0)
		return (1);
	if (unshare((int)p->arg) == -1)
		return (probe_fail_errno(p, "unshare(%s)", flag));
	if (p->arg == CLONE_NEWNET && probe_lo_up(p) != 0)
		return (1);
	if (p->arg == CLONE_NEWPID) {
		/* The first child is pid 1 of the new namespace. */
		if ((pid = probe_fork()) == -1)
			return (probe_fail_errno(p, "fork into the new pid namespace"));
		if (pid == 0)
			_exit(getpid() == 1 ? 0 : 1);
		if (probe_wait(p, pid) != 0)
			return (probe_fail(p, "the first child in the new pid namespace is not pid 1"));
	}
	return (0);
}

static int
probe_seccomp(struct probe *p)
{
	scmp_filter_ctx	ctx;
	long		r;
	int		rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return (probe_fail_errno(p, "prctl(PR_SET_NO_NEW_PRIVS)"));
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return (probe_fail(p, "seccomp_init failed"));
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(getppid), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return (probe_fail_errno(p, "load a seccomp filter"));
	}
	errno = 0;
	r = syscall(SYS_getppid);
	if (r != -1 || errno != EPERM)
		return (probe_fail(p, "a filter was loaded but getppid() was not denied"));
	return (probe_say(p, "a filter loaded and denied getppid() with EPERM (libseccomp %u.%u.%u, API level %u)",
	    seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro,
	    seccomp_api_get()));
}

/* Denied calls reach the supervisor through a user-notification listener:
 * install a NOTIFY rule, let a grandchild make the call, answer it here. */
static int
probe_seccomp_notify(struct probe *p)
{
	struct seccomp_notif		*req = NULL;
	struct seccomp_notif_resp	*resp = NULL;
	scmp_filter_ctx			 ctx;
	char				*name;
	pid_t				 pid;
	int				 fd, rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return (probe_fail_errno(p, "prctl(PR_SET_NO_NEW_PRIVS)"));
	if (seccomp_api_get() < 5)
		return (probe_fail(p, "libseccomp reports API level %u (user notification needs 5): "
		    "the kernel is older than 5.0, or a seccomp filter already in place refuses "
		    "new listeners", seccomp_api_get()));
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return (probe_fail(p, "seccomp_init failed"));
	rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	fd = rc == 0 ? seccomp_notify_fd(ctx) : -1;
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return (probe_fail_errno(p, "load a filter with SECCOMP_FILTER_FLAG_NEW_LISTENER"));
	}
	if (fd < 0)
		return (probe_fail(p, "no notification fd after loading the filter"));
	if ((pid = probe_fork()) == -1)
		return (probe_fail_errno(p, "fork"));
	if (pid == 0)
		_exit(syscall(SYS_getppid) == 4242 ? 0 : 1);
	if ((rc = seccomp_notify_alloc(&req, &resp)) < 0) {
		errno = -rc;
		return (probe_fail_errno(p, "seccomp_notify_alloc"));
	}
	if ((rc = seccomp_notify_receive(fd, req)) < 0) {
		errno = -rc;
		return (probe_fail_errno(p, "receive a seccomp notification"));
	}
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, req->data.nr);
	resp->id = req->id;
	resp->val = 4242;
	resp->error = 0;
	resp->flags = 0;
	if ((rc = seccomp_notify_respond(fd, resp)) < 0) {
		free(name);
		errno = -rc;
		return (probe_fail_errno(p, "answer a seccomp notification"));
	}
	if (probe_wait(p, pid) != 0) {
		free(name);
		return (probe_fail(p, "the notified call did not get the supervisor's answer"));
	}
	probe_say(p, "a listener received %s() from a filtered process and answered it",
	    name != NULL ? name : "the call");
	free(name);
	seccomp_notify_free(req, resp);
	return (0);
}

/* A private mount namespace with a tmpfs on /tmp, as moat's new root is. */
static int
probe_private_tmp(struct probe *p)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return (probe_fail_errno(p, "make / private in the new mount namespace"));
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == -1)
		return (probe_fail_errno(p, "mount tmpfs"));
	return (0);
}

static int
probe_overlay(struct probe *p)
{
	static const char	opts[] = "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w";
	const char		*how = " with userxattr";
	struct stat		 st;
	char			 buf[16];
	autofd int		 fd = -1;

	if (probe_enter_userns(p) != 0)
		return (1);
	if (unshare(CLONE_NEWNS) == -1)
		return (probe_fail_errno(p, "unshare(CLONE_NEWNS)"));
	if (probe_private_tmp(p) != 0)
		return (1);
	if (mkdir("/tmp/l", 0755) == -1 || mkdir("/tmp/u", 0755) == -1 ||
	    mkdir("/tmp/w", 0755) == -1 || mkdir("/tmp/m", 0755) == -1)
		return (probe_fail_errno(p, "mkdir on tmpfs"));
	if ((fd = open("/tmp/l/f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1 ||
	    write(fd, "lower", 5) != 5)
		return (probe_fail_errno(p, "write a file on tmpfs"));
	/* As mounts.c: userxattr first, without it on kernels before 5.11. */
	if (mount("overlay", "/tmp/m", "overlay", 0,
	    "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w,userxattr") == -1) {
		if (mount("overlay", "/tmp/m", "overlay", 0, opts) == -1)
			return (probe_fail_errno(p, "mount overlay (lower, upper and work dirs on tmpfs)"));
		how = " without userxattr";
	}
	close(TAKE_FD(fd));
	if ((fd = open("/tmp/m/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return (probe_fail_errno(p, "create a file in the overlay"));
	if (stat("/tmp/u/new", &st) == -1)
		return (probe_fail(p, "a file created in the overlay did not reach the upper dir"));
	close(TAKE_FD(fd));
	if ((fd = open("/tmp/m/f", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, buf, sizeof buf) != 5 || memcmp(buf, "lower", 5) != 0)
		return (probe_fail(p, "the overlay does not show the lower dir"));
	return (probe_say(p, "overlay mounted in a user namespace%s; writes land in the upper dir",
	    how));
}

static unsigned long
probe_statvfs_flags(const char *path)
{
	struct statvfs	sv;
	unsigned long	fl = 0;

	if (statvfs(path, &sv) == -1)
		return (0);
	if (sv.f_flag & ST_NOSUID)
		fl |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		fl |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		fl |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		fl |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		fl |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		fl |= MS_RELATIME;
	return (fl);
}

/* Pid 1 of the new pid namespace: the steps of moat's new root, in order. */
static int
probe_pivot_init(struct probe *p)
{
	struct statvfs	sv;
	char		link[32];
	ssize_t		n;

	if (probe_private_tmp(p) != 0)
		return (1);
	if (mkdir("/tmp/proc", 0755) == -1 || mkdir("/tmp/usr", 0755) == -1 ||
	    mkdir("/tmp/oldroot", 0755) == -1)
		return (probe_fail_errno(p, "mkdir on tmpfs"));
	if (mount("/usr", "/tmp/usr", NULL, MS_BIND | MS_REC, NULL) == -1)
		return (probe_fail_errno(p, "bind /usr"));
	/* A read-only remount must keep the flags the kernel locked. */
	if (mount(NULL, "/tmp/usr", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY |
	    probe_statvfs_flags("/tmp/usr"), NULL) == -1)
		return (probe_fail_errno(p, "remount /usr read-only"));
	/* Before the old root goes: the kernel lets a user namespace mount proc
	 * only while a fully visible proc is in the mount namespace. */
	if (mount("proc", "/tmp/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
		return (probe_fail_errno(p, "mount a fresh /proc"));
	if (chdir("/tmp") == -1)
		return (probe_fail_errno(p, "chdir"));
	if (syscall(SYS_pivot_root, ".", "oldroot") == -1)
		return (probe_fail_errno(p, "pivot_root"));
	if (chdir("/") == -1)
		return (probe_fail_errno(p, "chdir /"));
	if (umount2("/oldroot", MNT_DETACH) == -1)
		return (probe_fail_errno(p, "detach the old root"));
	if ((n = readlink("/proc/self", link, sizeof link - 1)) == -1)
		return (probe_fail_errno(p, "readlink /proc/self"));
	link[n] = '\0';
	if (strcmp(link, "1") != 0)
		return (probe_fail(p, "the new /proc shows pid %s, not 1", link));
	if (statvfs("/usr", &sv) == -1 || !(sv.f_flag & ST_RDONLY))
		return (probe_fail(p, "/usr is not read-only after the remount"));
	return (probe_say(p, "pivot_root into a tmpfs in a user namespace, /usr bound read-only, "
	    "old root detached, fresh /proc shows pid 1"));
}

static int
probe_pivot(struct probe *p)
{
	pid_t	pid;

	if (probe_enter_userns(p) != 0)
		return (1);
	if (unshare(CLONE_NEWNS | CLONE_NEWPID) == -1)
		return (probe_fail_errno(p, "unshare(CLONE_NEWNS|CLONE_NEWPID)"));
	if ((pid = probe_fork()) == -1)
		return (probe_fail_errno(p, "fork into the new pid namespace"));
	if (pid == 0)
		probe_exit(p, probe_pivot_init(p));
	return (probe_wait(p, pid));
}

static int
probe_nnp(struct probe *p)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return (probe_fail_errno(p, "prctl(PR_SET_NO_NEW_PRIVS)"));
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return (probe_fail(p, "PR_GET_NO_NEW_PRIVS does not read back 1"));
	return (probe_say(p, "prctl(PR_SET_NO_NEW_PRIVS) set and read back"));
}

/* What caps.c does: bounding set, then ambient, then the three sets. */
static int
probe_caps(struct probe *p)
{
	cap_value_t	max = (cap_value_t)cap_max_bits();
	cap_t		c, empty;
	int		cmp;

	if (probe_enter_userns(p) != 0)
		return (1);
	for (cap_value_t v = 0; v < max; v++)
		if (cap_drop_bound(v) == -1)
			return (probe_fail_errno(p, "drop capability %d from the bounding set", v));
	for (cap_value_t v = 0; v < max; v++)
		if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) != 0)
			return (probe_fail(p, "capability %d is still in the bounding set", v));
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() == -1)
		return (probe_fail_errno(p, "clear the ambient set"));
	if ((empty = cap_init()) == NULL)
		return (probe_fail_errno(p, "cap_init"));
	if (cap_set_proc(empty) == -1) {
		cap_free(empty);
		return (probe_fail_errno(p, "cap_set_proc(empty)"));
	}
	if ((c = cap_get_proc()) == NULL) {
		cap_free(empty);
		return (probe_fail_errno(p, "cap_get_proc"));
	}
	cmp = cap_compare(c, empty);
	cap_free(c);
	cap_free(empty);
	if (cmp != 0)
		return (probe_fail(p, "capabilities remain after cap_set_proc(empty)"));
	return (probe_say(p, "bounding set emptied (%d capabilities), effective/permitted/inheritable/ambient cleared (libcap)",
	    (int)max));
}

static int
probe_pidfd(struct probe *p)
{
	long	fd;

	if ((fd = syscall(SYS_pidfd_open, getpid(), 0)) == -1)
		return (probe_fail_errno(p, "pidfd_open"));
	close((int)fd);
	return (0);
}

/* cg.c's own answer: it creates a group with memory, pids and cpu limits
 * where a run would, and removes it. */
static int
probe_cg(struct probe *p)
{
	char	desc[sizeof p->msg];

	if (cg_probe(desc, sizeof desc) == CG_NONE)
		return (probe_fail(p, "%s", desc));
	return (probe_say(p, "%s", desc));
}

/* Runs fn in a forked child with a timeout. msg gets the child's line (or
 * why it was killed). The child starts with msg as p->msg, so a caller can
 * pass it a string argument. */
static enum probe_result
doctor_probe(const struct doctor *d, int (*fn)(struct probe *), unsigned long arg,
    char *msg, size_t len)
{
	struct pollfd	pfd;
	double		deadline;
	size_t		got = 0;
	ssize_t		n;
	int		fds[2], st, ms;
	bool		timedout = false;
	pid_t		pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return (PROBE_FAILED);
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return (PROBE_FAILED);
	}
	if (pid == 0) {
		struct probe	p = { .fd = fds[1], .d = d, .arg = arg };

		/* A coverage build counts the probes too: they end in _exit,
		 * some in namespaces of their own. */
		cov_child();
		close(fds[0]);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		snprintf(p.msg, sizeof p.msg, "%s", msg);
		probe_exit(&p, fn(&p));
	}
	setpgid(pid, pid);	/* either side may win the race; both set it */
	close(fds[1]);
	msg[0] = '\0';
	deadline = now_mono() + DOCTOR_TIMEOUT;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	for (;;) {
		ms = (int)((deadline - now_mono()) * 1000);
		if (ms <= 0) {
			timedout = true;
			break;
		}
		if (poll(&pfd, 1, ms) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0)
			continue;
		n = read(fds[0], msg + got, len - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;		/* EOF: every process of the probe is gone */
		got += (size_t)n;
		msg[got] = '\0';
		if (got == len - 1)
			break;
	}
	close(fds[0]);
	kill(-pid, SIGKILL);	/* the group: grandchildren in new pid namespaces too */
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (timedout) {
		snprintf(msg, len, "the probe did not finish within %.0f s", DOCTOR_TIMEOUT);
		return (PROBE_TIMEOUT);
	}
	if (WIFSIGNALED(st)) {
		snprintf(msg, len, "the probe died of signal %d (%s)", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
		return (PROBE_TIMEOUT);
	}
	return (WEXITSTATUS(st) == 0 ? PROBE_OK : PROBE_FAILED);
}

/* --- the checks, in the order they are printed */

static int
doctor_read_int(const char *path, long *v)
{
	autofree char	*s = NULL;
	struct merr	 e;
	char		*end;

	if (read_file(path, &s, NULL, &e) == -1)
		return (-1);
	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno != 0 || end == s)
		return (-1);
	return (0);
}

static void
doctor_kernel(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "kernel", true);
	struct utsname		 u;
	char			 msg[400] = "";
	int			 major = 0, minor = 0;

	if (uname(&u) == -1) {
		doctor_set(c, DOCTOR_MISSING, "uname: %s", strerror(errno));
		return;
	}
	sscanf(u.release, "%d.%d", &major, &minor);
	if (doctor_probe(d, probe_pidfd, 0, msg, sizeof msg) != PROBE_OK) {
		doctor_set(c, DOCTOR_MISSING, "Linux %s %s: %s", u.release, u.machine, msg);
		doctor_fix(c, "moat needs Linux 5.3 or newer (pidfd_open); 5.11 or newer for overlays in a user namespace");
	} else if (major < 5 || (major == 5 && minor < 12)) {
		doctor_set(c, DOCTOR_WARN, "Linux %s %s: older than 5.12", u.release, u.machine);
		doctor_fix(c, "upgrade to Linux 5.12 or newer: unprivileged overlay mounts need "
		    "5.11, and keeping a protected path read-only after a program on the host "
		    "replaced it needs mount_setattr (5.12): before it, such a change ends the "
		    "run or session");
	} else
		doctor_set(c, DOCTOR_OK, "Linux %s %s", u.release, u.machine);
}

static void
doctor_userns(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "userns", true);
	char			 msg[400] = "";
	long			 v;

	d->userns_ok = doctor_probe(d, probe_userns, 0, msg, sizeof msg) == PROBE_OK;
	if (d->userns_ok) {
		doctor_set(c, DOCTOR_OK, "%s", msg);
		return;
	}
	doctor_set(c, DOCTOR_MISSING, "%s", msg);
	/* The likely cause, most specific first; the sysctl lines say more.
	 * Root is refused only by the count limit or by a filter above it. */
	if (!d->root && doctor_read_int("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0)
		doctor_fix(c, "sysctl -w kernel.unprivileged_userns_clone=1 (see the userns-clone line)");
	else if (doctor_read_int("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0)
		doctor_fix(c, "sysctl -w user.max_user_namespaces=15000 (see the max-userns line)");
	else if (!d->root && doctor_read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 && v == 1)
		doctor_fix(c, "allow moat to create user namespaces with an AppArmor profile (see the apparmor-userns line)");
	else
		doctor_fix(c, "the kernel, a security module or a seccomp filter above moat (a container's, "
		    "a sandbox's) refuses user namespaces to this user; moat needs one, as root too: "
		    "run it where they are allowed (a kernel with CONFIG_USER_NS, outside such a container)");
}

/* kernel.unprivileged_userns_clone (Debian's and some distributions' patch). */
static void
doctor_userns_clone(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "userns-clone", false);
	long			 v;

	if (doctor_read_int("/proc/sys/kernel/unprivileged_userns_clone", &v) == -1) {
		doctor_set(c, DOCTOR_OK, "kernel.unprivileged_userns_clone: not present (no such knob on this kernel)");
		return;
	}
	if (v != 0) {
		doctor_set(c, DOCTOR_OK, "kernel.unprivileged_userns_clone = %ld", v);
		return;
	}
	doctor_set(c, d->root ? DOCTOR_WARN : DOCTOR_MISSING,
	    "kernel.unprivileged_userns_clone = 0: users other than root cannot create user namespaces");
	doctor_fix(c, "sysctl -w kernel.unprivileged_userns_clone=1; to keep it, "
	    "echo kernel.unprivileged_userns_clone=1 > /etc/sysctl.d/50-moat.conf");
}

static void
doctor_max_userns(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "max-userns", false);
	long			 v;

	if (doctor_read_int("/proc/sys/user/max_user_namespaces", &v) == -1) {
		doctor_set(c, d->userns_ok ? DOCTOR_OK : DOCTOR_WARN,
		    "user.max_user_namespaces: not readable (kernel without CONFIG_USER_NS?)");
		if (!d->userns_ok)
			doctor_fix(c, "use a kernel built with CONFIG_USER_NS=y");
		return;
	}
	if (v > 0) {
		doctor_set(c, DOCTOR_OK, "user.max_user_namespaces = %ld", v);
		return;
	}
	doctor_set(c, DOCTOR_MISSING,
	    "user.max_user_namespaces = 0: no user namespace can be created, not even by root");
	doctor_fix(c, "sysctl -w user.max_user_namespaces=15000 (in the user namespace moat runs in; "
	    "to keep it: /etc/sysctl.d/50-moat.conf)");
}

/* Ubuntu 23.10 and later: unprivileged user namespaces get no capabilities
 * unless an AppArmor profile allows "userns,". */
static void
doctor_apparmor(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "apparmor-userns", false);
	long			 v;

	if (doctor_read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == -1) {
		doctor_set(c, DOCTOR_OK, "kernel.apparmor_restrict_unprivileged_userns: not present (no AppArmor userns restriction)");
		return;
	}
	if (v == 0) {
		doctor_set(c, DOCTOR_OK, "kernel.apparmor_restrict_unprivileged_userns = 0");
		return;
	}
	if (d->root || d->userns_ok) {
		doctor_set(c, d->root ? DOCTOR_WARN : DOCTOR_OK,
		    "kernel.apparmor_restrict_unprivileged_userns = %ld%s", v,
		    d->root ? ": unprivileged users need an AppArmor profile for moat" :
		    ", but this binary may create user namespaces (an AppArmor profile allows it)");
	} else
		doctor_set(c, DOCTOR_MISSING, "kernel.apparmor_restrict_unprivileged_userns = %ld: "
		    "user namespaces are restricted for unconfined programs", v);
	if (c->status != DOCTOR_OK)
		doctor_fix(c, "install an AppArmor profile for moat: /etc/apparmor.d/moat containing "
		    "'abi <abi/4.0>, include <tunables/global> profile moat /usr/bin/moat flags=(unconfined) { userns, }' "
		    "(use the path of your moat), then apparmor_parser -r /etc/apparmor.d/moat; "
		    "or, machine-wide, sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
}

static void
doctor_namespaces(struct doctor *d)
{
	static const struct {
		const char	*name;
		unsigned long	 flag;
		const char	*flagname;
		const char	*what;
	} ns[] = {
		{ "mount-ns", CLONE_NEWNS, "CLONE_NEWNS", "a private mount table" },
		{ "pid-ns", CLONE_NEWPID, "CLONE_NEWPID", "own pid 1" },
		{ "net-ns", CLONE_NEWNET, "CLONE_NEWNET", "loopback only, brought up" },
		{ "ipc-ns", CLONE_NEWIPC, "CLONE_NEWIPC", "own SysV IPC and POSIX queues" },
		{ "uts-ns", CLONE_NEWUTS, "CLONE_NEWUTS", "own hostname" },
		{ "cgroup-ns", CLONE_NEWCGROUP, "CLONE_NEWCGROUP", "own cgroup root" },
	};
	struct doctor_check	*c;
	char			 msg[400];

	for (size_t i = 0; i < nitems(ns); i++) {
		c = doctor_add(d, ns[i].name, true);
		snprintf(msg, sizeof msg, "%s", ns[i].flagname);
		if (doctor_probe(d, probe_ns, ns[i].flag, msg, sizeof msg) == PROBE_OK) {
			doctor_set(c, DOCTOR_OK, "%s inside the user namespace: %s",
			    ns[i].flagname, ns[i].what);
			continue;
		}
		doctor_set(c, DOCTOR_MISSING, "%s", msg);
		if (!d->userns_ok)
			doctor_fix(c, "needs a user namespace first: fix the userns line");
		else
			doctor_fix(c, "the kernel refuses %s here: a kernel without CONFIG_%s_NS, "
			    "or moat runs inside a container or sandbox that forbids new namespaces "
			    "(for docker: --security-opt seccomp=unconfined --cap-add SYS_ADMIN)",
			    ns[i].flagname, ns[i].flag == CLONE_NEWNS ? "MNT" :
			    ns[i].flag == CLONE_NEWPID ? "PID" : ns[i].flag == CLONE_NEWNET ? "NET" :
			    ns[i].flag == CLONE_NEWIPC ? "IPC" : ns[i].flag == CLONE_NEWUTS ? "UTS" :
			    "CGROUP");
	}
}


/* True when word is one of the sep-separated items of list. */
static bool
doctor_has_word(const char *list, const char *word, char sep)
{
	size_t		 n = strlen(word);
	const char	*s = list;

	while (*s != '\0') {
		if (strncmp(s, word, n) == 0 && (s[n] == sep || s[n] == '\0'))
			return (true);
		if ((s = strchr(s, sep)) == NULL)
			break;
		s++;
	}
	return (false);
}

/* What /proc/self/mountinfo says about cgroup mounts. */
struct doctor_cg {
	char	v2[PATH_MAX];		/* the cgroup2 mount point, or "" */
	char	v2ctl[512];		/* controllers of the v2 mount's root */
	char	v1ctl[512];		/* controllers on v1 hierarchies, space-separated */
	bool	v1;
};

static void
doctor_cg_scan(struct doctor_cg *cg)
{
	autofree char	*s = NULL;
	struct merr	 e;
	char		*line, *save = NULL, *osave, *sep, *o;
	char		 mnt[PATH_MAX], type[64], opts[512], copy[512];

	memset(cg, 0, sizeof *cg);
	if (read_file("/proc/self/mountinfo", &s, NULL, &e) == -1)
		return;
	for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %511s", type, opts) != 2)
			continue;
		if (strcmp(type, "cgroup2") == 0 && cg->v2[0] == '\0')
			snprintf(cg->v2, sizeof cg->v2, "%s", mnt);
		if (strcmp(type, "cgroup") != 0)
			continue;
		cg->v1 = true;
		snprintf(copy, sizeof copy, "%s", opts);
		for (o = strtok_r(copy, ",", &osave); o != NULL; o = strtok_r(NULL, ",", &osave)) {
			/* Mount options, not controllers. */
			if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 || strchr(o, '=') != NULL ||
			    strcmp(o, "noprefix") == 0 || strcmp(o, "clone_children") == 0 ||
			    strcmp(o, "xattr") == 0 || strcmp(o, "cpuset_v2_mode") == 0 ||
			    doctor_has_word(cg->v1ctl, o, ' '))
				continue;
			if (strlen(cg->v1ctl) + strlen(o) + 2 < sizeof cg->v1ctl) {
				if (cg->v1ctl[0] != '\0')
					strcat(cg->v1ctl, " ");
				strcat(cg->v1ctl, o);
			}
		}
	}
	if (cg->v2[0] != '\0') {
		autofree char	*path = path_join(cg->v2, "cgroup.controllers");
		autofree char	*ctl = NULL;

		if (read_file(path, &ctl, NULL, &e) == 0) {
			ctl[strcspn(ctl, "\n")] = '\0';
			snprintf(cg->v2ctl, sizeof cg->v2ctl, "%s", ctl[0] != '\0' ? ctl : "none");
		}
	}
}

/* How the default profile's memory limit is held for this user: what it
 * comes to, of what, and by which mechanism (cg_probe's description names
 * the controllers a run's group gets, memory first). */
static void
doctor_memory(struct doctor *d, bool cg_memory, bool v2)
{
	struct doctor_check	*c = doctor_add(d, "memory", false);
	struct profile		*p;
	struct limits		 l;
	struct merr		 e;
	char			 src[PATH_MAX + 64];
	const char		*pname = "the default profile";

	if ((p = profile_load("default", &e)) != NULL) {
		cg_limits_resolve(&p->limits, &l, src, sizeof src);
		profile_free(p);
	} else {
		struct limits	 dl = { .memory_pct = 50 };

		pname = "the built-in default (no default profile found)";
		cg_limits_resolve(&dl, &l, src, sizeof src);
	}
	if (l.memory == 0) {
		doctor_set(c, DOCTOR_WARN, "%s sets no memory limit", pname);
		doctor_fix(c, "set memory = 50%% (a share of RAM) or a size in the profile");
		return;
	}
	if (*src == '\0')
		snprintf(src, sizeof src, "as set");
	if (cg_memory) {
		doctor_set(c, DOCTOR_OK, "%" PRIu64 "M for %s (%s), held by the run's "
		    "cgroup (%s): every process and the files in its tmpfs count, an "
		    "OOM kill over it", l.memory >> 20, pname, src,
		    v2 ? "memory.max" : "v1 memory.limit_in_bytes");
		return;
	}
	doctor_set(c, DOCTOR_WARN, "%" PRIu64 "M for %s (%s), held without a "
	    "cgroup: RLIMIT_DATA per process, and moat kills the sandbox when the "
	    "sum of its processes' resident memory passes it (sampled 4 times a "
	    "second); tmpfs files do not count (tmp-size holds them)",
	    l.memory >> 20, pname, src);
	if (d->root)
		doctor_fix(c, "mount the cgroup memory controller (see the cgroups line)");
	else if (v2)
		doctor_fix(c, "run moat in a cgroup v2 subtree delegated to you, with the "
		    "memory controller: systemd-run --user --scope -p Delegate=yes moat ...");
	else
		doctor_fix(c, "cgroup v1 is writable by root only: run moat as root, or use "
		    "cgroup v2 (systemd.unified_cgroup_hierarchy=1) and a delegated scope");
}

static void
doctor_cgroups(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "cgroups", false);
	struct doctor_check	*dc;
	struct doctor_cg	*cg = xcalloc(1, sizeof *cg);
	char			 msg[400];
	bool			 use_v2;

	doctor_cg_scan(cg);
	if (cg->v1 && cg->v2[0] != '\0')
		doctor_set(c, DOCTOR_OK, "hybrid: v1 controllers %s; v2 at %s with controllers %s",
		    cg->v1ctl[0] != '\0' ? cg->v1ctl : "none", cg->v2,
		    cg->v2ctl[0] != '\0' ? cg->v2ctl : "unknown");
	else if (cg->v1)
		doctor_set(c, DOCTOR_OK, "v1: controllers %s",
		    cg->v1ctl[0] != '\0' ? cg->v1ctl : "none");
	else if (cg->v2[0] != '\0')
		doctor_set(c, DOCTOR_OK, "v2 at %s: controllers %s", cg->v2,
		    cg->v2ctl[0] != '\0' ? cg->v2ctl : "unknown");
	else {
		doctor_set(c, DOCTOR_WARN, "no cgroup file system is mounted: limits are rlimits and the timeout only");
		doctor_fix(c, "mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)");
	}

	/* cg.c uses v2 when it carries controllers, else v1 (a hybrid host
	 * leaves its v2 mount without them). */
	use_v2 = cg->v2[0] != '\0' && (!cg->v1 || doctor_has_word(cg->v2ctl, "memory", ' ') ||
	    doctor_has_word(cg->v2ctl, "pids", ' ') || doctor_has_word(cg->v2ctl, "cpu", ' '));

	/* What a run would get: cg.c creates and removes a group, as moat run
	 * does, so this line and "moat run -v" never disagree. */
	dc = doctor_add(d, "cgroup-delegation", false);
	if (doctor_probe(d, probe_cg, 0, msg, sizeof msg) == PROBE_OK)
		doctor_set(dc, DOCTOR_OK, "%s%s", msg, d->root ? " (as root)" : "");
	else {
		doctor_set(dc, DOCTOR_WARN, "%s", msg);
		if (!d->root && cg->v1 && !use_v2)
			doctor_fix(dc, "cgroup v1 is writable by root only: run moat as root, or boot with "
			    "systemd.unified_cgroup_hierarchy=1 (cgroup v2) and run moat in a delegated "
			    "scope: systemd-run --user --scope -p Delegate=yes moat ...");
		else if (!d->root)
			doctor_fix(dc, "run moat in a delegated systemd scope: "
			    "systemd-run --user --scope -p Delegate=yes moat ... "
			    "(needs the user's systemd instance, e.g. loginctl enable-linger %u)",
			    (unsigned)d->uid);
		else
			doctor_fix(dc, "mount the cgroup file system (see the cgroups line) "
			    "and do not run moat in a container that hides it");
	}
	/* Groups a killed moat left: removed here as by the next run. */
	{
		struct merr	ce;
		int		n = cg_sweep(&ce);

		if (n > 0) {
			struct doctor_check	*sc = doctor_add(d, "cgroup-sweep", false);

			doctor_set(sc, DOCTOR_OK, "removed %d cgroup%s left by killed runs",
			    n, n == 1 ? "" : "s");
		}
	}
	doctor_memory(d, dc->status == DOCTOR_OK &&
	    strstr(dc->detail, ": controllers memory") != NULL, use_v2);
	free(cg);
}

/* The Seccomp: field of /proc/self/status: 0 none, 1 strict, 2 filter. */
static int
doctor_seccomp_mode(void)
{
	autofree char	*s = NULL;
	struct merr	 e;
	char		*f;

	if (read_file("/proc/self/status", &s, NULL, &e) == -1 ||
	    (f = strstr(s, "\nSeccomp:")) == NULL)
		return (-1);
	return (atoi(f + 9));
}

static void
doctor_seccomp(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "seccomp", true);
	char			 msg[400] = "";
	int			 mode = doctor_seccomp_mode();

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == -1 && errno == EINVAL) {
		doctor_set(c, DOCTOR_MISSING, "the kernel has no seccomp (prctl(PR_GET_SECCOMP): EINVAL)");
		doctor_fix(c, "use a kernel built with CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y");
	} else if (doctor_probe(d, probe_seccomp, 0, msg, sizeof msg) == PROBE_OK)
		doctor_set(c, DOCTOR_OK, "%s%s", msg,
		    mode == 2 ? "; moat itself already runs under a filter (it stacks)" : "");
	else {
		doctor_set(c, DOCTOR_MISSING, "%s", msg);
		doctor_fix(c, "use a kernel built with CONFIG_SECCOMP_FILTER=y; if moat runs in a "
		    "container, its seccomp policy must allow seccomp(2)");
	}

	c = doctor_add(d, "seccomp-notify", true);
	if (doctor_probe(d, probe_seccomp_notify, 0, msg, sizeof msg) == PROBE_OK)
		doctor_set(c, DOCTOR_OK, "%s", msg);
	else {
		doctor_set(c, DOCTOR_MISSING, "%s", msg);
		doctor_fix(c, "seccomp user notification needs Linux 5.0 and libseccomp 2.5 or newer, "
		    "and no filter above moat (a container's or a sandbox's) that refuses new listeners");
	}

	/* Restricted and proxied modes catch clients that ignore the proxy
	 * variables by taking their socket (notify-connect.c); without that,
	 * such connections are refused and recorded, not carried. */
	c = doctor_add(d, "net-transparent", false);
	if (notify_connect_probe(msg, sizeof msg) == 0)
		doctor_set(c, DOCTOR_OK, "pidfd_getfd takes a child's socket: restricted and "
		    "proxied modes carry connections that ignore the proxy variables "
		    "(raw sockets, /dev/tcp, node's fetch) through the allowlist");
	else {
		doctor_set(c, DOCTOR_WARN, "%s: connections that ignore the proxy variables %s",
		    msg, strncmp(msg, "process_vm_readv", 16) == 0 ?
		    "find no route, and moat cannot see them (the run's record says so once)" :
		    "are refused and recorded, not carried");
		doctor_fix(c, "Linux 5.6 or newer, and a Yama kernel.yama.ptrace_scope of 0 or 1");
	}

	/* Secrets: the proxy terminates TLS for their hosts (tls.c). */
	c = doctor_add(d, "tls-intercept", false);
	if (tls_probe(msg, sizeof msg) == 0)
		doctor_set(c, DOCTOR_OK, "%s", msg);
	else {
		doctor_set(c, DOCTOR_WARN, "%s", msg);
		doctor_fix(c, "install the system's CA certificates (Debian: ca-certificates), "
		    "or point SSL_CERT_FILE at a bundle");
	}
}

static void
doctor_overlay(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "overlayfs", false);
	char			 msg[400] = "";

	if (!d->userns_ok) {
		doctor_set(c, DOCTOR_WARN, "not tried: needs a user namespace");
		doctor_fix(c, "fix the userns line");
	} else if (doctor_probe(d, probe_overlay, 0, msg, sizeof msg) == PROBE_OK)
		doctor_set(c, DOCTOR_OK, "%s", msg);
	else {
		doctor_set(c, DOCTOR_WARN, "%s: profiles with workspace = overlay will not run", msg);
		doctor_fix(c, "use workspace = bind or ro; overlay mounts in a user namespace need Linux 5.11 "
		    "(modprobe overlay if it is a module)");
	}
}

static void
doctor_pivot(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "pivot-root", true);
	char			 msg[400] = "";

	if (doctor_probe(d, probe_pivot, 0, msg, sizeof msg) == PROBE_OK) {
		doctor_set(c, DOCTOR_OK, "%s", msg);
		return;
	}
	doctor_set(c, DOCTOR_MISSING, "%s", msg);
	if (!d->userns_ok)
		doctor_fix(c, "needs a user namespace first: fix the userns line");
	else if (strstr(msg, "/proc") != NULL)
		doctor_fix(c, "a fresh /proc needs a fully visible /proc in moat's mount namespace: "
		    "in a container, do not mask /proc paths (e.g. docker --security-opt systempaths=unconfined)");
	else
		doctor_fix(c, "the kernel refused a step of building the new root (above); "
		    "if moat runs in a container, allow mount(2) and pivot_root(2) there");
}

static void
doctor_privs(struct doctor *d)
{
	struct doctor_check	*c = doctor_add(d, "no-new-privs", true);
	char			 msg[400] = "";

	if (doctor_probe(d, probe_nnp, 0, msg, sizeof msg) == PROBE_OK)
		doctor_set(c, DOCTOR_OK, "%s", msg);
	else {
		doctor_set(c, DOCTOR_MISSING, "%s", msg);
		doctor_fix(c, "moat needs Linux 3.5 or newer (PR_SET_NO_NEW_PRIVS)");
	}

	c = doctor_add(d, "capabilities", true);
	if (doctor_probe(d, probe_caps, 0, msg, sizeof msg) == PROBE_OK)
		doctor_set(c, DOCTOR_OK, "%s", msg);
	else {
		doctor_set(c, DOCTOR_MISSING, "%s", msg);
		if (!d->userns_ok)
			doctor_fix(c, "needs a user namespace first (CAP_SETPCAP in it): fix the userns line");
		else
			doctor_fix(c, "dropping the bounding set needs CAP_SETPCAP: if moat runs in a "
			    "container, give it CAP_SETPCAP");
	}
}

/* --- output */

static void
doctor_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char	ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
doctor_print_json(const struct doctor *d, bool can, const char *verdict)
{
	printf("{\n  \"uid\": %u,\n  \"root\": %s,\n  \"checks\": [\n", (unsigned)d->uid,
	    d->root ? "true" : "false");
	for (size_t i = 0; i < d->n; i++) {
		const struct doctor_check	*c = &d->checks[i];

		printf("    {\"name\": ");
		doctor_json_str(stdout, c->name);
		printf(", \"status\": \"%s\", \"required\": %s, \"detail\": ",
		    doctor_status_name(c->status), c->required ? "true" : "false");
		doctor_json_str(stdout, c->detail);
		printf(", \"fix\": ");
		if (c->fix[0] != '\0')
			doctor_json_str(stdout, c->fix);
		else
			printf("null");
		printf("}%s\n", i + 1 < d->n ? "," : "");
	}
	printf("  ],\n  \"can_sandbox\": %s,\n  \"verdict\": ", can ? "true" : "false");
	doctor_json_str(stdout, verdict);
	printf("\n}\n");
}

static void
doctor_print_text(const struct doctor *d, const char *verdict)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct doctor_check	*c = &d->checks[i];

		printf("%-7s  %-17s  %s\n", doctor_status_name(c->status), c->name, c->detail);
		if (c->status != DOCTOR_OK && c->fix[0] != '\0')
			printf("%-7s  %-17s  fix: %s\n", "", "", c->fix);
	}
	printf("\nverdict: %s\n", verdict);
}

static int
cmd_doctor_exec(int argc, char **argv)
{
	struct doctor	*d;
	char		 verdict[600], who[32];
	size_t		 len;
	bool		 json = false, can = true;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_help(&cmd_doctor_entry, stdout);
			return (0);
		} else
			return (cmd_usage_error(&cmd_doctor_entry, "unknown argument \"%s\"", argv[i]));
	}

	d = xcalloc(1, sizeof *d);
	d->uid = geteuid();
	d->gid = getegid();
	d->root = d->uid == 0;
	doctor_kernel(d);
	doctor_userns(d);
	doctor_userns_clone(d);
	doctor_max_userns(d);
	doctor_apparmor(d);
	doctor_namespaces(d);
	doctor_cgroups(d);
	doctor_seccomp(d);
	doctor_overlay(d);
	doctor_pivot(d);
	doctor_privs(d);

	if (d->root)
		snprintf(who, sizeof who, "root");
	else
		snprintf(who, sizeof who, "uid %u", (unsigned)d->uid);
	snprintf(verdict, sizeof verdict, "moat cannot sandbox here as %s: missing", who);
	for (size_t j = 0; j < d->n; j++) {
		if (!d->checks[j].required || d->checks[j].status != DOCTOR_MISSING)
			continue;
		can = false;
		len = strlen(verdict);
		snprintf(verdict + len, sizeof verdict - len, " %s", d->checks[j].name);
	}
	if (can) {
		size_t	warns = 0;

		for (size_t j = 0; j < d->n; j++)
			warns += d->checks[j].status == DOCTOR_WARN;
		snprintf(verdict, sizeof verdict, "moat can sandbox here as %s%s", who,
		    warns > 0 ? " (see the warnings above for weaker layers)" : "");
	}
	/* environ.c sets it in every sandbox: say why nothing works in here. */
	if (!can && getenv("MOAT_SANDBOX") != NULL) {
		len = strlen(verdict);
		snprintf(verdict + len, sizeof verdict - len,
		    " (this runs inside a moat sandbox, which refuses nested sandboxes by design)");
	}
	if (json)
		doctor_print_json(d, can, verdict);
	else
		doctor_print_text(d, verdict);
	free(d);
	return (can ? 0 : 1);
}

const struct cmd_entry cmd_doctor_entry = {
	.name = "doctor",
	.usage = "doctor [--json]",
	.summary = "what isolation this machine allows for this user, and how to fix what is missing",
	.options = (const char *const[]){
		"--json\tthe checks as one JSON object",
		"-h, --help\tthis text",
		"exit status\t0 when moat can build a sandbox here, 1 when it cannot",
		NULL,
	},
	.exec = cmd_doctor_exec,
};
