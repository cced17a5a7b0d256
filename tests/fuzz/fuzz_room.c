/*
 * fuzz_room.c - stateful libFuzzer target for the room server (PROTOCOL.md
 * §7): one room on its own mesh, an in-memory store, a fixed clock and a
 * seeded rng, fed a SEQUENCE of operations decoded from the input.
 *
 * The input is a program, not frames: three client keys are derived once
 * from fixed seeds and the target itself builds and encrypts their logins,
 * posts, CLI commands, requests, keep-alives, PATHs and ACKs, so the fuzzer
 * reaches the room logic behind the 2-byte MAC instead of the MAC check.
 * Raw frames, time steps and restarts (room closed and reopened on the same
 * store, new mesh) are operations too.  Each op is one byte:
 *   bits 0-3  op (below), bits 4-5 client (0-2; 3 = a stranger key made
 *   from the next input byte), bit 6 flood (else direct zero-hop),
 *   bit 7 a variant (ACK: forge from input; login: far-future timestamp).
 * followed by its arguments read from the input (short reads give zeros):
 *   0 login   ts-step(1) password-choice(1) [len(1) bytes]
 *   1 post    ts-step(1) attempt(1) len(1) text
 *   2 CLI     ts-step(1) len(1) text
 *   3 request ts-step(1) type(1) arg(4)
 *   4 keep-alive ts-step(1) since(4)
 *   5 ACK of the client's last push (or 4 input bytes), plain or in a PATH
 *   6 PATH    path_len(1) path(<=64) extra-type(1)
 *   7 raw frame len(1) bytes
 *   8 time    step(2) x 10 ms, the room runs
 *   9 restart
 *  10 setting byte(1): allow.read.only, max.guests, multi.acks
 *  11 system post len(1) text
 *  12 login as 0, its sender key sent with bit 255 flipped (the same
 *     X25519 secret, so the MAC holds: one member per curve point)
 * A ts-step is a signed byte added to the client's clock (replays, old
 * timestamps and equal ones are all reachable).
 *
 * Oracles besides the sanitizers: every transmitted frame decodes and fits
 * the radio; the member table stays within max.guests + max.members; the
 * room's next deadline is never in the past after a tick.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fuzz.h"
#include "mesh/mesh.h"
#include "room/cmd.h"
#include "room/room.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define T0        1750000000u
#define N_CLIENTS 3

struct fclient {
	struct ident id;
	uint8_t secret[32];
	uint32_t ts;
	uint8_t push_code[4];
	bool has_push;
};

static struct ident rid;
static struct fclient clients[N_CLIENTS];
static struct store *st;
static uint32_t room_id;
static struct mesh mesh;
static struct room room;
static struct room_clock rclock;
static struct rng_seeded rs;
static struct rng rng;
static uint64_t now;
static bool in_flight;
static size_t in_flight_len;

struct input {
	const uint8_t *p;
	size_t len, off;
};

static uint8_t in_u8(struct input *in)
{
	return in->off < in->len ? in->p[in->off++] : 0;
}

static uint32_t in_le32(struct input *in)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)in_u8(in) << (8 * i);
	return v;
}

/* Up to n bytes of input (fewer at the end); returns how many. */
static size_t in_bytes(struct input *in, uint8_t *out, size_t n)
{
	size_t left = in->len - in->off;
	if (n > left)
		n = left;
	memcpy(out, in->p + in->off, n);
	in->off += n;
	return n;
}

/* The room's pushes to our clients: remember their ACK codes. */
static void note_push(const struct pkt *p)
{
	uint8_t pt[PKT_MAX_PAYLOAD + 1], h[32];
	size_t n;
	if (pkt_type(p) != PKT_TXT_MSG || p->payload_len < 2)
		return;
	for (int i = 0; i < N_CLIENTS; i++) {
		struct fclient *c = &clients[i];
		if (p->payload[0] != c->id.pub[0] ||
		    cipher_decrypt(c->secret, p->payload + 2, p->payload_len - 2, pt,
		                   sizeof(pt) - 1, &n) != ERR_OK)
			continue;
		pt[n] = 0;
		if (n < 9 || (pt[4] >> 2) != 2)
			continue;
		hash_sha256_2(h, pt, 9 + strlen((const char *)pt + 9), c->id.pub, 32);
		memcpy(c->push_code, h, 4);
		c->has_push = true;
	}
}

static int transmit(void *ctx, const uint8_t *f, size_t len)
{
	struct pkt p;
	(void)ctx;
	fuzz_check_tx(in_flight, f, len, &p);
	note_push(&p);
	in_flight = true;
	in_flight_len = len;
	return ERR_OK;
}

