/* loop_epoll.c - the Linux backend: the kernel keeps the watch list.
 *
 * With poll(2) the program hands the kernel the whole list of descriptors on every call; with
 * epoll it registers each descriptor once (epoll_ctl) and epoll_wait returns only the ready
 * ones, so waiting costs the same with ten connections or ten thousand. The watch is
 * level-triggered, like poll: a descriptor is reported for as long as it stays readable.
 *
 * Each registration carries the descriptor and the watcher's generation in its 64-bit user
 * data, so loop.c can tell an event for a descriptor closed earlier in the turn.
 */
#ifdef __linux__
#include "loop_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EPOLL_BATCH 256

struct epoll_state {
    int epfd;
    struct epoll_event events[EPOLL_BATCH];
};

static int epoll_init(struct loop *loop)
{
    struct epoll_state *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd < 0) {
        free(st);
        return -1;
    }
    loop->backend_state = st;
    loop_fired_reserve(loop, EPOLL_BATCH);
    return 0;
}

static void epoll_done(struct loop *loop)
{
    struct epoll_state *st = loop->backend_state;
    close(st->epfd);
    free(st);
}

static int epoll_update(struct loop *loop, int fd, struct loop_watcher *w)
{
    struct epoll_state *st = loop->backend_state;
    if (w->mask == 0) {
        /* Deregister rather than keep an empty mask: a hung-up socket would otherwise still
         * report EPOLLHUP on every wait. A descriptor about to be closed needs no telling: the
         * close takes it out of the epoll set. */
        if (w->in_kernel && !w->closing && epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 &&
            errno != EBADF)
            return -1;
        w->in_kernel = 0;
        return 0;
    }
    struct epoll_event ev = {0};
    ev.events = (w->mask & LOOP_READ ? EPOLLIN : 0) | (w->mask & LOOP_WRITE ? EPOLLOUT : 0);
    ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)w->gen << 32;
    if (epoll_ctl(st->epfd, w->in_kernel ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
        /* A descriptor closed without loop_unwatch and reused: the kernel forgot it. */
        if (errno != ENOENT || epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            return -1;
    }
    w->in_kernel = 1;
    return 0;
}

static int epoll_wait_events(struct loop *loop, int timeout_ms)
{
    struct epoll_state *st = loop->backend_state;
    int n = epoll_wait(st->epfd, st->events, EPOLL_BATCH, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t e = st->events[i].events;
        struct loop_fired *f = &loop->fired[i];
        f->fd = (int)(uint32_t)st->events[i].data.u64;
        f->gen = (uint32_t)(st->events[i].data.u64 >> 32);
        /* Errors and hang-ups wake both directions; the read or write call sees the cause. */
        f->events = (e & (EPOLLIN | EPOLLERR | EPOLLHUP) ? LOOP_READ : 0) |
                    (e & (EPOLLOUT | EPOLLERR | EPOLLHUP) ? LOOP_WRITE : 0);
    }
    return n;
}

const struct loop_backend_ops loop_epoll_ops = {
    "epoll", epoll_init, epoll_done, epoll_update, epoll_wait_events,
};
#endif
