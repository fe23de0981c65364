/* ws-load - the load generator of the WebSocket benchmarks (tests/bench/ws.sh).
 *
 * It plays many browsers at once against an echo server, in two ways:
 *
 *   ws-load echo HOST PORT [--connections N] [--inflight K] [--size S] [--seconds D]
 *       N connections (default 1), each with K text messages of S bytes in flight (default 1
 *       and 16): every echo that comes back is checked (a text frame, unmasked, the bytes
 *       sent) and answered with the next message at once. Runs for D seconds (default 5) and
 *       reports messages echoed per second and the median and 99th-percentile time from a
 *       message's send to its echo's arrival.
 *
 *   ws-load idle HOST PORT --connections N [--hold D]
 *       Opens N WebSocket connections and then leaves them silent for D seconds (default 5):
 *       what a server holds for N open browser tabs. Once all N are open it prints
 *       "ws-load: N connections open and idle" (the benchmark reads the server's memory then),
 *       and at the end one line with still_open, the connections the server had not closed.
 *
 * Every frame is masked with a fresh key, as a browser masks: a server must unmask every byte,
 * and the load must cost it what real clients cost. The keys come from a xorshift generator,
 * not the kernel's random source: a load generator needs keys that vary, not keys that an
 * attacker cannot predict (the reason RFC 6455 section 10.3 gives for real clients).
 *
 * The generator must not be what limits the figures, so it is non-blocking sockets and
 * epoll, each read taking every echo that has arrived and each write sending all the messages
 * that answer them. The benchmark pins it to a core of its own; it reports its own CPU seconds
 * so a reader can see when it was the bottleneck. One line of key=value pairs:
 *
 *   mode=echo connections=50 inflight=8 size=16 messages=712345 seconds=5.000
 *   messages_per_sec=142469 p50_us=2710.0 p99_us=4012.0 cpu=4.98
 *
 * Exit status: 0 when the run completed and every echo checked out, 1 on a refused
 * handshake, a socket error, a wrong echo or a stall (no progress for 10 s), 2 on a usage
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "net.h"
#include "ws_frame.h"
#include "ws_handshake.h"

#define STALL_MS 10000      /* no progress for this long is a failure */
#define HANDSHAKE_BATCH 100 /* handshakes in progress at once: the server's backlog is finite */
#define RESPONSE_MAX 1024   /* a 101 response is ~130 bytes */
#define READ_CHUNK 65536    /* bytes per read() of echoes */
#define MAX_INFLIGHT 1024
#define MAX_SIZE 65535 /* a message fits a 16-bit length: header 4 + key 4 */
#define FRAME_OVERHEAD 8

static const char usage[] =
    "Usage: ws-load echo HOST PORT [--connections N] [--inflight K] [--size S] [--seconds D]\n"
    "       ws-load idle HOST PORT --connections N [--hold D]\n"
    "Load generator for a WebSocket echo server; prints one line of key=value results.\n";

struct options {
    const char *mode, *host;
    int port;
    long connections;
    int inflight;
    size_t size;
    double seconds; /* echo: how long to run; idle: how long to hold */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ws-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
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

/* N connections need N descriptors: raise the soft limit to the hard one. */
static void raise_fd_limit(long n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("getrlimit: %s", strerror(errno));
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)n + 16 > rl.rlim_cur)
        die("%ld connections need more descriptors than the limit (%llu): raise ulimit -n", n,
            (unsigned long long)rl.rlim_cur);
}

/* xorshift32: cheap keys that differ from frame to frame (see the top of the file). */
static uint32_t rng_state = 2463534242u;

