/* test_ws_handshake.c - base64, SHA-1, MD5, and the WebSocket handshake values built on them.
 *
 * The vectors come from the documents that define each algorithm: RFC 4648 section 10 for
 * base64, FIPS 180 (the "abc", 448-bit and million-'a' messages) for SHA-1, RFC 1321's test
 * suite for MD5, RFC 6455 and the tutorial documents for Sec-WebSocket-Accept, and draft 76
 * for the old challenge. The digests of runs of 'a' around block boundaries were computed with
 * Python's hashlib; they check the padding, where hash implementations usually go wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "guard.h"
#include "md5.h"
#include "sha1.h"
#include "tap.h"
#include "ws_handshake.h"

/* Writes n bytes as lowercase hex into out (2n + 1 bytes of room) and returns out. */
static char *to_hex(const unsigned char *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    out[2 * n] = '\0';
    return out;
}

/* A string of n copies of 'a', for the block-boundary and million-byte vectors. */
static char *repeat_a(size_t n)
{
    char *s = malloc(n + 1);

    if (s == NULL) {
        perror("malloc");
        exit(1);
    }
    memset(s, 'a', n);
    s[n] = '\0';
    return s;
}

/* Decodes text placed right before an unreadable page (guard.h), so that a decoder reading
 * one character too far crashes instead of passing by luck. */
static ssize_t decode_guarded(const char *text, void *out, size_t cap)
{
    size_t len = strlen(text);

    return base64_decode(guard_place(text, len), len, out, cap);
}

/* ---- base64 ----------------------------------------------------------------------------- */

static void test_base64_vectors(void)
{
    static const char *const vectors[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };

    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const char *plain = vectors[i][0], *encoded = vectors[i][1];
        char text[16];
        unsigned char bytes[16];
        size_t n = base64_encode(plain, strlen(plain), text);
        ssize_t m = decode_guarded(encoded, bytes, sizeof bytes);

        TAP_EQ_STR(text, encoded, "base64 encodes \"%s\" (RFC 4648 section 10)", plain);
        TAP_EQ_INT(n, base64_encoded_len(strlen(plain)), "base64_encoded_len(%zu)", strlen(plain));
        TAP_OK(m == (ssize_t)strlen(plain) && memcmp(bytes, plain, strlen(plain)) == 0,
               "base64 decodes \"%s\"", encoded);
    }
}

static void test_base64_round_trip(void)
{
    unsigned char data[64], back[64];
    int ok = 1;

    for (size_t n = 0; n <= sizeof data; n++) {
        char encoded[4 * 64 / 3 + 4 + 1];
        for (size_t i = 0; i < n; i++)
            data[i] = (unsigned char)(i * 37 + n * 11);
        base64_encode(data, n, encoded);
        if (base64_decode(encoded, strlen(encoded), back, sizeof back) != (ssize_t)n ||
            memcmp(back, data, n) != 0)
            ok = 0;
    }
    TAP_OK(ok, "base64 round-trips every length from 0 to 64 bytes");
}

static void test_base64_rejects(void)
{
    static const char *const bad[][2] = {
        {"Zg", "missing padding"},
        {"Zg=", "a length that is not a multiple of 4"},
        {"Z===", "three padding characters"},
        {"=Zg=", "padding in front"},
        {"Zm=v", "padding inside a group"},
        {"Zg==Zg==", "padding before the last group"},
        {"Zh==", "non-zero bits under two '='"},
        {"Zm9=", "non-zero bits under one '='"},
        {"Zm9v\n", "a newline"},
        {" Zm9", "a space"},
        {"-_==", "the URL-safe alphabet"},
        {"Zm9v!A==", "a character outside the alphabet"},
        {"====", "nothing but padding"},
    };
    unsigned char out[16];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TAP_EQ_INT(decode_guarded(bad[i][0], out, sizeof out), -1, "base64 rejects %s", bad[i][1]);
    TAP_EQ_INT(decode_guarded("Zm9v", out, 2), -1, "base64 rejects output that does not fit");
    TAP_EQ_INT(decode_guarded("Zm9v", out, 3), 3, "base64 fills a buffer exactly");
}

