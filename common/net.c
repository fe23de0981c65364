/* net.c - socket setup, the way Beej's guide teaches it, with the error handling it skips.
 *
 * getaddrinfo turns "localhost" or "::1" and a port into a list of addresses; we try each
 * until one works, and if none does we report the last error in one line the student can act
 * on. Every socket is made non-blocking and close-on-exec as soon as it exists.
 *
 * Try it: `./bin/tcp-server -p 8000 & ./bin/tcp-server -p 8000` prints
 * "tcp-server: listen 127.0.0.1:8000: Address already in use".
 */
#ifdef __linux__
#define _GNU_SOURCE /* accept4 */
#endif
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int net_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int net_set_nodelay(int fd, int on)
{
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

int net_set_keepalive(int fd, int on)
{
    return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
}

void net_ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/* "127.0.0.1:8000", or "[::1]:8000" so the port cannot be mistaken for part of the address. */
static void host_port_text(const char *host, int port, char out[NET_ADDR_LEN])
{
    const char *h = host ? host : "*";
    if (strchr(h, ':'))
        snprintf(out, NET_ADDR_LEN, "[%s]:%d", h, port);
    else
        snprintf(out, NET_ADDR_LEN, "%s:%d", h, port);
}

int net_resolve(const char *host, int port, int socktype, int passive, struct addrinfo **out,
                char err[NET_ERR_LEN])
{
    struct addrinfo hints;
    char service[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, out);
    if (rc != 0) {
        char where[NET_ADDR_LEN];
        host_port_text(host, port, where);
        snprintf(err, NET_ERR_LEN, "resolve %s: %s", where,
                 rc == EAI_NONAME ? "unknown host" : gai_strerror(rc));
        return -1;
    }
    return 0;
}

static int socket_for(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (net_set_nonblock(fd) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Binds one address with SO_REUSEADDR (and IPV6_V6ONLY for IPv6, so "::" is IPv6 only). */
static int bind_one(const struct addrinfo *ai)
{
    int fd = socket_for(ai);
    if (fd < 0)
        return -1;
    int on = 1;
    /* For TCP, SO_REUSEADDR lets a restarted server bind while old connections sit in
     * TIME_WAIT. For UDP it means something else, sharing the port with another socket, so a
     * second server would start "successfully" and steal datagrams: TCP only. */
    if (ai->ai_socktype == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int bind_first(const char *host, int port, int socktype, int backlog, const char *verb,
                      char err[NET_ERR_LEN])
{
    struct addrinfo *list;
    if (net_resolve(host, port, socktype, 1, &list, err) < 0)
        return -1;
    int fd = -1, last_errno = 0;
    for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = bind_one(ai);
        if (fd >= 0 && socktype == SOCK_STREAM && listen(fd, backlog) < 0) {
            last_errno = errno;
            close(fd);
            fd = -1;
        } else if (fd < 0) {
            last_errno = errno;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        char where[NET_ADDR_LEN];
        host_port_text(host, port, where);
        snprintf(err, NET_ERR_LEN, "%s %s: %s", verb, where, strerror(last_errno));
    }
    return fd;
}

int net_tcp_listen(const char *host, int port, int backlog, char err[NET_ERR_LEN])
{
    return bind_first(host, port, SOCK_STREAM, backlog, "listen", err);
}

int net_udp_bind(const char *host, int port, char err[NET_ERR_LEN])
{
    return bind_first(host, port, SOCK_DGRAM, 0, "bind", err);
}

int net_udp_socket(int family, char err[NET_ERR_LEN])
{
    int fd = socket(family, SOCK_DGRAM, 0);
    if (fd < 0 || net_set_nonblock(fd) < 0) {
        snprintf(err, NET_ERR_LEN, "socket: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int net_tcp_connect_addr(const struct sockaddr *sa, socklen_t salen, int *in_progress)
{
    int fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (net_set_nonblock(fd) < 0)
        goto fail;
    *in_progress = 0;
    if (connect(fd, sa, salen) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        *in_progress = 1;
        return fd;
    }
fail : {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}
}

int net_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

int net_accept(int listen_fd, struct sockaddr_storage *peer, socklen_t *peerlen)
{
    *peerlen = sizeof *peer;
#ifdef __linux__
    /* accept4 sets both flags as it creates the socket: one system call where accept and
     * net_set_nonblock take four, which shows when every request comes on a new connection. */
    return accept4(listen_fd, (struct sockaddr *)peer, peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(listen_fd, (struct sockaddr *)peer, peerlen);
    if (fd < 0)
        return -1;
    if (net_set_nonblock(fd) < 0) {
        close(fd);
        return -1;
    }
    return fd;
#endif
}

char *net_addr_format(const struct sockaddr *sa, char out[NET_ADDR_LEN])
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, NET_ADDR_LEN, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, NET_ADDR_LEN, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, NET_ADDR_LEN, "?");
    }
    return out;
}

char *net_local_addr(int fd, char out[NET_ADDR_LEN])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(out, NET_ADDR_LEN, "?");
        return out;
    }
    return net_addr_format((struct sockaddr *)&ss, out);
}

char *net_peer_addr(int fd, char out[NET_ADDR_LEN])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(out, NET_ADDR_LEN, "?");
        return out;
    }
    return net_addr_format((struct sockaddr *)&ss, out);
}

int net_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}
