/* http_parser.c - HTTP/1.1 heads and chunked bodies; the contract is in http_parser.h.
 *
 * The head parsers read left to right with a cursor (struct scan) and keep nothing between
 * calls: when the bytes run out they say so, and the caller calls again with more. Each step
 * judges only bytes it has, so a valid message cut anywhere is "incomplete", never "invalid",
 * and an invalid one is refused at the first byte that proves it, often long before the head
 * ends (a TLS handshake sent to the plain-text port fails on its first byte).
 *
 * Once the whole head is there, a second pass looks at the fields that decide how the message
 * is framed and whether the connection stays open, and stores those facts in the struct.
 */
#include "http_parser.h"

#include <string.h>

/* ---- Byte classes (RFC 9110 §5.6.2 tokens, §5.5 field values) ---- */

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Method and field names are tokens: letters, digits and a few punctuation marks. */
static int is_tchar(unsigned char c)
{
    if (is_digit(c) || is_alpha(c))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Optional whitespace (OWS) is spaces and tabs only. */
static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* VCHAR and obs-text: every byte except the controls 0x00-0x20 and DEL. */
static int is_visible(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

/* What may sit inside a field value or reason phrase: visible bytes, SP and HTAB. */
static int is_field_char(unsigned char c)
{
    return is_visible(c) || is_ows(c);
}

/* The bytes of uri-host [":" port] (RFC 3986), including IPv6 brackets and %-escapes. */
static int is_host_char(unsigned char c)
{
    if (is_digit(c) || is_alpha(c))
        return 1;
    return c != '\0' && strchr("-._~!$&'()*+,;=%:[]", c) != NULL;
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static unsigned char to_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ---- Slices ---- */

static int equals_nocase(struct slice s, const char *word)
{
    size_t n = strlen(word);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (to_lower((unsigned char)s.ptr[i]) != to_lower((unsigned char)word[i]))
            return 0;
    }
    return 1;
}

static struct slice trim_ows(struct slice s)
{
    while (s.len > 0 && is_ows((unsigned char)s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && is_ows((unsigned char)s.ptr[s.len - 1]))
        s.len--;
    return s;
}

/* Takes the next comma-separated element off the front of *rest, without the whitespace
 * around it. Splitting is exact, like a string split: "a,,b" gives "a", "", "b" and "5," gives
 * "5", "", so each caller decides what an empty element means. Returns 0 when nothing is left;
 * a slice with a NULL pointer holds no elements at all. */
static int list_next(struct slice *rest, struct slice *elem)
{
    if (rest->ptr == NULL)
        return 0;
    const char *comma = memchr(rest->ptr, ',', rest->len);
    size_t n = comma ? (size_t)(comma - rest->ptr) : rest->len;
    *elem = trim_ows((struct slice){rest->ptr, n});
    if (comma) {
        rest->ptr = comma + 1;
        rest->len -= n + 1;
    } else {
        rest->ptr = NULL;
        rest->len = 0;
    }
    return 1;
}

/* Reads 1*DIGIT into *out. Fails on anything else, and on numbers beyond int64_t. */
static int parse_decimal(struct slice s, int64_t *out)
{
    int64_t v = 0;
    if (s.len == 0)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (!is_digit(c) || v > (INT64_MAX - (c - '0')) / 10)
            return 0;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 1;
}

/* ---- The cursor ----
 *
 * Every step returns SCAN_OK (it read what it wanted and moved p past it), SCAN_MORE (the
 * bytes ran out first) or SCAN_BAD (it stored a status and a reason). After SCAN_MORE or
 * SCAN_BAD the position no longer matters: the next call starts again from the first byte. */

enum scan_result { SCAN_OK, SCAN_MORE, SCAN_BAD };

struct scan {
    const char *p;      /* the next byte to look at */
    const char *end;    /* one past the last byte we may look at */
    int status;         /* the HTTP status to answer, for SCAN_BAD in a request */
    const char *reason; /* and why */
};

static enum scan_result scan_fail(struct scan *s, int status, const char *reason)
{
    s->status = status;
    s->reason = reason;
    return SCAN_BAD;
}

static int scan_at_eol(const struct scan *s)
{
    return s->p < s->end && (*s->p == '\r' || *s->p == '\n');
}

/* Consumes a line ending: CRLF, or a bare LF (see the header for why we accept it). A CR that
 * is followed by anything but LF is an error: RFC 9112 §2.2 lets a recipient reject it, and
 * some parsers take a lone CR for a line break while others take it for data, which is how one
 * field can be smuggled inside another. other is the reason to give when the byte here does
 * not end a line at all. */
static enum scan_result scan_eol(struct scan *s, const char *other)
{
    if (s->p == s->end)
        return SCAN_MORE;
    if (*s->p == '\n') {
        s->p++;
        return SCAN_OK;
    }
    if (*s->p != '\r')
        return scan_fail(s, 400, other);
    if (s->p + 1 == s->end)
        return SCAN_MORE;
    if (s->p[1] != '\n')
        return scan_fail(s, 400, "CR not followed by LF");
    s->p += 2;
    return SCAN_OK;
}

/* Moves over a run of token characters and returns it in *out. Returns SCAN_MORE when the
 * input ends inside the run; otherwise p rests on the first byte after it. */
static enum scan_result scan_token(struct scan *s, struct slice *out)
{
    const char *begin = s->p;
    while (s->p < s->end && is_tchar((unsigned char)*s->p))
        s->p++;
    out->ptr = begin;
    out->len = (size_t)(s->p - begin);
    return s->p == s->end ? SCAN_MORE : SCAN_OK;
}

/* Matches "HTTP/" DIGIT "." DIGIT, byte by byte so that a prefix such as "HTTP/1." is simply
 * incomplete. The name is case-sensitive (RFC 9112 §2.3). */
static enum scan_result scan_version(struct scan *s, int *major, int *minor)
{
    static const char shape[] = "HTTP/#.#";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (s->p + i == s->end)
            return SCAN_MORE;
        unsigned char c = (unsigned char)s->p[i];
        int fits = shape[i] == '#' ? is_digit(c) : c == (unsigned char)shape[i];
        if (!fits)
            return scan_fail(s, 400, "malformed HTTP version");
    }
    *major = s->p[5] - '0';
    *minor = s->p[7] - '0';
    s->p += sizeof shape - 1;
    return SCAN_OK;
}

/* ---- Field lines (RFC 9112 §5), shared by requests and responses ---- */

/* A field value runs to the end of the line; the whitespace around it is not part of it. */
static enum scan_result scan_field_value(struct scan *s, struct slice *value)
{
    while (s->p < s->end && is_ows((unsigned char)*s->p))
        s->p++;
    const char *begin = s->p;
    while (s->p < s->end && is_field_char((unsigned char)*s->p))
        s->p++;
    if (s->p == s->end)
        return SCAN_MORE;
    *value = trim_ows((struct slice){begin, (size_t)(s->p - begin)});
    return scan_eol(s, "control character in field value");
}

/* name ":" OWS value OWS line-ending. A line that starts with whitespace is obs-fold, the old
 * way of continuing the previous value; RFC 9112 §5.2 lets a server reject it, and we do,
 * because a parser that joins the lines and one that does not see different fields. Space
 * before the colon must be rejected (§5.1) for the same reason. */
static enum scan_result scan_field_line(struct scan *s, struct http_header *h)
{
    if (is_ows((unsigned char)*s->p))
        return scan_fail(s, 400, "obs-fold: field line starts with whitespace");
    enum scan_result r = scan_token(s, &h->name);
    if (r != SCAN_OK)
        return r;
    if (is_ows((unsigned char)*s->p))
        return scan_fail(s, 400, "whitespace between field name and colon");
    if (*s->p == '\r' || *s->p == '\n')
        return scan_fail(s, 400, "field line without a colon");
    if (*s->p != ':')
        return scan_fail(s, 400, "invalid character in field name");
    if (h->name.len == 0)
        return scan_fail(s, 400, "empty field name");
    s->p++;
    return scan_field_value(s, &h->value);
}

/* Field lines up to and including the empty line that ends the head. */
static enum scan_result scan_fields(struct scan *s, struct http_header *headers, size_t *count)
{
    *count = 0;
    for (;;) {
        if (s->p == s->end)
            return SCAN_MORE;
        if (scan_at_eol(s))
            return scan_eol(s, "malformed line ending");
        if (*count == HTTP_MAX_HEADERS)
            return scan_fail(s, 431, "too many header fields");
        enum scan_result r = scan_field_line(s, &headers[*count]);
        if (r != SCAN_OK)
            return r;
        (*count)++;
    }
}

/* Turns the outcome of a head scan into the return value. The scan never looks further than
 * max_head bytes, so running out of bytes at that point means the head is too large: 431 now,
 * rather than waiting for a line that may never end. */
static ssize_t scan_finish(struct scan *s, enum scan_result r, const char *buf, size_t len,
                           size_t max_head)
{
    if (r == SCAN_OK)
        return (ssize_t)(s->p - buf);
    if (r == SCAN_MORE && len < max_head)
        return HTTP_INCOMPLETE;
    if (r == SCAN_MORE)
        scan_fail(s, 431, "header section too large");
    return HTTP_ERROR;
}

static size_t max_head_of(const struct http_limits *limits)
{
    if (limits && limits->max_header_size > 0)
        return limits->max_header_size;
    return HTTP_DEFAULT_MAX_HEADER_SIZE;
}

static size_t max_uri_of(const struct http_limits *limits)
{
    if (limits && limits->max_uri > 0)
        return limits->max_uri;
    return HTTP_DEFAULT_MAX_URI;
}

/* Only called with len > 0: an empty buffer may have a NULL pointer, and even NULL + 0 is
 * undefined behaviour in C. */
static void scan_start(struct scan *s, const char *buf, size_t len, size_t max_head)
{
    s->p = buf;
    s->end = buf + (len < max_head ? len : max_head);
    s->status = 0;
    s->reason = NULL;
}

/* ---- Facts derived from the fields ---- */

static const struct http_header *find_field(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (equals_nocase(h[i].name, name))
            return &h[i];
    }
    return NULL;
}

static size_t count_fields(const struct http_header *h, size_t n, const char *name)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (equals_nocase(h[i].name, name))
            count++;
    }
    return count;
}

