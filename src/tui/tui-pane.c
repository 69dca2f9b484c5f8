/* tui-pane.c: the output pane: libvterm parses a command's output into a
 * screen of cells, lines that scroll off the top are kept (bounded), and
 * curses draws the cells. Nothing the command writes is ever written to
 * the host terminal: titles (OSC 0/2), clipboard (OSC 52) and other
 * properties are dropped here, and answers to reports (cursor position,
 * device attributes) go back to the command's own terminal through the
 * output callback. Front end (TUI), in the supervisor's process. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <vterm.h>

#include "base/util.h"
#include "tui-draw.h"
#include "tui-pane.h"

/* What is fed to the emulator per frame before the rest of a flood is
 * dropped from view (its last PANE_TAIL bytes are shown at the frame). */
#define PANE_FRAME_BUDGET	(32 * 1024)
#define PANE_TAIL		(8 * 1024)
/* libvterm writes out of its buffer when a wide character is put on a
 * screen of one column or one row: the pane is never that small (8
 * columns: the TUI draws nothing below 10). */
#define PANE_MIN_COLS		8
#define PANE_MIN_ROWS		2

/* A cell as the scrollback keeps it: one character, its attributes. */
struct pcell {
	uint32_t	ch;
	uint8_t		width;
	uint8_t		bold : 1, underline : 1, italic : 1, reverse : 1,
			blink : 1, strike : 1, font : 2;
	VTermColor	fg, bg;
};

struct pline {
	int		 cols;
	struct pcell	*cells;		/* owned */
};

struct pane {
	VTerm		*vt;
	VTermScreen	*vs;
	VTermState	*st;
	int		 rows, cols;
	pane_out_cb	 out;
	void		*out_arg;
	/* The scrollback: a ring of at most sb_max lines, oldest at sb_head. */
	struct pline	*sb;		/* owned */
	size_t		 sb_max, sb_len, sb_head;
	int		 scroll;	/* lines scrolled back; 0: live */
	long		 found;		/* the line a search found, or -1 */
	bool		 dirty;
	bool		 cursor_visible;
	bool		 alt;
	/* A flood: bytes fed this frame, bytes left out, and their tail. */
	size_t		 frame_bytes, frame_dropped, dropped;
	char		 tail[PANE_TAIL];
	size_t		 tail_len;
	/* The font the emulator's pen has for whom it writes (PANE_FONT_*),
	 * -1 unknown; the command's output stream's, and a mark per row of
	 * what the last draw showed there. */
	int		 pen_font;
	int		 stream_font;
	/* Where the filter in front of the emulator is in a CSI sequence. */
	int		 esc;		/* 0, after ESC, in CSI */
	int		 csi_seps;	/* parameters so far */
	int		 csi_digits;	/* digits of the current one */
	long		 csi_first;	/* the first parameter's value */
	bool		 csi_plain;	/* no leader, no intermediate byte */
	char		 last[4];	/* the last character put, UTF-8 */
	size_t		 last_len;
	size_t		 utf_left;	/* continuation bytes still to come */
};

/* libvterm 0.1 keeps 16 CSI parameters without checking, and its REP
 * (CSI n b, also as C1 CSI or with bytes of 0x80 and over between ESC and
 * [) loops for ever when no character came before: the filter
 * keeps at most PANE_CSI_ARGS parameters of at most PANE_CSI_DIGITS
 * digits each, and does REP itself (the last character, n times, at most
 * a screenful). */
#define PANE_CSI_ARGS	12
#define PANE_CSI_DIGITS	5

static int
pane_on_damage(VTermRect rect, void *arg)
{
	((struct pane *)arg)->dirty = true;
	return (1);
}

static int
pane_on_moverect(VTermRect dst, VTermRect src, void *arg)
{
	((struct pane *)arg)->dirty = true;
	return (1);
}

static int
pane_on_movecursor(VTermPos pos, VTermPos old, int visible, void *arg)
{
	struct pane	*p = arg;

	p->dirty = true;
	return (1);
}

/* Titles and the like stay in the pane: none of them is passed on. */
static int
pane_on_prop(VTermProp prop, VTermValue *val, void *arg)
{
	struct pane	*p = arg;

	switch (prop) {
	case VTERM_PROP_CURSORVISIBLE:
		p->cursor_visible = val->boolean;
		break;
	case VTERM_PROP_ALTSCREEN:
		p->alt = val->boolean;
		break;
	default:
		break;
	}
	p->dirty = true;
	return (1);
}

