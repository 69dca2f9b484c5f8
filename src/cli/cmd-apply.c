/* cmd-apply.c: "moat apply ID [PATH]...": copies what an overlay run or
 * session changed onto the host workspace, all of it or the paths named.
 * Nothing is written when a host entry it would touch changed since the run
 * or session started (a conflict, each one named), nor ever to a protected
 * path; symbolic links are made as links and never followed. The apply is
 * recorded in the audit log as a row of its own ("moat apply RUN_ID" or
 * "moat apply SESSION") with an event per path (review_apply). Front end. */
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
	.summary = "copy what an overlay run or session changed onto the workspace",
	.options = (const char *const[]){
		"ID\tthe run: its ID in moat audit list, or a prefix of its run id; or a session on an overlay workspace (its id or name), running or ended",
		"PATH\tonly these paths: a file, a directory above it, or a glob pattern",
		"--dry-run\tsay what would be applied, and any conflict, without writing",
		"--db FILE\tthe audit log (default $MOAT_DB or $XDG_DATA_HOME/moat/audit.db)",
		"-h, --help\tthis text",
		"exit status\t0 applied (or nothing to apply); 125 for a conflict, a bad call or a failed write",
		NULL,
	},
	.exec = cmd_apply_exec,
};

/* What names the layer on moat's command line: the session's id, or the
 * run's audit ID; owned. */
static char *
cmd_review_id(const struct review *rv)
{
	if (rv->session != NULL)
		return (xstrdup(rv->session));
	return (xprintf("%lld", (long long)rv->row));
}

static void
apply_done(const struct review_change *c, void *arg)
{
	(void)arg;
	printf("applied  %-8s  ", review_kind_name(c->kind));
	cmd_print_path(stdout, c->path);
	fputc('\n', stdout);
}

static int
cmd_apply_exec(int argc, char **argv)
{
	struct review		 rv;
	autofree bool		*sel = NULL;
	autofree char		*label = NULL, *id = NULL;
	const char		*db = NULL;
	bool			 dry = false, live;
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
		return (cmd_usage_error(&cmd_apply_entry, "which run or session? give "
		    "its ID (moat audit list, moat session ls)"));
	if (cmd_review_open(db, argv[i], "apply", &rv, &live) == -1)
		goto out;
	if (rv.note[0] != '\0')
		fprintf(stderr, "moat: note: %s\n", rv.note);
	label = review_label(&rv);
	id = cmd_review_id(&rv);
	filters = argv + i + 1;
	nf = (size_t)(argc - i - 1);
	for (size_t k = 0; k < nf; k++) {
		bool	hit = false;

		for (size_t j = 0; j < rv.n && !hit; j++)
			hit = review_match(rv.v[j].path, filters + k, 1);
		if (!hit) {
			fprintf(stderr, "moat apply: %s changed nothing at \"", label);
			cmd_print_path(stderr, filters[k]);
			fprintf(stderr, "\" (see moat diff %s --name-only)\n", id);
			goto out;
		}
	}
	sel = xcalloc(rv.n + 1, sizeof *sel);
	for (size_t k = 0; k < rv.n; k++) {
		sel[k] = review_match(rv.v[k].path, filters, nf);
		if (sel[k] && rv.v[k].protected) {
			fputs("not applied (protected)  ", stderr);
			cmd_print_path(stderr, rv.v[k].path);
			fputc('\n', stderr);
		}
	}
	rc = cmd_apply_selected(db, &rv, sel, filters, nf, dry);
out:
	review_release(&rv);
	return (rc);
}

/* Applies the selected changes of a loaded review, after the conflict check;
 * moat apply and moat run --review. Returns the exit status. */
int
cmd_apply_selected(const char *db, const struct review *rv, const bool *sel,
    char **filters, size_t nf, bool dry)
{
	struct merr		 e = { 0 };
	struct review_apply_opts o;
	struct review_result	 res = { 0 };
	autofree char		*label = review_label(rv), *id = cmd_review_id(rv);
	size_t			 nsel = 0, nprot = 0;
	int			 rc = EXIT_MOAT;

	for (size_t k = 0; k < rv->n; k++)
		if (sel[k] && !rv->v[k].protected)
			nsel++;
		else if (sel[k])
			nprot++;
	if (nsel == 0) {
		printf("%s: nothing to apply%s\n", label,
		    nprot > 0 ? " (only protected paths)" : "");
		return (0);
	}
	if (dry) {
		if (review_conflicts(rv, sel, &res.conflicts, &e) == -1) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
		if (res.conflicts == NULL) {
			for (size_t k = 0; k < rv->n; k++)
				if (sel[k] && !rv->v[k].protected) {
					printf("would apply  %-8s  ", review_kind_name(rv->v[k].kind));
					cmd_print_path(stdout, rv->v[k].path);
					fputc('\n', stdout);
				}
			return (0);
		}
	} else {
		memset(&o, 0, sizeof o);
		o.db = db;
		o.source = "cli";
		o.filters = filters;
		o.nfilters = nf;
		o.on_done = apply_done;
		if (review_apply(rv, sel, &o, &res, &e) == 0)
			rc = 0;
		else if (res.conflicts == NULL)
			merr_print(&e);
	}
	if (res.conflicts != NULL) {
		fprintf(stderr, "moat apply: nothing applied: these paths changed in %s "
		    "since %s started, and applying would overwrite that:\n",
		    rv->ws, label);
		for (char *p = res.conflicts, *nl; *p != '\0'; p = nl + 1) {
			nl = strchr(p, '\n');
			*nl = '\0';
			fputs("  ", stderr);
			cmd_print_path(stderr, p);
			fputc('\n', stderr);
		}
		fprintf(stderr, "Look at them with moat diff %s; apply the other paths by "
		    "naming them, or move your edits away and apply again.\n", id);
		review_result_release(&res);
		return (EXIT_MOAT);
	}
	if (res.row != 0)
		printf("%s: %zu change%s applied to %s\n", label, res.applied,
		    res.applied == 1 ? "" : "s", rv->ws);
	review_result_release(&res);
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
	else if (cmd_apply_selected(db, &rv, sel, NULL, 0, false) != 0)
		rc = EXIT_MOAT;
out:
	audit_run_info_release(&ri);
	review_release(&rv);
	return (rc);
}
