/*
 * test_jsonl.c - roomc's one-line JSON writer and reader (src/client/jsonl.c):
 * escapes and UTF-8 repair checked against jansson, a round trip, malformed
 * and truncated inputs, and the terminal cleaner.
 */
#include <jansson.h>
#include <string.h>

#include "client/jsonl.h"
#include "harness.h"
#include "util/err.h"

static void test_writer(void)
{
	char buf[512];
	struct jsonl_w w;
	json_error_t err;
	const char nasty[] = "a\"b\\c\nd\te\x01"
	                     "f\x7f"
	                     "g\xff"
	                     "h\xc3\xa9"
	                     "i\xe2\x80\xa8";

	jsonl_w_begin(&w, buf, sizeof(buf));
	jsonl_w_cstr(&w, "event", "post");
	jsonl_w_str(&w, "text", nasty, sizeof(nasty) - 1);
	jsonl_w_int(&w, "n", -42);
	jsonl_w_num(&w, "x", 52.370216);
	jsonl_w_bool(&w, "b", true);
	jsonl_w_null(&w, "z");
	jsonl_w_hex(&w, "key", (const uint8_t *)"\x01\xab", 2);
	jsonl_w_raw(&w, "arr", "[1,2]");
	CHECK_EQ(jsonl_w_end(&w), ERR_OK);
	CHECK(strchr(buf, '\n') == NULL);

	json_t *j = json_loads(buf, 0, &err);
	CHECK(j != NULL);
	if (j) {
		CHECK_STR(json_string_value(json_object_get(j, "event")), "post");
		/* invalid bytes become U+FFFD, the rest survives */
		CHECK_STR(json_string_value(json_object_get(j, "text")), "a\"b\\c\nd\te\x01"
		                                                         "f\x7f"
		                                                         "g\xef\xbf\xbd"
		                                                         "h\xc3\xa9"
		                                                         "i\xe2\x80\xa8");
		CHECK_EQ(json_integer_value(json_object_get(j, "n")), -42);
		CHECK(json_real_value(json_object_get(j, "x")) > 52.37021 &&
		      json_real_value(json_object_get(j, "x")) < 52.37022);
		CHECK(json_is_true(json_object_get(j, "b")));
		CHECK(json_is_null(json_object_get(j, "z")));
		CHECK_STR(json_string_value(json_object_get(j, "key")), "01ab");
		CHECK_EQ(json_array_size(json_object_get(j, "arr")), 2);
		json_decref(j);
	}

	/* overflow is reported, never written past the buffer */
	char small[16];
	memset(small, 'X', sizeof(small));
	jsonl_w_begin(&w, small, 12);
	jsonl_w_cstr(&w, "event", "something long");
	CHECK_EQ(jsonl_w_end(&w), ERR_TOO_BIG);
	CHECK_EQ(small[12], 'X');
	CHECK(strlen(small) < 12);

	/* arrays */
	jsonl_w_begin_array(&w, buf, sizeof(buf));
	jsonl_w_raw(&w, NULL, "{}");
	jsonl_w_int(&w, NULL, 3);
	CHECK_EQ(jsonl_w_end_array(&w), ERR_OK);
	CHECK_STR(buf, "[{},3]");
}

