/* udp-load - the load generator of the UDP benchmark (tests/bench/udp.sh).
 *
 *   udp-load HOST PORT [--seconds D] [--rate R] [--size S]
 *
 * Sends datagrams of S bytes (default 64) to HOST:PORT for D seconds (default 5): as fast as
 * one core can send them, or R per second with --rate. It measures nothing about the receiver
 * itself; it reports how many datagrams it sent, so the benchmark can compare that with the
 * count the receiver prints and see how many were lost:
 *
 *   sent=1712345 seconds=5.000 per_sec=342469 errors=0 cpu=4.981
 *
 * A plain send() per datagram on a connected socket: that is what a Node or C client does, and
 * the receiver's cost per datagram is the same whatever the sender's system calls. On loopback
 * a send never waits for the receiver; a receiver that falls behind loses datagrams when its
 * socket's receive buffer is full, which is the loss the benchmark reports. A send that fails
 * (ECONNREFUSED once nothing listens, ENOBUFS) is counted as an error and not as sent.
 *
 * --rate paces the sends in small bursts: every 64 datagrams it compares the count with what
 * the rate allows by now, and sleeps off any lead.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define BURST 64 /* datagrams between two looks at the clock */
#define MAX_SIZE 65507

static const char usage[] = "Usage: udp-load HOST PORT [--seconds D] [--rate R] [--size S]\n"
                            "Sends datagrams to HOST:PORT; prints one line of key=value results.\n";

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_sec(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void sleep_sec(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* A UDP socket connected to host:port, blocking, so a full send buffer waits instead of
 * failing. Exits on failure. */
static int open_socket(const char *host, int port)
{
    char err[NET_ERR_LEN];
    struct addrinfo *list;
    if (net_resolve(host, port, SOCK_DGRAM, 0, &list, err) < 0) {
        fprintf(stderr, "udp-load: %s\n", err);
        exit(1);
    }
    int fd = socket(list->ai_family, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, list->ai_addr, list->ai_addrlen) < 0) {
        fprintf(stderr, "udp-load: %s:%d: %s\n", host, port, strerror(errno));
        exit(1);
    }
    freeaddrinfo(list);
    return fd;
}

/* Sends one burst; adds to *sent and *errors. */
static void send_burst(int fd, const char *msg, size_t size, unsigned long long *sent,
                       unsigned long long *errors)
{
    for (int i = 0; i < BURST; i++) {
        if (send(fd, msg, size, 0) == (ssize_t)size)
            (*sent)++;
        else
            (*errors)++;
    }
}

static unsigned long long parse_number(const char *name, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-') {
        fprintf(stderr, "udp-load: bad number for %s: %s\n%s", name, arg, usage);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seconds", required_argument, 0, 'd'},
        {"rate", required_argument, 0, 'r'},
        {"size", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    double seconds = 5, rate = 0;
    size_t size = 64;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            seconds = (double)parse_number("--seconds", optarg);
            break;
        case 'r':
            rate = (double)parse_number("--rate", optarg);
            break;
        case 's':
            size = (size_t)parse_number("--size", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return 2;
        }
    }
    if (argc - optind != 2 || size > MAX_SIZE) {
        fputs(usage, stderr);
        return 2;
    }
    int port = (int)parse_number("PORT", argv[optind + 1]);
    int fd = open_socket(argv[optind], port);

    char msg[MAX_SIZE];
    memset(msg, 'u', size);
    unsigned long long sent = 0, errors = 0;
    double t0 = now_sec(), cpu0 = cpu_sec(), t = t0;
    while (t - t0 < seconds) {
        send_burst(fd, msg, size, &sent, &errors);
        t = now_sec();
        double lead = rate > 0 ? (double)(sent + errors) / rate - (t - t0) : 0;
        if (lead > 0.0005)
            sleep_sec(lead);
    }
    double secs = now_sec() - t0;
    printf("sent=%llu seconds=%.3f per_sec=%.0f errors=%llu cpu=%.3f\n", sent, secs,
           (double)sent / secs, errors, cpu_sec() - cpu0);
    close(fd);
    return 0;
}
