/* fuzz-rx.c: libFuzzer harness for the rules' prefilter (src/base/rx.c):
 * the literals rx_init reads from an ERE, and rx_maybe_text, which rules a
 * text out for a literal whose byte or pair of bytes it lacks. The input is
 * a flag byte (bit 0: REG_ICASE), a pattern up to the first NUL and the
 * text after it. rx_maybe_text must give rx_maybe's answer, and neither may
 * say no to a text the compiled pattern matches: a skipped rule must be one
 * that could not have matched. Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rx.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Two quantifiers in a row (a++, a*?): a repeat of a repeat. */
static int
rx_fuzz_repeats(const char *p)
{
	for (; p[0] != '\0' && p[1] != '\0'; p++)
		if (strchr("*+?", p[0]) != NULL && strchr("*+?", p[1]) != NULL)
			return (1);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rx	 x;
	struct rx_text	 t;
	char		*pat, *text;
	const uint8_t	*nul;
	int		 fl;

	if (size < 2 || (nul = memchr(data + 1, '\0', size - 1)) == NULL)
		return (0);
	fl = REG_EXTENDED | (data[0] & 1 ? REG_ICASE : 0);
	pat = strndup((const char *)data + 1, (size_t)(nul - data - 1));
	text = strndup((const char *)nul + 1, size - (size_t)(nul - data) - 1);
	if (pat == NULL || text == NULL)
		abort();
	rx_init(&x, pat, fl);
	rx_text_init(&t, text);
	assert(rx_maybe_text(&x, &t) == rx_maybe(&x, text));
	/* glibc's regcomp takes exponential time and memory on repeats of
	 * repeats: compiled only when short and without them. */
	if (strlen(pat) <= 32 && strchr(pat, '{') == NULL && !rx_fuzz_repeats(pat) &&
	    rx_compile(&x, NULL, 0) == 0 && regexec(&x.re, text, 0, NULL, 0) == 0)
		assert(rx_maybe_text(&x, &t));
	rx_text_free(&t);
	rx_free(&x);
	free(pat);
	free(text);
	return (0);
}
