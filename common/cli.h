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
enum {
    CLI_OPT_LOOP = 1000,
    CLI_OPT_TLS_CERT,
    CLI_OPT_TLS_KEY,
    CLI_OPT_KEYLOG,
    CLI_OPT_CACERT,
    CLI_OPT_INSECURE,
    CLI_OPT_FIRST_PROGRAM = 1100
};

/* The option tables below read best one entry after another, as written. */
/* clang-format off */
#define CLI_COMMON_OPTIONS                                                                         \
    {"verbose", no_argument, 0, 'v'}, {"hex", no_argument, 0, 'x'},                                \
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},                             \
        {"version", no_argument, 0, 'V'}

#define CLI_SERVER_OPTIONS                                                                         \
    CLI_COMMON_OPTIONS, {"port", required_argument, 0, 'p'}, {"bind", required_argument, 0, 'b'},  \
        {"loop", required_argument, 0, CLI_OPT_LOOP}

/* TLS (tls.h): a server's certificate and key; a client's trust (for https:// and wss://);
 * the key log for Wireshark. The options exist in every build; without OpenSSL they fail
 * with "this build has no TLS" (exit 2). Add the *_HELP lines to the program's usage. */
#define CLI_TLS_SERVER_OPTIONS                                                                     \
    {"tls-cert", required_argument, 0, CLI_OPT_TLS_CERT},                                          \
        {"tls-key", required_argument, 0, CLI_OPT_TLS_KEY},                                        \
        {"keylog", required_argument, 0, CLI_OPT_KEYLOG}
#define CLI_TLS_CLIENT_OPTIONS                                                                     \
    {"cacert", required_argument, 0, CLI_OPT_CACERT},                                              \
        {"insecure", no_argument, 0, CLI_OPT_INSECURE},                                            \
        {"keylog", required_argument, 0, CLI_OPT_KEYLOG}
/* clang-format on */
#define CLI_TLS_SERVER_HELP                                                                        \
    "      --tls-cert FILE         serve TLS with this PEM certificate chain (https, wss)\n"       \
    "      --tls-key FILE          ... and this PEM private key\n"                                 \
    "      --keylog FILE           append TLS secrets for Wireshark (also $SSLKEYLOGFILE)\n"
#define CLI_TLS_CLIENT_HELP                                                                        \
    "      --cacert FILE           trust these PEM CA certificates, not the system's\n"            \
    "      --insecure              do not verify the server's certificate (a warning says so)\n"   \
    "      --keylog FILE           append TLS secrets for Wireshark (also $SSLKEYLOGFILE)\n"

/* Short letters for the shared options, to start a getopt_long short-option string. */
#define CLI_COMMON_SHORT "vxqhV"
#define CLI_SERVER_SHORT "vxqhVp:b:"

#define WIRELAB_VERSION "0.1.0"

struct cli {
    const char *prog;  /* "tcp-server" */
    const char *usage; /* the --help text, printed as is */
    int port;          /* -p, defaults to the program's own */
    const char *bind;  /* -b, default "127.0.0.1" */
    enum loop_backend backend;
    int verbose, hex, quiet;
    const char *tls_cert, *tls_key, *keylog, *cacert; /* the TLS options */
    int insecure;
};

/* Fills defaults: port, bind 127.0.0.1, epoll. */
void cli_init(struct cli *c, const char *prog, int default_port, const char *usage);

/* Handles opt if it is a shared option: returns 1 if handled, 0 if not. --help prints the
 * usage and exits 0; --version prints "prog (wirelab) X.Y.Z" and a line naming the TLS library
 * ("TLS: OpenSSL 3.0.13 ...", or "TLS: none ...") and exits 0; a bad value exits 2. */
int cli_common_option(struct cli *c, int opt, const char *arg);

/* Returns argv with argv[0] set to the program's short name (from cli_init), so that
 * getopt's own messages read "tcp-server: unrecognized option" whatever path ran us:
 *   getopt_long(argc, cli_argv(argv), ...) */
char **cli_argv(char **argv);

/* After getopt: sets up the trace from -v/-x/-q. */
void cli_finish(struct cli *c);

struct tls_ctx;

/* A server's TLS context from --tls-cert, --tls-key and --keylog, or NULL when --tls-cert was
 * not given (plain TCP). Exits 2 with one line when a file cannot be used, when one of the
 * pair is missing, or when this build has no TLS. */
struct tls_ctx *cli_tls_server(const struct cli *c);

/* A client's TLS context from --cacert, --insecure and --keylog, for a tls:// URL (https://,
 * wss://); with --insecure, warns on stderr that the server is not checked. For a plain URL
 * (tls 0) returns NULL, but still exits 2 if TLS options were given to a build without TLS. */
struct tls_ctx *cli_tls_client(const struct cli *c, int tls);

/* The program's event loop, after the options: a loop with the backend chosen by --loop, and
 * SIGINT and SIGTERM handled by on_signal(loop, signo, arg) from inside it (NULL: the loop just
 * stops; SIGPIPE is ignored either way, see loop_handle_signals). If the loop or its signal
 * pipe cannot be made, prints "prog: event loop: <reason>" and exits 1: main goes on with a
 * loop that works, and frees it with loop_free. */
struct loop *cli_loop(const struct cli *c, loop_signal_fn *on_signal, void *arg);

/* Prints "prog: message" and "Try 'prog --help'." on stderr, exits 2. */
void cli_usage_error(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3))) __attribute__((noreturn));

/* Strict parsers. Each exits 2 with a one-line message naming the option on a bad value. */
int cli_port(const struct cli *c, const char *opt, const char *arg); /* 0..65535 */
long long cli_number(const struct cli *c, const char *opt, const char *arg, long long min,
                     long long max);
uint64_t cli_ms(const struct cli *c, const char *opt, const char *arg); /* milliseconds */
/* Sizes accept a K/M/G suffix (powers of 1024): "16K", "1M". */
uint64_t cli_size(const struct cli *c, const char *opt, const char *arg);

#endif