/* The largest table the settings have allowed in this run (they may shrink
 * later: the room does not drop members for that). */
static size_t bound;

static void check_room(void)
{
	size_t b = (size_t)room.set.max_guests + room.set.max_members;
	if (b > bound)
		bound = b;
	REQUIRE(room.n_members <= bound);
	REQUIRE(room.n_members <= room.cap_members || !room.cap_members);
}

/* Lets the room run for ms of virtual time (a bounded number of steps). */
static void pump(uint64_t ms)
{
	uint64_t until = now + ms;
	for (int i = 0; i < 64; i++) {
		mesh_tick(&mesh, now);
		room_tick(&room, now);
		REQUIRE(room_next_deadline(&room) > now);
		if (in_flight) {
			now += lora_airtime_ms(&mesh.cfg.lp, in_flight_len);
			in_flight = false;
			mesh_on_tx_done(&mesh, true, now);
			continue;
		}
		uint64_t next = mesh_next_deadline(&mesh), r = room_next_deadline(&room);
		if (r < next)
			next = r;
		if (next > until)
			break;
		now = next > now ? next : now + 1;
	}
	if (now < until)
		now = until;
	check_room();
}

static void feed(struct pkt *p, bool flood)
{
	uint8_t f[PKT_MAX_FRAME];
	size_t len;
	if (!flood) {
		p->header = pkt_header(PKT_ROUTE_DIRECT, pkt_type(p));
		p->path_len = 0;
	}
	if (pkt_encode(p, f, sizeof(f), &len) != ERR_OK)
		return;
	mesh_on_frame(&mesh, f, len, 20, -80, now);
	pump(0);
}

static void step_ts(struct fclient *c, struct input *in)
{
	c->ts += (uint32_t)(int32_t)(int8_t)in_u8(in);
}

static void op_login(struct fclient *c, struct input *in, bool flood, bool variant, bool flip)
{
	uint8_t pt[8 + 64];
	struct pkt p;
	size_t pl = 0;
	step_ts(c, in);
	uint32_t ts = variant ? c->ts + 30u * 86400 : c->ts;
	le32_store(pt, ts);
	le32_store(pt + 4, 0);
	switch (in_u8(in) & 3) {
	case 0: memcpy(pt + 8, "password", pl = 8); break;
	case 1: memcpy(pt + 8, "hello", pl = 5); break;
	case 2: break;
	default: pl = in_bytes(in, pt + 8, in_u8(in) % 40); break;
	}
	if (mesh_build_anon(&p, &c->id, rid.pub[0], c->secret, pt, 8 + pl) != ERR_OK)
		return;
	if (flip)
		p.payload[1 + CRYPTO_PUB_SIGN_BYTE] ^= CRYPTO_PUB_SIGN_BIT;
	feed(&p, flood);
}

static void op_txt(struct fclient *c, struct input *in, bool flood, unsigned type)
{
	uint8_t pt[5 + 160];
	struct pkt p;
	step_ts(c, in);
	le32_store(pt, c->ts);
	pt[4] = (uint8_t)(type << 2);
	if (type == 0) {
		/* mostly a plain post with attempt bits; now and then any flags */
		uint8_t f = in_u8(in);
		pt[4] = (f & 0xE0) ? (uint8_t)(f & 0x03) : (uint8_t)(f & 0x1F);
	}
	size_t n = in_bytes(in, pt + 5, in_u8(in) % 160);
	if (mesh_build_datagram(&p, PKT_TXT_MSG, &c->id, rid.pub[0], c->secret, pt, 5 + n) ==
	    ERR_OK)
		feed(&p, flood);
}

static void op_req(struct fclient *c, struct input *in, bool flood, bool keep_alive)
{
	uint8_t pt[9];
	struct pkt p;
	step_ts(c, in);
	le32_store(pt, c->ts);
	pt[4] = keep_alive ? 2 : in_u8(in);
	le32_store(pt + 5, in_le32(in));
	if (mesh_build_datagram(&p, PKT_REQ, &c->id, rid.pub[0], c->secret, pt, 9) == ERR_OK)
		feed(&p, flood);
}

static void op_ack(struct fclient *c, struct input *in, bool flood, bool forge)
{
	uint8_t code[4];
	struct pkt p;
	if (forge || !c->has_push)
		in_bytes(in, code, 4);
	else
		memcpy(code, c->push_code, 4);
	if (flood && mesh_build_path(&p, &c->id, rid.pub[0], c->secret, 0, NULL, PKT_ACK, code, 4,
	                             &rng) == ERR_OK) {
		feed(&p, true);
		return;
	}
	mesh_build_ack(&p, code, NULL, 0);
	feed(&p, flood);
}

