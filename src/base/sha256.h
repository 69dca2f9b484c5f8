/* sha256.h: SHA-256 (FIPS 180-4), small and dependency-free, for the audit
 * log's output digests and hash chain. Any process. */
#ifndef MOAT_SHA256_H
#define MOAT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32
#define SHA256_HEX_LEN	65	/* 64 hex digits and the NUL */

struct sha256 {
	uint32_t	h[8];
	uint64_t	len;		/* bytes hashed so far */
	uint8_t		buf[64];
	size_t		nbuf;
};

void	sha256_init(struct sha256 *);
void	sha256_update(struct sha256 *, const void *, size_t);
void	sha256_final(struct sha256 *, uint8_t[SHA256_LEN]);
void	sha256_final_hex(struct sha256 *, char[SHA256_HEX_LEN]);
/* One call: the hex digest of a buffer. */
void	sha256_hex(const void *, size_t, char[SHA256_HEX_LEN]);

#endif
