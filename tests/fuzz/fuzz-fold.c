/* fuzz-fold.c: libFuzzer harness for path_fold (src/base/util.c), which
 * folds the path an observed open in the sandbox asked for before it is
 * matched against the profile's protect entries (sandbox/notify.c): the
 * bytes come from the sandboxed process. The input is one path (bytes up to
 * the first NUL). The result must start with "/", hold no empty, "." or
 * ".." component, be no longer than the input plus one, and fold to itself.
 * Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s = strndup((const char *)data, size), *f, *again;
	const char	*p;

	if (s == NULL)
		return (0);
	f = path_fold(s);
	assert(f[0] == '/' && strlen(f) <= strlen(s) + 1);
	assert(strcmp(f, "/") == 0 || f[strlen(f) - 1] != '/');
	assert(strstr(f, "//") == NULL);
	for (p = f; p != NULL; p = strchr(p + 1, '/'))
		assert(strncmp(p, "/./", 3) != 0 && strcmp(p, "/.") != 0 &&
		    strncmp(p, "/../", 4) != 0 && strcmp(p, "/..") != 0);
	again = path_fold(f);
	assert(strcmp(again, f) == 0);
	free(again);
	free(f);
	free(s);
	return (0);
}
