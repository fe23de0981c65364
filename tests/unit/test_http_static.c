/* test_http_static.c - the first wall of the static file server: turning a request target into
 * a path that cannot leave the served directory, and the Content-Type of a file name.
 *
 * Every target is parsed from a copy that ends right before an unreadable page (guard.h), so a
 * decoder that looks one byte past a truncated escape ("/%2") crashes here instead of reading
 * whatever follows in memory. The second wall (symbolic links, resolved with realpath) needs a
 * real directory and a server: tests/integration/http_server.js tries it.
 *
 *   make build/default/tests/test_http_static && ./build/default/tests/test_http_static
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "http_static.h"
#include "tap.h"

/* One target and what it must become: want is the normalized path, or NULL for a refusal. */
struct norm_case {
    const char *target;
    const char *want;
    const char *why;
};

static const struct norm_case norm_cases[] = {
    {"/", "/", "the root"},
    {"/index.html", "/index.html", "a plain file"},
    {"/a/./b/../c", "/a/c", "\".\" and \"..\" resolved"},
    {"//x", "/x", "a doubled slash folded"},
    {"/a//b///c/", "/a/b/c", "runs of slashes and a trailing slash"},
    {"/a/..", "/", "\"..\" back to the root"},
    {"/a/b/../..", "/", "two levels up, to the root exactly"},
    {"/..", NULL, "\"..\" above the root"},
    {"/../x", NULL, "\"..\" above the root, then a name"},
    {"/a/b/../../..", NULL, "one \"..\" too many"},
    {"/a/../../x", NULL, "climbing out after a detour"},
    {"/%2e%2e/x", NULL, "an escaped \"..\""},
    {"/%2E%2E/x", NULL, "an escaped \"..\" in capitals"},
    {"/.%2e/x", NULL, "half of \"..\" escaped"},
    {"/..%2f", NULL, "\"..\" then an escaped slash"},
    {"/a/..%2f..%2fsecret", NULL, "escaped slashes climbing two levels"},
    {"/a%2fb", "/a/b", "an escaped slash separates segments"},
    {"/...", "/...", "three dots are a name, not a step"},
    {"/.hidden", "/.hidden", "a dot file is a name"},
    {"/%00", NULL, "an escaped NUL"},
    {"/a/%00.html", NULL, "an escaped NUL before an extension"},
    {"/a%0ab", NULL, "an escaped line feed"},
    {"/a%7fb", NULL, "an escaped DEL"},
    {"/%zz", NULL, "an escape that is not hex"},
    {"/%g0", NULL, "an escape whose first digit is not hex"},
    {"/%2", NULL, "an escape cut after one digit"},
    {"/abc%2", NULL, "an escape cut at the end of a longer path"},
    {"/%", NULL, "a lone percent sign"},
    {"/%41%62c", "/Abc", "escapes decoded, either case"},
    {"/%20x", "/ x", "an escaped space"},
    {"/caf%C3%A9", "/caf\xc3\xa9", "escaped UTF-8 bytes kept as bytes"},
    {"/a%3Fb", "/a?b", "an escaped question mark is part of the name"},
    {"/a?x=../../..", "/a", "the query string is ignored"},
    {"/a/b?%zz", "/a/b", "a bad escape in the query string is not the path's business"},
    {"/a/../b?", "/b", "an empty query string"},
    {"/a#frag", "/a", "a fragment is ignored"},
    {"", NULL, "an empty target"},
    {"a/b", NULL, "a relative path"},
    {"*", NULL, "the asterisk form"},
    {"%2fetc", NULL, "an escaped leading slash is no leading slash"},
};

static void test_normalize_vectors(void)
{
    for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
        const struct norm_case *k = &norm_cases[i];
        char out[PATH_MAX];
        size_t len = strlen(k->target);
        const char *target = guard_place(k->target, len);
        int rc = http_static_normalize(target, len, out, sizeof out);
        if (k->want) {
            TAP_EQ_INT(rc, 0, "normalize %s: accepted (%s)", k->target, k->why);
            TAP_EQ_STR(rc == 0 ? out : "(refused)", k->want, "normalize %s -> %s", k->target,
                       k->want);
        } else {
            TAP_EQ_INT(rc, -1, "normalize %s: refused (%s)", k->target, k->why);
        }
    }
}

/* Only target_len bytes are the target: a parser hands out slices of a bigger buffer. */
static void test_normalize_uses_length(void)
{
    char out[64];
    const char *buf = "/ab/../cd HTTP/1.1";
    TAP_EQ_INT(http_static_normalize(buf, 3, out, sizeof out), 0, "a slice of 3 bytes");
    TAP_EQ_STR(out, "/ab", "only the slice is read");
    TAP_EQ_INT(http_static_normalize(buf, 9, out, sizeof out), 0, "a slice of 9 bytes");
    TAP_EQ_STR(out, "/cd", "the slice \"/ab/../cd\"");
}

