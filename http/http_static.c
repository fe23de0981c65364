/* http_static.c - files from a directory over HTTP, and the checks that keep requests inside it.
 *
 * Two walls stand between a request and a file outside the root:
 *  1. http_static_normalize() decodes the target and resolves "." and ".." itself, refusing any
 *     path that climbs above "/" and any NUL byte, so "/../x", "/%2e%2e/x" and "/a/%00" never
 *     become file names;
 *  2. realpath() then resolves symbolic links, and the result must still lie under the root's
 *     own real path, so a link inside the root that points outside it leads nowhere; a
 *     directory's index.html is checked the same way, since it may be such a link too.
 * (The file itself is opened with O_NOFOLLOW, but a directory on the way that is swapped for a
 * link between the check and the open could still slip through; a server facing hostile local
 * users would open each component with openat and O_NOFOLLOW instead.)
 *
 * Big files are not read whole: a chunk is read and written at a time, and when the connection
 * pushes back (http_res_write returns 0) reading waits for the drain callback.
 */
#include "http_static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

int http_static_check_root(const char *root)
{
    struct stat st;
    if (stat(root, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    /* Reaching the files needs search permission on the directory. */
    return access(root, X_OK);
}

/* ---- the target's path ---- */

/* LAB 3 BEGIN
 * Decoding a request path: write percent_decode(target, len, out, out_size). It copies the
 * path part of the target (up to '?' or '#') into out, turning each %XX escape into its byte
 * (hex digits in either case), adds a NUL, and returns the length. It returns -1 for a broken
 * escape ("%4", "%zz"), a NUL or other control byte (decoded or not: "%00", "%0a"), or when
 * out is too small. (docs/http.md, the request target)
 */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX escapes of target's path (up to '?' or '#') into out. Returns the length, or -1
 * for a bad escape, a NUL or control byte, or no room. */
static long percent_decode(const char *target, size_t len, char *out, size_t out_size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && target[i] != '?' && target[i] != '#'; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hex_value(target[i + 1]), lo = hex_value(target[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || n + 1 >= out_size)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return (long)n;
}
/* LAB 3 END */

/* What a request path can be refused for, as the status the client gets. */
enum { PATH_OK = 0, PATH_MALFORMED = 400, PATH_ABOVE_ROOT = 403 };

/* LAB 3 BEGIN
 * Write normalize(target, target_len, out, out_size): the first wall between a request and the
 * files outside the root. The target must start with '/' (else PATH_MALFORMED). Decode it with
 * percent_decode (-1: PATH_MALFORMED), then split the decoded path at '/' and rebuild it in out
 * segment by segment: skip empty segments and ".", let ".." remove the last segment kept, and
 * answer PATH_ABOVE_ROOT when ".." would climb above "/". Split after decoding, so that "%2f"
 * separates segments too and "..%2f" is a "..". An empty result is "/". Return PATH_OK, with
 * out holding the clean path ("/a/b.txt"), or PATH_MALFORMED when out is too small.
 * The stub copies the target as it came: no decoding, and "/../" goes through to the files.
 * STUB: static int normalize(const char *target, size_t target_len, char *out, size_t out_size)
 * STUB: {
 * STUB:     if (target_len == 0 || target[0] != '/' || target_len >= out_size)
 * STUB:         return PATH_MALFORMED;
 * STUB:     memcpy(out, target, target_len);
 * STUB:     out[target_len] = '\0';
 * STUB:     return PATH_OK;
 * STUB: }
 */
/* Appends one path segment to out (which holds "/a/b" of length *n), resolving "." and "..".
 * Returns PATH_ABOVE_ROOT when ".." would climb above the root, PATH_MALFORMED when out is full.
 * The segments were split after decoding, so an escaped slash (%2f) separates them too: "..%2f"
 * is a ".." like any other. */
static int push_segment(char *out, size_t *n, const char *seg, size_t seg_len, size_t out_size)
{
    if (seg_len == 0 || (seg_len == 1 && seg[0] == '.'))
        return PATH_OK;
    if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') {
        if (*n == 0)
            return PATH_ABOVE_ROOT;
        while (*n > 0 && out[*n - 1] != '/')
            (*n)--;
        (*n)--; /* the slash before the removed segment */
        return PATH_OK;
    }
    if (*n + 1 + seg_len + 1 > out_size)
        return PATH_MALFORMED;
    out[(*n)++] = '/';
    memcpy(out + *n, seg, seg_len);
    *n += seg_len;
    return PATH_OK;
}

/* http_static_normalize, telling why a path is refused. */
static int normalize(const char *target, size_t target_len, char *out, size_t out_size)
{
    char decoded[PATH_MAX];
    if (target_len == 0 || target[0] != '/' || out_size < 2)
        return PATH_MALFORMED;
    long dlen = percent_decode(target, target_len, decoded, sizeof decoded);
    if (dlen < 0)
        return PATH_MALFORMED;
    size_t n = 0;
    const char *p = decoded, *end = decoded + dlen;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        int status = push_segment(out, &n, p, (size_t)(seg_end - p), out_size);
        if (status != PATH_OK)
            return status;
        p = seg_end + (slash ? 1 : 0);
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return PATH_OK;
}
/* LAB 3 END */

int http_static_normalize(const char *target, size_t target_len, char *out, size_t out_size)
{
    return normalize(target, target_len, out, out_size) == PATH_OK ? 0 : -1;
}

/* The path part of a request target. Origin-form ("/a?b") is one already; absolute-form
 * ("http://host/a?b"), which a server must accept too (RFC 9112 §3.2.2), loses its scheme and
 * authority. Anything else ("*", "host:443") is returned as it is, and normalize refuses it. */
static struct slice target_path(struct slice target)
{
    static const char *const schemes[] = {"http://", "https://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (target.len < n || strncasecmp(target.ptr, schemes[i], n) != 0)
            continue;
        const char *p = target.ptr + n, *end = target.ptr + target.len;
        while (p < end && *p != '/' && *p != '?' && *p != '#')
            p++;
        if (p == end || *p != '/')
            return slice_from("/");
        return (struct slice){p, (size_t)(end - p)};
    }
    return target;
}

/* ---- MIME types and dates ---- */

const char *http_static_mime_type(const char *path)
{
    /* LAB 3 BEGIN
     * The Content-Type for a file name, from its extension (after the last '.' of the last
     * path segment, compared without case): at least html and htm (text/html; charset=utf-8),
     * css (text/css; charset=utf-8), js (text/javascript; charset=utf-8), json
     * (application/json), txt (text/plain; charset=utf-8), png (image/png), jpg and jpeg
     * (image/jpeg), svg (image/svg+xml); anything else, or no extension, is
     * application/octet-stream. A table and a loop read better than a chain of ifs.
     * STUB: return "application/octet-stream";
     */
    static const char *const table[][2] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"c", "text/plain; charset=utf-8"},
        {"h", "text/plain; charset=utf-8"},
        {"xml", "application/xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"svg", "image/svg+xml"},
        {"ico", "image/x-icon"},
        {"webp", "image/webp"},
        {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},
        {"mp4", "video/mp4"},
        {"woff2", "font/woff2"},
        {"gz", "application/gzip"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcasecmp(dot + 1, table[i][0]) == 0)
                return table[i][1];
    return "application/octet-stream";
    /* LAB 3 END */
}

/* LAB 3 BEGIN
 * Write parse_http_date(struct slice v): the seconds since 1970 of an IMF-fixdate such as
 * "Sun, 06 Nov 1994 08:49:37 GMT" (the format http_date_format writes), or -1 for anything
 * else, including impossible dates ("32 Jan"). sscanf and timegm help. not_modified uses it.
 */
/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). Returns -1 if it is not one,
 * including the two obsolete forms RFC 9110 §5.6.7 still asks recipients to read: a client's
 * If-Modified-Since in one of those is ignored, which costs a full response and nothing else. */
static long long parse_http_date(struct slice v)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char text[64], mon[4], gmt[4];
    struct tm tm;
    int day, year, h, m, s, used = 0;
    if (v.len >= sizeof text)
        return -1;
    memcpy(text, v.ptr, v.len);
    text[v.len] = '\0';
    memset(&tm, 0, sizeof tm);
    if (sscanf(text, "%*3s, %2d %3s %4d %2d:%2d:%2d %3s%n", &day, mon, &year, &h, &m, &s, gmt,
               &used) != 7 ||
        (size_t)used != v.len || strcmp(gmt, "GMT") != 0)
        return -1;
    const char *mp = strstr(months, mon);
    if (strlen(mon) != 3 || !mp || (mp - months) % 3 != 0)
        return -1;
    /* timegm would quietly turn "32 Jan" into "1 Feb": an impossible date is no date. */
    if (day < 1 || day > 31 || h > 23 || m > 59 || s > 60 || year < 1900)
        return -1;
    tm.tm_mday = day, tm.tm_mon = (int)((mp - months) / 3), tm.tm_year = year - 1900;
    tm.tm_hour = h, tm.tm_min = m, tm.tm_sec = s;
    return (long long)timegm(&tm);
}
/* LAB 3 END */

