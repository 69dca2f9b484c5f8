/* fuzz-mcp.c: libFuzzer harness for moat mcp's message path: each line of
 * the input is one message to mcp_handle (src/agent/mcp.c): the depth and
 * size bounds, jansson's parse with duplicate keys refused, the JSON-RPC
 * checks, the era of the request (handshake or _meta), the dispatch, and
 * tools/call's argument validation against each tool's schema
 * (mcp-tools.c). The server is dry: a call that would start a session, a
 * runner or open the log is answered with an error, and the stubs below
 * abort if anything reaches them. Every line it writes must be one JSON-RPC
 * message: an object with jsonrpc "2.0" and a result, or an error with an
 * integer code and a message. Each line is also read as a command the
 * server sends a kept runner (mcp_run_request_decode). Build and run:
 * tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/mcp.h"
#include "agent/mcp-tools.h"
#include "audit/audit.h"
#include "profile/profile.h"
#include "review/review.h"
#include "session/session.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Nothing with a side effect is reached by a dry server. */
#define NEVER(ret, name, ...) ret name(__VA_ARGS__) { abort(); }
NEVER(int, mcp_run_start, struct mcp *m, struct mcp_req *r, struct mcp_run_args *a)
NEVER(struct profile *, profile_load, const char *n, struct merr *e)
NEVER(int, session_start, const struct session_opts *o, char id[SESSION_ID_MAX], struct merr *e)
NEVER(int, session_connect, const char *w, struct session_info *i, struct merr *e)
NEVER(int, session_request, int fd, int t, int c, struct session_info *i, struct merr *e)
NEVER(int, session_open_inside, int s, const struct session_info *i, const char *p, int f,
    mode_t md, struct merr *e)
NEVER(struct audit *, audit_open, const char *p, int f, struct merr *e)
NEVER(void, audit_close, struct audit *a)
NEVER(struct audit_run *, audit_run_begin, struct audit *a, const struct audit_start *s,
    struct merr *e)
NEVER(int, audit_run_event, struct audit_run *r, const struct run_event *ev, struct merr *e)
NEVER(int, review_load, struct review *rv, const char *id, const char *ws,
    const struct strv *pr, struct merr *e)
NEVER(void, review_release, struct review *rv)
NEVER(int, review_open_session, struct review *rv, const char *id, const char *rid,
    const char *ws, const char *pn, const struct strv *pr, double t, struct merr *e)
NEVER(int, review_apply, const struct review *rv, const bool *sel,
    const struct review_apply_opts *o, struct review_result *res, struct merr *e)
NEVER(int, review_conflicts, const struct review *rv, const bool *sel, char **out,
    struct merr *e)
NEVER(void, review_result_release, struct review_result *res)
NEVER(bool, review_match, const char *p, char *const *f, size_t n)
NEVER(const char *, review_kind_name, enum review_kind k)
NEVER(const char *, profile_ws_mode_name, enum ws_mode w)
NEVER(int, audit_run_end, struct audit_run *r, const struct audit_end *en, struct merr *e)
NEVER(struct sqlite3 *, audit_sqlite, struct audit *a)

/* A dry server keeps no runners. */
void	mcp_workers_retire(struct mcp *m, const char *id) { }

/* The call table is empty in a dry server. */
void	mcp_call_free(struct mcp_call *c) { assert(c == NULL); }
void	mcp_call_cancel(struct mcp *m, const json_t *id) { assert(id != NULL); }
void	mcp_calls_tick(struct mcp *m) { }
void	mcp_calls_shutdown(struct mcp *m) { }
size_t	mcp_calls_running(const struct mcp *m) { return (0); }
void	profile_free(struct profile *p) { assert(p == NULL); }
void	risk_rules_free(struct risk_rules *r) { assert(r == NULL); }
const char *profile_net_mode_name(enum net_mode n) { abort(); }

static size_t	lines;

static void
check_line(struct mcp *m, const char *s, size_t n)
{
	json_t	*j = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL), *e;

	assert(memchr(s, '\n', n) == NULL);
	assert(j != NULL && json_is_object(j));
	assert(json_is_string(json_object_get(j, "jsonrpc")) &&
	    strcmp(json_string_value(json_object_get(j, "jsonrpc")), "2.0") == 0);
	e = json_object_get(j, "error");
	assert((e != NULL) != (json_object_get(j, "result") != NULL));
	if (e != NULL) {
		assert(json_is_integer(json_object_get(e, "code")));
		assert(json_is_string(json_object_get(e, "message")));
	} else
		assert(json_is_object(json_object_get(j, "result")));
	assert(json_object_get(j, "id") != NULL);
	json_decref(j);
	lines++;
}

/* Each line is also read as a command for a kept runner (mcp-run.c reads
 * what the server writes there): one taken is written again and reads
 * back the same. */
static void
check_request(const char *s, size_t n)
{
	json_t			*j = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL), *j2;
	struct mcp_run_args	 a, b;
	struct strv		 av = { 0 }, bv = { 0 };
	char			*ca = NULL, *cb = NULL, *text;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	if (j == NULL || mcp_run_request_decode(j, &ca, &av, &a) == -1) {
		assert(av.n == 0 && a.env.n == 0 && ca == NULL);
		json_decref(j);
		return;
	}
	assert(av.n > 0 && a.argv == av.v);
	text = mcp_run_request_encode(ca, &a);
	assert(text != NULL);
	j2 = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert(j2 != NULL && mcp_run_request_decode(j2, &cb, &bv, &b) == 0);
	assert(av.n == bv.n && a.env.n == b.env.n);
	for (size_t i = 0; i < av.n; i++)
		assert(strcmp(av.v[i], bv.v[i]) == 0);
	for (size_t i = 0; i < a.env.n; i++)
		assert(strcmp(a.env.v[i], b.env.v[i]) == 0 && strchr(b.env.v[i], '=') != NULL);
	assert((ca == NULL) == (cb == NULL) && (ca == NULL || strcmp(ca, cb) == 0));
	assert((a.cwd == NULL) == (b.cwd == NULL) && (a.cwd == NULL || strcmp(a.cwd, b.cwd) == 0));
	assert(a.timeout == b.timeout && a.output_max == b.output_max);
	free(text);
	free(ca);
	free(cb);
	strv_clear(&av);
	strv_clear(&bv);
	strv_clear(&a.env);
	strv_clear(&b.env);
	json_decref(j);
	json_decref(j2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp	*m;
	const char		*s = (const char *)data, *nl;

	if (m == NULL) {
		struct mcp_opts	o = { .profile = "default" };

		m = mcp_new(&o, -1);
		m->emit = check_line;
		m->dry = true;
	}
	m->legacy = false;
	free(m->legacy_client);
	m->legacy_client = NULL;
	while (size > 0) {
		size_t	n = (nl = memchr(s, '\n', size)) != NULL ? (size_t)(nl - s) : size;

		mcp_handle(m, s, n);
		check_request(s, n);
		n += nl != NULL;
		s += n;
		size -= n;
	}
	return (0);
}
