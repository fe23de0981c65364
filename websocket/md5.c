/* md5.c - MD5 as RFC 1321 (section 3) describes it.
 *
 * MD5 has the same outline as SHA-1: pad the message to whole 64-byte blocks, then stir each
 * block into a small state. Its state is four 32-bit words; each block takes 64 steps in four
 * rounds of sixteen, and each round has its own mixing function, its own order for reading the
 * block's sixteen words, and its own rotation amounts. Unlike SHA-1, MD5 reads and writes its
 * words little-endian, the length at the end of the padding included.
 *
 * Check it against the shell: printf abc | md5sum prints 90015098...
 */
#include "md5.h"

#include <string.h>

/* The table T of section 3.4: T[i] is the integer part of 4294967296 * |sin(i + 1)|, with i
 * in radians. They are numbers anyone can recompute rather than arbitrary ones:
 * python3 -c 'import math; print(hex(int(abs(math.sin(1)) * 2**32)))' prints 0xd76aa478. */
static const uint32_t md5_sines[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* How far each step rotates: four amounts per round, used in turn. */
static const unsigned md5_shifts[4][4] = {
    {7, 12, 17, 22},
    {5, 9, 14, 20},
    {4, 11, 16, 23},
    {6, 10, 15, 21},
};

static uint32_t rotl32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void store_le32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)x;
    p[1] = (unsigned char)(x >> 8);
    p[2] = (unsigned char)(x >> 16);
    p[3] = (unsigned char)(x >> 24);
}

/* The auxiliary functions F, G, H and I of section 3.4, one per round. */
static uint32_t md5_mix(int round, uint32_t x, uint32_t y, uint32_t z)
{
    switch (round) {
    case 0:
        return (x & y) | (~x & z);
    case 1:
        return (x & z) | (y & ~z);
    case 2:
        return x ^ y ^ z;
    default:
        return y ^ (x | ~z);
    }
}

/* Which of the block's sixteen words step i reads. Round 1 reads them in order; the others
 * stride through them (by 5 from 1, by 3 from 5, by 7 from 0), as the RFC's listing shows. */
static int md5_word_index(int i)
{
    switch (i / 16) {
    case 0:
        return i;
    case 1:
        return (5 * i + 1) % 16;
    case 2:
        return (3 * i + 5) % 16;
    default:
        return (7 * i) % 16;
    }
}

/* Processes one 64-byte block into the state. Each step of the RFC reads
 * "a = b + ((a + F(b,c,d) + X[k] + T[i]) <<< s)" and then renames the four words, so that the
 * next step updates the word to the right; the loop does the renaming by shuffling values. */
static void md5_compress(uint32_t state[4], const unsigned char block[MD5_BLOCK_SIZE])
{
    uint32_t x[16];
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];

    for (int k = 0; k < 16; k++)
        x[k] = load_le32(block + 4 * k);

    for (int i = 0; i < 64; i++) {
        int round = i / 16;
        uint32_t sum = a + md5_mix(round, b, c, d) + x[md5_word_index(i)] + md5_sines[i];
        a = d;
        d = c;
        c = b;
        b = b + rotl32(sum, md5_shifts[round][i % 4]);
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void md5_init(struct md5_ctx *ctx)
{
    /* Section 3.3: the words 01 23 45 67, 89 ab cd ef, fe dc ba 98, 76 54 32 10 as they sit in
     * memory, low byte first. */
    ctx->state[0] = 0x67452301;
    ctx->state[1] = 0xefcdab89;
    ctx->state[2] = 0x98badcfe;
    ctx->state[3] = 0x10325476;
    ctx->length = 0;
    ctx->block_len = 0;
}

/* Bytes are gathered in ctx->block until 64 are there; only then does a block run. */
void md5_update(struct md5_ctx *ctx, const void *data, size_t len)
{
    const unsigned char *p = data;

    ctx->length += len;
    while (len > 0) {
        size_t take = MD5_BLOCK_SIZE - ctx->block_len;
        if (take > len)
            take = len;
        memcpy(ctx->block + ctx->block_len, p, take);
        ctx->block_len += take;
        p += take;
        len -= take;
        if (ctx->block_len == MD5_BLOCK_SIZE) {
            md5_compress(ctx->state, ctx->block);
            ctx->block_len = 0;
        }
    }
}

/* Padding (sections 3.1 and 3.2): a 1 bit, zeros up to 8 bytes short of a block boundary, then
 * the length in bits as a 64-bit little-endian number. */
void md5_final(struct md5_ctx *ctx, unsigned char digest[MD5_DIGEST_SIZE])
{
    static const unsigned char padding[MD5_BLOCK_SIZE] = {0x80};
    uint64_t bits = ctx->length * 8;
    unsigned char length_le[8];
    size_t pad_len = ctx->block_len < 56 ? 56 - ctx->block_len : 120 - ctx->block_len;

    for (int i = 0; i < 8; i++)
        length_le[i] = (unsigned char)(bits >> (8 * i));
    md5_update(ctx, padding, pad_len);
    md5_update(ctx, length_le, sizeof length_le);
    for (int i = 0; i < 4; i++)
        store_le32(digest + 4 * i, ctx->state[i]);
    memset(ctx, 0, sizeof *ctx);
}

void md5_hash(const void *data, size_t len, unsigned char digest[MD5_DIGEST_SIZE])
{
    struct md5_ctx ctx;

    md5_init(&ctx);
    md5_update(&ctx, data, len);
    md5_final(&ctx, digest);
}
