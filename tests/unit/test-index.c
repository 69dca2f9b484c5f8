/* test-index.c: net-allow-index (index.c): pip's and npm's environment
 * variables and config files in their own precedence, URL checks with the
 * file:line or variable named, the refusal of loopback and private index
 * addresses, the key in profiles, and the tool's default with its cache
 * (the real pip and npm when this machine has them). Every config file
 * lives in a temp dir; the environment is cleared of the tools' variables. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "network/index.h"
#include "../tap.h"

static char	D[PATH_MAX];
static struct index_where W;

static void
put(const char *rel, const char *text)
{
	char		 path[PATH_MAX * 2];
	struct merr	 e;
	FILE		*f;
	char		*slash;

	snprintf(path, sizeof path, "%s/%s", D, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir_p(path, 0755, &e) == -1)
		tap_diag("mkdir %s: %s", path, e.msg);
	*slash = '/';
	if ((f = fopen(path, "w")) == NULL) {
		tap_diag("fopen %s: %s", path, strerror(errno));
		return;
	}
	fputs(text, f);
	fclose(f);
}

static void
rm(const char *rel)
{
	char	path[PATH_MAX * 2];

	snprintf(path, sizeof path, "%s/%s", D, rel);
	unlink(path);
}

static char *
at(const char *rel)
{
	return (xprintf("%s/%s", D, rel));
}

/* The variables of both tools and of the places they look. */
static void
env_reset(void)
{
	static const char *const vars[] = {
		"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE",
		"PIP_TRUSTED_HOST", "PIP_FIND_LINKS", "VIRTUAL_ENV", "XDG_CONFIG_DIRS",
		"npm_config_registry", "NPM_CONFIG_REGISTRY", "npm_config_userconfig",
		"NPM_CONFIG_USERCONFIG", "npm_config_globalconfig",
		"NPM_CONFIG_GLOBALCONFIG", "npm_config_prefix", "NPM_CONFIG_PREFIX",
		"MOAT_TEST_TOKEN",
	};
	autofree char	*home = at("home"), *cfg = at("home/.config"),
			*cache = at("cache"), *bin = at("bin");

	for (size_t i = 0; i < nitems(vars); i++)
		unsetenv(vars[i]);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("XDG_CACHE_HOME", cache, 1);
	setenv("PATH", bin, 1);		/* no tools unless a test says so */
}

/* "rule<from>" for each destination, space-separated; "deferred" appended
 * when the tool's default was left for run time; "ERR: message" on error. */
static char *
resolve(const char *tool, unsigned flags)
{
	struct index_result	 r;
	struct merr		 e;
	char			*buf = NULL;
	size_t			 len = 0;
	FILE			*f;

	if (index_resolve(tool, &W, flags, &r, &e) == -1)
		return (xprintf("ERR: %s", e.msg));
	f = open_memstream(&buf, &len);
	for (size_t i = 0; i < r.n; i++)
		fprintf(f, "%s%s<%s>", i > 0 ? " " : "", r.v[i].rule, r.v[i].from);
	if (r.deferred)
		fprintf(f, "%sdeferred", r.n > 0 ? " " : "");
	fclose(f);
	index_result_release(&r);
	return (buf);
}

/* The rules of a resolve() answer, without where they came from. */
static char *
rules_of(const char *s)
{
	char	*out = xstrdup(s), *o = out;
	bool	 in = false;

	for (; *s != '\0'; s++) {
		if (*s == '<')
			in = true;
		else if (*s == '>')
			in = false;
		else if (!in)
			*o++ = *s;
	}
	*o = '\0';
	return (out);
}

/* got2 names the same destinations as got, and says it came from the cache. */
static bool
same_cached(const char *got, const char *got2)
{
	autofree char	*a = rules_of(got), *b = rules_of(got2);

	return (strcmp(a, b) == 0 && strstr(got, ", cached") == NULL &&
	    strstr(got2, ", cached)") != NULL);
}

static bool
is(const char *what, const char *tool, unsigned flags, const char *want)
{
	autofree char	*got = resolve(tool, flags);
	bool		 ok = strcmp(got, want) == 0;

	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("got:  %s\n# want: %s", got, want);
	return (ok);
}

