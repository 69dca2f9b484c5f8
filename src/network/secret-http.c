/* secret-http.c: HTTP/1.1 message heads read and rewritten for a run's
 * secrets: the placeholder becomes the value on the way to a secret's host
 * (request line, headers, Basic credentials), the value becomes the
 * placeholder on the way back. Pure functions; the proxy's interception
 * threads call them (intercept.c), the fuzzer too. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "secret-http.h"

/* A growing buffer, local to this file. */
enum secret_http_rc
secret_http_head_end(const char *buf, size_t len, size_t *head_len)
{
	size_t	max = len < SECRET_HTTP_HEAD_MAX ? len : SECRET_HTTP_HEAD_MAX;

	for (size_t i = 0; i < max; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < max && buf[i + 1] == '\n') {
			*head_len = i + 2;
			return (SH_OK);
		}
		if (i + 2 < max && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			*head_len = i + 3;
			return (SH_OK);
		}
	}
	return (len >= SECRET_HTTP_HEAD_MAX ? SH_TOO_LARGE : SH_MORE);
}

const struct secret *
secret_http_placeholder_in(const struct secrets *s, const void *buf, size_t len)
{
	if (s == NULL || len < SECRET_PLACEHOLDER_MIN ||
	    memmem(buf, len, SECRET_PREFIX, SECRET_PREFIX_LEN) == NULL)
		return (NULL);
	for (size_t i = 0; i < s->n; i++)
		if (memmem(buf, len, s->v[i].placeholder, s->v[i].plen) != NULL)
			return (&s->v[i]);
	return (NULL);
}

/* The first placeholder of a masked secret in buf: every occurrence of
 * the common prefix, then the digits after it against each secret's. */
static const struct secret *
scan_buf(const struct secrets *s, uint64_t mask, const char *buf, size_t len)
{
	const size_t	 pl = SECRET_PREFIX_LEN;
	const char	*m, *end = buf + len;

	while ((size_t)(end - buf) >= SECRET_PLACEHOLDER_MIN &&
	    (m = memmem(buf, (size_t)(end - buf), SECRET_PREFIX, pl)) != NULL) {
		if ((size_t)(end - m) < SECRET_PLACEHOLDER_MIN)
			break;
		for (size_t i = 0; i < s->n && i < 64; i++)
			if ((mask & (1ULL << i)) && (size_t)(end - m) >= s->v[i].plen &&
			    memcmp(m + pl, s->v[i].placeholder + pl,
			    s->v[i].plen - pl) == 0)
				return (&s->v[i]);
		buf = m + 1;
	}
	return (NULL);
}

const struct secret *
secret_scan(struct secret_scan *st, const struct secrets *s, uint64_t mask,
    const void *data, size_t len)
{
	const char		*buf = data;
	const struct secret	*x;
	size_t			 keep;

	if (s == NULL || s->n == 0 || mask == 0)
		return (NULL);
	/* Enough for the longest placeholder less its last byte. */
	keep = secrets_plen_max(s) - 1;
	/* Across the cut: the tail and the first bytes of buf. */
	if (st->ntail > 0) {
		char	j[2 * sizeof st->tail];
		size_t	head = len < keep ? len : keep;

		memcpy(j, st->tail, st->ntail);
		memcpy(j + st->ntail, buf, head);
		if ((x = scan_buf(s, mask, j, st->ntail + head)) != NULL)
			return (x);
	}
	if ((x = scan_buf(s, mask, buf, len)) != NULL)
		return (x);
	/* The new tail: the last keep bytes of the tail and buf. */
	if (len >= keep) {
		memcpy(st->tail, buf + len - keep, keep);
		st->ntail = keep;
	} else {
		size_t	old = st->ntail + len > keep ? keep - len : st->ntail;

		memmove(st->tail, st->tail + st->ntail - old, old);
		memcpy(st->tail + old, buf, len);
		st->ntail = old + len;
	}
	return (NULL);
}

