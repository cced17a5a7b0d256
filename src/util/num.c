/*
 * num.c - strict number parsing (see num.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "util/num.h"

bool num_double(const char *s, double lo, double hi, double *out)
{
	char *end;

	if (!s)
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

bool num_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

bool num_ulong(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	/* strtoull accepts a sign and negates: "-1" would become the maximum */
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}
