/* test-filter.c: the seccomp filter, enforced by the kernel. Each check forks
 * a child that installs the compiled filter and makes one call; the parent
 * compares the errno. Where the arguments allow it, the same call is also
 * made without the filter (the "control") and must then fail differently, so
 * an EPERM that came from missing privileges cannot pass for the filter's.
 * The notify part drives notify.c with a real listener and a poll loop. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#include "sandbox/filter.h"
#include "sandbox/filter-cache.h"
#include "base/loop.h"
#include "sandbox/notify.h"
#include "sandbox/spawn.h"
#include "base/util.h"
#include "../tap.h"

#ifndef TIOCLINUX
#define TIOCLINUX	0x541C
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif
#define X32_BIT		0x40000000L

/* A probe returns 0 when the call succeeded, else the errno it failed with. */
typedef int	(*probe_fn)(void);

static int
rc_errno(long rc)
{
	return (rc == -1 ? errno : 0);
}

static int
close_rc(int fd)
{
	if (fd == -1)
		return (errno);
	close(fd);
	return (0);
}

/* --- denied calls, with arguments chosen to fail harmlessly if they ran */
static int p_mount(void)	{ return (rc_errno(mount("none", "/nonexistent-moat", (const char *)1, 0, NULL))); }
static int p_umount2(void)	{ return (rc_errno(umount2("/nonexistent-moat", 0x7fff0000))); }
static int p_pivot_root(void)	{ return (rc_errno(syscall(SYS_pivot_root, (char *)1, (char *)1))); }
static int p_chroot(void)	{ return (rc_errno(chroot("/nonexistent-moat"))); }
static int p_open_tree(void)	{ return (rc_errno(syscall(__NR_open_tree, -1, "", 0xffffffffU))); }
static int p_move_mount(void)	{ return (rc_errno(syscall(__NR_move_mount, -1, "", -1, "", 0xffffffffU))); }
static int p_fsopen(void)	{ return (rc_errno(syscall(__NR_fsopen, NULL, 0xffffffffU))); }
static int p_fsconfig(void)	{ return (rc_errno(syscall(__NR_fsconfig, -1, 0xdead, NULL, NULL, 0))); }
static int p_fsmount(void)	{ return (rc_errno(syscall(__NR_fsmount, -1, 0xffffffffU, 0))); }
static int p_fspick(void)	{ return (rc_errno(syscall(__NR_fspick, -1, "", 0xffffffffU))); }
/* Linux 6.15; ENOSYS if it ran on an older kernel */
static int p_open_tree_attr(void) { return (rc_errno(syscall(467, -1, "", 0xffffffffU, NULL, 0))); }
static int p_mount_setattr(void) { return (rc_errno(syscall(__NR_mount_setattr, -1, "", 0xffffffffU, NULL, 0))); }
static int p_unshare_user(void)	{ return (rc_errno(unshare(CLONE_NEWUSER))); }
static int p_unshare_ns(void)	{ return (rc_errno(unshare(CLONE_NEWNS))); }
static int p_unshare_net(void)	{ return (rc_errno(unshare(CLONE_NEWNET))); }
static int p_unshare_pid(void)	{ return (rc_errno(unshare(CLONE_NEWPID))); }
static int p_unshare_ipc(void)	{ return (rc_errno(unshare(CLONE_NEWIPC))); }
static int p_unshare_uts(void)	{ return (rc_errno(unshare(CLONE_NEWUTS))); }
static int p_unshare_cgroup(void) { return (rc_errno(unshare(CLONE_NEWCGROUP))); }
static int p_unshare_time(void)	{ return (rc_errno(unshare(CLONE_NEWTIME))); }
static int p_unshare_fs_user(void) { return (rc_errno(unshare(CLONE_FS | CLONE_NEWUSER))); }

static int
p_clone_user(void)
{
	long	pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return (rc_errno(pid));
}

static int
p_clone3(void)
{
	struct clone_args	ca;

	memset(&ca, 0, sizeof ca);
	/* size 0: EINVAL if it ran */
	return (rc_errno(syscall(__NR_clone3, &ca, 0)));
}

