/* stream.c - Node's socket model in C: read, hand over, keep the rest; queue what the kernel
 * will not take yet; half-close; close once, from the loop.
 *
 * The life of a stream, as the trace shows it (./bin/tcp-server -v):
 *
 *   connection -> data ... data -> end (peer sent FIN) -> close
 *
 * The one place bytes come in is on_readable(); the one place they go out is flush(). Every
 * event a program sees is called from one of those two, from the idle timer, or from the
 * deferred-work timer that delivers what cannot be delivered at once (close, a connect that
 * completed immediately, input kept while the stream was paused).
 */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "tls.h"
#include "trace.h"

enum {
    ST_CONNECTING = 1u << 0,    /* non-blocking connect in progress */
    ST_CONNECT_DUE = 1u << 1,   /* connected at once; on_connect waits for the loop */
    ST_PAUSED = 1u << 2,        /* stream_pause: not reading */
    ST_PEER_ENDED = 1u << 3,    /* read returned 0 */
    ST_ENDING = 1u << 4,        /* stream_end called: FIN once the queue is written */
    ST_WR_SHUT = 1u << 5,       /* FIN sent */
    ST_CLOSED = 1u << 6,        /* descriptor closed; on_close waits for the loop */
    ST_NEED_DRAIN = 1u << 7,    /* a write returned 0: call on_drain when the queue empties */
    ST_REDELIVER = 1u << 8,     /* buffered input to hand to on_data again */
    ST_DRAIN_DUE = 1u << 9,     /* the queue emptied: on_drain waits for the loop */
    ST_DESTROY_SOON = 1u << 10, /* stream_destroy_soon: close, not FIN, once the queue is written */
    /* TLS streams only (s->tls): */
    ST_TLS_HANDSHAKE = 1u << 11,   /* handshaking: no data either way yet */
    ST_TLS_HS_WRITE = 1u << 12,    /* ... and the handshake waits for writability */
    ST_TLS_RD_WANTS_WR = 1u << 13, /* a read needs the socket writable to go on */
    ST_TLS_WR_WANTS_RD = 1u << 14, /* a write needs the socket readable to go on */
    ST_TLS_EOF = 1u << 15,         /* the peer's close_notify was read; on_end is due */
    ST_TLS_NOTIFY_WAIT = 1u << 16, /* our close_notify waits for writability */
    ST_TLS_NOTIFY_SENT = 1u << 17, /* our close_notify went out */
};

/* All streams read into this one buffer first: only bytes a parser leaves unconsumed are
 * copied into the stream's own buffer, so an idle connection owns no input memory.
 *
 * It is big because every read, and the write that usually answers it, has a cost that does
 * not depend on its size: on loopback a write runs the receiver's TCP input and wakes it up,
 * and on a virtual machine that wake-up (an interrupt sent to the other CPU) is dear. With
 * 64 KiB reads, echoing 1 GiB (make bench) cost the server 0.9 s of CPU; with 256 KiB,
 * 0.45 s. Larger buffers measured no better. One buffer serves every stream, so its size
 * costs 256 KiB once, not per connection. */
static char scratch[256 * 1024];

/* A stream that already holds unconsumed input reads into its own buffer, which grows by what
 * it asks for; it asks for less, so a connection holding half a request stays small. */
#define BUFFERED_READ (64 * 1024)

static unsigned long last_id;

unsigned long stream_next_id(void)
{
    return ++last_id;
}

static void on_io(struct loop *loop, int fd, int events, void *arg);
static void on_tls_io(struct loop *loop, int fd, int events, void *arg);
static int tls_watch_mask(const struct stream *s, int mask);
static ssize_t tls_send(struct stream *s);
static ssize_t tls_write_now(struct stream *s, const char *p, size_t len);
static void tls_begin(struct stream *s);
static int tls_send_close_notify(struct stream *s);
static long on_idle_timer(struct loop *loop, void *arg);
static long on_defer(struct loop *loop, void *arg);
static void flush(struct stream *s);
static int can_flush(const struct stream *s);
static int has_pending_output(const struct stream *s);

