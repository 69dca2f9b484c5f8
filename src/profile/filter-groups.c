/* filter-groups.c: the seccomp deny list as data, in systemd-style named
 * groups, and the lookups of syscall and group names. Read by the profile
 * parser (to validate names) and by sandbox/filter.c in the supervisor (to
 * compile the filter); it lives in the profile layer because both read it.
 * No code runs here but lookups.
 *
 * Sources: systemd's seccomp-util.c groups, flatpak's and bubblewrap's
 * blocklists (flatpak-run.c setup_seccomp), Docker's default profile. The
 * list is ours: every group is denied by default and a profile relaxes one
 * with seccomp-allow. What is left allowed, and why:
 *  - kcmp: compares kernel objects of processes the caller may already
 *    ptrace-read, all inside the sandbox's pid namespace.
 *  - mbind/set_mempolicy/move_pages/migrate_pages: NUMA placement; JVMs use
 *    them and they need CAP_SYS_NICE to touch other processes.
 *  - sethostname: the sandbox has its own UTS namespace and no capabilities.
 *  - NETLINK_ROUTE sockets: glibc's getaddrinfo (AI_ADDRCONFIG) and ip(8)
 *    read addresses and routes through them; the sandbox's network namespace
 *    is its own, and changing it needs CAP_NET_ADMIN, which is dropped. Every
 *    other netlink family (netfilter, xfrm, audit, uevent, generic: the
 *    large and bug-prone ones) is denied.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "filter-groups.h"
#include "base/util.h"


#define LOW32		0xffffffffULL
/* A rule on every call, or on calls whose arguments pass all tests. */
#define ALL(name)	{ name, EPERM, false, 0, { { 0, FOP_EQ, 0, 0 } } }
#define IF1(name, a)	{ name, EPERM, false, 1, { a } }
#define IF2(name, a, b)	{ name, EPERM, false, 2, { a, b } }
/* (int)arg == v: the kernel truncates int arguments, so only the low half counts. */
#define EQ32(n, v)	{ n, FOP_EQ, LOW32, (uint64_t)(v) }
/* every bit of b set in arg */
#define BITS(n, b)	{ n, FOP_EQ, (uint64_t)(b), (uint64_t)(b) }
/* the socket type without SOCK_NONBLOCK and SOCK_CLOEXEC */
#define STYPE(n, t)	{ n, FOP_EQ, 0xf, (uint64_t)(t) }
#define NE(n, v)	{ n, FOP_NE, 0, (uint64_t)(v) }
#define GT(n, v)	{ n, FOP_GT, 0, (uint64_t)(v) }

static const struct filter_rule rules_mount[] = {
	ALL("mount"), ALL("umount"), ALL("umount2"), ALL("pivot_root"),
	ALL("chroot"), ALL("move_mount"), ALL("open_tree"), ALL("fsopen"),
	ALL("fsconfig"), ALL("fsmount"), ALL("fspick"), ALL("mount_setattr"),
	ALL("open_tree_attr"),
};

/*
 * A nested user namespace gives back every capability, and with them the
 * kernel's whole namespaced attack surface (nf_tables, overlayfs, ...). Every
 * CLONE_NEW* flag is denied, not only CLONE_NEWUSER: without capabilities the
 * others fail anyway, and this way they are reported. clone3 passes its flags
 * in memory, where seccomp cannot look, so it fails with ENOSYS: glibc then
 * falls back to clone, whose flags are a register. It is quiet (not
 * reported) because glibc tries it for every thread and posix_spawn.
 */
#define NS_FLAGS(sys, n) \
	IF1(sys, BITS(n, CLONE_NEWNS)), IF1(sys, BITS(n, CLONE_NEWCGROUP)), \
	IF1(sys, BITS(n, CLONE_NEWUTS)), IF1(sys, BITS(n, CLONE_NEWIPC)), \
	IF1(sys, BITS(n, CLONE_NEWUSER)), IF1(sys, BITS(n, CLONE_NEWPID)), \
	IF1(sys, BITS(n, CLONE_NEWNET))
