/* test_buf.c - the growable byte buffer and its slices.
 *
 * What a connection relies on: bytes come out exactly as they went in, however they were
 * appended (append, reserve + commit, printf of any length) and consumed; an emptied buffer
 * holds no memory; the consumed front is reused before the buffer grows; buf_read_fd and
 * buf_write_fd move exactly what the kernel moved.
 *
 *   make build/default/tests/test_buf && ./build/default/tests/test_buf
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"

static void make_pipe(int p[2])
{
    if (pipe(p) < 0)
        abort();
    for (int i = 0; i < 2; i++)
        fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
}

/* A recognisable byte for position i, so a shifted or repeated byte shows. */
static char pattern(size_t i)
{
    return (char)((i * 7 + i / 251) & 0xff);
}

static int has_pattern(const char *p, size_t len, size_t from)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(from + i))
            return 0;
    return 1;
}

static void test_empty(void)
{
    struct buf a = BUF_INIT, b;
    buf_init(&b);
    TAP_OK(a.mem == NULL && buf_len(&a) == 0, "BUF_INIT is empty and holds no memory");
    TAP_OK(b.mem == NULL && b.cap == 0 && buf_len(&b) == 0, "buf_init likewise");
    buf_append(&b, "", 0);
    TAP_OK(b.mem == NULL, "appending nothing allocates nothing");
    buf_consume(&b, 0);
    TAP_OK(b.mem == NULL && buf_len(&b) == 0, "consuming nothing from nothing is harmless");
    buf_free(&b);
    buf_free(&b);
    TAP_OK(b.mem == NULL, "buf_free twice is harmless");
}

static void test_append_consume(void)
{
    struct buf b = BUF_INIT;
    buf_append(&b, "hello", 5);
    buf_append_str(&b, ", world");
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "hello, world", 12, "append and append_str");
    buf_append(&b, "\0\xff", 2);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "hello, world\0\xff", 14, "binary bytes, NUL too");

    buf_consume(&b, 7);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "world\0\xff", 7, "consume takes from the front");
    TAP_EQ_INT(b.start, 7, "consuming only moves start");

    buf_consume(&b, 7);
    TAP_OK(b.mem == NULL && b.cap == 0 && b.start == 0 && b.end == 0,
           "consuming to empty frees the memory (mem == NULL)");

    buf_append(&b, "abc", 3);
    buf_consume(&b, 100);
    TAP_OK(b.mem == NULL && buf_len(&b) == 0, "consuming more than is held empties and frees");

    buf_append(&b, "again", 5);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "again", 5, "a freed buffer is usable again");
    buf_clear(&b);
    TAP_OK(b.mem == NULL && buf_len(&b) == 0, "buf_clear empties and frees");
}

static void test_growth(void)
{
    struct buf b = BUF_INIT;
    size_t total = 0;
    int ok = 1;
    /* Pieces of awkward sizes, with some consumed now and then, across many doublings. */
    size_t consumed = 0;
    for (size_t piece = 1; total < 300000; piece = piece * 3 % 4099 + 1) {
        char tmp[4100];
        for (size_t i = 0; i < piece; i++)
            tmp[i] = pattern(total + i);
        buf_append(&b, tmp, piece);
        total += piece;
        if (piece % 5 == 0) {
            size_t n = buf_len(&b) / 3;
            if (!has_pattern(buf_data(&b), n, consumed))
                ok = 0;
            buf_consume(&b, n);
            consumed += n;
        }
        if (b.cap < b.end)
            ok = 0;
    }
    TAP_EQ_INT(buf_len(&b), total - consumed, "growth: the length adds up");
    TAP_OK(ok && has_pattern(buf_data(&b), buf_len(&b), consumed),
           "growth: %zu bytes appended in pieces come out in order", total);
    buf_free(&b);

    char *big = malloc(1 << 20);
    for (size_t i = 0; i < 1 << 20; i++)
        big[i] = pattern(i);
    buf_append(&b, big, 1 << 20);
    TAP_OK(b.cap >= 1 << 20 && has_pattern(buf_data(&b), buf_len(&b), 0),
           "one 1 MiB append in one go");
    buf_free(&b);
    free(big);
}

static void test_reserve_commit(void)
{
    struct buf b = BUF_INIT;
    char *p = buf_reserve(&b, 10);
    TAP_OK(p != NULL && b.cap - b.end >= 10, "reserve makes room for at least n bytes");
    TAP_EQ_INT(buf_len(&b), 0, "reserve alone adds no bytes");
    memcpy(p, "0123456789", 10);
    buf_commit(&b, 4);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "0123", 4, "commit counts only what was written");

    p = buf_reserve(&b, 1000);
    TAP_OK(b.cap - b.end >= 1000, "reserve beyond the capacity grows the buffer");
    TAP_OK(p == b.mem + b.end, "and returns the end of the data");
    memset(p, 'z', 1000);
    buf_commit(&b, 1000);
    TAP_OK(buf_len(&b) == 1004 && memcmp(buf_data(&b), "0123", 4) == 0 && buf_data(&b)[1003] == 'z',
           "the old bytes survive the growth");
    buf_free(&b);
}

