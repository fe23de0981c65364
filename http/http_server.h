/* http_server.h - an HTTP/1.1 server in Node's shape: a request handler, and a response you
 * answer through write_head / write / end.
 *
 *   static void hello(struct http_server *srv, const struct http_request *req,
 *                     struct http_res *res)
 *   {
 *       http_res_set_header(res, "Content-Type", "text/plain");
 *       http_res_end(res, "hello world", 11);
 *   }
 *
 * What the library does so a handler need not:
 *  - reads requests from the byte stream however they are split or joined, one at a time, and
 *    answers pipelined requests in order;
 *  - frames the response: Content-Length when the body is known at end, chunked when the
 *    handler writes in pieces (close-delimited for an HTTP/1.0 client), nothing for HEAD, 1xx,
 *    204 and 304; adds Date and Connection;
 *  - reads the request body (Content-Length or chunked) and hands it to the handler's body
 *    callback, or reads and drops it when the handler does not want it, so the next request on
 *    the connection starts at the right byte;
 *  - keeps connections alive (HTTP/1.1 by default, HTTP/1.0 on request) and closes them after
 *    --keep-alive-timeout of idleness;
 *  - answers bad requests itself (400, 413, 414, 431, 501, 505) and closes only that
 *    connection; cuts off a client that sends its head too slowly (408, slowloris);
 *  - on shutdown, stops accepting, lets responses in progress finish, closes idle connections.
 *
 * Events (Node's names), as callbacks in struct http_server:
 *   connection      on_connection: a TCP connection was accepted (it may carry many requests)
 *   request         on_request: a request head arrived; answer through res
 *   checkContinue   on_check_continue: the request has "Expect: 100-continue". NULL: the
 *                   server sends "100 Continue" and calls on_request
 *   connect         on_connect: a CONNECT request. NULL: 405 and close
 *   upgrade         on_upgrade: a request with "Connection: upgrade". NULL: it is an ordinary
 *                   request. The stream is handed over, with the bytes after the head
 *   clientError     on_client_error: a request was invalid. NULL: the status and a one-line
 *                   reason, then close
 *   close           on_close: the server has stopped and the last connection has gone
 *
 * Lifetimes: the request a handler sees (method, target, headers) points into the connection's
 * input and is valid only during the call; copy what you need later. res is valid until its
 * close callback (http_res_on_close) has been called: the response finished and was flushed,
 * or the client went away. A handler that answers later (long polling, server push) must stop
 * using res when that callback comes.
 */
#ifndef WIRELAB_HTTP_SERVER_H
#define WIRELAB_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "http_parser.h"
#include "loop.h"
#include "server.h"
#include "stream.h"

struct http_server;
struct http_res;

typedef void http_request_fn(struct http_server *srv, const struct http_request *req,
                             struct http_res *res);
/* Hands a stream over (upgrade, connect): head is the request head's bytes; any bytes that
 * followed it are still in the stream and reach the new on_data at the next turn. The
 * callback must set the stream's callbacks (on_data, on_close, ...) or destroy it. */
typedef void http_takeover_fn(struct http_server *srv, const struct http_request *req,
                              struct stream *s);
typedef void http_client_error_fn(struct http_server *srv, struct stream *s, int status,
                                  const char *reason);
typedef void http_connection_fn(struct http_server *srv, struct stream *s);
typedef void http_server_close_fn(struct http_server *srv);

typedef void http_body_fn(struct http_res *res, const char *data, size_t len);
typedef void http_res_fn(struct http_res *res);

/* Limits and timeouts, in Node's names. Zero means the default given here. */
struct http_server_config {
    uint64_t headers_timeout_ms;    /* 60000: the head must arrive within this (408) */
    uint64_t request_timeout_ms;    /* 300000: the whole request, body included (408) */
    uint64_t keep_alive_timeout_ms; /* 5000: idle time between requests before closing */
    uint64_t socket_timeout_ms;     /* 0 = off: any connection idle this long is closed */
    size_t max_header_size;         /* 16384 (431) */
    size_t max_uri;                 /* 8192 (414) */
    uint64_t max_body;              /* 1 MiB (413) */
    size_t max_connections;         /* 0 = no limit */
};

