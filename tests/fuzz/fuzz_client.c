/*
 * fuzz_client.c - libFuzzer target for the room client's receive path
 * (src/client/client.c): a client that knows one room and has a post and a
 * status request in flight gets hostile frames.  The first input byte picks
 * what the rest is: a raw radio frame, or a plaintext sealed with the real
 * room<->client secret (so it passes the MAC) as TXT_MSG, RESPONSE, PATH or
 * REQ, sent by flood or direct, or an advert app_data signed by the room.
 * The client must never crash, and whatever it sends must be a valid frame.
 */
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(0xa0 + i);
}
static const struct rng fixed_rng = {fill, NULL};

static int tx(void *ctx, const uint8_t *frame, size_t len)
{
	struct pkt p;
	(void)ctx;
	must(len >= 2 && len <= PKT_MAX_FRAME && pkt_decode(&p, frame, len) == ERR_OK);
	return ERR_OK;
}

static void on_event(void *ctx, struct client *c, const struct client_event *ev)
{
	(void)ctx;
	(void)c;
	must(ev->contact != NULL);
	if (ev->text)
		must(strlen(ev->text) == ev->text_len);
}

static struct client *cl;
static struct mesh mesh;
static struct ident room;

static void setup(void)
{
	struct mesh_cfg mc;
	struct client_cfg cc;
	struct mesh_io io = {.transmit = tx, .ctx = NULL};
	struct ident me;
	uint8_t seed[32];
	struct client_contact *ct;

	if (crypto_init() != ERR_OK)
		abort();
	memset(seed, 7, 32);
	ident_from_seed(&me, seed);
	memset(seed, 9, 32);
	ident_from_seed(&room, seed);
	mesh_cfg_defaults(&mc);
	mesh_init(&mesh, &mc, &io, &fixed_rng, 0);
	client_cfg_defaults(&cc);
	cc.keepalive_s = 1;
	cl = calloc(1, sizeof(*cl));
	if (!cl || client_init(cl, &mesh, &me, &cc, on_event, NULL, 0) != ERR_OK)
		abort();
	client_set_rtc(cl, 0, 1750000000);
	if (client_contact_add(cl, room.pub, &ct) != ERR_OK)
		abort();
	ct->type = ADV_TYPE_ROOM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t now = 1000;
	uint8_t secret[32], frame[PKT_MAX_FRAME];
	struct pkt p;
	size_t len;
	uint32_t id;

	if (!cl)
		setup();
	if (size < 1)
		return 0;
	/* keep something in flight so replies have a match to find */
	struct client_room *rs = client_room_find(cl, room.pub);
	if (!rs || (!rs->post.active && !rs->q_len))
		client_post(cl, room.pub, "fuzz", 4, now, &id);
	if (!rs || !rs->reqs[0].used)
		client_request(cl, room.pub, REQ_GET_STATUS, now, &id);
	client_tick(cl, now);

	unsigned sel = data[0];
	data++;
	size--;
	if (ident_shared_secret(&room, cl->ep.id.pub, secret) != ERR_OK)
		abort();
	static const unsigned types[] = {PKT_TXT_MSG, PKT_RESPONSE, PKT_PATH, PKT_REQ};
	switch (sel % 6) {
	case 0: mesh_on_frame(&mesh, data, size, 0, 0, now); break;
	case 5:
		if (mesh_build_advert(&p, &room, (uint32_t)now, data, size > 32 ? 32 : size) ==
		        ERR_OK &&
		    pkt_encode(&p, frame, sizeof(frame), &len) == ERR_OK)
			mesh_on_frame(&mesh, frame, len, 0, 0, now);
		break;
	default: {
		unsigned type = types[(sel % 6) - 1];
		if (mesh_build_datagram(&p, type, &room, cl->ep.id.pub[0], secret, data, size) !=
		    ERR_OK)
			break;
		if (sel & 0x80) {
			p.header = pkt_header(PKT_ROUTE_DIRECT, type);
			p.path_len = 0;
		} else {
			p.path_len = (uint8_t)((sel >> 3) & 0x0F); /* a flood path of 0..15 hops */
			memset(p.path, 0x5a, path_len_bytes(p.path_len));
		}
		if (pkt_encode(&p, frame, sizeof(frame), &len) == ERR_OK)
			mesh_on_frame(&mesh, frame, len, 0, 0, now);
		break;
	}
	}
	now += 700;
	mesh_tick(&mesh, now);
	client_tick(cl, now);
	mesh_on_tx_done(&mesh, true, now);
	return 0;
}
