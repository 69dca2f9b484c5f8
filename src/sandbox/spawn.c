/* spawn.c: the supervisor side of a run. Resolves the workspace, builds the
 * environment, the mount plan and the seccomp filter before clone, clones
 * the sandbox init into new namespaces, then serves one poll loop (the
 * init's pidfd, the channel, forwarded signals, the wall timer) until the
 * init exits, and decides the end reason and exit status. Supervisor only. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <termios.h>
#include <sys/sysmacros.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "cg.h"
#include "environ.h"
#include "filter.h"
#include "init.h"
#include "base/cov.h"
#include "base/loop.h"
#include "guard.h"
#include "meter.h"
#include "mounts.h"
#include "net.h"
#include "notify.h"
#include "resolve.h"
#include "ttystate.h"
#include "network/proxy.h"
#include "spawn.h"
#include "trail.h"

#ifndef P_PIDFD
#define P_PIDFD	3
#endif

static const int	spawn_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2,
};

/* Per-run supervisor state that front ends never see. */
struct spawn {
	struct run		*r;
	int			 pidfd;
	int			 chan;
	int			 sigfd;
	int			 timerfd;
	bool			 ready;
	bool			 timed_out;
	/* Without a cgroup's memory controller: the limit the sum of the
	 * sandbox's RSS is held to (each sample), and whether it was hit. */
	uint64_t		 mem_watch;
	bool			 mem_killed;
	unsigned		 filter_flags;	/* FILTER_*: what notify observes */
	int			 idlefd;	/* idle-timeout's check, or -1 */
	bool			 trail;		/* the exec trail is on */
	struct trail		 own;		/* attached: this command's part of it */
	double			 active;	/* when output or keys last passed */
	int			 killed_by;	/* a terminating signal moat forwarded */
	bool			 have_status;
	int			 status;	/* the command's wait status (MSG_STATUS) */
	/* STATUS_ALONE: the run is over but for init's exit, which is not
	 * waited for until after_run (init is reaped before its groups go);
	 * what the sandbox used, as init counted it. */
	bool			 alone;
	bool			 init_reaped;
	struct chan_rusage	 init_ru;
	char			 full[sizeof ((struct chan_msg *)0)->text];
						/* MSG_STATUS: tmpfs mounts left full */
	const struct mount_plan	*plan;		/* borrowed; one-shot runs */
	int			 init_status;
	struct chan_msg		 fail;		/* MSG_SETUP_FAILED / MSG_EXEC_FAILED */
	int			*fds;		/* from MSG_READY; owned */
	int			 nfds;
	struct notify		*notify;	/* denied syscalls, reported */
	struct proxy		*proxy;		/* restricted and proxied modes */
	bool			 transparent;	/* connect() goes to notify, for proxy */
	int			 out_r[2];	/* relay: read ends for stdout, stderr */
	/* Where the command's output goes: SINK_OUT, SINK_ERR (the relay
	 * pipes to our stdout and stderr) and SINK_PTY (the sandbox
	 * terminal to ours), and what a slow reader did not take yet. */
	struct spawn_sink {
		int		*src;		/* &out_r[i] or &pty: what is read */
		loop_cb		 src_cb;
		int		 dst;		/* where it is written */
		bool		 nowait;	/* dst can be waited on: what it does
						   not take waits here, src paused */
		char		*buf;
		size_t		 len, off;
	}			 sink[3];
	int			 pty;		/* the sandbox terminal's master, or -1 */
	int			 pty_host;	/* the host terminal it is relayed to: 1 or 2 */
	bool			 stdin_on;	/* host stdin is relayed to the master */
	struct {				/* keys the command has not read yet */
		char		*buf;
		size_t		 len, off;
	}			 keys;
	bool			 raw;		/* the host terminal is in raw mode */
	struct termios		 saved;	/* and how it was */
	struct ttystate		 tty;		/* what the command's output left on */
	struct cg		*cg;		/* the run's cgroup, or CG_NONE */
	struct meter		*meter;
	double			 ru_user0, ru_sys0;	/* RUSAGE_CHILDREN before */
	long			 ru_maxrss0;		/* its ru_maxrss (KiB) before */
	struct merr		 err;		/* a failure inside a callback */
	bool			 failed;
	bool			 serve;		/* no command: init serves requests */
	bool			 attached;	/* the command runs in a session: chan
						   is its control socket */
	bool			 lost;		/* attached: the session ended first */
	bool			 frozen;	/* serving: paused (run_serve_freeze) */
	double			 t_exec;	/* when MSG_EXEC went (MOAT_TRACE_TIMING) */
	/* A bind workspace's protected and hidden paths, watched on the host
	 * (guard.c); a change seen before MSG_READY waits for it. */
	struct guard		*guard;
	bool			 guard_pending;
	bool			 guard_bye;	/* MSG_NS sent back: init may exit */
	ino_t			 pidns;		/* the sandbox's pid namespace (MSG_NS) */
	struct guard_held	 held[32];	/* files a guard pass put back */
	size_t			 nheld;
	int			 ns[2];		/* MSG_NS: init's user and mount
						   namespaces, for the guard */
	struct wslock		*wl;		/* where placeholders are listed */
};

#define SINK_OUT	0
#define SINK_ERR	1
#define SINK_PTY	2

static void	spawn_pty_start(struct spawn *, struct loop *, int);
static int	run_attached(struct run *, struct spawn *, struct merr *);

/* Where init cannot move itself into the v1 groups (a tasks file that
 * could not be opened, see cg_tasks_open), the supervisor moves it by pid,
 * which waits out an RCU grace period in the kernel, ~10 ms of sleeping
 * when none was recent (v1 has no CLONE_INTO_CGROUP). A thread does it while
 * init builds the root and the front end records the run; init waits for
 * MSG_PLACED before anything of the command can run. The thread sends it as
 * soon as the move is done (init reads it after GO, which was sent before
 * the thread started, and sends nothing the supervisor answers before it),
 * so that init does not wait for the row's begin on top of the move. */
struct spawn_attach {
	pthread_t	 thread;
	struct cg	*cg;
	pid_t		 pid;
	int		 chan;
	int		 rc;
	bool		 started;
	struct merr	 err;
};

static void *
spawn_attach_main(void *arg)
{
	struct spawn_attach	*at = arg;
	struct chan_msg		 placed = { .type = MSG_PLACED };

	if ((at->rc = cg_attach(at->cg, at->pid, &at->err)) == -1)
		return (NULL);
	/* EPIPE: init is gone already, after a setup failure (a refused
	 * mount) whose message waits on the channel: the loop reads it and
	 * the run reports that, not this. */
	if (send(at->chan, &placed, sizeof placed, MSG_NOSIGNAL) == -1 &&
	    errno != EPIPE && errno != ECONNRESET)
		at->rc = merr_errno(&at->err, "start the sandbox init");
	return (NULL);
}

static void
spawn_attach_start(struct spawn_attach *at, struct cg *cg, pid_t pid, int chan)
{
	at->cg = cg;
	at->pid = pid;
	at->chan = chan;
	at->rc = 0;
	/* Signals stay blocked in the thread: it inherits the mask the
	 * signalfd relies on. */
	at->started = pthread_create(&at->thread, NULL, spawn_attach_main, at) == 0;
	if (!at->started)
		spawn_attach_main(at);
}

/* Joins the thread (which told init it is placed). */
static int
spawn_attach_finish(struct spawn_attach *at, struct merr *e)
{
	if (at->started) {
		pthread_join(at->thread, NULL);
		at->started = false;
	}
	if (at->rc == -1) {
		memcpy(e, &at->err, sizeof *e);
		return (-1);
	}
	return (0);
}

/* The groups killed moats left behind: a session's supervisor removes
 * them as it starts, on a thread while init builds the root (mountinfo,
 * the moat/ directories of each hierarchy). A one-shot run does not: on
 * two CPUs that thread took one from init or the log's opening, 0.2 to 0.7
 * ms of every start; the record sweeps when the log's recovery finds a run
 * whose moat was killed (record.c), and moat audit and moat doctor do. */
struct spawn_sweep {
	pthread_t	 thread;
	bool		 started, wanted;
};

static void *
spawn_sweep_main(void *arg)
{
	struct merr	e;

	(void)arg;
	cg_sweep(&e);
	return (NULL);
}

/* Signals stay blocked in the thread (the caller blocked them for the
 * signalfd); without a thread the sweep runs in spawn_sweep_join. */
static void
spawn_sweep_start(struct spawn_sweep *sw)
{
	sw->wanted = true;
	sw->started = pthread_create(&sw->thread, NULL, spawn_sweep_main, NULL) == 0;
}

static void
spawn_sweep_join(struct spawn_sweep *sw)
{
	if (!sw->wanted)
		return;
	if (sw->started)
		pthread_join(sw->thread, NULL);
	else
		spawn_sweep_main(NULL);
	sw->started = sw->wanted = false;
}

const char *
end_reason_name(enum end_reason er)
{
	static const char	*names[] = {
		[END_NONE] = "none", [END_EXITED] = "exited",
		[END_SIGNALED] = "signaled", [END_TIMEOUT] = "timeout",
		[END_CPU_TIME] = "cpu-time", [END_OOM] = "oom",
		[END_PIDS] = "pids-limit", [END_KILLED] = "killed",
		[END_SETUP_FAILED] = "setup-failed", [END_EXEC_FAILED] = "exec-failed",
		[END_REFUSED] = "refused",
	};

	return ((size_t)er < nitems(names) ? names[er] : "?");
}

/* The run's event sink (struct run.events): the time since the start, then
 * the front end's callback. */
static void
run_events_emit(void *arg, struct run_event *ev)
{
	struct run	*r = arg;

	if (r->on_event == NULL)
		return;
	ev->t = r->t_start > 0 ? now_mono() - r->t_start : 0;
	r->on_event(r, ev);
}

void
run_init(struct run *r)
{
	struct timespec	ts;
	unsigned	rnd = 0;
	int		fd;

	memset(r, 0, sizeof *r);
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		(void)!read(fd, &rnd, sizeof rnd);
		close(fd);
	}
	snprintf(r->id, sizeof r->id, "%08" PRIx64 "-%05d-%04x",
	    (uint64_t)ts.tv_sec, (int)getpid() % 100000, rnd & 0xffff);
	r->events.emit = run_events_emit;
	r->events.arg = r;
	r->session_fd = r->chan = -1;
}

void
run_release(struct run *r)
{
	strv_clear(&r->env_extra);
	free(r->state_dir);
	free(r->ws_path);
	free(r->cwd_path);
	free(r->exec_hint);
	free(r->session_user);
	free(r->session_home);
	r->state_dir = r->ws_path = r->cwd_path = r->exec_hint = NULL;
	r->session_user = r->session_home = NULL;
	secrets_release(&r->secrets);
}

/* A secret's value in any variable or argument would carry it into the
 * sandbox after all: refused, naming where. */
static int
spawn_secrets_check(const struct run *r, const struct strv *env, struct merr *e)
{
	const struct secret	*x;

	for (size_t i = 0; i < env->n; i++)
		if ((x = secrets_find_value(&r->secrets, env->v[i],
		    strlen(env->v[i]))) != NULL)
			return (merr_set(e, "secret %s: its value is also in the "
			    "variable %.*s, which would carry it into the sandbox; "
			    "drop that variable from env-pass, env-set or -e",
			    x->name, (int)strcspn(env->v[i], "="), env->v[i]));
	for (size_t i = 0; r->argv != NULL && r->argv[i] != NULL; i++)
		if ((x = secrets_find_value(&r->secrets, r->argv[i],
		    strlen(r->argv[i]))) != NULL)
			return (merr_set(e, "secret %s: its value is in argument "
			    "%zu of the command; write $%s there instead (the "
			    "placeholder, which the proxy swaps)", x->name, i,
			    x->name));
	return (0);
}

void
run_emit(struct run *r, enum run_event_kind kind, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	event_vprintf(&r->events, kind, fmt, ap);
	va_end(ap);
}

/* The workspace must not hand the sandbox the user's keys or the system:
 * refuse "/" and any directory that holds $HOME, unless named with -w. */
static int
spawn_check_workspace(const char *ws, const char *home, bool explicit,
    struct merr *e)
{
	char	own[PATH_MAX];

	if (strcmp(ws, "/") == 0)
		return (merr_set(e, "the workspace would be / (the whole host); "
		    "run moat from a project directory or pass -w DIR"));
	if (!explicit && home != NULL && path_is_under(home, ws))
		return (merr_set(e, "the workspace would be %s, which holds your home "
		    "directory (and your keys); run moat from a project directory, or "
		    "pass -w %s to mean it", ws, ws));
	if (mounts_in_own_dir(ws, own, sizeof own))
		return (merr_set(e, "the workspace would be %s, inside %s, moat's own "
		    "directory (its profiles, caches, log or state), which no sandbox "
		    "may see or change; run moat from a project directory", ws, own));
	return (0);
}

/* Where the overlay upper dirs and workspace locks live. */
static char *
spawn_state_root(void)
{
	char	buf[PATH_MAX];

	xdg_dir("XDG_STATE_HOME", ".local/state", buf, sizeof buf);
	return (path_join(buf, "moat"));
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h);
}

/*
 * Placeholders for protected paths that do not exist yet are created in the
 * host workspace (bind mode) so they can be mounted read-only. Every run in
 * a workspace holds a shared flock on $XDG_STATE_HOME/moat/ws/<hash>.lock for
 * its whole life; the placeholders are listed in <hash>.placeholders (under a
 * short exclusive lock of its own) and removed, when still empty, by the
 * last run to leave: the one that can turn its shared lock exclusive. So a
 * concurrent run never loses its protection, and never waits for another.
 */
struct wslock {
	int	 fd;		/* the workspace lock, shared for the run */
	char	*list;		/* owned */
	char	*listlock;	/* owned */
};

