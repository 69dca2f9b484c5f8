/* loop.h: the supervisor's one poll loop (epoll): file descriptors and
 * timers with callbacks. Supervisor only. */
#ifndef MOAT_LOOP_H
#define MOAT_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "error.h"

struct loop;
typedef void	(*loop_cb)(struct loop *, int fd, uint32_t events, void *arg);

struct loop	*loop_new(struct merr *);
void		 loop_free(struct loop *);
/* events are EPOLLIN/EPOLLOUT/...; the loop never closes fd. */
int		 loop_add(struct loop *, int fd, uint32_t events, loop_cb, void *arg,
		    struct merr *);
int		 loop_mod(struct loop *, int fd, uint32_t events);
void		 loop_del(struct loop *, int fd);
/* A periodic (interval > 0) or one-shot (interval == 0) timer after first
 * seconds; returns its timerfd, which loop_del + close removes. The callback
 * must read(2) the timerfd (8 bytes) to re-arm it. */
int		 loop_timer(struct loop *, double first, double interval, loop_cb,
		    void *arg, struct merr *);
/* Sets a loop_timer's timer again: after first seconds (0: never, so
 * disarmed), then every interval; either way a pending expiry is dropped,
 * so its callback need not read it. */
int		 loop_timer_set(int fd, double first, double interval);
/* fd polled directly with poll(2) beside the epoll fd instead of through
 * it (-1: none), cb called with EPOLLIN, EPOLLHUP or EPOLLERR. A waker
 * that hands its CPU over (WF_CURRENT_CPU, as a seccomp listener set to
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP wakes) reaches a poll(2) sleeper so,
 * and an epoll sleeper as an ordinary wake-up, which may be on an idle
 * CPU that takes long to wake. One at a time; the loop never closes it. */
void		 loop_direct(struct loop *, int fd, loop_cb, void *arg);
/* Waits at most timeout_ms (-1 forever) and runs the callbacks that are due. */
int		 loop_once(struct loop *, int timeout_ms, struct merr *);
void		 loop_stop(struct loop *);
bool		 loop_stopped(const struct loop *);

#endif