/* Appends s (n bytes) to out with each occurrence of from replaced by to. */
static void
replace_into(struct sbuf *out, const char *s, size_t n, const char *from,
    size_t flen, const char *to, size_t tlen)
{
	const char	*m;

	while (n > 0 && (m = memmem(s, n, from, flen)) != NULL) {
		sbuf_add(out, s, (size_t)(m - s));
		sbuf_add(out, to, tlen);
		n -= (size_t)(m - s) + flen;
		s = m + flen;
	}
	sbuf_add(out, s, n);
}

static char	*swap_line(const struct secrets *, uint64_t, bool, const char *,
		    size_t, size_t *);

static bool
b64char(unsigned char c)
{
	return (isalnum(c) || c == '+' || c == '/');
}

/* The base64 of the value's bytes that do not share a group with what
 * precedes it, when a bytes come before the value within a group (0, 1,
 * 2): *skip value bytes are left out in front. */
static size_t
b64_core(const struct secret *x, int a, char *out, size_t *skip)
{
	size_t	s = (size_t)((3 - a) % 3), g;

	*skip = s;
	if (x->len < s + 6)
		return (0);
	g = (x->len - s) / 3;
	return ((size_t)EVP_EncodeBlock((unsigned char *)out,
	    (const unsigned char *)x->value + s, (int)(3 * g)));
}

/* A base64 token around a core found at m (a group boundary): its span
 * [*ts, *te) from its first whole group, or false when it runs on past
 * max characters (not a credential: lo, where the search began, ends
 * it on the left). *open: it reaches len, and more of it may follow. */
static bool
b64_token(const char *buf, size_t len, size_t lo, size_t m, size_t clen,
    size_t max, size_t *ts, size_t *te, bool *open)
{
	size_t	s = m, e = m + clen;

	while (s > lo && m - s <= max && b64char((unsigned char)buf[s - 1]))
		s--;
	if (s > lo && b64char((unsigned char)buf[s - 1]))
		return (false);		/* longer than a credential */
	s += (m - s) % 4;	/* whole groups before the core */
	while (e < len && e - s <= max && b64char((unsigned char)buf[e]))
		e++;
	if (e < len && b64char((unsigned char)buf[e]))
		return (false);
	*open = e == len;
	if (e < len && buf[e] == '=') {
		e++;
		*open = false;
		if (e < len && buf[e] == '=')
			e++;
		else if (e == len)
			*open = true;
	}
	*ts = s;
	*te = e;
	return (true);
}

/* The search of secret_unswap_next in matches that begin in [from, hi):
 * tokens reach back to lo and on to len. */
