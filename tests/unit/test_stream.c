/* test_stream.c - streams and the server, over real sockets, on both loop backends.
 *
 * Most cases run over three links, each on epoll and on poll:
 *   pair        socketpair(AF_UNIX, SOCK_STREAM), non-blocking; the peer is the other end;
 *   tcp-server  the stream server_listen accepted on 127.0.0.1, port 0; the peer is a plain
 *               connected socket;
 *   tcp-client  the stream stream_connect made to a plain listening socket; the peer is the
 *               socket accept returned.
 * The peer is a raw descriptor the test drives itself (write, shutdown, read or not read,
 * reset), so each case controls exactly what the stream sees. Cases about connecting and about
 * the server (refused, unknown host, max_connections, shutdown) use stream_connect against
 * server_listen directly.
 *
 * Every wait steps the loop with loop_run_once and gives up after a time limit, so a bug fails
 * a check instead of hanging; alarm(20) ends the program if something hangs anyway. Run it
 * under the sanitizers too: make SANITIZE=1 build/san/tests/test_stream
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "loop.h"
#include "net.h"
#include "server.h"
#include "stream.h"
#include "tap.h"

static enum loop_backend backend;
static const char *bname;

enum mode { PAIR, TCP_SERVER, TCP_CLIENT, PAIR_SEQPACKET };
static const char *const mode_names[] = {"pair", "tcp-server", "tcp-client", "seqpacket"};

/* The name every check carries: backend and link. */
static char where[64];

#define BIG (4u << 20)
static char *pattern_bytes; /* BIG bytes of a recognisable pattern */

/* ---- time and waiting ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Steps the loop until *v reaches want or ms pass. Returns whether it did. */
static int wait_int(struct loop *loop, const int *v, int want, int ms)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (*v < want && now_ms() < deadline)
        loop_run_once(loop, 10);
    return *v >= want;
}

static int wait_len(struct loop *loop, const struct buf *b, size_t want, int ms)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (buf_len(b) < want && now_ms() < deadline)
        loop_run_once(loop, 10);
    return buf_len(b) >= want;
}

static void run_for(struct loop *loop, int ms)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (now_ms() < deadline)
        loop_run_once(loop, 5);
}

/* ---- what a stream's callbacks saw ---- */

struct rec;
/* Decides how much of each on_data call to consume, and may act on the stream. */
typedef size_t policy_fn(struct rec *r, struct stream *s, const char *data, size_t len);

struct rec {
    struct stream *s;   /* NULL once on_close has run (the stream is freed then) */
    policy_fn *policy;  /* NULL: consume everything */
    struct rec *other;  /* for cases with two streams */
    struct buf data;    /* the bytes on_data consumed, in order */
    struct buf last_in; /* what the latest on_data call was given */
    char log[64];       /* one letter per event: C D E W T X Z */
    int nlog;
    int connects, datas, ends, drains, timeouts, errors, closes;
    int late;         /* callbacks after on_close */
    int paused_calls; /* on_data while the stream was paused */
    int last_err, close_error;
    uint64_t timeout_at; /* loop_now at the latest on_timeout */
};

static void note(struct rec *r, char c)
{
    if (r->closes)
        r->late++;
    if (r->nlog < (int)sizeof r->log - 1)
        r->log[r->nlog++] = c;
}

static void rec_connect(struct stream *s)
{
    struct rec *r = s->user;
    note(r, 'C');
    r->connects++;
}

static size_t rec_data(struct stream *s, const char *data, size_t len)
{
    struct rec *r = s->user;
    note(r, 'D');
    r->datas++;
    if (stream_paused(s))
        r->paused_calls++;
    buf_clear(&r->last_in);
    buf_append(&r->last_in, data, len);
    size_t used = r->policy ? r->policy(r, s, data, len) : len;
    buf_append(&r->data, data, used);
    return used;
}

static void rec_end(struct stream *s)
{
    struct rec *r = s->user;
    note(r, 'E');
    r->ends++;
}

static void rec_drain(struct stream *s)
{
    struct rec *r = s->user;
    note(r, 'W');
    r->drains++;
}

static void rec_timeout(struct stream *s)
{
    struct rec *r = s->user;
    note(r, 'T');
    r->timeouts++;
    r->timeout_at = loop_now(s->loop);
}

static void rec_error(struct stream *s, int err)
{
    struct rec *r = s->user;
    note(r, 'X');
    r->errors++;
    r->last_err = err;
}

static void rec_close(struct stream *s)
{
    struct rec *r = s->user;
    note(r, 'Z');
    r->closes++;
    r->close_error = s->error;
    r->s = NULL;
}

static void rec_attach(struct rec *r, struct stream *s)
{
    r->s = s;
    s->user = r;
    s->on_connect = rec_connect;
    s->on_data = rec_data;
    s->on_end = rec_end;
    s->on_drain = rec_drain;
    s->on_timeout = rec_timeout;
    s->on_error = rec_error;
    s->on_close = rec_close;
}

static void rec_free(struct rec *r)
{
    buf_free(&r->data);
    buf_free(&r->last_in);
}

/* on_close came exactly once, last, and nothing after it. */
static void check_closed_once(const struct rec *r, const char *who)
{
    TAP_OK(r->closes == 1 && r->late == 0 && r->nlog > 0 && r->log[r->nlog - 1] == 'Z',
           "%s: %s: on_close once and last (events \"%s\")", where, who, r->log);
}

