/* tls.h - TLS (the "s" of https and wss) over a non-blocking socket: the one module that
 * talks to OpenSSL.
 *
 * TLS sits between TCP and the protocol: it turns the stream of bytes the kernel carries into
 * records that are encrypted and authenticated, after a handshake in which the server proves,
 * with a certificate a client trusts, that it owns the name the client asked for. Everything
 * above (HTTP, WebSocket) reads and writes the same plaintext bytes it would without TLS: a
 * stream (stream.h) with a tls_conn reads and writes through it, and no protocol code changes.
 *
 * Two kinds of context, made once per program:
 *   server   a certificate chain and its private key (--tls-cert, --tls-key)
 *   client   whom to trust: the system's CA store, or --cacert FILE; or nobody (--insecure)
 * and a connection per socket, made from a context.
 *
 * Non-blocking I/O: every call here may find that TLS needs the socket to be readable, or
 * writable, before it can go on, and a read may need to write (a handshake message, a key
 * update) as a write may need to read. The calls say which with TLS_WANT_READ or
 * TLS_WANT_WRITE; the caller waits for that event and calls again (with the same bytes, for a
 * write).
 *
 * --keylog FILE (or the SSLKEYLOGFILE variable, as curl, Chromium and Node read it) appends
 * each connection's secrets in the NSS key log format, which Wireshark reads to decrypt a
 * capture: see docs/tls.md.
 *
 * Built without OpenSSL (make TLS=0), every function that would make a context fails with
 * TLS_NO_TLS_MESSAGE and tls_available() returns 0; the programs' TLS options then stop with
 * that message and exit status 2.
 */
#ifndef WIRELAB_TLS_H
#define WIRELAB_TLS_H

#include <stddef.h>
#include <sys/types.h>

#define TLS_ERR_LEN 256
#define TLS_NO_TLS_MESSAGE                                                                         \
    "this build has no TLS (rebuild with OpenSSL: apt-get install libssl-dev)"

/* The largest plaintext a record carries (RFC 8446 5.1): a read into at least this much room
 * takes a whole record, so no decrypted byte is left waiting inside OpenSSL. */
#define TLS_RECORD_MAX 16384

/* What the I/O calls return besides a byte count. */
enum {
    TLS_DONE = 0,        /* tls_handshake: finished; tls_read: the peer closed (close_notify) */
    TLS_FAILED = -1,     /* the connection is broken: tls_conn_error says why */
    TLS_WANT_READ = -2,  /* call again once the socket is readable */
    TLS_WANT_WRITE = -3, /* call again once the socket is writable */
};

struct tls_ctx;
struct tls_conn;

struct tls_server_options {
    const char *cert;   /* PEM certificate chain: the server's certificate first */
    const char *key;    /* PEM private key */
    const char *keylog; /* NULL: $SSLKEYLOGFILE if set, else no key log */
};

struct tls_client_options {
    const char *cacert; /* PEM CA certificates to trust; NULL: the system's store */
    int insecure;       /* 1: do not verify the server's certificate at all */
    const char *keylog; /* as for servers */
};

/* 1 if this build has TLS, 0 if it was built without OpenSSL. */
int tls_available(void);

/* "OpenSSL 3.0.13 30 Jan 2024", or "none" in a build without TLS. */
const char *tls_library_version(void);

/* Makes a server context: loads the certificate chain and key and checks that they match.
 * Returns NULL with a one-line err ("--tls-cert cert.pem: no such file", "the key does not
 * match the certificate", or TLS_NO_TLS_MESSAGE). */
struct tls_ctx *tls_server_ctx_new(const struct tls_server_options *o, char err[TLS_ERR_LEN]);

/* Makes a client context: TLS 1.2 or later, certificates verified against the trust store
 * unless insecure. Returns NULL with a one-line err. */
struct tls_ctx *tls_client_ctx_new(const struct tls_client_options *o, char err[TLS_ERR_LEN]);

void tls_ctx_free(struct tls_ctx *ctx);

/* A connection from ctx. For a client context, host is the name the client asked for: sent
 * as SNI (unless it is an IP address, which SNI may not carry) and checked against the
 * certificate (names, or IP addresses for an address). host is NULL for a server. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, const char *host);

/* Binds the connection to a connected socket (before the handshake). */
void tls_conn_set_fd(struct tls_conn *t, int fd);

void tls_conn_free(struct tls_conn *t);

/* 1 for a client's connection, 0 for a server's. */
int tls_conn_is_client(const struct tls_conn *t);

/* Takes the handshake as far as the socket allows: TLS_DONE, TLS_WANT_READ, TLS_WANT_WRITE
 * or TLS_FAILED. */
int tls_handshake(struct tls_conn *t);

/* Reads plaintext: a byte count, TLS_DONE once the peer has closed (close_notify, or the
 * connection ended without one), TLS_WANT_READ / TLS_WANT_WRITE, or TLS_FAILED. */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t len);

/* Writes plaintext, a record at a time: a byte count (len may not all go), TLS_WANT_WRITE /
 * TLS_WANT_READ, or TLS_FAILED. After a WANT, call again with the same bytes at the front
 * (the buffer may have moved and grown). */
ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len);

/* Sends close_notify, the alert that says "no more data from me": TLS_DONE, TLS_WANT_WRITE,
 * or TLS_FAILED. */
int tls_close_notify(struct tls_conn *t);

/* Why the connection failed: "TLS handshake: certificate verify failed: Hostname mismatch". */
const char *tls_conn_error(const struct tls_conn *t);

/* What the handshake agreed, for the trace: "TLSv1.3 TLS_AES_256_GCM_SHA384". */
void tls_conn_describe(const struct tls_conn *t, char *out, size_t cap);

#endif
