/*
 * mesh.c - receive pipeline, routing and transmit scheduler
 * (PROTOCOL.md §6.1-§6.8).
 *
 * The order of the receive steps is the firmware's (Mesh::onRecvPacket):
 * duplicates are checked before the destination, so every flood is marked
 * once and forwarded at most once; a packet that was for one of our
 * endpoints is never forwarded.  ACKs re-emitted by a direct forwarder are
 * new packets that are not marked seen.
 */
#include <string.h>

#include "mesh/mesh.h"
#include "proto/advert.h"
#include "proto/payload.h"
#include "proto/region.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#define BUDGET_WINDOW_MS 3600000.0

void mesh_cfg_defaults(struct mesh_cfg *c)
{
	*c = (struct mesh_cfg){
	    .lp = LORA_PARAMS_DEFAULT,
	    .airtime_factor = 1.0,
	    .tx_delay_factor = 0.5,
	    .direct_tx_delay_factor = 0.2,
	    .repeat = false,
	    .flood_max = 64,
	    .flood_max_unscoped = 64,
	    .flood_max_advert = 8,
	    .multi_acks = 0,
	};
}

static double duty(const struct mesh *m)
{
	double af = m->cfg.airtime_factor < 0 ? 0 : m->cfg.airtime_factor;
	return 1.0 / (1.0 + af);
}

void mesh_init(struct mesh *m, const struct mesh_cfg *cfg, const struct mesh_io *io,
               const struct rng *rng, uint64_t now_ms)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->io = *io;
	m->rng = rng;
	m->now_ms = now_ms;
	m->budget_ms = BUDGET_WINDOW_MS * duty(m);
	m->budget_update_ms = now_ms;
}

int mesh_add_ep(struct mesh *m, struct mesh_ep *ep)
{
	if (m->n_eps >= MESH_MAX_EPS)
		return ERR_FULL;
	m->eps[m->n_eps++] = ep;
	return ERR_OK;
}

void mesh_remove_ep(struct mesh *m, struct mesh_ep *ep)
{
	for (int i = 0; i < m->n_eps; i++) {
		if (m->eps[i] == ep) {
			memmove(&m->eps[i], &m->eps[i + 1],
			        (size_t)(m->n_eps - i - 1) * sizeof(ep));
			m->n_eps--;
			return;
		}
	}
}

/* ---- duplicate table (§6.6) ---- */

bool mesh_dup_seen(struct mesh *m, const uint8_t hash[PKT_HASH_SIZE])
{
	for (int i = 0; i < MESH_DUP_ENTRIES; i++)
		if (memcmp(m->dup[i], hash, PKT_HASH_SIZE) == 0)
			return true;
	return false;
}

void mesh_dup_mark(struct mesh *m, const uint8_t hash[PKT_HASH_SIZE])
{
	memcpy(m->dup[m->dup_next], hash, PKT_HASH_SIZE);
	m->dup_next = (m->dup_next + 1) % MESH_DUP_ENTRIES;
}

void mesh_dup_clear(struct mesh *m, const uint8_t hash[PKT_HASH_SIZE])
{
	for (int i = 0; i < MESH_DUP_ENTRIES; i++)
		if (memcmp(m->dup[i], hash, PKT_HASH_SIZE) == 0)
			memset(m->dup[i], 0, PKT_HASH_SIZE);
}

/* Checks and marks; counts duplicates by route kind. */
static bool seen_or_mark(struct mesh *m, const struct pkt *p, const uint8_t hash[PKT_HASH_SIZE])
{
	if (mesh_dup_seen(m, hash)) {
		if (pkt_is_flood(p))
			m->stats.dup_flood++;
		else
			m->stats.dup_direct++;
		return true;
	}
	mesh_dup_mark(m, hash);
	return false;
}

/* ---- transmit queue and scheduler (§6.8) ---- */

static int enqueue(struct mesh *m, const struct pkt *p, uint8_t pri, uint32_t delay_ms)
{
	for (int i = 0; i < MESH_TXQ_MAX; i++) {
		struct mesh_txq_entry *e = &m->txq[i];
		if (e->used)
			continue;
		e->pkt = *p;
		e->pri = pri;
		e->due_ms = m->now_ms + delay_ms;
		e->seq = m->txq_seq++;
		e->used = true;
		return ERR_OK;
	}
	m->stats.queue_full++;
	m->stats.err_flags |= MESH_ERR_POOL;
	log_warn("mesh", "transmit queue full, %s dropped", pkt_type_name(pkt_type(p)));
	return ERR_FULL;
}

