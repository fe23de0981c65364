/* udp_socket.h - a UDP socket on the loop, the way Node's dgram.Socket presents it.
 *
 * UDP moves datagrams, not a byte stream. One send is one datagram; one receive returns one
 * datagram, whole, with the address it came from, or nothing: the network may lose, duplicate
 * or reorder datagrams, but it never splits or joins them. So, unlike a TCP stream, there is no
 * buffer of leftovers here: each datagram is handed to on_message and forgotten.
 *
 * Events, in Node's names (each traced with -v as "#0 <event> <peer> <details>"):
 *
 *   listening   the socket has a local address: udp_socket_bind for a server; for a client,
 *               the port the kernel picked when it connected or first sent
 *   connect     udp_socket_open connected the socket to its one peer
 *   message     on_message(u, data, len, rinfo) for each datagram that arrives
 *   send        a datagram went out (trace only: Node reports it to send's callback)
 *   drop        the kernel says it dropped datagrams: the receive buffer was full (trace only)
 *   error       on_error(u, err, op) for a failed receive ("recv"); sends return -1 instead
 *   close       udp_socket_close
 *
 * Reading. When the socket is readable we receive datagram after datagram until the kernel has
 * none left (EAGAIN), so one wake-up drains a burst. A budget (UDP_READ_BUDGET) bounds one
 * turn, so a flood cannot starve timers and signals; the loop is level-triggered and calls us
 * again for the rest. The buffer holds 64 KiB + 1 bytes, more than any UDP payload without IPv6
 * jumbograms, and recvmsg's MSG_TRUNC flag says if a datagram was cut anyway: a datagram that
 * does not fit is not kept for the next read; the rest of it is simply gone.
 *
 * Sizes. The length fields of IPv4 and UDP are 16 bits, so a datagram is at most 65535 bytes
 * including the 20-byte IPv4 header and the 8-byte UDP header: 65507 bytes of payload. IPv6's
 * length field leaves out its own 40-byte header, so there the limit is 65527. Ask for more and
 * send fails with EMSGSIZE: the datagram is refused whole, never split. Below the limit, IP may
 * still cut a datagram into fragments on the way (anything over 1472 bytes crosses a 1500-byte
 * Ethernet link that way) and joins them before delivery; lose one fragment and the whole
 * datagram is lost.
 *
 * Connected UDP. connect() on a UDP socket sends nothing; it tells the kernel the one peer this
 * socket talks to. send() then needs no address, datagrams from anyone else are filtered out,
 * and, most useful for teaching, errors the network reports come back to the program: if
 * nothing listens on the peer's port, its host answers with an ICMP "port unreachable", and
 * the next send or receive on a connected socket fails with ECONNREFUSED. An unconnected
 * socket on Linux never hears about it.
 */
#ifndef WIRELAB_UDP_SOCKET_H
#define WIRELAB_UDP_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "loop.h"
#include "net.h"

#define UDP_IPV4_MAX_PAYLOAD 65507 /* 65535 - 20 (IPv4 header) - 8 (UDP header) */
#define UDP_IPV6_MAX_PAYLOAD 65527 /* 65535 - 8: IPv6's length excludes its own header */
#define UDP_RECV_BUF_LEN (64 * 1024 + 1)
#define UDP_READ_BUDGET 1024 /* datagrams received per readiness event, at most */

/* Where a datagram came from (Node's rinfo), or where to send one. */
struct udp_rinfo {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char text[NET_ADDR_LEN]; /* "127.0.0.1:50123", "[::1]:50123" */
    int truncated;           /* the datagram was larger than the buffer: its tail is lost */
};

struct udp_socket;

typedef void udp_message_fn(struct udp_socket *u, const char *data, size_t len,
                            const struct udp_rinfo *rinfo);
typedef void udp_error_fn(struct udp_socket *u, int err, const char *op);
typedef void udp_event_fn(struct udp_socket *u);

struct udp_socket {
    struct loop *loop;
    int fd;                   /* -1 when closed */
    int family;               /* AF_INET or AF_INET6 */
    char local[NET_ADDR_LEN]; /* our own address, once known */
    int connected;            /* udp_socket_open connected it to peer */
    struct udp_rinfo peer;    /* udp_socket_open's destination */

