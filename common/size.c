/* SPDX-License-Identifier: MIT */
/* size.c: sizes as operators write them in flags and config files (64M, 512KiB). */
#include "size.h"

#include <ctype.h>
#include <errno.h>

int fs_parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0, mul = 1;
	int shift = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	switch (toupper((unsigned char)*p)) {
	case 'K': shift = 10; p++; break;
	case 'M': shift = 20; p++; break;
	case 'G': shift = 30; p++; break;
	default: break;
	}
	if (shift && (p[0] == 'i' || p[0] == 'I') && (p[1] == 'b' || p[1] == 'B'))
		p += 2;
	else if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return -EINVAL;
	mul <<= shift;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	if (v == 0)
		return -EINVAL;
	*out = v * mul;
	return 0;
}
