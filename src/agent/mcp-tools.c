/* mcp-tools.c: the tools of `moat mcp`: their schemas (data, checked with a
 * small validator of the JSON Schema subset they use), the sessions they
 * run in (explicit handles from session_new, or one made on first use),
 * the file tools inside a session's workspace, and the audit log's runs.
 * run_command's runner is in mcp-run.c. Runs in the `moat mcp` process. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/event.h"
#include "mcp-tools.h"
#include "profile/profile.h"
#include "review/review.h"
#include "sandbox/chan.h"
#include "session/session.h"

#define MCP_FILE_MAX		(1u << 20)	/* read_file and write_file, bytes */
#define MCP_LIST_MAX		1000		/* list_files entries */
#define MCP_OUTPUT_DEFAULT	(32u << 10)	/* run_command output kept per stream */
#define MCP_OUTPUT_MAX		(1u << 20)	/* the most its schema lets a call ask for */
#define MCP_SESSION_IDLE	3600.0		/* seconds without a command */

struct mcp_tool {
	const char	*name;
	const char	*title;
	const char	*description;
	const char	*input;		/* JSON Schema text */
	const char	*output;
	void		(*fn)(struct mcp *, struct mcp_req *, json_t *);
};

static void	mcp_tool_run(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_session_new(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_session_close(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_read(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_write(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_list_files(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_list_runs(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_show_run(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_diff(struct mcp *, struct mcp_req *, json_t *);
static void	mcp_tool_apply(struct mcp *, struct mcp_req *, json_t *);

#define S_SESSION "\"session\":{\"type\":\"string\",\"maxLength\":64,\"description\":" \
	"\"a handle from session_new; omitted: this server's own session, made on first use\"}"
#define S_PATH(what) "\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096," \
	"\"description\":\"" what ", relative to the workspace (or absolute inside it)\"}"

static const struct mcp_tool mcp_tools[] = {
	{ "run_command", "Run a command in the sandbox",
	  "Runs a command in a moat sandbox session (its files, /tmp and background "
	  "processes stay between calls) and records it in the audit log. Returns the "
	  "exit code, stdout and stderr (each cut to a limit, which is said; the audit "
	  "keeps the full hashes), the duration, why it ended, its risk score with "
	  "reasons, and what the sandbox refused (connections, system calls). A "
	  "command whose risk is above the profile's refuse threshold is not run: the "
	  "result is an error with the reasons.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"command\":{\"type\":[\"string\",\"array\"],\"minLength\":1,\"maxLength\":65536,"
	  "\"minItems\":1,\"maxItems\":4096,\"items\":{\"type\":\"string\",\"maxLength\":65536},"
	  "\"description\":\"a shell command line (run with /bin/sh -c), or an argv array\"},"
	  S_SESSION ","
	  "\"timeout\":{\"type\":\"number\",\"minimum\":0.001,\"maximum\":86400,"
	  "\"description\":\"seconds of wall-clock time; default: the profile's\"},"
	  "\"cwd\":{\"type\":\"string\",\"maxLength\":4096,\"description\":\"the working "
	  "directory, inside the workspace (relative to it, or absolute)\"},"
	  "\"env\":{\"type\":\"object\",\"maxProperties\":256,\"additionalProperties\":"
	  "{\"type\":\"string\",\"maxLength\":65536},\"description\":\"variables to set\"},"
	  "\"output_max\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1048576,"
	  "\"description\":\"bytes of stdout and of stderr returned (default 32768): "
	  "the first and the last halves\"}"
	  "},\"required\":[\"command\"],\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"run_id\":{\"type\":\"string\"},\"session\":{\"type\":\"string\"},"
	  "\"exit_code\":{\"type\":\"integer\"},\"end_reason\":{\"type\":\"string\"},"
	  "\"duration_s\":{\"type\":\"number\"},"
	  "\"stdout\":{\"type\":\"string\"},\"stderr\":{\"type\":\"string\"},"
	  "\"stdout_bytes\":{\"type\":\"integer\"},\"stderr_bytes\":{\"type\":\"integer\"},"
	  "\"stdout_truncated\":{\"type\":\"boolean\"},\"stderr_truncated\":{\"type\":\"boolean\"},"
	  "\"risk\":{\"type\":\"integer\"},\"risk_reasons\":{\"type\":\"array\"},"
	  "\"refused_connections\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
	  "\"denied_syscalls\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
	  "\"files_changed\":{\"type\":\"integer\"}},"
	  "\"required\":[\"run_id\",\"exit_code\",\"end_reason\",\"duration_s\","
	  "\"stdout\",\"stderr\"]}",
	  mcp_tool_run },
	{ "session_new", "Start a sandbox session",
	  "Starts a new sandbox session and returns its handle for the session "
	  "argument of the other tools. A session lives until session_close or until "
	  "this server exits.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"profile\":{\"type\":\"string\",\"maxLength\":256,\"description\":"
	  "\"a profile this server allows (default: its default profile)\"},"
	  "\"workspace\":{\"type\":\"string\",\"maxLength\":4096,\"description\":"
	  "\"a host directory at or under the server's workspace (default: that workspace)\"}"
	  "},\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"session\":{\"type\":\"string\"},"
	  "\"profile\":{\"type\":\"string\"},\"workspace\":{\"type\":[\"string\",\"null\"]},"
	  "\"cwd\":{\"type\":\"string\"},\"net\":{\"type\":\"string\"}},"
	  "\"required\":[\"session\",\"profile\"]}",
	  mcp_tool_session_new },
	{ "session_close", "End a sandbox session",
	  "Ends a session made by session_new (or this server's own): every process "
	  "in it is killed.",
	  "{\"type\":\"object\",\"properties\":{\"session\":{\"type\":\"string\","
	  "\"maxLength\":64}},\"required\":[\"session\"],\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"session\":{\"type\":\"string\"},"
	  "\"closed\":{\"type\":\"boolean\"}},\"required\":[\"session\",\"closed\"]}",
	  mcp_tool_session_close },
	{ "read_file", "Read a file of the workspace",
	  "Reads a file inside a session's workspace as the sandbox sees it (no "
	  "symlink leads out of it). Text comes back as UTF-8, other bytes as base64.",
	  "{\"type\":\"object\",\"properties\":{" S_PATH("the file") "," S_SESSION ","
	  "\"offset\":{\"type\":\"integer\",\"minimum\":0},"
	  "\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1048576,"
	  "\"description\":\"default 262144\"}},"
	  "\"required\":[\"path\"],\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"size\":{\"type\":\"integer\"},\"offset\":{\"type\":\"integer\"},"
	  "\"bytes\":{\"type\":\"integer\"},\"encoding\":{\"enum\":[\"utf-8\",\"base64\"]},"
	  "\"content\":{\"type\":\"string\"},\"truncated\":{\"type\":\"boolean\"}},"
	  "\"required\":[\"path\",\"size\",\"encoding\",\"content\",\"truncated\"]}",
	  mcp_tool_read },
	{ "write_file", "Write a file of the workspace",
	  "Writes (or appends to) a file inside a session's workspace as the sandbox "
	  "sees it; at most 1 MiB. Protected and read-only paths stay so.",
	  "{\"type\":\"object\",\"properties\":{" S_PATH("the file") "," S_SESSION ","
	  "\"content\":{\"type\":\"string\",\"maxLength\":1398104},"
	  "\"encoding\":{\"enum\":[\"utf-8\",\"base64\"]},"
	  "\"append\":{\"type\":\"boolean\"},"
	  "\"make_dirs\":{\"type\":\"boolean\",\"description\":\"create missing parent "
	  "directories\"}},\"required\":[\"path\",\"content\"],\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"bytes\":{\"type\":\"integer\"}},\"required\":[\"path\",\"bytes\"]}",
	  mcp_tool_write },
	{ "list_files", "List a directory of the workspace",
	  "Lists a directory inside a session's workspace as the sandbox sees it: "
	  "name, type and size of each entry (at most 1000).",
	  "{\"type\":\"object\",\"properties\":{" S_PATH("the directory (default: the "
	  "workspace itself)") "," S_SESSION "},\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"entries\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
	  "{\"name\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"},\"size\":"
	  "{\"type\":\"integer\"}}}},\"truncated\":{\"type\":\"boolean\"}},"
	  "\"required\":[\"path\",\"entries\",\"truncated\"]}",
	  mcp_tool_list_files },
	{ "list_runs", "List recorded runs",
	  "Lists the latest runs that moat mcp recorded in the audit log, newest first.",
	  "{\"type\":\"object\",\"properties\":{\"limit\":{\"type\":\"integer\","
	  "\"minimum\":1,\"maximum\":200,\"description\":\"default 20\"}," S_SESSION "},"
	  "\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"runs\":{\"type\":\"array\",\"items\":"
	  "{\"type\":\"object\"}}},\"required\":[\"runs\"]}",
	  mcp_tool_list_runs },
	{ "show_run", "Show a recorded run",
	  "Shows one run that moat mcp recorded: its command, profile, status, exit "
	  "code, risk with reasons, limits, and its events (refused connections, "
	  "denied system calls, limits hit, files changed).",
	  "{\"type\":\"object\",\"properties\":{\"run_id\":{\"type\":\"string\","
	  "\"minLength\":1,\"maxLength\":64}},\"required\":[\"run_id\"],"
	  "\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"run\":{\"type\":\"object\"},"
	  "\"events\":{\"type\":\"array\"}},\"required\":[\"run\",\"events\"]}",
	  mcp_tool_show_run },
	{ "diff", "What an overlay session changed",
	  "Lists what the commands of a session on an overlay workspace changed so "
	  "far (the host's workspace is untouched until the user applies it): each "
	  "path with added, modified, deleted, mode or symlink, its sizes, and "
	  "whether it is protected (never applied). read_file shows the new content.",
	  "{\"type\":\"object\",\"properties\":{" S_SESSION ","
	  "\"paths\":{\"type\":\"array\",\"maxItems\":256,\"items\":{\"type\":"
	  "\"string\",\"minLength\":1,\"maxLength\":4096},\"description\":\"only these "
	  "paths, the directories above them or glob(7) patterns\"}},"
	  "\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"session\":{\"type\":\"string\"},"
	  "\"workspace\":{\"type\":\"string\"},\"changes\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":"
	  "\"string\"},\"kind\":{\"type\":\"string\"},\"old_size\":{\"type\":"
	  "\"integer\"},\"new_size\":{\"type\":\"integer\"},\"protected\":{\"type\":"
	  "\"boolean\"}}}}},\"required\":[\"session\",\"changes\"]}",
	  mcp_tool_diff },
	{ "apply", "Apply an overlay session's changes",
	  "Copies what the commands of a session on an overlay workspace changed "
	  "onto the host's workspace, all of it or the paths named, as moat apply "
	  "SESSION does: nothing is written when a host file changed since the "
	  "session started (the conflicts are listed), protected paths are never "
	  "written, and the apply is recorded. Only when the user started moat mcp "
	  "with --allow-apply; otherwise the user applies with moat apply SESSION. "
	  "dry_run lists what would be applied.",
	  "{\"type\":\"object\",\"properties\":{" S_SESSION ","
	  "\"paths\":{\"type\":\"array\",\"maxItems\":256,\"items\":{\"type\":"
	  "\"string\",\"minLength\":1,\"maxLength\":4096},\"description\":\"only these "
	  "paths, the directories above them or glob(7) patterns\"},"
	  "\"dry_run\":{\"type\":\"boolean\"}},\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"session\":{\"type\":\"string\"},"
	  "\"workspace\":{\"type\":\"string\"},\"applied\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":"
	  "\"string\"},\"kind\":{\"type\":\"string\"}}}},\"protected\":{\"type\":"
	  "\"array\",\"items\":{\"type\":\"string\"}},\"dry_run\":{\"type\":"
	  "\"boolean\"}},\"required\":[\"session\",\"applied\",\"protected\"]}",
	  mcp_tool_apply },
};

static json_t *
mcp_schema(const char *text)
{
	json_error_t	 je;
	json_t		*j = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL) {	/* a bug in the table above */
		fprintf(stderr, "moat mcp: a tool schema: %s at %d\n", je.text, je.position);
		abort();
	}
	return (j);
}

json_t *
mcp_tools_list(void)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < nitems(mcp_tools); i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:o,s:o}",
		    "name", mcp_tools[i].name, "title", mcp_tools[i].title,
		    "description", mcp_tools[i].description,
		    "inputSchema", mcp_schema(mcp_tools[i].input),
		    "outputSchema", mcp_schema(mcp_tools[i].output)));
	return (a);
}

static bool
mcp_schema_type(const json_t *v, const char *t)
{
	if (strcmp(t, "string") == 0)
		return (json_is_string(v));
	if (strcmp(t, "integer") == 0)
		return (json_is_integer(v));
	if (strcmp(t, "number") == 0)
		return (json_is_number(v));
	if (strcmp(t, "boolean") == 0)
		return (json_is_boolean(v));
	if (strcmp(t, "object") == 0)
		return (json_is_object(v));
	if (strcmp(t, "array") == 0)
		return (json_is_array(v));
	if (strcmp(t, "null") == 0)
		return (json_is_null(v));
	return (false);
}

/* Characters, not bytes (the strings are valid UTF-8). */
static size_t
mcp_utf8_len(const json_t *v)
{
	const unsigned char	*s = (const unsigned char *)json_string_value(v);
	size_t			 n = json_string_length(v), k = 0;

	for (size_t i = 0; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			k++;
	return (k);
}

bool
mcp_schema_check(const json_t *sc, const json_t *v, const char *where, char *why,
    size_t n)
{
	const json_t	*t = json_object_get(sc, "type"), *x, *props, *sub;
	const char	*key;
	json_t		*val;
	char		 path[256];
	bool		 ok = t == NULL;
	size_t		 i;

	if (json_is_string(t))
		ok = mcp_schema_type(v, json_string_value(t));
	else if (json_is_array(t))
		json_array_foreach(t, i, x)
			ok = ok || mcp_schema_type(v, json_string_value(x));
	if (!ok) {
		autofree char	*want = json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(why, n, "%s must be of type %s", where, want);
		return (false);
	}
	if ((x = json_object_get(sc, "enum")) != NULL) {
		ok = false;
		json_array_foreach(x, i, sub)
			ok = ok || json_equal(sub, v);
		if (!ok) {
			autofree char	*want = json_dumps(x, JSON_COMPACT);

			snprintf(why, n, "%s must be one of %s", where, want);
			return (false);
		}
	}
	if (json_is_string(v)) {
		if (json_string_length(v) != strlen(json_string_value(v))) {
			snprintf(why, n, "%s must not contain a NUL character", where);
			return (false);
		}
		if ((x = json_object_get(sc, "minLength")) != NULL &&
		    mcp_utf8_len(v) < (size_t)json_integer_value(x)) {
			snprintf(why, n, "%s must not be shorter than %lld characters",
			    where, (long long)json_integer_value(x));
			return (false);
		}
		if ((x = json_object_get(sc, "maxLength")) != NULL &&
		    mcp_utf8_len(v) > (size_t)json_integer_value(x)) {
			snprintf(why, n, "%s must not be longer than %lld characters",
			    where, (long long)json_integer_value(x));
			return (false);
		}
	}
	if (json_is_number(v)) {
		double	d = json_number_value(v);

		if ((x = json_object_get(sc, "minimum")) != NULL && d < json_number_value(x)) {
			snprintf(why, n, "%s must be at least %g", where, json_number_value(x));
			return (false);
		}
		if ((x = json_object_get(sc, "maximum")) != NULL && d > json_number_value(x)) {
			snprintf(why, n, "%s must be at most %g", where, json_number_value(x));
			return (false);
		}
	}
	if (json_is_array(v)) {
		if ((x = json_object_get(sc, "minItems")) != NULL &&
		    json_array_size(v) < (size_t)json_integer_value(x)) {
			snprintf(why, n, "%s must have at least %lld items", where,
			    (long long)json_integer_value(x));
			return (false);
		}
		if ((x = json_object_get(sc, "maxItems")) != NULL &&
		    json_array_size(v) > (size_t)json_integer_value(x)) {
			snprintf(why, n, "%s must have at most %lld items", where,
			    (long long)json_integer_value(x));
			return (false);
		}
		if ((sub = json_object_get(sc, "items")) != NULL)
			json_array_foreach(v, i, val) {
				snprintf(path, sizeof path, "%s[%zu]", where, i);
				if (!mcp_schema_check(sub, val, path, why, n))
					return (false);
			}
	}
	if (json_is_object(v)) {
		props = json_object_get(sc, "properties");
		if ((x = json_object_get(sc, "maxProperties")) != NULL &&
		    json_object_size(v) > (size_t)json_integer_value(x)) {
			snprintf(why, n, "%s must have at most %lld members", where,
			    (long long)json_integer_value(x));
			return (false);
		}
		json_array_foreach(json_object_get(sc, "required"), i, x)
			if (json_object_get(v, json_string_value(x)) == NULL) {
				snprintf(why, n, "%s.%s is required", where,
				    json_string_value(x));
				return (false);
			}
		json_object_foreach((json_t *)v, key, val) {
			sub = json_object_get(props, key);
			if (sub == NULL)
				sub = json_object_get(sc, "additionalProperties");
			snprintf(path, sizeof path, "%s.%.64s", where, key);
			if (json_is_false(sub)) {
				autofree char	*k = mcp_utf8(key, strlen(key), NULL);

				snprintf(why, n, "%s: unknown argument \"%.64s\"", where, k);
				return (false);
			}
			if (json_is_object(sub) && !mcp_schema_check(sub, val, path, why, n))
				return (false);
		}
	}
	return (true);
}

json_t *
mcp_tool_result(const char *text, json_t *structured)
{
	json_t	*r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text",
	    "text", text, "isError", 0);

	if (structured != NULL)
		json_object_set_new(r, "structuredContent", structured);
	return (r);
}

json_t *
mcp_tool_error(const char *fmt, ...)
{
	va_list		 ap;
	char		*s = NULL, *u;
	json_t		*r;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	u = mcp_utf8(s != NULL ? s : "out of memory", s != NULL ? strlen(s) : 13, NULL);
	r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", u,
	    "isError", 1);
	free(s);
	free(u);
	return (r);
}

/* The text block of a structured result: its JSON, as the specification
 * asks for clients that read only content. */
static void
mcp_reply_structured(struct mcp *m, struct mcp_req *req, json_t *sc)
{
	autofree char	*text = json_dumps(sc, JSON_COMPACT);

	mcp_reply(m, req, mcp_tool_result(text != NULL ? text : "", sc));
}

void
mcp_tools_call(struct mcp *m, struct mcp_req *req, const char *name, json_t *args)
{
	char	why[512];

	for (size_t i = 0; i < nitems(mcp_tools); i++) {
		const struct mcp_tool	*t = &mcp_tools[i];
		json_t			*sc;
		bool			 ok;

		if (strcmp(t->name, name) != 0)
			continue;
		sc = json_array_get(m->tools, i);
		ok = mcp_schema_check(json_object_get(sc, "inputSchema"), args,
		    "arguments", why, sizeof why);
		if (!ok) {
			mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL,
			    "Invalid arguments for tool %s: %s", name, why);
			return;
		}
		t->fn(m, req, args);
		return;
	}
	mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL, "Unknown tool: %s", name);
}

