/* risk.c: scores a command line 0-100 with reasons, before it runs, and adds
 * what a run was seen to do after it. risk-shell.c reads the line as a shell
 * would; this file walks the result: simple commands (normalised), pipelines,
 * sh -c / eval / wrapper (sudo, env, timeout, xargs, ...) bodies, interpreter
 * bodies (python -c, perl -e, ...) and their string literals, what an echo
 * or a base64 -d pipes into a shell, and base64 blobs that decode to text,
 * applying the rules of risk-rules.c. Nothing is executed or expanded.
 * Supervisor and front ends; it runs before every sandbox start, so it works
 * on the text only and takes tens of microseconds. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk.h"
#include "risk-shell.h"

#define RISK_MAX_DEPTH	10	/* nested bodies: sh -c 'eval "$(echo .. | base64 -d)"' */
#define RISK_BUDGET	512	/* simple commands and bodies looked at per command line */
#define RISK_SCAN_MAX	(16 * 1024)	/* bytes of one text the regexes see */
#define RISK_SCAN_BUDGET (256 * 1024)	/* bytes all regex scans of one command line see */
#define RISK_MATCH_MAX	160	/* bytes of matched text kept in a reason */
#define RISK_B64_MIN	16	/* a bare word must be this long to be tried as base64 */

/* --- results ------------------------------------------------------------- */

static const char *
risk_basename(const char *w)
{
	const char	*s = strrchr(w, '/');

	/* Only a path: "$(curl http://x/y)" keeps its text. */
	if (strpbrk(w, "$`( \t'\"") != NULL)
		return (w);
	return (s != NULL && s[1] != '\0' ? s + 1 : w);
}

/* The matched text as shown: control characters made visible, cut short. */
static char *
risk_clip(const char *s, size_t n)
{
	struct risk_buf	b = { 0 };

	if (n > RISK_MATCH_MAX)
		n = RISK_MATCH_MAX;
	for (size_t i = 0; i < n && s[i] != '\0'; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (c == '\n')
			risk_buf_add(&b, "\\n");
		else if (c == '\t')
			risk_buf_addc(&b, ' ');
		else if (c < 0x20 || c == 0x7f)
			risk_buf_addc(&b, '?');
		else
			risk_buf_addc(&b, (char)c);
	}
	if (n == RISK_MATCH_MAX && strlen(s) > n)
		risk_buf_add(&b, "...");
	return (risk_buf_take(&b));
}

static int
risk_reason_cmp(const void *a, const void *b)
{
	const struct risk_reason	*x = a, *y = b;

	if (x->weight != y->weight)
		return (y->weight - x->weight);
	return (strcmp(x->rule, y->rule));
}

/* 100 * (1 - prod(1 - w/100)): one rule of weight w alone scores w, two
 * independent reasons add less than their sum, and many weak ones approach
 * but never pass 100 (moat-risk(5) "SCORING"). */
static void
risk_result_update(struct risk_result *res)
{
	double	keep = 1.0;

	if (res->nreasons > 1)
		qsort(res->reasons, res->nreasons, sizeof *res->reasons, risk_reason_cmp);
	for (size_t i = 0; i < res->nreasons; i++)
		keep *= 1.0 - res->reasons[i].weight / 100.0;
	res->score = (int)lround(100.0 * (1.0 - keep));
	if (res->score < 0)
		res->score = 0;
	if (res->score > 100)
		res->score = 100;
}

/* Adds a reason for rule r unless it is there already (a rule counts once per
 * command line, however often it matched); a heavier weight wins. */
static void
risk_hit(struct risk_result *res, const struct risk_rule *r, int weight, const char *match,
    size_t mlen, const char *via)
{
	struct risk_reason	*rr;

	for (size_t i = 0; i < res->nreasons; i++) {
		if (strcmp(res->reasons[i].rule, r->id) == 0) {
			if (weight > res->reasons[i].weight) {
				rr = &res->reasons[i];
				rr->weight = weight;
				free(rr->match);
				rr->match = risk_clip(match, mlen);
			}
			return;
		}
	}
	res->reasons = xreallocarray(res->reasons, res->nreasons + 1, sizeof *res->reasons);
	rr = &res->reasons[res->nreasons++];
	rr->rule = xstrdup(r->id);
	rr->category = xstrdup(r->category);
	rr->weight = weight;
	rr->match = risk_clip(match, mlen);
	rr->reason = xstrdup(r->reason);
	rr->via = via != NULL ? xstrdup(via) : NULL;
}

/* --- scoring ------------------------------------------------------------- */

struct rctx {
	const struct risk_rules	*rules;
	struct risk_result	*res;
	int			 depth;
	unsigned		 budget;
	size_t			 scanned;	/* bytes given to regexec so far */
	struct strv		 seen;		/* decoded payloads and literals already scored */
};

static void	score_script(struct rctx *, const char *, const char *);
static void	score_text(struct rctx *, const char *, const char *);
static void	score_literals(struct rctx *, const char *, const char *);
static void	score_simple(struct rctx *, char **, size_t, const struct strv *,
		    const struct strv *, const char *);

static char *
via_push(const char *via, const char *step)
{
	return (via == NULL ? xstrdup(step) : xprintf("%s > %s", via, step));
}

static void
score_event(struct rctx *cx, const char *event, const char *match, const char *via)
{
	for (size_t i = 0; i < cx->rules->n; i++) {
		const struct risk_rule	*r = cx->rules->v[i];

		if (r->scope == RISK_SCOPE_EVENT && strcmp(r->event, event) == 0)
			risk_hit(cx->res, r, r->weight, match, strlen(match), via);
	}
}

/* True when this text was scored already: a payload reached twice (as a word,
 * through base64 -d | sh, inside program text) is read once. */
static bool
ctx_seen(struct rctx *cx, const char *text)
{
	if (strv_contains(&cx->seen, text))
		return (true);
	strv_add(&cx->seen, text);
	return (false);
}

/* Input too big or too nested to read in full: say so, once, since a
 * score that stopped reading must not look like a clean one. */
