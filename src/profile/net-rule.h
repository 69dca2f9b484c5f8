/* net-rule.h: the grammar of a net-allow rule and a net-resolve entry, in
 * one place: the profile's check (profile-keys.c) and the network layer's
 * allowlist (allow.c) both parse with these, so a rule `moat profiles check`
 * accepts is the rule the proxy applies, and nothing else is. Pure logic;
 * any process. */
#ifndef MOAT_NET_RULE_H
#define MOAT_NET_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define RULE_PORT_DEFAULT	0	/* no port written: 80 and 443 */
#define RULE_PORT_ANY		65536	/* "host:*" */

/* The name under which the sandbox reaches the host's loopback, through the
 * proxies: inside, localhost, 127.0.0.0/8 and ::1 are the sandbox's own. */
#define RULE_HOST_LOOPBACK	"host.moat.internal"

enum net_rule_kind {
	RULE_NAME,		/* exact host name */
	RULE_SUFFIX,		/* "*.example.com": any name below it */
	RULE_ADDR,		/* IP literal or CIDR, not loopback */
	RULE_LOCALHOST,		/* "localhost:PORT": that port on the host's loopback */
};

struct net_rule {
	enum net_rule_kind kind;
	char		*text;		/* owned; as written, names the rule in events */
	char		*name;		/* owned; lower case; the suffix with its dot */
	int		 family;	/* RULE_ADDR: AF_INET or AF_INET6 */
	uint8_t		 addr[16];
	unsigned	 prefix;	/* RULE_ADDR: 32/128 for a single address */
	unsigned	 port;		/* 1-65535, RULE_PORT_DEFAULT or RULE_PORT_ANY */
	/* An HTTP rule (the host, then GET,HEAD and a path pattern): the methods
	 * (comma-separated) and the path pattern ("*" within a segment, "**"
	 * across), NULL for any. Only a secret's hosts, whose requests moat
	 * sees, can have one. Owned. */
	char		*methods;
	char		*path;
};

/* A net-resolve entry, "name=address". */
struct net_resolve {
	char		*name;		/* owned; lower case */
	int		 family;
	uint8_t		 addr[16];
};

/* Parses one net-allow entry. On error e says what is wrong, without the
 * entry's text (the caller names it). Release with net_rule_release. */
int		 net_rule_parse(const char *, struct net_rule *, struct merr *);
void		 net_rule_release(struct net_rule *);
/* Parses one net-resolve entry; release with net_rule_resolve_release. */
int		 net_rule_resolve_parse(const char *, struct net_resolve *,
		    struct merr *);
void		 net_rule_resolve_release(struct net_resolve *);
/* The net-allow line that would allow host:port, as a refusal names it
 * (the host's loopback, in any of its names, is localhost:PORT; 80 and 443
 * need no port); NULL when no rule can. Caller frees. */
char		*net_rule_suggest(const char *host, unsigned port);
/* Does the net-allow rule allow every destination the other rule names
 * (a secret's host, whose port is 443 when none is written)? An address
 * rule is never covered: a secret's host is a name. */
bool		 net_rule_covers(const struct net_rule *allow,
		    const struct net_rule *host);
/* Does an HTTP rule allow this request (its path without the query)? A
 * path with dot segments, an encoded dot or slash, "//" or a backslash
 * matches no path pattern. */
bool		 net_rule_http_match(const struct net_rule *, const char *method,
		    const char *path);
/* Does the rule allow this port? */
bool		 net_rule_port_match(unsigned rule_port, unsigned port);

/* A DNS name: letters, digits, '-' and '_' in labels of 1-63 bytes, 253 in
 * all, no label starting or ending with '-', not all digits ("1.2.3" is a
 * mistyped address). */
bool		 net_rule_name_valid(const char *);
/* IPv6 text, or any IPv4 form inet_aton takes ("127.1", "0x7f000001"): the
 * forms getaddrinfo would also take, so a name can never smuggle an address
 * past the rules. addr gets 4 or 16 bytes. */
bool		 net_rule_addr_parse(const char *, int *family, uint8_t *addr);
/* 127.0.0.0/8, ::1, or IPv4-mapped loopback. */
bool		 net_rule_addr_loopback(int family, const uint8_t *addr);

#endif
