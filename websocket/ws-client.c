/* ws-client - a WebSocket client for the terminal, like wscat: lines you type become text
 * messages, and messages that arrive are printed one per line.
 *
 *   ./bin/ws-chat &  ./bin/ws-client ws://127.0.0.1:8000/         chat from a terminal
 *   ./bin/ws-client -v ws://127.0.0.1:8888/                        every frame, field by field
 *   ./bin/ws-client --execute hello ws://127.0.0.1:8888/           send, print the reply, close
 *   ./bin/ws-client --legacy ws://127.0.0.1:8888/                  the 2010 handshake (hixie-76)
 *   ./bin/ws-client --cacert ca.pem wss://localhost:8443/            over TLS (docs/tls.md)
 *
 * What it shows, in the order it happens:
 *  1. The opening handshake (RFC 6455, section 4.1) is an HTTP/1.1 GET with a random 16-byte
 *     nonce, base64-encoded, as Sec-WebSocket-Key. The server must answer 101 with
 *     Sec-WebSocket-Accept = base64(SHA-1(key + GUID)); checking it proves the server really
 *     read our request as a WebSocket handshake. -v prints both heads ("> " and "< ").
 *  2. The response is parsed the way every wirelab program parses: as bytes arrive, until the
 *     head is complete, wherever TCP cut it. Bytes after the head are already WebSocket
 *     frames (a server may send its first message at once): they stay in the stream, and the
 *     connection layer (ws_conn) is handed them when it takes over.
 *  3. Every frame a client sends is masked with a fresh random key (section 5.3); -v shows
 *     the key, and the frames the server sends unmasked. ws_conn answers pings, reassembles
 *     fragmented messages and runs the closing handshake.
 *  4. The end: the end of the input (Ctrl-D) sends a close frame with 1000, the server answers
 *     with its own, and the connection closes. The close code and reason are printed.
 *
 * Output: stdout carries the messages and nothing else, so the client pipes well: a text
 * message is printed as it came, followed by a newline (one that itself holds newlines takes
 * several lines); a binary message as "[binary N bytes]" and its first bytes in hex. Status
 * lines go to stderr: "closed: 1000 bye", the pongs of --ping, and errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "cli.h"
#include "http_parser.h"
#include "loop.h"
#include "stream.h"
#include "tls.h"
#include "trace.h"
#include "utf8.h"
#include "ws_conn.h"
#include "ws_frame.h"
#include "ws_handshake.h"

#define MAX_LIST 32             /* --protocol, --header, --execute values, each */
#define MAX_PATH 8192           /* the request target */
#define INPUT_CHUNK (64 * 1024) /* bytes read from stdin at a time */
#define SHOWN_BYTES 64          /* payload bytes shown by -v and for binary messages */
#define MAX_SHOWN_BODY 1024     /* a refusal's body, shown when it is this short */

