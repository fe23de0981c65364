/* ws_upgrade.c - deciding whether an HTTP request may become a WebSocket, and the answer.
 *
 * Each check below is one sentence of RFC 6455 section 4.2.1; the order decides which error a
 * request with several faults gets, and goes from "not a WebSocket request at all" to "a
 * WebSocket request we do not want" (version, origin).
 */
#include "ws_upgrade.h"

#include <stdio.h>
#include <string.h>

#include "http_server.h" /* http_date_now */

/* The value of a header as a NUL-terminated copy (cut at cap - 1 bytes), or NULL. */
static const char *header_text(const struct http_request *req, const char *name, char *out,
                               size_t cap)
{
    const struct http_header *h = http_header_find(req, name);
    if (!h)
        return NULL;
    size_t n = h->value.len < cap - 1 ? h->value.len : cap - 1;
    memcpy(out, h->value.ptr, n);
    out[n] = '\0';
    return out;
}

static int refuse(struct ws_upgrade *up, int status, const char *reason)
{
    up->status = status;
    up->reason = reason;
    return status;
}

/* Whether any Connection field lists "upgrade" and any Upgrade field lists "websocket". */
static int asks_for_websocket(const struct http_request *req)
{
    int connection = 0, upgrade = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (slice_eq_nocase(h->name, "connection") && http_token_list_has(h->value, "upgrade"))
            connection = 1;
        if (slice_eq_nocase(h->name, "upgrade") && http_token_list_has(h->value, "websocket"))
            upgrade = 1;
    }
    return connection && upgrade;
}

static int origin_allowed(const struct ws_upgrade_policy *p, struct slice origin)
{
    if (p->norigins == 0)
        return 1;
    for (size_t i = 0; i < p->norigins; i++)
        if (slice_eq_nocase(origin, p->origins[i]))
            return 1;
    return 0;
}

/* Whether the comma-separated list value holds token exactly, case included.
 * Fix (ws-echo): choose_protocol used http_token_list_has, which ignores case, and then answered
 * with our spelling: a client that offered "Chat" got "chat" back, which it must reject (RFC 6455
 * section 4.1: a sub-protocol "not present in the client's handshake" fails the connection;
 * section 4.2.2: the value "MUST be derived from the client's handshake"). Node's ws and the
 * browsers compare the names exactly, and so does this. */
