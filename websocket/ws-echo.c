/* ws-echo - the raw-socket WebSocket echo server of document 000 (section 四, up.js), done right.
 *
 * The document builds a WebSocket server on a bare TCP server: it reads the HTTP upgrade
 * request itself, answers 101 Switching Protocols, and then decodes frames by hand and sends
 * each message back. This program does the same on a plain TCP listener, without an HTTP
 * server library, so every step of the handshake is here to read:
 *
 *   ./bin/ws-echo -v                     then open http://127.0.0.1:8888/ in a browser
 *   ./bin/ws-echo --prefix '服务器说: '   document 003's echo, which answers with a prefix
 *   ./bin/ws-echo --legacy -v            also speaks the old draft-76 of document 001
 *
 * What the document's up.js gets wrong and this file does right:
 *  - it takes the first 'data' event to be the whole request; here the bytes are kept until
 *    http_parse_request says the head is complete, however the reads cut it;
 *  - it finds headers with split(': ') and case-sensitive names; http_parser and ws_upgrade
 *    compare names without case and read Connection as a token list;
 *  - it takes each later 'data' event to be one frame of at most 125 bytes; ws_conn reads any
 *    length, any number of frames per read, fragmented messages, pings and the close
 *    handshake, and fails a connection that breaks a rule with the right close code;
 *  - it writes without looking at the answer; here a client that does not read its echoes
 *    stops being read (back-pressure) until they drain.
 *
 * A plain GET / (no upgrade) gets the echo page (websocket/up.html, compiled in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "http_parser.h"
#include "loop.h"
#include "server.h"
#include "stream.h"
#include "tls.h"
#include "trace.h"
#include "utf8.h"
#include "ws_conn.h"
#include "ws_frame.h"
#include "ws_upgrade.h"

/* websocket/up.html, embedded at build time (tests/tools/embed.sh). */
extern const char page_up[];
extern const unsigned long page_up_len;

#define MAX_LIST 16            /* --origin and --protocol values */
#define LINGER_MS 2000         /* after an HTTP answer, time for the client to read it and close */
#define SHUTDOWN_GRACE_MS 3000 /* after SIGINT/SIGTERM, time for clients to answer our close */
#define SHOWN_TEXT 200         /* bytes of a text message printed on stdout */

static const char usage[] =
    "Usage: ws-echo [options]\n"
    "The raw-socket WebSocket echo server of the Node tutorial (up.js): a TCP listener that\n"
    "reads the HTTP upgrade request itself, answers 101, and echoes every message with its\n"
    "type (text stays text, binary stays binary). A plain GET / gets an echo page.\n"
    "\n"
    "  -p, --port N             port to listen on (default 8888; 0 = any free port)\n"
    "  -b, --bind ADDR          address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "      --loop epoll|poll    event loop backend (default epoll)\n"
    "      --prefix TEXT        put TEXT before every echoed text message\n"
    "      --origin ORIGIN      accept only pages from ORIGIN, e.g. http://127.0.0.1:8888\n"
    "                           (repeatable; default: any origin; others get 403)\n"
    "      --protocol NAME      a sub-protocol spoken here (repeatable, preferred first)\n"
    "      --legacy             also accept the old draft-76 handshake and its 00 text FF frames\n"
    "      --max-message N      close with 1009 a message over N bytes (default 16M; K, M, G)\n"
    "      --ping MS            ping a client silent for MS, drop it if it stays silent (0 = off)\n"
    "      --headers-timeout MS drop a client whose handshake is not in after MS (default 10000)\n"
    "      --keepalive          turn on TCP keep-alive probes (SO_KEEPALIVE)\n"
    "      --max-connections N  stop accepting at N open connections (default 0 = no "
    "limit)\n" CLI_TLS_SERVER_HELP
    "  -v, --verbose            trace events on stderr, and dissect every frame (\"| \" lines)\n"
    "  -x, --hex                also hexdump the bytes in and out\n"
    "  -q, --quiet              print nothing but the ready line and errors\n"
    "  -h, --help               this text\n"
    "  -V, --version            version\n"
    "\n"
    "Try: open http://127.0.0.1:8888/ in a browser, or: ./bin/ws-client ws://127.0.0.1:8888/\n";

