/* tui-pane.h: the output pane, a terminal emulator (libvterm) that is the
 * only reader of a command's output: what the command writes is parsed
 * into cells and drawn with curses, so colours, \r progress and cursor
 * movement look as in a terminal while title, clipboard and report requests
 * never reach the host terminal (answers to reports go back to the command
 * only). Lines scrolled off the top go to a bounded scrollback. A flood is
 * cut to what can be seen: past a budget per frame the rest is counted and
 * only its tail is shown. Front end (TUI). */
#ifndef MOAT_TUI_PANE_H
#define MOAT_TUI_PANE_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>

struct pane;

/* Where the emulator's answers and the keys typed into the pane go (the
 * command's terminal); may drop them. */
typedef void	(*pane_out_cb)(const char *, size_t, void *arg);

struct pane	*pane_new(int rows, int cols, size_t scrollback, pane_out_cb,
		    void *arg);
void		 pane_free(struct pane *);
void		 pane_resize(struct pane *, int rows, int cols);
/* Output of the command, in any pieces: its terminal's (stdout), or of
 * stream 2 when stderr is apart. */
void		 pane_write(struct pane *, const char *, size_t);
void		 pane_write_stream(struct pane *, int stream, const char *, size_t);
/* Whose text a row shows: each cell carries it in the emulator's font
 * attribute, which the filter in front of the emulator never lets a
 * command set; moat's own lines (pane_note) cannot be forged. */
#define PANE_FONT_STDOUT	0	/* the command's terminal */
#define PANE_FONT_MOAT		1
#define PANE_FONT_STDERR	2
/* Whose text visible row shows: a PANE_FONT_* (moat's wins, then stderr). */
int		 pane_mark(struct pane *, int row);
/* moat's own line (a run's header, a message), in role colours. */
void		 pane_note(struct pane *, int role, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* A new frame: what a flood left out is said, and its tail shown. */
void		 pane_frame(struct pane *);
/* A command starts or ended: its terminal modes are reset. */
void		 pane_reset_modes(struct pane *);
/* Keys for the command's terminal, encoded as the emulator's modes say
 * (application cursor keys): ch a Unicode character, or a curses KEY_*. */
bool		 pane_key(struct pane *, int key, bool is_char);
/* Scrolling back: lines > 0 up, < 0 down; PANE_END: back to the live screen. */
#define PANE_END	(-1000000)
void		 pane_scroll(struct pane *, int lines);
int		 pane_scrolled(const struct pane *);
/* Searches the scrollback and the screen for needle (case-insensitive),
 * older (dir > 0) or newer (dir < 0) than the last line found (at first:
 * from the foot of the view, or its top for newer), and scrolls that line
 * to the view's top (the live screen when it is there): 1 when found. */
int		 pane_find(struct pane *, const char *needle, int dir);
/* The line the last search found (scrollback lines first), or -1. */
long		 pane_found(const struct pane *);
bool		 pane_dirty(const struct pane *);
bool		 pane_altscreen(const struct pane *);
size_t		 pane_dropped(const struct pane *);
/* Draws the visible rows into w at (y, x); places the cursor there when
 * it is visible and the pane is not scrolled (returns true). */
bool		 pane_draw(struct pane *, WINDOW *, int y, int x);
/* The text of visible row i (for tests and the plain mode), malloc'd. */
char		*pane_row_text(struct pane *, int row);

#endif
