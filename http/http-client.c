/* http-client - the HTTP client of document 000, section 三: Node's http.request, as a small curl.
 *
 * The document's Node client makes one request and prints the status, the headers and the
 * body. This one does the same (--node prints exactly what the document's corrected client
 * prints), follows curl's letters for everything else, and can make many requests through one
 * keep-alive agent so that the connection pool becomes visible:
 *
 *   ./bin/http-client -v http://127.0.0.1:8000/        the request and response heads, as curl -v
 *   ./bin/http-client --cacert ca.pem https://localhost:8443/       over TLS (docs/tls.md)
 *   ./bin/http-client -d 'name=wirelab' http://127.0.0.1:8000/form     a POST with Content-Length
 *   printf 'a\nb\n' | ./bin/http-client --data-file - URL              a chunked upload from stdin
 *   ./bin/http-client --repeat 20 --parallel 4 --keep-alive --max-sockets 2 URL
 *       20 requests, 2 connections opened, 18 reused
 *
 * What it teaches: a response is a head and a body read from a byte stream, in as many reads as
 * TCP likes; a connection can carry many requests one after another (keep-alive), and an agent
 * that keeps idle connections saves a handshake per request, but must cope with the server
 * closing one it wanted to reuse. And the document's `maxSochets` typo: Node ignores unknown
 * options silently; here `--max-sochets` is a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "http_client.h"
#include "loop.h"
#include "stream.h"
#include "tls.h"
#include "trace.h"

static const char usage[] =
    "Usage: http-client [options] URL\n"
    "Makes an HTTP/1.1 request (Node's http.request) and writes the response body to stdout.\n"
    "URL: http://host[:port]/path?query, http://[::1]:8000/ or https://host[:port]/...\n"
    "\n"
    "  -X, --request METHOD    the method (default GET, or POST with a body)\n"
    "  -H, --header 'N: v'     add a header (repeatable); 'N:' removes one we would send\n"
    "  -d, --data DATA         send DATA as the body, with Content-Length (repeated: joined by &)\n"
    "      --data-file FILE    send FILE as the body; '-' streams stdin, chunked\n"
    "  -u, --user USER:PASS    Basic authentication (the Authorization header)\n"
    "  -o, --output FILE       write the body to FILE instead of stdout\n"
    "  -i, --include           write the response head before the body\n"
    "      --node              print 'status: N' and 'headers: {json}' before the body,\n"
    "                          as the document's corrected Node client does\n"
    "      --expect-continue   send 'Expect: 100-continue' and wait for 100 before the body\n"
    "      --request-target T  send T as the request target (e.g. host:443 with -X CONNECT)\n"
    "      --timeout MS        fail when the connection is idle this long (default 0 = never)\n"
    "\n"
    "  TLS, for https:// (the server's certificate must name the URL's host):\n"
    "      --cacert FILE       trust these PEM CA certificates, not the system's store\n"
    "  -k, --insecure          do not verify the server's certificate (a warning says so)\n"
    "      --keylog FILE       append TLS secrets for Wireshark (also $SSLKEYLOGFILE)\n"
    "\n"
    "  The agent (a pool of connections per host:port):\n"
    "      --repeat N          make N requests (one line each instead of the bodies);\n"
    "                          {n} in the URL becomes the request number\n"
    "      --parallel K        keep K requests in flight (default 1)\n"
    "      --delay MS          wait MS after a request ends before starting the next\n"
    "      --keep-alive        reuse connections (Node's keepAlive); without it, each request\n"
    "                          gets a connection of its own\n"
    "      --max-sockets M     at most M connections at once (default 5, the document's Node)\n"
    "      --max-free-sockets F  keep at most F idle connections (default 256)\n"
    "      --free-socket-timeout MS  close an idle pooled connection after MS (default 4000)\n"
    "\n"
    "  -v, --verbose           trace: '> ' request head, '< ' response head, and events\n"
    "  -x, --hex               also hexdump the bytes in and out\n"
    "  -q, --quiet             no summary line with --repeat\n"
    "  -h, --help              this text\n"
    "  -V, --version           version\n"
    "\n"
    "Exit status: 0 when a response came (whatever its status, as curl), 1 when the connection\n"
    "failed, timed out or the response could not be parsed, 2 for a usage error.\n";

enum {
    OPT_DATA_FILE = CLI_OPT_FIRST_PROGRAM,
    OPT_NODE,
    OPT_EXPECT,
    OPT_TARGET,
    OPT_TIMEOUT,
    OPT_REPEAT,
    OPT_PARALLEL,
    OPT_DELAY,
    OPT_KEEP_ALIVE,
    OPT_MAX_SOCKETS,
    OPT_MAX_FREE,
    OPT_FREE_TIMEOUT,
};

#define MAX_HEADERS 64

struct settings {
    const char *url, *method, *user, *output, *target, *data_file;
    struct buf data; /* -d pieces joined with '&' */
    int has_data, include, node, expect_continue;
    struct http_client_header headers[MAX_HEADERS];
    size_t num_headers;
    char *removed[MAX_HEADERS]; /* -H 'Name:' */
    size_t num_removed;
    uint64_t timeout_ms, delay_ms;
    long repeat, parallel;
    struct http_agent_options agent;
};

