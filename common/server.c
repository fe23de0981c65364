/* server.c - accept connections and hand each one over as a stream (Node's net.Server).
 *
 * The listening socket is watched for readability; readable means "a connection is waiting
 * in the backlog". We accept until accept(2) says EAGAIN, a bounded number at a time so one
 * busy turn cannot starve the connections already open.
 */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

#define ACCEPT_BATCH 64

static void link_stream(struct server *srv, struct stream *s)
{
    s->server = srv;
    s->prev = NULL;
    s->next = srv->streams;
    if (srv->streams)
        srv->streams->prev = s;
    srv->streams = s;
    srv->connections++;
}

static void on_acceptable(struct loop *loop, int fd, int events, void *arg);
static void maybe_closed(struct server *srv);

/* At the connection limit, stop asking for new connections; the kernel's backlog holds them. */
static void update_accepting(struct server *srv)
{
    if (srv->fd < 0)
        return;
    int full = srv->max_connections && srv->connections >= srv->max_connections;
    loop_watch(srv->loop, srv->fd, full ? 0 : LOOP_READ, on_acceptable, srv);
}

static void accept_one(struct server *srv, int fd, const struct sockaddr *peer)
{
    if (srv->keepalive)
        net_set_keepalive(fd, 1);
    if (srv->nodelay)
        net_set_nodelay(fd, 1);
    struct stream *s = stream_new_accepted(srv->loop, fd, peer);
    if (srv->tls)
        stream_start_tls_server(s, srv->tls);
    link_stream(srv, s);
    srv->accepted++;
    trace_event(s->id, "connection", s->peer, NULL);
    if (srv->on_connection)
        srv->on_connection(srv, s);
}

static void on_acceptable(struct loop *loop, int fd, int events, void *arg)
{
    struct server *srv = arg;
    for (int i = 0; i < ACCEPT_BATCH && srv->fd >= 0; i++) {
        if (srv->max_connections && srv->connections >= srv->max_connections)
            break;
        struct sockaddr_storage peer;
        socklen_t len;
        int cfd = net_accept(srv->fd, &peer, &len);
        if (cfd < 0) {
            /* EMFILE and friends: leave the connection in the backlog and try next turn. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                trace_event(0, "error", srv->addr, "accept: %s", strerror(errno));
            break;
        }
        accept_one(srv, cfd, (struct sockaddr *)&peer);
    }
    update_accepting(srv);
}

int server_listen(struct server *srv, struct loop *loop, const char *host, int port,
                  server_connection_fn *on_connection, char err[NET_ERR_LEN])
{
    /* user, max_connections, keepalive, nodelay and tls are the caller's settings: kept. */
    srv->loop = loop;
    srv->connections = 0;
    srv->accepted = 0;
    srv->streams = NULL;
    loop_timer_init(&srv->grace, NULL, NULL);
    srv->on_connection = on_connection;
    srv->fd = net_tcp_listen(host, port, 511, err);
    if (srv->fd < 0)
        return -1;
    net_local_addr(srv->fd, srv->addr);
    if (loop_watch(loop, srv->fd, LOOP_READ, on_acceptable, srv) < 0) {
        snprintf(err, NET_ERR_LEN, "watch: %s", strerror(errno));
        close(srv->fd);
        srv->fd = -1;
        return -1;
    }
    return 0;
}

void server_ready(const struct server *srv, const char *prog)
{
    trace_event(0, "listening", srv->addr, "loop=%s", loop_backend_name(srv->loop));
    printf("%s listening on %s\n", prog, srv->addr);
    fflush(stdout);
}

void server_close(struct server *srv)
{
    if (srv->fd < 0)
        return;
    loop_unwatch(srv->loop, srv->fd);
    close(srv->fd);
    srv->fd = -1;
    trace_event(0, "close", srv->addr, "no longer accepting, %zu open", srv->connections);
    maybe_closed(srv);
}

static long on_grace_over(struct loop *loop, void *arg)
{
    server_destroy_all(arg);
    return LOOP_TIMER_STOP;
}

/* Node's 'close' comes once nothing is left: not accepting, no connection open. */
static void maybe_closed(struct server *srv)
{
    if (srv->fd >= 0 || srv->connections > 0)
        return;
    loop_timer_stop(srv->loop, &srv->grace);
    if (srv->on_close) {
        server_close_fn *fn = srv->on_close;
        srv->on_close = NULL;
        fn(srv);
    }
}

void server_shutdown(struct server *srv, uint64_t grace_ms)
{
    if (srv->fd < 0) {
        server_destroy_all(srv);
        return;
    }
    server_close(srv);
    server_end_all(srv);
    server_destroy_after(srv, grace_ms);
}

void server_destroy_after(struct server *srv, uint64_t ms)
{
    loop_timer_init(&srv->grace, on_grace_over, srv);
    loop_timer_start(srv->loop, &srv->grace, ms);
    maybe_closed(srv);
}

void server_end_all(struct server *srv)
{
    for (struct stream *s = srv->streams; s; s = s->next)
        stream_end(s);
}

void server_destroy_all(struct server *srv)
{
    for (struct stream *s = srv->streams; s; s = s->next)
        stream_destroy(s);
}

void server_stream_gone(struct server *srv, struct stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->connections--;
    update_accepting(srv);
    maybe_closed(srv);
}
