/* util.h: cleanup attributes, allocation that cannot fail, string vectors,
 * small file helpers. Any process; init.c only uses what does not allocate
 * after clone. */
#ifndef MOAT_UTIL_H
#define MOAT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

void	freep(void *);
void	closep(int *);
void	fclosep(void *);
#define autofree	__attribute__((cleanup(freep)))
#define autofd		__attribute__((cleanup(closep)))
#define autofclose	__attribute__((cleanup(fclosep)))
#define TAKE_PTR(p)	({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd)	({ int _fd = (fd); (fd) = -1; _fd; })
#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* Called before moat exits on a failure it cannot return from (out of
 * memory): a full-screen front end restores the terminal (endwin) here. */
extern void	(*util_fatal_hook)(void);

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*xprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A NULL-terminated vector of owned strings. */
/* A growing buffer, NUL-terminated after len; p owned (free it). */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};
void	 sbuf_add(struct sbuf *, const void *, size_t);

struct strv {
	char	**v;	/* owned, NULL-terminated once anything is added */
	size_t	  n;
};
void	 strv_add(struct strv *, const char *);

/* A set of strings, by hash; the strings are the caller's and must outlive
 * it. For deduplicating long lists in linear time. */
struct strset {
	const char	**slot;
	size_t		  cap, n;	/* cap: a power of two, or 0 */
};
bool	 strset_add(struct strset *, const char *);	/* true when new */
bool	 strset_has(const struct strset *, const char *);
/* The string the set holds equal to s (the caller's pointer), or NULL. */
const char *strset_get(const struct strset *, const char *);
void	 strset_clear(struct strset *);

void	 strv_take(struct strv *, char *);
bool	 strv_contains(const struct strv *, const char *);
bool	 strv_remove(struct strv *, const char *);
void	 strv_copy(struct strv *, const struct strv *);
void	 strv_clear(struct strv *);

int	 read_file(const char *, char **, size_t *, struct merr *);
/* The pid behind a pidfd, in this process's pid namespace (its fdinfo's
 * Pid); -1 when the process is gone or the fd is none. */
pid_t	 pidfd_pid(int pidfd);
int	 write_file_at(int, const char *, const char *, struct merr *);
int	 mkdir_p(const char *, mode_t, struct merr *);
/* moat's own caches: a directory or file is trusted only when it is the
 * caller's (effective uid) and writable by no one else. cache_dir_owned
 * makes dir (mode 0700) when it is missing and says whether it is a
 * directory so held; open_owned opens path read-only when it is a regular
 * file so held in such a directory, never following a link: -1 otherwise. */
bool	 cache_dir_owned(const char *dir);
/* Closes every descriptor from `from` up but those n in keep (-1 entries
 * ignored): for a process that outlives its caller, which must not hold on
 * to what the caller left open without close-on-exec. */
void	 close_fds_except(int from, const int *keep, size_t n);
int	 open_owned(const char *dir, const char *path);
/* Best effort: writes len bytes of buf to path (mode 0600) through a
 * temporary file renamed over it, when dir is cache_dir_owned; a cache that
 * cannot be kept only costs its next reader the work again. */
void	 cache_store(const char *dir, const char *path, const void *buf,
	    size_t len);
char	*path_join(const char *, const char *);
bool	 path_is_under(const char *, const char *);
/* An absolute path with "//", "/./" and "/../" folded lexically (".." at
 * the root stays at the root; no symbolic link is looked at); anything not
 * starting with "/" is taken as starting there. A new string. */
char	*path_fold(const char *);
/* Cuts blanks (and a CR) off both ends, in place; returns the new start. */
char	*str_trim(char *);
bool	 env_name_valid(const char *, size_t);
/* Cuts the last n components off an absolute path, in place; false when
 * it has fewer. */
bool	 path_strip(char *, int);
int	 parse_bytes(const char *, uint64_t *);
/* The one duration grammar of the command line and profiles: "30", "1.5",
 * "500ms", "90s", "2m", "1h"; plain decimal (no sign, hexadecimal or
 * exponent), at most DURATION_MAX seconds after the unit. On -1, why says
 * what is wrong (static text). */
#define DURATION_MAX	(366.0 * 86400)
int	 parse_duration(const char *, double *, const char **why);
int	 parse_uint(const char *, unsigned long long, unsigned long long *);
const char *xdg_dir(const char *, const char *, char *, size_t);
double	 now_mono(void);
/* MOAT_TRACE_TIMING: one line on stderr, "moat: timing: WHAT COST ms (at
 * AT ms)", the cost since from and the time since t0 (the front end's
 * start; 0: tracing is off, nothing is written). One write(2) from a stack
 * buffer, so the sandbox init may call it too. */
void	 trace_step(double t0, const char *what, double from);
/* Reads up to max bytes of fd (a pipe: what comes within wait seconds) into
 * a NUL-terminated copy, *whole when that was all of it, and leaves fd giving
 * the same bytes again, then the rest (util.c says how). */
int	 fd_peek(int, size_t max, double wait, char **, size_t *, bool *whole,
	    struct merr *);

#endif
