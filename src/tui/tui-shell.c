/* tui-shell.c: the TUI's session and its built-ins. The session is started
 * here and closed on the way out; each command line is one recorded run in
 * it (rec_run with source "tui"), with the working directory and the
 * variables that cd, export and unset left. Front end (TUI), in the
 * supervisor's process. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/profile.h"
#include "record/record.h"
#include "sandbox/chan.h"
#include "sandbox/spawn.h"
#include "session/session.h"
#include "tui-line.h"
#include "tui-shell.h"

static int
tshell_start(struct tshell *sh, struct profile *p, const char *arg, struct merr *e)
{
	struct session_opts	o;
	int			fd;

	memset(&o, 0, sizeof o);
	o.profile = p;
	o.profile_arg = arg;
	o.workspace = sh->workspace;
	if (session_start(&o, sh->id, e) == -1)
		return (-1);
	if ((fd = session_connect(sh->id, &sh->info, e)) == -1) {
		struct merr	e2;

		/* It did start: do not leave it behind. */
		if ((fd = session_connect(sh->id, NULL, &e2)) >= 0) {
			(void)session_request(fd, MSG_CLOSE, 0, NULL, &e2);
			close(fd);
		}
		return (-1);
	}
	close(fd);
	sh->started = true;
	free(sh->cwd);
	free(sh->oldpwd);
	sh->cwd = xstrdup(sh->info.cwd[0] == '/' ? sh->info.cwd : "/");
	sh->oldpwd = NULL;
	return (0);
}

int
tshell_open(struct tshell *sh, const char *profile, const char *workspace,
    struct merr *e)
{
	memset(sh, 0, sizeof *sh);
	sh->profile_arg = xstrdup(profile != NULL ? profile : "default");
	sh->workspace = workspace != NULL ? xstrdup(workspace) : NULL;
	if ((sh->profile = profile_load(sh->profile_arg, e)) == NULL ||
	    tshell_start(sh, sh->profile, sh->profile_arg, e) == -1) {
		tshell_close(sh);
		return (-1);
	}
	return (0);
}

static void
tshell_end_session(struct tshell *sh)
{
	struct merr	e;
	int		fd;

	if (!sh->started)
		return;
	if ((fd = session_connect(sh->id, NULL, &e)) >= 0) {
		(void)session_request(fd, MSG_CLOSE, 0, NULL, &e);
		close(fd);
	}
	sh->started = false;
}

void
tshell_close(struct tshell *sh)
{
	tshell_end_session(sh);
	profile_free(sh->profile);
	free(sh->profile_arg);
	free(sh->workspace);
	free(sh->cwd);
	free(sh->oldpwd);
	strv_clear(&sh->env);
	memset(sh, 0, sizeof *sh);
}

int
tshell_switch(struct tshell *sh, const char *profile, struct merr *e)
{
	struct profile	*p;
	struct tshell	 old = *sh;
	char		*cwd = sh->cwd != NULL ? xstrdup(sh->cwd) : NULL;

	if ((p = profile_load(profile, e)) == NULL) {
		free(cwd);
		return (-1);
	}
	/* The new one starts before the old one ends: a failure keeps the
	 * old one as it was. */
	sh->cwd = sh->oldpwd = NULL;
	if (tshell_start(sh, p, profile, e) == -1) {
		profile_free(p);
		free(sh->cwd);
		free(sh->oldpwd);
		*sh = old;
		free(cwd);
		return (-1);
	}
	tshell_end_session(&old);
	profile_free(old.profile);
	free(old.profile_arg);
	free(old.cwd);
	free(old.oldpwd);
	sh->profile = p;
	sh->profile_arg = xstrdup(profile);
	/* The same directory in the new sandbox when the workspace is the
	 * same; the session's start otherwise. */
	if (cwd != NULL && old.info.workspace[0] != '\0' &&
	    strcmp(old.info.workspace, sh->info.workspace) == 0) {
		free(sh->cwd);
		sh->cwd = cwd;
	} else
		free(cwd);
	return (0);
}

int
tshell_attach(struct tshell *sh, const char *which, struct merr *e)
{
	struct session_info	 info;
	struct profile		*p;
	struct tshell		 old = *sh;
	int			 fd;

	if ((fd = session_connect(which, &info, e)) == -1)
		return (-1);
	close(fd);
	if ((p = profile_load(info.profile, e)) == NULL)
		return (-1);
	/* Its commands are checked and recorded with the profile it was
	 * started with: one changed since is not that one. */
	if (!session_profile_matches(&info, p)) {
		profile_free(p);
		return (merr_set(e, "profile %s has changed since session %s started; "
		    "its sandbox is still the old one: :new -p %s starts one with the "
		    "profile as it is now", info.profile, info.id, info.profile));
	}
	tshell_end_session(&old);
	profile_free(old.profile);
	free(old.profile_arg);
	free(old.cwd);
	free(old.oldpwd);
	sh->profile = p;
	sh->profile_arg = xstrdup(info.profile);
	sh->info = info;
	snprintf(sh->id, sizeof sh->id, "%s", info.id);
	sh->started = false;	/* not ours: it stays when the shell leaves */
	sh->cwd = xstrdup(info.cwd[0] == '/' ? info.cwd : "/");
	sh->oldpwd = NULL;
	return (0);
}

const char *
tshell_history(char *buf, size_t len)
{
	char		dir[4096];
	struct merr	e;

	xdg_dir("XDG_STATE_HOME", ".local/state", dir, sizeof dir);
	if ((size_t)snprintf(buf, len, "%s/moat", dir) >= len ||
	    mkdir_p(buf, 0700, &e) == -1 ||
	    (size_t)snprintf(buf, len, "%s/moat/history", dir) >= len)
		return (NULL);
	return (buf);
}

