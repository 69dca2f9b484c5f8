/* proxy.c: the supervisor side of the restricted and proxied network modes.
 * Runs in the supervisor, outside the sandbox's netns, in the run's one poll
 * loop: accepts on the listeners the sandbox init created inside the netns,
 * parses HTTP proxy and SOCKS5 requests, checks the allowlist, resolves names
 * on a small pool of threads (getaddrinfo blocks; the loop never does),
 * connects without blocking, and relays with splice(2) through a pipe per
 * direction (64 KiB, grown to 1 MiB once the direction is a bulk transfer:
 * dir_grow). Every fd is edge-triggered and every handler moves data until
 * EAGAIN, so a slow or stalled peer only ever waits on its own sockets. Every
 * connection, allowed or refused, ends in one EV_NET_CONN event. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/event.h"
#include "allow.h"
#include "index.h"
#include "intercept.h"
#include "secret-http.h"
#include "base/loop.h"
#include "proxy.h"
#include "base/util.h"

#define PROXY_EVENTS	(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define PROXY_HEAD_SECS	30.0	/* to send a complete request */
#define PROXY_CONN_SECS	15.0	/* to resolve and connect */
#define PROXY_LINGER_SECS 2.0	/* to read the rest after an error reply */
#define PROXY_RESOLVERS	4	/* getaddrinfo threads at most */
#define PROXY_MAX_ADDRS	8
#define PROXY_PIPE_MAX	(1 << 20)	/* a busy direction's pipe */
#define PROXY_SCAN_BUF	65536		/* a searched direction's read */
#define PROXY_PIPE_MIN	(256 << 10)	/* when the pipe budget is short */
#define PROXY_LARGE_PIPES 16		/* grown pipes at once, per run */

/* --- the resolver pool ------------------------------------------------ */

struct rjob {
	struct rjob	*next;
	struct conn	*c;		/* loop thread only; NULL once the conn is gone */
	char		 host[256];
	char		 port[8];
	int		 err;		/* getaddrinfo's answer */
	struct addrinfo	*res;
	/* A question to the sandbox's resolver, answered when done. */
	bool		 dns;
	struct proxy_dns_q q;
	const struct net_rule *rule;
	struct sockaddr_storage from;	/* who asked, inside the netns */
	socklen_t	 fromlen;
};

/* Shared between the loop and the worker threads; freed by whoever drops
 * the last reference, so proxy_stop never waits on a slow DNS server. */
struct resolver {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct rjob	*queue, **queue_tail;	/* waiting for a thread */
	struct rjob	*done;			/* answered, for the loop */
	int		 efd;			/* eventfd: something is done */
	int		 refs;			/* the proxy + each thread */
	int		 nthreads, idle;
	bool		 stop;
};

static void
resolver_free_jobs(struct rjob *j)
{
	struct rjob	*next;

	for (; j != NULL; j = next) {
		next = j->next;
		if (j->res != NULL)
			freeaddrinfo(j->res);
		free(j);
	}
}

/* Called with mu held; unlocks it. */
static void
resolver_unref_locked(struct resolver *rs)
{
	bool	last = --rs->refs == 0;

	pthread_mutex_unlock(&rs->mu);
	if (!last)
		return;
	resolver_free_jobs(rs->queue);
	resolver_free_jobs(rs->done);
	close(rs->efd);
	pthread_cond_destroy(&rs->cv);
	pthread_mutex_destroy(&rs->mu);
	free(rs);
}

static void *
resolver_thread(void *arg)
{
	struct resolver		*rs = arg;
	struct addrinfo		 hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
	};
	struct rjob		*j;
	uint64_t		 one = 1;

	pthread_mutex_lock(&rs->mu);
	for (;;) {
		while (!rs->stop && rs->queue == NULL) {
			rs->idle++;
			pthread_cond_wait(&rs->cv, &rs->mu);
			rs->idle--;
		}
		if (rs->stop)
			break;
		j = rs->queue;
		if ((rs->queue = j->next) == NULL)
			rs->queue_tail = &rs->queue;
		pthread_mutex_unlock(&rs->mu);

		j->err = getaddrinfo(j->host, j->port, &hints, &j->res);

		pthread_mutex_lock(&rs->mu);
		j->next = rs->done;
		rs->done = j;
		if (write(rs->efd, &one, sizeof one) == -1) {
			/* A full eventfd counter is still readable. */
		}
	}
	resolver_unref_locked(rs);
	return (NULL);
}

static struct resolver *
resolver_new(struct merr *e)
{
	struct resolver	*rs = xcalloc(1, sizeof *rs);

	if ((rs->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		merr_errno(e, "eventfd");
		free(rs);
		return (NULL);
	}
	pthread_mutex_init(&rs->mu, NULL);
	pthread_cond_init(&rs->cv, NULL);
	rs->queue_tail = &rs->queue;
	rs->refs = 1;
	return (rs);
}

static int
resolver_submit(struct resolver *rs, struct rjob *j)
{
	pthread_attr_t	attr;
	pthread_t	tid;
	sigset_t	all, old;
	int		rc = 0;

	pthread_mutex_lock(&rs->mu);
	j->next = NULL;
	*rs->queue_tail = j;
	rs->queue_tail = &j->next;
	if (rs->idle == 0 && rs->nthreads < PROXY_RESOLVERS) {
		/* Workers take no signals: the supervisor's signalfd and
		 * sigmask stay the loop's business. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		if ((rc = pthread_create(&tid, &attr, resolver_thread, rs)) == 0) {
			rs->nthreads++;
			rs->refs++;
		}
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0 && rs->nthreads == 0) {
			/* No thread at all: the job would never be answered. */
			rs->queue = NULL;
			rs->queue_tail = &rs->queue;
			pthread_mutex_unlock(&rs->mu);
			errno = rc;
			return (-1);
		}
	}
	pthread_cond_signal(&rs->cv);
	pthread_mutex_unlock(&rs->mu);
	return (0);
}

static void
resolver_stop(struct resolver *rs)
{
	if (rs == NULL)
		return;
	pthread_mutex_lock(&rs->mu);
	rs->stop = true;
	pthread_cond_broadcast(&rs->cv);
	resolver_unref_locked(rs);
}

/* --- connections ------------------------------------------------------ */

enum conn_state {
	CS_HTTP_HEAD,		/* reading the HTTP request head */
	CS_SOCKS_HELLO,		/* reading the SOCKS greeting */
	CS_SOCKS_REQ,		/* reading the SOCKS request */
	CS_RESOLVE,		/* a resolver thread has the name */
	CS_CONNECT,		/* non-blocking connect in progress */
	CS_UPSTREAM,		/* proxied: CONNECT sent upstream, reading the answer */
	CS_RELAY,
	CS_LINGER,		/* error reply going out; then drain and close */
	CS_PEEK,		/* transparent: the first bytes may name the host */
	CS_ASK,			/* refused by the allowlist, held while the user is
				   asked (proxy_set_ask) */
};

/* One direction of the relay: src → pipe → dst, after pend (bytes that were
 * read before the relay began: a rewritten request head, early data). */
struct dir {
	int		 src, dst;
	int		 pipe[2];
	size_t		 cap;		/* the pipe's size */
	size_t		 fill;		/* bytes in the pipe */
	char		*pend;		/* owned */
	size_t		 plen, poff;
	bool		 eof, shut;
	bool		 grown;		/* dir_grow ran */
	bool		 large;		/* and made it larger: one of nlarge */
	uint64_t	 bytes;
	/* A plain (not TLS) stream from the client, with secrets in the run:
	 * read and searched for a placeholder (each piece before it goes on),
	 * not spliced. scan_sniff: the stream's first byte decides. */
	const struct secrets	*scan_in;
	bool			 scan_sniff;
	struct secret_scan	 scan;
	const struct secret	*found;
};

struct conn {
	struct proxy		*p;
	struct conn		*prev, *next;
	enum proxy_listener	 kind;
	enum conn_state		 st;
	int			 cfd, ufd;	/* client (in the sandbox), upstream */
	double			 t0, deadline;
	bool			 counted;	/* in p->nactive (not an overflow) */

	char			*in;		/* owned; request bytes, until the relay */
	size_t			 inlen;

	struct allow_target	 t;
	bool			 have_target;
	char			 rawhost[256];
	unsigned		 rawport;
	const struct net_rule	*rule;
	struct proxy_http_req	 http;
	struct rjob		*job;
	struct sockaddr_storage	 addrs[PROXY_MAX_ADDRS];
	int			 naddrs, ai;
	char			 addr[INET6_ADDRSTRLEN + 8];	/* the destination's */
	char			 upaddr[INET6_ADDRSTRLEN + 8];	/* proxied: the upstream's, connected to */
	int			 connect_err;
	char			 upin[4096];	/* the upstream proxy's answer */
	size_t			 uplen;

	const char		*verdict;
	char			 why[256];

	/* held for an answer (CS_ASK): the question's id (0: never asked),
	 * the allowlist's reason, and who answered yes and how */
	uint32_t		 ask_id;
	unsigned		 ask_secs;
	bool			 asked_ok;
	char			 ask_why[200];
	char			 ask_how[120];

	struct dir		 cu, uc;	/* client→upstream, upstream→client */

	/* transparent connections */
	enum proxy_sniff_kind	 sniff;		/* what the first bytes were */
	char			 tdst[INET6_ADDRSTRLEN];	/* the address connect() named */
	unsigned		 tport;
	bool			 pinned;	/* connect to pin_addr, which the
						   resolver gave for the name */
	int			 pin_family;
	uint8_t			 pin_addr[16];
};

/* A connect() the sandbox made that we sent to the transparent listener,
 * waiting for its accept: found by the client's local port. */
struct tpend {
	struct tpend		*next;
	int			 lfamily;	/* the listener it went to */
	unsigned		 lport;
	char			 dst[INET6_ADDRSTRLEN];
	unsigned		 port;
	char			 name[256];	/* from the resolver's map, or "" */
	int			 real_family;	/* where name led: 0 for none */
	uint8_t			 real[16];
	bool			 sniff;		/* the first bytes decide */
	double			 t;
};

/* What the sandbox's resolver answered: the address it gave (vaddr: the
 * real one, or a 198.18.0.0/15 stand-in for the host's loopback or a name
 * the upstream resolves) for a name, and where it leads. */
struct dmap {
	int			 vfamily;
	uint8_t			 vaddr[16];
	int			 rfamily;	/* 0: proxied, the upstream resolves */
	uint8_t			 raddr[16];
	char			 name[256];
};
#define PROXY_DMAP_MAX		4096	/* entries; the oldest go first */
#define PROXY_TPEND_SECS	10.0
#define PROXY_PEEK_SECS		1.0	/* for a client to speak first */
#define PROXY_TRANS_WAIT_MS	1000	/* a blocking socket's connect to us */
#define PROXY_DNS_JOBS		256	/* questions being resolved at once */
#define PROXY_DNS_TTL		30
#define PROXY_DNS_NOTED		64	/* refused names recorded one by one */
/* A name refused again within this is not recorded again: glibc asks for
 * A and AAAA, and again for each search domain. Not for the whole run,
 * since a session's next command must see its own refusals. */
#define PROXY_DNS_NOTE_SECS	10.0

struct proxy {
	const struct event_sink	*events;	/* borrowed: the run's */
	struct loop		*loop;
	const struct profile	*profile;
	struct allow		 allow;
	int			 lfd[PROXY_NFDS_MAX];	/* -1: none */
	bool			 lfd_paused;
	int			 tfd;		/* the 1 s housekeeping timer */
	struct resolver		*rs;
	struct conn		*conns;
	unsigned		 nactive, noverflow, max_conns;
	unsigned		 nlarge;	/* directions with a grown pipe */
	uint64_t		 total;

	/* proxied mode */
	bool			 upstream;
	char			 up_host[256];
	char			 up_port[8];
	char			 up_name[300];	/* "host:port", "[v6]:port", for messages */
	char			*up_auth;	/* owned; "Basic ..." or NULL */
	bool			 up_socks;	/* a SOCKS5 upstream, else HTTP CONNECT */

	/* transparent interception and the resolver */
	struct tpend		*tpend;		/* owned list */
	struct dmap		*dmap;		/* owned, ndmap of PROXY_DMAP_MAX */
	size_t			 ndmap, dmap_next;
	uint32_t		 synth_next;	/* stand-ins handed out */
	unsigned		 ndnsjobs;
	struct dnote {			/* refused names recorded lately */
		char		 name[256];
		double		 t;
	}			*dns_noted;	/* owned, PROXY_DNS_NOTED */
	uint64_t		 dns_more;	/* refusals beyond those */
	bool			 blind_noted;	/* proxy_transparent_blind said it */