uint64_t mesh_last_queued(const struct mesh *m)
{
	return m->txq_seq - 1;
}

int mesh_tx_state(const struct mesh *m, uint64_t seq, uint64_t *done_ms)
{
	if (m->tx_busy && m->tx_seq == seq)
		return MESH_TX_WAITING;
	for (int i = 0; i < MESH_TXQ_MAX; i++)
		if (m->txq[i].used && m->txq[i].seq == seq)
			return MESH_TX_WAITING;
	for (int i = 0; i < MESH_TX_DONE_LOG; i++) {
		if (m->tx_done[i].seq == seq && m->tx_done[i].done_ms) {
			*done_ms = m->tx_done[i].done_ms;
			return ERR_OK;
		}
	}
	return ERR_NOT_FOUND;
}

int mesh_set_due(struct mesh *m, uint64_t seq, uint64_t due_ms)
{
	for (int i = 0; i < MESH_TXQ_MAX; i++) {
		if (m->txq[i].used && m->txq[i].seq == seq) {
			m->txq[i].due_ms = due_ms;
			return ERR_OK;
		}
	}
	return ERR_NOT_FOUND;
}

unsigned mesh_queue_len(const struct mesh *m)
{
	unsigned n = 0;
	for (int i = 0; i < MESH_TXQ_MAX; i++)
		n += m->txq[i].used;
	return n;
}

static void budget_refill(struct mesh *m)
{
	double refill = (double)(m->now_ms - m->budget_update_ms) * duty(m);
	if (refill >= 1.0) {
		double max = BUDGET_WINDOW_MS * duty(m);
		m->budget_ms += (double)(uint64_t)refill;
		if (m->budget_ms > max)
			m->budget_ms = max;
		m->budget_update_ms = m->now_ms;
	}
}

static struct mesh_txq_entry *next_due(struct mesh *m)
{
	struct mesh_txq_entry *best = NULL;
	for (int i = 0; i < MESH_TXQ_MAX; i++) {
		struct mesh_txq_entry *e = &m->txq[i];
		if (!e->used || e->due_ms > m->now_ms)
			continue;
		if (!best || e->pri < best->pri || (e->pri == best->pri && e->seq < best->seq))
			best = e;
	}
	return best;
}

static void try_send(struct mesh *m)
{
	uint8_t frame[PKT_MAX_FRAME];
	size_t len;

	while (!m->tx_busy && m->now_ms >= m->next_tx_ms) {
		struct mesh_txq_entry *e = next_due(m);
		if (!e)
			return;
		budget_refill(m);
		double half = lora_airtime_ms(&m->cfg.lp, PKT_MAX_FRAME) / 2.0;
		if (m->budget_ms < half) {
			m->next_tx_ms = m->now_ms + (uint64_t)((half - m->budget_ms) / duty(m)) + 1;
			return;
		}
		if (pkt_encode(&e->pkt, frame, sizeof(frame), &len) != ERR_OK) {
			e->used = false; /* cannot happen for packets built here */
			continue;
		}
		int rc = m->io.transmit(m->io.ctx, frame, len);
		if (rc == ERR_AGAIN) {
			/* the radio cannot take it now (channel busy, modem away):
			 * retry after the channel-busy delay of §6.7 instead of on
			 * every tick; 4 s of this raises the busy flag */
			if (!m->chan_busy) {
				m->chan_busy = true;
				m->busy_since_ms = m->now_ms;
			} else if (m->now_ms - m->busy_since_ms > 4000) {
				m->stats.err_flags |= MESH_ERR_BUSY;
			}
			m->next_tx_ms = m->now_ms + rng_range(m->rng, 1, 4) * 120;
			return;
		}
		m->chan_busy = false;
		if (rc != ERR_OK) {
			m->stats.tx_failed++;
			e->used = false;
			continue;
		}
		if (pkt_is_flood(&e->pkt))
			m->stats.flood_tx++;
		else
			m->stats.direct_tx++;
		m->tx_busy = true;
		m->tx_seq = e->seq;
		m->tx_start_ms = m->now_ms;
		m->tx_est_ms = lora_airtime_ms(&m->cfg.lp, len);
		e->used = false;
	}
}

