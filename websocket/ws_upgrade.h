/* ws_upgrade.h - the server's half of the opening handshake (RFC 6455 section 4.2), as pure
 * functions over a parsed HTTP request.
 *
 * A client asks to switch protocols with an ordinary HTTP/1.1 GET:
 *
 *     GET /chat HTTP/1.1
 *     Host: 127.0.0.1:8000
 *     Upgrade: websocket
 *     Connection: Upgrade
 *     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
 *     Sec-WebSocket-Version: 13
 *     Origin: http://127.0.0.1:8000            (browsers always send it)
 *     Sec-WebSocket-Protocol: chat, example    (optional: sub-protocols, best first)
 *
 * and the server agrees with
 *
 *     HTTP/1.1 101 Switching Protocols
 *     Upgrade: websocket
 *     Connection: Upgrade
 *     Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
 *     Sec-WebSocket-Protocol: example          (one of the offered, if any was acceptable)
 *
 * or refuses with an ordinary HTTP status: 400 for a malformed request or key, 426 (with
 * Sec-WebSocket-Version: 13) for another version, 403 for an origin not on the allow-list.
 * Header names are compared without regard to case, and Connection is a token list
 * ("keep-alive, Upgrade" is fine): two of the tutorials' bugs.
 */
#ifndef WIRELAB_WS_UPGRADE_H
#define WIRELAB_WS_UPGRADE_H

#include <stddef.h>

#include "buf.h"
#include "http_parser.h"
#include "ws_handshake.h"

/* What the server is willing to accept. Empty lists mean "any origin" / "no sub-protocol". */
struct ws_upgrade_policy {
    const char *const *origins; /* allowed Origin values, exactly ("http://127.0.0.1:8000") */
    size_t norigins;
    const char *const *protocols; /* sub-protocols we speak, in our order of preference */
    size_t nprotocols;
};

/* The outcome of checking a request. */
struct ws_upgrade {
    int status;         /* 101 to accept, else the error status to answer */
    const char *reason; /* one line for the error body and the trace */
    char accept[WS_ACCEPT_SIZE];
    const char *protocol; /* the chosen sub-protocol (from the policy), or NULL */
    struct slice origin;  /* the request's Origin, possibly empty */
    int hixie76;          /* the request is the old draft's (Key1/Key2): see ws_upgrade_check */
};

/* Checks req against RFC 6455 and the policy, filling *up. Returns up->status. A request with
 * Sec-WebSocket-Key1 and Key2 and no Sec-WebSocket-Key is the old draft's: then status is 101
 * only when allow_hixie76 is set, with up->hixie76 = 1; the caller must read the 8-byte key3
 * that follows the head and answer with ws_upgrade_hixie76_response. */
int ws_upgrade_check(const struct http_request *req, const struct ws_upgrade_policy *policy,
                     int allow_hixie76, struct ws_upgrade *up);

/* Appends the 101 response for an RFC 6455 upgrade to out. */
void ws_upgrade_response(const struct ws_upgrade *up, struct buf *out);

/* Appends the error response (up->status, a one-line body, Connection: close) to out; a 426
 * carries Sec-WebSocket-Version: 13. */
void ws_upgrade_error_response(const struct ws_upgrade *up, struct buf *out);

/* Appends the old draft's 101 response: Sec-WebSocket-Origin, Sec-WebSocket-Location (built
 * from Host and the target; "wss://" when secure, the connection being TLS, else "ws://"), and
 * the 16-byte MD5 answer as the body. Returns 0, or -1 if the keys are invalid (the connection
 * should then be closed). */
int ws_upgrade_hixie76_response(const struct http_request *req,
                                const unsigned char key3[WS_HIXIE76_KEY3_SIZE], int secure,
                                struct buf *out);

#endif
