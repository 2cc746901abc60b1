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
#define OPT_VERBOSE (-4)

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

/*
 * The file of --config, found by getopt itself (so that --conf=FILE, an
 * abbreviation it takes, is read too), or NULL.  Given twice is a usage
 * error (-1): one of the files would be silently left out.
 */
static int config_path(const fs_cli_t *cli, const struct option *lo, int argc, char **argv,
                       const char **path)
{
	int id = -1, c, n = 0;

	*path = NULL;
	for (size_t i = 0; i < cli->n_opts; i++)
		if (strcmp(cli->opts[i].name, "config") == 0)
			id = cli->opts[i].id;
	if (id < 0)
		return 0;
	opterr = 0; /* the second pass says what is wrong */
	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (c == id && n++ == 0)
			*path = optarg;
	opterr = 1;
	optind = 0;
	if (n > 1) {
		log_warnx("--config given %d times: give one file", n);
		return -1;
	}
	return 0;
}

int fs_cli_parse(const fs_cli_t *cli, int argc, char **argv)
{
	struct option *lo = calloc(cli->n_opts + 4, sizeof(*lo));
	const char *config;
	int c, code = -1;

	if (lo == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < cli->n_opts; i++)
		lo[i] = (struct option){cli->opts[i].name, cli->opts[i].has_arg, NULL,
		                        cli->opts[i].id};
	lo[cli->n_opts] = (struct option){"help", no_argument, NULL, OPT_HELP};
	lo[cli->n_opts + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	lo[cli->n_opts + 2] = (struct option){"verbose", no_argument, NULL, OPT_VERBOSE};
	if (config_path(cli, lo, argc, argv, &config) < 0) {
		free(lo);
		fputs(cli->usage, stderr);
		return 2;
	}
	if (config) {
		int line = ini_parse(config, on_ini, (void *)cli);

		if (line < 0)
			fatal("config %s", config);
		if (line > 0)
			fatalx("config %s: line %d is not valid", config, line);
	}
	while (code < 0 && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			fputs(cli->usage, stdout);
			code = 0;
			break;
		case OPT_VERSION:
			printf("%s %s\n", cli->prog, FLEETSTAT_VERSION);
			code = 0;
			break;
		case OPT_VERBOSE:
			log_init(cli->prog, LOG_LVL_DEBUG);
			break;
		case '?':
			fputs(cli->usage, stderr);
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
