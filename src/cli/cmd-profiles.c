/* cmd-profiles.c: "moat profiles": list the profiles on the search path, show
 * one fully resolved with where each value came from, check files, list the
 * keys. Front end; nothing here runs a sandbox. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/wrap.h"
#include "cmd.h"
#include "network/index.h"
#include "profile/profile.h"

static int	cmd_profiles_exec(int, char **);

const struct cmd_entry cmd_profiles_entry = {
	.name = "profiles",
	.usage = "profiles [list | show NAME|PATH | check FILE... | keys]",
	.summary = "list, show (resolved, with provenance) and check sandbox profiles",
	.options = (const char *const[]){
		"list\tthe profiles on the search path, with their descriptions (the default)",
		"show NAME|PATH\tevery setting of one profile, resolved, and where it came from",
		"check FILE...\tvalidate profile files; errors name file:line",
		"keys\tevery key a profile may set, its type and what it does",
		"-h, --help\tthis text",
		NULL,
	},
	.exec = cmd_profiles_exec,
};

struct found {
	char	*name;		/* owned */
	char	*path;		/* owned */
	size_t	 dir;		/* index in profile_dirs(); 0 is the user's */
};

static int
found_cmp(const void *a, const void *b)
{
	const struct found	*x = a, *y = b;
	int			 c = strcmp(x->name, y->name);

	if (c != 0)
		return (c);
	return (x->dir < y->dir ? -1 : x->dir > y->dir);
}

static const char *
dir_source(size_t i)
{
	return (i == 0 ? "user" : "shipped");
}

/* One line of description, or the error that keeps the profile from loading. */
static char *
profiles_describe(const char *path)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p;
	char		*s;

	if ((p = profile_load_file(path, &e)) == NULL)
		return (xprintf("(broken: %s)", e.msg));
	s = xstrdup(p->description != NULL ? p->description : "");
	profile_free(p);
	return (s);
}

static int
profiles_list(void)
{
	const char	*dirs[16];
	char		 buf[16 * 256];
	struct found	*f = NULL;
	size_t		 n, nf = 0, width = 4;

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
			name = xstrndup(de->d_name, l - 5);
			if (!profile_name_valid(name)) {
				free(name);
				continue;
			}
			f = xreallocarray(f, nf + 1, sizeof *f);
			f[nf].name = name;
			f[nf].path = xprintf("%s/%s", dirs[i], de->d_name);
			f[nf].dir = i;
			if (l - 5 > width)
				width = l - 5;
			nf++;
		}
		closedir(d);
	}
	qsort(f, nf, sizeof *f, found_cmp);
	printf("%-*s  %-7s  %s\n", (int)width, "NAME", "SOURCE", "DESCRIPTION");
	for (size_t i = 0; i < nf; i++) {
		autofree char	*desc = NULL;

		/* The first of a name wins; later ones are shadowed by it. */
		if (i > 0 && strcmp(f[i].name, f[i - 1].name) == 0)
			continue;
		desc = profiles_describe(f[i].path);
		printf("%-*s  %-7s  %s", (int)width, f[i].name, dir_source(f[i].dir), desc);
		for (size_t j = i + 1; j < nf && strcmp(f[j].name, f[i].name) == 0; j++)
			printf(" [shadows %s %s]", dir_source(f[j].dir), f[j].path);
		printf("\n");
	}
	if (nf == 0) {
		printf("(no profiles in");
		for (size_t i = 0; i < n; i++)
			printf(" %s", dirs[i]);
		printf(")\n");
	}
	for (size_t i = 0; i < nf; i++) {
		free(f[i].name);
		free(f[i].path);
	}
	free(f);
	return (0);
}

static int
profiles_show(const char *what)
{
	struct merr	 e = { .msg = "" };
	struct profile	*p;
	autofree char	*text = NULL;

	if ((p = profile_load(what, &e)) == NULL) {
		merr_print(&e);
		return (1);
	}
	printf("# profile %s: %s\n", p->name, p->path);
	for (size_t i = 0; i < p->files.n; i++)
		printf("# reads %s\n", p->files.v[i]);
	/* An agent's profile: where moat wrap finds the agent here, and
	 * the ro-bind lines it adds for what the profile hides (they show
	 * among the profile's, from "moat wrap"). */
	if (p->agent_command != NULL) {
		char	*buf = NULL;
		size_t	 len = 0;
		FILE	*f = open_memstream(&buf, &len);
		int	 n;

		if (f == NULL) {
			profile_free(p);
			return (1);
		}
		fprintf(f, "# moat wrap -- %s: the agent as your PATH finds it:\n",
		    p->agent_command);
		if ((n = wrap_bind_install(p, p->agent_command, NULL, f, &e)) == -1)
			fprintf(f, "#   %s\n", e.msg);
		else if (n == 0)
			fprintf(f, "#   all of it is shown by the profile: nothing more "
			    "to bind\n");
		else
			fprintf(f, "#   %d ro-bind lines added by moat wrap (above)\n", n);
		fclose(f);
		text = profile_format(p, true, index_profile_note);
		fputs(text, stdout);
		fputs(buf, stdout);
		free(buf);
	} else {
		text = profile_format(p, true, index_profile_note);
		fputs(text, stdout);
	}
	profile_free(p);
	return (0);
}

static int
profiles_check(int argc, char **argv)
{
	int	rc = 0;

	for (int i = 0; i < argc; i++) {
		struct merr	 e = { .msg = "" };
		struct profile	*p;
		struct stat	 st;

		/* A FILE; a bare word that is no file is taken as a profile name. */
		if (strchr(argv[i], '/') != NULL || stat(argv[i], &st) == 0)
			p = profile_load_file(argv[i], &e);
		else
			p = profile_load(argv[i], &e);
		if (p == NULL) {
			merr_print(&e);
			rc = 1;
			continue;
		}
		printf("%s: ok\n", argv[i]);
		profile_free(p);
	}
	return (rc);
}

static int
profiles_keys(void)
{
	for (size_t i = 0; i < profile_nkeys; i++) {
		const struct profile_key	*k = &profile_keys[i];

		printf("%-19s %-8s %s\n%-28s valid: %s\n", k->name,
		    profile_key_type_name(k->type), k->help, "", k->valid);
	}
	return (0);
}

static int
cmd_profiles_exec(int argc, char **argv)
{
	const struct cmd_entry	*ce = &cmd_profiles_entry;

	if (argc < 2 || strcmp(argv[1], "list") == 0) {
		if (argc > 2)
			return (cmd_usage_error(ce, "list takes no arguments"));
		return (profiles_list());
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cmd_help(ce, stdout);
		return (0);
	}
	if (strcmp(argv[1], "show") == 0) {
		if (argc != 3)
			return (cmd_usage_error(ce, "show takes one profile name or path"));
		return (profiles_show(argv[2]));
	}
	if (strcmp(argv[1], "check") == 0) {
		if (argc < 3)
			return (cmd_usage_error(ce, "check needs at least one file"));
		return (profiles_check(argc - 2, argv + 2));
	}
	if (strcmp(argv[1], "keys") == 0) {
		if (argc > 2)
			return (cmd_usage_error(ce, "keys takes no arguments"));
		return (profiles_keys());
	}
	return (cmd_usage_error(ce, "unknown subcommand \"%s\"", argv[1]));
}
