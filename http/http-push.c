/* http-push - document 003's tour of the ways a server pushes to a browser, side by side.
 *
 * HTTP is request and response: the browser asks, the server answers. To show a clock that the
 * server keeps, the document builds the same page five ways, each on its own port at /clock.
 * This program serves them all from one port, each technique with its own page and endpoint:
 *
 *   page            endpoint        how the time reaches the page
 *   /polling        /clock          the page asks every second, whether anything changed or not
 *   /long-polling   /clock/long     the server holds each request until the second is a
 *                                   multiple of 5, answers, and the page asks again at once
 *   /iframe         /clock/stream   a hidden iframe loads a document that never ends: one
 *                                   <script> chunk per tick calls a function of the page
 *   /sse            /clock/events   EventSource: a text/event-stream response, one event per
 *                                   tick, resumed after a reconnection from Last-Event-ID
 *   /websocket      /clock/ws       the same clock over WebSocket, which also echoes what the
 *                                   page sends, prefixed with 服务器说 as the document does
 *
 * Each page shows what its technique costs while it runs: requests made, bytes received, and
 * the latency of each update (the page's clock minus the server's timestamp in the update).
 * That panel is the same on every page, so it is one script, /push.js, which each page loads
 * before its own.
 *
 *   ./bin/http-push -v                  then open http://127.0.0.1:7777/
 *   curl -N http://127.0.0.1:7777/clock/events                     the event stream as sent
 *   curl -N -H 'Last-Event-ID: 5' http://127.0.0.1:7777/clock/events   resume after event 5
 *
 * One timer drives every stream: each tick (--interval, 1 s) formats the time once and writes
 * it to every open stream. (Long polling has its own: one for the next multiple of 5 s, and
 * one per held request for its limit.) The document starts one setInterval per client and
 * must remember to clear it when the client goes away; here a client is an entry in a list,
 * and the response's close callback takes it out and frees it, whether the response ended or
 * the browser left. A browser that leaves without a word is noticed at the next write (the
 * tick), when the kernel reports the connection reset.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "http_server.h"
#include "loop.h"
#include "sse.h"
#include "tls.h"
#include "trace.h"
#include "ws_conn.h"
#include "ws_upgrade.h"

/* The pages, http/push_*.html, and the script they share, http/push_common.js, compiled in
 * by the Makefile (tests/tools/embed.sh). */
extern const char page_push_index[], page_push_polling[], page_push_long_polling[],
    page_push_iframe[], page_push_sse[], page_push_websocket[], page_push_common[];
extern const unsigned long page_push_index_len, page_push_polling_len, page_push_long_polling_len,
    page_push_iframe_len, page_push_sse_len, page_push_websocket_len, page_push_common_len;

#define HISTORY 60             /* SSE events kept for clients that reconnect */
#define SSE_RETRY_MS 2000      /* the reconnection delay we ask EventSource to use */
#define HEARTBEAT_TICKS 15     /* an SSE comment every 15 ticks */
#define LONG_POLL_SECONDS 5    /* held requests are answered when seconds % 5 == 0 */
#define IFRAME_PADDING 1024    /* bytes some browsers want before rendering a stream */
#define MAX_QUEUED (64 * 1024) /* a stream client this far behind is dropped */
#define SHUTDOWN_GRACE_MS 2000

static const char usage[] =
    "Usage: http-push [options]\n"
    "Document 003's ways for a server to push to a browser, one page each: polling, long\n"
    "polling, iframe streaming, Server-Sent Events and WebSocket, all showing the server's clock.\n"
    "\n"
    "  -p, --port N            port (default 7777; 0 = any free port)\n"
    "  -b, --bind ADDR         address (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "      --loop epoll|poll   event loop backend (default epoll)\n"
    "      --interval MS       the clock's tick: one update per stream (default 1000)\n"
    "      --long-limit MS     answer a long poll held this long with 204 (default 30000)\n"
    "      --sse-drop-after N  end each event stream after N live events, so that the\n"
    "                          browser reconnects with Last-Event-ID (default 0 = "
    "never)\n" CLI_TLS_SERVER_HELP
    "  -v, --verbose           trace events and print each request and response head\n"
    "  -x, --hex               also hexdump the bytes\n"
    "  -q, --quiet             print nothing but the ready line and errors\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "stdout: a line when a stream or WebSocket client comes or goes, and each WebSocket message.\n"
    "Try: open http://127.0.0.1:7777/   or   curl -N http://127.0.0.1:7777/clock/events\n";

