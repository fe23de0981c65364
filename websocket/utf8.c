/* utf8.c - a UTF-8 validator as an explicit state machine, one byte at a time.
 *
 * A UTF-8 character is a lead byte, which says how many continuation bytes follow, and then
 * that many bytes in the range 80..BF. The state between bytes is just "how many continuation
 * bytes are still due" and "which values the next one may take". Usually that range is the
 * whole 80..BF; only right after four particular lead bytes is it narrower, and that is where
 * every forbidden form is caught. The table, from the Unicode Standard (table 3-7, "well-formed
 * UTF-8 byte sequences"):
 *
 *     lead      1st continuation  then       code points
 *     00..7F    -                            U+0000..U+007F
 *     C2..DF    80..BF                       U+0080..U+07FF
 *     E0        A0..BF            80..BF     U+0800..U+0FFF
 *     E1..EC    80..BF            80..BF     U+1000..U+CFFF
 *     ED        80..9F            80..BF     U+D000..U+D7FF  (stops before the surrogates)
 *     EE..EF    80..BF            80..BF     U+E000..U+FFFF
 *     F0        90..BF            80..BF x2  U+10000..U+3FFFF
 *     F1..F3    80..BF            80..BF x2  U+40000..U+FFFFF
 *     F4        80..8F            80..BF x2  U+100000..U+10FFFF
 *
 * Any byte not in the first column cannot start a character: 80..BF are continuation bytes
 * out of place, C0 and C1 could only start overlong two-byte forms, and F5..FF would start
 * code points above U+10FFFF.
 */
#include "utf8.h"

void utf8_init(struct utf8_validator *v)
{
    v->pending = 0;
    v->low = 0x80;
    v->high = 0xbf;
    v->failed = 0;
}

/* After four lead bytes the first continuation byte may not take every value, because some
 * values would spell a form that UTF-8 forbids. */
static void narrow_first_continuation(struct utf8_validator *v, unsigned char lead)
{
    switch (lead) {
    case 0xe0: /* E0 80..9F would be an overlong form of U+0000..U+07FF */
        v->low = 0xa0;
        break;
    case 0xed: /* ED A0..BF would be the surrogates U+D800..U+DFFF */
        v->high = 0x9f;
        break;
    case 0xf0: /* F0 80..8F would be an overlong form of U+0000..U+FFFF */
        v->low = 0x90;
        break;
    case 0xf4: /* F4 90..BF would be above U+10FFFF */
        v->high = 0x8f;
        break;
    default:
        break;
    }
}

/* A byte where a new character must start. Returns -1 if it cannot be a lead byte. */
static int start_character(struct utf8_validator *v, unsigned char byte)
{
    if (byte <= 0x7f)
        return 0; /* ASCII: a whole character by itself */
    if (byte >= 0xc2 && byte <= 0xdf)
        v->pending = 1;
    else if (byte >= 0xe0 && byte <= 0xef)
        v->pending = 2;
    else if (byte >= 0xf0 && byte <= 0xf4)
        v->pending = 3;
    else
        return -1;
    narrow_first_continuation(v, byte);
    return 0;
}

/* A byte where a continuation byte is due. Returns -1 if it is outside the allowed range
 * (which includes an ASCII or lead byte arriving too early: a truncated character). */
static int continue_character(struct utf8_validator *v, unsigned char byte)
{
    if (byte < v->low || byte > v->high)
        return -1;
    v->pending--;
    v->low = 0x80;
    v->high = 0xbf;
    return 0;
}

int utf8_feed(struct utf8_validator *v, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len && !v->failed; i++) {
        int ok = v->pending == 0 ? start_character(v, p[i]) : continue_character(v, p[i]);
        if (ok < 0)
            v->failed = 1;
    }
    return v->failed ? -1 : 0;
}

int utf8_finish(const struct utf8_validator *v)
{
    return v->failed || v->pending > 0 ? -1 : 0;
}

int utf8_check(const void *data, size_t len)
{
    struct utf8_validator v;

    utf8_init(&v);
    if (utf8_feed(&v, data, len) < 0)
        return -1;
    return utf8_finish(&v);
}
