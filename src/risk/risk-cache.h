/* risk-cache.h: the risk rules as read, kept in $XDG_CACHE_HOME/moat
 * between runs under a key of the rules files' identity (risk-cache.c).
 * Supervisor and front ends. */
#ifndef MOAT_RISK_CACHE_H
#define MOAT_RISK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/sha256.h"
#include "risk.h"

/* The rules kept under key, or NULL (none, not the user's, another key,
 * damaged). */
struct risk_rules	*risk_cache_load(const uint8_t key[SHA256_LEN]);
/* Keeps rs under key (best effort: nothing is said when it cannot). */
void			 risk_cache_store(const uint8_t key[SHA256_LEN],
			    const struct risk_rules *);
/* The file's bytes and their reading (for the fuzzer too): encode returns
 * an owned buffer of *len bytes; decode 0 with *out, or -1. */
char			*risk_cache_encode(const uint8_t key[SHA256_LEN],
			    const struct risk_rules *, size_t *len);
/* Writes the checksum of buf's len - 8 first bytes into its last 8. */
void			 risk_cache_seal(void *buf, size_t len);
int			 risk_cache_decode(const void *, size_t, const uint8_t key[SHA256_LEN],
			    struct risk_rules **out);

#endif
