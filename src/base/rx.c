/* rx.c: regexes compiled on first use, behind a literal prefilter (rx.h).
 * The prefilter comes from a small reading of the ERE: for each branch of an
 * alternation, the best run of plain characters that every match of that
 * branch contains; a group contributes its own alternatives. Anything this
 * reading does not understand gives no prefilter (every text is tried), never
 * a wrong one: a skipped regexec must be one that could not have matched.
 * Supervisor and front ends. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rx.h"
#include "util.h"

/* A set of literals, one of which every match contains; n = 0 with
 * none = true means "no requirement known". */
struct rx_set {
	char	*v[RX_MAX_LITS];	/* owned */
	size_t	 n;
	bool	 none;
};

struct rx_parse {
	const char	*s;
	bool		 bad;		/* not understood: no prefilter at all */
};

static void
rx_set_clear(struct rx_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i]);
	set->n = 0;
	set->none = true;
}

/* The shortest literal of a set: how selective it is. */
static size_t
rx_set_min(const struct rx_set *set)
{
	size_t	m = (size_t)-1;

	if (set->none || set->n == 0)
		return (0);
	for (size_t i = 0; i < set->n; i++)
		if (strlen(set->v[i]) < m)
			m = strlen(set->v[i]);
	return (m);
}

/* Keeps the better of best and cand (longer shortest literal, then fewer
 * alternatives); frees the other. */
static void
rx_set_pick(struct rx_set *best, struct rx_set *cand)
{
	size_t	mb = rx_set_min(best), mc = rx_set_min(cand);

	if (mc > mb || (mc == mb && mc > 0 && cand->n < best->n)) {
		rx_set_clear(best);
		*best = *cand;
		cand->n = 0;
	}
	rx_set_clear(cand);
}

static void
rx_set_one(struct rx_set *set, const char *s, size_t n)
{
	set->v[0] = xstrndup(s, n);
	set->n = 1;
	set->none = false;
}

/* Skips a quantifier run after an atom: returns true when the atom may
 * occur zero times, and sets *rep when it may repeat. */
static bool
rx_quant(struct rx_parse *p, bool *rep)
{
	bool	zero = false;

	*rep = false;
	for (;;) {
		char	c = *p->s;

		if (c == '*' || c == '?') {
			zero = true;
			*rep |= c == '*';
			p->s++;
		} else if (c == '+') {
			*rep = true;
			p->s++;
		} else if (c == '{') {
			unsigned long	min;
			char		*end;

			if (!isdigit((unsigned char)p->s[1])) {
				p->bad = true;
				return (true);
			}
			min = strtoul(p->s + 1, &end, 10);
			while (*end != '\0' && *end != '}')
				end++;
			if (*end != '}') {
				p->bad = true;
				return (true);
			}
			zero |= min == 0;
			*rep = true;
			p->s = end + 1;
		} else
			return (zero);
	}
}

static bool
rx_is_quant(char c)
{
	return (c == '*' || c == '+' || c == '?' || c == '{');
}

/* Skips a bracket expression; p->s is just past '['. */
static void
rx_bracket(struct rx_parse *p)
{
	const char	*s = p->s;

	if (*s == '^')
		s++;
	if (*s == ']')
		s++;
	for (;;) {
		if (*s == '\0') {
			p->bad = true;
			p->s = s;
			return;
		}
		if (s[0] == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
			char		 close[3] = { s[1], ']', '\0' };
			const char	*end = strstr(s + 2, close);

			if (end == NULL) {
				p->bad = true;
				p->s = s + strlen(s);
				return;
			}
			s = end + 2;
			continue;
		}
		if (*s == ']') {
			p->s = s + 1;
			return;
		}
		s++;
	}
}

static void	rx_alt(struct rx_parse *, struct rx_set *);

/* Ends the literal run being read: it is one candidate for the branch. */
static void
rx_flush(struct rx_set *best, const char *run, size_t *nrun)
{
	struct rx_set	cand = { .none = true };

	size_t		mb = rx_set_min(best);

	if (*nrun == 0)
		return;
	/* rx_set_pick's test for a set of one, before copying the run: most
	 * runs lose, and a rules file reads thousands of them. */
	if (!(*nrun > mb || (*nrun == mb && best->n > 1))) {
		*nrun = 0;
		return;
	}
	rx_set_one(&cand, run, *nrun);
	rx_set_pick(best, &cand);
	*nrun = 0;
}

