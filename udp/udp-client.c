/* udp-client - the UDP client of document 000, section 二, and a small UDP ping.
 *
 * The document's Node client sends one datagram, "hello node udp", with
 * send(buf, offset, length, port, address) and closes. This one sends the same bytes, and
 * makes the buffer's offset and length options; it can also send many datagrams and wait for
 * the replies, timing each like ping does (the UDP pinger lab).
 *
 *   ./bin/udp-client 127.0.0.1 41234                        the tutorial's send
 *   ./bin/udp-client --offset 6 --length 4 127.0.0.1 41234  sends "node"
 *   ./bin/udp-client -c 5 -i 200 -w 1000 127.0.0.1 41234    pings udp-server --echo
 *   ./bin/udp-client --size 65508 127.0.0.1 41234           too big for IPv4: EMSGSIZE
 *   ./bin/udp-client -w 500 127.0.0.1 9                     nothing listens: ECONNREFUSED
 *
 * What it teaches. Each send is one datagram, delivered whole or not at all, from 0 bytes (an
 * empty datagram is a real one) to 65507 over IPv4 (see udp_socket.h for why). UDP has no
 * sequence numbers, so to know which request a reply answers the application numbers them:
 * with --count every datagram starts with "seq=N " (the single datagram sent without --count
 * is exactly the bytes asked for, as in the document). Replies may come late, twice, out of
 * order or never; a reply's number says which send it answers, and so its round-trip time.
 *
 * UDP has no connection, yet this client calls connect(): it sends nothing, but tells the kernel
 * who our one peer is. Then, when nothing listens on that port, the ICMP "port unreachable"
 * the peer's host sends back turns into ECONNREFUSED on our next send or receive. With
 * --no-connect the socket stays unconnected (sendto each time) and the error is never seen: the
 * client just waits for replies that will not come. Since connecting asks the peer nothing,
 * a name with several addresses gives no second chance: "localhost" may mean 127.0.0.1 first,
 * and a server bound to ::1 alone is then refused. Give the address itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "loop.h"
#include "net.h"
#include "trace.h"
#include "udp_socket.h"

#define DEFAULT_MESSAGE "hello node udp"
#define MAX_BUFFER (1024 * 1024) /* --file and --size: enough to pick any datagram from */
#define MAX_COUNT 1000000
#define SEQ_PREFIX_MAX 24 /* "seq=1000000 " fits */

static const char usage[] =
    "Usage: udp-client [options] HOST PORT [MESSAGE]\n"
    "The UDP client of the Node tutorial: sends one datagram (\"hello node udp\") to HOST:PORT\n"
    "and closes. Can send many and wait for replies, like ping.\n"
    "\n"
    "What to send (one of these; the default is \"hello node udp\"):\n"
    "  MESSAGE                 this text\n"
    "  -f, --file F            the contents of file F (- for standard input)\n"
    "  -s, --size N            N bytes of the pattern abcdefghijklmnopqrstuvwxyzabc... (K, M)\n"
    "Which part of it, as the tutorial's send(buf, offset, length, port, address):\n"
    "      --offset N          start N bytes into the buffer (default 0)\n"
    "      --length N          send N bytes (default: the rest of the buffer)\n"
    "How often, and the replies:\n"
    "  -c, --count N           send N datagrams, each numbered: \"seq=N \" then the bytes\n"
    "  -i, --interval MS       between two datagrams (default 1000)\n"
    "  -w, --wait MS           wait up to MS after the last send for replies; print each\n"
    "                          with its round-trip time, then a summary (exit 1 if none came)\n"
    "      --no-connect        do not connect() the socket: send with sendto, and so never\n"
    "                          hear that nothing listens (ECONNREFUSED)\n"
    "      --loop epoll|poll   event loop backend (default epoll)\n"
    "  -v, --verbose           trace events on stderr (listening, connect, send, message, close)\n"
    "  -x, --hex               also hexdump every datagram\n"
    "  -q, --quiet             print only the summary\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "Without --count one datagram goes out, exactly the bytes chosen. With --count each starts\n"
    "with its sequence number, so that a reply (an echo) says which send it answers.\n"
    "A datagram holds 0 to 65507 bytes over IPv4 (65527 over IPv6); more fails with EMSGSIZE.\n"
    "\n"
    "Try: ./bin/udp-server --echo, then: ./bin/udp-client -c 3 -w 1000 127.0.0.1 41234\n";

