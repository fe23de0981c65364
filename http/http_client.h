/* http_client.h - Node's http.request(options) and http.Agent in C: an HTTP/1.1 client with a
 * pool of keep-alive connections.
 *
 * A request is a head and perhaps a body, written to a TCP connection; the answer is a response
 * head, read with http_parse_response however the bytes arrive, then a body framed by
 * Content-Length, by the chunked coding, or by the server closing the connection (RFC 9112 §6).
 * Every request goes through an agent, as in Node (whose default is http.globalAgent). The agent
 * keeps a pool of connections per origin (host:port):
 *
 *   - at most max_sockets connections per origin are open at once; further requests wait in a
 *     queue and are sent, in the order they were made, as connections become free;
 *   - with keep_alive, a connection whose response ended cleanly goes back to the pool and the
 *     next request to that origin reuses it instead of opening another (no new handshake);
 *   - an idle connection the server closes is noticed (its end or close arrives while it is in
 *     the pool) and dropped; one left idle for free_socket_timeout_ms is closed by us. That
 *     timeout is shorter than a typical server's keep-alive timeout (Node's is 5000 ms), so we
 *     close first and a request is rarely sent on a connection the server is closing;
 *   - rarely is not never: if a request fails on a reused connection before any byte of its
 *     response came back, and its method is idempotent (RFC 9110 §9.2.2), it is sent once more
 *     on a new connection. A POST is not: the server may have acted on it.
 *
 * The document's Node allowed 5 connections per origin, and its example misspells the option as
 * `maxSochets`, which Node silently ignores. Here the options are struct fields, so the same
 * typo (`.max_sochets = 10`) does not compile, and http-client's `--max-sochets` is a usage error.
 *
 * Events, in Node's names and order (each a function pointer in struct http_client_events; any
 * may be NULL):
 *
 *   on_socket(req, s, reused)    a connection was assigned: new (still connecting) or reused
 *                                from the pool. Again if the request is retried.
 *   on_continue(req)             the server answered "100 Continue" to expect_continue
 *   on_response(req, resp)       the final response head. resp and the slices in it point into
 *                                the connection's buffer: valid only during the call
 *   on_data(req, data, len)      a piece of the response body (already de-chunked)
 *   on_end(req)                  the response body is complete
 *   on_upgrade(req, resp, s, head, len)  101 Switching Protocols to a request that asked for an
 *                                Upgrade: the stream is now the caller's (set its callbacks and
 *                                s->user), and head[0, len) are bytes that came after the
 *                                response head: the first bytes of the new protocol
 *   on_connect(req, resp, s, head, len)  a 2xx answer to CONNECT: the same hand-over, of a tunnel
 *   on_drain(req)                a write that returned 0 has been flushed: write more
 *   on_error(req, err, message)  the request failed: err is an errno value (ECONNREFUSED,
 *                                ETIMEDOUT, ECONNRESET, EPROTO for a response we cannot parse,
 *                                ECANCELED when the agent was destroyed, or a resolver failure:
 *                                EHOSTUNREACH) and message one line: "connect 127.0.0.1:8000:
 *                                Connection refused"
 *   on_close(req)                always, exactly once, last. The request is freed when it
 *                                returns: do not use req afterwards
 *
 * Exactly one of on_end, on_upgrade, on_connect and on_error comes before on_close, unless the
 * request was aborted (then only on_close).
 *
 * Try it: ./bin/http-client -v http://127.0.0.1:8000/ against ./bin/http-server, and
 * ./bin/http-client --repeat 20 --parallel 4 --keep-alive --max-sockets 2 URL to watch the pool.
 */
#ifndef WIRELAB_HTTP_CLIENT_H
#define WIRELAB_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http_parser.h"
#include "loop.h"
#include "stream.h"

#define HTTP_CLIENT_ERR_LEN 256

/* Node's defaults as the document describes them (see the top of this file). */
#define HTTP_AGENT_DEFAULT_MAX_SOCKETS 5
#define HTTP_AGENT_DEFAULT_MAX_FREE_SOCKETS 256
#define HTTP_AGENT_DEFAULT_FREE_SOCKET_TIMEOUT 4000
/* How long an expect_continue request waits for "100 Continue" before sending its body anyway:
 * a server that ignores Expect never answers 100 (curl waits 1 s too). */
