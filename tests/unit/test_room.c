/*
 * test_room.c - the room server in virtual time: a room and firmware-like
 * clients on two meshes joined by a perfect in-test "air".  Login tiers,
 * posts acknowledged after storage, catch-up pushes, keep-alive, admin CLI,
 * replay and a restart that loses nothing.  The world is tests/roomfix.h.
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
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

static int newest_post(void *ctx, const struct store_post *p)
{
	*(struct store_post *)ctx = *p;
	return 0;
}

/* A login whose password is over the 15 bytes of client_login's. */
static void login_long(struct node *n, uint32_t ts, const char *pw)
{
	uint8_t pt[8 + 32];
	struct pkt p;
	size_t pl = strnlen(pw, 32);
	le32_store(pt, ts);
	le32_store(pt + 4, 0);
	memcpy(pt + 8, pw, pl);
	n->logged_in = 0;
	CHECK_EQ(mesh_build_anon(&p, &n->ep.id, n->room_pub[0], n->secret, pt, 8 + pl), ERR_OK);
	mesh_send_to(&n->mesh, &p, n->room_path_len, n->room_path, 0);
}

int main(void)
{
	static struct room room;
	struct room_clock clock = {(int64_t)1750000000 * 1000};
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
	CHECK_EQ(a->role, ACL_ROLE_READ_WRITE);
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

	/* text that is not UTF-8: dropped and counted, no ACK, the replay mark
	 * unmoved; a code point cut short at the end (a client cutting to a byte
	 * limit) is left out of the stored text, the ACK covers what was sent */
	uint32_t bad0 = room.stats.malformed;
	client_txt(a, 1750000160 + 50, 0, 0, "caf\xc3(\xa9 broken");
	run_until(now + 3000);
	CHECK_EQ(a->acked, 2);
	CHECK_EQ(room.stats.malformed, bad0 + 1);
	CHECK(ma && ma->last_ts == 1750000200);
	client_txt(a, 1750000220, 0, 0, "caf\xc3\xa9 \xe2\x82");
	run_until(now + 3000);
	CHECK_EQ(a->acked, 3);
	store_post_count(st, id, &count);
	CHECK_EQ(count, 2);
	struct store_post sp;
	memset(&sp, 0, sizeof(sp));
	CHECK_EQ(store_post_list_newest(st, id, 1, newest_post, &sp), ERR_OK);
	CHECK(sp.text_len == 6 && memcmp(sp.text, "caf\xc3\xa9 ", 6) == 0);
	CHECK_EQ(store_post_delete(st, id, sp.id), ERR_OK); /* the story below has one post */

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
	CHECK_EQ(c->role, ACL_ROLE_GUEST);
	c->acked = 0;
	client_txt(c, 1750000700, 0, 0, "guest post");
	run_until(now + 3000);
	CHECK_EQ(c->acked, 0);
	store_post_count(st, id, &count);
	CHECK_EQ(count, 6);

	/* admin CLI over the radio, and a guest's CLI gets nothing */
	client_login(adm, 1750000800, 0, "password");
	run_until(now + 5000);
	CHECK_EQ(adm->role, ACL_ROLE_ADMIN);
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

	/* a password over 15 bytes is a wrong guess no stored password matches
	 * (not one cut to 15 bytes that does): charged, silent, and read-only
	 * where that is allowed; its timestamp is the key's replay mark */
	room_cmd(&room, "set guest.password fifteenchars123", 0, CMD_SERIAL, reply, sizeof(reply));
	CHECK_STR(reply, "OK");
	struct node *e = client_new(0x66, rid.pub);
	uint32_t bad = room.stats.logins_bad;
	login_long(e, 1750001100, "fifteenchars123x");
	run_until(now + 5000);
	CHECK_EQ(e->logged_in, 0);
	CHECK_EQ(room.stats.logins_bad, bad + 1);
	CHECK(room_member_find(&room, e->ep.id.pub) == NULL);
	login_long(e, 1750001100, "fifteenchars123x"); /* the same again: a replay */
	run_until(now + 5000);
	CHECK_EQ(room.stats.logins_bad, bad + 1);
	room_cmd(&room, "set allow.read.only on", 0, CMD_SERIAL, reply, sizeof(reply));
	login_long(e, 1750001101, "fifteenchars123x");
	run_until(now + 5000);
	CHECK_EQ(e->logged_in, 1);
	CHECK_EQ(e->role, ACL_ROLE_GUEST);
	CHECK_EQ(room.stats.logins_bad, bad + 2);
	room_cmd(&room, "set allow.read.only off", 0, CMD_SERIAL, reply, sizeof(reply));
	room_cmd(&room, "set guest.password s3cret", 0, CMD_SERIAL, reply, sizeof(reply));

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
	/* b, active just before the restart, is pushed a new post without
	 * logging in again (issue 18), and only that one; a login after it
	 * brings nothing twice */
	int before = b->pushes;
	client_txt(a, 1750002000, 0, 0, "while you were away");
	run_until(now + 8000);
	CHECK_EQ(b->pushes, before + 1);
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

	/* Listen before a push (issue 12.2): while the radio hears the channel
	 * busy the push waits (the author's ACK does not); when the frame ends
	 * it waits a turnaround and the modem's delivery more (a post that just
	 * ended is answered first: the push used to go the instant it ended). */
	client_login(b, 1750002200, b->last_push_ts, "s3cret");
	run_until(now + 5000);
	before = b->pushes;
	int acked = a->acked;
	uint32_t held = room.stats.pushes_held_busy, pushed = room.stats.pushes;
	chan_sensed_busy = 1;
	client_txt(a, 1750002300, 0, 0, "while the channel was busy");
	run_until(now + 3000);
	CHECK_EQ(a->acked, acked + 1);
	CHECK_EQ(room.stats.pushes, pushed);
	CHECK_EQ(room.stats.pushes_held_busy, held + 1);
	chan_sensed_busy = 0;
	uint64_t clear = now;
	run_until(clear + 60); /* turnaround (33 ms on EU-SF8) + 30 ms */
	CHECK_EQ(room.stats.pushes, pushed);
	run_until(clear + 8000);
	CHECK_EQ(b->pushes, before + 1);
	CHECK_STR(b->last_push, "while the channel was busy");
	/* a channel busy for more than 4 s holds a push no longer (the
	 * modem's own carrier sense has it then) */
	pushed = room.stats.pushes;
	chan_sensed_busy = 1;
	client_txt(a, 1750002400, 0, 0, "a jammed channel");
	run_until(now + 3500);
	CHECK_EQ(room.stats.pushes, pushed);
	run_until(now + 1500);
	CHECK(room.stats.pushes > pushed);
	chan_sensed_busy = 0;
	run_until(now + 8000);
	CHECK_EQ(b->pushes, before + 2);

	room_close(&room);
	store_close(st);
	unlink(db);
	return harness_done("test_room");
}
