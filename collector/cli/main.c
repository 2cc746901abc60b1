/* SPDX-License-Identifier: MIT */
/* main.c: the fleetstat command: fleet queries on the collector's database. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "query.h"
#include "reader.h"

static const char *const commands[] = {"tiers", "hosts", "trend", "top-ips"};

static void usage(FILE *f)
{
	fputs(
	"usage: fleetstat COMMAND [options]\n"
	"\n"
	"Questions about the whole fleet, answered from the collector's database.\n"
	"\n"
	"  tiers                 per tier: hosts reporting, stale, and per state the sum,\n"
	"                        the mean per host and the host with the most\n"
	"  hosts                 per host: tier, labels, last seen, stale, version, states\n"
	"  trend                 a state over time, summed over hosts, in buckets\n"
	"                        (--state, --since, --step, --tier or --host)\n"
	"  top-ips               remote IPs with the most connections across hosts, with\n"
	"                        count and upper_bound (exact when equal); --since gives\n"
	"                        each host's peak over the window\n"
	"\n"
	"  --db FILE             the collector's SQLite database (read-only)\n"
	"  --format table|json|csv   (default: table on a terminal, json otherwise)\n"
	"  --tier T  --host H    only that tier, or host (hosts, trend)\n"
	"  --state S             a TCP state (ESTABLISHED, SYN_RECV, ...) or total (default)\n"
	"  --since DUR           15m, 24h, 7d: the window (top-ips: now if not given;\n"
	"                        trend: 1h)\n"
	"  --step DUR            trend bucket (default: about 60 buckets)\n"
	"  --limit N             top-ips rows (default 20)\n"
	"  --help, --version\n"
	"\n"
	"A host's value is its latest report no older than 3 intervals; older hosts\n"
	"are stale: listed, and left out of sums.\n", f);
}

static const struct option longopts[] = {
	{"db", required_argument, NULL, 'd'},
	{"format", required_argument, NULL, 'f'},
	{"tier", required_argument, NULL, 't'},
	{"host", required_argument, NULL, 'H'},
	{"state", required_argument, NULL, 's'},
	{"since", required_argument, NULL, 'S'},
	{"step", required_argument, NULL, 'p'},
	{"limit", required_argument, NULL, 'l'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *cmd = NULL, *why;
	col_qopts_t o;
	db_reader_t *rd;
	fs_buf_t out = FS_BUF_INIT;
	char err[512];
	int c, rc;

	col_qopts_init(&o, now_ms());
	o.format = isatty(STDOUT_FILENO) ? COL_FMT_TABLE : COL_FMT_JSON;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = NULL;

		switch (c) {
		case 'd': db = optarg; continue;
		case 'h': usage(stdout); return 0;
		case 'V': printf("fleetstat %s\n", FLEETSTAT_VERSION); return 0;
		case 'f': name = "format"; break;
		case 't': name = "tier"; break;
		case 'H': name = "host"; break;
		case 's': name = "state"; break;
		case 'S': name = "since"; break;
		case 'p': name = "step"; break;
		case 'l': name = "limit"; break;
		default: usage(stderr); return 2;
		}
		if (col_qopts_set(&o, name, optarg, &why) < 0) {
			fprintf(stderr, "fleetstat: --%s: '%s' is %s\n", name, optarg, why);
			return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "fleetstat: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	for (c = 0; c < (int)(sizeof(commands) / sizeof(commands[0])); c++)
		if (strcmp(cmd, commands[c]) == 0)
			break;
	if (c == (int)(sizeof(commands) / sizeof(commands[0]))) {
		fprintf(stderr, "fleetstat: '%s' is not a command: tiers, hosts, trend, top-ips "
		        "(see --help)\n", cmd);
		return 2;
	}
	if (db == NULL) {
		fprintf(stderr, "fleetstat: give --db FILE, the collector's database\n");
		return 2;
	}
	if (db_reader_open(db, &rd, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleetstat: %s\n", err);
		return 1;
	}
	rc = db_query(rd, cmd, &o, &out, &why);
	if (rc < 0) {
		fprintf(stderr, "fleetstat: %s: %s\n", cmd,
		        why ? why : *db_reader_errmsg(rd) ? db_reader_errmsg(rd) : strerror(-rc));
		db_reader_close(rd);
		fs_buf_close(&out);
		return 1;
	}
	db_reader_close(rd);
	if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "fleetstat: writing the output: %s\n", strerror(errno));
		fs_buf_close(&out);
		return 1;
	}
	fs_buf_close(&out);
	return 0;
}