/* --- sessions */

static bool
mcp_profile_allowed(const struct mcp *m, const char *name)
{
	return (strcmp(name, m->o.profile) == 0 || strv_contains(&m->o.allow, name));
}

static void
mcp_session_release(struct mcp_session *s)
{
	free(s->profile);
	profile_free(s->p);
	free(s->workspace);
	free(s->cwd);
	memset(s, 0, sizeof *s);
}

void
mcp_sessions_clear(struct mcp *m)
{
	mcp_workers_retire(m, NULL);
	for (size_t i = 0; i < m->nsessions; i++)
		mcp_session_release(&m->sessions[i]);
	m->nsessions = 0;
}

static void
mcp_session_end(struct mcp_session *s)
{
	struct merr	e;
	int		fd;

	if ((fd = session_connect(s->id, NULL, &e)) >= 0) {
		(void)session_request(fd, MSG_CLOSE, 0, NULL, &e);
		close(fd);
	}
}

void
mcp_sessions_close(struct mcp *m)
{
	for (size_t i = 0; i < m->nsessions; i++)
		if (m->sessions[i].ours)
			mcp_session_end(&m->sessions[i]);
	mcp_sessions_clear(m);
}

static struct mcp_session *
mcp_session_start(struct mcp *m, const char *pname, const char *ws, bool implicit,
    struct merr *e)
{
	struct session_opts	 o;
	struct session_info	 info;
	struct mcp_session	*s;
	struct profile		*p;
	char			 id[SESSION_ID_MAX];
	int			 fd;

