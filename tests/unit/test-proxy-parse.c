/* test-proxy-parse.c: the HTTP proxy and SOCKS5 request parsers and replies
 * (proxy-http.c, proxy-socks.c). */
#include <string.h>
#include <sys/socket.h>

#include "network/proxy.h"
#include "../tap.h"

static enum proxy_parse
http(const char *s, struct proxy_http_req *req, const char **why)
{
	*why = "";
	return (proxy_http_parse(s, strlen(s), req, why));
}

/* A ClientHello record naming name (NULL: no server_name extension), with
 * one other extension before it. */
static size_t
client_hello(uint8_t *b, const char *name)
{
	size_t	nl = name != NULL ? strlen(name) : 0, n = 0, ext, body;

	b[n++] = 22; b[n++] = 3; b[n++] = 1; n += 2;		/* record */
	b[n++] = 1; n += 3;					/* handshake */
	body = n;
	b[n++] = 3; b[n++] = 3;
	memset(b + n, 'R', 32); n += 32;
	b[n++] = 0;						/* session id */
	b[n++] = 0; b[n++] = 2; b[n++] = 0x13; b[n++] = 1;	/* suites */
	b[n++] = 1; b[n++] = 0;					/* compression */
	ext = n; n += 2;
	b[n++] = 0; b[n++] = 10; b[n++] = 0; b[n++] = 2; b[n++] = 0; b[n++] = 0x1d;
	if (name != NULL) {
		b[n++] = 0; b[n++] = 0;
		b[n++] = 0; b[n++] = (uint8_t)(nl + 5);
		b[n++] = 0; b[n++] = (uint8_t)(nl + 3);
		b[n++] = 0; b[n++] = 0; b[n++] = (uint8_t)nl;
		memcpy(b + n, name, nl); n += nl;
	}
	b[ext] = (uint8_t)((n - ext - 2) >> 8); b[ext + 1] = (uint8_t)(n - ext - 2);
	b[body - 3] = 0; b[body - 2] = (uint8_t)((n - body) >> 8); b[body - 1] = (uint8_t)(n - body);
	b[3] = (uint8_t)((n - 5) >> 8); b[4] = (uint8_t)(n - 5);
	return (n);
}

