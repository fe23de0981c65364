/* test_http_parser.c - every rule of http_parser.h, on messages fed whole and cut anywhere.
 *
 * Each request and response below is parsed three ways: whole, as every one of its prefixes
 * (a valid message must be "incomplete" until its head ends, and an invalid one may only turn
 * into its own error), and always from a copy that ends right before an unreadable page
 * (guard.h), so that reading a single byte too far crashes the test. Chunked bodies are decoded
 * whole and one byte at a time, and must give the same payload and the same verdict.
 *
 *   make build/default/tests/test_http_parser && ./build/default/tests/test_http_parser
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "http_parser.h"
#include "tap.h"

static struct slice lit(const char *s)
{
    return (struct slice){s, strlen(s)};
}

static int same_text(struct slice s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* ---- Describing what the parser found, so that a case states it in one string ---- */

static const char *body_name(enum http_body body)
{
    switch (body) {
    case HTTP_BODY_NONE:
        return "none";
    case HTTP_BODY_LENGTH:
        return "length";
    case HTTP_BODY_CHUNKED:
        return "chunked";
    default:
        return "until-close";
    }
}

static const char *describe_request(const struct http_request *r, char *out, size_t cap)
{
    snprintf(out, cap,
             "%.*s %.*s HTTP/1.%d headers=%zu cl=%lld body=%s ka=%d upgrade=%d expect=%d "
             "host=%d",
             (int)r->method.len, r->method.ptr, (int)r->target.len, r->target.ptr, r->version_minor,
             r->num_headers, (long long)r->content_length, body_name(r->body), r->keep_alive,
             r->upgrade, r->expect_continue, r->has_host);
    return out;
}

static const char *describe_response(const struct http_response *r, char *out, size_t cap)
{
    snprintf(out, cap, "HTTP/1.%d %d \"%.*s\" headers=%zu cl=%lld body=%s ka=%d upgrade=%d",
             r->version_minor, r->status, (int)r->reason.len, r->reason.ptr, r->num_headers,
             (long long)r->content_length, body_name(r->body), r->keep_alive, r->upgrade);
    return out;
}

static int slice_inside(struct slice s, const char *buf, size_t len)
{
    return s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len;
}

static int headers_inside(const struct http_header *h, size_t n, const char *buf, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (!slice_inside(h[i].name, buf, len) || !slice_inside(h[i].value, buf, len))
            return 0;
    }
    return 1;
}

/* ---- Feeding every prefix ----
 *
 * A parse is reduced to an outcome: the return value and, for errors, the status (responses
 * have no status to answer, so theirs is 1). */

struct outcome {
    ssize_t rc;
    int status;
};

typedef struct outcome parse_fn(const void *the_case, const struct http_limits *limits,
                                const char *buf, size_t len);

/* Parses every prefix of text, each placed before the guard page. A valid message (head > 0)
 * must be incomplete until head bytes are there, and then always give head. An invalid one
 * (head == HTTP_ERROR) may be incomplete, then must fail with its status from then on. */
static int prefixes_behave(parse_fn *parse, const void *c, const struct http_limits *limits,
                           const char *text, size_t len, ssize_t head, int status)
{
    int failed = 0;
    for (size_t k = 0; k <= len; k++) {
        struct outcome o = parse(c, limits, guard_place(text, k), k);
        int ok;
        if (head > 0)
            ok = (ssize_t)k < head ? o.rc == HTTP_INCOMPLETE : o.rc == head;
        else
            ok = o.rc == HTTP_INCOMPLETE ? !failed : o.rc == HTTP_ERROR && o.status == status;
        failed |= o.rc == HTTP_ERROR;
        if (!ok) {
            printf("#   prefix of %zu bytes: rc %zd status %d\n", k, o.rc, o.status);
            return 0;
        }
    }
    return 1;
}

/* ---- Requests ---- */

struct request_case {
    const char *name;
    const char *text;
    size_t len;        /* 0: strlen(text) */
    size_t tail;       /* bytes after the head (a body, the next request) */
    int status;        /* 0: valid; otherwise the expected error status */
    const char *facts; /* valid: describe_request; invalid: a word of the reason */
};

static size_t case_len(const char *text, size_t len)
{
    return len ? len : strlen(text);
}

static struct outcome parse_request_case(const void *arg, const struct http_limits *limits,
                                         const char *buf, size_t len)
{
    struct http_request req;
    struct outcome o;
    (void)arg;
    o.rc = http_parse_request(buf, len, &req, limits);
    o.status = o.rc == HTTP_ERROR ? req.error_status : 0;
    return o;
}

static void check_valid_request(const struct request_case *c, const struct http_limits *limits,
                                const char *in, size_t len)
{
    struct http_request req;
    char facts[512];
    ssize_t rc = http_parse_request(in, len, &req, limits);
    TAP_EQ_INT(rc, len - c->tail, "request %s: head length", c->name);
    if (rc < 0) {
        printf("#   error %d: %s\n", req.error_status, req.error);
        return;
    }
    TAP_EQ_STR(describe_request(&req, facts, sizeof facts), c->facts, "request %s: facts", c->name);
    TAP_OK(slice_inside(req.method, in, (size_t)rc) && slice_inside(req.target, in, (size_t)rc) &&
               headers_inside(req.headers, req.num_headers, in, (size_t)rc),
           "request %s: slices inside the head", c->name);
}

