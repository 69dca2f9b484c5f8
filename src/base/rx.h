/* rx.h: a POSIX extended regular expression compiled on first use, behind a
 * literal prefilter. The risk and redaction rules are many regexes of which
 * a short command line needs almost none; glibc's regcomp costs 5-20 us a
 * pattern, more than the rest of a run's start-up book-keeping together. So
 * each pattern is only parsed at load for the literal strings any match must
 * contain (one of a few alternatives), and regcomp runs the first time a text
 * contains one of them. Supervisor and front ends. */
#ifndef MOAT_RX_H
#define MOAT_RX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RX_MAX_LITS	16	/* more alternatives than this: no prefilter */

struct rx {
	char		*pat;		/* owned, unless borrowed */
	int		 cflags;	/* regcomp's */
	int		 state;		/* RX_PENDING, RX_READY or RX_BAD */
	regex_t		 re;		/* valid when RX_READY */
	char		*lits[RX_MAX_LITS];	/* owned, unless borrowed; a match
						   contains one of them */
	size_t		 nlits;		/* 0: no prefilter, every text is tried */
	bool		 borrowed;	/* pat and lits are another's, which
					   outlives this (rx_init_borrowed) */
};

#define RX_PENDING	0
#define RX_READY	1
#define RX_BAD		2

/* Keeps a copy of pat and finds its required literals; compiles nothing. */
void	 rx_init(struct rx *, const char *pat, int cflags);
/* The same with the literals known already (a cache of an rx_init's): n
 * of them, each non-empty, and pat left where they are (a block their
 * owner frees after rx_free): nothing copied; compiles nothing. */
void	 rx_init_borrowed(struct rx *, const char *pat, int cflags,
	    const char *const lits[], size_t n);
void	 rx_free(struct rx *);
/* Compiles now (once): 0, or -1 with regerror's text in err. */
int	 rx_compile(struct rx *, char *err, size_t errlen);
/* False when s cannot match: it holds none of the required literals. */
bool	 rx_maybe(const struct rx *, const char *s);
/* One text that many rules are tried on (rx_text_init): it is folded
 * (A-Z to a-z) once, so that a case-insensitive literal is a plain strstr,
 * and the pairs of adjacent bytes it holds, folded, are noted in a small
 * hashed set, so that a literal with a pair the text lacks is ruled out
 * without a search: most of a text's rules are, for a few bit tests each. */
struct rx_text {
	const char	*s;		/* borrowed */
	char		*folded;	/* owned */
	uint64_t	 pairs[64];	/* 4096 bits: the hashed byte pairs */
	uint64_t	 bytes[4];	/* 256 bits: the folded bytes */
};

void	 rx_text_init(struct rx_text *, const char *s);
void	 rx_text_free(struct rx_text *);
/* The same answer as rx_maybe(x, t->s), from t. */
bool	 rx_maybe_text(const struct rx *, const struct rx_text *);
char	*rx_fold(const char *);
/* regexec(3) after the prefilter, compiling on first need: 0 on a match,
 * REG_NOMATCH otherwise (and for a pattern that does not compile). */
int	 rx_exec(struct rx *, const char *s, size_t nmatch, regmatch_t *, int eflags);

#endif