/* ---- SHA-1 and MD5 ---------------------------------------------------------------------- */

static void check_sha1(const char *msg, size_t len, const char *want, const char *name)
{
    unsigned char digest[SHA1_DIGEST_SIZE];
    char hex[2 * SHA1_DIGEST_SIZE + 1];

    sha1_hash(msg, len, digest);
    TAP_EQ_STR(to_hex(digest, sizeof digest, hex), want, "SHA-1 of %s", name);
}

static void check_md5(const char *msg, size_t len, const char *want, const char *name)
{
    unsigned char digest[MD5_DIGEST_SIZE];
    char hex[2 * MD5_DIGEST_SIZE + 1];

    md5_hash(msg, len, digest);
    TAP_EQ_STR(to_hex(digest, sizeof digest, hex), want, "MD5 of %s", name);
}

static void test_sha1_vectors(void)
{
    static const char *const msg448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char *million = repeat_a(1000000);

    check_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "the empty string");
    check_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d", "\"abc\"");
    check_sha1(msg448, strlen(msg448), "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
               "the 448-bit message");
    check_sha1(million, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f", "a million 'a'");
    free(million);
}

static void test_md5_vectors(void)
{
    static const char *const suite[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
         "0",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };

    for (size_t i = 0; i < sizeof suite / sizeof suite[0]; i++) {
        char name[100];
        snprintf(name, sizeof name, "\"%.40s%s\" (RFC 1321)", suite[i][0],
                 strlen(suite[i][0]) > 40 ? "..." : "");
        check_md5(suite[i][0], strlen(suite[i][0]), suite[i][1], name);
    }
}