/* ---- policies ---- */

static size_t take_lines(struct rec *r, struct stream *s, const char *d, size_t len)
{
    size_t used = 0;
    for (size_t i = 0; i < len; i++)
        if (d[i] == '\n')
            used = i + 1;
    return used;
}

static size_t take_none(struct rec *r, struct stream *s, const char *d, size_t len)
{
    return 0;
}

static size_t take_two_then_pause(struct rec *r, struct stream *s, const char *d, size_t len)
{
    if (r->datas > 1)
        return len;
    stream_pause(s);
    return len < 2 ? len : 2;
}

static size_t destroy_now(struct rec *r, struct stream *s, const char *d, size_t len)
{
    stream_destroy(s);
    return len;
}

static size_t keep_then_destroy(struct rec *r, struct stream *s, const char *d, size_t len)
{
    if (r->datas == 1)
        return 0;
    stream_destroy(s);
    return 0;
}

static size_t destroy_other(struct rec *r, struct stream *s, const char *d, size_t len)
{
    if (r->other->datas == 0 && r->other->s)
        stream_destroy(r->other->s);
    return len;
}

static size_t write_three(struct rec *r, struct stream *s, const char *d, size_t len)
{
    stream_write(s, "one", 3);
    stream_write(s, "two", 3);
    stream_write(s, "three", 5);
    return len;
}

/* ---- links: a stream under test and a raw peer ---- */

struct link {
    enum mode mode;
    struct loop *loop;
    struct stream *s; /* the stream under test (check r->s: NULL once freed) */
    struct rec *r;
    int peer;          /* the raw peer, non-blocking; -1 once closed */
    struct server srv; /* tcp-server */
    int listen_fd;     /* tcp-client */
    struct buf got;    /* what the peer has read */
    int eof, rd_err;   /* the peer read end of file / failed */
    int reads;         /* successful reads by the peer */
};

static void peer_io(struct loop *loop, int fd, int events, void *arg)
{
    struct link *l = arg;
    ssize_t n = buf_read_fd(&l->got, fd, 64 * 1024);
    if (n > 0) {
        l->reads++;
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == 0)
        l->eof = 1;
    else
        l->rd_err = errno;
    loop_unwatch(loop, fd);
}

/* The peer reads everything that arrives (on), or leaves it in the socket (off). */
static void peer_reading(struct link *l, int on)
{
    if (on)
        loop_watch(l->loop, l->peer, LOOP_READ, peer_io, l);
    else
        loop_unwatch(l->loop, l->peer);
}

static int peer_send(struct link *l, const char *data, size_t len)
{
    return write(l->peer, data, len) == (ssize_t)len;
}

static void set_buffer(int fd, int opt, int size)
{
    setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

static void on_link_connection(struct server *srv, struct stream *s)
{
    struct link *l = srv->user;
    l->s = s;
    rec_attach(l->r, s);
}

/* A plain blocking connect to 127.0.0.1:port, then non-blocking. */
static int raw_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        set_buffer(fd, SO_RCVBUF, rcvbuf);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        close(fd);
        return -1;
    }
    net_set_nonblock(fd);
    return fd;
}

static int open_pair(struct link *l, int type)
{
    int sv[2];
    if (socketpair(AF_UNIX, type, 0, sv) < 0)
        return -1;
    net_set_nonblock(sv[0]);
    net_set_nonblock(sv[1]);
    l->s = stream_new(l->loop, sv[0]);
    rec_attach(l->r, l->s);
    l->peer = sv[1];
    return 0;
}

static int open_tcp_server(struct link *l, int small)
{
    char err[NET_ERR_LEN];
    l->srv.user = l;
    if (server_listen(&l->srv, l->loop, "127.0.0.1", 0, on_link_connection, err) < 0)
        return -1;
    l->peer = raw_connect(net_local_port(l->srv.fd), small ? 64 * 1024 : 0);
    if (l->peer < 0)
        return -1;
    uint64_t deadline = now_ms() + 2000;
    while (!l->s && now_ms() < deadline)
        loop_run_once(l->loop, 10);
    return l->s ? 0 : -1;
}

static int open_tcp_client(struct link *l, int small)
{
    char err[NET_ERR_LEN];
    l->listen_fd = net_tcp_listen("127.0.0.1", 0, 8, err);
    if (l->listen_fd < 0)
        return -1;
    if (small)
        set_buffer(l->listen_fd, SO_RCVBUF, 64 * 1024);
    l->s = stream_connect(l->loop, "127.0.0.1", net_local_port(l->listen_fd), err);
    if (!l->s)
        return -1;
    rec_attach(l->r, l->s);
    if (!wait_int(l->loop, &l->r->connects, 1, 2000))
        return -1;
    struct sockaddr_storage ss;
    socklen_t len;
    l->peer = net_accept(l->listen_fd, &ss, &len);
    return l->peer < 0 ? -1 : 0;
}

static void link_close(struct link *l);

/* Opens a link of the given mode. small: 64 KiB socket buffers (our send, the peer's
 * receive), so a few MiB written cannot all fit in the kernel. */
