/* ws_conn.h - a WebSocket connection on a stream, after the handshake (RFC 6455 sections 5-7).
 *
 * The codec (ws_frame.h) knows the bytes; this layer knows the conversation:
 *  - it reassembles fragmented messages, with control frames allowed in between;
 *  - it answers a ping with a pong carrying the same payload, and ignores unsolicited pongs;
 *  - it runs the closing handshake: a close frame is answered with the same code, then the
 *    TCP connection is closed (by the server first, as section 7.1.1 asks);
 *  - it fails the connection with the right code when the peer breaks a rule: 1002 for a
 *    protocol error (bad frame, unmasked client frame, bad close payload), 1007 for text that
 *    is not UTF-8, 1009 for a message over max_message;
 *  - it pings a peer that has been silent for ping_interval_ms and drops one that stays silent
 *    for another interval (a heartbeat: what TCP keep-alive cannot see, see docs);
 *  - it reports back-pressure: ws_send returns 0 once the stream's queue is past its high-water
 *    mark, and a peer whose queue passes max_queued is dropped, so one slow reader cannot make
 *    the server buffer without limit.
 * With legacy set, it speaks the old draft's framing instead (hixie-76: 00 text FF).
 *
 * Events:
 *   on_message(ws, opcode, data, len)  a whole message: WS_OP_TEXT (valid UTF-8) or WS_OP_BINARY
 *   on_frame(ws, dir, header, payload) every frame in ('<') and out ('>'), for -v dissection
 *   on_drain(ws)                       the queue emptied after ws_send returned 0
 *   on_close(ws, code, reason, len)    the connection is gone; the peer's close code, or 1006
 *                                      if it vanished without one. The last callback: ws is
 *                                      freed after it returns.
 */
#ifndef WIRELAB_WS_CONN_H
#define WIRELAB_WS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "stream.h"
#include "utf8.h"
#include "ws_frame.h"

struct ws_conn;

typedef void ws_message_fn(struct ws_conn *ws, int opcode, const char *data, size_t len);
typedef void ws_frame_fn(struct ws_conn *ws, char dir, const struct ws_header *h,
                         const char *payload);
typedef void ws_event_fn(struct ws_conn *ws);
typedef void ws_close_fn(struct ws_conn *ws, int code, const char *reason, size_t len);

#define WS_DEFAULT_MAX_MESSAGE (16u * 1024 * 1024)
#define WS_DEFAULT_MAX_QUEUED (64u * 1024 * 1024)

enum ws_role { WS_SERVER, WS_CLIENT };

struct ws_conn {
    struct stream *s;
    enum ws_role role;         /* a client masks what it sends; a server requires masked frames */
    int legacy;                /* hixie-76 framing */
    size_t max_message;        /* larger messages fail the connection with 1009 */
    size_t max_queued;         /* a peer this far behind is dropped */
    uint64_t ping_interval_ms; /* heartbeat; 0 = off */

    ws_message_fn *on_message;
    ws_frame_fn *on_frame;
    ws_event_fn *on_drain;
    ws_close_fn *on_close;
    void *user;

    /* Private to ws_conn.c. */
    int state;
    int msg_opcode; /* opcode of the message being reassembled, or -1 */
    struct buf msg; /* its fragments so far */
    struct utf8_validator utf8;
    int close_code; /* the peer's, as reported by on_close */
    char close_reason[WS_MAX_CLOSE_REASON + 1];
    size_t close_reason_len;
    struct loop_timer heartbeat;
    uint64_t last_heard;
    int ping_outstanding;
};

/* Takes over stream s, which has just completed the handshake (its callbacks are replaced
 * and s->user becomes the ws_conn). Bytes already buffered in s are parsed as frames. Set the
 * callbacks and limits on the returned connection before returning to the loop. */
struct ws_conn *ws_conn_attach(struct stream *s, enum ws_role role);

/* Starts the heartbeat with ws->ping_interval_ms (call after setting it). */
void ws_conn_start_heartbeat(struct ws_conn *ws);

/* Sends one whole message as a single frame (opcode WS_OP_TEXT or WS_OP_BINARY). Returns 1
 * if the caller may go on, 0 if it should wait for on_drain. A text message must be valid
 * UTF-8 (the caller's promise). Messages after ws_close are dropped (returns 0). */
int ws_send(struct ws_conn *ws, int opcode, const void *data, size_t len);

/* Sends a ping with up to 125 bytes of payload. */
void ws_ping(struct ws_conn *ws, const void *data, size_t len);

/* Starts the closing handshake with code and reason (reason may be NULL). The peer's close
 * frame, or a timeout, ends it. */
void ws_close(struct ws_conn *ws, int code, const char *reason);

/* Bytes queued on the stream and not yet sent. */
size_t ws_queued(const struct ws_conn *ws);

#endif