/* ---- sending a file ---- */

struct file_send {
    int fd;
    off_t left;
};

static void send_more(struct http_res *res);

static void on_drain(struct http_res *res)
{
    send_more(res);
}

static void on_close(struct http_res *res)
{
    struct file_send *fs = http_res_user(res);
    if (!fs)
        return;
    close(fs->fd);
    free(fs);
    http_res_set_user(res, NULL);
}

/* Writes chunks until the file ends or the connection pushes back. */
static void send_more(struct http_res *res)
{
    /* LAB 3 BEGIN
     * Send the file's body, never all of it at once: read up to CHUNK bytes from fs->fd (at
     * most fs->left), and write them with http_res_write; the last piece goes with
     * http_res_end(res, chunk, n), which finishes the response. When http_res_write returns 0
     * the connection pushes back: return, and on_drain calls send_more again to go on. A read
     * that fails or returns 0 before the end (the file shrank) cannot be finished: the
     * Content-Length is already promised, so destroy the connection
     * (stream_destroy(http_res_stream(res))). (docs/http.md, bodies and back-pressure)
     * The stub gives up at once.
     * STUB: stream_destroy(http_res_stream(res));
     */
    struct file_send *fs = http_res_user(res);
    char chunk[CHUNK];
    while (fs && fs->left > 0) {
        ssize_t n = read(fs->fd, chunk, fs->left < CHUNK ? (size_t)fs->left : CHUNK);
        if (n <= 0) {
            stream_destroy(http_res_stream(res)); /* the file shrank or failed: cannot finish */
            return;
        }
        fs->left -= n;
        if (fs->left == 0) {
            http_res_end(res, chunk, (size_t)n);
            return;
        }
        if (!http_res_write(res, chunk, (size_t)n))
            return; /* on_drain continues */
    }
    /* LAB 3 END */
}

