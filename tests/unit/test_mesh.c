/*
 * test_mesh.c - the mesh layer (PROTOCOL.md §6, with §2.8, §5.5, §5.6) on a
 * fake clock, with no I/O.
 *
 * An in-test "air" connects several struct mesh: each mesh's io.transmit
 * captures its frame, and when the frame's time on air (§6.9) has passed the
 * air hands it to the neighbours a topology matrix names (mesh_on_frame),
 * then reports TxDone to the sender (mesh_on_tx_done).  Time only moves by
 * jumping to the next deadline (mesh_next_deadline or the end of a frame on
 * the air).  The air is ideal: no collisions, no half duplex.
 *
 * Byte-exact checks use the upstream vectors, from $ROOMD_VECTORS or
 * ../shared/vectors/meshcore-v1.17.1.json relative to the repository root.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "mesh/mesh.h"
#include "proto/airtime.h"
#include "proto/packet.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/rng.h"

/* ---- vectors ---- */

static json_t *vec;

/* A dotted path into the vectors; numeric parts index arrays. */
static json_t *vget(const char *path)
{
	json_t *j = vec;
	const char *s = path;
	char key[64];

	while (j && *s) {
		size_t n = strcspn(s, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, s, n);
		key[n] = 0;
		if (json_is_array(j))
			j = json_array_get(j, strtoul(key, NULL, 10));
		else
			j = json_object_get(j, key);
		s += n;
		if (*s == '.')
			s++;
	}
	return j;
}

static size_t unhex(uint8_t *out, size_t cap, const char *s)
{
	int n = hex_decode(out, cap, s, strlen(s));
	CHECK(n >= 0);
	return n < 0 ? 0 : (size_t)n;
}

static size_t vhex(const char *path, uint8_t *out, size_t cap)
{
	const char *s = json_string_value(vget(path));
	if (!s) {
		fprintf(stderr, "vector %s missing\n", path);
		CHECK(!"vector missing");
		return 0;
	}
	return unhex(out, cap, s);
}

static void vident(const char *name, struct ident *id)
{
	json_t *ids = json_object_get(vec, "identities");
	uint8_t seed[32], pub[32], prv[64];
	size_t i;
	json_t *e;

	memset(id, 0, sizeof(*id));
	json_array_foreach(ids, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (!n || strcmp(n, name) != 0)
			continue;
		unhex(seed, sizeof(seed), json_string_value(json_object_get(e, "seed")));
		unhex(pub, sizeof(pub), json_string_value(json_object_get(e, "public_key")));
		unhex(prv, sizeof(prv), json_string_value(json_object_get(e, "private_key")));
		ident_from_seed(id, seed);
		CHECK_MEM(id->pub, pub, 32);
		CHECK_MEM(id->prv, prv, 64);
		return;
	}
	fprintf(stderr, "identity %s missing\n", name);
	CHECK(!"identity missing");
}

static struct ident id_room, id_a, id_b, id_rep, id_r2, id_x;

/* A deterministic extra identity whose hash byte differs from all others. */
static void make_ident(struct ident *out, uint8_t fill)
{
	uint8_t seed[32];
	struct ident id;
	for (;;) {
		memset(seed, fill, sizeof(seed));
		ident_from_seed(&id, seed);
		uint8_t h = id.pub[0];
		if (h != 0 && h != 0xFF && h != id_room.pub[0] && h != id_a.pub[0] &&
		    h != id_b.pub[0] && h != id_rep.pub[0] && h != id_r2.pub[0]) {
			*out = id;
			return;
		}
		fill++;
	}
}

/* The vectors' scripted RNG: every call writes a0 a1 a2 ... (simulation.rng_rule). */
static void scripted_fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(0xa0 + i);
}
static const struct rng scripted_rng = {scripted_fill, NULL};

/* ---- a recording endpoint ---- */

struct tep {
	struct mesh_ep ep;
	struct mesh_peer peers[8];
	int n_peers;
	bool accept_path;
	bool want_ack_set;
	uint8_t want_ack[4];
	/* what the upcalls saw */
	int n_anon, n_data, n_path, n_ack, n_advert;
	unsigned data_type;
	uint8_t pt[256];
	size_t pt_len;
	uint8_t pub[32], secret[32];
	void *peer_ref;
	uint8_t path_len, path[64];
	unsigned extra_type;
	uint8_t extra[256];
	size_t extra_len;
	uint8_t ack[256];
	size_t ack_len;
	uint32_t adv_ts;
	uint8_t app[64];
	size_t app_len;
	struct pkt rx;
	int rx_snr;
	uint64_t rx_ms;
};

static void rec_rx(struct tep *t, const struct mesh_rx *rx)
{
	t->rx = *rx->pkt;
	t->rx_snr = rx->snr_x4;
	t->rx_ms = rx->now_ms;
}

static void rec_pt(struct tep *t, const uint8_t *pt, size_t len)
{
	CHECK(len < sizeof(t->pt));
	t->pt_len = len < sizeof(t->pt) ? len : sizeof(t->pt);
	memcpy(t->pt, pt, t->pt_len);
	CHECK_EQ(pt[len], 0); /* NUL one byte past len */
}

static int tep_peers_by_hash(struct mesh_ep *ep, uint8_t h, int skip, struct mesh_peer *out,
                             int max)
{
	struct tep *t = ep->ctx;
	int n = 0;
	for (int i = 0; i < t->n_peers && n < max; i++)
		if (t->peers[i].pub[0] == h && skip-- <= 0)
			out[n++] = t->peers[i];
	return n;
}

static void tep_on_anon(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t pub[32],
                        const uint8_t secret[32], const uint8_t *pt, size_t len)
{
	struct tep *t = ep->ctx;
	t->n_anon++;
	memcpy(t->pub, pub, 32);
	memcpy(t->secret, secret, 32);
	rec_pt(t, pt, len);
	rec_rx(t, rx);
}

static bool tep_on_data(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                        unsigned type, const uint8_t *pt, size_t len)
{
	struct tep *t = ep->ctx;
	t->n_data++;
	t->data_type = type;
	t->peer_ref = peer->ref;
	rec_pt(t, pt, len);
	rec_rx(t, rx);
	return true;
}

static bool tep_on_path(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                        uint8_t path_len, const uint8_t *path, unsigned extra_type,
                        const uint8_t *extra, size_t extra_len)
{
	struct tep *t = ep->ctx;
	t->n_path++;
	t->peer_ref = peer->ref;
	t->path_len = path_len;
	memcpy(t->path, path, path_len_bytes(path_len));
	t->extra_type = extra_type;
	CHECK(extra_len < sizeof(t->extra));
	t->extra_len = extra_len < sizeof(t->extra) ? extra_len : sizeof(t->extra);
	memcpy(t->extra, extra, t->extra_len);
	rec_rx(t, rx);
	return t->accept_path;
}

static bool tep_on_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
                       const uint8_t *payload, size_t len)
{
	struct tep *t = ep->ctx;
	t->n_ack++;
	CHECK(len >= 4 && len < sizeof(t->ack));
	CHECK_MEM(code, payload, 4);
	t->ack_len = len < sizeof(t->ack) ? len : sizeof(t->ack);
	memcpy(t->ack, payload, t->ack_len);
	rec_rx(t, rx);
	return t->want_ack_set && memcmp(code, t->want_ack, 4) == 0;
}

static void tep_on_advert(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t pub[32],
                          uint32_t ts, const uint8_t *app, size_t app_len)
{
	struct tep *t = ep->ctx;
	t->n_advert++;
	memcpy(t->pub, pub, 32);
	t->adv_ts = ts;
	CHECK(app_len <= 32);
	t->app_len = app_len <= 32 ? app_len : 32;
	memcpy(t->app, app, t->app_len);
	rec_rx(t, rx);
}

static const struct mesh_ep_ops tep_ops = {
    .peers_by_hash = tep_peers_by_hash,
    .on_anon_req = tep_on_anon,
    .on_peer_data = tep_on_data,
    .on_peer_path = tep_on_path,
    .on_ack = tep_on_ack,
    .on_advert = tep_on_advert,
};

static void tep_init(struct tep *t, const struct ident *id)
{
	memset(t, 0, sizeof(*t));
	t->ep.id = *id;
	t->ep.ops = &tep_ops;
	t->ep.ctx = t;
}

static void tep_add_peer(struct tep *t, const struct ident *peer)
{
	struct mesh_peer *p = &t->peers[t->n_peers++];
	memcpy(p->pub, peer->pub, 32);
	CHECK_EQ(ident_shared_secret(&t->ep.id, peer->pub, p->secret), ERR_OK);
	p->ref = (void *)peer;
}

static int tep_total(const struct tep *t)
{
	return t->n_anon + t->n_data + t->n_path + t->n_ack + t->n_advert;
}

/* ---- the air ---- */

#define AIR_NODES 6
#define AIR_LOG   4096
#define T0        1000

struct air;

struct node {
	struct air *air;
	int idx;
	struct mesh m;
	struct tep ep;
	struct rng_seeded rs;
	struct rng rng;
	int again;    /* transmit answers ERR_AGAIN this many more times */
	int n_again;  /* ERR_AGAIN answers given */
	bool busy;    /* a frame is on the air */
	uint64_t end; /* ... until then */
	uint8_t f[PKT_MAX_FRAME];
	size_t len;
	int n_tx;
};

struct txrec {
	uint64_t t;
	int from;
	uint8_t f[PKT_MAX_FRAME];
	size_t len;
};

struct air {
	struct node nodes[AIR_NODES];
	int n;
	bool link[AIR_NODES][AIR_NODES];
	uint64_t now;
	int snr_x4;
	struct txrec log[AIR_LOG];
	int n_log;
};

static struct air air;

static int node_transmit(void *ctx, const uint8_t *f, size_t len)
{
	struct node *n = ctx;
	struct air *a = n->air;

	if (n->again > 0) {
		n->again--;
		n->n_again++;
		return ERR_AGAIN;
	}
	CHECK(!n->busy); /* one frame in flight at a time */
	CHECK(len >= 2 && len <= PKT_MAX_FRAME);
	memcpy(n->f, f, len);
	n->len = len;
	n->busy = true;
	n->end = n->m.now_ms + lora_airtime_ms(&n->m.cfg.lp, len);
	n->n_tx++;
	if (a->n_log < AIR_LOG) {
		struct txrec *r = &a->log[a->n_log++];
		r->t = n->m.now_ms;
		r->from = n->idx;
		memcpy(r->f, f, len);
		r->len = len;
	}
	return ERR_OK;
}

static void air_init(int n, uint64_t seed)
{
	struct mesh_cfg cfg;
	memset(&air, 0, sizeof(air));
	air.n = n;
	air.now = T0;
	air.snr_x4 = 0x28;
	mesh_cfg_defaults(&cfg);
	for (int i = 0; i < n; i++) {
		struct node *nd = &air.nodes[i];
		nd->air = &air;
		nd->idx = i;
		rng_seeded_init(&nd->rs, &nd->rng, seed + (uint64_t)i * 7919);
		struct mesh_io io = {.transmit = node_transmit, .ctx = nd};
		mesh_init(&nd->m, &cfg, &io, &nd->rng, T0);
	}
}

/* Gives node i an endpoint with identity id; repeat as for a repeater. */
static struct node *node_setup(int i, const struct ident *id, bool repeat)
{
	struct node *nd = &air.nodes[i];
	tep_init(&nd->ep, id);
	CHECK_EQ(mesh_add_ep(&nd->m, &nd->ep.ep), ERR_OK);
	nd->m.cfg.repeat = repeat;
	return nd;
}

static void air_link(int i, int j)
{
	air.link[i][j] = air.link[j][i] = true;
}

/* One event: frames whose time on air has passed are delivered, then every
 * mesh ticks.  False when nothing is pending before `until`. */
static bool air_step(uint64_t until)
{
	uint64_t t = UINT64_MAX;
	for (int i = 0; i < air.n; i++) {
		struct node *nd = &air.nodes[i];
		if (nd->busy && nd->end < t)
			t = nd->end;
		uint64_t d = mesh_next_deadline(&nd->m);
		if (d < t)
			t = d;
	}
	if (t == UINT64_MAX || t > until)
		return false;
	if (t < air.now)
		t = air.now;
	air.now = t;
	for (int i = 0; i < air.n; i++) {
		struct node *nd = &air.nodes[i];
		if (!nd->busy || nd->end > t)
			continue;
		nd->busy = false;
		for (int j = 0; j < air.n; j++)
			if (air.link[i][j])
				mesh_on_frame(&air.nodes[j].m, nd->f, nd->len, air.snr_x4, -60, t);
		mesh_on_tx_done(&nd->m, true, t);
	}
	for (int i = 0; i < air.n; i++)
		mesh_tick(&air.nodes[i].m, t);
	return true;
}

static void air_run(uint64_t until)
{
	int guard = 0;
	while (air_step(until)) {
		if (++guard > 200000) {
			CHECK(!"the air does not settle");
			return;
		}
	}
}

static void air_settle(void)
{
	air_run(UINT64_MAX - 1);
}

/* The k-th frame node idx transmitted, or NULL. */
static const struct txrec *log_from(int idx, int k)
{
	for (int i = 0; i < air.n_log; i++)
		if (air.log[i].from == idx && k-- == 0)
			return &air.log[i];
	return NULL;
}

static void check_frame(const struct txrec *r, const uint8_t *want, size_t want_len)
{
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_EQ(r->len, want_len);
	if (r->len == want_len)
		CHECK_MEM(r->f, want, want_len);
}

/* Keeps node i's radio busy with a frame that never ends, so that queued
 * packets stay in the queue where the test can look at them. */
