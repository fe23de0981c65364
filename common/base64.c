/* base64.c - RFC 4648 base64, written group by group.
 *
 * Three bytes are 24 bits; base64 cuts them into four 6-bit numbers and writes each as one of
 * 64 characters. When the input does not fill the last group, the encoder writes only the
 * characters that carry data and pads with '=' to four. The decoder runs the same steps
 * backwards and insists on the canonical form: the bits that the padding leaves over must be
 * zero, because otherwise two different strings would decode to the same bytes.
 *
 * Try it against the shell's tool: printf 'hello' | base64 prints aGVsbG8=.
 */
#include "base64.h"

#include <stdint.h>
#include <string.h>

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t base64_decoded_max(size_t len)
{
    return len / 4 * 3;
}

/* Writes one group of 1 to 3 bytes as four characters. A short group leaves the low bits of
 * its 24 zero and is padded with '=' where no data remains. */
static void encode_group(const unsigned char *in, size_t n, char out[4])
{
    uint32_t bits = (uint32_t)in[0] << 16;

    if (n > 1)
        bits |= (uint32_t)in[1] << 8;
    if (n > 2)
        bits |= in[2];
    out[0] = base64_alphabet[(bits >> 18) & 63];
    out[1] = base64_alphabet[(bits >> 12) & 63];
    out[2] = n > 1 ? base64_alphabet[(bits >> 6) & 63] : '=';
    out[3] = n > 2 ? base64_alphabet[bits & 63] : '=';
}

size_t base64_encode(const void *data, size_t n, char *out)
{
    const unsigned char *in = data;
    size_t done = 0, written = 0;

    while (done < n) {
        size_t group = n - done < 3 ? n - done : 3;
        encode_group(in + done, group, out + written);
        done += group;
        written += 4;
    }
    out[written] = '\0';
    return written;
}

/* The 6-bit value of one base64 character, or -1 for anything outside the alphabet
 * (the padding character '=' included: the caller handles padding itself). */
static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* How many '=' end this group of four: 0, 1 ("xxx=") or 2 ("xx=="). A '=' anywhere else is
 * not counted here; sextet() then rejects it as a character outside the alphabet. */
static int padding_in_group(const char in[4])
{
    if (in[3] != '=')
        return 0;
    return in[2] == '=' ? 2 : 1;
}

/* Decodes one group of four characters into 3, 2 or 1 bytes; only the last group of the input
 * may carry padding. Returns the number of bytes, or -1 if the group is malformed. */
static int decode_group(const char in[4], int is_last, unsigned char out[3])
{
    int pad = padding_in_group(in);
    uint32_t bits = 0;

    if (pad > 0 && !is_last)
        return -1;
    for (int i = 0; i < 4 - pad; i++) {
        int value = sextet(in[i]);
        if (value < 0)
            return -1;
        bits |= (uint32_t)value << (18 - 6 * i);
    }
    /* With one '=' the last 8 of the 24 bits carry no data, with two the last 16. They must be
     * zero: "QQ==" is "A", and "QR==" must not be read as "A" too. */
    if ((bits & ((UINT32_C(1) << (8 * pad)) - 1)) != 0)
        return -1;
    out[0] = (unsigned char)(bits >> 16);
    out[1] = (unsigned char)(bits >> 8);
    out[2] = (unsigned char)bits;
    return 3 - pad;
}

ssize_t base64_decode(const char *in, size_t len, void *out, size_t cap)
{
    unsigned char *dst = out;
    size_t used = 0;

    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        unsigned char bytes[3];
        int n = decode_group(in + i, i + 4 == len, bytes);
        if (n < 0 || (size_t)n > cap - used)
            return -1;
        memcpy(dst + used, bytes, (size_t)n);
        used += (size_t)n;
    }
    return (ssize_t)used;
}