static void
score_oversize(struct rctx *cx, const char *what)
{
	score_event(cx, "oversize", what, NULL);
}

/* Applies the rules of one scope (MATCH, TEXT or RAW) to s. The compiled
 * rules only say yes or no; on a hit (rare) the pattern is compiled once more
 * with positions, to show the part of s that matched. */
static void
score_regex(struct rctx *cx, enum risk_scope scope, const char *s, const char *via)
{
	regmatch_t	 m[1];
	regex_t		 re;
	autofree char	*cut = NULL;
	struct rx_text	 t;
	size_t		 slen = strlen(s);

	if (cx->scanned >= RISK_SCAN_BUDGET) {
		score_oversize(cx, "more text than the scorer reads per command line");
		return;
	}
	if (slen > RISK_SCAN_MAX) {
		score_oversize(cx, "a text longer than 16 KiB; only its start was read");
		s = cut = xstrndup(s, RISK_SCAN_MAX);
		slen = RISK_SCAN_MAX;
	}
	cx->scanned += slen;
	/* Read once for every rule's prefilter (rx_maybe_text). */
	rx_text_init(&t, s);
	for (size_t i = 0; i < cx->rules->n; i++) {
		const struct risk_rule	*r = cx->rules->v[i];
		size_t			 off = 0, len = slen;

		if (r->scope != scope || !rx_maybe_text(r->re[0], &t) ||
		    rx_exec(r->re[0], s, 0, NULL, 0) != 0)
			continue;
		if (regcomp(&re, r->re[0]->pat, REG_EXTENDED | (r->nocase ? REG_ICASE : 0)) == 0) {
			if (regexec(&re, s, 1, m, 0) == 0 && m[0].rm_eo > m[0].rm_so) {
				off = (size_t)m[0].rm_so;
				len = (size_t)(m[0].rm_eo - m[0].rm_so);
			}
			regfree(&re);
		}
		/* An empty match (e.g. an anchor) shows the whole text instead. */
		risk_hit(cx->res, r, r->weight, s + off, len, via);
	}
	rx_text_free(&t);
}

static bool
word_plain(const char *w)
{
	if (*w == '\0')
		return (false);
	for (; *w != '\0'; w++)
		if (isspace((unsigned char)*w) || strchr("|&;<>()'\"", *w) != NULL)
			return (false);
	return (true);
}

/* The normalised simple command the rules see: the command's basename, its
 * arguments (quoted again when they hold blanks or operators, so a quoted
 * "a | sh" never looks like a pipe), then its redirections. */
static char *
score_norm(char **w, size_t n, const struct strv *redirs)
{
	struct risk_buf	b = { 0 };

	for (size_t i = 0; i < n; i++) {
		const char	*s = i == 0 ? risk_basename(w[0]) : w[i];

		if (i > 0)
			risk_buf_addc(&b, ' ');
		if (word_plain(s))
			risk_buf_add(&b, s);
		else {
			risk_buf_addc(&b, '\'');
			for (; *s != '\0'; s++)
				if (*s == '\'')
					risk_buf_add(&b, "'\\''");
				else
					risk_buf_addc(&b, *s);
			risk_buf_addc(&b, '\'');
		}
	}
	for (size_t i = 0; redirs != NULL && i < redirs->n; i++) {
		if (b.n > 0)
			risk_buf_addc(&b, ' ');
		risk_buf_add(&b, redirs->v[i]);
	}
	return (risk_buf_take(&b));
}

static bool
name_in(const char *name, const char *list)
{
	size_t		 n = strlen(name);
	const char	*p = list;

	if (n == 0)
		return (false);
	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return (true);
		p += n;
	}
	return (false);
}

static bool
is_shell(const char *name)
{
	return (name_in(name, "sh bash zsh dash ksh mksh ash fish rbash"));
}

/* python, python3, python3.11, pypy3 */
static bool
is_python(const char *name)
{
	if (strncmp(name, "python", 6) == 0)
		name += 6;
	else if (strncmp(name, "pypy", 4) == 0)
		name += 4;
	else
		return (false);
	return (name[strspn(name, "0123456789.")] == '\0');
}

/* The option that introduces inline code for an interpreter, or NULL. */
static const char *
interp_codeopt(const char *name)
{
	if (is_python(name))
		return ("c");
	if (name_in(name, "perl ruby lua luajit osascript"))
		return ("eE");
	if (name_in(name, "node nodejs deno bun"))
		return ("ep");
	if (name_in(name, "php"))
		return ("r");
	return (NULL);
}

/* Command wrappers: the options that take a separate argument, and how many
 * plain arguments come before the wrapped command. */
static const struct risk_wrapper {
	const char	*name;
	const char	*argopts;
	int		 positional;
} risk_wrappers[] = {
	{ "sudo", "-u -g -C -D -h -p -r -t -U -T --user --group --host --prompt --chdir "
	    "--close-from --other-user --role --type", 0 },
	{ "doas", "-u -C", 0 },
	{ "pkexec", "--user", 0 },
	{ "runuser", "-u -g -G --user --group --supp-group", 0 },
	{ "env", "-u -C --unset --chdir", 0 },
	{ "nice", "-n --adjustment", 0 },
	{ "ionice", "-c -n -t --class --classdata", 0 },
	{ "nohup", "", 0 },
	{ "setsid", "", 0 },
	{ "timeout", "-s -k --signal --kill-after", 1 },
	{ "stdbuf", "-i -o -e", 0 },
	{ "time", "-f -o --format --output", 0 },
	{ "command", "", 0 },
	{ "exec", "-a", 0 },
	{ "builtin", "", 0 },
	{ "chroot", "--userspec --groups", 1 },
	{ "xargs", "-a -d -E -e -I -L -l -n -P -s --arg-file --delimiter --max-args "
	    "--max-procs --max-lines --replace --max-chars", 0 },
	{ "watch", "-n -d --interval --differences", 0 },
	{ "flock", "-w -E --timeout --conflict-exit-code", 1 },
	{ "strace", "-e -o -p -s -u -E -a -b -I -O -P -S -X", 0 },
	{ "ltrace", "-e -o -p -s -u -a -n", 0 },
	{ "unbuffer", "", 0 },
	{ "torsocks", "-a -P -u -p -i", 0 },
	{ "proxychains", "-f", 0 },
	{ "proxychains4", "-f", 0 },
	{ "busybox", "", 0 },
	{ "unshare", "--map-user --map-group --propagation --setgroups --root --wd -S -G "
	    "--setuid --setgid --kill-child", 0 },
	{ "nsenter", "-t -S -G -w -r --target --setuid --setgid --wd --root", 0 },
	{ "faketime", "", 1 },
	{ "caffeinate", "-t -w", 0 },
	{ "firejail", "", 0 },
	{ "catchsegv", "", 0 },
	{ "systemd-run", "-p -E -u --unit --property --setenv --uid --gid "
	    "--working-directory --slice", 0 },
};