static int
pane_on_bell(void *arg)
{
	return (1);
}

static struct pline *
pane_sb_at(struct pane *p, size_t i)
{
	return (&p->sb[(p->sb_head + i) % p->sb_max]);
}

static int
pane_on_pushline(int cols, const VTermScreenCell *cells, void *arg)
{
	struct pane	*p = arg;
	struct pline	*l;
	int		 n = cols;

	if (p->sb_max == 0)
		return (1);
	/* Trailing blanks are not kept. */
	while (n > 0 && (cells[n - 1].chars[0] == 0 || cells[n - 1].chars[0] == ' ') &&
	    VTERM_COLOR_IS_DEFAULT_BG(&cells[n - 1].bg) && !cells[n - 1].attrs.reverse)
		n--;
	if (p->sb_len == p->sb_max) {
		l = pane_sb_at(p, 0);
		free(l->cells);
		p->sb_head = (p->sb_head + 1) % p->sb_max;
		p->sb_len--;
		if (p->found >= 0)
			p->found--;
		if (p->scroll > 0 && (size_t)p->scroll > p->sb_len)
			p->scroll = (int)p->sb_len;
	}
	l = pane_sb_at(p, p->sb_len++);
	l->cols = n;
	l->cells = n > 0 ? xcalloc((size_t)n, sizeof *l->cells) : NULL;
	for (int i = 0; i < n; i++) {
		struct pcell	*c = &l->cells[i];

		c->ch = cells[i].chars[0];
		c->width = (uint8_t)cells[i].width;
		c->bold = cells[i].attrs.bold;
		c->underline = cells[i].attrs.underline != 0;
		c->italic = cells[i].attrs.italic;
		c->reverse = cells[i].attrs.reverse;
		c->blink = cells[i].attrs.blink;
		c->strike = cells[i].attrs.strike;
		c->font = cells[i].attrs.font <= PANE_FONT_STDERR ? cells[i].attrs.font : 0;
		c->fg = cells[i].fg;
		c->bg = cells[i].bg;
	}
	/* Scrolled back, the view stays on the same lines. */
	if (p->scroll > 0 && (size_t)p->scroll < p->sb_len)
		p->scroll++;
	p->dirty = true;
	return (1);
}

static void
pane_cell_from(VTermScreenCell *cell, const struct pcell *c)
{
	memset(cell, 0, sizeof *cell);
	cell->chars[0] = c->ch;
	cell->width = (char)(c->width > 0 ? c->width : 1);
	cell->attrs.bold = c->bold;
	cell->attrs.underline = c->underline;
	cell->attrs.italic = c->italic;
	cell->attrs.reverse = c->reverse;
	cell->attrs.blink = c->blink;
	cell->attrs.strike = c->strike;
	cell->attrs.font = c->font;
	cell->fg = c->fg;
	cell->bg = c->bg;
}

static void
pane_cell_blank(VTermScreenCell *cell)
{
	memset(cell, 0, sizeof *cell);
	cell->width = 1;
	cell->fg.type = VTERM_COLOR_DEFAULT_FG | VTERM_COLOR_INDEXED;
	cell->bg.type = VTERM_COLOR_DEFAULT_BG | VTERM_COLOR_INDEXED;
}

/* The screen grows taller: its top takes back the newest lines. */
static int
pane_on_popline(int cols, VTermScreenCell *cells, void *arg)
{
	struct pane	*p = arg;
	struct pline	*l;

	if (p->sb_len == 0)
		return (0);
	l = pane_sb_at(p, p->sb_len - 1);
	for (int i = 0; i < cols; i++) {
		if (i < l->cols)
			pane_cell_from(&cells[i], &l->cells[i]);
		else
			pane_cell_blank(&cells[i]);
		/* A line kept at another width: a wide character that no
		 * longer fits, or the second half of one whose first half is
		 * gone, is a blank (libvterm writes past the line for them). */
		if ((cells[i].width > 1 && i + 1 >= cols) ||
		    (cells[i].chars[0] == (uint32_t)-1 &&
		    (i == 0 || cells[i - 1].width < 2)))
			pane_cell_blank(&cells[i]);
	}
	free(l->cells);
	l->cells = NULL;
	p->sb_len--;
	if ((size_t)p->scroll > p->sb_len)
		p->scroll = (int)p->sb_len;
	p->dirty = true;
	return (1);
}