/* Enough room once the consumed front is given back: the bytes move, no allocation. */
static void test_reclaim_front(void)
{
    struct buf b = BUF_INIT;
    char tmp[200];
    for (size_t i = 0; i < sizeof tmp; i++)
        tmp[i] = pattern(i);
    buf_append(&b, tmp, 200);
    size_t cap = b.cap;
    char *mem = b.mem;
    buf_consume(&b, 150);
    TAP_OK(b.cap - b.end < 100, "reclaim: not enough room at the end (%zu)", b.cap - b.end);
    buf_reserve(&b, 100);
    TAP_OK(b.mem == mem && b.cap == cap, "reclaim: same memory, same capacity");
    TAP_EQ_INT(b.start, 0, "reclaim: the bytes moved to the front");
    TAP_OK(buf_len(&b) == 50 && has_pattern(buf_data(&b), 50, 150), "reclaim: bytes intact");
    TAP_OK(b.cap - b.end >= 100, "reclaim: the room asked for is there");
    buf_free(&b);

    /* Mostly unconsumed: grows instead, still keeping the bytes. */
    buf_append(&b, tmp, 200);
    buf_consume(&b, 50);
    buf_reserve(&b, 100);
    TAP_OK(buf_len(&b) == 150 && has_pattern(buf_data(&b), 150, 50) && b.start == 0,
           "a small consumed front: bytes intact after making room");
    TAP_OK(b.cap - b.end >= 100, "and the room asked for is there");
    buf_free(&b);
}

static void vprintf_helper(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

static void test_printf(void)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s %d", "answer", 42);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "answer 42", 9, "printf: short text, no NUL kept");
    buf_printf(&b, "%c", '!');
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "answer 42!", 10, "printf appends");
    buf_free(&b);

    buf_printf(&b, "%s", "");
    TAP_OK(b.mem == NULL && buf_len(&b) == 0, "printf of nothing appends nothing");

    char longs[1001], want[1100];
    for (int i = 0; i < 1000; i++)
        longs[i] = (char)('a' + i % 26);
    longs[1000] = '\0';
    int n = snprintf(want, sizeof want, "<%s|%05d|%x>", longs, 7, 0xbeef);
    buf_printf(&b, "<%s|%05d|%x>", longs, 7, 0xbeef);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), want, (size_t)n, "printf: %d bytes (> 256) in one go", n);
    buf_consume(&b, 500);
    buf_printf(&b, "<%s|%05d|%x>", longs, 7, 0xbeef);
    TAP_OK(buf_len(&b) == (size_t)n * 2 - 500 && memcmp(buf_data(&b), want + 500, n - 500) == 0 &&
               memcmp(buf_data(&b) + n - 500, want, (size_t)n) == 0,
           "printf: a long string after a consumed front");
    buf_free(&b);

    /* Exactly filling the room (text + the NUL vsnprintf writes), then one byte more. */
    char fill[300];
    memset(fill, 'q', sizeof fill);
    buf_append(&b, fill, 200);
    size_t room = b.cap - b.end;
    char text[300];
    memset(text, 'r', room - 1);
    text[room - 1] = '\0';
    buf_printf(&b, "%s", text);
    TAP_OK(buf_len(&b) == 200 + room - 1 && buf_data(&b)[buf_len(&b) - 1] == 'r' &&
               buf_data(&b)[199] == 'q',
           "printf: text that just fits with its NUL");
    buf_printf(&b, "%s", "st");
    TAP_EQ_MEM(buf_data(&b) + buf_len(&b) - 3, 3, "rst", 3, "printf: then growing past it");
    buf_free(&b);

    vprintf_helper(&b, "%d-%d-%d", 1, 2, 3);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "1-2-3", 5, "buf_vprintf through a va_list");
    buf_free(&b);
}

static void test_read_fd(void)
{
    struct buf b = BUF_INIT;
    int p[2];
    make_pipe(p);
    char tmp[5000];
    for (size_t i = 0; i < sizeof tmp; i++)
        tmp[i] = pattern(i);
    TAP_EQ_INT(write(p[1], tmp, sizeof tmp), 5000, "read_fd: 5000 bytes in the pipe");

    TAP_EQ_INT(buf_read_fd(&b, p[0], 4096), 4096, "read_fd: at most max bytes");
    TAP_EQ_INT(buf_read_fd(&b, p[0], 4096), 904, "read_fd: then the rest");
    TAP_OK(buf_len(&b) == 5000 && has_pattern(buf_data(&b), 5000, 0), "read_fd: appended in order");
    errno = 0;
    TAP_OK(buf_read_fd(&b, p[0], 4096) == -1 && errno == EAGAIN,
           "read_fd: an empty non-blocking pipe gives -1 EAGAIN");
    TAP_EQ_INT(buf_len(&b), 5000, "read_fd: a failed read adds nothing");

    buf_consume(&b, 4999);
    write(p[1], "xyz", 3);
    TAP_EQ_INT(buf_read_fd(&b, p[0], 0), 1, "read_fd: max 0 reads one byte");
    TAP_EQ_INT(buf_read_fd(&b, p[0], 100), 2, "read_fd: the remaining two");
    TAP_OK(buf_len(&b) == 4 && buf_data(&b)[0] == pattern(4999) &&
               memcmp(buf_data(&b) + 1, "xyz", 3) == 0,
           "read_fd: appends after bytes already held");
    close(p[1]);
    TAP_EQ_INT(buf_read_fd(&b, p[0], 100), 0, "read_fd: end of file returns 0");
    TAP_EQ_INT(buf_len(&b), 4, "read_fd: and adds nothing");
    close(p[0]);
    buf_free(&b);
}

