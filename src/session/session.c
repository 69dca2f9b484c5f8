/*
 * session.c: sessions, both ends. The supervisor: a detached process that
 * holds one serving sandbox (run_sandbox with no argv) and a control socket;
 * each client request to start a command becomes a MSG_SPAWN to init under
 * a tag of the supervisor's, and init's answers go back to the client that
 * asked. A client that goes away has its commands killed. Events of the
 * sandbox (proxy decisions, denied syscalls) go to every client whose
 * command is running. The client side: finding, greeting and asking a
 * session. Supervisor of a session, and its clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/cov.h"
#include "base/event.h"
#include "base/loop.h"
#include "base/sha256.h"
#include "base/util.h"
#include "profile/net-rule.h"
#include "profile/profile.h"
#include "sandbox/chan.h"
#include "sandbox/spawn.h"
#include "session.h"

#define SESSION_LOG_KEEP	(7 * 86400)	/* seconds a dead session's log stays */

int
session_dir(char *buf, size_t n, struct merr *e)
{
	const char	*rt = getenv("XDG_RUNTIME_DIR");
	struct stat	 st;

	if (rt != NULL && rt[0] == '/')
		snprintf(buf, n, "%s/moat", rt);
	else
		snprintf(buf, n, "/tmp/moat-%u", (unsigned)geteuid());
	if (mkdir(buf, 0700) == -1 && errno != EEXIST)
		return (merr_errno(e, "create the session directory %s", buf));
	/* Another user's, or open to others: a planted directory. */
	if (lstat(buf, &st) == -1)
		return (merr_errno(e, "%s", buf));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0)
		return (merr_set(e, "the session directory %s is not a private "
		    "directory of yours (mode 0700, owner uid %u); remove it or set "
		    "XDG_RUNTIME_DIR", buf, (unsigned)geteuid()));
	return (0);
}

static int
session_sockaddr(const char *id, struct sockaddr_un *sa, struct merr *e)
{
	char	dir[PATH_MAX];

	if (session_dir(dir, sizeof dir, e) == -1)
		return (-1);
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s.sock", dir,
	    id) >= sizeof sa->sun_path)
		return (merr_set(e, "the session directory %s is too long for a "
		    "socket path; set XDG_RUNTIME_DIR to a shorter one", dir));
	return (0);
}

/*
 * The supervisor.
 */
struct sv_client {
	struct sv_client	*next;
	int			 fd;
	struct ucred		 cred;		/* who it is (SO_PEERCRED) */
	bool			 greeted;
	/* Its last MSG_AUDIT request since its last command: 1 done, -1
	 * refused, 0 none. A command sent after its row's begin, which it
	 * did not wait for (SPAWN_AFTER_ROW), runs only on a 1. */
	int			 row;
	bool			 refused;	/* answered MSG_ERROR: read what it sent
						   (closing on unread data would reset the
						   connection before it reads the answer),
						   then drop it */
	/* Commands of its that ended: their cgroups stay until it has read
	 * their last counters, which it has when it asks for the next
	 * command or goes away. */
	uint32_t		*ended;		/* owned */
	size_t			 nended;
	/* It answers questions about refused connections (MSG_ASK): for
	 * how many seconds the proxy holds one for it; 0: it does not. */
	unsigned		 ask_secs;
	/* Its runs' records, which we write for it (MSG_AUDIT); NULL
	 * until its first request. */
	struct audit_guest	*guest;
	/* The commands it started: a client that stays for more (the TUI,
	 * a moat mcp runner) sends its next row as soon as the last one's
	 * end is answered, one that came for a command (moat session exec)
	 * goes away then (sv_serve_msg). */
	unsigned		 spawned;
};

/* A question about a refused connection, waiting for its client. */
struct sv_ask {
	struct sv_ask		*next;
	uint32_t		 id;
	struct sv_client	*client;
	double			 until;		/* CLOCK_MONOTONIC: the proxy's
						   time is up */
};

struct sv_cmd {
	struct sv_cmd		*next;
	struct sv_client	*client;
	uint32_t		 tag;		/* ours, to init */
	uint32_t		 ctag;		/* the client's */
	pid_t			 pid;		/* inside */
	bool			 open;		/* a MSG_OPEN, not a command */
	/* Its own cgroup (v1): the directories the client gets with
	 * MSG_SPAWNED, and their controllers. */
	int			 group[SPAWN_GROUP_MAX];
	int			 ngroup;
	char			 ctls[64];
};

struct sv {
	struct run		 r;
	const struct session_opts *o;
	struct session_info	 info;
	struct strv		 live_added;	/* net-allow rules written to the
						   profile's file since (MSG_NET) */
	struct strv		 live_denied;	/* and those denied since */
	struct sockaddr_un	 sa;
	int			 listen;
	int			 ready;		/* pipe to session_start, until ready */
	int			 ttl_fd, idle_fd;
	int			 quiet_fd;	/* the logs' memory given back
						   once nothing ran for a while */
	double			 quiet_last;	/* CLOCK_MONOTONIC: the last
						   audit request */
	double			 ttl_end;	/* CLOCK_MONOTONIC; 0: none */
	double			 ttl_held;	/* paused with ttl_paused_stop: the
						   seconds left, the timer off; 0: none */
	struct sv_client	*clients;
	struct sv_cmd		*cmds;
	struct sv_ask		*asks;
	uint32_t		 next_tag;
	/* Finished commands' groups whose last counters their clients
	 * read (they asked for another command, or went away): removed
	 * while the next command runs, once its MSG_SPAWNED is on its way
	 * (the supervisor has nothing else to do until its status), or
	 * after SV_DOOMED_WAIT of nothing (sv_doomed_add's timer). */
	uint32_t		*doomed;	/* owned */
	size_t			 ndoomed;
	int			 doomed_fd;	/* that timer; -1: none */
	bool			 spare_groups;	/* the last spare had groups */
	/* The client whose row's end the spare waits for (sv_spare_after),
	 * and the timer that makes it anyway. */
	struct sv_client	*spare_for;
	int			 spare_fd;
	/* The next command's group, made and opened ahead (sv_spare). */
	struct {
		uint32_t	 tag;		/* 0: none */
		int		 n;		/* as run_serve_group gives */
		int		 procs[SPAWN_GROUP_MAX];
		int		 group[SPAWN_GROUP_MAX];
		char		 ctls[64];
		int		 pidfd;		/* the process init forked
						   ahead for it (MSG_SPARE);
						   -1: none */
	}			 spare;
	char			 why[256];	/* how it ended, for the log */
	/* The audit logs our clients' commands are recorded in, kept open
	 * (MSG_AUDIT); NULL until a client's first request. */
	struct audit_keeper	*keeper;
};

static void	sv_idle_arm(struct sv *);
static void	sv_spare(struct sv *);
static void	sv_spare_after(struct sv *, struct sv_client *);
static void	sv_spare_now(struct sv *);
static void	sv_spare_soon(struct sv *);
static void	sv_on_ttl(struct loop *, int, uint32_t, void *);

static void
sv_log(struct sv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sv_log(struct sv *sv, const char *fmt, ...)
{
	va_list		ap;
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%lld.%03ld moat session %s: ", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000, sv->info.id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* What the session is now; with procs, what its sandbox holds (a walk of
 * /proc: too slow for every greeting, so only MSG_INFO asks for it). */
static void
sv_info_now(struct sv *sv, bool procs_mem)
{
	unsigned	live = 0;

	for (struct sv_cmd *c = sv->cmds; c != NULL; c = c->next)
		live += !c->open;
	sv->info.live = live;
	sv->info.ttl_left = sv->ttl_held > 0 ? sv->ttl_held : sv->ttl_end > 0 ?
	    fmax(0, sv->ttl_end - now_mono()) : -1;
	sv->info.init_pid = sv->r.init_pid;
	sv->info.procs = 0;
	sv->info.mem = 0;
	/* What the sandbox holds now: every process of its pid namespace
	 * but the next command's, forked ahead. */
	if (procs_mem) {
		pid_t		 spare = sv->spare.pidfd >= 0 ?
				    pidfd_pid(sv->spare.pidfd) : -1;
		char		 path[300], *buf = NULL;
		struct merr	 e;
		unsigned	 procs = 0;
		double		 mem = 0;
		DIR		*d = opendir("/proc");
		struct dirent	*de;
		struct stat	 ns, st;

		snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)sv->r.init_pid);
		if (d != NULL && stat(path, &ns) == 0) {
			while ((de = readdir(d)) != NULL) {
				long	rss = 0;

				if (de->d_name[0] < '1' || de->d_name[0] > '9')
					continue;
				snprintf(path, sizeof path, "/proc/%s/ns/pid", de->d_name);
				if (stat(path, &st) == -1 || st.st_ino != ns.st_ino ||
				    st.st_dev != ns.st_dev ||
				    strtol(de->d_name, NULL, 10) == (long)spare)
					continue;
				procs++;
				snprintf(path, sizeof path, "/proc/%s/statm", de->d_name);
				if (read_file(path, &buf, NULL, &e) == 0 &&
				    sscanf(buf, "%*d %ld", &rss) == 1)
					mem += (double)rss * (double)sysconf(_SC_PAGESIZE);
				free(buf);
				buf = NULL;
			}
		}
		if (d != NULL)
			closedir(d);
		sv->info.procs = procs;
		sv->info.mem = mem;
	}
}

