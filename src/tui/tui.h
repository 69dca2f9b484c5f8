/* tui.h: moat's interactive shell, full screen or plain. A session holds
 * the sandbox; each line typed is a recorded run in it. The full screen
 * (ncursesw) shows a header, the output pane (a terminal emulator), the
 * meters, the recent runs, the input line (readline's callback interface)
 * and a help line; --plain is a readline prompt with a one-line summary
 * after each command, and reads commands from stdin without a terminal.
 * Front end (TUI); moat shell and bare moat on a terminal call it. */
#ifndef MOAT_TUI_H
#define MOAT_TUI_H

#include <stdbool.h>
#include <stddef.h>

struct tui_opts {
	const char	*profile;	/* -p; NULL: default */
	const char	*workspace;	/* -w; NULL: the current directory */
	const char	*db;		/* --db; NULL: $MOAT_DB or the default */
	bool		 unlogged;	/* run when the log cannot be written */
	bool		 plain;		/* --plain */
	size_t		 scrollback;	/* lines kept above the pane */
	unsigned	 ask_secs;	/* a refused connection held while the
					   user is asked; 0: never asked */
};

#define TUI_SCROLLBACK_DEFAULT	2000
#define TUI_SCROLLBACK_MAX	1000000
#define TUI_ASK_SECS_DEFAULT	30
#define TUI_ASK_SECS_MAX	600	/* NETASK_SECS_MAX */

/* Runs the shell until :quit, F10, Ctrl-D or the end of stdin; returns
 * the exit status (the last command's in plain mode; 125 when the
 * session could not start). The terminal is restored on every way out. */
int	tui_main(const struct tui_opts *);
int	tui_plain(const struct tui_opts *);
/* setlocale, with UTF-8 characters even where the locale has none. */
void	tui_locale(void);

#endif
