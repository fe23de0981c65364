/* trace.h - the one trace format every wirelab program writes to stderr.
 *
 * With -v each event is a line named as Node names it:
 *
 *     14:03:07.412 #3 data 127.0.0.1:50814 12 bytes
 *
 * time of day with milliseconds, the connection number (#0 for the server itself), the event
 * (listening, connection, connect, data, end, drain, timeout, error, close, message, request,
 * response, upgrade, ...), the peer, and details. Protocol views add lines under an event,
 * each with a prefix: "> " sent, "< " received (curl's style), "| " a decoded frame field.
 * With -x every data line is followed by a hexdump of the bytes (offset, 16 bytes in hex,
 * the same bytes as ASCII).
 *
 * The settings are process-wide: one program, one trace.
 */
#ifndef WIRELAB_TRACE_H
#define WIRELAB_TRACE_H

#include <stddef.h>
#include <stdio.h>

struct trace_config {
    const char *prog; /* program name for error lines */
    int verbose;      /* -v: event lines */
    int hex;          /* -x: hexdumps of data (and, since they sit under event lines, -v) */
    int quiet;        /* -q: programs print less on stdout */
};

extern struct trace_config trace_cfg;

/* Sets the program name and the -v / -x / -q flags. */
void trace_init(const char *prog, int verbose, int hex, int quiet);

/* Whether event lines / hexdumps are on. */
static inline int trace_on(void)
{
    return trace_cfg.verbose;
}
static inline int trace_hex_on(void)
{
    return trace_cfg.hex;
}

/* Writes one event line if tracing is on. peer may be NULL ("-"); fmt may be NULL. */
void trace_event(unsigned long conn, const char *event, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes text as lines with a prefix ("> ", "< ", "| "), one per line of text; CR LF or LF
 * ends a line. Only when tracing is on. */
void trace_lines(const char *prefix, const char *text, size_t len);

/* One prefixed line, printf-style. Only when tracing is on. */
void trace_line(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes a hexdump of data to f: "00000000  68 65 6c 6c 6f ...  |hello|". */
void trace_hexdump(FILE *f, const void *data, size_t len);

/* A data event as streams and UDP sockets report it: the event line ("12 bytes", with -v)
 * and, with -x, the hexdump. event is "data" (or "message") for bytes received and "write"
 * for bytes sent; streams report writes only with -x. */
void trace_data(unsigned long conn, const char *event, const char *peer, const void *data,
                size_t len);

/* Prints "prog: message" on stderr (always, whatever -q says). */
void trace_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
