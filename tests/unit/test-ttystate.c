/* test-ttystate.c: what a command's terminal output leaves switched on, and
 * the bytes moat writes after it to switch that off again (the pty relay's
 * restore on every exit path). Pure logic. */
#include <stdio.h>
#include <string.h>

#include "sandbox/ttystate.h"
#include "../tap.h"

/* The restore after OUT, fed in pieces of CHUNK bytes. */
static const char *
restore_of(const char *out, size_t chunk)
{
	static char		buf[TTYSTATE_RESTORE_MAX + 1];
	struct ttystate		ts;
	size_t			len = strlen(out), n;

	ttystate_init(&ts);
	for (size_t off = 0; off < len; off += chunk)
		ttystate_feed(&ts, out + off, len - off < chunk ? len - off : chunk);
	n = ttystate_restore(&ts, buf);
	buf[n] = '\0';
	return (buf);
}

static void
is(const char *got, const char *want, const char *what)
{
	if (!tap_ok(strcmp(got, want) == 0, "%s", what)) {
		printf("# got:  ");
		for (const char *p = got; *p != '\0'; p++)
			printf(*p < 0x20 ? "\\x%02x" : "%c", *p);
		printf("\n# want: ");
		for (const char *p = want; *p != '\0'; p++)
			printf(*p < 0x20 ? "\\x%02x" : "%c", *p);
		printf("\n");
	}
}

