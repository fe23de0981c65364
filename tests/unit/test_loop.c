/* test_loop.c - the event loop, on both backends: readiness, mask changes, the safety rules of
 * dispatch (unwatch and close-and-reuse in the same turn), timers, loop_run / loop_stop, and
 * signals.
 *
 * Every case runs once with LOOP_EPOLL and once with LOOP_POLL, and the check names say which.
 * The loop is stepped with loop_run_once and a timeout, so a bug fails a check instead of
 * hanging; alarm(20) ends the whole program if something hangs anyway.
 *
 *   make build/default/tests/test_loop && ./build/default/tests/test_loop
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "tap.h"

static enum loop_backend backend;
static const char *bname; /* "epoll" or "poll", in every check name */

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void make_pipe(int p[2])
{
    if (pipe(p) < 0)
        abort();
    set_nonblock(p[0]);
    set_nonblock(p[1]);
}

static void make_pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    set_nonblock(sv[0]);
    set_nonblock(sv[1]);
}

static void close_both(int p[2])
{
    close(p[0]);
    close(p[1]);
}

static struct loop *new_loop(void)
{
    struct loop *loop = loop_new(backend);
    if (!loop)
        abort();
    return loop;
}

/* What an I/O callback saw: how often it ran, and the last descriptor and mask. */
struct seen {
    int calls;
    int fd;
    int events;
};

static void record_io(struct loop *loop, int fd, int events, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    s->fd = fd;
    s->events = events;
}

/* ---- readiness ---- */

static void test_pipe_readiness(void)
{
    struct loop *loop = new_loop();
    int p[2];
    make_pipe(p);
    struct seen rd = {0}, wr = {0};

    loop_watch(loop, p[0], LOOP_READ, record_io, &rd);
    TAP_EQ_INT(loop_run_once(loop, 0), 0, "%s: an empty pipe is not readable", bname);
    TAP_EQ_INT(write(p[1], "x", 1), 1, "%s: write one byte into the pipe", bname);
    TAP_EQ_INT(loop_run_once(loop, 1000), 1, "%s: one callback once the pipe has a byte", bname);
    TAP_OK(rd.calls == 1 && rd.fd == p[0] && rd.events == LOOP_READ,
           "%s: the read end is reported readable (fd %d, events %d)", bname, rd.fd, rd.events);
    loop_unwatch(loop, p[0]);

    loop_watch(loop, p[1], LOOP_WRITE, record_io, &wr);
    TAP_EQ_INT(loop_run_once(loop, 1000), 1, "%s: one callback for the write end", bname);
    TAP_OK(wr.fd == p[1] && wr.events == LOOP_WRITE, "%s: the write end is reported writable",
           bname);
    loop_unwatch(loop, p[1]);

    close_both(p);
    loop_free(loop);
}

static void test_socketpair_readiness(void)
{
    struct loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    struct seen a = {0};

    loop_watch(loop, sv[0], LOOP_READ | LOOP_WRITE, record_io, &a);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(a.events, LOOP_WRITE, "%s: an idle socket is writable, not readable", bname);
    TAP_EQ_INT(write(sv[1], "hi", 2), 2, "%s: the peer writes", bname);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(a.events, LOOP_READ | LOOP_WRITE, "%s: then it is readable and writable", bname);
    TAP_EQ_INT(a.calls, 2, "%s: one callback per turn, both events in one call", bname);

    loop_unwatch(loop, sv[0]);
    close_both(sv);
    loop_free(loop);
}

/* A hung-up peer must wake a reader (its read returns 0) rather than go unnoticed. */
static void test_hangup_is_readable(void)
{
    struct loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    struct seen a = {0};
    loop_watch(loop, sv[0], LOOP_READ, record_io, &a);
    close(sv[1]);
    loop_run_once(loop, 1000);
    TAP_OK(a.calls == 1 && (a.events & LOOP_READ), "%s: a closed peer is reported readable", bname);
    char c;
    TAP_EQ_INT(read(sv[0], &c, 1), 0, "%s: and the read sees end of file", bname);
    loop_unwatch(loop, sv[0]);
    close(sv[0]);
    loop_free(loop);
}