enum {
    OPT_PREFIX = CLI_OPT_FIRST_PROGRAM,
    OPT_ORIGIN,
    OPT_PROTOCOL,
    OPT_LEGACY,
    OPT_MAX_MESSAGE,
    OPT_PING,
    OPT_HEADERS_TIMEOUT,
    OPT_KEEPALIVE,
    OPT_MAX_CONN
};

struct settings {
    const char *prefix;
    size_t prefix_len;
    int legacy;
    size_t max_message;
    uint64_t ping_ms;
    uint64_t headers_timeout_ms;
    const char *origins[MAX_LIST];
    const char *protocols[MAX_LIST];
    struct ws_upgrade_policy policy; /* points at the two lists above */
};

static struct settings cfg = {.max_message = WS_DEFAULT_MAX_MESSAGE, .headers_timeout_ms = 10000};
static struct server srv;

/* A connection that has not become a WebSocket (yet): it is sending us an HTTP request. */
struct greeting {
    struct stream *s;
    struct loop_timer deadline; /* the handshake must be complete by then */
    int answered;               /* an HTTP response went out; the connection is ending */
};

static size_t on_request_data(struct stream *s, const char *data, size_t len);

/* ---- what stdout shows ---- */

/* Prints text on one line: control characters escaped, cut after SHOWN_TEXT bytes (at the start
 * of a UTF-8 character, never in the middle of one). */
static void print_text(const char *text, size_t len)
{
    size_t shown = len;
    if (shown > SHOWN_TEXT) {
        shown = SHOWN_TEXT;
        while (shown > 0 && ((unsigned char)text[shown] & 0xc0) == 0x80)
            shown--;
    }
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    if (shown < len)
        printf("... (%zu bytes)", len);
}

static void print_message(const struct ws_conn *ws, int opcode, const char *data, size_t len)
{
    if (trace_cfg.quiet)
        return;
    fputs("server got: ", stdout);
    if (opcode == WS_OP_TEXT)
        print_text(data, len);
    else
        printf("%zu bytes of binary", len);
    printf(" from %s\n", ws->s->peer);
    fflush(stdout);
}

/* ---- the WebSocket side: echo ---- */

/* Sends the prefix and the text as one text message (both are UTF-8, so the whole is too). */
static int send_prefixed(struct ws_conn *ws, const char *data, size_t len)
{
    struct buf msg = BUF_INIT;
    buf_append(&msg, cfg.prefix, cfg.prefix_len);
    buf_append(&msg, data, len);
    int ok = ws_send(ws, WS_OP_TEXT, buf_data(&msg), buf_len(&msg));
    buf_free(&msg);
    return ok;
}

/* A whole message arrived (ws_conn has joined its fragments and checked text for UTF-8): send
 * it back as the same type. When the client is not reading its echoes fast enough, stop reading
 * its messages until the queue drains, so that it cannot make us buffer without limit. */
static void on_message(struct ws_conn *ws, int opcode, const char *data, size_t len)
{
    trace_event(ws->s->id, "message", ws->s->peer, "%s, %zu bytes", ws_opcode_name(opcode), len);
    print_message(ws, opcode, data, len);
    int ok;
    if (opcode == WS_OP_TEXT && cfg.prefix_len > 0)
        ok = send_prefixed(ws, data, len);
    else
        ok = ws_send(ws, opcode, data, len);
    if (!ok)
        stream_pause(ws->s);
}

static void on_drain(struct ws_conn *ws)
{
    stream_resume(ws->s);
}

