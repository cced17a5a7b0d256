/*
 * fuzz_web.c - libFuzzer target for what the web page parses from a request
 * and escapes on its way out (src/web/webfmt.c, web_parse_listen).
 *
 * The input is split at its first two NUL bytes into a form (query string or
 * body), a Cookie header and a listen spec; every key the page reads is
 * looked up.  Never a crash or a read past the input; a decoded value is
 * NUL-terminated within its buffer; the escaped input (HTML, JSON, a metric
 * label) is valid UTF-8 and HTML has no raw markup characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/utf8.h"
#include "web/web.h"
#include "web/webfmt.h"

static void valid_utf8(const struct wout *o)
{
	if (o->oom)
		return;
	if (o->len && utf8_valid_prefix_len(o->p, o->len, o->len) != o->len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	const char *form = in, *cookie = "", *spec = "";
	size_t flen = strnlen(in, size);
	if (flen < size) {
		cookie = in + flen + 1;
		size_t clen = strlen(cookie);
		if (flen + 1 + clen < size)
			spec = cookie + clen + 1;
	}
	static const char *keys[] = {"room", "before", "limit", "q",      "password", "csrf",
	                             "key",  "value",  "id",    "reason", "name",     "path"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char v[64];
		uint64_t u;
		if (web_form_get(form, flen, keys[i], v, sizeof(v)) == ERR_OK &&
		    strlen(v) >= sizeof(v))
			abort();
		web_form_u64(form, flen, keys[i], &u);
	}
	char ck[WEB_TOKEN_LEN + 8];
	if (web_cookie_get(cookie, "roomd_session", ck, sizeof(ck)) == ERR_OK) {
		if (strlen(ck) >= sizeof(ck))
			abort();
		web_token_eq(ck, "00112233445566778899aabbccddeeff");
	}
	char addr[64];
	unsigned port;
	if (web_parse_listen(spec, addr, sizeof(addr), &port) == ERR_OK && port > 65535)
		abort();

	struct wout o;
	wout_init(&o);
	web_html(&o, (const char *)data, size);
	valid_utf8(&o);
	for (size_t i = 0; i < o.len; i++)
		if (o.p[i] == '<' || o.p[i] == '>' || o.p[i] == '"' || o.p[i] == '\'')
			abort();
	wout_free(&o);
	wout_init(&o);
	web_json(&o, (const char *)data, size);
	valid_utf8(&o);
	for (size_t i = 1; o.len && i + 1 < o.len; i++)
		if ((unsigned char)o.p[i] < 0x20)
			abort();
	wout_free(&o);
	wout_init(&o);
	web_metric_sample(&o, "roomd_x", "name", in, NULL, NULL, 1);
	valid_utf8(&o);
	if (!o.oom && memchr(o.p, '\n', o.len) != o.p + o.len - 1)
		abort(); /* one line, whatever the label */
	wout_free(&o);
	free(in);
	return 0;
}