/* ---- mask changes ---- */

static void record_io_other(struct loop *loop, int fd, int events, void *arg)
{
    struct seen *s = arg;
    s->calls += 100;
    s->events = events;
}

static void test_mask_changes(void)
{
    struct loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    struct seen a = {0};
    write(sv[1], "data", 4);

    loop_watch(loop, sv[0], LOOP_READ, record_io, &a);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(a.events, LOOP_READ, "%s: READ mask: only readability reported", bname);

    loop_watch(loop, sv[0], LOOP_WRITE, record_io, &a);
    TAP_EQ_INT(loop_watching(loop, sv[0]), LOOP_WRITE, "%s: loop_watching shows the new mask",
               bname);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(a.events, LOOP_WRITE, "%s: WRITE mask replaces READ", bname);

    loop_watch(loop, sv[0], 0, record_io, &a);
    a.calls = 0;
    TAP_EQ_INT(loop_run_once(loop, 0), 0, "%s: mask 0: no callback though data waits", bname);
    TAP_EQ_INT(loop_watching(loop, sv[0]), 0, "%s: mask 0: loop_watching is 0", bname);
    uint64_t t0 = now_ms();
    TAP_EQ_INT(loop_run(loop), 0, "%s: mask 0 does not keep loop_run going", bname);
    TAP_OK(now_ms() - t0 < 500 && a.calls == 0, "%s: loop_run returned at once", bname);

    loop_watch(loop, sv[0], LOOP_READ | LOOP_WRITE, record_io, &a);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(a.events, LOOP_READ | LOOP_WRITE, "%s: back to READ|WRITE: both reported", bname);

    loop_watch(loop, sv[0], LOOP_READ, record_io_other, &a);
    a.calls = 0;
    loop_run_once(loop, 1000);
    TAP_EQ_INT(a.calls, 100, "%s: watching again with another callback replaces it", bname);

    loop_unwatch(loop, sv[0]);
    a.calls = 0;
    TAP_EQ_INT(loop_run_once(loop, 0), 0, "%s: unwatched: no callback", bname);
    TAP_EQ_INT(loop_watching(loop, sv[0]), 0, "%s: unwatched: loop_watching is 0", bname);
    loop_unwatch(loop, sv[0]);
    loop_unwatch(loop, 1000);
    TAP_OK(1, "%s: unwatching twice, or a descriptor never watched, is harmless", bname);

    TAP_EQ_INT(loop_watch(loop, -1, LOOP_READ, record_io, &a), -1,
               "%s: watching a negative descriptor fails", bname);
    close_both(sv);
    loop_free(loop);
}

/* ---- unwatch and close-and-reuse during dispatch ---- */

/* Two descriptors are ready in the same turn. Whichever callback runs first acts on the other
 * one; the other's event is already in the list the backend returned. */
struct duel {
    int fd[2];      /* the two watched descriptors */
    int calls;      /* callbacks in this turn */
    int victim;     /* the descriptor the first callback acted on */
    int reuse;      /* 1: close the victim and put a new pipe on its number */
    int newpipe[2]; /* the new pipe (its read end has the victim's number) */
    int new_calls;  /* callbacks of the new watcher */
};

static void new_watcher(struct loop *loop, int fd, int events, void *arg)
{
    struct duel *d = arg;
    d->new_calls++;
}

/* Closes fd and opens a pipe whose read end takes the same number. */
static void reuse_number(struct duel *d, int fd)
{
    close(fd);
    make_pipe(d->newpipe);
    if (d->newpipe[0] != fd) {
        dup2(d->newpipe[0], fd);
        close(d->newpipe[0]);
        d->newpipe[0] = fd;
    }
}

static void duel_io(struct loop *loop, int fd, int events, void *arg)
{
    struct duel *d = arg;
    d->calls++;
    if (d->calls > 1)
        return;
    d->victim = fd == d->fd[0] ? d->fd[1] : d->fd[0];
    loop_unwatch(loop, d->victim);
    if (d->reuse) {
        reuse_number(d, d->victim);
        loop_watch(loop, d->newpipe[0], LOOP_READ, new_watcher, d);
    }
}

