/* utf8.h - checks that bytes are well-formed UTF-8, in pieces as they arrive.
 *
 * RFC 6455 requires the payload of a text message, and the reason in a close frame, to be
 * valid UTF-8 (section 8.1): an endpoint that receives anything else fails the connection
 * with close code 1007. A text message can come in many fragments, and a fragment may end in
 * the middle of a character, so the validator keeps its state between calls:
 *
 *     struct utf8_validator v;
 *     utf8_init(&v);
 *     utf8_feed(&v, fragment1, len1);    -- -1 as soon as a byte is wrong
 *     utf8_feed(&v, fragment2, len2);
 *     utf8_finish(&v);                   -- -1 if the message stopped mid-character
 *
 * Valid means what RFC 3629 allows: no overlong forms (C0 80 for U+0000), no surrogates
 * (U+D800..U+DFFF, which are only halves of UTF-16 pairs), nothing above U+10FFFF, and no
 * continuation byte (80..BF) without a lead byte before it.
 */
#ifndef WIRELAB_UTF8_H
#define WIRELAB_UTF8_H

#include <stddef.h>

/* The validator's state. Treat the fields as private. */
struct utf8_validator {
    unsigned char pending; /* continuation bytes still expected in this character */
    unsigned char low;     /* the smallest and largest value allowed for the next */
    unsigned char high;    /*   continuation byte */
    unsigned char failed;  /* an invalid byte was seen; stays set */
};

/* Starts validating a new text (a new message). */
void utf8_init(struct utf8_validator *v);

/* Checks len more bytes of the text. Returns 0 if everything fed so far can still be (or
 * already is) valid UTF-8, or -1 once any byte has been invalid. The error is kept: every
 * later call returns -1 too, until utf8_init. */
int utf8_feed(struct utf8_validator *v, const void *data, size_t len);

/* Says whether the text fed is complete and valid: 0 if so, -1 if a byte was invalid or the
 * text ended in the middle of a character. Call it at the end of a message. */
int utf8_finish(const struct utf8_validator *v);

/* Checks a whole text in one call: 0 if the len bytes are valid UTF-8, -1 if not. */
int utf8_check(const void *data, size_t len);

#endif
