/* stream.h - a TCP connection the way Node's net.Socket presents it, over the loop.
 *
 * A stream reads whatever the kernel has, hands it to on_data, keeps what on_data did not
 * consume and hands it back, joined with the next bytes, next time. That is how every protocol
 * in wirelab copes with TCP being a byte stream: a parser takes what is complete and leaves the
 * rest, whatever the reads happened to cut.
 *
 * Writing never blocks and never loses bytes: stream_write sends what the kernel takes and
 * queues the rest, flushing it when the socket becomes writable. Its return value is Node's:
 * 1 while the queue is under the high-water mark, 0 once it is over; then the producer should
 * pause (stop reading its own input, or stop generating) until on_drain. Writes made while one
 * of the stream's own callbacks runs are gathered and sent with one system call when it returns.
 *
 * Events, in Node's names and order:
 *
 *   on_connect(s)            a stream_connect finished connecting
 *   on_data(s, data, len)    bytes arrived; return how many were used (0..len)
 *   on_end(s)                the peer half-closed (read returned 0). Unless allow_half_open is
 *                            set, the stream then ends its own side too, after what is queued
 *   on_drain(s)              the write queue emptied after a write returned 0
 *   on_timeout(s)            no bytes moved either way for the idle timeout; nothing is closed
 *                            (like Node): the callback decides
 *   on_error(s, err)         a system error (errno value); on_close follows
 *   on_close(s)              the descriptor is closed; the last callback. The stream is freed
 *                            when it returns. s->error says whether an error caused it.
 *
 * stream_destroy never frees at once: on_close comes from the loop on a later turn, so it is
 * safe to destroy a stream (this one or another) from inside any callback.
 */
#ifndef WIRELAB_STREAM_H
#define WIRELAB_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "loop.h"
#include "net.h"

struct stream;
struct server;
struct tls_ctx;
struct tls_conn;

typedef size_t stream_data_fn(struct stream *s, const char *data, size_t len);
typedef void stream_event_fn(struct stream *s);
typedef void stream_error_fn(struct stream *s, int err);

#define STREAM_HIGH_WATER (64 * 1024)
#define STREAM_MAX_INPUT (1024 * 1024)

struct stream {
    struct loop *loop;
    int fd;
    unsigned long id;        /* the #N in trace lines */
    char peer[NET_ADDR_LEN]; /* "127.0.0.1:50814" */

    stream_event_fn *on_connect;
    stream_data_fn *on_data;
    stream_event_fn *on_end;
    stream_event_fn *on_drain;
    stream_event_fn *on_timeout;
    stream_error_fn *on_error;
    stream_event_fn *on_close;
    void *user; /* the application's per-connection state */

    int allow_half_open; /* 1: on_end does not end our side (Node's allowHalfOpen) */
    size_t high_water;   /* stream_write returns 0 past this many queued bytes */
    size_t max_input;    /* unconsumed input beyond this is an error (EMSGSIZE) */
    int error;           /* errno of the failure that closed the stream, or 0 */
    int trace_data; /* 0 turns off this stream's data/hex trace (protocol views do their own) */

    /* Private to stream.c. */
    struct buf in, out;
    struct loop_timer idle_timer, defer_timer;
    uint64_t timeout_ms, last_active;
    unsigned state;
    int cork;
    struct addrinfo *ai_list, *ai_next;
    struct server *server;
    struct stream *prev, *next; /* in the server's list */
    struct tls_conn *tls;       /* NULL: plain TCP */
};

/* Wraps a connected, non-blocking socket and starts reading at the next turn of the loop.
 * Set the callbacks before returning to the loop. */
struct stream *stream_new(struct loop *loop, int fd);

/* stream_new for a socket that accept(2) has just returned, with the peer address it
 * gave: saves the getpeername call stream_new makes to learn it. */
struct stream *stream_new_accepted(struct loop *loop, int fd, const struct sockaddr *peer);

