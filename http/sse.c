/* sse.c - writing Server-Sent Events (see sse.h). */
#include "sse.h"

/* LAB 7 BEGIN
 * Helpers for sse_event, if you like: data must become one "data: " line per line of text, split
 * at every LF, CR and CR LF (a value's line ends at any of them), so that the browser joins them
 * back with "\n" into exactly the text sent. A line break at the very end leaves an empty last
 * line: an empty "data: " line.
 */
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
/* LAB 7 END */

void sse_event(struct buf *out, const char *id, const char *event, const char *data, size_t len)
{
    /* LAB 7 BEGIN
     * One event of a text/event-stream: "id: <id>\n" when id is not NULL, "event: <event>\n"
     * when event is not NULL, the data as "data: " lines (see above), then an empty line,
     * which tells the browser to dispatch the event. (docs/push.md, Server-Sent Events)
     * The stub writes the data bare: EventSource sees no event at all.
     * STUB: buf_append(out, data, len);
     */
    if (id)
        buf_printf(out, "id: %s\n", id);
    if (event)
        buf_printf(out, "event: %s\n", event);
    append_data(out, data, len);
    buf_append(out, "\n", 1);
    /* LAB 7 END */
}

void sse_comment(struct buf *out, const char *text)
{
    buf_printf(out, ": %s\n\n", text);
}

void sse_retry(struct buf *out, unsigned long ms)
{
    buf_printf(out, "retry: %lu\n\n", ms);
}
