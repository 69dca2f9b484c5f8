/* cmd-diff.c: "moat diff ID [PATH]...": what an overlay run changed in its
 * workspace, read from the layer it kept: a summary of paths and kinds of
 * change, then a unified diff of each text file. The diff itself is diff(1)
 * (-u), as dpkg's conffile prompt and etckeeper use it: the same text a user
 * already reads, and nothing of moat's own to get wrong. Binary files (a NUL
 * byte in the first 8000, git's test) are named, not dumped. Colour only on
 * a terminal, never with NO_COLOR. Front end. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cmd.h"
#include "profile/profile.h"
#include "review/review.h"
#include "session/session.h"

static int	cmd_diff_exec(int, char **);

const struct cmd_entry cmd_diff_entry = {
	.name = "diff",
	.usage = "diff [--stat | --name-only | --json] [--db FILE] ID [PATH]...",
	.summary = "show what an overlay run changed in its workspace, before moat apply",
	.options = (const char *const[]){
		"ID\tthe run: its ID in moat audit list, or a prefix of its run id; or a session on an overlay workspace (its id or name), running or ended",
		"PATH\tonly these paths: a file, a directory above it, or a glob pattern",
		"--stat\tone line per changed path with its lines added and removed",
		"--name-only\tthe changed paths, one per line",
		"--json\tthe changes as JSON (path, kind, modes, sizes, target)",
		"--db FILE\tthe audit log (default $MOAT_DB or $XDG_DATA_HOME/moat/audit.db)",
		"-h, --help\tthis text",
		"exit status\t0, also when nothing changed; 125 for a bad call or no kept layer",
		NULL,
	},
	.exec = cmd_diff_exec,
};

/* A path with control bytes and backslashes escaped. */
void
cmd_print_path(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char	c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static bool
file_is_binary(const char *path)
{
	autofd int	fd = -1;
	char		buf[8000];
	ssize_t		n;

	if (*path == '\0' || (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (false);
	if ((n = read(fd, buf, sizeof buf)) <= 0)
		return (false);
	return (memchr(buf, '\0', (size_t)n) != NULL);
}

static void
fmt_size(off_t n, char *buf, size_t len)
{
	if (n < 10 * 1024)
		snprintf(buf, len, "%lld B", (long long)n);
	else if (n < 10 * 1024 * 1024)
		snprintf(buf, len, "%lld KiB", (long long)(n / 1024));
	else
		snprintf(buf, len, "%lld MiB", (long long)(n / (1024 * 1024)));
}

/* "a.txt 6 B -> 14 B" and so on, after the kind. */
void
cmd_diff_summary_line(FILE *f, const struct review_change *c, bool colour)
{
	char		 a[32], b[32];
	const char	*col = "";

	if (colour)
		col = c->kind == REVIEW_ADDED ? "\033[32m" : c->kind == REVIEW_DELETED ?
		    "\033[31m" : "\033[33m";
	fprintf(f, "  %s%-8s%s  ", col, review_kind_name(c->kind), colour ? "\033[m" : "");
	cmd_print_path(f, c->path);
	if (S_ISDIR(c->new_mode) || (c->kind == REVIEW_DELETED && S_ISDIR(c->old_mode)))
		fputc('/', f);
	fmt_size(c->old_size, a, sizeof a);
	fmt_size(c->new_size, b, sizeof b);
	switch (c->kind) {
	case REVIEW_ADDED:
		if (S_ISREG(c->new_mode))
			fprintf(f, "  %s", b);
		break;
	case REVIEW_DELETED:
		if (S_ISREG(c->old_mode))
			fprintf(f, "  %s", a);
		break;
	case REVIEW_MODIFIED:
		if (S_ISREG(c->old_mode) && S_ISREG(c->new_mode))
			fprintf(f, "  %s -> %s", a, b);
		else
			fprintf(f, "  (was a %s)", S_ISDIR(c->old_mode) ? "directory" :
			    S_ISLNK(c->old_mode) ? "symbolic link" : "file");
		if ((c->old_mode & 07777) != (c->new_mode & 07777) &&
		    S_ISREG(c->old_mode) && S_ISREG(c->new_mode))
			fprintf(f, ", mode %04o -> %04o", (unsigned)(c->old_mode & 07777),
			    (unsigned)(c->new_mode & 07777));
		break;
	case REVIEW_MODE:
		fprintf(f, "  %04o -> %04o", (unsigned)(c->old_mode & 07777),
		    (unsigned)(c->new_mode & 07777));
		break;
	case REVIEW_SYMLINK:
		fputs(" -> ", f);
		cmd_print_path(f, c->target != NULL ? c->target : "");
		if (c->old_mode != 0)
			fputs("  (replaces what was there)", f);
		break;
	}
	if (c->protected)
		fputs("  (protected: never applied)", f);
	fputc('\n', f);
}

/* Runs diff -u on two files; feeds its lines to f, coloured or not, and
 * counts the lines added and removed. Returns -1 when diff cannot run. */
static int
run_diff(const char *old, const char *new, const char *path, FILE *f,
    bool colour, bool quiet, long *plus, long *minus)
{
	autofree char	*la = xprintf("a/%s", path), *lb = xprintf("b/%s", path);
	int		 pfd[2], status;
	pid_t		 pid;
	FILE		*in;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	bool		 head = true;

	*plus = *minus = 0;
	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return (-1);
	if ((pid = fork()) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return (-1);
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		setenv("LC_ALL", "C", 1);
		execlp("diff", "diff", "-u", "--label", *old ? la : "/dev/null",
		    "--label", *new ? lb : "/dev/null", "--",
		    *old ? old : "/dev/null", *new ? new : "/dev/null", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	in = fdopen(pfd[0], "r");
	while ((n = getline(&line, &cap, in)) > 0) {
		const char	*col = NULL;

		if (head && line[0] == '@')
			head = false;
		if (head)
			col = "\033[1m";
		else if (line[0] == '@')
			col = "\033[36m";
		else if (line[0] == '+') {
			col = "\033[32m";
			(*plus)++;
		} else if (line[0] == '-') {
			col = "\033[31m";
			(*minus)++;
		}
		if (quiet)
			continue;
		if (colour && col != NULL) {
			if (line[n - 1] == '\n')
				line[--n] = '\0';
			fprintf(f, "%s%s\033[m\n", col, line);
		} else
			fwrite(line, 1, (size_t)n, f);
	}
	free(line);
	fclose(in);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) > 1)
		return (-1);
	return (0);
}

/* The host's and the layer's side of a change, for diff. */
static void
sides(const struct review *rv, const struct review_change *c, char **old, char **new)
{
	*old = S_ISREG(c->old_mode) ? path_join(rv->ws, c->path) : xstrdup("");
	*new = S_ISREG(c->new_mode) ? review_layer_path(rv, c) : xstrdup("");
}

/* The unified diff of one change, or what is said instead of one. */
int
cmd_diff_show(const struct review *rv, const struct review_change *c, FILE *f,
    bool colour)
{
	autofree char	*old = NULL, *new = NULL;
	long		 plus, minus;

	sides(rv, c, &old, &new);
	if (*old == '\0' && *new == '\0')
		return (0);	/* directories, links, special files: the summary says it */
	if (c->kind == REVIEW_MODE)
		return (0);
	if (file_is_binary(old) || file_is_binary(new)) {
		fputs("Binary file ", f);
		cmd_print_path(f, c->path);
		fputs(" differs\n", f);
		return (0);
	}
	fflush(f);
	if (run_diff(old, new, c->path, f, colour, false, &plus, &minus) == -1) {
		fputs("moat: diff(1) could not compare ", stderr);
		cmd_print_path(stderr, c->path);
		fputs(" (is diffutils installed?)\n", stderr);
		return (-1);
	}
	return (0);
}

static void
json_str(FILE *f, const char *key, const char *v)
{
	autofree char	*q = audit_json_str(v);

	fprintf(f, ", \"%s\": %s", key, q);
}

/* One change as a JSON object, on one line. */
static void
change_json(FILE *f, const struct review_change *c)
{
	mode_t		 m = c->new_mode != 0 ? c->new_mode : c->old_mode;
	autofree char	*path = audit_json_str(c->path);

	fprintf(f, "{\"path\": %s", path);
	json_str(f, "kind", review_kind_name(c->kind));
	json_str(f, "type", S_ISDIR(m) ? "directory" : S_ISLNK(m) ? "symlink" :
	    S_ISREG(m) ? "file" : "special");
	if (c->old_mode != 0)
		fprintf(f, ", \"old_mode\": \"%04o\", \"old_size\": %lld",
		    (unsigned)(c->old_mode & 07777), (long long)c->old_size);
	if (c->new_mode != 0)
		fprintf(f, ", \"new_mode\": \"%04o\", \"new_size\": %lld",
		    (unsigned)(c->new_mode & 07777), (long long)c->new_size);
	if (c->target != NULL)
		json_str(f, "target", c->target);
	fprintf(f, ", \"protected\": %s}", c->protected ? "true" : "false");
}

/* A session's overlay layer: a live one's with the profile it runs with
 * (the same text, or refused), an ended one's with its profile as it reads
 * now (the default's protect entries when it is gone, with a note). */
static int
cmd_review_session(const char *arg, const char *verb, const struct session_info *in,
    bool live, struct review *rv)
{
	struct session_info	 info = *in;
	struct profile		*p = NULL;
	struct merr		 e = { 0 }, pe = { 0 };
	char			 note[sizeof rv->note] = "";
	int			 fd, rc = 0;

	if (live) {
		if ((fd = cmd_session_attach(arg, verb, &info, &p, NULL, NULL)) == -1)
			return (-1);
		close(fd);
	} else if ((p = profile_load(info.profile, &pe)) == NULL) {
		if ((p = profile_load("default", &e)) == NULL) {
			merr_print(&e);
			return (-1);
		}
		snprintf(note, sizeof note, "the session's profile %.200s cannot be "
		    "read (%.200s); the default profile's protect entries are used",
		    info.profile, pe.msg);
	}
	if (live && p->workspace != WS_OVERLAY) {
		cmd_errorf("moat %s: session %s has a %s workspace: what it "
		    "changes is in %s already (an overlay session keeps its changes "
		    "apart)\n", verb, info.id, p->workspace == WS_NONE ? "no" :
		    p->workspace == WS_RO ? "read-only" : "bind", info.workspace[0] ?
		    info.workspace : "the workspace");
		profile_free(p);
		return (-1);
	}
	if (review_open_session(rv, info.id, info.run_id, info.workspace,
	    info.profile, &p->protect, info.created, &e) == -1) {
		cmd_errorf("moat %s: session %s: %s\n", verb, info.id, e.msg);
		rc = -1;
	}
	memcpy(rv->note, note, sizeof note);
	profile_free(p);
	return (rc);
}

int
cmd_review_open(const char *db, const char *arg, const char *verb,
    struct review *rv, bool *live)
{
	struct audit_run_info	 ri;
	struct session_info	 info;
	struct merr		 e;
	int			 fd, rc;
	bool			 found;

	memset(rv, 0, sizeof *rv);
	*live = false;
	if (session_name_valid(arg) && (fd = session_connect(arg, &info, &e)) != -1) {
		close(fd);
		*live = true;
		return (cmd_review_session(arg, verb, &info, true, rv));
	}
	/* An ended session whose layer is kept; else a run. A run's audit ID
	 * is all digits, which a session's id never is. */
	if (strspn(arg, "0123456789") != strlen(arg) &&
	    session_layer_find(arg, &info, &e) == 0)
		return (cmd_review_session(arg, verb, &info, false, rv));
	rc = review_open(db, arg, &ri, rv, &e);
	found = ri.id != 0;
	audit_run_info_release(&ri);
	if (rc == -1 && !found && session_name_valid(arg) &&
	    strspn(arg, "0123456789") != strlen(arg)) {
		cmd_errorf("moat %s: no session %s (running, or ended with its layer "
		    "kept: see moat session ls) and %s\n", verb, arg, e.msg);
		return (-1);
	}
	if (rc == -1) {
		cmd_errorf("moat %s: %s\n", verb, e.msg);
		return (-1);
	}
	return (0);
}

static int
cmd_diff_exec(int argc, char **argv)
{
	struct review		 rv;
	const char		*db = NULL;
	bool			 stat = false, names = false, json = false, colour;
	bool			 live;
	int			 i, rc = 0;
	size_t			 shown = 0;

	{
		const struct cmd_flag	flags[] = {
			{ "--stat", &stat, NULL },
			{ "--name-only", &names, NULL },
			{ "--json", &json, NULL },
			{ "--db", NULL, &db },
			{ NULL, NULL, NULL },
		};

		switch (cmd_flags(&cmd_diff_entry, argc, argv, flags, &argc)) {
		case 1:
			return (0);
		case -1:
			return (EXIT_MOAT);
		}
	}
	i = 0;
	if (stat + names + json > 1)
		return (cmd_usage_error(&cmd_diff_entry, "--stat, --name-only and --json "
		    "exclude one another"));
	if (i == argc)
		return (cmd_usage_error(&cmd_diff_entry, "which run? give its ID "
		    "(moat audit list)"));
	if (cmd_review_open(db, argv[i], "diff", &rv, &live) == -1) {
		review_release(&rv);
		return (EXIT_MOAT);
	}
	if (rv.note[0] != '\0')
		fprintf(stderr, "moat: note: %s\n", rv.note);
	i++;
	colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL && !json;

	if (json) {
		autofree char	*rid = audit_json_str(rv.run_id);
		autofree char	*ws = audit_json_str(rv.ws);
		const char	*sep = "\n  ";

		if (rv.session != NULL) {
			autofree char	*sid = audit_json_str(rv.session);

			printf("{\"session\": %s, \"live\": %s, \"run_id\": %s, "
			    "\"workspace\": %s, \"changes\": [", sid,
			    live ? "true" : "false", rid, ws);
		} else
			printf("{\"id\": %lld, \"run_id\": %s, \"workspace\": %s, "
			    "\"changes\": [", (long long)rv.row, rid, ws);
		for (size_t k = 0; k < rv.n; k++)
			if (review_match(rv.v[k].path, argv + i, (size_t)(argc - i))) {
				fputs(sep, stdout);
				change_json(stdout, &rv.v[k]);
				sep = ",\n  ";
			}
		printf("%s]}\n", *sep == ',' ? "\n" : "");
		goto out;
	}
	for (size_t k = 0; k < rv.n; k++)
		shown += review_match(rv.v[k].path, argv + i, (size_t)(argc - i));
	if (!names) {
		if (rv.session != NULL)
			printf("session %s%s (%s) in ", rv.session, live ? "" : ", ended",
			    rv.run_id);
		else
			printf("run %lld (%s) in ", (long long)rv.row, rv.run_id);
		cmd_print_path(stdout, rv.ws);
		if (shown == 0)
			printf(": no changes%s\n", argc > i ? " under the paths given" : "");
		else
			printf(": %zu change%s\n", shown, shown == 1 ? "" : "s");
	}
	for (size_t k = 0; k < rv.n; k++) {
		const struct review_change *c = &rv.v[k];

		if (!review_match(c->path, argv + i, (size_t)(argc - i)))
			continue;
		if (names) {
			cmd_print_path(stdout, c->path);
			fputc('\n', stdout);
		} else if (stat) {
			autofree char	*old = NULL, *new = NULL;
			long		 plus = 0, minus = 0;

			sides(&rv, c, &old, &new);
			if ((*old || *new) && c->kind != REVIEW_MODE &&
			    !file_is_binary(old) && !file_is_binary(new))
				run_diff(old, new, c->path, stdout, false, true, &plus, &minus);
			printf("  %-8s  ", review_kind_name(c->kind));
			cmd_print_path(stdout, c->path);
			printf(" | +%ld -%ld\n", plus, minus);
		} else
			cmd_diff_summary_line(stdout, c, colour);
	}
	if (!names && !stat && shown > 0) {
		fputc('\n', stdout);
		for (size_t k = 0; k < rv.n; k++)
			if (review_match(rv.v[k].path, argv + i, (size_t)(argc - i)) &&
			    cmd_diff_show(&rv, &rv.v[k], stdout, colour) == -1)
				rc = EXIT_MOAT;
	}
out:
	fflush(stdout);
	review_release(&rv);
	return (rc);
}
