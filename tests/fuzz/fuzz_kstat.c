/* SPDX-License-Identifier: MIT */
/* fuzz_kstat.c: the /proc/net/{snmp,netstat,sockstat} and sysctl decoders on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	wire_report_t r;

	memset(&r, 0, sizeof(r));
	ag_kstat_parse_snmp(s, size, &r);
	ag_kstat_parse_sockstat(s, size, &r);
	ag_kstat_add_sysctl(&r, "fuzz", s, size);
	wire_report_close(&r);
	return 0;
}
