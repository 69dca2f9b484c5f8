/* intercept.c: TLS terminated for a secret's hosts. proxy.c hands over a
 * connection whose destination a secret names, once it is allowed and
 * connected; a thread of its own then speaks TLS to the sandbox's client
 * with a certificate the run's CA issued for the host (tls.c), opens TLS to
 * the real host with full verification, and carries HTTP/1.1 between them
 * one request at a time: each request head gets the secret's value for its
 * placeholder, each response head and body the placeholder back (an echoed
 * Basic credential too; secret-http.c); a request body is searched for
 * another secret's placeholder as it passes. Each request is an event,
 * sent to the loop through a socket pair (the run's sink is the loop's
 * alone). Memory is bounded per connection: a 64 KiB head, 64 KiB of
 * decrypted bytes per side, a body's chunk and what it holds back.
 * Supervisor, on the proxy's interception threads. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/event.h"
#include "intercept.h"
#include "secret-http.h"
#include "tls.h"

#define ICPT_IDLE_SECS	120	/* a connection that carries nothing for this long ends */
#define ICPT_BUF	65536	/* decrypted bytes read at once, and a body's chunk */
#define ICPT_FLUSH	ICPT_BUF	/* a body's bytes sent on at once, when more are there */
#define ICPT_LINE_MAX	1024	/* a chunk-size line */
/* Why a response that keeps its length was cut (struct sink, resized). */
#define ICPT_RESIZED	"the value swapped back in the body would change " \
			"its length: the response was cut"

#define ICPT_DRAIN_MAX	(4 << 20)	/* read and dropped after a refusal mid-body */

struct icpt_conn {
	struct icpt_conn	*next;
	int			 cfd, ufd;
};

struct intercept {
	const struct secrets	*secrets;
	struct tls_ca		*ca;		/* borrowed: the secrets' */
	SSL_CTX			*up;		/* owned */
	pthread_mutex_t		 trust_mu;	/* the first handshake adds the */
	int			 trusted;	/* system's trust store to up: 1 */
						/* done, -1 failed (trust_why) */
	char			 trust_why[256];
	struct allow		 hosts[64];	/* per secret: its hosts as rules */
	size_t			 nhosts;
	struct allow		 http;		/* the profile's HTTP rules */
	int			 ev[2];		/* [0]: the loop reads; [1]: threads write */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct icpt_conn	*conns;		/* running */
	unsigned		 nconns;
	bool			 stopping;
};

/* One side of an intercepted connection. The client's side reads through
 * a memory BIO that this file feeds from the socket, so that bytes proxy.c
 * read already (a ClientHello) go first. */
struct sink;

struct side {
	SSL		*ssl;
	int		 fd;
	BIO		*rbio;		/* the client's: fed here; NULL upstream */
	BIO		*wbuf;		/* the client's: its writes, sent at each
					   side_write's end; NULL upstream */
	struct sink	*flush;		/* a body whose bytes held back go on
					   before this side waits to read */
	char		 buf[ICPT_BUF];
	size_t		 off, len;	/* decrypted bytes not yet taken */
	uint64_t	 bytes;		/* decrypted bytes read */
};

struct job {
	struct intercept	*ic;
	struct icpt_conn	*conn;
	struct side		 cl, up;
	char			 host[256];	/* as the client named it */
	char			 verify[256];	/* the upstream's certificate name */
	unsigned		 port;
	uint64_t		 named;
	char			 names[256];	/* the secrets, for messages */
	char			*early;		/* owned */
	size_t			 earlylen;
};

/* --- events ------------------------------------------------------------ */

static void
icpt_event(struct intercept *ic, const char *verdict, const char *host,
    unsigned port, const char *why, uint64_t out, uint64_t in, double secs,
    const char *fmt, ...) __attribute__((format(printf, 9, 10)));

static void
icpt_event(struct intercept *ic, const char *verdict, const char *host,
    unsigned port, const char *why, uint64_t out, uint64_t in, double secs,
    const char *fmt, ...)
{
	struct run_event	 ev;
	char			 text[1024], wire[8192];
	size_t			 n;
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NET_CONN;
	ev.text = text;
	ev.host = host;
	ev.port = port;
	ev.addr = "";
	ev.verdict = verdict;
	ev.rule = why;
	ev.bytes_out = out;
	ev.bytes_in = in;
	ev.duration = secs;
	if ((n = event_encode(&ev, wire, sizeof wire)) > 0)
		(void)send(ic->ev[1], wire, n, MSG_NOSIGNAL);
}

int
intercept_event_fd(const struct intercept *ic)
{
	return (ic->ev[0]);
}

void
intercept_drain(struct intercept *ic, const struct event_sink *sink)
{
	char		 wire[8192];
	ssize_t		 n;

	while ((n = recv(ic->ev[0], wire, sizeof wire, MSG_DONTWAIT)) > 0) {
		struct run_event	ev;

		if (event_decode(wire, (size_t)n, &ev) == 0 && sink != NULL)
			event_send(sink, &ev);
	}
}

/* --- I/O on one side ------------------------------------------------------ */

/* After SSL wants to read: the client's side gets more bytes from its
 * socket into the memory BIO; -1 when the socket is closed or idle. */
static int
side_feed(struct side *s)
{
	char	buf[ICPT_BUF];
	ssize_t	n;

	if (s->rbio == NULL)
		return (-1);
	do
		n = recv(s->fd, buf, sizeof buf, 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		BIO_set_mem_eof_return(s->rbio, 0);
		return (-1);
	}
	BIO_write(s->rbio, buf, (int)n);
	return (0);
}

static int	sink_flush(struct sink *);

/* Whether a read of s would wait: nothing decrypted or received is held
 * by OpenSSL, nothing fed and unread, nothing in the socket. */
static bool
side_would_wait(struct side *s)
{
	struct pollfd	pfd = { .fd = s->fd, .events = POLLIN };

	if (SSL_has_pending(s->ssl) || (s->rbio != NULL && BIO_pending(s->rbio) > 0))
		return (false);
	return (poll(&pfd, 1, 0) == 0);
}

/* Decrypted bytes into dst (at most max): as many as OpenSSL holds already
 * once one record came (each SSL_read gives one record). The count, 0
 * when the peer closed, -1 on an error. */
