/* buf.h - a growable byte buffer, and slices that point into one.
 *
 * The bytes live in mem[start, end). Appending writes at end; consuming from the front only
 * moves start, so taking a parsed message off the front costs nothing; the unused space at the
 * front is reclaimed the next time the buffer needs room. A buffer that becomes empty gives its
 * memory back, so an idle connection holds none.
 *
 * Out of memory is not recoverable in these programs: the functions print a message and abort.
 */
#ifndef WIRELAB_BUF_H
#define WIRELAB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct buf {
    char *mem;
    size_t cap;
    size_t start;
    size_t end;
};

/* A non-owning view of bytes that live elsewhere (usually in a struct buf). */
struct slice {
    const char *ptr;
    size_t len;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void buf_init(struct buf *b);

/* Frees the memory; the buffer is empty and usable again. */
void buf_free(struct buf *b);

/* The bytes held, and how many. */
static inline char *buf_data(const struct buf *b)
{
    return b->mem + b->start;
}
static inline size_t buf_len(const struct buf *b)
{
    return b->end - b->start;
}

/* Makes room for at least n more bytes at the end; returns where they go. */
char *buf_reserve(struct buf *b, size_t n);

/* Counts n bytes written into the room buf_reserve returned. */
void buf_commit(struct buf *b, size_t n);

void buf_append(struct buf *b, const void *data, size_t n);
void buf_append_str(struct buf *b, const char *s);

/* Appends printf-style formatted text (no terminating NUL is kept). */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Removes n bytes (n <= buf_len) from the front. Frees the memory when the buffer empties. */
void buf_consume(struct buf *b, size_t n);

/* Empties the buffer and frees its memory. */
void buf_clear(struct buf *b);

/* Reads once from fd into the room at the end, at most max bytes (at least 1).
 * Returns what read(2) returned. */
ssize_t buf_read_fd(struct buf *b, int fd, size_t max);

/* Writes once from the front to fd and consumes what the kernel took.
 * Returns what write(2) returned. */
ssize_t buf_write_fd(struct buf *b, int fd);

/* A slice's helpers. */
struct slice slice_from(const char *s);
int slice_eq(struct slice a, const char *s);        /* exact */
int slice_eq_nocase(struct slice a, const char *s); /* ASCII case-insensitive */

#endif
