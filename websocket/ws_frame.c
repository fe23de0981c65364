/* ws_frame.c - encoding and decoding WebSocket frames (RFC 6455, section 5).
 *
 * The parser works in three steps, the way a student would read a header off the wire:
 * first it learns the header's length from the second byte alone (the 7-bit length field says
 * whether 0, 2 or 8 length bytes follow, and the MASK bit whether 4 key bytes do); when that
 * many bytes are buffered, it decodes every field; then it checks the rules, field by field.
 * Waiting for the whole header (14 bytes at most) before judging it keeps the code to one path,
 * and a rejected header is always fully decoded, ready to be shown in a trace. The parser
 * never looks at a byte it has not been given, and never assumes that one read from a socket
 * holds one frame: with too few bytes it says WS_INCOMPLETE, and the caller tries again when
 * more have arrived.
 *
 * The builder is the parser backwards, always choosing the shortest length form. Masking is a
 * plain XOR with the 4-byte key, repeated; XOR twice with the same key gives the data back,
 * which is why one function both masks and unmasks.
 *
 * Close payloads, the names used in traces, and the old draft-76 framing close the file.
 */
#include "ws_frame.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* ---- Small helpers ---------------------------------------------------------------------- */

/* Reads an n-byte big-endian number (network byte order, as every WebSocket number is). */
static uint64_t load_be(const unsigned char *p, size_t n)
{
    uint64_t value = 0;

    for (size_t i = 0; i < n; i++)
        value = value << 8 | p[i];
    return value;
}

/* Writes value as an n-byte big-endian number. */
static void store_be(unsigned char *p, uint64_t value, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(value >> (8 * (n - 1 - i)));
}

static int set_error(struct ws_error *err, int close_code, const char *reason)
{
    err->close_code = close_code;
    err->reason = reason;
    return WS_ERROR;
}

/* ---- Opcodes ---------------------------------------------------------------------------- */

/* The six opcodes RFC 6455 defines; the other ten values of the 4-bit field are reserved. */
static int opcode_is_defined(int opcode)
{
    switch (opcode) {
    case WS_OP_CONTINUATION:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        return 1;
    default:
        return 0;
    }
}

int ws_opcode_is_control(int opcode)
{
    return opcode >= 0x8 && opcode <= 0xf;
}

const char *ws_opcode_name(int opcode)
{
    switch (opcode) {
    case WS_OP_CONTINUATION:
        return "continuation";
    case WS_OP_TEXT:
        return "text";
    case WS_OP_BINARY:
        return "binary";
    case WS_OP_CLOSE:
        return "close";
    case WS_OP_PING:
        return "ping";
    case WS_OP_PONG:
        return "pong";
    default:
        return opcode >= 0 && opcode <= 0xf ? "reserved" : "invalid";
    }
}

/* ---- Payload length forms --------------------------------------------------------------- */

/* The length form a sender must use for a payload of len bytes: 7 bits for 0-125, 16 bits up
 * to 65535, 64 bits above that. */
static int shortest_length_bits(uint64_t len)
{
    if (len <= 125)
        return 7;
    if (len <= 0xffff)
        return 16;
    return 64;
}

/* How many extended length bytes follow the 7-bit field: 126 announces 2, 127 announces 8. */
static size_t extended_length_bytes(unsigned len7)
{
    if (len7 == 126)
        return 2;
    if (len7 == 127)
        return 8;
    return 0;
}

/* ---- Parsing a header ------------------------------------------------------------------- */

/* The whole header's length, which the second byte (MASK and the 7-bit length) determines. */
static size_t header_size(unsigned char second)
{
    size_t masking_key = (second & 0x80) ? 4 : 0;

    return 2 + extended_length_bytes(second & 0x7f) + masking_key;
}

/* Decodes every field of a header whose bytes are all present (header_size() of them). */
static void decode_header(const unsigned char *p, struct ws_header *h)
{
    /* LAB 5 BEGIN
     * Fill in h from the header bytes at p (all header_size(p[1]) of them are there):
     *   byte 0: FIN (bit 7), RSV1-3 (bits 6-4, as h->rsv 0-7), opcode (bits 3-0);
     *   byte 1: MASK (bit 7) and the 7-bit length: 0-125 is the length itself, 126 means a
     *           16-bit length follows, 127 a 64-bit one, big-endian (load_be and
     *           extended_length_bytes help); h->length_bits is 7, 16 or 64;
     *   then, when MASK is set, the 4-byte masking key (h->mask_key; zeros when unmasked).
     * Also h->length_minimal (shortest_length_bits(payload_len) == length_bits) and
     * h->header_len (header_size). (docs/websocket.md, the frame; RFC 6455 section 5.2)
     * STUB: memset(h, 0, sizeof *h);
     * STUB: h->header_len = header_size(p[1]);
     */
    unsigned len7 = p[1] & 0x7f;
    size_t extended = extended_length_bytes(len7);

    h->fin = p[0] >> 7;
    h->rsv = (p[0] >> 4) & 0x7;
    h->opcode = p[0] & 0xf;
    h->masked = p[1] >> 7;
    h->length_bits = extended ? (int)extended * 8 : 7;
    h->payload_len = extended ? load_be(p + 2, extended) : len7;
    h->length_minimal = shortest_length_bits(h->payload_len) == h->length_bits;
    memset(h->mask_key, 0, sizeof h->mask_key);
    if (h->masked)
        memcpy(h->mask_key, p + 2 + extended, sizeof h->mask_key);
    h->header_len = header_size(p[1]);
    /* LAB 5 END */
}