/* Whether any field called name lists token; Connection may be sent on several lines. */
static int fields_have_token(const struct http_header *h, size_t n, const char *name,
                             const char *token)
{
    for (size_t i = 0; i < n; i++) {
        if (equals_nocase(h[i].name, name) && http_token_list_has(h[i].value, token))
            return 1;
    }
    return 0;
}

/* Each element must be a decimal number equal to every one seen before (see the header). */
static enum scan_result merge_content_length(struct scan *s, struct slice value, int64_t *cl)
{
    struct slice rest = value, elem;
    while (list_next(&rest, &elem)) {
        int64_t v;
        if (!parse_decimal(elem, &v))
            return scan_fail(s, 400, "invalid Content-Length");
        if (*cl >= 0 && v != *cl)
            return scan_fail(s, 400, "conflicting Content-Length values");
        *cl = v;
    }
    return SCAN_OK;
}

/* Sets *cl to the message's Content-Length, or -1 when it has none. A wrong length is not a
 * detail: the body would end in the wrong place, and the rest would be read as a new request. */
static enum scan_result read_content_length(struct scan *s, const struct http_header *h, size_t n,
                                            int64_t *cl)
{
    *cl = -1;
    for (size_t i = 0; i < n; i++) {
        if (!equals_nocase(h[i].name, "content-length"))
            continue;
        enum scan_result r = merge_content_length(s, h[i].value, cl);
        if (r != SCAN_OK)
            return r;
    }
    return SCAN_OK;
}

