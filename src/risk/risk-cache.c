/* risk-cache.c: the risk rules as read, kept between runs, in the
 * supervisor and the front ends. Reading rules/risk.rules (125 rules) and
 * finding each pattern's required literals took 0.25 to 0.35 ms of every
 * moat run and session exec, for the same files every time. So risk_load
 * (risk-rules.c) keeps what it read in $XDG_CACHE_HOME/moat/risk-rules,
 * under a key that is a SHA-256 of the identity of the moat binary and of
 * every rules file it read (path, device, inode, size, modification and
 * change times, in order, and the names in risk.d), and reads that instead
 * while the key holds.
 *
 * As the seccomp program's cache (sandbox/filter-cache.c), through the same
 * checks (open_owned, cache_dir_owned in base/util.c): a file is used only
 * when it is a regular file of the user's that no one else may write, in a
 * directory of the user's that no one else may write, and it names the
 * same key and its checksum holds; anything else is read afresh from the
 * rules files and the file replaced. The checksum finds damage (a file cut
 * short, a byte changed), not a forgery: whoever can write the user's own
 * files can write the user's rules in risk.d as well.
 *
 * The file: "MOATRSK1", the key (32 bytes), the body, and a 64-bit checksum
 * of everything before it. The body: the files read (a count, then each a
 * string), the rules (a count, then each rule's strings and numbers, its
 * command names and its patterns, each with its flags and its literals).
 * Numbers are 32-bit, host order; a string is its length then its bytes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "risk-cache.h"

#define RISK_CACHE_MAGIC	"MOATRSK1"
#define RISK_CACHE_MAX		(4u << 20)	/* a file larger is not ours */

/* A checksum of 8 bytes at a time: damage, not forgery (above). SHA-256
 * of the body would cost a third of what the cache saves. */
static uint64_t
risk_cache_sum(const unsigned char *p, size_t n)
{
	uint64_t	h = 0x9e3779b97f4a7c15ull ^ n;

	for (; n >= 8; p += 8, n -= 8) {
		uint64_t	w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; n > 0; p++, n--)
		h = (h ^ *p) * 0x100000001b3ull;
	h ^= h >> 29;
	return (h);
}

static void
put_u32(struct sbuf *b, uint32_t v)
{
	sbuf_add(b, &v, sizeof v);
}

static void
put_str(struct sbuf *b, const char *s)
{
	size_t	n = s != NULL ? strlen(s) : 0;

	/* NULL and "" alike would lose a difference: NULL is a length of
	 * all ones. */
	put_u32(b, s != NULL ? (uint32_t)n : UINT32_MAX);
	if (n > 0)
		sbuf_add(b, s, n);
}

char *
risk_cache_encode(const uint8_t key[SHA256_LEN], const struct risk_rules *rs, size_t *len)
{
	struct sbuf	b = { 0 };
	uint64_t	sum;

	sbuf_add(&b, RISK_CACHE_MAGIC, 8);
	sbuf_add(&b, key, SHA256_LEN);
	put_u32(&b, (uint32_t)rs->files.n);
	for (size_t i = 0; i < rs->files.n; i++)
		put_str(&b, rs->files.v[i]);
	put_u32(&b, (uint32_t)rs->n);
	for (size_t i = 0; i < rs->n; i++) {
		const struct risk_rule	*r = rs->v[i];

		put_str(&b, r->id);
		put_str(&b, r->category);
		put_str(&b, r->reason);
		put_str(&b, r->event);
		put_str(&b, r->file);
		put_u32(&b, (uint32_t)r->weight);
		put_u32(&b, (uint32_t)r->each);
		put_u32(&b, (uint32_t)r->max);
		put_u32(&b, (uint32_t)r->line);
		put_u32(&b, (uint32_t)r->nocase);
		put_u32(&b, (uint32_t)r->scope);
		put_u32(&b, (uint32_t)r->cmds.n);
		for (size_t k = 0; k < r->cmds.n; k++)
			put_str(&b, r->cmds.v[k]);
		put_u32(&b, (uint32_t)r->nre);
		for (size_t k = 0; k < r->nre; k++) {
			const struct rx	*x = r->re[k];

			put_str(&b, x->pat);
			put_u32(&b, (uint32_t)x->cflags);
			put_u32(&b, (uint32_t)x->nlits);
			for (size_t l = 0; l < x->nlits; l++)
				put_str(&b, x->lits[l]);
		}
	}
	sum = 0;
	sbuf_add(&b, &sum, sizeof sum);
	risk_cache_seal(b.p, b.len);
	*len = b.len;
	return (b.p);
}

void
risk_cache_seal(void *buf, size_t len)
{
	uint64_t	sum = risk_cache_sum(buf, len - 8);

	memcpy((char *)buf + len - 8, &sum, 8);
}