static void
sv_answer(struct sv *sv, int fd, int type, uint32_t tag, int code, const char *text,
    const void *payload, size_t len, const int *fds, int nfds)
{
	struct chan_msg	m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.tag = tag;
	m.code = code;
	if (text != NULL)
		snprintf(m.text, sizeof m.text, "%.*s", (int)sizeof m.text - 1, text);
	(void)chan_send(fd, &m, payload, len, fds, nfds);
}

static void
sv_answer_info(struct sv *sv, int fd, bool procs_mem)
{
	autofree char	*text = NULL;

	sv_info_now(sv, procs_mem);
	text = session_info_format(&sv->info);
	sv_answer(sv, fd, MSG_HELLO, 0, CHAN_PROTOCOL, NULL, text, strlen(text),
	    NULL, 0);
}

/* Removing a command's groups (v1: one directory per hierarchy) takes
 * the kernel 0.2 to 0.3 ms. Done when a client went away, it was the
 * next client's wait: its greeting, its row's begin. So the groups wait
 * for a moment when the supervisor has nothing else to do. */
#define SV_DOOMED_WAIT	0.05

static void
sv_doomed_flush(struct sv *sv)
{
	for (size_t i = 0; i < sv->ndoomed; i++)
		run_serve_group_done(&sv->r, sv->doomed[i]);
	sv->ndoomed = 0;
	if (sv->doomed_fd >= 0) {
		loop_del(sv->r.loop, sv->doomed_fd);
		close(sv->doomed_fd);
		sv->doomed_fd = -1;
	}
}

static void
sv_on_doomed(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	sv_doomed_flush(arg);
}

/* tags' groups to remove: with the next command's start, or soon. */
static void
sv_doomed_add(struct sv *sv, const uint32_t *tags, size_t n)
{
	struct merr	e;

	if (n == 0)
		return;
	sv->doomed = xreallocarray(sv->doomed, sv->ndoomed + n, sizeof *sv->doomed);
	for (size_t i = 0; i < n; i++)
		sv->doomed[sv->ndoomed++] = tags[i];
	if (sv->doomed_fd < 0 && sv->r.loop != NULL &&
	    (sv->doomed_fd = loop_timer(sv->r.loop, SV_DOOMED_WAIT, 0,
	    sv_on_doomed, sv, &e)) < 0)
		sv_doomed_flush(sv);	/* no timer: now */
}

/* The cgroups of a client's commands that ended: the client has read
 * their counters. */
static void
sv_client_groups_done(struct sv *sv, struct sv_client *cl)
{
	sv_doomed_add(sv, cl->ended, cl->nended);
	free(cl->ended);
	cl->ended = NULL;
	cl->nended = 0;
}

static void
sv_cmd_drop(struct sv *sv, struct sv_cmd *c)
{
	struct sv_client	*owner = NULL;

	for (struct sv_cmd **pp = &sv->cmds; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			owner = c->client;
			*pp = c->next;
			for (int i = 0; i < c->ngroup; i++)
				close(c->group[i]);
			if (c->ngroup > 0 && c->client != NULL) {
				c->client->ended = xreallocarray(c->client->ended,
				    c->client->nended + 1, sizeof *c->client->ended);
				c->client->ended[c->client->nended++] = c->tag;
			} else if (c->ngroup > 0)
				run_serve_group_done(&sv->r, c->tag);
			free(c);
			break;
		}
	if (sv->cmds == NULL) {
		sv_idle_arm(sv);
		/* A client that writes its command's row sends the row's end
		 * next: that answer first, the spare after it. */
		if (owner != NULL && owner->guest != NULL)
			sv_spare_after(sv, owner);
		else
			sv_spare(sv);
	}
}

static void
sv_kill_tag(struct sv *sv, uint32_t tag, int sig)
{
	struct chan_msg	m = { .type = MSG_KILL, .tag = tag, .code = sig };
	struct merr	e;

	(void)run_serve_send(&sv->r, &m, NULL, 0, NULL, 0, &e);
}

/* The questions of cl (NULL: every one whose time is up) forgotten; a
 * connection still held for a client that went away is refused. */
static void
sv_asks_drop(struct sv *sv, struct sv_client *cl)
{
	double		now = now_mono();
	struct merr	e;

	for (struct sv_ask **pp = &sv->asks; *pp != NULL; ) {
		struct sv_ask	*a = *pp;

		if (cl != NULL ? a->client != cl : now < a->until + 1) {
			pp = &a->next;
			continue;
		}
		if (cl != NULL)
			(void)run_serve_answer(&sv->r, a->id, false,
			    "the client asked went away", &e);
		*pp = a->next;
		free(a);
	}
}

/* The proxy holds a connection the allowlist refuses: asked of a client
 * that answers and has a command running (the first; the connection is
 * not known to be its command's, but the sandbox is its own), else
 * refused now, as for every other client. */
static unsigned
sv_on_net_ask(struct run *r, uint32_t id, const char *host, unsigned port,
    const char *why)
{
	struct sv	*sv = r->cb_arg;
	struct sv_ask	*a;
	struct chan_msg	 m = { .type = MSG_ASK, .tag = id };

	sv_asks_drop(sv, NULL);
	for (struct sv_cmd *c = sv->cmds; c != NULL; c = c->next) {
		if (c->open || c->client == NULL || c->client->ask_secs == 0)
			continue;
		if (id == 0)		/* could anyone be asked: nothing sent */
			return (c->client->ask_secs);
		m.code = (int)c->client->ask_secs;
		snprintf(m.text, sizeof m.text, "%s:%u", host, port);
		if (chan_send(c->client->fd, &m, why, strlen(why), NULL, 0) == -1)
			continue;
		a = xcalloc(1, sizeof *a);
		a->id = id;
		a->client = c->client;
		a->until = now_mono() + c->client->ask_secs;
		a->next = sv->asks;
		sv->asks = a;
		sv_log(sv, "%s:%u refused by the allowlist: asked of pid %d, held "
		    "%u s", host, port, (int)c->client->cred.pid, c->client->ask_secs);
		return (c->client->ask_secs);
	}
	return (0);
}

static const char *const sv_ask_how[] = {
	[NETASK_DENY] = "denied",
	[NETASK_ONCE] = "allowed once",
	[NETASK_SESSION] = "allowed for the session",
	[NETASK_ALWAYS] = "allowed always (written to the profile)",
};

/* A client's MSG_ASK: that it answers (tag 0), or an answer. */
static void
sv_on_ask(struct sv *sv, struct sv_client *cl, const struct chan_msg *m,
    size_t len)
{
	struct sv_ask	*a, **pp;
	char		 who[160];
	struct merr	 e;

	if (m->tag == 0) {
		if (m->code <= 0 || m->code > NETASK_SECS_MAX || len > 0) {
			sv_answer(sv, cl->fd, MSG_ERROR, 0, 0, "a malformed offer to "
			    "answer (seconds out of range)", NULL, 0, NULL, 0);
			return;
		}
		cl->ask_secs = (unsigned)m->code;
		return;
	}
	if (m->code < 0 || m->code > NETASK_MAX || len > 0) {
		sv_log(sv, "a malformed answer from pid %d refused (code %d)",
		    (int)cl->cred.pid, m->code);
		sv_answer(sv, cl->fd, MSG_ERROR, m->tag, 0, "a malformed answer",
		    NULL, 0, NULL, 0);
		return;
	}
	for (pp = &sv->asks; (a = *pp) != NULL; pp = &a->next)
		if (a->id == m->tag && a->client == cl)
			break;
	if (a == NULL) {
		sv_log(sv, "an answer from pid %d to no question of its (%u): "
		    "too late, or never asked", (int)cl->cred.pid, m->tag);
		return;
	}
	*pp = a->next;
	free(a);
	snprintf(who, sizeof who, "%s by pid %d (uid %u)", sv_ask_how[m->code],
	    (int)cl->cred.pid, (unsigned)cl->cred.uid);
	if (run_serve_answer(&sv->r, m->tag, m->code != NETASK_DENY, who, &e) == -1)
		sv_log(sv, "%s", e.msg);
	else
		sv_log(sv, "question %u: %s", m->tag, who);
}

