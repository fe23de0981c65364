/* udp_socket.c - datagrams on the loop: bind or connect, receive until EAGAIN, send, close.
 *
 * Try it: `./bin/udp-server -v` and, in another terminal, `./bin/udp-client -v 127.0.0.1 41234`
 * shows each side's listening, connect, send, message and close events.
 */
#include "udp_socket.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "trace.h"

void udp_socket_init(struct udp_socket *u, struct loop *loop)
{
    memset(u, 0, sizeof *u);
    u->loop = loop;
    u->fd = -1;
}

void udp_rinfo_set(struct udp_rinfo *r, const struct sockaddr *sa, socklen_t len)
{
    memset(r, 0, sizeof *r);
    memcpy(&r->addr, sa, len);
    r->addrlen = len;
    net_addr_format(sa, r->text);
}

/* Linux can attach to each received datagram the number of datagrams it has dropped so far
 * because the receive buffer was full (SO_RXQ_OVFL). Elsewhere the count stays 0. */
static void ask_for_drop_count(int fd)
{
#ifdef SO_RXQ_OVFL
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
#else
    (void)fd;
#endif
}

/* Gives a freshly made socket its buffer and the settings every UDP socket here has. */
static void adopt(struct udp_socket *u, int fd, int family)
{
    u->fd = fd;
    u->family = family;
    u->buf = malloc(UDP_RECV_BUF_LEN);
    if (!u->buf) {
        trace_error("out of memory");
        abort();
    }
    ask_for_drop_count(fd);
}

/* ---- receiving ---- */

/* Reads the kernel's drop count out of the control data that came with a datagram. */
static void note_kernel_drops(struct udp_socket *u, struct msghdr *msg)
{
#ifdef SO_RXQ_OVFL
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            memcpy(&drops, CMSG_DATA(cm), sizeof drops);
            /* The kernel's count is 32 bits; unsigned subtraction survives its wrapping. */
            uint32_t more = drops - (uint32_t)u->kernel_drops;
            if (more > 0)
                trace_event(0, "drop", u->local, "%lu before this one: receive buffer full",
                            (unsigned long)more);
            u->kernel_drops += more;
        }
    }
#else
    (void)u;
    (void)msg;
#endif
}

static void report_error(struct udp_socket *u, int err, const char *op)
{
    const char *peer = u->connected ? u->peer.text : u->local;
    trace_event(0, "error", peer, "%s: %s", op, strerror(err));
    if (u->on_error)
        u->on_error(u, err, op);
}

/* Receives one datagram and hands it on. Returns 1 if there may be more, 0 when the kernel
 * has none left (or the socket was closed meanwhile), -1 after an error. */
static int receive_one(struct udp_socket *u)
{
    struct sockaddr_storage from;
    struct udp_rinfo rinfo;
    struct iovec iov = {u->buf, UDP_RECV_BUF_LEN};
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(uint32_t))];
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof control.space;

    ssize_t n = recvmsg(u->fd, &msg, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno == EINTR)
            return 1;
        report_error(u, errno, "recv");
        return -1;
    }
    if (u->addresses_unseen && !trace_on()) {
        memcpy(&rinfo.addr, &from, msg.msg_namelen);
        rinfo.addrlen = msg.msg_namelen;
        rinfo.text[0] = '\0';
    } else {
        udp_rinfo_set(&rinfo, (struct sockaddr *)&from, msg.msg_namelen);
    }
    rinfo.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    note_kernel_drops(u, &msg);
    u->received++;
    u->received_bytes += (uint64_t)n;
    trace_data(0, "message", rinfo.text, u->buf, (size_t)n);
    u->on_message(u, u->buf, (size_t)n, &rinfo);
    return u->fd >= 0;
}

void udp_socket_drain(struct udp_socket *u)
{
    int fd = u->fd;
    for (int i = 0; i < UDP_READ_BUDGET && fd >= 0 && u->fd == fd; i++) {
        if (receive_one(u) <= 0)
            break;
    }
}

static void on_ready(struct loop *loop, int fd, int events, void *arg)
{
    struct udp_socket *u = arg;
    if (events & LOOP_READ)
        udp_socket_drain(u);
    if ((events & LOOP_WRITE) && u->fd == fd && u->on_writable)
        u->on_writable(u);
}

/* The watch follows what is wanted: reading, writing, both or neither. */
static int rewatch(struct udp_socket *u, int mask)
{
    if (u->fd < 0) {
        errno = EBADF;
        return -1;
    }
    return loop_watch(u->loop, u->fd, mask, on_ready, u);
}