static void send_status(struct http_res *res, int status, const char *text)
{
    http_res_status(res, status);
    http_res_set_header(res, "Content-Type", "text/plain; charset=utf-8");
    http_res_end(res, text, strlen(text));
}

/* Whether path (a real path, without links, "." or "..") is root or lies under it. */
static int path_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1)
        return 1; /* the root is "/" itself */
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Resolves joined with realpath, which follows every symbolic link on the way, and checks that
 * the result is still under real_root. Returns 0 with real filled in, or an HTTP status. */
static int resolve_inside(const char *real_root, const char *joined, char real[PATH_MAX])
{
    if (!realpath(joined, real))
        return errno == ENOENT || errno == ENOTDIR ? 404 : 403;
    if (!path_under(real, real_root))
        return 403; /* a symbolic link led outside the root */
    return 0;
}

/* Opens a regular file and describes it from the open descriptor, not from the name: a name
 * swapped for a FIFO after the checks could otherwise block the whole server in open(), and a
 * name swapped for a link is refused by O_NOFOLLOW (realpath gave a name without links). */
static int open_regular(const char *real, int *fd, struct stat *st)
{
    *fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
    if (*fd < 0)
        return errno == ENOENT ? 404 : 403;
    if (fstat(*fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(*fd);
        return 403;
    }
    return 0;
}

/* Resolves the request path to a regular file under root. A directory stands for its
 * index.html, which is resolved and checked like any other name: it may be a link too.
 * Returns 0 with *fd open, real naming the file and *st describing it, or an HTTP status. */
static int open_under_root(const char *root, const char *path, char real[PATH_MAX], int *fd,
                           struct stat *st)
{
    char real_root[PATH_MAX], joined[PATH_MAX * 2];
    struct stat dir;
    if (!realpath(root, real_root))
        return 500;
    if ((size_t)snprintf(joined, sizeof joined, "%s%s", real_root, path) >= sizeof joined)
        return 404; /* longer than any name the system could hold */
    int status = resolve_inside(real_root, joined, real);
    if (status != 0)
        return status;
    if (stat(real, &dir) == 0 && S_ISDIR(dir.st_mode)) {
        snprintf(joined, sizeof joined, "%s/index.html", real);
        status = resolve_inside(real_root, joined, real);
        if (status != 0)
            return status == 404 ? 403 : status; /* a directory without an index */
    }
    return open_regular(real, fd, st);
}

/* Whether the client's copy (If-Modified-Since) is still current. RFC 9110 §13.1.3: the field
 * is ignored when If-None-Match is present (we send no ETag, so that one can never match), and
 * a date in the future is no evidence of anything. */
static int not_modified(const struct http_request *req, const struct stat *st)
{
    /* LAB 3 BEGIN
     * A conditional GET: return 1 when the request's If-Modified-Since (http_header_find with
     * the lower-case name) holds a date (parse_http_date) that is not in the future and not
     * older than the file's st->st_mtime; the caller then answers 304 Not Modified without a
     * body. Ignore the field (return 0) when If-None-Match is present too (RFC 9110 13.1.3).
     * STUB: return 0;
     */
    const struct http_header *h = http_header_find(req, "if-modified-since");
    if (!h || http_header_find(req, "if-none-match"))
        return 0;
    long long since = parse_http_date(h->value);
    return since >= 0 && since <= (long long)time(NULL) && (long long)st->st_mtime <= since;
    /* LAB 3 END */
}

static void set_last_modified(struct http_res *res, const struct stat *st)
{
    char date[32];
    http_date_format((long long)st->st_mtime, date);
    http_res_set_header(res, "Last-Modified", date);
}

static void send_file_head(struct http_res *res, const char *real, const struct stat *st)
{
    char length[32];
    snprintf(length, sizeof length, "%lld", (long long)st->st_size);
    http_res_set_header(res, "Content-Type", http_static_mime_type(real));
    set_last_modified(res, st);
    http_res_set_header(res, "Content-Length", length);
}

/* The one-line body of each refusal. */
static const char *status_message(int status)
{
    switch (status) {
    case PATH_MALFORMED:
        return "the request target is not a valid path\n";
    case PATH_ABOVE_ROOT:
        return "forbidden\n";
    case 404:
        return "not found\n";
    default:
        return "the server could not open its directory\n";
    }
}

void http_static_serve(const char *root, const struct http_request *req, struct http_res *res)
{
    char path[PATH_MAX], real[PATH_MAX];
    struct stat st;
    int fd, status;
    int head = slice_eq(req->method, "HEAD");
    if (!head && !slice_eq(req->method, "GET")) {
        http_res_set_header(res, "Allow", "GET, HEAD");
        send_status(res, 405, "only GET and HEAD are served here\n");
        return;
    }
    struct slice target = target_path(req->target);
    status = normalize(target.ptr, target.len, path, sizeof path);
    if (status == PATH_OK)
        status = open_under_root(root, path, real, &fd, &st);
    if (status != 0) {
        send_status(res, status, status_message(status));
        return;
    }
    if (not_modified(req, &st)) {
        close(fd);
        set_last_modified(res, &st);
        http_res_status(res, 304);
        http_res_end(res, NULL, 0);
        return;
    }
    send_file_head(res, real, &st);
    if (head || st.st_size == 0) {
        close(fd);
        http_res_end(res, NULL, 0);
        return;
    }
    struct file_send *fs = malloc(sizeof *fs);
    if (!fs)
        abort();
    fs->fd = fd;
    fs->left = st.st_size;
    http_res_set_user(res, fs);
    http_res_on_drain(res, on_drain);
    http_res_on_close(res, on_close);
    send_more(res);
}
