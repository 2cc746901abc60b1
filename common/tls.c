/* SPDX-License-Identifier: MIT */
/* tls.c: TLS sessions over memory BIOs (OpenSSL). */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "secret.h"

/* A PEM file larger than this is not one of ours (an RSA-16384 key is about 13 KB). */
#define PEM_MAX (256 * 1024)

struct fs_tls_ctx {
	SSL_CTX *ssl;
};

struct fs_tls {
	SSL *ssl;
	BIO *in, *out;     /* the peer's bytes for OpenSSL; OpenSSL's bytes for the peer */
	fs_buf_t early;    /* plaintext written before the handshake ended */
	bool closed;       /* fs_tls_close() said goodbye */
	char err[256];
};

/* OpenSSL's reason for the last failure (its error queue, emptied) after what. */
static void ssl_reason(char *out, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char r[200] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, r, sizeof(r));
	ERR_clear_error();
	snprintf(out, len, "%s: %s", what, r);
}

int fs_tls_pem_load(const char *path, bool secret, char **pem, size_t *len, char *err,
                    size_t errlen)
{
	char *b = malloc(PEM_MAX + 1);
	int rc;

	*pem = NULL;
	*len = 0;
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = secret ? fs_secret_read(path, b, PEM_MAX, len) : fs_file_read(path, b, PEM_MAX, len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, rc == -E2BIG ? "too large for a PEM file"
		                                                   : fs_secret_strerror(rc));
		explicit_bzero(b, PEM_MAX + 1);
		free(b);
		return rc;
	}
	b[*len] = '\0';
	*pem = b;
	return 0;
}

/* Keys are read unencrypted: never a passphrase prompt on a daemon's terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* A certificate and its private key from PEM text: 0, or -EINVAL with why. */
int fs_tls_pem_check(const char *cert, size_t certlen, const char *key, size_t keylen,
                     char *err, size_t errlen)
{
	BIO *cb = BIO_new_mem_buf(cert, (int)certlen), *kb = BIO_new_mem_buf(key, (int)keylen);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, no_passphrase, NULL) : NULL;
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
	int rc = 0;

	if (x == NULL) {
		ssl_reason(err, errlen, "the certificate");
		rc = -EINVAL;
	} else if (k == NULL) {
		ssl_reason(err, errlen, "the private key (an encrypted one is not read)");
		rc = -EINVAL;
	} else if (X509_check_private_key(x, k) != 1) {
		ssl_reason(err, errlen, "the private key is not the certificate's");
		rc = -EINVAL;
	}
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

