/* util.c: allocation, string vectors, parsing of sizes and durations, file
 * helpers. Supervisor and front ends; init.c uses the non-allocating ones. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void
freep(void *p)
{
	free(*(void **)p);
}

void
closep(int *fd)
{
	if (*fd >= 0) {
		int	saved = errno;

		close(*fd);
		errno = saved;
	}
}

void
fclosep(void *p)
{
	FILE	*f = *(FILE **)p;

	if (f != NULL)
		fclose(f);
}

void	(*util_fatal_hook)(void);

static void
oom(void)
{
	static const char	msg[] = "moat: out of memory\n";

	if (util_fatal_hook != NULL)
		util_fatal_hook();
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(125);
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		oom();
	return (p);
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		oom();
	return (p);
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		oom();
	return (p);
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		oom();
	return (xrealloc(p, n * size));
}

char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		oom();
	return (p);
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = strndup(s, n);

	if (p == NULL)
		oom();
	return (p);
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return (n);
}

char *
xprintf(const char *fmt, ...)
{
	va_list	ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	return (s);
}

void
strv_take(struct strv *sv, char *s)
{
	sv->v = xreallocarray(sv->v, sv->n + 2, sizeof *sv->v);
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void
strv_add(struct strv *sv, const char *s)
{
	strv_take(sv, xstrdup(s));
}

bool
strv_contains(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return (true);
	return (false);
}

bool
strv_remove(struct strv *sv, const char *s)
{
	bool	found = false;
	size_t	i, j;

	for (i = j = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], s) == 0) {
			free(sv->v[i]);
			found = true;
		} else
			sv->v[j++] = sv->v[i];
	}
	sv->n = j;
	if (sv->v != NULL)
		sv->v[j] = NULL;
	return (found);
}

void
strv_copy(struct strv *dst, const struct strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		strv_add(dst, src->v[i]);
}

void
strv_clear(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* Reads a whole (small) file, NUL-terminated. */
int
read_file(const char *path, char **out, size_t *lenp, struct merr *e)
{
	autofd int	fd = -1;
	char		*buf = NULL;
	size_t		len = 0, cap = 0;
	ssize_t		n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (merr_errno(e, "%s", path));
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			merr_errno(e, "read %s", path);
			free(buf);
			return (-1);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	if (lenp != NULL)
		*lenp = len;
	return (0);
}

pid_t
pidfd_pid(int pidfd)
{
	char		 path[64], *buf = NULL, *p;
	struct merr	 e;
	long		 pid = -1;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	if (read_file(path, &buf, NULL, &e) == -1)
		return (-1);
	if ((p = strstr(buf, "\nPid:")) != NULL)
		pid = strtol(p + 5, NULL, 10);
	free(buf);
	return (pid > 0 ? (pid_t)pid : -1);
}

int
write_file_at(int dirfd, const char *path, const char *s, struct merr *e)
{
	autofd int	fd = -1;
	size_t		len = strlen(s);

	if ((fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_TRUNC)) == -1)
		return (merr_errno(e, "open %s", path));
	if (write(fd, s, len) != (ssize_t)len)
		return (merr_errno(e, "write %s", path));
	return (0);
}

void
cache_store(const char *dir, const char *path, const void *buf, size_t len)
{
	char	tmp[PATH_MAX + 32];
	int	fd;
	bool	ok;

	if (!cache_dir_owned(dir) ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid()) >=
	    sizeof tmp)
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return;
	ok = write(fd, buf, len) == (ssize_t)len;
	if (close(fd) == -1)
		ok = false;
	if (!ok || rename(tmp, path) == -1)
		unlink(tmp);
}