/* What the Transfer-Encoding fields list, in order, across all their lines. */
struct codings {
    int present;      /* some Transfer-Encoding field was sent */
    int chunked;      /* how many times "chunked" was listed */
    int chunked_last; /* "chunked" is the final coding */
    int others;       /* codings we do not implement (gzip, deflate, ...) */
};

static void read_codings(const struct http_header *h, size_t n, struct codings *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        if (!equals_nocase(h[i].name, "transfer-encoding"))
            continue;
        c->present = 1;
        struct slice rest = h[i].value, elem;
        while (list_next(&rest, &elem)) {
            if (elem.len == 0)
                continue;
            int is_chunked = equals_nocase(elem, "chunked");
            if (is_chunked)
                c->chunked++;
            else
                c->others++;
            c->chunked_last = is_chunked;
        }
    }
}

/* HTTP/1.1 keeps a connection open unless told "close"; HTTP/1.0 closes it unless told
 * "keep-alive" (RFC 9112 §9.3). */
static int decide_keep_alive(const struct http_header *h, size_t n, int version_minor)
{
    if (fields_have_token(h, n, "connection", "close"))
        return 0;
    return version_minor >= 1 || fields_have_token(h, n, "connection", "keep-alive");
}

/* ---- Requests ---- */

/* A request's body is framed by chunked or by Content-Length, never both: a front end that
 * believes one and a back end that believes the other split the stream differently, and the
 * difference is a smuggled request (RFC 9112 §6.1, §6.3). */