	/* secrets: their hosts' TLS terminated (intercept.c) */
	const struct secrets	*secrets;	/* borrowed: the run's */
	struct intercept	*icpt;		/* owned */

	/* a refusal asked about first (proxy_set_ask) */
	proxy_ask_fn		 ask;
	void			*ask_arg;
	uint32_t		 ask_next;
};

static void	conn_pump(struct conn *);
static void	conn_start_connect(struct conn *);
static void	conn_cb(struct loop *, int, uint32_t, void *);
static void	dns_resolved(struct proxy *, struct rjob *);

static void
dir_init(struct dir *d)
{
	memset(d, 0, sizeof *d);
	d->src = d->dst = -1;
	d->pipe[0] = d->pipe[1] = -1;
}

static void
dir_release(struct dir *d)
{
	if (d->pipe[0] != -1)
		close(d->pipe[0]);
	if (d->pipe[1] != -1)
		close(d->pipe[1]);
	free(d->pend);
	d->pend = NULL;
}

static void
dir_queue(struct dir *d, const void *buf, size_t len)
{
	if (len == 0)
		return;
	d->pend = xrealloc(d->pend, d->plen + len);
	memcpy(d->pend + d->plen, buf, len);
	d->plen += len;
}

static void
human(char *buf, size_t len, uint64_t n)
{
	if (n < 1024)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024);
	else
		snprintf(buf, len, "%.1f MiB", (double)n / (1024 * 1024));
}

/* "host:port", or "[v6]:port": an IPv6 address is never left bare before
 * a port. */
