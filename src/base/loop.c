/* loop.c: epoll-based poll loop with per-fd callbacks and timerfd timers.
 * Supervisor only: one loop per run serves the child's exit (pidfd), the wall
 * timer, signals, proxy sockets and the meter timer. One fd may instead be
 * polled directly (loop_direct), beside the epoll fd. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

struct loop_fd {
	int		 fd;
	loop_cb		 cb;
	void		*arg;
	struct loop_fd	*next;
};

struct loop {
	int		 epfd;
	bool		 stop;
	struct loop_fd	*fds;		/* owned list */
	struct loop_fd	*dead;		/* deleted this turn, freed after dispatch */
	struct loop_fd	 direct;	/* loop_direct's, or fd -1 */
};

struct loop *
loop_new(struct merr *e)
{
	struct loop	*l = xcalloc(1, sizeof *l);

	l->direct.fd = -1;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		merr_errno(e, "epoll_create1");
		free(l);
		return (NULL);
	}
	return (l);
}

void
loop_free(struct loop *l)
{
	struct loop_fd	*lf, *next;

	if (l == NULL)
		return;
	for (lf = l->fds; lf != NULL; lf = next) {
		next = lf->next;
		free(lf);
	}
	for (lf = l->dead; lf != NULL; lf = next) {
		next = lf->next;
		free(lf);
	}
	close(l->epfd);
	free(l);
}

int
loop_add(struct loop *l, int fd, uint32_t events, loop_cb cb, void *arg,
    struct merr *e)
{
	struct loop_fd		*lf = xcalloc(1, sizeof *lf);
	struct epoll_event	 ev = { .events = events, .data.ptr = lf };

	lf->fd = fd;
	lf->cb = cb;
	lf->arg = arg;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		free(lf);
		return (merr_errno(e, "epoll_ctl add fd %d", fd));
	}
	lf->next = l->fds;
	l->fds = lf;
	return (0);
}

static struct loop_fd *
loop_find(struct loop *l, int fd)
{
	for (struct loop_fd *lf = l->fds; lf != NULL; lf = lf->next)
		if (lf->fd == fd)
			return (lf);
	return (NULL);
}

int
loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct loop_fd		*lf = loop_find(l, fd);
	struct epoll_event	 ev = { .events = events, .data.ptr = lf };

	if (lf == NULL) {
		errno = ENOENT;
		return (-1);
	}
	return (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev));
}

/* Removal is deferred-safe: the entry is unlinked and its callback pointer
 * cleared, so an event already fetched in this turn for it is ignored. */
void
loop_del(struct loop *l, int fd)
{
	struct loop_fd	**pp, *lf;

	for (pp = &l->fds; (lf = *pp) != NULL; pp = &lf->next) {
		if (lf->fd != fd)
			continue;
		*pp = lf->next;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		lf->cb = NULL;
		lf->fd = -1;
		lf->next = l->dead;	/* freed at the end of this turn */
		l->dead = lf;
		return;
	}
}

static void
seconds_to_ts(double s, struct timespec *ts)
{
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)((s - floor(s)) * 1e9);
}

int
loop_timer(struct loop *l, double first, double interval, loop_cb cb,
    void *arg, struct merr *e)
{
	struct itimerspec	its;
	int			fd;

	if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) == -1)
		return (merr_errno(e, "timerfd_create"));
	memset(&its, 0, sizeof its);
	seconds_to_ts(first > 0 ? first : 1e-9, &its.it_value);
	seconds_to_ts(interval, &its.it_interval);
	if (timerfd_settime(fd, 0, &its, NULL) == -1 ||
	    loop_add(l, fd, EPOLLIN, cb, arg, e) == -1) {
		merr_errno(e, "timerfd_settime");
		close(fd);
		return (-1);
	}
	return (fd);		/* the caller owns it: loop_del, then close */
}

int
loop_timer_set(int fd, double first, double interval)
{
	struct itimerspec	its;

	memset(&its, 0, sizeof its);
	if (first > 0)
		seconds_to_ts(first, &its.it_value);
	seconds_to_ts(interval, &its.it_interval);
	return (timerfd_settime(fd, 0, &its, NULL));
}

void
loop_direct(struct loop *l, int fd, loop_cb cb, void *arg)
{
	l->direct = (struct loop_fd){ .fd = fd, .cb = fd != -1 ? cb : NULL,
	    .arg = arg };
}

/* With a direct fd: poll(2) on it and on the epoll fd (readable when any
 * of its fds is), then epoll's events without waiting. 0 when nothing
 * of epoll's is ready (the direct fd's callback has run, if it was). */
static int
loop_wait_direct(struct loop *l, struct epoll_event *evs, int nevs, int timeout_ms,
    struct merr *e)
{
	struct pollfd	p[2] = { { .fd = l->epfd, .events = POLLIN },
			    { .fd = l->direct.fd, .events = POLLIN } };
	int		n;

	if ((n = poll(p, 2, timeout_ms)) == -1) {
		if (errno == EINTR)
			return (0);
		return (merr_errno(e, "poll"));
	}
	if (p[1].revents != 0 && l->direct.cb != NULL && !l->stop)
		l->direct.cb(l, l->direct.fd, (p[1].revents & POLLIN ? EPOLLIN : 0) |
		    (p[1].revents & POLLHUP ? EPOLLHUP : 0) |
		    (p[1].revents & (POLLERR | POLLNVAL) ? EPOLLERR : 0), l->direct.arg);
	if (!(p[0].revents & POLLIN))
		return (0);
	if ((n = epoll_wait(l->epfd, evs, nevs, 0)) == -1)
		return (errno == EINTR ? 0 : merr_errno(e, "epoll_wait"));
	return (n);
}

int
loop_once(struct loop *l, int timeout_ms, struct merr *e)
{
	struct epoll_event	evs[64];
	int			n;

	if (l->direct.fd != -1) {
		if ((n = loop_wait_direct(l, evs, nitems(evs), timeout_ms, e)) == -1)
			return (-1);
	} else if ((n = epoll_wait(l->epfd, evs, nitems(evs), timeout_ms)) == -1) {
		if (errno == EINTR)
			return (0);
		return (merr_errno(e, "epoll_wait"));
	}
	for (int i = 0; i < n && !l->stop; i++) {
		struct loop_fd	*lf = evs[i].data.ptr;

		/* An earlier callback may have deleted it: cb is then NULL. */
		if (lf->cb != NULL)
			lf->cb(l, lf->fd, evs[i].events, lf->arg);
	}
	while (l->dead != NULL) {
		struct loop_fd	*lf = l->dead;

		l->dead = lf->next;
		free(lf);
	}
	return (n);
}

void
loop_stop(struct loop *l)
{
	l->stop = true;
}

bool
loop_stopped(const struct loop *l)
{
	return (l->stop);
}
