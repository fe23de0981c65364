/* idle-conns - the idle keep-alive clients of the HTTP benchmark (tests/bench/http.sh).
 *
 *   idle-conns HOST PORT N [--hold SECONDS] [--batch K]
 *
 * Opens N connections to an HTTP server, sends one keep-alive request on each
 * ("GET / HTTP/1.1"), reads the whole response (its head and Content-Length bytes of body),
 * and then leaves every connection open and silent: what a server holds for a browser between
 * two clicks. The benchmark reads the server's memory while they sit there and divides the
 * growth by N.
 *
 * At most K connections (default 100) wait for their response at a time, so the server's
 * accept backlog never overflows (an overflow costs a dropped SYN and a second's retry).
 * Once all N have had their answer it prints one line and flushes it,
 *
 *   idle-conns: 5000 connections open and idle
 *
 * then holds them for SECONDS (default 5), watching for a server that closes any, and ends
 * with one line of key=value pairs:
 *
 *   connections=5000 open_seconds=0.412 held_seconds=5.0 still_open=5000
 *
 * still_open below N means the server closed idle connections during the hold (its
 * keep-alive timeout was shorter), so the memory it held then is not the figure wanted.
 * Exit status: 0 when every connection was answered, 1 on an error or a server that did not
 * answer within 10 s, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define STALL_MS 10000    /* no progress for this long is a failure */
#define RESPONSE_MAX 1024 /* a hello-world response is ~160 bytes */

static const char usage[] = "Usage: idle-conns HOST PORT N [--hold SECONDS] [--batch K]\n"
                            "Opens N keep-alive HTTP connections, one request on each, then "
                            "holds them idle.\n";

/* A connection waiting for its response: the bytes of it received so far. */
struct pending {
    int fd;
    size_t len;
    char data[RESPONSE_MAX];
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("idle-conns: ", stderr);
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

/* A connected socket; connecting waits (in poll) for at most STALL_MS. */
static int connect_one(const struct addrinfo *ai)
{
    int in_progress;
    int fd = net_tcp_connect_addr(ai->ai_addr, ai->ai_addrlen, &in_progress);
    if (fd < 0)
        die("connect: %s", strerror(errno));
    if (in_progress) {
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, STALL_MS) <= 0)
            die("connect: timed out");
        int e = net_connect_result(fd);
        if (e)
            die("connect: %s", strerror(e));
    }
    return fd;
}

/* Whether the bytes (NUL-terminated) hold a whole response: a 200 head and Content-Length
 * bytes of body. */
static int response_complete(const struct pending *p)
{
    const char *end = strstr(p->data, "\r\n\r\n");
    if (!end)
        return 0;
    if (p->len < 12 || memcmp(p->data, "HTTP/1.", 7) != 0 || memcmp(p->data + 8, " 200", 4) != 0)
        die("unexpected response: %.*s", (int)(strchr(p->data, '\r') - p->data), p->data);
    size_t head = (size_t)(end - p->data) + 4;
    size_t body = 0;
    for (const char *line = p->data; line < end; line = strstr(line, "\r\n") + 2)
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            body = strtoul(line + 15, NULL, 10);
    return p->len >= head + body;
}

/* Reads what has arrived for p. Returns 1 when its response is complete. */
static int read_response(struct pending *p)
{
    ssize_t n = read(p->fd, p->data + p->len, sizeof p->data - 1 - p->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0)
        die("read: %s", strerror(errno));
    if (n == 0)
        die("the server closed a connection before answering");
    p->len += (size_t)n;
    p->data[p->len] = '\0';
    if (p->len == sizeof p->data - 1 && !response_complete(p))
        die("response larger than %d bytes", RESPONSE_MAX - 1);
    return response_complete(p);
}

