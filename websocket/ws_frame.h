/* ws_frame.h - the WebSocket frame format of RFC 6455 (section 5), as pure functions over bytes.
 *
 * Every WebSocket message travels in frames. A frame is a header of 2 to 14 bytes, then the
 * payload:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-------+-+-------------+-------------------------------+
 *     |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *     |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *     |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *     | |1|2|3|       |K|             |                               |
 *     +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *     |     Extended payload length continued, if payload len == 127  |
 *     + - - - - - - - - - - - - - - - +-------------------------------+
 *     |                               |Masking-key, if MASK set to 1  |
 *     +-------------------------------+-------------------------------+
 *     | Masking-key (continued)       |          Payload Data         |
 *     +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * The payload length is 0-125 in the 7-bit field itself; 126 there means "a 16-bit length
 * follows", 127 "a 64-bit length follows", both big-endian. A client masks every frame it
 * sends with a fresh 4-byte key (payload[i] ^= key[i % 4]); a server never masks.
 *
 * Nothing here reads or writes a socket. ws_frame_parse_header() looks at the bytes a
 * connection has buffered and says one of three things: the header is complete (its length),
 * more bytes are needed (WS_INCOMPLETE), or the bytes break a rule (WS_ERROR, with the close
 * code to send and a one-line reason). The connection layer decides what to do next.
 *
 * The last part of this file covers the framing of the old draft (hixie-76): a text frame is
 * the byte 00, UTF-8 text, and the byte FF; the bytes FF 00 close the connection.
 */
#ifndef WIRELAB_WS_FRAME_H
#define WIRELAB_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opcodes (section 5.2). 3-7 are reserved for further data frames, B-F for further control
 * frames. Control frames have the high bit of the opcode set. */
enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

/* Close codes (section 7.4.1). 1005 and 1006 are never sent: they are what an endpoint
 * reports locally when a close frame had no code, or when no close frame came at all. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS = 1005,
    WS_CLOSE_ABNORMAL = 1006,
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY_VIOLATION = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_MISSING_EXTENSION = 1010,
    WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* What the parsers return instead of a length. */
enum {
    WS_ERROR = -1,      /* the bytes break a rule; the struct ws_error says which */
    WS_INCOMPLETE = -2, /* all is well so far, but more bytes are needed */
};

#define WS_MAX_HEADER_SIZE 14      /* 2 + 8 (64-bit length) + 4 (masking key) */
#define WS_MAX_CONTROL_PAYLOAD 125 /* close, ping and pong payloads (section 5.5) */
#define WS_MAX_CLOSE_REASON 123    /* a close payload is a 2-byte code, then the reason */

/* A frame header, decoded. */
struct ws_header {
    int fin;                   /* 1: the last (or only) frame of a message */
    int rsv;                   /* RSV1, RSV2, RSV3 as the bits 4, 2, 1 */
    int opcode;                /* 0x0-0xF; see enum ws_opcode */
    int masked;                /* the MASK bit */
    uint64_t payload_len;      /* the payload's length in bytes */
    int length_bits;           /* which form carried it: 7, 16 or 64 */
    int length_minimal;        /* 1 if that was the shortest form that could hold it */
    unsigned char mask_key[4]; /* the masking key if masked, else zeros */
    size_t header_len;         /* bytes before the payload: 2 to 14 */
};

/* Why parsing failed: the close code to send the peer, and which rule the bytes broke. */
struct ws_error {
    int close_code;     /* 1002 (protocol error) or 1007 (invalid UTF-8) */
    const char *reason; /* one line of text, a string constant */
};

/* Flags for ws_frame_parse_header(). A server passes WS_REQUIRE_MASK, a client
 * WS_FORBID_MASK; a tool that only decodes may pass neither. */
enum ws_parse_flags {
    WS_REQUIRE_MASK = 1 << 0,   /* frames must be masked (a server reading a client) */
    WS_FORBID_MASK = 1 << 1,    /* frames must not be masked (a client reading a server) */
    WS_MINIMAL_LENGTH = 1 << 2, /* reject a length not sent in its shortest form */
};

/* Parses the frame header at the start of data (len bytes buffered). Never reads past len.
 * The second byte tells how long the whole header is; once that many bytes are buffered, the
 * header is decoded into *h and checked against the rules of section 5. Returns:
 *   the header's length (2-14); the payload follows it in data;
 *   WS_INCOMPLETE if the whole header is not buffered yet (*h untouched);
 *   WS_ERROR, with *err filled in (close code 1002), if the header breaks a rule:
 *     - an RSV bit is set (no extension is ever negotiated here);
 *     - the opcode is reserved;
 *     - a control frame is fragmented, or its length is not in the 7-bit field (a control
 *       payload is at most 125 bytes, so an extended length form is wrong whatever it holds);
 *     - a 64-bit length has its most significant bit set;
 *     - the frame is unmasked under WS_REQUIRE_MASK, or masked under WS_FORBID_MASK;
 *     - under WS_MINIMAL_LENGTH only, the length is not in its shortest form.
 *     *h is still fully decoded, so ws_frame_describe() can show the offending header.
 * The RFC tells senders to use the shortest length form but does not tell receivers to
 * reject longer ones, so by default they are accepted and h->length_minimal is 0. */
ssize_t ws_frame_parse_header(const void *data, size_t len, unsigned flags, struct ws_header *h,
                              struct ws_error *err);