int udp_socket_read_start(struct udp_socket *u)
{
    return rewatch(u, loop_watching(u->loop, u->fd) | LOOP_READ);
}

void udp_socket_read_stop(struct udp_socket *u)
{
    if (u->fd >= 0)
        rewatch(u, loop_watching(u->loop, u->fd) & ~LOOP_READ);
}

int udp_socket_want_write(struct udp_socket *u, int on)
{
    int mask = loop_watching(u->loop, u->fd);
    return rewatch(u, on ? mask | LOOP_WRITE : mask & ~LOOP_WRITE);
}

/* ---- setting up ---- */

int udp_socket_bind(struct udp_socket *u, const char *host, int port, char err[NET_ERR_LEN])
{
    int fd = net_udp_bind(host, port, err);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(err, NET_ERR_LEN, "getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    adopt(u, fd, ss.ss_family);
    net_addr_format((struct sockaddr *)&ss, u->local);
    if (udp_socket_read_start(u) < 0) {
        snprintf(err, NET_ERR_LEN, "watch %s: %s", u->local, strerror(errno));
        udp_socket_close(u);
        return -1;
    }
    return 0;
}

/* A client learns its own port only once the kernel has bound the socket: at connect, or at
 * the first send of an unconnected socket. Node emits 'listening' then too. */
static void note_local_address(struct udp_socket *u)
{
    if (u->local[0])
        return;
    net_local_addr(u->fd, u->local);
    trace_event(0, "listening", u->local, NULL);
}

/* Tries one resolved address: a socket of its family, connected if asked. */
static int open_one(struct udp_socket *u, const struct addrinfo *ai, int do_connect)
{
    char err[NET_ERR_LEN];
    int fd = net_udp_socket(ai->ai_family, err);
    if (fd < 0)
        return -1;
    if (do_connect && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    adopt(u, fd, ai->ai_family);
    udp_rinfo_set(&u->peer, ai->ai_addr, ai->ai_addrlen);
    u->connected = do_connect;
    return 0;
}

int udp_socket_open(struct udp_socket *u, const char *host, int port, int do_connect,
                    char err[NET_ERR_LEN])
{
    struct addrinfo *list;
    if (net_resolve(host, port, SOCK_DGRAM, 0, &list, err) < 0)
        return -1;
    int rc = -1, last_errno = 0;
    char where[NET_ADDR_LEN] = "?";
    for (struct addrinfo *ai = list; ai && rc < 0; ai = ai->ai_next) {
        net_addr_format(ai->ai_addr, where);
        rc = open_one(u, ai, do_connect);
        if (rc < 0)
            last_errno = errno;
    }
    freeaddrinfo(list);
    if (rc < 0) {
        snprintf(err, NET_ERR_LEN, "%s %s: %s", do_connect ? "connect" : "socket", where,
                 strerror(last_errno));
        return -1;
    }
    if (u->connected) {
        note_local_address(u);
        trace_event(0, "connect", u->peer.text, NULL);
    }
    return 0;
}

/* ---- sending ---- */

ssize_t udp_socket_send(struct udp_socket *u, const void *data, size_t len,
                        const struct udp_rinfo *to)
{
    ssize_t n;
    if (!to && u->connected) {
        n = send(u->fd, data, len, 0);
    } else {
        if (!to)
            to = &u->peer;
        n = sendto(u->fd, data, len, 0, (const struct sockaddr *)&to->addr, to->addrlen);
    }
    if (n < 0)
        return -1;
    note_local_address(u);
    u->sent++;
    u->sent_bytes += (uint64_t)n;
    trace_data(0, "send", to ? to->text : u->peer.text, data, (size_t)n);
    return n;
}

int udp_socket_rcvbuf(const struct udp_socket *u)
{
    int size;
    socklen_t len = sizeof size;
    if (getsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &size, &len) < 0)
        return -1;
    return size;
}

int udp_socket_set_rcvbuf(struct udp_socket *u, int bytes)
{
    if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0)
        return -1;
    return udp_socket_rcvbuf(u);
}

void udp_socket_close(struct udp_socket *u)
{
    if (u->fd < 0)
        return;
    loop_unwatch(u->loop, u->fd);
    close(u->fd);
    u->fd = -1;
    free(u->buf);
    u->buf = NULL;
    trace_event(0, "close", u->connected ? u->peer.text : u->local,
                "%llu datagrams (%llu bytes) received, %llu (%llu bytes) sent",
                (unsigned long long)u->received, (unsigned long long)u->received_bytes,
                (unsigned long long)u->sent, (unsigned long long)u->sent_bytes);
}