static int link_open(struct link *l, enum mode mode, struct rec *r, int small)
{
    memset(l, 0, sizeof *l);
    memset(r, 0, sizeof *r);
    l->mode = mode;
    l->r = r;
    l->peer = l->listen_fd = -1;
    l->srv.fd = -1;
    l->loop = loop_new(backend);
    if (!l->loop)
        return -1;
    int rc;
    if (mode == PAIR || mode == PAIR_SEQPACKET)
        rc = open_pair(l, mode == PAIR ? SOCK_STREAM : SOCK_SEQPACKET);
    else if (mode == TCP_SERVER)
        rc = open_tcp_server(l, small);
    else
        rc = open_tcp_client(l, small);
    if (rc == 0 && small)
        set_buffer(l->s->fd, SO_SNDBUF, 64 * 1024);
    if (rc < 0) {
        TAP_OK(0, "%s: setting up the link", where);
        link_close(l);
    }
    return rc;
}

/* Destroys the stream if it is still open, waits for its on_close, and frees the rest. */
static void link_close(struct link *l)
{
    if (l->r->s) {
        stream_destroy(l->r->s);
        wait_int(l->loop, &l->r->closes, 1, 2000);
    }
    if (l->peer >= 0) {
        loop_unwatch(l->loop, l->peer);
        close(l->peer);
    }
    server_close(&l->srv);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    buf_free(&l->got);
    loop_free(l->loop);
    rec_free(l->r);
}

static void set_where(enum mode mode)
{
    snprintf(where, sizeof where, "%s/%s", bname, mode_names[mode]);
}

/* ---- cases over every link ---- */

/* on_data returns fewer than len: the rest comes back joined with the next read. */
static void test_data_contract(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 0) < 0)
        return;
    r.policy = take_lines;
    peer_send(&l, "line one\nline t", 15);
    wait_len(l.loop, &r.data, 9, 2000);
    TAP_EQ_MEM(buf_data(&r.data), buf_len(&r.data), "line one\n", 9,
               "%s: a complete line is consumed, the partial one left", where);
    peer_send(&l, "wo\nline three\n", 14);
    wait_len(l.loop, &r.data, 29, 2000);
    TAP_EQ_MEM(buf_data(&r.data), buf_len(&r.data), "line one\nline two\nline three\n", 29,
               "%s: every line once, in order", where);
    TAP_EQ_MEM(buf_data(&r.last_in), buf_len(&r.last_in), "line two\nline three\n", 20,
               "%s: the unconsumed \"line t\" came back joined with the next read", where);

    peer_send(&l, "no newline yet", 14);
    int before = r.datas;
    wait_int(l.loop, &r.datas, before + 1, 2000);
    peer_send(&l, "!\n", 2);
    wait_len(l.loop, &r.data, 29 + 16, 2000);
    TAP_EQ_MEM(buf_data(&r.last_in), buf_len(&r.last_in), "no newline yet!\n", 16,
               "%s: bytes left unconsumed twice are still handed back", where);

    TAP_EQ_INT(stream_write(l.s, "pong", 4), 1, "%s: stream_write under high water is 1", where);
    peer_reading(&l, 1);
    wait_len(l.loop, &l.got, 4, 2000);
    TAP_EQ_MEM(buf_data(&l.got), buf_len(&l.got), "pong", 4, "%s: the peer got our bytes", where);
    TAP_EQ_INT(stream_queued(l.s), 0, "%s: nothing left queued", where);
    link_close(&l);
    check_closed_once(&r, "data");
}

/* Several MiB to a peer that does not read: the kernel takes part, the rest is queued, writes
 * say "wait" past high water; then the peer reads it all and on_drain comes once. */
static void test_backpressure(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 1) < 0)
        return;
    const size_t chunk = 64 * 1024;
    int first_zero = -1, ones_after_zero = 0;
    size_t queued_at_zero = 0, max_queued_before = 0;
    for (size_t i = 0; i * chunk < BIG; i++) {
        int ok = stream_write(l.s, pattern_bytes + i * chunk, chunk);
        if (!ok && first_zero < 0) {
            first_zero = (int)i;
            queued_at_zero = stream_queued(l.s);
        } else if (ok && first_zero >= 0) {
            ones_after_zero++;
        } else if (ok && stream_queued(l.s) > max_queued_before) {
            max_queued_before = stream_queued(l.s);
        }
    }
    size_t queued = stream_queued(l.s);
    TAP_OK(first_zero >= 0 && ones_after_zero == 0,
           "%s: stream_write returns 0 from chunk %d on, and stays 0", where, first_zero);
    TAP_OK(queued_at_zero >= l.s->high_water && max_queued_before < l.s->high_water,
           "%s: 0 exactly when the queue passed high water", where);
    TAP_OK(queued > BIG / 2 && queued < BIG,
           "%s: a partial write: the kernel took %zu bytes, %zu are queued", where,
           (size_t)BIG - queued, queued);

    /* Over TCP the kernel may still take a little as earlier segments are acknowledged. */
    run_for(l.loop, 20);
    TAP_OK(r.drains == 0 && stream_queued(l.s) > BIG / 2,
           "%s: while the peer does not read, nothing drains (%zu queued)", where,
           stream_queued(l.s));

    peer_reading(&l, 1);
    wait_len(l.loop, &l.got, BIG, 4000);
    TAP_OK(buf_len(&l.got) == BIG && memcmp(buf_data(&l.got), pattern_bytes, BIG) == 0,
           "%s: the peer read all %u bytes, byte-exact", where, BIG);
    run_for(l.loop, 10);
    TAP_EQ_INT(r.drains, 1, "%s: on_drain fired exactly once", where);
    TAP_EQ_INT(stream_queued(l.s), 0, "%s: the queue is empty", where);
    TAP_EQ_INT(stream_write(l.s, "x", 1), 1, "%s: after the drain writes say go on", where);
    link_close(&l);
    check_closed_once(&r, "backpressure");
}

