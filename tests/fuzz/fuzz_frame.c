/* SPDX-License-Identifier: MIT */
/* fuzz_frame.c: libFuzzer target for the frame reader, wire_frame_decode() and the collector's
 * checks of a report (col_report_check()). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire.h"

#define NOW_MS 1796212800000LL
#define RETENTION_MS (7 * 86400000LL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Deterministic chunk sizes, so that a crashing input replays the same way. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * A decoded frame must pass validation and encode again, and the encoding
 * must decode.  Anything else means decode let through what encode refuses.
 */
static void check_frame(const uint8_t *body, size_t len)
{
	wire_frame_t f, g;
	uint8_t *out = NULL;
	size_t outlen = 0;

	if (wire_frame_decode(body, len, &f) < 0) {
		if (f.type != WIRE_NONE)
			abort();
		return;
	}
	if (wire_frame_validate(&f) != 0)
		abort();
	if (f.type == WIRE_REPORT) {
		const char *why = NULL;

		if (col_report_check(&f.report, NOW_MS, RETENTION_MS, &why) < 0 && why == NULL)
			abort();   /* a refusal always says why */
	}
	if (wire_frame_encode(&f, UINT32_MAX, &out, &outlen) != 0)
		abort();
	if (wire_frame_decode(out + WIRE_HDR_LEN, outlen - WIRE_HDR_LEN, &g) != 0)
		abort();
	if (g.type != f.type)
		abort();
	wire_frame_close(&g);
	wire_frame_close(&f);
	free(out);
}

/* wire_dec_read()'s callback: every frame it hands out is checked; it stops after three, as a closing connection does. */
static int on_frame(void *ctx, const uint8_t *body, size_t len)
{
	size_t *n = ctx;

	if (len == 0)
		abort();
	check_frame(body, len);
	return ++*n == 3;
}

/*
 * The first byte seeds the chunk sizes and picks the max frame (small, so
 * that the limit is reached, or the default) and the reader: the daemons'
 * read loop (wire_dec_read) or the decoder's calls one by one, checked
 * against the stream; the rest is the stream.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p, *end;
	size_t frame_start = 0, pos = 0;
	uint32_t seed;
	wire_dec_t d;

	if (size < 1)
		return 0;
	seed = 0x9e3779b9u ^ data[0];
	if (wire_dec_init(&d, (data[0] & 1) ? 512 : 0) < 0)
		abort();
	p = data + 1;
	end = data + size;
	if (data[0] & 2) {
		size_t frames = 0;

		while (p < end && frames < 3) {
			uint32_t r = next_rand(&seed);
			size_t chunk = 1 + (r >> 8) % ((r & 1) ? 8 : 4096);

			if (chunk > (size_t)(end - p))
				chunk = (size_t)(end - p);
			if (wire_dec_read(&d, p, chunk, on_frame, &frames) < 0)
				break;
			p += chunk;
		}
		goto out;
	}
	while (p < end) {
		uint32_t r = next_rand(&seed);
		size_t chunk = 1 + (r >> 8) % ((r & 1) ? 8 : 4096);
		const uint8_t *body;
		size_t blen;
		ssize_t n;

		if (chunk > (size_t)(end - p))
			chunk = (size_t)(end - p);
		while (chunk > 0) {
			n = wire_dec_feed(&d, p, chunk, &body, &blen);
			if (n < 0)
				goto out;
			if (n == 0) {
				p += chunk;
				pos += chunk;
				break;
			}
			if ((size_t)n > chunk)
				abort();
			/* The body is the stream's bytes after this frame's header. */
			pos += (size_t)n;
			if (blen == 0 || blen > d.max_frame ||
			    frame_start + WIRE_HDR_LEN + blen != pos ||
			    memcmp(body, data + 1 + frame_start + WIRE_HDR_LEN,
				   blen) != 0)
				abort();
			check_frame(body, blen);
			frame_start = pos;
			p += n;
			chunk -= (size_t)n;
		}
	}
	if (wire_dec_pending(&d) != pos - frame_start)
		abort();
out:
	wire_dec_close(&d);
	return 0;
}