static int p_setns(void)	{ return (rc_errno(setns(-1, 0))); }
static int p_ptrace(void)	{ return (rc_errno(ptrace(PTRACE_ATTACH, 0x3ffffff0, NULL, NULL))); }
static int p_vm_readv(void)	{ return (rc_errno(process_vm_readv(getpid(), NULL, 0, NULL, 0, 1))); }
static int p_vm_writev(void)	{ return (rc_errno(process_vm_writev(getpid(), NULL, 0, NULL, 0, 1))); }
static int p_perf(void)		{ return (rc_errno(syscall(__NR_perf_event_open, NULL, 0, -1, -1, ~0UL))); }
static int p_pidfd_getfd(void)	{ return (rc_errno(syscall(__NR_pidfd_getfd, -1, 0, 0))); }
static int p_bpf(void)		{ return (rc_errno(syscall(__NR_bpf, 0xdead, NULL, 0))); }
static int p_keyctl(void)	{ return (rc_errno(syscall(__NR_keyctl, 0xdead, 0, 0, 0, 0))); }
static int p_add_key(void)	{ return (rc_errno(syscall(__NR_add_key, NULL, NULL, NULL, 0, 0))); }
static int p_request_key(void)	{ return (rc_errno(syscall(__NR_request_key, NULL, NULL, NULL, 0))); }
static int p_init_module(void)	{ return (rc_errno(syscall(__NR_init_module, NULL, 0, ""))); }
static int p_finit_module(void)	{ return (rc_errno(syscall(__NR_finit_module, -1, "", 0))); }
static int p_delete_module(void) { return (rc_errno(syscall(__NR_delete_module, NULL, 0))); }
static int p_kexec_load(void)	{ return (rc_errno(syscall(__NR_kexec_load, 0, 0, NULL, 0xdead0000UL))); }
static int p_kexec_file(void)	{ return (rc_errno(syscall(__NR_kexec_file_load, -1, -1, 0, NULL, 0xdead0000UL))); }
/* bad magic: EINVAL even for root if it ran */
static int p_reboot(void)	{ return (rc_errno(syscall(__NR_reboot, 0, 0, 0, NULL))); }
static int p_swapon(void)	{ return (rc_errno(syscall(__NR_swapon, NULL, 0xffffffffU))); }
static int p_swapoff(void)	{ return (rc_errno(syscall(__NR_swapoff, NULL))); }
static int p_uring_setup(void)	{ return (rc_errno(syscall(__NR_io_uring_setup, 0, NULL))); }
static int p_uring_enter(void)	{ return (rc_errno(syscall(__NR_io_uring_enter, -1, 0, 0, 0, NULL, 0))); }
static int p_uring_register(void) { return (rc_errno(syscall(__NR_io_uring_register, -1, 0, NULL, 0))); }
/* UFFD_USER_MODE_ONLY passes the sysctl check; the other bits are invalid */
static int p_userfaultfd(void)	{ return (rc_errno(syscall(__NR_userfaultfd, 1 | 0x7ff00))); }
static int p_open_by_handle(void) { return (rc_errno(syscall(__NR_open_by_handle_at, -1, NULL, 0))); }
static int p_name_to_handle(void) { return (rc_errno(syscall(__NR_name_to_handle_at, -1, "", NULL, NULL, 0xffff0000))); }
static int p_tiocsti(void)	{ char c = 'x'; return (rc_errno(ioctl(-1, TIOCSTI, &c))); }
static int p_tiocsti_high(void)	{ char c = 'x'; return (rc_errno(syscall(__NR_ioctl, -1, 0x100000000UL | TIOCSTI, &c))); }
static int p_tiocsti_high2(void) { char c = 'x'; return (rc_errno(syscall(__NR_ioctl, -1, 0xffffffff00000000UL | TIOCSTI, &c))); }
static int p_tioclinux(void)	{ char c = 6; return (rc_errno(ioctl(-1, TIOCLINUX, &c))); }
/* type 15 is invalid: EINVAL before the family is even looked at */
static int p_packet(void)	{ return (close_rc(socket(AF_PACKET, 15, 0))); }
static int p_packet_real(void)	{ return (close_rc(socket(AF_PACKET, SOCK_RAW, 0))); }
static int p_packet_high(void)	{ return (close_rc((int)syscall(__NR_socket, 0x100000000UL | AF_PACKET, 15, 0))); }
static int p_raw4(void)		{ return (close_rc(socket(AF_INET, SOCK_RAW, 1000))); }
static int p_raw4_flags(void)	{ return (close_rc(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 1000))); }
static int p_raw6(void)		{ return (close_rc(socket(AF_INET6, SOCK_RAW, 1000))); }
static int p_inet_packet(void)	{ return (close_rc(socket(AF_INET, SOCK_PACKET, 0))); }
static int p_vsock(void)	{ return (close_rc(socket(AF_VSOCK, 15, 0))); }
static int p_alg(void)		{ return (close_rc(socket(AF_ALG, 15, 0))); }
static int p_afkey(void)	{ return (close_rc(socket(AF_KEY, 15, 0))); }
static int p_tipc(void)		{ return (close_rc(socket(AF_TIPC, 15, 0))); }
static int p_x25(void)		{ return (close_rc(socket(AF_X25, 15, 0))); }
static int p_nl_audit(void)	{ return (close_rc(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT))); }
static int p_nl_netfilter(void)	{ return (close_rc(socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER))); }

static int
p_socketpair_inet(void)
{
	int	sv[2];

	if (socketpair(AF_INET, SOCK_STREAM, 0, sv) == -1)
		return (errno);
	close(sv[0]);
	close(sv[1]);
	return (0);
}

/* glibc dereferences tv; the kernel takes NULL, NULL as a no-op */
static int p_settimeofday(void)	{ return (rc_errno(syscall(__NR_settimeofday, NULL, NULL))); }
static int p_clock_settime(void) { struct timespec ts = { 0, 0 }; return (rc_errno(clock_settime(0xdead, &ts))); }
static int p_adjtimex(void)	{ return (rc_errno(syscall(__NR_adjtimex, NULL))); }
static int p_clock_adjtime(void) { return (rc_errno(syscall(__NR_clock_adjtime, 0xdead, NULL))); }
static int p_acct(void)		{ return (rc_errno(syscall(__NR_acct, (char *)1))); }
static int p_quotactl(void)	{ return (rc_errno(syscall(__NR_quotactl, 0xdead, NULL, 0, NULL))); }
static int p_iopl(void)		{ return (rc_errno(syscall(__NR_iopl, 4))); }
static int p_ioperm(void)	{ return (rc_errno(syscall(__NR_ioperm, 0, 0, 0))); }
static int p_modify_ldt(void)	{ return (rc_errno(syscall(__NR_modify_ldt, 1, NULL, 0))); }
static int p_pers_norand(void)	{ return (rc_errno(personality(PER_LINUX | ADDR_NO_RANDOMIZE))); }
static int p_pers_high(void)	{ return (rc_errno(syscall(__NR_personality, 0x100000000UL | READ_IMPLIES_EXEC))); }
static int p_syslog(void)	{ return (rc_errno(syscall(__NR_syslog, 10, NULL, 0))); }
static int p_uselib(void)	{ return (rc_errno(syscall(__NR_uselib, NULL))); }

/* --- allowed calls */
static int
p_fork(void)
{
	int	st;
	pid_t	pid = fork();

	if (pid == 0)
		_exit(7);
	if (pid == -1)
		return (errno);
	if (waitpid(pid, &st, 0) == -1)
		return (errno);
	return (WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : EIO);
}

static void *
thread_main(void *arg)
{
	return (arg);
}

static int
p_pthread(void)
{
	pthread_t	t;
	void		*ret;
	int		 rc;

	if ((rc = pthread_create(&t, NULL, thread_main, (void *)0x42)) != 0)
		return (rc);
	pthread_join(t, &ret);
	return (ret == (void *)0x42 ? 0 : EIO);
}

/* glibc's system() runs the shell through posix_spawn, which tries clone3. */
static int
p_system(void)
{
	int	st = system("exit 7");

	return (WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : EIO);
}

