/* udp-server - the UDP server of document 000, section 二, done right.
 *
 * The document's Node server prints "server got: <msg> from <address>:<port>" for every
 * datagram, and a line once it is listening. This one does the same, and it is also the echo
 * server that udp-client and the UDP pinger lab talk to: it can lose and delay datagrams on
 * purpose, reproducibly, to play a bad network.
 *
 *   ./bin/udp-server -v              then: ./bin/udp-client 127.0.0.1 41234
 *                                    or:   printf hi | nc -u -w1 127.0.0.1 41234
 *   ./bin/udp-server --echo          every datagram goes back to its sender
 *   ./bin/udp-server --echo --drop 30 --delay 200 --seed 7
 *                                    then: ./bin/udp-client -c 10 -i 100 -w 1000 127.0.0.1 41234
 *
 * What it teaches: a datagram is a message. Unlike TCP's data events, each receive returns
 * exactly one datagram as it was sent, never split or joined, together with its sender's
 * address, which is all a server needs to answer: there is no connection to accept. And the
 * network promises nothing: a datagram may be lost (--drop plays that) or late (--delay), and
 * neither side is told. The seed makes the losses repeatable, so a lab can be graded.
 *
 * Printing. A datagram is bytes, not text. Printable ASCII and well-formed UTF-8 (the
 * tutorial's readers send Chinese) are printed as they are; a backslash is printed as \\ and
 * every other byte as an escape (\n, \r, \t or \xHH), so no datagram can move the cursor,
 * recolour the terminal or fake a second "server got" line. -x shows the raw bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "loop.h"
#include "net.h"
#include "trace.h"
#include "udp_socket.h"

/* Echoes waiting for --delay hold a copy of their datagram; past this many bytes in all, a
 * new one is lost instead, as a router drops what its full queue cannot hold. */
#define MAX_DELAYED_BYTES (16 * 1024 * 1024)

static const char usage[] =
    "Usage: udp-server [options]\n"
    "The UDP server of the Node tutorial: prints each datagram as\n"
    "\"server got: <msg> from <addr>:<port>\"; can echo it back, and lose or delay it on purpose.\n"
    "\n"
    "  -p, --port N            port to bind (default 41234; 0 = any free port)\n"
    "  -b, --bind ADDR         address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "      --loop epoll|poll   event loop backend (default epoll)\n"
    "  -e, --echo              send every datagram back to its sender\n"
    "      --drop PERCENT      lose this share of the datagrams (0-100): not printed, not echoed\n"
    "      --delay MS          send each echo MS milliseconds late (with --echo)\n"
    "      --seed N            seed for --drop: the same seed loses the same datagrams\n"
    "                          (default: a new seed each run, shown by -v)\n"
    "      --rcvbuf SIZE       ask for a receive buffer of SIZE bytes (K and M suffixes)\n"
    "  -v, --verbose           trace events on stderr (listening, message, send, drop, close)\n"
    "  -x, --hex               also hexdump every datagram\n"
    "  -q, --quiet             print no datagrams; on exit print one line: how many datagrams\n"
    "                          and bytes were received (and dropped, echoed)\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "A message is printed as it is when it is printable ASCII or UTF-8; a backslash is\n"
    "shown as \\\\ and any other byte as \\n, \\r, \\t or \\xHH.\n"
    "\n"
    "Try: ./bin/udp-client 127.0.0.1 41234, or: printf hi | nc -u -w1 127.0.0.1 41234\n";

enum { OPT_DROP = CLI_OPT_FIRST_PROGRAM, OPT_DELAY, OPT_SEED, OPT_RCVBUF };

struct settings {
    int echo, quiet;
    int drop_percent;
    uint64_t delay_ms;
    uint64_t seed;
    int seed_given;
    int rcvbuf;
};

/* An echo waiting for its --delay to pass. */
struct delayed_echo {
    struct loop_timer timer;
    struct delayed_echo *prev, *next;
    struct udp_rinfo to;
    size_t len;
    char data[];
};

static struct settings cfg;
static struct udp_socket sock;
static uint64_t rng_state;
static uint64_t dropped, echoed;
static struct delayed_echo *delayed; /* every waiting echo, so exit can free them */
static size_t delayed_bytes;

/* ---- a small random number generator of our own ---- */

/* SplitMix64: a 64-bit counter pushed through a mixing function. Unlike rand(), its sequence
 * is the same on every system and C library, so a seed names the same losses everywhere. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* One draw per datagram, in arrival order: the same seed and the same datagrams make the
 * same choices. (The bias of % 100 on a 64-bit number is below one part in 10^17.) */