	if (m->nsessions == MCP_SESSIONS_MAX) {
		merr_set(e, "this server keeps at most %d sessions: close one with "
		    "session_close first", MCP_SESSIONS_MAX);
		return (NULL);
	}
	if ((p = profile_load(pname, e)) == NULL)
		return (NULL);
	memset(&o, 0, sizeof o);
	o.profile = p;
	o.profile_arg = pname;
	o.workspace = ws;
	/* Closed when the server ends; should it die without closing them
	 * (SIGKILL), they end after an hour without a command. */
	o.idle_ttl = MCP_SESSION_IDLE;
	if (session_start(&o, id, e) == -1) {
		profile_free(p);
		return (NULL);
	}
	if ((fd = session_connect(id, &info, e)) == -1) {
		profile_free(p);
		return (NULL);
	}
	close(fd);
	s = &m->sessions[m->nsessions++];
	memset(s, 0, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", id);
	s->profile = xstrdup(pname);
	s->p = p;
	s->workspace = info.workspace[0] != '\0' ? xstrdup(info.workspace) : NULL;
	s->cwd = xstrdup(info.cwd);
	s->ours = true;
	s->implicit = implicit;
	if (m->o.verbose > 0)
		fprintf(stderr, "moat mcp: session %s started (profile %s)\n", id, pname);
	return (s);
}

static void
mcp_session_forget(struct mcp *m, struct mcp_session *s)
{
	size_t	i = (size_t)(s - m->sessions);

	mcp_workers_retire(m, s->id);
	mcp_session_release(s);
	memmove(&m->sessions[i], &m->sessions[i + 1],
	    (m->nsessions - i - 1) * sizeof *s);
	m->nsessions--;
}

/* The session a call names, or this server's own (started on first use).
 * NULL: a tool error was sent. */
static struct mcp_session *
mcp_session_for(struct mcp *m, struct mcp_req *req, json_t *args)
{
	json_t		*h = json_object_get(args, "session");
	struct merr	 e;
	struct mcp_session *s;

	if (h != NULL) {
		for (size_t i = 0; i < m->nsessions; i++)
			if (strcmp(m->sessions[i].id, json_string_value(h)) == 0)
				return (&m->sessions[i]);
		mcp_reply(m, req, mcp_tool_error("unknown session \"%s\": sessions "
		    "are made by session_new (or leave session out to use this "
		    "server's own)", json_string_value(h)));
		return (NULL);
	}
	for (size_t i = 0; i < m->nsessions; i++)
		if (m->sessions[i].implicit)
			return (&m->sessions[i]);
	if (m->dry) {
		mcp_reply(m, req, mcp_tool_error("no sessions in this server"));
		return (NULL);
	}
	if ((s = mcp_session_start(m, m->o.profile, m->o.workspace, true, &e)) == NULL) {
		mcp_reply(m, req, mcp_tool_error("could not start a session with "
		    "profile %s: %s", m->o.profile, e.msg));
		return (NULL);
	}
	return (s);
}

/* A session that stopped answering (killed, its TTL) is forgotten. */
static int
mcp_session_connect(struct mcp *m, struct mcp_req *req, struct mcp_session *s,
    struct session_info *info)
{
	struct merr	e;
	int		fd;