struct http_server {
    struct server tcp; /* the listening socket and the open connections */
    struct http_server_config cfg;

    http_request_fn *on_request;
    http_request_fn *on_check_continue;
    http_takeover_fn *on_connect;
    http_takeover_fn *on_upgrade;
    http_client_error_fn *on_client_error;
    http_connection_fn *on_connection;
    http_server_close_fn *on_close;
    void *user;

    int trace_heads; /* -v: print each request head as parsed and each response head */

    /* Private to http_server.c. */
    int shutting_down;
    unsigned long requests;
};

/* Fills cfg with the defaults above and clears the callbacks. */
void http_server_init(struct http_server *srv);

/* Listens on host:port (0: any free port) and starts serving. Returns 0, or -1 with a
 * one-line err. */
int http_server_listen(struct http_server *srv, struct loop *loop, const char *host, int port,
                       char err[NET_ERR_LEN]);

/* Graceful shutdown: stop accepting, close idle connections, let responses in progress
 * finish (each then closes its connection), destroy what is left after grace_ms. on_close
 * follows when nothing is left. A second call closes everything at once. */
void http_server_shutdown(struct http_server *srv, uint64_t grace_ms);

/* ---- the response ---- */

/* Adds a header line to the response head (before the head is sent; ignored after). Content-
 * Length set here is trusted as the body's length; Connection: close closes the connection
 * after the response. Date, Connection and the framing are added by the server. */
void http_res_set_header(struct http_res *res, const char *name, const char *value);

/* Sets the status and sends the head now, with the headers set so far. Without a
 * Content-Length header, the body is sent chunked (HTTP/1.1) or ends with the connection. */
void http_res_write_head(struct http_res *res, int status);

/* Sets the status sent by a later write or end (200 by default). */
void http_res_status(struct http_res *res, int status);

/* Sends a piece of the body (the head first if not yet sent). Returns 1 if the handler may go
 * on writing, 0 if it should wait for the drain callback (back-pressure). */
int http_res_write(struct http_res *res, const void *data, size_t len);

/* Sends data (may be NULL/0) as the last of the body and finishes the response. If the head
 * has not been sent, the body's length is known now: it goes out with Content-Length. */
void http_res_end(struct http_res *res, const void *data, size_t len);

/* Sends "HTTP/1.1 100 Continue" (from on_check_continue, to accept the body). */
void http_res_write_continue(struct http_res *res);

/* Wants the request body: on_body gets each piece as it arrives (already de-chunked),
 * on_end once it is complete (for a request without a body, as soon as the request handler
 * returns). Either may be NULL. Without this call the body is read and dropped. A body that
 * breaks its framing or grows past max_body gets the server's 400 / 413 if the response has
 * not begun, and closes the connection otherwise; on_end never comes then. */
void http_res_on_body(struct http_res *res, http_body_fn *on_body, http_res_fn *on_end);

/* Called when the response can take more after http_res_write returned 0. */
void http_res_on_drain(struct http_res *res, http_res_fn *on_drain);

/* Called once when res ends its life: the response was sent, or the client went away first
 * (check http_res_finished). Stop timers that would write to res here. */
void http_res_on_close(struct http_res *res, http_res_fn *on_close);

/* The handler's own pointer for this response. */
void http_res_set_user(struct http_res *res, void *user);
void *http_res_user(const struct http_res *res);

/* Whether http_res_end has been called. */
int http_res_finished(const struct http_res *res);

/* The connection carrying this response (for its peer address and trace id). */
struct stream *http_res_stream(const struct http_res *res);

/* The server this response belongs to. */
struct http_server *http_res_server(const struct http_res *res);

/* Formats the current time as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), cached
 * for the second. */
const char *http_date_now(void);

/* Formats t as an IMF-fixdate into out (30 bytes at least). */
void http_date_format(long long t, char out[32]);

#endif