enum { OPT_INTERVAL = CLI_OPT_FIRST_PROGRAM, OPT_LONG_LIMIT, OPT_SSE_DROP_AFTER };

struct settings {
    uint64_t interval_ms;
    uint64_t long_limit_ms;
    unsigned long sse_drop_after;
};

/* One tick of the clock: what every technique sends. */
struct tick {
    unsigned long id; /* ticks since the server started, from 1: the SSE event id */
    long long ms;     /* wall-clock time, milliseconds since the epoch */
};

/* The techniques that keep a client waiting for the next tick. Polling keeps nobody. */
enum technique { LONG_POLL, IFRAME, SSE, WEBSOCKET, TECHNIQUES };

static const char *const technique_names[] = {"long-poll", "iframe", "sse", "websocket"};

/* A browser waiting for the clock: a held request, an endless response, or a WebSocket. */
struct client {
    enum technique kind;
    struct http_res *res;    /* LONG_POLL, IFRAME, SSE */
    struct ws_conn *ws;      /* WEBSOCKET */
    struct stream *s;        /* its connection, for the trace */
    unsigned long sent;      /* ticks sent to it */
    struct loop_timer limit; /* LONG_POLL: the deadline for the 204 */
    struct client *prev, *next;
};

static struct settings cfg = {.interval_ms = 1000, .long_limit_ms = 30000};
static struct http_server srv;

/* Everything the program keeps: the clock, its recent history, and who waits for it. */
static struct {
    struct loop *loop;
    struct loop_timer tick_timer; /* every --interval */
    struct loop_timer five_timer; /* the next multiple of 5 s, while long polls are held */
    unsigned long ticks;
    struct tick history[HISTORY]; /* history[id % HISTORY] */
    struct client *clients[TECHNIQUES];
    int closing;
} push;

/* ---- the clock ---- */

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds from now until the wall clock reaches the next multiple of every_ms, plus one,
 * so the timer never fires a hair before the boundary (the loop's clock is not the wall
 * clock, and both are rounded to milliseconds). */
static uint64_t until_next(long long now, uint64_t every_ms)
{
    return every_ms - (uint64_t)(now % (long long)every_ms) + 1;
}

/* The clock's parts as the pages show them: the local time ("18:07:38") and date
 * ("2026-11-23"). */
static void clock_parts(const struct tick *t, char time_text[16], char date_text[16])
{
    time_t sec = (time_t)(t->ms / 1000);
    struct tm tm;
    localtime_r(&sec, &tm);
    strftime(time_text, 16, "%H:%M:%S", &tm);
    strftime(date_text, 16, "%Y-%m-%d", &tm);
}

/* The clock as every technique sends it: three lines, the local time, the date, and the
 * milliseconds since the epoch, which the page subtracts from its own clock to show the
 * latency: "18:07:38\n2026-11-23\n1795975658000". Returns the length. */
static size_t clock_text(const struct tick *t, char *out, size_t size)
{
    char time_text[16], date_text[16];
    clock_parts(t, time_text, date_text);
    int n = snprintf(out, size, "%s\n%s\n%lld", time_text, date_text, t->ms);
    return n < 0 ? 0 : (size_t)n;
}

/* ---- clients ---- */

static struct client *client_new(enum technique kind, struct stream *s)
{
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->kind = kind;
    c->s = s;
    loop_timer_init(&c->limit, NULL, c); /* stopped safely by client_free, started or not */
    c->next = push.clients[kind];
    if (c->next)
        c->next->prev = c;
    push.clients[kind] = c;
    return c;
}

/* Takes c out of its list and frees it: the one place a client ends. */
static void client_free(struct client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        push.clients[c->kind] = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop_timer_stop(push.loop, &c->limit);
    free(c);
}

