/* test-profile.c: moat-profile(5) parsing: every key type, the built-in
 * defaults, includes (order, overriding, "-=", "!clear"), provenance, the
 * search path, the shipped profiles, and each malformed case with the exact
 * message a user sees. Fixtures: tests/fixtures/profiles. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "profile/profile.h"
#include "../tap.h"

static char	fixdir[PATH_MAX], shipdir[PATH_MAX], tmpdir[PATH_MAX];

static const struct prov *
prov_of(const struct profile *p, const char *key, const char *value)
{
	for (size_t i = 0; i < p->nprov; i++)
		if (strcmp(p->prov[i].key, key) == 0 &&
		    (value == NULL || strcmp(p->prov[i].value, value) == 0))
			return (&p->prov[i]);
	return (NULL);
}

static bool
prov_is(const struct profile *p, const char *key, const char *value,
    const char *file, int line)
{
	const struct prov	*pv = prov_of(p, key, value);

	if (pv == NULL) {
		tap_diag("no provenance for %s %s", key, value ? value : "");
		return (false);
	}
	if (strcmp(pv->at.file, file) != 0 || pv->at.line != line) {
		tap_diag("%s from %s:%d, want %s:%d", key, pv->at.file, pv->at.line,
		    file, line);
		return (false);
	}
	return (true);
}

/* Loads a fixture that must fail; checks the whole message. */
static void
bad(const char *file, const char *want)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p = profile_load_file(file, &e);

	if (!tap_ok(p == NULL && strcmp(e.msg, want) == 0, "%s refused", file)) {
		tap_diag("got:  %s", p == NULL ? e.msg : "(loaded)");
		tap_diag("want: %s", want);
	}
	profile_free(p);
}

/* As bad(), for messages whose tail (a list of keys or dirs) is long. */
static void
bad_prefix(const char *file, const char *want)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p = profile_load_file(file, &e);

	if (!tap_ok(p == NULL && strncmp(e.msg, want, strlen(want)) == 0,
	    "%s refused", file)) {
		tap_diag("got:  %s", p == NULL ? e.msg : "(loaded)");
		tap_diag("want: %s...", want);
	}
	profile_free(p);
}

/* A long list, with repeats and removals: deduplicated through the
 * provenance index, each item once, at its first line, in order. */
static void
test_long_list(void)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p;
	FILE		*f;
	autofree char	*path = path_join(tmpdir, "long.conf");
	size_t		 n = 20000;
	bool		 order = true;

	f = fopen(path, "w");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "protect = .p%zu\n", i);
	fputs("timeout = 5\n", f);		/* a scalar removes its own line */
	for (size_t i = 0; i < n; i += 2)
		fprintf(f, "protect = .p%zu\n", i);	/* repeats: kept once */
	fputs("protect -= .p7\ntimeout = 6\nprotect = .p7\n", f);
	fclose(f);
	p = profile_load_file(path, &e);
	if (!tap_ok(p != NULL, "a profile of %zu list lines loads: %s", 2 * n, e.msg))
		return;
	tap_ok(p->protect.n == n, "each item once (%zu of %zu)", p->protect.n, n);
	for (size_t i = 0, k = 0; i < n && order; i++) {
		char	want[32];

		if (i == 7)
			continue;	/* removed, then added again last */
		snprintf(want, sizeof want, ".p%zu", i);
		order = k < p->protect.n && strcmp(p->protect.v[k++], want) == 0;
	}
	tap_ok(order && strcmp(p->protect.v[n - 1], ".p7") == 0,
	    "in the order of their first lines; one removed and added is last");
	tap_ok(prov_is(p, "protect", ".p4", path, 5),
	    "a repeated item keeps its first line");
	tap_ok(prov_is(p, "protect", ".p7", path, (int)(n + 1 + n / 2 + 3)),
	    "an item added again after -= has its new line");
	tap_ok(p->limits.timeout == 6, "scalars among them: the last wins");
	profile_free(p);
}

static void
test_defaults(void)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p;
	FILE		*f;
	autofree char	*path = path_join(tmpdir, "empty.conf");

	f = fopen(path, "w");
	fputs("# nothing but a comment\n\n   \n", f);
	fclose(f);
	p = profile_load_file(path, &e);
	if (!tap_ok(p != NULL, "an empty profile loads: %s", e.msg))
		return;
	tap_ok(p->workspace == WS_BIND, "default workspace bind");
	tap_ok(p->net == NET_ISOLATED, "default net isolated");
	tap_ok(p->limits.timeout == 3600, "default timeout 1h");
	tap_ok(p->limits.nofile == 1024 && p->limits.nproc == 512,
	    "default nofile 1024, nproc 512");
	tap_ok(p->limits.fsize == 1ULL << 30, "default fsize 1G");
	tap_ok(p->tmp_size == 512ULL << 20, "default tmp-size 512M");
	tap_ok(p->limits.memory == 0 && p->limits.memory_pct == 50 &&
	    p->limits.cpus == 0 && !p->limits.require_cgroups,
	    "default: memory 50%% of RAM, no cpu limit, cgroups optional");
	tap_ok(p->risk_confirm_above == -1 && p->risk_refuse_above == -1,
	    "default risk thresholds off");
	tap_ok(p->net_max_conns == 64 && !p->net_allow_private &&
	    p->net_upstream == NULL, "default net-max-conns 64, no private, no upstream");
	tap_ok(p->hostname != NULL && strcmp(p->hostname, "moat") == 0,
	    "default hostname moat");
	tap_ok(p->nbinds == 0 && p->env_pass.n == 0 && p->protect.n == 0 &&
	    p->nprov == 0, "lists empty, nothing in provenance");
	tap_ok(p->files.n == 1 && strcmp(p->files.v[0], path) == 0,
	    "files lists the one file read");
	profile_free(p);
}