static int
wslock_list_lock(const struct wslock *wl)
{
	int	fd;

	if ((fd = open(wl->listlock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return (-1);
	if (flock(fd, LOCK_EX) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* A protected path missing now whose parent is missing too: a leaving run
 * removed the placeholder directory the plan saw as its parent (.git, for
 * .git/hooks) while this run waited for the lock. init creates one level,
 * so the placeholder becomes the first component missing, as the plan
 * would have made it. */
static void
wslock_retarget(const char *ws, struct mop *op)
{
	size_t		len = strlen(op->dst), i = strlen(ws);
	struct stat	st;

	if (strncmp(op->dst, ws, i) != 0 || op->dst[i] != '/')
		return;
	for (i++; i < len; i++) {
		if (op->dst[i] != '/')
			continue;
		op->dst[i] = '\0';
		if (lstat(op->dst, &st) == -1) {
			op->dir = true;
			return;
		}
		op->dst[i] = '/';
	}
}

static int
wslock_take(struct wslock *wl, const char *ws, struct mount_plan *mp,
    struct merr *e)
{
	autofree char	*root = spawn_state_root(), *dir = NULL, *lock = NULL;
	FILE		*f;
	struct stat	 st;
	bool		 any = false;
	int		 lfd;

	wl->fd = -1;
	wl->list = wl->listlock = NULL;
	for (size_t i = 0; i < mp->n; i++)
		if (mp->ops[i].kind == MOP_PROTECT)
			any = true;
	if (!any)
		return (0);
	dir = path_join(root, "ws");
	if (mkdir_p(dir, 0700, e) == -1)
		return (-1);
	lock = xprintf("%s/%016" PRIx64 ".lock", dir, fnv1a(ws));
	wl->list = xprintf("%s/%016" PRIx64 ".placeholders", dir, fnv1a(ws));
	wl->listlock = xprintf("%s/%016" PRIx64 ".placeholders.lock", dir, fnv1a(ws));
	if ((wl->fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return (merr_errno(e, "open %s", lock));
	/* Waits only while a leaving run removes placeholders. */
	if (flock(wl->fd, LOCK_SH) == -1)
		return (merr_errno(e, "lock %s", lock));
	if ((lfd = wslock_list_lock(wl)) == -1)
		return (merr_errno(e, "lock %s", wl->listlock));
	if ((f = fopen(wl->list, "ae")) == NULL) {
		close(lfd);
		return (merr_errno(e, "open %s", wl->list));
	}
	/* Looked at again under the lock: a leaving run may just have removed
	 * what the plan saw. init creates whatever is missing. */
	for (size_t i = 0; i < mp->n; i++) {
		struct mop	*op = &mp->ops[i];

		if (op->kind != MOP_PROTECT)
			continue;
		op->create = lstat(op->dst, &st) == -1;
		if (op->create) {
			wslock_retarget(ws, op);
			fprintf(f, "%s\n", op->dst);
		}
	}
	if (fclose(f) == EOF) {
		close(lfd);
		return (merr_errno(e, "write %s", wl->list));
	}
	close(lfd);
	return (0);
}

/* A placeholder made after the start (guard.c), listed for the last run
 * to leave to remove. */
static void
wslock_add(struct wslock *wl, const char *path)
{
	FILE	*f;
	int	 lfd;

	if (wl == NULL || wl->fd == -1 || (lfd = wslock_list_lock(wl)) == -1)
		return;
	if ((f = fopen(wl->list, "ae")) != NULL) {
		fprintf(f, "%s\n", path);
		fclose(f);
	}
	close(lfd);
}

static void
wslock_release(struct wslock *wl)
{
	char		*buf = NULL, *line, *save = NULL;
	struct merr	 e;
	struct stat	 st;
	int		 lfd;

	if (wl->fd == -1)
		goto out;
	/* Other runs still use the workspace: the last one cleans up. */
	if (flock(wl->fd, LOCK_EX | LOCK_NB) == -1)
		goto out;
	if ((lfd = wslock_list_lock(wl)) == -1)
		goto out;
	if (read_file(wl->list, &buf, NULL, &e) == 0) {
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (lstat(line, &st) == -1)
				continue;
			if (S_ISREG(st.st_mode) && st.st_size == 0)
				unlink(line);
			else if (S_ISDIR(st.st_mode))
				rmdir(line);	/* only when empty */
		}
		free(buf);
		(void)!truncate(wl->list, 0);
	}
	close(lfd);
out:
	if (wl->fd != -1)
		close(wl->fd);
	wl->fd = -1;
	free(wl->list);
	free(wl->listlock);
	wl->list = wl->listlock = NULL;
}

static void
spawn_kill(struct spawn *sp, int sig)
{
	if (sp->attached) {
		/* The command's process group, through the session's init. */
		struct chan_msg	m = { .type = MSG_KILL, .tag = 1, .code = sig };

		(void)chan_send(sp->chan, &m, NULL, 0, NULL, 0);
		return;
	}
	syscall(SYS_pidfd_send_signal, sp->pidfd, sig, NULL, 0);
}

static void	spawn_guard_end(struct spawn *);

/* What the guard's helper did, for the record: a file event ("re-protected"
 * or "re-hidden", not a change of the run's). A path it could not keep
 * ends the sandbox, as does a symbolic link or a special file where the
 * host's file went: the helper cannot tell that from an attack. */
static void
spawn_guard_report(void *arg, const struct guard_report *gr)
{
	struct spawn		*sp = arg;
	struct run_event	 ev;
	autofree char		*text = NULL;
	bool			 hide = gr->op->kind == MOP_MASK;
	const char		*what = hide ? "hidden" :
				    gr->op->kind == MOP_PROTECT ? "protected" :
				    "above protected paths";

	switch (gr->state) {
	case GUARD_RESTORED:
	case GUARD_PLACED:
		if (gr->state == GUARD_PLACED)
			wslock_add(sp->wl, gr->path);
		if (sp->nheld < nitems(sp->held))
			sp->held[sp->nheld++] = (struct guard_held){ gr->dev, gr->ino,
			    hide };
		text = gr->state == GUARD_RESTORED ? xprintf("%s (%s) was replaced "
		    "on the host during the run, which undid its mount: %s again",
		    gr->path, what, hide ? "hidden" : "read-only") :
		    xprintf("%s (%s), moat's placeholder, was removed on the host "
		    "during the run: it is there again, read-only", gr->path, what);
		memset(&ev, 0, sizeof ev);
		ev.kind = EV_FILE_CHANGED;
		ev.path = gr->path;
		ev.change = hide ? "re-hidden" : "re-protected";
		ev.text = text;
		event_send(&sp->r->events, &ev);
		return;
	case GUARD_GONE:
		run_emit(sp->r, EV_LIMIT_HIT, "%s (%s) was moved or removed on the host "
		    "during the run: moat cannot keep code in the sandbox from making "
		    "one there (a hook git would run, say) without getting in the way "
		    "of what the host does next, and ended the sandbox", gr->path, what);
		break;
	case GUARD_TAMPERED:
		run_emit(sp->r, EV_LIMIT_HIT, "%s (%s) is a symbolic link or a special "
		    "file since a change on the host undid its mount: moat cannot "
		    "tell who made it, and ended the sandbox; look at %s before a "
		    "program on the host uses it", gr->path, what, gr->path);
		break;
	case GUARD_FAILED:
		run_emit(sp->r, EV_LIMIT_HIT, "%s (%s) lost its mount to a change on "
		    "the host and could not be mounted on again (%s): moat ended the "
		    "sandbox rather than leave it %s", gr->path, what,
		    strerror(gr->err), hide ? "readable" : "writable");
		break;
	case GUARD_INTACT:
		return;
	}
	spawn_guard_end(sp);
}

static void	spawn_guard_stop(struct spawn *, bool);

/* The sandbox ends: nothing more is put back (a pass in a dying sandbox
 * would only race its teardown). */
static void
spawn_guard_end(struct spawn *sp)
{
	if (sp->serve)
		run_serve_stop(sp->r);
	else
		spawn_kill(sp, SIGKILL);
	spawn_guard_stop(sp, false);
}

static void
spawn_guard_run(struct spawn *sp)
{
	struct merr	e;
	double		t = now_mono();
	pid_t		who;
	size_t		which;

	sp->guard_pending = false;
	sp->nheld = 0;
	if (guard_restore(sp->guard, sp->ns[0], sp->ns[1], spawn_guard_report,
	    sp, &e) == -1)
		run_emit(sp->r, EV_NOTE, "guard: %s", e.msg);
	/* A descriptor opened in the window before the new mount keeps
	 * what the mount took away. */
	if (sp->pidns != 0 && guard_scan(sp->pidns, sp->held, sp->nheld, &who,
	    &which) == 1) {
		run_emit(sp->r, EV_LIMIT_HIT, "process %d in the sandbox holds a %s "
		    "path open%s, opened while its protection was undone by a "
		    "change on the host: moat ended the sandbox; look at what "
		    "the host's files in the workspace hold", (int)who,
		    sp->held[which].any ? "hidden" : "protected",
		    sp->held[which].any ? "" : " for writing");
		spawn_guard_end(sp);
	}
	trace_step(sp->r->trace, "guard", t);
}

/* The run's command is done: nothing is put back from here. Init's
 * namespaces held open would keep its mounts alive past its exit, and each
 * placeholder removed then would wait to detach its own. The watches go at
 * the very end (free: guard_free), after the record. */
static void
spawn_guard_stop(struct spawn *sp, bool free)
{
	if (sp->guard != NULL && sp->r->loop != NULL)
		loop_del(sp->r->loop, guard_fd(sp->guard));
	if (free) {
		guard_free(sp->guard);
		sp->guard = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (sp->ns[i] >= 0)
			close(sp->ns[i]);
		sp->ns[i] = -1;
	}
}

static void
spawn_on_guard(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn	*sp = arg;

	if (!guard_read(sp->guard))
		return;
	/* Before MSG_READY init may still be making the mounts. */
	if (!sp->ready)
		sp->guard_pending = true;
	else
		spawn_guard_run(sp);
}

static void	spawn_pty_suspend(struct spawn *, struct loop *);

static void
spawn_on_chan(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn		*sp = arg;
	struct chan_msg		 m;
	struct chan_rusage	 ru;
	struct msghdr		 mh;
	struct iovec		 iov[2] = {
		{ .iov_base = &m, .iov_len = sizeof m },
		{ .iov_base = &ru, .iov_len = sizeof ru },
	};
	char			 cbuf[CMSG_SPACE(sizeof(int) * CHAN_MAX_FDS)];
	struct cmsghdr		*c;
	ssize_t			 n;

	/* The exec trail's waiting events first: a command's status must
	 * not overtake the programs it ran. */
	notify_flush(sp->notify);
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		loop_del(l, fd);	/* EOF: init and the command closed it */
		return;
	}
	/* One payload only: STATUS_ALONE's. */
	if ((size_t)n != sizeof m && ((size_t)n != sizeof m + sizeof ru ||
	    m.type != MSG_STATUS || !(m.flags & STATUS_ALONE) || sp->serve))
		return;
	if ((size_t)n == sizeof m)
		m.flags &= ~STATUS_ALONE;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int	k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			if (sp->serve && m.type != MSG_READY && m.type != MSG_NS) {
				/* A served command's: the front end's. */
				int	fds[8];

				memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)k);
				if (sp->r->serve_msg != NULL)
					sp->r->serve_msg(sp->r, &m, fds, k);
				else
					for (int i = 0; i < k; i++)
						close(fds[i]);
				return;
			}
			sp->fds = xreallocarray(sp->fds, (size_t)(sp->nfds + k), sizeof(int));
			memcpy(sp->fds + sp->nfds, CMSG_DATA(c), sizeof(int) * (size_t)k);
			sp->nfds += k;
		}
	}
	if (sp->serve && m.type != MSG_READY && m.type != MSG_SETUP_FAILED &&
	    m.type != MSG_NS) {
		if (sp->r->serve_msg != NULL)
			sp->r->serve_msg(sp->r, &m, NULL, 0);
		return;
	}
	switch (m.type) {
	case MSG_NS:
		if (sp->nfds >= 3 && sp->ns[0] == -1) {
			struct stat	st;

			sp->ns[0] = sp->fds[sp->nfds - 3];
			sp->ns[1] = sp->fds[sp->nfds - 2];
			if (fstat(sp->fds[sp->nfds - 1], &st) == 0)
				sp->pidns = st.st_ino;
			close(sp->fds[sp->nfds - 1]);
			sp->nfds -= 3;
		}
		break;
	case MSG_READY:
		trace_step(sp->r->trace, "ready", sp->r->t_start);
		sp->ready = true;
		if (sp->guard_pending)
			spawn_guard_run(sp);
		if (m.has_pty && sp->nfds > 0)
			spawn_pty_start(sp, l, sp->fds[--sp->nfds]);
		if (m.nfds_notify && sp->nfds > 0) {
			int	listener = sp->fds[0];

			/* notify owns the listener from here. */
			memmove(sp->fds, sp->fds + 1, sizeof(int) * (size_t)--sp->nfds);
			if ((sp->notify = notify_start(sp->r, l, listener,
			    &sp->err)) == NULL) {
				sp->failed = true;
				spawn_kill(sp, SIGKILL);
			} else {
				notify_observe_calls(sp->notify, sp->filter_flags,
				    sp->r->profile);
				if (sp->trail)
					notify_trail(sp->notify, sp->r->init_pid);
			}
		}
		/* The rest, in net_setup's order: the proxy listeners, served
		 * from here, outside the sandbox's network namespace. */
		if (sp->proxy != NULL && !sp->failed) {
			int	rc = proxy_listen(sp->proxy, l, sp->fds, sp->nfds,
			    &sp->err);

			sp->nfds = 0;	/* the proxy owns them */
			if (rc == -1) {
				sp->failed = true;
				spawn_kill(sp, SIGKILL);
			} else if (sp->notify != NULL && sp->transparent)
				notify_set_connect(sp->notify, sp->proxy);
		}
		if (!sp->failed && sp->serve) {
			if (sp->r->serve_ready != NULL)
				sp->r->serve_ready(sp->r);
		} else if (!sp->failed) {
			struct chan_msg	go = { .type = MSG_EXEC };

			sp->t_exec = now_mono();
			if (send(fd, &go, sizeof go, MSG_NOSIGNAL) == -1) {
				merr_errno(&sp->err, "start the command");
				sp->failed = true;
				spawn_kill(sp, SIGKILL);
			} else if (sp->r->on_exec != NULL)
				sp->r->on_exec(sp->r);
		}
		/* Without a cgroup, meters count what its tmpfs mounts hold. */
		for (size_t i = 0; sp->meter != NULL && sp->plan != NULL &&
		    i < sp->plan->n; i++)
			if (sp->plan->ops[i].kind == MOP_TMPFS)
				meter_add_tmpfs(sp->meter, sp->plan->ops[i].dst);
		run_emit(sp->r, EV_NOTE, "sandbox ready after %.1f ms",
		    (now_mono() - sp->r->t_start) * 1000);
		break;
	case MSG_SETUP_FAILED:
	case MSG_EXEC_FAILED:
		sp->fail = m;
		sp->fail.text[sizeof m.text - 1] = '\0';
		break;
	case MSG_STOPPED:
		if (m.code == SIGTSTP)
			spawn_pty_suspend(sp, l);
		break;
	case MSG_STATUS:
		sp->have_status = true;
		sp->status = m.code;
		/* Init's namespaces let go before init exits (it waits for
		 * this): their mounts then go with its exit. */
		if (sp->guard != NULL && !sp->serve && !sp->guard_bye) {
			struct chan_msg	bye = { .type = MSG_NS };

			spawn_guard_stop(sp, false);
			sp->guard_bye = true;
			(void)send(fd, &bye, sizeof bye, MSG_NOSIGNAL);
		}
		memcpy(sp->full, m.text, sizeof sp->full);
		sp->full[sizeof sp->full - 1] = '\0';
		/* Done but for init's exit (the pipes and the terminal are
		 * read to their end after the loop). Not with the proxy, whose
		 * connections' last bytes and events the loop still relays. */
		if ((m.flags & STATUS_ALONE) && sp->proxy == NULL) {
			sp->alone = true;
			sp->init_ru = ru;
			loop_stop(l);
		}
		break;
	}
}

static void
spawn_on_exit(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn	*sp = arg;
	siginfo_t	 si;

	memset(&si, 0, sizeof si);
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == -1 ||
	    si.si_pid == 0)
		return;
	sp->init_status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) :
	    si.si_status;	/* killed: the signal number is a wait status */
	sp->init_reaped = true;
	loop_stop(l);
}

