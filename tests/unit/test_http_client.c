/* test_http_client.c - the parts of the HTTP client that need no socket: URLs, Basic
 * credentials, the checks that keep a request head valid, and the head itself, byte for byte.
 *
 * URLs are parsed from a copy that ends right before an unreadable page (guard.h), with the
 * terminating NUL as the last readable byte, so that reading past it crashes the test.
 *
 *   make build/default/tests/test_http_client && ./build/default/tests/test_http_client
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "guard.h"
#include "http_client.h"
#include "tap.h"

/* ---- URLs ---- */

struct url_case {
    const char *url;
    const char *want; /* "scheme|userinfo|host|port|target", or "error: <part of the reason>" */
};

static const struct url_case url_cases[] = {
    {"http://127.0.0.1:8000/", "http||127.0.0.1|8000|/"},
    {"http://127.0.0.1:8000", "http||127.0.0.1|8000|/"},
    {"http://example.com/a/b?c=1&d=2", "http||example.com|80|/a/b?c=1&d=2"},
    {"http://example.com?q", "http||example.com|80|/?q"},
    {"http://example.com/p#frag", "http||example.com|80|/p"},
    {"http://example.com/p?q#frag?x", "http||example.com|80|/p?q"},
    {"HTTP://Example.COM:81/", "HTTP||Example.COM|81|/"},
    {"https://example.com/", "https||example.com|443|/"},
    {"http://[::1]:8000/x", "http||::1|8000|/x"},
    {"http://[::1]/", "http||::1|80|/"},
    {"http://[::ffff:127.0.0.1]:1/", "http||::ffff:127.0.0.1|1|/"},
    {"http://user:pw@host:9/", "http|user:pw|host|9|/"},
    {"http://a@b@host/", "http|a@b|host|80|/"},
    {"http://host:/", "http||host|80|/"},
    {"127.0.0.1:8000/no-scheme", "http||127.0.0.1|8000|/no-scheme"},
    {"localhost/a?u=http://x/", "http||localhost|80|/a?u=http://x/"},
    {"http://h:65535/", "http||h|65535|/"},
    {"http://h:0/", "error: bad port"},
    {"http://h:65536/", "error: bad port"},
    {"http://h:80a/", "error: bad port"},
    {"http://h:123456/", "error: bad port"},
    {"ftp://h/", "error: unsupported scheme"},
    {"ws://h/", "error: unsupported scheme"},
    {"http:///path", "error: no host"},
    {"http://:80/", "error: no host"},
    {"http://[::1/", "error: bad IPv6"},
    {"http://[::1]x/", "error: bad IPv6"},
    {"http://[fe80::1%25eth0]/", "error: bad character"},
    {"http://::1:8000/", "error: needs brackets"},
    {"http://ho st/", "error: space"},
    {"http://host/a b", "error: space"},
    {"http://host/\r\nX: y", "error: control"},
    {"http://ho/st\x7f", "error: control"},
    {"http://h\xc3\xa9/", "error: bad character"},
};

static void describe_url(const struct http_url *u, char *out, size_t cap)
{
    struct buf target = BUF_INIT;
    http_url_target(u, &target);
    snprintf(out, cap, "%.*s|%.*s|%.*s|%d|%.*s", (int)u->scheme.len, u->scheme.ptr,
             (int)u->userinfo.len, u->userinfo.ptr, (int)u->host.len, u->host.ptr, u->port,
             (int)buf_len(&target), buf_data(&target));
    buf_free(&target);
}

/* The URL as a test name: controls escaped, so that one case stays one TAP line. */
static const char *printable(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f)
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
        else
            out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
}

static void check_url_case(const struct url_case *c)
{
    struct http_url u;
    const char *err = NULL;
    char got[512], name[256];
    printable(c->url, name, sizeof name);
    const char *url = guard_place(c->url, strlen(c->url) + 1);
    if (http_url_parse(url, &u, &err) == 0)
        describe_url(&u, got, sizeof got);
    else
        snprintf(got, sizeof got, "error: %s", err ? err : "(no reason)");
    if (strncmp(c->want, "error: ", 7) == 0) {
        int ok = strncmp(got, "error: ", 7) == 0 && strstr(got, c->want + 7) != NULL;
        if (!TAP_OK(ok, "url %s is refused (%s)", name, c->want + 7))
            printf("#   got \"%s\"\n", got);
    } else {
        TAP_EQ_STR(got, c->want, "url %s", name);
    }
}