static bool
err_has(const char *what, const char *tool, unsigned flags, const char *a,
    const char *b)
{
	autofree char	*got = resolve(tool, flags);
	bool		 ok = strncmp(got, "ERR: ", 5) == 0 && strstr(got, a) != NULL &&
			    (b == NULL || strstr(got, b) != NULL);

	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("got: %s\n# want an error with \"%s\"%s%s", got, a,
		    b != NULL ? " and " : "", b != NULL ? b : "");
	return (ok);
}

static void
test_pip_env(void)
{
	autofree char	*got = NULL;

	env_reset();
	setenv("PIP_INDEX_URL", "https://user:s3cret@Mirror.Example:8443/simple/", 1);
	is("PIP_INDEX_URL: host and port, lower case, from the variable", "pip", 0,
	    "mirror.example:8443<PIP_INDEX_URL>");
	setenv("PIP_EXTRA_INDEX_URL", "http://a.example/x  https://b.example.:444/y", 1);
	setenv("PIP_TRUSTED_HOST", "trusted.example", 1);
	is("PIP_EXTRA_INDEX_URL is a list; 80/443 by scheme; PIP_TRUSTED_HOST "
	    "allows nothing", "pip", 0, "mirror.example:8443<PIP_INDEX_URL> "
	    "a.example:80<PIP_EXTRA_INDEX_URL> b.example:444<PIP_EXTRA_INDEX_URL>");
	setenv("PIP_INDEX_URL", "http://[2001:db8::5]:3141/simple", 1);
	unsetenv("PIP_EXTRA_INDEX_URL");
	is("an IPv6 index", "pip", 0, "[2001:db8::5]:3141<PIP_INDEX_URL>");

	setenv("PIP_INDEX_URL", "ftp://x:pw@files.example/simple", 1);
	err_has("a non-http URL is refused, naming the variable", "pip", 0,
	    "PIP_INDEX_URL", "is not an http:// or https:// URL");
	free(got);
	got = resolve("pip", 0);
	tap_ok(strstr(got, "pw") == NULL, "the message does not repeat the URL's password");
	setenv("PIP_INDEX_URL", "https://exa mple.org/", 1);
	err_has("a URL list splits on blanks; \"https://exa\" alone is fine but "
	    "\"mple.org/\" is not a URL", "pip", 0, "PIP_INDEX_URL", "mple.org/");
	setenv("PIP_INDEX_URL", "https://ex_a$mple.org/", 1);
	err_has("a host with a '$' is refused", "pip", 0, "PIP_INDEX_URL",
	    "is not a host name");
	setenv("PIP_INDEX_URL", "https://example.org:99999/", 1);
	err_has("a port above 65535 is refused", "pip", 0, "PIP_INDEX_URL", "99999");
	setenv("PIP_INDEX_URL", "https:///simple", 1);
	err_has("a URL without a host is refused", "pip", 0, "PIP_INDEX_URL", "no host");
	setenv("PIP_INDEX_URL", "https://*.example.org/", 1);
	err_has("a wildcard is not a host", "pip", 0, "PIP_INDEX_URL", "not a host name");
}

