/*
 * test_push.c - the push engine with stock firmware clients, in virtual time
 * (src/sim/world.c; clients with client_cfg.stock: they show every push
 * their duplicate table lets through, as BaseChatMesh does).
 *
 * Stories: the room killed (SIGKILL) at random moments around pushes and
 * their ACKs, 100 times: every post shown once, none twice; a member that
 * never transmits after a restart still receives new posts; the route kept
 * after push timeouts; the author's ACK before any push; no repeated copy
 * of a push; a banned key gets nothing; forged-ACK timing from TxDone; the
 * air a silent member can cost.  Every run is seeded; the seed is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "proto/packet.h"
#include "room/cmd.h"
#include "room/room.h"
#include "sim/world.h"
#include "store/store.h"
#include "tmpdb.h"
#include "util/err.h"
#include "util/log.h"

#define SEED 20261207u

static struct world *mk_world(uint64_t seed)
{
	struct world_cfg cfg;
	world_cfg_defaults(&cfg);
	cfg.seed = seed;
	struct world *w = world_new(&cfg);
	CHECK(w != NULL);
	return w;
}

/* A stock firmware client (BaseChatMesh). */
static int add_stock(struct world *w, const char *name)
{
	struct client_cfg cc;
	client_cfg_defaults(&cc);
	snprintf(cc.name, sizeof(cc.name), "%s", name);
	cc.stock = true;
	int n = world_add_client(w, name, &cc);
	CHECK(n >= 0);
	return n;
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

struct want {
	int node;
	enum client_event_type type;
	const uint8_t *room;
	size_t count;
};

static bool have(struct world *w, void *ctx)
{
	const struct want *x = ctx;
	return world_event_count(w, x->node, x->type, x->room) >= x->count;
}

static bool wait_for(struct world *w, int node, enum client_event_type type, const uint8_t *room,
                     size_t count, uint64_t max_ms)
{
	struct want x = {node, type, room, count};
	return world_run_until_pred(w, have, &x, max_ms);
}

/* A room on a file database, advertised, with members logged in. */
struct story {
	struct world *w;
	char db[64];
	int rd;
	const uint8_t *rp;
};

static void story_open(struct story *s, uint64_t seed)
{
	s->w = mk_world(seed);
	snprintf(s->db, sizeof(s->db), "/tmp/test_push_XXXXXX");
	int fd = mkstemp(s->db);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	tmpdb_remove(s->db);
	s->rd = world_add_roomd(s->w, "roomd", s->db);
	CHECK(s->rd >= 0);
	CHECK_EQ(world_add_room(s->w, s->rd, "Push", NULL), 0);
	s->rp = world_room_pub(s->w, s->rd, 0);
}

static void story_close(struct story *s)
{
	world_free(s->w);
	tmpdb_remove(s->db);
}

/* Makes every client a contact of the room and lets the air settle. */
static void story_contacts(struct story *s)
{
	for (int i = 0; i < world_node_count(s->w); i++)
		if (world_node_kind(s->w, i) == WORLD_CLIENT)
			CHECK_EQ(world_client_add_room(s->w, i, s->rd, 0), ERR_OK);
}

/* Two members log in read-write, 3 s apart (the stories' usual start). */
static void login_pair(struct story *s, int a, int b)
{
	CHECK_EQ(login(s->w, a, s->rp, "hello"), ACL_ROLE_READ_WRITE);
	world_run_for(s->w, 3000);
	CHECK_EQ(login(s->w, b, s->rp, "hello"), ACL_ROLE_READ_WRITE);
}

/* n more stock members o0, o1, ... (before story_contacts). */
static void add_others(struct world *w, int *o, int n)
{
	for (int i = 0; i < n; i++) {
		char name[8];
		snprintf(name, sizeof(name), "o%d", i);
		o[i] = add_stock(w, name);
	}
}

/* a logs in, then each of o[0..n) 3 s after the one before. */
static void login_all(struct story *s, int a, const int *o, int n)
{
	CHECK_EQ(login(s->w, a, s->rp, "hello"), ACL_ROLE_READ_WRITE);
	for (int i = 0; i < n; i++) {
		world_run_for(s->w, 3000);
		CHECK_EQ(login(s->w, o[i], s->rp, "hello"), ACL_ROLE_READ_WRITE);
	}
}

/* c, caught up on a first post, is away while a posts n more, comes back
 * after away_ms and logs in (the catch-up stories' start). */
static void away_while_posting(struct story *s, int a, int c, int n, uint64_t away_ms)
{
	struct world *w = s->w;
	CHECK(post(w, a, s->rp, "warm up"));
	CHECK(wait_for(w, c, CLIENT_EV_POST, s->rp, 1, 60000));
	CHECK_EQ(world_node_set_up(w, c, false), ERR_OK);
	for (int i = 0; i < n; i++) {
		char t[8];
		snprintf(t, sizeof(t), "p%d", i);
		CHECK(post(w, a, s->rp, t));
	}
	world_run_for(w, away_ms);
	CHECK_EQ(world_node_set_up(w, c, true), ERR_OK);
	CHECK_EQ(login(w, c, s->rp, "hello"), ACL_ROLE_READ_WRITE);
}

/* ---- 18.1, 18.2: SIGKILL around ACKs ---- */

static void test_kill_around_acks(uint64_t seed, bool verbose)
{
	struct story s;
	story_open(&s, seed);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob"), c = add_stock(w, "carol");
	story_contacts(&s);
	login_pair(&s, a, b);
	world_run_for(w, 3000);
	CHECK_EQ(login(w, c, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	world_run_for(w, 3000);

	/* the kill moments: xorshift from the seed */
	uint64_t x = seed;
	int posted = 0;
	for (int k = 0; k < 100; k++) {
		char t[32];
		snprintf(t, sizeof(t), "post %d", k);
		if (post(w, a, s.rp, t))
			posted++;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* 0..5 s after Delivered: before a push, during it, between it
		 * and its ACK, during the ACK, after it, at the next push */
		world_run_for(w, x % 5000);
		CHECK_EQ(world_roomd_kill(w, s.rd), ERR_OK);
		world_run_for(w, 500 + (x >> 20) % 3000);
		CHECK_EQ(world_roomd_restart(w, s.rd), ERR_OK);
		world_run_for(w, 1000);
	}
	CHECK_EQ(posted, 100);
	/* bob and carol never transmit but ACK: every post reaches them once */
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 100, 600000));
	CHECK(wait_for(w, c, CLIENT_EV_POST, s.rp, 100, 600000));
	world_run_for(w, 120000);
	size_t nb = world_event_count(w, b, CLIENT_EV_POST, s.rp);
	size_t nc = world_event_count(w, c, CLIENT_EV_POST, s.rp);
	unsigned tb = world_posts_shown_twice(w, b), tc = world_posts_shown_twice(w, c);
	CHECK_EQ(nb, 100);
	CHECK_EQ(nc, 100);
	CHECK_EQ(tb, 0);
	CHECK_EQ(tc, 0);
	CHECK_EQ(world_posts_shown_twice(w, a), 0);
	if (verbose || nb != 100 || nc != 100 || tb || tc)
		printf("test_push: seed %llu, 100 SIGKILLs: bob shows %zu posts (%u twice), carol "
		       "%zu (%u twice)\n",
		       (unsigned long long)seed, nb, tb, nc, tc);
	story_close(&s);
}

/* ---- what the room put on the air ---- */

struct txrec {
	uint64_t t_ms; /* end of the transmission */
	unsigned type; /* PKT_* */
	bool flood;
	uint8_t dest; /* first payload byte: the recipient's hash (datagrams, PATH) */
	uint8_t hash[PKT_HASH_SIZE];
};

static struct txrec txlog[4096];
static size_t n_txlog;
static int tx_radio = -1;

static void tx_hook(void *ctx, struct world *w, const struct chan_tx_report *rep)
{
	struct pkt p;
	(void)ctx;
	(void)w;
	if (rep->sender != tx_radio || n_txlog == sizeof(txlog) / sizeof(txlog[0]) ||
	    pkt_decode(&p, rep->frame, rep->len) != ERR_OK)
		return;
	struct txrec *x = &txlog[n_txlog++];
	x->t_ms = rep->end_us / 1000;
	x->type = pkt_type(&p);
	x->flood = pkt_is_flood(&p);
	x->dest = p.payload_len ? p.payload[0] : 0;
	pkt_hash(&p, x->hash);
}

static void txlog_start(struct story *s)
{
	n_txlog = 0;
	tx_radio = world_radio_id(s->w, s->rd);
	world_set_tx_hook(s->w, tx_hook, NULL);
}

/* The first transmission of the room to dest of one of two types after t_ms. */
static const struct txrec *txlog_first(uint64_t t_ms, uint8_t dest, unsigned t1, unsigned t2)
{
	for (size_t i = 0; i < n_txlog; i++)
		if (txlog[i].t_ms > t_ms && txlog[i].dest == dest &&
		    (txlog[i].type == t1 || txlog[i].type == t2))
			return &txlog[i];
	return NULL;
}

static struct room_member *member_of(struct story *s, int c)
{
	return room_member_find(world_room(s->w, s->rd, 0), world_node_pub(s->w, c));
}

struct timeouts_at_least {
	struct story *s;
	uint32_t n;
};

static bool timeouts_reached(struct world *w, void *ctx)
{
	struct timeouts_at_least *x = ctx;
	return world_room(w, x->s->rd, 0)->stats.push_timeouts >= x->n;
}

/* ---- 12.1: the route survives push timeouts ---- */

static void test_route_kept(void)
{
	struct story s;
	story_open(&s, SEED + 2);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	txlog_start(&s);
	login_pair(&s, a, b);
	world_run_for(w, 3000);
	struct room_member *mb = member_of(&s, b);
	CHECK(mb && mb->out_path_len != MESH_NO_PATH);
	uint8_t bh = world_node_pub(w, b)[0];

	/* bob out of reach: a round of pushes of a post times out (the room
	 * used to forget the route after the third) */
	CHECK_EQ(world_node_set_up(w, b, false), ERR_OK);
	CHECK(post(w, a, s.rp, "while bob is away"));
	struct timeouts_at_least x = {&s, world_room(w, s.rd, 0)->stats.push_timeouts + 3};
	CHECK(world_run_until_pred(w, timeouts_reached, &x, 120000));
	mb = member_of(&s, b);
	CHECK(mb && mb->out_path_len != MESH_NO_PATH); /* the route is kept */
	x.n++;
	CHECK(world_run_until_pred(w, timeouts_reached, &x, 120000));
	world_run_for(w, 1000);

	/* back, bob logs in along its route: answered along the route, and
	 * the next push goes along it too */
	CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
	uint64_t t0 = world_now_ms(w);
	struct client_contact *ct = client_contact_find(world_client(w, b), s.rp);
	CHECK(ct && ct->out_path_len != MESH_NO_PATH); /* bob's login goes direct */
	CHECK_EQ(login(w, b, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	const struct txrec *resp = txlog_first(t0, bh, PKT_RESPONSE, PKT_PATH);
	CHECK(resp && resp->type == PKT_RESPONSE && !resp->flood);
	CHECK(post(w, a, s.rp, "bob is back"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 2, 60000));
	const struct txrec *push = txlog_first(t0, bh, PKT_TXT_MSG, PKT_TXT_MSG);
	CHECK(push && !push->flood);
	world_run_for(w, 60000);
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_POST, s.rp), 2);
	CHECK_EQ(world_posts_shown_twice(w, b), 0);
	world_set_tx_hook(w, NULL, NULL);
	story_close(&s);
}

/* ---- 12.2: "Delivered" first ---- */

static void test_ack_first(void)
{
	struct story s;
	story_open(&s, SEED + 3);
	struct world *w = s.w;
	int a = add_stock(w, "alice");
	int o[3];
	add_others(w, o, 3);
	story_contacts(&s);
	txlog_start(&s);
	login_all(&s, a, o, 3);
	world_run_for(w, 5000);
	uint8_t ah = world_node_pub(w, a)[0];
	for (int k = 0; k < 5; k++) {
		char t[16];
		snprintf(t, sizeof(t), "p%d", k);
		size_t from = n_txlog;
		CHECK(post(w, a, s.rp, t));
		/* the first thing the room sent after the post is alice's ACK */
		bool ack_first = false;
		for (size_t i = from; i < n_txlog; i++) {
			if (txlog[i].type == PKT_ACK ||
			    (txlog[i].type == PKT_PATH && txlog[i].dest == ah)) {
				ack_first = true;
				break;
			}
			if (txlog[i].type == PKT_TXT_MSG)
				break;
		}
		CHECK(ack_first);
		world_run_for(w, 15000);
	}
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(world_event_count(w, o[i], CLIENT_EV_POST, s.rp), 5);
		CHECK_EQ(world_posts_shown_twice(w, o[i]), 0);
	}
	world_set_tx_hook(w, NULL, NULL);
	story_close(&s);
}

