/* mcp.h: moat's Model Context Protocol server over stdio. JSON-RPC 2.0, one
 * message per line (jansson, duplicate keys refused, depth and size
 * bounded); both protocol eras: the 2025-11-25 initialize handshake and the
 * stateless 2026-07-28 revision (version and client capabilities in every
 * request's _meta, server/discover, resultType on results). The tools
 * (mcp-tools.c) run commands in moat sessions, each an audited run with
 * source "mcp". Runs in the `moat mcp` process and the runners it forks. */
#ifndef MOAT_MCP_H
#define MOAT_MCP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/error.h"
#include "base/util.h"

#define MCP_VERSION_MODERN	"2026-07-28"
#define MCP_VERSION_LEGACY	"2025-11-25"
#define MCP_LINE_MAX		(4u << 20)	/* one message, newline excluded */
#define MCP_DEPTH_MAX		64		/* arrays and objects inside one another */
#define MCP_CALLS_MAX		16		/* tool calls running at once */
#define MCP_SESSIONS_MAX	16		/* sessions one server keeps */

/* JSON-RPC and MCP error codes. */
#define RPC_PARSE_ERROR		(-32700)
#define RPC_INVALID_REQUEST	(-32600)
#define RPC_METHOD_NOT_FOUND	(-32601)
#define RPC_INVALID_PARAMS	(-32602)
#define RPC_INTERNAL_ERROR	(-32603)
#define MCP_UNSUPPORTED_VERSION	(-32022)

struct loop;
struct profile;
struct risk_rules;

struct mcp_opts {
	const char	*profile;	/* -p: the default profile; NULL = "default" */
	struct strv	 allow;		/* --allow-profile: what a client may ask for */
	bool		 allow_apply;	/* --allow-apply: the apply tool writes */
	const char	*workspace;	/* -w; NULL = the current directory */
	const char	*db;		/* --db; NULL = $MOAT_DB or the default */
	int		 verbose;
};

/* One request being answered: what the handlers need to reply. */
struct mcp_req {
	json_t		*id;		/* owned (a reference) */
	bool		 modern;	/* 2026-07-28: resultType, serverInfo */
	char		*client;	/* owned; clientInfo.name, or NULL */
	json_t		*progress;	/* owned; _meta.progressToken, or NULL */
};

struct mcp_worker;

/* A tool call running in a runner process (mcp-run.c). */
struct mcp_call {
	struct mcp_req	 req;
	pid_t		 pid;
	int		 fd;		/* the runner's report pipe */
	int		 req_fd;	/* its request pipe (the next command) */
	struct mcp_worker *w;		/* the session's kept runner it runs in */
	char		 session[24];	/* the session it runs in */
	char		*buf;		/* owned; what it wrote so far */
	size_t		 len, cap;
	bool		 cancelled;
	bool		 killed;	/* SIGKILL sent after the grace time */
	double		 t_start, t_cancel;
	double		 progress;	/* the last progress value sent */
};

/* A runner kept after its command, connected to its session and with the
 * audit log open, waiting on req for the session's next command (mcp-run.c). */
struct mcp_worker {
	char		 session[24];	/* "": a free slot */
	pid_t		 pid;
	int		 req;		/* a request: one JSON line */
	int		 res;		/* its result: one JSON line */
	bool		 busy;		/* a call runs in it */
	bool		 retire;	/* its session was closed while busy */
};

/* A session this server started or was named (mcp-tools.c). */
struct mcp_session {
	char		 id[24];
	char		*profile;	/* owned; the profile's name */
	struct profile	*p;		/* owned; loaded once, hash checked */
	char		*workspace;	/* owned; host path, NULL when none */
	char		*cwd;		/* owned; inside */
	bool		 ours;		/* started here: closed at exit */
	bool		 implicit;	/* the one made on first use */
};

struct mcp {
	struct mcp_opts	 o;
	void		(*emit)(struct mcp *, const char *, size_t);	/* a line, no newline */
	void		*emit_arg;
	int		 out;		/* the default emit's fd */
	bool		 legacy;	/* initialize was answered */
	char		 legacy_version[16];
	char		*legacy_client;	/* owned; initialize's clientInfo.name */
	bool		 dry;		/* fuzzing: tools start nothing */
	bool		 eof;
	struct mcp_call	*calls[MCP_CALLS_MAX];
	struct mcp_session sessions[MCP_SESSIONS_MAX];
	size_t		 nsessions;
	struct mcp_worker workers[MCP_SESSIONS_MAX];	/* at most one per session */
	json_t		*tools;		/* owned; the tools/list array */
	int		 sigfd;
	struct loop	*loop;		/* while mcp_serve runs */
	/* The risk rules, loaded once before the first runner is forked
	 * (each runner inherits them); NULL: each loads its own. */
	struct risk_rules *rules;	/* owned */
	bool		 rules_tried;
};

struct mcp	*mcp_new(const struct mcp_opts *, int out);
void		 mcp_free(struct mcp *);
/* Reads messages from in until end of file or a signal to stop, then
 * cancels what runs and closes the sessions it started. 0, or -1 with e. */
int		 mcp_serve(struct mcp *, int in, struct merr *);
/* One message (a line without its newline). */
void		 mcp_handle(struct mcp *, const char *, size_t);

/* Replies (mcp.c). A result's object is stolen. */
void		 mcp_reply(struct mcp *, struct mcp_req *, json_t *result);
void		 mcp_reply_error(struct mcp *, json_t *id, int code, json_t *data,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
void		 mcp_send(struct mcp *, json_t *);
void		 mcp_req_release(struct mcp_req *);
/* Valid UTF-8 of any bytes, with no NUL: each bad byte (and NUL) becomes
 * U+FFFD. Owned. */
char		*mcp_utf8(const void *, size_t, size_t *outlen);

#endif
