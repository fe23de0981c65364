/* partial_write_fixed - sends BYTES bytes on a non-blocking socket, all of them: it reads what
 * write() answers, keeps the rest, and waits for room before writing it.
 *
 * An event loop's sockets are non-blocking (Node's are, wirelab's are). On such a socket
 * write() takes what fits in the kernel's send buffer and says how much that was: maybe all,
 * maybe part, maybe nothing (-1 with EAGAIN). Node hides this: socket.write() queues what the
 * kernel did not take and returns false until 'drain'. The documents' code never looks at that
 * answer, and a C port that calls write() the same way loses every byte the kernel refused,
 * without a word, as soon as the reader is slower than the writer (partial_write_buggy.c).
 * Here the rest waits, as Node's queue does, until poll() says the socket is writable again.
 *
 *   cc -o /tmp/partial_write_fixed tests/pitfalls/partial_write_fixed.c
 *   nc -l 127.0.0.1 9000 | wc -c &    then: /tmp/partial_write_fixed 127.0.0.1 9000 8388608
 *
 * The bytes are a pattern (byte i is i % 251), so the reader can tell a gap from a short end.
 * It differs from its twin partial_write_buggy.c only in send_all(); diff the two.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 65536

static void die(const char *what)
{
    fprintf(stderr, "partial_write: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The fix: write() says how many bytes it took; the rest is written later, once poll() says
 * the kernel has room again (an event loop would go on with other work meanwhile). */
static size_t send_all(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off < CHUNK ? len - off : CHUNK;
        ssize_t n = write(fd, data + off, chunk);
        if (n >= 0) {
            off += (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, -1);
        } else if (errno != EINTR) {
            die("write");
        }
    }
    return off;
}

static int connect_to(const char *host, const char *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "partial_write: %s: not an IPv4 address\n", host);
        exit(2);
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("connect");
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT BYTES\n", argv[0]);
        return 2;
    }
    size_t len = strtoul(argv[3], NULL, 10);
    char *data = malloc(len ? len : 1);
    if (!data)
        die("malloc");
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i % 251);

    int fd = connect_to(argv[1], argv[2]);
    /* A small send buffer, the same in both twins, so that the kernel soon refuses bytes. */
    int sndbuf = 65536;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); /* as an event loop's sockets are */

    size_t sent = send_all(fd, data, len);
    printf("sent %zu bytes\n", sent);
    close(fd);
    free(data);
    return 0;
}