/* ---- a member's first push: its ACK is not met by one of ours ---- */

static int ack_author_radio = -1, ack_room_radio = -1;
static uint64_t room_tx[256][2], ack_tx[256][2];
static size_t n_room_tx, n_ack_tx;

/* Records the room's transmissions and the ACKs of members other than the author. */
static void ack_hook(void *ctx, struct world *w, const struct chan_tx_report *rep)
{
	struct pkt p;
	(void)ctx;
	(void)w;
	if (rep->sender == ack_room_radio) {
		if (n_room_tx < 256) {
			room_tx[n_room_tx][0] = rep->start_us;
			room_tx[n_room_tx++][1] = rep->end_us;
		}
		return;
	}
	if (rep->sender == ack_author_radio || pkt_decode(&p, rep->frame, rep->len) != ERR_OK ||
	    (pkt_type(&p) != PKT_ACK && pkt_type(&p) != PKT_PATH) || n_ack_tx == 256)
		return;
	ack_tx[n_ack_tx][0] = rep->start_us;
	ack_tx[n_ack_tx++][1] = rep->end_us;
}

/* Member ACKs on the air when the room keyed up (the room loses them: it does
 * not hear while it sends, and a radio that starts during them blanks them). */
static unsigned acks_met(void)
{
	unsigned n = 0;
	for (size_t i = 0; i < n_ack_tx; i++)
		for (size_t j = 0; j < n_room_tx; j++)
			if (room_tx[j][0] >= ack_tx[i][0] && room_tx[j][0] < ack_tx[i][1]) {
				n++;
				break;
			}
	return n;
}