static void check_invalid_request(const struct request_case *c, const struct http_limits *limits,
                                  const char *in, size_t len)
{
    struct http_request req;
    ssize_t rc = http_parse_request(in, len, &req, limits);
    TAP_EQ_INT(rc == HTTP_ERROR ? req.error_status : (int)rc, c->status, "request %s: status",
               c->name);
    TAP_OK(req.error && strstr(req.error, c->facts), "request %s: reason \"%s\" mentions %s",
           c->name, req.error ? req.error : "(none)", c->facts);
}

/* limits may be NULL for the defaults. */
static void check_request_case(const struct request_case *c, const struct http_limits *limits)
{
    size_t len = case_len(c->text, c->len);
    const char *in = guard_place(c->text, len);
    if (c->status == 0)
        check_valid_request(c, limits, in, len);
    else
        check_invalid_request(c, limits, in, len);
    ssize_t head = c->status == 0 ? (ssize_t)(len - c->tail) : HTTP_ERROR;
    TAP_OK(prefixes_behave(parse_request_case, c, limits, c->text, len, head, c->status),
           "request %s: every prefix", c->name);
}

#define GET11 "GET / HTTP/1.1\r\nHost: x\r\n"

/* For inputs that hold a NUL byte, where strlen would stop early. */
#define WITH_LEN(text) text, sizeof(text) - 1

