/* fuzz_ws_conn.c - libFuzzer target for the WebSocket connection layer (ws_conn.c) on a real
 * stream and loop.
 *
 * Each input is a conversation. One end of a socketpair becomes a stream on a loop, and
 * ws_conn takes it over; the fuzzer plays the peer on the other end. The input is
 *
 *     byte 0   settings: bit 0 client role (else server), bit 1 legacy (draft-76) framing,
 *              bit 2 trace every frame (on_frame), bit 3 the application starts the closing
 *              handshake halfway, bit 4 it also sends a ping halfway, bit 5 the poll backend,
 *              bits 6-7 the message limit (256, 1024, 4096 or 64 bytes: 1009 is reachable)
 *     byte 1   how the rest is cut into writes: 0 one write, else pieces of 1..byte1 bytes
 *              whose sizes follow from it (so frames arrive split across reads anywhere)
 *     rest     the bytes the peer sends
 *
 * The application echoes every message, pausing the stream when ws_send says so and resuming
 * on on_drain, as ws-echo does. Between writes the loop runs until it is quiet, and the peer
 * reads everything ws_conn sent and checks it, beyond what the sanitizers catch:
 *   - every message delivered is within the limit, and text is valid UTF-8;
 *   - everything sent parses as frames with the opposite side's mask rule (a server never
 *     masks, a client always does), in the shortest length form, a close payload is valid,
 *     a text payload is UTF-8; in legacy mode, 00 text FF frames and FF 00;
 *   - nothing follows our close frame;
 *   - once the peer closes its end, on_close comes within a few turns of the loop (not after
 *     the 5-second close timer: a connection whose peer is gone must notice), and every byte
 *     allocated is freed (LeakSanitizer).
 *
 *   make build/fuzz/fuzz_ws_conn
 *   cp -r tests/fuzz/corpus/fuzz_ws_conn /tmp/corpus
 *   ./build/fuzz/fuzz_ws_conn -max_total_time=60 /tmp/corpus
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "loop.h"
#include "stream.h"
#include "utf8.h"
#include "ws_conn.h"
#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    F_CLIENT = 1 << 0,
    F_LEGACY = 1 << 1,
    F_TRACE = 1 << 2,
    F_APP_CLOSE = 1 << 3,
    F_APP_PING = 1 << 4,
    F_POLL = 1 << 5,
};

#define MAX_TURNS 1000 /* turns of the loop that may pass before it must be quiet */
/* 10 ms turns after the peer's hang-up: 0.5 s, well under the 5 s close timer, which must
 * not be what ends the connection. */
#define HANGUP_TURNS 50

/* One run's state: the connection under test and what its peer has seen. */
struct run {
    struct loop *loop;
    struct ws_conn *ws;
    int peer;           /* our end of the socketpair */
    int closed;         /* on_close has fired (ws is gone) */
    int client, legacy; /* the role and framing under test */
    size_t max_message;
    struct buf out;      /* bytes ws_conn sent that the checker has not parsed yet */
    int saw_close_frame; /* ws_conn sent its close */
};