enum { OPT_OFFSET = CLI_OPT_FIRST_PROGRAM, OPT_LENGTH, OPT_NO_CONNECT };

struct settings {
    const char *host;
    int port;
    const char *message, *file; /* MESSAGE, --file */
    size_t size;                /* --size, when size_given */
    int size_given;
    size_t offset, length; /* --offset, --length (when length_given) */
    int length_given;
    long count; /* --count, when numbered; else 1 */
    int numbered;
    uint64_t interval_ms, wait_ms;
    int waiting; /* --wait given */
    int no_connect;
    int quiet;
};

/* One datagram sent: when, and whether a reply has come. */
struct request {
    double sent_at; /* ms */
    int answered;
};

static struct settings cfg = {.count = 1, .interval_ms = 1000};
static struct udp_socket sock;
static struct loop_timer send_timer, wait_timer;

static char *buffer;        /* the whole message (--file, --size), or NULL */
static const char *payload; /* the part chosen by --offset and --length */
static size_t payload_len;
static char *numbered_datagram;  /* "seq=N " + payload, with --count */
static size_t attempted_len;     /* the size of the datagram last handed to send */
static struct request *requests; /* one per datagram, with --wait */
static long sent, replies, duplicates;
static double rtt_min, rtt_max, rtt_sum;
static int failed;

/* A monotonic clock in milliseconds, to the microsecond: round trips on loopback take tens of
 * microseconds, far below the loop's own millisecond clock. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- the end ---- */

/* Closing the socket at once means nothing more is read, even from a batch of replies the
 * kernel already holds: the summary counts what came before the end. */
static void finish(void)
{
    loop_timer_stop(sock.loop, &send_timer);
    loop_timer_stop(sock.loop, &wait_timer);
    udp_socket_close(&sock);
    loop_stop(sock.loop);
}

/* One line for what went wrong, with the reason where a student would not guess it. */
static void fail(const char *op, int err)
{
    if (err == EMSGSIZE)
        trace_error("%s %s: %s (the datagram holds %zu bytes; UDP over %s carries at most %d)", op,
                    sock.peer.text, strerror(err), attempted_len,
                    sock.family == AF_INET6 ? "IPv6" : "IPv4",
                    sock.family == AF_INET6 ? UDP_IPV6_MAX_PAYLOAD : UDP_IPV4_MAX_PAYLOAD);
    else if (err == ECONNREFUSED)
        trace_error("%s %s: %s (an ICMP port unreachable came back: nothing listens there)", op,
                    sock.peer.text, strerror(err));
    else
        trace_error("%s %s: %s", op, sock.peer.text, strerror(err));
    failed = 1;
    finish();
}

static void on_error(struct udp_socket *u, int err, const char *op)
{
    fail(op, err);
}

static void on_signal(struct loop *loop, int signo, void *arg)
{
    finish();
}

/* ---- sending ---- */

static int all_answered(void)
{
    return sent == cfg.count && replies == sent;
}

/* After the last send: done, or wait for the replies still missing. */
static void all_sent(void)
{
    if (!cfg.waiting || all_answered())
        finish();
    else
        loop_timer_start(sock.loop, &wait_timer, cfg.wait_ms);
}

/* The next datagram: the payload, behind its number with --count. The payload may hold any
 * bytes, zeros included, so its length is carried along, never found with strlen. */
static size_t next_datagram(long seq, const char **data)
{
    if (!cfg.numbered) {
        *data = payload;
        return payload_len;
    }
    int n = snprintf(numbered_datagram, SEQ_PREFIX_MAX, "seq=%ld ", seq);
    memcpy(numbered_datagram + n, payload, payload_len);
    *data = numbered_datagram;
    return (size_t)n + payload_len;
}

