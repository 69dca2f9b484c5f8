/* profile.c: reads moat-profile(5) files into struct profile: lines of
 * "key = value", includes processed in place (with loop detection), the
 * search path, and the provenance of every value. The keys themselves are a
 * table in profile-keys.c. Supervisor and front ends, before anything runs. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net-rule.h"
#include "profile.h"

#ifndef MOAT_PROFILEDIR
#define MOAT_PROFILEDIR		"/usr/local/share/moat/profiles"
#endif
#ifndef MOAT_SRC_PROFILEDIR
#define MOAT_SRC_PROFILEDIR	MOAT_PROFILEDIR
#endif

#define PROFILE_MAX_DEPTH	32
#define PROFILE_MAX_SIZE	(1 << 20)
#define PROFILE_MAX_DIRS	16

struct parse {
	struct profile	*p;
	struct strv	 real;		/* realpaths of the files being read, outermost first */
	struct strv	 shown;		/* the same paths as messages show them */
};

static int	parse_file(struct parse *, const char *, const char *, int,
		    const char *, struct merr *);

bool
profile_name_valid(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
		return (false);
	if (n > 5 && strcmp(s + n - 5, ".conf") == 0)
		return (false);
	for (size_t i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return (false);
	}
	return (true);
}

/* The directories listed so far, each as stat(2) found it (ino 0: not
 * there), so that one reached by two paths is listed once. */
struct dirs_seen {
	dev_t	dev[PROFILE_MAX_DIRS];
	ino_t	ino[PROFILE_MAX_DIRS];
};

/* Adds dir to the list unless it is already there: the same path, or the
 * same directory (device and inode: a link, or another path to it). One
 * stat a directory, where a realpath of each pair took a readlink per
 * component of both. */
static size_t
dirs_add(const char **dirs, size_t n, size_t max, char *buf, size_t len,
    size_t *used, struct dirs_seen *seen, const char *dir)
{
	struct stat	st;
	size_t		dl = strlen(dir);
	bool		there;

	if (n >= max || n >= PROFILE_MAX_DIRS || dir[0] != '/' ||
	    *used + dl + 1 > len)
		return (n);
	there = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(dirs[i], dir) == 0)
			return (n);
		if (there && seen->ino[i] != 0 && seen->dev[i] == st.st_dev &&
		    seen->ino[i] == st.st_ino)
			return (n);
	}
	seen->dev[n] = there ? st.st_dev : 0;
	seen->ino[n] = there ? st.st_ino : 0;
	memcpy(buf + *used, dir, dl + 1);
	dirs[n] = buf + *used;
	*used += dl + 1;
	return (n + 1);
}

size_t
profile_dirs(const char **dirs, size_t max, char *buf, size_t len)
{
	char		 cfg[PATH_MAX];
	autofree char	*user = NULL, *env = NULL;
	const char	*ev;
	struct stat	 st;
	struct dirs_seen seen;
	size_t		 n = 0, used = 0;

	xdg_dir("XDG_CONFIG_HOME", ".config", cfg, sizeof cfg);
	user = path_join(cfg, "moat/profiles");
	n = dirs_add(dirs, n, max, buf, len, &used, &seen, user);
	if ((ev = getenv("MOAT_PROFILE_DIR")) != NULL) {
		char	*s, *save = NULL;

		env = xstrdup(ev);
		for (s = strtok_r(env, ":", &save); s != NULL;
		    s = strtok_r(NULL, ":", &save))
			n = dirs_add(dirs, n, max, buf, len, &used, &seen, s);
	}
	/* A build tree's ./moat finds the profiles of its source tree until
	 * "make install" has put them in place. */
	if (stat(MOAT_PROFILEDIR, &st) == 0 && S_ISDIR(st.st_mode))
		n = dirs_add(dirs, n, max, buf, len, &used, &seen, MOAT_PROFILEDIR);
	else if (stat(MOAT_SRC_PROFILEDIR, &st) == 0 && S_ISDIR(st.st_mode))
		n = dirs_add(dirs, n, max, buf, len, &used, &seen, MOAT_SRC_PROFILEDIR);
	else
		n = dirs_add(dirs, n, max, buf, len, &used, &seen, MOAT_PROFILEDIR);
	return (n);
}

/* The search, skipping the file "skip" (a realpath), so that a user's
 * default.conf can say "include = default" to build on the shipped one. */
