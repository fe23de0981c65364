/* test_tls_stream.c - TLS streams end to end: a server stream and a client stream over a
 * socketpair, in one loop, with a certificate made for these tests (localhost, signed by a
 * test CA; both valid for a hundred years, and good for nothing else).
 *
 * What it checks: the handshake runs before on_connect and before the first on_data, and
 * writes made before it are queued, not lost; megabytes cross with back-pressure and pauses;
 * stream_end sends close_notify, which the peer sees as on_end, after the data, even when it
 * arrives while the stream is paused; a certificate for another name, or from an untrusted CA,
 * fails the handshake with a one-line reason, and --insecure's context accepts it; plain bytes
 * sent to a TLS server close that stream with an error. Every case runs on epoll and on poll.
 * Built without TLS, it checks the stubs instead: no context can be made, and the reason says
 * so. Run it under the sanitizers too: make SANITIZE=1 build/san/tests/test_tls_stream
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "loop.h"
#include "net.h"
#include "stream.h"
#include "tap.h"
#include "tls.h"

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBlTCCATugAwIBAgIUU5uSRTtNMy1JjqAjEq6hQjQ5fqIwCgYIKoZIzj0EAwIw\n"
                             "HzEdMBsGA1UEAwwUd2lyZWxhYiB1bml0IHRlc3QgQ0EwIBcNMjYxMTIzMTg0MjI4\n"
                             "WhgPMjEyNjEwMzAxODQyMjhaMB8xHTAbBgNVBAMMFHdpcmVsYWIgdW5pdCB0ZXN0\n"
                             "IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAELCmawD8BvDbV5BD2wc9qFI2a\n"
                             "tbVeJ/B/oPi/U0FbARviZzjQrd2wW5leyRihZ/ELI4/gTFOWhn3x+zHELV0SWaNT\n"
                             "MFEwHQYDVR0OBBYEFFvs3RMVXjKcY8UacqDgCN2Y48lxMB8GA1UdIwQYMBaAFFvs\n"
                             "3RMVXjKcY8UacqDgCN2Y48lxMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID\n"
                             "SAAwRQIgYv9uaS26IXfQKt+bsT4XNKOUGsnWgrfjrJaUqD3yLsQCIQDff4ahXokj\n"
                             "fZ6ej4BIoeTWMA2CexIbOF1biu1ZtDtz7w==\n"
                             "-----END CERTIFICATE-----\n";

static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIBrjCCAVWgAwIBAgIUcDIsqTduQHST9vCYsc6ADlQ/SocwCgYIKoZIzj0EAwIw\n"
                               "HzEdMBsGA1UEAwwUd2lyZWxhYiB1bml0IHRlc3QgQ0EwIBcNMjYxMTIzMTg0MjI4\n"
                               "WhgPMjEyNjEwMzAxODQyMjhaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqG\n"
                               "SM49AgEGCCqGSM49AwEHA0IABIqRfnBu1LEBh2C0At8fJXi3QSqDL9qpjCk42n1u\n"
                               "1ax5snuS3DWpa5l057X525FFg0m+ndKmd8cBEeZIbemwVdKjeDB2MBQGA1UdEQQN\n"
                               "MAuCCWxvY2FsaG9zdDAJBgNVHRMEAjAAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0G\n"
                               "A1UdDgQWBBQpRmI5IEhmox6YFP/9nMVr2UTaqTAfBgNVHSMEGDAWgBRb7N0TFV4y\n"
                               "nGPFGnKg4AjdmOPJcTAKBggqhkjOPQQDAgNHADBEAiAj1eQccnOPN2kt6lU4CSxc\n"
                               "PG1mZfhTnN50RrStgd0/jwIgDtPB6hRoXB0Yz6x36M/v9hfNvxspD2a2AHooislF\n"
                               "DdQ=\n"
                               "-----END CERTIFICATE-----\n";

static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgR7Wv6Ds3is+mktQV\n"
                              "I5l3W94TSijcb9/FCK2NueOvDFahRANCAASKkX5wbtSxAYdgtALfHyV4t0Eqgy/a\n"
                              "qYwpONp9btWsebJ7ktw1qWuZdOe1+duRRYNJvp3SpnfHARHmSG3psFXS\n"
                              "-----END PRIVATE KEY-----\n";

static char dir[] = "/tmp/wirelab-tls-unit-XXXXXX";
static char ca_file[64], cert_file[64], key_file[64];

/* One end of a connection and what it saw. */
struct side {
    struct stream *s;
    struct buf got;
    int connected, ended, closed, error;
    int data_before_connect; /* on_data came before on_connect: must not happen */
    int echo;                /* write back what arrives */
    int pause_in_data;       /* pause the stream in on_data */
    size_t drains;
    char why[256];
};

