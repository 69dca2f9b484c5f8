/* ttystate.c: follows the control sequences of a command's terminal output
 * far enough to know which terminal settings it left on, and writes the
 * sequences that turn them off. A small ECMA-48 parser (ground, escape,
 * CSI, string states, after the DEC/xterm state machine), no screen.
 * Supervisor only; pure logic. */
#include <stdio.h>
#include <string.h>

#include "ttystate.h"

enum {
	TS_GROUND,
	TS_ESC,		/* after ESC */
	TS_ESC_INTER,	/* ESC and an intermediate byte: ESC ( B, ESC # 8 */
	TS_CSI,		/* ESC [ or 0x9b-less CSI, collecting parameters */
	TS_STRING,	/* OSC, DCS, APC, PM, SOS: until BEL or ST */
	TS_STRING_ESC,	/* ESC inside a string: ST is ESC \ */
};

/* DEC private modes (CSI ? N h / l) that moat switches back. `on` is what
 * the program sets that needs undoing: 'h' for most, 'l' for the cursor
 * (hidden) and autowrap (off). In the order they are restored: output
 * unfrozen first, input reporting off, then the screen. */
static const struct {
	uint32_t	 mode;
	char		 on;
} ttystate_modes[] = {
	{ 2026, 'h' },	/* synchronized output: the terminal waits for its end */
	{ 9, 'h' }, { 1000, 'h' }, { 1001, 'h' }, { 1002, 'h' }, { 1003, 'h' },
	{ 1005, 'h' }, { 1006, 'h' }, { 1015, 'h' }, { 1016, 'h' },	/* mouse */
	{ 1004, 'h' },	/* focus in/out reports */
	{ 2004, 'h' },	/* bracketed paste */
	{ 1, 'h' },	/* application cursor keys */
	{ 1049, 'h' }, { 1047, 'h' }, { 47, 'h' },	/* alternate screen */
	{ 25, 'l' },	/* cursor hidden */
	{ 7, 'l' },	/* autowrap off */
};

void
ttystate_init(struct ttystate *ts)
{
	memset(ts, 0, sizeof *ts);
}

static void
ttystate_dec_mode(struct ttystate *ts, uint32_t mode, char hl)
{
	for (size_t i = 0; i < sizeof ttystate_modes / sizeof ttystate_modes[0]; i++)
		if (ttystate_modes[i].mode == mode) {
			if (hl == ttystate_modes[i].on)
				ts->modes |= 1u << i;
			else
				ts->modes &= ~(1u << i);
			return;
		}
}

/* SGR: attributes are on when a parameter other than 0 follows the last 0
 * (an empty list is 0); the arguments of 38, 48 and 58 (colours) are not
 * parameters of their own. */
static void
ttystate_sgr(struct ttystate *ts)
{
	ts->sgr = false;
	for (uint8_t i = 0; i < ts->nparams; i++) {
		uint32_t	p = ts->params[i];

		ts->sgr = p != 0;
		if ((p == 38 || p == 48 || p == 58) && i + 1 < ts->nparams)
			i += ts->params[i + 1] == 5 ? 2 : ts->params[i + 1] == 2 ? 4 : 0;
	}
}

static void
ttystate_csi(struct ttystate *ts, uint8_t final)
{
	uint32_t	p0 = ts->nparams > 0 ? ts->params[0] : 0;

	switch (ts->prefix) {
	case '?':
		if ((final == 'h' || final == 'l') && ts->inter == 0)
			for (uint8_t i = 0; i < ts->nparams; i++)
				ttystate_dec_mode(ts, ts->params[i], (char)final);
		break;
	case '>':
		if (final == 'm' && p0 == 4)	/* modifyOtherKeys */
			ts->other_keys = ts->nparams > 1 && ts->params[1] > 0;
		else if (final == 'u' && ts->kitty_keys < 32)	/* kitty: push */
			ts->kitty_keys++;
		break;
	case '<':
		if (final == 'u') {		/* kitty: pop N (default 1) */
			uint32_t n = p0 == 0 ? 1 : p0;

			ts->kitty_keys = n >= ts->kitty_keys ? 0 :
			    (uint8_t)(ts->kitty_keys - n);
		}
		break;
	case 0:
		if (final == 'm' && ts->inter == 0)
			ttystate_sgr(ts);
		else if (final == 'r' && ts->inter == 0)
			ts->region = ts->nparams > 0 && (p0 > 1 ||
			    (ts->nparams > 1 && ts->params[1] != 0));
		else if (final == 'q' && ts->inter == ' ')
			ts->cursor_shape = p0 != 0;
		break;
	}
}

