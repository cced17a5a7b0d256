/* buf.c - bounds-checked cursors (see buf.h). */
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

int rbuf_get_u8(struct rbuf *r, uint8_t *v)
{
	if (rbuf_left(r) < 1)
		return ERR_TRUNCATED;
	*v = r->p[r->off++];
	return ERR_OK;
}

int rbuf_get_le16(struct rbuf *r, uint16_t *v)
{
	if (rbuf_left(r) < 2)
		return ERR_TRUNCATED;
	*v = le16_load(r->p + r->off);
	r->off += 2;
	return ERR_OK;
}

int rbuf_get_le32(struct rbuf *r, uint32_t *v)
{
	if (rbuf_left(r) < 4)
		return ERR_TRUNCATED;
	*v = le32_load(r->p + r->off);
	r->off += 4;
	return ERR_OK;
}

int rbuf_get_bytes(struct rbuf *r, void *out, size_t n)
{
	if (rbuf_left(r) < n)
		return ERR_TRUNCATED;
	if (n)
		memcpy(out, r->p + r->off, n);
	r->off += n;
	return ERR_OK;
}

int rbuf_get_ref(struct rbuf *r, const uint8_t **out, size_t n)
{
	if (rbuf_left(r) < n)
		return ERR_TRUNCATED;
	*out = r->p + r->off;
	r->off += n;
	return ERR_OK;
}

int rbuf_skip(struct rbuf *r, size_t n)
{
	if (rbuf_left(r) < n)
		return ERR_TRUNCATED;
	r->off += n;
	return ERR_OK;
}

static int room_for(struct wbuf *w, size_t n)
{
	if (w->err)
		return w->err;
	if (w->cap - w->len < n) {
		w->err = ERR_TOO_BIG;
		return w->err;
	}
	return ERR_OK;
}

int wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	int rc = room_for(w, 1);
	if (rc)
		return rc;
	w->p[w->len++] = v;
	return ERR_OK;
}

int wbuf_put_le16(struct wbuf *w, uint16_t v)
{
	int rc = room_for(w, 2);
	if (rc)
		return rc;
	le16_store(w->p + w->len, v);
	w->len += 2;
	return ERR_OK;
}

int wbuf_put_le32(struct wbuf *w, uint32_t v)
{
	int rc = room_for(w, 4);
	if (rc)
		return rc;
	le32_store(w->p + w->len, v);
	w->len += 4;
	return ERR_OK;
}

int wbuf_put_bytes(struct wbuf *w, const void *p, size_t n)
{
	int rc = room_for(w, n);
	if (rc)
		return rc;
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
	return ERR_OK;
}

int wbuf_put_zeros(struct wbuf *w, size_t n)
{
	int rc = room_for(w, n);
	if (rc)
		return rc;
	memset(w->p + w->len, 0, n);
	w->len += n;
	return ERR_OK;
}

int wbuf_finish(const struct wbuf *w, size_t *out_len)
{
	if (w->err)
		return w->err;
	*out_len = w->len;
	return ERR_OK;
}