static int p_inet_stream(void)	{ return (close_rc(socket(AF_INET, SOCK_STREAM, 0))); }
static int p_inet6_dgram(void)	{ return (close_rc(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0))); }
static int p_unix(void)		{ return (close_rc(socket(AF_UNIX, SOCK_STREAM, 0))); }
static int p_nl_route(void)	{ return (close_rc(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE))); }

static int
p_socketpair_unix(void)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return (errno);
	close(sv[0]);
	close(sv[1]);
	return (0);
}

static int p_tiocgwinsz(void)	{ struct winsize ws; return (rc_errno(ioctl(-1, TIOCGWINSZ, &ws))); }
static int p_unshare0(void)	{ return (rc_errno(unshare(0))); }
static int p_unshare_files(void) { return (rc_errno(unshare(CLONE_FILES | CLONE_FS))); }
static int p_pers_linux(void)	{ return (rc_errno(personality(PER_LINUX))); }
static int p_uname(void)	{ struct utsname u; return (rc_errno(uname(&u))); }
static int p_getcwd(void)	{ char b[256]; return (getcwd(b, sizeof b) == NULL ? errno : 0); }

/* --- other ABIs */
static int
p_x32(void)
{
	long	rc = syscall(X32_BIT | __NR_getpid);

	return (rc == -1 ? errno : 0);
}

/* i386 getpid (20) through int 0x80; returns 0 when it ran */
static int
p_int80(void)
{
	long	ret = 20;

	__asm__ volatile ("int $0x80" : "+a" (ret) : : "memory");
	return (ret < 0 ? (int)-ret : 0);
}

/*
 * Runs fn in a child, under f when f is not NULL. Returns the errno (0 for
 * success), or -1 when the child did not report (killed, e.g. by SIGSYS).
 */
static int
run_child(const struct filter *f, probe_fn fn)
{
	int	p[2], st, res = -1;
	pid_t	pid;

	if (pipe(p) == -1)
		return (-1);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		close(p[0]);
		if (f != NULL) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
			    filter_install(f, NULL) == -1)
				_exit(99);
		}
		res = fn();
		if (write(p[1], &res, sizeof res) != sizeof res)
			_exit(98);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &res, sizeof res) != sizeof res)
		res = -1;
	close(p[0]);
	waitpid(pid, &st, 0);
	return (res);
}

static const char *
errname(int e)
{
	static char	buf[64];

	switch (e) {
	case 0:		return ("success");
	case -1:	return ("no report (child died)");
	case EPERM:	return ("EPERM");
	case ENOSYS:	return ("ENOSYS");
	case EINVAL:	return ("EINVAL");
	case EBADF:	return ("EBADF");
	case EFAULT:	return ("EFAULT");
	case ENOENT:	return ("ENOENT");
	case ESRCH:	return ("ESRCH");
	default:
		snprintf(buf, sizeof buf, "errno %d (%s)", e, strerror(e));
		return (buf);
	}
}

enum ctl { CTL_NONE, CTL_ANY, CTL_ROOT };

struct probe {
	const char	*name;
	probe_fn	 fn;
	int		 want;		/* errno under the filter; 0 = succeeds */
	enum ctl	 ctl;		/* control run without the filter: not EPERM/ENOSYS */
};