static void test_pause_resume(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 0) < 0)
        return;
    r.policy = take_two_then_pause;
    peer_send(&l, "hello", 5);
    wait_int(l.loop, &r.datas, 1, 2000);
    TAP_OK(stream_paused(l.s) && buf_len(&r.data) == 2,
           "%s: on_data took 2 bytes of \"hello\" and paused", where);
    peer_send(&l, "world", 5);
    run_for(l.loop, 40);
    TAP_EQ_INT(r.datas, 1, "%s: no on_data while paused", where);

    stream_resume(l.s);
    TAP_OK(!stream_paused(l.s), "%s: resumed", where);
    wait_len(l.loop, &r.data, 10, 2000);
    TAP_EQ_MEM(buf_data(&r.data), buf_len(&r.data), "helloworld", 10,
               "%s: after resume the buffered \"llo\" and then \"world\" arrive", where);
    TAP_EQ_INT(r.paused_calls, 0, "%s: on_data was never called while paused", where);

    /* Paused with nothing buffered: new bytes wait in the kernel. */
    stream_pause(l.s);
    int before = r.datas;
    peer_send(&l, "later", 5);
    run_for(l.loop, 30);
    TAP_EQ_INT(r.datas, before, "%s: paused again: the new bytes wait", where);
    stream_resume(l.s);
    wait_len(l.loop, &r.data, 15, 2000);
    TAP_EQ_MEM(buf_data(&r.data) + 10, buf_len(&r.data) - 10, "later", 5,
               "%s: and arrive after resume", where);
    link_close(&l);
    check_closed_once(&r, "pause");
}

/* The peer half-closes while we have a large queue: on_end, then (allow_half_open 0) our FIN
 * goes after the queue, and the stream closes. */
static void test_half_close(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 1) < 0)
        return;
    const size_t total = 1u << 20;
    stream_write(l.s, pattern_bytes, total);
    shutdown(l.peer, SHUT_WR);
    wait_int(l.loop, &r.ends, 1, 2000);
    TAP_EQ_INT(r.ends, 1, "%s: peer shutdown(SHUT_WR): on_end", where);
    TAP_OK(stream_peer_ended(l.s) && stream_ended(l.s),
           "%s: the stream ended its side too (allow_half_open 0)", where);
    TAP_OK(r.closes == 0 && stream_queued(l.s) > 0, "%s: but not before its queue is written",
           where);
    TAP_EQ_INT(stream_write(l.s, "late", 4), 0, "%s: writes after the end are refused", where);

    peer_reading(&l, 1);
    wait_int(l.loop, &l.eof, 1, 4000);
    wait_int(l.loop, &r.closes, 1, 2000);
    TAP_OK(l.eof && buf_len(&l.got) == total && memcmp(buf_data(&l.got), pattern_bytes, total) == 0,
           "%s: the peer read all %zu bytes, then our FIN", where, total);
    check_closed_once(&r, "half-close");
    TAP_EQ_INT(r.close_error, 0, "%s: a clean close has no error", where);
    link_close(&l);
}

/* allow_half_open 1: after on_end the stream can still write, until it ends itself. */
static void test_half_open(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 0) < 0)
        return;
    l.s->allow_half_open = 1;
    peer_reading(&l, 1);
    shutdown(l.peer, SHUT_WR);
    wait_int(l.loop, &r.ends, 1, 2000);
    TAP_OK(r.ends == 1 && !stream_ended(l.s), "%s: half open: on_end, our side stays open", where);
    TAP_EQ_INT(stream_write(l.s, "after end", 9), 1, "%s: half open: writing after on_end", where);
    wait_len(l.loop, &l.got, 9, 2000);
    TAP_EQ_MEM(buf_data(&l.got), buf_len(&l.got), "after end", 9, "%s: half open: peer got it",
               where);
    TAP_OK(!l.eof && r.closes == 0, "%s: half open: no FIN, no close yet", where);
    stream_end(l.s);
    wait_int(l.loop, &l.eof, 1, 2000);
    wait_int(l.loop, &r.closes, 1, 2000);
    TAP_OK(l.eof, "%s: half open: stream_end sends the FIN", where);
    check_closed_once(&r, "half-open");
    link_close(&l);
}

/* stream_end with a large queue: all of it, then FIN; the stream closes when the peer's FIN
 * comes back. */