/* One request, from start to its line in --repeat's list. */
struct job {
    long number;
    unsigned long conn_id;
    int reused, status, failed;
    char reason[64];
    uint64_t bytes;
};

static struct settings cfg;
static struct cli cli;

static struct {
    struct loop *loop;
    struct http_agent *agent;
    struct http_client_options opts;
    char host[256];
    char *auth; /* from -u or the URL */
    struct http_client_header headers[MAX_HEADERS + 3];
    struct buf body;
    FILE *out;
    long started, in_flight, finished, failed;
    int write_error;                       /* stdout or -o failed: the exit status says so */
    struct http_client_request *streaming; /* the request stdin is being written to */
    struct loop_timer next_timer;
} run;

static void start_request(long number);
static void stdin_start(int (*write_fn)(const char *, size_t), void (*end_fn)(void));
static void stdin_stop(void);
static void stdin_resume(void);

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        abort();
    return p;
}

/* ---- Output ---- */

static void output(const void *data, size_t len)
{
    if (len > 0 && fwrite(data, 1, len, run.out) != len && !run.write_error) {
        trace_error("write %s: %s", cfg.output ? cfg.output : "stdout", strerror(errno));
        run.write_error = 1;
    }
}

/* -i: the head as curl prints it, rebuilt from what the parser saw. */
static void print_head(const struct http_response *resp)
{
    char line[64];
    int n = snprintf(line, sizeof line, "HTTP/1.%d %d ", resp->version_minor, resp->status);
    output(line, (size_t)n);
    output(resp->reason.ptr, resp->reason.len);
    output("\r\n", 2);
    for (size_t i = 0; i < resp->num_headers; i++) {
        output(resp->headers[i].name.ptr, resp->headers[i].name.len);
        output(": ", 2);
        output(resp->headers[i].value.ptr, resp->headers[i].value.len);
        output("\r\n", 2);
    }
    output("\r\n", 2);
}

static void json_string(struct buf *out, struct slice s, int lower)
{
    buf_append_str(out, "\"");
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (lower && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c == '"' || c == '\\')
            buf_printf(out, "\\%c", c);
        else if (c < 0x20)
            buf_printf(out, "\\u%04x", c);
        else
            buf_append(out, &c, 1);
    }
    buf_append_str(out, "\"");
}

/* The values of every field named like headers[i], Node's way: set-cookie as an array, any
 * other repeated field joined with ", ". */
static void json_field_value(struct buf *out, const struct http_response *resp, size_t i)
{
    struct slice name = resp->headers[i].name;
    int array = slice_eq_nocase(name, "set-cookie");
    buf_append_str(out, array ? "[" : "\"");
    for (size_t j = i, first = 1; j < resp->num_headers; j++) {
        struct slice other = resp->headers[j].name;
        if (other.len != name.len || strncasecmp(other.ptr, name.ptr, name.len) != 0)
            continue;
        struct buf v = BUF_INIT;
        json_string(&v, resp->headers[j].value, 0);
        if (!first)
            buf_append_str(out, array ? "," : ", ");
        /* Inside a joined string the quotes of each piece are left out. */
        buf_append(out, buf_data(&v) + !array, buf_len(&v) - 2 * !array);
        buf_free(&v);
        first = 0;
    }
    buf_append_str(out, array ? "]" : "\"");
}