static void
test_all_keys(void)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p = profile_load_file("./all-keys.conf", &e);

	if (!tap_ok(p != NULL, "all-keys.conf loads: %s", e.msg))
		return;
	tap_ok(strcmp(p->description, "all keys") == 0, "string: description");
	tap_ok(p->workspace == WS_OVERLAY, "enum: workspace = overlay");
	tap_ok(p->nbinds == 5, "5 binds (got %zu)", p->nbinds);
	if (p->nbinds == 5) {
		tap_ok(p->binds[0].kind == BIND_RO && !p->binds[0].optional &&
		    strcmp(p->binds[0].src, "/usr/share/doc") == 0 &&
		    strcmp(p->binds[0].dst, "/usr/share/doc") == 0,
		    "ro-bind SRC: dst = src");
		tap_ok(strcmp(p->binds[1].src, "/home/tester/.gitconfig") == 0 &&
		    strcmp(p->binds[1].dst, "/etc/gitconfig") == 0,
		    "ro-bind ~/SRC:DST: ~ is $HOME (got %s)", p->binds[1].src);
		tap_ok(p->binds[2].kind == BIND_RW &&
		    strcmp(p->binds[2].dst, "/data") == 0, "rw-bind SRC:DST");
		tap_ok(p->binds[3].kind == BIND_RO && p->binds[3].optional &&
		    strcmp(p->binds[3].src, "/home/tester/.config/git") == 0,
		    "ro-bind-try is an optional read-only bind");
		tap_ok(p->binds[4].kind == BIND_DEV &&
		    strcmp(p->binds[4].src, "/dev/kvm") == 0, "dev-bind");
	}
	tap_ok(p->hide.n == 2 && strcmp(p->hide.v[1], "/home/tester/.ssh") == 0,
	    "hide, with ~");
	tap_ok(p->ntmpfs == 2 && strcmp(p->tmpfs[0].dst, "/run/x") == 0 &&
	    p->tmpfs[0].size == 64ULL << 20 && p->tmpfs[1].size == 0,
	    "tmpfs PATH:SIZE and PATH (size 0 = tmp-size)");
	tap_ok(p->tmp_size == 256ULL << 20, "bytes: tmp-size = 256M");
	tap_ok(p->protect.n == 2 && strcmp(p->protect.v[0], ".git/hooks/") == 0,
	    "protect keeps the trailing /");
	tap_ok(p->limits.timeout == 90 && p->limits.cpu_time == 120,
	    "seconds: 90s, 2m");
	tap_ok(p->limits.nofile == 256 && p->limits.nproc == 64, "uint: nofile, nproc");
	tap_ok(p->limits.fsize == 10ULL << 20 && p->limits.memory == 2ULL << 30 &&
	    p->limits.memory_swap == 0, "bytes: fsize, memory, memory-swap");
	tap_ok(p->limits.cpus == 1.5, "number: cpus = 1.5");
	tap_ok(p->limits.require_cgroups, "bool: require-cgroups = yes");
	tap_ok(p->seccomp_deny.n == 2 && strcmp(p->seccomp_deny.v[0], "@clock") == 0 &&
	    strcmp(p->seccomp_deny.v[1], "ptrace") == 0, "seccomp-deny @group and syscall");
	tap_ok(p->seccomp_allow.n == 1, "seccomp-allow");
	tap_ok(p->env_pass.n == 2 && strcmp(p->env_pass.v[0], "LC_*") == 0,
	    "env-pass with a prefix wildcard");
	tap_ok(p->env_set.n == 1 && strcmp(p->env_set.v[0], "A=b=c") == 0,
	    "env-set keeps '=' in the value");
	tap_ok(p->net == NET_PROXIED, "enum: net = proxied");
	tap_ok(p->net_allow.n == 7, "7 net-allow forms accepted (got %zu)", p->net_allow.n);
	tap_ok(p->net_resolve.n == 1, "net-resolve");
	tap_ok(p->net_allow_private, "bool: net-allow-private = true");
	tap_ok(strcmp(p->net_upstream, "http://proxy.corp:3128") == 0, "net-upstream");
	tap_ok(p->net_max_conns == 10, "net-max-conns");
	tap_ok(p->risk_confirm_above == 40 && p->risk_refuse_above == 90, "risk thresholds");
	tap_ok(strcmp(p->hostname, "box-1") == 0, "hostname");
	tap_ok(prov_is(p, "hostname", "box-1", "./all-keys.conf", 45),
	    "provenance of a scalar: file:line");
	tap_ok(prov_is(p, "ro-bind", "/home/tester/.gitconfig:/etc/gitconfig",
	    "./all-keys.conf", 5), "provenance of a list item, ~ expanded");
	profile_free(p);
}