static const struct probe denied[] = {
	{ "mount", p_mount, EPERM, CTL_ANY },
	{ "umount2", p_umount2, EPERM, CTL_ANY },
	{ "pivot_root", p_pivot_root, EPERM, CTL_ROOT },
	{ "chroot", p_chroot, EPERM, CTL_ANY },
	{ "open_tree", p_open_tree, EPERM, CTL_ANY },
	{ "move_mount", p_move_mount, EPERM, CTL_ROOT },
	{ "fsopen", p_fsopen, EPERM, CTL_ROOT },
	{ "fsconfig", p_fsconfig, EPERM, CTL_ANY },
	{ "fsmount", p_fsmount, EPERM, CTL_ROOT },
	{ "fspick", p_fspick, EPERM, CTL_ROOT },
	{ "mount_setattr", p_mount_setattr, EPERM, CTL_ANY },
	{ "open_tree_attr (newer than libseccomp)", p_open_tree_attr, EPERM, CTL_ANY },
	{ "unshare(CLONE_NEWUSER)", p_unshare_user, EPERM, CTL_NONE },
	{ "unshare(CLONE_FS|CLONE_NEWUSER)", p_unshare_fs_user, EPERM, CTL_NONE },
	{ "unshare(CLONE_NEWNS)", p_unshare_ns, EPERM, CTL_ROOT },
	{ "unshare(CLONE_NEWNET)", p_unshare_net, EPERM, CTL_ROOT },
	{ "unshare(CLONE_NEWPID)", p_unshare_pid, EPERM, CTL_ROOT },
	{ "unshare(CLONE_NEWIPC)", p_unshare_ipc, EPERM, CTL_ROOT },
	{ "unshare(CLONE_NEWUTS)", p_unshare_uts, EPERM, CTL_ROOT },
	{ "unshare(CLONE_NEWCGROUP)", p_unshare_cgroup, EPERM, CTL_ROOT },
	{ "unshare(CLONE_NEWTIME)", p_unshare_time, EPERM, CTL_ROOT },
	{ "clone(CLONE_NEWUSER)", p_clone_user, EPERM, CTL_NONE },
	{ "clone3 (ENOSYS, so glibc falls back to clone)", p_clone3, ENOSYS, CTL_ANY },
	{ "setns", p_setns, EPERM, CTL_ANY },
	{ "ptrace(PTRACE_ATTACH)", p_ptrace, EPERM, CTL_ANY },
	{ "process_vm_readv", p_vm_readv, EPERM, CTL_ANY },
	{ "process_vm_writev", p_vm_writev, EPERM, CTL_ANY },
	{ "perf_event_open", p_perf, EPERM, CTL_ANY },
	{ "pidfd_getfd", p_pidfd_getfd, EPERM, CTL_ANY },
	{ "bpf", p_bpf, EPERM, CTL_ROOT },
	{ "keyctl", p_keyctl, EPERM, CTL_ANY },
	{ "add_key", p_add_key, EPERM, CTL_ANY },
	{ "request_key", p_request_key, EPERM, CTL_ANY },
	{ "init_module", p_init_module, EPERM, CTL_NONE },
	{ "finit_module", p_finit_module, EPERM, CTL_NONE },
	{ "delete_module", p_delete_module, EPERM, CTL_NONE },
	{ "kexec_load", p_kexec_load, EPERM, CTL_ROOT },
	{ "kexec_file_load", p_kexec_file, EPERM, CTL_ROOT },
	{ "reboot (bad magic)", p_reboot, EPERM, CTL_ROOT },
	{ "swapon", p_swapon, EPERM, CTL_ANY },
	{ "swapoff", p_swapoff, EPERM, CTL_NONE },
	{ "io_uring_setup", p_uring_setup, EPERM, CTL_NONE },
	{ "io_uring_enter", p_uring_enter, EPERM, CTL_ANY },
	{ "io_uring_register", p_uring_register, EPERM, CTL_ANY },
	{ "userfaultfd", p_userfaultfd, EPERM, CTL_ANY },
	{ "open_by_handle_at", p_open_by_handle, EPERM, CTL_NONE },
	{ "name_to_handle_at", p_name_to_handle, EPERM, CTL_ANY },
	{ "ioctl TIOCSTI", p_tiocsti, EPERM, CTL_ANY },
	{ "ioctl TIOCSTI | 1 << 32 (CVE-2019-10063)", p_tiocsti_high, EPERM, CTL_ANY },
	{ "ioctl TIOCSTI | 0xffffffff << 32", p_tiocsti_high2, EPERM, CTL_ANY },
	{ "ioctl TIOCLINUX", p_tioclinux, EPERM, CTL_ANY },
	{ "socket(AF_PACKET)", p_packet, EPERM, CTL_ANY },
	{ "socket(AF_PACKET, SOCK_RAW)", p_packet_real, EPERM, CTL_ROOT },
	{ "socket(AF_PACKET | 1 << 32)", p_packet_high, EPERM, CTL_ANY },
	{ "socket(AF_INET, SOCK_RAW)", p_raw4, EPERM, CTL_ANY },
	{ "socket(AF_INET, SOCK_RAW|SOCK_NONBLOCK|SOCK_CLOEXEC)", p_raw4_flags, EPERM, CTL_ANY },
	{ "socket(AF_INET6, SOCK_RAW)", p_raw6, EPERM, CTL_ANY },
	{ "socket(AF_INET, SOCK_PACKET)", p_inet_packet, EPERM, CTL_ROOT },
	{ "socket(AF_VSOCK)", p_vsock, EPERM, CTL_ANY },
	{ "socket(AF_ALG)", p_alg, EPERM, CTL_ANY },
	{ "socket(AF_KEY)", p_afkey, EPERM, CTL_ANY },
	{ "socket(AF_TIPC)", p_tipc, EPERM, CTL_ANY },
	{ "socket(AF_X25)", p_x25, EPERM, CTL_ANY },
	{ "socket(AF_NETLINK, NETLINK_AUDIT)", p_nl_audit, EPERM, CTL_ANY },
	{ "socket(AF_NETLINK, NETLINK_NETFILTER)", p_nl_netfilter, EPERM, CTL_ANY },
	{ "socketpair(AF_INET)", p_socketpair_inet, EPERM, CTL_ANY },
	{ "settimeofday(NULL, NULL)", p_settimeofday, EPERM, CTL_ROOT },
	{ "clock_settime", p_clock_settime, EPERM, CTL_ANY },
	{ "adjtimex", p_adjtimex, EPERM, CTL_ANY },
	{ "clock_adjtime", p_clock_adjtime, EPERM, CTL_ANY },
	{ "acct", p_acct, EPERM, CTL_NONE },
	{ "quotactl", p_quotactl, EPERM, CTL_NONE },
	{ "iopl(4)", p_iopl, EPERM, CTL_ANY },
	{ "ioperm", p_ioperm, EPERM, CTL_ANY },
	{ "modify_ldt", p_modify_ldt, EPERM, CTL_ANY },
	{ "personality(ADDR_NO_RANDOMIZE)", p_pers_norand, EPERM, CTL_ANY },
	{ "personality(READ_IMPLIES_EXEC | 1 << 32)", p_pers_high, EPERM, CTL_ANY },
	{ "syslog", p_syslog, EPERM, CTL_ROOT },
	{ "uselib", p_uselib, EPERM, CTL_ANY },
};

static const struct probe allowed[] = {
	{ "fork", p_fork, 0, CTL_NONE },
	{ "pthread_create (clone3 falls back to clone)", p_pthread, 0, CTL_NONE },
	{ "system() (posix_spawn)", p_system, 0, CTL_NONE },
	{ "socket(AF_INET, SOCK_STREAM)", p_inet_stream, 0, CTL_NONE },
	{ "socket(AF_INET6, SOCK_DGRAM)", p_inet6_dgram, 0, CTL_NONE },
	{ "socket(AF_UNIX)", p_unix, 0, CTL_NONE },
	{ "socket(AF_NETLINK, NETLINK_ROUTE)", p_nl_route, 0, CTL_NONE },
	{ "socketpair(AF_UNIX)", p_socketpair_unix, 0, CTL_NONE },
	{ "ioctl TIOCGWINSZ (EBADF, not EPERM)", p_tiocgwinsz, EBADF, CTL_NONE },
	{ "unshare(0)", p_unshare0, 0, CTL_NONE },
	{ "unshare(CLONE_FILES|CLONE_FS)", p_unshare_files, 0, CTL_NONE },
	{ "personality(PER_LINUX)", p_pers_linux, 0, CTL_NONE },
	{ "uname", p_uname, 0, CTL_NONE },
	{ "getcwd", p_getcwd, 0, CTL_NONE },
};

static void
check_probes(const struct filter *f, const struct probe *pr, size_t n, const char *what)
{
	bool	root = geteuid() == 0;

	for (size_t i = 0; i < n; i++) {
		int	got = run_child(f, pr[i].fn), ctl;

		if (!tap_ok(got == pr[i].want, "%s %s: %s", what, pr[i].name, errname(got)))
			tap_diag("want %s", errname(pr[i].want));
		if (pr[i].ctl == CTL_NONE || (pr[i].ctl == CTL_ROOT && !root))
			continue;
		ctl = run_child(NULL, pr[i].fn);
		tap_ok(ctl != pr[i].want && ctl != -1,
		    "  control: %s without the filter fails otherwise: %s",
		    pr[i].name, errname(ctl));
	}
}