/* A reader of the body: every read checks what is left. */
struct rcur {
	const unsigned char	*p;
	size_t			 left;
	bool			 bad;
};

static uint32_t
get_u32(struct rcur *c)
{
	uint32_t	v = 0;

	if (c->bad || c->left < sizeof v) {
		c->bad = true;
		return (0);
	}
	memcpy(&v, c->p, sizeof v);
	c->p += sizeof v;
	c->left -= sizeof v;
	return (v);
}

/* A string, owned; NULL for NULL (or when bad: check c->bad). */
static char *
get_str(struct rcur *c)
{
	uint32_t	n = get_u32(c);
	char		*s;

	if (c->bad || n == UINT32_MAX)
		return (NULL);
	if (n > c->left || memchr(c->p, '\0', n) != NULL) {
		c->bad = true;
		return (NULL);
	}
	s = xstrndup((const char *)c->p, n);
	c->p += n;
	c->left -= n;
	return (s);
}

/* The same, copied into the rule set's block of strings (one allocation
 * for all of them, freed with the set: 1,500 fewer malloc and free a
 * load); NULL for NULL or when bad. The block is as large as the file,
 * which holds each string with at least four bytes more than its copy. */
struct arena {
	char	*p;
	size_t	 used, cap;
};

static char *
get_astr(struct rcur *c, struct arena *a)
{
	uint32_t	n = get_u32(c);
	char		*s;

	if (c->bad || n == UINT32_MAX)
		return (NULL);
	if (n > c->left || n >= a->cap - a->used ||
	    memchr(c->p, '\0', n) != NULL) {
		c->bad = true;
		return (NULL);
	}
	s = a->p + a->used;
	memcpy(s, c->p, n);
	s[n] = '\0';
	a->used += (size_t)n + 1;
	c->p += n;
	c->left -= n;
	return (s);
}

/* A count of things each at least min bytes long: never more than what
 * is left could hold. */
static uint32_t
get_count(struct rcur *c, size_t min, uint32_t max)
{
	uint32_t	n = get_u32(c);

	if (!c->bad && (n > max || (size_t)n * min > c->left))
		c->bad = true;
	return (c->bad ? 0 : n);
}

static struct risk_rule *
get_rule(struct rcur *c, struct arena *a)
{
	struct risk_rule	*r = xcalloc(1, sizeof *r);
	uint32_t		 n, nocase, scope;

	r->borrowed = true;
	r->id = get_astr(c, a);
	r->category = get_astr(c, a);
	r->reason = get_astr(c, a);
	r->event = get_astr(c, a);
	r->file = get_astr(c, a);
	r->weight = (int)get_u32(c);
	r->each = (int)get_u32(c);
	r->max = (int)get_u32(c);
	r->line = (int)get_u32(c);
	nocase = get_u32(c);
	scope = get_u32(c);
	/* Each value as the rules reader leaves it, so that a file says one
	 * thing one way (and the regex flags are ones it sets). */
	if (c->bad || r->id == NULL || r->weight < 1 || r->weight > 100 ||
	    r->each < 0 || r->each > 100 || r->max < 0 || r->max > 100 || r->line < 0 ||
	    nocase > 1 || scope > RISK_SCOPE_EVENT)
		goto bad;
	r->idhash = risk_id_hash(r->id);
	r->nocase = nocase == 1;
	r->scope = (enum risk_scope)scope;
	n = get_count(c, 4, 4096);
	if (n > 0)
		r->cmds.v = xreallocarray(NULL, (size_t)n + 1, sizeof *r->cmds.v);
	for (uint32_t k = 0; k < n && !c->bad; k++) {
		char	*s = get_astr(c, a);

		if (s == NULL)
			goto bad;
		r->cmds.v[r->cmds.n++] = s;
		r->cmds.v[r->cmds.n] = NULL;
	}
	n = get_count(c, 12, RISK_MAX_RE);
	for (uint32_t k = 0; k < n && !c->bad; k++) {
		const char	*pat = get_astr(c, a), *lits[RX_MAX_LITS];
		int		 cflags = (int)get_u32(c);
		uint32_t	 nl = get_count(c, 4, RX_MAX_LITS);

		for (size_t got = 0; got < nl && !c->bad; got++)
			if ((lits[got] = get_astr(c, a)) == NULL || lits[got][0] == '\0')
				c->bad = true;
		if (c->bad || pat == NULL || cflags != (REG_EXTENDED | REG_NOSUB |
		    (r->nocase ? REG_ICASE : 0)))
			goto bad;
		r->re[k] = xmalloc(sizeof *r->re[k]);
		rx_init_borrowed(r->re[k], pat, cflags, lits, nl);
		r->nre++;
	}
	/* What the scorer reads of each kind of rule, as risk-rules.c makes
	 * them: a file that says otherwise is not one this moat wrote. */
	if (c->bad || r->category == NULL || r->reason == NULL || r->file == NULL)
		goto bad;
	switch (r->scope) {
	case RISK_SCOPE_CMD:
		if (r->cmds.n == 0 || r->event != NULL)
			goto bad;
		break;
	case RISK_SCOPE_MATCH:
	case RISK_SCOPE_TEXT:
	case RISK_SCOPE_RAW:
		if (r->nre != 1 || r->cmds.n != 0 || r->event != NULL)
			goto bad;
		break;
	case RISK_SCOPE_PIPE:
		if (r->nre != 2 || r->cmds.n != 0 || r->event != NULL)
			goto bad;
		break;
	case RISK_SCOPE_EVENT:
		if (r->nre != 0 || r->cmds.n != 0 || r->event == NULL ||
		    !risk_event_known(r->event))
			goto bad;
		break;
	}
	return (r);
bad:
	c->bad = true;
	for (size_t k = 0; k < r->nre; k++) {
		rx_free(r->re[k]);
		free(r->re[k]);
	}
	free(r->cmds.v);	/* its strings are the block's */
	free(r);
	return (NULL);
}

