/* test-caps.c: caps_drop_all, where it must succeed and where it must
 * refuse. Each case runs in a child, in a user namespace of its own (full
 * capabilities there, none outside), so nothing of the test process
 * changes: a drop leaves all five sets empty; a process that lacks
 * CAP_SETPCAP, or whose securebits were locked the other way, gets an error
 * naming the step instead of going on half-dropped (init then dies with
 * that line rather than run the command). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "sandbox/caps.h"
#include "../tap.h"

/* The five sets of this process, from /proc/self/status: 1 when all are
 * zero. */
static int
sets_zero(void)
{
	FILE	*f = fopen("/proc/self/status", "r");
	char	 line[256];
	int	 zero = 0;

	if (f == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long long	v;

		if (strncmp(line, "Cap", 3) == 0 &&
		    sscanf(strchr(line, ':') + 1, "%llx", &v) == 1 && v == 0)
			zero++;
	}
	fclose(f);
	return (zero == 5);
}

/* Runs fn in a child in a new user namespace; its exit status: 0 expected,
 * 77 when the namespace cannot be made here. */
static int
in_child(int (*fn)(void))
{
	pid_t	pid = fork();
	int	st;

	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) == -1)
			_exit(77);
		exit(fn());	/* exit: a coverage build writes the child's counts */
	}
	if (pid == -1 || waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return (-1);
	return (WEXITSTATUS(st));
}

static int
drop_ok(void)
{
	const char	*what = "";

	if (caps_drop_all(&what) == -1)
		return (1);
	return (sets_zero() ? 0 : 2);
}

/* Without CAP_SETPCAP the bounding set cannot be dropped. */
static int
drop_without_setpcap(void)
{
	const char	*what = "";
	cap_t		 c = cap_get_proc();
	cap_value_t	 v = CAP_SETPCAP;

	if (c == NULL || cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) == -1 ||
	    cap_set_proc(c) == -1)
		return (3);
	cap_free(c);
	if (caps_drop_all(&what) != -1)
		return (1);
	return (strcmp(what, "drop the capability bounding set") == 0 ? 0 : 2);
}

/* Securebits locked with "root keeps its capabilities" cannot be turned
 * into moat's. */
static int
drop_with_locked_securebits(void)
{
	const char	*what = "";

	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED, 0, 0, 0) == -1)
		return (3);
	if (caps_drop_all(&what) != -1)
		return (1);
	return (strcmp(what, "lock the securebits") == 0 ? 0 : 2);
}

/* A process whose system calls fail under it (another seccomp filter, a
 * container runtime's): the step that failed is named, nothing is left
 * half-dropped in silence. Each child denies one call with EPERM. */
static int
deny_then_drop(int nr, int arg0, const char *want)
{
	scmp_filter_ctx	 ctx = seccomp_init(SCMP_ACT_ALLOW);
	const char	*what = "";
	int		 rc;

	if (ctx == NULL)
		return (3);
	rc = arg0 >= 0 ?
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)arg0)) :
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	if (rc != 0 || seccomp_load(ctx) != 0) {
		seccomp_release(ctx);
		return (3);
	}
	seccomp_release(ctx);
	if (caps_drop_all(&what) != -1)
		return (1);
	return (strcmp(what, want) == 0 ? 0 : 2);
}

static int
drop_capset_denied(void)
{
	return (deny_then_drop(SCMP_SYS(capset), -1,
	    "clear the permitted, effective and inheritable capabilities"));
}

static int
drop_ambient_denied(void)
{
	return (deny_then_drop(SCMP_SYS(prctl), PR_CAP_AMBIENT,
	    "clear the ambient capabilities"));
}

int
main(void)
{
	int	rc;

	if ((rc = in_child(drop_ok)) == 77) {
		tap_skip("no user namespace for this user here: caps_drop_all is "
		    "tested end to end by tests/attack/proc-host.sh");
		return (tap_done());
	}
	tap_ok(rc == 0, "caps_drop_all leaves CapInh, CapPrm, CapEff, CapBnd and "
	    "CapAmb all zero (child exit %d)", rc);
	rc = in_child(drop_without_setpcap);
	tap_ok(rc == 0, "without CAP_SETPCAP it fails at the bounding set and says "
	    "so (child exit %d)", rc);
	rc = in_child(drop_with_locked_securebits);
	tap_ok(rc == 0, "with securebits locked the other way it fails and says so "
	    "(child exit %d)", rc);
	rc = in_child(drop_capset_denied);
	tap_ok(rc == 0, "with capset refused (EPERM) it fails at clearing the sets "
	    "and says so (child exit %d)", rc);
	rc = in_child(drop_ambient_denied);
	tap_ok(rc == 0, "with the ambient prctl refused it fails there and says so "
	    "(child exit %d)", rc);
	return (tap_done());
}
