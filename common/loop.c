/* loop.c - the event loop: watchers, timers, signals, and the dispatch that ties them together.
 *
 * One turn of the loop:
 *   1. work out how long we may sleep: until the earliest timer, or forever;
 *   2. ask the backend (epoll or poll) which descriptors are ready;
 *   3. call each ready descriptor's watcher, if it still wants that event;
 *   4. call every timer that is due.
 *
 * Try it: every server takes --loop poll or --loop epoll; `strace -e epoll_wait,poll
 * ./bin/tcp-server --loop poll` shows the one system call the whole program waits in.
 */
#include "loop_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NO_SLOT ((size_t)-1)

void *loop_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(enum loop_backend backend)
{
    struct loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
#ifdef __linux__
    loop->ops = backend == LOOP_EPOLL ? &loop_epoll_ops : &loop_poll_ops;
#else
    (void)backend;
    loop->ops = &loop_poll_ops;
#endif
    loop->sig_pipe[0] = loop->sig_pipe[1] = -1;
    loop->now = monotonic_ms();
    if (loop->ops->init(loop) < 0) {
        int saved = errno;
        free(loop);
        errno = saved;
        return NULL;
    }
    return loop;
}

static void signal_pipe_close(struct loop *loop);

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    signal_pipe_close(loop);
    loop->ops->done(loop);
    free(loop->watchers);
    free(loop->fired);
    free(loop->heap);
    free(loop);
}

int loop_backend_parse(const char *name, enum loop_backend *out)
{
    if (strcmp(name, "epoll") == 0) {
#ifdef __linux__
        *out = LOOP_EPOLL;
        return 0;
#else
        return -1;
#endif
    }
    if (strcmp(name, "poll") == 0) {
        *out = LOOP_POLL;
        return 0;
    }
    return -1;
}

const char *loop_backend_name(const struct loop *loop)
{
    return loop->ops->name;
}

uint64_t loop_now(const struct loop *loop)
{
    return loop->now;
}

void loop_fired_reserve(struct loop *loop, size_t n)
{
    if (n <= loop->nfired_cap)
        return;
    loop->fired = loop_xrealloc(loop->fired, n * sizeof *loop->fired);
    loop->nfired_cap = n;
}

/* ---- watchers ---- */

static struct loop_watcher *watcher_slot(struct loop *loop, int fd)
{
    size_t need = (size_t)fd + 1;
    if (need > loop->nwatchers) {
        size_t n = loop->nwatchers ? loop->nwatchers : 64;
        while (n < need)
            n *= 2;
        loop->watchers = loop_xrealloc(loop->watchers, n * sizeof *loop->watchers);
        memset(loop->watchers + loop->nwatchers, 0, (n - loop->nwatchers) * sizeof *loop->watchers);
        for (size_t i = loop->nwatchers; i < n; i++)
            loop->watchers[i].slot = NO_SLOT;
        loop->nwatchers = n;
    }
    return &loop->watchers[fd];
}

/* Counts user watchers that ask for something: loop_run ends when none do and no timer waits. */
static void count_busy(struct loop *loop, const struct loop_watcher *w, int old_mask)
{
    if (w->internal)
        return;
    if (old_mask && !w->mask)
        loop->nbusy--;
    else if (!old_mask && w->mask)
        loop->nbusy++;
}

int loop_watch(struct loop *loop, int fd, int events, loop_io_fn *fn, void *arg)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    struct loop_watcher *w = watcher_slot(loop, fd);
    int old_mask = w->active ? w->mask : 0;
    if (!w->active) {
        w->active = 1;
        w->internal = 0;
        w->gen = ++loop->next_gen;
    }
    w->fn = fn;
    w->arg = arg;
    w->mask = events & (LOOP_READ | LOOP_WRITE);
    if (w->mask != old_mask && loop->ops->update(loop, fd, w) < 0) {
        int saved = errno;
        w->mask = old_mask;
        errno = saved;
        return -1;
    }
    count_busy(loop, w, old_mask);
    return 0;
}

void loop_unwatch(struct loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nwatchers || !loop->watchers[fd].active)
        return;
    struct loop_watcher *w = &loop->watchers[fd];
    int old_mask = w->mask;
    w->mask = 0;
    if (old_mask)
        loop->ops->update(loop, fd, w);
    count_busy(loop, w, old_mask);
    w->active = 0;
    w->fn = NULL;
    w->arg = NULL;
}

void loop_unwatch_closing(struct loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nwatchers || !loop->watchers[fd].active)
        return;
    loop->watchers[fd].closing = 1;
    loop_unwatch(loop, fd);
    loop->watchers[fd].closing = 0;
}

int loop_watching(const struct loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nwatchers || !loop->watchers[fd].active)
        return 0;
    return loop->watchers[fd].mask;
}

/* ---- timers: a binary min-heap ordered by (when, seq) ---- */

static int timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_place(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->slot = i;
}

static void heap_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *arg)
{
    memset(t, 0, sizeof *t);
    t->slot = NO_SLOT;
    t->fn = fn;
    t->arg = arg;
}

int loop_timer_active(const struct loop_timer *t)
{
    return t->slot != NO_SLOT;
}