int
main(void)
{
	/* What vim does when it starts, then is killed. */
	const char	*vim = "\033[?1049h\033[22;0;0t\033[>4;2m\033[?1h\033=\033[H"
	    "\033[2J\033[?2004h\033[?1004h\033[1;24r\033[?12h\033[?12l\033[27m"
	    "\033[23m\033[29m\033[m\033[H\033[2J\033[?25l\033[1;1H\033[38;5;12m~";
	const char	*vim_end = "\033[?25h\033[?2004l\033[?1004l\033[>4;m"
	    "\033[?1l\033>\033[r\033[?1049l\033[0m";

	is(restore_of("plain text\r\n", 4), "", "plain text: nothing to restore");
	is(restore_of("\033[1;31mred\033[0m\r\n", 1), "",
	    "colours switched off by the program: nothing");
	is(restore_of("\033[1;31mred", 3), "\033[0m", "colours left on: SGR 0");
	is(restore_of("\033[38;5;0mblack", 2), "\033[0m",
	    "colour 0 (an argument of 38;5) is not a reset");
	is(restore_of("\033[1;0m", 1), "", "1;0 ends in a reset");
	is(restore_of(vim, 7), "\033[0m\0337\033[r\0338\033[?1004l\033[?2004l"
	    "\033[?1l\033[?1049l\033[?25h\033>\033[>4m",
	    "vim killed: colours, region, focus, paste, keys, alternate screen, "
	    "cursor, keypad, modifyOtherKeys");
	{
		char	all[1024];

		snprintf(all, sizeof all, "%s%s", vim, vim_end);
		is(restore_of(all, 5), "", "vim that ended itself: nothing");
		is(restore_of(all, 1), "", "the same, one byte at a time");
	}
	is(restore_of("\033[?1000h\033[?1006hclick", 1),
	    "\033[?1000l\033[?1006l", "mouse reports switched off");
	is(restore_of("\033[?1000;1006h", 64),
	    "\033[?1000l\033[?1006l", "several modes in one sequence");
	is(restore_of("\033[?2026hframe", 64), "\033[?2026l",
	    "synchronized output ended");
	is(restore_of("\033(0lqqk", 64), "\017\033(B\033)B",
	    "line drawing charset: back to ASCII");
	is(restore_of("\033(0lqqk\033(B", 64), "", "charset set back by the program");
	is(restore_of("\033[5 q", 64), "\033[0 q", "cursor shape back to default");
	is(restore_of("\033[>1u\033[>1u\033[<u", 64), "\033[<1u",
	    "kitty keyboard flags popped as many as pushed");
	is(restore_of("\033[?7l", 64), "\033[?7h", "autowrap back on");
	is(restore_of("\033[?104", 64), "\030", "a CSI cut short: CAN");
	is(restore_of("\033]0;title", 64), "\030", "an OSC cut short: CAN");
	is(restore_of("\033]0;title\007", 64), "", "an OSC ended by BEL");
	is(restore_of("\033]0;title\033\\", 2), "", "an OSC ended by ST");
	is(restore_of("\033]0;t\033[?1049h", 64), "\033[?1049l",
	    "ESC inside a string starts a new sequence");
	is(restore_of("\033[?1049h\033c", 64), "", "RIS resets everything");
	is(restore_of("\033[?1049h\030", 64), "\033[?1049l",
	    "CAN after a complete sequence changes nothing");
	{
		/* Everything at once must fit in TTYSTATE_RESTORE_MAX. */
		char		 big[TTYSTATE_RESTORE_MAX];
		struct ttystate	 ts;
		const char	*all = "\033[?2026;9;1000;1001;1002;1003;1005;1006;1015;"
		    "1016;1004;2004;1;1049;1047;47h\033[?25;7l\033[1m\033[2;3r\033="
		    "\033[>4;1m\033[>1u\033(0\016\033[3 q\033[";

		ttystate_init(&ts);
		ttystate_feed(&ts, all, strlen(all));
		tap_ok(ttystate_restore(&ts, big) <= TTYSTATE_RESTORE_MAX &&
		    ttystate_dirty(&ts), "everything on at once fits the buffer");
		tap_ok(ttystate_resume(&ts, big) <= TTYSTATE_RESTORE_MAX,
		    "and so does switching it all on again");
	}
	{
		/* A stopped full-screen command going on: its modes again. */
		char		buf[TTYSTATE_RESTORE_MAX + 1];
		struct ttystate	ts;
		const char	*out = "\033[?2026h\033[?1049h\033[?25l\033[?1000h\033=\033[1mX";

		ttystate_init(&ts);
		ttystate_feed(&ts, out, strlen(out));
		buf[ttystate_resume(&ts, buf)] = '\0';
		is(buf, "\033[?1000h\033[?1049h\033[?25l\033=",
		    "resume: mouse, alternate screen, hidden cursor, keypad on again; "
		    "no synchronized output, no colours");
		ttystate_init(&ts);
		tap_ok(ttystate_resume(&ts, buf) == 0, "resume of a clean terminal: nothing");
	}
	{
		/* The text a terminal drew, for moat audit show. */
		static const struct {
			const char	*in, *want, *what;
		} t[] = {
			{ "plain\nlines\n", "plain\nlines\n", "plain lines as they are" },
			{ "10%\r50%\r100%\n", "100%\n", "a progress line redrawn with \\r: its last state" },
			{ "abc\b\bX\n", "aXc\n", "backspace goes back over the line" },
			{ "long text\rshort\033[K\n", "short\n", "erase to the end of the line" },
			{ "\033[1;31mred\033[0m words\n", "red words\n", "colours dropped" },
			{ "\033]0;title\007after\n", "after\n", "a window title dropped" },
			{ "\033[?1049h\033[1;1H\033[2Jtop\033[3;1Hbottom", "top\nbottom\n",
			    "a full-screen program: each row it drew" },
			{ "a\tb\n", "a       b\n", "tabs as spaces" },
			{ "x\033[5Cy\n", "x     y\n", "a cursor move forward leaves spaces" },
			{ "trailing   \n", "trailing\n", "trailing spaces trimmed" },
		};
		char	buf[256];

		for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
			ttystate_text(t[i].in, strlen(t[i].in), buf, sizeof buf);
			is(buf, t[i].want, t[i].what);
		}
		tap_ok(ttystate_text("abcdef\n", 7, buf, 4) == 3 && strcmp(buf, "ab\n") == 0,
		    "the text is cut at the buffer's size, NUL-terminated");
	}
	return (tap_done());
}
