/* fuzz-criu.c: libFuzzer harness for the reading of `criu check`'s output
 * (ckpt_first_error in src/session/checkpoint.c), whose line moat session
 * snapshot --processes names when the check fails. The input is the
 * output, any bytes. The line found must be NUL-terminated within its
 * buffer, hold no newline, NUL or surrounding blanks, and be a piece of
 * the input; "" only when the input has no line that is not blank. Build
 * and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session/checkpoint.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*in = (const char *)data;
	char		 line[64], small[1];
	size_t		 n;
	int		 blank = 1;

	memset(line, 'x', sizeof line);
	ckpt_first_error(in, size, line, sizeof line);
	n = strnlen(line, sizeof line);
	assert(n < sizeof line);
	assert(memchr(line, '\n', n) == NULL);
	if (n > 0) {
		assert(line[0] != ' ' && line[0] != '\t' && line[0] != '\r');
		/* Cut at the buffer, or whole and trimmed. */
		if (n < sizeof line - 1)
			assert(line[n - 1] != ' ' && line[n - 1] != '\t' &&
			    line[n - 1] != '\r');
		/* A piece of the input (a NUL inside shown as '?'). */
		for (size_t i = 0; i + n <= size; i++) {
			size_t	k;

			for (k = 0; k < n; k++)
				if (line[k] != in[i + k] &&
				    !(line[k] == '?' && in[i + k] == '\0'))
					break;
			if (k == n)
				goto found;
		}
		assert(!"the line is not in the input");
	}
found:
	for (size_t i = 0; i < size; i++)
		if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' && in[i] != '\n')
			blank = 0;
	assert((n == 0) == blank);
	small[0] = 'x';
	ckpt_first_error(in, size, small, sizeof small);
	assert(small[0] == '\0');
	ckpt_first_error(in, size, NULL, 0);
	return (0);
}