static void test_end_with_queue(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 1) < 0)
        return;
    const size_t total = 1u << 20;
    stream_write(l.s, pattern_bytes, total);
    stream_end(l.s);
    TAP_OK(stream_ended(l.s) && stream_queued(l.s) > 0, "%s: end: queued data waits", where);
    TAP_EQ_INT(stream_write(l.s, "dropped", 7), 0, "%s: end: later writes are dropped", where);
    peer_reading(&l, 1);
    wait_int(l.loop, &l.eof, 1, 4000);
    TAP_OK(l.eof && buf_len(&l.got) == total && memcmp(buf_data(&l.got), pattern_bytes, total) == 0,
           "%s: end: the peer read all %zu bytes, then FIN", where, total);
    run_for(l.loop, 10);
    TAP_EQ_INT(r.closes, 0, "%s: end: open until the peer ends too", where);

    shutdown(l.peer, SHUT_WR);
    wait_int(l.loop, &r.closes, 1, 2000);
    TAP_EQ_INT(r.ends, 1, "%s: end: the peer's FIN is on_end", where);
    check_closed_once(&r, "end");
    link_close(&l);
}

static void test_destroy_in_data(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 0) < 0)
        return;
    r.policy = destroy_now;
    peer_send(&l, "abc", 3);
    wait_int(l.loop, &r.closes, 1, 2000);
    peer_send(&l, "def", 3);
    run_for(l.loop, 10);
    TAP_EQ_INT(r.datas, 1, "%s: destroy in on_data: no more on_data", where);
    check_closed_once(&r, "destroy in on_data");
    peer_reading(&l, 1);
    wait_int(l.loop, &l.eof, 1, 2000);
    TAP_OK(l.eof || l.rd_err, "%s: destroy in on_data: the peer sees the close", where);
    link_close(&l);

    /* The same from the buffered path: input kept by one call, destroy in the next. */
    if (link_open(&l, mode, &r, 0) < 0)
        return;
    r.policy = keep_then_destroy;
    peer_send(&l, "ab", 2);
    wait_int(l.loop, &r.datas, 1, 2000);
    peer_send(&l, "cd", 2);
    wait_int(l.loop, &r.closes, 1, 2000);
    TAP_EQ_MEM(buf_data(&r.last_in), buf_len(&r.last_in), "abcd", 4,
               "%s: destroy with buffered input: the call had the joined bytes", where);
    check_closed_once(&r, "destroy with buffered input");
    link_close(&l);
}

/* The peer resets while we have a large queue. */
static void test_reset(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 1) < 0)
        return;
    stream_write(l.s, pattern_bytes, BIG);
    run_for(l.loop, 5);
    struct linger lg = {1, 0};
    setsockopt(l.peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(l.peer);
    l.peer = -1;
    wait_int(l.loop, &r.closes, 1, 2000);
    TAP_OK(r.errors == 1 && (r.last_err == ECONNRESET || r.last_err == EPIPE),
           "%s: reset: on_error with ECONNRESET or EPIPE (got %s)", where, strerror(r.last_err));
    TAP_OK(r.nlog >= 2 && r.log[r.nlog - 2] == 'X', "%s: reset: on_error right before on_close",
           where);
    TAP_EQ_INT(r.close_error, r.last_err, "%s: reset: s->error says why it closed", where);
    check_closed_once(&r, "reset");
    link_close(&l);
}

static void test_idle_timeout(enum mode mode)
{
    struct link l;
    struct rec r;
    if (link_open(&l, mode, &r, 0) < 0)
        return;
    loop_run_once(l.loop, 0);
    uint64_t start = loop_now(l.loop), t0 = now_ms();
    stream_set_timeout(l.s, 50);
    wait_int(l.loop, &r.timeouts, 1, 1000);
    TAP_EQ_INT(r.timeouts, 1, "%s: idle: on_timeout fired", where);
    TAP_OK(r.timeout_at >= start + 50 && now_ms() - t0 < 300,
           "%s: idle: after 50 ms of silence (%llu ms)", where,
           (unsigned long long)(r.timeout_at - start));
    TAP_OK(r.closes == 0 && !stream_closed(l.s), "%s: idle: nothing is closed", where);

    /* Traffic moves the deadline: a byte at 30 ms puts the timeout at 30 + 60 or later. */
    stream_set_timeout(l.s, 60);
    loop_run_once(l.loop, 0);
    start = loop_now(l.loop);
    run_for(l.loop, 30);
    peer_send(&l, "x", 1);
    wait_int(l.loop, &r.timeouts, 2, 1000);
    TAP_OK(r.timeouts == 2 && r.timeout_at >= start + 90,
           "%s: idle: traffic pushed the timeout back (%llu ms)", where,
           (unsigned long long)(r.timeout_at - start));
    stream_set_timeout(l.s, 0);
    run_for(l.loop, 80);
    TAP_EQ_INT(r.timeouts, 2, "%s: idle: timeout 0 turns it off", where);
    link_close(&l);
    check_closed_once(&r, "idle");
}

static void test_max_input(enum mode mode)
{
    struct link l;
    struct rec r;
    char bytes[300];
    memset(bytes, 'm', sizeof bytes);
    if (link_open(&l, mode, &r, 0) < 0)
        return;
    r.policy = take_none;
    l.s->max_input = 100;
    peer_send(&l, bytes, 100);
    wait_int(l.loop, &r.datas, 1, 2000);
    run_for(l.loop, 10);
    TAP_EQ_INT(r.errors, 0, "%s: max_input: exactly max_input unconsumed bytes are kept", where);
    peer_send(&l, bytes, 1);
    wait_int(l.loop, &r.closes, 1, 2000);
    TAP_OK(r.errors == 1 && r.last_err == EMSGSIZE, "%s: max_input: one more is EMSGSIZE", where);
    check_closed_once(&r, "max_input");
    link_close(&l);
}

