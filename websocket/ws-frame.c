/* ws-frame - a calculator for the WebSocket handshake and frame format (documents 000 四,
 * 001 and 002), for working through the tutorials' examples by hand.
 *
 *   ./bin/ws-frame accept dGhlIHNhbXBsZSBub25jZQ==
 *       s3pPLMBiTxaQ9kYGzzhZRbK+xOo=    (the Sec-WebSocket-Accept a server must answer)
 *   ./bin/ws-frame decode 81 85 37 fa 21 3d 7f 9f 4d 51 58
 *       every field of RFC 6455's masked "Hello" (section 5.7), and the payload unmasked
 *   ./bin/ws-frame encode --text Hello --mask 37fa213d
 *       81 85 37 fa 21 3d 7f 9f 4d 51 58
 *   ./bin/ws-frame hixie76 '4 @1  46546xW%0l 1 5' '12998 5 Y3 1  .P00' '^n:ds[4U'
 *       the old draft's answer, 8jKS'y:G*Co,Wxa-, and how it is computed
 *
 * decode reads any number of frames one after another, as a receiver would, and says which rule
 * a bad one breaks, with the close code a receiver would send. Paste bytes from a capture
 * (Wireshark, or ws-echo -x) to see what they mean.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "trace.h"
#include "utf8.h"
#include "ws_frame.h"
#include "ws_handshake.h"

static const char usage[] =
    "Usage: ws-frame COMMAND ARGUMENTS\n"
    "A calculator for the WebSocket handshake and frame format.\n"
    "\n"
    "  ws-frame accept KEY           the Sec-WebSocket-Accept value for a Sec-WebSocket-Key\n"
    "  ws-frame decode [HEX...]      every field of each frame in HEX (spaces optional; read\n"
    "                                from stdin when no HEX is given), its payload unmasked, or\n"
    "                                the rule a bad frame breaks (exit status 1)\n"
    "  ws-frame encode [options]     the bytes of one frame, in hex:\n"
    "      --text TEXT               a text payload (opcode text unless --opcode says otherwise)\n"
    "      --binary HEX              a binary payload (opcode binary unless --opcode says so)\n"
    "      --close CODE              a close frame with CODE (and --text as its reason)\n"
    "      --opcode NAME|N           continuation, text, binary, close, ping, pong, or 0-15\n"
    "      --fin 0|1                 the FIN bit (default 1; 0: more fragments follow)\n"
    "      --mask KEY|random         mask with KEY (8 hex digits), as a client must\n"
    "  ws-frame hixie76 KEY1 KEY2 KEY3\n"
    "                                the old draft-76 answer (KEY3: 8 characters, or 8 bytes\n"
    "                                in hex as document 001 shows them: 7C:44:56:CA:1F:19:D2:0A)\n"
    "\n"
    "  -h, --help                    this text\n"
    "  -V, --version                 version\n"
    "\n"
    "Try: ws-frame decode 81 85 37 fa 21 3d 7f 9f 4d 51 58\n";

static struct cli cli;

/* ---- hex in and out ---- */

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the bytes that text spells in hex to out. Spaces, tabs, newlines, ':' and ',' may
 * separate them; the digits are taken in pairs. Any other character, or an odd number of
 * digits, is a usage error (exit 2) that names what (the argument). */
static void parse_hex(const char *text, size_t len, struct buf *out, const char *what)
{
    int high = -1;
    for (size_t i = 0; i < len; i++) {
        int d = hex_digit((unsigned char)text[i]);
        if (d < 0) {
            if (text[i] != '\0' && strchr(" \t\r\n:,", text[i]))
                continue;
            cli_usage_error(&cli, "%s: '%c' is not a hex digit", what, text[i]);
        }
        if (high < 0) {
            high = d;
        } else {
            unsigned char byte = (unsigned char)(high << 4 | d);
            buf_append(out, &byte, 1);
            high = -1;
        }
    }
    if (high >= 0)
        cli_usage_error(&cli, "%s: an odd number of hex digits", what);
}

static void print_hex(const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        printf("%s%02x", i ? " " : "", p[i]);
}

/* ---- accept ---- */

