/* chan.c: sending and receiving the messages of chan.h. Any process. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"

int
chan_send(int sock, const struct chan_msg *m, const void *payload, size_t len,
    const int *fds, int nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov[2];
	char		 cbuf[CMSG_SPACE(sizeof(int) * CHAN_MAX_FDS)];
	struct cmsghdr	*c;
	ssize_t		 n;

	if (nfds < 0 || nfds > CHAN_MAX_FDS || len > SPAWN_PAYLOAD_MAX) {
		errno = EINVAL;
		return (-1);
	}
	memset(&mh, 0, sizeof mh);
	iov[0].iov_base = (void *)m;
	iov[0].iov_len = sizeof *m;
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	if (nfds > 0) {
		memset(cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	return (0);
}

int
chan_recv(int sock, int flags, struct chan_msg *m, char **payload, size_t *len,
    int *fds, int maxfds, int *nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov[2];
	char		 cbuf[CMSG_SPACE(sizeof(int) * CHAN_MAX_FDS)];
	struct cmsghdr	*c;
	char		*buf = NULL;
	ssize_t		 n, want;
	*nfds = 0;
	if (payload != NULL)
		*payload = NULL;
	if (len != NULL)
		*len = 0;
	/* The size first (a datagram's whole length), then all of it. */
	do
		want = recv(sock, NULL, 0, MSG_PEEK | MSG_TRUNC | (flags & MSG_DONTWAIT));
	while (want == -1 && errno == EINTR);
	if (want == -1)
		return (-1);
	if (payload != NULL && want > (ssize_t)sizeof *m &&
	    want <= (ssize_t)(sizeof *m + SPAWN_PAYLOAD_MAX))
		buf = malloc((size_t)want - sizeof *m + 1);
	memset(&mh, 0, sizeof mh);
	iov[0].iov_base = m;
	iov[0].iov_len = sizeof *m;
	iov[1].iov_base = buf;
	iov[1].iov_len = buf != NULL ? (size_t)want - sizeof *m : 0;
	mh.msg_iov = iov;
	mh.msg_iovlen = buf != NULL ? 2 : 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (flags & MSG_DONTWAIT));
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		free(buf);
		return (-1);
	}
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		int	k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int	fd;

			memcpy(&fd, CMSG_DATA(c) + sizeof fd * (size_t)i, sizeof fd);
			if (*nfds < maxfds)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	if (n == 0 && want == 0) {
		free(buf);
		return (0);	/* EOF (an empty datagram is never sent) */
	}
	if (n < (ssize_t)sizeof *m || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (n > (ssize_t)sizeof *m && buf == NULL)) {
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		free(buf);
		errno = EBADMSG;
		return (-1);
	}
	m->text[sizeof m->text - 1] = '\0';
	if (buf != NULL) {
		buf[n - (ssize_t)sizeof *m] = '\0';
		*payload = buf;
		*len = (size_t)n - sizeof *m;
	}
	return (1);
}

int
chan_recv_wait(int sock, struct chan_msg *m, char **payload, size_t *len,
    int *fds, int maxfds, int *nfds)
{
	int	rc;

	for (;;) {
		rc = chan_recv(sock, 0, m, payload, len, fds, maxfds, nfds);
		if (rc == -1 && errno == EAGAIN) {
			struct pollfd	pfd = { .fd = sock, .events = POLLIN };

			(void)poll(&pfd, 1, -1);
			continue;
		}
		if (rc == -1 && errno == EINTR)
			continue;
		return (rc);
	}
}
