/* secret.c: a run's secrets read from moat's environment or from files,
 * each with a placeholder made for the run. The proxy swaps the one for the
 * other; the sandbox only ever sees the placeholder. Supervisor, before the
 * sandbox is cloned; the init wipes its copy of the values. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "tls.h"

/* Each names the bundle for one family of clients: OpenSSL and what uses
 * it (curl, git, python's ssl), python requests, node, curl, pip, git. */
const char *const secret_ca_vars[] = {
	"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
	"CURL_CA_BUNDLE", "PIP_CERT", "GIT_SSL_CAINFO", NULL,
};

static struct secret *
secrets_get(struct secrets *s, const char *name, size_t len)
{
	struct secret	*x;

	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i].name) == len && strncmp(s->v[i].name, name, len) == 0)
			return (&s->v[i]);
	s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
	x = &s->v[s->n++];
	memset(x, 0, sizeof *x);
	x->name = xstrndup(name, len);
	return (x);
}

/* A value goes into an HTTP header: one line of text. */
static int
secret_value_check(const struct secret *x, struct merr *e)
{
	if (x->len == 0)
		return (merr_set(e, "secret %s: %s holds an empty value; set it, or "
		    "drop the secret", x->name, x->source));
	if (x->len < SECRET_VALUE_MIN)
		return (merr_set(e, "secret %s: the value from %s is %zu bytes; "
		    "under %d it cannot be told apart from other text",
		    x->name, x->source, x->len, SECRET_VALUE_MIN));
	for (size_t i = 0; i < x->len; i++) {
		unsigned char	c = (unsigned char)x->value[i];

		if (c < 0x20 || c == 0x7f)
			return (merr_set(e, "secret %s: the value from %s holds a "
			    "control character (byte %zu): a credential is sent "
			    "in a header, one line of text", x->name, x->source,
			    i + 1));
	}
	return (0);
}

/* Reads PATH's content into x->value directly: no other copy of it is
 * left in the heap that the sandbox's init inherits. */
static int
secret_read_file(struct secret *x, const char *path, struct merr *e)
{
	struct stat	 st;
	autofd int	 fd = -1;
	autofree char	*full = NULL;
	size_t		 got = 0;
	ssize_t		 n;

	if (strncmp(path, "~/", 2) == 0) {
		const char	*home = getenv("HOME");

		if (home == NULL || home[0] != '/')
			return (merr_set(e, "secret-file %s %s: $HOME is not set",
			    x->name, path));
		path = full = xprintf("%s%s", home, path + 1);
	}
	x->source = xprintf("file %s", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return (merr_errno(e, "secret %s: cannot read %s", x->name, path));
	if (fstat(fd, &st) == -1)
		return (merr_errno(e, "secret %s: %s", x->name, path));
	if (!S_ISREG(st.st_mode))
		return (merr_set(e, "secret %s: %s is not a regular file", x->name, path));
	if (st.st_size > SECRET_VALUE_MAX)
		return (merr_set(e, "secret %s: %s is larger than %d bytes: not a "
		    "credential", x->name, path, SECRET_VALUE_MAX));
	x->value = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, x->value + got, (size_t)st.st_size - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (merr_errno(e, "secret %s: read %s", x->name, path));
		got += (size_t)n;
	}
	/* One final newline, as an editor or echo leaves it, is not part of it. */
	if (got > 0 && x->value[got - 1] == '\n')
		got--;
	if (got > 0 && x->value[got - 1] == '\r')
		got--;
	x->value[got] = '\0';
	x->len = got;
	return (0);
}

/* Whether a secret-file's PATH does not exist (a secret-try's). */
static bool
secret_file_absent(const char *path)
{
	const char	*home = getenv("HOME");
	autofree char	*full = NULL;
	struct stat	 st;

	if (strncmp(path, "~/", 2) == 0) {
		if (home == NULL || home[0] != '/')
			return (true);
		path = full = xprintf("%s%s", home, path + 1);
	}
	return (stat(path, &st) == -1 && errno == ENOENT);
}

static void
secret_drop(struct secrets *s, size_t i)
{
	struct secret	*x = &s->v[i];

	free(x->name);
	free(x->value);
	free(x->source);
	strv_clear(&x->hosts);
	memmove(x, x + 1, (s->n - i - 1) * sizeof *x);
	s->n--;
}

