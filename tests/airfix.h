/*
 * airfix.h - a room attacked from the air, for the unit tests of its
 * defences (test_guard.c, test_air.c): the room runs on its own mesh in virtual time;
 * clients are just keys, the test builds their packets (logins, posts,
 * requests, PATHs, ACKs) with the mesh builders, feeds the encoded frames
 * to the room's mesh and looks at what the room transmits.  Captured frames
 * are fed again to replay them, or altered first.
 *
 * Everything is static: include it once, from the test's .c file.  Define
 * AIRFIX_DB_PREFIX for the test's database file names.
 */
#ifndef ROOMD_TESTS_AIRFIX_H
#define ROOMD_TESTS_AIRFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "room/cmd.h"
#include "room/room.h"
#include "store/store.h"
#include "tmpdb.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#ifndef AIRFIX_DB_PREFIX
#define AIRFIX_DB_PREFIX "/tmp/airfix_"
#endif

#define T0 1750000000u

static uint64_t now = 1000;
static struct mesh mesh;
static struct room room;
static struct room_clock rclock = {(int64_t)T0 * 1000 - 1000};
static struct store *st;
static struct ident rid;
static uint32_t room_id;
static struct rng_seeded seeded;
static struct rng rng;

/* ---- the room's radio: frames it sends ---- */

#define OUT_MAX 4096
static struct frame {
	uint8_t b[PKT_MAX_FRAME];
	size_t len;
} out[OUT_MAX];
static unsigned n_out;
static bool in_flight;
static size_t in_flight_len;
/* called when the room starts sending a frame (to forge answers) */
static void (*tap)(const uint8_t *f, size_t len);

static inline int transmit(void *ctx, const uint8_t *f, size_t len)
{
	(void)ctx;
	if (n_out < OUT_MAX) {
		memcpy(out[n_out].b, f, len);
		out[n_out].len = len;
		n_out++;
	}
	in_flight = true;
	in_flight_len = len;
	return ERR_OK;
}

/* Runs the room for ms of virtual time: ticks, completes transmissions. */
static inline void pump(uint64_t ms)
{
	uint64_t until = now + ms;
	while (now <= until) {
		mesh_tick(&mesh, now);
		room_tick(&room, now);
		if (in_flight) {
			unsigned first = n_out - 1;
			if (tap)
				tap(out[first].b, out[first].len);
			now += lora_airtime_ms(&mesh.cfg.lp, in_flight_len);
			in_flight = false;
			mesh_on_tx_done(&mesh, true, now);
			continue;
		}
		uint64_t next = mesh_next_deadline(&mesh);
		uint64_t r = room_next_deadline(&room);
		if (r < next)
			next = r;
		if (next <= now)
			next = now + 1;
		if (next > until)
			break;
		now = next;
	}
	if (now < until)
		now = until;
}

/* Frames the room sent since mark, of a type, addressed to hash dest (-1: any). */
static inline unsigned sent(unsigned mark, int type, int dest)
{
	unsigned n = 0;
	for (unsigned i = mark; i < n_out; i++) {
		struct pkt p;
		if (pkt_decode(&p, out[i].b, out[i].len) != ERR_OK)
			continue;
		if (type >= 0 && pkt_type(&p) != (unsigned)type)
			continue;
		if (dest >= 0 && (p.payload_len < 1 || p.payload[0] != dest))
			continue;
		n++;
	}
	return n;
}

/* ---- clients: keys that speak through test-built frames ---- */

struct client {
	struct ident id;
	uint8_t secret[32];
};

struct capture {
	uint8_t b[PKT_MAX_FRAME];
	size_t len;
};

static inline void client_init(struct client *c, unsigned n)
{
	uint8_t seed[32];
	memset(seed, 0, sizeof(seed));
	le32_store(seed, n);
	seed[31] = 0xC1;
	ident_from_seed(&c->id, seed);
	CHECK_EQ(ident_shared_secret(&c->id, rid.pub, c->secret), ERR_OK);
}

static inline void feed(const struct capture *cap)
{
	mesh_on_frame(&mesh, cap->b, cap->len, 40, -60, now);
}

/* Encodes p (direct zero-hop if !flood), feeds it, returns the capture. */
static inline struct capture send_pkt(struct pkt *p, bool flood)
{
	struct capture cap;
	if (!flood) {
		p->header = pkt_header(PKT_ROUTE_DIRECT, pkt_type(p));
		p->path_len = 0;
	}
	CHECK_EQ(pkt_encode(p, cap.b, sizeof(cap.b), &cap.len), ERR_OK);
	feed(&cap);
	return cap;
}

static inline struct capture c_login(const struct client *c, uint32_t ts, const char *pw,
                                     bool flood)
{
	uint8_t pt[8 + 16];
	struct pkt p;
	size_t pl = strlen(pw);
	le32_store(pt, ts);
	le32_store(pt + 4, 0);
	memcpy(pt + 8, pw, pl);
	CHECK_EQ(mesh_build_anon(&p, &c->id, rid.pub[0], c->secret, pt, 8 + pl), ERR_OK);
	return send_pkt(&p, flood);
}