/* Writes made inside on_data leave in one write(): over SOCK_SEQPACKET each write is one
 * record, so the peer counts them. */
static void test_one_write_per_callback(void)
{
    struct link l;
    struct rec r;
    set_where(PAIR_SEQPACKET);
    if (link_open(&l, PAIR_SEQPACKET, &r, 0) < 0)
        return;
    r.policy = write_three;
    peer_send(&l, "go", 2);
    wait_int(l.loop, &r.datas, 1, 2000);
    char rec1[64];
    ssize_t n = read(l.peer, rec1, sizeof rec1);
    TAP_EQ_MEM(rec1, n > 0 ? (size_t)n : 0, "onetwothree", 11,
               "%s: three writes in on_data arrive as one record", where);
    TAP_OK(read(l.peer, rec1, sizeof rec1) < 0 && errno == EAGAIN,
           "%s: and only one: one write() system call", where);
    link_close(&l);
    check_closed_once(&r, "one write");
}

/* Two streams with data in the same turn: whichever on_data runs first destroys the other. */
static void test_destroy_other(void)
{
    set_where(PAIR);
    struct link a;
    struct rec ra, rb;
    if (link_open(&a, PAIR, &ra, 0) < 0)
        return;
    /* Both streams on a's loop. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    net_set_nonblock(sv[0]);
    net_set_nonblock(sv[1]);
    memset(&rb, 0, sizeof rb);
    struct stream *sb = stream_new(a.loop, sv[0]);
    rec_attach(&rb, sb);
    ra.other = &rb;
    rb.other = &ra;
    ra.policy = rb.policy = destroy_other;
    peer_send(&a, "a", 1);
    write(sv[1], "b", 1);
    uint64_t deadline = now_ms() + 1000;
    while (ra.closes + rb.closes == 0 && now_ms() < deadline)
        loop_run_once(a.loop, 10);
    run_for(a.loop, 10);
    TAP_EQ_INT(ra.datas + rb.datas, 1,
               "%s: destroying another stream with data pending: its on_data never runs", where);
    struct rec *victim = ra.datas ? &rb : &ra, *survivor = ra.datas ? &ra : &rb;
    TAP_OK(victim->closes == 1 && survivor->closes == 0,
           "%s: the destroyed one closed, the other is open", where);
    stream_destroy(survivor->s);
    wait_int(a.loop, &survivor->closes, 1, 1000);
    check_closed_once(&ra, "first");
    check_closed_once(&rb, "second");
    close(sv[1]);
    rec_free(&rb);
    link_close(&a);
}

/* ---- connecting and the server ---- */

/* Streams accepted by a server, each with its own record. */
struct farm {
    struct rec rec[4];
    int n;
    int server_closes;
};

static void on_farm_connection(struct server *srv, struct stream *s)
{
    struct farm *f = srv->user;
    if (f->n < 4)
        rec_attach(&f->rec[f->n++], s);
}

static void on_farm_close(struct server *srv)
{
    struct farm *f = srv->user;
    f->server_closes++;
}

static int farm_listen(struct server *srv, struct loop *loop, struct farm *f)
{
    char err[NET_ERR_LEN];
    memset(srv, 0, sizeof *srv);
    memset(f, 0, sizeof *f);
    srv->user = f;
    if (server_listen(srv, loop, "127.0.0.1", 0, on_farm_connection, err) < 0) {
        TAP_OK(0, "%s: server_listen: %s", where, err);
        return -1;
    }
    return 0;
}

static struct stream *client(struct loop *loop, int port, struct rec *r)
{
    char err[NET_ERR_LEN];
    memset(r, 0, sizeof *r);
    struct stream *s = stream_connect(loop, "127.0.0.1", port, err);
    if (s)
        rec_attach(r, s);
    return s;
}

static void farm_free(struct farm *f)
{
    for (int i = 0; i < 4; i++)
        rec_free(&f->rec[i]);
}

static void test_connect_exchange(void)
{
    struct loop *loop = loop_new(backend);
    struct server srv;
    struct farm f;
    struct rec c;
    if (farm_listen(&srv, loop, &f) < 0) {
        loop_free(loop);
        return;
    }
    int port = net_local_port(srv.fd);
    TAP_OK(port > 0 && strncmp(srv.addr, "127.0.0.1:", 10) == 0,
           "%s: server_listen on port 0 got port %d (%s)", where, port, srv.addr);
    struct stream *cs = client(loop, port, &c);
    TAP_OK(cs != NULL, "%s: stream_connect returns a stream", where);
    TAP_EQ_INT(stream_write(cs, "ping", 4), 1, "%s: writing while still connecting", where);
    wait_int(loop, &c.connects, 1, 2000);
    char want[NET_ADDR_LEN];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    TAP_OK(c.connects == 1 && strcmp(cs->peer, want) == 0, "%s: on_connect, peer %s", where,
           cs->peer);
    wait_int(loop, &f.n, 1, 2000);
    wait_len(loop, &f.rec[0].data, 4, 2000);
    TAP_EQ_MEM(buf_data(&f.rec[0].data), buf_len(&f.rec[0].data), "ping", 4,
               "%s: the server's stream got what was written before the connect finished", where);
    stream_write(f.rec[0].s, "pong", 4);
    wait_len(loop, &c.data, 4, 2000);
    TAP_EQ_MEM(buf_data(&c.data), buf_len(&c.data), "pong", 4, "%s: and the client the answer",
               where);
    TAP_OK(srv.connections == 1 && srv.accepted == 1, "%s: the server counts one connection",
           where);

    stream_end(cs);
    wait_int(loop, &c.closes, 1, 2000);
    wait_int(loop, &f.rec[0].closes, 1, 2000);
    TAP_OK(f.rec[0].ends == 1 && c.ends == 1, "%s: client end: both sides saw on_end", where);
    check_closed_once(&c, "client");
    check_closed_once(&f.rec[0], "server side");
    TAP_EQ_INT(srv.connections, 0, "%s: the server counts none", where);
    server_close(&srv);
    rec_free(&c);
    farm_free(&f);
    loop_free(loop);
}

static void test_connect_refused(void)
{
    struct loop *loop = loop_new(backend);
    char err[NET_ERR_LEN];
    int fd = net_tcp_listen("127.0.0.1", 0, 1, err);
    int port = net_local_port(fd);
    close(fd);
    struct rec c;
    struct stream *cs = client(loop, port, &c);
    TAP_OK(cs != NULL, "%s: connect to a closed port: a stream first", where);
    wait_int(loop, &c.closes, 1, 2000);
    TAP_OK(c.errors == 1 && c.last_err == ECONNREFUSED && c.connects == 0,
           "%s: then on_error(ECONNREFUSED) (got %s)", where, strerror(c.last_err));
    TAP_EQ_STR(c.log, "XZ", "%s: and on_close", where);
    rec_free(&c);
    loop_free(loop);
}

/* Destroyed before the connect finished: no on_connect, no error, one on_close. */
static void test_destroy_while_connecting(void)
{
    struct loop *loop = loop_new(backend);
    char err[NET_ERR_LEN];
    int fd = net_tcp_listen("127.0.0.1", 0, 1, err);
    struct rec c;
    struct stream *cs = client(loop, net_local_port(fd), &c);
    stream_destroy(cs);
    wait_int(loop, &c.closes, 1, 2000);
    run_for(loop, 10);
    TAP_EQ_STR(c.log, "Z", "%s: destroyed while connecting: on_close only", where);
    close(fd);
    rec_free(&c);
    loop_free(loop);
}

static void test_unknown_host(void)
{
    struct loop *loop = loop_new(backend);
    char err[NET_ERR_LEN] = "";
    struct stream *s = stream_connect(loop, "no-such-host.invalid", 80, err);
    TAP_OK(s == NULL && strstr(err, "unknown host") != NULL,
           "%s: stream_connect to no-such-host.invalid: NULL, \"%s\"", where, err);
    loop_free(loop);
}

static void test_max_connections(void)
{
    struct loop *loop = loop_new(backend);
    struct server srv;
    struct farm f;
    struct rec c1, c2;
    if (farm_listen(&srv, loop, &f) < 0) {
        loop_free(loop);
        return;
    }
    srv.max_connections = 1;
    int port = net_local_port(srv.fd);
    struct stream *s1 = client(loop, port, &c1);
    wait_int(loop, &f.n, 1, 2000);
    client(loop, port, &c2);
    wait_int(loop, &c2.connects, 1, 2000);
    run_for(loop, 30);
    TAP_OK(f.n == 1 && srv.accepted == 1 && srv.connections == 1,
           "%s: max_connections 1: the second client waits in the backlog", where);
    stream_destroy(s1);
    wait_int(loop, &f.n, 2, 2000);
    TAP_OK(f.n == 2 && srv.accepted == 2 && f.rec[0].closes == 1,
           "%s: max_connections 1: accepted once the first one closed", where);
    TAP_EQ_INT(srv.connections, 1, "%s: max_connections 1: one open", where);

    server_destroy_all(&srv);
    server_close(&srv);
    wait_int(loop, &c2.closes, 1, 2000);
    wait_int(loop, &f.rec[1].closes, 1, 2000);
    check_closed_once(&c1, "first client");
    check_closed_once(&c2, "second client");
    rec_free(&c1);
    rec_free(&c2);
    farm_free(&f);
    loop_free(loop);
}

/* server_shutdown: stop accepting, end every stream; the clients end too, and the server's
 * on_close comes once the last stream has gone, long before the grace period. */
static void test_server_shutdown(void)
{
    struct loop *loop = loop_new(backend);
    struct server srv;
    struct farm f;
    struct rec c1, c2;
    if (farm_listen(&srv, loop, &f) < 0) {
        loop_free(loop);
        return;
    }
    srv.on_close = on_farm_close;
    int port = net_local_port(srv.fd);
    client(loop, port, &c1);
    client(loop, port, &c2);
    wait_int(loop, &f.n, 2, 2000);
    stream_write(f.rec[0].s, "bye", 3);
    uint64_t t0 = now_ms();
    server_shutdown(&srv, 5000);
    TAP_EQ_INT(srv.fd, -1, "%s: shutdown: no longer listening", where);
    wait_int(loop, &f.server_closes, 1, 2000);
    TAP_OK(f.server_closes == 1 && now_ms() - t0 < 2000,
           "%s: shutdown: the server's on_close once the streams are gone", where);
    TAP_OK(c1.ends == 1 && c2.ends == 1 && buf_len(&c1.data) == 3,
           "%s: shutdown: each client got its data and on_end", where);
    wait_int(loop, &c1.closes, 1, 1000);
    wait_int(loop, &c2.closes, 1, 1000);
    check_closed_once(&f.rec[0], "server stream 1");
    check_closed_once(&f.rec[1], "server stream 2");
    check_closed_once(&c1, "client 1");
    check_closed_once(&c2, "client 2");
    TAP_EQ_INT(srv.connections, 0, "%s: shutdown: no connection left", where);
    t0 = now_ms();
    loop_run(loop);
    TAP_OK(now_ms() - t0 < 500 && f.server_closes == 1,
           "%s: shutdown: nothing left for the loop (the grace timer is gone)", where);
    rec_free(&c1);
    rec_free(&c2);
    farm_free(&f);
    loop_free(loop);
}

/* A client that never ends its side: the grace period runs out and the server destroys it. */
static void test_server_shutdown_grace(void)
{
    struct loop *loop = loop_new(backend);
    struct server srv;
    struct farm f;
    struct rec c;
    if (farm_listen(&srv, loop, &f) < 0) {
        loop_free(loop);
        return;
    }
    srv.on_close = on_farm_close;
    struct stream *cs = client(loop, net_local_port(srv.fd), &c);
    cs->allow_half_open = 1;
    wait_int(loop, &f.n, 1, 2000);
    server_shutdown(&srv, 100);
    wait_int(loop, &c.ends, 1, 2000);
    run_for(loop, 50);
    TAP_OK(f.server_closes == 0 && f.rec[0].closes == 0,
           "%s: grace: a half-open client keeps the server open", where);
    wait_int(loop, &f.server_closes, 1, 2000);
    TAP_OK(f.server_closes == 1 && f.rec[0].closes == 1,
           "%s: grace: after it the stream is destroyed and the server closes", where);
    stream_destroy(cs);
    wait_int(loop, &c.closes, 1, 1000);
    check_closed_once(&c, "client");
    rec_free(&c);
    farm_free(&f);
    loop_free(loop);
}

/* A second server_shutdown does not wait: every stream is destroyed at once. A closed server
 * refuses new clients. */
static void test_server_shutdown_twice(void)
{
    struct loop *loop = loop_new(backend);
    struct server srv;
    struct farm f;
    struct rec c, late;
    if (farm_listen(&srv, loop, &f) < 0) {
        loop_free(loop);
        return;
    }
    srv.on_close = on_farm_close;
    int port = net_local_port(srv.fd);
    struct stream *cs = client(loop, port, &c);
    cs->allow_half_open = 1;
    wait_int(loop, &f.n, 1, 2000);
    server_shutdown(&srv, 5000);
    client(loop, port, &late);
    wait_int(loop, &late.closes, 1, 2000);
    TAP_OK(late.last_err == ECONNREFUSED, "%s: a closed server refuses new clients (%s)", where,
           strerror(late.last_err));
    wait_int(loop, &c.ends, 1, 2000);
    uint64_t t0 = now_ms();
    server_shutdown(&srv, 5000);
    wait_int(loop, &f.server_closes, 1, 2000);
    TAP_OK(f.server_closes == 1 && f.rec[0].closes == 1 && now_ms() - t0 < 1000,
           "%s: shutdown twice: the stream is destroyed and the server closes at once", where);
    check_closed_once(&f.rec[0], "server stream");
    stream_destroy(cs);
    wait_int(loop, &c.closes, 1, 1000);
    rec_free(&c);
    rec_free(&late);
    farm_free(&f);
    loop_free(loop);
}

static void run_links(enum mode mode)
{
    set_where(mode);
    test_data_contract(mode);
    test_backpressure(mode);
    test_pause_resume(mode);
    test_half_close(mode);
    test_half_open(mode);
    test_end_with_queue(mode);
    test_destroy_in_data(mode);
    test_reset(mode);
    test_idle_timeout(mode);
    test_max_input(mode);
}

static void run_all(enum loop_backend b, const char *name)
{
    backend = b;
    bname = name;
    run_links(PAIR);
    run_links(TCP_SERVER);
    run_links(TCP_CLIENT);
    test_one_write_per_callback();
    test_destroy_other();
    snprintf(where, sizeof where, "%s/tcp", bname);
    test_connect_exchange();
    test_connect_refused();
    test_destroy_while_connecting();
    test_unknown_host();
    test_max_connections();
    test_server_shutdown();
    test_server_shutdown_grace();
    test_server_shutdown_twice();
}

int main(void)
{
    alarm(20);
    /* Streams write with write(2): like every program, the test must not die of SIGPIPE. */
    net_ignore_sigpipe();
    pattern_bytes = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        pattern_bytes[i] = (char)((i * 7 + i / 251) & 0xff);
    run_all(LOOP_EPOLL, "epoll");
    run_all(LOOP_POLL, "poll");
    free(pattern_bytes);
    return tap_done();
}
