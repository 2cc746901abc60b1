/* SPDX-License-Identifier: MIT */
/* db_priv.h: what db.c shares with the other files of the store, and no one else. */
#ifndef DB_PRIV_H
#define DB_PRIV_H

#include <stdint.h>

#include "report.h"
#include "wire.h"

/* t floored to a multiple of res (the rollups' minutes and hours), before the epoch too. */
static inline int64_t db__floor(int64_t t, int64_t res)
{
	return (t >= 0 ? t / res : -((-t + res - 1) / res)) * res;
}

/*
 * The rollups' columns (schema/003_rollups.sql): each state but LISTEN, under
 * its wire_state_key() name, in state order, then "total".
 */
#define DB_ROLL_NCOLS ((size_t)WIRE_NSTATES - 1)

/* The state of rollup column i, or 0 for the total. */
static inline int db__roll_state(size_t i)
{
	return i + 1 == DB_ROLL_NCOLS ? 0 : (int)(i + 1 < WIRE_LISTEN ? i + 1 : i + 2);
}

static inline const char *db__roll_col(size_t i)
{
	return i + 1 == DB_ROLL_NCOLS ? "total" : wire_state_key(db__roll_state(i));
}

/* A report's values in column order: each state but LISTEN, then the total. */
static inline void db__roll_values(const wire_report_t *r, int64_t v[DB_ROLL_NCOLS])
{
	for (size_t i = 0; i + 1 < DB_ROLL_NCOLS; i++)
		v[i] = r->states.n[db__roll_state(i)];
	v[DB_ROLL_NCOLS - 1] = wire_states_total(&r->states);
}

/*
 * What a host's minute row gaining reports does to its tier's row: the row
 * held n0 reports with sums sum0 and maxima max0 (n0 0: none), and gains n
 * with sums sum and maxima max.  *hosts is 1 when the host is new to the
 * minute; dmean and dmax the change of the host's mean and maximum per column.
 */
static inline void db__tier_delta(int64_t n0, const int64_t *sum0, const int64_t *max0, int64_t n,
                                  const int64_t *sum, const int64_t *max, int64_t *hosts,
                                  double *dmean, int64_t *dmax)
{
	*hosts = n0 == 0;
	for (size_t i = 0; i < DB_ROLL_NCOLS; i++) {
		double before = n0 ? (double)sum0[i] / (double)n0 : 0;
		double after = (double)(sum0[i] + sum[i]) / (double)(n0 + n);
		int64_t top = n0 == 0 || max[i] > max0[i] ? max[i] : max0[i];

		dmean[i] = after - before;
		dmax[i] = top - (n0 ? max0[i] : 0);
	}
}

#endif
