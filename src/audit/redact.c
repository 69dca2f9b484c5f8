/* redact.c: loads the redaction rules (a data file: kind, name, replacement,
 * POSIX ERE) and applies them to command lines and captured output before the
 * audit log stores them. Supervisor and front ends (moat audit reads only what
 * was already redacted). */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redact.h"
#include "base/rx.h"

enum redact_kind {
	REDACT_TEXT,		/* replace each match in a string */
	REDACT_NEXT_ARG,	/* an argument matching it hides the next one */
};

struct redact_rule {
	enum redact_kind	 kind;
	char			*name;		/* owned */
	char			*repl;		/* owned; \1..\9 name groups */
	struct rx		 re;		/* compiled when a text first needs it */
};

struct redact {
	struct redact_rule	*rules;		/* owned, n entries */
	size_t			 n;
	struct redact_literal {
		char	*value;		/* owned; wiped when freed */
		size_t	 len;
		char	*repl;		/* owned */
	}			*lits;
	size_t			 nlits;
	/* Set while loading moat's own file: its patterns compile on first
	 * need (make check compiles them all); a user's file compiles as it
	 * loads, so a bad pattern names file:line. */
	bool			 lazy;
};

/* A growing byte buffer, local to this file. */
struct redact *
redact_new(void)
{
	return (xcalloc(1, sizeof (struct redact)));
}

void
redact_free(struct redact *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->rules[i].name);
		free(r->rules[i].repl);
		rx_free(&r->rules[i].re);
	}
	free(r->rules);
	for (size_t i = 0; i < r->nlits; i++) {
		explicit_bzero(r->lits[i].value, r->lits[i].len);
		free(r->lits[i].value);
		free(r->lits[i].repl);
	}
	free(r->lits);
	free(r);
}

void
redact_add_literal(struct redact *r, const char *value, size_t len, const char *repl)
{
	struct redact_literal	*l;

	if (len == 0 || memchr(value, '\0', len) != NULL)
		return;
	r->lits = xreallocarray(r->lits, r->nlits + 1, sizeof *r->lits);
	l = &r->lits[r->nlits++];
	l->value = xmalloc(len + 1);
	memcpy(l->value, value, len);
	l->value[len] = '\0';
	l->len = len;
	l->repl = xstrdup(repl);
}

size_t
redact_count(const struct redact *r)
{
	return (r->n);
}

