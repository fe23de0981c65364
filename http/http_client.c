/* http_client.c - http.request and http.Agent: requests written to pooled connections, and
 * responses read from them however TCP splits the bytes.
 *
 * The pieces, from the bottom up:
 *
 *   origin    one host:port: its open connections (idle ones first, most recently idle at the
 *             front, so that a quiet pool lets the others time out) and its queue of requests
 *             waiting for a connection
 *   conn      one TCP connection (a stream) and the request on it, if any
 *   request   the head and body to send, and the state of the response being read
 *   agent     the origins, the options, the counters, and the one place where requests meet
 *             connections: dispatch(), which runs from the loop, never from inside a callback
 *
 * Reading a response (conn_on_data): parse a head from the bytes so far; if it is incomplete,
 * consume nothing, and the stream hands the same bytes back, joined with the next ones. Interim
 * 1xx heads are skipped (100 Continue releases a held body). The final head says how the body
 * is framed; body bytes are passed on as they come. When the response ends, the connection goes
 * back to the pool if both sides said it may, everything was sent, and nothing extra arrived.
 *
 * Memory: a request is freed right after its on_close; a conn when its stream closes (always
 * from the loop, on a later turn), so code that called out to the application may still touch
 * the conn it was working on, but not the request, nor the origin (the application may have
 * destroyed the agent).
 */
#include "http_client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "trace.h"

/* The body of a request that may be retried is kept until its response starts; a bigger one
 * is not kept, and the request is then not retried. */
#define REPLAY_MAX (1024 * 1024)

struct http_conn;

struct http_origin {
    struct http_agent *agent;
    char *host;
    int port;
    char *name;              /* "127.0.0.1:8000", "[::1]:8000": the key, and for messages */
    struct http_conn *conns; /* open or opening; idle ones first, most recently idle first */
    size_t nconns, nfree;
    struct http_client_request *queue_head, *queue_tail;
    struct http_origin *next;
};

struct http_conn {
    struct stream *s;
    struct http_origin *origin;      /* NULL once detached: closing, out of the pool */
    struct http_client_request *req; /* the request using it; NULL when idle */
    unsigned long requests;          /* how many requests it has carried */
    int connected;
    struct http_conn *prev, *next; /* in origin->conns */
};

struct http_agent {
    struct loop *loop;
    struct http_agent_options opts;
    struct http_agent_stats stats;
    struct http_origin *origins;
    struct loop_timer dispatch_timer;
    int dispatching; /* inside dispatch: a destroy waits until it is over */
    int destroyed;
};

enum req_state { REQ_QUEUED, REQ_ACTIVE, REQ_FINISHING };

struct http_client_request {
    struct http_client_events ev;
    void *user;
    struct loop *loop;
    enum req_state state;
    struct http_origin *origin; /* while queued */
    struct http_conn *conn;     /* while on a connection */
    struct http_client_request *queue_prev, *queue_next;

    /* What the options said, worked out once. */
    int is_head, is_connect, wants_upgrade, idempotent, expects_body, user_framing;
    int user_chunked, expect_continue;
    uint64_t timeout_ms, continue_timeout_ms;

    /* Sending. */
    struct buf head;   /* the header fields; complete (with framing and CRLF) once committed */
    struct buf body;   /* framed body bytes not yet written to a connection */
    struct buf replay; /* framed body bytes written, kept while a retry is possible */
    int committed;     /* the framing is decided and the head complete */
    int chunked;       /* body pieces are chunk-encoded */
    int ended, head_sent, holding, body_dropped, need_drain;
    int retried, need_fresh, replay_lost, response_started;
    struct loop_timer continue_timer;

    /* Reading the response. */
    int in_body;
    enum http_body body_kind;
    uint64_t remaining;
    struct http_chunked chunks;
    int resp_keep_alive;

    /* A finish deferred to the loop (abort, agent destroyed). */
    struct loop_timer finish_timer;
    int finish_err;
    char finish_msg[HTTP_CLIENT_ERR_LEN];
};

/* What one step of reading a response did. */
enum step {
    STEP_AGAIN,     /* consumed some bytes; go on with the rest */
    STEP_NEED_MORE, /* the head is incomplete: wait for more bytes */
    STEP_COMPLETE,  /* the response ended */
    STEP_GONE,      /* the request or the connection is no longer ours to read for */
};

static void agent_schedule(struct http_agent *a);
static void conn_destroy(struct http_conn *c);
static void req_flush(struct http_client_request *req);

/* ---- Small helpers ---- */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        abort();
    return p;
}

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* Controls (and DEL) would let a value end the line early: "header injection". HTAB is the
 * one control a field value may hold (RFC 9110 §5.5). */
static int has_control(const char *s, int allow_tab)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
            return 1;
    }
    return 0;
}

static const char *method_of(const struct http_client_options *o)
{
    return o->method ? o->method : "GET";
}

static const char *path_of(const struct http_client_options *o)
{
    return o->path ? o->path : "/";
}

static int port_of(const struct http_client_options *o)
{
    return o->port ? o->port : 80;
}

static int has_header(const struct http_client_options *o, const char *name)
{
    for (size_t i = 0; i < o->num_headers; i++)
        if (slice_eq_nocase(slice_from(o->headers[i].name), name))
            return 1;
    return 0;
}

/* "host:port", with an IPv6 address in brackets so that its colons are not taken for the
 * port's: "[::1]:8000". */
static void format_authority(char *out, size_t cap, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(out, cap, "[%s]:%d", host, port);
    else
        snprintf(out, cap, "%s:%d", host, port);
}

/* ---- Checking options and writing the head (pure) ---- */

static int check_headers(const struct http_client_options *o, char err[HTTP_CLIENT_ERR_LEN])
{
    for (size_t i = 0; i < o->num_headers; i++) {
        const struct http_client_header *h = &o->headers[i];
        if (!is_token(h->name)) {
            snprintf(err, HTTP_CLIENT_ERR_LEN, "header name '%s' is not a token",
                     h->name ? h->name : "");
            return -1;
        }
        if (!h->value || has_control(h->value, 1)) {
            snprintf(err, HTTP_CLIENT_ERR_LEN,
                     "header '%s': the value is missing or holds CR, LF or another control",
                     h->name);
            return -1;
        }
    }
    return 0;
}

