/* tls.c - the one file that uses OpenSSL (see tls.h for what it offers).
 *
 * A context (SSL_CTX) holds what every connection of a program shares: the certificate and
 * key of a server, the trust store of a client, the protocol versions, the key log. A
 * connection (SSL) is made from it for each socket and does the record layer's work on that
 * socket's file descriptor, directly: OpenSSL reads and writes the non-blocking socket itself
 * and says, through SSL_get_error, when it would have blocked and on what.
 *
 * Built without OpenSSL (no WIRELAB_TLS), the second half of this file gives the same
 * functions as stubs that fail with TLS_NO_TLS_MESSAGE.
 */
#include "tls.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef WIRELAB_TLS

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_ctx {
    SSL_CTX *ssl_ctx;
    int client;
    int insecure;
};

struct tls_conn {
    SSL *ssl;
    int client;
    int insecure; /* a client that does not check the certificate */
    char error[TLS_ERR_LEN];
};

/* One program, one key log: the callback OpenSSL calls has no argument of ours. */
static FILE *keylog_file;

int tls_available(void)
{
    return 1;
}

const char *tls_library_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

/* ---- contexts ---- */

/* OpenSSL hands over each secret as one line of the NSS key log format:
 * "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>". */
static void keylog_line(const SSL *ssl, const char *line)
{
    if (!keylog_file)
        return;
    fprintf(keylog_file, "%s\n", line);
    fflush(keylog_file); /* Wireshark may be reading it while we run */
}

static int keylog_open(SSL_CTX *ctx, const char *path, char err[TLS_ERR_LEN])
{
    if (!path || !*path)
        path = getenv("SSLKEYLOGFILE");
    if (!path || !*path)
        return 0;
    if (!keylog_file) {
        keylog_file = fopen(path, "a");
        if (!keylog_file) {
            snprintf(err, TLS_ERR_LEN, "--keylog %s: %s", path, strerror(errno));
            return -1;
        }
    }
    SSL_CTX_set_keylog_callback(ctx, keylog_line);
    return 0;
}

/* The last OpenSSL error as a phrase ("no such file", "key values mismatch"). */
static const char *last_error(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return why ? why : "unknown error";
}

/* What both kinds share: TLS 1.2 at least (older versions are broken), writes that may go in
 * part (each call sends the records the socket takes; the stream keeps the rest queued), a
 * queue that may move between calls (it is a growable buffer), and record buffers given back
 * while a connection is idle (about 30 KiB per idle connection without, 16 KiB with; no cost
 * measurable in requests/s). */
static SSL_CTX *ctx_common(const SSL_METHOD *method, char err[TLS_ERR_LEN])
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx) {
        snprintf(err, TLS_ERR_LEN, "TLS context: %s", last_error());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* Browsers and curl often close without close_notify. HTTP and WebSocket frame their own
     * messages, so a connection cut short is noticed there: treat it as an ordinary end. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    return ctx;
}

static struct tls_ctx *ctx_wrap(SSL_CTX *ssl_ctx, int client, int insecure)
{
    struct tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        abort();
    ctx->ssl_ctx = ssl_ctx;
    ctx->client = client;
    ctx->insecure = insecure;
    return ctx;
}