/* The prefix and random hex digits: as many as make it as long as the
 * value, where that is 16 or more and the value at most
 * SECRET_PLACEHOLDER_MAX bytes, else 32. */
static int
secret_placeholder(struct secret *x, struct merr *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	r[(SECRET_PLACEHOLDER_MAX - SECRET_PREFIX_LEN + 1) / 2];
	size_t		got = 0, digits, want;
	ssize_t		n;

	x->plen = x->len >= SECRET_PLACEHOLDER_MIN && x->len <= SECRET_PLACEHOLDER_MAX ?
	    x->len : SECRET_PLACEHOLDER_STD;
	digits = x->plen - SECRET_PREFIX_LEN;
	want = (digits + 1) / 2;
	while (got < want) {
		if ((n = getrandom(r + got, want - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return (merr_errno(e, "getrandom"));
		}
		got += (size_t)n;
	}
	memcpy(x->placeholder, SECRET_PREFIX, SECRET_PREFIX_LEN);
	for (size_t i = 0; i < digits; i++)
		x->placeholder[SECRET_PREFIX_LEN + i] = hex[i % 2 == 0 ? r[i / 2] >> 4 :
		    r[i / 2] & 0xf];
	x->placeholder[x->plen] = '\0';
	explicit_bzero(r, want);
	return (0);
}

int
secrets_load(struct secrets *s, const struct profile *p, const char *run_id,
    struct merr *e)
{
	for (size_t i = 0; i < p->secrets.n + p->secrets_try.n; i++) {
		struct strv	 hosts = { 0 };
		const char	*name;
		size_t		 len;
		struct secret	*x;
		bool		 try = i >= p->secrets.n;
		size_t		 had = s->n;

		if (profile_secret_split(try ? p->secrets_try.v[i - p->secrets.n] :
		    p->secrets.v[i], &name, &len, &hosts, e) == -1) {
			strv_clear(&hosts);
			goto fail;
		}
		x = secrets_get(s, name, len);
		if (s->n > had)
			x->optional = try;
		for (size_t h = 0; h < hosts.n; h++)
			if (!strv_contains(&x->hosts, hosts.v[h]))
				strv_add(&x->hosts, hosts.v[h]);
		strv_clear(&hosts);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct secret	*x = &s->v[i];
		const char	*v, *file = NULL;
		size_t		 nl = strlen(x->name);

		for (size_t j = 0; j < p->secret_files.n; j++)
			if (strncmp(p->secret_files.v[j], x->name, nl) == 0 &&
			    p->secret_files.v[j][nl] == ' ')
				file = p->secret_files.v[j] + nl + 1;
		/* secret-try without a value: not a secret of this run. */
		if (x->optional && (file != NULL ? secret_file_absent(file) :
		    (v = getenv(x->name)) == NULL || *v == '\0')) {
			secret_drop(s, i--);
			continue;
		}
		if (file != NULL) {
			if (secret_read_file(x, file, e) == -1)
				goto fail;
		} else {
			x->source = xprintf("$%s", x->name);
			if ((v = getenv(x->name)) == NULL) {
				merr_set(e, "secret %s: the variable is not set in moat's "
				    "environment; export it, or read it from a file "
				    "with \"secret-file = %s PATH\"", x->name, x->name);
				goto fail;
			}
			x->len = strlen(v);
			x->value = xstrdup(v);
		}
		if (secret_value_check(x, e) == -1 || secret_placeholder(x, e) == -1)
			goto fail;
	}
	if (s->n > 0) {
		autofree char	*sys = tls_system_bundle();

		if ((s->ca = tls_ca_new(run_id, e)) == NULL)
			goto fail;
		s->ca_bundle = xprintf("%s%s%s", sys != NULL ? sys : "",
		    sys != NULL && sys[0] != '\0' && sys[strlen(sys) - 1] != '\n' ?
		    "\n" : "", tls_ca_pem(s->ca));
	}
	return (0);
fail:
	secrets_release(s);
	return (-1);
}

void
secrets_wipe(struct secrets *s)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (s->v[i].value != NULL)
			explicit_bzero(s->v[i].value, s->v[i].len);
}

void
secrets_release(struct secrets *s)
{
	if (s == NULL)
		return;
	secrets_wipe(s);
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].value);
		free(s->v[i].source);
		strv_clear(&s->v[i].hosts);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
	tls_ca_free(s->ca);
	s->ca = NULL;
	free(s->ca_bundle);
	s->ca_bundle = NULL;
}

