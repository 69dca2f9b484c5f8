/* fuzz-pane.c: libFuzzer harness for moat shell's output pane
 * (src/tui/tui-pane.c over libvterm): any bytes a command writes, in any
 * pieces, with resizes and scrolling between them, must leave a pane whose
 * rows read back within its width, whatever the emulator answers goes to
 * the callback only, and no row is ever marked as moat's own (the font
 * pane_note writes in is out of a command's reach, on stdout or stderr).
 * A search of the scrollback stays within it. The first two bytes pick the
 * size and the split.
 * Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui-pane.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t	answered;

static void
out(const char *s, size_t n, void *arg)
{
	answered += n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pane	*p;
	int		 rows, cols, maxcols;
	size_t		 step, off;

	if (size < 2)
		return (0);
	rows = 1 + data[0] % 40;
	cols = 1 + data[1] % 120;
	step = 1 + (size_t)(data[0] ^ data[1]) % 97;
	maxcols = cols < 2 ? 2 : cols;
	p = pane_new(rows, cols, 50, out, NULL);
	for (off = 2; off < size; off += step) {
		size_t	n = size - off < step ? size - off : step;

		/* Pieces alternate between the terminal and stderr. */
		pane_write_stream(p, data[off] & 0x80 ? 2 : 1,
		    (const char *)data + off, n);
		if (data[off] == 0xff) {
			rows = 1 + data[off - 1] % 30;
			cols = 1 + data[off - 1] % 90;
			if (cols > maxcols)
				maxcols = cols;
			pane_resize(p, rows, cols);
		}
		if (data[off] == 0xfe)
			pane_scroll(p, data[off - 1] % 20 - 10);
		if (data[off] == 0xfd && n > 2) {
			char	needle[4] = { (char)data[off + 1], (char)data[off + 2], 0, 0 };

			(void)pane_find(p, needle, data[off - 1] & 1 ? 1 : -1);
			assert(pane_scrolled(p) >= 0);
		}
		if (off % 7 == 0)
			pane_frame(p);
	}
	pane_frame(p);
	for (int back = 0; back < 60; back += 7) {
		pane_scroll(p, PANE_END);
		pane_scroll(p, back);
		for (int r = 0; r < rows; r++)
			assert(pane_dropped(p) > 0 || pane_mark(p, r) != PANE_FONT_MOAT);
	}
	pane_scroll(p, PANE_END);
	for (int r = 0; r < rows; r++) {
		char	*t = pane_row_text(p, r);

		/* At most 6 characters of 4 bytes per column. */
		assert(strlen(t) <= (size_t)maxcols * 6 * 4);
		free(t);
	}
	pane_free(p);
	return (0);
}
