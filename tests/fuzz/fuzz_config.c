/* SPDX-License-Identifier: MIT */
/* fuzz_config.c: libFuzzer target for the config files: inih on the bytes, each setting to
 * the setter that the programs use ([thresholds], [suspects], durations and sizes, the
 * agent's sizes and CIDRs). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "agg.h"
#include "check.h"
#include "suspects.h"
#include "qcfg.h"
#include "summary.h"
#include "size.h"
#include "uplink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The query sections through col_qcfg_set(), as the collector and the fleetstat command read them. */
static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	col_qcfg_t *c = user;
	const char *why = NULL;
	size_t n = c->th.n;
	int64_t ms;
	uint64_t bytes;
	wire_cidr_t cidr;
	int rc = col_qcfg_set(c, section, name, value, &why);

	if (rc < 0 && why == NULL)
		abort(); /* a refusal always says why */
	if (strcmp(section, "thresholds") == 0) {
		if ((rc == 0) != (c->th.n == n + 1))
			abort();
		if (rc == 0) {
			const col_threshold_t *t = &c->th.t[n];

			if (t->warning && t->critical && t->warning > t->critical)
				abort();
		}
		return rc == 0;
	}
	if (strcmp(section, "suspects") == 0) {
		if (c->sus.n_allow > COL_MAX_CIDRS || c->sus.n_deny > COL_MAX_CIDRS ||
		    c->sus.syn_share < 0 || c->sus.syn_share > 1 || c->sus.suspect_min < 1)
			abort();
		return rc == 0;
	}
	if (rc != 1)
		abort();
	/* [collector] and [agent] values: durations, sizes, CIDRs. */
	if (col_parse_duration(value, &ms) == 0 && ms <= 0)
		abort();
	if (fs_parse_size(value, &bytes) == 0 && bytes == 0)
		abort();
	/* A network parsed holds its own address, host bits zeroed, within its family's length. */
	if (wire_cidr_parse(value, strlen(value), &cidr) == 0 &&
	    ((cidr.net.len != 4 && cidr.net.len != 16) || cidr.bits > 8 * cidr.net.len ||
	     !wire_cidr_match(&cidr, cidr.net.b, cidr.net.len)))
		abort();
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	col_qcfg_t c;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	col_qcfg_init(&c);
	(void)ini_parse_string(s, on_ini, &c);
	free(s);
	return 0;
}
