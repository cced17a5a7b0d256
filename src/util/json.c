/* json.c - the one JSON string writer (see json.h, RFC 8259 §7). */
#include <stdint.h>
#include <string.h>

#include "util/json.h"
#include "util/utf8.h"

struct out {
	char *dst;
	size_t cap, len;
};

/* Appends n bytes; what does not fit (leaving room for the NUL) is counted, not written. */
static void put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++) {
		if (o->len + 1 < o->cap)
			o->dst[o->len] = s[i];
	}
}

static int needs_escape(uint32_t cp)
{
	return cp < 0x20 || cp == '"' || cp == '\\' || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
	       cp == 0x2029;
}

static void put_escape(struct out *o, uint32_t cp)
{
	static const char hexd[] = "0123456789abcdef";
	char esc[6] = {'\\', 0};

	switch (cp) {
	case '"': esc[1] = '"'; break;
	case '\\': esc[1] = '\\'; break;
	case '\b': esc[1] = 'b'; break;
	case '\f': esc[1] = 'f'; break;
	case '\n': esc[1] = 'n'; break;
	case '\r': esc[1] = 'r'; break;
	case '\t': esc[1] = 't'; break;
	default:
		esc[1] = 'u';
		esc[2] = hexd[(cp >> 12) & 0xF];
		esc[3] = hexd[(cp >> 8) & 0xF];
		esc[4] = hexd[(cp >> 4) & 0xF];
		esc[5] = hexd[cp & 0xF];
		put(o, esc, 6);
		return;
	}
	put(o, esc, 2);
}

size_t json_str(char *dst, size_t cap, const char *s, size_t len)
{
	struct out o = {dst, dst ? cap : 0, 0};
	size_t i = 0;

	put(&o, "\"", 1);
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			put(&o, "\xEF\xBF\xBD", 3); /* U+FFFD for this one byte */
			i++;
		} else if (needs_escape(cp)) {
			put_escape(&o, cp);
			i += n;
		} else {
			put(&o, s + i, n);
			i += n;
		}
	}
	put(&o, "\"", 1);
	if (o.cap)
		o.dst[o.len < o.cap ? o.len : o.cap - 1] = 0;
	return o.len;
}