/* One branch: a sequence of atoms, up to '|', ')' or the end. Every atom
 * that must occur is required, so the branch needs the best of them. */
static void
rx_concat(struct rx_parse *p, struct rx_set *best)
{
	char		 run[256];
	size_t		 nrun = 0;
	bool		 rep;

	best->n = 0;
	best->none = true;
	while (!p->bad && *p->s != '\0' && *p->s != '|' && *p->s != ')') {
		char	c = *p->s;

		if (rx_is_quant(c)) {
			/* A quantifier with nothing to repeat (glibc may read
			 * it as a literal): not worth understanding. */
			p->bad = true;
		} else if (c == '(') {
			struct rx_set	sub = { .none = true };

			p->s++;
			rx_alt(p, &sub);
			if (*p->s != ')') {
				p->bad = true;
				rx_set_clear(&sub);
				break;
			}
			p->s++;
			rx_flush(best, run, &nrun);
			if (rx_quant(p, &rep))
				rx_set_clear(&sub);	/* optional group */
			rx_set_pick(best, &sub);
		} else if (c == '^' || c == '$') {
			p->s++;
			rx_flush(best, run, &nrun);
			if (rx_is_quant(*p->s))
				p->bad = true;
		} else if (c == '[' || c == '.' || (unsigned char)c >= 0x80 ||
		    (c == '\\' && (isalnum((unsigned char)p->s[1]) || p->s[1] == '`' ||
		    p->s[1] == '\'' || p->s[1] == '<' || p->s[1] == '>' || p->s[1] == '\0'))) {
			/* Not a literal: a bracket, any character, a byte of a
			 * multibyte character, or a GNU escape (\w \s \b \< \1 \`). */
			if (c == '\\' && p->s[1] == '\0') {
				p->bad = true;
				break;
			}
			p->s += c == '\\' ? 2 : 1;
			if (c == '[')
				rx_bracket(p);
			rx_flush(best, run, &nrun);
			rx_quant(p, &rep);
		} else {
			/* A plain character, or an escaped punctuation one. */
			char	lit = c == '\\' ? p->s[1] : c;

			p->s += c == '\\' ? 2 : 1;
			if (rx_is_quant(*p->s)) {
				if (!rx_quant(p, &rep) && nrun < sizeof run)
					run[nrun++] = lit;	/* at least once */
				/* Optional or repeated: the run cannot go on past it. */
				rx_flush(best, run, &nrun);
				continue;
			}
			if (nrun == sizeof run)
				rx_flush(best, run, &nrun);
			run[nrun++] = lit;
		}
	}
	rx_flush(best, run, &nrun);
}

/* Branches separated by '|': every branch must give a literal, and the set
 * is their union. */
static void
rx_alt(struct rx_parse *p, struct rx_set *out)
{
	bool	none = false;

	out->n = 0;
	out->none = false;
	for (;;) {
		struct rx_set	br = { .none = true };

		rx_concat(p, &br);
		if (p->bad || br.none || br.n == 0 || out->n + br.n > RX_MAX_LITS)
			none = true;
		else {
			for (size_t i = 0; i < br.n; i++)
				out->v[out->n++] = TAKE_PTR(br.v[i]);
			br.n = 0;
		}
		rx_set_clear(&br);
		if (p->bad || *p->s != '|')
			break;
		p->s++;
	}
	if (none)
		rx_set_clear(out);
}

