/* sigpipe_fixed - a server that says welcome, waits for the client to finish, then says
 * goodbye in five lines; it ignores SIGPIPE, so a departed client is an error, not a death.
 *
 * Writing to a connection whose other end has gone away fails with EPIPE, and before it
 * fails the kernel sends the writer SIGPIPE, whose default action ends the process. Node
 * ignores SIGPIPE at start-up, so the documents' socket.write() to a departed client only
 * emits 'error'; a C port that keeps the default dies, and takes every other client with it,
 * because one client closed its window early (sigpipe_buggy.c). Here SIGPIPE is ignored, as
 * Node does, so write() fails with EPIPE and the server drops that client and goes on.
 * (send() with MSG_NOSIGNAL, or SO_NOSIGPIPE on BSD, does the same one socket at a time.)
 *
 *   cc -o /tmp/sigpipe_fixed tests/pitfalls/sigpipe_fixed.c && /tmp/sigpipe_fixed
 *   then: timeout 0.1 nc 127.0.0.1 PORT     (reads the welcome, then closes: EPIPE)
 *
 * The first goodbye line reaches a closed socket, whose kernel answers with a reset; the
 * second write then fails with EPIPE (and raises SIGPIPE).
 * It differs from its twin sigpipe_buggy.c only in main()'s first line; diff the two.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "sigpipe: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000};
    nanosleep(&ts, NULL);
}

/* welcome; everything the client sends, until it half-closes; five goodbye lines. A write that
 * fails ends this client only. */
static void serve(int fd)
{
    char buf[4096];
    if (write_all(fd, "welcome\n", 8) < 0)
        goto failed;
    while (read(fd, buf, sizeof buf) > 0) {
    }
    for (int i = 1; i <= 5; i++) {
        char line[32];
        int len = snprintf(line, sizeof line, "goodbye %d\n", i);
        if (write_all(fd, line, (size_t)len) < 0)
            goto failed;
        pause_ms(50);
    }
    return;
failed:
    fprintf(stderr, "sigpipe: write: %s (client dropped, server goes on)\n", strerror(errno));
}

static int listen_loopback(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0)
        die("listen");
    getsockname(fd, (struct sockaddr *)&addr, &len);
    printf("sigpipe listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* the fix: a write to a departed peer fails with EPIPE instead */
    int lfd = listen_loopback(argc > 1 ? atoi(argv[1]) : 0);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd);
        close(fd);
    }
}
