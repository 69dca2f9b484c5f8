/* spool.c: the side file of completions the audit log could not take (see
 * spool.h). One record a line, tab-separated fields:
 *
 *   moat-spool-1 rowid run_id begin_hash status ended_at duration end_reason
 *   exit_code signal cpu_user cpu_sys peak_memory peak_pids limits risk
 *   risk_reasons stdout_bytes stdout_sha256 stderr_bytes stderr_sha256
 *
 * An empty field is NULL. In strings, "\t", "\n" and "\\" stand for a tab,
 * a newline and a backslash; no other escape exists. audit.c writes a line
 * when a completion fails for good and reads the file back at open. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "base/util.h"

#define SPOOL_FIELDS	21

static void
sb_field(struct sbuf *b, const char *s)
{
	sbuf_add(b, "\t", 1);
	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		if (*s == '\t')
			sbuf_add(b, "\\t", 2);
		else if (*s == '\n')
			sbuf_add(b, "\\n", 2);
		else if (*s == '\\')
			sbuf_add(b, "\\\\", 2);
		else
			sbuf_add(b, s, 1);
	}
}

static void
sb_int(struct sbuf *b, int64_t v, bool opt)
{
	char	n[32];

	if (opt && v < 0) {
		sb_field(b, NULL);
		return;
	}
	snprintf(n, sizeof n, "%" PRId64, v);
	sb_field(b, n);
}

static void
sb_real(struct sbuf *b, double v)
{
	char	n[40];

	if (!(v >= 0) || !isfinite(v)) {
		sb_field(b, NULL);
		return;
	}
	snprintf(n, sizeof n, "%.17g", v);
	sb_field(b, n);
}

char *
spool_format(const struct spool_rec *r, size_t *len)
{
	struct sbuf	b = { NULL, 0, 0 };

	sbuf_add(&b, SPOOL_MAGIC, strlen(SPOOL_MAGIC));
	sb_int(&b, r->rowid, false);
	sb_field(&b, r->run_id);
	sb_field(&b, r->begin_hash);
	sb_field(&b, r->status);
	sb_field(&b, r->ended_at);
	sb_real(&b, r->duration);
	sb_field(&b, r->end_reason);
	sb_int(&b, r->exit_code, false);
	sb_int(&b, r->signal > 0 ? r->signal : -1, true);
	sb_real(&b, r->cpu_user);
	sb_real(&b, r->cpu_sys);
	sb_int(&b, r->peak_memory, true);
	sb_int(&b, r->peak_pids, true);
	sb_field(&b, r->limits);
	sb_int(&b, r->risk, true);
	sb_field(&b, r->risk_reasons);
	for (int i = 0; i < 2; i++) {
		sb_int(&b, r->out_bytes[i], false);
		sb_field(&b, r->out_sha[i]);
	}
	sbuf_add(&b, "\n", 1);
	*len = b.len;
	return (b.p);
}

/* Unescapes s in place; NULL for an empty field. -1: a bad escape. */
static int
unescape(char *s, const char **out)
{
	char	*w = s;

	*out = NULL;
	if (*s == '\0')
		return (0);
	for (char *r = s; *r != '\0'; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == 't')
			*w++ = '\t';
		else if (*r == 'n')
			*w++ = '\n';
		else if (*r == '\\')
			*w++ = '\\';
		else
			return (-1);
	}
	*w = '\0';
	*out = s;
	return (0);
}

/* A whole field as a number: -1 for an empty one when opt, refused else. */
static int
parse_i64(const char *s, bool opt, int64_t min, int64_t max, int64_t *v)
{
	char		*end;
	long long	 n;

	if (s == NULL) {
		*v = -1;
		return (opt ? 0 : -1);
	}
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return (-1);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return (-1);
	*v = n;
	return (0);
}

static int
parse_real(const char *s, double *v)
{
	char	*end;

	if (s == NULL) {
		*v = -1;
		return (0);
	}
	if (!(*s >= '0' && *s <= '9'))
		return (-1);
	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(*v) || *v < 0)
		return (-1);
	return (0);
}

static bool
is_hash(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return (false);
	return (strspn(s, "0123456789abcdef") == 64);
}