static int cmd_accept(int argc, char **argv)
{
    char accept[WS_ACCEPT_SIZE];
    if (argc != 2)
        cli_usage_error(&cli, "accept: give one Sec-WebSocket-Key");
    ws_accept_key(argv[1], accept);
    printf("%s\n", accept);
    if (!ws_key_is_valid(argv[1])) {
        trace_error("'%s' is not a valid Sec-WebSocket-Key (base64 of 16 bytes): "
                    "a server answers it with 400 Bad Request",
                    argv[1]);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* ---- decode ---- */

/* What a receiver remembers between frames: the message being reassembled. */
struct message {
    int opcode; /* WS_OP_TEXT or WS_OP_BINARY while a fragmented message is open, else -1 */
    struct utf8_validator utf8;
};

/* Prints that frame number n breaks a rule, and the close code a receiver would send. */
static int broken(int n, int code, const char *rule)
{
    trace_error("frame %d: %s (a receiver closes the connection with %d)", n, rule, code);
    return -1;
}

static void print_payload(const struct ws_header *h, const char *payload, size_t len)
{
    const char *how = h->masked ? "unmasked, " : "";
    int textual = h->opcode != WS_OP_BINARY && h->opcode != WS_OP_CLOSE;
    if (len == 0) {
        printf("payload: (empty)\n");
    } else if (textual && utf8_check(payload, len) == 0) {
        printf("payload (%stext): %.*s\n", how, (int)len, payload);
    } else {
        printf("payload (%shex): ", how);
        print_hex(payload, len);
        putchar('\n');
    }
}

static int check_close(int n, const char *payload, size_t len)
{
    struct ws_close c;
    struct ws_error err;
    if (ws_close_parse(payload, len, &c, &err) < 0)
        return broken(n, err.close_code, err.reason);
    if (c.code == WS_CLOSE_NO_STATUS)
        printf("close code: none (the receiver reports 1005)\n");
    else
        printf("close code: %d\n", c.code);
    if (c.reason_len > 0)
        printf("close reason: %.*s\n", (int)c.reason_len, c.reason);
    return 0;
}

/* The rules that span frames (section 5.4): continuations continue something, a new message
 * waits for the previous one to end, and a text message is UTF-8 as a whole. */
static int check_message(int n, struct message *m, const struct ws_header *h, const char *payload)
{
    if (h->opcode == WS_OP_CONTINUATION && m->opcode < 0)
        return broken(n, WS_CLOSE_PROTOCOL_ERROR,
                      "a continuation frame with no message to continue");
    if (h->opcode != WS_OP_CONTINUATION && m->opcode >= 0)
        return broken(n, WS_CLOSE_PROTOCOL_ERROR, "a new message before the previous one ended");
    if (h->opcode != WS_OP_CONTINUATION) {
        m->opcode = h->opcode;
        utf8_init(&m->utf8);
    }
    if (m->opcode == WS_OP_TEXT && (utf8_feed(&m->utf8, payload, (size_t)h->payload_len) < 0 ||
                                    (h->fin && utf8_finish(&m->utf8) < 0)))
        return broken(n, WS_CLOSE_INVALID_DATA, "the text message is not valid UTF-8");
    if (h->fin)
        m->opcode = -1;
    return 0;
}

/* Decodes frame number n at the start of data (unmasking its payload in place). Returns the
 * frame's length, or -1 once it has said what is wrong. */
static long decode_frame(int n, unsigned char *data, size_t len, struct message *m)
{
    struct ws_header h;
    struct ws_error err;
    char fields[256];
    ssize_t hl = ws_frame_parse_header(data, len, 0, &h, &err);
    if (hl == WS_INCOMPLETE) {
        trace_error("frame %d: the header is cut short (%zu bytes here): more should follow", n,
                    len);
        return -1;
    }
    printf("frame %d, header bytes: ", n);
    print_hex(data, h.header_len);
    putchar('\n');
    ws_frame_describe(&h, fields, sizeof fields);
    fputs(fields, stdout);
    if (hl == WS_ERROR)
        return broken(n, err.close_code, err.reason);
    if (h.payload_len > len - (size_t)hl) {
        trace_error("frame %d: the payload is cut short: %llu bytes announced, %zu here", n,
                    (unsigned long long)h.payload_len, len - (size_t)hl);
        return -1;
    }
    char *payload = (char *)data + hl;
    size_t plen = (size_t)h.payload_len;
    if (h.masked)
        ws_mask_payload(payload, plen, h.mask_key, 0);
    print_payload(&h, payload, plen);
    if (h.opcode == WS_OP_CLOSE && check_close(n, payload, plen) < 0)
        return -1;
    if (!ws_opcode_is_control(h.opcode) && check_message(n, m, &h, payload) < 0)
        return -1;
    return (long)hl + (long)plen;
}

static void read_stdin(struct buf *out)
{
    for (;;) {
        char *room = buf_reserve(out, 4096);
        ssize_t n = read(STDIN_FILENO, room, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            trace_error("stdin: %s", strerror(errno));
            exit(EXIT_RUNTIME);
        }
        if (n == 0)
            return;
        buf_commit(out, (size_t)n);
    }
}

static int cmd_decode(int argc, char **argv)
{
    struct buf text = BUF_INIT, bytes = BUF_INIT;
    struct message m = {.opcode = -1};
    if (argc == 1)
        read_stdin(&text);
    for (int i = 1; i < argc; i++) {
        buf_append_str(&text, argv[i]);
        buf_append_str(&text, " ");
    }
    parse_hex(buf_data(&text), buf_len(&text), &bytes, "decode");
    buf_free(&text);
    if (buf_len(&bytes) == 0)
        cli_usage_error(&cli, "decode: no bytes to decode");
    int rc = EXIT_OK;
    size_t at = 0;
    for (int n = 1; at < buf_len(&bytes); n++) {
        if (n > 1)
            putchar('\n');
        long used =
            decode_frame(n, (unsigned char *)buf_data(&bytes) + at, buf_len(&bytes) - at, &m);
        if (used < 0) {
            rc = EXIT_RUNTIME;
            break;
        }
        at += (size_t)used;
    }
    if (rc == EXIT_OK && m.opcode >= 0)
        printf("\n(the %s message is not finished: a frame with FIN 1 should follow)\n",
               ws_opcode_name(m.opcode));
    buf_free(&bytes);
    return rc;
}

/* ---- encode ---- */

enum { OPT_TEXT = 1, OPT_BINARY, OPT_CLOSE, OPT_OPCODE, OPT_FIN, OPT_MASK };

struct frame_spec {
    int fin;
    int opcode; /* -1: from the payload's kind */
    int masked;
    unsigned char key[4];
    struct buf payload;
};

static int parse_opcode(const char *name)
{
    static const char *const names[] = {"continuation", "text", "binary", NULL,   NULL,  NULL,
                                        NULL,           NULL,   "close",  "ping", "pong"};
    for (int op = 0; op < (int)(sizeof names / sizeof names[0]); op++)
        if (names[op] && strcmp(name, names[op]) == 0)
            return op;
    return (int)cli_number(&cli, "--opcode", name, 0, 15);
}

static void parse_mask(struct frame_spec *f, const char *arg)
{
    struct buf key = BUF_INIT;
    f->masked = 1;
    if (strcmp(arg, "random") == 0) {
        if (getentropy(f->key, sizeof f->key) != 0)
            abort();
        return;
    }
    parse_hex(arg, strlen(arg), &key, "--mask");
    if (buf_len(&key) != sizeof f->key)
        cli_usage_error(&cli, "--mask: a masking key is 4 bytes (8 hex digits)");
    memcpy(f->key, buf_data(&key), sizeof f->key);
    buf_free(&key);
}

/* The close payload: the code as two big-endian bytes, then the reason (the --text, if any). */
static void close_payload(struct frame_spec *f, int code, const char *reason)
{
    unsigned char out[WS_MAX_CONTROL_PAYLOAD];
    ssize_t n = ws_close_build(out, code, reason, reason ? strlen(reason) : 0);
    if (n < 0)
        cli_usage_error(&cli,
                        "--close: code %d is not allowed on the wire, or the reason is "
                        "over 123 bytes",
                        code);
    buf_append(&f->payload, out, (size_t)n);
}

/* What the options asked for, before the frame is built from it. */
struct encode_args {
    const char *text, *binary;
    int close_code; /* -1: not a close frame */
};

static void encode_option(int opt, const char *arg, struct frame_spec *f, struct encode_args *a)
{
    switch (opt) {
    case OPT_TEXT:
        a->text = arg;
        break;
    case OPT_BINARY:
        a->binary = arg;
        break;
    case OPT_CLOSE:
        a->close_code = (int)cli_number(&cli, "--close", arg, 0, 65535);
        break;
    case OPT_OPCODE:
        f->opcode = parse_opcode(arg);
        break;
    case OPT_FIN:
        f->fin = (int)cli_number(&cli, "--fin", arg, 0, 1);
        break;
    case OPT_MASK:
        parse_mask(f, arg);
        break;
    default:
        cli_common_option(&cli, opt, arg); /* -h, or '?': prints and exits */
        break;
    }
}

/* The payload, and the opcode that goes with it unless --opcode chose one. */
static void encode_payload(struct frame_spec *f, const struct encode_args *a)
{
    if (a->text && a->binary)
        cli_usage_error(&cli, "encode: --text or --binary, not both");
    if (a->close_code >= 0 && a->binary)
        cli_usage_error(&cli, "encode: a close frame's reason is text (--text)");
    if (a->close_code >= 0)
        close_payload(f, a->close_code, a->text);
    else if (a->binary)
        parse_hex(a->binary, strlen(a->binary), &f->payload, "--binary");
    else if (a->text)
        buf_append_str(&f->payload, a->text);
    if (f->opcode < 0)
        f->opcode = a->close_code >= 0 ? WS_OP_CLOSE : a->binary ? WS_OP_BINARY : WS_OP_TEXT;
}

static void parse_encode_args(int argc, char **argv, struct frame_spec *f)
{
    static const struct option opts[] = {
        {"text", required_argument, 0, OPT_TEXT},
        {"binary", required_argument, 0, OPT_BINARY},
        {"close", required_argument, 0, OPT_CLOSE},
        {"opcode", required_argument, 0, OPT_OPCODE},
        {"fin", required_argument, 0, OPT_FIN},
        {"mask", required_argument, 0, OPT_MASK},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct encode_args a = {NULL, NULL, -1};
    int opt;
    optind = 1; /* a second getopt pass, over the arguments after "encode" */
    while ((opt = getopt_long(argc, cli_argv(argv), "+h", opts, NULL)) != -1)
        encode_option(opt, optarg, f, &a);
    if (optind < argc)
        cli_usage_error(&cli, "encode: unexpected argument '%s'", argv[optind]);
    encode_payload(f, &a);
}

/* Why ws_frame_build_header refused: the rule the frame would break. */
static const char *unbuildable(const struct frame_spec *f)
{
    int op = f->opcode;
    if ((op >= 0x3 && op <= 0x7) || op >= 0xb)
        return "the opcode is reserved (section 5.2)";
    if (!f->fin)
        return "a control frame cannot be fragmented: --fin 0 (section 5.5)";
    return "a control frame carries at most 125 bytes (section 5.5)";
}

static int cmd_encode(int argc, char **argv)
{
    struct frame_spec f = {.fin = 1, .opcode = -1};
    unsigned char header[WS_MAX_HEADER_SIZE];
    buf_init(&f.payload);
    parse_encode_args(argc, argv, &f);
    size_t len = buf_len(&f.payload);
    size_t hl = ws_frame_build_header(header, f.fin, f.opcode, len, f.masked ? f.key : NULL);
    if (hl == 0) {
        trace_error("encode: %s", unbuildable(&f));
        buf_free(&f.payload);
        return EXIT_RUNTIME;
    }
    if (f.masked)
        ws_mask_payload(buf_data(&f.payload), len, f.key, 0);
    print_hex(header, hl);
    if (len > 0)
        putchar(' ');
    print_hex(buf_data(&f.payload), len);
    putchar('\n');
    buf_free(&f.payload);
    return EXIT_OK;
}

/* ---- hixie76 ---- */

/* Shows how the draft reads one key: its digits as one number, divided by its spaces. Returns
 * that quotient, or -1 where the draft tells a server to abort. */
static long long show_key(const char *name, const char *key)
{
    uint64_t number = 0;
    unsigned spaces = 0;
    for (const char *p = key; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (number <= UINT32_MAX) /* past the limit already: stop before it overflows */
                number = number * 10 + (uint64_t)(*p - '0');
        } else if (*p == ' ') {
            spaces++;
        }
    }
    printf("%s: \"%s\" -> ", name, key);
    if (number > UINT32_MAX) {
        printf("its digits make a number over 4294967295 (the draft's limit)\n");
        return -1;
    }
    printf("%llu (its digits) / %u (its spaces)", (unsigned long long)number, spaces);
    if (spaces == 0 || number % spaces != 0) {
        printf(": %s\n", spaces ? "not a whole number" : "the draft requires a space");
        return -1;
    }
    printf(" = %llu\n", (unsigned long long)(number / spaces));
    return (long long)(number / spaces);
}

static int all_printable(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return 0;
    return 1;
}

static void parse_key3(const char *arg, unsigned char key3[WS_HIXIE76_KEY3_SIZE])
{
    struct buf bytes = BUF_INIT;
    if (strlen(arg) == WS_HIXIE76_KEY3_SIZE) {
        memcpy(key3, arg, WS_HIXIE76_KEY3_SIZE);
        return;
    }
    parse_hex(arg, strlen(arg), &bytes, "KEY3");
    if (buf_len(&bytes) != WS_HIXIE76_KEY3_SIZE)
        cli_usage_error(&cli, "KEY3: 8 characters, or 8 bytes in hex (7C:44:56:CA:1F:19:D2:0A)");
    memcpy(key3, buf_data(&bytes), WS_HIXIE76_KEY3_SIZE);
    buf_free(&bytes);
}

static void store_be32(unsigned char *p, long long x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(x >> (24 - 8 * i));
}

static int cmd_hixie76(int argc, char **argv)
{
    unsigned char challenge[16], answer[WS_HIXIE76_ANSWER_SIZE];
    if (argc != 4)
        cli_usage_error(&cli, "hixie76: give KEY1 KEY2 KEY3");
    parse_key3(argv[3], challenge + 8);
    long long part1 = show_key("key1", argv[1]);
    long long part2 = show_key("key2", argv[2]);
    printf("key3: ");
    print_hex(challenge + 8, WS_HIXIE76_KEY3_SIZE);
    putchar('\n');
    if (part1 < 0 || part2 < 0 || ws_hixie76_answer(argv[1], argv[2], challenge + 8, answer) < 0) {
        trace_error("hixie76: a key breaks the draft's rules: a server aborts the connection");
        return EXIT_RUNTIME;
    }
    /* What gets hashed: both quotients as 32-bit big-endian numbers, then key3. */
    store_be32(challenge, part1);
    store_be32(challenge + 4, part2);
    printf("md5(");
    print_hex(challenge, sizeof challenge);
    printf(")\nanswer (hex): ");
    print_hex(answer, sizeof answer);
    putchar('\n');
    if (all_printable(answer, sizeof answer))
        printf("answer: %.*s\n", (int)sizeof answer, (const char *)answer);
    return EXIT_OK;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {0, 0, 0, 0}};
    int opt;
    cli_init(&cli, "ws-frame", 0, usage);
    /* "+": stop at the command, whose own options come after it. */
    while ((opt = getopt_long(argc, cli_argv(argv), "+" CLI_COMMON_SHORT, opts, NULL)) != -1)
        cli_common_option(&cli, opt, optarg);
    cli_finish(&cli);
    if (optind >= argc)
        cli_usage_error(&cli, "no command (accept, decode, encode or hixie76)");
    const char *cmd = argv[optind];
    argc -= optind;
    argv += optind;
    if (strcmp(cmd, "accept") == 0)
        return cmd_accept(argc, argv);
    if (strcmp(cmd, "decode") == 0)
        return cmd_decode(argc, argv);
    if (strcmp(cmd, "encode") == 0)
        return cmd_encode(argc, argv);
    if (strcmp(cmd, "hixie76") == 0)
        return cmd_hixie76(argc, argv);
    cli_usage_error(&cli, "unknown command '%s' (accept, decode, encode or hixie76)", cmd);
}