char *
secrets_encode(const struct secrets *s, size_t *len)
{
	size_t	 cap = 1, n = 0;
	char	*buf;

	for (size_t i = 0; i < s->n; i++) {
		cap += strlen(s->v[i].name) + s->v[i].plen + s->v[i].len + 4;
		for (size_t h = 0; h < s->v[i].hosts.n; h++)
			cap += strlen(s->v[i].hosts.v[h]) + 1;
	}
	buf = xmalloc(cap);
#define PUT(p, l) do { memcpy(buf + n, (p), (l)); n += (l); buf[n++] = '\0'; } while (0)
	for (size_t i = 0; i < s->n; i++) {
		const struct secret	*x = &s->v[i];

		PUT(x->name, strlen(x->name));
		PUT(x->placeholder, x->plen);
		PUT(x->value, x->len);
		for (size_t h = 0; h < x->hosts.n; h++) {
			memcpy(buf + n, x->hosts.v[h], strlen(x->hosts.v[h]));
			n += strlen(x->hosts.v[h]);
			if (h + 1 < x->hosts.n)
				buf[n++] = ' ';
		}
		buf[n++] = '\0';
	}
#undef PUT
	*len = n;
	return (buf);
}

/* The next NUL-terminated field of [*p, end), or NULL. */
static const char *
secrets_field(const char **p, const char *end, size_t *len)
{
	const char	*f = *p, *z = memchr(f, '\0', (size_t)(end - f));

	if (f >= end || z == NULL)
		return (NULL);
	*len = (size_t)(z - f);
	*p = z + 1;
	return (f);
}

int
secrets_decode(struct secrets *s, const char *buf, size_t len, struct merr *e)
{
	const char	*p = buf, *end = buf + len;

	memset(s, 0, sizeof *s);
	while (p < end) {
		const char	*name, *ph, *val, *hosts;
		size_t		 nl, pl, vl, hl;
		struct secret	*x;

		if ((name = secrets_field(&p, end, &nl)) == NULL ||
		    (ph = secrets_field(&p, end, &pl)) == NULL ||
		    (val = secrets_field(&p, end, &vl)) == NULL ||
		    (hosts = secrets_field(&p, end, &hl)) == NULL)
			goto bad;
		if (nl == 0 || pl < SECRET_PLACEHOLDER_MIN || pl > SECRET_PLACEHOLDER_MAX ||
		    strncmp(ph, SECRET_PREFIX, SECRET_PREFIX_LEN) != 0 ||
		    vl < SECRET_VALUE_MIN || vl > SECRET_VALUE_MAX || s->n >= 64)
			goto bad;
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->v[i].name, name) == 0)
				goto bad;
		x = secrets_get(s, name, nl);
		memcpy(x->placeholder, ph, pl);
		x->placeholder[pl] = '\0';
		x->plen = pl;
		x->value = xmalloc(vl + 1);
		memcpy(x->value, val, vl);
		x->value[vl] = '\0';
		x->len = vl;
		x->source = xstrdup("the session");
		for (const char *h = hosts; h < hosts + hl; ) {
			size_t	w = strcspn(h, " ");

			if (w > 0)
				strv_take(&x->hosts, xstrndup(h, w));
			h += w + (h[w] == ' ');
		}
	}
	return (0);
bad:
	secrets_release(s);
	return (merr_set(e, "the session sent its secrets malformed"));
}

size_t
secrets_plen_max(const struct secrets *s)
{
	size_t	m = 0;

	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (s->v[i].plen > m)
			m = s->v[i].plen;
	return (m);
}

bool
secrets_same_length(const struct secrets *s)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (s->v[i].plen != s->v[i].len)
			return (false);
	return (true);
}

const struct secret *
secrets_find_value(const struct secrets *s, const void *buf, size_t len)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (s->v[i].len > 0 && memmem(buf, len, s->v[i].value, s->v[i].len) != NULL)
			return (&s->v[i]);
	return (NULL);
}

const struct secret *
secrets_find_name(const struct secrets *s, const char *name, size_t len)
{
	const char	*eq = memchr(name, '=', len);

	if (eq != NULL)
		len = (size_t)(eq - name);
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (strlen(s->v[i].name) == len && strncmp(s->v[i].name, name, len) == 0)
			return (&s->v[i]);
	return (NULL);
}