void mesh_on_tx_done(struct mesh *m, bool ok, uint64_t now_ms)
{
	m->now_ms = now_ms;
	if (!m->tx_busy)
		return;
	m->tx_busy = false;
	m->tx_end_ms = now_ms;
	if (!ok) {
		m->stats.tx_failed++;
	} else {
		m->stats.sent++;
	}
	/* when each frame left the air: the earliest a genuine answer can follow */
	m->tx_done[m->tx_done_next].seq = m->tx_seq;
	m->tx_done[m->tx_done_next].done_ms = ok ? now_ms : UINT64_MAX;
	m->tx_done_next = (m->tx_done_next + 1) % MESH_TX_DONE_LOG;
	/* The modem's TxDone also covers its own listen-before-talk wait, so the
	 * budget is charged the estimated time on air, not the elapsed time. */
	uint32_t t = m->tx_est_ms;
	m->stats.tx_air_ms += t;
	budget_refill(m);
	m->budget_ms -= t;
	if (m->budget_ms < 0)
		m->budget_ms = 0;
	if (m->budget_ms < 100)
		m->next_tx_ms = now_ms + (uint64_t)((100 - m->budget_ms) / duty(m));
	try_send(m);
}

int mesh_sense(struct mesh *m)
{
	return m->io.sense ? m->io.sense(m->io.ctx) : 0;
}

uint64_t mesh_last_tx_end(const struct mesh *m, bool *busy)
{
	*busy = m->tx_busy;
	return m->tx_busy ? m->tx_start_ms + m->tx_est_ms : m->tx_end_ms;
}

void mesh_tick(struct mesh *m, uint64_t now_ms)
{
	m->now_ms = now_ms;
	try_send(m);
}

uint64_t mesh_next_deadline(const struct mesh *m)
{
	uint64_t best = UINT64_MAX;
	if (m->tx_busy)
		return best;
	for (int i = 0; i < MESH_TXQ_MAX; i++)
		if (m->txq[i].used && m->txq[i].due_ms < best)
			best = m->txq[i].due_ms;
	if (best != UINT64_MAX && best < m->next_tx_ms)
		best = m->next_tx_ms;
	return best;
}

/* ---- delays (§6.7) ---- */

static uint32_t retransmit_delay(struct mesh *m, const struct pkt *p, double factor)
{
	uint32_t air = lora_airtime_ms(&m->cfg.lp, pkt_path_bytes(p) + p->payload_len + 2);
	uint32_t t = (uint32_t)(air * factor);
	return rng_range(m->rng, 0, 5 * t + 1);
}

uint32_t mesh_flood_delay(struct mesh *m, const struct pkt *p)
{
	return retransmit_delay(m, p, m->cfg.tx_delay_factor);
}

uint32_t mesh_direct_delay(struct mesh *m, const struct pkt *p)
{
	return retransmit_delay(m, p, m->cfg.direct_tx_delay_factor);
}

/* ---- sending (§6.5) ---- */

static void mark_sent(struct mesh *m, const struct pkt *p)
{
	uint8_t h[PKT_HASH_SIZE];
	pkt_hash(p, h);
	mesh_dup_mark(m, h);
}

int mesh_send_flood(struct mesh *m, struct pkt *p, uint32_t delay_ms, unsigned hash_size,
                    const uint8_t *scope_key)
{
	unsigned type = pkt_type(p);
	if (type == PKT_TRACE)
		return ERR_INVAL;
	if (hash_size < 1 || hash_size > 3)
		hash_size = 1;
	if (scope_key) {
		p->header = pkt_header(PKT_ROUTE_TRANSPORT_FLOOD, type);
		p->transport[0] =
		    region_transport_code(scope_key, (uint8_t)type, p->payload, p->payload_len);
		p->transport[1] = 0;
	} else {
		p->header = pkt_header(PKT_ROUTE_FLOOD, type);
		p->transport[0] = p->transport[1] = 0;
	}
	p->path_len = path_len_make(hash_size, 0);
	mark_sent(m, p);
	uint8_t pri = type == PKT_PATH     ? MESH_PRI_PATH_FLOOD
	              : type == PKT_ADVERT ? MESH_PRI_ADVERT
	                                   : MESH_PRI_FLOOD;
	return enqueue(m, p, pri, delay_ms);
}

int mesh_send_direct(struct mesh *m, struct pkt *p, uint8_t path_len, const uint8_t *path,
                     uint32_t delay_ms)
{
	unsigned type = pkt_type(p);
	if (type == PKT_TRACE) {
		/* the hash list to visit (path_len bytes, not a path_len code)
		 * goes after the payload; the path collects SNR bytes (§6.4) */
		if (p->payload_len + path_len > PKT_MAX_PAYLOAD)
			return ERR_TOO_BIG;
	} else if (!path_len_valid(path_len)) {
		return ERR_PATH;
	}
	p->header = pkt_header(PKT_ROUTE_DIRECT, type);
	p->transport[0] = p->transport[1] = 0;
	if (type == PKT_TRACE) {
		if (path_len)
			memcpy(p->payload + p->payload_len, path, path_len);
		p->payload_len += path_len;
		p->path_len = 0;
	} else {
		p->path_len = path_len;
		if (path_len_bytes(path_len))
			memcpy(p->path, path, path_len_bytes(path_len));
	}
	mark_sent(m, p);
	uint8_t pri = type == PKT_PATH ? 1 : type == PKT_TRACE ? MESH_PRI_TRACE : MESH_PRI_DIRECT;
	return enqueue(m, p, pri, delay_ms);
}

