/* test-proxy-relay.c: the proxy module end to end on the host's loopback,
 * without a sandbox: a loop, listeners, proxy_start, a small HTTP backend in
 * the same loop, and curl (and raw sockets) as clients. Proves parsing, the
 * allowlist and the address policy, relay, 403/400/503, SOCKS5 replies,
 * events, stalled peers, and 200 concurrent connections with none lost.
 * tinyproxy, when installed, is the upstream for the proxied mode. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/loop.h"
#include "network/proxy.h"
#include "base/event.h"
#include "base/util.h"
#include "../tap.h"

static struct loop	*L;
static char		 tmpdir[] = "/tmp/moat-relay.XXXXXX";

/* --- a tiny HTTP backend in the loop ---------------------------------- */

struct bconn {
	int	 fd;
	char	 in[8192];
	size_t	 inlen;
	char	*out;
	size_t	 outlen, off;
	bool	 answered;
};

static int	 b_lfd;
static unsigned	 b_port, b_accepted;
static char	 b_last_head[8192];

static void
b_close(struct bconn *b)
{
	loop_del(L, b->fd);
	close(b->fd);
	free(b->out);
	free(b);
}

/* GET /big/N answers N bytes of 'x' after a line naming the request. */
static void
b_cb(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct bconn	*b = arg;
	ssize_t		 n;

	(void)l;
	(void)fd;
	(void)ev;
	while (!b->answered) {
		n = recv(b->fd, b->in + b->inlen, sizeof b->in - 1 - b->inlen, 0);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			b_close(b);
			return;
		}
		b->inlen += (size_t)n;
		b->in[b->inlen] = '\0';
		if (strstr(b->in, "\r\n\r\n") != NULL) {
			char	 path[256] = "";
			size_t	 big = 0, hl;
			char	*body;

			snprintf(b_last_head, sizeof b_last_head, "%s", b->in);
			sscanf(b->in, "%*s %255s", path);
			if (strncmp(path, "/big/", 5) == 0)
				big = strtoul(path + 5, NULL, 10);
			body = xprintf("backend saw %s\n", path);
			hl = strlen(body);
			xasprintf(&b->out, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
			    "Connection: close\r\n\r\n%s", hl + big, body);
			free(body);
			b->outlen = strlen(b->out);
			b->out = xrealloc(b->out, b->outlen + big);
			memset(b->out + b->outlen, 'x', big);
			b->outlen += big;
			b->answered = true;
		}
	}
	while (b->off < b->outlen) {
		n = send(b->fd, b->out + b->off, b->outlen - b->off, MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		b->off += (size_t)n;
	}
	b_close(b);
}

static void
b_accept(struct loop *l, int lfd, uint32_t ev, void *arg)
{
	int	fd;

	(void)ev;
	(void)arg;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		struct bconn	*b = xcalloc(1, sizeof *b);
		struct merr	 e;

		b_accepted++;
		b->fd = fd;
		loop_add(l, fd, EPOLLIN | EPOLLOUT | EPOLLET, b_cb, b, &e);
		b_cb(l, fd, EPOLLIN, b);
	}
}

static int
listen_lo(unsigned *port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t		len = sizeof sin;
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, 1024) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("listen");
		exit(1);
	}
	*port = ntohs(sin.sin_port);
	return (fd);
}

/* --- events ------------------------------------------------------------ */

struct seen {
	char		 verdict[16], host[256], addr[64], rule[256], text[512];
	unsigned	 port;
	uint64_t	 out, in;
	double		 duration;
};
static struct seen	ev[4096];
static size_t		nev;

static void
on_event(void *arg, struct run_event *e)
{
	struct seen	*s;

	(void)arg;
	if (e->kind != EV_NET_CONN || nev == nitems(ev))
		return;
	s = &ev[nev++];
	snprintf(s->verdict, sizeof s->verdict, "%s", e->verdict);
	snprintf(s->host, sizeof s->host, "%s", e->host);
	snprintf(s->addr, sizeof s->addr, "%s", e->addr);
	snprintf(s->rule, sizeof s->rule, "%s", e->rule);
	snprintf(s->text, sizeof s->text, "%s", e->text);
	s->port = e->port;
	s->out = e->bytes_out;
	s->in = e->bytes_in;
	s->duration = e->duration;
	if (getenv("VERBOSE") != NULL)
		tap_diag("event: %s", e->text);
}

static struct seen *
last_event_for(const char *host)
{
	for (size_t i = nev; i-- > 0;)
		if (strcmp(ev[i].host, host) == 0)
			return (&ev[i]);
	return (NULL);
}

/* --- proxies under test ------------------------------------------------ */

struct tp {
	struct profile	 pr;
	struct event_sink sink;
	struct proxy	*p;
	unsigned	 hport, sport, tport, dport;
	unsigned	 hport6, sport6;	/* 0: no IPv6 loopback here */
	int		 dfd;			/* our end for DNS questions */
};

/* The resolver's UDP socket on 127.0.0.1, as net_setup makes one. */
static int
udp_lo(unsigned *port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t		len = sizeof sin;
	int			fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("udp");
		exit(1);
	}
	*port = ntohs(sin.sin_port);
	return (fd);
}

/* A listener on [::1], as net_setup makes one in the sandbox; -1 when the
 * host has no IPv6 loopback. */
static int
listen_lo6(unsigned *port)
{
	struct sockaddr_in6	sin6 = { .sin6_family = AF_INET6,
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t		len = sizeof sin6;
	int			fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*port = 0;
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == -1 ||
	    listen(fd, 1024) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin6, &len) == -1) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	*port = ntohs(sin6.sin6_port);
	return (fd);
}