static struct profile *
profile_new_test(void)
{
	return (xcalloc(1, sizeof (struct profile)));
}

static void
profile_free_test(struct profile *p)
{
	strv_clear(&p->seccomp_allow);
	strv_clear(&p->seccomp_deny);
	free(p);
}

static void
test_names(void)
{
	tap_ok(filter_name_valid("@mount"), "@mount is a group");
	tap_ok(filter_name_valid("@tty-inject"), "@tty-inject is a group");
	tap_ok(!filter_name_valid("@nope"), "@nope is not");
	tap_ok(filter_name_valid("ptrace"), "ptrace is a syscall");
	tap_ok(filter_name_valid("vm86"), "vm86 (i386 only) is a syscall name");
	tap_ok(!filter_name_valid("nosuchcall"), "nosuchcall is not");
	tap_ok(filter_name_valid("open_tree_attr"), "open_tree_attr (newer than libseccomp) is a syscall");
	tap_ok(!filter_name_valid(""), "empty is not");
	tap_ok(strstr(filter_group_names(), "@mount @userns") != NULL &&
	    strstr(filter_group_names(), "@io-uring") != NULL,
	    "group names: %s", filter_group_names());
	tap_ok(filter_group_of("keyctl") == filter_group_find("@keyring"),
	    "keyctl is in @keyring");
	tap_ok(filter_group_of("getpid") == NULL, "getpid is in no group");
}

static void
test_compile_errors(void)
{
	struct profile	*p = profile_new_test();
	struct filter	 f;
	struct merr	 e;

	strv_add(&p->seccomp_deny, "@nonsense");
	tap_ok(filter_compile(p, 0, &f, &e) == -1 && strstr(e.msg, "@nonsense") &&
	    strstr(e.msg, "@mount"), "unknown group refused: %s", e.msg);
	strv_clear(&p->seccomp_deny);
	strv_add(&p->seccomp_allow, "nosuchcall");
	tap_ok(filter_compile(p, 0, &f, &e) == -1 && strstr(e.msg, "nosuchcall"),
	    "unknown syscall refused: %s", e.msg);
	profile_free_test(p);
}

static void
test_relaxed(void)
{
	struct profile	*p = profile_new_test();
	struct filter	 f;
	struct merr	 e;
	int		 got;

	strv_add(&p->seccomp_allow, "@keyring");
	strv_add(&p->seccomp_allow, "ptrace");
	strv_add(&p->seccomp_deny, "uname");
	strv_add(&p->seccomp_deny, "getcwd");
	strv_add(&p->seccomp_allow, "getcwd");
	if (!tap_ok(filter_compile(p, 0, &f, &e) == 0, "relaxed profile compiles")) {
		tap_diag("%s", e.msg);
		profile_free_test(p);
		return;
	}
	got = run_child(&f, p_keyctl);
	tap_ok(got == EOPNOTSUPP, "seccomp-allow @keyring: keyctl reaches the kernel: %s",
	    errname(got));
	got = run_child(&f, p_add_key);
	tap_ok(got == EFAULT, "seccomp-allow @keyring: add_key reaches the kernel: %s",
	    errname(got));
	got = run_child(&f, p_ptrace);
	tap_ok(got == ESRCH, "seccomp-allow ptrace: ptrace reaches the kernel: %s",
	    errname(got));
	got = run_child(&f, p_vm_readv);
	tap_ok(got == EPERM, "the rest of @debug stays denied: %s", errname(got));
	got = run_child(&f, p_uname);
	tap_ok(got == EPERM, "seccomp-deny uname: %s", errname(got));
	got = run_child(&f, p_getcwd);
	tap_ok(got == 0, "seccomp-allow wins over seccomp-deny: getcwd %s", errname(got));
	got = run_child(&f, p_mount);
	tap_ok(got == EPERM, "default groups still denied: mount %s", errname(got));
	filter_release(&f);
	profile_free_test(p);

	p = profile_new_test();
	strv_add(&p->seccomp_allow, "@userns");
	tap_ok(filter_compile(p, 0, &f, &e) == 0, "profile relaxing @userns compiles");
	got = run_child(&f, p_clone3);
	tap_ok(got == EINVAL, "seccomp-allow @userns: clone3 reaches the kernel: %s",
	    errname(got));
	got = run_child(&f, p_setns);
	tap_ok(got == EBADF, "seccomp-allow @userns: setns reaches the kernel: %s",
	    errname(got));
	filter_release(&f);
	profile_free_test(p);
}

static void
test_abis(const struct filter *f)
{
	int	got, ctl;

	got = run_child(f, p_x32);
	tap_ok(got == ENOSYS, "x32 getpid (nr | 0x40000000): %s", errname(got));
	ctl = run_child(NULL, p_int80);
	got = run_child(f, p_int80);
	if (ctl == -1) {
		/* The bare host faults: the filter must not make it run. */
		tap_ok(got == -1 || got == ENOSYS,
		    "int 0x80 stays unreachable under the filter (the bare host faults too): %s",
		    errname(got));
		return;
	}
	tap_ok(ctl == 0, "  control: int 0x80 getpid runs without the filter: %s",
	    errname(ctl));
	tap_ok(got == ENOSYS, "int 0x80 getpid (i386 ABI): %s", errname(got));
}

/* --- notify */

#define SEEN_MAX	256

struct seen {
	struct run_event	ev[SEEN_MAX];
	char			text[SEEN_MAX][200];
	char			sys[SEEN_MAX][40];
	int			n, overflow;
};

static void
on_event(struct run *r, const struct run_event *ev)
{
	struct seen	*s = r->cb_arg;

	if (s->n == SEEN_MAX) {
		s->overflow++;
		return;
	}
	s->ev[s->n] = *ev;
	snprintf(s->text[s->n], sizeof s->text[0], "%s", ev->text);
	snprintf(s->sys[s->n], sizeof s->sys[0], "%s", ev->syscall);
	s->ev[s->n].text = s->text[s->n];
	s->ev[s->n].syscall = s->sys[s->n];
	s->n++;
}