static enum scan_result check_request_codings(struct scan *s, const struct http_request *req,
                                              const struct codings *te)
{
    if (req->content_length >= 0)
        return scan_fail(s, 400, "both Content-Length and Transfer-Encoding");
    if (req->version_minor == 0)
        return scan_fail(s, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (te->chunked > 1)
        return scan_fail(s, 400, "chunked applied more than once");
    if (te->chunked == 1 && !te->chunked_last)
        return scan_fail(s, 400, "chunked is not the final transfer coding");
    if (te->others > 0)
        return scan_fail(s, 501, "unsupported transfer coding");
    if (te->chunked == 0)
        return scan_fail(s, 400, "empty Transfer-Encoding");
    return SCAN_OK;
}

static enum scan_result decide_request_body(struct scan *s, struct http_request *req)
{
    struct codings te;
    read_codings(req->headers, req->num_headers, &te);
    if (!te.present) {
        req->body = req->content_length >= 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
        return SCAN_OK;
    }
    enum scan_result r = check_request_codings(s, req, &te);
    if (r == SCAN_OK) {
        req->chunked = 1;
        req->body = HTTP_BODY_CHUNKED;
    }
    return r;
}

/* RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0, and a valid value. We
 * check that the value holds only characters a host and port can (RFC 3986); it may be empty,
 * for a target without an authority. */
static enum scan_result check_host(struct scan *s, struct http_request *req)
{
    size_t count = count_fields(req->headers, req->num_headers, "host");
    if (count > 1)
        return scan_fail(s, 400, "more than one Host field");
    if (count == 0 && req->version_minor == 1)
        return scan_fail(s, 400, "HTTP/1.1 request without Host");
    req->has_host = count == 1;
    if (!req->has_host)
        return SCAN_OK;
    struct slice host = find_field(req->headers, req->num_headers, "host")->value;
    for (size_t i = 0; i < host.len; i++) {
        if (!is_host_char((unsigned char)host.ptr[i]))
            return scan_fail(s, 400, "invalid Host");
    }
    return SCAN_OK;
}

/* Connection options, Upgrade and Expect. The last two are HTTP/1.1 features: a server must
 * ignore them in an HTTP/1.0 request (RFC 9110 §7.8 and §10.1.1). An upgrade needs both the
 * Upgrade field and the "upgrade" option, which says that field is meant for this hop. */
static void decide_connection(struct http_request *req)
{
    const struct http_header *h = req->headers;
    size_t n = req->num_headers;
    int http11 = req->version_minor == 1;
    req->keep_alive = decide_keep_alive(h, n, req->version_minor);
    req->upgrade = http11 && fields_have_token(h, n, "connection", "upgrade") &&
                   find_field(h, n, "upgrade") != NULL;
    req->expect_continue = http11 && fields_have_token(h, n, "expect", "100-continue");
}

static enum scan_result derive_request_facts(struct scan *s, struct http_request *req)
{
    enum scan_result r = check_host(s, req);
    if (r == SCAN_OK)
        r = read_content_length(s, req->headers, req->num_headers, &req->content_length);
    if (r == SCAN_OK)
        r = decide_request_body(s, req);
    if (r == SCAN_OK)
        decide_connection(req);
    return r;
}

/* RFC 9112 §2.2: a server should ignore empty lines before a request line. */
static enum scan_result skip_empty_lines(struct scan *s)
{
    while (scan_at_eol(s)) {
        enum scan_result r = scan_eol(s, "malformed line ending");
        if (r != SCAN_OK)
            return r;
    }
    return s->p == s->end ? SCAN_MORE : SCAN_OK;
}

static enum scan_result scan_method(struct scan *s, struct slice *method)
{
    enum scan_result r = scan_token(s, method);
    if (r != SCAN_OK)
        return r;
    if (method->len == 0 || *s->p != ' ')
        return scan_fail(s, 400, "malformed method");
    s->p++;
    return SCAN_OK;
}

/* The target ends at the next space. Its length is checked before its end is known, so that
 * an endless target is refused with 414 as soon as it passes the limit. */
static enum scan_result scan_target(struct scan *s, struct slice *target, size_t max_uri)
{
    const char *begin = s->p;
    while (s->p < s->end && is_visible((unsigned char)*s->p))
        s->p++;
    size_t n = (size_t)(s->p - begin);
    if (n > max_uri)
        return scan_fail(s, 414, "request target too long");
    if (s->p == s->end)
        return SCAN_MORE;
    if (*s->p != ' ')
        return scan_fail(s, 400,
                         scan_at_eol(s) ? "request line without HTTP version"
                                        : "invalid character in request target");
    if (n == 0)
        return scan_fail(s, 400, "empty request target");
    *target = (struct slice){begin, n};
    s->p++;
    return SCAN_OK;
}

/* A well-formed version that is not 1.0 or 1.1 (HTTP/2.0, HTTP/0.9, HTTP/1.2) is a 505:
 * we understood the question and cannot speak that version. */
static enum scan_result scan_request_version(struct scan *s, int *version_minor)
{
    int major = 0, minor = 0;
    enum scan_result r = scan_version(s, &major, &minor);
    if (r == SCAN_OK)
        r = scan_eol(s, "malformed HTTP version");
    if (r != SCAN_OK)
        return r;
    if (major != 1 || minor > 1)
        return scan_fail(s, 505, "unsupported HTTP version");
    *version_minor = minor;
    return SCAN_OK;
}

/* method SP request-target SP HTTP-version line-ending (RFC 9112 §3), single spaces only. */
static enum scan_result scan_request_line(struct scan *s, struct http_request *req, size_t max_uri)
{
    enum scan_result r = skip_empty_lines(s);
    if (r == SCAN_OK)
        r = scan_method(s, &req->method);
    if (r == SCAN_OK)
        r = scan_target(s, &req->target, max_uri);
    if (r == SCAN_OK)
        r = scan_request_version(s, &req->version_minor);
    return r;
}

static void request_reset(struct http_request *req)
{
    req->method = (struct slice){NULL, 0};
    req->target = (struct slice){NULL, 0};
    req->version_minor = 0;
    req->num_headers = 0;
    req->content_length = -1;
    req->chunked = 0;
    req->body = HTTP_BODY_NONE;
    req->keep_alive = 0;
    req->upgrade = 0;
    req->expect_continue = 0;
    req->has_host = 0;
    req->error_status = 0;
    req->error = NULL;
}

ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req,
                           const struct http_limits *limits)
{
    size_t max_head = max_head_of(limits);
    struct scan s;
    request_reset(req);
    if (len == 0)
        return HTTP_INCOMPLETE;
    scan_start(&s, buf, len, max_head);

    enum scan_result r = scan_request_line(&s, req, max_uri_of(limits));
    if (r == SCAN_OK)
        r = scan_fields(&s, req->headers, &req->num_headers);
    if (r == SCAN_OK)
        r = derive_request_facts(&s, req);

    ssize_t n = scan_finish(&s, r, buf, len, max_head);
    req->error_status = s.status;
    req->error = s.reason;
    return n;
}

