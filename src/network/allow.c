/* allow.c: net-allow rules, net-resolve static answers and the address
 * policy. Pure logic; runs in the supervisor (the proxy) and in any front end
 * that checks a profile. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allow.h"

static void
allow_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

void
allow_release(struct allow *a)
{
	for (size_t i = 0; i < a->nrules; i++)
		net_rule_release(&a->rules[i]);
	for (size_t i = 0; i < a->nstatics; i++)
		net_rule_resolve_release(&a->statics[i]);
	for (size_t i = 0; i < a->nremoved; i++)
		net_rule_release(&a->removed[i]);
	for (size_t i = 0; i < a->nretired; i++)
		free(a->retired[i]);
	free(a->retired);
	free(a->removed);
	free(a->rules);
	free(a->statics);
	memset(a, 0, sizeof *a);
}

static bool
allow_str_same(const char *a, const char *b)
{
	return (a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0);
}

/* The same rule: host, port, and an HTTP rule's methods and path. */
static bool
allow_rule_same(const struct net_rule *x, const struct net_rule *y)
{
	if (x->kind != y->kind || x->port != y->port ||
	    !allow_str_same(x->name, y->name) ||
	    !allow_str_same(x->methods, y->methods) ||
	    !allow_str_same(x->path, y->path))
		return (false);
	return (x->family == y->family && x->prefix == y->prefix &&
	    memcmp(x->addr, y->addr, sizeof x->addr) == 0);
}

/* The current array is kept (a connection may point into it) and a new
 * one of n rules takes its place. */
static struct net_rule *
allow_swap(struct allow *a, size_t n)
{
	struct net_rule	*nv = xcalloc(n + 1, sizeof *nv);

	a->retired = xreallocarray(a->retired, a->nretired + 1, sizeof *a->retired);
	a->retired[a->nretired++] = a->rules;
	a->rules = nv;
	return (nv);
}

int
allow_add(struct allow *a, const char *text, struct merr *e)
{
	struct net_rule	 r, *old = a->rules, *nv;
	size_t		 n = a->nrules;

	if (net_rule_parse(text, &r, e) == -1)
		return (-1);
	for (size_t i = 0; i < n; i++)
		if (allow_rule_same(&old[i], &r)) {
			net_rule_release(&r);
			return (0);
		}
	nv = allow_swap(a, n + 1);
	if (n > 0)
		memcpy(nv, old, n * sizeof *nv);	/* the strings move over */
	nv[n] = r;
	a->nrules = n + 1;
	return (0);
}

int
allow_remove(struct allow *a, const char *text, struct merr *e)
{
	struct net_rule	 r, *old = a->rules, *nv;
	size_t		 n = a->nrules, k = 0, hits = 0;

	if (net_rule_parse(text, &r, e) == -1)
		return (-1);
	for (size_t i = 0; i < n; i++)
		hits += allow_rule_same(&old[i], &r);
	if (hits == 0) {
		net_rule_release(&r);
		return (merr_set(e, "no net-allow rule %s in the allowlist", text));
	}
	nv = allow_swap(a, n - hits);
	a->removed = xreallocarray(a->removed, a->nremoved + hits, sizeof *a->removed);
	for (size_t i = 0; i < n; i++)
		if (allow_rule_same(&old[i], &r))
			a->removed[a->nremoved++] = old[i];	/* freed at release */
		else
			nv[k++] = old[i];
	net_rule_release(&r);
	a->nrules = k;
	return (0);
}