static void
hostport(char *buf, size_t len, const char *host, unsigned port)
{
	bool	v6 = strchr(host, ':') != NULL;

	snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static void
conn_event(struct conn *c)
{
	struct proxy		*p = c->p;
	struct run_event	 ev;
	autofree char		*text = NULL;
	char			 out[32], in[32], dest[300];
	const char		*host;
	double			 now = now_mono();

	if (p->events == NULL || p->events->emit == NULL)
		return;
	host = c->have_target ? c->t.host : c->rawhost;
	human(out, sizeof out, c->cu.bytes);
	human(in, sizeof in, c->uc.bytes);
	hostport(dest, sizeof dest, host[0] != '\0' ? host : "?",
	    c->have_target ? c->t.port : c->rawport);
	if (c->kind == PROXY_FD_DNS)		/* a name asked, no port */
		snprintf(dest, sizeof dest, "%s", host);
	else if (host[0] == '\0' && c->rawport == 0 && !c->have_target)
		snprintf(dest, sizeof dest, "(no destination seen)");
	xasprintf(&text, "%s %s%s%s%s via %s%s%s: %s; out %s, in %s, %.3f s",
	    c->verdict != NULL ? c->verdict : "error", dest,
	    c->addr[0] != '\0' ? " (" : "", c->addr, c->addr[0] != '\0' ? ")" : "",
	    c->kind == PROXY_FD_HTTP ? "http proxy" : c->kind == PROXY_FD_DNS ?
	    "the sandbox's resolver" : c->kind == PROXY_FD_TRANS ?
	    (c->sniff == SNIFF_TLS ? "transparent, TLS server name" :
	    c->sniff == SNIFF_HTTP ? "transparent, HTTP Host" : "transparent") :
	    "socks5",
	    p->upstream ? " and upstream " : "", p->upstream ? p->up_name : "",
	    c->why, out, in, now - c->t0);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NET_CONN;
	ev.text = text;
	ev.host = host;
	ev.port = c->have_target ? c->t.port : c->rawport;
	ev.addr = c->addr;
	ev.verdict = c->verdict != NULL ? c->verdict : "error";
	ev.rule = c->why;
	ev.bytes_out = c->cu.bytes;
	ev.bytes_in = c->uc.bytes;
	ev.duration = now - c->t0;
	event_send(p->events, &ev);
}

static void
conn_free(struct conn *c)
{
	struct proxy	*p = c->p;

	conn_event(c);
	if (c->job != NULL)
		c->job->c = NULL;	/* answered later, then dropped */
	if (c->cfd != -1) {
		loop_del(p->loop, c->cfd);
		close(c->cfd);
	}
	if (c->ufd != -1) {
		loop_del(p->loop, c->ufd);
		close(c->ufd);
	}
	p->nlarge -= (unsigned)c->cu.large + (unsigned)c->uc.large;
	dir_release(&c->cu);
	dir_release(&c->uc);
	proxy_http_req_release(&c->http);
	free(c->in);
	if (c->counted)
		p->nactive--;
	else
		p->noverflow--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

static void
conn_set_why(struct conn *c, const char *verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_set_why(struct conn *c, const char *verdict, const char *fmt, ...)
{
	va_list	ap;

	c->verdict = verdict;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
}

/* Writes what is queued for the client; -1 on a dead client. */
static int
conn_flush_client(struct conn *c)
{
	struct dir	*d = &c->uc;
	ssize_t		 n;

	while (d->poff < d->plen) {
		n = send(c->cfd, d->pend + d->poff, d->plen - d->poff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			d->poff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		return (-1);
	}
	return (0);
}

/* After an error reply: send it, half-close, and read until the client
 * closes, so unread request bytes cannot turn the close into a reset that
 * destroys the reply. */
static void
conn_linger(struct conn *c)
{
	char	buf[4096];
	ssize_t	n;

	if (conn_flush_client(c) == -1) {
		conn_free(c);
		return;
	}
	if (c->uc.poff < c->uc.plen)
		return;
	if (!c->uc.shut) {
		shutdown(c->cfd, SHUT_WR);
		c->uc.shut = true;
	}
	for (;;) {
		n = recv(c->cfd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_free(c);	/* EOF or error: done */
		return;
	}
}

/* Ends a request with an error reply: HTTP code, or SOCKS reply rep. */
static void
conn_fail(struct conn *c, int code, uint8_t rep)
{
	char	buf[1024];
	size_t	n;

	if (c->ufd != -1) {
		loop_del(c->p->loop, c->ufd);
		close(c->ufd);
		c->ufd = -1;
	}
	if (c->kind == PROXY_FD_HTTP) {
		char body[768], dest[300];

		hostport(dest, sizeof dest, c->have_target ? c->t.host :
		    c->rawhost, c->rawport);
		if (!c->have_target && c->rawhost[0] == '\0')
			snprintf(body, sizeof body, "moat: %s%s",
			    code == 400 ? "bad proxy request: " : "", c->why);
		else if (c->verdict != NULL && strcmp(c->verdict, "refused") == 0)
			snprintf(body, sizeof body, "moat: %s not allowed by "
			    "profile %s (%s)", dest, c->p->profile->name, c->why);
		else
			snprintf(body, sizeof body, "moat: %s: %s", dest, c->why);
		n = proxy_http_reply(buf, sizeof buf, code, body);
		dir_queue(&c->uc, buf, n);
	} else if (c->kind == PROXY_FD_TRANS) {
		/* Nothing was promised on this socket; a client that spoke
		 * TLS or HTTP gets an answer in its own protocol. */
		if (c->sniff == SNIFF_TLS) {
			/* A fatal alert: access_denied (49), internal_error (80). */
			static const uint8_t denied[] = { 21, 3, 1, 0, 2, 2, 49 };
			static const uint8_t failed[] = { 21, 3, 1, 0, 2, 2, 80 };

			dir_queue(&c->uc, code == 403 ? denied : failed, sizeof denied);
		} else if (c->sniff == SNIFF_HTTP) {
			char body[768], dest[300];

			hostport(dest, sizeof dest, c->have_target ? c->t.host :
			    c->tdst, c->tport);
			snprintf(body, sizeof body, code == 403 ? "moat: %s not "
			    "allowed by profile %s (%s)" : "moat: %s: %s%s", dest,
			    code == 403 ? c->p->profile->name : c->why,
			    code == 403 ? c->why : "");
			n = proxy_http_reply(buf, sizeof buf, code, body);
			dir_queue(&c->uc, buf, n);
		}
	} else if (rep != 0xff) {
		n = proxy_socks_reply((uint8_t *)buf, rep);
		dir_queue(&c->uc, buf, n);
	}
	c->st = CS_LINGER;
	c->deadline = now_mono() + PROXY_LINGER_SECS;
	conn_linger(c);
}

static void
conn_refuse(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conn_refuse(struct conn *c, const char *fmt, ...)
{
	va_list	ap;

	c->verdict = "refused";
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	conn_fail(c, 403, SOCKS_REP_NOT_ALLOWED);
}

/* Bytes moved: the idle clock (net-idle-timeout) starts again. */
static void
conn_active(struct conn *c)
{
	if (c->p->profile->net_idle_timeout > 0)
		c->deadline = now_mono() + c->p->profile->net_idle_timeout;
}

/* Creates the pipes and starts moving bytes both ways. */
static void
conn_relay(struct conn *c)
{
	struct dir	*d[2] = { &c->cu, &c->uc };

	c->st = CS_RELAY;
	c->cu.src = c->cfd;
	c->cu.dst = c->ufd;
	c->uc.src = c->ufd;
	c->uc.dst = c->cfd;
	for (int i = 0; i < 2; i++) {
		int	sz;

		if (pipe2(d[i]->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
			conn_set_why(c, "failed", "pipe: %s", strerror(errno));
			conn_free(c);
			return;
		}
		/* The default size (64 KiB; 8 KiB once the user's pipe
		 * budget, fs/pipe-user-pages-soft, is spent) until the
		 * direction proves busy: see dir_grow. */
		sz = fcntl(d[i]->pipe[1], F_GETPIPE_SZ);
		d[i]->cap = sz > 0 ? (size_t)sz : 4096;
	}
	/* The client's side is always the sandbox's loopback: no loss, no
	 * queue to share. Pacing there (bbr, a common default) only adds
	 * timers and small bursts, and the relay paid for them in its
	 * softirq work: Reno costs a third less CPU per byte. Every user
	 * may choose Reno; a kernel without it keeps its default. */
	(void)setsockopt(c->cfd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
	free(c->in);
	c->in = NULL;
	conn_active(c);
	conn_pump(c);
}

/* A direction that has carried a few pipes' worth is a bulk transfer: a
 * 1 MiB pipe moves it with a quarter of the calls and wakeups, and costs
 * about half the CPU per byte of a 64 KiB one. Growing only then, and at
 * most PROXY_LARGE_PIPES at once, keeps the many idle or chatty
 * connections within the user's pipe budget, fs/pipe-user-pages-soft (1 MiB
 * pipes for all would spend the default 64 MiB at 32 connections, and each
 * pipe after that, the user's other programs' too, would get 8 KiB). Tried
 * once; on refusal a smaller step, then the size it has. */
static void
dir_grow(struct proxy *p, struct dir *d)
{
	static const int	sizes[] = { PROXY_PIPE_MAX, PROXY_PIPE_MIN };
	int			sz;

	d->grown = true;
	for (size_t i = 0; i < nitems(sizes); i++) {
		if ((size_t)sizes[i] <= d->cap)
			return;
		if ((sz = fcntl(d->pipe[1], F_SETPIPE_SZ, sizes[i])) > 0) {
			d->cap = (size_t)sz;
			d->large = true;
			p->nlarge++;
			return;
		}
	}
}

/* A stream that begins as TLS (a handshake record) or SSH: encrypted from
 * the next bytes on, where no placeholder can be read, so it is spliced. */
static bool
dir_scan_tls(const struct dir *d, const char *buf, size_t n)
{
	(void)d;
	return ((n >= 1 && (unsigned char)buf[0] == 0x16) ||
	    (n >= 4 && memcmp(buf, "SSH-", 4) == 0));
}

/* Moves what can move in one direction. 1: progress, 0: blocked, -1: dead,
 * -2: a placeholder in a searched one (d->found). */
static int
dir_pump(struct proxy *p, struct dir *d)
{
	ssize_t	n;
	int	progress = 0;

	for (;;) {
		bool moved = false;

		if (d->poff == d->plen)
			d->poff = d->plen = 0;
		while (d->poff < d->plen) {
			n = send(d->dst, d->pend + d->poff, d->plen - d->poff,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				d->poff += (size_t)n;
				d->bytes += (uint64_t)n;
				moved = true;
				continue;
			}
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return (progress);
			return (-1);
		}
		while (d->fill > 0) {
			n = splice(d->pipe[0], NULL, d->dst, NULL, d->fill,
			    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				d->fill -= (size_t)n;
				d->bytes += (uint64_t)n;
				moved = true;
				continue;
			}
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				break;
			return (-1);
		}
		if (d->eof) {
			if (d->fill == 0 && !d->shut) {
				shutdown(d->dst, SHUT_WR);
				d->shut = true;
			}
			return (progress | moved);
		}
		/* Reading when the pipe holds data may report EAGAIN because
		 * the pipe is full; the drain above then runs again on the
		 * destination's next EPOLLOUT, and reads after it. */
		if (!d->grown && d->bytes + d->fill >= 4 * d->cap &&
		    p->nlarge < PROXY_LARGE_PIPES && d->scan_in == NULL)
			dir_grow(p, d);
		if (d->scan_in != NULL) {
			char	buf[PROXY_SCAN_BUF];

			/* Read only once what was read before is sent: one
			 * buffer per direction at most. */
			if ((n = recv(d->src, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
				if (d->scan_sniff && dir_scan_tls(d, buf, (size_t)n))
					d->scan_in = NULL;
				else if ((d->found = secret_scan(&d->scan, d->scan_in,
				    ~0ULL, buf, (size_t)n)) != NULL)
					return (-2);
				d->scan_sniff = false;
				dir_queue(d, buf, (size_t)n);
				moved = true;
			} else if (n == 0) {
				d->eof = true;
				moved = true;
			} else if (errno == EINTR) {
				moved = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				return (-1);
			}
			if (!moved)
				return (progress);
			progress = 1;
			continue;
		}
		n = splice(d->src, NULL, d->pipe[1], NULL, PROXY_PIPE_MAX,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			d->fill += (size_t)n;
			moved = true;
		} else if (n == 0) {
			d->eof = true;
			moved = true;
		} else if (errno == EINTR) {
			moved = true;
		} else if (errno != EAGAIN) {
			return (-1);
		}
		if (!moved)
			return (progress);
		progress = 1;
	}
}

/* A placeholder in what a plain HTTP client sent after its request head
 * (a body, a later request on the connection): nothing of it went on.
 * The upstream's side is closed; the client hears 403 when nothing of a
 * response reached it yet. */
static void
conn_secret_out(struct conn *c)
{
	char	dest[300];

	hostport(dest, sizeof dest, c->have_target ? c->t.host : c->rawhost,
	    c->have_target ? c->t.port : c->rawport);
	c->verdict = "refused";
	snprintf(c->why, sizeof c->why, "the placeholder of secret %s in what "
	    "the client sent on a plain (not TLS) connection to %.100s: a secret "
	    "goes only to its own hosts, over HTTPS", c->cu.found->name, dest);
	if (c->uc.bytes == 0 && c->uc.fill == 0 && c->uc.poff == c->uc.plen) {
		c->cu.scan_in = NULL;
		conn_fail(c, 403, SOCKS_REP_NOT_ALLOWED);
	} else
		conn_free(c);
}

static void
conn_pump(struct conn *c)
{
	int	a, b;

	a = dir_pump(c->p, &c->cu);
	if (a == -2) {
		conn_secret_out(c);
		return;
	}
	b = dir_pump(c->p, &c->uc);
	if (a == -1 || b == -1 || (c->cu.shut && c->uc.shut))
		conn_free(c);
	else if (a > 0 || b > 0)
		conn_active(c);
}

/* Pumps only the directions this event can unblock: data to read on a
 * socket feeds the direction it is the source of, room to write drains the
 * direction it is the destination of. The other direction's splice would
 * only say EAGAIN, and at gigabytes a second those calls add up. */
static void
conn_pump_events(struct conn *c, int fd, uint32_t events)
{
	bool	in = (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
	bool	out = (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
	bool	cu = (fd == c->cfd && in) || (fd == c->ufd && out);
	bool	uc = (fd == c->ufd && in) || (fd == c->cfd && out);
	int	a = 0, b = 0;

	if (cu && (a = dir_pump(c->p, &c->cu)) == -2) {
		conn_secret_out(c);
		return;
	}
	if (uc)
		b = dir_pump(c->p, &c->uc);
	if (a == -1 || b == -1 || (c->cu.shut && c->uc.shut))
		conn_free(c);
	else if (a > 0 || b > 0)
		conn_active(c);
}

/* A connection to one of a secret's hosts: answered here as the relay
 * would, then handed with both sockets to an interception thread
 * (intercept.c), which terminates TLS and swaps the secret in. The
 * connection's own event says it was intercepted. true: handed over (or
 * failed and freed); false: not a secret's host, relay as usual. */
static bool
conn_intercept(struct conn *c)
{
	struct proxy	*p = c->p;
	uint64_t	 named;
	char		 names[200], buf[64];
	const char	*verify;
	struct merr	 e;
	size_t		 n = 0;
	int		 cfd, ufd;

	if (!c->have_target || c->t.is_addr ||
	    !intercept_match(p->icpt, &c->t, &named, names, sizeof names))
		return (false);
	if (c->kind == PROXY_FD_HTTP && !c->http.connect)
		return (false);		/* plain http://: nothing to swap in TLS */
	if (c->kind == PROXY_FD_HTTP)
		n = proxy_http_reply(buf, sizeof buf, 200, "");
	else if (c->kind != PROXY_FD_TRANS)
		n = proxy_socks_reply((uint8_t *)buf, SOCKS_REP_OK);
	if (n > 0 && send(c->cfd, buf, n, MSG_NOSIGNAL) != (ssize_t)n) {
		conn_set_why(c, "error", "the client went away");
		conn_free(c);
		return (true);
	}
	/* The host's loopback presents a certificate for localhost. */
	verify = c->rule != NULL && c->rule->kind == RULE_LOCALHOST ? "localhost" :
	    c->t.host;
	size_t	wl = strlen(c->why);
	snprintf(c->why + wl, sizeof c->why - wl, "; TLS intercepted for secret %s",
	    names);
	loop_del(p->loop, c->cfd);
	loop_del(p->loop, c->ufd);
	cfd = c->cfd;
	ufd = c->ufd;
	c->cfd = c->ufd = -1;
	if (intercept_start(p->icpt, cfd, ufd, c->t.host, c->t.port, verify, named,
	    c->in, c->inlen, &e) == -1)
		conn_set_why(c, "error", "%s", e.msg);
	c->inlen = 0;
	conn_free(c);
	return (true);
}

/* The request is allowed and connected (or tunnelled upstream): answer the
 * client and start the relay. Bytes already read past the request go on. */
static void
conn_established(struct conn *c, const char *early_in, size_t early_in_len)
{
	char	buf[64];
	size_t	n;

	c->verdict = "allowed";
	if (c->why[0] == '\0')
		snprintf(c->why, sizeof c->why, "%s",
		    c->rule != NULL ? c->rule->text : "proxied");
	if (c->p->icpt != NULL && early_in_len == 0 && conn_intercept(c))
		return;
	if (c->kind == PROXY_FD_HTTP && c->http.connect) {
		n = proxy_http_reply(buf, sizeof buf, 200, "");
		dir_queue(&c->uc, buf, n);
	} else if (c->kind == PROXY_FD_HTTP) {
		dir_queue(&c->cu, c->http.fwd, c->http.fwd_len);
	} else if (c->kind == PROXY_FD_TRANS) {
		/* The client believes it is connected already. */
	} else {
		n = proxy_socks_reply((uint8_t *)buf, SOCKS_REP_OK);
		dir_queue(&c->uc, buf, n);
	}
	dir_queue(&c->uc, early_in, early_in_len);
	dir_queue(&c->cu, c->in, c->inlen);
	/* With secrets, what a client sends on a plain connection (plain
	 * HTTP, or a tunnel or transparent connection that does not begin
	 * as TLS) is searched too, from where its first bytes, searched in
	 * conn_request, ended. */
	if (c->p->secrets != NULL && c->p->secrets->n > 0) {
		c->cu.scan_in = c->p->secrets;
		if (c->cu.plen == 0)
			c->cu.scan_sniff = true;
		else if (!(c->kind == PROXY_FD_HTTP && !c->http.connect) &&
		    dir_scan_tls(&c->cu, c->cu.pend, c->cu.plen))
			c->cu.scan_in = NULL;
		else
			(void)secret_scan(&c->cu.scan, c->cu.scan_in, ~0ULL,
			    c->cu.pend, c->cu.plen);
	}
	c->inlen = 0;
	conn_relay(c);
}

/* The address alone, for the event's addr field. */
static void
sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr,
		    buf, (socklen_t)len);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr,
		    buf, (socklen_t)len);
}

static void
conn_add_addr(struct conn *c, int family, const uint8_t *addr, unsigned port)
{
	struct sockaddr_storage	*ss;

	if (c->naddrs >= PROXY_MAX_ADDRS)
		return;
	ss = &c->addrs[c->naddrs++];
	memset(ss, 0, sizeof *ss);
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, addr, 16);
		s6->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, addr, 4);
		s4->sin_port = htons((uint16_t)port);
	}
}

static const uint8_t *
sockaddr_bytes(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return ((const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return ((const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
}

/* The proxied mode's request to the upstream proxy: an HTTP CONNECT, or a
 * SOCKS5 greeting and CONNECT sent together (the name goes as a name; the
 * upstream resolves it, for socks5:// as for socks5h://). */
static void
conn_send_upstream_connect(struct conn *c)
{
	autofree char	*req = NULL;
	size_t		 len;
	bool		 v6 = strchr(c->t.host, ':') != NULL;
	/* The host's loopback is the upstream's "localhost": the name the
	 * sandbox uses for it means nothing there. */
	const char	*host = strcmp(c->t.host, RULE_HOST_LOOPBACK) == 0 ?
			    "localhost" : c->t.host;

	if (c->p->up_socks) {
		size_t	hl = strlen(host);

		req = xmalloc(3 + 5 + 16 + 256 + 2);
		memcpy(req, "\5\1\0\5\1\0", 6);
		len = 6;
		if (c->t.is_addr) {
			req[len++] = c->t.family == AF_INET ? 1 : 4;
			memcpy(req + len, c->t.addr, c->t.family == AF_INET ? 4 : 16);
			len += c->t.family == AF_INET ? 4 : 16;
		} else {
			req[len++] = 3;
			req[len++] = (char)hl;
			memcpy(req + len, host, hl);
			len += hl;
		}
		req[len++] = (char)(c->t.port >> 8);
		req[len++] = (char)(c->t.port & 0xff);
	} else {
		xasprintf(&req, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
		    "%s%s%s\r\n", v6 ? "[" : "", host, v6 ? "]" : "",
		    c->t.port, v6 ? "[" : "", host, v6 ? "]" : "", c->t.port,
		    c->p->up_auth != NULL ? "Proxy-Authorization: " : "",
		    c->p->up_auth != NULL ? c->p->up_auth : "",
		    c->p->up_auth != NULL ? "\r\n" : "");
		len = strlen(req);
	}
	/* A fresh socket's buffer takes a few hundred bytes at once. */
	if (send(c->ufd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len) {
		conn_set_why(c, "failed", "upstream proxy %s: %s", c->p->up_name,
		    strerror(errno));
		conn_fail(c, 502, SOCKS_REP_FAIL);
		return;
	}
	c->st = CS_UPSTREAM;
}

/* The SOCKS5 upstream's answer: 0 more, else the reply's length (its
 * method choice included); -1 malformed. */
static ssize_t
conn_upstream_socks_len(const uint8_t *b, size_t n)
{
	size_t	need = 2 + 4;

	if (n >= 1 && b[0] != 5)
		return (-1);
	if (n >= 2 && b[1] != 0)
		return (-1);		/* no acceptable method: it wants auth */
	if (n < need + 1)
		return (0);
	if (b[2] != 5)
		return (-1);
	switch (b[5]) {
	case 1: need += 4; break;
	case 4: need += 16; break;
	case 3: need += 1 + (size_t)b[6]; break;
	default: return (-1);
	}
	need += 2;
	return (n >= need ? (ssize_t)need : 0);
}

static void
conn_upstream_socks(struct conn *c)
{
	static const char *const reps[] = {
		"succeeded", "general failure", "not allowed by its ruleset",
		"network unreachable", "host unreachable", "connection refused",
		"TTL expired", "command not supported", "address type not supported",
	};
	ssize_t	len = conn_upstream_socks_len((uint8_t *)c->upin, c->uplen);
	uint8_t	rep;

	if (len == 0 && c->uplen < sizeof c->upin - 1)
		return;
	if (len <= 0) {
		conn_set_why(c, "failed", "upstream SOCKS5 proxy %s: %s", c->p->up_name,
		    c->uplen >= 2 && (uint8_t)c->upin[1] == 0xff ?
		    "it wants authentication" : "malformed answer");
		conn_fail(c, 502, SOCKS_REP_FAIL);
		return;
	}
	if ((rep = (uint8_t)c->upin[3]) != 0) {
		conn_set_why(c, "failed", "upstream SOCKS5 proxy %s: %s", c->p->up_name,
		    rep < nitems(reps) ? reps[rep] : "unknown error");
		conn_fail(c, 502, rep < nitems(reps) ? rep : SOCKS_REP_FAIL);
		return;
	}
	conn_established(c, c->upin + len, c->uplen - (size_t)len);
}

static void
conn_upstream_read(struct conn *c)
{
	ssize_t		 n;
	const char	*end;
	size_t		 head;

	for (;;) {
		n = recv(c->ufd, c->upin + c->uplen, sizeof c->upin - 1 - c->uplen,
		    MSG_DONTWAIT);
		if (n > 0) {
			c->uplen += (size_t)n;
			c->upin[c->uplen] = '\0';
			if (c->p->up_socks) {
				if (conn_upstream_socks_len((uint8_t *)c->upin,
				    c->uplen) != 0 || c->uplen == sizeof c->upin - 1) {
					conn_upstream_socks(c);
					return;
				}
				continue;
			}
			if ((end = strstr(c->upin, "\r\n\r\n")) != NULL)
				break;
			if (c->uplen == sizeof c->upin - 1)
				break;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_set_why(c, "failed", "upstream proxy %s closed without an "
		    "answer", c->p->up_name);
		conn_fail(c, 502, SOCKS_REP_FAIL);
		return;
	}
	end = strstr(c->upin, "\r\n\r\n");
	if (end == NULL || strncmp(c->upin, "HTTP/1.", 7) != 0 ||
	    strncmp(c->upin + 8, " 200", 4) != 0) {
		size_t l = strcspn(c->upin, "\r\n");

		if (l > 80)
			l = 80;
		c->upin[l] = '\0';
		conn_set_why(c, "failed", "upstream proxy %s answered \"%s\"",
		    c->p->up_name, c->upin);
		conn_fail(c, 502, SOCKS_REP_FAIL);
		return;
	}
	head = (size_t)(end + 4 - c->upin);
	conn_established(c, c->upin + head, c->uplen - head);
}

/* Tries the next address; the loop reports completion as EPOLLOUT. */
static void
conn_try_next(struct conn *c)
{
	struct merr	e;
	int		fd;

	for (; c->ai < c->naddrs; c->ai++) {
		struct sockaddr_storage *ss = &c->addrs[c->ai];
		socklen_t len = ss->ss_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

		if (c->ufd != -1) {
			loop_del(c->p->loop, c->ufd);
			close(c->ufd);
			c->ufd = -1;
		}
		/* In proxied mode the address connected to is the upstream's;
		 * the destination's stays what the request named. */
		if (c->p->upstream)
			sockaddr_text(ss, c->upaddr, sizeof c->upaddr);
		else
			sockaddr_text(ss, c->addr, sizeof c->addr);
		fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			c->connect_err = errno;
			continue;
		}
		c->ufd = fd;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
		    sizeof(int));
		if (loop_add(c->p->loop, fd, PROXY_EVENTS, conn_cb, c, &e) == -1) {
			c->connect_err = e.err;
			close(fd);
			c->ufd = -1;
			continue;
		}
		c->st = CS_CONNECT;
		if (connect(fd, (struct sockaddr *)ss, len) == 0 ||
		    errno == EINPROGRESS)
			return;		/* EPOLLOUT says how it went */
		c->connect_err = errno;
	}
	{
		char	at[INET6_ADDRSTRLEN + 16];

		hostport(at, sizeof at, c->p->upstream ? c->upaddr : c->addr,
		    c->p->upstream ? (unsigned)atoi(c->p->up_port) : c->t.port);
		if (c->p->upstream)
			conn_set_why(c, "failed", "upstream proxy %s: connect%s%s: %s",
			    c->p->up_name, strcmp(at, c->p->up_name) != 0 ? " " : "",
			    strcmp(at, c->p->up_name) != 0 ? at : "",
			    strerror(c->connect_err != 0 ? c->connect_err : ECONNREFUSED));
		else
			conn_set_why(c, "failed", "connect %s: %s", at,
			    strerror(c->connect_err != 0 ? c->connect_err :
			    ECONNREFUSED));
	}
	conn_fail(c, 502, c->connect_err == ECONNREFUSED ? SOCKS_REP_REFUSED :
	    c->connect_err == ENETUNREACH ? SOCKS_REP_NET_UNREACH :
	    SOCKS_REP_HOST_UNREACH);
}

static void
conn_connect_done(struct conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof err;

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		struct sockaddr_storage	ss;
		socklen_t		sl = sizeof ss;

		/* A completed connect has a peer; EPOLLOUT alone on a
		 * still-connecting socket does not happen, but be sure. */
		if (getpeername(c->ufd, (struct sockaddr *)&ss, &sl) == -1)
			return;
		if (c->p->upstream)
			conn_send_upstream_connect(c);
		else
			conn_established(c, NULL, 0);
		return;
	}
	c->connect_err = err;
	c->ai++;
	conn_try_next(c);
}

static void
conn_start_connect(struct conn *c)
{
	c->ai = 0;
	c->deadline = now_mono() + PROXY_CONN_SECS;
	if (c->naddrs == 0) {
		conn_set_why(c, "failed", "no address");
		conn_fail(c, 502, SOCKS_REP_HOST_UNREACH);
		return;
	}
	conn_try_next(c);
}

/* The address a refusal was about, for the event. */
static void
conn_note_addr(struct conn *c, int family, const uint8_t *addr)
{
	if (c->addr[0] == '\0')
		inet_ntop(family, addr, c->addr, sizeof c->addr);
}

/* Keeps the addresses the policy allows, in order; refuses when none is. */
static void
conn_filter_addrs(struct conn *c, const struct sockaddr **sas, int n)
{
	char	why[200] = "";

	c->naddrs = 0;
	for (int i = 0; i < n; i++) {
		const uint8_t	*a = sockaddr_bytes(sas[i]);
		char		 w[200];

		if (sas[i]->sa_family != AF_INET && sas[i]->sa_family != AF_INET6)
			continue;
		if (allow_addr_ok(&c->p->allow, c->rule, sas[i]->sa_family, a, w,
		    sizeof w))
			conn_add_addr(c, sas[i]->sa_family, a, c->t.port);
		else if (why[0] == '\0') {
			snprintf(why, sizeof why, "%s", w);
			conn_note_addr(c, sas[i]->sa_family, a);
		}
	}
	if (c->naddrs == 0) {
		if (why[0] != '\0')
			conn_refuse(c, "resolves to %s", why);
		else {
			conn_set_why(c, "failed", "no usable address for %s",
			    c->t.host);
			conn_fail(c, 502, SOCKS_REP_HOST_UNREACH);
		}
		return;
	}
	conn_start_connect(c);
}

static void
conn_resolved(struct conn *c, struct rjob *j)
{
	const struct sockaddr	*sas[PROXY_MAX_ADDRS * 2];
	int			 n = 0;

	c->job = NULL;
	if (j->err != 0) {
		conn_set_why(c, "failed", "%s%s%scannot resolve %s: %s",
		    c->p->upstream ? "upstream proxy " : "",
		    c->p->upstream ? c->p->up_name : "", c->p->upstream ? ": " : "",
		    j->host, j->err == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(j->err));
		conn_fail(c, 502, SOCKS_REP_HOST_UNREACH);
		return;
	}
	for (struct addrinfo *ai = j->res; ai != NULL && n < (int)nitems(sas);
	    ai = ai->ai_next)
		sas[n++] = ai->ai_addr;
	if (c->p->upstream) {
		/* The upstream proxy was named by the profile: no policy. */
		c->naddrs = 0;
		for (int i = 0; i < n; i++)
			conn_add_addr(c, sas[i]->sa_family, sockaddr_bytes(sas[i]),
			    (unsigned)atoi(c->p->up_port));
		conn_start_connect(c);
		return;
	}
	conn_filter_addrs(c, sas, n);
}

static void
proxy_resolver_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct proxy	*p = arg;
	struct rjob	*done, *next;
	uint64_t	 v;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof v) == -1) {
		/* EAGAIN: a spurious wakeup; the list decides. */
	}
	pthread_mutex_lock(&p->rs->mu);
	done = p->rs->done;
	p->rs->done = NULL;
	pthread_mutex_unlock(&p->rs->mu);
	for (; done != NULL; done = next) {
		next = done->next;
		if (done->c != NULL)
			conn_resolved(done->c, done);
		else if (done->dns)
			dns_resolved(p, done);
		if (done->res != NULL)
			freeaddrinfo(done->res);
		free(done);
	}
}

static void
conn_resolve(struct conn *c, const char *host, const char *port)
{
	struct rjob	*j = xcalloc(1, sizeof *j);

	snprintf(j->host, sizeof j->host, "%s", host);
	snprintf(j->port, sizeof j->port, "%s", port);
	j->c = c;
	c->st = CS_RESOLVE;
	c->deadline = now_mono() + PROXY_CONN_SECS;
	if (resolver_submit(c->p->rs, j) == -1) {
		free(j);
		conn_set_why(c, "failed", "cannot start a resolver thread: %s",
		    strerror(errno));
		conn_fail(c, 502, SOCKS_REP_FAIL);
		return;
	}
	c->job = j;
}

/* A destination the allowlist refuses: held, when someone can be asked
 * (once per connection), until proxy_answer or its time is up. The client
 * waits as on a slow resolver. false: refuse it now. */
static bool
conn_ask(struct conn *c, const char *why)
{
	struct proxy	*p = c->p;
	unsigned	 secs;

	if (p->ask == NULL || c->ask_id != 0 || c->kind == PROXY_FD_DNS)
		return (false);
	if (++p->ask_next == 0)
		p->ask_next = 1;
	c->ask_id = p->ask_next;
	snprintf(c->ask_why, sizeof c->ask_why, "%s", why);
	secs = p->ask(p->ask_arg, c->ask_id, c->rawhost, c->rawport, why);
	if (secs == 0)
		return (false);
	c->ask_secs = secs;
	c->st = CS_ASK;
	c->deadline = now_mono() + secs;
	return (true);
}

/* Whether a refusal could be asked about now (proxy_ask_fn with id 0). */
static bool
proxy_may_ask(struct proxy *p, const char *host, unsigned port)
{
	return (p->ask != NULL && p->ask(p->ask_arg, 0, host, port, "") > 0);
}

/* The request names host:port: decide, then resolve or connect. */
static void
conn_request(struct conn *c, const char *host, unsigned port)
{
	struct proxy			*p = c->p;
	const char			*why = NULL;
	const struct net_resolve	*st;
	char				 w[200], pbuf[8];

	snprintf(c->rawhost, sizeof c->rawhost, "%s", host);
	c->rawport = port;
	/* A secret's placeholder in a host name, or in a plain HTTP request
	 * (its head and what came with it), goes nowhere: the value is only
	 * ever swapped in on the secret's own hosts, over TLS. */
	{
		const struct secret	*x = secret_http_placeholder_in(p->secrets,
		    host, strlen(host));
		bool			 plain = x == NULL && c->http.fwd != NULL;

		if (plain)
			x = secret_http_placeholder_in(p->secrets, c->http.fwd,
			    c->http.fwd_len);
		if (x == NULL && c->inlen > 0)
			x = secret_http_placeholder_in(p->secrets, c->in, c->inlen);
		if (x != NULL) {
			conn_refuse(c, "the placeholder of secret %s %s: a secret "
			    "goes only to its own hosts, over HTTPS", x->name,
			    plain ? "in a plain HTTP request" : c->inlen > 0 ?
			    "in the connection's first bytes" : "in the host name");
			return;
		}
	}
	if (allow_target_set(&c->t, host, port) == -1) {
		conn_set_why(c, "error", "not a valid host name or address");
		conn_fail(c, 400, SOCKS_REP_HOST_UNREACH);
		return;
	}
	c->have_target = true;
	/* An address named by the request is the event's address, in both
	 * modes and whatever the verdict (proxied: a name is resolved by the
	 * upstream, unseen, and has none). */
	if (c->t.is_addr)
		conn_note_addr(c, c->t.family, c->t.addr);
	c->rule = allow_match(&p->allow, &c->t, &why);
	if (c->rule == NULL && why != NULL && !c->asked_ok) {
		if (!conn_ask(c, why))
			conn_refuse(c, "%s", why);
		return;
	}
	snprintf(c->why, sizeof c->why, "%s%s%s", c->rule != NULL ?
	    c->rule->text : c->asked_ok ? "not in the allowlist" : "proxied",
	    c->ask_how[0] != '\0' ? "; " : "", c->ask_how);
	c->naddrs = 0;

	/* An address is judged as one, in both modes. */
	if (c->t.is_addr) {
		if (!allow_addr_ok(&p->allow, c->rule, c->t.family, c->t.addr, w,
		    sizeof w)) {
			conn_note_addr(c, c->t.family, c->t.addr);
			conn_refuse(c, "%s", w);
			return;
		}
		if (!p->upstream) {
			conn_add_addr(c, c->t.family, c->t.addr, port);
			conn_start_connect(c);
			return;
		}
	}
	if (p->upstream) {
		struct allow_target	ut;

		/* Names go to the upstream proxy, which resolves them. */
		if (allow_target_set(&ut, p->up_host,
		    (unsigned)atoi(p->up_port)) == 0 && ut.is_addr) {
			conn_add_addr(c, ut.family, ut.addr, ut.port);
			conn_start_connect(c);
		} else
			conn_resolve(c, p->up_host, p->up_port);
		return;
	}
	if (c->pinned) {
		/* The address the sandbox's resolver gave for this name, judged
		 * when it was given; judged again under this port's rule. */
		if (!allow_addr_ok(&p->allow, c->rule, c->pin_family, c->pin_addr,
		    w, sizeof w)) {
			conn_note_addr(c, c->pin_family, c->pin_addr);
			conn_refuse(c, "resolves to %s", w);
			return;
		}
		conn_add_addr(c, c->pin_family, c->pin_addr, port);
		conn_start_connect(c);
		return;
	}
	if (c->rule != NULL && c->rule->kind == RULE_LOCALHOST) {
		static const uint8_t lo4[4] = { 127, 0, 0, 1 };
		static const uint8_t lo6[16] = { [15] = 1 };

		/* "localhost:PORT" is the host's loopback, never DNS. */
		conn_add_addr(c, AF_INET, lo4, port);
		conn_add_addr(c, AF_INET6, lo6, port);
		conn_start_connect(c);
		return;
	}
	if ((st = allow_lookup_static(&p->allow, c->t.host)) != NULL) {
		/* net-resolve answers face the same address policy. */
		if (!allow_addr_ok(&p->allow, c->rule, st->family, st->addr, w,
		    sizeof w)) {
			conn_note_addr(c, st->family, st->addr);
			conn_refuse(c, "resolves to %s", w);
			return;
		}
		conn_add_addr(c, st->family, st->addr, port);
		conn_start_connect(c);
		return;
	}
	snprintf(pbuf, sizeof pbuf, "%u", port);
	conn_resolve(c, c->t.host, pbuf);
}

/* Reads what the client sent, up to the buffer's end. -1: closed. */
static int
conn_read_in(struct conn *c, size_t max)
{
	ssize_t	n;

	if (c->in == NULL)
		c->in = xmalloc(PROXY_HEAD_MAX + 1);
	while (c->inlen < max) {
		n = recv(c->cfd, c->in + c->inlen, max - c->inlen, MSG_DONTWAIT);
		if (n > 0) {
			c->inlen += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		return (-1);
	}
	return (0);
}

static void
conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
}

static void
conn_http_head(struct conn *c)
{
	const char		*why = "malformed request";
	enum proxy_parse	 r;
	int			 closed;

	closed = conn_read_in(c, PROXY_HEAD_MAX);
	r = proxy_http_parse(c->in, c->inlen, &c->http, &why);
	if (r == PARSE_MORE && closed == 0)
		return;
	if (r == PARSE_MORE) {
		conn_set_why(c, "error", "client closed before a complete request");
		conn_free(c);
		return;
	}
	if (r == PARSE_BAD) {
		conn_set_why(c, "error", "%s", why);
		conn_fail(c, 400, 0);
		return;
	}
	conn_consume(c, c->http.head_len);
	conn_request(c, c->http.host, c->http.port);
}

static void
conn_socks(struct conn *c)
{
	struct proxy_socks_req	 req;
	enum proxy_parse	 r;
	size_t			 used = 0;
	bool			 noauth;
	uint8_t			 rep;
	int			 closed;

	closed = conn_read_in(c, 1024);
	if (c->st == CS_SOCKS_HELLO) {
		r = proxy_socks_greeting((uint8_t *)c->in, c->inlen, &used, &noauth);
		if (r == PARSE_MORE && closed == 0)
			return;
		if (r != PARSE_OK) {
			conn_set_why(c, "error", "%s", r == PARSE_MORE ?
			    "client closed before a complete greeting" :
			    "not a SOCKS5 greeting");
			conn_free(c);
			return;
		}
		conn_consume(c, used);
		if (!noauth) {
			dir_queue(&c->uc, "\5\377", 2);
			conn_set_why(c, "error", "client offers no SOCKS5 no-auth method");
			c->st = CS_LINGER;
			c->deadline = now_mono() + PROXY_LINGER_SECS;
			conn_linger(c);
			return;
		}
		dir_queue(&c->uc, "\5\0", 2);
		if (conn_flush_client(c) == -1) {
			conn_set_why(c, "error", "client went away");
			conn_free(c);
			return;
		}
		c->st = CS_SOCKS_REQ;
	}
	r = proxy_socks_request((uint8_t *)c->in, c->inlen, &used, &req, &rep);
	if (r == PARSE_MORE && closed == 0)
		return;
	if (r == PARSE_MORE) {
		conn_set_why(c, "error", "client closed before a complete request");
		conn_free(c);
		return;
	}
	if (r == PARSE_BAD) {
		if (rep == SOCKS_REP_CMD)
			conn_set_why(c, "refused", "SOCKS5 command %u not supported "
			    "(only CONNECT)", req.cmd);
		else
			conn_set_why(c, "error", "malformed SOCKS5 request");
		conn_fail(c, 400, rep);
		return;
	}
	conn_consume(c, used);
	conn_request(c, req.host, req.port);
}

/* A transparent connection whose destination no rule allows by address
 * alone: the TLS server name or the HTTP Host of its first bytes decides,
 * else (another protocol, or nothing said in PROXY_PEEK_SECS) the address. */
static void
conn_peek(struct conn *c, bool timed_out)
{
	enum proxy_parse	r;
	char			host[256];
	int			closed = 0;

	if (!timed_out)
		closed = conn_read_in(c, PROXY_HEAD_MAX);
	r = proxy_sniff((const uint8_t *)c->in, c->inlen, &c->sniff, host);
	if (r == PARSE_MORE && closed == 0 && !timed_out)
		return;
	if (r == PARSE_MORE && closed != 0) {
		conn_set_why(c, "error", "client closed before saying anything");
		conn_free(c);
		return;
	}
	if (r == PARSE_OK && host[0] != '\0') {
		struct allow_target t;

		/* A name that is no valid name is judged by the address. */
		if (allow_target_set(&t, host, c->tport) == 0) {
			conn_request(c, host, c->tport);
			return;
		}
	}
	conn_request(c, c->tdst, c->tport);
	if (c->verdict != NULL && strcmp(c->verdict, "refused") == 0) {
		size_t	n = strlen(c->why);

		snprintf(c->why + n, sizeof c->why - n, "%s", c->sniff == SNIFF_TLS ?
		    " (TLS without a server name)" : c->sniff == SNIFF_HTTP ?
		    " (HTTP without a Host)" : timed_out ? " (nothing sent that "
		    "names a host)" : " (neither TLS nor HTTP: no host name)");
	}
}

static void
conn_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn	*c = arg;

	(void)l;
	switch (c->st) {
	case CS_HTTP_HEAD:
		if (fd == c->cfd)
			conn_http_head(c);
		break;
	case CS_SOCKS_HELLO:
	case CS_SOCKS_REQ:
		if (fd == c->cfd)
			conn_socks(c);
		break;
	case CS_RESOLVE:
	case CS_ASK:
		if (fd == c->cfd && (events & (EPOLLERR | EPOLLHUP))) {
			conn_set_why(c, "error", "client went away");
			conn_free(c);
		}
		break;
	case CS_CONNECT:
		if (fd == c->ufd && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			conn_connect_done(c);
		else if (fd == c->cfd && (events & (EPOLLERR | EPOLLHUP))) {
			conn_set_why(c, "error", "client went away");
			conn_free(c);
		}
		break;
	case CS_UPSTREAM:
		if (fd == c->ufd)
			conn_upstream_read(c);
		break;
	case CS_RELAY:
		conn_pump_events(c, fd, events);
		break;
	case CS_LINGER:
		conn_linger(c);
		break;
	case CS_PEEK:
		if (fd == c->cfd)
			conn_peek(c, false);
		break;
	}
}

/* --- transparent interception ------------------------------------------ */

/* The address a sockaddr holds, as text and bytes; an IPv4-mapped IPv6
 * address is the IPv4 one. -1 for other families. */
static int
trans_addr(const void *sa, size_t len, int *family, uint8_t *addr, unsigned *port)
{
	static const uint8_t	mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof ss);
	memcpy(&ss, sa, len < sizeof ss ? len : sizeof ss);
	if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const void *)&ss;

		*family = AF_INET;
		memcpy(addr, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return (0);
	}
	if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const void *)&ss;

		*port = ntohs(s6->sin6_port);
		if (memcmp(&s6->sin6_addr, mapped, 12) == 0) {
			*family = AF_INET;
			memcpy(addr, (const uint8_t *)&s6->sin6_addr + 12, 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, &s6->sin6_addr, 16);
		}
		return (0);
	}
	return (-1);
}

/* The event of a connection refused before it was made. */
static void
trans_refused(struct proxy *p, const char *host, const char *addr,
    unsigned port, const char *why)
{
	struct conn	c;

	memset(&c, 0, sizeof c);
	c.p = p;
	c.kind = PROXY_FD_TRANS;
	c.t0 = now_mono();
	snprintf(c.rawhost, sizeof c.rawhost, "%s", host);
	c.rawport = port;
	snprintf(c.addr, sizeof c.addr, "%s", addr);
	c.verdict = "refused";
	snprintf(c.why, sizeof c.why, "%s", why);
	conn_event(&c);
}

static struct tpend *
trans_take(struct proxy *p, int lfamily, unsigned lport)
{
	for (struct tpend **pp = &p->tpend; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->lport == lport && (*pp)->lfamily == lfamily) {
			struct tpend *t = *pp;

			*pp = t->next;
			return (t);
		}
	return (NULL);
}

static void
proxy_accept_cb(struct loop *, int, uint32_t, void *);

int
proxy_transparent(struct proxy *p, int sock, const void *dst, size_t dstlen)
{
	struct tpend		*tp;
	struct allow_target	 t;
	const struct net_rule	*rule = NULL;
	const char		*why = NULL;
	char			 text[INET6_ADDRSTRLEN], w[200];
	uint8_t			 addr[16];
	int			 family, sfam = 0;
	unsigned		 port;
	socklen_t		 sl = sizeof sfam;
	struct sockaddr_storage	 ls;
	struct sockaddr_in	 l4 = { .sin_family = AF_INET,
	    .sin_port = htons(PROXY_TRANS_PORT),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6	 l6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(PROXY_TRANS_PORT) };
	int			 rc, err, fl;

	if (p->loop == NULL || p->lfd[PROXY_FD_TRANS] == -1)
		return (ENETUNREACH);
	if (trans_addr(dst, dstlen, &family, addr, &port) == -1 || port == 0)
		return (ENETUNREACH);
	inet_ntop(family, addr, text, sizeof text);
	tp = xcalloc(1, sizeof *tp);
	snprintf(tp->dst, sizeof tp->dst, "%s", text);
	tp->port = port;

	/* A name the resolver gave this address for decides; several names
	 * may share it (a CDN): the first one allowed on this port wins. */
	for (size_t i = 0; i < p->ndmap; i++) {
		struct dmap		*d = &p->dmap[i];
		const char		*w1 = NULL;
		const struct net_rule	*r;

		if (d->vfamily != family || memcmp(d->vaddr, addr,
		    family == AF_INET ? 4 : 16) != 0)
			continue;
		if (allow_target_set(&t, d->name, port) == -1)
			continue;
		r = allow_match(&p->allow, &t, &w1);
		if (r == NULL && w1 != NULL) {
			if (tp->name[0] == '\0') {
				snprintf(tp->name, sizeof tp->name, "%s", d->name);
				why = w1;
			}
			continue;
		}
		snprintf(tp->name, sizeof tp->name, "%s", d->name);
		tp->real_family = d->rfamily;
		memcpy(tp->real, d->raddr, 16);
		why = NULL;
		rule = r;
		break;
	}
	/* Refused, unless someone can be asked: then the connection goes
	 * into the listener, whose request check holds it for the question
	 * (conn_request, conn_ask) under the name or the address. */
	if (tp->name[0] != '\0' && why != NULL && !proxy_may_ask(p, tp->name, port)) {
		trans_refused(p, tp->name, text, port, why);
		free(tp);
		return (EACCES);
	}
	if (tp->name[0] == '\0') {
		/* An address the resolver never gave: its own rules, or a name
		 * in the first bytes when a rule for names could take it. */
		allow_target_set(&t, text, port);
		rule = allow_match(&p->allow, &t, &why);
		if (rule == NULL && why != NULL) {
			if (!allow_port_named(&p->allow, port) &&
			    !proxy_may_ask(p, text, port)) {
				trans_refused(p, text, text, port, why);
				free(tp);
				return (EACCES);
			}
			tp->sniff = true;
		} else if (!allow_addr_ok(&p->allow, rule, family, addr, w, sizeof w)) {
			trans_refused(p, text, text, port, w);
			free(tp);
			return (EACCES);
		}
	}

	/* Room in the listener's queue first: a blocking socket's connect
	 * must never wait on us. */
	proxy_accept_cb(p->loop, p->lfd[PROXY_FD_TRANS], EPOLLIN, p);
	if (p->lfd[PROXY_FD_TRANS6] != -1)
		proxy_accept_cb(p->loop, p->lfd[PROXY_FD_TRANS6], EPOLLIN, p);
	if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &sfam, &sl) == -1) {
		free(tp);
		return (errno);
	}
	/* A blocking socket is connected without blocking, then waited for
	 * a moment: on loopback with room in the queue that is at once, and
	 * the loop is never held longer, whatever the sandbox does. */
	if ((fl = fcntl(sock, F_GETFL)) == -1) {
		free(tp);
		return (errno);
	}
	if (!(fl & O_NONBLOCK))
		(void)fcntl(sock, F_SETFL, fl | O_NONBLOCK);
	if (sfam == AF_INET6) {
		if (p->lfd[PROXY_FD_TRANS6] != -1)
			l6.sin6_addr = in6addr_loopback;
		else {
			l6.sin6_addr.s6_addr[10] = l6.sin6_addr.s6_addr[11] = 0xff;
			l6.sin6_addr.s6_addr[12] = 127;
			l6.sin6_addr.s6_addr[15] = 1;
		}
		rc = connect(sock, (struct sockaddr *)&l6, sizeof l6);
	} else
		rc = connect(sock, (struct sockaddr *)&l4, sizeof l4);
	err = rc == -1 ? errno : 0;
	if (!(fl & O_NONBLOCK)) {
		if (err == EINPROGRESS) {
			struct pollfd	pfd = { .fd = sock, .events = POLLOUT };
			socklen_t	el = sizeof err;

			if (poll(&pfd, 1, PROXY_TRANS_WAIT_MS) == 1 &&
			    getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &el) == 0)
				rc = err == 0 ? 0 : -1;
			else
				err = ETIMEDOUT;
		}
		(void)fcntl(sock, F_SETFL, fl);
	}
	if (rc == -1 && err != EINPROGRESS) {
		free(tp);
		return (err);
	}
	sl = sizeof ls;
	if (getsockname(sock, (struct sockaddr *)&ls, &sl) == -1) {
		free(tp);
		return (errno);
	}
	tp->lport = ntohs(ls.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ls)->sin6_port :
	    ((struct sockaddr_in *)&ls)->sin_port);
	tp->t = now_mono();
	/* A port used again: the older entry was never accepted. */
	tp->lfamily = sfam == AF_INET6 && p->lfd[PROXY_FD_TRANS6] != -1 ?
	    AF_INET6 : AF_INET;
	free(trans_take(p, tp->lfamily, tp->lport));
	tp->next = p->tpend;
	p->tpend = tp;
	return (err);
}

