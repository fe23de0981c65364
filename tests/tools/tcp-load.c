/* tcp-load - the load generator of the TCP benchmarks (tests/bench/tcp.sh).
 *
 * It measures an echo server from the outside, in two ways:
 *
 *   tcp-load stream HOST PORT [--bytes N] [--verify]
 *       One connection. Sends N bytes (default 1 GiB) as fast as the kernel takes them while
 *       reading the echo back at the same time, then half-closes and waits for the last byte.
 *       Checks that exactly N bytes came back (--verify also checks every byte's value) and
 *       reports the throughput: the bytes echoed divided by the time from connect to the last
 *       byte back.
 *
 *   tcp-load pingpong HOST PORT [--seconds D | --count N] [--connections K] [--size S]
 *       K connections (default 1), each with one message of S bytes (default 64) in flight:
 *       send it, wait until all S bytes have come back, send the next. Runs for D seconds
 *       (default 5) or N round trips in all, and reports round trips per second and the
 *       median and 99th-percentile round-trip time.
 *
 * The generator must not be what limits the figures, so it is plain non-blocking sockets and
 * poll(2), nothing in between: big reads and writes for the stream, one poll per wait for the
 * ping-pong. The benchmark pins it to a core of its own. It prints one line of key=value pairs
 * for the scripts, including its own CPU seconds, so a reader can see when it was the
 * bottleneck:
 *
 *   mode=stream bytes=1073741824 seconds=0.612 bytes_per_sec=1754411234 cpu=0.598
 *
 * Exit status: 0 when the run completed and checked out, 1 on a socket error, a timeout (no
 * progress for 10 s) or a wrong echo, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define CHUNK (256 * 1024) /* bytes per read() and write() in stream mode */
#define PERIOD 251         /* the stream's byte pattern repeats every PERIOD bytes (a prime) */
#define STALL_MS 10000     /* no progress for this long is a failure */
#define MAX_CONNECTIONS 1024

static const char usage[] =
    "Usage: tcp-load stream HOST PORT [--bytes N] [--verify]\n"
    "       tcp-load pingpong HOST PORT [--seconds D | --count N] [--connections K] [--size S]\n"
    "Load generator for an echo server; prints one line of key=value results.\n";

struct options {
    const char *mode, *host;
    int port;
    unsigned long long bytes; /* stream: how much to send */
    int verify;               /* stream: check every byte, not only the count */
    double seconds;           /* pingpong: how long to run (when count is 0) */
    unsigned long long count; /* pingpong: round trips in all, 0 = run for seconds */
    int connections;          /* pingpong: connections, one message in flight on each */
    size_t size;              /* pingpong: message size */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tcp-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User plus system CPU seconds this process has used so far. */
static double cpu_sec(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A connected, non-blocking TCP socket to host:port. Connecting blocks (in poll): it happens
 * before the clock starts. */
static int connect_to(const char *host, int port)
{
    char err[NET_ERR_LEN];
    struct addrinfo *list;
    if (net_resolve(host, port, SOCK_STREAM, 0, &list, err) < 0)
        die("%s", err);
    int in_progress;
    int fd = net_tcp_connect_addr(list->ai_addr, list->ai_addrlen, &in_progress);
    freeaddrinfo(list);
    if (fd < 0)
        die("connect %s:%d: %s", host, port, strerror(errno));
    if (in_progress) {
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, STALL_MS) <= 0)
            die("connect %s:%d: timed out", host, port);
        int e = net_connect_result(fd);
        if (e)
            die("connect %s:%d: %s", host, port, strerror(e));
    }
    return fd;
}

/* Waits until fd is ready for what `events` asks; a stall is fatal. */
static void wait_for(int fd, short events, const char *what)
{
    struct pollfd p = {fd, events, 0};
    int n;
    do
        n = poll(&p, 1, STALL_MS);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        die("%s: no progress for %d s", what, STALL_MS / 1000);
    if (n < 0)
        die("poll: %s", strerror(errno));
}

/* ---- stream ---- */

