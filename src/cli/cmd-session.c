/* cmd-session.c: `moat session`, long-lived sandboxes that run many
 * commands: new, ls, exec, ttl, kill. A command run with exec is shown and
 * recorded as moat run's are (cmd_run_go). Front end. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/cov.h"
#include "cmd.h"
#include "profile/profile.h"
#include "sandbox/chan.h"
#include "sandbox/spawn.h"
#include "review/review.h"
#include "risk/risk.h"
#include "session/checkpoint.h"
#include "session/session.h"

static int	cmd_session_exec(int, char **);
static int	cmd_session_tar(const char *, const char *, int, int);

const struct cmd_entry cmd_session_entry = {
	.name = "session",
	.usage = "session new [-p PROFILE] [-w DIR] [--name NAME] [--ttl DURATION] "
	    "[--idle-ttl DURATION] [--ttl-paused run|stop] [--from FILE] [-v] | ls [--json] | exec ID|NAME [-t] "
	    "[--timeout SECS] [-e NAME[=VALUE]]... [--cwd DIR] [-q] [--json] [--db PATH] "
	    "[--unlogged] [--detach] -- CMD [ARG]... | cp ID SRC DST | snapshot ID|NAME [FILE] [--processes] | pause ID|NAME | "
	    "resume ID|NAME | ttl ID|NAME DURATION | allow|deny ID|NAME HOST[:PORT] [--db PATH] | kill ID|NAME|--all",
	.summary = "long-lived sandboxes: start one, run many commands in it, end it",
	.options = (const char *const[]){
		"new\tstart a session (a sandbox that stays up) and print its id",
		"ls\tthe running sessions: id, name, profile, workspace, age, TTL, processes, memory, commands",
		"exec\trun a command in a session; shown, recorded and ended as moat run's",
		"cp\tcopy a file in or out: SRC or DST is :PATH (or ID:PATH) inside",
		"snapshot\tits /tmp and HOME inside, and an overlay workspace's changes, as a tar file (default ID-TIME.tar), made by tar in the session",
		"pause\tfreeze every process of a session (the cgroup freezer); it uses no CPU",
		"resume\tthaw a paused session",
		"ttl\tset the time a session has left (0: none)",
		"allow\tadd a net-allow rule (HOST[:PORT], *.suffix, an address or network) to a running session's allowlist, recorded",
		"deny\ttake such a rule out again (connections already open go on)",
		"kill\tend a session (or every one of yours) and everything in it",
		"-p, --profile PROFILE\tnew: a profile name or path (default: default)",
		"-w, --workspace DIR\tnew: the workspace instead of the current directory",
		"--name NAME\tnew: a name to use instead of the id",
		"--ttl DURATION\tnew: end the session after this long (2h, 30m; default: none)",
		"--idle-ttl DURATION\tnew: end it after this long with no command running",
		"--ttl-paused run|stop\tnew: whether the TTL runs while the session is paused (default: run)",
		"--from FILE\tnew: restore a snapshot's files into the new session",
		"--processes\tsnapshot: checkpoint the processes too, with CRIU; refused, saying why, where that cannot be done (today: every session, see moat(1))",
		"-v, --verbose\tnew: how the sandbox was built, in the session's log; exec: on stderr",
		"-t, --tty\texec: a terminal of the sandbox even when stdout is none",
		"--timeout SECS\texec: wall-clock limit for this command",
		"-e, --env NAME[=VALUE]\texec: pass NAME from moat's environment, or set it",
		"--cwd DIR\texec: the working directory inside (default: the workspace)",
		"-q, --quiet\texec: no summary on the terminal after the command",
		"--json\tls: JSON lines; exec: a JSON summary after the output",
		"--db PATH\texec, allow, deny: the audit database (default $XDG_DATA_HOME/moat/audit.db)",
		"--unlogged\texec: run even when the audit log cannot be written",
		"--detach\texec: print the run id once the command starts and leave it running; its output is in the audit log",
		"--all\tkill: every session of yours",
		"-h, --help\tthis text",
		"exit status\texec: the command's, as moat run; others: 0, or 125 on failure",
		NULL,
	},
	.exec = cmd_session_exec,
};

static int
cmd_session_duration(const char *flag, const char *s, double *out)
{
	const char	*why;

	if (parse_duration(s, out, &why) == -1)
		return (cmd_usage_error(&cmd_session_entry, "%s %s: %s (seconds, or "
		    "with ms, s, m, h: 90, 30m, 2h; at most 366 days)", flag, s, why));
	return (0);
}

static int
cmd_session_new(int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "name", required_argument, NULL, 'n' },
		{ "ttl", required_argument, NULL, 'T' },
		{ "idle-ttl", required_argument, NULL, 'I' },
		{ "ttl-paused", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "from", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_opts	o;
	const char		*from = NULL;
	int			 in = -1;
	struct profile		*p;
	struct merr		 e;
	char			 id[SESSION_ID_MAX];
	const char		*pname = "default";
	int			 c;

	memset(&o, 0, sizeof o);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:v", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pname = optarg;
			break;
		case 'w':
			o.workspace = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'T':
			if (cmd_session_duration("--ttl", optarg, &o.ttl) != 0)
				return (EXIT_MOAT);
			break;
		case 'I':
			if (cmd_session_duration("--idle-ttl", optarg, &o.idle_ttl) != 0)
				return (EXIT_MOAT);
			break;
		case 'P':
			if (strcmp(optarg, "stop") == 0)
				o.ttl_paused_stop = true;
			else if (strcmp(optarg, "run") != 0)
				return (cmd_usage_error(&cmd_session_entry, "session new: "
				    "--ttl-paused %s: run (the TTL runs while paused, the "
				    "default) or stop (it stands still)", optarg));
			break;
		case 'v':
			o.verbose++;
			break;
		case 'F':
			from = optarg;
			break;
		default:
			return (cmd_usage_error(&cmd_session_entry, "session new: "
			    "unknown option \"%s\"", argv[optind - 1]));
		}
	}
	if (optind < argc)
		return (cmd_usage_error(&cmd_session_entry, "session new: "
		    "unexpected \"%s\"", argv[optind]));
	if (from != NULL && (in = open(from, O_RDONLY | O_CLOEXEC)) == -1) {
		cmd_errorf("moat session new: --from %s: %s\n", from,
		    strerror(errno));
		return (EXIT_MOAT);
	}
	if ((p = profile_load(pname, &e)) == NULL) {
		merr_print(&e);
		if (in >= 0)
			close(in);
		return (EXIT_MOAT);
	}
	o.profile = p;
	o.profile_arg = pname;
	if (session_start(&o, id, &e) == -1) {
		merr_print(&e);
		profile_free(p);
		if (in >= 0)
			close(in);
		return (EXIT_MOAT);
	}
	/* The snapshot's files, extracted by tar inside the new session. */
	if (in >= 0) {
		int	st = cmd_session_tar(id, "new --from", in, -1);
		int	fd;

		close(in);
		if (st != 0) {
			cmd_errorf("moat session new: --from %s: tar in the "
			    "session failed (exit %d); the session is ended\n", from, st);
			if ((fd = session_connect(id, NULL, &e)) >= 0) {
				(void)session_request(fd, MSG_CLOSE, 0, NULL, &e);
				close(fd);
			}
			profile_free(p);
			return (EXIT_MOAT);
		}
	}
	if (o.name != NULL)
		printf("%s %s\n", id, o.name);
	else
		printf("%s\n", id);
	profile_free(p);
	return (0);
}

