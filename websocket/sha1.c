/* sha1.c - SHA-1 as FIPS 180-4 (section 6.1) describes it, step by step.
 *
 * The message is cut into 64-byte blocks. Each block is spread into 80 words (the message
 * schedule), and 80 rounds stir those words into five 32-bit state words; each group of
 * twenty rounds has its own logical function and constant. After the last block the state
 * is the digest. The message
 * is first padded so its length fills whole blocks: a 1 bit, zeros, and the message length
 * in bits as a 64-bit big-endian number. SHA-1 reads all its words big-endian.
 *
 * Check it against the shell: printf abc | sha1sum prints a9993e36...
 */
#include "sha1.h"

#include <string.h>

/* Rotates a 32-bit word left by n bits (0 < n < 32): FIPS 180-4 calls it ROTL. */
static uint32_t rotl32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
}

/* The logical function f_t of round t (section 4.1.1): "choose" for rounds 0-19, "majority"
 * for 40-59, and plain parity for the other two quarters. */
static uint32_t sha1_mix(int t, uint32_t b, uint32_t c, uint32_t d)
{
    if (t < 20)
        return (b & c) ^ (~b & d);
    if (t >= 40 && t < 60)
        return (b & c) ^ (b & d) ^ (c & d);
    return b ^ c ^ d;
}

/* The constant K_t of round t (section 4.2.1): one per group of twenty rounds. */
static uint32_t sha1_constant(int t)
{
    static const uint32_t k[4] = {0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6};
    return k[t / 20];
}

/* Processes one 64-byte block into the state (section 6.1.2). */
static void sha1_compress(uint32_t state[5], const unsigned char block[SHA1_BLOCK_SIZE])
{
    uint32_t w[80];
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];

    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 80; t++)
        w[t] = rotl32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

    for (int t = 0; t < 80; t++) {
        uint32_t temp = rotl32(a, 5) + sha1_mix(t, b, c, d) + e + sha1_constant(t) + w[t];
        e = d;
        d = c;
        c = rotl32(b, 30);
        b = a;
        a = temp;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
}

void sha1_init(struct sha1_ctx *ctx)
{
    /* The initial hash value H(0) of section 5.3.1. */
    ctx->state[0] = 0x67452301;
    ctx->state[1] = 0xefcdab89;
    ctx->state[2] = 0x98badcfe;
    ctx->state[3] = 0x10325476;
    ctx->state[4] = 0xc3d2e1f0;
    ctx->length = 0;
    ctx->block_len = 0;
}

/* Bytes are gathered in ctx->block until 64 are there; only then does a round run. This copies
 * every byte once more than strictly needed, which keeps the code to one path. */
void sha1_update(struct sha1_ctx *ctx, const void *data, size_t len)
{
    const unsigned char *p = data;

    ctx->length += len;
    while (len > 0) {
        size_t take = SHA1_BLOCK_SIZE - ctx->block_len;
        if (take > len)
            take = len;
        memcpy(ctx->block + ctx->block_len, p, take);
        ctx->block_len += take;
        p += take;
        len -= take;
        if (ctx->block_len == SHA1_BLOCK_SIZE) {
            sha1_compress(ctx->state, ctx->block);
            ctx->block_len = 0;
        }
    }
}

/* Padding (section 5.1.1): a 1 bit, then zeros until 8 bytes short of a block boundary, then
 * the length in bits. When fewer than 9 bytes are left in the current block, the padding
 * spills into one more block. */
void sha1_final(struct sha1_ctx *ctx, unsigned char digest[SHA1_DIGEST_SIZE])
{
    static const unsigned char padding[SHA1_BLOCK_SIZE] = {0x80};
    uint64_t bits = ctx->length * 8;
    unsigned char length_be[8];
    size_t pad_len = ctx->block_len < 56 ? 56 - ctx->block_len : 120 - ctx->block_len;

    for (int i = 0; i < 8; i++)
        length_be[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(ctx, padding, pad_len);
    sha1_update(ctx, length_be, sizeof length_be);
    for (int i = 0; i < 5; i++)
        store_be32(digest + 4 * i, ctx->state[i]);
    memset(ctx, 0, sizeof *ctx);
}

void sha1_hash(const void *data, size_t len, unsigned char digest[SHA1_DIGEST_SIZE])
{
    struct sha1_ctx ctx;

    sha1_init(&ctx);
    sha1_update(&ctx, data, len);
    sha1_final(&ctx, digest);
}