/* Is path a directory the sandbox can enter? Asked of the session's init,
 * which opens it in the sandbox's root. */
static int
tshell_check_dir(struct tshell *sh, const char *path, struct merr *e)
{
	struct session_info	info;
	int			sock, fd;

	if ((sock = session_connect(sh->id, &info, e)) == -1)
		return (-1);
	fd = session_open_inside(sock, &info, path, O_RDONLY | O_DIRECTORY, 0, e);
	close(sock);
	if (fd == -1)
		return (-1);
	close(fd);
	return (0);
}

static void
tshell_unset(struct tshell *sh, const char *name)
{
	size_t	len = strlen(name);

	for (size_t i = 0; i < sh->env.n; ) {
		const char	*x = sh->env.v[i];

		if (strncmp(x, name, len) == 0 && (x[len] == '=' || x[len] == '\0')) {
			char	*copy = xstrdup(x);	/* strv_remove frees x */

			strv_remove(&sh->env, copy);
			free(copy);
		} else
			i++;
	}
}

int
tshell_builtin(struct tshell *sh, const char *line, char **msg, bool *err)
{
	struct strv	w = { 0 };
	struct merr	e;
	int		rc = 1;

	*msg = NULL;
	*err = false;
	if (tline_words(line, &w) == -1 || w.n == 0) {
		strv_clear(&w);
		return (0);
	}
	if (strcmp(w.v[0], "cd") == 0) {
		const char	*home = getenv("HOME"), *to;
		char		*path;

		if (w.n > 2) {
			*msg = xstrdup("cd: one directory at most");
			*err = true;
			goto out;
		}
		to = w.n == 1 || strcmp(w.v[1], "~") == 0 ? (home != NULL ? home : "/") :
		    w.v[1];
		if (w.n == 2 && strcmp(w.v[1], "-") == 0) {
			if (sh->oldpwd == NULL) {
				*msg = xstrdup("cd: no previous directory");
				*err = true;
				goto out;
			}
			to = sh->oldpwd;
		}
		if (to[0] == '~' && to[1] == '/' && home != NULL) {
			char	*t = path_join(home, to + 2);

			path = tline_path(sh->cwd, t);
			free(t);
		} else if (to[0] == '~') {
			*msg = xprintf("cd: %s: only ~ and ~/ are read here", to);
			*err = true;
			goto out;
		} else
			path = tline_path(sh->cwd, to);
		if (tshell_check_dir(sh, path, &e) == -1) {
			*msg = xprintf("cd: %s: %s", to, e.msg);
			*err = true;
			free(path);
			goto out;
		}
		free(sh->oldpwd);
		sh->oldpwd = sh->cwd;
		sh->cwd = path;
		if (w.n == 2 && strcmp(w.v[1], "-") == 0)
			*msg = xstrdup(sh->cwd);
		goto out;
	}
	if (strcmp(w.v[0], "export") == 0 || strcmp(w.v[0], "unset") == 0) {
		bool	exp = w.v[0][0] == 'e';

		if (w.n == 1) {
			/* What is exported, one per line. */
			size_t	len = 1;
			char	*s;

			for (size_t i = 0; i < sh->env.n; i++)
				len += strlen(sh->env.v[i]) + 8;
			s = xmalloc(len);
			s[0] = '\0';
			for (size_t i = 0; i < sh->env.n; i++) {
				strcat(s, i > 0 ? "\n" : "");
				strcat(s, exp ? "export " : "");
				strcat(s, sh->env.v[i]);
			}
			if (!exp) {
				free(s);
				s = xstrdup("unset: which variable?");
				*err = true;
			}
			*msg = s[0] != '\0' ? s : (free(s), NULL);
			goto out;
		}
		for (size_t i = 1; i < w.n; i++) {
			const char	*eq = strchr(w.v[i], '=');
			size_t		 nl = eq != NULL ? (size_t)(eq - w.v[i]) : strlen(w.v[i]);

			if (!env_name_valid(w.v[i], nl) || (!exp && eq != NULL)) {
				*msg = xprintf("%s: \"%.*s\" is not a variable name",
				    w.v[0], (int)nl, w.v[i]);
				*err = true;
				goto out;
			}
		}
		for (size_t i = 1; i < w.n; i++) {
			char	*name = xstrdup(w.v[i]);

			if (strchr(name, '=') != NULL)
				*strchr(name, '=') = '\0';
			tshell_unset(sh, name);
			if (exp)
				strv_add(&sh->env, w.v[i]);
			free(name);
		}
		goto out;
	}
	rc = 0;
out:
	strv_clear(&w);
	return (rc);
}

int
tshell_exec(struct tshell *sh, const char *line, struct run *r,
    struct rec_opts *ro, struct rec_out *out, struct merr *e)
{
	struct session_info	info;
	char			*argv[4];
	int			fd, rc;

	memset(out, 0, sizeof *out);
	out->final_risk = -1;
	if ((fd = session_connect(sh->id, &info, e)) == -1)
		return (-1);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)line;
	argv[3] = NULL;
	r->argv = argv;
	session_run_attach(r, fd, &info);
	r->cwd_path = xstrdup(sh->cwd);
	strv_copy(&r->env_extra, &sh->env);
	ro->source = "tui";
	ro->session = sh->id;
	ro->db = sh->db;
	ro->unlogged_ok = sh->unlogged;
	ro->profile_label = sh->profile_arg;
	sh->ncommands++;
	rc = rec_run(r, sh->profile, ro, out, e);
	close(fd);
	r->argv = NULL;
	return (rc);
}
