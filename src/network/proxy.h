/* proxy.h: the restricted and proxied network modes, supervisor side. The
 * sandbox init creates the listening sockets inside the sandbox's netns
 * (net.c); the supervisor serves them here from outside, in the run's poll
 * loop: HTTP proxy (proxy-http.c) and SOCKS5 (proxy-socks.c) requests are
 * parsed, checked against the allowlist (allow.c), resolved off the loop,
 * connected, and relayed with splice(2). Supervisor only. */
#ifndef MOAT_PROXY_H
#define MOAT_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "profile/profile.h"

struct event_sink;
struct loop;
struct proxy;

/* The order of the listening fds net_setup() returns and proxy_start() takes:
 * the IPv4 ones always, then those on [::1] when the netns has IPv6 (a
 * client that resolves "localhost" to ::1 first finds the proxy too). */
enum proxy_listener {
	PROXY_FD_HTTP,		/* 127.0.0.1:3128 inside the sandbox */
	PROXY_FD_SOCKS,		/* 127.0.0.1:1080 inside the sandbox */
	PROXY_FD_TRANS,		/* 127.0.0.1:3129: connections redirected there */
	PROXY_FD_DNS,		/* 127.0.0.1:53, UDP: the sandbox's resolver */
	PROXY_NFDS,		/* the IPv4 set, always there */
	PROXY_FD_HTTP6 = PROXY_NFDS,	/* [::1]:3128, when there is IPv6 */
	PROXY_FD_SOCKS6,	/* [::1]:1080 */
	PROXY_FD_TRANS6,	/* [::1]:3129 */
	PROXY_NFDS_MAX,
};
#define PROXY_HTTP_PORT		3128
#define PROXY_SOCKS_PORT	1080
#define PROXY_TRANS_PORT	3129
#define PROXY_DNS_PORT		53
/* Where the sandbox's resolver answers a name that leads to the host's
 * loopback (host.moat.internal, a net-resolve to 127.0.0.1): inside,
 * 127.0.0.0/8 is the sandbox's own, so such names get an address of the
 * benchmarking range 198.18.0.0/15 that the supervisor maps back. */
#define PROXY_SYNTH_NET		0xc6120000u	/* 198.18.0.0 */
#define PROXY_SYNTH_MAX		0x1fffeu	/* addresses in the /15 */
#define PROXY_MAX_CONNS_DEFAULT	256	/* net-max-conns 0, when the fd limit is low */

/* Before the sandbox exists: the upstream, and the allowlist with the
 * profile's net-allow-index resolved (which may ask pip or npm once, so it
 * runs before any clock of the run does). ws is the workspace as resolved
 * (its config files count when protected; NULL: none). events, borrowed for
 * p's lifetime, gets one EV_NET_CONN per connection and the index notes. */
struct proxy	*proxy_new(const struct event_sink *events, const char *ws,
		    const struct profile *, struct merr *);
/* The run's secrets (borrowed for p's life): connections to their hosts
 * are intercepted (intercept.c) and their placeholders refused anywhere
 * else. Before proxy_listen. -1 with e when TLS cannot be set up (net-ca). */
struct secrets;
int		 proxy_secrets(struct proxy *, const struct secrets *, struct merr *);
/* The interception threads' events sent so far, to the run's sink now
 * (before a session's command's end is passed on to its client). */
void		 proxy_drain_events(struct proxy *);
/* Serves the listeners init made: takes ownership of fds (closed by
 * proxy_stop). fds[i] is the listener named by enum proxy_listener; nfds
 * is PROXY_NFDS or PROXY_NFDS_MAX. On failure the caller proxy_stops p. */
int		 proxy_listen(struct proxy *, struct loop *, const int *fds, int nfds,
		    struct merr *);
/* proxy_new (no workspace) and proxy_listen together (tests); closes fds on
 * failure. */
struct proxy	*proxy_start(const struct event_sink *, struct loop *, const struct profile *,
		    const int *fds, int nfds, struct merr *);
/* Closes the listeners and every connection (each gets its final event)
 * and frees p. NULL is a no-op. */
