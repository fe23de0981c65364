/* ws-chat - the chat room of document 000, section 四, on an HTTP server's upgrade hook.
 *
 * The document's Node server gives each connection a nickname (user1, user2, ...) and
 * broadcasts three kinds of JSON message to everyone, the sender included:
 *
 *     {"type":"enter","data":"user1 comes in"}
 *     {"type":"message","data":"user1 says: hello"}
 *     {"type":"leave","data":"user1 left"}
 *
 * This one is built the second way documents 001 and 004 describe: an ordinary HTTP server
 * serves the chat page at / and, on the same port, hands a request that asks to upgrade to the
 * WebSocket layer. The HTTP library parses the request; ws_upgrade checks it (version, key,
 * origin, sub-protocol) and words the 101 or the refusal; ws_conn then runs the connection.
 *
 *   ./bin/ws-chat -v                    then open http://127.0.0.1:8000/ in two browser tabs
 *   ./bin/ws-client ws://127.0.0.1:8000/            type lines; see everyone's messages
 *   ./bin/ws-chat --origin http://127.0.0.1:8000    refuse pages from anywhere else (403)
 *   ./bin/ws-chat --protocol example                accept the sub-protocol of document 004
 *
 * stdout shows each message the room broadcasts, as the JSON that was sent.
 *
 * What it teaches beyond the document:
 *  - The text users type goes inside a JSON string, so it must be escaped: a quote or a
 *    backslash would otherwise end the string early or change its meaning. JSON.stringify does
 *    that for the Node server; json_escape() below does it here.
 *  - A broadcast must not wait for the slowest member. ws_send only queues; a member that stops
 *    reading sees its queue grow until it passes --max-queued, and ws_conn then drops it (the
 *    room gets "userN left"). Nobody else notices.
 *  - Origin is the only thing that tells the server which web page opened the connection: a
 *    browser lets any site open a WebSocket to any server, with the user's cookies. --origin
 *    is the allow-list that stops another site's page from joining the room as the user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "http_server.h"
#include "loop.h"
#include "tls.h"
#include "trace.h"
#include "ws_conn.h"
#include "ws_frame.h"
#include "ws_upgrade.h"

/* The chat page, websocket/chat.html, compiled in by the Makefile (tests/tools/embed.sh). */
extern const char page_chat[];
extern const unsigned long page_chat_len;

#define MAX_LIST 32            /* --origin and --protocol values, each */
#define SHUTDOWN_GRACE_MS 2000 /* how long members get to answer our close frame */

static const char usage[] =
    "Usage: ws-chat [options]\n"
    "The WebSocket chat room of the Node tutorial: serves the chat page at / and upgrades\n"
    "requests for / to WebSocket on the same port. Every member's messages go to everyone.\n"
    "\n"
    "  -p, --port N            port (default 8000; 0 = any free port)\n"
    "  -b, --bind ADDR         address (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "      --loop epoll|poll   event loop backend (default epoll)\n"
    "      --origin ORIGIN     accept only pages from ORIGIN (repeatable; others get 403);\n"
    "                          by default any origin is accepted\n"
    "      --protocol NAME     a sub-protocol we speak, in order of preference (repeatable);\n"
    "                          a client that offers only others gets 400\n"
    "      --max-message N     close a member who sends a larger message, with 1009\n"
    "                          (default 16M; K, M, G suffixes)\n"
    "      --max-queued N      drop a member who lets N bytes pile up unread (default 64M)\n"
    "      --ping MS           ping a member silent for MS; drop one silent for 2*MS\n"
    "                          (default 0 = no heartbeat)\n"
    "      --keepalive         TCP keep-alive probes on each connection "
    "(SO_KEEPALIVE)\n" CLI_TLS_SERVER_HELP
    "  -v, --verbose           trace events, HTTP heads, and each frame members send\n"
    "  -x, --hex               also hexdump the bytes\n"
    "  -q, --quiet             print nothing but the ready line and errors\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "stdout: one line per message broadcast, as the JSON sent.\n"
    "Try: open http://127.0.0.1:8000/ in two browser tabs, or ws-client ws://127.0.0.1:8000/\n";

enum {
    OPT_ORIGIN = CLI_OPT_FIRST_PROGRAM,
    OPT_PROTOCOL,
    OPT_MAX_MESSAGE,
    OPT_MAX_QUEUED,
    OPT_PING,
    OPT_KEEPALIVE,
};

struct settings {
    const char *origins[MAX_LIST];
    size_t norigins;
    const char *protocols[MAX_LIST];
    size_t nprotocols;
    size_t max_message;
    size_t max_queued;
    uint64_t ping_ms;
};

/* One member of the room: a WebSocket connection and its nickname. */
struct member {
    struct ws_conn *ws;
    char nick[24];
    struct member *prev, *next;
};

