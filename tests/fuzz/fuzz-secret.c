/* fuzz-secret.c: libFuzzer harness for the swap of secrets in HTTP heads
 * (secret-http.c), as an intercepted connection does it: the input is cut
 * at its head's end and read as a request to a host that one of two
 * secrets names, and as a response. Whatever the bytes: a request that is
 * let through holds no placeholder of the named secret and none of the
 * other (that one is refused), a response holds no value, and a head
 * reframed for a rewritten body says chunked once and no length.
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
