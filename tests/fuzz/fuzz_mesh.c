/*
 * fuzz_mesh.c - libFuzzer target for the mesh layer (PROTOCOL.md §6).
 *
 * Input: one option byte (bit 0 repeat, bits 1-2 multi_acks, bit 3 radio
 * answers ERR_AGAIN once in a while), then records `len(1) frame(len)`;
 * a record cut short by the end of the input is fed as it is.  Each frame
 * goes to mesh_on_frame of a mesh with a room-like endpoint (knows two
 * clients, answers logins and datagrams from inside its upcalls) and a
 * client endpoint (knows the room, accepts PATHs and answers them with the
 * reciprocal path); between frames the fake clock moves on, transmissions
 * complete and the scheduler runs.
 *
 * Oracles besides the sanitizers: every frame the mesh transmits decodes
 * (pkt_decode) and is at most 255 bytes; upcall plaintexts are
 * NUL-terminated one past their length; the scheduler never hands out a
 * frame while one is in flight.
 *
 * A 2-byte MAC and Ed25519 are out of a fuzzer's reach, so with
 * FUZZ_MESH_SEEDS=<dir> set the target first writes a seed corpus of valid
 * frames for its own identities (logins, datagrams, PATHs, adverts, ACKs,
 * a TRACE) into <dir>:
 *   mkdir -p /tmp/c && FUZZ_MESH_SEEDS=/tmp/c build-fuzz/fuzz_mesh -runs=0
 *   build-fuzz/fuzz_mesh -max_total_time=60 /tmp/c
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fuzz.h"
#include "mesh/mesh.h"
#include "proto/packet.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct fep {
	struct mesh_ep ep;
	struct mesh_peer peers[3];
	int n_peers;
	struct mesh *m;
	bool room;
};

static struct ident id_room, id_c1, id_c2;
static struct fep room, client;
static struct mesh mesh;
static struct rng_seeded rs;
static struct rng rng;
static bool in_flight, again_mode;
static unsigned tx_count;

static int peers_by_hash(struct mesh_ep *ep, uint8_t h, int skip, struct mesh_peer *out, int max)
{
	struct fep *f = ep->ctx;
	int n = 0;
	for (int i = 0; i < f->n_peers && n < max; i++)
		if (f->peers[i].pub[0] == h && skip-- <= 0)
			out[n++] = f->peers[i];
	return n;
}

static void check_pt(const uint8_t *pt, size_t len)
{
	REQUIRE(len <= PKT_MAX_PAYLOAD);
	REQUIRE(pt[len] == 0);
}

/* The room answers a login like §7.2 does: a PATH by flood carrying a
 * RESPONSE, or a direct RESPONSE; built from attacker-chosen paths. */
static void on_anon(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t pub[32],
                    const uint8_t secret[32], const uint8_t *pt, size_t len)
{
	struct fep *f = ep->ctx;
	struct pkt p;
	uint8_t resp[13] = {1, 2, 3, 4, 0, 0, 0, 2, 9, 9, 9, 9, 1};

	check_pt(pt, len);
	if (pkt_is_flood(rx->pkt)) {
		if (mesh_build_path(&p, &ep->id, pub[0], secret, rx->pkt->path_len, rx->pkt->path,
		                    PKT_RESPONSE, resp, sizeof(resp), &rng) == ERR_OK)
			mesh_send_flood(f->m, &p, 300, pkt_path_hash_size(rx->pkt), NULL);
	} else if (mesh_build_datagram(&p, PKT_RESPONSE, &ep->id, pub[0], secret, resp,
	                               sizeof(resp)) == ERR_OK) {
		mesh_send_zero_hop(f->m, &p, 300);
	}
}

/* Datagrams: the room ACKs by flood with a keep-alive byte, the client
 * replies along the flood path it came by, reversed.  Every plaintext is
 * taken as this peer's (true), as mesh.h's on_peer_data asks. */
static bool on_data(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                    unsigned type, const uint8_t *pt, size_t len)
{
	struct fep *f = ep->ctx;
	struct pkt p;
	uint8_t code[4], extra = 3, rev[PKT_MAX_PATH];

	(void)type;
	check_pt(pt, len);
	memcpy(code, pt, 4);
	if (f->room) {
		if (mesh_build_ack(&p, code, &extra, 1) == ERR_OK)
			mesh_send_flood(f->m, &p, 0, 1, NULL);
		return true;
	}
	unsigned size = pkt_path_hash_size(rx->pkt), count = pkt_path_count(rx->pkt);
	for (unsigned i = 0; i < count; i++)
		memcpy(rev + i * size, rx->pkt->path + (count - 1 - i) * size, size);
	if (mesh_build_datagram(&p, PKT_TXT_MSG, &ep->id, peer->pub[0], peer->secret, pt,
	                        len > 40 ? 40 : len) == ERR_OK)
		mesh_send_to(f->m, &p, pkt_is_flood(rx->pkt) ? rx->pkt->path_len : MESH_NO_PATH,
		             rev, 50);
	return true;
}