static void test_reader(void)
{
	char line[512];
	struct jsonl_field f[8];
	int n;
	const char *s;
	size_t len;
	uint32_t u;
	int32_t i;
	bool b;
	uint8_t key[2];

	snprintf(line, sizeof(line), "%s",
	         " { \"ts\" : 1750000026, \"text\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\"\","
	         "\"lat\":-12,\"ok\":false,\"nested\":{\"a\":[1,\"]\"]},\"none\":null,"
	         "\"key\":\"01AB\"} ");
	CHECK_EQ(jsonl_parse(line, f, 8, &n), ERR_OK);
	CHECK_EQ(n, 7);
	CHECK(jsonl_get_u32(f, n, "ts", &u) && u == 1750000026);
	CHECK(jsonl_get_str(f, n, "text", &s, &len));
	CHECK_STR(s, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\"");
	CHECK_EQ(len, strlen("caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\""));
	CHECK(jsonl_get_i32(f, n, "lat", &i) && i == -12);
	CHECK(!jsonl_get_u32(f, n, "lat", &u)); /* negative */
	CHECK(jsonl_get_bool(f, n, "ok", &b) && !b);
	CHECK(jsonl_get(f, n, "nested")->type == JSONL_NESTED);
	CHECK(jsonl_get(f, n, "none")->type == JSONL_NULL);
	CHECK(jsonl_get_hex(f, n, "key", key, 2) && key[0] == 1 && key[1] == 0xab);
	CHECK(!jsonl_get_hex(f, n, "key", key, 1));
	CHECK(!jsonl_get_str(f, n, "missing", &s, &len));

	/* too many fields */
	snprintf(line, sizeof(line), "{\"a\":1,\"b\":2,\"c\":3}");
	CHECK_EQ(jsonl_parse(line, f, 2, &n), ERR_TOO_BIG);
	snprintf(line, sizeof(line), "{}");
	CHECK_EQ(jsonl_parse(line, f, 2, &n), ERR_OK);
	CHECK_EQ(n, 0);

	static const char *bad[] = {
	    "",
	    "{",
	    "}",
	    "[]",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{\"a\":1,}",
	    "{\"a\":1} x",
	    "{\"a\":\"unterminated}",
	    "{\"a\":\"\\u0000\"}",
	    "{\"a\":\"\\ud800\"}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":tru}",
	    "{\"a\":1e999}",
	    "{\"a\":--1}",
	    "{a:1}",
	    "{\"a\":\"tab\there\"}",
	    "{\"a\":[1,2}",
	    "{\"a\":{\"b\":\"}\"}",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		snprintf(line, sizeof(line), "%s", bad[k]);
		int rc = jsonl_parse(line, f, 8, &n);
		CHECK(rc != ERR_OK);
		if (rc == ERR_OK)
			fprintf(stderr, "accepted: %s\n", bad[k]);
	}

	/* every prefix of a good line is refused (no read past the NUL) */
	const char *good = "{\"ts\":1,\"text\":\"x\\\"y\",\"arr\":[{\"k\":\"v\"}]}";
	for (size_t k = 0; k < strlen(good); k++) {
		snprintf(line, sizeof(line), "%.*s", (int)k, good);
		CHECK(jsonl_parse(line, f, 8, &n) != ERR_OK);
	}
	snprintf(line, sizeof(line), "%s", good);
	CHECK_EQ(jsonl_parse(line, f, 8, &n), ERR_OK);
}

static void test_round_trip(void)
{
	char buf[1024], text[256];
	struct jsonl_w w;
	struct jsonl_field f[8];
	int n;
	const char *s;
	size_t len;

	for (int k = 1; k < 256; k++)
		text[k - 1] = (char)k; /* every byte but NUL, invalid UTF-8 included */
	jsonl_w_begin(&w, buf, sizeof(buf));
	jsonl_w_str(&w, "t", text, 255);
	CHECK_EQ(jsonl_w_end(&w), ERR_OK);
	CHECK_EQ(jsonl_parse(buf, f, 8, &n), ERR_OK);
	CHECK(jsonl_get_str(f, n, "t", &s, &len));
	/* ASCII comes back exactly; each byte >= 0x80 became U+FFFD */
	CHECK_EQ(len, 127 + 128 * 3);
	CHECK_MEM(s, text, 127);
}

static void test_clean(void)
{
	char out[64];
	CHECK_EQ(jsonl_clean_utf8(out, sizeof(out), "ok\x1b[2Jx", 7, true), 9);
	CHECK_STR(out, "ok\xef\xbf\xbd[2Jx");
	CHECK_EQ(jsonl_clean_utf8(out, sizeof(out),
	                          "\xc2\x9b"
	                          "1m",
	                          4, true),
	         5);
	CHECK_STR(out, "\xef\xbf\xbd"
	               "1m"); /* C1 CSI */
	CHECK_EQ(jsonl_clean_utf8(out, sizeof(out), "a\tb", 3, false), 3);
	/* overlong, surrogate, and a cut sequence */
	jsonl_clean_utf8(out, sizeof(out), "\xc0\xaf|\xed\xa0\x80|\xe2\x82", 9, false);
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
	               "\xef\xbf\xbd\xef\xbf\xbd");
	/* never cuts a character to fit */
	CHECK_EQ(jsonl_clean_utf8(out, 4, "a\xc3\xa9\xc3\xa9", 5, false), 3);
	CHECK_STR(out, "a\xc3\xa9");
	CHECK_EQ(jsonl_clean_utf8(out, 1, "abc", 3, false), 0);
}

int main(void)
{
	test_writer();
	test_reader();
	test_round_trip();
	test_clean();
	return harness_done("test_jsonl");
}