static const VTermScreenCallbacks pane_cbs = {
	.damage = pane_on_damage,
	.moverect = pane_on_moverect,
	.movecursor = pane_on_movecursor,
	.settermprop = pane_on_prop,
	.bell = pane_on_bell,
	.sb_pushline = pane_on_pushline,
	.sb_popline = pane_on_popline,
};

static void
pane_on_output(const char *s, size_t len, void *arg)
{
	struct pane	*p = arg;

	if (p->out != NULL)
		p->out(s, len, p->out_arg);
}

struct pane *
pane_new(int rows, int cols, size_t scrollback, pane_out_cb out, void *arg)
{
	struct pane	*p = xcalloc(1, sizeof *p);

	p->rows = rows < PANE_MIN_ROWS ? PANE_MIN_ROWS : rows;
	p->cols = cols < PANE_MIN_COLS ? PANE_MIN_COLS : cols;
	p->out = out;
	p->out_arg = arg;
	p->sb_max = scrollback;
	p->sb = scrollback > 0 ? xcalloc(scrollback, sizeof *p->sb) : NULL;
	p->cursor_visible = true;
	p->found = -1;
	p->pen_font = -1;
	p->stream_font = PANE_FONT_STDOUT;
	if ((p->vt = vterm_new(p->rows, p->cols)) == NULL) {
		fprintf(stderr, "moat: out of memory for the terminal pane\n");
		abort();
	}
	vterm_set_utf8(p->vt, 1);
	vterm_output_set_callback(p->vt, pane_on_output, p);
	p->vs = vterm_obtain_screen(p->vt);
	p->st = vterm_obtain_state(p->vt);
	vterm_screen_set_callbacks(p->vs, &pane_cbs, p);
	vterm_screen_set_damage_merge(p->vs, VTERM_DAMAGE_SCROLL);
	vterm_screen_enable_altscreen(p->vs, 1);
	vterm_screen_reset(p->vs, 1);
	p->dirty = true;
	return (p);
}

void
pane_free(struct pane *p)
{
	if (p == NULL)
		return;
	vterm_free(p->vt);
	for (size_t i = 0; i < p->sb_len; i++)
		free(pane_sb_at(p, i)->cells);
	free(p->sb);
	free(p);
}

void
pane_resize(struct pane *p, int rows, int cols)
{
	rows = rows < PANE_MIN_ROWS ? PANE_MIN_ROWS : rows;
	cols = cols < PANE_MIN_COLS ? PANE_MIN_COLS : cols;
	if (rows == p->rows && cols == p->cols)
		return;
	p->rows = rows;
	p->cols = cols;
	/* libvterm 0.1 keeps scroll margins past a smaller screen (and
	 * later moves a negative length): margins off first, the cursor
	 * kept; the program sets its own again on SIGWINCH. Not with DECSC
	 * and DECRC: in the alternate screen that would overwrite the cursor
	 * leaving it restores (a full-screen program resized, by a zoom,
	 * would hand back the pane with the cursor at its top). */
	{
		VTermPos	pos;
		char		seq[48];
		int		n;

		vterm_state_get_cursorpos(p->st, &pos);
		n = snprintf(seq, sizeof seq, "\033[r\033[?69l\033[%d;%dH",
		    pos.row + 1, pos.col + 1);
		vterm_input_write(p->vt, seq, (size_t)n);
	}
	vterm_set_size(p->vt, rows, cols);
	vterm_screen_flush_damage(p->vs);
	p->dirty = true;
}

/* The emulator's pen to font f (SGR 10 + f), unless it has it (or
 * always). */
static void
pane_font(struct pane *p, int f, bool always)
{
	char	sgr[16];

	if (!always && p->pen_font == f)
		return;
	snprintf(sgr, sizeof sgr, "\033[%dm", 10 + f);
	vterm_input_write(p->vt, sgr, strlen(sgr));
	p->pen_font = f;
}