int
allow_init(struct allow *a, const struct strv *rules, const struct strv *resolve,
    bool allow_private, bool allow_all, struct merr *e)
{
	memset(a, 0, sizeof *a);
	a->allow_private = allow_private;
	a->allow_all = allow_all;
	if (rules->n > 0)
		a->rules = xcalloc(rules->n, sizeof *a->rules);
	for (size_t i = 0; i < rules->n; i++) {
		if (net_rule_parse(rules->v[i], &a->rules[a->nrules], e) == -1) {
			merr_prefix(e, "net-allow \"%s\"", rules->v[i]);
			allow_release(a);
			return (-1);
		}
		a->nrules++;
	}
	if (resolve->n > 0)
		a->statics = xcalloc(resolve->n, sizeof *a->statics);
	for (size_t i = 0; i < resolve->n; i++) {
		if (net_rule_resolve_parse(resolve->v[i],
		    &a->statics[a->nstatics], e) == -1) {
			merr_prefix(e, "net-resolve \"%s\"", resolve->v[i]);
			allow_release(a);
			return (-1);
		}
		a->nstatics++;
	}
	return (0);
}

int
allow_target_set(struct allow_target *t, const char *host, unsigned port)
{
	size_t	len = strlen(host);

	memset(t, 0, sizeof *t);
	t->port = port;
	if (port == 0 || port > 65535)
		return (-1);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;		/* "[v6]" from a URL */
		len -= 2;
	}
	if (len == 0 || len >= sizeof t->host)
		return (-1);
	memcpy(t->host, host, len);
	t->host[len] = '\0';
	if (net_rule_addr_parse(t->host, &t->family, t->addr)) {
		t->is_addr = true;
		inet_ntop(t->family, t->addr, t->host, sizeof t->host);
		return (0);
	}
	if (len > 1 && t->host[len - 1] == '.')
		t->host[len - 1] = '\0';
	allow_lower(t->host);
	return (net_rule_name_valid(t->host) ? 0 : -1);
}

static bool
allow_prefix_match(const uint8_t *net, unsigned prefix, const uint8_t *addr)
{
	unsigned	bytes = prefix / 8, bits = prefix % 8;

	if (memcmp(net, addr, bytes) != 0)
		return (false);
	if (bits == 0)
		return (true);
	return (((net[bytes] ^ addr[bytes]) & (uint8_t)(0xff00u >> bits)) == 0);
}

bool
allow_rule_match(const struct net_rule *r, const struct allow_target *t)
{
	size_t	hl, sl;

	if (!net_rule_port_match(r->port, t->port))
		return (false);
	switch (r->kind) {
	case RULE_NAME:
		return (!t->is_addr && strcmp(t->host, r->name) == 0);
	case RULE_SUFFIX:
		hl = strlen(t->host);
		sl = strlen(r->name);
		return (!t->is_addr && hl > sl && strcmp(t->host + hl - sl, r->name) == 0);
	case RULE_ADDR:
		return (t->is_addr && t->family == r->family &&
		    allow_prefix_match(r->addr, r->prefix, t->addr));
	case RULE_LOCALHOST:
		return (t->is_addr ? net_rule_addr_loopback(t->family, t->addr) :
		    strcmp(t->host, "localhost") == 0 ||
		    strcmp(t->host, RULE_HOST_LOOPBACK) == 0);
	}
	return (false);
}

const struct net_rule *
allow_match(const struct allow *a, const struct allow_target *t,
    const char **why)
{
	for (size_t i = 0; i < a->nrules; i++)
		if (allow_rule_match(&a->rules[i], t))
			return (&a->rules[i]);
	*why = a->allow_all ? NULL : "no net-allow rule matches";
	return (NULL);
}

const struct net_rule *
allow_match_name(const struct allow *a, const char *host)
{
	struct allow_target	t;
	const char		*why;
	const struct net_rule	*r;

	if (allow_target_set(&t, host, 1) == -1 || t.is_addr)
		return (NULL);
	for (size_t i = 0; i < a->nrules; i++) {
		t.port = a->rules[i].port == RULE_PORT_DEFAULT ? 443 :
		    a->rules[i].port == RULE_PORT_ANY ? 1 : a->rules[i].port;
		if ((r = allow_match(a, &t, &why)) != NULL)
			return (r);
	}
	return (NULL);
}