/* The stream's bytes follow a pattern of period PERIOD: the byte at offset o is o % PERIOD. So
 * the next len bytes from offset o are always pattern + o % PERIOD, and a byte lost, doubled or
 * moved by a few places shows up as a mismatch. */
static char pattern[CHUNK + PERIOD];

static void pattern_init(void)
{
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (char)(i % PERIOD);
}

/* Sends what the kernel takes now; returns bytes sent (0 if the socket is full). */
static size_t stream_send(int fd, unsigned long long sent, unsigned long long total)
{
    size_t len = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
    ssize_t n = send(fd, pattern + sent % PERIOD, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n < 0)
        die("send: %s", strerror(errno));
    return (size_t)n;
}

/* Reads what has arrived; returns bytes read (0 if none), or -1 at end of stream. */
static ssize_t stream_recv(int fd, char *in, unsigned long long got, int verify)
{
    ssize_t n = recv(fd, in, CHUNK, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n < 0)
        die("recv: %s", strerror(errno));
    if (n == 0)
        return -1;
    if (verify && memcmp(in, pattern + got % PERIOD, (size_t)n) != 0)
        die("stream: wrong bytes in the echo near offset %llu", got);
    return n;
}

/* Writes and reads in one loop so neither direction waits for the other: a server that echoes
 * while we are not reading would fill both socket buffers and stop. poll is called only when
 * neither direction could make progress. */
static void run_stream(const struct options *o)
{
    static char in[CHUNK];
    pattern_init();
    int fd = connect_to(o->host, o->port);
    double t0 = now_sec(), cpu0 = cpu_sec();
    unsigned long long sent = 0, got = 0;
    int shut = 0;
    while (got < o->bytes) {
        size_t out = sent < o->bytes ? stream_send(fd, sent, o->bytes) : 0;
        sent += out;
        if (sent == o->bytes && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        ssize_t n = stream_recv(fd, in, got, o->verify);
        if (n < 0)
            break;
        got += (unsigned long long)n;
        if (out == 0 && n == 0)
            wait_for(fd, (short)(POLLIN | (sent < o->bytes ? POLLOUT : 0)), "stream");
    }
    double secs = now_sec() - t0, cpu = cpu_sec() - cpu0;
    close(fd);
    if (got != o->bytes)
        die("stream: sent %llu bytes, %llu came back", o->bytes, got);
    printf("mode=stream bytes=%llu seconds=%.3f bytes_per_sec=%.0f cpu=%.3f\n", got, secs,
           (double)got / secs, cpu);
}

/* ---- ping-pong ---- */

struct conn {
    int fd;
    size_t got; /* bytes of the current answer received */
    double sent_at;
};

/* Round-trip times in microseconds, kept to compute the percentiles at the end. */
struct samples {
    double *v;
    size_t len, cap;
};

static void samples_add(struct samples *s, double us)
{
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->len++] = us;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const struct samples *s, double p)
{
    if (s->len == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(s->len - 1) + 0.5);
    return s->v[i];
}

/* Sends the next message on c. A 64-byte write into an empty socket buffer always goes
 * whole; anything less means the server stopped reading, which is a failure here. */
static void ping(struct conn *c, const char *msg, size_t size)
{
    ssize_t n = send(c->fd, msg, size, MSG_NOSIGNAL);
    if (n != (ssize_t)size)
        die("send: %s", n < 0 ? strerror(errno) : "short write");
    c->got = 0;
    c->sent_at = now_sec();
}

/* Reads what has come back on c; returns 1 when the whole answer is in. */
static int pong(struct conn *c, size_t size)
{
    char in[4096];
    size_t want = size - c->got < sizeof in ? size - c->got : sizeof in;
    ssize_t n = recv(c->fd, in, want, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0)
        die("recv: %s", n < 0 ? strerror(errno) : "server closed the connection");
    c->got += (size_t)n;
    return c->got == size;
}

static int done(const struct options *o, unsigned long long trips, double t0)
{
    if (o->count)
        return trips >= o->count;
    return now_sec() - t0 >= o->seconds;
}

