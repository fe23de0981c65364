/* loop.h - the event loop every wirelab program runs on.
 *
 * One thread, one loop. The loop watches file descriptors for readability and writability,
 * runs timers, and turns SIGINT/SIGTERM into an ordinary callback so a program can shut down
 * between two events instead of in the middle of one.
 *
 * Two backends implement the same few functions: epoll (Linux, the default) and poll(2), the
 * portable one, which is the simplest to read. Choose with loop_new(LOOP_POLL) or, on the
 * command line of every server, --loop poll.
 *
 * Safety during dispatch: a callback may unwatch or close any descriptor, including one whose
 * event is still waiting in the same turn; the loop re-checks each watcher before calling it.
 * When a descriptor is closed and its number is reused (accept returns the same number) in the
 * same turn, events reported for the old descriptor are not delivered to the new watcher: each
 * watch carries a generation number that the event must match.
 *
 * Timers are intrusive: the caller owns a struct loop_timer (usually inside a connection), so
 * starting and stopping one never allocates. They live in a binary min-heap, so thousands of
 * idle-connection timers cost O(log n) each.
 */
#ifndef WIRELAB_LOOP_H
#define WIRELAB_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct loop;

enum { LOOP_READ = 1, LOOP_WRITE = 2 };

enum loop_backend { LOOP_EPOLL, LOOP_POLL };

/* Called when fd is ready; events is a mask of LOOP_READ / LOOP_WRITE. An error or hang-up on
 * the descriptor is reported as whichever of the two the watcher asked for, so the callback's
 * read() or write() sees the error itself. */
typedef void loop_io_fn(struct loop *loop, int fd, int events, void *arg);

/* Called when a timer expires. Return the delay in milliseconds until it should fire again, or
 * LOOP_TIMER_STOP. A callback that frees the memory holding its timer must return
 * LOOP_TIMER_STOP. A callback may also restart its own timer with loop_timer_start; then the
 * return value is ignored. */
typedef long loop_timer_fn(struct loop *loop, void *arg);
#define LOOP_TIMER_STOP (-1L)

/* Called from the loop (never from the signal handler) after SIGINT or SIGTERM. */
typedef void loop_signal_fn(struct loop *loop, int signo, void *arg);

struct loop_timer {
    uint64_t when; /* loop time (ms) at which it fires; valid while active */
    uint64_t seq;  /* tie-breaker: timers due at the same time fire in start order */
    size_t slot;   /* index in the heap, or (size_t)-1 when not active */
    loop_timer_fn *fn;
    void *arg;
};

/* Creates a loop with the given backend. Returns NULL with errno set on failure. */
struct loop *loop_new(enum loop_backend backend);

/* Closes the backend and frees the loop. Watched descriptors are not closed. */
void loop_free(struct loop *loop);

/* "epoll" or "poll" -> backend. Returns 0, or -1 for an unknown name. */
int loop_backend_parse(const char *name, enum loop_backend *out);

/* The backend's name, for traces and the ready line's neighbours. */
const char *loop_backend_name(const struct loop *loop);

/* Sets the events (LOOP_READ | LOOP_WRITE) that fd is watched for, replacing any earlier mask.
 * A mask of 0 keeps the watcher but asks for nothing. Returns 0, or -1 with errno. */
int loop_watch(struct loop *loop, int fd, int events, loop_io_fn *fn, void *arg);

/* Stops watching fd. Call it before close(fd). Safe on a descriptor that is not watched. */
void loop_unwatch(struct loop *loop, int fd);

/* loop_unwatch for a descriptor that the caller closes right after, and that has not been
 * duplicated (dup, fork): epoll forgets a socket by itself when its last descriptor is
 * closed, so the backend is not told, which saves a system call per connection closed. */
void loop_unwatch_closing(struct loop *loop, int fd);

/* The mask fd is currently watched for (0 when not watched). */
int loop_watching(const struct loop *loop, int fd);

/* Initialises a timer (not yet active). */
void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *arg);

/* Starts (or restarts) t to fire after ms milliseconds (0 = at the next turn). */
void loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t ms);

/* Stops t if it is active. Safe on an inactive timer. */
void loop_timer_stop(struct loop *loop, struct loop_timer *t);

/* Whether t is waiting to fire. */
int loop_timer_active(const struct loop_timer *t);

/* Monotonic milliseconds, updated once per turn of the loop (cheap to call). */
uint64_t loop_now(const struct loop *loop);

/* Installs handlers for SIGINT and SIGTERM that wake the loop and call fn(loop, signo, arg)
 * from the loop. With fn NULL the loop just stops. Also ignores SIGPIPE, so that writing to a
 * socket the peer has closed returns EPIPE instead of killing the program. */
int loop_handle_signals(struct loop *loop, loop_signal_fn *fn, void *arg);

/* Runs until loop_stop is called, or until there is nothing left to wait for (no watched
 * descriptor asking for events and no active timer). Returns 0, or -1 with errno if the
 * backend failed. */
int loop_run(struct loop *loop);

/* Makes loop_run return after the current callback. */
void loop_stop(struct loop *loop);

/* Runs one turn: waits at most timeout_ms (-1: until something happens) and dispatches.
 * Returns the number of callbacks run, or -1 with errno. Tests use it to step the loop. */
int loop_run_once(struct loop *loop, int timeout_ms);

#endif