static int
unswap_exact(const struct secrets *s, const char *buf, size_t len, size_t lo,
    size_t from0, size_t hi, bool final, size_t *at, size_t *end, char **repl,
    size_t *rlen)
{
	size_t	 best = len + 1, bend = 0, pos = lo;
	char	*brepl = NULL;
	size_t	 brlen = 0;
	int	 brc = 0;

	for (size_t i = 0; s != NULL && i < s->n; i++) {
		const struct secret	*x = &s->v[i];
		const char		*m;
		size_t			 top = hi + x->len - 1 < len ? hi + x->len - 1 : len;

		if (x->len == 0 || from0 >= top)
			continue;
		if ((m = memmem(buf + from0, top - from0, x->value, x->len)) != NULL &&
		    (size_t)(m - buf) < best) {
			free(brepl);
			best = (size_t)(m - buf);
			bend = best + x->len;
			brepl = xmalloc(x->plen);
			memcpy(brepl, x->placeholder, x->plen);
			brlen = x->plen;
			brc = 1;
		}
		for (int a = 0; a < 3; a++) {
			char		 core[4 * (SECRET_VALUE_MAX / 3) + 8];
			size_t		 clen, skip, from = from0, ctop;

			if ((clen = b64_core(x, a, core, &skip)) == 0)
				continue;
			ctop = hi + clen - 1 < len ? hi + clen - 1 : len;
			while (from < ctop && (m = memmem(buf + from, ctop - from,
			    core, clen)) != NULL && (size_t)(m - buf) < best) {
				size_t		 ts, te, dl, tl, pad;
				bool		 open;
				unsigned char	*d;
				int		 n;

				from = (size_t)(m - buf) + 1;
				if (!b64_token(buf, len, pos, (size_t)(m - buf), clen,
				    SECRET_B64_TOKEN_MAX(x->len), &ts, &te, &open))
					continue;
				if (ts >= best)
					break;
				/* Longer than a credential: not one moat rewrites. */
				if (te - ts > SECRET_B64_TOKEN_MAX(x->len))
					continue;
				if (open && !final) {
					/* It may go on: hold it back whole. */
					free(brepl);
					brepl = NULL;
					best = ts;
					brc = 2;
					break;
				}
				tl = (te - ts) & ~(size_t)3;
				if (tl == 0)
					continue;
				/* EVP_DecodeBlock counts the padding as zeros. */
				pad = (buf[ts + tl - 1] == '=') + (buf[ts + tl - 2] == '=');
				d = xmalloc(tl / 4 * 3 + 1);
				n = EVP_DecodeBlock(d, (const unsigned char *)buf + ts,
				    (int)tl);
				dl = n < 0 || (size_t)n < pad ? 0 : (size_t)n - pad;
				if (memmem(d, dl, x->value, x->len) != NULL) {
					size_t		 nl;
					char		*nd = swap_line(s, 0, false,
					    (const char *)d, dl, &nl);
					char		*enc = xmalloc(4 * ((nl + 2) / 3) + 1);

					free(brepl);
					brlen = (size_t)EVP_EncodeBlock((unsigned char *)enc,
					    (unsigned char *)nd, (int)nl);
					brepl = enc;
					explicit_bzero(nd, nl);
					free(nd);
					best = ts;
					bend = ts + tl;
					brc = 1;
					/* Whole groups the swap left as they were at the
					 * token's end stay in the text, which is searched
					 * on from there: a value that begins in them
					 * and runs on past the token is found whole. */
					while (bend - best >= 4 && brlen >= 4 &&
					    memcmp(buf + bend - 4, brepl + brlen - 4, 4) == 0) {
						bend -= 4;
						brlen -= 4;
					}
					/* A value that begins inside the token and
					 * runs on past it would come back whole (its
					 * start re-encoded as it was): the rest of it
					 * is the placeholder. */
					for (size_t y = 0; y < s->n; y++) {
						const struct secret	*v = &s->v[y];
						size_t			 vtop = bend + v->len - 1;
						const char		*q = buf + best;

						if (v->len == 0 || vtop > len)
							vtop = len;
						/* (One wholly inside was decoded with it.) */
						do
							q = (size_t)(q + 1 - buf) < vtop ? memmem(q + 1,
							    vtop - (size_t)(q + 1 - buf), v->value,
							    v->len) : NULL;
						while (q != NULL && (size_t)(q - buf) + v->len <= bend);
						if (q == NULL)
							continue;
						brepl = xrealloc(brepl, brlen + v->plen);
						memcpy(brepl + brlen, v->placeholder,
						    v->plen);
						brlen += v->plen;
						bend = (size_t)(q - buf) + v->len;
						break;
					}
				}
				explicit_bzero(d, tl / 4 * 3 + 1);
				free(d);
				if (brc == 1 && best == ts)
					break;
			}
		}
	}
	if (brc == 0)
		return (0);
	*at = best;
	*end = bend;
	*repl = brepl;
	*rlen = brlen;
	return (brc);
}

int
secret_unswap_exact(const struct secrets *s, const char *buf, size_t len,
    size_t pos, bool final, size_t *at, size_t *end, char **repl, size_t *rlen)
{
	return (pos >= len ? 0 : unswap_exact(s, buf, len, pos, pos, len, final,
	    at, end, repl, rlen));
}

