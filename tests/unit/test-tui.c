/* test-tui.c: the TUI's pure parts: how a line is read for the built-ins
 * (words, quoting, what goes to the shell), cd's path resolution, the
 * meter line and graph, and the output pane's emulator: text and \r land
 * where a terminal puts them, a title or clipboard request changes nothing
 * and is not passed on, a cursor report is answered to the command only,
 * lines scrolled off are kept and bounded, a flood is cut to its tail. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/event.h"
#include "base/util.h"
#include "sandbox/meter.h"
#include "tui/tui-line.h"
#include "tui/tui-meter.h"
#include "tui/tui-pane.h"
#include "../tap.h"

static char	answered[256];
static size_t	nanswered;

static void
out_cb(const char *s, size_t n, void *arg)
{
	if (nanswered + n < sizeof answered) {
		memcpy(answered + nanswered, s, n);
		nanswered += n;
		answered[nanswered] = '\0';
	}
}

static char *
words(const char *line)
{
	struct strv	w = { 0 };
	char		*s;
	size_t		 len = 1;

	if (tline_words(line, &w) == -1)
		return (xstrdup("SHELL"));
	for (size_t i = 0; i < w.n; i++)
		len += strlen(w.v[i]) + 1;
	s = xmalloc(len);
	s[0] = '\0';
	for (size_t i = 0; i < w.n; i++) {
		strcat(s, i > 0 ? "|" : "");
		strcat(s, w.v[i]);
	}
	strv_clear(&w);
	return (s);
}

static void
check_words(const char *line, const char *want)
{
	char	*got = words(line);

	tap_ok(strcmp(got, want) == 0, "words of [%s]: [%s] (want [%s])", line,
	    got, want);
	free(got);
}

static void
check_path(const char *cwd, const char *dir, const char *want)
{
	char	*got = tline_path(cwd, dir);

	tap_ok(strcmp(got, want) == 0, "cd %s from %s: %s (want %s)", dir, cwd,
	    got, want);
	free(got);
}

static void
feed(struct pane *p, const char *s)
{
	pane_write(p, s, strlen(s));
}

static int
row_is(struct pane *p, int row, const char *want)
{
	char	*got = pane_row_text(p, row);
	int	 ok;

	/* Trailing blanks are the screen's, not the text's. */
	for (size_t n = strlen(got); n > 0 && got[n - 1] == ' '; n--)
		got[n - 1] = '\0';
	ok = strcmp(got, want) == 0;
	if (!ok)
		printf("# row %d: [%s], want [%s]\n", row, got, want);
	free(got);
	return (ok);
}

/* The recent runs' command read back from the log's line. */
static void
check_unquote(const char *logged, const char *want, const char *what)
{
	char	out[256];

	tline_unquote(out, sizeof out, logged);
	tap_ok(strcmp(out, want) == 0, "recent runs: %s", what);
	if (strcmp(out, want) != 0)
		printf("# [%s] -> [%s], want [%s]\n", logged, out, want);
}

