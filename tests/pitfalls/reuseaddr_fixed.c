/* reuseaddr_fixed - a server that answers one client with "bye", closes first, and exits; run
 * again at once on the same port, it binds, because it sets SO_REUSEADDR.
 *
 * The side of a TCP connection that closes first keeps it in TIME_WAIT for a minute (two
 * maximum segment lifetimes), so that a late segment of the old connection cannot be taken for
 * part of a new one. While it lasts, bind() to the same address and port fails with EADDRINUSE,
 * unless the socket asked for SO_REUSEADDR. Node's server.listen() asks for it, so the
 * documents' servers restart at once; a C port that does not must wait a minute after every
 * restart of a server that closed connections itself (reuseaddr_buggy.c). Here the option is
 * set before bind(), as every server should (it does not let two servers listen on one port).
 *
 *   cc -o /tmp/reuseaddr_fixed tests/pitfalls/reuseaddr_fixed.c
 *   /tmp/reuseaddr_fixed 9000 & sleep 0.2; nc 127.0.0.1 9000; /tmp/reuseaddr_fixed 9000
 *   ss -tan state time-wait        shows the connection left behind
 *
 * It differs from its twin reuseaddr_buggy.c only in listen_on(); diff the two to see the lesson.
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
    fprintf(stderr, "reuseaddr: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The fix: SO_REUSEADDR, set before bind(), lets a connection of this port sit in TIME_WAIT. */
static int listen_on(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt SO_REUSEADDR");
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("bind");
    if (listen(fd, 16) < 0)
        die("listen");
    getsockname(fd, (struct sockaddr *)&addr, &len);
    printf("reuseaddr listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

/* One client: "bye", and the server closes first (so the TIME_WAIT is on this side). */
int main(int argc, char **argv)
{
    int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 0);
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        die("accept");
    if (write(fd, "bye\n", 4) != 4)
        die("write");
    close(fd);
    close(lfd);
    return 0;
}