static struct stream *stream_alloc(struct loop *loop)
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->loop = loop;
    s->fd = -1;
    s->id = stream_next_id();
    s->high_water = STREAM_HIGH_WATER;
    s->max_input = STREAM_MAX_INPUT;
    s->trace_data = 1;
    buf_init(&s->in);
    buf_init(&s->out);
    loop_timer_init(&s->idle_timer, on_idle_timer, s);
    loop_timer_init(&s->defer_timer, on_defer, s);
    strcpy(s->peer, "-");
    return s;
}

/* Asks the loop for exactly the events this stream can use now. */
static void update_watch(struct stream *s)
{
    if (s->fd < 0 || (s->state & ST_CLOSED))
        return;
    int mask = 0;
    if (!(s->state & (ST_CONNECTING | ST_PAUSED | ST_PEER_ENDED)))
        mask |= LOOP_READ;
    if ((s->state & ST_CONNECTING) || buf_len(&s->out) > 0)
        mask |= LOOP_WRITE;
    if (s->tls)
        mask = tls_watch_mask(s, mask);
    if (loop_watching(s->loop, s->fd) != mask)
        loop_watch(s->loop, s->fd, mask, s->tls ? on_tls_io : on_io, s);
}

static void schedule(struct stream *s)
{
    if (!loop_timer_active(&s->defer_timer))
        loop_timer_start(s->loop, &s->defer_timer, 0);
}

struct stream *stream_new(struct loop *loop, int fd)
{
    struct stream *s = stream_alloc(loop);
    s->fd = fd;
    net_peer_addr(fd, s->peer);
    s->last_active = loop_now(loop);
    update_watch(s);
    return s;
}

struct stream *stream_new_accepted(struct loop *loop, int fd, const struct sockaddr *peer)
{
    struct stream *s = stream_alloc(loop);
    s->fd = fd;
    net_addr_format(peer, s->peer);
    s->last_active = loop_now(loop);
    update_watch(s);
    return s;
}

/* Closes the descriptor now and leaves on_error / on_close to the loop. */
static void close_now(struct stream *s, int err)
{
    if (s->state & ST_CLOSED)
        return;
    s->state |= ST_CLOSED;
    if (err && !s->error)
        s->error = err;
    if (s->fd >= 0) {
        loop_unwatch_closing(s->loop, s->fd);
        close(s->fd);
        s->fd = -1;
    }
    loop_timer_stop(s->loop, &s->idle_timer);
    buf_free(&s->out);
    schedule(s);
}

void stream_destroy(struct stream *s)
{
    close_now(s, 0);
}

static void fail(struct stream *s, int err)
{
    close_now(s, err);
}

/* ---- reading ---- */

/* Calls on_data with writes corked, so everything it answers leaves in one system call. */
static size_t call_data(struct stream *s, const char *data, size_t len)
{
    if (!s->on_data)
        return len;
    stream_cork(s);
    size_t used = s->on_data(s, data, len);
    stream_uncork(s);
    return used > len ? len : used;
}

/* Unconsumed input past max_input means the protocol above cannot find the end of a
 * message: an error. Not while the application has paused the stream, though: then it stopped
 * on purpose (back-pressure), and reading has stopped too, so the input cannot grow. */
static void check_input_limit(struct stream *s)
{
    if (buf_len(&s->in) > s->max_input && !(s->state & ST_PAUSED))
        fail(s, EMSGSIZE);
}

/* Hands the buffered input to on_data and keeps what it leaves. */
static void deliver_buffered(struct stream *s)
{
    s->state &= ~ST_REDELIVER;
    size_t used = call_data(s, buf_data(&s->in), buf_len(&s->in));
    if (s->state & ST_CLOSED)
        return;
    buf_consume(&s->in, used);
    check_input_limit(s);
}

/* Hands bytes just read into the scratch buffer to on_data; keeps the rest. */
static void deliver_scratch(struct stream *s, size_t n)
{
    size_t used = call_data(s, scratch, n);
    if (s->state & ST_CLOSED)
        return;
    if (used < n)
        buf_append(&s->in, scratch + used, n - used);
    check_input_limit(s);
}

static void call_event(struct stream *s, stream_event_fn *fn)
{
    if (!fn)
        return;
    stream_cork(s);
    fn(s);
    stream_uncork(s);
}