int
main(void)
{
	struct tmeter		m;
	struct meter_sample	s;
	struct run_event	ev;
	struct pane		*p;
	char			 line[512], *big;

	/* --- the built-ins' reading of a line */
	check_words("cd sub", "cd|sub");
	check_words("  export A=1   B='x y'  ", "export|A=1|B=x y");
	check_words("export A=\"quoted \\\"q\\\"\"", "export|A=quoted \"q\"");
	check_words("cd my\\ dir", "cd|my dir");
	check_words("cd ~/x", "cd|~/x");
	check_words("cd x && ls", "SHELL");
	check_words("export P=$PATH:/x", "SHELL");
	check_words("export A=\"$(id)\"", "SHELL");
	check_words("cd 'unterminated", "SHELL");
	check_words("cd *", "SHELL");
	check_words("echo a # note", "SHELL");
	check_words("cd a~b", "SHELL");
	check_words("", "");
	check_path("/home/u/ws", "sub", "/home/u/ws/sub");
	check_path("/home/u/ws", "../x/./y//z/", "/home/u/x/y/z");
	check_path("/home/u/ws", "/", "/");
	check_path("/", "../../..", "/");
	check_path("/a/b", "/etc/../tmp", "/tmp");
	check_path("/a", "..", "/");

	/* --- the recent runs' commands, as audit_argv_line quoted them */
	check_unquote("ls -l", "ls -l", "a bare line is as it is");
	check_unquote("'echo \"a  b\"'", "echo \"a  b\"", "single quotes hold spaces "
	    "and double quotes");
	check_unquote("\"echo it's\"", "echo it's", "a line with a single quote "
	    "is a JSON string, read back");
	check_unquote("\"printf 'a\\\\b' \\\"q\\\"\"", "printf 'a\\b' \"q\"",
	    "backslashes and double quotes in one");
	check_unquote("\"a\\tb\\u001bc\\nd\"", "a\tb\033c\nd",
	    "control characters come back (drawing shows them as ?)");
	check_unquote("\"x \\u00e9 \\ud800'\"", "x \xc3\xa9 ?'",
	    "\\u escapes as UTF-8, a lone surrogate as ?");
	check_unquote("\"it's \xff\xfe\"", "it's \xff\xfe",
	    "bytes that are not UTF-8 are kept as they were");
	check_unquote("moat session allow s-1 'a b' \"c'd\"",
	    "moat session allow s-1 a b c'd", "each argument of a line unquoted");
	check_unquote("\"unterminated \\", "unterminated \\",
	    "a cut-off line ends cleanly");
	{
		char	small[8];

		tline_unquote(small, sizeof small, "\"\\u00e9\\u00e9\\u00e9\\u00e9\"");
		tap_ok(strlen(small) == 6, "a character that does not fit whole is "
		    "left out");
	}

	/* --- meters */
	tmeter_start(&m, 512u << 20, 64, 30);
	memset(&s, 0, sizeof s);
	s.cpu_pct = 87;
	s.mem_current = 100 << 20;
	s.mem_peak = 150 << 20;
	s.nprocs = 7;
	tmeter_sample(&m, &s);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_NET_CONN;
	ev.verdict = "allowed";
	tmeter_event(&m, &ev);
	ev.verdict = "refused";
	tmeter_event(&m, &ev);
	tmeter_event(&m, &ev);
	ev.kind = EV_SYSCALL_DENIED;
	ev.count = 3;
	tmeter_event(&m, &ev);
	tmeter_line(&m, line, sizeof line);
	tap_ok(strstr(line, "cpu 87%") != NULL && strstr(line, "mem 100.0M/512.0M") != NULL &&
	    strstr(line, "peak 150.0M") != NULL && strstr(line, "pids 7/64") != NULL &&
	    strstr(line, "/0:30") != NULL && strstr(line, "net 1/2") != NULL &&
	    strstr(line, "sys 3") != NULL, "the meter line: %s", line);
	tap_ok(m.nhist == 1 && m.hist[0] == 87, "CPU %% goes to the history");
	s.cpu_pct = NAN;
	tmeter_sample(&m, &s);
	tap_ok(m.nhist == 1, "a sample with no CPU figure yet adds none");
	for (int i = 0; i < TMETER_HIST + 5; i++) {
		s.cpu_pct = i;
		tmeter_sample(&m, &s);
	}
	tap_ok(m.nhist == TMETER_HIST && m.hist[TMETER_HIST - 1] == TMETER_HIST + 4,
	    "the history keeps the newest %d", TMETER_HIST);
	tap_ok(strcmp(tmeter_spark(0), "\u2581") == 0 && strcmp(tmeter_spark(100),
	    "\u2588") == 0 && strcmp(tmeter_spark(250), "\u2588") == 0 &&
	    strcmp(tmeter_spark(NAN), "\u2581") == 0, "the graph's glyphs, clamped");
	tmeter_start(&m, 0, 0, 0);
	tmeter_line(&m, line, sizeof line);
	tap_ok(strstr(line, "cpu -") != NULL && strstr(line, "mem - ") != NULL &&
	    strstr(line, "pids - ") != NULL && strstr(line, "0:00 ") != NULL,
	    "no figures and no limits: %s", line);

	/* --- the pane */
	p = pane_new(5, 20, 3, out_cb, NULL);
	feed(p, "hello\r\nworld");
	pane_frame(p);
	tap_ok(row_is(p, 0, "hello") && row_is(p, 1, "world"), "text lands in rows");
	feed(p, "\r\n33%\r66%\r99%\r\n");
	pane_frame(p);
	tap_ok(row_is(p, 2, "99%"), "\\r overwrites the line, as a progress bar does");
	feed(p, "\033]2;title\007\033]52;c;cHduZWQ=\007x");
	pane_frame(p);
	tap_ok(row_is(p, 3, "x") && nanswered == 0,
	    "a title and a clipboard request change nothing and are not passed on");
	feed(p, "\033[6n");
	pane_frame(p);
	tap_ok(strcmp(answered, "\033[4;2R") == 0,
	    "a cursor report is answered to the command: %s", answered + 1);
	feed(p, "\033[31mred\033[0m");
	pane_frame(p);
	tap_ok(row_is(p, 3, "xred"), "colours are attributes, not text");
	feed(p, "\033[b\033[3b");
	pane_frame(p);
	tap_ok(row_is(p, 3, "xreddddd"), "REP repeats the last character");
	feed(p, "\r\n\302\2332b\033\302[2b");
	pane_frame(p);
	tap_ok(row_is(p, 4, "dddd"), "REP as C1 CSI, or with a high byte after ESC, "
	    "is done by the filter too");
	feed(p, "\r\033[99999999999b");
	pane_frame(p);
	tap_ok(row_is(p, 4, "dddddddddddddddddddd") || row_is(p, 3, "dddddddddddddddddddd"),
	    "a huge REP is bounded to a screenful (libvterm's own loops for ever)");
	feed(p, "\033[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21m"
	    "\033[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21HZ");
	pane_frame(p);
	tap_ok(row_is(p, 0, "dZdddddddddddddddddd"),
	    "a CSI of 21 parameters keeps its first 12");
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof line, "\r\nline %d", i);
		feed(p, line);
	}
	pane_frame(p);
	tap_ok(row_is(p, 4, "line 9"), "the screen scrolls");
	pane_scroll(p, 100);
	tap_ok(pane_scrolled(p) == 3, "scrollback is bounded (3 lines kept): %d",
	    pane_scrolled(p));
	pane_scroll(p, PANE_END);
	tap_ok(pane_scrolled(p) == 0, "End comes back");
	big = xmalloc(4u << 20);
	for (size_t i = 0; i < 4u << 20; i++)
		big[i] = i % 16 == 15 ? '\n' : i % 16 == 14 ? '\r' : 'y';
	memcpy(big + (4u << 20) - 10, "\r\nTAIL-X\r\n", 10);
	pane_write(p, big, 4u << 20);
	tap_ok(pane_dropped(p) > (3u << 20), "a flood is cut past a frame's budget "
	    "(%zu bytes left out)", pane_dropped(p));
	pane_frame(p);
	tap_ok(row_is(p, 3, "TAIL-X"), "the frame shows the flood's tail");
	free(big);
	pane_resize(p, 8, 10);
	feed(p, "\r\n0123456789ab");
	pane_frame(p);
	{
		int	r = -1;

		for (int i = 1; i < 8; i++) {
			char	*a = pane_row_text(p, i - 1), *b = pane_row_text(p, i);

			if (strncmp(a, "0123456789", 10) == 0 && strncmp(b, "ab", 2) == 0 &&
			    (b[2] == '\0' || b[2] == ' '))
				r = i;
			free(a);
			free(b);
		}
		if (r < 0)
			for (int i = 0; i < 8; i++) {
				char	*a = pane_row_text(p, i);

				printf("# row %d [%s]\n", i, a);
				free(a);
			}
		tap_ok(r > 0, "after a resize, lines wrap at the new width");
	}
	pane_free(p);
	printf("1..%d\n", tap_n);
	return (tap_failed > 0);
}