static void on_close(struct ws_conn *ws, int code, const char *reason, size_t len)
{
    trace_event(ws->s->id, "close", ws->s->peer, "websocket %d%s%.*s", code, len ? " " : "",
                (int)len, reason);
    if (!trace_cfg.quiet) {
        printf("connection closed %s: %d", ws->s->peer, code);
        if (len > 0) {
            putchar(' ');
            print_text(reason, len);
        }
        putchar('\n');
        fflush(stdout);
    }
}

/* Whether a payload can be shown quoted on one trace line: short UTF-8 text, no controls. */
static int shows_as_text(const struct ws_header *h, const char *payload, size_t len)
{
    if (h->opcode == WS_OP_BINARY || len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)payload[i] < 0x20 || payload[i] == 0x7f)
            return 0;
    return utf8_check(payload, len) == 0;
}

/* -v: one line for the payload under a frame's fields. */
static void trace_payload(const struct ws_header *h, const char *payload)
{
    size_t len = (size_t)h->payload_len;
    struct ws_close c;
    struct ws_error err;
    if (h->opcode == WS_OP_CLOSE && ws_close_parse(payload, len, &c, &err) == 0) {
        trace_line("| ", "close code: %d, reason: \"%.*s\"", c.code, (int)c.reason_len,
                   c.reason ? c.reason : "");
    } else if (shows_as_text(h, payload, len)) {
        trace_line("| ", "payload: \"%.*s\"", (int)len, payload);
    } else if (len > 0) {
        char hex[16 * 3 + 1] = "";
        size_t shown = len < 16 ? len : 16, at = 0;
        for (size_t i = 0; i < shown; i++)
            at += (size_t)snprintf(hex + at, sizeof hex - at, "%s%02x", i ? " " : "",
                                   (unsigned char)payload[i]);
        trace_line("| ", "payload: %s%s", hex, shown < len ? " ..." : "");
    }
}

/* -v: every frame in and out, field by field as the RFC's diagram names them. payload is NULL
 * for a header that broke a rule (the connection is failing). */
static void on_frame(struct ws_conn *ws, char dir, const struct ws_header *h, const char *payload)
{
    char fields[256];
    trace_event(ws->s->id, "frame", ws->s->peer, "%s %s, %llu bytes",
                dir == '<' ? "received" : "sent", ws_opcode_name(h->opcode),
                (unsigned long long)h->payload_len);
    ws_frame_describe(h, fields, sizeof fields);
    trace_lines("| ", fields, strlen(fields));
    if (payload)
        trace_payload(h, payload);
}

/* The handshake is done: the stream now carries frames, and ws_conn reads them. */
static void become_websocket(struct stream *s, int legacy, struct slice origin)
{
    struct greeting *g = s->user;
    loop_timer_stop(s->loop, &g->deadline);
    free(g);
    struct ws_conn *ws = ws_conn_attach(s, WS_SERVER);
    ws->legacy = legacy;
    ws->max_message = cfg.max_message;
    ws->ping_interval_ms = cfg.ping_ms;
    ws->on_message = on_message;
    ws->on_drain = on_drain;
    ws->on_close = on_close;
    if (trace_on())
        ws->on_frame = on_frame;
    ws_conn_start_heartbeat(ws);
    if (!trace_cfg.quiet) {
        printf("connection from %s", s->peer);
        if (origin.len > 0)
            printf(", origin %.*s", (int)origin.len, origin.ptr);
        putchar('\n');
        fflush(stdout);
    }
}

/* ---- the HTTP side: one request per connection ---- */

/* Sends a response and ends the connection (Connection: close): one request per connection
 * keeps the HTTP side of this server small. head is traced ("> " lines) and freed. */
static void respond(struct stream *s, struct buf *head, const char *body, size_t body_len)
{
    struct greeting *g = s->user;
    trace_lines("> ", buf_data(head), buf_len(head));
    stream_write(s, buf_data(head), buf_len(head));
    if (body_len > 0)
        stream_write(s, body, body_len);
    buf_free(head);
    stream_end(s);
    g->answered = 1;
    loop_timer_start(s->loop, &g->deadline, LINGER_MS);
}

static void status_line(struct buf *head, int status)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    buf_printf(head, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, http_status_text(status), date);
}

