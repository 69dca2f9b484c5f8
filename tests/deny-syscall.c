/* deny-syscall.c: runs a command under a seccomp filter that answers one
 * system call with EPERM, as a container's policy or a hardened host might:
 * "deny-syscall NAME[:ARG:BITS] CMD [ARG]...". With ARG:BITS, only calls
 * whose argument ARG (0-5) has all of BITS set are refused (unshare:0:
 * 0x40000000 refuses a new network namespace and nothing else).
 * net-transparent.sh runs moat under it with pidfd_getfd denied, to see the
 * record-only fallback; setup-failures.sh with each step of building the
 * sandbox denied. Without arguments it prints a TAP skip, since
 * check_PROGRAMS also run as unit tests. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	scmp_filter_ctx	ctx;
	int		nr, rc;
	char		*colon;
	unsigned long	arg = 0;
	unsigned long long bits = 0;

	if (argc < 3) {
		printf("1..0 # SKIP a helper of net-transparent.sh, not a test\n");
		return (0);
	}
	if ((colon = strchr(argv[1], ':')) != NULL) {
		char	*end;

		*colon = '\0';
		arg = strtoul(colon + 1, &end, 10);
		if (*end != ':' || arg > 5 || (bits = strtoull(end + 1, &end, 0)) == 0 ||
		    *end != '\0') {
			fprintf(stderr, "deny-syscall: NAME:ARG:BITS, ARG 0 to 5, BITS not 0\n");
			return (125);
		}
	}
	if ((nr = seccomp_syscall_resolve_name(argv[1])) == __NR_SCMP_ERROR) {
		fprintf(stderr, "deny-syscall: unknown system call %s\n", argv[1]);
		return (125);
	}
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
	    (rc = colon == NULL ?
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) :
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
	    SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, bits, bits))) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    (rc = seccomp_load(ctx)) < 0) {
		fprintf(stderr, "deny-syscall: cannot load the filter\n");
		return (125);
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "deny-syscall: %s: %s\n", argv[2], strerror(errno));
	return (127);
}
