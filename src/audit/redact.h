/* redact.h: secrets out of what the audit log stores. Rules are data
 * (rules/redact.rules, moat-audit(5)): POSIX extended regular expressions and
 * their replacements, applied to argv and to stored output. Supervisor and
 * front ends. */
#ifndef MOAT_REDACT_H
#define MOAT_REDACT_H

#include <stddef.h>

#include "base/error.h"
#include "base/util.h"

struct redact;

struct redact	*redact_new(void);
void		 redact_free(struct redact *);
/* Adds the rules of one file; errors name file:line. */
int		 redact_load_file(struct redact *, const char *, struct merr *);
/* $MOAT_REDACT_RULES when set, else the shipped file (installed, then the
 * source tree's for an uninstalled build); then
 * $XDG_CONFIG_HOME/moat/redact.rules when it exists. Fails when no shipped
 * rules are found: storing unredacted secrets is not a silent fallback. */
int		 redact_load_default(struct redact *, struct merr *);
size_t		 redact_count(const struct redact *);
/* A value to replace wherever it occurs, before the rules run: a run's
 * secret (len bytes, no NUL), replaced by repl. The value is kept until
 * redact_free, which overwrites it. */
void		 redact_add_literal(struct redact *, const char *value, size_t len,
		    const char *repl);
/* The shipped rules compile on first need; this compiles all of them now
 * (for tests): -1 names the first bad one. */
int		 redact_compile(struct redact *, struct merr *);
/* Returns a new buffer (NUL-terminated; *outlen excludes the NUL) with every
 * match of every text rule replaced. Bytes between NULs are treated as
 * separate strings, so binary output is handled. */
char		*redact_text(const struct redact *, const char *, size_t, size_t *);
/* As redact_text, but each match becomes exactly as many bytes as it had
 * (its replacement cut or filled with '*', its newlines kept): the result
 * has len bytes and a NUL, and a terminal stream keeps its layout and the
 * byte offsets its timing refers to. */
char		*redact_text_keep(const struct redact *, const char *, size_t);
/* Redacts each argument with the text rules, and replaces the argument after
 * one that matches a "next-arg" rule (--password X). Appends to out. */
void		 redact_argv(const struct redact *, char *const *, struct strv *);

#endif