/* The index of the command a wrapper runs, or 0 when words[0] is no wrapper
 * (or wraps nothing). */
static size_t
unwrap(char **w, size_t n)
{
	const struct risk_wrapper	*wr = NULL;
	const char			*name = risk_basename(w[0]);
	size_t				 i = 1;
	int				 pos;

	for (size_t k = 0; k < nitems(risk_wrappers); k++)
		if (strcmp(risk_wrappers[k].name, name) == 0)
			wr = &risk_wrappers[k];
	if (wr == NULL)
		return (0);
	/* "command -v x" and "time" alone do not run anything. */
	if (strcmp(name, "command") == 0 && n > 1 && (strcmp(w[1], "-v") == 0 ||
	    strcmp(w[1], "-V") == 0))
		return (0);
	while (i < n && w[i][0] == '-' && w[i][1] != '\0') {
		if (strcmp(w[i], "--") == 0) {
			i++;
			break;
		}
		if (name_in(w[i], wr->argopts))
			i++;
		i++;
	}
	while (i < n && risk_shell_is_assign(w[i]))	/* env A=1 cmd, sudo A=1 cmd */
		i++;
	for (pos = wr->positional; pos > 0 && i < n; pos--)
		i++;
	return (i < n ? i : 0);
}

/* The options of an interpreter that take an argument, so that their
 * letters and their argument are not read as -e or -c: ruby -rsocket -e,
 * perl -MSocket -e, python3 -W error -c. In *sep those whose argument may
 * be the next word; the others take only what is attached (perl -i.bak). */
static const char *
interp_argopts(const char *name, const char **sep)
{
	*sep = "";
	if (is_python(name)) {
		*sep = "WXm";
		return ("WXm");
	}
	if (strcmp(name, "perl") == 0)
		return ("MmIixl0CdD");
	if (strcmp(name, "ruby") == 0) {
		*sep = "rIEC";
		return ("rIECKFWTx0");
	}
	if (name_in(name, "node nodejs deno bun")) {
		*sep = "rC";
		return ("rC");
	}
	if (strcmp(name, "php") == 0) {
		*sep = "cdzft";
		return ("cdzft");
	}
	return ("");
}

/* For shells and interpreters: the inline code after -c (or -e, ...), its
 * index in *at; NULL when there is none. */
static const char *
inline_code(char **w, size_t n, const char *opts, bool shell, size_t *at)
{
	bool		 found = false;
	const char	*sep, *argopts = interp_argopts(risk_basename(w[0]), &sep);

	for (size_t i = 1; i < n; i++) {
		const char	*a = w[i];

		if (strcmp(a, "--") == 0)
			return (NULL);
		if (a[0] == '-' && a[1] == '-') {
			/* node --eval CODE, --print CODE; bash --rcfile FILE */
			if (!shell && (strcmp(a, "--eval") == 0 || strcmp(a, "--print") == 0) &&
			    i + 1 < n) {
				*at = i + 1;
				return (w[i + 1]);
			}
			if (shell && (strcmp(a, "--rcfile") == 0 || strcmp(a, "--init-file") == 0))
				i++;
			continue;
		}
		if ((a[0] == '-' || (shell && a[0] == '+')) && a[1] != '\0') {
			size_t	len = strlen(a);

			if (shell) {
				if (strchr(a + 1, 'c') != NULL)
					found = true;
				if (strchr(a + 1, 'o') != NULL || strchr(a + 1, 'O') != NULL)
					i++;
				continue;
			}
			/* -c CODE, -uc CODE, -cCODE; perl -ne CODE */
			for (size_t k = 1; k < len; k++) {
				if (strchr(argopts, a[k]) != NULL) {
					if (k + 1 == len && strchr(sep, a[k]) != NULL)
						i++;	/* ruby -r socket */
					break;		/* ruby -rsocket */
				}
				if (strchr(opts, a[k]) == NULL)
					continue;
				if (k + 1 < len) {
					*at = i;
					return (a + k + 1);
				}
				if (i + 1 < n) {
					*at = i + 1;
					return (w[i + 1]);
				}
				return (NULL);
			}
			continue;
		}
		if (shell && found) {
			*at = i;
			return (a);
		}
		return (NULL);	/* a script file: nothing inline */
	}
	return (NULL);
}

/* True when the command reads its program from stdin: "sh", "bash -s",
 * "python3 -", "perl" with no script argument. */
static bool
reads_program(char **w, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (strcmp(w[i], "-") == 0 || strcmp(w[i], "-s") == 0)
			return (true);
		if (w[i][0] != '-')
			return (false);
	}
	return (true);
}

static bool
b64_char(unsigned char c)
{
	return (isalnum(c) || c == '+' || c == '/' || c == '-' || c == '_');
}

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+' || c == '-')
		return (62);
	if (c == '/' || c == '_')
		return (63);
	return (-1);
}

/* Decodes s (blanks and newlines ignored) when it is base64 of printable text
 * that looks like code (it holds a blank or shell punctuation); NULL if not. */
