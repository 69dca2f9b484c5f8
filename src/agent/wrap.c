/* wrap.c: moat wrap. Picks the agent's profile by its name, finds its
 * install the way the shell would (resolve.c) and binds what the profile
 * hides read-only, then runs it as an audited run (record.c, source
 * "wrap") on a terminal of the sandbox's devpts, relayed raw by spawn.c
 * with the window size and the host terminal restored however it ends, and
 * says in one line what happened. Runs in the supervisor. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record/record.h"
#include "sandbox/mounts.h"
#include "sandbox/resolve.h"
#include "wrap.h"

#define WRAP_ORIGIN	"moat wrap (the agent's install)"

/* What the front end counts for the line at the end. */
struct wrap_ui {
	unsigned long	 net_allowed, net_refused;
	unsigned long	 files;
	unsigned long	 denied;
};

/* Whether the file's own lines say "agent-command = name". */
static bool
wrap_file_names(const char *path, const char *name)
{
	FILE	*f = fopen(path, "re");
	char	 line[512];
	bool	 yes = false;

	if (f == NULL)
		return (false);
	while (!yes && fgets(line, sizeof line, f) != NULL) {
		char	*k, *eq, *v;

		line[strcspn(line, "\n")] = '\0';
		k = str_trim(line);
		eq = strchr(k, '=');

		if (eq == NULL || *k == '#')
			continue;
		*eq = '\0';
		v = str_trim(eq + 1);
		yes = strcmp(str_trim(k), "agent-command") == 0 && strcmp(v, name) == 0;
	}
	fclose(f);
	return (yes);
}

void
wrap_profile_for(const char *argv0, char *buf, size_t len)
{
	const char	*dirs[16], *name = strrchr(argv0, '/');
	char		 dbuf[8192];
	size_t		 n = profile_dirs(dirs, nitems(dirs), dbuf, sizeof dbuf);

	name = name != NULL ? name + 1 : argv0;
	for (size_t i = 0; i < n; i++) {
		struct dirent	**ents = NULL;
		int		  ne = scandir(dirs[i], &ents, NULL, alphasort);
		bool		  hit = false;

		for (int j = 0; j < ne; j++) {
			size_t	l = strlen(ents[j]->d_name);

			if (!hit && l > 5 && strcmp(ents[j]->d_name + l - 5, ".conf") == 0) {
				autofree char	*path = path_join(dirs[i], ents[j]->d_name);

				if (wrap_file_names(path, name)) {
					snprintf(buf, len, "%.*s", (int)(l - 5), ents[j]->d_name);
					hit = true;
				}
			}
			free(ents[j]);
		}
		free(ents);
		if (hit)
			return;
	}
	snprintf(buf, len, "agent");
}

static const char *
wrap_home(void)
{
	const char	*h = getenv("HOME");
	struct passwd	*pw;

	if (h != NULL && h[0] == '/')
		return (h);
	pw = getpwuid(getuid());
	return (pw != NULL ? pw->pw_dir : "/");
}

int
wrap_bind_install(struct profile *p, const char *agent, const char *ws, FILE *out,
    struct merr *e)
{
	static const char	*roles[] = {
		[RS_FOUND] = "found", [RS_LINK] = "link", [RS_FILE] = "file",
		[RS_INTERP] = "interpreter",
	};
	struct run		 probe;
	struct mount_plan	 plan;
	struct resolve		 res;
	char			 cwd[PATH_MAX], real[PATH_MAX];
	const char		*home = wrap_home();
	int			 added = 0;

	if (getcwd(cwd, sizeof cwd) == NULL)
		return (merr_errno(e, "getcwd"));
	if (ws == NULL || realpath(ws, real) == NULL)
		snprintf(real, sizeof real, "%s", ws != NULL ? ws : cwd);
	/* The plan only says what is shown; an overlay's upper dir does not
	 * change that. */
	run_init(&probe);
	probe.profile = p;
	if (mounts_plan(&probe, p->workspace == WS_NONE ? NULL : real, home, "/",
	    &plan, e) == -1) {
		mounts_plan_release(&plan);
		run_release(&probe);
		return (-1);
	}
	resolve_command(agent, getenv("PATH"), cwd, &plan, &res);
	mounts_plan_release(&plan);
	run_release(&probe);
	if (!res.found) {
		resolve_release(&res);
		return (merr_set(e, "%s: not found on your PATH (%s); install it, or "
		    "name it by its path", agent, getenv("PATH") != NULL ?
		    getenv("PATH") : "PATH is not set"));
	}
	for (size_t i = 0; out != NULL && i < res.n; i++) {
		const struct resolve_step	*st = &res.steps[i];

		fprintf(out, "#   %*s%-11s %s%s%s%s\n", st->depth * 2, "", roles[st->role],
		    st->path, st->target != NULL ? " -> " : "",
		    st->target != NULL ? st->target : "",
		    st->shown ? "" : " (hidden by the profile: bound)");
	}
	for (size_t i = 0; i < res.binds.n; i++) {
		if (profile_add(p, "ro-bind", res.binds.v[i], WRAP_ORIGIN, e) == -1) {
			resolve_release(&res);
			return (-1);
		}
		added++;
	}
	resolve_release(&res);
	return (added);
}