struct tls_ctx *tls_server_ctx_new(const struct tls_server_options *o, char err[TLS_ERR_LEN])
{
    SSL_CTX *ctx = ctx_common(TLS_server_method(), err);
    if (!ctx)
        return NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
        snprintf(err, TLS_ERR_LEN, "--tls-cert %s: %s", o->cert, last_error());
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, TLS_ERR_LEN, "--tls-key %s: %s", o->key, last_error());
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, TLS_ERR_LEN, "--tls-key %s does not match --tls-cert %s", o->key, o->cert);
        ERR_clear_error();
        goto fail;
    }
    if (keylog_open(ctx, o->keylog, err) < 0)
        goto fail;
    return ctx_wrap(ctx, 0, 0);
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls_ctx *tls_client_ctx_new(const struct tls_client_options *o, char err[TLS_ERR_LEN])
{
    SSL_CTX *ctx = ctx_common(TLS_client_method(), err);
    if (!ctx)
        return NULL;
    if (o->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = o->cacert ? SSL_CTX_load_verify_locations(ctx, o->cacert, NULL)
                           : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            if (o->cacert)
                snprintf(err, TLS_ERR_LEN, "--cacert %s: %s", o->cacert, last_error());
            else
                snprintf(err, TLS_ERR_LEN, "the system's CA store: %s", last_error());
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    if (keylog_open(ctx, o->keylog, err) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx_wrap(ctx, 1, o->insecure);
}

void tls_ctx_free(struct tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- connections ---- */

static int is_ip_address(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* A client checks the certificate against the name it asked for: a DNS name against the
 * certificate's DNS names (SNI tells the server which certificate we want), an IP address
 * against its IP addresses (SNI cannot carry an address). */
static void client_setup(struct tls_conn *t, const struct tls_ctx *ctx, const char *host)
{
    SSL_set_connect_state(t->ssl);
    if (!host || !*host)
        return;
    if (is_ip_address(host)) {
        if (!ctx->insecure)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
        return;
    }
    SSL_set_tlsext_host_name(t->ssl, host);
    if (!ctx->insecure) {
        SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(t->ssl, host);
    }
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, const char *host)
{
    struct tls_conn *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (!t->ssl)
        abort(); /* out of memory */
    t->client = ctx->client;
    t->insecure = ctx->insecure;
    if (ctx->client)
        client_setup(t, ctx, host);
    else
        SSL_set_accept_state(t->ssl);
    return t;
}

void tls_conn_set_fd(struct tls_conn *t, int fd)
{
    SSL_set_fd(t->ssl, fd);
}

void tls_conn_free(struct tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

int tls_conn_is_client(const struct tls_conn *t)
{
    return t->client;
}

const char *tls_conn_error(const struct tls_conn *t)
{
    return t->error[0] ? t->error : NULL;
}

void tls_conn_describe(const struct tls_conn *t, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
}

/* Records why a call failed, once: the certificate check's verdict when that is what failed,
 * else OpenSSL's reason, else the system's. */
static void set_error(struct tls_conn *t, const char *during, int ssl_err)
{
    int sys = errno;
    if (t->error[0]) {
        ERR_clear_error();
        return;
    }
    /* The certificate's verdict explains a client's failed handshake; once the handshake is
     * done (or when nothing was checked) it has nothing to say about a later failure. */
    long verify = X509_V_OK;
    if (t->client && !t->insecure && !SSL_is_init_finished(t->ssl))
        verify = SSL_get_verify_result(t->ssl);
    unsigned long e = ERR_peek_last_error();
    const char *why;
    if (verify != X509_V_OK)
        why = X509_verify_cert_error_string(verify);
    else if (e)
        why = ERR_reason_error_string(e);
    else if (ssl_err == SSL_ERROR_SYSCALL && sys)
        why = strerror(sys);
    else
        why = "the connection closed";
    if (verify != X509_V_OK)
        snprintf(t->error, sizeof t->error, "TLS %s: certificate verify failed: %s", during, why);
    else
        snprintf(t->error, sizeof t->error, "TLS %s: %s", during, why ? why : "unknown error");
    ERR_clear_error();
}

/* Turns what SSL_get_error says about a call that did not succeed into our codes. */
static int outcome(struct tls_conn *t, int ret, const char *during)
{
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_DONE;
    default:
        set_error(t, during, e);
        return TLS_FAILED;
    }
}

int tls_handshake(struct tls_conn *t)
{
    ERR_clear_error();
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1)
        return TLS_DONE;
    int r = outcome(t, ret, "handshake");
    if (r != TLS_DONE)
        return r;
    snprintf(t->error, sizeof t->error, "TLS handshake: the peer closed the connection");
    return TLS_FAILED;
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t len)
{
    ERR_clear_error();
    int ret = SSL_read(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (ret > 0)
        return ret;
    return outcome(t, ret, "read");
}

ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len)
{
    ERR_clear_error();
    int ret = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (ret > 0)
        return ret;
    int r = outcome(t, ret, "write");
    return r == TLS_DONE ? TLS_FAILED : r;
}

int tls_close_notify(struct tls_conn *t)
{
    ERR_clear_error();
    int ret = SSL_shutdown(t->ssl);
    if (ret >= 0)
        return TLS_DONE; /* 0: sent, and the peer's has not come; 1: both */
    int r = outcome(t, ret, "close");
    return r == TLS_DONE ? TLS_FAILED : r;
}

#else /* no WIRELAB_TLS: stubs that say so */

int tls_available(void)
{
    return 0;
}

const char *tls_library_version(void)
{
    return "none";
}

struct tls_ctx *tls_server_ctx_new(const struct tls_server_options *o, char err[TLS_ERR_LEN])
{
    snprintf(err, TLS_ERR_LEN, "%s", TLS_NO_TLS_MESSAGE);
    return NULL;
}

struct tls_ctx *tls_client_ctx_new(const struct tls_client_options *o, char err[TLS_ERR_LEN])
{
    snprintf(err, TLS_ERR_LEN, "%s", TLS_NO_TLS_MESSAGE);
    return NULL;
}

void tls_ctx_free(struct tls_ctx *ctx) {}

/* No context can exist, so no connection either: these are never reached. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, const char *host)
{
    abort();
}

void tls_conn_set_fd(struct tls_conn *t, int fd) {}

void tls_conn_free(struct tls_conn *t) {}

int tls_conn_is_client(const struct tls_conn *t)
{
    return 0;
}

int tls_handshake(struct tls_conn *t)
{
    return TLS_FAILED;
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t len)
{
    return TLS_FAILED;
}

ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len)
{
    return TLS_FAILED;
}

int tls_close_notify(struct tls_conn *t)
{
    return TLS_FAILED;
}

const char *tls_conn_error(const struct tls_conn *t)
{
    return TLS_NO_TLS_MESSAGE;
}

void tls_conn_describe(const struct tls_conn *t, char *out, size_t cap)
{
    snprintf(out, cap, "none");
}

#endif
