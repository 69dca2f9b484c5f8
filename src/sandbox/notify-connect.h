/* notify-connect.h: transparent interception of the sandbox's connect()
 * calls, answered from the seccomp notifier (notify.c). Supervisor only. */
#ifndef MOAT_NOTIFY_CONNECT_H
#define MOAT_NOTIFY_CONNECT_H

#include <stddef.h>
#include <linux/seccomp.h>

struct proxy;

/* Answers one connect() notification (req, received by the caller; resp
 * is the caller's kernel-sized buffer): on to the kernel for the sandbox's
 * own loopback and what is not TCP, else through proxy_transparent. */
void	notify_connect(int listener, const struct seccomp_notif *req,
	    struct seccomp_notif_resp *resp, struct proxy *);

/* Can this process read a child's memory (process_vm_readv: the address
 * of a connect()) and take a socket from it (pidfd_getfd)? 0, or -1 with
 * why naming the call that failed first, and how. For moat doctor. */
int	notify_connect_probe(char *why, size_t len);

#endif
