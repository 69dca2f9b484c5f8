/* fuzz-spool.c: libFuzzer harness for the audit log's spool of completions
 * (spool_parse and spool_format in src/audit/spool.c), which the next moat
 * to open the log reads back from a file anyone with the user's rights could
 * have written. The input is one line (bytes up to the first NUL). A line
 * that parses must name a row, a begin hash and output digests of 64 hex
 * digits, a known status, and must come back the same through
 * spool_format and spool_parse again. Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/spool.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*s = strndup((const char *)data, size);
	char			*line, *again;
	struct spool_rec	 r, r2;
	const char		*why;
	size_t			 len;

	if (s == NULL)
		return (0);
	if (spool_parse(s, &r, &why) == -1) {
		assert(why != NULL && *why != '\0');
		free(s);
		return (0);
	}
	assert(r.rowid > 0 && strlen(r.begin_hash) == 64);
	assert(strlen(r.out_sha[0]) == 64 && strlen(r.out_sha[1]) == 64);
	assert(strcmp(r.status, "done") == 0 || strcmp(r.status, "setup-failed") == 0);
	assert(r.exit_code >= -1 && r.exit_code <= 255 && r.signal >= 0 && r.signal <= 64);
	line = spool_format(&r, &len);
	assert(len > 0 && line[len - 1] == '\n' && strlen(line) == len);
	assert(memchr(line, '\n', len - 1) == NULL);
	line[len - 1] = '\0';
	again = strdup(line);
	assert(again != NULL);
	assert(spool_parse(again, &r2, &why) == 0);
	assert(r2.rowid == r.rowid && r2.exit_code == r.exit_code && r2.signal == r.signal);
	assert(r2.duration == r.duration && r2.cpu_user == r.cpu_user &&
	    r2.cpu_sys == r.cpu_sys && r2.risk == r.risk);
	assert(r2.peak_memory == r.peak_memory && r2.peak_pids == r.peak_pids);
	assert(same(r2.run_id, r.run_id) && same(r2.limits, r.limits) &&
	    same(r2.risk_reasons, r.risk_reasons) && same(r2.end_reason, r.end_reason) &&
	    same(r2.ended_at, r.ended_at));
	free(again);
	free(line);
	free(s);
	return (0);
}
