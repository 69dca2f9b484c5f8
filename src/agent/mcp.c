/* mcp.c: the protocol side of `moat mcp`: lines in, JSON-RPC messages
 * parsed (jansson, duplicate keys refused, depth and size bounded), the
 * protocol era chosen per request (an initialize handshake selects
 * 2025-11-25 for the process; _meta naming a version is served statelessly
 * as 2026-07-28), methods dispatched, replies and notifications out, one
 * message per line. The tools are in mcp-tools.c, the runners of commands
 * in mcp-run.c. Runs in the `moat mcp` process. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/loop.h"
#include "mcp.h"
#include "mcp-tools.h"
#include "risk/risk.h"

#define MCP_INSTRUCTIONS \
	"moat runs each command in a sandbox (namespaces, seccomp, a network " \
	"allowlist, resource limits) and records it in an audit log. " \
	"run_command runs a shell command in a session: a sandbox that keeps its " \
	"files, /tmp and background processes between calls. Without a session " \
	"argument one session per server is made on first use; session_new makes " \
	"more (another allowed profile or workspace). read_file, write_file and " \
	"list_files work inside a session's workspace. list_runs and show_run " \
	"read the audit log of this server's runs."

static const char *const mcp_versions[] = { MCP_VERSION_MODERN, MCP_VERSION_LEGACY };
/* Handshake versions answered as they were asked (their tools messages are
 * those of 2025-11-25 less some fields); any other gets 2025-11-25. */
static const char *const mcp_legacy_versions[] = {
	MCP_VERSION_LEGACY, "2025-06-18", "2025-03-26",
};

static void
mcp_emit_fd(struct mcp *m, const char *s, size_t n)
{
	struct iovec	iov[2] = {
		{ .iov_base = (void *)s, .iov_len = n },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	size_t		left = n + 1;

	/* A client that stopped reading holds us here: it asked for it, and
	 * nothing is buffered without bound. */
	while (left > 0) {
		ssize_t	w = writev(m->out, iov, 2);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* EPIPE: the client is gone; so is the server. */
			m->eof = true;
			if (m->loop != NULL)
				loop_stop(m->loop);
			return;
		}
		left -= (size_t)w;
		for (int i = 0; i < 2; i++) {
			size_t	k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;

			iov[i].iov_base = (char *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			w -= (ssize_t)k;
		}
	}
}

struct mcp *
mcp_new(const struct mcp_opts *o, int out)
{
	struct mcp	*m = xcalloc(1, sizeof *m);

	m->o = *o;
	memset(&m->o.allow, 0, sizeof m->o.allow);
	strv_copy(&m->o.allow, &o->allow);
	if (m->o.profile == NULL)
		m->o.profile = "default";
	m->out = out;
	m->emit = mcp_emit_fd;
	m->sigfd = -1;
	m->tools = mcp_tools_list();
	return (m);
}

void
mcp_free(struct mcp *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < MCP_CALLS_MAX; i++)
		if (m->calls[i] != NULL)
			mcp_call_free(m->calls[i]);
	mcp_sessions_clear(m);
	json_decref(m->tools);
	risk_rules_free(m->rules);
	free(m->legacy_client);
	strv_clear(&m->o.allow);
	free(m);
}

void
mcp_send(struct mcp *m, json_t *msg)
{
	char	*s;

	/* Compact: strings have their newlines escaped, so one line. */
	if ((s = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(12))) != NULL) {
		if (!m->eof)
			m->emit(m, s, strlen(s));
		free(s);
	}
	json_decref(msg);
}

void
mcp_reply(struct mcp *m, struct mcp_req *req, json_t *result)
{
	if (req->modern) {
		if (json_object_get(result, "resultType") == NULL)
			json_object_set_new(result, "resultType", json_string("complete"));
		json_object_set_new(result, "_meta", json_pack("{s:{s:s,s:s}}",
		    "io.modelcontextprotocol/serverInfo", "name", "moat",
		    "version", PACKAGE_VERSION));
	}
	mcp_send(m, json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", req->id,
	    "result", result));
}