static void peer_ended(struct stream *s)
{
    s->state |= ST_PEER_ENDED;
    update_watch(s);
    trace_event(s->id, "end", s->peer, NULL);
    call_event(s, s->on_end);
    if (s->state & ST_CLOSED)
        return;
    /* Our FIN went out first (stream_end earlier): both sides are done now, whatever
     * allow_half_open says. stream_end would return at once here, since we already ended. */
    if (s->state & ST_WR_SHUT)
        close_now(s, 0);
    else if (!s->allow_half_open)
        stream_end(s);
}

static void on_readable(struct stream *s)
{
    ssize_t n;
    int into_scratch = buf_len(&s->in) == 0;
    if (into_scratch)
        n = read(s->fd, scratch, sizeof scratch);
    else
        n = buf_read_fd(&s->in, s->fd, BUFFERED_READ);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail(s, errno);
        return;
    }
    if (n == 0) {
        peer_ended(s);
        return;
    }
    s->last_active = loop_now(s->loop);
    if (s->trace_data) {
        const char *p = into_scratch ? scratch : buf_data(&s->in) + buf_len(&s->in) - (size_t)n;
        trace_data(s->id, "data", s->peer, p, (size_t)n);
    }
    if (into_scratch)
        deliver_scratch(s, (size_t)n);
    else
        deliver_buffered(s);
}

/* ---- connecting ---- */

static void connected(struct stream *s)
{
    s->state &= ~(ST_CONNECTING | ST_CONNECT_DUE);
    freeaddrinfo(s->ai_list);
    s->ai_list = s->ai_next = NULL;
    net_peer_addr(s->fd, s->peer);
    s->last_active = loop_now(s->loop);
    trace_event(s->id, "connect", s->peer, NULL);
    if (s->tls) {
        tls_begin(s); /* on_connect once the handshake is done */
        return;
    }
    update_watch(s);
    call_event(s, s->on_connect);
    if (can_flush(s) && has_pending_output(s))
        flush(s);
}

/* Starts a connect to the next address in the list; reports the last error when none is left. */
static void connect_next(struct stream *s, int last_err)
{
    while (s->ai_next) {
        struct addrinfo *ai = s->ai_next;
        s->ai_next = ai->ai_next;
        int in_progress;
        int fd = net_tcp_connect_addr(ai->ai_addr, ai->ai_addrlen, &in_progress);
        if (fd < 0) {
            last_err = errno;
            continue;
        }
        s->fd = fd;
        net_addr_format(ai->ai_addr, s->peer);
        if (in_progress) {
            s->state |= ST_CONNECTING;
            update_watch(s);
        } else {
            s->state |= ST_CONNECT_DUE;
            schedule(s);
        }
        return;
    }
    fail(s, last_err ? last_err : ECONNREFUSED);
}

static void connect_finished(struct stream *s)
{
    int err = net_connect_result(s->fd);
    if (err == 0) {
        connected(s);
        return;
    }
    loop_unwatch(s->loop, s->fd);
    close(s->fd);
    s->fd = -1;
    s->state &= ~ST_CONNECTING;
    trace_event(s->id, "error", s->peer, "connect: %s", strerror(err));
    connect_next(s, err);
}

struct stream *stream_connect(struct loop *loop, const char *host, int port, char err[NET_ERR_LEN])
{
    struct addrinfo *list;
    if (net_resolve(host, port, SOCK_STREAM, 0, &list, err) < 0)
        return NULL;
    struct stream *s = stream_alloc(loop);
    s->ai_list = s->ai_next = list;
    s->last_active = loop_now(loop);
    connect_next(s, 0);
    return s;
}

/* ---- writing ---- */

/* Writes as much of the queue as the kernel takes, then does what an empty queue allows:
 * drain, the FIN of a pending end, and the close when both sides are done. */
static void flush(struct stream *s)
{
    while (buf_len(&s->out) > 0) {
        ssize_t n = s->tls ? tls_send(s) : buf_write_fd(&s->out, s->fd);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fail(s, errno);
            break;
        }
        s->last_active = loop_now(s->loop);
    }
    if (s->state & ST_CLOSED)
        return;
    if ((s->state & ST_DESTROY_SOON) && buf_len(&s->out) == 0) {
        if (s->tls)
            tls_send_close_notify(s); /* best effort: we close either way */
        close_now(s, 0); /* close(2) sends FIN after the bytes the kernel still holds */
        return;
    }
    update_watch(s);
    if (buf_len(&s->out) > 0)
        return;
    if ((s->state & ST_ENDING) && !(s->state & ST_WR_SHUT)) {
        if (s->tls && !tls_send_close_notify(s))
            return; /* the FIN follows the close_notify alert */
        shutdown(s->fd, SHUT_WR);
        s->state |= ST_WR_SHUT;
        if (s->state & ST_PEER_ENDED) {
            close_now(s, 0);
            return;
        }
    }
    if (s->state & ST_NEED_DRAIN) {
        /* Like Node, 'drain' comes from the loop, never from inside the write or uncork that
         * emptied the queue: a caller must first see its 0 and pause, then be told to go on. */
        s->state &= ~ST_NEED_DRAIN;
        s->state |= ST_DRAIN_DUE;
        schedule(s);
    }
}

