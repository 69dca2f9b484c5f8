/* checkpoint.c: whether a session's processes can be checkpointed with
 * CRIU (moat session snapshot --processes), and if not, why not, in one
 * line. Runs in the client (moat session snapshot).
 *
 * What was found with CRIU 4.2 on Linux 6.18, as root: criu check passes
 * and criu dumps and restores a plain process tree, but not a moat
 * session's. Its init is moat itself, forked and never exec'd: its code
 * is mapped from the moat binary on a mount of the host that the
 * sandbox's mount namespace does not hold ("Can't lookup mount ... for
 * fd=-3"), and, not dumpable, its memory belongs to the host's user
 * namespace, so criu, once inside the session's user namespace, cannot
 * open its namespaces ("Can't open PID/ns/net on procfs: Permission
 * denied"). Every session's seccomp filter reports to a listener the
 * supervisor holds (SECCOMP_RET_USER_NOTIF): criu dumps and restores
 * such a filter without its listener, and the restored process's notified
 * calls then fail with ENOSYS (seen with a test program whose uname was
 * notified: "ok" before the dump, ENOSYS after the restore). In
 * restricted and proxied modes the proxy's listening sockets, made
 * inside, are served by the supervisor outside. And here criu 4.2
 * dumped, but could not restore, a tree in a mount namespace of its own,
 * even a minimal pivot_root'd one ("BUG at criu/mount.c:48"; with
 * --mntns-compat-mode, "Can't umount at ./sys"). So the checks below
 * end in a refusal that names these; the ones before it say what the
 * host lacks first, as they would matter once the session is fixed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "checkpoint.h"

extern char	**environ;

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE	40
#endif

/* What `criu check` may print and take: it is quick (60 ms here); one
 * that hangs is killed. */
#define CKPT_OUT_MAX	65536
#define CKPT_CHECK_SECS	10

void
ckpt_first_error(const char *out, size_t n, char *line, size_t linen)
{
	const char	*first = NULL, *p, *end = out + n, *eol;
	size_t		 firstlen = 0, k;

	if (linen == 0)
		return;
	line[0] = '\0';
	for (p = out; p < end; p = eol + 1) {
		const char	*s = p;

		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		while (s < eol && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		k = (size_t)(eol - s);
		while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t' ||
		    s[k - 1] == '\r'))
			k--;
		if (k == 0)
			continue;
		if (k >= 5 && memcmp(s, "Error", 5) == 0) {
			first = s;
			firstlen = k;
			break;
		}
		if (first == NULL) {
			first = s;
			firstlen = k;
		}
		if (eol == end)
			break;
	}
	if (first == NULL)
		return;
	if (firstlen >= linen)
		firstlen = linen - 1;
	memcpy(line, first, firstlen);
	line[firstlen] = '\0';
	/* A NUL in criu's output would cut the line short: say so. */
	for (k = 0; k < firstlen; k++)
		if (line[k] == '\0')
			line[k] = '?';
}

/* criu as the shell would find it on PATH (an executable regular file);
 * false when there is none. */
static bool
ckpt_find_criu(char *buf, size_t n)
{
	const char	*path = getenv("PATH");
	autofree char	*copy = NULL;
	char		*dir, *save = NULL;
	struct stat	 st;

	if (path == NULL || *path == '\0')
		return (false);
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		if (*dir == '\0')
			dir = ".";
		if ((size_t)snprintf(buf, n, "%s/criu", dir) >= n)
			continue;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(buf, X_OK) == 0)
			return (true);
	}
	return (false);
}

/* Whether this process holds cap in its effective set. */
static bool
ckpt_has_cap(cap_t c, cap_value_t cap)
{
	cap_flag_value_t	v = CAP_CLEAR;

	if (c == NULL || cap_get_flag(c, cap, CAP_EFFECTIVE, &v) == -1)
		return (false);
	return (v == CAP_SET);
}

/* Runs `criu check` and reads what it prints; 0 when it passed, else -1
 * with e naming its first error line. */
