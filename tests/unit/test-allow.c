/* test-allow.c: the allowlist and the address policy (allow.c). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "network/allow.h"
#include "../tap.h"

static struct allow	A;

static void
setup(const char *const *rules, const char *const *resolve, bool priv,
    bool all)
{
	struct strv	r = { 0 }, s = { 0 };
	struct merr	e;

	allow_release(&A);
	for (; rules != NULL && *rules != NULL; rules++)
		strv_add(&r, *rules);
	for (; resolve != NULL && *resolve != NULL; resolve++)
		strv_add(&s, *resolve);
	if (allow_init(&A, &r, &s, priv, all, &e) == -1)
		tap_diag("allow_init: %s", e.msg);
	strv_clear(&r);
	strv_clear(&s);
}

/* The rule text that allows host:port, or NULL. */
static const char *
match(const char *host, unsigned port)
{
	struct allow_target	 t;
	const struct net_rule	*r;
	const char		*why;

	if (allow_target_set(&t, host, port) == -1)
		return ("(bad target)");
	r = allow_match(&A, &t, &why);
	return (r != NULL ? r->text : NULL);
}

static int
eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

static bool
addr_ok(const char *rule_host, unsigned port, const char *addr)
{
	struct allow_target	 t;
	const struct net_rule	*r;
	const char		*why;
	uint8_t			 a[16];
	int			 fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	char			 w[200];

	allow_target_set(&t, rule_host, port);
	r = allow_match(&A, &t, &why);
	inet_pton(fam, addr, a);
	return (allow_addr_ok(&A, r, fam, a, w, sizeof w));
}

static int
cls(const char *addr)
{
	uint8_t	a[16];
	int	fam = strchr(addr, ':') ? AF_INET6 : AF_INET;

	inet_pton(fam, addr, a);
	return (allow_classify(fam, a));
}

static bool
parses(const char *rule)
{
	struct net_rule	r;
	struct merr		e;
	bool			ok = net_rule_parse(rule, &r, &e) == 0;

	if (ok)
		net_rule_release(&r);
	return (ok);
}