static const char usage[] =
    "Usage: ws-client [options] ws://HOST[:PORT][/PATH]   (or wss:// for TLS)\n"
    "A WebSocket client like wscat: each line of stdin is sent as a text message, each\n"
    "message received is printed on stdout, one per line.\n"
    "\n"
    "  -o, --origin ORIGIN     send Origin: ORIGIN (browsers always do)\n"
    "  -s, --protocol NAME     offer the sub-protocol NAME (repeatable, best first); the\n"
    "                          server must choose one of them\n"
    "  -H, --header 'N: V'     add a header to the handshake request (repeatable)\n"
    "      --execute TEXT      send TEXT (repeatable) instead of reading stdin, print the\n"
    "                          replies, close; as many replies as texts unless -c or -w says\n"
    "  -c, --count N           close after N messages have arrived\n"
    "  -w, --wait MS           close MS milliseconds after the connection opened\n"
    "      --ping[=MS]         send a ping when the connection opens (and every MS) and\n"
    "                          print each pong with its round-trip time\n"
    "      --legacy            speak the old draft's handshake and framing (hixie-76)\n"
    "      --max-message N     fail a larger incoming message with 1009 (default 16M)\n"
    "      --loop epoll|poll   event loop backend (default epoll)\n"
    "      --cacert FILE       wss://: trust these PEM CA certificates, not the system's\n"
    "      --insecure          wss://: do not verify the server's certificate (warns)\n"
    "      --keylog FILE       append TLS secrets for Wireshark (also $SSLKEYLOGFILE)\n"
    "  -v, --verbose           trace events, both handshake heads, and every frame in and\n"
    "                          out, field by field (\"| \" lines)\n"
    "  -x, --hex               also hexdump the bytes\n"
    "  -q, --quiet             print nothing but errors\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "The end of stdin (Ctrl-D) closes the connection with 1000 (unless -c or -w is given:\n"
    "then it only stops sending). Ctrl-C closes it with 1001.\n"
    "Exit status: 0 after a normal close (1000, 1001 or no code), 1 on an error, a refused\n"
    "handshake or another close code, 2 on a usage error.\n"
    "\n"
    "Try: ./bin/ws-chat & ./bin/ws-client ws://127.0.0.1:8000/\n";

enum {
    OPT_EXECUTE = CLI_OPT_FIRST_PROGRAM,
    OPT_PING,
    OPT_LEGACY,
    OPT_MAX_MESSAGE,
};

struct settings {
    char host[256];      /* for connecting: "127.0.0.1", "::1", "localhost" */
    int port;            /* 80 unless the URL says */
    char authority[300]; /* the Host header: the URL's host[:port] as written */
    char path[MAX_PATH]; /* the request target: "/", "/chat?room=1" */
    const char *origin;
    const char *protocols[MAX_LIST];
    size_t nprotocols;
    const char *headers[MAX_LIST];
    size_t nheaders;
    const char *execute[MAX_LIST];
    size_t nexecute;
    long count;       /* close after this many messages; 0 = no limit */
    uint64_t wait_ms; /* close this long after opening; 0 = no limit */
    int ping;         /* send a ping when the connection opens */
    uint64_t ping_ms; /* ... and then every ping_ms; 0 = once */
    int legacy;       /* hixie-76 */
    int secure;       /* wss:// */
    struct tls_ctx *tls;
    size_t max_message;
};

/* Lines from stdin, sent as text messages. */
struct input {
    int fd;          /* -1 when not reading (never started, finished, or --execute) */
    int polled;      /* the loop watches fd; else it is always ready: read from a timer */
    int paused;      /* waiting for on_drain (back-pressure) */
    int usable;      /* stdin was open when the program started */
    struct buf line; /* bytes of lines not yet sent */
    unsigned long lineno;
    struct loop_timer timer;
};

/* The handshake's secrets, kept to check the server's answer. */
struct handshake {
    char accept[WS_ACCEPT_SIZE]; /* the Sec-WebSocket-Accept we expect */
    char key1[64], key2[64];     /* hixie-76 */
    unsigned char key3[WS_HIXIE76_KEY3_SIZE];
    int head_shown; /* -v printed the response head */
};

struct client {
    struct loop *loop;
    struct stream *s;   /* NULL once closed */
    struct ws_conn *ws; /* once the handshake succeeded; NULL again once closed */
    int connected;
    struct handshake hs;
    struct input in;
    long received;   /* messages so far */
    int closing;     /* we asked to close */
    int interrupted; /* SIGINT / SIGTERM */
    int failed;      /* exit 1 */
    struct loop_timer wait_timer, ping_timer;
    unsigned ping_seq; /* the payload of the last ping sent */
    struct timespec ping_sent;
};

static struct settings cfg = {.max_message = WS_DEFAULT_MAX_MESSAGE};
static struct client client;

static void give_up(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void input_close(struct input *in);

/* ---- output ---- */

/* Writes all of data to stdout, waiting while the reader catches up: a client with one
 * connection can afford to let a slow reader (| less) slow the server down, through TCP's
 * flow control. Returns 0, or -1 with errno. */
static int write_stdout(const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n >= 0) {
            data += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p = {STDOUT_FILENO, POLLOUT, 0}; /* someone made it non-blocking */
            poll(&p, 1, -1);
        } else if (errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* A status line on stderr ("closed: 1000 bye"), unless -q. */
static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void status(const char *fmt, ...)
{
    if (trace_cfg.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Appends up to max bytes of data as hex pairs ("68 69"), and "..." if there were more. */
static void append_hex(struct buf *out, const char *data, size_t len, size_t max)
{
    for (size_t i = 0; i < len && i < max; i++)
        buf_printf(out, i ? " %02x" : "%02x", (unsigned char)data[i]);
    if (len > max)
        buf_append_str(out, " ...");
}

/* Appends up to max bytes of UTF-8 text quoted, with quotes, backslashes and control
 * characters escaped so that one frame stays on one trace line. The cut never splits a
 * character. */
static void append_quoted(struct buf *out, const char *text, size_t len, size_t max)
{
    size_t n = len;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
            n--; /* text[n] continues a character: cut before the character starts */
    }
    buf_append_str(out, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\')
            buf_printf(out, "\\%c", c);
        else if (c == '\n')
            buf_append_str(out, "\\n");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(out, "\\x%02x", c);
        else
            buf_append(out, &text[i], 1);
    }
    buf_append_str(out, n < len ? "\"..." : "\"");
}

/* ---- the URL ---- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Splits ws://HOST[:PORT][/PATH][?QUERY] (RFC 6455, section 3) into cfg. A bracketed IPv6
 * address keeps its brackets in the Host header and loses them for connecting. */
static void parse_url(struct cli *c, const char *url)
{
    cfg.secure = starts_with(url, "wss://");
    if (!cfg.secure && !starts_with(url, "ws://"))
        cli_usage_error(c, "'%s': the URL must start with ws:// or wss://", url);
    const char *auth = url + strlen(cfg.secure ? "wss://" : "ws://");
    size_t alen = strcspn(auth, "/?#");
    const char *rest = auth + alen;
    if (strchr(rest, '#'))
        cli_usage_error(c, "'%s': a WebSocket URL has no #fragment", url);
    if (alen == 0 || alen >= sizeof cfg.authority || memchr(auth, '@', alen))
        cli_usage_error(c, "'%s': expected ws://HOST[:PORT][/PATH]", url);
    memcpy(cfg.authority, auth, alen);
    cfg.authority[alen] = '\0';

    const char *host = cfg.authority, *port = NULL;
    size_t hlen;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            cli_usage_error(c, "'%s': an IPv6 address is written [ADDR]:PORT", url);
        host++;
        hlen = (size_t)(close - host);
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = strchr(host, ':');
        hlen = colon ? (size_t)(colon - host) : strlen(host);
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0 || hlen >= sizeof cfg.host)
        cli_usage_error(c, "'%s': no host", url);
    memcpy(cfg.host, host, hlen);
    cfg.host[hlen] = '\0';
    cfg.port = port ? (int)cli_number(c, "the URL's port", port, 1, 65535) : cfg.secure ? 443 : 80;

    if (strlen(rest) + 2 > sizeof cfg.path)
        cli_usage_error(c, "the URL's path is too long");
    snprintf(cfg.path, sizeof cfg.path, "%s%s", rest[0] == '/' ? "" : "/", rest);
}

/* ---- the opening handshake ---- */

static void random_bytes(void *out, size_t n)
{
    if (getentropy(out, n) != 0) {
        trace_error("getentropy: %s", strerror(errno));
        exit(EXIT_RUNTIME);
    }
}

/* A uniformly random number from 0 to n - 1 (n >= 1). Taking r % n of any r would favour the
 * small remainders; values from the incomplete last round are drawn again instead. */
static uint64_t random_below(uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* a multiple of n */
    uint64_t r;
    do
        random_bytes(&r, sizeof r);
    while (r >= limit);
    return r % n;
}

/* Inserts the character ch into the NUL-terminated key at position at. */
static void insert_char(char *key, size_t at, char ch)
{
    memmove(key + at + 1, key + at, strlen(key + at) + 1);
    key[at] = ch;
}

/* One of draft-76's Sec-WebSocket-Key1/Key2 values (section 4.1, steps 15-24): a number
 * times a count of spaces, written in decimal, with 1 to 12 random non-digit characters and
 * then the spaces inserted at random places (spaces never first or last). The server finds
 * the number again by dividing the digits by the spaces. out needs 10 + 12 + 12 + 1 bytes. */
static void hixie76_key(char out[64])
{
    uint32_t spaces = 1 + (uint32_t)random_below(12);
    uint32_t number = (uint32_t)random_below((uint64_t)(UINT32_MAX / spaces) + 1);
    snprintf(out, 64, "%lu", (unsigned long)number * spaces);
    /* U+0021-U+002F and U+003A-U+007E: printable, and not digits. */
    for (uint64_t i = 0, n = 1 + random_below(12); i < n; i++) {
        uint64_t pick = random_below(15 + 69);
        char ch = (char)(pick < 15 ? 0x21 + pick : 0x3a + (pick - 15));
        insert_char(out, (size_t)random_below(strlen(out) + 1), ch);
    }
    for (uint32_t i = 0; i < spaces; i++)
        insert_char(out, 1 + (size_t)random_below(strlen(out) - 1), ' ');
}

/* -v: bytes that are not text, as Chrome's inspector showed draft 76's key3 and answer. */
static void trace_hex_line(const char *prefix, const char *what, const void *data, size_t len)
{
    struct buf line = BUF_INIT;
    buf_printf(&line, "%s ", what);
    append_hex(&line, data, len, len);
    trace_lines(prefix, buf_data(&line), buf_len(&line));
    buf_free(&line);
}

/* The request of RFC 6455: a fresh key, and the accept value the server must return. */
static void request_rfc6455(struct buf *req, struct handshake *hs)
{
    unsigned char nonce[WS_KEY_BYTES];
    char key[32];
    random_bytes(nonce, sizeof nonce);
    base64_encode(nonce, sizeof nonce, key);
    ws_accept_key(key, hs->accept);
    buf_printf(req,
               "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
               cfg.path, cfg.authority, key);
    if (cfg.origin)
        buf_printf(req, "Origin: %s\r\n", cfg.origin);
}

/* The request of draft 76: two keys in headers, the third as 8 bytes after the head (the
 * caller appends them). The draft requires an Origin. */
static void request_hixie76(struct buf *req, struct handshake *hs)
{
    hixie76_key(hs->key1);
    hixie76_key(hs->key2);
    random_bytes(hs->key3, sizeof hs->key3);
    buf_printf(req,
               "GET %s HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: %s\r\n"
               "Origin: %s\r\nSec-WebSocket-Key1: %s\r\nSec-WebSocket-Key2: %s\r\n",
               cfg.path, cfg.authority, cfg.origin, hs->key1, hs->key2);
}

static void send_request(struct stream *s)
{
    struct buf req = BUF_INIT;
    if (cfg.legacy)
        request_hixie76(&req, &client.hs);
    else
        request_rfc6455(&req, &client.hs);
    if (cfg.nprotocols > 0) {
        buf_append_str(&req, "Sec-WebSocket-Protocol: ");
        for (size_t i = 0; i < cfg.nprotocols; i++)
            buf_printf(&req, "%s%s", i ? ", " : "", cfg.protocols[i]);
        buf_append_str(&req, "\r\n");
    }
    for (size_t i = 0; i < cfg.nheaders; i++)
        buf_printf(&req, "%s\r\n", cfg.headers[i]);
    trace_lines("> ", buf_data(&req), buf_len(&req));
    buf_append_str(&req, "\r\n");
    if (cfg.legacy) {
        buf_append(&req, client.hs.key3, sizeof client.hs.key3);
        trace_hex_line("> ", "(key3, after the head)", client.hs.key3, sizeof client.hs.key3);
    }
    stream_write(s, buf_data(&req), buf_len(&req));
    buf_free(&req);
}

/* Whether any field named name lists token (Connection and Upgrade are token lists, and
 * may be repeated). */
static int has_token(const struct http_response *r, const char *name, const char *token)
{
    for (size_t i = 0; i < r->num_headers; i++)
        if (slice_eq_nocase(r->headers[i].name, name) &&
            http_token_list_has(r->headers[i].value, token))
            return 1;
    return 0;
}

/* Whether a field named name is present with exactly the value want. */
static int field_is(const struct http_response *r, const char *name, const char *want)
{
    const struct http_header *h = http_response_header_find(r, name);
    return h && slice_eq(h->value, want);
}

/* The sub-protocol check (section 4.1): if we offered any, the server must choose one of
 * them; if we offered none, it must choose none. Returns NULL or what is wrong. */
static const char *protocol_problem(const struct http_response *r)
{
    const struct http_header *h = http_response_header_find(r, "sec-websocket-protocol");
    if (!h)
        return cfg.nprotocols ? "the server chose none of the sub-protocols offered" : NULL;
    for (size_t i = 0; i < cfg.nprotocols; i++)
        if (slice_eq(h->value, cfg.protocols[i]))
            return NULL;
    return "the server chose a sub-protocol that was not offered";
}

/* Checks a 101 against RFC 6455, section 4.1. Returns NULL or what is wrong. */
static const char *check_rfc6455(const struct http_response *r)
{
    static char problem[128];
    if (!has_token(r, "upgrade", "websocket"))
        return "the 101 has no Upgrade: websocket";
    if (!has_token(r, "connection", "upgrade"))
        return "the 101 has no Connection: Upgrade";
    if (!field_is(r, "sec-websocket-accept", client.hs.accept)) {
        const struct http_header *h = http_response_header_find(r, "sec-websocket-accept");
        snprintf(problem, sizeof problem, "bad Sec-WebSocket-Accept '%.*s' (expected %s)",
                 h ? (int)h->value.len : 0, h ? h->value.ptr : "", client.hs.accept);
        return problem;
    }
    if (http_response_header_find(r, "sec-websocket-extensions"))
        return "the server chose an extension, and none was offered";
    return protocol_problem(r);
}

/* Checks draft 76's answer: the fields, then the 16 bytes after the head. */
static const char *check_hixie76(const struct http_response *r, const unsigned char *answer)
{
    unsigned char want[WS_HIXIE76_ANSWER_SIZE];
    char location[sizeof cfg.authority + sizeof cfg.path + 8];
    snprintf(location, sizeof location, "%s://%s%s", cfg.secure ? "wss" : "ws", cfg.authority,
             cfg.path);
    if (!has_token(r, "upgrade", "websocket") || !has_token(r, "connection", "upgrade"))
        return "the 101 has no Upgrade: WebSocket and Connection: Upgrade";
    if (!field_is(r, "sec-websocket-origin", cfg.origin))
        return "Sec-WebSocket-Origin is not the Origin sent";
    if (!field_is(r, "sec-websocket-location", location))
        return "Sec-WebSocket-Location is not the URL asked for";
    if (ws_hixie76_answer(client.hs.key1, client.hs.key2, client.hs.key3, want) < 0)
        return "our own keys are wrong (a bug)";
    if (memcmp(answer, want, sizeof want) != 0)
        return "the 16-byte answer is not MD5(key1, key2, key3)";
    return protocol_problem(r);
}

static void on_open(struct ws_conn *ws, const struct http_response *r);

/* The server said no: the status line, and the first line of a short body, which usually
 * says why ("origin not allowed"). */
static void refused(struct stream *s, const struct http_response *r, const char *body, size_t len)
{
    size_t n = 0;
    if (r->body == HTTP_BODY_LENGTH && r->content_length <= MAX_SHOWN_BODY) {
        len = len < (size_t)r->content_length ? len : (size_t)r->content_length;
        while (n < len && (unsigned char)body[n] >= 0x20 && body[n] != 0x7f)
            n++; /* up to the end of the first line, printable ASCII and UTF-8 only */
    }
    give_up("%s: handshake refused: HTTP/1.%d %d %.*s%s%.*s%s", s->peer, r->version_minor,
            r->status, (int)r->reason.len, r->reason.ptr, n ? " (" : "", (int)n, body,
            n ? ")" : "");
}

/* The stream's on_data until the handshake is done: parses the response head from whatever
 * has arrived. Returns 0 (keep everything) until the head is complete; then only the head
 * (and draft 76's answer) is consumed: the bytes after it are frames, for ws_conn. */
static size_t on_handshake_data(struct stream *s, const char *data, size_t len)
{
    static struct http_response r; /* 64 headers: too big for the stack of a callback */
    ssize_t n = http_parse_response(data, len, &r, 0, NULL);
    if (n == HTTP_INCOMPLETE)
        return 0;
    if (n == HTTP_ERROR) {
        give_up("%s: bad handshake response: %s", s->peer, r.error);
        return len;
    }
    if (!client.hs.head_shown) {
        client.hs.head_shown = 1;
        trace_lines("< ", data, (size_t)n);
    }
    if (r.status != 101) {
        if (r.body == HTTP_BODY_LENGTH && r.content_length <= MAX_SHOWN_BODY &&
            len - (size_t)n < (size_t)r.content_length)
            return 0; /* a short body says why: wait for it */
        refused(s, &r, data + n, len - (size_t)n);
        return len;
    }
    size_t used = (size_t)n;
    const char *problem;
    if (cfg.legacy) {
        if (len - used < WS_HIXIE76_ANSWER_SIZE)
            return 0; /* the answer has not all arrived: parse the head again later */
        trace_hex_line("< ", "(answer, after the head)", data + used, WS_HIXIE76_ANSWER_SIZE);
        problem = check_hixie76(&r, (const unsigned char *)data + used);
        used += WS_HIXIE76_ANSWER_SIZE;
    } else {
        problem = check_rfc6455(&r);
    }
    if (problem) {
        give_up("%s: handshake failed: %s", s->peer, problem);
        return len;
    }
    /* From here on the stream belongs to ws_conn; it is handed the bytes after `used`. */
    on_open(ws_conn_attach(s, WS_CLIENT), &r);
    return used;
}

/* ---- the conversation ---- */

/* Starts the closing handshake (once): a close frame now; the server's answer, or ws_conn's
 * timeout, ends the connection. */
static void close_with(int code, const char *reason)
{
    if (client.closing || !client.ws)
        return;
    client.closing = 1;
    input_close(&client.in);
    loop_timer_stop(client.loop, &client.wait_timer);
    loop_timer_stop(client.loop, &client.ping_timer);
    ws_close(client.ws, code, reason);
}

static void print_message(int opcode, const char *data, size_t len)
{
    if (trace_cfg.quiet)
        return;
    struct buf out = BUF_INIT;
    if (opcode == WS_OP_TEXT) {
        buf_append(&out, data, len);
    } else {
        buf_printf(&out, "[binary %zu bytes] ", len);
        append_hex(&out, data, len, SHOWN_BYTES);
    }
    buf_append_str(&out, "\n");
    if (write_stdout(buf_data(&out), buf_len(&out)) < 0)
        give_up("write stdout: %s", strerror(errno));
    buf_free(&out);
}

static void on_message(struct ws_conn *ws, int opcode, const char *data, size_t len)
{
    if (cfg.count > 0 && client.received >= cfg.count)
        return; /* -c N: the rest came in the same read, after we asked to close */
    trace_event(ws->s->id, "message", ws->s->peer, "%s, %zu bytes", ws_opcode_name(opcode), len);
    print_message(opcode, data, len);
    client.received++;
    if (cfg.count > 0 && client.received >= cfg.count)
        close_with(WS_CLOSE_NORMAL, NULL);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void send_ping(void)
{
    char payload[16];
    int n = snprintf(payload, sizeof payload, "%u", ++client.ping_seq);
    clock_gettime(CLOCK_MONOTONIC, &client.ping_sent);
    ws_ping(client.ws, payload, (size_t)n);
}

static long on_ping_timer(struct loop *loop, void *arg)
{
    send_ping();
    return (long)cfg.ping_ms;
}

/* A pong: the answer to our last ping carries its number back. */
static void on_pong(const char *payload, size_t len)
{
    char last[16];
    int n = snprintf(last, sizeof last, "%u", client.ping_seq);
    if (client.ping_seq && (size_t)n == len && memcmp(payload, last, len) == 0)
        status("pong %u: %.3f ms", client.ping_seq, ms_since(&client.ping_sent));
    else
        status("pong: %zu bytes, not an answer to our last ping", len);
}

/* -v: what the payload holds, under the header fields. */
static void trace_payload(const struct ws_header *h, const char *payload)
{
    struct buf line = BUF_INIT;
    size_t len = (size_t)h->payload_len;
    if (h->opcode == WS_OP_CLOSE && len >= 2) {
        int code = ((unsigned char)payload[0] << 8) | (unsigned char)payload[1];
        buf_printf(&line, "close code: %d, reason: ", code);
        append_quoted(&line, payload + 2, len - 2, SHOWN_BYTES);
    } else if (h->opcode == WS_OP_BINARY || h->opcode == WS_OP_CONTINUATION) {
        buf_append_str(&line, "payload: ");
        append_hex(&line, payload, len, SHOWN_BYTES / 4);
    } else {
        buf_append_str(&line, "payload: ");
        append_quoted(&line, payload, len, SHOWN_BYTES);
    }
    trace_lines("| ", buf_data(&line), buf_len(&line));
    buf_free(&line);
}

/* Every frame in ('<') and out ('>'). Sent frames are shown before masking, with the key
 * they will be masked with; received ones after unmasking. */
static void on_frame(struct ws_conn *ws, char dir, const struct ws_header *h, const char *payload)
{
    if (dir == '<' && h->opcode == WS_OP_PONG && payload)
        on_pong(payload, (size_t)h->payload_len);
    if (!trace_on())
        return;
    char fields[256];
    trace_event(ws->s->id, "frame", ws->s->peer, "%s %s, %llu bytes",
                dir == '>' ? "sent" : "received", ws_opcode_name(h->opcode),
                (unsigned long long)h->payload_len);
    size_t n = ws_frame_describe(h, fields, sizeof fields);
    trace_lines("| ", fields, n < sizeof fields ? n : sizeof fields - 1);
    if (payload && h->payload_len > 0)
        trace_payload(h, payload);
}

static void on_ws_drain(struct ws_conn *ws);

/* The connection is gone. The code is the server's close code (or ours, when we failed the
 * connection); 1006 means no close frame was exchanged at all. */
static void on_ws_close(struct ws_conn *ws, int code, const char *reason, size_t len)
{
    client.ws = NULL;
    client.s = NULL;
    input_close(&client.in);
    loop_timer_stop(client.loop, &client.wait_timer);
    loop_timer_stop(client.loop, &client.ping_timer);
    if (client.failed)
        return; /* the error line has said it */
    if (code == WS_CLOSE_ABNORMAL)
        status("closed: 1006 (the connection ended without a close frame)");
    else if (code == WS_CLOSE_NO_STATUS)
        status("closed: 1005 (no status code)");
    else
        status("closed: %d%s%.*s", code, len ? " " : "", (int)len, reason);
    int normal =
        code == WS_CLOSE_NORMAL || code == WS_CLOSE_GOING_AWAY || code == WS_CLOSE_NO_STATUS;
    if (!normal && !client.interrupted)
        client.failed = 1;
}

static long on_wait_timer(struct loop *loop, void *arg)
{
    close_with(WS_CLOSE_NORMAL, NULL);
    return LOOP_TIMER_STOP;
}

/* ---- stdin: one line, one text message ---- */

static void input_read(void);

static void on_input_readable(struct loop *loop, int fd, int events, void *arg)
{
    input_read();
}

static long on_input_timer(struct loop *loop, void *arg)
{
    input_read();
    return LOOP_TIMER_STOP; /* input_read starts it again while it wants more */
}

/* Asks for the next chunk: the loop watches a pipe or a terminal; epoll refuses a regular
 * file or /dev/null (EPERM: always ready), which are read from a zero-delay timer instead. */
static void input_want(struct input *in)
{
    if (in->fd < 0 || in->paused)
        return;
    if (in->polled)
        loop_watch(client.loop, in->fd, LOOP_READ, on_input_readable, NULL);
    else
        loop_timer_start(client.loop, &in->timer, 0);
}

static void input_pause(struct input *in)
{
    in->paused = 1;
    if (in->polled)
        loop_watch(client.loop, in->fd, 0, on_input_readable, NULL);
    loop_timer_stop(client.loop, &in->timer);
}

static void input_ended(struct input *in);

static void input_start(struct input *in)
{
    if (!in->usable) {
        input_ended(in); /* stdin was closed: there is nothing to send */
        return;
    }
    in->fd = STDIN_FILENO;
    if (loop_watch(client.loop, in->fd, LOOP_READ, on_input_readable, NULL) == 0)
        in->polled = 1;
    else if (errno == EPERM)
        loop_timer_start(client.loop, &in->timer, 0);
    else
        give_up("stdin: %s", strerror(errno));
}

/* Stops reading for good. stdin itself stays open: it is not ours to close. */
static void input_close(struct input *in)
{
    if (in->fd >= 0)
        loop_unwatch(client.loop, in->fd);
    loop_timer_stop(client.loop, &in->timer);
    in->fd = -1;
    buf_free(&in->line);
}

/* Sends one line (without its newline, and without the CR of a CRLF) as a text message.
 * Returns ws_send's answer: 0 means "wait for on_drain". */
static int send_line(struct input *in, const char *line, size_t len)
{
    in->lineno++;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (utf8_check(line, len) < 0) {
        trace_error("stdin line %lu is not valid UTF-8: not sent", in->lineno);
        return 1;
    }
    return ws_send(client.ws, WS_OP_TEXT, line, len);
}

/* Sends every complete line buffered, unless the connection's queue fills up first. */
static void send_lines(struct input *in)
{
    size_t used = 0;
    const char *data = buf_data(&in->line), *nl;
    int more = 1;
    while (more && client.ws &&
           (nl = memchr(data + used, '\n', buf_len(&in->line) - used)) != NULL) {
        more = send_line(in, data + used, (size_t)(nl - (data + used)));
        used += (size_t)(nl - (data + used)) + 1;
    }
    buf_consume(&in->line, used);
    if (!more)
        input_pause(in);
}

/* The end of stdin: a last line without a newline still counts. Then, unless -c or -w tells
 * the client when to stop, the conversation is over: close with 1000. */
static void input_ended(struct input *in)
{
    if (buf_len(&in->line) > 0 && client.ws)
        send_line(in, buf_data(&in->line), buf_len(&in->line));
    input_close(in);
    if (cfg.count == 0 && cfg.wait_ms == 0)
        close_with(WS_CLOSE_NORMAL, NULL);
}

static void input_read(void)
{
    struct input *in = &client.in;
    if (in->fd < 0 || in->paused)
        return;
    ssize_t n = read(in->fd, buf_reserve(&in->line, INPUT_CHUNK), INPUT_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
        input_want(in);
        return;
    }
    if (n < 0) {
        give_up("read stdin: %s", strerror(errno));
        return;
    }
    if (n == 0) {
        input_ended(in);
        return;
    }
    buf_commit(&in->line, (size_t)n);
    send_lines(in);
    if (buf_len(&in->line) > cfg.max_message) {
        give_up("stdin: a line longer than --max-message (%zu bytes)", cfg.max_message);
        return;
    }
    if (!in->polled && !in->paused)
        loop_timer_start(client.loop, &in->timer, 0);
}

/* The connection's queue emptied: send the lines that waited, then read more. */
static void on_ws_drain(struct ws_conn *ws)
{
    struct input *in = &client.in;
    if (in->fd < 0 || !in->paused)
        return;
    in->paused = 0;
    send_lines(in);
    input_want(in);
}

/* The handshake succeeded: set up the connection, then say what we came to say. */
static void on_open(struct ws_conn *ws, const struct http_response *r)
{
    const struct http_header *proto = http_response_header_find(r, "sec-websocket-protocol");
    client.ws = ws;
    ws->legacy = cfg.legacy;
    ws->max_message = cfg.max_message;
    ws->on_message = on_message;
    ws->on_frame = on_frame;
    ws->on_drain = on_ws_drain;
    ws->on_close = on_ws_close;
    trace_event(ws->s->id, "open", ws->s->peer, "%s, sub-protocol %.*s",
                cfg.legacy ? "draft 76" : "RFC 6455", proto ? (int)proto->value.len : 6,
                proto ? proto->value.ptr : "(none)");
    for (size_t i = 0; i < cfg.nexecute; i++)
        ws_send(ws, WS_OP_TEXT, cfg.execute[i], strlen(cfg.execute[i]));
    if (cfg.nexecute == 0)
        input_start(&client.in);
    if (cfg.wait_ms)
        loop_timer_start(client.loop, &client.wait_timer, cfg.wait_ms);
    if (cfg.ping) {
        send_ping();
        if (cfg.ping_ms)
            loop_timer_start(client.loop, &client.ping_timer, cfg.ping_ms);
    }
}

/* ---- the stream, until ws_conn takes it over ---- */

static void on_connect(struct stream *s)
{
    client.connected = 1;
    send_request(s);
}

/* A system error: before the connection was made, it is the connect that failed. (ws_conn
 * leaves on_error to us, so this serves for the whole connection.) */
static void on_error(struct stream *s, int err)
{
    if (client.connected)
        give_up("%s: %s", s->peer, stream_error_text(s));
    else
        give_up("connect %s:%d: %s", cfg.host, cfg.port, stream_error_text(s));
}

/* The stream closed before the handshake finished (once it has, ws_conn's on_close takes
 * this place). */
static void on_handshake_close(struct stream *s)
{
    client.s = NULL;
    if (!client.interrupted)
        give_up("%s: the server closed the connection during the handshake", s->peer);
}

static void give_up(const char *fmt, ...)
{
    if (!client.failed) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", trace_cfg.prog);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    client.failed = 1;
    input_close(&client.in);
    loop_timer_stop(client.loop, &client.wait_timer);
    loop_timer_stop(client.loop, &client.ping_timer);
    if (client.s)
        stream_destroy(client.s);
}

/* Ctrl-C or SIGTERM: close with 1001 ("going away"); a second one, or one before the
 * connection is open, drops it at once. Leaving is not a failure. */
static void on_signal(struct loop *loop, int signo, void *arg)
{
    int again = client.interrupted;
    client.interrupted = 1;
    if (client.ws && !again && !client.closing) {
        close_with(WS_CLOSE_GOING_AWAY, NULL);
        return;
    }
    input_close(&client.in);
    if (client.s)
        stream_destroy(client.s);
}

/* ---- setup ---- */

static void add_to_list(struct cli *c, const char *opt, const char **list, size_t *n,
                        const char *value)
{
    if (*n == MAX_LIST)
        cli_usage_error(c, "%s: at most %d values", opt, MAX_LIST);
    list[(*n)++] = value;
}

/* --header 'Name: value': a field name (a token), a colon, and no line breaks to smuggle in
 * another field. */
static void check_header(struct cli *c, const char *h)
{
    size_t name = strcspn(h, ":");
    if (h[name] != ':' || name == 0 || strcspn(h, " \t") < name || strpbrk(h, "\r\n"))
        cli_usage_error(c, "--header '%s': expected 'Name: value'", h);
}

static void program_option(struct cli *c, int opt, const char *arg)
{
    switch (opt) {
    case 'o':
        cfg.origin = arg;
        break;
    case 's':
        add_to_list(c, "--protocol", cfg.protocols, &cfg.nprotocols, arg);
        break;
    case 'H':
        check_header(c, arg);
        add_to_list(c, "--header", cfg.headers, &cfg.nheaders, arg);
        break;
    case OPT_EXECUTE:
        add_to_list(c, "--execute", cfg.execute, &cfg.nexecute, arg);
        break;
    case 'c':
        cfg.count = (long)cli_number(c, "--count", arg, 1, 1000000000);
        break;
    case 'w':
        cfg.wait_ms = cli_ms(c, "--wait", arg);
        break;
    case OPT_PING:
        cfg.ping = 1;
        cfg.ping_ms = arg ? cli_ms(c, "--ping", arg) : 0;
        break;
    case OPT_LEGACY:
        cfg.legacy = 1;
        break;
    case OPT_MAX_MESSAGE:
        cfg.max_message = cli_size(c, "--max-message", arg);
        break;
    }
}

/* Settings that depend on each other, once all options are read. */
static void finish_settings(struct cli *c)
{
    static char origin[sizeof cfg.authority + 8];
    for (size_t i = 0; i < cfg.nexecute; i++)
        if (utf8_check(cfg.execute[i], strlen(cfg.execute[i])) < 0)
            cli_usage_error(c, "--execute: the text is not valid UTF-8");
    if (cfg.nexecute > 0 && cfg.count == 0 && cfg.wait_ms == 0)
        cfg.count = (long)cfg.nexecute; /* one reply each, as an echo server gives */
    if (cfg.legacy && cfg.ping)
        cli_usage_error(c, "--ping: the old draft has no ping frames");
    if (cfg.legacy && !cfg.origin) { /* draft 76 requires one; a page's would be http:// */
        snprintf(origin, sizeof origin, "%s://%s", cfg.secure ? "https" : "http", cfg.authority);
        cfg.origin = origin;
    }
    if (cfg.max_message == 0)
        cli_usage_error(c, "--max-message: must be at least 1");
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"loop", required_argument, 0, CLI_OPT_LOOP},
        {"origin", required_argument, 0, 'o'},
        {"protocol", required_argument, 0, 's'},
        {"subprotocol", required_argument, 0, 's'}, /* wscat's name */
        {"header", required_argument, 0, 'H'},
        {"execute", required_argument, 0, OPT_EXECUTE},
        {"count", required_argument, 0, 'c'},
        {"wait", required_argument, 0, 'w'},
        {"ping", optional_argument, 0, OPT_PING},
        {"legacy", no_argument, 0, OPT_LEGACY},
        {"max-message", required_argument, 0, OPT_MAX_MESSAGE},
        CLI_TLS_CLIENT_OPTIONS,
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_COMMON_SHORT "o:s:H:c:w:", opts, NULL)) !=
           -1)
        if (!cli_common_option(c, opt, optarg))
            program_option(c, opt, optarg);
    if (argc - optind != 1)
        cli_usage_error(c,
                        "expected one URL, as in: %s ws://127.0.0.1:8000/ "
                        "(an optional value takes '=': --ping=1000)",
                        c->prog);
    parse_url(c, argv[optind]);
    finish_settings(c);
    cli_finish(c);
    cfg.tls = cli_tls_client(c, cfg.secure);
}

