/*
 * advert.c - ADVERT payload and app_data codec (PROTOCOL.md §5.8;
 * AdvertDataBuilder/AdvertDataParser, Mesh::createAdvert).
 */
#include <math.h>
#include <string.h>

#include "proto/advert.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"

int32_t advert_coord_e6(double deg)
{
	double v = deg * 1000000.0;

	if (isnan(v))
		return 0;
	if (v >= 2147483647.0)
		return INT32_MAX;
	if (v <= -2147483648.0)
		return INT32_MIN;
	return (int32_t)v; /* C truncation toward zero, as the firmware */
}

static uint8_t data_flags(const struct advert_data *d, size_t name_len)
{
	uint8_t flags = d->type & ADV_TYPE_MASK;

	if (d->has_loc)
		flags |= ADV_FLAG_LOC;
	if (d->has_feat1)
		flags |= ADV_FLAG_FEAT1;
	if (d->has_feat2)
		flags |= ADV_FLAG_FEAT2;
	if (name_len)
		flags |= ADV_FLAG_NAME;
	return flags;
}

static size_t fixed_len(uint8_t flags)
{
	return 1 + ((flags & ADV_FLAG_LOC) ? 8 : 0) + ((flags & ADV_FLAG_FEAT1) ? 2 : 0) +
	       ((flags & ADV_FLAG_FEAT2) ? 2 : 0);
}

int advert_data_encode(const struct advert_data *d, uint8_t out[ADVERT_DATA_MAX], size_t *out_len)
{
	size_t room = ADVERT_DATA_MAX - fixed_len(data_flags(d, 0));
	size_t name_len = utf8_valid_prefix_len(d->name, strnlen(d->name, sizeof(d->name)), room);
	uint8_t flags = data_flags(d, name_len);
	struct wbuf w;

	wbuf_init(&w, out, ADVERT_DATA_MAX);
	wbuf_put_u8(&w, flags);
	if (flags & ADV_FLAG_LOC) {
		wbuf_put_le32(&w, (uint32_t)d->lat_e6);
		wbuf_put_le32(&w, (uint32_t)d->lon_e6);
	}
	if (flags & ADV_FLAG_FEAT1)
		wbuf_put_le16(&w, d->feat1);
	if (flags & ADV_FLAG_FEAT2)
		wbuf_put_le16(&w, d->feat2);
	wbuf_put_bytes(&w, d->name, name_len);
	if (w.err)
		return w.err;
	*out_len = w.len;
	return ERR_OK;
}

int advert_data_decode(struct advert_data *d, const uint8_t *p, size_t len)
{
	struct rbuf r;
	uint32_t v;
	size_t name_len;

	memset(d, 0, sizeof(*d));
	rbuf_init(&r, p, len > ADVERT_DATA_MAX ? ADVERT_DATA_MAX : len);
	if (rbuf_get_u8(&r, &d->flags))
		return ERR_TRUNCATED;
	d->type = d->flags & ADV_TYPE_MASK;
	if (rbuf_left(&r) < fixed_len(d->flags) - 1)
		return ERR_TRUNCATED;
	if (d->flags & ADV_FLAG_LOC) {
		d->has_loc = true;
		rbuf_get_le32(&r, &v);
		d->lat_e6 = (int32_t)v;
		rbuf_get_le32(&r, &v);
		d->lon_e6 = (int32_t)v;
	}
	if (d->flags & ADV_FLAG_FEAT1) {
		d->has_feat1 = true;
		rbuf_get_le16(&r, &d->feat1);
	}
	if (d->flags & ADV_FLAG_FEAT2) {
		d->has_feat2 = true;
		rbuf_get_le16(&r, &d->feat2);
	}
	if (d->flags & ADV_FLAG_NAME) {
		name_len = strnlen((const char *)rbuf_cur(&r), rbuf_left(&r));
		memcpy(d->name, rbuf_cur(&r), name_len);
		d->name[name_len] = '\0';
		d->name_len = name_len;
	}
	return ERR_OK;
}

/* The signed message: pub || timestamp || app_data. */
static size_t signed_msg(uint8_t msg[CRYPTO_PUB_SIZE + 4 + ADVERT_DATA_MAX], const uint8_t *pub,
                         uint32_t timestamp, const uint8_t *app_data, size_t app_data_len)
{
	memcpy(msg, pub, CRYPTO_PUB_SIZE);
	le32_store(msg + CRYPTO_PUB_SIZE, timestamp);
	if (app_data_len)
		memcpy(msg + CRYPTO_PUB_SIZE + 4, app_data, app_data_len);
	return CRYPTO_PUB_SIZE + 4 + app_data_len;
}

int advert_build(const struct ident *id, uint32_t timestamp, const uint8_t *app_data,
                 size_t app_data_len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t msg[CRYPTO_PUB_SIZE + 4 + ADVERT_DATA_MAX], sig[CRYPTO_SIG_SIZE];
	size_t msg_len;
	struct wbuf w;
	int rc;

	if (app_data_len > ADVERT_DATA_MAX)
		return ERR_TOO_BIG;
	msg_len = signed_msg(msg, id->pub, timestamp, app_data, app_data_len);
	rc = ident_sign(id, msg, msg_len, sig);
	if (rc)
		return rc;
	wbuf_init(&w, out, cap);
	wbuf_put_bytes(&w, id->pub, CRYPTO_PUB_SIZE);
	wbuf_put_le32(&w, timestamp);
	wbuf_put_bytes(&w, sig, CRYPTO_SIG_SIZE);
	wbuf_put_bytes(&w, app_data, app_data_len);
	if (w.err)
		return w.err;
	*out_len = w.len;
	return ERR_OK;
}

int advert_parse(struct advert *a, const uint8_t *payload, size_t len)
{
	uint8_t msg[CRYPTO_PUB_SIZE + 4 + ADVERT_DATA_MAX];
	size_t msg_len;
	struct rbuf r;

	if (len < ADVERT_HDR)
		return ERR_TRUNCATED;
	rbuf_init(&r, payload, len);
	rbuf_get_bytes(&r, a->pub, CRYPTO_PUB_SIZE);
	rbuf_get_le32(&r, &a->timestamp);
	rbuf_get_bytes(&r, a->sig, CRYPTO_SIG_SIZE);
	/* Bytes past 32 are neither signed nor parsed (Mesh::onRecvPacket). */
	a->app_data_len = rbuf_left(&r) > ADVERT_DATA_MAX ? ADVERT_DATA_MAX : rbuf_left(&r);
	rbuf_get_bytes(&r, a->app_data, a->app_data_len);
	msg_len = signed_msg(msg, a->pub, a->timestamp, a->app_data, a->app_data_len);
	if (ident_verify(a->pub, msg, msg_len, a->sig))
		return ERR_AUTH;
	a->data_err = advert_data_decode(&a->data, a->app_data, a->app_data_len);
	return ERR_OK;
}
