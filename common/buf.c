/* buf.c - the growable byte buffer every connection reads into and writes from.
 *
 * Small enough to check by eye: the bytes are mem[start, end). Room is made at the end by
 * first sliding the bytes back to the front (when that frees enough) and otherwise by doubling
 * the allocation.
 */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

void buf_init(struct buf *b)
{
    memset(b, 0, sizeof *b);
}

void buf_free(struct buf *b)
{
    free(b->mem);
    buf_init(b);
}

void buf_clear(struct buf *b)
{
    buf_free(b);
}

char *buf_reserve(struct buf *b, size_t n)
{
    if (b->cap - b->end >= n)
        return b->mem + b->end;
    size_t len = buf_len(b);
    if (b->start > 0 && b->cap - len >= n && b->start >= len) {
        /* Enough room once the consumed front is reclaimed, and the move is cheap. */
        memmove(b->mem, b->mem + b->start, len);
    } else {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - len < n) {
            if (cap > (size_t)-1 / 2) {
                fprintf(stderr, "buffer too large\n");
                abort();
            }
            cap *= 2;
        }
        char *mem = xrealloc(NULL, cap);
        if (len)
            memcpy(mem, b->mem + b->start, len);
        free(b->mem);
        b->mem = mem;
        b->cap = cap;
    }
    b->start = 0;
    b->end = len;
    return b->mem + b->end;
}

void buf_commit(struct buf *b, size_t n)
{
    b->end += n;
}

void buf_append(struct buf *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    memcpy(buf_reserve(b, n), data, n);
    b->end += n;
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n <= 0)
        return;
    /* vsnprintf writes a terminating NUL; reserve room for it but do not count it. */
    char *dst = buf_reserve(b, (size_t)n + 1);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    b->end += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= buf_len(b)) {
        /* Empty: give the memory back, so an idle connection costs nothing here. */
        buf_free(b);
        return;
    }
    b->start += n;
}

ssize_t buf_read_fd(struct buf *b, int fd, size_t max)
{
    if (max == 0)
        max = 1;
    char *dst = buf_reserve(b, max);
    ssize_t n = read(fd, dst, max);
    if (n > 0)
        b->end += (size_t)n;
    return n;
}

ssize_t buf_write_fd(struct buf *b, int fd)
{
    if (buf_len(b) == 0)
        return 0;
    ssize_t n = write(fd, buf_data(b), buf_len(b));
    if (n > 0)
        buf_consume(b, (size_t)n);
    return n;
}

struct slice slice_from(const char *s)
{
    struct slice sl = {s, s ? strlen(s) : 0};
    return sl;
}

int slice_eq(struct slice a, const char *s)
{
    size_t n = strlen(s);
    /* An empty slice may have a NULL ptr (slice_from(NULL)), and memcmp must not be given
     * one even for zero bytes. */
    return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int slice_eq_nocase(struct slice a, const char *s)
{
    size_t n = strlen(s);
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)s[i]))
            return 0;
    return 1;
}
