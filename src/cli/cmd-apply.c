/* cmd-apply.c: "moat apply ID [PATH]...": copies what an overlay run changed
 * onto the host workspace, all of it or the paths named. Nothing is written
 * when a host entry it would touch changed since the run started (a conflict,
 * each one named), nor ever to a protected path; symbolic links are made as
 * links and never followed. The apply is recorded in the audit log as a row
 * of its own ("moat apply RUN_ID") with an event per path. Front end. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/event.h"
#include "cmd.h"
#include "review/review.h"
#include "sandbox/spawn.h"

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
	autofree bool		*sel = NULL;
	const char		*db = NULL;
	bool			 dry = false;
	size_t			 nprot = 0;
	int			 i, rc = EXIT_MOAT;
	char			**filters;
	size_t			 nf;

	{
		const struct cmd_flag	flags[] = {
			{ "--dry-run", &dry, NULL },
			{ "--db", NULL, &db },
			{ NULL, NULL, NULL },
		};

		switch (cmd_flags(&cmd_apply_entry, argc, argv, flags, &argc)) {
		case 1:
			return (0);
		case -1:
			return (EXIT_MOAT);
		}
	}
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
		}
	}
	rc = cmd_apply_selected(db, &ri, &rv, sel, filters, nf, dry);
out:
	audit_run_info_release(&ri);
	review_release(&rv);
	return (rc);
}

/* Applies the selected changes of a loaded review, after the conflict check;
 * moat apply and moat run --review. Returns the exit status. */
int
cmd_apply_selected(const char *db, const struct audit_run_info *ri,
    const struct review *rv, const bool *sel, char **filters, size_t nf, bool dry)
{
	struct merr		 e = { 0 };
	struct audit		*a = NULL;
	struct apply_ctx	 ax = { 0 };
	struct audit_end	 ae;
	struct strv		 rargv = { 0 };
	autofree char		*conflicts = NULL;
	size_t			 nsel = 0, nprot = 0;
	int			 rc = EXIT_MOAT;

	for (size_t k = 0; k < rv->n; k++)
		if (sel[k] && !rv->v[k].protected)
			nsel++;
		else if (sel[k])
			nprot++;
	if (review_conflicts(rv, sel, ri->started_at, &conflicts, &e) == -1) {
		merr_print(&e);
		goto out;
	}
	if (conflicts != NULL) {
		fprintf(stderr, "moat apply: nothing applied: these paths changed in %s "
		    "since run %lld started, and applying would overwrite that:\n",
		    ri->workspace, (long long)ri->id);
		for (char *p = conflicts, *nl; *p != '\0'; p = nl + 1) {
			nl = strchr(p, '\n');
			*nl = '\0';
			fputs("  ", stderr);
			cmd_print_path(stderr, p);
			fputc('\n', stderr);
		}
		fprintf(stderr, "Look at them with moat diff %lld; apply the other paths by "
		    "naming them, or move your edits away and apply again.\n", (long long)ri->id);
		goto out;
	}
	if (nsel == 0) {
		printf("run %lld: nothing to apply%s\n", (long long)ri->id,
		    nprot > 0 ? " (only protected paths)" : "");
		rc = 0;
		goto out;
	}
	if (dry) {
		for (size_t k = 0; k < rv->n; k++)
			if (sel[k] && !rv->v[k].protected) {
				printf("would apply  %-8s  ", review_kind_name(rv->v[k].kind));
				cmd_print_path(stdout, rv->v[k].path);
				fputc('\n', stdout);
			}
		rc = 0;
		goto out;
	}
	strv_add(&rargv, "moat");
	strv_add(&rargv, "apply");
	strv_add(&rargv, ri->run_id);
	for (size_t k = 0; k < nf; k++)
		strv_add(&rargv, filters[k]);
	clock_gettime(CLOCK_MONOTONIC, &ax.t0);
	if ((ax.ar = apply_record(&a, db, ri, rargv.v, &e)) == NULL) {
		merr_print(&e);
		fprintf(stderr, "moat apply: nothing applied: the apply could not be "
		    "recorded in the audit log\n");
		goto out;
	}
	rc = review_apply(rv, sel, apply_done, &ax, &e) == -1 ? EXIT_MOAT : 0;
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
	printf("run %lld: %zu change%s applied to %s\n", (long long)ri->id, ax.n,
	    ax.n == 1 ? "" : "s", ri->workspace);
out:
	strv_clear(&rargv);
	audit_close(a);
	return (rc);
}

/* moat run --on ID: the run's layers go under the new run's, in its
 * workspace. Fills r->on_run_id, r->on_layers and, without -w,
 * r->workspace (run_id, ws and layers are the caller's to free). */
