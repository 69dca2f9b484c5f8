/* risk-rules.c: reads risk rule files (moat-risk(5)) into struct risk_rules:
 * the shipped rules/risk.rules, then $XDG_CONFIG_HOME/moat/risk.d/NAME.rules in
 * name order, then $MOAT_RISK_RULES. A later rule with the same id replaces
 * an earlier one. Errors name file:line. Supervisor and front ends. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "risk.h"
#include "risk-cache.h"

/* Events a rule may name: the static detectors in risk.c and the observed
 * counts of risk_add_observed(). A typo here should be an error, not a rule
 * that never fires. */
static const char *const risk_events[] = {
	"base64-blob", "hex-payload", "deep-nesting", "oversize",
	"denied-mount", "denied-userns", "denied-ptrace", "denied-keyring",
	"denied-bpf", "denied-raw-net", "denied-tty-inject", "denied-other",
	"net-refused", "secret-misused", "limit-oom", "limit-pids", "limit-timeout", "limit-cpu",
	"files-outside",
};

bool
risk_event_known(const char *name)
{
	for (size_t i = 0; i < nitems(risk_events); i++)
		if (strcmp(risk_events[i], name) == 0)
			return (true);
	return (false);
}

struct risk_rules *
risk_rules_new(void)
{
	return (xcalloc(1, sizeof (struct risk_rules)));
}

static void
risk_rule_free(struct risk_rule *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nre; i++) {
		rx_free(r->re[i]);
		free(r->re[i]);
	}
	if (r->borrowed) {
		free(r->cmds.v);
		free(r);
		return;
	}
	strv_clear(&r->cmds);
	free(r->id);
	free(r->category);
	free(r->reason);
	free(r->event);
	free(r->file);
	free(r);
}

void
risk_rules_free(struct risk_rules *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		risk_rule_free(rs->v[i]);
	free(rs->v);
	strv_clear(&rs->files);
	free(rs->arena);
	free(rs);
}

/* A rule being read: patterns are kept as text until the rule ends, so
 * "nocase" may come after them and each regex error keeps its own line. */
struct risk_pending {
	struct risk_rule	*r;
	char			*pat[RISK_MAX_RE];	/* owned */
	int			 patline[RISK_MAX_RE];
	size_t			 npat;
	const char		*patkey;	/* the pattern kind so far: cmd, match, text, raw, pipe, event */
	bool			 has_into, has_weight, has_category, has_reason;
};

static void
risk_pending_clear(struct risk_pending *p)
{
	for (size_t i = 0; i < p->npat; i++)
		free(p->pat[i]);
	risk_rule_free(p->r);
	memset(p, 0, sizeof *p);
}

/* FNV-1a of a rule's id: compared before the ids themselves, so that
 * adding each of the shipped rules is not a strcmp with all before it. */
uint32_t
risk_id_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h);
}

/* Adds r to rs, replacing a rule with the same id; takes r. */
static void
risk_rules_put(struct risk_rules *rs, struct risk_rule *r)
{
	r->idhash = risk_id_hash(r->id);
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->v[i]->idhash == r->idhash && strcmp(rs->v[i]->id, r->id) == 0) {
			risk_rule_free(rs->v[i]);
			if (r->weight == 0) {	/* "weight 0" removes a shipped rule */
				memmove(&rs->v[i], &rs->v[i + 1], (rs->n - i - 1) * sizeof *rs->v);
				rs->n--;
				risk_rule_free(r);
			} else
				rs->v[i] = r;
			return;
		}
	}
	if (r->weight == 0) {
		risk_rule_free(r);
		return;
	}
	rs->v = xreallocarray(rs->v, rs->n + 1, sizeof *rs->v);
	rs->v[rs->n++] = r;
}

/* Ends the rule being read: checks it is complete, compiles its patterns
 * (or, for moat's own file, only reads them for the prefilter). */
static int
risk_pending_finish(struct risk_rules *rs, struct risk_pending *p, const char *file,
    struct merr *e)
{
	struct risk_rule	*r = p->r;
	int			 flags = REG_EXTENDED | REG_NOSUB;
	char			 buf[256];