void
mcp_reply_error(struct mcp *m, json_t *id, int code, json_t *data,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];
	json_t	*err;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err = json_pack("{s:i,s:s%}", "code", code, "message", msg, strlen(msg));
	if (err == NULL) {	/* the message quoted bytes that are not UTF-8 */
		autofree char	*u = mcp_utf8(msg, strlen(msg), NULL);

		err = json_pack("{s:i,s:s}", "code", code, "message", u);
	}
	if (data != NULL)
		json_object_set_new(err, "data", data);
	mcp_send(m, json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "error", err));
}

void
mcp_req_release(struct mcp_req *req)
{
	json_decref(req->id);
	json_decref(req->progress);
	free(req->client);
	memset(req, 0, sizeof *req);
}

char *
mcp_utf8(const void *buf, size_t n, size_t *outlen)
{
	const unsigned char	*s = buf;
	char			*o = xmalloc(n * 3 + 1);
	size_t			 i = 0, k = 0;

	while (i < n) {
		unsigned char	c = s[i];
		size_t		len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
				    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t	cp = len == 1 ? c : len == 2 ? c & 0x1f :
				    len == 3 ? c & 0x0f : c & 0x07;
		/* NUL too: the text goes into C strings on its way. */
		bool		good = len > 0 && i + len <= n && c != 0;

		for (size_t j = 1; good && j < len; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				good = false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF are not text. */
		if (good && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)))
			good = false;
		if (!good) {
			memcpy(o + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
			continue;
		}
		memcpy(o + k, s + i, len);
		k += len;
		i += len;
	}
	o[k] = '\0';
	if (outlen != NULL)
		*outlen = k;
	return (o);
}

/* How deep arrays and objects nest, counted before jansson sees the text
 * (its own bound is a compile-time 2048); stops counting past max. */
static int
mcp_depth(const char *s, size_t n, int max)
{
	int	depth = 0, top = 0;
	bool	str = false;

	for (size_t i = 0; i < n; i++) {
		char	c = s[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
			continue;
		}
		if (c == '"')
			str = true;
		else if (c == '[' || c == '{') {
			if (++depth > top && (top = depth) > max)
				return (top);
		} else if (c == ']' || c == '}')
			depth--;
	}
	return (top);
}

static json_t *
mcp_supported(void)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < nitems(mcp_versions); i++)
		json_array_append_new(a, json_string(mcp_versions[i]));
	return (a);
}

static json_t *
mcp_capabilities(void)
{
	return (json_pack("{s:{s:b}}", "tools", "listChanged", 0));
}

static void
mcp_initialize(struct mcp *m, struct mcp_req *req, json_t *params)
{
	json_t		*pv = json_object_get(params, "protocolVersion");
	json_t		*ci = json_object_get(params, "clientInfo");
	const char	*v = MCP_VERSION_LEGACY;

	if (!json_is_string(pv)) {
		mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, json_pack("{s:o}",
		    "supported", mcp_supported()), "initialize: params.protocolVersion "
		    "must be a string (this server speaks %s here)", MCP_VERSION_LEGACY);
		return;
	}
	if (ci != NULL && !json_is_object(ci)) {
		mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL,
		    "initialize: params.clientInfo must be an object");
		return;
	}
	/* The version asked for when it is one this handshake serves; else
	 * ours, and the client decides whether to go on. */
	for (size_t i = 0; i < nitems(mcp_legacy_versions); i++)
		if (strcmp(json_string_value(pv), mcp_legacy_versions[i]) == 0)
			v = mcp_legacy_versions[i];
	m->legacy = true;
	snprintf(m->legacy_version, sizeof m->legacy_version, "%s", v);
	free(m->legacy_client);
	m->legacy_client = json_is_string(json_object_get(ci, "name")) ?
	    xstrdup(json_string_value(json_object_get(ci, "name"))) : NULL;
	mcp_reply(m, req, json_pack("{s:s,s:o,s:{s:s,s:s,s:s},s:s}",
	    "protocolVersion", v, "capabilities", mcp_capabilities(),
	    "serverInfo", "name", "moat", "title", "moat sandbox", "version",
	    PACKAGE_VERSION, "instructions", MCP_INSTRUCTIONS));
}