/* Splits off the next whitespace-separated word of *sp. */
static char *
redact_word(char **sp)
{
	char	*s = *sp, *w;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return (NULL);
	w = s;
	while (*s != '\0' && !isspace((unsigned char)*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*sp = s;
	return (w);
}

int
redact_load_file(struct redact *r, const char *path, struct merr *e)
{
	autofree char	*text = NULL;
	char		*line, *next, *kind, *name, *repl, *re;
	int		 lineno = 0, flags;
	char		 errbuf[256];

	if (read_file(path, &text, NULL, e) == -1) {
		merr_prefix(e, "redaction rules");
		return (-1);
	}
	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		kind = redact_word(&line);
		name = redact_word(&line);
		repl = redact_word(&line);
		while (isspace((unsigned char)*line))
			line++;
		re = line;
		/* The regex is the rest of the line; trailing blanks are not part of it. */
		for (size_t n = strlen(re); n > 0 && isspace((unsigned char)re[n - 1]); n--)
			re[n - 1] = '\0';
		if (name == NULL || repl == NULL || *re == '\0')
			return (merr_set(e, "%s:%d: expected \"KIND NAME REPLACEMENT REGEX\"",
			    path, lineno));
		flags = REG_EXTENDED;
		struct redact_rule	 rule = { .kind = REDACT_TEXT };

		if (strcmp(kind, "text") == 0)
			;
		else if (strcmp(kind, "text-nocase") == 0)
			flags |= REG_ICASE;
		else if (strcmp(kind, "next-arg") == 0) {
			rule.kind = REDACT_NEXT_ARG;
			flags |= REG_ICASE | REG_NOSUB;
		} else
			return (merr_set(e, "%s:%d: unknown kind \"%s\"; valid: text, "
			    "text-nocase, next-arg", path, lineno, kind));
		rx_init(&rule.re, re, flags);
		if (!r->lazy && rx_compile(&rule.re, errbuf, sizeof errbuf) == -1) {
			rx_free(&rule.re);
			return (merr_set(e, "%s:%d: rule %s: bad regular expression: %s",
			    path, lineno, name, errbuf));
		}
		if (strcmp(repl, "-") == 0)	/* "-": delete the match */
			repl = "";
		rule.name = xstrdup(name);
		rule.repl = xstrdup(repl);
		r->rules = xreallocarray(r->rules, r->n + 1, sizeof *r->rules);
		r->rules[r->n++] = rule;
	}
	return (0);
}

int
redact_compile(struct redact *r, struct merr *e)
{
	char	buf[256];

	for (size_t i = 0; i < r->n; i++)
		if (rx_compile(&r->rules[i].re, buf, sizeof buf) == -1)
			return (merr_set(e, "redaction rule %s: bad regular expression \"%s\": %s",
			    r->rules[i].name, r->rules[i].re.pat, buf));
	return (0);
}

int
redact_load_default(struct redact *r, struct merr *e)
{
	const char	*env = getenv("MOAT_REDACT_RULES");
	char		 cfg[4096];
	autofree char	*user = NULL, *inst = NULL, *src = NULL;
	autofree char	*d1 = xstrdup(MOAT_PROFILEDIR), *d2 = xstrdup(MOAT_SRC_PROFILEDIR);

	if (env != NULL && *env != '\0') {
		if (redact_load_file(r, env, e) == -1)
			return (-1);
	} else {
		/* The rules sit next to the profiles: $(pkgdatadir)/redact.rules,
		 * or rules/redact.rules in the source tree. */
		inst = path_join(dirname(d1), "redact.rules");
		src = path_join(dirname(d2), "rules/redact.rules");
		const char	*shipped = access(inst, R_OK) == 0 ? inst :
			    access(src, R_OK) == 0 ? src : NULL;
		int		 rc;

		if (shipped != NULL) {
			r->lazy = true;
			rc = redact_load_file(r, shipped, e);
			r->lazy = false;
			if (rc == -1)
				return (-1);
		} else
			return (merr_set(e, "redaction rules not found (%s); moat will not "
			    "store command lines unredacted: reinstall moat or set "
			    "MOAT_REDACT_RULES", inst));
	}
	user = path_join(xdg_dir("XDG_CONFIG_HOME", ".config", cfg, sizeof cfg),
	    "moat/redact.rules");
	if (access(user, F_OK) == 0 && redact_load_file(r, user, e) == -1)
		return (-1);
	return (0);
}

/* Appends repl with \1..\9 expanded from the match m of s. */
static void
redact_expand(struct sbuf *b, const char *repl, const char *s, const regmatch_t *m)
{
	for (const char *p = repl; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] >= '1' && p[1] <= '9') {
			const regmatch_t *g = &m[p[1] - '0'];

			if (g->rm_so != -1)
				sbuf_add(b, s + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
			p++;
		} else if (p[0] == '\\' && p[1] == '\\') {
			sbuf_add(b, "\\", 1);
			p++;
		} else
			sbuf_add(b, p, 1);
	}
}

/* Appends the replacement of the match m of s in exactly as many bytes as
 * the match: cut, or filled up with '*'; a newline or carriage return of
 * the match stays where it was, so text laid out around it keeps its rows
 * and columns. No byte of the match survives unless the rule's replacement
 * names its group. */
static void
redact_expand_keep(struct sbuf *b, const char *repl, const char *s, const regmatch_t *m)
{
	struct sbuf	r = { NULL, 0, 0 };
	size_t		n = (size_t)(m[0].rm_eo - m[0].rm_so);

	redact_expand(&r, repl, s, m);
	for (size_t i = 0; i < n; i++) {
		char	c = s[m[0].rm_so + (regoff_t)i];

		if (c != '\n' && c != '\r')
			c = i < r.len ? r.p[i] : '*';
		sbuf_add(b, &c, 1);
	}
	free(r.p);
}

