/* SPDX-License-Identifier: MIT */
/* size.h: the one grammar of sizes in flags and config files, for every program. */
#ifndef FS_SIZE_H
#define FS_SIZE_H

#include <stdint.h>

/*
 * Parses a positive whole number with an optional binary unit: K, M or G
 * (any case), optionally followed by iB or B ("64M", "512KiB", "5kb",
 * "100B").  0 and *out set; -EINVAL for anything else, 0 included;
 * -ERANGE past 2^64-1.  *out is untouched on failure.
 */
int fs_parse_size(const char *s, uint64_t *out);

#endif