static void occupy_radio(int i)
{
	struct node *nd = &air.nodes[i];
	struct pkt p;
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_RAW_CUSTOM);
	p.payload[0] = 0xEE;
	p.payload_len = 1;
	CHECK_EQ(mesh_send_zero_hop(&nd->m, &p, 0), ERR_OK);
	mesh_tick(&nd->m, nd->m.now_ms);
	CHECK(nd->busy);
	nd->end = UINT64_MAX - 2;
}

static const struct mesh_txq_entry *queued(int i, int k)
{
	const struct mesh *m = &air.nodes[i].m;
	const struct mesh_txq_entry *best = NULL;
	/* k-th in queue order (seq) */
	uint64_t last = 0;
	bool first = true;
	for (int n = 0; n <= k; n++) {
		best = NULL;
		for (int j = 0; j < MESH_TXQ_MAX; j++) {
			const struct mesh_txq_entry *e = &m->txq[j];
			if (!e->used || (!first && e->seq <= last))
				continue;
			if (!best || e->seq < best->seq)
				best = e;
		}
		if (!best)
			return NULL;
		last = best->seq;
		first = false;
	}
	return best;
}

static uint32_t delay_bound(const struct pkt *p, double factor)
{
	struct lora_params lp = LORA_PARAMS_DEFAULT;
	uint32_t air_ms = lora_airtime_ms(&lp, pkt_path_bytes(p) + p->payload_len + 2);
	return 5 * (uint32_t)(air_ms * factor);
}

static void decode_ok(struct pkt *p, const uint8_t *f, size_t len)
{
	CHECK_EQ(pkt_decode(p, f, len), ERR_OK);
}

/* ---- 1. byte-exact forwarding and building against the vectors ---- */

static void test_vector_forwarding(void)
{
	static const struct {
		const char *before, *after;
		bool flood;
	} cases[] = {
	    {"forwarding.flood_advert.before.raw", "forwarding.flood_advert.after_one_repeater.raw",
	     true},
	    {"forwarding.flood_anon_req.before.raw",
	     "forwarding.flood_anon_req.after_one_repeater.raw", true},
	    {"forwarding.direct_path_packet.before.raw",
	     "forwarding.direct_path_packet.after_one_hop.raw", false},
	    {"forwarding.direct_ack.before.raw", "forwarding.direct_ack.after_one_hop.raw", false},
	    {"forwarding.trace.before.raw", "forwarding.trace.after_one_hop.raw", false},
	};
	uint8_t before[PKT_MAX_FRAME], after[PKT_MAX_FRAME], h[PKT_HASH_SIZE];

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t bl = vhex(cases[c].before, before, sizeof(before));
		size_t al = vhex(cases[c].after, after, sizeof(after));
		struct pkt pb, pa;
		decode_ok(&pb, before, bl);
		decode_ok(&pa, after, al);

		/* the repeater, with repeat on, is not the destination of any of them */
		air_init(1, 100 + c);
		struct node *r = node_setup(0, &id_rep, true);
		mesh_on_frame(&r->m, before, bl, 0x28, -70, T0);
		CHECK_EQ(mesh_queue_len(&r->m) + (unsigned)r->n_tx, 1);
		air_settle();
		CHECK_EQ(r->n_tx, 1);
		check_frame(log_from(0, 0), after, al);
		/* within the retransmit delay of §6.7, computed after the change */
		const struct txrec *tx = log_from(0, 0);
		if (tx) {
			uint32_t bound = delay_bound(&pa, cases[c].flood ? 0.5 : 0.2);
			if (pkt_type(&pa) == PKT_ACK)
				bound = 0; /* re-emitted ACK, no extra ACKs: no delay */
			CHECK(tx->t >= T0 && tx->t - T0 <= bound);
		}
		/* the incoming packet is marked seen */
		pkt_hash(&pb, h);
		CHECK(mesh_dup_seen(&r->m, h));
		/* the same frame again is a duplicate and goes nowhere */
		mesh_on_frame(&r->m, before, bl, 0x28, -70, air.now);
		air_settle();
		CHECK_EQ(r->n_tx, 1);
		CHECK_EQ(r->m.stats.dup_flood + r->m.stats.dup_direct, 1);
		if (pkt_type(&pb) == PKT_ACK) {
			/* early ACK (§6.1 C.1): the repeater's handler saw the code */
			CHECK_EQ(r->ep.n_ack, 2);
			CHECK_MEM(r->ep.ack, pb.payload, 4);
		} else {
			CHECK_EQ(tep_total(&r->ep), pkt_type(&pb) == PKT_ADVERT ? 1 : 0);
		}

		/* a room with repeat off (the default) forwards nothing */
		air_init(1, 200 + c);
		struct node *room = node_setup(0, &id_x, false);
		mesh_on_frame(&room->m, before, bl, 0x28, -70, T0);
		air_settle();
		CHECK_EQ(room->n_tx, 0);
		CHECK_EQ(mesh_queue_len(&room->m), 0);
	}
}

/* Sends p through a fresh single node and returns its frame. */
static const struct txrec *send_one(struct pkt *p, int how, uint8_t path_len, const uint8_t *path)
{
	struct node *nd = &air.nodes[0];
	int before = nd->n_tx;
	int rc;
	if (how == 0)
		rc = mesh_send_flood(&nd->m, p, 0, path_len ? path_len : 1, NULL);
	else if (how == 1)
		rc = mesh_send_direct(&nd->m, p, path_len, path, 0);
	else
		rc = mesh_send_zero_hop(&nd->m, p, 0);
	CHECK_EQ(rc, ERR_OK);
	air_settle();
	CHECK_EQ(nd->n_tx, before + 1);
	return log_from(0, before);
}

static void test_vector_builders(void)
{
	uint8_t want[PKT_MAX_FRAME], pt[PKT_MAX_PAYLOAD], secret[32], extra[64];
	uint8_t f4 = id_rep.pub[0];
	size_t wl, ptl, el;
	struct pkt p;

	air_init(1, 7);
	node_setup(0, &id_x, false);

	/* ANON_REQ login, flood (login_flood_path_response.anon_req_flood) */
	vhex("login_flood_path_response.anon_req_flood.secret", secret, sizeof(secret));
	ptl = unhex(pt, sizeof(pt), "eae14e680000000068656c6c6f");
	wl = vhex("login_flood_path_response.anon_req_flood.packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_anon(&p, &id_a, id_room.pub[0], secret, pt, ptl), ERR_OK);
	check_frame(send_one(&p, 0, 1, NULL), want, wl);

	/* the room's PATH return with the login RESPONSE as extra, flood */
	el = unhex(extra, sizeof(extra), "86e14e6800000002a0a1a2a301");
	wl = vhex("login_flood_path_response.path_return_with_response.packet.raw", want,
	          sizeof(want));
	CHECK_EQ(mesh_build_path(&p, &id_room, id_a.pub[0], secret, 0x01, &f4, PKT_RESPONSE, extra,
	                         el, &scripted_rng),
	         ERR_OK);
	check_frame(send_one(&p, 0, 1, NULL), want, wl);

	/* client_a's reciprocal PATH (no extra: 0xFF + 4 random bytes), direct via f4 */
	wl = vhex("login_flood_path_response.reciprocal_path.packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_path(&p, &id_a, id_room.pub[0], secret, 0x01, &f4, 0xFF, NULL, 0,
	                         &scripted_rng),
	         ERR_OK);
	check_frame(send_one(&p, 1, 1, &f4), want, wl);

	/* TXT_MSG post, direct via f4 */
	vhex("txt_post.secret", secret, sizeof(secret));
	ptl = vhex("txt_post.plaintext", pt, sizeof(pt));
	wl = vhex("txt_post.packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, id_room.pub[0], secret, pt, ptl),
	         ERR_OK);
	check_frame(send_one(&p, 1, 1, &f4), want, wl);

	/* its ACK, direct via f4 */
	uint8_t code[4];
	vhex("txt_post.ack_hash", code, sizeof(code));
	wl = vhex("txt_post.ack_packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_ack(&p, code, NULL, 0), ERR_OK);
	check_frame(send_one(&p, 1, 1, &f4), want, wl);

	/* login RESPONSE, direct zero hop */
	vhex("login_direct_response.response.secret", secret, sizeof(secret));
	ptl = vhex("login_direct_response.response.plaintext", pt, sizeof(pt));
	wl = vhex("login_direct_response.response.packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_datagram(&p, PKT_RESPONSE, &id_room, id_b.pub[0], secret, pt, ptl),
	         ERR_OK);
	check_frame(send_one(&p, 2, 0, NULL), want, wl);

	/* a direct login ANON_REQ */
	ptl = vhex("login_direct_response.anon_req.plaintext", pt, sizeof(pt));
	wl = vhex("login_direct_response.anon_req.packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_anon(&p, &id_b, id_room.pub[0], secret, pt, ptl), ERR_OK);
	check_frame(send_one(&p, 2, 0, NULL), want, wl);

	/* the room's push to client_b, and client_b's ACK */
	vhex("room_push.secret", secret, sizeof(secret));
	ptl = vhex("room_push.plaintext", pt, sizeof(pt));
	wl = vhex("room_push.packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_room, id_b.pub[0], secret, pt, ptl),
	         ERR_OK);
	check_frame(send_one(&p, 2, 0, NULL), want, wl);
	vhex("room_push.expected_ack_hash", code, sizeof(code));
	wl = vhex("room_push.ack_packet.raw", want, sizeof(want));
	CHECK_EQ(mesh_build_ack(&p, code, NULL, 0), ERR_OK);
	check_frame(send_one(&p, 1, 0, NULL), want, wl);

	/* adverts, flood */
	for (int i = 0; i < 3; i++) {
		char path[64];
		uint8_t app[64];
		const struct ident *who = i < 2 ? &id_room : &id_a;
		snprintf(path, sizeof(path), "adverts.%d.app_data", i);
		size_t al = vhex(path, app, sizeof(app));
		snprintf(path, sizeof(path), "adverts.%d.timestamp", i);
		uint32_t ts = (uint32_t)json_integer_value(vget(path));
		snprintf(path, sizeof(path), "adverts.%d.packet.raw", i);
		wl = vhex(path, want, sizeof(want));
		CHECK_EQ(mesh_build_advert(&p, who, ts, app, al), ERR_OK);
		check_frame(send_one(&p, 0, 1, NULL), want, wl);
	}

	/* §12: the same login with 2-byte path hashes starts 1d 40 */
	{
		const struct txrec *r;
		vhex("login_flood_path_response.anon_req_flood.secret", secret, sizeof(secret));
		ptl = unhex(pt, sizeof(pt), "eae14e680000000068656c6c6f");
		CHECK_EQ(mesh_build_anon(&p, &id_a, id_room.pub[0], secret, pt, ptl), ERR_OK);
		r = send_one(&p, 0, 2, NULL);
		CHECK(r && r->f[0] == 0x1d && r->f[1] == 0x40);
	}

	/* builder limits */
	uint8_t big[PKT_MAX_PAYLOAD];
	memset(big, 0x41, sizeof(big));
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, 1, secret, big, 168), ERR_TOO_BIG);
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, 1, secret, big, 167), ERR_OK);
	CHECK(p.payload_len <= PKT_MAX_PAYLOAD);
	CHECK_EQ(mesh_build_anon(&p, &id_a, 1, secret, big, 137), ERR_TOO_BIG);
	CHECK_EQ(mesh_build_anon(&p, &id_a, 1, secret, big, 136), ERR_OK);
	CHECK(p.payload_len <= PKT_MAX_PAYLOAD);
	CHECK_EQ(mesh_build_advert(&p, &id_a, 1, big, 33), ERR_TOO_BIG);
	CHECK_EQ(mesh_build_advert(&p, &id_a, 1, NULL, 0), ERR_OK);
	CHECK_EQ(p.payload_len, 100);
	CHECK_EQ(mesh_build_path(&p, &id_a, 1, secret, 0xC1, big, 0xFF, NULL, 0, &scripted_rng),
	         ERR_PATH);
	CHECK_EQ(mesh_build_path(&p, &id_a, 1, secret, 0x3F, big, PKT_ACK, big, 99, &scripted_rng),
	         ERR_TOO_BIG);
	CHECK_EQ(mesh_build_path(&p, &id_a, 1, secret, 0x3F, big, PKT_ACK, big, 98, &scripted_rng),
	         ERR_OK);
	CHECK(p.payload_len <= PKT_MAX_PAYLOAD);
	CHECK_EQ(mesh_build_ack(&p, big, big, PKT_MAX_PAYLOAD - 3), ERR_TOO_BIG);
	/* TRACE cannot be flooded */
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_TRACE);
	p.payload_len = 9;
	CHECK_EQ(mesh_send_flood(&air.nodes[0].m, &p, 0, 1, NULL), ERR_INVAL);
}