/* Writes a frame header into out and returns its length (2-14). mask_key is NULL for an
 * unmasked frame, else the 4-byte key (the payload must then be masked with ws_mask_payload).
 * The shortest length form is always used. Returns 0, writing nothing, if the frame would break
 * a rule: an opcode that is reserved or above 0xF, a control frame with fin 0 or a payload over
 * 125 bytes, or a length of 2^63 or more. */
size_t ws_frame_build_header(unsigned char out[WS_MAX_HEADER_SIZE], int fin, int opcode,
                             uint64_t payload_len, const unsigned char *mask_key);

/* Masks or unmasks len payload bytes in place (the operation is its own inverse):
 * payload[i] ^= key[(offset + i) % 4]. offset is how many bytes of this frame's payload came
 * before these, so a payload that arrives in pieces can be unmasked piece by piece. */
void ws_mask_payload(void *payload, size_t len, const unsigned char key[4], uint64_t offset);

/* Whether opcode is a control frame's (close, ping, pong and the reserved 0xB-0xF). */
int ws_opcode_is_control(int opcode);

/* The opcode's name for traces: "continuation", "text", "binary", "close", "ping", "pong",
 * "reserved" (0x3-0x7, 0xB-0xF), or "invalid" (outside 0x0-0xF). Never NULL. */
const char *ws_opcode_name(int opcode);

/* Describes a parsed header as text, one field per line, named as the RFC's diagram names them:
 *     FIN: 1
 *     RSV1: 0
 *     RSV2: 0
 *     RSV3: 0
 *     opcode: 0x1 (text)
 *     MASK: 1
 *     payload len: 5
 *     masking-key: 37 fa 21 3d
 * with an "extended payload length:" line for the 16- and 64-bit forms and no masking-key line
 * when MASK is 0. Each line ends in '\n'. Writes at most cap bytes including a terminating NUL,
 * like snprintf, and returns the length the whole text has (so a return >= cap means it was
 * cut short). 256 bytes is always enough. */
size_t ws_frame_describe(const struct ws_header *h, char *out, size_t cap);

/* A close frame's payload, decoded (section 5.5.1). */
struct ws_close {
    int code;           /* the status code; WS_CLOSE_NO_STATUS (1005) if the payload was empty */
    const char *reason; /* the reason text, pointing into the payload, not NUL-terminated;
                           NULL if the payload was empty */
    size_t reason_len;  /* its length; 0 if none */
};

/* Whether code may appear in a close frame on the wire (section 7.4): 1000-1003, 1007-1011 and
 * 3000-4999 (3000-3999 registered with IANA, 4000-4999 private use). Everything else is either
 * reserved (1004, 1012-2999; IANA has since registered 1012-1014, but RFC 6455 treats them as
 * reserved and so does this check), never sent (1005, 1006, 1015), or not a code (below 1000,
 * 5000 and up). Returns 1 or 0. */
int ws_close_code_is_valid(int code);

/* Parses the payload of a close frame (already unmasked). Returns 0 with *c filled in, or
 * WS_ERROR with *err: a 1-byte payload, a payload over 125 bytes, or a code that is not
 * valid on the wire give 1002; a reason that is not valid UTF-8 gives 1007. An empty payload
 * is valid and means "no code": c->code is then 1005. */
int ws_close_parse(const void *payload, size_t len, struct ws_close *c, struct ws_error *err);

/* Builds a close payload into out: the code as 2 big-endian bytes, then reason_len bytes of
 * reason (reason may be NULL when reason_len is 0). Returns its length, or WS_ERROR if the code
 * is not valid on the wire, the reason is longer than 123 bytes or is not valid UTF-8. As the
 * mirror of ws_close_parse, code 1005 with no reason builds the empty payload (length 0). */
ssize_t ws_close_build(unsigned char out[WS_MAX_CONTROL_PAYLOAD], int code, const char *reason,
                       size_t reason_len);

/* The old draft's frames (draft-hixie-thewebsocketprotocol-76). */

/* One draft-76 frame, decoded. */
struct ws_hixie76_frame {
    int is_close;     /* 1 for the closing frame FF 00 */
    const char *text; /* the text between 00 and FF, pointing into the buffer; NULL if close */
    size_t text_len;
};

/* Finds one complete draft-76 frame at the start of data. Never reads past len. Returns the
 * frame's length in bytes (text_len + 2, or 2 for a close), with *f filled in;
 * WS_INCOMPLETE if the frame has not ended yet (no FF after the 00); or WS_ERROR if data does not
 * start with 00 or FF 00. (The draft also defines length-prefixed frames that start with a
 * byte 80-FF; the browsers of the time sent only text frames and the close, and the others
 * are rejected here.) The text is not checked: pass it to utf8_check(). A caller should limit
 * how much it buffers while this says WS_INCOMPLETE. */
ssize_t ws_hixie76_parse(const void *data, size_t len, struct ws_hixie76_frame *f);

/* Writes the draft-76 text frame 00 <text> FF into out (cap bytes of room). Returns its length
 * (len + 2), or WS_ERROR if it does not fit or the text contains the byte FF (which would end
 * the frame early, and never appears in valid UTF-8). */
ssize_t ws_hixie76_build(void *out, size_t cap, const void *text, size_t len);

#endif