static void send_step(void)
{
    const char *data;
    size_t len = next_datagram(sent + 1, &data);
    attempted_len = len;
    if (requests)
        requests[sent].sent_at = now_ms();
    if (udp_socket_send(&sock, data, len, NULL) < 0) {
        /* A full send buffer is no failure: wait until the kernel has room. */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
            udp_socket_want_write(&sock, 1);
        else
            fail("send", errno);
        return;
    }
    sent++;
    if (sent < cfg.count)
        loop_timer_start(sock.loop, &send_timer, cfg.interval_ms);
    else
        all_sent();
}

static long on_send_timer(struct loop *loop, void *arg)
{
    send_step();
    return LOOP_TIMER_STOP;
}

static void on_writable(struct udp_socket *u)
{
    udp_socket_want_write(u, 0);
    send_step();
}

static long on_wait_over(struct loop *loop, void *arg)
{
    finish();
    return LOOP_TIMER_STOP;
}

/* ---- replies ---- */

/* LAB 2 BEGIN
 * Write two helpers for on_message:
 *   static long parse_seq(const char *data, size_t len): the number N at the start of a reply,
 *     "seq=N " (the echo of what send_step sent), or 0 when the reply does not start that way.
 *     The bytes are not a C string (no NUL): use len, never strlen. Bound the digits so that a
 *     hostile reply cannot overflow the number.
 *   static void count_reply(double rtt): counts a first reply to a request into replies,
 *     rtt_min, rtt_max and rtt_sum, for the summary. (docs/udp.md, loss and delay)
 */
/* The number at the start of a reply ("seq=12 ..."), or 0 when there is none. Seven digits
 * at most: --count goes up to 1000000, and a longer number cannot overflow a long. */
static long parse_seq(const char *data, size_t len)
{
    if (len < 4 || memcmp(data, "seq=", 4) != 0)
        return 0;
    long seq = 0;
    size_t i = 4;
    while (i < len && i < 4 + 7 && data[i] >= '0' && data[i] <= '9')
        seq = seq * 10 + (data[i++] - '0');
    if (i == 4 || i == len || data[i] != ' ')
        return 0;
    return seq;
}

static void count_reply(double rtt)
{
    if (replies == 0 || rtt < rtt_min)
        rtt_min = rtt;
    if (replies == 0 || rtt > rtt_max)
        rtt_max = rtt;
    rtt_sum += rtt;
    replies++;
}
/* LAB 2 END */

/* Matches a reply to its request: by its number with --count; without, there is only one. */
static void on_message(struct udp_socket *u, const char *data, size_t len,
                       const struct udp_rinfo *rinfo)
{
    /* LAB 2 BEGIN
     * A datagram arrived: match it to the request it answers and time the round trip.
     *  - Its number: parse_seq with --count (cfg.numbered); without, only request 1 exists.
     *  - A number outside 1..sent answers nothing we sent: unless cfg.quiet, print
     *    "reply from <rinfo->text>: bytes=<len>, not an answer to anything we sent" and stop.
     *  - The round trip is now_ms() minus requests[seq - 1].sent_at. A request already
     *    answered makes this reply a duplicate (count it in duplicates, not in replies);
     *    otherwise count_reply(rtt).
     *  - Unless cfg.quiet, print "reply from <addr>: seq=<N> bytes=<len> time=<rtt, %.3f> ms",
     *    with " (DUP!)" after a duplicate, as ping does.
     *  - Mark the request answered; once all_answered(), finish().
     */
    double now = now_ms();
    long seq = cfg.numbered ? parse_seq(data, len) : 1;
    if (seq < 1 || seq > sent) {
        if (!cfg.quiet)
            printf("reply from %s: bytes=%zu, not an answer to anything we sent\n", rinfo->text,
                   len);
        return;
    }
    struct request *r = &requests[seq - 1];
    double rtt = now - r->sent_at;
    if (r->answered)
        duplicates++;
    else
        count_reply(rtt);
    if (!cfg.quiet)
        printf("reply from %s: seq=%ld bytes=%zu time=%.3f ms%s\n", rinfo->text, seq, len, rtt,
               r->answered ? " (DUP!)" : "");
    r->answered = 1;
    if (all_answered())
        finish();
    /* LAB 2 END */
}

