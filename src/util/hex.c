/* hex.c - see hex.h. */
#include "util/hex.h"
#include "util/err.h"

static int encode(char *out, size_t cap, const uint8_t *p, size_t n, const char *digits)
{
	if (cap < 2 * n + 1)
		return ERR_TOO_BIG;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return ERR_OK;
}

int hex_encode(char *out, size_t cap, const uint8_t *p, size_t n)
{
	return encode(out, cap, p, n, "0123456789abcdef");
}

int hex_encode_upper(char *out, size_t cap, const uint8_t *p, size_t n)
{
	return encode(out, cap, p, n, "0123456789ABCDEF");
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(uint8_t *out, size_t cap, const char *s, size_t len)
{
	if (len % 2)
		return ERR_FORMAT;
	if (len / 2 > cap)
		return ERR_TOO_BIG;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ERR_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}
