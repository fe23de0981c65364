/* net.h - socket helpers: listen, connect, accept, UDP, and addresses as text.
 *
 * Everything here is plain BSD sockets with getaddrinfo, so IPv4 and IPv6 work the same way.
 * Setup functions report a failure as one line in the caller's err[NET_ERR_LEN], worded the
 * way a student should see it ("listen 127.0.0.1:8000: Address already in use"), and return -1.
 * Every socket they return is non-blocking and close-on-exec.
 */
#ifndef WIRELAB_NET_H
#define WIRELAB_NET_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NET_ERR_LEN 256
#define NET_ADDR_LEN 64 /* "[ffff:...:ffff]:65535" fits */

/* Resolves host and port for the given socket type (SOCK_STREAM / SOCK_DGRAM), numeric or by
 * name. passive: for bind (host NULL means all interfaces). Free the list with freeaddrinfo. */
int net_resolve(const char *host, int port, int socktype, int passive, struct addrinfo **out,
                char err[NET_ERR_LEN]);

/* A listening TCP socket on host:port (port 0: the kernel picks a free one), with
 * SO_REUSEADDR so a restarted server does not wait for TIME_WAIT. An IPv6 socket listens on
 * IPv6 only, so "::" and "0.0.0.0" mean what they say. */
int net_tcp_listen(const char *host, int port, int backlog, char err[NET_ERR_LEN]);

/* Starts a non-blocking connect to one address. Returns the socket; *in_progress is 1 when the
 * connection completes later (watch for LOOP_WRITE, then net_connect_result), 0 when it is
 * already connected. */
int net_tcp_connect_addr(const struct sockaddr *sa, socklen_t salen, int *in_progress);

/* After a non-blocking connect becomes writable: 0 if connected, else the errno it failed
 * with (ECONNREFUSED, ETIMEDOUT, ...). */
int net_connect_result(int fd);

/* Accepts one connection: a non-blocking socket, or -1 with errno (EAGAIN when none waits). */
int net_accept(int listen_fd, struct sockaddr_storage *peer, socklen_t *peerlen);

/* A UDP socket bound to host:port (port 0: any free port), without SO_REUSEADDR (for UDP it
 * would let two sockets share the port). Servers use it,
 * and clients that want replies on a known port. */
int net_udp_bind(const char *host, int port, char err[NET_ERR_LEN]);

/* An unbound UDP socket of the given family, for a client that only sends. */
int net_udp_socket(int family, char err[NET_ERR_LEN]);

/* Formats an address as "127.0.0.1:8000" or "[::1]:8000". Returns out. */
char *net_addr_format(const struct sockaddr *sa, char out[NET_ADDR_LEN]);

/* The socket's own / its peer's address as text ("?" on failure). */
char *net_local_addr(int fd, char out[NET_ADDR_LEN]);
char *net_peer_addr(int fd, char out[NET_ADDR_LEN]);

/* The local port the socket is bound to, or -1. */
int net_local_port(int fd);

int net_set_nonblock(int fd);
int net_set_nodelay(int fd, int on);
int net_set_keepalive(int fd, int on);

/* Ignores SIGPIPE for the whole process (a write to a closed socket then fails with EPIPE). */
void net_ignore_sigpipe(void);

#endif