void
close_fds_except(int from, const int *keep, size_t n)
{
	unsigned	lo = (unsigned)from;

	/* Each gap between the kept descriptors, in order. */
	for (;;) {
		unsigned	next = ~0U;

		for (size_t i = 0; i < n; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo &&
			    (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > lo && syscall(SYS_close_range, lo,
		    next == ~0U ? ~0U : next - 1, 0U) == -1)
			for (unsigned fd = lo; fd < (next == ~0U ? 1024U : next); fd++)
				close((int)fd);
		if (next == ~0U)
			return;
		lo = next + 1;
	}
}

static bool
stat_owned(const struct stat *st)
{
	return (st->st_uid == geteuid() && (st->st_mode & 022) == 0);
}

bool
cache_dir_owned(const char *dir)
{
	struct stat	st;
	struct merr	e;

	/* Made once: one lstat on every later call, not a mkdir a level. */
	if (lstat(dir, &st) == -1 &&
	    (errno != ENOENT || mkdir_p(dir, 0700, &e) == -1 || lstat(dir, &st) == -1))
		return (false);
	return (S_ISDIR(st.st_mode) && stat_owned(&st));
}

int
open_owned(const char *dir, const char *path)
{
	struct stat	st;
	int		fd;

	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) || !stat_owned(&st))
		return (-1);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || !stat_owned(&st)) {
		close(fd);
		return (-1);
	}
	return (fd);
}

int
mkdir_p(const char *path, mode_t mode, struct merr *e)
{
	autofree char	*p = xstrdup(path);
	char		*s;

	for (s = p + 1; ; s++) {
		struct stat	st;
		bool		last = *s == '\0';

		if (!last && *s != '/')
			continue;
		*s = '\0';
		/* A directory that is there is fine, whatever mkdir says of it
		 * (EEXIST, or EROFS, EACCES, EPERM where the parent may not be
		 * written or a policy refuses the call). */
		if (mkdir(p, mode) == -1 && errno != EEXIST) {
			int	err = errno;

			if (stat(p, &st) == -1 || !S_ISDIR(st.st_mode))
				return (merr_errno_n(e, err, "mkdir %s", p));
		}
		if (last)
			break;
		*s = '/';
	}
	return (0);
}