/* One write that does not wait, even on a file description moat shares
 * with its caller in blocking mode (RWF_NOWAIT, so O_NONBLOCK is never set
 * on it). -1 with EAGAIN: nothing fits now. Where the kernel cannot say
 * (EOPNOTSUPP: a terminal, a file), an ordinary write. */
static ssize_t
spawn_write_nowait(int fd, const char *buf, size_t n)
{
	struct iovec	iov = { .iov_base = (void *)buf, .iov_len = n };
	ssize_t		w;

	do
		w = pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);
	while (w == -1 && errno == EINTR);
	if (w == -1 && (errno == EOPNOTSUPP || errno == EINVAL))
		do
			w = write(fd, buf, n);
		while (w == -1 && errno == EINTR);
	return (w);
}

/* Writes all of buf to fd, waiting while it is full; false when it is gone,
 * or when moat is told to stop (INT, TERM, HUP, QUIT on sigfd, when given)
 * while it waits: after the run, nothing else would let a user leave a
 * reader that never reads. */
static bool
spawn_write_all(int fd, const char *buf, size_t n, int sigfd)
{
	ssize_t	w;

	for (size_t off = 0; off < n; off += (size_t)w) {
		w = spawn_write_nowait(fd, buf + off, n - off);
		if (w == -1 && errno == EAGAIN) {
			struct pollfd	pfd[2] = { { .fd = fd, .events = POLLOUT },
					    { .fd = sigfd, .events = POLLIN } };
			struct signalfd_siginfo	si;

			w = 0;
			if (poll(pfd, sigfd >= 0 ? 2 : 1, -1) == -1 && errno != EINTR)
				return (false);
			if (sigfd >= 0 && (pfd[1].revents & POLLIN) &&
			    read(sigfd, &si, sizeof si) == (ssize_t)sizeof si &&
			    (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
			    si.ssi_signo == SIGHUP || si.ssi_signo == SIGQUIT))
				return (false);
			continue;
		}
		if (w <= 0)
			return (false);
	}
	return (true);
}

static void
spawn_sink_drop(struct spawn_sink *k)
{
	free(k->buf);
	k->buf = NULL;
	k->len = k->off = 0;
}

/* A relay pipe is done: the command's next write gets EPIPE. */
static void
spawn_relay_close(struct spawn *sp, struct loop *l, int i)
{
	if (sp->out_r[i] >= 0) {
		loop_del(l, sp->out_r[i]);
		close(sp->out_r[i]);
		sp->out_r[i] = -1;
	}
	spawn_sink_drop(&sp->sink[i]);
}

/* The pending output is written (or dropped): read the source again. */
static void
spawn_sink_resume(struct spawn *sp, struct loop *l, int k)
{
	struct spawn_sink	*sk = &sp->sink[k];
	struct merr		 e;

	loop_del(l, sk->dst);
	spawn_sink_drop(sk);
	if (*sk->src >= 0 && loop_add(l, *sk->src, EPOLLIN |
	    (k == SINK_PTY && sp->keys.len > 0 ? EPOLLOUT : 0), sk->src_cb, sp,
	    &e) == -1 && k != SINK_PTY)
		spawn_relay_close(sp, l, k);
}

/* Our stdout, stderr or terminal took some more of what was pending. */
static void
spawn_on_sink_out(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn		*sp = arg;
	struct spawn_sink	*sk;
	int			 k;
	ssize_t			 w;

	for (k = 0; k < 3; k++)
		if (sp->sink[k].dst == fd && sp->sink[k].len > 0)
			break;
	if (k == 3) {
		loop_del(l, fd);
		return;
	}
	sk = &sp->sink[k];
	w = spawn_write_nowait(fd, sk->buf + sk->off, sk->len - sk->off);
	if (w == -1 && errno == EAGAIN)
		return;
	if (w <= 0 && k != SINK_PTY) {
		/* The reader is gone: the command gets EPIPE. */
		loop_del(l, fd);
		spawn_relay_close(sp, l, k);
		return;
	}
	if (w > 0 && (sk->off += (size_t)w) < sk->len)
		return;
	/* All written; or our terminal is gone, and its output with it. */
	spawn_sink_resume(sp, l, k);
}

/* Passes output on; what a slow reader does not take waits in the sink and
 * the source pauses (the command then blocks on a full pipe or terminal,
 * as it would without moat) while the loop goes on serving timers,
 * signals, the proxy and seccomp notifications. False: the reader is gone. */
static bool
spawn_sink_write(struct spawn *sp, struct loop *l, int k, const char *buf,
    size_t n)
{
	struct spawn_sink	*sk = &sp->sink[k];
	ssize_t			 w;
	struct merr		 e;

	if (!sk->nowait)
		return (spawn_write_all(sk->dst, buf, n, -1));
	w = spawn_write_nowait(sk->dst, buf, n);
	if (w == -1 && errno != EAGAIN)
		return (false);
	if (w == -1)
		w = 0;
	if ((size_t)w == n)
		return (true);
	sk->buf = xmalloc(n - (size_t)w);
	memcpy(sk->buf, buf + w, n - (size_t)w);
	sk->len = n - (size_t)w;
	sk->off = 0;
	loop_del(l, *sk->src);
	if (loop_add(l, sk->dst, EPOLLOUT, spawn_on_sink_out, sp, &e) == -1) {
		/* Not pollable after all: wait here. */
		bool	ok = spawn_write_all(sk->dst, sk->buf, sk->len, -1);

		spawn_sink_drop(sk);
		return (ok && loop_add(l, *sk->src, EPOLLIN, sk->src_cb, sp, &e) == 0);
	}
	return (true);
}

/* After the run: what is pending, waiting as long as the reader needs,
 * unless moat is told to stop. False: the reader is gone or moat stops. */
static bool
spawn_sink_flush(struct spawn *sp, int k)
{
	struct spawn_sink	*sk = &sp->sink[k];
	bool			 ok = true;

	if (sk->len > 0) {
		loop_del(sp->r->loop, sk->dst);
		ok = spawn_write_all(sk->dst, sk->buf + sk->off, sk->len - sk->off,
		    sp->sigfd);
		spawn_sink_drop(sk);
	}
	return (ok);
}

/* Reads a sink's source (while nothing waits in the sink), records what
 * it reads as stream, and passes it on. 1: the source is at its end, or
 * (for a relay pipe, not the terminal) our reader is gone; 0: come back
 * when there is more. */
static int
spawn_source_read(struct spawn *sp, struct loop *l, int k, int fd, int stream)
{
	char	buf[65536];
	ssize_t	n;

	for (int turns = 0; turns < 16 && sp->sink[k].len == 0; turns++) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (0);
		if (n <= 0)
			return (1);
		sp->active = now_mono();
		if (sp->r->on_output != NULL)
			sp->r->on_output(sp->r, stream, buf, (size_t)n);
		if (sp->r->pty_front)
			continue;	/* the front end's pane shows it */
		if (k == SINK_PTY)
			ttystate_feed(&sp->tty, buf, (size_t)n);
		/* A terminal that is gone loses what is shown on it, as it
		 * would without moat; a pipe's reader gone gives EPIPE. */
		if (!spawn_sink_write(sp, l, k, buf, (size_t)n) && k != SINK_PTY)
			return (1);
	}
	return (0);
}

/* The command's output, on its way to ours; a reader that went away
 * closes the relay, and the command gets EPIPE as it would have. */
static void
spawn_on_output(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn	*sp = arg;
	int		 i = fd == sp->out_r[0] ? 0 : 1;

	if (spawn_source_read(sp, l, i, fd, i + 1) != 0)
		spawn_relay_close(sp, l, i);
}

/* After the exit: what is still in the pipes (the pid namespace is gone,
 * so every writer is closed and this ends). */
static void
spawn_drain_output(struct spawn *sp)
{
	char	buf[65536];
	ssize_t	n;

	for (int i = 0; i < 2; i++) {
		if (!spawn_sink_flush(sp, i)) {
			spawn_relay_close(sp, sp->r->loop, i);
			continue;
		}
		if (sp->out_r[i] < 0)
			continue;
		loop_del(sp->r->loop, sp->out_r[i]);
		/* In a session, what stays in the background may hold the pipe
		 * open: what is there now is all the command wrote. */
		if (!sp->attached)
			fcntl(sp->out_r[i], F_SETFL, fcntl(sp->out_r[i], F_GETFL) &
			    ~O_NONBLOCK);
		for (;;) {
			n = read(sp->out_r[i], buf, sizeof buf);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (sp->r->on_output != NULL)
				sp->r->on_output(sp->r, i + 1, buf, (size_t)n);
			if (sp->r->pty_front)
				continue;	/* the front end's pane shows it */
			if (!spawn_write_all(i + 1, buf, (size_t)n, sp->sigfd))
				break;
		}
		spawn_relay_close(sp, sp->r->loop, i);
	}
}

/* The sandbox terminal's output, to ours (and to the log). EIO: every
 * process that had the terminal open is gone. */
static void	spawn_keys_flush(struct spawn *, struct loop *);

static void
spawn_on_pty(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn	*sp = arg;

	if ((events & EPOLLOUT) && sp->keys.len > 0)
		spawn_keys_flush(sp, l);
	if (spawn_source_read(sp, l, SINK_PTY, fd, sp->pty_host) == 0)
		return;
	loop_del(l, fd);
	close(fd);
	sp->pty = -1;
	if (sp->stdin_on) {
		loop_del(l, STDIN_FILENO);
		sp->stdin_on = false;
	}
}

/* Keys typed on our terminal, to the sandbox's. */
static void
spawn_on_stdin(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn	*sp = arg;
	char		 buf[4096];
	ssize_t		 n, w;

	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0)
		sp->active = now_mono();
	if (n > 0 && sp->pty >= 0) {
		do
			w = write(sp->pty, buf, (size_t)n);
		while (w == -1 && errno == EINTR);
		if (w == -1 && errno == EAGAIN)
			w = 0;
		if (w == n)
			return;
		if (w >= 0) {
			/* The command is not reading its terminal: hold the
			 * rest, stop reading keys until it does, and let the
			 * loop go on (spawn_on_pty writes them on EPOLLOUT). */
			sp->keys.len = (size_t)(n - w);
			sp->keys.off = 0;
			sp->keys.buf = xmalloc(sp->keys.len);
			memcpy(sp->keys.buf, buf + w, sp->keys.len);
			loop_del(l, fd);
			if (sp->sink[SINK_PTY].len == 0)
				loop_mod(l, sp->pty, EPOLLIN | EPOLLOUT);
			return;
		}
	}
	loop_del(l, fd);
	sp->stdin_on = false;
}

/* The sandbox's terminal takes input again: the keys held back, then
 * stdin once more. */
static void
spawn_keys_flush(struct spawn *sp, struct loop *l)
{
	ssize_t		w;
	struct merr	e;

	do
		w = write(sp->pty, sp->keys.buf + sp->keys.off,
		    sp->keys.len - sp->keys.off);
	while (w == -1 && errno == EINTR);
	if (w == -1 && errno == EAGAIN)
		return;
	if (w > 0 && (sp->keys.off += (size_t)w) < sp->keys.len)
		return;
	free(sp->keys.buf);
	sp->keys.buf = NULL;
	sp->keys.len = sp->keys.off = 0;
	loop_mod(l, sp->pty, EPOLLIN);
	if (w < 0 || loop_add(l, STDIN_FILENO, EPOLLIN, spawn_on_stdin, sp, &e) == -1)
		sp->stdin_on = false;
}

static void
spawn_pty_winsize(struct spawn *sp)
{
	struct winsize	ws;

	if (sp->pty >= 0 && sp->r->pty_front)
		ioctl(sp->pty, TIOCSWINSZ, &sp->r->pty_size);
	else if (sp->pty >= 0 && ioctl(sp->pty_host, TIOCGWINSZ, &ws) == 0)
		ioctl(sp->pty, TIOCSWINSZ, &ws);	/* the kernel signals the command */
}

/* Our terminal goes raw while the sandbox's terminal does the line
 * discipline (^C, ^Z, echo); output processing stays on for moat's own
 * messages. */
static void
spawn_pty_start(struct spawn *sp, struct loop *l, int master)
{
	struct termios	t;
	struct merr	e;

	sp->pty = master;
	ttystate_init(&sp->tty);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	spawn_pty_winsize(sp);
	if (sp->r->pty_front) {
		/* The front end reads nothing of ours and writes the keys. */
		if (loop_add(l, master, EPOLLIN, spawn_on_pty, sp, &e) == -1)
			run_emit(sp->r, EV_NOTE, "the terminal is not relayed: %s",
			    e.msg);
		return;
	}
	/* Our terminal, opened again: a description of our own can be
	 * non-blocking without touching the caller's, so a terminal that stops
	 * taking output (^S, a pane in copy mode) does not stop the loop. */
	{
		char	path[64];
		int	fd;

		snprintf(path, sizeof path, "/proc/self/fd/%d", sp->pty_host);
		fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		sp->sink[SINK_PTY].dst = fd >= 0 ? fd : sp->pty_host;
		/* Ours to close exactly when it can be waited on. */
		sp->sink[SINK_PTY].nowait = fd >= 0;
	}
	/* Keys are relayed only when stdin is the terminal; otherwise the
	 * command reads stdin as it is and the host terminal stays cooked
	 * (^C still reaches moat, which forwards it). */
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &sp->saved) == 0) {
		t = sp->saved;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
			sp->raw = true;
	}
	if (loop_add(l, master, EPOLLIN, spawn_on_pty, sp, &e) == 0 &&
	    (isatty(STDIN_FILENO) || sp->r->pty_force) &&
	    loop_add(l, STDIN_FILENO, EPOLLIN, spawn_on_stdin, sp, &e) == 0)
		sp->stdin_on = true;
}

/*
 * The command stopped on its terminal (^Z typed there, or its own
 * SIGTSTP): moat does what a shell does with a stopped job, then stops
 * too. Its terminal gets back what the command had switched on (the
 * alternate screen, mouse reports, ...) and its settings, and moat sends
 * SIGTSTP to its own process group, so the shell that started it takes
 * the terminal back. When moat goes on (fg), the terminal goes raw again
 * with the command's modes, the window size (it may have changed) is
 * passed on, and the command's group gets SIGCONT and SIGWINCH to redraw.
 * Where nothing can continue moat (its process group is orphaned: the
 * kernel discards SIGTSTP), kill() returns at once and so does the
 * command. Only when our terminal is relayed raw: otherwise there is no
 * terminal to give back, and the command goes on at once.
 */
