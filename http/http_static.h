/* http_static.h - serving files from a directory, without letting a request escape it.
 *
 * A request target such as /docs/../../etc/passwd, /%2e%2e/secret, a symbolic link pointing
 * outside the root, or a NUL byte (%00) must never reach a file outside the root directory.
 * The rules, and the statuses a client sees:
 *   GET and HEAD only (405 with an Allow header otherwise); a target that does not decode
 *   (a bad escape, a NUL or other control byte): 400; one that climbs above the root, or a
 *   symbolic link that leads out of it: 403; a file that does not exist: 404; a directory:
 *   its index.html, else 403; anything but a regular file, or one we may not read: 403.
 *   An absolute-form target (http://host/path) is served by its path.
 * Responses carry Content-Type from the file's extension, Content-Length, Last-Modified, and
 * answer If-Modified-Since with 304 Not Modified.
 *
 * Try it: ./bin/http-server --static docs, then curl -v http://127.0.0.1:8000/tcp.md and
 * curl --path-as-is http://127.0.0.1:8000/../Makefile (403).
 */
#ifndef WIRELAB_HTTP_STATIC_H
#define WIRELAB_HTTP_STATIC_H

#include "http_parser.h"
#include "http_server.h"

/* Checks that root is a directory we can open. Returns 0, or -1 with errno. */
int http_static_check_root(const char *root);

/* Answers req from the files under root, through res (the whole response, ended). */
void http_static_serve(const char *root, const struct http_request *req, struct http_res *res);

/* The Content-Type for a file name by its extension ("text/html; charset=utf-8", ...),
 * "application/octet-stream" when unknown. */
const char *http_static_mime_type(const char *path);

/* Decodes a request target's path (the part before '?') into out (size out_size): %XX escapes
 * decoded, "." and ".." segments resolved, repeated slashes folded. Returns 0, or -1 when the
 * path is malformed (bad escape, NUL byte, not starting with '/') or climbs above the root.
 * The result starts with '/'. Pure: tests call it directly. */
int http_static_normalize(const char *target, size_t target_len, char *out, size_t out_size);

#endif
