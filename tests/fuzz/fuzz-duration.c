/* fuzz-duration.c: libFuzzer harness for the one duration grammar
 * (parse_duration in src/base/util.c) that moat run --timeout, moat
 * session's --ttl, --idle-ttl and --timeout, and the profile keys timeout,
 * cpu-time and net-idle-timeout read. The input is one value (bytes up to
 * the first NUL). A value that parses must be finite, 0 to DURATION_MAX,
 * written in plain decimal with a known unit; one refused must say why and
 * leave the output alone. Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s = strndup((const char *)data, size);
	double		 v = -7;
	const char	*why = NULL;
	size_t		 n;

	if (s == NULL)
		return (0);
	if (parse_duration(s, &v, &why) == 0) {
		assert(isfinite(v) && v >= 0 && v <= DURATION_MAX);
		n = strspn(s, "0123456789.");
		assert(n > 0 && strchr("0123456789", s[0]) != NULL);
		assert(strchr(s, 'x') == NULL && strchr(s, 'X') == NULL);
		assert(strcmp(s + n, "") == 0 || strcmp(s + n, "s") == 0 ||
		    strcmp(s + n, "ms") == 0 || strcmp(s + n, "m") == 0 ||
		    strcmp(s + n, "min") == 0 || strcmp(s + n, "h") == 0);
		for (size_t i = 0, dots = 0; i < n; i++)	/* one point, digits after it */
			if (s[i] == '.')
				assert(++dots == 1 && i + 1 < n);
	} else {
		assert(v == -7 && why != NULL && *why != '\0');
	}
	free(s);
	return (0);
}