static void
spawn_pty_suspend(struct spawn *sp, struct loop *l)
{
	struct spawn_sink	*sk = &sp->sink[SINK_PTY];
	char			 buf[65536], seq[TTYSTATE_RESTORE_MAX];
	struct ttystate		 was;
	struct sigaction	 sa, old;
	struct termios		 t;
	sigset_t		 tstp, prev;
	ssize_t			 n;
	size_t			 sn;

	if (!sp->raw || sp->pty < 0 || sp->r->pty_front) {
		/* No terminal of ours to hand back: it goes on at once, as
		 * when the kernel discarded its SIGTSTP. */
		spawn_kill(sp, SIGCONT);
		return;
	}
	/* What it wrote before it stopped, on its way first. */
	if (sk->len > 0) {
		(void)spawn_write_all(sk->dst, sk->buf + sk->off, sk->len - sk->off,
		    sp->sigfd);
		spawn_sink_resume(sp, l, SINK_PTY);
	}
	while ((n = read(sp->pty, buf, sizeof buf)) > 0) {
		if (sp->r->on_output != NULL)
			sp->r->on_output(sp->r, sp->pty_host, buf, (size_t)n);
		ttystate_feed(&sp->tty, buf, (size_t)n);
		if (!spawn_write_all(sk->dst, buf, (size_t)n, sp->sigfd))
			break;
	}
	was = sp->tty;
	if ((sn = ttystate_restore(&sp->tty, seq)) > 0)
		(void)spawn_write_all(sk->dst, seq, sn, sp->sigfd);
	ttystate_init(&sp->tty);
	(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &sp->saved);
	run_emit(sp->r, EV_NOTE, "the command stopped (SIGTSTP): moat stops too");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	sigaction(SIGTSTP, &sa, &old);
	pthread_sigmask(SIG_UNBLOCK, &tstp, &prev);
	kill(0, SIGTSTP);	/* stops here, before kill returns */
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	sigaction(SIGTSTP, &old, NULL);

	/* Continued. The shell may have changed the terminal's settings
	 * while moat was stopped: they are what moat restores at the end. */
	if (tcgetattr(STDIN_FILENO, &sp->saved) == 0) {
		t = sp->saved;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
	}
	if ((sn = ttystate_resume(&was, seq)) > 0) {
		(void)spawn_write_all(sk->dst, seq, sn, sp->sigfd);
		ttystate_feed(&sp->tty, seq, sn);
	}
	spawn_pty_winsize(sp);
	sp->active = now_mono();	/* the time stopped is not idle */
	spawn_kill(sp, SIGCONT);
	spawn_kill(sp, SIGWINCH);	/* redraw, even at the same size */
	run_emit(sp->r, EV_NOTE, "moat continued: so does the command");
}

static void
spawn_pty_stop(struct spawn *sp)
{
	struct spawn_sink	*sk = &sp->sink[SINK_PTY];
	char			 buf[65536];
	ssize_t			 n;
	bool			 ok = true;

	if (sp->pty >= 0) {
		/* What the command wrote last; EIO once it is all read. */
		ok = spawn_sink_flush(sp, SINK_PTY) && !sp->r->pty_front;
		loop_del(sp->r->loop, sp->pty);
		/* In a session, a background process may keep the terminal
		 * open: read until it is quiet, not until EIO. */
		if (!sp->attached)
			fcntl(sp->pty, F_SETFL, fcntl(sp->pty, F_GETFL) & ~O_NONBLOCK);
		for (;;) {
			n = read(sp->pty, buf, sizeof buf);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN && sp->attached &&
			    poll(&(struct pollfd){ .fd = sp->pty, .events = POLLIN },
			    1, 50) > 0)
				continue;
			if (n <= 0)
				break;
			if (sp->r->on_output != NULL)
				sp->r->on_output(sp->r, sp->pty_host, buf, (size_t)n);
			ttystate_feed(&sp->tty, buf, (size_t)n);
			if (ok)
				ok = spawn_write_all(sk->dst, buf, (size_t)n, sp->sigfd);
		}
		close(sp->pty);
		sp->pty = -1;
	}
	/* Whatever way the command ended (a timeout or a signal in the middle
	 * of a full-screen program), our terminal gets back what it lent:
	 * main screen, cursor, no mouse reports, keys as they were. */
	if (sk->dst >= 0 && ttystate_dirty(&sp->tty)) {
		char	restore[TTYSTATE_RESTORE_MAX];
		size_t	rn = ttystate_restore(&sp->tty, restore);

		if (ok && spawn_sink_flush(sp, SINK_PTY))
			spawn_write_all(sk->dst, restore, rn, sp->sigfd);
	}
	ttystate_init(&sp->tty);
	spawn_sink_drop(sk);
	free(sp->keys.buf);
	sp->keys.buf = NULL;
	sp->keys.len = sp->keys.off = 0;
	if (sk->nowait) {
		close(sk->dst);
		sk->nowait = false;
	}
	sk->dst = -1;
	if (sp->stdin_on) {
		loop_del(sp->r->loop, STDIN_FILENO);
		sp->stdin_on = false;
	}
	if (sp->raw) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &sp->saved);
		sp->raw = false;
	}
}

/*
 * What an overlay run changed: each entry of its upper dir is a file the
 * command added or modified (it exists in the workspace or not), or a
 * whiteout (a 0:0 character device) for one it deleted. nftw(3) takes no
 * argument, so the walk's state is a file-scope pointer, set only for the
 * duration of one walk in the supervisor's single thread.
 */
#define SPAWN_MAX_FILE_EVENTS	1000

/* One changed file, to the front end; past SPAWN_MAX_FILE_EVENTS only
 * counted (*more), the events having said enough. */
static void
spawn_file_event(struct run *r, const char *path, const char *change,
    bool outside, size_t *n, size_t *more)
{
	struct run_event	 ev;
	autofree char		*text = NULL;

	if ((*n)++ >= SPAWN_MAX_FILE_EVENTS) {
		(*more)++;
		return;
	}
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_FILE_CHANGED;
	ev.t = r->t_end - r->t_start;
	ev.path = path;
	ev.change = change;
	ev.outside = outside;
	ev.text = text = xprintf("%s %s%s", change, path,
	    outside ? " (outside the workspace)" : "");
	r->on_event(r, &ev);
}

static struct {
	struct run		*r;
	const char		*upper, *ws;
	const struct mount_plan	*plan;	/* its placeholders are moat's, not changes */
	size_t			 n, more;
}		*spawn_walk;

static int
spawn_walk_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	const char	*rel = path + strlen(spawn_walk->upper);
	autofree char	*host = NULL;
	struct stat	 hst;
	const char	*change;

	if (*rel == '\0')
		return (0);	/* the upper dir itself */
	host = xprintf("%s%s", spawn_walk->ws, rel);
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		change = "deleted";
	else if (lstat(host, &hst) == 0)
		change = S_ISDIR(st->st_mode) ? NULL : "modified";
	else
		change = "added";
	if (change == NULL)
		return (0);	/* a directory that was there: its entries say it */
	for (size_t i = 0; i < spawn_walk->plan->n; i++) {
		const struct mop	*op = &spawn_walk->plan->ops[i];

		if (op->kind == MOP_PROTECT && op->create && strcmp(op->dst, host) == 0)
			return (0);
	}
	spawn_file_event(spawn_walk->r, host, change, false, &spawn_walk->n,
	    &spawn_walk->more);
	return (0);
}

static void
spawn_report_changes(struct run *r, const char *ws, const struct mount_plan *plan)
{
	autofree char	*upper = NULL;
	__typeof__(*spawn_walk) w = { 0 };

	if (r->state_dir == NULL || ws == NULL || r->on_event == NULL)
		return;
	upper = path_join(r->state_dir, "upper");
	w.r = r;
	w.upper = upper;
	w.ws = ws;
	w.plan = plan;
	spawn_walk = &w;
	nftw(upper, spawn_walk_entry, 16, FTW_PHYS);
	spawn_walk = NULL;
	if (w.more > 0)
		run_emit(r, EV_NOTE, "%zu more changed files not listed "
		    "(see the upper dir %s)", w.more, upper);
}

/*
 * What a run changed outside its workspace: under the profile's rw-binds,
 * the only host places other than the workspace a command can write (/tmp
 * and $HOME are the sandbox's own tmpfs). Those binds hold no upper dir, so
 * after the run their trees are walked for entries whose ctime is not older
 * than the run's start (taken from the coarse clock the kernel stamps files
 * with), with statx's birth time telling added from modified. A deletion
 * leaves nothing to find and a host process writing there meanwhile is
 * counted too; the walk stops after SPAWN_SCAN_MAX entries in all, saying so.
 */
#define SPAWN_SCAN_MAX	20000

/* A bind workspace's entries before the run (workspace-changes = yes), for
 * the deletions a scan after it cannot see. Each entry of v is a mark, '0'
 * until the scan after the run meets the path, then the path; the set's
 * keys point at the paths. */
struct spawn_before {
	struct strv	 v;	/* owned */
	struct strset	 set;
	bool		 cut;	/* more than SPAWN_SCAN_MAX entries: not used */
};
static struct spawn_before	*spawn_listing;

static int
spawn_list_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	char	*e;

	(void)st;
	(void)type;
	if (ftw->level == 0)
		return (0);
	if (spawn_listing->v.n >= SPAWN_SCAN_MAX) {
		spawn_listing->cut = true;
		return (1);
	}
	e = xprintf("0%s", path);
	strv_take(&spawn_listing->v, e);
	(void)strset_add(&spawn_listing->set, e + 1);
	return (0);
}

static void
spawn_list_workspace(const struct run *r, const char *ws, struct spawn_before *b)
{
	if (r->on_event == NULL || ws == NULL || !r->profile->workspace_changes ||
	    r->profile->workspace != WS_BIND)
		return;
	spawn_listing = b;
	nftw(ws, spawn_list_entry, 16, FTW_PHYS | FTW_MOUNT);
	spawn_listing = NULL;
}

static void
spawn_before_clear(struct spawn_before *b)
{
	strset_clear(&b->set);
	strv_clear(&b->v);
}

static struct {
	struct run		*r;
	struct timespec		 t0;
	size_t			 seen, n, more;
	bool			 cut;
	bool			 outside;	/* under an rw-bind, not the workspace */
	struct strset		 skip;		/* moat's own placeholders */
	struct spawn_before	*before;	/* the workspace as it was, or NULL */
}		*spawn_scan;

static bool
ts_not_before(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec > b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec));
}

static int
spawn_scan_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	struct statx	 sx;
	const char	*change = "modified";

	if (++spawn_scan->seen > SPAWN_SCAN_MAX) {
		spawn_scan->cut = true;
		return (1);	/* stops nftw */
	}
	if (spawn_scan->before != NULL && ftw->level > 0) {
		char	*k = (char *)strset_get(&spawn_scan->before->set, path);

		if (k != NULL)
			k[-1] = '1';	/* still there */
	}
	if (ftw->level == 0 || type == FTW_DNR || type == FTW_NS ||
	    !ts_not_before(&st->st_ctim, &spawn_scan->t0))
		return (0);
	if (strset_has(&spawn_scan->skip, path))
		return (0);	/* a placeholder moat made */
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
	    (sx.stx_mask & STATX_BTIME) && ts_not_before(&(struct timespec){
	    sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec }, &spawn_scan->t0))
		change = "added";
	else if (S_ISDIR(st->st_mode))
		return (0);	/* an old directory: its entries say what changed */
	if (spawn_scan->outside)
		spawn_scan->r->files_outside++;
	spawn_file_event(spawn_scan->r, path, change, spawn_scan->outside,
	    &spawn_scan->n, &spawn_scan->more);
	return (0);
}

static void
spawn_scan_rw_binds(struct run *r, const char *ws, const struct mount_plan *plan,
    const struct timespec *t0)
{
	__typeof__(*spawn_scan) w = { .r = r, .t0 = *t0, .outside = true };

	if (r->on_event == NULL)
		return;
	spawn_scan = &w;
	for (size_t i = 0; i < plan->n && !w.cut; i++) {
		const struct mop	*op = &plan->ops[i];

		if (op->kind != MOP_BIND_RW || op->inner || op->src == NULL ||
		    (ws != NULL && path_is_under(op->src, ws)))
			continue;
		nftw(op->src, spawn_scan_entry, 16, FTW_PHYS | FTW_MOUNT);
	}
	spawn_scan = NULL;
	if (w.more > 0)
		run_emit(r, EV_NOTE, "%zu more files changed outside the workspace, "
		    "not listed", w.more);
	if (w.cut)
		run_emit(r, EV_NOTE, "stopped looking for changes under the rw-binds "
		    "after %d entries", SPAWN_SCAN_MAX);
}

/*
 * workspace-changes = yes with a bind workspace: the same scan over the
 * workspace, so that a bind run's changes are on the record as an overlay
 * run's are; and what was listed before the run (spawn_list_workspace) but
 * is no longer there, deleted. moat's own placeholders for protect entries
 * are not changes.
 */
static void
spawn_scan_workspace(struct run *r, const char *ws, const struct mount_plan *plan,
    const struct timespec *t0, struct spawn_before *before)
{
	__typeof__(*spawn_scan) w = { .r = r, .t0 = *t0 };
	double		 t = now_mono();

	if (r->on_event == NULL || ws == NULL || !r->profile->workspace_changes ||
	    r->profile->workspace != WS_BIND)
		return;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->ops[i].kind == MOP_PROTECT && plan->ops[i].create)
			(void)strset_add(&w.skip, plan->ops[i].dst);
	if (before->v.n > 0 && !before->cut)
		w.before = before;
	spawn_scan = &w;
	nftw(ws, spawn_scan_entry, 16, FTW_PHYS | FTW_MOUNT);
	spawn_scan = NULL;
	strset_clear(&w.skip);
	/* What was there before and the scan did not meet is gone (checked
	 * once more: a path the walk could not enter is not a deletion). */
	for (size_t i = 0; w.before != NULL && !w.cut && i < before->v.n; i++) {
		const char	*e = before->v.v[i];
		struct stat	 st;

		if (e[0] == '0' && lstat(e + 1, &st) == -1 && errno == ENOENT)
			spawn_file_event(r, e + 1, "deleted", false, &w.n, &w.more);
	}
	if (w.more > 0)
		run_emit(r, EV_NOTE, "%zu more files changed in the workspace, not "
		    "listed", w.more);
	if (w.cut)
		run_emit(r, EV_NOTE, "stopped looking for changes in the workspace "
		    "after %d entries", SPAWN_SCAN_MAX);
	run_emit(r, EV_NOTE, "workspace scanned for changes in %.1f ms (%zu entries)",
	    (now_mono() - t) * 1e3, w.seen);
}