static int seen_before(const struct http_response *resp, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        struct slice a = resp->headers[j].name, b = resp->headers[i].name;
        if (a.len == b.len && strncasecmp(a.ptr, b.ptr, a.len) == 0)
            return 1;
    }
    return 0;
}

/* --node: what the document's corrected client prints. Its first version printed
 * 'headers:' + res.headers, which is "headers:[object Object]": an object is not a string. */
static void print_node_head(const struct http_response *resp)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "status: %d\nheaders: {", resp->status);
    for (size_t i = 0, n = 0; i < resp->num_headers; i++) {
        if (seen_before(resp, i))
            continue;
        if (n++)
            buf_append_str(&b, ",");
        json_string(&b, resp->headers[i].name, 1);
        buf_append_str(&b, ":");
        json_field_value(&b, resp, i);
    }
    buf_append_str(&b, "}\n");
    output(buf_data(&b), buf_len(&b));
    buf_free(&b);
}

/* ---- The request's events ---- */

static void on_socket(struct http_client_request *req, struct stream *s, int reused)
{
    struct job *job = http_client_user(req);
    job->conn_id = s->id;
    job->reused = reused;
}

static void on_response(struct http_client_request *req, const struct http_response *resp)
{
    struct job *job = http_client_user(req);
    job->status = resp->status;
    snprintf(job->reason, sizeof job->reason, "%.*s", (int)resp->reason.len, resp->reason.ptr);
    if (cfg.repeat > 1)
        return;
    if (cfg.include)
        print_head(resp);
    if (cfg.node)
        print_node_head(resp);
}

static void on_data(struct http_client_request *req, const char *data, size_t len)
{
    struct job *job = http_client_user(req);
    job->bytes += len;
    if (cfg.repeat == 1)
        output(data, len);
}

static void on_error(struct http_client_request *req, int err, const char *message)
{
    struct job *job = http_client_user(req);
    job->failed = 1;
    trace_error("%s", message);
}

static void on_drain(struct http_client_request *req)
{
    stdin_resume();
}

static void print_job(const struct job *job)
{
    if (cfg.repeat == 1)
        return;
    if (job->failed)
        printf("request %ld: failed\n", job->number);
    else
        printf("request %ld: %d %s, %llu bytes, connection #%lu (%s)\n", job->number, job->status,
               job->reason, (unsigned long long)job->bytes, job->conn_id,
               job->reused ? "reused" : "new");
}

static void print_summary(void)
{
    struct http_agent_stats st;
    http_agent_stats(run.agent, &st);
    if (cfg.repeat == 1 || cli.quiet)
        return;
    printf("%ld requests, %lu connections opened, %lu reused", cfg.repeat, st.connections_opened,
           st.reused);
    if (st.retried)
        printf(", %lu retried", st.retried);
    printf("\n");
}

/* Starts requests until --parallel are in flight or --repeat have been started. */
static void start_more(void)
{
    while (run.in_flight < cfg.parallel && run.started < cfg.repeat)
        start_request(++run.started);
}

static long on_next_timer(struct loop *loop, void *arg)
{
    start_more();
    return LOOP_TIMER_STOP;
}

/* The last event of every request: count it, start the next, or finish. */
static void on_close(struct http_client_request *req)
{
    struct job *job = http_client_user(req);
    if (req == run.streaming) {
        run.streaming = NULL;
        stdin_stop();
    }
    run.in_flight--;
    run.finished++;
    run.failed += job->failed;
    print_job(job);
    free(job);
    if (run.finished == cfg.repeat) {
        print_summary();
        http_agent_destroy(run.agent); /* closes the pooled connections, so the loop ends */
        run.agent = NULL;
    } else if (run.started < cfg.repeat) {
        loop_timer_start(run.loop, &run.next_timer, cfg.delay_ms);
    }
}

/* ---- After CONNECT or an Upgrade: the connection is a plain byte pipe ---- */

static struct stream *tunnel;

