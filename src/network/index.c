/* index.c: "net-allow-index = pip | npm". The hosts a package tool would
 * fetch from are read the way the tool reads them: pip from PIP_INDEX_URL /
 * PIP_EXTRA_INDEX_URL, else index-url / extra-index-url in its config files;
 * npm from npm_config_registry, else registry= and @scope:registry= in its
 * npmrc files. When nothing names an index, the installed tool is asked for
 * its default (moat's sources name no index) and the answer is cached under
 * $XDG_CACHE_HOME/moat, keyed on the tool's path and mtime. Runs in the
 * supervisor, on the host, before the proxy builds its allowlist, and in
 * "moat profiles show" (which never runs a tool). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "base/cov.h"
#include "base/event.h"
#include "allow.h"
#include "index.h"

#define INDEX_TOOL_TIMEOUT_MS	15000	/* a cold python or node on a busy machine */
#define INDEX_TOOL_OUT_MAX	8192
#define INDEX_FILE_MAX		(1 << 20)

/* What pip is asked: where its index model lives (the cache key) and the
 * default index with its file host. */
static const char	pip_query[] =
    "import pip._internal.models.index as m; print(m.__file__); "
    "print(m.PyPI.url); print(m.PyPI.file_storage_domain)";

void
index_result_release(struct index_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].rule);
		free(r->v[i].from);
	}
	free(r->v);
	memset(r, 0, sizeof *r);
}

static void
result_add(struct index_result *r, const char *rule, const char *from)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].rule, rule) == 0)
			return;
	r->v = xreallocarray(r->v, r->n + 1, sizeof *r->v);
	r->v[r->n].rule = xstrdup(rule);
	r->v[r->n].from = xstrdup(from);
	r->n++;
}

/* SCHEME://[USER[:PASS]@]HOST[:PORT][/PATH][?Q][#F] with scheme http or
 * https, to a net-allow rule "HOST:PORT" (80 or 443 by default). The
 * credentials are dropped, never copied anywhere. */
static int
url_rule(const char *url, char **rule, struct merr *e)
{
	const char		*rest, *end, *at = NULL, *hp;
	autofree char		*hostport = NULL;
	char			*host, *portstr = NULL, *t;
	unsigned long long	 port;
	unsigned char		 buf[16];
	struct net_rule	 ar;
	struct merr		 d;
	bool			 v6 = false;
	autofree char		*shown = NULL;

	/* Messages show the URL without its credentials. */
	{
		const char	*sep = strstr(url, "://"), *a = NULL, *c;

		if (sep != NULL)
			for (c = sep + 3; *c != '\0' && strchr("/?#", *c) == NULL; c++)
				if (*c == '@')
					a = c;
		shown = a != NULL ? xprintf("%.*s***%s", (int)(sep + 3 - url), url, a) :
		    xstrdup(url);
		url = shown;
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		rest = url + 8;
		port = 443;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		rest = url + 7;
		port = 80;
	} else
		return (merr_set(e, "\"%s\" is not an http:// or https:// URL", url));
	end = rest + strcspn(rest, "/?#");
	for (const char *c = rest; c < end; c++)	/* the last '@' ends the credentials */
		if (*c == '@')
			at = c;
	hp = at != NULL ? at + 1 : rest;
	hostport = xstrndup(hp, (size_t)(end - hp));
	host = hostport;
	if (host[0] == '[') {
		if ((t = strchr(host, ']')) == NULL)
			return (merr_set(e, "\"%s\": missing \"]\"", url));
		*t++ = '\0';
		host++;
		if (*t == ':')
			portstr = t + 1;
		else if (*t != '\0')
			return (merr_set(e, "\"%s\": expected \":PORT\" after \"]\"", url));
		if (inet_pton(AF_INET6, host, buf) != 1)
			return (merr_set(e, "\"%s\": \"%s\" is not an IPv6 address", url, host));
		v6 = true;
	} else if ((t = strchr(host, ':')) != NULL) {
		*t = '\0';
		portstr = t + 1;
	}
	if (portstr != NULL && portstr[0] != '\0' &&
	    (parse_uint(portstr, 65535, &port) == -1 || port == 0))
		return (merr_set(e, "\"%s\": port \"%s\" is not 1-65535", url, portstr));
	if (host[0] == '\0')
		return (merr_set(e, "\"%s\" has no host", url));
	for (t = host; *t != '\0'; t++) {
		if (!v6 && !isalnum((unsigned char)*t) && *t != '.' && *t != '-' &&
		    *t != '_')
			return (merr_set(e, "\"%s\": \"%s\" is not a host name", url, host));
		*t = (char)tolower((unsigned char)*t);
	}
	if (!v6 && host[strlen(host) - 1] == '.')	/* "host." is "host" */
		host[strlen(host) - 1] = '\0';
	*rule = v6 ? xprintf("[%s]:%llu", host, port) : xprintf("%s:%llu", host, port);
	/* The rule must mean to the allowlist what the URL says. */
	if (net_rule_parse(*rule, &ar, &d) == -1) {
		free(*rule);
		*rule = NULL;
		return (merr_set(e, "\"%s\": %s", url, d.msg));
	}
	net_rule_release(&ar);
	return (0);
}

