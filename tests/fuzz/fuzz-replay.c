/* fuzz-replay.c: libFuzzer harness for the reader of output's timing
 * (src/audit/replay.c), which moat audit replay applies to what the log
 * holds: a log is a file a user (or anything running as the user) can
 * edit. The input is a timing column, the rest of it cut into a head and a
 * tail. Whatever the text, every kept byte is played exactly once, in
 * time order, and parsed ticks never go back. Build and run:
 * tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/replay.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* replay_load is not reached here; replay.c names these two. */
struct sqlite3	*audit_sqlite(struct audit *);
const char	*audit_path(const struct audit *);

struct sqlite3 *
audit_sqlite(struct audit *a)
{
	(void)a;
	abort();
}

const char *
audit_path(const struct audit *a)
{
	(void)a;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data;
	const char		*sep = memchr(s, '|', size);
	size_t			 nt = sep != NULL ? (size_t)(sep - s) : size;
	size_t			 rest = sep != NULL ? size - nt - 1 : 0;
	size_t			 nh = rest / 2, ntail = rest - nh, played = 0;
	uint64_t		 total = nh + ntail + (size > 0 ? data[0] % 7 : 0);
	struct replay_tick	*t = NULL;
	size_t			 n = 0;
	struct replay		 r = { 0 };

	if (replay_timing_parse(s, nt, &t, &n) == 0) {
		for (size_t i = 1; i < n; i++)
			assert(t[i].off >= t[i - 1].off);
		free(t);
	} else
		assert(t == NULL && n == 0);
	replay_add(&r, 1, sep != NULL ? sep + 1 : NULL, nh,
	    sep != NULL ? sep + 1 + nh : NULL, ntail, total, s, nt);
	replay_add(&r, 2, sep != NULL ? sep + 1 : NULL, nh, NULL, 0, nh, s, nt);
	replay_sort(&r);
	for (size_t i = 0; i < r.n; i++) {
		assert(r.c[i].len > 0);
		if (i > 0)
			assert(r.c[i].ms >= r.c[i - 1].ms);
		played += r.c[i].len;
	}
	assert(played == nh + ntail + nh);
	replay_clear(&r);
	return (0);
}
