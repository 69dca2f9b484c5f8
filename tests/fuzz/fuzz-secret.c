/* fuzz-secret.c: libFuzzer harness for the swap of secrets in HTTP heads
 * (secret-http.c), as an intercepted connection does it: the input is cut
 * at its head's end and read as a request to a host that one of two
 * secrets names, and as a response. Whatever the bytes: a request that is
 * let through holds no placeholder of the named secret and none of the
 * other (that one is refused), a response holds no value, and a head
 * reframed for a rewritten body says chunked once and no length. The
 * same bytes are read as a session's secrets (secrets_decode, what a
 * client reads from the session's supervisor): what decodes encodes to
 * bytes that decode to the same secrets. And as a stream searched for a
 * placeholder (secret_scan), cut into pieces whose sizes the bytes pick:
 * the pieces find the secret the whole finds, and none before the piece
 * that completes it. And as a response body swapped back whole
 * (secret_unswap_next): no plain value is left; and a Basic credential
 * made of the bytes (a user name from them, one of the values) and put
 * between them comes back as the base64 of user:placeholder. Each with
 * two sets of secrets: placeholders of the standard length, and
 * placeholders as long as their values, where an echoed credential comes
 * back as long as it was and a response keeps its Content-Length.
 * Build and run: tests/fuzz/run.sh, or make fuzz. */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "network/secret-http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Two sets of two secrets: values shorter than a placeholder (which has
 * the standard length), and values whose placeholders are as long as
 * they are (secrets_same_length). */
static struct secret	sv[2], lv[2];
static struct secrets	ss = { .v = sv, .n = 2 }, sl = { .v = lv, .n = 2 };

static void
setup_one(struct secret *x, const char *name, char *value, char digit, size_t plen)
{
	x->name = (char *)name;
	x->value = value;
	x->len = strlen(value);
	x->plen = plen;
	memcpy(x->placeholder, SECRET_PREFIX, SECRET_PREFIX_LEN);
	memset(x->placeholder + SECRET_PREFIX_LEN, digit, plen - SECRET_PREFIX_LEN);
	x->placeholder[plen] = '\0';
}

static void
setup(void)
{
	static char	va[] = "value-of-a-1234", vb[] = "vb-56789";
	static char	vc[] = "value-of-c-0123456789abcdefghi";
	static char	vd[] = "vd-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

	setup_one(&sv[0], "A", va, 'a', SECRET_PLACEHOLDER_STD);
	setup_one(&sv[1], "B", vb, 'b', SECRET_PLACEHOLDER_STD);
	setup_one(&lv[0], "C", vc, 'c', strlen(vc));
	setup_one(&lv[1], "D", vd, 'd', strlen(vd));
	assert(!secrets_same_length(&ss) && secrets_same_length(&sl));
}

static bool
has(const char *buf, size_t n, const char *s, size_t sl)
{
	return (memmem(buf, n, s, sl) != NULL);
}

/* A session's secrets: decoded, encoded, decoded again, the same. */
static void
fuzz_decode(const char *in, size_t size)
{
	struct secrets	 a, b;
	struct merr	 e;
	char		*text;
	size_t		 n;

	if (secrets_decode(&a, in, size, &e) == -1)
		return;
	text = secrets_encode(&a, &n);
	assert(secrets_decode(&b, text, n, &e) == 0);
	assert(a.n == b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert(strcmp(a.v[i].name, b.v[i].name) == 0);
		assert(strcmp(a.v[i].placeholder, b.v[i].placeholder) == 0);
		assert(a.v[i].len == b.v[i].len &&
		    memcmp(a.v[i].value, b.v[i].value, a.v[i].len) == 0);
		assert(a.v[i].hosts.n == b.v[i].hosts.n);
		assert(strlen(a.v[i].placeholder) == a.v[i].plen &&
		    a.v[i].plen >= SECRET_PLACEHOLDER_MIN &&
		    a.v[i].plen <= SECRET_PLACEHOLDER_MAX);
	}
	free(text);
	secrets_release(&a);
	secrets_release(&b);
}

