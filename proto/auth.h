/* SPDX-License-Identifier: MIT */
/* auth.h: the Hello's proof of the shared token (DESIGN §4), for both ends. */
#ifndef WIRE_AUTH_H
#define WIRE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Longest token accepted (the token file's first line). */
#define WIRE_TOKEN_MAX 1024

/*
 * out = HMAC-SHA256(token, nonce || agent_id).  token is the token file's
 * first line without its line ending, as bytes.  0, or -EIO if the crypto
 * library failed.
 */
int wire_auth_compute(const uint8_t *token, size_t token_len,
                      const uint8_t nonce[WIRE_NONCE_LEN],
                      const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                      uint8_t out[WIRE_AUTH_LEN]);

/* 1 if a and b are equal, compared in constant time; 0 otherwise. */
int wire_auth_equal(const uint8_t a[WIRE_AUTH_LEN], const uint8_t b[WIRE_AUTH_LEN]);

#endif
