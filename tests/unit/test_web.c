/*
 * test_web.c - the pure parts of the web page (src/web/webfmt.c): HTML and
 * JSON escaping (markup from the air, UTF-8 kept, invalid bytes replaced),
 * form and query parsing, cookies, session/CSRF token checks, Prometheus
 * lines, and the listen address parser of web.c.
 */
#include <string.h>

#include "harness.h"
#include "util/err.h"
#include "web/web.h"
#include "web/webfmt.h"

static char out[4096];

static const char *html(const char *s, size_t n)
{
	struct wout o;
	wout_init(&o);
	web_html(&o, s, n);
	snprintf(out, sizeof(out), "%s", o.p ? o.p : "");
	wout_free(&o);
	return out;
}

static const char *json(const char *s, size_t n)
{
	struct wout o;
	wout_init(&o);
	web_json(&o, s, n);
	snprintf(out, sizeof(out), "%s", o.p);
	wout_free(&o);
	return out;
}

static void test_escape(void)
{
	CHECK_STR(html("<script>alert('x')</script>", 27),
	          "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	CHECK_STR(html("<img src=x onerror=\"a()\">&", 26),
	          "&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;");
	CHECK_STR(html("caf\xc3\xa9 \xf0\x9f\x93\xbb", 10), "caf\xc3\xa9 \xf0\x9f\x93\xbb");
	CHECK_STR(html("a\xff"
	               "b\xc3",
	               4),
	          "a\xef\xbf\xbd"
	          "b\xef\xbf\xbd");
	CHECK_STR(html("a\0b", 3), "a\xef\xbf\xbd"
	                           "b");
	CHECK_STR(html("\x01", 1), "&#1;");
	CHECK_STR(json("say \"hi\"\\\n", 10), "\"say \\\"hi\\\"\\\\\\n\"");
	CHECK_STR(json("</script>", 9), "\"</script>\""); /* JSON, read by JSON.parse */
	CHECK_STR(json("\x01\x1f", 2), "\"\\u0001\\u001f\"");
	/* UTF-8 passed through whole, invalid bytes as U+FFFD, never \u00XX per byte */
	CHECK_STR(json("\xf0\x9f\x98\x80 \xe2\x82\xac", 8), "\"\xf0\x9f\x98\x80 \xe2\x82\xac\"");
	CHECK_STR(json("\xc0\xaf\xed\xa0\x80", 5),
	          "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_STR(json("\xe2\x82", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
}

