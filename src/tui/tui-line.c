/* tui-line.c: how the shell's built-ins read a line: words with the
 * shell's quoting, or "this is for the shell" when it has anything a shell
 * would act on; and a directory resolved as cd does, without the
 * filesystem. Pure; any process. */
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