/* The private key of path, read as secrets are: only its owner may read the file. */
static int load_key(SSL_CTX *ssl, const char *path, char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;
	char *pem;
	size_t n;
	BIO *b;
	int rc;

	if ((rc = fs_tls_pem_load(path, true, &pem, &n, err, errlen)) < 0)
		return rc;
	if ((b = BIO_new_mem_buf(pem, (int)n)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (k == NULL) {
		char why[200];

		ssl_reason(why, sizeof(why), "OpenSSL");
		snprintf(err, errlen, "%s: not an unencrypted private key (%s)", path, why);
		rc = -EINVAL;
	} else if (SSL_CTX_use_PrivateKey(ssl, k) != 1 || SSL_CTX_check_private_key(ssl) != 1) {
		char why[200];

		ssl_reason(why, sizeof(why), "OpenSSL");
		snprintf(err, errlen, "%s: not the key of the certificate (%s)", path, why);
		rc = -EINVAL;
	}
out:
	EVP_PKEY_free(k);
	explicit_bzero(pem, n);
	free(pem);
	return rc;
}

int fs_tls_ctx_new(bool server, const fs_tls_files_t *f, fs_tls_ctx_t **out, char *err,
                   size_t errlen)
{
	fs_tls_ctx_t *c;
	SSL_CTX *ssl;
	int rc;

	*out = NULL;
	if ((server && (f->cert == NULL || f->key == NULL)) || (!server && f->ca == NULL) ||
	    (f->cert == NULL) != (f->key == NULL)) {
		snprintf(err, errlen, server ? "a TLS server needs a certificate and its key"
		                             : f->ca == NULL ? "a TLS client needs the CA to check the"
		                                               " server by"
		                                             : "a certificate needs its key");
		return -EINVAL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->ssl = ssl;
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	/* No renegotiation, no compression; the peer's cipher order is not ours to follow. */
	SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	                         SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	if (f->cert != NULL && SSL_CTX_use_certificate_chain_file(ssl, f->cert) != 1) {
		ssl_reason(err, errlen, f->cert);
		rc = -EINVAL;
		goto fail;
	}
	if (f->key != NULL && (rc = load_key(ssl, f->key, err, errlen)) < 0)
		goto fail;
	if (f->ca != NULL) {
		if (SSL_CTX_load_verify_locations(ssl, f->ca, NULL) != 1) {
			ssl_reason(err, errlen, f->ca);
			rc = -EINVAL;
			goto fail;
		}
		/*
		 * A server wants a client certificate for client authentication (the
		 * purpose OpenSSL checks a client's chain for), a client wants the
		 * server's for its name.
		 */
		SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
		                   NULL);
	}
	*out = c;
	return 0;
fail:
	SSL_CTX_free(ssl);
	free(c);
	return rc;
}

void fs_tls_ctx_free(fs_tls_ctx_t *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

int fs_tls_new(fs_tls_ctx_t *ctx, const char *peer_name, fs_tls_t **out)
{
	unsigned char ip[16];
	fs_tls_t *t;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	/* SSL_new holds ctx->ssl: a reload may free the context under this session. */
	if ((t->ssl = SSL_new(ctx->ssl)) == NULL || (t->in = BIO_new(BIO_s_mem())) == NULL ||
	    (t->out = BIO_new(BIO_s_mem())) == NULL)
		goto fail;
	BIO_set_mem_eof_return(t->in, -1);   /* no bytes yet: "want more", not the end */
	SSL_set_bio(t->ssl, t->in, t->out);  /* owned by the session from here */
	if (peer_name == NULL) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (inet_pton(AF_INET, peer_name, ip) == 1 || inet_pton(AF_INET6, peer_name, ip) == 1) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), peer_name) != 1)
				goto fail;
		} else if (SSL_set1_host(t->ssl, peer_name) != 1 ||
		           SSL_set_tlsext_host_name(t->ssl, peer_name) != 1) {
			goto fail;
		}
	}
	*out = t;
	return 0;
fail:
	if (t->ssl == NULL || SSL_get_rbio(t->ssl) == NULL) {
		BIO_free(t->in);
		BIO_free(t->out);
	}
	SSL_free(t->ssl);
	free(t);
	ERR_clear_error();
	return -ENOMEM;
}

void fs_tls_free(fs_tls_t *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);   /* and its BIOs */
	fs_buf_close(&t->early);
	free(t);
}

