/* fuzz_http_parser.c - libFuzzer target for http_parser: heads, helpers and chunked bodies.
 *
 * Each input is read as a request head (with the default limits and with small ones), as a
 * response head, and as a chunked body, decoded whole and one byte at a time. Besides the
 * sanitizers' own checks (libFuzzer hands us a heap buffer of exactly the input's size, so an
 * over-read is reported at once), it asserts the module's contracts:
 *
 *  - a head parser returns HTTP_INCOMPLETE, HTTP_ERROR with a known status and a reason, or a
 *    length within the input; every slice it fills lies inside that length;
 *  - a head that parses is incomplete one byte shorter, and parses the same with any tail;
 *  - the chunked decoder gives the same verdict, the same payload and stops at the same byte
 *    however its input is cut.
 *
 *   make build/fuzz/fuzz_http_parser
 *   cp -r tests/fuzz/corpus/fuzz_http_parser /tmp/http-corpus   (the fuzzer adds to it)
 *   ./build/fuzz/fuzz_http_parser -max_total_time=30 /tmp/http-corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message; libFuzzer saves the input that did it. */
static void require(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_http_parser: broken contract: %s\n", what);
        abort();
    }
}

static int inside(struct slice s, const char *buf, size_t len)
{
    return s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len;
}

static void check_headers(const struct http_header *h, size_t n, const char *buf, size_t len)
{
    require(n <= HTTP_MAX_HEADERS, "header count within the array");
    for (size_t i = 0; i < n; i++) {
        require(inside(h[i].name, buf, len) && h[i].name.len > 0, "field name inside the head");
        require(inside(h[i].value, buf, len), "field value inside the head");
        http_token_list_has(h[i].value, "close");
        http_token_list_has(h[i].value, "");
    }
}

/* The derived facts agree with each other. */
static void check_request_facts(const struct http_request *req)
{
    require(req->version_minor == 0 || req->version_minor == 1, "version is 1.0 or 1.1");
    require(req->chunked == (req->body == HTTP_BODY_CHUNKED), "chunked matches body");
    require(!req->chunked || req->content_length < 0, "never both framings");
    require((req->body == HTTP_BODY_LENGTH) == (req->content_length >= 0), "length framing");
    require(req->has_host || req->version_minor == 0, "HTTP/1.1 has Host");
    require(req->has_host == (http_header_find(req, "host") != NULL), "has_host matches find");
    http_method_is_idempotent(req->method);
}

static ssize_t parse_request(const char *buf, size_t len, const struct http_limits *limits)
{
    struct http_request req;
    ssize_t rc = http_parse_request(buf, len, &req, limits);
    require(rc == HTTP_INCOMPLETE || rc == HTTP_ERROR || (rc > 0 && (size_t)rc <= len),
            "request: one of the three answers");
    if (rc == HTTP_ERROR) {
        int s = req.error_status;
        require(s == 400 || s == 414 || s == 431 || s == 501 || s == 505, "request: status");
        require(req.error != NULL && http_status_text(s)[0] != '\0', "request: reason");
    }
    if (rc > 0) {
        require(inside(req.method, buf, (size_t)rc) && req.method.len > 0, "method inside");
        require(inside(req.target, buf, (size_t)rc) && req.target.len > 0, "target inside");
        check_headers(req.headers, req.num_headers, buf, (size_t)rc);
        check_request_facts(&req);
    }
    return rc;
}

/* A head that parses ends exactly where the parser says: one byte less is not enough. */
static void fuzz_request(const char *buf, size_t len, const struct http_limits *limits)
{
    ssize_t rc = parse_request(buf, len, limits);
    if (rc > 0) {
        require(parse_request(buf, (size_t)rc - 1, limits) == HTTP_INCOMPLETE,
                "request: a head one byte short is incomplete");
        require(parse_request(buf, (size_t)rc, limits) == rc, "request: same without the tail");
    }
}

static void fuzz_response(const char *buf, size_t len, int head_request)
{
    struct http_response resp;
    ssize_t rc = http_parse_response(buf, len, &resp, head_request, NULL);
    require(rc == HTTP_INCOMPLETE || rc == HTTP_ERROR || (rc > 0 && (size_t)rc <= len),
            "response: one of the three answers");
    require(rc != HTTP_ERROR || resp.error != NULL, "response: reason");
    if (rc <= 0)
        return;
    require(resp.status >= 100 && resp.status <= 599, "response: status range");
    require(inside(resp.reason, buf, (size_t)rc), "response: reason inside");
    check_headers(resp.headers, resp.num_headers, buf, (size_t)rc);
    require(!head_request || resp.body == HTTP_BODY_NONE, "response: HEAD has no body");
    require(resp.body != HTTP_BODY_UNTIL_CLOSE || !resp.keep_alive, "response: until close");
    http_response_header_find(&resp, "content-type");
    http_status_text(resp.status);
}

struct decoded {
    int rc;
    size_t used;
    size_t len;
    char *payload; /* room for the whole input: the payload is never longer */
};

/* Decodes one piece with the loop from the header, checking each call's contract. */
static void decode_piece(struct http_chunked *dec, const char *in, size_t n, struct decoded *d)
{
    size_t at = 0;
    while (at < n && d->rc == HTTP_INCOMPLETE) {
        size_t used = 0;
        struct slice out;
        d->rc = http_chunked_decode(dec, in + at, n - at, &used, &out);
        require(used <= n - at, "chunked: consumed within the input");
        require(inside(out, in + at, used), "chunked: payload inside what was consumed");
        require(used > 0 || d->rc != HTTP_INCOMPLETE, "chunked: progress");
        require(d->rc != HTTP_ERROR || dec->error != NULL, "chunked: reason");
        memcpy(d->payload + d->len, out.ptr, out.len);
        d->len += out.len;
        d->used += used;
        at += used;
    }
}

/* Whole when step == size; otherwise each step-sized piece gets its own exact-size copy, so
 * that reading past a piece is caught too. */
static void decode_in_steps(const char *buf, size_t size, size_t step, struct decoded *d)
{
    struct http_chunked dec;
    http_chunked_init(&dec);
    d->rc = HTTP_INCOMPLETE;
    d->used = d->len = 0;
    for (size_t at = 0; at < size && d->rc == HTTP_INCOMPLETE; at += step) {
        size_t n = size - at < step ? size - at : step;
        char *piece = malloc(n);
        require(piece != NULL, "memory");
        memcpy(piece, buf + at, n);
        decode_piece(&dec, piece, n, d);
        free(piece);
    }
}

static void fuzz_chunked(const char *buf, size_t size)
{
    struct decoded whole, bytes;
    whole.payload = malloc(size + 1);
    bytes.payload = malloc(size + 1);
    require(whole.payload && bytes.payload, "memory");
    decode_in_steps(buf, size, size ? size : 1, &whole);
    decode_in_steps(buf, size, 1, &bytes);
    require(whole.rc == bytes.rc, "chunked: same verdict whole and byte by byte");
    require(whole.used == bytes.used, "chunked: same end whole and byte by byte");
    require(whole.len == bytes.len && memcmp(whole.payload, bytes.payload, whole.len) == 0,
            "chunked: same payload whole and byte by byte");
    free(whole.payload);
    free(bytes.payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct http_limits small = {256, 64};
    const char *buf = (const char *)data;
    fuzz_request(buf, size, NULL);
    fuzz_request(buf, size, &small);
    fuzz_response(buf, size, 0);
    fuzz_response(buf, size, 1);
    fuzz_chunked(buf, size);
    return 0;
}