static const struct filter_rule rules_userns[] = {
	NS_FLAGS("unshare", 0),
	IF1("unshare", BITS(0, CLONE_NEWTIME)),	/* in clone, 0x80 is CSIGNAL */
	NS_FLAGS("clone", 0),			/* x86_64: flags are the first argument */
	{ "clone3", ENOSYS, true, 0, { { 0, FOP_EQ, 0, 0 } } },
	ALL("setns"),
};

static const struct filter_rule rules_debug[] = {
	ALL("ptrace"), ALL("process_vm_readv"), ALL("process_vm_writev"),
	ALL("perf_event_open"), ALL("pidfd_getfd"),
};

static const struct filter_rule rules_bpf[] = {
	ALL("bpf"),
};

static const struct filter_rule rules_keyring[] = {
	ALL("keyctl"), ALL("add_key"), ALL("request_key"),
};

static const struct filter_rule rules_module[] = {
	ALL("init_module"), ALL("finit_module"), ALL("delete_module"),
};

static const struct filter_rule rules_kexec[] = {
	ALL("kexec_load"), ALL("kexec_file_load"),
};

static const struct filter_rule rules_reboot[] = {
	ALL("reboot"),
};

static const struct filter_rule rules_swap[] = {
	ALL("swapon"), ALL("swapoff"),
};

/* io_uring runs its operations (socket, openat, connect, ...) from kernel
 * workers that seccomp never sees: relaxing this group also lets those
 * calls past every argument test in this file. */
static const struct filter_rule rules_io_uring[] = {
	ALL("io_uring_setup"), ALL("io_uring_enter"), ALL("io_uring_register"),
};

static const struct filter_rule rules_userfaultfd[] = {
	ALL("userfaultfd"),
};

static const struct filter_rule rules_handle[] = {
	ALL("open_by_handle_at"), ALL("name_to_handle_at"),
};

/* The request is an unsigned int to the kernel: TIOCSTI | 1 << 32 is TIOCSTI
 * (CVE-2019-10063), so only the low 32 bits are compared. */
static const struct filter_rule rules_tty_inject[] = {
	IF1("ioctl", EQ32(1, TIOCSTI)),
	IF1("ioctl", EQ32(1, TIOCLINUX)),
};

/* The socket type is masked with SOCK_TYPE_MASK (0xf) by the kernel, which
 * drops SOCK_NONBLOCK and SOCK_CLOEXEC; AF_INET with the obsolete SOCK_PACKET
 * type is turned into a packet socket by __sock_create. */
static const struct filter_rule rules_raw_net[] = {
	IF1("socket", EQ32(0, AF_PACKET)),
	IF2("socket", EQ32(0, AF_INET), STYPE(1, SOCK_RAW)),
	IF2("socket", EQ32(0, AF_INET6), STYPE(1, SOCK_RAW)),
	IF2("socket", EQ32(0, AF_INET), STYPE(1, SOCK_PACKET)),
};

/* NE on all 64 bits: a protocol with garbage in the high half is denied too,
 * which only refuses calls the kernel would read as some protocol anyway. */
static const struct filter_rule rules_netlink[] = {
	IF2("socket", EQ32(0, AF_NETLINK), NE(2, NETLINK_ROUTE)),
};

/*
 * Address families: only AF_UNIX, AF_INET, AF_INET6, AF_NETLINK (above) and
 * AF_PACKET (@raw-net) stay. The rare families (vsock, TIPC, RDS, X.25, CAN,
 * Bluetooth, AF_ALG, AF_KEY, ...) are where the kernel's socket bugs live and
 * no build tool needs them. "Greater than AF_PACKET" on all 64 bits also
 * catches any family with high bits set.
 */
