/* ttystate.h: what a command's terminal output left switched on in the
 * terminal it is relayed to (the alternate screen, a hidden cursor, mouse
 * reporting, bracketed paste, application keys, a line-drawing charset,
 * colours, a sequence cut in the middle), and the bytes that switch it off
 * again. The pty relay feeds it what it passes on, and when the command
 * ends (normally, by a signal, by a timeout) writes the restore, so a
 * full-screen program killed in the middle does not leave the user's
 * terminal unusable. Supervisor only; pure logic. */
#ifndef MOAT_TTYSTATE_H
#define MOAT_TTYSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TTYSTATE_PARAMS		16
#define TTYSTATE_RESTORE_MAX	256	/* ttystate_restore never writes more */

struct ttystate {
	/* the parser */
	uint8_t		 state;
	uint8_t		 prefix;	/* CSI's private marker: ? > < = or 0 */
	uint8_t		 inter;		/* the last intermediate byte, or 0 */
	uint8_t		 nparams;
	uint32_t	 params[TTYSTATE_PARAMS];
	/* what is switched on */
	uint32_t	 modes;		/* bits of ttystate_modes[] (ttystate.c) */
	bool		 sgr;		/* colours or attributes are set */
	bool		 region;	/* a scroll region is set */
	bool		 keypad;	/* application keypad (ESC =) */
	bool		 charset;	/* G0 or G1 is not ASCII, or SO shifted */
	bool		 cursor_shape;	/* DECSCUSR with a non-default shape */
	bool		 other_keys;	/* xterm modifyOtherKeys */
	uint8_t		 kitty_keys;	/* kitty keyboard flags pushed, capped */
};

void	ttystate_init(struct ttystate *);
void	ttystate_feed(struct ttystate *, const void *, size_t);
/* True when something must be switched back (or a sequence is open). */
bool	ttystate_dirty(const struct ttystate *);
/* Writes into buf (at least TTYSTATE_RESTORE_MAX bytes) what switches every
 * tracked setting back to the terminal's default, and returns its length;
 * 0 when nothing is to be done. */
size_t	ttystate_restore(const struct ttystate *, char *buf);
/* The other way (a stopped command going on, moat in the foreground
 * again): what switches the tracked modes on again, the alternate screen,
 * the hidden cursor, mouse and paste reports, application keys, so that
 * the command's redraw lands where it drew before. Colours, a scroll
 * region, charsets and keyboard protocols are left to the redraw. At most
 * TTYSTATE_RESTORE_MAX bytes. */
size_t	ttystate_resume(const struct ttystate *, char *buf);
/* A terminal stream as the text it shows, line by line, for a reader of
 * the audit log: control sequences dropped, a carriage return, a backspace
 * or a cursor move going back over a line, erase to the end of the line,
 * tabs as spaces, a cursor placed on another row starting a new line.
 * Not a screen: full-screen drawing comes out as the lines it wrote.
 * Writes at most cap - 1 bytes and a NUL; returns the length. */
size_t	ttystate_text(const void *, size_t, char *out, size_t cap);

#endif