/* What the vectors' receivers decrypt and parse. */
static void test_vector_endpoints(void)
{
	uint8_t f[PKT_MAX_FRAME], want[PKT_MAX_PAYLOAD], secret[32];
	size_t fl, wl;
	struct node *nd;

	/* the room decrypts client_a's flooded login */
	air_init(1, 11);
	nd = node_setup(0, &id_room, false);
	fl = vhex("login_flood_path_response.anon_req_flood.packet.raw", f, sizeof(f));
	wl = vhex("login_flood_path_response.anon_req_flood.plaintext_padded", want, sizeof(want));
	vhex("login_flood_path_response.anon_req_flood.secret", secret, sizeof(secret));
	mesh_on_frame(&nd->m, f, fl, 12, -80, T0);
	CHECK_EQ(nd->ep.n_anon, 1);
	CHECK_EQ(nd->ep.pt_len, wl);
	CHECK_MEM(nd->ep.pt, want, wl);
	CHECK_MEM(nd->ep.pub, id_a.pub, 32);
	CHECK_MEM(nd->ep.secret, secret, 32);
	CHECK_EQ(nd->ep.rx_snr, 12);
	CHECK_EQ(nd->ep.rx_ms, T0);
	CHECK(pkt_is_flood(&nd->ep.rx));

	/* ... and client_b's direct one */
	fl = vhex("login_direct_response.anon_req.packet.raw", f, sizeof(f));
	wl = vhex("login_direct_response.anon_req.plaintext_padded", want, sizeof(want));
	mesh_on_frame(&nd->m, f, fl, 0, -80, T0 + 1);
	CHECK_EQ(nd->ep.n_anon, 2);
	CHECK_EQ(nd->ep.pt_len, wl);
	CHECK_MEM(nd->ep.pt, want, wl);
	CHECK_MEM(nd->ep.pub, id_b.pub, 32);

	/* the room decrypts client_a's post (known peer) */
	tep_add_peer(&nd->ep, &id_b);
	tep_add_peer(&nd->ep, &id_a);
	fl = vhex("txt_post.packet_as_received_by_room.raw", f, sizeof(f));
	wl = vhex("txt_post.plaintext_padded", want, sizeof(want));
	mesh_on_frame(&nd->m, f, fl, 0, -80, T0 + 2);
	CHECK_EQ(nd->ep.n_data, 1);
	CHECK_EQ(nd->ep.data_type, PKT_TXT_MSG);
	CHECK(nd->ep.peer_ref == &id_a);
	CHECK_EQ(nd->ep.pt_len, wl);
	CHECK_MEM(nd->ep.pt, want, wl);
	CHECK_EQ(nd->m.stats.bad_mac, 0);
	air_settle();
	CHECK_EQ(nd->n_tx, 0);

	/* client_b decrypts the room's push */
	air_init(1, 12);
	nd = node_setup(0, &id_b, false);
	tep_add_peer(&nd->ep, &id_room);
	fl = vhex("room_push.packet.raw", f, sizeof(f));
	wl = vhex("room_push.plaintext_padded", want, sizeof(want));
	mesh_on_frame(&nd->m, f, fl, 0, -80, T0);
	CHECK_EQ(nd->ep.n_data, 1);
	CHECK_EQ(nd->ep.pt_len, wl);
	CHECK_MEM(nd->ep.pt, want, wl);

	/* client_a takes the flooded PATH (login response inside) and answers with
	 * the reciprocal PATH, direct, 500 ms later: byte-exact with the
	 * vectors' scripted RNG */
	air_init(1, 13);
	nd = node_setup(0, &id_a, false);
	nd->m.rng = &scripted_rng;
	nd->ep.ep.reciprocal_path = true;
	nd->ep.accept_path = true;
	tep_add_peer(&nd->ep, &id_room);
	fl = vhex("login_flood_path_response.path_return_with_response.as_received_by_client_a.raw",
	          f, sizeof(f));
	mesh_on_frame(&nd->m, f, fl, 0, -80, T0);
	CHECK_EQ(nd->ep.n_path, 1);
	CHECK_EQ(nd->ep.path_len, 0x01);
	CHECK_EQ(nd->ep.path[0], id_rep.pub[0]);
	CHECK_EQ(nd->ep.extra_type, PKT_RESPONSE);
	CHECK_EQ(nd->ep.extra_len, 13); /* 16 decrypted bytes - (2 + 1 path byte) */
	wl = vhex("login_flood_path_response.path_return_with_response.response_fields.random",
	          want, sizeof(want));
	CHECK_MEM(nd->ep.extra + 8, want, 4);
	CHECK_EQ(nd->ep.rx.path_len, 0x01);
	CHECK_EQ(mesh_next_deadline(&nd->m), T0 + 500);
	air_run(T0 + 499);
	CHECK_EQ(nd->n_tx, 0);
	air_settle();
	CHECK_EQ(nd->n_tx, 1);
	fl = vhex("login_flood_path_response.reciprocal_path.packet.raw", want, sizeof(want));
	check_frame(log_from(0, 0), want, fl);
	CHECK(log_from(0, 0) && log_from(0, 0)->t == T0 + 500);

	/* client_b, zero hops: the room's PATH with an empty path; its reciprocal
	 * PATH goes out zero-hop (air_log at 14320) */
	air_init(1, 14);
	nd = node_setup(0, &id_b, false);
	nd->m.rng = &scripted_rng;
	nd->ep.ep.reciprocal_path = true;
	nd->ep.accept_path = true;
	tep_add_peer(&nd->ep, &id_room);
	fl = vhex("login_direct_response.first_login_flood.path_return.raw", f, sizeof(f));
	mesh_on_frame(&nd->m, f, fl, 0, -80, T0);
	CHECK_EQ(nd->ep.n_path, 1);
	CHECK_EQ(nd->ep.path_len, 0);
	CHECK_EQ(nd->ep.extra_type, PKT_RESPONSE);
	CHECK_EQ(nd->ep.extra_len, 14);
	air_settle();
	CHECK_EQ(nd->n_tx, 1);
	wl = unhex(want, sizeof(want), "2200a81de33cecaf93e9d56770fb94f001e2b732ea81");
	check_frame(log_from(0, 0), want, wl);

	/* every vector advert verifies and is delivered with its fields */
	for (int i = 0; i < 3; i++) {
		char path[64];
		uint8_t app[64], pub[32];
		air_init(1, 15);
		nd = node_setup(0, &id_b, false);
		snprintf(path, sizeof(path), "adverts.%d.packet.raw", i);
		fl = vhex(path, f, sizeof(f));
		snprintf(path, sizeof(path), "adverts.%d.app_data", i);
		size_t al = vhex(path, app, sizeof(app));
		snprintf(path, sizeof(path), "adverts.%d.public_key", i);
		vhex(path, pub, sizeof(pub));
		snprintf(path, sizeof(path), "adverts.%d.timestamp", i);
		mesh_on_frame(&nd->m, f, fl, 0, -80, T0);
		CHECK_EQ(nd->ep.n_advert, 1);
		CHECK_MEM(nd->ep.pub, pub, 32);
		CHECK_EQ(nd->ep.adv_ts, json_integer_value(vget(path)));
		CHECK_EQ(nd->ep.app_len, al);
		CHECK_MEM(nd->ep.app, app, al);
	}

	/* the packet hashes of §2.8 are the ones marked seen */
	json_t *hs = json_object_get(vec, "packet_hashes");
	size_t i;
	json_t *e;
	json_array_foreach(hs, i, e)
	{
		uint8_t h[PKT_HASH_SIZE];
		struct pkt p;
		air_init(1, 16);
		nd = node_setup(0, &id_x, false);
		fl = unhex(f, sizeof(f), json_string_value(json_object_get(e, "raw")));
		unhex(h, sizeof(h), json_string_value(json_object_get(e, "packet_hash")));
		decode_ok(&p, f, fl);
		CHECK(!mesh_dup_seen(&nd->m, h));
		mesh_on_frame(&nd->m, f, fl, 0, -80, T0);
		/* a TRACE for someone else is not marked; everything else is */
		if (pkt_type(&p) == PKT_TRACE || (pkt_is_direct(&p) && pkt_path_count(&p) > 0))
			CHECK(!mesh_dup_seen(&nd->m, h));
		else
			CHECK(mesh_dup_seen(&nd->m, h));
	}
}

/* ---- 2. routing ---- */

/* A - R1 - R2 - B in a line; A and B know each other. */
static void line_setup(uint64_t seed)
{
	air_init(4, seed);
	node_setup(0, &id_a, false);
	node_setup(1, &id_rep, true);
	node_setup(2, &id_r2, true);
	node_setup(3, &id_b, false);
	air_link(0, 1);
	air_link(1, 2);
	air_link(2, 3);
	tep_add_peer(&air.nodes[0].ep, &id_b);
	tep_add_peer(&air.nodes[3].ep, &id_a);
}

static void build_msg(struct pkt *p, const char *text)
{
	/* A -> B, TXT_MSG */
	CHECK_EQ(mesh_build_datagram(p, PKT_TXT_MSG, &id_a, id_b.pub[0],
	                             air.nodes[0].ep.peers[0].secret, (const uint8_t *)text,
	                             strlen(text)),
	         ERR_OK);
}

static void test_flood_line(unsigned hash_size)
{
	struct pkt p;
	struct node *a, *r1, *r2, *b;

	line_setup(300 + hash_size);
	a = &air.nodes[0], r1 = &air.nodes[1], r2 = &air.nodes[2], b = &air.nodes[3];
	build_msg(&p, "hello over two hops");
	CHECK_EQ(mesh_send_flood(&a->m, &p, 0, hash_size, NULL), ERR_OK);
	air_settle();

	CHECK_EQ(b->ep.n_data, 1);
	CHECK(strcmp((const char *)b->ep.pt, "hello over two hops") == 0);
	CHECK(b->ep.peer_ref == &id_a);
	CHECK(pkt_is_flood(&b->ep.rx));
	CHECK_EQ(b->ep.rx.path_len, path_len_make(hash_size, 2));
	CHECK_MEM(b->ep.rx.path, id_rep.pub, hash_size);
	CHECK_MEM(b->ep.rx.path + hash_size, id_r2.pub, hash_size);
	/* three transmissions: A, R1, R2; B does not repeat */
	CHECK_EQ(air.n_log, 3);
	CHECK_EQ(a->n_tx, 1);
	CHECK_EQ(r1->n_tx, 1);
	CHECK_EQ(r2->n_tx, 1);
	CHECK_EQ(b->n_tx, 0);
	CHECK_EQ(r1->m.stats.forwarded, 1);
	CHECK_EQ(r2->m.stats.forwarded, 1);
	/* echoes: A hears R1 (own packet, marked on send), R1 hears R2 */
	CHECK_EQ(a->m.stats.dup_flood, 1);
	CHECK_EQ(r1->m.stats.dup_flood, 1);
	CHECK_EQ(a->ep.n_data, 0);
	/* the repeaters were not addressed */
	CHECK_EQ(r1->m.stats.not_for_us + r2->m.stats.not_for_us, 2);
	/* each forward waited a flood retransmit delay (§6.7) */
	const struct txrec *t0 = log_from(0, 0), *t1 = log_from(1, 0), *t2 = log_from(2, 0);
	if (t0 && t1 && t2) {
		struct pkt p1, p2;
		decode_ok(&p1, t1->f, t1->len);
		decode_ok(&p2, t2->f, t2->len);
		uint64_t end0 = t0->t + lora_airtime_ms(&a->m.cfg.lp, t0->len);
		uint64_t end1 = t1->t + lora_airtime_ms(&a->m.cfg.lp, t1->len);
		CHECK(t1->t >= end0 && t1->t - end0 <= delay_bound(&p1, 0.5));
		CHECK(t2->t >= end1 && t2->t - end1 <= delay_bound(&p2, 0.5));
		/* header, payload unchanged; path grows */
		CHECK_EQ(t1->f[0], t0->f[0]);
		CHECK_EQ(t1->f[1], path_len_make(hash_size, 1));
		CHECK_MEM(t1->f + 2 + hash_size, t0->f + 2, t0->len - 2);
	}
}

static void test_duplicates_and_echo(void)
{
	struct pkt p;
	uint8_t f[PKT_MAX_FRAME];
	size_t fl;

	/* the same frame twice is handled once */
	line_setup(400);
	build_msg(&p, "twice");
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_TXT_MSG);
	p.path_len = 0;
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	struct node *b = &air.nodes[3];
	mesh_on_frame(&b->m, f, fl, 0, -60, T0);
	mesh_on_frame(&b->m, f, fl, 0, -60, T0 + 5);
	CHECK_EQ(b->ep.n_data, 1);
	CHECK_EQ(b->m.stats.dup_flood, 1);
	/* with another path it is still the same packet (§2.8) */
	uint8_t g[PKT_MAX_FRAME];
	g[0] = f[0];
	g[1] = 0x01;
	g[2] = 0x77;
	memcpy(g + 3, f + 2, fl - 2);
	mesh_on_frame(&b->m, g, fl + 1, 0, -60, T0 + 6);
	CHECK_EQ(b->ep.n_data, 1);
	CHECK_EQ(b->m.stats.dup_flood, 2);

	/* own packets echoed back are ignored, even by a repeater */
	struct node *r1 = &air.nodes[1];
	CHECK_EQ(mesh_build_advert(&p, &id_rep, 5, (const uint8_t *)"\x82R1", 3), ERR_OK);
	CHECK_EQ(mesh_send_flood(&r1->m, &p, 0, 1, NULL), ERR_OK);
	mesh_tick(&r1->m, T0);
	const struct txrec *tx = log_from(1, 0);
	CHECK(tx != NULL);
	if (tx) {
		memcpy(f, tx->f, tx->len);
		fl = tx->len;
		r1->busy = false;
		mesh_on_tx_done(&r1->m, true, T0 + 500);
		mesh_on_frame(&r1->m, f, fl, 0, -60, T0 + 600); /* own key: ignored */
		CHECK_EQ(r1->ep.n_advert, 0);
		CHECK_EQ(mesh_queue_len(&r1->m), 0);
	}
	build_msg(&p, "echo");
	CHECK_EQ(mesh_send_flood(&r1->m, &p, 0, 1, NULL), ERR_OK);
	mesh_tick(&r1->m, T0 + 700);
	tx = log_from(1, 1);
	CHECK(tx != NULL);
	if (tx) {
		memcpy(f, tx->f, tx->len);
		fl = tx->len;
		r1->busy = false;
		mesh_on_tx_done(&r1->m, true, T0 + 1000);
		/* as forwarded by someone else: path [77] */
		g[0] = f[0];
		g[1] = 0x01;
		g[2] = 0x77;
		memcpy(g + 3, f + 2, fl - 2);
		uint32_t d = r1->m.stats.dup_flood;
		mesh_on_frame(&r1->m, g, fl + 1, 0, -60, T0 + 1100);
		CHECK_EQ(r1->m.stats.dup_flood, d + 1);
		CHECK_EQ(mesh_queue_len(&r1->m), 0);
	}

	/* the duplicate table forgets after 160 newer marks (§6.6) */
	uint8_t h[PKT_HASH_SIZE], h2[PKT_HASH_SIZE];
	memset(h, 0x5A, sizeof(h));
	struct mesh *m = &air.nodes[2].m;
	mesh_dup_mark(m, h);
	for (int i = 0; i < MESH_DUP_ENTRIES - 1; i++) {
		memset(h2, 0, sizeof(h2));
		h2[0] = (uint8_t)i;
		h2[1] = (uint8_t)(i >> 8);
		h2[7] = 0xC3;
		mesh_dup_mark(m, h2);
	}
	CHECK(mesh_dup_seen(m, h));
	mesh_dup_mark(m, h2);
	CHECK(!mesh_dup_seen(m, h));
}