int
cmd_apply_on(const char *db, const char *arg, struct run *r, char **run_id,
    char **ws, struct strv *layers)
{
	struct audit_run_info	 ri;
	struct audit		*a;
	struct merr		 e = { 0 };
	char			 wsbuf[PATH_MAX];

	if ((a = audit_open(db, AUDIT_READONLY, &e)) == NULL)
		goto fail;
	if (audit_run_find(a, arg, &ri, &e) == -1) {
		audit_close(a);
		goto fail;
	}
	audit_close(a);
	if (ri.workspace == NULL || review_chain(ri.run_id, layers, &e) == -1) {
		if (ri.workspace == NULL)
			merr_set(&e, "run %lld had no workspace: nothing to start on",
			    (long long)ri.id);
		audit_run_info_release(&ri);
		goto fail;
	}
	if (r->workspace != NULL && (realpath(r->workspace, wsbuf) == NULL ||
	    strcmp(wsbuf, ri.workspace) != 0)) {
		merr_set(&e, "--on %s: run %lld worked in %s, not in %s; leave out -w "
		    "to run there", arg, (long long)ri.id, ri.workspace, r->workspace);
		audit_run_info_release(&ri);
		goto fail;
	}
	*run_id = xstrdup(ri.run_id);
	r->on_run_id = *run_id;
	r->on_layers = layers;
	if (r->workspace == NULL)
		r->workspace = *ws = xstrdup(ri.workspace);
	audit_run_info_release(&ri);
	return (0);
fail:
	fprintf(stderr, "moat run: --on %s: %s\n", arg, e.msg);
	return (-1);
}

/* moat run --review: after the run, its changes; on a terminal, a question
 * per path (y apply, n leave, d its diff, a all the rest, q stop), then the
 * apply of those taken. Without a terminal the summary only: the layer is
 * left for moat apply. Returns the run's status, or 125 when an apply
 * failed or was refused. */
int
cmd_apply_review(const char *db, const char *run_id, int status)
{
	struct audit_run_info	 ri;
	struct review		 rv;
	struct merr		 e = { 0 };
	autofree bool		*sel = NULL;
	bool			 tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	bool			 colour = tty && getenv("NO_COLOR") == NULL, all = false;
	size_t			 taken = 0;
	int			 rc = status;

	if (review_open(db, run_id, &ri, &rv, &e) == -1) {
		fprintf(stderr, "moat run --review: %s\n", e.msg);
		rc = EXIT_MOAT;
		goto out;
	}
	fflush(stdout);
	printf("run %lld: %zu change%s in ", (long long)ri.id, rv.n, rv.n == 1 ? "" : "s");
	cmd_print_path(stdout, ri.workspace);
	fputc('\n', stdout);
	for (size_t k = 0; k < rv.n; k++)
		cmd_diff_summary_line(stdout, &rv.v[k], colour);
	if (rv.n == 0)
		goto out;
	if (!tty) {
		printf("Nothing applied. Look with moat diff %lld, take them with moat "
		    "apply %lld [PATH]..., drop them with moat discard %lld.\n",
		    (long long)ri.id, (long long)ri.id, (long long)ri.id);
		goto out;
	}
	sel = xcalloc(rv.n + 1, sizeof *sel);
	/* Keys typed for the command are no answer to these questions. */
	tcflush(STDIN_FILENO, TCIFLUSH);
	for (size_t k = 0; k < rv.n; k++) {
		const struct review_change *c = &rv.v[k];
		char	 line[64];

		if (c->protected)
			continue;
		if (all) {
			sel[k] = true;
			continue;
		}
		for (;;) {
			printf("%s ", review_kind_name(c->kind));
			cmd_print_path(stdout, c->path);
			printf(": apply? [y]es [n]o [d]iff [a]ll [q]uit ");
			fflush(stdout);
			if (fgets(line, sizeof line, stdin) == NULL)
				line[0] = 'q';
			if (line[0] == 'd') {
				cmd_diff_show(&rv, c, stdout, colour);
				continue;
			}
			break;
		}
		if (line[0] == 'q')
			break;
		sel[k] = line[0] == 'y' || line[0] == 'a';
		all = line[0] == 'a';
	}
	for (size_t k = 0; k < rv.n; k++)
		taken += sel[k];
	if (taken == 0)
		printf("Nothing applied; the layer is kept for moat apply %lld.\n",
		    (long long)ri.id);
	else if (cmd_apply_selected(db, &ri, &rv, sel, NULL, 0, false) != 0)
		rc = EXIT_MOAT;
out:
	audit_run_info_release(&ri);
	review_release(&rv);
	return (rc);
}
