/* net.h: the sandbox's network namespace. net_setup runs in the sandbox init
 * (pid 1, inside the new netns, before capabilities are dropped); net_env runs
 * in the supervisor while it builds the command's environment. */
#ifndef MOAT_NET_H
#define MOAT_NET_H

#include "profile/profile.h"
#include "base/util.h"

#define NET_MAX_FDS	7

/* Brings loopback up. For restricted and proxied modes it also creates the
 * proxy listening sockets inside the netns and returns them in fds (at most
 * NET_MAX_FDS) for the supervisor, in the order of enum proxy_listener
 * (proxy.h): the HTTP proxy on 127.0.0.1:3128, SOCKS5 on 127.0.0.1:1080,
 * the transparent listener on 127.0.0.1:3129, the resolver's UDP socket on
 * 127.0.0.1:53, then the three listeners on [::1] when the netns has IPv6;
 * all close-on-exec. isolated returns none. -1 with errno set and *what
 * naming the step on failure. */
int	net_setup(const struct profile *, int *fds, int *nfds, const char **what);

/* For restricted and proxied: adds "NAME=VALUE" strings that point the usual
 * tools at the proxies (HTTP_PROXY and friends, ALL_PROXY, NO_PROXY,
 * NODE_USE_ENV_PROXY, JAVA_TOOL_OPTIONS, GIT_SSH_COMMAND). Nothing for
 * isolated. */
void	net_env(const struct profile *, struct strv *env);

#endif
