/* error.h: struct merr, the error a function returns to its caller.
 * Used in every process; init.c dies instead (see init_die). */
#ifndef MOAT_ERROR_H
#define MOAT_ERROR_H

#include <stddef.h>

struct merr {
	char	msg[1024];
	int	err;		/* errno when the cause was a failed call, else 0 */
};

int	merr_set(struct merr *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	merr_errno(struct merr *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	merr_errno_n(struct merr *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	merr_prefix(struct merr *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	merr_print(const struct merr *);
/* Copies src to dst (len bytes, NUL included) with each control byte
 * written as \n, \t, \r or \xNN; returns the length written. Every merr
 * message goes through it. */
size_t	ctl_escape(char *, size_t, const char *);

/* moat's own exit statuses, as timeout(1) and env(1) use them. */
#define EXIT_TIMEOUT	124
#define EXIT_MOAT	125
#define EXIT_NOEXEC	126
#define EXIT_NOTFOUND	127

#endif
