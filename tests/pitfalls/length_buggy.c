/* length_buggy - encodes a server's text frame of N bytes and prints it in hex, writing the
 * length as buffer[1] = length. THE BUG IS ON PURPOSE.
 *
 * Document 002's server sends every message this way. The second byte of a frame holds the
 * MASK bit and a 7-bit length, and 7 bits only reach 127: RFC 6455 keeps 0-125 for the length
 * itself and makes 126 and 127 say "a 16-bit (or 64-bit) big-endian length follows". A message
 * of 200 bytes written as buffer[1] = 200 (0xc8) sets the MASK bit and says 72.
 * Short test messages never show it; the first long one breaks the connection.
 *
 *   cc -o /tmp/length_buggy tests/pitfalls/length_buggy.c
 *   /tmp/length_buggy 100 | ./bin/ws-frame decode       right, by luck
 *   /tmp/length_buggy 200 | ./bin/ws-frame decode       MASK set, length 72, the rest garbage
 *
 * Its twin length_fixed.c differs only in encode(); diff the two to see the lesson.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bug: the length goes straight into the 7-bit field, whatever it is. */
static size_t encode(unsigned char *frame, const char *payload, size_t len)
{
    frame[0] = 0x80 | 0x1; /* FIN, opcode 1 (text) */
    frame[1] = (unsigned char)len;
    memcpy(frame + 2, payload, len);
    return 2 + len;
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
