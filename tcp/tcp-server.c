/* tcp-server - the TCP server of document 000, section 一, done right.
 *
 * The document's Node server writes "welcome to node tcp" to each new connection, answers
 * every chunk of data with "hello", and writes "end" when the client half-closes. This one does
 * the same, and it is also the echo server the labs and benchmarks use.
 *
 *   ./bin/tcp-server -v                 then: telnet 127.0.0.1 8000   (or nc 127.0.0.1 8000)
 *   ./bin/tcp-server --echo             every byte comes back
 *   ./bin/tcp-server --lines            one answer per complete line, however the bytes arrive
 *
 * What it teaches: a "data" event is whatever one read returned, not a message. Put telnet in
 * character mode (Ctrl-] then "mode character") and each keystroke is its own chunk; paste a
 * paragraph and it may be one.
 * --lines shows the fix: keep bytes until a newline completes a line. --echo shows the other
 * half of the lesson: a write may not complete, so when the client stops reading, the server
 * stops reading from it (back-pressure) until the queue drains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "loop.h"
#include "server.h"
#include "stream.h"
#include "trace.h"

#define MAX_LINE (64 * 1024)

static const char usage[] =
    "Usage: tcp-server [options]\n"
    "The TCP server of the Node tutorial: a welcome banner, a reply per chunk of data,\n"
    "a goodbye when the client half-closes.\n"
    "\n"
    "  -p, --port N            port to listen on (default 8000; 0 = any free port)\n"
    "  -b, --bind ADDR         address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "      --loop epoll|poll   event loop backend (default epoll)\n"
    "  -e, --echo              echo every byte back instead of the tutorial's replies\n"
    "  -l, --lines             answer once per complete line (echo: the line itself)\n"
    "      --welcome TEXT      banner on connect (default \"welcome to node tcp\")\n"
    "      --reply TEXT        answer to each chunk or line (default \"hello\")\n"
    "      --goodbye TEXT      sent when the client half-closes (default \"end\")\n"
    "      --keepalive         turn on TCP keep-alive probes (SO_KEEPALIVE)\n"
    "      --timeout MS        close a connection idle this long (default 0 = never)\n"
    "      --max-connections N stop accepting at N open connections (default 0 = no limit)\n"
    "  -v, --verbose           trace events on stderr (connection, data, end, close, ...)\n"
    "  -x, --hex               also hexdump the bytes in and out\n"
    "  -q, --quiet             print nothing but the ready line and errors\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "Try: telnet 127.0.0.1 8000, or: printf 'world!\\r\\n' | nc -N 127.0.0.1 8000\n";

enum {
    OPT_WELCOME = CLI_OPT_FIRST_PROGRAM,
    OPT_REPLY,
    OPT_GOODBYE,
    OPT_KEEPALIVE,
    OPT_TIMEOUT,
    OPT_MAX_CONN
};

struct settings {
    int echo, lines;
    const char *welcome, *reply, *goodbye;
    uint64_t timeout_ms;
};

static struct settings cfg = {0, 0, "welcome to node tcp", "hello", "end", 0};
static struct server srv;

/* ---- per-connection behaviour ---- */

/* Echo: write back what came; if the client is not reading fast enough, stop reading from it
 * until its queue drains, so a slow reader cannot make us buffer without limit. */
static void echo_bytes(struct stream *s, const char *data, size_t len)
{
    /* LAB 1 BEGIN
     * Echo the bytes back with stream_write. It never blocks and never loses bytes: what the
     * kernel does not take waits in the stream's queue. It returns 0 once that queue is over
     * its limit (the client is not reading): then stop reading from this client with
     * stream_pause(s), so that a slow reader cannot make the server buffer without limit.
     * on_drain resumes. (docs/tcp.md, back-pressure)
     * STUB: stream_write(s, data, len);
     */
    if (!stream_write(s, data, len))
        stream_pause(s);
    /* LAB 1 END */
}

/* The answer to one unit of input: a chunk, or (with --lines) one complete line. */
static void answer(struct stream *s, const char *data, size_t len)
{
    if (cfg.echo)
        echo_bytes(s, data, len);
    else
        stream_write(s, cfg.reply, strlen(cfg.reply));
}