/* ---- Basic credentials (RFC 7617) ---- */

static void check_basic(const char *user_pass, const char *want)
{
    struct buf b = BUF_INIT;
    http_client_basic_auth(&b, user_pass);
    buf_append(&b, "", 1);
    TAP_EQ_STR(buf_data(&b), want, "Basic credentials for \"%s\"", user_pass);
    buf_free(&b);
}

static void test_basic_auth(void)
{
    check_basic("Aladdin:open sesame", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); /* RFC 7617 §2 */
    check_basic("test:123\xc2\xa3", "Basic dGVzdDoxMjPCow==");                /* §2.1, UTF-8 */
    check_basic("", "Basic ");
    check_basic("a:", "Basic YTo=");
    check_basic("ab:", "Basic YWI6");
}

/* ---- Checking options ---- */

struct options_case {
    const char *name;
    struct http_client_options opts;
    const char *want_error; /* NULL: valid; else a part of the message */
};

static const struct http_client_header good_headers[] = {{"X-Tab", "a\tb"}, {"X-Colon", "a: b"}};
static const struct http_client_header crlf_value[] = {{"X-Evil", "a\r\nInjected: 1"}};
static const struct http_client_header lf_value[] = {{"X-Evil", "a\nb"}};
static const struct http_client_header nul_name[] = {{"", "x"}};
static const struct http_client_header space_name[] = {{"X Y", "x"}};
static const struct http_client_header colon_name[] = {{"X:", "x"}};
static const struct http_client_header null_value[] = {{"X-Null", NULL}};

static const struct options_case options_cases[] = {
    {"defaults", {.host = "h"}, NULL},
    {"IPv6 host", {.host = "::1", .port = 8000}, NULL},
    {"tab and colon in values", {.host = "h", .headers = good_headers, .num_headers = 2}, NULL},
    {"CONNECT target", {.host = "h", .method = "CONNECT", .path = "example.com:443"}, NULL},
    {"no host", {.port = 80}, "bad host"},
    {"empty host", {.host = ""}, "bad host"},
    {"host with a slash", {.host = "h/x"}, "bad host"},
    {"host with CR", {.host = "h\r"}, "bad host"},
    {"port too big", {.host = "h", .port = 65536}, "bad port"},
    {"method with a space", {.host = "h", .method = "GE T"}, "not a token"},
    {"empty method", {.host = "h", .method = ""}, "not a token"},
    {"path with a space", {.host = "h", .path = "/a b"}, "path"},
    {"path with LF", {.host = "h", .path = "/a\nb"}, "path"},
    {"empty path", {.host = "h", .path = ""}, "path"},
    {"CR LF in a value", {.host = "h", .headers = crlf_value, .num_headers = 1}, "control"},
    {"LF in a value", {.host = "h", .headers = lf_value, .num_headers = 1}, "control"},
    {"empty name", {.host = "h", .headers = nul_name, .num_headers = 1}, "not a token"},
    {"space in a name", {.host = "h", .headers = space_name, .num_headers = 1}, "not a token"},
    {"colon in a name", {.host = "h", .headers = colon_name, .num_headers = 1}, "not a token"},
    {"no value", {.host = "h", .headers = null_value, .num_headers = 1}, "missing"},
};

static void check_options_case(const struct options_case *c)
{
    char err[HTTP_CLIENT_ERR_LEN] = "";
    int rc = http_client_check_options(&c->opts, err);
    if (!c->want_error) {
        if (!TAP_OK(rc == 0, "options: %s are valid", c->name))
            printf("#   error: %s\n", err);
        return;
    }
    if (!TAP_OK(rc == -1 && strstr(err, c->want_error), "options: %s are refused", c->name))
        printf("#   rc %d, error \"%s\", want \"%s\"\n", rc, err, c->want_error);
}