	if ((fd = session_connect(s->id, info, &e)) == -1) {
		mcp_reply(m, req, mcp_tool_error("session %s is gone (%s); start "
		    "another with session_new, or leave session out", s->id, e.msg));
		mcp_session_forget(m, s);
	}
	return (fd);
}

static void
mcp_tool_session_new(struct mcp *m, struct mcp_req *req, json_t *args)
{
	const char		*pname = json_string_value(json_object_get(args, "profile"));
	const char		*ws = json_string_value(json_object_get(args, "workspace"));
	char			 base[PATH_MAX], real[PATH_MAX];
	struct merr		 e;
	struct mcp_session	*s;

	if (pname == NULL)
		pname = m->o.profile;
	if (!mcp_profile_allowed(m, pname)) {
		autofree char	*list = xstrdup(m->o.profile);

		for (size_t i = 0; i < m->o.allow.n; i++) {
			char	*t = xprintf("%s, %s", list, m->o.allow.v[i]);

			free(list);
			list = t;
		}
		mcp_reply(m, req, mcp_tool_error("profile \"%s\" is not allowed here; "
		    "this server allows: %s (moat mcp --allow-profile NAME adds one)",
		    pname, list));
		return;
	}
	if (ws != NULL) {
		/* Only the server's workspace or a directory under it: the
		 * client does not choose what of the host is mounted. */
		if (realpath(m->o.workspace != NULL ? m->o.workspace : ".", base) == NULL ||
		    realpath(ws, real) == NULL) {
			mcp_reply(m, req, mcp_tool_error("workspace %s: %s", ws,
			    strerror(errno)));
			return;
		}
		if (!path_is_under(real, base)) {
			mcp_reply(m, req, mcp_tool_error("workspace %s is not under this "
			    "server's workspace %s", ws, base));
			return;
		}
		ws = real;
	} else
		ws = m->o.workspace;
	if (m->dry) {
		mcp_reply(m, req, mcp_tool_error("no sessions in this server"));
		return;
	}
	if ((s = mcp_session_start(m, pname, ws, false, &e)) == NULL) {
		mcp_reply(m, req, mcp_tool_error("could not start a session: %s", e.msg));
		return;
	}
	mcp_reply_structured(m, req, json_pack("{s:s,s:s,s:s?,s:s,s:s}", "session",
	    s->id, "profile", s->profile, "workspace", s->workspace, "cwd", s->cwd,
	    "net", profile_net_mode_name(s->p->net)));
}

static void
mcp_tool_session_close(struct mcp *m, struct mcp_req *req, json_t *args)
{
	const char	*id = json_string_value(json_object_get(args, "session"));

	for (size_t i = 0; i < m->nsessions; i++) {
		if (strcmp(m->sessions[i].id, id) != 0)
			continue;
		mcp_session_end(&m->sessions[i]);
		mcp_session_forget(m, &m->sessions[i]);
		mcp_reply_structured(m, req, json_pack("{s:s,s:b}", "session", id,
		    "closed", 1));
		return;
	}
	mcp_reply(m, req, mcp_tool_error("unknown session \"%s\"", id));
}

/* --- run_command */

static void
mcp_tool_run(struct mcp *m, struct mcp_req *req, json_t *args)
{
	json_t			*cmd = json_object_get(args, "command");
	json_t			*env = json_object_get(args, "env"), *v;
	json_t			*cwd = json_object_get(args, "cwd");
	json_t			*om = json_object_get(args, "output_max");
	struct mcp_run_args	 ra;
	struct strv		 argv = { 0 };
	const char		*k;
	size_t			 i;

	memset(&ra, 0, sizeof ra);
	if (mcp_calls_running(m) >= MCP_CALLS_MAX) {
		mcp_reply(m, req, mcp_tool_error("%d commands are running already; "
		    "wait for one to end", MCP_CALLS_MAX));
		return;
	}
	json_object_foreach(env, k, v)
		if (!env_name_valid(k, strlen(k))) {
			mcp_reply_error(m, req->id, RPC_INVALID_PARAMS, NULL, "Invalid "
			    "arguments for tool run_command: env: \"%.64s\" is not a "
			    "variable name", k);
			return;
		}
	if (json_is_string(cmd)) {
		strv_add(&argv, "/bin/sh");
		strv_add(&argv, "-c");
		strv_add(&argv, json_string_value(cmd));
	} else
		json_array_foreach(cmd, i, v)
			strv_add(&argv, json_string_value(v));
	if (cwd != NULL && strstr(json_string_value(cwd), "..") != NULL) {
		strv_clear(&argv);
		mcp_reply(m, req, mcp_tool_error("cwd %s: name it without \"..\"",
		    json_string_value(cwd)));
		return;
	}
	if ((ra.s = mcp_session_for(m, req, args)) == NULL) {
		strv_clear(&argv);
		return;
	}
	ra.argv = argv.v;
	ra.timeout = json_is_number(json_object_get(args, "timeout")) ?
	    json_number_value(json_object_get(args, "timeout")) : 0;
	ra.cwd = cwd != NULL ? json_string_value(cwd) : NULL;
	json_object_foreach(env, k, v) {
		char	*kv = xprintf("%s=%s", k, json_string_value(v));

		strv_take(&ra.env, kv);
	}
	ra.output_max = om != NULL ? (size_t)json_integer_value(om) : MCP_OUTPUT_DEFAULT;
	if (m->dry)
		mcp_reply(m, req, mcp_tool_error("dry run"));
	else
		(void)mcp_run_start(m, req, &ra);
	strv_clear(&ra.env);
	strv_clear(&argv);
}

/* --- a command sent to a session's kept runner (mcp-run.c) */

/* A request for a kept runner: the command as mcp_tool_run made it. */
char *
mcp_run_request_encode(const char *client, const struct mcp_run_args *a)
{
	json_t	*argv = json_array(), *env = json_array(), *o;
	char	*s;

	for (size_t i = 0; a->argv[i] != NULL; i++)
		json_array_append_new(argv, json_string(a->argv[i]));
	for (size_t i = 0; i < a->env.n; i++)
		json_array_append_new(env, json_string(a->env.v[i]));
	/* s*: a NULL leaves the key out, as the reading expects. */
	o = json_pack("{s:s*,s:o,s:f,s:s*,s:o,s:I}", "client", client, "argv", argv,
	    "timeout", a->timeout, "cwd", a->cwd, "env", env, "output_max",
	    (json_int_t)a->output_max);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return (s);
}

/* Its reading in the runner: -1 when it is not one this server writes. */
int
mcp_run_request_decode(const json_t *o, char **client, struct strv *argv,
    struct mcp_run_args *a)
{
	const char	*cl = NULL, *cwd = NULL;
	json_t		*av = NULL, *ev = NULL, *v;
	json_int_t	 om = 0;
	double		 timeout = 0;
	size_t		 i;

