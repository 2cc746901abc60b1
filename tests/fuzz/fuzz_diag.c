/* SPDX-License-Identifier: MIT */
/* fuzz_diag.c: the sock_diag reply decoder and the aggregator on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agg.h"
#include "diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ag_agg_opts_t o = {.top_n = 3};
	ag_agg_t *a = ag_agg_new(&o);
	wire_report_t r;
	uint32_t seq = 0;
	ag_diag_t d;

	if (a == NULL)
		return 0;
	if (size >= 12)
		memcpy(&seq, data + 8, 4); /* the first message's seq, so most are "ours" */
	ag_diag_init(&d, seq);
	/* The first byte picks where the datagram boundary falls. */
	if (size > 1) {
		size_t cut = 1 + data[0] % (size - 1);

		if (ag_diag_parse(&d, data + 1, cut - 1, ag_agg_add, a) == 0)
			ag_diag_parse(&d, data + cut, size - cut, ag_agg_add, a);
	}
	memset(&r, 0, sizeof(r));
	if (ag_agg_finish(a, &r) == 0)
		wire_report_close(&r);
	ag_agg_free(a);
	return 0;
}