int mesh_send_zero_hop(struct mesh *m, struct pkt *p, uint32_t delay_ms)
{
	p->header = pkt_header(PKT_ROUTE_DIRECT, pkt_type(p));
	p->transport[0] = p->transport[1] = 0;
	p->path_len = 0;
	mark_sent(m, p);
	return enqueue(m, p, MESH_PRI_DIRECT, delay_ms);
}

int mesh_send_to(struct mesh *m, struct pkt *p, uint8_t out_path_len, const uint8_t *out_path,
                 uint32_t delay_ms)
{
	if (out_path_len == MESH_NO_PATH)
		return mesh_send_flood(m, p, delay_ms, 1, NULL);
	return mesh_send_direct(m, p, out_path_len, out_path, delay_ms);
}

/* ---- builders (§4, §5) ---- */

/* A flood packet of `type` with an empty path, ready for a payload. */
static void pkt_start(struct pkt *p, unsigned type)
{
	memset(p, 0, offsetof(struct pkt, path));
	p->header = pkt_header(PKT_ROUTE_FLOOD, type);
}

int mesh_build_datagram(struct pkt *p, unsigned type, const struct ident *from, uint8_t dest_hash,
                        const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t len)
{
	size_t n;
	pkt_start(p, type);
	int rc = dgram_build(dest_hash, from->pub[0], secret, pt, len, p->payload,
	                     sizeof(p->payload), &n);
	p->payload_len = rc ? 0 : n;
	return rc;
}

int mesh_build_anon(struct pkt *p, const struct ident *from, uint8_t dest_hash,
                    const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t len)
{
	size_t n;
	pkt_start(p, PKT_ANON_REQ);
	int rc =
	    anon_build(dest_hash, from->pub, secret, pt, len, p->payload, sizeof(p->payload), &n);
	p->payload_len = rc ? 0 : n;
	return rc;
}

int mesh_build_path(struct pkt *p, const struct ident *from, uint8_t dest_hash,
                    const uint8_t secret[CRYPTO_SECRET_SIZE], uint8_t path_len, const uint8_t *path,
                    unsigned extra_type, const uint8_t *extra, size_t extra_len,
                    const struct rng *rng)
{
	uint8_t pt[PKT_MAX_PAYLOAD];
	struct path_msg msg = {
	    .path_len = path_len,
	    .extra_type = (uint8_t)extra_type,
	    .extra = extra,
	    .extra_len = extra ? extra_len : 0,
	};
	size_t n;

	if (!path_len_valid(path_len))
		return ERR_PATH;
	if (path_len_bytes(path_len))
		memcpy(msg.path, path, path_len_bytes(path_len));
	/* "no extra" becomes type 0xFF and 4 random bytes (Mesh::createPathReturn) */
	int rc = path_msg_encode(&msg, rng, pt, sizeof(pt), &n);
	if (rc == ERR_OK)
		rc = mesh_build_datagram(p, PKT_PATH, from, dest_hash, secret, pt, n);
	crypto_wipe(pt, sizeof(pt));
	return rc;
}

int mesh_build_ack(struct pkt *p, const uint8_t code[4], const uint8_t *extra, size_t extra_len)
{
	if (4 + extra_len > PKT_MAX_PAYLOAD)
		return ERR_TOO_BIG;
	pkt_start(p, PKT_ACK);
	memcpy(p->payload, code, 4);
	if (extra_len)
		memcpy(p->payload + 4, extra, extra_len);
	p->payload_len = 4 + extra_len;
	return ERR_OK;
}

int mesh_build_multi_ack(struct pkt *p, const uint8_t code[4], unsigned remaining)
{
	pkt_start(p, PKT_MULTIPART);
	p->payload[0] = (uint8_t)(((remaining & 0x0F) << 4) | PKT_ACK);
	memcpy(p->payload + 1, code, 4);
	p->payload_len = 5;
	return ERR_OK;
}

