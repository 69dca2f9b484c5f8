/* net.c: the sandbox's network namespace. net_setup runs in the sandbox init,
 * inside the new netns: loopback up, and for the restricted and proxied modes
 * the two proxy listeners the supervisor serves from outside (proxy.c).
 * net_env runs in the supervisor and names those proxies to the command. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "network/proxy.h"
#include "base/util.h"

static int
net_lo_up(void)
{
	struct ifreq	ifr;
	autofd int	fd = -1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1)
		return (-1);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return (ioctl(fd, SIOCSIFFLAGS, &ifr));
}

/* A listening socket on 127.0.0.1:port, or [::1]:port (IPv6 only: the
 * IPv4 one has 127.0.0.1), of the netns it is created in; type
 * SOCK_DGRAM is bound only (the resolver's). */
static int
net_listen(int family, int type, unsigned port)
{
	struct sockaddr_in	sin = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct sockaddr_in6	sin6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons((uint16_t)port),
		.sin6_addr = IN6ADDR_LOOPBACK_INIT,
	};
	autofd int		fd = -1;
	int			one = 1;

	if ((fd = socket(family, type | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &one, sizeof one) == -1) ||
	    (family == AF_INET6 ?
	    bind(fd, (struct sockaddr *)&sin6, sizeof sin6) :
	    bind(fd, (struct sockaddr *)&sin, sizeof sin)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) == -1))
		return (-1);
	return (TAKE_FD(fd));
}

int
net_setup(const struct profile *p, int *fds, int *nfds, const char **what)
{
	static const struct {
		int		 family, type;
		unsigned	 port;
		const char	*what;
	} socks[PROXY_NFDS_MAX] = {
		[PROXY_FD_HTTP] = { AF_INET, SOCK_STREAM, PROXY_HTTP_PORT,
		    "listen on 127.0.0.1:3128 (HTTP proxy) in the sandbox" },
		[PROXY_FD_SOCKS] = { AF_INET, SOCK_STREAM, PROXY_SOCKS_PORT,
		    "listen on 127.0.0.1:1080 (SOCKS5 proxy) in the sandbox" },
		[PROXY_FD_TRANS] = { AF_INET, SOCK_STREAM, PROXY_TRANS_PORT,
		    "listen on 127.0.0.1:3129 (transparent connections) in the sandbox" },
		[PROXY_FD_DNS] = { AF_INET, SOCK_DGRAM, PROXY_DNS_PORT,
		    "bind 127.0.0.1:53 (the resolver, UDP) in the sandbox" },
		[PROXY_FD_HTTP6] = { AF_INET6, SOCK_STREAM, PROXY_HTTP_PORT, NULL },
		[PROXY_FD_SOCKS6] = { AF_INET6, SOCK_STREAM, PROXY_SOCKS_PORT, NULL },
		[PROXY_FD_TRANS6] = { AF_INET6, SOCK_STREAM, PROXY_TRANS_PORT, NULL },
	};

	*nfds = 0;
	if (net_lo_up() == -1) {
		*what = "bring up loopback in the new network namespace";
		return (-1);
	}
	if (p->net == NET_ISOLATED)
		return (0);
	for (int i = 0; i < PROXY_NFDS; i++) {
		if ((fds[i] = net_listen(socks[i].family, socks[i].type,
		    socks[i].port)) == -1) {
			int err = errno;

			*what = socks[i].what;
			while (i-- > 0)
				close(fds[i]);
			errno = err;
			return (-1);
		}
	}
	*nfds = PROXY_NFDS;
	/* The same on [::1], for clients that resolve "localhost" to ::1
	 * first. Best effort: a netns without IPv6 (ipv6.disable=1, or
	 * disable_ipv6 set) has no ::1 to bind, and 127.0.0.1 still serves. */
	for (int i = PROXY_NFDS; i < PROXY_NFDS_MAX; i++) {
		if ((fds[i] = net_listen(socks[i].family, socks[i].type,
		    socks[i].port)) != -1)
			continue;
		while (i-- > PROXY_NFDS)
			close(fds[i]);
		return (0);
	}
	*nfds = PROXY_NFDS_MAX;
	return (0);
}

