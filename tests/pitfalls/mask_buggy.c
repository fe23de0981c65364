/* mask_buggy - decodes one WebSocket frame given in hex and prints its MASK bit and payload,
 * testing the bit as b & 0x80 == 0x80. THE BUG IS ON PURPOSE.
 *
 * Document 000 writes `buffer[1] & 0b100000000 === 0b100000000`, document 003
 * `buffers[1] & (0b10000000 == 0b10000000)`: in JavaScript as in C, == binds tighter than &, so
 * the comparison runs first, gives 1 (true), and what is tested is b & 1, the lowest bit of the
 * length. A masked frame with an even length is then read as unmasked (its masking key taken
 * for payload), and an unmasked one with an odd length as masked. (000's constant has nine
 * bits as well, so even with parentheses it would test nothing.) cc -Wall warns:
 * "suggest parentheses around comparison in operand of '&'".
 *
 *   cc -o /tmp/mask_buggy tests/pitfalls/mask_buggy.c
 *   /tmp/mask_buggy $(./bin/ws-frame encode --text 'Hi there' --mask 37fa213d)
 *
 * Only the 7-bit lengths (0-125) are read, to keep it short.
 * Its twin mask_fixed.c differs only in one line of decode(); diff the two to see the lesson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads hex bytes from the arguments ("81 85 37" or "818537"); returns how many. */
static size_t parse_hex(int argc, char **argv, unsigned char *out, size_t max)
{
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        for (const char *p = argv[i]; p[0] && p[1] && n < max; p += 2) {
            unsigned int byte;
            if (sscanf(p, "%2x", &byte) != 1) {
                fprintf(stderr, "mask: not hex: %s\n", p);
                exit(2);
            }
            out[n++] = (unsigned char)byte;
        }
    }
    return n;
}

static int decode(const unsigned char *b, size_t n)
{
    if (n < 2 || (b[1] & 0x7f) > 125) {
        fprintf(stderr, "mask: need a whole frame with a 7-bit length\n");
        return 1;
    }
    int masked = b[1] & 0x80 == 0x80; /* the bug: this is b[1] & (0x80 == 0x80), b[1] & 1 */
    size_t len = b[1] & 0x7f;
    const unsigned char *key = b + 2;
    const unsigned char *payload = b + 2 + (masked ? 4 : 0);
    if ((size_t)(payload - b) + len > n) {
        fprintf(stderr, "mask: the frame is cut short\n");
        return 1;
    }
    printf("masked: %d\npayload: ", masked);
    for (size_t i = 0; i < len; i++)
        putchar(masked ? payload[i] ^ key[i % 4] : payload[i]);
    putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    unsigned char frame[256];
    size_t n = parse_hex(argc, argv, frame, sizeof frame);
    return decode(frame, n);
}
