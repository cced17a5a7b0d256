/*
 * test_world.c - the project's end-to-end stories in virtual time
 * (src/sim/world.c): real rooms, clients and repeaters on the simulated
 * channel, with collisions, carrier sense and airtime.
 *
 * Stories: an advert makes a room a contact (name, position); admin, guest
 * and read-only logins and what each may do; a post delivered and pushed to
 * the other members; a member offline for a while catches up in order and
 * exactly once, also through a repeater (with the direct route learnt after
 * the first flood); one client in two rooms; remote admin changes the guest
 * password; a restart from the store loses nothing.  Every run is seeded;
 * the seed is printed, and a run is checked to repeat exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "proto/advert.h"
#include "room/room.h"
#include "sim/world.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define SEED 20250101u

static struct world *mk_world(uint64_t seed)
{
	struct world_cfg cfg;
	world_cfg_defaults(&cfg);
	cfg.seed = seed;
	struct world *w = world_new(&cfg);
	CHECK(w != NULL);
	return w;
}

/* ---- predicates ---- */

struct want {
	int node;
	enum client_event_type type;
	const uint8_t *room;
	size_t count; /* at least this many */
};

static bool have(struct world *w, void *ctx)
{
	const struct want *x = ctx;
	return world_event_count(w, x->node, x->type, x->room) >= x->count;
}

/* Runs until node has `count` events of `type` (for room), at most max_ms. */
static bool wait_for(struct world *w, int node, enum client_event_type type, const uint8_t *room,
                     size_t count, uint64_t max_ms)
{
	struct want x = {node, type, room, count};
	return world_run_until_pred(w, have, &x, max_ms);
}

/* Logs in and waits for the outcome; returns the role, or -1 (timeout), -2 (refused). */
static int login(struct world *w, int c, const uint8_t *room, const char *pw)
{
	size_t ok = world_event_count(w, c, CLIENT_EV_LOGIN, room);
	size_t to = world_event_count(w, c, CLIENT_EV_LOGIN_TIMEOUT, room);
	size_t bad = world_event_count(w, c, CLIENT_EV_LOGIN_FAILED, room);
	CHECK_EQ(client_login(world_client(w, c), room, pw, world_now_ms(w)), ERR_OK);
	for (int i = 0; i < 600; i++) {
		world_run_for(w, 100);
		if (world_event_count(w, c, CLIENT_EV_LOGIN, room) > ok)
			return world_event_last(w, c, CLIENT_EV_LOGIN, room)->role;
		if (world_event_count(w, c, CLIENT_EV_LOGIN_TIMEOUT, room) > to)
			return -1;
		if (world_event_count(w, c, CLIENT_EV_LOGIN_FAILED, room) > bad)
			return -2;
	}
	return -3;
}

/* Posts and waits for DELIVERED (true) or FAILED (false). */
static bool post(struct world *w, int c, const uint8_t *room, const char *text)
{
	uint32_t id = 0;
	size_t d = world_event_count(w, c, CLIENT_EV_DELIVERED, room);
	size_t f = world_event_count(w, c, CLIENT_EV_FAILED, room);
	CHECK_EQ(client_post(world_client(w, c), room, text, strlen(text), world_now_ms(w), &id),
	         ERR_OK);
	for (int i = 0; i < 1200; i++) {
		world_run_for(w, 100);
		if (world_event_count(w, c, CLIENT_EV_DELIVERED, room) > d)
			return true;
		if (world_event_count(w, c, CLIENT_EV_FAILED, room) > f)
			return false;
	}
	return false;
}

/* The texts of node's POST events for room, in order, joined by '|'. */
static void posts_of(struct world *w, int node, const uint8_t *room, char *out, size_t cap)
{
	size_t n, len = 0;
	const struct world_event *ev = world_events(w, &n);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].node != node || ev[i].type != CLIENT_EV_POST ||
		    memcmp(ev[i].room, room, 32) != 0)
			continue;
		int k = snprintf(out + len, cap - len, "%s%s", len ? "|" : "", ev[i].text);
		if (k < 0 || (size_t)k >= cap - len)
			return;
		len += (size_t)k;
	}
}

