/* sha1.h - the SHA-1 hash of FIPS 180-4, for the WebSocket handshake.
 *
 * The server proves that it understood a WebSocket handshake by hashing the client's
 * Sec-WebSocket-Key with a fixed GUID (RFC 6455, section 4.2.2). SHA-1 is no longer safe where
 * an attacker could benefit from a collision, but the handshake needs none of that: it only
 * shows that the server speaks WebSocket. Do not use this module for anything that must
 * resist an attacker.
 *
 * Hash in one call with sha1_hash(), or in pieces as the bytes arrive:
 *
 *     struct sha1_ctx ctx;
 *     unsigned char digest[SHA1_DIGEST_SIZE];
 *     sha1_init(&ctx);
 *     sha1_update(&ctx, "ab", 2);
 *     sha1_update(&ctx, "c", 1);
 *     sha1_final(&ctx, digest);    -- the same digest as sha1_hash("abc", 3, digest)
 */
#ifndef WIRELAB_SHA1_H
#define WIRELAB_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_SIZE 20 /* bytes in a digest (160 bits) */
#define SHA1_BLOCK_SIZE 64  /* bytes the compression function takes at a time */

/* The running state of one hash. Treat the fields as private. */
struct sha1_ctx {
    uint32_t state[5];                    /* H0..H4, the hash of the blocks so far */
    uint64_t length;                      /* bytes hashed so far */
    unsigned char block[SHA1_BLOCK_SIZE]; /* bytes waiting for a full block */
    size_t block_len;                     /* how many of them */
};

/* Starts a new hash. */
void sha1_init(struct sha1_ctx *ctx);

/* Adds len bytes to the hash; call it any number of times, with any split of the message. */
void sha1_update(struct sha1_ctx *ctx, const void *data, size_t len);

/* Finishes the hash and writes the 20-byte digest. The context is wiped; sha1_init it again
 * before another use. */
void sha1_final(struct sha1_ctx *ctx, unsigned char digest[SHA1_DIGEST_SIZE]);

/* Hashes len bytes in one call: init, update, final. */
void sha1_hash(const void *data, size_t len, unsigned char digest[SHA1_DIGEST_SIZE]);

#endif
