/* one_read_buggy - a line server that takes one read() to be one line. THE BUG IS ON PURPOSE.
 *
 * The protocol: the client sends lines; for each line the server answers "got: <line>\n".
 * Documents 000 and 003 write their servers this way: socket.on('data', ...) answers each chunk,
 * as if a chunk were a message. TCP is a byte stream: a line typed slowly, or sent in pieces,
 * arrives in as many reads as TCP likes, and this server answers every piece.
 *
 *   cc -o /tmp/one_read_buggy tests/pitfalls/one_read_buggy.c && /tmp/one_read_buggy
 *   then: (for w in hello there; do printf %s "$w "; sleep 0.2; done; echo) | nc -N 127.0.0.1 PORT
 *
 * Its twin one_read_fixed.c differs only in serve(); diff the two to see the lesson.
 * docs/pitfalls.md tells the story; tests/integration/pitfalls.js tells the two apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "one_read: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Writes all of data, however many write() calls that takes (a blocking socket). */
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

static void answer(int fd, const char *line)
{
    char reply[4200];
    int len = snprintf(reply, sizeof reply, "got: %s\n", line);
    write_all(fd, reply, (size_t)len);
}

/* The bug: whatever one read() returned is answered as one whole line. */
static void serve(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        answer(fd, buf);
    }
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
    printf("one_read listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    int lfd = listen_loopback(argc > 1 ? atoi(argv[1]) : 0);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd);
        close(fd);
    }
}
