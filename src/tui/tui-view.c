/* tui-view.c: a list or a text shown in the output pane's place, with a
 * selection, a page, and a search. Front end (TUI), in the supervisor's
 * process. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "tui-draw.h"
#include "tui-view.h"

void
tview_text_close(struct tview *v)
{
	for (size_t i = 0; i < v->nlines; i++)
		free(v->lines[i]);
	free(v->lines);
	v->lines = NULL;
	v->nlines = v->ltop = 0;
}

void
tview_clear(struct tview *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].text);
		free(v->v[i].key);
	}
	free(v->v);
	v->v = NULL;
	v->n = v->cap = v->sel = v->top = 0;
	tview_text_close(v);
}

void
tview_add(struct tview *v, const char *key, int role, int mark, const char *fmt, ...)
{
	va_list			 ap;
	struct tview_item	*it;

	if (v->n == v->cap) {
		v->cap = v->cap == 0 ? 64 : v->cap * 2;
		v->v = xreallocarray(v->v, v->cap, sizeof *v->v);
	}
	it = &v->v[v->n++];
	va_start(ap, fmt);
	if (vasprintf(&it->text, fmt, ap) == -1)
		it->text = xstrdup("");
	va_end(ap);
	it->key = key != NULL ? xstrdup(key) : NULL;
	it->role = role;
	it->mark = mark;
}

void
tview_text(struct tview *v, const char *title, const char *buf, size_t n)
{
	size_t	i = 0;

	tview_text_close(v);
	snprintf(v->text_title, sizeof v->text_title, "%s", title);
	while (i < n) {
		const char	*nl = memchr(buf + i, '\n', n - i);
		size_t		 len = nl != NULL ? (size_t)(nl - (buf + i)) : n - i;
		char		*line = xmalloc(len * 8 + 1);
		size_t		 k = 0;

		for (size_t j = 0; j < len; j++) {
			char	c = buf[i + j];

			if (c == '\r')
				continue;
			if (c == '\t') {
				do
					line[k++] = ' ';
				while (k % 8 != 0);
				continue;
			}
			line[k++] = c;
		}
		line[k] = '\0';
		v->lines = xreallocarray(v->lines, v->nlines + 1, sizeof *v->lines);
		v->lines[v->nlines++] = line;
		i += len + 1;
	}
	if (v->lines == NULL) {
		v->lines = xreallocarray(NULL, 1, sizeof *v->lines);
		v->lines[v->nlines++] = xstrdup("");
	}
}

bool
tview_in_text(const struct tview *v)
{
	return (v->lines != NULL);
}

struct tview_item *
tview_selected(struct tview *v)
{
	return (v->n > 0 && v->sel < v->n ? &v->v[v->sel] : NULL);
}

static void
tview_move(size_t *pos, size_t n, long by)
{
	long	p = (long)*pos + by;

	if (p >= (long)n)
		p = (long)n - 1;
	if (p < 0)
		p = 0;
	*pos = (size_t)p;
}

int
tview_key(struct tview *v, int key, int rows)
{
	bool	text = v->lines != NULL;
	size_t	*pos = text ? &v->ltop : &v->sel;
	size_t	 n = text ? v->nlines : v->n;
	long	 page = rows > 2 ? rows - 2 : 1;

	switch (key) {
	case KEY_UP:
		tview_move(pos, n, -1);
		return (1);
	case KEY_DOWN:
		tview_move(pos, n, 1);
		return (1);
	case KEY_PPAGE:
		tview_move(pos, n, -page);
		return (1);
	case KEY_NPAGE:
		tview_move(pos, n, page);
		return (1);
	case KEY_HOME:
	case KEY_SHOME:
		*pos = 0;
		return (1);
	case KEY_END:
	case KEY_SEND:
		tview_move(pos, n, (long)n);
		if (text && n > (size_t)page)
			*pos = n - (size_t)page;
		return (1);
	}
	return (0);
}

int
tview_find(struct tview *v, const char *needle)
{
	if (needle == NULL || *needle == '\0')
		return (0);
	if (v->lines != NULL) {
		for (size_t i = 1; i <= v->nlines; i++) {
			size_t	k = (v->ltop + i) % v->nlines;

			if (strcasestr(v->lines[k], needle) != NULL) {
				v->ltop = k;
				return (1);
			}
		}
		return (0);
	}
	/* An item's own name first (a profile, a session), then any text. */
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].key != NULL && strcmp(v->v[i].key, needle) == 0) {
			v->sel = i;
			return (1);
		}
	for (size_t i = 1; i <= v->n; i++) {
		size_t	k = (v->sel + i) % v->n;

		if (strcasestr(v->v[k].text, needle) != NULL) {
			v->sel = k;
			return (1);
		}
	}
	return (0);
}

void
tview_draw(struct tview *v, WINDOW *w, int y, int x, int h, int width)
{
	if (v->lines != NULL) {
		if (v->ltop >= v->nlines)
			v->ltop = v->nlines > 0 ? v->nlines - 1 : 0;
		for (int i = 0; i < h; i++) {
			size_t	k = v->ltop + (size_t)i;
			int	role = ROLE_N;

			wmove(w, y + i, x);
			if (k < v->nlines) {
				const char	*l = v->lines[k];

				/* A diff's lines in its colours. */
				if (l[0] == '+' && strncmp(l, "+++", 3) != 0)
					role = ROLE_OK;
				else if (l[0] == '-' && strncmp(l, "---", 3) != 0)
					role = ROLE_BAD;
				else if (l[0] == '@' && l[1] == '@')
					role = ROLE_TITLE;
				if (role != ROLE_N)
					draw_set_role(w, role);
				draw_str(w, l, width);
				wattr_set(w, A_NORMAL, 0, NULL);
			}
			draw_fill(w, x + width);
		}
		return;
	}
	if (v->sel >= v->n)
		v->sel = v->n > 0 ? v->n - 1 : 0;
	if (v->sel < v->top)
		v->top = v->sel;
	if (h > 0 && v->sel >= v->top + (size_t)h)
		v->top = v->sel - (size_t)h + 1;
	for (int i = 0; i < h; i++) {
		size_t	k = v->top + (size_t)i;

		wmove(w, y + i, x);
		if (k < v->n) {
			const struct tview_item *it = &v->v[k];
			int	used = 0;

			if (k == v->sel)
				wattr_set(w, A_REVERSE, 0, NULL);
			if (it->mark >= 0)
				used += draw_str(w, it->mark ? "[x] " : "[ ] ", width);
			if (k != v->sel && it->role != ROLE_N)
				draw_set_role(w, it->role);
			used += draw_str(w, it->text, width - used);
			if (k == v->sel)
				draw_fill(w, x + width);
			wattr_set(w, A_NORMAL, 0, NULL);
		} else if (k == 0 && v->n == 0) {
			draw_set_role(w, ROLE_DIM);
			draw_str(w, "(nothing here)", width);
			wattr_set(w, A_NORMAL, 0, NULL);
		}
		draw_fill(w, x + width);
	}
}