/* A line on stdout for a stream client that comes or goes (not for polls: one a second). */
static void client_say(const struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void client_say(const struct client *c, const char *fmt, ...)
{
    va_list ap;
    if (trace_cfg.quiet)
        return;
    printf("%s #%lu %s ", technique_names[c->kind], c->s->id, c->s->peer);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* The response's close callback: it was sent, or the browser went away. Either way the
 * client leaves its list, and no tick will write to res again. */
static void on_res_close(struct http_res *res)
{
    struct client *c = http_res_user(res);
    if (c->kind != LONG_POLL)
        client_say(c, "closed after %lu ticks%s", c->sent,
                   http_res_finished(res) ? "" : " (the browser went away)");
    client_free(c);
}

/* A client for the response res: it stays in its list until res closes. */
static struct client *client_for(enum technique kind, struct http_res *res)
{
    struct client *c = client_new(kind, http_res_stream(res));
    c->res = res;
    http_res_set_user(res, c);
    http_res_on_close(res, on_res_close);
    return c;
}

/* Whether a stream client has stopped reading: its unsent bytes pile up in our memory. It is
 * cut off; an EventSource reconnects and gets what it missed from the history. */
static int too_far_behind(struct client *c)
{
    if (stream_queued(c->s) <= MAX_QUEUED)
        return 0;
    trace_event(c->s->id, "drop", c->s->peer, "%zu bytes unread", stream_queued(c->s));
    stream_destroy(c->s);
    return 1;
}

/* ---- polling: GET /clock ---- */

static void answer_clock(struct http_res *res, const struct tick *t)
{
    char text[64];
    size_t n = clock_text(t, text, sizeof text);
    http_res_set_header(res, "Content-Type", "text/plain; charset=utf-8");
    http_res_set_header(res, "Cache-Control", "no-store");
    http_res_end(res, text, n);
}

static void on_clock(const struct http_request *req, struct http_res *res)
{
    struct tick now = {push.ticks, wall_ms()};
    answer_clock(res, &now);
}

/* ---- long polling: GET /clock/long ---- */

/* The limit of one held request: answer 204 No Content, and the page asks again. Proxies and
 * browsers give up on a request that stays silent for long, so a long poll must not. */
static long on_long_limit(struct loop *loop, void *arg)
{
    struct client *c = arg;
    http_res_status(c->res, 204);
    http_res_end(c->res, NULL, 0); /* its close callback frees c, and with it this timer */
    return LOOP_TIMER_STOP;
}

/* The wall clock has reached a multiple of 5 s: every held request gets the time. */
static long on_five(struct loop *loop, void *arg)
{
    /* LAB 7 BEGIN
     * Long polling: the held requests (the list push.clients[LONG_POLL], linked by next) are
     * answered when the wall clock's seconds are a multiple of LONG_POLL_SECONDS (5).
     * Timers may fire a little early: if the time (wall_ms()) is not there yet, return the
     * milliseconds still to wait (until_next) and the loop calls again. Otherwise answer every
     * held request with answer_clock(c->res, &now), where now is {push.ticks, wall_ms()}:
     * answering frees c, so read c->next first. Then return LOOP_TIMER_STOP.
     * The stub answers nobody: held requests wait for --long-limit and get 204.
     * STUB: return LOOP_TIMER_STOP;
     */
    struct tick now = {push.ticks, wall_ms()};
    if ((now.ms / 1000) % LONG_POLL_SECONDS != 0)
        return (long)until_next(now.ms, LONG_POLL_SECONDS * 1000); /* early: wait for it */
    struct client *next;
    for (struct client *c = push.clients[LONG_POLL]; c; c = next) {
        next = c->next; /* answering frees c */
        answer_clock(c->res, &now);
    }
    return LOOP_TIMER_STOP; /* the pages ask again, and start it again */
    /* LAB 7 END */
}

static void on_long_poll(const struct http_request *req, struct http_res *res)
{
    struct client *c = client_for(LONG_POLL, res);
    c->limit.fn = on_long_limit;
    loop_timer_start(push.loop, &c->limit, cfg.long_limit_ms);
    if (!loop_timer_active(&push.five_timer))
        loop_timer_start(push.loop, &push.five_timer,
                         until_next(wall_ms(), LONG_POLL_SECONDS * 1000));
}

/* ---- iframe streaming: GET /clock/stream ---- */

/* The start of the endless document. The charset is declared up front (otherwise the browser
 * may wait for 1 KiB to guess it), and a comment pads the first chunk to IFRAME_PADDING
 * bytes: some browsers render nothing of a streamed document before that much has arrived. */
static void iframe_start(struct http_res *res)
{
    static const char head[] = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                               "<title>clock stream</title></head><body>\n<!-- ";
    struct buf out = BUF_INIT;
    buf_append_str(&out, head);
    while (buf_len(&out) < IFRAME_PADDING - 5)
        buf_append(&out, "padding ", 8);
    buf_append_str(&out, " -->\n");
    http_res_write(res, buf_data(&out), buf_len(&out));
    buf_free(&out);
}

/* One tick as a script the iframe runs as soon as it arrives: it calls the page's function. */
static void iframe_chunk(struct buf *out, const struct tick *t)
{
    char time_text[16], date_text[16];
    clock_parts(t, time_text, date_text);
    buf_printf(out, "<script>parent.showClock(%lu, \"%s\", \"%s\", %lld)</script>\n", t->id,
               time_text, date_text, t->ms);
}

static void on_stream(const struct http_request *req, struct http_res *res)
{
    struct client *c = client_for(IFRAME, res);
    http_res_set_header(res, "Content-Type", "text/html; charset=utf-8");
    http_res_set_header(res, "Cache-Control", "no-store");
    http_res_set_header(res, "X-Accel-Buffering", "no"); /* nginx: pass each chunk on at once */
    iframe_start(res);
    client_say(c, "open");
}

/* ---- Server-Sent Events: GET /clock/events ---- */

static void sse_append_tick(struct buf *out, const struct tick *t)
{
    char id[24], text[64];
    snprintf(id, sizeof id, "%lu", t->id);
    size_t n = clock_text(t, text, sizeof text);
    sse_event(out, id, "clock", text, n);
}

/* The Last-Event-ID a reconnecting EventSource sends: the id of the last event it got.
 * Returns 0 when there is none, or when it is not a number we could have sent. */
static int last_event_id(const struct http_request *req, unsigned long *id)
{
    /* LAB 7 BEGIN
     * A reconnecting EventSource sends the id of the last event it got in the Last-Event-ID
     * header (http_header_find). Return 1 with *id set when the header holds a decimal number
     * (digits only, at most 19 of them, so it fits); return 0 when it is missing, empty or
     * anything else.
     * STUB: return 0;
     */
    const struct http_header *h = http_header_find(req, "Last-Event-ID");
    if (!h || h->value.len == 0 || h->value.len > 19)
        return 0;
    *id = 0;
    for (size_t i = 0; i < h->value.len; i++) {
        char d = h->value.ptr[i];
        if (d < '0' || d > '9')
            return 0;
        *id = *id * 10 + (unsigned long)(d - '0');
    }
    return 1;
    /* LAB 7 END */
}

/* Appends the events after `last` that the client missed, from the history. Events older than
 * the history are lost: a comment says how many. An id from the future (the server restarted
 * since) is ignored: the stream just goes on from the next tick. Returns the number replayed. */
static unsigned long sse_replay(struct buf *out, unsigned long last)
{
    /* LAB 7 BEGIN
     * Resume: append to out (sse_append_tick) every event after id last that the server still
     * holds: ids last + 1 to push.ticks, kept in push.history[id % HISTORY], the last
     * HISTORY of them. For events older than that, write a comment (sse_comment) saying how
     * many were lost. An id at or beyond push.ticks (from before a restart, or made up)
     * replays nothing. Return the number of events replayed.
     * STUB: return 0;
     */
    if (last >= push.ticks)
        return 0;
    unsigned long first = last + 1;
    unsigned long oldest = push.ticks > HISTORY ? push.ticks - HISTORY + 1 : 1;
    if (first < oldest) {
        char note[80];
        snprintf(note, sizeof note, "%lu events were older than the history", oldest - first);
        sse_comment(out, note);
        first = oldest;
    }
    for (unsigned long id = first; id <= push.ticks; id++)
        sse_append_tick(out, &push.history[id % HISTORY]);
    return push.ticks - first + 1;
    /* LAB 7 END */
}

static void on_events(const struct http_request *req, struct http_res *res)
{
    struct client *c = client_for(SSE, res);
    struct buf out = BUF_INIT;
    unsigned long last;
    http_res_set_header(res, "Content-Type", "text/event-stream");
    http_res_set_header(res, "Cache-Control", "no-cache");
    http_res_set_header(res, "X-Accel-Buffering", "no");
    buf_printf(&out, ": http-push clock, an event every %llu ms\n\n",
               (unsigned long long)cfg.interval_ms);
    sse_retry(&out, SSE_RETRY_MS);
    if (last_event_id(req, &last)) {
        unsigned long replayed = sse_replay(&out, last);
        client_say(c, "open, resuming after id %lu: %lu events replayed", last, replayed);
    } else {
        client_say(c, "open");
    }
    http_res_write(res, buf_data(&out), buf_len(&out));
    buf_free(&out);
}

/* ---- WebSocket: GET /clock/ws with Upgrade ---- */

/* The document's echo: what the page sends comes back after "服务器说" ("the server says"). */
static void on_ws_message(struct ws_conn *ws, int opcode, const char *data, size_t len)
{
    /* LAB 7 BEGIN
     * The document's WebSocket echo: a text message comes back as one text message,
     * "服务器说" ("the server says") followed by the text (ws_send with WS_OP_TEXT); say it on
     * stdout first with client_say(c, "message: %.*s", ...), c being ws->user. A binary
     * message is refused: ws_close with WS_CLOSE_UNSUPPORTED_DATA (1003).
     */
    static const char prefix[] = "服务器说";
    struct client *c = ws->user;
    if (opcode != WS_OP_TEXT) {
        ws_close(ws, WS_CLOSE_UNSUPPORTED_DATA, "text only");
        return;
    }
    client_say(c, "message: %.*s", (int)len, data);
    struct buf reply = BUF_INIT;
    buf_append_str(&reply, prefix);
    buf_append(&reply, data, len);
    ws_send(ws, WS_OP_TEXT, buf_data(&reply), buf_len(&reply));
    buf_free(&reply);
    /* LAB 7 END */
}

static void on_ws_close(struct ws_conn *ws, int code, const char *reason, size_t len)
{
    struct client *c = ws->user;
    client_say(c, "closed after %lu ticks: %d %.*s", c->sent, code, (int)len, reason);
    client_free(c);
}

/* Refuses a handshake with an ordinary HTTP status, and ends the connection. */
static void ws_refuse(struct stream *s, const struct ws_upgrade *up)
{
    struct buf out = BUF_INIT;
    trace_event(s->id, "upgrade", s->peer, "refused: %d %s", up->status, up->reason);
    ws_upgrade_error_response(up, &out);
    stream_write(s, buf_data(&out), buf_len(&out));
    stream_end(s);
    buf_free(&out);
}

/* Whether the request target's path (before any "?query") is path. */
static int path_is(struct slice target, const char *path)
{
    size_t n = 0;
    while (n < target.len && target.ptr[n] != '?')
        n++;
    return n == strlen(path) && memcmp(target.ptr, path, n) == 0;
}

static void on_upgrade(struct http_server *server, const struct http_request *req, struct stream *s)
{
    struct ws_upgrade_policy policy = {0};
    struct ws_upgrade up;
    if (push.closing) {
        up = (struct ws_upgrade){.status = 503, .reason = "shutting down"};
        ws_refuse(s, &up);
        return;
    }
    if (!path_is(req->target, "/clock/ws")) {
        up = (struct ws_upgrade){.status = 404, .reason = "the WebSocket is at /clock/ws"};
        ws_refuse(s, &up);
        return;
    }
    if (ws_upgrade_check(req, &policy, 0, &up) != 101) {
        ws_refuse(s, &up);
        return;
    }
    struct buf out = BUF_INIT;
    ws_upgrade_response(&up, &out);
    stream_write(s, buf_data(&out), buf_len(&out));
    buf_free(&out);
    struct client *c = client_new(WEBSOCKET, s);
    c->ws = ws_conn_attach(s, WS_SERVER);
    c->ws->user = c;
    c->ws->max_queued = MAX_QUEUED;
    c->ws->on_message = on_ws_message;
    c->ws->on_close = on_ws_close;
    client_say(c, "open");
}

/* ---- the tick: one update for every stream ---- */

static void push_iframes(const struct tick *t)
{
    struct buf chunk = BUF_INIT;
    iframe_chunk(&chunk, t);
    for (struct client *c = push.clients[IFRAME]; c; c = c->next) {
        http_res_write(c->res, buf_data(&chunk), buf_len(&chunk));
        c->sent++;
        too_far_behind(c);
    }
    buf_free(&chunk);
}

static void push_events(const struct tick *t)
{
    struct buf event = BUF_INIT;
    if (t->id % HEARTBEAT_TICKS == 0)
        sse_comment(&event, "heartbeat"); /* for proxies that close quiet connections */
    sse_append_tick(&event, t);
    struct client *next;
    for (struct client *c = push.clients[SSE]; c; c = next) {
        next = c->next; /* ending the response frees c */
        http_res_write(c->res, buf_data(&event), buf_len(&event));
        if (too_far_behind(c))
            continue;
        if (++c->sent == cfg.sse_drop_after) {
            trace_event(c->s->id, "drop", c->s->peer, "--sse-drop-after %lu", c->sent);
            http_res_end(c->res, NULL, 0);
        }
    }
    buf_free(&event);
}

static void push_websockets(const struct tick *t)
{
    char text[64];
    size_t n = clock_text(t, text, sizeof text);
    for (struct client *c = push.clients[WEBSOCKET]; c; c = c->next) {
        ws_send(c->ws, WS_OP_TEXT, text, n); /* ws_conn drops one past max_queued */
        c->sent++;
    }
}

static long on_tick(struct loop *loop, void *arg)
{
    struct tick *t = &push.history[++push.ticks % HISTORY];
    t->id = push.ticks;
    t->ms = wall_ms();
    push_iframes(t);
    push_events(t);
    push_websockets(t);
    return (long)until_next(t->ms, cfg.interval_ms);
}

/* ---- HTTP: the pages and the endpoints ---- */

#define HTML "text/html; charset=utf-8"
#define SCRIPT "text/javascript; charset=utf-8"

struct page {
    const char *path;
    const char *type;
    const char *body;
    const unsigned long *len;
};

static const struct page pages[] = {
    {"/", HTML, page_push_index, &page_push_index_len},
    {"/polling", HTML, page_push_polling, &page_push_polling_len},
    {"/long-polling", HTML, page_push_long_polling, &page_push_long_polling_len},
    {"/iframe", HTML, page_push_iframe, &page_push_iframe_len},
    {"/sse", HTML, page_push_sse, &page_push_sse_len},
    {"/websocket", HTML, page_push_websocket, &page_push_websocket_len},
    {"/push.js", SCRIPT, page_push_common, &page_push_common_len}, /* the cost panel */
};

struct endpoint {
    const char *path;
    void (*serve)(const struct http_request *req, struct http_res *res);
};

static const struct endpoint endpoints[] = {
    {"/clock", on_clock},
    {"/clock/long", on_long_poll},
    {"/clock/stream", on_stream},
    {"/clock/events", on_events},
};

static void answer_status(struct http_res *res, int status, const char *allow, const char *text)
{
    http_res_status(res, status);
    if (allow)
        http_res_set_header(res, "Allow", allow);
    http_res_set_header(res, "Content-Type", "text/plain; charset=utf-8");
    http_res_end(res, text, strlen(text));
}

static int serve_page(const struct http_request *req, struct http_res *res)
{
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        if (!path_is(req->target, pages[i].path))
            continue;
        if (!slice_eq(req->method, "GET") && !slice_eq(req->method, "HEAD"))
            answer_status(res, 405, "GET, HEAD", "pages take GET and HEAD\n");
        else {
            http_res_set_header(res, "Content-Type", pages[i].type);
            http_res_end(res, pages[i].body, *pages[i].len);
        }
        return 1;
    }
    return 0;
}

/* The endpoints answer GET only: a HEAD to a stream would have to end at once, and teach
 * nothing. */
static int serve_endpoint(const struct http_request *req, struct http_res *res)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        if (!path_is(req->target, endpoints[i].path))
            continue;
        if (!slice_eq(req->method, "GET"))
            answer_status(res, 405, "GET", "the clock endpoints take GET\n");
        else if (push.closing)
            answer_status(res, 503, NULL, "shutting down\n");
        else
            endpoints[i].serve(req, res);
        return 1;
    }
    return 0;
}