static ssize_t
side_read_into(struct side *s, char *dst, size_t max)
{
	size_t	got = 0;
	int	n, err;

	if (max > INT_MAX)
		max = INT_MAX;
	for (;;) {
		n = SSL_read(s->ssl, dst, (int)max);
		if (n > 0) {
			got = (size_t)n;
			while (got < max && SSL_has_pending(s->ssl) &&
			    (n = SSL_read(s->ssl, dst + got, (int)(max - got))) > 0)
				got += (size_t)n;
			s->bytes += got;
			ERR_clear_error();
			return ((ssize_t)got);
		}
		err = SSL_get_error(s->ssl, n);
		if (err == SSL_ERROR_WANT_READ && side_feed(s) == 0)
			continue;
		ERR_clear_error();
		return (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_WANT_READ ||
		    err == SSL_ERROR_SYSCALL ? 0 : -1);
	}
}

/* More decrypted bytes into s->buf. 1: some, 0: the peer closed, -1: an
 * error. */
static int
side_fill(struct side *s)
{
	ssize_t	n;

	if (s->off == s->len)
		s->off = s->len = 0;
	if (s->len == sizeof s->buf)
		return (1);
	/* A body's held-back bytes go on before this side waits: they never
	 * wait for bytes the peer sends only after it has them. */
	if (s->flush != NULL && s->len == 0 && side_would_wait(s) &&
	    sink_flush(s->flush) == -1)
		return (-1);
	if ((n = side_read_into(s, s->buf + s->len, sizeof s->buf - s->len)) <= 0)
		return ((int)n);
	s->len += (size_t)n;
	return (1);
}

static int
side_write(struct side *s, const void *buf, size_t len)
{
	size_t	done = 0;
	int	n;

	while (done < len) {
		n = SSL_write(s->ssl, (const char *)buf + done, (int)(len - done));
		if (n <= 0) {
			ERR_clear_error();
			return (-1);
		}
		done += (size_t)n;
	}
	/* The records of one write leave in one send. */
	if (s->wbuf != NULL && BIO_flush(s->wbuf) != 1) {
		ERR_clear_error();
		return (-1);
	}
	return (0);
}

/* Up to max bytes from what is buffered (filling it once when empty). */
static size_t
side_take(struct side *s, size_t max, const char **p)
{
	size_t	n;

	if (s->off == s->len && side_fill(s) <= 0)
		return (0);
	n = s->len - s->off < max ? s->len - s->off : max;
	*p = s->buf + s->off;
	s->off += n;
	return (n);
}

/* Where a body goes: to a side, framed chunked or as it is, and for a
 * response with each secret's value replaced by its placeholder on the
 * way (held back: the last bytes could begin a value cut by the read).
 *
 * The bytes wait in one buffer, out, as they will leave: those cleared
 * to go first (searched, and replaced where a value was), then those
 * still held back. A body read with nothing before it in its side's
 * buffer is decrypted straight into out and searched there, so that a
 * byte is copied by moat only where OpenSSL copies it (out of its record
 * and into the next one); a replacement, which changes the length, goes
 * through a copy (sink_replace). */
struct sink {
	struct side		*to;
	bool			 chunked;
	const struct secrets	*unswap;	/* NULL: the bytes as they are */
	/* A response that keeps the upstream's Content-Length: a swap back
	 * that would change the length (one the base64 of a Basic
	 * credential runs into) cuts it instead (resized). */
	bool			 same_length, resized;
	/* A request body: the placeholders that may not pass (of secrets
	 * not named for this host), looked for across the reads. */
	const struct secrets	*forbid_in;
	uint64_t		 forbid;
	struct secret_scan	 scan;
	const struct secret	*found;		/* one was: nothing more goes */
	size_t			 keep;		/* held back at most, unswapping */
	/* out: room for a chunk's size line before the bytes and its CRLF
	 * after; [0, clear) of the bytes go next, [clear, nout) are held
	 * back (with unswap only). */
	char			*out;		/* owned */
	size_t			 clear, nout, capout;
	char			*scratch;	/* owned; capout bytes, for a replacement */
};

#define SINK_HDR	20	/* "ffffffffffffffff\r\n" */
#define SINK_BYTES(k)	((k)->out + SINK_HDR)

/* The cleared bytes go on, as one chunk in one TLS write; those held
 * back move to the buffer's start. */
static int
sink_flush(struct sink *k)
{
	char	hdr[SINK_HDR + 1], save[2];
	int	hl, rc;
	char	*start = SINK_BYTES(k);
	size_t	len = k->clear;

	if (len == 0)
		return (0);
	if (k->chunked) {
		hl = snprintf(hdr, sizeof hdr, "%zx\r\n", len);
		start -= hl;
		memcpy(start, hdr, (size_t)hl);
		/* The CRLF goes where held-back bytes may be: put back. */
		memcpy(save, start + hl + len, 2);
		memcpy(start + hl + len, "\r\n", 2);
		rc = side_write(k->to, start, len + (size_t)hl + 2);
		memcpy(start + hl + len, save, 2);
	} else
		rc = side_write(k->to, start, len);
	memmove(SINK_BYTES(k), SINK_BYTES(k) + len, k->nout - len);
	k->nout -= len;
	k->clear = 0;
	return (rc);
}

/* Bytes cleared to go, after those cleared already (nothing is held
 * back while this is called). */
static int
sink_raw(struct sink *k, const char *p, size_t n)
{
	if (n == 0)
		return (0);
	if (k->clear + n > k->capout && sink_flush(k) == -1)
		return (-1);
	while (n > 0) {
		size_t	m = n < k->capout - k->clear ? n : k->capout - k->clear;

		memcpy(SINK_BYTES(k) + k->clear, p, m);
		k->clear += m;
		k->nout = k->clear;
		p += m;
		n -= m;
		if (n > 0 && sink_flush(k) == -1)
			return (-1);
	}
	return (0);
}

