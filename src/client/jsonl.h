/*
 * jsonl.h - one-line JSON objects for roomc: the events of --json mode and
 * the records of its data files (contacts, passwords, history).
 *
 * The writer builds one flat object into a caller's buffer ("raw" values let
 * a caller nest an array it built with a second writer).  Strings are
 * written as valid UTF-8: invalid bytes become U+FFFD, control characters
 * are escaped.  The reader parses one flat object in place (strings are
 * unescaped inside the line buffer) into key/value fields; nested arrays and
 * objects are skipped over, not parsed.  A file line is hostile input: the
 * reader never reads past the NUL that ends the line and reports ERR_FORMAT
 * for anything malformed.  No allocation.
 */
#ifndef ROOMD_CLIENT_JSONL_H
#define ROOMD_CLIENT_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonl_w {
	char *buf;
	size_t cap, len;
	bool first;
	int err; /* ERR_TOO_BIG once something did not fit (sticky) */
};

/* Starts an object ("{") in buf. */
void jsonl_w_begin(struct jsonl_w *w, char *buf, size_t cap);
/* Starts an array ("[") in buf; add elements with jsonl_w_raw(w, NULL, ...). */
void jsonl_w_begin_array(struct jsonl_w *w, char *buf, size_t cap);
void jsonl_w_str(struct jsonl_w *w, const char *key, const char *s, size_t len);
void jsonl_w_cstr(struct jsonl_w *w, const char *key, const char *s);
void jsonl_w_int(struct jsonl_w *w, const char *key, long long v);
void jsonl_w_num(struct jsonl_w *w, const char *key, double v);
void jsonl_w_bool(struct jsonl_w *w, const char *key, bool v);
void jsonl_w_null(struct jsonl_w *w, const char *key);
void jsonl_w_hex(struct jsonl_w *w, const char *key, const uint8_t *p, size_t n);
/* Inserts already-formed JSON text as a value (key NULL inside an array). */
void jsonl_w_raw(struct jsonl_w *w, const char *key, const char *json);
/* Closes the object or array; returns ERR_OK or ERR_TOO_BIG.  buf is NUL-terminated. */
int jsonl_w_end(struct jsonl_w *w);
int jsonl_w_end_array(struct jsonl_w *w);

enum jsonl_type { JSONL_NULL, JSONL_BOOL, JSONL_NUM, JSONL_STR, JSONL_NESTED };

struct jsonl_field {
	const char *key; /* NUL-terminated, inside the line */
	enum jsonl_type type;
	const char *str; /* JSONL_STR: unescaped, NUL-terminated (may contain no NUL) */
	size_t str_len;
	double num; /* JSONL_NUM */
	bool b;     /* JSONL_BOOL */
};

/*
 * Parses the object in line (NUL-terminated, modified in place) into at most
 * max fields; *n receives the count.  ERR_FORMAT for malformed JSON, a string
 * containing \u0000, or trailing garbage; ERR_TOO_BIG for more than max fields.
 */
int jsonl_parse(char *line, struct jsonl_field *f, int max, int *n);
/* The field named key, or NULL. */
const struct jsonl_field *jsonl_get(const struct jsonl_field *f, int n, const char *key);
/* Typed getters: false if absent or of another type (or out of range for the integer ones). */
bool jsonl_get_str(const struct jsonl_field *f, int n, const char *key, const char **s,
                   size_t *len);
bool jsonl_get_u32(const struct jsonl_field *f, int n, const char *key, uint32_t *v);
bool jsonl_get_i32(const struct jsonl_field *f, int n, const char *key, int32_t *v);
bool jsonl_get_bool(const struct jsonl_field *f, int n, const char *key, bool *v);
/* A hex string field decoded into exactly n_out bytes. */
bool jsonl_get_hex(const struct jsonl_field *f, int n, const char *key, uint8_t *out, size_t n_out);

/*
 * Copies len bytes of src as valid UTF-8 into dst (cap includes the NUL):
 * invalid sequences become U+FFFD; with controls, C0/C1 control characters
 * and DEL become U+FFFD too (for a terminal).  Never cuts a character.
 * Returns the length written.
 */
size_t jsonl_clean_utf8(char *dst, size_t cap, const char *src, size_t len, bool controls);

#endif
