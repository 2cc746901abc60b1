/* SPDX-License-Identifier: MIT */
/*
 * tls.h: TLS sessions over memory, for event loops.
 *
 * A session never touches a socket: the caller hands it the bytes that came
 * from the peer (fs_tls_recv()), takes the bytes to send to the peer
 * (fs_tls_take()), and between the two reads and writes plaintext.  The
 * handshake runs as bytes come; plaintext written before it ends waits in the
 * session.  OpenSSL; TLS 1.3 preferred, 1.2 the least taken.
 */
#ifndef FS_TLS_H
#define FS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct fs_tls_ctx fs_tls_ctx_t;
typedef struct fs_tls fs_tls_t;

typedef struct {
	const char *cert;  /* PEM: this end's certificate, then its chain (client: NULL for none) */
	const char *key;   /* PEM: its private key, a file only its owner may read */
	const char *ca;    /* PEM: the CA the peer's certificate must come from; on a server
	                      NULL (no client certificates) or mutual TLS: one is required */
} fs_tls_files_t;

/*
 * The settings of every session of one end: a server's (server true) or a
 * client's.  *out is new (fs_tls_ctx_free()); a session keeps what it was made
 * with, so a context can be replaced (a reload) under live sessions.  0, or a
 * negative errno with the reason (file and why) in err: -EPERM for a key file
 * that group or others may read.
 */
int fs_tls_ctx_new(bool server, const fs_tls_files_t *f, fs_tls_ctx_t **out, char *err,
                   size_t errlen);
void fs_tls_ctx_free(fs_tls_ctx_t *ctx);

/*
 * The text of a PEM file, NUL-terminated, in *pem (free() it; wipe it first
 * when secret): a secret (a private key) only its owner may read, -EPERM
 * otherwise.  0, or a negative errno with the file and why in err.
 */
int fs_tls_pem_load(const char *path, bool secret, char **pem, size_t *len, char *err,
                    size_t errlen);

/* A certificate and its private key, from PEM text, belong together: 0, or -EINVAL and why. */
int fs_tls_pem_check(const char *cert, size_t certlen, const char *key, size_t keylen,
                     char *err, size_t errlen);

/*
 * A session of ctx.  A client checks the server's certificate against
 * peer_name (a DNS name, or an IP address), also sent as the server name when
 * it is a DNS name; a server passes NULL.  *out is new (fs_tls_free()).
 * 0 or -ENOMEM.
 */
int fs_tls_new(fs_tls_ctx_t *ctx, const char *peer_name, fs_tls_t **out);
void fs_tls_free(fs_tls_t *t);

/* Bytes from the peer, all taken: 0 or -ENOMEM. */
int fs_tls_recv(fs_tls_t *t, const void *p, size_t n);

/*
 * Advances the handshake on what has come: 1 done (now or before), 0 not yet
 * (bytes may wait to be sent, or more to come), -EPROTO refused or failed, the
 * reason in fs_tls_error().
 */
int fs_tls_handshake(fs_tls_t *t);

/*
 * Plaintext into buf (cap bytes): how many (> 0), 0 none yet, FS_TLS_CLOSED
 * when the peer closed the session cleanly (close_notify), -EPROTO on an
 * error (fs_tls_error()).  Runs the handshake first when it is not done.
 */
#define FS_TLS_CLOSED (-1000)
ssize_t fs_tls_read(fs_tls_t *t, void *buf, size_t cap);

/*
 * Bytes from the peer in, and the plaintext they complete handed to fn in
 * pieces of up to cap bytes read into buf, until fn returns nonzero.  0: all
 * read (the handshake may still be under way: fs_tls_handshake() says), 1: fn
 * stopped it, FS_TLS_CLOSED: the peer said goodbye, -EPROTO (fs_tls_error())
 * or -ENOMEM.  Bytes for the peer may wait after any of these.
 */
int fs_tls_feed(fs_tls_t *t, const void *p, size_t n, void *buf, size_t cap,
                int (*fn)(void *ctx, const void *plain, size_t len), void *ctx);

/*
 * Whether the first bytes a peer sent (n > 0 of them) can begin a TLS record:
 * to tell a peer that speaks TLS from one that does not, and say so.
 */
bool fs_tls_record_start(const void *p, size_t n);

/* Plaintext to send, all taken (waiting for the handshake if need be): 0, -ENOMEM or -EPROTO. */
int fs_tls_write(fs_tls_t *t, const void *p, size_t n);

/* How many bytes wait to be sent to the peer; up to cap of them into buf, their count. */
size_t fs_tls_pending(const fs_tls_t *t);
size_t fs_tls_take(fs_tls_t *t, void *buf, size_t cap);

/* Says goodbye (close_notify), once; send what fs_tls_take() gives, then close. */
void fs_tls_close(fs_tls_t *t);

/* Why the last call failed, for the log ("" when none). */
const char *fs_tls_error(const fs_tls_t *t);

/*
 * The peer's certificate after the handshake: its subject on one line (RFC
 * 2253, printable ASCII: the rest escaped) and its SHA-256 in lowercase hex.  0, or -ENOENT when the peer sent none.
 */
int fs_tls_peer(const fs_tls_t *t, char *subject, size_t len, char sha256[65]);

/* The protocol the session agreed on ("TLSv1.3"), or "" before that. */
const char *fs_tls_version(const fs_tls_t *t);

#endif
