/* test-proxy-parse.c: the HTTP proxy and SOCKS5 request parsers and replies
 * (proxy-http.c, proxy-socks.c). */
#include <string.h>

#include "network/proxy.h"
#include "../tap.h"

static enum proxy_parse
http(const char *s, struct proxy_http_req *req, const char **why)
{
	*why = "";
	return (proxy_http_parse(s, strlen(s), req, why));
}

int
main(void)
{
	struct proxy_http_req	 r;
	struct proxy_socks_req	 sr;
	const char		*why;
	size_t			 used;
	bool			 noauth;
	uint8_t			 rep, out[16];
	char			 big[PROXY_HEAD_MAX + 64], buf[512];

	/* CONNECT */
	tap_ok(http("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
	    &r, &why) == PARSE_OK && r.connect && strcmp(r.host, "example.org") == 0 &&
	    r.port == 443 && r.fwd == NULL, "CONNECT host:port");
	tap_ok(r.head_len == strlen("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"),
	    "head length covers the blank line");
	tap_ok(http("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\nTLSDATA", &r, &why) == PARSE_OK &&
	    strcmp(r.host, "2001:db8::1") == 0 && r.port == 8443 &&
	    r.head_len == strlen("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n"),
	    "CONNECT [v6]:port, early data left after the head");
	tap_ok(http("CONNECT example.org HTTP/1.1\r\n\r\n", &r, &why) == PARSE_BAD,
	    "CONNECT without a port is bad");
	tap_ok(http("CONNECT example.org:0 HTTP/1.1\r\n\r\n", &r, &why) == PARSE_BAD,
	    "port 0 is bad");
	tap_ok(http("CONNECT example.org:99999 HTTP/1.1\r\n\r\n", &r, &why) == PARSE_BAD,
	    "port 99999 is bad");
	tap_ok(http("CONNECT user@example.org:443 HTTP/1.1\r\n\r\n", &r, &why) == PARSE_BAD,
	    "userinfo in CONNECT is bad");
	tap_ok(http("CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n", &r, &why) == PARSE_MORE,
	    "incomplete head: more");
	tap_ok(http("CONNECT exa", &r, &why) == PARSE_MORE, "incomplete request line: more");
	tap_ok(http("GARBAGE\r\n", &r, &why) == PARSE_BAD, "junk request line is bad at once");
	tap_ok(proxy_http_parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", 12, &r, &why) == PARSE_BAD,
	    "a TLS hello sent to the HTTP proxy is bad");
	tap_ok(http("CONNECT example.org:443 HTTP/2.0\r\n\r\n", &r, &why) == PARSE_BAD,
	    "HTTP/2.0 is bad");
	tap_ok(http("CONNECT example.org:443 HTTP/1.1\n\n", &r, &why) == PARSE_OK,
	    "bare LF line ends accepted");

	/* absolute-URI */
	tap_ok(http("GET http://example.org/a/b?c=d HTTP/1.1\r\nHost: example.org\r\n"
	    "Proxy-Connection: keep-alive\r\nUser-Agent: t\r\nProxy-Authorization: x\r\n"
	    "Connection: keep-alive\r\n\r\n", &r, &why) == PARSE_OK && !r.connect &&
	    strcmp(r.host, "example.org") == 0 && r.port == 80, "GET absolute URI");
	tap_ok(r.fwd != NULL && strcmp(r.fwd, "GET /a/b?c=d HTTP/1.1\r\nHost: example.org\r\n"
	    "User-Agent: t\r\nConnection: close\r\n\r\n") == 0,
	    "rewritten to origin-form, hop-by-hop headers dropped, Connection: close");
	if (r.fwd != NULL && strncmp(r.fwd, "GET /a/b", 8) != 0)
		tap_diag("fwd: %s", r.fwd);
	proxy_http_req_release(&r);
	tap_ok(http("POST HTTP://Example.org:8080 HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
	    &r, &why) == PARSE_OK && r.port == 8080 && r.fwd != NULL &&
	    strcmp(r.fwd, "POST / HTTP/1.0\r\nContent-Length: 3\r\nHost: Example.org:8080\r\n"
	    "Connection: close\r\n\r\n") == 0, "empty path becomes /, Host added, body left");
	proxy_http_req_release(&r);
	tap_ok(http("GET http://example.org?q HTTP/1.1\r\n\r\n", &r, &why) == PARSE_OK &&
	    r.fwd != NULL && strncmp(r.fwd, "GET /?q HTTP/1.1\r\n", 18) == 0,
	    "query without a path");
	proxy_http_req_release(&r);
	tap_ok(http("GET http://[::1]:8000/x HTTP/1.1\r\n\r\n", &r, &why) == PARSE_OK &&
	    strcmp(r.host, "::1") == 0 && r.port == 8000, "IPv6 literal in a URL");
	proxy_http_req_release(&r);
	tap_ok(http("GET https://example.org/ HTTP/1.1\r\n\r\n", &r, &why) == PARSE_BAD,
	    "https:// absolute URI is bad (use CONNECT)");
	tap_ok(http("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", &r, &why) == PARSE_BAD &&
	    strstr(why, "origin-form") != NULL, "origin-form request is not a proxy request");
	tap_ok(http("GET http://user:pw@example.org/ HTTP/1.1\r\n\r\n", &r, &why) == PARSE_BAD,
	    "userinfo in a URL is bad");
	tap_ok(http("GET http://exa mple.org/ HTTP/1.1\r\n\r\n", &r, &why) == PARSE_BAD,
	    "space in a host is bad");
	tap_ok(http("GET http://example.org/ HTTP/1.1\r\n folded\r\n\r\n", &r, &why) == PARSE_BAD,
	    "obsolete folding is bad");
	tap_ok(http("GET http://example.org/ HTTP/1.1\r\nNoColon\r\n\r\n", &r, &why) == PARSE_BAD,
	    "header without a colon is bad");
	tap_ok(http("GET http://example.org/ HTTP/1.1\r\nBad Name: x\r\n\r\n", &r, &why) == PARSE_BAD,
	    "space in a header name is bad");
	tap_ok(proxy_http_parse("GET http://a/ HTTP/1.1\r\n\0\r\n\r\n", 26, &r, &why) == PARSE_BAD,
	    "NUL byte is bad");
	memset(big, 'a', sizeof big);
	memcpy(big, "GET http://a/ HTTP/1.1\r\nX: ", 27);
	tap_ok(proxy_http_parse(big, sizeof big, &r, &why) == PARSE_BAD &&
	    strstr(why, "16 KiB") != NULL, "a head over 16 KiB is bad");
	tap_ok(proxy_http_parse(big, 1000, &r, &why) == PARSE_MORE, "a long partial head: more");

	/* replies */
	{
		size_t n = proxy_http_reply(buf, sizeof buf, 403,
		    "moat: x.test:443 not allowed by profile restricted (no net-allow rule matches)");

		tap_ok(n == strlen(buf) && strncmp(buf, "HTTP/1.1 403 Forbidden\r\n", 24) == 0 &&
		    strstr(buf, "Content-Length: 79\r\n") != NULL &&
		    strstr(buf, "\r\n\r\nmoat: x.test:443 not allowed") != NULL,
		    "403 reply with a one-line body and its length");
		n = proxy_http_reply(buf, sizeof buf, 200, "");
		tap_ok(strcmp(buf, "HTTP/1.1 200 Connection established\r\n\r\n") == 0 &&
		    n == strlen(buf), "200 for CONNECT");
		n = proxy_http_reply(buf, 20, 503, "long long long body");
		tap_ok(n == 19, "reply truncated to the buffer");
	}

	/* SOCKS5 greeting */
	tap_ok(proxy_socks_greeting((const uint8_t *)"\5\1\0", 3, &used, &noauth) == PARSE_OK &&
	    used == 3 && noauth, "greeting with no-auth");
	tap_ok(proxy_socks_greeting((const uint8_t *)"\5\2\2\0", 4, &used, &noauth) == PARSE_OK &&
	    noauth, "no-auth among two methods");
	tap_ok(proxy_socks_greeting((const uint8_t *)"\5\1\2", 3, &used, &noauth) == PARSE_OK &&
	    !noauth, "user/password only: no no-auth");
	tap_ok(proxy_socks_greeting((const uint8_t *)"\5\2\0", 3, &used, &noauth) == PARSE_MORE,
	    "short greeting: more");
	tap_ok(proxy_socks_greeting((const uint8_t *)"\4\1", 2, &used, &noauth) == PARSE_BAD,
	    "SOCKS4 is bad");
	tap_ok(proxy_socks_greeting((const uint8_t *)"\5\0", 2, &used, &noauth) == PARSE_BAD,
	    "no methods is bad");

	/* SOCKS5 requests */
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\1\x7f\0\0\1\x1f\x90", 10, &used,
	    &sr, &rep) == PARSE_OK && used == 10 && strcmp(sr.host, "127.0.0.1") == 0 &&
	    sr.port == 8080, "CONNECT IPv4");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\3\13example.org\1\273", 18, &used,
	    &sr, &rep) == PARSE_OK && used == 18 && strcmp(sr.host, "example.org") == 0 &&
	    sr.port == 443, "CONNECT domain");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\4\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0\26",
	    22, &used, &sr, &rep) == PARSE_OK && strcmp(sr.host, "::1") == 0 && sr.port == 22,
	    "CONNECT IPv6");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\3\13example", 12, &used, &sr,
	    &rep) == PARSE_MORE, "partial domain: more");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\2\0\1", 4, &used, &sr, &rep) == PARSE_BAD &&
	    rep == SOCKS_REP_CMD, "BIND: command not supported (0x07)");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\3\0\1\0\0\0\0\0\0", 10, &used, &sr,
	    &rep) == PARSE_BAD && rep == SOCKS_REP_CMD, "UDP ASSOCIATE: command not supported (0x07)");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\5\0", 5, &used, &sr, &rep) == PARSE_BAD &&
	    rep == SOCKS_REP_ATYP, "unknown address type (0x08)");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\3\0\0\1", 7, &used, &sr, &rep) == PARSE_BAD,
	    "empty domain is bad");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\3\3a b\0\1", 10, &used, &sr, &rep) == PARSE_BAD,
	    "space in a domain is bad");
	tap_ok(proxy_socks_request((const uint8_t *)"\5\1\0\1\1\2\3\4\0\0", 10, &used, &sr,
	    &rep) == PARSE_BAD, "port 0 is bad");
	tap_ok(proxy_socks_request((const uint8_t *)"\4\1", 2, &used, &sr, &rep) == PARSE_BAD &&
	    rep == 0xff, "wrong version: no reply, close");
	tap_ok(proxy_socks_reply(out, SOCKS_REP_NOT_ALLOWED) == 10 && out[0] == 5 &&
	    out[1] == 2 && out[3] == 1, "reply: not allowed by ruleset");
	return (tap_done());
}