static size_t on_data(struct stream *s, const char *data, size_t len)
{
    struct side *d = s->user;
    if (!d->connected)
        d->data_before_connect = 1;
    buf_append(&d->got, data, len);
    if (d->echo)
        stream_write(s, data, len);
    if (d->pause_in_data)
        stream_pause(s);
    return len;
}

static void on_connect(struct stream *s)
{
    struct side *d = s->user;
    d->connected = 1;
}

static void on_end(struct stream *s)
{
    struct side *d = s->user;
    d->ended = 1;
}

static void on_drain(struct stream *s)
{
    struct side *d = s->user;
    d->drains++;
}

static void on_close(struct stream *s)
{
    struct side *d = s->user;
    d->closed = 1;
    d->error = s->error;
    if (s->error)
        snprintf(d->why, sizeof d->why, "%s", stream_error_text(s));
    d->s = NULL;
}

static void attach(struct side *d, struct stream *s)
{
    memset(d, 0, sizeof *d);
    buf_init(&d->got);
    d->s = s;
    s->user = d;
    s->on_connect = on_connect;
    s->on_data = on_data;
    s->on_end = on_end;
    s->on_drain = on_drain;
    s->on_close = on_close;
}

/* Steps the loop until *flag is set or ms pass. */
static int wait_for(struct loop *loop, const int *flag, int ms)
{
    for (int waited = 0; !*flag && waited < ms; waited += 10)
        loop_run_once(loop, 10);
    return *flag;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static struct tls_ctx *server_ctx(void)
{
    char err[TLS_ERR_LEN];
    struct tls_server_options o = {cert_file, key_file, NULL};
    struct tls_ctx *ctx = tls_server_ctx_new(&o, err);
    if (!ctx)
        printf("# %s\n", err);
    return ctx;
}

static struct tls_ctx *client_ctx(const char *cacert, int insecure)
{
    char err[TLS_ERR_LEN];
    struct tls_client_options o = {cacert, insecure, NULL};
    struct tls_ctx *ctx = tls_client_ctx_new(&o, err);
    if (!ctx)
        printf("# %s\n", err);
    return ctx;
}

/* A server stream and a client stream (checking the certificate against host) joined by a
 * socketpair. */
static void open_pair(struct loop *loop, struct tls_ctx *sctx, struct tls_ctx *cctx,
                      const char *host, struct side *srv, struct side *cli)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    net_set_nonblock(sv[0]);
    net_set_nonblock(sv[1]);
    attach(srv, stream_new(loop, sv[0]));
    stream_start_tls_server(srv->s, sctx);
    attach(cli, stream_new(loop, sv[1]));
    stream_start_tls_client(cli->s, cctx, host);
}

static void drop(struct loop *loop, struct side *a, struct side *b)
{
    if (a->s)
        stream_destroy(a->s);
    if (b->s)
        stream_destroy(b->s);
    wait_for(loop, &a->closed, 1000);
    wait_for(loop, &b->closed, 1000);
    buf_free(&a->got);
    buf_free(&b->got);
}

static void test_exchange(struct loop *loop, struct tls_ctx *sctx, struct tls_ctx *cctx,
                          const char *bname)
{
    struct side srv, cli;
    open_pair(loop, sctx, cctx, "localhost", &srv, &cli);
    srv.echo = 1;
    TAP_EQ_INT(stream_write(cli.s, "hello", 5), 1, "%s: a write before the handshake is queued",
               bname);
    TAP_OK(!cli.connected, "%s: no on_connect before the handshake", bname);
    TAP_OK(wait_for(loop, &cli.connected, 3000), "%s: the client's on_connect came", bname);
    for (int i = 0; i < 300 && buf_len(&cli.got) < 5; i++)
        loop_run_once(loop, 10);
    TAP_OK(buf_len(&cli.got) == 5 && memcmp(buf_data(&cli.got), "hello", 5) == 0,
           "%s: the server got the early write and echoed it", bname);
    TAP_OK(!cli.data_before_connect, "%s: on_data came after on_connect", bname);
    TAP_OK(stream_is_tls(srv.s) && stream_is_tls(cli.s), "%s: both streams speak TLS", bname);

    /* The client ends: close_notify, then FIN; the server sees on_end and ends too. */
    stream_end(cli.s);
    TAP_OK(wait_for(loop, &srv.ended, 3000), "%s: stream_end reaches the server as on_end", bname);
    TAP_OK(wait_for(loop, &cli.closed, 3000) && wait_for(loop, &srv.closed, 3000),
           "%s: both sides close", bname);
    TAP_OK(!srv.error && !cli.error, "%s: without an error (%s%s)", bname, srv.why, cli.why);
    drop(loop, &srv, &cli);
}