bool
allow_port_named(const struct allow *a, unsigned port)
{
	for (size_t i = 0; i < a->nrules; i++)
		if (a->rules[i].kind != RULE_ADDR &&
		    net_rule_port_match(a->rules[i].port, port))
			return (true);
	return (false);
}

enum allow_class
allow_classify(int family, const uint8_t *a)
{
	static const uint8_t	zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t	nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const uint8_t	md6[16] = { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 };

	if (family == AF_INET6) {
		/* IPv4 inside IPv6 is judged as the IPv4 address it carries. */
		if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
			return (allow_classify(AF_INET, a + 12));
		if (a[0] == 0x20 && a[1] == 0x02)	/* 6to4 2002:V4ADDR::/48 */
			return (allow_classify(AF_INET, a + 2));
		if (memcmp(a, zero, 15) == 0)
			return (a[15] == 1 ? ADDR_LOOPBACK : ADDR_SPECIAL);
		if (memcmp(a, zero, 12) == 0)		/* IPv4-compatible */
			return (allow_classify(AF_INET, a + 12));
		if (memcmp(a, md6, 16) == 0)
			return (ADDR_METADATA);
		if ((a[0] & 0xfe) == 0xfc)
			return (ADDR_PRIVATE);
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return (ADDR_LINKLOCAL);
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)	/* site-local */
			return (ADDR_PRIVATE);
		if (a[0] == 0xff)
			return (ADDR_SPECIAL);
		return (ADDR_PUBLIC);
	}
	if (a[0] == 127)
		return (ADDR_LOOPBACK);
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168))
		return (ADDR_PRIVATE);
	if (a[0] == 169 && a[1] == 254)
		return (a[2] == 169 && a[3] == 254 ? ADDR_METADATA :
		    ADDR_LINKLOCAL);
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return (ADDR_CGNAT);
	/* This network, IETF protocol assignments (192.0.0/24, which also
	 * holds some providers' metadata services), multicast, reserved. */
	if (a[0] == 0 || (a[0] == 192 && a[1] == 0 && a[2] == 0) || a[0] >= 224)
		return (ADDR_SPECIAL);
	return (ADDR_PUBLIC);
}

const char *
allow_class_name(enum allow_class c)
{
	switch (c) {
	case ADDR_PUBLIC:	return ("public");
	case ADDR_LOOPBACK:	return ("loopback");
	case ADDR_PRIVATE:	return ("private");
	case ADDR_LINKLOCAL:	return ("link-local");
	case ADDR_METADATA:	return ("cloud metadata");
	case ADDR_CGNAT:	return ("CGNAT");
	case ADDR_SPECIAL:	return ("special-purpose");
	}
	return ("?");
}

bool
allow_addr_ok(const struct allow *a, const struct net_rule *r, int family,
    const uint8_t *addr, char *why, size_t whylen)
{
	enum allow_class	c = allow_classify(family, addr);
	char			text[INET6_ADDRSTRLEN];

	if (c == ADDR_PUBLIC || a->allow_private)
		return (true);
	if (r != NULL && r->kind == RULE_LOCALHOST && c == ADDR_LOOPBACK)
		return (true);
	/* An address rule naming a range of this very class is the profile
	 * saying so explicitly ("10.0.0.0/8", "169.254.169.254"); a broad
	 * range such as 0.0.0.0/0 is not. */
	if (r != NULL && r->kind == RULE_ADDR && r->family == family &&
	    allow_classify(r->family, r->addr) == c)
		return (true);
	inet_ntop(family, addr, text, sizeof text);
	snprintf(why, whylen, "%s, a %s address, and net-allow-private is off",
	    text, allow_class_name(c));
	return (false);
}

const struct net_resolve *
allow_lookup_static(const struct allow *a, const char *name)
{
	for (size_t i = 0; i < a->nstatics; i++)
		if (strcmp(a->statics[i].name, name) == 0)
			return (&a->statics[i]);
	return (NULL);
}