static void
test_sniff(void)
{
	enum proxy_sniff_kind	k;
	char			h[256];
	uint8_t			b[512];
	size_t			n;
	const char		*get = "GET /x HTTP/1.1\r\nAccept: */*\r\nHost: Files.Example.org:8080\r\n\r\n";

	n = client_hello(b, "demo.org");
	tap_ok(proxy_sniff(b, n, &k, h) == PARSE_OK && k == SNIFF_TLS &&
	    strcmp(h, "demo.org") == 0, "TLS: the server name");
	tap_ok(proxy_sniff(b, n - 1, &k, h) == PARSE_MORE, "TLS: a partial record: more");
	tap_ok(proxy_sniff(b, 3, &k, h) == PARSE_MORE, "TLS: a partial header: more");
	n = client_hello(b, NULL);
	tap_ok(proxy_sniff(b, n, &k, h) == PARSE_OK && k == SNIFF_TLS && h[0] == '\0',
	    "TLS without server_name: TLS, no name");
	n = client_hello(b, "a b");
	tap_ok(proxy_sniff(b, n, &k, h) == PARSE_OK && h[0] == '\0',
	    "TLS: a server name with a space is no name");
	b[1] = 2;
	tap_ok(proxy_sniff(b, n, &k, h) == PARSE_BAD, "not TLS 1.x: neither");
	tap_ok(proxy_sniff((const uint8_t *)get, strlen(get), &k, h) == PARSE_OK &&
	    k == SNIFF_HTTP && strcmp(h, "Files.Example.org") == 0, "HTTP: the Host, no port");
	tap_ok(proxy_sniff((const uint8_t *)get, 30, &k, h) == PARSE_MORE, "HTTP: a partial head: more");
	tap_ok(proxy_sniff((const uint8_t *)"PUT / HTTP/1.0\nHOST: [2001:db8::1]:80\n\n", 39,
	    &k, h) == PARSE_OK && strcmp(h, "2001:db8::1") == 0, "HTTP: an IPv6 Host, brackets off");
	tap_ok(proxy_sniff((const uint8_t *)"GET / HTTP/1.0\r\n\r\n", 18, &k, h) == PARSE_OK &&
	    k == SNIFF_HTTP && h[0] == '\0', "HTTP/1.0 without Host: HTTP, no name");
	tap_ok(proxy_sniff((const uint8_t *)"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 32, &k, h) ==
	    PARSE_BAD, "an ssh banner: neither");
	tap_ok(proxy_sniff((const uint8_t *)"\0\1", 2, &k, h) == PARSE_BAD, "binary: neither");
	tap_ok(proxy_sniff((const uint8_t *)"", 0, &k, h) == PARSE_MORE, "nothing yet: more");
}

static void
test_dns(void)
{
	static const uint8_t	qa[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	    "\x03WWW\x07" "example\x03org\x00\x00\x01\x00\x01";
	static const uint8_t	qbad[] = "\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	    "\x03" "a.b\x00\x00\x01\x00\x01";
	static const uint8_t	qptr[] = "\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	    "\xc0\x0c\x00\x01\x00\x01";
	struct proxy_dns_q	q;
	uint8_t			rc, out[DNS_MAX_UDP], addrs[2][16] = { { 192, 0, 2, 1 },
				    { 198, 51, 100, 2 } };
	size_t			n;

	tap_ok(proxy_dns_parse(qa, sizeof qa - 1, &q, &rc) == PARSE_OK && rc == 0 &&
	    q.id == 0x1234 && q.rd && strcmp(q.name, "www.example.org") == 0 && q.name_ok &&
	    q.qtype == DNS_TYPE_A && q.qclass == DNS_CLASS_IN, "DNS: an A question, lower case");
	n = proxy_dns_reply(out, sizeof out, &q, DNS_RCODE_OK, AF_INET,
	    (const uint8_t (*)[16])addrs, 2, 30);
	tap_ok(n == sizeof qa - 1 + 2 * 16 && out[0] == 0x12 && out[2] == 0x81 &&
	    out[3] == 0x80 && out[7] == 2 && memcmp(out + n - 4, addrs[1], 4) == 0,
	    "DNS: the answer has two A records after the question");
	n = proxy_dns_reply(out, sizeof out, &q, DNS_RCODE_REFUSED, AF_INET, NULL, 0, 30);
	tap_ok(n == sizeof qa - 1 && (out[3] & 0xf) == DNS_RCODE_REFUSED && out[7] == 0,
	    "DNS: REFUSED, no answer");
	tap_ok(proxy_dns_parse(qbad, sizeof qbad - 1, &q, &rc) == PARSE_OK && rc == 0 &&
	    !q.name_ok, "DNS: a dot inside a label is no host name");
	tap_ok(proxy_dns_parse(qptr, sizeof qptr - 1, &q, &rc) == PARSE_OK &&
	    rc == DNS_RCODE_FORMERR, "DNS: a compression pointer in a question: FORMERR");
	tap_ok(proxy_dns_parse(qa, 20, &q, &rc) == PARSE_OK && rc == DNS_RCODE_FORMERR,
	    "DNS: a cut question: FORMERR");
	{
		uint8_t	big[300] = { 0, 9, 1, 0, 0, 1 }, many[16][16];
		size_t	k = 12;

		for (int l = 0; l < 4; l++) {		/* a 4 x 60-byte name */
			big[k++] = 60;
			memset(big + k, 'a' + l, 60);
			k += 60;
		}
		big[k++] = 0;
		big[k++] = 0; big[k++] = DNS_TYPE_AAAA; big[k++] = 0; big[k++] = 1;
		memset(many, 0x20, sizeof many);
		tap_ok(proxy_dns_parse(big, k, &q, &rc) == PARSE_OK && rc == 0 && q.name_ok,
		    "DNS: a 244-byte name");
		n = proxy_dns_reply(out, sizeof out, &q, DNS_RCODE_OK, AF_INET6,
		    (const uint8_t (*)[16])many, 16, 30);
		tap_ok(n <= 512 && n == k + (size_t)out[7] * 28 && out[7] == 8 && out[6] == 0,
		    "DNS: 16 AAAA for it: 8 fit in 512 bytes, and the count says 8 (%zu bytes)", n);
	}
	out[0] = 0; out[1] = 1; out[2] = 0x81;
	tap_ok(proxy_dns_parse(out, 12, &q, &rc) == PARSE_BAD, "DNS: an answer is dropped");
	tap_ok(proxy_dns_parse(qa, 5, &q, &rc) == PARSE_BAD, "DNS: a runt is dropped");
	memcpy(out, qa, sizeof qa - 1);
	out[2] = 0x29;		/* opcode 5, UPDATE */
	tap_ok(proxy_dns_parse(out, sizeof qa - 1, &q, &rc) == PARSE_OK &&
	    rc == DNS_RCODE_NOTIMP, "DNS: another opcode: NOTIMP");
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

	test_sniff();
	test_dns();
	return (tap_done());
}
