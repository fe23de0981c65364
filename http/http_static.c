/* http_static.c - files from a directory over HTTP, and the checks that keep requests inside it.
 *
 * Two walls stand between a request and a file outside the root:
 *  1. http_static_normalize() decodes the target and resolves "." and ".." itself, refusing any
 *     path that climbs above "/" and any NUL byte, so "/../x", "/%2e%2e/x" and "/a/%00" never
 *     become file names;
 *  2. realpath() then resolves symbolic links, and the result must still lie under the root's
 *     own real path, so a link inside the root that points outside it leads nowhere.
 * (A file swapped for a link between the check and the open could still slip through; a server
 * facing hostile local users would open each component with openat and O_NOFOLLOW instead.)
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
    return 0;
}

/* ---- the target's path ---- */

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

/* Appends one path segment to out (which holds "/a/b" of length *n), resolving "." and "..".
 * Returns -1 when ".." would climb above the root. */
static int push_segment(char *out, size_t *n, const char *seg, size_t seg_len, size_t out_size)
{
    if (seg_len == 0 || (seg_len == 1 && seg[0] == '.'))
        return 0;
    if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') {
        if (*n == 0)
            return -1;
        while (*n > 0 && out[*n - 1] != '/')
            (*n)--;
        (*n)--; /* the slash before the removed segment */
        return 0;
    }
    if (*n + 1 + seg_len + 1 > out_size)
        return -1;
    out[(*n)++] = '/';
    memcpy(out + *n, seg, seg_len);
    *n += seg_len;
    return 0;
}

int http_static_normalize(const char *target, size_t target_len, char *out, size_t out_size)
{
    char decoded[PATH_MAX];
    if (target_len == 0 || target[0] != '/' || out_size < 2)
        return -1;
    long dlen = percent_decode(target, target_len, decoded, sizeof decoded);
    if (dlen < 0)
        return -1;
    size_t n = 0;
    const char *p = decoded, *end = decoded + dlen;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        if (push_segment(out, &n, p, (size_t)(seg_end - p), out_size) < 0)
            return -1;
        p = seg_end + (slash ? 1 : 0);
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return 0;
}

/* ---- MIME types and dates ---- */

const char *http_static_mime_type(const char *path)
{
    static const char *const table[][2] = {
        {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
        {"json", "application/json"},         {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"}, {"c", "text/plain; charset=utf-8"},
        {"h", "text/plain; charset=utf-8"},   {"xml", "application/xml"},
        {"png", "image/png"},                 {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},               {"gif", "image/gif"},
        {"svg", "image/svg+xml"},             {"ico", "image/x-icon"},
        {"webp", "image/webp"},               {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},           {"mp4", "video/mp4"},
        {"woff2", "font/woff2"},              {"gz", "application/gzip"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcasecmp(dot + 1, table[i][0]) == 0)
                return table[i][1];
    return "application/octet-stream";
}

/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). Returns -1 if it is not one. */
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
               &used) != 7 || (size_t)used != v.len || strcmp(gmt, "GMT") != 0)
        return -1;
    const char *mp = strstr(months, mon);
    if (!mp || (mp - months) % 3 != 0)
        return -1;
    tm.tm_mday = day, tm.tm_mon = (int)((mp - months) / 3), tm.tm_year = year - 1900;
    tm.tm_hour = h, tm.tm_min = m, tm.tm_sec = s;
    return (long long)timegm(&tm);
}

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
}

static void send_status(struct http_res *res, int status, const char *text)
{
    http_res_status(res, status);
    http_res_set_header(res, "Content-Type", "text/plain; charset=utf-8");
    http_res_end(res, text, strlen(text));
}

/* Resolves the request to a regular file under root: 0 with *fd open, or an HTTP status. */
static int open_under_root(const char *root, const char *path, int *fd, struct stat *st)
{
    char real_root[PATH_MAX], joined[PATH_MAX * 2], real[PATH_MAX];
    if (!realpath(root, real_root))
        return 500;
    snprintf(joined, sizeof joined, "%s%s", real_root, path);
    if (!realpath(joined, real))
        return errno == ENOENT || errno == ENOTDIR ? 404 : 403;
    size_t rl = strlen(real_root);
    if (strncmp(real, real_root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return 403; /* a symbolic link led outside the root */
    if (stat(real, st) < 0)
        return 404;
    if (S_ISDIR(st->st_mode)) {
        if (strlen(real) + sizeof "/index.html" > sizeof real)
            return 403;
        strcat(real, "/index.html");
        if (stat(real, st) < 0 || !S_ISREG(st->st_mode))
            return 403;
    }
    if (!S_ISREG(st->st_mode))
        return 403;
    *fd = open(real, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return errno == EACCES ? 403 : 404;
    return 0;
}

/* Whether the client's copy (If-Modified-Since) is still current. */
static int not_modified(const struct http_request *req, const struct stat *st)
{
    const struct http_header *h = http_header_find(req, "if-modified-since");
    if (!h)
        return 0;
    long long since = parse_http_date(h->value);
    return since >= 0 && (long long)st->st_mtime <= since;
}

static void send_file_head(struct http_res *res, const char *path, const struct stat *st)
{
    char date[32], length[32];
    http_date_format((long long)st->st_mtime, date);
    snprintf(length, sizeof length, "%lld", (long long)st->st_size);
    http_res_set_header(res, "Content-Type", http_static_mime_type(path));
    http_res_set_header(res, "Last-Modified", date);
    http_res_set_header(res, "Content-Length", length);
}

void http_static_serve(const char *root, const struct http_request *req, struct http_res *res)
{
    char path[PATH_MAX];
    struct stat st;
    int fd, status;
    int head = slice_eq(req->method, "HEAD");
    if (!head && !slice_eq(req->method, "GET")) {
        http_res_set_header(res, "Allow", "GET, HEAD");
        send_status(res, 405, "only GET and HEAD are served here\n");
        return;
    }
    if (http_static_normalize(req->target.ptr, req->target.len, path, sizeof path) < 0) {
        send_status(res, 403, "that path leads outside the served directory\n");
        return;
    }
    if ((status = open_under_root(root, path, &fd, &st)) != 0) {
        send_status(res, status, status == 404 ? "not found\n" : "forbidden\n");
        return;
    }
    if (not_modified(req, &st)) {
        close(fd);
        http_res_status(res, 304);
        http_res_end(res, NULL, 0);
        return;
    }
    send_file_head(res, path, &st);
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
