/* tui-view.h: what takes the output pane's place for a while: a list to
 * pick from (the audit log's runs, the profiles, an overlay session's
 * changes, each with an optional accept mark) or a text to page through (a
 * run's details, a file's diff). Keys move the selection or the page; the
 * caller acts on Enter and its own letters. Front end (TUI). */
#ifndef MOAT_TUI_VIEW_H
#define MOAT_TUI_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>

struct tview_item {
	char	*text;		/* owned; one line as shown */
	char	*key;		/* owned; what the caller acts on */
	int	 role;		/* its colour: enum tui_role */
	int	 mark;		/* -1 none; 0 [ ], 1 [x] */
};

struct tview {
	char			 title[256];
	char			 help[256];	/* the keys, on the help line */
	struct tview_item	*v;		/* owned */
	size_t			 n, cap, sel, top;
	/* A text paged over the list (Esc goes back to it). */
	char			 text_title[256];
	char			**lines;	/* owned; NULL: the list */
	size_t			 nlines, ltop;
};

void	tview_clear(struct tview *);	/* the items and the text */
void	tview_add(struct tview *, const char *key, int role, int mark,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Pages buf (lines; tabs to spaces, \r dropped) over the list. */
void	tview_text(struct tview *, const char *title, const char *buf, size_t n);
void	tview_text_close(struct tview *);
bool	tview_in_text(const struct tview *);
/* Up, Down, PgUp, PgDn, Home, End (in rows of the view): 1 when it was one. */
int	tview_key(struct tview *, int key, int rows);
struct tview_item *tview_selected(struct tview *);
/* Draws into w at (y, x), h rows and w columns. */
void	tview_draw(struct tview *, WINDOW *, int y, int x, int h, int width);
/* The first item at or after the selection (wrapping) whose text holds
 * needle (case-insensitive); in a text, the first line below the top.
 * 1 when found (the view moved there). */
int	tview_find(struct tview *, const char *needle);

#endif
