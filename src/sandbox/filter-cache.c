/* filter-cache.c: the compiled seccomp program kept between runs, in the
 * supervisor. libseccomp takes about half a millisecond to turn the deny list
 * into BPF, before the clone, on every run; the program is the same for the
 * same profile lists, flags, kernel, libseccomp and moat binary. So
 * filter_compile_cached (filter.c) keeps it in $XDG_CACHE_HOME/moat, one file
 * per key, the key a SHA-256 of all of those.
 *
 * A file is used only when it is a regular file of the user's that no one
 * else may write, in a directory of the user's that no one else may write,
 * and it names the same key and its checksum holds; anything else is
 * compiled afresh and the file replaced. The checksum finds damage (a file
 * cut short, a byte changed), not a forgery: whoever can write the user's
 * own files can rewrite the profiles there as well, so the cache is trusted
 * as those are, and no shipped profile binds the cache into a sandbox.
 *
 * The file: "MOATBPF1", the key (32 bytes), the program's flags and its
 * length in instructions (two 32-bit words, host order), the instructions,
 * and a SHA-256 of everything before it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "filter-cache.h"
#include "base/sha256.h"
#include "base/util.h"

#define FILTER_CACHE_MAGIC	"MOATBPF1"
#define FILTER_CACHE_HEAD	(8 + SHA256_LEN + 4 + 4)
/* Every flag filter_compile reads. */
#define FILTER_CACHE_FLAGS	(FILTER_NOTIFY | FILTER_OBSERVE_WRITE | \
    FILTER_OBSERVE_CONNECT | FILTER_CONNECT | FILTER_EXEC_TRAIL)

static void
key_str(struct sha256 *h, const char *s)
{
	sha256_update(h, s, strlen(s) + 1);
}