static void
sink_init(struct sink *k, struct side *to, bool chunked, const struct secrets *unswap)
{
	memset(k, 0, sizeof *k);
	k->to = to;
	k->chunked = chunked;
	k->unswap = unswap;
	/* Held back: enough for a value, or a base64 token holding one, to
	 * be whole in what is searched. */
	for (size_t i = 0; unswap != NULL && i < unswap->n; i++)
		if (SECRET_B64_TOKEN_MAX(unswap->v[i].len) > k->keep)
			k->keep = SECRET_B64_TOKEN_MAX(unswap->v[i].len);
	/* A chunk, a read's worth more, and what is held back. */
	k->capout = ICPT_FLUSH + ICPT_BUF + k->keep + secrets_plen_max(unswap);
	k->out = xmalloc(SINK_HDR + k->capout + 2);
}

/* Each replacement in buf from its start, sent on with what precedes it;
 * *pos: where the rest begins; *limit: where a token that may go on
 * begins (len: none), which nothing may pass yet. */
static int
sink_unswap(struct sink *k, const char *buf, size_t len, bool final,
    size_t *pos, size_t *limit)
{
	size_t	at, end, rl;
	char	*r;
	int	rc;

	*pos = 0;
	*limit = len;
	while ((rc = secret_unswap_next(k->unswap, buf, len, *pos, final, &at,
	    &end, &r, &rl)) == 1) {
		if (k->same_length && rl != end - at) {
			explicit_bzero(r, rl);
			free(r);
			k->resized = true;
			return (-1);
		}
		if (sink_raw(k, buf + *pos, at - *pos) == -1 ||
		    sink_raw(k, r, rl) == -1) {
			free(r);
			return (-1);
		}
		explicit_bzero(r, rl);
		free(r);
		*pos = end;
	}
	if (rc == 2)
		*limit = at;
	return (0);
}

/* How many of len bytes, from pos on, may go when keep must stay and
 * nothing may pass limit. */
static size_t
sink_emit(const struct sink *k, size_t len, size_t pos, size_t limit)
{
	size_t	emit = len - pos > k->keep ? len - pos - k->keep : 0;

	if (pos + emit > limit)
		emit = limit > pos ? limit - pos : 0;
	return (emit);
}

/* The held-back bytes hold a replacement: they leave out for scratch and
 * come back replaced, those that must stay held back last. */
static int
sink_replace(struct sink *k, bool final)
{
	size_t	len = k->nout - k->clear, pos, limit, emit;

	if (k->scratch == NULL)
		k->scratch = xmalloc(k->capout);
	memcpy(k->scratch, SINK_BYTES(k) + k->clear, len);
	k->nout = k->clear;
	if (sink_unswap(k, k->scratch, len, final, &pos, &limit) == -1)
		return (-1);
	emit = final ? len - pos : sink_emit(k, len, pos, limit);
	if (sink_raw(k, k->scratch + pos, emit) == -1)
		return (-1);
	pos += emit;
	if (len - pos > k->capout - k->nout && sink_flush(k) == -1)
		return (-1);
	memcpy(SINK_BYTES(k) + k->nout, k->scratch + pos, len - pos);
	k->nout += len - pos;
	return (0);
}

/* n new bytes at the end of out (nout): searched, cleared to go where
 * they can, sent on once a chunk's worth is. */
static int
sink_commit(struct sink *k, size_t n)
{
	const char	*p = SINK_BYTES(k) + k->nout;

	k->nout += n;
	if (k->forbid != 0 &&
	    (k->found = secret_scan(&k->scan, k->forbid_in, k->forbid, p, n)) != NULL)
		return (-1);
	if (k->unswap == NULL)
		k->clear = k->nout;
	else {
		size_t	at, end, rl, len = k->nout - k->clear;
		char	*r;
		int	rc;

		rc = secret_unswap_next(k->unswap, SINK_BYTES(k) + k->clear, len,
		    0, false, &at, &end, &r, &rl);
		if (rc == 1) {
			explicit_bzero(r, rl);
			free(r);
			if (sink_replace(k, false) == -1)
				return (-1);
		} else
			k->clear += sink_emit(k, len, 0, rc == 2 ? at : len);
	}
	return (k->clear >= ICPT_FLUSH ? sink_flush(k) : 0);
}

/* Where the next bytes go in out, and how many fit: at least a read's
 * worth (ICPT_BUF), the cleared bytes sent on first when it would not. */
static int
sink_room(struct sink *k, char **p, size_t *room)
{
	if (k->capout - k->nout < ICPT_BUF && sink_flush(k) == -1)
		return (-1);
	*p = SINK_BYTES(k) + k->nout;
	*room = k->capout - k->nout;
	return (0);
}

/* Bytes read already (a side's buffer) into the sink. */
static int
sink_put(struct sink *k, const char *p, size_t n)
{
	while (n > 0) {
		char	*dst;
		size_t	 room;

		if (sink_room(k, &dst, &room) == -1)
			return (-1);
		if (room > n)
			room = n;
		memcpy(dst, p, room);
		if (sink_commit(k, room) == -1)
			return (-1);
		p += room;
		n -= room;
	}
	return (0);
}

static void
sink_free(struct sink *k)
{
	if (k->out != NULL)
		explicit_bzero(k->out, SINK_HDR + k->capout + 2);
	free(k->out);
	k->out = NULL;
	if (k->scratch != NULL)
		explicit_bzero(k->scratch, k->capout);
	free(k->scratch);
	k->scratch = NULL;
}

/* The body's end: what was held back, and the last chunk. */
static int
sink_end(struct sink *k)
{
	int	rc = 0;

	if (k->unswap != NULL && k->nout > k->clear) {
		size_t	at, end, rl;
		char	*r;

		if (secret_unswap_next(k->unswap, SINK_BYTES(k) + k->clear,
		    k->nout - k->clear, 0, true, &at, &end, &r, &rl) == 1) {
			explicit_bzero(r, rl);
			free(r);
			rc = sink_replace(k, true);
		} else
			k->clear = k->nout;
	}
	if (rc == 0)
		rc = sink_flush(k);
	if (rc == 0 && k->chunked)
		rc = side_write(k->to, "0\r\n\r\n", 5);
	sink_free(k);
	return (rc);
}

/* Up to max bytes of a body from one side into the sink: what its buffer
 * holds, else decrypted straight into the sink. The count; 0 when the
 * side ends (closed, or an error); -1 when the sink fails. */