	if (r == NULL)
		return (0);
	if (!p->has_weight) {
		merr_set(e, "%s:%d: rule \"%s\" has no weight", file, r->line, r->id);
		goto fail;
	}
	if (r->weight == 0) {	/* a removal needs nothing else */
		risk_rules_put(rs, TAKE_PTR(p->r));
		risk_pending_clear(p);
		return (0);
	}
	if (!p->has_category || !p->has_reason) {
		merr_set(e, "%s:%d: rule \"%s\" needs a category and a reason", file, r->line,
		    r->id);
		goto fail;
	}
	if (p->patkey == NULL) {
		merr_set(e, "%s:%d: rule \"%s\" has no pattern (cmd, match, text, raw, pipe or event)",
		    file, r->line, r->id);
		goto fail;
	}
	if (r->scope == RISK_SCOPE_PIPE && !p->has_into) {
		merr_set(e, "%s:%d: rule \"%s\": \"pipe\" needs an \"into\" line", file, r->line,
		    r->id);
		goto fail;
	}
	if (r->nocase)
		flags |= REG_ICASE;
	for (size_t i = 0; i < p->npat; i++) {
		r->re[i] = xmalloc(sizeof *r->re[i]);
		rx_init(r->re[i], p->pat[i], flags);
		r->nre++;
		if (!rs->lazy && rx_compile(r->re[i], buf, sizeof buf) == -1) {
			merr_set(e, "%s:%d: rule \"%s\": bad regular expression \"%s\": %s",
			    file, p->patline[i], r->id, p->pat[i], buf);
			goto fail;
		}
	}
	risk_rules_put(rs, TAKE_PTR(p->r));
	risk_pending_clear(p);
	return (0);
fail:
	risk_pending_clear(p);
	return (-1);
}

static bool
risk_valid_id(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return (false);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return (false);
	return (true);
}

static int
risk_parse_weight(const char *v, int *out)
{
	unsigned long long	n;

	if (parse_uint(v, 100, &n) == -1)
		return (-1);
	*out = (int)n;
	return (0);
}

/* Checks that key may follow what the rule already has: one pattern kind per
 * rule; "args" only after "cmd", "into" only after "pipe". */
static int
risk_set_scope(struct risk_pending *p, enum risk_scope scope, const char *key,
    const char *file, int line, struct merr *e)
{
	if (strcmp(key, "args") == 0 || strcmp(key, "into") == 0) {
		const char	*need = key[0] == 'a' ? "cmd" : "pipe";

		if (p->patkey == NULL || strcmp(p->patkey, need) != 0)
			return (merr_set(e, "%s:%d: rule \"%s\": \"%s\" needs a \"%s\" line before it",
			    file, line, p->r->id, key, need));
		return (0);
	}
	if (p->patkey != NULL)
		return (merr_set(e, "%s:%d: rule \"%s\": \"%s\" cannot be combined with \"%s\"",
		    file, line, p->r->id, key, p->patkey));
	p->r->scope = scope;
	p->patkey = key;
	return (0);
}

static int
risk_add_pattern(struct risk_pending *p, const char *v, const char *file, int line,
    struct merr *e)
{
	if (*v == '\0')
		return (merr_set(e, "%s:%d: rule \"%s\": empty pattern", file, line, p->r->id));
	if (p->npat == RISK_MAX_RE)
		return (merr_set(e, "%s:%d: rule \"%s\": at most %d patterns", file, line,
		    p->r->id, RISK_MAX_RE));
	p->patline[p->npat] = line;
	p->pat[p->npat++] = xstrdup(v);
	return (0);
}