static void
test_pip_files(void)
{
	autofree char	*etcxdg = at("etc/xdg/pip/pip.conf"), *etc = at("etc/pip.conf"),
			*legacy = at("home/.pip/pip.conf"),
			*user = at("home/.config/pip/pip.conf"), *venv = at("venv"),
			*envf = at("envpip.conf"), *want = NULL;

	env_reset();
	put("etc/xdg/pip/pip.conf", "[global]\nindex-url = https://one.example/simple\n");
	want = xprintf("one.example:443<%s:2>", etcxdg);
	is("/etc/xdg/pip/pip.conf [global] index-url", "pip", 0, want);

	put("etc/pip.conf", "# site-wide\n[global]\ntimeout = 5\nindex-url=https://two.example/\n");
	free(want);
	want = xprintf("two.example:443<%s:4>", etc);
	is("/etc/pip.conf comes after /etc/xdg/pip/pip.conf", "pip", 0, want);

	put("home/.pip/pip.conf", "[global]\nINDEX_URL: https://three.example/\n");
	free(want);
	want = xprintf("three.example:443<%s:2>", legacy);
	is("~/.pip/pip.conf overrides the site-wide files (INDEX_URL: is index-url)",
	    "pip", 0, want);

	put("home/.config/pip/pip.conf", "[global]\n--index-url = https://four.example/\n"
	    "extra-index-url =\n    https://x1.example/\n\n    ; a comment\n"
	    "\thttp://x2.example:8080/\n");
	free(want);
	want = xprintf("four.example:443<%s:2> x1.example:443<%s:3> "
	    "x2.example:8080<%s:3>", user, user, user);
	is("$XDG_CONFIG_HOME/pip/pip.conf: a continued extra-index-url list", "pip",
	    0, want);

	setenv("VIRTUAL_ENV", venv, 1);
	put("venv/pip.conf", "[global]\nindex-url = https://five.example/\n");
	free(want);
	want = xprintf("five.example:443<%s/pip.conf:2> x1.example:443<%s:3> "
	    "x2.example:8080<%s:3>", venv, user, user);
	is("$VIRTUAL_ENV/pip.conf overrides the user's files, key by key", "pip", 0,
	    want);

	setenv("PIP_CONFIG_FILE", envf, 1);
	put("envpip.conf", "[global]\nindex-url = https://six.example/\n");
	free(want);
	want = xprintf("six.example:443<%s:2>", envf);
	is("PIP_CONFIG_FILE comes last, and an existing one hides the user's files",
	    "pip", 0, want);

	put("envpip.conf", "[install]\nno-deps = yes\n");
	put("etc/pip.conf", "[install]\nindex-url = https://seven.example/\n");
	rm("venv/pip.conf");
	free(want);
	want = xprintf("seven.example:443<%s:2>", etc);
	is("[install] beats [global] whatever file each is in", "pip", 0, want);

	setenv("PIP_INDEX_URL", "https://env.example/", 1);
	is("PIP_INDEX_URL beats every file", "pip", 0, "env.example:443<PIP_INDEX_URL>");
	unsetenv("PIP_INDEX_URL");

	put("etc/pip.conf", "[global]\nindex-url = https://ok.example/\n[other]\n"
	    "index-url = https://ignored.example/\n");
	put("envpip.conf", "[global]\nextra-index-url = https://ok2.example/ file:///srv/x\n");
	free(want);
	want = xprintf("%s:2", envf);
	err_has("a bad URL in a file names the file and line", "pip", 0, want,
	    "file:///srv/x");

	setenv("PIP_CONFIG_FILE", "/dev/null", 1);
	err_has("PIP_CONFIG_FILE=/dev/null: no files; no python3 here: refused, "
	    "saying how to set the index", "pip", 0, "no python3", "PIP_INDEX_URL=URL");
	is("... and \"profiles show\" (no tools) defers to run time", "pip",
	    INDEX_NO_TOOLS, "deferred");
	unsetenv("PIP_CONFIG_FILE");
	put("etc/pip.conf", "[global\nindex-url = https://x.example/\n");
	free(want);
	want = xprintf("%s:1", etc);
	err_has("a broken section header names the file and line", "pip", 0, want,
	    "\"]\"");
	put("etc/pip.conf", "");
	put("etc/xdg/pip/pip.conf", "");
	put("home/.pip/pip.conf", "");
	put("home/.config/pip/pip.conf", "");
	put("envpip.conf", "");
	unsetenv("VIRTUAL_ENV");
}

/* A python3 that is not one with pip: it fails, or says nothing useful. */
static void
test_pip_broken(void)
{
	autofree char	*py = at("bin/python3");

	env_reset();
	put("bin/python3", "#!/bin/sh\necho 'No module named pip' >&2\nexit 1\n");
	chmod(py, 0755);
	err_has("a python3 without pip: refused, naming it and PIP_INDEX_URL", "pip",
	    0, "pip could not tell its default", "PIP_INDEX_URL=URL");
	put("bin/python3", "#!/bin/sh\necho relative/index.py; echo https://x.example/; "
	    "echo\n");
	err_has("a python3 whose answer is not usable: refused", "pip", 0,
	    "no usable default index", "PIP_INDEX_URL=URL");
	unlink(py);
}