int
proxy_transparent_dns(struct proxy *p, int sock)
{
	struct sockaddr_in	l4 = { .sin_family = AF_INET,
	    .sin_port = htons(PROXY_DNS_PORT),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6	l6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(PROXY_DNS_PORT) };
	int			sfam = 0;
	socklen_t		sl = sizeof sfam;

	if (p->lfd[PROXY_FD_DNS] == -1)
		return (ENETUNREACH);
	if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &sfam, &sl) == -1)
		return (errno);
	/* UDP connect() only sets the peer: it never blocks. */
	if (sfam == AF_INET6) {
		l6.sin6_addr.s6_addr[10] = l6.sin6_addr.s6_addr[11] = 0xff;
		l6.sin6_addr.s6_addr[12] = 127;
		l6.sin6_addr.s6_addr[15] = 1;
		return (connect(sock, (struct sockaddr *)&l6, sizeof l6) == -1 ?
		    errno : 0);
	}
	return (connect(sock, (struct sockaddr *)&l4, sizeof l4) == -1 ? errno : 0);
}

void
proxy_transparent_blind(struct proxy *p, const char *why)
{
	struct conn	c;

	if (p->blind_noted)
		return;
	p->blind_noted = true;
	/* A connection event, so that the record keeps it (notes are for
	 * -v only); "error": no destination was judged. */
	memset(&c, 0, sizeof c);
	c.p = p;
	c.kind = PROXY_FD_TRANS;
	c.t0 = now_mono();
	c.verdict = "error";
	snprintf(c.why, sizeof c.why, "%s", why);
	conn_event(&c);
}

