/* SPDX-License-Identifier: MIT */
/* spoolgen.c: write reports with past timestamps into an agent's spool, as an outage leaves it. */
/*
 * An agent cut off from its collector spools every report and sends the
 * backlog when it gets through again, each report with the time it was
 * collected.  This tool writes such a backlog from a script, with the
 * agent's own state and spool code, so that the real agent (fleetstat-agent
 * --once) sends it through the real ingest path.  One report per line of
 * standard input:
 *
 *     COLLECTED_AT_MS  IP STATE N  [IP STATE N ...]
 *
 * e.g. "1796212800000 198.51.100.10 ESTABLISHED 150 198.51.100.20 SYN_RECV 170".
 * The report's states are the sums of its triples, its top list every IP
 * named (at most 20 distinct, so the list is complete: thresholds 0).
 * Blank lines and lines starting with '#' are skipped.
 *
 * usage: spoolgen --state-dir DIR [--interval SEC]
 * Exit status: 0, 1 on a bad line or an I/O error (nothing after it is written), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "report.h"
#include "state.h"
#include "wire.h"

#define SG_TOP 20

/* Parses one script line into r (its top list in ips[]).  0 or -EINVAL with *why. */
static int parse_line(char *line, wire_report_t *r, wire_remote_t *ips, const char **why)
{
	char *save = NULL, *tok = strtok_r(line, " \t\n", &save), *end;
	long long at;

	errno = 0;
	at = tok ? strtoll(tok, &end, 10) : 0;
	if (tok == NULL || errno || *end || at <= 0) {
		*why = "the line does not start with a time in ms";
		return -EINVAL;
	}
	r->collected_at_ms = at;
	while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
		const char *sname = strtok_r(NULL, " \t\n", &save), *num = strtok_r(NULL, " \t\n", &save);
		wire_ip_t ip = {0};
		unsigned long n;
		int s;
		size_t i;

		if (inet_pton(AF_INET, tok, ip.b) == 1)
			ip.len = 4;
		else if (inet_pton(AF_INET6, tok, ip.b) == 1)
			ip.len = 16;
		if (ip.len == 0 || sname == NULL || num == NULL) {
			*why = "not IP STATE N";
			return -EINVAL;
		}
		s = wire_state_parse(sname, strlen(sname));
		errno = 0;
		n = strtoul(num, &end, 10);
		if (s == 0 || s == WIRE_LISTEN || errno || *end || n > 1000000) {
			*why = "not a connection state and a count up to 1000000";
			return -EINVAL;
		}
		for (i = 0; i < r->top.n_ips; i++)
			if (ips[i].ip.len == ip.len && memcmp(ips[i].ip.b, ip.b, ip.len) == 0)
				break;
		if (i == r->top.n_ips) {
			if (i == SG_TOP) {
				*why = "more than 20 distinct IPs";
				return -EINVAL;
			}
			memset(&ips[i], 0, sizeof(ips[i]));
			ips[i].ip = ip;
			r->top.n_ips++;
		}
		ips[i].st.n[s] += (uint32_t)n;
		r->states.n[s] += (uint32_t)n;
	}
	r->top.ips = ips;
	r->top.limit = SG_TOP;
	r->top.distinct_ips = (uint32_t)r->top.n_ips;
	return 0;
}

/* Spools one report as the agent's next seq.  0 or a negative errno (logged). */
static int spool_one(ag_state_t *st, const wire_report_t *r)
{
	wire_frame_t f = {.type = WIRE_REPORT};
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	f.report = *r;
	f.report.seq = st->last_seq + 1;
	if ((err = wire_frame_encode(&f, 0, &buf, &len)) < 0) {
		log_warnx("spoolgen: cannot encode: %s", strerror(-err));
		return err;
	}
	st->last_seq++;
	if ((err = ag_state_save(st)) == 0)
		err = ag_spool_write(st, st->last_seq, buf, len);
	free(buf);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"interval", required_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	unsigned long interval = 10;
	char line[4096];
	unsigned lineno = 0, written = 0;
	ag_state_t st;
	int c, rc = 0;

	log_init("spoolgen", 0);
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'd': dir = optarg; break;
		case 'i':
			interval = strtoul(optarg, &end, 10);
			if (*end || interval < 1 || interval > 86400) {
				fprintf(stderr, "spoolgen: --interval: 1 to 86400 seconds\n");
				return 2;
			}
			break;
		default: goto usage;
		}
	}
	if (dir == NULL || optind != argc)
		goto usage;
	if (ag_state_open(&st, dir) < 0)
		return 1;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		wire_remote_t ips[SG_TOP];
		wire_report_t r = {.interval_ms = (uint32_t)interval * 1000};
		const char *why = NULL;

		lineno++;
		if (line[strspn(line, " \t\n")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		if (strchr(line, '\n') == NULL && !feof(stdin)) {
			fprintf(stderr, "spoolgen: line %u: longer than %zu bytes\n", lineno, sizeof(line));
			rc = 1;
			break;
		}
		if (parse_line(line, &r, ips, &why) < 0) {
			fprintf(stderr, "spoolgen: line %u: %s\n", lineno, why);
			rc = 1;
			break;
		}
		if (spool_one(&st, &r) < 0) {
			rc = 1;
			break;
		}
		written++;
	}
	ag_state_close(&st);
	fprintf(stderr, "spoolgen: %u reports spooled in %s\n", written, dir);
	return rc;
usage:
	fprintf(stderr, "usage: spoolgen --state-dir DIR [--interval SEC] < SCRIPT\n");
	return 2;
}
