/* filter-cache.h: the compiled seccomp program kept between runs in
 * $XDG_CACHE_HOME/moat (filter-cache.c). Supervisor, before clone. */
#ifndef MOAT_FILTER_CACHE_H
#define MOAT_FILTER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "base/sha256.h"
#include "profile/profile.h"

/* The key of a program: this moat binary (its device, inode, size and
 * mtime), lib (libseccomp's version), the kernel (uname), flags, and the
 * profile's seccomp-deny and seccomp-allow lists. -1 when /proc/self/exe
 * cannot be read: then nothing is cached. */
int	 filter_cache_key(const struct profile *, unsigned flags, const char *lib,
	    uint8_t key[SHA256_LEN]);
/* A cache file's bytes into f (f->prog.filter allocated) when they are
 * whole, name key, and hold flags that filter_compile would leave for want;
 * else -1 and f empty. */
int	 filter_cache_parse(const void *, size_t, const uint8_t key[SHA256_LEN],
	    unsigned want, struct filter *f);
/* The bytes of a cache file for f (allocated; *len set). */
void	*filter_cache_format(const uint8_t key[SHA256_LEN], const struct filter *,
	    size_t *len);
/* The cached program for key, when there is a usable one: 0, else -1. */
int	 filter_cache_load(const uint8_t key[SHA256_LEN], unsigned want,
	    struct filter *);
/* Keeps f for key; best effort, silent. */
void	 filter_cache_store(const uint8_t key[SHA256_LEN], const struct filter *);

#endif
