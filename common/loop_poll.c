/* loop_poll.c - the portable backend: poll(2) over an array of struct pollfd.
 *
 * The array holds one entry per watched descriptor with a non-zero mask; each watcher
 * remembers its position (slot), so changing a mask is O(1), and removing one moves the last
 * entry into the hole. Every wait hands the kernel the whole array and then scans it for
 * revents: simple and everywhere, but O(connections) per turn, which is why Linux programs
 * default to epoll.
 */
#include "loop_internal.h"

#include <poll.h>
#include <stdlib.h>

#define NO_SLOT ((size_t)-1)

struct poll_state {
    struct pollfd *fds;
    size_t len, cap;
};

static int poll_init(struct loop *loop)
{
    loop->backend_state = calloc(1, sizeof(struct poll_state));
    return loop->backend_state ? 0 : -1;
}

static void poll_done(struct loop *loop)
{
    struct poll_state *st = loop->backend_state;
    free(st->fds);
    free(st);
}

static void poll_remove(struct loop *loop, struct poll_state *st, struct loop_watcher *w)
{
    size_t i = w->slot;
    st->fds[i] = st->fds[--st->len];
    if (i < st->len)
        loop->watchers[st->fds[i].fd].slot = i;
    w->slot = NO_SLOT;
}

static int poll_update(struct loop *loop, int fd, struct loop_watcher *w)
{
    struct poll_state *st = loop->backend_state;
    if (w->mask == 0) {
        if (w->slot != NO_SLOT)
            poll_remove(loop, st, w);
        return 0;
    }
    if (w->slot == NO_SLOT) {
        if (st->len == st->cap) {
            st->cap = st->cap ? st->cap * 2 : 64;
            st->fds = loop_xrealloc(st->fds, st->cap * sizeof *st->fds);
            loop_fired_reserve(loop, st->cap);
        }
        w->slot = st->len++;
        st->fds[w->slot].fd = fd;
    }
    st->fds[w->slot].events =
        (short)((w->mask & LOOP_READ ? POLLIN : 0) | (w->mask & LOOP_WRITE ? POLLOUT : 0));
    st->fds[w->slot].revents = 0;
    return 0;
}

static int poll_wait_events(struct loop *loop, int timeout_ms)
{
    struct poll_state *st = loop->backend_state;
    int n = poll(st->fds, (nfds_t)st->len, timeout_ms);
    if (n <= 0)
        return n;
    int nfired = 0;
    for (size_t i = 0; i < st->len && nfired < n; i++) {
        short re = st->fds[i].revents;
        if (!re)
            continue;
        struct loop_fired *f = &loop->fired[nfired++];
        f->fd = st->fds[i].fd;
        f->gen = loop->watchers[f->fd].gen;
        f->events = (re & (POLLIN | POLLERR | POLLHUP | POLLNVAL) ? LOOP_READ : 0) |
                    (re & (POLLOUT | POLLERR | POLLHUP | POLLNVAL) ? LOOP_WRITE : 0);
    }
    return nfired;
}

const struct loop_backend_ops loop_poll_ops = {
    "poll", poll_init, poll_done, poll_update, poll_wait_events,
};
