/* net.h: the sandbox's network namespace. net_setup runs in the sandbox init
 * (pid 1, inside the new netns, before capabilities are dropped). */
#ifndef MOAT_NET_H
#define MOAT_NET_H

#include "profile.h"

#define NET_MAX_FDS	4

/* Brings loopback up. For restricted and proxied modes it also creates the
 * proxy listening sockets inside the netns and returns them in fds (at most
 * NET_MAX_FDS) for the supervisor; isolated returns none. -1 with errno set
 * and *what naming the step on failure. */
int	net_setup(const struct profile *, int *fds, int *nfds, const char **what);

#endif
