/* loop_internal.h - what loop.c shares with its backends (loop_epoll.c, loop_poll.c).
 * Not part of the public interface: programs include loop.h only.
 *
 * A backend keeps the kernel informed of which descriptors to watch and waits for them. It
 * reports what fired as a list of struct loop_fired; loop.c then calls the watchers, checking
 * each one's generation first, so that an event for a descriptor closed (and perhaps reused)
 * earlier in the same turn is dropped.
 */
#ifndef WIRELAB_LOOP_INTERNAL_H
#define WIRELAB_LOOP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct loop_watcher {
    loop_io_fn *fn;
    void *arg;
    int mask;      /* LOOP_READ | LOOP_WRITE asked for; 0 when idle */
    int active;    /* watched at all (loop_watch called, loop_unwatch not yet) */
    int internal;  /* the loop's own (signal pipe): does not keep loop_run going */
    uint32_t gen;  /* changes every time the descriptor starts being watched */
    size_t slot;   /* backend's private index (poll: position in the pollfd array) */
    int in_kernel; /* backend's private flag (epoll: registered with epoll_ctl) */
    int closing;   /* loop_unwatch_closing: the descriptor is about to be closed */
};

struct loop_fired {
    int fd;
    int events;
    uint32_t gen;
};

struct loop_backend_ops {
    const char *name;
    int (*init)(struct loop *loop);
    void (*done)(struct loop *loop);
    /* Tells the kernel (or the pollfd array) that fd's mask changed from old to w->mask. */
    int (*update)(struct loop *loop, int fd, struct loop_watcher *w);
    /* Waits up to timeout_ms and fills loop->fired; returns how many, or -1 with errno. */
    int (*wait)(struct loop *loop, int timeout_ms);
};

struct loop {
    const struct loop_backend_ops *ops;
    void *backend_state;

    struct loop_watcher *watchers; /* indexed by fd */
    size_t nwatchers;              /* allocated entries */
    size_t nbusy;                  /* user watchers with a non-zero mask */
    uint32_t next_gen;

    struct loop_fired *fired;
    size_t nfired_cap;

    struct loop_timer **heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;

    uint64_t now;
    int stopping;

    int sig_pipe[2];
    loop_signal_fn *sig_fn;
    void *sig_arg;
};

extern const struct loop_backend_ops loop_epoll_ops;
extern const struct loop_backend_ops loop_poll_ops;

/* Makes room for n fired events in loop->fired. */
void loop_fired_reserve(struct loop *loop, size_t n);

/* Aborts with a message when memory runs out. */
void *loop_xrealloc(void *p, size_t n);

#endif