static ssize_t
relay_some(struct side *from, struct sink *k, uint64_t max)
{
	const char	*p;
	char		*dst;
	size_t		 room;
	ssize_t		 got;

	if (from->off < from->len) {
		got = (ssize_t)side_take(from, max < ICPT_BUF ? (size_t)max : ICPT_BUF, &p);
		return (sink_put(k, p, (size_t)got) == -1 ? -1 : got);
	}
	/* What is cleared goes on before this side waits (as side_fill). */
	if (k->clear > 0 && side_would_wait(from) && sink_flush(k) == -1)
		return (-1);
	if (sink_room(k, &dst, &room) == -1)
		return (-1);
	if (room > max)
		room = (size_t)max;
	if ((got = side_read_into(from, dst, room)) <= 0)
		return (0);
	return (sink_commit(k, (size_t)got) == -1 ? -1 : got);
}

/* n bytes of a body from one side into the sink. */
static int
relay_n(struct side *from, struct sink *k, uint64_t n)
{
	ssize_t	got;

	while (n > 0) {
		if ((got = relay_some(from, k, n)) <= 0)
			return (-1);
		n -= (uint64_t)got;
	}
	return (0);
}

/* A body that ends with the connection. */
static int
relay_close(struct side *from, struct sink *k)
{
	ssize_t	got;

	while ((got = relay_some(from, k, UINT64_MAX)) > 0)
		;
	return ((int)got);
}

/* Reads one line (to its LF) of at most ICPT_LINE_MAX bytes into line. */
static int
read_line(struct side *s, char *line, size_t *len)
{
	*len = 0;
	for (;;) {
		if (s->off == s->len && side_fill(s) <= 0)
			return (-1);
		while (s->off < s->len) {
			char	c = s->buf[s->off++];

			if (*len >= ICPT_LINE_MAX - 1)
				return (-1);
			line[(*len)++] = c;
			if (c == '\n') {
				line[*len] = '\0';
				return (0);
			}
		}
	}
}

/* A chunked body: each chunk's data into the sink (which frames it again);
 * trailers are read and dropped. */
static int
relay_chunked(struct side *from, struct sink *k)
{
	char	line[ICPT_LINE_MAX];
	size_t	len;

	for (;;) {
		unsigned long long	size = 0;
		size_t			i;

		if (read_line(from, line, &len) == -1)
			return (-1);
		for (i = 0; i < len && line[i] != ';' && line[i] != '\r' &&
		    line[i] != '\n' && line[i] != ' '; i++) {
			int	d = line[i] >= '0' && line[i] <= '9' ? line[i] - '0' :
			    (line[i] | 0x20) >= 'a' && (line[i] | 0x20) <= 'f' ?
			    (line[i] | 0x20) - 'a' + 10 : -1;

			if (d < 0 || size > (1ULL << 40))
				return (-1);
			size = size * 16 + (unsigned)d;
		}
		if (i == 0)
			return (-1);
		if (size == 0)
			break;
		if (relay_n(from, k, size) == -1 || read_line(from, line, &len) == -1 ||
		    (!(len == 2 && line[0] == '\r') && len != 1))
			return (-1);
	}
	do {
		if (read_line(from, line, &len) == -1)
			return (-1);
	} while (!(len == 2 && line[0] == '\r') && len != 1);
	return (0);
}

/* A message head from s, at most SECRET_HTTP_HEAD_MAX bytes, into *head.
 * SH_OK, SH_MORE (closed before a whole head: *len says whether any came),
 * SH_TOO_LARGE. */
static enum secret_http_rc
read_head(struct side *s, char **head, size_t *len)
{
	char			*h = NULL;
	size_t			 n = 0, end;
	enum secret_http_rc	 rc;

	*head = NULL;
	*len = 0;
	for (;;) {
		const char	*p;
		size_t		 got = side_take(s, SECRET_HTTP_HEAD_MAX - n, &p);

		if (got == 0) {
			*len = n;
			free(h);
			return (n >= SECRET_HTTP_HEAD_MAX ? SH_TOO_LARGE : SH_MORE);
		}
		h = xrealloc(h, n + got + 1);
		memcpy(h + n, p, got);
		n += got;
		if ((rc = secret_http_head_end(h, n, &end)) == SH_OK) {
			/* What follows the head is the body's: back to the buffer. */
			s->off -= n - end;
			*head = h;
			*len = end;
			return (SH_OK);
		}
		if (rc == SH_TOO_LARGE) {
			free(h);
			*len = n;
			return (SH_TOO_LARGE);
		}
	}
}