static char *
b64_decode_text(const char *s, size_t len, size_t minlen)
{
	struct risk_buf	 b = { 0 };
	unsigned	 acc = 0, bits = 0, nchars = 0, pad = 0;
	bool		 codeish = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || b64_val(c) < 0)
			goto no;
		acc = (acc << 6) | (unsigned)b64_val(c);
		bits += 6;
		nchars++;
		if (bits >= 8) {
			bits -= 8;
			risk_buf_addc(&b, (char)((acc >> bits) & 0xff));
		}
	}
	if (nchars + pad < minlen || pad > 2 || nchars % 4 == 1 || b.n < 3)
		goto no;
	for (size_t i = 0; i < b.n; i++) {
		unsigned char	c = (unsigned char)b.s[i];

		if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c >= 0x7f)
			goto no;
		if (strchr(" /;|&$()<>=", c) != NULL)
			codeish = true;
	}
	if (!codeish)
		goto no;
	return (risk_buf_take(&b));
no:
	free(b.s);
	return (NULL);
}

/* Printf/echo -e escapes decoded, when there are some \x or octal ones. */
static char *
hex_decode_text(const char *s)
{
	struct risk_buf	b = { 0 };
	size_t		len = strlen(s), n = 0;

	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '\\' && (s[i + 1] == 'x' || (s[i + 1] >= '0' && s[i + 1] <= '7')))
			n++;
	if (n < 3)
		return (NULL);
	for (size_t i = 0; i < len;) {
		if (s[i] == '\\') {
			i++;
			risk_shell_unescape(s, &i, len, &b);
		} else
			risk_buf_addc(&b, s[i++]);
	}
	return (risk_buf_take(&b));
}

/* A decoded payload: scored both as a shell script and as program text. */
static void
score_payload(struct rctx *cx, const char *event, const char *blob, const char *decoded,
    const char *via, const char *step)
{
	autofree char	*v = via_push(via, step);
	autofree char	*shown = NULL;
	autofree char	*b = risk_clip(blob, 40), *d = risk_clip(decoded, 80);

	shown = xprintf("%s -> %s", b, d);
	score_event(cx, event, shown, via);
	if (ctx_seen(cx, decoded))
		return;
	score_script(cx, decoded, v);
	score_text(cx, decoded, v);
}

/* Any run of 16+ base64 characters in s that decodes to code-like text. */
static void
score_b64_runs(struct rctx *cx, const char *s, const char *via)
{
	for (size_t i = 0; s[i] != '\0';) {
		size_t	j = i;

		while (s[j] != '\0' && (b64_char((unsigned char)s[j]) || s[j] == '='))
			j++;
		if (j - i >= RISK_B64_MIN) {
			autofree char	*d = b64_decode_text(s + i, j - i, RISK_B64_MIN);

			if (d != NULL)
				score_payload(cx, "base64-blob", s + i, d, via, "base64");
		}
		i = j > i ? j : i + 1;
	}
}

static bool
ctx_enter(struct rctx *cx, const char *via)
{
	if (cx->budget == 0) {
		score_oversize(cx, "more commands than the scorer reads per command line");
		return (false);
	}
	cx->budget--;
	if (cx->depth >= RISK_MAX_DEPTH) {
		score_event(cx, "deep-nesting", via != NULL ? via : "", via);
		return (false);
	}
	cx->depth++;
	return (true);
}

/* String literals in program text that look like command lines (they hold a
 * blank): os.system('rm -rf ~'), system("curl x | sh"), execSync(`...`).
 * Each is scored as a shell script; a literal that only prints is scored
 * too, which errs on the side of caution. */
static void
score_literals(struct rctx *cx, const char *body, const char *via)
{
	autofree char	*v = NULL;

	for (size_t i = 0; body[i] != '\0'; i++) {
		char		 q = body[i];
		struct risk_buf	 lit = { 0 };
		size_t		 j;

		if (q != '\'' && q != '"' && q != '`')
			continue;
		for (j = i + 1; body[j] != '\0' && body[j] != q; j++) {
			if (body[j] == '\\' && body[j + 1] != '\0')
				j++;
			risk_buf_addc(&lit, body[j]);
		}
		if (lit.s != NULL && lit.n >= 3 && strchr(lit.s, ' ') != NULL &&
		    !ctx_seen(cx, lit.s)) {
			if (v == NULL)
				v = via_push(via, "string");
			score_script(cx, lit.s, v);
		}
		free(lit.s);
		if (body[j] == '\0')
			break;
		i = j;
	}
}

/* Program text (python -c, perl -e, a here-document fed to an interpreter, a
 * decoded payload): text, match and raw rules over the whole of it. */
static void
score_text(struct rctx *cx, const char *body, const char *via)
{
	if (!ctx_enter(cx, via))
		return;
	score_regex(cx, RISK_SCOPE_RAW, body, via);
	score_regex(cx, RISK_SCOPE_TEXT, body, via);
	score_regex(cx, RISK_SCOPE_MATCH, body, via);
	score_b64_runs(cx, body, via);
	score_literals(cx, body, via);
	cx->depth--;
}

/* Collects the normalised text of every simple command in a pipeline stage
 * (its wrapped commands too), for pipe rules. */
static void
stage_texts(const struct risk_node *n, struct strv *out)
{
	if (n->type != RISK_NODE_CMD) {
		for (size_t i = 0; i < n->nkids; i++)
			stage_texts(n->kids[i], out);
		return;
	}
	for (size_t at = 0, k; at < n->cmd.words.n; at += k) {
		strv_take(out, score_norm(n->cmd.words.v + at, n->cmd.words.n - at, &n->cmd.redirs));
		if ((k = unwrap(n->cmd.words.v + at, n->cmd.words.n - at)) == 0)
			break;
	}
}

/* What one stage writes to the next, when the text says: echo/printf
 * arguments, cat of a here-document, transformed by base64 -d, rev, xxd -r.
 * Returns the new flow (owned) or NULL when unknown. */
static char *
stage_flow(struct rctx *cx, const struct risk_node *st, char *flow, const char *via,
    struct risk_buf *chain)
{
	char		**w;
	size_t		  n, at;
	const char	 *name;
	struct risk_buf	  b = { 0 };
	bool		  from_input = false;

