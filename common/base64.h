/* base64.h - the base64 encoding of RFC 4648 (section 4), the one with '+' and '/'.
 *
 * Base64 writes every 3 bytes as 4 characters, each carrying 6 bits. WebSocket uses it for the
 * Sec-WebSocket-Key and Sec-WebSocket-Accept headers, HTTP for Basic authentication.
 *
 * Encoding always pads with '=' to a multiple of 4 characters. Decoding is strict: it accepts
 * only what this encoder could have produced (no whitespace, no missing padding, no stray bits),
 * so a malformed header value is rejected rather than quietly read as something else.
 */
#ifndef WIRELAB_BASE64_H
#define WIRELAB_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* How many characters base64_encode writes for n bytes, not counting the terminating NUL:
 * 4 for every started group of 3 bytes. */
size_t base64_encoded_len(size_t n);

/* The most bytes that len characters of base64 can decode to (3 for every 4 characters). */
size_t base64_decoded_max(size_t len);

/* Encodes n bytes from data into out, padding with '=', and ends it with a NUL.
 * out must have room for base64_encoded_len(n) + 1 characters.
 * Returns the number of characters written, not counting the NUL. */
size_t base64_encode(const void *data, size_t n, char *out);

/* Decodes len characters of strict base64 from in into out, which has room for cap bytes.
 * Strict means: len is a multiple of 4; every character is in the alphabet; '=' appears only
 * as one or two final padding characters; and the unused bits before the padding are zero.
 * Returns the number of bytes decoded, or -1 if the input breaks any of those rules or the
 * result would not fit in cap bytes (then out may hold part of the result). */
ssize_t base64_decode(const char *in, size_t len, void *out, size_t cap);

#endif