static void
reply(struct side *s, int code, const char *reason, const char *body)
{
	char	buf[1536];
	int	n;

	n = snprintf(buf, sizeof buf, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n", code, reason,
	    strlen(body) + 1, body);
	if (n > 0)
		(void)side_write(s, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* After a refusal mid-body: what the client still sends is read and
 * dropped (at most max bytes, a second's pause ends it), so that the
 * answer reaches it before the close, not a reset for unread bytes. */
static void
drain(struct side *s, size_t max)
{
	struct timeval	tv = { .tv_sec = 1 };
	const char	*p;
	size_t		 got, total = 0;

	(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (total < max && (got = side_take(s, ICPT_BUF, &p)) > 0)
		total += got;
}

/* --- the connection's thread --------------------------------------------- */

/* Why a handshake failed, and whether the client rejected our certificate
 * (an alert about it: the client pins, or trusts another CA). */
static const char *
handshake_why(char *buf, size_t len, bool *cert_rejected)
{
	unsigned long	err = ERR_peek_error();
	int		reason = ERR_GET_REASON(err);

	*cert_rejected = reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
	    reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
	    reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
	    reason == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE ||
	    reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED;
	if (err == 0) {
		snprintf(buf, len, "the connection closed during the handshake");
		*cert_rejected = false;
		return (buf);
	}
	return (tls_error(buf, len));
}

static int
client_handshake(struct job *j, SSL_CTX *ctx, char *why, size_t whylen)
{
	BIO	*wbio = NULL;
	int	 n;
	bool	 rejected;

	if ((j->cl.ssl = SSL_new(ctx)) == NULL ||
	    (j->cl.rbio = BIO_new(BIO_s_mem())) == NULL ||
	    (wbio = BIO_new_socket(j->cl.fd, BIO_NOCLOSE)) == NULL ||
	    (j->cl.wbuf = BIO_new(BIO_f_buffer())) == NULL ||
	    BIO_set_write_buffer_size(j->cl.wbuf, 2 * ICPT_BUF) != 1) {
		snprintf(why, whylen, "TLS setup: %s", tls_error(why, whylen));
		BIO_free(j->cl.rbio);
		BIO_free(wbio);
		BIO_free(j->cl.wbuf);
		j->cl.rbio = j->cl.wbuf = NULL;
		return (-1);
	}
	/* Writes gather in wbuf and leave in one send per side_write;
	 * reads take what was fed in as few calls as it allows. */
	wbio = BIO_push(j->cl.wbuf, wbio);
	SSL_set_read_ahead(j->cl.ssl, 1);
	if (j->earlylen > 0)
		BIO_write(j->cl.rbio, j->early, (int)j->earlylen);
	BIO_up_ref(j->cl.rbio);		/* SSL_set_bio takes one reference */
	SSL_set_bio(j->cl.ssl, j->cl.rbio, wbio);
	BIO_free(j->cl.rbio);		/* the SSL holds it now; ours stays valid */
	for (;;) {
		if ((n = SSL_accept(j->cl.ssl)) == 1)
			return (0);
		if (SSL_get_error(j->cl.ssl, n) == SSL_ERROR_WANT_READ &&
		    side_feed(&j->cl) == 0)
			continue;
		break;
	}
	{
		char	b[256];

		handshake_why(b, sizeof b, &rejected);
		if (rejected) {
			snprintf(why, whylen, "the client refused moat's certificate "
			    "for %.200s (it pins certificates, or trusts another CA): %.200s",
			    j->host, b);
			fprintf(stderr, "moat: %s: the client refused moat's "
			    "certificate, so secret %s cannot be swapped in: it pins "
			    "its certificates or trusts only its own CA (moat's CA is "
			    "in SSL_CERT_FILE inside the sandbox)\n", j->host, j->names);
		} else
			snprintf(why, whylen, "TLS with the client: %s", b);
	}
	return (-1);
}

/* The system's trust store in ic->up, added by the run's first upstream
 * handshake (tls_client_ctx_trust says why not at the start); the others
 * wait for it here. -1 with why set when it could not be. */
static int
upstream_trust(struct intercept *ic, char *why, size_t whylen)
{
	int	rc;

	pthread_mutex_lock(&ic->trust_mu);
	if (ic->trusted == 0) {
		struct merr	e;

		ic->trusted = 1;
		if (tls_client_ctx_trust(ic->up, &e) == -1) {
			ic->trusted = -1;
			snprintf(ic->trust_why, sizeof ic->trust_why, "%.250s", e.msg);
		}
	}
	rc = ic->trusted;
	if (rc == -1)
		snprintf(why, whylen, "%s", ic->trust_why);
	pthread_mutex_unlock(&ic->trust_mu);
	return (rc == 1 ? 0 : -1);
}

static int
upstream_handshake(struct job *j, struct intercept *ic, char *why, size_t whylen)
{
	int	n;

	if (upstream_trust(ic, why, whylen) == -1)
		return (-1);
	if ((j->up.ssl = SSL_new(ic->up)) != NULL) {
		/* Records read a socket's worth at a time, not two reads each. */
		SSL_set_read_ahead(j->up.ssl, 1);
		SSL_set_default_read_buffer_len(j->up.ssl, ICPT_BUF + 1024);
	}
	if (j->up.ssl == NULL || SSL_set_fd(j->up.ssl, j->up.fd) != 1 ||
	    SSL_set1_host(j->up.ssl, j->verify) != 1 ||
	    SSL_set_tlsext_host_name(j->up.ssl, j->verify) != 1) {
		char	b[256];

		snprintf(why, whylen, "TLS setup: %s", tls_error(b, sizeof b));
		return (-1);
	}
	if ((n = SSL_connect(j->up.ssl)) == 1)
		return (0);
	{
		long	vr = SSL_get_verify_result(j->up.ssl);
		char	b[256];
		bool	rej;

		if (vr != X509_V_OK) {
			ERR_clear_error();
			snprintf(why, whylen, "the certificate of %.200s failed "
			    "verification: %s", j->verify,
			    X509_verify_cert_error_string(vr));
		} else
			snprintf(why, whylen, "TLS with %.200s: %s", j->verify,
			    handshake_why(b, sizeof b, &rej));
	}
	return (-1);
}

static double
mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Names of the secrets a request swapped, for its event. */
static void
swapped_names(const struct secrets *s, uint64_t bits, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < s->n && i < 64; i++)
		if (bits & (1ULL << i)) {
			size_t	l = strlen(buf);

			snprintf(buf + l, len - l, "%s%s", l > 0 ? "," : "", s->v[i].name);
		}
}

/* The profile's HTTP rules for the connection's host: when any names it,
 * a request must match one (method and path, the query aside). */
static bool
http_refused(struct intercept *ic, struct job *j, const struct secret_http_msg *m,
    char *why, size_t len)
{
	struct allow_target	 t;
	char			 path[sizeof m->path];
	bool			 any = false;

	if (ic->http.nrules == 0 || allow_target_set(&t, j->host, j->port) == -1)
		return (false);
	snprintf(path, sizeof path, "%s", m->path);
	path[strcspn(path, "?")] = '\0';
	for (size_t i = 0; i < ic->http.nrules; i++) {
		const struct net_rule	*r = &ic->http.rules[i];

		if (!allow_rule_match(r, &t))
			continue;
		any = true;
		if (net_rule_http_match(r, m->method, path))
			return (false);
	}
	if (any)
		snprintf(why, len, "no net-allow HTTP rule for %.100s allows %s %.120s",
		    j->host, m->method, path);
	return (any);
}

/* HTTP/1.1 between the two, one request at a time. */
static void
serve(struct job *j)
{
	struct intercept	*ic = j->ic;

	for (;;) {
		struct secret_http_msg	 req, resp;
		enum secret_http_rc	 rc;
		char			*head = NULL, *out = NULL;
		size_t			 hlen, olen;
		const char		*why = "";
		uint64_t		 c0 = j->cl.bytes, u0 = j->up.bytes;
		double			 t0 = mono();
		char			 sw[256], why_rule[300];
		struct sink		 k;

		rc = read_head(&j->cl, &head, &hlen);
		if (rc == SH_MORE) {
			if (hlen > 0)
				icpt_event(ic, "error", j->host, j->port,
				    "the client closed in the middle of a request",
				    hlen, 0, mono() - t0, "error %s:%u: the client "
				    "closed in the middle of a request (intercepted)",
				    j->host, j->port);
			return;
		}
		if (rc == SH_TOO_LARGE) {
			reply(&j->cl, 431, "Request Header Fields Too Large",
			    "moat: a request head larger than 64 KiB");
			icpt_event(ic, "refused", j->host, j->port, "request head over 64 KiB",
			    hlen, 0, mono() - t0, "refused %s:%u: a request head "
			    "over 64 KiB (intercepted)", j->host, j->port);
			return;
		}
		rc = secret_http_request(ic->secrets, j->named, head, hlen, &out,
		    &olen, &req, &why);
		explicit_bzero(head, hlen);
		free(head);
		if (rc == SH_FOREIGN) {
			char	body[512];

			snprintf(body, sizeof body, "moat: the placeholder of secret "
			    "%s may only be sent to its own hosts, not %s",
			    req.foreign->name, j->host);
			reply(&j->cl, 403, "Forbidden", body);
			snprintf(body, sizeof body, "the placeholder of secret %s sent "
			    "to a host not its own", req.foreign->name);
			icpt_event(ic, "refused", j->host, j->port, body, hlen, 0,
			    mono() - t0, "refused %s %s:%u%s: "
			    "the placeholder of secret %s sent to a host that is not one "
			    "of its own (intercepted)", req.method, j->host, j->port,
			    req.path, req.foreign->name);
			free(out);
			return;
		}
		if (rc != SH_OK) {
			char	body[300];

			snprintf(body, sizeof body, "moat: a malformed request: %s", why);
			reply(&j->cl, 400, "Bad Request", body);
			icpt_event(ic, "error", j->host, j->port, why, hlen, 0,
			    mono() - t0, "error %s:%u: a malformed request: %s "
			    "(intercepted)", j->host, j->port, why);
			free(out);
			return;
		}
		if (http_refused(ic, j, &req, why_rule, sizeof why_rule)) {
			char	body[700];

			snprintf(body, sizeof body, "moat: %s %.200s on %.100s is not allowed "
			    "by the profile's HTTP rules (%.300s)", req.method, req.path,
			    j->host, why_rule);
			reply(&j->cl, 403, "Forbidden", body);
			icpt_event(ic, "refused", j->host, j->port, why_rule, hlen, 0,
			    mono() - t0, "refused %s %s:%u%s: %s (intercepted)",
			    req.method, j->host, j->port, req.path, why_rule);
			explicit_bzero(out, olen);
			free(out);
			return;
		}
		if (side_write(&j->up, out, olen) == -1) {
			explicit_bzero(out, olen);
			free(out);
			icpt_event(ic, "error", j->host, j->port, "upstream closed",
			    j->cl.bytes - c0, 0, mono() - t0, "error %s %s:%u%s: "
			    "the upstream closed (intercepted)", req.method, j->host,
			    j->port, req.path);
			return;
		}
		explicit_bzero(out, olen);
		free(out);
		sink_init(&k, &j->up, req.chunked, NULL);
		k.forbid_in = ic->secrets;
		k.forbid = ~j->named & (ic->secrets->n >= 64 ? ~0ULL :
		    (1ULL << ic->secrets->n) - 1);
		j->cl.flush = &k;
		if ((req.chunked && (relay_chunked(&j->cl, &k) == -1 || sink_end(&k) == -1)) ||
		    (!req.chunked && req.clen > 0 &&
		    (relay_n(&j->cl, &k, (uint64_t)req.clen) == -1 ||
		    sink_flush(&k) == -1))) {
			j->cl.flush = NULL;
			sink_free(&k);
			if (k.found != NULL) {
				char	body[512];

				/* The upstream has a cut request and no more:
				 * the placeholder's last byte never went. */
				snprintf(body, sizeof body, "moat: the placeholder of "
				    "secret %s may only be sent to its own hosts, not "
				    "in a request body to %s", k.found->name, j->host);
				reply(&j->cl, 403, "Forbidden", body);
				drain(&j->cl, ICPT_DRAIN_MAX);
				snprintf(body, sizeof body, "the placeholder of secret "
				    "%s sent to a host not its own, in a request body",
				    k.found->name);
				icpt_event(ic, "refused", j->host, j->port, body,
				    j->cl.bytes - c0, 0, mono() - t0, "refused %s "
				    "%s:%u%s: the placeholder of secret %s in the request "
				    "body, to a host that is not one of its own "
				    "(intercepted)", req.method, j->host, j->port,
				    req.path, k.found->name);
				return;
			}
			icpt_event(ic, "error", j->host, j->port, "request body cut",
			    j->cl.bytes - c0, 0, mono() - t0, "error %s %s:%u%s: the "
			    "request body was cut short (intercepted)", req.method,
			    j->host, j->port, req.path);
			return;
		}
		j->cl.flush = NULL;
		sink_free(&k);
		/* The response; interim 1xx heads are passed on first. */
		do {
			rc = read_head(&j->up, &head, &hlen);
			if (rc != SH_OK) {
				reply(&j->cl, 502, "Bad Gateway", rc == SH_TOO_LARGE ?
				    "moat: the upstream's response head is over 64 KiB" :
				    "moat: the upstream closed before its response");
				icpt_event(ic, "error", j->host, j->port, "no response",
				    j->cl.bytes - c0, j->up.bytes - u0, mono() - t0,
				    "error %s %s:%u%s: no response from upstream "
				    "(intercepted)", req.method, j->host, j->port, req.path);
				return;
			}
			rc = secret_http_response(ic->secrets, head, hlen,
			    strcmp(req.method, "HEAD") == 0, req.minor == 1 ?
			    SH_BODY_CHUNKED : SH_BODY_CLOSE, req.minor == 1 &&
			    secrets_same_length(ic->secrets), &out, &olen, &resp, &why);
			explicit_bzero(head, hlen);
			free(head);
			if (rc != SH_OK) {
				char	body[300];

				snprintf(body, sizeof body, "moat: a malformed response "
				    "from upstream: %s", why);
				reply(&j->cl, 502, "Bad Gateway", body);
				icpt_event(ic, "error", j->host, j->port, why,
				    j->cl.bytes - c0, j->up.bytes - u0, mono() - t0,
				    "error %s %s:%u%s: a malformed response: %s "
				    "(intercepted)", req.method, j->host, j->port,
				    req.path, why);
				return;
			}
			/* The final head of a response without a body goes
			 * after its event (below), as a body's last bytes do. */
			if (resp.status / 100 == 1 && resp.status != 101) {
				if (side_write(&j->cl, out, olen) == -1) {
					free(out);
					return;
				}
				free(out);
			}
		} while (resp.status / 100 == 1 && resp.status != 101);
		/* The body, each value replaced by its placeholder, framed
		 * anew where secret_http_response rewrote the head for it,
		 * else as the upstream framed it (every swap keeps its
		 * length). */
		bool	body = resp.status / 100 != 1 && resp.status != 204 &&
		    resp.status != 304 && strcmp(req.method, "HEAD") != 0;

		if ((body && resp.status != 101) && side_write(&j->cl, out, olen) == -1) {
			free(out);
			return;
		}

		if (req.minor == 0)
			resp.close = true;
		sink_init(&k, &j->cl, resp.reframed && req.minor == 1, ic->secrets);
		k.same_length = body && !resp.reframed;
		j->up.flush = &k;
		if (resp.status == 101)
			resp.close = true;	/* another protocol: not carried */
		else if (body && resp.chunked)
			rc = relay_chunked(&j->up, &k) == 0 ? SH_OK : SH_BAD;
		else if (body && resp.clen > 0)
			rc = relay_n(&j->up, &k, (uint64_t)resp.clen) == 0 ? SH_OK : SH_BAD;
		else if (body && resp.clen == -1) {
			rc = relay_close(&j->up, &k) == 0 ? SH_OK : SH_BAD;
			resp.close = true;
		}
		/* The event goes before the response's last bytes: a client
		 * that ends once it has them (a session's command) finds its
		 * event with the session's supervisor already. */
		swapped_names(ic->secrets, req.swapped, sw, sizeof sw);
		icpt_event(ic, rc == SH_OK ? "allowed" : "error", j->host, j->port,
		    k.resized ? ICPT_RESIZED : sw[0] != '\0' ?
		    "intercepted, secret swapped" : "intercepted",
		    j->cl.bytes - c0, j->up.bytes - u0, mono() - t0,
		    "%s %s %s:%u%s -> %d (intercepted%s%s%s%s); out %llu B, in %llu B, %.3f s",
		    rc == SH_OK ? "allowed" : "error", req.method, j->host, j->port,
		    req.path, resp.status, sw[0] != '\0' ? "; secret " : "", sw,
		    sw[0] != '\0' ? " swapped" : "", k.resized ? "; " ICPT_RESIZED : "",
		    (unsigned long long)(j->cl.bytes - c0),
		    (unsigned long long)(j->up.bytes - u0), mono() - t0);
		if (!(body && resp.status != 101)) {
			if (side_write(&j->cl, out, olen) == -1)
				rc = SH_BAD;
		} else if (sink_end(&k) == -1) {
			if (rc == SH_OK && k.resized)
				icpt_event(ic, "error", j->host, j->port, ICPT_RESIZED,
				    j->cl.bytes - c0, j->up.bytes - u0, mono() - t0,
				    "error %s %s:%u%s -> %d (intercepted; %s)",
				    req.method, j->host, j->port, req.path,
				    resp.status, ICPT_RESIZED);
			rc = SH_BAD;
		}
		free(out);
		j->up.flush = NULL;
		sink_free(&k);
		if (rc != SH_OK || req.close || resp.close)
			return;
	}
}

static void *
job_thread(void *arg)
{
	struct job		*j = arg;
	struct intercept	*ic = j->ic;
	char			 why[512];
	struct merr		 e;
	SSL_CTX			*ctx;
	struct timeval		 tv = { .tv_sec = ICPT_IDLE_SECS };
	int			 fl, one = 1;

	for (int i = 0; i < 2; i++) {
		int	fd = i == 0 ? j->cl.fd : j->up.fd;

		if ((fl = fcntl(fd, F_GETFL)) != -1)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		/* A head and a body go out as separate writes: Nagle's wait
		 * for an ACK the peer delays would add 40 ms to each. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	if ((ctx = tls_ca_server_ctx(ic->ca, j->host, &e)) == NULL) {
		icpt_event(ic, "error", j->host, j->port, e.msg, 0, 0, 0,
		    "error %s:%u: %s (intercepted)", j->host, j->port, e.msg);
	} else if (client_handshake(j, ctx, why, sizeof why) == -1) {
		icpt_event(ic, "error", j->host, j->port, why, j->earlylen, 0, 0,
		    "error %s:%u: %s (intercepted)", j->host, j->port, why);
	} else if (upstream_handshake(j, ic, why, sizeof why) == -1) {
		char	body[700];
		char	*h = NULL;
		size_t	 hl;

		/* The client hears why, in its own protocol, once it asks. */
		if (read_head(&j->cl, &h, &hl) == SH_OK) {
			snprintf(body, sizeof body, "moat: %s", why);
			reply(&j->cl, 502, "Bad Gateway", body);
		}
		free(h);
		icpt_event(ic, "error", j->host, j->port, why, 0, 0, 0,
		    "error %s:%u: %s (intercepted)", j->host, j->port, why);
	} else
		serve(j);

	if (j->cl.ssl != NULL) {
		(void)SSL_shutdown(j->cl.ssl);
		if (j->cl.wbuf != NULL)
			(void)BIO_flush(j->cl.wbuf);
		SSL_free(j->cl.ssl);
	}
	if (j->up.ssl != NULL) {
		(void)SSL_shutdown(j->up.ssl);
		SSL_free(j->up.ssl);
	}
	ERR_clear_error();
	pthread_mutex_lock(&ic->mu);
	for (struct icpt_conn **pp = &ic->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j->conn) {
			*pp = j->conn->next;
			break;
		}
	close(j->cl.fd);
	close(j->up.fd);
	ic->nconns--;
	pthread_cond_broadcast(&ic->cv);
	pthread_mutex_unlock(&ic->mu);
	free(j->conn);
	free(j->early);
	free(j);
	return (NULL);
}

int
intercept_start(struct intercept *ic, int cfd, int ufd, const char *host,
    unsigned port, const char *verify, uint64_t named, const void *early,
    size_t earlylen, struct merr *e)
{
	struct job	*j = xcalloc(1, sizeof *j);
	pthread_attr_t	 attr;
	pthread_t	 tid;
	sigset_t	 all, old;
	int		 rc;

	j->ic = ic;
	j->cl.fd = cfd;
	j->up.fd = ufd;
	snprintf(j->host, sizeof j->host, "%s", host);
	snprintf(j->verify, sizeof j->verify, "%s", verify);
	j->port = port;
	j->named = named;
	swapped_names(ic->secrets, named, j->names, sizeof j->names);
	if (earlylen > 0) {
		j->early = xmalloc(earlylen);
		memcpy(j->early, early, earlylen);
		j->earlylen = earlylen;
	}
	j->conn = xcalloc(1, sizeof *j->conn);
	j->conn->cfd = cfd;
	j->conn->ufd = ufd;
	pthread_mutex_lock(&ic->mu);
	j->conn->next = ic->conns;
	ic->conns = j->conn;
	ic->nconns++;
	pthread_mutex_unlock(&ic->mu);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, job_thread, j);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_lock(&ic->mu);
		for (struct icpt_conn **pp = &ic->conns; *pp != NULL; pp = &(*pp)->next)
			if (*pp == j->conn) {
				*pp = j->conn->next;
				break;
			}
		ic->nconns--;
		pthread_mutex_unlock(&ic->mu);
		close(cfd);
		close(ufd);
		free(j->conn);
		free(j->early);
		free(j);
		errno = rc;
		return (merr_errno(e, "a thread for an intercepted connection"));
	}
	return (0);
}

bool
intercept_match(const struct intercept *ic, const struct allow_target *t,
    uint64_t *named, char *names, size_t nameslen)
{
	const char	*why;

	*named = 0;
	if (names != NULL && nameslen > 0)
		names[0] = '\0';
	for (size_t i = 0; i < ic->nhosts && i < 64; i++)
		if (allow_match(&ic->hosts[i], t, &why) != NULL) {
			*named |= 1ULL << i;
			if (names != NULL) {
				size_t	l = strlen(names);

				snprintf(names + l, nameslen - l, "%s%s", l > 0 ? "," : "",
				    ic->secrets->v[i].name);
			}
		}
	return (*named != 0);
}

struct intercept *
intercept_new(const struct secrets *s, const struct profile *p, struct merr *e)
{
	struct intercept	*ic = xcalloc(1, sizeof *ic);

	ic->secrets = s;
	ic->ca = s->ca;
	ic->ev[0] = ic->ev[1] = -1;
	pthread_mutex_init(&ic->mu, NULL);
	pthread_mutex_init(&ic->trust_mu, NULL);
	pthread_cond_init(&ic->cv, NULL);
	if (s->n > 64) {
		merr_set(e, "more than 64 secrets in one run");
		goto fail;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct strv	rules = { 0 }, none = { 0 };
		int		rc;

		/* A host without a port is 443 here: only HTTPS is intercepted. */
		for (size_t h = 0; h < s->v[i].hosts.n; h++) {
			const char	*x = s->v[i].hosts.v[h];

			if (strchr(x, ':') == NULL)
				strv_take(&rules, xprintf("%s:443", x));
			else
				strv_add(&rules, x);
		}
		rc = allow_init(&ic->hosts[i], &rules, &none, true, false, e);
		strv_clear(&rules);
		ic->nhosts++;
		if (rc == -1)
			goto fail;
	}
	{
		struct strv	rules = { 0 }, none = { 0 };
		int		rc;

		for (size_t i = 0; i < p->net_allow.n; i++)
			if (strpbrk(p->net_allow.v[i], " \t") != NULL)
				strv_add(&rules, p->net_allow.v[i]);
		rc = allow_init(&ic->http, &rules, &none, true, false, e);
		strv_clear(&rules);
		if (rc == -1)
			goto fail;
	}
	if ((ic->up = tls_client_ctx_new(&p->net_ca, e)) == NULL)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ic->ev) == -1) {
		merr_errno(e, "socketpair");
		goto fail;
	}
	(void)fcntl(ic->ev[0], F_SETFL, O_NONBLOCK);
	{
		int	sz = 1 << 20;

		(void)setsockopt(ic->ev[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	}
	return (ic);
fail:
	intercept_free(ic, NULL);
	return (NULL);
}

void
intercept_free(struct intercept *ic, const struct event_sink *sink)
{
	if (ic == NULL)
		return;
	pthread_mutex_lock(&ic->mu);
	ic->stopping = true;
	/* Wake every thread out of its blocking reads and writes. */
	for (struct icpt_conn *c = ic->conns; c != NULL; c = c->next) {
		shutdown(c->cfd, SHUT_RDWR);
		shutdown(c->ufd, SHUT_RDWR);
	}
	while (ic->nconns > 0) {
		pthread_mutex_unlock(&ic->mu);
		if (ic->ev[0] != -1)
			intercept_drain(ic, sink);	/* a thread may wait on a full pair */
		pthread_mutex_lock(&ic->mu);
		if (ic->nconns > 0) {
			struct timespec	ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&ic->cv, &ic->mu, &ts);
		}
	}
	pthread_mutex_unlock(&ic->mu);
	if (ic->ev[0] != -1)
		intercept_drain(ic, sink);
	for (size_t i = 0; i < ic->nhosts; i++)
		allow_release(&ic->hosts[i]);
	allow_release(&ic->http);
	SSL_CTX_free(ic->up);
	if (ic->ev[0] != -1)
		close(ic->ev[0]);
	if (ic->ev[1] != -1)
		close(ic->ev[1]);
	pthread_cond_destroy(&ic->cv);
	pthread_mutex_destroy(&ic->trust_mu);
	pthread_mutex_destroy(&ic->mu);
	free(ic);
}