	if (st->type != RISK_NODE_CMD || st->cmd.words.n == 0) {
		free(flow);
		return (NULL);
	}
	w = st->cmd.words.v;
	n = st->cmd.words.n;
	while ((at = unwrap(w, n)) > 0) {
		w += at;
		n -= at;
	}
	name = risk_basename(w[0]);
	if (st->cmd.input.n > 0) {
		free(flow);
		flow = xstrdup(st->cmd.input.v[st->cmd.input.n - 1]);
		chain->n = 0;
		from_input = true;
	}
	if (flow == NULL)
		chain->n = 0;
	if (chain->n > 0)
		risk_buf_add(chain, " | ");
	risk_buf_add(chain, name);
	if (from_input)
		risk_buf_add(chain, " <<");
	if (strcmp(name, "echo") == 0 || strcmp(name, "printf") == 0) {
		size_t	i = 1;
		char	*hex;

		while (i < n && strcmp(name, "echo") == 0 && w[i][0] == '-' &&
		    strspn(w[i] + 1, "neE") == strlen(w[i] + 1))
			i++;
		for (; i < n; i++) {
			if (b.n > 0)
				risk_buf_addc(&b, ' ');
			risk_buf_add(&b, w[i]);
		}
		free(flow);
		flow = risk_buf_take(&b);
		chain->n = 0;
		risk_buf_add(chain, name);
		if ((hex = hex_decode_text(flow)) != NULL) {
			autofree char	*shown = risk_clip(hex, 80);

			score_event(cx, "hex-payload", shown, via);
			free(flow);
			flow = hex;
		}
		return (flow);
	}
	if (strcmp(name, "cat") == 0 && n == 1 && flow != NULL)
		return (flow);
	if (flow == NULL)
		return (NULL);
	if ((strcmp(name, "base64") == 0 || strcmp(name, "openssl") == 0) &&
	    (strv_contains(&st->cmd.words, "-d") || strv_contains(&st->cmd.words, "--decode") ||
	    strv_contains(&st->cmd.words, "-D"))) {
		char	*d = b64_decode_text(flow, strlen(flow), 4);

		if (d != NULL) {
			autofree char	*shown = NULL, *b64 = risk_clip(flow, 40), *dd = risk_clip(d, 80);

			shown = xprintf("%s -> %s", b64, dd);
			score_event(cx, "base64-blob", shown, via);
		}
		risk_buf_add(chain, " -d");
		free(flow);
		return (d);
	}
	if (strcmp(name, "rev") == 0 && n == 1) {
		size_t	len = strlen(flow);

		for (size_t i = 0; i < len / 2; i++) {
			char	c = flow[i];

			flow[i] = flow[len - 1 - i];
			flow[len - 1 - i] = c;
		}
		return (flow);
	}
	if (strcmp(name, "xxd") == 0 && strv_contains(&st->cmd.words, "-r")) {
		for (size_t i = 0; flow[i] != '\0';) {
			int	hi = risk_shell_hexval(flow[i]), lo = hi < 0 ? -1 : risk_shell_hexval(flow[i + 1]);

			if (hi >= 0 && lo >= 0) {
				risk_buf_addc(&b, (char)(hi * 16 + lo));
				i += 2;
			} else
				i++;
		}
		free(flow);
		risk_buf_add(chain, " -r");
		return (risk_buf_take(&b));
	}
	free(flow);
	return (NULL);
}

/* A stage that runs what it reads: a shell or an interpreter with no program
 * argument. The text flowing in is scored as that program. */
static void
stage_sink(struct rctx *cx, const struct risk_node *st, const char *flow, const char *chain,
    const char *via)
{
	char		**w;
	size_t		  n, at;
	const char	 *name;
	autofree char	 *v = NULL, *step = NULL;

	if (st->type != RISK_NODE_CMD || st->cmd.words.n == 0)
		return;
	w = st->cmd.words.v;
	n = st->cmd.words.n;
	while ((at = unwrap(w, n)) > 0) {
		w += at;
		n -= at;
	}
	name = risk_basename(w[0]);
	if (!reads_program(w, n))
		return;
	if (ctx_seen(cx, flow))
		return;
	step = xprintf("%s | %s", chain, name);
	v = via_push(via, step);
	if (is_shell(name) || strcmp(name, "source") == 0 || strcmp(name, ".") == 0)
		score_script(cx, flow, v);
	else if (interp_codeopt(name) != NULL)
		score_text(cx, flow, v);
}

static void
score_pipe(struct rctx *cx, const struct risk_node *n, const char *via)
{
	struct strv	*texts = xcalloc(n->nkids, sizeof *texts);
	char		*flow = NULL;
	struct risk_buf	 chain = { 0 };

	for (size_t i = 0; i < n->nkids; i++)
		stage_texts(n->kids[i], &texts[i]);
	for (size_t r = 0; r < cx->rules->n; r++) {
		const struct risk_rule	*ru = cx->rules->v[r];
		bool			 hit = false;

		if (ru->scope != RISK_SCOPE_PIPE)
			continue;
		for (size_t i = 0; i + 1 < n->nkids && !hit; i++)
			for (size_t a = 0; a < texts[i].n && !hit; a++) {
				if (rx_exec(ru->re[0], texts[i].v[a], 0, NULL, 0) != 0)
					continue;
				for (size_t j = i + 1; j < n->nkids && !hit; j++)
					for (size_t b = 0; b < texts[j].n && !hit; b++) {
						autofree char	*m = NULL;

						if (rx_exec(ru->re[1], texts[j].v[b], 0, NULL, 0) != 0)
							continue;
						m = xprintf("%s | %s", texts[i].v[a], texts[j].v[b]);
						risk_hit(cx->res, ru, ru->weight, m, strlen(m), via);
						hit = true;
					}
			}
	}
	for (size_t i = 0; i < n->nkids; i++)
		strv_clear(&texts[i]);
	free(texts);

	/* Follow what is piped into a shell: echo ... | base64 -d | sh. */
	for (size_t i = 0; i < n->nkids; i++) {
		if (flow != NULL && i > 0)
			stage_sink(cx, n->kids[i], flow, chain.s, via);
		flow = stage_flow(cx, n->kids[i], flow, via, &chain);
	}
	free(flow);
	free(chain.s);
}