static void
tp_start(struct tp *t, const char *name, enum net_mode mode, bool priv,
    unsigned max, const char *upstream, const char *const *allow,
    const char *const *resolve)
{
	int		fds[PROXY_NFDS_MAX], nfds = PROXY_NFDS;
	struct merr	e;

	memset(t, 0, sizeof *t);
	t->pr.name = xstrdup(name);
	t->pr.net = mode;
	t->pr.net_allow_private = priv;
	t->pr.net_max_conns = max;
	t->pr.net_upstream = upstream != NULL ? xstrdup(upstream) : NULL;
	for (; allow != NULL && *allow != NULL; allow++)
		strv_add(&t->pr.net_allow, *allow);
	for (; resolve != NULL && *resolve != NULL; resolve++)
		strv_add(&t->pr.net_resolve, *resolve);
	t->sink.emit = on_event;
	fds[PROXY_FD_HTTP] = listen_lo(&t->hport);
	fds[PROXY_FD_SOCKS] = listen_lo(&t->sport);
	fds[PROXY_FD_TRANS] = listen_lo(&t->tport);
	fds[PROXY_FD_DNS] = udp_lo(&t->dport);
	fds[PROXY_FD_HTTP6] = listen_lo6(&t->hport6);
	fds[PROXY_FD_SOCKS6] = listen_lo6(&t->sport6);
	fds[PROXY_FD_TRANS6] = listen_lo6(&(unsigned){ 0 });
	if (fds[PROXY_FD_HTTP6] != -1 && fds[PROXY_FD_SOCKS6] != -1 &&
	    fds[PROXY_FD_TRANS6] != -1)
		nfds = PROXY_NFDS_MAX;
	else {
		for (int i = PROXY_NFDS; i < PROXY_NFDS_MAX; i++)
			if (fds[i] != -1)
				close(fds[i]);
		t->hport6 = t->sport6 = 0;
	}
	t->dfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if ((t->p = proxy_start(&t->sink, L, &t->pr, fds, nfds, &e)) == NULL) {
		printf("Bail out! proxy_start: %s\n", e.msg);
		exit(1);
	}
}

static void
tp_stop(struct tp *t)
{
	if (t->dfd != -1)
		close(t->dfd);
	proxy_stop(t->p);
	free(t->pr.name);
	free(t->pr.net_upstream);
	strv_clear(&t->pr.net_allow);
	strv_clear(&t->pr.net_resolve);
}

/* --- clients ------------------------------------------------------------ */

static char	out[1 << 16], err[1 << 14];

static void
slurp(const char *path, char *buf, size_t len)
{
	int	fd = open(path, O_RDONLY);
	ssize_t	n = fd == -1 ? 0 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd != -1)
		close(fd);
}

/* Runs argv while serving the loop; its stdout and stderr land in out/err.
 * Returns the exit status, or -1 after 60 s. */
static int
run_bg(char *const argv[])
{
	char	opath[256], epath[256];
	pid_t	pid;
	int	st;
	double	t0 = now_mono();

	snprintf(opath, sizeof opath, "%s/out", tmpdir);
	snprintf(epath, sizeof epath, "%s/err", tmpdir);
	if ((pid = fork()) == 0) {
		int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(e, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		struct merr e;

		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		loop_once(L, 10, &e);
		if (now_mono() - t0 > 60) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return (-1);
		}
	}
	/* The client's closes are queued by now: let the proxy see them, so
	 * the connections' events have been emitted when the caller looks. */
	for (t0 = now_mono(); now_mono() - t0 < 0.2;) {
		struct merr e;

		loop_once(L, 10, &e);
	}
	slurp(opath, out, sizeof out);
	slurp(epath, err, sizeof err);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

#define CURL(...) run_bg((char *[]){ "curl", "-sS", "--max-time", "20", __VA_ARGS__, NULL })

/* A raw client: connect, send, then collect the answer until EOF or wait
 * seconds, serving the loop meanwhile. Returns bytes received. */
static int
raw_connect(unsigned port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		perror("connect");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return (fd);
}

static size_t
raw_read(int fd, char *buf, size_t len, double wait, bool *eof)
{
	double	t0 = now_mono();
	size_t	got = 0;

	*eof = false;
	while (now_mono() - t0 < wait && got < len - 1) {
		struct merr	e;
		ssize_t		n = recv(fd, buf + got, len - 1 - got, 0);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0) {
			*eof = true;
			break;
		}
		loop_once(L, 10, &e);
	}
	buf[got] = '\0';
	return (got);
}

static size_t
raw(unsigned port, const void *req, size_t len, char *buf, size_t bl, bool *eof)
{
	int	fd = raw_connect(port);
	size_t	n;

	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		perror("send");
	n = raw_read(fd, buf, bl, 5, eof);
	close(fd);
	return (n);
}

static void
serve(double secs)
{
	double	t0 = now_mono();

	while (now_mono() - t0 < secs) {
		struct merr e;

		loop_once(L, 10, &e);
	}
}

/* Asks t's resolver for name (type A or AAAA), serving the loop until the
 * answer comes (at most 5 s). Returns the answer's rcode and fills addrs
 * with up to 4 addresses' first bytes; -1 when nothing came. */