static void op_path(struct fclient *c, struct input *in)
{
	uint8_t path[PKT_MAX_PATH] = {0}, extra[8];
	struct pkt p;
	uint8_t pl = in_u8(in);
	in_bytes(in, path, path_len_valid(pl) ? path_len_bytes(pl) : 0);
	unsigned et = in_u8(in);
	size_t el = in_bytes(in, extra, et & 0x80 ? 8 : 0);
	if (mesh_build_path(&p, &c->id, rid.pub[0], c->secret, pl, path, et & 0x0F, extra, el,
	                    &rng) == ERR_OK)
		feed(&p, false);
}

static void room_start(void)
{
	struct mesh_cfg cfg;
	mesh_cfg_defaults(&cfg);
	mesh_init(&mesh, &cfg, &(struct mesh_io){.transmit = transmit, .ctx = NULL}, &rng, now);
	in_flight = false;
	if (room_open(&room, &mesh, st, room_id, &rid, &rclock, now) != ERR_OK)
		__builtin_trap();
}

static void setup_once(void)
{
	if (!fuzz_first_setup())
		return;
	fuzz_ident(&rid, 0x77);
	for (int i = 0; i < N_CLIENTS; i++) {
		fuzz_ident(&clients[i].id, (uint8_t)(0x31 + i));
		REQUIRE(ident_shared_secret(&clients[i].id, rid.pub, clients[i].secret) == ERR_OK);
	}
	REQUIRE(store_open(&st, ":memory:") == ERR_OK);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup_once();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	static struct fclient stranger;
	uint8_t seed[32];

	setup_once();
	if (size > 4096)
		return 0;
	/* a fresh room in the same store each run */
	if (room_id)
		store_room_delete(st, room_id);
	if (store_room_add(st, "Fuzz", rid.pub, &room_id) != ERR_OK)
		__builtin_trap();
	now = 1000;
	rclock.offset_ms = (int64_t)T0 * 1000;
	rng_seeded_init(&rs, &rng, 0xF022);
	for (int i = 0; i < N_CLIENTS; i++) {
		clients[i].ts = T0 + 100;
		clients[i].has_push = false;
	}
	bound = 0;
	room_start();
	check_room();
	room.set.max_guests = 3;
	room.set.max_members = 4;

	for (int ops = 0; in.off < in.len && ops < 256; ops++) {
		uint8_t op = in_u8(&in);
		unsigned who = (op >> 4) & 3;
		bool flood = op & 0x40, variant = op & 0x80;
		struct fclient *c = &clients[who % N_CLIENTS];
		if (who == 3) {
			memset(seed, 0, sizeof(seed));
			seed[0] = in_u8(&in);
			seed[1] = 0xEE;
			ident_from_seed(&stranger.id, seed);
			if (ident_shared_secret(&stranger.id, rid.pub, stranger.secret) != ERR_OK)
				continue;
			stranger.ts = T0 + 50;
			stranger.has_push = false;
			c = &stranger;
		}
		switch (op & 0x0F) {
		case 0: op_login(c, &in, flood, variant, false); break;
		case 1: op_txt(c, &in, flood, 0); break;
		case 2: op_txt(c, &in, flood, 1); break;
		case 3: op_req(c, &in, flood, false); break;
		case 4: op_req(c, &in, flood, true); break;
		case 5: op_ack(c, &in, flood, variant); break;
		case 6: op_path(c, &in); break;
		case 7: {
			uint8_t f[PKT_MAX_FRAME];
			size_t n = in_bytes(&in, f, in_u8(&in));
			mesh_on_frame(&mesh, f, n, 0, -100, now);
			pump(0);
			break;
		}
		case 8: {
			uint32_t step = in_u8(&in) | (uint32_t)in_u8(&in) << 8;
			pump((uint64_t)step * 10);
			break;
		}
		case 9:
			room_close(&room);
			now += 5000;
			room_start();
			check_room();
			break;
		case 10: {
			uint8_t b = in_u8(&in);
			room.set.allow_read_only = b & 1;
			room.set.max_guests = (b >> 1) & 7;
			room.set.multi_acks = (b >> 4) & 1;
			room.set.max_members = 1 + ((b >> 5) & 3);
			break;
		}
		case 11: {
			char text[ROOM_POST_MAX];
			size_t n = in_bytes(&in, (uint8_t *)text, in_u8(&in) % sizeof(text));
			room_post(&room, rid.pub, 0, text, strnlen(text, n), NULL);
			break;
		}
		case 12: op_login(c, &in, flood, variant, true); break;
		default: pump(1000); break;
		}
	}
	pump(60000);
	room_close(&room);
	return 0;
}