static uint32_t post_count(struct world *w, int roomd, int i)
{
	uint32_t n = 0;
	CHECK_EQ(store_post_count(world_store(w, roomd), world_room(w, roomd, i)->store_id, &n),
	         ERR_OK);
	return n;
}

/* ---- stories ---- */

static void test_advert(void)
{
	struct world *w = mk_world(SEED);
	struct room_settings s;
	room_settings_defaults(&s);
	snprintf(s.name, sizeof(s.name), "Harbour Room");
	s.lat = 52.370216;
	s.lon = 4.895168;
	s.advert_location = true;
	int rd = world_add_roomd(w, "roomd", NULL);
	CHECK(rd >= 0);
	CHECK_EQ(world_add_room(w, rd, "Harbour Room", &s), 0);
	int c = world_add_client(w, "alice", NULL);
	const uint8_t *rp = world_room_pub(w, rd, 0);

	CHECK_EQ(world_room_advert(w, rd, 0, true), ERR_OK);
	CHECK(wait_for(w, c, CLIENT_EV_CONTACT, rp, 1, 10000));
	struct client_contact *ct = client_contact_find(world_client(w, c), rp);
	CHECK(ct != NULL);
	if (ct) {
		CHECK_STR(ct->name, "Harbour Room");
		CHECK_EQ(ct->type, ADV_TYPE_ROOM);
		CHECK(ct->has_loc);
		CHECK_EQ(ct->lat_e6, 52370216);
		CHECK_EQ(ct->lon_e6, 4895168);
		CHECK_EQ(ct->hops, 0);
	}
	/* the room's own zero-hop boot advert 5 s after start updates it, not a new one */
	world_run_for(w, 10000);
	size_t n, fresh = 0;
	const struct world_event *ev = world_events(w, &n);
	for (size_t i = 0; i < n; i++)
		fresh += ev[i].type == CLIENT_EV_CONTACT && ev[i].new_contact;
	CHECK_EQ(fresh, 1);
	world_free(w);
}

