/* guard.h - place test input right before an unreadable page, so an over-read crashes.
 *
 * A parser that reads one byte past the end of its input usually gets away with it: the byte
 * is there, in the same allocation or the next one, and nothing notices. guard_place copies the
 * input so that its last byte is the last readable byte of the mapping; the page after it is
 * PROT_NONE, and reading it is a segmentation fault at the very line that over-read.
 *
 *   const char *p = guard_place(msg, len);
 *   http_parse_request(p, len, &req, NULL);   // reading p[len] crashes
 *   guard_release();                          // at the end of the test program
 */
#ifndef WIRELAB_GUARD_H
#define WIRELAB_GUARD_H

#include <stddef.h>

/* Copies data[0, len) so that it ends right before a PROT_NONE page, and returns the copy.
 * The copy is valid until the next guard_place or guard_release: one region is reused, and
 * grows when a larger input needs it. Out of memory aborts with a message. */
const char *guard_place(const void *data, size_t len);

/* Unmaps the region. Calling guard_place afterwards is fine; it maps a new one. */
void guard_release(void);

#endif
