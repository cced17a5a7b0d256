/*
 * webfmt.c - escaping, form and cookie parsing, tokens and metric lines for
 * the web page (webfmt.h).  Pure.
 */
#include "web/webfmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/json.h"
#include "util/utf8.h"

void wout_init(struct wout *o)
{
	memset(o, 0, sizeof(*o));
}

void wout_free(struct wout *o)
{
	free(o->p);
	memset(o, 0, sizeof(*o));
}

static bool wout_reserve(struct wout *o, size_t n)
{
	if (o->oom)
		return false;
	if (o->len + n + 1 <= o->cap)
		return true;
	size_t cap = o->cap ? o->cap : 256;
	while (cap < o->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			o->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(o->p, cap);
	if (!p) {
		o->oom = true;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

void wout_put(struct wout *o, const char *s, size_t n)
{
	if (!wout_reserve(o, n))
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

void wout_puts(struct wout *o, const char *s)
{
	wout_put(o, s, strlen(s));
}

void wout_printf(struct wout *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !wout_reserve(o, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Calls emit for each valid run of UTF-8 and for each single ASCII byte the
 * caller escapes; invalid bytes (and NUL) become U+FFFD. */
typedef void esc_fn(struct wout *o, unsigned char c);

static void escape(struct wout *o, const char *s, size_t n, const char *special, esc_fn *esc)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			if (c == 0) {
				wout_put(o, REPLACEMENT, 3);
			} else if (c < 0x20 || strchr(special, c)) {
				esc(o, c);
			} else {
				size_t k = i + 1;
				while (k < n && (unsigned char)s[k] >= 0x20 &&
				       (unsigned char)s[k] < 0x80 && !strchr(special, s[k]))
					k++;
				wout_put(o, s + i, k - i);
				i = k;
				continue;
			}
			i++;
			continue;
		}
		/* one code point: valid if the prefix of at most 4 bytes holds it whole */
		size_t take = n - i < 4 ? n - i : 4;
		size_t ok = utf8_valid_prefix_len(s + i, take, take);
		size_t cp = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (ok >= cp && cp > 1) {
			wout_put(o, s + i, cp);
			i += cp;
		} else {
			wout_put(o, REPLACEMENT, 3);
			i++;
		}
	}
}

static void html_esc(struct wout *o, unsigned char c)
{
	switch (c) {
	case '&': wout_puts(o, "&amp;"); break;
	case '<': wout_puts(o, "&lt;"); break;
	case '>': wout_puts(o, "&gt;"); break;
	case '"': wout_puts(o, "&quot;"); break;
	case '\'': wout_puts(o, "&#39;"); break;
	case '\n': wout_puts(o, "\n"); break;
	case '\t': wout_puts(o, "\t"); break;
	default: wout_printf(o, "&#%u;", c); break; /* other controls, visible */
	}
}

void web_html(struct wout *o, const char *s, size_t n)
{
	escape(o, s, n, "&<>\"'", html_esc);
}

/* The one JSON string writer of every program (util/json.h). */
void web_json(struct wout *o, const char *s, size_t n)
{
	size_t need = json_str(NULL, 0, s, n);
	if (!wout_reserve(o, need))
		return;
	json_str(o->p + o->len, need + 1, s, n);
	o->len += need;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) (form encoding) into out; the same errors as web_form_get. */
static int form_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return ERR_INVAL;
			int h = hi * 16 + lo;
			c = (char)h;
			i += 2;
		}
		if (c == 0)
			return ERR_INVAL;
		if (o + 1 >= cap)
			return ERR_TOO_BIG;
		out[o++] = c;
	}
	if (cap)
		out[o] = 0;
	return cap ? ERR_OK : ERR_TOO_BIG;
}

int web_form_get(const char *form, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key), i = 0;
	if (!form)
		return ERR_NOT_FOUND;
	while (i < len) {
		size_t end = i;
		while (end < len && form[end] != '&' && form[end] != ';')
			end++;
		size_t eq = i;
		while (eq < end && form[eq] != '=')
			eq++;
		char name[64];
		if (eq - i < sizeof(name) &&
		    form_decode(form + i, eq - i, name, sizeof(name)) == ERR_OK &&
		    strlen(name) == klen && memcmp(name, key, klen) == 0)
			return form_decode(form + (eq < end ? eq + 1 : end),
			                   eq < end ? end - eq - 1 : 0, out, cap);
		i = end + 1;
	}
	return ERR_NOT_FOUND;
}

