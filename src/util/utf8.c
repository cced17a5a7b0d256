/* utf8.c - strict UTF-8 prefix validation (see utf8.h, RFC 3629 table 3). */
#include <stdint.h>

#include "util/utf8.h"

/*
 * Length of the valid sequence starting at p (n bytes available), or 0 if it
 * is malformed or incomplete.  The allowed range of the second byte depends
 * on the lead byte; that rules out overlongs, surrogates and > U+10FFFF.
 */
static size_t seq_len(const uint8_t *p, size_t n)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xBF;
	size_t need;

	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		need = 2;
	else if (b >= 0xE0 && b <= 0xEF)
		need = 3;
	else if (b >= 0xF0 && b <= 0xF4)
		need = 4;
	else
		return 0;
	if (b == 0xE0)
		lo = 0xA0;
	else if (b == 0xED)
		hi = 0x9F;
	else if (b == 0xF0)
		lo = 0x90;
	else if (b == 0xF4)
		hi = 0x8F;
	if (n < need)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	}
	return need;
}

size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = len ? seq_len(p, len) : 0;
	static const uint8_t lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};

	if (n == 0)
		return 0;
	uint32_t v = p[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		v = (v << 6) | (p[i] & 0x3F);
	*cp = v;
	return n;
}

size_t utf8_valid_prefix_len(const char *s, size_t len, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t off = 0;

	if (len > max)
		len = max;
	while (off < len && p[off] != 0) {
		size_t n = seq_len(p + off, len - off);
		if (n == 0)
			break;
		off += n;
	}
	return off;
}

bool utf8_cut_tail(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t need;
	if (len == 0 || len > 3)
		return false;
	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		need = 2;
	else if (u[0] >= 0xE0 && u[0] <= 0xEF)
		need = 3;
	else if (u[0] >= 0xF0 && u[0] <= 0xF4)
		need = 4;
	else
		return false;
	if (len >= need)
		return false;
	for (size_t i = 1; i < len; i++)
		if ((u[i] & 0xC0) != 0x80)
			return false;
	return true;
}
