/* SPDX-License-Identifier: MIT */
/* wire.h: framing, validation and plain C frames for the agent <-> collector protocol. */
#ifndef FLEETSTAT_WIRE_H
#define FLEETSTAT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "report.h"

/*
 * On the stream every frame is a 4-byte big-endian length L followed by L
 * bytes of a protobuf fleetstat.v1.Frame, 1 <= L <= max frame.  The protobuf
 * types stay inside wire.c; everything here is plain C.
 *
 * Error convention of this module:
 *   -EPROTO    not a frame: zero length, bytes that are not a protobuf Frame,
 *              a Frame with no (or an unknown) body.
 *   -EMSGSIZE  a length above the max frame (decoding or encoding).
 *   -EINVAL    a well-formed Frame whose fields break the rules below.
 *   -ENOMEM    out of memory.
 * A collector maps -EPROTO/-EMSGSIZE to ERROR_CODE_BAD_FRAME and -EINVAL to
 * ERROR_CODE_INVALID.
 */

#define WIRE_PROTOCOL 1
#define WIRE_MAX_FRAME 1048576 /* default max frame body, bytes */
#define WIRE_HDR_LEN 4

#define WIRE_NONCE_LEN 32
#define WIRE_AGENT_ID_LEN 16
#define WIRE_AUTH_LEN 32       /* HMAC-SHA256; auth is 0 or this many bytes */

/* Limits applied to everything that comes from the network. */
#define WIRE_MAX_STR 255       /* bytes of any string (printable UTF-8) */
#define WIRE_MAX_TIER 32       /* tier: [a-z0-9_-]{1,32} */
#define WIRE_MAX_LABELS 64
#define WIRE_MAX_TOP_IPS 10000
#define WIRE_MAX_LISTENERS 65536
#define WIRE_MAX_COUNTERS 1024
#define WIRE_MAX_SYSCTLS 1024

/* Frame body types; the values are the oneof field numbers of Frame. */
typedef enum {
	WIRE_NONE = 0,
	WIRE_CHALLENGE = 1,
	WIRE_HELLO = 2,
	WIRE_WELCOME = 3,
	WIRE_REPORT = 4,
	WIRE_ACK = 5,
	WIRE_ERROR = 6,
} wire_type_t;

/* Error.code; the values are the contract's ErrorCode numbers. */
typedef enum {
	WIRE_ERR_UNSPECIFIED = 0,
	WIRE_ERR_BAD_FRAME = 1,
	WIRE_ERR_BAD_PROTOCOL = 2,
	WIRE_ERR_AUTH_FAILED = 3,
	WIRE_ERR_INVALID = 4,
	WIRE_ERR_OVERLOADED = 5,
	WIRE_ERR_INTERNAL = 6,
} wire_errcode_t;

typedef struct {
	uint32_t protocol;
	uint8_t nonce[WIRE_NONCE_LEN];
} wire_challenge_t;

typedef struct {
	uint32_t protocol;
	uint8_t agent_id[WIRE_AGENT_ID_LEN];
	char *hostname;            /* 1..255 bytes */
	char *tier;                /* [a-z0-9_-]{1,32} */
	wire_kv_t *labels;         /* name 1..255 bytes, value 0..255 bytes */
	size_t n_labels;
	char *agent_version;       /* 0..255 bytes */
	uint8_t auth[WIRE_AUTH_LEN];
	size_t auth_len;           /* 0 (no token) or WIRE_AUTH_LEN */
} wire_hello_t;

typedef struct {
	uint32_t protocol;
	uint64_t last_seq;
} wire_welcome_t;

typedef struct {
	uint64_t seq;
} wire_ack_t;

typedef struct {
	/*
	 * A wire_errcode_t, but decoded as received: a newer peer may send a
	 * code this build does not know, which callers treat as UNSPECIFIED.
	 */
	int32_t code;
	char *message;             /* 0..255 bytes */
} wire_error_t;

/*
 * One frame.  A decoded frame owns every string and array it points to, all
 * allocated with malloc(); wire_frame_close() frees them.  A frame the caller
 * builds for wire_frame_encode() may point to anything (string literals,
 * stack arrays): encoding only borrows it, and NULL strings encode as "".
 */
typedef struct {
	wire_type_t type;
	union {
		wire_challenge_t challenge;
		wire_hello_t hello;
		wire_welcome_t welcome;
		wire_report_t report;
		wire_ack_t ack;
		wire_error_t error;
	};
} wire_frame_t;

/* Frees what f owns (per its type) and zeroes it; NULL is a no-op. */
void wire_frame_close(wire_frame_t *f);

/* Frees what a hello owns and zeroes it; NULL is a no-op. */
void wire_hello_close(wire_hello_t *h);

/*
 * Validation: pure functions over plain structs, borrowed for the call.
 * They return 0 or -EINVAL.  They check what is static in DESIGN section 4:
 * IP lengths 4 or 16, strings <= 255 bytes of printable UTF-8 (no C0/C1
 * control characters and no DEL, so a TAB in a sysctl value must be turned
 * into a space by the agent), the tier pattern, protocol >= 1, seq >= 1,
 * listener ports <= 65535, counts within the WIRE_MAX_* caps and no duplicate
 * names among labels, counters or sysctls.  Checks against the collector's
 * state (seq above the last stored one, timestamps against its clock) are the
 * collector's.  Duplicate IPs in top.ips are not looked for.  (Decoding
 * also refuses a NUL byte inside any string field, which these functions
 * cannot see in a C string.)
 */
