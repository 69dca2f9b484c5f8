/* tui.c: moat's full-screen shell. One poll loop (base/loop) serves the
 * keys, signals and a redraw timer while no command runs; while one runs,
 * the run's own loop serves them too (run.loop_ready), so the screen, the
 * meters and the input stay live. Everything that changes only marks what
 * is dirty; one redraw per timer tick (or per key) draws it with one
 * doupdate(). readline runs on its callback interface, fed byte by byte
 * from the keys, and draws through our redisplay function; it never reads
 * or writes the terminal itself. The command's terminal is the pane's
 * (run.pty_front): its output is parsed by the emulator and never written
 * to the host terminal. Front end (TUI), in the supervisor's process. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curses.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "audit/audit.h"
#include "base/loop.h"
#include "base/util.h"
#include "profile/profile.h"
#include "record/record.h"
#include "sandbox/spawn.h"
#include "review/review.h"
#include "sandbox/chan.h"
#include "session/session.h"
#include "tui-audit.h"
#include "tui-draw.h"
#include "tui-meter.h"
#include "tui-pane.h"
#include "tui-runs.h"
#include "tui-shell.h"
#include "tui-view.h"
#include "tui.h"

#define DIRTY_HEADER	0x01
#define DIRTY_PANE	0x02
#define DIRTY_METERS	0x04
#define DIRTY_RUNS	0x08
#define DIRTY_INPUT	0x10
#define DIRTY_HELP	0x20
#define DIRTY_ALL	0xff

#define TUI_FRAME_S	0.02	/* redraws at most 50 times a second */
#define TUI_METER_HZ	10.0
#define TUI_SIDE_W	36	/* the meter column, when there is room */
#define TUI_WIDE	90	/* narrower than this: one column */
#define TUI_KILL_S	2.0	/* a second ^C within this kills the command */

static const int	tui_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH,
};

struct tui {
	struct tshell	 sh;
	const struct tui_opts *o;
	struct pane	*pane;
	struct tmeter	 meter;
	struct trun	 runs[TRUNS_MAX];
	int		 nruns;
	char		 db[4096];

	/* layout */
	int		 rows, cols;
	int		 pane_y, pane_x, pane_h, pane_w, title_y;
	int		 side_x, side_w;	/* side_w 0: one column */
	int		 strip_y;		/* one column: the meter line, or -1 */

	unsigned	 dirty;
	struct loop	*loop;		/* while no command runs */
	int		 sigfd;
	int		 redraw_fd;
	bool		 redraw_armed;
	bool		 curses_on;

	struct run	*run;		/* while a command runs */
	char		 title[512];	/* the pane's title line */
	double		 ctrlc_at;	/* the last ^C while it runs */
	char		*pending;	/* a line readline accepted */
	bool		 quit;
	int		 quit_status;

	char		 msg[512];	/* on the help line until the next key */
	enum tui_role	 msg_role;

	/* Bytes for readline, fed one at a time through rl_getc_function. */
	unsigned char	 inq[64];
	size_t		 inq_len, inq_off;
	FILE		*rl_null;
	char		 history[4096];
	bool		 have_history;

	/* A view in the pane's place (audit, profiles, sessions, diff). */
	enum {
		VIEW_NONE, VIEW_AUDIT, VIEW_PROFILES, VIEW_SESSIONS, VIEW_DIFF,
	}		 mode;
	struct tview	 view;
	struct taudit_filter af;
	struct review	 rv;		/* VIEW_DIFF: the session's changes */
	double		 rv_since;	/* when the session started (Unix s) */
	/* A question on the help line: a search, a filter. */
	enum {
		ASK_NONE, ASK_FIND, ASK_VIEW_FIND, ASK_AUDIT_TEXT,
		ASK_AUDIT_PROFILE, ASK_AUDIT_RISK,
	}		 ask;
	char		 answer[128];
	size_t		 answer_len;
	char		 find[128];	/* the last search */
	bool		 zoom;		/* the pane takes the screen */
	bool		 stderr_apart;	/* :stderr apart: a pipe, marked */
	char		*last;		/* the last command line run (F5) */
	char		 self[4096];	/* this moat, for its own subcommands */

	/* A connection the allowlist refused, held by the session's proxy
	 * while the user decides (one question at a time). */
	struct {
		bool		 on;
		bool		 confirm;	/* "always": the line shown, y writes it */
		uint32_t	 id;
		char		 rule[300];	/* HOST:PORT, net-allow's grammar */
		double		 until;		/* refused then (CLOCK_MONOTONIC) */
	}		 na;
	struct loop	*run_loop;	/* the run's, while a command runs */
	int		 na_timer;	/* the countdown's, in run_loop; -1 */

	/* moat's own subcommand whose output a view waits for (one at a
	 * time): read in the loop, so the screen stays live meanwhile. */
	struct tui_job {
		pid_t		 pid;		/* 0: none */
		int		 fd;
		char		*buf;		/* owned */
		size_t		 n, cap;
		int		 what;		/* JOB_* */
		int		 mode;		/* the view it was asked from */
		char		 key[512];	/* the run, profile or path */
	}		 job;
};

enum {
	JOB_SHOW_VIEW,		/* moat audit show, paged over the audit view */
	JOB_SHOW_PANE,		/* the same, into the pane (:show ID) */
	JOB_PROFILE,		/* moat profiles show */
	JOB_DIFF,		/* moat diff SESSION PATH */
	JOB_APPLY,		/* moat apply SESSION PATH... */
};

/* readline and the fatal paths take no argument: the one TUI. */
static struct tui	*tui_g;

static void	tui_redraw(struct tui *);
static void	tui_layout(struct tui *);

/* Any way out restores the terminal first (htop CRT_fatalError). */
static void
tui_endwin(void)
{
	if (tui_g != NULL && tui_g->curses_on) {
		tui_g->curses_on = false;
		endwin();
	}
}

static void
tui_fatal_signal(int sig)
{
	tui_endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
tui_mark(struct tui *t, unsigned what)
{
	struct itimerspec	its = { .it_value = { .tv_nsec =
				    (long)(TUI_FRAME_S * 1e9) } };

	t->dirty |= what;
	if (!t->redraw_armed && t->redraw_fd >= 0 &&
	    timerfd_settime(t->redraw_fd, 0, &its, NULL) == 0)
		t->redraw_armed = true;
}

static void
tui_say(struct tui *t, enum tui_role role, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof t->msg, fmt, ap);
	va_end(ap);
	t->msg_role = role;
	tui_mark(t, DIRTY_HELP);
}

/* --- layout and drawing ---------------------------------------------- */

static void
tui_layout(struct tui *t)
{
	int	body;

	getmaxyx(stdscr, t->rows, t->cols);
	body = t->rows - 3;		/* header, input, help */
	t->strip_y = -1;
	if (t->zoom) {
		/* The pane takes all but the input and help lines. */
		t->side_w = 0;
		t->side_x = t->cols;
		t->title_y = -1;
		t->pane_y = t->pane_x = 0;
		t->pane_w = t->cols - 1;	/* and the margin */
		t->pane_h = t->rows - 2;
	} else if (t->cols >= TUI_WIDE && body >= 8) {
		t->side_w = TUI_SIDE_W;
		t->side_x = t->cols - t->side_w;
		t->title_y = 1;
		t->pane_y = 2;
		t->pane_x = 0;
		t->pane_w = t->side_x - 1;
		t->pane_h = body - 1;
	} else {
		t->side_w = 0;
		t->side_x = t->cols;
		t->pane_x = 0;
		t->pane_w = t->cols - 1;	/* and the margin */
		if (body >= 5) {
			t->strip_y = 1;
			t->title_y = 2;
			t->pane_y = 3;
			t->pane_h = body - 2;
		} else {
			t->title_y = 1;
			t->pane_y = 2;
			t->pane_h = body - 1;
		}
	}
	if (t->pane_h < 1)
		t->pane_h = 1;
	if (t->pane_w < 1)
		t->pane_w = 1;
	if (t->pane != NULL)
		pane_resize(t->pane, t->pane_h, t->pane_w);
	if (t->run != NULL) {
		struct winsize	ws = { .ws_row = (unsigned short)t->pane_h,
				    .ws_col = (unsigned short)t->pane_w };

		run_pty_resize(t->run, &ws);
	}
}

static void
tui_resize(struct tui *t)
{
	struct winsize	ws;

	/* resizeterm queues a KEY_RESIZE, which comes back here: only a
	 * size that changed is passed on. */
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0 && is_term_resized(ws.ws_row, ws.ws_col))
		resizeterm(ws.ws_row, ws.ws_col);
	tui_layout(t);
	clear();
	tui_mark(t, DIRTY_ALL);
}

/* A line across w columns: "─ text ───". */
static void
tui_rule(int y, int x, int w, const char *text, enum tui_role role)
{
	int	used = 0;

	if (w <= 0)
		return;
	move(y, x);
	draw_set_role(stdscr, ROLE_DIM);
	used += draw_str(stdscr, "\u2500 ", w);
	if (text != NULL && text[0] != '\0' && used < w) {
		draw_set_role(stdscr, role);
		used += draw_str(stdscr, text, w - used);
		draw_set_role(stdscr, ROLE_DIM);
		used += draw_str(stdscr, " ", w - used);
	}
	while (used < w) {
		int	n = draw_str(stdscr, "\u2500", w - used);

		if (n == 0)
			break;	/* the screen's last column */
		used += n;
	}
	attr_set(A_NORMAL, 0, NULL);
}

static void
tui_draw_header(struct tui *t)
{
	const struct profile	*p = t->sh.profile;
	char			 line[16384], net[64];

	if (p->net == NET_ISOLATED)
		snprintf(net, sizeof net, "net isolated");
	else
		snprintf(net, sizeof net, "net %s (%zu hosts)",
		    profile_net_mode_name(p->net), p->net_allow.n);
	snprintf(line, sizeof line, " moat \u00b7 %s \u00b7 %s \u00b7 %s %s \u00b7 %s \u00b7 %s",
	    t->sh.profile_arg, net, t->sh.info.workspace[0] != '\0' ?
	    t->sh.info.workspace : "no workspace",
	    profile_ws_mode_name(p->workspace), t->sh.id, t->db);
	move(0, 0);
	draw_set_role(stdscr, ROLE_HEADER);
	draw_str(stdscr, line, t->cols);
	draw_fill(stdscr, t->cols);
	attr_set(A_NORMAL, 0, NULL);
}