/* One text rule over one NUL-terminated string; appends the result to out. */
static void
redact_rule_apply(struct redact_rule *rule, const char *s, struct sbuf *out, bool keep)
{
	regmatch_t	m[10];
	int		eflags = 0;

	while (*s != '\0' && rx_exec(&rule->re, s, nitems(m), m, eflags) == 0) {
		sbuf_add(out, s, (size_t)m[0].rm_so);
		if (m[0].rm_eo == m[0].rm_so) {
			/* An empty match replaces nothing; step past one byte. */
			sbuf_add(out, s + m[0].rm_so, 1);
			s += m[0].rm_so + 1;
		} else {
			if (keep)
				redact_expand_keep(out, rule->repl, s, m);
			else
				redact_expand(out, rule->repl, s, m);
			s += m[0].rm_eo;
		}
		eflags = REG_NOTBOL;
	}
	sbuf_add(out, s, strlen(s));
}

/* All text rules over one NUL-free segment. */
static void
redact_segment(const struct redact *r, const char *seg, struct sbuf *out, bool keep)
{
	autofree char	*cur = xstrdup(seg);
	struct rx_text	 t;

	for (size_t i = 0; i < r->nlits; i++) {
		const struct redact_literal	*l = &r->lits[i];
		struct sbuf			 next = { NULL, 0, 0 };
		const char			*s = cur, *m;

		if (strstr(cur, l->value) == NULL)
			continue;
		while ((m = strstr(s, l->value)) != NULL) {
			sbuf_add(&next, s, (size_t)(m - s));
			sbuf_add(&next, l->repl, strlen(l->repl));
			s = m + l->len;
		}
		sbuf_add(&next, s, strlen(s));
		explicit_bzero(cur, strlen(cur));
		free(cur);
		cur = next.p;
	}
	/* Read after the literals were swapped: the rules see that text. */
	rx_text_init(&t, cur);
	for (size_t i = 0; i < r->n; i++) {
		struct sbuf	next = { NULL, 0, 0 };

		/* Most texts hold none of a rule's literals: no copy then. */
		if (r->rules[i].kind != REDACT_TEXT || !rx_maybe_text(&r->rules[i].re, &t))
			continue;
		redact_rule_apply(&r->rules[i], cur, &next, keep);
		free(cur);
		cur = next.p != NULL ? next.p : xstrdup("");
		rx_text_free(&t);
		rx_text_init(&t, cur);
	}
	rx_text_free(&t);
	sbuf_add(out, cur, strlen(cur));
}

static char *
redact_any(const struct redact *r, const char *s, size_t len, size_t *outlen, bool keep)
{
	struct sbuf	out = { NULL, 0, 0 };
	autofree char	*copy = xmalloc(len + 1);
	size_t		 i = 0;

	memcpy(copy, s, len);
	copy[len] = '\0';
	sbuf_add(&out, "", 0);
	for (;;) {
		redact_segment(r, copy + i, &out, keep);
		i += strlen(copy + i);
		if (i >= len)
			break;
		sbuf_add(&out, "", 1);	/* keep the NUL byte itself */
		i++;
	}
	if (outlen != NULL)
		*outlen = out.len;
	return (out.p);
}

char *
redact_text(const struct redact *r, const char *s, size_t len, size_t *outlen)
{
	return (redact_any(r, s, len, outlen, false));
}

char *
redact_text_keep(const struct redact *r, const char *s, size_t len)
{
	return (redact_any(r, s, len, NULL, true));
}

void
redact_argv(const struct redact *r, char *const *argv, struct strv *out)
{
	const char	*hide = NULL;

	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
		if (hide != NULL) {
			strv_add(out, hide);
			hide = NULL;
		} else
			strv_take(out, redact_text(r, argv[i], strlen(argv[i]), NULL));
		for (size_t k = 0; k < r->n; k++)
			if (r->rules[k].kind == REDACT_NEXT_ARG &&
			    rx_exec(&r->rules[k].re, argv[i], 0, NULL, 0) == 0) {
				hide = r->rules[k].repl;
				break;
			}
	}
}