static int
profile_find_skip(const char *name, const char *skip, char *out, size_t len,
    size_t *dirindex, bool *skipped, struct merr *e)
{
	const char	*dirs[PROFILE_MAX_DIRS];
	char		 buf[PROFILE_MAX_DIRS * 256], rp[PATH_MAX], list[1024] = "";
	size_t		 n;

	if (!profile_name_valid(name)) {
		size_t	l = strlen(name);

		if (l > 5 && strcmp(name + l - 5, ".conf") == 0)
			return (merr_set(e, "\"%s\" is a file name; write ./%s for a "
			    "file, or %.*s for the profile", name, name, (int)(l - 5), name));
		return (merr_set(e, "\"%s\" is not a profile name (letters, digits, "
		    "'.', '_', '-'), nor a path (one with a '/')", name));
	}
	n = profile_dirs(dirs, nitems(dirs), buf, sizeof buf);
	for (size_t i = 0; i < n; i++) {
		autofree char	*f = xprintf("%s/%s.conf", dirs[i], name);

		if (access(f, F_OK) == -1)
			continue;
		if (skip != NULL && realpath(f, rp) != NULL && strcmp(rp, skip) == 0) {
			if (skipped != NULL)
				*skipped = true;
			continue;
		}
		if ((size_t)snprintf(out, len, "%s", f) >= len)
			return (merr_set(e, "%s: path too long", f));
		if (dirindex != NULL)
			*dirindex = i;
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		size_t	l = strlen(list);

		snprintf(list + l, sizeof list - l, "%s%s", i > 0 ? ", " : "", dirs[i]);
	}
	return (merr_set(e, "not found (looked for %s.conf in %s); "
	    "\"moat profiles list\" shows the ones there are", name, list));
}

int
profile_find(const char *name, char *out, size_t len, size_t *dirindex,
    struct merr *e)
{
	return (profile_find_skip(name, NULL, out, len, dirindex, NULL, e));
}

static const char *
home_dir(void)
{
	const char	*h = getenv("HOME");
	struct passwd	*pw;

	if (h != NULL && h[0] == '/')
		return (h);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir[0] == '/')
		return (pw->pw_dir);
	return (NULL);
}

/* "~" and "~/x" at the start, and after the first ':' (SRC:DST), are the
 * invoking user's $HOME. */
static int
expand_home(const char *v, char **out, struct merr *e)
{
	const char	*colon = strchr(v, ':'), *home = NULL;
	char		*s;

	if ((v[0] == '~' && (v[1] == '/' || v[1] == '\0' || v[1] == ':')) ||
	    (colon != NULL && colon[1] == '~' && (colon[2] == '/' || colon[2] == '\0'))) {
		if ((home = home_dir()) == NULL)
			return (merr_set(e, "cannot expand \"~\": $HOME is not set"));
	}
	if (home == NULL) {
		*out = xstrdup(v);
		return (0);
	}
	if (v[0] == '~' && (v[1] == '/' || v[1] == '\0' || v[1] == ':'))
		s = xprintf("%s%s", home, v + 1);
	else
		s = xstrdup(v);
	colon = strchr(s, ':');
	if (colon != NULL && colon[1] == '~' && (colon[2] == '/' || colon[2] == '\0')) {
		char	*t = xprintf("%.*s%s%s", (int)(colon - s + 1), s, home, colon + 2);

		free(s);
		s = t;
	}
	*out = s;
	return (0);
}