#define BIG (6 * 1024 * 1024)
static char *pattern;

static long on_resume_timer(struct loop *loop, void *arg)
{
    struct side *d = arg;
    if (d->s)
        stream_resume(d->s);
    return LOOP_TIMER_STOP;
}

/* Megabytes through TLS records: the writer honours back-pressure, the reader pauses now and
 * then; every byte arrives, in order. */
static void test_big(struct loop *loop, struct tls_ctx *sctx, struct tls_ctx *cctx,
                     const char *bname)
{
    struct side srv, cli;
    struct loop_timer resume;
    loop_timer_init(&resume, on_resume_timer, &srv);
    open_pair(loop, sctx, cctx, "localhost", &srv, &cli);
    wait_for(loop, &cli.connected, 3000);
    size_t sent = 0, pauses = 0;
    for (int turns = 0; turns < 20000 && buf_len(&srv.got) < BIG && !srv.closed; turns++) {
        while (sent < BIG) {
            size_t n = BIG - sent < 100000 ? BIG - sent : 100000;
            int more = stream_write(cli.s, pattern + sent, n);
            sent += n;
            if (!more)
                break;
        }
        if (sent == BIG && stream_queued(cli.s) == 0 && !stream_ended(cli.s))
            stream_end(cli.s);
        /* Now and then the reader stops for 20 ms. */
        if (!stream_paused(srv.s) && buf_len(&srv.got) > (pauses + 1) * (BIG / 4)) {
            stream_pause(srv.s);
            loop_timer_start(loop, &resume, 20);
            pauses++;
        }
        loop_run_once(loop, 10);
    }
    TAP_EQ_INT(buf_len(&srv.got), BIG, "%s: %d MiB crossed", bname, BIG >> 20);
    TAP_OK(buf_len(&srv.got) == BIG && memcmp(buf_data(&srv.got), pattern, BIG) == 0,
           "%s: every byte in order", bname);
    TAP_OK(cli.drains > 0, "%s: the writer saw back-pressure and on_drain", bname);
    TAP_OK(pauses >= 3, "%s: the reader paused %zu times", bname, pauses);
    TAP_OK(wait_for(loop, &srv.ended, 3000), "%s: on_end after the data", bname);
    loop_timer_stop(loop, &resume);
    drop(loop, &srv, &cli);
}

/* close_notify read while the stream is paused: on_end waits for stream_resume. */
static void test_end_while_paused(struct loop *loop, struct tls_ctx *sctx, struct tls_ctx *cctx,
                                  const char *bname)
{
    struct side srv, cli;
    open_pair(loop, sctx, cctx, "localhost", &srv, &cli);
    srv.pause_in_data = 1;
    srv.s->allow_half_open = 1;
    wait_for(loop, &cli.connected, 3000);
    stream_write(cli.s, "abc", 3);
    stream_end(cli.s);
    for (int i = 0; i < 30; i++)
        loop_run_once(loop, 10);
    TAP_EQ_INT(buf_len(&srv.got), 3, "%s: the data came, and the stream paused", bname);
    TAP_OK(!srv.ended, "%s: no on_end while paused", bname);
    srv.pause_in_data = 0;
    stream_resume(srv.s);
    TAP_OK(wait_for(loop, &srv.ended, 3000), "%s: on_end after stream_resume", bname);
    TAP_EQ_INT(buf_len(&srv.got), 3, "%s: nothing delivered twice", bname);
    drop(loop, &srv, &cli);
}

static void test_refused(struct loop *loop, struct tls_ctx *sctx, struct tls_ctx *cctx,
                         const char *host, const char *reason, const char *what, const char *bname)
{
    struct side srv, cli;
    open_pair(loop, sctx, cctx, host, &srv, &cli);
    stream_write(cli.s, "secret", 6);
    TAP_OK(wait_for(loop, &cli.closed, 3000), "%s: %s: the client's handshake fails", bname, what);
    TAP_EQ_INT(cli.error, EPROTO, "%s: %s: with EPROTO", bname, what);
    TAP_OK(strstr(cli.why, reason) != NULL, "%s: %s: the reason says '%s' (%s)", bname, what,
           reason, cli.why);
    TAP_OK(!cli.connected, "%s: %s: no on_connect", bname, what);
    TAP_OK(wait_for(loop, &srv.closed, 3000) && buf_len(&srv.got) == 0,
           "%s: %s: the server closes that stream and got no data", bname, what);
    drop(loop, &srv, &cli);
}