/* The command's bytes to the emulator, CSI parameters bounded. */
static void
pane_feed(struct pane *p, const char *buf, size_t n)
{
	size_t	start = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)buf[i];
		bool		drop = false;

		if (c == 0x1b) {
			p->esc = 1;
			continue;
		}
		/* CSI is ESC [, or C1 CSI (U+009B, C2 9B in UTF-8). */
		if (p->esc == 3) {
			p->esc = c == 0x9b ? 4 : 0;
			if (p->esc == 0)
				goto plain;
		}
		switch (p->esc) {
		case 5:
			/* A character set (ESC ( X): libvterm hangs on one it
			 * does not know; all but ASCII, UK and DEC graphics are
			 * ASCII here. A C0 control on the way acts and the
			 * escape goes on (CAN and SUB cancel it); libvterm
			 * skips bytes of 0x80 and over there. */
			if (c < 0x20 || c >= 0x80) {
				if (c == 0x18 || c == 0x1a)
					p->esc = 0;
				break;
			}
			p->esc = 0;
			if (c != 'B' && c != 'A' && c != '0' && c >= 0x20) {
				if (i > start)
					vterm_input_write(p->vt, buf + start, i - start);
				vterm_input_write(p->vt, "B", 1);
				start = i + 1;
				continue;
			}
			break;
		case 1:
			/* C0 controls act inside an escape; libvterm skips
			 * bytes of 0x80 and over there. */
			if (c < 0x20 || c >= 0x80)
				break;
			if (c == '(' || c == ')' || c == '*' || c == '+') {
				p->esc = 5;
				break;
			}
			/* Another intermediate: the escape goes on, and a
			 * '[' after it still starts a CSI in libvterm. */
			if (c >= 0x20 && c <= 0x2f)
				break;
			/* FALLTHROUGH */
		case 4:
			p->esc = c == '[' || p->esc == 4 ? 2 : 0;
			p->csi_seps = p->csi_digits = 0;
			p->csi_first = 0;
			p->csi_plain = true;
			break;
		case 2:
			if (c == 'b' && p->csi_plain) {
				/* REP: the sequence is cancelled (CAN) and
				 * the character put here instead. */
				long	k = p->csi_first < 1 ? 1 : p->csi_first;

				if (k > (long)p->rows * p->cols)
					k = (long)p->rows * p->cols;
				if (i > start)
					vterm_input_write(p->vt, buf + start, i - start);
				vterm_input_write(p->vt, "\030", 1);
				for (long j = 0; j < k && p->last_len > 0; j++)
					vterm_input_write(p->vt, p->last, p->last_len);
				start = i + 1;
				p->esc = 0;
				continue;
			}
			if (c == 'm' && p->csi_plain) {
				/* SGR: the command may set any attribute but
				 * the font, which says whose a cell is (alternate
				 * fonts 1 to 9 are moat's and stderr's marks). */
				vterm_input_write(p->vt, buf + start, i + 1 - start);
				pane_font(p, p->stream_font, true);
				start = i + 1;
				p->esc = 0;
				continue;
			}
			if (c == 0x18 || c == 0x1a || (c >= 0x40 && c <= 0x7e))
				p->esc = 0;	/* cancelled, or its final byte */
			else if (c >= 0x3c && c <= 0x3f)
				p->csi_plain = false;	/* a leader: < = > ? */
			else if (c >= 0x20 && c <= 0x2f)
				p->csi_plain = false;	/* an intermediate */
			else if (c == ';' || c == ':') {
				drop = ++p->csi_seps >= PANE_CSI_ARGS;
				p->csi_digits = 0;
			} else if (c >= '0' && c <= '9') {
				drop = ++p->csi_digits > PANE_CSI_DIGITS ||
				    p->csi_seps >= PANE_CSI_ARGS;
				if (!drop && p->csi_seps == 0)
					p->csi_first = p->csi_first * 10 + (c - '0');
			}
			break;
		default:
		plain:
			if (c == 0xc2) {
				p->esc = 3;	/* perhaps C1 CSI */
				break;
			}
			/* The last character put, for REP. */
			if (c >= 0x20 && c < 0x7f) {
				p->last[0] = (char)c;
				p->last_len = 1;
				p->utf_left = 0;
			} else if (c >= 0xc2 && c <= 0xf4) {
				p->last[0] = (char)c;
				p->last_len = 1;
				p->utf_left = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
			} else if (c >= 0x80 && c < 0xc0 && p->utf_left > 0 &&
			    p->last_len < sizeof p->last) {
				p->last[p->last_len++] = (char)c;
				p->utf_left--;
			} else if (c >= 0x80)
				p->last_len = p->utf_left = 0;
			break;
		}
		if (p->esc == 0 && p->utf_left > 0 && c < 0x80)
			p->last_len = p->utf_left = 0;	/* a broken sequence */
		if (drop) {
			if (i > start)
				vterm_input_write(p->vt, buf + start, i - start);
			start = i + 1;
		}
	}
	if (n > start)
		vterm_input_write(p->vt, buf + start, n - start);
}