static void test_write_fd(void)
{
    struct buf b = BUF_INIT;
    int p[2];
    make_pipe(p);
    TAP_EQ_INT(buf_write_fd(&b, p[1]), 0, "write_fd: an empty buffer writes nothing");

    size_t total = 200000;
    char *big = malloc(total), *got = malloc(total);
    for (size_t i = 0; i < total; i++)
        big[i] = pattern(i);
    buf_append(&b, big, total);
    size_t have = 0;
    int rounds = 0, partial = 0;
    while (buf_len(&b) > 0 && rounds < 1000) {
        ssize_t n = buf_write_fd(&b, p[1]);
        if (n > 0 && buf_len(&b) > 0)
            partial = 1;
        if (n > 0 && buf_len(&b) > 0 && buf_data(&b)[0] != pattern(total - buf_len(&b)))
            break;
        ssize_t r;
        while ((r = read(p[0], got + have, total - have)) > 0)
            have += (size_t)r;
        rounds++;
    }
    TAP_OK(partial, "write_fd: the pipe took part of it at a time");
    TAP_OK(have == total && memcmp(got, big, total) == 0,
           "write_fd: every byte arrived once, in order");
    TAP_OK(b.mem == NULL, "write_fd: the emptied buffer freed its memory");

    buf_append(&b, "abc", 3);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    TAP_OK(buf_write_fd(&b, p[1]) == -1 && errno == EPIPE,
           "write_fd: a closed reader gives -1 EPIPE");
    TAP_EQ_INT(buf_len(&b), 3, "write_fd: a failed write consumes nothing");
    close(p[1]);
    buf_free(&b);
    free(big);
    free(got);
}

static void test_slices(void)
{
    struct slice s = slice_from("Content-Length");
    TAP_OK(s.len == 14 && memcmp(s.ptr, "Content-Length", 14) == 0, "slice_from");
    struct slice none = slice_from(NULL);
    TAP_OK(none.ptr == NULL && none.len == 0, "slice_from(NULL) is empty");
    TAP_OK(slice_eq(none, ""), "an empty slice equals \"\"");
    TAP_OK(slice_eq_nocase(none, ""), "an empty slice equals \"\" ignoring case");
    TAP_OK(!slice_eq(none, "x"), "an empty slice differs from \"x\"");

    TAP_OK(slice_eq(s, "Content-Length"), "slice_eq: exact");
    TAP_OK(!slice_eq(s, "content-length"), "slice_eq: case matters");
    TAP_OK(!slice_eq(s, "Content-Lengt"), "slice_eq: a prefix is not equal");
    TAP_OK(!slice_eq(s, "Content-Lengths"), "slice_eq: nor a longer string");
    TAP_OK(slice_eq_nocase(s, "cOnTeNt-LeNgTh"), "slice_eq_nocase: case ignored");
    TAP_OK(!slice_eq_nocase(s, "content-lengtx"), "slice_eq_nocase: other letters differ");

    /* Only A-Z fold: '@' and '`', '[' and '{', Latin-1 'Ä' and 'ä' stay different. */
    struct slice at = {"@[", 2};
    TAP_OK(!slice_eq_nocase(at, "`{"), "slice_eq_nocase: folds letters only, not @[ to `{");
    struct slice latin = {"\xc4", 1};
    TAP_OK(!slice_eq_nocase(latin, "\xe4"), "slice_eq_nocase: ASCII only (no Latin-1 folding)");

    /* A slice into the middle of bytes that are not NUL-terminated. */
    const char raw[] = {'G', 'E', 'T', ' ', '/'};
    struct slice method = {raw, 3};
    TAP_OK(slice_eq(method, "GET") && slice_eq_nocase(method, "get"),
           "a slice of unterminated bytes compares by its length");
}

int main(void)
{
    alarm(20);
    test_empty();
    test_append_consume();
    test_growth();
    test_reserve_commit();
    test_reclaim_front();
    test_printf();
    test_read_fd();
    test_write_fd();
    test_slices();
    return tap_done();
}