void
proxy_transparent_note(struct proxy *p, const void *dst, size_t dstlen,
    const char *why)
{
	char		text[INET6_ADDRSTRLEN] = "?";
	uint8_t		addr[16];
	int		family;
	unsigned	port = 0;

	const char	*host = text;

	if (dst != NULL && trans_addr(dst, dstlen, &family, addr, &port) == 0) {
		inet_ntop(family, addr, text, sizeof text);
		/* The name the resolver gave the address for, if it did. */
		for (size_t i = 0; i < p->ndmap; i++)
			if (p->dmap[i].vfamily == family && memcmp(p->dmap[i].vaddr,
			    addr, family == AF_INET ? 4 : 16) == 0) {
				host = p->dmap[i].name;
				break;
			}
	}
	trans_refused(p, host, dst != NULL ? text : "", port, why);
}

/* An accepted transparent connection: what connect() named, and on. */
static void
trans_start(struct conn *c, int lfamily, unsigned lport)
{
	struct tpend	*tp = trans_take(c->p, lfamily, lport);

	if (tp == NULL) {
		conn_set_why(c, "error", "a connection to the transparent port "
		    "that moat did not redirect");
		conn_free(c);
		return;
	}
	snprintf(c->tdst, sizeof c->tdst, "%s", tp->dst);
	c->tport = tp->port;
	snprintf(c->rawhost, sizeof c->rawhost, "%s", tp->name[0] != '\0' ?
	    tp->name : tp->dst);
	c->rawport = tp->port;
	if (tp->name[0] != '\0') {
		if (tp->real_family != 0) {
			c->pinned = true;
			c->pin_family = tp->real_family;
			memcpy(c->pin_addr, tp->real, 16);
		}
		conn_request(c, tp->name, c->tport);
		free(tp);
		return;
	}
	if (!tp->sniff) {
		free(tp);
		conn_request(c, c->tdst, c->tport);
		return;
	}
	free(tp);
	c->st = CS_PEEK;
	c->deadline = now_mono() + PROXY_PEEK_SECS;
	conn_peek(c, false);
}

