/* probe.c: runs INSIDE the sandbox (tests/attack/syscalls.sh copies it into
 * the workspace) and tries one attack named on its command line. It prints
 * one line, "NAME: blocked errno=EPERM" or "NAME: SUCCEEDED ...", and exits 0
 * when the attack failed, 1 when it worked, 2 on a usage error. A test must
 * see the line: a probe that did not run proves nothing.
 *
 * Run without arguments (make check runs every check program) it prints a
 * TAP skip. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/quota.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/sched.h>

#ifndef TIOCLINUX
#define TIOCLINUX	0x541C
#endif

static const char	*attack;

static int
blocked(int err)
{
	const char	*n = strerrorname_np(err);

	printf("%s: blocked errno=%s\n", attack, n != NULL ? n : "?");
	return (0);
}

static int
succeeded(const char *what)
{
	printf("%s: SUCCEEDED %s\n", attack, what);
	return (1);
}

/* The usual shape: a call that returns -1 and sets errno when blocked. */
static int
verdict(long rc)
{
	if (rc == -1)
		return (blocked(errno));
	return (succeeded("(the call returned success)"));
}

static int
verdict_fd(long fd)
{
	if (fd >= 0)
		close((int)fd);
	return (verdict(fd >= 0 ? 0 : -1));
}

static int
status_field(const char *key, char *val, size_t len)
{
	FILE	*f = fopen("/proc/self/status", "r");
	char	 line[256];
	size_t	 kl = strlen(key);

	if (f == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char	*v = line + kl + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(val, len, "%s", v);
			fclose(f);
			return (0);
		}
	}
	fclose(f);
	return (-1);
}

static int
a_clone_user(void)
{
	long	pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return (verdict(pid > 0 ? 0 : -1));
}

static int
a_clone3_user(void)
{
	struct clone_args	ca;
	long			pid;

	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWUSER;
	ca.exit_signal = SIGCHLD;
	pid = syscall(__NR_clone3, &ca, sizeof ca);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return (verdict(pid > 0 ? 0 : -1));
}

static int
a_vm_readv(pid_t pid)
{
	char		buf[16];
	struct iovec	local = { buf, sizeof buf };
	/* Any address: EFAULT would still mean the call got through. */
	struct iovec	remote = { (void *)0x400000, sizeof buf };
	long		rc = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (rc == -1 && errno == EFAULT)
		return (succeeded("(reached the other process's memory map: EFAULT)"));
	return (verdict(rc));
}

static int
a_bpf(void)
{
	union bpf_attr	attr;

	memset(&attr, 0, sizeof attr);
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	return (verdict_fd(syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof attr)));
}

static int
a_perf(void)
{
	struct perf_event_attr	pa;

	memset(&pa, 0, sizeof pa);
	pa.type = PERF_TYPE_SOFTWARE;
	pa.size = sizeof pa;
	pa.config = PERF_COUNT_SW_CPU_CLOCK;
	pa.exclude_kernel = 1;
	return (verdict_fd(syscall(__NR_perf_event_open, &pa, 0, -1, -1, 0)));
}

static int
a_setns(void)
{
	int	fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		printf("%s: cannot open a namespace file: %s\n", attack, strerror(errno));
		return (2);
	}
	return (verdict(setns(fd, 0)));
}

/* Types into the terminal: if it worked the shell reading fd 0 after us
 * would run it. */
static int
a_tiocsti(unsigned long req)
{
	const char	*s = "echo MOAT-INJECTED\n";

	for (const char *p = s; *p != '\0'; p++)
		if (syscall(__NR_ioctl, 0, req, p) == -1)
			return (blocked(errno));
	return (succeeded("(characters pushed into the terminal)"));
}

static int
a_tioclinux(void)
{
	char	sub = 6;	/* TIOCL_GETSHIFTSTATE */

	return (verdict(ioctl(0, TIOCLINUX, &sub)));
}

static int
a_io_uring(void)
{
	struct io_uring_params	p;

	memset(&p, 0, sizeof p);
	return (verdict_fd(syscall(__NR_io_uring_setup, 8, &p)));
}

/* The "shocker" escape: open an inode of the host filesystem by handle. */
static int
a_open_by_handle(void)
{
	struct {
		struct file_handle	fh;
		unsigned char		bytes[8];
	} h;

	memset(&h, 0, sizeof h);
	h.fh.handle_bytes = 8;
	h.fh.handle_type = 1;
	h.bytes[0] = 2;		/* inode 2: the root directory of most filesystems */
	return (verdict_fd(open_by_handle_at(AT_FDCWD, &h.fh, O_RDONLY)));
}

static int
a_x32(void)
{
	return (verdict(syscall(0x40000000L | __NR_getpid) > 0 ? 0 : -1));
}

static int
a_int80(void)
{
	long	ret = 20;	/* i386 getpid */

	__asm__ volatile ("int $0x80" : "+a" (ret) : : "memory");
	if (ret < 0)
		return (blocked((int)-ret));
	return (succeeded("(i386 getpid ran)"));
}

static int
a_capeff(void)
{
	char	v[64];

	if (status_field("CapEff", v, sizeof v) == -1) {
		printf("%s: cannot read /proc/self/status\n", attack);
		return (2);
	}
	if (strcmp(v, "0000000000000000") != 0)
		return (succeeded(v));
	printf("%s: blocked CapEff=%s\n", attack, v);
	return (0);
}

static int
a_seccomp_mode(void)
{
	char	v[64];

	if (status_field("Seccomp", v, sizeof v) == -1) {
		printf("%s: cannot read /proc/self/status\n", attack);
		return (2);
	}
	if (strcmp(v, "2") != 0)
		return (succeeded(v));
	printf("%s: blocked Seccomp=%s\n", attack, v);
	return (0);
}