static void
wrap_on_event(struct run *r, const struct run_event *ev, void *arg)
{
	struct wrap_ui	*ui = arg;

	switch (ev->kind) {
	case EV_NET_CONN:
		if (ev->verdict != NULL && strcmp(ev->verdict, "refused") == 0)
			ui->net_refused++;
		else if (ev->verdict != NULL && strcmp(ev->verdict, "allowed") == 0)
			ui->net_allowed++;
		break;
	case EV_FILE_CHANGED:
		ui->files++;
		break;
	case EV_SYSCALL_DENIED:
		ui->denied += ev->count > 0 ? ev->count : 1;
		break;
	default:
		break;
	}
	if (r->verbose > 0 || ev->kind == EV_LIMIT_HIT)
		fprintf(stderr, "moat: [%7.3f] %s\n", ev->t, ev->text);
}

static void
wrap_duration(double s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

static void
wrap_bytes(double b, char *buf, size_t len)
{
	const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t		 u = 0;

	if (isnan(b)) {
		snprintf(buf, len, "?");
		return;
	}
	while (b >= 1024 && u + 1 < nitems(units)) {
		b /= 1024;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
}

/* The line at the end: how long, what it did, how risky, which run. */
static void
wrap_summary(const struct run *r, const struct wrap_ui *ui,
    const struct rec_out *out, FILE *f)
{
	char	 dur[32], mem[32], how[64];

	wrap_duration(r->t_end - r->t_start, dur, sizeof dur);
	wrap_bytes(r->summary.mem_peak, mem, sizeof mem);
	if (r->end == END_EXITED)
		snprintf(how, sizeof how, "exit %d", r->exit_code);
	else
		snprintf(how, sizeof how, "%s, status %d", end_reason_name(r->end),
		    r->exit_code);
	fprintf(f, "moat wrap: %s after %s; ", how, dur);
	if (r->profile->exec_trail)
		fprintf(f, "%llu programs; ", (unsigned long long)r->execs);
	fprintf(f, "net %lu allowed, %lu refused", ui->net_allowed, ui->net_refused);
	if (r->profile->workspace == WS_OVERLAY || ui->files > 0)
		fprintf(f, "; %lu files changed", ui->files);
	if (ui->denied > 0)
		fprintf(f, "; %lu calls denied", ui->denied);
	fprintf(f, "; peak memory %s; risk %d; run %s\n", mem,
	    out->final_risk >= 0 ? out->final_risk : out->scored ? out->risk.score : 0,
	    r->id);
}

int
wrap_run(const struct wrap_opts *o, struct profile *p, struct run *r)
{
	struct wrap_ui	 ui;
	struct rec_opts	 ro;
	struct rec_out	 out;
	struct merr	 e;
	int		 rc, status;

	memset(&ui, 0, sizeof ui);
	if (o->review) {
		if (p->workspace == WS_NONE) {
			fprintf(stderr, "moat wrap: --review: profile %s has workspace = "
			    "none: nothing to review\n", p->name);
			return (EXIT_MOAT);
		}
		p->workspace = WS_OVERLAY;
	}
	if ((rc = wrap_bind_install(p, o->argv[0], o->workspace, NULL, &e)) == -1) {
		fprintf(stderr, "moat wrap: %s\n", e.msg);
		return (strstr(e.msg, "not found on your PATH") != NULL ?
		    EXIT_NOTFOUND : EXIT_MOAT);
	}
	if (o->verbose > 0 && rc > 0)
		fprintf(stderr, "moat wrap: %d directories of %s's install bound "
		    "read-only (moat profiles show %s lists them)\n", rc, o->argv[0],
		    p->name);
	r->argv = o->argv;
	r->workspace = o->workspace;
	r->verbose = o->verbose;
	memset(&ro, 0, sizeof ro);
	ro.source = "wrap";
	ro.db = o->db;
	ro.unlogged_ok = p->audit_unlogged;
	ro.on_event = wrap_on_event;
	ro.arg = &ui;
	rc = rec_run(r, p, &ro, &out, &e);
	if (rc == -1) {
		if (out.refused_risk)
			risk_result_print(&out.risk, stderr);
		fprintf(stderr, "moat wrap: %s\n", e.msg);
		status = EXIT_MOAT;
	} else {
		status = r->exit_code;
		if (r->exec_hint != NULL)
			fprintf(stderr, "%s\n", r->exec_hint);
		if (!o->quiet)
			wrap_summary(r, &ui, &out, stderr);
	}
	rec_out_free(&out);
	return (status);
}
