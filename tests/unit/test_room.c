/*
 * test_room.c - the room server in virtual time: a room and firmware-like
 * clients on two meshes joined by a perfect in-test "air".  Login tiers,
 * posts acknowledged after storage, catch-up pushes, keep-alive, admin CLI,
 * replay and a restart that loses nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "room/cmd.h"
#include "room/room.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_NODES 6

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

static int transmit(void *ctx, const uint8_t *f, size_t len)
{
	struct node *n = ctx;
	if (n_air >= 256)
		return ERR_AGAIN;
	air[n_air].from = n->idx;
	memcpy(air[n_air].b, f, len);
	air[n_air].len = len;
	n_air++;
	return ERR_OK;
}

static struct rng_seeded seeds[MAX_NODES];
static struct rng rngs[MAX_NODES];

static struct node *node_new(void)
{
	struct node *n = &nodes[n_nodes];
	struct mesh_cfg cfg;
	mesh_cfg_defaults(&cfg);
	memset(n, 0, sizeof(*n));
	n->idx = n_nodes;
	rng_seeded_init(&seeds[n_nodes], &rngs[n_nodes], 1000 + (uint64_t)n_nodes);
	mesh_init(&n->mesh, &cfg, &(struct mesh_io){ transmit, n }, &rngs[n_nodes], now);
	n->room_path_len = MESH_NO_PATH;
	n->ack_pushes = true;
	n_nodes++;
	return n;
}

/* Delivers every queued frame to all other nodes, completes transmissions. */
static void deliver(void)
{
	while (n_air) {
		struct frame f = air[0];
		memmove(air, air + 1, (size_t)(n_air - 1) * sizeof(air[0]));
		n_air--;
		now += lora_airtime_ms(&nodes[f.from].mesh.cfg.lp, f.len);
		for (int i = 0; i < n_nodes; i++)
			if (i != f.from)
				mesh_on_frame(&nodes[i].mesh, f.b, f.len, 40, -60, now);
		mesh_on_tx_done(&nodes[f.from].mesh, true, now);
	}
}

static struct room *the_room;

/* Runs the world until `until` (virtual ms). */
static void run_until(uint64_t until)
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

/* ---- the client endpoint (what a companion radio does, §9) ---- */

static struct node *client_of(struct mesh_ep *ep)
{
	return ep->ctx;
}

static int c_peers(struct mesh_ep *ep, uint8_t h, struct mesh_peer *out, int max)
{
	struct node *n = client_of(ep);
	if (max < 1 || n->room_pub[0] != h)
		return 0;
	memcpy(out[0].pub, n->room_pub, 32);
	memcpy(out[0].secret, n->secret, 32);
	return 1;
}

static void c_response(struct node *n, const uint8_t *body, size_t len)
{
	if (len >= 13 && body[4] == 0) {
		n->logged_in = 1;
		n->role = body[7];
	}
}