static void
tui_draw_title(struct tui *t)
{
	char	buf[640];

	if (t->title_y < 0)
		return;		/* zoomed */
	if (t->mode != VIEW_NONE)
		snprintf(buf, sizeof buf, "%s", tview_in_text(&t->view) ?
		    t->view.text_title : t->view.title);
	else if (pane_scrolled(t->pane) > 0)
		snprintf(buf, sizeof buf, "%s [scrolled back %d lines: PgDn, End, "
		    "/ search]", t->title, pane_scrolled(t->pane));
	else
		snprintf(buf, sizeof buf, "%s", t->title[0] != '\0' ? t->title :
		    "output");
	tui_rule(t->title_y, t->pane_x, t->pane_w, buf, ROLE_TITLE);
}

static void
tui_draw_side(struct tui *t)
{
	int	y = 1, x = t->side_x, w = t->side_w - 1, mrows = 6, rrows;

	for (int i = 1; i < t->rows - 2; i++)
		mvaddstr(i, x - 1, "\u2502");
	tui_rule(y++, x, w, "meters", ROLE_TITLE);
	if (mrows > t->rows - 3 - 2)
		mrows = t->rows - 3 - 2;
	tmeter_draw(&t->meter, stdscr, y, x, mrows, w);
	y += mrows;
	if (y >= t->rows - 2)
		return;
	tui_rule(y++, x, w, "recent", ROLE_TITLE);
	rrows = t->rows - 2 - y;
	truns_draw(t->runs, t->nruns, stdscr, y, x, rrows, w);
}

/* The column right of the pane says whose each row is: moat's own lines
 * and a command's stderr (when apart) are marked there, where nothing a
 * command writes can reach. In two columns it is the rule before the
 * meters. */
static void
tui_draw_margin(struct tui *t)
{
	int	x = t->pane_x + t->pane_w;

	if (x >= t->cols)
		return;
	for (int r = 0; r < t->pane_h; r++) {
		int	 m = t->mode == VIEW_NONE ? pane_mark(t->pane, r) : PANE_FONT_STDOUT;
		wchar_t	 wc[2] = { t->side_w > 0 ? L'\u2502' : L' ', L'\0' };
		cchar_t	 cc;
		short	 pair = 0;
		attr_t	 a = A_NORMAL;

		if (m == PANE_FONT_MOAT) {
			wc[0] = L'\u00ab';
			a = draw_role(ROLE_TITLE, &pair);
		} else if (m == PANE_FONT_STDERR) {
			wc[0] = L'\u258c';
			a = draw_role(ROLE_BAD, &pair);
		}
		/* The screen's last column in one column: a row of the pane
		 * is never the last row, so curses does not scroll. */
		setcchar(&cc, wc, a, pair, NULL);
		mvadd_wch(t->pane_y + r, x, &cc);
	}
}

static void
tui_draw_strip(struct tui *t)
{
	char	line[256];

	tmeter_line(&t->meter, line, sizeof line);
	move(t->strip_y, 0);
	draw_set_role(stdscr, ROLE_DIM);
	draw_str(stdscr, line, t->cols);
	draw_fill(stdscr, t->cols);
	attr_set(A_NORMAL, 0, NULL);
}

/* The input line: the prompt and readline's buffer, scrolled so that the
 * cursor shows. Returns the cursor's column. */
static int
tui_draw_input(struct tui *t)
{
	const char	*prompt = rl_display_prompt != NULL ? rl_display_prompt : "";
	int		 y = t->rows - 2, pw, cw, x, start = 0;
	char		*before;

	move(y, 0);
	if (t->run != NULL) {
		char	buf[600];

		snprintf(buf, sizeof buf, "running: %s", t->title);
		draw_set_role(stdscr, ROLE_DIM);
		draw_str(stdscr, buf, t->cols);
		attr_set(A_NORMAL, 0, NULL);
		draw_fill(stdscr, t->cols);
		return (-1);
	}
	pw = draw_width(prompt);
	before = xstrndup(rl_line_buffer != NULL ? rl_line_buffer : "",
	    (size_t)(rl_point > 0 ? rl_point : 0));
	/* Keep the cursor on screen: the start of a long line gives way
	 * (and the prompt with it, shown as an ellipsis). */
	cw = draw_width(before);
	while (before[start] != '\0' && (start == 0 ? pw : 1) + cw >= t->cols - 1) {
		start++;
		while (((unsigned char)before[start] & 0xc0) == 0x80)
			start++;
		cw = draw_width(before + start);
	}
	draw_set_role(stdscr, ROLE_TITLE);
	draw_str(stdscr, start == 0 ? prompt : "\u2026", t->cols);
	attr_set(A_NORMAL, 0, NULL);
	x = (start == 0 ? pw : 1);
	draw_str(stdscr, (rl_line_buffer != NULL ? rl_line_buffer : "") + start,
	    t->cols - x);
	draw_fill(stdscr, t->cols);
	free(before);
	x += cw;
	return (x < t->cols ? x : t->cols - 1);
}

/* The questions of the help line, by t->ask. */
static const char *const tui_asks[] = {
	"", "search back: ", "find: ", "runs whose command holds: ",
	"runs of profile: ", "runs of risk at least: ",
};

static void
tui_draw_help(struct tui *t)
{
	const char	*keys = t->run != NULL ?
	    "^C interrupt (twice: kill)  PgUp/PgDn scroll  F12 zoom  keys go to the command" :
	    "F1 help  F2 audit  F3 profiles  F5 rerun  F12 zoom  PgUp scroll  F10/^D quit";

	if (t->mode != VIEW_NONE)
		keys = tview_in_text(&t->view) ?
		    "Up/Down PgUp/PgDn Home/End  / find  n next  Esc/q back" :
		    t->view.help;
	else if (pane_scrolled(t->pane) > 0 && !pane_altscreen(t->pane))
		keys = "scrollback: PgUp/PgDn Up/Down  Home top  End/Esc/q live  "
		    "/ search  n older  N newer";
	else if (t->zoom)
		keys = t->run != NULL ? "zoomed: F12 back  ^C interrupt  keys go to "
		    "the command" : "zoomed: F12 back";
	move(t->rows - 1, 0);
	if (t->na.on) {
		char	q[600];
		double	left = ceil(t->na.until - now_mono());

		if (t->na.confirm)
			snprintf(q, sizeof q, "write \"net-allow = %s\" to %s? [y]es "
			    "[n]o \u00b7 refused in %.0f s", t->na.rule,
			    t->sh.profile->path, left > 0 ? left : 0);
		else
			snprintf(q, sizeof q, "%s not allowed: [o]nce [s]ession "
			    "[a]lways [d]eny \u00b7 refused in %.0f s", t->na.rule,
			    left > 0 ? left : 0);
		draw_set_role(stdscr, ROLE_WARN);
		draw_str(stdscr, q, t->cols);
		attr_set(A_NORMAL, 0, NULL);
		draw_fill(stdscr, t->cols - 1);
		return;
	}
	if (t->ask != ASK_NONE) {
		draw_set_role(stdscr, ROLE_TITLE);
		draw_str(stdscr, tui_asks[t->ask], t->cols);
		attr_set(A_NORMAL, 0, NULL);
		draw_str(stdscr, t->answer, t->cols - getcurx(stdscr));
		draw_fill(stdscr, t->cols - 1);
		return;
	}
	if (t->msg[0] != '\0') {
		draw_set_role(stdscr, t->msg_role);
		draw_str(stdscr, t->msg, t->cols);
	} else {
		draw_set_role(stdscr, ROLE_DIM);
		draw_str(stdscr, keys, t->cols);
	}
	attr_set(A_NORMAL, 0, NULL);
	draw_fill(stdscr, t->cols - 1);
}

static void
tui_redraw(struct tui *t)
{
	int	cx, cy = -1, cxp = -1;

	if (!t->curses_on || t->dirty == 0)
		return;
	if (t->rows < 4 || t->cols < 10) {
		erase();
		mvaddstr(0, 0, "moat: too small");
		wnoutrefresh(stdscr);
		doupdate();
		t->dirty = 0;
		return;
	}
	if (t->dirty & DIRTY_HEADER && !t->zoom)
		tui_draw_header(t);
	if (t->mode != VIEW_NONE) {
		tui_draw_title(t);
		tview_draw(&t->view, stdscr, t->pane_y, t->pane_x, t->pane_h, t->pane_w);
	} else if (t->dirty & (DIRTY_PANE | DIRTY_HEADER)) {
		tui_draw_title(t);
		if (pane_draw(t->pane, stdscr, t->pane_y, t->pane_x))
			getyx(stdscr, cy, cxp);
	}
	if (t->dirty & (DIRTY_METERS | DIRTY_RUNS | DIRTY_HEADER)) {
		if (t->side_w > 0)
			tui_draw_side(t);
		else if (t->strip_y >= 0)
			tui_draw_strip(t);
	}
	if (t->dirty & (DIRTY_PANE | DIRTY_METERS | DIRTY_RUNS | DIRTY_HEADER))
		tui_draw_margin(t);
	tui_draw_help(t);
	cx = tui_draw_input(t);
	/* The cursor: on a question, in the pane while a command runs, else
	 * on the input; none over a view. */
	if (t->ask != ASK_NONE) {
		cx = draw_width(tui_asks[t->ask]) + draw_width(t->answer);
		move(t->rows - 1, cx < t->cols - 1 ? cx : t->cols - 2);
		curs_set(1);
	} else if (t->mode != VIEW_NONE)
		curs_set(0);
	else if (t->run != NULL) {
		if (cy < 0 && !(t->dirty & DIRTY_PANE) && pane_scrolled(t->pane) == 0) {
			/* The pane was not redrawn: ask it where its cursor is. */
			pane_draw(t->pane, stdscr, t->pane_y, t->pane_x);
			getyx(stdscr, cy, cxp);
		}
		if (cy >= 0 && pane_scrolled(t->pane) == 0) {
			move(cy, cxp);
			curs_set(1);
		} else
			curs_set(0);
	} else {
		move(t->rows - 2, cx < 0 ? 0 : cx);
		curs_set(1);
	}
	t->dirty = 0;
	wnoutrefresh(stdscr);
	doupdate();
}