int
risk_cache_decode(const void *buf, size_t len, const uint8_t key[SHA256_LEN],
    struct risk_rules **out)
{
	const unsigned char	*b = buf;
	struct rcur		 c;
	struct arena		 a;
	struct risk_rules	*rs;
	uint64_t		 sum;
	uint32_t		 n;

	*out = NULL;
	if (len < 8 + SHA256_LEN + 8 || memcmp(b, RISK_CACHE_MAGIC, 8) != 0 ||
	    memcmp(b + 8, key, SHA256_LEN) != 0)
		return (-1);
	memcpy(&sum, b + len - 8, 8);
	if (risk_cache_sum(b, len - 8) != sum)
		return (-1);
	c.p = b + 8 + SHA256_LEN;
	c.left = len - 8 - SHA256_LEN - 8;
	c.bad = false;
	rs = risk_rules_new();
	a.p = rs->arena = xmalloc(len);
	a.used = 0;
	a.cap = len;
	n = get_count(&c, 4, 4096);
	for (uint32_t i = 0; i < n && !c.bad; i++) {
		char	*s = get_str(&c);

		if (s == NULL)
			c.bad = true;
		else
			strv_take(&rs->files, s);
	}
	n = get_count(&c, 64, 1u << 20);
	rs->v = n > 0 ? xcalloc(n, sizeof *rs->v) : NULL;
	for (uint32_t i = 0; i < n && !c.bad; i++) {
		struct risk_rule	*r = get_rule(&c, &a);

		if (r != NULL)
			rs->v[rs->n++] = r;
	}
	if (c.bad || c.left != 0) {
		risk_rules_free(rs);
		return (-1);
	}
	*out = rs;
	return (0);
}

/* $XDG_CACHE_HOME/moat and the file in it. */
static void
risk_cache_paths(char *dir, size_t ndir, char *path, size_t npath)
{
	char	base[PATH_MAX];

	xdg_dir("XDG_CACHE_HOME", ".cache", base, sizeof base);
	snprintf(dir, ndir, "%s/moat", base);
	snprintf(path, npath, "%s/risk-rules", dir);
}

struct risk_rules *
risk_cache_load(const uint8_t key[SHA256_LEN])
{
	char			 dir[PATH_MAX + 8], path[PATH_MAX + 32];
	struct stat		 st;
	struct risk_rules	*rs = NULL;
	autofree char		*buf = NULL;
	autofd int		 fd = -1;
	ssize_t			 n;

	risk_cache_paths(dir, sizeof dir, path, sizeof path);
	if ((fd = open_owned(dir, path)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1 || st.st_size <= 0 || st.st_size > RISK_CACHE_MAX)
		return (NULL);
	buf = xmalloc((size_t)st.st_size);
	if ((n = read(fd, buf, (size_t)st.st_size)) != st.st_size)
		return (NULL);
	(void)risk_cache_decode(buf, (size_t)n, key, &rs);
	return (rs);
}

void
risk_cache_store(const uint8_t key[SHA256_LEN], const struct risk_rules *rs)
{
	char		 dir[PATH_MAX + 8], path[PATH_MAX + 32];
	autofree char	*b = NULL;
	size_t		 len;

	risk_cache_paths(dir, sizeof dir, path, sizeof path);
	/* Best effort: a moat that cannot keep the rules only reads them
	 * again. */
	b = risk_cache_encode(key, rs, &len);
	if (len > RISK_CACHE_MAX)
		return;
	cache_store(dir, path, b, len);
}