void
sbuf_add(struct sbuf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 256 : b->cap * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	if (n > 0)	/* s may be NULL then (an empty buffer's) */
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

char *
path_join(const char *a, const char *b)
{
	size_t	la = strlen(a);

	while (*b == '/')
		b++;
	if (la > 0 && a[la - 1] == '/')
		return (xprintf("%s%s", a, b));
	return (xprintf("%s/%s", a, b));
}

/* True when path is dir or inside it (both absolute and normalised). */
char *
path_fold(const char *path)
{
	char		*out = xmalloc(strlen(path) + 2), *o = out;
	const char	*p, *q;

	for (p = path; *p != '\0'; p = q) {
		size_t	l;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		if ((q = strchr(p, '/')) == NULL)
			q = p + strlen(p);
		l = (size_t)(q - p);
		if (l == 1 && p[0] == '.')
			continue;
		if (l == 2 && p[0] == '.' && p[1] == '.') {
			while (o > out && *--o != '/')
				;
			continue;
		}
		*o++ = '/';
		memcpy(o, p, l);
		o += l;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return (out);
}

bool
path_is_under(const char *path, const char *dir)
{
	size_t	n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return (true);
	return (strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

/* "512M", "1G", "64k", "1048576" (binary multiples). */
int
parse_bytes(const char *s, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;
	uint64_t		 mul = 1;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return (-1);
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K': mul = 1ULL << 10; end++; break;
	case 'M': mul = 1ULL << 20; end++; break;
	case 'G': mul = 1ULL << 30; end++; break;
	case 'T': mul = 1ULL << 40; end++; break;
	default:
		return (-1);
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || (v != 0 && mul > UINT64_MAX / v))
		return (-1);
	*out = v * mul;
	return (0);
}

int
parse_duration(const char *s, double *out, const char **why)
{
	static const struct { const char *unit; double mul; } units[] = {
		{ "", 1 }, { "s", 1 }, { "ms", 0.001 }, { "m", 60 }, { "min", 60 },
		{ "h", 3600 },
	};
	const char	*p = s, *unit;
	double		 v;
	size_t		 i;

	*why = "not a duration";
	/* Plain decimal only: strtod alone would also take hexadecimal,
	 * exponents, "inf" and "nan". */
	if (!isdigit((unsigned char)*p))
		return (-1);
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return (-1);
		for (p++; isdigit((unsigned char)*p); p++)
			;
	}
	unit = p;
	if (*s == '0' && (s[1] == 'x' || s[1] == 'X')) {
		*why = "hexadecimal is not a duration";
		return (-1);
	}
	if ((*unit == 'e' || *unit == 'E') && (isdigit((unsigned char)unit[1]) ||
	    ((unit[1] == '+' || unit[1] == '-') && isdigit((unsigned char)unit[2])))) {
		*why = "an exponent is not a duration";
		return (-1);
	}
	for (i = 0; i < nitems(units); i++)
		if (strcmp(unit, units[i].unit) == 0)
			break;
	if (i == nitems(units)) {
		*why = "unknown unit";
		return (-1);
	}
	errno = 0;
	v = strtod(s, NULL) * units[i].mul;
	/* After the unit: "1e6h" must not pass as a small number of hours. */
	if (errno == ERANGE || !isfinite(v) || v > DURATION_MAX) {
		*why = "more than 366 days";
		return (-1);
	}
	*out = v;
	return (0);
}

int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char			*end;
	unsigned long long	 v;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* $XDG_<kind>_HOME or $HOME/<fallback>, e.g. ("XDG_STATE_HOME", ".local/state"). */
const char *
xdg_dir(const char *var, const char *fallback, char *buf, size_t len)
{
	const char	*v = getenv(var), *home;

	if (v != NULL && v[0] == '/') {
		snprintf(buf, len, "%s", v);
		return (buf);
	}
	if ((home = getenv("HOME")) == NULL || home[0] != '/')
		home = "/tmp";
	snprintf(buf, len, "%s/%s", home, fallback);
	return (buf);
}

double
now_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

void
trace_step(double t0, const char *what, double from)
{
	char	buf[128];
	double	now;
	int	n;

	if (t0 == 0)
		return;
	now = now_mono();
	n = snprintf(buf, sizeof buf, "moat: timing: %-12s %7.3f ms (at %7.3f ms)\n",
	    what, (now - from) * 1e3, (now - t0) * 1e3);
	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n < sizeof buf ? (size_t)n :
		    sizeof buf - 1);
}

char *
str_trim(char *s)
{
	char	*end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return (s);
}

bool
path_strip(char *path, int n)
{
	char	*s;

	while (n-- > 0) {
		if ((s = strrchr(path, '/')) == NULL)
			return (false);
		*s = '\0';
	}
	return (true);
}

/* A shell variable name: a letter or _, then letters, digits and _. */
bool
env_name_valid(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return (false);
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return (false);
	return (true);
}

static size_t
strset_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return ((size_t)h);
}

bool
strset_add(struct strset *set, const char *s)
{
	size_t	mask, i;

	if ((set->n + 1) * 2 > set->cap) {
		struct strset	grown = { .cap = set->cap == 0 ? 64 : set->cap * 2 };

		grown.slot = xcalloc(grown.cap, sizeof *grown.slot);
		for (i = 0; i < set->cap; i++)
			if (set->slot[i] != NULL)
				(void)strset_add(&grown, set->slot[i]);
		free(set->slot);
		*set = grown;
	}
	mask = set->cap - 1;
	for (i = strset_hash(s) & mask; set->slot[i] != NULL; i = (i + 1) & mask)
		if (strcmp(set->slot[i], s) == 0)
			return (false);
	set->slot[i] = s;
	set->n++;
	return (true);
}

const char *
strset_get(const struct strset *set, const char *s)
{
	size_t	mask, i;

	if (set->cap == 0)
		return (NULL);
	mask = set->cap - 1;
	for (i = strset_hash(s) & mask; set->slot[i] != NULL; i = (i + 1) & mask)
		if (strcmp(set->slot[i], s) == 0)
			return (set->slot[i]);
	return (NULL);
}

bool
strset_has(const struct strset *set, const char *s)
{
	return (strset_get(set, s) != NULL);
}

