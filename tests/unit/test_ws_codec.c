/* test_ws_codec.c - the WebSocket frame codec, close payloads, draft-76 framing, and UTF-8.
 *
 * The frames are the examples of RFC 6455 section 5.7. Each is parsed whole, then cut at every
 * length (a prefix shorter than the header must be WS_INCOMPLETE), then received one byte per
 * "read" and unmasked piece by piece, the way bytes can really arrive from TCP. Every input is
 * placed right before an unreadable page (guard.h), so a parser that reads one byte too far
 * crashes here instead of passing by luck.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "tap.h"
#include "utf8.h"
#include "ws_frame.h"

/* ---- The examples of RFC 6455, section 5.7 ---------------------------------------------- */

static const unsigned char hello_key[4] = {0x37, 0xfa, 0x21, 0x3d};

static const unsigned char unmasked_hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
static const unsigned char masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                             0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const unsigned char fragment_hel[] = {0x01, 0x03, 'H', 'e', 'l'};
static const unsigned char fragment_lo[] = {0x80, 0x02, 'l', 'o'};
static const unsigned char unmasked_ping[] = {0x89, 0x05, 'H', 'e', 'l', 'l', 'o'};
static const unsigned char masked_pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                            0x7f, 0x9f, 0x4d, 0x51, 0x58};

/* One example frame and what parsing it must give. */
struct example {
    const char *name;
    const unsigned char *frame;
    size_t len;
    int fin, opcode, masked;
    size_t header_len;
    const unsigned char *payload; /* unmasked */
    uint64_t payload_len;
};

/* The binary examples carry 256 bytes and 64 KiB; their content is arbitrary. */
static unsigned char *binary_frame(const unsigned char *header, size_t header_len,
                                   size_t payload_len, unsigned char **payload)
{
    unsigned char *frame = malloc(header_len + payload_len);

    if (frame == NULL) {
        perror("malloc");
        exit(1);
    }
    memcpy(frame, header, header_len);
    for (size_t i = 0; i < payload_len; i++)
        frame[header_len + i] = (unsigned char)(i * 7 + 3);
    *payload = frame + header_len;
    return frame;
}

/* Receives one frame one byte at a time: parses the header once enough bytes have come, then
 * unmasks each payload byte as it arrives, with the offset of that byte in the payload. Writes
 * the payload to out (cap bytes) and returns its length, or -1 if anything went wrong. */
static long receive_byte_by_byte(const unsigned char *frame, size_t len, unsigned char *out,
                                 size_t cap)
{
    struct ws_header h;
    struct ws_error err;
    ssize_t header_len = WS_INCOMPLETE;
    size_t got = 0;

    for (size_t arrived = 1; arrived <= len; arrived++) {
        if (header_len == WS_INCOMPLETE) {
            header_len = ws_frame_parse_header(guard_place(frame, arrived), arrived, 0, &h, &err);
            if (header_len == WS_ERROR)
                return -1;
            continue;
        }
        if (got == cap)
            return -1;
        out[got] = frame[arrived - 1];
        if (h.masked)
            ws_mask_payload(out + got, 1, h.mask_key, got);
        got++;
    }
    if (header_len < 0 || got != h.payload_len)
        return -1;
    return (long)got;
}

/* Every prefix shorter than the header is WS_INCOMPLETE; from the header's length on, the
 * parser gives the header's length however many payload bytes follow. */
static int prefixes_behave(const struct example *ex)
{
    struct ws_header h;
    struct ws_error err;
    size_t last = ex->header_len + 3 < ex->len ? ex->header_len + 3 : ex->len;

    for (size_t n = 0; n <= last; n++) {
        ssize_t want = n < ex->header_len ? WS_INCOMPLETE : (ssize_t)ex->header_len;
        if (ws_frame_parse_header(guard_place(ex->frame, n), n, 0, &h, &err) != want)
            return 0;
    }
    return 1;
}