/* A needle's 4-byte windows in a 2^16-bit table. */
#define FIND_BITS	16
static inline uint32_t
find_hash(const char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return ((v * 2654435761u) >> (32 - FIND_BITS));
}

static void
find_add(uint64_t *bits, const char *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++) {
		uint32_t	h = find_hash(p + i);

		bits[h >> 6] |= 1ULL << (h & 63);
	}
}

/*
 * One pass for every secret: the text is sampled every k bytes, k the
 * shortest needle (a value, or a core of its base64) less 3, and each
 * sample's 4 bytes looked up among the needles' windows. A needle that
 * occurs covers a sample with all 4 of its bytes, so a sample that is in
 * no needle rules out every occurrence around it; only around a sample
 * that is, the needles are searched for (unswap_exact). The shift of
 * memmem made four passes (the value and three cores) per secret cost a
 * fifth of the relay's time.
 */
int
secret_unswap_next(const struct secrets *s, const char *buf, size_t len,
    size_t pos, bool final, size_t *at, size_t *end, char **repl, size_t *rlen)
{
	uint64_t	 bits[(1 << FIND_BITS) / 64];
	size_t		 minl = SIZE_MAX, maxl = 0, maxv = 0, k, smp, cap;

	if (s == NULL || s->n == 0 || pos >= len)
		return (0);
	memset(bits, 0, sizeof bits);
	for (size_t i = 0; i < s->n; i++) {
		const struct secret	*x = &s->v[i];
		char			 core[4 * (SECRET_VALUE_MAX / 3) + 8];
		size_t			 clen, skip;

		if (x->len < 4)
			continue;
		find_add(bits, x->value, x->len);
		minl = x->len < minl ? x->len : minl;
		maxl = x->len > maxl ? x->len : maxl;
		maxv = x->len > maxv ? x->len : maxv;
		for (int a = 0; a < 3; a++)
			if ((clen = b64_core(x, a, core, &skip)) >= 4) {
				find_add(bits, core, clen);
				minl = clen < minl ? clen : minl;
				maxl = clen > maxl ? clen : maxl;
			}
	}
	if (maxl == 0)
		return (0);
	k = minl > 4 ? minl - 3 : 1;
	for (smp = pos; smp + 4 <= len;) {
		uint32_t	h = find_hash(buf + smp);
		size_t		from, hi;
		int		rc;

		if (!(bits[h >> 6] & (1ULL << (h & 63)))) {
			smp += k;
			continue;
		}
		/* Needles around the sample, and what a token found there
		 * may reach: searched exactly. A token that begins before hi
		 * may have its core past hi (a long token, its core near its
		 * end): cores are looked for a token's length further (cap),
		 * and what is found counts only when it begins before hi, so
		 * that it is the first (secret_unswap_exact's); one that
		 * begins later is found again from a later sample. */
		from = smp + 4 > maxl && smp + 4 - maxl > pos ? smp + 4 - maxl : pos;
		hi = smp + 1 + SECRET_B64_TOKEN_MAX(maxv);
		if (hi > len)
			hi = len;
		cap = hi + SECRET_B64_TOKEN_MAX(maxv) < len ?
		    hi + SECRET_B64_TOKEN_MAX(maxv) : len;
		if ((rc = unswap_exact(s, buf, len, pos, from, cap, final, at, end,
		    repl, rlen)) != 0 && *at < hi)
			return (rc);
		if (rc == 1) {
			explicit_bzero(*repl, *rlen);
			free(*repl);
			*repl = NULL;
		}
		/* Nothing begins in [from, hi): the samples go on from hi. */
		smp = hi;
	}
	return (0);
}

/* A whole text with every value, and every base64 token holding one,
 * replaced by the placeholder. */
