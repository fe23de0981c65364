/* cli.c - shared options and strict number parsing for every program's command line. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
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
        printf("TLS: %s\n",
               tls_available() ? tls_library_version() : "none (built without OpenSSL)");
        exit(EXIT_OK);
    case 'p':
        c->port = cli_port(c, "--port", arg);
        return 1;
    case 'b':
        c->bind = arg;
        return 1;
    case CLI_OPT_TLS_CERT:
        c->tls_cert = arg;
        return 1;
    case CLI_OPT_TLS_KEY:
        c->tls_key = arg;
        return 1;
    case CLI_OPT_KEYLOG:
        c->keylog = arg;
        return 1;
    case CLI_OPT_CACERT:
        c->cacert = arg;
        return 1;
    case CLI_OPT_INSECURE:
        c->insecure = 1;
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

char **cli_argv(char **argv)
{
    argv[0] = (char *)trace_cfg.prog;
    return argv;
}

void cli_finish(struct cli *c)
{
    trace_init(c->prog, c->verbose, c->hex, c->quiet);
}

struct loop *cli_loop(const struct cli *c, loop_signal_fn *on_signal, void *arg)
{
    struct loop *loop = loop_new(c->backend);
    if (!loop || loop_handle_signals(loop, on_signal, arg) < 0) {
        trace_error("event loop: %s", strerror(errno));
        exit(EXIT_RUNTIME);
    }
    return loop;
}

/* One line and exit 2: the TLS options are wrong for this build or these files. */
static void tls_refused(const struct cli *c, const char *why)
{
    fprintf(stderr, "%s: %s\n", c->prog, why);
    exit(EXIT_USAGE);
}

struct tls_ctx *cli_tls_server(const struct cli *c)
{
    char err[TLS_ERR_LEN];
    if (!c->tls_cert && !c->tls_key && !c->keylog)
        return NULL;
    if (!tls_available())
        tls_refused(c, TLS_NO_TLS_MESSAGE);
    if (!c->tls_cert || !c->tls_key)
        cli_usage_error(c, "--tls-cert and --tls-key go together");
    struct tls_server_options o = {c->tls_cert, c->tls_key, c->keylog};
    struct tls_ctx *ctx = tls_server_ctx_new(&o, err);
    if (!ctx)
        tls_refused(c, err);
    return ctx;
}

struct tls_ctx *cli_tls_client(const struct cli *c, int tls)
{
    char err[TLS_ERR_LEN];
    int options = c->cacert || c->insecure || c->keylog;
    if ((tls || options) && !tls_available())
        tls_refused(c, TLS_NO_TLS_MESSAGE);
    if (!tls)
        return NULL;
    struct tls_client_options o = {c->cacert, c->insecure, c->keylog};
    struct tls_ctx *ctx = tls_client_ctx_new(&o, err);
    if (!ctx)
        tls_refused(c, err);
    if (c->insecure)
        fprintf(stderr,
                "%s: warning: --insecure: the server's certificate is not checked; "
                "anyone in the path can read and change this connection\n",
                c->prog);
    return ctx;
}