/*
 * Bob, carol and dave have just logged in (none has ACKed a push in this
 * run) and alice posts twice; her second post comes in at a sweep of
 * moments (10 ms apart) across their first pushes.  A member's ACK of a
 * push is answered 200 ms after it, or later from a client that deferred
 * behind alice's post; the room's ACK to alice, 300 ms after her post,
 * must not key up on top of it (the room would lose the ACK and send a new
 * copy, which a firmware client shows twice).
 */
static void test_first_push_ack(void)
{
	unsigned met = 0, acks = 0, twice = 0;
	for (unsigned d = 600; d <= 2400; d += 10) {
		struct story s;
		story_open(&s, SEED + 20 + d);
		struct world *w = s.w;
		int a = add_stock(w, "alice"), b = add_stock(w, "bob");
		int c = add_stock(w, "carol"), e = add_stock(w, "dave");
		story_contacts(&s);
		login_pair(&s, a, b);
		world_run_for(w, 3000);
		login_pair(&s, c, e);
		world_run_for(w, 3000);
		ack_author_radio = world_radio_id(w, a);
		ack_room_radio = world_radio_id(w, s.rd);
		n_room_tx = n_ack_tx = 0;
		world_set_tx_hook(w, ack_hook, NULL);
		uint32_t id = 0;
		CHECK(post(w, a, s.rp, "first"));
		world_run_for(w, d);
		CHECK_EQ(client_post(world_client(w, a), s.rp, "second", 6, world_now_ms(w), &id),
		         ERR_OK);
		CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 2, 60000));
		CHECK(wait_for(w, c, CLIENT_EV_POST, s.rp, 2, 60000));
		CHECK(wait_for(w, e, CLIENT_EV_POST, s.rp, 2, 60000));
		world_run_for(w, 20000);
		world_set_tx_hook(w, NULL, NULL);
		met += acks_met();
		acks += (unsigned)n_ack_tx;
		twice += world_posts_shown_twice(w, b) + world_posts_shown_twice(w, c) +
		         world_posts_shown_twice(w, e);
		story_close(&s);
	}
	/* (a post shown twice here comes from alice's post and a member's ACK
	 * keying up within one carrier-sense time of each other: no room can
	 * help that) */
	printf("test_push: first pushes: members sent %u ACKs, the room keyed up on %u, %u posts "
	       "shown twice\n",
	       acks, met, twice);
	CHECK_EQ(met, 0);
}