/* A hand-made flood frame: type GRP_TXT (nobody decrypts it), path of
 * `count` entries of `size` bytes, payload tagged with `tag`. */
static size_t make_flood(uint8_t *f, unsigned route, unsigned type, unsigned size, unsigned count,
                         uint8_t tag)
{
	struct pkt p;
	size_t len;
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(route, type);
	if (route == PKT_ROUTE_TRANSPORT_FLOOD)
		p.transport[0] = 0x1234;
	p.path_len = path_len_make(size, count);
	for (unsigned i = 0; i < count * size; i++)
		p.path[i] = (uint8_t)(0x30 + i);
	p.payload_len = 20;
	memset(p.payload, tag, p.payload_len);
	CHECK_EQ(pkt_encode(&p, f, PKT_MAX_FRAME, &len), ERR_OK);
	return len;
}

static bool forwards(struct node *r, const uint8_t *f, size_t fl)
{
	unsigned before = mesh_queue_len(&r->m);
	mesh_on_frame(&r->m, f, fl, 0, -60, air.now);
	return mesh_queue_len(&r->m) == before + 1;
}

static void test_flood_limits(void)
{
	uint8_t f[PKT_MAX_FRAME];
	size_t fl;
	uint8_t tag = 1;
	struct node *r;

	air_init(1, 500);
	r = node_setup(0, &id_rep, true);
	occupy_radio(0);
	r->m.cfg.flood_max = 3;
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 1, 2, tag++);
	CHECK(forwards(r, f, fl));
	/* priority = the new count (§6.2) */
	CHECK(queued(0, 0) && queued(0, 0)->pri == 3);
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 1, 3, tag++);
	CHECK(!forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_TRANSPORT_FLOOD, PKT_GRP_TXT, 1, 3, tag++);
	CHECK(!forwards(r, f, fl));
	r->m.cfg.flood_max = 64;

	/* flood_max_unscoped applies to route FLOOD only */
	r->m.cfg.flood_max_unscoped = 2;
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 1, 2, tag++);
	CHECK(!forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_TRANSPORT_FLOOD, PKT_GRP_TXT, 1, 2, tag++);
	CHECK(forwards(r, f, fl));
	r->m.cfg.flood_max_unscoped = 64;

	/* transport codes are kept by the forwarder */
	const struct mesh_txq_entry *e = queued(0, 1);
	CHECK(e && pkt_route(&e->pkt) == PKT_ROUTE_TRANSPORT_FLOOD &&
	      e->pkt.transport[0] == 0x1234);
	CHECK(e && pkt_path_count(&e->pkt) == 3 && e->pkt.path[2] == id_rep.pub[0]);

	/* adverts: flood_max_advert (default 8) */
	struct pkt p;
	for (unsigned hops = 6; hops <= 9; hops++) {
		CHECK_EQ(mesh_build_advert(&p, &id_x, 100 + hops, (const uint8_t *)"\x81X", 2),
		         ERR_OK);
		p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_ADVERT);
		p.path_len = path_len_make(1, hops);
		memset(p.path, 0x44, hops);
		CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
		CHECK_EQ(forwards(r, f, fl), hops < 8);
	}
	CHECK_EQ(r->ep.n_advert, 4); /* delivered whether forwarded or not */

	/* path full: (count + 1) * size must stay <= 64 (§6.2), and the count
	 * field has 6 bits (§2.4) */
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 1, 62, tag++);
	CHECK(forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 1, 63, tag++);
	CHECK(!forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 2, 31, tag++);
	CHECK(forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 2, 32, tag++);
	CHECK(!forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 3, 20, tag++);
	CHECK(forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 3, 21, tag++);
	CHECK(!forwards(r, f, fl));
	/* every queued packet encodes to a valid frame */
	for (int i = 0; i < MESH_TXQ_MAX; i++) {
		uint8_t out[PKT_MAX_FRAME];
		size_t ol;
		struct pkt back;
		if (!r->m.txq[i].used)
			continue;
		CHECK_EQ(pkt_encode(&r->m.txq[i].pkt, out, sizeof(out), &ol), ERR_OK);
		CHECK_EQ(pkt_decode(&back, out, ol), ERR_OK);
		CHECK_EQ(back.path_len, r->m.txq[i].pkt.path_len);
	}

	/* what is never flood-forwarded: flooded TRACE, CONTROL, reserved types,
	 * RAW_CUSTOM, MULTIPART */
	static const unsigned never[] = {PKT_TRACE, PKT_CONTROL,    0x0C,         0x0D,
	                                 0x0E,      PKT_RAW_CUSTOM, PKT_MULTIPART};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		fl = make_flood(f, PKT_ROUTE_FLOOD, never[i], 1, 1, tag++);
		CHECK(!forwards(r, f, fl));
	}
	/* what is: ACK, GRP_DATA, REQ/RESPONSE/TXT_MSG/PATH/ANON_REQ not for us */
	static const unsigned fwd[] = {PKT_ACK,      PKT_GRP_DATA, PKT_REQ,
	                               PKT_RESPONSE, PKT_TXT_MSG,  PKT_PATH};
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
		fl = make_flood(f, PKT_ROUTE_FLOOD, fwd[i], 1, 1, tag++);
		CHECK(forwards(r, f, fl));
	}
	/* repeat off: nothing at all */
	r->m.cfg.repeat = false;
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 1, 1, tag++);
	CHECK(!forwards(r, f, fl));
	fl = make_flood(f, PKT_ROUTE_DIRECT, PKT_TXT_MSG, 1, 0, tag++);
	f[1] = 0x02;
	memmove(f + 4, f + 2, fl - 2);
	f[2] = id_rep.pub[0];
	f[3] = 0x99;
	CHECK(!forwards(r, f, fl + 2));
}

static void test_direct_line(void)
{
	struct pkt p;
	struct node *a, *r1, *r2, *b;
	uint8_t path[2] = {id_rep.pub[0], id_r2.pub[0]};

	line_setup(600);
	a = &air.nodes[0], r1 = &air.nodes[1], r2 = &air.nodes[2], b = &air.nodes[3];
	build_msg(&p, "direct");
	CHECK_EQ(mesh_send_direct(&a->m, &p, 2, path, 0), ERR_OK);
	air_settle();
	CHECK_EQ(b->ep.n_data, 1);
	CHECK(pkt_is_direct(&b->ep.rx));
	CHECK_EQ(b->ep.rx.path_len, 0);
	CHECK_EQ(air.n_log, 3);
	/* each hop removed itself */
	const struct txrec *t0 = log_from(0, 0), *t1 = log_from(1, 0), *t2 = log_from(2, 0);
	CHECK(t0 && t1 && t2);
	if (t0 && t1 && t2) {
		CHECK_EQ(t0->f[1], 2);
		CHECK_EQ(t1->len, t0->len - 1);
		CHECK_EQ(t1->f[0], t0->f[0]);
		CHECK_EQ(t1->f[1], 1);
		CHECK_EQ(t1->f[2], id_r2.pub[0]);
		CHECK_MEM(t1->f + 3, t0->f + 4, t0->len - 4);
		CHECK_EQ(t2->f[1], 0);
		CHECK_MEM(t2->f + 2, t0->f + 4, t0->len - 4);
		/* direct retransmit delay (§6.7) */
		struct pkt p1;
		decode_ok(&p1, t1->f, t1->len);
		uint64_t end0 = t0->t + lora_airtime_ms(&a->m.cfg.lp, t0->len);
		CHECK(t1->t >= end0 && t1->t - end0 <= delay_bound(&p1, 0.2));
		/* B overhearing the packet with a hop left does not process it */
		mesh_on_frame(&b->m, t1->f, t1->len, 0, -60, air.now + 1);
		CHECK_EQ(b->ep.n_data, 1);
		air_settle();
		CHECK_EQ(b->n_tx, 0);
	}
	/* R1 heard R2's zero-hop copy: a direct duplicate */
	CHECK_EQ(r1->m.stats.dup_direct, 1);
	/* A heard R1's copy (not for A, A not next): dropped silently */
	CHECK_EQ(a->ep.n_data, 0);
	CHECK_EQ(r1->m.stats.forwarded, 1);
	CHECK_EQ(r2->m.stats.forwarded, 1);

	/* a direct packet with 2-byte hashes */
	line_setup(601);
	a = &air.nodes[0], b = &air.nodes[3];
	uint8_t path2[4] = {id_rep.pub[0], id_rep.pub[1], id_r2.pub[0], id_r2.pub[1]};
	build_msg(&p, "direct2");
	CHECK_EQ(mesh_send_direct(&a->m, &p, path_len_make(2, 2), path2, 0), ERR_OK);
	air_settle();
	CHECK_EQ(b->ep.n_data, 1);
	CHECK_EQ(b->ep.rx.path_len, 0x40);
	/* a wrong second byte: R1 is not the next hop */
	line_setup(602);
	a = &air.nodes[0], b = &air.nodes[3];
	path2[1] ^= 0xFF;
	build_msg(&p, "direct3");
	CHECK_EQ(mesh_send_direct(&a->m, &p, path_len_make(2, 2), path2, 0), ERR_OK);
	air_settle();
	CHECK_EQ(b->ep.n_data, 0);
	CHECK_EQ(air.n_log, 1);
	CHECK_EQ(mesh_send_direct(&a->m, &p, 0xC1, path2, 0), ERR_PATH);
}