static void
cmd_session_age(double s, char *buf, size_t n)
{
	if (s < 0)
		snprintf(buf, n, "-");
	else if (s < 120)
		snprintf(buf, n, "%.0fs", s);
	else if (s < 7200)
		snprintf(buf, n, "%.0fm", s / 60);
	else
		snprintf(buf, n, "%.1fh", s / 3600);
}

static void
cmd_session_json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	putchar('"');
}

static int
cmd_session_ls(int argc, char **argv)
{
	struct session_info	*v = NULL;
	struct merr		 e;
	size_t			 n = 0;
	bool			 json = false;
	double			 now = (double)time(NULL);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return (cmd_usage_error(&cmd_session_entry, "session ls: "
			    "unexpected \"%s\"", argv[i]));
	}
	if (session_list(&v, &n, &e) == -1) {
		merr_print(&e);
		return (EXIT_MOAT);
	}
	if (!json && n > 0)
		printf("%-11s %-12s %-10s %-6s %-6s %-7s %5s %8s %5s  %s\n", "ID", "NAME",
		    "PROFILE", "AGE", "TTL", "STATE", "PROCS", "MEM", "CMDS",
		    "WORKSPACE");
	for (size_t i = 0; i < n; i++) {
		struct session_info	*s = &v[i];
		char			 age[16], ttl[16];

		if (json) {
			printf("{\"id\":");
			cmd_session_json_str(s->id);
			printf(",\"name\":");
			cmd_session_json_str(s->name);
			printf(",\"profile\":");
			cmd_session_json_str(s->profile);
			printf(",\"net\":");
			cmd_session_json_str(s->net);
			printf(",\"workspace\":");
			cmd_session_json_str(s->workspace);
			printf(",\"pid\":%d,\"age_s\":%.0f,\"ttl_left_s\":", (int)s->pid,
			    now - s->created);
			if (s->ttl_left < 0)
				printf("null");
			else
				printf("%.0f", s->ttl_left);
			printf(",\"state\":");
			cmd_session_json_str(s->state);
			printf(",\"processes\":%u,"
			    "\"memory_bytes\":%.0f,\"commands\":%u,\"running\":%u}\n",
			    s->procs, s->mem, s->commands, s->live);
			continue;
		}
		cmd_session_age(now - s->created, age, sizeof age);
		cmd_session_age(s->ttl_left, ttl, sizeof ttl);
		printf("%-11s %-12s %-10.10s %-6s %-6s %-7s %5u %7.1fM %5u  %s\n",
		    s->id, s->name[0] != '\0' ? s->name : "-", s->profile, age, ttl,
		    s->state, s->procs, s->mem / 1048576, s->commands,
		    s->workspace[0] != '\0' ? s->workspace : "-");
	}
	free(v);
	return (0);
}