static void require(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

/* ---- the application: an echo ---- */

static void on_message(struct ws_conn *ws, int opcode, const char *data, size_t len)
{
    struct run *r = ws->user;
    require(opcode == WS_OP_TEXT || opcode == WS_OP_BINARY, "a message is text or binary");
    require(len <= r->max_message, "a message is within max_message");
    require(opcode != WS_OP_TEXT || utf8_check(data, len) == 0, "text is valid UTF-8");
    if (!ws_send(ws, opcode, data, len))
        stream_pause(ws->s);
}

static void on_drain(struct ws_conn *ws)
{
    stream_resume(ws->s);
}

static void on_frame(struct ws_conn *ws, char dir, const struct ws_header *h, const char *payload)
{
    char text[256];
    require(dir == '<' || dir == '>', "a frame has a direction");
    require(ws_frame_describe(h, text, sizeof text) < sizeof text, "a description fits");
}

static void on_close(struct ws_conn *ws, int code, const char *reason, size_t len)
{
    struct run *r = ws->user;
    require(!r->closed, "on_close comes once");
    require(code >= 1000 && code <= 4999, "the close code is a code");
    require(len <= WS_MAX_CLOSE_REASON, "the close reason fits");
    r->closed = 1;
    r->ws = NULL;
}

/* ---- the peer: reading and checking what ws_conn sent ---- */

/* Checks one RFC 6455 frame at the front of r->out; returns its length, 0 if incomplete. */
static size_t check_frame(struct run *r, unsigned char *p, size_t len)
{
    struct ws_header h;
    struct ws_error err;
    unsigned flags = WS_MINIMAL_LENGTH | (r->client ? WS_REQUIRE_MASK : WS_FORBID_MASK);
    ssize_t hl = ws_frame_parse_header(p, len, flags, &h, &err);
    require(hl != WS_ERROR, "what ws_conn sends parses with the peer's rules");
    if (hl == WS_INCOMPLETE || len - (size_t)hl < h.payload_len)
        return 0;
    require(!r->saw_close_frame, "nothing is sent after the close frame");
    require(h.fin, "ws_conn sends whole messages");
    unsigned char *payload = p + hl;
    size_t plen = (size_t)h.payload_len;
    if (h.masked)
        ws_mask_payload(payload, plen, h.mask_key, 0);
    if (h.opcode == WS_OP_CLOSE) {
        struct ws_close c;
        require(ws_close_parse(payload, plen, &c, &err) == 0, "our close payload is valid");
        r->saw_close_frame = 1;
    }
    if (h.opcode == WS_OP_TEXT)
        require(utf8_check(payload, plen) == 0, "sent text is UTF-8");
    return (size_t)hl + plen;
}

/* Checks one draft-76 frame at the front of r->out; returns its length, 0 if incomplete. */
static size_t check_legacy_frame(struct run *r, const unsigned char *p, size_t len)
{
    struct ws_hixie76_frame f;
    ssize_t n = ws_hixie76_parse(p, len, &f);
    require(n != WS_ERROR, "what ws_conn sends is draft-76 framing");
    if (n == WS_INCOMPLETE)
        return 0;
    require(!r->saw_close_frame, "nothing is sent after the close frame");
    if (f.is_close)
        r->saw_close_frame = 1;
    else
        require(utf8_check(f.text, f.text_len) == 0, "sent text is UTF-8");
    return (size_t)n;
}

/* Reads whatever ws_conn has sent and checks every whole frame in it. */
static void drain_peer(struct run *r)
{
    for (;;) {
        char *room = buf_reserve(&r->out, 65536);
        ssize_t n = read(r->peer, room, 65536);
        if (n <= 0)
            break;
        buf_commit(&r->out, (size_t)n);
    }
    while (buf_len(&r->out) > 0) {
        unsigned char *p = (unsigned char *)buf_data(&r->out);
        size_t len = buf_len(&r->out);
        size_t used = r->legacy ? check_legacy_frame(r, p, len) : check_frame(r, p, len);
        if (used == 0)
            break;
        buf_consume(&r->out, used);
    }
}

/* Turns the loop (without waiting) until nothing more happens, reading as it goes. */
static void run_until_quiet(struct run *r)
{
    for (int turn = 0; turn < MAX_TURNS; turn++) {
        int ran = loop_run_once(r->loop, 0);
        drain_peer(r);
        if (ran == 0)
            return;
    }
    require(0, "the loop goes quiet");
}

/* Writes piece to the peer's end, turning the loop while the socket buffer is full. */
static void send_piece(struct run *r, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(r->peer, p, len);
        if (n < 0) {
            require(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET, "peer write");
            if (errno != EAGAIN)
                return; /* ws_conn closed the connection: the rest is not read */
            run_until_quiet(r);
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* The size of the next piece: 1..split bytes, from a small generator seeded by split. */
static size_t next_piece(uint32_t *state, unsigned split)
{
    *state = *state * 1103515245u + 12345u;
    return 1 + (*state >> 16) % split;
}

/* What the application may do halfway: start the closing handshake, send a ping. */
static void app_midway(struct run *r, unsigned flags)
{
    if (r->closed)
        return;
    if (flags & F_APP_PING)
        ws_ping(r->ws, "midway", 6);
    if (flags & F_APP_CLOSE)
        ws_close(r->ws, WS_CLOSE_NORMAL, "application done");
}

static void setup(struct run *r, unsigned flags)
{
    static const size_t limits[] = {256, 1024, 4096, 64};
    int sv[2];
    require(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0, "socketpair");
    memset(r, 0, sizeof *r);
    r->loop = loop_new(flags & F_POLL ? LOOP_POLL : LOOP_EPOLL);
    require(r->loop != NULL, "loop_new");
    r->peer = sv[1];
    r->client = (flags & F_CLIENT) != 0;
    r->legacy = (flags & F_LEGACY) != 0;
    r->max_message = limits[(flags >> 6) & 3];
    buf_init(&r->out);
    struct stream *s = stream_new(r->loop, sv[0]);
    struct ws_conn *ws = ws_conn_attach(s, r->client ? WS_CLIENT : WS_SERVER);
    ws->legacy = r->legacy;
    ws->max_message = r->max_message;
    ws->on_message = on_message;
    ws->on_drain = on_drain;
    ws->on_close = on_close;
    if (flags & F_TRACE)
        ws->on_frame = on_frame;
    ws->user = r;
    r->ws = ws;
}

/* The peer hangs up; ws_conn must see it and free everything within a few turns. */
static void finish(struct run *r)
{
    close(r->peer);
    for (int turn = 0; turn < HANGUP_TURNS && !r->closed; turn++)
        loop_run_once(r->loop, 10);
    require(r->closed, "on_close follows the peer's hang-up");
    loop_free(r->loop);
    buf_free(&r->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0], split = data[1];
    data += 2;
    size -= 2;

    struct run r;
    setup(&r, flags);
    run_until_quiet(&r);
    uint32_t state = split;
    size_t at = 0;
    int midway_done = 0;
    while (at < size && !r.closed) {
        size_t len = split == 0 ? size - at : next_piece(&state, split);
        if (len > size - at)
            len = size - at;
        send_piece(&r, data + at, len);
        at += len;
        run_until_quiet(&r);
        if (!midway_done && at >= size / 2) {
            midway_done = 1;
            app_midway(&r, flags);
            run_until_quiet(&r);
        }
    }
    finish(&r);
    return 0;
}
