/*
 * test_fedroom.c - a federated room seen from one site, in virtual time (the
 * world of tests/roomfix.h): what another site replicated (a member's
 * record, a post) against what a member's radio sends here.
 *
 *  - a member whose post was accepted at another site and whose ACK was lost
 *    retries here (it roamed): if the post is held here (replicated), the
 *    same ACK goes, nothing is stored again; if it is not yet, silence (the
 *    client retries), nothing stored.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "room/room.h"
#include "roomfix.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

static uint32_t posts_in(struct store *st, uint32_t id)
{
	uint32_t n = 0;
	CHECK_EQ(store_post_count(st, id, &n), ERR_OK);
	return n;
}

static void test_roamed_retry(void)
{
	static struct room room;
	struct room_clock clock = {(int64_t)1750000000 * 1000};
	struct store *st;
	struct ident rid;
	uint8_t seed[32];
	char db[] = "/tmp/test_fedroom_XXXXXX";
	uint32_t id;
	bool dup;

	if (mkstemp(db) < 0)
		return;
	memset(seed, 9, sizeof(seed));
	ident_from_seed(&rid, seed);
	unlink(db);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "Fed", rid.pub, &id), ERR_OK);
	struct node *rn = node_new();
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	the_room = &room;
	struct node *dave = client_new(0x5d, rid.pub);
	const uint8_t *pub = dave->ep.id.pub;

	/* site "sa" accepted dave's post at T (its record says so) and
	 * replicated the post; the ACK never reached dave, who is now here */
	uint32_t t = 1750000100, heard = room_rtc(&room);
	CHECK_EQ(room_member_merge(&room, pub, ACL_ROLE_READ_WRITE, 0, t, heard, false), ERR_OK);
	CHECK_EQ(room_post_remote(&room, pub, t, "roamed post", 11, "sa", 1, heard, &dup), ERR_OK);
	CHECK(!dup);
	CHECK_EQ(posts_in(st, id), 1);
	uint32_t replays = room.stats.replays;
	client_txt(dave, t, 0, 1, "roamed post");
	run_for(5000);
	CHECK_EQ(dave->acked, 1); /* the ACK the first site would have sent */
	CHECK_EQ(posts_in(st, id), 1);
	CHECK_EQ(room.stats.replays, replays);
	/* the same packet again (a replay on the air): no second ACK */
	client_txt(dave, t, 0, 1, "roamed post");
	run_for(5000);
	CHECK_EQ(dave->acked, 1);

	/* accepted at "sa" at T2, not replicated here yet: silence, nothing stored */
	uint32_t t2 = t + 50;
	CHECK_EQ(room_member_merge(&room, pub, ACL_ROLE_READ_WRITE, 0, t2, heard, false), ERR_OK);
	client_txt(dave, t2, 0, 2, "second post");
	run_for(5000);
	CHECK_EQ(dave->acked, 1);
	CHECK_EQ(posts_in(st, id), 1);
	/* once it arrives, the client's next retry gets its ACK */
	CHECK_EQ(room_post_remote(&room, pub, t2, "second post", 11, "sa", 2, heard + 1, &dup),
	         ERR_OK);
	client_txt(dave, t2, 0, 3, "second post");
	run_for(5000);
	CHECK_EQ(dave->acked, 2);
	CHECK_EQ(posts_in(st, id), 2);

	/* a post of another author with dave's timestamp is not dave's post */
	uint32_t t3 = t2 + 50;
	uint8_t other[32];
	memset(other, 0x42, sizeof(other));
	CHECK_EQ(room_member_merge(&room, pub, ACL_ROLE_READ_WRITE, 0, t3, heard, false), ERR_OK);
	CHECK_EQ(room_post_remote(&room, other, t3, "not dave", 8, "sa", 3, heard + 2, &dup),
	         ERR_OK);
	client_txt(dave, t3, 0, 1, "third");
	run_for(5000);
	CHECK_EQ(dave->acked, 2);
	CHECK_EQ(posts_in(st, id), 3);

	room_close(&room);
	the_room = NULL;
	store_close(st);
	unlink(db);
}

int main(void)
{
	log_set_level(LOG_ERR);
	if (crypto_init())
		return 1;
	test_roamed_retry();
	return harness_done("test_fedroom");
}
