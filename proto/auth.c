/* SPDX-License-Identifier: MIT */
/* auth.c: HMAC-SHA256 of the challenge, and its constant-time comparison. */
#include "auth.h"

#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int wire_auth_compute(const uint8_t *token, size_t token_len,
                      const uint8_t nonce[WIRE_NONCE_LEN],
                      const uint8_t agent_id[WIRE_AGENT_ID_LEN],
                      uint8_t out[WIRE_AUTH_LEN])
{
	uint8_t msg[WIRE_NONCE_LEN + WIRE_AGENT_ID_LEN];
	unsigned int len = 0;

	if (token_len > WIRE_TOKEN_MAX)
		return -EINVAL;
	memcpy(msg, nonce, WIRE_NONCE_LEN);
	memcpy(msg + WIRE_NONCE_LEN, agent_id, WIRE_AGENT_ID_LEN);
	if (HMAC(EVP_sha256(), token, (int)token_len, msg, sizeof(msg), out, &len) == NULL ||
	    len != WIRE_AUTH_LEN)
		return -EIO;
	return 0;
}

int wire_auth_equal(const uint8_t a[WIRE_AUTH_LEN], const uint8_t b[WIRE_AUTH_LEN])
{
	return CRYPTO_memcmp(a, b, WIRE_AUTH_LEN) == 0;
}
