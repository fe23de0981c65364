/* md5.h - the MD5 hash of RFC 1321, for the old (hixie-76) WebSocket handshake.
 *
 * Draft 76 of the WebSocket protocol, which browsers spoke in 2010, answered the client's
 * challenge with an MD5 digest (see ws_handshake.h). MD5 has been broken for security use for
 * a long time; here it only reproduces that historical handshake. Do not use this module for
 * anything that must resist an attacker.
 *
 * The shape is the same as sha1.h: md5_hash() in one call, or md5_init / md5_update (any
 * number of times) / md5_final.
 */
#ifndef WIRELAB_MD5_H
#define WIRELAB_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_SIZE 16 /* bytes in a digest (128 bits) */
#define MD5_BLOCK_SIZE 64  /* bytes the compression function takes at a time */

/* The running state of one hash. Treat the fields as private. */
struct md5_ctx {
    uint32_t state[4];                   /* A, B, C, D: the hash of the blocks so far */
    uint64_t length;                     /* bytes hashed so far */
    unsigned char block[MD5_BLOCK_SIZE]; /* bytes waiting for a full block */
    size_t block_len;                    /* how many of them */
};

/* Starts a new hash. */
void md5_init(struct md5_ctx *ctx);

/* Adds len bytes to the hash; call it any number of times, with any split of the message. */
void md5_update(struct md5_ctx *ctx, const void *data, size_t len);

/* Finishes the hash and writes the 16-byte digest. The context is wiped; md5_init it again
 * before another use. */
void md5_final(struct md5_ctx *ctx, unsigned char digest[MD5_DIGEST_SIZE]);

/* Hashes len bytes in one call: init, update, final. */
void md5_hash(const void *data, size_t len, unsigned char digest[MD5_DIGEST_SIZE]);

#endif