static uint64_t
prov_hash(const char *key, const char *value)
{
	uint64_t	h = 1469598103934665603ULL;	/* FNV-1a */

	for (const char *c = key; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *c = value; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	return (h);
}

static void
prov_index_put(struct profile *p, size_t i)
{
	size_t	mask = p->provixcap - 1;
	size_t	s = (size_t)prov_hash(p->prov[i].key, p->prov[i].value) & mask;

	while (p->provix[s] != 0)
		s = (s + 1) & mask;
	p->provix[s] = i + 1;
}

/* The index at half load at most; rebuilt after removals. */
static void
prov_index_fit(struct profile *p)
{
	size_t	cap = p->provixcap;

	if (!p->provix_stale && cap != 0 && (p->nprov + 1) * 2 <= cap)
		return;
	if (cap == 0)
		cap = 64;
	while ((p->nprov + 1) * 2 > cap)
		cap *= 2;
	free(p->provix);
	p->provix = xcalloc(cap, sizeof *p->provix);
	p->provixcap = cap;
	p->provix_stale = false;
	for (size_t i = 0; i < p->nprov; i++)
		prov_index_put(p, i);
}

static void
prov_add(struct profile *p, const char *key, const char *value, const char *file,
    int line)
{
	struct prov	*pv;

	if (p->nprov == p->capprov) {
		p->capprov = p->capprov == 0 ? 32 : p->capprov * 2;
		p->prov = xreallocarray(p->prov, p->capprov, sizeof *p->prov);
	}
	pv = &p->prov[p->nprov++];
	pv->key = xstrdup(key);
	pv->value = xstrdup(value);
	pv->at.file = xstrdup(file);
	pv->at.line = line;
	if (p->provixcap != 0 && !p->provix_stale) {
		if ((p->nprov + 1) * 2 > p->provixcap)
			p->provix_stale = true;
		else
			prov_index_put(p, p->nprov - 1);
	}
}

/* Removes the entries for key (all of them when value is NULL); returns how
 * many. */
static size_t
prov_remove(struct profile *p, const char *key, const char *value)
{
	size_t	i, j, n = 0;

	for (i = j = 0; i < p->nprov; i++) {
		struct prov	*pv = &p->prov[i];

		if (strcmp(pv->key, key) == 0 &&
		    (value == NULL || strcmp(pv->value, value) == 0)) {
			free(pv->key);
			free(pv->value);
			free(pv->at.file);
			n++;
		} else
			p->prov[j++] = *pv;
	}
	p->nprov = j;
	if (n > 0)
		p->provix_stale = true;
	return (n);
}

/* The first entry for key. */
static const struct prov *
prov_find_key(const struct profile *p, const char *key)
{
	for (size_t i = 0; i < p->nprov; i++)
		if (strcmp(p->prov[i].key, key) == 0)
			return (&p->prov[i]);
	return (NULL);
}

/* The entry for (key, value), through the index. */
static const struct prov *
prov_find(struct profile *p, const char *key, const char *value)
{
	size_t	mask, s;

	prov_index_fit(p);
	mask = p->provixcap - 1;
	for (s = (size_t)prov_hash(key, value) & mask; p->provix[s] != 0;
	    s = (s + 1) & mask) {
		const struct prov	*pv = &p->prov[p->provix[s] - 1];

		if (strcmp(pv->key, key) == 0 && strcmp(pv->value, value) == 0)
			return (pv);
	}
	return (NULL);
}

/* Edit distance, for "did you mean". Names are short. */
static size_t
distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= nitems(row) || lb >= nitems(row))
		return (SIZE_MAX);
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t	best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return (row[lb]);
}

static int
err_unknown_key(struct merr *e, const char *file, int line, const char *key)
{
	char		 keys[768] = "", hint[128] = "";
	size_t		 best = 3;
	const char	*near = NULL;

	for (size_t i = 0; i < profile_nkeys; i++) {
		size_t	l = strlen(keys), d = distance(key, profile_keys[i].name);

		snprintf(keys + l, sizeof keys - l, "%s%s", i > 0 ? " " : "",
		    profile_keys[i].name);
		if (d < best) {
			best = d;
			near = profile_keys[i].name;
		}
	}
	if (near != NULL)
		snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", near);
	return (merr_set(e, "profile %s:%d: unknown key \"%s\"%s; valid keys: %s",
	    file, line, key, hint, keys));
}

static int
err_bad_value(struct merr *e, const char *file, int line,
    const struct profile_key *k, const char *value, const struct merr *detail)
{
	return (merr_set(e, "profile %s:%d: %s: bad value \"%s\"%s%s; valid: %s",
	    file, line, k->name, value, detail->msg[0] != '\0' ? ": " : "",
	    detail->msg, k->valid));
}

/* The path an include names: a profile name on the search path (skipping the
 * including file itself), or a path relative to the including file. */
static int
include_path(struct parse *ps, const char *file, const char *v, char **out,
    struct merr *e)
{
	char	 found[PATH_MAX];
	bool	 skipped = false;