/* Messages of n 'a' where n sits around the 56- and 64-byte edges of the padding. */
static void test_padding_edges(void)
{
    static const struct {
        size_t n;
        const char *sha1, *md5;
    } edges[] = {
        {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a", "ef1772b6dff9a122358552954ad0df65"},
        {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699", "3b0c8ac703f828b04c6c197006d17218"},
        {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5", "b06521f39153d618550606be297466d5"},
        {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d", "014842d480b571495a4a0363793f7367"},
        {65, "11655326c708d70319be2610e8a57d9a5b959d3b", "c743a45e0d2e6a95cb859adae0248435"},
        {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56", "8a7bd0732ed6a28ce75f6dabc90e1613"},
        {120, "f34c1488385346a55709ba056ddd08280dd4c6d6", "5f61c0ccad4cac44c75ff505e1f1e537"},
    };

    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        char *msg = repeat_a(edges[i].n);
        char name[32];
        snprintf(name, sizeof name, "%zu 'a'", edges[i].n);
        check_sha1(msg, edges[i].n, edges[i].sha1, name);
        check_md5(msg, edges[i].n, edges[i].md5, name);
        free(msg);
    }
}

/* Hashing in pieces must give the same digest whatever the pieces: here the million 'a' in
 * chunks of 1, 2, ..., 200 bytes in turn, which splits blocks at every offset. */
static void test_streaming(void)
{
    char *million = repeat_a(1000000);
    unsigned char sha[SHA1_DIGEST_SIZE], md[MD5_DIGEST_SIZE];
    char hex[2 * SHA1_DIGEST_SIZE + 1];
    struct sha1_ctx sctx;
    struct md5_ctx mctx;
    size_t done = 0, chunk = 1;

    sha1_init(&sctx);
    md5_init(&mctx);
    while (done < 1000000) {
        size_t n = 1000000 - done < chunk ? 1000000 - done : chunk;
        sha1_update(&sctx, million + done, n);
        md5_update(&mctx, million + done, n);
        done += n;
        chunk = chunk % 200 + 1;
    }
    sha1_final(&sctx, sha);
    md5_final(&mctx, md);
    TAP_EQ_STR(to_hex(sha, sizeof sha, hex), "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
               "SHA-1 of a million 'a' fed in uneven pieces");
    TAP_EQ_STR(to_hex(md, sizeof md, hex), "7707d6ae4e027c70eea2a935c2296f21",
               "MD5 of a million 'a' fed in uneven pieces");
    free(million);
}

/* ---- The handshake ---------------------------------------------------------------------- */

static void test_accept_vectors(void)
{
    static const char *const vectors[][2] = {
        /* from the tutorial documents (section 000) */
        {"uR5YP/BMO6M24tAFcmHeXw==", "eS92kXpBNI6fWsCkj6WxH6QeoHs="},
        {"IHfMdf8a0aQXbwQO1pkGdA==", "aWAY+V/uyz5ILZEoWuWdxjnlb7E="},
        {"O/SldTn2Th7GfsD07IxrwQ==", "H8BlFmSUnXVpM4+scTXjZIwFjzs="},
        /* RFC 6455, section 1.3 */
        {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
    };

    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char accept[WS_ACCEPT_SIZE];
        ws_accept_key(vectors[i][0], accept);
        TAP_EQ_STR(accept, vectors[i][1], "accept value for key %s", vectors[i][0]);
        TAP_OK(ws_key_is_valid(vectors[i][0]), "key %s is valid", vectors[i][0]);
    }
}

static void test_key_validation(void)
{
    static const char *const bad[] = {
        "",                             /* empty */
        "dGhlIHNhbXBsZSBub25jZQ",       /* padding missing */
        "AAAAAAAAAAAAAAAA",             /* 12 bytes */
        "AAAAAAAAAAAAAAAAAAAAAAA=",     /* 17 bytes */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 21 bytes */
        "dGhlIHNhbXBsZSBub25jZR==",     /* stray bits after the 16th byte */
        "dGhlIHNhbXBsZSBub25jZQ== ",    /* trailing space (the caller trims) */
        "dGhlIHNhbXBsZSBub25j*Q==",     /* not base64 */
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TAP_OK(!ws_key_is_valid(bad[i]), "key \"%s\" is invalid", bad[i]);
}

static void test_hixie76(void)
{
    static const unsigned char key3[8] = {'^', 'n', ':', 'd', 's', '[', '4', 'U'};
    unsigned char answer[WS_HIXIE76_ANSWER_SIZE];
    int r = ws_hixie76_answer("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", key3, answer);

    TAP_EQ_INT(r, 0, "draft-76 example keys are accepted");
    TAP_EQ_MEM(answer, sizeof answer, "8jKS'y:G*Co,Wxa-", 16, "draft-76 example answer");

    TAP_EQ_INT(ws_hixie76_answer("12345", "1 2", key3, answer), -1,
               "draft-76: a key without spaces is refused");
    TAP_EQ_INT(ws_hixie76_answer("1  1", "1 2", key3, answer), -1,
               "draft-76: a number that does not divide by its spaces is refused");
    TAP_EQ_INT(ws_hixie76_answer("4294967296 ", "1 2", key3, answer), -1,
               "draft-76: a number above 4294967295 is refused");
    TAP_EQ_INT(ws_hixie76_answer("99999999999999999999999 ", "1 2", key3, answer), -1,
               "draft-76: a very long number is refused without overflowing");
    TAP_EQ_INT(ws_hixie76_answer("4294967295 ", "1 2", key3, answer), 0,
               "draft-76: 4294967295 with one space is the largest accepted");
}

int main(void)
{
    test_base64_vectors();
    test_base64_round_trip();
    test_base64_rejects();
    test_sha1_vectors();
    test_md5_vectors();
    test_padding_edges();
    test_streaming();
    test_accept_vectors();
    test_key_validation();
    test_hixie76();
    guard_release();
    return tap_done();
}