/* ---- Responses ---- */

/* SP, then three digits from 100 to 599 (RFC 9110 §15). */
static enum scan_result scan_status_code(struct scan *s, int *status)
{
    if (s->p == s->end)
        return SCAN_MORE;
    if (*s->p != ' ')
        return scan_fail(s, 400, "malformed status line");
    s->p++;
    int code = 0;
    for (int i = 0; i < 3; i++, s->p++) {
        if (s->p == s->end)
            return SCAN_MORE;
        if (!is_digit((unsigned char)*s->p))
            return scan_fail(s, 400, "malformed status code");
        code = code * 10 + (*s->p - '0');
    }
    if (code < 100 || code > 599)
        return scan_fail(s, 400, "status code out of range");
    *status = code;
    return SCAN_OK;
}

/* [SP reason-phrase] line-ending. The phrase may be empty, and some servers leave out the
 * space before an empty one; a client loses nothing by accepting that. Anything else right
 * after the code ("2000") is an error, not the start of a reason. */
static enum scan_result scan_reason(struct scan *s, struct slice *reason)
{
    *reason = (struct slice){s->p, 0};
    if (s->p == s->end)
        return SCAN_MORE;
    if (*s->p != ' ')
        return scan_eol(s, "malformed status code");
    s->p++;
    const char *begin = s->p;
    while (s->p < s->end && is_field_char((unsigned char)*s->p))
        s->p++;
    *reason = (struct slice){begin, (size_t)(s->p - begin)};
    return scan_eol(s, "invalid character in reason phrase");
}

static enum scan_result scan_status_line(struct scan *s, struct http_response *resp)
{
    int major = 0, minor = 0;
    enum scan_result r = scan_version(s, &major, &minor);
    if (r == SCAN_OK && (major != 1 || minor > 1))
        r = scan_fail(s, 505, "unsupported HTTP version");
    if (r == SCAN_OK)
        r = scan_status_code(s, &resp->status);
    if (r == SCAN_OK)
        r = scan_reason(s, &resp->reason);
    resp->version_minor = minor;
    return r;
}