void
pane_write(struct pane *p, const char *buf, size_t n)
{
	pane_write_stream(p, 1, buf, n);
}

static void	pane_write_one(struct pane *, const char *, size_t);

void
pane_write_stream(struct pane *p, int stream, const char *buf, size_t n)
{
	int	f = stream == 2 ? PANE_FONT_STDERR : PANE_FONT_STDOUT;

	if (f != p->stream_font || p->pen_font != f) {
		/* Another stream: its font from here. A sequence the other
		 * one left unfinished is cut (the emulator starts afresh at
		 * this ESC, and so does the filter). */
		p->stream_font = f;
		pane_font(p, f, true);
		p->esc = 0;
	}
	if (stream != 2) {
		pane_write_one(p, buf, n);
		return;
	}
	/* A pipe's bytes had no terminal's output processing: each newline
	 * is a carriage return too (ONLCR). */
	while (n > 0) {
		const char	*nl = memchr(buf, '\n', n);
		size_t		 k = nl != NULL ? (size_t)(nl - buf) : n;

		pane_write_one(p, buf, k);
		if (nl == NULL)
			break;
		pane_write_one(p, "\r\n", 2);
		buf += k + 1;
		n -= k + 1;
	}
}

static void
pane_write_one(struct pane *p, const char *buf, size_t n)
{
	size_t	take;

	if (p->frame_bytes < PANE_FRAME_BUDGET) {
		take = n < PANE_FRAME_BUDGET - p->frame_bytes ? n :
		    PANE_FRAME_BUDGET - p->frame_bytes;
		pane_feed(p, buf, take);
		p->frame_bytes += take;
		buf += take;
		n -= take;
	}
	if (n == 0)
		return;
	/* Past the budget: counted, and only the tail kept to be shown. */
	p->frame_dropped += n;
	p->dropped += n;
	if (n >= PANE_TAIL) {
		memcpy(p->tail, buf + n - PANE_TAIL, PANE_TAIL);
		p->tail_len = PANE_TAIL;
	} else {
		if (p->tail_len + n > PANE_TAIL) {
			size_t	keep = PANE_TAIL - n;

			memmove(p->tail, p->tail + p->tail_len - keep, keep);
			p->tail_len = keep;
		}
		memcpy(p->tail + p->tail_len, buf, n);
		p->tail_len += n;
	}
	p->dirty = true;
}

static const char *
pane_role_sgr(int role)
{
	switch (role) {
	case ROLE_TITLE:
		return ("1;36");
	case ROLE_OK:
		return ("32");
	case ROLE_BAD:
		return ("1;31");
	case ROLE_WARN:
		return ("1;33");
	case ROLE_DIM:
		return ("2");
	default:
		return ("0");
	}
}

void
pane_note(struct pane *p, int role, const char *fmt, ...)
{
	va_list		 ap;
	char		 msg[1024], line[1200];
	VTermPos	 pos;
	size_t		 n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Text of moat's own (a command line as typed): no control byte of
	 * it may act on the emulator. */
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	vterm_state_get_cursorpos(p->st, &pos);
	n = (size_t)snprintf(line, sizeof line, "%s\033[0;%d;%sm%s\033[0m\r\n",
	    pos.col > 0 ? "\r\n" : "", 10 + PANE_FONT_MOAT, draw_colours() > 0 ?
	    pane_role_sgr(role) : role == ROLE_TITLE || role == ROLE_BAD ? "1" : "0",
	    msg);
	if (n >= sizeof line)
		n = sizeof line - 1;
	vterm_input_write(p->vt, line, n);
	vterm_screen_flush_damage(p->vs);
	p->pen_font = PANE_FONT_STDOUT;	/* SGR 0 */
	p->dirty = true;
}