static const struct filter_rule rules_socket_family[] = {
	IF1("socket", GT(0, AF_PACKET)),
	IF1("socket", EQ32(0, AF_AX25)), IF1("socket", EQ32(0, AF_IPX)),
	IF1("socket", EQ32(0, AF_APPLETALK)), IF1("socket", EQ32(0, AF_NETROM)),
	IF1("socket", EQ32(0, AF_BRIDGE)), IF1("socket", EQ32(0, AF_ATMPVC)),
	IF1("socket", EQ32(0, AF_X25)), IF1("socket", EQ32(0, AF_ROSE)),
	IF1("socket", EQ32(0, AF_DECnet)), IF1("socket", EQ32(0, AF_NETBEUI)),
	IF1("socket", EQ32(0, AF_SECURITY)), IF1("socket", EQ32(0, AF_KEY)),
	IF1("socketpair", NE(0, AF_UNIX)),
};

static const struct filter_rule rules_clock[] = {
	ALL("settimeofday"), ALL("clock_settime"), ALL("clock_adjtime"),
	ALL("adjtimex"), ALL("stime"),
};

static const struct filter_rule rules_acct[] = {
	ALL("acct"),
};

static const struct filter_rule rules_quota[] = {
	ALL("quotactl"), ALL("quotactl_fd"),
};

static const struct filter_rule rules_raw_io[] = {
	ALL("iopl"), ALL("ioperm"),
};

/* 16-bit segments and vm86: Wine's business, historically a source of leaks. */
static const struct filter_rule rules_cpu_emulation[] = {
	ALL("modify_ldt"), ALL("vm86"), ALL("vm86old"),
};

/* Turning off ASLR for children, or mapping page zero, helps exploits.
 * personality(0xffffffff) only queries and has every bit set, so it is let
 * through; the ordinary PER_LINUX/PER_LINUX32 switches stay allowed. */
#define PERS(flag)	IF1("personality", BITS(0, flag))
static const struct filter_rule rules_personality[] = {
	PERS(ADDR_NO_RANDOMIZE), PERS(READ_IMPLIES_EXEC), PERS(ADDR_COMPAT_LAYOUT),
	PERS(MMAP_PAGE_ZERO),
};

static const struct filter_rule rules_obsolete[] = {
	ALL("uselib"), ALL("nfsservctl"), ALL("lookup_dcookie"), ALL("_sysctl"),
	ALL("create_module"), ALL("get_kernel_syms"), ALL("query_module"),
	ALL("afs_syscall"), ALL("getpmsg"), ALL("putpmsg"), ALL("security"),
	ALL("tuxcall"), ALL("vserver"),
};

static const struct filter_rule rules_syslog[] = {
	ALL("syslog"),
};

#define GROUP(n, d, r)	{ n, d, r, nitems(r) }
const struct filter_group filter_groups[] = {
	GROUP("@mount", "mount, umount, pivot_root, chroot, the new mount API", rules_mount),
	GROUP("@userns", "new namespaces (nested user namespaces above all), setns, clone3", rules_userns),
	GROUP("@debug", "ptrace, process_vm_readv/writev, perf_event_open, pidfd_getfd", rules_debug),
	GROUP("@bpf", "bpf", rules_bpf),
	GROUP("@keyring", "the kernel keyring: keyctl, add_key, request_key", rules_keyring),
	GROUP("@module", "loading and removing kernel modules", rules_module),
	GROUP("@kexec", "loading a new kernel", rules_kexec),
	GROUP("@reboot", "reboot", rules_reboot),
	GROUP("@swap", "swapon, swapoff", rules_swap),
	GROUP("@io-uring", "io_uring_setup, io_uring_enter, io_uring_register", rules_io_uring),
	GROUP("@userfaultfd", "userfaultfd", rules_userfaultfd),
	GROUP("@handle", "open_by_handle_at, name_to_handle_at", rules_handle),
	GROUP("@tty-inject", "ioctl TIOCSTI and TIOCLINUX: typing into the terminal", rules_tty_inject),
	GROUP("@raw-net", "packet sockets and raw IP sockets", rules_raw_net),
	GROUP("@netlink", "netlink sockets other than NETLINK_ROUTE", rules_netlink),
	GROUP("@socket-family", "address families other than unix, inet, inet6, netlink, packet", rules_socket_family),
	GROUP("@clock", "setting the system clock", rules_clock),
	GROUP("@acct", "process accounting", rules_acct),
	GROUP("@quota", "quotactl", rules_quota),
	GROUP("@raw-io", "iopl, ioperm", rules_raw_io),
	GROUP("@cpu-emulation", "modify_ldt, vm86", rules_cpu_emulation),
	GROUP("@personality", "personality flags that weaken ASLR", rules_personality),
	GROUP("@obsolete", "removed or never-implemented syscalls", rules_obsolete),
	GROUP("@syslog", "reading the kernel log (dmesg)", rules_syslog),
};
const size_t filter_ngroups = nitems(filter_groups);