static void on_request(struct http_server *server, const struct http_request *req,
                       struct http_res *res)
{
    if (serve_page(req, res) || serve_endpoint(req, res))
        return;
    if (path_is(req->target, "/clock/ws"))
        answer_status(res, 426, NULL, "/clock/ws is a WebSocket: ask to upgrade\n");
    else
        answer_status(res, 404, NULL, "not found: the pages are listed at /\n");
}

/* ---- setup and shutdown ---- */

/* SIGINT/SIGTERM: stop the clock, end every stream and held request, say 1001 to every
 * WebSocket, then let the HTTP server close. The loop returns when every connection has gone.
 * A second signal closes everything at once. */
static void on_signal(struct loop *loop, int signo, void *arg)
{
    static const enum technique http_kinds[] = {LONG_POLL, IFRAME, SSE};
    if (!push.closing) {
        push.closing = 1;
        loop_timer_stop(loop, &push.tick_timer);
        loop_timer_stop(loop, &push.five_timer);
        for (struct client *c = push.clients[WEBSOCKET]; c; c = c->next)
            ws_close(c->ws, WS_CLOSE_GOING_AWAY, "server shutting down");
        for (size_t i = 0; i < sizeof http_kinds / sizeof http_kinds[0]; i++) {
            struct client *c;
            while ((c = push.clients[http_kinds[i]])) { /* ending a response frees c */
                http_res_status(c->res, 204); /* held long polls: nothing new (streams: 200) */
                http_res_end(c->res, NULL, 0);
            }
        }
    }
    http_server_shutdown(&srv, SHUTDOWN_GRACE_MS);
}

