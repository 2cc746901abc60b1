/* SPDX-License-Identifier: MIT */
/*
 * test_tls.c: TLS sessions over memory (common/tls.c), a client and a server
 * handing each other their bytes, no sockets.  The certificates are made here,
 * with OpenSSL, into a temporary directory: a CA, another CA, a server
 * certificate for collector.test and 127.0.0.1, and client certificates that
 * are good, expired, for servers only, or from the other CA.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls.h"

static char dir[] = "/tmp/fs-test-tls.XXXXXX";

typedef struct {
	EVP_PKEY *key;
	X509 *cert;
} pair_t;

static pair_t ca, other_ca;

static char *path(const char *name)
{
	static char p[8][256];
	static int k;
	char *out = p[k++ % 8];

	snprintf(out, sizeof(p[0]), "%s/%s", dir, name);
	return out;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &v, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/*
 * A certificate for cn, valid from `from` to `to` seconds from now, signed
 * by issuer (NULL: itself, a CA); eku and san as openssl's config says them.
 */
static pair_t make(const char *cn, const pair_t *issuer, long from, long to, const char *eku,
                   const char *san)
{
	static long serial = 1;
	pair_t p = {EVP_EC_gen("P-256"), X509_new()};
	X509 *iss;

	assert_non_null(p.key);
	assert_non_null(p.cert);
	iss = issuer ? issuer->cert : p.cert;
	X509_set_version(p.cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(p.cert), serial++);
	X509_gmtime_adj(X509_getm_notBefore(p.cert), from);
	X509_gmtime_adj(X509_getm_notAfter(p.cert), to);
	X509_set_pubkey(p.cert, p.key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(p.cert), "O", MBSTRING_ASC,
	                           (const unsigned char *)"fleetstat test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(p.cert), "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(p.cert, X509_get_subject_name(iss));
	add_ext(p.cert, iss, NID_subject_key_identifier, "hash");
	if (issuer == NULL) {
		add_ext(p.cert, iss, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(p.cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(p.cert, iss, NID_authority_key_identifier, "keyid");
		add_ext(p.cert, iss, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(p.cert, iss, NID_key_usage, "critical,digitalSignature");
		add_ext(p.cert, iss, NID_ext_key_usage, eku);
		if (san)
			add_ext(p.cert, iss, NID_subject_alt_name, san);
	}
	assert_true(X509_sign(p.cert, issuer ? issuer->key : p.key, EVP_sha256()) > 0);
	return p;
}

/* name.crt and name.key (mode 600) in dir. */
static void save(const pair_t *p, const char *name)
{
	char file[64];
	FILE *f;

	snprintf(file, sizeof(file), "%s.crt", name);
	assert_non_null(f = fopen(path(file), "w"));
	assert_int_equal(PEM_write_X509(f, p->cert), 1);
	fclose(f);
	snprintf(file, sizeof(file), "%s.key", name);
	assert_non_null(f = fopen(path(file), "w"));
	assert_int_equal(PEM_write_PrivateKey(f, p->key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_int_equal(chmod(path(file), 0600), 0);
}

static void free_pair(pair_t *p)
{
	EVP_PKEY_free(p->key);
	X509_free(p->cert);
}

static int setup(void **state)
{
	pair_t x;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	ca = make("fleetstat test CA", NULL, -3600, 86400, NULL, NULL);
	other_ca = make("another CA", NULL, -3600, 86400, NULL, NULL);
	save(&ca, "ca");
	save(&other_ca, "other-ca");
	x = make("collector.test", &ca, -3600, 86400, "serverAuth", "DNS:collector.test,IP:127.0.0.1");
	save(&x, "server");
	free_pair(&x);
	x = make("web1", &ca, -3600, 86400, "clientAuth", NULL);
	save(&x, "agent");
	free_pair(&x);
	x = make("web2", &ca, -7200, -3600, "clientAuth", NULL);
	save(&x, "expired");
	free_pair(&x);
	x = make("web3", &ca, -3600, 86400, "serverAuth", NULL);
	save(&x, "server-only");
	free_pair(&x);
	x = make("web4", &other_ca, -3600, 86400, "clientAuth", NULL);
	save(&x, "foreign");
	free_pair(&x);
	x = make("collector.test", &other_ca, -3600, 86400, "serverAuth", "DNS:collector.test");
	save(&x, "foreign-server");
	free_pair(&x);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	free_pair(&ca);
	free_pair(&other_ca);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static fs_tls_ctx_t *ctx(bool server, const char *cert, const char *key, const char *ca_file)
{
	fs_tls_files_t f = {cert ? path(cert) : NULL, key ? path(key) : NULL,
	                    ca_file ? path(ca_file) : NULL};
	char err[300] = "";
	fs_tls_ctx_t *c = NULL;

	if (fs_tls_ctx_new(server, &f, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return c;
}

/* Moves what from has for the peer into to, `step` bytes at a time (0: all at once). */
static size_t move(fs_tls_t *from, fs_tls_t *to, size_t step)
{
	unsigned char buf[65536];
	size_t n, total = 0;

	while ((n = fs_tls_take(from, buf, step ? step : sizeof(buf))) > 0) {
		assert_int_equal(fs_tls_recv(to, buf, n), 0);
		total += n;
		if (step)
			break;   /* a byte or a few per turn: records arrive cut anywhere */
	}
	return total;
}

/* Client and server hand each other bytes until both are done or one fails (bounded). */
static void pump(fs_tls_t *c, fs_tls_t *s, size_t step, int *rc_c, int *rc_s)
{
	*rc_c = *rc_s = 0;
	for (int i = 0; i < 20000; i++) {
		size_t moved;

		if (*rc_c == 0)
			*rc_c = fs_tls_handshake(c);
		moved = move(c, s, step);
		if (*rc_s == 0)
			*rc_s = fs_tls_handshake(s);
		moved += move(s, c, step);
		if ((*rc_c != 0 && *rc_s != 0) || (moved == 0 && (*rc_c < 0 || *rc_s < 0)))
			return;
	}
	fail_msg("the handshake did not settle");
}

/* A session pair: the server with mutual TLS (or not), the client naming peer. */
typedef struct {
	fs_tls_ctx_t *sc, *cc;
	fs_tls_t *s, *c;
} pair_s;

static void open_pair(pair_s *p, bool mutual, const char *server_cert, const char *client_cert,
                      const char *client_ca, const char *peer)
{
	char key[64] = "";

	if (client_cert)
		snprintf(key, sizeof(key), "%.*s.key", (int)(strlen(client_cert) - 4), client_cert);
	p->sc = ctx(true, server_cert ? server_cert : "server.crt",
	            server_cert ? "foreign-server.key" : "server.key", mutual ? "ca.crt" : NULL);
	p->cc = ctx(false, client_cert, client_cert ? key : NULL, client_ca ? client_ca : "ca.crt");
	assert_int_equal(fs_tls_new(p->sc, NULL, &p->s), 0);
	assert_int_equal(fs_tls_new(p->cc, peer ? peer : "collector.test", &p->c), 0);
}

static void close_pair(pair_s *p)
{
	fs_tls_free(p->s);
	fs_tls_free(p->c);
	fs_tls_ctx_free(p->sc);
	fs_tls_ctx_free(p->cc);
}

static void read_exact(fs_tls_t *t, const char *want)
{
	char buf[256];
	ssize_t n = fs_tls_read(t, buf, sizeof(buf) - 1);

	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

/* Mutual TLS, records cut at every byte: plaintext both ways, the peer known, a clean close. */
static void test_tls_mutual_roundtrip(void **state)
{
	char subject[256], sha[65];
	pair_s p;
	int rc_c, rc_s;

	(void)state;
	for (size_t step = 0; step <= 1; step++) {
		open_pair(&p, true, NULL, "agent.crt", NULL, NULL);
		/* Written before the handshake: sent once it ends. */
		assert_int_equal(fs_tls_write(p.c, "hello", 5), 0);
		pump(p.c, p.s, step, &rc_c, &rc_s);
		assert_int_equal(rc_c, 1);
		assert_int_equal(rc_s, 1);
		assert_string_equal(fs_tls_version(p.s), "TLSv1.3");
		move(p.c, p.s, 0);
		read_exact(p.s, "hello");
		assert_int_equal(fs_tls_write(p.s, "challenge", 9), 0);
		move(p.s, p.c, 0);
		read_exact(p.c, "challenge");
		/* Nothing more yet: 0, not an error. */
		assert_int_equal(fs_tls_read(p.c, subject, sizeof(subject)), 0);
		assert_int_equal(fs_tls_peer(p.s, subject, sizeof(subject), sha), 0);
		assert_string_equal(subject, "CN=web1,O=fleetstat test");
		assert_int_equal(strlen(sha), 64);
		assert_int_equal(fs_tls_peer(p.c, subject, sizeof(subject), sha), 0);
		assert_string_equal(subject, "CN=collector.test,O=fleetstat test");
		fs_tls_close(p.c);
		move(p.c, p.s, 0);
		assert_int_equal(fs_tls_read(p.s, subject, sizeof(subject)), FS_TLS_CLOSED);
		close_pair(&p);
	}
}

/* Without mutual TLS the client sends no certificate and the server knows no peer. */
static void test_tls_server_only(void **state)
{
	char subject[256], sha[65];
	pair_s p;
	int rc_c, rc_s;

	(void)state;
	open_pair(&p, false, NULL, NULL, NULL, "127.0.0.1");
	pump(p.c, p.s, 0, &rc_c, &rc_s);
	assert_int_equal(rc_c, 1);
	assert_int_equal(rc_s, 1);
	assert_int_equal(fs_tls_peer(p.s, subject, sizeof(subject), sha), -ENOENT);
	close_pair(&p);
}

/* The server refuses a client without a certificate, expired, for servers only, of another CA. */
static void test_tls_server_refuses(void **state)
{
	static const struct {
		const char *cert, *why;
	} bad[] = {
		{NULL, "certificate"},
		{"expired.crt", "expired"},
		{"server-only.crt", "purpose"},
		{"foreign.crt", "issuer"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[16];
		pair_s p;
		int rc_c, rc_s;

		open_pair(&p, true, NULL, bad[i].cert, NULL, NULL);
		assert_int_equal(fs_tls_write(p.c, "hello", 5), 0);
		pump(p.c, p.s, 0, &rc_c, &rc_s);
		assert_int_equal(rc_s, -EPROTO);
		if (strstr(fs_tls_error(p.s), bad[i].why) == NULL)
			fail_msg("%s: %s", bad[i].cert ? bad[i].cert : "no certificate",
			         fs_tls_error(p.s));
		/* Nothing of the client's reached the server. */
		assert_true(fs_tls_read(p.s, buf, sizeof(buf)) < 0);
		close_pair(&p);
	}
}

/* The client refuses a server of another name or another CA. */
static void test_tls_client_refuses(void **state)
{
	pair_s p;
	int rc_c, rc_s;

	(void)state;
	open_pair(&p, false, NULL, NULL, NULL, "db.test");
	pump(p.c, p.s, 0, &rc_c, &rc_s);
	assert_int_equal(rc_c, -EPROTO);
	assert_non_null(strstr(fs_tls_error(p.c), "mismatch"));
	close_pair(&p);

	open_pair(&p, false, NULL, NULL, NULL, "127.0.0.2");
	pump(p.c, p.s, 0, &rc_c, &rc_s);
	assert_int_equal(rc_c, -EPROTO);
	close_pair(&p);

	open_pair(&p, false, "foreign-server.crt", NULL, NULL, NULL);
	pump(p.c, p.s, 0, &rc_c, &rc_s);
	assert_int_equal(rc_c, -EPROTO);
	assert_non_null(strstr(fs_tls_error(p.c), "issuer"));
	close_pair(&p);
}

/* Bytes that are no TLS (a plaintext Hello, garbage) fail the server's handshake cleanly. */
static void test_tls_garbage(void **state)
{
	static const char *const junk[] = {"GET / HTTP/1.1\r\n\r\n", "\x16\x03\x01\xff\xff",
	                                   "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"};
	fs_tls_ctx_t *sc = ctx(true, "server.crt", "server.key", "ca.crt");

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		fs_tls_t *s;
		int rc;

		assert_int_equal(fs_tls_new(sc, NULL, &s), 0);
		assert_int_equal(fs_tls_recv(s, junk[i], strlen(junk[i]) + (i == 2)), 0);
		rc = fs_tls_handshake(s);
		/* Refused; a ClientHello cut short waits for the rest (the caller's timeout ends it). */
		if (i < 2)
			assert_int_equal(rc, -EPROTO);
		else
			assert_true(rc == 0 || rc == -EPROTO);
		fs_tls_free(s);
	}
	fs_tls_ctx_free(sc);
}

/* Key files: one that others may read is refused, as token files are; so is a wrong key. */
static void test_tls_key_files(void **state)
{
	fs_tls_files_t f = {path("server.crt"), path("server.key"), NULL};
	char err[300];
	fs_tls_ctx_t *c = NULL;

	(void)state;
	assert_int_equal(chmod(path("server.key"), 0644), 0);
	assert_int_equal(fs_tls_ctx_new(true, &f, &c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path("server.key"), 0600), 0);
	f.key = path("agent.key");
	assert_int_equal(fs_tls_ctx_new(true, &f, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not the key"));
	f.key = path("missing.key");
	assert_int_equal(fs_tls_ctx_new(true, &f, &c, err, sizeof(err)), -ENOENT);
	f = (fs_tls_files_t){NULL, NULL, path("ca.crt")};
	assert_int_equal(fs_tls_ctx_new(true, &f, &c, err, sizeof(err)), -EINVAL);
	f = (fs_tls_files_t){NULL, NULL, NULL};
	assert_int_equal(fs_tls_ctx_new(false, &f, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
}

/* A context freed under its live sessions (a reload): they go on. */
static void test_tls_ctx_freed_under_session(void **state)
{
	pair_s p;
	int rc_c, rc_s;

	(void)state;
	open_pair(&p, true, NULL, "agent.crt", NULL, NULL);
	fs_tls_ctx_free(p.sc);
	fs_tls_ctx_free(p.cc);
	p.sc = p.cc = NULL;
	pump(p.c, p.s, 0, &rc_c, &rc_s);
	assert_int_equal(rc_c, 1);
	assert_int_equal(rc_s, 1);
	assert_int_equal(fs_tls_write(p.s, "ok", 2), 0);
	move(p.s, p.c, 0);
	read_exact(p.c, "ok");
	close_pair(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_mutual_roundtrip),
		cmocka_unit_test(test_tls_server_only),
		cmocka_unit_test(test_tls_server_refuses),
		cmocka_unit_test(test_tls_client_refuses),
		cmocka_unit_test(test_tls_garbage),
		cmocka_unit_test(test_tls_key_files),
		cmocka_unit_test(test_tls_ctx_freed_under_session),
	};

	return cmocka_run_group_tests_name("tls", tests, setup, teardown);
}
