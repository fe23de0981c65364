/* helper_guard.c - the guard page behind guard_place (see guard.h).
 *
 * The region is some readable pages followed by one PROT_NONE page. Each placement copies the
 * input to the end of the readable part, so no byte after it can be read. The region is kept
 * for the next placement; a test that places thousands of prefixes maps it only once.
 */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *region;        /* the mapping: readable pages, then the guard page */
static size_t region_len;   /* all of it, guard page included */
static size_t readable_len; /* the part before the guard page */

void guard_release(void)
{
    if (region)
        munmap(region, region_len);
    region = NULL;
    region_len = 0;
    readable_len = 0;
}

/* Maps enough whole pages for len bytes, plus the guard page after them. */
static void guard_map(size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t readable = (len + page - 1) / page * page;
    void *mem =
        mmap(NULL, readable + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("guard_place: mmap");
        abort();
    }
    if (mprotect((char *)mem + readable, page, PROT_NONE) != 0) {
        perror("guard_place: mprotect");
        abort();
    }
    region = mem;
    region_len = readable + page;
    readable_len = readable;
}

const char *guard_place(const void *data, size_t len)
{
    if (region == NULL || len > readable_len) {
        guard_release();
        guard_map(len);
    }
    char *copy = region + readable_len - len;
    if (len > 0)
        memcpy(copy, data, len);
    return copy;
}