/* RFC 9112 §6.3: these responses never have a body, whatever their fields say. */
static int response_has_no_body(int status, int head_request)
{
    return head_request || (status >= 100 && status < 200) || status == 204 || status == 304;
}

/* A response's framing (RFC 9112 §6.3). A response that sends both framings is refused rather
 * than guessed at: it is a sign of response splitting. A final coding other than chunked means
 * the body lasts until the server closes the connection. */
static enum scan_result decide_response_body(struct scan *s, struct http_response *resp,
                                             int head_request)
{
    struct codings te;
    read_codings(resp->headers, resp->num_headers, &te);
    if (te.present && resp->content_length >= 0)
        return scan_fail(s, 400, "both Content-Length and Transfer-Encoding");
    if (te.present && resp->version_minor == 0)
        return scan_fail(s, 400, "Transfer-Encoding in an HTTP/1.0 response");
    if (te.chunked > 1)
        return scan_fail(s, 400, "chunked applied more than once");

    if (response_has_no_body(resp->status, head_request))
        resp->body = HTTP_BODY_NONE;
    else if (te.present)
        resp->body = te.chunked_last ? HTTP_BODY_CHUNKED : HTTP_BODY_UNTIL_CLOSE;
    else
        resp->body = resp->content_length >= 0 ? HTTP_BODY_LENGTH : HTTP_BODY_UNTIL_CLOSE;
    resp->chunked = resp->body == HTTP_BODY_CHUNKED;
    return SCAN_OK;
}

static enum scan_result derive_response_facts(struct scan *s, struct http_response *resp,
                                              int head_request)
{
    const struct http_header *h = resp->headers;
    size_t n = resp->num_headers;
    enum scan_result r = read_content_length(s, h, n, &resp->content_length);
    if (r == SCAN_OK)
        r = decide_response_body(s, resp, head_request);
    if (r != SCAN_OK)
        return r;
    resp->upgrade = resp->status == 101;
    resp->keep_alive =
        resp->body != HTTP_BODY_UNTIL_CLOSE && decide_keep_alive(h, n, resp->version_minor);
    return SCAN_OK;
}

static void response_reset(struct http_response *resp)
{
    resp->version_minor = 0;
    resp->status = 0;
    resp->reason = (struct slice){NULL, 0};
    resp->num_headers = 0;
    resp->content_length = -1;
    resp->chunked = 0;
    resp->body = HTTP_BODY_NONE;
    resp->keep_alive = 0;
    resp->upgrade = 0;
    resp->error = NULL;
}

ssize_t http_parse_response(const char *buf, size_t len, struct http_response *resp,
                            int head_request, const struct http_limits *limits)
{
    size_t max_head = max_head_of(limits);
    struct scan s;
    response_reset(resp);
    if (len == 0)
        return HTTP_INCOMPLETE;
    scan_start(&s, buf, len, max_head);

    enum scan_result r = scan_status_line(&s, resp);
    if (r == SCAN_OK)
        r = scan_fields(&s, resp->headers, &resp->num_headers);
    if (r == SCAN_OK)
        r = derive_response_facts(&s, resp, head_request);

    ssize_t n = scan_finish(&s, r, buf, len, max_head);
    resp->error = s.reason;
    return n;
}

/* ---- Helpers ---- */

const struct http_header *http_header_find(const struct http_request *req, const char *name)
{
    return find_field(req->headers, req->num_headers, name);
}

const struct http_header *http_response_header_find(const struct http_response *resp,
                                                    const char *name)
{
    return find_field(resp->headers, resp->num_headers, name);
}

int http_token_list_has(struct slice value, const char *token)
{
    struct slice rest = value, elem;
    while (list_next(&rest, &elem)) {
        if (elem.len > 0 && equals_nocase(elem, token))
            return 1;
    }
    return 0;
}

static const struct {
    int code;
    const char *text;
} status_texts[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {305, "Use Proxy"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},           /* RFC 6585 */
    {429, "Too Many Requests"},               /* RFC 6585 */
    {431, "Request Header Fields Too Large"}, /* RFC 6585 */
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *http_status_text(int status)
{
    for (size_t i = 0; i < sizeof status_texts / sizeof status_texts[0]; i++) {
        if (status_texts[i].code == status)
            return status_texts[i].text;
    }
    return "";
}

static int slice_is(struct slice s, const char *word)
{
    return s.len == strlen(word) && memcmp(s.ptr, word, s.len) == 0;
}

int http_method_is_idempotent(struct slice method)
{
    static const char *const idempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < sizeof idempotent / sizeof idempotent[0]; i++) {
        if (slice_is(method, idempotent[i]))
            return 1;
    }
    return 0;
}

