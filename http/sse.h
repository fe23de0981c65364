/* sse.h - the text/event-stream format of Server-Sent Events (the HTML standard, section
 * 9.2), as pure functions that append to a buffer.
 *
 * An event stream is UTF-8 text: lines of "field: value", and an empty line that ends each
 * event. The browser's EventSource reads four fields and ignores lines starting with ":":
 *
 *     : a comment (a heartbeat: keeps proxies from closing an idle connection)
 *     retry: 2000             how long to wait before reconnecting, in milliseconds
 *
 *     id: 42                  remembered; sent back as Last-Event-ID when reconnecting
 *     event: clock            the event's type: addEventListener("clock", ...) receives it
 *     data: 18:07:38          one line of the data; several "data:" lines are joined with
 *     data: 2026-11-23        "\n" ("18:07:38\n2026-11-23")
 *                             (the empty line: dispatch the event)
 *
 * A value's line ends at LF, CR or CR LF, so data that holds a line break must be split into
 * several data lines: that is sse_event's job, and the mistake a hand-written
 * `res.write("data:" + text + "\n\n")` makes as soon as text has a newline in it.
 */
#ifndef WIRELAB_SSE_H
#define WIRELAB_SSE_H

#include <stddef.h>

#include "buf.h"

/* Appends one event. id and event may be NULL (no such field); neither may hold CR, LF or
 * NUL, which would end its line early (the caller's promise). data (len bytes) is split at
 * every LF, CR and CR LF into one "data: " line each, so the browser gets back exactly the
 * same text; empty data is a single "data: " line with nothing after it. */
void sse_event(struct buf *out, const char *id, const char *event, const char *data, size_t len);

/* Appends ": text" and the empty line (a comment: EventSource ignores it). text must not hold
 * CR or LF. */
void sse_comment(struct buf *out, const char *text);

/* Appends "retry: ms" and the empty line: the reconnection delay the browser should use. */
void sse_retry(struct buf *out, unsigned long ms);

#endif