int fs_tls_recv(fs_tls_t *t, const void *p, size_t n)
{
	while (n > 0) {
		int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
		int w = BIO_write(t->in, p, chunk);

		if (w <= 0)
			return -ENOMEM;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* What an SSL_* call's result r means: 0 to wait for the peer, or -EPROTO (t->err says why). */
static int failed(fs_tls_t *t, int r, const char *what)
{
	int e = SSL_get_error(t->ssl, r);
	long v;

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return 0;
	}
	if (t->err[0]) {
		/* A session that failed stays failed; the first reason is the one. */
		ERR_clear_error();
		return -EPROTO;
	}
	if ((v = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		snprintf(t->err, sizeof(t->err), "%s: the peer's certificate: %s", what,
		         X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else if (e == SSL_ERROR_SSL) {
		ssl_reason(t->err, sizeof(t->err), what);
	} else {
		snprintf(t->err, sizeof(t->err), "%s: %s", what,
		         e == SSL_ERROR_ZERO_RETURN ? "the peer closed the session" : "failed");
		ERR_clear_error();
	}
	return -EPROTO;
}

/* Plaintext written before the handshake ended, now that it has. */
static int flush_early(fs_tls_t *t)
{
	int rc = 0;

	if (t->early.len > 0) {
		rc = fs_tls_write(t, t->early.p, t->early.len);
		fs_buf_reset(&t->early);
	}
	return rc;
}

int fs_tls_handshake(fs_tls_t *t)
{
	int r;

	if (SSL_is_init_finished(t->ssl))
		return 1;
	if ((r = SSL_do_handshake(t->ssl)) != 1)
		return failed(t, r, "TLS handshake");
	if (flush_early(t) < 0)
		return -EPROTO;
	return 1;
}

ssize_t fs_tls_read(fs_tls_t *t, void *buf, size_t cap)
{
	int r, rc;

	if ((rc = fs_tls_handshake(t)) <= 0)
		return rc;
	if ((r = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap)) > 0)
		return r;
	if (SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN)
		return FS_TLS_CLOSED;
	return failed(t, r, "TLS read");
}

int fs_tls_feed(fs_tls_t *t, const void *p, size_t n, void *buf, size_t cap,
                int (*fn)(void *ctx, const void *plain, size_t len), void *ctx)
{
	ssize_t r;

	if (fs_tls_recv(t, p, n) < 0)
		return -ENOMEM;
	while ((r = fs_tls_read(t, buf, cap)) > 0)
		if (fn(ctx, buf, (size_t)r))
			return 1;
	return (int)r;   /* 0 (none yet, or the handshake wants more), FS_TLS_CLOSED, -EPROTO */
}

bool fs_tls_record_start(const void *p, size_t n)
{
	const unsigned char *b = p;

	/* A content type (change_cipher_spec, alert, handshake, application data), then 3.x. */
	return n > 0 && b[0] >= 20 && b[0] <= 23 && (n < 2 || b[1] == 3);
}

int fs_tls_write(fs_tls_t *t, const void *p, size_t n)
{
	if (!SSL_is_init_finished(t->ssl)) {
		fs_buf_add(&t->early, p, n);
		return t->early.err ? -ENOMEM : 0;
	}
	while (n > 0) {
		/* Into a memory BIO, which takes everything: whole records or an error. */
		int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
		int w = SSL_write(t->ssl, p, chunk);

		if (w <= 0) {
			failed(t, w, "TLS write");
			return -EPROTO;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

size_t fs_tls_pending(const fs_tls_t *t)
{
	return BIO_ctrl_pending(t->out);
}

size_t fs_tls_take(fs_tls_t *t, void *buf, size_t cap)
{
	int r = BIO_read(t->out, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);

	return r > 0 ? (size_t)r : 0;
}

void fs_tls_close(fs_tls_t *t)
{
	if (t->closed)
		return;
	t->closed = true;
	if (SSL_is_init_finished(t->ssl))
		SSL_shutdown(t->ssl);   /* the close_notify, into the out BIO */
	ERR_clear_error();
}

const char *fs_tls_error(const fs_tls_t *t)
{
	return t->err;
}

int fs_tls_peer(const fs_tls_t *t, char *subject, size_t len, char sha256[65])
{
	X509 *x = SSL_get0_peer_certificate(t->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	BIO *b;

	subject[0] = '\0';
	sha256[0] = '\0';
	if (x == NULL)
		return -ENOENT;
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		int w;

		/*
		 * RFC 2253 on one line, every byte past ASCII and every control
		 * escaped: printable ASCII whatever the certificate holds, so a cut
		 * at len never splits a character, and the store takes it as text.
		 */
		X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
		w = BIO_read(b, subject, len > 1 ? (int)len - 1 : 0);
		subject[w > 0 ? w : 0] = '\0';
		BIO_free(b);
	}
	if (X509_digest(x, EVP_sha256(), md, &n) == 1)
		for (unsigned int i = 0; i < n && i < 32; i++)
			snprintf(sha256 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

const char *fs_tls_version(const fs_tls_t *t)
{
	return SSL_is_init_finished(t->ssl) ? SSL_get_version(t->ssl) : "";
}
