/*
 * Delta paths, canonicalised by Delta's rules (see delta_path.h): a path is
 * a URI reference, decoded once to name its file (PROTOCOL.md: "the path is
 * a URI as specified by RFC 2396 URI Generic Syntax, which needs to be
 * decoded to get the data file path"); "." and empty segments name nothing.
 * The canonical spelling is the one Delta writers produce (Hadoop's
 * Path.toUri: bytes a URI path may not hold are escaped, nothing else), so
 * a log written by Spark or delta-rs is canonical already and costs one
 * scan of each path.
 */
#include "delta_path.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bytes a canonical path holds as they are: RFC 2396's unreserved and
 * path punctuation (-_.!~*'(),;:$&+=@), "/", and every non-ASCII byte
 * (UTF-8 stays as is, as Hadoop keeps it). A table: the scan of every
 * staged path is on the commit path. */
static const unsigned char plain_bytes[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static int plain(unsigned char c)
{
	return plain_bytes[c];
}

static int hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A URI scheme ("s3:", "file:"): then the path is absolute and its
 * segments are the store's business. */
static int has_scheme(const char *p)
{
	const char *s = p;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
	       *s == '+' || *s == '-' || *s == '.')
		s++;
	return *s == ':';
}

/* Whether path is canonical as it is, in one scan: nothing to escape,
 * and no empty or "." segment unless it has a scheme (looked for only
 * when there is a colon). */
static int canonical_already(const char *path)
{
	const unsigned char *p = (const unsigned char *)path, *seg;
	int odd_segment = 0, colon = 0;

	if (*p == '/')
		p++;
	for (seg = p;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);

			odd_segment |= n == 0 || (n == 1 && seg[0] == '.');
			if (!*p)
				break;
			seg = p + 1;
		} else if (!plain_bytes[*p]) {
			return 0;
		}
		colon |= *p == ':';
	}
	return !odd_segment || (colon && has_scheme(path));
}

/* Decodes src (its escapes checked) into dst, which has room for it. */
static int decode(const char *src, char *dst, size_t *len, dsql_error *err)
{
	size_t n = 0;

	for (const char *p = src; *p; p++) {
		int hi, lo;

		if (*p != '%') {
			dst[n++] = *p;
			continue;
		}
		hi = hex((unsigned char)p[1]);
		lo = hi < 0 ? -1 : hex((unsigned char)p[2]);
		if (lo < 0)
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "path '%.200s': '%%' must start an escape of two hex "
			                      "digits", src);
		if (hi == 0 && lo == 0)
			return dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
			                      "path '%.200s': '%%00' (a NUL byte) names no file", src);
		dst[n++] = (char)(hi << 4 | lo);
		p += 2;
	}
	dst[n] = '\0';
	*len = n;
	return DSQL_OK;
}

/* Drops "." and empty segments of a decoded relative or absolute path, in
 * place. */
static void normalise(char *p)
{
	char *out = p, *s = p;

	if (*s == '/') {
		out++;
		s++;
	}
	while (*s) {
		char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n > 0 && !(n == 1 && s[0] == '.')) {
			if (out > p && out[-1] != '/')
				*out++ = '/';
			memmove(out, s, n);
			out += n;
		}
		s += n + (e != NULL);
	}
	*out = '\0';
}

char *delta_path_encode(const char *decoded)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t n = 0;
	char *out, *o;

	for (const unsigned char *p = (const unsigned char *)decoded; *p; p++)
		n += plain(*p) ? 1 : 3;
	if (!(o = out = malloc(n + 1)))
		return NULL;
	for (const unsigned char *p = (const unsigned char *)decoded; *p; p++) {
		if (plain(*p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = digits[*p >> 4];
			*o++ = digits[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

char *delta_path_decode(const char *path)
{
	char *out = malloc(strlen(path) + 1);
	size_t len;

	if (out && decode(path, out, &len, NULL) != DSQL_OK) {
		free(out);
		return NULL;
	}
	return out;
}

int delta_path_canonical(const char *path, char **out, dsql_error *err)
{
	char *decoded;
	size_t len;
	int scheme, rc;

	*out = NULL;
	if (canonical_already(path))
		return DSQL_OK; /* the usual case: no allocation */
	scheme = has_scheme(path);
	if (!(decoded = malloc(strlen(path) + 1)))
		return dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	rc = decode(path, decoded, &len, err);
	if (rc == DSQL_OK && !scheme)
		normalise(decoded);
	if (rc == DSQL_OK && (!*decoded || strcmp(decoded, "/") == 0))
		rc = dsql_error_set(err, DSQL_EINVALID, NULL, NULL, 0,
		                    "path '%.200s' names the table's directory, not a file", path);
	if (rc == DSQL_OK && !(*out = delta_path_encode(decoded)))
		rc = dsql_error_set(err, DSQL_ENOMEM, NULL, NULL, 0, "out of memory");
	free(decoded);
	if (rc == DSQL_OK && strcmp(*out, path) == 0) {
		free(*out); /* lower-case hex, say, of a byte that stays escaped */
		*out = NULL;
	}
	return rc;
}