void		 proxy_stop(struct proxy *);
/* A running sandbox's allowlist changed: rule (net-allow's grammar) added
 * (add) or removed; connections already open are not touched. On the
 * loop's thread. -1 with e saying why. */
int		 proxy_allow(struct proxy *, const char *rule, bool add,
		    struct merr *);
/* A connection the allowlist refuses (through the HTTP or SOCKS5 proxy,
 * or a transparent one past its first bytes) can be held while someone is
 * asked: fn gets a fresh id, the host and port as the client named them
 * and the allowlist's reason, and returns the seconds to hold it (0:
 * refuse it now, as without fn). proxy_answer(id) lets it go on (allow:
 * the allowlist decides again, a rule added meanwhile is its rule, and
 * without one it goes as allowed once; how is said in its event) or
 * refuses it saying how; no answer in time refuses it saying so. -1: no
 * connection waits under that id (answered, timed out, gone). fn with id
 * 0 asks nothing: it says whether someone could be asked now (seconds, or
 * 0), so that a transparent connection to an address no rule allows, and a
 * name the resolver would answer NXDOMAIN (then given a stand-in address
 * that leads to the name), are let as far as the question instead of being
 * refused at connect() or at the name. On the loop's thread. */
typedef unsigned (*proxy_ask_fn)(void *arg, uint32_t id, const char *host,
		    unsigned port, const char *why);
void		 proxy_set_ask(struct proxy *, proxy_ask_fn, void *);
int		 proxy_answer(struct proxy *, uint32_t id, bool allow,
		    const char *how);
/* Transparent interception: the sandbox called connect() on sock (its own
 * TCP socket, in its netns, which the caller took with pidfd_getfd) to dst,
 * which is not the sandbox's loopback. Decides with the allowlist: a
 * destination no rule can allow is refused and recorded here (EACCES);
 * otherwise sock is connected to the transparent listener inside the
 * netns, and the connection is then served as the proxies' are (the host
 * name from the resolver's answer, else from the TLS server name or the
 * HTTP Host header, else the address). Returns the errno the sandbox's
 * connect() should see: 0, EINPROGRESS (a non-blocking socket), EACCES, or
 * what connect() gave. */
int		 proxy_transparent(struct proxy *, int sock, const void *dst,
		    size_t dstlen);

/* A UDP socket of the sandbox connect()ing to port 53 of another address
 * (a client with a DNS server of its own): connects it to the sandbox's
 * resolver instead, whose answers then come from 127.0.0.1:53. Returns the
 * errno for the sandbox's connect(). */
int		 proxy_transparent_dns(struct proxy *, int sock);

/* Records once per run (an "error" connection event with no host) that
 * connect() calls cannot be seen at all. */
void		 proxy_transparent_blind(struct proxy *, const char *why);

/* Records a connection that could not be intercepted (dst NULL: its
 * address unknown) as refused, saying why. */
void		 proxy_transparent_note(struct proxy *, const void *dst,
		    size_t dstlen, const char *why);

/* Connections open now, and ever accepted (for tests and meters). */
unsigned	 proxy_active(const struct proxy *);
uint64_t	 proxy_total(const struct proxy *);

/* --- parsers, pure functions on the bytes received so far (proxy-http.c,
 * proxy-socks.c). PARSE_MORE: need more bytes; PARSE_BAD: answer with an
 * error and close. */
#define PROXY_HEAD_MAX	16384

enum proxy_parse {
	PARSE_MORE,
	PARSE_OK,
	PARSE_BAD,
};

struct proxy_http_req {
	bool	 connect;		/* CONNECT host:port; else absolute-URI http:// */
	char	 host[256];		/* as written; "[v6]" brackets removed */
	unsigned port;
	size_t	 head_len;		/* bytes of the request head, blank line included */
	char	*fwd;			/* owned; the origin-form head to send (plain HTTP) */
	size_t	 fwd_len;
};
enum proxy_parse proxy_http_parse(const char *, size_t, struct proxy_http_req *,
		    const char **why);