int
spool_parse(char *line, struct spool_rec *r, const char **why)
{
	char		*f[SPOOL_FIELDS + 1];
	const char	*v[SPOOL_FIELDS];
	size_t		 n = 0;
	int64_t		 x;
	char		*p = line;

	memset(r, 0, sizeof *r);
	*why = NULL;
	for (;;) {
		char	*tab = strchr(p, '\t');

		if (n == SPOOL_FIELDS) {
			*why = "too many fields";
			return (-1);
		}
		f[n++] = p;
		if (tab == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (n != SPOOL_FIELDS) {
		*why = "too few fields";
		return (-1);
	}
	if (strcmp(f[0], SPOOL_MAGIC) != 0) {
		*why = "not a moat spool record";
		return (-1);
	}
	for (size_t i = 1; i < n; i++)
		if (unescape(f[i], &v[i]) == -1) {
			*why = "a bad escape";
			return (-1);
		}
	if (parse_i64(v[1], false, 1, INT64_MAX, &r->rowid) == -1) {
		*why = "a bad row id";
		return (-1);
	}
	r->run_id = v[2];
	r->begin_hash = v[3];
	r->status = v[4];
	r->ended_at = v[5];
	r->end_reason = v[7];
	if (r->run_id == NULL || !is_hash(r->begin_hash) || r->ended_at == NULL ||
	    r->end_reason == NULL || r->status == NULL ||
	    (strcmp(r->status, "done") != 0 && strcmp(r->status, "setup-failed") != 0)) {
		*why = "a missing or bad run id, begin hash, status, end time or end reason";
		return (-1);
	}
	if (parse_real(v[6], &r->duration) == -1 || v[6] == NULL ||
	    parse_real(v[10], &r->cpu_user) == -1 || parse_real(v[11], &r->cpu_sys) == -1) {
		*why = "a bad duration or CPU time";
		return (-1);
	}
	if (parse_i64(v[8], false, -1, 255, &x) == -1) {
		*why = "a bad exit code";
		return (-1);
	}
	r->exit_code = (int)x;
	if (parse_i64(v[9], true, 1, 64, &x) == -1) {
		*why = "a bad signal";
		return (-1);
	}
	r->signal = x < 0 ? 0 : (int)x;
	if (parse_i64(v[12], true, 0, INT64_MAX, &r->peak_memory) == -1 ||
	    parse_i64(v[13], true, 0, INT64_MAX, &r->peak_pids) == -1) {
		*why = "a bad peak";
		return (-1);
	}
	r->limits = v[14];
	if (parse_i64(v[15], true, 0, 1000, &x) == -1) {
		*why = "a bad risk score";
		return (-1);
	}
	r->risk = (int)x;
	r->risk_reasons = v[16];
	for (int i = 0; i < 2; i++) {
		if (parse_i64(v[17 + 2 * i], false, 0, INT64_MAX, &r->out_bytes[i]) == -1 ||
		    !is_hash(v[18 + 2 * i])) {
			*why = "bad output figures";
			return (-1);
		}
		r->out_sha[i] = v[18 + 2 * i];
	}
	return (0);
}

int
spool_open(const char *db_path)
{
	char		 path[4096];
	struct stat	 st;
	int		 fd;

	if ((size_t)snprintf(path, sizeof path, "%s-spool", db_path) >= sizeof path)
		return (-1);
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return (-1);
	}
	/* Blocks past the end, for the day the disk has none: appends take
	 * them without asking the filesystem for more. Where fallocate is not
	 * supported, a spool is still tried. */
	if ((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size + SPOOL_RESERVE)
		(void)fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, SPOOL_RESERVE);
	return (fd);
}

int
spool_append(int fd, const char *line, size_t len)
{
	struct stat	st;
	ssize_t		n;
	int		err;

	if (flock(fd, LOCK_EX) == -1)
		return (-1);
	if (fstat(fd, &st) == -1) {
		err = errno;
		(void)flock(fd, LOCK_UN);
		errno = err;
		return (-1);
	}
	n = write(fd, line, len);
	err = errno;
	/* A part of a line is no record, and would spoil the next one. */
	if (n >= 0 && (size_t)n != len) {
		err = ENOSPC;
		if (ftruncate(fd, st.st_size) == -1)
			err = errno;	/* the reader drops the part */
	}
	(void)flock(fd, LOCK_UN);
	if (n < 0 || (size_t)n != len) {
		errno = err;
		return (-1);
	}
	return (0);
}
