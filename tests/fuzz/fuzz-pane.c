/* fuzz-pane.c: libFuzzer harness for moat shell's output pane
 * (src/tui/tui-pane.c over libvterm): any bytes a command writes, in any
 * pieces, with resizes and scrolling between them, must leave a pane whose
 * rows read back within its width, and whatever the emulator answers goes
 * to the callback only. The first two bytes pick the size and the split.
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

		pane_write(p, (const char *)data + off, n);
		if (data[off] == 0xff) {
			rows = 1 + data[off - 1] % 30;
			cols = 1 + data[off - 1] % 90;
			if (cols > maxcols)
				maxcols = cols;
			pane_resize(p, rows, cols);
		}
		if (data[off] == 0xfe)
			pane_scroll(p, data[off - 1] % 20 - 10);
		if (off % 7 == 0)
			pane_frame(p);
	}
	pane_frame(p);
	for (int r = 0; r < rows; r++) {
		char	*t = pane_row_text(p, r);

		/* At most 6 characters of 4 bytes per column. */
		assert(strlen(t) <= (size_t)maxcols * 6 * 4);
		free(t);
	}
	pane_free(p);
	return (0);
}
