/*
 * roomfix.h - a room and firmware-like clients in virtual time, for the unit
 * tests (test_room.c, test_faults.c): nodes on one perfect in-test "air"
 * (every frame reaches every other node, after its airtime), a clock that
 * jumps to the next deadline, and a client endpoint that logs in, posts,
 * keeps alive and ACKs its pushes the way a companion radio does
 * (PROTOCOL.md §7, §9).
 *
 * Every function is static inline, so a test uses what it needs of it.
 * Define ROOMFIX_SEED before the include to seed the nodes' random streams
 * differently (node i gets ROOMFIX_SEED + i; 1000 by default).
 */
#ifndef ROOMD_TESTS_ROOMFIX_H
#define ROOMD_TESTS_ROOMFIX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "room/room.h"
#include "util/buf.h"
#include "util/err.h"

#ifndef ROOMFIX_SEED
#define ROOMFIX_SEED 1000
#endif

#define MAX_NODES 8

struct frame {
	int from;
	uint8_t b[PKT_MAX_FRAME];
	size_t len;
};

static struct frame air[256];
static int n_air;
static uint64_t now;

struct node {
	struct mesh mesh;
	int idx;
	/* a client endpoint */
	struct mesh_ep ep;
	uint8_t room_pub[32], secret[32];
	int logged_in, role;
	uint8_t login_keepalive; /* byte 5 of the last login response */
	uint8_t expect_ack[4];
	int acked;
	int pushes;
	char last_push[200];
	uint32_t last_push_ts;
	char cli_reply[200];
	uint8_t room_path_len;
	uint8_t room_path[64];
	bool ack_pushes;
};

static struct node nodes[MAX_NODES];
static int n_nodes;

/* A node whose radio finds the channel busy: its frames wait in its mesh;
 * a node that hears nothing (out of range for a while). */
static bool tx_blocked[MAX_NODES], rx_blocked[MAX_NODES];
/* What every radio's carrier sense says (mesh_io.sense): 1 busy, 0 clear. */
static int chan_sensed_busy;

static inline int sense(void *ctx)
{
	(void)ctx;
	return chan_sensed_busy;
}

static inline int transmit(void *ctx, const uint8_t *f, size_t len)
{
	struct node *n = ctx;
	if (n_air >= 256 || tx_blocked[n->idx])
		return ERR_AGAIN;
	air[n_air].from = n->idx;
	memcpy(air[n_air].b, f, len);
	air[n_air].len = len;
	n_air++;
	return ERR_OK;
}

static struct rng_seeded seeds[MAX_NODES];
static struct rng rngs[MAX_NODES];

static inline struct node *node_new(void)
{
	struct node *n = &nodes[n_nodes];
	struct mesh_cfg cfg;
	mesh_cfg_defaults(&cfg);
	memset(n, 0, sizeof(*n));
	n->idx = n_nodes;
	rng_seeded_init(&seeds[n_nodes], &rngs[n_nodes], ROOMFIX_SEED + (uint64_t)n_nodes);
	mesh_init(&n->mesh, &cfg, &(struct mesh_io){.transmit = transmit, .ctx = n, .sense = sense},
	          &rngs[n_nodes], now);
	n->room_path_len = MESH_NO_PATH;
	n->ack_pushes = true;
	n_nodes++;
	return n;
}

/* Delivers every queued frame to all other nodes, completes transmissions. */
static inline void deliver(void)
{
	while (n_air) {
		struct frame f = air[0];
		memmove(air, air + 1, (size_t)(n_air - 1) * sizeof(air[0]));
		n_air--;
		now += lora_airtime_ms(&nodes[f.from].mesh.cfg.lp, f.len);
		for (int i = 0; i < n_nodes; i++)
			if (i != f.from && !rx_blocked[i])
				mesh_on_frame(&nodes[i].mesh, f.b, f.len, 40, -60, now);
		mesh_on_tx_done(&nodes[f.from].mesh, true, now);
	}
}

static struct room *the_room;

/* Runs the world until `until` (virtual ms). */
static inline void run_until(uint64_t until)
{
	while (now < until) {
		for (int i = 0; i < n_nodes; i++)
			mesh_tick(&nodes[i].mesh, now);
		if (the_room)
			room_tick(the_room, now);
		deliver();
		uint64_t next = until;
		for (int i = 0; i < n_nodes; i++) {
			uint64_t t = mesh_next_deadline(&nodes[i].mesh);
			if (t < next)
				next = t;
		}
		if (the_room) {
			uint64_t t = room_next_deadline(the_room);
			if (t < next)
				next = t;
		}
		if (next <= now)
			next = now + 1;
		now = next;
	}
	for (int i = 0; i < n_nodes; i++)
		mesh_tick(&nodes[i].mesh, now);
	deliver();
}

/* Runs the world for ms (virtual) milliseconds. */
static inline void run_for(uint64_t ms)
{
	run_until(now + ms);
}

/* ---- the client endpoint (what a companion radio does, §9) ---- */

static inline struct node *client_of(struct mesh_ep *ep)
{
	return ep->ctx;
}

static inline int c_peers(struct mesh_ep *ep, uint8_t h, int skip, struct mesh_peer *out, int max)
{
	struct node *n = client_of(ep);
	if (max < 1 || skip > 0 || n->room_pub[0] != h)
		return 0;
	memcpy(out[0].pub, n->room_pub, 32);
	memcpy(out[0].secret, n->secret, 32);
	return 1;
}

static inline void c_response(struct node *n, const uint8_t *body, size_t len)
{
	if (len >= 13 && body[4] == 0) {
		n->logged_in = 1;
		n->role = body[7];
		n->login_keepalive = body[5];
	}
}

