/* tcp-client - the TCP client of document 000, section 一, done right.
 *
 * The document's Node client connects, prints "client is connect", writes "world!\r\n", and in
 * its 'data' handler prints the chunk and calls client.end(). That handler is the pitfall this
 * program exists to show: it takes the first 'data' event to be the server's whole answer. A
 * 'data' event is only what one read returned: against tcp-server it may be the banner alone,
 * with "hello" and "end" arriving in reads of their own. The document's client hangs up its
 * side at the first of them (had it more to send, that would be cut off), and its console.log
 * adds a line break per chunk, so read boundaries look like message boundaries. This client
 * sends everything it has, then half-closes, and copies every byte that arrives to stdout,
 * unchanged, until the server closes the connection.
 *
 *   ./bin/tcp-server &
 *   ./bin/tcp-client 127.0.0.1 8000           prints: welcome to node tcphelloend
 *   ./bin/tcp-client -v 127.0.0.1 8000        and on stderr the events: connect, data, end, close
 *   ./bin/tcp-client -i 127.0.0.1 8000        like nc: type lines, Ctrl-D half-closes
 *   ./bin/tcp-client -f big.bin ::1 8000 > copy        (against tcp-server --echo -b ::1)
 *
 * What to send comes from one of three places: a message (-m, by default the document's), a
 * file (-f), or stdin (-i). Whichever it is, the client writes it, half-closes when it has
 * sent the last byte (as `nc -N` does), and waits for the server to close.
 *
 * Back-pressure, both ways:
 *   - Sending: stream_write queues what the kernel will not take yet and returns 0 once the
 *     queue is long; the client then stops reading its file or stdin until on_drain. A 5 GB
 *     file sent to a slow server costs the client about 128 KiB of memory, not 5 GB.
 *   - Receiving: stdout is written with ordinary blocking writes. While a slow reader of our
 *     output (`| less`, a slow script) keeps us waiting in write(2), we do not read the
 *     socket; the kernel's receive buffer fills, TCP's window closes, and the server's writes
 *     stop. The price is that the loop waits too (timers, stdin, and Ctrl-C are handled once
 *     the write returns), which suits a client with one connection. A server could never
 *     afford it, since one slow client would stall all the others: that is why stream.c
 *     queues its output and watches for writability instead.
 *
 * Reading stdin without blocking the loop: the loop watches fd 0 and the client reads once per
 * readiness, which never blocks. It does not set O_NONBLOCK on stdin, because that flag
 * belongs to the open file, which a terminal shares with the shell. A regular file or
 * /dev/null cannot be watched by epoll (they are always ready), so those are read from a timer
 * that fires at every turn of the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "loop.h"
#include "net.h"
#include "stream.h"
#include "trace.h"

#define INPUT_CHUNK (64 * 1024)

static const char usage[] =
    "Usage: tcp-client [options] HOST PORT\n"
    "The TCP client of the Node tutorial: connect, send a message, half-close, and print\n"
    "everything the server sends until it closes the connection.\n"
    "\n"
    "  -m, --message TEXT      what to send (default \"world!\\r\\n\", as in the tutorial)\n"
    "  -f, --file FILE         send the contents of FILE instead\n"
    "  -i, --interactive       send stdin and print what comes back, like nc; the end of\n"
    "                          input (Ctrl-D) half-closes, the server closing ends it\n"
    "      --timeout MS        fail if connecting, or then the connection being idle, takes\n"
    "                          MS milliseconds (default 0 = wait forever)\n"
    "      --keepalive         turn on TCP keep-alive probes (SO_KEEPALIVE)\n"
    "      --loop epoll|poll   event loop backend (default epoll)\n"
    "  -v, --verbose           trace events on stderr (connect, data, end, close, ...)\n"
    "  -x, --hex               also hexdump the bytes in and out\n"
    "  -q, --quiet             do not print what the server sends\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "HOST is a name or an address (127.0.0.1, ::1, localhost).\n"
    "Exit status: 0 when the server closed the connection, 1 on an error or a timeout,\n"
    "2 on a usage error.\n"
    "\n"
    "Try: ./bin/tcp-server & ./bin/tcp-client 127.0.0.1 8000\n";

enum { OPT_TIMEOUT = CLI_OPT_FIRST_PROGRAM, OPT_KEEPALIVE };

struct settings {
    const char *host;
    int port;
    const char *message; /* -m, or the document's */
    const char *file;    /* -f */
    int interactive;     /* -i */
    uint64_t timeout_ms; /* --timeout: connect, then idle */
    int keepalive;
};