/* The sampled search against the exact one, from each start. */
static void
fuzz_unswap_same(const struct secrets *set, const char *in, size_t size,
    size_t pos, bool final)
{
	size_t	 a1 = 0, e1 = 0, l1 = 0, a2 = 0, e2 = 0, l2 = 0;
	char	*r1 = NULL, *r2 = NULL;
	int	 c1 = secret_unswap_next(set, in, size, pos, final, &a1, &e1, &r1, &l1);
	int	 c2 = secret_unswap_exact(set, in, size, pos, final, &a2, &e2, &r2, &l2);

	assert(c1 == c2);
	if (c1 != 0)
		assert(a1 == a2);
	if (c1 == 1)
		assert(e1 == e2 && l1 == l2 && memcmp(r1, r2, l1) == 0);
	free(r1);
	free(r2);
}

/* A body with every value, and base64 token holding one, replaced. (With
 * placeholders as long as their values a replacement may still be longer
 * than what it replaces: a value glued to the unpadded base64 that holds
 * it, which the sink refuses; secrets-tls.sh.) */
static void
fuzz_unswap(const struct secrets *set, const char *in, size_t size)
{
	fuzz_unswap_same(set, in, size, 0, true);
	fuzz_unswap_same(set, in, size, 0, false);
	if (size > 0)
		fuzz_unswap_same(set, in, size, (size_t)(unsigned char)in[0] % size, true);
	struct sbuf	 ob = { NULL, 0, 0 };
	size_t		 pos = 0, at, end, rl;
	char		*r;
	int		 rc;

	while ((rc = secret_unswap_next(set, in, size, pos, true, &at, &end, &r,
	    &rl)) == 1) {
		assert(at >= pos && end > at && end <= size);
		sbuf_add(&ob, in + pos, at - pos);
		sbuf_add(&ob, r, rl);
		free(r);
		pos = end;
	}
	assert(rc == 0);
	sbuf_add(&ob, in + pos, size - pos);
	if (ob.p == NULL)
		return;
	assert(!has(ob.p, ob.len, set->v[0].value, set->v[0].len));
	assert(!has(ob.p, ob.len, set->v[1].value, set->v[1].len));
	/* Not final: a token that reaches the end may be held back, but
	 * what is found is within the text. */
	if ((rc = secret_unswap_next(set, in, size, 0, false, &at, &end, &r,
	    &rl)) == 1)
		free(r);
	assert(rc == 0 || at <= size);
	free(ob.p);
}

/* "Basic " and the base64 of user:value, between text of the input that
 * holds no base64 character next to it: comes back as user:placeholder. */
static void
fuzz_basic(const struct secrets *set, const uint8_t *data, size_t size)
{
	const struct secret	*sv = set->v, *x = &sv[size > 0 ? data[0] & 1 : 0];
	char			 cred[64 + 1 + 64], enc[4 * (sizeof cred / 3 + 1) + 1];
	char			 text[2 * 64 + sizeof enc + 16], *r, *dec;
	size_t			 ul = 0, cl, tl = 0, pos = 0, at, end, rl, el;
	unsigned char		 back[sizeof enc];
	int			 n;

	for (size_t i = 1; i < size && ul < 64; i++)
		if (data[i] >= 0x21 && data[i] < 0x7f && data[i] != ':')
			cred[ul++] = (char)data[i];
	/* A user name that holds a value has it swapped too: not this test. */
	if (has(cred, ul, sv[0].value, sv[0].len) || has(cred, ul, sv[1].value, sv[1].len))
		return;
	memcpy(cred + ul, ":", 1);
	memcpy(cred + ul + 1, x->value, x->len);
	cl = ul + 1 + x->len;
	el = (size_t)EVP_EncodeBlock((unsigned char *)enc, (unsigned char *)cred, (int)cl);
	for (size_t i = 1; i < size && tl < 64; i++)
		text[tl++] = isalnum(data[i]) || data[i] == '+' || data[i] == '/' ||
		    data[i] == '=' ? '.' : (char)data[i];
	memcpy(text + tl, " Basic ", 7);
	tl += 7;
	memcpy(text + tl, enc, el);
	tl += el;
	text[tl++] = '"';
	assert(secret_unswap_next(set, text, tl, pos, true, &at, &end, &r, &rl) == 1);
	assert(at == tl - 1 - el && end == tl - 1);
	n = EVP_DecodeBlock(back, (unsigned char *)r, (int)rl);
	assert(n >= 0);
	dec = (char *)back;
	assert((size_t)n >= ul + 1 + x->plen);
	assert(memcmp(dec, cred, ul + 1) == 0);
	assert(memcmp(dec + ul + 1, x->placeholder, x->plen) == 0);
	if (secrets_same_length(set))
		assert(rl == el);
	free(r);
}