static int start(struct client *cl)
{
    char err[NET_ERR_LEN];
    struct stream *s = stream_connect(cl->loop, cfg.host, cfg.port, err);
    if (!s) {
        trace_error("%s", err);
        return -1;
    }
    if (cfg.tls)
        stream_start_tls_client(s, cfg.tls, cfg.host);
    s->on_connect = on_connect;
    s->on_data = on_handshake_data;
    s->on_error = on_error;
    s->on_close = on_handshake_close;
    s->trace_data = trace_hex_on(); /* -v shows heads and frames; -x adds the raw bytes */
    cl->s = s;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "ws-client", 0, usage);
    parse_args(&c, argc, argv);
    client.in.fd = -1;
    /* Asked before anything opens a descriptor: with stdin closed, fd 0 is free, and the first
     * socket would take it and be read as "stdin". */
    client.in.usable = fcntl(STDIN_FILENO, F_GETFD) == 0;

    client.loop = cli_loop(&c, on_signal, NULL);
    loop_timer_init(&client.in.timer, on_input_timer, NULL);
    loop_timer_init(&client.wait_timer, on_wait_timer, NULL);
    loop_timer_init(&client.ping_timer, on_ping_timer, NULL);
    if (start(&client) < 0)
        client.failed = 1;
    else if (loop_run(client.loop) < 0)
        give_up("event loop: %s", strerror(errno));
    input_close(&client.in);
    loop_free(client.loop);
    tls_ctx_free(cfg.tls);
    return client.failed ? EXIT_RUNTIME : EXIT_OK;
}