void
pane_frame(struct pane *p)
{
	if (p->frame_dropped > 0) {
		const char	*t = memchr(p->tail, '\n', p->tail_len);
		size_t		 dropped = p->frame_dropped;

		p->frame_dropped = 0;
		vterm_input_write(p->vt, "\033[0m", 4);
		pane_note(p, ROLE_DIM, "[moat: %zu bytes of output not shown]",
		    dropped);
		if (t != NULL) {
			pane_font(p, p->stream_font, false);
			pane_feed(p, t + 1, p->tail_len - (size_t)(t + 1 - p->tail));
		}
		p->tail_len = 0;
	}
	p->frame_bytes = 0;
	vterm_screen_flush_damage(p->vs);
}

void
pane_reset_modes(struct pane *p)
{
	/* Out of the alternate screen, no scroll region (the cursor kept
	 * where it is), cursor shown, attributes off, cursor keys and keypad
	 * normal, no insert mode, autowrap on. */
	static const char	reset[] = "\0337\033[r\0338"
	    "\033[?25h\033[0m\033[?1l\033>\033[4l\033[?7h";

	/* Leaving the alternate screen restores the cursor saved on the
	 * way in: only when there is one. */
	if (p->alt)
		vterm_input_write(p->vt, "\033[?1049l", 8);
	vterm_input_write(p->vt, reset, sizeof reset - 1);
	vterm_screen_flush_damage(p->vs);
	p->pen_font = -1;	/* the next output says its own */
	p->alt = false;
	p->cursor_visible = true;
	p->dirty = true;
}

bool
pane_key(struct pane *p, int key, bool is_char)
{
	static const struct {
		int	 curses;
		VTermKey vt;
	} keys[] = {
		{ KEY_UP, VTERM_KEY_UP }, { KEY_DOWN, VTERM_KEY_DOWN },
		{ KEY_LEFT, VTERM_KEY_LEFT }, { KEY_RIGHT, VTERM_KEY_RIGHT },
		{ KEY_HOME, VTERM_KEY_HOME }, { KEY_END, VTERM_KEY_END },
		{ KEY_PPAGE, VTERM_KEY_PAGEUP }, { KEY_NPAGE, VTERM_KEY_PAGEDOWN },
		{ KEY_IC, VTERM_KEY_INS }, { KEY_DC, VTERM_KEY_DEL },
		{ KEY_BACKSPACE, VTERM_KEY_BACKSPACE }, { KEY_ENTER, VTERM_KEY_ENTER },
		{ KEY_BTAB, VTERM_KEY_TAB },
	};

	if (is_char) {
		char	buf[8];
		int	n;
		mbstate_t ps;

		if (key < 0x80) {
			buf[0] = (char)key;
			n = 1;
		} else {
			memset(&ps, 0, sizeof ps);
			if ((n = (int)wcrtomb(buf, (wchar_t)key, &ps)) <= 0)
				return (false);
		}
		pane_on_output(buf, (size_t)n, p);
		return (true);
	}
	for (size_t i = 0; i < nitems(keys); i++)
		if (keys[i].curses == key) {
			vterm_keyboard_key(p->vt, keys[i].vt,
			    key == KEY_BTAB ? VTERM_MOD_SHIFT : VTERM_MOD_NONE);
			return (true);
		}
	if (key >= KEY_F(1) && key <= KEY_F(12)) {
		vterm_keyboard_key(p->vt, VTERM_KEY_FUNCTION(key - KEY_F0),
		    VTERM_MOD_NONE);
		return (true);
	}
	return (false);
}

void
pane_scroll(struct pane *p, int lines)
{
	long	s = lines == PANE_END ? 0 : (long)p->scroll + lines;

	if (s < 0)
		s = 0;
	if ((size_t)s > p->sb_len)
		s = (long)p->sb_len;
	if (s != p->scroll)
		p->dirty = true;
	p->scroll = (int)s;
	p->found = -1;
}

/* The text of line v: the scrollback's below sb_len, the screen's after;
 * malloc'd. */