static int
dns_ask(struct tp *t, const char *name, unsigned type, uint8_t addrs[4][16], int *n)
{
	uint8_t			 q[300] = { 0xab, 0xcd, 1, 0, 0, 1 }, a[1500];
	size_t			 len = 12;
	struct sockaddr_in	 to = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)t->dport),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	double			 t0 = now_mono();
	ssize_t			 r;

	for (const char *p = name; *p != '\0'; ) {
		size_t l = strcspn(p, ".");

		q[len++] = (uint8_t)l;
		memcpy(q + len, p, l);
		len += l;
		p += l + (p[l] == '.');
	}
	q[len++] = 0;
	q[len++] = 0; q[len++] = (uint8_t)type; q[len++] = 0; q[len++] = 1;
	*n = 0;
	if (sendto(t->dfd, q, len, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)len)
		return (-1);
	while (now_mono() - t0 < 5) {
		serve(0.02);
		if ((r = recv(t->dfd, a, sizeof a, 0)) < 12)
			continue;
		if (a[0] != 0xab || a[1] != 0xcd || !(a[2] & 0x80))
			return (-1);
		/* Records follow the question: name pointer, type, class, ttl,
		 * length, data. */
		for (size_t off = len, k = 0; k < a[7] && off + 12 <= (size_t)r; k++) {
			size_t dl = (size_t)a[off + 10] << 8 | a[off + 11];

			if (*n < 4 && off + 12 + dl <= (size_t)r)
				memcpy(addrs[(*n)++], a + off + 12, dl > 16 ? 16 : dl);
			off += 12 + dl;
		}
		return (a[3] & 0xf);
	}
	return (-1);
}

static void
test_resolver(struct tp *a, struct tp *b)
{
	uint8_t	ad[4][16];
	int	n, rc;
	size_t	before = nev;

	rc = dns_ask(a, "not-listed.test", 1, ad, &n);
	tap_ok(rc == 3 && n == 0, "resolver: a name no rule names: NXDOMAIN (rc %d)", rc);
	tap_ok(nev == before + 1 && strcmp(ev[nev - 1].verdict, "refused") == 0 &&
	    strcmp(ev[nev - 1].host, "not-listed.test") == 0 && ev[nev - 1].port == 0,
	    "... recorded as refused, no port");
	rc = dns_ask(a, "NOT-listed.test", 1, ad, &n);
	tap_ok(rc == 3 && nev == before + 1, "... asked again, in capitals: the same, "
	    "recorded once");
	rc = dns_ask(a, "host.moat.internal", 1, ad, &n);
	tap_ok(rc == 0 && n == 1 && ad[0][0] == 198 && ad[0][1] == 18,
	    "resolver: host.moat.internal (a localhost:PORT rule): a 198.18/15 stand-in");
	rc = dns_ask(a, "host.moat.internal", 28, ad, &n);
	tap_ok(rc == 0 && n == 0, "... and no AAAA");
	rc = dns_ask(a, "allowed.test", 1, ad, &n);
	tap_ok(rc == 0 && n == 0, "resolver: a name whose address is loopback, "
	    "net-allow-private off: no address");
	rc = dns_ask(a, "meta.test", 1, ad, &n);
	tap_ok(rc == 0 && n == 0, "resolver: a name whose address is the metadata service: no address");
	rc = dns_ask(b, "allowed.test", 1, ad, &n);
	tap_ok(rc == 0 && n == 1 && ad[0][0] == 198 && ad[0][1] == 18,
	    "resolver, net-allow-private: loopback becomes a stand-in, never 127.x");
	rc = dns_ask(a, "localhost", 1, ad, &n);
	tap_ok(rc == 0 && n == 1 && ad[0][0] == 127 && ad[0][3] == 1,
	    "resolver: localhost is the sandbox's own 127.0.0.1");

	/* A flood of names: 64 recorded one by one, the rest counted in one
	 * event when the proxy stops. */
	{
		struct tp	e;
		char		name[64];
		bool		all = true;

		tp_start(&e, "flood", NET_RESTRICTED, false, 0, NULL, NULL, NULL);
		before = nev;
		for (int i = 0; i < 70; i++) {
			snprintf(name, sizeof name, "n%d.flood.test", i);
			all &= dns_ask(&e, name, 1, ad, &n) == 3;
		}
		tap_ok(all && nev == before + 64, "a flood of 70 refused names: each "
		    "answered, 64 recorded (%zu)", nev - before);
		tp_stop(&e);
		tap_ok(nev == before + 65 && strcmp(ev[nev - 1].host, "(6 more questions)") == 0 &&
		    strcmp(ev[nev - 1].verdict, "refused") == 0,
		    "... and the other 6 in one event at the end (%s)", ev[nev - 1].host);
	}
}

/* The first name /etc/hosts maps to 127.x other than localhost: lets the
 * resolver threads run against the system resolver without a network. */
static bool
hosts_name(char *name, size_t len)
{
	FILE	*f = fopen("/etc/hosts", "r");
	char	 line[512], a[64], n[256];
	bool	 found = false;

	while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
		char *p = line;
		int used;

		if (sscanf(p, "%63s%n", a, &used) != 1 || strncmp(a, "127.", 4) != 0)
			continue;
		p += used;
		while (sscanf(p, "%255s%n", n, &used) == 1) {
			p += used;
			if (n[0] != '#' && strncmp(n, "localhost", 9) != 0 &&
			    strchr(n, '.') == NULL) {
				snprintf(name, len, "%s", n);
				found = true;
				break;
			}
		}
	}
	if (f != NULL)
		fclose(f);
	return (found);
}