#define HTTP_CLIENT_DEFAULT_CONTINUE_TIMEOUT 1000

struct http_agent;
struct http_client_request;
struct tls_ctx;

/* ---- The agent ---- */

struct http_agent_options {
    int keep_alive;                  /* 1: return finished connections to the pool (Node's
                                        keepAlive); 0: one connection per request, closed after */
    size_t max_sockets;              /* connections per origin at once; 0 = no limit */
    size_t max_free_sockets;         /* idle connections kept per origin */
    uint64_t free_socket_timeout_ms; /* close an idle pooled connection after this long */
    struct tls_ctx *tls;             /* set: every connection speaks TLS (Node's https.Agent),
                                        checked against the request's host (tls.h) */
};

/* What an agent has done, so that a program can show the pool at work. */
struct http_agent_stats {
    unsigned long connections_opened; /* connections that finished connecting */
    unsigned long requests_sent;      /* request heads written (a retried request counts twice) */
    unsigned long reused;             /* requests put on a connection that had carried one */
    unsigned long retried;            /* requests sent again after a reused connection failed */
};

/* Fills o with the defaults above and keep_alive 0. */
void http_agent_options_init(struct http_agent_options *o);

/* A new agent on loop; opts NULL means the defaults. Out of memory aborts. */
struct http_agent *http_agent_new(struct loop *loop, const struct http_agent_options *opts);

void http_agent_stats(const struct http_agent *a, struct http_agent_stats *out);

/* Frees the agent: idle connections are closed, and requests still queued or in flight fail
 * with ECANCELED (their on_error and on_close come from the loop, later). Call it when the
 * program has no more requests to make, typically in the last one's on_close: pooled
 * connections otherwise keep the loop running until free_socket_timeout_ms. Closing streams
 * finish on later turns, so run the loop until it returns before freeing the loop. */
void http_agent_destroy(struct http_agent *a);

/* ---- Requests ---- */

struct http_client_header {
    const char *name;
    const char *value;
};

struct http_client_options {
    const char *host;   /* name or address; an IPv6 literal without brackets: "::1" */
    int port;           /* 0 means 80 */
    int default_port;   /* the scheme's port, left out of Host: 443 for https; 0 means 80 */
    const char *method; /* NULL means "GET"; case-sensitive, as RFC 9110 says */
    const char *path;   /* the request target, NULL means "/": "/a?b=1", or "host:443" for
                           CONNECT */
    const struct http_client_header *headers; /* sent as given, in this order */
    size_t num_headers;
    const char *auth; /* "user:password": sent as "Authorization: Basic <base64>" */
    /* Send "Expect: 100-continue" and hold the body back until the server says 100 Continue
     * (or continue_timeout_ms passes, 0 meaning HTTP_CLIENT_DEFAULT_CONTINUE_TIMEOUT). If a
     * final status comes instead, the body is never sent. */
    int expect_continue;
    uint64_t continue_timeout_ms;
    /* Fail with ETIMEDOUT when the connection is idle this long while the request uses it
     * (connecting included); 0 = never. */
    uint64_t timeout_ms;
};

typedef void http_client_event_fn(struct http_client_request *req);
typedef void http_client_socket_fn(struct http_client_request *req, struct stream *s, int reused);
typedef void http_client_response_fn(struct http_client_request *req,
                                     const struct http_response *resp);
typedef void http_client_data_fn(struct http_client_request *req, const char *data, size_t len);
typedef void http_client_takeover_fn(struct http_client_request *req,
                                     const struct http_response *resp, struct stream *s,
                                     const char *head, size_t len);
typedef void http_client_error_fn(struct http_client_request *req, int err, const char *message);

struct http_client_events {
    http_client_socket_fn *on_socket;
    http_client_event_fn *on_continue;
    http_client_response_fn *on_response;
    http_client_data_fn *on_data;
    http_client_event_fn *on_end;
    http_client_takeover_fn *on_upgrade;
    http_client_takeover_fn *on_connect;
    http_client_event_fn *on_drain;
    http_client_error_fn *on_error;
    http_client_event_fn *on_close;
};