int mesh_build_advert(struct pkt *p, const struct ident *id, uint32_t ts, const uint8_t *app_data,
                      size_t app_len)
{
	size_t n;
	pkt_start(p, PKT_ADVERT);
	int rc = advert_build(id, ts, app_data, app_len, p->payload, sizeof(p->payload), &n);
	p->payload_len = rc ? 0 : n;
	return rc;
}

/* ---- routing (§6.2, §6.3, §6.4) ---- */

static const uint8_t *self_prefix(const struct mesh *m)
{
	return m->n_eps ? m->eps[0]->id.pub : NULL;
}

static bool allow_forward(const struct mesh *m, const struct pkt *p)
{
	if (!m->cfg.repeat || !m->n_eps)
		return false;
	if (pkt_is_direct(p))
		return true;
	unsigned hops = pkt_path_count(p);
	if (hops >= m->cfg.flood_max)
		return false;
	if (pkt_route(p) == PKT_ROUTE_FLOOD && hops >= m->cfg.flood_max_unscoped)
		return false;
	if (pkt_type(p) == PKT_ADVERT && hops >= m->cfg.flood_max_advert)
		return false;
	return true;
}

static void flood_forward(struct mesh *m, const struct pkt *in)
{
	unsigned size = pkt_path_hash_size(in), count = pkt_path_count(in);
	struct pkt p;

	/* the count field has 6 bits: with 1-byte hashes a 63rd hop still fits
	 * the 64 path bytes but the count would wrap to 0 (the firmware sends
	 * such a packet with a corrupted path_len; we do not forward it) */
	if ((count + 1) * size > PKT_MAX_PATH || count + 1 > 0x3F || !allow_forward(m, in))
		return;
	p = *in;
	memcpy(p.path + count * size, self_prefix(m), size);
	p.path_len = path_len_make(size, count + 1);
	m->stats.forwarded++;
	enqueue(m, &p, (uint8_t)(count + 1), mesh_flood_delay(m, &p));
}

static void remove_self(struct pkt *p)
{
	unsigned size = pkt_path_hash_size(p), count = pkt_path_count(p);
	memmove(p->path, p->path + size, (count - 1) * size);
	p->path_len = path_len_make(size, count - 1);
}

/* A new DIRECT packet along the shortened path carrying the ACK bytes as
 * received, plain or (remaining > 0) wrapped in a MULTIPART. */
static bool ack_copy(struct pkt *a, const struct pkt *shortened, const uint8_t *ack, size_t len,
                     unsigned remaining)
{
	size_t off = remaining ? 1 : 0;
	if (off + len > PKT_MAX_PAYLOAD)
		return false;
	memset(a, 0, offsetof(struct pkt, path));
	a->header = pkt_header(PKT_ROUTE_DIRECT, remaining ? PKT_MULTIPART : PKT_ACK);
	if (remaining)
		a->payload[0] = (uint8_t)(((remaining & 0x0F) << 4) | PKT_ACK);
	memcpy(a->payload + off, ack, len);
	a->payload_len = off + len;
	a->path_len = shortened->path_len;
	memcpy(a->path, shortened->path, pkt_path_bytes(shortened));
	return true;
}

/* Mesh::routeDirectRecvAcks on an already shortened packet.  The ACK is
 * re-emitted whole, not just its 4-byte code: a keep-alive ACK keeps its
 * unsynced-post count and a chat ACK its extra bytes (§5.5). */
static void reemit_acks(struct mesh *m, const struct pkt *shortened, const uint8_t *ack, size_t len,
                        uint32_t delay)
{
	struct pkt a;
	for (unsigned e = m->cfg.multi_acks; e >= 1; e--) {
		delay += mesh_direct_delay(m, shortened) + 300;
		if (ack_copy(&a, shortened, ack, len, e))
			enqueue(m, &a, MESH_PRI_DIRECT, delay);
	}
	if (ack_copy(&a, shortened, ack, len, 0))
		enqueue(m, &a, MESH_PRI_DIRECT, delay);
	m->stats.forwarded++;
}

static bool ack_to_eps(struct mesh *m, const struct mesh_rx *rx, const uint8_t *ack, size_t len)
{
	for (int i = 0; i < m->n_eps; i++) {
		struct mesh_ep *ep = m->eps[i];
		if (ep->ops->on_ack && ep->ops->on_ack(ep, rx, ack, ack, len))
			return true;
	}
	return false;
}

static void multipart_hash(const struct pkt *p, uint8_t h[PKT_HASH_SIZE])
{
	uint8_t d[CRYPTO_HASH_SIZE], t = PKT_MULTIPART;
	hash_sha256_2(d, &t, 1, p->payload + 1, p->payload_len - 1);
	memcpy(h, d, PKT_HASH_SIZE);
}

