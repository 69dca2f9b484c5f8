/* fuzz-sniff.c: libFuzzer harness for the first-bytes reader of
 * transparent connections (proxy-sniff.c): a TLS ClientHello's server name
 * or an HTTP request's Host, fed whole and in two pieces, and the name
 * handed to the allowlist's normaliser (allow.c) as the proxy does.
 * Build and run: tests/fuzz/run.sh, or make fuzz. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "network/allow.h"
#include "network/proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum proxy_sniff_kind	 kind, k2;
	enum proxy_parse	 r, r2;
	char			 host[256], h2[256];
	struct allow_target	 t;

	r = proxy_sniff(data, size, &kind, host);
	assert(strlen(host) < sizeof host);
	if (r != PARSE_OK)
		assert(kind == SNIFF_NONE && host[0] == '\0');
	else
		assert(kind == SNIFF_TLS || kind == SNIFF_HTTP);
	for (const char *p = host; *p != '\0'; p++)
		assert(*p > ' ' && *p < 0x7f);
	/* A prefix never decides differently: more bytes, or the same. */
	if (size > 1) {
		r2 = proxy_sniff(data, size / 2, &k2, h2);
		if (r2 == PARSE_BAD)
			assert(r == PARSE_BAD);
		if (r2 == PARSE_OK && size / 2 < PROXY_HEAD_MAX)
			assert(r == PARSE_OK && k2 == kind && strcmp(h2, host) == 0);
	}
	if (host[0] != '\0' && allow_target_set(&t, host, 443) == 0)
		assert(t.host[0] != '\0');
	return (0);
}