void loop_timer_stop(struct loop *loop, struct loop_timer *t)
{
    size_t i = t->slot;
    if (i == NO_SLOT)
        return;
    t->slot = NO_SLOT;
    struct loop_timer *last = loop->heap[--loop->heap_len];
    if (i == loop->heap_len)
        return;
    heap_place(loop, i, last);
    if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
        heap_up(loop, i);
    else
        heap_down(loop, i);
}

void loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t ms)
{
    loop_timer_stop(loop, t);
    if (loop->heap_len == loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        loop->heap = loop_xrealloc(loop->heap, loop->heap_cap * sizeof *loop->heap);
    }
    t->when = loop->now + ms;
    t->seq = loop->timer_seq++;
    heap_place(loop, loop->heap_len++, t);
    heap_up(loop, t->slot);
}

/* Runs the timers that are due. A timer (re)started while this runs gets a newer seq, so a
 * zero-delay timer fires once per turn rather than forever. */
static int run_timers(struct loop *loop)
{
    uint64_t seq_limit = loop->timer_seq;
    int ran = 0;
    while (loop->heap_len > 0 && !loop->stopping) {
        struct loop_timer *t = loop->heap[0];
        if (t->when > loop->now || t->seq >= seq_limit)
            break;
        loop_timer_stop(loop, t);
        long again = t->fn(loop, t->arg);
        ran++;
        if (again >= 0 && !loop_timer_active(t))
            loop_timer_start(loop, t, (uint64_t)again);
    }
    return ran;
}

/* How long the backend may sleep: until the first timer is due, or -1 for no limit. */
static int next_timeout(const struct loop *loop, int limit_ms)
{
    if (loop->heap_len == 0)
        return limit_ms;
    uint64_t when = loop->heap[0]->when;
    uint64_t wait = when > loop->now ? when - loop->now : 0;
    if (wait > 1000000)
        wait = 1000000;
    if (limit_ms >= 0 && wait > (uint64_t)limit_ms)
        return limit_ms;
    return (int)wait;
}

/* ---- dispatch ---- */

static int dispatch_io(struct loop *loop, int nfired)
{
    int ran = 0;
    for (int i = 0; i < nfired && !loop->stopping; i++) {
        struct loop_fired *f = &loop->fired[i];
        struct loop_watcher *w = &loop->watchers[f->fd];
        /* An earlier callback in this turn may have unwatched this descriptor, or closed it
         * and watched a new one with the same number: then the generation differs. */
        if (!w->active || w->gen != f->gen)
            continue;
        int events = f->events & w->mask;
        if (!events)
            continue;
        w->fn(loop, f->fd, events, w->arg);
        ran++;
    }
    return ran;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
    /* A loop_stop ends the turn it was called in (and the loop_run around it); left set, it
     * would make every later turn dispatch nothing. loop_run checks it between turns. */
    loop->stopping = 0;
    int n = loop->ops->wait(loop, next_timeout(loop, timeout_ms));
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    loop->now = monotonic_ms();
    int ran = dispatch_io(loop, n);
    loop->now = monotonic_ms();
    ran += run_timers(loop);
    return ran;
}

int loop_run(struct loop *loop)
{
    loop->stopping = 0;
    while (!loop->stopping && (loop->nbusy > 0 || loop->heap_len > 0)) {
        if (loop_run_once(loop, -1) < 0)
            return -1;
    }
    return 0;
}

void loop_stop(struct loop *loop)
{
    loop->stopping = 1;
}

/* ---- signals: the self-pipe trick ---- */

/* The handler may only do async-signal-safe things, so it writes the signal number into a
 * pipe; the loop reads it like any other input and calls the program's callback. */
static int signal_write_fd = -1;

static void on_signal(int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char)signo;
    if (signal_write_fd >= 0 && write(signal_write_fd, &b, 1) < 0) {
        /* The pipe is full: a signal is already waiting to be handled. */
    }
    errno = saved;
}

static void signal_readable(struct loop *loop, int fd, int events, void *arg)
{
    unsigned char b[16];
    ssize_t n = read(fd, b, sizeof b);
    for (ssize_t i = 0; i < n; i++) {
        if (loop->sig_fn)
            loop->sig_fn(loop, b[i], loop->sig_arg);
        else
            loop_stop(loop);
    }
}

static void signal_pipe_close(struct loop *loop)
{
    if (loop->sig_pipe[0] < 0)
        return;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal_write_fd = -1;
    loop_unwatch(loop, loop->sig_pipe[0]);
    close(loop->sig_pipe[0]);
    close(loop->sig_pipe[1]);
    loop->sig_pipe[0] = loop->sig_pipe[1] = -1;
}

static int pipe_nonblock_cloexec(int p[2])
{
    if (pipe(p) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
        fcntl(p[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

int loop_handle_signals(struct loop *loop, loop_signal_fn *fn, void *arg)
{
    signal(SIGPIPE, SIG_IGN);
    loop->sig_fn = fn;
    loop->sig_arg = arg;
    if (loop->sig_pipe[0] >= 0)
        return 0;
    if (pipe_nonblock_cloexec(loop->sig_pipe) < 0)
        return -1;
    if (loop_watch(loop, loop->sig_pipe[0], LOOP_READ, signal_readable, NULL) < 0)
        return -1;
    /* The signal pipe alone must not keep loop_run going. */
    loop->watchers[loop->sig_pipe[0]].internal = 1;
    loop->nbusy--;
    signal_write_fd = loop->sig_pipe[1];

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}