/* The default from the machine's own pip, then from the cache. */
static void
test_pip_default(void)
{
	char		 line[3][1024] = { "", "", "" }, want[4096];
	autofree char	*got = NULL, *got2 = NULL, *cache = at("cache/moat/index-pip"),
			*text = NULL, *cmd = NULL, *bad = NULL;
	struct merr	 e;
	FILE		*p;
	char		*mt;

	env_reset();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	cmd = xstrdup("cd / && env -i PATH=/usr/local/bin:/usr/bin:/bin python3 -I -c "
	    "'from pip._internal.models.index import PyPI; print(PyPI.url); "
	    "print(PyPI.file_storage_domain)' 2>/dev/null");
	if ((p = popen(cmd, "r")) == NULL || fgets(line[0], sizeof line[0], p) == NULL ||
	    fgets(line[1], sizeof line[1], p) == NULL) {
		if (p != NULL)
			pclose(p);
		tap_ok(1, "pip's default # SKIP no python3 with pip on /usr/bin:/bin");
		return;
	}
	pclose(p);
	line[0][strcspn(line[0], "\n")] = '\0';
	line[1][strcspn(line[1], "\n")] = '\0';
	got = resolve("pip", 0);
	{
		/* The same URL to rule conversion, by hand: scheme://host/. */
		char	*h = strstr(line[0], "://") + 3;

		h[strcspn(h, "/:")] = '\0';
		snprintf(want, sizeof want, "%s:443<pip's default", h);
	}
	tap_ok(strncmp(got, want, strlen(want)) == 0 && strstr(got, line[1]) != NULL,
	    "no index configured: pip's own default index and file host");
	if (strncmp(got, want, strlen(want)) != 0)
		tap_diag("got %s, want it to start with %s", got, want);
	tap_ok(access(cache, F_OK) == 0, "the answer is cached in $XDG_CACHE_HOME/moat");
	got2 = resolve("pip", INDEX_NO_TOOLS);
	tap_ok(same_cached(got, got2), "a second lookup that may not run pip gets "
	    "the same from the cache");
	/* Another mtime for pip's module: the cache no longer holds. */
	if (read_file(cache, &text, NULL, &e) == 0 &&
	    (mt = strstr(text, "module_mtime=")) != NULL) {
		mt[strlen("module_mtime=")] = mt[strlen("module_mtime=")] == '1' ? '2' : '1';
		bad = at("cache/moat/index-pip");
		if ((p = fopen(bad, "w")) != NULL) {
			fputs(text, p);
			fclose(p);
		}
		is("a cache whose module mtime differs is not used", "pip",
		    INDEX_NO_TOOLS, "deferred");
		free(got2);
		got2 = resolve("pip", 0);
		tap_ok(strcmp(got, got2) == 0, "... pip is asked again");
	} else
		tap_ok(0, "the cache file reads back: %s", e.msg);
	put("cache/moat/index-pip", "garbage\n");
	is("a garbled cache is not used", "pip", INDEX_NO_TOOLS, "deferred");
}