/* --- the sandbox's resolver ---------------------------------------------- */

/* The address the sandbox is told for (name, real): the real one, unless
 * the sandbox could not reach it as itself (its own loopback) or there is
 * none (proxied: the upstream resolves); then a stand-in. Recorded. */
static void
dns_map(struct proxy *p, const char *name, int rfamily, const uint8_t *raddr,
    int *vfamily, uint8_t *vaddr)
{
	struct dmap	*d;
	bool		 synth = rfamily == 0 || allow_classify(rfamily, raddr) ==
			    ADDR_LOOPBACK;

	for (size_t i = 0; i < p->ndmap; i++) {
		d = &p->dmap[i];
		if (strcmp(d->name, name) != 0 || d->rfamily != rfamily ||
		    (rfamily != 0 && memcmp(d->raddr, raddr, 16) != 0))
			continue;
		*vfamily = d->vfamily;
		memcpy(vaddr, d->vaddr, 16);
		return;
	}
	if (p->dmap == NULL)
		p->dmap = xcalloc(PROXY_DMAP_MAX, sizeof *p->dmap);
	if (p->ndmap < PROXY_DMAP_MAX)
		d = &p->dmap[p->ndmap++];
	else {
		d = &p->dmap[p->dmap_next];
		p->dmap_next = (p->dmap_next + 1) % PROXY_DMAP_MAX;
	}
	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	d->rfamily = rfamily;
	if (rfamily != 0)
		memcpy(d->raddr, raddr, rfamily == AF_INET ? 4 : 16);
	if (synth) {
		uint32_t v = PROXY_SYNTH_NET + 1 + p->synth_next++ % PROXY_SYNTH_MAX;

		d->vfamily = AF_INET;
		d->vaddr[0] = (uint8_t)(v >> 24);
		d->vaddr[1] = (uint8_t)(v >> 16);
		d->vaddr[2] = (uint8_t)(v >> 8);
		d->vaddr[3] = (uint8_t)v;
	} else {
		d->vfamily = rfamily;
		memcpy(d->vaddr, raddr, 16);
	}
	*vfamily = d->vfamily;
	memcpy(vaddr, d->vaddr, 16);
}

static void
dns_send(struct proxy *p, const struct sockaddr_storage *to, socklen_t tolen,
    const struct proxy_dns_q *q, uint8_t rcode, int family,
    const uint8_t (*addrs)[16], size_t n)
{
	uint8_t	buf[DNS_MAX_UDP];
	size_t	len = proxy_dns_reply(buf, sizeof buf, q, rcode, family, addrs, n,
		    PROXY_DNS_TTL);

	/* UDP: a full buffer loses the answer, and the client asks again. */
	(void)sendto(p->lfd[PROXY_FD_DNS], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (const struct sockaddr *)to, tolen);
}

/* Answers q with the addresses of family among the n given (raddrs are
 * real: each is judged and mapped). */
static void
dns_answer(struct proxy *p, const struct sockaddr_storage *to, socklen_t tolen,
    const struct proxy_dns_q *q, const struct net_rule *rule,
    const struct sockaddr *const *sas, int n)
{
	uint8_t	out[DNS_MAX_ANSWERS][16];
	size_t	nout = 0;
	int	want = q->qtype == DNS_TYPE_AAAA ? AF_INET6 : AF_INET;
	char	w[200];

	memset(out, 0, sizeof out);
	for (int i = 0; i < n && nout < DNS_MAX_ANSWERS; i++) {
		int		vf;
		uint8_t		va[16];
		const uint8_t	*a = sockaddr_bytes(sas[i]);

		if (sas[i]->sa_family != AF_INET && sas[i]->sa_family != AF_INET6)
			continue;
		if (!allow_addr_ok(&p->allow, rule, sas[i]->sa_family, a, w, sizeof w))
			continue;
		dns_map(p, q->name, sas[i]->sa_family, a, &vf, va);
		if (vf == want) {
			bool dup = false;

			for (size_t k = 0; k < nout; k++)
				dup |= memcmp(out[k], va, 16) == 0;
			if (!dup)
				memcpy(out[nout++], va, 16);
		}
	}
	dns_send(p, to, tolen, q, DNS_RCODE_OK, want, (const uint8_t (*)[16])out, nout);
}