/* Opens n connections, batch at a time waiting for their answers. Fills fds[0..n). */
static void open_all(const struct addrinfo *ai, const char *request, int *fds, long n, int batch)
{
    struct pending *wait = calloc((size_t)batch, sizeof *wait);
    struct pollfd *pfds = calloc((size_t)batch, sizeof *pfds);
    if (!wait || !pfds)
        die("out of memory");
    long opened = 0, answered = 0;
    int nwait = 0;
    while (answered < n) {
        while (nwait < batch && opened < n) {
            struct pending *p = &wait[nwait++];
            p->fd = connect_one(ai);
            p->len = 0;
            if (write(p->fd, request, strlen(request)) != (ssize_t)strlen(request))
                die("write: %s", strerror(errno));
            opened++;
        }
        for (int i = 0; i < nwait; i++)
            pfds[i] = (struct pollfd){wait[i].fd, POLLIN, 0};
        int r = poll(pfds, (nfds_t)nwait, STALL_MS);
        if (r < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (r == 0)
            die("no response for %d s (%ld of %ld answered)", STALL_MS / 1000, answered, n);
        /* Walk backwards so that moving the last entry into a finished one's place is safe. */
        for (int i = nwait - 1; i >= 0; i--) {
            if (!pfds[i].revents || !read_response(&wait[i]))
                continue;
            fds[answered++] = wait[i].fd;
            wait[i] = wait[--nwait];
        }
    }
    free(wait);
    free(pfds);
}

/* Holds the connections for `seconds`, marking (fd -1) any the server closes meanwhile.
 * Returns how many are still open. */
static long hold(int *fds, long n, double seconds)
{
    struct pollfd *pfds = calloc((size_t)n, sizeof *pfds);
    if (!pfds)
        die("out of memory");
    for (long i = 0; i < n; i++)
        pfds[i] = (struct pollfd){fds[i], POLLIN, 0};
    double until = now_sec() + seconds;
    long open = n;
    for (double left = seconds; left > 0; left = until - now_sec()) {
        int r = poll(pfds, (nfds_t)n, (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        for (long i = 0; r > 0 && i < n; i++) {
            if (!pfds[i].revents)
                continue;
            /* An idle keep-alive connection only becomes readable when the server closes it. */
            close(fds[i]);
            fds[i] = pfds[i].fd = -1;
            open--;
        }
    }
    free(pfds);
    return open;
}

static long parse_number(const char *name, const char *arg, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "idle-conns: bad %s '%s' (%ld..%ld)\n%s", name, arg, min, max, usage);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hold", required_argument, 0, 'H'},
        {"batch", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    double hold_seconds = 5;
    int batch = 100, opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'H')
            hold_seconds = (double)parse_number("--hold", optarg, 0, 3600);
        else if (opt == 'b')
            batch = (int)parse_number("--batch", optarg, 1, 10000);
        else if (opt == 'h')
            return fputs(usage, stdout), 0;
        else
            return 2;
    }
    if (argc - optind != 3) {
        fprintf(stderr, "idle-conns: expected HOST PORT N\n%s", usage);
        return 2;
    }
    const char *host = argv[optind];
    int port = (int)parse_number("PORT", argv[optind + 1], 1, 65535);
    long n = parse_number("N", argv[optind + 2], 1, 1000000);
    raise_fd_limit(n);

    char err[NET_ERR_LEN], request[256];
    struct addrinfo *ai;
    if (net_resolve(host, port, SOCK_STREAM, 0, &ai, err) < 0)
        die("%s", err);
    snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port);
    int *fds = calloc((size_t)n, sizeof *fds);
    if (!fds)
        die("out of memory");

    double t0 = now_sec();
    open_all(ai, request, fds, n, batch);
    double opened = now_sec() - t0;
    printf("idle-conns: %ld connections open and idle\n", n);
    fflush(stdout);
    long still_open = hold(fds, n, hold_seconds);
    printf("connections=%ld open_seconds=%.3f held_seconds=%.1f still_open=%ld\n", n, opened,
           hold_seconds, still_open);
    for (long i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    freeaddrinfo(ai);
    return 0;
}