/* Adds every URL of a whitespace-separated list; from names the source. */
static int
add_urls(struct index_result *r, const char *list, const char *from, struct merr *e)
{
	autofree char	*s = xstrdup(list);
	char		*tok, *save = NULL;

	for (tok = strtok_r(s, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		autofree char	*rule = NULL;

		if (url_rule(tok, &rule, e) == -1) {
			merr_prefix(e, "%s", from);
			return (-1);
		}
		result_add(r, rule, from);
	}
	return (0);
}

/* "Not there" is not an error: the tools skip a missing config file. */
static int
read_config(const char *path, char **buf, struct merr *e)
{
	struct stat	st;
	struct merr	d;

	*buf = NULL;
	if (stat(path, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (0);
		return (merr_errno(e, "%s", path));
	}
	if (!S_ISREG(st.st_mode))
		return (merr_set(e, "%s: not a regular file", path));
	if (st.st_size > INDEX_FILE_MAX)
		return (merr_set(e, "%s: larger than %d bytes", path, INDEX_FILE_MAX));
	if (read_file(path, buf, NULL, &d) == -1) {
		errno = d.err;
		return (merr_errno(e, "%s", path));
	}
	return (0);
}

/* ---- pip ---------------------------------------------------------------- */

/* A value a tool would use, and where it was written. */
struct index_value {
	char	*value;		/* owned */
	char	*from;		/* owned; "FILE:LINE" */
};

/* [section] x key: 0 index-url, 1 extra-index-url; sections 0 global,
 * 1 install. */
struct pip_conf {
	struct index_value	v[2][2];
};

static void
pip_conf_release(struct pip_conf *c)
{
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 2; k++) {
			free(c->v[s][k].value);
			free(c->v[s][k].from);
		}
}

/* configparser as pip uses it: "[section]", "key = value" or "key: value",
 * '#' and ';' comment lines, indented lines continuing a value; keys are
 * case-insensitive, '_' is '-' and a leading "--" is dropped. A later file
 * overrides an earlier one. */
static int
pip_conf_read(struct pip_conf *c, const char *path, struct merr *e)
{
	autofree char	*buf = NULL;
	char		*line, *next;
	int		 lineno = 0, section = -1;
	struct index_value *cur = NULL;

	if (read_config(path, &buf, e) == -1)
		return (-1);
	if (buf == NULL)
		return (0);
	for (line = buf; line != NULL; line = next) {
		char	*t, *key, *val, *sep;
		size_t	 ks;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		if ((line[0] == ' ' || line[0] == '\t') && cur != NULL) {
			t = str_trim(line);
			if (*t != '\0' && *t != '#' && *t != ';') {
				char	*joined = xprintf("%s %s", cur->value, t);

				free(cur->value);
				cur->value = joined;
			}
			continue;
		}
		t = str_trim(line);
		if (*t == '\0' || *t == '#' || *t == ';')
			continue;
		cur = NULL;
		if (*t == '[') {
			char	*close = strchr(t, ']');

			if (close == NULL)
				return (merr_set(e, "%s:%d: a section header without \"]\"",
				    path, lineno));
			*close = '\0';
			section = strcmp(t + 1, "global") == 0 ? 0 :
			    strcmp(t + 1, "install") == 0 ? 1 : -1;
			continue;
		}
		ks = strcspn(t, "=:");
		if (t[ks] == '\0')
			continue;	/* configparser would refuse the file; pip too */
		sep = t + ks;
		*sep = '\0';
		key = str_trim(t);
		val = str_trim(sep + 1);
		while (key[0] == '-' && key[1] == '-')
			key += 2;
		for (char *k = key; *k != '\0'; k++)
			*k = *k == '_' ? '-' : (char)tolower((unsigned char)*k);
		if (section < 0)
			continue;
		if (strcmp(key, "index-url") == 0)
			cur = &c->v[section][0];
		else if (strcmp(key, "extra-index-url") == 0)
			cur = &c->v[section][1];
		else
			continue;
		free(cur->value);
		free(cur->from);
		cur->value = xstrdup(val);
		cur->from = xprintf("%s:%d", path, lineno);
	}
	return (0);
}

/* May a config file be read? Outside the workspace, yes; inside, only when
 * a protected path (read-only in every run of the profile) covers it. */
static bool
where_trusts(const struct index_where *w, const char *path)
{
	const char	*rel;

	if (w == NULL || w->protect == NULL || w->workspace == NULL ||
	    !path_is_under(path, w->workspace))
		return (true);
	rel = path + strlen(w->workspace);
	while (*rel == '/')
		rel++;
	for (size_t i = 0; i < w->protect->n; i++) {
		const char	*p = w->protect->v[i];
		size_t		 n = strlen(p);

		if (strcmp(p, rel) == 0 ||
		    (n > 0 && p[n - 1] == '/' && strncmp(p, rel, n) == 0))
			return (true);
	}
	return (false);
}

/* pip's own order (pip/_internal/configuration.py): the site-wide files
 * ($XDG_CONFIG_DIRS, default /etc/xdg, then /etc), the user's (~/.pip, then
 * $XDG_CONFIG_HOME/pip) unless PIP_CONFIG_FILE names a file that exists,
 * the virtualenv's, then PIP_CONFIG_FILE; PIP_CONFIG_FILE=/dev/null means
 * no files at all. */
static int
pip_conf_load(struct pip_conf *c, const struct index_where *w, struct merr *e)
{
	const char	*etc = w != NULL ? w->etc : NULL;
	const char	*cf = getenv("PIP_CONFIG_FILE"), *ev, *home;
	struct strv	 files = { 0 };
	char		 cfg[PATH_MAX];
	int		 rc = 0;

	if (cf != NULL && strcmp(cf, "/dev/null") == 0)
		return (0);
	if ((ev = getenv("XDG_CONFIG_DIRS")) != NULL && ev[0] != '\0' && etc == NULL) {
		autofree char	*dirs = xstrdup(ev);
		char		*d, *save = NULL;

		for (d = strtok_r(dirs, ":", &save); d != NULL;
		    d = strtok_r(NULL, ":", &save))
			if (d[0] == '/')
				strv_take(&files, xprintf("%s/pip/pip.conf", d));
	} else
		strv_take(&files, xprintf("%s/xdg/pip/pip.conf", etc != NULL ? etc : "/etc"));
	strv_take(&files, xprintf("%s/pip.conf", etc != NULL ? etc : "/etc"));
	if (cf == NULL || cf[0] == '\0' || access(cf, F_OK) == -1) {
		if ((home = getenv("HOME")) != NULL && home[0] == '/')
			strv_take(&files, xprintf("%s/.pip/pip.conf", home));
		xdg_dir("XDG_CONFIG_HOME", ".config", cfg, sizeof cfg);
		if (cfg[0] == '/')
			strv_take(&files, xprintf("%s/pip/pip.conf", cfg));
	}
	if ((ev = getenv("VIRTUAL_ENV")) != NULL && ev[0] == '/')
		strv_take(&files, xprintf("%s/pip.conf", ev));
	if (cf != NULL && cf[0] != '\0')
		strv_add(&files, cf);
	for (size_t i = 0; i < files.n && rc == 0; i++)
		if (where_trusts(w, files.v[i]))
			rc = pip_conf_read(c, files.v[i], e);
	strv_clear(&files);
	return (rc);
}

/* ---- running a tool, and its cache -------------------------------------- */

/* The first executable "name" on $PATH; absolute directories only (an
 * empty or relative entry would be the workspace). */
static int
find_on_path(const char *name, char *out, size_t len)
{
	const char	*ev = getenv("PATH");
	autofree char	*path = xstrdup(ev != NULL ? ev : "/usr/local/bin:/usr/bin:/bin");
	char		*d, *save = NULL;
	struct stat	 st;

	for (d = strtok_r(path, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		if ((size_t)snprintf(out, len, "%s/%s", d, name) >= len)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return (0);
	}
	return (-1);
}

/* Runs argv[0] with only PATH in its environment, "/" as its cwd, no
 * shell, stdin and stderr on /dev/null, and a timeout; its stdout goes to
 * out. 0 only when it exits 0. */
static int
run_tool(char *const argv[], char *out, size_t len, struct merr *e)
{
	const char	*ev = getenv("PATH");
	autofree char	*pathvar = xprintf("PATH=%s", ev != NULL ? ev : "/usr/bin:/bin");
	char		*envp[] = { pathvar, "LC_ALL=C", NULL };
	int		 p[2], st = 0;
	size_t		 got = 0;
	double		 deadline = now_mono() + INDEX_TOOL_TIMEOUT_MS / 1000.0;
	bool		 timedout = false;
	pid_t		 pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return (merr_errno(e, "pipe"));
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return (merr_errno(e, "fork"));
	}
	if (pid == 0) {
		sigset_t	none;
		int		nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* The supervisor blocks and ignores signals for its loop. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (nul == -1 || dup2(nul, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(nul, 2) == -1 || chdir("/") == -1) {
			cov_dump();
			_exit(126);
		}
		/* Nothing of the supervisor's (proxy listeners, the audit
		 * database) reaches the tool. */
		close_range(3, ~0U, 0);
		execve(argv[0], argv, envp);
		cov_dump();
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd	pfd = { .fd = p[0], .events = POLLIN };
		double		left = deadline - now_mono();
		ssize_t		n;
		int		r;

		if (left <= 0) {
			timedout = true;
			break;
		}
		if ((r = poll(&pfd, 1, (int)(left * 1000) + 1)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		if (got + 1 >= len) {
			char	junk[512];

			if ((n = read(p[0], junk, sizeof junk)) <= 0)
				break;
			continue;
		}
		if ((n = read(p[0], out + got, len - 1 - got)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(p[0]);
	if (timedout)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (timedout)
		return (merr_set(e, "%s did not answer within %d seconds", argv[0],
		    INDEX_TOOL_TIMEOUT_MS / 1000));
	if (WIFSIGNALED(st))
		return (merr_set(e, "%s died of signal %d", argv[0], WTERMSIG(st)));
	if (WEXITSTATUS(st) == 127)
		return (merr_set(e, "%s could not be executed", argv[0]));
	if (WEXITSTATUS(st) != 0)
		return (merr_set(e, "%s exited with status %d", argv[0], WEXITSTATUS(st)));
	return (0);
}

/* The cache of one tool's default: $XDG_CACHE_HOME/moat/index-TOOL, lines
 * of "key=value". Valid while the tool and the module that answered have
 * the same paths and mtimes. */
struct tool_cache {
	char	tool[PATH_MAX];		/* as found on $PATH */
	char	tool_mtime[48];
	char	module[PATH_MAX];	/* pip's index model; npm's realpath */
	char	module_mtime[48];
	char	url[1024];
	char	files[256];		/* pip's file host, "" for npm */
};

static bool
mtime_of(const char *path, char *buf, size_t len)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		return (false);
	snprintf(buf, len, "%lld.%09ld", (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	return (true);
}

/* $XDG_CACHE_HOME/moat, or NULL when it is not an absolute path. */
static char *
cache_dir(void)
{
	char	dir[PATH_MAX];

	xdg_dir("XDG_CACHE_HOME", ".cache", dir, sizeof dir);
	if (dir[0] != '/')
		return (NULL);
	return (xprintf("%s/moat", dir));
}

static char *
cache_path(const char *tool)
{
	autofree char	*dir = cache_dir();

	return (dir == NULL ? NULL : xprintf("%s/index-%s", dir, tool));
}

/* A cache names hosts the sandbox may reach: it is read only when it and
 * its directory are the user's and writable by no one else (open_owned),
 * as the seccomp cache is; anything else asks the tool again. */
static bool
cache_read(const char *tool, struct tool_cache *c)
{
	autofree char	*dir = cache_dir(), *path = cache_path(tool);
	char		 buf[4 * PATH_MAX], *line, *next, mt[48];
	autofd int	 fd = -1;
	ssize_t		 n;

	memset(c, 0, sizeof *c);
	if (dir == NULL || path == NULL || (fd = open_owned(dir, path)) == -1)
		return (false);
	if ((n = read(fd, buf, sizeof buf - 1)) <= 0)
		return (false);
	buf[n] = '\0';
	for (line = buf; line != NULL; line = next) {
		char	*eq;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq++ = '\0';
#define CF(f)	if (strcmp(line, #f) == 0) snprintf(c->f, sizeof c->f, "%s", eq)
		CF(tool);
		CF(tool_mtime);
		CF(module);
		CF(module_mtime);
		CF(url);
		CF(files);
#undef CF
	}
	if (c->tool[0] == '\0' || c->module[0] == '\0' || c->url[0] == '\0')
		return (false);
	if (!mtime_of(c->tool, mt, sizeof mt) || strcmp(mt, c->tool_mtime) != 0)
		return (false);
	if (!mtime_of(c->module, mt, sizeof mt) || strcmp(mt, c->module_mtime) != 0)
		return (false);
	return (true);
}

/* Best effort: a run that cannot write its cache only pays again. */
static void
cache_write(const char *tool, const struct tool_cache *c)
{
	autofree char	*path = cache_path(tool), *dir = cache_dir(), *text = NULL;

	if (path == NULL || dir == NULL)
		return;
	text = xprintf("tool=%s\ntool_mtime=%s\nmodule=%s\nmodule_mtime=%s\n"
	    "url=%s\nfiles=%s\n", c->tool, c->tool_mtime, c->module,
	    c->module_mtime, c->url, c->files);
	cache_store(dir, path, text, strlen(text));
}

/* Tool output lines: no control characters, not empty. */
static bool
line_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return (false);
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			return (false);
	return (true);
}

/* pip's default index and file host, from the cache or from pip. */
enum tool_answer { TOOL_CACHED, TOOL_RAN, TOOL_DEFERRED };

/* Where a tool's default comes from: the cache while it still names this
 * tool (and module, when given), else the tool itself, run once with argv
 * into out; never run under INDEX_NO_TOOLS (moat profiles show). -1: the
 * tool could not run, and d says why. */
static int
tool_ask(const char *name, const char *tool, const char *module,
    char *const argv[], unsigned flags, struct tool_cache *c, char *out,
    size_t len, struct merr *d)
{
	if (cache_read(name, c) && strcmp(c->tool, tool) == 0 &&
	    (module == NULL || strcmp(c->module, module) == 0))
		return (TOOL_CACHED);
	if (flags & INDEX_NO_TOOLS)
		return (TOOL_DEFERRED);
	if (run_tool(argv, out, len, d) == -1)
		return (-1);
	return (TOOL_RAN);
}

static int
pip_default(struct index_result *r, unsigned flags, struct merr *e)
{
	struct tool_cache	 c;
	char			 py[PATH_MAX], out[INDEX_TOOL_OUT_MAX];
	char			*argv[] = { py, "-I", "-c", (char *)pip_query, NULL };
	char			*l1, *l2, *l3, *save = NULL;
	autofree char		*from = NULL, *rule = NULL;
	struct merr		 d;
	int			 answer;

	if (find_on_path("python3", py, sizeof py) == -1) {
		if (flags & INDEX_NO_TOOLS) {
			r->deferred = true;
			return (0);
		}
		return (merr_set(e, "net-allow-index = pip: no index is configured "
		    "and there is no python3 on $PATH to ask pip for its default; "
		    "set PIP_INDEX_URL=URL (or index-url in pip.conf) to name the index"));
	}
	answer = tool_ask("pip", py, NULL, argv, flags, &c, out, sizeof out, &d);
	if (answer == TOOL_DEFERRED) {
		r->deferred = true;
		return (0);
	}
	if (answer == -1)
		return (merr_set(e, "net-allow-index = pip: no index is "
		    "configured, and pip could not tell its default "
		    "(%s -I -c 'import pip._internal.models.index': %s; is pip "
		    "installed for it?); set PIP_INDEX_URL=URL (or index-url in "
		    "pip.conf) to name the index", py, d.msg));
	if (answer == TOOL_RAN) {
		l1 = strtok_r(out, "\n", &save);
		l2 = strtok_r(NULL, "\n", &save);
		l3 = strtok_r(NULL, "\n", &save);
		memset(&c, 0, sizeof c);
		if (!line_ok(l1) || !line_ok(l2) || !line_ok(l3) || l1[0] != '/' ||
		    strlen(l1) >= sizeof c.module || strlen(l2) >= sizeof c.url ||
		    strlen(l3) >= sizeof c.files || !mtime_of(l1, c.module_mtime,
		    sizeof c.module_mtime) || !mtime_of(py, c.tool_mtime,
		    sizeof c.tool_mtime))
			return (merr_set(e, "net-allow-index = pip: pip (%s) gave "
			    "no usable default index; set PIP_INDEX_URL=URL (or "
			    "index-url in pip.conf) to name the index", py));
		snprintf(c.tool, sizeof c.tool, "%s", py);
		snprintf(c.module, sizeof c.module, "%s", l1);
		snprintf(c.url, sizeof c.url, "%s", l2);
		snprintf(c.files, sizeof c.files, "%s", l3);
		cache_write("pip", &c);
	}
	from = xprintf("pip's default (asked %s%s)", py,
	    answer == TOOL_CACHED ? ", cached" : "");
	if (add_urls(r, c.url, from, e) == -1)
		return (-1);
	/* The file host has no scheme: pip fetches the files over https. */
	rule = xprintf("https://%s/", c.files);
	return (add_urls(r, rule, from, e));
}

static int
pip_resolve(const struct index_where *w, unsigned flags, struct index_result *r,
    struct merr *e)
{
	struct pip_conf	 c = { 0 };
	const char	*idx = getenv("PIP_INDEX_URL"), *extra = getenv("PIP_EXTRA_INDEX_URL");
	int		 rc = -1;

	/* PIP_TRUSTED_HOST only turns TLS checks off for a host; it is no
	 * reason to reach it. */
	if (pip_conf_load(&c, w, e) == -1)
		goto out;
	if (idx != NULL && idx[0] != '\0') {
		if (add_urls(r, idx, "PIP_INDEX_URL", e) == -1)
			goto out;
	} else if (c.v[1][0].value != NULL || c.v[0][0].value != NULL) {
		const struct index_value	*v = c.v[1][0].value != NULL ? &c.v[1][0] : &c.v[0][0];

		if (add_urls(r, v->value, v->from, e) == -1)
			goto out;
	} else if (pip_default(r, flags, e) == -1)
		goto out;
	if (extra != NULL && extra[0] != '\0') {
		if (add_urls(r, extra, "PIP_EXTRA_INDEX_URL", e) == -1)
			goto out;
	} else if (c.v[1][1].value != NULL || c.v[0][1].value != NULL) {
		const struct index_value	*v = c.v[1][1].value != NULL ? &c.v[1][1] : &c.v[0][1];

		if (add_urls(r, v->value, v->from, e) == -1)
			goto out;
	}
	rc = 0;
out:
	pip_conf_release(&c);
	return (rc);
}

/* ---- npm ---------------------------------------------------------------- */

struct npm_conf {
	struct index_value	 registry;	/* the last file that set it wins */
	struct index_value	 globalconfig;
	struct index_value	 prefix;
	struct index_value	*scoped;	/* owned; "@scope" in from's place */
	char			**scope;	/* owned; the scope of scoped[i] */
	size_t			 nscoped;
};

static void
npm_conf_release(struct npm_conf *c)
{
	free(c->registry.value);
	free(c->registry.from);
	free(c->globalconfig.value);
	free(c->globalconfig.from);
	free(c->prefix.value);
	free(c->prefix.from);
	for (size_t i = 0; i < c->nscoped; i++) {
		free(c->scoped[i].value);
		free(c->scoped[i].from);
		free(c->scope[i]);
	}
	free(c->scoped);
	free(c->scope);
}

static void
value_set(struct index_value *v, const char *value, const char *from)
{
	free(v->value);
	free(v->from);
	v->value = xstrdup(value);
	v->from = xstrdup(from);
}

/* npm's "${NAME}" in npmrc values; "${NAME?}" may be unset. */
static int
npm_expand(const char *in, char **out, const char *from, struct merr *e)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	if (f == NULL)
		return (merr_errno(e, "open_memstream"));
	for (const char *c = in; *c != '\0'; c++) {
		const char	*close;

		if (c[0] == '\\' && c[1] == '$' && c[2] == '{') {
			fputc('$', f);
			c++;
			continue;
		}
		if (c[0] != '$' || c[1] != '{' || (close = strchr(c, '}')) == NULL) {
			fputc(*c, f);
			continue;
		}
		{
			autofree char	*name = xstrndup(c + 2, (size_t)(close - c - 2));
			size_t		 n = strlen(name);
			bool		 opt = n > 0 && name[n - 1] == '?';
			const char	*v;

			if (opt)
				name[n - 1] = '\0';
			if ((v = getenv(name)) == NULL && !opt) {
				fclose(f);
				free(buf);
				return (merr_set(e, "%s: ${%s} is not set", from, name));
			}
			fputs(v != NULL ? v : "", f);
		}
		c = close;
	}
	if (fclose(f) != 0) {
		free(buf);
		return (merr_set(e, "%s: out of memory", from));
	}
	*out = buf;
	return (0);
}

/* ini as npm reads it: top-level "key = value" lines (keys under a
 * "[section]" are not settings), ';' and '#' comments, quoted values. */
static int
npm_conf_read(struct npm_conf *c, const char *path, struct merr *e)
{
	autofree char	*buf = NULL;
	char		*line, *next;
	int		 lineno = 0;
	bool		 insection = false;

	if (read_config(path, &buf, e) == -1)
		return (-1);
	if (buf == NULL)
		return (0);
	for (line = buf; line != NULL; line = next) {
		autofree char	*from = NULL, *v = NULL;
		char		*t, *key, *val, *eq;
		size_t		 n;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		t = str_trim(line);
		if (*t == '\0' || *t == '#' || *t == ';')
			continue;
		if (*t == '[') {
			insection = true;
			continue;
		}
		if (insection || (eq = strchr(t, '=')) == NULL)
			continue;
		*eq = '\0';
		key = str_trim(t);
		val = str_trim(eq + 1);
		n = strlen(val);
		if (n >= 2 && (val[0] == '"' || val[0] == '\'') && val[n - 1] == val[0]) {
			val[n - 1] = '\0';
			val++;
		}
		from = xprintf("%s:%d", path, lineno);
		n = strlen(key);
		if (strcmp(key, "registry") != 0 && strcmp(key, "globalconfig") != 0 &&
		    strcmp(key, "prefix") != 0 && !(key[0] == '@' && n > 10 &&
		    strcmp(key + n - 9, ":registry") == 0))
			continue;
		if (npm_expand(val, &v, from, e) == -1)
			return (-1);
		if (strcmp(key, "registry") == 0)
			value_set(&c->registry, v, from);
		else if (strcmp(key, "globalconfig") == 0)
			value_set(&c->globalconfig, v, from);
		else if (strcmp(key, "prefix") == 0)
			value_set(&c->prefix, v, from);
		else {
			size_t	i;

			key[n - 9] = '\0';
			for (i = 0; i < c->nscoped; i++)
				if (strcmp(c->scope[i], key) == 0)
					break;
			if (i == c->nscoped) {
				c->scoped = xreallocarray(c->scoped, i + 1, sizeof *c->scoped);
				c->scope = xreallocarray(c->scope, i + 1, sizeof *c->scope);
				memset(&c->scoped[i], 0, sizeof c->scoped[i]);
				c->scope[i] = xstrdup(key);
				c->nscoped++;
			}
			value_set(&c->scoped[i], v, from);
		}
	}
	return (0);
}

static const char *
npm_env(const char *lower, const char *upper)
{
	const char	*v = getenv(lower);

	if (v == NULL || v[0] == '\0')
		v = getenv(upper);
	return (v != NULL && v[0] != '\0' ? v : NULL);
}

/* npm's files, lowest first: the builtin npmrc of its installation, the
 * global one (globalconfig, else PREFIX/etc/npmrc, PREFIX being node's
 * installation unless set), the user's (~/.npmrc or
 * npm_config_userconfig), the project's (the workspace's .npmrc). */
static int
npm_conf_load(struct npm_conf *c, const struct index_where *w, struct merr *e)
{
	char		 npm[PATH_MAX], node[PATH_MAX], rp[PATH_MAX], cwd[PATH_MAX];
	const char	*ev, *home;
	autofree char	*builtin = NULL, *user = NULL, *global = NULL, *project = NULL;
	struct npm_conf	 u = { 0 };
	int		 rc = -1;

	if (find_on_path("npm", npm, sizeof npm) == 0 && realpath(npm, rp) != NULL) {
		/* .../npm/bin/npm-cli.js: the package is two levels up. */
		if (path_strip(rp, 2))
			builtin = xprintf("%s/npmrc", rp);
	}
	if (builtin != NULL && npm_conf_read(c, builtin, e) == -1)
		goto out;
	if ((ev = npm_env("npm_config_userconfig", "NPM_CONFIG_USERCONFIG")) != NULL)
		user = xstrdup(ev);
	else if ((home = getenv("HOME")) != NULL && home[0] == '/')
		user = xprintf("%s/.npmrc", home);
	/* The user's file may move the global one: read it first, apply it
	 * after. */
	if (user != NULL && npm_conf_read(&u, user, e) == -1)
		goto out;
	if ((ev = npm_env("npm_config_globalconfig", "NPM_CONFIG_GLOBALCONFIG")) != NULL)
		global = xstrdup(ev);
	else if (u.globalconfig.value != NULL)
		global = xstrdup(u.globalconfig.value);
	else if (c->globalconfig.value != NULL)
		global = xstrdup(c->globalconfig.value);
	else {
		const char	*prefix = npm_env("npm_config_prefix", "NPM_CONFIG_PREFIX");

		if (prefix == NULL && u.prefix.value != NULL)
			prefix = u.prefix.value;
		if (prefix == NULL && c->prefix.value != NULL)
			prefix = c->prefix.value;
		if (prefix != NULL)
			global = xprintf("%s/etc/npmrc", prefix);
		else if (w != NULL && w->etc != NULL)
			global = xprintf("%s/npmrc", w->etc);
		else if (find_on_path("node", node, sizeof node) == 0 &&
		    realpath(node, rp) != NULL) {
			/* Node's default prefix: PREFIX/bin/node. */
			if (path_strip(rp, 2))
				global = xprintf("%s/etc/npmrc", rp);
		}
	}
	if (global != NULL && npm_conf_read(c, global, e) == -1)
		goto out;
	if (user != NULL && npm_conf_read(c, user, e) == -1)
		goto out;
	if (w != NULL && w->workspace != NULL)
		project = xprintf("%s/.npmrc", w->workspace);
	else if (getcwd(cwd, sizeof cwd) != NULL)
		project = xprintf("%s/.npmrc", cwd);
	if (project != NULL && (user == NULL || strcmp(project, user) != 0) &&
	    where_trusts(w, project) && npm_conf_read(c, project, e) == -1)
		goto out;
	rc = 0;
out:
	npm_conf_release(&u);
	return (rc);
}

/* npm's default registry, from the cache or from npm. */
static int
npm_default(struct index_result *r, unsigned flags, struct merr *e)
{
	struct tool_cache	 c;
	char			 npm[PATH_MAX], rp[PATH_MAX], out[INDEX_TOOL_OUT_MAX];
	/* No user or global file (npm refuses /dev/null twice; nothing can
	 * create a file in /proc/self): the answer is npm's own default. */
	char			*argv[] = { npm, "config", "get", "registry",
				    "--userconfig=/dev/null",
				    "--globalconfig=/proc/self/none", NULL };
	char			*l1, *save = NULL;
	autofree char		*from = NULL;
	struct merr		 d;
	int			 answer;

	if (find_on_path("npm", npm, sizeof npm) == -1 || realpath(npm, rp) == NULL) {
		if (flags & INDEX_NO_TOOLS) {
			r->deferred = true;
			return (0);
		}
		return (merr_set(e, "net-allow-index = npm: no registry is configured "
		    "and there is no npm on $PATH to ask for its default; set "
		    "npm_config_registry=URL (or registry=URL in ~/.npmrc) to name "
		    "the registry"));
	}
	answer = tool_ask("npm", npm, rp, argv, flags, &c, out, sizeof out, &d);
	if (answer == TOOL_DEFERRED) {
		r->deferred = true;
		return (0);
	}
	if (answer == -1)
		return (merr_set(e, "net-allow-index = npm: no registry is "
		    "configured, and npm could not tell its default (%s "
		    "config get registry: %s); set npm_config_registry=URL "
		    "(or registry=URL in ~/.npmrc) to name the registry",
		    npm, d.msg));
	if (answer == TOOL_RAN) {
		l1 = strtok_r(out, "\n", &save);
		memset(&c, 0, sizeof c);
		if (!line_ok(l1) || strlen(l1) >= sizeof c.url ||
		    !mtime_of(npm, c.tool_mtime, sizeof c.tool_mtime) ||
		    !mtime_of(rp, c.module_mtime, sizeof c.module_mtime))
			return (merr_set(e, "net-allow-index = npm: npm (%s) gave no "
			    "usable default registry; set npm_config_registry=URL (or "
			    "registry=URL in ~/.npmrc) to name the registry", npm));
		snprintf(c.tool, sizeof c.tool, "%s", npm);
		snprintf(c.module, sizeof c.module, "%s", rp);
		snprintf(c.url, sizeof c.url, "%s", l1);
		cache_write("npm", &c);
	}
	from = xprintf("npm's default (asked %s%s)", npm,
	    answer == TOOL_CACHED ? ", cached" : "");
	return (add_urls(r, c.url, from, e));
}

static int
npm_resolve(const struct index_where *w, unsigned flags, struct index_result *r,
    struct merr *e)
{
	struct npm_conf	 c = { 0 };
	const char	*reg = npm_env("npm_config_registry", "NPM_CONFIG_REGISTRY");
	int		 rc = -1;

	if (npm_conf_load(&c, w, e) == -1)
		goto out;
	if (reg != NULL) {
		if (add_urls(r, reg, getenv("npm_config_registry") != NULL &&
		    getenv("npm_config_registry")[0] != '\0' ? "npm_config_registry" :
		    "NPM_CONFIG_REGISTRY", e) == -1)
			goto out;
	} else if (c.registry.value != NULL) {
		if (add_urls(r, c.registry.value, c.registry.from, e) == -1)
			goto out;
	} else if (npm_default(r, flags, e) == -1)
		goto out;
	for (size_t i = 0; i < c.nscoped; i++)
		if (add_urls(r, c.scoped[i].value, c.scoped[i].from, e) == -1)
			goto out;
	rc = 0;
out:
	npm_conf_release(&c);
	return (rc);
}

/* ---- the profile's view ------------------------------------------------- */

int
index_resolve(const char *tool, const struct index_where *w, unsigned flags,
    struct index_result *r, struct merr *e)
{
	memset(r, 0, sizeof *r);
	if (strcmp(tool, "pip") == 0 && pip_resolve(w, flags, r, e) == 0)
		return (0);
	if (strcmp(tool, "npm") == 0 && npm_resolve(w, flags, r, e) == 0)
		return (0);
	if (!profile_index_tool_valid(tool))
		merr_set(e, "net-allow-index: unknown tool \"%s\" (pip | npm)", tool);
	index_result_release(r);
	return (-1);
}

/* May the sandbox reach this index destination? A loopback, private or
 * link-local address, written as an address or as "localhost", would
 * otherwise pass: the allowlist trusts an address rule of that class and
 * a localhost:PORT rule, and a project's .npmrc is the workspace's to
 * write. Names are checked when they resolve (the rebinding defence). */
static int
index_rule_ok(const struct profile *pr, const struct index_found *f,
    const char *tool, struct merr *e)
{
	struct net_rule	ar;
	struct merr		d;
	bool			local = false;

	/* Inside, localhost is the sandbox's own loopback: the tool there
	 * would never reach the host's through this URL. */
	if (strncmp(f->rule, "localhost:", 10) == 0)
		return (merr_set(e, "net-allow-index = %s: the index %s (from %s) "
		    "names localhost, which inside the sandbox is its own loopback; "
		    "name the host's as " RULE_HOST_LOOPBACK ":%s", tool, f->rule,
		    f->from, f->rule + 10));
	if (pr->net_allow_private || strv_contains(&pr->net_allow, f->rule))
		return (0);
	/* host.moat.internal:PORT is allowed by its usual spelling too. */
	if (strncmp(f->rule, RULE_HOST_LOOPBACK ":", sizeof RULE_HOST_LOOPBACK) == 0) {
		autofree char	*alt = xprintf("localhost:%s", f->rule +
				    sizeof RULE_HOST_LOOPBACK);

		if (strv_contains(&pr->net_allow, alt))
			return (0);
	}
	if (net_rule_parse(f->rule, &ar, &d) == -1)
		return (merr_set(e, "net-allow-index = %s: %s (from %s): %s", tool,
		    f->rule, f->from, d.msg));
	if (ar.kind == RULE_LOCALHOST)
		local = true;
	else if (ar.kind == RULE_ADDR &&
	    allow_classify(ar.family, ar.addr) != ADDR_PUBLIC)
		local = true;
	net_rule_release(&ar);
	if (local)
		return (merr_set(e, "net-allow-index = %s: the index %s (from %s) is "
		    "on a loopback or private address; say net-allow-private = yes, "
		    "or net-allow = %s, in the profile to reach it", tool, f->rule,
		    f->from, f->rule));
	return (0);
}

int
index_extend_allow(const struct profile *pr, const char *workspace,
    struct strv *out, struct strv *notes, struct merr *e)
{
	struct index_where	w = { .etc = NULL, .workspace = workspace,
				      .protect = &pr->protect };

	for (size_t i = 0; i < pr->net_allow_index.n; i++) {
		const char		*tool = pr->net_allow_index.v[i];
		struct index_result	 r;

		if (index_resolve(tool, &w, 0, &r, e) == -1)
			return (-1);
		for (size_t j = 0; j < r.n; j++) {
			if (index_rule_ok(pr, &r.v[j], tool, e) == -1) {
				index_result_release(&r);
				return (-1);
			}
			if (!strv_contains(out, r.v[j].rule))
				strv_add(out, r.v[j].rule);
			if (notes != NULL)
				strv_take(notes, xprintf("net-allow-index = %s: "
				    "allowing %s (from %s)", tool, r.v[j].rule,
				    r.v[j].from));
		}
		index_result_release(&r);
	}
	return (0);
}

int
index_allow_init(struct allow *a, const struct event_sink *events, const char *ws,
    const struct profile *pr, struct merr *e)
{
	struct strv	rules = { 0 }, notes = { 0 };
	int		rc = -1;

	strv_copy(&rules, &pr->net_allow);
	if (index_extend_allow(pr, ws, &rules, &notes, e) == -1)
		goto out;
	for (size_t i = 0; i < notes.n; i++)
		event_printf(events, EV_NOTE, "%s", notes.v[i]);
	/* Proxied mode lets everything through only when nothing is listed. */
	rc = allow_init(a, &rules, &pr->net_resolve, pr->net_allow_private,
	    pr->net == NET_PROXIED && rules.n == 0, e);
out:
	strv_clear(&rules);
	strv_clear(&notes);
	return (rc);
}

char *
index_profile_note(const struct profile *pr, const char *key)
{
	if (strcmp(key, "net-allow-index") != 0)
		return (NULL);
	return (index_describe(pr));
}

char *
index_describe(const struct profile *pr)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	if (pr->net_allow_index.n == 0)
		return (xstrdup(""));
	if ((f = open_memstream(&buf, &len)) == NULL)
		return (xstrdup(""));
	for (size_t i = 0; i < pr->net_allow_index.n; i++) {
		const char		*tool = pr->net_allow_index.v[i];
		struct index_result	 r;
		struct merr		 e;
		int			 n;

		if (index_resolve(tool, NULL, INDEX_NO_TOOLS, &r, &e) == -1) {
			fprintf(f, "#   net-allow-index = %s: error: %s\n", tool, e.msg);
			continue;
		}
		for (size_t j = 0; j < r.n; j++) {
			n = fprintf(f, "#   net-allow = %s", r.v[j].rule);
			fprintf(f, "%*s # net-allow-index %s, from %s\n",
			    n < 40 ? 40 - n : 0, "", tool, r.v[j].from);
		}
		if (r.deferred) {
			n = fprintf(f, "#   net-allow = (%s's default index)", tool);
			fprintf(f, "%*s # net-allow-index %s, resolved at run time "
			    "(asks %s)\n", n < 40 ? 40 - n : 0, "", tool, tool);
		}
		index_result_release(&r);
	}
	if (fclose(f) != 0) {
		free(buf);
		return (xstrdup(""));
	}
	return (buf);
}
