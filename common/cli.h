/* SPDX-License-Identifier: MIT */
/* cli.h: the daemons' flags and INI config file, from one table of options. */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <stddef.h>
#include <stdio.h>

enum {
	FS_OPT_CONFIG = 1,   /* may stand in the config file too */
};

/* One option: --name, and in the config file name with _ for - (token-file: token_file). */
typedef struct {
	const char *name;
	int has_arg;         /* getopt's no_argument, required_argument or optional_argument */
	int id;              /* handed to apply() */
	int flags;           /* FS_OPT_* */
} fs_opt_t;

typedef struct {
	const char *prog;    /* "fleetstat-agent": --version prints it */
	const char *section; /* the program's own config section ("agent"); keys outside any too */
	const fs_opt_t *opts;
	size_t n_opts;
	/*
	 * Applies one setting (value NULL for a flag without its argument;
	 * borrowed, valid during the call only: copy what is kept); from_flags
	 * 0 for the config file, 1 for the command line, which comes second so
	 * that flags win.  Values it refuses end the program (fatalx).
	 */
	void (*apply)(void *ctx, int id, const char *value, int from_flags);
	/*
	 * A key of another section ([thresholds], ...): 1 taken, 0 not this
	 * program's (ignored), -1 refused (it said why).  NULL: all ignored.
	 */
	int (*section_key)(void *ctx, const char *section, const char *name, const char *value);
	const char *usage;   /* --help's text, said again after a usage error */
	void *ctx;
} fs_cli_t;

/*
 * Reads the config file named by --config (wherever it stands; once) and
 * then the command line, handing every setting to apply().  --config takes
 * the id of the option named "config" (apply() sees it too, from the command
 * line); --help, --version and --verbose (debug logging, log_init()) are
 * answered here.  Returns -1 to go on, or
 * the exit status for main: 0 after --help or --version, 2 after a usage
 * error (an unknown flag, a missing argument, --config twice: said, with the
 * usage).  Fatal (exit 1): a config file that cannot be read or holds an
 * unknown or invalid key (naming the file and the line), and an argument
 * that is no flag.
 */
int fs_cli_parse(const fs_cli_t *cli, int argc, char **argv);

/* For apply(): frees *dst and sets it to a new copy of v (fatal when out of memory). */
void fs_cli_set_str(char **dst, const char *v);

#endif