static void
spawn_on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn	*sp = arg;
	uint64_t	 x;

	(void)!read(fd, &x, sizeof x);
	sp->timed_out = true;
	/* First the kill: saying so may wait on a terminal that takes no
	 * output (^S), and the limit must not. */
	spawn_kill(sp, SIGKILL);	/* pid 1 dies, and the namespace with it */
	run_emit(sp->r, EV_LIMIT_HIT, "wall-clock timeout after %.3g s: killed %s",
	    now_mono() - sp->r->t_start, sp->attached ?
	    "the command's process group (the session goes on)" : "the sandbox");
}

/* idle-timeout: nothing shown on the terminal or the output pipes and
 * nothing typed for that long. Checked a few times per period. */
static void
spawn_on_idle(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn	*sp = arg;
	double		 idle = sp->r->profile->limits.idle_timeout;
	uint64_t	 x;

	(void)!read(fd, &x, sizeof x);
	if (sp->timed_out || now_mono() - sp->active < idle)
		return;
	sp->timed_out = true;
	spawn_kill(sp, SIGKILL);
	loop_del(l, fd);
	run_emit(sp->r, EV_LIMIT_HIT, "idle timeout: nothing shown or typed for "
	    "%.3g s: killed the sandbox", idle);
}

static void
spawn_on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn			*sp = arg;
	struct signalfd_siginfo		 si;

	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		int	sig = (int)si.ssi_signo;

		if (sig == SIGWINCH && sp->r->on_winch != NULL) {
			sp->r->on_winch(sp->r);
			continue;
		}
		if (sig == SIGWINCH && sp->pty >= 0) {
			spawn_pty_winsize(sp);
			continue;
		}
		if (sig != SIGWINCH)
			sp->killed_by = sig;
		if (sp->serve) {
			/* No command to pass it to: the sandbox ends. */
			if (sig != SIGWINCH && sig != SIGUSR1 && sig != SIGUSR2)
				run_serve_stop(sp->r);
			continue;
		}
		spawn_kill(sp, sig);	/* init passes it on to the command */
	}
}

/* The child's uid/gid maps, written from here (root may map the whole
 * range only from the parent namespace). Unprivileged: the caller's ids
 * mapped to themselves, setgroups denied. Root: identity over all ids. */