void
ttystate_feed(struct ttystate *ts, const void *buf, size_t len)
{
	const uint8_t	*p = buf;

	for (size_t i = 0; i < len; i++) {
		uint8_t	c = p[i];

		/* CAN and SUB abort any sequence; ESC starts a new one except
		 * inside a string, where it may begin ST. */
		if (c == 0x18 || c == 0x1a) {
			ts->state = TS_GROUND;
			continue;
		}
		if (c == 0x1b && ts->state != TS_STRING) {
			ts->state = TS_ESC;
			continue;
		}
		switch (ts->state) {
		case TS_GROUND:
			if (c == 0x0e)
				ts->charset = true;	/* SO: G1 in use */
			else if (c == 0x0f)
				ts->charset = false;	/* SI (G0 may still be set,
							   rare enough to ignore) */
			break;
		case TS_ESC:
			if (c == '[') {
				ts->state = TS_CSI;
				ts->prefix = ts->inter = 0;
				ts->nparams = 0;
				memset(ts->params, 0, sizeof ts->params);
			} else if (c == ']' || c == 'P' || c == '_' || c == '^' ||
			    c == 'X')
				ts->state = TS_STRING;
			else if (c >= 0x20 && c <= 0x2f) {
				ts->inter = c;
				ts->state = TS_ESC_INTER;
			} else {
				if (c == '=')
					ts->keypad = true;
				else if (c == '>')
					ts->keypad = false;
				else if (c == 'c')	/* RIS: the terminal resets */
					ttystate_init(ts);
				ts->state = TS_GROUND;
			}
			break;
		case TS_ESC_INTER:
			if (c >= 0x20 && c <= 0x2f)
				break;
			if (ts->inter == '(' || ts->inter == ')')
				ts->charset = c != 'B';
			ts->state = TS_GROUND;
			break;
		case TS_CSI:
			if (c >= '0' && c <= '9') {
				if (ts->nparams == 0)
					ts->nparams = 1;
				if (ts->params[ts->nparams - 1] < 100000)
					ts->params[ts->nparams - 1] =
					    ts->params[ts->nparams - 1] * 10 + (c - '0');
			} else if (c == ';' || c == ':') {
				if (ts->nparams == 0)
					ts->nparams = 1;
				if (ts->nparams < TTYSTATE_PARAMS)
					ts->params[ts->nparams++] = 0;
			} else if (c >= '<' && c <= '?') {
				if (ts->nparams == 0 && ts->prefix == 0)
					ts->prefix = c;
			} else if (c >= 0x20 && c <= 0x2f)
				ts->inter = c;
			else if (c >= 0x40 && c <= 0x7e) {
				ttystate_csi(ts, c);
				ts->state = TS_GROUND;
			} else if (c >= 0x20)
				ts->state = TS_GROUND;	/* not a CSI after all */
			/* C0 controls inside a CSI are executed, not part of it */
			break;
		case TS_STRING:
			if (c == 0x07)
				ts->state = TS_GROUND;
			else if (c == 0x1b)
				ts->state = TS_STRING_ESC;
			break;
		case TS_STRING_ESC:
			/* ESC \ ends it; any other ESC x starts a new sequence. */
			if (c == '\\')
				ts->state = TS_GROUND;
			else {
				ts->state = TS_ESC;
				i--;	/* read c again in the escape state */
			}
			break;
		}
	}
}

bool
ttystate_dirty(const struct ttystate *ts)
{
	return (ts->state != TS_GROUND || ts->modes != 0 || ts->sgr ||
	    ts->region || ts->keypad || ts->charset || ts->cursor_shape ||
	    ts->other_keys || ts->kitty_keys > 0);
}

size_t
ttystate_restore(const struct ttystate *ts, char *buf)
{
	size_t	n = 0;

#define PUT(s) do { size_t l_ = strlen(s); memcpy(buf + n, (s), l_); n += l_; } while (0)
	if (!ttystate_dirty(ts))
		return (0);
	if (ts->state != TS_GROUND)
		PUT("\030");		/* CAN: abort the sequence left open */
	if (ts->modes & 1u)		/* 2026, first: or nothing shows */
		PUT("\033[?2026l");
	if (ts->sgr)
		PUT("\033[0m");
	if (ts->region)
		PUT("\0337\033[r\0338");	/* DECSTBM homes the cursor */
	for (size_t i = 1; i < sizeof ttystate_modes / sizeof ttystate_modes[0]; i++)
		if (ts->modes & (1u << i)) {
			char	s[16];

			snprintf(s, sizeof s, "\033[?%u%c", ttystate_modes[i].mode,
			    ttystate_modes[i].on == 'h' ? 'l' : 'h');
			PUT(s);
		}
	if (ts->keypad)
		PUT("\033>");
	if (ts->other_keys)
		PUT("\033[>4m");
	if (ts->kitty_keys > 0) {
		char	s[16];

		snprintf(s, sizeof s, "\033[<%uu", (unsigned)ts->kitty_keys);
		PUT(s);
	}
	if (ts->charset)
		PUT("\017\033(B\033)B");
	if (ts->cursor_shape)
		PUT("\033[0 q");
#undef PUT
	return (n);
}

