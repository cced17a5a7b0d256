/*
 * request.c - REQ and RESPONSE plaintexts and the bodies the room answers
 * with: keep-alive, ServerStats, access list (PROTOCOL.md §5.7).
 * Telemetry bodies are Cayenne LPP, see lpp.c.
 */
#include <string.h>

#include "proto/payload.h"
#include "util/buf.h"
#include "util/err.h"

int req_encode(const struct req *q, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, q->timestamp);
	wbuf_put_u8(&w, q->type);
	wbuf_put_bytes(&w, q->params, q->params_len);
	return wbuf_finish(&w, out_len);
}

int req_decode(struct req *q, const uint8_t *pt, size_t len)
{
	if (len < REQ_HDR)
		return ERR_TRUNCATED;
	q->timestamp = le32_load(pt);
	q->type = pt[4];
	q->params = pt + REQ_HDR;
	q->params_len = len - REQ_HDR;
	return ERR_OK;
}

int resp_encode(const struct resp *r, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, r->tag);
	wbuf_put_bytes(&w, r->data, r->data_len);
	return wbuf_finish(&w, out_len);
}

int resp_decode(struct resp *r, const uint8_t *pt, size_t len)
{
	if (len < RESP_HDR)
		return ERR_TRUNCATED;
	r->tag = le32_load(pt);
	r->data = pt + RESP_HDR;
	r->data_len = len - RESP_HDR;
	return ERR_OK;
}

int keepalive_encode(uint32_t timestamp, uint32_t force_since, uint8_t *out, size_t cap,
                     size_t *out_len)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, timestamp);
	wbuf_put_u8(&w, REQ_KEEP_ALIVE);
	wbuf_put_le32(&w, force_since);
	return wbuf_finish(&w, out_len);
}

int keepalive_decode(const uint8_t *pt, size_t len, uint32_t *timestamp, uint32_t *force_since)
{
	struct req q;
	int rc = req_decode(&q, pt, len);

	if (rc)
		return rc;
	if (q.type != REQ_KEEP_ALIVE)
		return ERR_FORMAT;
	*timestamp = q.timestamp;
	/* Optional: a short request and zero padding both read as 0. */
	*force_since = q.params_len >= 4 ? le32_load(q.params) : 0;
	return ERR_OK;
}

/* --- ServerStats: offsets of §5.7, little-endian, no padding ------------- */

static void stats_put_radio(struct wbuf *w, const struct server_stats *s)
{
	wbuf_put_le16(w, s->batt_mv);
	wbuf_put_le16(w, s->queue_len);
	wbuf_put_le16(w, (uint16_t)s->noise_floor);
	wbuf_put_le16(w, (uint16_t)s->last_rssi);
	wbuf_put_le32(w, s->n_recv);
	wbuf_put_le32(w, s->n_sent);
	wbuf_put_le32(w, s->air_secs);
	wbuf_put_le32(w, s->uptime_secs);
}

static void stats_put_mesh(struct wbuf *w, const struct server_stats *s)
{
	wbuf_put_le32(w, s->n_sent_flood);
	wbuf_put_le32(w, s->n_sent_direct);
	wbuf_put_le32(w, s->n_recv_flood);
	wbuf_put_le32(w, s->n_recv_direct);
	wbuf_put_le16(w, s->err_flags);
	wbuf_put_le16(w, (uint16_t)s->last_snr_x4);
	wbuf_put_le16(w, s->n_direct_dups);
	wbuf_put_le16(w, s->n_flood_dups);
}

static void stats_put_room(struct wbuf *w, const struct server_stats *s)
{
	wbuf_put_le16(w, s->n_posted);
	wbuf_put_le16(w, s->n_post_push);
}

int stats_encode(const struct server_stats *s, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	stats_put_radio(&w, s);
	stats_put_mesh(&w, s);
	stats_put_room(&w, s);
	return wbuf_finish(&w, out_len);
}

static int16_t get_i16(struct rbuf *r)
{
	uint16_t v = 0;

	rbuf_get_le16(r, &v);
	return (int16_t)v;
}

static void stats_get_radio(struct rbuf *r, struct server_stats *s)
{
	rbuf_get_le16(r, &s->batt_mv);
	rbuf_get_le16(r, &s->queue_len);
	s->noise_floor = get_i16(r);
	s->last_rssi = get_i16(r);
	rbuf_get_le32(r, &s->n_recv);
	rbuf_get_le32(r, &s->n_sent);
	rbuf_get_le32(r, &s->air_secs);
	rbuf_get_le32(r, &s->uptime_secs);
}

static void stats_get_mesh(struct rbuf *r, struct server_stats *s)
{
	rbuf_get_le32(r, &s->n_sent_flood);
	rbuf_get_le32(r, &s->n_sent_direct);
	rbuf_get_le32(r, &s->n_recv_flood);
	rbuf_get_le32(r, &s->n_recv_direct);
	rbuf_get_le16(r, &s->err_flags);
	s->last_snr_x4 = get_i16(r);
	rbuf_get_le16(r, &s->n_direct_dups);
	rbuf_get_le16(r, &s->n_flood_dups);
}

static void stats_get_room(struct rbuf *r, struct server_stats *s)
{
	rbuf_get_le16(r, &s->n_posted);
	rbuf_get_le16(r, &s->n_post_push);
}

int stats_decode(struct server_stats *s, const uint8_t *p, size_t len)
{
	struct rbuf r;

	if (len < SERVER_STATS_SIZE)
		return ERR_TRUNCATED;
	rbuf_init(&r, p, len);
	stats_get_radio(&r, s);
	stats_get_mesh(&r, s);
	stats_get_room(&r, s);
	return ERR_OK;
}

/* --- access list ---------------------------------------------------------- */

int acl_list_encode(uint32_t tag, const struct acl_entry *e, size_t n, uint8_t *out, size_t cap,
                    size_t *out_len, size_t *n_written)
{
	struct wbuf w;
	size_t i;

	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, tag);
	for (i = 0; i < n && w.len + ACL_ENTRY_SIZE <= ACL_LIST_MAX; i++) {
		wbuf_put_bytes(&w, e[i].prefix, ACL_PREFIX_SIZE);
		wbuf_put_u8(&w, e[i].permissions);
	}
	*n_written = i;
	return wbuf_finish(&w, out_len);
}

static bool entry_is_zero(const uint8_t *p)
{
	for (size_t i = 0; i < ACL_ENTRY_SIZE; i++) {
		if (p[i])
			return false;
	}
	return true;
}

int acl_list_decode(const uint8_t *data, size_t len, struct acl_entry *e, size_t max, size_t *n)
{
	size_t count = 0;

	*n = 0;
	for (size_t off = 0; off + ACL_ENTRY_SIZE <= len; off += ACL_ENTRY_SIZE) {
		if (entry_is_zero(data + off))
			break;
		if (count == max)
			return ERR_TOO_BIG;
		memcpy(e[count].prefix, data + off, ACL_PREFIX_SIZE);
		e[count].permissions = data[off + ACL_PREFIX_SIZE];
		count++;
	}
	*n = count;
	return ERR_OK;
}