	if (strchr(v, '/') == NULL) {
		const char	*self = ps->real.v[ps->real.n - 1];

		if (profile_find_skip(v, self, found, sizeof found, NULL, &skipped,
		    e) == -1) {
			if (skipped)
				return (merr_set(e, "include loop: %s includes itself "
				    "(and there is no other %s.conf further down the "
				    "search path)", file, v));
			return (-1);
		}
		*out = xstrdup(found);
		return (0);
	}
	if (v[0] == '/')
		*out = xstrdup(v);
	else if (v[0] == '~')
		return (expand_home(v, out, e));
	else {
		autofree char	*dir = xstrdup(file);
		char		*slash = strrchr(dir, '/');

		if (slash == NULL)
			*out = xstrdup(v);
		else {
			/* "./a.conf" including "./b.conf" reads "./b.conf", not "././b.conf". */
			while (v[0] == '.' && v[1] == '/')
				v += 2;
			slash[1] = '\0';
			*out = xprintf("%s%s", dir, v);
		}
	}
	return (0);
}

static int
parse_line(struct parse *ps, const char *file, int line, char *text, struct merr *e)
{
	struct profile			*p = ps->p;
	const struct profile_key	*k;
	struct merr			 d = { .msg = "" };
	char				*eq, *key, *value;
	bool				 remove = false;
	autofree char			*v = NULL;

	if ((eq = strchr(text, '=')) == NULL)
		return (merr_set(e, "profile %s:%d: expected \"key = value\", got \"%s\"",
		    file, line, text));
	value = str_trim(eq + 1);
	if (eq > text && eq[-1] == '-') {
		remove = true;
		eq--;
	}
	*eq = '\0';
	key = str_trim(text);
	if ((k = profile_key_find(key)) == NULL)
		return (err_unknown_key(e, file, line, key));
	if (*value == '\0')
		return (merr_set(e, "profile %s:%d: %s: no value; valid: %s", file,
		    line, k->name, k->valid));
	if (k->type == KEY_INCLUDE) {
		autofree char	*path = NULL;

		if (remove)
			return (merr_set(e, "profile %s:%d: include: \"-=\" only "
			    "works on lists", file, line));
		if (include_path(ps, file, value, &path, &d) == -1)
			return (merr_set(e, "profile %s:%d: include \"%s\": %s", file,
			    line, value, d.msg));
		return (parse_file(ps, path, file, line, value, e));
	}
	if (k->type != KEY_LIST) {
		if (remove)
			return (merr_set(e, "profile %s:%d: %s: \"-=\" only works on "
			    "lists; set a value with \"%s = ...\"", file, line,
			    k->name, k->name));
		if (k->set(p, k, value, &d) == -1)
			return (err_bad_value(e, file, line, k, value, &d));
		prov_remove(p, k->name, NULL);
		prov_add(p, k->name, value, file, line);
		return (0);
	}
	if (strcmp(value, "!clear") == 0) {
		if (remove)
			return (merr_set(e, "profile %s:%d: %s: write \"%s = !clear\" "
			    "to empty the list", file, line, k->name, k->name));
		prov_remove(p, k->name, NULL);
		return (0);
	}
	if (k->flags & PK_PATH) {
		if (expand_home(value, &v, &d) == -1)
			return (err_bad_value(e, file, line, k, value, &d));
	} else
		v = xstrdup(value);
	if (remove) {
		if (prov_remove(p, k->name, v) == 0)
			return (merr_set(e, "profile %s:%d: %s -= \"%s\": not in the "
			    "list (write it as the line that added it did)", file,
			    line, k->name, v));
		return (0);
	}
	/* Checked (and appended) now so the error names this line; the lists
	 * are rebuilt from p->prov when all files are read. */
	if (k->set(p, k, v, &d) == -1)
		return (err_bad_value(e, file, line, k, value, &d));
	if (prov_find(p, k->name, v) == NULL)
		prov_add(p, k->name, v, file, line);
	return (0);
}

int
profile_add(struct profile *p, const char *key, const char *value,
    const char *origin, struct merr *e)
{
	const struct profile_key	*k = profile_key_find(key);
	struct merr			 d;

	if (k == NULL || k->type != KEY_LIST)
		return (merr_set(e, "%s: not a list key", key));
	if (k->set(p, k, value, &d) == -1)
		return (merr_set(e, "%s = %s: %s", key, value, d.msg));
	if (prov_find(p, k->name, value) == NULL)
		prov_add(p, k->name, value, origin, 0);
	return (0);
}

/* Reads one file. "from" and "fromline" name the include line when this is
 * an included file (NULL at the top), for messages. */