static void test_insecure(struct loop *loop, struct tls_ctx *sctx, const char *bname)
{
    struct tls_ctx *insecure = client_ctx(NULL, 1);
    struct side srv, cli;
    open_pair(loop, sctx, insecure, "elsewhere.example", &srv, &cli);
    TAP_OK(wait_for(loop, &cli.connected, 3000), "%s: an insecure context connects anyway", bname);
    drop(loop, &srv, &cli);
    tls_ctx_free(insecure);
}

/* Plain HTTP to a TLS server: that stream fails, with OpenSSL's reason. */
static void test_plain_bytes(struct loop *loop, struct tls_ctx *sctx, const char *bname)
{
    int sv[2];
    struct side srv;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    net_set_nonblock(sv[0]);
    attach(&srv, stream_new(loop, sv[0]));
    stream_start_tls_server(srv.s, sctx);
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    TAP_EQ_INT(write(sv[1], req, sizeof req - 1), (long long)(sizeof req - 1),
               "%s: plain request sent", bname);
    TAP_OK(wait_for(loop, &srv.closed, 3000), "%s: plain HTTP closes the TLS stream", bname);
    TAP_OK(srv.error == EPROTO && strstr(srv.why, "http request"), "%s: reason: %s", bname,
           srv.why);
    TAP_EQ_INT(buf_len(&srv.got), 0, "%s: nothing reached on_data", bname);
    close(sv[1]);
    buf_free(&srv.got);
}

static void run_all(enum loop_backend backend, const char *bname)
{
    struct loop *loop = loop_new(backend);
    struct tls_ctx *sctx = server_ctx(), *cctx = client_ctx(ca_file, 0);
    struct tls_ctx *system = client_ctx(NULL, 0);
    if (!TAP_OK(loop && sctx && cctx && system, "%s: loop and contexts", bname))
        exit(tap_done());
    test_exchange(loop, sctx, cctx, bname);
    test_big(loop, sctx, cctx, bname);
    test_end_while_paused(loop, sctx, cctx, bname);
    test_refused(loop, sctx, cctx, "elsewhere.example", "hostname mismatch", "another name", bname);
    test_refused(loop, sctx, system, "localhost", "unable to get local issuer certificate",
                 "an untrusted CA", bname);
    test_insecure(loop, sctx, bname);
    test_plain_bytes(loop, sctx, bname);
    tls_ctx_free(system);
    tls_ctx_free(cctx);
    tls_ctx_free(sctx);
    loop_free(loop);
}

static void test_without_tls(void)
{
    char err[TLS_ERR_LEN];
    struct tls_server_options so = {cert_file, key_file, NULL};
    struct tls_client_options co = {NULL, 0, NULL};
    TAP_EQ_INT(tls_available(), 0, "no TLS in this build");
    TAP_OK(tls_server_ctx_new(&so, err) == NULL, "no server context");
    TAP_EQ_STR(err, TLS_NO_TLS_MESSAGE, "the reason says so");
    TAP_OK(tls_client_ctx_new(&co, err) == NULL, "no client context");
    TAP_EQ_STR(err, TLS_NO_TLS_MESSAGE, "the reason says so");
}

int main(void)
{
    alarm(60);
    net_ignore_sigpipe();
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(ca_file, sizeof ca_file, "%s/ca.pem", dir);
    snprintf(cert_file, sizeof cert_file, "%s/cert.pem", dir);
    snprintf(key_file, sizeof key_file, "%s/key.pem", dir);
    write_file(ca_file, ca_pem);
    write_file(cert_file, cert_pem);
    write_file(key_file, key_pem);
    if (tls_available()) {
        pattern = malloc(BIG);
        for (size_t i = 0; i < BIG; i++)
            pattern[i] = (char)((i * 7 + i / 253) & 0xff);
        run_all(LOOP_EPOLL, "epoll");
        run_all(LOOP_POLL, "poll");
        free(pattern);
    } else {
        test_without_tls();
    }
    unlink(ca_file);
    unlink(cert_file);
    unlink(key_file);
    rmdir(dir);
    return tap_done();
}
