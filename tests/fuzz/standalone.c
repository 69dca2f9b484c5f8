/* standalone.c: a main for a fuzz harness built without libFuzzer, with
 * the C compiler the project builds with (run.sh, FUZZ_LINK_ONLY=1): it
 * runs LLVMFuzzerTestOneInput once on each file named, and once on no
 * bytes. What it proves is that the harness still links against the
 * sources it names, and that its seed corpus still runs: a function moved
 * to a file the harness does not build breaks the link here, in make
 * check, not the next time someone fuzzes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

int
main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (int i = 1; i < argc; i++) {
		FILE	*f = fopen(argv[i], "rb");
		uint8_t	*buf;
		long	 n;

		if (f == NULL || fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) == -1) {
			perror(argv[i]);
			return (1);
		}
		if ((buf = malloc((size_t)n + 1)) == NULL ||
		    fread(buf, 1, (size_t)n, f) != (size_t)n) {
			perror(argv[i]);
			return (1);
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
	}
	return (0);
}