static void
dns_refuse(struct proxy *p, const struct sockaddr_storage *to, socklen_t tolen,
    const struct proxy_dns_q *q, const char *why)
{
	struct dnote	*slot = NULL;
	double		 now = now_mono();

	/* NXDOMAIN, not REFUSED: resolvers take REFUSED as a server to try
	 * again later (glibc: EAI_AGAIN, "temporary failure"; pip retries),
	 * and the name will not come to exist during the run. The record
	 * says the truth. */
	dns_send(p, to, tolen, q, DNS_RCODE_NXDOMAIN, AF_INET, NULL, 0);
	if (p->dns_noted == NULL)
		p->dns_noted = xcalloc(PROXY_DNS_NOTED, sizeof *p->dns_noted);
	for (size_t i = 0; i < PROXY_DNS_NOTED; i++) {
		struct dnote *d = &p->dns_noted[i];
		bool live = d->name[0] != '\0' && now - d->t < PROXY_DNS_NOTE_SECS;

		if (live && strcmp(d->name, q->name) == 0)
			return;
		if (!live && slot == NULL)
			slot = d;
	}
	if (slot == NULL) {
		p->dns_more++;		/* one event for them at proxy_stop */
		return;
	}
	snprintf(slot->name, sizeof slot->name, "%s", q->name);
	slot->t = now;
	{
		struct conn	c;

		memset(&c, 0, sizeof c);
		c.p = p;
		c.kind = PROXY_FD_DNS;
		c.t0 = now_mono();
		snprintf(c.rawhost, sizeof c.rawhost, "%s", q->name);
		c.rawport = 0;
		c.verdict = "refused";
		snprintf(c.why, sizeof c.why, "%s", why);
		conn_event(&c);
	}
}

static void
dns_resolved(struct proxy *p, struct rjob *j)
{
	const struct sockaddr	*sas[PROXY_MAX_ADDRS * 2];
	int			 n = 0;

	p->ndnsjobs--;
	if (j->err != 0) {
		dns_send(p, &j->from, j->fromlen, &j->q, j->err == EAI_NONAME
#ifdef EAI_NODATA
		    || j->err == EAI_NODATA
#endif
		    ? DNS_RCODE_NXDOMAIN : DNS_RCODE_SERVFAIL, AF_INET, NULL, 0);
		return;
	}
	for (struct addrinfo *ai = j->res; ai != NULL && n < (int)nitems(sas);
	    ai = ai->ai_next)
		sas[n++] = ai->ai_addr;
	dns_answer(p, &j->from, j->fromlen, &j->q, j->rule, sas, n);
}

/* A stand-in address that the map leads back to q's name (an A question
 * gets one, any other none): the connection to it is decided by name. */
static void
dns_standin(struct proxy *p, const struct sockaddr_storage *to, socklen_t tolen,
    const struct proxy_dns_q *q)
{
	uint8_t	va[1][16];
	int	vf;

	dns_map(p, q->name, 0, NULL, &vf, va[0]);
	dns_send(p, to, tolen, q, DNS_RCODE_OK, AF_INET, va, q->qtype == DNS_TYPE_A);
}

static void
dns_question(struct proxy *p, const struct sockaddr_storage *from,
    socklen_t fromlen, const uint8_t *b, size_t len)
{
	struct proxy_dns_q		 q;
	const struct net_rule		*rule = NULL;
	const struct net_resolve	*st = NULL;
	uint8_t				 rcode;
	struct rjob			*j;

	if (proxy_dns_parse(b, len, &q, &rcode) != PARSE_OK)
		return;
	if (rcode != DNS_RCODE_OK) {
		dns_send(p, from, fromlen, &q, rcode, AF_INET, NULL, 0);
		return;
	}
	/* A name that carries a secret's placeholder out: refused, whatever
	 * the rules would say of it. */
	{
		const struct secret	*x = secret_http_placeholder_in(p->secrets,
		    q.name, strlen(q.name));

		if (x != NULL) {
			char	w[160];

			snprintf(w, sizeof w, "the placeholder of secret %s in a "
			    "name asked of the resolver", x->name);
			dns_refuse(p, from, fromlen, &q, w);
			return;
		}
	}
	/* Inside, localhost is the sandbox's own loopback, as in its hosts. */
	if (strcmp(q.name, "localhost") == 0) {
		static const uint8_t lo[2][16] = { { 127, 0, 0, 1 }, { [15] = 1 } };

		dns_send(p, from, fromlen, &q, DNS_RCODE_OK, q.qtype == DNS_TYPE_AAAA ?
		    AF_INET6 : AF_INET, q.qtype == DNS_TYPE_AAAA ? &lo[1] : &lo[0],
		    q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA);
		return;
	}
	if (!q.name_ok || q.qclass != DNS_CLASS_IN) {
		dns_refuse(p, from, fromlen, &q, "not a host name");
		return;
	}
	if ((rule = allow_match_name(&p->allow, q.name)) == NULL && !p->allow.allow_all) {
		/* Someone could be asked: a stand-in that leads to the name,
		 * so that the connection to it is asked about (an A question
		 * gets one, any other none), not refused here. */
		if ((q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA) &&
		    proxy_may_ask(p, q.name, 0)) {
			dns_standin(p, from, fromlen, &q);
			return;
		}
		dns_refuse(p, from, fromlen, &q, "no net-allow rule names it");
		return;
	}
	/* Names have addresses and nothing else here. */
	if (q.qtype != DNS_TYPE_A && q.qtype != DNS_TYPE_AAAA) {
		dns_send(p, from, fromlen, &q, DNS_RCODE_OK, AF_INET, NULL, 0);
		return;
	}
	if (p->upstream) {
		/* The upstream resolves. */
		dns_standin(p, from, fromlen, &q);
		return;
	}
	if ((rule != NULL && rule->kind == RULE_LOCALHOST) ||
	    (st = allow_lookup_static(&p->allow, q.name)) != NULL) {
		struct sockaddr_storage	ss;
		const struct sockaddr	*sa = (const struct sockaddr *)&ss;

		memset(&ss, 0, sizeof ss);
		if (rule != NULL && rule->kind == RULE_LOCALHOST) {
			struct sockaddr_in *s4 = (void *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		} else if (st->family == AF_INET6) {
			struct sockaddr_in6 *s6 = (void *)&ss;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, st->addr, 16);
		} else {
			struct sockaddr_in *s4 = (void *)&ss;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, st->addr, 4);
		}
		dns_answer(p, from, fromlen, &q, rule, &sa, 1);
		return;
	}
	if (p->ndnsjobs >= PROXY_DNS_JOBS) {
		dns_send(p, from, fromlen, &q, DNS_RCODE_SERVFAIL, AF_INET, NULL, 0);
		return;
	}
	j = xcalloc(1, sizeof *j);
	snprintf(j->host, sizeof j->host, "%s", q.name);
	snprintf(j->port, sizeof j->port, "443");
	j->dns = true;
	j->q = q;
	j->rule = rule;
	memcpy(&j->from, from, sizeof j->from);
	j->fromlen = fromlen;
	if (resolver_submit(p->rs, j) == -1) {
		free(j);
		dns_send(p, from, fromlen, &q, DNS_RCODE_SERVFAIL, AF_INET, NULL, 0);
		return;
	}
	p->ndnsjobs++;
}

static void
dns_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct proxy		*p = arg;
	uint8_t			 buf[2048];
	struct sockaddr_storage	 from;
	socklen_t		 fl;
	ssize_t			 n;

	(void)l;
	(void)events;
	for (int i = 0; i < 64; i++) {
		fl = sizeof from;
		n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT,
		    (struct sockaddr *)&from, &fl);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		dns_question(p, &from, fl, buf, (size_t)n);
	}
}

static void
proxy_accept_cb(struct loop *l, int lfd, uint32_t events, void *arg)
{
	struct proxy	*p = arg;
	struct merr	 e;
	struct conn	*c;
	int		 fd;

	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage	peer;
		socklen_t		plen = sizeof peer;
		unsigned		pport;

		memset(&peer, 0, sizeof peer);
		if ((fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of fds: stop listening until the next
				 * housekeeping tick rather than spin. */
				for (int k = 0; k < PROXY_NFDS_MAX; k++)
					if (p->lfd[k] != -1)
						loop_mod(l, p->lfd[k], 0);
				p->lfd_paused = true;
			}
			return;
		}
		pport = ntohs(peer.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&peer)->sin6_port :
		    ((struct sockaddr_in *)&peer)->sin_port);
		/* Overflow connections get their refusal and are dropped,
		 * and beyond as many again they are closed outright. */
		if (p->nactive >= p->max_conns && p->noverflow >= p->max_conns) {
			close(fd);
			continue;
		}
		/* The client's side as the upstream's: a small write (a
		 * CONNECT's "200", a SOCKS reply, a TLS record) goes out at
		 * once. With Nagle, the next small one waits for the client's
		 * ACK, which a client that just sent data delays by up to
		 * 40 ms: a stall on every tunnel that answers in pieces. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
		    sizeof(int));
		c = xcalloc(1, sizeof *c);
		c->p = p;
		c->cfd = fd;
		c->ufd = -1;
		c->kind = lfd == p->lfd[PROXY_FD_HTTP] || lfd == p->lfd[PROXY_FD_HTTP6] ?
		    PROXY_FD_HTTP : lfd == p->lfd[PROXY_FD_TRANS] ||
		    lfd == p->lfd[PROXY_FD_TRANS6] ? PROXY_FD_TRANS : PROXY_FD_SOCKS;
		c->st = c->kind == PROXY_FD_HTTP ? CS_HTTP_HEAD : c->kind ==
		    PROXY_FD_TRANS ? CS_RESOLVE : CS_SOCKS_HELLO;
		c->t0 = now_mono();
		c->deadline = c->t0 + PROXY_HEAD_SECS;
		dir_init(&c->cu);
		dir_init(&c->uc);
		if ((c->next = p->conns) != NULL)
			c->next->prev = c;
		p->conns = c;
		p->total++;
		c->counted = p->nactive < p->max_conns;
		if (c->counted)
			p->nactive++;
		else
			p->noverflow++;
		if (loop_add(l, fd, PROXY_EVENTS, conn_cb, c, &e) == -1) {
			c->cfd = -1;
			close(fd);
			conn_set_why(c, "error", "%s", e.msg);
			conn_free(c);
			continue;
		}
		if (!c->counted) {
			c->verdict = "refused";
			snprintf(c->why, sizeof c->why, "connection limit %u "
			    "reached (net-max-conns)", p->max_conns);
			if (c->kind == PROXY_FD_SOCKS)
				dir_queue(&c->uc, "\5\0", 2);
			if (c->kind == PROXY_FD_TRANS)
				free(trans_take(p, peer.ss_family, pport));
			conn_fail(c, 503, SOCKS_REP_FAIL);
			continue;
		}
		if (c->kind == PROXY_FD_TRANS) {
			trans_start(c, peer.ss_family, pport);
			continue;
		}
		/* Data may already be there; with edge triggering the
		 * first edge may have passed before the registration. */
		conn_cb(l, fd, EPOLLIN, c);
	}
}

/* Deadlines, and listening again after running out of fds. */
static void
proxy_tick(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct proxy	*p = arg;
	struct conn	*c, *next;
	uint64_t	 v;
	double		 now = now_mono();

	(void)events;
	if (read(fd, &v, sizeof v) == -1) {
		/* Nothing to do: the timer re-arms itself. */
	}
	for (struct tpend **pp = &p->tpend; *pp != NULL; ) {
		struct tpend *t = *pp;

		if (now - t->t < PROXY_TPEND_SECS) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		free(t);
	}
	if (p->lfd_paused) {
		for (int k = 0; k < PROXY_NFDS_MAX; k++)
			if (p->lfd[k] != -1)
				loop_mod(l, p->lfd[k], EPOLLIN);
		p->lfd_paused = false;
	}
	for (c = p->conns; c != NULL; c = next) {
		next = c->next;
		if (now < c->deadline || (c->st == CS_RELAY &&
		    p->profile->net_idle_timeout <= 0))
			continue;
		switch (c->st) {
		case CS_PEEK:
			conn_peek(c, true);
			break;
		case CS_RELAY: {
			size_t	n = strlen(c->why);

			/* Still "allowed"; the reason says how it ended. */
			snprintf(c->why + n, sizeof c->why - n, "; closed after %.0f s "
			    "with nothing to carry (net-idle-timeout)",
			    p->profile->net_idle_timeout);
			conn_free(c);
			break;
		}
		case CS_LINGER:
			conn_free(c);
			break;
		case CS_ASK:
			conn_refuse(c, "%s; no answer within %u s", c->ask_why,
			    c->ask_secs);
			break;
		case CS_HTTP_HEAD:
		case CS_SOCKS_HELLO:
		case CS_SOCKS_REQ:
			conn_set_why(c, "error", "no complete request in %.0f s",
			    PROXY_HEAD_SECS);
			conn_free(c);
			break;
		default:
			conn_set_why(c, "failed", "%s timed out after %.0f s",
			    c->st == CS_RESOLVE ? "resolving" : c->st == CS_CONNECT ?
			    "connecting" : "the upstream proxy", PROXY_CONN_SECS);
			if (c->job != NULL) {
				c->job->c = NULL;
				c->job = NULL;
			}
			conn_fail(c, 504, SOCKS_REP_HOST_UNREACH);
			break;
		}
	}
}

