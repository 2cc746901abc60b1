/* SPDX-License-Identifier: MIT */
/* fuzz_text.c: libFuzzer target for ag_text_detect and ag_text_parse in every format. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	uint64_t n;
	uint32_t states[12];
} sink_t;

static void on_sock(void *ctx, const ag_sock_t *s)
{
	sink_t *k = ctx;

	if (s->state < 1 || s->state > 11 || (s->family != 2 && s->family != 10))
		abort();
	if ((s->flags & AG_SOCK_NORADDR) && s->rport != 0)
		abort();
	k->n++;
	k->states[s->state]++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ag_text_fmt_t fmts[] = {
		AG_TEXT_UNKNOWN, AG_TEXT_NETSTAT, AG_TEXT_SS, AG_TEXT_PROC,
	};
	const char *buf = (const char *)data;

	(void)ag_text_detect(buf, size);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		sink_t k;
		ag_text_stats_t st;
		memset(&k, 0, sizeof(k));
		int rc = ag_text_parse(fmts[i], buf, size, on_sock, &k, &st);
		if (rc < 0 && k.n != 0)
			abort(); /* an error return must come without callbacks */
		if (rc == 0 && (st.sockets != k.n || st.sockets + st.skipped + st.malformed > st.lines))
			abort();
	}
	return 0;
}