/* ---- The chunked decoder ----
 *
 * One state per position in the grammar. The payload is handed out in runs; every other byte
 * goes through chunked_step, which checks it and returns the next state. */

enum chunked_state {
    CHUNK_SIZE_START, /* expecting the first hex digit of a chunk size */
    CHUNK_SIZE,       /* more hex digits, or what follows them */
    CHUNK_SIZE_WS,    /* whitespace after the size: only ';' may follow (BWS) */
    CHUNK_EXT,        /* inside extensions, skipped up to CR */
    CHUNK_SIZE_LF,    /* the LF of the size line */
    CHUNK_DATA,       /* payload bytes */
    CHUNK_DATA_CR,    /* the CRLF after the payload */
    CHUNK_DATA_LF,
    CHUNK_TRAILER_START, /* a trailer field, or the empty line that ends the body */
    CHUNK_TRAILER_NAME,
    CHUNK_TRAILER_VALUE,
    CHUNK_TRAILER_LF,
    CHUNK_FINAL_LF, /* the LF of the last, empty line */
    CHUNK_DONE,
    CHUNK_ERROR,
};

void http_chunked_init(struct http_chunked *dec)
{
    dec->state = CHUNK_SIZE_START;
    dec->remaining = 0;
    dec->line_len = 0;
    dec->trailer_len = 0;
    dec->error = NULL;
}

static int chunked_fail(struct http_chunked *dec, const char *reason)
{
    dec->error = reason;
    return CHUNK_ERROR;
}

/* Adds one hex digit to the size; 16 digits fill 64 bits, a 17th significant one cannot fit. */
static int chunk_size_digit(struct http_chunked *dec, int digit)
{
    if (dec->remaining > (UINT64_MAX >> 4))
        return chunked_fail(dec, "chunk size too large");
    dec->remaining = (dec->remaining << 4) | (uint64_t)digit;
    return CHUNK_SIZE;
}

static int on_size(struct http_chunked *dec, unsigned char c)
{
    int digit = hex_value(c);
    if (digit >= 0)
        return chunk_size_digit(dec, digit);
    if (dec->state == CHUNK_SIZE_START)
        return chunked_fail(dec, "chunk size is not a hex number");
    if (c == ';')
        return CHUNK_EXT;
    if (is_ows(c))
        return CHUNK_SIZE_WS;
    if (c == '\r')
        return CHUNK_SIZE_LF;
    if (c == '\n')
        return chunked_fail(dec, "chunk size line not ended by CRLF");
    return chunked_fail(dec, "invalid character after chunk size");
}

static int on_size_ws(struct http_chunked *dec, unsigned char c)
{
    if (is_ows(c))
        return CHUNK_SIZE_WS;
    if (c == ';')
        return CHUNK_EXT;
    return chunked_fail(dec, "whitespace after chunk size");
}

/* Extensions (";name=value") carry nothing we use. We skip them, but not blindly: a control
 * byte, including a bare LF, ends the body as an error. */
static int on_ext(struct http_chunked *dec, unsigned char c)
{
    if (c == '\r')
        return CHUNK_SIZE_LF;
    if (!is_field_char(c))
        return chunked_fail(dec, "control character in chunk extension");
    return CHUNK_EXT;
}

static int on_size_lf(struct http_chunked *dec, unsigned char c)
{
    if (c != '\n')
        return chunked_fail(dec, "chunk size line not ended by CRLF");
    dec->line_len = 0;
    return dec->remaining == 0 ? CHUNK_TRAILER_START : CHUNK_DATA;
}

/* The CR and LF that must follow every chunk's payload. */
static int on_data_end(struct http_chunked *dec, unsigned char c)
{
    if (dec->state == CHUNK_DATA_CR && c == '\r')
        return CHUNK_DATA_LF;
    if (dec->state == CHUNK_DATA_LF && c == '\n')
        return CHUNK_SIZE_START;
    return chunked_fail(dec, "chunk data not followed by CRLF");
}

/* Trailer fields have the shape of header fields; like extensions, they are checked and
 * dropped. An empty line ends the body. */
static int on_trailer_start(struct http_chunked *dec, unsigned char c)
{
    if (c == '\r')
        return CHUNK_FINAL_LF;
    if (!is_tchar(c))
        return chunked_fail(dec, "invalid trailer field");
    return CHUNK_TRAILER_NAME;
}

