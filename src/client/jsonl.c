/*
 * jsonl.c - one-line JSON objects (see jsonl.h).  RFC 8259 subset: the
 * writer emits what any JSON parser reads; the reader takes what the writer
 * emits plus ordinary whitespace, numbers in any JSON form, and all escapes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/jsonl.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/utf8.h"

/* ---- UTF-8 ---- */

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t jsonl_clean_utf8(char *dst, size_t cap, const char *src, size_t len, bool controls)
{
	size_t i = 0, o = 0;

	if (cap == 0)
		return 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(src + i, len - i, &cp);
		const char *from = src + i;
		size_t tn = n;
		if (n == 0 || cp == 0 ||
		    (controls && (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)))) {
			from = "\xEF\xBF\xBD"; /* U+FFFD */
			tn = 3;
		}
		if (o + tn + 1 > cap)
			break;
		memcpy(dst + o, from, tn);
		o += tn;
		i += n ? n : 1;
	}
	dst[o] = 0;
	return o;
}

/* ---- writer ---- */

static void put(struct jsonl_w *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		w->err = ERR_TOO_BIG;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void putc1(struct jsonl_w *w, char c)
{
	put(w, &c, 1);
}

/* A JSON string literal through the one writer (util/json.h). */
static void put_string(struct jsonl_w *w, const char *s, size_t len)
{
	if (w->err)
		return;
	size_t room = w->cap - w->len;
	size_t n = json_str(w->buf + w->len, room, s, len);
	if (n >= room) {
		w->buf[w->len] = 0;
		w->err = ERR_TOO_BIG;
		return;
	}
	w->len += n;
}

static void key(struct jsonl_w *w, const char *k)
{
	if (!w->first)
		putc1(w, ',');
	w->first = false;
	if (k) {
		put_string(w, k, strlen(k));
		putc1(w, ':');
	}
}

void jsonl_w_begin(struct jsonl_w *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->first = true;
	w->err = cap ? 0 : ERR_TOO_BIG;
	if (cap)
		buf[0] = 0;
	putc1(w, '{');
}

void jsonl_w_begin_array(struct jsonl_w *w, char *buf, size_t cap)
{
	jsonl_w_begin(w, buf, cap);
	if (!w->err) {
		w->buf[0] = '[';
	}
}

void jsonl_w_str(struct jsonl_w *w, const char *k, const char *s, size_t len)
{
	key(w, k);
	put_string(w, s, len);
}

void jsonl_w_cstr(struct jsonl_w *w, const char *k, const char *s)
{
	jsonl_w_str(w, k, s, strlen(s));
}

void jsonl_w_int(struct jsonl_w *w, const char *k, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	key(w, k);
	put(w, tmp, (size_t)n);
}

void jsonl_w_num(struct jsonl_w *w, const char *k, double v)
{
	char tmp[40];
	key(w, k);
	if (!isfinite(v)) {
		put(w, "null", 4);
		return;
	}
	int n = snprintf(tmp, sizeof(tmp), "%.10g", v);
	put(w, tmp, (size_t)n);
}

void jsonl_w_bool(struct jsonl_w *w, const char *k, bool v)
{
	key(w, k);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonl_w_null(struct jsonl_w *w, const char *k)
{
	key(w, k);
	put(w, "null", 4);
}

void jsonl_w_hex(struct jsonl_w *w, const char *k, const uint8_t *p, size_t n)
{
	char tmp[2 * 64 + 1];
	key(w, k);
	putc1(w, '"');
	while (n) {
		size_t chunk = n > 64 ? 64 : n;
		hex_encode(tmp, sizeof(tmp), p, chunk);
		put(w, tmp, 2 * chunk);
		p += chunk;
		n -= chunk;
	}
	putc1(w, '"');
}

void jsonl_w_raw(struct jsonl_w *w, const char *k, const char *json)
{
	key(w, k);
	put(w, json, strlen(json));
}

int jsonl_w_end(struct jsonl_w *w)
{
	putc1(w, '}');
	return w->err;
}

int jsonl_w_end_array(struct jsonl_w *w)
{
	putc1(w, ']');
	return w->err;
}

/* ---- reader ---- */

static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static int hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			return ERR_FORMAT;
		*v = (*v << 4) | (uint32_t)d;
	}
	return ERR_OK;
}

/* Unescapes the string starting after the opening quote at *pp, in place.
 * On success *pp points after the closing quote. */
static int parse_string(char **pp, const char **out, size_t *out_len)
{
	char *p = *pp, *o = p;
	*out = p;
	for (;;) {
		char c = *p;
		if (c == 0 || (unsigned char)c < 0x20)
			return ERR_FORMAT;
		if (c == '"')
			break;
		if (c != '\\') {
			*o++ = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (hex4(p + 1, &cp))
				return ERR_FORMAT;
			p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (p[1] != '\\' || p[2] != 'u' || hex4(p + 3, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return ERR_FORMAT;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return ERR_FORMAT;
			}
			if (cp == 0)
				return ERR_FORMAT;
			/* the escape is at least 6 bytes: the UTF-8 form (<= 4) fits */
			o += put_utf8(o, cp);
			break;
		}
		default: return ERR_FORMAT;
		}
		p++;
	}
	*out_len = (size_t)(o - *out);
	*o = 0;
	*pp = p + 1;
	return ERR_OK;
}

