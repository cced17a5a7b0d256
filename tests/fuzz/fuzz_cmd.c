/*
 * fuzz_cmd.c - libFuzzer target for the admin command line (src/room/cmd.c,
 * regions.c, settings.c; PROTOCOL.md §8) on a room with a store in memory.
 *
 * Input: the first byte picks the door (console, control socket, radio) and
 * whether replies get the radio's 161-byte buffer or a tiny one; the rest is
 * command lines separated by '\n'.  Every reply must be a terminated string
 * inside its buffer, room_cmd answers ERR_OK or ERR_NOT_FOUND only, and the
 * room's tables stay consistent (members within their array, regions with
 * valid parents, settings strings terminated).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "room/cmd.h"
#include "room/regions.h"
#include "room/room.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

static void zero_fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0x5A, n);
}

static int transmit(void *ctx, const uint8_t *f, size_t len)
{
	(void)ctx;
	(void)f;
	(void)len;
	return ERR_OK;
}

static int save_identity(void *ctx, struct room *r, const struct ident *id)
{
	(void)ctx;
	(void)r;
	(void)id;
	return ERR_OK;
}

static int packet_log(void *ctx, struct room *r, int op, char *out, size_t cap)
{
	(void)ctx;
	(void)r;
	if (op == ROOM_LOG_DUMP && out && cap)
		out[0] = 0;
	return ERR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store *st;
	static struct ident id;
	static uint32_t room_id;
	static struct rng rng = {zero_fill, NULL};
	static struct mesh mesh;
	static struct room room;
	struct room_clock clock = {(int64_t)1750000000 * 1000};
	struct mesh_cfg cfg;
	char line[600], reply[4096];

	if (!st) {
		uint8_t seed[32];
		log_set_level(LOG_NONE); /* every bad input logs an error */
		if (crypto_init() != ERR_OK || store_open(&st, ":memory:") != ERR_OK)
			abort();
		memset(seed, 3, sizeof(seed));
		ident_from_seed(&id, seed);
		if (store_room_add(st, "fuzz", id.pub, &room_id) != ERR_OK)
			abort();
	}
	if (size < 1)
		return 0;
	/* every input starts from the same room: clear what the last one stored */
	store_room_delete(st, room_id);
	store_setting_delete(st, 0, "tx");
	if (store_room_add(st, "fuzz", id.pub, &room_id) != ERR_OK)
		abort();
	mesh_cfg_defaults(&cfg);
	mesh_init(&mesh, &cfg, &(struct mesh_io){.transmit = transmit, .ctx = NULL}, &rng, 1000);
	if (room_open(&room, &mesh, st, room_id, &id, &clock, 1000) != ERR_OK)
		abort();
	/* no backup hook: `backup /any/path` must never write files while fuzzing */
	room.hooks = (struct room_hooks){.save_identity = save_identity, .packet_log = packet_log};

	enum cmd_origin origin = (enum cmd_origin)(data[0] % 3);
	size_t cap = data[0] & 0x80 ? 8 : origin == CMD_REMOTE ? ROOM_REPLY_MAX : sizeof(reply);
	size_t off = 1;
	uint64_t now = 1000;
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		size_t k = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
		memcpy(line, data + off, k);
		line[k] = 0;
		off += len + 1;
		memset(reply, 0x7E, sizeof(reply));
		int rc = room_cmd(&room, line, origin == CMD_REMOTE ? 1750000000 : 0, origin, reply,
		                  cap);
		if (rc != ERR_OK && rc != ERR_NOT_FOUND && rc != ERR_TOO_BIG)
			abort();
		if (!memchr(reply, 0, cap))
			abort();
		(void)room_cmd_reply_is_error(reply);
		now += 700;
		room_tick(&room, now);
		mesh_tick(&mesh, now);
		if (room.n_members > room.cap_members)
			abort();
		const struct room_regions *t = &room.regions;
		if (t->n < 0 || t->n > ROOM_REGIONS_MAX)
			abort();
		for (int i = 0; i < t->n; i++)
			if (t->r[i].parent < -1 || t->r[i].parent >= t->n ||
			    !memchr(t->r[i].name, 0, sizeof(t->r[i].name)))
				abort();
		if (!memchr(room.set.name, 0, sizeof(room.set.name)) ||
		    !memchr(room.set.owner_info, 0, sizeof(room.set.owner_info)) ||
		    !memchr(room.set.loop_detect, 0, sizeof(room.set.loop_detect)))
			abort();
		if (room.set.path_hash_mode > 2 || !(room.set.lat >= -90 && room.set.lat <= 90) ||
		    !(room.set.lon >= -180 && room.set.lon <= 180) ||
		    !(room.mesh->cfg.airtime_factor >= 0 && room.mesh->cfg.airtime_factor <= 100))
			abort();
	}
	room_close(&room);
	return 0;
}