/* Direct packet with hops left: we may be a forwarder (§6.1 C). */
static void direct_in_transit(struct mesh *m, struct pkt *p, const struct mesh_rx *rx,
                              const uint8_t hash[PKT_HASH_SIZE])
{
	unsigned type = pkt_type(p), size = pkt_path_hash_size(p);
	bool ours = false;

	if (type == PKT_ACK && p->payload_len >= 4)
		ours = ack_to_eps(m, rx, p->payload, p->payload_len); /* early ACK */
	if (!self_prefix(m) || memcmp(p->path, self_prefix(m), size) != 0 || !allow_forward(m, p))
		return;
	if (type == PKT_MULTIPART) {
		/* only a wrapped ACK is understood; any other MULTIPART stops here
		 * (Mesh::forwardMultipartDirect) */
		uint8_t mh[PKT_HASH_SIZE];
		if (p->payload_len < 5 || (p->payload[0] & 0x0F) != PKT_ACK)
			return;
		multipart_hash(p, mh);
		if (seen_or_mark(m, p, mh))
			return;
		remove_self(p);
		reemit_acks(m, p, p->payload + 1, p->payload_len - 1,
		            ((p->payload[0] >> 4) + 1u) * 300);
	} else if (type == PKT_ACK) {
		/* the firmware would retransmit a matched ACK with a 0xFF header
		 * (§6.3 quirk); an ACK that was ours is simply not re-emitted */
		if (ours || seen_or_mark(m, p, hash))
			return;
		remove_self(p);
		reemit_acks(m, p, p->payload, p->payload_len, 0);
	} else {
		if (seen_or_mark(m, p, hash))
			return;
		remove_self(p);
		m->stats.forwarded++;
		enqueue(m, p, MESH_PRI_DIRECT, mesh_direct_delay(m, p));
	}
}

static void trace_direct(struct mesh *m, struct pkt *p, const struct mesh_rx *rx,
                         const uint8_t hash[PKT_HASH_SIZE])
{
	if (p->payload_len < 9) {
		m->stats.bad_payload++; /* no room for tag, auth code and flags */
		return;
	}
	if (p->path_len >= PKT_MAX_PATH)
		return;
	unsigned n = p->path_len, k = 1u << (p->payload[8] & 3);
	size_t list = p->payload_len - 9, off = (size_t)n * k;
	if (off >= list)
		return; /* reached its end: the room does not use traces */
	if (k > list - off || !self_prefix(m) ||
	    memcmp(p->payload + 9 + off, self_prefix(m), k) != 0 || !allow_forward(m, p) ||
	    seen_or_mark(m, p, hash))
		return;
	p->path[n] = (uint8_t)(int8_t)rx->snr_x4;
	p->path_len = (uint8_t)(n + 1);
	m->stats.forwarded++;
	enqueue(m, p, MESH_PRI_TRACE, mesh_direct_delay(m, p));
}

/* Reciprocal PATH (§5.6): direct along the path just learnt, carrying the
 * flood path the received PATH accumulated. */
static void send_reciprocal(struct mesh *m, struct mesh_ep *ep, const struct mesh_peer *peer,
                            const struct pkt *in, uint8_t path_len, const uint8_t *path)
{
	struct pkt p;
	if (mesh_build_path(&p, &ep->id, peer->pub[0], peer->secret, in->path_len, in->path, 0xFF,
	                    NULL, 0, m->rng) == ERR_OK)
		mesh_send_direct(m, &p, path_len, path, 500);
}

static bool handle_path(struct mesh *m, struct mesh_ep *ep, const struct mesh_rx *rx,
                        const struct mesh_peer *peer, const uint8_t *pt, size_t len, bool *stop)
{
	uint8_t pl = pt[0];
	*stop = false;
	if (!path_len_valid(pl) || (size_t)1 + path_len_bytes(pl) + 1 > len) {
		*stop = true; /* an invalid path ends the search for candidates */
		return false;
	}
	size_t pb = path_len_bytes(pl);
	unsigned extra_type = pt[1 + pb] & 0x0F;
	const uint8_t *extra = pt + 2 + pb;
	size_t extra_len = len - (2 + pb);
	bool accepted =
	    ep->ops->on_peer_path &&
	    ep->ops->on_peer_path(ep, rx, peer, pl, pt + 1, extra_type, extra, extra_len);
	if (accepted && pkt_is_flood(rx->pkt) && ep->reciprocal_path)
		send_reciprocal(m, ep, peer, rx->pkt, pl, pt + 1);
	return true;
}

