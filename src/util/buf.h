/*
 * buf.h - bounds-checked little-endian cursors over byte buffers.
 *
 * A read cursor (struct rbuf) never reads past its end: every getter checks
 * first and returns ERR_TRUNCATED, leaving the cursor where it was.  A write
 * cursor (struct wbuf) never writes past its capacity: a put that does not
 * fit returns ERR_TOO_BIG and sets the sticky `err` field, so a builder may
 * do a run of puts and check once at the end.  Neither allocates.
 */
#ifndef ROOMD_UTIL_BUF_H
#define ROOMD_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
};

struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	int err; /* first error of any put, sticky */
};

static inline void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

static inline size_t rbuf_left(const struct rbuf *r)
{
	return r->len - r->off;
}
static inline const uint8_t *rbuf_cur(const struct rbuf *r)
{
	return r->p + r->off;
}

int rbuf_get_u8(struct rbuf *r, uint8_t *v);
int rbuf_get_le16(struct rbuf *r, uint16_t *v);
int rbuf_get_le32(struct rbuf *r, uint32_t *v);
/* Copies n bytes into out. */
int rbuf_get_bytes(struct rbuf *r, void *out, size_t n);
/* Points *out at the next n bytes without copying, and skips them. */
int rbuf_get_ref(struct rbuf *r, const uint8_t **out, size_t n);
int rbuf_skip(struct rbuf *r, size_t n);

static inline void wbuf_init(struct wbuf *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

int wbuf_put_u8(struct wbuf *w, uint8_t v);
int wbuf_put_le16(struct wbuf *w, uint16_t v);
int wbuf_put_le32(struct wbuf *w, uint32_t v);
int wbuf_put_bytes(struct wbuf *w, const void *p, size_t n);
int wbuf_put_zeros(struct wbuf *w, size_t n);
/* The end of an encoder: the sticky error if any write failed, else ERR_OK
 * with *out_len set to the bytes written. */
int wbuf_finish(const struct wbuf *w, size_t *out_len);

/* Plain little-endian loads and stores on buffers known to be big enough. */
static inline uint16_t le16_load(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline void le16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