static void test_unwatch_during_dispatch(void)
{
    struct loop *loop = new_loop();
    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    write(a[1], "a", 1);
    write(b[1], "b", 1);
    struct duel d = {{a[0], b[0]}, 0, -1, 0, {-1, -1}, 0};
    loop_watch(loop, a[0], LOOP_READ, duel_io, &d);
    loop_watch(loop, b[0], LOOP_READ, duel_io, &d);

    TAP_EQ_INT(loop_run_once(loop, 1000), 1, "%s: unwatch in dispatch: one callback ran", bname);
    TAP_EQ_INT(d.calls, 1, "%s: the unwatched descriptor's pending event was dropped", bname);
    TAP_EQ_INT(loop_watching(loop, d.victim), 0, "%s: the victim is no longer watched", bname);
    d.calls = 0;
    loop_run_once(loop, 100);
    TAP_EQ_INT(d.calls, 1, "%s: next turn only the survivor is called", bname);

    loop_unwatch(loop, a[0]);
    loop_unwatch(loop, b[0]);
    close_both(a);
    close_both(b);
    loop_free(loop);
}

static void test_close_and_reuse(void)
{
    struct loop *loop = new_loop();
    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    write(a[1], "a", 1);
    write(b[1], "b", 1);
    struct duel d = {{a[0], b[0]}, 0, -1, 1, {-1, -1}, 0};
    loop_watch(loop, a[0], LOOP_READ, duel_io, &d);
    loop_watch(loop, b[0], LOOP_READ, duel_io, &d);

    loop_run_once(loop, 1000);
    TAP_EQ_INT(d.calls, 1, "%s: reuse: the closed descriptor's own callback did not run", bname);
    TAP_EQ_INT(d.new_calls, 0, "%s: reuse: the stale event did not reach the new watcher", bname);
    TAP_EQ_INT(loop_watching(loop, d.victim), LOOP_READ, "%s: reuse: the new watch is in place",
               bname);

    d.calls = 0;
    loop_run_once(loop, 50);
    TAP_EQ_INT(d.new_calls, 0, "%s: reuse: the empty new pipe is not reported", bname);
    write(d.newpipe[1], "n", 1);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(d.new_calls, 1, "%s: reuse: a byte in the new pipe reaches the new watcher", bname);

    int survivor = d.victim == a[0] ? b[0] : a[0];
    loop_unwatch(loop, survivor);
    loop_unwatch(loop, d.newpipe[0]);
    close(survivor);
    close_both(d.newpipe);
    close(a[1]);
    close(b[1]);
    loop_free(loop);
}

/* ---- timers ---- */

struct tick {
    struct loop_timer t;
    int fires;
    int limit;      /* stop after this many fires */
    long again;     /* what the callback returns while under the limit */
    uint64_t at[8]; /* loop_now at each fire */
    int *order;     /* where to append id (ordering tests) */
    int *norder;
    int id;
    uint64_t restart; /* > 0: restart itself with this delay from inside the callback */
};

static long tick_fn(struct loop *loop, void *arg)
{
    struct tick *k = arg;
    if (k->fires < 8)
        k->at[k->fires] = loop_now(loop);
    k->fires++;
    if (k->order)
        k->order[(*k->norder)++] = k->id;
    if (k->restart && k->fires < k->limit) {
        loop_timer_start(loop, &k->t, k->restart);
        return 1; /* ignored: the timer is already active again */
    }
    return k->fires < k->limit ? k->again : LOOP_TIMER_STOP;
}

static void tick_init(struct tick *k, int limit, long again)
{
    memset(k, 0, sizeof *k);
    loop_timer_init(&k->t, tick_fn, k);
    k->limit = limit;
    k->again = again;
}

/* Steps the loop until *counter reaches want or ms pass. */
static int step_until(struct loop *loop, const int *counter, int want, int ms)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (*counter < want && now_ms() < deadline)
        loop_run_once(loop, 10);
    return *counter >= want;
}

