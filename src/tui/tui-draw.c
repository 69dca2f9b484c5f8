/* tui-draw.c: colours, colour pairs and clipped text for the TUI's
 * windows. Front end (TUI), in the supervisor's process. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tui-draw.h"

#define DRAW_CACHE_N	(sizeof draw_cache / sizeof draw_cache[0])

static int	draw_ncolours;		/* 0, 8, 16 or 256 */
static short	draw_npairs;		/* pairs allocated so far */
static struct {
	short	fg, bg, pair;
}		draw_cache[1024];

void
draw_init(void)
{
	const char	*nc = getenv("NO_COLOR");

	draw_ncolours = 0;
	draw_npairs = 0;
	memset(draw_cache, 0, sizeof draw_cache);
	if ((nc != NULL && nc[0] != '\0') || !has_colors() || start_color() == ERR)
		return;
	use_default_colors();
	draw_ncolours = COLORS >= 256 ? 256 : COLORS >= 16 ? 16 : COLORS >= 8 ? 8 : 0;
}

int
draw_colours(void)
{
	return (draw_ncolours);
}

short
draw_pair(short fg, short bg)
{
	unsigned	h;

	if (draw_ncolours == 0 || (fg < 0 && bg < 0))
		return (0);
	h = ((unsigned)(fg + 1) * 257u + (unsigned)(bg + 1)) % DRAW_CACHE_N;
	for (unsigned i = 0; i < 8; i++) {
		unsigned	k = (h + i) % DRAW_CACHE_N;

		if (draw_cache[k].pair != 0 && draw_cache[k].fg == fg &&
		    draw_cache[k].bg == bg)
			return (draw_cache[k].pair);
		if (draw_cache[k].pair == 0) {
			if (draw_npairs + 1 >= COLOR_PAIRS ||
			    init_pair((short)(draw_npairs + 1), fg, bg) == ERR)
				return (0);
			draw_npairs++;
			draw_cache[k].fg = fg;
			draw_cache[k].bg = bg;
			draw_cache[k].pair = draw_npairs;
			return (draw_npairs);
		}
	}
	return (0);
}

attr_t
draw_role(enum tui_role role, short *pair)
{
	bool	c = draw_ncolours > 0;

	*pair = 0;
	switch (role) {
	case ROLE_HEADER:
		if (c)
			*pair = draw_pair(COLOR_WHITE, COLOR_BLUE);
		return (c ? A_BOLD : A_REVERSE);
	case ROLE_TITLE:
		if (c)
			*pair = draw_pair(COLOR_CYAN, -1);
		return (A_BOLD);
	case ROLE_OK:
		if (c)
			*pair = draw_pair(COLOR_GREEN, -1);
		return (A_NORMAL);
	case ROLE_BAD:
		if (c)
			*pair = draw_pair(COLOR_RED, -1);
		return (A_BOLD);
	case ROLE_WARN:
		if (c)
			*pair = draw_pair(COLOR_YELLOW, -1);
		return (A_BOLD);
	case ROLE_DIM:
		return (c ? A_DIM : A_NORMAL);
	case ROLE_BAR:
		if (c)
			*pair = draw_pair(COLOR_GREEN, -1);
		return (A_NORMAL);
	default:
		return (A_NORMAL);
	}
}

void
draw_set_role(WINDOW *w, enum tui_role role)
{
	short	pair;
	attr_t	a = draw_role(role, &pair);

	wattr_set(w, a, pair, NULL);
}

/* The next character of s: its code point in *wc and its length, or 0 at
 * the end; an invalid or control byte is '?', one byte long. */
static size_t
draw_next(const char *s, wchar_t *wc, mbstate_t *ps)
{
	size_t	n;

	if (*s == '\0')
		return (0);
	n = mbrtowc(wc, s, MB_CUR_MAX, ps);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		memset(ps, 0, sizeof *ps);
		*wc = L'?';
		return (1);
	}
	if ((unsigned)*wc < 0x20 || *wc == 0x7f || (*wc >= 0x80 && *wc < 0xa0) ||
	    wcwidth(*wc) < 0)
		*wc = L'?';
	return (n);
}

int
draw_str(WINDOW *w, const char *s, int width)
{
	mbstate_t	ps;
	wchar_t		wc, buf[2];
	size_t		n;
	int		used = 0, cw;

	/* Never the window's last column: curses wraps the cursor to the
	 * next line there, and what is drawn next would land on that line. */
	if (getcurx(w) + width > getmaxx(w) - 1)
		width = getmaxx(w) - 1 - getcurx(w);
	memset(&ps, 0, sizeof ps);
	while (used < width && (n = draw_next(s, &wc, &ps)) > 0) {
		cw = wcwidth(wc);
		if (cw < 0)
			cw = 1;
		if (used + cw > width)
			break;
		buf[0] = wc;
		buf[1] = L'\0';
		waddnwstr(w, buf, 1);
		used += cw;
		s += n;
	}
	return (used);
}

int
draw_width(const char *s)
{
	mbstate_t	ps;
	wchar_t		wc;
	size_t		n;
	int		used = 0, cw;

	memset(&ps, 0, sizeof ps);
	while ((n = draw_next(s, &wc, &ps)) > 0) {
		cw = wcwidth(wc);
		used += cw < 0 ? 1 : cw;
		s += n;
	}
	return (used);
}

void
draw_fill(WINDOW *w, int end)
{
	int	y, x;

	getyx(w, y, x);
	(void)y;
	if (end > getmaxx(w) - 1)
		end = getmaxx(w) - 1;	/* as draw_str: not the last column */
	while (x++ < end)
		waddch(w, ' ');
}