/* An error status with a one-line text body that says what was wrong. */
static void respond_error(struct stream *s, int status, const char *reason)
{
    struct buf head = BUF_INIT;
    status_line(&head, status);
    buf_printf(&head,
               "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n%s\n",
               strlen(reason) + 1, reason);
    respond(s, &head, NULL, 0);
}

/* GET / (or HEAD /): the echo page. Everything else: 404, or 405 for another method. */
static void serve_page(struct stream *s, const struct http_request *req)
{
    int head_only = slice_eq(req->method, "HEAD");
    if (!head_only && !slice_eq(req->method, "GET")) {
        respond_error(s, 405, "only GET and HEAD are served here");
        return;
    }
    const char *query = memchr(req->target.ptr, '?', req->target.len);
    size_t path_len = query ? (size_t)(query - req->target.ptr) : req->target.len;
    if (path_len != 1 || req->target.ptr[0] != '/') {
        respond_error(s, 404, "not found: the echo page is at /");
        return;
    }
    struct buf head = BUF_INIT;
    status_line(&head, 200);
    buf_printf(&head,
               "Content-Type: text/html; charset=utf-8\r\nContent-Length: %lu\r\n"
               "Connection: close\r\n\r\n",
               page_up_len);
    respond(s, &head, page_up, head_only ? 0 : (size_t)page_up_len);
}

/* Whether the request tries to open a WebSocket. One that names WebSocket at all goes through
 * ws_upgrade_check, so a faulty handshake gets the status that says what is wrong (400, 426,
 * 403) instead of the page. */
static int wants_websocket(const struct http_request *req)
{
    const struct http_header *upgrade = http_header_find(req, "upgrade");
    return (upgrade && http_token_list_has(upgrade->value, "websocket")) ||
           http_header_find(req, "sec-websocket-key") ||
           http_header_find(req, "sec-websocket-key1") ||
           http_header_find(req, "sec-websocket-version");
}

static void refuse(struct stream *s, const struct ws_upgrade *up)
{
    struct buf out = BUF_INIT;
    trace_event(s->id, "error", s->peer, "handshake refused: %d %s", up->status, up->reason);
    ws_upgrade_error_response(up, &out);
    respond(s, &out, NULL, 0);
}

/* RFC 6455: 101 with Sec-WebSocket-Accept, and from the next byte on, frames. */
static void accept_rfc6455(struct stream *s, const struct ws_upgrade *up)
{
    struct buf out = BUF_INIT;
    ws_upgrade_response(up, &out);
    trace_event(s->id, "upgrade", s->peer, "websocket%s%s", up->protocol ? ", sub-protocol " : "",
                up->protocol ? up->protocol : "");
    trace_lines("> ", buf_data(&out), buf_len(&out));
    stream_write(s, buf_data(&out), buf_len(&out));
    buf_free(&out);
    become_websocket(s, 0, up->origin);
}

/* The old draft: the answer is an MD5 of Key1, Key2 and the 8 bytes (key3) after the head. */
static void accept_hixie76(struct stream *s, const struct http_request *req, const char *key3,
                           struct slice origin)
{
    struct buf out = BUF_INIT;
    if (ws_upgrade_hixie76_response(req, (const unsigned char *)key3, stream_is_tls(s), &out) < 0) {
        buf_free(&out);
        respond_error(s, 400, "Sec-WebSocket-Key1/Key2: a number that its spaces do not divide");
        return;
    }
    trace_event(s->id, "upgrade", s->peer, "websocket, draft-76 (legacy)");
    /* The 16 bytes after the head are the binary answer: trace the head only. */
    trace_lines("> ", buf_data(&out), buf_len(&out) - WS_HIXIE76_ANSWER_SIZE);
    stream_write(s, buf_data(&out), buf_len(&out));
    buf_free(&out);
    become_websocket(s, 1, origin);
}

