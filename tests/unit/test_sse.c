/* test_sse.c - the text/event-stream writer: every kind of line break in the data becomes its
 * own "data:" line, and the fields come out in the order and spelling EventSource reads.
 *
 *   make build/default/tests/test_sse && ./build/default/tests/test_sse
 */
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "tap.h"

struct event_case {
    const char *data;
    const char *want; /* the whole event, after "id: 7\nevent: clock\n" */
    const char *why;
};

static const struct event_case cases[] = {
    {"18:07:38", "data: 18:07:38\n\n", "one line"},
    {"18:07:38\n2026-11-23", "data: 18:07:38\ndata: 2026-11-23\n\n", "LF splits"},
    {"a\r\nb", "data: a\ndata: b\n\n", "CR LF is one break, not two"},
    {"a\rb", "data: a\ndata: b\n\n", "a lone CR breaks a line too"},
    {"a\n\nb", "data: a\ndata: \ndata: b\n\n", "an empty line in the middle is kept"},
    {"a\n", "data: a\ndata: \n\n", "a final break is kept (the browser gets \"a\\n\")"},
    {"", "data: \n\n", "empty data is one empty data line"},
    {"\r\n", "data: \ndata: \n\n", "only a break: two empty lines"},
    {"服务器说", "data: 服务器说\n\n", "UTF-8 passes through"},
};

static void test_events(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf got = BUF_INIT, want = BUF_INIT;
        sse_event(&got, "7", "clock", cases[i].data, strlen(cases[i].data));
        buf_printf(&want, "id: 7\nevent: clock\n%s", cases[i].want);
        TAP_EQ_MEM(buf_data(&got), buf_len(&got), buf_data(&want), buf_len(&want), "%s",
                   cases[i].why);
        buf_free(&got);
        buf_free(&want);
    }
}

static void test_other_fields(void)
{
    struct buf b = BUF_INIT;
    sse_event(&b, NULL, NULL, "x", 1);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "data: x\n\n", 9, "no id, no event: data only");
    buf_clear(&b);
    sse_comment(&b, "heartbeat");
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), ": heartbeat\n\n", 13, "a comment");
    buf_clear(&b);
    sse_retry(&b, 2000);
    TAP_EQ_MEM(buf_data(&b), buf_len(&b), "retry: 2000\n\n", 13, "retry");
    buf_free(&b);
}

int main(void)
{
    test_events();
    test_other_fields();
    return tap_done();
}