static int lose_this_one(void)
{
    if (cfg.drop_percent == 0)
        return 0;
    return splitmix64(&rng_state) % 100 < (uint64_t)cfg.drop_percent;
}

/* ---- printing a datagram safely ---- */

/* The length of the well-formed UTF-8 character of two to four bytes at p, or 0. The ranges
 * are RFC 3629's: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF. The C1
 * controls U+0080..U+009F count as not printable: some terminals obey them. */
static size_t utf8_char_len(const unsigned char *p, size_t left)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (p[0] == 0xc2 || p[0] == 0xe0)
        lo = 0xa0;
    else if (p[0] == 0xed)
        hi = 0x9f;
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f;
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return n;
}

static void print_byte(FILE *f, unsigned char c)
{
    if (c == '\\')
        fputs("\\\\", f);
    else if (c == '\n')
        fputs("\\n", f);
    else if (c == '\r')
        fputs("\\r", f);
    else if (c == '\t')
        fputs("\\t", f);
    else if (c >= 0x20 && c < 0x7f)
        fputc(c, f);
    else
        fprintf(f, "\\x%02x", c);
}

static void print_escaped(FILE *f, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_char_len(p + i, len - i);
        if (n > 0) {
            fwrite(p + i, 1, n, f);
            i += n;
        } else {
            print_byte(f, p[i++]);
        }
    }
}

/* ---- echoing, now or later ---- */

/* UDP has no back-pressure: when the kernel cannot take a datagram now (EAGAIN, ENOBUFS),
 * it is lost, as the network itself would lose it. A server does not queue without end. */
static void send_echo(const char *data, size_t len, const struct udp_rinfo *to)
{
    if (udp_socket_send(&sock, data, len, to) >= 0)
        echoed++;
    else
        trace_event(0, "error", to->text, "send: %s (echo lost)", strerror(errno));
}

static void delayed_unlink(struct delayed_echo *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        delayed = d->next;
    if (d->next)
        d->next->prev = d->prev;
    delayed_bytes -= d->len;
}

static long on_echo_due(struct loop *loop, void *arg)
{
    struct delayed_echo *d = arg;
    send_echo(d->data, d->len, &d->to);
    delayed_unlink(d);
    free(d);
    return LOOP_TIMER_STOP;
}

/* Each waiting echo has its own timer, so any number can be in flight at once; timers due at
 * the same moment fire in the order they started, so echoes keep their datagrams' order. */
static void echo_later(const char *data, size_t len, const struct udp_rinfo *to)
{
    if (delayed_bytes + len > MAX_DELAYED_BYTES) {
        trace_event(0, "error", to->text, "%zu bytes of echoes waiting already (echo lost)",
                    delayed_bytes);
        return;
    }
    struct delayed_echo *d = malloc(sizeof *d + len);
    if (!d) {
        trace_error("out of memory");
        abort();
    }
    d->to = *to;
    d->len = len;
    memcpy(d->data, data, len);
    d->prev = NULL;
    d->next = delayed;
    if (delayed)
        delayed->prev = d;
    delayed = d;
    delayed_bytes += len;
    loop_timer_init(&d->timer, on_echo_due, d);
    /* The loop's clock is read once per turn in whole milliseconds, so up to one has passed
     * since; waiting one more means an echo is never early. */
    loop_timer_start(sock.loop, &d->timer, cfg.delay_ms + 1);
}

/* At exit, echoes still waiting are discarded, as a network drops what it holds when it goes
 * down. */
static void discard_delayed(void)
{
    while (delayed) {
        struct delayed_echo *d = delayed;
        loop_timer_stop(sock.loop, &d->timer);
        delayed_unlink(d);
        free(d);
    }
}

/* ---- events ---- */

static void on_message(struct udp_socket *u, const char *data, size_t len,
                       const struct udp_rinfo *rinfo)
{
    if (rinfo->truncated) {
        char from[NET_ADDR_LEN];
        trace_error("a datagram from %s was larger than %d bytes: the rest of it is lost",
                    net_addr_format((const struct sockaddr *)&rinfo->addr, from), UDP_RECV_BUF_LEN);
    }
    if (lose_this_one()) {
        dropped++;
        trace_event(0, "drop", rinfo->text, "%zu bytes (--drop %d%%)", len, cfg.drop_percent);
        return;
    }
    if (!cfg.quiet) {
        fputs("server got: ", stdout);
        print_escaped(stdout, data, len);
        printf(" from %s\n", rinfo->text);
    }
    if (cfg.echo && cfg.delay_ms > 0)
        echo_later(data, len, rinfo);
    else if (cfg.echo)
        send_echo(data, len, rinfo);
}