static void
test_npm(void)
{
	autofree char	*user = at("home/.npmrc"), *proj = at("ws/.npmrc"),
			*glob = at("etc/npmrc"), *pfx = at("pfx"), *want = NULL,
			*alt = at("alt.npmrc");

	env_reset();
	W.workspace = xstrdup(proj);	/* freed below */
	*strrchr((char *)W.workspace, '/') = '\0';
	put("etc/npmrc", "cafile=/etc/ssl/x.pem\nregistry = https://global.example/\n");
	want = xprintf("global.example:443<%s:2>", glob);
	is("npm: the global npmrc", "npm", 0, want);

	put("home/.npmrc", "; user\nregistry=\"http://user.example:4873/\"\n"
	    "@corp:registry=https://corp.example/npm/\n[section]\n"
	    "registry=https://not-top-level.example/\n");
	free(want);
	want = xprintf("user.example:4873<%s:2> corp.example:443<%s:3>", user, user);
	is("~/.npmrc overrides it; @scope:registry adds a host; keys under a "
	    "[section] are not settings", "npm", 0, want);

	put("ws/.npmrc", "registry=https://${MOAT_TEST_TOKEN}.example/\n");
	free(want);
	want = xprintf("%s:1", proj);
	err_has("${VAR} unset in an npmrc: refused, naming file:line", "npm", 0,
	    want, "${MOAT_TEST_TOKEN}");
	setenv("MOAT_TEST_TOKEN", "project", 1);
	free(want);
	want = xprintf("project.example:443<%s:1> corp.example:443<%s:3>", proj, user);
	is("the project's .npmrc (the workspace's) overrides the user's; ${VAR} "
	    "is expanded", "npm", 0, want);
	{
		struct strv	prot = { 0 };

		/* A run of a profile that does not protect it could have
		 * written it: then it names nothing. */
		strv_add(&prot, ".git/hooks/");
		W.protect = &prot;
		free(want);
		want = xprintf("user.example:4873<%s:2> corp.example:443<%s:3>", user, user);
		is("an unprotected project .npmrc is not read", "npm", 0, want);
		strv_add(&prot, ".npmrc");
		free(want);
		want = xprintf("project.example:443<%s:1> corp.example:443<%s:3>", proj, user);
		is("a protected one is", "npm", 0, want);
		W.protect = NULL;
		strv_clear(&prot);
	}

	setenv("npm_config_registry", "https://env.example:8443/", 1);
	free(want);
	want = xprintf("env.example:8443<npm_config_registry> corp.example:443<%s:3>",
	    user);
	is("npm_config_registry beats every file", "npm", 0, want);
	unsetenv("npm_config_registry");
	setenv("NPM_CONFIG_REGISTRY", "https://ENV2.example/", 1);
	free(want);
	want = xprintf("env2.example:443<NPM_CONFIG_REGISTRY> corp.example:443<%s:3>",
	    user);
	is("NPM_CONFIG_REGISTRY too", "npm", 0, want);
	unsetenv("NPM_CONFIG_REGISTRY");

	rm("ws/.npmrc");
	put("alt.npmrc", "registry=https://alt.example/\n");
	setenv("NPM_CONFIG_USERCONFIG", alt, 1);
	free(want);
	want = xprintf("alt.example:443<%s:1>", alt);
	is("NPM_CONFIG_USERCONFIG replaces ~/.npmrc", "npm", 0, want);
	rm("alt.npmrc");
	setenv("npm_config_prefix", pfx, 1);
	put("pfx/etc/npmrc", "registry = http://prefix.example/\n");
	free(want);
	want = xprintf("prefix.example:80<%s/etc/npmrc:1>", pfx);
	is("npm_config_prefix moves the global npmrc to PREFIX/etc/npmrc", "npm", 0,
	    want);
	put("pfx/etc/npmrc", "registry = git+ssh://prefix.example/\n");
	free(want);
	want = xprintf("%s/etc/npmrc:1", pfx);
	err_has("a bad registry URL names the npmrc and line", "npm", 0, want,
	    "not an http");
	put("pfx/etc/npmrc", "");
	err_has("nothing configured and no npm on $PATH: refused, saying how to "
	    "set the registry", "npm", 0, "no npm on $PATH", "npm_config_registry=URL");
	is("... and deferred when no tool may run", "npm", INDEX_NO_TOOLS, "deferred");
	unsetenv("npm_config_prefix");

	/* Debian's layout: /usr/bin/npm -> ../share/nodejs/npm/bin/npm-cli.js,
	 * whose builtin npmrc says globalconfig=/etc/npmrc. npm never runs
	 * here: the global file names the registry. */
	{
		autofree char	*cli = at("share/npm/bin/npm-cli.js"),
				*link = at("bin/npm"), *g2 = at("etc2/npmrc"),
				*bi = NULL;

		bi = xprintf("globalconfig=%s\nprefix=/nonexistent\n", g2);
		put("share/npm/npmrc", bi);
		put("share/npm/bin/npm-cli.js", "#!/bin/sh\nexit 1\n");
		chmod(cli, 0755);
		if (symlink("../share/npm/bin/npm-cli.js", link) == -1)
			tap_diag("symlink: %s", strerror(errno));
		put("etc2/npmrc", "registry=https://debian-global.example/\n");
		unsetenv("NPM_CONFIG_USERCONFIG");
		rm("home/.npmrc");
		free(want);
		want = xprintf("debian-global.example:443<%s:1>", g2);
		is("npm's builtin npmrc (next to its bin/) moves the global npmrc",
		    "npm", 0, want);
		unlink(link);
	}
	rm("etc/npmrc");
	rm("home/.npmrc");
	free((char *)W.workspace);
	W.workspace = NULL;
}