static int
spawn_map_ids(pid_t pid, struct merr *e)
{
	char		 path[64], buf[64];
	autofd int	 dirfd = -1;

	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if ((dirfd = open(path, O_DIRECTORY | O_PATH | O_CLOEXEC)) == -1)
		return (merr_errno(e, "open %s", path));
	if (geteuid() == 0) {
		if (write_file_at(dirfd, "uid_map", "0 0 4294967295\n", e) == -1 ||
		    write_file_at(dirfd, "gid_map", "0 0 4294967295\n", e) == -1)
			return (-1);
		return (0);
	}
	if (write_file_at(dirfd, "setgroups", "deny", e) == -1)
		return (-1);
	snprintf(buf, sizeof buf, "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
	if (write_file_at(dirfd, "uid_map", buf, e) == -1)
		return (-1);
	snprintf(buf, sizeof buf, "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
	return (write_file_at(dirfd, "gid_map", buf, e));
}

static pid_t
spawn_clone(uint64_t flags, int *pidfd, int cgfd)
{
	struct clone_args	ca;

	memset(&ca, 0, sizeof ca);
	if (cgfd >= 0) {
		flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgfd;
	}
	ca.flags = flags | CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)pidfd;
	ca.exit_signal = SIGCHLD;
	return ((pid_t)syscall(SYS_clone3, &ca, sizeof ca));
}

static int
spawn_clone_error(int err, struct merr *e)
{
	if ((err == EPERM || err == ENOSPC || err == EUSERS || err == EACCES))
		return (merr_errno_n(e, err, "cannot create a user namespace for the "
		    "sandbox; this machine may forbid them to unprivileged users "
		    "(kernel.unprivileged_userns_clone, user.max_user_namespaces, or "
		    "Ubuntu's kernel.apparmor_restrict_unprivileged_userns): run "
		    "\"moat doctor\" for the fix; moat will not run without the "
		    "sandbox"));
	/* A seccomp filter above us answers ENOSYS too: moat's own (which
	 * denies every new namespace, so that a sandbox never nests) or a
	 * container's. Only without one does ENOSYS mean an old kernel. */
	if (err == ENOSYS && getenv("MOAT_SANDBOX") != NULL)
		return (merr_errno_n(e, err, "clone3: this runs inside a moat "
		    "sandbox, which denies nested user namespaces by design; run "
		    "moat from outside the sandbox"));
	if (err == ENOSYS && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2)
		return (merr_errno_n(e, err, "clone3: refused by a seccomp filter "
		    "this process runs under (a container's or a sandbox's), not by "
		    "the kernel; allow clone3 and user namespaces there, or run moat "
		    "outside it"));
	if (err == ENOSYS)
		return (merr_errno_n(e, err, "clone3: this kernel is too old for moat "
		    "(Linux 5.3 or later is needed)"));
	return (merr_errno_n(e, err, "clone3 into new namespaces"));
}

static void
spawn_on_sample(void *arg, const struct meter_sample *ms)
{
	struct run	*r = arg;
	struct spawn	*sp = r->spawn;

	/* RLIMIT_DATA holds each process; many processes together are held
	 * here, one sample late at most (a quarter of a second by default). */
	if (sp != NULL && sp->mem_watch != 0 && !sp->mem_killed &&
	    !isnan(ms->mem_current) && ms->mem_current > (double)sp->mem_watch) {
		sp->mem_killed = true;
		spawn_kill(sp, SIGKILL);
		run_emit(r, EV_LIMIT_HIT, "memory: the sandbox's processes and tmpfs files held "
		    "%.0f MiB, over the limit of %" PRIu64 " MiB: killed %s",
		    ms->mem_current / (1 << 20), sp->mem_watch >> 20, sp->attached ?
		    "the command's process group (the session goes on)" :
		    "the sandbox");
	}
	if (r->on_sample != NULL)
		r->on_sample(r, ms);
}

static double
tv_seconds(const struct timeval *tv)
{
	return ((double)tv->tv_sec + (double)tv->tv_usec / 1e6);
}

static void
spawn_meter_stop(struct run *r, struct spawn *sp)
{
	struct rusage	ru;

	if (sp->meter == NULL)
		return;
	meter_stop(sp->meter, &r->summary);
	sp->meter = NULL;
	/* init reaped everything: its children's rusage is exact, where
	 * /proc loses the processes that are gone. Not reaped yet (alone):
	 * init's own count of the same. */
	if (sp->alone && !sp->init_reaped)
		meter_summary_rusage(&r->summary,
		    (double)sp->init_ru.user_us / 1e6,
		    (double)sp->init_ru.sys_us / 1e6,
		    (double)sp->init_ru.maxrss_kb * 1024);
	else if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		meter_summary_rusage(&r->summary,
		    tv_seconds(&ru.ru_utime) - sp->ru_user0,
		    tv_seconds(&ru.ru_stime) - sp->ru_sys0,
		    /* the largest of all our children ever: the sandbox's only
		     * when it is larger than before the sandbox */
		    ru.ru_maxrss > sp->ru_maxrss0 ? (double)ru.ru_maxrss * 1024 : NAN);
}

/* Each limit the run hit, as an event with what was hit: the kernel's
 * counters where a cgroup kept them (an OOM kill or refused forks count
 * even when the command went on), the signal otherwise. */
static void
spawn_limit_events(struct run *r, struct spawn *sp, const struct cg_events *cev)
{
	const struct limits		*l = &r->limits;	/* a share as bytes */
	struct cg_events		 ev = *cev;
	int				 sig = WIFSIGNALED(r->wstatus) &&
					    r->end != END_SETUP_FAILED &&
					    r->end != END_EXEC_FAILED ?
					    WTERMSIG(r->wstatus) : 0;
	char				 b[32];

	/* (The sum of RSS over the limit was said when the sandbox was
	 * killed for it: spawn_on_sample.) */
	if ((ev.oom_kills > 0 || r->end == END_OOM) && !sp->mem_killed) {
		meter_format_bytes((double)l->memory, b, sizeof b);
		run_emit(r, EV_LIMIT_HIT, "memory limit %s hit: the kernel killed "
		    "%llu process%s", l->memory > 0 ? b : "(the cgroup's)",
		    (unsigned long long)(ev.oom_kills > 0 ? ev.oom_kills : 1),
		    ev.oom_kills > 1 ? "es" : "");
	}
	if (ev.pids_max > 0)
		run_emit(r, EV_LIMIT_HIT, "process limit %llu hit: %llu fork%s "
		    "refused", (unsigned long long)l->nproc,
		    (unsigned long long)ev.pids_max, ev.pids_max > 1 ? "s" : "");
	if (sig == SIGXCPU)
		run_emit(r, EV_LIMIT_HIT, "CPU time limit %.3g s hit: killed "
		    "with SIGXCPU", l->cpu_time);
	if (sig == SIGXFSZ) {
		meter_format_bytes((double)l->fsize, b, sizeof b);
		run_emit(r, EV_LIMIT_HIT, "file size limit %s hit: killed with "
		    "SIGXFSZ", b);
	}
	/* init looked when the command ended: a size-capped tmpfs with no
	 * room left refused the writes past it (ENOSPC). */
	if (sp->full[0] != '\0')
		run_emit(r, EV_LIMIT_HIT, "tmpfs size limit hit: %s full when the "
		    "command ended (raise tmp-size, or that tmpfs entry's size, in the profile)", sp->full);
}

static void
spawn_finish(struct run *r, struct spawn *sp)
{
	int		 st = sp->have_status ? sp->status : sp->init_status;
	struct cg_events ev;
	enum end_reason	 cgr;

	/* The group's counters, read once for the end reason and the
	 * limit events. */
	memset(&ev, 0, sizeof ev);
	if (sp->cg != NULL && cg_events(sp->cg, &ev) == -1)
		memset(&ev, 0, sizeof ev);
	cgr = cg_events_reason(&ev);

	r->wstatus = st;
	if (sp->fail.type == MSG_SETUP_FAILED) {
		r->end = END_SETUP_FAILED;
		r->exit_code = EXIT_MOAT;
	} else if (sp->timed_out) {
		r->end = END_TIMEOUT;
		r->exit_code = EXIT_TIMEOUT;
	} else if (sp->fail.type == MSG_EXEC_FAILED) {
		r->end = END_EXEC_FAILED;
		r->exit_code = sp->fail.code;
	} else if (WIFEXITED(st)) {
		r->end = END_EXITED;
		r->exit_code = WEXITSTATUS(st);
		/* A child killed by the OOM killer, or forks refused, and the
		 * command failed because of it. */
		if (r->exit_code != 0 && cgr != END_NONE)
			r->end = cgr;
	} else if (WIFSIGNALED(st)) {
		int	sig = WTERMSIG(st);

		r->end = sig == SIGXCPU ? END_CPU_TIME :
		    sp->killed_by == sig ? END_KILLED :
		    sig == SIGKILL && (cgr == END_OOM || sp->mem_killed) ? END_OOM :
		    END_SIGNALED;
		r->exit_code = 128 + sig;
	} else {
		r->end = END_SIGNALED;
		r->exit_code = EXIT_MOAT;
	}
	spawn_limit_events(r, sp, &ev);
}

/* The user inside: the same name, and a home at the same path. The
 * password entry is read once per process and user (a front end that
 * stays up starts many commands: reading /etc/passwd was on each one's
 * path). */
void
run_who(char **home, char **user)
{
	static struct {
		bool	 read;
		uid_t	 uid;
		char	*name, *dir;	/* NULL: none */
	}		 pwc;
	struct passwd	*pw;

	if (!pwc.read || pwc.uid != geteuid()) {
		free(pwc.name);
		free(pwc.dir);
		pwc.name = pwc.dir = NULL;
		pwc.uid = geteuid();
		if ((pw = getpwuid(pwc.uid)) != NULL) {
			pwc.name = xstrdup(pw->pw_name);
			pwc.dir = xstrdup(pw->pw_dir);
		}
		pwc.read = true;
	}
	*user = xstrdup(pwc.name != NULL ? pwc.name : "user");
	if (getenv("HOME") != NULL && getenv("HOME")[0] == '/' &&
	    strcmp(getenv("HOME"), "/") != 0)
		*home = xstrdup(getenv("HOME"));
	else if (pwc.dir != NULL && pwc.dir[0] == '/' && strcmp(pwc.dir, "/") != 0)
		*home = xstrdup(pwc.dir);
	else
		*home = xprintf("/home/%s", *user);
}

int
run_serve_send(struct run *r, const struct chan_msg *m, const void *payload,
    size_t len, const int *fds, int nfds, struct merr *e)
{
	if (r->chan < 0)
		return (merr_set(e, "the sandbox is not serving"));
	if (chan_send(r->chan, m, payload, len, fds, nfds) == -1)
		return (merr_errno(e, "pass the request to the sandbox init"));
	return (0);
}

void
run_signal(struct run *r, int sig)
{
	if (r->spawn == NULL)
		return;
	r->spawn->killed_by = sig;
	spawn_kill(r->spawn, sig);
}

ssize_t
run_pty_write(struct run *r, const void *buf, size_t n)
{
	ssize_t	w;

	if (r->spawn == NULL || r->spawn->pty < 0) {
		errno = EBADF;
		return (-1);
	}
	do
		w = write(r->spawn->pty, buf, n);
	while (w == -1 && errno == EINTR);
	return (w);
}

void
run_pty_resize(struct run *r, const struct winsize *ws)
{
	r->pty_size = *ws;
	if (r->spawn != NULL)
		spawn_pty_winsize(r->spawn);
}

void
run_serve_stop(struct run *r)
{
	struct merr	e;

	if (r->spawn == NULL)
		return;
	/* A frozen v1 group holds even SIGKILL until it is thawed. */
	if (r->spawn->frozen)
		(void)run_serve_freeze(r, false, &e);
	spawn_kill(r->spawn, SIGKILL);	/* the loop ends with init */
}

int
run_serve_freeze(struct run *r, bool frozen, struct merr *e)
{
	struct spawn	*sp = r->spawn;

	if (sp == NULL || sp->cg == NULL)
		return (merr_set(e, "the sandbox is not serving"));
	if (cg_freeze(sp->cg, frozen, e) == -1)
		return (-1);
	sp->frozen = frozen;
	return (0);
}

void
run_serve_drain(struct run *r)
{
	if (r->spawn != NULL)
		proxy_drain_events(r->spawn->proxy);
}

int
run_serve_net(struct run *r, const char *rule, bool add, struct merr *e)
{
	struct spawn	*sp = r->spawn;

	if (sp == NULL)
		return (merr_set(e, "the sandbox is not serving"));
	if (sp->proxy == NULL)
		return (merr_set(e, "its profile has net = isolated: nothing leaves "
		    "it, and no rule changes that (a session of a restricted "
		    "profile can be given hosts)"));
	return (proxy_allow(sp->proxy, rule, add, e));
}

int
run_serve_group(struct run *r, uint32_t tag, int *procs, int *dirs, char *ctls,
    size_t ctlslen, struct merr *e)
{
	struct spawn	*sp = r->spawn;
	char		 name[32];

	ctls[0] = '\0';
	if (sp == NULL || sp->cg == NULL)
		return (0);
	snprintf(name, sizeof name, "cmd-%u", tag);
	cg_child_ctls(sp->cg, ctls, ctlslen);
	return (cg_child_make(sp->cg, name, procs, dirs, SPAWN_GROUP_MAX, e));
}

void
run_serve_group_done(struct run *r, uint32_t tag)
{
	struct spawn	*sp = r->spawn;
	char		 name[32];

	if (sp == NULL || sp->cg == NULL)
		return;
	snprintf(name, sizeof name, "cmd-%u", tag);
	cg_child_remove(sp->cg, name);
}

/* The supervisor asks about a refused connection it holds: the front
 * end's question, or the answer no at once when it cannot ask now. */
static void
spawn_on_ask(struct run *r, struct chan_msg *m, const char *why)
{
	char		*colon;
	unsigned long	 port;
	unsigned	 secs = 0;
	struct merr	 e;

	m->text[sizeof m->text - 1] = '\0';
	if (m->tag == 0)
		return;
	if ((colon = strrchr(m->text, ':')) != NULL && colon != m->text &&
	    m->code > 0 && m->code <= NETASK_SECS_MAX && r->on_net_ask != NULL) {
		*colon = '\0';
		port = strtoul(colon + 1, NULL, 10);
		if (port > 0 && port < 65536)
			secs = r->on_net_ask(r, m->tag, m->text, (unsigned)port,
			    why != NULL ? why : "");
	}
	if (secs == 0)
		(void)run_net_answer(r, m->tag, NETASK_DENY, &e);
}

/* A refused connection in a serving sandbox's proxy: the front end's. */
static unsigned
spawn_net_ask(void *arg, uint32_t id, const char *host, unsigned port,
    const char *why)
{
	struct run	*r = arg;
	unsigned	 secs = r->on_net_ask(r, id, host, port, why);

	return (secs > NETASK_SECS_MAX ? NETASK_SECS_MAX : secs);
}

int
run_net_answer(struct run *r, uint32_t id, int how, struct merr *e)
{
	struct chan_msg	m = { .type = MSG_ASK, .tag = id, .code = how };

	if (r->session_fd < 0)
		return (merr_set(e, "not a command of a session"));
	if (chan_send(r->session_fd, &m, NULL, 0, NULL, 0) == -1)
		return (merr_errno(e, "answer the session"));
	return (0);
}

int
run_serve_answer(struct run *r, uint32_t id, bool allow, const char *who,
    struct merr *e)
{
	struct spawn	*sp = r->spawn;

	if (sp == NULL || sp->proxy == NULL)
		return (merr_set(e, "the sandbox is not serving"));
	if (proxy_answer(sp->proxy, id, allow, who) == -1)
		return (merr_set(e, "no connection waits for answer %u (refused "
		    "when its time was up, or gone)", id));
	return (0);
}

/* A command in a session: what its supervisor says of it. */
static void
spawn_on_session(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct spawn		*sp = arg;
	struct run		*r = sp->r;
	struct chan_msg		 m;
	struct run_event	 ev;
	char			*payload = NULL;
	size_t			 len = 0;
	int			 fds[2 + SPAWN_GROUP_MAX], nfds = 0, rc;
	struct merr		 e;

	rc = chan_recv(fd, MSG_DONTWAIT, &m, &payload, &len, fds, (int)nitems(fds),
	    &nfds);
	if (rc == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (rc <= 0) {
		/* The supervisor is gone, and the sandbox with it. */
		if (!sp->have_status)
			sp->lost = true;
		loop_del(l, fd);
		loop_stop(l);
		return;
	}
	switch (m.type) {
	case MSG_SPAWNED:
		/* Its own cgroup's directories come last (the session's
		 * supervisor made it): its meters, peak and OOM kills are its
		 * own. */
		if (m.argc > 0 && m.argc <= SPAWN_GROUP_MAX && m.argc <= nfds &&
		    sp->cg == NULL) {
			m.text[sizeof m.text - 1] = '\0';
			nfds -= m.argc;
			if ((sp->cg = cg_adopt(fds + nfds, (size_t)m.argc, m.text,
			    &e)) == NULL) {
				run_emit(r, EV_NOTE, "the command's cgroup: %s", e.msg);
				for (int i = nfds; i < nfds + m.argc; i++)
					close(fds[i]);
			}
		}
		if (nfds > 0 && sp->pidfd < 0) {
			sp->pidfd = fds[0];
			r->cmd_pid = pidfd_pid(sp->pidfd);
		} else if (nfds > 0)
			close(fds[0]);
		trail_flush(&sp->own, r, m.code);
		if (m.flags & SPAWN_PTY || nfds > 1) {
			if (nfds > 1 && sp->pty < 0)
				spawn_pty_start(sp, l, fds[1]);
			else if (nfds > 1)
				close(fds[1]);
		}
		run_emit(r, EV_NOTE, "command started after %.1f ms (pid %d inside)",
		    (now_mono() - r->t_start) * 1000, m.code);
		trace_step(r->trace, "spawned", r->t_start);
		if (r->on_spawned != NULL)
			r->on_spawned(r);
		if (r->cmd_pid > 0 && (sp->meter = meter_start(l, r->meter_hz, sp->cg,
		    r->cmd_pid, spawn_on_sample, r, &e)) == NULL)
			run_emit(r, EV_NOTE, "no meters: %s", e.msg);
		trace_step(r->trace, "meter-start", r->t_start);
		break;
	case MSG_EXEC_FAILED:
		sp->fail = m;
		if (m.code == 125) {
			/* init could not start it: no status follows. */
			sp->fail.type = MSG_SETUP_FAILED;
			loop_stop(l);
		}
		break;
	case MSG_ERROR:
		sp->fail = m;
		sp->fail.type = MSG_SETUP_FAILED;
		loop_stop(l);
		break;
	case MSG_STATUS:
		sp->have_status = true;
		sp->status = m.code;
		memcpy(sp->full, m.text, sizeof sp->full);
		sp->full[sizeof sp->full - 1] = '\0';
		trace_step(r->trace, "status", r->t_start);
		loop_stop(l);
		break;
	case MSG_ASK:
		spawn_on_ask(r, &m, payload);
		break;
	case MSG_EVENT:
		if (payload == NULL || event_decode(payload, len, &ev) == -1)
			break;
		if (ev.kind == EV_EXEC)
			trail_event(&sp->own, r, payload, len);
		else if (r->on_event != NULL) {
			ev.t = now_mono() - r->t_start;
			r->on_event(r, &ev);
		}
		break;
	default:
		break;
	}
	for (int i = 2; i < nfds; i++)
		close(fds[i]);
	free(payload);
}

/* A session's secrets, from its supervisor, which read them when the
 * session started and runs their interception: the command's variables
 * get the session's placeholders, and the record's redaction learns the
 * values (this process is the session's user's, outside the sandbox). */
static int
spawn_session_secrets(struct run *r, struct merr *e)
{
	struct chan_msg	 m = { .type = MSG_SECRETS };
	autofree char	*payload = NULL;
	size_t		 len = 0;
	int		 fds[1], nfds = 0, rc;

	secrets_release(&r->secrets);
	if (chan_send(r->session_fd, &m, NULL, 0, NULL, 0) == -1)
		return (merr_errno(e, "ask the session for its secrets"));
	/* A message for an earlier command of this connection (a question
	 * held for it, an event) may come first: not the answer. */
	for (;;) {
		do
			rc = chan_recv(r->session_fd, 0, &m, &payload, &len, fds, 1,
			    &nfds);
		while (rc == -1 && errno == EINTR);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		nfds = 0;
		if (rc <= 0 || m.type == MSG_SECRETS || m.type == MSG_ERROR)
			break;
		free(payload);
		payload = NULL;
	}
	if (rc <= 0)
		return (merr_set(e, "the session did not say its secrets: %s",
		    rc == 0 ? "it closed" : strerror(errno)));
	if (m.type == MSG_ERROR)
		return (merr_set(e, "the session did not say its secrets: %s (a "
		    "session started by an older moat: start it again)", m.text));
	rc = m.type != MSG_SECRETS ? merr_set(e, "the session answered "
	    "message %d when asked for its secrets", m.type) :
	    secrets_decode(&r->secrets, payload != NULL ? payload : "", len, e);
	if (payload != NULL)
		explicit_bzero(payload, len);
	return (rc);
}

/* A command sent after a begin its supervisor did not write: it refuses
 * the command (SPAWN_AFTER_ROW), and that answer is read here, so that a
 * front end that keeps the link does not take it for its next command's. */
static void
spawn_session_unsent(int chan, uint32_t tag)
{
	struct chan_msg	 m;
	char		*payload = NULL;
	size_t		 len = 0;
	int		 fds[2 + SPAWN_GROUP_MAX], nfds = 0, rc;

	for (;;) {
		rc = chan_recv_wait(chan, &m, &payload, &len, fds, (int)nitems(fds),
		    &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		free(payload);
		payload = NULL;
		if (rc <= 0 || (m.tag == tag && (m.type == MSG_ERROR ||
		    m.type == MSG_EXEC_FAILED || m.type == MSG_STATUS)))
			return;
	}
}

/*
 * A command in a session's sandbox (r->session_fd): no clone, no mounts;
 * the request goes to the session's supervisor with the command's stdin
 * and the write ends of the relay pipes (or asks for a terminal of the
 * sandbox's devpts), and the loop relays, times and signals it as for a
 * sandbox of its own. The end is its exit status, as init reaped it.
 * Background processes it started stay in the session: what they hold of
 * its output is read as far as it is there at the end, then closed.
 */
static int
run_attached(struct run *r, struct spawn *sp, struct merr *e)
{
	const struct profile	*p = r->profile;
	struct strv		 env = { 0 };
	struct environ_in	 ei = { 0 };
	struct chan_msg		 m;
	sigset_t		 mask, oldmask;
	autofree char		*home = NULL, *user = NULL, *payload = NULL;
	size_t			 len = 0, cap;
	int			 fds[3], nfds = 0, rc = -1, argc = 0;
	bool			 pty, pty_fd[3];
	double			 timeout;

	sp->attached = true;
	sp->chan = r->session_fd;
	/* What the session's sandbox was given when it started (its cgroup
	 * or RLIMIT_DATA hold the command): resolved the same way. */
	if (p->limits.memory_pct != 0 && r->session_memory != 0) {
		r->limits = p->limits;
		r->limits.memory = r->session_memory;
		r->limits.memory_pct = 0;
	} else
		cg_limits_resolve(&p->limits, &r->limits, NULL, 0);
	if (r->argv == NULL || r->argv[0] == NULL)
		return (merr_set(e, "no command to run"));
	if (p->secrets.n + p->secrets_try.n > 0 &&
	    spawn_session_secrets(r, e) == -1)
		return (-1);
	if (r->cwd_path == NULL || r->cwd_path[0] != '/')
		return (merr_set(e, "no working directory inside the session"));
	/* No clone here: the front end's threads may start at once. */
	if (r->after_clone != NULL)
		r->after_clone(r);
	if (r->session_user != NULL && r->session_home != NULL) {
		user = xstrdup(r->session_user);
		home = xstrdup(r->session_home);
	} else
		run_who(&home, &user);
	ei.profile = p;
	ei.extra = &r->env_extra;
	ei.home = home;
	ei.user = user;
	ei.cwd = r->cwd_path;
	ei.run_id = r->id;
	ei.secrets = &r->secrets;
	if (environ_build(&ei, &env, e) == -1 ||
	    spawn_secrets_check(r, &env, e) == -1)
		goto out;
	net_env(p, &env);

	/* The request: cwd, argv, envp. */
	cap = strlen(r->cwd_path) + 1;
	for (char **a = r->argv; *a != NULL; a++, argc++)
		cap += strlen(*a) + 1;
	for (size_t i = 0; i < env.n; i++)
		cap += strlen(env.v[i]) + 1;
	if (cap > SPAWN_PAYLOAD_MAX || argc > SPAWN_ARGS_MAX ||
	    env.n > SPAWN_ARGS_MAX) {
		merr_set(e, "the command and its environment take %zu bytes in "
		    "%d arguments and %zu variables; a session command takes at "
		    "most %d bytes and %d of each", cap, argc, env.n,
		    SPAWN_PAYLOAD_MAX, SPAWN_ARGS_MAX);
		goto out;
	}
	payload = xmalloc(cap);
	len = 0;
#define PUT(str) do { size_t n_ = strlen(str) + 1; memcpy(payload + len, (str), n_); \
	len += n_; } while (0)
	PUT(r->cwd_path);
	for (char **a = r->argv; *a != NULL; a++)
		PUT(*a);
	for (size_t i = 0; i < env.n; i++)
		PUT(env.v[i]);
#undef PUT

	if ((r->loop = loop_new(e)) == NULL)
		goto out;
	r->spawn = sp;
	sigemptyset(&mask);
	for (size_t i = 0; i < nitems(spawn_signals); i++)
		sigaddset(&mask, spawn_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	if ((sp->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		merr_errno(e, "signalfd");
		goto restore;
	}
	signal(SIGPIPE, SIG_IGN);

	/* A terminal as for moat run (output to one), or when asked for. */
	pty = r->pty_force || (r->on_output != NULL &&
	    (isatty(STDOUT_FILENO) || isatty(STDERR_FILENO)));
	sp->pty_host = isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO) ?
	    STDOUT_FILENO : STDERR_FILENO;
	for (int i = 0; i < 3; i++)
		pty_fd[i] = pty && (isatty(i) || r->pty_force) &&
		    !(i == 2 && r->pty_front && r->pty_no_stderr);
	memset(&m, 0, sizeof m);
	m.type = MSG_SPAWN;
	m.tag = 1;
	m.argc = argc;
	m.envc = (int)env.n;
	if (pty) {
		struct winsize	ws = r->pty_size;

		m.flags |= SPAWN_PTY;
		if (!r->pty_front && ioctl(sp->pty_host, TIOCGWINSZ, &ws) == -1)
			memset(&ws, 0, sizeof ws);
		m.winsize = (uint32_t)ws.ws_row << 16 | ws.ws_col;
	}
	if (!pty_fd[0]) {
		m.flags |= SPAWN_FD0;
		fds[nfds++] = STDIN_FILENO;
	}
	for (int i = 0; i < 2; i++) {
		int	pfd[2];
		struct stat	hst;

		if (pty_fd[i + 1])
			continue;
		m.flags |= SPAWN_FD1 << i;
		if (r->on_output == NULL) {
			fds[nfds++] = i + 1;	/* passed through */
			continue;
		}
		if (pipe2(pfd, O_CLOEXEC) == -1) {
			merr_errno(e, "pipe");
			goto restore;
		}
		sp->out_r[i] = pfd[0];
		sp->sink[i].nowait = fstat(i + 1, &hst) == 0 &&
		    (S_ISFIFO(hst.st_mode) || S_ISSOCK(hst.st_mode));
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		fds[nfds++] = pfd[1];
	}

	/* Recorded (or refused) before it starts. */
	r->t_start = now_mono();
	if (r->before_exec != NULL && r->before_exec(r, e) == -1) {
		r->end = END_REFUSED;
		goto restore;
	}
	{
		int	sz = 256 * 1024;

		setsockopt(sp->chan, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	}
	/* A front end that answers questions says so first: only then does
	 * the supervisor hold a refused connection for it. */
	if (r->on_net_ask != NULL && r->net_ask_secs > 0) {
		struct chan_msg	a = { .type = MSG_ASK, .code =
			    (int)(r->net_ask_secs > NETASK_SECS_MAX ? NETASK_SECS_MAX :
			    r->net_ask_secs) };

		if (chan_send(sp->chan, &a, NULL, 0, NULL, 0) == -1) {
			merr_errno(e, "send to the session");
			goto restore;
		}
	}
	if (r->spawn_after_row)
		m.flags |= SPAWN_AFTER_ROW;
	if (chan_send(sp->chan, &m, payload, len, fds, nfds) == -1) {
		merr_errno(e, "send the command to the session");
		goto restore;
	}
	for (int i = 0; i < nfds; i++)
		if (fds[i] > 2)
			close(fds[i]);
	nfds = 0;
	/* The answer to the row's begin, which went just before. */
	if (r->begun != NULL && r->begun(r, e) == -1) {
		if (r->spawn_after_row)
			spawn_session_unsent(sp->chan, m.tag);
		r->end = END_REFUSED;
		goto restore;
	}
	for (int i = 0; i < 2; i++)
		if (sp->out_r[i] >= 0 && loop_add(r->loop, sp->out_r[i], EPOLLIN,
		    spawn_on_output, sp, e) == -1)
			goto kill;
	if (loop_add(r->loop, sp->chan, EPOLLIN, spawn_on_session, sp, e) == -1 ||
	    loop_add(r->loop, sp->sigfd, EPOLLIN, spawn_on_signal, sp, e) == -1)
		goto kill;
	timeout = r->timeout > 0 ? r->timeout : r->timeout < 0 ? 0 : p->limits.timeout;
	if (timeout > 0 && (sp->timerfd = loop_timer(r->loop, timeout, 0,
	    spawn_on_timer, sp, e)) == -1)
		goto kill;
	if (r->loop_ready != NULL)
		r->loop_ready(r, r->loop);
	while (!loop_stopped(r->loop))
		if (loop_once(r->loop, -1, e) == -1)
			goto kill;
	r->t_end = now_mono();
	spawn_drain_output(sp);
	spawn_pty_stop(sp);
	if (sp->meter != NULL) {
		meter_stop(sp->meter, &r->summary);
		sp->meter = NULL;
	}
	if (sp->lost && sp->fail.type == 0) {
		/* The command ran and was killed with the sandbox: an end of
		 * the run, not a failure to start it. */
		fprintf(stderr, "moat: the session ended while the command ran\n");
		r->end = END_KILLED;
		r->wstatus = SIGKILL;
		r->exit_code = 128 + SIGKILL;
		run_emit(r, EV_NOTE, "ended: the session ended, %.3f s",
		    r->t_end - r->t_start);
		rc = 0;
		goto restore;
	}
	spawn_finish(r, sp);
	trace_step(r->trace, "counters", r->t_end);
	if (r->end == END_SETUP_FAILED) {
		if (sp->fail.err != 0)
			merr_errno_n(e, sp->fail.err, "could not start the command "
			    "in the session: %s", sp->fail.text);
		else
			merr_set(e, "could not start the command in the session: %s",
			    sp->fail.text);
		goto restore;
	}
	if (r->end == END_EXEC_FAILED)
		fprintf(stderr, "moat: %s: %s (%s)\n", r->argv[0], sp->fail.text,
		    strerror(sp->fail.err));
	run_emit(r, EV_NOTE, "ended: %s, exit status %d, %.3f s",
	    end_reason_name(r->end), r->exit_code, r->t_end - r->t_start);
	rc = 0;
	goto restore;
kill:
	spawn_kill(sp, SIGKILL);
restore:
	if (sp->pty >= 0 || sp->raw || sp->stdin_on)
		spawn_pty_stop(sp);
	if (sp->meter != NULL) {
		meter_stop(sp->meter, &r->summary);
		sp->meter = NULL;
	}
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
out:
	trail_clear(&sp->own);
	for (int i = 0; i < nfds; i++)
		if (fds[i] > 2)
			close(fds[i]);
	for (int i = 0; i < 2; i++) {
		free(sp->sink[i].buf);
		if (sp->out_r[i] >= 0)
			close(sp->out_r[i]);
	}
	if (sp->timerfd >= 0)
		close(sp->timerfd);
	if (sp->sigfd >= 0)
		close(sp->sigfd);
	if (sp->pidfd >= 0)
		close(sp->pidfd);
	cg_close(sp->cg);	/* the session's supervisor removes it */
	sp->cg = NULL;
	loop_free(r->loop);
	r->loop = NULL;
	r->spawn = NULL;
	strv_clear(&env);
	return (rc);
}

int
run_sandbox(struct run *r, struct merr *e)
{
	const struct profile	*p = r->profile;
	struct spawn		 sp;
	struct mount_plan	 plan;
	struct filter		 filter;
	struct strv		 env = { 0 }, argv = { 0 };
	struct init_args	 ia;
	struct spawn_attach	 at = { .started = false };
	struct spawn_sweep	 sw = { .started = false };
	struct cg_host		*host;
	struct timespec		 wall0;
	struct spawn_before	 before = { 0 };
	struct environ_in	 ei = { 0 };
	struct wslock		 wl = { .fd = -1 };
	sigset_t		 mask, oldmask;
	char			 cwdbuf[PATH_MAX], wsbuf[PATH_MAX];
	struct stat		 wst;
	autofree char		*home = NULL, *user = NULL, *upper = NULL;
	const char		*ws = NULL, *cwd;
	int			 sv[2] = { -1, -1 }, rc = -1;
	bool			 plan_made = false;
	uint64_t		 flags, ia_rlimit_data = 0;
	char			 memsrc[PATH_MAX + 96];
	double			 timeout, t;
	pid_t			 pid;

	memset(&sp, 0, sizeof sp);
	memset(&filter, 0, sizeof filter);
	memset(&ia, 0, sizeof ia);
	ia.out[0] = ia.out[1] = -1;
	sp.r = r;
	sp.out_r[0] = sp.out_r[1] = -1;
	for (int i = 0; i < 2; i++) {
		sp.sink[i].src = &sp.out_r[i];
		sp.sink[i].src_cb = spawn_on_output;
		sp.sink[i].dst = i + 1;
	}
	sp.sink[SINK_PTY].src = &sp.pty;
	sp.sink[SINK_PTY].src_cb = spawn_on_pty;
	sp.sink[SINK_PTY].dst = -1;
	sp.pty = -1;
	sp.pidfd = sp.chan = sp.sigfd = sp.timerfd = sp.idlefd = -1;
	sp.ns[0] = sp.ns[1] = -1;
	sp.serve = r->argv == NULL;
	r->end = END_NONE;
	r->exit_code = EXIT_MOAT;
	if (r->session_fd >= 0)
		return (run_attached(r, &sp, e));
	if (sp.serve && r->serve_ready == NULL)
		return (merr_set(e, "no command to run"));
	t = now_mono();

	/* Who, where: the same user, the workspace at its host path. */
	run_who(&home, &user);
	if (getcwd(cwdbuf, sizeof cwdbuf) == NULL)
		return (merr_errno(e, "getcwd"));
	if (p->workspace != WS_NONE) {
		if (realpath(r->workspace != NULL ? r->workspace : cwdbuf, wsbuf) == NULL)
			return (merr_errno(e, "workspace %s",
			    r->workspace != NULL ? r->workspace : cwdbuf));
		ws = wsbuf;
		if (stat(ws, &wst) == 0 && !S_ISDIR(wst.st_mode))
			return (merr_set(e, "workspace %s is not a directory: give "
			    "the project's directory with -w, or run moat from it",
			    r->workspace != NULL ? r->workspace : cwdbuf));
		if (spawn_check_workspace(ws, home, r->workspace != NULL, e) == -1)
			return (-1);
	}
	if (r->cwd != NULL)
		cwd = r->cwd;
	else if (ws != NULL && path_is_under(cwdbuf, ws))
		cwd = cwdbuf;
	else
		cwd = ws != NULL ? ws : home;

	free(r->ws_path);
	free(r->cwd_path);
	r->ws_path = ws != NULL ? xstrdup(ws) : NULL;
	r->cwd_path = xstrdup(cwd);

	if (p->workspace == WS_OVERLAY && ws != NULL) {
		autofree char	*root = spawn_state_root();

		r->state_dir = xprintf("%s/runs/%s", root, r->id);
		upper = xstrdup(r->state_dir);
		{
			autofree char	*u = path_join(upper, "upper");
			autofree char	*w = path_join(upper, "work");

			if (mkdir_p(u, 0700, e) == -1 || mkdir_p(w, 0700, e) == -1)
				return (-1);
			/* What moat diff reads to stack this layer on its parent's. */
			if (r->on_run_id != NULL) {
				autofree char	*f = path_join(upper, "on");
				autofd int	 fd = open(f, O_WRONLY | O_CREAT | O_TRUNC |
				    O_NOFOLLOW | O_CLOEXEC, 0600);

				if (fd == -1 || dprintf(fd, "%s\n", r->on_run_id) < 0)
					return (merr_errno(e, "write %s", f));
			}
		}
	}

	ei.profile = p;
	ei.extra = &r->env_extra;
	ei.home = home;
	ei.user = user;
	ei.cwd = cwd;
	ei.run_id = r->id;
	/* Read now, before the clone: init wipes its copy of them. */
	secrets_release(&r->secrets);
	if (secrets_load(&r->secrets, p, r->id, e) == -1)
		goto out;
	ei.secrets = &r->secrets;
	if (environ_build(&ei, &env, e) == -1 ||
	    spawn_secrets_check(r, &env, e) == -1)
		goto out;
	net_env(p, &env);	/* the proxy variables, in restricted and proxied modes */
	if (mounts_plan(r, ws, home, upper, &plan, e) == -1) {
		mounts_plan_release(&plan);
		goto out;
	}
	plan_made = true;
	/* The command as the host would run it, against what the sandbox
	 * shows: a link or interpreter outside it is worth a clear word. */
	if (!sp.serve && r->argv[0] != NULL) {
		struct resolve	res;

		resolve_command(r->argv[0], getenv("PATH"), cwdbuf, &plan, &res);
		free(r->exec_hint);
		r->exec_hint = resolve_hint(&res, r->argv[0], p->name, home);
		resolve_release(&res);
	}
	/* Refused writes to protected paths are recorded; so are connections
	 * an isolated network refuses (the proxy records the others). */
	sp.filter_flags = FILTER_NOTIFY;
	/* Restricted and proxied: connect() is intercepted (notify-connect.c). */
	if (p->net != NET_ISOLATED)
		sp.filter_flags |= FILTER_CONNECT;
	if (p->record_refused)
		sp.filter_flags |= FILTER_OBSERVE_WRITE |
		    (p->net == NET_ISOLATED ? FILTER_OBSERVE_CONNECT : 0);
	/* The exec trail, unless the profile denies exec; a session's is
	 * sent to the clients whose commands run, and each keeps its own
	 * command's (trail.c). */
	sp.trail = p->exec_trail &&
	    !strv_contains(&p->seccomp_deny, "execve") &&
	    !strv_contains(&p->seccomp_deny, "execveat");
	if (sp.trail)
		sp.filter_flags |= FILTER_EXEC_TRAIL;
	trace_step(r->trace, "plan", t);
	t = now_mono();
	{
		bool	cached;

		if (filter_compile_cached(p, sp.filter_flags, &filter, &cached, e) == -1)
			goto out;
		run_emit(r, EV_NOTE, "seccomp: %u instructions, %s", filter.prog.len,
		    cached ? "from the cache" : "compiled");
	}
	trace_step(r->trace, "seccomp", t);
	sp.transparent = (filter.flags & FILTER_CONNECT) != 0;
	/* The proxy's allowlist and upstream, before anything starts: a bad
	 * one refuses the run here, and asking pip or npm for their index
	 * (net-allow-index) is on no clock of the run. */
	if (p->net != NET_ISOLATED && (sp.proxy = proxy_new(&r->events, r->ws_path, p, e)) == NULL)
		goto out;
	if (sp.proxy != NULL && proxy_secrets(sp.proxy, &r->secrets, e) == -1)
		goto out;
	if (sp.proxy != NULL && r->on_net_ask != NULL)
		proxy_set_ask(sp.proxy, spawn_net_ask, r);
	if (ws != NULL && p->workspace == WS_BIND && wslock_take(&wl, ws, &plan, e) == -1)
		goto out;
	/* Limits: rlimits always (in a user namespace RLIMIT_NPROC counts the
	 * sandbox alone); a cgroup when the profile limits memory or CPU, or
	 * asks for one: creating it costs more than the rest of the start. */
	t = now_mono();
	host = cg_host_new();
	cg_limits_resolve_on(host, &p->limits, &r->limits, memsrc, sizeof memsrc);
	if (*memsrc != '\0')
		run_emit(r, EV_NOTE, "memory: %" PRIu64 "M, %s", r->limits.memory >> 20,
		    memsrc);
	if (r->limits.memory != 0 || r->limits.memory_swap != 0 ||
	    r->limits.cpus > 0 || r->limits.require_cgroups ||
	    (geteuid() == 0 && r->limits.nproc != 0) || sp.serve) {
		/* (The kernel exempts uid 0 from RLIMIT_NPROC: for root only
		 * pids.max holds a fork loop. A session is paused with the
		 * freezer, so it asks for one where it can be had.) */
		sp.cg = cg_create_on(host, r->id, &r->limits,
		    sp.serve ? CG_CTL_FREEZER | CG_SESSION : 0, e);
		if (sp.cg == NULL) {
			cg_host_free(host);
			goto out;
		}
		snprintf(r->enforced, sizeof r->enforced, "%s", cg_describe(sp.cg));
	} else
		snprintf(r->enforced, sizeof r->enforced, "rlimits only (the profile "
		    "sets no memory or CPU limit, so no cgroup is needed; nproc is "
		    "RLIMIT_NPROC in the sandbox's user namespace)");
	if (r->limits.memory != 0 &&
	    (sp.cg == NULL || !(cg_controllers(sp.cg) & CG_CTL_MEMORY))) {
		ia_rlimit_data = sp.mem_watch = r->limits.memory;
		snprintf(r->enforced + strlen(r->enforced), sizeof r->enforced -
		    strlen(r->enforced), "; memory %" PRIu64 "M by RLIMIT_DATA per "
		    "process and the sum of RSS", r->limits.memory >> 20);
	}
	cg_host_free(host);
	trace_step(r->trace, "cgroup", t);
	run_emit(r, EV_NOTE, "limits: %s", r->enforced);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		merr_errno(e, "socketpair");
		goto out;
	}
	if ((r->loop = loop_new(e)) == NULL)
		goto out;
	/* Watched from before the clone, so that a change on the host while
	 * init makes the mounts is seen too (and looked at once it is ready). */
	{
		struct merr	ge = { 0 };

		sp.wl = &wl;
		if ((sp.guard = guard_new(&plan, p->workspace == WS_BIND ? ws : NULL,
		    &ge)) != NULL) {
			if (loop_add(r->loop, guard_fd(sp.guard), EPOLLIN, spawn_on_guard,
			    &sp, e) == -1)
				goto out;
		} else if (ge.msg[0] != '\0')
			fprintf(stderr, "moat: warning: %s: should a program on the "
			    "host remove or replace a protected or hidden path during "
			    "the run, it would not be protected or hidden again\n",
			    ge.msg);
	}

	/* Signals go through the loop; the child unblocks them. */
	sigemptyset(&mask);
	for (size_t i = 0; i < nitems(spawn_signals); i++)
		sigaddset(&mask, spawn_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	if ((sp.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		merr_errno(e, "signalfd");
		goto restore;
	}

	/* stdout and stderr go through us when they are not a terminal, so
	 * the log can count, hash and keep them. A reader that goes away must
	 * not kill moat: SIGPIPE is ignored here (the command's is reset). */
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		int	pfd[2];

		if (r->on_output == NULL || isatty(i + 1))
			continue;
		if (pipe2(pfd, O_CLOEXEC) == -1) {
			merr_errno(e, "pipe");
			goto restore;
		}
		sp.out_r[i] = pfd[0];
		{
			struct stat	hst;

			sp.sink[i].nowait = fstat(i + 1, &hst) == 0 &&
			    (S_ISFIFO(hst.st_mode) || S_ISSOCK(hst.st_mode));
		}
		ia.out[i] = pfd[1];
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	}

	ia.profile = p;
	ia.plan = &plan;
	sp.plan = &plan;
	ia.filter = &filter;
	/* A copy: init wipes moat's own argv (it may hold -e values). */
	for (char **a = r->argv; a != NULL && *a != NULL; a++)
		strv_add(&argv, *a);
	ia.argv = argv.v;
	ia.envp = env.v;
	ia.cwd = cwd;
	ia.hostname = p->hostname != NULL ? p->hostname : "moat";
	ia.chan = sv[1];
	ia.secrets = &r->secrets;
	/* Output to a terminal: the command gets a terminal of its own,
	 * relayed (and recorded) through the master; keys too when stdin is
	 * a terminal. Were stdout and stderr different terminals, stderr's
	 * output would go to stdout's. */
	ia.pty = !sp.serve && r->on_output != NULL &&
	    (isatty(STDOUT_FILENO) || isatty(STDERR_FILENO));
	ia.serve = sp.serve;
	sp.pty_host = isatty(STDOUT_FILENO) ? STDOUT_FILENO : STDERR_FILENO;
	for (int i = 0; i < 3; i++)
		ia.pty_fd[i] = ia.pty && isatty(i);
	ia.new_session = !ia.pty && !sp.serve && isatty(STDIN_FILENO);
	ia.rlimit_data = ia_rlimit_data;
	/* v2 places init at clone time (CLONE_INTO_CGROUP); on v1 init
	 * moves itself through the tasks files, or the supervisor moves it
	 * where those could not be opened. */
	ia.wait_placed = sp.cg != NULL && cg_dirfd(sp.cg) < 0;
	if (ia.wait_placed && (ia.ntasks = cg_tasks_open(sp.cg, ia.tasks,
	    nitems(ia.tasks))) > 0)
		ia.wait_placed = false;
	else
		ia.ntasks = 0;
	ia.trace = r->trace;
	ia.guard = sp.guard != NULL;
	ia.guard_fd = sp.guard != NULL ? guard_fd(sp.guard) : -1;

	/* A user namespace as root too: capabilities then only ever exist in
	 * it, and RLIMIT_NPROC counts the sandbox's processes alone. */
	flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
	    CLONE_NEWIPC | CLONE_NEWUTS;
	fflush(NULL);
	{
		struct rusage	ru;

		if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
			sp.ru_user0 = tv_seconds(&ru.ru_utime);
			sp.ru_sys0 = tv_seconds(&ru.ru_stime);
			sp.ru_maxrss0 = ru.ru_maxrss;
		}
	}
	spawn_list_workspace(r, ws, &before);
	/* The clock file timestamps come from, for spawn_scan_rw_binds. */
	clock_gettime(CLOCK_REALTIME_COARSE, &wall0);
	r->t_start = now_mono();
	pid = spawn_clone(flags, &sp.pidfd, sp.cg != NULL ? cg_dirfd(sp.cg) : -1);
	for (int i = 0; pid != 0 && i < ia.ntasks; i++)
		close(ia.tasks[i]);
	if (pid == -1) {
		spawn_clone_error(errno, e);
		goto restore;
	}
	if (pid != 0)
		trace_step(r->trace, "clone", r->t_start);
	if (pid == 0) {
		cov_child();
		/* The relay's read ends are ours alone: were init to hold one, a
		 * reader of moat's output that went away would never break the
		 * command's pipe (it would block instead of getting EPIPE). */
		close(sv[0]);
		for (int i = 0; i < 2; i++)
			if (sp.out_r[i] >= 0)
				close(sp.out_r[i]);
		init_main(&ia);
	}
	r->init_pid = pid;
	close(sv[1]);
	sv[1] = -1;
	for (int i = 0; i < 2; i++) {
		if (ia.out[i] >= 0) {
			close(ia.out[i]);
			ia.out[i] = -1;
		}
		if (sp.out_r[i] >= 0 && loop_add(r->loop, sp.out_r[i], EPOLLIN,
		    spawn_on_output, &sp, e) == -1)
			goto kill_placing;
	}
	sp.chan = sv[0];
	r->chan = sp.chan;
	r->spawn = &sp;
	if (sp.serve) {
		/* Room for a request's argv and environment. */
		int	sz = 256 * 1024;

		setsockopt(sp.chan, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	}
	if (spawn_map_ids(pid, e) == -1) {
		struct chan_msg	m;

		/* init may have failed first (a refused prctl) and be gone,
		 * which is why its maps could not be written: say what it
		 * said. */
		if (recv(sp.chan, &m, sizeof m, MSG_DONTWAIT) == (ssize_t)sizeof m &&
		    m.type == MSG_SETUP_FAILED) {
			m.text[sizeof m.text - 1] = '\0';
			merr_errno_n(e, m.err, "could not build the sandbox: %s", m.text);
		}
		goto kill_placing;
	}
	/* init builds the root from here on, while the loop, the timers and
	 * the meter are set up. */
	trace_step(r->trace, "go", r->t_start);
	{
		struct chan_msg	go = { .type = MSG_GO };

		/* EPIPE, or ECONNRESET when it left this unread: init failed
		 * before it read this (a refused prctl); its message waits on
		 * the channel for the loop to read. */
		if (send(sp.chan, &go, sizeof go, MSG_NOSIGNAL) == -1 && errno != EPIPE &&
		    errno != ECONNRESET) {
			merr_errno(e, "start the sandbox init");
			goto kill_placing;
		}
	}
	/* The threads after GO: making one waits whenever a cgroup move
	 * anywhere on the machine is under way (the kernel's threadgroup
	 * lock), and init must not wait with it. */
	if (r->after_clone != NULL)
		r->after_clone(r);
	if (sp.serve)
		spawn_sweep_start(&sw);
	/* The v1 move as early as it can go, as it is the longest wait of the
	 * start: after GO, since its thread sends PLACED when it is done, and
	 * after the other threads are made, as a cgroup move holds every fork
	 * and thread creation of the machine back until it is done. */
	if (ia.wait_placed)
		spawn_attach_start(&at, sp.cg, pid, sp.chan);
	run_emit(r, EV_NOTE, "sandbox init is pid %d; namespaces: user (%s), mount, "
	    "pid, net, ipc, uts, cgroup", (int)pid, geteuid() == 0 ?
	    "root: ids mapped 1:1, capabilities exist only inside" :
	    "your uid and gid mapped to themselves, setgroups denied");

	if (loop_add(r->loop, sp.pidfd, EPOLLIN, spawn_on_exit, &sp, e) == -1 ||
	    loop_add(r->loop, sp.chan, EPOLLIN, spawn_on_chan, &sp, e) == -1 ||
	    loop_add(r->loop, sp.sigfd, EPOLLIN, spawn_on_signal, &sp, e) == -1) {
		goto kill_placing;
	}
	timeout = r->timeout > 0 ? r->timeout : r->timeout < 0 ? 0 : p->limits.timeout;
	if (sp.serve)
		timeout = 0;	/* each command has its own, and the session a TTL */
	if (timeout > 0 && (sp.timerfd = loop_timer(r->loop, timeout, 0,
	    spawn_on_timer, &sp, e)) == -1) {
		goto kill_placing;
	}
	if (!sp.serve && p->limits.idle_timeout > 0) {
		double	every = p->limits.idle_timeout / 10;

		sp.active = now_mono();
		every = every < 0.05 ? 0.05 : every > 10 ? 10 : every;
		if ((sp.idlefd = loop_timer(r->loop, every, every, spawn_on_idle, &sp,
		    e)) == -1) {
			goto kill_placing;
		}
	}
	if (!sp.serve && (sp.meter = meter_start(r->loop, r->meter_hz, sp.cg, pid,
	    spawn_on_sample, r, e)) == NULL) {
		goto kill_placing;
	}
	/* In parallel with init building the root (and the cgroup move). */
	if (r->before_exec != NULL && r->before_exec(r, e) == -1) {
		if (ia.wait_placed)
			spawn_attach_finish(&at, &(struct merr){ 0 });
		spawn_kill(&sp, SIGKILL);
		r->end = END_REFUSED;
		goto reap;
	}
	if (ia.wait_placed && spawn_attach_finish(&at, e) == -1) {
		spawn_kill(&sp, SIGKILL);
		goto reap;
	}
	while (!loop_stopped(r->loop))
		if (loop_once(r->loop, -1, e) == -1) {
			spawn_kill(&sp, SIGKILL);
			goto reap;
		}
	/* Messages sent just before the exit may still be queued. */
	for (int i = 0; i < 8; i++)
		spawn_on_chan(r->loop, sp.chan, EPOLLIN, &sp);
	spawn_guard_stop(&sp, false);
	/* The run ended with init, or with the last of its processes but
	 * init (alone); what follows waits only on our readers. */
	r->t_end = now_mono();
	trace_step(r->trace, sp.alone && !sp.init_reaped ? "status" : "init-gone",
	    sp.t_exec > 0 ? sp.t_exec : r->t_start);
	spawn_drain_output(&sp);
	spawn_pty_stop(&sp);
	r->execs = notify_execs(sp.notify);
	notify_stop(sp.notify);
	sp.notify = NULL;
	proxy_stop(sp.proxy);
	sp.proxy = NULL;
	spawn_finish(r, &sp);
	spawn_meter_stop(r, &sp);
	if (p->workspace == WS_OVERLAY)
		spawn_report_changes(r, ws, &plan);
	spawn_scan_rw_binds(r, ws, &plan, &wall0);
	spawn_scan_workspace(r, ws, &plan, &wall0, &before);
	if (sp.failed) {
		memcpy(e, &sp.err, sizeof *e);
		rc = -1;
		goto restore;
	}
	if (r->end == END_SETUP_FAILED) {
		merr_errno_n(e, sp.fail.err, "could not build the sandbox: %s",
		    sp.fail.text);
		goto restore;
	}
	if (r->end == END_EXEC_FAILED)
		fprintf(stderr, "moat: %s: %s (%s)\n", r->argv[0], sp.fail.text,
		    strerror(sp.fail.err));
	run_emit(r, EV_NOTE, "ended: %s, exit status %d, %.3f s",
	    end_reason_name(r->end), r->exit_code, r->t_end - r->t_start);
	/* Alone, init's exit tears the namespaces down (its mounts, some
	 * 0.4 ms) on another CPU while the workspace's placeholders go
	 * (nothing but init is left inside, and removing a file that is a
	 * mount point in its namespace detaches that mount lazily, as its
	 * exit would) and the front end closes the record. */
	if (sp.alone && !sp.init_reaped)
		wslock_release(&wl);
	if (r->after_run != NULL)
		r->after_run(r);
	rc = 0;
	goto restore;

kill_placing:
	/* A failure after the clone: init dies, the cgroup move (a thread
	 * from the clone on) is waited for. */
	spawn_kill(&sp, SIGKILL);
	if (ia.wait_placed)
		spawn_attach_finish(&at, &(struct merr){ 0 });
reap:
	{
		siginfo_t	si;

		waitid((idtype_t)P_PIDFD, (id_t)sp.pidfd, &si, WEXITED);
	}
	notify_stop(sp.notify);
	proxy_stop(sp.proxy);
	sp.proxy = NULL;
	spawn_meter_stop(r, &sp);
restore:
	if (sp.pty >= 0 || sp.raw || sp.stdin_on)
		spawn_pty_stop(&sp);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
out:
	proxy_stop(sp.proxy);	/* made, but the sandbox never was */
	for (int i = 0; i < 2; i++) {
		free(sp.sink[i].buf);
		if (sp.out_r[i] >= 0)
			close(sp.out_r[i]);
		if (ia.out[i] >= 0)
			close(ia.out[i]);
	}
	if (sp.alone && !sp.init_reaped) {
		siginfo_t	si;

		while (waitid((idtype_t)P_PIDFD, (id_t)sp.pidfd, &si, WEXITED) == -1 &&
		    errno == EINTR)
			;
		trace_step(r->trace, "init-gone", r->t_end);
	}
	if (sp.cg != NULL) {
		struct merr	ce;

		if (cg_destroy(sp.cg, &ce) == -1)
			fprintf(stderr, "moat: %s\n", ce.msg);
		sp.cg = NULL;
	}
	if (r->t_start > 0)
		spawn_sweep_join(&sw);	/* groups left by a moat that was killed */
	wslock_release(&wl);
	for (int i = 0; i < sp.nfds; i++)
		close(sp.fds[i]);
	free(sp.fds);
	if (sp.timerfd >= 0)
		close(sp.timerfd);
	if (sp.idlefd >= 0)
		close(sp.idlefd);
	if (sp.sigfd >= 0)
		close(sp.sigfd);
	if (sp.pidfd >= 0)
		close(sp.pidfd);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	spawn_guard_stop(&sp, true);
	loop_free(r->loop);
	r->loop = NULL;
	r->spawn = NULL;
	r->chan = -1;
	filter_release(&filter);
	if (plan_made)
		mounts_plan_release(&plan);
	spawn_before_clear(&before);
	strv_clear(&env);
	strv_clear(&argv);
	if (r->t_end > 0)
		trace_step(r->trace, "teardown", r->t_end);
	return (rc);
}