static void
tui_on_redraw(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct tui	*t = arg;
	uint64_t	 x;

	(void)!read(fd, &x, sizeof x);
	t->redraw_armed = false;
	pane_frame(t->pane);
	if (pane_dirty(t->pane))
		t->dirty |= DIRTY_PANE;
	if (t->run != NULL && t->meter.running)
		t->dirty |= DIRTY_METERS;	/* the elapsed time goes on */
	tui_redraw(t);
}

/* --- readline ---------------------------------------------------------- */

static int
tui_rl_getc(FILE *f)
{
	struct tui	*t = tui_g;

	if (t->inq_off < t->inq_len)
		return (t->inq[t->inq_off++]);
	return (EOF);
}

static int
tui_rl_avail(void)
{
	return (tui_g->inq_off < tui_g->inq_len);
}

static void
tui_rl_redisplay(void)
{
	tui_mark(tui_g, DIRTY_INPUT);
}

static void
tui_rl_line(char *line)
{
	struct tui	*t = tui_g;

	if (line == NULL) {
		t->quit = true;		/* ^D on an empty line */
		return;
	}
	free(t->pending);
	t->pending = line;
}

/* Completions cannot be asked about in callback mode: they are listed on
 * the help line. */
static void
tui_rl_matches(char **matches, int n, int maxlen)
{
	struct tui	*t = tui_g;
	size_t		 off = 0;

	t->msg[0] = '\0';
	for (int i = 1; i <= n && off + 2 < sizeof t->msg; i++)
		off += (size_t)snprintf(t->msg + off, sizeof t->msg - off, "%s%s",
		    i > 1 ? "  " : "", matches[i]);
	t->msg_role = ROLE_DIM;
	tui_mark(t, DIRTY_HELP);
}

static void
tui_set_prompt(struct tui *t)
{
	const char	*home = getenv("HOME");
	const char	*cwd = t->sh.cwd != NULL ? t->sh.cwd : "/";
	char		 prompt[PATH_MAX + 16];
	size_t		 hl = home != NULL ? strlen(home) : 0;

	if (hl > 1 && strncmp(cwd, home, hl) == 0 && (cwd[hl] == '/' || cwd[hl] == '\0'))
		snprintf(prompt, sizeof prompt, "~%s $ ", cwd + hl);
	else
		snprintf(prompt, sizeof prompt, "%s $ ", cwd);
	/* Control bytes of a directory's name are not the terminal's. */
	for (char *c = prompt; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	rl_set_prompt(prompt);
	tui_mark(t, DIRTY_INPUT);
}

static void
tui_rl_init(struct tui *t)
{
	rl_readline_name = "moat";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	rl_prep_term_function = NULL;
	rl_deprep_term_function = NULL;
	rl_getc_function = tui_rl_getc;
	rl_input_available_hook = tui_rl_avail;
	rl_redisplay_function = tui_rl_redisplay;
	rl_completion_display_matches_hook = tui_rl_matches;
	/* Nothing of readline's reaches the terminal (a bell, a list). */
	t->rl_null = fopen("/dev/null", "w");
	rl_outstream = t->rl_null;
	rl_instream = NULL;
	using_history();
	stifle_history(1000);
	t->have_history = tshell_history(t->history, sizeof t->history) != NULL;
	if (t->have_history)
		(void)read_history(t->history);
	rl_callback_handler_install("$ ", tui_rl_line);
	tui_set_prompt(t);
}

static void
tui_rl_feed(struct tui *t, const char *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		t->inq[0] = (unsigned char)bytes[i];
		t->inq_off = 0;
		t->inq_len = 1;
		rl_callback_read_char();
		if (t->pending != NULL || t->quit) {
			/* The rest waits: the line is run first. */
			break;
		}
	}
	t->inq_len = t->inq_off = 0;
}

static void
tui_history_add(struct tui *t, const char *line)
{
	int	fd;

	add_history(line);
	if (!t->have_history)
		return;
	/* The file is the user's alone, as a shell's history. */
	if ((fd = open(t->history, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) >= 0)
		close(fd);
	(void)append_history(1, t->history);
	(void)history_truncate_file(t->history, 1000);
}

/* --- commands ---------------------------------------------------------- */

static void
tui_refresh_runs(struct tui *t)
{
	struct merr	e;
	int		n = truns_load(t->o->db, t->runs, TRUNS_MAX, &e);

	t->nruns = n < 0 ? 0 : n;
	tui_mark(t, DIRTY_RUNS);
}

static void
tui_rec_output(struct run *r, int stream, const void *buf, size_t n, void *arg)
{
	struct tui	*t = arg;

	pane_write_stream(t->pane, stream, buf, n);
	tui_mark(t, DIRTY_PANE);
}

static void
tui_rec_sample(struct run *r, const struct meter_sample *s, void *arg)
{
	struct tui	*t = arg;

	tmeter_sample(&t->meter, s);
	tui_mark(t, DIRTY_METERS);
}

static void
tui_rec_event(struct run *r, const struct run_event *ev, void *arg)
{
	struct tui	*t = arg;

	tmeter_event(&t->meter, ev);
	if (ev->kind == EV_LIMIT_HIT && ev->text != NULL)
		tui_say(t, ROLE_BAD, "%s", ev->text);
	/* The meters could not start: say why, rather than show dashes. */
	if (ev->kind == EV_NOTE && ev->text != NULL &&
	    strncmp(ev->text, "no meters", 9) == 0)
		tui_say(t, ROLE_WARN, "%s", ev->text);
	tui_mark(t, DIRTY_METERS);
}

static void
tui_rec_warn(const char *msg, void *arg)
{
	tui_say(arg, ROLE_BAD, "audit log: %s", msg);
}

/* The emulator's answers and the keys: to the command's terminal. */
static void
tui_pane_out(const char *s, size_t n, void *arg)
{
	struct tui	*t = arg;

	if (t->run != NULL)
		(void)run_pty_write(t->run, s, n);
}

static void	tui_on_stdin(struct loop *, int, uint32_t, void *);
static int	tui_keys(struct tui *);

static void
tui_loop_ready(struct run *r, struct loop *l)
{
	struct tui	*t = tui_g;	/* cb_arg is the record's */
	struct merr	 e;

	t->run_loop = l;
	(void)loop_add(l, STDIN_FILENO, EPOLLIN, tui_on_stdin, t, &e);
	(void)loop_add(l, t->redraw_fd, EPOLLIN, tui_on_redraw, t, &e);
	/* Keys curses read ahead with the line (a ^C typed right after it)
	 * are this command's: the descriptor would not say so again. */
	tui_keys(t);
}

static void
tui_on_winch(struct run *r)
{
	tui_resize(tui_g);
}

static const char *
tui_confirm(const struct risk_result *res, int above, void *arg)
{
	struct tui	*t = arg;
	int		 c;

	/* A dialog on the help line; the reasons in the pane. */
	pane_note(t->pane, ROLE_WARN, "risk %d is above the profile's "
	    "risk-confirm-above (%d):", res->score, above);
	for (size_t i = 0; i < res->nreasons; i++)
		pane_note(t->pane, ROLE_WARN, "  +%d %s", res->reasons[i].weight,
		    res->reasons[i].reason);
	tui_say(t, ROLE_WARN, "run it in the sandbox anyway? [y/N]");
	tui_mark(t, DIRTY_PANE);
	tui_redraw(t);
	nodelay(stdscr, FALSE);
	c = wgetch(stdscr);
	nodelay(stdscr, TRUE);
	t->msg[0] = '\0';
	return (c == 'y' || c == 'Y' ? NULL : "it was not confirmed");
}

/* The question is over: answered, timed out, or its command ended. */
static void
tui_na_close(struct tui *t)
{
	t->na.on = t->na.confirm = false;
	if (t->na_timer >= 0) {
		if (t->run_loop != NULL)
			loop_del(t->run_loop, t->na_timer);
		close(t->na_timer);
		t->na_timer = -1;
	}
	tui_mark(t, DIRTY_HELP | DIRTY_PANE);
}

static void
tui_on_na_tick(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct tui	*t = arg;
	uint64_t	 v;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof v) == -1) {
		/* EAGAIN: the clock below decides. */
	}
	if (t->na.on && now_mono() >= t->na.until) {
		pane_note(t->pane, ROLE_BAD, "%s: no answer in %u s, refused",
		    t->na.rule, t->o->ask_secs);
		tui_na_close(t);
	}
	tui_mark(t, DIRTY_HELP);
}

/* "always": the rule appended to the profile's own file, as it was
 * shown. A profile with no file of its own has nothing to write to. */