static inline void send_ack_to_room(struct node *n, const uint8_t code[4], bool flood_in,
                                    const struct pkt *in)
{
	struct pkt p;
	if (flood_in) {
		mesh_build_path(&p, &n->ep.id, n->room_pub[0], n->secret, in->path_len, in->path,
		                PKT_ACK, code, 4, n->mesh.rng);
		mesh_send_flood(&n->mesh, &p, 200, 1, NULL);
	} else {
		mesh_build_ack(&p, code, NULL, 0);
		mesh_send_to(&n->mesh, &p, n->room_path_len, n->room_path, 200);
	}
}

static inline bool c_data(struct mesh_ep *ep, const struct mesh_rx *rx,
                          const struct mesh_peer *peer, unsigned type, const uint8_t *pt,
                          size_t len)
{
	struct node *n = client_of(ep);
	(void)peer;
	if (type == PKT_RESPONSE) {
		c_response(n, pt, len);
		return true;
	}
	if (type != PKT_TXT_MSG || len < 5)
		return true;
	unsigned tt = pt[4] >> 2;
	if (tt == 1) {
		snprintf(n->cli_reply, sizeof(n->cli_reply), "%s", (const char *)pt + 5);
		return true;
	}
	if (tt != 2 || len < 9)
		return true;
	n->pushes++;
	n->last_push_ts = le32_load(pt);
	snprintf(n->last_push, sizeof(n->last_push), "%s", (const char *)pt + 9);
	if (!n->ack_pushes)
		return true;
	uint8_t h[32];
	hash_sha256_2(h, pt, 9 + strlen((const char *)pt + 9), n->ep.id.pub, 32);
	send_ack_to_room(n, h, pkt_is_flood(rx->pkt), rx->pkt);
	return true;
}

static inline bool c_path(struct mesh_ep *ep, const struct mesh_rx *rx,
                          const struct mesh_peer *peer, uint8_t pl, const uint8_t *path,
                          unsigned et, const uint8_t *extra, size_t el)
{
	struct node *n = client_of(ep);
	(void)rx;
	(void)peer;
	n->room_path_len = pl;
	memcpy(n->room_path, path, path_len_bytes(pl));
	if (et == PKT_RESPONSE)
		c_response(n, extra, el);
	if (et == PKT_ACK && el >= 4 && memcmp(extra, n->expect_ack, 4) == 0)
		n->acked++;
	return true;
}

static inline bool c_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
                         const uint8_t *payload, size_t len)
{
	struct node *n = client_of(ep);
	(void)rx;
	(void)payload;
	(void)len;
	if (memcmp(code, n->expect_ack, 4) == 0) {
		n->acked++;
		return true;
	}
	return false;
}

static const struct mesh_ep_ops client_ops = {
    .peers_by_hash = c_peers,
    .on_peer_data = c_data,
    .on_peer_path = c_path,
    .on_ack = c_ack,
};

static inline struct node *client_new(uint8_t seed_byte, const uint8_t room_pub[32])
{
	struct node *n = node_new();
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof(seed));
	ident_from_seed(&n->ep.id, seed);
	n->ep.ops = &client_ops;
	n->ep.ctx = n;
	n->ep.reciprocal_path = true;
	memcpy(n->room_pub, room_pub, 32);
	CHECK_EQ(ident_shared_secret(&n->ep.id, room_pub, n->secret), ERR_OK);
	mesh_add_ep(&n->mesh, &n->ep);
	return n;
}

/* A room login's plaintext (§5.2): timestamp, sync-since, password (at most
 * 15 bytes); returns its length. */
static inline size_t login_plaintext(uint8_t pt[8 + 15], uint32_t ts, uint32_t since,
                                     const char *pw)
{
	size_t pl = strnlen(pw, 15);
	le32_store(pt, ts);
	le32_store(pt + 4, since);
	memcpy(pt + 8, pw, pl);
	return 8 + pl;
}

static inline void client_login(struct node *n, uint32_t ts, uint32_t since, const char *pw)
{
	uint8_t pt[8 + 15];
	struct pkt p;
	size_t len = login_plaintext(pt, ts, since, pw);
	n->logged_in = 0;
	CHECK_EQ(mesh_build_anon(&p, &n->ep.id, n->room_pub[0], n->secret, pt, len), ERR_OK);
	mesh_send_to(&n->mesh, &p, n->room_path_len, n->room_path, 0);
}

static inline void client_txt(struct node *n, uint32_t ts, unsigned type, unsigned attempt,
                              const char *text)
{
	uint8_t pt[5 + 160];
	struct pkt p;
	size_t tl = strlen(text);
	le32_store(pt, ts);
	pt[4] = (uint8_t)((type << 2) | (attempt & 3));
	memcpy(pt + 5, text, tl);
	uint8_t h[32];
	hash_sha256_2(h, pt, 5 + tl, n->ep.id.pub, 32);
	memcpy(n->expect_ack, h, 4);
	CHECK_EQ(
	    mesh_build_datagram(&p, PKT_TXT_MSG, &n->ep.id, n->room_pub[0], n->secret, pt, 5 + tl),
	    ERR_OK);
	mesh_send_to(&n->mesh, &p, n->room_path_len, n->room_path, 0);
}

static inline void keep_alive(struct node *n, uint32_t ts, uint32_t since)
{
	uint8_t pt[9];
	struct pkt p;
	le32_store(pt, ts);
	pt[4] = 2;
	le32_store(pt + 5, since);
	uint8_t h[32];
	hash_sha256_2(h, pt, 9, n->ep.id.pub, 32);
	memcpy(n->expect_ack, h, 4);
	mesh_build_datagram(&p, PKT_REQ, &n->ep.id, n->room_pub[0], n->secret, pt, 9);
	mesh_send_to(&n->mesh, &p, n->room_path_len, n->room_path, 0);
}

#endif
