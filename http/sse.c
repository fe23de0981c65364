/* sse.c - writing Server-Sent Events (see sse.h). */
#include "sse.h"

/* The length of the line at p (before its LF, CR or CR LF), and in *next where the next line
 * starts (len when this was the last line, with no line break after it). */
static size_t line_end(const char *p, size_t len, size_t *next)
{
    size_t i = 0;
    while (i < len && p[i] != '\n' && p[i] != '\r')
        i++;
    *next = i;
    if (i < len)
        *next += (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') ? 2 : 1;
    return i;
}

/* "data: line" for every line of data. A break at the very end leaves an empty last line,
 * which becomes an empty data line: the browser then ends the text with "\n", as it was. */
static void append_data(struct buf *out, const char *data, size_t len)
{
    size_t at = 0;
    for (;;) {
        size_t next;
        size_t n = line_end(data + at, len - at, &next);
        buf_append_str(out, "data: ");
        buf_append(out, data + at, n);
        buf_append(out, "\n", 1);
        if (at + next == len && next == n)
            return; /* the last line had no break after it */
        at += next;
    }
}

void sse_event(struct buf *out, const char *id, const char *event, const char *data, size_t len)
{
    if (id)
        buf_printf(out, "id: %s\n", id);
    if (event)
        buf_printf(out, "event: %s\n", event);
    append_data(out, data, len);
    buf_append(out, "\n", 1);
}

void sse_comment(struct buf *out, const char *text)
{
    buf_printf(out, ": %s\n\n", text);
}

void sse_retry(struct buf *out, unsigned long ms)
{
    buf_printf(out, "retry: %lu\n\n", ms);
}
