/* error.c: filling and printing struct merr. Any process. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int
merr_set(struct merr *e, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->err = 0;
	return (-1);
}

static int
merr_vset_errno(struct merr *e, int err, const char *fmt, va_list ap)
{
	size_t	n;

	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(err));
	e->err = err;
	return (-1);
}

/* Appends ": strerror(errno)"; errno is read before anything can change it. */
int
merr_errno(struct merr *e, const char *fmt, ...)
{
	int	err = errno;
	va_list	ap;

	va_start(ap, fmt);
	merr_vset_errno(e, err, fmt, ap);
	va_end(ap);
	errno = err;
	return (-1);
}

int
merr_errno_n(struct merr *e, int err, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	merr_vset_errno(e, err, fmt, ap);
	va_end(ap);
	return (-1);
}

/* Puts context in front of a message already set: "profile x: <msg>". */
void
merr_prefix(struct merr *e, const char *fmt, ...)
{
	char	pre[512], old[sizeof e->msg];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	snprintf(e->msg, sizeof e->msg, "%.500s: %.500s", pre, old);
}

void
merr_print(const struct merr *e)
{
	fprintf(stderr, "moat: %s\n", e->msg[0] != '\0' ? e->msg : "unknown error");
}
