/* trace.c - event lines and hexdumps on stderr (see trace.h for the format).
 *
 * Try it: `./bin/tcp-server -v -x` and, in another terminal, `printf hi | nc -N 127.0.0.1 8000`.
 */
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

struct trace_config trace_cfg = {"wirelab", 0, 0, 0};

void trace_init(const char *prog, int verbose, int hex, int quiet)
{
    trace_cfg.prog = prog;
    /* A hexdump sits under an event line, so -x shows the events too. */
    trace_cfg.verbose = verbose || hex;
    trace_cfg.hex = hex;
    trace_cfg.quiet = quiet;
}

static void print_time(FILE *f)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    time_t secs = tv.tv_sec;
    localtime_r(&secs, &tm);
    fprintf(f, "%02d:%02d:%02d.%03d ", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

void trace_event(unsigned long conn, const char *event, const char *peer, const char *fmt, ...)
{
    if (!trace_cfg.verbose)
        return;
    print_time(stderr);
    fprintf(stderr, "#%lu %s %s", conn, event, peer ? peer : "-");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputc(' ', stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}

void trace_lines(const char *prefix, const char *text, size_t len)
{
    if (!trace_cfg.verbose)
        return;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        size_t end = j;
        if (end > i && text[end - 1] == '\r')
            end--;
        fprintf(stderr, "%s%.*s\n", prefix, (int)(end - i), text + i);
        i = j + 1;
    }
}

void trace_line(const char *prefix, const char *fmt, ...)
{
    if (!trace_cfg.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void trace_hexdump(FILE *f, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t off = 0; off < len; off += 16) {
        size_t n = len - off < 16 ? len - off : 16;
        fprintf(f, "%08zx ", off);
        for (size_t i = 0; i < 16; i++) {
            if (i == 8)
                fputc(' ', f);
            if (i < n)
                fprintf(f, " %02x", p[off + i]);
            else
                fputs("   ", f);
        }
        fputs("  |", f);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = p[off + i];
            fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
        }
        fputs("|\n", f);
    }
}

void trace_data(unsigned long conn, const char *event, const char *peer, const void *data,
                size_t len)
{
    if (!trace_cfg.verbose)
        return;
    trace_event(conn, event, peer, "%zu bytes", len);
    if (trace_cfg.hex)
        trace_hexdump(stderr, data, len);
}

void trace_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", trace_cfg.prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