static void test_acks(void)
{
	struct pkt p;
	struct node *a, *r1, *r2, *b;
	uint8_t code[4] = {0xC0, 0xDE, 0x12, 0x34};
	uint8_t back[2] = {id_r2.pub[0], id_rep.pub[0]};

	/* B -> A, direct along [R2, R1] */
	line_setup(700);
	a = &air.nodes[0], r1 = &air.nodes[1], r2 = &air.nodes[2], b = &air.nodes[3];
	a->ep.want_ack_set = true;
	memcpy(a->ep.want_ack, code, 4);
	CHECK_EQ(mesh_build_ack(&p, code, NULL, 0), ERR_OK);
	CHECK_EQ(mesh_send_direct(&b->m, &p, 2, back, 0), ERR_OK);
	air_settle();
	/* the early ACK reached both repeaters' handlers, and A at hop 0 */
	CHECK_EQ(r2->ep.n_ack, 1);
	CHECK_EQ(r1->ep.n_ack, 1);
	CHECK_MEM(r1->ep.ack, code, 4);
	CHECK_EQ(a->ep.n_ack, 1);
	CHECK_EQ(a->ep.ack_len, 4);
	CHECK(pkt_is_direct(&a->ep.rx) && a->ep.rx.path_len == 0);
	/* re-emitted as new DIRECT ACKs along the shortened path */
	uint8_t w1[] = {0x0e, 0x01, id_rep.pub[0], 0xC0, 0xDE, 0x12, 0x34};
	uint8_t w2[] = {0x0e, 0x00, 0xC0, 0xDE, 0x12, 0x34};
	check_frame(log_from(2, 0), w1, sizeof(w1));
	check_frame(log_from(1, 0), w2, sizeof(w2));
	CHECK_EQ(air.n_log, 3);

	/* a keep-alive ACK (code + unsynced count, §5.5) keeps its fifth byte
	 * when re-emitted (Mesh::routeDirectRecvAcks copies the payload) */
	line_setup(701);
	a = &air.nodes[0], r1 = &air.nodes[1], r2 = &air.nodes[2], b = &air.nodes[3];
	uint8_t five = 3;
	CHECK_EQ(mesh_build_ack(&p, code, &five, 1), ERR_OK);
	CHECK_EQ(mesh_send_direct(&b->m, &p, 2, back, 0), ERR_OK);
	air_settle();
	CHECK_EQ(a->ep.n_ack, 1);
	CHECK_EQ(a->ep.ack_len, 5);
	CHECK_EQ(a->ep.ack[4], 3);
	const struct txrec *t = log_from(1, 0);
	CHECK(t && t->len == 7 && t->f[6] == 3);

	/* repeat on, multi_acks 1: a MULTIPART ACK then the plain ACK, both
	 * after direct delay + 300 ms, priority 0 (§6.3) */
	air_init(1, 702);
	r1 = node_setup(0, &id_rep, true);
	r1->m.cfg.multi_acks = 1;
	uint8_t in[] = {0x0e, 0x02, id_rep.pub[0], 0x55, 0xC0, 0xDE, 0x12, 0x34};
	occupy_radio(0);
	mesh_on_frame(&r1->m, in, sizeof(in), 0, -60, T0);
	CHECK_EQ(mesh_queue_len(&r1->m), 2);
	const struct mesh_txq_entry *e0 = queued(0, 0), *e1 = queued(0, 1);
	CHECK(e0 && e1);
	if (e0 && e1) {
		struct pkt shortened;
		uint8_t sf[] = {0x0e, 0x01, 0x55, 0xC0, 0xDE, 0x12, 0x34};
		decode_ok(&shortened, sf, sizeof(sf));
		CHECK_EQ(pkt_type(&e0->pkt), PKT_MULTIPART);
		CHECK_EQ(pkt_route(&e0->pkt), PKT_ROUTE_DIRECT);
		CHECK_EQ(e0->pkt.payload[0], 0x13);
		CHECK_MEM(e0->pkt.payload + 1, code, 4);
		CHECK_EQ(e0->pkt.path_len, 1);
		CHECK_EQ(e0->pkt.path[0], 0x55);
		CHECK_EQ(pkt_type(&e1->pkt), PKT_ACK);
		CHECK_EQ(pkt_route(&e1->pkt), PKT_ROUTE_DIRECT);
		CHECK_EQ(e1->pkt.payload_len, 4);
		CHECK_EQ(e0->pri, 0);
		CHECK_EQ(e1->pri, 0);
		CHECK_EQ(e0->due_ms, e1->due_ms);
		CHECK(e0->due_ms >= T0 + 300 &&
		      e0->due_ms <= T0 + 300 + delay_bound(&shortened, 0.2));
	}
	/* re-emitted ACKs are not marked seen (§6.5): the multi-ACK's synthetic
	 * hash is not in the table */
	uint8_t sh[PKT_HASH_SIZE];
	{
		uint8_t d[CRYPTO_HASH_SIZE], t10 = PKT_MULTIPART;
		hash_sha256_2(d, &t10, 1, code, 4);
		memcpy(sh, d, PKT_HASH_SIZE);
		CHECK(!mesh_dup_seen(&r1->m, sh));
	}

	/* a direct MULTIPART ACK in transit: ACK re-emitted after (remaining+1) * 300 */
	air_init(1, 703);
	r1 = node_setup(0, &id_rep, true);
	occupy_radio(0);
	uint8_t min[] = {0x2a, 0x02, id_rep.pub[0], 0x55, 0x23, 0xC0, 0xDE, 0x12, 0x34};
	mesh_on_frame(&r1->m, min, sizeof(min), 0, -60, T0);
	CHECK_EQ(r1->ep.n_ack, 0); /* no early ACK for MULTIPART */
	CHECK_EQ(mesh_queue_len(&r1->m), 1);
	e0 = queued(0, 0);
	CHECK(e0 && pkt_type(&e0->pkt) == PKT_ACK && e0->due_ms == T0 + 900);
	CHECK(e0 && e0->pkt.path_len == 1 && e0->pkt.path[0] == 0x55);
	CHECK(mesh_dup_seen(&r1->m, sh));
	mesh_on_frame(&r1->m, min, sizeof(min), 0, -60, T0 + 1);
	CHECK_EQ(mesh_queue_len(&r1->m), 1);
	/* a MULTIPART of another kind in transit is not forwarded
	 * (Mesh::forwardMultipartDirect understands only ACKs) */
	uint8_t mo[] = {0x2a, 0x02, id_rep.pub[0], 0x55, 0x25, 0x01, 0x02, 0x03, 0x04};
	mesh_on_frame(&r1->m, mo, sizeof(mo), 0, -60, T0 + 2);
	CHECK_EQ(mesh_queue_len(&r1->m), 1);
	/* a wrapped keep-alive ACK comes out with all its bytes */
	uint8_t mk[] = {0x2a, 0x02, id_rep.pub[0], 0x55, 0x03, 0xC1, 0xDE, 0x12, 0x34, 0x07};
	mesh_on_frame(&r1->m, mk, sizeof(mk), 0, -60, T0 + 3);
	CHECK_EQ(mesh_queue_len(&r1->m), 2);
	e0 = queued(0, 1);
	CHECK(e0 && pkt_type(&e0->pkt) == PKT_ACK && e0->pkt.payload_len == 5);
	CHECK(e0 && e0->pkt.payload[4] == 0x07 && e0->due_ms == T0 + 3 + 300);

	/* multi-ACK: accepted once, never flood-forwarded; the plain ACK with
	 * the same code is a different packet (§2.8) */
	air_init(1, 704);
	r1 = node_setup(0, &id_rep, true);
	uint8_t c12[4], mh[PKT_HASH_SIZE], ph[PKT_HASH_SIZE];
	unhex(c12, sizeof(c12), "5ff99ec6");
	unhex(mh, sizeof(mh), "9c1aee9e67d7c3ad");
	unhex(ph, sizeof(ph), "9a0a06e06b3001cd");
	uint8_t mf[] = {0x29, 0x00, 0x13, c12[0], c12[1], c12[2], c12[3]};
	mesh_on_frame(&r1->m, mf, sizeof(mf), 0, -60, T0);
	CHECK_EQ(r1->ep.n_ack, 1);
	CHECK_MEM(r1->ep.ack, c12, 4);
	CHECK(mesh_dup_seen(&r1->m, mh));
	mesh_on_frame(&r1->m, mf, sizeof(mf), 0, -60, T0 + 1);
	CHECK_EQ(r1->ep.n_ack, 1);
	mf[0] = 0x2a; /* the same, direct zero hop: same synthetic hash */
	mesh_on_frame(&r1->m, mf, sizeof(mf), 0, -60, T0 + 2);
	CHECK_EQ(r1->ep.n_ack, 1);
	CHECK_EQ(mesh_queue_len(&r1->m), 0);
	CHECK_EQ(r1->n_tx, 0);
	uint8_t pf[] = {0x0d, 0x00, c12[0], c12[1], c12[2], c12[3]};
	mesh_on_frame(&r1->m, pf, sizeof(pf), 0, -60, T0 + 3);
	CHECK_EQ(r1->ep.n_ack, 2);
	CHECK(mesh_dup_seen(&r1->m, ph));
	/* not ours: the plain flood ACK is forwarded */
	CHECK_EQ(mesh_queue_len(&r1->m) + (unsigned)r1->n_tx, 1);
	/* an ACK that matched is for us: not forwarded */
	r1->ep.want_ack_set = true;
	memcpy(r1->ep.want_ack, code, 4);
	uint8_t pf2[] = {0x0d, 0x00, code[0], code[1], code[2], code[3]};
	mesh_on_frame(&r1->m, pf2, sizeof(pf2), 0, -60, T0 + 4);
	CHECK_EQ(r1->ep.n_ack, 3);
	CHECK_EQ(mesh_queue_len(&r1->m) + (unsigned)r1->n_tx, 1);
}

static void test_trace(void)
{
	struct pkt p;
	struct node *a, *r1, *r2, *b;
	uint8_t list[3] = {id_rep.pub[0], id_r2.pub[0], id_b.pub[0]};

	line_setup(800);
	a = &air.nodes[0], r1 = &air.nodes[1], r2 = &air.nodes[2], b = &air.nodes[3];
	b->m.cfg.repeat = true; /* B is last in the list: it forwards too, and the
	                         * end of the list is seen by whoever hears it */
	air.snr_x4 = -22;
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_TRACE);
	memcpy(p.payload, "\x44\x33\x22\x11\x88\x77\x66\x55\x00", 9);
	p.payload_len = 9;
	/* the hash list goes into the payload, path_len 0 (§6.4) */
	CHECK_EQ(mesh_send_direct(&a->m, &p, 3, list, 0), ERR_OK);
	air_settle();
	CHECK_EQ(a->n_tx, 1);
	CHECK_EQ(r1->n_tx, 1);
	CHECK_EQ(r2->n_tx, 1);
	CHECK_EQ(b->n_tx, 1);
	const struct txrec *t0 = log_from(0, 0), *t2 = log_from(2, 0);
	CHECK(t0 && t0->len == 2 + 9 + 3 && t0->f[1] == 0);
	if (t0)
		CHECK_MEM(t0->f + 11, list, 3);
	/* after two hops: two SNR bytes */
	CHECK(t2 && t2->len == 2 + 2 + 9 + 3 && t2->f[1] == 2);
	if (t2) {
		CHECK_EQ((int8_t)t2->f[2], -22);
		CHECK_EQ((int8_t)t2->f[3], -22);
	}
	/* B's forward: three SNR bytes, end of the list reached nowhere else */
	const struct txrec *t3 = log_from(3, 0);
	CHECK(t3 && t3->f[1] == 3);
	CHECK_EQ(air.n_log, 4);

	/* only the node whose hash is next forwards, with priority 5 */
	uint8_t f[PKT_MAX_FRAME];
	size_t fl = vhex("forwarding.trace.before.raw", f, sizeof(f));
	air_init(2, 801);
	r1 = node_setup(0, &id_rep, true);
	r2 = node_setup(1, &id_r2, true);
	occupy_radio(0);
	mesh_on_frame(&r1->m, f, fl, 0x28, -60, T0);
	mesh_on_frame(&r2->m, f, fl, 0x28, -60, T0);
	CHECK_EQ(mesh_queue_len(&r1->m), 1);
	CHECK(queued(0, 0) && queued(0, 0)->pri == MESH_PRI_TRACE);
	CHECK_EQ(mesh_queue_len(&r2->m) + (unsigned)r2->n_tx, 0);
	/* a trace can pass the same node twice: each hop's copy has its own hash */
	uint8_t f2[PKT_MAX_FRAME];
	f2[0] = f[0];
	f2[1] = 2;
	f2[2] = 0x10;
	f2[3] = 0x11;
	memcpy(f2 + 4, f + 2, fl - 2);
	f2[4 + 8] = 0; /* flags 0: 1-byte hashes */
	uint8_t f3[PKT_MAX_FRAME];
	size_t f3l = 0;
	memcpy(f3, f2, fl + 2);
	f3l = fl + 2;
	f3[f3l++] = id_rep.pub[0]; /* list: f4 a8 f4, two SNRs so far -> f4 next */
	mesh_on_frame(&r1->m, f3, f3l, 0x28, -60, T0);
	CHECK_EQ(mesh_queue_len(&r1->m), 2);
	/* a flooded TRACE is dropped */
	f[0] = pkt_header(PKT_ROUTE_FLOOD, PKT_TRACE);
	mesh_on_frame(&r1->m, f, fl, 0x28, -60, T0);
	CHECK_EQ(mesh_queue_len(&r1->m), 2);
	/* repeat off: no trace forwarding */
	air_init(1, 802);
	r1 = node_setup(0, &id_rep, false);
	fl = vhex("forwarding.trace.before.raw", f, sizeof(f));
	mesh_on_frame(&r1->m, f, fl, 0x28, -60, T0);
	CHECK_EQ(mesh_queue_len(&r1->m) + (unsigned)r1->n_tx, 0);
}

/* ---- 3. endpoint upcalls ---- */