/* Checks a decoded header against the rules of section 5, field by field.
 * Returns NULL if it keeps them all, else a line saying which rule it breaks. */
static const char *broken_rule(const struct ws_header *h, unsigned flags)
{
    int control = ws_opcode_is_control(h->opcode);

    if (h->rsv != 0)
        return "RSV1, RSV2 or RSV3 is set, but no extension was negotiated";
    if (!opcode_is_defined(h->opcode))
        return "the opcode is reserved";
    if (control && !h->fin)
        return "a control frame is fragmented: its FIN bit is 0";
    if ((flags & WS_REQUIRE_MASK) && !h->masked)
        return "a frame from the client is not masked";
    if ((flags & WS_FORBID_MASK) && h->masked)
        return "a frame from the server is masked";
    /* Control payloads are at most 125 bytes, so their length always fits the 7-bit field;
     * an extended length form in a control frame is wrong whatever value it holds. */
    if (control && h->length_bits != 7)
        return "a control frame's length is not in the 7-bit field (125 at most)";
    if (h->length_bits == 64 && (h->payload_len >> 63) != 0)
        return "the 64-bit payload length has its most significant bit set";
    if ((flags & WS_MINIMAL_LENGTH) && !h->length_minimal)
        return "the payload length is not in its shortest form";
    return NULL;
}

ssize_t ws_frame_parse_header(const void *data, size_t len, unsigned flags, struct ws_header *h,
                              struct ws_error *err)
{
    const unsigned char *p = data;
    const char *broken;

    if (len < 2 || len < header_size(p[1]))
        return WS_INCOMPLETE;
    decode_header(p, h);
    broken = broken_rule(h, flags);
    if (broken != NULL)
        return set_error(err, WS_CLOSE_PROTOCOL_ERROR, broken);
    return (ssize_t)h->header_len;
}

/* ---- Building a header, masking --------------------------------------------------------- */

/* Whether a peer would accept a frame with these fields (the builder's precondition). */
static int frame_is_sendable(int fin, int opcode, uint64_t payload_len)
{
    if (!opcode_is_defined(opcode))
        return 0;
    if (ws_opcode_is_control(opcode) && (!fin || payload_len > WS_MAX_CONTROL_PAYLOAD))
        return 0;
    return (payload_len >> 63) == 0;
}

size_t ws_frame_build_header(unsigned char out[WS_MAX_HEADER_SIZE], int fin, int opcode,
                             uint64_t payload_len, const unsigned char *mask_key)
{
    int bits = shortest_length_bits(payload_len);
    size_t n = 2;

    if (!frame_is_sendable(fin, opcode, payload_len))
        return 0;
    out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (bits == 7) {
        out[1] = (unsigned char)payload_len;
    } else {
        out[1] = bits == 16 ? 126 : 127;
        store_be(out + 2, payload_len, (size_t)bits / 8);
        n += (size_t)bits / 8;
    }
    if (mask_key != NULL) {
        out[1] |= 0x80;
        memcpy(out + n, mask_key, 4);
        n += 4;
    }
    return n;
}

/* (offset + i) may wrap around 2^64 only for absurd offsets, and even then the remainder by 4
 * stays right, because 2^64 is a multiple of 4. */
void ws_mask_payload(void *payload, size_t len, const unsigned char key[4], uint64_t offset)
{
    /* LAB 5 BEGIN
     * Masking (and unmasking: it is the same XOR): byte i of the payload is XORed with
     * key[(offset + i) % 4]. offset says where in the frame's payload these len bytes start.
     */
    unsigned char *p = payload;

    for (size_t i = 0; i < len; i++)
        p[i] ^= key[(offset + i) % 4];
    /* LAB 5 END */
}

/* ---- Describing a header ---------------------------------------------------------------- */

/* Text being written into a caller's buffer, snprintf-style: len counts the whole text even
 * when the buffer is too small, and the buffer always ends in a NUL when cap > 0. */
struct text_out {
    char *buf;
    size_t cap;
    size_t len;
};

