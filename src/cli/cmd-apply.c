/* cmd-apply.c: "moat apply ID [PATH]...": copies what an overlay run changed
 * onto the host workspace, all of it or the paths named. Nothing is written
 * when a host entry it would touch changed since the run started (a conflict,
 * each one named), nor ever to a protected path; symbolic links are made as
 * links and never followed. The apply is recorded in the audit log as a row
 * of its own ("moat apply RUN_ID") with an event per path. Front end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit/audit.h"
#include "base/event.h"
#include "cmd.h"
#include "review/review.h"

static int	cmd_apply_exec(int, char **);

const struct cmd_entry cmd_apply_entry = {
	.name = "apply",
	.usage = "apply [--db FILE] [--dry-run] ID [PATH]...",
	.summary = "copy what an overlay run changed onto the workspace",
	.options = (const char *const[]){
		"ID\tthe run: its ID in moat audit list, or a prefix of its run id",
		"PATH\tonly these paths: a file, a directory above it, or a glob pattern",
		"--dry-run\tsay what would be applied, and any conflict, without writing",
		"--db FILE\tthe audit log (default $MOAT_DB or $XDG_DATA_HOME/moat/audit.db)",
		"-h, --help\tthis text",
		"exit status\t0 applied (or nothing to apply); 125 for a conflict, a bad call or a failed write",
		NULL,
	},
	.exec = cmd_apply_exec,
};

struct apply_ctx {
	struct audit_run	*ar;
	size_t			 n;
	struct timespec		 t0;
};

static void
apply_done(const struct review_change *c, void *arg)
{
	struct apply_ctx	*ax = arg;
	struct run_event	 ev;
	struct timespec		 now;
	autofree char		*text = NULL;
	struct merr		 e = { 0 };

	ax->n++;
	printf("applied  %-8s  ", review_kind_name(c->kind));
	cmd_print_path(stdout, c->path);
	fputc('\n', stdout);
	if (ax->ar == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_FILE_CHANGED;
	ev.t = (double)(now.tv_sec - ax->t0.tv_sec) + (now.tv_nsec - ax->t0.tv_nsec) / 1e9;
	ev.path = c->path;
	ev.change = c->kind == REVIEW_ADDED ? "added" : c->kind == REVIEW_DELETED ?
	    "deleted" : "modified";
	ev.text = text = xprintf("applied %s %s", review_kind_name(c->kind), c->path);
	if (audit_run_event(ax->ar, &ev, &e) == -1)
		merr_print(&e);
}

/* The apply's own audit row: who applied which run's changes where. */
static struct audit_run *
apply_record(struct audit **ap, const char *db, const struct audit_run_info *ri,
    char **argv, struct merr *e)
{
	struct audit_start	 as;
	struct audit_run	*ar;
	struct run_event	 ev;
	autofree char		*note = NULL;

	if ((*ap = audit_open(db, 0, e)) == NULL)
		return (NULL);
	memset(&as, 0, sizeof as);
	as.source = "cli";
	as.profile = ri->profile;
	as.net_mode = "none";
	as.workspace = ri->workspace;
	as.cwd = ri->workspace;
	as.argv = argv;
	as.risk = -1;
	as.output_head = as.output_tail = AUDIT_OUTPUT_NONE;
	if ((ar = audit_run_begin(*ap, &as, e)) == NULL)
		return (NULL);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NOTE;
	ev.text = note = xprintf("apply of run %lld (%s) onto %s", (long long)ri->id,
	    ri->run_id, ri->workspace);
	audit_run_event(ar, &ev, e);
	return (ar);
}