static void test_endpoints(void)
{
	struct pkt p;
	uint8_t f[PKT_MAX_FRAME], secret[32];
	size_t fl;
	struct node *nd;
	const uint8_t login[] = "\x01\x02\x03\x04\x00\x00\x00\x00secret";

	/* ANON_REQ from a client to a room */
	air_init(1, 900);
	nd = node_setup(0, &id_room, false);
	CHECK_EQ(ident_shared_secret(&id_x, id_room.pub, secret), ERR_OK);
	CHECK_EQ(mesh_build_anon(&p, &id_x, id_room.pub[0], secret, login, sizeof(login) - 1),
	         ERR_OK);
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_ANON_REQ);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0);
	CHECK_EQ(nd->ep.n_anon, 1);
	CHECK_EQ(nd->ep.pt_len, 16);
	CHECK_MEM(nd->ep.pt, login, sizeof(login) - 1);
	CHECK_EQ(nd->ep.pt[14], 0);
	CHECK_MEM(nd->ep.pub, id_x.pub, 32);
	CHECK_MEM(nd->ep.secret, secret, 32);
	/* with a wrong MAC: bad_mac, not delivered */
	p.payload[33] ^= 1;
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 1);
	CHECK_EQ(nd->ep.n_anon, 1);
	CHECK_EQ(nd->m.stats.bad_mac, 1);

	/* a datagram from a known peer, and one with a wrong secret */
	tep_add_peer(&nd->ep, &id_a);
	uint8_t sa[32];
	CHECK_EQ(ident_shared_secret(&id_a, id_room.pub, sa), ERR_OK);
	CHECK_EQ(mesh_build_datagram(&p, PKT_REQ, &id_a, id_room.pub[0], sa,
	                             (const uint8_t *)"\x10\x00\x00\x00\x03", 5),
	         ERR_OK);
	CHECK_EQ(mesh_send_zero_hop(&air.nodes[0].m, &p, 0), ERR_OK); /* marks it as our own */
	p.payload[0] = id_room.pub[0];
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 2);
	CHECK_EQ(nd->ep.n_data, 0); /* own echo */
	CHECK_EQ(mesh_build_datagram(&p, PKT_REQ, &id_a, id_room.pub[0], sa,
	                             (const uint8_t *)"\x11\x00\x00\x00\x03", 5),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 3);
	CHECK_EQ(nd->ep.n_data, 1);
	CHECK_EQ(nd->ep.data_type, PKT_REQ);
	CHECK(nd->ep.peer_ref == &id_a);
	CHECK_EQ(nd->ep.pt_len, 16);
	CHECK_EQ(nd->ep.pt[0], 0x11);
	CHECK_EQ(nd->ep.pt[4], 3);
	uint32_t bad = nd->m.stats.bad_mac;
	CHECK_EQ(mesh_build_datagram(&p, PKT_REQ, &id_a, id_room.pub[0], secret,
	                             (const uint8_t *)"\x12\x00\x00\x00\x03", 5),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 4);
	CHECK_EQ(nd->ep.n_data, 1);
	CHECK_EQ(nd->m.stats.bad_mac, bad + 1);
	/* two candidate peers with the same hash byte: the second one's key works */
	struct ident twin = id_x;
	twin.pub[0] = id_a.pub[0]; /* not a real key: only its hash matters */
	nd->ep.n_peers = 0;
	memcpy(nd->ep.peers[0].pub, twin.pub, 32);
	memset(nd->ep.peers[0].secret, 0x33, 32);
	nd->ep.peers[0].ref = &twin;
	nd->ep.n_peers = 1;
	tep_add_peer(&nd->ep, &id_a);
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, id_room.pub[0], sa,
	                             (const uint8_t *)"\x13\x00\x00\x00\x00hi", 7),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 5);
	CHECK_EQ(nd->ep.n_data, 2);
	CHECK(nd->ep.peer_ref == &id_a);
	CHECK_STR((const char *)nd->ep.pt + 5, "hi");
	/* a datagram for another hash is not for us */
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, (uint8_t)(id_room.pub[0] + 1), sa,
	                             (const uint8_t *)"\x14\x00\x00\x00\x00hi", 7),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	uint32_t nfu = nd->m.stats.not_for_us;
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 6);
	CHECK_EQ(nd->m.stats.not_for_us, nfu + 1);
	CHECK_EQ(nd->ep.n_data, 2);

	/* PATH: parsed and delivered with path and extra; not accepted -> no
	 * reciprocal path */
	uint8_t rpath[4] = {0x61, 0x62, 0x63, 0x64};
	uint8_t extra[5] = {0xAA, 0xBB, 0xCC, 0xDD, 0xEE};
	CHECK_EQ(mesh_build_path(&p, &id_a, id_room.pub[0], sa, path_len_make(2, 2), rpath, 0x13,
	                         extra, 5, &nd->rng),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 7);
	CHECK_EQ(nd->ep.n_path, 1);
	CHECK_EQ(nd->ep.path_len, 0x42);
	CHECK_MEM(nd->ep.path, rpath, 4);
	CHECK_EQ(nd->ep.extra_type, 0x03); /* upper nibble masked off */
	CHECK_EQ(nd->ep.extra_len, 16 - 6);
	CHECK_MEM(nd->ep.extra, extra, 5);
	CHECK_EQ(nd->ep.extra[5], 0);
	air_settle();
	CHECK_EQ(nd->n_tx, 1); /* only the REQ of the echo test above */
	/* a PATH whose decrypted path_len is invalid: not delivered */
	uint8_t badpt[] = {0xC1, 0x01, 0xFF, 1, 2, 3, 4};
	CHECK_EQ(
	    mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, id_room.pub[0], sa, badpt, sizeof(badpt)),
	    ERR_OK);
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_PATH);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 8);
	CHECK_EQ(nd->ep.n_path, 1);
	/* "no extra" with extra_len 0 too: type 0xFF and 4 random bytes (§5.6) */
	CHECK_EQ(mesh_build_path(&p, &id_a, id_room.pub[0], sa, 0, NULL, PKT_ACK, extra, 0,
	                         &scripted_rng),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 9);
	CHECK_EQ(nd->ep.n_path, 2);
	CHECK_EQ(nd->ep.extra_type, 0x0F);
	CHECK_MEM(nd->ep.extra, "\xa0\xa1\xa2\xa3", 4);

	/* an accepted flooded PATH at an endpoint with reciprocal_path: a direct
	 * PATH 500 ms later along the received path, carrying the flood path */
	air_init(1, 901);
	nd = node_setup(0, &id_a, false);
	nd->ep.ep.reciprocal_path = true;
	nd->ep.accept_path = true;
	tep_add_peer(&nd->ep, &id_room);
	uint8_t rs[32];
	CHECK_EQ(ident_shared_secret(&id_room, id_a.pub, rs), ERR_OK);
	uint8_t learnt[2] = {0x71, 0x72};
	CHECK_EQ(mesh_build_path(&p, &id_room, id_a.pub[0], rs, 2, learnt, PKT_ACK,
	                         (const uint8_t *)"\x01\x02\x03\x04", 4, &nd->rng),
	         ERR_OK);
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_PATH);
	p.path_len = 3;
	memcpy(p.path, "\x81\x82\x83", 3);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0);
	CHECK_EQ(nd->ep.n_path, 1);
	CHECK_EQ(nd->ep.extra_type, PKT_ACK);
	CHECK_EQ(mesh_next_deadline(&nd->m), T0 + 500);
	air_settle();
	CHECK_EQ(nd->n_tx, 1);
	const struct txrec *t = log_from(0, 0);
	CHECK(t && t->t == T0 + 500);
	if (t) {
		struct pkt r;
		uint8_t pt[PKT_MAX_PAYLOAD];
		size_t pl;
		decode_ok(&r, t->f, t->len);
		CHECK_EQ(pkt_route(&r), PKT_ROUTE_DIRECT);
		CHECK_EQ(pkt_type(&r), PKT_PATH);
		CHECK_EQ(r.path_len, 2);
		CHECK_MEM(r.path, learnt, 2);
		CHECK_EQ(r.payload[0], id_room.pub[0]);
		CHECK_EQ(r.payload[1], id_a.pub[0]);
		CHECK_EQ(cipher_decrypt(rs, r.payload + 2, r.payload_len - 2, pt, sizeof(pt), &pl),
		         ERR_OK);
		CHECK_EQ(pt[0], 3);
		CHECK_MEM(pt + 1, "\x81\x82\x83", 3);
		CHECK_EQ(pt[4], 0xFF);
		/* the priority of a direct PATH is 1 (§6.5): checked below */
	}
	/* a PATH arriving direct (zero hop): no reciprocal; handler refusing: none */
	CHECK_EQ(mesh_build_path(&p, &id_room, id_a.pub[0], rs, 2, learnt, PKT_ACK,
	                         (const uint8_t *)"\x05\x02\x03\x04", 4, &nd->rng),
	         ERR_OK);
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_PATH);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, air.now);
	CHECK_EQ(nd->ep.n_path, 2);
	air_settle();
	CHECK_EQ(nd->n_tx, 1);
	nd->ep.accept_path = false;
	CHECK_EQ(mesh_build_path(&p, &id_room, id_a.pub[0], rs, 2, learnt, PKT_ACK,
	                         (const uint8_t *)"\x06\x02\x03\x04", 4, &nd->rng),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, air.now);
	CHECK_EQ(nd->ep.n_path, 3);
	air_settle();
	CHECK_EQ(nd->n_tx, 1);
	/* reciprocal_path off (the room): none either */
	nd->ep.accept_path = true;
	nd->ep.ep.reciprocal_path = false;
	CHECK_EQ(mesh_build_path(&p, &id_room, id_a.pub[0], rs, 2, learnt, PKT_ACK,
	                         (const uint8_t *)"\x07\x02\x03\x04", 4, &nd->rng),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, air.now);
	CHECK_EQ(nd->ep.n_path, 4);
	air_settle();
	CHECK_EQ(nd->n_tx, 1);

	/* adverts: verified and delivered; a bad signature counted, dropped, not
	 * forwarded; truncated app data over 32 bytes is cut to 32 */
	air_init(1, 902);
	nd = node_setup(0, &id_rep, true);
	uint8_t app[40];
	for (int i = 0; i < 40; i++)
		app[i] = (uint8_t)(0x80 + i);
	CHECK_EQ(mesh_build_advert(&p, &id_x, 1750001234, app, 32), ERR_OK);
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_ADVERT);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	uint8_t longer[PKT_MAX_FRAME];
	memcpy(longer, f, fl);
	memcpy(longer + fl, app + 32, 8); /* 40 bytes of app data: only 32 signed */
	mesh_on_frame(&nd->m, longer, fl + 8, 0, -60, T0);
	CHECK_EQ(nd->ep.n_advert, 1);
	CHECK_MEM(nd->ep.pub, id_x.pub, 32);
	CHECK_EQ(nd->ep.adv_ts, 1750001234);
	CHECK_EQ(nd->ep.app_len, 32);
	CHECK_MEM(nd->ep.app, app, 32);
	CHECK_EQ(mesh_queue_len(&nd->m) + (unsigned)nd->n_tx, 1); /* forwarded, as received */
	CHECK_EQ(mesh_build_advert(&p, &id_x, 1750001235, app, 10), ERR_OK);
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_ADVERT);
	p.payload[36 + 5] ^= 0x10;
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 1);
	CHECK_EQ(nd->ep.n_advert, 1);
	CHECK_EQ(nd->m.stats.bad_advert, 1);
	CHECK_EQ(mesh_queue_len(&nd->m) + (unsigned)nd->n_tx, 1);
	/* a signed field changed (timestamp) is also caught */
	CHECK_EQ(mesh_build_advert(&p, &id_x, 1750001236, app, 10), ERR_OK);
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_ADVERT);
	p.payload[32] ^= 1;
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 2);
	CHECK_EQ(nd->ep.n_advert, 1);
	CHECK_EQ(nd->m.stats.bad_advert, 2);
	/* our own advert heard back: ignored, not counted as bad */
	CHECK_EQ(mesh_build_advert(&p, &id_rep, 1750001237, app, 3), ERR_OK);
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_ADVERT);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 3);
	CHECK_EQ(nd->ep.n_advert, 1);
	CHECK_EQ(nd->m.stats.bad_advert, 2);
	CHECK_EQ(mesh_queue_len(&nd->m) + (unsigned)nd->n_tx, 1);

	/* several endpoints on one mesh each get only what is addressed to them */
	air_init(1, 903);
	nd = &air.nodes[0];
	static struct tep e1, e2, e3;
	tep_init(&e1, &id_room);
	tep_init(&e2, &id_r2);
	tep_init(&e3, &id_rep);
	CHECK_EQ(mesh_add_ep(&nd->m, &e1.ep), ERR_OK);
	CHECK_EQ(mesh_add_ep(&nd->m, &e2.ep), ERR_OK);
	CHECK_EQ(mesh_add_ep(&nd->m, &e3.ep), ERR_OK);
	tep_add_peer(&e1, &id_a);
	tep_add_peer(&e2, &id_a);
	tep_add_peer(&e3, &id_a);
	uint8_t s2[32];
	CHECK_EQ(ident_shared_secret(&id_a, id_r2.pub, s2), ERR_OK);
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, id_r2.pub[0], s2,
	                             (const uint8_t *)"\x01\x00\x00\x00\x00to two", 11),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0);
	CHECK_EQ(e1.n_data, 0);
	CHECK_EQ(e2.n_data, 1);
	CHECK_EQ(e3.n_data, 0);
	CHECK_STR((const char *)e2.pt + 5, "to two");
	CHECK_EQ(ident_shared_secret(&id_x, id_room.pub, secret), ERR_OK);
	CHECK_EQ(mesh_build_anon(&p, &id_x, id_room.pub[0], secret, login, sizeof(login) - 1),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 1);
	CHECK_EQ(e1.n_anon, 1);
	CHECK_EQ(e2.n_anon + e3.n_anon, 0);
	/* adverts go to every endpoint; an advert from any local endpoint is own */
	CHECK_EQ(mesh_build_advert(&p, &id_x, 77, app, 4), ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 2);
	CHECK(e1.n_advert == 1 && e2.n_advert == 1 && e3.n_advert == 1);
	CHECK_EQ(mesh_build_advert(&p, &id_r2, 78, app, 4), ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 3);
	CHECK(e1.n_advert == 1 && e2.n_advert == 1 && e3.n_advert == 1);
	/* the first endpoint's key is the node's hash when forwarding */
	nd->m.cfg.repeat = true;
	occupy_radio(0);
	fl = make_flood(f, PKT_ROUTE_FLOOD, PKT_GRP_TXT, 1, 0, 0x42);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 4);
	CHECK(queued(0, 0) && queued(0, 0)->pkt.path[0] == id_room.pub[0]);
	/* removing an endpoint stops its upcalls */
	mesh_remove_ep(&nd->m, &e2.ep);
	CHECK_EQ(nd->m.n_eps, 2);
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &id_a, id_r2.pub[0], s2,
	                             (const uint8_t *)"\x02\x00\x00\x00\x00to two", 11),
	         ERR_OK);
	CHECK_EQ(pkt_encode(&p, f, sizeof(f), &fl), ERR_OK);
	mesh_on_frame(&nd->m, f, fl, 0, -60, T0 + 5);
	CHECK_EQ(e2.n_data, 1);
	/* endpoint table full */
	static struct tep many[MESH_MAX_EPS];
	int added = 0;
	for (int i = 0; i < MESH_MAX_EPS; i++) {
		tep_init(&many[i], &id_x);
		if (mesh_add_ep(&nd->m, &many[i].ep) == ERR_OK)
			added++;
	}
	CHECK_EQ(added, MESH_MAX_EPS - 2);
	CHECK_EQ(mesh_add_ep(&nd->m, &e2.ep), ERR_FULL);
}

/* ---- 4. dispatcher timing ---- */

static void send_tagged(struct mesh *m, int how, uint8_t tag, uint32_t delay)
{
	struct pkt p;
	uint8_t hop = 0x51;
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_FLOOD, how == 3   ? PKT_ADVERT
	                                       : how == 2 ? PKT_PATH
	                                                  : PKT_GRP_TXT);
	p.payload[0] = tag;
	p.payload_len = 8;
	if (how == 0)
		CHECK_EQ(mesh_send_zero_hop(m, &p, delay), ERR_OK);
	else if (how == 4)
		CHECK_EQ(mesh_send_direct(m, &p, 1, &hop, delay), ERR_OK);
	else
		CHECK_EQ(mesh_send_flood(m, &p, delay, 1, NULL), ERR_OK);
}

