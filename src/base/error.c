/* error.c: filling and printing struct merr. Any process. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

size_t
ctl_escape(char *dst, size_t len, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 n = 0;

	for (; *src != '\0'; src++) {
		unsigned char	 c = (unsigned char)*src;
		char		 esc[5];
		size_t		 k;

		if (c >= 0x20 && c != 0x7f) {
			esc[0] = (char)c;
			k = 1;
		} else {
			esc[0] = '\\';
			k = 2;
			switch (c) {
			case '\n': esc[1] = 'n'; break;
			case '\t': esc[1] = 't'; break;
			case '\r': esc[1] = 'r'; break;
			default:
				esc[1] = 'x';
				esc[2] = hex[c >> 4];
				esc[3] = hex[c & 0xf];
				k = 4;
			}
		}
		if (n + k >= len)
			break;
		memcpy(dst + n, esc, k);
		n += k;
	}
	if (len > 0)
		dst[n] = '\0';
	return (n);
}

/* Messages quote input (file contents, arguments, names): whatever they
 * quote, no control byte reaches a terminal through them. */
static void
merr_escape(struct merr *e)
{
	char	raw[sizeof e->msg];

	memcpy(raw, e->msg, sizeof raw);
	ctl_escape(e->msg, sizeof e->msg, raw);
}

int
merr_set(struct merr *e, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	merr_escape(e);
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
	merr_escape(e);
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
	merr_escape(e);
}

void
merr_print(const struct merr *e)
{
	char	safe[sizeof e->msg];

	/* A caller may have filled msg itself. */
	ctl_escape(safe, sizeof safe, e->msg);
	fprintf(stderr, "moat: %s\n", safe[0] != '\0' ? safe : "unknown error");
}
