/* fuzz-ttystate.c: libFuzzer harness for the terminal-state tracker of the
 * pty relay (src/sandbox/ttystate.c), which reads everything a sandboxed
 * command writes to its terminal. The input is that output. Fed whole or in
 * two pieces split anywhere, the state must be the same; the restore must fit
 * TTYSTATE_RESTORE_MAX; and after the restore is fed too, nothing is left to
 * switch off (the restore really undoes what it tracks). Build and run:
 * tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/ttystate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttystate	a, b;
	char		ra[TTYSTATE_RESTORE_MAX + 1], rb[TTYSTATE_RESTORE_MAX + 1];
	size_t		na, nb, cut = size > 0 ? data[0] % (size + 1) : 0;

	ttystate_init(&a);
	ttystate_feed(&a, data, size);
	ttystate_init(&b);
	ttystate_feed(&b, data, cut);
	ttystate_feed(&b, data + cut, size - cut);
	{
		/* A stopped command going on: its modes on again fit the
		 * buffer, and fed to a clean state give the same modes. */
		char		rs[TTYSTATE_RESTORE_MAX + 1];
		struct ttystate	c;
		size_t		ns = ttystate_resume(&a, rs);

		assert(ns <= TTYSTATE_RESTORE_MAX);
		ttystate_init(&c);
		ttystate_feed(&c, rs, ns);
		assert(c.modes == (a.modes & ~1u) && c.keypad == a.keypad);
	}
	na = ttystate_restore(&a, ra);
	nb = ttystate_restore(&b, rb);
	assert(na <= TTYSTATE_RESTORE_MAX && na == nb && memcmp(ra, rb, na) == 0);
	assert((na > 0) == ttystate_dirty(&a));
	ttystate_feed(&a, ra, na);
	assert(!ttystate_dirty(&a));
	{
		/* The text a terminal drew: printable bytes and newlines only,
		 * within the buffer. */
		static char	txt[8192];
		size_t		tn = ttystate_text(data, size, txt, sizeof txt);

		assert(tn < sizeof txt && txt[tn] == '\0' && strlen(txt) == tn);
		for (size_t i = 0; i < tn; i++)
			assert(txt[i] == '\n' || (unsigned char)txt[i] >= 0x20);
		assert(memchr(txt, 0x7f, tn) == NULL);
	}
	return (0);
}