static char *
unswap_all(const struct secrets *s, const char *buf, size_t len, size_t *outlen)
{
	struct sbuf	 ob = { NULL, 0, 0 };
	size_t		 pos = 0, at, end, rl;
	char		*r;

	while (secret_unswap_next(s, buf, len, pos, true, &at, &end, &r, &rl) == 1) {
		sbuf_add(&ob, buf + pos, at - pos);
		sbuf_add(&ob, r, rl);
		free(r);
		pos = end;
	}
	sbuf_add(&ob, buf + pos, len - pos);
	*outlen = ob.len;
	return (ob.p);
}

/* One line (no line end) with every swap done: to_value, each named
 * secret's placeholder to its value; else each value to its placeholder. */
static char *
swap_line(const struct secrets *s, uint64_t named, bool to_value,
    const char *line, size_t n, size_t *outlen)
{
	struct sbuf	 cur = { NULL, 0, 0 };

	sbuf_add(&cur, line, n);
	for (size_t i = 0; i < s->n && i < 64; i++) {
		const struct secret	*x = &s->v[i];
		struct sbuf		 next = { NULL, 0, 0 };

		if (to_value && !(named & (1ULL << i)))
			continue;
		if (to_value)
			replace_into(&next, cur.p, cur.len, x->placeholder,
			    x->plen, x->value, x->len);
		else
			replace_into(&next, cur.p, cur.len, x->value, x->len,
			    x->placeholder, x->plen);
		if (next.p == NULL)
			sbuf_add(&next, "", 0);
		explicit_bzero(cur.p, cur.len);
		free(cur.p);
		cur = next;
	}
	*outlen = cur.len;
	return (cur.p);
}