static void check_example(const struct example *ex)
{
    struct ws_header h = {0};
    struct ws_error err;
    unsigned char *payload = malloc(ex->len);
    ssize_t r = ws_frame_parse_header(guard_place(ex->frame, ex->len), ex->len, 0, &h, &err);

    TAP_EQ_INT(r, ex->header_len, "%s: header length", ex->name);
    TAP_OK(h.fin == ex->fin && h.opcode == ex->opcode && h.masked == ex->masked && h.rsv == 0,
           "%s: FIN %d, opcode 0x%x, MASK %d", ex->name, ex->fin, ex->opcode, ex->masked);
    TAP_EQ_INT(h.payload_len, ex->payload_len, "%s: payload length", ex->name);
    TAP_EQ_INT(ex->len - h.header_len, h.payload_len, "%s: header + payload is the frame",
               ex->name);
    TAP_OK(prefixes_behave(ex), "%s: every prefix shorter than the header is incomplete", ex->name);
    long got = receive_byte_by_byte(ex->frame, ex->len, payload, ex->len);
    TAP_EQ_MEM(payload, got < 0 ? 0 : (size_t)got, ex->payload, ex->payload_len,
               "%s: received one byte at a time and unmasked in pieces", ex->name);
    free(payload);
}

static void test_rfc_examples(void)
{
    static const unsigned char head256[] = {0x82, 0x7e, 0x01, 0x00};
    static const unsigned char head64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    unsigned char *payload256, *payload64k;
    unsigned char *frame256 = binary_frame(head256, sizeof head256, 256, &payload256);
    unsigned char *frame64k = binary_frame(head64k, sizeof head64k, 65536, &payload64k);
    const unsigned char *hello = (const unsigned char *)"Hello";
    const struct example examples[] = {
        {"unmasked text", unmasked_hello, sizeof unmasked_hello, 1, 0x1, 0, 2, hello, 5},
        {"masked text", masked_hello, sizeof masked_hello, 1, 0x1, 1, 6, hello, 5},
        {"first fragment", fragment_hel, sizeof fragment_hel, 0, 0x1, 0, 2, hello, 3},
        {"last fragment", fragment_lo, sizeof fragment_lo, 1, 0x0, 0, 2, hello + 3, 2},
        {"unmasked ping", unmasked_ping, sizeof unmasked_ping, 1, 0x9, 0, 2, hello, 5},
        {"masked pong", masked_pong, sizeof masked_pong, 1, 0xa, 1, 6, hello, 5},
        {"256-byte binary", frame256, 4 + 256, 1, 0x2, 0, 4, payload256, 256},
        {"64 KiB binary", frame64k, 10 + 65536, 1, 0x2, 0, 10, payload64k, 65536},
    };

    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        check_example(&examples[i]);
    free(frame256);
    free(frame64k);
}

/* ---- Rejections ------------------------------------------------------------------------- */

/* A header that must be refused with 1002, and the flags it is parsed with. */
struct bad_header {
    const char *name;
    unsigned char bytes[WS_MAX_HEADER_SIZE];
    size_t len;
    unsigned flags;
};

static void check_rejected(const struct bad_header *bad)
{
    struct ws_header h;
    struct ws_error err = {0, NULL};
    int incomplete = 1;

    for (size_t n = 0; n < bad->len; n++)
        if (ws_frame_parse_header(guard_place(bad->bytes, n), n, bad->flags, &h, &err) !=
            WS_INCOMPLETE)
            incomplete = 0;
    ssize_t r =
        ws_frame_parse_header(guard_place(bad->bytes, bad->len), bad->len, bad->flags, &h, &err);
    TAP_OK(r == WS_ERROR && err.close_code == 1002 && err.reason && *err.reason &&
               !strchr(err.reason, '\n') && incomplete && h.header_len == bad->len,
           "%s: rejected with 1002, \"%s\"", bad->name, err.reason ? err.reason : "no reason");
}