void
strset_clear(struct strset *set)
{
	free(set->slot);
	memset(set, 0, sizeof *set);
}

/* Copies everything from in to out; the relay child of fd_peek. */
static void
fd_copy_all(int in, int out)
{
	char	buf[65536];
	ssize_t	n, w;

	for (;;) {
		if ((n = read(in, buf, sizeof buf)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (ssize_t off = 0; off < n; off += w)
			if ((w = write(out, buf + off, (size_t)(n - off))) == -1 &&
			    errno != EINTR)
				return;
			else if (w == -1)
				w = 0;
	}
}

/*
 * Reads up to max bytes of fd into *bufp (NUL-terminated, length in *lenp,
 * *whole set when that was everything) and leaves fd giving the same bytes
 * again, byte for byte, then the rest: a seekable file is seeked back; from
 * a pipe or socket, fd is replaced by a memfd holding what was read when
 * that was all, else by a pipe that a child process feeds with what was read
 * followed by the rest of the original (it dies with the caller). For
 * reading the script a shell is about to take from its standard input.
 */
int
fd_peek(int fd, size_t max, double wait, char **bufp, size_t *lenp, bool *whole,
    struct merr *e)
{
	char	*buf = xmalloc(max + 1);
	size_t	 len = 0;
	ssize_t	 n;
	int	 nfd = -1, pfd[2];
	off_t	 at;
	double	 end = now_mono() + wait;

	*bufp = NULL;
	*lenp = 0;
	*whole = false;
	at = lseek(fd, 0, SEEK_CUR);
	while (len < max) {
		/* A pipe whose writer is slow or never ends: what came within
		 * the wait is what is read. */
		if (at == (off_t)-1) {
			struct pollfd	pf = { .fd = fd, .events = POLLIN };
			double		left = end - now_mono();
			int		pr;

			if (left <= 0)
				break;
			if ((pr = poll(&pf, 1, (int)(left * 1000) + 1)) == -1 &&
			    errno == EINTR)
				continue;
			if (pr == 0)
				break;
		}
		if ((n = read(fd, buf + len, max - len)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return (merr_errno(e, "read the standard input"));
		}
		if (n == 0) {
			*whole = true;
			break;
		}
		len += (size_t)n;
	}
	if (!*whole && len == max && at != (off_t)-1) {
		struct stat	st;

		/* A regular file says by its size whether more follows. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= at + (off_t)len)
			*whole = true;
	}
	buf[len] = '\0';
	if (at != (off_t)-1 && lseek(fd, at, SEEK_SET) != (off_t)-1)
		goto done;
	if (*whole) {
		if ((nfd = memfd_create("moat-stdin", MFD_CLOEXEC)) == -1)
			goto fail;
		for (size_t off = 0; off < len; off += (size_t)n)
			if ((n = write(nfd, buf + off, len - off)) == -1) {
				if (errno == EINTR) {
					n = 0;
					continue;
				}
				goto fail;
			}
		if (lseek(nfd, 0, SEEK_SET) == -1)
			goto fail;
	} else {
		pid_t	pid, parent = getpid();

		if (pipe2(pfd, O_CLOEXEC) == -1)
			goto fail;
		if ((pid = fork()) == -1) {
			close(pfd[0]);
			close(pfd[1]);
			goto fail;
		}
		if (pid == 0) {
			close(pfd[0]);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (size_t off = 0; off < len; off += (size_t)n)
				if ((n = write(pfd[1], buf + off, len - off)) == -1) {
					if (errno != EINTR)
						_exit(1);
					n = 0;
				}
			fd_copy_all(fd, pfd[1]);
			_exit(0);
		}
		close(pfd[1]);
		nfd = pfd[0];
	}
	if (dup3(nfd, fd, 0) == -1)
		goto fail;
	close(nfd);
done:
	*bufp = buf;
	*lenp = len;
	return (0);
fail:
	merr_errno(e, "pass the standard input on");
	if (nfd >= 0)
		close(nfd);
	free(buf);
	return (-1);
}