/* Resolves host (blocking getaddrinfo) and starts connecting to each address in turn. Returns
 * NULL with a one-line err when the name does not resolve; otherwise on_connect or on_error
 * (ECONNREFUSED, ETIMEDOUT, ...) then on_close follow from the loop. */
struct stream *stream_connect(struct loop *loop, const char *host, int port, char err[NET_ERR_LEN]);

/* Queues len bytes. Returns 1 if the caller may go on writing, 0 if it should wait for
 * on_drain. Bytes written after stream_end or stream_destroy are dropped (returns 0). */
int stream_write(struct stream *s, const void *data, size_t len);

/* Gathers writes until the matching uncork, then sends them together. Nestable. */
void stream_cork(struct stream *s);
void stream_uncork(struct stream *s);

/* Half-closes: sends FIN once the queue has been written. If the peer has ended too, the
 * stream closes. */
void stream_end(struct stream *s);

/* Closes now, dropping anything queued. on_close follows from the loop. */
void stream_destroy(struct stream *s);

/* Closes once the queue has been written (Node's destroySoon), without stream_end's wait for
 * the peer's FIN: the kernel sends the queued bytes, then FIN. For a protocol that knows the
 * peer will send nothing more (an HTTP client that asked for Connection: close); input that
 * arrives anyway makes the kernel answer with a reset, which can destroy data the peer has not
 * read yet, so use stream_end whenever more input may come. on_close follows from the loop. */
void stream_destroy_soon(struct stream *s);

/* Stops / restarts reading (back-pressure). Input already buffered is delivered again after
 * stream_resume. */
void stream_pause(struct stream *s);
void stream_resume(struct stream *s);
int stream_paused(const struct stream *s);

/* Hands the input still buffered to on_data again at the next turn of the loop, without
 * waiting for more bytes: for a protocol layer that stopped parsing (one request at a time)
 * or that has just handed the stream to another (HTTP upgrade). */
void stream_redeliver(struct stream *s);

/* Idle timeout in milliseconds, 0 to turn it off. */
void stream_set_timeout(struct stream *s, uint64_t ms);

/* Bytes queued and not yet taken by the kernel. */
size_t stream_queued(const struct stream *s);

/* Whether the peer has half-closed / we have ended / the stream is closed or closing. */
int stream_peer_ended(const struct stream *s);
int stream_ended(const struct stream *s);
int stream_closed(const struct stream *s);

/* The one-line reason for s->error: strerror's, or what TLS said ("TLS handshake: certificate
 * verify failed: Hostname mismatch"; s->error is then EPROTO). For on_error and on_close. */
const char *stream_error_text(const struct stream *s);

/* ---- TLS (tls.h): the same stream, encrypted ----
 *
 * With TLS started, the callbacks see plaintext exactly as without it. The handshake comes
 * first: writes made before it ends are queued, a client's on_connect comes after it (the trace
 * shows "connect" then "secureConnect"), and a server's streams deliver nothing until it is
 * done ("secureConnection"). A handshake that fails closes this stream alone, with EPROTO and
 * the reason in stream_error_text. stream_end sends TLS's close_notify alert before the FIN; a
 * peer's close_notify (or a FIN without one) is on_end. */

/* Makes s, just accepted, the server side of a TLS connection with ctx's certificate.
 * struct server does this for every stream it accepts when its tls field is set. */
void stream_start_tls_server(struct stream *s, struct tls_ctx *ctx);

/* Makes s the client side, checking the certificate against host (the name the program was
 * given, not the address it resolved to), which is also sent as SNI. Call it right after
 * stream_connect; on an open connection, the handshake starts at once. */
void stream_start_tls_client(struct stream *s, struct tls_ctx *ctx, const char *host);

/* Whether s speaks TLS. */
int stream_is_tls(const struct stream *s);

/* A new connection number for trace lines (streams take one each; UDP peers may too). */
unsigned long stream_next_id(void);

#endif