/* ---- 12.6: an advert does not meet a member's ACK ---- */

/*
 * The room's zero-hop advert (the one after a start, or `advert') falls due
 * at a sweep of moments (10 ms apart) while carol catches up 4 posts: it
 * never keys up on top of carol's ACK of a push (interop round 2 after a
 * SIGKILL: the advert 12 ms after her ACK, the room lost it and pushed the
 * post again, which the firmware client showed twice).
 */
static void test_advert_waits(void)
{
	unsigned met = 0, twice = 0;
	for (unsigned d = 0; d <= 1200; d += 10) {
		struct story s;
		story_open(&s, SEED + 3000 + d);
		struct world *w = s.w;
		int a = add_stock(w, "alice"), c = add_stock(w, "carol");
		story_contacts(&s);
		login_pair(&s, a, c);
		away_while_posting(&s, a, c, 4, 30000);
		ack_author_radio = world_radio_id(w, a);
		ack_room_radio = world_radio_id(w, s.rd);
		n_room_tx = n_ack_tx = 0;
		world_set_tx_hook(w, ack_hook, NULL);
		world_room(w, s.rd, 0)->pending_zero_hop_ms = world_now_ms(w) + 1000 + d;
		CHECK(wait_for(w, c, CLIENT_EV_POST, s.rp, 5, 60000));
		world_run_for(w, 20000);
		world_set_tx_hook(w, NULL, NULL);
		met += acks_met();
		twice += world_posts_shown_twice(w, c);
		story_close(&s);
	}
	printf("test_push: advert during a catch-up: the room keyed up on %u of carol's ACKs, %u "
	       "posts shown twice\n",
	       met, twice);
	CHECK_EQ(met, 0);
	CHECK_EQ(twice, 0);
}

/* ---- 12.2: a silent gap in a long run of pushes ---- */

static uint64_t air_tx[1024][2];
static size_t n_air_tx;

static void air_hook(void *ctx, struct world *w, const struct chan_tx_report *rep)
{
	(void)ctx;
	(void)w;
	if (n_air_tx < 1024) {
		air_tx[n_air_tx][0] = rep->start_us / 1000;
		air_tx[n_air_tx++][1] = rep->end_us / 1000;
	}
}

/* The longest stretch of air in air_tx without a silence of `quiet` ms,
 * and how many such silences there were. */
static uint64_t air_longest(uint64_t quiet, unsigned *gaps)
{
	uint64_t longest = 0, from = n_air_tx ? air_tx[0][0] : 0, end = from;
	*gaps = 0;
	for (size_t i = 0; i < n_air_tx; i++) {
		if (air_tx[i][0] >= end + quiet) {
			(*gaps)++;
			from = air_tx[i][0];
		}
		if (air_tx[i][1] > end)
			end = air_tx[i][1];
		if (end - from > longest)
			longest = end - from;
	}
	return longest;
}

/*
 * Alice posts once and the room pushes the post to 10 members, one exchange
 * after another (~10 s of air on EU-SF8 with only the clients' 200 ms holes
 * between them).  A firmware client waiting to post looks again 120-360 ms
 * after it found the channel busy, so it needs a silence longer than 360 ms
 * to get on the air safely: after at most ~3 s of exchanges (plus the one
 * under way) the room leaves one of at least 400 ms.  Every member still
 * gets the post once.
 */