/* The stream in pieces against the whole of it. */
static void
fuzz_scan(const struct secrets *set, const uint8_t *data, size_t size)
{
	struct secret_scan	 whole = { 0 }, st = { 0 };
	const struct secret	*w, *x = NULL;
	size_t			 off = 0, k = 0;
	uint64_t		 mask = size > 0 && (data[0] & 1) ? 2 : 3;
	const struct secrets	 ss = *set;
	const struct secret	*sv = set->v;

	w = secret_scan(&whole, &ss, mask, data, size);
	while (off < size && x == NULL) {
		/* Piece sizes from the bytes themselves: 1 to 64. */
		size_t	n = (size_t)(data[k++ % size] % 64) + 1;

		if (n > size - off)
			n = size - off;
		x = secret_scan(&st, &ss, mask, data + off, n);
		if (x != NULL) {
			/* Found in this piece: not in what came before it. */
			struct secret_scan	 before = { 0 };

			assert(secret_scan(&before, &ss, mask, data, off) == NULL);
		}
		off += n;
	}
	assert(x == w);
	if (w != NULL)
		assert(mask & (1ULL << (size_t)(w - sv)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secret_http_msg	 m;
	enum secret_http_rc	 rc;
	const char		*why = NULL;
	char			*out = NULL;
	size_t			 olen = 0, hl;
	const char		*in = (const char *)data;

	if (sv[0].name == NULL)
		setup();
	fuzz_decode(in, size);
	fuzz_scan(&ss, data, size);
	fuzz_scan(&sl, data, size);
	fuzz_unswap(&ss, in, size);
	fuzz_unswap(&sl, in, size);
	fuzz_basic(&ss, data, size);
	fuzz_basic(&sl, data, size);
	if (secret_http_head_end(in, size, &hl) != SH_OK)
		return (0);
	rc = secret_http_request(&ss, 1, in, hl, &out, &olen, &m, &why);
	if (rc == SH_OK) {
		assert(out != NULL && olen >= 2);
		assert(!has(out, olen, sv[0].placeholder, sv[0].plen));
		assert(!has(out, olen, sv[1].placeholder, sv[1].plen));
		assert(!has(in, hl, sv[1].placeholder, sv[1].plen));
		assert(memcmp(out + olen - 2, "\r\n", 2) == 0);
		assert(strlen(m.method) > 0 && m.path[0] != '\0');
		if (has(in, hl, sv[0].placeholder, sv[0].plen))
			assert(m.swapped == 1);
	} else if (rc == SH_FOREIGN)
		assert(m.foreign == &sv[1]);
	else
		assert(rc == SH_BAD && why != NULL);
	free(out);
	out = NULL;
	for (int body = SH_BODY_KEEP; body <= 2 * SH_BODY_CLOSE + 1; body++) {
		const struct secrets	*set = body > SH_BODY_CLOSE ? &sl : &ss;
		bool			 keep = body > SH_BODY_CLOSE;
		enum secret_http_body	 b = (enum secret_http_body)(body % (SH_BODY_CLOSE + 1));

		rc = secret_http_response(set, in, hl, size % 2 == 0, b, keep,
		    &out, &olen, &m, &why);
		if (rc == SH_OK) {
			bool	has_body = m.status / 100 != 1 && m.status != 204 &&
				    m.status != 304 && size % 2 != 0;

			/* Neither value can be rebuilt across a swap: none
			 * overlaps the placeholders' text. */
			assert(!has(out, olen, set->v[0].value, set->v[0].len));
			assert(!has(out, olen, set->v[1].value, set->v[1].len));
			/* Reframed unless kept as it came: asked for, or a
			 * length the swap keeps. */
			assert(m.reframed == (b != SH_BODY_KEEP && has_body &&
			    !(keep && m.clen >= 0 && !m.chunked)));
			if (b == SH_BODY_CHUNKED && m.reframed)
				assert(has(out, olen, "Transfer-Encoding: chunked\r\n", 28));
		} else
			assert(rc == SH_BAD && why != NULL);
		free(out);
		out = NULL;
	}
	return (0);
}