/* SIGINT or SIGTERM: take what has already arrived, so the counts are exact, then stop. */
static void on_signal(struct loop *loop, int signo, void *arg)
{
    udp_socket_drain(&sock);
    loop_stop(loop);
}

/* ---- setting up and reporting ---- */

static int parse_rcvbuf(const struct cli *c, const char *arg)
{
    uint64_t size = cli_size(c, "--rcvbuf", arg);
    if (size < 1024 || size > 256 * 1024 * 1024)
        cli_usage_error(c, "--rcvbuf: '%s' is not a size from 1K to 256M", arg);
    return (int)size;
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SERVER_OPTIONS,
        {"echo", no_argument, 0, 'e'},
        {"drop", required_argument, 0, OPT_DROP},
        {"delay", required_argument, 0, OPT_DELAY},
        {"seed", required_argument, 0, OPT_SEED},
        {"rcvbuf", required_argument, 0, OPT_RCVBUF},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_SERVER_SHORT "e", opts, NULL)) != -1) {
        if (cli_common_option(c, opt, optarg))
            continue;
        switch (opt) {
        case 'e':
            cfg.echo = 1;
            break;
        case OPT_DROP:
            cfg.drop_percent = (int)cli_number(c, "--drop", optarg, 0, 100);
            break;
        case OPT_DELAY:
            cfg.delay_ms = cli_ms(c, "--delay", optarg);
            break;
        case OPT_SEED:
            cfg.seed = (uint64_t)cli_number(c, "--seed", optarg, 0, INT64_MAX);
            cfg.seed_given = 1;
            break;
        case OPT_RCVBUF:
            cfg.rcvbuf = parse_rcvbuf(c, optarg);
            break;
        }
    }
    if (optind < argc)
        cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
    if (cfg.delay_ms > 0 && !cfg.echo)
        cli_usage_error(c, "--delay delays echoes: add --echo");
    cli_finish(c);
    cfg.quiet = c->quiet;
}

/* Without --seed, each run picks its own; -v shows it, so any run can be replayed. */
static void seed_rng(void)
{
    if (!cfg.seed_given)
        cfg.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    rng_state = cfg.seed;
}

/* The ready line comes first on stdout, flushed, so a script can wait for it. */
static void print_ready(const char *prog)
{
    char echo[64] = "", drop[64] = "";
    if (cfg.echo)
        snprintf(echo, sizeof echo, " echo delay=%llums", (unsigned long long)cfg.delay_ms);
    if (cfg.drop_percent > 0)
        snprintf(drop, sizeof drop, " drop=%d%% seed=%llu", cfg.drop_percent,
                 (unsigned long long)cfg.seed);
    trace_event(0, "listening", sock.local, "loop=%s rcvbuf=%d%s%s", loop_backend_name(sock.loop),
                udp_socket_rcvbuf(&sock), echo, drop);
    printf("%s listening on %s\n", prog, sock.local);
    fflush(stdout);
}

static void print_summary(void)
{
    printf("received %llu datagrams, %llu bytes", (unsigned long long)sock.received,
           (unsigned long long)sock.received_bytes);
    if (cfg.drop_percent > 0)
        printf(", dropped %llu (--drop)", (unsigned long long)dropped);
    if (cfg.echo)
        printf(", echoed %llu", (unsigned long long)echoed);
    if (sock.kernel_drops > 0)
        printf(", the kernel dropped at least %llu more (receive buffer full)",
               (unsigned long long)sock.kernel_drops);
    putchar('\n');
}

static int set_up(const struct cli *c, struct loop *loop)
{
    char err[NET_ERR_LEN];
    udp_socket_init(&sock, loop);
    sock.on_message = on_message;
    sock.addresses_unseen = cfg.quiet;
    /* No on_error: a failed receive concerns one datagram, the trace shows it, and a server
     * never stops because of one peer. */
    if (udp_socket_bind(&sock, c->bind, c->port, err) < 0) {
        trace_error("%s", err);
        return -1;
    }
    if (cfg.rcvbuf > 0 && udp_socket_set_rcvbuf(&sock, cfg.rcvbuf) < 0) {
        trace_error("--rcvbuf %d: %s", cfg.rcvbuf, strerror(errno));
        udp_socket_close(&sock);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "udp-server", 41234, usage);
    parse_args(&c, argc, argv);
    seed_rng();
    /* One line per datagram, each visible at once even when stdout is a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct loop *loop = cli_loop(&c, on_signal, NULL);
    if (set_up(&c, loop) < 0) {
        loop_free(loop);
        return EXIT_RUNTIME;
    }
    print_ready(c.prog);
    int rc = loop_run(loop);
    discard_delayed();
    udp_socket_close(&sock);
    if (cfg.quiet)
        print_summary();
    loop_free(loop);
    return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
