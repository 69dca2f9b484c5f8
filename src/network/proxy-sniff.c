/* proxy-sniff.c: the host name in the first bytes of a transparent
 * connection, for a client that connected to an address without asking the
 * proxies: a TLS ClientHello's server_name extension (RFC 6066), or an
 * HTTP/1 request's Host header. Pure functions on bytes; fuzzed
 * (tests/fuzz/fuzz-sniff.c). Supervisor only. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy.h"
#include "base/util.h"

#define TLS_HANDSHAKE		22
#define TLS_CLIENT_HELLO	1
#define TLS_EXT_SERVER_NAME	0
#define TLS_RECORD_MAX		(16384 + 256)	/* a plaintext record, with slack */

static unsigned
be16(const uint8_t *p)
{
	return ((unsigned)p[0] << 8 | p[1]);
}

/* A name as a host would write it: copied when it fits and holds no byte a
 * name cannot have; the allowlist validates it further. */
static void
sniff_copy_name(char host[256], const uint8_t *p, size_t len)
{
	host[0] = '\0';
	if (len == 0 || len > 255)
		return;
	for (size_t i = 0; i < len; i++)
		if (p[i] <= ' ' || p[i] >= 0x7f)
			return;
	memcpy(host, p, len);
	host[len] = '\0';
}

/* The server_name of a ClientHello whose record is complete in b[0..n).
 * Anything malformed leaves host empty: a TLS client that names no server
 * is judged by its address. */
static void
sniff_tls_sni(const uint8_t *b, size_t n, char host[256])
{
	const uint8_t	*p = b + 5, *end = b + n;
	size_t		 hlen, l;

	host[0] = '\0';
	if (end - p < 4 || p[0] != TLS_CLIENT_HELLO)
		return;
	hlen = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	p += 4;
	/* A ClientHello continued in a later record: read what this one has. */
	if (hlen < (size_t)(end - p))
		end = p + hlen;
	/* version, random */
	if (end - p < 2 + 32 + 1)
		return;
	p += 2 + 32;
	l = p[0];				/* session id */
	p += 1;
	if ((size_t)(end - p) < l + 2)
		return;
	p += l;
	l = be16(p);				/* cipher suites */
	p += 2;
	if ((size_t)(end - p) < l + 1)
		return;
	p += l;
	l = p[0];				/* compression methods */
	p += 1;
	if ((size_t)(end - p) < l + 2)
		return;
	p += l;
	l = be16(p);				/* extensions */
	p += 2;
	if ((size_t)(end - p) > l)
		end = p + l;
	while (end - p >= 4) {
		unsigned	 type = be16(p);
		size_t		 elen = be16(p + 2);
		const uint8_t	*e, *eend;

		p += 4;
		if ((size_t)(end - p) < elen)
			return;
		if (type != TLS_EXT_SERVER_NAME) {
			p += elen;
			continue;
		}
		/* server_name_list: a 2-byte length, then entries of a type
		 * byte and a 2-byte length; host_name is type 0. */
		e = p;
		eend = p + elen;
		if (eend - e < 2)
			return;
		if ((size_t)(eend - e - 2) > be16(e))
			eend = e + 2 + be16(e);
		e += 2;
		while (eend - e >= 3) {
			unsigned	nt = e[0];
			size_t		nl = be16(e + 1);

			e += 3;
			if ((size_t)(eend - e) < nl)
				return;
			if (nt == 0) {
				sniff_copy_name(host, e, nl);
				return;
			}
			e += nl;
		}
		return;
	}
}

/* An HTTP/1 request line's method: a token of capitals ("GET", "PROPFIND"). */
static bool
sniff_http_method(const uint8_t *b, size_t n, bool *complete)
{
	size_t	i;

	*complete = false;
	for (i = 0; i < n && i < 24; i++) {
		if (b[i] == ' ') {
			*complete = true;
			return (i > 0);
		}
		if (!isupper(b[i]) && b[i] != '-' && b[i] != '_')
			return (false);
	}
	return (i == n && n < 24);
}

/* The Host header's host part (no port, no brackets) of a complete head. */
static void
sniff_http_host(const char *head, size_t n, char host[256])
{
	const char	*p = memchr(head, '\n', n), *end = head + n;

	host[0] = '\0';
	while (p != NULL && p + 1 < end) {
		const char	*line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
		const char	*v, *ve;

		if (eol == NULL)
			return;
		p = eol;
		if ((size_t)(eol - line) < 5 || strncasecmp(line, "host:", 5) != 0)
			continue;
		v = line + 5;
		ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (v < ve && *v == '[') {
			const char *rb = memchr(v, ']', (size_t)(ve - v));

			if (rb == NULL)
				return;
			sniff_copy_name(host, (const uint8_t *)v + 1, (size_t)(rb - v - 1));
			return;
		}
		{
			const char *colon = memchr(v, ':', (size_t)(ve - v));

			sniff_copy_name(host, (const uint8_t *)v, (size_t)((colon != NULL ?
			    colon : ve) - v));
		}
		return;
	}
}

enum proxy_parse
proxy_sniff(const uint8_t *b, size_t n, enum proxy_sniff_kind *kind, char host[256])
{
	bool	complete;

	*kind = SNIFF_NONE;
	host[0] = '\0';
	if (n == 0)
		return (PARSE_MORE);
	if (b[0] == TLS_HANDSHAKE) {
		size_t	rlen;

		if (n >= 2 && b[1] != 3)
			return (PARSE_BAD);
		if (n < 5)
			return (PARSE_MORE);
		rlen = be16(b + 3);
		if (rlen == 0 || rlen > TLS_RECORD_MAX)
			return (PARSE_BAD);
		if (n < 5 + rlen && n < PROXY_HEAD_MAX)
			return (PARSE_MORE);
		*kind = SNIFF_TLS;
		sniff_tls_sni(b, n < 5 + rlen ? n : 5 + rlen, host);
		return (PARSE_OK);
	}
	if (!sniff_http_method(b, n, &complete))
		return (PARSE_BAD);
	{
		const char	*s = (const char *)b, *eol, *hend;
		size_t		 ll;

		/* The request line: METHOD SP TARGET SP HTTP/1.x */
		if ((eol = memchr(s, '\n', n)) == NULL)
			return (n < PROXY_HEAD_MAX ? PARSE_MORE : PARSE_BAD);
		ll = (size_t)(eol - s);
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		if (ll < 14 || memcmp(s + ll - 9, " HTTP/1.", 8) != 0 ||
		    !isdigit((unsigned char)s[ll - 1]))
			return (PARSE_BAD);
		hend = NULL;
		for (const char *q = eol; q != NULL && q < s + n; ) {
			const char *nx = memchr(q + 1, '\n', (size_t)(s + n - q - 1));

			if (nx == NULL)
				break;
			/* a line holding nothing, or only a CR */
			if (nx == q + 1 || (nx == q + 2 && q[1] == '\r')) {
				hend = nx + 1;
				break;
			}
			q = nx;
		}
		if (hend == NULL)
			return (n < PROXY_HEAD_MAX ? PARSE_MORE : PARSE_BAD);
		*kind = SNIFF_HTTP;
		sniff_http_host(s, (size_t)(hend - s), host);
		return (PARSE_OK);
	}
}