int
main(void)
{
	struct tp	 A, B, C;
	struct merr	 e;
	char		 url[512], hp[64], sp[64], rule[128], rule2[128], rule3[300];
	char		 hname[256], buf[8192];
	bool		 have_hosts_name, eof;
	struct seen	*s;
	int		 rc;
	size_t		 n;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL)
		return (1);
	if ((L = loop_new(&e)) == NULL)
		return (1);
	b_lfd = listen_lo(&b_port);
	fcntl(b_lfd, F_SETFL, O_NONBLOCK);
	loop_add(L, b_lfd, EPOLLIN, b_accept, NULL, &e);
	have_hosts_name = hosts_name(hname, sizeof hname);

	/* A: restricted, the address policy on. */
	snprintf(rule, sizeof rule, "allowed.test:%u", b_port);
	snprintf(rule2, sizeof rule2, "localhost:%u", b_port);
	snprintf(rule3, sizeof rule3, "%s:%u", have_hosts_name ? hname : "none.test", b_port);
	{
		const char *allow[] = { rule, rule2, rule3, "rebind.test:*",
		    "meta.test", "169.254.169.254:80", "*.wild.test:*", NULL };
		const char *res[] = { "allowed.test=127.0.0.1", "rebind.test=127.0.0.1",
		    "meta.test=169.254.169.254", NULL };

		tp_start(&A, "restricted", NET_RESTRICTED, false, 0, NULL, allow, res);
	}
	/* B: restricted, net-allow-private (names may reach loopback). */
	{
		const char *allow[] = { rule, rule3, NULL };
		const char *res[] = { "allowed.test=127.0.0.1", NULL };

		tp_start(&B, "private-ok", NET_RESTRICTED, true, 0, NULL, allow, res);
	}
	snprintf(hp, sizeof hp, "http://127.0.0.1:%u", A.hport);
	snprintf(sp, sizeof sp, "127.0.0.1:%u", A.sport);

	test_resolver(&A, &B);

	/* --- allowed, through each door --- */
	snprintf(url, sizeof url, "http://localhost:%u/hello", b_port);
	rc = CURL("-x", hp, url);
	tap_ok(rc == 0 && strcmp(out, "backend saw /hello\n") == 0,
	    "HTTP proxy: localhost:PORT rule reaches the host's loopback service");
	if (rc != 0)
		tap_diag("curl %d: %s", rc, err);
	tap_ok(strncmp(b_last_head, "GET /hello HTTP/1.1\r\n", 21) == 0 &&
	    strstr(b_last_head, "Connection: close\r\n") != NULL &&
	    strstr(b_last_head, "Proxy-Connection") == NULL,
	    "absolute URI rewritten to origin-form with Connection: close");
	s = last_event_for("localhost");
	tap_ok(s != NULL && strcmp(s->verdict, "allowed") == 0 && s->port == b_port &&
	    strcmp(s->addr, "127.0.0.1") == 0 && strcmp(s->rule, rule2) == 0 &&
	    s->in > 19 && s->out > 20, "event: allowed, host, port, addr, rule, bytes");
	if (s != NULL)
		tap_diag("%s", s->text);

	snprintf(url, sizeof url, "http://localhost:%u/tunnel", b_port);
	rc = CURL("-p", "-x", hp, url);
	tap_ok(rc == 0 && strcmp(out, "backend saw /tunnel\n") == 0,
	    "HTTP CONNECT tunnel (curl -p)");

	snprintf(url, sizeof url, "http://localhost:%u/socks", b_port);
	rc = CURL("--socks5-hostname", sp, url);
	tap_ok(rc == 0 && strcmp(out, "backend saw /socks\n") == 0,
	    "SOCKS5 with a domain name (curl --socks5-hostname)");
	rc = CURL("--socks5", sp, url);
	tap_ok(rc == 0 && strcmp(out, "backend saw /socks\n") == 0,
	    "SOCKS5 with an IPv4 address (curl --socks5)");

	/* --- the [::1] listeners, for clients that resolve localhost to ::1 --- */
	if (A.hport6 != 0) {
		char	hp6[64], sp6[64];

		snprintf(hp6, sizeof hp6, "http://[::1]:%u", A.hport6);
		snprintf(sp6, sizeof sp6, "[::1]:%u", A.sport6);
		snprintf(url, sizeof url, "http://localhost:%u/v6-http", b_port);
		rc = CURL("-x", hp6, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /v6-http\n") == 0,
		    "HTTP proxy on [::1]: served like the IPv4 one");
		snprintf(url, sizeof url, "http://localhost:%u/v6-tunnel", b_port);
		rc = CURL("-p", "-x", hp6, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /v6-tunnel\n") == 0,
		    "HTTP CONNECT on [::1]");
		snprintf(url, sizeof url, "http://localhost:%u/v6-socks", b_port);
		rc = CURL("-x", "", "--socks5-hostname", sp6, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /v6-socks\n") == 0,
		    "SOCKS5 on [::1]");
		rc = CURL("-x", hp6, "-w", "%{http_code}", "http://other.test/");
		tap_ok(strstr(out, "403") != NULL && strstr(out, "not allowed by profile "
		    "restricted") != NULL, "the [::1] door has the same allowlist");
	} else {
		for (int i = 0; i < 4; i++)
			tap_ok(1, "# SKIP no IPv6 loopback on this host");
	}

	snprintf(url, sizeof url, "http://127.0.0.1:%u/big/10000000", b_port);
	rc = CURL("-x", hp, "-o", "/dev/null", "-w", "%{size_download}", url);
	tap_ok(rc == 0 && strcmp(out, "10000026") == 0, "10 MB body relayed intact");
	s = last_event_for("127.0.0.1");
	{
		/* The backend's head, as b_cb writes it, then the body. */
		size_t	head = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %u\r\nConnection: close\r\n\r\n", 10000026u);

		tap_ok(s != NULL && s->in == head + 10000026 && s->out > 20 &&
		    s->out < 1000, "event: the 10 MB download's bytes in and out, exactly "
		    "(in %llu)", s != NULL ? (unsigned long long)s->in : 0ULL);
	}

	/* --- refused --- */
	rc = CURL("-x", hp, "-w", "%{http_code}", "http://other.test/");
	tap_ok(rc == 0 && strstr(out, "403") != NULL && strstr(out,
	    "moat: other.test:80 not allowed by profile restricted (no net-allow rule matches)") != NULL,
	    "unlisted host: 403 naming moat, the profile and the rule");
	if (strstr(out, "403") == NULL)
		tap_diag("curl %d: %s %s", rc, out, err);
	s = last_event_for("other.test");
	tap_ok(s != NULL && strcmp(s->verdict, "refused") == 0 && s->port == 80 &&
	    strstr(s->rule, "no net-allow rule") != NULL, "event: refused with the reason");
	rc = CURL("-p", "-x", hp, "http://other.test:443/");
	tap_ok(rc != 0 && strstr(err, "403") != NULL, "unlisted CONNECT: 403");
	snprintf(url, sizeof url, "http://allowed.test:%u/", b_port);
	rc = CURL("-x", hp, url);
	tap_ok(strstr(out, "moat: allowed.test") != NULL && strstr(out,
	    "127.0.0.1, a loopback address, and net-allow-private is off") != NULL,
	    "allowed name mapped to 127.0.0.1 is refused (rebinding)");
	s = last_event_for("allowed.test");
	tap_ok(s != NULL && strcmp(s->verdict, "refused") == 0 &&
	    strcmp(s->addr, "127.0.0.1") == 0, "event: the refused address is reported");
	rc = CURL("-x", hp, "http://rebind.test:8080/");
	tap_ok(strstr(out, "loopback address") != NULL, "wildcard-port name to loopback refused");
	rc = CURL("-x", hp, "http://meta.test/latest/meta-data/");
	tap_ok(strstr(out, "169.254.169.254, a cloud metadata address") != NULL,
	    "allowed name mapped to 169.254.169.254 is refused");
	rc = CURL("-x", hp, "http://127.0.0.1:1/");
	tap_ok(strstr(out, "moat: 127.0.0.1:1 not allowed") != NULL &&
	    strstr(out, "no net-allow rule matches") != NULL,
	    "a loopback port the profile does not name is refused");
	snprintf(url, sizeof url, "http://0x7f000001:%u/x", b_port);
	rc = CURL("-x", hp, url);
	tap_ok(rc == 0 && strcmp(out, "backend saw /x\n") == 0,
	    "hex literal 0x7f000001 is matched as 127.0.0.1 (the localhost rule)");
	snprintf(url, sizeof url, "http://allowed.test:%u/s", b_port);
	rc = CURL("--socks5-hostname", sp, url);
	/* curl prints the reply code: (2) is "not allowed by ruleset". */
	tap_ok(rc == 97 && strstr(err, "(2)") != NULL,
	    "SOCKS5: rebinding refused with reply 2, not allowed by ruleset");
	if (rc != 97)
		tap_diag("curl %d: %s", rc, err);
	rc = CURL("--socks5-hostname", sp, "http://other.test/");
	tap_ok(rc == 97 && strstr(err, "(2)") != NULL, "SOCKS5: unlisted host refused (reply 2)");
	if (have_hosts_name) {
		snprintf(url, sizeof url, "http://%s:%u/dns", hname, b_port);
		rc = CURL("-x", hp, url);
		tap_ok(strstr(out, "resolves to 127.") != NULL,
		    "a name resolved by the system resolver to loopback is refused (%s)", hname);
		snprintf(hp, sizeof hp, "http://127.0.0.1:%u", B.hport);
		rc = CURL("-x", hp, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /dns\n") == 0,
		    "with net-allow-private the same name is reachable (resolver thread)");
		snprintf(url, sizeof url, "http://allowed.test:%u/ok", b_port);
		rc = CURL("-x", hp, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /ok\n") == 0,
		    "with net-allow-private the net-resolve name is reachable");
		snprintf(hp, sizeof hp, "http://127.0.0.1:%u", A.hport);
	} else {
		tap_ok(1, "# SKIP no 127.x name in /etc/hosts");
		tap_ok(1, "# SKIP no 127.x name in /etc/hosts");
		tap_ok(1, "# SKIP no 127.x name in /etc/hosts");
	}
	rc = CURL("-x", hp, "http://nothing.wild.test:1/");
	tap_ok(strstr(out, "502") != NULL || strstr(out, "cannot resolve") != NULL ||
	    strstr(out, "moat:") != NULL, "an allowed name that does not resolve: an answer, not a hang");

	/* --- malformed and unsupported --- */
	n = raw(A.hport, "GARBAGE\r\n\r\n", 11, buf, sizeof buf, &eof);
	tap_ok(n > 0 && strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0 && eof,
	    "malformed HTTP request: 400, then close");
	n = raw(A.hport, "GET /local HTTP/1.1\r\nHost: x\r\n\r\n", 32, buf, sizeof buf, &eof);
	tap_ok(n > 0 && strstr(buf, "400") != NULL && strstr(buf, "not a proxy request") != NULL,
	    "origin-form request: 400 saying why");
	/* The proxy then waits for the request: read the two bytes the answer
	 * has (a buffer of 3) rather than wait out raw's 5 s for more. */
	n = raw(A.sport, "\5\1\0", 3, buf, 3, &eof);
	tap_ok(n == 2 && buf[0] == 5 && buf[1] == 0, "SOCKS5 greeting answered with no-auth");
	{
		int fd = raw_connect(A.sport);

		send(fd, "\5\1\0\5\3\0\1\0\0\0\0\0\0", 13, MSG_NOSIGNAL);
		n = raw_read(fd, buf, sizeof buf, 5, &eof);
		tap_ok(n == 12 && buf[2] == 5 && buf[3] == 7,
		    "SOCKS5 UDP ASSOCIATE: command not supported (0x07)");
		close(fd);
		fd = raw_connect(A.sport);
		send(fd, "\5\1\0\5\2\0\1\0\0\0\0\0\0", 13, MSG_NOSIGNAL);
		n = raw_read(fd, buf, sizeof buf, 5, &eof);
		tap_ok(n == 12 && buf[2] == 5 && buf[3] == 7, "SOCKS5 BIND: command not supported (0x07)");
		close(fd);
		fd = raw_connect(A.sport);
		send(fd, "\5\1\2", 3, MSG_NOSIGNAL);
		n = raw_read(fd, buf, sizeof buf, 5, &eof);
		tap_ok(n == 2 && (uint8_t)buf[1] == 0xff && eof,
		    "SOCKS5 without no-auth: 0xff, then close");
		close(fd);
	}
	n = raw(A.sport, "GET / HTTP/1.0\r\n\r\n", 18, buf, sizeof buf, &eof);
	tap_ok(n == 0 && eof, "HTTP sent to the SOCKS port: closed at once");

	/* --- a stalled client does not stall the others --- */
	{
		int	fd = raw_connect(A.hport);
		char	req[256];
		double	t0;

		snprintf(req, sizeof req, "GET http://localhost:%u/big/50000000 HTTP/1.1\r\n\r\n",
		    b_port);
		send(fd, req, strlen(req), MSG_NOSIGNAL);
		serve(0.5);		/* the stalled relay fills every buffer */
		t0 = now_mono();
		snprintf(url, sizeof url, "http://localhost:%u/meanwhile", b_port);
		rc = CURL("-x", hp, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /meanwhile\n") == 0 &&
		    now_mono() - t0 < 5, "another client is served while one stalls (%.3f s)",
		    now_mono() - t0);
		close(fd);
	}

	/* --- at most 16 grown pipes at once (PROXY_LARGE_PIPES) --- */
	{
		enum { K = 18 };
		int	fds[K];
		char	req[256], *sink = xmalloc(1 << 20);
		size_t	got[K] = { 0 }, small = 0, large = 0, other = 0;
		ino_t	before[1024] = { 0 };
		double	t0 = now_mono();
		bool	more = true;

		for (int i = 3; i < 1024; i++) {
			struct stat st;

			if (fstat(i, &st) == 0 && S_ISFIFO(st.st_mode))
				before[i] = st.st_ino;
		}
		snprintf(req, sizeof req, "GET http://localhost:%u/big/6000000 HTTP/1.1\r\n\r\n",
		    b_port);
		for (int k = 0; k < K; k++) {
			fds[k] = raw_connect(A.hport);
			send(fds[k], req, strlen(req), MSG_NOSIGNAL);
		}
		/* 1 MiB from each, together: all are bulk, all want to grow. */
		while (more && now_mono() - t0 < 20) {
			struct merr	e2;

			more = false;
			for (int k = 0; k < K; k++) {
				ssize_t n2;

				while (got[k] < (1u << 20) &&
				    (n2 = recv(fds[k], sink, 1 << 16, MSG_DONTWAIT)) > 0)
					got[k] += (size_t)n2;
				more |= got[k] < (1u << 20);
			}
			loop_once(L, 1, &e2);
		}
		for (int i = 3; i < 1024; i++) {
			struct stat	st;
			int		sz;

			if (fstat(i, &st) == -1 || !S_ISFIFO(st.st_mode) ||
			    st.st_ino == before[i])
				continue;
			sz = fcntl(i, F_GETPIPE_SZ);
			if (sz == 65536)
				small++;
			else if (sz >= 256 * 1024)
				large++;
			else
				other++;
		}
		if (other == 0)
			tap_ok(!more && large == 2 * 16 && small == 2 * (2 * K - 16),
			    "%d bulk downloads at once: 16 grown pipes (%zu ends), the "
			    "rest 64 KiB (%zu ends)", K, large, small);
		else
			tap_ok(1, "# SKIP pipes smaller than 64 KiB: this user's "
			    "pipe budget (fs/pipe-user-pages-soft) is spent");
		for (int k = 0; k < K; k++)
			close(fds[k]);
		free(sink);
		serve(0.3);
	}

	/* --- a busy direction gets a large pipe, a quiet one keeps its own;
	 * the 16 above were given back when their connections closed --- */
	{
		int	fd = raw_connect(A.hport);
		char	req[256], *sink = xmalloc(1 << 20);
		size_t	got = 0, small = 0, large = 0, other = 0;
		double	t0 = now_mono();

		ino_t	before[1024] = { 0 };

		/* Pipes inherited from the harness (make's jobserver) are not
		 * the proxy's. */
		for (int i = 3; i < 1024; i++) {
			struct stat st;

			if (fstat(i, &st) == 0 && S_ISFIFO(st.st_mode))
				before[i] = st.st_ino;
		}
		snprintf(req, sizeof req, "GET http://localhost:%u/big/50000000 HTTP/1.1\r\n\r\n",
		    b_port);
		send(fd, req, strlen(req), MSG_NOSIGNAL);
		while (got < (4u << 20) && now_mono() - t0 < 10) {
			ssize_t k = recv(fd, sink, 1 << 20, 0);

			if (k > 0)
				got += (size_t)k;
			else if (k == 0)
				break;
			else
				loop_once(L, 10, &e);
		}
		/* Every new pipe in this process is one of this relay's two
		 * (a read and a write end each). */
		for (int i = 3; i < 1024; i++) {
			struct stat	st;
			int		sz;

			if (fstat(i, &st) == -1 || !S_ISFIFO(st.st_mode) ||
			    st.st_ino == before[i])
				continue;
			sz = fcntl(i, F_GETPIPE_SZ);
			if (sz == 65536)
				small++;
			else if (sz >= 256 * 1024)
				large++;
			else
				other++;
		}
		if (other == 0)
			tap_ok(got >= (4u << 20) && small == 2 && large == 2,
			    "after 4 MiB the download's pipe has grown (%zu ends of "
			    ">= 256 KiB), the request's has 64 KiB (%zu ends)", large, small);
		else
			tap_ok(1, "# SKIP pipes smaller than 64 KiB: this user's "
			    "pipe budget (fs/pipe-user-pages-soft) is spent");
		/* The proxy's end of this client's connection: accepted on
		 * A's port, so its local port is A.hport and it has a peer. */
		{
			char	cc[16] = "", found[16] = "";

			for (int i = 3; i < 1024; i++) {
				struct sockaddr_in	sin, peer;
				socklen_t		sl = sizeof sin, pl = sizeof peer;
				socklen_t		cl = sizeof cc;

				if (i == fd || getsockname(i, (struct sockaddr *)&sin, &sl) == -1 ||
				    sin.sin_family != AF_INET || ntohs(sin.sin_port) != A.hport ||
				    getpeername(i, (struct sockaddr *)&peer, &pl) == -1 ||
				    getsockopt(i, IPPROTO_TCP, TCP_CONGESTION, cc, &cl) == -1)
					continue;
				snprintf(found, sizeof found, "%.*s", (int)cl, cc);
			}
			tap_ok(strcmp(found, "reno") == 0, "the client's loopback leg "
			    "uses Reno, without pacing (%s)", found);
		}
		free(sink);
		close(fd);
		serve(0.2);
	}

	/* --- 200 concurrent connections, none lost --- */
	{
		char	*argv[420];
		char	 urls[200][96];
		int	 k = 0, okc = 0;
		uint64_t before = proxy_total(A.p);

		argv[k++] = "curl";
		argv[k++] = "-sS";
		argv[k++] = "-Z";
		argv[k++] = "--parallel-immediate";
		argv[k++] = "--parallel-max";
		argv[k++] = "200";
		argv[k++] = "-x";
		argv[k++] = hp;
		for (int i = 0; i < 200; i++) {
			snprintf(urls[i], sizeof urls[i], "http://localhost:%u/c/%d", b_port, i);
			argv[k++] = urls[i];
		}
		argv[k] = NULL;
		rc = run_bg(argv);
		for (int i = 0; i < 200; i++) {
			char want[64];

			snprintf(want, sizeof want, "backend saw /c/%d\n", i);
			if (strstr(out, want) != NULL)
				okc++;
		}
		tap_ok(rc == 0 && okc == 200, "200 concurrent requests through the proxy: %d answered",
		    okc);
		tap_ok(proxy_total(A.p) - before == 200, "the proxy accepted %llu connections",
		    (unsigned long long)(proxy_total(A.p) - before));
		if (rc != 0)
			tap_diag("curl %d: %.300s", rc, err);
	}

	/* --- net-max-conns holds --- */
	{
		const char	*allow[] = { rule2, NULL };
		int		 h1, h2, h3;
		double		 t0;

		tp_start(&C, "limited", NET_RESTRICTED, false, 2, NULL, allow, NULL);
		h1 = raw_connect(C.hport);
		h2 = raw_connect(C.hport);
		serve(0.2);
		t0 = now_mono();
		h3 = raw_connect(C.hport);
		n = raw_read(h3, buf, sizeof buf, 5, &eof);
		tap_ok(strncmp(buf, "HTTP/1.1 503", 12) == 0 && strstr(buf, "connection limit 2") &&
		    now_mono() - t0 < 1, "third connection over net-max-conns 2: 503 at once");
		tap_ok(proxy_active(C.p) == 2, "two connections still held");
		close(h3);
		close(h1);
		close(h2);
		serve(0.2);
		tap_ok(proxy_active(C.p) == 0, "closed connections are released");
		snprintf(url, sizeof url, "http://localhost:%u/after", b_port);
		snprintf(hp, sizeof hp, "http://127.0.0.1:%u", C.hport);
		rc = CURL("-x", hp, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /after\n") == 0, "and new ones are served");
		tp_stop(&C);
		snprintf(hp, sizeof hp, "http://127.0.0.1:%u", A.hport);
	}

	/* --- proxied: through tinyproxy --- */
	if (access("/usr/bin/tinyproxy", X_OK) == 0) {
		unsigned	 tport;
		int		 tfd = listen_lo(&tport);
		char		 conf[512], logp[300], up[64], *tlog = NULL;
		FILE		*f;
		pid_t		 tpid;
		unsigned	 before;
		const char	*allow[] = { rule2, "*.example.invalid", NULL };

		close(tfd);		/* a free port for tinyproxy */
		snprintf(conf, sizeof conf, "%s/tinyproxy.conf", tmpdir);
		snprintf(logp, sizeof logp, "%s/tinyproxy.log", tmpdir);
		f = fopen(conf, "w");
		fprintf(f, "Port %u\nListen 127.0.0.1\nTimeout 30\nLogFile \"%s\"\n"
		    "LogLevel Connect\nMaxClients 50\nConnectPort %u\n", tport, logp, b_port);
		if (getuid() == 0)
			fprintf(f, "User root\nGroup root\n");
		fclose(f);
		if ((tpid = fork()) == 0) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, 1);
			dup2(null, 2);
			execl("/usr/bin/tinyproxy", "tinyproxy", "-d", "-c", conf, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 50; i++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in sin = { .sin_family = AF_INET,
			    .sin_port = htons((uint16_t)tport),
			    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
			bool up_now = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;

			close(fd);
			if (up_now)
				break;
			usleep(100000);
		}
		snprintf(up, sizeof up, "http://127.0.0.1:%u", tport);
		tp_start(&C, "proxied", NET_PROXIED, false, 0, up, allow, NULL);
		snprintf(hp, sizeof hp, "http://127.0.0.1:%u", C.hport);
		before = b_accepted;
		snprintf(url, sizeof url, "http://localhost:%u/via-upstream", b_port);
		rc = CURL("-x", hp, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /via-upstream\n") == 0,
		    "proxied: an allowed request goes through the upstream proxy");
		if (rc != 0)
			tap_diag("curl %d: %s %s", rc, out, err);
		serve(0.3);
		{
			size_t tl;

			read_file(logp, &tlog, &tl, &e);
		}
		tap_ok(tlog != NULL && strstr(tlog, "CONNECT") != NULL &&
		    strstr(tlog, "localhost") != NULL && b_accepted == before + 1,
		    "tinyproxy's log holds the CONNECT; the backend saw one connection");
		s = last_event_for("localhost");
		tap_ok(s != NULL && strcmp(s->verdict, "allowed") == 0 &&
		    strstr(s->text, "and upstream") != NULL, "proxied event says via upstream");
		rc = CURL("-x", hp, "http://other.test/");
		tap_ok(strstr(out, "not allowed by profile proxied") != NULL,
		    "proxied: the allowlist on top still refuses");
		snprintf(sp, sizeof sp, "127.0.0.1:%u", C.sport);
		snprintf(url, sizeof url, "http://localhost:%u/socks-up", b_port);
		rc = CURL("--socks5-hostname", sp, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /socks-up\n") == 0,
		    "proxied: SOCKS5 through the upstream");
		free(tlog);
		tp_stop(&C);
		kill(tpid, SIGTERM);
		waitpid(tpid, NULL, 0);
	} else {
		for (int i = 0; i < 5; i++)
			tap_ok(1, "# SKIP tinyproxy not installed");
	}

	/* --- proxied through a SOCKS5 upstream: proxy A's own SOCKS port --- */
	{
		struct tp	 D;
		char		 up[64];
		size_t		 before;

		snprintf(up, sizeof up, "socks5h://127.0.0.1:%u", A.sport);
		tp_start(&D, "chain", NET_PROXIED, false, 0, up, NULL, NULL);
		snprintf(hp, sizeof hp, "http://127.0.0.1:%u", D.hport);
		snprintf(url, sizeof url, "http://localhost:%u/chain", b_port);
		before = nev;
		rc = CURL("-x", hp, url);
		tap_ok(rc == 0 && strcmp(out, "backend saw /chain\n") == 0,
		    "proxied through a SOCKS5 upstream");
		serve(0.3);	/* events come when both ends have closed */
		s = NULL;
		for (size_t i = before; i < nev; i++)
			if (strstr(ev[i].text, "via socks5:") != NULL &&
			    strcmp(ev[i].verdict, "allowed") == 0)
				s = &ev[i];
		tap_ok(s != NULL, "the upstream (a moat proxy) saw it as a SOCKS5 CONNECT");
		rc = CURL("-x", hp, "-w", " %{http_code}", "http://other.test/");
		tap_ok(strstr(out, "upstream SOCKS5 proxy") != NULL &&
		    strstr(out, "not allowed by its ruleset") != NULL && strstr(out, " 502") != NULL,
		    "the upstream's SOCKS5 refusal comes back as 502 naming it");
		if (strstr(out, "ruleset") == NULL)
			tap_diag("curl %d: %s %s", rc, out, err);
		tp_stop(&D);
		serve(0.3);
		snprintf(hp, sizeof hp, "http://127.0.0.1:%u", A.hport);
	}

	/* --- stop: every connection closed and reported --- */
	{
		int	fd = raw_connect(A.hport);
		size_t	before = nev;

		send(fd, "CONNECT loc", 11, MSG_NOSIGNAL);
		serve(0.1);
		tp_stop(&A);
		tp_stop(&B);
		n = raw_read(fd, buf, sizeof buf, 2, &eof);
		tap_ok(eof && nev == before + 1 && strcmp(ev[nev - 1].rule, "the run ended first") == 0,
		    "proxy_stop closes a pending connection and reports it");
		close(fd);
	}
	loop_del(L, b_lfd);
	close(b_lfd);
	loop_free(L);
	{
		char cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			tap_diag("cleanup of %s failed", tmpdir);
	}
	return (tap_done());
}
