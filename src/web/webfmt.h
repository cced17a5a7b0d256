/*
 * webfmt.h - the pure parts of roomd's web page (src/web/web.c): a growing
 * output buffer, HTML and JSON escaping, form/query and cookie parsing, the
 * constant-time token check and the Prometheus text exposition lines.
 *
 * Everything the page shows comes from the air (post texts, names), so every
 * string goes through web_html() or web_json() on its way out: valid UTF-8
 * is passed through, anything else becomes U+FFFD.  No I/O, no allocation
 * beyond the output buffer.
 */
#ifndef ROOMD_WEB_WEBFMT_H
#define ROOMD_WEB_WEBFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An output buffer that grows; oom is sticky (the reply is then a 500). */
struct wout {
	char *p;
	size_t len, cap;
	bool oom;
};
void wout_init(struct wout *o);
void wout_free(struct wout *o);
void wout_put(struct wout *o, const char *s, size_t n);
void wout_puts(struct wout *o, const char *s);
void wout_printf(struct wout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s[0..n) HTML-escaped (& < > " '), invalid UTF-8 and NUL as U+FFFD. */
void web_html(struct wout *o, const char *s, size_t n);
/* s[0..n) as a JSON string with its quotes, by util/json.h's json_str (the
 * one JSON writer: valid UTF-8 kept, invalid bytes as U+FFFD, controls escaped). */
void web_json(struct wout *o, const char *s, size_t n);
static inline void web_json_c(struct wout *o, const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	web_json(o, s, n);
}

/*
 * The value of key in an application/x-www-form-urlencoded string (a query
 * string or a form body: k=v&k=v, '+' is a space, %XX a byte), decoded into
 * out (NUL-terminated).  ERR_OK; ERR_NOT_FOUND; ERR_INVAL for a bad %
 * escape or a NUL byte in the value; ERR_TOO_BIG if it does not fit in cap.
 * The first occurrence of key counts.
 */
int web_form_get(const char *form, size_t len, const char *key, char *out, size_t cap);
/* An unsigned number from a form: ERR_OK, ERR_NOT_FOUND, ERR_INVAL. */
int web_form_u64(const char *form, size_t len, const char *key, uint64_t *v);

/* The value of cookie name in a Cookie: header ("a=1; b=2"), into out. */
int web_cookie_get(const char *header, const char *name, char *out, size_t cap);

/* WEB_TOKEN_LEN hex digits (a session id or a CSRF token) from 16 random bytes. */
#define WEB_TOKEN_LEN 32
void web_token_hex(char out[WEB_TOKEN_LEN + 1], const uint8_t raw[16]);
/* True if a is exactly the token t (WEB_TOKEN_LEN hex digits), in constant time. */
bool web_token_eq(const char *a, const char *t);

/* Prometheus text exposition (version 0.0.4). */
enum web_metric_type { WEB_COUNTER, WEB_GAUGE };
/* # HELP and # TYPE lines of a family (help is escaped: \\ and \n). */
void web_metric_head(struct wout *o, const char *name, enum web_metric_type t, const char *help);
/* One sample: name{k1="v1",k2="v2"} value; a NULL key leaves its label out;
 * label values are escaped (\\ \" \n) and invalid UTF-8 replaced. */
void web_metric_sample(struct wout *o, const char *name, const char *k1, const char *v1,
                       const char *k2, const char *v2, double v);
/* True if name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
bool web_metric_name_ok(const char *name);

#endif
