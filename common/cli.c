/* SPDX-License-Identifier: MIT */
/* cli.c: the daemons' flags and INI config file, from one table of options. */
#include "cli.h"

#include <getopt.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define OPT_HELP (-2)
#define OPT_VERSION (-3)

/* Whether key (config file spelling) names option name (flag spelling). */
static int key_is(const char *key, const char *name)
{
	for (; *key && *name; key++, name++)
		if (*key != (*name == '-' ? '_' : *name))
			return 0;
	return *key == *name;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	const fs_cli_t *cli = user;

	if (*section && strcmp(section, cli->section) != 0) {
		int rc = cli->section_key ? cli->section_key(cli->ctx, section, name, value) : 0;

		return rc >= 0; /* other programs' sections are theirs */
	}
	for (size_t i = 0; i < cli->n_opts; i++) {
		if ((cli->opts[i].flags & FS_OPT_CONFIG) && key_is(name, cli->opts[i].name)) {
			cli->apply(cli->ctx, cli->opts[i].id, value, 0);
			return 1;
		}
	}
	log_warnx("config: unknown setting '%s'", name);
	return 0;
}

/* The file of --config FILE or --config=FILE, the last given; NULL without one. */
static const char *config_path(const fs_cli_t *cli, int argc, char **argv)
{
	const char *path = NULL;
	size_t k;

	for (k = 0; k < cli->n_opts && strcmp(cli->opts[k].name, "config") != 0; k++)
		;
	if (k == cli->n_opts)
		return NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	return path;
}

int fs_cli_parse(const fs_cli_t *cli, int argc, char **argv)
{
	struct option *lo = calloc(cli->n_opts + 3, sizeof(*lo));
	const char *config = config_path(cli, argc, argv);
	int c, code = -1;

	if (lo == NULL)
		fatalx("out of memory");
	if (config) {
		int line = ini_parse(config, on_ini, (void *)cli);

		if (line < 0)
			fatal("config %s", config);
		if (line > 0)
			fatalx("config %s: line %d is not valid", config, line);
	}
	for (size_t i = 0; i < cli->n_opts; i++)
		lo[i] = (struct option){cli->opts[i].name, cli->opts[i].has_arg, NULL,
		                        cli->opts[i].id};
	lo[cli->n_opts] = (struct option){"help", no_argument, NULL, OPT_HELP};
	lo[cli->n_opts + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	optind = 1;
	while (code < 0 && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			cli->usage(stdout);
			code = 0;
			break;
		case OPT_VERSION:
			printf("%s %s\n", cli->prog, FLEETSTAT_VERSION);
			code = 0;
			break;
		case '?':
			cli->usage(stderr);
			code = 2;
			break;
		default:
			cli->apply(cli->ctx, c, optarg, 1);
		}
	}
	free(lo);
	if (code < 0 && optind < argc)
		fatalx("unexpected argument '%s' (see --help)", argv[optind]);
	return code;
}

void fs_cli_set_str(char **dst, const char *v)
{
	free(*dst);
	if ((*dst = strdup(v)) == NULL)
		fatalx("out of memory");
}