/* The room: its members in the order they came in. */
struct room {
    struct member *first, *last;
    size_t size;
    unsigned long joined; /* members ever admitted: the number in the next nickname */
    int closing;          /* SIGINT/SIGTERM: the room is saying goodbye */
};

static struct settings cfg = {.max_message = WS_DEFAULT_MAX_MESSAGE,
                              .max_queued = WS_DEFAULT_MAX_QUEUED};
static struct http_server srv;
static struct room room;

/* ---- the messages ---- */

/* Appends text as the inside of a JSON string (RFC 8259, section 7). Escaped are the quote,
 * the backslash and the control characters U+0000 to U+001F, which JSON forbids raw: the five
 * that have a short form as \b \t \n \f \r, the others as \u00XX. That is exactly what
 * JSON.stringify writes, so the bytes match what the document's Node server sends. Every
 * other byte is copied as it is: JSON text is UTF-8, and ws_conn has already checked that a
 * text message is valid UTF-8, so multi-byte characters pass through whole. */
static void json_escape(struct buf *out, const char *text, size_t len)
{
    /* LAB 6 BEGIN
     * Append text (len bytes, valid UTF-8) to out as the inside of a JSON string, as
     * JSON.stringify writes it: the quote and the backslash get a backslash before them
     * (\" and \\); the control bytes 0x00-0x1f, which JSON forbids raw, become \b \t \n \f
     * \r where they have a short form and \u00XX (lower-case hex) otherwise; every other
     * byte is copied as it is. A user who types a quote must not break the room's JSON.
     * The stub copies the text without escaping anything.
     * STUB: buf_append(out, text, len);
     */
    static const char hex[] = "0123456789abcdef";
    size_t copied = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        default:
            if (c >= 0x20)
                continue; /* an ordinary byte: copied with its neighbours below */
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
        }
        buf_append(out, text + copied, i - copied);
        buf_append_str(out, esc);
        copied = i + 1;
    }
    buf_append(out, text + copied, len - copied);
    /* LAB 6 END */
}

/* Sends msg to every member. ws_send never waits: it queues what the member's socket does not
 * take at once. Its 0 ("the queue is long") is not a reason to hold the room back, so it is
 * ignored here; a member whose queue passes --max-queued is dropped by ws_conn, and its
 * on_close then tells the room it left. */