/* REQ/RESPONSE/TXT_MSG/PATH addressed by hash: try every candidate key. */
static bool peer_datagram(struct mesh *m, const struct pkt *p, const struct mesh_rx *rx)
{
	uint8_t dest = p->payload[0], src = p->payload[1];
	uint8_t pt[PKT_MAX_PAYLOAD + 1];
	struct mesh_peer cands[MESH_MAX_CANDIDATES];
	size_t len;
	bool addressed = false;

	for (int i = 0; i < m->n_eps; i++) {
		struct mesh_ep *ep = m->eps[i];
		if (ep->id.pub[0] != dest || !ep->ops->peers_by_hash)
			continue;
		addressed = true;
		/* every candidate, a page at a time: a room of thousands has
		 * dozens of members behind each hash */
		bool stop = false;
		for (int skip = 0, n = MESH_MAX_CANDIDATES; !stop && n == MESH_MAX_CANDIDATES;
		     skip += n) {
			n = ep->ops->peers_by_hash(ep, src, skip, cands, MESH_MAX_CANDIDATES);
			if (n > MESH_MAX_CANDIDATES)
				n = MESH_MAX_CANDIDATES; /* never read past cands[] */
			for (int c = 0; c < n && !stop; c++) {
				if (cipher_decrypt(cands[c].secret, p->payload + 2,
				                   p->payload_len - 2, pt, sizeof(pt) - 1,
				                   &len) != ERR_OK)
					continue;
				pt[len] = 0;
				bool done = true;
				if (pkt_type(p) == PKT_PATH) {
					done = handle_path(m, ep, rx, &cands[c], pt, len, &stop);
				} else if (ep->ops->on_peer_data) {
					done = ep->ops->on_peer_data(ep, rx, &cands[c], pkt_type(p),
					                             pt, len);
				}
				crypto_wipe(pt, sizeof(pt));
				if (done) {
					crypto_wipe(cands, sizeof(cands));
					return true;
				}
			}
			crypto_wipe(cands, sizeof(cands));
		}
	}
	crypto_wipe(pt, sizeof(pt));
	if (addressed)
		m->stats.bad_mac++;
	else
		m->stats.not_for_us++;
	return false;
}

static bool anon_req(struct mesh *m, const struct pkt *p, const struct mesh_rx *rx)
{
	uint8_t secret[CRYPTO_SECRET_SIZE], pt[PKT_MAX_PAYLOAD + 1];
	size_t len;
	bool done = false, addressed = false;

	for (int i = 0; i < m->n_eps && !done; i++) {
		struct mesh_ep *ep = m->eps[i];
		if (ep->id.pub[0] != p->payload[0] || !ep->ops->on_anon_req)
			continue;
		addressed = true;
		/* a sender key that is no curve point fails like a wrong MAC */
		if (ident_shared_secret(&ep->id, p->payload + 1, secret) != ERR_OK ||
		    cipher_decrypt(secret, p->payload + 33, p->payload_len - 33, pt, sizeof(pt) - 1,
		                   &len) != ERR_OK)
			continue;
		pt[len] = 0;
		ep->ops->on_anon_req(ep, rx, p->payload + 1, secret, pt, len);
		done = true;
	}
	if (!done && addressed)
		m->stats.bad_mac++;
	else if (!done)
		m->stats.not_for_us++;
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(pt, sizeof(pt));
	return done;
}

static bool is_own_key(const struct mesh *m, const uint8_t *pub)
{
	for (int i = 0; i < m->n_eps; i++)
		if (memcmp(m->eps[i]->id.pub, pub, CRYPTO_PUB_SIZE) == 0)
			return true;
	return false;
}

static bool advert(struct mesh *m, const struct pkt *p, const struct mesh_rx *rx)
{
	uint8_t msg[CRYPTO_PUB_SIZE + 4 + 32];
	size_t app_len = p->payload_len - 100;
	if (app_len > 32)
		app_len = 32; /* only the first 32 bytes count, for the signature too */
	memcpy(msg, p->payload, 36);
	memcpy(msg + 36, p->payload + 100, app_len);
	if (ident_verify(p->payload, msg, 36 + app_len, p->payload + 36) != ERR_OK) {
		m->stats.bad_advert++;
		return false;
	}
	for (int i = 0; i < m->n_eps; i++) {
		struct mesh_ep *ep = m->eps[i];
		if (ep->ops->on_advert)
			ep->ops->on_advert(ep, rx, p->payload, le32_load(p->payload + 32),
			                   p->payload + 100, app_len);
	}
	return true;
}