int
main(void)
{
	static const char *const rules[] = {
		"example.org", "*.example.com", "api.test:8443", "git.test:22",
		"10.1.2.3", "192.0.2.0/24:*", "[2001:db8::/32]:443",
		"localhost:5432", "Upper.Case.Test", "169.254.169.254:80", NULL,
	};
	static const char *const res[] = {
		"rebind.test=127.0.0.1", "meta.test=169.254.169.254", NULL,
	};

	setup(rules, res, false, false);
	tap_ok(A.nrules == 10, "all ten rules parse");

	/* names and ports */
	tap_ok(eq(match("example.org", 443), "example.org"), "exact name, port 443 by default");
	tap_ok(eq(match("example.org", 80), "example.org"), "exact name, port 80 by default");
	tap_ok(match("example.org", 8080) == NULL, "exact name, other port refused");
	tap_ok(eq(match("EXAMPLE.org.", 443), "example.org"), "case and a final dot are ignored");
	tap_ok(match("www.example.org", 443) == NULL, "an exact rule does not cover subdomains");
	tap_ok(match("badexample.org", 443) == NULL, "no partial-name match");
	tap_ok(match("example.org.evil.test", 443) == NULL &&
	    match("example.orgx", 443) == NULL,
	    "an exact rule is no prefix: example.org.evil.test, example.orgx refused");
	tap_ok(eq(match("a.example.com", 443), "*.example.com"), "wildcard covers a subdomain");
	tap_ok(eq(match("a.b.example.com", 80), "*.example.com"), "wildcard covers deeper names");
	tap_ok(match("example.com", 443) == NULL, "wildcard does not cover the bare domain");
	tap_ok(match("evilexample.com", 443) == NULL, "wildcard needs the dot");
	tap_ok(match("example.com.evil.net", 443) == NULL, "suffix must be at the end");
	tap_ok(match("a.example.com.evil.test", 443) == NULL,
	    "suffix must be at the end: a.example.com.evil.test holds .example.com inside");
	tap_ok(match("badexample.com", 443) == NULL, "wildcard needs the dot: badexample.com");
	tap_ok(eq(match("api.test", 8443), "api.test:8443"), "explicit port");
	tap_ok(match("api.test", 443) == NULL, "explicit port replaces the defaults");
	tap_ok(eq(match("git.test", 22), "git.test:22"), "ssh port");
	tap_ok(eq(match("upper.case.test", 443), "Upper.Case.Test"), "rules are lower-cased");
	tap_ok(match("other.test", 443) == NULL, "unlisted name refused");

	/* addresses are matched as addresses, never as names */
	tap_ok(eq(match("10.1.2.3", 443), "10.1.2.3"), "IP literal rule");
	tap_ok(match("10.1.2.4", 443) == NULL, "other address refused");
	tap_ok(eq(match("192.0.2.77", 9999), "192.0.2.0/24:*"), "CIDR with any port");
	tap_ok(match("192.0.3.1", 80) == NULL, "outside the CIDR");
	tap_ok(eq(match("[2001:db8:1::5]", 443), "[2001:db8::/32]:443"), "IPv6 CIDR, bracketed target");
	tap_ok(match("2001:db9::1", 443) == NULL, "outside the IPv6 CIDR");
	tap_ok(eq(match("0x0a010203", 443), "10.1.2.3"), "hex form of an address is an address");
	tap_ok(eq(match("167838211", 443), "10.1.2.3"), "decimal form of an address is an address");
	tap_ok(match("127.1", 5432) != NULL, "127.1 is loopback: localhost:5432 covers it");
	tap_ok(match("127.1", 443) == NULL, "127.1 on another port refused");

	/* localhost:PORT */
	tap_ok(eq(match("localhost", 5432), "localhost:5432"), "localhost:5432 by name");
	tap_ok(eq(match("127.0.0.1", 5432), "localhost:5432"), "localhost:5432 by 127.0.0.1");
	tap_ok(eq(match("::1", 5432), "localhost:5432"), "localhost:5432 by ::1");
	tap_ok(match("localhost", 5433) == NULL, "localhost, other port refused");
	tap_ok(match("localhost", 80) == NULL, "localhost:PORT gives no default ports");
	tap_ok(eq(match("host.moat.internal", 5432), "localhost:5432"),
	    "localhost:5432 by the host's loopback name, host.moat.internal");
	tap_ok(match("host.moat.internal", 5433) == NULL,
	    "host.moat.internal, other port refused");

	/* the address policy */
	tap_ok(cls("127.0.0.1") == ADDR_LOOPBACK, "127.0.0.1 is loopback");
	tap_ok(cls("10.9.9.9") == ADDR_PRIVATE, "10/8 is private");
	tap_ok(cls("172.16.0.1") == ADDR_PRIVATE && cls("172.32.0.1") == ADDR_PUBLIC,
	    "172.16/12 edges");
	tap_ok(cls("192.168.1.1") == ADDR_PRIVATE, "192.168/16 is private");
	tap_ok(cls("169.254.169.254") == ADDR_METADATA, "metadata address");
	tap_ok(cls("169.254.1.1") == ADDR_LINKLOCAL, "link-local");
	tap_ok(cls("100.64.0.1") == ADDR_CGNAT && cls("100.128.0.1") == ADDR_PUBLIC,
	    "CGNAT 100.64/10 edges");
	tap_ok(cls("0.0.0.0") == ADDR_SPECIAL && cls("224.0.0.1") == ADDR_SPECIAL &&
	    cls("255.255.255.255") == ADDR_SPECIAL, "unspecified, multicast, broadcast");
	tap_ok(cls("93.184.216.34") == ADDR_PUBLIC, "a public address");
	tap_ok(cls("::1") == ADDR_LOOPBACK && cls("::") == ADDR_SPECIAL, "IPv6 loopback, unspecified");
	tap_ok(cls("fd12::1") == ADDR_PRIVATE && cls("fc00::1") == ADDR_PRIVATE, "fc00::/7");
	tap_ok(cls("fe80::1") == ADDR_LINKLOCAL, "fe80::/10");
	tap_ok(cls("::ffff:127.0.0.1") == ADDR_LOOPBACK, "v4-mapped loopback");
	tap_ok(cls("::ffff:169.254.169.254") == ADDR_METADATA, "v4-mapped metadata");
	tap_ok(cls("64:ff9b::a00:1") == ADDR_PRIVATE, "NAT64 of 10.0.0.1");
	tap_ok(cls("2002:a00:1::1") == ADDR_PRIVATE, "6to4 of 10.0.0.1");
	tap_ok(cls("fd00:ec2::254") == ADDR_METADATA, "IPv6 metadata address");
	tap_ok(cls("2606:4700::1") == ADDR_PUBLIC, "a public IPv6 address");

	tap_ok(addr_ok("example.org", 443, "93.184.216.34"), "allowed name to a public address");
	tap_ok(!addr_ok("example.org", 443, "127.0.0.1"), "allowed name to loopback refused");
	tap_ok(!addr_ok("example.org", 443, "10.0.0.1"), "allowed name to private refused");
	tap_ok(!addr_ok("example.org", 443, "169.254.169.254"), "allowed name to metadata refused");
	tap_ok(!addr_ok("example.org", 443, "100.64.1.1"), "allowed name to CGNAT refused");
	tap_ok(!addr_ok("example.org", 443, "::ffff:10.0.0.1"), "allowed name to mapped private refused");
	tap_ok(addr_ok("10.1.2.3", 443, "10.1.2.3"), "explicit private IP rule is allowed");
	tap_ok(addr_ok("169.254.169.254", 80, "169.254.169.254"), "explicit metadata rule is allowed");
	tap_ok(addr_ok("localhost", 5432, "127.0.0.1"), "localhost:PORT reaches loopback");
	{
		const struct net_resolve *st = allow_lookup_static(&A, "rebind.test");

		tap_ok(st != NULL && st->family == AF_INET && st->addr[0] == 127,
		    "net-resolve entry found");
		tap_ok(allow_lookup_static(&A, "nothing.test") == NULL, "no entry, no answer");
	}

	/* a broad CIDR is not an explicit opt-in to private ranges */
	{
		static const char *const any[] = { "0.0.0.0/0:*", NULL };

		setup(any, NULL, false, false);
		tap_ok(match("10.0.0.1", 22) != NULL, "0.0.0.0/0 matches 10.0.0.1");
		tap_ok(!addr_ok("10.0.0.1", 22, "10.0.0.1"), "but 0.0.0.0/0 does not allow it");
		tap_ok(addr_ok("8.8.8.8", 22, "8.8.8.8"), "0.0.0.0/0 allows a public address");
	}
	/* net-allow-private */
	{
		static const char *const one[] = { "internal.test", NULL };

		setup(one, NULL, true, false);
		tap_ok(addr_ok("internal.test", 443, "10.0.0.1"), "net-allow-private lets a name reach 10/8");
		tap_ok(addr_ok("internal.test", 443, "127.0.0.1"), "and loopback");
	}
	/* proxied without a list */
	{
		struct allow_target	t;
		const char		*why = "x";

		setup(NULL, NULL, false, true);
		allow_target_set(&t, "anything.test", 443);
		tap_ok(allow_match(&A, &t, &why) == NULL && why == NULL,
		    "allow_all: no rule, no refusal");
		tap_ok(!addr_ok("10.0.0.1", 443, "10.0.0.1"), "allow_all still refuses private literals");
		setup(NULL, NULL, false, false);
		allow_target_set(&t, "anything.test", 443);
		tap_ok(allow_match(&A, &t, &why) == NULL && why != NULL &&
		    strstr(why, "no net-allow rule") != NULL, "empty list refuses with a reason");
	}

	/* rule syntax */
	tap_ok(!parses("exa mple.org"), "space in a name rejected");
	tap_ok(!parses("example.org:0"), "port 0 rejected");
	tap_ok(!parses("example.org:65536"), "port 65536 rejected");
	tap_ok(!parses("example.org:http"), "named port rejected");
	tap_ok(!parses("10.0.0.0/33"), "prefix 33 rejected");
	tap_ok(!parses("example.org/24"), "prefix on a name rejected");
	tap_ok(!parses("127.1"), "ambiguous short address form rejected as a rule");
	tap_ok(!parses("*.*.example.org"), "double wildcard rejected");
	tap_ok(!parses("[::1"), "unclosed bracket rejected");
	tap_ok(!parses(""), "empty rule rejected");
	tap_ok(parses("[2001:db8::1]:8080") && parses("*.a.b:*") &&
	    parses("host-1.test:65535") && parses("host.test:*") &&
	    parses("198.51.100.0/24:8443") && parses("[2001:db8::/32]") &&
	    parses("2001:db8::1") && parses("0.0.0.0/0:*") && parses("::/0"),
	    "valid forms accepted");
	/* Inside the sandbox these are its own loopback, reached without a
	 * rule; the host's loopback is localhost:PORT. */
	tap_ok(!parses("127.0.0.1:8080") && !parses("127.0.0.1") &&
	    !parses("127.0.0.0/8:*") && !parses("127.5.0.0/16") &&
	    !parses("::1") && !parses("[::1]:8080") && !parses("[::ffff:127.0.0.1]:80"),
	    "loopback address rules are refused");
	tap_ok(!parses("localhost") && !parses("host.moat.internal"),
	    "the host's loopback needs a port");
	tap_ok(parses("0.0.0.0/0") && parses("::/127"),
	    "a range that only contains loopback is not a loopback rule");
	tap_ok(!parses("10/8") && !parses("0x0a000001") && !parses("*"),
	    "short address forms and a lone * refused");
	{
		struct net_resolve	st;
		struct merr		e;

		tap_ok(net_rule_resolve_parse("x.test=nope", &st, &e) == -1 &&
		    strstr(e.msg, "\"nope\" is not an IP address") != NULL,
		    "net-resolve bad address named");
		tap_ok(net_rule_resolve_parse("x.test=127.1", &st, &e) == -1,
		    "net-resolve takes an address only in its full form");
		tap_ok(net_rule_resolve_parse("x.test", &st, &e) == -1, "net-resolve without =");
	}
	{
		struct allow_target t;

		tap_ok(allow_target_set(&t, "a..b", 443) == -1, "empty label is not a target");
		tap_ok(allow_target_set(&t, "a.test", 0) == -1, "port 0 is not a target");
		tap_ok(allow_target_set(&t, "[::1]", 80) == 0 && t.is_addr &&
		    strcmp(t.host, "::1") == 0, "bracketed IPv6 target");
	}
	{
		/* HTTP rules: the host as any rule, then methods and a path. */
		struct net_rule	 r;
		struct merr	 e;
		static const struct {
			const char	*method, *path;
			bool		 ok;
		} cases[] = {
			{ "GET", "/repos/a", true }, { "GET", "/repos/a/b/c", true },
			{ "HEAD", "/repos/", true }, { "DELETE", "/repos/a", false },
			{ "GET", "/repos", false }, { "GET", "/other", false },
			{ "GET", "/repos/../admin", false }, { "GET", "/repos/..", false },
			{ "GET", "/repos/%2E%2e/admin", false }, { "GET", "/repos/a%2fb", false },
			{ "GET", "/repos//a", false }, { "GET", "/repos/a\\b", false },
			{ "GE", "/repos/a", false }, { "GETS", "/repos/a", false },
		};

		tap_ok(net_rule_parse("api.test GET,HEAD /repos/**", &r, &e) == 0 &&
		    r.kind == RULE_NAME && strcmp(r.name, "api.test") == 0 &&
		    strcmp(r.methods, "GET,HEAD") == 0 && strcmp(r.path, "/repos/**") == 0,
		    "an HTTP rule: host, methods, path");
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			tap_ok(net_rule_http_match(&r, cases[i].method, cases[i].path) ==
			    cases[i].ok, "%s %s %s", cases[i].method, cases[i].path,
			    cases[i].ok ? "allowed" : "refused");
		net_rule_release(&r);
		tap_ok(net_rule_parse("api.test /v1/*/items", &r, &e) == 0 &&
		    r.methods == NULL && net_rule_http_match(&r, "DELETE", "/v1/x/items") &&
		    !net_rule_http_match(&r, "GET", "/v1/x/y/items"),
		    "a path alone: any method; * stays within a segment");
		net_rule_release(&r);
		tap_ok(net_rule_parse("10.0.0.0/8:443 POST", &r, &e) == 0 &&
		    r.prefix == 8 && r.path == NULL && strcmp(r.methods, "POST") == 0,
		    "a CIDR's slash is not a path");
		net_rule_release(&r);
		tap_ok(net_rule_parse("api.test get /x", &r, &e) == -1 &&
		    strstr(e.msg, "not a method list") != NULL, "methods are upper case: %s", e.msg);
		tap_ok(net_rule_parse("api.test GET /x?y", &r, &e) == -1 &&
		    strstr(e.msg, "without a query") != NULL, "no query in a path: %s", e.msg);
		tap_ok(net_rule_parse("api.test /a/../b", &r, &e) == -1, "no dot segment in a path");
		tap_ok(net_rule_parse("api.test /a GET", &r, &e) == -1 &&
		    strstr(e.msg, "METHOD[,METHOD] then /PATH") != NULL, "the method comes first: %s", e.msg);
		tap_ok(net_rule_parse("api.test /a /b", &r, &e) == -1 &&
		    strstr(e.msg, "one path") != NULL, "one path: %s", e.msg);
	}
	{
		/* A running session's allowlist changed live. */
		static const char *const two[] = { "a.test", "b.test:8443", NULL };
		const struct net_rule	*held;
		struct allow_target	 t;
		const char		*why;
		struct merr		 e;

		setup(two, NULL, false, false);
		allow_target_set(&t, "b.test", 8443);
		held = allow_match(&A, &t, &why);
		tap_ok(match("c.test", 443) == NULL, "live: c.test refused before");
		tap_ok(allow_add(&A, "c.test", &e) == 0 && eq(match("c.test", 443), "c.test"),
		    "live: allow_add lets c.test through");
		tap_ok(allow_add(&A, "C.test", &e) == 0 && A.nrules == 3,
		    "live: an equal rule is not added twice");
		tap_ok(allow_add(&A, "bad..name", &e) == -1 && A.nrules == 3,
		    "live: a bad rule is refused, nothing added");
		tap_ok(allow_remove(&A, "a.test", &e) == 0 && match("a.test", 443) == NULL &&
		    eq(match("c.test", 443), "c.test"), "live: allow_remove takes a.test out, c.test stays");
		tap_ok(allow_remove(&A, "a.test", &e) == -1 && strstr(e.msg, "no net-allow rule") != NULL,
		    "live: removing a rule that is not there says so");
		tap_ok(allow_remove(&A, "b.test", &e) == -1 && eq(match("b.test", 8443), "b.test:8443"),
		    "live: b.test (port 443) is not b.test:8443");
		tap_ok(held != NULL && strcmp(held->text, "b.test:8443") == 0 &&
		    allow_remove(&A, "b.test:8443", &e) == 0 && strcmp(held->text, "b.test:8443") == 0,
		    "live: a rule a connection matched stays readable after changes");
		tap_ok(match("b.test", 8443) == NULL && A.nrules == 1, "live: one rule left");
		tap_ok(allow_add(&A, "c.test GET /x", &e) == 0 && A.nrules == 2 &&
		    allow_remove(&A, "c.test POST /x", &e) == -1 &&
		    allow_remove(&A, "c.test GET /x", &e) == 0 && A.nrules == 1,
		    "live: an HTTP rule is its own, by its methods and path");
	}
	allow_release(&A);
	return (tap_done());
}
