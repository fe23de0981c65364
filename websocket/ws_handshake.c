/* ws_handshake.c - Sec-WebSocket-Accept, key validation, and the draft-76 challenge.
 *
 * The RFC 6455 accept value is three steps: append the GUID to the key, hash with SHA-1,
 * encode the 20-byte digest in base64. The key is never decoded for that; it is hashed as the
 * text that was sent. Decoding is only for validation: the RFC says the key is a base64-encoded
 * 16-byte value, and a server should refuse anything else.
 *
 * Draft 76's challenge was meant to stop cross-protocol attacks: a client that could only send
 * ordinary HTTP could not produce keys whose numbers divide evenly by their spaces. The server
 * extracts a 32-bit number from each key, puts both big-endian in front of the 8-byte key3,
 * and answers with the MD5 of those 16 bytes.
 */
#include "ws_handshake.h"

#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "md5.h"
#include "sha1.h"

void ws_accept_key(const char *key, char out[WS_ACCEPT_SIZE])
{
    /* LAB 5 BEGIN
     * Sec-WebSocket-Accept: hash the key, as the text it was sent in, followed by WS_GUID
     * ("258EAFA5-E914-47DA-95CA-C5AB0DC85B11") with SHA-1 (sha1_init, sha1_update twice,
     * sha1_final), and write the 20-byte digest in base64 into out (base64_encode adds the NUL).
     * RFC 6455's vector: "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
     * (docs/websocket.md, the handshake; ./bin/ws-frame accept KEY computes it for you)
     * STUB: out[0] = '\0';
     */
    struct sha1_ctx ctx;
    unsigned char digest[SHA1_DIGEST_SIZE];

    sha1_init(&ctx);
    sha1_update(&ctx, key, strlen(key));
    sha1_update(&ctx, WS_GUID, strlen(WS_GUID));
    sha1_final(&ctx, digest);
    base64_encode(digest, sizeof digest, out);
    /* LAB 5 END */
}

int ws_key_is_valid(const char *key)
{
    unsigned char nonce[18]; /* 24 characters decode to at most 18 bytes */
    size_t len = strlen(key);

    /* A longer key cannot decode to 16 bytes; stopping here also keeps nonce[] small. */
    if (len > base64_encoded_len(WS_KEY_BYTES))
        return 0;
    return base64_decode(key, len, nonce, sizeof nonce) == WS_KEY_BYTES;
}

/* Extracts the number a draft-76 key hides: its digits read as one decimal number, divided by
 * its count of spaces. Returns 0 and sets *part, or -1 if the draft says to abort: no spaces,
 * a remainder, or a number above 4294967295 (the draft's limit, so the part fits 32 bits). */
static int hixie76_key_part(const char *key, uint32_t *part)
{
    uint64_t number = 0;
    uint32_t spaces = 0;

    for (const char *p = key; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            number = number * 10 + (uint64_t)(*p - '0');
            if (number > UINT32_MAX)
                return -1;
        } else if (*p == ' ') {
            spaces++;
        }
    }
    if (spaces == 0 || number % spaces != 0)
        return -1;
    *part = (uint32_t)(number / spaces);
    return 0;
}

static void store_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
}

int ws_hixie76_answer(const char *key1, const char *key2,
                      const unsigned char key3[WS_HIXIE76_KEY3_SIZE],
                      unsigned char answer[WS_HIXIE76_ANSWER_SIZE])
{
    uint32_t part1, part2;
    unsigned char challenge[16];

    if (hixie76_key_part(key1, &part1) < 0 || hixie76_key_part(key2, &part2) < 0)
        return -1;
    store_be32(challenge, part1);
    store_be32(challenge + 4, part2);
    memcpy(challenge + 8, key3, WS_HIXIE76_KEY3_SIZE);
    md5_hash(challenge, sizeof challenge, answer);
    return 0;
}