/* --- start and stop --------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
base64(const char *s)
{
	size_t	n = strlen(s), o = 0;
	char	*out = xmalloc(4 * ((n + 2) / 3) + 1);

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (out);
}

/* http://[user:pass@]host[:port][/] ; "env" takes the host's HTTPS_PROXY,
 * https_proxy, HTTP_PROXY or http_proxy, read now, at the start of the run. */
static int
proxy_parse_upstream(struct proxy *p, const char *url, struct merr *e)
{
	const char	*s = url, *at, *slash;
	autofree char	*auth = NULL;
	char		 host[256];
	unsigned	 port;
	struct allow_target t;

	if (strcmp(url, "env") == 0) {
		const char *names[] = { "HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
		    "http_proxy" };

		s = NULL;
		for (size_t i = 0; i < nitems(names) && s == NULL; i++)
			if ((s = getenv(names[i])) != NULL && *s == '\0')
				s = NULL;
		if (s == NULL)
			return (merr_set(e, "net-upstream = env, but none of "
			    "HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy is set"));
	}
	url = s;
	if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	else if (strncasecmp(s, "socks5://", 9) == 0 ||
	    strncasecmp(s, "socks5h://", 10) == 0) {
		p->up_socks = true;
		s = strstr(s, "://") + 3;
	} else if (strstr(s, "://") != NULL)
		return (merr_set(e, "net-upstream \"%s\": only http://, socks5:// "
		    "and socks5h:// proxies are supported", url));
	slash = strchr(s, '/');
	if ((at = strchr(s, '@')) != NULL && (slash == NULL || at < slash)) {
		autofree char *cred = xstrndup(s, (size_t)(at - s));

		auth = base64(cred);
		s = at + 1;
	}
	{
		size_t	alen = slash != NULL && slash > s ? (size_t)(slash - s) :
		    strcspn(s, "/");
		char	 tmp[300];

		if (alen == 0 || alen >= sizeof tmp)
			return (merr_set(e, "net-upstream \"%s\": no host", url));
		memcpy(tmp, s, alen);
		tmp[alen] = '\0';
		/* host[:port] with the HTTP parser's rules; 3128 by default. */
		{
			struct proxy_http_req	req;
			const char		*why;
			autofree char		*line = NULL;
			bool			 has_port = tmp[0] == '[' ?
			    strstr(tmp, "]:") != NULL : strchr(tmp, ':') != NULL;

			xasprintf(&line, "CONNECT %s%s HTTP/1.1\r\n\r\n", tmp,
			    has_port ? "" : p->up_socks ? ":1080" : ":3128");
			if (proxy_http_parse(line, strlen(line), &req, &why) !=
			    PARSE_OK)
				return (merr_set(e, "net-upstream \"%s\": bad "
				    "host or port", url));
			snprintf(host, sizeof host, "%s", req.host);
			port = req.port;
			proxy_http_req_release(&req);
		}
	}
	if (allow_target_set(&t, host, port) == -1)
		return (merr_set(e, "net-upstream \"%s\": bad host", url));
	snprintf(p->up_host, sizeof p->up_host, "%s", t.host);
	snprintf(p->up_port, sizeof p->up_port, "%u", port);
	hostport(p->up_name, sizeof p->up_name, t.host, port);
	if (auth != NULL && p->up_socks)
		return (merr_set(e, "net-upstream \"%s\": SOCKS5 with a user name "
		    "and password is not supported", url));
	if (auth != NULL)
		xasprintf(&p->up_auth, "Basic %s", auth);
	p->upstream = true;
	return (0);
}

struct proxy *
proxy_new(const struct event_sink *events, const char *ws, const struct profile *pr,
    struct merr *e)
{
	struct proxy	*p = xcalloc(1, sizeof *p);
	struct rlimit	 rl;

	p->events = events;
	p->profile = pr;
	p->tfd = -1;
	for (int i = 0; i < PROXY_NFDS_MAX; i++)
		p->lfd[i] = -1;
	/* 0 (no limit in the profile) means as many as the fd limit allows. */
	p->max_conns = pr->net_max_conns;
	if (p->max_conns == 0) {
		p->max_conns = PROXY_MAX_CONNS_DEFAULT;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > 256 + 12 *
		    PROXY_MAX_CONNS_DEFAULT)
			p->max_conns = rl.rlim_max == RLIM_INFINITY ||
			    rl.rlim_max > 256 + 12 * 65535 ? 65535 :
			    (unsigned)((rl.rlim_max - 256) / 12);
	}
	if (pr->net == NET_PROXIED) {
		if (pr->net_upstream == NULL || pr->net_upstream[0] == '\0') {
			merr_set(e, "profile %s: net = proxied needs net-upstream "
			    "(a URL, or \"env\")", pr->name);
			goto fail;
		}
		if (proxy_parse_upstream(p, pr->net_upstream, e) == -1)
			goto fail;
	}
	if (index_allow_init(&p->allow, events, ws, pr, e) == -1) {
		merr_prefix(e, "profile %s", pr->name);
		goto fail;
	}
	if ((p->rs = resolver_new(e)) == NULL)
		goto fail;
	return (p);
fail:
	proxy_stop(p);
	return (NULL);
}

/* Events of the interception threads, sent on by the loop. */
static void
proxy_intercept_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct proxy	*p = arg;

	(void)l;
	(void)fd;
	(void)events;
	intercept_drain(p->icpt, p->events);
}

void
proxy_drain_events(struct proxy *p)
{
	if (p != NULL && p->icpt != NULL)
		intercept_drain(p->icpt, p->events);
}

int
proxy_secrets(struct proxy *p, const struct secrets *s, struct merr *e)
{
	p->secrets = s;
	if (s == NULL || s->n == 0)
		return (0);
	if ((p->icpt = intercept_new(s, p->profile, e)) == NULL)
		return (-1);
	return (0);
}

int
proxy_listen(struct proxy *p, struct loop *l, const int *fds, int nfds,
    struct merr *e)
{
	struct rlimit	 rl;
	rlim_t		 want;
	struct sigaction sa;

	for (int i = 0; i < nfds; i++) {
		if (i < PROXY_NFDS_MAX)
			p->lfd[i] = fds[i];
		else
			close(fds[i]);
	}
	if (nfds != PROXY_NFDS && nfds != PROXY_NFDS_MAX)
		return (merr_set(e, "proxy: %d listening sockets, want %d or %d",
		    nfds, PROXY_NFDS, PROXY_NFDS_MAX));
	p->loop = l;

	/* Each connection holds six fds (two sockets, two pipes), and as
	 * many overflow connections may wait for their refusal. */
	want = (rlim_t)p->max_conns * 2 * 6 + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* splice(2) to a socket whose peer is gone raises SIGPIPE; the
	 * relay wants EPIPE instead. */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);

	for (int i = 0; i < nfds; i++) {
		int fl = fcntl(p->lfd[i], F_GETFL);

		if (fl == -1 || fcntl(p->lfd[i], F_SETFL, fl | O_NONBLOCK) == -1)
			return (merr_errno(e, "proxy listener %d", i));
	}
	if (loop_add(l, p->rs->efd, EPOLLIN, proxy_resolver_cb, p, e) == -1)
		return (-1);
	if ((p->tfd = loop_timer(l, 1.0, 1.0, proxy_tick, p, e)) == -1)
		return (-1);
	if (p->icpt != NULL && loop_add(l, intercept_event_fd(p->icpt), EPOLLIN,
	    proxy_intercept_cb, p, e) == -1)
		return (-1);
	for (int i = 0; i < nfds; i++)
		if (loop_add(l, p->lfd[i], EPOLLIN, i == PROXY_FD_DNS ? dns_cb :
		    proxy_accept_cb, p, e) == -1)
			return (-1);
	return (0);
}

struct proxy *
proxy_start(const struct event_sink *events, struct loop *l, const struct profile *pr,
    const int *fds, int nfds, struct merr *e)
{
	struct proxy	*p;

	if ((p = proxy_new(events, NULL, pr, e)) == NULL) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return (NULL);
	}
	if (proxy_listen(p, l, fds, nfds, e) == -1) {
		proxy_stop(p);
		return (NULL);
	}
	return (p);
}

int
proxy_allow(struct proxy *p, const char *rule, bool add, struct merr *e)
{
	return (add ? allow_add(&p->allow, rule, e) : allow_remove(&p->allow, rule, e));
}

void
proxy_set_ask(struct proxy *p, proxy_ask_fn fn, void *arg)
{
	p->ask = fn;
	p->ask_arg = arg;
}

int
proxy_answer(struct proxy *p, uint32_t id, bool allow, const char *how)
{
	struct conn	*c;
	char		 host[sizeof c->rawhost];

	for (c = p->conns; c != NULL; c = c->next)
		if (c->st == CS_ASK && c->ask_id == id)
			break;
	if (c == NULL || id == 0)
		return (-1);
	if (!allow) {
		conn_refuse(c, "%s; %s", c->ask_why, how);
		return (0);
	}
	/* Decided again: a rule added meanwhile ("for this session") is
	 * the connection's rule, else it goes as allowed once. */
	c->asked_ok = true;
	snprintf(c->ask_how, sizeof c->ask_how, "%s", how);
	snprintf(host, sizeof host, "%s", c->rawhost);
	conn_request(c, host, c->rawport);
	return (0);
}

void
proxy_stop(struct proxy *p)
{
	if (p == NULL)
		return;
	if (p->icpt != NULL) {
		if (p->loop != NULL)
			loop_del(p->loop, intercept_event_fd(p->icpt));
		intercept_free(p->icpt, p->events);
		p->icpt = NULL;
	}
	while (p->conns != NULL) {
		if (p->conns->verdict == NULL)
			conn_set_why(p->conns, "error", "the run ended first");
		conn_free(p->conns);
	}
	/* loop_del of an fd the loop does not hold is a no-op; before
	 * proxy_listen there is no loop at all. */
	for (int i = 0; i < PROXY_NFDS_MAX; i++)
		if (p->lfd[i] != -1) {
			if (p->loop != NULL)
				loop_del(p->loop, p->lfd[i]);
			close(p->lfd[i]);
		}
	if (p->tfd != -1) {
		loop_del(p->loop, p->tfd);
		close(p->tfd);
	}
	if (p->rs != NULL) {
		if (p->loop != NULL)
			loop_del(p->loop, p->rs->efd);
		resolver_stop(p->rs);
	}
	if (p->dns_more > 0) {
		struct conn	c;

		memset(&c, 0, sizeof c);
		c.p = p;
		c.kind = PROXY_FD_DNS;
		c.t0 = now_mono();
		snprintf(c.rawhost, sizeof c.rawhost, "(%llu more questions)",
		    (unsigned long long)p->dns_more);
		c.verdict = "refused";
		snprintf(c.why, sizeof c.why, "no net-allow rule names them; "
		    "beyond %d names at once, refusals are counted",
		    PROXY_DNS_NOTED);
		conn_event(&c);
	}
	while (p->tpend != NULL) {
		struct tpend *t = p->tpend;

		p->tpend = t->next;
		free(t);
	}
	free(p->dmap);
	free(p->dns_noted);
	allow_release(&p->allow);
	free(p->up_auth);
	free(p);
}

unsigned
proxy_active(const struct proxy *p)
{
	return (p->nactive);
}

uint64_t
proxy_total(const struct proxy *p)
{
	return (p->total);
}