static void
sv_client_drop(struct sv *sv, struct loop *l, struct sv_client *cl)
{
	struct sv_cmd	*c, *next;

	sv_asks_drop(sv, cl);

	/* Its commands go with it: nobody would see or record the rest. */
	for (c = sv->cmds; c != NULL; c = next) {
		next = c->next;
		if (c->client != cl)
			continue;
		sv_kill_tag(sv, c->tag, SIGKILL);
		c->client = NULL;	/* its status is dropped when it comes */
	}
	sv_client_groups_done(sv, cl);
	if (sv->spare_for == cl)
		sv_spare_now(sv);
	/* Its open runs' rows stay "running" until a later moat finds it
	 * gone (or it completes them itself, on a connection of its own). */
	audit_guest_free(cl->guest);
	loop_del(l, cl->fd);
	close(cl->fd);
	for (struct sv_client **pp = &sv->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	free(cl);
}

static void
sv_refuse(struct sv *sv, struct loop *l, struct sv_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
sv_refuse(struct sv *sv, struct loop *l, struct sv_client *cl, const char *fmt, ...)
{
	char	text[480];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	sv_log(sv, "refused a client: %s", text);
	sv_answer(sv, cl->fd, MSG_ERROR, 0, 0, text, NULL, 0, NULL, 0);
	sv_client_drop(sv, l, cl);
}

/* The TTL from now: seconds, 0 for none. */
static int
sv_ttl_set(struct sv *sv, double seconds, struct merr *e)
{
	if (sv->ttl_fd >= 0) {
		loop_del(sv->r.loop, sv->ttl_fd);
		close(sv->ttl_fd);
		sv->ttl_fd = -1;
	}
	sv->ttl_end = 0;
	if (seconds <= 0)
		return (0);
	if ((sv->ttl_fd = loop_timer(sv->r.loop, seconds, 0, sv_on_ttl, sv,
	    e)) == -1)
		return (-1);
	sv->ttl_end = now_mono() + seconds;
	return (0);
}

/* Paused, with a TTL that stands still while paused. */
static bool
sv_ttl_stopped(const struct sv *sv)
{
	return (sv->o->ttl_paused_stop && strcmp(sv->info.state, "paused") == 0);
}


/* The hash of the profile as it would read with the net-allow rules
 * written to its file since the session started (the shell's "always"
 * appends the rule it allowed), less those denied since: what a client
 * that loads the file so changed finds, still talking to this sandbox. */
static void
sv_live_hash(struct sv *sv, const char *rule, bool add)
{
	const struct profile	*p = sv->o->profile;
	struct profile		 copy = *p;
	struct strv		*to = add ? &sv->live_added : &sv->live_denied,
				*from = add ? &sv->live_denied : &sv->live_added;
	autofree struct prov	*pv = NULL;
	autofree char		*text = NULL;
	size_t			 n = 0;

	(void)strv_remove(from, rule);
	if (!strv_contains(to, rule))
		strv_add(to, rule);
	/* profile_format writes a list key's values in the order of the
	 * profile's provenance: the file's lines, less those denied, then
	 * what was written after them. */
	pv = xcalloc(p->nprov + sv->live_added.n, sizeof *pv);
	for (size_t i = 0; i < p->nprov; i++)
		if (strcmp(p->prov[i].key, "net-allow") != 0 ||
		    !strv_contains(&sv->live_denied, p->prov[i].value))
			pv[n++] = p->prov[i];
	for (size_t i = 0; i < sv->live_added.n; i++) {
		pv[n].key = (char *)"net-allow";
		pv[n].value = sv->live_added.v[i];
		pv[n++].at.line = 0;
	}
	copy.prov = pv;
	copy.nprov = n;
	text = profile_format(&copy, false, NULL);
	sha256_hex(text, strlen(text), sv->info.profile_hash_live);
}

/* Nothing ran for SV_QUIET_SECS: the logs kept open give back their cache
 * (an idle session's supervisor holds no more than before its first
 * command); the next command reads what it needs again. */
#define SV_QUIET_SECS	5.0

static void
sv_on_quiet(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sv	*sv = arg;
	struct merr	 e;
	uint64_t	 x;
	double		 idle;

	(void)events;
	(void)!read(fd, &x, sizeof x);
	/* Quiet means since the last request, not since the first: a busy
	 * session keeps its cache. */
	idle = now_mono() - sv->quiet_last;
	if (sv->cmds != NULL || idle < SV_QUIET_SECS) {
		(void)loop_timer_set(fd, sv->cmds != NULL ? SV_QUIET_SECS :
		    fmax(0.01, SV_QUIET_SECS - idle), 0);
		return;
	}
	loop_del(l, fd);
	close(fd);
	sv->quiet_fd = -1;
	(void)e;
	audit_keeper_release(sv->keeper);
}

/* A request of a client's run's record: in the payload, or in a memfd
 * (a completion with its output). A descriptor that is not a regular file
 * of a size we take is refused, never read from (a pipe could hold us). */
static void
sv_on_audit(struct sv *sv, struct sv_client *cl, const struct chan_msg *m,
    const char *payload, size_t len, const int *fds, int nfds)
{
	autofree char	*req = NULL, *rep = NULL;
	const char	*p = payload;
	size_t		 rlen = 0;
	struct stat	 st;
	struct merr	 e;
	int		 rc;

	if (m->flags & AUDIT_IN_FD) {
		size_t	got = 0;
		ssize_t	n;
		bool	file = nfds == 1 && fstat(fds[0], &st) == 0;

		file = file && S_ISREG(st.st_mode) && st.st_size == m->code;
		if (!file || payload != NULL || m->code <= 0 ||
		    m->code > AUDIT_REQUEST_MAX) {
			rc = merr_set(&e, "a malformed audit request (its descriptor is "
			    "not a file of the size it says, at most %d bytes)",
			    AUDIT_REQUEST_MAX);
			goto answer;
		}
		len = (size_t)m->code;
		req = xmalloc(len);
		while (got < len && (n = pread(fds[0], req + got, len - got,
		    (off_t)got)) > 0)
			got += (size_t)n;
		if (got != len) {
			rc = merr_set(&e, "a malformed audit request (its file ended "
			    "early)");
			goto answer;
		}
		p = req;
	} else if (nfds != 0 || payload == NULL) {
		rc = merr_set(&e, "a malformed audit request");
		goto answer;
	}
	if (sv->keeper == NULL) {
		sv->keeper = audit_keeper_new();
		for (size_t i = 0; i < sv->r.secrets.n; i++)
			audit_keeper_secret(sv->keeper, sv->r.secrets.v[i].name,
			    sv->r.secrets.v[i].value, sv->r.secrets.v[i].len);
	}
	if (cl->guest == NULL)
		cl->guest = audit_guest_new(sv->keeper, cl->cred.pid);
	rc = audit_guest_serve(cl->guest, p, len, &rep, &rlen, &e);
answer:
	cl->row = rc == -1 ? -1 : 1;
	if (rc == -1)
		sv_log(sv, "an audit request of pid %d: %s", (int)cl->cred.pid, e.msg);
	if (!(m->flags & AUDIT_WANT_REPLY))
		return;
	if (rc == -1)
		sv_answer(sv, cl->fd, MSG_ERROR, 0, 0, e.msg, NULL, 0, NULL, 0);
	else
		sv_answer(sv, cl->fd, MSG_AUDIT, 0, 0, NULL, rep, rlen, NULL, 0);
	if (sv->spare_for == cl) {
		/* Its first command's row has ended: it has read that
		 * command's last counters, and the groups go when the spare is
		 * made (sv_spare_now), while it goes away. */
		if (cl->spawned == 1)
			sv_client_groups_done(sv, cl);
		sv_spare_soon(sv);
	}
	audit_keeper_tidy(sv->keeper);
	sv->quiet_last = now_mono();
	if (sv->quiet_fd == -1 && sv->keeper != NULL)
		sv->quiet_fd = loop_timer(sv->r.loop, SV_QUIET_SECS, 0, sv_on_quiet,
		    sv, &e);
}

static void
sv_on_client(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sv		*sv = arg;
	struct sv_client	*cl;
	struct chan_msg		 m;
	char			*payload = NULL;
	size_t			 len = 0;
	int			 fds[3], nfds = 0, rc;
	struct merr		 e;

	for (cl = sv->clients; cl != NULL && cl->fd != fd; cl = cl->next)
		;
	if (cl == NULL) {
		loop_del(l, fd);
		return;
	}
	if (cl->refused) {
		char	b[512];

		while (recv(fd, b, sizeof b, MSG_DONTWAIT) > 0)
			;
		sv_client_drop(sv, l, cl);
		return;
	}
	rc = chan_recv(fd, MSG_DONTWAIT, &m, &payload, &len, fds, 3, &nfds);
	if (rc == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (rc == 0 || (rc == -1 && errno != EBADMSG)) {
		sv_client_drop(sv, l, cl);
		return;
	}
	if (rc == -1) {
		sv_refuse(sv, l, cl, "a malformed message (short, truncated, or "
		    "over %d bytes)", SPAWN_PAYLOAD_MAX);
		return;
	}
	if (!cl->greeted && m.type != MSG_HELLO) {
		sv_refuse(sv, l, cl, "the first message must be a greeting");
		goto out;
	}
	switch (m.type) {
	case MSG_HELLO:
		if (m.code != CHAN_PROTOCOL) {
			char	text[128];

			snprintf(text, sizeof text, "protocol version %d is not "
			    "spoken here (this session speaks %d): use the moat that "
			    "started it", m.code, CHAN_PROTOCOL);
			sv_refuse(sv, l, cl, "%s", text);
			goto out;
		}
		cl->greeted = true;
		sv_answer_info(sv, fd, false);
		break;
	case MSG_INFO:
		sv_answer_info(sv, fd, true);
		break;
	case MSG_TTL:
		if (m.code < 0) {
			sv_answer(sv, fd, MSG_ERROR, 0, 0, "a negative TTL", NULL, 0,
			    NULL, 0);
			break;
		}
		if (sv->ttl_held > 0 || (m.code > 0 && sv_ttl_stopped(sv)))
			sv->ttl_held = m.code;	/* counts from the resume */
		else if (sv_ttl_set(sv, m.code, &e) == -1) {
			sv_answer(sv, fd, MSG_ERROR, 0, 0, e.msg, NULL, 0, NULL, 0);
			break;
		}
		sv_log(sv, "TTL set to %d s%s", m.code, sv->ttl_held > 0 ?
		    " (from the resume)" : "");
		sv_answer_info(sv, fd, false);
		break;
	case MSG_PAUSE:
		if (run_serve_freeze(&sv->r, m.code != 0, &e) == -1) {
			sv_answer(sv, fd, MSG_ERROR, 0, 0, e.msg, NULL, 0, NULL, 0);
			break;
		}
		snprintf(sv->info.state, sizeof sv->info.state, "%s",
		    m.code != 0 ? "paused" : "running");
		sv_log(sv, "%s", m.code != 0 ? "paused" : "resumed");
		/* --ttl-paused=stop: the TTL stands still while paused. */
		if (m.code != 0 && sv->o->ttl_paused_stop && sv->ttl_end > 0) {
			double	left = fmax(0.001, sv->ttl_end - now_mono());

			(void)sv_ttl_set(sv, 0, &e);
			sv->ttl_held = left;
		} else if (m.code == 0 && sv->ttl_held > 0) {
			double	left = sv->ttl_held;

			sv->ttl_held = 0;
			if (sv_ttl_set(sv, left, &e) == -1)
				sv_log(sv, "the TTL could not be set again: %s", e.msg);
		}
		sv_answer_info(sv, fd, false);
		break;
	case MSG_CLOSE:
		sv_answer_info(sv, fd, false);
		snprintf(sv->why, sizeof sv->why, "closed by a client");
		run_serve_stop(&sv->r);
		break;
	case MSG_NET: {
		char	*rule = payload != NULL ? payload : "";

		if (len == 0 || len > 300 || memchr(rule, '\0', len) != NULL) {
			sv_answer(sv, fd, MSG_ERROR, 0, 0, "a malformed rule", NULL, 0,
			    NULL, 0);
			break;
		}
		if (run_serve_net(&sv->r, rule, m.code != 0, &e) == -1) {
			sv_answer(sv, fd, MSG_ERROR, 0, 0, e.msg, NULL, 0, NULL, 0);
			break;
		}
		/* Who changed it: the client's pid and uid, in the log. */
		sv_log(sv, "net-allow %s %s by pid %d (uid %u)", rule, m.code != 0 ?
		    "added" : "removed", (int)cl->cred.pid, (unsigned)cl->cred.uid);
		if (m.code != SESSION_ALLOW)
			sv_live_hash(sv, rule, m.code == SESSION_ALLOW_WRITTEN);
		sv_answer_info(sv, fd, false);
		break;
	}
	case MSG_SPAWN: {
		struct sv_cmd	*c;
		struct chan_msg	 fw = m;
		int		 row = cl->row;

		cl->row = 0;
		fw.flags &= ~SPAWN_AFTER_ROW;
		if ((m.flags & SPAWN_AFTER_ROW) && row != 1) {
			sv_answer(sv, fd, MSG_ERROR, m.tag, 0, row == 0 ? "a command "
			    "sent after its row's begin, which never came" : "the "
			    "command's row could not be begun: it is not run",
			    NULL, 0, NULL, 0);
			break;
		}
		if (strcmp(sv->info.state, "paused") == 0) {
			char	text[160];

			snprintf(text, sizeof text, "session %s is paused: moat "
			    "session resume %s", sv->info.id, sv->info.id);
			sv_answer(sv, fd, MSG_ERROR, m.tag, 0, text, NULL, 0, NULL, 0);
			break;
		}
		c = xcalloc(1, sizeof *c);
		c->client = cl;
		c->ctag = m.tag;
		c->tag = sv->spare.tag != 0 ? sv->spare.tag : ++sv->next_tag;
		fw.tag = c->tag;
		/* Its own cgroup, which it moves itself into before it execs:
		 * its tasks (v1) or cgroup.procs files go to init after the
		 * stdio. */
		{
			int	all[3 + SPAWN_GROUP_MAX], procs[SPAWN_GROUP_MAX], n, k = 0;

			/* Made and opened ahead, if it was. */
			if (sv->spare.tag != 0) {
				n = sv->spare.n;
				memcpy(procs, sv->spare.procs, sizeof procs);
				memcpy(c->group, sv->spare.group, sizeof c->group);
				memcpy(c->ctls, sv->spare.ctls, sizeof c->ctls);
				sv->spare.tag = 0;
				/* Its process, if init still has it, is the
				 * command's from here. */
				if (sv->spare.pidfd >= 0)
					close(sv->spare.pidfd);
				sv->spare.pidfd = -1;
			} else if ((n = run_serve_group(&sv->r, c->tag, procs, c->group,
			    c->ctls, sizeof c->ctls, &e)) == -1) {
				sv_log(sv, "command %u runs in the session's cgroup: %s",
				    c->tag, e.msg);
				n = 0;
			}
			c->ngroup = n;
			for (int i = 0; i < nfds && k < 3; i++)
				all[k++] = fds[i];
			for (int i = 0; i < n; i++)
				all[k++] = procs[i];
			fw.code = n;
			rc = nfds <= 3 ? run_serve_send(&sv->r, &fw, payload, len, all,
			    k, &e) : merr_set(&e, "a malformed request");
			for (int i = 0; i < n; i++)
				close(procs[i]);
		}
		if (rc == -1) {
			sv_answer(sv, fd, MSG_ERROR, m.tag, 0, e.msg, NULL, 0, NULL, 0);
			for (int i = 0; i < c->ngroup; i++)
				close(c->group[i]);
			run_serve_group_done(&sv->r, c->tag);
			free(c);
			break;
		}
		c->next = sv->cmds;
		sv->cmds = c;
		sv->info.commands++;
		cl->spawned++;
		/* Its earlier commands' groups (their last counters read):
		 * removed while this command runs (sv_doomed_add). */
		sv_client_groups_done(sv, cl);
		if (sv->idle_fd >= 0) {
			loop_del(l, sv->idle_fd);
			close(sv->idle_fd);
			sv->idle_fd = -1;
		}
		break;
	}
	case MSG_OPEN: {
		struct sv_cmd	*c;
		struct chan_msg	 fw = m;

		c = xcalloc(1, sizeof *c);
		c->client = cl;
		c->ctag = m.tag;
		c->tag = ++sv->next_tag;
		c->open = true;
		fw.tag = c->tag;
		if (run_serve_send(&sv->r, &fw, payload, len, NULL, 0, &e) == -1) {
			sv_answer(sv, fd, MSG_ERROR, m.tag, 0, e.msg, NULL, 0, NULL, 0);
			free(c);
			break;
		}
		c->next = sv->cmds;
		sv->cmds = c;
		break;
	}
	case MSG_ASK:
		sv_on_ask(sv, cl, &m, len);
		break;
	case MSG_SECRETS: {
		/* A client of the same user, in our pid namespace (checked at
		 * accept): its command's variables and its record's redaction. */
		size_t		 n;
		autofree char	*text = secrets_encode(&sv->r.secrets, &n);

		if (n > SPAWN_PAYLOAD_MAX)
			sv_answer(sv, fd, MSG_ERROR, 0, 0, "its secrets' values "
			    "are too large to be sent to a client", NULL, 0, NULL, 0);
		else
			sv_answer(sv, fd, MSG_SECRETS, 0, 0, NULL, text, n, NULL, 0);
		explicit_bzero(text, n);
		break;
	}
	case MSG_AUDIT:
		sv_on_audit(sv, cl, &m, payload, len, fds, nfds);
		break;
	case MSG_KILL:
		for (struct sv_cmd *c = sv->cmds; c != NULL; c = c->next)
			if (c->client == cl && c->ctag == m.tag)
				sv_kill_tag(sv, c->tag, m.code);
		break;
	default:
		sv_answer(sv, fd, MSG_ERROR, 0, 0, "an unknown request", NULL, 0,
		    NULL, 0);
		break;
	}
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(payload);
}

/* Whether pid runs in our pid namespace; a peer we cannot see (pid 0) or
 * whose namespace we cannot read is not. */
static bool
sv_same_pidns(pid_t pid)
{
	char		path[64];
	struct stat	a, b;

	if (pid <= 0)
		return (false);
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	return (stat(path, &a) == 0 && stat("/proc/self/ns/pid", &b) == 0 &&
	    a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

/* A connection refused before its first message: the answer, the log
 * line, and the client marked to be dropped once what it sent is read. */
static void
sv_refuse_peer(struct sv *sv, struct sv_client *cl, const struct ucred *cred,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
sv_refuse_peer(struct sv *sv, struct sv_client *cl, const struct ucred *cred,
    const char *fmt, ...)
{
	struct chan_msg	m = { .type = MSG_ERROR };
	char		why[400];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(m.text, sizeof m.text, "refused: %s", why);
	(void)chan_send(cl->fd, &m, NULL, 0, NULL, 0);
	shutdown(cl->fd, SHUT_WR);
	sv_log(sv, "refused a connection from uid %d pid %d: %s", (int)cred->uid,
	    (int)cred->pid, why);
	cl->refused = true;
}

static void
sv_on_listen(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sv		*sv = arg;
	struct sv_client	*cl;
	struct ucred		 cred;
	socklen_t		 cl_len = sizeof cred;
	struct merr		 e;
	int			 c;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		cl = xcalloc(1, sizeof *cl);
		cl->fd = c;
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl_len) == -1)
			cred.uid = (uid_t)-1;
		cl->cred = cred;
		if (cred.uid != geteuid()) {
			sv_refuse_peer(sv, cl, &cred, "this session belongs to uid %u",
			    (unsigned)geteuid());
		} else if (!sv_same_pidns(cred.pid)) {
			/* The same uid, but inside a sandbox (moat's or any
			 * other): a sandboxed command that can reach this
			 * socket (a workspace holding it) must not drive this
			 * session, whose profile may be looser than its own. */
			sv_refuse_peer(sv, cl, &cred, "a client in another pid "
			    "namespace (inside a sandbox) may not use this session");
		}
		{
			int	sz = 256 * 1024;

			setsockopt(c, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		}
		if (loop_add(l, c, EPOLLIN, sv_on_client, sv, &e) == -1) {
			close(c);
			free(cl);
			continue;
		}
		cl->next = sv->clients;
		sv->clients = cl;
	}
}

static void
sv_on_ttl(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sv	*sv = arg;
	uint64_t	 x;

	(void)!read(fd, &x, sizeof x);
	snprintf(sv->why, sizeof sv->why, "its TTL expired");
	sv_log(sv, "TTL expired: ending the session");
	run_serve_stop(&sv->r);
}

static void
sv_on_idle(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sv	*sv = arg;
	uint64_t	 x;

	(void)!read(fd, &x, sizeof x);
	if (sv->cmds != NULL)
		return;
	snprintf(sv->why, sizeof sv->why, "it was idle for %.0f s", sv->o->idle_ttl);
	sv_log(sv, "idle TTL expired: ending the session");
	run_serve_stop(&sv->r);
}

/* The spare after the row's end of the command that just ended, whose
 * client is cl: making it (a directory in each hierarchy, its process
 * forked) takes 0.2 to 0.3 ms, which that end, sent at once, waited for
 * before its answer, the client's last wait. SV_SPARE_WAIT bounds the
 * wait for a client that sends none. */
#define SV_SPARE_WAIT	0.005

static void
sv_on_spare_wait(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	sv_spare_now(arg);
}

static void
sv_spare_after(struct sv *sv, struct sv_client *cl)
{
	struct merr	e;

	sv->spare_for = cl;
	if (sv->spare_fd == -1 && (sv->spare_fd = loop_timer(sv->r.loop,
	    SV_SPARE_WAIT, 0, sv_on_spare_wait, sv, &e)) == -1)
		sv_spare_now(sv);
}

/* The row's end answered: the client exits on it, or sends its next
 * command. Made at once, the spare fell on the client's exit and the next
 * one's start and cost as much as before; SV_SPARE_AFTER_END later it does
 * not (bench/README, session.sh). */
#define SV_SPARE_AFTER_END	0.0005

static void
sv_spare_soon(struct sv *sv)
{
	sv->spare_for = NULL;
	if (sv->spare_fd == -1 || loop_timer_set(sv->spare_fd, SV_SPARE_AFTER_END,
	    0) == -1)
		sv_spare_now(sv);
}

static void
sv_spare_now(struct sv *sv)
{
	if (sv->spare_fd != -1) {
		loop_del(sv->r.loop, sv->spare_fd);
		close(sv->spare_fd);
		sv->spare_fd = -1;
	}
	sv->spare_for = NULL;
	if (sv->cmds == NULL)
		sv_doomed_flush(sv);
	sv_spare(sv);
}

/* The next command's group is made and opened ahead under the tag it will
 * get (taken now), so that making it (a directory in each hierarchy, 0.13
 * ms in five v1 hierarchies) and opening its files are not on that
 * command's path: where it has groups, while a command runs
 * (sv_spare_make, once its MSG_SPAWNED went out), else, or when none
 * has run yet, while nothing runs (sv_spare). The session's end removes it with the group's other
 * children. */
static void
sv_spare_make(struct sv *sv)
{
	struct merr	e;
	uint32_t	tag;

	if (sv->spare.tag != 0 || sv->r.spawn == NULL)
		return;
	tag = ++sv->next_tag;
	if ((sv->spare.n = run_serve_group(&sv->r, tag, sv->spare.procs,
	    sv->spare.group, sv->spare.ctls, sizeof sv->spare.ctls, &e)) == -1) {
		sv_log(sv, "the next command's group: %s", e.msg);
		return;
	}
	sv->spare.tag = tag;
	sv->spare_groups = sv->spare.n > 0;
	/* init forks its process now, which moves itself into the group
	 * and waits for the request; the request carries the group's files
	 * too, for a spare a command killed meanwhile. */
	{
		struct chan_msg	m = { .type = MSG_SPARE, .tag = tag,
				    .code = sv->spare.n };

		if (run_serve_send(&sv->r, &m, NULL, 0, sv->spare.procs,
		    sv->spare.n, &e) == -1)
			sv_log(sv, "the next command's process: %s", e.msg);
	}
}

static void
sv_spare(struct sv *sv)
{
	if (sv->cmds == NULL)
		sv_spare_make(sv);
}

static void
sv_idle_arm(struct sv *sv)
{
	struct merr	e;

	if (sv->o->idle_ttl <= 0 || sv->r.loop == NULL || sv->idle_fd >= 0)
		return;
	sv->idle_fd = loop_timer(sv->r.loop, sv->o->idle_ttl, 0, sv_on_idle, sv, &e);
}

/* init's answer about a command: to the client that asked. */
static void
sv_serve_msg(struct run *r, const struct chan_msg *m, int *fds, int nfds)
{
	struct sv	*sv = r->cb_arg;
	struct sv_cmd	*c;

	/* The next command's process, forked ahead: known, so that it is
	 * not counted as one of the session's. */
	if (m->type == MSG_SPARE) {
		if (m->tag == sv->spare.tag && nfds == 1) {
			if (sv->spare.pidfd >= 0)
				close(sv->spare.pidfd);
			sv->spare.pidfd = fds[0];
		} else
			for (int i = 0; i < nfds; i++)
				close(fds[i]);
		return;
	}
	for (c = sv->cmds; c != NULL && c->tag != m->tag; c = c->next)
		;
	/* Its intercepted requests' events before its end (the thread sent
	 * each before the response's last bytes, so before the command saw
	 * them). */
	if (m->type == MSG_STATUS)
		run_serve_drain(r);
	if (c != NULL && c->client != NULL) {
		struct chan_msg	fw = *m;

		fw.tag = c->ctag;
		if (m->type == MSG_SPAWNED && c->ngroup > 0 && nfds <= 2) {
			/* The command's group, for its client's meters. */
			int	all[2 + SPAWN_GROUP_MAX], k = 0;

			for (int i = 0; i < nfds; i++)
				all[k++] = fds[i];
			for (int i = 0; i < c->ngroup; i++)
				all[k++] = c->group[i];
			fw.argc = c->ngroup;
			snprintf(fw.text, sizeof fw.text, "%s", c->ctls);
			c->pid = m->code;
			(void)chan_send(c->client->fd, &fw, NULL, 0, all, k);
		} else {
			if (m->type == MSG_SPAWNED)
				c->pid = m->code;
			(void)chan_send(c->client->fd, &fw, NULL, 0, fds, nfds);
		}
	}
	if (c != NULL && (m->type == MSG_STATUS || m->type == MSG_OPEN ||
	    (m->type == MSG_EXEC_FAILED && m->code == 125)))
		sv_cmd_drop(sv, c);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	/* A command runs, its client waits for its status: the earlier
	 * commands' groups go now, and the next command's spare is made
	 * (its end then has nothing to do but answer), for a client that
	 * stays for more (its second command on): it would send its next
	 * row at once after this one's end. A client's first command's
	 * status does not wait for that work (0.3 to 0.7 ms as root, longer
	 * than /bin/true runs): a client that came for one command (moat
	 * session exec) goes away after its row's end, and both are done
	 * then (sv_spare_soon, sv_spare_now). */
	if (m->type == MSG_SPAWNED && c != NULL && c->client != NULL &&
	    c->client->spawned > 1) {
		sv_doomed_flush(sv);
		/* Where its groups are the spare's cost; without cgroups it
		 * is init's fork alone, which made now would be init's work
		 * when the command exits (its status waits for it): after
		 * the end, as before. */
		if (sv->spare_groups)
			sv_spare_make(sv);
	}
}

/* The sandbox's events, to each client whose command is running. */
static void
sv_on_event(struct run *r, const struct run_event *ev)
{
	struct sv	*sv = r->cb_arg;
	char		 buf[EVENT_WIRE_MAX];
	size_t		 n;

	if (ev->kind == EV_NOTE && sv->o->verbose > 0)
		sv_log(sv, "%s", ev->text != NULL ? ev->text : "");
	/* The guard's, which no command may be running to record. */
	if ((ev->kind == EV_FILE_CHANGED && ev->change != NULL &&
	    strncmp(ev->change, "re-", 3) == 0) || ev->kind == EV_LIMIT_HIT)
		sv_log(sv, "%s", ev->text != NULL ? ev->text : "");
	if (ev->kind == EV_NOTE || (n = event_encode(ev, buf, sizeof buf)) == 0)
		return;
	for (struct sv_client *cl = sv->clients; cl != NULL; cl = cl->next)
		for (struct sv_cmd *c = sv->cmds; c != NULL; c = c->next)
			if (c->client == cl && !c->open) {
				struct chan_msg	m = { .type = MSG_EVENT, .tag = c->ctag };

				(void)chan_send(cl->fd, &m, buf, n, NULL, 0);
				break;
			}
}

static void
sv_ready_say(struct sv *sv, const char *text)
{
	if (sv->ready < 0)
		return;
	(void)!write(sv->ready, text, strlen(text));
	close(sv->ready);
	sv->ready = -1;
}

static void
sv_serve_ready(struct run *r)
{
	struct sv	*sv = r->cb_arg;
	struct merr	 e;
	mode_t		 um;

	sv->info.init_pid = r->init_pid;
	sv->info.memory = (double)r->limits.memory;
	snprintf(sv->info.workspace, sizeof sv->info.workspace, "%s",
	    r->ws_path != NULL ? r->ws_path : "");
	snprintf(sv->info.cwd, sizeof sv->info.cwd, "%s",
	    r->cwd_path != NULL ? r->cwd_path : "/");
	snprintf(sv->info.run_id, sizeof sv->info.run_id, "%s", r->id);
	{
		autofree char	*home = NULL, *user = NULL;

		/* As run_sandbox made the sandbox's home: its commands' too. */
		run_who(&home, &user);
		snprintf(sv->info.user, sizeof sv->info.user, "%s", user);
		snprintf(sv->info.home, sizeof sv->info.home, "%s", home);
	}
	/* An overlay layer says whose it is, so that moat diff, apply and
	 * discard find it by the session's id or name after it ended. */
	if (r->state_dir != NULL) {
		autofree char	*f = path_join(r->state_dir, "session");
		autofree char	*text = session_info_format(&sv->info);
		autofd int	 fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
				    O_CLOEXEC, 0600);

		if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
			sv_log(sv, "cannot write %s: %s", f, strerror(errno));
	}
	if ((sv->listen = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		merr_errno(&e, "socket");
		goto fail;
	}
	um = umask(077);
	if (bind(sv->listen, (struct sockaddr *)&sv->sa, sizeof sv->sa) == -1) {
		umask(um);
		merr_errno(&e, "bind %s", sv->sa.sun_path);
		goto fail;
	}
	umask(um);
	if (listen(sv->listen, 64) == -1 ||
	    loop_add(r->loop, sv->listen, EPOLLIN, sv_on_listen, sv, &e) == -1) {
		merr_errno(&e, "listen on %s", sv->sa.sun_path);
		goto fail;
	}
	if (sv->o->ttl > 0 && sv_ttl_set(sv, sv->o->ttl, &e) == -1)
		goto fail;
	sv_idle_arm(sv);
	sv_spare(sv);
	sv_log(sv, "ready: sandbox init pid %d, socket %s", (int)r->init_pid,
	    sv->sa.sun_path);
	sv_ready_say(sv, "ok\n");
	return;
fail:
	{
		char	*t = xprintf("%s\n", e.msg);

		sv_ready_say(sv, t);
		free(t);
	}
	run_serve_stop(r);
}

static __attribute__((noreturn)) void
session_serve(const struct session_opts *o, const char *id, int ready)
{
	struct sv	 sv;
	struct merr	 e;
	autofree char	*text = NULL;
	int		 rc;

	memset(&sv, 0, sizeof sv);
	sv.o = o;
	sv.ready = ready;
	sv.listen = sv.ttl_fd = sv.idle_fd = sv.quiet_fd = sv.spare.pidfd = -1;
	sv.doomed_fd = -1;
	sv.spare_fd = -1;
	snprintf(sv.info.id, sizeof sv.info.id, "%s", id);
	snprintf(sv.info.name, sizeof sv.info.name, "%s",
	    o->name != NULL ? o->name : "");
	snprintf(sv.info.profile, sizeof sv.info.profile, "%s", o->profile_arg);
	snprintf(sv.info.net, sizeof sv.info.net, "%s",
	    profile_net_mode_name(o->profile->net));
	snprintf(sv.info.state, sizeof sv.info.state, "running");
	text = profile_format(o->profile, false, NULL);
	sha256_hex(text, strlen(text), sv.info.profile_hash);
	memcpy(sv.info.profile_hash_live, sv.info.profile_hash,
	    sizeof sv.info.profile_hash_live);
	sv.info.pid = getpid();
	{
		struct timespec	now;

		/* To the millisecond below (the info's precision): a host
		 * change from this moment on is a conflict for an apply. */
		clock_gettime(CLOCK_REALTIME, &now);
		sv.info.created = (double)now.tv_sec + (double)(now.tv_nsec / 1000000) / 1e3;
	}
	sv.info.idle_ttl = o->idle_ttl;
	if (session_sockaddr(id, &sv.sa, &e) == -1) {
		sv_ready_say(&sv, e.msg);
		_exit(1);
	}
	run_init(&sv.r);
	sv.r.profile = o->profile;
	sv.r.workspace = o->workspace;
	sv.r.verbose = o->verbose;
	sv.r.on_event = sv_on_event;
	sv.r.serve_ready = sv_serve_ready;
	sv.r.serve_msg = sv_serve_msg;
	sv.r.on_net_ask = sv_on_net_ask;
	sv.r.cb_arg = &sv;
	rc = run_sandbox(&sv.r, &e);
	if (rc == -1) {
		char	*t = xprintf("%s\n", e.msg);

		sv_ready_say(&sv, t);
		free(t);
		sv_log(&sv, "%s", e.msg);
	} else
		sv_log(&sv, "ended: %s", sv.why[0] != '\0' ? sv.why :
		    "the sandbox init is gone");
	sv_ready_say(&sv, "the session's sandbox ended before it was ready\n");
	for (struct sv_client *cl = sv.clients; cl != NULL; cl = cl->next) {
		audit_guest_free(cl->guest);
		cl->guest = NULL;
	}
	audit_keeper_free(sv.keeper);
	if (sv.listen >= 0)
		unlink(sv.sa.sun_path);
	run_release(&sv.r);
	cov_dump();	/* a coverage build's counters: _exit skips atexit */
	_exit(rc == -1 ? 1 : 0);
}

int
session_start(const struct session_opts *o, char id[SESSION_ID_MAX],
    struct merr *e)
{
	char		 dir[PATH_MAX], buf[PATH_MAX + 64];
	struct sockaddr_un sa;
	unsigned	 rnd = 0;
	int		 p[2], fd, log;
	ssize_t		 n;
	size_t		 got = 0;
	pid_t		 pid;

	if (o->name != NULL) {
		struct session_info	*v = NULL;
		size_t			 nv = 0;

		if (!session_name_valid(o->name))
			return (merr_set(e, "--name %s: a name is 1 to %d letters, "
			    "digits, '.', '_' or '-', not starting with '.' or '-'",
			    o->name, SESSION_NAME_MAX - 1));
		if (session_list(&v, &nv, e) == -1)
			return (-1);
		for (size_t i = 0; i < nv; i++)
			if (strcmp(v[i].name, o->name) == 0 ||
			    strcmp(v[i].id, o->name) == 0) {
				merr_set(e, "--name %s: session %s already has that "
				    "name", o->name, v[i].id);
				free(v);
				return (-1);
			}
		free(v);
	}
	if (session_dir(dir, sizeof dir, e) == -1)
		return (-1);
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		(void)!read(fd, &rnd, sizeof rnd);
		close(fd);
	}
	snprintf(id, SESSION_ID_MAX, "s-%08x", rnd);
	if (session_sockaddr(id, &sa, e) == -1)
		return (-1);
	snprintf(buf, sizeof buf, "%s/%s.log", dir, id);
	if ((log = open(buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) == -1)
		return (merr_errno(e, "open %s", buf));
	if (pipe2(p, O_CLOEXEC) == -1) {
		close(log);
		return (merr_errno(e, "pipe"));
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(log);
		close(p[0]);
		close(p[1]);
		return (merr_errno(e, "fork the session's supervisor"));
	}
	if (pid == 0) {
		int	null;

		cov_child();	/* its own counts, from zero (a coverage build) */
		null = open("/dev/null", O_RDWR | O_CLOEXEC);

		close(p[0]);
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		dup2(log, 2);
		/* Nothing else of the caller's: what it left open without
		 * close-on-exec would stay in the supervisor, and in init, for
		 * the session's life. */
		{
			int	keep[] = { p[1], cov_fd() };

			close_fds_except(3, keep, sizeof keep / sizeof keep[0]);
		}
		session_serve(o, id, p[1]);
	}
	close(log);
	close(p[1]);
	/* "ok", or why not; EOF alone: it died. */
	while (got < sizeof buf - 1 && (n = read(p[0], buf + got,
	    sizeof buf - 1 - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got) != NULL)
			break;
	}
	close(p[0]);
	buf[got] = '\0';
	if (strcmp(buf, "ok\n") == 0)
		return (0);
	waitpid(pid, NULL, WNOHANG);
	buf[strcspn(buf, "\n")] = '\0';
	return (merr_set(e, "the session could not start: %s (its log: %s/%s.log)",
	    buf[0] != '\0' ? buf : "its supervisor died", dir, id));
}

/*
 * Clients.
 */
static int
session_connect_id(const char *id, struct merr *e)
{
	struct sockaddr_un	sa;
	int			fd, sz = 256 * 1024;

	if (session_sockaddr(id, &sa, e) == -1)
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return (merr_errno(e, "socket"));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		int	err = errno;

		close(fd);
		errno = err;
		return (-1);
	}
	return (fd);
}

static int
session_request_meanwhile(int fd, int type, int code, struct session_info *info,
    void (*meanwhile)(void *), void *arg, struct merr *e)
{
	struct chan_msg	 m;
	char		*payload = NULL;
	size_t		 len = 0;
	int		 fds[2], nfds = 0, rc;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.code = code;
	if (chan_send(fd, &m, NULL, 0, NULL, 0) == -1)
		return (merr_errno(e, "send to the session"));
	if (meanwhile != NULL)
		meanwhile(arg);
	rc = chan_recv(fd, 0, &m, &payload, &len, fds, 2, &nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (rc == -1) {
		free(payload);
		return (merr_errno(e, "read the session's answer"));
	}
	if (rc == 0) {
		free(payload);
		return (merr_set(e, "the session closed the connection"));
	}
	if (m.type == MSG_ERROR) {
		free(payload);
		return (merr_set(e, "the session refused: %s", m.text));
	}
	if (m.type != MSG_HELLO || payload == NULL ||
	    (info != NULL && session_info_parse(payload, len, info) == -1)) {
		free(payload);
		return (merr_set(e, "the session answered something moat does not "
		    "understand"));
	}
	free(payload);
	return (0);
}

int
session_request(int fd, int type, int code, struct session_info *info,
    struct merr *e)
{
	return (session_request_meanwhile(fd, type, code, info, NULL, NULL, e));
}

static int
session_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t	n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* The transport of a session's client's audit handle: a request to the
 * supervisor, in the message or (larger than one carries) in a memfd, and,
 * when wanted, its answer (now, or for AUDIT_XFER_ASK_LATER at the next
 * call, AUDIT_XFER_ANSWER). Anything else that arrives meanwhile (a late
 * event of a command that has ended, the refusal of a command sent after
 * a begin that failed: a MSG_ERROR with the command's tag) is not an
 * answer and is passed over. */
static int
session_audit_xfer(void *arg, const void *req, size_t len,
    enum audit_xfer_mode mode, char **rep, size_t *rlen, struct merr *e)
{
	int		 fd = (int)(intptr_t)arg, fds[2], nfds = 0, rc, mfd = -1;
	struct chan_msg	 m;
	char		*payload = NULL;
	size_t		 plen = 0;

	if (mode == AUDIT_XFER_ANSWER)
		goto answer;
	memset(&m, 0, sizeof m);
	m.type = MSG_AUDIT;
	m.flags = mode != AUDIT_XFER_TELL ? AUDIT_WANT_REPLY : 0;
	if (len > SPAWN_PAYLOAD_MAX - 1024) {
		if (len > AUDIT_REQUEST_MAX)
			return (merr_set(e, "audit log: a request of %zu bytes is over "
			    "the %d a session takes", len, AUDIT_REQUEST_MAX));
		if ((mfd = memfd_create("moat-audit", MFD_CLOEXEC)) == -1 ||
		    session_write_all(mfd, req, len) == -1) {
			rc = merr_errno(e, "audit log: a request to the session");
			if (mfd != -1)
				close(mfd);
			return (rc);
		}
		m.flags |= AUDIT_IN_FD;
		m.code = (int)len;
		rc = chan_send(fd, &m, NULL, 0, &mfd, 1);
		close(mfd);
	} else
		rc = chan_send(fd, &m, req, len, NULL, 0);
	if (rc == -1) {
		merr_errno(e, "audit log: the session's supervisor, which records "
		    "its commands, is gone");
		return (AUDIT_XFER_GONE);
	}
	if (mode != AUDIT_XFER_ASK)
		return (0);
answer:
	for (;;) {
		rc = chan_recv_wait(fd, &m, &payload, &plen, fds, 2, &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (rc <= 0) {
			merr_set(e, "audit log: the session's supervisor, which records "
			    "its commands, is gone");
			return (AUDIT_XFER_GONE);
		}
		if (m.type == MSG_AUDIT || (m.type == MSG_ERROR && m.tag == 0))
			break;
		free(payload);
		payload = NULL;
	}
	if (m.type == MSG_ERROR) {
		free(payload);
		return (merr_set(e, "%s", m.text));
	}
	*rep = payload != NULL ? payload : xstrdup("");
	*rlen = plen;
	return (0);
}

struct audit *
session_audit_open(int fd, const char *db, struct merr *e)
{
	return (audit_open_remote(db, session_audit_xfer, (void *)(intptr_t)fd, e));
}

int
session_layer_find(const char *which, struct session_info *info, struct merr *e)
{
	char		 state[PATH_MAX];
	autofree char	*runs = NULL;
	DIR		*d;
	struct dirent	*de;
	bool		 found = false;

	memset(info, 0, sizeof *info);
	if (!session_name_valid(which))
		return (merr_set(e, "no session %s", which));
	xdg_dir("XDG_STATE_HOME", ".local/state", state, sizeof state);
	runs = xprintf("%s/moat/runs", state);
	if ((d = opendir(runs)) == NULL)
		return (merr_set(e, "no session %s (live, or ended with a kept layer)",
		    which));
	while ((de = readdir(d)) != NULL) {
		autofree char		*f = NULL, *text = NULL;
		struct session_info	 in;
		struct merr		 ie;
		size_t			 len;

		if (de->d_name[0] == '.')
			continue;
		f = xprintf("%s/%s/session", runs, de->d_name);
		if (read_file(f, &text, &len, &ie) == -1 ||
		    session_info_parse(text, len, &in) == -1 ||
		    strcmp(in.run_id, de->d_name) != 0)
			continue;
		if (strcmp(in.id, which) != 0 && strcmp(in.name, which) != 0)
			continue;
		/* An id is unique; a name may have been used again: the
		 * newest. */
		if (!found || in.created > info->created)
			*info = in;
		found = true;
	}
	closedir(d);
	if (!found)
		return (merr_set(e, "no session %s (live, or ended with a kept layer)",
		    which));
	return (0);
}

int
session_allow(const char *which, const char *rule, int allow, const char *db,
    const char *source, const char *client, struct merr *e)
{
	struct session_info	 info;
	struct net_rule		 nr;
	struct audit		*a = NULL;
	struct audit_run	*ar = NULL;
	struct audit_start	 as;
	struct audit_end	 ae;
	struct run_event	 ev;
	struct chan_msg		 m;
	struct merr		 re = { 0 }, ae2;
	char			*argv[6], *payload = NULL;
	autofree char		*note = NULL;
	size_t			 len = 0;
	int			 fd, fds[2], nfds = 0, rc = -1;

	if (net_rule_parse(rule, &nr, e) == -1) {
		merr_prefix(e, "%s", rule);
		return (-1);
	}
	net_rule_release(&nr);
	if ((fd = session_connect(which, &info, e)) == -1)
		return (-1);
	argv[0] = "moat";
	argv[1] = "session";
	argv[2] = allow ? "allow" : "deny";
	argv[3] = info.id;
	argv[4] = (char *)rule;
	argv[5] = NULL;
	memset(&as, 0, sizeof as);
	as.source = source != NULL ? source : "cli";
	as.client = client;
	as.session = info.id;
	as.profile = info.profile;
	as.net_mode = info.net;
	as.workspace = info.workspace[0] != '\0' ? info.workspace : NULL;
	as.cwd = info.cwd;
	as.argv = argv;
	as.risk = -1;
	as.output_head = as.output_tail = AUDIT_OUTPUT_NONE;
	if ((a = audit_open(db, 0, e)) == NULL ||
	    (ar = audit_run_begin(a, &as, e)) == NULL) {
		merr_prefix(e, "nothing changed: it could not be recorded");
		goto out;
	}
	memset(&m, 0, sizeof m);
	m.type = MSG_NET;
	m.code = allow;
	if (chan_send(fd, &m, rule, strlen(rule), NULL, 0) == -1)
		merr_errno(&re, "send to the session");
	else if (chan_recv(fd, 0, &m, &payload, &len, fds, 2, &nfds) != 1)
		merr_set(&re, "the session did not answer");
	else if (m.type == MSG_ERROR)
		merr_set(&re, "session %s: %s", info.id, m.text);
	else if (m.type != MSG_HELLO)
		merr_set(&re, "the session answered something moat does not "
		    "understand");
	else
		rc = 0;
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(payload);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NOTE;
	ev.text = note = rc == 0 ? xprintf("net-allow %s %s session %s's allowlist, "
	    "by %s%s%s (pid %d)", rule, allow ? "added to" : "removed from", info.id,
	    as.source, client != NULL ? ":" : "", client != NULL ? client : "",
	    (int)getpid()) : xprintf("net-allow %s: not %s: %s", rule,
	    allow ? "added" : "removed", re.msg);
	(void)audit_run_event(ar, &ev, &ae2);
	memset(&ae, 0, sizeof ae);
	ae.status = AUDIT_DONE;
	ae.end_reason = "exited";
	ae.exit_code = rc == 0 ? 0 : 1;
	ae.cpu_user = ae.cpu_sys = -1;
	ae.peak_memory = ae.peak_pids = -1;
	ae.risk = -1;
	if (audit_run_end(TAKE_PTR(ar), &ae, &ae2) == -1 && rc == 0) {
		*e = ae2;
		merr_prefix(e, "changed, but its row could not be completed");
		rc = -1;
	} else if (rc == -1)
		*e = re;
out:
	audit_close(a);
	close(fd);
	return (rc);
}

/* Each live session of the user's, connected and greeted: fn(fd, its
 * greeting, arg) returns true to keep the connection and stop, its fd then
 * in *kept (-1 when no call did). On the way, the log of a session long
 * gone goes after a week (kept for a post mortem), and the socket of one
 * whose supervisor was killed at once. */
static int
session_walk(bool (*fn)(int, struct session_info *, void *), void *arg,
    int *kept, struct merr *e)
{
	char		 dir[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	*kept = -1;
	if (session_dir(dir, sizeof dir, e) == -1)
		return (-1);
	if ((d = opendir(dir)) == NULL)
		return (merr_errno(e, "open %s", dir));
	while ((de = readdir(d)) != NULL) {
		size_t			 len = strlen(de->d_name);
		char			 id[SESSION_ID_MAX];
		struct session_info	 in;
		struct merr		 ie;
		int			 fd;

		if (len > 4 && strcmp(de->d_name + len - 4, ".log") == 0) {
			char		*p = xprintf("%s/%s", dir, de->d_name);
			char		*sock = xprintf("%s/%.*s.sock", dir,
					    (int)(len - 4), de->d_name);
			struct stat	 st;

			if (stat(sock, &st) == -1 && lstat(p, &st) == 0 &&
			    st.st_mtime < time(NULL) - SESSION_LOG_KEEP)
				unlink(p);
			free(sock);
			free(p);
			continue;
		}
		if (len < 6 || len - 5 >= sizeof id ||
		    strcmp(de->d_name + len - 5, ".sock") != 0)
			continue;
		memcpy(id, de->d_name, len - 5);
		id[len - 5] = '\0';
		if ((fd = session_connect_id(id, &ie)) == -1) {
			if (errno == ECONNREFUSED) {
				/* Its supervisor was killed: nothing runs there. */
				char	*p = xprintf("%s/%s", dir, de->d_name);

				unlink(p);
				free(p);
			}
			continue;
		}
		if (session_request(fd, MSG_HELLO, CHAN_PROTOCOL, &in, &ie) == 0 &&
		    fn(fd, &in, arg)) {
			*kept = fd;
			break;
		}
		close(fd);
	}
	closedir(d);
	return (0);
}

struct session_found {
	struct session_info	*v;
	size_t			 n;
};

/* session ls: each one's processes and memory too (MSG_INFO). */
static bool
session_list_one(int fd, struct session_info *in, void *arg)
{
	struct session_found	*f = arg;
	struct merr		 ie;

	if (session_request(fd, MSG_INFO, 0, in, &ie) == 0) {
		f->v = xreallocarray(f->v, f->n + 1, sizeof *f->v);
		f->v[f->n++] = *in;
	}
	return (false);
}

int
session_list(struct session_info **v, size_t *n, struct merr *e)
{
	struct session_found	f = { NULL, 0 };
	int			kept;

	*v = NULL;
	*n = 0;
	if (session_walk(session_list_one, &f, &kept, e) == -1)
		return (-1);
	*v = f.v;
	*n = f.n;
	return (0);
}

void
session_run_attach(struct run *r, int fd, const struct session_info *info)
{
	r->session_fd = fd;
	r->session_memory = info->memory > 0 ? (uint64_t)info->memory : 0;
	free(r->session_user);
	free(r->session_home);
	r->session_user = r->session_home = NULL;
	if (info->user[0] != '\0' && info->home[0] == '/') {
		r->session_user = xstrdup(info->user);
		r->session_home = xstrdup(info->home);
	}
	free(r->ws_path);
	r->ws_path = info->workspace[0] != '\0' ? xstrdup(info->workspace) : NULL;
}

/* session_walk's test for a name: that session's greeting kept. */
struct session_named {
	const char		*name;
	struct session_info	*info;
};

static bool
session_has_name(int fd, struct session_info *in, void *arg)
{
	struct session_named	*w = arg;

	(void)fd;
	if (strcmp(in->name, w->name) != 0)
		return (false);
	*w->info = *in;
	return (true);
}

/* The live session that has the name: its connection, greeted (*info its
 * greeting). Each session is greeted until that one answers; none is asked
 * for its processes and memory (MSG_INFO), as session ls does. */
static int
session_connect_name(const char *name, struct session_info *info,
    struct merr *e)
{
	struct session_named	w = { name, info };
	int			fd;

	if (session_walk(session_has_name, &w, &fd, e) == -1)
		return (-1);
	if (fd == -1)
		return (merr_set(e, "no session is named %s (see moat session ls)",
		    name));
	return (fd);
}

int
session_connect(const char *which, struct session_info *info, struct merr *e)
{
	return (session_connect_meanwhile(which, info, NULL, NULL, e));
}

int
session_connect_meanwhile(const char *which, struct session_info *info,
    void (*meanwhile)(void *), void *arg, struct merr *e)
{
	struct session_info	 in;
	int			 fd;

	if (!session_name_valid(which))
		return (merr_set(e, "%s: not a session id or name (see moat session "
		    "ls)", which));
	if (strncmp(which, "s-", 2) != 0) {
		if (meanwhile != NULL)
			meanwhile(arg);
		if ((fd = session_connect_name(which, &in, e)) == -1)
			return (-1);
		if (info != NULL)
			*info = in;
		return (fd);
	}
	fd = session_connect_id(which, e);
	if (fd == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			merr_set(e, "no session %s is running (see moat session ls)",
			    which);
		else if (errno != 0)
			merr_errno(e, "connect to session %s", which);
		return (-1);
	}
	if (session_request_meanwhile(fd, MSG_HELLO, CHAN_PROTOCOL, &in,
	    meanwhile, arg, e) == -1) {
		close(fd);
		return (-1);
	}
	if (info != NULL)
		*info = in;
	return (fd);
}

int
session_open_inside(int sock, const struct session_info *in, const char *path,
    int flags, mode_t mode, struct merr *e)
{
	struct chan_msg	 m;
	autofree char	*full = NULL;
	int		 fds[2], nfds = 0, rc;

	full = path[0] == '/' ? xstrdup(path) : path_join(in->cwd, path);
	memset(&m, 0, sizeof m);
	m.type = MSG_OPEN;
	m.tag = 1;
	m.flags = flags;
	m.code = (int)mode;
	if (strlen(full) + 1 > SPAWN_PAYLOAD_MAX)
		return (merr_set(e, "a path of %zu bytes", strlen(full)));
	if (chan_send(sock, &m, full, strlen(full) + 1, NULL, 0) == -1)
		return (merr_errno(e, "send to session %s", in->id));
	do
		rc = chan_recv(sock, 0, &m, NULL, NULL, fds, 2, &nfds);
	while (rc == 1 && m.type != MSG_OPEN && m.type != MSG_ERROR);
	if (rc <= 0)
		return (rc == 0 ? merr_set(e, "session %s went away", in->id) :
		    merr_errno(e, "read from session %s", in->id));
	for (int i = 1; i < nfds; i++)
		close(fds[i]);
	if (m.type == MSG_ERROR)
		return (merr_set(e, "session %s refused: %s", in->id, m.text));
	if (nfds == 0 || m.err != 0) {
		if (nfds > 0)
			close(fds[0]);
		if (m.err == ELOOP)
			return (merr_set(e, "%s inside session %s is a symbolic link: "
			    "not followed", full, in->id));
		return (merr_errno_n(e, m.err != 0 ? m.err : EIO, "%s inside session %s",
		    full, in->id));
	}
	return (fds[0]);
}

bool
session_profile_matches(const struct session_info *in, const struct profile *p)
{
	char		 hash[SHA256_HEX_LEN];
	autofree char	*text = profile_format(p, false, NULL);

	sha256_hex(text, strlen(text), hash);
	return (strcmp(hash, in->profile_hash) == 0 ||
	    (in->profile_hash_live[0] != '\0' &&
	    strcmp(hash, in->profile_hash_live) == 0));
}