static void
test_npm_default(void)
{
	char		 line[1024] = "", want[1200];
	autofree char	*got = NULL, *got2 = NULL, *cache = at("cache/moat/index-npm");
	FILE		*p;
	char		*h;

	env_reset();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	if ((p = popen("cd / && env -i PATH=/usr/local/bin:/usr/bin:/bin npm config get "
	    "registry --userconfig=/dev/null --globalconfig=/proc/self/none "
	    "2>/dev/null", "r")) == NULL || fgets(line, sizeof line, p) == NULL ||
	    strstr(line, "://") == NULL) {
		if (p != NULL)
			pclose(p);
		tap_ok(1, "npm's default # SKIP no npm on /usr/bin:/bin");
		return;
	}
	pclose(p);
	h = strstr(line, "://") + 3;
	h[strcspn(h, "/:\n")] = '\0';
	snprintf(want, sizeof want, "%s:443<npm's default", h);
	got = resolve("npm", 0);
	tap_ok(strncmp(got, want, strlen(want)) == 0, "no registry configured: "
	    "npm's own default");
	if (strncmp(got, want, strlen(want)) != 0)
		tap_diag("got %s", got);
	tap_ok(access(cache, F_OK) == 0, "... cached");
	got2 = resolve("npm", INDEX_NO_TOOLS);
	tap_ok(same_cached(got, got2), "... and read back without running npm");
}

/* The proxy's view: the profile's net-allow plus the index hosts, and no
 * index on a loopback or private address unless the profile says so. */
static void
test_extend(void)
{
	struct profile	*p = xcalloc(1, sizeof *p);
	struct strv	 out = { 0 }, notes = { 0 };
	struct merr	 e;
	int		 rc;

	env_reset();
	strv_add(&p->net_allow, "example.org");
	strv_add(&p->net_allow_index, "pip");
	strv_add(&out, "example.org");
	setenv("PIP_INDEX_URL", "https://idx.example/simple", 1);
	rc = index_extend_allow(p, NULL, &out, &notes, &e);
	tap_ok(rc == 0 && out.n == 2 && strcmp(out.v[1], "idx.example:443") == 0 &&
	    notes.n == 1 && strstr(notes.v[0], "PIP_INDEX_URL") != NULL,
	    "the index host is added to the allowlist, with a note for -v");
	strv_clear(&out);
	strv_clear(&notes);

	setenv("PIP_INDEX_URL", "http://127.0.0.1:3141/simple", 1);
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == -1 && strstr(e.msg, "127.0.0.1 is the sandbox's own loopback") != NULL,
	    "an index on a loopback address is refused: inside, that is the sandbox's own");
	strv_clear(&out);
	setenv("PIP_INDEX_URL", "http://localhost:3141/simple", 1);
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == -1 && strstr(e.msg, "localhost:3141") != NULL,
	    "... and on localhost");
	strv_clear(&out);
	setenv("PIP_INDEX_URL", "http://169.254.169.254/", 1);
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == -1, "... and on the metadata address");
	strv_clear(&out);
	setenv("PIP_INDEX_URL", "http://host.moat.internal:3141/simple", 1);
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == -1 && strstr(e.msg, "net-allow-private") != NULL,
	    "... and on the host's loopback by its name inside, without net-allow-private");
	strv_clear(&out);
	strv_add(&p->net_allow, "localhost:3141");
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == 0, "unless the profile allows that destination itself (localhost:3141)");
	strv_clear(&out);
	setenv("PIP_INDEX_URL", "http://localhost:3141/simple", 1);
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == -1 && strstr(e.msg, "name the host's as host.moat.internal:3141") != NULL,
	    "an index on localhost is refused even so: inside, localhost is the sandbox's own");
	strv_clear(&out);
	p->net_allow_private = true;
	setenv("PIP_INDEX_URL", "http://10.1.2.3:3141/simple", 1);
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == 0 && out.n == 1 && strcmp(out.v[0], "10.1.2.3:3141") == 0,
	    "or says net-allow-private = yes");
	strv_clear(&out);
	setenv("PIP_INDEX_URL", "nonsense", 1);
	rc = index_extend_allow(p, NULL, &out, NULL, &e);
	tap_ok(rc == -1 && strstr(e.msg, "PIP_INDEX_URL") != NULL,
	    "a bad URL fails the whole allowlist, naming the variable");
	strv_clear(&out);
	profile_free(p);
}

