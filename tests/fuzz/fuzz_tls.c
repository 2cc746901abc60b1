/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tls.c: libFuzzer target for the TLS sessions over memory (common/tls.c)
 * on a server's side, as the collector will run them: what a peer sends goes
 * in (cut into the pieces the input's first byte says), the server's answers
 * come out, plaintext is read, until the session fails or the bytes end.
 * With the first byte odd, the bytes are a real client's (a client session
 * in the same process) with the rest of the input XORed into them, so the
 * mutations reach past the ClientHello.  A server certificate and key are
 * made once, into a directory removed at exit.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fs-fuzz-tls.XXXXXX";
static char crt[64], key[64];
static fs_tls_ctx_t *server_ctx, *client_ctx;

static void cleanup(void)
{
	fs_tls_ctx_free(server_ctx);
	fs_tls_ctx_free(client_ctx);
	unlink(crt);
	unlink(key);
	rmdir(dir);
}

/* A self-signed certificate for fuzz.test, and the two ends' contexts on it. */
static void init(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	fs_tls_files_t sf = {crt, key, NULL}, cf = {NULL, NULL, crt};
	char err[256];
	FILE *f;

	if (k == NULL || x == NULL || mkdtemp(dir) == NULL)
		abort();
	snprintf(crt, sizeof(crt), "%s/c.crt", dir);
	snprintf(key, sizeof(key), "%s/c.key", dir);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 365);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"fuzz.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (X509_sign(x, k, EVP_sha256()) <= 0 || (f = fopen(crt, "w")) == NULL)
		abort();
	PEM_write_X509(f, x);
	fclose(f);
	if ((f = fopen(key, "w")) == NULL)
		abort();
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(key, 0600);
	X509_free(x);
	EVP_PKEY_free(k);
	/* The client trusts the certificate itself, by the address (no name check). */
	if (fs_tls_ctx_new(true, &sf, &server_ctx, err, sizeof(err)) != 0 ||
	    fs_tls_ctx_new(false, &cf, &client_ctx, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_tls: %s\n", err);
		abort();
	}
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[16384];
	fs_tls_t *s = NULL, *c = NULL;
	size_t piece, at = 1;

	if (server_ctx == NULL)
		init();
	if (size < 1)
		return 0;
	piece = (size_t)(data[0] >> 1) + 1;
	if (fs_tls_new(server_ctx, NULL, &s) != 0 ||
	    ((data[0] & 1) && fs_tls_new(client_ctx, "fuzz.test", &c) != 0))
		abort();
	if (c != NULL)
		fs_tls_write(c, "hello", 5);
	for (int round = 0; round < 64; round++) {
		size_t n = 0;
		ssize_t r;

		if (c != NULL) {
			/* The client's bytes, bent by the input. */
			fs_tls_handshake(c);
			n = fs_tls_take(c, buf, piece);
			for (size_t i = 0; i < n && at < size; i++)
				buf[i] ^= data[at++];
		} else if (at < size) {
			n = size - at < piece ? size - at : piece;
			memcpy(buf, data + at, n);
			at += n;
		}
		if (n == 0 && (c == NULL || at >= size))
			break;
		if (fs_tls_recv(s, buf, n) != 0)
			abort();
		r = fs_tls_read(s, buf, sizeof(buf));
		if (r > (ssize_t)sizeof(buf) || (r < 0 && r != FS_TLS_CLOSED && r != -EPROTO))
			abort();
		if (r < 0)
			break;
		/* The server's answers, to the client if there is one. */
		while ((n = fs_tls_take(s, buf, sizeof(buf))) > 0)
			if (c != NULL && fs_tls_recv(c, buf, n) != 0)
				abort();
	}
	fs_tls_close(s);
	while (fs_tls_take(s, buf, sizeof(buf)) > 0)
		;
	fs_tls_free(s);
	fs_tls_free(c);
	return 0;
}