static void test_timer_one_shot(void)
{
    struct loop *loop = new_loop();
    struct tick k;
    tick_init(&k, 1, 0);
    TAP_OK(!loop_timer_active(&k.t), "%s: a new timer is not active", bname);
    loop_run_once(loop, 0);
    uint64_t start = loop_now(loop);
    loop_timer_start(loop, &k.t, 30);
    TAP_OK(loop_timer_active(&k.t), "%s: a started timer is active", bname);
    loop_run_once(loop, 0);
    TAP_EQ_INT(k.fires, 0, "%s: a 30 ms timer has not fired at once", bname);
    TAP_OK(step_until(loop, &k.fires, 1, 2000), "%s: the one-shot timer fired", bname);
    TAP_OK(k.at[0] >= start + 30, "%s: not before its time (%llu ms)", bname,
           (unsigned long long)(k.at[0] - start));
    TAP_OK(k.at[0] < start + 200, "%s: and not much later", bname);
    TAP_OK(!loop_timer_active(&k.t), "%s: a one-shot timer is inactive after firing", bname);
    uint64_t t0 = now_ms();
    loop_run(loop);
    TAP_OK(k.fires == 1 && now_ms() - t0 < 100, "%s: it fires once; loop_run has nothing to do",
           bname);
    loop_free(loop);
}

static void test_timer_repeating(void)
{
    struct loop *loop = new_loop();
    struct tick k;
    tick_init(&k, 3, 10);
    loop_run_once(loop, 0);
    uint64_t start = loop_now(loop);
    loop_timer_start(loop, &k.t, 10);
    TAP_EQ_INT(loop_run(loop), 0, "%s: repeating: loop_run returns 0", bname);
    TAP_EQ_INT(k.fires, 3, "%s: repeating: fired 3 times, then returned LOOP_TIMER_STOP", bname);
    TAP_OK(k.at[1] >= k.at[0] + 10 && k.at[2] >= k.at[1] + 10 && k.at[0] >= start + 10,
           "%s: repeating: each fire at least 10 ms after the previous one", bname);
    TAP_OK(!loop_timer_active(&k.t), "%s: repeating: inactive at the end", bname);
    loop_free(loop);
}

static void test_timer_equal_deadlines(void)
{
    struct loop *loop = new_loop();
    struct tick k[6];
    int order[16], n = 0;
    /* Started in the order 3 1 4 0 5 2 with the same delay, in one turn (one loop time). */
    const int start_order[6] = {3, 1, 4, 0, 5, 2};
    for (int i = 0; i < 6; i++) {
        tick_init(&k[i], 1, 0);
        k[i].order = order;
        k[i].norder = &n;
        k[i].id = i;
    }
    for (int i = 0; i < 6; i++)
        loop_timer_start(loop, &k[start_order[i]].t, 20);
    /* Restarting one moves it to the back of its deadline's queue. */
    loop_timer_start(loop, &k[1].t, 20);
    loop_run(loop);
    const int want[6] = {3, 4, 0, 5, 2, 1};
    TAP_OK(n == 6 && memcmp(order, want, sizeof want) == 0,
           "%s: equal deadlines fire in start order (got %d %d %d %d %d %d)", bname, order[0],
           order[1], order[2], order[3], order[4], order[5]);
    loop_free(loop);
}

static void test_timer_stop_before_fire(void)
{
    struct loop *loop = new_loop();
    struct tick a, b;
    tick_init(&a, 1, 0);
    tick_init(&b, 1, 0);
    loop_timer_start(loop, &a.t, 10);
    loop_timer_start(loop, &b.t, 20);
    loop_timer_stop(loop, &a.t);
    TAP_OK(!loop_timer_active(&a.t), "%s: a stopped timer is inactive", bname);
    loop_timer_stop(loop, &a.t);
    TAP_OK(1, "%s: stopping an inactive timer is harmless", bname);
    loop_run(loop);
    TAP_OK(a.fires == 0 && b.fires == 1, "%s: the stopped timer never fires, the other does",
           bname);
    loop_timer_start(loop, &a.t, 10);
    loop_timer_stop(loop, &a.t);
    uint64_t t0 = now_ms();
    loop_run(loop);
    TAP_OK(a.fires == 0 && now_ms() - t0 < 100,
           "%s: with the only timer stopped, loop_run returns at once", bname);
    loop_free(loop);
}

