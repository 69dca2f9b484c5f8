/*
 * review.c: the change model of an overlay run and its apply. An overlay
 * workspace's upper dir holds every entry the command created or modified
 * (copied up whole), a whiteout (a 0:0 character device) for each one it
 * deleted, and directories marked opaque (user.overlay.opaque, or
 * trusted.overlay.opaque for a root mount without userxattr) where it
 * removed a directory and made a new one. moat itself puts empty
 * placeholders there for protect entries the workspace lacks; they are not
 * changes. Runs in a front end, as the invoking user.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/event.h"
#include "profile/profile.h"
#include "review.h"

char *
review_state_dir(const char *run_id)
{
	char	buf[4096];

	xdg_dir("XDG_STATE_HOME", ".local/state", buf, sizeof buf);
	return (xprintf("%s/moat/runs/%s", buf, run_id));
}

const char *
review_kind_name(enum review_kind k)
{
	switch (k) {
	case REVIEW_ADDED:	return ("added");
	case REVIEW_MODIFIED:	return ("modified");
	case REVIEW_DELETED:	return ("deleted");
	case REVIEW_MODE:	return ("mode");
	case REVIEW_SYMLINK:	return ("symlink");
	}
	return ("?");
}

/* A protect entry without its trailing slash, or NULL past the end. */
static size_t
protect_len(const char *p)
{
	size_t	n;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	return (n);
}

static const char *
protect_at(const struct strv *pr, size_t i, size_t *len)
{
	const char	*p = pr->v[i];

	while (*p == '/')
		p++;
	*len = protect_len(p);
	return (p);
}

/* path is a protect entry or lies under one. */
static bool
is_protected(const struct strv *pr, const char *path)
{
	size_t	 len, plen = strlen(path);

	for (size_t i = 0; i < pr->n; i++) {
		const char	*p = protect_at(pr, i, &len);

		if (len == 0)
			continue;
		if (plen >= len && strncmp(path, p, len) == 0 &&
		    (path[len] == '\0' || path[len] == '/'))
			return (true);
	}
	return (false);
}

/* path is a directory above a protect entry (removing it removes that). */
static bool
holds_protected(const struct strv *pr, const char *path)
{
	size_t	 len, plen = strlen(path);

	for (size_t i = 0; i < pr->n; i++) {
		const char	*p = protect_at(pr, i, &len);

		if (len > plen && strncmp(path, p, plen) == 0 && p[plen] == '/')
			return (true);
	}
	return (false);
}

static bool
dir_is_empty(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	bool		 empty = true;

	if ((d = opendir(path)) == NULL)
		return (false);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	closedir(d);
	return (empty);
}

static bool
is_whiteout(const struct stat *st)
{
	return (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0));
}

