/*
 * test_ackclock.c - forged push ACKs are timed from the push's TxDone
 * (issue 13): a member that was also sent a post can compute the ACK of the
 * push of that post to another member.  While the push waits for the air
 * (a busy channel, a modem that holds it) every such ACK is too early to be
 * real, however long ago the push was queued; after the push left the air a
 * genuine ACK is accepted, also when it comes after the push timed out and
 * another copy went out.  The world is tests/roomfix.h.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
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

/* The ACK code of the first copy of post p pushed to the member with key pub
 * (the attempt bits of copy 0 are 0): what any other member can compute. */
static void forged_code(const struct store_post *p, const uint8_t pub[32], uint8_t code[4])
{
	uint8_t pt[9 + STORE_TEXT_MAX], h[32];
	le32_store(pt, p->post_ts);
	pt[4] = 2 << 2;
	memcpy(pt + 5, p->author, 4);
	memcpy(pt + 9, p->text, p->text_len);
	hash_sha256_2(h, pt, 9 + p->text_len, pub, 32);
	memcpy(code, h, 4);
}

static void inject_ack(struct node *to, const uint8_t code[4])
{
	struct pkt p;
	uint8_t frame[PKT_MAX_FRAME];
	size_t len;
	CHECK_EQ(mesh_build_ack(&p, code, NULL, 0), ERR_OK);
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_ACK);
	p.path_len = 0;
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &len), ERR_OK);
	mesh_on_frame(&to->mesh, frame, len, 40, -60, now);
}

int main(void)
{
	static struct room room;
	struct room_clock clock = {(int64_t)1750000000 * 1000};
	struct store *st;
	struct ident rid;
	uint8_t seed[32];
	uint32_t id;

	log_set_level(LOG_ERR);
	if (crypto_init())
		return 1;
	memset(seed, 9, sizeof(seed));
	ident_from_seed(&rid, seed);
	CHECK_EQ(store_open(&st, ":memory:"), ERR_OK);
	CHECK_EQ(store_room_add(st, "Clock", rid.pub, &id), ERR_OK);
	struct node *rn = node_new();
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	the_room = &room;
	struct node *victim = client_new(0x61, rid.pub), *liar = client_new(0x62, rid.pub);

	client_login(victim, 1750000100, 0, "hello");
	run_for(5000);
	client_login(liar, 1750000101, 0, "hello");
	run_for(5000);
	CHECK(victim->logged_in && liar->logged_in);
	liar->ack_pushes = false;

	/* the liar posts; its ACK goes out, then the room's radio finds the
	 * channel busy and the push to the victim waits in the queue */
	client_txt(liar, 1750000200, 0, 0, "i was here");
	for (int i = 0; i < 300 && !liar->acked; i++)
		run_for(10);
	CHECK_EQ(liar->acked, 1);
	tx_blocked[rn->idx] = true;
	uint32_t pushes = room.stats.pushes;
	run_for(3000);
	CHECK_EQ(room.stats.pushes, pushes + 1); /* queued ... */
	CHECK_EQ(victim->pushes, 0);             /* ... not on the air */

	/* 3 s after it was queued, 2 s or more before it is sent: the liar's
	 * ACK for the victim is refused */
	struct store_post p;
	memset(&p, 0, sizeof(p));
	CHECK_EQ(store_post_list_newest(st, id, 1, newest_post, &p), ERR_OK);
	uint8_t code[4];
	forged_code(&p, victim->ep.id.pub, code);
	struct room_member *mv = room_member_find(&room, victim->ep.id.pub);
	uint32_t sync0 = mv ? mv->sync_since : 1;
	inject_ack(rn, code);
	CHECK_EQ(room.stats.push_acks_forged, 1);
	CHECK_EQ(room.stats.push_acks, 0);
	CHECK(mv && mv->sync_since == sync0);
	run_for(2000);

	/* the channel clears: the victim gets the post (a later copy) and its
	 * own ACK, after the push left the air, moves its sync point */
	tx_blocked[rn->idx] = false;
	run_for(15000);
	CHECK_EQ(victim->pushes, 1);
	CHECK_STR(victim->last_push, "i was here");
	CHECK_EQ(room.stats.push_acks, 1);
	mv = room_member_find(&room, victim->ep.id.pub);
	CHECK(mv && mv->sync_since == p.post_ts);

	/* a late ACK: the victim's answer to a copy is held up past that
	 * copy's timeout, and the next copy does not reach it; the late ACK
	 * still counts, so no third copy is sent (and shown) */
	client_txt(liar, 1750000300, 0, 0, "second");
	for (int i = 0; i < 300 && liar->acked < 2; i++)
		run_for(10);
	CHECK_EQ(liar->acked, 2);
	int got = victim->pushes;
	uint32_t acks = room.stats.push_acks, timeouts = room.stats.push_timeouts;
	tx_blocked[victim->idx] = true;
	for (int i = 0; i < 500 && victim->pushes == got; i++)
		run_for(10);
	CHECK_EQ(victim->pushes, got + 1); /* shown, its ACK waiting */
	rx_blocked[victim->idx] = true;
	for (int i = 0; i < 2000 && room.stats.push_timeouts == timeouts; i++)
		run_for(10);
	CHECK_EQ(room.stats.push_timeouts, timeouts + 1);
	run_for(1500); /* the next copy goes out, unheard */
	tx_blocked[victim->idx] = false;
	run_for(1500);
	rx_blocked[victim->idx] = false;
	CHECK_EQ(room.stats.push_acks, acks + 1);
	run_for(30000);
	CHECK_EQ(victim->pushes, got + 1);
	CHECK_STR(victim->last_push, "second");
	memset(&p, 0, sizeof(p));
	CHECK_EQ(store_post_list_newest(st, id, 1, newest_post, &p), ERR_OK);
	mv = room_member_find(&room, victim->ep.id.pub);
	CHECK(mv && mv->sync_since == p.post_ts);

	room_close(&room);
	store_close(st);
	return harness_done("test_ackclock");
}