static void test_rejections(void)
{
    static const struct bad_header bad[] = {
        {"RSV1 set", {0xc1, 0x00}, 2, 0},
        {"RSV2 set", {0xa1, 0x00}, 2, 0},
        {"RSV3 set", {0x91, 0x00}, 2, 0},
        {"fragmented close", {0x08, 0x00}, 2, 0},
        {"fragmented ping", {0x09, 0x00}, 2, 0},
        {"fragmented pong", {0x0a, 0x00}, 2, 0},
        {"ping of 126 bytes", {0x89, 0x7e, 0x00, 0x7e}, 4, 0},
        {"close with a 16-bit length of 2", {0x88, 0x7e, 0x00, 0x02}, 4, 0},
        {"pong with a 64-bit length", {0x8a, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x05}, 10, 0},
        {"64-bit length with the top bit set", {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, 0},
        {"unmasked frame at a server", {0x81, 0x05}, 2, WS_REQUIRE_MASK},
        {"masked frame at a client", {0x81, 0x85, 1, 2, 3, 4}, 6, WS_FORBID_MASK},
        {"5 bytes in the 16-bit form, strict", {0x82, 0x7e, 0x00, 0x05}, 4, WS_MINIMAL_LENGTH},
        {"65535 bytes in the 64-bit form, strict",
         {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
         10,
         WS_MINIMAL_LENGTH},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_rejected(&bad[i]);
    for (int op = 0x3; op <= 0xf; op++) {
        if (op >= 0x8 && op <= 0xa)
            continue;
        char name[32];
        struct bad_header reserved = {name, {(unsigned char)(0x80 | op), 0}, 2, 0};
        snprintf(name, sizeof name, "reserved opcode 0x%X", (unsigned)op);
        check_rejected(&reserved);
    }
}

/* What the rules allow: the mask that the flags ask for, and longer length forms by default. */
static void test_acceptances(void)
{
    static const unsigned char long5[] = {0x82, 0x7e, 0x00, 0x05};
    static const unsigned char max63[] = {0x82, 0x7f, 0x7f, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char ping125[] = {0x89, 0x7d};
    struct ws_header h;
    struct ws_error err;
    ssize_t r;

    r = ws_frame_parse_header(guard_place(masked_hello, 11), 11, WS_REQUIRE_MASK, &h, &err);
    TAP_OK(r == 6 && memcmp(h.mask_key, hello_key, 4) == 0, "a server accepts a masked frame");
    r = ws_frame_parse_header(guard_place(unmasked_hello, 7), 7, WS_FORBID_MASK, &h, &err);
    TAP_OK(r == 2 && h.mask_key[0] == 0, "a client accepts an unmasked frame");
    r = ws_frame_parse_header(guard_place(long5, 4), 4, 0, &h, &err);
    TAP_OK(r == 4 && h.payload_len == 5 && h.length_bits == 16 && !h.length_minimal,
           "a 16-bit length of 5 is accepted by default, and noted as not minimal");
    r = ws_frame_parse_header(guard_place(max63, 10), 10, 0, &h, &err);
    TAP_OK(r == 10 && h.payload_len == INT64_MAX, "the largest 64-bit length is 2^63 - 1");
    r = ws_frame_parse_header(guard_place(ping125, 2), 2, 0, &h, &err);
    TAP_OK(r == 2 && h.payload_len == 125, "a ping may carry 125 bytes");
}

/* ---- Building, masking ------------------------------------------------------------------ */

static void test_build_matches_rfc(void)
{
    static const unsigned char b256[] = {0x82, 0x7e, 0x01, 0x00};
    static const unsigned char b64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    unsigned char out[WS_MAX_HEADER_SIZE];
    size_t n;

    n = ws_frame_build_header(out, 1, WS_OP_TEXT, 5, NULL);
    TAP_EQ_MEM(out, n, unmasked_hello, 2, "build: unmasked text header");
    n = ws_frame_build_header(out, 1, WS_OP_TEXT, 5, hello_key);
    TAP_EQ_MEM(out, n, masked_hello, 6, "build: masked text header");
    n = ws_frame_build_header(out, 0, WS_OP_TEXT, 3, NULL);
    TAP_EQ_MEM(out, n, fragment_hel, 2, "build: first fragment header");
    n = ws_frame_build_header(out, 1, WS_OP_CONTINUATION, 2, NULL);
    TAP_EQ_MEM(out, n, fragment_lo, 2, "build: continuation header");
    n = ws_frame_build_header(out, 1, WS_OP_PONG, 5, hello_key);
    TAP_EQ_MEM(out, n, masked_pong, 6, "build: masked pong header");
    n = ws_frame_build_header(out, 1, WS_OP_BINARY, 256, NULL);
    TAP_EQ_MEM(out, n, b256, sizeof b256, "build: 256-byte binary header");
    n = ws_frame_build_header(out, 1, WS_OP_BINARY, 65536, NULL);
    TAP_EQ_MEM(out, n, b64k, sizeof b64k, "build: 64 KiB binary header");
}

static void test_build_parse_round_trip(void)
{
    static const uint64_t lengths[] = {0, 125, 126, 65535, 65536, (uint64_t)INT64_MAX};
    static const size_t sizes[] = {2, 2, 4, 4, 10, 10};

    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        for (int masked = 0; masked <= 1; masked++) {
            unsigned char out[WS_MAX_HEADER_SIZE];
            struct ws_header h;
            struct ws_error err;
            unsigned flags = WS_MINIMAL_LENGTH | (masked ? WS_REQUIRE_MASK : WS_FORBID_MASK);
            size_t n =
                ws_frame_build_header(out, 1, WS_OP_BINARY, lengths[i], masked ? hello_key : NULL);
            ssize_t r = ws_frame_parse_header(guard_place(out, n), n, flags, &h, &err);
            TAP_OK(n == sizes[i] + (masked ? 4 : 0) && r == (ssize_t)n &&
                       h.payload_len == lengths[i] && h.length_minimal && h.masked == masked &&
                       (!masked || memcmp(h.mask_key, hello_key, 4) == 0),
                   "length %llu, %s: build then parse gives it back",
                   (unsigned long long)lengths[i], masked ? "masked" : "unmasked");
        }
    }
}

static void test_build_refuses(void)
{
    unsigned char out[WS_MAX_HEADER_SIZE];

    TAP_EQ_INT(ws_frame_build_header(out, 1, 0x3, 0, NULL), 0, "build refuses opcode 0x3");
    TAP_EQ_INT(ws_frame_build_header(out, 1, 0xb, 0, NULL), 0, "build refuses opcode 0xB");
    TAP_EQ_INT(ws_frame_build_header(out, 1, 0x10, 0, NULL), 0, "build refuses opcode 0x10");
    TAP_EQ_INT(ws_frame_build_header(out, 1, -1, 0, NULL), 0, "build refuses opcode -1");
    TAP_EQ_INT(ws_frame_build_header(out, 0, WS_OP_PING, 0, NULL), 0,
               "build refuses a fragmented ping");
    TAP_EQ_INT(ws_frame_build_header(out, 1, WS_OP_CLOSE, 126, NULL), 0,
               "build refuses a 126-byte close");
    TAP_EQ_INT(ws_frame_build_header(out, 1, WS_OP_PING, 125, NULL), 2,
               "build allows a 125-byte ping");
    TAP_EQ_INT(ws_frame_build_header(out, 1, WS_OP_BINARY, UINT64_C(1) << 63, NULL), 0,
               "build refuses a length of 2^63");
}

/* Masking is its own inverse, and unmasking in pieces with the right offsets gives the same
 * result as unmasking at once, wherever the pieces are cut. */
static void test_masking(void)
{
    unsigned char text[5];
    int ok = 1;

    memcpy(text, "Hello", 5);
    ws_mask_payload(text, 5, hello_key, 0);
    TAP_EQ_MEM(text, 5, masked_hello + 6, 5, "masking \"Hello\" gives the RFC's bytes");
    for (size_t a = 0; a <= 5; a++) {
        for (size_t b = a; b <= 5; b++) {
            memcpy(text, masked_hello + 6, 5);
            ws_mask_payload(text, a, hello_key, 0);
            ws_mask_payload(text + a, b - a, hello_key, a);
            ws_mask_payload(text + b, 5 - b, hello_key, b);
            if (memcmp(text, "Hello", 5) != 0)
                ok = 0;
        }
    }
    TAP_OK(ok, "unmasking in three pieces, cut anywhere, gives \"Hello\"");
}

/* ---- Names and descriptions ------------------------------------------------------------- */

static void test_opcode_names(void)
{
    static const char *const names[16] = {
        "continuation", "text",     "binary",   "reserved", "reserved", "reserved",
        "reserved",     "reserved", "close",    "ping",     "pong",     "reserved",
        "reserved",     "reserved", "reserved", "reserved",
    };
    int ok = 1;

    for (int op = 0; op < 16; op++)
        if (strcmp(ws_opcode_name(op), names[op]) != 0)
            ok = 0;
    TAP_OK(ok, "opcode names 0x0-0xF");
    TAP_EQ_STR(ws_opcode_name(16), "invalid", "opcode 16 is invalid");
    TAP_EQ_STR(ws_opcode_name(-1), "invalid", "opcode -1 is invalid");
    TAP_OK(ws_opcode_is_control(WS_OP_CLOSE) && ws_opcode_is_control(0xf) &&
               !ws_opcode_is_control(WS_OP_BINARY) && !ws_opcode_is_control(0x10),
           "control opcodes are 0x8-0xF");
}

static void test_describe(void)
{
    struct ws_header h;
    struct ws_error err;
    char text[256];
    size_t n;

    ws_frame_parse_header(guard_place(masked_hello, 11), 11, 0, &h, &err);
    n = ws_frame_describe(&h, text, sizeof text);
    TAP_EQ_STR(text,
               "FIN: 1\nRSV1: 0\nRSV2: 0\nRSV3: 0\nopcode: 0x1 (text)\nMASK: 1\n"
               "payload len: 5\nmasking-key: 37 fa 21 3d\n",
               "describe the masked \"Hello\" header");
    TAP_EQ_INT(n, strlen(text), "describe returns the text's length");

    static const unsigned char odd[] = {0xf3, 0x7e, 0x00, 0x05};
    ws_frame_parse_header(guard_place(odd, 4), 4, 0, &h, &err);
    ws_frame_describe(&h, text, sizeof text);
    TAP_EQ_STR(text,
               "FIN: 1\nRSV1: 1\nRSV2: 1\nRSV3: 1\nopcode: 0x3 (reserved)\nMASK: 0\n"
               "payload len: 126 (a 16-bit extended payload length follows)\n"
               "extended payload length: 5 (not the shortest form)\n",
               "describe a rejected header with every odd field");
}

/* The longest description there can be fits in 256 bytes, and a short buffer gets a cut,
 * NUL-terminated text and the full length, as with snprintf. */
static void test_describe_limits(void)
{
    struct ws_header h = {
        .fin = 1,
        .rsv = 7,
        .opcode = WS_OP_CONTINUATION, /* the longest name */
        .masked = 1,
        .payload_len = UINT64_MAX,
        .length_bits = 64,
        .length_minimal = 0,
        .mask_key = {0xff, 0xff, 0xff, 0xff},
        .header_len = 14,
    };
    char text[256], small[10];
    size_t full = ws_frame_describe(&h, text, sizeof text);

    TAP_OK(full < sizeof text, "the longest description (%zu bytes) fits in 256", full);
    TAP_EQ_INT(ws_frame_describe(&h, small, sizeof small), full,
               "a short buffer still gets the full length");
    TAP_EQ_STR(small, "FIN: 1\nRS", "a short buffer gets a cut, NUL-terminated text");
    TAP_EQ_INT(ws_frame_describe(&h, NULL, 0), full, "cap 0 measures the text");
}

/* ---- Close payloads --------------------------------------------------------------------- */

/* Code 1000 (03 E8) and the reason "bye". */
static const unsigned char close_bye[] = {0x03, 0xe8, 'b', 'y', 'e'};

static int parse_close(const void *payload, size_t len, struct ws_close *c, struct ws_error *err)
{
    return ws_close_parse(guard_place(payload, len), len, c, err);
}

static void test_close_parse(void)
{
    struct ws_close c;
    struct ws_error err;

    TAP_OK(parse_close("", 0, &c, &err) == 0 && c.code == 1005 && c.reason == NULL,
           "an empty close payload means no code (1005)");
    TAP_OK(parse_close("\x03\xe8", 2, &c, &err) == 0 && c.code == 1000 && c.reason_len == 0,
           "close 1000 without a reason");
    TAP_OK(parse_close(close_bye, 5, &c, &err) == 0 && c.code == 1000 && c.reason_len == 3 &&
               memcmp(c.reason, "bye", 3) == 0,
           "close 1000 \"bye\"");
    TAP_OK(parse_close("\x03\xe9\xe2\x82\xac", 5, &c, &err) == 0 && c.reason_len == 3,
           "close 1001 with a UTF-8 reason");
    TAP_OK(parse_close("\x03", 1, &c, &err) == WS_ERROR && err.close_code == 1002,
           "a 1-byte close payload is a protocol error");
    TAP_OK(parse_close("\x03\xe8\xc0\x80", 4, &c, &err) == WS_ERROR && err.close_code == 1007,
           "an overlong reason is invalid UTF-8 (1007)");
    TAP_OK(parse_close("\x03\xe8\xe2\x82", 4, &c, &err) == WS_ERROR && err.close_code == 1007,
           "a reason cut mid-character is invalid UTF-8 (1007)");

    unsigned char big[126] = {0x03, 0xe8};
    memset(big + 2, 'x', sizeof big - 2);
    TAP_OK(parse_close(big, 126, &c, &err) == WS_ERROR && err.close_code == 1002,
           "a 126-byte close payload is a protocol error");
    TAP_OK(parse_close(big, 125, &c, &err) == 0 && c.reason_len == 123,
           "a 125-byte close payload is fine");
}

static void test_close_codes(void)
{
    static const int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                1010, 1011, 3000, 3999, 4000, 4999};
    static const int invalid[] = {0,    999,  1004, 1005, 1006, 1012, 1013, 1014,
                                  1015, 1016, 1100, 2000, 2999, 5000, 65535};

    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        unsigned char p[2] = {(unsigned char)(valid[i] >> 8), (unsigned char)valid[i]};
        struct ws_close c;
        struct ws_error err;
        TAP_OK(parse_close(p, 2, &c, &err) == 0 && c.code == valid[i], "close code %d is valid",
               valid[i]);
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        unsigned char p[2] = {(unsigned char)(invalid[i] >> 8), (unsigned char)invalid[i]};
        struct ws_close c;
        struct ws_error err;
        TAP_OK(parse_close(p, 2, &c, &err) == WS_ERROR && err.close_code == 1002,
               "close code %d is refused with 1002", invalid[i]);
    }
}

static void test_close_build(void)
{
    unsigned char out[WS_MAX_CONTROL_PAYLOAD];
    char reason[WS_MAX_CLOSE_REASON + 1];
    struct ws_close c;
    struct ws_error err;
    ssize_t n;

    n = ws_close_build(out, 1000, "bye", 3);
    TAP_EQ_MEM(out, n < 0 ? 0 : (size_t)n, close_bye, 5, "build close 1000 \"bye\"");
    TAP_OK(n > 0 && parse_close(out, (size_t)n, &c, &err) == 0 && c.code == 1000,
           "a built close payload parses back");
    TAP_EQ_INT(ws_close_build(out, 1005, NULL, 0), 0, "code 1005 builds the empty payload");
    TAP_EQ_INT(ws_close_build(out, 1005, "x", 1), WS_ERROR, "1005 cannot carry a reason");
    TAP_EQ_INT(ws_close_build(out, 1006, NULL, 0), WS_ERROR, "1006 is never sent");
    TAP_EQ_INT(ws_close_build(out, 999, NULL, 0), WS_ERROR, "999 is not a close code");
    TAP_EQ_INT(ws_close_build(out, 1000, "\xff", 1), WS_ERROR, "the reason must be UTF-8");
    memset(reason, 'r', sizeof reason);
    TAP_EQ_INT(ws_close_build(out, 4000, reason, 123), 125, "a 123-byte reason fits");
    TAP_EQ_INT(ws_close_build(out, 4000, reason, 124), WS_ERROR, "a 124-byte reason does not");
}

/* ---- Draft-76 framing ------------------------------------------------------------------- */

static ssize_t parse_hixie(const void *data, size_t len, struct ws_hixie76_frame *f)
{
    return ws_hixie76_parse(guard_place(data, len), len, f);
}

static void test_hixie76_frames(void)
{
    static const unsigned char frame[] = {0x00, 'h', 'e', 'l', 'l', 'o', 0xff};
    static const unsigned char two[] = {0x00, 'a', 0xff, 0x00, 'b', 0xff};
    struct ws_hixie76_frame f;
    unsigned char out[16];
    int incomplete = 1;

    TAP_OK(parse_hixie(frame, 7, &f) == 7 && !f.is_close && f.text_len == 5 &&
               memcmp(f.text, "hello", 5) == 0,
           "draft-76: 00 hello FF is one text frame");
    for (size_t n = 0; n < 7; n++)
        if (parse_hixie(frame, n, &f) != WS_INCOMPLETE)
            incomplete = 0;
    TAP_OK(incomplete, "draft-76: every prefix of the frame is incomplete");
    TAP_OK(parse_hixie(two, 6, &f) == 3 && f.text_len == 1 && f.text[0] == 'a',
           "draft-76: two frames in a buffer are taken one at a time");
    TAP_OK(parse_hixie("\x00\xff", 2, &f) == 2 && f.text_len == 0, "draft-76: an empty text");
    TAP_OK(parse_hixie("\xff\x00", 2, &f) == 2 && f.is_close, "draft-76: FF 00 is the close");
    TAP_EQ_INT(parse_hixie("\xff", 1, &f), WS_INCOMPLETE, "draft-76: FF alone is incomplete");
    TAP_EQ_INT(parse_hixie("\xff\x05", 2, &f), WS_ERROR, "draft-76: length frames are refused");
    TAP_EQ_INT(parse_hixie("A", 1, &f), WS_ERROR, "draft-76: a frame must start with 00");

    ssize_t n = ws_hixie76_build(out, sizeof out, "hello", 5);
    TAP_EQ_MEM(out, n < 0 ? 0 : (size_t)n, frame, sizeof frame, "draft-76: build 00 hello FF");
    TAP_EQ_INT(ws_hixie76_build(out, 6, "hello", 5), WS_ERROR, "draft-76: build needs len + 2");
    TAP_EQ_INT(ws_hixie76_build(out, sizeof out, "a\xff", 2), WS_ERROR,
               "draft-76: text containing FF cannot be framed");
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Validates text in two chunks cut at `cut`, each placed before the guard page. Returns what
 * utf8_finish says, or -1 if a feed already failed. */
static int utf8_in_two(const char *text, size_t len, size_t cut)
{
    struct utf8_validator v;

    utf8_init(&v);
    if (utf8_feed(&v, guard_place(text, cut), cut) < 0)
        return -1;
    if (utf8_feed(&v, guard_place(text + cut, len - cut), len - cut) < 0)
        return -1;
    return utf8_finish(&v);
}

/* Whether text is judged the same way (want: 0 valid, -1 invalid) wherever it is cut. */
static int utf8_same_at_every_cut(const char *text, size_t len, int want)
{
    for (size_t cut = 0; cut <= len; cut++)
        if (utf8_in_two(text, len, cut) != want)
            return 0;
    return 1;
}

static void test_utf8_valid(void)
{
    static const char *const valid[][2] = {
        {"", "the empty text"},
        {"hello", "ASCII"},
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", "Greek (2- and 3-byte)"},
        {"\xc2\x80 \xdf\xbf", "U+0080 and U+07FF"},
        {"\xe0\xa0\x80 \xef\xbf\xbf", "U+0800 and U+FFFF"},
        {"\xed\x9f\xbf \xee\x80\x80", "U+D7FF and U+E000, around the surrogates"},
        {"\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf", "U+10000 and U+10FFFF"},
        {"a\xc3\xa9\xe2\x82\xac\xf0\x90\x8d\x88z", "a, e-acute, euro sign, gothic hwair, z"},
    };

    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const char *text = valid[i][0];
        TAP_OK(utf8_check(guard_place(text, strlen(text)), strlen(text)) == 0, "valid UTF-8: %s",
               valid[i][1]);
        TAP_OK(utf8_same_at_every_cut(text, strlen(text), 0),
               "valid UTF-8 split in two at every byte: %s", valid[i][1]);
    }
}

static void test_utf8_invalid(void)
{
    static const char *const invalid[][2] = {
        {"\xc0\x80", "overlong U+0000 in 2 bytes (C0 80)"},
        {"\xc1\xbf", "overlong U+007F in 2 bytes (C1 BF)"},
        {"\xe0\x80\x80", "overlong U+0000 in 3 bytes (E0 80 80)"},
        {"\xe0\x9f\xbf", "overlong U+07FF in 3 bytes (E0 9F BF)"},
        {"\xf0\x80\x80\x80", "overlong U+0000 in 4 bytes (F0 80 80 80)"},
        {"\xf0\x8f\xbf\xbf", "overlong U+FFFF in 4 bytes (F0 8F BF BF)"},
        {"\xed\xa0\x80", "surrogate U+D800 (ED A0 80)"},
        {"\xed\xbf\xbf", "surrogate U+DFFF (ED BF BF)"},
        {"\xf4\x90\x80\x80", "U+110000, above U+10FFFF (F4 90 80 80)"},
        {"\xf5\x80\x80\x80", "lead byte F5"},
        {"\xfe", "byte FE"},
        {"\xff", "byte FF"},
        {"\x80", "a stray continuation byte"},
        {"a\xbf", "a continuation byte after ASCII"},
        {"\xc3\xa9\xa9", "one continuation byte too many"},
        {"\xc2\x41", "a lead byte followed by ASCII"},
        {"\xe2\x82", "text ending inside a 3-byte character"},
        {"\xf0\x90\x8d", "text ending inside a 4-byte character"},
        {"ok\xc2", "text ending after a lead byte"},
    };

    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        const char *text = invalid[i][0];
        TAP_OK(utf8_check(guard_place(text, strlen(text)), strlen(text)) == -1, "invalid UTF-8: %s",
               invalid[i][1]);
        TAP_OK(utf8_same_at_every_cut(text, strlen(text), -1),
               "invalid UTF-8 split in two at every byte: %s", invalid[i][1]);
    }
}