static void run_pingpong(const struct options *o)
{
    int k = o->connections;
    struct conn *conns = calloc((size_t)k, sizeof *conns);
    struct pollfd *pfds = calloc((size_t)k, sizeof *pfds);
    char *msg = malloc(o->size);
    if (!conns || !pfds || !msg)
        die("out of memory");
    memset(msg, 'p', o->size);
    for (int i = 0; i < k; i++) {
        conns[i].fd = connect_to(o->host, o->port);
        net_set_nodelay(conns[i].fd, 1);
        pfds[i].fd = conns[i].fd;
        pfds[i].events = POLLIN;
    }
    struct samples rtt = {0};
    unsigned long long trips = 0;
    double t0 = now_sec(), cpu0 = cpu_sec();
    for (int i = 0; i < k; i++)
        ping(&conns[i], msg, o->size);
    while (!done(o, trips, t0)) {
        int n = poll(pfds, (nfds_t)k, STALL_MS);
        if (n == 0)
            die("pingpong: no answer for %d s", STALL_MS / 1000);
        if (n < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        for (int i = 0; i < k; i++) {
            if (!pfds[i].revents || !pong(&conns[i], o->size))
                continue;
            double t = now_sec();
            samples_add(&rtt, (t - conns[i].sent_at) * 1e6);
            trips++;
            ping(&conns[i], msg, o->size);
        }
    }
    double secs = now_sec() - t0, cpu = cpu_sec() - cpu0;
    qsort(rtt.v, rtt.len, sizeof *rtt.v, cmp_double);
    printf("mode=pingpong connections=%d size=%zu round_trips=%llu seconds=%.3f "
           "round_trips_per_sec=%.0f p50_us=%.1f p99_us=%.1f cpu=%.3f\n",
           k, o->size, trips, secs, (double)trips / secs, percentile(&rtt, 50),
           percentile(&rtt, 99), cpu);
    for (int i = 0; i < k; i++)
        close(conns[i].fd);
    free(rtt.v);
    free(conns);
    free(pfds);
    free(msg);
}

/* ---- command line ---- */

static void usage_error(const char *fmt, const char *arg)
{
    fputs("tcp-load: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    exit(2);
}

static unsigned long long parse_count(const char *name, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-')
        usage_error("bad number for %s", name);
    return v;
}

static void parse_args(struct options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"bytes", required_argument, 0, 'n'},
        {"verify", no_argument, 0, 'c'},
        {"seconds", required_argument, 0, 'd'},
        {"count", required_argument, 0, 'N'},
        {"connections", required_argument, 0, 'k'},
        {"size", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            o->bytes = parse_count("--bytes", optarg);
            break;
        case 'c':
            o->verify = 1;
            break;
        case 'd':
            o->seconds = (double)parse_count("--seconds", optarg);
            break;
        case 'N':
            o->count = parse_count("--count", optarg);
            break;
        case 'k':
            o->connections = (int)parse_count("--connections", optarg);
            break;
        case 's':
            o->size = (size_t)parse_count("--size", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            exit(2);
        }
    }
    if (argc - optind != 3)
        usage_error("expected MODE HOST PORT%s", "");
    o->mode = argv[optind];
    o->host = argv[optind + 1];
    o->port = (int)parse_count("PORT", argv[optind + 2]);
    if (o->port < 1 || o->port > 65535)
        usage_error("bad port %s", argv[optind + 2]);
    if (o->connections < 1 || o->connections > MAX_CONNECTIONS)
        usage_error("--connections must be 1..1024%s", "");
    if (o->size < 1 || o->size > 4096)
        usage_error("--size must be 1..4096%s", "");
    if (o->bytes < 1)
        usage_error("--bytes must be at least 1%s", "");
}

int main(int argc, char **argv)
{
    struct options o = {0};
    o.bytes = 1ull << 30;
    o.seconds = 5;
    o.connections = 1;
    o.size = 64;
    parse_args(&o, argc, argv);
    if (strcmp(o.mode, "stream") == 0)
        run_stream(&o);
    else if (strcmp(o.mode, "pingpong") == 0)
        run_pingpong(&o);
    else
        usage_error("unknown mode '%s' (stream or pingpong)", o.mode);
    return 0;
}