/* Where the bytes to send come from when they are not a message: -f FILE or -i (stdin). */
struct input {
    int fd;           /* -1 when there is none, or once it is finished */
    const char *name; /* "stdin" or the file's name, for error lines */
    int polled;       /* 1: the loop watches fd; 0: always ready, read from the timer */
    struct loop_timer timer;
};

/* One connection, one input, one outcome. */
struct client {
    struct loop *loop;
    struct stream *conn;             /* NULL once closed */
    char target[NET_ADDR_LEN];       /* HOST:PORT as given, for connect errors */
    int connected;                   /* on_connect has run */
    struct loop_timer connect_timer; /* --timeout while connecting */
    struct input in;
    int failed; /* exit 1 */
};

static struct settings cfg = {NULL, 0, "world!\r\n", NULL, 0, 0, 0};
static struct client client;

/* Something went wrong: say it in one line, close the connection, exit 1 once the loop ends. */
static void give_up(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- stdout ---- */

/* Copies data to stdout, waiting while a slow reader catches up (see the opening comment).
 * Returns 0, or -1 with errno (EPIPE when the reader has gone). */
static int write_stdout(const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n >= 0) {
            data += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* Someone left stdout non-blocking (Node does that to terminals): wait here, as
             * a blocking write would. */
            struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
            poll(&p, 1, -1);
        } else if (errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* ---- the input: a file or stdin ---- */

static void input_read(struct client *cl);

static void on_input_readable(struct loop *loop, int fd, int events, void *arg)
{
    input_read(arg);
}

static long on_input_timer(struct loop *loop, void *arg)
{
    input_read(arg);
    return LOOP_TIMER_STOP; /* input_read restarts it when it wants more */
}

/* Opens -f FILE or takes stdin for -i. Returns 0, or -1 with an error line printed. Called
 * before anything else opens a descriptor: if stdin was closed, fd 0 is free, and the first
 * socket would take it and be read as "stdin". */
static int input_open(struct input *in)
{
    in->fd = -1;
    loop_timer_init(&in->timer, on_input_timer, &client);
    if (cfg.interactive) {
        in->name = "stdin";
        if (fcntl(STDIN_FILENO, F_GETFD) < 0) {
            trace_error("stdin: %s", strerror(errno));
            return -1;
        }
        in->fd = STDIN_FILENO;
    } else if (cfg.file) {
        in->name = cfg.file;
        in->fd = open(cfg.file, O_RDONLY | O_CLOEXEC);
        if (in->fd < 0) {
            trace_error("open %s: %s", cfg.file, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Starts reading, once connected. The loop can watch a pipe, a terminal or a socket; epoll
 * refuses a regular file or /dev/null (EPERM: they are always ready), so those are read once
 * per turn of the loop from a zero-delay timer instead. */
static void input_begin(struct input *in, struct loop *loop)
{
    if (in->fd < 0)
        return;
    if (loop_watch(loop, in->fd, LOOP_READ, on_input_readable, &client) == 0) {
        in->polled = 1;
    } else if (errno == EPERM) {
        in->polled = 0;
        loop_timer_start(loop, &in->timer, 0);
    } else {
        give_up("watch %s: %s", in->name, strerror(errno));
    }
}

/* Reads again after a pause (on_drain). */
static void input_resume(struct input *in, struct loop *loop)
{
    if (in->fd < 0)
        return;
    if (in->polled)
        loop_watch(loop, in->fd, LOOP_READ, on_input_readable, &client);
    else
        loop_timer_start(loop, &in->timer, 0);
}

/* Stops reading until input_resume (back-pressure). */
static void input_pause(struct input *in, struct loop *loop)
{
    if (in->fd < 0)
        return;
    if (in->polled)
        loop_watch(loop, in->fd, 0, on_input_readable, &client);
    loop_timer_stop(loop, &in->timer);
}

/* Stops reading for good. stdin stays open: it is not ours to close. */
static void input_close(struct input *in, struct loop *loop)
{
    if (in->fd < 0)
        return;
    loop_unwatch(loop, in->fd);
    loop_timer_stop(loop, &in->timer);
    if (in->fd != STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
}

/* Reads one chunk and sends it. The end of the input is the end of what we have to say:
 * half-close, and keep reading what the server sends. */
static void input_read(struct client *cl)
{
    static char chunk[INPUT_CHUNK];
    struct input *in = &cl->in;
    ssize_t n = read(in->fd, chunk, sizeof chunk);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!in->polled)
                loop_timer_start(cl->loop, &in->timer, 0);
            return;
        }
        give_up("read %s: %s", in->name, strerror(errno));
        return;
    }
    if (n == 0) {
        input_close(in, cl->loop);
        stream_end(cl->conn);
        return;
    }
    if (!stream_write(cl->conn, chunk, (size_t)n))
        input_pause(in, cl->loop); /* on_drain resumes */
    else if (!in->polled)
        loop_timer_start(cl->loop, &in->timer, 0);
}

/* ---- the connection's events ---- */

static void on_connect(struct stream *s)
{
    client.connected = 1;
    loop_timer_stop(client.loop, &client.connect_timer);
    if (cfg.keepalive)
        net_set_keepalive(s->fd, 1);
    if (cfg.timeout_ms)
        stream_set_timeout(s, cfg.timeout_ms);
    if (client.in.fd >= 0) {
        input_begin(&client.in, client.loop);
        return;
    }
    stream_write(s, cfg.message, strlen(cfg.message));
    stream_end(s);
}

/* Every byte the server sends goes to stdout as it came: no line break added per chunk, since
 * a chunk is only what one read returned. */
static size_t on_data(struct stream *s, const char *data, size_t len)
{
    if (!trace_cfg.quiet && write_stdout(data, len) < 0)
        give_up("write stdout: %s", strerror(errno));
    return len;
}

/* The server half-closed. The stream is half-open (allow_half_open), so that a message or a
 * file is still sent whole: the connection closes once our end has gone too. In -i mode the
 * server's end ends the session, as it does for nc: stop reading stdin and end our side as
 * soon as what is queued has been sent. */
static void on_end(struct stream *s)
{
    if (!cfg.interactive)
        return;
    input_close(&client.in, client.loop);
    stream_end(s);
}

static void on_drain(struct stream *s)
{
    input_resume(&client.in, client.loop);
}

static void on_timeout(struct stream *s)
{
    give_up("%s: idle timeout", s->peer);
}

/* A system error (ECONNREFUSED, ECONNRESET, ...). Before the connection was made, it is the
 * connect that failed; name the target as the user gave it. */
static void on_error(struct stream *s, int err)
{
    if (client.connected)
        give_up("%s: %s", s->peer, strerror(err));
    else
        give_up("connect %s: %s", client.target, strerror(err));
}

/* The last event. With no connection and no input left, the loop has nothing to wait for and
 * loop_run returns. */
static void on_close(struct stream *s)
{
    client.conn = NULL;
    loop_timer_stop(client.loop, &client.connect_timer);
    input_close(&client.in, client.loop);
}

static long on_connect_timeout(struct loop *loop, void *arg)
{
    give_up("connect %s: timed out", client.target);
    return LOOP_TIMER_STOP;
}

static void give_up(const char *fmt, ...)
{
    if (!client.failed) {
        char line[NET_ERR_LEN];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        trace_error("%s", line);
    }
    client.failed = 1;
    input_close(&client.in, client.loop);
    if (client.conn)
        stream_destroy(client.conn);
}

/* Ctrl-C or SIGTERM: close the connection and leave. Ending a session is not a failure. */
static void on_signal(struct loop *loop, int signo, void *arg)
{
    input_close(&client.in, loop);
    if (client.conn)
        stream_destroy(client.conn);
}

/* ---- setup ---- */

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"loop", required_argument, 0, CLI_OPT_LOOP},
        {"message", required_argument, 0, 'm'},
        {"file", required_argument, 0, 'f'},
        {"interactive", no_argument, 0, 'i'},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"keepalive", no_argument, 0, OPT_KEEPALIVE},
        {0, 0, 0, 0},
    };
    int opt, sources = 0;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_COMMON_SHORT "m:f:i", opts, NULL)) != -1) {
        if (cli_common_option(c, opt, optarg))
            continue;
        switch (opt) {
        case 'm':
            cfg.message = optarg;
            sources++;
            break;
        case 'f':
            cfg.file = optarg;
            sources++;
            break;
        case 'i':
            cfg.interactive = 1;
            sources++;
            break;
        case OPT_TIMEOUT:
            cfg.timeout_ms = cli_ms(c, "--timeout", optarg);
            break;
        case OPT_KEEPALIVE:
            cfg.keepalive = 1;
            break;
        }
    }
    if (sources > 1)
        cli_usage_error(c, "choose one of -m, -f and -i");
    if (argc - optind != 2)
        cli_usage_error(c, "expected HOST and PORT, as in: %s 127.0.0.1 8000", c->prog);
    cfg.host = argv[optind];
    cfg.port = (int)cli_number(c, "PORT", argv[optind + 1], 1, 65535);
    cli_finish(c);
}

