/* ws_handshake.h - the computations inside a WebSocket opening handshake.
 *
 * RFC 6455 (section 4): the client sends a random 16-byte nonce, base64-encoded, as
 * Sec-WebSocket-Key. The server answers 101 Switching Protocols with
 *
 *     Sec-WebSocket-Accept: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
 *
 * which proves that it read the request as a WebSocket handshake (a plain HTTP server, or a
 * cache, would not produce it). With the RFC's example key:
 *
 *     ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);   -- "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 *
 * The old draft (draft-hixie-thewebsocketprotocol-76, 2010) did it differently: two headers
 * Sec-WebSocket-Key1 and Key2 each hide a number among digits and spaces, the request body
 * carries 8 more bytes (key3), and the server answers with a 16-byte MD5 digest as the body of
 * its response. ws_hixie76_answer() computes it.
 *
 * These functions only compute; reading headers and writing responses is the HTTP layer's job.
 */
#ifndef WIRELAB_WS_HANDSHAKE_H
#define WIRELAB_WS_HANDSHAKE_H

#include <stddef.h>

/* The GUID that RFC 6455 appends to every key before hashing. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Room for an accept value: 28 base64 characters (20 bytes of SHA-1) and a NUL. */
#define WS_ACCEPT_SIZE 29

/* The decoded Sec-WebSocket-Key is always this many bytes (section 4.1). */
#define WS_KEY_BYTES 16

/* The draft-76 parts: key3 in the request body, and the answer in the response body. */
#define WS_HIXIE76_KEY3_SIZE 8
#define WS_HIXIE76_ANSWER_SIZE 16

/* Computes the Sec-WebSocket-Accept value for key, the Sec-WebSocket-Key header's value as a
 * NUL-terminated string without surrounding whitespace. Writes 28 characters and a NUL to out.
 * The key is hashed as sent; check it first with ws_key_is_valid(). */
void ws_accept_key(const char *key, char out[WS_ACCEPT_SIZE]);

/* Whether key (NUL-terminated) is a valid Sec-WebSocket-Key: strict base64 that decodes to
 * exactly 16 bytes (so, 24 characters ending in "=="). Returns 1 if so, 0 if not; a server
 * answers an invalid key with 400 Bad Request. */
int ws_key_is_valid(const char *key);

/* Computes the draft-76 answer from the values of Sec-WebSocket-Key1 and Key2 (NUL-terminated)
 * and the 8 bytes that follow the request's headers. For each key: its digits, read in order
 * as one decimal number, divided by its number of spaces; the answer is the MD5 of the two
 * quotients as 32-bit big-endian numbers followed by key3.
 * Returns 0 and fills answer, or -1 (answer untouched) if a key has no spaces, its number is
 * not an exact multiple of its spaces, or its number does not fit in 32 bits: the draft tells
 * a server to abort the connection then. */
int ws_hixie76_answer(const char *key1, const char *key2,
                      const unsigned char key3[WS_HIXIE76_KEY3_SIZE],
                      unsigned char answer[WS_HIXIE76_ANSWER_SIZE]);

#endif