static void
score_node(struct rctx *cx, const struct risk_node *n, const char *via)
{
	const struct risk_cmd	*c = &n->cmd;

	switch (n->type) {
	case RISK_NODE_PIPE:
		if (n->nkids > 1)
			score_pipe(cx, n, via);
		/* FALLTHROUGH */
	case RISK_NODE_LIST:
	case RISK_NODE_GROUP:
		for (size_t i = 0; i < n->nkids; i++)
			score_node(cx, n->kids[i], via);
		break;
	case RISK_NODE_CMD:
		for (size_t i = 0; i < c->assigns.n; i++) {
			score_regex(cx, RISK_SCOPE_MATCH, c->assigns.v[i], via);
			score_b64_runs(cx, strchr(c->assigns.v[i], '=') + 1, via);
		}
		score_simple(cx, c->words.v, c->words.n, &c->redirs, &c->input, via);
		for (size_t i = 0; i < c->subst.n; i++) {
			autofree char	*v = via_push(via, "$(...)");

			score_script(cx, c->subst.v[i], v);
		}
		break;
	}
}

/* One simple command (or what a wrapper runs): cmd and match rules, then
 * whatever it runs in turn. */
static void
score_simple(struct rctx *cx, char **w, size_t n, const struct strv *redirs,
    const struct strv *input, const char *via)
{
	autofree char	*norm = score_norm(w, n, redirs);
	const char	*name, *args, *code, *copt;
	size_t		 at, nlen;

	if (cx->budget == 0) {
		score_oversize(cx, "more commands than the scorer reads per command line");
		return;
	}
	cx->budget--;
	if (n == 0) {
		if (*norm != '\0')
			score_regex(cx, RISK_SCOPE_MATCH, norm, via);
		return;
	}
	name = risk_basename(w[0]);
	nlen = strlen(name);
	args = norm[nlen] == ' ' ? norm + nlen + 1 : norm + nlen;
	/* A quoted name came back quoted; its args start after the closing quote. */
	if (norm[0] == '\'')
		args = "";
	for (size_t i = 0; i < cx->rules->n; i++) {
		const struct risk_rule	*r = cx->rules->v[i];
		size_t			 k;

		if (r->scope != RISK_SCOPE_CMD || !strv_contains(&r->cmds, name))
			continue;
		for (k = 0; k < r->nre; k++)
			if (rx_exec(r->re[k], args, 0, NULL, 0) != 0)
				break;
		if (k == r->nre)
			risk_hit(cx->res, r, r->weight, norm, strlen(norm), via);
	}
	score_regex(cx, RISK_SCOPE_MATCH, norm, via);

	for (size_t i = 1; i < n; i++)
		if (strlen(w[i]) >= RISK_B64_MIN)
			score_b64_runs(cx, w[i], via);

	if ((at = unwrap(w, n)) > 0) {
		autofree char	*v = via_push(via, name);

		score_simple(cx, w + at, n - at, redirs, input, v);
		return;
	}
	if (strcmp(name, "eval") == 0 && n > 1) {
		struct risk_buf	b = { 0 };
		autofree char	*v = via_push(via, "eval");
		autofree char	*body = NULL;

		for (size_t i = 1; i < n; i++) {
			if (i > 1)
				risk_buf_addc(&b, ' ');
			risk_buf_add(&b, w[i]);
		}
		body = risk_buf_take(&b);
		score_script(cx, body, v);
		return;
	}
	if (is_shell(name) || strcmp(name, "su") == 0) {
		autofree char	*step = xprintf("%s -c", name);
		autofree char	*vv = via_push(via, step);

		if (strcmp(name, "su") == 0) {
			code = NULL;
			for (size_t i = 1; i + 1 < n; i++)
				if (strcmp(w[i], "-c") == 0 || strcmp(w[i], "--command") == 0)
					code = w[i + 1];
		} else
			code = inline_code(w, n, "c", true, &at);
		if (code != NULL)
			score_script(cx, code, vv);
		else if (input != NULL && input->n > 0 && reads_program(w, n)) {
			free(vv);
			free(step);
			step = xprintf("%s <<", name);
			vv = via_push(via, step);
			for (size_t i = 0; i < input->n; i++)
				score_script(cx, input->v[i], vv);
		}
		return;
	}
	if ((copt = interp_codeopt(name)) != NULL) {
		autofree char	*step = NULL, *v = NULL;

		if ((code = inline_code(w, n, copt, false, &at)) != NULL) {
			step = xprintf("%s -%c", name, copt[0]);
			v = via_push(via, step);
			score_text(cx, code, v);
		} else if (input != NULL && input->n > 0 && reads_program(w, n)) {
			step = xprintf("%s <<", name);
			v = via_push(via, step);
			for (size_t i = 0; i < input->n; i++)
				score_text(cx, input->v[i], v);
		}
		return;
	}
	if (strcmp(name, "find") == 0) {
		for (size_t i = 1; i < n; i++) {
			size_t	j;

			if (strcmp(w[i], "-exec") != 0 && strcmp(w[i], "-execdir") != 0 &&
			    strcmp(w[i], "-ok") != 0 && strcmp(w[i], "-okdir") != 0)
				continue;
			for (j = i + 1; j < n && strcmp(w[j], ";") != 0 && strcmp(w[j], "+") != 0; j++)
				;
			if (j > i + 1) {
				autofree char	*v = via_push(via, "find -exec");

				score_simple(cx, w + i + 1, j - i - 1, NULL, NULL, v);
			}
			i = j;
		}
	}
}

