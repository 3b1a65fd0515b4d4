/* Small helpers shared by the core: time, ids, names. */
#ifndef DSQL_CORE_UTIL_H
#define DSQL_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "deltasql/error.h"

/* Wall-clock milliseconds since the epoch. */
int64_t util_now_ms(void);
/* Monotonic milliseconds, for timeouts. */
int64_t util_monotonic_ms(void);
/* Monotonic microseconds, for latency. */
int64_t util_monotonic_us(void);
/* Sleeps for ms milliseconds. */
void util_sleep_ms(int64_t ms);
/* A uniformly random integer in [0, bound). */
uint64_t util_random(uint64_t bound);
/* Writes a UUIDv7 (time-ordered) as 36 characters plus NUL. */
void util_uuid7(char out[37]);
/* Writes a random UUIDv4. */
void util_uuid4(char out[37]);
/* Table names: 1 to 255 bytes of valid UTF-8 with no control characters.
 * Returns DSQL_OK or DSQL_EINVALID with a message. */
int util_check_name(const char *what, const char *name, dsql_error *err);
/* Whether s is valid UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF). */
int util_utf8_valid(const char *s);
/* Copies src into dst (capacity cap), always NUL-terminating. */
void util_copy(char *dst, size_t cap, const char *src);

#endif