static void
test_inheritance(void)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p = profile_load_file("./child.conf", &e);
	autofree char	*base = path_join(fixdir, "base.conf");

	if (!tap_ok(p != NULL, "child.conf loads: %s", e.msg))
		return;
	tap_ok(p->limits.timeout == 600,
	    "an include overrides the lines before it (timeout %g)", p->limits.timeout);
	tap_ok(prov_is(p, "timeout", "10m", base, 3), "timeout comes from base.conf:3");
	tap_ok(strcmp(p->description, "child") == 0 &&
	    prov_is(p, "description", "child", "./child.conf", 4),
	    "a line after the include overrides it");
	tap_ok(p->env_pass.n == 3 && strcmp(p->env_pass.v[0], "PATH") == 0 &&
	    strcmp(p->env_pass.v[1], "TERM") == 0 &&
	    strcmp(p->env_pass.v[2], "LANG") == 0,
	    "env-pass: inherited, -= TZ removed it, LANG appended, PATH not doubled");
	tap_ok(!strv_contains(&p->env_pass, "TZ"), "TZ is gone");
	tap_ok(prov_is(p, "env-pass", "PATH", base, 4),
	    "a repeated item keeps its first origin");
	tap_ok(prov_of(p, "env-pass", "TZ") == NULL, "removed item has no provenance");
	tap_ok(p->nbinds == 1 && strcmp(p->binds[0].src, "/opt/b") == 0,
	    "!clear emptied the inherited ro-bind list");
	tap_ok(p->protect.n == 1, "protect inherited untouched");
	tap_ok(p->files.n == 2 && strcmp(p->files.v[0], "./child.conf") == 0 &&
	    strcmp(p->files.v[1], base) == 0, "files: child, then base");
	tap_ok(strcmp(p->name, "./child.conf") == 0 &&
	    strcmp(p->path, "./child.conf") == 0, "name and path of a file profile");
	profile_free(p);

	p = profile_load_file("./sub/rel.conf", &e);
	tap_ok(p != NULL && p->limits.nofile == 77 && p->limits.timeout == 600,
	    "a relative include resolves against the including file's dir: %s",
	    p == NULL ? e.msg : "");
	tap_ok(p != NULL && p->files.n == 2 &&
	    strcmp(p->files.v[1], "./sub/../base.conf") == 0, "included as ./sub/../base.conf");
	profile_free(p);
}

static void
test_malformed(void)
{
	char		 msg[2048];
	autofree char	*un = path_join(tmpdir, "unreadable.conf");
	FILE		*f;

	bad_prefix("./unknown-key.conf",
	    "profile ./unknown-key.conf:3: unknown key \"nett\" (did you mean \"net\"?); "
	    "valid keys: description include workspace ro-bind ");
	bad("./bad-enum.conf", "profile ./bad-enum.conf:5: workspace: bad value \"rw\"; "
	    "valid: bind | ro | overlay | none");
	bad("./bad-size.conf", "profile ./bad-size.conf:1: tmp-size: bad value \"12Q\"; "
	    "valid: a size above 0, e.g. 512M or 2G");
	bad("./missing-include.conf", "profile ./missing-include.conf:2: include "
	    "\"./nosuch.conf\": ./nosuch.conf does not exist");
	bad_prefix("./missing-name.conf", "profile ./missing-name.conf:1: include "
	    "\"nosuchprofile\": not found (looked for nosuchprofile.conf in ");
	bad("./loop-a.conf", "profile ./loop-b.conf:3: include \"./loop-a.conf\": "
	    "include loop: ./loop-a.conf -> ./loop-b.conf -> ./loop-a.conf");
	bad("./self.conf", "profile ./self.conf:2: include \"./self.conf\": include loop: "
	    "./self.conf -> ./self.conf");
	bad("./selfname.conf", "profile ./selfname.conf:1: include \"selfname\": include "
	    "loop: ./selfname.conf includes itself (and there is no other selfname.conf "
	    "further down the search path)");
	bad("./bad-cidr.conf", "profile ./bad-cidr.conf:3: net-allow: bad value "
	    "\"10.0.0.0/33\": an IPv4 prefix length is 0-32; valid: host[:port], "
	    "*.suffix[:port], IPv4[:port], [IPv6][:port], CIDR[:port] or "
	    "localhost:PORT (port: 1-65535 or *; none: 80 and 443)");
	bad("./bad-remove.conf", "profile ./bad-remove.conf:2: protect -= \".bashrc\": "
	    "not in the list (write it as the line that added it did)");
	bad("./proxied-no-upstream.conf", "profile ./proxied-no-upstream.conf:1: net = "
	    "proxied needs net-upstream (http://HOST:PORT, socks5://HOST:PORT, or env)");
	bad("./bad-syntax.conf", "profile ./bad-syntax.conf:1: expected \"key = value\", "
	    "got \"just some words\"");
	bad("./bad-minus.conf", "profile ./bad-minus.conf:1: timeout: \"-=\" only works "
	    "on lists; set a value with \"timeout = ...\"");
	bad_prefix("./bad-seccomp.conf", "profile ./bad-seccomp.conf:1: seccomp-deny: bad "
	    "value \"@nosuchgroup\": no such group; groups: @mount ");
	bad("./bad-env.conf", "profile ./bad-env.conf:1: env-pass: bad value \"*\": \"*\" "
	    "alone would pass every variable, secrets included; valid: a variable name, "
	    "or a prefix ending in * (e.g. LC_*)");
	bad("./bad-path.conf", "profile ./bad-path.conf:1: ro-bind: bad value "
	    "\"relative/path\": not an absolute path; valid: SRC[:DST], absolute paths "
	    "or ~/...");
	bad("./nosuch.conf", "profile ./nosuch.conf: no such file");
	bad("./sub", "profile ./sub: ./sub is a directory");

	f = fopen(un, "w");
	fputs("timeout = 1\n", f);
	fclose(f);
	chmod(un, 0);
	if (access(un, R_OK) == 0) {
		tap_ok(1, "unreadable file # SKIP the caller (root) reads any file");
	} else {
		snprintf(msg, sizeof msg, "profile %s: cannot read %s: Permission denied",
		    un, un);
		bad(un, msg);
	}
}