static void text_printf(struct text_out *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_printf(struct text_out *t, const char *fmt, ...)
{
    size_t room = t->len < t->cap ? t->cap - t->len : 0;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(room > 0 ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

/* The payload len field, and the extended payload length when there is one. */
static void describe_length(struct text_out *t, const struct ws_header *h)
{
    if (h->length_bits == 7) {
        text_printf(t, "payload len: %" PRIu64 "\n", h->payload_len);
        return;
    }
    text_printf(t, "payload len: %d (a %d-bit extended payload length follows)\n",
                h->length_bits == 16 ? 126 : 127, h->length_bits);
    text_printf(t, "extended payload length: %" PRIu64 "%s\n", h->payload_len,
                h->length_minimal ? "" : " (not the shortest form)");
}

size_t ws_frame_describe(const struct ws_header *h, char *out, size_t cap)
{
    struct text_out t = {out, cap, 0};
    const unsigned char *key = h->mask_key;

    if (cap > 0)
        out[0] = '\0';
    text_printf(&t, "FIN: %d\n", h->fin);
    text_printf(&t, "RSV1: %d\n", (h->rsv >> 2) & 1);
    text_printf(&t, "RSV2: %d\n", (h->rsv >> 1) & 1);
    text_printf(&t, "RSV3: %d\n", h->rsv & 1);
    text_printf(&t, "opcode: 0x%x (%s)\n", (unsigned)h->opcode, ws_opcode_name(h->opcode));
    text_printf(&t, "MASK: %d\n", h->masked);
    describe_length(&t, h);
    if (h->masked)
        text_printf(&t, "masking-key: %02x %02x %02x %02x\n", key[0], key[1], key[2], key[3]);
    return t.len;
}

/* ---- Close payloads --------------------------------------------------------------------- */

int ws_close_code_is_valid(int code)
{
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1011)
        return 1;
    return code >= 3000 && code <= 4999;
}

int ws_close_parse(const void *payload, size_t len, struct ws_close *c, struct ws_error *err)
{
    const unsigned char *p = payload;

    c->code = WS_CLOSE_NO_STATUS;
    c->reason = NULL;
    c->reason_len = 0;
    if (len == 0)
        return 0;
    if (len == 1)
        return set_error(err, WS_CLOSE_PROTOCOL_ERROR, "a close payload of 1 byte (a code is 2)");
    if (len > WS_MAX_CONTROL_PAYLOAD)
        return set_error(err, WS_CLOSE_PROTOCOL_ERROR, "a close payload longer than 125 bytes");
    c->code = (int)load_be(p, 2);
    c->reason = (const char *)p + 2;
    c->reason_len = len - 2;
    if (!ws_close_code_is_valid(c->code))
        return set_error(err, WS_CLOSE_PROTOCOL_ERROR, "the close code is not allowed on the wire");
    if (utf8_check(c->reason, c->reason_len) < 0)
        return set_error(err, WS_CLOSE_INVALID_DATA, "the close reason is not valid UTF-8");
    return 0;
}

ssize_t ws_close_build(unsigned char out[WS_MAX_CONTROL_PAYLOAD], int code, const char *reason,
                       size_t reason_len)
{
    if (code == WS_CLOSE_NO_STATUS && reason_len == 0)
        return 0;
    if (!ws_close_code_is_valid(code) || reason_len > WS_MAX_CLOSE_REASON)
        return WS_ERROR;
    if (reason_len > 0 && utf8_check(reason, reason_len) < 0)
        return WS_ERROR;
    store_be(out, (uint64_t)code, 2);
    if (reason_len > 0)
        memcpy(out + 2, reason, reason_len);
    return (ssize_t)(2 + reason_len);
}

/* ---- The old draft's framing (hixie-76) ------------------------------------------------- */

/* The draft's text frame is a start byte, the text, and an end byte; the text cannot contain
 * the end byte, because 0xFF never occurs in UTF-8. Finding a frame is finding that byte. */
#define HIXIE76_TEXT_START 0x00
#define HIXIE76_TEXT_END 0xff

ssize_t ws_hixie76_parse(const void *data, size_t len, struct ws_hixie76_frame *f)
{
    const unsigned char *p = data;
    const unsigned char *end;

    if (len == 0)
        return WS_INCOMPLETE;
    if (p[0] == 0xff) {
        /* FF starts a length-prefixed frame; FF 00, length zero, is the closing handshake. */
        if (len < 2)
            return WS_INCOMPLETE;
        if (p[1] != 0x00)
            return WS_ERROR;
        f->is_close = 1;
        f->text = NULL;
        f->text_len = 0;
        return 2;
    }
    if (p[0] != HIXIE76_TEXT_START)
        return WS_ERROR;
    end = memchr(p + 1, HIXIE76_TEXT_END, len - 1);
    if (end == NULL)
        return WS_INCOMPLETE;
    f->is_close = 0;
    f->text = (const char *)p + 1;
    f->text_len = (size_t)(end - (p + 1));
    return (ssize_t)(f->text_len + 2);
}

ssize_t ws_hixie76_build(void *out, size_t cap, const void *text, size_t len)
{
    unsigned char *dst = out;

    if (len > cap || cap - len < 2)
        return WS_ERROR;
    if (len > 0 && memchr(text, HIXIE76_TEXT_END, len) != NULL)
        return WS_ERROR;
    dst[0] = HIXIE76_TEXT_START;
    if (len > 0)
        memcpy(dst + 1, text, len);
    dst[len + 1] = HIXIE76_TEXT_END;
    return (ssize_t)(len + 2);
}
