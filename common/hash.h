/* SPDX-License-Identifier: MIT */
/*
 * hash.h: one 64-bit hash for the tables of keys (addresses, hosts, user
 * agents, log fields): eight bytes a step, multiplied and folded.  For hash
 * tables, not for anything an adversary must not forge.
 */
#ifndef FS_HASH_H
#define FS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t fs_hash_mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93u;
	h ^= h >> 32;
	return h;
}

static inline uint64_t fs_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)len;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9fb21c651e98df25u;
		h ^= h >> 29;
	}
	if (len > 0) {
		uint64_t w = 0;

		memcpy(&w, p, len);
		h = (h ^ w) * 0x9fb21c651e98df25u;
	}
	return fs_hash_mix(h);
}

#endif