static void broadcast(const struct buf *msg)
{
    /* LAB 6 BEGIN
     * Send msg as a text message (ws_send with WS_OP_TEXT) to every member of the room, from
     * room.first along the next pointers. (docs/websocket.md, the chat room)
     */
    for (struct member *m = room.first; m; m = m->next)
        ws_send(m->ws, WS_OP_TEXT, buf_data(msg), buf_len(msg));
    /* LAB 6 END */
    if (!trace_cfg.quiet) {
        fwrite(buf_data(msg), 1, buf_len(msg), stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
}

/* Broadcasts {"type":TYPE,"data":"NICK WHAT TEXT"}, the document's message, built the way
 * JSON.stringify({type, data}) builds it. */
static void room_say(const char *type, const struct member *m, const char *what, const char *text,
                     size_t len)
{
    struct buf msg = BUF_INIT;
    buf_printf(&msg, "{\"type\":\"%s\",\"data\":\"", type);
    json_escape(&msg, m->nick, strlen(m->nick));
    json_escape(&msg, what, strlen(what));
    json_escape(&msg, text, len);
    buf_append_str(&msg, "\"}");
    trace_event(m->ws->s->id, "broadcast", m->ws->s->peer, "%s, to %zu member%s", type, room.size,
                room.size == 1 ? "" : "s");
    broadcast(&msg);
    buf_free(&msg);
}

/* ---- members ---- */

static void room_add(struct member *m)
{
    /* LAB 6 BEGIN
     * Append m to the room: a doubly linked list from room.first to room.last, kept in the
     * order members came in; count it in room.size.
     */
    m->prev = room.last;
    m->next = NULL;
    if (room.last)
        room.last->next = m;
    else
        room.first = m;
    room.last = m;
    room.size++;
    /* LAB 6 END */
}

static void room_remove(struct member *m)
{
    /* LAB 6 BEGIN
     * Unlink m from the room's list (it may be the first, the last, both or neither) and
     * count it out of room.size. on_close calls this before it frees m: a member left in the
     * list would be written to after it is gone.
     */
    if (m->prev)
        m->prev->next = m->next;
    else
        room.first = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        room.last = m->prev;
    room.size--;
    /* LAB 6 END */
}

/* A whole message from a member. Only text is chat; a binary message has no place in the
 * document's protocol, so it is refused with the code made for that (1003). */
static void on_message(struct ws_conn *ws, int opcode, const char *data, size_t len)
{
    struct member *m = ws->user;
    trace_event(ws->s->id, "message", ws->s->peer, "%s: %s, %zu bytes", m->nick,
                ws_opcode_name(opcode), len);
    /* LAB 6 BEGIN
     * Chat is text: a binary message is refused by closing that member's connection with
     * code 1003 (WS_CLOSE_UNSUPPORTED_DATA) and a reason (ws_close). A text message goes to
     * the whole room as {"type":"message","data":"<nick> says: <text>"}: room_say builds and
     * broadcasts it.
     */
    if (opcode != WS_OP_TEXT) {
        ws_close(ws, WS_CLOSE_UNSUPPORTED_DATA, "this room speaks text only");
        return;
    }
    room_say("message", m, " says: ", data, len);
    /* LAB 6 END */
}

/* -v: each frame a member sends, field by field as RFC 6455's diagram names them. (What the
 * room sends is one message to many; `ws-client -v` shows frames in both directions.) */
static void on_frame(struct ws_conn *ws, char dir, const struct ws_header *h, const char *payload)
{
    char text[256];
    if (dir != '<')
        return;
    trace_event(ws->s->id, "frame", ws->s->peer, "received %s, %llu bytes",
                ws_opcode_name(h->opcode), (unsigned long long)h->payload_len);
    size_t n = ws_frame_describe(h, text, sizeof text);
    trace_lines("| ", text, n < sizeof text ? n : sizeof text - 1);
}

/* The member's connection has gone (its close frame, a protocol error, a dropped slow reader,
 * or a vanished TCP connection): the last word about it goes to the others. */
static void on_close(struct ws_conn *ws, int code, const char *reason, size_t len)
{
    struct member *m = ws->user;
    trace_event(ws->s->id, "close", ws->s->peer, "%s: %d %.*s", m->nick, code, (int)len, reason);
    room_remove(m);
    room_say("leave", m, " left", "", 0);
    free(m);
}

/* A new member: after the 101, before anything else is sent on the connection. */
static void admit(struct stream *s, const struct ws_upgrade *up)
{
    struct member *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->ws = ws_conn_attach(s, WS_SERVER);
    m->ws->user = m;
    m->ws->max_message = cfg.max_message;
    m->ws->max_queued = cfg.max_queued;
    m->ws->ping_interval_ms = cfg.ping_ms;
    m->ws->on_message = on_message;
    m->ws->on_close = on_close;
    if (trace_on())
        m->ws->on_frame = on_frame;
    s->trace_data = trace_hex_on(); /* -v shows frames; -x adds the raw bytes */
    ws_conn_start_heartbeat(m->ws);
    snprintf(m->nick, sizeof m->nick, "user%lu", ++room.joined);
    trace_event(s->id, "open", s->peer, "%s, origin '%.*s', sub-protocol %s", m->nick,
                (int)up->origin.len, up->origin.ptr, up->protocol ? up->protocol : "(none)");
    room_add(m);
    room_say("enter", m, " comes in", "", 0);
}

/* ---- HTTP: the page, and the way in ---- */

/* Whether the request target is the path "/" (a query string is allowed and ignored). */
static int is_root(struct slice target)
{
    return target.len >= 1 && target.ptr[0] == '/' && (target.len == 1 || target.ptr[1] == '?');
}

/* Every request that does not ask to upgrade: the chat page at /, 404 elsewhere. */
static void on_request(struct http_server *server, const struct http_request *req,
                       struct http_res *res)
{
    static const char not_found[] = "not found: the chat page is at /\n";
    if (!is_root(req->target)) {
        http_res_status(res, 404);
        http_res_set_header(res, "Content-Type", "text/plain; charset=utf-8");
        http_res_end(res, not_found, strlen(not_found));
        return;
    }
    if (!slice_eq(req->method, "GET") && !slice_eq(req->method, "HEAD")) {
        http_res_status(res, 405);
        http_res_set_header(res, "Allow", "GET, HEAD");
        http_res_end(res, NULL, 0);
        return;
    }
    http_res_set_header(res, "Content-Type", "text/html; charset=utf-8");
    http_res_end(res, page_chat, page_chat_len); /* known length: sent with Content-Length */
}

/* The length of the response head in out, without the empty line that ends it (for -v). */
static size_t head_len(const struct buf *out)
{
    const char *p = buf_data(out);
    for (size_t i = 0; i + 4 <= buf_len(out); i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0)
            return i + 2;
    return buf_len(out);
}

/* Answers a refused handshake with an ordinary HTTP status and ends the connection. */
static void refuse(struct stream *s, const struct ws_upgrade *up)
{
    struct buf out = BUF_INIT;
    trace_event(s->id, "upgrade", s->peer, "refused: %d %s", up->status, up->reason);
    ws_upgrade_error_response(up, &out);
    if (srv.trace_heads)
        trace_lines("> ", buf_data(&out), head_len(&out));
    stream_write(s, buf_data(&out), buf_len(&out));
    stream_end(s);
    buf_free(&out);
}

/* The HTTP server's upgrade event: the request asked for another protocol, and the connection
 * is ours now. Only / is a WebSocket endpoint; ws_upgrade_check decides the rest. */
static void on_upgrade(struct http_server *server, const struct http_request *req, struct stream *s)
{
    struct ws_upgrade_policy policy = {cfg.origins, cfg.norigins, cfg.protocols, cfg.nprotocols};
    struct ws_upgrade up;
    if (room.closing) {
        up = (struct ws_upgrade){.status = 503, .reason = "the room is closing"};
        refuse(s, &up);
        return;
    }
    if (!is_root(req->target)) {
        up = (struct ws_upgrade){.status = 404, .reason = "the chat room is at /"};
        refuse(s, &up);
        return;
    }
    if (ws_upgrade_check(req, &policy, 0, &up) != 101) {
        refuse(s, &up);
        return;
    }
    struct buf out = BUF_INIT;
    ws_upgrade_response(&up, &out);
    if (srv.trace_heads)
        trace_lines("> ", buf_data(&out), head_len(&out));
    stream_write(s, buf_data(&out), buf_len(&out));
    buf_free(&out);
    admit(s, &up);
}

/* ---- setup and shutdown ---- */

/* SIGINT/SIGTERM: say goodbye to every member with 1001 (going away), stop accepting, let the
 * closing handshakes finish; the loop returns when every connection has gone. A second
 * signal closes everything at once. */
static void on_signal(struct loop *loop, int signo, void *arg)
{
    if (!room.closing) {
        room.closing = 1;
        for (struct member *m = room.first; m; m = m->next)
            ws_close(m->ws, WS_CLOSE_GOING_AWAY, "server shutting down");
    }
    /* The HTTP server half-closes the upgraded connections too: their close frames are
     * already queued ahead of the FIN, and the members can still answer them. */
    http_server_shutdown(&srv, SHUTDOWN_GRACE_MS);
}

static void add_to_list(struct cli *c, const char *opt, const char **list, size_t *n,
                        const char *value)
{
    if (*n == MAX_LIST)
        cli_usage_error(c, "%s: at most %d values", opt, MAX_LIST);
    if (value[0] == '\0')
        cli_usage_error(c, "%s: empty value", opt);
    list[(*n)++] = value;
}

static void program_option(struct cli *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_ORIGIN:
        add_to_list(c, "--origin", cfg.origins, &cfg.norigins, arg);
        break;
    case OPT_PROTOCOL:
        add_to_list(c, "--protocol", cfg.protocols, &cfg.nprotocols, arg);
        break;
    case OPT_MAX_MESSAGE:
        cfg.max_message = cli_size(c, "--max-message", arg);
        break;
    case OPT_MAX_QUEUED:
        cfg.max_queued = cli_size(c, "--max-queued", arg);
        break;
    case OPT_PING:
        cfg.ping_ms = cli_ms(c, "--ping", arg);
        break;
    case OPT_KEEPALIVE:
        srv.tcp.keepalive = 1;
        break;
    }
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SERVER_OPTIONS,
        {"origin", required_argument, 0, OPT_ORIGIN},
        {"protocol", required_argument, 0, OPT_PROTOCOL},
        {"max-message", required_argument, 0, OPT_MAX_MESSAGE},
        {"max-queued", required_argument, 0, OPT_MAX_QUEUED},
        {"ping", required_argument, 0, OPT_PING},
        {"keepalive", no_argument, 0, OPT_KEEPALIVE},
        CLI_TLS_SERVER_OPTIONS,
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_SERVER_SHORT, opts, NULL)) != -1)
        if (!cli_common_option(c, opt, optarg))
            program_option(c, opt, optarg);
    if (optind < argc)
        cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
    if (cfg.max_message == 0)
        cli_usage_error(c, "--max-message: must be at least 1");
    cli_finish(c);
    srv.tcp.tls = cli_tls_server(c);
    srv.trace_heads = c->verbose;
}

int main(int argc, char **argv)
{
    struct cli c;
    char err[NET_ERR_LEN];
    http_server_init(&srv);
    cli_init(&c, "ws-chat", 8000, usage);
    parse_args(&c, argc, argv);
    srv.on_request = on_request;
    srv.on_upgrade = on_upgrade;

    struct loop *loop = cli_loop(&c, on_signal, NULL);
    if (http_server_listen(&srv, loop, c.bind, c.port, err) < 0) {
        trace_error("%s", err);
        loop_free(loop);
        return EXIT_RUNTIME;
    }
    server_ready(&srv.tcp, c.prog);
    int rc = loop_run(loop);
    loop_free(loop);
    tls_ctx_free(srv.tcp.tls);
    return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
