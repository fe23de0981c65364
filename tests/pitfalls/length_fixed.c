/* length_fixed - encodes a server's text frame of N bytes and prints it in hex, with the
 * length in whichever of RFC 6455's three forms it needs.
 *
 * Document 002's server sends every message this way. The second byte of a frame holds the
 * MASK bit and a 7-bit length, and 7 bits only reach 127: RFC 6455 keeps 0-125 for the length
 * itself and makes 126 and 127 say "a 16-bit (or 64-bit) big-endian length follows". A message
 * of 200 bytes written as buffer[1] = 200 (0xc8) sets the MASK bit and says 72.
 * Short test messages never show it; the first long one breaks the connection
 * (length_buggy.c). Here 0-125 go in the 7 bits, up to 65535 after 126 in 16 bits, and the rest
 * after 127 in 64 bits, most significant byte first.
 *
 *   cc -o /tmp/length_fixed tests/pitfalls/length_fixed.c
 *   /tmp/length_fixed 200 | ./bin/ws-frame decode       126, then 00 c8
 *   /tmp/length_fixed 70000 | ./bin/ws-frame decode     127, then 00 00 00 00 00 01 11 70
 *
 * It differs from its twin length_buggy.c only in encode(); diff the two to see the lesson.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fix: the 7-bit field holds lengths up to 125; 126 and 127 announce a 16-bit or a 64-bit
 * length in the bytes that follow, in network byte order. */
static size_t encode(unsigned char *frame, const char *payload, size_t len)
{
    size_t head = 2;
    frame[0] = 0x80 | 0x1; /* FIN, opcode 1 (text) */
    if (len <= 125) {
        frame[1] = (unsigned char)len;
    } else if (len <= 0xffff) {
        frame[1] = 126;
        frame[2] = (unsigned char)(len >> 8);
        frame[3] = (unsigned char)len;
        head = 4;
    } else {
        frame[1] = 127;
        for (int i = 0; i < 8; i++)
            frame[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        head = 10;
    }
    memcpy(frame + head, payload, len);
    return head + len;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LENGTH\n", argv[0]);
        return 2;
    }
    size_t len = strtoul(argv[1], NULL, 10);
    char *payload = malloc(len + 1);
    unsigned char *frame = malloc(len + 14);
    if (!payload || !frame)
        return 1;
    for (size_t i = 0; i < len; i++)
        payload[i] = (char)('a' + i % 26);

    size_t n = encode(frame, payload, len);
    for (size_t i = 0; i < n; i++)
        printf("%02x%c", frame[i], i + 1 < n ? ' ' : '\n');
    free(payload);
    free(frame);
    return 0;
}