static size_t on_tunnel_data(struct stream *s, const char *data, size_t len)
{
    output(data, len);
    fflush(run.out);
    return len;
}

static void on_tunnel_drain(struct stream *s)
{
    stdin_resume();
}

static void on_tunnel_close(struct stream *s)
{
    tunnel = NULL;
    stdin_stop();
}

static int tunnel_write(const char *data, size_t len)
{
    return tunnel ? stream_write(tunnel, data, len) : 1;
}

static void tunnel_end(void)
{
    if (tunnel)
        stream_end(tunnel); /* half-close: the other side may still answer */
}

static void on_takeover(struct http_client_request *req, const struct http_response *resp,
                        struct stream *s, const char *head, size_t len)
{
    on_response(req, resp);
    tunnel = s;
    s->on_data = on_tunnel_data;
    s->on_drain = on_tunnel_drain;
    s->on_close = on_tunnel_close;
    on_tunnel_data(s, head, len);
    if (cfg.repeat == 1)
        stdin_start(tunnel_write, tunnel_end);
}

/* ---- Reading stdin without blocking the loop ---- */

/* A pipe or terminal is watched for readability. A regular file is always readable, and
 * epoll refuses to watch one (EPERM), so it is read a piece per turn from a timer instead. */
static struct {
    int on, paused, regular;
    int (*write)(const char *, size_t);
    void (*end)(void);
    struct loop_timer timer;
} in;

static void stdin_read(void);

static void on_stdin(struct loop *loop, int fd, int events, void *arg)
{
    stdin_read();
}

static long on_stdin_timer(struct loop *loop, void *arg)
{
    stdin_read();
    return in.on && !in.paused ? 0 : LOOP_TIMER_STOP;
}

static void stdin_wait(int want)
{
    if (in.regular) {
        if (want && !loop_timer_active(&in.timer))
            loop_timer_start(run.loop, &in.timer, 0);
        else if (!want)
            loop_timer_stop(run.loop, &in.timer);
    } else if (want) {
        loop_watch(run.loop, STDIN_FILENO, LOOP_READ, on_stdin, NULL);
    } else {
        loop_unwatch(run.loop, STDIN_FILENO);
    }
}

static void stdin_start(int (*write_fn)(const char *, size_t), void (*end_fn)(void))
{
    struct stat st;
    in.on = 1;
    in.write = write_fn;
    in.end = end_fn;
    in.regular = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
    loop_timer_init(&in.timer, on_stdin_timer, NULL);
    stdin_wait(1);
}

static void stdin_stop(void)
{
    if (in.on)
        stdin_wait(0);
    in.on = 0;
}

/* The receiver drained: read again. */
static void stdin_resume(void)
{
    if (in.on && in.paused) {
        in.paused = 0;
        stdin_wait(1);
    }
}

static void stdin_read(void)
{
    char piece[16 * 1024];
    ssize_t n = read(STDIN_FILENO, piece, sizeof piece);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        if (n < 0)
            trace_error("read stdin: %s", strerror(errno));
        stdin_stop();
        in.end();
        return;
    }
    if (!in.write(piece, (size_t)n)) {
        /* Back-pressure: the connection has enough queued; wait for its drain. */
        in.paused = 1;
        stdin_wait(0);
    }
}

static int body_write(const char *data, size_t len)
{
    return run.streaming ? http_client_write(run.streaming, data, len) : 1;
}

static void body_end(void)
{
    if (run.streaming)
        http_client_end(run.streaming, NULL, 0);
}

/* ---- Requests ---- */

/* The URL's path with every "{n}" replaced by the request number (for --repeat). */
static char *target_for(const char *pattern, long number)
{
    struct buf b = BUF_INIT;
    const char *p = pattern, *mark;
    while ((mark = strstr(p, "{n}")) != NULL) {
        buf_append(&b, p, (size_t)(mark - p));
        buf_printf(&b, "%ld", number);
        p = mark + 3;
    }
    buf_append_str(&b, p);
    char *s = xstrndup(buf_data(&b), buf_len(&b));
    buf_free(&b);
    return s;
}