static void test_push_gap(void)
{
	struct story s;
	story_open(&s, SEED + 12);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), o[10];
	add_others(w, o, 10);
	story_contacts(&s);
	login_all(&s, a, o, 10);
	CHECK(post(w, a, s.rp, "warm up")); /* every member answers a push first */
	for (int i = 0; i < 10; i++)
		CHECK(wait_for(w, o[i], CLIENT_EV_POST, s.rp, 1, 60000));
	world_run_for(w, 10000);
	n_air_tx = 0;
	world_set_tx_hook(w, air_hook, NULL);
	CHECK(post(w, a, s.rp, "to ten"));
	for (int i = 0; i < 10; i++)
		CHECK(wait_for(w, o[i], CLIENT_EV_POST, s.rp, 2, 60000));
	world_run_for(w, 5000);
	world_set_tx_hook(w, NULL, NULL);
	/* the longest stretch of air without a silence of 400 ms */
	unsigned gaps;
	uint64_t longest = air_longest(400, &gaps);
	printf("test_push: 10 members: %zu transmissions, longest stretch without a 400 ms "
	       "silence %llu ms, %u such silences\n",
	       n_air_tx, (unsigned long long)longest, gaps);
	CHECK(longest <= 3000 + 1500);
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(world_event_count(w, o[i], CLIENT_EV_POST, s.rp), 2);
		CHECK_EQ(world_posts_shown_twice(w, o[i]), 0);
	}
	story_close(&s);
}

/*
 * The gap is for a conversation under way: carol, back after two minutes
 * away, catches up on 10 posts nobody has added to since (~10 s of push
 * exchanges on EU-SF8) with no 400 ms silence among them (each cost ~10 %
 * of a catch-up, bench_catchup); a new post brings the gaps back
 * (test_push_gap).
 */
static void test_catchup_no_gap(void)
{
	struct story s;
	story_open(&s, SEED + 13);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), c = add_stock(w, "carol");
	story_contacts(&s);
	login_pair(&s, a, c);
	away_while_posting(&s, a, c, 10, 120000);
	n_air_tx = 0;
	world_set_tx_hook(w, air_hook, NULL);
	CHECK(wait_for(w, c, CLIENT_EV_POST, s.rp, 11, 60000));
	world_set_tx_hook(w, NULL, NULL);
	unsigned gaps;
	uint64_t longest = air_longest(400, &gaps);
	printf("test_push: carol catches up 10 posts: %zu transmissions, %u silences of 400 ms, "
	       "%llu ms of air without one\n",
	       n_air_tx, gaps, (unsigned long long)longest);
	CHECK_EQ(gaps, 0);
	CHECK(n_air_tx >= 20);
	CHECK_EQ(world_posts_shown_twice(w, c), 0);
	story_close(&s);
}

/* ---- 12.2: no push keyed up with the author's next post ---- */

struct more {
	int node;
	const uint8_t *room;
	size_t delivered;
};

static bool delivered_more(struct world *w, void *ctx)
{
	const struct more *x = ctx;
	return world_event_count(w, x->node, CLIENT_EV_DELIVERED, x->room) > x->delivered;
}

/*
 * A firmware author with two messages to send sends the second the moment
 * the room's ACK of the first is in.  The room, with three members to push
 * the first one to, used to key up its first push right after that ACK,
 * on top of the second post: both were lost and the post went again ~5 s
 * later (every such post in bench_delivered).  Ten pairs: every second post
 * is delivered by its first attempt, and nobody is shown a post twice.
 */
static void test_post_after_ack(void)
{
	struct story s;
	story_open(&s, SEED + 14);
	struct world *w = s.w;
	struct client_cfg cc;
	client_cfg_defaults(&cc);
	snprintf(cc.name, sizeof(cc.name), "alice");
	cc.stock = true;
	cc.op_gap_ms = 0; /* the firmware sends at once */
	int a = world_add_client(w, "alice", &cc), o[3];
	add_others(w, o, 3);
	story_contacts(&s);
	login_all(&s, a, o, 3);
	CHECK(post(w, a, s.rp, "warm up"));
	world_run_for(w, 20000);
	unsigned first = 0, prompt = 0;
	for (int k = 0; k < 10; k++) {
		char t[16];
		uint32_t id;
		struct more x = {a, s.rp, world_event_count(w, a, CLIENT_EV_DELIVERED, s.rp)};
		snprintf(t, sizeof(t), "one %d", k);
		uint64_t t1 = world_now_ms(w);
		CHECK_EQ(client_post(world_client(w, a), s.rp, t, strlen(t), t1, &id), ERR_OK);
		CHECK(world_run_until_pred(w, delivered_more, &x, 60000));
		x.delivered++;
		uint64_t t2 = world_now_ms(w);
		snprintf(t, sizeof(t), "two %d", k);
		CHECK_EQ(client_post(world_client(w, a), s.rp, t, strlen(t), t2, &id), ERR_OK);
		CHECK(world_run_until_pred(w, delivered_more, &x, 60000));
		const struct world_event *ev = world_event_last(w, a, CLIENT_EV_DELIVERED, s.rp);
		first += ev && ev->attempt == 0;
		/* and "Delivered" as soon as for the first post, which met an idle
		 * channel: no push of the first went between the second and its ACK */
		prompt += world_now_ms(w) - t2 <= t2 - t1 + 100;
		world_run_for(w, 15000);
	}
	printf("test_push: a second post sent as the first one's ACK came in: %u of 10 delivered "
	       "by the first attempt, %u of 10 as soon as the first\n",
	       first, prompt);
	CHECK_EQ(first, 10);
	CHECK_EQ(prompt, 10);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(world_event_count(w, o[i], CLIENT_EV_POST, s.rp), 21);
		CHECK_EQ(world_posts_shown_twice(w, o[i]), 0);
	}
	story_close(&s);
}

/* ---- 12.3: no copy of a push twice ---- */

