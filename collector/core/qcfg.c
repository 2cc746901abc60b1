/* SPDX-License-Identifier: MIT */
/* qcfg.c: [thresholds] and [suspects], as the collector and the fleetstat command read them. */
#include "qcfg.h"

#include <errno.h>
#include <string.h>

void col_qcfg_init(col_qcfg_t *q)
{
	memset(q, 0, sizeof(*q));
	col_suspect_cfg_init(&q->sus);
}

int col_qcfg_set(col_qcfg_t *q, const char *section, const char *name, const char *value,
                 const char **why)
{
	int rc;

	if (strcmp(section, "thresholds") == 0)
		return col_thresholds_set(&q->th, name, value, why) == 0 ? 0 : -EINVAL;
	if (strcmp(section, "suspects") != 0)
		return 1;
	*why = "not a key of [suspects]";
	rc = col_suspect_cfg_set(&q->sus, name, value, why);
	return rc == 0 ? 0 : -EINVAL;
}