static void trace_request(const struct stream *s, const struct http_request *req, const char *head,
                          size_t len)
{
    trace_event(s->id, "request", s->peer, "%.*s %.*s", (int)req->method.len, req->method.ptr,
                (int)req->target.len, req->target.ptr);
    trace_lines("< ", head, len);
}

/* A WebSocket handshake as ws_upgrade_check judged it: refuse it, or switch protocols. rest is
 * what came after the head. Returns how much of rest the handshake used: all of it after a
 * refusal, key3 for the old draft, none for RFC 6455 (what follows is already frames, which
 * the stream hands to ws_conn). */
static size_t answer_upgrade(struct stream *s, const struct http_request *req,
                             const struct ws_upgrade *up, const char *rest, size_t rest_len)
{
    if (up->status != 101) {
        refuse(s, up);
        return rest_len;
    }
    if (up->hixie76) {
        accept_hixie76(s, req, rest, up->origin);
        return WS_HIXIE76_KEY3_SIZE;
    }
    accept_rfc6455(s, up);
    return 0;
}

/* The HTTP side's only reader. The stream keeps what we do not consume, so each call sees
 * every byte since the connection opened, and the parser (which keeps no state) reads the head
 * from the start again: a head is a few hundred bytes, and at most 16 KiB. Returns how many
 * bytes the request used; the stream keeps the rest for whoever reads next. */
static size_t on_request_data(struct stream *s, const char *data, size_t len)
{
    struct greeting *g = s->user;
    if (g->answered)
        return len; /* our answer is on its way; nothing more is read */
    struct http_request req;
    ssize_t n = http_parse_request(data, len, &req, NULL);
    if (n == HTTP_INCOMPLETE)
        return 0;
    if (n == HTTP_ERROR) {
        trace_event(s->id, "error", s->peer, "bad request: %d %s", req.error_status, req.error);
        respond_error(s, req.error_status, req.error);
        return len;
    }
    size_t head_len = (size_t)n;
    struct ws_upgrade up = {0};
    int websocket = wants_websocket(&req);
    if (websocket && ws_upgrade_check(&req, &cfg.policy, cfg.legacy, &up) == 101 && up.hixie76 &&
        len - head_len < WS_HIXIE76_KEY3_SIZE)
        return 0; /* the old draft's 8-byte key3 follows the head: wait until all of it is here */
    trace_request(s, &req, data, head_len);
    if (!websocket) {
        serve_page(s, &req);
        return len;
    }
    return answer_upgrade(s, &req, &up, data + head_len, len - head_len) + head_len;
}

/* The handshake took too long (or, once answered, the client did not close): drop it. */
static long on_deadline(struct loop *loop, void *arg)
{
    struct greeting *g = arg;
    if (!g->answered)
        trace_event(g->s->id, "timeout", g->s->peer, "no complete handshake after %llu ms",
                    (unsigned long long)cfg.headers_timeout_ms);
    stream_destroy(g->s);
    return LOOP_TIMER_STOP;
}

static void on_greeting_close(struct stream *s)
{
    struct greeting *g = s->user;
    loop_timer_stop(s->loop, &g->deadline);
    free(g);
}

static void on_connection(struct server *server, struct stream *s)
{
    struct greeting *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    g->s = s;
    loop_timer_init(&g->deadline, on_deadline, g);
    loop_timer_start(s->loop, &g->deadline, cfg.headers_timeout_ms);
    s->user = g;
    s->on_data = on_request_data;
    s->on_close = on_greeting_close;
}

/* ---- shutting down ---- */

/* SIGINT/SIGTERM: stop accepting, close every WebSocket with 1001 (going away) and drop the
 * connections still in their handshake; clients get a few seconds to answer the close. A
 * second signal ends everything at once. The loop returns when nothing is left. */
static void on_signal(struct loop *loop, int signo, void *arg)
{
    if (srv.fd < 0) {
        server_destroy_all(&srv);
        return;
    }
    server_close(&srv);
    for (struct stream *s = srv.streams; s; s = s->next) {
        if (s->on_data == on_request_data) {
            stream_destroy(s); /* still in the handshake */
            continue;
        }
        ws_close(s->user, WS_CLOSE_GOING_AWAY, "server shutting down");
    }
    server_destroy_after(&srv, SHUTDOWN_GRACE_MS);
}

