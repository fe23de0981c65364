/* http_server.c - HTTP/1.1 on a stream: one place that reads, parses, acts and consumes.
 *
 * Each connection moves through a few phases:
 *
 *   IDLE  --first byte-->  HEAD  --head parsed-->  BODY  --body read-->  RESPOND
 *     ^                                                                     |
 *     +------------------- response ended, keep-alive ----------------------+
 *
 * conn_on_data() is the only function that takes bytes from the stream. It parses as many
 * requests as are complete, and stops at the first that is not, or at a request whose
 * response is still being written: then it pauses reading, and the bytes of the next
 * (pipelined) request wait in the stream's buffer until the response ends. That is how
 * pipelined requests are answered in order with no queue of our own.
 *
 * Try it: ./bin/http-server -v, then curl -v http://127.0.0.1:8000/ or, by hand,
 *   printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n' | nc 127.0.0.1
 * 8000
 */
#include "http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "trace.h"

/* How long a connection we are closing may take to close its side after our FIN. */
#define CLOSE_GRACE_MS 5000

enum phase {
    PH_IDLE,    /* between requests: nothing of the next one has arrived */
    PH_HEAD,    /* part of a head has arrived */
    PH_BODY,    /* reading the request body */
    PH_RESPOND, /* the request is read; waiting for the handler to end the response */
    PH_CLOSING, /* the connection will close once its output is written */
};

struct http_res {
    struct http_conn *conn;
    int status;
    struct buf headers;     /* header lines set by the handler, until the head is sent */
    int64_t content_length; /* set by the handler, or -1 */
    int head_sent, finished;
    int chunked;     /* the body goes out in chunks */
    int until_close; /* HTTP/1.0 client, unknown length: the body ends with the connection */
    int no_body;     /* HEAD request, or a status that has no body */
    int head_request;
    int keep_alive;
    int client_close; /* the request asked for the close (Connection: close, or 1.0) */
    int version_minor;
    int expect_continue, continue_sent;
    http_body_fn *on_body;
    http_res_fn *on_body_end, *on_drain, *on_close;
    void *user;
};

struct http_conn {
    struct http_server *srv;
    struct stream *s;
    enum phase phase;
    int served;              /* requests answered on this connection */
    int in_data;             /* inside conn_on_data: it will carry on by itself */
    int close_soon;          /* in conn_on_data: close once written, unless more input came */
    int peer_ended;          /* the client half-closed: close after the current response */
    struct loop_timer timer; /* the head / request / keep-alive deadline */
    uint64_t deadline;
    enum http_body body;
    uint64_t body_left, body_seen;
    struct http_chunked chunked;
    struct http_res res;
};

static size_t conn_on_data(struct stream *s, const char *data, size_t len);

/* ---- dates ---- */

void http_date_format(long long t, char out[32])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    /* gmtime_r fails for a time whose year does not fit in an int (a corrupt file time can be
     * anything); the epoch is a valid date, and far better than reading an unset struct. */
    if (!gmtime_r(&tt, &tm)) {
        tt = 0;
        gmtime_r(&tt, &tm);
    }
    snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *http_date_now(void)
{
    static char cached[32];
    static time_t cached_at = -1;
    time_t now = time(NULL);
    if (now != cached_at) {
        http_date_format((long long)now, cached);
        cached_at = now;
    }
    return cached;
}

/* ---- deadlines: one timer per connection, moved lazily ---- */

static long conn_on_timer(struct loop *loop, void *arg);

/* Sets the connection's next deadline. The timer is restarted only when the new deadline is
 * earlier than the one it waits for; a later one is noticed when the timer fires. */
static void conn_deadline(struct http_conn *c, uint64_t ms)
{
    struct loop *loop = c->s->loop;
    c->deadline = ms ? loop_now(loop) + ms : 0;
    if (!ms)
        return;
    if (!loop_timer_active(&c->timer) || c->timer.when > c->deadline)
        loop_timer_start(loop, &c->timer, ms);
}

/* ---- sending ---- */

static void send_text(struct http_conn *c, const char *text)
{
    stream_write(c->s, text, strlen(text));
}