/* Starts a request (Node's http.request): checks the options, copies what it needs of them,
 * and queues the request on the agent; a connection is assigned from the loop, so no event
 * comes before this returns. events is copied; user is handed back by http_client_user.
 * Returns NULL with a one-line err for options that would make an invalid message (a header
 * value with CR or LF, a method that is not a token, ...).
 *
 * The head is sent once the body's framing is known, which is at the first of:
 *   http_client_end before any write   the whole body is known: Content-Length (left out when
 *                                      there is no body and the method does not expect one)
 *   http_client_write                  more may follow: Transfer-Encoding: chunked
 *   a connection, with expect_continue the head must go first: chunked, unless ended already
 * A Content-Length or Transfer-Encoding among the caller's headers is respected instead: the
 * body is then sent as written (and chunk-encoded if the caller's Transfer-Encoding ends with
 * chunked). Like Node, nothing is sent until then: a request without http_client_end waits. */
struct http_client_request *http_client_request(struct http_agent *agent,
                                                const struct http_client_options *opts,
                                                const struct http_client_events *events, void *user,
                                                char err[HTTP_CLIENT_ERR_LEN]);

/* Writes a piece of the request body. Returns 1 if the caller may go on writing, 0 if it should
 * wait for on_drain (bytes are queued either way). Bytes written after the response came, for
 * a body the server did not want, are dropped. */
int http_client_write(struct http_client_request *req, const void *data, size_t len);

/* Ends the request, after writing data[0, len) if len > 0. */
void http_client_end(struct http_client_request *req, const void *data, size_t len);

/* Gives up on the request: its connection (if any) is closed, not reused. on_close follows
 * from the loop; no other event does. */
void http_client_abort(struct http_client_request *req);

void *http_client_user(const struct http_client_request *req);

/* ---- Pure helpers: no sockets, testable on their own ---- */

/* Checks that the options make a valid request head (RFC 9110 §5.1, §5.5, §9.1): a token
 * method, header names that are tokens, values and target without CR, LF or other controls.
 * Returns 0, or -1 with a one-line err. */
int http_client_check_options(const struct http_client_options *opts,
                              char err[HTTP_CLIENT_ERR_LEN]);

/* How the request body is framed in the head. */
enum http_client_framing {
    HTTP_CLIENT_NO_BODY, /* no framing field: no body */
    HTTP_CLIENT_LENGTH,  /* Content-Length: length */
    HTTP_CLIENT_CHUNKED, /* Transfer-Encoding: chunked */
};

/* Appends the whole request head for opts (checked already) to out: the request line, Host
 * (with the port unless it is 80; IPv6 in brackets) unless the caller gives one, the caller's
 * headers, Authorization for auth, Connection (keep-alive when pooled, otherwise close) unless
 * the caller gives one, Expect for expect_continue, the framing field unless the caller gives
 * Content-Length or Transfer-Encoding, and the empty line. */
void http_client_format_head(struct buf *out, const struct http_client_options *opts,
                             int keep_alive, enum http_client_framing framing, uint64_t length);

/* Appends "Basic " and the base64 of user_pass (RFC 7617): "Aladdin:open sesame" becomes
 * "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==". */
void http_client_basic_auth(struct buf *out, const char *user_pass);

/* A URL taken apart (RFC 3986 §3): http://user:pw@host:port/path?query#fragment.
 * Slices point into the string given to http_url_parse. */
struct http_url {
    struct slice scheme;   /* "http" or "https", as written (compare case-insensitively) */
    struct slice userinfo; /* "user:pw", still percent-encoded; empty when absent */
    struct slice host;     /* "example.com", "127.0.0.1", or "::1" without its brackets */
    int port;              /* as given, else 80 for http and 443 for https */
    struct slice path;     /* "/path", empty when the URL has none (the target is then "/") */
    struct slice query;    /* "?a=1" with its '?', empty when absent; the fragment is dropped,
                              since it is never sent */
};

/* Parses url. A URL without "scheme://" is taken as http, as curl does. Returns 0, or -1 with
 * *err set to a static one-line reason ("unsupported scheme", "bad port", ...). */
int http_url_parse(const char *url, struct http_url *u, const char **err);

/* Appends the request target for u: its path (or "/") and its query. */
void http_url_target(const struct http_url *u, struct buf *out);

#endif