static bool
is_opaque(const char *path)
{
	char	v[4];

	if (lgetxattr(path, "user.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y')
		return (true);
	return (lgetxattr(path, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y');
}

static struct review_change *
review_add(struct review *rv, const char *rel, enum review_kind k,
    const struct stat *ost, const struct stat *nst)
{
	struct review_change	*c;

	if (rv->n == rv->cap) {
		rv->cap = rv->cap ? rv->cap * 2 : 64;
		rv->v = xreallocarray(rv->v, rv->cap, sizeof *rv->v);
	}
	c = &rv->v[rv->n++];
	memset(c, 0, sizeof *c);
	c->path = xstrdup(rel);
	c->kind = k;
	if (ost != NULL) {
		c->old_mode = ost->st_mode;
		c->old_size = ost->st_size;
	}
	if (nst != NULL) {
		c->new_mode = nst->st_mode;
		c->new_size = nst->st_size;
	}
	c->protected = is_protected(&rv->protect, rel) ||
	    ((k == REVIEW_DELETED || (ost != NULL && S_ISDIR(ost->st_mode) &&
	    (nst == NULL || !S_ISDIR(nst->st_mode)))) &&
	    holds_protected(&rv->protect, rel));
	return (c);
}

/* Two regular files hold the same bytes. */
static bool
same_content(const char *a, const char *b, off_t size)
{
	autofd int	fa = -1, fb = -1;
	char		ba[65536], bb[65536];
	ssize_t		na, nb;

	if ((fa = open(a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (fb = open(b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (false);
	for (off_t done = 0; done < size; done += na) {
		if ((na = read(fa, ba, sizeof ba)) <= 0)
			return (false);
		for (ssize_t got = 0; got < na; got += nb)
			if ((nb = read(fb, bb + got, (size_t)(na - got))) <= 0)
				return (false);
		if (memcmp(ba, bb, (size_t)na) != 0)
			return (false);
	}
	return (true);
}

/* A placeholder moat made for a protect entry: the entry itself or the
 * first component of it missing from the workspace, empty, and still
 * absent from the host. */
static bool
is_placeholder(const struct review *rv, const char *rel, const char *up,
    const struct stat *st)
{
	size_t	len, rlen = strlen(rel);
	bool	named = false;

	for (size_t i = 0; i < rv->protect.n && !named; i++) {
		const char	*p = protect_at(&rv->protect, i, &len);

		named = len >= rlen && strncmp(p, rel, rlen) == 0 &&
		    (len == rlen || p[rlen] == '/');
	}
	if (!named)
		return (false);
	if (S_ISREG(st->st_mode))
		return (st->st_size == 0);
	return (S_ISDIR(st->st_mode) && dir_is_empty(up));
}

/* The layers of a directory being walked: indices into rv->layers, top
 * first, that hold it as a directory, down to the first opaque one. */
struct walk_dir {
	size_t	*ix;		/* owned */
	size_t	 n;
	bool	 opaque;	/* the host's entries below are hidden */
};

static char *
layer_path(const struct review *rv, size_t layer, const char *rel)
{
	return (*rel ? path_join(rv->layers.v[layer], rel) : xstrdup(rv->layers.v[layer]));
}

static int	review_walk(struct review *, const char *, const struct walk_dir *,
		    struct merr *);

/* One name of a directory: the topmost layer holding it decides. */
static void
review_entry(struct review *rv, const char *rel, const struct walk_dir *wd,
    struct merr *e, int *rc)
{
	autofree char	*host = path_join(rv->ws, rel), *up = NULL;
	struct stat	 st, hst;
	bool		 hexists;
	size_t		 top = 0, k;
	struct review_change *c;
	struct walk_dir	 sub = { 0 };

	for (k = 0; k < wd->n; k++) {
		free(up);
		up = layer_path(rv, wd->ix[k], rel);
		if (lstat(up, &st) == 0)
			break;
	}
	if (k == wd->n)
		return;
	top = wd->ix[k];
	hexists = lstat(host, &hst) == 0;
	if (is_whiteout(&st)) {
		if (hexists)
			review_add(rv, rel, REVIEW_DELETED, &hst, NULL)->layer = top;
		return;
	}
	if (!hexists && is_placeholder(rv, rel, up, &st))
		return;
	if (S_ISDIR(st.st_mode)) {
		sub.ix = xcalloc(wd->n, sizeof *sub.ix);
		sub.opaque = wd->opaque;
		for (; k < wd->n; k++) {
			autofree char	*lp = layer_path(rv, wd->ix[k], rel);
			struct stat	 lst;

			if (lstat(lp, &lst) == -1)
				continue;
			if (!S_ISDIR(lst.st_mode)) {
				sub.opaque = true;	/* a whiteout or a file hides below */
				break;
			}
			sub.ix[sub.n++] = wd->ix[k];
			if (is_opaque(lp)) {
				sub.opaque = true;
				break;
			}
		}
		if (!hexists || !S_ISDIR(hst.st_mode))
			review_add(rv, rel, hexists ? REVIEW_MODIFIED : REVIEW_ADDED,
			    hexists ? &hst : NULL, &st)->layer = top;
		else if ((hst.st_mode & 07777) != (st.st_mode & 07777))
			review_add(rv, rel, REVIEW_MODE, &hst, &st)->layer = top;
		if (*rc == 0)
			*rc = review_walk(rv, rel, &sub, e);
		free(sub.ix);
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		char		 t[4096], ht[4096];
		ssize_t		 n, hn;

		if ((n = readlink(up, t, sizeof t - 1)) < 0)
			return;
		t[n] = '\0';
		if (hexists && S_ISLNK(hst.st_mode) &&
		    (hn = readlink(host, ht, sizeof ht - 1)) == n &&
		    memcmp(t, ht, (size_t)n) == 0)
			return;
		c = review_add(rv, rel, REVIEW_SYMLINK, hexists ? &hst : NULL, &st);
		c->target = xstrdup(t);
		c->layer = top;
		return;
	}
	if (!hexists) {
		review_add(rv, rel, REVIEW_ADDED, NULL, &st)->layer = top;
		return;
	}
	if (S_ISREG(st.st_mode) && S_ISREG(hst.st_mode) &&
	    st.st_size == hst.st_size && same_content(up, host, st.st_size)) {
		/* A copy-up alone (opened for writing, touched, chowned). */
		if ((hst.st_mode & 07777) != (st.st_mode & 07777))
			review_add(rv, rel, REVIEW_MODE, &hst, &st)->layer = top;
		return;
	}
	review_add(rv, rel, REVIEW_MODIFIED, &hst, &st)->layer = top;
}

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
review_walk(struct review *rv, const char *rel, const struct walk_dir *wd,
    struct merr *e)
{
	struct strv	 names = { 0 };
	int		 rc = 0;

	for (size_t k = 0; k < wd->n; k++) {
		autofree char	*dir = layer_path(rv, wd->ix[k], rel);
		DIR		*d;
		struct dirent	*de;

		if ((d = opendir(dir)) == NULL)
			return (merr_errno(e, "read the run's layer %s", dir));
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				strv_add(&names, de->d_name);
		closedir(d);
	}
	if (names.n > 1)
		qsort(names.v, names.n, sizeof *names.v, name_cmp);
	/* Below an opaque directory the host's entries are gone unless a
	 * layer has its own. */
	if (wd->opaque) {
		autofree char	*host = *rel ? path_join(rv->ws, rel) : xstrdup(rv->ws);
		DIR		*d;
		struct dirent	*de;

		if ((d = opendir(host)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				autofree char	*h = NULL, *r = NULL;
				struct stat	 hst;

				if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
				    bsearch(&(const char *){ de->d_name }, names.v, names.n,
				    sizeof *names.v, name_cmp) != NULL)
					continue;
				h = path_join(host, de->d_name);
				if (lstat(h, &hst) == -1)
					continue;
				r = *rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
				review_add(rv, r, REVIEW_DELETED, &hst, NULL);
			}
			closedir(d);
		}
	}
	for (size_t i = 0; i < names.n && rc == 0; i++) {
		autofree char	*r = NULL;

		if (i > 0 && strcmp(names.v[i], names.v[i - 1]) == 0)
			continue;
		r = *rel ? path_join(rel, names.v[i]) : xstrdup(names.v[i]);
		review_entry(rv, r, wd, e, &rc);
	}
	strv_clear(&names);
	return (rc);
}

static int
change_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct review_change *)a)->path,
	    ((const struct review_change *)b)->path));
}

/* The run a layer was started on ("moat run --on"), from its state dir. */
static char *
review_parent(const char *state)
{
	autofree char	*f = path_join(state, "on"), *text = NULL;
	struct merr	 e;

	if (read_file(f, &text, NULL, &e) == -1)
		return (NULL);
	text[strcspn(text, "\n")] = '\0';
	return (*text ? xstrdup(text) : NULL);
}

int
review_chain(const char *run_id, struct strv *layers, struct merr *e)
{
	autofree char	*id = xstrdup(run_id);

	while (id != NULL) {
		autofree char	*state = review_state_dir(id);
		autofree char	*up = path_join(state, "upper");
		struct stat	 st;
		char		*next;

		if (lstat(up, &st) == -1 || !S_ISDIR(st.st_mode))
			return (merr_set(e, "run %s kept no layer at %s: it did not run "
			    "with workspace = overlay, or its layer was discarded or pruned",
			    id, up));
		if (strv_contains(layers, up) || layers->n >= REVIEW_MAX_LAYERS)
			return (merr_set(e, "run %s: a chain of more than %d layers, or a "
			    "loop, in %s", run_id, REVIEW_MAX_LAYERS, state));
		strv_add(layers, up);
		next = review_parent(state);
		free(id);
		id = next;
	}
	return (0);
}

int
review_load(struct review *rv, const char *run_id, const char *ws,
    const struct strv *protect, struct merr *e)
{
	struct walk_dir	 wd = { 0 };
	int		 rc;

	memset(rv, 0, sizeof *rv);
	rv->ws = xstrdup(ws);
	rv->run_id = xstrdup(run_id);
	strv_copy(&rv->protect, protect);
	if (review_chain(run_id, &rv->layers, e) == -1)
		return (-1);
	rv->upper = xstrdup(rv->layers.v[0]);
	wd.ix = xcalloc(rv->layers.n, sizeof *wd.ix);
	for (size_t k = 0; k < rv->layers.n; k++) {
		wd.ix[wd.n++] = k;
		if (is_opaque(rv->layers.v[k]))
			break;
	}
	rc = review_walk(rv, "", &wd, e);
	free(wd.ix);
	if (rc == -1)
		return (-1);
	qsort(rv->v, rv->n, sizeof *rv->v, change_cmp);
	return (0);
}

void
review_release(struct review *rv)
{
	for (size_t i = 0; i < rv->n; i++) {
		free(rv->v[i].path);
		free(rv->v[i].target);
	}
	free(rv->v);
	free(rv->ws);
	free(rv->upper);
	free(rv->run_id);
	free(rv->session);
	free(rv->profile);
	strv_clear(&rv->layers);
	strv_clear(&rv->protect);
	memset(rv, 0, sizeof *rv);
}

int
review_open_session(struct review *rv, const char *id, const char *run_id,
    const char *ws, const char *profile, const struct strv *protect,
    double created, struct merr *e)
{
	int	rc = review_load(rv, run_id, ws, protect, e);

	rv->session = xstrdup(id);
	rv->profile = xstrdup(profile);
	rv->since = created;
	return (rc);
}

char *
review_label(const struct review *rv)
{
	if (rv->session != NULL)
		return (xprintf("session %s", rv->session));
	return (xprintf("run %lld", (long long)rv->row));
}

bool
review_match(const char *path, char *const *f, size_t nf)
{
	if (nf == 0)
		return (true);
	for (size_t i = 0; i < nf; i++) {
		const char	*p = f[i];
		size_t		 len;

		while (p[0] == '.' && p[1] == '/')
			p += 2;
		len = protect_len(p);
		if (strcmp(p, ".") == 0 || strcmp(p, "") == 0)
			return (true);
		if (strncmp(path, p, len) == 0 && (path[len] == '\0' || path[len] == '/'))
			return (true);
		if (fnmatch(p, path, 0) == 0)
			return (true);
	}
	return (false);
}

char *
review_layer_path(const struct review *rv, const struct review_change *c)
{
	if (c->kind == REVIEW_DELETED)
		return (xstrdup(""));
	return (path_join(rv->layers.v[c->layer], c->path));
}

/* What earlier applies of a layer wrote: the state dir's "applied" file,
 * one record per path applied (and its parent), NUL-terminated:
 * "CTIME_SEC.CTIME_NSEC INO PATH" as the host entry was right after. A
 * host entry that still has that ctime and inode was last written by moat
 * itself, not by someone since. The later record of a path counts. */
struct applied_rec {
	char		*path;		/* into the file's text */
	long long	 sec;
	long		 nsec;
	unsigned long long ino;
	size_t		 seq;
};

struct applied {
	char			*text;	/* owned */
	struct applied_rec	*v;	/* owned; by path, then seq */
	size_t			 n;
};

static int
applied_cmp(const void *a, const void *b)
{
	const struct applied_rec	*x = a, *y = b;
	int				 c = strcmp(x->path, y->path);

	if (c != 0)
		return (c);
	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static void
applied_load(const struct review *rv, struct applied *ap)
{
	autofree char	*state = review_state_dir(rv->run_id), *f = NULL;
	size_t		 len = 0, cap = 0;
	struct merr	 e;

	memset(ap, 0, sizeof *ap);
	f = path_join(state, "applied");
	if (read_file(f, &ap->text, &len, &e) == -1)
		return;
	for (char *p = ap->text, *end = ap->text + len; p < end; p += strlen(p) + 1) {
		struct applied_rec	 r = { 0 };
		int			 off = -1;

		if (memchr(p, '\0', (size_t)(end - p)) == NULL)
			break;	/* a record cut short */
		if (sscanf(p, "%lld.%ld %llu %n", &r.sec, &r.nsec, &r.ino, &off) != 3 ||
		    off <= 0)
			continue;
		r.path = p + off;
		r.seq = ap->n;
		if (ap->n == cap) {
			cap = cap ? cap * 2 : 64;
			ap->v = xreallocarray(ap->v, cap, sizeof *ap->v);
		}
		ap->v[ap->n++] = r;
	}
	if (ap->n > 1)
		qsort(ap->v, ap->n, sizeof *ap->v, applied_cmp);
}

static void
applied_release(struct applied *ap)
{
	free(ap->text);
	free(ap->v);
	memset(ap, 0, sizeof *ap);
}

/* The host entry rel (stat st) is as an earlier apply left it. */
static bool
applied_by_us(const struct applied *ap, const char *rel, const struct stat *st)
{
	size_t	lo = 0, hi = ap->n;

	while (lo < hi) {	/* the first record of rel */
		size_t	mid = (lo + hi) / 2;

		if (strcmp(ap->v[mid].path, rel) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ap->n || strcmp(ap->v[lo].path, rel) != 0)
		return (false);
	while (lo + 1 < ap->n && strcmp(ap->v[lo + 1].path, rel) == 0)
		lo++;	/* the last one */
	return (ap->v[lo].sec == (long long)st->st_ctim.tv_sec &&
	    ap->v[lo].nsec == st->st_ctim.tv_nsec &&
	    ap->v[lo].ino == (unsigned long long)st->st_ino);
}

/* Conflicts: anything under a host path whose ctime is at or after since,
 * unless an earlier apply of the layer left it so. The kernel stamps files
 * from a coarse clock, which lags by at most a tick: a host write in the
 * first tick of the run may go unseen. */
static bool
changed_since(const struct applied *ap, const char *rel, const struct stat *st,
    double since)
{
	double	t = (double)st->st_ctim.tv_sec + st->st_ctim.tv_nsec / 1e9;

	return (t >= since && !applied_by_us(ap, rel, st));
}

static bool
tree_changed(const struct applied *ap, const char *path, const char *rel,
    double since, size_t *budget)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	bool		 hit = false;

	if (lstat(path, &st) == -1)
		return (false);
	if (changed_since(ap, rel, &st, since))
		return (true);
	if (!S_ISDIR(st.st_mode) || (*budget)-- == 0)
		return (false);
	if ((d = opendir(path)) == NULL)
		return (true);	/* cannot tell: do not destroy it */
	while (!hit && (de = readdir(d)) != NULL) {
		autofree char	*p = NULL, *r = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = path_join(path, de->d_name);
		r = path_join(rel, de->d_name);
		hit = tree_changed(ap, p, r, since, budget);
	}
	closedir(d);
	return (hit);
}

int
review_conflicts(const struct review *rv, const bool *sel, char **out,
    struct merr *e)
{
	struct applied	 ap;
	char		*buf = NULL;
	size_t		 len = 0, budget = 1000000;
	FILE		*f;

	*out = NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return (merr_errno(e, "open_memstream"));
	applied_load(rv, &ap);
	for (size_t i = 0; i < rv->n; i++) {
		const struct review_change *c = &rv->v[i];
		autofree char	*host = NULL;
		struct stat	 st;

		if (!sel[i] || c->protected)
			continue;
		host = path_join(rv->ws, c->path);
		if (lstat(host, &st) == -1) {
			if (c->old_mode != 0)	/* gone since the diff was read */
				fprintf(f, "%s\n", c->path);
			continue;
		}
		if (c->old_mode == 0 || (S_ISDIR(st.st_mode) && c->kind == REVIEW_DELETED ?
		    tree_changed(&ap, host, c->path, rv->since, &budget) :
		    changed_since(&ap, c->path, &st, rv->since)))
			fprintf(f, "%s\n", c->path);
	}
	applied_release(&ap);
	fclose(f);
	if (len > 0)
		*out = buf;
	else
		free(buf);
	return (0);
}

/* The parent directory of rel in the workspace, reached without following
 * any symbolic link and without leaving it. */
static int
open_parent(int wsfd, const char *rel, const char **base, struct merr *e)
{
	autofree char	*dir = xstrdup(rel);
	char		*slash = strrchr(dir, '/');
	struct open_how	 how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int		 fd;

	*base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	if (slash == NULL)
		return (fcntl(wsfd, F_DUPFD_CLOEXEC, 0));
	*slash = '\0';
	if ((fd = (int)syscall(SYS_openat2, wsfd, dir, &how, sizeof how)) == -1) {
		if (errno == ELOOP || errno == EXDEV)
			return (merr_errno(e, "%s: a symbolic link or a mount on the way; "
			    "moat does not follow one when it applies", dir));
		return (merr_errno(e, "open %s in the workspace", dir));
	}
	return (fd);
}

/* Removes name in pfd, a directory with everything in it. */
static int
remove_at(int pfd, const char *name)
{
	struct stat	 st;
	int		 fd;
	DIR		*d;
	struct dirent	*de;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISDIR(st.st_mode))
		return (unlinkat(pfd, name, 0));
	if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		/* A directory this user may not read (overlay's work dir). */
		if (errno != EACCES || fchmodat(pfd, name, 0700, 0) == -1 ||
		    (fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1)
			return (-1);
	}
	fchmod(fd, st.st_mode | 0700);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_at(dirfd(d), de->d_name) == -1) {
			closedir(d);
			return (-1);
		}
	}
	closedir(d);
	return (unlinkat(pfd, name, AT_REMOVEDIR));
}

/* Copies the layer's regular file src to a new file in pfd, then renames it
 * over base: a reader never sees half a file, and a link at base is
 * replaced, not followed. */
static int
write_file_over(int pfd, const char *base, const char *src, mode_t mode,
    struct merr *e)
{
	autofd int	 in = -1, out = -1;
	autofree char	*tmp = xprintf(".moat-apply.%d.%s", (int)getpid(), base);
	char		 buf[65536];
	ssize_t		 n;

	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (merr_errno(e, "read %s", src));
	unlinkat(pfd, tmp, 0);
	if ((out = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return (merr_errno(e, "create %s", tmp));
	while ((n = read(in, buf, sizeof buf)) > 0)
		for (ssize_t w, done = 0; done < n; done += w)
			if ((w = write(out, buf + done, (size_t)(n - done))) < 0) {
				unlinkat(pfd, tmp, 0);
				return (merr_errno(e, "write %s", tmp));
			}
	if (n < 0 || fchmod(out, mode & 07777) == -1) {
		unlinkat(pfd, tmp, 0);
		return (merr_errno(e, "copy %s", src));
	}
	if (renameat(pfd, tmp, pfd, base) == -1) {
		int	err = errno;

		unlinkat(pfd, tmp, 0);
		if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
			if (remove_at(pfd, base) == -1 || renameat(pfd, tmp, pfd, base) == -1)
				return (merr_errno(e, "replace %s", base));
			return (0);
		}
		return (merr_errno_n(e, err, "replace %s", base));
	}
	return (0);
}

static int
apply_one(const struct review *rv, int wsfd, const struct review_change *c,
    struct merr *e)
{
	autofree char	*src = review_layer_path(rv, c);
	autofd int	 pfd = -1;
	const char	*base;
	struct stat	 hst;
	bool		 hexists;

	if ((pfd = open_parent(wsfd, c->path, &base, e)) == -1)
		return (-1);
	hexists = fstatat(pfd, base, &hst, AT_SYMLINK_NOFOLLOW) == 0;
	if (c->kind == REVIEW_DELETED) {
		if (remove_at(pfd, base) == -1)
			return (merr_errno(e, "remove %s", c->path));
		return (0);
	}
	if (S_ISDIR(c->new_mode)) {
		autofd int	dfd = -1;

		if (hexists && !S_ISDIR(hst.st_mode) && unlinkat(pfd, base, 0) == -1)
			return (merr_errno(e, "replace %s", c->path));
		if ((!hexists || !S_ISDIR(hst.st_mode)) &&
		    mkdirat(pfd, base, c->new_mode & 07777) == -1 && errno != EEXIST)
			return (merr_errno(e, "create the directory %s", c->path));
		if ((dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1 || fchmod(dfd, c->new_mode & 07777) == -1)
			return (merr_errno(e, "set the mode of %s", c->path));
		return (0);
	}
	if (hexists && S_ISDIR(hst.st_mode) && remove_at(pfd, base) == -1)
		return (merr_errno(e, "replace the directory %s", c->path));
	if (S_ISLNK(c->new_mode)) {
		autofree char	*tmp = xprintf(".moat-apply.%d.%s", (int)getpid(), base);

		unlinkat(pfd, tmp, 0);
		if (symlinkat(c->target, pfd, tmp) == -1)
			return (merr_errno(e, "create the symbolic link %s", c->path));
		if (renameat(pfd, tmp, pfd, base) == -1) {
			unlinkat(pfd, tmp, 0);
			return (merr_errno(e, "replace %s", c->path));
		}
		return (0);
	}
	if (!S_ISREG(c->new_mode))
		return (merr_set(e, "%s: a special file (mode %o), which moat does not "
		    "apply", c->path, (unsigned)c->new_mode));
	return (write_file_over(pfd, base, src, c->new_mode, e));
}

/* The apply's own audit row: who applied which layer's changes where. */
static struct audit_run *
apply_record_begin(struct audit *a, const struct review *rv,
    const struct review_apply_opts *o, struct merr *e)
{
	struct audit_start	 as;
	struct audit_run	*ar;
	struct run_event	 ev;
	struct strv		 argv = { 0 };
	autofree char		*note = NULL, *label = review_label(rv);

	strv_add(&argv, "moat");
	strv_add(&argv, "apply");
	strv_add(&argv, rv->session != NULL ? rv->session : rv->run_id);
	for (size_t k = 0; k < o->nfilters; k++)
		strv_add(&argv, o->filters[k]);
	memset(&as, 0, sizeof as);
	as.source = o->source != NULL ? o->source : "cli";
	as.client = o->client;
	as.session = rv->session;
	as.profile = rv->profile;
	as.net_mode = "none";
	as.workspace = rv->ws;
	as.cwd = rv->ws;
	as.argv = argv.v;
	as.risk = -1;
	as.output_head = as.output_tail = AUDIT_OUTPUT_NONE;
	ar = audit_run_begin(a, &as, e);
	strv_clear(&argv);
	if (ar == NULL)
		return (NULL);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NOTE;
	ev.text = note = xprintf("apply of %s (layer %s) onto %s", label,
	    rv->run_id, rv->ws);
	audit_run_event(ar, &ev, e);
	return (ar);
}

static void
apply_record_event(struct audit_run *ar, const struct review_change *c,
    const struct timespec *t0)
{
	struct run_event	 ev;
	struct timespec		 now;
	autofree char		*text = NULL;
	struct merr		 e = { 0 };

	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_FILE_CHANGED;
	ev.t = (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
	ev.path = c->path;
	ev.change = c->kind == REVIEW_ADDED ? "added" : c->kind == REVIEW_DELETED ?
	    "deleted" : "modified";
	ev.text = text = xprintf("applied %s %s", review_kind_name(c->kind), c->path);
	if (audit_run_event(ar, &ev, &e) == -1)
		merr_print(&e);
}

/* Appends to the layer's "applied" file how rel and its parent are on the
 * host now (see struct applied). */
static void
applied_note(FILE *f, int wsfd, const char *rel)
{
	autofree char	*dir = xstrdup(rel);
	char		*slash;
	struct stat	 st;

	if (fstatat(wsfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		fprintf(f, "%lld.%09ld %llu %s%c", (long long)st.st_ctim.tv_sec,
		    (long)st.st_ctim.tv_nsec, (unsigned long long)st.st_ino, rel, '\0');
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (fstatat(wsfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
			fprintf(f, "%lld.%09ld %llu %s%c", (long long)st.st_ctim.tv_sec,
			    (long)st.st_ctim.tv_nsec, (unsigned long long)st.st_ino, dir, '\0');
	}
}

int
review_apply(const struct review *rv, const bool *sel,
    const struct review_apply_opts *o, struct review_result *res,
    struct merr *e)
{
	autofd int		 wsfd = -1;
	autofree char		*state = NULL, *applied = NULL;
	struct audit		*a = NULL;
	struct audit_run	*ar = NULL;
	struct audit_end	 ae;
	struct timespec		 t0;
	FILE			*af = NULL;
	int			 rc = -1;

	memset(res, 0, sizeof *res);
	if (review_conflicts(rv, sel, &res->conflicts, e) == -1)
		return (-1);
	if (res->conflicts != NULL)
		return (1);
	if ((wsfd = open(rv->ws, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (merr_errno(e, "workspace %s", rv->ws));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((a = audit_open(o->db, 0, e)) == NULL ||
	    (ar = apply_record_begin(a, rv, o, e)) == NULL) {
		merr_prefix(e, "nothing applied: the apply could not be recorded in "
		    "the audit log");
		audit_close(a);
		return (-1);
	}
	res->row = audit_run_rowid(ar);
	state = review_state_dir(rv->run_id);
	applied = path_join(state, "applied");
	af = fopen(applied, "ae");
	rc = 0;
	for (size_t i = 0; i < rv->n && rc == 0; i++) {
		const struct review_change *c = &rv->v[i];

		if (c->protected || !sel[i])	/* never written, whatever was asked */
			continue;
		/* Inside a directory deleted in this apply: gone with it. */
		if (i > 0 && sel[i - 1] && rv->v[i - 1].kind == REVIEW_DELETED &&
		    path_is_under(c->path, rv->v[i - 1].path) && c->kind == REVIEW_DELETED)
			continue;
		if (apply_one(rv, wsfd, c, e) == -1) {
			merr_prefix(e, "apply %s", c->path);
			rc = -1;
			break;
		}
		res->applied++;
		apply_record_event(ar, c, &t0);
		if (af != NULL)
			applied_note(af, wsfd, c->path);
		if (o->on_done != NULL)
			o->on_done(c, o->arg);
	}
	if (af != NULL)
		fclose(af);
	memset(&ae, 0, sizeof ae);
	ae.status = AUDIT_DONE;
	ae.end_reason = "exited";
	ae.exit_code = rc == 0 ? 0 : EXIT_MOAT;
	ae.cpu_user = ae.cpu_sys = -1;
	ae.peak_memory = ae.peak_pids = -1;
	ae.risk = -1;
	{
		struct merr	 e2 = { 0 };

		if (audit_run_end(ar, &ae, &e2) == -1 && rc == 0) {
			*e = e2;
			merr_prefix(e, "applied, but the apply's row could not be completed");
			rc = -1;
		}
	}
	audit_close(a);
	return (rc);
}

void
review_result_release(struct review_result *res)
{
	free(res->conflicts);
	memset(res, 0, sizeof *res);
}

int
review_discard(const char *run_id, struct merr *e)
{
	autofree char	*state = review_state_dir(run_id);
	autofree char	*parent = xstrdup(state);
	autofd int	 pfd = -1;
	char		*slash = strrchr(parent, '/');

	*slash = '\0';
	if ((pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    faccessat(pfd, slash + 1, F_OK, AT_SYMLINK_NOFOLLOW) == -1)
		return (merr_set(e, "run %s has no kept layer at %s", run_id, state));
	if (remove_at(pfd, slash + 1) == -1)
		return (merr_errno(e, "remove %s", state));
	return (0);
}

int
review_open(const char *db, const char *arg, struct audit_run_info *ri,
    struct review *rv, struct merr *e)
{
	struct audit	*a;
	struct profile	*p;
	struct merr	 pe = { 0 };
	autofree char	*name = NULL;
	char		*cut, note[sizeof rv->note];
	int		 rc;

	memset(rv, 0, sizeof *rv);
	memset(ri, 0, sizeof *ri);
	if ((a = audit_open(db, AUDIT_READONLY, e)) == NULL)
		return (-1);
	rc = audit_run_find(a, arg, ri, e);
	audit_close(a);
	if (rc == -1)
		return (-1);
	if (ri->workspace == NULL)
		return (merr_set(e, "run %lld (%s) had no workspace: nothing to review",
		    (long long)ri->id, ri->run_id));
	/* The label is the profile's name or path, then any --net-allow. */
	name = xstrdup(ri->profile != NULL ? ri->profile : "default");
	if ((cut = strstr(name, " --net-allow ")) != NULL)
		*cut = '\0';
	if ((p = profile_load(name, &pe)) == NULL) {
		if ((p = profile_load("default", e)) == NULL)
			return (-1);
		snprintf(rv->note, sizeof rv->note, "the run's profile %.200s cannot be read "
		    "(%.200s); the default profile's protect entries are used", name, pe.msg);
	}
	memcpy(note, rv->note, sizeof note);
	rc = review_load(rv, ri->run_id, ri->workspace, &p->protect, e);
	memcpy(rv->note, note, sizeof note);
	rv->row = ri->id;
	rv->since = ri->started_at;
	rv->profile = ri->profile != NULL ? xstrdup(ri->profile) : NULL;
	profile_free(p);
	return (rc);
}

struct kept {
	char		*id;		/* owned */
	char		*on;		/* owned; the run it stands on, or NULL */
	double		 t;		/* when its state dir was made */
	double		 chain_t;	/* the newest t of it and those on it */
	uint64_t	 bytes;
	bool		 gone;
};

static uint64_t
tree_bytes(int dfd, const char *name)
{
	struct stat	 st;
	uint64_t	 n;
	int		 fd;
	DIR		*d;
	struct dirent	*de;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (0);
	n = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return (n);
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (n);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (n);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n += tree_bytes(dirfd(d), de->d_name);
	closedir(d);
	return (n);
}

static int
kept_cmp(const void *a, const void *b)
{
	const struct kept	*x = a, *y = b;

	/* Chains by their newest layer; in a chain, the newest first. */
	if (x->chain_t != y->chain_t)
		return (x->chain_t < y->chain_t ? -1 : 1);
	return (x->t > y->t ? -1 : x->t < y->t);
}

int
review_prune(double before, uint64_t max_bytes,
    bool (*busy)(const char *, void *), void *arg, struct review_pruned *out,
    struct merr *e)
{
	autofree char	*runs = NULL, *one = review_state_dir("x");
	autofd int	 rfd = -1;
	struct kept	*v = NULL;
	size_t		 n = 0, cap = 0;
	uint64_t	 total = 0;
	DIR		*d;
	struct dirent	*de;
	bool		 again = true;
	int		 rc = 0;

	memset(out, 0, sizeof *out);
	runs = xstrndup(one, strlen(one) - 2);
	if ((rfd = open(runs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (errno == ENOENT ? 0 : merr_errno(e, "open %s", runs));
	if ((d = fdopendir(dup(rfd))) == NULL)
		return (merr_errno(e, "read %s", runs));
	while ((de = readdir(d)) != NULL) {
		autofree char	*sd = NULL;
		struct stat	 st;

		if (de->d_name[0] == '.' || fstatat(rfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			v = xreallocarray(v, cap, sizeof *v);
		}
		sd = path_join(runs, de->d_name);
		v[n].id = xstrdup(de->d_name);
		v[n].on = review_parent(sd);
		v[n].t = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
		v[n].bytes = tree_bytes(rfd, de->d_name);
		v[n].gone = false;
		total += v[n].bytes;
		n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		v[i].chain_t = v[i].t;
	for (bool changed = true; changed; ) {	/* a chain is short: few rounds */
		changed = false;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				if (v[j].on != NULL && strcmp(v[j].on, v[i].id) == 0 &&
				    v[j].chain_t > v[i].chain_t) {
					v[i].chain_t = v[j].chain_t;
					changed = true;
				}
	}
	if (n > 1)
		qsort(v, n, sizeof *v, kept_cmp);
	/* Oldest chain first (moat run --on: a layer and those started on it
	 * go together, the newest first); a layer another kept one stands on
	 * stays until that one goes; a running run's layer always stays. */
	while (again) {
		again = false;
		for (size_t i = 0; i < n; i++) {
			bool	needed = false;

			if (v[i].gone || (v[i].t >= before &&
			    (max_bytes == 0 || total <= max_bytes)))
				continue;
			for (size_t j = 0; j < n && !needed; j++)
				needed = !v[j].gone && v[j].on != NULL &&
				    strcmp(v[j].on, v[i].id) == 0;
			if (needed || (busy != NULL && busy(v[i].id, arg)))
				continue;
			if (remove_at(rfd, v[i].id) == -1) {
				rc = merr_errno(e, "remove %s/%s", runs, v[i].id);
				goto out;
			}
			v[i].gone = again = true;
			total -= v[i].bytes;
			out->layers++;
			out->bytes += v[i].bytes;
		}
	}
	out->left = total;
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].on);
	}
	free(v);
	return (rc);
}
