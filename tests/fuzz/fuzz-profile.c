/* fuzz-profile.c: libFuzzer harness for the profile parser (profile_read in
 * src/profile/profile.c, every key's setter in profile-keys.c). The input is
 * up to three files separated by a form feed: a.conf, b.conf and c.conf in a
 * private directory that is also the profile search path, so "include = b",
 * "include = ./c.conf" and include loops are reachable. A profile that loads
 * is formatted (moat profiles show); one refused must say why, in a message
 * with no control byte left raw (they are escaped as the message is made). */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "profile/profile.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	dir[] = "/tmp/moat-fuzz-profile.XXXXXX";
static char	paths[3][64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	for (int i = 0; i < 3; i++)
		snprintf(paths[i], sizeof paths[i], "%s/%c.conf", dir, 'a' + i);
	setenv("MOAT_PROFILE_DIR", dir, 1);
	setenv("HOME", dir, 1);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size;
	struct merr	 e = { .msg = "" };
	struct profile	*pr;

	for (int i = 0; i < 3; i++) {
		const uint8_t	*ff = i < 2 ? memchr(p, '\f', (size_t)(end - p)) : NULL;
		size_t		 n = (size_t)((ff != NULL ? ff : end) - p);
		FILE		*f = fopen(paths[i], "w");

		if (f == NULL)
			abort();
		if (n > 0 && fwrite(p, 1, n, f) != n)
			abort();
		fclose(f);
		p = ff != NULL ? ff + 1 : end;
	}
	if ((pr = profile_load_file(paths[0], &e)) != NULL) {
		char	*s = profile_format(pr, true, NULL);

		free(s);
		profile_free(pr);
	} else {
		assert(e.msg[0] != '\0');
		for (const char *c = e.msg; *c != '\0'; c++)
			assert((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	return (0);
}
