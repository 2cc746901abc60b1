/* SPDX-License-Identifier: MIT */
/* util.h: small helpers for the shells. */
#ifndef FS_UTIL_H
#define FS_UTIL_H

#include <stddef.h>

/* The struct that holds member `member` at address ptr. */
#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define FS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