/* One "key value" line inside a rule. */
static int
risk_parse_key(struct risk_pending *p, const char *key, const char *v, const char *file,
    int line, struct merr *e)
{
	struct risk_rule	*r = p->r;

	if (strcmp(key, "category") == 0) {
		if (*v == '\0' || strchr(v, ' ') != NULL)
			return (merr_set(e, "%s:%d: category must be one word", file, line));
		free(r->category);
		r->category = xstrdup(v);
		p->has_category = true;
	} else if (strcmp(key, "weight") == 0) {
		if (risk_parse_weight(v, &r->weight) == -1)
			return (merr_set(e, "%s:%d: weight \"%s\" is not a number 0-100", file,
			    line, v));
		p->has_weight = true;
	} else if (strcmp(key, "each") == 0 || strcmp(key, "max") == 0) {
		int	*dst = key[0] == 'e' ? &r->each : &r->max;

		if (risk_parse_weight(v, dst) == -1)
			return (merr_set(e, "%s:%d: %s \"%s\" is not a number 0-100", file, line,
			    key, v));
	} else if (strcmp(key, "reason") == 0) {
		if (*v == '\0')
			return (merr_set(e, "%s:%d: empty reason", file, line));
		free(r->reason);
		r->reason = xstrdup(v);
		p->has_reason = true;
	} else if (strcmp(key, "nocase") == 0) {
		if (*v != '\0')
			return (merr_set(e, "%s:%d: \"nocase\" takes no value", file, line));
		r->nocase = true;
	} else if (strcmp(key, "cmd") == 0) {
		char	*copy, *tok, *save = NULL;

		if (*v == '\0')
			return (merr_set(e, "%s:%d: \"cmd\" needs at least one name", file, line));
		if (risk_set_scope(p, RISK_SCOPE_CMD, "cmd", file, line, e) == -1)
			return (-1);
		copy = xstrdup(v);
		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t", &save))
			strv_add(&r->cmds, tok);
		free(copy);
	} else if (strcmp(key, "args") == 0) {
		if (risk_set_scope(p, RISK_SCOPE_CMD, "args", file, line, e) == -1)
			return (-1);
		return (risk_add_pattern(p, v, file, line, e));
	} else if (strcmp(key, "match") == 0 || strcmp(key, "text") == 0 ||
	    strcmp(key, "raw") == 0 || strcmp(key, "pipe") == 0) {
		enum risk_scope	scope = key[0] == 'm' ? RISK_SCOPE_MATCH :
		    key[0] == 't' ? RISK_SCOPE_TEXT : key[0] == 'r' ? RISK_SCOPE_RAW :
		    RISK_SCOPE_PIPE;
		const char	*k = key[0] == 'm' ? "match" : key[0] == 't' ? "text" :
		    key[0] == 'r' ? "raw" : "pipe";

		if (risk_set_scope(p, scope, k, file, line, e) == -1)
			return (-1);
		return (risk_add_pattern(p, v, file, line, e));
	} else if (strcmp(key, "into") == 0) {
		if (risk_set_scope(p, RISK_SCOPE_PIPE, "into", file, line, e) == -1)
			return (-1);
		if (p->has_into)
			return (merr_set(e, "%s:%d: rule \"%s\": only one \"into\" line", file,
			    line, r->id));
		p->has_into = true;
		return (risk_add_pattern(p, v, file, line, e));
	} else if (strcmp(key, "event") == 0) {
		if (risk_set_scope(p, RISK_SCOPE_EVENT, "event", file, line, e) == -1)
			return (-1);
		if (!risk_event_known(v))
			return (merr_set(e, "%s:%d: unknown event \"%s\" (see moat-risk(5))", file,
			    line, v));
		r->event = xstrdup(v);
	} else
		return (merr_set(e, "%s:%d: unknown key \"%s\" (expected category, weight, reason, "
		    "cmd, args, match, text, raw, pipe, into, event, each, max or nocase)",
		    file, line, key));
	return (0);
}

/* Parses the text of one rules file; "file" names it in messages. */
int
risk_rules_load_string(struct risk_rules *rs, const char *file, const char *text,
    struct merr *e)
{
	struct risk_pending	 p = { 0 };
	autofree char		*copy = xstrdup(text);
	char			*s = copy, *nl, *key, *v, *end;
	int			 line = 0;

	for (; s != NULL; s = nl) {
		line++;
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		key = s;
		for (v = s; *v != '\0' && *v != ' ' && *v != '\t'; v++)
			;
		if (*v != '\0') {
			*v++ = '\0';
			while (*v == ' ' || *v == '\t')
				v++;
		}
		if (strcmp(key, "rule") == 0) {
			if (risk_pending_finish(rs, &p, file, e) == -1)
				return (-1);
			if (!risk_valid_id(v))
				return (merr_set(e, "%s:%d: bad rule id \"%s\" (letters, digits, - _ .)",
				    file, line, v));
			p.r = xcalloc(1, sizeof *p.r);
			p.r->id = xstrdup(v);
			p.r->file = xstrdup(file);
			p.r->line = line;
			continue;
		}
		if (p.r == NULL)
			return (merr_set(e, "%s:%d: \"%s\" outside a rule (start one with \"rule ID\")",
			    file, line, key));
		if (risk_parse_key(&p, key, v, file, line, e) == -1) {
			risk_pending_clear(&p);
			return (-1);
		}
	}
	return (risk_pending_finish(rs, &p, file, e));
}

int
risk_rules_load_file(struct risk_rules *rs, const char *path, struct merr *e)
{
	autofree char	*text = NULL;

	if (read_file(path, &text, NULL, e) == -1) {
		merr_prefix(e, "risk rules");
		return (-1);
	}
	if (risk_rules_load_string(rs, path, text, e) == -1)
		return (-1);
	strv_add(&rs->files, path);
	return (0);
}

/* The shipped file: the installed one, else the source tree's (so moat works
 * from its build directory before "make install"). */
const char *
risk_shipped_path(void)
{
	const char	*env = getenv("MOAT_RISK_SHIPPED");

	if (env != NULL && *env != '\0')
		return (env);
	if (access(MOAT_RISK_SHIPPED_RULES, R_OK) == 0)
		return (MOAT_RISK_SHIPPED_RULES);
	return (MOAT_SRC_RISK_RULES);
}

static int
risk_rules_filter(const struct dirent *d)
{
	size_t	n = strlen(d->d_name);

	return (d->d_name[0] != '.' && n > 6 && strcmp(d->d_name + n - 6, ".rules") == 0);
}

/* One input of the cache's key: its path and its identity, or why it has
 * none. A rules file written in any way changes its ctime. */
