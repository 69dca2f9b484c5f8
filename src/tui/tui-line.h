/* tui-line.h: a line as the TUI's built-ins read it (cd, export, unset).
 * Pure; any process. */
#ifndef MOAT_TUI_LINE_H
#define MOAT_TUI_LINE_H

#include <stddef.h>

struct strv;

/* Splits a line as the built-ins read it: words, with '' "" and \
 * quoting; -1 when it needs the shell (unquoted ; & | < > $ ` ( ) or
 * an unterminated quote). Pure; unit-tested. */
int	tline_words(const char *line, struct strv *words);
/* Resolves DIR against cwd as cd does, without following links ("..",
 * "." and repeated slashes folded); malloc'd. Pure; unit-tested. */
char	*tline_path(const char *cwd, const char *dir);
/* A command line as the audit log joined it (audit_argv_line: an argument
 * in single quotes, or a JSON string when it holds one) read back to the
 * text of its arguments, space-separated, into out (n bytes; cut short at
 * a whole character). Pure; unit-tested and fuzzed. */
void	tline_unquote(char *out, size_t n, const char *logged);

#endif
