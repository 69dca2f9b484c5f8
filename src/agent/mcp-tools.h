/* mcp-tools.h: what mcp.c asks of the tools (mcp-tools.c) and of the
 * runners of commands (mcp-run.c). Runs in the `moat mcp` process. */
#ifndef MOAT_MCP_TOOLS_H
#define MOAT_MCP_TOOLS_H

#include <jansson.h>

#include "mcp.h"

/* The tools/list array: every tool with its inputSchema and outputSchema. */
json_t	*mcp_tools_list(void);
/* Answers (now or, for a command, when it ends) tools/call of name; args
 * is an object. */
void	 mcp_tools_call(struct mcp *, struct mcp_req *, const char *name,
	    json_t *args);
/* Checks value against a schema of mcp-tools.c (the subset of JSON Schema
 * its tools use); false with why naming the first bad member. */
bool	 mcp_schema_check(const json_t *schema, const json_t *value,
	    const char *where, char *why, size_t);

/* Sessions (mcp-tools.c): forgets them, or closes those started here. */
void	 mcp_sessions_clear(struct mcp *);
void	 mcp_sessions_close(struct mcp *);

/* Runners (mcp-run.c). */
struct mcp_run_args {
	struct mcp_session	*s;
	char			**argv;		/* borrowed */
	double			 timeout;	/* 0: the profile's */
	const char		*cwd;		/* inside; NULL: the session's */
	struct strv		 env;		/* NAME=VALUE; owned */
	size_t			 output_max;	/* bytes kept per stream */
};
/* A command for a kept runner as one JSON text (owned), and its reading
 * there: 0 with argv (strings added, a->argv pointing at them), a->env,
 * a->cwd (borrowed from o), a->timeout, a->output_max and *client (owned
 * or NULL) set; -1 when o is not what encode writes. a->s is the caller's. */
char	*mcp_run_request_encode(const char *client, const struct mcp_run_args *a);
int	 mcp_run_request_decode(const json_t *o, char **client, struct strv *argv,
	    struct mcp_run_args *a);
/* Starts a runner for the command; the reply follows when it ends. -1:
 * nothing started, a tool error was sent. */
int	 mcp_run_start(struct mcp *, struct mcp_req *, struct mcp_run_args *);
void	 mcp_call_free(struct mcp_call *);
/* The kept runner of session id (NULL: of every session) ends, now or,
 * when a call runs in it, as that call ends. */
void	 mcp_workers_retire(struct mcp *, const char *id);
/* notifications/cancelled: the call with that request id is ended. */
void	 mcp_call_cancel(struct mcp *, const json_t *id);
/* Once a second: progress of the calls that asked for it; cancelled
 * runners that outlive their grace time are killed. */
void	 mcp_calls_tick(struct mcp *);
/* At the end: what runs is cancelled and waited for. */
void	 mcp_calls_shutdown(struct mcp *);
size_t	 mcp_calls_running(const struct mcp *);
/* A tool's result: text for content, structured (stolen, may be NULL) for
 * structuredContent; or an error the model can read. */
json_t	*mcp_tool_result(const char *text, json_t *structured);
json_t	*mcp_tool_error(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