	if (json_unpack((json_t *)o, "{s?s,s:o,s:F,s?s,s:o,s:I!}", "client", &cl, "argv",
	    &av, "timeout", &timeout, "cwd", &cwd, "env", &ev, "output_max", &om) != 0 ||
	    !json_is_array(av) || json_array_size(av) == 0 || !json_is_array(ev) ||
	    om < 0 || om > (json_int_t)MCP_OUTPUT_MAX || !(timeout >= 0))
		return (-1);
	json_array_foreach(av, i, v)
		if (!json_is_string(v))
			return (-1);
	json_array_foreach(ev, i, v)
		if (!json_is_string(v) || strchr(json_string_value(v), '=') == NULL)
			return (-1);
	json_array_foreach(av, i, v)
		strv_add(argv, json_string_value(v));
	json_array_foreach(ev, i, v)
		strv_add(&a->env, json_string_value(v));
	a->argv = argv->v;
	a->timeout = timeout;
	a->cwd = cwd;
	a->output_max = (size_t)om;
	*client = cl != NULL ? xstrdup(cl) : NULL;
	return (0);
}

/* --- files inside a session's workspace */

static int
mcp_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how	how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.mode = mode,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	return ((int)syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

/* The workspace of the call's session, opened by the session's init (its
 * mounts, its uid), and path made relative to it: every lookup from there
 * stays beneath it (RESOLVE_BENEATH: no "..", no absolute symlink, no
 * escape). -1: a tool error was sent. */
static int
mcp_ws_open(struct mcp *m, struct mcp_req *req, json_t *args, const char *path,
    const char **rel)
{
	struct mcp_session	*s;
	struct session_info	 info;
	struct merr		 e;
	int			 sock, dfd;
	size_t			 n;

	if ((s = mcp_session_for(m, req, args)) == NULL)
		return (-1);
	if (s->workspace == NULL) {
		mcp_reply(m, req, mcp_tool_error("session %s has no workspace "
		    "(its profile says workspace = none)", s->id));
		return (-1);
	}
	n = strlen(s->cwd);
	if (path[0] == '/') {
		if (strncmp(path, s->cwd, n) != 0 || (path[n] != '/' && path[n] != '\0')) {
			mcp_reply(m, req, mcp_tool_error("%s is not inside the workspace "
			    "(%s in the sandbox)", path, s->cwd));
			return (-1);
		}
		path += n;
		while (*path == '/')
			path++;
	}
	*rel = path[0] != '\0' ? path : ".";
	if ((sock = mcp_session_connect(m, req, s, &info)) == -1)
		return (-1);
	dfd = session_open_inside(sock, &info, info.cwd, O_RDONLY | O_DIRECTORY, 0, &e);
	close(sock);
	if (dfd == -1)
		mcp_reply(m, req, mcp_tool_error("the workspace of session %s: %s",
		    s->id, e.msg));
	return (dfd);
}

static const char mcp_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
mcp_base64(const unsigned char *s, size_t n)
{
	char	*o = xmalloc((n + 2) / 3 * 4 + 1), *p = o;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t	v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
				    (i + 2 < n ? s[i + 2] : 0);

		*p++ = mcp_b64[v >> 18 & 63];
		*p++ = mcp_b64[v >> 12 & 63];
		*p++ = i + 1 < n ? mcp_b64[v >> 6 & 63] : '=';
		*p++ = i + 2 < n ? mcp_b64[v & 63] : '=';
	}
	*p = '\0';
	return (o);
}

/* -1 when s is not base64. */
static ssize_t
mcp_unbase64(const char *s, unsigned char *out, size_t cap)
{
	uint32_t	v = 0;
	size_t		k = 0;
	int		bits = 0, pad = 0;

	for (; *s != '\0'; s++) {
		const char	*c = strchr(mcp_b64, *s);

		if (*s == '=') {
			pad++;
			continue;
		}
		if (*s == '\n' || *s == '\r')
			continue;
		if (c == NULL || pad > 0)
			return (-1);
		v = v << 6 | (uint32_t)(c - mcp_b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (k == cap)
				return (-1);
			out[k++] = (unsigned char)(v >> bits);
		}
	}
	return (pad > 2 ? -1 : (ssize_t)k);
}

static bool
mcp_is_utf8(const unsigned char *s, size_t n)
{
	size_t	len;
	char	*u = mcp_utf8(s, n, &len);
	bool	same = len == n && memcmp(u, s, n) == 0;

	free(u);
	return (same && memchr(s, '\0', n) == NULL);
}

/* Each file tool's call is a row of the log of its own, as moat apply is:
 * argv "write_file PATH" (or read_file, list_files), begun before the file
 * is touched (a call that cannot be recorded is not made), with a file
 * event for a write and a note for a read. */
struct mcp_wrec {
	struct audit		*a;
	struct audit_run	*ar;
};

static int
mcp_rec_begin(struct mcp *m, struct mcp_req *req, struct mcp_session *s,
    const char *tool, const char *path, struct mcp_wrec *w, struct merr *e)
{
	struct audit_start	 as;
	char			*argv[] = { (char *)tool, (char *)path, NULL };

	memset(w, 0, sizeof *w);
	if ((w->a = audit_open(m->o.db, 0, e)) == NULL)
		return (-1);
	memset(&as, 0, sizeof as);
	as.source = "mcp";
	as.client = req->client;
	as.session = s->id;
	as.profile = s->profile;
	as.net_mode = profile_net_mode_name(s->p->net);
	as.workspace = s->workspace;
	as.cwd = s->cwd;
	as.argv = argv;
	as.risk = -1;
	as.output_head = as.output_tail = AUDIT_OUTPUT_NONE;
	if ((w->ar = audit_run_begin(w->a, &as, e)) == NULL) {
		audit_close(w->a);
		w->a = NULL;
		return (-1);
	}
	return (0);
}

static void
mcp_rec_end(struct mcp_wrec *w, struct run_event *ev, int exit_code)
{
	struct audit_end	 ae;
	struct merr		 e;

	if (w->ar == NULL)
		return;
	if (audit_run_event(w->ar, ev, &e) == -1)
		fprintf(stderr, "moat mcp: audit log: %s\n", e.msg);
	memset(&ae, 0, sizeof ae);
	ae.status = AUDIT_DONE;
	ae.end_reason = "exited";
	ae.exit_code = exit_code;
	ae.cpu_user = ae.cpu_sys = -1;
	ae.peak_memory = ae.peak_pids = -1;
	ae.risk = -1;
	if (audit_run_end(TAKE_PTR(w->ar), &ae, &e) == -1)
		fprintf(stderr, "moat mcp: audit log: %s\n", e.msg);
	audit_close(w->a);
	w->a = NULL;
}

/* A read's row ends with a note: what was read, or why not. */
static void
mcp_read_end(struct mcp_wrec *w, const char *tool, const char *host_path,
    const char *what, int err)
{
	struct run_event	 ev;
	autofree char		*text = NULL;

	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NOTE;
	ev.path = host_path;
	ev.text = text = err == 0 ? xprintf("%s %s: %s", tool, host_path, what) :
	    xprintf("%s %s: %s", tool, host_path, strerror(err));
	mcp_rec_end(w, &ev, err == 0 ? 0 : 1);
}

static void
mcp_write_end(struct mcp_wrec *w, const char *host_path, const char *change,
    size_t bytes, int err)
{
	struct run_event	 ev;
	autofree char		*text = NULL;

	memset(&ev, 0, sizeof ev);
	if (err == 0) {
		ev.kind = EV_FILE_CHANGED;
		ev.path = host_path;
		ev.change = change;
		ev.text = text = xprintf("write_file %s: %zu bytes", host_path, bytes);
	} else {
		ev.kind = EV_NOTE;
		ev.text = text = xprintf("write_file %s: %s", host_path, strerror(err));
	}
	mcp_rec_end(w, &ev, err == 0 ? 0 : 1);
}

static void
mcp_tool_read(struct mcp *m, struct mcp_req *req, json_t *args)
{
	const char	*path = json_string_value(json_object_get(args, "path")), *rel;
	json_t		*jo = json_object_get(args, "offset"), *jm = json_object_get(args, "max_bytes");
	off_t		 off = jo != NULL ? (off_t)json_integer_value(jo) : 0;
	size_t		 max = jm != NULL ? (size_t)json_integer_value(jm) : 262144, got = 0;
	autofd int	 dfd = -1, fd = -1;
	autofree unsigned char *buf = NULL;
	autofree char	*content = NULL, *host = NULL, *what = NULL;
	struct mcp_session *s;
	struct mcp_wrec	 w;
	struct merr	 e;
	struct stat	 st;
	bool		 text;

	if ((dfd = mcp_ws_open(m, req, args, path, &rel)) == -1)
		return;
	s = mcp_session_for(m, req, args);	/* found by mcp_ws_open already */
	host = path_join(s->workspace, rel);
	if (mcp_rec_begin(m, req, s, "read_file", rel, &w, &e) == -1) {
		mcp_reply(m, req, mcp_tool_error("read_file %s: not read, because "
		    "it could not be recorded: %s", path, e.msg));
		return;
	}
	if ((fd = mcp_openat2(dfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0)) == -1 ||
	    fstat(fd, &st) == -1) {
		int	err = errno;

		mcp_read_end(&w, "read_file", host, NULL, err);
		mcp_reply(m, req, mcp_tool_error("read_file %s: %s%s", path,
		    strerror(err), err == EXDEV ? " (it leads out of the "
		    "workspace)" : ""));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		mcp_read_end(&w, "read_file", host, NULL, S_ISDIR(st.st_mode) ?
		    EISDIR : EINVAL);
		mcp_reply(m, req, mcp_tool_error("read_file %s: not a regular file%s",
		    path, S_ISDIR(st.st_mode) ? " (a directory: use list_files)" : ""));
		return;
	}
	buf = xmalloc(max);
	while (got < max) {
		ssize_t	r = pread(fd, buf + got, max - got, off + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int	err = errno;

			mcp_read_end(&w, "read_file", host, NULL, err);
			mcp_reply(m, req, mcp_tool_error("read_file %s: %s", path,
			    strerror(err)));
			return;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	what = xprintf("%zu bytes from offset %lld of %lld", got, (long long)off,
	    (long long)st.st_size);
	mcp_read_end(&w, "read_file", host, what, 0);
	text = mcp_is_utf8(buf, got);
	if (text) {
		content = xmalloc(got + 1);
		memcpy(content, buf, got);
		content[got] = '\0';
	} else
		content = mcp_base64(buf, got);
	mcp_reply_structured(m, req, json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:b}",
	    "path", path, "size", (json_int_t)st.st_size, "offset", (json_int_t)off,
	    "bytes", (json_int_t)got, "encoding", text ? "utf-8" : "base64",
	    "content", content, "truncated", off + (off_t)got < st.st_size));
}

/* Creates the missing directories of rel's parents beneath dfd. */
static int
mcp_make_dirs(int dfd, const char *rel)
{
	autofree char	*p = xstrdup(rel);

	for (char *s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (p[0] != '\0') {
			int	fd = mcp_openat2(dfd, p, O_RDONLY | O_DIRECTORY, 0);

			if (fd >= 0)
				close(fd);
			else if (errno != ENOENT)
				return (-1);
			else {
				/* mkdirat does not resolve beneath: its parent is
				 * opened so first. */
				char		*slash = strrchr(p, '/');
				autofd int	 pfd = slash == NULL ? dup(dfd) :
						    (*slash = '\0', mcp_openat2(dfd, p,
						    O_RDONLY | O_DIRECTORY, 0));

				if (slash != NULL)
					*slash = '/';
				if (pfd == -1 || (mkdirat(pfd, slash != NULL ? slash + 1 : p,
				    0777) == -1 && errno != EEXIST))
					return (-1);
			}
		}
		*s = '/';
	}
	return (0);
}

static void
mcp_tool_write(struct mcp *m, struct mcp_req *req, json_t *args)
{
	const char	*path = json_string_value(json_object_get(args, "path")), *rel;
	json_t		*jc = json_object_get(args, "content");
	const char	*enc = json_string_value(json_object_get(args, "encoding"));
	bool		 append = json_is_true(json_object_get(args, "append"));
	autofd int	 dfd = -1, fd = -1, old = -1;
	autofree unsigned char *bin = NULL;
	autofree char	*host = NULL;
	const unsigned char *data;
	struct mcp_session *s;
	struct mcp_wrec	 w;
	struct merr	 e;
	ssize_t		 n;
	size_t		 done = 0;
	int		 err = 0;

	if (enc != NULL && strcmp(enc, "base64") == 0) {
		bin = xmalloc(MCP_FILE_MAX);
		if ((n = mcp_unbase64(json_string_value(jc), bin, MCP_FILE_MAX)) < 0) {
			mcp_reply(m, req, mcp_tool_error("write_file %s: content is not "
			    "base64 of at most %u bytes", path, MCP_FILE_MAX));
			return;
		}
		data = bin;
	} else {
		data = (const unsigned char *)json_string_value(jc);
		n = (ssize_t)json_string_length(jc);
		if ((size_t)n > MCP_FILE_MAX) {
			mcp_reply(m, req, mcp_tool_error("write_file %s: %zd bytes; at "
			    "most %u are written at once", path, n, MCP_FILE_MAX));
			return;
		}
	}
	if ((dfd = mcp_ws_open(m, req, args, path, &rel)) == -1)
		return;
	s = mcp_session_for(m, req, args);	/* found by mcp_ws_open already */
	host = path_join(s->workspace, rel);
	if (mcp_rec_begin(m, req, s, "write_file", rel, &w, &e) == -1) {
		mcp_reply(m, req, mcp_tool_error("write_file %s: not written, because "
		    "it could not be recorded: %s", path, e.msg));
		return;
	}
	if (json_is_true(json_object_get(args, "make_dirs")) &&
	    mcp_make_dirs(dfd, rel) == -1) {
		err = errno;
		mcp_write_end(&w, host, "added", 0, err);
		mcp_reply(m, req, mcp_tool_error("write_file %s: its directories: %s",
		    path, strerror(err)));
		return;
	}
	old = mcp_openat2(dfd, rel, O_PATH | O_NOFOLLOW, 0);
	fd = mcp_openat2(dfd, rel, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK | (append ? O_APPEND : O_TRUNC), 0666);
	if (fd == -1) {
		err = errno;
		mcp_write_end(&w, host, "modified", 0, err);
		mcp_reply(m, req, mcp_tool_error("write_file %s: %s%s", path,
		    strerror(err), err == EXDEV ? " (it leads out of the "
		    "workspace)" : err == EROFS ? " (read-only in this sandbox)" : ""));
		return;
	}
	while (done < (size_t)n) {
		ssize_t	wr = write(fd, data + done, (size_t)n - done);

		if (wr < 0 && errno == EINTR)
			continue;
		if (wr < 0) {
			err = errno;
			break;
		}
		done += (size_t)wr;
	}
	mcp_write_end(&w, host, old >= 0 ? "modified" : "added", done, err);
	if (err != 0) {
		mcp_reply(m, req, mcp_tool_error("write_file %s: %s", path, strerror(err)));
		return;
	}
	mcp_reply_structured(m, req, json_pack("{s:s,s:I}", "path", path, "bytes",
	    (json_int_t)done));
}

static int
mcp_entry_cmp(const void *a, const void *b)
{
	return (strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
	    json_string_value(json_object_get(*(json_t *const *)b, "name"))));
}