static void test_no_repeated_copy(void)
{
	struct story s;
	story_open(&s, SEED + 4);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	txlog_start(&s);
	login_pair(&s, a, b);
	world_run_for(w, 3000);
	/* bob away for two rounds of pushes (8 copies), then back by a login */
	CHECK_EQ(world_node_set_up(w, b, false), ERR_OK);
	CHECK(post(w, a, s.rp, "one"));
	struct timeouts_at_least x = {&s, world_room(w, s.rd, 0)->stats.push_timeouts + 6};
	CHECK(world_run_until_pred(w, timeouts_reached, &x, 600000));
	CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
	CHECK_EQ(login(w, b, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 1, 120000));
	world_run_for(w, 30000);
	/* every push to bob was a packet of its own */
	uint8_t bh = world_node_pub(w, b)[0];
	unsigned pushes = 0, repeats = 0;
	for (size_t i = 0; i < n_txlog; i++) {
		if (txlog[i].type != PKT_TXT_MSG || txlog[i].dest != bh)
			continue;
		pushes++;
		for (size_t j = 0; j < i; j++)
			if (txlog[j].type == PKT_TXT_MSG &&
			    memcmp(txlog[j].hash, txlog[i].hash, PKT_HASH_SIZE) == 0)
				repeats++;
	}
	CHECK(pushes >= 7);
	CHECK_EQ(repeats, 0);
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_POST, s.rp), 1);
	CHECK_EQ(world_posts_shown_twice(w, b), 0);
	printf("test_push: bob away: %u pushes of one post, %u repeated copies\n", pushes, repeats);
	world_set_tx_hook(w, NULL, NULL);
	story_close(&s);
}

/* ---- 18.2, 18.4: after a restart, members still logged in get new posts ---- */

static uint64_t first_post_after(struct world *w, int c, const uint8_t *room, uint64_t t)
{
	size_t n;
	const struct world_event *ev = world_events(w, &n);
	for (size_t i = 0; i < n; i++)
		if (ev[i].node == c && ev[i].type == CLIENT_EV_POST && ev[i].t_ms >= t &&
		    memcmp(ev[i].room, room, 32) == 0)
			return ev[i].t_ms;
	return 0;
}

static void resume_story(bool kill, uint64_t idle_ms)
{
	struct story s;
	story_open(&s, SEED + 5 + kill);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	login_pair(&s, a, b);
	world_run_for(w, 3000);
	CHECK(post(w, a, s.rp, "before"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 1, 30000));
	world_run_for(w, 5000);
	if (kill) {
		CHECK_EQ(world_roomd_kill(w, s.rd), ERR_OK);
		world_run_for(w, 2000);
	}
	CHECK_EQ(world_roomd_restart(w, s.rd), ERR_OK);
	uint64_t t0 = world_now_ms(w);
	world_run_for(w, idle_ms);
	/* bob has not transmitted since the restart; alice posts */
	uint64_t t1 = world_now_ms(w);
	CHECK(post(w, a, s.rp, "after"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 2, 120000));
	uint64_t t2 = first_post_after(w, b, s.rp, t1);
	CHECK(t2 != 0);
	if (t2)
		printf("test_push: %s, post %llu s after the restart: bob shows it %llu ms after "
		       "the post (%llu ms after the restart)\n",
		       kill ? "SIGKILL" : "graceful stop", (unsigned long long)(t1 - t0) / 1000,
		       (unsigned long long)(t2 - t1), (unsigned long long)(t2 - t0));
	world_run_for(w, 30000);
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_POST, s.rp), 2);
	CHECK_EQ(world_posts_shown_twice(w, b), 0);
	story_close(&s);
}

/* 18.4: a clean stop writes what only memory held: bob, idle for 15 min,
 * asks for the room's status and the room stops at once; it still counts
 * as active before the stop, so bob is pushed to after the restart. */
static void test_clean_stop(void)
{
	struct story s;
	story_open(&s, SEED + 10);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	login_pair(&s, a, b);
	world_run_for(w, 15 * 60000);
	uint32_t id;
	CHECK_EQ(client_request(world_client(w, b), s.rp, REQ_GET_STATUS, world_now_ms(w), &id),
	         ERR_OK);
	struct room *r = world_room(w, s.rd, 0);
	uint32_t reqs = r->stats.requests;
	for (int i = 0; i < 5000 && r->stats.requests == reqs; i++)
		world_run_for(w, 1);
	CHECK_EQ(r->stats.requests, reqs + 1);
	CHECK_EQ(world_roomd_restart(w, s.rd), ERR_OK);
	CHECK(post(w, a, s.rp, "after a clean stop"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 1, 60000));
	CHECK_EQ(world_posts_shown_twice(w, b), 0);
	story_close(&s);
}

static void test_resume(void)
{
	resume_story(false, 0);
	resume_story(true, 0);
	resume_story(false, 8 * 60000); /* the story: 8 minutes later */
	resume_story(true, 8 * 60000);
}

/* ---- a login while a push to the member is out and past its ACK ---- */

struct push_out {
	struct story *s;
	int c;
};

static bool push_out(struct world *w, void *ctx)
{
	(void)w;
	struct push_out *x = ctx;
	struct room_member *m = member_of(x->s, x->c);
	return m && m->pending;
}