static void test_utf8_state(void)
{
    struct utf8_validator v;

    utf8_init(&v);
    TAP_EQ_INT(utf8_feed(&v, "\xe2\x82", 2), 0, "a character cut short is fine mid-message");
    TAP_EQ_INT(utf8_finish(&v), -1, "but not at the end of the message");
    TAP_EQ_INT(utf8_feed(&v, "\xac", 1), 0, "its last byte completes it");
    TAP_EQ_INT(utf8_finish(&v), 0, "and the message may end");
    TAP_EQ_INT(utf8_feed(&v, "\xc0", 1), -1, "an invalid byte fails at once");
    TAP_EQ_INT(utf8_feed(&v, "ok", 2), -1, "and the failure is kept");
    TAP_EQ_INT(utf8_finish(&v), -1, "to the end");
    utf8_init(&v);
    TAP_EQ_INT(utf8_feed(&v, "ok", 2), 0, "utf8_init starts afresh");
}

/* An independent judge: decode each character arithmetically, then check its value. */
static int reference_utf8_valid(const unsigned char *s, size_t n)
{
    static const uint32_t smallest[4] = {0, 0x80, 0x800, 0x10000};
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t extra = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : 3;
        uint32_t cp = extra == 0 ? c : c & (0x3fu >> extra);

        if ((c & 0xc0) == 0x80 || c >= 0xf8 || n - i - 1 < extra)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < smallest[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += extra + 1;
    }
    return 1;
}

