/*
 * num.h - strict parsing of numbers from command lines, config and topology
 * files: the whole string must be the number, within the given range, or the
 * parse fails (no silent truncation, no trailing garbage, no overflow).
 * Also the two small helpers every parser and main loop wants: skip_blanks
 * and u64_min.
 */
#ifndef ROOMD_UTIL_NUM_H
#define ROOMD_UTIL_NUM_H

#include <stdbool.h>
#include <stdint.h>

/* A decimal or floating-point number in [lo, hi] (NaN never is). */
bool num_double(const char *s, double lo, double hi, double *out);
/* A decimal integer in [lo, hi]; a sign is allowed. */
bool num_long(const char *s, long lo, long hi, long *out);
/* A decimal integer 0..max with no sign. */
bool num_ulong(const char *s, unsigned long long max, unsigned long long *out);

/* The smaller of two deadlines or durations. */
static inline uint64_t u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* s after any leading blanks (spaces and tabs): where a word or value starts. */
static inline char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return (char *)s;
}

#endif
