/* replay.h: a run's kept output as a timed stream, for moat audit replay:
 * the head and tail of stdout and stderr cut where their timing (schema 5,
 * moat-audit(5)) says a new stretch was written, merged in time order, with
 * the bytes not kept between head and tail marked. Front ends; the parser
 * and the cutting are pure logic. */
#ifndef MOAT_REPLAY_H
#define MOAT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct audit;

struct replay_tick {
	uint64_t	 off;		/* the stretch's first byte in the stream */
	uint64_t	 ms;		/* when it was written, after the run began */
};

struct replay_chunk {
	int		 stream;	/* 1 stdout, 2 stderr */
	uint64_t	 ms;		/* when it was written */
	const char	*p;		/* into the replay's copies; len bytes */
	size_t		 len;
	uint64_t	 skipped;	/* > 0: that many bytes were not kept before it */
	size_t		 seq;		/* the order it was added in */
};

struct replay {
	struct replay_chunk *c;		/* owned, n of them, in time order once sorted */
	size_t		 n;
	char		*own[4];	/* owned: the copies chunks point into */
	size_t		 nown;
	bool		 untimed;	/* a stream with output had no timing */
	bool		 damaged;	/* a timing could not be read: played without it */
};

/* Reads a timing column ("OFFSET MS\n" lines, offsets never going back).
 * Returns the ticks (owned by the caller) and their count, or -1 when the
 * text is not such lines. */
int	replay_timing_parse(const char *, size_t, struct replay_tick **, size_t *);
/* Adds one stream: head holds its first nh bytes, tail its last nt of total
 * (nothing between when total > nh + nt), timing its column or NULL. */
void	replay_add(struct replay *, int stream, const char *head, size_t nh,
	    const char *tail, size_t nt, uint64_t total, const char *timing, size_t ntiming);
/* Orders the chunks by time, stdout before stderr at the same time. */
void	replay_sort(struct replay *);
/* The run's kept output from the log. */
int	replay_load(struct audit *, int64_t id, struct replay *, struct merr *);
void	replay_clear(struct replay *);

#endif