/* a and b log in, b goes away, a posts: until the push to b is out. */
static void push_to_away(struct story *s, int a, int b)
{
	login_pair(s, a, b);
	world_run_for(s->w, 3000);
	CHECK_EQ(world_node_set_up(s->w, b, false), ERR_OK);
	CHECK(post(s->w, a, s->rp, "while bob is away"));
	struct push_out x = {s, b};
	CHECK(world_run_until_pred(s->w, push_out, &x, 30000));
}

/* bob is away when a post is pushed to him and logs in again while that
 * push is still out, long after its ACK was due, with the sync point he had
 * (he never got it): he gets the post soon after his login, not once the
 * push has timed out (real-time catch-up benchmark: the first push after
 * a restart went to a resumed member away, and his login waited for its
 * 12 s flood timeout). */
static void test_login_push_out(void)
{
	struct story s;
	story_open(&s, SEED + 12);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	uint32_t to = world_room(w, s.rd, 0)->stats.push_timeouts;
	push_to_away(&s, a, b);
	world_run_for(w, 1500); /* the push is on the air and its ACK overdue */
	CHECK(member_of(&s, b)->pending);
	CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
	CHECK_EQ(login(w, b, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	uint64_t t0 = world_now_ms(w);
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 1, 60000));
	uint64_t t1 = first_post_after(w, b, s.rp, t0);
	CHECK(t1 != 0 && t1 - t0 < 2500);
	printf("test_push: bob logs in while a push to him is out: the post %llu ms after the "
	       "login\n",
	       (unsigned long long)(t1 - t0));
	CHECK_EQ(world_room(w, s.rd, 0)->stats.push_timeouts, to); /* given up, not failed */
	world_run_for(w, 30000);
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_POST, s.rp), 1);
	CHECK_EQ(world_posts_shown_twice(w, b), 0);
	story_close(&s);
}

/*
 * The copy resent unchanged after a restart (HELD_RESEND) goes out while
 * bob is still away; he logs in before it times out, with the sync point
 * he had.  A stock client moves its sync point to every post it shows, so
 * his login says he never had that post: it must be pushed, not assumed
 * held once the resent copy times out (tests/interop seed 5: carol never
 * got r1p00).
 */
static void test_login_after_resend(void)
{
	struct story s;
	story_open(&s, SEED + 15);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	push_to_away(&s, a, b);
	world_run_for(w, 1000);
	CHECK_EQ(world_roomd_kill(w, s.rd), ERR_OK);
	world_run_for(w, 1000);
	CHECK_EQ(world_roomd_restart(w, s.rd), ERR_OK);
	struct push_out x = {&s, b};
	CHECK(world_run_until_pred(w, push_out, &x, 30000)); /* the copy resent */
	world_run_for(w, 1000);
	CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
	CHECK_EQ(login(w, b, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 1, 120000));
	world_run_for(w, 30000);
	printf("test_push: bob logs in while the copy resent after a restart is out: shown %zu "
	       "time(s)\n",
	       world_event_count(w, b, CLIENT_EV_POST, s.rp));
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_POST, s.rp), 1);
	CHECK_EQ(world_posts_shown_twice(w, b), 0);
	story_close(&s);
}

/* ---- 13.10: a banned key gets nothing ---- */

static void test_banned(void)
{
	struct story s;
	story_open(&s, SEED + 8);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	txlog_start(&s);
	login_pair(&s, a, b);
	world_run_for(w, 3000);
	CHECK(post(w, a, s.rp, "before the ban"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 1, 30000));
	world_run_for(w, 5000);

	char line[100], reply[200];
	const uint8_t *bp = world_node_pub(w, b);
	int n = snprintf(line, sizeof(line), "ban ");
	for (int i = 0; i < 32; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", bp[i]);
	CHECK_EQ(world_room_cmd(w, s.rd, 0, line, reply, sizeof(reply)), ERR_OK);
	struct room_member *mb = member_of(&s, b);
	uint32_t sync0 = mb ? mb->sync_since : 0;
	uint64_t t0 = world_now_ms(w);
	uint8_t bh = bp[0];

	/* bob keeps transmitting: a request, a post; alice posts */
	uint32_t id;
	CHECK_EQ(client_request(world_client(w, b), s.rp, REQ_GET_STATUS, world_now_ms(w), &id),
	         ERR_OK);
	world_run_for(w, 20000);
	CHECK(!post(w, b, s.rp, "from a banned key"));
	CHECK(post(w, a, s.rp, "after the ban"));
	world_run_for(w, 120000);
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_STATUS, s.rp), 0);
	CHECK_EQ(world_event_count(w, b, CLIENT_EV_POST, s.rp), 1);
	CHECK(txlog_first(t0, bh, PKT_TXT_MSG, PKT_RESPONSE) == NULL);
	CHECK(txlog_first(t0, bh, PKT_PATH, PKT_PATH) == NULL);
	mb = member_of(&s, b);
	CHECK(mb && mb->sync_since == sync0);
	world_set_tx_hook(w, NULL, NULL);
	story_close(&s);
}

/* ---- 13.7: the air a member that never answers costs ---- */

static unsigned pushes_to(uint8_t dest, unsigned *floods)
{
	unsigned n = 0;
	*floods = 0;
	for (size_t i = 0; i < n_txlog; i++) {
		if (txlog[i].type != PKT_TXT_MSG || txlog[i].dest != dest)
			continue;
		n++;
		*floods += txlog[i].flood;
	}
	return n;
}