static void start_request(long number)
{
    static const struct http_client_events events = {
        .on_socket = on_socket,
        .on_response = on_response,
        .on_data = on_data,
        .on_upgrade = on_takeover,
        .on_connect = on_takeover,
        .on_drain = on_drain,
        .on_error = on_error,
        .on_close = on_close,
    };
    char err[HTTP_CLIENT_ERR_LEN];
    struct job *job = calloc(1, sizeof *job);
    if (!job)
        abort();
    job->number = number;
    struct http_client_options o = run.opts;
    char *target = target_for(cfg.target, number);
    o.path = target;
    struct http_client_request *req = http_client_request(run.agent, &o, &events, job, err);
    free(target);
    /* The options were checked before the loop started, and {n} adds only digits. */
    if (!req)
        cli_usage_error(&cli, "%s", err);
    run.in_flight++;
    if (cfg.data_file && strcmp(cfg.data_file, "-") == 0) {
        run.streaming = req;
        stdin_start(body_write, body_end);
    } else {
        http_client_end(req, buf_data(&run.body), buf_len(&run.body));
    }
}

/* ---- Options ---- */

static int header_given(const char *name)
{
    for (size_t i = 0; i < cfg.num_headers; i++)
        if (strcasecmp(cfg.headers[i].name, name) == 0)
            return 1;
    for (size_t i = 0; i < cfg.num_removed; i++)
        if (strcasecmp(cfg.removed[i], name) == 0)
            return 1;
    return 0;
}

/* -H 'Name: value' adds a header; 'Name:' removes one we would add; 'Name;' sends it empty
 * (curl's rules). */
static void add_header(const char *arg)
{
    size_t name_len = strcspn(arg, ":;");
    if (arg[name_len] == '\0' || name_len == 0)
        cli_usage_error(&cli, "-H '%s': expected 'Name: value'", arg);
    if (cfg.num_headers == MAX_HEADERS || cfg.num_removed == MAX_HEADERS)
        cli_usage_error(&cli, "-H: at most %d headers", MAX_HEADERS);
    char *name = xstrndup(arg, name_len);
    const char *value = arg + name_len + 1;
    value += strspn(value, " \t");
    if (arg[name_len] == ':' && *value == '\0') {
        cfg.removed[cfg.num_removed++] = name;
        return;
    }
    cfg.headers[cfg.num_headers].name = name;
    cfg.headers[cfg.num_headers++].value = arg[name_len] == ';' ? "" : value;
}

/* The headers to send: curl's defaults first, unless the user gives or removes them, then the
 * user's own, in their order. */
static void build_headers(void)
{
    static const struct http_client_header defaults[] = {
        {"User-Agent", "wirelab-http-client/" WIRELAB_VERSION},
        {"Accept", "*/*"},
        {"Content-Type", "application/x-www-form-urlencoded"},
    };
    size_t count = cfg.has_data || cfg.data_file ? 3 : 2, n = 0;
    for (size_t i = 0; i < count; i++)
        if (!header_given(defaults[i].name))
            run.headers[n++] = defaults[i];
    for (size_t i = 0; i < cfg.num_headers; i++)
        run.headers[n++] = cfg.headers[i];
    run.opts.headers = run.headers;
    run.opts.num_headers = n;
}

static void add_data(const char *arg)
{
    if (cfg.has_data)
        buf_append_str(&cfg.data, "&");
    buf_append_str(&cfg.data, arg);
    cfg.has_data = 1;
}

static void parse_agent_option(int opt, const char *arg)
{
    switch (opt) {
    case OPT_KEEP_ALIVE:
        cfg.agent.keep_alive = 1;
        break;
    case OPT_MAX_SOCKETS:
        cfg.agent.max_sockets = (size_t)cli_number(&cli, "--max-sockets", arg, 0, 100000);
        break;
    case OPT_MAX_FREE:
        cfg.agent.max_free_sockets = (size_t)cli_number(&cli, "--max-free-sockets", arg, 0, 100000);
        break;
    case OPT_FREE_TIMEOUT:
        cfg.agent.free_socket_timeout_ms = cli_ms(&cli, "--free-socket-timeout", arg);
        break;
    case OPT_REPEAT:
        cfg.repeat = cli_number(&cli, "--repeat", arg, 1, 1000000);
        break;
    case OPT_PARALLEL:
        cfg.parallel = cli_number(&cli, "--parallel", arg, 1, 100000);
        break;
    case OPT_DELAY:
        cfg.delay_ms = cli_ms(&cli, "--delay", arg);
        break;
    }
}