static bool on_path(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                    uint8_t path_len, const uint8_t *path, unsigned extra_type,
                    const uint8_t *extra, size_t extra_len)
{
	struct fep *f = ep->ctx;
	(void)rx;
	(void)peer;
	(void)path;
	(void)extra;
	REQUIRE(path_len_valid(path_len));
	REQUIRE(extra_type <= 0x0F);
	REQUIRE(extra_len <= PKT_MAX_PAYLOAD);
	return !f->room;
}

static bool on_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
                   const uint8_t *payload, size_t len)
{
	(void)ep;
	(void)rx;
	REQUIRE(len >= 4 && len <= PKT_MAX_PAYLOAD);
	REQUIRE(memcmp(code, payload, 4) == 0);
	return code[0] == 0xA5; /* some ACKs are "ours" */
}

static void on_advert(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t pub[32],
                      uint32_t ts, const uint8_t *app, size_t app_len)
{
	(void)ep;
	(void)rx;
	(void)pub;
	(void)ts;
	(void)app;
	REQUIRE(app_len <= 32);
}

static const struct mesh_ep_ops ops = {
    .peers_by_hash = peers_by_hash,
    .on_anon_req = on_anon,
    .on_peer_data = on_data,
    .on_peer_path = on_path,
    .on_ack = on_ack,
    .on_advert = on_advert,
};

static int transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct pkt p;
	(void)ctx;
	fuzz_check_tx(in_flight, frame, len, &p);
	if (again_mode && (++tx_count % 3) == 0)
		return ERR_AGAIN;
	in_flight = true;
	return ERR_OK;
}

static void add_peer(struct fep *f, const struct ident *peer)
{
	struct mesh_peer *p = &f->peers[f->n_peers++];
	memcpy(p->pub, peer->pub, 32);
	if (ident_shared_secret(&f->ep.id, peer->pub, p->secret) != ERR_OK)
		__builtin_trap();
	p->ref = NULL;
}

static void setup_once(void)
{
	if (!fuzz_first_setup())
		return;
	fuzz_ident(&id_room, 0x11);
	fuzz_ident(&id_c1, 0x22);
	fuzz_ident(&id_c2, 0x33);

	room.ep.id = id_room;
	room.ep.ops = &ops;
	room.ep.ctx = &room;
	room.room = true;
	add_peer(&room, &id_c1);
	add_peer(&room, &id_c2);
	client.ep.id = id_c1;
	client.ep.ops = &ops;
	client.ep.ctx = &client;
	client.ep.reciprocal_path = true;
	add_peer(&client, &id_room);
}

/* ---- seed corpus ---- */

struct seed {
	uint8_t b[1024];
	size_t len;
};

static void seed_frame(struct seed *s, struct pkt *p)
{
	size_t len;
	if (pkt_encode(p, s->b + s->len + 1, sizeof(s->b) - s->len - 1, &len) != ERR_OK)
		__builtin_trap();
	s->b[s->len] = (uint8_t)len;
	s->len += 1 + len;
}

/* Starts a seed file; its first byte is the option byte of the run. */
static void seed_begin(struct seed *s, uint8_t options)
{
	s->len = 0;
	s->b[s->len++] = options;
}

/* Adds p as heard over hops: path_len is the encoded length byte, of two path bytes. */
static void seed_via(struct seed *s, struct pkt *p, uint8_t path_len, const uint8_t hops[2])
{
	p->path_len = path_len;
	memcpy(p->path, hops, 2);
	seed_frame(s, p);
}

static void seed_write(const char *dir, const char *name, const struct seed *s)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(s->b, 1, s->len, f);
	fclose(f);
}