static void test_forms(void)
{
	char v[16];
	const char *f = "room=1&password=a%20b+c&x=&q=%3Cb%3E&bad=%G1&nul=%00&room=2";
	size_t n = strlen(f);
	CHECK_EQ(web_form_get(f, n, "password", v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "a b c");
	CHECK_EQ(web_form_get(f, n, "room", v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "1"); /* the first one counts */
	CHECK_EQ(web_form_get(f, n, "x", v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "");
	CHECK_EQ(web_form_get(f, n, "q", v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "<b>");
	CHECK_EQ(web_form_get(f, n, "bad", v, sizeof(v)), ERR_INVAL);
	CHECK_EQ(web_form_get(f, n, "nul", v, sizeof(v)), ERR_INVAL);
	CHECK_EQ(web_form_get(f, n, "none", v, sizeof(v)), ERR_NOT_FOUND);
	CHECK_EQ(web_form_get(f, n, "password", v, 4), ERR_TOO_BIG);
	CHECK_EQ(web_form_get("a=%4", 4, "a", v, sizeof(v)), ERR_INVAL);
	CHECK_EQ(web_form_get("a=%", 3, "a", v, sizeof(v)), ERR_INVAL);
	CHECK_EQ(web_form_get("a", 1, "a", v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "");
	CHECK_EQ(web_form_get(NULL, 0, "a", v, sizeof(v)), ERR_NOT_FOUND);
	/* only len bytes are read */
	CHECK_EQ(web_form_get("a=1&b=2", 3, "b", v, sizeof(v)), ERR_NOT_FOUND);
	uint64_t u;
	CHECK_EQ(web_form_u64("before=123", 10, "before", &u), ERR_OK);
	CHECK_EQ(u, 123);
	CHECK_EQ(web_form_u64("before=-1", 9, "before", &u), ERR_INVAL);
	CHECK_EQ(web_form_u64("before=1x", 9, "before", &u), ERR_INVAL);
	CHECK_EQ(web_form_u64("before=", 7, "before", &u), ERR_INVAL);
	CHECK_EQ(web_form_u64("before=123456789012345678901234", 31, "before", &u), ERR_INVAL);
}

static void test_cookies_tokens(void)
{
	char v[40];
	const char *h = "theme=dark; roomd_session=0123456789abcdef0123456789abcdef; x=1";
	CHECK_EQ(web_cookie_get(h, "roomd_session", v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "0123456789abcdef0123456789abcdef");
	CHECK_EQ(web_cookie_get(h, "session", v, sizeof(v)), ERR_NOT_FOUND);
	CHECK_EQ(web_cookie_get("roomd_session=", "roomd_session", v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "");
	CHECK_EQ(web_cookie_get(NULL, "a", v, sizeof(v)), ERR_NOT_FOUND);
	CHECK_EQ(web_cookie_get("a=0123456789", "a", v, 4), ERR_TOO_BIG);

	uint8_t raw[16];
	char t[WEB_TOKEN_LEN + 1];
	for (int i = 0; i < 16; i++)
		raw[i] = (uint8_t)(i * 17);
	web_token_hex(t, raw);
	CHECK_STR(t, "00112233445566778899aabbccddeeff");
	CHECK(web_token_eq("00112233445566778899aabbccddeeff", t));
	CHECK(!web_token_eq("00112233445566778899aabbccddeefe", t));
	CHECK(!web_token_eq("00112233445566778899aabbccddeeff0", t)); /* longer */
	CHECK(!web_token_eq("00112233445566778899aabbccddeef", t));   /* shorter */
	CHECK(!web_token_eq("", t));
	CHECK(!web_token_eq(NULL, t));
	CHECK(!web_token_eq("", "")); /* an empty token never matches */
}

static void test_metrics(void)
{
	struct wout o;
	wout_init(&o);
	web_metric_head(&o, "roomd_x_total", WEB_COUNTER, "a \\ help\nline");
	web_metric_sample(&o, "roomd_x_total", "room", "0", "name", "a \"q\" \\ \n\xff", 42);
	web_metric_sample(&o, "roomd_x_total", NULL, NULL, "name", "b", 0.5);
	web_metric_head(&o, "roomd_g", WEB_GAUGE, "g");
	web_metric_sample(&o, "roomd_g", NULL, NULL, NULL, NULL, -3);
	CHECK_STR(o.p, "# HELP roomd_x_total a \\\\ help\\nline\n"
	               "# TYPE roomd_x_total counter\n"
	               "roomd_x_total{room=\"0\",name=\"a \\\"q\\\" \\\\ \\n\xef\xbf\xbd\"} 42\n"
	               "roomd_x_total{name=\"b\"} 0.5\n"
	               "# HELP roomd_g g\n"
	               "# TYPE roomd_g gauge\n"
	               "roomd_g -3\n");
	wout_free(&o);
	CHECK(web_metric_name_ok("roomd_radio_rx_frames_total"));
	CHECK(!web_metric_name_ok("9x"));
	CHECK(!web_metric_name_ok("a-b"));
	CHECK(!web_metric_name_ok(""));
}

static void test_listen(void)
{
	char a[64];
	unsigned p;
	CHECK_EQ(web_parse_listen("127.0.0.1:8073", a, sizeof(a), &p), ERR_OK);
	CHECK_STR(a, "127.0.0.1");
	CHECK_EQ(p, 8073);
	CHECK_EQ(web_parse_listen("[::1]:80", a, sizeof(a), &p), ERR_OK);
	CHECK_STR(a, "::1");
	CHECK_EQ(web_parse_listen("off", a, sizeof(a), &p), ERR_NOT_FOUND);
	CHECK_EQ(web_parse_listen("localhost:80", a, sizeof(a), &p), ERR_INVAL);
	CHECK_EQ(web_parse_listen("127.0.0.1:", a, sizeof(a), &p), ERR_INVAL);
	CHECK_EQ(web_parse_listen("127.0.0.1:70000", a, sizeof(a), &p), ERR_INVAL);
	CHECK_EQ(web_parse_listen(":80", a, sizeof(a), &p), ERR_INVAL);
}

int main(void)
{
	test_escape();
	test_forms();
	test_cookies_tokens();
	test_metrics();
	test_listen();
	return harness_done("test_web");
}