int http_client_check_options(const struct http_client_options *o, char err[HTTP_CLIENT_ERR_LEN])
{
    const char *path = path_of(o);
    if (!o->host || !*o->host || has_control(o->host, 0) || strpbrk(o->host, " /?#@[]")) {
        snprintf(err, HTTP_CLIENT_ERR_LEN, "bad host '%s'", o->host ? o->host : "");
        return -1;
    }
    if (o->port < 0 || o->port > 65535) {
        snprintf(err, HTTP_CLIENT_ERR_LEN, "bad port %d", o->port);
        return -1;
    }
    if (!is_token(method_of(o))) {
        snprintf(err, HTTP_CLIENT_ERR_LEN, "method '%s' is not a token", method_of(o));
        return -1;
    }
    if (!*path || has_control(path, 0) || strchr(path, ' ')) {
        snprintf(err, HTTP_CLIENT_ERR_LEN,
                 "the path must be non-empty, without spaces or "
                 "controls (percent-encode them)");
        return -1;
    }
    return check_headers(o, err);
}

void http_client_basic_auth(struct buf *out, const char *user_pass)
{
    size_t n = strlen(user_pass);
    buf_append_str(out, "Basic ");
    char *p = buf_reserve(out, base64_encoded_len(n) + 1);
    buf_commit(out, base64_encode(user_pass, n, p));
}

/* Everything in the head but the framing field and the empty line. Host is required in
 * HTTP/1.1 (RFC 9112 §3.2), and carries the port unless it is the scheme's default. */
static void format_fields(struct buf *out, const struct http_client_options *o, int keep_alive)
{
    buf_printf(out, "%s %s HTTP/1.1\r\n", method_of(o), path_of(o));
    if (!has_header(o, "host")) {
        char authority[NET_ADDR_LEN + 256];
        if (port_of(o) == (o->default_port ? o->default_port : 80))
            snprintf(authority, sizeof authority, strchr(o->host, ':') ? "[%s]" : "%s", o->host);
        else
            format_authority(authority, sizeof authority, o->host, port_of(o));
        buf_printf(out, "Host: %s\r\n", authority);
    }
    for (size_t i = 0; i < o->num_headers; i++)
        buf_printf(out, "%s: %s\r\n", o->headers[i].name, o->headers[i].value);
    if (o->auth && !has_header(o, "authorization")) {
        buf_append_str(out, "Authorization: ");
        http_client_basic_auth(out, o->auth);
        buf_append_str(out, "\r\n");
    }
    if (!has_header(o, "connection"))
        buf_printf(out, "Connection: %s\r\n", keep_alive ? "keep-alive" : "close");
    if (o->expect_continue && !has_header(o, "expect"))
        buf_append_str(out, "Expect: 100-continue\r\n");
}

static void format_framing(struct buf *out, enum http_client_framing framing, uint64_t length)
{
    if (framing == HTTP_CLIENT_LENGTH)
        buf_printf(out, "Content-Length: %" PRIu64 "\r\n", length);
    else if (framing == HTTP_CLIENT_CHUNKED)
        buf_append_str(out, "Transfer-Encoding: chunked\r\n");
    buf_append_str(out, "\r\n");
}

static int user_frames_body(const struct http_client_options *o)
{
    return has_header(o, "content-length") || has_header(o, "transfer-encoding");
}

void http_client_format_head(struct buf *out, const struct http_client_options *opts,
                             int keep_alive, enum http_client_framing framing, uint64_t length)
{
    format_fields(out, opts, keep_alive);
    format_framing(out, user_frames_body(opts) ? HTTP_CLIENT_NO_BODY : framing, length);
}

/* ---- URLs (pure) ---- */

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1) */
static int is_scheme(const char *s, size_t len)
{
    if (len == 0 || !is_alpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.')
            return 0;
    }
    return 1;
}

