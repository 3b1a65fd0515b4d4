/* Checks partition values against their column's type (partition.h). */
#include "partition.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads exactly n digits at *p into *out and moves past them. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return 0;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 1;
}

/* An integer of the range [lo, hi]: an optional sign, then digits. */
static int integer_ok(const char *s, int64_t lo, int64_t hi)
{
	const char *d = s + (*s == '+' || *s == '-');
	char *end;
	long long v;

	if (!is_digit(*d))
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 && v >= lo && v <= hi;
}

/* A decimal: sign, digits with an optional point, an optional exponent
 * (Java writes 0E-18 for a zero of scale 18). */
static int decimal_ok(const char *s)
{
	int n = 0;

	s += *s == '+' || *s == '-';
	for (; is_digit(*s); s++)
		n++;
	if (*s == '.')
		for (s++; is_digit(*s); s++)
			n++;
	if (n == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '+' || *s == '-';
		if (!is_digit(*s))
			return 0;
		while (is_digit(*s))
			s++;
	}
	return *s == '\0';
}

/* Whether s is word, ASCII letters compared without case (strcasecmp
 * follows the locale: in a Turkish one 'I' is not 'i'). */
static int ascii_caseeq(const char *s, const char *word)
{
	for (; *s && *word; s++, word++)
		if ((*s >= 'A' && *s <= 'Z' ? *s + 32 : *s) != *word)
			return 0;
	return *s == *word;
}

/* A floating-point number as Java and C write it: a decimal, or NaN or
 * Infinity, signed or not, in any case. Read without strtod, whose
 * decimal point follows the application's locale. */
static int floating_ok(const char *s)
{
	const char *w = s + (*s == '+' || *s == '-');

	return decimal_ok(s) || ascii_caseeq(w, "nan") || ascii_caseeq(w, "inf") ||
	       ascii_caseeq(w, "infinity");
}

/* YYYY-MM-DD (four digits or more of year, an optional sign), a real
 * day of the month; moves *p past it. */
static int date_at(const char **p)
{
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s = *p + (**p == '+' || **p == '-');
	int64_t year = 0;
	int n = 0, month, day;

	for (; is_digit(*s) && n < 9; s++, n++)
		year = year * 10 + (*s - '0');
	if (n < 4 || *s++ != '-' || !digits(&s, 2, &month) || *s++ != '-' ||
	    !digits(&s, 2, &day) || month < 1 || month > 12 || day < 1 ||
	    day > days[month - 1])
		return 0;
	if (month == 2 && day == 29 && (year % 4 != 0 || (year % 100 == 0 && year % 400 != 0)))
		return 0;
	*p = s;
	return 1;
}

static int date_ok(const char *s)
{
	return date_at(&s) && *s == '\0';
}

/* A date, ' ' or 'T', HH:MM:SS, up to 9 digits of fraction, then
 * nothing, Z, or an offset: +HH, +HHMM or +HH:MM. */
static int timestamp_ok(const char *s)
{
	int h, m, sec, n = 0;

	if (!date_at(&s) || (*s != ' ' && *s != 'T'))
		return 0;
	s++;
	if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &m) || *s++ != ':' ||
	    !digits(&s, 2, &sec) || h > 23 || m > 59 || sec > 59)
		return 0;
	if (*s == '.') {
		for (s++; is_digit(*s); s++)
			n++;
		if (n < 1 || n > 9)
			return 0;
	}
	if (*s == 'Z')
		return s[1] == '\0';
	if (*s == '+' || *s == '-') {
		s++;
		if (!digits(&s, 2, &h) || h > 18)
			return 0;
		if (*s == ':' && !is_digit(*++s))
			return 0;
		if (*s != '\0' && (!digits(&s, 2, &m) || m > 59))
			return 0;
	}
	return *s == '\0';
}

int partition_value_ok(const char *type, const char *text)
{
	if (!type || !text || !*text)
		return 1;
	if (strcmp(type, "byte") == 0)
		return integer_ok(text, INT8_MIN, INT8_MAX);
	if (strcmp(type, "short") == 0)
		return integer_ok(text, INT16_MIN, INT16_MAX);
	if (strcmp(type, "integer") == 0)
		return integer_ok(text, INT32_MIN, INT32_MAX);
	if (strcmp(type, "long") == 0)
		return integer_ok(text, INT64_MIN, INT64_MAX);
	if (strcmp(type, "float") == 0 || strcmp(type, "double") == 0)
		return floating_ok(text);
	if (strncmp(type, "decimal", 7) == 0)
		return decimal_ok(text);
	if (strcmp(type, "boolean") == 0)
		return ascii_caseeq(text, "true") || ascii_caseeq(text, "false");
	if (strcmp(type, "date") == 0)
		return date_ok(text);
	if (strcmp(type, "timestamp") == 0 || strcmp(type, "timestamp_ntz") == 0)
		return timestamp_ok(text);
	return 1;
}