static void write_seeds(const char *dir)
{
	struct seed s;
	struct pkt p;
	uint8_t sec_c1[32], sec_c2[32], hops[2] = {0x71, 0x72};
	const uint8_t login[] = {1, 0, 0, 0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
	const uint8_t msg[] = {2, 0, 0, 0, 0, 'h', 'i', ' ', 'r', 'o', 'o', 'm'};
	const uint8_t code[4] = {0xA5, 1, 2, 3};

	REQUIRE(ident_shared_secret(&id_c1, id_room.pub, sec_c1) == ERR_OK);
	REQUIRE(ident_shared_secret(&id_c2, id_room.pub, sec_c2) == ERR_OK);

	/* logins, flood with a hop and direct */
	seed_begin(&s, 0x03);
	REQUIRE(mesh_build_anon(&p, &id_c2, id_room.pub[0], sec_c2, login, sizeof(login)) ==
	        ERR_OK);
	p.path_len = 1;
	p.path[0] = 0x71;
	seed_frame(&s, &p);
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_ANON_REQ);
	p.path_len = 0;
	/* the same packet direct: a duplicate */
	seed_frame(&s, &p);
	seed_write(dir, "login", &s);

	/* datagrams both ways */
	seed_begin(&s, 0x01);
	REQUIRE(mesh_build_datagram(&p, PKT_TXT_MSG, &id_c1, id_room.pub[0], sec_c1, msg,
	                            sizeof(msg)) == ERR_OK);
	seed_via(&s, &p, 2, hops);
	REQUIRE(mesh_build_datagram(&p, PKT_REQ, &id_room, id_c1.pub[0], sec_c1, msg,
	                            sizeof(msg)) == ERR_OK);
	seed_via(&s, &p, 0x41, hops);
	seed_write(dir, "datagrams", &s);

	/* a flooded PATH for the client (reciprocal path), with an ACK extra */
	seed_begin(&s, 0x00);
	REQUIRE(mesh_build_path(&p, &id_room, id_c1.pub[0], sec_c1, 2, hops, PKT_ACK, code, 4,
	                        &rng) == ERR_OK);
	seed_via(&s, &p, 2, hops);
	seed_write(dir, "path", &s);

	/* adverts, ACKs, a multi-ACK, a direct ACK with the room as next hop, a TRACE */
	seed_begin(&s, 0x05);
	REQUIRE(mesh_build_advert(&p, &id_c2, 1750000000,
	                          (const uint8_t *)"\x81"
	                                           "Fuzz",
	                          5) == ERR_OK);
	seed_frame(&s, &p);
	mesh_build_ack(&p, code, NULL, 0);
	seed_frame(&s, &p);
	mesh_build_multi_ack(&p, code, 1);
	seed_frame(&s, &p);
	mesh_build_ack(&p, (const uint8_t *)"\x10\x20\x30\x40", (const uint8_t *)"\x03", 1);
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_ACK);
	p.path_len = 2;
	p.path[0] = id_room.pub[0];
	p.path[1] = 0x72;
	seed_frame(&s, &p);
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_TRACE);
	memcpy(p.payload, "\x44\x33\x22\x11\x88\x77\x66\x55\x00", 9);
	p.payload[9] = id_room.pub[0];
	p.payload[10] = id_c2.pub[0];
	p.payload_len = 11;
	seed_frame(&s, &p);
	seed_write(dir, "misc", &s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_MESH_SEEDS");
	(void)argc;
	(void)argv;
	setup_once();
	if (dir) {
		rng_seeded_init(&rs, &rng, 0x5EED);
		write_seeds(dir);
	}
	return 0;
}

/* Lets the clock run to the next deadline (a bounded number of times). */
static void run(uint64_t *now, uint64_t horizon)
{
	for (int i = 0; i < 8; i++) {
		if (in_flight) {
			*now += 200;
			in_flight = false;
			mesh_on_tx_done(&mesh, (*now & 7) != 0, *now);
			continue;
		}
		uint64_t d = mesh_next_deadline(&mesh);
		if (d == UINT64_MAX || d > horizon)
			return;
		if (d > *now)
			*now = d;
		mesh_tick(&mesh, *now);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mesh_cfg cfg;
	struct mesh_io io = {.transmit = transmit, .ctx = NULL};
	uint64_t now = 1000;
	size_t i = 1;

	setup_once();
	if (size < 1)
		return 0;
	mesh_cfg_defaults(&cfg);
	cfg.repeat = data[0] & 1;
	cfg.multi_acks = (data[0] >> 1) & 3;
	again_mode = (data[0] >> 3) & 1;
	tx_count = 0;
	in_flight = false;
	rng_seeded_init(&rs, &rng, 0x5EED);
	mesh_init(&mesh, &cfg, &io, &rng, now);
	room.m = &mesh;
	client.m = &mesh;
	if (mesh_add_ep(&mesh, &room.ep) != ERR_OK || mesh_add_ep(&mesh, &client.ep) != ERR_OK)
		__builtin_trap();

	while (i < size) {
		size_t n = data[i++];
		if (n > size - i)
			n = size - i;
		mesh_on_frame(&mesh, data + i, n, (int8_t)(n * 13), -90, now);
		i += n;
		run(&now, now + 2000);
		now += 1 + (n & 0x3F);
	}
	run(&now, now + 60000);
	REQUIRE(mesh_queue_len(&mesh) <= MESH_TXQ_MAX);
	return 0;
}