/* The one duration grammar, as the command line and profiles read it. */
static void
test_durations(void)
{
	static const struct { const char *in; double want; } good[] = {
		{ "0", 0 }, { "30", 30 }, { "1.5", 1.5 }, { "500ms", 0.5 }, { "90s", 90 },
		{ "2m", 120 }, { "2min", 120 }, { "1h", 3600 }, { "8784h", DURATION_MAX },
		{ "31622400", DURATION_MAX }, { "527040m", DURATION_MAX },
	};
	static const struct { const char *in, *why; } badv[] = {
		{ "1e19", "an exponent is not a duration" },
		{ "1E3", "an exponent is not a duration" },
		{ "1e+3", "an exponent is not a duration" },
		{ "0x10", "hexadecimal is not a duration" },
		{ "8784.001h", "more than 366 days" },
		{ "31622401", "more than 366 days" },
		{ "99999999999999999999999999999999999999", "more than 366 days" },
		{ "-1", "not a duration" }, { "+1", "not a duration" }, { " 1", "not a duration" },
		{ "", "not a duration" }, { "nan", "not a duration" }, { ".5", "not a duration" },
		{ "1.", "not a duration" }, { "1 s", "unknown unit" }, { "1d", "unknown unit" },
		{ "1sec", "unknown unit" }, { "1e", "unknown unit" },
	};
	char	big[400];

	for (size_t i = 0; i < nitems(good); i++) {
		double		 v = -1;
		const char	*why = NULL;

		tap_ok(parse_duration(good[i].in, &v, &why) == 0 && v == good[i].want,
		    "duration \"%s\" = %g s (%g)", good[i].in, good[i].want, v);
	}
	for (size_t i = 0; i < nitems(badv); i++) {
		double		 v = -7;
		const char	*why = "";

		tap_ok(parse_duration(badv[i].in, &v, &why) == -1 && v == -7 &&
		    strcmp(why, badv[i].why) == 0, "duration \"%s\" refused: %s (%s)",
		    badv[i].in, badv[i].why, why);
	}
	memset(big, '9', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	{
		double		 v;
		const char	*why = "";

		tap_ok(parse_duration(big, &v, &why) == -1 &&
		    strcmp(why, "more than 366 days") == 0,
		    "399 digits: more than 366 days, not infinity (%s)", why);
	}
}

/* One line that must be refused, with the detail that says why. */
static void
test_values(void)
{
	static const struct {
		const char	*line, *want;
	} cases[] = {
		{ "net-allow = *", "\"*\" would allow every host" },
		{ "net-allow = localhost", "the host's loopback needs a port" },
		{ "net-allow = example.com:0", "port \"0\" is not 1-65535" },
		{ "net-allow = example.com:70000", "port \"70000\" is not 1-65535" },
		{ "net-allow = 1.2.3", "\"1.2.3\" is an IPv4 address in a short form" },
		{ "net-allow = 300.1.1.1", "\"300.1.1.1\" is not a host name" },
		{ "net-allow = 127.0.0.1:8080", "127.0.0.1 is the sandbox's own loopback" },
		{ "net-allow = ::1", "::1 is the sandbox's own loopback" },
		{ "net-allow = [::1]:5432", "for a port of the host's loopback write localhost:PORT" },
		{ "net-allow = host.moat.internal", "the host's loopback needs a port" },
		{ "net-allow = example.com:http", "port \"http\" is not 1-65535 or *" },
		{ "net-allow = exa_mple..com", "is not a host name" },
		{ "net-allow = 2001:db8::/129", "an IPv6 prefix length is 0-128" },
		{ "net-allow = [2001:db8::1", "missing \"]\"" },
		{ "net-resolve = db.local", "missing \"=\"" },
		{ "net-resolve = db.local=10.0.0.300", "is not an IP address" },
		{ "net-upstream = ftp://x:1", "unknown scheme" },
		{ "net-upstream = http://proxy:99999", "is not 1-65535" },
		{ "env-set = 1X=2", "\"1X\" is not a variable name" },
		{ "env-set = NOEQUALS", "missing \"=\"" },
		{ "env-pass = BAD-NAME", "bad value \"BAD-NAME\"; valid" },
		{ "protect = ../up", "\".\" and \"..\" are not allowed" },
		{ "protect = /abs", "relative to the workspace" },
		{ "ro-bind = /a/../b", "\"..\" is not allowed" },
		{ "ro-bind = /a/", "without the trailing" },
		{ "ro-bind = ~user/x", "only a leading \"~/\" is expanded" },
		{ "ro-bind = /a:/", "cannot bind over the sandbox's root" },
		{ "dev-bind = /etc/passwd", "a dev-bind source is a device under /dev/" },
		{ "tmpfs = /x:0", "size \"0\" is not a size above 0" },
		{ "tmp-size = 0", "must be at least 1" },
		{ "nofile = 2000000", "nofile: bad value \"2000000\"; valid: 0-1048576" },
		{ "nproc = -1", "nproc: bad value \"-1\"" },
		{ "timeout = 10 minutes", "timeout: bad value \"10 minutes\"" },
		{ "timeout = 1e19", "timeout: bad value \"1e19\": an exponent is not a duration" },
		{ "timeout = 1e308h", "an exponent is not a duration" },
		{ "timeout = 0x10", "timeout: bad value \"0x10\": hexadecimal is not a duration" },
		{ "timeout = 367h0", "unknown unit" },
		{ "timeout = 8785h", "timeout: bad value \"8785h\": more than 366 days" },
		{ "cpu-time = 527041m", "more than 366 days" },
		{ "timeout = inf", "timeout: bad value \"inf\": not a duration" },
		{ "timeout = 1.", "not a duration" },
		{ "cpus = lots", "cpus: bad value" },
		{ "memory = 0%", "memory: bad value \"0%\": a share is 1% to 100% of the machine's memory" },
		{ "memory = 101%", "a share is 1% to 100%" },
		{ "memory = 12.5%", "a share is 1% to 100%" },
		{ "memory = -5%", "a share is 1% to 100%" },
		{ "memory = %", "memory: bad value \"%\"; valid: a size" },
		{ "memory = 50 %", "a share is 1% to 100%" },
		{ "memory = 2X", "memory: bad value \"2X\"" },
		{ "require-cgroups = maybe", "valid: yes | no" },
		{ "risk-refuse-above = 101", "valid: 0-100, or off" },
		{ "hostname = -bad", "hostname: bad value" },
		{ "seccomp-allow = notasyscall", "no such system call" },
		{ "workspace =", "workspace: no value; valid: bind | ro | overlay | none" },
		{ "env-pass -= !clear", "write \"env-pass = !clear\"" },
		{ "include -= default", "\"-=\" only works on lists" },
	};
	autofree char	*path = path_join(tmpdir, "value.conf");

	for (size_t i = 0; i < nitems(cases); i++) {
		struct merr	 e = { .msg = "" };
		struct profile	*p;
		FILE		*f = fopen(path, "w");

		fprintf(f, "# refused\n%s\n", cases[i].line);
		fclose(f);
		p = profile_load_file(path, &e);
		if (!tap_ok(p == NULL && strstr(e.msg, ":2: ") != NULL &&
		    strstr(e.msg, cases[i].want) != NULL, "refused: %s", cases[i].line))
			tap_diag("got: %s", p == NULL ? e.msg : "(loaded)");
		profile_free(p);
	}
}

/* memory: a size or a share of RAM; the last line wins either way, and the
 * formatted profile says which. */
static void
test_memory_share(void)
{
	static const struct {
		const char	*text, *shown;
		uint64_t	 bytes;
		unsigned	 pct;
	} cases[] = {
		{ "memory = 25%\n", "memory = 25%", 0, 25 },
		{ "memory = 100%\n", "memory = 100%", 0, 100 },
		{ "memory = 25%\nmemory = 3G\n", "memory = 3G", 3ULL << 30, 0 },
		{ "memory = 3G\nmemory = 10%\n", "memory = 10%", 0, 10 },
		{ "memory = 0\n", "memory = 0", 0, 0 },
	};
	autofree char	*path = path_join(tmpdir, "share.conf");

	for (size_t i = 0; i < nitems(cases); i++) {
		struct merr	 e = { .msg = "" };
		struct profile	*p;
		autofree char	*text = NULL;
		FILE		*f = fopen(path, "w");

		fputs(cases[i].text, f);
		fclose(f);
		if (!tap_ok((p = profile_load_file(path, &e)) != NULL, "loads: %s", e.msg))
			continue;
		text = profile_format(p, false, NULL);
		tap_ok(p->limits.memory == cases[i].bytes &&
		    p->limits.memory_pct == cases[i].pct &&
		    strstr(text, cases[i].shown) != NULL,
		    "%s: %llu bytes, %u%%, shown as %s", cases[i].shown,
		    (unsigned long long)p->limits.memory, p->limits.memory_pct,
		    cases[i].shown);
		profile_free(p);
	}
}

/* The text of a resolved profile is itself a profile that resolves to the
 * same thing; with provenance it says where each value came from. */
static void
test_format(void)
{
	static const char *const files[] = { "./all-keys.conf", "./child.conf" };

	for (size_t i = 0; i < nitems(files); i++) {
		struct merr	 e = { .msg = "" };
		struct profile	*p = profile_load_file(files[i], &e), *q = NULL;
		autofree char	*text = NULL, *again = NULL, *shown = NULL;
		autofree char	*path = path_join(tmpdir, "format.conf");
		FILE		*f;

		if (!tap_ok(p != NULL, "%s loads: %s", files[i], e.msg))
			continue;
		text = profile_format(p, false, NULL);
		shown = profile_format(p, true, NULL);
		f = fopen(path, "w");
		fputs(text, f);
		fclose(f);
		q = profile_load_file(path, &e);
		if (tap_ok(q != NULL, "the formatted %s loads: %s", files[i], e.msg)) {
			again = profile_format(q, false, NULL);
			if (!tap_ok(strcmp(text, again) == 0, "and formats the same"))
				tap_diag("first:\n%s\nthen:\n%s", text, again);
		}
		tap_ok(strstr(text, "# ") == NULL, "no comments without provenance");
		profile_free(p);
		profile_free(q);
		if (i == 1) {
			autofree char	*base = path_join(fixdir, "base.conf");
			autofree char	*want = xprintf("timeout = 10m%*s # from %s:3\n",
			    40 - 13, "", base);

			tap_ok(strstr(shown, want) != NULL, "show: a value with its file:line");
			tap_ok(strstr(shown, "\nmemory = 50%") != NULL &&
			    strstr(shown, "# default\n") != NULL, "show: a default says so");
			tap_ok(strstr(shown, "# dev-bind") != NULL &&
			    strstr(shown, "# default: empty\n") != NULL,
			    "show: an empty list says so");
		}
	}
}

static void
test_search_path(void)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p;
	autofree char	*cfg = xprintf("%s/config", tmpdir);
	autofree char	*user = xprintf("%s/moat/profiles", cfg);
	autofree char	*path = xprintf("%s/default.conf", user);
	autofree char	*dirlist = xprintf("%s:%s", fixdir, shipdir);
	autofree char	*want = NULL;
	const char	*dirs[8];
	char		 buf[8192];
	size_t		 n, idx = 99;
	FILE		*f;

	if (mkdir_p(user, 0755, &e) == -1) {
		tap_ok(0, "mkdir %s: %s", user, e.msg);
		return;
	}
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("MOAT_PROFILE_DIR", dirlist, 1);
	n = profile_dirs(dirs, nitems(dirs), buf, sizeof buf);
	tap_ok(n >= 3 && strcmp(dirs[0], user) == 0 && strcmp(dirs[1], fixdir) == 0 &&
	    strcmp(dirs[2], shipdir) == 0,
	    "dirs: user, then $MOAT_PROFILE_DIR in order (%zu dirs)", n);

	p = profile_load("child", &e);
	tap_ok(p != NULL && strcmp(p->name, "child") == 0 && p->limits.timeout == 600,
	    "a name is found on the search path: %s", p == NULL ? e.msg : "");
	profile_free(p);

	/* A user profile of the same name wins, and can build on the shipped
	 * one by including its own name. */
	f = fopen(path, "w");
	fputs("include = default\ntimeout = 3m\n", f);
	fclose(f);
	tap_ok(profile_find("default", buf, sizeof buf, &idx, &e) == 0 &&
	    strcmp(buf, path) == 0 && idx == 0, "the user's default.conf shadows the shipped one");
	p = profile_load("default", &e);
	tap_ok(p != NULL && p->limits.timeout == 180 &&
	    strv_contains(&p->protect, ".git/hooks/"),
	    "user default includes the shipped default and overrides it: %s",
	    p == NULL ? e.msg : "");
	tap_ok(p != NULL && p->files.n == 2, "two files read");
	profile_free(p);
	unlink(path);

	p = profile_load("nosuch", &e);
	want = xprintf("profile \"nosuch\": not found (looked for nosuch.conf in %s, ",
	    user);
	tap_ok(p == NULL && strncmp(e.msg, want, strlen(want)) == 0,
	    "a missing name names the dirs: %s", e.msg);
	p = profile_load("python.conf", &e);
	tap_ok(p == NULL && strcmp(e.msg, "profile \"python.conf\": \"python.conf\" is a "
	    "file name; write ./python.conf for a file, or python for the profile") == 0,
	    "NAME.conf gets a hint: %s", e.msg);
	p = profile_load("./base.conf", &e);
	tap_ok(p != NULL && strcmp(p->name, "./base.conf") == 0,
	    "a name with '/' is a path");
	profile_free(p);
}