void
rx_init(struct rx *x, const char *pat, int cflags)
{
	struct rx_parse	p = { .s = pat };
	struct rx_set	set = { .none = true };

	memset(x, 0, sizeof *x);
	x->pat = xstrdup(pat);
	x->cflags = cflags;
	x->state = RX_PENDING;
	if (!(cflags & REG_EXTENDED))
		return;		/* basic REs read differently: no prefilter */
	rx_alt(&p, &set);
	if (p.bad || *p.s != '\0' || set.none || rx_set_min(&set) == 0) {
		rx_set_clear(&set);
		return;
	}
	for (size_t i = 0; i < set.n; i++) {
		x->lits[i] = TAKE_PTR(set.v[i]);
		/* Folded once, for rx_maybe_text. */
		for (char *c = x->lits[i]; (cflags & REG_ICASE) && *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	x->nlits = set.n;
}

void
rx_init_borrowed(struct rx *x, const char *pat, int cflags,
    const char *const lits[], size_t n)
{
	memset(x, 0, sizeof *x);
	x->pat = (char *)pat;
	x->cflags = cflags;
	x->state = RX_PENDING;
	x->borrowed = true;
	for (size_t i = 0; i < n && i < RX_MAX_LITS; i++)
		x->lits[x->nlits++] = (char *)lits[i];
}

void
rx_free(struct rx *x)
{
	if (x == NULL)
		return;
	if (x->state == RX_READY)
		regfree(&x->re);
	for (size_t i = 0; i < x->nlits && !x->borrowed; i++)
		free(x->lits[i]);
	if (!x->borrowed)
		free(x->pat);
	x->pat = NULL;
	x->nlits = 0;
	x->state = RX_PENDING;
}

int
rx_compile(struct rx *x, char *err, size_t errlen)
{
	int	rc;

	if (x->state == RX_READY)
		return (0);
	if ((rc = regcomp(&x->re, x->pat, x->cflags)) != 0) {
		if (err != NULL)
			regerror(rc, &x->re, err, errlen);
		x->state = RX_BAD;
		return (-1);
	}
	x->state = RX_READY;
	return (0);
}

bool
rx_maybe(const struct rx *x, const char *s)
{
	if (x->nlits == 0)
		return (true);
	for (size_t i = 0; i < x->nlits; i++)
		if ((x->cflags & REG_ICASE ? strcasestr(s, x->lits[i]) :
		    strstr(s, x->lits[i])) != NULL)
			return (true);
	return (false);
}

static inline unsigned char
rx_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c);
}

/* A pair of folded bytes, hashed into 12 bits. */
static inline unsigned
rx_pair(unsigned char a, unsigned char b)
{
	return (((unsigned)a * 67u + (unsigned)b) & 4095u);
}

void
rx_text_init(struct rx_text *t, const char *s)
{
	const unsigned char	*f;

	memset(t, 0, sizeof *t);
	t->s = s;
	t->folded = rx_fold(s);
	for (f = (const unsigned char *)t->folded; *f != '\0'; f++) {
		t->bytes[f[0] >> 6] |= 1ULL << (f[0] & 63);
		if (f[1] != '\0') {
			unsigned	h = rx_pair(f[0], f[1]);

			t->pairs[h >> 6] |= 1ULL << (h & 63);
		}
	}
}

void
rx_text_free(struct rx_text *t)
{
	free(t->folded);
	t->folded = NULL;
}

/* False when t cannot hold lit: one of lit's bytes or pairs of bytes,
 * folded, is not in t. A true answer is only a maybe. */
static bool
rx_text_may_hold(const struct rx_text *t, const char *lit)
{
	const unsigned char	*l = (const unsigned char *)lit;

	for (; l[0] != '\0'; l++) {
		unsigned char	a = rx_lower(l[0]), b;
		unsigned	h;

		if (!(t->bytes[a >> 6] & (1ULL << (a & 63))))
			return (false);
		if (l[1] == '\0')
			break;
		b = rx_lower(l[1]);
		h = rx_pair(a, b);
		if (!(t->pairs[h >> 6] & (1ULL << (h & 63))))
			return (false);
	}
	return (true);
}

bool
rx_maybe_text(const struct rx *x, const struct rx_text *t)
{
	if (x->nlits == 0)
		return (true);
	for (size_t i = 0; i < x->nlits; i++)
		if (rx_text_may_hold(t, x->lits[i]) &&
		    strstr(x->cflags & REG_ICASE ? t->folded : t->s, x->lits[i]) != NULL)
			return (true);
	return (false);
}

char *
rx_fold(const char *s)
{
	char	*f = xstrdup(s);

	for (char *c = f; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return (f);
}

int
rx_exec(struct rx *x, const char *s, size_t nmatch, regmatch_t *m, int eflags)
{
	if (!rx_maybe(x, s))
		return (REG_NOMATCH);
	if (x->state != RX_READY && (x->state == RX_BAD || rx_compile(x, NULL, 0) == -1))
		return (REG_NOMATCH);
	return (regexec(&x->re, s, nmatch, m, eflags));
}
