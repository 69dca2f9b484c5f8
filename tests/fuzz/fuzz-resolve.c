/* fuzz-resolve.c: libFuzzer harness for the #! reader of resolve.c, which
 * moat run uses on every command before it starts (a script in the
 * workspace may have been written by an earlier sandboxed run). The input
 * is the first bytes of an executable file in a private directory; the
 * command is resolved by its path (links, interpreters, env NAME on a PATH
 * of that directory), with and without a mount plan. The steps are bounded,
 * each has an absolute path, and the hint is a string or NULL. Build and
 * run: tests/fuzz/run.sh. */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/resolve.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	dir[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 path[128];
	struct resolve	 res;
	char		*hint;
	int		 fd;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/fuzz-resolve.XXXXXX");
		assert(mkdtemp(dir) != NULL);
	}
	snprintf(path, sizeof path, "%s/cmd", dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert(fd != -1);
	assert(write(fd, data, size) == (ssize_t)size);
	close(fd);
	resolve_command(path, dir, dir, NULL, &res);
	assert(res.found && res.n >= 1 && res.n <= 2000);
	for (size_t i = 0; i < res.n; i++)
		assert(res.steps[i].path != NULL && res.steps[i].path[0] == '/' &&
		    res.steps[i].depth >= 0 && res.steps[i].depth <= 4);
	hint = resolve_hint(&res, "cmd", "fuzz", "/nonexistent");
	assert(hint == NULL);	/* no plan: every step is shown */
	resolve_release(&res);
	resolve_command("cmd", dir, "/", NULL, &res);
	assert(res.found);
	resolve_release(&res);
	return (0);
}