static int
cmd_apply_exec(int argc, char **argv)
{
	struct audit_run_info	 ri;
	struct review		 rv;
	struct merr		 e = { 0 };
	struct audit		*a = NULL;
	struct apply_ctx	 ax = { 0 };
	struct audit_end	 ae;
	struct strv		 rargv = { 0 };
	autofree bool		*sel = NULL;
	autofree char		*conflicts = NULL;
	const char		*db = NULL;
	bool			 dry = false;
	size_t			 nsel = 0, nprot = 0;
	autofree char		**pos = xcalloc((size_t)argc + 1, sizeof *pos);
	int			 npos = 0;
	bool			 dashdash = false;
	int			 i, rc = EXIT_MOAT;
	char			**filters;
	size_t			 nf;

	/* Options may follow the ID; "--" ends them. */
	for (i = 1; i < argc; i++) {
		if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0') {
			pos[npos++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0)
			dashdash = true;
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry = true;
		else if (strcmp(argv[i], "--db") == 0) {
			if (++i == argc)
				return (cmd_usage_error(&cmd_apply_entry, "--db needs a file"));
			db = argv[i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_help(&cmd_apply_entry, stdout);
			return (0);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return (cmd_usage_error(&cmd_apply_entry, "unknown option \"%s\"", argv[i]));
	}
	pos[npos] = NULL;
	argc = npos;
	argv = pos;
	i = 0;
	if (i == argc)
		return (cmd_usage_error(&cmd_apply_entry, "which run? give its ID "
		    "(moat audit list)"));
	if (review_open(db, argv[i], &ri, &rv, &e) == -1) {
		merr_print(&e);
		goto out;
	}
	if (rv.note[0] != '\0')
		fprintf(stderr, "moat: note: %s\n", rv.note);
	filters = argv + i + 1;
	nf = (size_t)(argc - i - 1);
	for (size_t k = 0; k < nf; k++) {
		bool	hit = false;

		for (size_t j = 0; j < rv.n && !hit; j++)
			hit = review_match(rv.v[j].path, filters + k, 1);
		if (!hit) {
			fprintf(stderr, "moat apply: run %lld changed nothing at \"", (long long)ri.id);
			cmd_print_path(stderr, filters[k]);
			fprintf(stderr, "\" (see moat diff %lld --name-only)\n", (long long)ri.id);
			goto out;
		}
	}
	sel = xcalloc(rv.n + 1, sizeof *sel);
	for (size_t k = 0; k < rv.n; k++) {
		sel[k] = review_match(rv.v[k].path, filters, nf);
		if (sel[k] && rv.v[k].protected) {
			nprot++;
			fputs("not applied (protected)  ", stderr);
			cmd_print_path(stderr, rv.v[k].path);
			fputc('\n', stderr);
		} else
			nsel += sel[k];
	}
	if (review_conflicts(&rv, sel, ri.started_at, &conflicts, &e) == -1) {
		merr_print(&e);
		goto out;
	}
	if (conflicts != NULL) {
		fprintf(stderr, "moat apply: nothing applied: these paths changed in %s "
		    "since run %lld started, and applying would overwrite that:\n",
		    ri.workspace, (long long)ri.id);
		for (char *p = conflicts, *nl; *p != '\0'; p = nl + 1) {
			nl = strchr(p, '\n');
			*nl = '\0';
			fputs("  ", stderr);
			cmd_print_path(stderr, p);
			fputc('\n', stderr);
		}
		fprintf(stderr, "Look at them with moat diff %lld; apply the other paths by "
		    "naming them, or move your edits away and apply again.\n", (long long)ri.id);
		goto out;
	}
	if (nsel == 0) {
		printf("run %lld: nothing to apply%s\n", (long long)ri.id,
		    nprot > 0 ? " (only protected paths)" : "");
		rc = 0;
		goto out;
	}
	if (dry) {
		for (size_t k = 0; k < rv.n; k++)
			if (sel[k] && !rv.v[k].protected) {
				printf("would apply  %-8s  ", review_kind_name(rv.v[k].kind));
				cmd_print_path(stdout, rv.v[k].path);
				fputc('\n', stdout);
			}
		rc = 0;
		goto out;
	}
	strv_add(&rargv, "moat");
	strv_add(&rargv, "apply");
	strv_add(&rargv, ri.run_id);
	for (size_t k = 0; k < nf; k++)
		strv_add(&rargv, filters[k]);
	clock_gettime(CLOCK_MONOTONIC, &ax.t0);
	if ((ax.ar = apply_record(&a, db, &ri, rargv.v, &e)) == NULL) {
		merr_print(&e);
		fprintf(stderr, "moat apply: nothing applied: the apply could not be "
		    "recorded in the audit log\n");
		goto out;
	}
	rc = review_apply(&rv, sel, apply_done, &ax, &e) == -1 ? EXIT_MOAT : 0;
	if (rc != 0)
		merr_print(&e);
	memset(&ae, 0, sizeof ae);
	ae.status = AUDIT_DONE;
	ae.end_reason = "exited";
	ae.exit_code = rc;
	ae.cpu_user = ae.cpu_sys = -1;
	ae.peak_memory = ae.peak_pids = -1;
	ae.risk = -1;
	if (audit_run_end(TAKE_PTR(ax.ar), &ae, &e) == -1)
		merr_print(&e);
	printf("run %lld: %zu change%s applied to %s\n", (long long)ri.id, ax.n,
	    ax.n == 1 ? "" : "s", ri.workspace);
out:
	strv_clear(&rargv);
	audit_close(a);
	audit_run_info_release(&ri);
	review_release(&rv);
	return (rc);
}
