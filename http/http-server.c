/* http-server - the hello world of document 000, section 三, and a small static file server.
 *
 * The document's Node server answers every request with "hello world" as text/plain. This one
 * does the same on the HTTP library (http_server.h), which supplies what Node supplies
 * silently: Date, Connection: keep-alive, the body's framing, and the errors.
 *
 *   ./bin/http-server -v                then: curl -v http://127.0.0.1:8000/
 *   ./bin/http-server --static docs     serves the files under docs/
 *   ./bin/http-server --tls-cert cert.pem --tls-key key.pem     the same over https (docs/tls.md)
 *
 * With -v each request is printed exactly as parsed ("< " lines) and each response head as
 * sent ("> " lines), beside the events: connection, request, close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http_server.h"
#include "http_static.h"
#include "loop.h"
#include "tls.h"
#include "trace.h"

static const char usage[] =
    "Usage: http-server [options]\n"
    "The Node tutorial's hello world over HTTP/1.1, or a static file server.\n"
    "\n"
    "  -p, --port N                port (default 8000; 0 = any free port)\n"
    "  -b, --bind ADDR             address (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "      --loop epoll|poll       event loop backend (default epoll)\n"
    "      --static DIR            serve the files under DIR instead of hello world\n"
    "      --text TEXT             the hello-world body (default \"hello world\")\n"
    "      --headers-timeout MS    the request head must arrive within MS (default 60000)\n"
    "      --request-timeout MS    the whole request within MS (default 300000)\n"
    "      --keep-alive-timeout MS close idle keep-alive connections after MS (default 5000)\n"
    "      --timeout MS            close any connection idle MS (default 0 = never)\n"
    "      --max-header-size N     larger request heads get 431 (default 16384)\n"
    "      --max-uri N             longer request targets get 414 (default 8192)\n"
    "      --max-body N            larger request bodies get 413 (default 1M)\n"
    "      --max-connections N     stop accepting at N open connections (default 0 = none)\n"
    "      --keepalive             TCP keep-alive probes on each connection "
    "(SO_KEEPALIVE)\n" CLI_TLS_SERVER_HELP
    "  -v, --verbose               trace events and print each request and response head\n"
    "  -x, --hex                   also hexdump the bytes\n"
    "  -q, --quiet                 print nothing but the ready line and errors\n"
    "  -h, --help                  this text\n"
    "  -V, --version               version\n"
    "\n"
    "Try: curl -v http://127.0.0.1:8000/   or   printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 "
    "8000\n";

enum {
    OPT_STATIC = CLI_OPT_FIRST_PROGRAM,
    OPT_TEXT,
    OPT_HEADERS_TIMEOUT,
    OPT_REQUEST_TIMEOUT,
    OPT_KEEP_ALIVE_TIMEOUT,
    OPT_TIMEOUT,
    OPT_MAX_HEADER,
    OPT_MAX_URI,
    OPT_MAX_BODY,
    OPT_MAX_CONN,
    OPT_KEEPALIVE,
};

static struct http_server srv;
static const char *static_dir;
static const char *hello_text = "hello world";

/* The document's handler: res.writeHead(200, {'content-type': 'text/plain'});
 * res.end('hello world'). */
static void hello_answer(struct http_res *res)
{
    http_res_set_header(res, "Content-Type", "text/plain");
    http_res_end(res, hello_text, strlen(hello_text));
}

/* The answer waits until the request body (if any) has been read and dropped: a server that
 * answered 200 at once could no longer refuse a body that grows past --max-body with 413, nor a
 * malformed chunked body with 400, since a request gets one response. Without a body, the
 * library reports the end at once. */
static void on_hello(struct http_server *server, const struct http_request *req,
                     struct http_res *res)
{
    http_res_on_body(res, NULL, hello_answer);
}

static void on_static(struct http_server *server, const struct http_request *req,
                      struct http_res *res)
{
    http_static_serve(static_dir, req, res);
}

static void on_signal(struct loop *loop, int signo, void *arg)
{
    http_server_shutdown(&srv, 5000);
}

static void program_option(struct cli *c, int opt, const char *arg)
{
    struct http_server_config *cfg = &srv.cfg;
    switch (opt) {
    case OPT_STATIC:
        static_dir = arg;
        break;
    case OPT_TEXT:
        hello_text = arg;
        break;
    case OPT_HEADERS_TIMEOUT:
        cfg->headers_timeout_ms = cli_ms(c, "--headers-timeout", arg);
        break;
    case OPT_REQUEST_TIMEOUT:
        cfg->request_timeout_ms = cli_ms(c, "--request-timeout", arg);
        break;
    case OPT_KEEP_ALIVE_TIMEOUT:
        cfg->keep_alive_timeout_ms = cli_ms(c, "--keep-alive-timeout", arg);
        break;
    case OPT_TIMEOUT:
        cfg->socket_timeout_ms = cli_ms(c, "--timeout", arg);
        break;
    case OPT_MAX_HEADER:
        cfg->max_header_size = cli_size(c, "--max-header-size", arg);
        break;
    case OPT_MAX_URI:
        cfg->max_uri = cli_size(c, "--max-uri", arg);
        break;
    case OPT_MAX_BODY:
        cfg->max_body = cli_size(c, "--max-body", arg);
        break;
    case OPT_MAX_CONN:
        cfg->max_connections = (size_t)cli_number(c, "--max-connections", arg, 0, 1000000);
        break;
    case OPT_KEEPALIVE:
        srv.tcp.keepalive = 1;
        break;
    }
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SERVER_OPTIONS,
        {"static", required_argument, 0, OPT_STATIC},
        {"text", required_argument, 0, OPT_TEXT},
        {"headers-timeout", required_argument, 0, OPT_HEADERS_TIMEOUT},
        {"request-timeout", required_argument, 0, OPT_REQUEST_TIMEOUT},
        {"keep-alive-timeout", required_argument, 0, OPT_KEEP_ALIVE_TIMEOUT},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"max-header-size", required_argument, 0, OPT_MAX_HEADER},
        {"max-uri", required_argument, 0, OPT_MAX_URI},
        {"max-body", required_argument, 0, OPT_MAX_BODY},
        {"max-connections", required_argument, 0, OPT_MAX_CONN},
        {"keepalive", no_argument, 0, OPT_KEEPALIVE},
        CLI_TLS_SERVER_OPTIONS,
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_SERVER_SHORT, opts, NULL)) != -1)
        if (!cli_common_option(c, opt, optarg))
            program_option(c, opt, optarg);
    if (optind < argc)
        cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
    if (static_dir && http_static_check_root(static_dir) < 0)
        cli_usage_error(c, "--static %s: %s", static_dir, strerror(errno));
    cli_finish(c);
    srv.trace_heads = c->verbose;
    srv.tcp.tls = cli_tls_server(c);
}

int main(int argc, char **argv)
{
    struct cli c;
    char err[NET_ERR_LEN];
    http_server_init(&srv);
    cli_init(&c, "http-server", 8000, usage);
    parse_args(&c, argc, argv);
    srv.on_request = static_dir ? on_static : on_hello;

    struct loop *loop = cli_loop(&c, on_signal, NULL);
    if (http_server_listen(&srv, loop, c.bind, c.port, err) < 0) {
        trace_error("%s", err);
        loop_free(loop);
        return EXIT_RUNTIME;
    }
    server_ready(&srv.tcp, c.prog);
    int rc = loop_run(loop);
    loop_free(loop);
    tls_ctx_free(srv.tcp.tls);
    return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