/* The validator agrees with the reference on every sequence of 1 to 3 bytes, and on 4-byte
 * sequences with every first and second byte and the edge values of the other two. */
static void test_utf8_exhaustive(void)
{
    static const unsigned char edges[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff};
    unsigned long disagreements = 0;
    unsigned char s[4];

    for (unsigned long x = 0; x < 256 + 65536 + 16777216; x++) {
        size_t n = x < 256 ? 1 : x < 256 + 65536 ? 2 : 3;
        unsigned long v = n == 1 ? x : n == 2 ? x - 256 : x - 256 - 65536;
        for (size_t k = 0; k < n; k++)
            s[k] = (unsigned char)(v >> (8 * (n - 1 - k)));
        if ((utf8_check(s, n) == 0) != reference_utf8_valid(s, n))
            disagreements++;
    }
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t c = 0; c < sizeof edges; c++)
                for (size_t d = 0; d < sizeof edges; d++) {
                    s[0] = (unsigned char)a;
                    s[1] = (unsigned char)b;
                    s[2] = edges[c];
                    s[3] = edges[d];
                    if ((utf8_check(s, 4) == 0) != reference_utf8_valid(s, 4))
                        disagreements++;
                }
    TAP_EQ_INT(disagreements, 0, "the validator agrees with a reference decoder");
}

int main(void)
{
    test_rfc_examples();
    test_rejections();
    test_acceptances();
    test_build_matches_rfc();
    test_build_parse_round_trip();
    test_build_refuses();
    test_masking();
    test_opcode_names();
    test_describe();
    test_describe_limits();
    test_close_parse();
    test_close_codes();
    test_close_build();
    test_hixie76_frames();
    test_utf8_valid();
    test_utf8_invalid();
    test_utf8_state();
    test_utf8_exhaustive();
    guard_release();
    return tap_done();
}