void		 proxy_http_req_release(struct proxy_http_req *);
/* "HTTP/1.1 CODE REASON" with a one-line text body, Connection: close.
 * Returns the length written (truncated to size - 1). */
size_t		 proxy_http_reply(char *, size_t, int code, const char *body);

#define SOCKS_REP_OK		0x00
#define SOCKS_REP_FAIL		0x01	/* general failure (also: too many connections) */
#define SOCKS_REP_NOT_ALLOWED	0x02	/* connection not allowed by ruleset */
#define SOCKS_REP_NET_UNREACH	0x03
#define SOCKS_REP_HOST_UNREACH	0x04
#define SOCKS_REP_REFUSED	0x05
#define SOCKS_REP_TTL		0x06
#define SOCKS_REP_CMD		0x07	/* command not supported: BIND, UDP ASSOCIATE */
#define SOCKS_REP_ATYP		0x08
#define SOCKS_REPLY_LEN		10

struct proxy_socks_req {
	uint8_t	 cmd;
	char	 host[256];		/* a name, or the address as text */
	unsigned port;
};
/* Greeting: VER NMETHODS METHODS. *noauth: the client offered no-auth. */
enum proxy_parse proxy_socks_greeting(const uint8_t *, size_t, size_t *used,
		    bool *noauth);
/* Request: VER CMD RSV ATYP ADDR PORT. On PARSE_BAD, *rep is the reply code
 * to send (0xff: none, just close). */
enum proxy_parse proxy_socks_request(const uint8_t *, size_t, size_t *used,
		    struct proxy_socks_req *, uint8_t *rep);
/* A reply with BND.ADDR 0.0.0.0:0; always SOCKS_REPLY_LEN bytes. */
size_t		 proxy_socks_reply(uint8_t *, uint8_t rep);

/* The first bytes of a transparent connection (proxy-sniff.c): a TLS
 * ClientHello's server_name, or an HTTP/1 request's Host. PARSE_OK with
 * *kind set and host filled ("" when the protocol names none); PARSE_MORE:
 * could be either, incomplete; PARSE_BAD: neither (the address decides). */
enum proxy_sniff_kind {
	SNIFF_NONE,
	SNIFF_TLS,
	SNIFF_HTTP,
};
enum proxy_parse proxy_sniff(const uint8_t *, size_t, enum proxy_sniff_kind *kind,
		    char host[256]);

/* The sandbox's resolver (proxy-dns.c): one question of a DNS query over
 * UDP, and the answer. */
/* What we answer at most: a plain DNS message over UDP, which every client
 * takes without EDNS or a retry over TCP; records that would not fit are
 * left out (the count says how many there are), never truncated. */
#define DNS_MAX_UDP		512
#define DNS_TYPE_A		1
#define DNS_TYPE_AAAA		28
#define DNS_CLASS_IN		1
#define DNS_RCODE_OK		0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5
#define DNS_MAX_ANSWERS		16

struct proxy_dns_q {
	uint16_t	 id;
	bool		 rd;		/* recursion desired, echoed */
	char		 name[256];	/* lower case, no final dot */
	bool		 name_ok;	/* a host name (net_rule_name_valid) */
	uint16_t	 qtype, qclass;
	uint8_t		 question[260];	/* as asked, echoed in the answer */
	size_t		 qlen;
};
/* PARSE_OK: a query with one question (*rcode 0), or one to answer with
 * *rcode (FORMERR, NOTIMP) and no answers; PARSE_BAD: not a query, drop it. */
enum proxy_parse proxy_dns_parse(const uint8_t *, size_t, struct proxy_dns_q *,
		    uint8_t *rcode);
/* The answer to q: rcode, and naddrs addresses of the given family (4 or
 * 16 bytes each) as A or AAAA records. Returns its length (at most cap,
 * which must be at least DNS_MAX_UDP). */
size_t		 proxy_dns_reply(uint8_t *, size_t cap, const struct proxy_dns_q *,
		    uint8_t rcode, int family, const uint8_t (*addrs)[16],
		    size_t naddrs, uint32_t ttl);

#endif