/* ping's closing lines. */
static void print_summary(void)
{
    /* LAB 2 BEGIN
     * ping's closing lines, from sent, replies, duplicates and the round trips:
     *   --- <sock.peer.text> udp ping statistics ---
     *   <sent> datagrams sent, <replies> replies received, <loss>% loss
     *   rtt min/avg/max = <min>/<avg>/<max> ms            (only when a reply came)
     * "datagram" and "reply" are singular for 1 ("1 datagram sent, 1 reply received"); add
     * ", +<N> duplicates" before the loss when there were some. The loss is the share of
     * datagrams never answered, printed with %g (40% loss, 33.3333% loss); the times with %.3f.
     * STUB: (void)duplicates, (void)rtt_min, (void)rtt_max, (void)rtt_sum;
     */
    double loss = sent > 0 ? (double)(sent - replies) * 100.0 / (double)sent : 0.0;
    printf("--- %s udp ping statistics ---\n", sock.peer.text);
    printf("%ld datagram%s sent, %ld repl%s received", sent, sent == 1 ? "" : "s", replies,
           replies == 1 ? "y" : "ies");
    if (duplicates > 0)
        printf(", +%ld duplicates", duplicates);
    printf(", %g%% loss\n", loss);
    if (replies > 0)
        printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", rtt_min, rtt_sum / (double)replies,
               rtt_max);
    /* LAB 2 END */
}

/* ---- the command line and the message ---- */

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"loop", required_argument, 0, CLI_OPT_LOOP},
        {"file", required_argument, 0, 'f'},
        {"size", required_argument, 0, 's'},
        {"offset", required_argument, 0, OPT_OFFSET},
        {"length", required_argument, 0, OPT_LENGTH},
        {"count", required_argument, 0, 'c'},
        {"interval", required_argument, 0, 'i'},
        {"wait", required_argument, 0, 'w'},
        {"no-connect", no_argument, 0, OPT_NO_CONNECT},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_COMMON_SHORT "f:s:c:i:w:", opts, NULL)) !=
           -1) {
        if (cli_common_option(c, opt, optarg))
            continue;
        switch (opt) {
        case 'f':
            cfg.file = optarg;
            break;
        case 's':
            cfg.size = (size_t)cli_size(c, "--size", optarg);
            cfg.size_given = 1;
            break;
        case OPT_OFFSET:
            cfg.offset = (size_t)cli_number(c, "--offset", optarg, 0, MAX_BUFFER);
            break;
        case OPT_LENGTH:
            cfg.length = (size_t)cli_number(c, "--length", optarg, 0, MAX_BUFFER);
            cfg.length_given = 1;
            break;
        case 'c':
            cfg.count = (long)cli_number(c, "--count", optarg, 1, MAX_COUNT);
            cfg.numbered = 1;
            break;
        case 'i':
            cfg.interval_ms = cli_ms(c, "--interval", optarg);
            break;
        case 'w':
            cfg.wait_ms = cli_ms(c, "--wait", optarg);
            cfg.waiting = 1;
            break;
        case OPT_NO_CONNECT:
            cfg.no_connect = 1;
            break;
        }
    }
    if (argc - optind < 2)
        cli_usage_error(c, "HOST and PORT are needed");
    if (argc - optind > 3)
        cli_usage_error(c, "unexpected argument '%s'", argv[optind + 3]);
    cfg.host = argv[optind];
    cfg.port = (int)cli_number(c, "PORT", argv[optind + 1], 1, 65535);
    cfg.message = argc - optind == 3 ? argv[optind + 2] : NULL;
    if ((cfg.message != NULL) + (cfg.file != NULL) + cfg.size_given > 1)
        cli_usage_error(c, "give one of MESSAGE, --file and --size");
    if (cfg.size_given && cfg.size > MAX_BUFFER)
        cli_usage_error(c, "--size: at most %d bytes", MAX_BUFFER);
    cli_finish(c);
    cfg.quiet = c->quiet;
}

/* Reads all of a file (or standard input) into buffer. Returns its length, or -1 after
 * printing why not. */