static void
test_shipped(void)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p;

	setenv("MOAT_PROFILE_DIR", shipdir, 1);
	p = profile_load(NULL, &e);
	if (tap_ok(p != NULL, "shipped default loads: %s", e.msg)) {
		static const char *const prot[] = { ".git/hooks/", ".git/config",
		    ".git/modules/", ".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc",
		    ".zshenv", ".zprofile", ".zlogin", ".envrc", ".mcp.json",
		    ".claude/", ".vscode/", ".idea/", ".moat/", ".npmrc", ".yarnrc",
		    ".yarnrc.yml" };
		static const char *const env[] = { "PATH", "LANG", "LANGUAGE", "LC_*",
		    "TERM", "COLORTERM", "TZ", "NO_COLOR" };
		bool	ok = p->protect.n == nitems(prot);

		for (size_t i = 0; i < nitems(prot) && ok; i++)
			ok = strv_contains(&p->protect, prot[i]);
		tap_ok(ok, "default protects the 20 paths");
		ok = p->env_pass.n == nitems(env);
		for (size_t i = 0; i < nitems(env) && ok; i++)
			ok = strv_contains(&p->env_pass, env[i]);
		tap_ok(ok, "default passes exactly PATH LANG LANGUAGE LC_* TERM COLORTERM TZ NO_COLOR");
		tap_ok(p->net == NET_ISOLATED && p->workspace == WS_BIND &&
		    p->limits.timeout == 3600 && p->limits.nofile == 1024 &&
		    p->limits.nproc == 512 && p->limits.fsize == 1ULL << 30 &&
		    p->tmp_size == 512ULL << 20, "default: isolated, bind, 1h, 1024, 512, 1G, 512M");
		tap_ok(strcmp(p->name, "default") == 0, "NULL loads \"default\"");
	}
	profile_free(p);
	p = profile_load("isolated", &e);
	if (tap_ok(p != NULL, "shipped isolated loads: %s", e.msg)) {
		tap_ok(p->workspace == WS_RO && p->net == NET_ISOLATED,
		    "isolated: read-only workspace, no network");
		tap_ok(!strv_contains(&p->env_pass, "TZ") &&
		    strv_contains(&p->env_pass, "PATH") && p->protect.n == 20,
		    "isolated: env-pass rebuilt after !clear, protect inherited");
	}
	profile_free(p);
	p = profile_load("python", &e);
	if (tap_ok(p != NULL, "shipped python loads: %s", e.msg)) {
		tap_ok(p->workspace == WS_BIND && p->net == NET_ISOLATED &&
		    strv_contains(&p->env_set, "PYTHONDONTWRITEBYTECODE=1"),
		    "python: writable workspace, PYTHONDONTWRITEBYTECODE");
	}
	profile_free(p);
}