static void
mcp_discover(struct mcp *m, struct mcp_req *req)
{
	json_t	*r = json_pack("{s:o,s:o,s:s}", "supportedVersions", mcp_supported(),
	    "capabilities", mcp_capabilities(), "instructions", MCP_INSTRUCTIONS);

	if (req->modern) {
		json_object_set_new(r, "ttlMs", json_integer(3600000));
		json_object_set_new(r, "cacheScope", json_string("private"));
	}
	mcp_reply(m, req, r);
}

static void
mcp_tools_list_reply(struct mcp *m, struct mcp_req *req, json_t *params)
{
	json_t	*r = json_pack("{s:O}", "tools", m->tools);

	if (json_object_get(params, "cursor") != NULL &&
	    !json_is_string(json_object_get(params, "cursor"))) {
		json_decref(r);
		mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL,
		    "tools/list: params.cursor must be a string");
		return;
	}
	/* One page: there is no next cursor. */
	if (req->modern) {
		json_object_set_new(r, "ttlMs", json_integer(3600000));
		json_object_set_new(r, "cacheScope", json_string("private"));
	}
	mcp_reply(m, req, r);
}

static void
mcp_notification(struct mcp *m, const char *method, json_t *params)
{
	json_t	*id;

	if (strcmp(method, "notifications/cancelled") == 0) {
		/* Malformed or unknown: ignored, as the specification says. */
		id = json_object_get(params, "requestId");
		if (id != NULL)
			mcp_call_cancel(m, id);
	}
	/* notifications/initialized and the rest need nothing from us. */
}

/* The era of one request: 2026-07-28 when its _meta names a version,
 * else the handshake's. -1: an error was sent. */
static int
mcp_era(struct mcp *m, struct mcp_req *req, const char *method, json_t *params)
{
	json_t	*meta = json_object_get(params, "_meta");
	json_t	*pv = json_object_get(meta, "io.modelcontextprotocol/protocolVersion");
	json_t	*ci, *tok;

	if (meta != NULL && !json_is_object(meta)) {
		mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL,
		    "%s: params._meta must be an object", method);
		return (-1);
	}
	if ((tok = json_object_get(meta, "progressToken")) != NULL) {
		if (!json_is_string(tok) && !json_is_integer(tok)) {
			mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL,
			    "%s: params._meta.progressToken must be a string or an "
			    "integer", method);
			return (-1);
		}
		req->progress = json_incref(tok);
	}
	if (pv == NULL) {
		if (m->legacy || strcmp(method, "ping") == 0 ||
		    strcmp(method, "initialize") == 0) {
			if (m->legacy_client != NULL)
				req->client = xstrdup(m->legacy_client);
			return (0);
		}
		mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, json_pack("{s:o}",
		    "supported", mcp_supported()), "%s: no protocol version: send "
		    "initialize first (%s), or name the version in params._meta"
		    "[\"io.modelcontextprotocol/protocolVersion\"] (%s)", method,
		    MCP_VERSION_LEGACY, MCP_VERSION_MODERN);
		return (-1);
	}
	if (!json_is_string(pv) || (strcmp(json_string_value(pv), MCP_VERSION_MODERN) != 0 &&
	    strcmp(json_string_value(pv), MCP_VERSION_LEGACY) != 0)) {
		mcp_reply_error(m, req->id, MCP_UNSUPPORTED_VERSION, json_pack("{s:o,s:O}",
		    "supported", mcp_supported(), "requested", pv),
		    "Unsupported protocol version");
		return (-1);
	}
	req->modern = strcmp(json_string_value(pv), MCP_VERSION_MODERN) == 0;
	if (req->modern && !json_is_object(json_object_get(meta,
	    "io.modelcontextprotocol/clientCapabilities"))) {
		mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL, "%s: params."
		    "_meta[\"io.modelcontextprotocol/clientCapabilities\"] must be "
		    "an object (it is required on every request of %s)", method,
		    MCP_VERSION_MODERN);
		return (-1);
	}
	ci = json_object_get(json_object_get(meta, "io.modelcontextprotocol/clientInfo"),
	    "name");
	if (json_is_string(ci))
		req->client = xstrdup(json_string_value(ci));
	return (0);
}