static void
mcp_tool_list_files(struct mcp *m, struct mcp_req *req, json_t *args)
{
	const char	*path = json_string_value(json_object_get(args, "path")), *rel;
	autofd int	 dfd = -1;
	int		 fd;
	DIR		*d;
	struct dirent	*de;
	json_t		*v[MCP_LIST_MAX], *entries = json_array();
	size_t		 n = 0;
	bool		 more = false;
	autofree char	*host = NULL, *what = NULL;
	struct mcp_session *s;
	struct mcp_wrec	 w;
	struct merr	 e;

	if (path == NULL)
		path = ".";
	if ((dfd = mcp_ws_open(m, req, args, path, &rel)) == -1) {
		json_decref(entries);
		return;
	}
	s = mcp_session_for(m, req, args);	/* found by mcp_ws_open already */
	host = strcmp(rel, ".") == 0 ? xstrdup(s->workspace) : path_join(s->workspace, rel);
	if (mcp_rec_begin(m, req, s, "list_files", rel, &w, &e) == -1) {
		mcp_reply(m, req, mcp_tool_error("list_files %s: not listed, because "
		    "it could not be recorded: %s", path, e.msg));
		json_decref(entries);
		return;
	}
	if ((fd = mcp_openat2(dfd, rel, O_RDONLY | O_DIRECTORY, 0)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		int	err = errno;

		mcp_read_end(&w, "list_files", host, NULL, err);
		mcp_reply(m, req, mcp_tool_error("list_files %s: %s%s", path,
		    strerror(err), err == EXDEV ? " (it leads out of the "
		    "workspace)" : ""));
		if (fd >= 0)
			close(fd);
		json_decref(entries);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat	 st;
		const char	*type;
		autofree char	*name = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == MCP_LIST_MAX) {
			more = true;
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" :
		    S_ISLNK(st.st_mode) ? "symlink" : "other";
		name = mcp_utf8(de->d_name, strlen(de->d_name), NULL);
		v[n++] = json_pack("{s:s,s:s,s:I}", "name", name, "type", type,
		    "size", (json_int_t)st.st_size);
	}
	closedir(d);
	what = xprintf("%zu entries%s", n, more ? " (cut short)" : "");
	mcp_read_end(&w, "list_files", host, what, 0);
	qsort(v, n, sizeof v[0], mcp_entry_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(entries, v[i]);
	mcp_reply_structured(m, req, json_pack("{s:s,s:o,s:b}", "path", path,
	    "entries", entries, "truncated", more));
}

/* --- the audit log: runs this server's kind recorded */

static json_t *
mcp_row(struct sqlite3_stmt *st)
{
	json_t	*o = json_object();

	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const char	*name = sqlite3_column_name(st, i);
		json_t		*v;

		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_TEXT: {
			const char	*t = (const char *)sqlite3_column_text(st, i);
			size_t		 tl = (size_t)sqlite3_column_bytes(st, i);
			autofree char	*u = NULL;

			/* Columns that hold JSON are embedded as JSON. */
			if ((t[0] == '[' || t[0] == '{') && (v = json_loadb(t, tl,
			    JSON_REJECT_DUPLICATES, NULL)) != NULL)
				break;
			u = mcp_utf8(t, tl, NULL);
			v = json_string(u);
			break;
		}
		default:
			v = json_null();
		}
		json_object_set_new(o, name, v);
	}
	return (o);
}

