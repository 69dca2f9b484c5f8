/* fuzz-session.c: libFuzzer harness for what crosses a session's control
 * socket as text: the session info lines (session_info_parse, which every
 * client reads from the supervisor) and an encoded event (event_decode, the
 * client's view of the sandbox's events). The first byte picks which. What
 * parses must format back to text that parses to the same thing, and never
 * hold a string that overflows its field or is not NUL-terminated. Build
 * and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/event.h"
#include "session/session.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
streq(const char *a, const char *b)
{
	return ((a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return (0);
	if (data[0] & 1) {
		struct session_info	in, again;
		char			*text;

		if (session_info_parse((const char *)data + 1, size - 1, &in) != 0)
			return (0);
		assert(memchr(in.id, '\0', sizeof in.id) != NULL);
		assert(memchr(in.cwd, '\0', sizeof in.cwd) != NULL);
		text = session_info_format(&in);
		assert(session_info_parse(text, strlen(text), &again) == 0);
		assert(strcmp(in.id, again.id) == 0 && strcmp(in.name, again.name) == 0);
		assert(strcmp(in.workspace, again.workspace) == 0);
		assert(strcmp(in.cwd, again.cwd) == 0 && in.pid == again.pid);
		assert(in.commands == again.commands && in.memory == again.memory);
		assert(memchr(in.user, '\0', sizeof in.user) != NULL);
		assert(memchr(in.home, '\0', sizeof in.home) != NULL);
		assert(strcmp(in.user, again.user) == 0 && strcmp(in.home, again.home) == 0);
		free(text);
	} else {
		struct run_event	ev, again;
		char			*copy = malloc(size), buf[EVENT_WIRE_MAX];
		size_t			n;

		memcpy(copy, data + 1, size - 1);
		if (event_decode(copy, size - 1, &ev) == 0) {
			assert(ev.kind >= EV_NOTE && ev.kind <= EV_EXEC);
			assert(ev.port <= 65535);
			n = event_encode(&ev, buf, sizeof buf);
			if (n > 0) {
				assert(event_decode(buf, n, &again) == 0);
				assert(again.kind == ev.kind && again.port == ev.port);
				assert(again.count == ev.count && again.outside == ev.outside);
				assert(streq(again.host, ev.host) || (ev.host != NULL &&
				    strlen(ev.host) > EVENT_FIELD_MAX));
				assert(streq(again.text, ev.text) || (ev.text != NULL &&
				    strlen(ev.text) > EVENT_FIELD_MAX));
			}
		}
		/* An exec's pid, parent, cwd and argv: what decodes encodes
		 * again to the same. */
		{
			static struct event_exec	x, y;
			struct run_event		again;

			if (event_decode_exec(copy, size - 1, &ev, &x) == 0 &&
			    ev.kind == EV_EXEC) {
				size_t	na = 0;

				assert(ev.argv != NULL && ev.cwd != NULL);
				while (ev.argv[na] != NULL)
					na++;
				assert(na <= EVENT_EXEC_ARGS);
				n = event_encode(&ev, buf, sizeof buf);
				assert(n > 0);
				assert(event_decode_exec(buf, n, &again, &y) == 0);
				assert(again.pid == ev.pid && again.ppid == ev.ppid &&
				    again.nspid == ev.nspid);
				assert(strcmp(again.cwd, ev.cwd) == 0);
				for (size_t i = 0; i < na; i++)
					assert(again.argv[i] != NULL &&
					    strcmp(again.argv[i], ev.argv[i]) == 0);
				assert(again.argv[na] == NULL);
			}
		}
		free(copy);
	}
	return (0);
}
