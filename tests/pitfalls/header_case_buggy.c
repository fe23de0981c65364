/* header_case_buggy - reads a WebSocket upgrade request on stdin and prints the status line a
 * server would answer, matching header names and values case-sensitively. THE BUG IS ON PURPOSE.
 *
 * Documents 002 and 003 split each header line at ": " and look names up exactly as Chrome
 * happens to write them (headers["Sec-WebSocket-Key"]); document 001 rejects any Upgrade that
 * is not exactly 'WebSocket'. But HTTP header names are case-insensitive (RFC 9110 5.1), the
 * Upgrade token too (RFC 6455 4.2.1 asks for "websocket", in any case), and Connection is a
 * list of tokens: Firefox sends "Connection: keep-alive, Upgrade". A client or a proxy that
 * writes names in lower case, as HTTP/2 requires everyone to, is refused.
 *
 *   cc -o /tmp/header_case_buggy tests/pitfalls/header_case_buggy.c
 *   printf 'GET / HTTP/1.1\r\nupgrade: websocket\r\nconnection: upgrade\r\n'\
 *   'sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n' \
 *   | /tmp/header_case_buggy
 *
 * Its twin header_case_fixed.c differs only in the two matching functions; diff them.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The bug: names and values compared byte for byte. */
static int name_is(const char *name, const char *wanted)
{
    return strcmp(name, wanted) == 0;
}

static int value_has(const char *value, const char *token)
{
    return strcmp(value, token) == 0;
}

/* Reads the request head (up to the blank line) from stdin and checks the four headers a
 * WebSocket handshake needs. Prints the status line; exits 0 for 101, 1 for 400. */
int main(void)
{
    char line[1024];
    int upgrade = 0, connection = 0, version = 0, key = 0;
    if (!fgets(line, sizeof line, stdin) || strncmp(line, "GET ", 4) != 0) {
        puts("HTTP/1.1 400 Bad Request");
        return 1;
    }
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            break;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *value = colon + 1 + strspn(colon + 1, " \t");
        if (name_is(line, "Upgrade"))
            upgrade = value_has(value, "websocket");
        else if (name_is(line, "Connection"))
            connection = value_has(value, "Upgrade");
        else if (name_is(line, "Sec-WebSocket-Version"))
            version = strcmp(value, "13") == 0;
        else if (name_is(line, "Sec-WebSocket-Key"))
            key = strlen(value) == 24;
    }
    if (upgrade && connection && version && key) {
        puts("HTTP/1.1 101 Switching Protocols");
        return 0;
    }
    puts("HTTP/1.1 400 Bad Request");
    return 1;
}
