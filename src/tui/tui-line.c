/* tui-line.c: how the shell's built-ins read a line: words with the
 * shell's quoting, or "this is for the shell" when it has anything a shell
 * would act on; a directory resolved as cd does, without the filesystem;
 * and a command line as the audit log quoted it, read back for the recent
 * runs. Pure; any process. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "tui-line.h"

int
tline_words(const char *s, struct strv *words)
{
	char	*w = xmalloc(strlen(s) + 1);
	size_t	 n = 0;
	bool	 in = false;

	for (;;) {
		char	c = *s++;

		if (c == '\0' || c == ' ' || c == '\t' || c == '\n') {
			if (in) {
				w[n] = '\0';
				strv_add(words, w);
				n = 0;
				in = false;
			}
			if (c == '\0')
				break;
			continue;
		}
		in = true;
		switch (c) {
		case '\'':
			while (*s != '\0' && *s != '\'')
				w[n++] = *s++;
			if (*s++ != '\'')
				goto shell;
			break;
		case '"':
			while (*s != '\0' && *s != '"') {
				if (*s == '$' || *s == '`')
					goto shell;
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				w[n++] = *s++;
			}
			if (*s++ != '"')
				goto shell;
			break;
		case '\\':
			if (*s == '\0')
				goto shell;
			w[n++] = *s++;
			break;
		case ';': case '&': case '|': case '<': case '>': case '$':
		case '`': case '(': case ')': case '*': case '?': case '[':
		case '#': case '~':
			/* ~ only at a word's start means home; cd reads it
			 * itself, so a leading one is let through. */
			if (c == '~' && n == 0) {
				w[n++] = c;
				break;
			}
			goto shell;
		default:
			w[n++] = c;
		}
	}
	free(w);
	return (0);
shell:
	free(w);
	strv_clear(words);
	return (-1);
}

char *
tline_path(const char *cwd, const char *dir)
{
	char	*full = dir[0] == '/' ? xstrdup(dir) : path_join(cwd, dir);
	char	*out = xmalloc(strlen(full) + 2);
	size_t	 n = 0;
	char	*save = NULL;

	for (char *c = strtok_r(full, "/", &save); c != NULL;
	    c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, c, strlen(c));
		n += strlen(c);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(full);
	return (out);
}

/* One \uXXXX of a JSON string, as UTF-8 (a surrogate half: '?'). */
static size_t
tline_utf8(char *out, unsigned cp)
{
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = '?';
	if (cp < 0x80) {
		out[0] = (char)cp;
		return (1);
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return (2);
	}
	out[0] = (char)(0xe0 | cp >> 12);
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return (3);
}

void
tline_unquote(char *out, size_t n, const char *s)
{
	size_t	k = 0;
	char	u[4];

	/* As audit_argv_line wrote it: an argument with a blank, a quote or
	 * a shell character is in single quotes, or, when it holds a single
	 * quote itself, a JSON string; any other is as it is (no backslash
	 * outside quotes). Bytes that are not UTF-8 are kept: drawing shows
	 * them, and control characters, as '?'. */
	while (*s != '\0' && k + 1 < n) {
		if (*s == '\'') {
			for (s++; *s != '\0' && *s != '\'' && k + 1 < n; s++)
				out[k++] = *s;
			if (*s == '\'')
				s++;
			continue;
		}
		if (*s != '"') {
			out[k++] = *s++;
			continue;
		}
		for (s++; *s != '\0' && *s != '"' && k + 1 < n; ) {
			size_t	m = 1;

			if (*s != '\\' || s[1] == '\0') {
				out[k++] = *s++;
				continue;
			}
			s++;
			switch (*s) {
			case 'n': u[0] = '\n'; break;
			case 't': u[0] = '\t'; break;
			case 'r': u[0] = '\r'; break;
			case 'b': u[0] = '\b'; break;
			case 'f': u[0] = '\f'; break;
			case 'u': {
				unsigned	cp = 0;
				int		i;

				for (i = 1; i <= 4; i++) {
					char	c = s[i];

					if (c >= '0' && c <= '9')
						cp = cp * 16 + (unsigned)(c - '0');
					else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
						cp = cp * 16 + (unsigned)((c | 0x20) - 'a' + 10);
					else
						break;
				}
				if (i <= 4) {		/* not four hex digits */
					u[0] = 'u';
					break;
				}
				m = tline_utf8(u, cp);
				s += 4;
				break;
			}
			default:			/* \" \\ \/ */
				u[0] = *s;
				break;
			}
			s++;
			if (k + m >= n)
				break;
			memcpy(out + k, u, m);
			k += m;
		}
		if (*s == '"')
			s++;
	}
	out[k] = '\0';
}