static uint32_t next_key(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

/* ---- the opening handshake ---- */

/* A connection in its handshake: the response bytes so far, and the accept value expected. */
struct greeting {
    int fd;
    size_t len;
    char data[RESPONSE_MAX];
    char accept[WS_ACCEPT_SIZE];
};

/* Starts a connection and sends the upgrade request with a fresh key. Connecting waits (in
 * poll) for at most STALL_MS; the request, 200 bytes into an empty socket, always goes whole. */
static void greeting_start(struct greeting *g, const struct addrinfo *ai, const char *host,
                           int port)
{
    unsigned char raw[WS_KEY_BYTES];
    char key[32], req[512];
    int in_progress;
    for (size_t i = 0; i < sizeof raw; i += 4) {
        uint32_t k = next_key();
        memcpy(raw + i, &k, 4);
    }
    key[base64_encode(raw, sizeof raw, key)] = '\0';
    ws_accept_key(key, g->accept);
    g->len = 0;
    g->fd = net_tcp_connect_addr(ai->ai_addr, ai->ai_addrlen, &in_progress);
    if (g->fd < 0)
        die("connect %s:%d: %s", host, port, strerror(errno));
    if (in_progress) {
        struct pollfd p = {g->fd, POLLOUT, 0};
        if (poll(&p, 1, STALL_MS) <= 0 || net_connect_result(g->fd) != 0)
            die("connect %s:%d: failed or timed out", host, port);
    }
    net_set_nodelay(g->fd, 1);
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     host, port, key);
    if (send(g->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        die("send: %s", strerror(errno));
}

/* Checks a whole response head: 101, and the Sec-WebSocket-Accept that our key calls for. */
static void greeting_check(const struct greeting *g, const char *end)
{
    if (strncmp(g->data, "HTTP/1.1 101", 12) != 0)
        die("handshake refused: %.*s", (int)strcspn(g->data, "\r"), g->data);
    for (const char *line = strstr(g->data, "\r\n") + 2; line < end;
         line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Sec-WebSocket-Accept:", 21) != 0)
            continue;
        const char *v = line + 21;
        v += strspn(v, " \t");
        if (strncmp(v, g->accept, WS_ACCEPT_SIZE - 1) != 0)
            die("handshake: wrong Sec-WebSocket-Accept");
        return;
    }
    die("handshake: no Sec-WebSocket-Accept");
}

/* Reads what has arrived of the response. Returns 1 when the head is complete (and checked).
 * A server sends nothing after the 101 until we send, so no frame bytes can follow it. */
static int greeting_read(struct greeting *g)
{
    ssize_t n = read(g->fd, g->data + g->len, sizeof g->data - 1 - g->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0)
        die("handshake: %s", n < 0 ? strerror(errno) : "the server closed the connection");
    g->len += (size_t)n;
    g->data[g->len] = '\0';
    const char *end = strstr(g->data, "\r\n\r\n");
    if (!end) {
        if (g->len == sizeof g->data - 1)
            die("handshake: response head over %d bytes", RESPONSE_MAX - 1);
        return 0;
    }
    if ((size_t)(end + 4 - g->data) != g->len)
        die("handshake: bytes after the 101 before any message");
    greeting_check(g, end);
    return 1;
}

/* Opens n WebSocket connections, HANDSHAKE_BATCH at a time; their descriptors go to fds. */
static void open_all(const struct options *o, int *fds, long n)
{
    char err[NET_ERR_LEN];
    struct addrinfo *ai;
    if (net_resolve(o->host, o->port, SOCK_STREAM, 0, &ai, err) < 0)
        die("%s", err);
    struct greeting *g = xmalloc(HANDSHAKE_BATCH * sizeof *g);
    struct pollfd p[HANDSHAKE_BATCH];
    for (long done = 0; done < n;) {
        int batch = n - done < HANDSHAKE_BATCH ? (int)(n - done) : HANDSHAKE_BATCH;
        for (int i = 0; i < batch; i++) {
            greeting_start(&g[i], ai, o->host, o->port);
            p[i] = (struct pollfd){g[i].fd, POLLIN, 0};
        }
        for (int left = batch; left > 0;) {
            int r = poll(p, (nfds_t)batch, STALL_MS);
            if (r == 0)
                die("handshake: no answer for %d s", STALL_MS / 1000);
            if (r < 0 && errno != EINTR)
                die("poll: %s", strerror(errno));
            for (int i = 0; i < batch && r > 0; i++) {
                if (p[i].fd < 0 || !p[i].revents || !greeting_read(&g[i]))
                    continue;
                fds[done + i] = g[i].fd;
                p[i].fd = -1; /* poll skips it from now on */
                left--;
            }
        }
        done += batch;
    }
    free(g);
    freeaddrinfo(ai);
}

/* ---- echo ---- */

/* Round-trip times in microseconds, kept for the percentiles at the end. */
struct samples {
    float *v;
    size_t len, cap;
};

static void samples_add(struct samples *s, double us)
{
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1 << 20;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->len++] = (float)us;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double percentile(const struct samples *s, double p)
{
    if (s->len == 0)
        return 0;
    return s->v[(size_t)(p / 100.0 * (double)(s->len - 1) + 0.5)];
}

/* One connection of the echo run. Echoes come back in the order the messages left, so the
 * send times wait in a ring: the oldest is the next echo's. */
struct conn {
    int fd;
    char *in; /* echo bytes received and not yet parsed */
    size_t in_len;
    char *out; /* frames the kernel has not taken yet (rare: the socket was full) */
    size_t out_len;
    double *sent_at;   /* ring of K send times */
    int head, pending; /* oldest entry, entries in use */
};

struct echo_run {
    const struct options *o;
    struct conn *conns;
    int epfd;
    const char *msg;  /* the message text */
    size_t frame_len; /* one masked frame: header, key, payload */
    char *frames;     /* room for K frames, built before each write */
    struct samples rtt;
    unsigned long long messages;
    int stopping; /* time is up: send no more */
};

/* Writes one masked text frame of msg into out; returns its length. */
static size_t build_frame(char *out, const char *msg, size_t size)
{
    unsigned char *p = (unsigned char *)out;
    uint32_t key = next_key();
    size_t hl = ws_frame_build_header(p, 1, WS_OP_TEXT, size, (const unsigned char *)&key);
    memcpy(p + hl, msg, size);
    ws_mask_payload(p + hl, size, (const unsigned char *)&key, 0);
    return hl + size;
}

static void want_write(struct echo_run *r, struct conn *c, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
}

/* Sends what is queued on c; asks for EPOLLOUT while some is left. */
static void flush_conn(struct echo_run *r, struct conn *c)
{
    size_t had = c->out_len;
    ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        die("send: %s", strerror(errno));
    if (n > 0) {
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    if ((had > 0) != (c->out_len > 0) || n < 0)
        want_write(r, c, c->out_len > 0);
}

/* Sends count new messages on c in one write, and notes when they left. */
static void send_messages(struct echo_run *r, struct conn *c, int count)
{
    size_t len = 0;
    for (int i = 0; i < count; i++)
        len += build_frame(r->frames + len, r->msg, r->o->size);
    double t = now_sec();
    for (int i = 0; i < count; i++) {
        c->sent_at[(c->head + c->pending) % r->o->inflight] = t;
        c->pending++;
    }
    if (c->out_len > 0) { /* earlier frames still wait: keep the order */
        memcpy(c->out + c->out_len, r->frames, len);
        c->out_len += len;
        return;
    }
    ssize_t n = send(c->fd, r->frames, len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        die("send: %s", strerror(errno));
    if (n < 0)
        n = 0;
    if ((size_t)n < len) {
        memcpy(c->out, r->frames + n, len - (size_t)n);
        c->out_len = len - (size_t)n;
        want_write(r, c, 1);
    }
}

/* Takes every whole echo off the front of c->in. Returns how many there were. */
static int take_echoes(struct echo_run *r, struct conn *c, double now)
{
    size_t at = 0, size = r->o->size;
    int count = 0;
    for (;;) {
        struct ws_header h;
        struct ws_error err;
        ssize_t hl = ws_frame_parse_header(c->in + at, c->in_len - at, WS_FORBID_MASK, &h, &err);
        if (hl == WS_INCOMPLETE)
            break;
        if (hl == WS_ERROR)
            die("echo: bad frame: %s", err.reason);
        if (h.opcode != WS_OP_TEXT || !h.fin || h.payload_len != size)
            die("echo: expected a %zu-byte text frame, got %s of %llu bytes", size,
                ws_opcode_name(h.opcode), (unsigned long long)h.payload_len);
        if (c->in_len - at - (size_t)hl < size)
            break;
        if (memcmp(c->in + at + hl, r->msg, size) != 0)
            die("echo: the text came back changed");
        if (c->pending == 0)
            die("echo: more echoes than messages sent");
        samples_add(&r->rtt, (now - c->sent_at[c->head]) * 1e6);
        c->head = (c->head + 1) % r->o->inflight;
        c->pending--;
        at += (size_t)hl + size;
        count++;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    return count;
}

/* c is readable: read, check and count the echoes, and answer each with a new message. */
static void on_readable(struct echo_run *r, struct conn *c, double now)
{
    size_t cap = READ_CHUNK + r->frame_len;
    ssize_t n = read(c->fd, c->in + c->in_len, cap - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0)
        die("recv: %s", n < 0 ? strerror(errno) : "the server closed a connection");
    c->in_len += (size_t)n;
    int count = take_echoes(r, c, now);
    r->messages += (unsigned long long)count;
    if (count > 0 && !r->stopping)
        send_messages(r, c, count);
}

static void echo_setup(struct echo_run *r, const struct options *o, int *fds)
{
    int k = o->inflight;
    char *msg = xmalloc(o->size);
    for (size_t i = 0; i < o->size; i++)
        msg[i] = (char)('a' + i % 26);
    r->o = o;
    r->msg = msg;
    r->frame_len = o->size + FRAME_OVERHEAD;
    r->frames = xmalloc((size_t)k * r->frame_len);
    r->conns = calloc((size_t)o->connections, sizeof *r->conns);
    r->epfd = epoll_create1(0);
    if (!r->conns || r->epfd < 0)
        die("setup: %s", strerror(errno));
    for (long i = 0; i < o->connections; i++) {
        struct conn *c = &r->conns[i];
        c->fd = fds[i];
        c->in = xmalloc(READ_CHUNK + r->frame_len);
        c->out = xmalloc((size_t)k * r->frame_len);
        c->sent_at = xmalloc((size_t)k * sizeof *c->sent_at);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("epoll_ctl: %s", strerror(errno));
    }
}

static void run_echo(const struct options *o)
{
    struct echo_run r = {0};
    int *fds = xmalloc((size_t)o->connections * sizeof *fds);
    open_all(o, fds, o->connections);
    echo_setup(&r, o, fds);
    struct epoll_event ev[256];
    double t0 = now_sec(), cpu0 = cpu_sec(), now = t0;
    for (long i = 0; i < o->connections; i++)
        send_messages(&r, &r.conns[i], o->inflight);
    while (now - t0 < o->seconds) {
        int n = epoll_wait(r.epfd, ev, 256, STALL_MS);
        if (n == 0)
            die("echo: no echo for %d s", STALL_MS / 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        now = now_sec();
        r.stopping = now - t0 >= o->seconds;
        for (int i = 0; i < n; i++) {
            struct conn *c = ev[i].data.ptr;
            if (ev[i].events & EPOLLOUT)
                flush_conn(&r, c);
            if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(&r, c, now);
        }
    }
    double secs = now - t0, cpu = cpu_sec() - cpu0;
    qsort(r.rtt.v, r.rtt.len, sizeof *r.rtt.v, cmp_float);
    printf("mode=echo connections=%ld inflight=%d size=%zu messages=%llu seconds=%.3f "
           "messages_per_sec=%.0f p50_us=%.1f p99_us=%.1f cpu=%.3f\n",
           o->connections, o->inflight, o->size, r.messages, secs, (double)r.messages / secs,
           percentile(&r.rtt, 50), percentile(&r.rtt, 99), cpu);
    for (long i = 0; i < o->connections; i++) {
        close(r.conns[i].fd);
        free(r.conns[i].in);
        free(r.conns[i].out);
        free(r.conns[i].sent_at);
    }
    close(r.epfd);
    free(r.conns);
    free(r.frames);
    free((char *)r.msg);
    free(r.rtt.v);
    free(fds);
}

/* ---- idle ---- */

/* Counts the connections the server has not closed: a closed one polls readable and reads
 * 0 (or a close frame: any byte from a server that was sent nothing means it is leaving). */
static long count_open(const int *fds, long n)
{
    long open = 0;
    for (long i = 0; i < n; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        if (poll(&p, 1, 0) == 0)
            open++;
    }
    return open;
}

static void run_idle(const struct options *o)
{
    int *fds = xmalloc((size_t)o->connections * sizeof *fds);
    double t0 = now_sec();
    open_all(o, fds, o->connections);
    double opened = now_sec() - t0;
    printf("ws-load: %ld connections open and idle\n", o->connections);
    fflush(stdout);
    struct timespec hold = {(time_t)o->seconds,
                            (long)((o->seconds - (double)(time_t)o->seconds) * 1e9)};
    while (nanosleep(&hold, &hold) < 0 && errno == EINTR)
        ;
    printf("mode=idle connections=%ld open_seconds=%.3f held_seconds=%.1f still_open=%ld\n",
           o->connections, opened, o->seconds, count_open(fds, o->connections));
    for (long i = 0; i < o->connections; i++)
        close(fds[i]);
    free(fds);
}

/* ---- command line ---- */

static void usage_error(const char *fmt, const char *arg)
{
    fputs("ws-load: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    exit(2);
}

static double parse_number(const char *name, const char *arg, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || v < min || v > max)
        usage_error("bad value for %s", name);
    return v;
}

static void parse_args(struct options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"connections", required_argument, 0, 'c'},
        {"inflight", required_argument, 0, 'k'},
        {"size", required_argument, 0, 's'},
        {"seconds", required_argument, 0, 'd'},
        {"hold", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->connections = (long)parse_number("--connections", optarg, 1, 1e6);
            break;
        case 'k':
            o->inflight = (int)parse_number("--inflight", optarg, 1, MAX_INFLIGHT);
            break;
        case 's':
            o->size = (size_t)parse_number("--size", optarg, 1, MAX_SIZE);
            break;
        case 'd':
            o->seconds = parse_number("--seconds/--hold", optarg, 0, 3600);
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
    o->port = (int)parse_number("PORT", argv[optind + 2], 1, 65535);
}

int main(int argc, char **argv)
{
    struct options o = {.connections = 1, .inflight = 1, .size = 16, .seconds = 5};
    parse_args(&o, argc, argv);
    raise_fd_limit(o.connections);
    if (strcmp(o.mode, "echo") == 0)
        run_echo(&o);
    else if (strcmp(o.mode, "idle") == 0)
        run_idle(&o);
    else
        usage_error("unknown mode '%s' (echo or idle)", o.mode);
    return 0;
}