/* The result never overflows out, and a result that does not fit is refused, not cut. */
static void test_normalize_out_size(void)
{
    char out[8];
    memset(out, 'X', sizeof out);
    TAP_EQ_INT(http_static_normalize("/abc", 4, out, 5), 0, "\"/abc\" fits in 5 bytes");
    TAP_EQ_STR(out, "/abc", "and comes out whole");
    memset(out, 'X', sizeof out);
    TAP_EQ_INT(http_static_normalize("/abc", 4, out, 4), -1, "\"/abc\" does not fit in 4");
    TAP_OK(out[4] == 'X', "nothing written past the size given");
    TAP_EQ_INT(http_static_normalize("/", 1, out, 1), -1, "no room even for \"/\"");
    TAP_EQ_INT(http_static_normalize("/", 1, out, 2), 0, "\"/\" fits in 2 bytes");
}

/* A target far longer than any path: refused, and nothing overflows. */
static void test_normalize_long(void)
{
    size_t len = 3 * PATH_MAX;
    char *target = malloc(len);
    char out[PATH_MAX];
    if (!target)
        abort();
    target[0] = '/';
    memset(target + 1, 'a', len - 1);
    TAP_EQ_INT(http_static_normalize(guard_place(target, len), len, out, sizeof out), -1,
               "a %zu-byte name is refused", len);
    /* The same length made of "/x/.." pairs resolves to "/" but decodes to more than fits. */
    for (size_t i = 0; i + 5 <= len; i += 5)
        memcpy(target + i, "/x/..", 5);
    int rc =
        http_static_normalize(guard_place(target, len - len % 5), len - len % 5, out, sizeof out);
    TAP_OK(rc == -1 || (rc == 0 && strcmp(out, "/") == 0),
           "a long run of \"/x/..\" is refused or resolves to \"/\"");
    free(target);
}

struct mime_case {
    const char *name;
    const char *want;
};

static const struct mime_case mime_cases[] = {
    {"index.html", "text/html; charset=utf-8"},
    {"/docs/page.htm", "text/html; charset=utf-8"},
    {"/A/B.HTML", "text/html; charset=utf-8"},
    {"style.css", "text/css; charset=utf-8"},
    {"app.js", "text/javascript; charset=utf-8"},
    {"data.json", "application/json"},
    {"notes.txt", "text/plain; charset=utf-8"},
    {"README.md", "text/markdown; charset=utf-8"},
    {"loop.c", "text/plain; charset=utf-8"},
    {"picture.png", "image/png"},
    {"photo.JPG", "image/jpeg"},
    {"photo.jpeg", "image/jpeg"},
    {"icon.svg", "image/svg+xml"},
    {"module.wasm", "application/wasm"},
    {"archive.tar.gz", "application/gzip"},
    {"Makefile", "application/octet-stream"},
    {"/dir.d/file", "application/octet-stream"},
    {"/a.html/x", "application/octet-stream"},
    {".bashrc", "application/octet-stream"},
    {"trailing.", "application/octet-stream"},
    {"", "application/octet-stream"},
    {"/", "application/octet-stream"},
};

static void test_mime_types(void)
{
    for (size_t i = 0; i < sizeof mime_cases / sizeof mime_cases[0]; i++) {
        const struct mime_case *k = &mime_cases[i];
        TAP_EQ_STR(http_static_mime_type(k->name), k->want, "mime type of \"%s\"", k->name);
    }
}

static void test_check_root(void)
{
    char dir[] = "/tmp/wirelab-static-XXXXXX";
    char file[64];
    if (!mkdtemp(dir))
        abort();
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    if (!f)
        abort();
    fclose(f);
    TAP_EQ_INT(http_static_check_root(dir), 0, "a directory is a root");
    errno = 0;
    TAP_EQ_INT(http_static_check_root(file), -1, "a file is not a root");
    TAP_EQ_INT(errno, ENOTDIR, "and says ENOTDIR");
    unlink(file);
    rmdir(dir);
    errno = 0;
    TAP_EQ_INT(http_static_check_root(dir), -1, "a missing directory is not a root");
    TAP_EQ_INT(errno, ENOENT, "and says ENOENT");
}

int main(void)
{
    alarm(20);
    test_normalize_vectors();
    test_normalize_uses_length();
    test_normalize_out_size();
    test_normalize_long();
    test_mime_types();
    test_check_root();
    guard_release();
    return tap_done();
}