/* ---- The request head ---- */

static void check_head(const char *name, const struct http_client_options *o, int keep_alive,
                       enum http_client_framing framing, uint64_t length, const char *want)
{
    struct buf b = BUF_INIT;
    http_client_format_head(&b, o, keep_alive, framing, length);
    buf_append(&b, "", 1);
    TAP_EQ_STR(buf_data(&b), want, "head: %s", name);
    buf_free(&b);
}

static void test_heads(void)
{
    struct http_client_options o = {.host = "example.com"};
    check_head("GET, default port, no keep-alive", &o, 0, HTTP_CLIENT_NO_BODY, 0,
               "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");

    o = (struct http_client_options){.host = "127.0.0.1", .port = 8000, .path = "/a?b=1"};
    check_head("port in Host, pooled", &o, 1, HTTP_CLIENT_NO_BODY, 0,
               "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nConnection: keep-alive\r\n\r\n");

    o = (struct http_client_options){.host = "::1", .port = 8000};
    check_head("IPv6 Host in brackets", &o, 0, HTTP_CLIENT_NO_BODY, 0,
               "GET / HTTP/1.1\r\nHost: [::1]:8000\r\nConnection: close\r\n\r\n");
    o.port = 80;
    check_head("IPv6 Host, port 80", &o, 0, HTTP_CLIENT_NO_BODY, 0,
               "GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n");

    o = (struct http_client_options){.host = "example.com", .port = 443, .default_port = 443};
    check_head("https: port 443 left out of Host", &o, 0, HTTP_CLIENT_NO_BODY, 0,
               "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
    o.port = 80;
    check_head("https on port 80: in Host", &o, 0, HTTP_CLIENT_NO_BODY, 0,
               "GET / HTTP/1.1\r\nHost: example.com:80\r\nConnection: close\r\n\r\n");

    static const struct http_client_header h[] = {{"Content-Type", "text/plain"}, {"X-Trace", "1"}};
    o = (struct http_client_options){.host = "h",
                                     .method = "POST",
                                     .path = "/form",
                                     .headers = h,
                                     .num_headers = 2,
                                     .auth = "Aladdin:open sesame"};
    check_head("POST with a length, headers in order, then Authorization", &o, 0,
               HTTP_CLIENT_LENGTH, 11,
               "POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nX-Trace: 1\r\n"
               "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nConnection: close\r\n"
               "Content-Length: 11\r\n\r\n");

    o = (struct http_client_options){.host = "h", .method = "PUT", .expect_continue = 1};
    check_head("chunked, Expect: 100-continue", &o, 1, HTTP_CLIENT_CHUNKED, 0,
               "PUT / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n"
               "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    check_head("Content-Length: 0 for an empty body", &o, 0, HTTP_CLIENT_LENGTH, 0,
               "PUT / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
               "Expect: 100-continue\r\nContent-Length: 0\r\n\r\n");

    static const struct http_client_header mine[] = {{"host", "other:1"},
                                                     {"connection", "Upgrade"},
                                                     {"Upgrade", "websocket"},
                                                     {"authorization", "Bearer t"},
                                                     {"content-length", "3"}};
    o = (struct http_client_options){
        .host = "h", .port = 9, .headers = mine, .num_headers = 5, .auth = "u:p"};
    check_head("the caller's Host, Connection, Authorization and framing win", &o, 1,
               HTTP_CLIENT_CHUNKED, 0,
               "GET / HTTP/1.1\r\nhost: other:1\r\nconnection: Upgrade\r\nUpgrade: websocket\r\n"
               "authorization: Bearer t\r\ncontent-length: 3\r\n\r\n");
}

int main(void)
{
    for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++)
        check_url_case(&url_cases[i]);
    test_basic_auth();
    for (size_t i = 0; i < sizeof options_cases / sizeof options_cases[0]; i++)
        check_options_case(&options_cases[i]);
    test_heads();
    guard_release();
    return tap_done();
}