/* Connects to a session to run a command in it, and loads its profile:
 * the client scores, builds the environment and records with the
 * session's profile, so it must be the same text the session started
 * with, or the record would say what the sandbox is not. The socket, or
 * -1 (said on stderr). */
int
cmd_session_attach(const char *which, const char *verb,
    struct session_info *info, struct profile **pp,
    void (*meanwhile)(void *), void *arg)
{
	struct merr	 e;
	int		 fd;

	*pp = NULL;
	if ((fd = session_connect_meanwhile(which, info, meanwhile, arg,
	    &e)) == -1) {
		merr_print(&e);
		return (-1);
	}
	if ((*pp = profile_load(info->profile, &e)) == NULL) {
		merr_print(&e);
		close(fd);
		return (-1);
	}
	if (!session_profile_matches(info, *pp)) {
		cmd_errorf("moat session %s: profile %s has changed since "
		    "session %s started; its sandbox is still the old one: start a "
		    "new session to use the new profile\n", verb, info->profile,
		    info->id);
		profile_free(*pp);
		*pp = NULL;
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Where a snapshot keeps an overlay session's workspace changes, whatever
 * the workspace's path: restored under the new session's workspace. */
#define SNAP_WS		"moat-workspace"
#define SNAP_DELETED	"/tmp/.moat-snapshot-deleted"

/* An overlay session's changes to its workspace, for a snapshot: the paths
 * it added or changed, NUL-terminated and relative to /, appended to names;
 * those it deleted, relative to the workspace, written inside the session
 * to SNAP_DELETED (itself under /tmp, so it is in the archive). */
static int
cmd_session_ws_changes(int fd, const struct session_info *info,
    const struct profile *p, FILE *names, struct merr *e)
{
	struct review	 rv;
	FILE		*del = NULL;
	int		 dfd = -1, rc = -1;
	autofree char	*dir = NULL;	/* an added directory: tar takes all of it */

	if (review_load(&rv, info->run_id, info->workspace, &p->protect, e) == -1)
		return (-1);
	for (size_t i = 0; i < rv.n; i++) {
		const struct review_change	*c = &rv.v[i];
		size_t				 dl = dir != NULL ? strlen(dir) : 0;

		if (c->protected || (dir != NULL && strncmp(c->path, dir, dl) == 0 &&
		    c->path[dl] == '/'))
			continue;
		if (c->kind != REVIEW_DELETED) {
			fprintf(names, "%s/%s%c", info->workspace + 1, c->path, '\0');
			if (c->kind == REVIEW_ADDED && S_ISDIR(c->new_mode)) {
				free(dir);
				dir = xstrdup(c->path);
			}
			continue;
		}
		if (del == NULL) {
			if ((dfd = session_open_inside(fd, info, SNAP_DELETED, O_WRONLY |
			    O_CREAT | O_TRUNC, 0600, e)) == -1 ||
			    (del = fdopen(dfd, "w")) == NULL) {
				if (dfd >= 0)
					close(dfd);
				merr_errno(e, "%s inside the session", SNAP_DELETED);
				goto out;
			}
		}
		fprintf(del, "%s%c", c->path, '\0');
	}
	rc = 0;
out:
	if (del != NULL && fclose(del) != 0 && rc == 0)
		rc = merr_errno(e, "%s inside the session", SNAP_DELETED);
	review_release(&rv);
	return (rc);
}

/* A snapshot's files: moat runs tar in the session itself, over what the
 * session keeps that the host does not (its /tmp and the HOME inside, and
 * an overlay workspace's changes; a bind workspace is on the host already),
 * so what a snapshot holds is read, and what a restore writes is written,
 * by the sandbox. Recorded as a run of the session. in < 0: create the
 * archive on out; else extract from in (an overlay session's workspace
 * changes under its own workspace, then what they deleted removed). */
static int
cmd_session_tar(const char *which, const char *verb, int in, int out)
{
	struct session_info	 info;
	struct cmd_run_opts	 o;
	struct profile		*p;
	struct run		 r;
	struct merr		 e;
	const char		*home = getenv("HOME");
	char			*argv[16];
	autofree char		*xf = NULL, *list = NULL, *rm = NULL;
	size_t			 listlen = 0;
	FILE			*names = NULL;
	int			 fd, status, save = -1, save0 = -1, listfd = -1, k = 0;
	int			 std = in >= 0 ? 0 : 1;
	bool			 ovl;

	if ((fd = cmd_session_attach(which, verb, &info, &p, NULL, NULL)) == -1)
		return (EXIT_MOAT);
	ovl = p->workspace == WS_OVERLAY && info.workspace[0] == '/' &&
	    info.workspace[1] != '\0';
	memset(&o, 0, sizeof o);
	o.detach_fd = -1;
	run_init(&r);
	argv[k++] = "tar";
	argv[k++] = "-C";
	argv[k++] = "/";
	if (in < 0) {
		/* The names on stdin: /tmp, HOME, and each path an overlay
		 * workspace changed, stored under SNAP_WS. Each its own mount:
		 * what is bound into them (the workspace, a profile's binds) is
		 * the host's, not the session's. */
		if ((names = open_memstream(&list, &listlen)) == NULL) {
			cmd_errorf("moat session %s: %s\n", verb, strerror(errno));
			status = EXIT_MOAT;
			goto out;
		}
		fprintf(names, "tmp%c", '\0');
		if (home != NULL && home[0] == '/' && home[1] != '\0')
			fprintf(names, "%s%c", home + 1, '\0');
		if (ovl && cmd_session_ws_changes(fd, &info, p, names, &e) == -1) {
			merr_print(&e);
			fclose(names);
			status = EXIT_MOAT;
			goto out;
		}
		fclose(names);
		if ((listfd = memfd_create("moat-snapshot", MFD_CLOEXEC)) == -1 ||
		    write(listfd, list, listlen) != (ssize_t)listlen ||
		    lseek(listfd, 0, SEEK_SET) == -1) {
			cmd_errorf("moat session %s: %s\n", verb, strerror(errno));
			status = EXIT_MOAT;
			goto out;
		}
		argv[k++] = "--one-file-system";
		if (ovl)
			argv[k++] = xf = xprintf("--transform=s|^%s/|%s/|",
			    info.workspace + 1, SNAP_WS);
		argv[k++] = "--null";
		argv[k++] = "-T";
		argv[k++] = "-";
		argv[k++] = "-cf";
		argv[k++] = "-";
	} else {
		/* A directory already there (the workspace's mount point)
		 * keeps its own metadata. An overlay session takes the
		 * workspace changes under its own workspace; another leaves
		 * them out: they would write the project itself. */
		argv[k++] = "--no-overwrite-dir";
		if (ovl)
			argv[k++] = xf = xprintf("--transform=s|^%s/|%s/|", SNAP_WS,
			    info.workspace + 1);
		else {
			argv[k++] = "--exclude=" SNAP_WS;
			fprintf(stderr, "moat: note: a snapshot's workspace changes are "
			    "restored only into a session whose profile has workspace = "
			    "overlay; session %s's workspace is the project itself\n",
			    info.id);
		}
		argv[k++] = "-xpf";
		argv[k++] = "-";
	}
	argv[k] = NULL;
	r.argv = argv;
	session_run_attach(&r, fd, &info);
	r.cwd_path = xstrdup("/");
	o.session = info.id;
	fflush(stdout);
	if ((save = dup(std)) == -1 || dup2(in >= 0 ? in : out, std) == -1 ||
	    (listfd >= 0 && ((save0 = dup(0)) == -1 || dup2(listfd, 0) == -1))) {
		fprintf(stderr, "moat session %s: %s\n", verb, strerror(errno));
		status = EXIT_MOAT;
	} else
		status = cmd_run_go(&r, p, &o);
	if (save >= 0) {
		dup2(save, std);
		close(save);
	}
	if (save0 >= 0) {
		dup2(save0, 0);
		close(save0);
	}
	/* Restored: what the snapshot's session had deleted goes too. */
	if (in >= 0 && status == 0 && ovl) {
		char	*rmv[] = { "sh", "-c", NULL, NULL };

		run_release(&r);
		run_init(&r);
		rmv[2] = rm = xprintf("if [ -f %s ]; then cd '%s' && xargs -0 rm -rf -- "
		    "< %s; rm -f %s; fi", SNAP_DELETED, info.workspace, SNAP_DELETED,
		    SNAP_DELETED);
		r.argv = rmv;
		session_run_attach(&r, fd, &info);
		r.cwd_path = xstrdup("/");
		status = cmd_run_go(&r, p, &o);
	}
out:
	if (listfd >= 0)
		close(listfd);
	close(fd);
	profile_free(p);
	run_release(&r);
	return (status);
}

/* snapshot --processes: CRIU cannot checkpoint a session's processes yet
 * (session/checkpoint.c); one line on stderr says what stops it here, and
 * nothing is written. */
static int
cmd_session_checkpoint(const char *which)
{
	struct session_info	 info;
	struct profile		*p;
	struct merr		 e;
	int			 fd;

	if ((fd = cmd_session_attach(which, "snapshot", &info, &p, NULL, NULL)) == -1)
		return (EXIT_MOAT);
	close(fd);
	ckpt_why_not(&info, p, &e);
	profile_free(p);
	cmd_errorf("moat session snapshot: --processes: %s\n", e.msg);
	return (EXIT_MOAT);
}

static int
cmd_session_snapshot(int argc, char **argv)
{
	autofree char		*def = NULL;
	const char		*file, *which = NULL, *name = NULL;
	bool			 procs = false;
	int			 out, status;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--processes") == 0)
			procs = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return (cmd_usage_error(&cmd_session_entry, "session snapshot: "
			    "unknown option \"%s\"", argv[i]));
		else if (which == NULL)
			which = argv[i];
		else if (name == NULL)
			name = argv[i];
		else
			return (cmd_usage_error(&cmd_session_entry, "session snapshot: "
			    "unexpected \"%s\"", argv[i]));
	}
	if (which == NULL)
		return (cmd_usage_error(&cmd_session_entry, "session snapshot ID|NAME "
		    "[FILE] [--processes]"));
	/* Processes too: refused, saying why, before anything is written. */
	if (procs)
		return (cmd_session_checkpoint(which));
	file = name != NULL ? name : (def = xprintf("%s-%ld.tar", which,
	    (long)time(NULL)));
	/* Never over an existing file: nothing is lost. */
	if ((out = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		cmd_errorf("moat session snapshot: %s: %s%s\n", file,
		    strerror(errno), errno == EEXIST ? " (name another file)" : "");
		return (EXIT_MOAT);
	}
	status = cmd_session_tar(which, "snapshot", -1, out);
	close(out);
	if (status != 0) {
		unlink(file);
		fprintf(stderr, "moat session snapshot: tar in the session failed "
		    "(exit %d); no snapshot written\n", status);
		return (status);
	}
	printf("%s\n", file);
	return (0);
}

/* exec --detach: a moat of its own (setsid, no terminal, stdin and stdout
 * /dev/null) stays connected and records the command to its end, as exec
 * does; this one waits until the command is started, prints its run id and
 * exits 0. What the command writes is in the audit log (moat audit show);
 * the command ends with the session, or when that moat is killed. */
static int
cmd_session_detach(struct run *r, struct profile *p, struct cmd_run_opts *o)
{
	char	line[sizeof r->id + 2];
	ssize_t	n;
	size_t	len = 0;
	int	pfd[2], null, wst, rc;
	pid_t	pid;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		fprintf(stderr, "moat session exec: --detach: %s\n", strerror(errno));
		return (EXIT_MOAT);
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "moat session exec: --detach: %s\n", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return (EXIT_MOAT);
	}
	if (pid == 0) {
		close(pfd[0]);
		(void)setsid();
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
		o->detach_fd = pfd[1];
		o->quiet = true;
		rc = cmd_run_go(r, p, o);
		cov_dump();	/* a coverage build's counters: _exit skips atexit */
		_exit(rc);
	}
	close(pfd[1]);
	while (len < sizeof line - 1) {
		n = read(pfd[0], line + len, sizeof line - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	line[len] = '\0';
	if (len > 0 && line[len - 1] == '\n') {
		fputs(line, stdout);
		return (0);
	}
	/* Never started: its messages are on our stderr; its status is ours. */
	while (waitpid(pid, &wst, 0) == -1 && errno == EINTR)
		;
	return (WIFEXITED(wst) ? WEXITSTATUS(wst) : EXIT_MOAT);
}

/* What moat session exec prepares besides reaching the session: the risk
 * rules (kept as read: 0.1 to 0.2 ms), loaded while the session answers
 * the greeting (which takes the supervisor as long). Its log is the
 * session's: the supervisor keeps it open and writes the rows
 * (session_audit_open), so no database is opened here. */
struct exec_prep {
	double			 trace;
	struct risk_rules	*rules;
	bool			 loaded;
};

/* Once: session_connect_meanwhile's callback, or after the connection
 * when that did not call it. Rules that cannot be loaded are left to the
 * record, which loads them again and refuses the run with the reason. */
static void
exec_prep_rules(void *arg)
{
	struct exec_prep	*ep = arg;
	struct merr		 e;
	double			 t = now_mono();

	if (ep->loaded)
		return;
	ep->loaded = true;
	if (risk_load(&ep->rules, &e) == -1)
		ep->rules = NULL;
	trace_step(ep->trace, "risk-load", t);
}

static int
cmd_session_run(int argc, char **argv)
{
	static const struct option	opts[] = {
		CMD_RUN_OPTIONS,
		{ "tty", no_argument, NULL, 't' },
		{ "cwd", required_argument, NULL, 'C' },
		{ "detach", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_info	 info;
	struct cmd_run_opts	 o;
	struct exec_prep	 ep;
	struct merr		 e;
	struct profile		*p;
	struct run		 r;
	const char		*which, *cwd = NULL;
	int			 c, fd, status;
	bool			 detach = false;

	which = NULL;
	memset(&o, 0, sizeof o);
	memset(&ep, 0, sizeof ep);
	if (getenv("MOAT_TRACE_TIMING") != NULL && *getenv("MOAT_TRACE_TIMING") != '\0')
		o.trace = now_mono();
	o.detach_fd = -1;
	run_init(&r);
	opterr = 0;
	optind = 1;
	/* Options before and after the session's id or name. */
	for (;;) {
		if ((c = getopt_long(argc, argv, "+t" CMD_RUN_SHORT, opts, NULL)) == -1) {
			if (which != NULL || optind >= argc ||
			    strcmp(argv[optind - 1], "--") == 0)
				break;
			which = argv[optind++];
			continue;
		}
		switch (cmd_run_option(&cmd_session_entry, c, optarg, &r, &o)) {
		case 1:
			continue;
		case -1:
			run_release(&r);
			return (EXIT_MOAT);
		}
		switch (c) {
		case 't':
			r.pty_force = true;
			break;
		case 'C':
			if (optarg[0] != '/') {
				run_release(&r);
				return (cmd_usage_error(&cmd_session_entry, "--cwd %s: a "
				    "path inside the sandbox must be absolute", optarg));
			}
			cwd = optarg;
			break;
		case 'd':
			detach = true;
			break;
		default:
			run_release(&r);
			return (cmd_usage_error(&cmd_session_entry, "session exec: "
			    "unknown option \"%s\"", argv[optind - 1]));
		}
	}
	if (which == NULL) {
		run_release(&r);
		return (cmd_usage_error(&cmd_session_entry, "session exec: which "
		    "session? (an id or a name; see moat session ls)"));
	}
	if (optind >= argc) {
		run_release(&r);
		return (cmd_usage_error(&cmd_session_entry, "session exec: no command "
		    "given"));
	}
	if (detach && (r.pty_force || o.json)) {
		run_release(&r);
		return (cmd_usage_error(&cmd_session_entry, "session exec: --detach "
		    "leaves the command running with no one to show it to: not "
		    "with %s", r.pty_force ? "-t" : "--json"));
	}
	r.argv = argv + optind;
	ep.trace = o.trace;
	if ((fd = cmd_session_attach(which, "exec", &info, &p, exec_prep_rules,
	    &ep)) == -1) {
		risk_rules_free(ep.rules);
		run_release(&r);
		return (EXIT_MOAT);
	}
	trace_step(o.trace, "attach", o.trace);
	session_run_attach(&r, fd, &info);
	r.cwd_path = xstrdup(cwd != NULL ? cwd : info.cwd);
	o.session = info.id;
	/* The session's supervisor writes the rows; a handle of ours
	 * crosses --detach's fork (it is the connection, no database). */
	if ((o.audit = session_audit_open(fd, o.db, &e)) == NULL) {
		merr_print(&e);
		risk_rules_free(ep.rules);
		close(fd);
		profile_free(p);
		run_release(&r);
		return (EXIT_MOAT);
	}
	exec_prep_rules(&ep);
	o.rules = ep.rules;
	if (detach)
		status = cmd_session_detach(&r, p, &o);
	else
		status = cmd_run_go(&r, p, &o);
	audit_close(o.audit);
	risk_rules_free(ep.rules);
	close(fd);
	profile_free(p);
	run_release(&r);
	return (status);
}

/* A file between the host and the session: one side is ":PATH" or
 * "ID:PATH", the other a host path. Regular files only; inside, the
 * sandbox's own view with no symlink followed out of it (a planted link is
 * refused); a host DST that is a directory takes the source's name. */
static int
cmd_session_cp(int argc, char **argv)
{
	struct session_info	 info;
	struct merr		 e;
	struct stat		 st;
	const char		*src, *dst, *in_path, *host;
	autofree char		*hostdst = NULL;
	char			 buf[65536];
	bool			 in;
	int			 fd, from = -1, to = -1, rc = EXIT_MOAT;
	ssize_t			 n;

	if (argc != 4)
		return (cmd_usage_error(&cmd_session_entry, "session cp ID SRC DST "
		    "(one of them :PATH inside the session)"));
	src = argv[2];
	dst = argv[3];
#define INSIDE(x) ((x)[0] == ':' || (strncmp((x), argv[1], strlen(argv[1])) == 0 && \
	(x)[strlen(argv[1])] == ':'))
	if (INSIDE(src) == INSIDE(dst))
		return (cmd_usage_error(&cmd_session_entry, "session cp: exactly one "
		    "of SRC and DST is inside the session, written :PATH or %s:PATH",
		    argv[1]));
	in = INSIDE(dst);
#undef INSIDE
	in_path = strchr(in ? dst : src, ':') + 1;
	host = in ? src : dst;
	if (*in_path == '\0')
		return (cmd_usage_error(&cmd_session_entry, "session cp: no path "
		    "after the ':'"));
	if ((fd = session_connect(argv[1], &info, &e)) == -1) {
		merr_print(&e);
		return (EXIT_MOAT);
	}
	if (in) {
		if ((from = open(host, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(from, &st) == -1) {
			cmd_errorf("moat session cp: %s: %s\n", host, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			cmd_errorf("moat session cp: %s: not a regular file (copy "
			    "a tree with tar through moat session exec)\n", host);
			goto out;
		}
		/* Into a directory inside: under the source's name. */
		{
			int	d = session_open_inside(fd, &info, in_path, O_RDONLY |
				    O_DIRECTORY, 0, &e);
			autofree char	*copy = xstrdup(host);

			if (d >= 0) {
				close(d);
				hostdst = path_join(in_path, basename(copy));
				in_path = hostdst;
			}
		}
		to = session_open_inside(fd, &info, in_path, O_WRONLY | O_CREAT | O_TRUNC,
		    st.st_mode & 0777, &e);
	} else {
		from = session_open_inside(fd, &info, in_path, O_RDONLY, 0, &e);
		if (from >= 0 && (fstat(from, &st) == -1 || !S_ISREG(st.st_mode))) {
			merr_set(&e, "%s inside session %s is not a regular file (copy "
			    "a tree with tar through moat session exec)", in_path, info.id);
			close(from);
			from = -1;
		}
		if (from >= 0) {
			struct stat	hst;
			autofree char	*copy = xstrdup(in_path);

			if (stat(host, &hst) == 0 && S_ISDIR(hst.st_mode))
				host = hostdst = path_join(host, basename(copy));
			if ((to = open(host, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			    st.st_mode & 0777)) == -1)
				merr_errno(&e, "%s", host);
		}
	}
	if (from < 0 || to < 0) {
		fprintf(stderr, "moat session cp: %s\n", e.msg);
		goto out;
	}
	while ((n = read(from, buf, sizeof buf)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write(to, buf, (size_t)n) != n) {
			fprintf(stderr, "moat session cp: %s\n", strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	if (from >= 0)
		close(from);
	if (to >= 0 && close(to) == -1 && rc == 0) {
		fprintf(stderr, "moat session cp: %s\n", strerror(errno));
		rc = EXIT_MOAT;
	}
	close(fd);
	return (rc);
}

static int
cmd_session_ttl(int argc, char **argv)
{
	struct session_info	info;
	struct merr		e;
	double			ttl;
	int			fd;
	char			left[16];

	if (argc != 3)
		return (cmd_usage_error(&cmd_session_entry, "session ttl ID|NAME "
		    "DURATION"));
	if (cmd_session_duration("ttl", argv[2], &ttl) != 0)
		return (EXIT_MOAT);
	if ((fd = session_connect(argv[1], NULL, &e)) == -1 ||
	    session_request(fd, MSG_TTL, (int)ceil(ttl), &info, &e) == -1) {
		merr_print(&e);
		if (fd >= 0)
			close(fd);
		return (EXIT_MOAT);
	}
	close(fd);
	cmd_session_age(info.ttl_left, left, sizeof left);
	printf("%s: %s left\n", info.id, info.ttl_left < 0 ? "no TTL," : left);
	return (0);
}

static int
cmd_session_pause(int argc, char **argv, bool pause)
{
	struct session_info	info;
	struct merr		e;
	int			fd;

	if (argc != 2)
		return (cmd_usage_error(&cmd_session_entry, "session %s ID|NAME",
		    pause ? "pause" : "resume"));
	if ((fd = session_connect(argv[1], NULL, &e)) == -1 ||
	    session_request(fd, MSG_PAUSE, pause ? 1 : 0, &info, &e) == -1) {
		fprintf(stderr, "moat session %s: %s\n", pause ? "pause" : "resume",
		    e.msg);
		if (fd >= 0)
			close(fd);
		return (EXIT_MOAT);
	}
	close(fd);
	printf("%s: %s\n", info.id, info.state);
	return (0);
}

static int
cmd_session_kill(int argc, char **argv)
{
	struct session_info	*v = NULL, info;
	struct merr		 e;
	size_t			 n = 0;
	int			 fd, rc = 0;

	if (argc != 2)
		return (cmd_usage_error(&cmd_session_entry, "session kill ID|NAME|--all"));
	if (strcmp(argv[1], "--all") == 0) {
		if (session_list(&v, &n, &e) == -1) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
	} else {
		v = xcalloc(1, sizeof *v);
		snprintf(v[0].id, sizeof v[0].id, "%s", argv[1]);
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((fd = session_connect(v[i].id, &info, &e)) == -1 ||
		    session_request(fd, MSG_CLOSE, 0, NULL, &e) == -1) {
			merr_print(&e);
			rc = EXIT_MOAT;
		} else
			printf("%s: ended\n", info.id);
		if (fd >= 0) {
			/* The supervisor closes its end when it is gone. */
			char	b;

			while (read(fd, &b, 1) > 0)
				;
			close(fd);
		}
	}
	free(v);
	return (rc);
}

/* moat session allow|deny ID RULE: the session's allowlist changed live,
 * on the record (session_allow). */
static int
cmd_session_allow(int argc, char **argv, bool allow)
{
	const char	*db = NULL;
	struct merr	 e;
	const struct cmd_flag	flags[] = {
		{ "--db", NULL, &db },
		{ NULL, NULL, NULL },
	};

	switch (cmd_flags(&cmd_session_entry, argc, argv, flags, &argc)) {
	case 1:
		return (0);
	case -1:
		return (EXIT_MOAT);
	}
	if (argc != 2)
		return (cmd_usage_error(&cmd_session_entry, "session %s ID|NAME "
		    "HOST[:PORT] (one net-allow rule: a name, *.suffix, an address "
		    "or a network, with a port or :*)", allow ? "allow" : "deny"));
	if (session_allow(argv[0], argv[1], allow ? SESSION_ALLOW : SESSION_DENY,
	    db, "cli", NULL, &e) == -1) {
		cmd_errorf("moat session %s: %s\n", allow ? "allow" : "deny", e.msg);
		return (EXIT_MOAT);
	}
	printf("session %s: %s %s\n", argv[0], allow ? "allowed" : "no longer allows",
	    argv[1]);
	return (0);
}

int
cmd_session_exec(int argc, char **argv)
{
	const char	*sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL)
		return (cmd_usage_error(&cmd_session_entry, "which session command? "
		    "new, ls, exec, cp, snapshot, pause, resume, ttl, allow, deny or "
		    "kill"));
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		cmd_help(&cmd_session_entry, stdout);
		return (0);
	}
	/* "moat session kill --help" asks for help, as any command's does;
	 * what comes after "--" is the command's own. */
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_help(&cmd_session_entry, stdout);
			return (0);
		}
	if (strcmp(sub, "new") == 0)
		return (cmd_session_new(argc - 1, argv + 1));
	if (strcmp(sub, "ls") == 0)
		return (cmd_session_ls(argc - 1, argv + 1));
	if (strcmp(sub, "exec") == 0)
		return (cmd_session_run(argc - 1, argv + 1));
	if (strcmp(sub, "ttl") == 0)
		return (cmd_session_ttl(argc - 1, argv + 1));
	if (strcmp(sub, "cp") == 0)
		return (cmd_session_cp(argc - 1, argv + 1));
	if (strcmp(sub, "snapshot") == 0)
		return (cmd_session_snapshot(argc - 1, argv + 1));
	if (strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0)
		return (cmd_session_pause(argc - 1, argv + 1, sub[0] == 'p'));
	if (strcmp(sub, "kill") == 0)
		return (cmd_session_kill(argc - 1, argv + 1));
	if (strcmp(sub, "allow") == 0 || strcmp(sub, "deny") == 0)
		return (cmd_session_allow(argc - 1, argv + 1, sub[0] == 'a'));
	return (cmd_usage_error(&cmd_session_entry, "unknown session command "
	    "\"%s\": new, ls, exec, cp, snapshot, pause, resume, ttl, allow, "
	    "deny or kill", sub));
}