static long read_file(const struct cli *c, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        trace_error("open %s: %s", path, strerror(errno));
        return -1;
    }
    buffer = malloc(MAX_BUFFER + 1);
    if (!buffer) {
        trace_error("out of memory");
        abort();
    }
    size_t n = fread(buffer, 1, MAX_BUFFER + 1, f);
    int error = ferror(f) ? errno : 0;
    if (f != stdin)
        fclose(f);
    if (error) {
        trace_error("read %s: %s", path, strerror(error));
        return -1;
    }
    if (n > MAX_BUFFER)
        cli_usage_error(c, "--file %s: larger than %d bytes", path, MAX_BUFFER);
    return (long)n;
}

/* The buffer the tutorial calls buf: MESSAGE, the file, the pattern or "hello node udp". */
static long load_buffer(const struct cli *c, const char **buf)
{
    if (cfg.file) {
        long n = read_file(c, cfg.file);
        *buf = buffer;
        return n;
    }
    if (cfg.size_given) {
        buffer = malloc(cfg.size ? cfg.size : 1);
        if (!buffer) {
            trace_error("out of memory");
            abort();
        }
        for (size_t i = 0; i < cfg.size; i++)
            buffer[i] = (char)('a' + i % 26);
        *buf = buffer;
        return (long)cfg.size;
    }
    *buf = cfg.message ? cfg.message : DEFAULT_MESSAGE;
    return (long)strlen(*buf);
}

/* Node's send checks offset and length against the buffer and throws a RangeError; so do we,
 * as a usage error. */
static int choose_payload(const struct cli *c)
{
    const char *buf;
    long len = load_buffer(c, &buf);
    if (len < 0)
        return -1;
    size_t size = (size_t)len;
    if (cfg.offset > size)
        cli_usage_error(c, "--offset %zu: out of range, the buffer has %zu bytes", cfg.offset,
                        size);
    if (!cfg.length_given)
        cfg.length = size - cfg.offset;
    else if (cfg.length > size - cfg.offset)
        cli_usage_error(c, "--offset %zu --length %zu: out of range, the buffer has %zu bytes",
                        cfg.offset, cfg.length, size);
    payload = buf + cfg.offset;
    payload_len = cfg.length;
    return 0;
}

/* ---- main ---- */

static int set_up(struct loop *loop)
{
    char err[NET_ERR_LEN];
    udp_socket_init(&sock, loop);
    sock.on_message = on_message;
    sock.on_error = on_error;
    sock.on_writable = on_writable;
    if (udp_socket_open(&sock, cfg.host, cfg.port, !cfg.no_connect, err) < 0) {
        trace_error("%s", err);
        return -1;
    }
    if (cfg.numbered)
        numbered_datagram = malloc(SEQ_PREFIX_MAX + payload_len);
    if (cfg.waiting)
        requests = calloc((size_t)cfg.count, sizeof *requests);
    if ((cfg.numbered && !numbered_datagram) || (cfg.waiting && !requests)) {
        trace_error("out of memory");
        abort();
    }
    if (cfg.waiting)
        udp_socket_read_start(&sock);
    loop_timer_init(&send_timer, on_send_timer, NULL);
    loop_timer_init(&wait_timer, on_wait_over, NULL);
    loop_timer_start(loop, &send_timer, 0);
    return 0;
}

/* The exit status, ping's way: with --wait, no reply at all is a failure. */
static int report(void)
{
    if (!cfg.waiting)
        return failed ? EXIT_RUNTIME : EXIT_OK;
    if (sent > 0)
        print_summary();
    if (failed)
        return EXIT_RUNTIME;
    if (replies == 0) {
        trace_error("no reply from %s within %llu ms", sock.peer.text,
                    (unsigned long long)cfg.wait_ms);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "udp-client", 0, usage);
    parse_args(&c, argc, argv);
    if (choose_payload(&c) < 0) {
        free(buffer);
        return EXIT_RUNTIME;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct loop *loop = cli_loop(&c, on_signal, NULL);
    int code = EXIT_RUNTIME;
    if (set_up(loop) == 0) {
        if (loop_run(loop) < 0) {
            trace_error("event loop: %s", strerror(errno));
            failed = 1;
        }
        udp_socket_close(&sock);
        code = report();
    }
    free(requests);
    free(numbered_datagram);
    free(buffer);
    loop_free(loop);
    return code;
}