static void test_silent_member(void)
{
	struct story s;
	story_open(&s, SEED + 9);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	story_contacts(&s);
	CHECK_EQ(login(w, a, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	world_run_for(w, 3000);
	txlog_start(&s);
	uint8_t bh = world_node_pub(w, b)[0];

	/* one login, then never a word: pushes of a post for two hours */
	CHECK_EQ(login(w, b, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK_EQ(world_node_set_up(w, b, false), ERR_OK);
	CHECK(post(w, a, s.rp, "nobody answers"));
	world_run_for(w, 2 * 3600 * 1000);
	unsigned floods, pushes = pushes_to(bh, &floods);
	printf("test_push: one silent login: %u pushes (%u flooded) in 2 h\n", pushes, floods);
	CHECK(pushes >= 4 && pushes <= 12);
	CHECK(floods <= 8);
	char reply[300];
	CHECK_EQ(world_room_cmd(w, s.rd, 0, "stats-room", reply, sizeof(reply)), ERR_OK);
	CHECK(strstr(reply, "\"given_up\":1,") != NULL);
	CHECK(strstr(reply, "\"silent_air_s\":") != NULL);
	printf("test_push: stats-room %s\n", reply);

	/* a login every 10 minutes for an hour, each followed by silence: at
	 * most 24 unanswered pushes in the hour */
	n_txlog = 0;
	for (int k = 0; k < 6; k++) {
		CHECK_EQ(world_node_set_up(w, b, true), ERR_OK);
		CHECK_EQ(login(w, b, s.rp, "hello"), ACL_ROLE_READ_WRITE);
		CHECK_EQ(world_node_set_up(w, b, false), ERR_OK);
		world_run_for(w, 600000);
	}
	pushes = pushes_to(bh, &floods);
	printf("test_push: six silent logins in an hour: %u pushes (%u flooded)\n", pushes, floods);
	CHECK(pushes <= 24);
	world_set_tx_hook(w, NULL, NULL);
	story_close(&s);
}

/* 13.7, the room's total: 120 keys log in and fall silent, a post is pushed
 * to them all: the air of unanswered pushes in the hour stops near 3 %
 * (108 s), and a member that answers still gets new posts. */
static void test_silent_crowd(void)
{
	struct story s;
	story_open(&s, SEED + 11);
	struct world *w = s.w;
	int a = add_stock(w, "alice"), b = add_stock(w, "bob");
	int q[120];
	for (int i = 0; i < 120; i++) {
		char name[8];
		snprintf(name, sizeof(name), "q%d", i);
		q[i] = add_stock(w, name);
	}
	story_contacts(&s);
	login_pair(&s, a, b);
	world_run_for(w, 3000);
	CHECK(post(w, a, s.rp, "warm up"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 1, 30000));
	for (int i = 0; i < 120; i++) {
		CHECK_EQ(login(w, q[i], s.rp, "hello"), ACL_ROLE_READ_WRITE);
		CHECK_EQ(world_node_set_up(w, q[i], false), ERR_OK);
	}
	CHECK(post(w, a, s.rp, "to the crowd"));
	world_run_for(w, 50 * 60000);
	struct room *r = world_room(w, s.rd, 0);
	double air_s = (double)r->stats.push_silent_air_ms / 1000.0;
	printf("test_push: 120 silent logins: %u pushes unanswered, %.1f s of air in the hour\n",
	       r->stats.push_timeouts, air_s);
	CHECK(air_s <= 108.0 + 10.0);
	CHECK(post(w, a, s.rp, "bob still gets this"));
	CHECK(wait_for(w, b, CLIENT_EV_POST, s.rp, 3, 60000));
	CHECK_EQ(world_posts_shown_twice(w, b), 0);
	/* and a newcomer, who has answered nothing yet, is pushed to too */
	int n = add_stock(w, "newcomer");
	CHECK_EQ(world_client_add_room(w, n, s.rd, 0), ERR_OK);
	CHECK_EQ(login(w, n, s.rp, "hello"), ACL_ROLE_READ_WRITE);
	CHECK(wait_for(w, n, CLIENT_EV_POST, s.rp, 3, 120000));
	CHECK_EQ(world_posts_shown_twice(w, n), 0);
	story_close(&s);
}

int main(void)
{
	log_set_level(LOG_ERR);
	if (crypto_init())
		return 1;
	printf("test_push: seed %u\n", SEED);
	test_kill_around_acks(SEED + 1, true);
	/* PUSH_KILL_SEEDS=N: N more seeds (a longer local check) */
	const char *more = getenv("PUSH_KILL_SEEDS");
	for (long i = 0, n = more ? strtol(more, NULL, 10) : 0; i < n; i++)
		test_kill_around_acks(SEED + 100 + (uint64_t)i, false);
	test_route_kept();
	test_ack_first();
	test_first_push_ack();
	test_push_gap();
	test_catchup_no_gap();
	test_post_after_ack();
	test_advert_waits();
	test_no_repeated_copy();
	test_resume();
	test_clean_stop();
	test_login_push_out();
	test_login_after_resend();
	test_banned();
	test_silent_member();
	test_silent_crowd();
	return harness_done("test_push");
}
