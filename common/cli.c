/* cli.c - shared options and strict number parsing for every program's command line. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

void cli_init(struct cli *c, const char *prog, int default_port, const char *usage)
{
    memset(c, 0, sizeof *c);
    c->prog = prog;
    c->usage = usage;
    c->port = default_port;
    c->bind = "127.0.0.1";
    c->backend = LOOP_EPOLL;
    trace_init(prog, 0, 0, 0);
}

void cli_usage_error(const struct cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", c->prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", c->prog);
    va_end(ap);
    exit(EXIT_USAGE);
}

long long cli_number(const struct cli *c, const char *opt, const char *arg, long long min,
                     long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end != '\0' || v < min || v > max)
        cli_usage_error(c, "%s: '%s' is not a number from %lld to %lld", opt, arg, min, max);
    return v;
}

int cli_port(const struct cli *c, const char *opt, const char *arg)
{
    return (int)cli_number(c, opt, arg, 0, 65535);
}

uint64_t cli_ms(const struct cli *c, const char *opt, const char *arg)
{
    return (uint64_t)cli_number(c, opt, arg, 0, 1000LL * 60 * 60 * 24 * 365);
}

uint64_t cli_size(const struct cli *c, const char *opt, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    unsigned long long mult = 1;
    if (*end == 'K' || *end == 'k')
        mult = 1024ULL;
    else if (*end == 'M' || *end == 'm')
        mult = 1024ULL * 1024;
    else if (*end == 'G' || *end == 'g')
        mult = 1024ULL * 1024 * 1024;
    if (mult != 1)
        end++;
    if (errno || end == arg || *end != '\0' || arg[0] == '-' || v > (1ULL << 40) / mult)
        cli_usage_error(c, "%s: '%s' is not a size (a number, optionally with K, M or G)", opt,
                        arg);
    return v * mult;
}

int cli_common_option(struct cli *c, int opt, const char *arg)
{
    switch (opt) {
    case 'v':
        c->verbose = 1;
        return 1;
    case 'x':
        c->hex = 1;
        return 1;
    case 'q':
        c->quiet = 1;
        return 1;
    case 'h':
        fputs(c->usage, stdout);
        exit(EXIT_OK);
    case 'V':
        printf("%s (wirelab) %s\n", c->prog, WIRELAB_VERSION);
        exit(EXIT_OK);
    case 'p':
        c->port = cli_port(c, "--port", arg);
        return 1;
    case 'b':
        c->bind = arg;
        return 1;
    case CLI_OPT_LOOP:
        if (loop_backend_parse(arg, &c->backend) < 0)
            cli_usage_error(c, "--loop: '%s' is not a backend here (epoll or poll)", arg);
        return 1;
    case '?':
        /* getopt_long has already printed what was wrong. */
        fprintf(stderr, "Try '%s --help'.\n", c->prog);
        exit(EXIT_USAGE);
    default:
        return 0;
    }
}

void cli_finish(struct cli *c)
{
    trace_init(c->prog, c->verbose, c->hex, c->quiet);
}
