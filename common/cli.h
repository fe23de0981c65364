/* cli.h - the command-line pieces every program shares (see CONVENTIONS.md).
 *
 * Each program lists its own long options for getopt_long, and lets cli_common_option look at
 * each option first: it handles the shared ones (-p -b --loop -v -x -q -h -V) and says whether
 * it did. Numbers are parsed strictly: "80x" or "70000" as a port is a usage error (exit 2)
 * with one line on stderr, never a silent zero.
 *
 *   static const struct option opts[] = { CLI_SERVER_OPTIONS, {"echo", no_argument, 0, 'e'},
 *                                         {0, 0, 0, 0} };
 */
#ifndef WIRELAB_CLI_H
#define WIRELAB_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "loop.h"

/* Exit codes shared by every program. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Long-option codes for shared options that have no short letter. */
enum { CLI_OPT_LOOP = 1000, CLI_OPT_FIRST_PROGRAM = 1100 };

#define CLI_COMMON_OPTIONS                                                                         \
    {"verbose", no_argument, 0, 'v'}, {"hex", no_argument, 0, 'x'},                                \
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},                             \
        {"version", no_argument, 0, 'V'}

#define CLI_SERVER_OPTIONS                                                                         \
    CLI_COMMON_OPTIONS, {"port", required_argument, 0, 'p'}, {"bind", required_argument, 0, 'b'},  \
        {"loop", required_argument, 0, CLI_OPT_LOOP}

/* Short letters for the shared options, to start a getopt_long short-option string. */
#define CLI_COMMON_SHORT "vxqhV"
#define CLI_SERVER_SHORT "vxqhVp:b:"

#define WIRELAB_VERSION "0.1.0"

struct cli {
    const char *prog;      /* "tcp-server" */
    const char *usage;     /* the --help text, printed as is */
    int port;              /* -p, defaults to the program's own */
    const char *bind;      /* -b, default "127.0.0.1" */
    enum loop_backend backend;
    int verbose, hex, quiet;
};

/* Fills defaults: port, bind 127.0.0.1, epoll. */
void cli_init(struct cli *c, const char *prog, int default_port, const char *usage);

/* Handles opt if it is a shared option: returns 1 if handled, 0 if not. --help prints the
 * usage and exits 0; --version prints "prog wirelab X.Y.Z" and exits 0; a bad value exits 2. */
int cli_common_option(struct cli *c, int opt, const char *arg);

/* After getopt: sets up the trace from -v/-x/-q. */
void cli_finish(struct cli *c);

/* Prints "prog: message" and "Try 'prog --help'." on stderr, exits 2. */
void cli_usage_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));

/* Strict parsers. Each exits 2 with a one-line message naming the option on a bad value. */
int cli_port(const struct cli *c, const char *opt, const char *arg);       /* 0..65535 */
long long cli_number(const struct cli *c, const char *opt, const char *arg, long long min,
                     long long max);
uint64_t cli_ms(const struct cli *c, const char *opt, const char *arg);   /* milliseconds */
/* Sizes accept a K/M/G suffix (powers of 1024): "16K", "1M". */
uint64_t cli_size(const struct cli *c, const char *opt, const char *arg);

#endif