static int
send_fd(int sock, int fd)
{
	char		 c = 'L';
	struct iovec	 iov = { &c, 1 };
	union {
		char		buf[CMSG_SPACE(sizeof (int))];
		struct cmsghdr	align;
	} u;
	struct msghdr	 mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr	*cm = CMSG_FIRSTHDR(&mh);

	memset(&u, 0, sizeof u);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof (int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return (sendmsg(sock, &mh, 0) == 1 ? 0 : -1);
}

static int
recv_fd(int sock)
{
	char		 c;
	struct iovec	 iov = { &c, 1 };
	union {
		char		buf[CMSG_SPACE(sizeof (int))];
		struct cmsghdr	align;
	} u;
	struct msghdr	 mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr	*cm;
	int		 fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return (-1);
	if ((cm = CMSG_FIRSTHDR(&mh)) != NULL && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return (fd);
}

#define LOOPS	1000

#define SPRAY	1500

struct nresult {
	int	keyctl_eperm;		/* of LOOPS */
	int	ptrace, tiocsti, clone3, x32, int80, listener, pthread, mount;
	int	spray_enosys;		/* of SPRAY */
};

static int
p_listener(void)
{
	struct sock_filter	allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog	prog = { 1, &allow };
	long			fd;

	fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	return (close_rc((int)fd));
}

/* mode 0: one of each, and a tight loop; mode 1: SPRAY distinct syscall
 * numbers (x32 ones, all unknown), which must not flood the events. */
static void
notify_child(const struct filter *f, int mode, bool int80_works, int sock, int out)
{
	struct nresult	res;
	int		listener;

	memset(&res, 0, sizeof res);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    filter_install(f, &listener) == -1 || listener == -1)
		_exit(99);
	if (send_fd(sock, listener) == -1)
		_exit(98);
	close(listener);
	if (mode == 1) {
		for (long i = 0; i < SPRAY; i++)
			if (syscall(X32_BIT | (2000 + i)) == -1 && errno == ENOSYS)
				res.spray_enosys++;
	} else {
		for (int i = 0; i < LOOPS; i++)
			if (p_keyctl() == EPERM)
				res.keyctl_eperm++;
		res.ptrace = p_ptrace();
		res.tiocsti = p_tiocsti_high();
		res.clone3 = p_clone3();
		res.x32 = p_x32();
		/* Only where the bare host delivers int 0x80 (main's control
		 * run): elsewhere the gate faults with SIGSEGV before seccomp
		 * sees the call, and the child would lose every result. */
		res.int80 = int80_works ? p_int80() : -1;
		res.listener = p_listener();
		res.pthread = p_pthread();
		res.mount = p_mount();
	}
	if (write(out, &res, sizeof res) != sizeof res)
		_exit(97);
	_exit(0);
}

/* Forks a notified child and serves its listener with notify.c until it
 * exits. Fills seen (events), res (what the child saw) and the counts taken
 * before notify_stop. Returns the child's wait status, -1 on setup failure. */
static int
notify_session(const struct filter *f, int mode, bool int80_works, struct seen *seen,
    struct nresult *res, uint64_t *total, uint64_t *keyctl, bool trail)
{
	struct merr	 e;
	struct loop	*l;
	struct notify	*n;
	struct run	 r;
	int		 sv[2], p[2], listener, st = -1, i;
	pid_t		 pid;

	memset(seen, 0, sizeof *seen);
	memset(res, 0xff, sizeof *res);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe(p) == -1)
		abort();
	if ((pid = fork()) == 0) {
		close(sv[0]);
		close(p[0]);
		notify_child(f, mode, int80_works, sv[1], p[1]);
	}
	close(sv[1]);
	close(p[1]);
	listener = recv_fd(sv[0]);
	close(sv[0]);
	if (!tap_ok(listener >= 0, "the child sent its listener fd")) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(p[0]);
		return (-1);
	}
	memset(&r, 0, sizeof r);
	r.on_event = on_event;
	r.cb_arg = seen;
	r.t_start = now_mono();
	if ((l = loop_new(&e)) == NULL || (n = notify_start(&r, l, listener, &e)) == NULL) {
		tap_ok(0, "notify_start: %s", e.msg);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(p[0]);
		return (-1);
	}
	/* With the exec trail the loop polls the listener directly. */
	if (trail)
		notify_trail(n, 0);
	/* Serve the loop until the child is gone (at most 20 s). */
	for (i = 0; i < 2000 && waitpid(pid, &st, WNOHANG) == 0; i++)
		loop_once(l, 10, &e);
	if (i == 2000) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (read(p[0], res, sizeof *res) != sizeof *res)
		tap_diag("the child wrote no results (status %#x)", st);
	close(p[0]);
	*total = notify_total(n);
	*keyctl = notify_count(n, "keyctl");
	notify_stop(n);
	loop_free(l);
	return (st);
}

static int
find_event(const struct seen *s, const char *sys, const char *text)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->sys[i], sys) == 0 && (text == NULL ||
		    strstr(s->text[i], text) != NULL))
			return (i);
	return (-1);
}

