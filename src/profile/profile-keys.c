/* profile-keys.c: the keys of a moat-profile(5) file as a table, each with a
 * setter that checks one value and stores it in struct profile, and the
 * built-in defaults. Parsing (profile.c), "moat profiles show|keys" and the
 * man page follow this table. Supervisor and front ends. */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter-groups.h"
#include "net-rule.h"
#include "profile.h"

/* profile_key.arg of "ro-bind-try": a read-only bind that may be missing. */
#define BIND_RO_TRY	3
/* and of "rw-bind-try": an agent's config file or directory, when it exists. */
#define BIND_RW_TRY	4

#define FIELD(p, k, type)	((type *)(void *)((char *)(p) + (k)->off))
#define CFIELD(p, k, type)	((const type *)(const void *)((const char *)(p) + (k)->off))

static const char *const ws_names[] = {
	[WS_BIND] = "bind", [WS_RO] = "ro", [WS_OVERLAY] = "overlay", [WS_NONE] = "none",
};
static const char *const net_names[] = {
	[NET_ISOLATED] = "isolated", [NET_RESTRICTED] = "restricted",
	[NET_PROXIED] = "proxied",
};

const char *
profile_ws_mode_name(enum ws_mode m)
{
	return ((size_t)m < nitems(ws_names) ? ws_names[m] : "?");
}

const char *
profile_net_mode_name(enum net_mode m)
{
	return ((size_t)m < nitems(net_names) ? net_names[m] : "?");
}

const char *
profile_key_type_name(enum key_type t)
{
	static const char *const names[] = {
		[KEY_ENUM] = "choice", [KEY_LIST] = "list", [KEY_BYTES] = "size",
		[KEY_SECONDS] = "duration", [KEY_UINT] = "number",
		[KEY_NUMBER] = "decimal", [KEY_BOOL] = "yes/no",
		[KEY_STRING] = "text", [KEY_INCLUDE] = "include",
	};

	return ((size_t)t < nitems(names) ? names[t] : "?");
}

/* Value checks shared by several keys. Each returns 0, or -1 with e set to
 * the detail the parser puts after the bad value. */

