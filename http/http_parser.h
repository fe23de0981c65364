/* http_parser.h - HTTP/1.1 message heads and chunked bodies, parsed without a socket.
 *
 * This module shows how a server and a client read HTTP/1.1 (RFC 9110, RFC 9112) from a TCP
 * byte stream that splits and joins messages wherever it likes. The parsers never read from a
 * socket and never allocate: you hand them the bytes you have, they fill slices that point into
 * those bytes, and they answer one of three things:
 *
 *   n > 0             the head is complete and is the first n bytes; the body (if any) and the
 *                     next pipelined request start at buf + n
 *   HTTP_INCOMPLETE   every byte so far is fine, but the head has not ended: read more, then
 *                     call again with all the bytes (the parser keeps no state between calls)
 *   HTTP_ERROR        the bytes can never become a valid head; the struct says which status
 *                     to answer (400, 414, 431, 501, 505) and gives a one-line reason
 *
 * A request body is then read by its framing: Content-Length bytes, or the chunked coding,
 * which http_chunked_decode takes apart incrementally, one byte at a time if need be.
 *
 * Choices where the RFCs leave one to the recipient:
 *  - A bare LF ends a line as CRLF does (RFC 9112 §2.2 allows it). People type requests into
 *    `nc`, which sends LF alone, and this toolkit wants that to work. A CR that is not followed
 *    by LF is always an error. The chunked framing, however, must use CRLF exactly: that is
 *    where disagreements between two parsers turn into request smuggling, and no one types it.
 *  - Repeated Content-Length values are accepted when they are all the same number, whether as
 *    separate field lines or as a list such as `5, 5` (RFC 9110 §8.6 allows it); different
 *    values, an empty value or an empty list element are a 400.
 *  - obs-fold (a field line starting with SP or HTAB) and whitespace before the colon are
 *    rejected with 400, as RFC 9112 §5.1 and §5.2 allow or require.
 *  - Empty lines before a request line are skipped (RFC 9112 §2.2): some clients send an extra
 *    CRLF after a body.
 *  - The request target may hold any byte but controls, DEL and space: non-ASCII bytes cannot
 *    break the framing, so they are left to the application to judge.
 *  - Only HTTP/1.0 and HTTP/1.1 are served; any other well-formed version is a 505. RFC 9110
 *    §2.5 suggests treating an unknown HTTP/1.x as 1.1, but no such version exists, and a
 *    student sending one should see it refused.
 *  - Transfer-Encoding in an HTTP/1.0 message is refused (RFC 9112 §6.1 calls its framing
 *    faulty), and so is a response with both Content-Length and Transfer-Encoding: RFC 9112
 *    §6.3 lets Transfer-Encoding win, but such a response is more likely an attack than a
 *    server's honest mistake.
 *
 * Try it: `./build/default/tests/test_http_parser` runs every rule on messages fed whole and
 * split at every byte; `./bin/http-server -v` prints each request as this parser saw it, e.g.
 * for `printf 'GET /hi HTTP/1.1\nHost: x\n\n' | nc 127.0.0.1 8000`.
 */
#ifndef WIRELAB_HTTP_PARSER_H
#define WIRELAB_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* What the parsers and the chunked decoder return (besides a positive length). */
enum {
    HTTP_DONE = 0,        /* the chunked decoder read the whole body */
    HTTP_ERROR = -1,      /* invalid input; the reason is in the struct */
    HTTP_INCOMPLETE = -2, /* valid so far; more bytes are needed */
};

/* How many field lines a head may carry; one more is a 431. */
#define HTTP_MAX_HEADERS 64

/* The defaults of --max-header-size (Node's) and --max-uri (CONVENTIONS.md). */
#define HTTP_DEFAULT_MAX_HEADER_SIZE 16384
#define HTTP_DEFAULT_MAX_URI 8192

/* Limits for the head parsers. A zero field means its default; a NULL pointer means all
 * defaults. Both limits are enforced while the head is still arriving, so a peer that sends an
 * endless line is refused as soon as it crosses the limit, not when the line ends. */
struct http_limits {
    size_t max_header_size; /* the whole head: start line, field lines, empty line (431) */
    size_t max_uri;         /* the request target (414) */
};

/* One field line; name and value point into the caller's buffer. The value has no leading or
 * trailing whitespace. Names keep the case they arrived in: compare them case-insensitively. */
struct http_header {
    struct slice name;
    struct slice value;
};

/* How the body that follows a head is delimited (RFC 9112 §6.3). */
enum http_body {
    HTTP_BODY_NONE,        /* no body at all */
    HTTP_BODY_LENGTH,      /* exactly content_length bytes (which may be 0) */
    HTTP_BODY_CHUNKED,     /* the chunked coding: use http_chunked_decode */
    HTTP_BODY_UNTIL_CLOSE, /* responses only: everything until the server closes */
};

struct http_request {
    struct slice method; /* case-sensitive token: "GET" */
    struct slice target; /* as sent: "/path?query", "*", "host:443", "http://host/" */
    int version_minor;   /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;

    /* Facts the parser derives once from the fields, so no one parses them twice. */
    int64_t content_length; /* the Content-Length value, or -1 when absent */
    int chunked;            /* Transfer-Encoding: chunked (the only coding we accept) */
    enum http_body body;    /* NONE, LENGTH or CHUNKED for a request */
    int keep_alive;         /* the connection may carry another request after this one */
    int upgrade;            /* HTTP/1.1, Connection lists "upgrade", and Upgrade is present */
    int expect_continue;    /* an HTTP/1.1 client waits for "100 Continue" before the body */
    int has_host;           /* a Host field is present (required in HTTP/1.1) */