int wire_hello_validate(const wire_hello_t *h);
int wire_report_validate(const wire_report_t *r);
int wire_frame_validate(const wire_frame_t *f);

/* s[0..len) is 0..WIRE_MAX_STR bytes of printable UTF-8 (s borrowed). */
bool wire_text_valid(const char *s, size_t len);
/* An absolute path of printable UTF-8, at most WIRE_MAX_PATH bytes (a log's, in LogMark). */
bool wire_path_valid(const char *s);

/* s (NUL-terminated, borrowed) matches [a-z0-9_-]{1,32}. */
bool wire_tier_valid(const char *s);

/*
 * Validates f and encodes it as one frame: the 4-byte big-endian length and
 * the Frame bytes.  max_frame bounds the body (0 means WIRE_MAX_FRAME).
 * f is borrowed.  On success *out is new, freed with free(), and *len is its
 * length (header included).  Returns 0, -EINVAL (invalid frame or type),
 * -EMSGSIZE (body above max_frame) or -ENOMEM; *out is untouched on error.
 */
int wire_frame_encode(const wire_frame_t *f, size_t max_frame,
		      uint8_t **out, size_t *len);

/*
 * Decodes one frame body (the bytes after the length; body borrowed) into
 * *out: unpacks the protobuf, converts and validates.  Returns 0 and fills
 * *out, which the caller releases with wire_frame_close(); or -EPROTO
 * (len 0, not a Frame, no or unknown body), -EINVAL (invalid fields) or
 * -ENOMEM, with *out zeroed and nothing leaked.  Strings in a decoded frame
 * are never NULL.
 *
 * Memory: protobuf-c builds the whole message tree before anything can be
 * checked; a hostile body (e.g. 1 MiB of empty RemoteIp entries) makes that
 * ~50 times its size for the duration of the call.  All of it is freed
 * before returning, so a single-threaded collector pays it once at a time.
 */
int wire_frame_decode(const uint8_t *body, size_t len, wire_frame_t *out);

/*
 * Incremental frame reader for one stream.  It accepts bytes split at any
 * offset, keeps at most one frame (header in hdr, body in buf, which grows
 * with the bytes actually received up to max_frame and is reused), and never
 * allocates for a length it has not checked against max_frame.
 */
typedef struct {
	size_t max_frame;
	uint8_t hdr[WIRE_HDR_LEN];
	size_t hdr_have;     /* header bytes received, 0..4 */
	size_t body_len;     /* length from the header, once hdr_have == 4 */
	size_t body_have;    /* body bytes copied into buf */
	uint8_t *buf;
	size_t cap;
	bool ready;          /* a frame was returned; start a new one next */
	int err;             /* sticky: once broken, the stream stays broken */
} wire_dec_t;

/*
 * max_frame 0 means WIRE_MAX_FRAME; above UINT32_MAX gives -EINVAL.
 * Allocates nothing; returns 0.
 */
int wire_dec_init(wire_dec_t *d, size_t max_frame);

/* Frees the buffer; d may be reused after wire_dec_init(). NULL is a no-op. */
void wire_dec_close(wire_dec_t *d);

/*
 * Feeds data[0..len) (borrowed) to the reader, picohttpparser style:
 *   > 0  a frame is complete: that many bytes of data were consumed, and
 *        *body / *body_len hold the frame body (without the length).  The
 *        body is borrowed: it points into data or into d's buffer and is
 *        valid until the next wire_dec_feed() or wire_dec_close(), and no
 *        longer than data.  Call again with the rest of data.
 *   = 0  all len bytes were consumed (buffered); more are needed.
 *   < 0  -EPROTO (length 0), -EMSGSIZE (length above max_frame) or -ENOMEM.
 *        The error is sticky: every later call returns it.
 * The body is not decoded; pass it to wire_frame_decode().
 */
ssize_t wire_dec_feed(wire_dec_t *d, const uint8_t *data, size_t len,
		      const uint8_t **body, size_t *body_len);

/*
 * Bytes of an unfinished frame held by d: nonzero at the end of a stream
 * means the peer sent a truncated frame.
 */
size_t wire_dec_pending(const wire_dec_t *d);

/*
 * Called with each complete frame body (borrowed, valid during the call);
 * nonzero stops the reading (the connection is closing).
 */
typedef int (*wire_frame_cb)(void *ctx, const uint8_t *body, size_t len);

/*
 * The read loop of a stream: feeds data[0..len) (borrowed) to d and calls
 * on_frame(ctx, ...) for every frame the bytes complete, in order, until the
 * bytes run out or on_frame returns nonzero.  0 when all was taken (a partial
 * frame stays in d) or on_frame stopped it; else wire_dec_feed()'s error,
 * after the frames before the bad one were handed out: a stream's good frames
 * count even when a bad one follows (unlike STYLE's call-back-or-fail rule,
 * this is a synchronous loop, and the caller closes on the error).
 */
int wire_dec_read(wire_dec_t *d, const uint8_t *data, size_t len, wire_frame_cb on_frame,
                  void *ctx);

/* What a wire_dec_feed() error means, for messages: "zero-length frame", ... */
const char *wire_dec_strerror(int err);

#endif