/* --lines: answer each complete line and leave an unfinished one in the stream's buffer,
 * where the next read will complete it. */
static size_t answer_lines(struct stream *s, const char *data, size_t len)
{
    /* LAB 1 BEGIN
     * data holds len bytes: whatever the reads brought, plus what you left unused last time.
     * Answer every complete line (up to and including its '\n') with answer(s, line, line_len),
     * in order, and return how many bytes you used: the stream keeps the rest (an unfinished
     * line) and hands it back, with the next bytes, on the next call. A line may come in many
     * pieces and many lines in one piece. If answering paused the stream (stream_paused),
     * stop and return what you used so far: the rest is handed back after on_drain.
     * (docs/tcp.md, framing)
     * STUB: answer(s, data, len);
     * STUB: return len;
     */
    size_t used = 0;
    const char *nl;
    while (used < len && (nl = memchr(data + used, '\n', len - used)) != NULL) {
        size_t line_len = (size_t)(nl - (data + used)) + 1;
        answer(s, data + used, line_len);
        used += line_len;
        if (stream_paused(s))
            break;
    }
    return used;
    /* LAB 1 END */
}

static size_t on_data(struct stream *s, const char *data, size_t len)
{
    if (cfg.lines)
        return answer_lines(s, data, len);
    answer(s, data, len);
    return len;
}

static void on_drain(struct stream *s)
{
    /* LAB 1 BEGIN
     * The queue has drained: the client reads again. Resume reading from it (stream_resume).
     */
    stream_resume(s);
    /* LAB 1 END */
}

/* The client half-closed. The tutorial writes its goodbye; after this the stream ends our
 * side too (Node's default, allowHalfOpen false). */
static void on_end(struct stream *s)
{
    if (!cfg.echo)
        stream_write(s, cfg.goodbye, strlen(cfg.goodbye));
}

static void on_timeout(struct stream *s)
{
    stream_destroy(s);
}

static void on_connection(struct server *server, struct stream *s)
{
    s->on_data = on_data;
    s->on_end = on_end;
    s->on_drain = on_drain;
    s->on_timeout = on_timeout;
    if (cfg.lines)
        s->max_input = MAX_LINE;
    if (cfg.timeout_ms)
        stream_set_timeout(s, cfg.timeout_ms);
    if (!cfg.echo)
        stream_write(s, cfg.welcome, strlen(cfg.welcome));
}

/* SIGINT/SIGTERM: stop accepting and end every connection, giving clients a moment to
 * close; a second signal closes everything at once. The loop returns when nothing is left. */
static void on_signal(struct loop *loop, int signo, void *arg)
{
    server_shutdown(&srv, 2000);
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SERVER_OPTIONS,
        {"echo", no_argument, 0, 'e'},
        {"lines", no_argument, 0, 'l'},
        {"welcome", required_argument, 0, OPT_WELCOME},
        {"reply", required_argument, 0, OPT_REPLY},
        {"goodbye", required_argument, 0, OPT_GOODBYE},
        {"keepalive", no_argument, 0, OPT_KEEPALIVE},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"max-connections", required_argument, 0, OPT_MAX_CONN},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_SERVER_SHORT "el", opts, NULL)) != -1) {
        if (cli_common_option(c, opt, optarg))
            continue;
        switch (opt) {
        case 'e':
            cfg.echo = 1;
            break;
        case 'l':
            cfg.lines = 1;
            break;
        case OPT_WELCOME:
            cfg.welcome = optarg;
            break;
        case OPT_REPLY:
            cfg.reply = optarg;
            break;
        case OPT_GOODBYE:
            cfg.goodbye = optarg;
            break;
        case OPT_KEEPALIVE:
            srv.keepalive = 1;
            break;
        case OPT_TIMEOUT:
            cfg.timeout_ms = cli_ms(c, "--timeout", optarg);
            break;
        case OPT_MAX_CONN:
            srv.max_connections = (size_t)cli_number(c, "--max-connections", optarg, 0, 1000000);
            break;
        }
    }
    if (optind < argc)
        cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
    cli_finish(c);
}

int main(int argc, char **argv)
{
    struct cli c;
    char err[NET_ERR_LEN];
    cli_init(&c, "tcp-server", 8000, usage);
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
    return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
