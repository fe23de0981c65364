/* tap.h - a tiny Test Anything Protocol harness for the unit tests.
 *
 * Each check prints "ok N - name" or "not ok N - name" (with the file and line, and what was
 * expected, as "# " comment lines). tap_done() prints the plan "1..N" and returns the exit
 * status: 0 when every check passed. tests/run.sh counts the ok / not ok lines of every unit
 * binary, so one failing check is one failure in the closing "N passed, N failed".
 *
 *   int main(void) {
 *       TAP_OK(1 + 1 == 2, "arithmetic");
 *       TAP_EQ_INT(strlen("abc"), 3, "strlen");
 *       return tap_done();
 *   }
 */
#ifndef WIRELAB_TAP_H
#define WIRELAB_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int tap_check(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline int tap_check(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_count++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define TAP_OK(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define TAP_EQ_INT(got, want, ...)                                                                 \
    do {                                                                                           \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                           \
        if (!tap_check(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__))                         \
            printf("#   got %lld, want %lld\n", tap_g_, tap_w_);                                   \
    } while (0)

#define TAP_EQ_STR(got, want, ...)                                                                 \
    do {                                                                                           \
        const char *tap_g_ = (got), *tap_w_ = (want);                                              \
        int tap_same_ = tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0;                           \
        if (!tap_check(tap_same_, __FILE__, __LINE__, __VA_ARGS__))                                \
            printf("#   got \"%s\", want \"%s\"\n", tap_g_ ? tap_g_ : "(null)",                    \
                   tap_w_ ? tap_w_ : "(null)");                                                    \
    } while (0)

#define TAP_EQ_MEM(got, got_len, want, want_len, ...)                                              \
    tap_check((size_t)(got_len) == (size_t)(want_len) &&                                           \
                  memcmp((got), (want), (size_t)(want_len)) == 0,                                  \
              __FILE__, __LINE__, __VA_ARGS__)

static inline void tap_note(const char *msg)
{
    printf("# %s\n", msg);
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    if (tap_failed)
        printf("# %d of %d failed\n", tap_failed, tap_count);
    return tap_failed ? 1 : 0;
}

#endif