static struct audit *
mcp_audit(struct mcp *m, struct mcp_req *req)
{
	struct audit	*a;
	struct merr	 e;

	if ((a = audit_open(m->o.db, AUDIT_READONLY, &e)) == NULL)
		mcp_reply(m, req, mcp_tool_error("the audit log: %s", e.msg));
	return (a);
}

static void
mcp_tool_list_runs(struct mcp *m, struct mcp_req *req, json_t *args)
{
	json_t			*jl = json_object_get(args, "limit");
	const char		*sess = json_string_value(json_object_get(args, "session"));
	struct audit		*a;
	struct sqlite3_stmt	*st = NULL;
	json_t			*runs = json_array();

	if (m->dry || (a = mcp_audit(m, req)) == NULL) {
		if (m->dry)
			mcp_reply(m, req, mcp_tool_error("dry run"));
		json_decref(runs);
		return;
	}
	if (sqlite3_prepare_v2(audit_sqlite(a), "SELECT run_id, status, session, client, "
	    "command, started_at, duration AS duration_s, end_reason, exit_code, risk "
	    "FROM runs WHERE source = 'mcp' AND (?2 IS NULL OR session = ?2) "
	    "ORDER BY id DESC LIMIT ?1", -1, &st, NULL) != SQLITE_OK) {
		mcp_reply(m, req, mcp_tool_error("the audit log: %s",
		    sqlite3_errmsg(audit_sqlite(a))));
		json_decref(runs);
		audit_close(a);
		return;
	}
	sqlite3_bind_int64(st, 1, jl != NULL ? json_integer_value(jl) : 20);
	if (sess != NULL)
		sqlite3_bind_text(st, 2, sess, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(runs, mcp_row(st));
	sqlite3_finalize(st);
	audit_close(a);
	mcp_reply_structured(m, req, json_pack("{s:o}", "runs", runs));
}

static void
mcp_tool_show_run(struct mcp *m, struct mcp_req *req, json_t *args)
{
	const char		*id = json_string_value(json_object_get(args, "run_id"));
	struct audit		*a;
	struct sqlite3_stmt	*st = NULL;
	json_t			*run = NULL, *events = json_array();
	int64_t			 rowid = 0;

	if (m->dry || (a = mcp_audit(m, req)) == NULL) {
		if (m->dry)
			mcp_reply(m, req, mcp_tool_error("dry run"));
		json_decref(events);
		return;
	}
	if (sqlite3_prepare_v2(audit_sqlite(a), "SELECT id, run_id, status, session, "
	    "client, profile, net_mode, workspace, cwd, argv, command, started_at, "
	    "ended_at, duration AS duration_s, end_reason, exit_code, signal, "
	    "cpu_user, cpu_sys, peak_memory, peak_pids, limits, risk_static, "
	    "risk_static_reasons, risk_final, risk_final_reasons, stdout_bytes, "
	    "stdout_sha256, stderr_bytes, stderr_sha256 FROM runs WHERE source = "
	    "'mcp' AND run_id = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			run = mcp_row(st);
			rowid = json_integer_value(json_object_get(run, "id"));
			json_object_del(run, "id");
		}
		sqlite3_finalize(st);
	}
	if (run == NULL) {
		mcp_reply(m, req, mcp_tool_error("no run %s recorded by moat mcp "
		    "(list_runs lists them)", id));
		json_decref(events);
		audit_close(a);
		return;
	}
	if (sqlite3_prepare_v2(audit_sqlite(a), "SELECT * FROM events WHERE run = ?1 "
	    "ORDER BY t LIMIT 200", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, rowid);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t	*ev = mcp_row(st);

			json_object_del(ev, "id");
			json_object_del(ev, "run");
			json_array_append_new(events, ev);
		}
		sqlite3_finalize(st);
	}
	audit_close(a);
	mcp_reply_structured(m, req, json_pack("{s:o,s:o}", "run", run, "events", events));
}

