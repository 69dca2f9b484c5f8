/* test-guard.c: guard_scan, which looks through a sandbox's processes for
 * a descriptor (or a shared mapping) on a file the guard just put back: a
 * protected file counts when open for writing or mapped shared and
 * writable, a hidden one when open or mapped at all; an O_PATH descriptor
 * never; a process outside the pid namespace never. A holder runs as pid
 * 1 of a pid namespace of its own (in a user namespace: no privilege
 * needed), as a sandbox's processes do. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/guard.h"
#include "../tap.h"

enum hold { HOLD_WRITE, HOLD_READ, HOLD_PATH, HOLD_MAP_SHARED_W, HOLD_MAP_PRIVATE_R };

static char	path[64];

/* A holder of path as how says, in a new pid namespace: its host pid (0
 * when namespaces cannot be made here), and the child to reap in *outer. */
static pid_t
holder(enum hold how, pid_t *outer)
{
	int	p[2];
	pid_t	pid = 0;

	if (pipe(p) == -1)
		return (0);
	if ((*outer = fork()) == 0) {
		pid_t	in;

		close(p[0]);
		if (unshare(CLONE_NEWUSER | CLONE_NEWPID) == -1)
			_exit(0);	/* reports 0: nothing written */
		if ((in = fork()) == 0) {
			int	fd = -1;
			void	*m;

			switch (how) {
			case HOLD_WRITE:
				fd = open(path, O_WRONLY);
				break;
			case HOLD_READ:
				fd = open(path, O_RDONLY);
				break;
			case HOLD_PATH:
				fd = open(path, O_PATH);
				break;
			case HOLD_MAP_SHARED_W:
			case HOLD_MAP_PRIVATE_R:
				fd = open(path, how == HOLD_MAP_SHARED_W ? O_RDWR : O_RDONLY);
				m = mmap(NULL, 4096, how == HOLD_MAP_SHARED_W ?
				    PROT_READ | PROT_WRITE : PROT_READ,
				    how == HOLD_MAP_SHARED_W ? MAP_SHARED : MAP_PRIVATE, fd, 0);
				if (m == MAP_FAILED)
					_exit(1);
				close(fd);	/* the mapping alone holds it */
				fd = 0;
				break;
			}
			if (fd == -1)
				_exit(1);
			pause();
			_exit(0);
		}
		(void)!write(p[1], &in, sizeof in);
		waitpid(in, NULL, 0);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &pid, sizeof pid) != (ssize_t)sizeof pid)
		pid = 0;
	close(p[0]);
	usleep(100 * 1000);	/* the holder opens or maps it */
	return (pid);
}

static ino_t
pidns_of(pid_t pid)
{
	char		p[64];
	struct stat	st;

	snprintf(p, sizeof p, "/proc/%d/ns/pid", (int)pid);
	return (stat(p, &st) == 0 ? st.st_ino : 0);
}

/* Whether guard_scan finds the holder (as hidden: any), and that it names
 * it. */
static int
scan(enum hold how, bool any, int *named)
{
	struct guard_held	h;
	struct stat		st;
	pid_t			pid, outer, who = 0;
	size_t			which = 9;
	int			hit;

	if ((pid = holder(how, &outer)) == 0) {
		waitpid(outer, NULL, 0);
		return (-1);
	}
	stat(path, &st);
	h = (struct guard_held){ st.st_dev, st.st_ino, any };
	hit = guard_scan(pidns_of(pid), &h, 1, &who, &which);
	*named = hit == 1 && who == pid && which == 0;
	kill(pid, SIGKILL);
	waitpid(outer, NULL, 0);
	return (hit);
}

int
main(void)
{
	struct guard_held	h;
	struct stat		st;
	pid_t			who;
	size_t			which;
	int			fd, named, rc;

	snprintf(path, sizeof path, "/tmp/test-guard.%d", (int)getpid());
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    ftruncate(fd, 4096) == -1) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		return (1);
	}
	close(fd);
	if ((rc = scan(HOLD_WRITE, false, &named)) == -1) {
		tap_skip("a user and pid namespace of the test's own cannot be made "
		    "here: guard_scan is not tested");
		unlink(path);
		printf("1..%d\n", tap_n);
		return (0);
	}
	tap_ok(rc == 1 && named, "a protected file open for writing in the "
	    "sandbox is found, and the process named");
	tap_ok(scan(HOLD_READ, false, &named) == 0, "open for reading only: "
	    "not, for a protected file");
	tap_ok(scan(HOLD_READ, true, &named) == 1 && named, "but found for a "
	    "hidden one");
	tap_ok(scan(HOLD_PATH, true, &named) == 0, "an O_PATH descriptor "
	    "reads nothing: not, even for a hidden file");
	tap_ok(scan(HOLD_MAP_SHARED_W, false, &named) == 1 && named, "a shared "
	    "writable mapping whose descriptor was closed is found");
	tap_ok(scan(HOLD_MAP_PRIVATE_R, false, &named) == 0, "a private "
	    "read-only mapping is not, for a protected file");
	tap_ok(scan(HOLD_MAP_PRIVATE_R, true, &named) == 1 && named, "but is "
	    "for a hidden one");
	/* This process, outside the namespace, holding it for writing (opened
	 * after the holder's fork, which would inherit it). */
	{
		pid_t	pid, outer;

		pid = holder(HOLD_READ, &outer);
		fd = open(path, O_WRONLY);
		stat(path, &st);
		h = (struct guard_held){ st.st_dev, st.st_ino, false };
		tap_ok(guard_scan(pidns_of(pid), &h, 1, &who, &which) == 0,
		    "a process outside the sandbox's pid namespace is not looked at");
		close(fd);
		kill(pid, SIGKILL);
		waitpid(outer, NULL, 0);
	}
	unlink(path);
	printf("1..%d\n", tap_n);
	return (tap_failed > 0);
}