static int
parse_file(struct parse *ps, const char *path, const char *from, int fromline,
    const char *as, struct merr *e)
{
	char		 rp[PATH_MAX], pre[PATH_MAX + 64];
	struct stat	 st;
	struct merr	 d = { .msg = "" };
	autofree char	*buf = NULL;
	char		*line, *next, *nul;
	int		 lineno = 0, rc = 0;
	size_t		 len = 0;

	if (from != NULL)
		snprintf(pre, sizeof pre, "profile %s:%d: include \"%s\"", from,
		    fromline, as);
	else
		snprintf(pre, sizeof pre, "profile %s", path);
	if (stat(path, &st) == -1) {
		if (errno == ENOENT && from != NULL)
			return (merr_set(e, "%s: %s does not exist", pre, path));
		if (errno == ENOENT)
			return (merr_set(e, "%s: no such file", pre));
		return (merr_errno(e, "%s: cannot read %s", pre, path));
	}
	if (S_ISDIR(st.st_mode))
		return (merr_set(e, "%s: %s is a directory", pre, path));
	if (!S_ISREG(st.st_mode))
		return (merr_set(e, "%s: %s is not a regular file", pre, path));
	if (st.st_size > PROFILE_MAX_SIZE)
		return (merr_set(e, "%s: %s is larger than %d bytes", pre, path,
		    PROFILE_MAX_SIZE));
	if (realpath(path, rp) == NULL)
		return (merr_errno(e, "%s: cannot read %s", pre, path));
	if (strv_contains(&ps->real, rp)) {
		char	chain[768] = "";

		for (size_t i = 0; i < ps->shown.n; i++) {
			size_t	l = strlen(chain);

			snprintf(chain + l, sizeof chain - l, "%s -> ", ps->shown.v[i]);
		}
		return (merr_set(e, "%s: include loop: %s%s", pre, chain, path));
	}
	if (ps->real.n >= PROFILE_MAX_DEPTH)
		return (merr_set(e, "%s: includes nested deeper than %d", pre,
		    PROFILE_MAX_DEPTH));
	if (read_file(path, &buf, &len, &d) == -1) {
		errno = d.err;
		return (merr_errno(e, "%s: cannot read %s", pre, path));
	}
	/* A NUL would end the line early: "env-set = A=\0B" would set A= and
	 * check would call it fine. */
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		for (line = buf, lineno = 1; line < nul; line++)
			lineno += *line == '\n';
		return (merr_set(e, "profile %s:%d: a NUL byte: a profile is text; "
		    "remove it", path, lineno));
	}
	strv_add(&ps->real, rp);
	strv_add(&ps->shown, path);
	if (!strv_contains(&ps->p->files, path))
		strv_add(&ps->p->files, path);
	for (line = buf; line != NULL && rc == 0; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		line = str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		rc = parse_line(ps, path, lineno, line, e);
	}
	free(ps->real.v[--ps->real.n]);
	ps->real.v[ps->real.n] = NULL;
	free(ps->shown.v[--ps->shown.n]);
	ps->shown.v[ps->shown.n] = NULL;
	return (rc);
}

/* Where a list value came from, for a message: "profile FILE:LINE", or
 * the origin profile_add was given ("moat run --secret"). */
static char *
prov_where(const struct profile *p, const char *key, const char *value)
{
	for (size_t i = 0; i < p->nprov; i++)
		if (strcmp(p->prov[i].key, key) == 0 &&
		    strcmp(p->prov[i].value, value) == 0)
			return (p->prov[i].at.line > 0 ? xprintf("profile %s:%d",
			    p->prov[i].at.file, p->prov[i].at.line) :
			    xstrdup(p->prov[i].at.file));
	return (xprintf("profile %s", p->path != NULL ? p->path : p->name));
}

/* The i-th secret line of either key (secret, then secret-try). */
static const char *
secret_line(const struct profile *p, size_t i, const char **key)
{
	if (i < p->secrets.n) {
		*key = "secret";
		return (p->secrets.v[i]);
	}
	*key = "secret-try";
	return (p->secrets_try.v[i - p->secrets.n]);
}