/* Sends FIN once the output queued so far has gone, and keeps reading (and dropping) until the
 * client closes too. Closing at once instead would make the kernel answer any unread input with
 * a reset, and a reset can destroy a response the client has not read yet. */
static void close_gracefully(struct http_conn *c)
{
    c->phase = PH_CLOSING;
    stream_end(c->s);
    conn_deadline(c, CLOSE_GRACE_MS);
}

/* The client asked for the close, so it will send nothing more (RFC 9112 §9.6): there is no
 * FIN of its to wait for, and the connection closes as soon as the response is written, as
 * nginx's does. That saves close_gracefully's shutdown, wake-up and read: three of the dozen
 * system calls a connection cost when every request came on a new one. Input the client sent
 * all the same, behind its last request, still gets the graceful close, since closing with
 * unread input makes the kernel send a reset: conn_on_data decides once it has seen the rest
 * of what it was handed, and a paused stream is holding such input. */
static void close_when_written(struct http_conn *c)
{
    c->phase = PH_CLOSING;
    conn_deadline(c, CLOSE_GRACE_MS); /* a client that does not read must not keep us */
    if (c->in_data)
        c->close_soon = 1;
    else if (stream_paused(c->s))
        close_gracefully(c);
    else
        stream_destroy_soon(c->s);
}

/* The status and reason for an error the server answers by itself, then close. */
static void send_error(struct http_conn *c, int status, const char *reason)
{
    struct http_server *srv = c->srv;
    trace_event(c->s->id, "clientError", c->s->peer, "%d %s", status, reason);
    c->phase = PH_CLOSING;
    if (srv->on_client_error) {
        srv->on_client_error(srv, c->s, status, reason);
    } else {
        char head[256];
        snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                 "Date: %s\r\nConnection: close\r\n\r\n",
                 status, http_status_text(status), strlen(reason) + 1, http_date_now());
        if (srv->trace_heads)
            trace_lines("> ", head, strlen(head) - 2);
        send_text(c, head);
        send_text(c, reason);
        send_text(c, "\n");
    }
    if (!stream_closed(c->s))
        close_gracefully(c);
}

/* The request went wrong after the head was read (a bad chunk, a body over the limit, a body
 * cut short, too slow). Only one response may answer a request: if the handler has not begun
 * its own, the error is the answer; if it has finished, that answer stands and the connection
 * just closes, since the rest of the request can no longer be framed; if it is halfway through,
 * nothing can finish it properly, and the connection is cut. */
static void abandon_request(struct http_conn *c, int status, const char *reason)
{
    if (!c->res.head_sent) {
        send_error(c, status, reason);
        return;
    }
    trace_event(c->s->id, "clientError", c->s->peer, "%d %s (after the response began)", status,
                reason);
    if (c->res.finished)
        close_gracefully(c);
    else
        stream_destroy(c->s);
}

static int status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

/* Picks the framing once the head goes out: a known length, chunks, or until close.
 * A response to HEAD never has a body (RFC 9110 §9.3.2), but announces the length a GET would
 * get when it is known; when it is not, no framing field is sent, and none is needed. */
static void choose_framing(struct http_res *res, int64_t known_length)
{
    if (!status_has_body(res->status)) {
        res->no_body = 1;
        res->content_length = -1;
        return;
    }
    res->no_body = res->head_request;
    if (res->content_length < 0 && known_length >= 0)
        res->content_length = known_length;
    if (res->content_length >= 0 || res->head_request)
        return;
    if (res->version_minor >= 1)
        res->chunked = 1;
    else
        res->until_close = 1, res->keep_alive = 0;
}

/* Appends the decimal digits of v at p and returns the end: what printf's %lld does, without
 * parsing a format. */