    udp_message_fn *on_message;
    udp_error_fn *on_error;    /* optional */
    udp_event_fn *on_writable; /* optional: see udp_socket_want_write */
    void *user;
    int addresses_unseen; /* 1: nothing shows where datagrams come from (udp-server -q
                             without -v), so rinfo->text is left empty: formatting an
                             address costs more than the rest of a tiny datagram's work */

    uint64_t received, received_bytes; /* datagrams and payload bytes in */
    uint64_t sent, sent_bytes;         /* datagrams and payload bytes out */
    uint64_t kernel_drops;             /* datagrams the kernel dropped for want of receive
                                          buffer space, as far as known: Linux tells the count
                                          (SO_RXQ_OVFL) with each datagram that does arrive,
                                          so drops after the last one go uncounted; else 0 */
    char *buf;                         /* UDP_RECV_BUF_LEN bytes while open */
};

/* Prepares u for the loop: no socket yet, no callbacks, counters at zero. */
void udp_socket_init(struct udp_socket *u, struct loop *loop);

/* A server's socket: binds host:port (port 0: any free port) with net_udp_bind and starts
 * receiving, calling on_message, which must be set first. Fills u->local. Returns 0, or -1
 * with a one-line err ("bind 127.0.0.1:41234: Address already in use"). */
int udp_socket_bind(struct udp_socket *u, const char *host, int port, char err[NET_ERR_LEN]);

/* A client's socket towards host:port: resolves it (IPv4 or IPv6, whichever the name gives)
 * and, with do_connect, connects the socket to the first address that accepts; without, only
 * remembers the address for udp_socket_send. Does not start receiving (udp_socket_read_start
 * does). Returns 0, or -1 with a one-line err ("resolve nosuch.invalid:41234: unknown host"). */
int udp_socket_open(struct udp_socket *u, const char *host, int port, int do_connect,
                    char err[NET_ERR_LEN]);

/* Starts / stops receiving. While reading, the socket keeps loop_run going. */
int udp_socket_read_start(struct udp_socket *u);
void udp_socket_read_stop(struct udp_socket *u);

/* Sends one datagram of len bytes (0 is allowed: an empty datagram) to `to`, or with to NULL
 * to the peer given to udp_socket_open. Returns len, or -1 with errno: EAGAIN when the send
 * buffer is full (wait with udp_socket_want_write), EMSGSIZE when the payload is over the
 * limit above, ECONNREFUSED when an earlier datagram was refused (connected sockets only). */
ssize_t udp_socket_send(struct udp_socket *u, const void *data, size_t len,
                        const struct udp_rinfo *to);

/* Receives the datagrams already waiting (up to UDP_READ_BUDGET of them), calling
 * on_message for each, as when the socket becomes readable. A server calls it before it closes,
 * so that datagrams the kernel has already accepted for it are counted. */
void udp_socket_drain(struct udp_socket *u);

/* Asks for on_writable (on) or stops asking (off): the way to wait after send gave EAGAIN. */
int udp_socket_want_write(struct udp_socket *u, int on);

/* Asks the kernel for a receive buffer of `bytes` (SO_RCVBUF); a burst bigger than the buffer
 * is dropped on arrival. Returns the size the kernel granted (Linux doubles the request for
 * its own bookkeeping and caps it at net.core.rmem_max), or -1 with errno. */
int udp_socket_set_rcvbuf(struct udp_socket *u, int bytes);

/* The receive buffer's size now (SO_RCVBUF), or -1 with errno. */
int udp_socket_rcvbuf(const struct udp_socket *u);

/* Stops watching, closes the descriptor and frees the buffer; traces close. Safe to call
 * twice, and from inside on_message (no callback follows). */
void udp_socket_close(struct udp_socket *u);

/* Fills a udp_rinfo from an address (text included). */
void udp_rinfo_set(struct udp_rinfo *r, const struct sockaddr *sa, socklen_t len);

#endif