static void
risk_key_file(struct sha256 *h, const char *path)
{
	struct stat	st;
	char		buf[192];

	sha256_update(h, path, strlen(path) + 1);
	if (stat(path, &st) == -1)
		snprintf(buf, sizeof buf, "missing %d", errno);
	else
		snprintf(buf, sizeof buf, "%llu %llu %lld %lld.%09ld %lld.%09ld %o",
		    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
		    (unsigned)st.st_mode);
	sha256_update(h, buf, strlen(buf) + 1);
}

/* The key of what risk_load_files would read now: this binary (the
 * reader and the scorer that use the rules), the shipped file, each file
 * of risk.d by name, $MOAT_RISK_RULES. -1 when risk.d cannot be listed:
 * the load then says why. */
static int
risk_cache_key(uint8_t key[SHA256_LEN])
{
	struct sha256	 h;
	struct dirent	**names = NULL;
	char		 cfg[PATH_MAX];
	autofree char	*dir = NULL;
	const char	*env;
	int		 n;

	sha256_init(&h);
	sha256_update(&h, "moat risk rules 1", 18);
	risk_key_file(&h, "/proc/self/exe");
	risk_key_file(&h, risk_shipped_path());
	dir = path_join(xdg_dir("XDG_CONFIG_HOME", ".config", cfg, sizeof cfg), "moat/risk.d");
	sha256_update(&h, dir, strlen(dir) + 1);
	if ((n = scandir(dir, &names, risk_rules_filter, alphasort)) >= 0) {
		for (int i = 0; i < n; i++) {
			autofree char	*path = path_join(dir, names[i]->d_name);

			risk_key_file(&h, path);
			free(names[i]);
		}
		free(names);
	} else if (errno != ENOENT && errno != ENOTDIR)
		return (-1);
	sha256_update(&h, "env", 4);
	if ((env = getenv("MOAT_RISK_RULES")) != NULL && *env != '\0')
		risk_key_file(&h, env);
	sha256_final(&h, key);
	return (0);
}

static int	risk_load_files(struct risk_rules **, struct merr *);

/* The rules kept from the last moat that read the same files, else read
 * from them and kept (risk-cache.c). */
int
risk_load(struct risk_rules **out, struct merr *e)
{
	uint8_t	key[SHA256_LEN];

	if (risk_cache_key(key) == -1)
		return (risk_load_files(out, e));
	if ((*out = risk_cache_load(key)) != NULL)
		return (0);
	if (risk_load_files(out, e) == -1)
		return (-1);
	risk_cache_store(key, *out);
	return (0);
}

/* Reads the rules files themselves. */
static int
risk_load_files(struct risk_rules **out, struct merr *e)
{
	struct risk_rules	*rs = risk_rules_new();
	struct dirent		**names = NULL;
	char			 cfg[PATH_MAX];
	autofree char		*dir = NULL;
	const char		*env, *shipped = risk_shipped_path();
	int			 n, rc = 0;

	rs->lazy = strcmp(shipped, MOAT_RISK_SHIPPED_RULES) == 0 ||
	    strcmp(shipped, MOAT_SRC_RISK_RULES) == 0;
	rc = risk_rules_load_file(rs, shipped, e);
	rs->lazy = false;
	if (rc == -1)
		goto fail;
	dir = path_join(xdg_dir("XDG_CONFIG_HOME", ".config", cfg, sizeof cfg), "moat/risk.d");
	if ((n = scandir(dir, &names, risk_rules_filter, alphasort)) >= 0) {
		for (int i = 0; i < n; i++) {
			autofree char	*path = path_join(dir, names[i]->d_name);

			if (rc == 0 && risk_rules_load_file(rs, path, e) == -1)
				rc = -1;
			free(names[i]);
		}
		free(names);
		if (rc == -1)
			goto fail;
	} else if (errno != ENOENT && errno != ENOTDIR) {
		merr_errno(e, "risk rules: %s", dir);
		goto fail;
	}
	if ((env = getenv("MOAT_RISK_RULES")) != NULL && *env != '\0' &&
	    risk_rules_load_file(rs, env, e) == -1)
		goto fail;
	*out = rs;
	return (0);
fail:
	risk_rules_free(rs);
	return (-1);
}

int
risk_rules_compile(struct risk_rules *rs, struct merr *e)
{
	char	buf[256];

	for (size_t i = 0; i < rs->n; i++) {
		struct risk_rule	*r = rs->v[i];

		for (size_t k = 0; k < r->nre; k++)
			if (rx_compile(r->re[k], buf, sizeof buf) == -1)
				return (merr_set(e, "%s:%d: rule \"%s\": bad regular expression "
				    "\"%s\": %s", r->file, r->line, r->id, r->re[k]->pat, buf));
	}
	return (0);
}