static void
test_profile(void)
{
	autofree char	*conf = at("t.conf"), *bad = at("bad.conf"), *text = NULL;
	struct profile	*p;
	struct merr	 e;

	env_reset();
	put("t.conf", "net = restricted\nnet-allow-index = pip\nnet-allow-index = npm\n"
	    "net-allow-index -= npm\n");
	p = profile_load_file(conf, &e);
	tap_ok(p != NULL && p->net_allow_index.n == 1 &&
	    strcmp(p->net_allow_index.v[0], "pip") == 0,
	    "net-allow-index is a list (\"-=\" removes)");
	if (p == NULL)
		tap_diag("%s", e.msg);
	setenv("PIP_INDEX_URL", "https://shown.example/", 1);
	if (p != NULL)
		text = profile_format(p, true, index_profile_note);
	tap_ok(text != NULL && strstr(text, "net-allow = shown.example:443") != NULL &&
	    strstr(text, "net-allow-index pip, from PIP_INDEX_URL") != NULL,
	    "\"profiles show\" lists the resolved host and where it came from");
	free(text);
	text = p != NULL ? profile_format(p, false, NULL) : NULL;
	tap_ok(text != NULL && strstr(text, "shown.example") == NULL,
	    "the profile text hashed for the audit log does not depend on the index");
	profile_free(p);
	put("bad.conf", "net-allow-index = yarn\n");
	p = profile_load_file(bad, &e);
	tap_ok(p == NULL && strstr(e.msg, "bad.conf:1: net-allow-index: bad value "
	    "\"yarn\"; valid: pip | npm") != NULL, "an unknown tool is refused with "
	    "file:line");
	if (p != NULL || strstr(e.msg, "valid: pip | npm") == NULL)
		tap_diag("%s", e.msg);
	profile_free(p);
}

int
main(void)
{
	char		 tmpl[] = "/tmp/moat-test-index.XXXXXX";
	autofree char	*rmcmd = NULL;

	if (mkdtemp(tmpl) == NULL) {
		printf("1..0 # SKIP mkdtemp: %s\n", strerror(errno));
		return (0);
	}
	snprintf(D, sizeof D, "%s", tmpl);
	{
		autofree char	*etc = at("etc"), *bin = at("bin");
		struct merr	 e;

		W.etc = xstrdup(etc);
		mkdir_p(bin, 0755, &e);
	}
	test_pip_env();
	test_pip_files();
	test_pip_broken();
	test_pip_default();
	test_npm();
	test_npm_default();
	test_extend();
	test_profile();
	free((char *)W.etc);
	setenv("PATH", "/usr/bin:/bin", 1);
	rmcmd = xprintf("rm -rf '%s'", D);
	if (system(rmcmd) != 0)
		tap_diag("could not remove %s", D);
	return (tap_done());
}