static void parse_option(int opt, const char *arg)
{
    switch (opt) {
    case 'X':
        cfg.method = arg;
        break;
    case 'H':
        add_header(arg);
        break;
    case 'd':
        add_data(arg);
        break;
    case 'u':
        cfg.user = arg;
        break;
    case 'o':
        cfg.output = arg;
        break;
    case 'i':
        cfg.include = 1;
        break;
    case OPT_DATA_FILE:
        cfg.data_file = arg;
        break;
    case OPT_NODE:
        cfg.node = 1;
        break;
    case OPT_EXPECT:
        cfg.expect_continue = 1;
        break;
    case OPT_TARGET:
        cfg.target = arg;
        break;
    case OPT_TIMEOUT:
        cfg.timeout_ms = cli_ms(&cli, "--timeout", arg);
        break;
    case 'k':
        cli.insecure = 1;
        break;
    default:
        parse_agent_option(opt, arg);
        break;
    }
}

static void check_combinations(void)
{
    if (cfg.has_data && cfg.data_file)
        cli_usage_error(&cli, "use -d or --data-file, not both");
    if (cfg.repeat > 1 && (cfg.include || cfg.node || cfg.output))
        cli_usage_error(&cli, "--repeat prints a line per request: -i, --node and -o are for one");
    if (cfg.repeat > 1 && cfg.data_file && strcmp(cfg.data_file, "-") == 0)
        cli_usage_error(&cli, "--repeat cannot send stdin more than once: use a file");
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"loop", required_argument, 0, CLI_OPT_LOOP},
        {"request", required_argument, 0, 'X'},
        {"header", required_argument, 0, 'H'},
        {"data", required_argument, 0, 'd'},
        {"user", required_argument, 0, 'u'},
        {"output", required_argument, 0, 'o'},
        {"include", no_argument, 0, 'i'},
        {"data-file", required_argument, 0, OPT_DATA_FILE},
        {"node", no_argument, 0, OPT_NODE},
        {"expect-continue", no_argument, 0, OPT_EXPECT},
        {"request-target", required_argument, 0, OPT_TARGET},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"repeat", required_argument, 0, OPT_REPEAT},
        {"parallel", required_argument, 0, OPT_PARALLEL},
        {"delay", required_argument, 0, OPT_DELAY},
        {"keep-alive", no_argument, 0, OPT_KEEP_ALIVE},
        {"max-sockets", required_argument, 0, OPT_MAX_SOCKETS},
        {"max-free-sockets", required_argument, 0, OPT_MAX_FREE},
        {"free-socket-timeout", required_argument, 0, OPT_FREE_TIMEOUT},
        CLI_TLS_CLIENT_OPTIONS,
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, cli_argv(argv), CLI_COMMON_SHORT "X:H:d:u:o:ik", opts, NULL)) !=
           -1)
        if (!cli_common_option(&cli, opt, optarg))
            parse_option(opt, optarg);
    if (optind != argc - 1)
        cli_usage_error(&cli, optind < argc ? "one URL, please" : "no URL");
    cfg.url = argv[optind];
    check_combinations();
    cli_finish(&cli);
}