static void test_timer_restart_in_callback(void)
{
    struct loop *loop = new_loop();
    struct tick k;
    tick_init(&k, 2, 0);
    k.restart = 40;
    loop_timer_start(loop, &k.t, 0);
    loop_run_once(loop, 0);
    TAP_EQ_INT(k.fires, 1, "%s: restart: first fire", bname);
    TAP_OK(loop_timer_active(&k.t), "%s: restarted inside its callback: active", bname);
    TAP_OK(k.t.when == k.at[0] + 40, "%s: with the new delay, not the returned 1 ms", bname);
    TAP_OK(step_until(loop, &k.fires, 2, 2000), "%s: restart: second fire", bname);
    TAP_OK(k.at[1] >= k.at[0] + 40, "%s: restart: second fire after 40 ms (%llu)", bname,
           (unsigned long long)(k.at[1] - k.at[0]));
    loop_free(loop);
}

static long zero_again(struct loop *loop, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

static int restarts_left;

static long zero_restart(struct loop *loop, void *arg)
{
    struct tick *k = arg;
    k->fires++;
    if (--restarts_left > 0)
        loop_timer_start(loop, &k->t, 0);
    return LOOP_TIMER_STOP;
}

static void test_timer_zero_delay(void)
{
    struct loop *loop = new_loop();
    int count = 0;
    struct loop_timer t;
    loop_timer_init(&t, zero_again, &count);
    loop_timer_start(loop, &t, 0);
    int per_turn_ok = 1;
    for (int i = 1; i <= 5; i++) {
        loop_run_once(loop, 1000);
        if (count != i)
            per_turn_ok = 0;
    }
    TAP_OK(per_turn_ok, "%s: a zero-delay timer returning 0 fires once per turn (%d in 5)", bname,
           count);
    loop_timer_stop(loop, &t);

    struct tick k;
    tick_init(&k, 1, 0);
    loop_timer_init(&k.t, zero_restart, &k);
    restarts_left = 1000;
    loop_timer_start(loop, &k.t, 0);
    loop_run_once(loop, 1000);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(k.fires, 2, "%s: one restarting itself with 0 ms fires once per turn", bname);
    loop_timer_stop(loop, &k.t);
    loop_free(loop);
}

/* ---- 10,000 timers: the heap ---- */

#define MANY 10000

struct many {
    struct loop_timer t;
    int fired;
};

static struct many many[MANY];
static uint64_t fired_when[MANY], fired_seq[MANY];
static int nfired;

static long many_fn(struct loop *loop, void *arg)
{
    struct many *m = arg;
    m->fired++;
    if (nfired < MANY) {
        fired_when[nfired] = m->t.when;
        fired_seq[nfired] = m->t.seq;
    }
    nfired++;
    return LOOP_TIMER_STOP;
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Starts all, then stops and restarts them in a random order, with delays up to max_ms.
 * Returns how many are active at the end. */
static int shuffle_timers(struct loop *loop, unsigned max_ms)
{
    for (int i = 0; i < MANY; i++) {
        loop_timer_init(&many[i].t, many_fn, &many[i]);
        many[i].fired = 0;
        loop_timer_start(loop, &many[i].t, rng() % max_ms);
    }
    for (int i = 0; i < 3 * MANY; i++) {
        struct many *m = &many[rng() % MANY];
        if (rng() % 3 == 0)
            loop_timer_stop(loop, &m->t);
        else
            loop_timer_start(loop, &m->t, rng() % max_ms);
    }
    int active = 0;
    for (int i = 0; i < MANY; i++)
        active += loop_timer_active(&many[i].t);
    return active;
}

/* Checks the fire order is strictly increasing in (when, seq) and each active timer fired once
 * while each stopped one did not. */
static void check_many(const char *what, int active, const int *was_active)
{
    int sorted = 1;
    for (int i = 1; i < nfired && i < MANY; i++) {
        if (fired_when[i] < fired_when[i - 1] ||
            (fired_when[i] == fired_when[i - 1] && fired_seq[i] <= fired_seq[i - 1]))
            sorted = 0;
    }
    int exact = 1;
    for (int i = 0; i < MANY; i++)
        if (many[i].fired != was_active[i])
            exact = 0;
    TAP_EQ_INT(nfired, active, "%s: %s: every active timer fired", bname, what);
    TAP_OK(sorted, "%s: %s: in deadline order, ties in start order", bname, what);
    TAP_OK(exact, "%s: %s: each active timer once, no stopped one", bname, what);
}

static void test_many_timers(void)
{
    static int was_active[MANY];
    struct loop *loop = new_loop();
    loop_run_once(loop, 0);

    /* All due by the next turn: one run of the timers pops the whole heap. */
    int active = shuffle_timers(loop, 20);
    for (int i = 0; i < MANY; i++)
        was_active[i] = loop_timer_active(&many[i].t);
    nfired = 0;
    sleep_ms(25);
    loop_run_once(loop, 0);
    check_many("10000 timers due at once", active, was_active);

    /* Spread over 50 ms: they fire over many turns. */
    active = shuffle_timers(loop, 50);
    for (int i = 0; i < MANY; i++)
        was_active[i] = loop_timer_active(&many[i].t);
    nfired = 0;
    uint64_t t0 = now_ms();
    loop_run(loop);
    check_many("10000 timers over 50 ms", active, was_active);
    TAP_OK(now_ms() - t0 < 1000, "%s: loop_run returned when the last one fired", bname);
    loop_free(loop);
}

/* ---- loop_run and loop_stop ---- */

static void stop_io(struct loop *loop, int fd, int events, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    loop_stop(loop);
}

static long stop_timer(struct loop *loop, void *arg)
{
    (*(int *)arg)++;
    loop_stop(loop);
    return LOOP_TIMER_STOP;
}

static void test_loop_stop(void)
{
    struct loop *loop = new_loop();
    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    write(a[1], "a", 1);
    write(b[1], "b", 1);
    struct seen s = {0};
    loop_watch(loop, a[0], LOOP_READ, stop_io, &s);
    loop_watch(loop, b[0], LOOP_READ, stop_io, &s);
    uint64_t t0 = now_ms();
    TAP_EQ_INT(loop_run(loop), 0, "%s: loop_stop: loop_run returns 0", bname);
    TAP_OK(now_ms() - t0 < 500, "%s: loop_stop: promptly", bname);
    TAP_EQ_INT(s.calls, 1, "%s: loop_stop: no further callback in the same turn", bname);

    /* A stopped loop must still step: the stop applied to that loop_run. */
    s.calls = 0;
    loop_watch(loop, a[0], LOOP_READ, record_io, &s);
    loop_watch(loop, b[0], LOOP_READ, record_io, &s);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(s.calls, 2, "%s: loop_run_once after loop_stop dispatches again", bname);
    loop_unwatch(loop, a[0]);
    loop_unwatch(loop, b[0]);

    int fired = 0, other = 0;
    struct loop_timer t1, t2;
    loop_timer_init(&t1, stop_timer, &fired);
    loop_timer_init(&t2, zero_again, &other);
    loop_timer_start(loop, &t1, 5);
    loop_timer_start(loop, &t2, 5);
    loop_run(loop);
    TAP_OK(fired == 1 && other == 0, "%s: loop_stop in a timer: the next due timer waits", bname);
    loop_run_once(loop, 1000);
    TAP_EQ_INT(other, 1, "%s: and runs on the next turn", bname);
    loop_timer_stop(loop, &t2);

    close_both(a);
    close_both(b);
    loop_free(loop);
}

static void unwatch_self(struct loop *loop, int fd, int events, void *arg)
{
    (*(int *)arg)++;
    loop_unwatch(loop, fd);
}

static void test_loop_run_ends(void)
{
    struct loop *loop = new_loop();
    uint64_t t0 = now_ms();
    TAP_EQ_INT(loop_run(loop), 0, "%s: loop_run with nothing to do returns 0", bname);
    TAP_OK(now_ms() - t0 < 100, "%s: at once", bname);

    int sv[2], calls = 0;
    make_pair(sv);
    write(sv[1], "x", 1);
    struct tick k;
    tick_init(&k, 1, 0);
    loop_watch(loop, sv[0], LOOP_READ, unwatch_self, &calls);
    loop_timer_start(loop, &k.t, 20);
    loop_run(loop);
    TAP_OK(calls == 1 && k.fires == 1,
           "%s: loop_run returns once the last watcher and timer are gone", bname);
    close_both(sv);
    loop_free(loop);
}

static void test_backend_names(void)
{
    struct loop *loop = new_loop();
    TAP_EQ_STR(loop_backend_name(loop), bname, "%s: loop_backend_name", bname);
    enum loop_backend b = LOOP_POLL;
    TAP_OK(loop_backend_parse(bname, &b) == 0 && b == backend, "%s: loop_backend_parse", bname);
    TAP_EQ_INT(loop_backend_parse("select", &b), -1, "%s: an unknown backend name is refused",
               bname);
    loop_free(loop);
}

/* ---- signals ---- */

struct sig_seen {
    int calls;
    int signo;
};

static void on_sig(struct loop *loop, int signo, void *arg)
{
    struct sig_seen *s = arg;
    s->calls++;
    s->signo = signo;
}

static void test_signals(void)
{
    struct loop *loop = new_loop();
    struct sig_seen s = {0, 0};
    TAP_EQ_INT(loop_handle_signals(loop, on_sig, &s), 0, "%s: loop_handle_signals", bname);
    uint64_t t0 = now_ms();
    loop_run(loop);
    TAP_OK(now_ms() - t0 < 100, "%s: the signal pipe alone does not keep loop_run going", bname);

    raise(SIGTERM);
    TAP_EQ_INT(s.calls, 0, "%s: SIGTERM: nothing called from the handler itself", bname);
    step_until(loop, &s.calls, 1, 2000);
    TAP_OK(s.calls == 1 && s.signo == SIGTERM, "%s: SIGTERM: the callback ran from the loop",
           bname);
    raise(SIGINT);
    step_until(loop, &s.calls, 2, 2000);
    TAP_OK(s.calls == 2 && s.signo == SIGINT, "%s: SIGINT too", bname);

    /* Without a callback a signal stops loop_run. */
    loop_handle_signals(loop, NULL, NULL);
    struct tick k;
    tick_init(&k, 1, 0);
    loop_timer_start(loop, &k.t, 5000);
    raise(SIGTERM);
    t0 = now_ms();
    loop_run(loop);
    TAP_OK(now_ms() - t0 < 1000 && k.fires == 0, "%s: with fn NULL a signal stops loop_run", bname);
    loop_timer_stop(loop, &k.t);

    int sv[2];
    make_pair(sv);
    close(sv[1]);
    errno = 0;
    ssize_t n = write(sv[0], "x", 1);
    TAP_OK(n == -1 && errno == EPIPE, "%s: SIGPIPE ignored: writing to a closed peer is EPIPE",
           bname);
    close(sv[0]);
    loop_free(loop);
}

static void run_all(enum loop_backend b, const char *name)
{
    backend = b;
    bname = name;
    test_backend_names();
    test_pipe_readiness();
    test_socketpair_readiness();
    test_hangup_is_readable();
    test_mask_changes();
    test_unwatch_during_dispatch();
    test_close_and_reuse();
    test_timer_one_shot();
    test_timer_repeating();
    test_timer_equal_deadlines();
    test_timer_stop_before_fire();
    test_timer_restart_in_callback();
    test_timer_zero_delay();
    test_many_timers();
    test_loop_stop();
    test_loop_run_ends();
    test_signals();
}

int main(void)
{
    alarm(20);
    run_all(LOOP_EPOLL, "epoll");
    run_all(LOOP_POLL, "poll");
    return tap_done();
}