static int host_char_ok(unsigned char c, int bracketed)
{
    if (bracketed)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
               c == ':' || c == '.';
    return (c >= '0' && c <= '9') || is_alpha(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int parse_port(struct slice s, int *port)
{
    if (s.len == 0)
        return 0; /* "http://h:/" keeps the default, as curl does */
    if (s.len > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return -1;
        v = v * 10 + (s.ptr[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* host, [v6], host:port or [v6]:port. */
static int parse_host_port(struct slice hp, struct http_url *u, const char **err)
{
    const char *end = hp.ptr + hp.len, *host_end;
    int bracketed = hp.len > 0 && hp.ptr[0] == '[';
    if (bracketed) {
        const char *close = memchr(hp.ptr, ']', hp.len);
        if (!close || (close + 1 < end && close[1] != ':')) {
            *err = "bad IPv6 address: write it as [::1] or [::1]:8000";
            return -1;
        }
        u->host = (struct slice){hp.ptr + 1, (size_t)(close - hp.ptr - 1)};
        host_end = close + 1;
    } else {
        host_end = memchr(hp.ptr, ':', hp.len);
        if (host_end && memchr(host_end + 1, ':', (size_t)(end - host_end - 1))) {
            *err = "an IPv6 address needs brackets: http://[::1]:8000/";
            return -1;
        }
        host_end = host_end ? host_end : end;
        u->host = (struct slice){hp.ptr, (size_t)(host_end - hp.ptr)};
    }
    if (u->host.len == 0) {
        *err = "no host in the URL";
        return -1;
    }
    for (size_t i = 0; i < u->host.len; i++) {
        if (!host_char_ok((unsigned char)u->host.ptr[i], bracketed)) {
            *err = "bad character in the host";
            return -1;
        }
    }
    if (host_end < end &&
        parse_port((struct slice){host_end + 1, (size_t)(end - host_end - 1)}, &u->port) < 0) {
        *err = "bad port: a number from 1 to 65535";
        return -1;
    }
    return 0;
}

static const char *parse_scheme(const char *url, struct http_url *u, const char **err)
{
    const char *sep = strstr(url, "://");
    if (!sep || !is_scheme(url, (size_t)(sep - url))) {
        u->scheme = slice_from("http");
        return url;
    }
    u->scheme = (struct slice){url, (size_t)(sep - url)};
    if (slice_eq_nocase(u->scheme, "http"))
        u->port = 80;
    else if (slice_eq_nocase(u->scheme, "https"))
        u->port = 443;
    else
        *err = "unsupported scheme: use http:// (or https://)";
    return sep + 3;
}

int http_url_parse(const char *url, struct http_url *u, const char **err)
{
    memset(u, 0, sizeof *u);
    u->port = 80;
    *err = NULL;
    if (has_control(url, 0) || strchr(url, ' ')) {
        *err = "the URL holds a space or a control character (percent-encode it: %20)";
        return -1;
    }
    const char *p = parse_scheme(url, u, err);
    if (*err)
        return -1;
    size_t auth_len = strcspn(p, "/?#");
    struct slice hp = {p, auth_len};
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (p[i] == '@')
            at = p + i;
    if (at) {
        u->userinfo = (struct slice){p, (size_t)(at - p)};
        hp = (struct slice){at + 1, auth_len - (size_t)(at + 1 - p)};
    }
    if (parse_host_port(hp, u, err) < 0)
        return -1;
    const char *rest = p + auth_len;
    size_t path_len = strcspn(rest, "?#");
    u->path = (struct slice){rest, path_len};
    if (rest[path_len] == '?')
        u->query = (struct slice){rest + path_len, strcspn(rest + path_len, "#")};
    return 0;
}

void http_url_target(const struct http_url *u, struct buf *out)
{
    if (u->path.len > 0)
        buf_append(out, u->path.ptr, u->path.len);
    else
        buf_append_str(out, "/");
    buf_append(out, u->query.ptr, u->query.len);
}

/* ---- Finishing a request ---- */

static void req_free(struct http_client_request *req)
{
    loop_timer_stop(req->loop, &req->continue_timer);
    loop_timer_stop(req->loop, &req->finish_timer);
    buf_free(&req->head);
    buf_free(&req->body);
    buf_free(&req->replay);
    free(req);
}

/* The last thing done with a request: its outcome (on_error when err is set), on_close, and
 * the free. The caller must not touch req, or its origin, afterwards. */
static void req_finish(struct http_client_request *req, int err, const char *message)
{
    req->state = REQ_FINISHING;
    loop_timer_stop(req->loop, &req->continue_timer);
    if (err && req->ev.on_error)
        req->ev.on_error(req, err, message);
    if (req->ev.on_close)
        req->ev.on_close(req);
    req_free(req);
}

static long on_finish_timer(struct loop *loop, void *arg)
{
    struct http_client_request *req = arg;
    req_finish(req, req->finish_err, req->finish_msg);
    return LOOP_TIMER_STOP; /* req, which holds this timer, is gone */
}

/* Finishes from the loop: for abort and destroy, which an application calls from its own
 * callbacks, where being called back again would surprise it. */
static void req_finish_later(struct http_client_request *req, int err, const char *message)
{
    req->state = REQ_FINISHING;
    req->finish_err = err;
    snprintf(req->finish_msg, sizeof req->finish_msg, "%s", message ? message : "");
    loop_timer_stop(req->loop, &req->continue_timer);
    loop_timer_start(req->loop, &req->finish_timer, 0);
}

/* ---- The queue of requests waiting for a connection, per origin ---- */

static void queue_push(struct http_origin *o, struct http_client_request *req, int front)
{
    req->origin = o;
    req->state = REQ_QUEUED;
    if (front) {
        req->queue_prev = NULL;
        req->queue_next = o->queue_head;
        if (o->queue_head)
            o->queue_head->queue_prev = req;
        else
            o->queue_tail = req;
        o->queue_head = req;
    } else {
        req->queue_next = NULL;
        req->queue_prev = o->queue_tail;
        if (o->queue_tail)
            o->queue_tail->queue_next = req;
        else
            o->queue_head = req;
        o->queue_tail = req;
    }
}

static void queue_remove(struct http_client_request *req)
{
    struct http_origin *o = req->origin;
    if (req->queue_prev)
        req->queue_prev->queue_next = req->queue_next;
    else
        o->queue_head = req->queue_next;
    if (req->queue_next)
        req->queue_next->queue_prev = req->queue_prev;
    else
        o->queue_tail = req->queue_prev;
    req->queue_prev = req->queue_next = NULL;
    req->origin = NULL;
}

/* ---- Origins ---- */

static struct http_origin *origin_get(struct http_agent *a, const char *host, int port)
{
    for (struct http_origin *o = a->origins; o; o = o->next)
        if (o->port == port && strcmp(o->host, host) == 0)
            return o;
    struct http_origin *o = xcalloc(1, sizeof *o);
    char name[NET_ADDR_LEN + 256];
    format_authority(name, sizeof name, host, port);
    o->agent = a;
    o->host = xstrdup(host);
    o->port = port;
    o->name = xstrdup(name);
    o->next = a->origins;
    a->origins = o;
    return o;
}

static void conn_link_front(struct http_origin *o, struct http_conn *c)
{
    c->prev = NULL;
    c->next = o->conns;
    if (o->conns)
        o->conns->prev = c;
    o->conns = c;
}

static void conn_unlink(struct http_origin *o, struct http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        o->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* LAB 4 BEGIN
 * Two helpers for origin_dispatch, over an origin's pool (o->conns, a list linked by next,
 * in which conn_release puts each newly idle connection at the front):
 *   static struct http_conn *origin_idle_conn(struct http_origin *o): the first connection
 *     of the list that carries no request (c->req == NULL), the most recently used; or NULL.
 *   static int origin_has_room(const struct http_origin *o): whether one more connection may
 *     be opened: o->nconns below o->agent->opts.max_sockets (0 means no limit).
 */
/* The most recently idle connection (they are kept at the front), or NULL. */
static struct http_conn *origin_idle_conn(struct http_origin *o)
{
    for (struct http_conn *c = o->conns; c; c = c->next)
        if (!c->req)
            return c;
    return NULL;
}

static int origin_has_room(const struct http_origin *o)
{
    size_t max = o->agent->opts.max_sockets;
    return max == 0 || o->nconns < max;
}
/* LAB 4 END */

/* ---- Connections ---- */

/* Takes c out of the pool: it no longer counts against max_sockets, and a queued request may
 * now get a connection of its own. */
static void conn_detach(struct http_conn *c)
{
    struct http_origin *o = c->origin;
    if (!o)
        return;
    conn_unlink(o, c);
    o->nconns--;
    if (!c->req)
        o->nfree--;
    c->origin = NULL;
    agent_schedule(o->agent);
}

static void conn_destroy(struct http_conn *c)
{
    conn_detach(c);
    stream_destroy(c->s);
}

static void conn_unassign(struct http_conn *c)
{
    struct http_client_request *req = c->req;
    loop_timer_stop(req->loop, &req->continue_timer);
    req->conn = NULL;
    c->req = NULL;
    if (c->origin)
        c->origin->nfree++; /* idle, until released or destroyed */
}

/* A connection whose response ended cleanly: back to the front of the pool, with the agent's
 * idle timeout, unless the pool for this origin is full. */
static void conn_release(struct http_conn *c)
{
    /* LAB 4 BEGIN
     * A response ended and the connection may carry another request: keep it in the pool,
     * unless the origin already keeps more than opts.max_free_sockets idle ones (o->nfree) or
     * the connection left the pool (c->origin is NULL): then conn_destroy it. Kept, it moves
     * to the front of o->conns (conn_unlink, conn_link_front) so the warmest connection is
     * reused first, gets the idle timeout opts.free_socket_timeout_ms (stream_set_timeout),
     * and agent_schedule lets a queued request have it. The stub never pools.
     * STUB: conn_destroy(c);
     */
    struct http_origin *o = c->origin;
    if (!o || o->nfree > o->agent->opts.max_free_sockets) {
        conn_destroy(c);
        return;
    }
    conn_unlink(o, c);
    conn_link_front(o, c);
    stream_set_timeout(c->s, o->agent->opts.free_socket_timeout_ms);
    trace_event(c->s->id, "free", c->s->peer, "back in the pool (%zu idle for %s)", o->nfree,
                o->name);
    agent_schedule(o->agent);
    /* LAB 4 END */
}

/* Whether the connection can carry another request after this response (RFC 9112 §9.3):
 * both sides allow it, the request went out whole, and the stream is still open. */
static int conn_reusable(const struct http_conn *c, const struct http_client_request *req)
{
    /* LAB 4 BEGIN
     * Whether c may carry another request after this response (RFC 9112 section 9.3): the
     * connection is still in a pool (c->origin) whose agent keeps connections alive
     * (opts.keep_alive); the response allowed it (req->resp_keep_alive: HTTP/1.1 without
     * "Connection: close", or HTTP/1.0 with "Connection: keep-alive"); our request went out
     * whole (req->ended, no dropped or unsent body: req->body_dropped, buf_len(&req->body));
     * and the server has not ended or closed the stream (stream_peer_ended, stream_closed).
     * The stub never reuses: one connection per request, as without an agent.
     * STUB: return 0;
     */
    return c->origin && c->origin->agent->opts.keep_alive && req->resp_keep_alive && req->ended &&
           !req->body_dropped && buf_len(&req->body) == 0 && !stream_peer_ended(c->s) &&
           !stream_closed(c->s);
    /* LAB 4 END */
}

/* ---- Sending ---- */

static int req_may_retry(const struct http_client_request *req)
{
    return req->idempotent && !req->retried && !req->response_started && !req->replay_lost;
}

static void send_head(struct http_client_request *req, struct http_conn *c)
{
    const char *head = buf_data(&req->head);
    size_t len = buf_len(&req->head);
    const char *eol = memchr(head, '\r', len);
    trace_event(c->s->id, "request", c->s->peer, "%.*s", (int)(eol ? eol - head : 0), head);
    trace_lines("> ", head, len);
    stream_write(c->s, head, len);
    req->head_sent = 1;
    c->origin->agent->stats.requests_sent++;
    if (req->holding)
        loop_timer_start(req->loop, &req->continue_timer, req->continue_timeout_ms);
}

/* Writes the framed body bytes we hold, keeping a copy while a retry may need them again. */
static void send_body(struct http_client_request *req, struct http_conn *c)
{
    size_t len = buf_len(&req->body);
    stream_write(c->s, buf_data(&req->body), len);
    if (req_may_retry(req) && buf_len(&req->replay) + len <= REPLAY_MAX) {
        buf_append(&req->replay, buf_data(&req->body), len);
    } else {
        req->replay_lost = 1;
        buf_free(&req->replay);
    }
    buf_clear(&req->body);
}

static int req_writable(struct http_client_request *req)
{
    size_t queued = buf_len(&req->body) + (req->conn ? stream_queued(req->conn->s) : 0);
    if (queued < STREAM_HIGH_WATER)
        return 1;
    req->need_drain = 1;
    return 0;
}

/* Tells a writer that waited for on_drain that it may go on, once what we hold has gone. */
static void req_maybe_drained(struct http_client_request *req)
{
    if (!req->need_drain || req->state == REQ_FINISHING || !req_writable(req))
        return;
    req->need_drain = 0;
    if (req->ev.on_drain)
        req->ev.on_drain(req);
}

/* Sends what can be sent now: the head once the framing is decided, then the body unless it
 * is held for 100 Continue. */
static void req_flush(struct http_client_request *req)
{
    struct http_conn *c = req->conn;
    /* The stream would queue bytes until it connects, but waiting keeps the trace in the
     * order things happen: connect, then the request. */
    if (!c || !c->connected || !req->committed || req->state != REQ_ACTIVE)
        return;
    if (!req->head_sent)
        send_head(req, c);
    if (!req->holding && buf_len(&req->body) > 0)
        send_body(req, c);
}

/* req_flush from the loop (a connection assigned or connected, 100 Continue): a writer that
 * was told to wait while the body piled up is told to go on once it has gone out, since the
 * stream only reports a drain after a write of its own returned 0. */
static void req_flush_from_loop(struct http_client_request *req)
{
    req_flush(req);
    req_maybe_drained(req);
}

/* Decides the body's framing and completes the head. For HTTP_CLIENT_LENGTH the whole body is
 * already in req->body. */
static void req_commit(struct http_client_request *req, enum http_client_framing framing)
{
    if (req->user_framing) {
        format_framing(&req->head, HTTP_CLIENT_NO_BODY, 0);
        req->chunked = req->user_chunked;
    } else {
        format_framing(&req->head, framing, buf_len(&req->body));
        req->chunked = framing == HTTP_CLIENT_CHUNKED;
    }
    req->committed = 1;
}

/* The framing when http_client_end comes before any write: the whole body is known. */
static enum http_client_framing whole_body_framing(const struct http_client_request *req)
{
    if (buf_len(&req->body) > 0 || req->expects_body)
        return HTTP_CLIENT_LENGTH;
    return HTTP_CLIENT_NO_BODY;
}

static void append_chunk(struct buf *out, const void *data, size_t len)
{
    buf_printf(out, "%zx\r\n", len);
    buf_append(out, data, len);
    buf_append_str(out, "\r\n");
}

/* ---- Agent dispatch: requests meet connections ---- */

static void conn_on_connect(struct stream *s);
static size_t conn_on_data(struct stream *s, const char *data, size_t len);
static void conn_on_end(struct stream *s);
static void conn_on_drain(struct stream *s);
static void conn_on_timeout(struct stream *s);
static void conn_on_close(struct stream *s);

/* Puts req on c and tells the application which socket it got. */
static void conn_assign(struct http_conn *c, struct http_client_request *req)
{
    struct http_agent *a = c->origin->agent;
    int reused = c->requests > 0;
    c->req = req;
    c->requests++;
    req->conn = c;
    req->state = REQ_ACTIVE;
    req->in_body = 0;
    if (reused)
        a->stats.reused++;
    stream_set_timeout(c->s, req->timeout_ms);
    trace_event(c->s->id, "socket", c->s->peer, reused ? "reused (request %lu on it)" : "new",
                c->requests);
    if (req->ev.on_socket)
        req->ev.on_socket(req, c->s, reused);
    if (req->conn != c)
        return; /* aborted in on_socket */
    if (!req->committed && req->expect_continue)
        req_commit(req, HTTP_CLIENT_CHUNKED); /* the head must go now: the body is not known */
    req_flush_from_loop(req);
}

static void conn_open(struct http_origin *o, struct http_client_request *req)
{
    char err[NET_ERR_LEN];
    struct stream *s = stream_connect(o->agent->loop, o->host, o->port, err);
    if (!s) {
        req_finish(req, EHOSTUNREACH, err);
        return;
    }
    if (o->agent->opts.tls)
        stream_start_tls_client(s, o->agent->opts.tls, o->host);
    struct http_conn *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->origin = o;
    s->user = c;
    s->on_connect = conn_on_connect;
    s->on_data = conn_on_data;
    s->on_end = conn_on_end;
    s->on_drain = conn_on_drain;
    s->on_timeout = conn_on_timeout;
    s->on_close = conn_on_close;
    o->nconns++;
    conn_link_front(o, c);
    conn_assign(c, req);
}

/* Gives queued requests connections, oldest first: an idle one from the pool (unless the
 * request is a retry, which wants a new one), else a new one while there is room. */
static void origin_dispatch(struct http_origin *o)
{
    /* LAB 4 BEGIN
     * The agent's heart. While requests wait in o's queue (o->queue_head, oldest first; stop
     * if the agent was destroyed meanwhile), take the oldest and give it a connection:
     *  - an idle one from the pool (origin_idle_conn), unless the request is a retry
     *    (req->need_fresh), which wants a new one: queue_remove it, count the idle connection
     *    out of o->nfree, and conn_assign(idle, req);
     *  - else a new one (queue_remove, conn_open) if origin_has_room;
     *  - else, when a retry meets a full pool, conn_destroy an idle connection to make room;
     *    with no idle connection either, stop: the request waits for one to come free
     *    (conn_release and conn_detach call agent_schedule, which calls this again).
     * The stub opens a new connection for every request, without limit.
     * STUB: while (o->queue_head && !o->agent->destroyed) {
     * STUB:     struct http_client_request *req = o->queue_head;
     * STUB:     queue_remove(req);
     * STUB:     conn_open(o, req);
     * STUB: }
     */
    struct http_agent *a = o->agent;
    while (o->queue_head && !a->destroyed) {
        struct http_client_request *req = o->queue_head;
        struct http_conn *idle = origin_idle_conn(o);
        if (idle && !req->need_fresh) {
            queue_remove(req);
            o->nfree--;
            conn_assign(idle, req);
            continue;
        }
        if (!origin_has_room(o)) {
            /* Full: wait for a connection to come free, unless this is a retry and an idle
             * one can make room for the new connection it wants. */
            if (!idle)
                break;
            conn_destroy(idle);
        }
        queue_remove(req);
        conn_open(o, req);
    }
    /* LAB 4 END */
}

static void agent_free(struct http_agent *a);

static long on_dispatch(struct loop *loop, void *arg)
{
    struct http_agent *a = arg;
    a->dispatching = 1;
    for (struct http_origin *o = a->origins; o && !a->destroyed; o = o->next)
        origin_dispatch(o);
    a->dispatching = 0;
    if (a->destroyed)
        agent_free(a); /* destroyed by a callback while we dispatched */
    return LOOP_TIMER_STOP;
}

static void agent_schedule(struct http_agent *a)
{
    if (!a->destroyed && !loop_timer_active(&a->dispatch_timer))
        loop_timer_start(a->loop, &a->dispatch_timer, 0);
}

/* ---- Failures and retries ---- */

/* Sends req again on a new connection, ahead of the requests that came after it. */
static void req_retry(struct http_client_request *req, struct http_origin *o)
{
    struct buf again = BUF_INIT;
    buf_append(&again, buf_data(&req->replay), buf_len(&req->replay));
    buf_append(&again, buf_data(&req->body), buf_len(&req->body));
    buf_free(&req->replay);
    buf_free(&req->body);
    req->body = again;
    req->head_sent = 0;
    req->retried = 1;
    req->need_fresh = 1;
    o->agent->stats.retried++;
    trace_event(0, "retry", o->name, "the reused connection failed before any response byte");
    queue_push(o, req, 1);
    agent_schedule(o->agent);
}

/* The connection under a request failed (closed, reset, timed out, or sent what we cannot
 * parse). An idempotent request that saw no response byte, on a connection that had carried
 * another request (so the server may simply have closed it as idle), goes again; any other
 * fails with message. */
static void conn_lost(struct http_conn *c, int err, const char *message, int may_retry)
{
    struct http_client_request *req = c->req;
    struct http_origin *o = c->origin;
    int retry = may_retry && o && c->requests > 1 && req_may_retry(req);
    conn_unassign(c);
    conn_destroy(c);
    if (retry)
        req_retry(req, o);
    else
        req_finish(req, err, message);
}

/* The one-line message for a connection that closed under a request. */
static void lost_message(const struct http_conn *c, int err, char out[HTTP_CLIENT_ERR_LEN])
{
    const char *name = c->origin ? c->origin->name : c->s->peer;
    /* The stream's own error may say more than errno can (what TLS found wrong). */
    const char *why = err && err == c->s->error ? stream_error_text(c->s) : strerror(err);
    if (!c->connected)
        snprintf(out, HTTP_CLIENT_ERR_LEN, "connect %s: %s", name, why);
    else if (err)
        snprintf(out, HTTP_CLIENT_ERR_LEN, "%s: %s", name, why);
    else if (c->req->response_started)
        snprintf(out, HTTP_CLIENT_ERR_LEN, "%s: connection closed before the end of the response",
                 name);
    else
        snprintf(out, HTTP_CLIENT_ERR_LEN, "%s: connection closed before any response", name);
}

static void conn_fail_protocol(struct http_conn *c, const char *what, const char *reason)
{
    char msg[HTTP_CLIENT_ERR_LEN];
    snprintf(msg, sizeof msg, "%s: %s: %s", c->origin ? c->origin->name : c->s->peer, what,
             reason ? reason : "?");
    conn_lost(c, EPROTO, msg, 0);
}

/* ---- Reading the response ---- */

static void response_complete(struct http_conn *c, int extra_bytes)
{
    struct http_client_request *req = c->req;
    int reuse = conn_reusable(c, req) && !extra_bytes;
    conn_unassign(c);
    if (reuse)
        conn_release(c);
    else
        conn_destroy(c);
    req->state = REQ_FINISHING;
    if (req->ev.on_end)
        req->ev.on_end(req);
    req_finish(req, 0, NULL);
}

/* 101 to an Upgrade request, or 2xx to CONNECT: the stream stops being HTTP and becomes the
 * application's, with the bytes that followed the head. */
static void hand_over(struct http_conn *c, const struct http_response *resp, const char *rest,
                      size_t rest_len)
{
    struct http_client_request *req = c->req;
    struct stream *s = c->s;
    http_client_takeover_fn *fn = req->is_connect ? req->ev.on_connect : req->ev.on_upgrade;
    conn_unassign(c);
    conn_detach(c);
    free(c);
    s->on_connect = NULL, s->on_data = NULL, s->on_end = NULL, s->on_drain = NULL;
    s->on_timeout = NULL, s->on_error = NULL, s->on_close = NULL;
    s->user = NULL;
    stream_set_timeout(s, 0);
    req->state = REQ_FINISHING;
    if (fn)
        fn(req, resp, s, rest, rest_len);
    else
        stream_destroy(s); /* no one to hand it to: Node closes it too */
    req_finish(req, 0, NULL);
}

static void release_held_body(struct http_client_request *req)
{
    req->holding = 0;
    loop_timer_stop(req->loop, &req->continue_timer);
    req_flush_from_loop(req);
}

static long on_continue_timeout(struct loop *loop, void *arg)
{
    struct http_client_request *req = arg;
    struct stream *s = req->conn->s; /* the timer runs only while the request is on one */
    trace_event(s->id, "continue", s->peer,
                "no 100 Continue within %" PRIu64 " ms: sending the body anyway",
                req->continue_timeout_ms);
    release_held_body(req);
    return LOOP_TIMER_STOP;
}

/* 1xx: 100 Continue lets a held body go; the others (102, 103) are informational only. */
static enum step interim_head(struct http_conn *c, const struct http_response *resp)
{
    struct http_client_request *req = c->req;
    if (resp->status != 100 || !req->holding)
        return STEP_AGAIN;
    if (req->ev.on_continue)
        req->ev.on_continue(req);
    if (c->req != req)
        return STEP_GONE;
    release_held_body(req);
    return c->req == req ? STEP_AGAIN : STEP_GONE;
}

/* The final response head: remember how its body is framed, then tell the application. */
static enum step final_head(struct http_conn *c, const struct http_response *resp)
{
    struct http_client_request *req = c->req;
    if (req->holding) {
        /* A final answer instead of 100 Continue: the server does not want the body. */
        req->body_dropped = 1;
        buf_clear(&req->body);
        loop_timer_stop(req->loop, &req->continue_timer);
    }
    req->in_body = 1;
    req->body_kind = resp->body;
    req->remaining = resp->content_length > 0 ? (uint64_t)resp->content_length : 0;
    req->resp_keep_alive = resp->keep_alive;
    http_chunked_init(&req->chunks);
    if (req->ev.on_response)
        req->ev.on_response(req, resp);
    if (c->req != req)
        return STEP_GONE;
    if (resp->body == HTTP_BODY_NONE || (resp->body == HTTP_BODY_LENGTH && req->remaining == 0))
        return STEP_COMPLETE;
    return STEP_AGAIN;
}

static enum step read_head(struct http_conn *c, const char *p, size_t len, size_t *used)
{
    struct http_client_request *req = c->req;
    struct http_response resp;
    ssize_t n = http_parse_response(p, len, &resp, req->is_head, NULL);
    *used = 0;
    if (n == HTTP_INCOMPLETE)
        return STEP_NEED_MORE; /* consume nothing: the stream keeps the bytes for next time */
    if (n == HTTP_ERROR) {
        conn_fail_protocol(c, "bad response", resp.error);
        return STEP_GONE;
    }
    *used = (size_t)n;
    trace_event(c->s->id, "response", c->s->peer, "%d %.*s", resp.status, (int)resp.reason.len,
                resp.reason.ptr);
    trace_lines("< ", p, (size_t)n);
    if (resp.status == 101 && !req->wants_upgrade) {
        conn_fail_protocol(c, "bad response",
                           "101 Switching Protocols to a request without Upgrade");
        return STEP_GONE;
    }
    if (resp.status == 101 || (req->is_connect && resp.status / 100 == 2)) {
        hand_over(c, &resp, p + n, len - (size_t)n);
        return STEP_GONE;
    }
    if (resp.status < 200)
        return interim_head(c, &resp);
    return final_head(c, &resp);
}

static void emit_data(struct http_client_request *req, const char *p, size_t len)
{
    if (len > 0 && req->ev.on_data)
        req->ev.on_data(req, p, len);
}

static enum step read_chunked(struct http_conn *c, const char *p, size_t len, size_t *used)
{
    struct http_client_request *req = c->req;
    struct slice data;
    int rc = http_chunked_decode(&req->chunks, p, len, used, &data);
    if (rc == HTTP_ERROR) {
        conn_fail_protocol(c, "bad chunked body", req->chunks.error);
        return STEP_GONE;
    }
    emit_data(req, data.ptr, data.len);
    if (c->req != req)
        return STEP_GONE;
    return rc == HTTP_DONE ? STEP_COMPLETE : STEP_AGAIN;
}

static enum step read_body(struct http_conn *c, const char *p, size_t len, size_t *used)
{
    struct http_client_request *req = c->req;
    if (req->body_kind == HTTP_BODY_CHUNKED)
        return read_chunked(c, p, len, used);
    *used = len;
    if (req->body_kind == HTTP_BODY_LENGTH && req->remaining < len)
        *used = (size_t)req->remaining;
    emit_data(req, p, *used);
    if (c->req != req)
        return STEP_GONE;
    if (req->body_kind == HTTP_BODY_LENGTH) {
        req->remaining -= *used;
        if (req->remaining == 0)
            return STEP_COMPLETE;
    }
    return STEP_AGAIN;
}

/* The first byte of a response ends any chance of a retry: the server has seen the request. */
static void response_started(struct http_client_request *req)
{
    if (req->response_started)
        return;
    req->response_started = 1;
    buf_free(&req->replay);
}

static size_t conn_on_data(struct stream *s, const char *data, size_t len)
{
    struct http_conn *c = s->user;
    if (!c->req) {
        /* Nothing was asked: these bytes belong to no request, and the connection cannot be
         * trusted to frame the next response right. */
        trace_event(s->id, "error", s->peer, "%zu unexpected bytes on an idle connection", len);
        conn_destroy(c);
        return len;
    }
    response_started(c->req);
    size_t used = 0;
    while (used < len) {
        size_t n = 0;
        enum step st = c->req->in_body ? read_body(c, data + used, len - used, &n)
                                       : read_head(c, data + used, len - used, &n);
        used += n;
        if (st == STEP_NEED_MORE)
            return used;
        if (st == STEP_GONE)
            return len;
        if (st == STEP_COMPLETE) {
            response_complete(c, used < len);
            return len;
        }
    }
    return used;
}

/* ---- The other stream events ---- */

static void conn_on_connect(struct stream *s)
{
    struct http_conn *c = s->user;
    c->connected = 1;
    if (c->origin)
        c->origin->agent->stats.connections_opened++;
    if (c->req)
        req_flush_from_loop(c->req);
}

static void conn_on_end(struct stream *s)
{
    struct http_conn *c = s->user;
    struct http_client_request *req = c->req;
    if (!req) {
        /* The server closed an idle connection (its keep-alive timeout): drop it from the
         * pool now, so that no request is sent on it. */
        trace_event(s->id, "pool", s->peer, "closed by the server while idle: dropped");
        conn_destroy(c);
        return;
    }
    if (req->in_body && req->body_kind == HTTP_BODY_UNTIL_CLOSE) {
        response_complete(c, 0); /* the close is the end of this body */
        return;
    }
    char msg[HTTP_CLIENT_ERR_LEN];
    lost_message(c, 0, msg);
    conn_lost(c, ECONNRESET, msg, 1);
}

static void conn_on_drain(struct stream *s)
{
    struct http_conn *c = s->user;
    if (c->req)
        req_maybe_drained(c->req);
}

static void conn_on_timeout(struct stream *s)
{
    struct http_conn *c = s->user;
    if (!c->req) {
        conn_destroy(c); /* idle in the pool for free_socket_timeout_ms */
        return;
    }
    char msg[HTTP_CLIENT_ERR_LEN];
    snprintf(msg, sizeof msg, "%s: timed out: nothing for %" PRIu64 " ms",
             c->origin ? c->origin->name : s->peer, c->req->timeout_ms);
    conn_lost(c, ETIMEDOUT, msg, 0);
}

static void conn_on_close(struct stream *s)
{
    struct http_conn *c = s->user;
    if (c->req) {
        char msg[HTTP_CLIENT_ERR_LEN];
        int err = s->error ? s->error : ECONNRESET;
        lost_message(c, s->error, msg);
        conn_lost(c, err, msg, c->connected);
    } else {
        conn_detach(c);
    }
    free(c);
}

/* ---- The public API ---- */

void http_agent_options_init(struct http_agent_options *o)
{
    o->keep_alive = 0;
    o->max_sockets = HTTP_AGENT_DEFAULT_MAX_SOCKETS;
    o->max_free_sockets = HTTP_AGENT_DEFAULT_MAX_FREE_SOCKETS;
    o->free_socket_timeout_ms = HTTP_AGENT_DEFAULT_FREE_SOCKET_TIMEOUT;
}

struct http_agent *http_agent_new(struct loop *loop, const struct http_agent_options *opts)
{
    struct http_agent *a = xcalloc(1, sizeof *a);
    a->loop = loop;
    if (opts)
        a->opts = *opts;
    else
        http_agent_options_init(&a->opts);
    loop_timer_init(&a->dispatch_timer, on_dispatch, a);
    return a;
}

void http_agent_stats(const struct http_agent *a, struct http_agent_stats *out)
{
    *out = a->stats;
}

/* Cancels everything on one origin and frees it. */
static void origin_free(struct http_origin *o)
{
    while (o->queue_head) {
        struct http_client_request *req = o->queue_head;
        queue_remove(req);
        req_finish_later(req, ECANCELED, "the agent was destroyed");
    }
    while (o->conns) {
        struct http_conn *c = o->conns;
        if (c->req) {
            struct http_client_request *req = c->req;
            conn_unassign(c);
            req_finish_later(req, ECANCELED, "the agent was destroyed");
        }
        conn_destroy(c);
    }
    free(o->host);
    free(o->name);
    free(o);
}

static void agent_free(struct http_agent *a)
{
    loop_timer_stop(a->loop, &a->dispatch_timer);
    while (a->origins) {
        struct http_origin *o = a->origins;
        a->origins = o->next;
        origin_free(o);
    }
    free(a);
}

void http_agent_destroy(struct http_agent *a)
{
    if (!a || a->destroyed)
        return;
    a->destroyed = 1;
    if (!a->dispatching)
        agent_free(a);
}

/* Works out, once, what the options mean for sending and reading. */
static void req_read_options(struct http_client_request *req, const struct http_client_options *o)
{
    struct slice method = slice_from(method_of(o));
    req->is_head = slice_eq(method, "HEAD");
    req->is_connect = slice_eq(method, "CONNECT");
    req->idempotent = http_method_is_idempotent(method);
    req->expects_body =
        slice_eq(method, "POST") || slice_eq(method, "PUT") || slice_eq(method, "PATCH");
    req->wants_upgrade = has_header(o, "upgrade");
    req->user_framing = user_frames_body(o);
    for (size_t i = 0; i < o->num_headers; i++)
        if (slice_eq_nocase(slice_from(o->headers[i].name), "transfer-encoding"))
            req->user_chunked = http_token_list_has(slice_from(o->headers[i].value), "chunked");
    req->expect_continue = o->expect_continue;
    req->holding = o->expect_continue;
    req->timeout_ms = o->timeout_ms;
    req->continue_timeout_ms =
        o->continue_timeout_ms ? o->continue_timeout_ms : HTTP_CLIENT_DEFAULT_CONTINUE_TIMEOUT;
}

struct http_client_request *http_client_request(struct http_agent *agent,
                                                const struct http_client_options *opts,
                                                const struct http_client_events *events, void *user,
                                                char err[HTTP_CLIENT_ERR_LEN])
{
    if (http_client_check_options(opts, err) < 0)
        return NULL;
    struct http_client_request *req = xcalloc(1, sizeof *req);
    if (events)
        req->ev = *events;
    req->user = user;
    req->loop = agent->loop;
    loop_timer_init(&req->continue_timer, on_continue_timeout, req);
    loop_timer_init(&req->finish_timer, on_finish_timer, req);
    req_read_options(req, opts);
    format_fields(&req->head, opts, agent->opts.keep_alive);
    queue_push(origin_get(agent, opts->host, port_of(opts)), req, 0);
    agent_schedule(agent);
    return req;
}

int http_client_write(struct http_client_request *req, const void *data, size_t len)
{
    if (req->state == REQ_FINISHING || req->ended)
        return 0;
    if (!req->committed)
        req_commit(req, HTTP_CLIENT_CHUNKED);
    if (req->body_dropped || len == 0)
        return 1; /* a zero-length chunk would end the body, so nothing is written */
    if (req->chunked)
        append_chunk(&req->body, data, len);
    else
        buf_append(&req->body, data, len);
    req_flush(req);
    return req_writable(req);
}

void http_client_end(struct http_client_request *req, const void *data, size_t len)
{
    if (req->state == REQ_FINISHING || req->ended)
        return;
    if (!req->committed && !req->user_framing) {
        buf_append(&req->body, data, len);
        req_commit(req, whole_body_framing(req));
    } else {
        http_client_write(req, data, len);
        if (req->chunked && !req->body_dropped)
            buf_append_str(&req->body, "0\r\n\r\n");
    }
    req->ended = 1;
    req_flush(req);
}

void http_client_abort(struct http_client_request *req)
{
    if (req->state == REQ_FINISHING)
        return;
    if (req->state == REQ_QUEUED) {
        queue_remove(req);
    } else if (req->conn) {
        struct http_conn *c = req->conn;
        conn_unassign(c);
        conn_destroy(c); /* a half-read response leaves it unusable */
    }
    req_finish_later(req, 0, NULL);
}

void *http_client_user(const struct http_client_request *req)
{
    return req->user;
}