    /* Set when HTTP_ERROR is returned. */
    int error_status;  /* the status to answer: 400, 414, 431, 501 or 505 */
    const char *error; /* a static one-line reason, for the 400 body and the trace */
};

struct http_response {
    int version_minor;   /* 0 or 1 */
    int status;          /* 100..599 */
    struct slice reason; /* the reason phrase, possibly empty */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;

    int64_t content_length; /* the Content-Length value, or -1 when absent */
    int chunked;            /* the body uses the chunked coding */
    enum http_body body;    /* how to read the body; NONE for 1xx, 204, 304 and HEAD */
    int keep_alive;         /* the connection may be reused after this response */
    int upgrade;            /* 101 Switching Protocols: the connection now speaks another
                               protocol, starting right after the head */

    const char *error; /* set when HTTP_ERROR is returned */
};

/* Parses the request head at the start of buf[0, len). Returns the head's length (> 0),
 * HTTP_INCOMPLETE or HTTP_ERROR, as the top of this file describes; on HTTP_ERROR,
 * req->error_status and req->error say why. Never reads outside buf[0, len) (buf may be NULL
 * when len is 0) and keeps no pointer to buf except the slices it fills, which are valid as
 * long as the bytes are.
 * Nothing in req but the error fields is meaningful after a negative return.
 * limits may be NULL for the defaults. */
ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req,
                           const struct http_limits *limits);

/* Parses a response head the same way. head_request says the response answers a HEAD
 * request, which has no body whatever its fields announce. On HTTP_ERROR, resp->error says why
 * (a client reports it; a proxy would answer 502). limits may be NULL; max_uri is not used. */
ssize_t http_parse_response(const char *buf, size_t len, struct http_response *resp,
                            int head_request, const struct http_limits *limits);

/* Finds the first field named name (case-insensitively: "content-type" finds "Content-Type").
 * Returns NULL when there is none. Fields that may repeat (Connection, Cache-Control, ...) can
 * be walked through headers[0, num_headers) instead. */
const struct http_header *http_header_find(const struct http_request *req, const char *name);
const struct http_header *http_response_header_find(const struct http_response *resp,
                                                    const char *name);

/* Whether a comma-separated list value (RFC 9110 §5.6.1) contains token, compared
 * case-insensitively and ignoring whitespace around the elements and empty elements:
 * http_token_list_has("keep-alive, Upgrade", "upgrade") is 1. */
int http_token_list_has(struct slice value, const char *token);

/* The reason phrase RFC 9110 §15 gives a status: http_status_text(404) is "Not Found".
 * Returns "" for a code it does not know, which still makes a valid status line. */
const char *http_status_text(int status);

/* Whether a request with this method may be sent again after the connection failed before the
 * response came (RFC 9110 §9.2.2): GET, HEAD, PUT, DELETE, OPTIONS and TRACE. Methods are
 * case-sensitive, so "get" is not idempotent (it is not GET). */
int http_method_is_idempotent(struct slice method);

/* ---- The chunked transfer coding (RFC 9112 §7.1) ----
 *
 *   chunk-size [; extensions] CRLF  data CRLF   ...   0 CRLF  [trailer fields CRLF]  CRLF
 *
 * The decoder is a state machine that remembers where it is between calls, so the body may
 * arrive in pieces of any size. It never copies: each call hands out at most one run of payload
 * bytes as a slice into the input. Extensions and trailer fields are checked and skipped;
 * each is bounded so that a peer cannot make us read forever without payload. */

/* The longest chunk-size line (size and extensions) and trailer section accepted. */
#define HTTP_CHUNKED_MAX_LINE 4096
#define HTTP_CHUNKED_MAX_TRAILERS 16384

struct http_chunked {
    /* Private to the decoder. */
    int state;
    uint64_t remaining; /* the chunk size being read, then its payload bytes still to come */
    size_t line_len;    /* bytes so far in the current chunk-size line */
    size_t trailer_len; /* bytes so far in the trailer section */

    const char *error; /* a static one-line reason, once HTTP_ERROR has been returned */
};

/* Prepares a decoder for the start of a body. */
void http_chunked_init(struct http_chunked *dec);

/* Decodes from in[0, len). Sets *consumed to the bytes used and *data to the payload found
 * (a slice into in, possibly empty). Stops at the end of the input, at the end of a run of
 * payload (so that the caller can deliver it), or at the end of the body. Returns:
 *
 *   HTTP_DONE         the body ended; in + *consumed is the first byte after it
 *   HTTP_INCOMPLETE   the body goes on; call again with in + *consumed if *consumed < len,
 *                     otherwise when more bytes arrive
 *   HTTP_ERROR        invalid framing; dec->error says why. Every later call returns
 *                     HTTP_ERROR again with *consumed 0.
 *
 * A call with len > 0 that returns HTTP_INCOMPLETE always consumes at least one byte, so the
 * usual loop terminates:
 *
 *   int rc = HTTP_INCOMPLETE;
 *   while (len > 0 && rc == HTTP_INCOMPLETE) {
 *       rc = http_chunked_decode(&dec, in, len, &used, &data);
 *       deliver(data.ptr, data.len);
 *       in += used, len -= used;
 *   }
 *
 * To decode in place, move each slice down to where the previous one ended. */
int http_chunked_decode(struct http_chunked *dec, const char *in, size_t len, size_t *consumed,
                        struct slice *data);

#endif
