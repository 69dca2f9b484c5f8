/* fuzz-line.c: libFuzzer harness for how moat shell reads a line for its
 * built-ins (tline_words: words with the shell's quoting, or -1 when the
 * line is for the shell) and resolves cd's directory (tline_path). The
 * input is a line (bytes up to the first NUL). Words never hold a byte the
 * line did not; a line with an unquoted ; | & $ ` is never taken as words;
 * a resolved path is absolute, with no "." or ".." component and no empty
 * one. The line read as one argument the audit log quoted (in single
 * quotes, or a JSON string when it holds one, as audit_argv_line does)
 * comes back as it was from tline_unquote. Build and run:
 * tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "tui/tui-line.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s = strndup((const char *)data, size), *p;
	struct strv	 w = { 0 };
	size_t		 n;

	if (s == NULL)
		return (0);
	if (tline_words(s, &w) == 0) {
		for (size_t i = 0; i < w.n; i++) {
			assert(strlen(w.v[i]) <= strlen(s));
			for (const char *c = w.v[i]; *c != '\0'; c++)
				assert(strchr(s, *c) != NULL);
		}
		/* Nothing a shell acts on outside quotes: a line with none of
		 * the quoting characters and one of these must be refused. */
		if (strpbrk(s, "'\"\\") == NULL)
			assert(strpbrk(s, ";|&$`<>()*?[#") == NULL);
	} else
		assert(w.n == 0 && w.v == NULL);
	strv_clear(&w);
	p = tline_path("/home/u/ws", s);
	assert(p[0] == '/');
	assert(strstr(p, "//") == NULL && strstr(p, "/./") == NULL &&
	    strstr(p, "/../") == NULL);
	n = strlen(p);
	assert(strcmp(p, "/") == 0 || (p[n - 1] != '/' &&
	    (n < 2 || strcmp(p + n - 2, "/.") != 0) &&
	    (n < 3 || strcmp(p + n - 3, "/..") != 0)));
	free(p);
	{
		/* Quoted as the log quotes an argument with a blank. */
		size_t	 len = strlen(s), k = 0;
		char	*q = malloc(len * 6 + 3), out[1024];

		assert(q != NULL);
		if (strchr(s, '\'') == NULL)
			k = (size_t)sprintf(q, "'%s'", s);
		else {
			q[k++] = '"';
			for (const unsigned char *c = (const unsigned char *)s;
			    *c != '\0'; c++) {
				if (*c == '"' || *c == '\\') {
					q[k++] = '\\';
					q[k++] = (char)*c;
				} else if (*c == '\n' || *c == '\t') {
					q[k++] = '\\';
					q[k++] = *c == '\n' ? 'n' : 't';
				} else if (*c < 0x20)
					k += (size_t)sprintf(q + k, "\\u%04x", *c);
				else
					q[k++] = (char)*c;
			}
			q[k++] = '"';
			q[k] = '\0';
		}
		tline_unquote(out, sizeof out, q);
		assert(strlen(out) < sizeof out);
		if (len < sizeof out)
			assert(strcmp(out, s) == 0);
		/* Anything at all reads back without running past the end. */
		tline_unquote(out, 7, s);
		assert(strlen(out) < 7);
		free(q);
	}
	free(s);
	return (0);
}