static int
check_path(const char *s, struct merr *e)
{
	const char	*c;

	if (s[0] == '~')
		return (merr_set(e, "only a leading \"~/\" is expanded"));
	if (s[0] != '/')
		return (merr_set(e, "not an absolute path"));
	if (strstr(s, "//") != NULL)
		return (merr_set(e, "write it without \"//\""));
	if (s[1] != '\0' && s[strlen(s) - 1] == '/')
		return (merr_set(e, "write it without the trailing \"/\""));
	for (c = s; c != NULL; c = strchr(c + 1, '/')) {
		if (strncmp(c, "/..", 3) == 0 && (c[3] == '/' || c[3] == '\0'))
			return (merr_set(e, "\"..\" is not allowed in a path"));
		if (strncmp(c, "/.", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			return (merr_set(e, "\".\" is not allowed in a path"));
	}
	return (0);
}

static bool
ip_valid(const char *s)
{
	unsigned char	buf[16];

	return (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

static int
check_port(const char *s, struct merr *e)
{
	unsigned long long	port;

	if (parse_uint(s, 65535, &port) == -1 || port == 0)
		return (merr_set(e, "port \"%s\" is not 1-65535", s));
	return (0);
}

/* Generic setters: the field is at k->off. */

static int
set_string(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	char	**f = FIELD(p, k, char *);

	if (strlen(v) > k->max)
		return (merr_set(e, "longer than %llu bytes", k->max));
	free(*f);
	*f = xstrdup(v);
	return (0);
}

static char *
get_string(const struct profile *p, const struct profile_key *k)
{
	const char	*const *f = CFIELD(p, k, char *);

	return (*f == NULL ? NULL : xstrdup(*f));
}

static int
set_bytes(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	uint64_t	n;

	if (parse_bytes(v, &n) == -1)
		return (merr_set(e, "%s", ""));
	if (n < k->min)
		return (merr_set(e, "must be at least %llu", k->min));
	*FIELD(p, k, uint64_t) = n;
	return (0);
}

static char *
fmt_bytes(uint64_t n)
{
	static const char	units[] = "KMGT";

	if (n == 0)
		return (xstrdup("0"));
	for (int i = 4; i >= 1; i--) {
		uint64_t	m = 1ULL << (10 * i);

		if (n % m == 0)
			return (xprintf("%llu%c", (unsigned long long)(n / m), units[i - 1]));
	}
	return (xprintf("%llu", (unsigned long long)n));
}

static char *
get_bytes(const struct profile *p, const struct profile_key *k)
{
	return (fmt_bytes(*CFIELD(p, k, uint64_t)));
}

static int
set_seconds(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	double		 s;
	const char	*why;

	if (parse_duration(v, &s, &why) == -1)
		return (merr_set(e, "%s", why));
	*FIELD(p, k, double) = s;
	return (0);
}

static char *
get_seconds(const struct profile *p, const struct profile_key *k)
{
	double	s = *CFIELD(p, k, double);

	if (s >= 3600 && fmod(s, 3600) == 0)
		return (xprintf("%.0fh", s / 3600));
	if (s >= 60 && fmod(s, 60) == 0)
		return (xprintf("%.0fm", s / 60));
	return (xprintf("%g", s));
}

static int
set_u64(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	unsigned long long	n;

	if (parse_uint(v, k->max, &n) == -1 || n < k->min)
		return (merr_set(e, "%s", ""));
	*FIELD(p, k, uint64_t) = n;
	return (0);
}

static char *
get_u64(const struct profile *p, const struct profile_key *k)
{
	return (xprintf("%llu", (unsigned long long)*CFIELD(p, k, uint64_t)));
}

static int
set_unsigned(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	unsigned long long	n;

	if (parse_uint(v, k->max, &n) == -1 || n < k->min)
		return (merr_set(e, "%s", ""));
	*FIELD(p, k, unsigned) = (unsigned)n;
	return (0);
}

static char *
get_unsigned(const struct profile *p, const struct profile_key *k)
{
	return (xprintf("%u", *CFIELD(p, k, unsigned)));
}

/* 0-100, or "off" (-1): the risk thresholds. */
static int
set_percent(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	unsigned long long	n;

	if (strcmp(v, "off") == 0) {
		*FIELD(p, k, int) = -1;
		return (0);
	}
	if (parse_uint(v, 100, &n) == -1)
		return (merr_set(e, "%s", ""));
	*FIELD(p, k, int) = (int)n;
	return (0);
}

static char *
get_percent(const struct profile *p, const struct profile_key *k)
{
	int	n = *CFIELD(p, k, int);

	return (n < 0 ? xstrdup("off") : xprintf("%d", n));
}

static int
set_bool(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < nitems(yes); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*FIELD(p, k, bool) = true;
			return (0);
		}
		if (strcmp(v, no[i]) == 0) {
			*FIELD(p, k, bool) = false;
			return (0);
		}
	}
	return (merr_set(e, "%s", ""));
}

static char *
get_bool(const struct profile *p, const struct profile_key *k)
{
	return (xstrdup(*CFIELD(p, k, bool) ? "yes" : "no"));
}

static int
set_cpus(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	char	*end;
	double	 d;

	if (!isdigit((unsigned char)v[0]))
		return (merr_set(e, "%s", ""));
	d = strtod(v, &end);
	if (*end != '\0' || !isfinite(d) || d > 4096)
		return (merr_set(e, "%s", ""));
	p->limits.cpus = d;
	return (0);
}

/* A size, or a share of the machine's memory: "50%". */
static int
set_memory(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	size_t			 n = strlen(v);
	unsigned long long	 pct;
	uint64_t		 b;

	(void)k;
	if (n > 1 && v[n - 1] == '%') {
		autofree char	*num = xstrndup(v, n - 1);

		if (parse_uint(num, 100, &pct) == -1 || pct == 0)
			return (merr_set(e, "a share is 1%% to 100%% of the "
			    "machine's memory"));
		p->limits.memory_pct = (unsigned)pct;
		p->limits.memory = 0;
		return (0);
	}
	if (parse_bytes(v, &b) == -1)
		return (merr_set(e, "%s", ""));
	p->limits.memory = b;
	p->limits.memory_pct = 0;
	return (0);
}

static char *
get_memory(const struct profile *p, const struct profile_key *k)
{
	(void)k;
	if (p->limits.memory_pct != 0)
		return (xprintf("%u%%", p->limits.memory_pct));
	return (fmt_bytes(p->limits.memory));
}

static char *
get_cpus(const struct profile *p, const struct profile_key *k)
{
	return (xprintf("%g", p->limits.cpus));
}

/* Enumerations. */

static int
set_enum(const char *const *names, size_t n, const char *v, int *out, struct merr *e)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], v) == 0) {
			*out = (int)i;
			return (0);
		}
	return (merr_set(e, "%s", ""));
}

