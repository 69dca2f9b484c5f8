/* tui-draw.h: what every window of the TUI draws with: colours that
 * degrade (256, 16, 8 colours, none when the terminal has none or NO_COLOR
 * is set), a cache of curses colour pairs, and text drawn clipped to a
 * width with control bytes and invalid UTF-8 shown as '?' (nothing a
 * command wrote reaches the host terminal raw). Front end (TUI). */
#ifndef MOAT_TUI_DRAW_H
#define MOAT_TUI_DRAW_H

#include <stdbool.h>
#include <stdint.h>

#include <curses.h>

/* The colours the screen of moat itself uses (headers, meters, marks). */
enum tui_role {
	ROLE_HEADER,	/* the top line */
	ROLE_TITLE,	/* a panel's title, a run's header in the pane */
	ROLE_OK,	/* exit 0, allowed */
	ROLE_BAD,	/* failed, refused, denied */
	ROLE_WARN,	/* near a limit, risk in the middle band */
	ROLE_DIM,	/* help line, units */
	ROLE_BAR,	/* the filled part of a gauge */
	ROLE_N,
};

/* After initscr: how many colours to use (0: none). */
void	draw_init(void);
int	draw_colours(void);
/* A pair for curses colours fg and bg (-1: the terminal's default); 0 when
 * colours are off or the terminal has no pair left. */
short	draw_pair(short fg, short bg);
attr_t	draw_role(enum tui_role, short *pair);
void	draw_set_role(WINDOW *, enum tui_role);
/* Draws s (UTF-8) at the cursor, at most width columns and never in the
 * window's last column (where curses would wrap); returns the columns
 * used. Control bytes and invalid sequences are '?'. */
int	draw_str(WINDOW *, const char *s, int width);
/* Fills the rest of the line up to column end with blanks. */
void	draw_fill(WINDOW *, int end);
/* The columns s takes on screen (as draw_str would draw it). */
int	draw_width(const char *s);

#endif
