/* fuzz-bpf-cache.c: filter_cache_parse (src/sandbox/filter-cache.c), the
 * reader of a cached seccomp program. Each input is read twice: as it is,
 * and with its trailing checksum made right, so the checks behind the
 * checksum are reached too. A file taken holds 1 to BPF_MAXINSNS
 * instructions, flags filter_compile could have left for the flags asked,
 * and is exactly what filter_cache_format writes for that program. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/filter-cache.h"

static const uint8_t	key[SHA256_LEN] = {
	0x6d, 0x6f, 0x61, 0x74, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
};

static void
one(const uint8_t *data, size_t size, unsigned want)
{
	struct filter	f;
	void		*b;
	size_t		 n;

	if (filter_cache_parse(data, size, key, want, &f) == -1) {
		assert(f.prog.filter == NULL && f.prog.len == 0);
		return;
	}
	assert(f.prog.len >= 1 && f.prog.len <= BPF_MAXINSNS);
	assert((f.flags & ~want) == 0);
	assert((want & ~f.flags) == 0 || (want & ~f.flags) == FILTER_CONNECT);
	b = filter_cache_format(key, &f, &n);
	assert(n == size && memcmp(b, data, n) == 0);
	free(b);
	free(f.prog.filter);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned	wants[] = {
		0, FILTER_NOTIFY, FILTER_NOTIFY | FILTER_OBSERVE_WRITE |
		FILTER_OBSERVE_CONNECT, FILTER_NOTIFY | FILTER_CONNECT |
		FILTER_EXEC_TRAIL,
	};
	uint8_t		*fixed;
	struct sha256	 h;

	for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
		one(data, size, wants[i]);
	if (size < SHA256_LEN)
		return (0);
	fixed = malloc(size);
	memcpy(fixed, data, size);
	sha256_init(&h);
	sha256_update(&h, fixed, size - SHA256_LEN);
	sha256_final(&h, fixed + size - SHA256_LEN);
	for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
		one(fixed, size, wants[i]);
	free(fixed);
	return (0);
}