/* "127.0.0.1:8000", or "[::1]:8000" so the port cannot be read as part of the address. */
static void format_target(char out[NET_ADDR_LEN])
{
    if (strchr(cfg.host, ':'))
        snprintf(out, NET_ADDR_LEN, "[%s]:%d", cfg.host, cfg.port);
    else
        snprintf(out, NET_ADDR_LEN, "%s:%d", cfg.host, cfg.port);
}

/* Starts connecting. Returns 0, or -1 with the error line printed (a name that does not
 * resolve). */
static int start_connect(struct client *cl)
{
    char err[NET_ERR_LEN];
    struct stream *s = stream_connect(cl->loop, cfg.host, cfg.port, err);
    if (!s) {
        trace_error("%s", err);
        return -1;
    }
    s->on_connect = on_connect;
    s->on_data = on_data;
    s->on_end = on_end;
    s->on_drain = on_drain;
    s->on_timeout = on_timeout;
    s->on_error = on_error;
    s->on_close = on_close;
    s->allow_half_open = 1;
    cl->conn = s;
    loop_timer_init(&cl->connect_timer, on_connect_timeout, cl);
    if (cfg.timeout_ms)
        loop_timer_start(cl->loop, &cl->connect_timer, cfg.timeout_ms);
    return 0;
}

int main(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "tcp-client", 0, usage);
    parse_args(&c, argc, argv);
    format_target(client.target);
    if (input_open(&client.in) < 0)
        return EXIT_RUNTIME;

    client.loop = cli_loop(&c, on_signal, NULL);
    if (start_connect(&client) < 0)
        client.failed = 1;
    else if (loop_run(client.loop) < 0)
        give_up("event loop: %s", strerror(errno));
    input_close(&client.in, client.loop);
    loop_free(client.loop);
    return client.failed ? EXIT_RUNTIME : EXIT_OK;
}