static char *
pane_line_text(struct pane *p, long v)
{
	if (v >= (long)p->sb_len)
		return (pane_row_text(p, (int)(v - (long)p->sb_len)));
	{
		struct pline	*l = pane_sb_at(p, (size_t)v);
		char		*s = xmalloc((size_t)l->cols * MB_LEN_MAX + 1);
		size_t		 n = 0;
		mbstate_t	 ps;

		memset(&ps, 0, sizeof ps);
		for (int i = 0; i < l->cols; i++) {
			size_t	k;

			if (l->cells[i].ch == (uint32_t)-1)
				continue;	/* the second half of a wide one */
			k = wcrtomb(s + n, l->cells[i].ch != 0 ?
			    (wchar_t)l->cells[i].ch : L' ', &ps);
			if (k == (size_t)-1) {
				memset(&ps, 0, sizeof ps);
				s[n++] = '?';
			} else
				n += k;
		}
		s[n] = '\0';
		return (s);
	}
}

int
pane_find(struct pane *p, const char *needle, int dir)
{
	long	total = (long)p->sb_len + p->rows, top = (long)p->sb_len - p->scroll;
	long	v;

	if (needle == NULL || *needle == '\0')
		return (0);
	if (p->found >= 0 && p->found < total)
		v = p->found + (dir > 0 ? -1 : 1);
	else
		v = dir > 0 ? top + p->rows - 1 : top;
	for (; v >= 0 && v < total; v += dir > 0 ? -1 : 1) {
		char	*text = pane_line_text(p, v);
		bool	 hit = strcasestr(text, needle) != NULL;

		free(text);
		if (!hit)
			continue;
		/* The line found at the view's top (or on the live screen). */
		p->scroll = v < (long)p->sb_len ? (int)((long)p->sb_len - v) : 0;
		p->found = v;
		p->dirty = true;
		return (1);
	}
	return (0);
}

long
pane_found(const struct pane *p)
{
	return (p->found);
}

int
pane_scrolled(const struct pane *p)
{
	return (p->scroll);
}

bool
pane_dirty(const struct pane *p)
{
	return (p->dirty);
}

bool
pane_altscreen(const struct pane *p)
{
	return (p->alt);
}

size_t
pane_dropped(const struct pane *p)
{
	return (p->dropped);
}

/* A curses colour for an emulator colour: as is on 256 colours, the 16
 * basic ones where there are 16, the nearest of 8 otherwise. */
static short
pane_colour(struct pane *p, const VTermColor *vc, bool fg)
{
	static const uint8_t	basic[8][3] = {
		{ 0, 0, 0 }, { 205, 0, 0 }, { 0, 205, 0 }, { 205, 205, 0 },
		{ 0, 0, 238 }, { 205, 0, 205 }, { 0, 205, 205 }, { 229, 229, 229 },
	};
	VTermColor	c = *vc;
	int		n = draw_colours(), best = 0;
	long		bestd = -1;

	if (n == 0 || (fg && VTERM_COLOR_IS_DEFAULT_FG(vc)) ||
	    (!fg && VTERM_COLOR_IS_DEFAULT_BG(vc)))
		return (-1);
	if (VTERM_COLOR_IS_INDEXED(vc)) {
		if (vc->indexed.idx < n)
			return (vc->indexed.idx);
		if (vc->indexed.idx < 16)
			return ((short)(vc->indexed.idx - 8));
	} else if (n == 256) {
		/* The 6x6x6 cube of xterm's 256 colours. */
		int	r = (c.rgb.red * 5 + 127) / 255, g = (c.rgb.green * 5 + 127) / 255,
			b = (c.rgb.blue * 5 + 127) / 255;

		return ((short)(16 + 36 * r + 6 * g + b));
	}
	vterm_state_convert_color_to_rgb(p->st, &c);
	for (int i = 0; i < 8; i++) {
		long	dr = c.rgb.red - basic[i][0], dg = c.rgb.green - basic[i][1],
			db = c.rgb.blue - basic[i][2], d = dr * dr + dg * dg + db * db;

		if (bestd < 0 || d < bestd) {
			bestd = d;
			best = i;
		}
	}
	return ((short)best);
}

