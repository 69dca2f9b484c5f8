/* net-rule.c: the one grammar of net-allow rules and net-resolve entries.
 * `moat profiles check` (profile-keys.c) and the proxy's allowlist
 * (network/allow.c) both call net_rule_parse, so they cannot disagree.
 * Pure logic; any process.
 *
 *   rule   = host [":" port] | "[" v6 ["/" len] "]" [":" port]
 *          | v6 | v6 "/" len                      (no port: 80 and 443)
 *   host   = name | "*." name | v4 | v4 "/" len
 *          | "localhost" | "host.moat.internal"   (these need a port)
 *   port   = 1-65535 | "*"
 *
 * An address rule is never a loopback one: inside the sandbox 127.0.0.0/8
 * and ::1 are the sandbox's own loopback, reached without any rule, and the
 * host's loopback is "localhost:PORT", reached inside as
 * host.moat.internal:PORT. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net-rule.h"
#include "base/util.h"

bool
net_rule_name_valid(const char *s)
{
	size_t	len = strlen(s), label = 0;
	bool	alldigits = true;

	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return (false);
	for (size_t i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return (false);
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return (false);
		if (c == '-' && label == 0)
			return (false);
		if (!isdigit(c))
			alldigits = false;
		if (++label > 63)
			return (false);
	}
	/* "1.2.3" or "300.1.1.1" is a mistyped address, not a name. */
	return (!alldigits && s[len - 1] != '-');
}

bool
net_rule_addr_parse(const char *s, int *family, uint8_t *addr)
{
	struct in_addr	in4;

	memset(addr, 0, 16);
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, addr) != 1)
			return (false);
		*family = AF_INET6;
		return (true);
	}
	if (s[0] == '\0' || inet_aton(s, &in4) == 0)
		return (false);
	*family = AF_INET;
	memcpy(addr, &in4, 4);
	return (true);
}

bool
net_rule_addr_loopback(int family, const uint8_t *a)
{
	static const uint8_t	v6lo[16] = { [15] = 1 };
	static const uint8_t	mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == AF_INET)
		return (a[0] == 127);
	if (memcmp(a, mapped, 12) == 0)
		return (a[12] == 127);
	return (memcmp(a, v6lo, 16) == 0);
}

bool
net_rule_port_match(unsigned rule, unsigned port)
{
	if (rule == RULE_PORT_ANY)
		return (true);
	if (rule == RULE_PORT_DEFAULT)
		return (port == 80 || port == 443);
	return (rule == port);
}

static int
net_rule_port(const char *s, unsigned *port, struct merr *e)
{
	unsigned long long	v;

	if (strcmp(s, "*") == 0) {
		*port = RULE_PORT_ANY;
		return (0);
	}
	if (parse_uint(s, 65535, &v) == -1 || v == 0)
		return (merr_set(e, "port \"%s\" is not 1-65535 or *", s));
	*port = (unsigned)v;
	return (0);
}

static void
net_rule_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

void
net_rule_release(struct net_rule *r)
{
	free(r->text);
	free(r->name);
	free(r->methods);
	free(r->path);
	memset(r, 0, sizeof *r);
}

/* An address or CIDR, written strictly (inet_pton's forms). */
static int
net_rule_addr(struct net_rule *r, const char *host, const char *len,
    struct merr *e)
{
	unsigned long long	prefix;
	unsigned		max;
	int			family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(family, host, r->addr) != 1)
		return (merr_set(e, "\"%s\" is not an %s address", host,
		    family == AF_INET6 ? "IPv6" : "IPv4"));
	r->kind = RULE_ADDR;
	r->family = family;
	max = family == AF_INET ? 32 : 128;
	r->prefix = max;
	if (len != NULL) {
		if (parse_uint(len, max, &prefix) == -1)
			return (merr_set(e, "an %s prefix length is 0-%u",
			    family == AF_INET6 ? "IPv6" : "IPv4", max));
		r->prefix = (unsigned)prefix;
	}
	/* Canonical network: clear host bits. */
	for (unsigned i = r->prefix; i < max; i++)
		r->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	/* The whole range inside loopback: the sandbox's own, or meant for
	 * the host's. Either way the rule would never do what it says. */
	if (net_rule_addr_loopback(family, r->addr) && r->prefix >=
	    (family == AF_INET ? 8u : r->addr[10] == 0xff ? 104u : 128u))
		return (merr_set(e, "%s is the sandbox's own loopback inside it, "
		    "reached directly without a rule; for a port of the host's "
		    "loopback write localhost:PORT (reached inside as "
		    RULE_HOST_LOOPBACK ":PORT)", host));
	return (0);
}

/* "METHOD[,METHOD]... [/PATH]" or "/PATH" after a rule's host: an HTTP
 * rule, for the hosts whose requests moat sees (a secret's). */