int web_form_u64(const char *form, size_t len, const char *key, uint64_t *v)
{
	char buf[24], *end;
	int rc = web_form_get(form, len, key, buf, sizeof(buf));
	if (rc == ERR_TOO_BIG)
		return ERR_INVAL;
	if (rc)
		return rc;
	if (!buf[0] || buf[0] < '0' || buf[0] > '9')
		return ERR_INVAL;
	unsigned long long x = strtoull(buf, &end, 10);
	if (*end)
		return ERR_INVAL;
	*v = x;
	return ERR_OK;
}

int web_cookie_get(const char *h, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	if (!h)
		return ERR_NOT_FOUND;
	while (*h) {
		while (*h == ' ' || *h == ';')
			h++;
		const char *end = h + strcspn(h, ";");
		const char *eq = memchr(h, '=', (size_t)(end - h));
		if (eq && (size_t)(eq - h) == nlen && memcmp(h, name, nlen) == 0) {
			size_t vlen = (size_t)(end - eq - 1);
			if (vlen + 1 > cap)
				return ERR_TOO_BIG;
			memcpy(out, eq + 1, vlen);
			out[vlen] = 0;
			return ERR_OK;
		}
		h = end;
	}
	return ERR_NOT_FOUND;
}

void web_token_hex(char out[WEB_TOKEN_LEN + 1], const uint8_t raw[16])
{
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hx[raw[i] >> 4];
		out[2 * i + 1] = hx[raw[i] & 15];
	}
	out[WEB_TOKEN_LEN] = 0;
}

bool web_token_eq(const char *a, const char *t)
{
	if (!a || !t || strlen(t) != WEB_TOKEN_LEN)
		return false;
	unsigned diff = 0;
	size_t i = 0;
	for (; i < WEB_TOKEN_LEN; i++) {
		if (!a[i])
			return false;
		diff |= (unsigned char)(a[i] ^ t[i]);
	}
	return a[i] == 0 && diff == 0;
}

static void help_esc(struct wout *o, unsigned char c)
{
	wout_puts(o, c == '\n' ? "\\n" : " ");
}

static void help_esc_bs(struct wout *o, unsigned char c)
{
	if (c == '\\')
		wout_puts(o, "\\\\");
	else
		help_esc(o, c);
}

void web_metric_head(struct wout *o, const char *name, enum web_metric_type t, const char *help)
{
	wout_printf(o, "# HELP %s ", name);
	escape(o, help, strlen(help), "\\", help_esc_bs);
	wout_printf(o, "\n# TYPE %s %s\n", name, t == WEB_COUNTER ? "counter" : "gauge");
}

static void label_esc(struct wout *o, unsigned char c)
{
	switch (c) {
	case '\\': wout_puts(o, "\\\\"); break;
	case '"': wout_puts(o, "\\\""); break;
	case '\n': wout_puts(o, "\\n"); break;
	default: wout_puts(o, " "); break;
	}
}

static void label(struct wout *o, const char *k, const char *v, bool first)
{
	wout_printf(o, "%s%s=\"", first ? "" : ",", k);
	escape(o, v, strlen(v), "\\\"", label_esc);
	wout_put(o, "\"", 1);
}

void web_metric_sample(struct wout *o, const char *name, const char *k1, const char *v1,
                       const char *k2, const char *v2, double v)
{
	wout_puts(o, name);
	if (k1 || k2) {
		wout_put(o, "{", 1);
		if (k1)
			label(o, k1, v1 ? v1 : "", true);
		if (k2)
			label(o, k2, v2 ? v2 : "", !k1);
		wout_put(o, "}", 1);
	}
	if (v == (double)(long long)v && v < 9e15 && v > -9e15)
		wout_printf(o, " %lld\n", (long long)v);
	else
		wout_printf(o, " %.17g\n", v);
}

bool web_metric_name_ok(const char *name)
{
	if (!name || !*name || (*name >= '0' && *name <= '9'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			return false;
	return true;
}