static void send_ack_to_room(struct node *n, const uint8_t code[4], bool flood_in,
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

static void c_data(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
		   unsigned type, const uint8_t *pt, size_t len)
{
	struct node *n = client_of(ep);
	(void)peer;
	if (type == PKT_RESPONSE) {
		c_response(n, pt, len);
		return;
	}
	if (type != PKT_TXT_MSG || len < 5)
		return;
	unsigned tt = pt[4] >> 2;
	if (tt == 1) {
		snprintf(n->cli_reply, sizeof(n->cli_reply), "%s", (const char *)pt + 5);
		return;
	}
	if (tt != 2 || len < 9)
		return;
	n->pushes++;
	n->last_push_ts = le32_load(pt);
	snprintf(n->last_push, sizeof(n->last_push), "%s", (const char *)pt + 9);
	if (!n->ack_pushes)
		return;
	uint8_t h[32];
	hash_sha256_2(h, pt, 9 + strlen((const char *)pt + 9), n->ep.id.pub, 32);
	send_ack_to_room(n, h, pkt_is_flood(rx->pkt), rx->pkt);
}

static bool c_path(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
		   uint8_t pl, const uint8_t *path, unsigned et, const uint8_t *extra, size_t el)
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

static bool c_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
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

static const struct mesh_ep_ops client_ops = { c_peers, NULL, c_data, c_path, c_ack, NULL };

static struct node *client_new(uint8_t seed_byte, const uint8_t room_pub[32])
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

static void client_login(struct node *n, uint32_t ts, uint32_t since, const char *pw)
{
	uint8_t pt[8 + 15];
	struct pkt p;
	size_t pl = strlen(pw);
	le32_store(pt, ts);
	le32_store(pt + 4, since);
	memcpy(pt + 8, pw, pl);
	n->logged_in = 0;
	CHECK_EQ(mesh_build_anon(&p, &n->ep.id, n->room_pub[0], n->secret, pt, 8 + pl), ERR_OK);
	mesh_send_to(&n->mesh, &p, n->room_path_len, n->room_path, 0);
}

static void client_txt(struct node *n, uint32_t ts, unsigned type, unsigned attempt,
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
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &n->ep.id, n->room_pub[0], n->secret, pt,
				     5 + tl),
		 ERR_OK);
	mesh_send_to(&n->mesh, &p, n->room_path_len, n->room_path, 0);
}

static void keep_alive(struct node *n, uint32_t ts, uint32_t since)
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