const struct filter_group *
filter_group_find(const char *name)
{
	for (size_t i = 0; i < filter_ngroups; i++)
		if (strcmp(filter_groups[i].name, name) == 0)
			return (&filter_groups[i]);
	return (NULL);
}

const struct filter_group *
filter_group_of(const char *syscall)
{
	for (size_t i = 0; i < filter_ngroups; i++)
		for (size_t j = 0; j < filter_groups[i].nrules; j++)
			if (strcmp(filter_groups[i].rules[j].syscall, syscall) == 0)
				return (&filter_groups[i]);
	return (NULL);
}

/* Another architecture libseccomp knows, so that a profile written on one
 * machine ("vm86", "socketcall") still loads on another. */
static const uint32_t filter_name_arches[] = {
	SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_AARCH64, SCMP_ARCH_ARM,
	SCMP_ARCH_RISCV64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390X,
};

/* Syscalls newer than the libseccomp we build with (2.5.4 stops at Linux
 * 5.x), by number. Syscalls since 424 have one number on every
 * architecture but alpha. */
static const struct {
	const char	*name;
	int		 nr;
} filter_newer[] = {
	{ "open_tree_attr", 467 },	/* Linux 6.15: open_tree with mount attributes */
};

int
filter_syscall_nr(const char *name)
{
	int	nr;

	if ((nr = seccomp_syscall_resolve_name(name)) != __NR_SCMP_ERROR)
		return (nr);
	for (size_t i = 0; i < nitems(filter_newer); i++)
		if (strcmp(filter_newer[i].name, name) == 0)
			return (filter_newer[i].nr);
	return (__NR_SCMP_ERROR);
}

const char *
filter_syscall_newer_name(int nr)
{
	for (size_t i = 0; i < nitems(filter_newer); i++)
		if (filter_newer[i].nr == nr)
			return (filter_newer[i].name);
	return (NULL);
}

static bool
filter_syscall_known(const char *name)
{
	if (filter_syscall_nr(name) != __NR_SCMP_ERROR)
		return (true);
	for (size_t i = 0; i < nitems(filter_name_arches); i++)
		if (seccomp_syscall_resolve_name_arch(filter_name_arches[i], name) !=
		    __NR_SCMP_ERROR)
			return (true);
	return (false);
}

bool
filter_name_valid(const char *name)
{
	if (name == NULL || *name == '\0')
		return (false);
	if (*name == '@')
		return (filter_group_find(name) != NULL);
	return (filter_syscall_known(name));
}

const char *
filter_group_names(void)
{
	static char	names[1024];
	size_t		n = 0;

	if (names[0] != '\0')
		return (names);
	for (size_t i = 0; i < filter_ngroups && n < sizeof names; i++)
		n += snprintf(names + n, sizeof names - n, "%s%s", i > 0 ? " " : "",
		    filter_groups[i].name);
	return (names);
}
