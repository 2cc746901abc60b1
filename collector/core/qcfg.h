/* SPDX-License-Identifier: MIT */
/* qcfg.h: the sections of the collector's config file that queries read, for every program. */
#ifndef COL_QCFG_H
#define COL_QCFG_H

#include "summary.h"
#include "suspects.h"

typedef struct {
	col_thresholds_t th;      /* [thresholds]: summary's alerts */
	col_suspect_cfg_t sus;    /* [suspects]: the verdicts' rules */
} col_qcfg_t;

/* The defaults: no thresholds but the built-in ones, col_suspect_cfg_init()'s rules. */
void col_qcfg_init(col_qcfg_t *q);

/*
 * One key of the config file (all borrowed): 0 taken, 1 not a section of
 * queries (another program's: leave it), or -EINVAL with a static reason in
 * *why (an unknown key of these sections included).
 */
int col_qcfg_set(col_qcfg_t *q, const char *section, const char *name, const char *value,
                 const char **why);

#endif
