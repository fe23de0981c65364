/* server.h - a listening TCP socket that turns each accepted connection into a stream
 * (Node's net.Server).
 *
 *   listening      server_listen bound the port; server_ready prints the ready line
 *   connection     on_connection(srv, s) for each accepted stream; set its callbacks there
 *   close          server_close stops accepting; connections already open carry on, and
 *                  on_close is called once the last of them has gone
 *
 * The server keeps a list of its open streams, so that a program can end them all when it
 * shuts down, and counts them, so that --max-connections can stop accepting (the kernel's
 * backlog then holds new clients until one leaves).
 */
#ifndef WIRELAB_SERVER_H
#define WIRELAB_SERVER_H

#include <stddef.h>

#include "loop.h"
#include "net.h"
#include "stream.h"

typedef void server_connection_fn(struct server *srv, struct stream *s);
typedef void server_close_fn(struct server *srv);

struct server {
    struct loop *loop;
    int fd;                  /* -1 once closed */
    char addr[NET_ADDR_LEN]; /* "127.0.0.1:8000", the port the kernel gave */
    server_connection_fn *on_connection;
    void *user;
    size_t max_connections;    /* 0: no limit */
    size_t connections;        /* open streams */
    int keepalive;             /* SO_KEEPALIVE on each accepted socket */
    int nodelay;               /* TCP_NODELAY on each accepted socket */
    struct tls_ctx *tls;       /* set: every accepted stream speaks TLS (tls.h) */
    struct stream *streams;    /* open streams, newest first */
    unsigned long accepted;    /* total accepted */
    server_close_fn *on_close; /* Node's 'close': closed and the last connection gone */
    struct loop_timer grace;   /* server_shutdown's deadline */
};

/* Binds and listens on host:port. Set user, max_connections, keepalive, nodelay and tls first
 * (zero the struct for the defaults); the other fields are filled in here. Port 0: any free port.
 * Starts accepting. Returns 0, or -1 with a one-line err ("listen 127.0.0.1:8000: Address already
 * in use"). */
int server_listen(struct server *srv, struct loop *loop, const char *host, int port,
                  server_connection_fn *on_connection, char err[NET_ERR_LEN]);

/* Prints the ready line "<prog> listening on <addr>" to stdout, flushed, and traces the
 * listening event. */
void server_ready(const struct server *srv, const char *prog);

/* Stops accepting and closes the listening socket. Open streams are not touched. */
void server_close(struct server *srv);

/* The graceful shutdown a signal asks for: stop accepting, end every open stream (they
 * close once their queues are written and their peers close too), and destroy whatever is
 * still open after grace_ms. Calling it again destroys everything at once. */
void server_shutdown(struct server *srv, uint64_t grace_ms);

/* Destroys whatever streams are still open after ms milliseconds (the deadline of a graceful
 * shutdown); once none is left the timer is stopped. */
void server_destroy_after(struct server *srv, uint64_t ms);

/* Ends (half-closes) every open stream, for a graceful shutdown. */
void server_end_all(struct server *srv);

/* Destroys every open stream. */
void server_destroy_all(struct server *srv);

/* Called by stream.c when a stream of this server is freed. */
void server_stream_gone(struct server *srv, struct stream *s);

#endif
