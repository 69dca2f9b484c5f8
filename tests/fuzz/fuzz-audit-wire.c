/* fuzz-audit-wire.c: libFuzzer harness for the requests a session's client
 * sends its supervisor about its runs' records (audit_guest_serve in
 * src/audit/audit-remote.c), which the supervisor reads from any process of
 * the user's that connects. Each input is a request's body after its op;
 * the harness makes the head itself, so that the log is always the one in
 * its own temporary directory: its first byte picks the op (a run's begin,
 * refused or failed run, appended items, completion, abandon) and, for the
 * ops of a run, the run is one the harness began just before with a
 * well-formed begin. No input may crash, leak or hang; a request that is
 * refused says why. Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char			 dir[64], dbpath[256];
static struct audit_keeper	*keeper;
static unsigned			 inputs;

static void
add(char **b, size_t *n, const void *p, size_t k)
{
	*b = realloc(*b, *n + k);
	assert(*b != NULL);
	memcpy(*b + *n, p, k);
	*n += k;
}

static void
add_u32(char **b, size_t *n, uint32_t v)
{
	add(b, n, &v, sizeof v);
}

static void
add_str(char **b, size_t *n, const char *s)
{
	add_u32(b, n, s == NULL ? 0xffffffffU : (uint32_t)strlen(s));
	if (s != NULL)
		add(b, n, s, strlen(s) + 1);
}

/* A well-formed begin of "true": its row id. */
static int64_t
begin(struct audit_guest *g)
{
	char		*b = NULL, *rep = NULL;
	size_t		 n = 0, rlen = 0;
	int64_t		 zero = 0, rowid;
	double		 d = 0;
	struct merr	 e;

	add_u32(&b, &n, 0x3152414dU);
	add_u32(&b, &n, 1);
	add_str(&b, &n, dbpath);
	for (int i = 0; i < 9; i++)
		add_str(&b, &n, i == 1 ? "cli" : NULL);
	add_u32(&b, &n, 1);
	add_str(&b, &n, "true");
	add(&b, &n, &zero, sizeof zero);		/* risk */
	add_str(&b, &n, NULL);
	add(&b, &n, &zero, sizeof zero);		/* output head, tail */
	add(&b, &n, &zero, sizeof zero);
	add(&b, &n, &d, sizeof d);
	add(&b, &n, &zero, sizeof zero);		/* the sender: ours */
	add_u32(&b, &n, 0);				/* no secrets */
	assert(audit_guest_serve(g, b, n, &rep, &rlen, &e) == 1);
	assert(rlen >= sizeof rowid);
	memcpy(&rowid, rep, sizeof rowid);
	free(rep);
	free(b);
	return (rowid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_guest	*g;
	char			*b = NULL, *rep = NULL;
	size_t			 n = 0, rlen = 0;
	uint32_t		 op;
	int64_t			 rowid = 0;
	struct merr		 e;
	int			 rc;

	/* A new log now and then: the dropped runs stay running (their
	 * owner, this process, is alive), and each tidy looks at them all. */
	if (keeper != NULL && ++inputs % 200 == 0) {
		char	p[300];

		audit_keeper_free(keeper);
		keeper = NULL;
		for (int i = 0; i < 4; i++) {
			snprintf(p, sizeof p, "%s%s", dbpath,
			    (const char *[]){ "", "-wal", "-shm", "-spool" }[i]);
			unlink(p);
		}
	}
	if (keeper == NULL) {
		if (dir[0] == '\0') {
			snprintf(dir, sizeof dir, "%s/fuzz-audit-wire-XXXXXX",
			    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
			assert(mkdtemp(dir) != NULL);
			snprintf(dbpath, sizeof dbpath, "%s/audit.db", dir);
			setenv("MOAT_REDACT_RULES", "/dev/null", 1);
		}
		keeper = audit_keeper_new();
		audit_keeper_secret(keeper, "TOKEN", "s3cr3t-value", 12);
	}
	if (size == 0)
		return (0);
	op = 1 + data[0] % 6;
	g = audit_guest_new(keeper, getpid());
	add_u32(&b, &n, 0x3152414dU);
	add_u32(&b, &n, op);
	if (op <= 3)
		add_str(&b, &n, dbpath);
	else {
		rowid = begin(g);
		add(&b, &n, &rowid, sizeof rowid);
	}
	add(&b, &n, data + 1, size - 1);
	rc = audit_guest_serve(g, b, n, &rep, &rlen, &e);
	assert(rc >= -1 && rc <= 1);
	if (rc == -1)
		assert(e.msg[0] != '\0');
	if (rc == 1)
		assert(rep != NULL);
	free(rep);
	free(b);
	/* A run left open is dropped with its guest, as a client that goes. */
	audit_guest_free(g);
	audit_keeper_tidy(keeper);
	return (0);
}