int
profile_check_secrets(const struct profile *p, struct merr *e)
{
	size_t		 nsec = p->secrets.n + p->secrets_try.n;
	const char	*key;

	struct net_rule	*allow;
	size_t		 nallow = 0;
	int		 rc = -1;

	allow = xcalloc(p->net_allow.n + 1, sizeof *allow);
	for (size_t i = 0; i < p->net_allow.n; i++) {
		struct merr	d;

		if (net_rule_parse(p->net_allow.v[i], &allow[nallow], &d) == 0)
			nallow++;
	}
	/* An HTTP rule needs requests moat sees: a secret's host's. */
	for (size_t a = 0; a < nallow; a++) {
		bool	seen = false;

		if (allow[a].methods == NULL && allow[a].path == NULL)
			continue;
		for (size_t i = 0; i < nsec && !seen; i++) {
			struct strv	 hosts = { 0 };
			const char	*name;
			size_t		 len;
			struct merr	 d;

			if (profile_secret_split(secret_line(p, i, &key), &name, &len,
			    &hosts, &d) == 0)
				for (size_t h = 0; h < hosts.n && !seen; h++) {
					struct net_rule	r;

					if (net_rule_parse(hosts.v[h], &r, &d) == -1)
						continue;
					seen = net_rule_covers(&r, &allow[a]);
					net_rule_release(&r);
				}
			strv_clear(&hosts);
		}
		if (!seen) {
			autofree char	*where = prov_where(p, "net-allow", allow[a].text);

			merr_set(e, "%s: net-allow = %s: a method or path applies only to "
			    "a secret's host, whose requests moat sees (a secret line "
			    "names it); other hosts are tunnels: drop the method and path",
			    where, allow[a].text);
			goto out;
		}
	}
	for (size_t i = 0; i < nsec; i++) {
		struct strv	 hosts = { 0 };
		const char	*name, *line = secret_line(p, i, &key);
		size_t		 len;
		autofree char	*where = prov_where(p, key, line);

		if (profile_secret_split(line, &name, &len, &hosts, e) == -1) {
			merr_prefix(e, "%s: %s = %s", where, key, line);
			strv_clear(&hosts);
			goto out;
		}
		if (p->net == NET_ISOLATED) {
			merr_set(e, "%s: secret %.*s: net = isolated reaches no host; "
			    "use net = restricted with a net-allow line for %s",
			    where, (int)len, name, hosts.v[0]);
			strv_clear(&hosts);
			goto out;
		}
		for (size_t h = 0; h < hosts.n; h++) {
			struct net_rule	r;
			struct merr	d;
			bool		ok = false;

			if (net_rule_parse(hosts.v[h], &r, &d) == -1)
				continue;	/* the setter refused it already */
			for (size_t a = 0; a < nallow && !ok; a++)
				ok = net_rule_covers(&allow[a], &r);
			net_rule_release(&r);
			if (!ok) {
				merr_set(e, "%s: secret %.*s: no net-allow line admits "
				    "%s%s; add \"net-allow = %s\" (a secret is only "
				    "sent where the network may go)", where, (int)len,
				    name, hosts.v[h], strchr(hosts.v[h], ':') == NULL ?
				    " (port 443)" : "", hosts.v[h]);
				strv_clear(&hosts);
				goto out;
			}
		}
		strv_clear(&hosts);
	}
	for (size_t i = 0; i < p->secret_files.n; i++) {
		const char	*v = p->secret_files.v[i], *sp = strchr(v, ' ');
		size_t		 len = (size_t)(sp - v);
		bool		 named = false;
		autofree char	*where = prov_where(p, "secret-file", v);

		for (size_t j = 0; j < nsec && !named; j++)
			named = strncmp(secret_line(p, j, &key), v, len + 1) == 0;
		if (!named) {
			merr_set(e, "%s: secret-file %.*s: no \"secret = %.*s HOST...\" "
			    "line names where it is sent; add one", where, (int)len, v,
			    (int)len, v);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (strncmp(p->secret_files.v[j], v, len + 1) == 0) {
				merr_set(e, "%s: secret-file %.*s: a second file for "
				    "the same secret; keep one", where, (int)len, v);
				goto out;
			}
	}
	rc = 0;
out:
	for (size_t a = 0; a < nallow; a++)
		net_rule_release(&allow[a]);
	free(allow);
	return (rc);
}

/* All files read: build the lists from the provenance (which "-=" and
 * "!clear" edited), then check what involves more than one key. */
static int
profile_finish(struct profile *p, struct merr *e)
{
	const struct prov	*pv;

	profile_clear_lists(p);
	for (size_t i = 0; i < p->nprov; i++) {
		const struct profile_key	*k = profile_key_find(p->prov[i].key);
		struct merr			 d;

		if (k != NULL && k->type == KEY_LIST &&
		    k->set(p, k, p->prov[i].value, &d) == -1)
			return (merr_set(e, "profile %s:%d: %s", p->prov[i].at.file,
			    p->prov[i].at.line, d.msg));
	}
	if (p->net == NET_PROXIED && p->net_upstream == NULL) {
		pv = prov_find_key(p, "net");
		return (merr_set(e, "profile %s:%d: net = proxied needs net-upstream "
		    "(http://HOST:PORT, socks5://HOST:PORT, or env)",
		    pv != NULL ? pv->at.file : p->path, pv != NULL ? pv->at.line : 0));
	}
	return (profile_check_secrets(p, e));
}

static struct profile *
profile_read(const char *name, const char *path, struct merr *e)
{
	struct parse	 ps = { 0 };
	struct profile	*p = xcalloc(1, sizeof *p);
	int		 rc;

	p->name = xstrdup(name);
	p->path = xstrdup(path);
	profile_defaults(p);
	ps.p = p;
	rc = parse_file(&ps, path, NULL, 0, NULL, e);
	strv_clear(&ps.real);
	strv_clear(&ps.shown);
	if (rc == 0)
		rc = profile_finish(p, e);
	if (rc == -1) {
		profile_free(p);
		return (NULL);
	}
	return (p);
}

struct profile *
profile_load_file(const char *path, struct merr *e)
{
	return (profile_read(path, path, e));
}

struct profile *
profile_load(const char *name, struct merr *e)
{
	char	path[PATH_MAX];

	if (name == NULL)
		name = "default";
	if (strchr(name, '/') != NULL)
		return (profile_load_file(name, e));
	if (profile_find(name, path, sizeof path, NULL, e) == -1) {
		merr_prefix(e, "profile \"%s\"", name);
		return (NULL);
	}
	return (profile_read(name, path, e));
}

static void
format_line(FILE *f, const char *key, const char *value, const char *note)
{
	int	n;

	n = fprintf(f, "%s = %s", key, value);
	if (note != NULL)
		fprintf(f, "%*s # %s", n < 40 ? 40 - n : 0, "", note);
	fputc('\n', f);
}

char *
profile_format(const struct profile *p, bool provenance,
    char *(*annotate)(const struct profile *, const char *))
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return (xstrdup(""));
	for (size_t i = 0; i < profile_nkeys; i++) {
		const struct profile_key	*k = &profile_keys[i];
		const struct prov		*pv;
		autofree char			*v = NULL, *note = NULL;
		bool				 any = false;

		if (k->type == KEY_INCLUDE)
			continue;
		if (k->type != KEY_LIST) {
			pv = prov_find_key(p, k->name);
			if (provenance && pv != NULL) {
				note = xprintf("from %s:%d", pv->at.file, pv->at.line);
				format_line(f, k->name, pv->value, note);
			} else if ((v = k->get(p, k)) != NULL)
				format_line(f, k->name, v, provenance ? "default" : NULL);
			else if (provenance)
				fprintf(f, "# %-38s # default: not set\n", k->name);
			continue;
		}
		for (size_t j = 0; j < p->nprov; j++) {
			pv = &p->prov[j];
			if (strcmp(pv->key, k->name) != 0)
				continue;
			free(note);
			/* line 0: added by moat itself (profile_add), no file */
			note = !provenance ? NULL : pv->at.line > 0 ?
			    xprintf("from %s:%d", pv->at.file, pv->at.line) :
			    xprintf("from %s", pv->at.file);
			format_line(f, k->name, pv->value, note);
			any = true;
		}
		if (!any && provenance)
			fprintf(f, "# %-38s # default: empty\n", k->name);
		if (any && provenance && annotate != NULL) {
			autofree char	*d = annotate(p, k->name);

			if (d != NULL)
				fputs(d, f);
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return (xstrdup(""));
	}
	return (buf);
}

void
profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	profile_clear_lists(p);
	for (size_t i = 0; i < p->nprov; i++) {
		free(p->prov[i].key);
		free(p->prov[i].value);
		free(p->prov[i].at.file);
	}
	free(p->prov);
	free(p->provix);
	free(p->name);
	free(p->path);
	strv_clear(&p->files);
	free(p->net_upstream);
	free(p->hostname);
	free(p->description);
	free(p->agent_command);
	free(p);
}