static void
test_notify(bool int80_works)
{
	struct filter	 f;
	struct merr	 e;
	static struct seen seen;
	struct nresult	 res;
	int		 st, i;
	uint64_t	 keyctl_events = 0, keyctl_sum = 0, total, keyctl, sum;

	if (!tap_ok(filter_compile(NULL, FILTER_NOTIFY, &f, &e) == 0,
	    "notify filter compiles")) {
		tap_diag("%s", e.msg);
		return;
	}
	if ((st = notify_session(&f, 0, int80_works, &seen, &res, &total, &keyctl,
	    false)) == -1)
		return;
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the notified child exited normally");
	tap_ok(total >= LOOPS, "notifications received: %llu", (unsigned long long)total);
	tap_ok(keyctl == LOOPS, "keyctl counted %llu times", (unsigned long long)keyctl);
	tap_ok(res.keyctl_eperm == LOOPS, "the supervisor answered EPERM to all %d keyctl calls (%d)",
	    LOOPS, res.keyctl_eperm);
	tap_ok(res.ptrace == EPERM, "ptrace: %s", errname(res.ptrace));
	tap_ok(res.tiocsti == EPERM, "ioctl TIOCSTI with high bits: %s", errname(res.tiocsti));
	tap_ok(res.clone3 == ENOSYS, "clone3: %s", errname(res.clone3));
	tap_ok(res.x32 == ENOSYS, "x32 getpid: %s", errname(res.x32));
	if (int80_works)
		tap_ok(res.int80 == ENOSYS, "int 0x80 getpid: %s", errname(res.int80));
	else
		tap_skip("int 0x80 getpid under notify: the bare host does not deliver int 0x80");
	tap_ok(res.listener == EPERM,
	    "a nested filter with its own listener is refused (it could answer CONTINUE): %s",
	    errname(res.listener));
	tap_ok(res.pthread == 0, "threads still work under notify: %s", errname(res.pthread));
	tap_ok(res.mount == EPERM, "mount: %s", errname(res.mount));

	for (i = 0; i < seen.n; i++) {
		tap_ok(seen.ev[i].kind == EV_SYSCALL_DENIED, "event %d: [%s x%llu] %s", i,
		    seen.sys[i], (unsigned long long)seen.ev[i].count, seen.text[i]);
		if (strcmp(seen.sys[i], "keyctl") == 0) {
			keyctl_events++;
			keyctl_sum += seen.ev[i].count;
		}
	}
	tap_ok(seen.overflow == 0 && seen.n < 30, "aggregated: %d events for %llu denials",
	    seen.n + seen.overflow, (unsigned long long)LOOPS + 8);
	tap_ok(keyctl_events == NOTIFY_REPORT_EACH + 1 && keyctl_sum == LOOPS,
	    "keyctl: %d single events and one total, counts add up to %d (%llu events, %llu)",
	    NOTIFY_REPORT_EACH, LOOPS, (unsigned long long)keyctl_events,
	    (unsigned long long)keyctl_sum);
	i = find_event(&seen, "keyctl", "more times");
	tap_ok(i >= 0 && seen.ev[i].count == LOOPS - NOTIFY_REPORT_EACH,
	    "the total says how many more: %s", i >= 0 ? seen.text[i] : "(none)");
	tap_ok(find_event(&seen, "ptrace", "ptrace(PTRACE_ATTACH, 1073741808)") >= 0,
	    "ptrace reported with its request and pid");
	tap_ok(find_event(&seen, "ioctl", "ioctl(-1, TIOCSTI [0x100005412])") >= 0,
	    "TIOCSTI with high bits reported as such");
	tap_ok(find_event(&seen, "clone3", NULL) < 0, "clone3 is not reported (glibc tries it for every thread)");
	tap_ok(find_event(&seen, "x32:getpid", NULL) >= 0, "x32 call reported as x32:getpid");
	if (int80_works)
		tap_ok(find_event(&seen, "i386:getpid", NULL) >= 0, "int 0x80 reported as i386:getpid");
	else
		tap_skip("int 0x80 reported as i386:getpid: the bare host does not deliver int 0x80");
	tap_ok(find_event(&seen, "seccomp", "seccomp(0x1") >= 0, "the listener attempt is reported");

	/* Many distinct calls: memory and events stay bounded, counts add up. */
	if ((st = notify_session(&f, 1, int80_works, &seen, &res, &total, &keyctl,
	    false)) == -1) {
		filter_release(&f);
		return;
	}
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && res.spray_enosys == SPRAY,
	    "%d distinct x32 numbers all answered ENOSYS (%d)", SPRAY, res.spray_enosys);
	tap_ok(total == SPRAY, "all %d notified (%llu)", SPRAY, (unsigned long long)total);
	for (i = 0, sum = 0; i < seen.n; i++)
		sum += seen.ev[i].count;
	tap_ok(seen.overflow == 0 && seen.n <= 101,
	    "a spray of %d distinct syscalls gives %d events", SPRAY, seen.n + seen.overflow);
	tap_ok(sum == SPRAY, "their counts add up to %d (%llu)", SPRAY, (unsigned long long)sum);
	i = find_event(&seen, "other", NULL);
	tap_ok(i >= 0, "the rest is one \"other\" total: %s", i >= 0 ? seen.text[i] : "(none)");

	/* With the exec trail on, the loop polls the listener itself
	 * (loop_direct) instead of through epoll: every call is still
	 * answered, and the loop ends when the child does. */
	if ((st = notify_session(&f, 0, int80_works, &seen, &res, &total, &keyctl,
	    true)) == -1) {
		filter_release(&f);
		return;
	}
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && res.keyctl_eperm == LOOPS &&
	    keyctl == LOOPS && res.mount == EPERM,
	    "listener polled directly: all %d keyctl calls answered EPERM (%d), mount %s",
	    LOOPS, res.keyctl_eperm, errname(res.mount));
	filter_release(&f);
}

static void
test_describe(void)
{
	char		buf[160];
	uint64_t	a[6] = { 0 };

	a[0] = AF_PACKET; a[1] = SOCK_RAW | SOCK_CLOEXEC; a[2] = 0x300;
	notify_describe(buf, sizeof buf, AUDIT_ARCH_X86_64, __NR_socket, a);
	tap_ok(strcmp(buf, "socket(AF_PACKET, SOCK_RAW, 768)") == 0, "describe: %s", buf);
	a[0] = AF_NETLINK; a[1] = SOCK_RAW; a[2] = NETLINK_AUDIT;
	notify_describe(buf, sizeof buf, AUDIT_ARCH_X86_64, __NR_socket, a);
	tap_ok(strcmp(buf, "socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)") == 0, "describe: %s", buf);
	a[0] = CLONE_NEWUSER; a[1] = 0;
	notify_describe(buf, sizeof buf, AUDIT_ARCH_X86_64, __NR_unshare, a);
	tap_ok(strcmp(buf, "unshare(CLONE_NEWUSER)") == 0, "describe: %s", buf);
	a[0] = CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD;
	notify_describe(buf, sizeof buf, AUDIT_ARCH_X86_64, __NR_clone, a);
	tap_ok(strcmp(buf, "clone(CLONE_NEWUSER|CLONE_NEWNS|0x11)") == 0, "describe: %s", buf);
	a[0] = 0; a[1] = TIOCSTI;
	notify_describe(buf, sizeof buf, AUDIT_ARCH_X86_64, __NR_ioctl, a);
	tap_ok(strcmp(buf, "ioctl(0, TIOCSTI)") == 0, "describe: %s", buf);
	notify_describe(buf, sizeof buf, AUDIT_ARCH_X86_64, __NR_mount, a);
	tap_ok(strcmp(buf, "mount(...)") == 0, "describe: %s", buf);
	notify_describe(buf, sizeof buf, AUDIT_ARCH_X86_64, 467, a);
	tap_ok(strcmp(buf, "open_tree_attr(...)") == 0, "describe: %s", buf);
	notify_describe(buf, sizeof buf, AUDIT_ARCH_I386, 20, a);
	tap_ok(strcmp(buf, "i386:getpid(...)") == 0, "describe: %s", buf);
}

