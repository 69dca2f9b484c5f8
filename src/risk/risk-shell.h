/* risk-shell.h: reads a command line as a POSIX shell would, without running
 * or expanding anything, into a tree of lists, pipelines, groups and simple
 * commands for the risk scorer (risk.c). Supervisor and front ends. */
#ifndef MOAT_RISK_SHELL_H
#define MOAT_RISK_SHELL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Parsing stops adding nodes past this, so hostile input stays cheap. */
#define RISK_SHELL_MAX_NODES	4096

/* A growing string. */
struct risk_buf {
	char	*s;	/* owned, NUL-terminated */
	size_t	 n, cap;
};

enum risk_node_type {
	RISK_NODE_LIST,		/* kids: pipelines, in order */
	RISK_NODE_PIPE,		/* kids: stages */
	RISK_NODE_GROUP,	/* ( ) { } and function bodies; kids: one list */
	RISK_NODE_CMD,
};

struct risk_cmd {
	struct strv	assigns;	/* leading NAME=value */
	struct strv	words;		/* quotes removed */
	struct strv	redirs;		/* "> target", "<< EOF" */
	struct strv	input;		/* here-document bodies and here-strings: its stdin */
	struct strv	subst;		/* $( ) and backtick bodies in any of its words */
};

struct risk_node {
	enum risk_node_type	  type;
	struct risk_node	**kids;		/* owned */
	size_t			  nkids;
	struct risk_cmd		  cmd;		/* RISK_NODE_CMD */
};

void	 risk_buf_addn(struct risk_buf *, const char *, size_t);
void	 risk_buf_add(struct risk_buf *, const char *);
void	 risk_buf_addc(struct risk_buf *, char);
char	*risk_buf_take(struct risk_buf *);

struct risk_node	*risk_shell_parse(const char *);
void			 risk_shell_free(struct risk_node *);
bool			 risk_shell_is_assign(const char *);
void			 risk_shell_unescape(const char *, size_t *, size_t, struct risk_buf *);
int			 risk_shell_hexval(char);

#endif