static int
set_workspace(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	int	i = 0;

	if (set_enum(ws_names, nitems(ws_names), v, &i, e) == -1)
		return (-1);
	p->workspace = (enum ws_mode)i;
	return (0);
}

static char *
get_workspace(const struct profile *p, const struct profile_key *k)
{
	return (xstrdup(profile_ws_mode_name(p->workspace)));
}

static int
set_net(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	int	i = 0;

	if (set_enum(net_names, nitems(net_names), v, &i, e) == -1)
		return (-1);
	p->net = (enum net_mode)i;
	return (0);
}

static char *
get_net(const struct profile *p, const struct profile_key *k)
{
	return (xstrdup(profile_net_mode_name(p->net)));
}

/* Strings with a syntax. */

static int
set_hostname(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	if (strlen(v) > 64 || !net_rule_name_valid(v))
		return (merr_set(e, "%s", ""));
	return (set_string(p, k, v, e));
}

/* A command name as wrap compares it with argv[0]'s last component. */
static int
set_agent_command(struct profile *p, const struct profile_key *k, const char *v,
    struct merr *e)
{
	if (*v == '\0' || strchr(v, '/') != NULL || strlen(v) > 64)
		return (merr_set(e, "%s", ""));
	for (const char *c = v; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c) || *c == ' ')
			return (merr_set(e, "%s", ""));
	return (set_string(p, k, v, e));
}

static int
set_description(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	for (const char *c = v; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c))
			return (merr_set(e, "control characters are not allowed"));
	return (set_string(p, k, v, e));
}

/* "env", or SCHEME://[USER[:PASS]@]HOST[:PORT][/] with scheme http, socks5
 * or socks5h. */