/* ---- the command line ---- */

static void add_to_list(const struct cli *c, const char *opt, const char **list, size_t *n,
                        const char *value)
{
    if (*n == MAX_LIST)
        cli_usage_error(c, "%s: at most %d values", opt, MAX_LIST);
    list[(*n)++] = value;
}

/* One of ws-echo's own options. */
static void program_option(const struct cli *c, int opt, const char *arg)
{
    struct ws_upgrade_policy *p = &cfg.policy;
    switch (opt) {
    case OPT_PREFIX:
        cfg.prefix = arg;
        break;
    case OPT_ORIGIN:
        add_to_list(c, "--origin", cfg.origins, &p->norigins, arg);
        break;
    case OPT_PROTOCOL:
        add_to_list(c, "--protocol", cfg.protocols, &p->nprotocols, arg);
        break;
    case OPT_LEGACY:
        cfg.legacy = 1;
        break;
    case OPT_MAX_MESSAGE:
        cfg.max_message = cli_size(c, "--max-message", arg);
        break;
    case OPT_PING:
        cfg.ping_ms = cli_ms(c, "--ping", arg);
        break;
    case OPT_HEADERS_TIMEOUT:
        cfg.headers_timeout_ms = cli_ms(c, "--headers-timeout", arg);
        break;
    case OPT_KEEPALIVE:
        srv.keepalive = 1;
        break;
    case OPT_MAX_CONN:
        srv.max_connections = (size_t)cli_number(c, "--max-connections", arg, 0, 1000000);
        break;
    }
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SERVER_OPTIONS,
        {"prefix", required_argument, 0, OPT_PREFIX},
        {"origin", required_argument, 0, OPT_ORIGIN},
        {"protocol", required_argument, 0, OPT_PROTOCOL},
        {"legacy", no_argument, 0, OPT_LEGACY},
        {"max-message", required_argument, 0, OPT_MAX_MESSAGE},
        {"ping", required_argument, 0, OPT_PING},
        {"headers-timeout", required_argument, 0, OPT_HEADERS_TIMEOUT},
        {"keepalive", no_argument, 0, OPT_KEEPALIVE},
        {"max-connections", required_argument, 0, OPT_MAX_CONN},
        CLI_TLS_SERVER_OPTIONS,
        {0, 0, 0, 0},
    };
    int opt;
    cfg.policy.origins = cfg.origins;
    cfg.policy.protocols = cfg.protocols;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_SERVER_SHORT, opts, NULL)) != -1)
        if (!cli_common_option(c, opt, optarg))
            program_option(c, opt, optarg);
    if (optind < argc)
        cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
    if (cfg.prefix) {
        cfg.prefix_len = strlen(cfg.prefix);
        if (utf8_check(cfg.prefix, cfg.prefix_len) < 0)
            cli_usage_error(c, "--prefix: not valid UTF-8 (text messages must be)");
    }
    if (cfg.headers_timeout_ms == 0)
        cli_usage_error(c, "--headers-timeout: must be at least 1 ms");
    cli_finish(c);
    srv.tls = cli_tls_server(c);
}

int main(int argc, char **argv)
{
    struct cli c;
    char err[NET_ERR_LEN];
    cli_init(&c, "ws-echo", 8888, usage);
    parse_args(&c, argc, argv);

    struct loop *loop = cli_loop(&c, on_signal, NULL);
    if (server_listen(&srv, loop, c.bind, c.port, on_connection, err) < 0) {
        trace_error("%s", err);
        loop_free(loop);
        return EXIT_RUNTIME;
    }
    server_ready(&srv, c.prog);
    int rc = loop_run(loop);
    server_close(&srv);
    loop_free(loop);
    tls_ctx_free(srv.tls);
    return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
