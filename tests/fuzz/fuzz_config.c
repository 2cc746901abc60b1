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
#include "summary.h"
#include "size.h"
#include "uplink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	col_thresholds_t th;
	col_suspect_cfg_t sus;
} cfg_t;

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	cfg_t *c = user;
	const char *why = NULL;
	int64_t ms;
	uint64_t bytes;
	wire_cidr_t cidr;
	int rc;

	if (strcmp(section, "thresholds") == 0) {
		size_t n = c->th.n;

		rc = col_thresholds_set(&c->th, name, value, &why);
		if ((rc == 0) != (c->th.n == n + 1) || (rc < 0 && why == NULL))
			abort();
		if (rc == 0) {
			const col_threshold_t *t = &c->th.t[n];

			if (t->warning && t->critical && t->warning > t->critical)
				abort();
		}
		return rc == 0;
	}
	if (strcmp(section, "suspects") == 0) {
		rc = col_suspect_cfg_set(&c->sus, name, value, &why);
		if (rc == -EINVAL && why == NULL)
			abort();
		if (c->sus.n_allow > COL_MAX_CIDRS || c->sus.n_deny > COL_MAX_CIDRS ||
		    c->sus.syn_share < 0 || c->sus.syn_share > 1 || c->sus.suspect_min < 1)
			abort();
		return rc == 0;
	}
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
	cfg_t c;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&c, 0, sizeof(c));
	col_suspect_cfg_init(&c.sus);
	(void)ini_parse_string(s, on_ini, &c);
	free(s);
	return 0;
}