static int
net_rule_http_parse(char *s, struct net_rule *r, struct merr *e)
{
	char	*w, *save = NULL;

	for (w = strtok_r(s, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (w[0] == '/') {
			if (r->path != NULL)
				return (merr_set(e, "one path per rule"));
			for (const char *c = w; *c != '\0'; c++)
				if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '?' ||
				    *c == '#')
					return (merr_set(e, "a path is \"/\" and what follows "
					    "it, without a query; \"*\" is one segment, "
					    "\"**\" any"));
			if (strstr(w, "/../") != NULL || strstr(w, "/./") != NULL)
				return (merr_set(e, "a path without \".\" or \"..\" segments"));
			r->path = xstrdup(w);
			continue;
		}
		if (r->methods != NULL || r->path != NULL)
			return (merr_set(e, "after the host: METHOD[,METHOD] then /PATH"));
		for (const char *c = w; *c != '\0'; c++)
			if (!((*c >= 'A' && *c <= 'Z') || (*c == ',' && c != w && c[1] != '\0' &&
			    c[1] != ',')))
				return (merr_set(e, "\"%s\" is not a method list (GET, or "
				    "GET,HEAD: upper case, comma-separated)", w));
		r->methods = xstrdup(w);
	}
	if (r->methods == NULL && r->path == NULL)
		return (merr_set(e, "nothing after the host"));
	return (0);
}

/* "*" matches within a segment, "**" across them. */
static bool
net_rule_glob(const char *p, const char *s)
{
	for (; *p != '\0'; p++, s++) {
		if (p[0] == '*' && p[1] == '*') {
			for (p += 2;; s++) {
				if (net_rule_glob(p, s))
					return (true);
				if (*s == '\0')
					return (false);
			}
		}
		if (*p == '*') {
			for (p++;; s++) {
				if (net_rule_glob(p, s))
					return (true);
				if (*s == '\0' || *s == '/')
					return (false);
			}
		}
		if (*s != *p)
			return (false);
	}
	return (*s == '\0');
}

bool
net_rule_http_match(const struct net_rule *r, const char *method, const char *path)
{
	size_t	ml = strlen(method);

	if (r->methods != NULL) {
		const char	*m = r->methods;
		bool		 ok = false;

		while (*m != '\0' && !ok) {
			size_t	n = strcspn(m, ",");

			ok = n == ml && strncmp(m, method, n) == 0;
			m += n + (m[n] == ',');
		}
		if (!ok)
			return (false);
	}
	if (r->path == NULL)
		return (true);
	/* A path that a server would read as another: dot segments, an
	 * encoded dot or slash. Refused by any path rule. */
	if (path[0] != '/' || strstr(path, "/../") != NULL || strstr(path, "/./") != NULL ||
	    strcasestr(path, "%2e") != NULL || strcasestr(path, "%2f") != NULL ||
	    strstr(path, "//") != NULL || strchr(path, '\\') != NULL ||
	    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
		return (false);
	return (net_rule_glob(r->path, path));
}

static int
net_rule_parse_all(const char *text, struct net_rule *r, struct merr *e)
{
	autofree char	*s = xstrdup(text);
	char		*host = s, *port = NULL, *slash, *end, *colon, *rest;
	bool		 v6 = false;

	memset(r, 0, sizeof *r);
	r->port = RULE_PORT_DEFAULT;
	if ((rest = strpbrk(s, " \t")) != NULL) {
		*rest++ = '\0';
		if (net_rule_http_parse(rest, r, e) == -1)
			return (-1);
	}
	if (s[0] == '[') {		/* [v6], [v6]:port, [v6/len]:port */
		if ((end = strchr(s, ']')) == NULL)
			return (merr_set(e, "missing \"]\""));
		*end = '\0';
		host = s + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return (merr_set(e, "expected \":PORT\" after \"]\""));
		if (strchr(host, ':') == NULL)
			return (merr_set(e, "\"%s\" is not an IPv6 address", host));
		v6 = true;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		v6 = true;		/* a bare IPv6 address: no port */
	} else if (colon != NULL) {
		*colon = '\0';
		port = colon + 1;
	}
	if (port != NULL && net_rule_port(port, &r->port, e) == -1)
		return (-1);
	net_rule_lower(host);
	if ((slash = strchr(host, '/')) != NULL)
		*slash++ = '\0';
	if (v6) {
		if (s[0] != '[' && inet_pton(AF_INET6, host, r->addr) != 1)
			return (merr_set(e, "\"%s\" is not an IPv6 address (write "
			    "[ADDRESS]:PORT for a port)", host));
		if (net_rule_addr(r, host, slash, e) == -1)
			return (-1);
	} else if (strcmp(host, "*") == 0) {
		return (merr_set(e, "\"*\" would allow every host; name them"));
	} else if (slash != NULL || inet_pton(AF_INET, host, r->addr) == 1) {
		if (net_rule_addr(r, host, slash, e) == -1)
			return (-1);
	} else if (net_rule_addr_parse(host, &r->family, r->addr)) {
		/* "127.1", "0x7f000001": an address to the resolver. */
		return (merr_set(e, "\"%s\" is an IPv4 address in a short form; "
		    "write it as four numbers", host));
	} else if (strcmp(host, "localhost") == 0 ||
	    strcmp(host, RULE_HOST_LOOPBACK) == 0) {
		if (port == NULL)
			return (merr_set(e, "the host's loopback needs a port: "
			    "%s:PORT", host));
		r->kind = RULE_LOCALHOST;
		r->name = xstrdup("localhost");
	} else if (strncmp(host, "*.", 2) == 0 && net_rule_name_valid(host + 2)) {
		r->kind = RULE_SUFFIX;
		r->name = xstrdup(host + 1);	/* keeps the dot */
	} else if (net_rule_name_valid(host)) {
		r->kind = RULE_NAME;
		r->name = xstrdup(host);
	} else {
		return (merr_set(e, "\"%s\" is not a host name, *.suffix, IP "
		    "address or CIDR", host));
	}
	r->text = xstrdup(text);
	return (0);
}

int
net_rule_parse(const char *text, struct net_rule *r, struct merr *e)
{
	if (net_rule_parse_all(text, r, e) == 0)
		return (0);
	net_rule_release(r);
	return (-1);
}

void
net_rule_resolve_release(struct net_resolve *st)
{
	free(st->name);
	memset(st, 0, sizeof *st);
}

int
net_rule_resolve_parse(const char *text, struct net_resolve *st,
    struct merr *e)
{
	autofree char	*s = xstrdup(text);
	char		*eq = strchr(s, '='), *addr;

	memset(st, 0, sizeof *st);
	if (eq == NULL)
		return (merr_set(e, "missing \"=\" (want name=address)"));
	*eq = '\0';
	addr = eq + 1;
	net_rule_lower(s);
	if (!net_rule_name_valid(s))
		return (merr_set(e, "\"%s\" is not a host name", s));
	st->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(st->family, addr, st->addr) != 1)
		return (merr_set(e, "\"%s\" is not an IP address", addr));
	st->name = xstrdup(s);
	return (0);
}

