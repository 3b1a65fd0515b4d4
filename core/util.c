/* Small helpers shared by the core. */
#define _GNU_SOURCE
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void util_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r > 0)
			got += (size_t)r;
	}
}

uint64_t util_random(uint64_t bound)
{
	uint64_t v;

	if (bound == 0)
		return 0;
	random_bytes((unsigned char *)&v, sizeof(v));
	return v % bound;
}

static void format_uuid(char out[37], const unsigned char b[16])
{
	snprintf(out, 37,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	         b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	         b[14], b[15]);
}

void util_uuid7(char out[37])
{
	unsigned char b[16];
	uint64_t ms = (uint64_t)util_now_ms();

	random_bytes(b, sizeof(b));
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	format_uuid(out, b);
}

void util_uuid4(char out[37])
{
	unsigned char b[16];

	random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	format_uuid(out, b);
}

/* Length of the UTF-8 sequence at s, or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int util_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p; p += n) {
		while (*p && *p < 0x80)
			p++;
		if (!*p)
			break;
		if ((n = utf8_len(p)) == 0)
			return 0;
	}
	return 1;
}

int util_check_name(const char *what, const char *name, dsql_error *err)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len;

	if (!name || !*name)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0, "%s name is empty", what);
	len = strlen(name);
	if (len > 255)
		return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                      "%s name is %zu bytes long; the limit is 255", what, len);
	while (*s) {
		size_t n = utf8_len(s);

		if (n == 0)
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "%s name is not valid UTF-8", what);
		if (n == 1 && (*s < 0x20 || *s == 0x7f))
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "%s name contains a control character", what);
		s += n;
	}
	return DSQL_OK;
}

void util_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}