/* Tries to write directly; returns how many bytes the kernel took (-1 on a fatal error). */
static ssize_t write_direct(struct stream *s, const char *p, size_t len)
{
    if (s->tls)
        return tls_write_now(s, p, len);
    for (;;) {
        ssize_t n = write(s->fd, p, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        fail(s, errno);
        return -1;
    }
}

int stream_write(struct stream *s, const void *data, size_t len)
{
    if (s->state & (ST_CLOSED | ST_ENDING))
        return 0;
    const char *p = data;
    if (len > 0 && s->trace_data && trace_hex_on())
        trace_data(s->id, "write", s->peer, p, len);
    if (len > 0 && can_flush(s) && buf_len(&s->out) == 0) {
        ssize_t n = write_direct(s, p, len);
        if (n < 0)
            return 0;
        s->last_active = loop_now(s->loop);
        p += n;
        len -= (size_t)n;
    }
    if (len > 0) {
        buf_append(&s->out, p, len);
        /* Inside a corked callback the uncork flushes; asking for LOOP_WRITE now would cost
         * two epoll_ctl calls for nothing. */
        if (s->cork == 0)
            update_watch(s);
    }
    if (buf_len(&s->out) >= s->high_water) {
        s->state |= ST_NEED_DRAIN;
        return 0;
    }
    return 1;
}

void stream_cork(struct stream *s)
{
    s->cork++;
}

/* Whether flush() may run now: connected, open, and not inside a corked callback. */
static int can_flush(const struct stream *s)
{
    return s->cork == 0 && s->fd >= 0 &&
           !(s->state & (ST_CLOSED | ST_CONNECTING | ST_CONNECT_DUE | ST_TLS_HANDSHAKE));
}

/* Bytes to write, or a FIN that stream_end asked for and that has not been sent. */
static int has_pending_output(const struct stream *s)
{
    return buf_len(&s->out) > 0 || (s->state & (ST_ENDING | ST_WR_SHUT)) == ST_ENDING;
}

void stream_uncork(struct stream *s)
{
    if (s->cork > 0 && --s->cork == 0 && can_flush(s) && has_pending_output(s))
        flush(s);
}

void stream_end(struct stream *s)
{
    if (s->state & (ST_CLOSED | ST_ENDING))
        return;
    s->state |= ST_ENDING;
    if (can_flush(s))
        flush(s);
}

void stream_destroy_soon(struct stream *s)
{
    if (s->state & ST_CLOSED)
        return;
    s->state |= ST_ENDING | ST_DESTROY_SOON;
    if (can_flush(s))
        flush(s);
}

/* ---- flow control, timeouts, queries ---- */

void stream_pause(struct stream *s)
{
    s->state |= ST_PAUSED;
    update_watch(s);
}

void stream_resume(struct stream *s)
{
    if (!(s->state & ST_PAUSED))
        return;
    s->state &= ~ST_PAUSED;
    update_watch(s);
    /* The input may not be in s->in yet (an on_data in progress keeps what it leaves when it
     * returns), so schedule the redelivery anyway; on_defer checks for bytes. */
    stream_redeliver(s);
}

void stream_redeliver(struct stream *s)
{
    /* The input may not be in s->in yet: bytes an on_data in progress leaves unconsumed are
     * kept when it returns. So schedule anyway; on_defer checks. */
    if (s->state & ST_CLOSED)
        return;
    s->state |= ST_REDELIVER;
    schedule(s);
}

int stream_paused(const struct stream *s)
{
    return (s->state & ST_PAUSED) != 0;
}

void stream_set_timeout(struct stream *s, uint64_t ms)
{
    s->timeout_ms = ms;
    if (ms == 0 || (s->state & ST_CLOSED)) {
        loop_timer_stop(s->loop, &s->idle_timer);
        return;
    }
    s->last_active = loop_now(s->loop);
    loop_timer_start(s->loop, &s->idle_timer, ms);
}

size_t stream_queued(const struct stream *s)
{
    return buf_len(&s->out);
}

int stream_peer_ended(const struct stream *s)
{
    return (s->state & ST_PEER_ENDED) != 0;
}

int stream_ended(const struct stream *s)
{
    return (s->state & ST_ENDING) != 0;
}

int stream_closed(const struct stream *s)
{
    return (s->state & ST_CLOSED) != 0;
}

/* ---- the loop's callbacks ---- */

static void on_io(struct loop *loop, int fd, int events, void *arg)
{
    struct stream *s = arg;
    if ((events & LOOP_WRITE) && (s->state & ST_CONNECTING)) {
        connect_finished(s);
        return;
    }
    if ((events & LOOP_WRITE) && buf_len(&s->out) > 0)
        flush(s);
    if ((events & LOOP_READ) && !(s->state & (ST_CLOSED | ST_PAUSED | ST_PEER_ENDED)))
        on_readable(s);
}

/* The idle timer fires late rather than being restarted on every byte: activity only records
 * the time, and the timer, when it fires, sleeps again for whatever is left. */
static long on_idle_timer(struct loop *loop, void *arg)
{
    struct stream *s = arg;
    if ((s->state & ST_CLOSED) || s->timeout_ms == 0)
        return LOOP_TIMER_STOP;
    uint64_t idle = loop_now(loop) - s->last_active;
    if (idle < s->timeout_ms)
        return (long)(s->timeout_ms - idle);
    trace_event(s->id, "timeout", s->peer, "idle %llu ms", (unsigned long long)idle);
    s->last_active = loop_now(loop);
    call_event(s, s->on_timeout);
    if (s->state & ST_CLOSED)
        return LOOP_TIMER_STOP;
    return (long)s->timeout_ms;
}

static void stream_free(struct stream *s)
{
    loop_timer_stop(s->loop, &s->idle_timer);
    loop_timer_stop(s->loop, &s->defer_timer);
    if (s->ai_list)
        freeaddrinfo(s->ai_list);
    buf_free(&s->in);
    buf_free(&s->out);
    tls_conn_free(s->tls);
    if (s->server)
        server_stream_gone(s->server, s);
    free(s);
}

static void emit_close(struct stream *s)
{
    if (s->error) {
        trace_event(s->id, "error", s->peer, "%s", stream_error_text(s));
        if (s->on_error)
            s->on_error(s, s->error);
    }
    trace_event(s->id, "close", s->peer, s->error ? "had error" : NULL);
    if (s->on_close)
        s->on_close(s);
    stream_free(s);
}

static long on_defer(struct loop *loop, void *arg)
{
    struct stream *s = arg;
    if (s->state & ST_CLOSED) {
        emit_close(s);
        return LOOP_TIMER_STOP;
    }
    if (s->state & ST_CONNECT_DUE)
        connected(s);
    if ((s->state & (ST_DRAIN_DUE | ST_CLOSED)) == ST_DRAIN_DUE) {
        s->state &= ~ST_DRAIN_DUE;
        trace_event(s->id, "drain", s->peer, NULL);
        call_event(s, s->on_drain);
    }
    if (!(s->state & (ST_CLOSED | ST_PAUSED)) && (s->state & ST_REDELIVER) && buf_len(&s->in) > 0)
        deliver_buffered(s);
    /* A TLS peer's close_notify read while paused: its on_end comes after the input. */
    if ((s->state & (ST_TLS_EOF | ST_PEER_ENDED | ST_PAUSED | ST_CLOSED)) == ST_TLS_EOF)
        peer_ended(s);
    if (s->state & ST_CLOSED)
        schedule(s);
    return LOOP_TIMER_STOP;
}

/* ---- TLS ----
 *
 * A stream with s->tls reads and writes through it: tls_readable() in place of on_readable(),
 * tls_send() in place of write(2). The rest is the same, with two differences. First comes the
 * handshake: nothing is read or written for the application until it is done (writes queue),
 * and a client's on_connect waits for it. And TLS may need the other direction to go on (a
 * read may have to write, a write may have to read): the ST_TLS_* flags remember what it
 * asked for, update_watch asks the loop for it, and on_tls_io retries the call that asked. */

const char *stream_error_text(const struct stream *s)
{
    const char *why = s->tls ? tls_conn_error(s->tls) : NULL;
    return why ? why : strerror(s->error);
}

void stream_start_tls_server(struct stream *s, struct tls_ctx *ctx)
{
    s->tls = tls_conn_new(ctx, NULL);
    tls_conn_set_fd(s->tls, s->fd);
    s->state |= ST_TLS_HANDSHAKE;
    /* The ClientHello comes first: wait for it (through on_tls_io from now on). */
    loop_watch(s->loop, s->fd, LOOP_READ, on_tls_io, s);
}

void stream_start_tls_client(struct stream *s, struct tls_ctx *ctx, const char *host)
{
    s->tls = tls_conn_new(ctx, host);
    if (s->fd < 0 || (s->state & ST_CLOSED))
        return;
    /* The same events as before, through on_tls_io from now on. */
    loop_watch(s->loop, s->fd, loop_watching(s->loop, s->fd), on_tls_io, s);
    /* Still connecting: connected() starts the handshake. An open connection: TLS from here
     * on (on_connect follows the handshake). */
    if (!(s->state & (ST_CONNECTING | ST_CONNECT_DUE)))
        tls_begin(s);
}

int stream_is_tls(const struct stream *s)
{
    return s->tls != NULL;
}

static int tls_watch_mask(const struct stream *s, int mask)
{
    if (s->state & ST_CONNECTING)
        return mask;
    if (s->state & ST_TLS_HANDSHAKE)
        return (s->state & ST_TLS_HS_WRITE) ? LOOP_WRITE : LOOP_READ;
    /* A read that waits for writability must not be woken by readability, which stays ready
     * and useless to it until then (and the same for a write): each asks for the other only. */
    unsigned crossed = s->state & (ST_TLS_RD_WANTS_WR | ST_TLS_WR_WANTS_RD);
    if (crossed == ST_TLS_RD_WANTS_WR)
        mask = (mask & ~LOOP_READ) | LOOP_WRITE;
    else if (crossed == ST_TLS_WR_WANTS_RD)
        mask = (mask & ~LOOP_WRITE) | LOOP_READ;
    else if (crossed)
        mask = LOOP_READ | LOOP_WRITE;
    if (s->state & ST_TLS_NOTIFY_WAIT)
        mask |= LOOP_WRITE;
    return mask;
}

static void tls_failed(struct stream *s)
{
    fail(s, EPROTO); /* the reason is in s->tls: stream_error_text */
}

static void tls_handshake_done(struct stream *s)
{
    s->state &= ~(ST_TLS_HANDSHAKE | ST_TLS_HS_WRITE);
    s->last_active = loop_now(s->loop);
    if (trace_on()) {
        char what[128];
        tls_conn_describe(s->tls, what, sizeof what);
        trace_event(s->id, tls_conn_is_client(s->tls) ? "secureConnect" : "secureConnection",
                    s->peer, "%s", what);
    }
    update_watch(s);
    if (tls_conn_is_client(s->tls))
        call_event(s, s->on_connect);
    if (can_flush(s) && has_pending_output(s))
        flush(s);
}

/* Takes the handshake as far as the socket allows. */
static void tls_step(struct stream *s)
{
    int r = tls_handshake(s->tls);
    if (r == TLS_DONE) {
        tls_handshake_done(s);
    } else if (r == TLS_FAILED) {
        tls_failed(s);
    } else {
        s->state &= ~ST_TLS_HS_WRITE;
        if (r == TLS_WANT_WRITE)
            s->state |= ST_TLS_HS_WRITE;
        update_watch(s);
    }
}

static void tls_begin(struct stream *s)
{
    tls_conn_set_fd(s->tls, s->fd);
    s->state |= ST_TLS_HANDSHAKE;
    tls_step(s);
}

/* on_readable's twin: decrypts whole records into the scratch buffer (or the stream's own,
 * when it holds unconsumed input), as many as fit, and hands them over as one piece. */
static void tls_readable(struct stream *s)
{
    s->state &= ~ST_TLS_RD_WANTS_WR;
    int into_scratch = buf_len(&s->in) == 0;
    char *dst = into_scratch ? scratch : buf_reserve(&s->in, BUFFERED_READ);
    size_t room = into_scratch ? sizeof scratch : BUFFERED_READ, n = 0;
    ssize_t r = TLS_WANT_READ;
    while (room - n >= TLS_RECORD_MAX && (r = tls_read(s->tls, dst + n, room - n)) > 0)
        n += (size_t)r;
    if (n > 0) {
        if (!into_scratch)
            buf_commit(&s->in, n);
        s->last_active = loop_now(s->loop);
        if (s->trace_data)
            trace_data(s->id, "data", s->peer, dst, n);
        if (into_scratch)
            deliver_scratch(s, n);
        else
            deliver_buffered(s);
        if (s->state & ST_CLOSED)
            return;
    }
    if (r == TLS_WANT_WRITE) {
        s->state |= ST_TLS_RD_WANTS_WR;
        update_watch(s);
    } else if (r == TLS_DONE) {
        s->state |= ST_TLS_EOF;
        if (!(s->state & ST_PAUSED))
            peer_ended(s);
    } else if (r == TLS_FAILED) {
        tls_failed(s);
    }
}

/* buf_write_fd's twin for flush(): sends records from the front of the queue. Returns the
 * bytes taken, or -1 with errno EAGAIN (wait for the event TLS asked for) or EPROTO. */
static ssize_t tls_send(struct stream *s)
{
    s->state &= ~ST_TLS_WR_WANTS_RD;
    ssize_t n = tls_write(s->tls, buf_data(&s->out), buf_len(&s->out));
    if (n > 0) {
        buf_consume(&s->out, (size_t)n);
        return n;
    }
    if (n == TLS_WANT_READ)
        s->state |= ST_TLS_WR_WANTS_RD;
    errno = n == TLS_FAILED ? EPROTO : EAGAIN;
    return -1;
}

/* write_direct's twin: what TLS did not take is queued by the caller, and sent again from the
 * queue (the same bytes at its front, as TLS requires). */
static ssize_t tls_write_now(struct stream *s, const char *p, size_t len)
{
    ssize_t n = tls_write(s->tls, p, len);
    if (n > 0)
        return n;
    if (n == TLS_FAILED) {
        tls_failed(s);
        return -1;
    }
    if (n == TLS_WANT_READ)
        s->state |= ST_TLS_WR_WANTS_RD;
    return 0;
}

/* Sends close_notify before our FIN. Returns 0 while it waits for writability, 1 once sent
 * (or failed: the FIN goes anyway). */
static int tls_send_close_notify(struct stream *s)
{
    if (s->state & ST_TLS_NOTIFY_SENT)
        return 1;
    s->state &= ~ST_TLS_NOTIFY_WAIT;
    if (tls_close_notify(s->tls) == TLS_WANT_WRITE) {
        s->state |= ST_TLS_NOTIFY_WAIT;
        update_watch(s);
        return 0;
    }
    s->state |= ST_TLS_NOTIFY_SENT;
    return 1;
}

static void on_tls_io(struct loop *loop, int fd, int events, void *arg)
{
    struct stream *s = arg;
    if ((events & LOOP_WRITE) && (s->state & ST_CONNECTING)) {
        connect_finished(s);
        return;
    }
    if (s->state & ST_TLS_HANDSHAKE) {
        tls_step(s);
        return;
    }
    if ((events & LOOP_WRITE) && (s->state & ST_TLS_RD_WANTS_WR) &&
        !(s->state & (ST_CLOSED | ST_PAUSED | ST_PEER_ENDED | ST_TLS_EOF)))
        tls_readable(s);
    if ((events & LOOP_WRITE) && !(s->state & ST_CLOSED) &&
        (buf_len(&s->out) > 0 || (s->state & ST_TLS_NOTIFY_WAIT)))
        flush(s);
    if ((events & LOOP_READ) && (s->state & (ST_TLS_WR_WANTS_RD | ST_CLOSED)) == ST_TLS_WR_WANTS_RD)
        flush(s);
    if ((events & LOOP_READ) && !(s->state & (ST_CLOSED | ST_PAUSED | ST_PEER_ENDED | ST_TLS_EOF)))
        tls_readable(s);
}
