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
 * the two IPv4 ones always, then the two on [::1] when the netns has IPv6
 * (a client that resolves "localhost" to ::1 first finds the proxy too). */
enum proxy_listener {
	PROXY_FD_HTTP,		/* 127.0.0.1:3128 inside the sandbox */
	PROXY_FD_SOCKS,		/* 127.0.0.1:1080 inside the sandbox */
	PROXY_NFDS,		/* the IPv4 pair, always there */
	PROXY_FD_HTTP6 = PROXY_NFDS,	/* [::1]:3128, when there is IPv6 */
	PROXY_FD_SOCKS6,	/* [::1]:1080 */
	PROXY_NFDS_MAX,
};
#define PROXY_HTTP_PORT		3128
#define PROXY_SOCKS_PORT	1080
#define PROXY_MAX_CONNS_DEFAULT	256	/* net-max-conns 0, when the fd limit is low */

/* Before the sandbox exists: the upstream, and the allowlist with the
 * profile's net-allow-index resolved (which may ask pip or npm once, so it
 * runs before any clock of the run does). ws is the workspace as resolved
 * (its config files count when protected; NULL: none). events, borrowed for
 * p's lifetime, gets one EV_NET_CONN per connection and the index notes. */
struct proxy	*proxy_new(const struct event_sink *events, const char *ws,
		    const struct profile *, struct merr *);
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

#endif
