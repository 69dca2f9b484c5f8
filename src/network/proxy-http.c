/* proxy-http.c: the HTTP proxy's request parser and replies. CONNECT
 * host:port for tunnels (HTTPS, ssh), absolute-URI requests for plain HTTP,
 * rewritten to origin-form with "Connection: close". Pure functions on bytes;
 * fuzzed (tests/fuzz/). Supervisor only. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy.h"
#include "base/util.h"

/* Hop-by-hop and proxy-only headers, which never reach the origin. */
static const char *const http_drop[] = {
	"connection", "proxy-connection", "keep-alive", "proxy-authorization",
	"proxy-authenticate", "te", "trailer", "upgrade",
};

void
proxy_http_req_release(struct proxy_http_req *req)
{
	free(req->fwd);
	req->fwd = NULL;
	req->fwd_len = 0;
}

static bool
http_tchar(char c)
{
	return (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* host:port or [v6]:port; port is required unless defport != 0. */
static int
http_authority(const char *s, size_t len, unsigned defport, char *host,
    size_t hostsz, unsigned *port)
{
	const char		*h = s, *colon = NULL;
	size_t			 hl;
	unsigned long long	 v;
	char			 pbuf[8];

	if (len == 0)
		return (-1);
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL)
			return (-1);
		h = s + 1;
		hl = (size_t)(rb - h);
		if (rb + 1 < s + len) {
			if (rb[1] != ':')
				return (-1);
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		hl = colon != NULL ? (size_t)(colon - s) : len;
	}
	if (hl == 0 || hl >= hostsz)
		return (-1);
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)h[i]) && strchr(".-_:", h[i]) == NULL)
			return (-1);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon == NULL) {
		if (defport == 0)
			return (-1);
		*port = defport;
		return (0);
	}
	len -= (size_t)(colon + 1 - s);
	if (len == 0 || len >= sizeof pbuf)
		return (-1);
	memcpy(pbuf, colon + 1, len);
	pbuf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)pbuf[i]))
			return (-1);
	if (parse_uint(pbuf, 65535, &v) == -1 || v == 0)
		return (-1);
	*port = (unsigned)v;
	return (0);
}

/* The end of the head: just past the first empty line (CRLF or bare LF). */
static size_t
http_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return (i + 2);
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return (i + 3);
	}
	return (0);
}