/* Writes text to tmpdir/name; returns the path (caller frees). */
static char *
write_conf(const char *name, const char *text)
{
	char	*path = path_join(tmpdir, name);
	FILE	*f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	return (path);
}

/* secret, secret-file, net-ca: their syntax, the check against net-allow
 * (one grammar: a suffix rule admits a name below it, a port must match,
 * no port is 443), and each refusal as a user reads it. */
static void
test_secrets(void)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p;
	char		 want[PATH_MAX + 256];
	autofree char	*ok = write_conf("sec-ok.conf",
	    "net = restricted\n"
	    "net-allow = *.github.com\n"
	    "net-allow = localhost:8443\n"
	    "net-allow = api.example.com:*\n"
	    "secret = GH_TOKEN   api.github.com\tuploads.github.com\n"
	    "secret = GH_TOKEN *.x.github.com\n"
	    "secret = LOCAL localhost:8443\n"
	    "secret = EX api.example.com:8443\n"
	    "secret-file = LOCAL ~/token.txt\n"
	    "net-ca = /etc/ssl/test-ca.pem\n");
	autofree char	*iso = write_conf("sec-iso.conf",
	    "secret = GH_TOKEN api.github.com\n");
	autofree char	*port = write_conf("sec-port.conf",
	    "net = restricted\nnet-allow = api.github.com:80\n"
	    "secret = GH_TOKEN api.github.com\n");
	autofree char	*other = write_conf("sec-other.conf",
	    "net = restricted\nnet-allow = api.github.com\n"
	    "secret = GH_TOKEN api.github.com uploads.github.com\n");
	autofree char	*sfx = write_conf("sec-sfx.conf",
	    "net = restricted\nnet-allow = api.github.com\n"
	    "secret = GH_TOKEN *.github.com\n");
	autofree char	*addr = write_conf("sec-addr.conf",
	    "net = restricted\nnet-allow = 192.0.2.0/24\n"
	    "secret = T 192.0.2.1\n");
	autofree char	*nohost = write_conf("sec-nohost.conf",
	    "net = restricted\nsecret = GH_TOKEN\n");
	autofree char	*reserved = write_conf("sec-res.conf",
	    "net = restricted\nnet-allow = x.com\nsecret = PATH x.com\n");
	autofree char	*badname = write_conf("sec-name.conf",
	    "net = restricted\nnet-allow = x.com\nsecret = 1TOKEN x.com\n");
	autofree char	*orphan = write_conf("sec-orphan.conf",
	    "net = restricted\nnet-allow = x.com\nsecret = A x.com\n"
	    "secret-file = B /run/b\n");
	autofree char	*twice = write_conf("sec-twice.conf",
	    "net = restricted\nnet-allow = x.com\nsecret = A x.com\n"
	    "secret-file = A /run/a\nsecret-file = A /run/b\n");
	autofree char	*relfile = write_conf("sec-rel.conf",
	    "net = restricted\nnet-allow = x.com\nsecret = A x.com\n"
	    "secret-file = A token.txt\n");

	p = profile_load_file(ok, &e);
	if (tap_ok(p != NULL, "secrets for admitted hosts load: %s", e.msg)) {
		tap_ok(p->secrets.n == 4 &&
		    strcmp(p->secrets.v[0], "GH_TOKEN api.github.com uploads.github.com") == 0 &&
		    strcmp(p->secrets.v[1], "GH_TOKEN *.x.github.com") == 0,
		    "a secret line is kept single-spaced (%s)", p->secrets.n > 0 ?
		    p->secrets.v[0] : "none");
		tap_ok(p->secret_files.n == 1 &&
		    strcmp(p->secret_files.v[0], "LOCAL ~/token.txt") == 0,
		    "secret-file keeps ~/ for the run to expand");
		tap_ok(p->net_ca.n == 1 && strcmp(p->net_ca.v[0], "/etc/ssl/test-ca.pem") == 0,
		    "net-ca is a path list");
		tap_ok(prov_is(p, "secret", "LOCAL localhost:8443", ok, 7),
		    "a secret's provenance is its line");
		/* A front end's --secret goes through profile_add and the check. */
		tap_ok(profile_add(p, "secret", "NEW other.test", "--secret", &e) == 0 &&
		    profile_check_secrets(p, &e) == -1 && strcmp(e.msg,
		    "--secret: secret NEW: no net-allow line admits other.test (port "
		    "443); add \"net-allow = other.test\" (a secret is only sent where "
		    "the network may go)") == 0, "--secret for a host no rule admits: %s",
		    e.msg);
	}
	profile_free(p);
	snprintf(want, sizeof want, "profile %s:1: secret GH_TOKEN: net = isolated "
	    "reaches no host; use net = restricted with a net-allow line for "
	    "api.github.com", iso);
	bad(iso, want);
	snprintf(want, sizeof want, "profile %s:3: secret GH_TOKEN: no net-allow "
	    "line admits api.github.com (port 443); add \"net-allow = "
	    "api.github.com\" (a secret is only sent where the network may go)", port);
	bad(port, want);
	snprintf(want, sizeof want, "profile %s:3: secret GH_TOKEN: no net-allow "
	    "line admits uploads.github.com (port 443); add \"net-allow = "
	    "uploads.github.com\" (a secret is only sent where the network may go)",
	    other);
	bad(other, want);
	snprintf(want, sizeof want, "profile %s:3: secret GH_TOKEN: no net-allow "
	    "line admits *.github.com (port 443); add \"net-allow = *.github.com\" "
	    "(a secret is only sent where the network may go)", sfx);
	bad(sfx, want);
	snprintf(want, sizeof want, "profile %s:3: secret: bad value \"T "
	    "192.0.2.1\": host \"192.0.2.1\" is an address: a secret goes to a "
	    "host name, which its certificate names; valid: ", addr);
	bad_prefix(addr, want);
	snprintf(want, sizeof want, "profile %s:2: secret: bad value \"GH_TOKEN\": "
	    "no host: write the hosts the secret is sent to after its name", nohost);
	bad_prefix(nohost, want);
	snprintf(want, sizeof want, "profile %s:3: secret: bad value \"PATH "
	    "x.com\": PATH is a variable moat sets or reads itself", reserved);
	bad_prefix(reserved, want);
	snprintf(want, sizeof want, "profile %s:3: secret: bad value \"1TOKEN "
	    "x.com\": \"1TOKEN\" is not a variable name", badname);
	bad_prefix(badname, want);
	snprintf(want, sizeof want, "profile %s:4: secret-file B: no \"secret = B "
	    "HOST...\" line names where it is sent; add one", orphan);
	bad(orphan, want);
	snprintf(want, sizeof want, "profile %s:5: secret-file A: a second file for "
	    "the same secret; keep one", twice);
	bad(twice, want);
	snprintf(want, sizeof want, "profile %s:4: secret-file: bad value \"A "
	    "token.txt\": not an absolute path", relfile);
	bad_prefix(relfile, want);
}

int
main(void)
{
	const char	*src = getenv("MOAT_SRCDIR");

	if (src == NULL)
		src = MOAT_SRC_PROFILEDIR "/..";
	autofree char	*fix = xprintf("%s/tests/fixtures/profiles", src);
	autofree char	*ship = xprintf("%s/profiles", src);

	if (realpath(fix, fixdir) == NULL || realpath(ship, shipdir) == NULL) {
		printf("Bail out! %s or %s: %s\n", fix, ship, strerror(errno));
		return (1);
	}
	snprintf(tmpdir, sizeof tmpdir, "%s/moat-test-profile.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL || chdir(fixdir) == -1) {
		printf("Bail out! %s: %s\n", tmpdir, strerror(errno));
		return (1);
	}
	setenv("HOME", "/home/tester", 1);
	setenv("MOAT_PROFILE_DIR", fixdir, 1);
	setenv("XDG_CONFIG_HOME", tmpdir, 1);

	test_defaults();
	test_all_keys();
	test_inheritance();
	test_malformed();
	test_values();
	test_memory_share();
	test_durations();
	test_format();
	test_search_path();
	test_shipped();
	test_long_list();
	test_secrets();

	{
		char	cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", tmpdir);
	}
	return (tap_done());
}