static int
tui_na_write(struct tui *t, struct merr *e)
{
	const char	*path = t->sh.profile->path;
	autofd int	 fd = -1;
	char		*line;
	int		 rc = 0;

	if (path == NULL)
		return (merr_set(e, "profile %s is built in: there is no file to "
		    "write the rule to", t->sh.profile->name));
	if ((fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (merr_errno(e, "open %s to add the rule", path));
	line = xprintf("net-allow = %s\n", t->na.rule);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		rc = merr_errno(e, "write %s", path);
	free(line);
	return (rc);
}

static void
tui_na_answer(struct tui *t, int how)
{
	struct merr	e;
	static const char *const said[] = {
		[NETASK_DENY] = "denied",
		[NETASK_ONCE] = "allowed once",
		[NETASK_SESSION] = "allowed for this session",
		[NETASK_ALWAYS] = "allowed always",
	};

	if (how == NETASK_ALWAYS && tui_na_write(t, &e) == -1) {
		pane_note(t->pane, ROLE_BAD, "moat: %s; allowed for this session "
		    "only", e.msg);
		how = NETASK_SESSION;
	} else if (how == NETASK_ALWAYS)
		pane_note(t->pane, ROLE_OK, "net-allow = %s written to %s",
		    t->na.rule, t->sh.profile->path);
	/* For the session: the session's allowlist changed, on the record
	 * as moat session allow is, before the connection goes on. */
	if ((how == NETASK_SESSION || how == NETASK_ALWAYS) &&
	    session_allow(t->sh.id, t->na.rule, how == NETASK_ALWAYS ?
	    SESSION_ALLOW_WRITTEN : SESSION_ALLOW, t->sh.db, "tui", NULL,
	    &e) == -1) {
		pane_note(t->pane, ROLE_BAD, "moat: %s; allowed once instead", e.msg);
		how = NETASK_ONCE;
	}
	if (t->run != NULL && run_net_answer(t->run, t->na.id, how, &e) == -1)
		pane_note(t->pane, ROLE_BAD, "moat: %s", e.msg);
	else
		pane_note(t->pane, how == NETASK_DENY ? ROLE_WARN : ROLE_OK,
		    "%s: %s", t->na.rule, said[how]);
	tui_na_close(t);
}

/* A key while the question is open: ^C and F12 keep their meaning. */
static bool
tui_key_na(struct tui *t, int c)
{
	if (c == 3 || c == KEY_F(12))
		return (false);
	if (t->na.confirm) {
		if (c == 'y' || c == 'Y')
			tui_na_answer(t, NETASK_ALWAYS);
		else if (c == 'n' || c == 'N' || c == 27) {
			t->na.confirm = false;
			tui_mark(t, DIRTY_HELP);
		}
		return (true);
	}
	switch (c) {
	case 'o': case 'O':
		tui_na_answer(t, NETASK_ONCE);
		break;
	case 's': case 'S':
		tui_na_answer(t, NETASK_SESSION);
		break;
	case 'a': case 'A':
		if (t->sh.profile->path == NULL)
			tui_say(t, ROLE_BAD, "profile %s is built in: nothing to write "
			    "the rule to ([s]ession allows it until the shell ends)",
			    t->sh.profile->name);
		else {
			t->na.confirm = true;
			tui_mark(t, DIRTY_HELP);
		}
		break;
	case 'd': case 'D': case 27:
		tui_na_answer(t, NETASK_DENY);
		break;
	default:
		break;
	}
	return (true);
}

/* The session's proxy holds a connection the allowlist refused: the
 * question on the help line, with its time. One at a time: another that
 * comes meanwhile is refused at once (its client sees the 403 or SOCKS
 * refusal it would have without the shell). */
static unsigned
tui_net_ask(struct run *r, uint32_t id, const char *host, unsigned port,
    const char *why)
{
	struct tui	*t = tui_g;
	struct merr	 e;

	(void)r;
	if (t->o->ask_secs == 0 || t->run_loop == NULL)
		return (0);
	if (t->na.on) {
		pane_note(t->pane, ROLE_WARN, "%s:%u refused (%s): another "
		    "question is open", host, port, why);
		tui_mark(t, DIRTY_PANE);
		return (0);
	}
	snprintf(t->na.rule, sizeof t->na.rule, strchr(host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", host, port);
	t->na.id = id;
	t->na.until = now_mono() + t->o->ask_secs;
	t->na.on = true;
	t->na.confirm = false;
	t->na_timer = loop_timer(t->run_loop, 1, 1, tui_on_na_tick, t, &e);
	pane_note(t->pane, ROLE_WARN, "%s refused by the allowlist (%s): held "
	    "for %u s while you decide", t->na.rule, why, t->o->ask_secs);
	tui_mark(t, DIRTY_PANE | DIRTY_HELP);
	return (t->o->ask_secs);
}

static void
tui_exec(struct tui *t, const char *line)
{
	struct run	 r;
	struct rec_opts	 ro;
	struct rec_out	 out;
	struct merr	 e;
	const struct limits *lim = &t->sh.profile->limits;
	char		 end[512];
	int		 rc;

	run_init(&r);
	r.pty_force = true;
	r.pty_front = true;
	r.pty_no_stderr = t->stderr_apart;
	r.pty_size.ws_row = (unsigned short)t->pane_h;
	r.pty_size.ws_col = (unsigned short)t->pane_w;
	r.loop_ready = tui_loop_ready;
	r.on_winch = tui_on_winch;
	if (t->o->ask_secs > 0) {
		r.on_net_ask = tui_net_ask;
		r.net_ask_secs = t->o->ask_secs;
	}
	r.meter_hz = TUI_METER_HZ;
	memset(&ro, 0, sizeof ro);
	ro.on_output = tui_rec_output;
	ro.on_sample = tui_rec_sample;
	ro.on_event = tui_rec_event;
	ro.on_warn = tui_rec_warn;
	ro.confirm = tui_confirm;
	ro.arg = t;

	snprintf(t->title, sizeof t->title, "%s", line);
	for (char *c = t->title; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	pane_scroll(t->pane, PANE_END);
	pane_reset_modes(t->pane);
	pane_note(t->pane, ROLE_TITLE, "\u25b6 %s", line);
	tmeter_start(&t->meter, lim->memory, lim->nproc, lim->timeout);
	t->run = &r;
	t->ctrlc_at = 0;
	t->msg[0] = '\0';
	tui_mark(t, DIRTY_ALL);
	tui_redraw(t);

	rc = tshell_exec(&t->sh, line, &r, &ro, &out, &e);

	if (t->na.on)
		pane_note(t->pane, ROLE_WARN, "%s: the command ended before an "
		    "answer", t->na.rule);
	t->run_loop = NULL;	/* freed with the run */
	tui_na_close(t);
	t->run = NULL;
	tmeter_stop(&t->meter);
	pane_frame(t->pane);
	pane_reset_modes(t->pane);
	if (rc == -1) {
		pane_note(t->pane, ROLE_BAD, "moat: %s", e.msg);
		if (out.refused_risk)
			for (size_t i = 0; i < out.risk.nreasons; i++)
				pane_note(t->pane, ROLE_BAD, "  +%d %s",
				    out.risk.reasons[i].weight, out.risk.reasons[i].reason);
	} else {
		double	d = r.t_end - r.t_start;

		if (r.end == END_EXITED)
			snprintf(end, sizeof end, "exit %d", r.exit_code);
		else if (r.end == END_KILLED)
			snprintf(end, sizeof end, "%s (signal %d, exit %d)",
			    WIFSIGNALED(r.wstatus) && WTERMSIG(r.wstatus) == SIGINT ?
			    "interrupted" : "killed", WIFSIGNALED(r.wstatus) ?
			    WTERMSIG(r.wstatus) : 0, r.exit_code);
		else if (r.end == END_SIGNALED)
			snprintf(end, sizeof end, "ended by signal %d (exit %d)",
			    WIFSIGNALED(r.wstatus) ? WTERMSIG(r.wstatus) : 0, r.exit_code);
		else
			snprintf(end, sizeof end, "%s (exit %d)", end_reason_name(r.end),
			    r.exit_code);
		pane_note(t->pane, r.exit_code == 0 ? ROLE_OK : ROLE_BAD,
		    "\u25a0 %s \u00b7 %.2f s \u00b7 risk %d \u00b7 run %s", end, d,
		    out.final_risk, r.id);
		if (out.sum.nrefused > 0 || out.sum.ndenied > 0 ||
		    out.sum.files_changed > 0) {
			char	*text = NULL;
			size_t	 len = 0;
			FILE	*f = open_memstream(&text, &len);

			if (f != NULL) {
				run_summary_print(&out.sum, &r, f);
				fclose(f);
				for (char *s = text, *nl; s != NULL && *s != '\0'; s = nl) {
					if ((nl = strchr(s, '\n')) != NULL)
						*nl++ = '\0';
					pane_note(t->pane, ROLE_WARN, "%s", s);
				}
				free(text);
			}
		}
		/* moat was told to end while the command ran: the command
		 * had the signal, and the shell ends too. */
		if (r.end == END_KILLED && WIFSIGNALED(r.wstatus) &&
		    (WTERMSIG(r.wstatus) == SIGTERM || WTERMSIG(r.wstatus) == SIGHUP)) {
			t->quit = true;
			t->quit_status = 128 + WTERMSIG(r.wstatus);
		}
	}
	rec_out_free(&out);
	run_release(&r);
	t->title[0] = '\0';
	tui_refresh_runs(t);
	tui_mark(t, DIRTY_ALL);
}

static const char *const tui_help[] = {
	"moat shell: each line runs in this session's sandbox, recorded in the audit log.",
	"  cd DIR, export NAME=VALUE, unset NAME   carried to the next command",
	"  :help  this text      :quit  leave (the session ends)",
	"  :profile NAME  a new session with that profile    :profiles  pick one (F3)",
	"  :new [-p PROFILE]  a fresh session    :sessions  list them, Enter attaches",
	"  :audit [TEXT]  the audit log (F2)     :show ID  a run's details in the pane",
	"  :diff  review an overlay session's changes: mark, diff, apply each file",
	"  :find TEXT  search the scrollback     :stderr apart|terminal  see below",
	"keys: PgUp/PgDn scroll the pane (then Home/End, / search, n/N, Esc), F1 help,",
	"      F2 audit, F3 profiles, F5 run the last line again, F12 zoom the pane,",
	"      F10 or ^D quit, ^C interrupts a command (a second kills it), Tab completes",
	"      Esc alone clears the help line (Alt+key still goes to the line editor)",
	"  a connection the allowlist refuses (restricted) is held and asked about on the",
	"  help line: o once, s this session, a always (the profile line is shown; y",
	"  writes it), d or Esc deny; unanswered within --ask-timeout it is refused",
	"  moat's own lines are marked \u00ab right of the pane, a command's stderr \u258c",
	"  when it is apart (:stderr apart: a pipe; the terminal otherwise)",
	NULL,
};

/* --- moat's own subcommands, their output for the pane or a view ------- */

static void	tui_job_done(struct tui *, int status);
static void	tui_on_job(struct loop *, int, uint32_t, void *);

/* Starts this moat with args (the log's --db added after args[1] when one
 * was given), its stdout and stderr on a pipe the loop reads (at most 8
 * MiB): tui_job_done shows it when it ends, in the view it was asked for
 * if that is still open. 0, or -1 with errno (one runs already: EBUSY). */
static int
tui_moat(struct tui *t, const char *const *args, int what, const char *key)
{
	char		**argv;
	size_t		 k = 0, nargs = 0;
	int		 pfd[2];
	pid_t		 pid;
	char		 cols[16];
	struct merr	 e;

	if (t->job.pid > 0) {
		tui_say(t, ROLE_WARN, "moat %s %s is still running: wait for it, or "
		    "Esc", t->job.what == JOB_PROFILE ? "profiles show" :
		    t->job.what == JOB_DIFF ? "diff" : t->job.what == JOB_APPLY ?
		    "apply" : "audit show", t->job.key);
		errno = EBUSY;
		return (-1);
	}
	while (args[nargs] != NULL)
		nargs++;
	argv = xcalloc(nargs + 4, sizeof *argv);
	argv[k++] = "moat";
	for (size_t i = 0; args[i] != NULL; i++) {
		argv[k++] = (char *)args[i];
		if (i == 0 && t->sh.db != NULL && strcmp(args[0], "profiles") != 0 &&
		    strcmp(args[0], "session") != 0) {
			argv[k++] = "--db";
			argv[k++] = (char *)t->sh.db;
		}
	}
	argv[k] = NULL;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		free(argv);
		return (-1);
	}
	snprintf(cols, sizeof cols, "%d", t->pane_w > 20 ? t->pane_w : 80);
	if ((pid = fork()) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		free(argv);
		return (-1);
	}
	if (pid == 0) {
		sigset_t	none;
		int		null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < nitems(tui_signals); i++)
			signal(tui_signals[i], SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		setenv("COLUMNS", cols, 1);
		setenv("NO_COLOR", "1", 1);
		execv(t->self, argv);
		_exit(127);
	}
	close(pfd[1]);
	free(argv);
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	memset(&t->job, 0, sizeof t->job);
	t->job.pid = pid;
	t->job.fd = pfd[0];
	t->job.what = what;
	t->job.mode = t->mode;
	snprintf(t->job.key, sizeof t->job.key, "%s", key);
	if (loop_add(t->loop, pfd[0], EPOLLIN, tui_on_job, t, &e) == -1) {
		/* Read at once instead: it blocks, but shows. */
		(void)fcntl(pfd[0], F_SETFL, 0);
		tui_on_job(t->loop, pfd[0], EPOLLIN, t);
		return (0);
	}
	tui_say(t, ROLE_DIM, "loading\u2026 (Esc in the view drops it)");
	return (0);
}

/* The subcommand's output as it comes; at its end (or 8 MiB), done. */
static void
tui_on_job(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct tui	*t = arg;
	struct tui_job	*j = &t->job;
	ssize_t		 r;
	int		 st = 0;

	(void)events;
	for (;;) {
		if (j->cap - j->n < 65536) {
			j->cap = j->cap == 0 ? 65536 : j->cap * 2;
			j->buf = xrealloc(j->buf, j->cap + 1);
		}
		r = read(fd, j->buf + j->n, j->cap - j->n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return;
		if (r <= 0 || (j->n += (size_t)r) >= 8 << 20)
			break;
	}
	loop_del(l, fd);
	close(fd);
	if (j->n >= 8 << 20)
		kill(j->pid, SIGTERM);
	while (waitpid(j->pid, &st, 0) == -1 && errno == EINTR)
		;
	j->pid = 0;
	if (j->buf == NULL)
		j->buf = xstrdup("");
	j->buf[j->n] = '\0';
	t->msg[0] = '\0';
	tui_job_done(t, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	free(j->buf);
	memset(j, 0, sizeof *j);
	tui_mark(t, DIRTY_ALL);
	if (t->run == NULL)
		tui_redraw(t);
}

/* The view it was asked from was left: its output is not wanted. */
static void
tui_job_drop(struct tui *t)
{
	struct tui_job	*j = &t->job;

	if (j->pid <= 0)
		return;
	loop_del(t->loop, j->fd);
	close(j->fd);
	kill(j->pid, SIGTERM);
	while (waitpid(j->pid, NULL, 0) == -1 && errno == EINTR)
		;
	free(j->buf);
	memset(j, 0, sizeof *j);
	t->msg[0] = '\0';
	tui_mark(t, DIRTY_HELP);
}

/* Text of moat's own, line by line into the pane. */
static void
tui_note_text(struct tui *t, int role, const char *buf)
{
	char	*copy = xstrdup(buf);

	for (char *p = copy, *nl; p != NULL && *p != '\0'; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		for (char *c = p; *c != '\0'; c++)
			if (*c == '\t')
				*c = ' ';
		pane_note(t->pane, role, "%s", p);
	}
	free(copy);
	tui_mark(t, DIRTY_PANE);
}

/* --- views ------------------------------------------------------------- */

static void
tui_view_close(struct tui *t)
{
	if (t->job.pid > 0 && t->job.what != JOB_SHOW_PANE)
		tui_job_drop(t);
	tview_clear(&t->view);
	if (t->mode == VIEW_DIFF)
		review_release(&t->rv);
	t->mode = VIEW_NONE;
	t->ask = ASK_NONE;
	tui_mark(t, DIRTY_ALL);
}

static void
tui_audit_reload(struct tui *t)
{
	struct merr	e;
	char		what[300];
	size_t		sel = t->view.sel;

	tview_clear(&t->view);
	if (taudit_load(t->sh.db, &t->af, &t->view, &e) == -1)
		tui_say(t, ROLE_BAD, "%s", e.msg);
	t->view.sel = sel;
	taudit_describe(&t->af, what, sizeof what);
	snprintf(t->view.title, sizeof t->view.title, "audit:%.200s (%zu)", what,
	    t->view.n);
	tui_mark(t, DIRTY_ALL);
}

static void
tui_audit_open(struct tui *t, const char *text)
{
	if (t->mode != VIEW_NONE)
		tui_view_close(t);
	memset(&t->af, 0, sizeof t->af);
	if (text != NULL)
		snprintf(t->af.text, sizeof t->af.text, "%s", text);
	t->mode = VIEW_AUDIT;
	snprintf(t->view.help, sizeof t->view.help, "Enter details  / command  "
	    "s status  r risk  p profile  c clear  Esc/q close");
	tui_audit_reload(t);
}

/* A run's details, paged over the list (or in the pane). */
static void
tui_show(struct tui *t, const char *id, bool in_view)
{
	const char	*args[] = { "audit", "show", id, NULL };

	if (tui_moat(t, args, in_view ? JOB_SHOW_VIEW : JOB_SHOW_PANE, id) == -1 &&
	    errno != EBUSY)
		tui_say(t, ROLE_BAD, "moat audit show could not run: %s", strerror(errno));
}

struct tui_prof {
	char	*name, *path;
	size_t	 dir;
};

static int
tui_prof_cmp(const void *a, const void *b)
{
	const struct tui_prof	*x = a, *y = b;
	int			 c = strcmp(x->name, y->name);

	return (c != 0 ? c : x->dir < y->dir ? -1 : x->dir > y->dir);
}

/* The profiles on the search path, the first of a name only. */
static void
tui_profiles_open(struct tui *t)
{
	const char	*dirs[16];
	char		 buf[16 * 256];
	struct tui_prof	*f = NULL;
	size_t		 n, nf = 0;

	if (t->mode != VIEW_NONE)
		tui_view_close(t);
	n = profile_dirs(dirs, nitems(dirs), buf, sizeof buf);
	for (size_t i = 0; i < n; i++) {
		DIR		*d;
		struct dirent	*de;

		if ((d = opendir(dirs[i])) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			size_t	l = strlen(de->d_name);
			char	*name;

			if (l <= 5 || strcmp(de->d_name + l - 5, ".conf") != 0)
				continue;
			if (!profile_name_valid(name = xstrndup(de->d_name, l - 5))) {
				free(name);
				continue;
			}
			f = xreallocarray(f, nf + 1, sizeof *f);
			f[nf].name = name;
			f[nf].path = xprintf("%s/%s", dirs[i], de->d_name);
			f[nf++].dir = i;
		}
		closedir(d);
	}
	if (nf > 0)
		qsort(f, nf, sizeof *f, tui_prof_cmp);
	for (size_t i = 0; i < nf; i++) {
		struct merr	 e;
		struct profile	*p;

		if (i > 0 && strcmp(f[i].name, f[i - 1].name) == 0)
			continue;
		if ((p = profile_load_file(f[i].path, &e)) == NULL)
			tview_add(&t->view, f[i].name, ROLE_BAD, -1, "%-16s %-7s (broken: %s)",
			    f[i].name, f[i].dir == 0 ? "user" : "shipped", e.msg);
		else {
			tview_add(&t->view, f[i].name, strcmp(f[i].name,
			    t->sh.profile_arg) == 0 ? ROLE_TITLE : ROLE_N, -1,
			    "%-16s %-7s %s", f[i].name, f[i].dir == 0 ? "user" : "shipped",
			    p->description != NULL ? p->description : "");
			if (strcmp(f[i].name, t->sh.profile_arg) == 0)
				t->view.sel = t->view.n - 1;
			profile_free(p);
		}
	}
	for (size_t i = 0; i < nf; i++) {
		free(f[i].name);
		free(f[i].path);
	}
	free(f);
	t->mode = VIEW_PROFILES;
	snprintf(t->view.title, sizeof t->view.title, "profiles (this session: %s)",
	    t->sh.profile_arg);
	snprintf(t->view.help, sizeof t->view.help, "Enter a new session with it  "
	    "s show  / find  Esc/q close");
	tui_mark(t, DIRTY_ALL);
}

static void
tui_sessions_open(struct tui *t)
{
	struct session_info	*v = NULL;
	struct merr		 e;
	size_t			 n = 0;

	if (t->mode != VIEW_NONE)
		tui_view_close(t);
	if (session_list(&v, &n, &e) == -1) {
		tui_say(t, ROLE_BAD, "sessions: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool	ours = strcmp(v[i].id, t->sh.id) == 0;

		tview_add(&t->view, v[i].id, ours ? ROLE_TITLE : ROLE_N, -1,
		    "%-11s %-12s %-12s %-7s %-7s %3u cmds  %s%s", v[i].id,
		    v[i].name[0] != '\0' ? v[i].name : "-", v[i].profile, v[i].net,
		    v[i].state, v[i].commands, v[i].workspace[0] != '\0' ?
		    v[i].workspace : "(no workspace)", ours ? "  (this shell's)" : "");
	}
	free(v);
	t->mode = VIEW_SESSIONS;
	snprintf(t->view.title, sizeof t->view.title, "sessions (%zu)", n);
	snprintf(t->view.help, sizeof t->view.help, "Enter attach this shell to it  "
	    "Esc/q close");
	tui_mark(t, DIRTY_ALL);
}

static void
tui_diff_fill(struct tui *t)
{
	size_t	sel = t->view.sel;

	tview_clear(&t->view);
	for (size_t i = 0; i < t->rv.n; i++) {
		const struct review_change *c = &t->rv.v[i];
		mode_t	m = c->new_mode != 0 ? c->new_mode : c->old_mode;

		tview_add(&t->view, c->path, c->protected ? ROLE_DIM :
		    c->kind == REVIEW_ADDED ? ROLE_OK : c->kind == REVIEW_DELETED ?
		    ROLE_BAD : ROLE_WARN, c->protected ? -1 : 1, "%-8s %s%s%s%s%s",
		    review_kind_name(c->kind), c->path, S_ISDIR(m) ? "/" : "",
		    c->target != NULL ? " -> " : "", c->target != NULL ? c->target : "",
		    c->protected ? "  (protected: never applied)" : "");
	}
	t->view.sel = sel;
	snprintf(t->view.title, sizeof t->view.title, "changes of session %s in %s "
	    "(%zu)", t->sh.id, t->rv.ws != NULL ? t->rv.ws : "", t->rv.n);
}

/* :diff: the session's overlay layer as it is now, one change a line. */
static void
tui_diff_open(struct tui *t)
{
	struct session_info	info;
	struct merr		e;
	int			fd;

	if (t->mode != VIEW_NONE)
		tui_view_close(t);
	if (t->sh.profile->workspace != WS_OVERLAY) {
		pane_note(t->pane, ROLE_BAD, "moat: :diff: this session's workspace is "
		    "%s, not overlay: what its commands change is %s already; start "
		    "one with a profile that says workspace = overlay (:profile NAME)",
		    profile_ws_mode_name(t->sh.profile->workspace),
		    t->sh.profile->workspace == WS_BIND ? "in the workspace" :
		    "nowhere to review");
		tui_mark(t, DIRTY_PANE);
		return;
	}
	if ((fd = session_connect(t->sh.id, &info, &e)) == -1) {
		pane_note(t->pane, ROLE_BAD, "moat: :diff: %s", e.msg);
		tui_mark(t, DIRTY_PANE);
		return;
	}
	close(fd);
	memset(&t->rv, 0, sizeof t->rv);
	if (review_load(&t->rv, info.run_id, info.workspace, &t->sh.profile->protect,
	    &e) == -1) {
		pane_note(t->pane, ROLE_BAD, "moat: :diff: %s", e.msg);
		review_release(&t->rv);
		tui_mark(t, DIRTY_PANE);
		return;
	}
	t->rv_since = info.created;
	t->mode = VIEW_DIFF;
	tui_diff_fill(t);
	snprintf(t->view.help, sizeof t->view.help, "Space/y/n mark  a all  "
	    "d diff  Enter apply marked  Esc/q close");
	tui_mark(t, DIRTY_ALL);
}

static void
tui_diff_show(struct tui *t)
{
	struct tview_item	*it = tview_selected(&t->view);
	const char		*args[] = { "diff", t->sh.id, NULL, NULL };

	if (it == NULL)
		return;
	args[2] = it->key;
	if (tui_moat(t, args, JOB_DIFF, it->key) == -1 && errno != EBUSY)
		tui_say(t, ROLE_BAD, "moat diff could not run: %s", strerror(errno));
}

/* Applies the marked changes as moat apply SESSION PATH... does (its
 * checks: nothing written on a conflict, never a protected path; its row
 * in the audit log), and pages its answer over the list, which is read
 * again. */
static void
tui_diff_apply(struct tui *t)
{
	struct strv		 args = { 0 };

	strv_add(&args, "apply");
	strv_add(&args, t->sh.id);
	for (size_t i = 0; i < t->view.n; i++)
		if (t->view.v[i].mark == 1)
			strv_add(&args, t->view.v[i].key);
	if (args.n == 2) {
		tui_say(t, ROLE_WARN, "nothing is marked: Space or y marks a change");
		strv_clear(&args);
		return;
	}
	if (tui_moat(t, (const char *const *)args.v, JOB_APPLY, t->sh.id) == -1 &&
	    errno != EBUSY)
		tui_say(t, ROLE_BAD, "moat apply could not run: %s", strerror(errno));
	strv_clear(&args);
}

/* What moat apply said: over the list, which is read again. */
static void
tui_diff_applied(struct tui *t, int st)
{
	struct session_info	 info;
	struct merr		 e;
	int			 fd;

	review_release(&t->rv);
	memset(&t->rv, 0, sizeof t->rv);
	if ((fd = session_connect(t->sh.id, &info, &e)) >= 0) {
		close(fd);
		(void)review_load(&t->rv, info.run_id, info.workspace,
		    &t->sh.profile->protect, &e);
	}
	tui_diff_fill(t);
	tview_text(&t->view, st == 0 ? "applied" : "not applied", t->job.buf,
	    t->job.n);
}

static void
tui_job_done(struct tui *t, int st)
{
	struct tui_job	*j = &t->job;
	char		 title[600];

	if (j->what == JOB_SHOW_PANE) {
		tui_note_text(t, st == 0 ? ROLE_N : ROLE_BAD, j->buf);
		return;
	}
	/* A view's page: only in the view it was asked from. */
	if ((int)t->mode != j->mode || t->mode == VIEW_NONE)
		return;
	switch (j->what) {
	case JOB_SHOW_VIEW:
		snprintf(title, sizeof title, "run %s", j->key);
		break;
	case JOB_PROFILE:
		snprintf(title, sizeof title, "profile %s", j->key);
		break;
	case JOB_DIFF:
		snprintf(title, sizeof title, "diff of %s", j->key);
		break;
	case JOB_APPLY:
		tui_diff_applied(t, st);
		return;
	default:
		return;
	}
	tview_text(&t->view, title, j->buf, j->n);
}

/* --- commands of moat's own (":cmd") ------------------------------------ */

static void
tui_switched(struct tui *t, const char *what)
{
	pane_note(t->pane, ROLE_OK, "%s: session %s, profile %s", what, t->sh.id,
	    t->sh.profile_arg);
	tui_set_prompt(t);
	tui_mark(t, DIRTY_ALL);
}

/* Lines for moat itself (":cmd"): 1 when handled. */
static int
tui_colon(struct tui *t, const char *line)
{
	struct merr	 e;
	const char	*arg;
	char		 cmd[32];
	size_t		 k = 0;

	if (line[0] != ':')
		return (0);
	for (line++; *line != '\0' && *line != ' ' && k + 1 < sizeof cmd; line++)
		cmd[k++] = *line;
	cmd[k] = '\0';
	for (arg = line; *arg == ' '; arg++)
		;
	/* The line as typed, in the pane; not a search's (it would find
	 * itself). */
	if (strcmp(cmd, "find") != 0)
		pane_note(t->pane, ROLE_TITLE, "\u25b6 :%s%s%s", cmd, *arg ? " " : "",
		    arg);
	if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "q") == 0) {
		t->quit = true;
	} else if (strcmp(cmd, "help") == 0) {
		for (size_t i = 0; tui_help[i] != NULL; i++)
			pane_note(t->pane, ROLE_DIM, "%s", tui_help[i]);
	} else if (strcmp(cmd, "profile") == 0 && *arg != '\0') {
		if (tshell_switch(&t->sh, arg, &e) == -1)
			pane_note(t->pane, ROLE_BAD, "moat: %s", e.msg);
		else
			tui_switched(t, "a new session");
	} else if (strcmp(cmd, "profiles") == 0 && *arg == '\0') {
		tui_profiles_open(t);
	} else if (strcmp(cmd, "new") == 0) {
		const char	*p = t->sh.profile_arg;
		char		*copy;

		if (strncmp(arg, "-p ", 3) == 0) {
			for (p = arg + 3; *p == ' '; p++)
				;
		} else if (*arg != '\0') {
			pane_note(t->pane, ROLE_BAD, "moat: :new takes -p PROFILE or "
			    "nothing, not \"%s\"", arg);
			return (1);
		}
		copy = xstrdup(p);
		if (tshell_switch(&t->sh, copy, &e) == -1)
			pane_note(t->pane, ROLE_BAD, "moat: :new: %s", e.msg);
		else
			tui_switched(t, "a fresh session");
		free(copy);
	} else if (strcmp(cmd, "sessions") == 0 && *arg == '\0') {
		tui_sessions_open(t);
	} else if (strcmp(cmd, "attach") == 0 && *arg != '\0') {
		if (tshell_attach(&t->sh, arg, &e) == -1)
			pane_note(t->pane, ROLE_BAD, "moat: :attach: %s", e.msg);
		else
			tui_switched(t, "attached");
	} else if (strcmp(cmd, "audit") == 0) {
		tui_audit_open(t, *arg != '\0' ? arg : NULL);
	} else if (strcmp(cmd, "show") == 0 && *arg != '\0' && strchr(arg, ' ') == NULL) {
		tui_show(t, arg, false);
	} else if (strcmp(cmd, "diff") == 0 && *arg == '\0') {
		tui_diff_open(t);
	} else if (strcmp(cmd, "find") == 0 && *arg != '\0') {
		snprintf(t->find, sizeof t->find, "%s", arg);
		pane_scroll(t->pane, PANE_END);
		if (!pane_find(t->pane, t->find, 1))
			tui_say(t, ROLE_WARN, "\"%s\" is not in the scrollback", t->find);
	} else if (strcmp(cmd, "stderr") == 0 && (strcmp(arg, "apart") == 0 ||
	    strcmp(arg, "terminal") == 0)) {
		t->stderr_apart = arg[0] == 'a';
		pane_note(t->pane, ROLE_DIM, t->stderr_apart ? "stderr apart: a "
		    "command's stderr is a pipe, its lines marked \u258c in the margin "
		    "(a program that asks whether stderr is a terminal is told no)" :
		    "stderr on the terminal, with stdout: a program sees a terminal "
		    "on both, and its lines are not told apart");
	} else {
		pane_note(t->pane, ROLE_BAD, "moat: unknown command \":%s%s%s\"; :help "
		    "lists them", cmd, *arg ? " " : "", arg);
	}
	tui_mark(t, DIRTY_ALL);
	return (1);
}

static void
tui_line(struct tui *t, char *line)
{
	char	*msg, *s = str_trim(line);
	bool	 err;

	t->msg[0] = '\0';
	if (*s == '\0')
		return;
	tui_history_add(t, s);
	if (tui_colon(t, s))
		goto out;
	free(t->last);
	t->last = xstrdup(s);
	if (tshell_builtin(&t->sh, s, &msg, &err)) {
		pane_note(t->pane, ROLE_TITLE, "\u25b6 %s", s);
		if (msg != NULL) {
			for (char *p = msg, *nl; p != NULL && *p != '\0'; p = nl) {
				if ((nl = strchr(p, '\n')) != NULL)
					*nl++ = '\0';
				pane_note(t->pane, err ? ROLE_BAD : ROLE_DIM, "%s", p);
			}
			free(msg);
		}
		tui_set_prompt(t);
		goto out;
	}
	tui_exec(t, s);
out:
	tui_mark(t, DIRTY_ALL);
}

/* --- keys -------------------------------------------------------------- */

static void
tui_zoom(struct tui *t)
{
	t->zoom = !t->zoom;
	tui_layout(t);
	clear();
	tui_mark(t, DIRTY_ALL);
}

/* An answer typed on the help line is done: act on it. */
static void
tui_answered(struct tui *t, int how)
{
	int	ask = t->ask;

	t->ask = ASK_NONE;
	tui_mark(t, DIRTY_ALL);
	if (how != '\r')
		return;		/* Esc: nothing */
	switch (ask) {
	case ASK_FIND:
		if (t->answer[0] != '\0')
			snprintf(t->find, sizeof t->find, "%s", t->answer);
		if (!pane_find(t->pane, t->find, 1))
			tui_say(t, ROLE_WARN, "\"%s\": no older line has it", t->find);
		break;
	case ASK_VIEW_FIND:
		if (t->answer[0] != '\0')
			snprintf(t->find, sizeof t->find, "%s", t->answer);
		if (!tview_find(&t->view, t->find))
			tui_say(t, ROLE_WARN, "\"%s\" is not here", t->find);
		break;
	case ASK_AUDIT_TEXT:
		snprintf(t->af.text, sizeof t->af.text, "%s", t->answer);
		t->view.sel = 0;
		tui_audit_reload(t);
		break;
	case ASK_AUDIT_PROFILE:
		snprintf(t->af.profile, sizeof t->af.profile, "%s", t->answer);
		t->view.sel = 0;
		tui_audit_reload(t);
		break;
	case ASK_AUDIT_RISK: {
		unsigned long long	n;

		if (t->answer[0] == '\0')
			n = 0;
		else if (parse_uint(t->answer, 100, &n) == -1) {
			tui_say(t, ROLE_BAD, "risk \"%s\": a number from 0 to 100",
			    t->answer);
			break;
		}
		t->af.min_risk = (int)n;
		t->view.sel = 0;
		tui_audit_reload(t);
		break;
	}
	}
}

static void
tui_ask(struct tui *t, int what)
{
	t->ask = what;
	t->answer[0] = '\0';
	t->answer_len = 0;
	t->msg[0] = '\0';
	tui_mark(t, DIRTY_HELP);
}

static void
tui_key_ask(struct tui *t, int c)
{
	if (c == '\r' || c == '\n' || c == KEY_ENTER || c == 27 || c == 3 || c == 7) {
		tui_answered(t, c == 27 || c == 3 || c == 7 ? 27 : '\r');
		return;
	}
	if (c == KEY_BACKSPACE || c == 127 || c == 8) {
		while (t->answer_len > 0 &&
		    ((unsigned char)t->answer[--t->answer_len] & 0xc0) == 0x80)
			;
		t->answer[t->answer_len] = '\0';
	} else if (c == 21) {
		t->answer_len = 0;
		t->answer[0] = '\0';
	} else if (c >= 0x20 && c < 256 && c != 0x7f &&
	    t->answer_len + 1 < sizeof t->answer) {
		t->answer[t->answer_len++] = (char)c;
		t->answer[t->answer_len] = '\0';
	}
	tui_mark(t, DIRTY_HELP);
}

/* A key over a view. */
static void
tui_key_view(struct tui *t, int c)
{
	struct tview_item	*it;
	struct merr		 e;

	if (tview_key(&t->view, c, t->pane_h)) {
		tui_mark(t, DIRTY_PANE);
		return;
	}
	if (tview_in_text(&t->view)) {
		if (c == 27 || c == 'q' || c == KEY_F(2) || c == KEY_F(3))
			tview_text_close(&t->view);
		else if (c == '/')
			tui_ask(t, ASK_VIEW_FIND);
		else if (c == 'n' && !tview_find(&t->view, t->find))
			tui_say(t, ROLE_WARN, "\"%s\" is not here", t->find);
		tui_mark(t, DIRTY_ALL);
		return;
	}
	it = tview_selected(&t->view);
	if (c == 27 || c == 'q' || (c == KEY_F(2) && t->mode == VIEW_AUDIT) ||
	    (c == KEY_F(3) && t->mode == VIEW_PROFILES)) {
		tui_view_close(t);
		return;
	}
	if (c == KEY_F(2)) {
		tui_audit_open(t, NULL);
		return;
	}
	if (c == KEY_F(3)) {
		tui_profiles_open(t);
		return;
	}
	if (c == '/' && t->mode != VIEW_AUDIT) {
		tui_ask(t, ASK_VIEW_FIND);
		return;
	}
	switch (t->mode) {
	case VIEW_AUDIT:
		if ((c == '\r' || c == KEY_ENTER) && it != NULL)
			tui_show(t, it->key, true);
		else if (c == '/')
			tui_ask(t, ASK_AUDIT_TEXT);
		else if (c == 'p')
			tui_ask(t, ASK_AUDIT_PROFILE);
		else if (c == 'r')
			tui_ask(t, ASK_AUDIT_RISK);
		else if (c == 's') {
			snprintf(t->af.status, sizeof t->af.status, "%s",
			    taudit_next_status(t->af.status));
			t->view.sel = 0;
			tui_audit_reload(t);
		} else if (c == 'c') {
			memset(&t->af, 0, sizeof t->af);
			tui_audit_reload(t);
		}
		break;
	case VIEW_PROFILES:
		if ((c == '\r' || c == KEY_ENTER) && it != NULL) {
			char	*name = xstrdup(it->key);

			tui_view_close(t);
			pane_note(t->pane, ROLE_TITLE, "\u25b6 :profile %s", name);
			if (tshell_switch(&t->sh, name, &e) == -1)
				pane_note(t->pane, ROLE_BAD, "moat: %s", e.msg);
			else
				tui_switched(t, "a new session");
			free(name);
		} else if (c == 's' && it != NULL) {
			const char	*args[] = { "profiles", "show", it->key, NULL };

			if (tui_moat(t, args, JOB_PROFILE, it->key) == -1 &&
			    errno != EBUSY)
				tui_say(t, ROLE_BAD, "moat profiles show could not "
				    "run: %s", strerror(errno));
		}
		break;
	case VIEW_SESSIONS:
		if ((c == '\r' || c == KEY_ENTER) && it != NULL) {
			char	*id = xstrdup(it->key);

			tui_view_close(t);
			pane_note(t->pane, ROLE_TITLE, "\u25b6 :attach %s", id);
			if (strcmp(id, t->sh.id) == 0)
				pane_note(t->pane, ROLE_DIM, "this shell is in session %s "
				    "already", id);
			else if (tshell_attach(&t->sh, id, &e) == -1)
				pane_note(t->pane, ROLE_BAD, "moat: :attach: %s", e.msg);
			else
				tui_switched(t, "attached");
			free(id);
		}
		break;
	case VIEW_DIFF:
		if (it == NULL)
			break;
		if ((c == ' ' || c == 'y' || c == 'n') && it->mark >= 0) {
			it->mark = c == ' ' ? !it->mark : c == 'y';
			tview_key(&t->view, KEY_DOWN, t->pane_h);
		} else if (c == 'a') {
			bool	all = true;

			for (size_t i = 0; i < t->view.n; i++)
				if (t->view.v[i].mark == 0)
					all = false;
			for (size_t i = 0; i < t->view.n; i++)
				if (t->view.v[i].mark >= 0)
					t->view.v[i].mark = !all;
		} else if (c == 'd')
			tui_diff_show(t);
		else if (c == '\r' || c == KEY_ENTER)
			tui_diff_apply(t);
		break;
	default:
		break;
	}
	tui_mark(t, DIRTY_ALL);
}

/* The pane scrolled back (not a full-screen program's): PgUp/PgDn,
 * Up/Down, Home, End, a search. 1 when the key was one of these. */
static int
tui_key_scroll(struct tui *t, int c)
{
	int	page = t->pane_h > 1 ? t->pane_h - 1 : 1;

	if (pane_altscreen(t->pane))
		return (0);
	if (c == KEY_PPAGE || c == KEY_SHOME) {
		t->msg[0] = '\0';	/* the help line: the scrollback's keys */
		pane_scroll(t->pane, c == KEY_SHOME ? 1000000 : page);
		tui_mark(t, DIRTY_PANE | DIRTY_HELP);
		return (1);
	}
	if (pane_scrolled(t->pane) == 0)
		return (0);
	switch (c) {
	case KEY_NPAGE:
		pane_scroll(t->pane, -page);
		break;
	case KEY_UP:
		pane_scroll(t->pane, 1);
		break;
	case KEY_DOWN:
		pane_scroll(t->pane, -1);
		break;
	case KEY_HOME:
		pane_scroll(t->pane, 1000000);
		break;
	case KEY_END:
	case KEY_SEND:
	case 27:
	case 'q':
		pane_scroll(t->pane, PANE_END);
		break;
	case '/':
		tui_ask(t, ASK_FIND);
		break;
	case 'n':
	case 'N':
		if (!pane_find(t->pane, t->find, c == 'n' ? 1 : -1))
			tui_say(t, ROLE_WARN, "\"%s\": no %s line has it", t->find,
			    c == 'n' ? "older" : "newer");
		break;
	default:
		return (0);
	}
	tui_mark(t, DIRTY_PANE | DIRTY_HELP);
	return (1);
}

/* A key while a command runs: to the command, but for ^C, zoom and
 * scrolling. */
static void
tui_key_run(struct tui *t, int c)
{
	if (c == 3) {
		double	now = now_mono();

		if (t->ctrlc_at > 0 && now - t->ctrlc_at < TUI_KILL_S) {
			run_signal(t->run, SIGKILL);
			tui_say(t, ROLE_BAD, "killed");
			return;
		}
		t->ctrlc_at = now;
		/* A full-screen program reads ^C as a key (its terminal is
		 * raw); anything else gets SIGINT in its process group, even
		 * before it has its terminal (init resets the dispositions it
		 * gave the command's process before it execs). */
		if (pane_altscreen(t->pane))
			(void)run_pty_write(t->run, "\003", 1);
		else
			run_signal(t->run, SIGINT);
		tui_say(t, ROLE_WARN, "^C sent; ^C again within %.0f s kills the command",
		    TUI_KILL_S);
		return;
	}
	if (c == KEY_F(12)) {
		tui_zoom(t);
		return;
	}
	if (tui_key_scroll(t, c))
		return;
	if (pane_scrolled(t->pane) > 0) {
		pane_scroll(t->pane, PANE_END);
		tui_mark(t, DIRTY_PANE | DIRTY_HELP);
	}
	if (c >= 0 && c < 256)
		pane_key(t->pane, c, true);
	else
		pane_key(t->pane, c, false);
}

static void
tui_key_idle(struct tui *t, int c)
{
	static const struct {
		int		 key;
		const char	*seq;
	} seqs[] = {
		{ KEY_UP, "\033[A" }, { KEY_DOWN, "\033[B" }, { KEY_RIGHT, "\033[C" },
		{ KEY_LEFT, "\033[D" }, { KEY_HOME, "\033[H" }, { KEY_END, "\033[F" },
		{ KEY_DC, "\033[3~" }, { KEY_BACKSPACE, "\177" }, { KEY_ENTER, "\r" },
	};

	if (tui_key_scroll(t, c))
		return;
	if (pane_scrolled(t->pane) > 0) {
		/* Any other key: back to the live pane, and on to the line. */
		pane_scroll(t->pane, PANE_END);
		tui_mark(t, DIRTY_PANE | DIRTY_HELP);
	}
	switch (c) {
	case KEY_F(1):
		for (size_t i = 0; tui_help[i] != NULL; i++)
			pane_note(t->pane, ROLE_DIM, "%s", tui_help[i]);
		tui_mark(t, DIRTY_PANE);
		return;
	case KEY_F(2):
		tui_audit_open(t, NULL);
		return;
	case KEY_F(3):
		tui_profiles_open(t);
		return;
	case KEY_F(5):
		if (t->last == NULL)
			tui_say(t, ROLE_WARN, "F5 runs the last command line again: "
			    "none was run yet");
		else {
			free(t->pending);
			t->pending = xstrdup(t->last);
		}
		return;
	case KEY_F(10):
		t->quit = true;
		return;
	case KEY_F(12):
		tui_zoom(t);
		return;
	default:
		break;
	}
	t->msg[0] = '\0';
	if (c == 27) {
		int	next = wgetch(stdscr);

		/* Esc alone (curses waited its escdelay for more) is not
		 * readline's Meta prefix, which would take the next key: it
		 * only clears the help line. Esc with a key right behind it is
		 * Alt+key, and goes to readline as such. */
		tui_mark(t, DIRTY_HELP);
		if (next == ERR)
			return;
		if (next < 0 || next >= 256) {
			ungetch(next);
			return;
		}
		{
			char	b[2] = { 27, (char)next };

			tui_rl_feed(t, b, 2);
		}
		return;
	}
	for (size_t i = 0; i < nitems(seqs); i++)
		if (seqs[i].key == c) {
			tui_rl_feed(t, seqs[i].seq, strlen(seqs[i].seq));
			return;
		}
	if (c >= 0 && c < 256) {
		char	b = (char)c;

		tui_rl_feed(t, &b, 1);
	}
}

/* The keys curses has: ncurses reads ahead of wgetch, so what it holds
 * is taken here until it has none (a line typed ahead of the last one
 * waits in it, and the descriptor would not say so again). */
static int
tui_keys(struct tui *t)
{
	int	c, n = 0;

	while (t->pending == NULL && !t->quit && (c = wgetch(stdscr)) != ERR) {
		n++;
		if (c == KEY_RESIZE) {
			tui_resize(t);
			continue;
		}
		if (t->na.on && t->run != NULL && tui_key_na(t, c))
			continue;
		if (t->ask != ASK_NONE)
			tui_key_ask(t, c);
		else if (t->run != NULL)
			tui_key_run(t, c);
		else if (t->mode != VIEW_NONE)
			tui_key_view(t, c);
		else
			tui_key_idle(t, c);
	}
	return (n);
}

static void
tui_on_stdin(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct tui	*t = arg;
	int		 n;

	if (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLIN)) {
		/* The terminal is gone. */
		t->quit = true;
		t->quit_status = 128 + SIGHUP;
		loop_del(l, fd);
		if (t->run != NULL)
			run_signal(t->run, SIGHUP);
		return;
	}
	n = tui_keys(t);
	if (n == 0 && t->run == NULL && t->pending == NULL) {
		/* Readable yet no key: the end of the input. */
		char	probe;

		if (read(fd, &probe, 0) == 0 && !isatty(fd))
			t->quit = true;
	}
	if (t->run == NULL)
		tui_redraw(t);
}

static void
tui_on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct tui			*t = arg;
	struct signalfd_siginfo		 si;

	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGWINCH) {
			tui_resize(t);
			continue;
		}
		t->quit = true;
		t->quit_status = 128 + (int)si.ssi_signo;
	}
	tui_redraw(t);
}

/* --- start and end ----------------------------------------------------- */

/* The screen is drawn in UTF-8: a user's locale without it (LANG unset,
 * "C") still gets the box and graph characters right. */
void
tui_locale(void)
{
	setlocale(LC_ALL, "");
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		(void)setlocale(LC_CTYPE, "C.UTF-8");
}

static int
tui_setup(struct tui *t, struct merr *e)
{
	sigset_t	mask;
	struct sigaction sa;
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

	if ((t->loop = loop_new(e)) == NULL)
		return (-1);
	sigemptyset(&mask);
	for (size_t i = 0; i < nitems(tui_signals); i++)
		sigaddset(&mask, tui_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((t->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		return (merr_errno(e, "signalfd"));
	if ((t->redraw_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC |
	    TFD_NONBLOCK)) == -1)
		return (merr_errno(e, "timerfd_create"));
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tui_fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < nitems(fatal); i++)
		sigaction(fatal[i], &sa, NULL);
	util_fatal_hook = tui_endwin;
	atexit(tui_endwin);

	if (initscr() == NULL)
		return (merr_set(e, "the terminal (TERM=%s) cannot be used full "
		    "screen; try moat shell --plain", getenv("TERM") != NULL ?
		    getenv("TERM") : ""));
	t->curses_on = true;
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	draw_init();
	tui_layout(t);
	t->pane = pane_new(t->pane_h, t->pane_w, t->o->scrollback, tui_pane_out, t);
	tui_rl_init(t);
	if (loop_add(t->loop, STDIN_FILENO, EPOLLIN, tui_on_stdin, t, e) == -1 ||
	    loop_add(t->loop, t->sigfd, EPOLLIN, tui_on_signal, t, e) == -1 ||
	    loop_add(t->loop, t->redraw_fd, EPOLLIN, tui_on_redraw, t, e) == -1)
		return (-1);
	return (0);
}

int
tui_main(const struct tui_opts *o)
{
	struct tui	 t;
	struct merr	 e;
	int		 rc = 0;

	memset(&t, 0, sizeof t);
	t.o = o;
	t.sigfd = t.redraw_fd = t.na_timer = -1;
	tui_g = &t;
	tui_locale();
	{
		ssize_t	n = readlink("/proc/self/exe", t.self, sizeof t.self - 1);

		t.self[n > 0 ? n : 0] = '\0';
	}
	if (o->db != NULL)
		snprintf(t.db, sizeof t.db, "%s", o->db);
	else
		audit_default_path(t.db, sizeof t.db);
	/* The session first, on the plain terminal: its errors are read
	 * as any moat error. */
	if (tshell_open(&t.sh, o->profile, o->workspace, &e) == -1) {
		merr_print(&e);
		tui_g = NULL;
		return (EXIT_MOAT);
	}
	t.sh.db = o->db;
	t.sh.unlogged = o->unlogged;
	if (tui_setup(&t, &e) == -1) {
		tui_endwin();
		merr_print(&e);
		rc = EXIT_MOAT;
		goto out;
	}
	snprintf(t.title, sizeof t.title, "session %s", t.sh.id);
	pane_note(t.pane, ROLE_DIM, "moat shell: session %s, profile %s. :help for "
	    "help, F10 or ^D to leave.", t.sh.id, t.sh.profile_arg);
	tui_refresh_runs(&t);
	t.title[0] = '\0';
	tui_mark(&t, DIRTY_ALL);
	tui_redraw(&t);
	while (!t.quit) {
		if (loop_once(t.loop, -1, &e) == -1) {
			tui_endwin();
			merr_print(&e);
			rc = EXIT_MOAT;
			break;
		}
		while (t.pending != NULL && !t.quit) {
			char	*line = TAKE_PTR(t.pending);

			tui_line(&t, line);
			free(line);
			tui_redraw(&t);
			/* What was typed ahead of it. */
			tui_keys(&t);
			tui_redraw(&t);
		}
	}
	if (t.quit_status != 0)
		rc = t.quit_status;
out:
	rl_callback_handler_remove();
	tui_endwin();
	tui_g = NULL;
	if (t.rl_null != NULL)
		fclose(t.rl_null);
	if (t.mode != VIEW_NONE)
		tui_view_close(&t);
	free(t.last);
	pane_free(t.pane);
	tshell_close(&t.sh);
	if (t.redraw_fd >= 0)
		close(t.redraw_fd);
	if (t.sigfd >= 0)
		close(t.sigfd);
	loop_free(t.loop);
	free(t.pending);
	return (rc);
}