/* ---- From the URL and the options to http_client_options ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "user%40example:pw" from a URL means "user@example:pw". */
static char *percent_decode(struct slice s)
{
    char *out = malloc(s.len + 1), *o = out;
    if (!out)
        abort();
    for (size_t i = 0; i < s.len; i++) {
        int hi, lo;
        if (s.ptr[i] == '%' && i + 2 < s.len && (hi = hex_digit(s.ptr[i + 1])) >= 0 &&
            (lo = hex_digit(s.ptr[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s.ptr[i];
        }
    }
    *o = '\0';
    return out;
}

static void options_from_url(void)
{
    struct http_url u;
    const char *why;
    if (http_url_parse(cfg.url, &u, &why) < 0)
        cli_usage_error(&cli, "bad URL '%s': %s", cfg.url, why);
    cfg.agent.tls = cli_tls_client(&cli, slice_eq_nocase(u.scheme, "https"));
    if (u.host.len >= sizeof run.host)
        cli_usage_error(&cli, "bad URL '%s': the host name is too long", cfg.url);
    memcpy(run.host, u.host.ptr, u.host.len);
    run.host[u.host.len] = '\0';
    run.opts.host = run.host;
    run.opts.port = u.port;
    run.opts.default_port = slice_eq_nocase(u.scheme, "https") ? 443 : 80;
    if (!cfg.target) {
        struct buf t = BUF_INIT;
        http_url_target(&u, &t);
        cfg.target = xstrndup(buf_data(&t), buf_len(&t)); /* freed at exit */
        buf_free(&t);
    } else {
        cfg.target = xstrndup(cfg.target, strlen(cfg.target));
    }
    if (cfg.user)
        run.auth = xstrndup(cfg.user, strlen(cfg.user));
    else if (u.userinfo.len > 0)
        run.auth = percent_decode(u.userinfo);
}

/* The body given up front: -d, or a whole file read now (sent with Content-Length). */
static void load_body(void)
{
    if (cfg.has_data) {
        buf_append(&run.body, buf_data(&cfg.data), buf_len(&cfg.data));
        return;
    }
    if (!cfg.data_file || strcmp(cfg.data_file, "-") == 0)
        return;
    int fd = open(cfg.data_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        trace_error("open %s: %s", cfg.data_file, strerror(errno));
        exit(EXIT_RUNTIME);
    }
    ssize_t n;
    while ((n = buf_read_fd(&run.body, fd, 64 * 1024)) > 0)
        ;
    if (n < 0) {
        trace_error("read %s: %s", cfg.data_file, strerror(errno));
        exit(EXIT_RUNTIME);
    }
    close(fd);
}

static void setup_options(void)
{
    options_from_url();
    load_body();
    build_headers();
    int has_body = cfg.has_data || cfg.data_file;
    run.opts.method = cfg.method ? cfg.method : has_body ? "POST" : "GET";
    run.opts.auth = run.auth;
    run.opts.expect_continue = cfg.expect_continue;
    run.opts.timeout_ms = cfg.timeout_ms;
    run.opts.path = cfg.target;
    char err[HTTP_CLIENT_ERR_LEN];
    if (http_client_check_options(&run.opts, err) < 0)
        cli_usage_error(&cli, "%s", err);
}

static void open_output(void)
{
    run.out = stdout;
    if (!cfg.output)
        return;
    run.out = fopen(cfg.output, "wb");
    if (!run.out) {
        trace_error("open %s: %s", cfg.output, strerror(errno));
        exit(EXIT_RUNTIME);
    }
}

static void cleanup(void)
{
    if (run.out && fflush(run.out) != 0 && !run.write_error) {
        trace_error("write %s: %s", cfg.output ? cfg.output : "stdout", strerror(errno));
        run.write_error = 1;
    }
    if (run.out && run.out != stdout)
        fclose(run.out);
    for (size_t i = 0; i < cfg.num_headers; i++)
        free((char *)cfg.headers[i].name);
    for (size_t i = 0; i < cfg.num_removed; i++)
        free(cfg.removed[i]);
    free((char *)cfg.target);
    free(run.auth);
    tls_ctx_free(cfg.agent.tls);
    buf_free(&cfg.data);
    buf_free(&run.body);
}

int main(int argc, char **argv)
{
    cli_init(&cli, "http-client", 80, usage);
    cfg.repeat = 1;
    cfg.parallel = 1;
    http_agent_options_init(&cfg.agent);
    parse_args(argc, argv);
    setup_options();
    open_output();

    run.loop = loop_new(cli.backend);
    if (!run.loop) {
        trace_error("event loop: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    net_ignore_sigpipe();
    run.agent = http_agent_new(run.loop, &cfg.agent);
    loop_timer_init(&run.next_timer, on_next_timer, NULL);
    start_more();
    int rc = loop_run(run.loop);
    cleanup();
    loop_free(run.loop);
    if (rc < 0 || run.failed || run.write_error || run.finished < cfg.repeat)
        return EXIT_RUNTIME;
    return EXIT_OK;
}