static void test_scheduler(void)
{
	struct node *nd;

	/* priority order, ties by queue order */
	air_init(1, 1000);
	nd = node_setup(0, &id_x, false);
	send_tagged(&nd->m, 1, 0x10, 0); /* flood: 1 */
	send_tagged(&nd->m, 3, 0x30, 0); /* advert flood: 3 */
	send_tagged(&nd->m, 0, 0x01, 0); /* zero hop: 0 */
	send_tagged(&nd->m, 2, 0x20, 0); /* PATH flood: 2 */
	send_tagged(&nd->m, 1, 0x11, 0);
	send_tagged(&nd->m, 4, 0x02, 0); /* direct: 0 */
	CHECK_EQ(mesh_queue_len(&nd->m), 6);
	CHECK_EQ(mesh_next_deadline(&nd->m), T0);
	CHECK_EQ(nd->n_tx, 0); /* sending only queues */
	air_settle();
	static const uint8_t order[] = {0x01, 0x02, 0x10, 0x11, 0x20, 0x30};
	CHECK_EQ(nd->n_tx, 6);
	for (int i = 0; i < 6; i++) {
		const struct txrec *r = log_from(0, i);
		CHECK(r && r->f[r->len - 8] == order[i]);
	}
	/* back to back: each starts when the previous one ended */
	for (int i = 1; i < 6; i++) {
		const struct txrec *r = log_from(0, i), *q = log_from(0, i - 1);
		if (r && q)
			CHECK_EQ(r->t, q->t + lora_airtime_ms(&nd->m.cfg.lp, q->len));
	}
	/* the direct PATH priority is 1 */
	{
		struct pkt p;
		uint8_t hop = 0x51;
		air_init(1, 1001);
		nd = node_setup(0, &id_x, false);
		occupy_radio(0);
		memset(&p, 0, sizeof(p));
		p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_PATH);
		p.payload_len = 8;
		CHECK_EQ(mesh_send_direct(&nd->m, &p, 1, &hop, 0), ERR_OK);
		CHECK(queued(0, 0) && queued(0, 0)->pri == 1);
		p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_TRACE);
		p.payload_len = 9;
		CHECK_EQ(mesh_send_direct(&nd->m, &p, 1, &hop, 0), ERR_OK);
		CHECK(queued(0, 1) && queued(0, 1)->pri == MESH_PRI_TRACE);
		CHECK(queued(0, 1) && queued(0, 1)->pkt.payload_len == 10 &&
		      queued(0, 1)->pkt.path_len == 0);
		p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_REQ);
		p.payload_len = 8;
		CHECK_EQ(mesh_send_to(&nd->m, &p, MESH_NO_PATH, NULL, 0), ERR_OK);
		CHECK(queued(0, 2) && queued(0, 2)->pri == 1 && pkt_is_flood(&queued(0, 2)->pkt));
		p.payload[0] = 1;
		CHECK_EQ(mesh_send_to(&nd->m, &p, 1, &hop, 0), ERR_OK);
		CHECK(queued(0, 3) && queued(0, 3)->pri == 0 && pkt_is_direct(&queued(0, 3)->pkt));
		/* scoped flood: TRANSPORT_FLOOD with the §12 code */
		uint8_t key[16], adv[PKT_MAX_FRAME];
		unhex(key, sizeof(key), "9cd8fcf22a47333b591d96a2b848b73f");
		size_t al =
		    unhex(adv, sizeof(adv),
		          "120003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b87487"
		          "746741779422"
		          "0ca9be3023ec8f82ed6a3945f3b850152c7a371eb94cb40164f599eadbf382edc6098fd6"
		          "2f6f536f3dd3"
		          "1401c047d15d251e7eaea8cc3d6f0a154f059300000000000000005465737420424253");
		decode_ok(&p, adv, al);
		CHECK_EQ(mesh_send_flood(&nd->m, &p, 0, 1, key), ERR_OK);
		const struct mesh_txq_entry *e = queued(0, 4);
		CHECK(e && pkt_route(&e->pkt) == PKT_ROUTE_TRANSPORT_FLOOD);
		CHECK(e && e->pkt.transport[0] == 0x13b3 && e->pkt.transport[1] == 0);
		CHECK(e && e->pri == MESH_PRI_ADVERT);
	}

	/* a delayed packet is not sent before its due time */
	air_init(1, 1002);
	nd = node_setup(0, &id_x, false);
	mesh_tick(&nd->m, 5000);
	send_tagged(&nd->m, 0, 0x01, 1000);
	CHECK_EQ(mesh_next_deadline(&nd->m), 6000);
	mesh_tick(&nd->m, 5999);
	CHECK_EQ(nd->n_tx, 0);
	mesh_tick(&nd->m, 6000);
	CHECK_EQ(nd->n_tx, 1);

	/* one frame in flight at a time */
	air_init(1, 1003);
	nd = node_setup(0, &id_x, false);
	send_tagged(&nd->m, 0, 0x01, 0);
	send_tagged(&nd->m, 0, 0x02, 0);
	mesh_tick(&nd->m, T0);
	CHECK_EQ(nd->n_tx, 1);
	CHECK_EQ(mesh_next_deadline(&nd->m), UINT64_MAX);
	mesh_tick(&nd->m, T0 + 5000);
	CHECK_EQ(nd->n_tx, 1);
	nd->busy = false;
	mesh_on_tx_done(&nd->m, true, T0 + 5001);
	CHECK_EQ(nd->n_tx, 2);
	CHECK_EQ(nd->m.stats.sent, 1);
	nd->busy = false;
	mesh_on_tx_done(&nd->m, false, T0 + 6000);
	CHECK_EQ(nd->m.stats.sent, 1);
	CHECK_EQ(nd->m.stats.tx_failed, 1);
	/* a stray TxDone with nothing in flight changes nothing */
	mesh_on_tx_done(&nd->m, true, T0 + 6001);
	CHECK_EQ(nd->m.stats.sent, 1);

	/* ERR_AGAIN: kept, retried on a later tick after the channel-busy delay
	 * of §6.7 (120, 240 or 360 ms) rather than spinning */
	air_init(1, 1004);
	nd = node_setup(0, &id_x, false);
	nd->again = 1;
	send_tagged(&nd->m, 0, 0x01, 0);
	mesh_tick(&nd->m, T0);
	CHECK_EQ(nd->n_again, 1);
	CHECK_EQ(nd->n_tx, 0);
	CHECK_EQ(mesh_queue_len(&nd->m), 1);
	uint64_t d = mesh_next_deadline(&nd->m);
	CHECK(d == T0 + 120 || d == T0 + 240 || d == T0 + 360);
	mesh_tick(&nd->m, T0);
	CHECK_EQ(nd->n_tx, 0);
	mesh_tick(&nd->m, d);
	CHECK_EQ(nd->n_tx, 1);
	CHECK_EQ(nd->m.stats.err_flags & MESH_ERR_BUSY, 0);
	/* busy for more than 4 s: the error flag of §6.7 */
	air_init(1, 1005);
	nd = node_setup(0, &id_x, false);
	nd->again = 1000;
	send_tagged(&nd->m, 0, 0x01, 0);
	air_run(T0 + 3900);
	CHECK_EQ(nd->n_tx, 0);
	CHECK_EQ(nd->m.stats.err_flags & MESH_ERR_BUSY, 0);
	air_run(T0 + 4500);
	CHECK(nd->m.stats.err_flags & MESH_ERR_BUSY);
	CHECK(nd->n_again > 10 && nd->n_again < 40);
	nd->again = 0;
	air_settle();
	CHECK_EQ(nd->n_tx, 1);

	/* a full queue drops and says so */
	air_init(1, 1006);
	nd = node_setup(0, &id_x, false);
	for (int i = 0; i < MESH_TXQ_MAX + 3; i++) {
		struct pkt p;
		memset(&p, 0, sizeof(p));
		p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_RAW_CUSTOM);
		p.payload_len = 1;
		CHECK_EQ(mesh_send_zero_hop(&nd->m, &p, 100), i < MESH_TXQ_MAX ? ERR_OK : ERR_FULL);
	}
	CHECK_EQ(mesh_queue_len(&nd->m), MESH_TXQ_MAX);
	CHECK_EQ(nd->m.stats.queue_full, 3);
	CHECK(nd->m.stats.err_flags & MESH_ERR_POOL);
}

/* A frame of 250 bytes: 2-byte hashes x 32 and a full payload. */
static void send_big(struct mesh *m, uint32_t n)
{
	struct pkt p;
	uint8_t path[64];
	memset(&p, 0, sizeof(p));
	memset(path, 0x5A, sizeof(path));
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_RAW_CUSTOM);
	p.payload_len = PKT_MAX_PAYLOAD;
	memset(p.payload, 0x33, p.payload_len);
	p.payload[0] = (uint8_t)n;
	p.payload[1] = (uint8_t)(n >> 8);
	CHECK_EQ(mesh_send_direct(m, &p, path_len_make(2, 32), path, 0), ERR_OK);
}

static void test_budget(void)
{
	struct node *nd;
	struct mesh *m;
	struct lora_params lp = LORA_PARAMS_DEFAULT;
	uint32_t half = lora_airtime_ms(&lp, PKT_MAX_FRAME) / 2; /* 756 */
	uint32_t big = lora_airtime_ms(&lp, 250);
	uint64_t now = T0, hour_start = 0, air_in_hour = 0, first_gap = 0;
	uint32_t n = 0;
	int before_gap = 0, deferrals_100 = 0, deferrals_half = 0, bad = 0;
	bool after_done = false;

	air_init(1, 1100);
	nd = node_setup(0, &id_x, false);
	m = &nd->m;
	CHECK_EQ(half, 756);
	CHECK_EQ((uint64_t)m->budget_ms, 1800000); /* 3,600,000 x 50 %, full */

	/* keep the queue stocked for three hours of fake time */
	while (now < T0 + 3 * 3600000ull) {
		if (mesh_queue_len(m) == 0)
			send_big(m, n++);
		if (!nd->busy) {
			uint64_t d = mesh_next_deadline(m);
			if (d <= now) {
				mesh_tick(m, now);
			} else {
				/* deferred: check the deadline against §6.8 */
				double b = m->budget_ms;
				uint64_t want;
				if (after_done && b < 100) {
					want = now + (uint64_t)((100 - b) / 0.5);
					deferrals_100++;
				} else {
					want = now + (uint64_t)((half - b) / 0.5);
					deferrals_half++;
					CHECK(b < half);
				}
				if (!(d >= want && d <= want + 1)) {
					if (bad++ < 5)
						fprintf(stderr,
						        "deferral at %llu: budget %.0f, next %llu, "
						        "want %llu\n",
						        (unsigned long long)now, b,
						        (unsigned long long)d,
						        (unsigned long long)want);
				}
				if (!first_gap)
					first_gap = now;
				/* nothing goes out before the deadline */
				mesh_tick(m, d - 1);
				CHECK(!nd->busy || d - 1 == now);
				if (nd->busy)
					break;
				now = d;
				after_done = false;
				mesh_tick(m, now);
			}
			continue;
		}
		/* a frame is on the air: it ends after its airtime */
		now = nd->end;
		nd->busy = false;
		if (!first_gap)
			before_gap++;
		if (now >= T0 + 2 * 3600000ull) {
			if (!hour_start)
				hour_start = now;
			air_in_hour += big;
		}
		mesh_on_tx_done(m, true, now);
		after_done = true;
	}
	CHECK_EQ(bad, 0);
	if (getenv("MESH_TEST_VERBOSE"))
		fprintf(stderr,
		        "budget: %d frames before the first gap (expect %d), %d + %d deferrals, "
		        "duty %.2f %%\n",
		        before_gap, (int)(1800000 / (big - big / 2)), deferrals_100, deferrals_half,
		        100.0 * (double)air_in_hour / (double)(now - hour_start));
	CHECK(deferrals_100 > 0);
	CHECK(deferrals_half > 0);
	/* the full budget lasts (budget / (airtime - airtime/2)) back-to-back frames */
	int expect = (int)(1800000 / (big - big / 2));
	CHECK(before_gap >= expect - 2 && before_gap <= expect + 2);
	/* in steady state the duty cycle is 50 % */
	uint64_t span = now - hour_start;
	CHECK(span > 3000000);
	CHECK(air_in_hour * 1000 / span >= 480 && air_in_hour * 1000 / span <= 502);
	CHECK_EQ(m->stats.tx_air_ms, (uint64_t)(n - mesh_queue_len(m) - (nd->busy ? 1 : 0)) * big);

	/* airtime_factor 3 (25 %): the budget starts at 900,000 ms */
	struct mesh_cfg cfg;
	mesh_cfg_defaults(&cfg);
	cfg.airtime_factor = 3.0;
	struct mesh_io io = {.transmit = node_transmit, .ctx = nd};
	mesh_init(m, &cfg, &io, &nd->rng, 0);
	CHECK_EQ((uint64_t)m->budget_ms, 900000);
}

