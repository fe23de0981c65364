/* fuzz_ws_frame.c - libFuzzer target for the WebSocket codec: frame headers, masking, close
 * payloads, UTF-8, draft-76 frames and base64.
 *
 * A fuzzer finds crashes by itself (with AddressSanitizer, any read past the input is one); the
 * checks below add what a crash cannot show, the invariants a correct codec keeps:
 *   - a header that parses is one the RFC allows, rebuilds to the same bytes when its length
 *     was minimal, and every shorter prefix of it is WS_INCOMPLETE;
 *   - the parse flags only ever add rules, each one the rule it names;
 *   - unmasking in two pieces equals unmasking at once, and masking twice changes nothing;
 *   - a close payload that parses builds back to the same bytes;
 *   - the UTF-8 verdict does not depend on how the text is cut;
 *   - base64 that decodes is canonical: encoding the result gives the input back.
 *
 *   make build/fuzz/fuzz_ws_frame
 *   cp -r tests/fuzz/corpus/fuzz_ws_frame /tmp/corpus
 *   ./build/fuzz/fuzz_ws_frame -max_total_time=30 /tmp/corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "utf8.h"
#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message when an invariant fails; libFuzzer saves the input. */
static void require(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

/* What a header that parsed must satisfy, whatever the flags. */
static void check_parsed_header(const uint8_t *data, size_t size, ssize_t r,
                                const struct ws_header *h)
{
    unsigned char rebuilt[WS_MAX_HEADER_SIZE];
    char text[256];
    size_t n;

    require(r >= 2 && r <= WS_MAX_HEADER_SIZE && (size_t)r <= size, "header length in range");
    require((size_t)r == h->header_len, "returned length is header_len");
    require(h->rsv == 0, "no RSV bit accepted");
    require(strcmp(ws_opcode_name(h->opcode), "reserved") != 0, "no reserved opcode accepted");
    require(!ws_opcode_is_control(h->opcode) || (h->fin && h->payload_len <= 125),
            "control frames are whole and short");
    require((h->payload_len >> 63) == 0, "payload length below 2^63");

    n = ws_frame_build_header(rebuilt, h->fin, h->opcode, h->payload_len,
                              h->masked ? h->mask_key : NULL);
    require(n > 0, "an accepted header can be built");
    require(h->length_minimal ? n == (size_t)r && memcmp(rebuilt, data, n) == 0 : n < (size_t)r,
            "rebuilding gives the same bytes, or fewer for a non-minimal length");

    require(ws_frame_describe(h, text, sizeof text) < sizeof text, "description fits 256 bytes");
}

/* Every prefix shorter than the header is incomplete. */
static void check_prefixes(const uint8_t *data, ssize_t r)
{
    struct ws_header h;
    struct ws_error err;

    for (size_t k = 0; k < (size_t)r; k++)
        require(ws_frame_parse_header(data, k, 0, &h, &err) == WS_INCOMPLETE,
                "a prefix of a header is incomplete");
}

/* The flags add rules and never remove any; with the header known, each flag's verdict
 * follows from one field. */
static void check_flags(const uint8_t *data, size_t size, ssize_t r0, const struct ws_header *h0)
{
    static const unsigned flag_sets[] = {WS_REQUIRE_MASK, WS_FORBID_MASK, WS_MINIMAL_LENGTH};

    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        struct ws_header h;
        struct ws_error err;
        unsigned flags = flag_sets[i];
        ssize_t r = ws_frame_parse_header(data, size, flags, &h, &err);
        int allowed = r0 >= 0;

        if (r0 == WS_INCOMPLETE) {
            require(r == WS_INCOMPLETE, "flags do not change incomplete");
            continue;
        }
        if (allowed && flags == WS_REQUIRE_MASK)
            allowed = h0->masked;
        if (allowed && flags == WS_FORBID_MASK)
            allowed = !h0->masked;
        if (allowed && flags == WS_MINIMAL_LENGTH)
            allowed = h0->length_minimal;
        require(allowed ? r == r0 : r == WS_ERROR, "each flag adds exactly its rule");
        require(r != WS_ERROR ||
                    (err.close_code == 1002 && err.reason && !strchr(err.reason, '\n')),
                "an error carries 1002 and a one-line reason");
    }
}

