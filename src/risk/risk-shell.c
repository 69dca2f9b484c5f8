/* risk-shell.c: a POSIX shell reader for the risk scorer. It tokenises a
 * command line (quotes, backslashes, $'...' decoded, operators, redirections
 * with fd numbers, here-documents and here-strings, comments, $( ), backticks,
 * <( )) and parses it into lists, pipelines, ( ) and { } groups, function
 * bodies and simple commands (assignments, words, redirections, stdin text,
 * substitution bodies). It never fails: odd input gives an odd but finite
 * tree. Nothing is expanded or run. Supervisor and front ends. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk-shell.h"

/* --- a growing string --------------------------------------------------- */


void
risk_buf_addn(struct risk_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

void
risk_buf_add(struct risk_buf *b, const char *s)
{
	risk_buf_addn(b, s, strlen(s));
}

void
risk_buf_addc(struct risk_buf *b, char c)
{
	risk_buf_addn(b, &c, 1);
}

char *
risk_buf_take(struct risk_buf *b)
{
	if (b->s == NULL)
		return (xstrdup(""));
	return (TAKE_PTR(b->s));
}

/* --- lexer --------------------------------------------------------------- */

enum rtok {
	TOK_EOF,
	TOK_WORD,
	TOK_OP,		/* | || |& && ; ;; & ( ) newline */
	TOK_REDIR,	/* > >> < <> >| >& <& &> &>> <<< << <<- (fd number dropped) */
};

struct rtoken {
	enum rtok	 type;
	char		 op[4];
	char		*text;		/* owned: the word, quotes removed */
	bool		 quoted;
	struct strv	 subst;		/* bodies of $( ), ` `, <( ), >( ) in the word */
	char		*heredoc;	/* owned: << body (text is the delimiter) */
};

struct rlex {
	const char	*s;
	size_t		 pos, len;
	size_t		 hd_resume;	/* after a newline, skip to here (past here-doc bodies) */
};

/* strv_take() grows by one slot at a time; a command line of a million words
 * must not cost a million reallocations, so these vectors grow by doubling
 * (their capacity is the power of two above n). */
static void
sv_take(struct strv *sv, char *s)
{
	size_t	cap = 2;

	while (cap < sv->n + 1)
		cap *= 2;
	if (sv->v == NULL || sv->n + 2 > cap)
		sv->v = xreallocarray(sv->v, sv->v == NULL ? 2 : cap * 2, sizeof *sv->v);
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

static void
sv_add(struct strv *sv, const char *s)
{
	sv_take(sv, xstrdup(s));
}

static void
rtoken_clear(struct rtoken *t)
{
	free(t->text);
	free(t->heredoc);
	strv_clear(&t->subst);
	memset(t, 0, sizeof *t);
}

static bool
lex_meta(char c)
{
	return (c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '|' || c == '&' ||
	    c == ';' || c == '<' || c == '>' || c == '(' || c == ')');
}

/* Index just past the ')' closing a "$(" or "<(" whose body starts at i,
 * skipping quotes and nested parentheses; len when unterminated. */
static size_t
lex_close_paren(const char *s, size_t i, size_t len)
{
	int	depth = 1;

	while (i < len) {
		char	c = s[i];

		if (c == '\\' && i + 1 < len)
			i += 2;
		else if (c == '\'') {
			const char	*q = memchr(s + i + 1, '\'', len - i - 1);

			i = q == NULL ? len : (size_t)(q - s) + 1;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\' && i + 1 < len)
					i++;
			i++;
		} else if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			i++;
			if (--depth == 0)
				return (i);
		} else
			i++;
	}
	return (len);
}

/* Reads "$(...)" or "<(...)" at lx->pos (pointing at the '('): records the
 * body, copies the text into the word as written. */
static void
lex_subst_paren(struct rlex *lx, struct risk_buf *w, struct rtoken *t, const char *lead)
{
	size_t	start = lx->pos + 1, end = lex_close_paren(lx->s, start, lx->len);
	size_t	blen = end > start && lx->s[end - 1] == ')' ? end - 1 - start : end - start;

	/* $(( )) is arithmetic, not a command. */
	if (!(lx->s[start] == '(' && strcmp(lead, "$") == 0))
		sv_take(&t->subst, xstrndup(lx->s + start, blen));
	risk_buf_add(w, lead);
	risk_buf_addn(w, lx->s + lx->pos, end - lx->pos);
	lx->pos = end;
}

static void
lex_backtick(struct rlex *lx, struct risk_buf *w, struct rtoken *t)
{
	struct risk_buf	body = { 0 };
	size_t		i = lx->pos + 1;

	for (; i < lx->len && lx->s[i] != '`'; i++) {
		if (lx->s[i] == '\\' && i + 1 < lx->len && strchr("`\\$", lx->s[i + 1]) != NULL)
			i++;
		risk_buf_addc(&body, lx->s[i]);
	}
	sv_take(&t->subst, risk_buf_take(&body));
	if (i < lx->len)
		i++;
	risk_buf_addn(w, lx->s + lx->pos, i - lx->pos);
	lx->pos = i;
}

int
risk_shell_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decodes one backslash escape of $'...', printf and echo -e at s[*i]
 * (just past the backslash) into b. */
void
risk_shell_unescape(const char *s, size_t *i, size_t len, struct risk_buf *b)
{
	static const char	from[] = "abefnrtv\\'\"?E", to[] = "\a\b\033\f\n\r\t\v\\'\"?\033";
	const char		*p;
	int			 v = 0, n, d;

	if (*i >= len) {
		risk_buf_addc(b, '\\');
		return;
	}
	if (s[*i] == 'x') {
		for (n = 0, (*i)++; n < 2 && *i < len && (d = risk_shell_hexval(s[*i])) >= 0; n++, (*i)++)
			v = v * 16 + d;
		if (n == 0)
			risk_buf_add(b, "\\x");
		else
			risk_buf_addc(b, (char)v);
		return;
	}
	if (s[*i] >= '0' && s[*i] <= '7') {
		if (s[*i] == '0' && *i + 1 < len && s[*i + 1] >= '0' && s[*i + 1] <= '7')
			(*i)++;	/* printf's \0NNN */
		for (n = 0; n < 3 && *i < len && s[*i] >= '0' && s[*i] <= '7'; n++, (*i)++)
			v = v * 8 + (s[*i] - '0');
		risk_buf_addc(b, (char)v);
		return;
	}
	if ((p = strchr(from, s[*i])) != NULL && s[*i] != '\0') {
		risk_buf_addc(b, to[p - from]);
		(*i)++;
		return;
	}
	risk_buf_addc(b, '\\');
	risk_buf_addc(b, s[(*i)++]);
}

/* Reads one word at lx->pos into t: quote removal, $'...' decoded, $( ) and
 * backtick bodies recorded. Nothing is expanded. */
static void
lex_word(struct rlex *lx, struct rtoken *t)
{
	struct risk_buf	w = { 0 };
	const char	*s = lx->s;

	t->type = TOK_WORD;
	/* Process substitution: <(cmd) >(cmd) as a word of its own. */
	if ((s[lx->pos] == '<' || s[lx->pos] == '>') && lx->pos + 1 < lx->len &&
	    s[lx->pos + 1] == '(') {
		char	lead[2] = { s[lx->pos], '\0' };

		lx->pos++;
		lex_subst_paren(lx, &w, t, lead);
	}
	while (lx->pos < lx->len && !lex_meta(s[lx->pos])) {
		char	c = s[lx->pos];

		if (c == '\\') {
			if (lx->pos + 1 < lx->len && s[lx->pos + 1] == '\n') {
				lx->pos += 2;
				continue;
			}
			t->quoted = true;
			if (lx->pos + 1 < lx->len)
				risk_buf_addc(&w, s[lx->pos + 1]);
			lx->pos += 2;
		} else if (c == '\'') {
			const char	*q = memchr(s + lx->pos + 1, '\'', lx->len - lx->pos - 1);
			size_t		 end = q == NULL ? lx->len : (size_t)(q - s);

			t->quoted = true;
			risk_buf_addn(&w, s + lx->pos + 1, end - lx->pos - 1);
			lx->pos = end + 1;
		} else if (c == '$' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '\'') {
			size_t	i = lx->pos + 2;

			t->quoted = true;
			while (i < lx->len && s[i] != '\'') {
				if (s[i] == '\\') {
					i++;
					risk_shell_unescape(s, &i, lx->len, &w);
				} else
					risk_buf_addc(&w, s[i++]);
			}
			lx->pos = i + 1;
		} else if (c == '"') {
			t->quoted = true;
			lx->pos++;
			while (lx->pos < lx->len && s[lx->pos] != '"') {
				c = s[lx->pos];
				if (c == '\\' && lx->pos + 1 < lx->len &&
				    strchr("$`\"\\\n", s[lx->pos + 1]) != NULL) {
					if (s[lx->pos + 1] != '\n')
						risk_buf_addc(&w, s[lx->pos + 1]);
					lx->pos += 2;
				} else if (c == '$' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '(') {
					lx->pos++;
					lex_subst_paren(lx, &w, t, "$");
				} else if (c == '`')
					lex_backtick(lx, &w, t);
				else
					risk_buf_addc(&w, s[lx->pos++]);
			}
			lx->pos++;
		} else if (c == '$' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '(') {
			lx->pos++;
			lex_subst_paren(lx, &w, t, "$");
		} else if (c == '`')
			lex_backtick(lx, &w, t);
		else if (c == '$' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '{') {
			const char	*q = memchr(s + lx->pos, '}', lx->len - lx->pos);
			size_t		 end = q == NULL ? lx->len : (size_t)(q - s) + 1;

			risk_buf_addn(&w, s + lx->pos, end - lx->pos);
			lx->pos = end;
		} else
			risk_buf_addc(&w, s[lx->pos++]);
	}
	if (lx->pos > lx->len)
		lx->pos = lx->len;
	t->text = risk_buf_take(&w);
	/* $HOME and ${HOME} read as ~, so one rule covers all three spellings. */
	if (strncmp(t->text, "$HOME", 5) == 0 && (t->text[5] == '\0' || t->text[5] == '/'))
		memmove(t->text, t->text + 4, strlen(t->text + 4) + 1), t->text[0] = '~';
	else if (strncmp(t->text, "${HOME}", 7) == 0)
		memmove(t->text, t->text + 6, strlen(t->text + 6) + 1), t->text[0] = '~';
}

/* After "<<DELIM": the body is the lines after the current one (or after the
 * previous here-document's body) up to the delimiter line. */
static void
lex_heredoc(struct rlex *lx, struct rtoken *t, bool strip_tabs)
{
	struct risk_buf	body = { 0 };
	size_t		i, eol;
	const char	*nl;

	if (lx->hd_resume != 0)
		i = lx->hd_resume;
	else if ((nl = memchr(lx->s + lx->pos, '\n', lx->len - lx->pos)) != NULL)
		i = (size_t)(nl - lx->s) + 1;
	else
		i = lx->len;
	while (i < lx->len) {
		size_t	 start = i;

		nl = memchr(lx->s + i, '\n', lx->len - i);
		eol = nl == NULL ? lx->len : (size_t)(nl - lx->s);
		i = nl == NULL ? lx->len : eol + 1;
		if (strip_tabs)
			while (start < eol && lx->s[start] == '\t')
				start++;
		if (eol - start == strlen(t->text) &&
		    strncmp(lx->s + start, t->text, eol - start) == 0)
			break;
		risk_buf_addn(&body, lx->s + start, i - start);
	}
	lx->hd_resume = i;
	if (lx->hd_resume == 0)
		lx->hd_resume = lx->len;
	t->heredoc = risk_buf_take(&body);
}

static void
lex_next(struct rlex *lx, struct rtoken *t)
{
	static const char *const ops[] = {	/* longest first */
		"<<<", "<<-", "&>>", "&&", "||", "|&", ";;", ";&", ">>", "<<", "<>", ">|",
		">&", "<&", "&>", "|", "&", ";", "(", ")", "<", ">",
	};
	const char	*s = lx->s;

	rtoken_clear(t);
	while (lx->pos < lx->len && (s[lx->pos] == ' ' || s[lx->pos] == '\t' ||
	    (s[lx->pos] == '\\' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '\n')))
		lx->pos += s[lx->pos] == '\\' ? 2 : 1;
	if (lx->pos < lx->len && s[lx->pos] == '#')	/* a comment, to the end of the line */
		while (lx->pos < lx->len && s[lx->pos] != '\n')
			lx->pos++;
	if (lx->pos >= lx->len) {
		t->type = TOK_EOF;
		return;
	}
	if (s[lx->pos] == '\n') {
		lx->pos++;
		if (lx->hd_resume != 0) {
			lx->pos = lx->hd_resume;
			lx->hd_resume = 0;
		}
		t->type = TOK_OP;
		strcpy(t->op, "\n");
		return;
	}
	/* An fd number in front of a redirection: 2>/dev/null. */
	if (isdigit((unsigned char)s[lx->pos])) {
		size_t	i = lx->pos;

		while (i < lx->len && isdigit((unsigned char)s[i]))
			i++;
		if (i < lx->len && (s[i] == '<' || s[i] == '>') &&
		    !(i + 1 < lx->len && s[i + 1] == '('))
			lx->pos = i;
	}
	if ((s[lx->pos] == '<' || s[lx->pos] == '>') && lx->pos + 1 < lx->len &&
	    s[lx->pos + 1] == '(') {
		lex_word(lx, t);
		return;
	}
	/* Every operator starts with one of these: a word's first byte is
	 * not compared with each of them. */
	for (size_t k = 0; memchr("<>&|;()", s[lx->pos], 7) != NULL && k < nitems(ops); k++) {
		size_t	n = strlen(ops[k]);

		if (lx->len - lx->pos >= n && strncmp(s + lx->pos, ops[k], n) == 0) {
			lx->pos += n;
			memcpy(t->op, ops[k], n + 1);
			t->type = strchr("<>", ops[k][0]) != NULL ||
			    (ops[k][0] == '&' && n >= 2 && ops[k][1] == '>') ? TOK_REDIR : TOK_OP;
			if (strcmp(t->op, "<<") == 0 || strcmp(t->op, "<<-") == 0) {
				while (lx->pos < lx->len && (s[lx->pos] == ' ' || s[lx->pos] == '\t'))
					lx->pos++;
				{
					char	op[4];

					memcpy(op, t->op, sizeof op);
					lex_word(lx, t);
					memcpy(t->op, op, sizeof op);
					t->type = TOK_REDIR;
				}
				lex_heredoc(lx, t, t->op[2] == '-');
			}
			return;
		}
	}
	lex_word(lx, t);
}

/* --- parser: a tree of lists, pipelines, groups and simple commands ------ */




struct rparse {
	struct rlex	lx;
	struct rtoken	tok;
	unsigned	nodes;		/* a cap, so hostile input stays cheap */
};

static struct risk_node *
rnode_new(struct rparse *p, enum risk_node_type type)
{
	struct risk_node	*n = xcalloc(1, sizeof *n);

	n->type = type;
	p->nodes++;
	return (n);
}

static void
rnode_add(struct risk_node *parent, struct risk_node *kid)
{
	if ((parent->nkids & (parent->nkids - 1)) == 0)	/* 0, 1, 2, 4, ...: double */
		parent->kids = xreallocarray(parent->kids, parent->nkids == 0 ? 1 :
		    parent->nkids * 2, sizeof *parent->kids);
	parent->kids[parent->nkids++] = kid;
}

void
risk_shell_free(struct risk_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		risk_shell_free(n->kids[i]);
	free(n->kids);
	strv_clear(&n->cmd.assigns);
	strv_clear(&n->cmd.words);
	strv_clear(&n->cmd.redirs);
	strv_clear(&n->cmd.input);
	strv_clear(&n->cmd.subst);
	free(n);
}

static bool
tok_op(const struct rparse *p, const char *op)
{
	return (p->tok.type == TOK_OP && strcmp(p->tok.op, op) == 0);
}

static bool
tok_word(const struct rparse *p, const char *w)
{
	return (p->tok.type == TOK_WORD && !p->tok.quoted && strcmp(p->tok.text, w) == 0);
}

static void
parse_advance(struct rparse *p)
{
	lex_next(&p->lx, &p->tok);
}

bool
risk_shell_is_assign(const char *w)
{
	if (!isalpha((unsigned char)*w) && *w != '_')
		return (false);
	for (w++; isalnum((unsigned char)*w) || *w == '_'; w++)
		;
	return (*w == '=' || (w[0] == '+' && w[1] == '='));
}

static void
parse_take_subst(struct risk_cmd *c, struct rtoken *t)
{
	for (size_t i = 0; i < t->subst.n; i++)
		sv_add(&c->subst, t->subst.v[i]);
}

static struct risk_node	*parse_list(struct rparse *, int);
static struct risk_node	*parse_stage(struct rparse *, int);

/* Words that only steer control flow: the commands around them still run. */
static bool
parse_keyword(const struct rparse *p)
{
	static const char *const kw[] = {
		"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac",
		"!", "function", "select",
	};

	if (p->tok.type != TOK_WORD || p->tok.quoted)
		return (false);
	for (size_t i = 0; i < nitems(kw); i++)
		if (strcmp(p->tok.text, kw[i]) == 0)
			return (true);
	return (false);
}

static struct risk_node *
parse_simple(struct rparse *p, int closer)
{
	struct risk_node	*n = rnode_new(p, RISK_NODE_CMD);
	struct risk_cmd	*c = &n->cmd;

	for (;;) {
		if (p->tok.type == TOK_WORD) {
			parse_take_subst(c, &p->tok);
			if (c->words.n == 0 && risk_shell_is_assign(p->tok.text))
				sv_add(&c->assigns, p->tok.text);
			else
				sv_add(&c->words, p->tok.text);
			parse_advance(p);
		} else if (p->tok.type == TOK_REDIR) {
			char	op[4];

			memcpy(op, p->tok.op, sizeof op);
			if (p->tok.heredoc != NULL) {
				sv_add(&c->input, p->tok.heredoc);
				sv_take(&c->redirs, xprintf("%s %s", op, p->tok.text));
				parse_take_subst(c, &p->tok);
				parse_advance(p);
				continue;
			}
			parse_advance(p);
			if (p->tok.type != TOK_WORD) {
				sv_add(&c->redirs, op);
				continue;
			}
			if (strcmp(op, "<<<") == 0)
				sv_add(&c->input, p->tok.text);
			sv_take(&c->redirs, xprintf("%s %s", op, p->tok.text));
			parse_take_subst(c, &p->tok);
			parse_advance(p);
		} else if (tok_op(p, "(") && c->words.n == 1 && c->assigns.n == 0) {
			/* name() body: a function definition; its body is scored as if run. */
			struct risk_node	*g = rnode_new(p, RISK_NODE_GROUP), *body;

			parse_advance(p);
			if (tok_op(p, ")"))
				parse_advance(p);
			while (tok_op(p, "\n"))
				parse_advance(p);
			if ((body = parse_stage(p, closer)) != NULL)
				rnode_add(g, body);
			risk_shell_free(n);
			return (g);
		} else
			break;
	}
	if (c->words.n == 0 && c->assigns.n == 0 && c->redirs.n == 0) {
		risk_shell_free(n);
		p->nodes--;
		return (NULL);
	}
	return (n);
}

static struct risk_node *
parse_stage(struct rparse *p, int closer)
{
	struct risk_node	*g;

	while (parse_keyword(p))
		parse_advance(p);
	if (tok_op(p, "(") || tok_word(p, "{")) {
		int	close = tok_op(p, "(") ? ')' : '}';

		parse_advance(p);
		g = rnode_new(p, RISK_NODE_GROUP);
		rnode_add(g, parse_list(p, close));
		/* Redirections after a group apply to all of it; keep them out of the way. */
		while (p->tok.type == TOK_REDIR) {
			parse_advance(p);
			if (p->tok.type == TOK_WORD)
				parse_advance(p);
		}
		return (g);
	}
	return (parse_simple(p, closer));
}

static struct risk_node *
parse_pipeline(struct rparse *p, int closer)
{
	struct risk_node	*n = rnode_new(p, RISK_NODE_PIPE), *st;

	for (;;) {
		if ((st = parse_stage(p, closer)) != NULL)
			rnode_add(n, st);
		if ((!tok_op(p, "|") && !tok_op(p, "|&")) || p->nodes > RISK_SHELL_MAX_NODES)
			break;
		parse_advance(p);
		while (tok_op(p, "\n"))
			parse_advance(p);
	}
	return (n);
}

/* closer: 0 at top level, ')' or '}' inside a group. */
static struct risk_node *
parse_list(struct rparse *p, int closer)
{
	struct risk_node	*n = rnode_new(p, RISK_NODE_LIST), *pl;

	for (;;) {
		size_t	before = p->lx.pos;

		if (p->tok.type == TOK_EOF || p->nodes > RISK_SHELL_MAX_NODES)
			break;
		if (tok_op(p, ";") || tok_op(p, "&") || tok_op(p, "&&") || tok_op(p, "||") ||
		    tok_op(p, "\n") || tok_op(p, ";;") || tok_op(p, ";&")) {
			parse_advance(p);
			continue;
		}
		if (closer == ')' && tok_op(p, ")")) {
			parse_advance(p);
			break;
		}
		if (closer == '}' && tok_word(p, "}")) {
			parse_advance(p);
			break;
		}
		if (tok_op(p, ")") || tok_word(p, "}")) {	/* stray: case patterns, typos */
			parse_advance(p);
			continue;
		}
		pl = parse_pipeline(p, closer);
		if (pl->nkids > 0)
			rnode_add(n, pl);
		else
			risk_shell_free(pl);
		if (p->lx.pos == before && p->tok.type != TOK_EOF)
			parse_advance(p);	/* always make progress */
	}
	return (n);
}

struct risk_node *
risk_shell_parse(const char *text)
{
	struct rparse	 p = { 0 };
	struct risk_node	*n;

	p.lx.s = text;
	p.lx.len = strlen(text);
	parse_advance(&p);
	n = parse_list(&p, 0);
	rtoken_clear(&p.tok);
	return (n);
}