static inline struct capture c_txt(const struct client *c, uint32_t ts, unsigned type,
                                   unsigned attempt, const char *text, bool flood)
{
	uint8_t pt[5 + 160];
	struct pkt p;
	size_t tl = strlen(text);
	le32_store(pt, ts);
	pt[4] = (uint8_t)((type << 2) | (attempt & 3));
	memcpy(pt + 5, text, tl);
	CHECK_EQ(mesh_build_datagram(&p, PKT_TXT_MSG, &c->id, rid.pub[0], c->secret, pt, 5 + tl),
	         ERR_OK);
	return send_pkt(&p, flood);
}

static inline struct capture c_req(const struct client *c, uint32_t ts, unsigned type, uint32_t arg,
                                   bool flood)
{
	uint8_t pt[9];
	struct pkt p;
	le32_store(pt, ts);
	pt[4] = (uint8_t)type;
	le32_store(pt + 5, arg);
	CHECK_EQ(mesh_build_datagram(&p, PKT_REQ, &c->id, rid.pub[0], c->secret, pt, 9), ERR_OK);
	return send_pkt(&p, flood);
}

static inline struct capture c_path(const struct client *c, uint8_t path_len, const uint8_t *path)
{
	struct pkt p;
	CHECK_EQ(
	    mesh_build_path(&p, &c->id, rid.pub[0], c->secret, path_len, path, 0xFF, NULL, 0, &rng),
	    ERR_OK);
	return send_pkt(&p, false);
}

static inline void c_ack(const uint8_t code[4])
{
	struct pkt p;
	mesh_build_ack(&p, code, NULL, 0);
	send_pkt(&p, false);
}

/* ---- room lifecycle ---- */

static inline void room_start(void)
{
	struct mesh_cfg cfg;
	mesh_cfg_defaults(&cfg);
	rng_seeded_init(&seeded, &rng, 42);
	mesh_init(&mesh, &cfg, &(struct mesh_io){.transmit = transmit, .ctx = NULL}, &rng, now);
	in_flight = false;
	CHECK_EQ(room_open(&room, &mesh, st, room_id, &rid, &rclock, now), ERR_OK);
	pump(6000); /* the boot advert */
}

static inline void room_restart(const char *db)
{
	room_close(&room);
	store_close(st);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	now += 60000;
	room_start();
}

/* A fresh database (named after name, or ":memory:") with one room, started. */
static inline void room_fresh(char *db, size_t cap, const char *name)
{
	if (!strcmp(name, ":memory:"))
		snprintf(db, cap, "%s", name);
	else
		snprintf(db, cap, AIRFIX_DB_PREFIX "%s_%d.db", name, (int)getpid());
	unlink(db);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "Guard", rid.pub, &room_id), ERR_OK);
	room_start();
}

static inline void cleanup(const char *db)
{
	room_close(&room);
	store_close(st);
	tmpdb_remove(db);
}

static inline void set(const char *line)
{
	char reply[ROOM_REPLY_MAX];
	room_cmd(&room, line, 0, CMD_SERIAL, reply, sizeof(reply));
	if (strncmp(line, "password ", 9) == 0)
		CHECK(strncmp(reply, "password now: ", 14) == 0);
	else
		CHECK_STR(reply, "OK");
}

static inline bool is_member(const struct client *c, int role)
{
	struct room_member *m = room_member_find(&room, c->id.pub);
	return m && (role < 0 || (int)acl_role(m->perms) == role);
}

static inline uint32_t rtc(void)
{
	return room_clock_rtc(&rclock, now);
}

/* A captured login with bit 255 of its sender key flipped: the MAC still
 * holds (the X25519 secret ignores that bit). */
static inline struct capture flip_login(const struct capture *cap)
{
	struct pkt p;
	struct capture f;
	CHECK_EQ(pkt_decode(&p, cap->b, cap->len), ERR_OK);
	CHECK_EQ(pkt_type(&p), PKT_ANON_REQ);
	p.payload[1 + CRYPTO_PUB_SIGN_BYTE] ^= CRYPTO_PUB_SIGN_BIT;
	CHECK_EQ(pkt_encode(&p, f.b, sizeof(f.b), &f.len), ERR_OK);
	return f;
}

/* The key c with bit 255 flipped. */
static inline void flip_key(uint8_t key[CRYPTO_PUB_SIZE], const struct client *c)
{
	memcpy(key, c->id.pub, CRYPTO_PUB_SIZE);
	key[CRYPTO_PUB_SIGN_BYTE] ^= CRYPTO_PUB_SIGN_BIT;
}

/* The member whose key is exactly pub (not up to bit 255), or NULL. */
static inline struct room_member *member_exact(const uint8_t *pub)
{
	for (size_t i = 0; i < room.n_members; i++)
		if (memcmp(room.members[i].pub, pub, CRYPTO_PUB_SIZE) == 0)
			return &room.members[i];
	return NULL;
}

#endif
