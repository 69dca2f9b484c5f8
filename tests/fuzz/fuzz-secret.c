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
 * that completes it.
 * Build and run: tests/fuzz/run.sh, or make fuzz. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "network/secret-http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct secret	sv[2];
static struct secrets	ss = { .v = sv, .n = 2 };

static void
setup(void)
{
	static const char	*names[2] = { "A", "B" };
	static char		*values[2] = { "value-of-a-1234", "vb-5678" };

	for (int i = 0; i < 2; i++) {
		sv[i].name = (char *)names[i];
		sv[i].value = values[i];
		sv[i].len = strlen(values[i]);
		memcpy(sv[i].placeholder, SECRET_PREFIX, sizeof SECRET_PREFIX - 1);
		memset(sv[i].placeholder + sizeof SECRET_PREFIX - 1, i == 0 ? 'a' : 'b', 32);
		sv[i].placeholder[SECRET_PLACEHOLDER_LEN] = '\0';
	}
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
		assert(strlen(a.v[i].placeholder) == SECRET_PLACEHOLDER_LEN);
	}
	free(text);
	secrets_release(&a);
	secrets_release(&b);
}

/* The stream in pieces against the whole of it. */
static void
fuzz_scan(const uint8_t *data, size_t size)
{
	struct secret_scan	 whole = { 0 }, st = { 0 };
	const struct secret	*w, *x = NULL;
	size_t			 off = 0, k = 0;
	uint64_t		 mask = size > 0 && (data[0] & 1) ? 2 : 3;

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
	fuzz_scan(data, size);
	if (secret_http_head_end(in, size, &hl) != SH_OK)
		return (0);
	rc = secret_http_request(&ss, 1, in, hl, &out, &olen, &m, &why);
	if (rc == SH_OK) {
		assert(out != NULL && olen >= 2);
		assert(!has(out, olen, sv[0].placeholder, SECRET_PLACEHOLDER_LEN));
		assert(!has(out, olen, sv[1].placeholder, SECRET_PLACEHOLDER_LEN));
		assert(!has(in, hl, sv[1].placeholder, SECRET_PLACEHOLDER_LEN));
		assert(memcmp(out + olen - 2, "\r\n", 2) == 0);
		assert(strlen(m.method) > 0 && m.path[0] != '\0');
		if (has(in, hl, sv[0].placeholder, SECRET_PLACEHOLDER_LEN))
			assert(m.swapped == 1);
	} else if (rc == SH_FOREIGN)
		assert(m.foreign == &sv[1]);
	else
		assert(rc == SH_BAD && why != NULL);
	free(out);
	out = NULL;
	for (int body = SH_BODY_KEEP; body <= SH_BODY_CLOSE; body++) {
		rc = secret_http_response(&ss, in, hl, size % 2 == 0,
		    (enum secret_http_body)body, &out, &olen, &m, &why);
		if (rc == SH_OK) {
			/* Neither value can be rebuilt across a swap: none
			 * overlaps the placeholders' text. */
			assert(!has(out, olen, sv[0].value, sv[0].len));
			assert(!has(out, olen, sv[1].value, sv[1].len));
			if (body == SH_BODY_CHUNKED && m.status / 100 != 1 &&
			    m.status != 204 && m.status != 304 && size % 2 != 0)
				assert(has(out, olen, "Transfer-Encoding: chunked\r\n", 28));
		} else
			assert(rc == SH_BAD && why != NULL);
		free(out);
		out = NULL;
	}
	return (0);
}
