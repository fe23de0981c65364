/* partial_write_buggy - sends BYTES bytes on a non-blocking socket and ignores what write()
 * answers. THE BUG IS ON PURPOSE.
 *
 * An event loop's sockets are non-blocking (Node's are, wirelab's are). On such a socket
 * write() takes what fits in the kernel's send buffer and says how much that was: maybe all,
 * maybe part, maybe nothing (-1 with EAGAIN). Node hides this: socket.write() queues what the
 * kernel did not take and returns false until 'drain'. The documents' code never looks at that
 * answer, and a C port that calls write() the same way loses every byte the kernel refused,
 * without a word, as soon as the reader is slower than the writer.
 *
 *   cc -o /tmp/partial_write_buggy tests/pitfalls/partial_write_buggy.c
 *   nc -l 127.0.0.1 9000 | wc -c &    then: /tmp/partial_write_buggy 127.0.0.1 9000 8388608
 *
 * The bytes are a pattern (byte i is i % 251), so the reader can tell a gap from a short end.
 * Its twin partial_write_fixed.c differs only in send_all(); diff the two to see the lesson.
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

/* The bug: write()'s answer is ignored, so whatever the kernel did not take is skipped. */
static size_t send_all(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off < CHUNK ? len - off : CHUNK;
        if (write(fd, data + off, chunk) < 0 && errno != EAGAIN)
            die("write");
        off += chunk;
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