/* Unmasks the payload bytes that are present, at once and in two pieces. */
static void check_masking(const uint8_t *payload, size_t len, const struct ws_header *h)
{
    unsigned char *whole = malloc(len + 1), *pieces = malloc(len + 1);
    size_t cut = len > 0 ? payload[0] % (len + 1) : 0;

    require(whole && pieces, "memory");
    memcpy(whole, payload, len);
    memcpy(pieces, payload, len);
    ws_mask_payload(whole, len, h->mask_key, 0);
    ws_mask_payload(pieces, cut, h->mask_key, 0);
    ws_mask_payload(pieces + cut, len - cut, h->mask_key, cut);
    require(memcmp(whole, pieces, len) == 0, "unmasking in pieces equals unmasking at once");
    ws_mask_payload(pieces, len, h->mask_key, 0);
    require(memcmp(pieces, payload, len) == 0, "masking twice gives the bytes back");

    if (h->opcode == WS_OP_TEXT && len == h->payload_len)
        utf8_check(whole, len);
    free(whole);
    free(pieces);
}

static void check_close(const uint8_t *data, size_t size)
{
    struct ws_close c;
    struct ws_error err;
    unsigned char rebuilt[WS_MAX_CONTROL_PAYLOAD];
    int r = ws_close_parse(data, size, &c, &err);

    if (r == WS_ERROR) {
        require(err.close_code == 1002 || err.close_code == 1007, "close errors are 1002/1007");
        return;
    }
    require(r == 0 && size <= 125, "a close payload parses or fails");
    ssize_t n = ws_close_build(rebuilt, c.code, c.reason, c.reason_len);
    require(n == (ssize_t)size && (size == 0 || memcmp(rebuilt, data, size) == 0),
            "a parsed close payload builds back to the same bytes");
}

/* The verdict on the whole input must not depend on where it is cut, nor on feeding it one
 * byte at a time. */
static void check_utf8(const uint8_t *data, size_t size)
{
    struct utf8_validator two, bytewise;
    int whole = utf8_check(data, size);
    size_t cut = size > 0 ? data[size - 1] % (size + 1) : 0;

    utf8_init(&two);
    utf8_feed(&two, data, cut);
    utf8_feed(&two, data + cut, size - cut);
    require(utf8_finish(&two) == whole, "UTF-8 in two pieces agrees");
    utf8_init(&bytewise);
    for (size_t i = 0; i < size; i++)
        utf8_feed(&bytewise, data + i, 1);
    require(utf8_finish(&bytewise) == whole, "UTF-8 byte by byte agrees");
}

static void check_hixie76(const uint8_t *data, size_t size)
{
    struct ws_hixie76_frame f;
    unsigned char *rebuilt;
    ssize_t r = ws_hixie76_parse(data, size, &f);

    if (r <= 0 || f.is_close) {
        require(r != WS_INCOMPLETE || size < 2 || data[0] == 0x00, "incomplete only for 00...");
        return;
    }
    require((size_t)r <= size && (size_t)r == f.text_len + 2, "a draft-76 frame fits");
    rebuilt = malloc((size_t)r);
    require(rebuilt != NULL, "memory");
    require(ws_hixie76_build(rebuilt, (size_t)r, f.text, f.text_len) == r &&
                memcmp(rebuilt, data, (size_t)r) == 0,
            "a draft-76 frame builds back to the same bytes");
    free(rebuilt);
}

static void check_base64(const uint8_t *data, size_t size)
{
    size_t cap = base64_decoded_max(size);
    unsigned char *bytes = malloc(cap + 1);
    char *text = malloc(size + 1);
    ssize_t n;

    require(bytes && text, "memory");
    n = base64_decode((const char *)data, size, bytes, cap);
    if (n >= 0) {
        require(base64_encode(bytes, (size_t)n, text) == size, "re-encoding has the same length");
        require(memcmp(text, data, size) == 0, "decoded base64 was canonical");
    }
    free(bytes);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_header h;
    struct ws_error err;
    ssize_t r = ws_frame_parse_header(data, size, 0, &h, &err);

    require(r == WS_INCOMPLETE || r == WS_ERROR || r > 0, "three-state return");
    require(r != WS_INCOMPLETE || size < WS_MAX_HEADER_SIZE, "14 bytes always decide");
    if (r > 0) {
        size_t present = size - (size_t)r;
        check_parsed_header(data, size, r, &h);
        check_prefixes(data, r);
        check_masking(data + r, present < h.payload_len ? present : (size_t)h.payload_len, &h);
    }
    check_flags(data, size, r, &h);
    check_close(data, size < 200 ? size : 200);
    check_utf8(data, size);
    check_hixie76(data, size);
    check_base64(data, size < 4096 ? size : 4096);
    return 0;
}