static bool
tchar(unsigned char c)
{
	return (isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Does a comma-separated header value hold the token (case ignored)? */
static bool
has_token(const char *v, size_t n, const char *tok)
{
	size_t	tl = strlen(tok);

	for (size_t i = 0; i < n;) {
		size_t	j;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		j = i;
		while (j < n && v[j] != ',')
			j++;
		{
			size_t	k = j;

			while (k > i && (v[k - 1] == ' ' || v[k - 1] == '\t'))
				k--;
			if (k - i == tl && strncasecmp(v + i, tok, tl) == 0)
				return (true);
		}
		i = j;
	}
	return (false);
}

/* The last token of a comma-separated value, case ignored. */
static bool
last_token_is(const char *v, size_t n, const char *tok)
{
	size_t	tl = strlen(tok);

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return (n >= tl && strncasecmp(v + n - tl, tok, tl) == 0 &&
	    (n == tl || v[n - tl - 1] == ',' || v[n - tl - 1] == ' ' ||
	    v[n - tl - 1] == '\t'));
}

/* Basic credentials: the decoded user:password of a header value, or NULL. */
static unsigned char *
basic_decode(const char *v, size_t n, size_t *dlen)
{
	unsigned char	*d;
	int		 len;
	size_t		 pad = 0;

	if (n < 6 || strncasecmp(v, "Basic ", 6) != 0)
		return (NULL);
	v += 6;
	n -= 6;
	while (n > 0 && *v == ' ') {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n % 4 != 0 || n > 8192)
		return (NULL);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '+' && v[i] != '/' &&
		    !(v[i] == '=' && i >= n - 2))
			return (NULL);
	pad = (v[n - 1] == '=') + (v[n - 2] == '=');
	d = xmalloc(n / 4 * 3 + 1);
	if ((len = EVP_DecodeBlock(d, (const unsigned char *)v, (int)n)) < 0 ||
	    (size_t)len < pad) {
		free(d);
		return (NULL);
	}
	*dlen = (size_t)len - pad;
	d[*dlen] = '\0';
	return (d);
}

/* The header fields both directions read; -1 with *why on a malformed one. */
static int
header_field(const char *line, size_t n, struct secret_http_msg *m,
    size_t *vstart, const char **why)
{
	size_t	colon = 0, v;

	while (colon < n && line[colon] != ':') {
		if (!tchar((unsigned char)line[colon])) {
			*why = colon == 0 && (line[0] == ' ' || line[0] == '\t') ?
			    "a folded header line" : "a header name with a bad byte";
			return (-1);
		}
		colon++;
	}
	if (colon == 0 || colon == n) {
		*why = "a header line without a name and a colon";
		return (-1);
	}
	for (v = colon + 1; v < n && (line[v] == ' ' || line[v] == '\t'); v++)
		;
	for (size_t i = v; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
			*why = "a control byte in a header value";
			return (-1);
		}
	*vstart = v;
	if (colon == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
		int64_t	cl = 0;
		size_t	i = v, end = n;

		while (end > v && (line[end - 1] == ' ' || line[end - 1] == '\t'))
			end--;
		if (i == end) {
			*why = "an empty Content-Length";
			return (-1);
		}
		for (; i < end; i++) {
			if (!isdigit((unsigned char)line[i]) || cl > INT64_MAX / 10 - 10) {
				*why = "a Content-Length that is not a number";
				return (-1);
			}
			cl = cl * 10 + (line[i] - '0');
		}
		if (m->clen != -1 && m->clen != cl) {
			*why = "two different Content-Length headers";
			return (-1);
		}
		m->clen = cl;
	} else if (colon == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
		m->chunked = last_token_is(line + v, n - v, "chunked");
		if (!m->chunked) {
			*why = "a Transfer-Encoding that does not end in chunked";
			return (-1);
		}
	} else if (colon == 10 && strncasecmp(line, "Connection", 10) == 0) {
		if (has_token(line + v, n - v, "close"))
			m->close = true;
		if (has_token(line + v, n - v, "keep-alive") && m->minor == 0)
			m->close = false;
		if (has_token(line + v, n - v, "upgrade"))
			m->upgrade = true;
	}
	return (0);
}

/* The target for an event: its path, the query replaced by "?...". */
static void
target_path(struct secret_http_msg *m, const char *t, size_t n)
{
	const char	*q;

	if (n > 8 && (strncasecmp(t, "https://", 8) == 0 || strncasecmp(t, "http://", 7) == 0)) {
		const char	*p = memchr(t + 8, '/', n - 8);
		size_t		 skip = p != NULL ? (size_t)(p - t) : n;

		t += skip;
		n -= skip;
		if (n == 0) {
			t = "/";
			n = 1;
		}
	}
	if ((q = memchr(t, '?', n)) != NULL)
		snprintf(m->path, sizeof m->path, "%.*s?...", (int)(q - t), t);
	else
		snprintf(m->path, sizeof m->path, "%.*s", (int)n, t);
}

/* The next line of a head: [*pos, end of line), *next after its line end. */
static size_t
next_line(const char *h, size_t len, size_t pos, size_t *next)
{
	const char	*nl = memchr(h + pos, '\n', len - pos);
	size_t		 e = nl != NULL ? (size_t)(nl - h) : len;

	*next = nl != NULL ? e + 1 : len;
	if (e > pos && h[e - 1] == '\r')
		e--;
	return (e - pos);
}

/* A foreign placeholder: in the head, or inside a Basic credential. */
static const struct secret *
foreign_in(const struct secrets *s, uint64_t named, const char *buf, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if ((i >= 64 || !(named & (1ULL << i))) &&
		    memmem(buf, n, s->v[i].placeholder, s->v[i].plen) != NULL)
			return (&s->v[i]);
	return (NULL);
}

static uint64_t
swapped_in(const struct secrets *s, uint64_t named, const char *buf, size_t n)
{
	uint64_t	b = 0;

	for (size_t i = 0; i < s->n && i < 64; i++)
		if ((named & (1ULL << i)) &&
		    memmem(buf, n, s->v[i].placeholder, s->v[i].plen) != NULL)
			b |= 1ULL << i;
	return (b);
}

/* Whether a head's body has a Content-Length and is not chunked (the
 * lines of a malformed head are the main pass's to refuse). */
static bool
has_length(const char *head, size_t len)
{
	struct secret_http_msg	t;
	size_t			pos, next, n, vs;
	const char		*why;

	memset(&t, 0, sizeof t);
	t.clen = -1;
	next_line(head, len, 0, &pos);
	for (; pos < len; pos = next) {
		if ((n = next_line(head, len, pos, &next)) == 0)
			break;
		if (header_field(head + pos, n, &t, &vs, &why) == -1)
			return (false);
	}
	return (t.clen >= 0 && !t.chunked);
}

static enum secret_http_rc
message(const struct secrets *s, uint64_t named, bool request, const char *head,
    size_t len, bool head_request, enum secret_http_body body, bool keep_length,
    char **out, size_t *outlen, struct secret_http_msg *m, const char **why)
{
	bool		 reframe = false;
	struct sbuf	 ob = { NULL, 0, 0 };
	size_t		 pos = 0, next, n, he;
	const char	*sp1, *sp2, *ver;

	memset(m, 0, sizeof *m);
	m->clen = -1;
	*out = NULL;
	*outlen = 0;
	if (secret_http_head_end(head, len, &he) != SH_OK || he != len) {
		*why = "not one complete message head";
		return (SH_BAD);
	}
	if (memchr(head, '\0', len) != NULL) {
		*why = "a NUL byte in the head";
		return (SH_BAD);
	}
	m->head_len = len;
	n = next_line(head, len, 0, &next);
	sp1 = memchr(head, ' ', n);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - head)) : NULL;
	if (!request && sp1 != NULL && sp2 == NULL && head + n - sp1 == 4)
		sp2 = head + n;		/* "HTTP/1.1 204": no reason phrase */
	if (sp1 == NULL || sp2 == NULL) {
		*why = request ? "a request line is METHOD TARGET HTTP/1.x" :
		    "a status line is HTTP/1.x CODE REASON";
		return (SH_BAD);
	}
	ver = request ? sp2 + 1 : head;
	if ((size_t)(head + n - ver) < 8 || strncmp(ver, "HTTP/1.", 7) != 0 ||
	    (ver[7] != '0' && ver[7] != '1') ||
	    (request ? ver + 8 != head + n : ver + 8 != sp1)) {
		*why = "not HTTP/1.0 or HTTP/1.1";
		return (SH_BAD);
	}
	m->minor = ver[7] - '0';
	m->close = m->minor == 0;
	if (request) {
		size_t	ml = (size_t)(sp1 - head);

		if (ml == 0 || ml >= sizeof m->method) {
			*why = "a method of 1 to 15 letters";
			return (SH_BAD);
		}
		for (size_t i = 0; i < ml; i++)
			if (!tchar((unsigned char)head[i])) {
				*why = "a method with a bad byte";
				return (SH_BAD);
			}
		memcpy(m->method, head, ml);
		m->method[ml] = '\0';
		for (const char *t = sp1 + 1; t < sp2; t++)
			if ((unsigned char)*t <= 0x20 || *t == 0x7f) {
				*why = "a request target with a control byte";
				return (SH_BAD);
			}
		if (sp2 == sp1 + 1) {
			*why = "an empty request target";
			return (SH_BAD);
		}
		target_path(m, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	} else {
		if (sp2 - sp1 != 4 || !isdigit((unsigned char)sp1[1]) ||
		    !isdigit((unsigned char)sp1[2]) || !isdigit((unsigned char)sp1[3])) {
			/* "HTTP/1.1 200" with no reason: sp2 is missing */
			*why = "a status line's code is three digits";
			return (SH_BAD);
		}
		m->status = (sp1[1] - '0') * 100 + (sp1[2] - '0') * 10 + (sp1[3] - '0');
		reframe = body != SH_BODY_KEEP && m->status / 100 != 1 &&
		    m->status != 204 && m->status != 304 && !head_request &&
		    !(keep_length && has_length(head, len));
		m->reframed = reframe;
	}
	if (request) {
		if ((m->foreign = foreign_in(s, named, head, len)) != NULL)
			return (SH_FOREIGN);
		m->swapped = swapped_in(s, named, head, len);
	}
	/* The start line, then each header, swapped; the blank line last. */
	for (pos = 0; pos < len; pos = next) {
		char		*sw;
		size_t		 swlen, vstart = 0;
		const char	*line = head + pos;

		n = next_line(head, len, pos, &next);
		if (n == 0)
			break;		/* the blank line */
		if (pos > 0 && header_field(line, n, m, &vstart, why) == -1) {
			free(ob.p);
			return (SH_BAD);
		}
		/* A body moat rewrites is framed anew: its length changes. */
		if (reframe && (strncasecmp(line, "Content-Length:", 15) == 0 ||
		    strncasecmp(line, "Transfer-Encoding:", 18) == 0 ||
		    (body == SH_BODY_CLOSE && strncasecmp(line, "Connection:", 11) == 0)))
			continue;
		if (request && pos > 0 && (strncasecmp(line, "Authorization:", 14) == 0 ||
		    strncasecmp(line, "Proxy-Authorization:", 20) == 0)) {
			unsigned char	*d;
			size_t		 dl;

			if ((d = basic_decode(line + vstart, n - vstart, &dl)) != NULL) {
				const struct secret	*f = foreign_in(s, named,
				    (const char *)d, dl);

				if (f != NULL) {
					free(d);
					free(ob.p);
					m->foreign = f;
					return (SH_FOREIGN);
				}
				m->swapped |= swapped_in(s, named, (const char *)d, dl);
				if (swapped_in(s, named, (const char *)d, dl) != 0) {
					size_t		 nl;
					char		*nd = swap_line(s, named, true,
					    (const char *)d, dl, &nl);
					unsigned char	*enc = xmalloc(4 * ((nl + 2) / 3) + 1);
					int		 el = EVP_EncodeBlock(enc,
					    (unsigned char *)nd, (int)nl);

					sbuf_add(&ob, line, vstart);
					sbuf_add(&ob, "Basic ", 6);
					sbuf_add(&ob, enc, (size_t)el);
					sbuf_add(&ob, "\r\n", 2);
					explicit_bzero(nd, nl);
					explicit_bzero(enc, (size_t)el);
					free(nd);
					free(enc);
					explicit_bzero(d, dl);
					free(d);
					continue;
				}
				free(d);
			}
		}
		sw = request ? swap_line(s, named, true, line, n, &swlen) :
		    unswap_all(s, line, n, &swlen);
		sbuf_add(&ob, sw, swlen);
		sbuf_add(&ob, "\r\n", 2);
		explicit_bzero(sw, swlen);
		free(sw);
	}
	if (reframe)
		sbuf_add(&ob, body == SH_BODY_CHUNKED ? "Transfer-Encoding: chunked\r\n" :
		    "Connection: close\r\n", body == SH_BODY_CHUNKED ? 28 : 19);
	sbuf_add(&ob, "\r\n", 2);
	if (m->chunked)
		m->clen = -1;	/* chunked wins over a length (RFC 9112 6.3) */
	if (!request && (m->status / 100 == 1 || m->status == 204 ||
	    m->status == 304 || head_request)) {
		m->chunked = false;
		m->clen = 0;
	}
	*out = ob.p;
	*outlen = ob.len;
	return (SH_OK);
}

enum secret_http_rc
secret_http_request(const struct secrets *s, uint64_t named, const char *head,
    size_t len, char **out, size_t *outlen, struct secret_http_msg *m,
    const char **why)
{
	return (message(s, named, true, head, len, false, SH_BODY_KEEP, false, out,
	    outlen, m, why));
}

enum secret_http_rc
secret_http_response(const struct secrets *s, const char *head, size_t len,
    bool head_request, enum secret_http_body body, bool keep_length, char **out,
    size_t *outlen, struct secret_http_msg *m, const char **why)
{
	return (message(s, 0, false, head, len, head_request, body, keep_length,
	    out, outlen, m, why));
}