/* GIT_SSH_COMMAND: ssh with a ProxyCommand that opens a CONNECT tunnel
 * through the HTTP proxy (the same allowlist: host:22 must be allowed). It
 * needs only bash (/dev/tcp) and cat, which every sandbox has; netcat and
 * python may be missing. bash's read takes a socket a byte at a time, so the
 * proxy's answer is consumed exactly. %% is ssh's escape for %. */
static const char net_ssh_script[] =
    "exec 3<>/dev/tcp/127.0.0.1/3128 || exit 1; "
    "printf \"CONNECT %%s:%%s HTTP/1.0\\r\\n\\r\\n\" \"$1\" \"$2\" >&3; "
    "cr=$(printf \"\\r\"); IFS= read -r s <&3; "
    "case \"$s\" in \"HTTP/1.\"?\" 200\"*) ;; "
    "*) echo \"moat: the proxy refused $1:$2: $s\" >&2; exit 1;; esac; "
    "while IFS= read -r l <&3 && [ -n \"$l\" ] && [ \"$l\" != \"$cr\" ]; do :; done; "
    "cat <&3 & exec cat >&3";

/* s in single quotes for sh: ' becomes '\'' */
static char *
net_sh_quote(const char *s)
{
	size_t	n = 2;
	char	*out, *o;

	for (const char *p = s; *p != '\0'; p++)
		n += *p == '\'' ? 4 : 1;
	o = out = xmalloc(n + 1);
	*o++ = '\'';
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else
			*o++ = *p;
	}
	*o++ = '\'';
	*o = '\0';
	return (out);
}

/* Sets NAME=value, replacing an earlier NAME (from env-set or -e): the
 * proxies are the only way out, so these must point at them. */
static void
net_env_set(struct strv *env, char *entry)
{
	size_t	len = strcspn(entry, "=") + 1;

	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], entry, len) == 0) {
			free(env->v[i]);
			env->v[i] = entry;
			return;
		}
	strv_take(env, entry);
}

void
net_env(const struct profile *p, struct strv *env)
{
	static const char	http[] = "http://127.0.0.1:3128";
	/* Inside, localhost, 127.0.0.0/8 and ::1 are always the sandbox's own
	 * loopback, whatever the rules say, so a server the command starts
	 * there is reached directly; the host's loopback has its own name,
	 * host.moat.internal, which goes to the proxies (net-rule.h). The
	 * CIDR is for curl and Go, the rest for clients that match names. */
	static const char	noproxy[] = "localhost,127.0.0.1,::1,[::1],127.0.0.0/8";
	autofree char		*pc = NULL, *qpc = NULL;

	if (p->net == NET_ISOLATED)
		return;
	net_env_set(env, xprintf("HTTP_PROXY=%s", http));
	net_env_set(env, xprintf("HTTPS_PROXY=%s", http));
	net_env_set(env, xprintf("http_proxy=%s", http));
	net_env_set(env, xprintf("https_proxy=%s", http));
	net_env_set(env, xprintf("ALL_PROXY=socks5h://127.0.0.1:%d", PROXY_SOCKS_PORT));
	net_env_set(env, xprintf("all_proxy=socks5h://127.0.0.1:%d", PROXY_SOCKS_PORT));
	net_env_set(env, xprintf("NO_PROXY=%s", noproxy));
	net_env_set(env, xprintf("no_proxy=%s", noproxy));
	net_env_set(env, xstrdup("NODE_USE_ENV_PROXY=1"));
	net_env_set(env, xprintf("JAVA_TOOL_OPTIONS=-Dhttp.proxyHost=127.0.0.1 "
	    "-Dhttp.proxyPort=%d -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=%d "
	    "-Dhttp.nonProxyHosts=localhost|127.*|[::1]", PROXY_HTTP_PORT,
	    PROXY_HTTP_PORT));
	pc = xprintf("ProxyCommand=bash -c '%s' moat %%h %%p", net_ssh_script);
	qpc = net_sh_quote(pc);
	net_env_set(env, xprintf("GIT_SSH_COMMAND=ssh -o %s", qpc));
}