static int list_has_exact(struct slice value, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = value.ptr, *end = value.ptr + value.len;
    for (;;) {
        const char *comma = p < end ? memchr(p, ',', (size_t)(end - p)) : NULL;
        const char *a = p, *b = comma ? comma : end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if ((size_t)(b - a) == tlen && memcmp(a, token, tlen) == 0)
            return 1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* The first of our protocols (in our order) that the client offered, in any of its
 * Sec-WebSocket-Protocol fields. Sets *offered when the client offered any at all. */
static const char *choose_protocol(const struct http_request *req,
                                   const struct ws_upgrade_policy *p, int *offered)
{
    *offered = 0;
    for (size_t i = 0; i < req->num_headers; i++)
        if (slice_eq_nocase(req->headers[i].name, "sec-websocket-protocol"))
            *offered = 1;
    for (size_t k = 0; k < p->nprotocols; k++)
        for (size_t i = 0; i < req->num_headers; i++) {
            const struct http_header *h = &req->headers[i];
            if (slice_eq_nocase(h->name, "sec-websocket-protocol") &&
                list_has_exact(h->value, p->protocols[k]))
                return p->protocols[k];
        }
    return NULL;
}

static int is_hixie76(const struct http_request *req)
{
    return http_header_find(req, "sec-websocket-key1") &&
           http_header_find(req, "sec-websocket-key2") &&
           !http_header_find(req, "sec-websocket-key");
}

/* Version, key, origin and sub-protocol: the RFC 6455 request's own fields. */
static int check_rfc6455(const struct http_request *req, const struct ws_upgrade_policy *policy,
                         struct ws_upgrade *up)
{
    char text[64];
    const char *version = header_text(req, "sec-websocket-version", text, sizeof text);
    if (!version)
        return refuse(up, 400, "missing Sec-WebSocket-Version");
    if (strcmp(version, "13") != 0)
        return refuse(up, 426, "only WebSocket version 13 is spoken here");
    const char *key = header_text(req, "sec-websocket-key", text, sizeof text);
    if (!key || !ws_key_is_valid(key))
        return refuse(up, 400, "missing or malformed Sec-WebSocket-Key");
    ws_accept_key(key, up->accept);
    if (!origin_allowed(policy, up->origin))
        return refuse(up, 403, "origin not allowed");
    int offered;
    up->protocol = choose_protocol(req, policy, &offered);
    if (offered && policy->nprotocols > 0 && !up->protocol)
        return refuse(up, 400, "none of the offered sub-protocols is spoken here");
    return refuse(up, 101, "switching protocols");
}

int ws_upgrade_check(const struct http_request *req, const struct ws_upgrade_policy *policy,
                     int allow_hixie76, struct ws_upgrade *up)
{
    static const struct ws_upgrade_policy none = {NULL, 0, NULL, 0};
    const struct http_header *origin;
    memset(up, 0, sizeof *up);
    if (!policy)
        policy = &none;
    if ((origin = http_header_find(req, "origin")) != NULL)
        up->origin = origin->value;
    if (!slice_eq(req->method, "GET"))
        return refuse(up, 400, "a WebSocket handshake is a GET request");
    if (req->version_minor != 1)
        return refuse(up, 400, "a WebSocket handshake needs HTTP/1.1");
    if (!asks_for_websocket(req))
        return refuse(up, 400, "missing Upgrade: websocket or Connection: Upgrade");
    if (is_hixie76(req)) {
        if (!allow_hixie76)
            return refuse(up, 426, "the old draft-76 handshake is not accepted (try --legacy)");
        if (!origin_allowed(policy, up->origin))
            return refuse(up, 403, "origin not allowed");
        up->hixie76 = 1;
        return refuse(up, 101, "switching protocols (draft 76)");
    }
    return check_rfc6455(req, policy, up);
}

void ws_upgrade_response(const struct ws_upgrade *up, struct buf *out)
{
    buf_append_str(out, "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n");
    buf_printf(out, "Sec-WebSocket-Accept: %s\r\n", up->accept);
    if (up->protocol)
        buf_printf(out, "Sec-WebSocket-Protocol: %s\r\n", up->protocol);
    buf_append_str(out, "\r\n");
}

void ws_upgrade_error_response(const struct ws_upgrade *up, struct buf *out)
{
    buf_printf(out, "HTTP/1.1 %d %s\r\n", up->status, http_status_text(up->status));
    if (up->status == 426)
        buf_append_str(out, "Sec-WebSocket-Version: 13\r\n");
    buf_printf(out,
               "Content-Type: text/plain\r\nContent-Length: %zu\r\nDate: %s\r\n"
               "Connection: close\r\n\r\n%s\n",
               strlen(up->reason) + 1, http_date_now(), up->reason);
}

int ws_upgrade_hixie76_response(const struct http_request *req,
                                const unsigned char key3[WS_HIXIE76_KEY3_SIZE], int secure,
                                struct buf *out)
{
    char key1[256], key2[256], host[256], origin[256];
    unsigned char answer[WS_HIXIE76_ANSWER_SIZE];
    if (!header_text(req, "sec-websocket-key1", key1, sizeof key1) ||
        !header_text(req, "sec-websocket-key2", key2, sizeof key2) ||
        ws_hixie76_answer(key1, key2, key3, answer) < 0)
        return -1;
    if (!header_text(req, "host", host, sizeof host))
        host[0] = '\0';
    if (!header_text(req, "origin", origin, sizeof origin))
        origin[0] = '\0';
    buf_append_str(out, "HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
                        "Upgrade: WebSocket\r\n"
                        "Connection: Upgrade\r\n");
    buf_printf(out, "Sec-WebSocket-Origin: %s\r\n", origin);
    buf_printf(out, "Sec-WebSocket-Location: %s://%s%.*s\r\n\r\n", secure ? "wss" : "ws", host,
               (int)req->target.len, req->target.ptr);
    buf_append(out, answer, sizeof answer);
    return 0;
}
