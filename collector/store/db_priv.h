/* SPDX-License-Identifier: MIT */
/* db_priv.h: what db.c shares with the other files of the store, and no one else. */
#ifndef DB_PRIV_H
#define DB_PRIV_H

#include <stdint.h>

#include <sqlite3.h>

/* A SQLite result code as 0 or a negative errno (IO errors as the system's errno). */
int db__errno(sqlite3 *h, int rc);

/* t floored to a multiple of res (the rollups' minutes and hours), before the epoch too. */
static inline int64_t db__floor(int64_t t, int64_t res)
{
	return (t >= 0 ? t / res : -((-t + res - 1) / res)) * res;
}

#endif