static char *put_number(char *p, long long v)
{
    char digits[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        *p++ = '-';
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

static char *put_text(char *p, const char *text)
{
    size_t n = strlen(text);
    memcpy(p, text, n);
    return p + n;
}

/* The head goes out as three pieces: the status line, the handler's fields, and the fields
 * the server adds (Date, Connection, the framing) with the blank line. The first and last are
 * assembled in stack buffers with memcpy rather than printf: formatting them with printf cost
 * more CPU than all the rest of a hello-world exchange's user-space work. The cork makes the
 * three one write. */
static void send_head(struct http_res *res, int64_t known_length)
{
    struct http_conn *c = res->conn;
    choose_framing(res, known_length);
    char status[64 + 32], fields[256]; /* the longest reason phrase is 31 characters */
    char *p = put_text(status, "HTTP/1.1 ");
    p = put_number(p, res->status);
    *p++ = ' ';
    p = put_text(p, http_status_text(res->status));
    p = put_text(p, "\r\n");
    size_t status_len = (size_t)(p - status);

    p = put_text(fields, "Date: ");
    p = put_text(p, http_date_now());
    if (res->keep_alive) {
        p = put_text(p, "\r\nConnection: keep-alive\r\nKeep-Alive: timeout=");
        p = put_number(p, (long long)(c->srv->cfg.keep_alive_timeout_ms / 1000));
    } else {
        p = put_text(p, "\r\nConnection: close");
    }
    if (res->content_length >= 0) {
        p = put_text(p, "\r\nContent-Length: ");
        p = put_number(p, (long long)res->content_length);
    } else if (res->chunked) {
        p = put_text(p, "\r\nTransfer-Encoding: chunked");
    }
    p = put_text(p, "\r\n\r\n");
    size_t fields_len = (size_t)(p - fields);

    if (c->srv->trace_heads) {
        trace_lines("> ", status, status_len);
        trace_lines("> ", buf_data(&res->headers), buf_len(&res->headers));
        trace_lines("> ", fields, fields_len - 2);
    }
    stream_cork(c->s);
    stream_write(c->s, status, status_len);
    stream_write(c->s, buf_data(&res->headers), buf_len(&res->headers));
    stream_write(c->s, fields, fields_len);
    stream_uncork(c->s);
    buf_free(&res->headers);
    res->head_sent = 1;
}

/* ---- the response API ---- */

/* Whether text may go into a field line as it is (RFC 9110 §5.5). A CR or LF would end the
 * line early, and whatever followed would become fields or a body of someone else's choosing:
 * response splitting, when a value is copied from the request. Such a header is dropped. */
static int field_text_ok(const char *text)
{
    return text[strcspn(text, "\r\n")] == '\0';
}

/* A Content-Length value: digits only. Returns -1 for anything else. */
static int64_t parse_length(const char *value)
{
    int64_t n = 0;
    if (*value == '\0')
        return -1;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9' || n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

void http_res_set_header(struct http_res *res, const char *name, const char *value)
{
    if (res->head_sent || !field_text_ok(name) || !field_text_ok(value))
        return;
    if (strcasecmp(name, "Content-Length") == 0) {
        res->content_length = parse_length(value);
        return;
    }
    if (strcasecmp(name, "Connection") == 0) {
        if (http_token_list_has(slice_from(value), "close"))
            res->keep_alive = 0;
        return;
    }
    if (strcasecmp(name, "Transfer-Encoding") == 0 || strcasecmp(name, "Date") == 0)
        return; /* the server frames and dates every response itself */
    buf_append_str(&res->headers, name);
    buf_append(&res->headers, ": ", 2);
    buf_append_str(&res->headers, value);
    buf_append(&res->headers, "\r\n", 2);
}

void http_res_status(struct http_res *res, int status)
{
    res->status = status;
}

void http_res_write_head(struct http_res *res, int status)
{
    if (res->head_sent || res->finished)
        return;
    res->status = status;
    send_head(res, -1);
}

void http_res_write_continue(struct http_res *res)
{
    if (res->continue_sent || res->head_sent)
        return;
    res->continue_sent = 1;
    if (res->conn->srv->trace_heads)
        trace_line("> ", "HTTP/1.1 100 Continue");
    send_text(res->conn, "HTTP/1.1 100 Continue\r\n\r\n");
}

static int write_body(struct http_res *res, const void *data, size_t len)
{
    struct stream *s = res->conn->s;
    if (len == 0 || res->no_body)
        return stream_queued(s) < s->high_water;
    if (!res->chunked)
        return stream_write(s, data, len);
    char size[24];
    snprintf(size, sizeof size, "%zx\r\n", len);
    stream_write(s, size, strlen(size));
    stream_write(s, data, len);
    return stream_write(s, "\r\n", 2);
}

int http_res_write(struct http_res *res, const void *data, size_t len)
{
    if (res->finished)
        return 0;
    if (!res->head_sent)
        send_head(res, -1);
    return write_body(res, data, len);
}

static void response_done(struct http_conn *c);

void http_res_end(struct http_res *res, const void *data, size_t len)
{
    if (res->finished)
        return;
    struct stream *s = res->conn->s;
    stream_cork(s);
    if (!res->head_sent)
        send_head(res, (int64_t)len);
    write_body(res, data, len);
    if (res->chunked)
        send_text(res->conn, "0\r\n\r\n");
    stream_uncork(s);
    res->finished = 1;
    response_done(res->conn);
}

void http_res_on_body(struct http_res *res, http_body_fn *on_body, http_res_fn *on_end)
{
    res->on_body = on_body;
    res->on_body_end = on_end;
}

void http_res_on_drain(struct http_res *res, http_res_fn *on_drain)
{
    res->on_drain = on_drain;
}

void http_res_on_close(struct http_res *res, http_res_fn *on_close)
{
    res->on_close = on_close;
}

void http_res_set_user(struct http_res *res, void *user)
{
    res->user = user;
}

void *http_res_user(const struct http_res *res)
{
    return res->user;
}

int http_res_finished(const struct http_res *res)
{
    return res->finished;
}

struct stream *http_res_stream(const struct http_res *res)
{
    return res->conn->s;
}

struct http_server *http_res_server(const struct http_res *res)
{
    return res->conn->srv;
}

/* ---- one exchange: start, body, end ---- */

/* Tells the handler that res is over (sent, or the client is gone), exactly once. */
static void res_close(struct http_res *res)
{
    http_res_fn *fn = res->on_close;
    res->on_close = NULL;
    res->on_drain = NULL;
    res->on_body = NULL;
    res->on_body_end = NULL;
    if (fn)
        fn(res);
    buf_free(&res->headers);
}

static void res_reset(struct http_conn *c, const struct http_request *req)
{
    struct http_res *res = &c->res;
    memset(res, 0, sizeof *res);
    res->conn = c;
    res->status = 200;
    res->content_length = -1;
    res->version_minor = req->version_minor;
    res->keep_alive = req->keep_alive && !c->srv->shutting_down && !c->peer_ended;
    res->client_close = !req->keep_alive;
    res->head_request = slice_eq(req->method, "HEAD");
    res->expect_continue = req->expect_continue;
}

static void next_request(struct http_conn *c)
{
    c->served++;
    /* The response promised keep-alive, but a shutdown began while the request body was still
     * being read and dropped: no other request will be taken, so close now. */
    if (c->srv->shutting_down) {
        close_gracefully(c);
        return;
    }
    c->phase = PH_IDLE;
    conn_deadline(c, c->srv->cfg.keep_alive_timeout_ms);
    if (c->in_data)
        return; /* conn_on_data goes on parsing what is buffered */
    /* A pipelined request may be waiting: resume reading and hand the buffered bytes back to
     * conn_on_data. They may not even be in the stream's buffer yet: a response can end inside
     * the stream's delivery of the very read that brought them (its writes flush, the drain
     * sends the last piece), and the stream keeps what on_data left only once on_data returns.
     * stream_redeliver looks for them when the loop comes round, after that. */
    stream_resume(c->s);
    stream_redeliver(c->s);
}

/* The handler ended the response. The connection either closes or takes the next request,
 * once the request body has been read too. */
static void response_done(struct http_conn *c)
{
    struct http_res *res = &c->res;
    if (res->expect_continue && !res->continue_sent && c->phase == PH_BODY)
        res->keep_alive = 0; /* the client may or may not send the body now: do not guess */
    res_close(res);
    if (!res->keep_alive && res->client_close && c->phase == PH_RESPOND) {
        close_when_written(c);
        return;
    }
    if (!res->keep_alive) {
        close_gracefully(c);
        return;
    }
    if (c->phase == PH_RESPOND)
        next_request(c);
}

/* Calls the handler's on_end for the request body, once. */
static void emit_body_end(struct http_res *res)
{
    http_res_fn *on_end = res->on_body_end;
    res->on_body_end = NULL;
    if (on_end)
        on_end(res);
}

/* The whole request body has been read. If the response is over too, the connection takes the
 * next request; otherwise the handler hears that the body is complete, and may answer now. */
static void body_done(struct http_conn *c)
{
    if (c->res.finished) {
        next_request(c);
        return;
    }
    c->phase = PH_RESPOND;
    emit_body_end(&c->res);
}

static void deliver_body(struct http_conn *c, const char *data, size_t len)
{
    if (len > 0 && c->res.on_body && !c->res.finished)
        c->res.on_body(&c->res, data, len);
}

/* Reads a body delimited by Content-Length. Returns the bytes used. */
static size_t body_by_length(struct http_conn *c, const char *data, size_t len)
{
    size_t n = len < c->body_left ? len : (size_t)c->body_left;
    c->body_left -= n;
    deliver_body(c, data, n);
    if (c->body_left == 0 && c->phase == PH_BODY)
        body_done(c);
    return n;
}

/* Reads a chunked body, handing out each run of payload as it is decoded. */
static size_t body_chunked(struct http_conn *c, const char *data, size_t len)
{
    size_t used = 0;
    while (used < len && c->phase == PH_BODY) {
        size_t n;
        struct slice piece;
        int rc = http_chunked_decode(&c->chunked, data + used, len - used, &n, &piece);
        used += n;
        if (rc == HTTP_ERROR) {
            abandon_request(c, 400, c->chunked.error);
            return len;
        }
        c->body_seen += piece.len;
        if (c->body_seen > c->srv->cfg.max_body) {
            abandon_request(c, 413, "request body larger than the server accepts");
            return len;
        }
        deliver_body(c, piece.ptr, piece.len);
        if (rc == HTTP_DONE)
            body_done(c);
    }
    return used;
}

static void trace_request(struct http_conn *c, const struct http_request *req, const char *head,
                          size_t head_len)
{
    trace_event(c->s->id, "request", c->s->peer, "%.*s %.*s HTTP/1.%d", (int)req->method.len,
                req->method.ptr, (int)req->target.len, req->target.ptr, req->version_minor);
    if (c->srv->trace_heads)
        trace_lines("< ", head, head_len);
}

/* CONNECT and Upgrade: the connection stops being HTTP and goes to the application. The
 * bytes after the head stay in the stream and reach the new owner's on_data next turn. */
static void take_over(struct http_conn *c, const struct http_request *req, http_takeover_fn *fn)
{
    struct stream *s = c->s;
    struct http_server *srv = c->srv;
    trace_event(s->id, slice_eq(req->method, "CONNECT") ? "connect" : "upgrade", s->peer, NULL);
    loop_timer_stop(s->loop, &c->timer);
    s->on_data = NULL;
    s->on_end = NULL;
    s->on_close = NULL;
    s->on_timeout = NULL;
    s->on_drain = NULL;
    s->user = NULL;
    s->allow_half_open = 0;
    free(c);
    fn(srv, req, s);
    stream_redeliver(s);
}

/* Decides what a parsed head leads to. Returns 0 if the connection is no longer ours. */
static int start_request(struct http_conn *c, const struct http_request *req)
{
    struct http_server *srv = c->srv;
    srv->requests++;
    res_reset(c, req);
    c->body = req->body;
    c->body_left = req->body == HTTP_BODY_LENGTH ? (uint64_t)req->content_length : 0;
    c->body_seen = 0;
    http_chunked_init(&c->chunked);

    int is_connect = slice_eq(req->method, "CONNECT");
    if (is_connect && !srv->on_connect) {
        send_error(c, 405, "CONNECT is not supported by this server");
        return 1;
    }
    if (is_connect || (req->upgrade && srv->on_upgrade)) {
        take_over(c, req, is_connect ? srv->on_connect : srv->on_upgrade);
        return 0;
    }
    if (c->body == HTTP_BODY_LENGTH && c->body_left > srv->cfg.max_body) {
        send_error(c, 413, "request body larger than the server accepts");
        return 1;
    }
    c->phase = c->body == HTTP_BODY_NONE ? PH_RESPOND : PH_BODY;
    if (c->body == HTTP_BODY_LENGTH && c->body_left == 0)
        c->phase = PH_RESPOND;
    if (req->expect_continue && srv->on_check_continue) {
        srv->on_check_continue(srv, req, &c->res);
        if (c->phase == PH_RESPOND)
            emit_body_end(&c->res);
        return 1;
    }
    if (req->expect_continue && c->phase == PH_BODY)
        http_res_write_continue(&c->res);
    if (srv->on_request)
        srv->on_request(srv, req, &c->res);
    else
        http_res_end(&c->res, NULL, 0);
    /* Without a body, the request is already complete: a handler that waits for its end (to
     * answer after the body, whatever the method) hears it at once rather than never. */
    if (c->phase == PH_RESPOND)
        emit_body_end(&c->res);
    return 1;
}

/* Parses one head at data. Returns bytes used, 0 when more are needed, or -1 when the
 * connection is closing. *gone says the connection was handed over (c is freed). */
static ssize_t parse_head(struct http_conn *c, const char *data, size_t len, int *gone)
{
    struct http_server *srv = c->srv;
    static struct http_request req; /* one request is parsed at a time: no need for one each */
    struct http_limits limits = {srv->cfg.max_header_size, srv->cfg.max_uri};
    ssize_t n = http_parse_request(data, len, &req, &limits);
    if (n == HTTP_INCOMPLETE) {
        if (c->phase == PH_IDLE) {
            c->phase = PH_HEAD;
            conn_deadline(c, srv->cfg.headers_timeout_ms);
        }
        return 0;
    }
    if (n == HTTP_ERROR) {
        send_error(c, req.error_status, req.error);
        return -1;
    }
    trace_request(c, &req, data, (size_t)n);
    c->phase = PH_HEAD;
    conn_deadline(c, srv->cfg.request_timeout_ms);
    *gone = !start_request(c, &req);
    return n;
}

/* The one place a connection's input is read: heads, bodies, and the next request. */
static size_t conn_on_data(struct stream *s, const char *data, size_t len)
{
    struct http_conn *c = s->user;
    size_t used = 0;
    c->in_data = 1;
    while (used < len) {
        if (c->phase == PH_IDLE || c->phase == PH_HEAD) {
            int gone = 0;
            ssize_t n = parse_head(c, data + used, len - used, &gone);
            if (gone)
                return used + (size_t)n; /* c is freed; the rest belongs to the new owner */
            if (n == 0)
                break;
            used = n < 0 ? len : used + (size_t)n; /* n < 0: closing, the input is dropped */
        } else if (c->phase == PH_BODY) {
            size_t n = c->body == HTTP_BODY_CHUNKED ? body_chunked(c, data + used, len - used)
                                                    : body_by_length(c, data + used, len - used);
            used += n;
        } else if (c->phase == PH_RESPOND) {
            stream_pause(s); /* the next request waits until this response ends */
            break;
        } else {
            if (c->close_soon) {
                c->close_soon = 0; /* the client sent more after all: see close_when_written */
                close_gracefully(c);
            }
            used = len; /* closing: whatever else the client sends is dropped */
        }
    }
    c->in_data = 0;
    if (c->close_soon) {
        c->close_soon = 0;
        stream_destroy_soon(s);
    }
    return used;
}

/* ---- connection events ---- */

static void conn_on_end(struct stream *s)
{
    struct http_conn *c = s->user;
    c->peer_ended = 1;
    /* A client may half-close right after its request (nc -N does): the response still goes
     * out, then the connection closes. Between requests there is nothing to wait for. In the
     * middle of a body, the rest of it will never come: the request cannot be completed. */
    if (c->phase == PH_BODY)
        abandon_request(c, 400, "the client ended the connection in the middle of the body");
    else if (c->phase == PH_RESPOND)
        c->res.keep_alive = 0;
    else
        stream_end(s);
}

static void conn_on_drain(struct stream *s)
{
    struct http_conn *c = s->user;
    if (c->res.on_drain && !c->res.finished)
        c->res.on_drain(&c->res);
}

static void conn_on_close(struct stream *s)
{
    struct http_conn *c = s->user;
    if (!c)
        return;
    loop_timer_stop(s->loop, &c->timer);
    res_close(&c->res);
    free(c);
}

static void conn_on_timeout(struct stream *s)
{
    stream_destroy(s);
}

static long conn_on_timer(struct loop *loop, void *arg)
{
    struct http_conn *c = arg;
    uint64_t now = loop_now(loop);
    if (!c->deadline || stream_closed(c->s))
        return LOOP_TIMER_STOP;
    if (now < c->deadline)
        return (long)(c->deadline - now);
    switch (c->phase) {
    case PH_IDLE: /* keep-alive timeout: the client did not come back */
        trace_event(c->s->id, "timeout", c->s->peer, "keep-alive");
        stream_destroy(c->s);
        break;
    case PH_HEAD:
        send_error(c, 408, "request head not received in time");
        break;
    case PH_BODY:
        abandon_request(c, 408, "request body not received in time");
        break;
    case PH_CLOSING: /* we sent FIN and the client has not closed its side */
        stream_destroy(c->s);
        break;
    default: /* the handler is answering: its own business how long it takes */
        break;
    }
    return LOOP_TIMER_STOP;
}

static void on_connection(struct server *tcp, struct stream *s)
{
    struct http_server *srv = tcp->user;
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->srv = srv;
    c->s = s;
    c->phase = PH_IDLE;
    loop_timer_init(&c->timer, conn_on_timer, c);
    s->user = c;
    s->allow_half_open = 1;
    s->on_data = conn_on_data;
    s->on_end = conn_on_end;
    s->on_drain = conn_on_drain;
    s->on_close = conn_on_close;
    s->on_timeout = conn_on_timeout;
    /* s->max_input stays the stream's default. The parser bounds a head by max_header_size, a
     * body is consumed as it comes, and while a response is written the stream is paused, so
     * what waits unparsed is at most a head plus one read of pipelined requests. A tighter
     * limit here would cut off a client that pipelines a little eagerly behind a slow
     * response, as if it had flooded us. */
    if (srv->cfg.socket_timeout_ms)
        stream_set_timeout(s, srv->cfg.socket_timeout_ms);
    /* Until the first request: the headers timeout, as for a slow head. */
    conn_deadline(c, srv->cfg.headers_timeout_ms);
    if (srv->on_connection)
        srv->on_connection(srv, s);
}

/* ---- the server ---- */

void http_server_init(struct http_server *srv)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg.headers_timeout_ms = 60000;
    srv->cfg.request_timeout_ms = 300000;
    srv->cfg.keep_alive_timeout_ms = 5000;
    srv->cfg.max_header_size = HTTP_DEFAULT_MAX_HEADER_SIZE;
    srv->cfg.max_uri = HTTP_DEFAULT_MAX_URI;
    srv->cfg.max_body = 1024 * 1024;
}

static void on_tcp_close(struct server *tcp)
{
    struct http_server *srv = tcp->user;
    if (srv->on_close)
        srv->on_close(srv);
}

int http_server_listen(struct http_server *srv, struct loop *loop, const char *host, int port,
                       char err[NET_ERR_LEN])
{
    srv->tcp.user = srv;
    srv->tcp.max_connections = srv->cfg.max_connections;
    srv->tcp.on_close = on_tcp_close;
    return server_listen(&srv->tcp, loop, host, port, on_connection, err);
}

void http_server_shutdown(struct http_server *srv, uint64_t grace_ms)
{
    if (srv->shutting_down) {
        server_destroy_all(&srv->tcp);
        return;
    }
    srv->shutting_down = 1;
    server_close(&srv->tcp);
    for (struct stream *s = srv->tcp.streams; s; s = s->next) {
        if (s->on_data != conn_on_data) {
            stream_end(s); /* upgraded or tunnelled: no longer HTTP, just end it */
            continue;
        }
        struct http_conn *c = s->user;
        if (c->phase == PH_IDLE)
            close_gracefully(c);
        else
            c->res.keep_alive = 0; /* finish this response, then close */
    }
    server_destroy_after(&srv->tcp, grace_ms);
}
