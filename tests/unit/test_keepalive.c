/*
 * test_keepalive.c - the keep-alive interval a room asks of its members in
 * the login response (byte 5, 16-second units; issue 18.3): 0 by default as
 * v1.17.1, the keepalive.interval setting, its range and persistence, and
 * keep-alives counted as presence.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "room/cmd.h"
#include "room/room.h"
#include "roomfix.h"
#include "store/store.h"
#include "tmpdb.h"
#include "util/err.h"
#include "util/log.h"

static char reply[ROOM_REPLY_MAX];

static const char *cmd(struct room *r, const char *line)
{
	room_cmd(r, line, 0, CMD_SERIAL, reply, sizeof(reply));
	return reply;
}

/* Logs n in (timestamp ts) and returns byte 5 of the response, -1 if none. */
static int login_byte5(struct node *n, uint32_t ts)
{
	n->login_keepalive = 0xEE;
	client_login(n, ts, 0, "hello");
	run_until(now + 5000);
	return n->logged_in ? n->login_keepalive : -1;
}

int main(void)
{
	static struct room room;
	struct room_clock clock = {(int64_t)1750000000 * 1000};
	struct store *st;
	struct ident rid;
	uint8_t seed[32];
	char db[] = "/tmp/test_keepalive_XXXXXX";
	uint32_t id;

	log_set_level(LOG_ERR);
	if (crypto_init() || mkstemp(db) < 0)
		return 1;
	memset(seed, 9, sizeof(seed));
	ident_from_seed(&rid, seed);
	unlink(db);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "KA Room", rid.pub, &id), ERR_OK);
	struct node *rn = node_new();
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	the_room = &room;
	struct node *a = client_new(0x61, rid.pub);

	/* default: 0, as the v1.17.1 room */
	CHECK_STR(cmd(&room, "get keepalive.interval"), "> 0");
	CHECK_EQ(login_byte5(a, 1750000100), 0);

	/* seconds, sent in 16 s units rounded up */
	static const struct {
		const char *set;
		int byte5;
	} cases[] = {
	    {"set keepalive.interval 300", 19}, {"set keepalive.interval 16", 1},
	    {"set keepalive.interval 1", 1},    {"set keepalive.interval 4080", 255},
	    {"set keepalive.interval 0", 0},    {"set keepalive.interval 320", 20},
	};
	uint32_t ts = 1750000200;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_STR(cmd(&room, cases[i].set), "OK");
		CHECK_EQ(login_byte5(a, ts++), cases[i].byte5);
	}
	CHECK_STR(cmd(&room, "get keepalive.interval"), "> 320");
	CHECK_STR(cmd(&room, "set keepalive.interval 4081"), "Error, must be 0-4080");
	CHECK_STR(cmd(&room, "set keepalive.interval -1"), "Error, must be 0-4080");
	CHECK_STR(cmd(&room, "get keepalive.interval"), "> 320");

	/* kept across a restart */
	room_close(&room);
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	CHECK_STR(cmd(&room, "get keepalive.interval"), "> 320");
	CHECK_EQ(login_byte5(a, ts++), 20);

	/* a keep-alive is presence: it refreshes the member's activity and
	 * lifts a push give-up, and is answered with the unsynced count */
	struct room_member *m = room_member_find(&room, a->ep.id.pub);
	CHECK(m != NULL);
	if (m) {
		m->last_activity = 1;
		m->push_failures = 10;
		a->acked = 0;
		keep_alive(a, ts++, 0);
		run_until(now + 3000);
		CHECK_EQ(a->acked, 1);
		CHECK(m->last_activity > 1750000000u);
		CHECK_EQ(m->push_failures, 0);
	}

	room_close(&room);
	store_close(st);
	tmpdb_remove(db);
	return harness_done("test_keepalive");
}