/* What became of a received packet, past the direct-path cases. */
enum rx_fate {
	RX_DONE,    /* handled or dropped: nothing more to do */
	RX_BAD,     /* payload too short for its type */
	RX_FORWARD, /* not for us: flood-forward it if it came by flood */
};

/* Checks a packet's payload size, drops duplicates and hands it to the endpoints. */
static enum rx_fate rx_dispatch(struct mesh *m, const struct pkt *p, const struct mesh_rx *rx,
                                const uint8_t hash[PKT_HASH_SIZE])
{
	bool for_us = false;
	switch (pkt_type(p)) {
	case PKT_ACK:
		if (p->payload_len < 4)
			return RX_BAD;
		if (seen_or_mark(m, p, hash))
			return RX_DONE;
		for_us = ack_to_eps(m, rx, p->payload, p->payload_len);
		break;
	case PKT_PATH:
	case PKT_REQ:
	case PKT_RESPONSE:
	case PKT_TXT_MSG:
		if (p->payload_len < 5)
			return RX_BAD;
		if (seen_or_mark(m, p, hash))
			return RX_DONE;
		for_us = peer_datagram(m, p, rx);
		break;
	case PKT_ANON_REQ:
		if (p->payload_len < 36)
			return RX_BAD;
		if (seen_or_mark(m, p, hash))
			return RX_DONE;
		for_us = anon_req(m, p, rx);
		break;
	case PKT_GRP_TXT:
	case PKT_GRP_DATA:
		if (p->payload_len < 4)
			return RX_BAD;
		if (seen_or_mark(m, p, hash))
			return RX_DONE;
		break; /* no channels here: only forwarded when repeating */
	case PKT_ADVERT:
		if (p->payload_len < 100)
			return RX_BAD;
		if (is_own_key(m, p->payload))
			return RX_DONE;
		if (seen_or_mark(m, p, hash))
			return RX_DONE;
		if (!advert(m, p, rx))
			return RX_DONE; /* a bad signature is dropped and not forwarded */
		break;
	case PKT_MULTIPART:
		if (p->payload_len < 3 || ((p->payload[0] & 0x0F) == PKT_ACK && p->payload_len < 5))
			return RX_BAD;
		if ((p->payload[0] & 0x0F) == PKT_ACK) {
			uint8_t mh[PKT_HASH_SIZE];
			multipart_hash(p, mh);
			if (!seen_or_mark(m, p, mh))
				ack_to_eps(m, rx, p->payload + 1, p->payload_len - 1);
		}
		return RX_DONE;  /* never flood-forwarded */
	default: return RX_DONE; /* TRACE by flood, CONTROL, reserved, RAW_CUSTOM: dropped */
	}
	return for_us ? RX_DONE : RX_FORWARD;
}

void mesh_on_frame(struct mesh *m, const uint8_t *frame, size_t len, int snr_x4, int rssi,
                   uint64_t now_ms)
{
	struct pkt p;
	uint8_t hash[PKT_HASH_SIZE];
	struct mesh_rx rx = {&p, snr_x4, rssi, now_ms};

	m->now_ms = now_ms;
	m->stats.recv++;
	m->stats.last_snr_x4 = snr_x4;
	m->stats.last_rssi = rssi;
	m->stats.rx_air_ms += lora_airtime_ms(&m->cfg.lp, len);
	int rc = pkt_decode(&p, frame, len);
	if (rc != ERR_OK) {
		m->stats.bad_frame[(-rc) & 15]++;
		return;
	}
	if (pkt_is_flood(&p))
		m->stats.flood_rx++;
	else
		m->stats.direct_rx++;
	pkt_hash(&p, hash);
	unsigned type = pkt_type(&p);

	if (pkt_is_direct(&p) && type == PKT_TRACE) {
		trace_direct(m, &p, &rx, hash);
		goto out;
	}
	if (pkt_is_direct(&p) && type == PKT_CONTROL && p.payload_len && (p.payload[0] & 0x80))
		goto out; /* node discovery: the room does not answer it */
	if (pkt_is_direct(&p) && pkt_path_count(&p) > 0) {
		direct_in_transit(m, &p, &rx, hash);
		goto out;
	}
	enum rx_fate fate = rx_dispatch(m, &p, &rx, hash);
	if (fate == RX_BAD)
		m->stats.bad_payload++;
	else if (fate == RX_FORWARD && pkt_is_flood(&p))
		flood_forward(m, &p);
out:
	try_send(m);
}