char *
net_rule_suggest(const char *host, unsigned port)
{
	struct net_rule	r;
	struct merr	e;
	uint8_t		a[16];
	int		family;
	bool		web = port == 80 || port == 443;
	char		*s;

	if (host == NULL || host[0] == '\0' || port == 0 || port > 65535)
		return (NULL);
	if (strcmp(host, "localhost") == 0 || strcmp(host, RULE_HOST_LOOPBACK) == 0 ||
	    (net_rule_addr_parse(host, &family, a) && net_rule_addr_loopback(family, a)))
		s = xprintf("localhost:%u", port);
	else if (strchr(host, ':') != NULL)
		s = web ? xprintf("[%s]", host) : xprintf("[%s]:%u", host, port);
	else
		s = web ? xstrdup(host) : xprintf("%s:%u", host, port);
	/* Only ever a line the grammar takes. */
	if (net_rule_parse(s, &r, &e) == -1) {
		free(s);
		return (NULL);
	}
	net_rule_release(&r);
	return (s);
}

/* A secret's host names a port when it needs one: none written is 443,
 * the only port HTTPS has by default. */
static bool
net_rule_port_covers(unsigned allow, unsigned host)
{
	if (allow == RULE_PORT_ANY)
		return (true);
	if (host == RULE_PORT_ANY)
		return (false);
	if (host == RULE_PORT_DEFAULT)
		host = 443;
	return (net_rule_port_match(allow, host));
}

bool
net_rule_covers(const struct net_rule *allow, const struct net_rule *host)
{
	size_t	hl, al;

	if (!net_rule_port_covers(allow->port, host->port))
		return (false);
	switch (host->kind) {
	case RULE_NAME:
		if (allow->kind == RULE_NAME)
			return (strcmp(allow->name, host->name) == 0);
		if (allow->kind != RULE_SUFFIX)
			return (false);
		hl = strlen(host->name);
		al = strlen(allow->name);
		return (hl > al && strcmp(host->name + hl - al, allow->name) == 0);
	case RULE_SUFFIX:
		if (allow->kind != RULE_SUFFIX)
			return (false);
		hl = strlen(host->name);
		al = strlen(allow->name);
		return (hl >= al && strcmp(host->name + hl - al, allow->name) == 0);
	case RULE_LOCALHOST:
		return (allow->kind == RULE_LOCALHOST);
	case RULE_ADDR:
		break;
	}
	return (false);
}