int main(void)
{
	static struct room room;
	struct room_clock clock = { (int64_t)1750000000 * 1000 };
	struct store *st;
	struct ident rid;
	uint8_t seed[32];
	char db[] = "/tmp/test_room_XXXXXX";
	uint32_t id;

	log_set_level(LOG_ERR);
	if (crypto_init() || mkstemp(db) < 0)
		return 1;
	memset(seed, 7, sizeof(seed));
	ident_from_seed(&rid, seed);
	unlink(db);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "Test Room", rid.pub, &id), ERR_OK);

	struct node *rn = node_new();
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	the_room = &room;
	struct node *a = client_new(0x11, rid.pub), *b = client_new(0x22, rid.pub),
		    *c = client_new(0x33, rid.pub), *adm = client_new(0x44, rid.pub);

	/* guest password: read-write, flooded login answered with a PATH */
	client_login(a, 1750000100, 0, "hello");
	run_until(now + 5000);
	CHECK_EQ(a->logged_in, 1);
	CHECK_EQ(a->role, ROLE_READ_WRITE);
	CHECK_EQ(a->room_path_len, 0); /* zero hops: learnt an empty direct route */
	struct room_member *ma = room_member_find(&room, a->ep.id.pub);
	CHECK(ma != NULL);
	CHECK(ma && ma->out_path_len == 0); /* the reciprocal PATH taught the room */

	/* wrong password: silence, but counted */
	client_login(c, 1750000100, 0, "nope");
	run_until(now + 5000);
	CHECK_EQ(c->logged_in, 0);
	CHECK_EQ(room.stats.logins_bad, 1);

	/* a post is acknowledged, and a retry is acknowledged again but stored once */
	client_txt(a, 1750000200, 0, 0, "first post");
	run_until(now + 3000);
	CHECK_EQ(a->acked, 1);
	client_txt(a, 1750000200, 0, 1, "first post");
	run_until(now + 3000);
	CHECK_EQ(a->acked, 2);
	uint32_t count = 0;
	store_post_count(st, id, &count);
	CHECK_EQ(count, 1);
	/* a replayed (older) message is ignored */
	client_txt(a, 1750000150, 0, 0, "old");
	run_until(now + 3000);
	CHECK_EQ(a->acked, 2);

	/* B logs in and is caught up: the post pushed, acknowledged, sync advanced */
	client_login(b, 1750000300, 0, "hello");
	run_until(now + 10000);
	CHECK_EQ(b->logged_in, 1);
	CHECK_EQ(b->pushes, 1);
	CHECK_STR(b->last_push, "first post");
	struct room_member *mb = room_member_find(&room, b->ep.id.pub);
	CHECK(mb && mb->sync_since == b->last_push_ts && !mb->pending);
	CHECK_EQ(a->pushes, 0); /* never pushed to its author */

	/* several posts: all pushed in order, each acked */
	for (int i = 0; i < 5; i++) {
		char t[32];
		snprintf(t, sizeof(t), "post %d", i);
		client_txt(a, 1750000400 + (uint32_t)i, 0, 0, t);
		run_until(now + 2000);
	}
	run_until(now + 20000);
	CHECK_EQ(b->pushes, 6);
	CHECK_STR(b->last_push, "post 4");

	/* keep-alive: ACK with the unsynced count (0 now) */
	b->acked = 0;
	keep_alive(b, 1750000500, 0);
	run_until(now + 3000);
	CHECK_EQ(b->acked, 1);

	/* read-only: allow.read.only on, a wrong password logs in as guest who cannot post */
	char reply[ROOM_REPLY_MAX];
	room_cmd(&room, "set allow.read.only on", 0, CMD_SERIAL, reply, sizeof(reply));
	CHECK_STR(reply, "OK");
	client_login(c, 1750000600, 0, "whatever");
	run_until(now + 5000);
	CHECK_EQ(c->logged_in, 1);
	CHECK_EQ(c->role, ROLE_GUEST);
	c->acked = 0;
	client_txt(c, 1750000700, 0, 0, "guest post");
	run_until(now + 3000);
	CHECK_EQ(c->acked, 0);
	store_post_count(st, id, &count);
	CHECK_EQ(count, 6);

	/* admin CLI over the radio, and a guest's CLI gets nothing */
	client_login(adm, 1750000800, 0, "password");
	run_until(now + 5000);
	CHECK_EQ(adm->role, ROLE_ADMIN);
	client_txt(adm, 1750000900, 1, 0, "get name");
	run_until(now + 3000);
	CHECK_STR(adm->cli_reply, "> roomd");
	client_txt(adm, 1750000901, 1, 0, "set guest.password s3cret");
	run_until(now + 3000);
	CHECK_STR(adm->cli_reply, "OK");
	client_txt(c, 1750000902, 1, 0, "get name");
	run_until(now + 3000);
	CHECK_STR(c->cli_reply, "");
	/* the old guest password no longer gives read-write */
	room_cmd(&room, "set allow.read.only off", 0, CMD_SERIAL, reply, sizeof(reply));
	struct node *d = client_new(0x55, rid.pub);
	client_login(d, 1750001000, 0, "hello");
	run_until(now + 5000);
	CHECK_EQ(d->logged_in, 0);
	client_login(d, 1750001001, 0, "s3cret");
	run_until(now + 5000);
	CHECK_EQ(d->logged_in, 1);

	/* restart: members, sync points, posts and settings survive */
	uint32_t b_sync = mb ? mb->sync_since : 0;
	room_close(&room);
	store_close(st);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	store_post_count(st, id, &count);
	CHECK_EQ(count, 6);
	mb = room_member_find(&room, b->ep.id.pub);
	CHECK(mb && mb->sync_since == b_sync);
	CHECK_STR(room.set.guest_password, "s3cret");
	/* b comes back after a new post and receives only that one */
	client_txt(a, 1750002000, 0, 0, "while you were away");
	run_until(now + 3000);
	int before = b->pushes;
	client_login(b, 1750002100, b->last_push_ts, "hello"); /* old password: silence */
	run_until(now + 5000);
	client_login(b, 1750002101, b->last_push_ts, "s3cret");
	run_until(now + 15000);
	CHECK_EQ(b->pushes, before + 1);
	CHECK_STR(b->last_push, "while you were away");
	/* a replayed login (same timestamp) after the restart gets no reply */
	b->logged_in = 0;
	client_login(b, 1750002101, 0, "s3cret");
	run_until(now + 5000);
	CHECK_EQ(b->logged_in, 0);

	room_close(&room);
	store_close(st);
	unlink(db);
	return harness_done("test_room");
}