static const struct request_case request_cases[] = {
    /* Valid requests and the facts derived from them. */
    {"simple GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"HTTP/1.0 without Host", "GET /index.html HTTP/1.0\r\n\r\n", 0, 0, 0,
     "GET /index.html HTTP/1.0 headers=0 cl=-1 body=none ka=0 upgrade=0 expect=0 host=0"},
    {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.0 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=0"},
    {"HTTP/1.1 close", GET11 "Connection: close\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=-1 body=none ka=0 upgrade=0 expect=0 host=1"},
    {"close wins over keep-alive", GET11 "Connection: keep-alive\r\nConnection: close\r\n\r\n", 0,
     0, 0, "GET / HTTP/1.1 headers=3 cl=-1 body=none ka=0 upgrade=0 expect=0 host=1"},
    {"websocket upgrade",
     "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n"
     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
     0, 0, 0, "GET /chat HTTP/1.1 headers=4 cl=-1 body=none ka=1 upgrade=1 expect=0 host=1"},
    {"Connection: upgrade without Upgrade", GET11 "Connection: upgrade\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"upgrade ignored in HTTP/1.0",
     "GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.0 headers=2 cl=-1 body=none ka=0 upgrade=0 expect=0 host=0"},
    {"Upgrade without Connection: upgrade", GET11 "Upgrade: websocket\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"POST with Content-Length", "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
     0, 5, 0, "POST /form HTTP/1.1 headers=2 cl=5 body=length ka=1 upgrade=0 expect=0 host=1"},
    {"Content-Length 0", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 0, 0, 0,
     "POST / HTTP/1.1 headers=2 cl=0 body=length ka=1 upgrade=0 expect=0 host=1"},
    {"Content-Length leading zeros", GET11 "Content-Length: 007\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=7 body=length ka=1 upgrade=0 expect=0 host=1"},
    {"Content-Length repeated, same value", GET11 "Content-Length: 5\r\ncontent-length: 5\r\n\r\n",
     0, 0, 0, "GET / HTTP/1.1 headers=3 cl=5 body=length ka=1 upgrade=0 expect=0 host=1"},
    {"Content-Length list, same value", GET11 "Content-Length: 5, 5,5\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=5 body=length ka=1 upgrade=0 expect=0 host=1"},
    {"Content-Length largest", GET11 "Content-Length: 9223372036854775807\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=9223372036854775807 body=length ka=1 upgrade=0 expect=0 "
     "host=1"},
    {"chunked POST",
     "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0,
     15, 0, "POST /up HTTP/1.1 headers=2 cl=-1 body=chunked ka=1 upgrade=0 expect=0 host=1"},
    {"chunked in any case, OWS", GET11 "Transfer-Encoding:   Chunked \r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=-1 body=chunked ka=1 upgrade=0 expect=0 host=1"},
    {"chunked after empty elements", GET11 "Transfer-Encoding: ,chunked\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=-1 body=chunked ka=1 upgrade=0 expect=0 host=1"},
    {"Expect: 100-continue",
     "PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n", 0, 0, 0,
     "PUT /f HTTP/1.1 headers=3 cl=3 body=length ka=1 upgrade=0 expect=1 host=1"},
    {"Expect in HTTP/1.0 is ignored", "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, 0, 0,
     "PUT /f HTTP/1.0 headers=1 cl=-1 body=none ka=0 upgrade=0 expect=0 host=0"},
    {"bare LF line endings", "GET /nc HTTP/1.1\nHost: x\n\n", 0, 0, 0,
     "GET /nc HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"mixed line endings", "GET / HTTP/1.1\r\nHost: x\nA: b\r\n\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=2 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"empty lines before the request line", "\r\n\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"values: OWS, empty, tab, obs-text",
     GET11 "A:   spaced out \t \r\nB:\r\nC: tab\there\r\nD: caf\xc3\xa9\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=5 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"absolute-form target", "GET http://example.com/a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n",
     0, 0, 0,
     "GET http://example.com/a?b=c HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 "
     "host=1"},
    {"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 0,
     "OPTIONS * HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 0, 0, 0,
     "CONNECT example.com:443 HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 "
     "host=1"},
    {"raw UTF-8 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 0,
     "GET /caf\xc3\xa9 HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"extension method, lowercase names",
     "PURGE /x HTTP/1.1\r\nhost: x\r\nx-a!#$%&'*+-.^_`|~: 1\r\n\r\n", 0, 0, 0,
     "PURGE /x HTTP/1.1 headers=2 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"IPv6 Host with port", "GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n", 0, 0, 0,
     "GET / HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},
    {"pipelined: first of two", GET11 "\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 0, 28, 0,
     "GET / HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1"},

    /* The request line. */
    {"TLS handshake on the plain port", WITH_LEN("\x16\x03\x01\x02\x00\x01"), 0, 400, "method"},
    {"invalid character in method", "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 400, "method"},
    {"empty method", " / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 400, "method"},
    {"two spaces before target", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 400, "target"},
    {"no version", "GET /\r\nHost: x\r\n\r\n", 0, 0, 400, "version"},
    {"lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 0, 0, 400, "version"},
    {"version not a number", "GET / HTTP/x.1\r\nHost: x\r\n\r\n", 0, 0, 400, "version"},
    {"version with two digits", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 0, 0, 400, "version"},
    {"space after version", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 0, 0, 400, "version"},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 0, 0, 505, "version"},
    {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 0, 0, 505, "version"},
    {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 0, 0, 505, "version"},
    {"NUL in target", WITH_LEN("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"), 0, 400, "target"},
    {"tab in target", "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 400, "target"},
    {"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 400, "target"},
    {"CR alone ends the request line", "GET / HTTP/1.1\rHost: x\r\n\r\n", 0, 0, 400, "CR"},

    /* Field lines. */
    {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 0, 0, 400, "colon"},
    {"tab before colon", GET11 "A\t: b\r\n\r\n", 0, 0, 400, "colon"},
    {"obs-fold", GET11 "A: b\r\n  continued\r\n\r\n", 0, 0, 400, "obs-fold"},
    {"whitespace line after request line", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 0, 0, 400,
     "obs-fold"},
    {"field line without colon", GET11 "NoColon\r\n\r\n", 0, 0, 400, "colon"},
    {"empty field name", GET11 ": value\r\n\r\n", 0, 0, 400, "name"},
    {"invalid character in field name", GET11 "A@B: c\r\n\r\n", 0, 0, 400, "name"},
    {"non-ASCII field name", GET11 "Caf\xc3\xa9: c\r\n\r\n", 0, 0, 400, "name"},
    {"NUL in field value", WITH_LEN(GET11 "A: b\0c\r\n\r\n"), 0, 400, "value"},
    {"control in field value", GET11 "A: b\x01\r\n\r\n", 0, 0, 400, "value"},
    {"DEL in field value", GET11 "A: b\x7f\r\n\r\n", 0, 0, 400, "value"},
    {"bare CR in field value", GET11 "A: b\rc\r\n\r\n", 0, 0, 400, "CR"},
    {"CR CR LF", GET11 "A: b\r\r\n\r\n", 0, 0, 400, "CR"},
    {"CR alone ends the head", GET11 "\rX", 0, 0, 400, "CR"},

    /* Host. */
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nA: b\r\n\r\n", 0, 0, 400, "Host"},
    {"two Host fields", GET11 "host: y\r\n\r\n", 0, 0, 400, "Host"},
    {"two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n", 0, 0, 400,
     "Host"},
    {"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 0, 400, "Host"},
    {"Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, 0, 400, "Host"},

    /* Content-Length. */
    {"Content-Length not a number", GET11 "Content-Length: abc\r\n\r\n", 0, 0, 400,
     "Content-Length"},
    {"Content-Length negative", GET11 "Content-Length: -1\r\n\r\n", 0, 0, 400, "Content-Length"},
    {"Content-Length with plus", GET11 "Content-Length: +5\r\n\r\n", 0, 0, 400, "Content-Length"},
    {"Content-Length hex", GET11 "Content-Length: 0x10\r\n\r\n", 0, 0, 400, "Content-Length"},
    {"Content-Length trailing junk", GET11 "Content-Length: 5a\r\n\r\n", 0, 0, 400,
     "Content-Length"},
    {"Content-Length inner space", GET11 "Content-Length: 1 2\r\n\r\n", 0, 0, 400,
     "Content-Length"},
    {"Content-Length empty", GET11 "Content-Length:\r\n\r\n", 0, 0, 400, "Content-Length"},
    {"Content-Length overflow", GET11 "Content-Length: 9223372036854775808\r\n\r\n", 0, 0, 400,
     "Content-Length"},
    {"Content-Length huge", GET11 "Content-Length: 99999999999999999999999\r\n\r\n", 0, 0, 400,
     "Content-Length"},
    {"Content-Length conflicting lines", GET11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0,
     0, 400, "conflicting"},
    {"Content-Length conflicting list", GET11 "Content-Length: 5, 6\r\n\r\n", 0, 0, 400,
     "conflicting"},
    {"Content-Length trailing comma", GET11 "Content-Length: 5,\r\n\r\n", 0, 0, 400,
     "Content-Length"},
    {"Content-Length empty element", GET11 "Content-Length: 5,,5\r\n\r\n", 0, 0, 400,
     "Content-Length"},

    /* Transfer-Encoding. */
    {"Content-Length and Transfer-Encoding",
     GET11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 400,
     "Transfer-Encoding"},
    {"Transfer-Encoding and Content-Length",
     GET11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0, 0, 400,
     "Transfer-Encoding"},
    {"chunked not last", GET11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 0, 0, 400, "final"},
    {"chunked not last across lines",
     GET11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 0, 400, "final"},
    {"chunked twice", GET11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 0, 0, 400, "once"},
    {"gzip", GET11 "Transfer-Encoding: gzip\r\n\r\n", 0, 0, 501, "coding"},
    {"gzip then chunked", GET11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 0, 501, "coding"},
    {"identity", GET11 "Transfer-Encoding: identity\r\n\r\n", 0, 0, 501, "coding"},
    {"chunked with a parameter", GET11 "Transfer-Encoding: chunked;q=1\r\n\r\n", 0, 0, 501,
     "coding"},
    {"empty Transfer-Encoding", GET11 "Transfer-Encoding:\r\n\r\n", 0, 0, 400, "Transfer-Encoding"},
    {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0,
     400, "HTTP/1.0"},
};

/* ---- Limits: generated inputs around the defaults and around small custom limits ---- */

static char big[40000];

/* Writes prefix, then n copies of fill, then suffix into big (NUL-terminated), and returns
 * the length. */
static size_t build(const char *prefix, char fill, size_t n, const char *suffix)
{
    size_t len = strlen(prefix);
    memcpy(big, prefix, len);
    memset(big + len, fill, n);
    len += n;
    strcpy(big + len, suffix);
    return len + strlen(suffix);
}

static void check_built(const char *name, size_t len, int status, const char *facts,
                        const struct http_limits *limits)
{
    struct request_case c = {name, big, len, 0, status, facts};
    check_request_case(&c, limits);
}

static void test_uri_limit(void)
{
    /* "GET /" + 8191 = a target of exactly 8192 bytes. */
    size_t len = build("GET /", 'a', HTTP_DEFAULT_MAX_URI - 1, " HTTP/1.1\r\nHost: x\r\n\r\n");
    struct http_request req;
    TAP_EQ_INT(http_parse_request(big, len, &req, NULL), len, "target of exactly 8192 bytes");
    TAP_EQ_INT(req.target.len, HTTP_DEFAULT_MAX_URI, "target length");

    len = build("GET /", 'a', HTTP_DEFAULT_MAX_URI, " HTTP/1.1\r\nHost: x\r\n\r\n");
    check_built("target of 8193 bytes", len, 414, "target", NULL);
    len = build("GET /", 'a', HTTP_DEFAULT_MAX_URI + 100, "");
    check_built("unfinished target past the limit", len, 414, "target", NULL);
}

static void test_header_limit(void)
{
    const char *head = "GET / HTTP/1.1\r\nHost: x\r\nX: ";
    size_t fixed = strlen(head) + 4; /* "\r\n\r\n" */
    size_t len = build(head, 'v', HTTP_DEFAULT_MAX_HEADER_SIZE - fixed, "\r\n\r\n");
    struct http_request req;
    TAP_EQ_INT(http_parse_request(big, len, &req, NULL), HTTP_DEFAULT_MAX_HEADER_SIZE,
               "head of exactly 16384 bytes");

    len = build(head, 'v', HTTP_DEFAULT_MAX_HEADER_SIZE - fixed + 1, "\r\n\r\n");
    check_built("head of 16385 bytes", len, 431, "large", NULL);
    len = build(head, 'v', HTTP_DEFAULT_MAX_HEADER_SIZE + 100, "");
    check_built("unfinished head past the limit", len, 431, "large", NULL);
}

/* Host plus n - 1 fields "A: b". */
static size_t build_many_headers(size_t n)
{
    size_t len = build("GET / HTTP/1.1\r\nHost: x\r\n", 0, 0, "");
    for (size_t i = 1; i < n; i++)
        len += (size_t)sprintf(big + len, "A%zu: b\r\n", i);
    memcpy(big + len, "\r\n", 2);
    return len + 2;
}

static void test_header_count(void)
{
    size_t len = build_many_headers(HTTP_MAX_HEADERS);
    check_built("64 fields", len, 0,
                "GET / HTTP/1.1 headers=64 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1", NULL);
    len = build_many_headers(HTTP_MAX_HEADERS + 1);
    check_built("65 fields", len, 431, "many", NULL);
}

static void test_custom_limits(void)
{
    static const struct http_limits small = {64, 16};
    /* A 16-byte target; the head is then 37 bytes. */
    size_t len = build("GET /", 'a', 15, " HTTP/1.1\r\nHost: x\r\n\r\n");
    check_built("custom: target at the limit", len, 0,
                "GET /aaaaaaaaaaaaaaa HTTP/1.1 headers=1 cl=-1 body=none ka=1 upgrade=0 "
                "expect=0 host=1",
                &small);
    len = build("GET /", 'a', 16, " HTTP/1.1\r\nHost: x\r\n\r\n");
    check_built("custom: target past the limit", len, 414, "target", &small);

    /* 25 bytes of request line and Host, "X: " and the final CRLFs: 32 bytes of value make 64. */
    len = build("GET / HTTP/1.1\r\nHost: x\r\nX: ", 'v', 32, "\r\n\r\n");
    check_built("custom: head at the limit", len, 0,
                "GET / HTTP/1.1 headers=2 cl=-1 body=none ka=1 upgrade=0 expect=0 host=1", &small);
    len = build("GET / HTTP/1.1\r\nHost: x\r\nX: ", 'v', 33, "\r\n\r\n");
    check_built("custom: head past the limit", len, 431, "large", &small);

    /* That head's first 64 bytes have used the whole allowance without ending, so the answer
     * is 431 at once; one byte fewer could still end in time. */
    struct http_request req;
    TAP_EQ_INT(http_parse_request(guard_place(big, 64), 64, &req, &small), HTTP_ERROR,
               "custom: 431 as soon as the limit is reached");
    TAP_EQ_INT(req.error_status, 431, "custom: status at the limit");
    TAP_EQ_INT(http_parse_request(guard_place(big, 63), 63, &req, &small), HTTP_INCOMPLETE,
               "custom: incomplete one byte before the limit");
}

/* ---- Pipelining: one buffer, several messages ---- */

/* An empty buffer (whose pointer may be NULL) is simply incomplete. */
static void test_empty_input(void)
{
    struct http_request req;
    struct http_response resp;
    struct http_chunked dec;
    struct slice data;
    size_t used = 1;
    TAP_EQ_INT(http_parse_request(NULL, 0, &req, NULL), HTTP_INCOMPLETE, "empty request");
    TAP_EQ_INT(http_parse_response(NULL, 0, &resp, 0, NULL), HTTP_INCOMPLETE, "empty response");
    http_chunked_init(&dec);
    TAP_EQ_INT(http_chunked_decode(&dec, NULL, 0, &used, &data), HTTP_INCOMPLETE, "empty body");
    TAP_OK(used == 0 && data.len == 0, "empty body: nothing used, nothing handed out");
}

static void test_pipelining(void)
{
    static const char two[] = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                              "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t len = sizeof two - 1;
    const char *in = guard_place(two, len);
    struct http_request req;
    ssize_t first = http_parse_request(in, len, &req, NULL);
    TAP_EQ_INT(first, 48, "pipelined: first head is exactly its own bytes");
    TAP_EQ_INT(req.content_length, 3, "pipelined: first body length");
    size_t at = (size_t)first + 3;
    ssize_t second = http_parse_request(in + at, len - at, &req, NULL);
    TAP_EQ_INT(second, len - at, "pipelined: second head");
    TAP_OK(same_text(req.target, "/b"), "pipelined: second target");
}

/* ---- Responses ---- */

struct response_case {
    const char *name;
    const char *text;
    int head_request;
    size_t tail;
    int invalid;       /* 1: HTTP_ERROR expected */
    const char *facts; /* valid: describe_response; invalid: a word of the reason */
};

static struct outcome parse_response_case(const void *arg, const struct http_limits *limits,
                                          const char *buf, size_t len)
{
    const struct response_case *c = arg;
    struct http_response resp;
    struct outcome o;
    o.rc = http_parse_response(buf, len, &resp, c->head_request, limits);
    o.status = o.rc == HTTP_ERROR;
    return o;
}

static void check_response_case(const struct response_case *c)
{
    size_t len = strlen(c->text);
    const char *in = guard_place(c->text, len);
    struct http_response resp;
    char facts[512];
    ssize_t rc = http_parse_response(in, len, &resp, c->head_request, NULL);
    if (c->invalid) {
        TAP_OK(rc == HTTP_ERROR && strstr(resp.error, c->facts),
               "response %s: error \"%s\" mentions %s", c->name, resp.error ? resp.error : "",
               c->facts);
    } else {
        TAP_EQ_INT(rc, len - c->tail, "response %s: head length", c->name);
        if (rc > 0)
            TAP_EQ_STR(describe_response(&resp, facts, sizeof facts), c->facts,
                       "response %s: facts", c->name);
    }
    ssize_t head = c->invalid ? HTTP_ERROR : (ssize_t)(len - c->tail);
    TAP_OK(prefixes_behave(parse_response_case, c, NULL, c->text, len, head, 1),
           "response %s: every prefix", c->name);
}

static const struct response_case response_cases[] = {
    {"200 with length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 5, 0,
     "HTTP/1.1 200 \"OK\" headers=1 cl=5 body=length ka=1 upgrade=0"},
    {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 5, 0,
     "HTTP/1.1 200 \"OK\" headers=1 cl=-1 body=chunked ka=1 upgrade=0"},
    {"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, 0, 0,
     "HTTP/1.1 200 \"OK\" headers=1 cl=-1 body=chunked ka=1 upgrade=0"},
    {"final coding not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 0, 0,
     "HTTP/1.1 200 \"OK\" headers=1 cl=-1 body=until-close ka=0 upgrade=0"},
    {"no framing: until close", "HTTP/1.1 200 OK\r\n\r\nbody", 0, 4, 0,
     "HTTP/1.1 200 \"OK\" headers=0 cl=-1 body=until-close ka=0 upgrade=0"},
    {"HTTP/1.0 keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", 0, 0, 0,
     "HTTP/1.0 200 \"OK\" headers=2 cl=2 body=length ka=1 upgrade=0"},
    {"HTTP/1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", 0, 0, 0,
     "HTTP/1.0 200 \"OK\" headers=1 cl=2 body=length ka=0 upgrade=0"},
    {"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n", 0, 0,
     0, "HTTP/1.1 200 \"OK\" headers=2 cl=2 body=length ka=0 upgrade=0"},
    {"204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 0, 0, 0,
     "HTTP/1.1 204 \"No Content\" headers=1 cl=7 body=none ka=1 upgrade=0"},
    {"304 has no body", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 0,
     "HTTP/1.1 304 \"Not Modified\" headers=1 cl=-1 body=none ka=1 upgrade=0"},
    {"100 Continue", "HTTP/1.1 100 Continue\r\n\r\n", 0, 0, 0,
     "HTTP/1.1 100 \"Continue\" headers=0 cl=-1 body=none ka=1 upgrade=0"},
    {"101 Switching Protocols",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0, 0,
     0, "HTTP/1.1 101 \"Switching Protocols\" headers=2 cl=-1 body=none ka=1 upgrade=1"},
    {"answer to HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 1, 0, 0,
     "HTTP/1.1 200 \"OK\" headers=1 cl=1000 body=none ka=1 upgrade=0"},
    {"empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 0, 0, 0,
     "HTTP/1.1 404 \"\" headers=1 cl=0 body=length ka=1 upgrade=0"},
    {"no space, no reason", "HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n", 0, 0, 0,
     "HTTP/1.1 500 \"\" headers=1 cl=0 body=length ka=1 upgrade=0"},
    {"reason with spaces", "HTTP/1.1 404 Not  Found here\nContent-Length: 0\n\n", 0, 0, 0,
     "HTTP/1.1 404 \"Not  Found here\" headers=1 cl=0 body=length ka=1 upgrade=0"},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, 0, 1, "status"},
    {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, 1, "status"},
    {"status 600", "HTTP/1.1 600 Odd\r\n\r\n", 0, 0, 1, "status"},
    {"status 099", "HTTP/1.1 099 Odd\r\n\r\n", 0, 0, 1, "status"},
    {"HTTP/2", "HTTP/2 200 OK\r\n\r\n", 0, 0, 1, "version"},
    {"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", 0, 0, 1, "version"},
    {"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", 0, 0, 1, "version"},
    {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", 0, 0, 1, "reason"},
    {"both framings", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
     0, 0, 1, "Transfer-Encoding"},
    {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 0,
     0, 1, "conflicting"},
    {"obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", 0, 0, 1, "obs-fold"},
    {"chunked in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 1,
     "HTTP/1.0"},
};

/* ---- The chunked decoder ---- */

struct chunked_case {
    const char *name;
    const char *text;
    int rc;              /* HTTP_DONE, HTTP_INCOMPLETE or HTTP_ERROR */
    const char *payload; /* what comes out (for errors: before the error) */
    size_t tail;         /* bytes after the body, left unconsumed */
};

struct decoded {
    int rc;
    size_t used; /* bytes consumed in all */
    size_t len;  /* payload bytes */
    char payload[256];
    int slices_ok; /* every slice lay inside the piece it came from */
};

/* Runs the loop from the header over one piece of input, until the decoder finishes (done or
 * error) or has used the whole piece, collecting the payload in d. */
static void decode_piece(struct http_chunked *dec, const char *piece, size_t n, struct decoded *d)
{
    size_t at = 0;
    while (at < n && d->rc == HTTP_INCOMPLETE) {
        size_t used = 0;
        struct slice data;
        d->rc = http_chunked_decode(dec, piece + at, n - at, &used, &data);
        d->slices_ok &= used <= n - at && slice_inside(data, piece + at, used);
        if (d->len + data.len <= sizeof d->payload)
            memcpy(d->payload + d->len, data.ptr, data.len);
        d->len += data.len;
        at += used;
        d->used += used;
        if (used == 0 && d->rc == HTTP_INCOMPLETE) {
            d->slices_ok = 0; /* no progress: the contract promises at least one byte */
            break;
        }
    }
}

/* Decodes text in pieces of `step` bytes, each piece placed before the guard page. */
static void decode_in_steps(const char *text, size_t len, size_t step, struct decoded *d)
{
    struct http_chunked dec;
    http_chunked_init(&dec);
    memset(d, 0, sizeof *d);
    d->rc = HTTP_INCOMPLETE;
    d->slices_ok = 1;
    for (size_t at = 0; at < len && d->rc == HTTP_INCOMPLETE; at += step) {
        size_t n = len - at < step ? len - at : step;
        decode_piece(&dec, guard_place(text + at, n), n, d);
    }
}

static void check_decoded(const struct chunked_case *c, const struct decoded *d, const char *how)
{
    size_t len = strlen(c->text);
    TAP_EQ_INT(d->rc, c->rc, "chunked %s, %s: result", c->name, how);
    TAP_OK(d->slices_ok, "chunked %s, %s: slices inside the input", c->name, how);
    TAP_EQ_MEM(d->payload, d->len, c->payload, strlen(c->payload), "chunked %s, %s: payload",
               c->name, how);
    if (c->rc == HTTP_DONE)
        TAP_EQ_INT(d->used, len - c->tail, "chunked %s, %s: stops after the body", c->name, how);
}

static void check_chunked_case(const struct chunked_case *c)
{
    struct decoded d;
    size_t len = strlen(c->text);
    decode_in_steps(c->text, len, len ? len : 1, &d);
    check_decoded(c, &d, "whole");
    decode_in_steps(c->text, len, 1, &d);
    check_decoded(c, &d, "byte by byte");
}

static const struct chunked_case chunked_cases[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", HTTP_DONE, "hello", 0},
    {"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", HTTP_DONE, "hello world", 0},
    {"empty body", "0\r\n\r\n", HTTP_DONE, "", 0},
    {"hex sizes", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", HTTP_DONE,
     "0123456789abcdefghij", 0},
    {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", HTTP_DONE, "hello", 0},
    {"payload holding CRLFs", "4\r\n\r\n\r\n\r\n0\r\n\r\n", HTTP_DONE, "\r\n\r\n", 0},
    {"extensions", "5;name=value\r\nhello\r\n0;last\r\n\r\n", HTTP_DONE, "hello", 0},
    {"extension after whitespace", "5 \t;a=\"b c\"\r\nhello\r\n0\r\n\r\n", HTTP_DONE, "hello", 0},
    {"trailers", "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:42\r\n\r\n", HTTP_DONE, "hello", 0},
    {"stops at the body's end", "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", HTTP_DONE, "abc", 16},
    {"body not finished", "5\r\nhel", HTTP_INCOMPLETE, "hel", 0},
    {"largest size", "ffffffffffffffff\r\nabc", HTTP_INCOMPLETE, "abc", 0},
    {"size overflows", "ffffffffffffffffff\r\n", HTTP_ERROR, "", 0},
    {"size of 2^64", "10000000000000000\r\n", HTTP_ERROR, "", 0},
    {"not hex", "g\r\n", HTTP_ERROR, "", 0},
    {"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"negative size", "-5\r\nhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"empty size line", "\r\nhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"whitespace without extension", "5 \r\nhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"whitespace before size", " 5\r\nhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"bare LF after size", "5\nhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"CR without LF after size", "5\rhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"control in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", HTTP_ERROR, "", 0},
    {"no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", HTTP_ERROR, "hello", 0},
    {"data longer than its size", "3\r\nhello\r\n0\r\n\r\n", HTTP_ERROR, "hel", 0},
    {"bare LF after data", "5\r\nhello\n0\r\n\r\n", HTTP_ERROR, "hello", 0},
    {"trailer without name", "0\r\n: x\r\n\r\n", HTTP_ERROR, "", 0},
    {"trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n", HTTP_ERROR, "", 0},
    {"trailer with bare LF", "0\r\nA: b\nc\r\n\r\n", HTTP_ERROR, "", 0},
    {"final line not CRLF", "0\r\n\r\r", HTTP_ERROR, "", 0},
};

/* Extensions and trailers may not go on for ever. */
static void test_chunked_limits(void)
{
    struct chunked_case c = {"extension at the limit", big, HTTP_DONE, "", 0};
    build("0;", 'x', HTTP_CHUNKED_MAX_LINE - 2, "\r\n\r\n");
    check_chunked_case(&c);

    c.name = "extension past the limit";
    c.rc = HTTP_ERROR;
    build("0;", 'x', HTTP_CHUNKED_MAX_LINE - 1, "\r\n\r\n");
    check_chunked_case(&c);

    c.name = "trailers past the limit";
    build("0\r\nX: ", 'x', HTTP_CHUNKED_MAX_TRAILERS, "\r\n\r\n");
    check_chunked_case(&c);
}

/* An error stays: the stream can no longer be trusted. */
static void test_chunked_error_sticks(void)
{
    struct http_chunked dec;
    struct slice data;
    size_t used = 99;
    http_chunked_init(&dec);
    int rc = http_chunked_decode(&dec, "z", 1, &used, &data);
    TAP_OK(rc == HTTP_ERROR && dec.error != NULL, "chunked error has a reason (%s)",
           dec.error ? dec.error : "none");
    rc = http_chunked_decode(&dec, "0\r\n\r\n", 5, &used, &data);
    TAP_OK(rc == HTTP_ERROR && used == 0 && data.len == 0, "chunked error sticks");
}

/* The decoder can rebuild the payload in the buffer it reads from: each slice moves down to
 * where the payload so far ends. The framing bytes it skips make room. */
static void test_chunked_in_place(void)
{
    char buf[] = "5\r\nhello\r\n1\r\n \r\n5;x=y\r\nworld\r\n0\r\n\r\n";
    struct http_chunked dec;
    struct slice data;
    size_t len = strlen(buf), at = 0, out = 0, used;
    int rc = HTTP_INCOMPLETE;
    http_chunked_init(&dec);
    while (at < len && rc == HTTP_INCOMPLETE) {
        rc = http_chunked_decode(&dec, buf + at, len - at, &used, &data);
        memmove(buf + out, data.ptr, data.len);
        out += data.len;
        at += used;
    }
    TAP_OK(rc == HTTP_DONE && at == len, "in place: whole body read");
    TAP_EQ_MEM(buf, out, "hello world", 11, "in place: payload rebuilt at the front");
}

/* A chunked request followed by the next request in the same buffer. */
static void test_chunked_request_pipeline(void)
{
    static const char text[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t len = sizeof text - 1;
    struct http_request req;
    struct http_chunked dec;
    struct slice data;
    size_t used;
    ssize_t head = http_parse_request(text, len, &req, NULL);
    TAP_OK(head > 0 && req.chunked, "chunked pipeline: first head");
    http_chunked_init(&dec);
    size_t at = (size_t)head;
    int rc = http_chunked_decode(&dec, text + at, len - at, &used, &data);
    at += used;
    TAP_OK(rc == HTTP_INCOMPLETE && data.len == 3, "chunked pipeline: payload handed out");
    rc = http_chunked_decode(&dec, text + at, len - at, &used, &data);
    at += used;
    TAP_OK(rc == HTTP_DONE && data.len == 0, "chunked pipeline: body done");
    TAP_EQ_INT(http_parse_request(text + at, len - at, &req, NULL), len - at,
               "chunked pipeline: next request starts right after the body");
}

/* ---- Helpers ---- */

static void test_token_lists(void)
{
    static const struct {
        const char *value, *token;
        int has;
    } cases[] = {
        {"keep-alive, Upgrade", "upgrade", 1},
        {"keep-alive, Upgrade", "keep-alive", 1},
        {"keep-alive,Upgrade", "close", 0},
        {"  close  ", "close", 1},
        {"CLOSE", "close", 1},
        {",, close ,,", "close", 1},
        {"a ,\tb\t, c", "b", 1},
        {"closed", "close", 0},
        {"clos", "close", 0},
        {"keep-alive", "keep", 0},
        {"", "close", 0},
        {",", "close", 0},
        {"x-close", "close", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct slice v = lit(cases[i].value);
        int has =
            http_token_list_has((struct slice){guard_place(v.ptr, v.len), v.len}, cases[i].token);
        TAP_EQ_INT(has, cases[i].has, "token list \"%s\" has %s", cases[i].value, cases[i].token);
    }
    TAP_EQ_INT(http_token_list_has((struct slice){NULL, 0}, "close"), 0, "token list: empty");
}

static void test_header_find(void)
{
    static const char text[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                               "Accept: a\r\naccept: b\r\n\r\n";
    struct http_request req;
    http_parse_request(text, sizeof text - 1, &req, NULL);
    const struct http_header *h = http_header_find(&req, "content-type");
    TAP_OK(h && same_text(h->value, "text/plain"), "header find ignores case");
    h = http_header_find(&req, "ACCEPT");
    TAP_OK(h && same_text(h->value, "a"), "header find returns the first");
    TAP_OK(http_header_find(&req, "content-length") == NULL, "header find: absent");
    TAP_OK(http_header_find(&req, "content-typ") == NULL, "header find: no prefix match");

    struct http_response resp;
    static const char reply[] = "HTTP/1.1 200 OK\r\nServer: wirelab\r\n\r\n";
    http_parse_response(reply, sizeof reply - 1, &resp, 0, NULL);
    h = http_response_header_find(&resp, "server");
    TAP_OK(h && same_text(h->value, "wirelab"), "response header find");
}

static void test_status_text(void)
{
    TAP_EQ_STR(http_status_text(200), "OK", "status text 200");
    TAP_EQ_STR(http_status_text(404), "Not Found", "status text 404");
    TAP_EQ_STR(http_status_text(101), "Switching Protocols", "status text 101");
    TAP_EQ_STR(http_status_text(413), "Content Too Large", "status text 413");
    TAP_EQ_STR(http_status_text(414), "URI Too Long", "status text 414");
    TAP_EQ_STR(http_status_text(431), "Request Header Fields Too Large", "status text 431");
    TAP_EQ_STR(http_status_text(505), "HTTP Version Not Supported", "status text 505");
    TAP_EQ_STR(http_status_text(299), "", "status text unknown");
}

static void test_idempotent(void)
{
    static const struct {
        const char *method;
        int idempotent;
    } cases[] = {
        {"GET", 1},  {"HEAD", 1},  {"PUT", 1},     {"DELETE", 1}, {"OPTIONS", 1}, {"TRACE", 1},
        {"POST", 0}, {"PATCH", 0}, {"CONNECT", 0}, {"get", 0},    {"GE", 0},      {"GETS", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TAP_EQ_INT(http_method_is_idempotent(lit(cases[i].method)), cases[i].idempotent,
                   "%s idempotent", cases[i].method);
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof request_cases / sizeof request_cases[0]; i++)
        check_request_case(&request_cases[i], NULL);
    test_uri_limit();
    test_header_limit();
    test_header_count();
    test_custom_limits();
    test_empty_input();
    test_pipelining();
    for (size_t i = 0; i < sizeof response_cases / sizeof response_cases[0]; i++)
        check_response_case(&response_cases[i]);
    for (size_t i = 0; i < sizeof chunked_cases / sizeof chunked_cases[0]; i++)
        check_chunked_case(&chunked_cases[i]);
    test_chunked_limits();
    test_chunked_error_sticks();
    test_chunked_in_place();
    test_chunked_request_pipeline();
    test_token_lists();
    test_header_find();
    test_status_text();
    test_idempotent();
    guard_release();
    return tap_done();
}