/* A shell script: raw rules on the text, then the parsed commands. */
static void
score_script(struct rctx *cx, const char *text, const char *via)
{
	struct risk_node	*tree;

	if (!ctx_enter(cx, via))
		return;
	score_regex(cx, RISK_SCOPE_RAW, text, via);
	tree = risk_shell_parse(text);
	score_node(cx, tree, via);
	risk_shell_free(tree);
	cx->depth--;
}

int
risk_score_text(const struct risk_rules *rs, const char *cmdline, struct risk_result *res)
{
	struct rctx	cx = { .rules = rs, .res = res, .budget = RISK_BUDGET };

	memset(res, 0, sizeof *res);
	score_script(&cx, cmdline, NULL);
	strv_clear(&cx.seen);
	risk_result_update(res);
	return (0);
}

/* The program that runs what argv reads on its standard input ("sh",
 * "bash -s", "python3 -", "sudo sh", ...), as its basename; NULL when argv
 * names a script or code of its own, or is no shell or interpreter. */
const char *
risk_stdin_program(char *const argv[])
{
	char		**w = (char **)argv;
	size_t		  n = 0, at;
	const char	 *name;

	while (argv[n] != NULL)
		n++;
	if (n == 0)
		return (NULL);
	while ((at = unwrap(w, n)) > 0) {
		w += at;
		n -= at;
	}
	name = risk_basename(w[0]);
	if (!is_shell(name) && interp_codeopt(name) == NULL)
		return (NULL);
	if (is_shell(name) && inline_code(w, n, "c", true, &at) != NULL)
		return (NULL);
	if (!is_shell(name) && inline_code(w, n, interp_codeopt(name), false, &at) != NULL)
		return (NULL);
	return (reads_program(w, n) ? name : NULL);
}

/* Adds to res the score of a script argv reads on its standard input (the
 * first len bytes of it; truncated: there was more), as the program of the
 * shell or interpreter that reads it. */
int
risk_add_stdin(const struct risk_rules *rs, struct risk_result *res, char *const argv[],
    const char *script, size_t len, bool truncated)
{
	struct rctx	 cx = { .rules = rs, .res = res, .budget = RISK_BUDGET };
	const char	*name = risk_stdin_program(argv);
	autofree char	*text = NULL, *via = NULL;

	if (name == NULL || script == NULL)
		return (0);
	text = xstrndup(script, len);	/* a NUL byte ends what a shell reads, too */
	via = xprintf("stdin | %s", name);
	if (is_shell(name) || strcmp(name, "source") == 0 || strcmp(name, ".") == 0)
		score_script(&cx, text, via);
	else
		score_text(&cx, text, via);
	if (truncated)
		score_event(&cx, "oversize", "a piped script longer than moat reads: "
		    "only its beginning was scored", via);
	strv_clear(&cx.seen);
	risk_result_update(res);
	return (0);
}

/* Quotes each argument for a POSIX shell, so the scorer reads argv exactly:
 * "sh" "-c" "curl x | sh" becomes sh -c 'curl x | sh'. */
char *
risk_argv_join(char *const argv[])
{
	struct risk_buf	b = { 0 };

	for (size_t i = 0; argv[i] != NULL; i++) {
		const char	*s = argv[i];

		if (i > 0)
			risk_buf_addc(&b, ' ');
		if (*s != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_./:=@%+,-") == strlen(s)) {
			risk_buf_add(&b, s);
			continue;
		}
		risk_buf_addc(&b, '\'');
		for (; *s != '\0'; s++)
			if (*s == '\'')
				risk_buf_add(&b, "'\\''");
			else
				risk_buf_addc(&b, *s);
		risk_buf_addc(&b, '\'');
	}
	return (risk_buf_take(&b));
}

int
risk_score_argv(const struct risk_rules *rs, char *const argv[], struct risk_result *res)
{
	autofree char	*text = risk_argv_join(argv);

	return (risk_score_text(rs, text, res));
}

/* An event that happened count times (0: none): each matching event rule
 * adds weight + each * (count - 1), capped at max. */
int
risk_event(const struct risk_rules *rs, struct risk_result *res, const char *event,
    unsigned count, const char *detail)
{
	if (count == 0)
		return (0);
	for (size_t i = 0; i < rs->n; i++) {
		const struct risk_rule	*r = rs->v[i];
		long			 w, cap;
		autofree char		*m = NULL;

		if (r->scope != RISK_SCOPE_EVENT || strcmp(r->event, event) != 0)
			continue;
		cap = r->max > 0 ? r->max : r->each > 0 ? 100 : r->weight;
		w = r->weight + (long)r->each * (long)(count - 1);
		if (w > cap)
			w = cap;
		if (w < r->weight)
			w = r->weight;
		m = detail != NULL ? xprintf("%s x%u: %s", event, count, detail) :
		    xprintf("%s x%u", event, count);
		risk_hit(res, r, (int)w, m, strlen(m), NULL);
	}
	risk_result_update(res);
	return (0);
}

int
risk_add_observed(const struct risk_rules *rs, struct risk_result *res,
    const struct risk_observed *o)
{
	static const char *const deny[RISK_DENY_MAX] = {
		"denied-mount", "denied-userns", "denied-ptrace", "denied-keyring",
		"denied-bpf", "denied-raw-net", "denied-tty-inject", "denied-other",
	};

	for (int k = 0; k < RISK_DENY_MAX; k++)
		risk_event(rs, res, deny[k], o->denied[k], NULL);
	risk_event(rs, res, "net-refused", o->net_refused, NULL);
	risk_event(rs, res, "secret-misused", o->secret_misused, NULL);
	risk_event(rs, res, "limit-oom", o->limit_oom, NULL);
	risk_event(rs, res, "limit-pids", o->limit_pids, NULL);
	risk_event(rs, res, "limit-timeout", o->limit_timeout, NULL);
	risk_event(rs, res, "limit-cpu", o->limit_cpu, NULL);
	risk_event(rs, res, "files-outside", o->files_outside, NULL);
	risk_result_update(res);
	return (0);
}

/* Which kind a denied syscall counts as, by name (the seccomp notifier knows
 * the name; ioctl denials are TIOCSTI/TIOCLINUX, the only ones moat denies). */