/* --- what an overlay session changed (moat diff SESSION) */

static void
mcp_tool_diff(struct mcp *m, struct mcp_req *req, json_t *args)
{
	json_t			*jp = json_object_get(args, "paths"), *v, *changes;
	struct mcp_session	*s;
	struct session_info	 info;
	struct review		 rv;
	struct merr		 e;
	struct strv		 filt = { 0 };
	size_t			 i;
	int			 fd;

	if ((s = mcp_session_for(m, req, args)) == NULL)
		return;
	if (s->p->workspace != WS_OVERLAY) {
		mcp_reply(m, req, mcp_tool_error("session %s has a %s workspace: what "
		    "its commands change is in %s already (a session on an overlay "
		    "profile keeps its changes apart for review)", s->id,
		    profile_ws_mode_name(s->p->workspace), s->workspace != NULL ?
		    s->workspace : "no workspace"));
		return;
	}
	if ((fd = mcp_session_connect(m, req, s, &info)) == -1)
		return;
	close(fd);
	memset(&rv, 0, sizeof rv);
	if (review_load(&rv, info.run_id, info.workspace, &s->p->protect, &e) == -1) {
		mcp_reply(m, req, mcp_tool_error("diff of session %s: %s", s->id, e.msg));
		return;
	}
	json_array_foreach(jp, i, v)
		strv_add(&filt, json_string_value(v));
	changes = json_array();
	for (i = 0; i < rv.n; i++) {
		const struct review_change	*c = &rv.v[i];
		autofree char			*path = NULL;

		if (filt.n > 0 && !review_match(c->path, filt.v, filt.n))
			continue;
		path = mcp_utf8(c->path, strlen(c->path), NULL);
		json_array_append_new(changes, json_pack("{s:s,s:s,s:I,s:I,s:b}",
		    "path", path, "kind", review_kind_name(c->kind),
		    "old_size", (json_int_t)c->old_size, "new_size", (json_int_t)c->new_size,
		    "protected", c->protected));
	}
	mcp_reply_structured(m, req, json_pack("{s:s,s:s,s:o}", "session", s->id,
	    "workspace", info.workspace, "changes", changes));
	strv_clear(&filt);
	review_release(&rv);
}

/* --- an overlay session's changes onto the workspace (moat apply SESSION) */

static void
mcp_apply_done(const struct review_change *c, void *arg)
{
	autofree char	*path = mcp_utf8(c->path, strlen(c->path), NULL);

	json_array_append_new(arg, json_pack("{s:s,s:s}", "path", path, "kind",
	    review_kind_name(c->kind)));
}

static void
mcp_tool_apply(struct mcp *m, struct mcp_req *req, json_t *args)
{
	json_t			*jp = json_object_get(args, "paths"), *v;
	json_t			*applied, *prot;
	bool			 dry = json_is_true(json_object_get(args, "dry_run"));
	struct mcp_session	*s;
	struct session_info	 info;
	struct review		 rv;
	struct review_apply_opts o;
	struct review_result	 res = { 0 };
	struct merr		 e;
	struct strv		 filt = { 0 };
	autofree bool		*sel = NULL;
	size_t			 i;
	int			 fd, rc;

	if ((s = mcp_session_for(m, req, args)) == NULL)
		return;
	if (s->p->workspace != WS_OVERLAY) {
		mcp_reply(m, req, mcp_tool_error("session %s has a %s workspace: what "
		    "its commands change is in %s already, there is nothing to apply",
		    s->id, profile_ws_mode_name(s->p->workspace), s->workspace != NULL ?
		    s->workspace : "no workspace"));
		return;
	}
	if (!dry && !m->o.allow_apply) {
		mcp_reply(m, req, mcp_tool_error("apply is the user's: this moat mcp was "
		    "not started with --allow-apply. Ask the user to review and apply "
		    "with: moat diff %s; moat apply %s [PATH]...", s->id, s->id));
		return;
	}
	if ((fd = mcp_session_connect(m, req, s, &info)) == -1)
		return;
	close(fd);
	if (review_open_session(&rv, s->id, info.run_id, info.workspace, s->profile,
	    &s->p->protect, info.created, &e) == -1) {
		mcp_reply(m, req, mcp_tool_error("apply of session %s: %s", s->id, e.msg));
		review_release(&rv);
		return;
	}
	json_array_foreach(jp, i, v)
		strv_add(&filt, json_string_value(v));
	for (i = 0; i < filt.n; i++) {
		bool	hit = false;

		for (size_t j = 0; j < rv.n && !hit; j++)
			hit = review_match(rv.v[j].path, filt.v + i, 1);
		if (!hit) {
			mcp_reply(m, req, mcp_tool_error("apply: session %s changed "
			    "nothing at %s (the diff tool lists what it changed)", s->id,
			    filt.v[i]));
			goto out;
		}
	}
	sel = xcalloc(rv.n + 1, sizeof *sel);
	applied = json_array();
	prot = json_array();
	for (i = 0; i < rv.n; i++) {
		sel[i] = review_match(rv.v[i].path, filt.v, filt.n);
		if (sel[i] && rv.v[i].protected) {
			autofree char	*path = mcp_utf8(rv.v[i].path, strlen(rv.v[i].path), NULL);

			json_array_append_new(prot, json_string(path));
		} else if (sel[i] && dry)
			mcp_apply_done(&rv.v[i], applied);
	}
	if (dry)
		rc = review_conflicts(&rv, sel, &res.conflicts, &e) == -1 ? -1 :
		    res.conflicts != NULL;
	else {
		memset(&o, 0, sizeof o);
		o.db = m->o.db;
		o.source = "mcp";
		o.client = req->client;
		o.filters = filt.v;
		o.nfilters = filt.n;
		o.on_done = mcp_apply_done;
		o.arg = applied;
		rc = review_apply(&rv, sel, &o, &res, &e);
	}
	if (rc == 1) {
		autofree char	*list = mcp_utf8(res.conflicts, strlen(res.conflicts), NULL);

		mcp_reply(m, req, mcp_tool_error("apply of session %s: nothing applied: "
		    "these paths changed in %s since the session started, and applying "
		    "would overwrite that (apply the others by naming them):\n%s",
		    s->id, info.workspace, list));
		json_decref(applied);
		json_decref(prot);
	} else if (rc == -1) {
		mcp_reply(m, req, mcp_tool_error("apply of session %s: %s%s", s->id,
		    e.msg, json_array_size(applied) > 0 ? " (what was applied before "
		    "it stays, recorded)" : ""));
		json_decref(applied);
		json_decref(prot);
	} else
		mcp_reply_structured(m, req, json_pack("{s:s,s:s,s:o,s:o,s:b}",
		    "session", s->id, "workspace", info.workspace, "applied", applied,
		    "protected", prot, "dry_run", dry));
out:
	review_result_release(&res);
	strv_clear(&filt);
	review_release(&rv);
}