/* What an observed open's path is matched as (notify.c, protect entries). */
static void
test_fold(void)
{
	static const char *const cases[][2] = {
		{ "/w/.git/hooks/x", "/w/.git/hooks/x" },
		{ "/w/.git/../.git/hooks//x", "/w/.git/hooks/x" },
		{ "/w/./.bashrc", "/w/.bashrc" },
		{ "/w/sub/../../w/.bashrc", "/w/.bashrc" },
		{ "/../../etc/passwd", "/etc/passwd" },
		{ "//", "/" },
		{ "/a/b/..", "/a" },
		{ "/a/..", "/" },
		{ "/a/...", "/a/..." },
		{ "/a/.b/", "/a/.b" },
		{ "rel/x", "/rel/x" },
		{ "", "/" },
	};

	for (size_t i = 0; i < nitems(cases); i++) {
		autofree char	*got = path_fold(cases[i][0]);

		tap_ok(strcmp(got, cases[i][1]) == 0, "path_fold(\"%s\") = %s (got %s)",
		    cases[i][0], cases[i][1], got);
	}
}

/* A cache file's reader: what it takes back is what was written, and it
 * takes nothing cut short, changed, of another key or with other flags. */
static void
test_cache(const struct filter *f)
{
	uint8_t		 key[SHA256_LEN], other[SHA256_LEN];
	struct filter	 g;
	uint8_t		*b;
	size_t		 n;
	struct profile	 p;

	memset(&p, 0, sizeof p);
	tap_ok(filter_cache_key(NULL, FILTER_NOTIFY, "libseccomp 2.5.4", key) == 0,
	    "cache: a key for the default filter");
	strv_add(&p.seccomp_allow, "@userns");
	filter_cache_key(&p, FILTER_NOTIFY, "libseccomp 2.5.4", other);
	tap_ok(memcmp(key, other, SHA256_LEN) != 0,
	    "cache: a profile that relaxes a group has another key");
	filter_cache_key(NULL, FILTER_NOTIFY | FILTER_EXEC_TRAIL, "libseccomp 2.5.4", other);
	tap_ok(memcmp(key, other, SHA256_LEN) != 0, "cache: other flags, another key");
	filter_cache_key(NULL, FILTER_NOTIFY, "libseccomp 2.6.0", other);
	tap_ok(memcmp(key, other, SHA256_LEN) != 0,
	    "cache: another libseccomp, another key");
	strv_clear(&p.seccomp_allow);

	b = filter_cache_format(key, f, &n);
	tap_ok(filter_cache_parse(b, n, key, f->flags, &g) == 0 &&
	    g.prog.len == f->prog.len && g.flags == f->flags &&
	    memcmp(g.prog.filter, f->prog.filter, n - 8 - 2 * SHA256_LEN - 8) == 0,
	    "cache: a file reads back as the program written (%zu bytes)", n);
	filter_release(&g);
	tap_ok(filter_cache_parse(b, n, other, f->flags, &g) == -1 &&
	    g.prog.filter == NULL, "cache: a file of another key is refused");
	tap_ok(filter_cache_parse(b, n - 1, key, f->flags, &g) == -1,
	    "cache: a file cut short is refused");
	b[60] ^= 0x40;
	tap_ok(filter_cache_parse(b, n, key, f->flags, &g) == -1,
	    "cache: a changed byte is refused");
	b[60] ^= 0x40;
	tap_ok(filter_cache_parse(b, n, key, f->flags | FILTER_EXEC_TRAIL, &g) == -1,
	    "cache: a program without a flag asked for is refused");
	tap_ok(filter_cache_parse(b, n, key, f->flags | FILTER_CONNECT, &g) == 0,
	    "cache: but one the compile cleared FILTER_CONNECT from is taken");
	filter_release(&g);
	tap_ok(filter_cache_parse(b, n, key, 0, &g) == -1,
	    "cache: a program with flags not asked for is refused");
	free(b);
}

int
main(void)
{
	struct filter	f;
	struct merr	e;
	bool		int80;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_names();
	test_compile_errors();
	test_describe();
	test_fold();
	if (!tap_ok(filter_compile(NULL, 0, &f, &e) == 0, "default filter compiles")) {
		tap_diag("%s", e.msg);
		return (tap_done());
	}
	tap_ok(f.prog.len > 20 && f.prog.len < BPF_MAXINSNS, "%u BPF instructions",
	    f.prog.len);
	check_probes(&f, denied, nitems(denied), "denied:");
	check_probes(&f, allowed, nitems(allowed), "allowed:");
	test_abis(&f);
	int80 = run_child(NULL, p_int80) == 0;
	filter_release(&f);
	tap_ok(filter_compile(NULL, FILTER_NOTIFY | FILTER_OBSERVE_WRITE |
	    FILTER_OBSERVE_CONNECT, &f, &e) == 0 && f.prog.len < BPF_MAXINSNS,
	    "with observed opens and connects: %u BPF instructions", f.prog.len);
	filter_release(&f);
	tap_ok(filter_compile(NULL, FILTER_NOTIFY, &f, &e) == 0, "with notification");
	test_cache(&f);
	filter_release(&f);
	test_relaxed();
	test_notify(int80);
	return (tap_done());
}