enum risk_deny
risk_deny_kind(const char *sc)
{
	static const struct {
		const char	*names;
		enum risk_deny	 kind;
	} map[] = {
		{ "mount umount umount2 pivot_root move_mount fsopen fsmount fsconfig fspick "
		    "open_tree mount_setattr swapon swapoff chroot", RISK_DENY_MOUNT },
		{ "unshare setns clone clone3", RISK_DENY_USERNS },
		{ "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd "
		    "perf_event_open", RISK_DENY_PTRACE },
		{ "add_key request_key keyctl", RISK_DENY_KEYRING },
		{ "bpf", RISK_DENY_BPF },
		{ "socket socketpair", RISK_DENY_RAW_NET },
		{ "ioctl", RISK_DENY_TTY_INJECT },
	};

	for (size_t i = 0; i < nitems(map); i++)
		if (name_in(sc, map[i].names))
			return (map[i].kind);
	return (RISK_DENY_OTHER);
}

void
risk_result_free(struct risk_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->nreasons; i++) {
		free(res->reasons[i].rule);
		free(res->reasons[i].category);
		free(res->reasons[i].match);
		free(res->reasons[i].reason);
		free(res->reasons[i].via);
	}
	free(res->reasons);
	res->reasons = NULL;
	res->nreasons = 0;
	res->score = 0;
}

/* A deep copy, so the static score can be kept while observed reasons are
 * added to its copy for the final score. */
void
risk_result_copy(struct risk_result *dst, const struct risk_result *src)
{
	dst->score = src->score;
	dst->nreasons = src->nreasons;
	dst->reasons = xcalloc(src->nreasons, sizeof *dst->reasons);
	for (size_t i = 0; i < src->nreasons; i++) {
		const struct risk_reason	*r = &src->reasons[i];

		dst->reasons[i].rule = xstrdup(r->rule);
		dst->reasons[i].category = xstrdup(r->category);
		dst->reasons[i].weight = r->weight;
		dst->reasons[i].match = xstrdup(r->match);
		dst->reasons[i].reason = xstrdup(r->reason);
		dst->reasons[i].via = r->via != NULL ? xstrdup(r->via) : NULL;
	}
}

const char *
risk_band(int score)
{
	if (score >= RISK_CRITICAL)
		return ("critical");
	if (score >= RISK_HIGH)
		return ("high");
	if (score >= RISK_MEDIUM)
		return ("medium");
	return ("low");
}

/* JSON string: control characters escaped, invalid UTF-8 replaced. */
static void
json_str(struct risk_buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	risk_buf_addc(b, '"');
	while (*p != '\0') {
		size_t	need = 0;

		if (*p == '"' || *p == '\\') {
			risk_buf_addc(b, '\\');
			risk_buf_addc(b, (char)*p++);
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			char	esc[8];

			snprintf(esc, sizeof esc, "\\u%04x", *p++);
			risk_buf_add(b, esc);
			continue;
		}
		if (*p < 0x80) {
			risk_buf_addc(b, (char)*p++);
			continue;
		}
		if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			need = 1;
		else if ((*p & 0xf0) == 0xe0)
			need = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			need = 3;
		for (size_t k = 1; need > 0 && k <= need; k++)
			if ((p[k] & 0xc0) != 0x80)
				need = 0;
		if (need == 0) {
			risk_buf_add(b, "\\ufffd");
			p++;
			continue;
		}
		risk_buf_addn(b, (const char *)p, need + 1);
		p += need + 1;
	}
	risk_buf_addc(b, '"');
}

static void
json_reasons(struct risk_buf *b, const struct risk_result *res)
{
	char	num[32];

	risk_buf_addc(b, '[');
	for (size_t i = 0; i < res->nreasons; i++) {
		const struct risk_reason	*r = &res->reasons[i];

		risk_buf_add(b, i > 0 ? ",{\"rule\":" : "{\"rule\":");
		json_str(b, r->rule);
		risk_buf_add(b, ",\"category\":");
		json_str(b, r->category);
		snprintf(num, sizeof num, ",\"weight\":%d,\"match\":", r->weight);
		risk_buf_add(b, num);
		json_str(b, r->match);
		risk_buf_add(b, ",\"reason\":");
		json_str(b, r->reason);
		if (r->via != NULL) {
			risk_buf_add(b, ",\"via\":");
			json_str(b, r->via);
		}
		risk_buf_addc(b, '}');
	}
	risk_buf_addc(b, ']');
}

/* [{"rule","category","weight","match","reason"[,"via"]},...]: the reasons
 * alone, as the audit log's risk_*_reasons columns keep them. */
char *
risk_reasons_json(const struct risk_result *res)
{
	struct risk_buf	b = { 0 };

	json_reasons(&b, res);
	return (risk_buf_take(&b));
}

/* {"score":N,"band":"...","reasons":[...]}: what moat risk --json prints. */
char *
risk_result_json(const struct risk_result *res)
{
	struct risk_buf	b = { 0 };
	char		num[32];

	snprintf(num, sizeof num, "{\"score\":%d,\"band\":", res->score);
	risk_buf_add(&b, num);
	json_str(&b, risk_band(res->score));
	risk_buf_add(&b, ",\"reasons\":");
	json_reasons(&b, res);
	risk_buf_addc(&b, '}');
	return (risk_buf_take(&b));
}

void
risk_result_print(const struct risk_result *res, FILE *f)
{
	fprintf(f, "risk %d/100 (%s)\n", res->score, risk_band(res->score));
	if (res->nreasons == 0)
		fprintf(f, "  no rule matched\n");
	for (size_t i = 0; i < res->nreasons; i++) {
		const struct risk_reason	*r = &res->reasons[i];

		fprintf(f, "  %3d  %s [%s]: %s\n", r->weight, r->rule, r->category, r->reason);
		fprintf(f, "       matched: %s\n", r->match);
		if (r->via != NULL)
			fprintf(f, "       inside: %s\n", r->via);
	}
}