static int
set_upstream(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	static const char *const schemes[] = { "http://", "socks5://", "socks5h://" };
	autofree char	*h = NULL;
	const char	*rest = NULL;
	char		*at, *colon, *host, *slash;

	if (strcmp(v, "env") == 0)
		return (set_string(p, k, v, e));
	for (size_t i = 0; i < nitems(schemes); i++)
		if (strncmp(v, schemes[i], strlen(schemes[i])) == 0)
			rest = v + strlen(schemes[i]);
	if (rest == NULL)
		return (merr_set(e, "unknown scheme"));
	h = xstrdup(rest);
	if ((slash = strchr(h, '/')) != NULL) {
		if (slash[1] != '\0')
			return (merr_set(e, "a proxy URL has no path"));
		*slash = '\0';
	}
	host = (at = strrchr(h, '@')) != NULL ? at + 1 : h;
	if (host[0] == '[') {
		char	*end = strchr(host, ']');
		unsigned char buf[16];

		if (end == NULL)
			return (merr_set(e, "missing \"]\""));
		*end = '\0';
		if (inet_pton(AF_INET6, host + 1, buf) != 1)
			return (merr_set(e, "\"%s\" is not an IPv6 address", host + 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return (merr_set(e, "expected \":PORT\" after \"]\""));
	} else {
		if ((colon = strchr(host, ':')) != NULL)
			*colon = '\0';
		if (!net_rule_name_valid(host) && !ip_valid(host))
			return (merr_set(e, "\"%s\" is not a host name", host));
	}
	if (colon != NULL && check_port(colon + 1, e) == -1)
		return (-1);
	return (set_string(p, k, v, e));
}

/* Lists. Each setter appends one item; profile.c has already expanded "~/"
 * for PK_PATH keys and drops duplicates. */

static int
set_bind(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	autofree char	*src = xstrdup(v);
	char		*dst = strchr(src, ':');
	struct bind	*b;

	if (dst != NULL)
		*dst++ = '\0';
	if (check_path(src, e) == -1 || (dst != NULL && check_path(dst, e) == -1))
		return (-1);
	if (dst != NULL && strcmp(dst, "/") == 0)
		return (merr_set(e, "cannot bind over the sandbox's root"));
	if (k->arg == BIND_DEV && strncmp(src, "/dev/", 5) != 0)
		return (merr_set(e, "a dev-bind source is a device under /dev/"));
	p->binds = xreallocarray(p->binds, p->nbinds + 1, sizeof *p->binds);
	b = &p->binds[p->nbinds++];
	b->kind = k->arg == BIND_RO_TRY ? BIND_RO : k->arg == BIND_RW_TRY ? BIND_RW :
	    (enum bind_kind)k->arg;
	b->optional = k->arg == BIND_RO_TRY || k->arg == BIND_RW_TRY;
	b->dst = xstrdup(dst != NULL ? dst : src);
	b->src = TAKE_PTR(src);
	return (0);
}

static int
set_path_list(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	if (check_path(v, e) == -1)
		return (-1);
	if (strcmp(v, "/") == 0)
		return (merr_set(e, "not the root"));
	strv_add(FIELD(p, k, struct strv), v);
	return (0);
}

static int
set_tmpfs(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	autofree char	*path = xstrdup(v);
	char		*size = strchr(path, ':');
	uint64_t	 n = 0;
	struct tmpfs	*t;

	if (size != NULL) {
		*size++ = '\0';
		if (parse_bytes(size, &n) == -1 || n == 0)
			return (merr_set(e, "size \"%s\" is not a size above 0", size));
	}
	if (check_path(path, e) == -1)
		return (-1);
	if (strcmp(path, "/") == 0)
		return (merr_set(e, "not the root"));
	p->tmpfs = xreallocarray(p->tmpfs, p->ntmpfs + 1, sizeof *p->tmpfs);
	t = &p->tmpfs[p->ntmpfs++];
	t->dst = TAKE_PTR(path);
	t->size = n;
	return (0);
}

static int
set_protect(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	size_t	n = strlen(v);

	if (v[0] == '/' || v[0] == '~')
		return (merr_set(e, "relative to the workspace, not absolute"));
	if (strstr(v, "//") != NULL || strcmp(v, "./") == 0)
		return (merr_set(e, "%s", ""));
	for (const char *c = v; c != NULL; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if ((c[0] == '.' && (c[1] == '/' || c[1] == '\0')) ||
		    (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0')))
			return (merr_set(e, "\".\" and \"..\" are not allowed"));
	}
	if (n == 0)
		return (merr_set(e, "%s", ""));
	strv_add(&p->protect, v);
	return (0);
}

static int
set_seccomp(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	if (!filter_name_valid(v)) {
		if (v[0] == '@')
			return (merr_set(e, "no such group; groups: %s",
			    filter_group_names()));
		return (merr_set(e, "no such system call"));
	}
	strv_add(FIELD(p, k, struct strv), v);
	return (0);
}

static int
set_env_pass(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	size_t	n = strlen(v);

	if (strcmp(v, "*") == 0)
		return (merr_set(e, "\"*\" alone would pass every variable, secrets included"));
	if (v[n - 1] == '*')
		n--;
	if (!env_name_valid(v, n))
		return (merr_set(e, "%s", ""));
	strv_add(&p->env_pass, v);
	return (0);
}

static int
set_env_set(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	const char	*eq = strchr(v, '=');

	if (eq == NULL)
		return (merr_set(e, "missing \"=\""));
	if (!env_name_valid(v, (size_t)(eq - v)))
		return (merr_set(e, "\"%.*s\" is not a variable name", (int)(eq - v), v));
	strv_add(&p->env_set, v);
	return (0);
}

/* The grammar is net-rule.c's, the one the proxy's allowlist parses with. */
static int
set_net_allow(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	struct net_rule	r;

	if (net_rule_parse(v, &r, e) == -1)
		return (-1);
	net_rule_release(&r);
	strv_add(&p->net_allow, v);
	return (0);
}

static int
set_net_resolve(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	struct net_resolve	st;

	if (net_rule_resolve_parse(v, &st, e) == -1)
		return (-1);
	net_rule_resolve_release(&st);
	strv_add(&p->net_resolve, v);
	return (0);
}

/* Variables the sandbox sets itself, or moat reads: a secret cannot be one. */
static bool
secret_name_reserved(const char *n, size_t len)
{
	static const char *const names[] = {
		"PATH", "HOME", "USER", "LOGNAME", "PWD", "TMPDIR", "SHELL", "TERM",
		"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
		"all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
	};

	if (len >= 5 && strncmp(n, "MOAT_", 5) == 0)
		return (true);
	for (size_t i = 0; i < nitems(names); i++)
		if (strlen(names[i]) == len && strncmp(n, names[i], len) == 0)
			return (true);
	return (false);
}

#define SECRET_HOSTS_MAX	64

int
profile_secret_split(const char *v, const char **name, size_t *len,
    struct strv *hosts, struct merr *e)
{
	const char	*c = v, *w;

	while (*c == ' ' || *c == '\t')
		c++;
	*name = c;
	while (*c != '\0' && *c != ' ' && *c != '\t')
		c++;
	*len = (size_t)(c - *name);
	if (!env_name_valid(*name, *len))
		return (merr_set(e, "\"%.*s\" is not a variable name (letters, "
		    "digits and _, not starting with a digit)", (int)*len, *name));
	if (secret_name_reserved(*name, *len))
		return (merr_set(e, "%.*s is a variable moat sets or reads itself; "
		    "name the secret's own variable", (int)*len, *name));
	for (;;) {
		while (*c == ' ' || *c == '\t')
			c++;
		if (*c == '\0')
			break;
		w = c;
		while (*c != '\0' && *c != ' ' && *c != '\t')
			c++;
		if (hosts->n >= SECRET_HOSTS_MAX)
			return (merr_set(e, "more than %d hosts", SECRET_HOSTS_MAX));
		strv_take(hosts, xstrndup(w, (size_t)(c - w)));
	}
	if (hosts->n == 0)
		return (merr_set(e, "no host: write the hosts the secret is "
		    "sent to after its name"));
	return (0);
}

/* "NAME HOST...": each host in net-allow's grammar, a name (a certificate
 * is issued for it), never an address. Stored single-spaced. */
static int
set_secret(struct profile *p, const struct profile_key *k, const char *v, struct merr *e)
{
	struct strv	 hosts = { 0 };
	const char	*name;
	size_t		 len;
	char		*norm;

	if (profile_secret_split(v, &name, &len, &hosts, e) == -1) {
		strv_clear(&hosts);
		return (-1);
	}
	norm = xstrndup(name, len);
	for (size_t i = 0; i < hosts.n; i++) {
		struct net_rule	 r;
		char		*t;

		if (net_rule_parse(hosts.v[i], &r, e) == -1) {
			merr_prefix(e, "host \"%s\"", hosts.v[i]);
			goto fail;
		}
		if (r.kind == RULE_ADDR) {
			net_rule_release(&r);
			merr_set(e, "host \"%s\" is an address: a secret goes to a "
			    "host name, which its certificate names", hosts.v[i]);
			goto fail;
		}
		net_rule_release(&r);
		t = xprintf("%s %s", norm, hosts.v[i]);
		free(norm);
		norm = t;
	}
	strv_clear(&hosts);
	strv_take(FIELD(p, k, struct strv), norm);
	return (0);
fail:
	strv_clear(&hosts);
	free(norm);
	return (-1);
}

/* "NAME PATH": the value is the file's content, read by moat (never bound
 * in); PATH absolute, or "~/..." ($HOME when the run starts). */
static int
set_secret_file(struct profile *p, const struct profile_key *k, const char *v,
    struct merr *e)
{
	const char	*sp = strpbrk(v, " \t"), *path;

	if (sp == NULL)
		return (merr_set(e, "missing the path after the name"));
	if (!env_name_valid(v, (size_t)(sp - v)))
		return (merr_set(e, "\"%.*s\" is not a variable name", (int)(sp - v), v));
	for (path = sp; *path == ' ' || *path == '\t'; path++)
		;
	if (strpbrk(path, " \t") != NULL)
		return (merr_set(e, "one path after the name"));
	if (check_path(strncmp(path, "~/", 2) == 0 ? path + 1 : path, e) == -1)
		return (-1);
	strv_take(FIELD(p, k, struct strv), xprintf("%.*s %s", (int)(sp - v), v, path));
	return (0);
}

/* The package tools net-allow-index knows: the network layer (index.c)
 * reads their configuration. */
static const char *const index_tools[] = { "pip", "npm" };

bool
profile_index_tool_valid(const char *s)
{
	for (size_t i = 0; i < sizeof index_tools / sizeof index_tools[0]; i++)
		if (strcmp(s, index_tools[i]) == 0)
			return (true);
	return (false);
}

static int
set_net_allow_index(struct profile *p, const struct profile_key *k, const char *v,
    struct merr *e)
{
	if (!profile_index_tool_valid(v))
		return (merr_set(e, "%s", ""));
	strv_add(&p->net_allow_index, v);
	return (0);
}

#define OFF(f)	offsetof(struct profile, f)
#define U64MAX	18446744073709551615ULL

const struct profile_key profile_keys[] = {
	{ "description", KEY_STRING, set_description, get_string,
	  "one line of text", "what the profile is for, shown by \"moat profiles list\"",
	  0, OFF(description), 0, 200, 0 },
	{ "include", KEY_INCLUDE, NULL, NULL,
	  "a profile name, or a path (relative to this file)",
	  "reads another profile here, in place", 0, 0, 0, 0, 0 },

	{ "workspace", KEY_ENUM, set_workspace, get_workspace,
	  "bind | ro | overlay | none",
	  "how the working directory appears inside", 0, 0, 0, 0, 0 },
	{ "ro-bind", KEY_LIST, set_bind, NULL,
	  "SRC[:DST], absolute paths or ~/...",
	  "binds a host path read-only", PK_PATH, 0, 0, 0, BIND_RO },
	{ "rw-bind", KEY_LIST, set_bind, NULL,
	  "SRC[:DST], absolute paths or ~/...",
	  "binds a host path read-write", PK_PATH, 0, 0, 0, BIND_RW },
	{ "ro-bind-try", KEY_LIST, set_bind, NULL,
	  "SRC[:DST], absolute paths or ~/...",
	  "as ro-bind, skipped when SRC does not exist", PK_PATH, 0, 0, 0, BIND_RO_TRY },
	{ "bind-path-toolchains", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "binds read-only the prefixes of PATH's directories the sandbox would "
	  "hide (~/.local, ~/.cargo, ~/.nvm/versions/node/V, ~/.pyenv/versions/V, ~/go): "
	  "their bin, lib, lib64, libexec", 0, OFF(bind_path_toolchains), 0, 0, 0 },
	{ "agent-command", KEY_STRING, set_agent_command, get_string,
	  "a command name, e.g. claude",
	  "moat wrap picks this profile for that agent when no -p is given",
	  0, OFF(agent_command), 0, 64, 0 },
	{ "rw-bind-try", KEY_LIST, set_bind, NULL,
	  "SRC[:DST], absolute paths or ~/...",
	  "as rw-bind, skipped when SRC does not exist", PK_PATH, 0, 0, 0, BIND_RW_TRY },
	{ "dev-bind", KEY_LIST, set_bind, NULL,
	  "SRC[:DST], SRC a device under /dev/",
	  "binds a host device node", PK_PATH, 0, 0, 0, BIND_DEV },
	{ "hide", KEY_LIST, set_path_list, NULL,
	  "an absolute path or ~/...",
	  "covers a path with an empty directory or file", PK_PATH, OFF(hide), 0, 0, 0 },
	{ "tmpfs", KEY_LIST, set_tmpfs, NULL,
	  "PATH[:SIZE], PATH absolute or ~/..., SIZE e.g. 64M",
	  "mounts an empty tmpfs (size defaults to tmp-size)", PK_PATH, 0, 0, 0, 0 },
	{ "tmp-size", KEY_BYTES, set_bytes, get_bytes,
	  "a size above 0, e.g. 512M or 2G",
	  "size of /tmp and of other tmpfs mounts", 0, OFF(tmp_size), 1, 0, 0 },
	{ "protect", KEY_LIST, set_protect, NULL,
	  "a workspace-relative path; a trailing / names a directory",
	  "keeps a workspace path read-only", 0, 0, 0, 0, 0 },

	{ "timeout", KEY_SECONDS, set_seconds, get_seconds,
	  "seconds, or e.g. 500ms, 10m, 2h; 0 = none",
	  "wall-clock limit; the run ends with status 124", 0,
	  OFF(limits.timeout), 0, 0, 0 },
	{ "idle-timeout", KEY_SECONDS, set_seconds, get_seconds,
	  "seconds, or e.g. 30m, 2h; 0 = none",
	  "ends the run (status 124) when nothing was typed or shown for that long", 0,
	  OFF(limits.idle_timeout), 0, 0, 0 },
	{ "cpu-time", KEY_SECONDS, set_seconds, get_seconds,
	  "seconds, or e.g. 10m; 0 = none",
	  "CPU time limit (RLIMIT_CPU)", 0, OFF(limits.cpu_time), 0, 0, 0 },
	{ "nofile", KEY_UINT, set_u64, get_u64,
	  "0-1048576; 0 = keep the host's",
	  "open files per process (RLIMIT_NOFILE)", 0,
	  OFF(limits.nofile), 0, 1048576, 0 },
	{ "nproc", KEY_UINT, set_u64, get_u64,
	  "0-4194304; 0 = keep the host's",
	  "processes (RLIMIT_NPROC, and pids.max with cgroups)", 0,
	  OFF(limits.nproc), 0, 4194304, 0 },
	{ "fsize", KEY_BYTES, set_bytes, get_bytes,
	  "a size, e.g. 1G; 0 = unlimited",
	  "largest file a process may write (RLIMIT_FSIZE)", 0,
	  OFF(limits.fsize), 0, 0, 0 },
	{ "memory", KEY_BYTES, set_memory, get_memory,
	  "a size, e.g. 2G, or a share of RAM, e.g. 50%; 0 = none",
	  "memory limit (cgroup; else RLIMIT_DATA and the sum of RSS)", 0,
	  0, 0, 0, 0 },
	{ "memory-swap", KEY_BYTES, set_bytes, get_bytes,
	  "a size, e.g. 1G; 0 = none",
	  "swap limit (cgroups)", 0, OFF(limits.memory_swap), 0, 0, 0 },
	{ "cpus", KEY_NUMBER, set_cpus, get_cpus,
	  "a number of cores, e.g. 0.5 or 2; 0 = none",
	  "CPU bandwidth (cgroups)", 0, 0, 0, 0, 0 },
	{ "require-cgroups", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "refuse to run when cgroup limits cannot be set", 0,
	  OFF(limits.require_cgroups), 0, 0, 0 },

	{ "exec-trail", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "records every program started in the sandbox (execve, execveat) as an "
	  "event of the run: a record, not a gate", 0, OFF(exec_trail), 0, 0, 0 },
	{ "seccomp-deny", KEY_LIST, set_seccomp, NULL,
	  "@group or a system call name",
	  "denies more system calls than the default list", 0,
	  OFF(seccomp_deny), 0, 0, 0 },
	{ "seccomp-allow", KEY_LIST, set_seccomp, NULL,
	  "@group or a system call name",
	  "takes system calls out of the deny list", 0,
	  OFF(seccomp_allow), 0, 0, 0 },

	{ "env-pass", KEY_LIST, set_env_pass, NULL,
	  "a variable name, or a prefix ending in * (e.g. LC_*)",
	  "passes a variable from the caller's environment", 0, 0, 0, 0, 0 },
	{ "env-set", KEY_LIST, set_env_set, NULL,
	  "NAME=VALUE",
	  "sets a variable inside", 0, 0, 0, 0, 0 },

	{ "net", KEY_ENUM, set_net, get_net,
	  "isolated | restricted | proxied",
	  "network mode", 0, 0, 0, 0, 0 },
	{ "net-allow", KEY_LIST, set_net_allow, NULL,
	  "host[:port], *.suffix[:port], IPv4[:port], [IPv6][:port], CIDR[:port] or localhost:PORT (port: 1-65535 or *; none: 80 and 443)",
	  "a destination the proxies let through", 0, 0, 0, 0, 0 },
	{ "net-resolve", KEY_LIST, set_net_resolve, NULL,
	  "name=address",
	  "a fixed answer for a host name", 0, 0, 0, 0, 0 },
	{ "net-allow-index", KEY_LIST, set_net_allow_index, NULL,
	  "pip | npm",
	  "allows the hosts of the package index that tool is configured to use", 0,
	  0, 0, 0, 0 },
	{ "secret", KEY_LIST, set_secret, NULL,
	  "NAME HOST [HOST]..., each HOST as in net-allow (a name, *.suffix or localhost:PORT; no port: 443)",
	  "the value of NAME stays outside: inside it is a placeholder the proxy replaces with the value on intercepted HTTPS to those hosts",
	  0, OFF(secrets), 0, 0, 0 },
	{ "secret-try", KEY_LIST, set_secret, NULL,
	  "NAME HOST [HOST]..., as secret",
	  "as secret when NAME has a value; when it is unset or empty the run goes on without it",
	  0, OFF(secrets_try), 0, 0, 0 },
	{ "secret-file", KEY_LIST, set_secret_file, NULL,
	  "NAME PATH, PATH absolute or ~/...",
	  "the secret NAME's value is that file's content (moat reads it; it is never bound in), not moat's environment",
	  0, OFF(secret_files), 0, 0, 0 },
	{ "net-ca", KEY_LIST, set_path_list, NULL,
	  "an absolute path or ~/..., a PEM file",
	  "CA certificates the proxy trusts, besides the system's, for the hosts it intercepts",
	  PK_PATH, OFF(net_ca), 0, 0, 0 },
	{ "net-allow-private", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "allowed names may resolve to loopback or private addresses", 0,
	  OFF(net_allow_private), 0, 0, 0 },
	{ "net-upstream", KEY_STRING, set_upstream, get_string,
	  "http://HOST:PORT, socks5://HOST:PORT, socks5h://HOST:PORT or env",
	  "the upstream proxy in proxied mode", 0, OFF(net_upstream), 0, 4096, 0 },
	{ "net-max-conns", KEY_UINT, set_unsigned, get_unsigned,
	  "0-65535; 0 = as many as the open-files limit allows",
	  "concurrent proxied connections", 0, OFF(net_max_conns), 0, 65535, 0 },
	{ "net-idle-timeout", KEY_SECONDS, set_seconds, get_seconds,
	  "seconds, or e.g. 30s, 10m; 0 = none",
	  "closes a proxied connection that carried nothing for that long", 0,
	  OFF(net_idle_timeout), 0, 0, 0 },

	{ "audit-unlogged", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "run even when the audit log cannot be written", 0,
	  OFF(audit_unlogged), 0, 0, 0 },
	{ "audit-output", KEY_BYTES, set_bytes, get_bytes,
	  "a size, e.g. 64K; 0 = none",
	  "bytes of the start and of the end of stdout and stderr kept in the log", 0,
	  OFF(audit_output), 0, 0, 0 },
	{ "workspace-changes", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "with a bind workspace, record what the run added or changed in it (a scan after the run, up to 20,000 entries)", 0,
	  OFF(workspace_changes), 0, 0, 0 },
	{ "run-summary", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "on a terminal, after each run, what was refused, the limits hit, the risk", 0,
	  OFF(run_summary), 0, 0, 0 },
	{ "record-refused", KEY_BOOL, set_bool, get_bool,
	  "yes | no",
	  "record writes a read-only mount refused and connections an isolated network refused", 0,
	  OFF(record_refused), 0, 0, 0 },
	{ "risk-confirm-above", KEY_UINT, set_percent, get_percent,
	  "0-100, or off",
	  "ask before running a command scored above this", 0,
	  OFF(risk_confirm_above), 0, 100, 0 },
	{ "risk-refuse-above", KEY_UINT, set_percent, get_percent,
	  "0-100, or off",
	  "refuse a command scored above this", 0,
	  OFF(risk_refuse_above), 0, 100, 0 },
	{ "hostname", KEY_STRING, set_hostname, get_string,
	  "a host name, up to 64 letters, digits, '-' and '.'",
	  "the sandbox's host name", 0, OFF(hostname), 0, 64, 0 },
};
const size_t	profile_nkeys = nitems(profile_keys);

const struct profile_key *
profile_key_find(const char *name)
{
	for (size_t i = 0; i < profile_nkeys; i++)
		if (strcmp(profile_keys[i].name, name) == 0)
			return (&profile_keys[i]);
	return (NULL);
}

/* What a profile gets for a key no file sets. default.conf sets most of
 * these again, so that reading it teaches them; keep both in step with
 * moat-profile(5). */
void
profile_defaults(struct profile *p)
{
	p->workspace = WS_BIND;
	p->tmp_size = 512ULL << 20;
	p->limits.timeout = 3600;
	p->limits.cpu_time = 0;
	p->limits.nofile = 1024;
	p->limits.nproc = 512;
	p->limits.fsize = 1ULL << 30;
	p->limits.memory = 0;
	p->limits.memory_pct = 50;	/* a share of RAM: see default.conf */
	p->limits.memory_swap = 0;
	p->limits.cpus = 0;
	p->limits.require_cgroups = false;
	p->net = NET_ISOLATED;
	p->net_allow_private = false;
	p->net_max_conns = 64;
	p->audit_unlogged = false;
	p->audit_output = 64 << 10;
	p->run_summary = true;
	p->record_refused = true;
	p->risk_confirm_above = -1;
	p->risk_refuse_above = -1;
	free(p->hostname);
	p->hostname = xstrdup("moat");
}

void
profile_clear_lists(struct profile *p)
{
	for (size_t i = 0; i < p->nbinds; i++) {
		free(p->binds[i].src);
		free(p->binds[i].dst);
	}
	free(p->binds);
	p->binds = NULL;
	p->nbinds = 0;
	for (size_t i = 0; i < p->ntmpfs; i++)
		free(p->tmpfs[i].dst);
	free(p->tmpfs);
	p->tmpfs = NULL;
	p->ntmpfs = 0;
	strv_clear(&p->hide);
	strv_clear(&p->protect);
	strv_clear(&p->seccomp_deny);
	strv_clear(&p->seccomp_allow);
	strv_clear(&p->env_pass);
	strv_clear(&p->env_set);
	strv_clear(&p->net_allow);
	strv_clear(&p->net_resolve);
	strv_clear(&p->net_allow_index);
	strv_clear(&p->secrets);
	strv_clear(&p->secrets_try);
	strv_clear(&p->secret_files);
	strv_clear(&p->net_ca);
}