static int on_trailer_name(struct http_chunked *dec, unsigned char c)
{
    if (c == ':')
        return CHUNK_TRAILER_VALUE;
    if (!is_tchar(c))
        return chunked_fail(dec, "invalid trailer field name");
    return CHUNK_TRAILER_NAME;
}

static int on_trailer_value(struct http_chunked *dec, unsigned char c)
{
    if (c == '\r')
        return CHUNK_TRAILER_LF;
    if (!is_field_char(c))
        return chunked_fail(dec, "control character in trailer field");
    return CHUNK_TRAILER_VALUE;
}

static int on_line_lf(struct http_chunked *dec, unsigned char c)
{
    if (c != '\n')
        return chunked_fail(dec, "trailer line not ended by CRLF");
    return dec->state == CHUNK_FINAL_LF ? CHUNK_DONE : CHUNK_TRAILER_START;
}

static int in_size_line(int state)
{
    return state == CHUNK_SIZE_START || state == CHUNK_SIZE || state == CHUNK_SIZE_WS ||
           state == CHUNK_EXT;
}

static int in_trailers(int state)
{
    return state == CHUNK_TRAILER_START || state == CHUNK_TRAILER_NAME ||
           state == CHUNK_TRAILER_VALUE || state == CHUNK_TRAILER_LF || state == CHUNK_FINAL_LF;
}

/* Counts the byte about to be read against the limits, so that a peer cannot keep us reading
 * extensions or trailers for ever. The CR that ends a size line is not part of the line.
 * Returns the reason when a limit is crossed, else NULL. */
static const char *over_limits(struct http_chunked *dec, unsigned char c)
{
    if (in_size_line(dec->state) && c != '\r' && ++dec->line_len > HTTP_CHUNKED_MAX_LINE)
        return "chunk size line too long";
    if (in_trailers(dec->state) && ++dec->trailer_len > HTTP_CHUNKED_MAX_TRAILERS)
        return "trailer section too long";
    return NULL;
}

static int chunked_step(struct http_chunked *dec, unsigned char c)
{
    const char *too_long = over_limits(dec, c);
    if (too_long)
        return chunked_fail(dec, too_long);
    switch (dec->state) {
    case CHUNK_SIZE_START:
    case CHUNK_SIZE:
        return on_size(dec, c);
    case CHUNK_SIZE_WS:
        return on_size_ws(dec, c);
    case CHUNK_EXT:
        return on_ext(dec, c);
    case CHUNK_SIZE_LF:
        return on_size_lf(dec, c);
    case CHUNK_DATA_CR:
    case CHUNK_DATA_LF:
        return on_data_end(dec, c);
    case CHUNK_TRAILER_START:
        return on_trailer_start(dec, c);
    case CHUNK_TRAILER_NAME:
        return on_trailer_name(dec, c);
    case CHUNK_TRAILER_VALUE:
        return on_trailer_value(dec, c);
    default: /* CHUNK_TRAILER_LF, CHUNK_FINAL_LF */
        return on_line_lf(dec, c);
    }
}

/* Hands out as much of the current chunk's payload as the input holds. */
static struct slice take_payload(struct http_chunked *dec, const char *p, size_t avail)
{
    size_t n = avail;
    if (dec->remaining < n)
        n = (size_t)dec->remaining;
    dec->remaining -= n;
    if (dec->remaining == 0)
        dec->state = CHUNK_DATA_CR;
    return (struct slice){p, n};
}

static int chunked_result(const struct http_chunked *dec)
{
    if (dec->state == CHUNK_DONE)
        return HTTP_DONE;
    return dec->state == CHUNK_ERROR ? HTTP_ERROR : HTTP_INCOMPLETE;
}

int http_chunked_decode(struct http_chunked *dec, const char *in, size_t len, size_t *consumed,
                        struct slice *data)
{
    size_t i = 0;
    *data = (struct slice){in, 0};
    while (i < len && dec->state != CHUNK_DONE && dec->state != CHUNK_ERROR) {
        if (dec->state == CHUNK_DATA) {
            *data = take_payload(dec, in + i, len - i);
            i += data->len;
            break;
        }
        int next = chunked_step(dec, (unsigned char)in[i]);
        if (next == CHUNK_ERROR) {
            dec->state = CHUNK_ERROR;
            break;
        }
        dec->state = next;
        i++;
    }
    *consumed = i;
    return chunked_result(dec);
}