/* One line of [p, end): its length without the CR LF; *next past the LF. */
static size_t
http_line(const char *p, const char *end, const char **next)
{
	const char	*lf = memchr(p, '\n', (size_t)(end - p));
	size_t		 n;

	if (lf == NULL) {
		*next = end;
		return ((size_t)(end - p));
	}
	*next = lf + 1;
	n = (size_t)(lf - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return (n);
}

static void
http_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap == 0 ? 1024 : *cap * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

enum proxy_parse
proxy_http_parse(const char *buf, size_t len, struct proxy_http_req *req,
    const char **why)
{
	const char	*p, *end, *next, *sp1, *sp2, *target, *path;
	size_t		 ll, mlen, tlen, alen, vlen, head;
	char		*fwd = NULL;
	size_t		 flen = 0, fcap = 0;
	bool		 have_host = false;

	memset(req, 0, sizeof *req);
	if (memchr(buf, '\0', len < PROXY_HEAD_MAX ? len : PROXY_HEAD_MAX) != NULL) {
		*why = "NUL byte in the request head";
		return (PARSE_BAD);
	}
	/* Judge the request line as soon as it is complete, so junk is
	 * refused at once rather than after the head fills up. */
	if ((head = http_head_end(buf, len)) == 0) {
		if (len >= PROXY_HEAD_MAX) {
			*why = "request head larger than 16 KiB";
			return (PARSE_BAD);
		}
		if (memchr(buf, '\n', len) == NULL)
			return (PARSE_MORE);
	}
	if (head > PROXY_HEAD_MAX) {
		*why = "request head larger than 16 KiB";
		return (PARSE_BAD);
	}
	end = buf + (head != 0 ? head : len);
	ll = http_line(buf, end, &next);
	sp1 = memchr(buf, ' ', ll);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - buf)) : NULL;
	if (sp1 == NULL || sp2 == NULL) {
		*why = "malformed request line";
		return (PARSE_BAD);
	}
	mlen = (size_t)(sp1 - buf);
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	vlen = ll - (size_t)(sp2 + 1 - buf);
	if (mlen == 0 || mlen > 32 || tlen == 0) {
		*why = "malformed request line";
		return (PARSE_BAD);
	}
	for (size_t i = 0; i < mlen; i++)
		if (!http_tchar(buf[i])) {
			*why = "malformed method";
			return (PARSE_BAD);
		}
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= ' ' || (unsigned char)target[i] >= 0x7f) {
			*why = "malformed request target";
			return (PARSE_BAD);
		}
	if (vlen != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.0", 8) != 0)) {
		*why = "not HTTP/1.0 or HTTP/1.1";
		return (PARSE_BAD);
	}
	req->connect = mlen == 7 && memcmp(buf, "CONNECT", 7) == 0;
	if (req->connect) {
		if (http_authority(target, tlen, 0, req->host, sizeof req->host,
		    &req->port) == -1) {
			*why = "CONNECT wants host:port";
			return (PARSE_BAD);
		}
		path = NULL;
		alen = 0;
	} else {
		if (tlen < 8 || strncasecmp(target, "http://", 7) != 0) {
			*why = tlen > 0 && target[0] == '/' ?
			    "not a proxy request (origin-form target)" :
			    "only http:// URLs and CONNECT are proxied";
			return (PARSE_BAD);
		}
		target += 7;
		tlen -= 7;
		for (alen = 0; alen < tlen && strchr("/?#", target[alen]) == NULL;
		    alen++)
			;
		if (memchr(target, '@', alen) != NULL ||
		    http_authority(target, alen, 80, req->host, sizeof req->host,
		    &req->port) == -1) {
			*why = "malformed host in URL";
			return (PARSE_BAD);
		}
		path = target + alen;
	}
	if (head == 0)
		return (PARSE_MORE);
	req->head_len = head;

	if (!req->connect) {
		http_append(&fwd, &flen, &fcap, buf, mlen + 1);
		if (path == sp2 || *path != '/')
			http_append(&fwd, &flen, &fcap, "/", 1);
		http_append(&fwd, &flen, &fcap, path, (size_t)(sp2 - path));
		http_append(&fwd, &flen, &fcap, sp2, vlen + 1);
		http_append(&fwd, &flen, &fcap, "\r\n", 2);
	}
	/* Headers: validate all; copy the end-to-end ones for plain HTTP. */
	for (p = next; p < end; p = next) {
		const char	*colon;
		size_t		 nl;
		bool		 drop = false;

		ll = http_line(p, end, &next);
		if (ll == 0)
			break;
		if (p[0] == ' ' || p[0] == '\t') {
			*why = "obsolete header line folding";
			free(fwd);
			return (PARSE_BAD);
		}
		if ((colon = memchr(p, ':', ll)) == NULL || colon == p) {
			*why = "malformed header line";
			free(fwd);
			return (PARSE_BAD);
		}
		nl = (size_t)(colon - p);
		for (size_t i = 0; i < nl; i++)
			if (!http_tchar(p[i])) {
				*why = "malformed header name";
				free(fwd);
				return (PARSE_BAD);
			}
		if (req->connect)
			continue;
		for (size_t i = 0; i < nitems(http_drop); i++)
			if (strlen(http_drop[i]) == nl &&
			    strncasecmp(p, http_drop[i], nl) == 0)
				drop = true;
		if (nl == 4 && strncasecmp(p, "host", 4) == 0)
			have_host = true;
		if (!drop) {
			http_append(&fwd, &flen, &fcap, p, ll);
			http_append(&fwd, &flen, &fcap, "\r\n", 2);
		}
	}
	if (!req->connect) {
		if (!have_host) {
			http_append(&fwd, &flen, &fcap, "Host: ", 6);
			http_append(&fwd, &flen, &fcap, target, alen);
			http_append(&fwd, &flen, &fcap, "\r\n", 2);
		}
		http_append(&fwd, &flen, &fcap, "Connection: close\r\n\r\n", 21);
		req->fwd = fwd;
		req->fwd_len = flen;
	}
	return (PARSE_OK);
}

static const char *
http_reason(int code)
{
	switch (code) {
	case 200:	return ("Connection established");
	case 400:	return ("Bad Request");
	case 403:	return ("Forbidden");
	case 502:	return ("Bad Gateway");
	case 503:	return ("Service Unavailable");
	case 504:	return ("Gateway Timeout");
	}
	return ("Error");
}

size_t
proxy_http_reply(char *out, size_t size, int code, const char *body)
{
	int	n;

	if (code == 200)
		n = snprintf(out, size, "HTTP/1.1 200 Connection established\r\n\r\n");
	else
		n = snprintf(out, size, "HTTP/1.1 %d %s\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Length: %zu\r\n"
		    "Connection: close\r\n"
		    "\r\n%s\n", code, http_reason(code), strlen(body) + 1, body);
	if (n < 0)
		return (0);
	return ((size_t)n < size ? (size_t)n : size - 1);
}