size_t
ttystate_resume(const struct ttystate *ts, char *buf)
{
	size_t	n = 0;

	/* 2026 (synchronized output) stays off: the redraw would wait for
	 * an end that was already cut. */
	for (size_t i = 1; i < sizeof ttystate_modes / sizeof ttystate_modes[0]; i++)
		if (ts->modes & (1u << i))
			n += (size_t)snprintf(buf + n, TTYSTATE_RESTORE_MAX - n,
			    "\033[?%u%c", ttystate_modes[i].mode, ttystate_modes[i].on);
	if (ts->keypad) {
		memcpy(buf + n, "\033=", 2);
		n += 2;
	}
	return (n);
}

/* One line being drawn, for ttystate_text. */
#define TTYSTATE_LINE	1024

static size_t
ttystate_text_put(char *out, size_t cap, size_t n, const char *line, size_t len)
{
	while (len > 0 && line[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < len && n + 2 < cap; i++)
		out[n++] = line[i];
	if (n + 1 < cap)
		out[n++] = '\n';
	return (n);
}

size_t
ttystate_text(const void *in, size_t len, char *out, size_t cap)
{
	const uint8_t	*p = in;
	struct ttystate	 ts;
	char		 line[TTYSTATE_LINE];
	size_t		 n = 0, col = 0, used = 0;

	if (cap == 0)
		return (0);
	ttystate_init(&ts);
	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		uint8_t	c = p[i];
		uint8_t	before = ts.state;

		ttystate_feed(&ts, &c, 1);
		if (before == TS_CSI && ts.state == TS_GROUND && c >= 0x40 && c <= 0x7e) {
			uint32_t	a = ts.nparams > 0 && ts.params[0] > 0 ? ts.params[0] : 1;

			if (ts.prefix != 0)
				continue;
			switch (c) {
			case 'K':	/* erase to the end of the line (0, the default) */
				if (ts.nparams == 0 || ts.params[0] == 0)
					used = col < used ? col : used;
				else if (ts.params[0] == 2)
					used = col = 0;
				break;
			case 'C':
				col = col + a < TTYSTATE_LINE ? col + a : TTYSTATE_LINE - 1;
				break;
			case 'D':
				col = a < col ? col - a : 0;
				break;
			case 'G':
				col = a - 1 < TTYSTATE_LINE ? a - 1 : TTYSTATE_LINE - 1;
				break;
			case 'H':
			case 'f':
			case 'A':
			case 'B':
			case 'J':	/* another row, or the screen cleared */
				if (used > 0)
					n = ttystate_text_put(out, cap, n, line, used);
				used = col = 0;
				if (c == 'H' || c == 'f')
					col = ts.nparams > 1 && ts.params[1] > 1 &&
					    ts.params[1] - 1 < TTYSTATE_LINE ? ts.params[1] - 1 : 0;
				break;
			}
			continue;
		}
		if (before != TS_GROUND || ts.state != TS_GROUND)
			continue;	/* part of a sequence */
		if (c == '\n') {
			n = ttystate_text_put(out, cap, n, line, used);
			used = col = 0;
		} else if (c == '\r')
			col = 0;
		else if (c == '\b')
			col = col > 0 ? col - 1 : 0;
		else if (c == '\t') {
			size_t	to = (col / 8 + 1) * 8;

			while (col < to && col < TTYSTATE_LINE) {
				if (col >= used)
					line[used++] = ' ';
				col++;
			}
		} else if (c >= 0x20 && c != 0x7f && col < TTYSTATE_LINE) {
			while (used < col)
				line[used++] = ' ';
			line[col++] = (char)c;
			if (col > used)
				used = col;
		}
	}
	if (used > 0 && n + 1 < cap)
		n = ttystate_text_put(out, cap, n, line, used);
	out[n] = '\0';
	return (n);
}
