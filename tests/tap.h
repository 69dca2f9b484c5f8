/* tap.h: a few lines of TAP for the unit tests (make check's tap-driver). */
#ifndef MOAT_TAP_H
#define MOAT_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int	tap_n, tap_failed;

static __attribute__((format(printf, 2, 3), unused)) int
tap_ok(int cond, const char *fmt, ...)
{
	va_list	ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return (cond);
}

/* A point this machine cannot test: counted, and said why, never a pass. */
static __attribute__((format(printf, 1, 2), unused)) void
tap_skip(const char *fmt, ...)
{
	va_list	ap;

	printf("ok %d - ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP\n");
	fflush(stdout);
}

static __attribute__((format(printf, 1, 2), unused)) void
tap_diag(const char *fmt, ...)
{
	va_list	ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static __attribute__((unused)) int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return (tap_failed == 0 ? 0 : 1);
}

#endif