static void
mcp_request(struct mcp *m, struct mcp_req *req, const char *method, json_t *params)
{
	json_t	*name, *args;

	if (mcp_era(m, req, method, params) == -1)
		return;
	if (strcmp(method, "initialize") == 0)
		mcp_initialize(m, req, params);
	else if (strcmp(method, "ping") == 0)
		mcp_reply(m, req, json_object());
	else if (strcmp(method, "server/discover") == 0)
		mcp_discover(m, req);
	else if (strcmp(method, "tools/list") == 0)
		mcp_tools_list_reply(m, req, params);
	else if (strcmp(method, "tools/call") == 0) {
		name = json_object_get(params, "name");
		args = json_object_get(params, "arguments");
		if (!json_is_string(name))
			mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL,
			    "tools/call: params.name must be a string naming a tool");
		else if (args != NULL && !json_is_object(args))
			mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL,
			    "tools/call: params.arguments must be an object");
		else {
			if (args == NULL)
				args = json_object();
			else
				json_incref(args);
			mcp_tools_call(m, req, json_string_value(name), args);
			json_decref(args);
		}
	} else
		mcp_reply_error(m, req->id, RPC_METHOD_NOT_FOUND, NULL,
		    "Method not found: %s", method);
}

void
mcp_handle(struct mcp *m, const char *buf, size_t n)
{
	json_t		*msg, *id, *method, *params;
	json_error_t	 je;
	struct mcp_req	 req;
	size_t		 i;
	int		 d;

	for (i = 0; i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'); i++)
		;
	if (i == n)
		return;		/* a blank line is no message */
	if (n > MCP_LINE_MAX) {
		mcp_reply_error(m, NULL, RPC_INVALID_REQUEST, NULL, "Invalid Request: "
		    "a message of %zu bytes; at most %u are read", n, MCP_LINE_MAX);
		return;
	}
	if ((d = mcp_depth(buf, n, MCP_DEPTH_MAX)) > MCP_DEPTH_MAX) {
		mcp_reply_error(m, NULL, RPC_PARSE_ERROR, NULL, "Parse error: arrays "
		    "and objects nested more than %d deep", MCP_DEPTH_MAX);
		return;
	}
	if ((msg = json_loadb(buf, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &je)) == NULL) {
		mcp_reply_error(m, NULL, RPC_PARSE_ERROR, NULL, "Parse error: %s "
		    "(at byte %d)", je.text, je.position);
		return;
	}
	if (json_is_array(msg)) {
		mcp_reply_error(m, NULL, RPC_INVALID_REQUEST, NULL, "Invalid Request: "
		    "batches are not part of MCP; send one message per line");
		json_decref(msg);
		return;
	}
	if (!json_is_object(msg)) {
		mcp_reply_error(m, NULL, RPC_INVALID_REQUEST, NULL, "Invalid Request: "
		    "a message is a JSON object");
		json_decref(msg);
		return;
	}
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	params = json_object_get(msg, "params");
	if (id != NULL && !json_is_string(id) && !json_is_integer(id)) {
		mcp_reply_error(m, NULL, RPC_INVALID_REQUEST, NULL, "Invalid Request: "
		    "id must be a string or an integer");
		goto out;
	}
	if (!json_is_string(json_object_get(msg, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0) {
		if (id != NULL || method == NULL)
			mcp_reply_error(m, id, RPC_INVALID_REQUEST, NULL,
			    "Invalid Request: \"jsonrpc\" must be \"2.0\"");
		goto out;
	}
	if (method == NULL && (json_object_get(msg, "result") != NULL ||
	    json_object_get(msg, "error") != NULL))
		goto out;	/* a response: this server sends no requests */
	if (!json_is_string(method) ||
	    strlen(json_string_value(method)) != json_string_length(method)) {
		mcp_reply_error(m, id, RPC_INVALID_REQUEST, NULL, "Invalid Request: "
		    "\"method\" must be a string (with no NUL)");
		goto out;
	}
	if (params != NULL && !json_is_object(params)) {
		if (id != NULL)
			mcp_reply_error(m, id, RPC_INVALID_PARAMS, NULL, "%s: params "
			    "must be an object", json_string_value(method));
		goto out;
	}
	if (id == NULL) {
		mcp_notification(m, json_string_value(method), params);
		goto out;
	}
	memset(&req, 0, sizeof req);
	req.id = json_incref(id);
	mcp_request(m, &req, json_string_value(method), params);
	mcp_req_release(&req);
out:
	json_decref(msg);
}

/* The input: lines of at most MCP_LINE_MAX bytes; a longer one is skipped
 * up to its newline and answered with an error. */
struct mcp_in {
	struct mcp	*m;
	char		*buf;
	size_t		 len, cap;
	size_t		 skipping;	/* bytes of an overlong line so far */
};

static void
mcp_in_line(struct mcp_in *in, const char *s, size_t n)
{
	if (in->skipping > 0) {
		mcp_reply_error(in->m, NULL, RPC_INVALID_REQUEST, NULL,
		    "Invalid Request: a message of %zu bytes; at most %u are read",
		    in->skipping + n, MCP_LINE_MAX);
		in->skipping = 0;
		return;
	}
	mcp_handle(in->m, s, n);
}

static void
mcp_on_stdin(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mcp_in	*in = arg;
	ssize_t		 r;
	size_t		 start = 0;

	if (in->cap - in->len < 65536) {
		in->cap = in->cap == 0 ? 131072 : in->cap * 2;
		in->buf = xrealloc(in->buf, in->cap);
	}
	r = read(fd, in->buf + in->len, in->cap - in->len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		/* End of input: a last line without its newline counts. */
		if (in->len > 0)
			mcp_in_line(in, in->buf, in->len);
		in->len = 0;
		in->m->eof = true;
		loop_del(l, fd);
		loop_stop(l);
		return;
	}
	for (size_t i = in->len; i < in->len + (size_t)r; i++) {
		if (in->buf[i] != '\n')
			continue;
		mcp_in_line(in, in->buf + start, i - start);
		start = i + 1;
	}
	in->len += (size_t)r;
	memmove(in->buf, in->buf + start, in->len - start);
	in->len -= start;
	if (in->len > MCP_LINE_MAX) {
		in->skipping += in->len;
		in->len = 0;
	}
	if (in->cap > 262144 && in->len < 65536) {
		in->cap = 131072;
		in->buf = xrealloc(in->buf, in->cap);
	}
}

static void
mcp_on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mcp		*m = arg;
	struct signalfd_siginfo	 si;

	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			continue;	/* the runners' pipes say when they end */
		if (m->o.verbose > 0)
			fprintf(stderr, "moat mcp: signal %u: stopping\n", si.ssi_signo);
		m->eof = true;
		loop_stop(l);
	}
}

static void
mcp_on_tick(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t	n;

	if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
		return;
	mcp_calls_tick(arg);
}

int
mcp_serve(struct mcp *m, int infd, struct merr *e)
{
	struct mcp_in	 in = { .m = m };
	struct loop	*l;
	sigset_t	 mask, old;
	int		 tick = -1, rc = -1;

	if ((l = loop_new(e)) == NULL)
		return (-1);
	m->loop = l;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	if ((m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		merr_errno(e, "signalfd");
		goto out;
	}
	if (loop_add(l, infd, EPOLLIN, mcp_on_stdin, &in, e) == -1 ||
	    loop_add(l, m->sigfd, EPOLLIN, mcp_on_signal, m, e) == -1 ||
	    (tick = loop_timer(l, 1.0, 1.0, mcp_on_tick, m, e)) == -1)
		goto out;
	/* Until the input ends; then what still runs is let finish (its
	 * replies go nowhere when the client is gone, but its rows are
	 * completed), cancelled after a grace time. */
	while (!loop_stopped(l))
		if (loop_once(l, -1, e) == -1)
			goto out;
	mcp_calls_shutdown(m);
	rc = 0;
out:
	mcp_sessions_close(m);
	if (tick >= 0)
		close(tick);
	if (m->sigfd >= 0)
		close(m->sigfd);
	m->sigfd = -1;
	loop_free(l);
	m->loop = NULL;
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(in.buf);
	return (rc);
}
