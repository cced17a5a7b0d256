/*
 * test_json.c - the one JSON string writer (src/util/json.c): valid UTF-8
 * (emoji, accents) passes through, invalid bytes become U+FFFD one each,
 * control characters are escaped per RFC 8259, the snprintf-like size
 * contract holds, and jansson reads back what was meant.
 */
#include <jansson.h>
#include <string.h>

#include "harness.h"
#include "util/json.h"

/* json_str of s[0..len) compared with the literal want. */
static void check_lit(const char *s, size_t len, const char *want)
{
	char buf[256];
	size_t n = json_str(buf, sizeof(buf), s, len);
	CHECK_EQ(n, strlen(want));
	CHECK_STR(buf, want);
	CHECK(n <= JSON_STR_MAX(len) - 1);
}
#define LIT(s, want) check_lit(s, sizeof(s) - 1, want)

static void test_literals(void)
{
	LIT("", "\"\"");
	LIT("plain", "\"plain\"");
	LIT("a\"b\\c", "\"a\\\"b\\\\c\"");
	/* emoji, accents, CJK: passed through byte for byte */
	LIT("hi \xF0\x9F\x98\x80 caf\xC3\xA9 \xE6\x97\xA5",
	    "\"hi \xF0\x9F\x98\x80 caf\xC3\xA9 \xE6\x97\xA5\"");
	/* control characters: short forms, then \u00XX; DEL and C1 too */
	LIT("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
	LIT("\x01\x1F\x7F", "\"\\u0001\\u001f\\u007f\"");
	LIT("\xC2\x85", "\"\\u0085\"");
	LIT("\xE2\x80\xA8\xE2\x80\xA9", "\"\\u2028\\u2029\"");
	check_lit("a\0b", 3, "\"a\\u0000b\"");
	/* invalid bytes: one U+FFFD per byte, never the \u00XX of a byte */
	LIT("\xFF", "\"\xEF\xBF\xBD\"");
	LIT("a\x80z", "\"a\xEF\xBF\xBDz\"");
	LIT("\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                 /* overlong '/' */
	LIT("\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""); /* surrogate */
	LIT("\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
	LIT("x\xF0\x9F\x98", "\"x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""); /* emoji cut short */
	LIT("\xF0\x9F\x98\x80\xFF\xF0\x9F\x98\x80",
	    "\"\xF0\x9F\x98\x80\xEF\xBF\xBD\xF0\x9F\x98\x80\"");
}

static void test_size_contract(void)
{
	char buf[8];
	/* size query without a buffer */
	CHECK_EQ(json_str(NULL, 0, "abc", 3), 5);
	/* cut: the full length is returned, the buffer ends in a NUL, never overrun */
	memset(buf, 'X', sizeof(buf));
	size_t n = json_str(buf, 4, "abcdef", 6);
	CHECK_EQ(n, 8);
	CHECK_EQ(buf[3], 0);
	CHECK_EQ(buf[4], 'X');
	/* exactly enough */
	n = json_str(buf, 6, "abc\n", 4);
	CHECK_EQ(n, 7);
	n = json_str(buf, 8, "abc\n", 4);
	CHECK_EQ(n, 7);
	CHECK_STR(buf, "\"abc\\n\"");
	/* the worst case bound holds: every byte a control character */
	char ctl[64], big[JSON_STR_MAX(64)];
	memset(ctl, 0x01, sizeof(ctl));
	n = json_str(big, sizeof(big), ctl, sizeof(ctl));
	CHECK_EQ(n, sizeof(big) - 1);
}

/* Every byte string jansson reads back as the intended text. */
static void test_jansson(void)
{
	const char in[] = "post \xF0\x9F\x8E\x89 \xFF\xFE bad \x01 \"q\" \\ \xC3\xA9 \x7F end";
	const char want[] = "post \xF0\x9F\x8E\x89 \xEF\xBF\xBD\xEF\xBF\xBD bad \x01 \"q\" \\ "
	                    "\xC3\xA9 \x7F end";
	char lit[JSON_STR_MAX(sizeof(in))], doc[sizeof(lit) + 16];
	json_error_t err;

	json_str(lit, sizeof(lit), in, sizeof(in) - 1);
	snprintf(doc, sizeof(doc), "{\"t\":%s}", lit);
	json_t *j = json_loads(doc, 0, &err);
	CHECK(j != NULL);
	if (j) {
		CHECK_STR(json_string_value(json_object_get(j, "t")), want);
		json_decref(j);
	}
	/* every single byte value, alone: always valid JSON */
	int ok = 0;
	for (int b = 0; b < 256; b++) {
		char one = (char)b, l[16], d[32];
		json_str(l, sizeof(l), &one, 1);
		snprintf(d, sizeof(d), "[%s]", l);
		json_t *a = json_loads(d, JSON_ALLOW_NUL, &err);
		ok += a != NULL;
		json_decref(a);
	}
	CHECK_EQ(ok, 256);
}

int main(void)
{
	test_literals();
	test_size_contract();
	test_jansson();
	return harness_done("test_json");
}
