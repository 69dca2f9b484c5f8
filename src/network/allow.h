/* allow.h: the network allowlist (net-allow rules, net-resolve static
 * answers) and the address policy that refuses loopback, private, link-local,
 * CGNAT and cloud-metadata addresses behind an allowed name (DNS-rebinding
 * defence). Pure logic, no I/O; used by the supervisor's proxy and by profile
 * checks. */
#ifndef MOAT_ALLOW_H
#define MOAT_ALLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/util.h"
#include "profile/net-rule.h"

struct allow {
	struct net_rule	*rules;		/* owned */
	size_t			 nrules;
	struct net_resolve	*statics;	/* owned */
	size_t			 nstatics;
	bool			 allow_private;
	bool			 allow_all;	/* proxied mode without a net-allow list */
	/* What allow_add and allow_remove replaced: a connection may still
	 * point at a rule of an older array, so arrays and removed rules are
	 * freed only by allow_release. */
	struct net_rule		**retired;	/* owned: old arrays (not their rules) */
	size_t			 nretired;
	struct net_rule		*removed;	/* owned: rules taken out */
	size_t			 nremoved;
};

/* Where a request wants to go, normalised: names lower case without a final
 * dot; any numeric form inet_aton accepts ("127.1", "0x7f000001") becomes an
 * address, so it is matched as one and never as a name. */
struct allow_target {
	char		 host[256];	/* the name, or the canonical address text */
	bool		 is_addr;
	int		 family;
	uint8_t		 addr[16];
	unsigned	 port;
};

/* The class of an address, for the rebinding defence. */
enum allow_class {
	ADDR_PUBLIC,
	ADDR_LOOPBACK,
	ADDR_PRIVATE,		/* RFC 1918, fc00::/7 */
	ADDR_LINKLOCAL,		/* 169.254/16, fe80::/10 */
	ADDR_METADATA,		/* 169.254.169.254, fd00:ec2::254 */
	ADDR_CGNAT,		/* 100.64/10 */
	ADDR_SPECIAL,		/* unspecified, multicast, reserved, broadcast */
};

/* Fills a from the profile's lists, parsed by net-rule.c's grammar (the
 * one `moat profiles check` uses); e names the bad entry. */
int		 allow_init(struct allow *, const struct strv *rules,
		    const struct strv *resolve, bool allow_private, bool allow_all,
		    struct merr *);
void		 allow_release(struct allow *);
/* A running sandbox's allowlist changed (moat session allow, deny): text,
 * in net-allow's grammar, added (nothing when an equal rule is there), or
 * every rule equal to it removed (-1 with e when none is). Rules a live
 * connection matched stay valid. */
int		 allow_add(struct allow *, const char *text, struct merr *);
int		 allow_remove(struct allow *, const char *text, struct merr *);
/* -1 when host is not a valid name or address. */
int		 allow_target_set(struct allow_target *, const char *host,
		    unsigned port);
/* Does this one rule allow the target (host and port)? */
bool		 allow_rule_match(const struct net_rule *, const struct allow_target *);
/* The first rule that allows the target, else NULL with *why saying so.
 * When allow_all is set and nothing matches, returns NULL and *why = NULL. */
const struct net_rule *allow_match(const struct allow *,
		    const struct allow_target *, const char **why);
/* The first rule that names host (a name, never an address) on any port:
 * the sandbox's resolver answers a name some connection could be allowed
 * to reach. NULL when none does (allow_all is the caller's to check). */
const struct net_rule *allow_match_name(const struct allow *, const char *host);
/* Could a rule for a name allow this port? Then a connection to an
 * address no rule names may still be allowed by the name it sends. */
bool		 allow_port_named(const struct allow *, unsigned port);
/* May a connection that matched rule (NULL under allow_all) go to this
 * address? false with why filled when not. */
bool		 allow_addr_ok(const struct allow *, const struct net_rule *,
		    int family, const uint8_t *addr, char *why, size_t whylen);
/* The net-resolve answer for name, if any. */
const struct net_resolve *allow_lookup_static(const struct allow *,
		    const char *name);
enum allow_class allow_classify(int family, const uint8_t *addr);
const char	*allow_class_name(enum allow_class);

#endif