static void program_option(struct cli *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_INTERVAL:
        cfg.interval_ms = cli_ms(c, "--interval", arg);
        break;
    case OPT_LONG_LIMIT:
        cfg.long_limit_ms = cli_ms(c, "--long-limit", arg);
        break;
    case OPT_SSE_DROP_AFTER:
        cfg.sse_drop_after = (unsigned long)cli_number(c, "--sse-drop-after", arg, 0, 1000000000);
        break;
    }
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SERVER_OPTIONS,
        {"interval", required_argument, 0, OPT_INTERVAL},
        {"long-limit", required_argument, 0, OPT_LONG_LIMIT},
        {"sse-drop-after", required_argument, 0, OPT_SSE_DROP_AFTER},
        CLI_TLS_SERVER_OPTIONS,
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_SERVER_SHORT, opts, NULL)) != -1)
        if (!cli_common_option(c, opt, optarg))
            program_option(c, opt, optarg);
    if (optind < argc)
        cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
    if (cfg.interval_ms < 10)
        cli_usage_error(c, "--interval: at least 10 ms");
    if (cfg.long_limit_ms == 0)
        cli_usage_error(c, "--long-limit: at least 1 ms");
    cli_finish(c);
    srv.tcp.tls = cli_tls_server(c);
    srv.trace_heads = c->verbose;
}

int main(int argc, char **argv)
{
    struct cli c;
    char err[NET_ERR_LEN];
    http_server_init(&srv);
    cli_init(&c, "http-push", 7777, usage);
    parse_args(&c, argc, argv);
    srv.on_request = on_request;
    srv.on_upgrade = on_upgrade;

    push.loop = cli_loop(&c, on_signal, NULL);
    if (http_server_listen(&srv, push.loop, c.bind, c.port, err) < 0) {
        trace_error("%s", err);
        loop_free(push.loop);
        return EXIT_RUNTIME;
    }
    loop_timer_init(&push.tick_timer, on_tick, NULL);
    loop_timer_init(&push.five_timer, on_five, NULL);
    loop_timer_start(push.loop, &push.tick_timer, until_next(wall_ms(), cfg.interval_ms));
    server_ready(&srv.tcp, c.prog);
    int rc = loop_run(push.loop);
    loop_free(push.loop);
    tls_ctx_free(srv.tcp.tls);
    return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