/* Skips a nested array or object (strings inside respected). */
static int skip_nested(char **pp)
{
	char *p = *pp;
	int depth = 0;
	do {
		char c = *p;
		if (c == 0)
			return ERR_FORMAT;
		if (c == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (!*p)
				return ERR_FORMAT;
		} else if (c == '[' || c == '{') {
			if (++depth > 32)
				return ERR_FORMAT;
		} else if (c == ']' || c == '}') {
			depth--;
		}
		p++;
	} while (depth > 0);
	*pp = p;
	return ERR_OK;
}

static bool is_num_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

int jsonl_parse(char *line, struct jsonl_field *f, int max, int *n)
{
	char *p = skip_ws(line);
	*n = 0;
	if (*p++ != '{')
		return ERR_FORMAT;
	p = skip_ws(p);
	if (*p == '}')
		goto end;
	for (;;) {
		struct jsonl_field fl = {0};
		size_t klen;
		if (*p++ != '"' || parse_string(&p, &fl.key, &klen))
			return ERR_FORMAT;
		p = skip_ws(p);
		if (*p++ != ':')
			return ERR_FORMAT;
		p = skip_ws(p);
		if (*p == '"') {
			p++;
			fl.type = JSONL_STR;
			if (parse_string(&p, &fl.str, &fl.str_len))
				return ERR_FORMAT;
		} else if (*p == '[' || *p == '{') {
			fl.type = JSONL_NESTED;
			if (skip_nested(&p))
				return ERR_FORMAT;
		} else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
			fl.type = JSONL_BOOL;
			fl.b = *p == 't';
			p += fl.b ? 4 : 5;
		} else if (strncmp(p, "null", 4) == 0) {
			fl.type = JSONL_NULL;
			p += 4;
		} else if (is_num_char(*p)) {
			char *endp, save;
			char *q = p;
			while (is_num_char(*q))
				q++;
			save = *q;
			*q = 0;
			fl.num = strtod(p, &endp);
			*q = save;
			if (endp != q || !isfinite(fl.num))
				return ERR_FORMAT;
			fl.type = JSONL_NUM;
			p = q;
		} else {
			return ERR_FORMAT;
		}
		if (*n >= max)
			return ERR_TOO_BIG;
		f[(*n)++] = fl;
		p = skip_ws(p);
		if (*p == ',') {
			p = skip_ws(p + 1);
			continue;
		}
		if (*p == '}')
			break;
		return ERR_FORMAT;
	}
end:
	p = skip_ws(p + 1);
	return *p ? ERR_FORMAT : ERR_OK;
}

const struct jsonl_field *jsonl_get(const struct jsonl_field *f, int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (strcmp(f[i].key, k) == 0)
			return &f[i];
	return NULL;
}

bool jsonl_get_str(const struct jsonl_field *f, int n, const char *k, const char **s, size_t *len)
{
	const struct jsonl_field *x = jsonl_get(f, n, k);
	if (!x || x->type != JSONL_STR)
		return false;
	*s = x->str;
	if (len)
		*len = x->str_len;
	return true;
}

bool jsonl_get_u32(const struct jsonl_field *f, int n, const char *k, uint32_t *v)
{
	const struct jsonl_field *x = jsonl_get(f, n, k);
	if (!x || x->type != JSONL_NUM || x->num < 0 || x->num > 4294967295.0 ||
	    x->num != floor(x->num))
		return false;
	*v = (uint32_t)x->num;
	return true;
}

bool jsonl_get_i32(const struct jsonl_field *f, int n, const char *k, int32_t *v)
{
	const struct jsonl_field *x = jsonl_get(f, n, k);
	if (!x || x->type != JSONL_NUM || x->num < -2147483648.0 || x->num > 2147483647.0 ||
	    x->num != floor(x->num))
		return false;
	*v = (int32_t)x->num;
	return true;
}

bool jsonl_get_bool(const struct jsonl_field *f, int n, const char *k, bool *v)
{
	const struct jsonl_field *x = jsonl_get(f, n, k);
	if (!x || x->type != JSONL_BOOL)
		return false;
	*v = x->b;
	return true;
}

bool jsonl_get_hex(const struct jsonl_field *f, int n, const char *k, uint8_t *out, size_t n_out)
{
	const char *s;
	size_t len;
	if (!jsonl_get_str(f, n, k, &s, &len) || len != 2 * n_out)
		return false;
	return hex_decode(out, n_out, s, len) == (int)n_out;
}