static void test_delays(void)
{
	struct rng_seeded rs;
	struct rng rng;
	struct mesh_cfg cfg;
	struct mesh_io io = {.transmit = node_transmit, .ctx = &air.nodes[0]};
	static struct mesh m;
	struct pkt p;

	air_init(1, 1200);
	rng_seeded_init(&rs, &rng, 0xDE1A7);
	mesh_cfg_defaults(&cfg);
	mesh_init(&m, &cfg, &io, &rng, 0);
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_FLOOD, PKT_TXT_MSG);
	p.path_len = path_len_make(2, 3);
	p.payload_len = 40;
	/* t = floor(airtime(6 + 40 + 2) * factor) */
	uint32_t air48 = lora_airtime_ms(&cfg.lp, 48);
	uint32_t tf = (uint32_t)(air48 * 0.5), td = (uint32_t)(air48 * 0.2);
	uint32_t minf = UINT32_MAX, maxf = 0, mind = UINT32_MAX, maxd = 0;
	uint64_t sumf = 0;
	for (int i = 0; i < 4000; i++) {
		uint32_t f = mesh_flood_delay(&m, &p), d = mesh_direct_delay(&m, &p);
		minf = f < minf ? f : minf;
		maxf = f > maxf ? f : maxf;
		mind = d < mind ? d : mind;
		maxd = d > maxd ? d : maxd;
		sumf += f;
	}
	CHECK(maxf <= 5 * tf && maxf >= 5 * tf - 5 * tf / 50);
	CHECK(minf <= 5 * tf / 50);
	CHECK(maxd <= 5 * td && maxd >= 5 * td - 5 * td / 50);
	CHECK(mind <= 5 * td / 50);
	CHECK(sumf / 4000 > 5 * tf * 45 / 100 && sumf / 4000 < 5 * tf * 55 / 100);
	/* the path is counted in bytes, not by its encoded byte (0x42) */
	p.path_len = path_len_make(2, 2);
	uint32_t mx = 0;
	for (int i = 0; i < 2000; i++) {
		uint32_t f = mesh_flood_delay(&m, &p);
		mx = f > mx ? f : mx;
	}
	CHECK(mx <= 5 * (uint32_t)(lora_airtime_ms(&cfg.lp, 4 + 40 + 2) * 0.5));
	/* the range includes 5t: with t = 2, all of 0..10 come up */
	m.cfg.tx_delay_factor = 2.5 / lora_airtime_ms(&cfg.lp, 4 + 40 + 2);
	unsigned seen = 0;
	for (int i = 0; i < 2000; i++) {
		uint32_t f = mesh_flood_delay(&m, &p);
		CHECK(f <= 10);
		seen |= 1u << (f <= 10 ? f : 11);
	}
	CHECK_EQ(seen, 0x7FF);
	/* factor 0: no delay at all */
	m.cfg.tx_delay_factor = 0;
	CHECK_EQ(mesh_flood_delay(&m, &p), 0);
}

/* ---- 5. malformed input ---- */

struct mal {
	struct mesh m;
	struct tep room, cl;
	struct rng_seeded rs;
	struct rng rng;
	int tx;
};

static struct mal mal;

static int mal_transmit(void *ctx, const uint8_t *f, size_t len)
{
	(void)f;
	(void)len;
	((struct mal *)ctx)->tx++;
	return ERR_OK;
}

/* A room-like endpoint that knows client_a and client_b, and client_b
 * (which knows the room, takes PATHs and answers them), on a repeating mesh. */
static void mal_init(void)
{
	static struct tep room_t, cl_t;
	static bool ready;
	struct mesh_cfg cfg;
	struct mesh_io io = {.transmit = mal_transmit, .ctx = &mal};

	if (!ready) {
		tep_init(&room_t, &id_room);
		tep_add_peer(&room_t, &id_a);
		tep_add_peer(&room_t, &id_b);
		tep_init(&cl_t, &id_b);
		tep_add_peer(&cl_t, &id_room);
		cl_t.accept_path = true;
		cl_t.ep.reciprocal_path = true;
		ready = true;
	}
	mesh_cfg_defaults(&cfg);
	cfg.repeat = true;
	cfg.multi_acks = 1;
	rng_seeded_init(&mal.rs, &mal.rng, 77);
	mesh_init(&mal.m, &cfg, &io, &mal.rng, T0);
	mal.room = room_t;
	mal.room.ep.ctx = &mal.room;
	mal.cl = cl_t;
	mal.cl.ep.ctx = &mal.cl;
	mal.tx = 0;
	CHECK_EQ(mesh_add_ep(&mal.m, &mal.room.ep), ERR_OK);
	CHECK_EQ(mesh_add_ep(&mal.m, &mal.cl.ep), ERR_OK);
}

static uint32_t sum_bad_frame(const struct mesh_stats *s)
{
	uint32_t n = 0;
	for (int i = 0; i < 16; i++)
		n += s->bad_frame[i];
	return n;
}

static int mal_failures;

static void mal_fail(const char *what, const uint8_t *f, size_t len)
{
	char hex[2 * PKT_MAX_FRAME + 1];
	if (mal_failures++ >= (getenv("MESH_MAL_VERBOSE") ? 1000 : 10))
		return;
	hex_encode(hex, sizeof(hex), f, len < PKT_MAX_FRAME ? len : PKT_MAX_FRAME);
	fprintf(stderr, "malformed: %s: %s\n", what, hex);
}

/* Minimum payload of a packet received by flood or at hop 0 (§6.1 E). */
static size_t min_payload(const struct pkt *p)
{
	switch (pkt_type(p)) {
	case PKT_ACK:
	case PKT_GRP_TXT:
	case PKT_GRP_DATA: return 4;
	case PKT_REQ:
	case PKT_RESPONSE:
	case PKT_TXT_MSG:
	case PKT_PATH: return 5;
	case PKT_ANON_REQ: return 36;
	case PKT_ADVERT: return 100;
	case PKT_MULTIPART: return p->payload_len && (p->payload[0] & 0x0F) == PKT_ACK ? 5 : 3;
	default: return 0;
	}
}

/* Feeds one hostile frame to a fresh mesh and checks it is accounted for.
 * orig: the unmodified frame, to tell what changed. */
static void mal_feed(const uint8_t *f, size_t len, const uint8_t *orig, size_t orig_len)
{
	struct pkt p, o;
	mal_init();
	int rc = pkt_decode(&p, f, len);
	int orc = pkt_decode(&o, orig, orig_len);
	struct mesh_stats s0 = mal.m.stats;
	mesh_on_frame(&mal.m, f, len, -40, -100, T0);
	for (int i = 0; i < 4; i++) { /* drain whatever it queued */
		mesh_on_tx_done(&mal.m, true, T0 + 10000 * (uint64_t)(i + 1));
		mesh_tick(&mal.m, T0 + 10000 * (uint64_t)(i + 1) + 1);
	}
	const struct mesh_stats *s = &mal.m.stats;
	int upcalls = tep_total(&mal.room) + tep_total(&mal.cl);
	CHECK_EQ(s->recv, s0.recv + 1);

	if (rc != ERR_OK) {
		if (s->bad_frame[(-rc) & 15] != s0.bad_frame[(-rc) & 15] + 1 ||
		    sum_bad_frame(s) != sum_bad_frame(&s0) + 1 || upcalls || mal.tx)
			mal_fail("undecodable frame not counted once", f, len);
		return;
	}
	if (sum_bad_frame(s) != sum_bad_frame(&s0))
		mal_fail("decodable frame counted as bad frame", f, len);
	unsigned type = pkt_type(&p);
	bool hop0 = pkt_is_flood(&p) || pkt_path_count(&p) == 0;
	bool ctl =
	    pkt_is_direct(&p) && type == PKT_CONTROL && p.payload_len && (p.payload[0] & 0x80);
	if (type == PKT_TRACE && pkt_is_direct(&p)) {
		if (p.payload_len < 9 && s->bad_payload != s0.bad_payload + 1)
			mal_fail("short TRACE not counted", f, len);
		return;
	}
	if (hop0 && !ctl && p.payload_len < min_payload(&p)) {
		if (s->bad_payload != s0.bad_payload + 1 || upcalls || mal.tx)
			mal_fail("payload under the minimum not counted once", f, len);
		return;
	}
	if (!hop0 || orc != ERR_OK || pkt_type(&o) != type)
		return;
	/* same type, decodable: where the change hit authenticated bytes, it is
	 * caught and counted */
	bool dgram =
	    type == PKT_REQ || type == PKT_RESPONSE || type == PKT_TXT_MSG || type == PKT_PATH;
	size_t auth_from = dgram ? 2 : type == PKT_ANON_REQ ? 33 : 0;
	bool changed = p.payload_len != o.payload_len ||
	               (auth_from && memcmp(p.payload + auth_from, o.payload + auth_from,
	                                    p.payload_len - auth_from) != 0);
	if ((dgram || type == PKT_ANON_REQ) && changed) {
		bool ours = p.payload[0] == id_room.pub[0] || p.payload[0] == id_b.pub[0];
		if (ours && (s->bad_mac != s0.bad_mac + 1 || upcalls))
			mal_fail("changed ciphertext not caught", f, len);
		if (!ours && s->not_for_us != s0.not_for_us + 1)
			mal_fail("datagram for nobody not counted", f, len);
	}
	if (type == PKT_ADVERT && memcmp(p.payload, id_room.pub, 32) != 0 &&
	    memcmp(p.payload, id_b.pub, 32) != 0) {
		size_t pa = p.payload_len > 132 ? 132 : p.payload_len;
		size_t oa = o.payload_len > 132 ? 132 : o.payload_len;
		bool signed_change = pa != oa || memcmp(p.payload, o.payload, pa) != 0;
		if (signed_change && (s->bad_advert != s0.bad_advert + 1 || upcalls))
			mal_fail("changed advert not caught", f, len);
		if (!signed_change && mal.cl.n_advert != 1)
			mal_fail("intact advert not delivered", f, len);
	}
}

static int add_frame(uint8_t frames[][PKT_MAX_FRAME], size_t *lens, int n, int cap, const char *hex)
{
	uint8_t f[PKT_MAX_FRAME];
	size_t l;
	if (!hex || n >= cap)
		return n;
	l = unhex(f, sizeof(f), hex);
	for (int i = 0; i < n; i++)
		if (lens[i] == l && memcmp(frames[i], f, l) == 0)
			return n;
	memcpy(frames[n], f, l);
	lens[n] = l;
	return n + 1;
}

static void test_malformed(void)
{
	static uint8_t frames[64][PKT_MAX_FRAME];
	static size_t lens[64];
	int n = 0;
	size_t i;
	json_t *e;
	static const char *fwd[] = {"flood_advert", "flood_anon_req", "direct_path_packet", "trace",
	                            "direct_ack"};
	char path[96];

	json_array_foreach(json_object_get(vec, "air_log"), i, e) n =
	    add_frame(frames, lens, n, 64, json_string_value(json_object_get(e, "raw")));
	json_array_foreach(json_object_get(vec, "packet_hashes"), i, e) n =
	    add_frame(frames, lens, n, 64, json_string_value(json_object_get(e, "raw")));
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "forwarding.%s.before.raw", fwd[i]);
		n = add_frame(frames, lens, n, 64, json_string_value(vget(path)));
	}
	n = add_frame(frames, lens, n, 64, "2a0013c0de1234");     /* multi-ACK zero hop */
	n = add_frame(frames, lens, n, 64, "2a02f45523c0de1234"); /* in transit */
	n = add_frame(frames, lens, n, 64, "1c00a1b2c3d4");       /* CONTROL */
	n = add_frame(frames, lens, n, 64, "2e00c0de1234");       /* CONTROL direct 0x80 */
	n = add_frame(frames, lens, n, 64, "0e02f455c0de123403"); /* keep-alive ACK in transit */
	CHECK(n >= 25);

	for (int k = 0; k < n; k++) {
		const uint8_t *f = frames[k];
		size_t l = lens[k];
		uint8_t g[PKT_MAX_FRAME + 8];
		/* intact */
		mal_feed(f, l, f, l);
		/* every truncation */
		for (size_t t = 0; t < l; t++)
			mal_feed(f, t, f, l);
		/* every single-bit flip */
		for (size_t b = 0; b < l * 8; b++) {
			memcpy(g, f, l);
			g[b / 8] ^= (uint8_t)(1u << (b % 8));
			mal_feed(g, l, f, l);
		}
		/* appended garbage */
		memcpy(g, f, l);
		memset(g + l, 0xA5, 8);
		mal_feed(g, l + 8, f, l);
	}
	CHECK_EQ(mal_failures, 0);

	/* frames over 255 bytes */
	uint8_t huge[300];
	memset(huge, 0x11, sizeof(huge));
	mal_init();
	mesh_on_frame(&mal.m, huge, sizeof(huge), 0, 0, T0);
	CHECK_EQ(mal.m.stats.bad_frame[-ERR_TOO_BIG], 1);
	mesh_on_frame(&mal.m, huge, 0, 0, 0, T0);
	CHECK_EQ(mal.m.stats.bad_frame[-ERR_TRUNCATED], 1);
}

int main(void)
{
	const char *vp = getenv("ROOMD_VECTORS");
	json_error_t jerr;

	CHECK_EQ(crypto_init(), ERR_OK);
	log_set_level(LOG_ERR);
	if (!vp)
		vp = "../shared/vectors/meshcore-v1.17.1.json";
	vec = json_load_file(vp, 0, &jerr);
	if (!vec) {
		fprintf(stderr, "cannot load vectors %s: %s\n", vp, jerr.text);
		CHECK(vec != NULL);
		return harness_done("test_mesh");
	}
	vident("room", &id_room);
	vident("client_a", &id_a);
	vident("client_b", &id_b);
	vident("repeater", &id_rep);
	make_ident(&id_r2, 0x10);
	make_ident(&id_x, 0x60);

	test_vector_forwarding();
	test_vector_builders();
	test_vector_endpoints();
	test_flood_line(1);
	test_flood_line(2);
	test_flood_line(3);
	test_duplicates_and_echo();
	test_flood_limits();
	test_direct_line();
	test_acks();
	test_trace();
	test_endpoints();
	test_scheduler();
	test_budget();
	test_delays();
	test_malformed();

	json_decref(vec);
	return harness_done("test_mesh");
}
