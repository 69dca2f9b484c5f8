/* cov.h: gcov's counters for the processes that end without exit(): the
 * sandbox init and the command's process before its exec. Only a coverage
 * build (./configure --enable-coverage, MOAT_COVERAGE) has them; everywhere
 * else these are empty inlines and cost nothing. See cov.c. */
#ifndef MOAT_COV_H
#define MOAT_COV_H

/*
 * cov_child: first thing in a child made with clone3: start from zero counts
 *	and keep a way to the build tree for cov_dump.
 * cov_dump: write the counters now; right before _exit and exec.
 * cov_fd: the descriptor cov_child keeps (close-on-exec), or -1.
 * cov_flush: write the counters and start again from zero: a process that
 *	is killed rather than exits (a session's init) writes what it has done
 *	so far, and its forks do not write it a second time.
 */
#ifdef MOAT_COVERAGE
void	cov_child(void);
void	cov_dump(void);
int	cov_fd(void);
void	cov_flush(void);
#else
static inline void
cov_child(void)
{
}

static inline void
cov_dump(void)
{
}

static inline int
cov_fd(void)
{
	return (-1);
}

static inline void
cov_flush(void)
{
}
#endif

#endif
