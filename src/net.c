/* net.c: network namespace setup. Runs in the sandbox init, inside the new
 * netns: loopback up (isolated mode needs nothing else). */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

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

int
net_setup(const struct profile *p, int *fds, int *nfds, const char **what)
{
	*nfds = 0;
	(void)fds;
	if (net_lo_up() == -1) {
		*what = "bring up loopback in the new network namespace";
		return (-1);
	}
	if (p->net != NET_ISOLATED) {
		*what = "network modes other than isolated";
		errno = ENOTSUP;
		return (-1);
	}
	return (0);
}