int
filter_cache_key(const struct profile *p, unsigned flags, const char *lib,
    uint8_t key[SHA256_LEN])
{
	struct sha256	h;
	struct stat	st;
	struct utsname	u;
	char		buf[128];

	/* This very binary: the groups and the code that compiles them. */
	if (stat("/proc/self/exe", &st) == -1 || uname(&u) == -1)
		return (-1);
	sha256_init(&h);
	key_str(&h, FILTER_CACHE_MAGIC);
	snprintf(buf, sizeof buf, "%llu %llu %lld %lld.%09ld",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	key_str(&h, buf);
	/* What libseccomp asks the kernel decides parts of the program. */
	key_str(&h, lib);
	key_str(&h, u.release);
	key_str(&h, u.version);
	key_str(&h, u.machine);
	snprintf(buf, sizeof buf, "%#x", flags);
	key_str(&h, buf);
	key_str(&h, "deny");
	for (size_t i = 0; p != NULL && i < p->seccomp_deny.n; i++)
		key_str(&h, p->seccomp_deny.v[i]);
	key_str(&h, "allow");
	for (size_t i = 0; p != NULL && i < p->seccomp_allow.n; i++)
		key_str(&h, p->seccomp_allow.v[i]);
	sha256_final(&h, key);
	return (0);
}

static uint32_t
get32(const uint8_t *b)
{
	uint32_t	v;

	memcpy(&v, b, sizeof v);
	return (v);
}

int
filter_cache_parse(const void *buf, size_t len, const uint8_t key[SHA256_LEN],
    unsigned want, struct filter *f)
{
	const uint8_t	*b = buf;
	uint8_t		 sum[SHA256_LEN];
	struct sha256	 h;
	uint32_t	 flags, n;
	size_t		 body;

	memset(f, 0, sizeof *f);
	if (len < FILTER_CACHE_HEAD + SHA256_LEN ||
	    memcmp(b, FILTER_CACHE_MAGIC, 8) != 0 ||
	    memcmp(b + 8, key, SHA256_LEN) != 0)
		return (-1);
	flags = get32(b + 8 + SHA256_LEN);
	n = get32(b + 8 + SHA256_LEN + 4);
	if (n == 0 || n > BPF_MAXINSNS)
		return (-1);
	body = (size_t)n * sizeof (struct sock_filter);
	if (len != FILTER_CACHE_HEAD + body + SHA256_LEN)
		return (-1);
	/* The flags the compile left: those asked for, less what it may
	 * clear (FILTER_CONNECT when the profile denies connect). */
	if ((flags & ~want) != 0 || (want & ~flags & ~(unsigned)FILTER_CONNECT) != 0)
		return (-1);
	sha256_init(&h);
	sha256_update(&h, b, FILTER_CACHE_HEAD + body);
	sha256_final(&h, sum);
	if (memcmp(sum, b + FILTER_CACHE_HEAD + body, SHA256_LEN) != 0)
		return (-1);
	f->flags = flags;
	f->prog.len = (unsigned short)n;
	f->prog.filter = xmalloc(body);
	memcpy(f->prog.filter, b + FILTER_CACHE_HEAD, body);
	return (0);
}

void *
filter_cache_format(const uint8_t key[SHA256_LEN], const struct filter *f,
    size_t *len)
{
	size_t		 body = (size_t)f->prog.len * sizeof (struct sock_filter);
	uint8_t		*b = xmalloc(FILTER_CACHE_HEAD + body + SHA256_LEN);
	uint32_t	 flags = f->flags, n = f->prog.len;
	struct sha256	 h;

	memcpy(b, FILTER_CACHE_MAGIC, 8);
	memcpy(b + 8, key, SHA256_LEN);
	memcpy(b + 8 + SHA256_LEN, &flags, 4);
	memcpy(b + 8 + SHA256_LEN + 4, &n, 4);
	memcpy(b + FILTER_CACHE_HEAD, f->prog.filter, body);
	sha256_init(&h);
	sha256_update(&h, b, FILTER_CACHE_HEAD + body);
	sha256_final(&h, b + FILTER_CACHE_HEAD + body);
	*len = FILTER_CACHE_HEAD + body + SHA256_LEN;
	return (b);
}

/* $XDG_CACHE_HOME/moat and the file for key, into dir and path. */
static void
filter_cache_paths(const uint8_t key[SHA256_LEN], char *dir, size_t ndir,
    char *path, size_t npath)
{
	char	base[PATH_MAX], hex[2 * SHA256_LEN + 1];

	xdg_dir("XDG_CACHE_HOME", ".cache", base, sizeof base);
	snprintf(dir, ndir, "%s/moat", base);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	snprintf(path, npath, "%s/seccomp-%s", dir, hex);
}

int
filter_cache_load(const uint8_t key[SHA256_LEN], unsigned want, struct filter *f)
{
	char		 dir[PATH_MAX + 8], path[PATH_MAX + 80];
	uint8_t		 buf[FILTER_CACHE_HEAD + BPF_MAXINSNS * sizeof (struct sock_filter) +
			    SHA256_LEN];
	struct stat	 st;
	autofd int	 fd = -1;
	ssize_t		 n;

	memset(f, 0, sizeof *f);
	if (key == NULL)
		return (-1);
	filter_cache_paths(key, dir, sizeof dir, path, sizeof path);
	/* The user's, and writable by the user alone: else compiled afresh. */
	if ((fd = open_owned(dir, path)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || st.st_size < 0 || (size_t)st.st_size > sizeof buf)
		return (-1);
	if ((n = read(fd, buf, sizeof buf)) != st.st_size)
		return (-1);
	return (filter_cache_parse(buf, (size_t)n, key, want, f));
}

void
filter_cache_store(const uint8_t key[SHA256_LEN], const struct filter *f)
{
	char		 dir[PATH_MAX + 8], path[PATH_MAX + 80];
	autofree void	*b = NULL;
	size_t		 len;

	if (key == NULL || f->prog.len == 0)
		return;
	filter_cache_paths(key, dir, sizeof dir, path, sizeof path);
	/* Best effort: a run that cannot keep its program only pays again. */
	b = filter_cache_format(key, f, &len);
	cache_store(dir, path, b, len);
}