static void
pane_draw_cell(struct pane *p, WINDOW *w, int y, int x, const VTermScreenCell *cell)
{
	wchar_t		wch[VTERM_MAX_CHARS_PER_CELL + 1];
	cchar_t		cc;
	attr_t		a = A_NORMAL;
	short		pair;
	int		k = 0;

	for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell->chars[i] != 0; i++) {
		uint32_t	ch = cell->chars[i];

		if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0) ||
		    ch > 0x10ffff || (i == 0 && wcwidth((wchar_t)ch) < 0))
			ch = '?';
		else if (i > 0 && wcwidth((wchar_t)ch) != 0)
			break;
		wch[k++] = (wchar_t)ch;
	}
	if (k == 0)
		wch[k++] = L' ';
	wch[k] = L'\0';
	if (cell->attrs.bold)
		a |= A_BOLD;
	if (cell->attrs.underline)
		a |= A_UNDERLINE;
	if (cell->attrs.reverse)
		a |= A_REVERSE;
	if (cell->attrs.blink)
		a |= A_BLINK;
	if (cell->attrs.italic)
		a |= A_ITALIC;
	pair = draw_pair(pane_colour(p, &cell->fg, true), pane_colour(p, &cell->bg,
	    false));
	if (setcchar(&cc, wch, a, pair, NULL) == ERR) {
		wch[0] = L'?';
		wch[1] = L'\0';
		setcchar(&cc, wch, a, pair, NULL);
	}
	mvwadd_wch(w, y, x, &cc);
}

bool
pane_draw(struct pane *p, WINDOW *w, int y0, int x0)
{
	VTermScreenCell	 cell;
	VTermPos	 pos, cur;
	long		 v;

	for (int row = 0; row < p->rows; row++) {
		v = (long)p->sb_len - p->scroll + row;
		for (int col = 0; col < p->cols; ) {
			if (v < (long)p->sb_len) {
				struct pline	*l = pane_sb_at(p, (size_t)v);

				if (col < l->cols)
					pane_cell_from(&cell, &l->cells[col]);
				else
					pane_cell_blank(&cell);
			} else {
				pos.row = (int)(v - (long)p->sb_len);
				pos.col = col;
				if (vterm_screen_get_cell(p->vs, pos, &cell) == 0)
					pane_cell_blank(&cell);
			}
			if (cell.width > 1 && col + cell.width > p->cols) {
				pane_cell_blank(&cell);
				cell.width = 1;
			}
			pane_draw_cell(p, w, y0 + row, x0 + col, &cell);
			col += cell.width > 0 ? cell.width : 1;
		}
	}
	p->dirty = false;
	vterm_state_get_cursorpos(p->st, &cur);
	if (p->scroll == 0 && p->cursor_visible && cur.row < p->rows &&
	    cur.col < p->cols) {
		wmove(w, y0 + cur.row, x0 + cur.col);
		return (true);
	}
	return (false);
}

int
pane_mark(struct pane *p, int row)
{
	long		v = (long)p->sb_len - p->scroll + row;
	int		mark = PANE_FONT_STDOUT;
	VTermScreenCell	cell;
	VTermPos	pos;

	if (row < 0 || row >= p->rows)
		return (mark);
	for (int col = 0; col < p->cols; col++) {
		int	f;

		if (v < (long)p->sb_len) {
			struct pline	*l = pane_sb_at(p, (size_t)v);

			if (col >= l->cols)
				break;
			if (l->cells[col].ch == 0 || l->cells[col].ch == ' ')
				continue;
			f = l->cells[col].font;
		} else {
			pos.row = (int)(v - (long)p->sb_len);
			pos.col = col;
			if (vterm_screen_get_cell(p->vs, pos, &cell) == 0 ||
			    cell.chars[0] == 0 || cell.chars[0] == ' ')
				continue;
			f = cell.attrs.font;
		}
		if (f == PANE_FONT_MOAT)
			return (f);
		if (f == PANE_FONT_STDERR)
			mark = f;
	}
	return (mark);
}

char *
pane_row_text(struct pane *p, int row)
{
	/* A cell holds up to VTERM_MAX_CHARS_PER_CELL characters of up to 4
	 * bytes; get_text says how much there was, not how much it wrote. */
	size_t		 cap = (size_t)p->cols * VTERM_MAX_CHARS_PER_CELL * 4;
	char		*s = xmalloc(cap + 1);
	size_t		 n = 0;
	VTermRect	 r = { .start_row = row, .end_row = row + 1, .start_col = 0,
			    .end_col = p->cols };

	if (row >= 0 && row < p->rows)
		n = vterm_screen_get_text(p->vs, s, cap, r);
	s[n < cap ? n : cap] = '\0';
	return (s);
}