static int
ckpt_criu_check(const char *criu, struct merr *e)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[] = { (char *)criu, "check", NULL };
	autofree char			*out = NULL;
	char				 line[512];
	size_t				 len = 0;
	bool				 hung = false;
	int				 p[2], st, rc;
	pid_t				 pid;
	time_t				 until = time(NULL) + CKPT_CHECK_SECS;

	if (pipe2(p, O_CLOEXEC) == -1)
		return (merr_errno(e, "pipe"));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = posix_spawn(&pid, criu, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return (merr_errno_n(e, rc, "%s check", criu));
	}
	out = xmalloc(CKPT_OUT_MAX);
	for (;;) {
		struct pollfd	pf = { .fd = p[0], .events = POLLIN };
		ssize_t		r;
		time_t		left = until - time(NULL);
		int		ready;

		ready = left <= 0 ? 0 : poll(&pf, 1, (int)left * 1000);
		if (ready == -1 && errno == EINTR)
			continue;
		if (ready <= 0) {
			kill(pid, SIGKILL);
			hung = true;
			break;
		}
		if (len == CKPT_OUT_MAX) {
			char	drop[4096];

			r = read(p[0], drop, sizeof drop);
		} else
			r = read(p[0], out + len, CKPT_OUT_MAX - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (len < CKPT_OUT_MAX)
			len += (size_t)r;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return (merr_errno(e, "waitpid %s", criu));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return (0);
	ckpt_first_error(out, len, line, sizeof line);
	if (hung)
		return (merr_set(e, "`%s check` did not finish within %d s%s%s",
		    criu, CKPT_CHECK_SECS, line[0] != '\0' ? ": " : "", line));
	if (WIFSIGNALED(st))
		return (merr_set(e, "`%s check` was killed by signal %d%s%s", criu,
		    WTERMSIG(st), line[0] != '\0' ? ": " : "", line));
	return (merr_set(e, "`%s check` failed (exit %d): %s", criu,
	    WEXITSTATUS(st), line[0] != '\0' ? line : "it printed nothing"));
}

void
ckpt_why_not(const struct session_info *info, const struct profile *p,
    struct merr *e)
{
	char	criu[PATH_MAX];
	cap_t	c;
	bool	admin, cr;

	if (!ckpt_find_criu(criu, sizeof criu)) {
		merr_set(e, "no criu on PATH: checkpointing processes "
		    "needs CRIU (4.x; Debian 12's criu 3.17 fails its own check on "
		    "newer kernels)");
		return;
	}
	/* criu dumps a session's user, mount, pid and net namespaces and its
	 * seccomp filters: CAP_SYS_ADMIN for those, CAP_CHECKPOINT_RESTORE
	 * where the kernel has it. */
	c = cap_get_proc();
	admin = ckpt_has_cap(c, CAP_SYS_ADMIN);
	cr = cap_max_bits() <= CAP_CHECKPOINT_RESTORE ||
	    ckpt_has_cap(c, CAP_CHECKPOINT_RESTORE);
	if (c != NULL)
		cap_free(c);
	if (!admin || !cr) {
		merr_set(e, "criu needs CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE "
		    "(root in practice); this moat (uid %u) lacks %s%s%s: run it as "
		    "root, or snapshot the files only (without --processes)",
		    (unsigned)geteuid(), admin ? "" : "CAP_SYS_ADMIN",
		    !admin && !cr ? " and " : "", cr ? "" : "CAP_CHECKPOINT_RESTORE");
		return;
	}
	if (ckpt_criu_check(criu, e) == -1)
		return;
	merr_set(e, "session %s cannot be checkpointed by CRIU: its "
	    "init is moat itself, never exec'd inside, so its code is mapped from "
	    "a mount the sandbox does not hold; its seccomp filter reports to a "
	    "listener outside, which criu cannot restore%s; snapshot its files "
	    "only (without --processes)", info->id,
	    p->net == NET_ISOLATED ? "" : p->net == NET_RESTRICTED ?
	    "; and net = restricted serves its proxy from outside" :
	    "; and net = proxied serves its proxy from outside");
}