static void test_logins_and_posts(void)
{
	struct world *w = mk_world(SEED + 1);
	int rd = world_add_roomd(w, "roomd", NULL);
	CHECK_EQ(world_add_room(w, rd, "Club", NULL), 0);
	int adm = world_add_client(w, "admin", NULL);
	int a = world_add_client(w, "alice", NULL);
	int b = world_add_client(w, "bob", NULL);
	int ro = world_add_client(w, "reader", NULL);
	int x = world_add_client(w, "stranger", NULL);
	const uint8_t *rp = world_room_pub(w, rd, 0);
	struct room *r = world_room(w, rd, 0);
	char buf[1024];

	CHECK_EQ(world_room_advert(w, rd, 0, true), ERR_OK);
	world_run_for(w, 5000);
	for (int c = adm; c <= x; c++)
		CHECK(client_contact_find(world_client(w, c), rp) != NULL);

	CHECK_EQ(login(w, adm, rp, "password"), ACL_ROLE_ADMIN);
	CHECK_EQ(login(w, a, rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(login(w, b, rp, "hello"), ACL_ROLE_READ_WRITE);
	/* a wrong password gets no reply at all: the client gives up */
	uint32_t bad0 = r->stats.logins_bad;
	CHECK_EQ(login(w, x, rp, "letmein"), -1);
	CHECK(r->stats.logins_bad >= bad0 + 1);
	CHECK_EQ(world_event_count(w, x, CLIENT_EV_LOGIN, rp), 0);

	/* a post is delivered and pushed to the other logged-in members */
	CHECK(post(w, a, rp, "hello everyone"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, rp, 1, 30000));
	CHECK(wait_for(w, adm, CLIENT_EV_POST, rp, 1, 30000));
	posts_of(w, b, rp, buf, sizeof(buf));
	CHECK_STR(buf, "hello everyone");
	const struct world_event *e = world_event_last(w, b, CLIENT_EV_POST, rp);
	CHECK(e && memcmp(e->author, world_node_pub(w, a), 4) == 0);
	world_run_for(w, 20000);
	CHECK_EQ(world_event_count(w, a, CLIENT_EV_POST, rp), 0); /* not to its author */
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_POST, rp), 1); /* exactly once */
	CHECK_EQ(post_count(w, rd, 0), 1);

	/* read-only: with allow.read.only on, any password gives a guest */
	CHECK_EQ(world_room_cmd(w, rd, 0, "set allow.read.only on", buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "OK");
	CHECK_EQ(login(w, ro, rp, "whatever"), ACL_ROLE_GUEST);
	struct client *rc = world_client(w, ro);
	uint32_t id;
	CHECK_EQ(client_post(rc, rp, "hi", 2, world_now_ms(w), &id), ERR_PERM);
	/* a client that tries anyway (the room must enforce it): no ACK, not stored */
	struct client_room *rs = client_room_find(rc, rp);
	CHECK(rs != NULL);
	if (rs) {
		rs->login = CLIENT_LOGIN_NONE;
		CHECK(!post(w, ro, rp, "guest graffiti"));
		rs->login = CLIENT_LOGIN_OK;
	}
	CHECK_EQ(post_count(w, rd, 0), 1);
	/* the reader still receives posts */
	CHECK(wait_for(w, ro, CLIENT_EV_POST, rp, 1, 30000));

	/* guest (read-write) cannot use the CLI: the room does not answer */
	struct client *ac = world_client(w, a);
	CHECK_EQ(client_cli(ac, rp, "get name", 8, world_now_ms(w), &id), ERR_PERM);
	rs = client_room_find(ac, rp);
	if (rs) {
		rs->perms = ACL_ROLE_ADMIN; /* pretend: the room decides */
		CHECK_EQ(client_cli(ac, rp, "set guest.password pwned", 24, world_now_ms(w), &id),
		         ERR_OK);
		CHECK(wait_for(w, a, CLIENT_EV_TIMEOUT, rp, 1, 60000));
		CHECK_EQ(world_event_count(w, a, CLIENT_EV_CLI_REPLY, rp), 0);
		rs->perms = ACL_ROLE_READ_WRITE;
	}
	CHECK_STR(r->set.guest_password, "hello");

	/* the admin can */
	CHECK_EQ(client_cli(world_client(w, adm), rp, "get name", 8, world_now_ms(w), &id), ERR_OK);
	CHECK(wait_for(w, adm, CLIENT_EV_CLI_REPLY, rp, 1, 30000));
	e = world_event_last(w, adm, CLIENT_EV_CLI_REPLY, rp);
	CHECK_STR(e ? e->text : "", "> Club");

	/* the admin changes the guest password over the radio */
	const char *cmd = "set guest.password s3cret";
	CHECK_EQ(client_cli(world_client(w, adm), rp, cmd, strlen(cmd), world_now_ms(w), &id),
	         ERR_OK);
	CHECK(wait_for(w, adm, CLIENT_EV_CLI_REPLY, rp, 2, 30000));
	e = world_event_last(w, adm, CLIENT_EV_CLI_REPLY, rp);
	CHECK_STR(e ? e->text : "", "OK");
	CHECK_STR(r->set.guest_password, "s3cret");
	CHECK_EQ(world_room_cmd(w, rd, 0, "set allow.read.only off", NULL, 0), ERR_OK);
	int d = world_add_client(w, "dave", NULL);
	CHECK_EQ(world_client_add_room(w, d, rd, 0), ERR_OK);
	CHECK_EQ(login(w, d, rp, "hello"), -1); /* the old one gets nothing */
	CHECK_EQ(login(w, d, rp, "s3cret"), ACL_ROLE_READ_WRITE);
	world_free(w);
}

/*
 * A member goes off the air, misses posts, comes back, logs in and gets
 * each of them, in order, exactly once.  `via` >= 0: everything goes
 * through that repeater (client and room out of each other's range).
 */
static void catch_up_story(uint64_t seed, bool repeater)
{
	struct world *w = mk_world(seed);
	int rd = world_add_roomd(w, "roomd", NULL);
	CHECK_EQ(world_add_room(w, rd, "Catchup", NULL), 0);
	int a = world_add_client(w, "alice", NULL);
	int b = world_add_client(w, "bob", NULL);
	int rep = -1;
	const uint8_t *rp = world_room_pub(w, rd, 0);
	char buf[2048], want[2048];
	size_t wl = 0;

	if (repeater) {
		rep = world_add_repeater(w, "rpt");
		const char topo[] = "radio roomd 0\nradio rpt 0\nradio alice 0\nradio bob 0\n"
		                    "mode links\n"
		                    "link roomd rpt\n"
		                    "link alice rpt\n"
		                    "link bob rpt\n"
		                    "link alice bob\n";
		int line = 0;
		char err[128];
		CHECK_EQ(world_topo_apply(w, topo, strlen(topo), &line, err, sizeof(err)), ERR_OK);
	}
	CHECK_EQ(world_room_advert(w, rd, 0, true), ERR_OK);
	world_run_for(w, 10000);
	struct client_contact *ct = client_contact_find(world_client(w, b), rp);
	CHECK(ct != NULL);
	if (ct)
		CHECK_EQ(ct->hops, repeater ? 1 : 0);

	CHECK_EQ(login(w, a, rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(login(w, b, rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK(post(w, a, rp, "before"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, rp, 1, 60000));
	world_run_for(w, 5000); /* bob's ACK (in a flooded PATH) reaches the room */
	if (repeater) {
		/* after the first flood both sides know the one-hop route */
		ct = client_contact_find(world_client(w, a), rp);
		CHECK(ct && ct->out_path_len == 1);
		struct room_member *m =
		    room_member_find(world_room(w, rd, 0), world_node_pub(w, b));
		CHECK(m && m->out_path_len == 1);
		struct world_node_stats st0, st1;
		world_node_stats(w, rd, &st0);
		CHECK(post(w, a, rp, "direct now"));
		CHECK(wait_for(w, b, CLIENT_EV_POST, rp, 2, 60000));
		world_node_stats(w, rd, &st1);
		/* the ACK to alice and the push to bob went direct, nothing flooded */
		CHECK(st1.mesh.direct_tx >= st0.mesh.direct_tx + 2);
		CHECK_EQ(st1.mesh.flood_tx, st0.mesh.flood_tx);
		wl = (size_t)snprintf(want, sizeof(want), "before|direct now");
	} else {
		wl = (size_t)snprintf(want, sizeof(want), "before");
	}

	/* bob goes off the air; alice posts 12 times */
	CHECK_EQ(world_node_set_up(w, b, false), ERR_OK);
	for (int i = 0; i < 12; i++) {
		char t[32];
		snprintf(t, sizeof(t), "missed %02d", i);
		CHECK(post(w, a, rp, t));
		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "|%s", t);
	}
	world_run_for(w, 120000); /* the room gives up pushing to bob meanwhile */
	posts_of(w, b, rp, buf, sizeof(buf));
	CHECK_STR(buf, repeater ? "before|direct now" : "before");

	/* back: log in again and receive everything, in order, exactly once */
	CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
	CHECK_EQ(login(w, b, rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK(wait_for(w, b, CLIENT_EV_POST, rp, repeater ? 14 : 13, 300000));
	world_run_for(w, 60000);
	posts_of(w, b, rp, buf, sizeof(buf));
	CHECK_STR(buf, want);
	struct room_member *m = room_member_find(world_room(w, rd, 0), world_node_pub(w, b));
	CHECK(m && !m->pending && m->caught_up);
	(void)rep;
	world_free(w);
}

/*
 * A member out of reach for a minute, without logging in again: the room
 * gives up a round of pushes (the 4 attempt-bit variants), pauses and tries
 * again while the member was heard recently, so the member gets what it
 * missed by itself.  (The firmware, and roomd before, gave such a member up
 * until it showed activity.)
 */
static void test_brief_outage(void)
{
	struct world *w = mk_world(SEED + 7);
	int rd = world_add_roomd(w, "roomd", NULL);
	CHECK_EQ(world_add_room(w, rd, "Outage", NULL), 0);
	int a = world_add_client(w, "alice", NULL);
	int b = world_add_client(w, "bob", NULL);
	const uint8_t *rp = world_room_pub(w, rd, 0);
	char buf[512];

	CHECK_EQ(world_room_advert(w, rd, 0, true), ERR_OK);
	world_run_for(w, 10000);
	CHECK_EQ(login(w, a, rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(login(w, b, rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(world_node_set_up(w, b, false), ERR_OK);
	CHECK(post(w, a, rp, "one"));
	CHECK(post(w, a, rp, "two"));
	world_run_for(w, 60000); /* a whole round of pushes to bob fails */
	struct room *r = world_room(w, rd, 0);
	CHECK(r->stats.push_rounds >= 1);
	CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
	CHECK(wait_for(w, b, CLIENT_EV_POST, rp, 2, 600000));
	world_run_for(w, 30000);
	posts_of(w, b, rp, buf, sizeof(buf));
	CHECK_STR(buf, "one|two");
	struct room_member *m = room_member_find(r, world_node_pub(w, b));
	CHECK(m && !m->pending && m->caught_up && m->push_rounds == 0);
	world_free(w);
}

static void test_catch_up(void)
{
	catch_up_story(SEED + 2, false);
}

static void test_catch_up_repeater(void)
{
	catch_up_story(SEED + 3, true);
}

/* Login timeouts (collisions among members returning together) are retried, as a user would. */
static void relogin(void *ctx, struct world *w, const struct world_event *ev)
{
	const uint8_t *room = ctx;
	if (ev->type == CLIENT_EV_LOGIN_TIMEOUT)
		client_login(world_client(w, ev->node), room, "hello", world_now_ms(w));
}

/*
 * Five members come back within a few seconds of each other: each gets all
 * ten posts in order, exactly once, and the room's pushes take turns with
 * the members' ACKs (few timeouts, nobody given up).
 */
static void test_many_return(void)
{
	struct world *w = mk_world(SEED + 8);
	int rd = world_add_roomd(w, "roomd", NULL);
	CHECK_EQ(world_add_room(w, rd, "Crowd", NULL), 0);
	int a = world_add_client(w, "author", NULL);
	int m[5];
	const uint8_t *rp = world_room_pub(w, rd, 0);
	char buf[1024], want[1024];
	size_t wl = 0;

	world_set_event_hook(w, relogin, (void *)rp);
	CHECK_EQ(world_client_add_room(w, a, rd, 0), ERR_OK);
	CHECK_EQ(login(w, a, rp, "hello"), ACL_ROLE_READ_WRITE);
	for (int i = 0; i < 5; i++) {
		char name[8];
		snprintf(name, sizeof(name), "m%d", i);
		m[i] = world_add_client(w, name, NULL);
		CHECK_EQ(world_client_add_room(w, m[i], rd, 0), ERR_OK);
		CHECK_EQ(login(w, m[i], rp, "hello"), ACL_ROLE_READ_WRITE);
		world_node_set_up(w, m[i], false);
	}
	want[0] = 0;
	for (int i = 0; i < 10; i++) {
		char t[32];
		snprintf(t, sizeof(t), "news %d", i);
		CHECK(post(w, a, rp, t));
		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%s", i ? "|" : "", t);
	}
	world_run_for(w, 180000);
	struct room *r = world_room(w, rd, 0);
	uint32_t timeouts0 = r->stats.push_timeouts;
	for (int i = 0; i < 5; i++) {
		world_node_set_up(w, m[i], true);
		CHECK_EQ(client_login(world_client(w, m[i]), rp, "hello", world_now_ms(w)), ERR_OK);
		world_run_for(w, 700);
	}
	for (int i = 0; i < 5; i++)
		CHECK(wait_for(w, m[i], CLIENT_EV_POST, rp, 10, 300000));
	world_run_for(w, 30000);
	for (int i = 0; i < 5; i++) {
		posts_of(w, m[i], rp, buf, sizeof(buf));
		CHECK_STR(buf, want);
		struct room_member *mm = room_member_find(r, world_node_pub(w, m[i]));
		CHECK(mm && mm->push_failures == 0 && mm->caught_up);
	}
	uint32_t timeouts = r->stats.push_timeouts - timeouts0;
	printf("test_world: 5 members x 10 posts: %u push timeouts\n", timeouts);
	CHECK(timeouts <= 5); /* 50 pushes: a few may collide with logins */
	world_free(w);
}

/*
 * Two members press "login" at the same instant, several times over: the
 * first attempts collide at the room, and the retries, jittered by the
 * client, do not (with the firmware's fixed timeouts they collided again
 * and both members were told their login timed out).  Then both post at
 * the same instant: both posts are delivered.
 */
static void test_together(void)
{
	unsigned logins = 0, timeouts = 0, delivered = 0;
	for (unsigned round = 0; round < 6; round++) {
		struct world *w = mk_world(SEED + 100 + round);
		int rd = world_add_roomd(w, "roomd", NULL);
		CHECK_EQ(world_add_room(w, rd, "Pair", NULL), 0);
		const uint8_t *rp = world_room_pub(w, rd, 0);
		int c[2];
		c[0] = world_add_client(w, "left", NULL);
		c[1] = world_add_client(w, "right", NULL);
		for (int i = 0; i < 2; i++)
			CHECK_EQ(world_client_add_room(w, c[i], rd, 0), ERR_OK);
		world_run_for(w, 1000);
		for (int i = 0; i < 2; i++)
			CHECK_EQ(client_login(world_client(w, c[i]), rp, "hello", world_now_ms(w)),
			         ERR_OK);
		for (int i = 0; i < 2; i++) {
			struct want x = {c[i], CLIENT_EV_LOGIN, rp, 1};
			struct want y = {c[i], CLIENT_EV_LOGIN_TIMEOUT, rp, 1};
			for (int t = 0; t < 1200 && !have(w, &x) && !have(w, &y); t++)
				world_run_for(w, 100);
			logins += have(w, &x);
			timeouts += have(w, &y);
		}
		uint32_t id;
		for (int i = 0; i < 2; i++)
			CHECK_EQ(client_post(world_client(w, c[i]), rp, "same time", 9,
			                     world_now_ms(w), &id),
			         ERR_OK);
		for (int i = 0; i < 2; i++)
			delivered += wait_for(w, c[i], CLIENT_EV_DELIVERED, rp, 1, 120000);
		world_free(w);
	}
	printf("test_world: 6 pairs together: %u logins, %u timeouts, %u posts delivered\n", logins,
	       timeouts, delivered);
	CHECK_EQ(logins, 12);
	CHECK_EQ(timeouts, 0);
	CHECK_EQ(delivered, 12);
}

static void test_two_rooms(void)
{
	struct world *w = mk_world(SEED + 4);
	int rd = world_add_roomd(w, "roomd", NULL);
	CHECK_EQ(world_add_room(w, rd, "North", NULL), 0);
	CHECK_EQ(world_add_room(w, rd, "South", NULL), 1);
	int a = world_add_client(w, "alice", NULL);
	int b = world_add_client(w, "bob", NULL);
	const uint8_t *n = world_room_pub(w, rd, 0), *s = world_room_pub(w, rd, 1);
	char buf[512];

	CHECK_EQ(world_room_advert(w, rd, 0, true), ERR_OK);
	CHECK_EQ(world_room_advert(w, rd, 1, true), ERR_OK);
	world_run_for(w, 10000);
	CHECK_EQ(login(w, a, n, "hello"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(login(w, a, s, "password"), ACL_ROLE_ADMIN);
	CHECK_EQ(login(w, b, n, "hello"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(login(w, b, s, "hello"), ACL_ROLE_READ_WRITE);
	CHECK(post(w, b, n, "north 1"));
	CHECK(post(w, b, s, "south 1"));
	CHECK(post(w, b, n, "north 2"));
	CHECK(wait_for(w, a, CLIENT_EV_POST, n, 2, 60000));
	CHECK(wait_for(w, a, CLIENT_EV_POST, s, 1, 60000));
	world_run_for(w, 20000);
	posts_of(w, a, n, buf, sizeof(buf));
	CHECK_STR(buf, "north 1|north 2");
	posts_of(w, a, s, buf, sizeof(buf));
	CHECK_STR(buf, "south 1");
	CHECK_EQ(post_count(w, rd, 0), 2);
	CHECK_EQ(post_count(w, rd, 1), 1);
	world_free(w);
}

static void test_restart(void)
{
	char db[] = "/tmp/test_world_XXXXXX";
	int fd = mkstemp(db);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	unlink(db);

	struct world *w = mk_world(SEED + 5);
	int rd = world_add_roomd(w, "roomd", db);
	CHECK(rd >= 0);
	CHECK_EQ(world_add_room(w, rd, "Durable", NULL), 0);
	int a = world_add_client(w, "alice", NULL);
	int b = world_add_client(w, "bob", NULL);
	const uint8_t *rp = world_room_pub(w, rd, 0);
	char buf[512];

	CHECK_EQ(world_room_cmd(w, rd, 0, "set guest.password opensesame", buf, sizeof(buf)),
	         ERR_OK);
	CHECK_EQ(world_room_advert(w, rd, 0, true), ERR_OK);
	world_run_for(w, 10000);
	CHECK_EQ(login(w, a, rp, "opensesame"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(login(w, b, rp, "opensesame"), ACL_ROLE_READ_WRITE);
	CHECK(post(w, a, rp, "one"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, rp, 1, 60000));

	CHECK_EQ(world_node_set_up(w, b, false), ERR_OK);
	CHECK(post(w, a, rp, "two"));
	CHECK(post(w, a, rp, "three"));
	/* the daemon restarts: rooms and store closed and reopened */
	CHECK_EQ(world_roomd_restart(w, rd), ERR_OK);
	CHECK_EQ(post_count(w, rd, 0), 3);
	CHECK_STR(world_room(w, rd, 0)->set.guest_password, "opensesame");
	CHECK(room_member_find(world_room(w, rd, 0), world_node_pub(w, b)) != NULL);
	world_run_for(w, 10000);
	CHECK(post(w, a, rp, "four")); /* alice is still a member: no new login needed */

	CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
	CHECK_EQ(login(w, b, rp, "opensesame"), ACL_ROLE_READ_WRITE);
	CHECK(wait_for(w, b, CLIENT_EV_POST, rp, 4, 120000));
	world_run_for(w, 30000);
	posts_of(w, b, rp, buf, sizeof(buf));
	CHECK_STR(buf, "one|two|three|four");
	CHECK_EQ(post_count(w, rd, 0), 4);
	world_free(w);
	unlink(db);
	char side[64];
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
}

/* The same seed gives the same run, to the millisecond. */
static uint64_t trace_of(uint64_t seed)
{
	struct world *w = mk_world(seed);
	int rd = world_add_roomd(w, "roomd", NULL);
	world_add_room(w, rd, "Echo", NULL);
	int c[4];
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "c%d", i);
		c[i] = world_add_client(w, name, NULL);
		world_client_add_room(w, c[i], rd, 0);
	}
	const uint8_t *rp = world_room_pub(w, rd, 0);
	/* staggered: firmware radios that start at the same instant collide,
	 * and their retries (fixed timeouts) collide again */
	for (int i = 0; i < 4; i++) {
		client_login(world_client(w, c[i]), rp, "hello", world_now_ms(w));
		world_run_for(w, 3000);
	}
	world_run_for(w, 5000);
	for (int i = 0; i < 4; i++) {
		uint32_t id;
		char t[8];
		snprintf(t, sizeof(t), "x%d", i);
		client_post(world_client(w, c[i]), rp, t, strlen(t), world_now_ms(w), &id);
		world_run_for(w, 3000);
	}
	world_run_for(w, 60000);
	size_t n;
	const struct world_event *ev = world_events(w, &n);
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (ev[i].t_ms * 131 + ev[i].type * 7 + (uint64_t)ev[i].node +
		          ((uint64_t)ev[i].author[0] << 40))) *
		    1099511628211ULL;
	struct chan_stats cs;
	world_chan_stats(w, &cs);
	h ^= cs.tx * 1000003ULL + cs.airtime_us;
	/* everyone got the three other posts */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(world_event_count(w, c[i], CLIENT_EV_POST, rp), 3);
	world_free(w);
	return h;
}

/* A firmware radio that finds the channel busy looks again 120-360 ms later
 * and, busy for more than 4 s, transmits anyway (Dispatcher::checkSend,
 * getCADFailMaxDuration): on SF12 an advert is ~8 s on the air, and a
 * second node's advert goes out over it. */
struct fw_tx {
	int a_radio, b_radio;
	uint64_t a_start, a_end, b_start;
};

static void fw_tx_hook(void *ctx, struct world *w, const struct chan_tx_report *r)
{
	struct fw_tx *x = ctx;
	(void)w;
	if (r->sender == x->a_radio && !x->a_end) {
		x->a_start = r->start_us;
		x->a_end = r->end_us;
	} else if (r->sender == x->b_radio && !x->b_start)
		x->b_start = r->start_us;
}

static void test_fw_busy_max(void)
{
	struct world_cfg cfg;
	world_cfg_defaults(&cfg);
	cfg.seed = SEED + 9;
	cfg.lp = (struct lora_params){869618000u, 62500u, 12, 5, 0};
	struct world *w = world_new(&cfg);
	CHECK(w != NULL);
	int a = world_add_client(w, "alice", NULL), b = world_add_client(w, "bob", NULL);
	struct fw_tx x = {.a_radio = world_radio_id(w, a), .b_radio = world_radio_id(w, b)};
	world_set_tx_hook(w, fw_tx_hook, &x);
	world_run_for(w, 1000);
	CHECK_EQ(client_advert(world_client(w, a), true, world_now_ms(w)), ERR_OK);
	world_run_for(w, 500);
	CHECK_EQ(client_advert(world_client(w, b), true, world_now_ms(w)), ERR_OK);
	world_run_for(w, 30000);
	CHECK(x.a_end - x.a_start > 6000000); /* long enough to show it */
	CHECK(x.b_start > x.a_start + 4000000);
	CHECK(x.b_start < x.a_end);
	struct world_node_stats st;
	CHECK_EQ(world_node_stats(w, b, &st), ERR_OK);
	CHECK_EQ(st.radio.busy_timeouts, 1);
	CHECK(st.radio.fw_retries >= 11); /* 4 s in looks 120-480 ms apart */
	world_free(w);
}

static void test_determinism(void)
{
	uint64_t a = trace_of(SEED + 6), b = trace_of(SEED + 6), c = trace_of(SEED + 7);
	CHECK_EQ(a, b);
	CHECK(a != c);
}

int main(void)
{
	log_set_level(LOG_ERR);
	if (crypto_init())
		return 1;
	printf("test_world: seed %u\n", SEED);
	test_advert();
	test_logins_and_posts();
	test_catch_up();
	test_catch_up_repeater();
	test_brief_outage();
	test_many_return();
	test_two_rooms();
	test_together();
	test_restart();
	test_fw_busy_max();
	test_determinism();
	return harness_done("test_world");
}