static int
a_clock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (verdict(clock_settime(CLOCK_REALTIME, &ts)));
}

int
main(int argc, char **argv)
{
	const char	*a;
	char		 v = 'x';

	if (argc < 2) {
		printf("1..0 # SKIP helper of tests/attack/syscalls.sh, not a test\n");
		return (0);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	attack = a = argv[1];
	if (strcmp(a, "sanity") == 0) {
		printf("sanity: ran pid=%d uid=%d\n", (int)getpid(), (int)getuid());
		return (0);
	}
	if (strcmp(a, "ptrace-init") == 0)
		return (verdict(ptrace(PTRACE_ATTACH, 1, NULL, NULL)));
	if (strcmp(a, "ptrace-parent") == 0)
		return (verdict(ptrace(PTRACE_ATTACH, getppid(), NULL, NULL)));
	if (strcmp(a, "ptrace-traceme") == 0)
		return (verdict(ptrace(PTRACE_TRACEME, 0, NULL, NULL)));
	if (strcmp(a, "process-vm-readv") == 0)
		return (a_vm_readv(getppid() > 0 ? getppid() : 1));
	if (strcmp(a, "keyctl") == 0)
		return (verdict(syscall(__NR_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */,
		    -3 /* KEY_SPEC_SESSION_KEYRING */, 0)));
	if (strcmp(a, "add-key") == 0)
		return (verdict(syscall(__NR_add_key, "user", "moat", "x", 1,
		    -2 /* KEY_SPEC_PROCESS_KEYRING */)));
	if (strcmp(a, "bpf") == 0)
		return (a_bpf());
	if (strcmp(a, "perf-event-open") == 0)
		return (a_perf());
	if (strcmp(a, "mount-tmpfs") == 0)
		return (verdict(mount("tmpfs", "/tmp", "tmpfs", 0, NULL)));
	if (strcmp(a, "umount") == 0)
		return (verdict(umount2("/proc", MNT_DETACH)));
	if (strcmp(a, "unshare-user") == 0)
		return (verdict(unshare(CLONE_NEWUSER)));
	if (strcmp(a, "clone-user") == 0)
		return (a_clone_user());
	if (strcmp(a, "clone3-user") == 0)
		return (a_clone3_user());
	if (strcmp(a, "setns") == 0)
		return (a_setns());
	if (strcmp(a, "tiocsti") == 0)
		return (a_tiocsti(TIOCSTI));
	if (strcmp(a, "tiocsti-high") == 0)
		return (a_tiocsti(0x100000000UL | TIOCSTI));
	if (strcmp(a, "tioclinux") == 0)
		return (a_tioclinux());
	if (strcmp(a, "af-packet") == 0)
		return (verdict_fd(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))));
	if (strcmp(a, "raw-socket") == 0)
		return (verdict_fd(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)));
	if (strcmp(a, "raw6-socket") == 0)
		return (verdict_fd(socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6)));
	if (strcmp(a, "vsock") == 0)
		return (verdict_fd(socket(AF_VSOCK, SOCK_STREAM, 0)));
	if (strcmp(a, "netlink-audit") == 0)
		return (verdict_fd(socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */)));
	if (strcmp(a, "io-uring") == 0)
		return (a_io_uring());
	if (strcmp(a, "userfaultfd") == 0)
		return (verdict_fd(syscall(__NR_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */)));
	if (strcmp(a, "open-by-handle") == 0)
		return (a_open_by_handle());
	if (strcmp(a, "kexec-load") == 0)
		return (verdict(syscall(__NR_kexec_load, 0, 0, NULL, 0)));
	if (strcmp(a, "init-module") == 0)
		return (verdict(syscall(__NR_init_module, &v, 1, "")));
	if (strcmp(a, "reboot") == 0)
		return (verdict(reboot(LINUX_REBOOT_CMD_CAD_OFF)));
	if (strcmp(a, "swapon") == 0)
		return (verdict(syscall(__NR_swapon, "/nonexistent", 0)));
	if (strcmp(a, "clock") == 0)
		return (a_clock());
	if (strcmp(a, "personality") == 0)
		return (verdict(personality(PER_LINUX | ADDR_NO_RANDOMIZE) == -1 ? -1 : 0));
	if (strcmp(a, "acct") == 0)
		return (verdict(syscall(__NR_acct, NULL)));
	if (strcmp(a, "quotactl") == 0)
		return (verdict(syscall(__NR_quotactl, QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL)));
	if (strcmp(a, "iopl") == 0)
		return (verdict(syscall(__NR_iopl, 3)));
	if (strcmp(a, "modify-ldt") == 0) {
		char	ldt[16];

		return (verdict(syscall(__NR_modify_ldt, 0, ldt, sizeof ldt) == -1 ? -1 : 0));
	}
	if (strcmp(a, "uselib") == 0)
		return (verdict(syscall(__NR_uselib, "/nonexistent")));
	if (strcmp(a, "syslog") == 0)	/* SYSLOG_ACTION_SIZE_BUFFER */
		return (verdict(syscall(__NR_syslog, 10, NULL, 0) == -1 ? -1 : 0));
	if (strcmp(a, "x32") == 0)
		return (a_x32());
	if (strcmp(a, "int80") == 0)
		return (a_int80());
	if (strcmp(a, "capeff") == 0)
		return (a_capeff());
	if (strcmp(a, "seccomp-mode") == 0)
		return (a_seccomp_mode());
	fprintf(stderr, "probe: unknown attack \"%s\"\n", a);
	return (2);
}
