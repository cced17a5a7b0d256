/*
 * test_fed.c - federation messages (src/fed/fedmsg.c): every kind round-trips,
 * a message signed by another room, a flipped bit anywhere, a cut message and
 * garbage are refused with the verdict they are counted under.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fed/fedmsg.h"
#include "harness.h"
#include "store/store.h"
#include "fed/fed.h"
#include "mesh/mesh.h"
#include "room/cmd.h"
#include "room/room.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/err.h"

static struct ident room, other;

static void seed_ident(struct ident *id, uint8_t b)
{
	uint8_t seed[CRYPTO_SEED_SIZE];
	memset(seed, b, sizeof(seed));
	ident_from_seed(id, seed);
}

static struct fed_msg post_msg(void)
{
	struct fed_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = FED_POST;
	strcpy(m.site, "site-b");
	m.sent_ms = 1700000100123ull;
	strcpy(m.u.post.origin, "site-a");
	m.u.post.seq = 42;
	m.u.post.origin_ts = 1700000000;
	m.u.post.sender_ts = 1699999990;
	memset(m.u.post.author, 0x11, CRYPTO_PUB_SIZE);
	strcpy(m.u.post.text, "hello \xc3\xa9t\xc3\xa9");
	m.u.post.text_len = (uint8_t)strlen(m.u.post.text);
	return m;
}

static void test_round_trip(void)
{
	uint8_t buf[FED_MSG_MAX];
	size_t len;
	struct fed_msg m = post_msg(), d;

	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_EQ(d.kind, FED_POST);
	CHECK_STR(d.site, "site-b");
	CHECK_STR(d.u.post.origin, "site-a");
	CHECK_EQ(d.u.post.seq, 42);
	CHECK_EQ(d.u.post.origin_ts, 1700000000);
	CHECK_EQ(d.u.post.sender_ts, 1699999990);
	CHECK_STR(d.u.post.text, m.u.post.text);
	CHECK_MEM(d.room, room.pub, CRYPTO_PUB_SIZE);

	memset(&m, 0, sizeof(m));
	m.kind = FED_MEMBER;
	strcpy(m.site, "a");
	memset(m.u.member.pub, 7, CRYPTO_PUB_SIZE);
	m.u.member.perms = 2;
	m.u.member.sync_since = 5;
	m.u.member.last_ts = 6;
	m.u.member.heard_ts = 7;
	strcpy(m.u.member.heard, "b");
	m.u.member.role_ver = 8;
	strcpy(m.u.member.role_site, "c");
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_EQ(d.u.member.perms, 2);
	CHECK_EQ(d.u.member.sync_since, 5);
	CHECK_EQ(d.u.member.last_ts, 6);
	CHECK_EQ(d.u.member.heard_ts, 7);
	CHECK_STR(d.u.member.heard, "b");
	CHECK_EQ(d.u.member.role_ver, 8);
	CHECK_STR(d.u.member.role_site, "c");

	memset(&m, 0, sizeof(m));
	m.kind = FED_HELLO;
	strcpy(m.site, "a");
	m.u.hello.flags = FED_HELLO_ANSWER;
	m.u.hello.n = FED_HELLO_MAX;
	for (unsigned i = 0; i < FED_HELLO_MAX; i++) {
		snprintf(m.u.hello.hw[i].site, sizeof(m.u.hello.hw[i].site), "s%02u", i);
		m.u.hello.hw[i].hw = (uint64_t)i << 33 | i;
	}
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_EQ(d.u.hello.n, FED_HELLO_MAX);
	CHECK_STR(d.u.hello.hw[31].site, "s31");
	CHECK(d.u.hello.hw[31].hw == ((uint64_t)31 << 33 | 31));
	m.u.hello.n = FED_HELLO_MAX + 1;
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL);
	/* a later page: its origins above `after`, ascending */
	m.u.hello.n = 2;
	m.u.hello.flags = FED_HELLO_MORE;
	strcpy(m.u.hello.after, "r9");
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_STR(d.u.hello.after, "r9");
	CHECK_EQ(d.u.hello.flags, FED_HELLO_MORE);
	strcpy(m.u.hello.after, "s00");
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL);
	strcpy(m.u.hello.after, "");
	strcpy(m.u.hello.hw[1].site, "r");
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL);
	m.u.hello.n = 0;
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL); /* MORE, empty */

	memset(&m, 0, sizeof(m));
	m.kind = FED_BAN;
	strcpy(m.site, "a");
	m.u.ban.banned = 1;
	m.u.ban.when = 99;
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_EQ(d.u.ban.banned, 1);

	memset(&m, 0, sizeof(m));
	m.kind = FED_DELETE;
	strcpy(m.site, "a");
	strcpy(m.u.del.origin, "c");
	m.u.del.seq = 3;
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_STR(d.u.del.origin, "c");
}

static void test_refused(void)
{
	uint8_t buf[FED_MSG_MAX], copy[FED_MSG_MAX];
	size_t len;
	struct fed_msg m = post_msg(), d;
	unsigned bad = 0;

	/* another room's key: counted as wrong room */
	CHECK_EQ(fed_encode(&m, &other, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_WRONG_ROOM);
	/* our room's key in the header, signed by another: bad signature */
	memcpy(buf + 5, room.pub, CRYPTO_PUB_SIZE);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_BAD_SIG);

	/* any single flipped bit is refused */
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(copy, buf, len);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		bad += fed_decode(copy, len, room.pub, &d) != FED_OK;
	}
	CHECK_EQ(bad, len * 8);
	/* cut anywhere, or a byte more */
	bad = 0;
	for (size_t n = 0; n < len; n++)
		bad += fed_decode(buf, n, room.pub, &d) != FED_OK;
	CHECK_EQ(bad, len);
	memcpy(copy, buf, len);
	copy[len] = 0;
	CHECK(fed_decode(copy, len + 1, room.pub, &d) != FED_OK);

	/* garbage */
	CHECK_EQ(fed_decode((const uint8_t *)"hello", 5, room.pub, &d), FED_GARBAGE);
	memset(copy, 0xA5, sizeof(copy));
	CHECK_EQ(fed_decode(copy, 300, room.pub, &d), FED_GARBAGE);

	/* what would not decode is not encoded */
	m = post_msg();
	strcpy(m.u.post.text, "bad \xff utf8");
	m.u.post.text_len = (uint8_t)strlen(m.u.post.text);
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL);
	m = post_msg();
	strcpy(m.site, "bad/site");
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL);
	m = post_msg();
	m.u.post.seq = 0;
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL);
	m = post_msg();
	CHECK_EQ(fed_encode(&m, &room, buf, 40, &len), ERR_TOO_BIG);
	CHECK(!fed_site_valid(""));
	CHECK(!fed_site_valid("012345678901234567890123456789012"));
	CHECK(fed_site_valid("01234567890123456789012345678901"));
	CHECK(!fed_site_valid("a+b"));

	/* a site name with a NUL inside (fuzz_fed found it: two encodings) */
	m = post_msg();
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(buf[37], 6); /* "site-b" */
	buf[37 + 5] = 0;
	CHECK_EQ(ident_sign(&room, buf, len - CRYPTO_SIG_SIZE, buf + len - CRYPTO_SIG_SIZE),
	         ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_GARBAGE);
}

static struct store_post remote(uint32_t room_id, uint32_t post_ts, uint32_t sender_ts,
                                const char *text)
{
	struct store_post p;
	memset(&p, 0, sizeof(p));
	p.room = room_id;
	memset(p.author, 0x22, STORE_PUB_LEN);
	p.post_ts = post_ts;
	p.sender_ts = sender_ts;
	p.text_len = strlen(text);
	memcpy(p.text, text, p.text_len);
	return p;
}

static int count_cb(void *ctx, const struct store_post *p)
{
	(void)p;
	(*(unsigned *)ctx)++;
	return 0;
}

/* store: a global id is stored once; the high-water mark is contiguous */
static void test_store_apply(void)
{
	struct store *st;
	uint32_t id, n;
	int64_t pid;
	bool dup;
	uint64_t hw;
	struct store_post p, got;

	CHECK_EQ(store_open(&st, ":memory:"), ERR_OK);
	CHECK_EQ(store_room_add(st, "r", room.pub, &id), ERR_OK);
	/* local posts are numbered 1, 2, ... */
	p = remote(id, 100, 50, "local one");
	memset(p.author, 0x33, STORE_PUB_LEN);
	CHECK_EQ(store_post_add(st, &p, &pid, &dup), ERR_OK);
	CHECK_EQ(store_post_get(st, id, pid, &got), ERR_OK);
	CHECK_STR(got.origin, "");
	CHECK_EQ(got.origin_seq, 1);
	CHECK_EQ(got.origin_ts, 100);
	CHECK_EQ(store_fed_hw(st, id, "", &hw), ERR_OK);
	CHECK_EQ(hw, 1);

	p = remote(id, 101, 60, "from a, seq 1");
	CHECK_EQ(store_post_apply(st, &p, "a", 1, 90, &pid, &dup), ERR_OK);
	CHECK(!dup);
	CHECK(pid > 0);
	CHECK_EQ(store_post_get(st, id, pid, &got), ERR_OK);
	CHECK_STR(got.origin, "a");
	CHECK_EQ(got.origin_seq, 1);
	CHECK_EQ(got.origin_ts, 90);
	/* again: exactly once */
	p.post_ts = 102;
	CHECK_EQ(store_post_apply(st, &p, "a", 1, 90, &pid, &dup), ERR_OK);
	CHECK(dup);
	CHECK_EQ(store_post_count(st, id, &n), ERR_OK);
	CHECK_EQ(n, 2);
	/* seq 3 before 2: the mark waits for the gap */
	p = remote(id, 103, 62, "from a, seq 3");
	CHECK_EQ(store_post_apply(st, &p, "a", 3, 92, &pid, &dup), ERR_OK);
	CHECK_EQ(store_fed_hw(st, id, "a", &hw), ERR_OK);
	CHECK_EQ(hw, 1);
	p = remote(id, 104, 62, "seq 3 again");
	CHECK_EQ(store_post_apply(st, &p, "a", 3, 92, &pid, &dup), ERR_OK);
	CHECK(dup);
	/* seq 2 is the member's retry of a post this site already holds: kept
	 * once, and still counted received */
	p = remote(id, 105, 50, "local one");
	memset(p.author, 0x33, STORE_PUB_LEN);
	CHECK_EQ(store_post_apply(st, &p, "a", 2, 91, &pid, &dup), ERR_OK);
	CHECK(dup);
	CHECK_EQ(store_fed_hw(st, id, "a", &hw), ERR_OK);
	CHECK_EQ(hw, 3);
	CHECK_EQ(store_post_count(st, id, &n), ERR_OK);
	CHECK_EQ(n, 3);
	/* a post_ts that is not above the newest is refused, nothing marked */
	p = remote(id, 50, 70, "old time");
	CHECK_EQ(store_post_apply(st, &p, "b", 1, 50, &pid, &dup), ERR_INVAL);
	CHECK_EQ(store_fed_hw(st, id, "b", &hw), ERR_OK);
	CHECK_EQ(hw, 0);
	CHECK_EQ(store_post_apply(st, &p, "", 1, 50, &pid, &dup), ERR_INVAL);
	/* listings */
	unsigned cnt = 0;
	CHECK_EQ(store_fed_after(st, id, "a", 0, 10, count_cb, &cnt), ERR_OK);
	CHECK_EQ(cnt, 2);
	cnt = 0;
	CHECK_EQ(store_fed_after(st, id, "", 0, 10, count_cb, &cnt), ERR_OK);
	CHECK_EQ(cnt, 1);
	CHECK_EQ(store_fed_find(st, id, "a", 3, &pid), ERR_OK);
	CHECK_EQ(store_fed_find(st, id, "a", 2, &pid), ERR_NOT_FOUND);
	/* a deleted post does not come back */
	CHECK_EQ(store_fed_find(st, id, "a", 1, &pid), ERR_OK);
	CHECK_EQ(store_post_delete(st, id, pid), ERR_OK);
	p = remote(id, 110, 60, "from a, seq 1");
	CHECK_EQ(store_post_apply(st, &p, "a", 1, 90, &pid, &dup), ERR_OK);
	CHECK(dup);
	store_close(st);
}

/* store: a schema 1 database with posts in two rooms is migrated: its posts
 * numbered per room in id order, their origin time their post time */
static void test_migration(void)
{
	char db[64];
	struct store *st;
	uint32_t r1, r2;
	int64_t id;
	bool dup;
	uint64_t hw;
	struct ident other_room;

	snprintf(db, sizeof(db), "/tmp/test_fed_mig_%d.db", (int)getpid());
	unlink(db);
	seed_ident(&other_room, 9);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "one", room.pub, &r1), ERR_OK);
	CHECK_EQ(store_room_add(st, "two", other_room.pub, &r2), ERR_OK);
	for (uint32_t i = 0; i < 6; i++) {
		struct store_post p = remote(i % 2 ? r2 : r1, 100 + i, 0, "old");
		CHECK_EQ(store_post_add(st, &p, &id, &dup), ERR_OK);
	}
	store_close(st);
	/* back to schema 1 (what roomd before federation wrote) */
	sqlite3 *h;
	CHECK_EQ(sqlite3_open(db, &h), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(h,
	                      "DROP TRIGGER posts_local; DROP INDEX posts_origin;"
	                      "ALTER TABLE posts DROP COLUMN origin;"
	                      "ALTER TABLE posts DROP COLUMN origin_seq;"
	                      "ALTER TABLE posts DROP COLUMN origin_ts;"
	                      "ALTER TABLE rooms DROP COLUMN local_seq;"
	                      "ALTER TABLE members DROP COLUMN remote_heard;"
	                      "DROP TABLE fed_hw; DROP TABLE fed_got; PRAGMA user_version = 1;",
	                      NULL, NULL, NULL),
	         SQLITE_OK);
	sqlite3_close(h);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	int v = 0;
	CHECK_EQ(store_schema_version(st, &v), ERR_OK);
	CHECK_EQ(v, 2);
	CHECK_EQ(store_fed_hw(st, r1, "", &hw), ERR_OK);
	CHECK_EQ(hw, 3);
	CHECK_EQ(store_fed_hw(st, r2, "", &hw), ERR_OK);
	CHECK_EQ(hw, 3);
	struct store_post got;
	CHECK_EQ(store_fed_find(st, r2, "", 3, &id), ERR_OK);
	CHECK_EQ(store_post_get(st, r2, id, &got), ERR_OK);
	CHECK_EQ(got.post_ts, 105);
	CHECK_EQ(got.origin_ts, 105);
	/* the next local post goes on from there */
	struct store_post p = remote(r1, 200, 0, "new");
	CHECK_EQ(store_post_add(st, &p, &id, &dup), ERR_OK);
	CHECK_EQ(store_post_get(st, r1, id, &got), ERR_OK);
	CHECK_EQ(got.origin_seq, 4);
	CHECK_EQ(store_check(st), ERR_OK);
	store_close(st);
	unlink(db);
}

/* ---- three sites through an in-test broker (fed.c, no MQTT) ---- */

#define SITES 3
struct site {
	struct mesh mesh;
	struct rng_seeded seed;
	struct rng rng;
	struct store *st;
	struct room room;
	struct fed fed;
	bool down; /* cut off from the broker: what it publishes is lost */
};
static struct site sites[SITES];
static struct room_clock clock0 = {(int64_t)1750000000 * 1000};
static uint64_t t_ms = 1000;
struct qmsg {
	int from;
	size_t len;
	uint8_t b[FED_MSG_MAX];
};
static struct qmsg queue[4096];
static unsigned nq;

static int no_tx(void *ctx, const uint8_t *f, size_t len)
{
	(void)ctx;
	(void)f;
	(void)len;
	return ERR_OK;
}

static int pub(void *ctx, const char *topic, const uint8_t *p, size_t len, bool retain)
{
	(void)retain;
	struct site *s = ctx;
	(void)topic;
	if (s->down || nq == sizeof(queue) / sizeof(queue[0]))
		return ERR_OK; /* lost on the way */
	queue[nq].from = (int)(s - sites);
	queue[nq].len = len;
	memcpy(queue[nq].b, p, len);
	nq++;
	return ERR_OK;
}

static void h_post(void *ctx, struct room *r, int64_t id)
{
	(void)r;
	fed_post_stored(&((struct site *)ctx)->fed, id);
}

static void h_member(void *ctx, struct room *r, const struct room_member *m)
{
	(void)r;
	fed_member_saved(&((struct site *)ctx)->fed, m);
}

static void h_removed(void *ctx, struct room *r, const uint8_t pub[32])
{
	(void)r;
	fed_member_removed(&((struct site *)ctx)->fed, pub);
}

/* Delivers every queued message to every connected site but its sender. */
static void pump(void)
{
	for (unsigned i = 0; i < nq; i++) {
		for (int k = 0; k < SITES; k++)
			if (k != queue[i].from && !sites[k].down && sites[k].st)
				fed_receive(&sites[k].fed, queue[i].b, queue[i].len, t_ms,
				            1750000000000ull + t_ms);
		t_ms += 1;
		if (i == nq - 1) {
			for (int k = 0; k < SITES; k++)
				if (sites[k].st)
					fed_tick(&sites[k].fed, t_ms, 1750000000000ull + t_ms);
		}
	}
	nq = 0;
}

static void site_open(int k, const char *db)
{
	struct site *s = &sites[k];
	struct mesh_cfg cfg;
	uint32_t id;
	char name[8];
	mesh_cfg_defaults(&cfg);
	rng_seeded_init(&s->seed, &s->rng, 77 + (uint64_t)k);
	mesh_init(&s->mesh, &cfg, &(struct mesh_io){.transmit = no_tx, .ctx = s}, &s->rng, t_ms);
	CHECK_EQ(store_open(&s->st, db), ERR_OK);
	CHECK_EQ(store_room_add(s->st, "Fed", room.pub, &id), ERR_OK);
	CHECK_EQ(room_open(&s->room, &s->mesh, s->st, id, &room, &clock0, t_ms), ERR_OK);
	s->room.hooks.post_stored = h_post;
	s->room.hooks.member_saved = h_member;
	s->room.hooks.member_removed = h_removed;
	s->room.hooks.ctx = s;
	snprintf(name, sizeof(name), "s%c", 'a' + k);
	CHECK_EQ(fed_init(&s->fed, &s->room, name, "Fed", pub, s), ERR_OK);
	fed_set_up(&s->fed, true, t_ms, 1750000000000ull + t_ms);
}

static void site_close(int k)
{
	room_close(&sites[k].room);
	store_close(sites[k].st);
	sites[k].st = NULL;
}

struct list {
	char line[512][200];
	unsigned n;
};

static int list_cb(void *ctx, const struct store_post *p)
{
	struct list *l = ctx;
	if (l->n < 512)
		snprintf(l->line[l->n++], sizeof(l->line[0]), "%s", (const char *)p->text);
	return 0;
}

static unsigned post_count(int k)
{
	uint32_t n = 0;
	CHECK_EQ(store_post_count(sites[k].st, sites[k].room.store_id, &n), ERR_OK);
	return n;
}

static bool has_text(int k, const char *text)
{
	struct list *l = calloc(1, sizeof(*l));
	bool found = false;
	store_post_list_newest(sites[k].st, sites[k].room.store_id, 512, list_cb, l);
	for (unsigned i = 0; i < l->n; i++)
		found |= strcmp(l->line[i], text) == 0;
	free(l);
	return found;
}

static void test_sites(void)
{
	char db[SITES][64];
	uint8_t author[32];
	bool dup;

	for (int k = 0; k < SITES; k++) {
		snprintf(db[k], sizeof(db[k]), "/tmp/test_fed_%d_%c.db", (int)getpid(), 'a' + k);
		unlink(db[k]);
	}
	site_open(0, db[0]);
	site_open(1, db[1]);
	pump();
	struct ident au;
	seed_ident(&au, 0x55);
	memcpy(author, au.pub, sizeof(author));
	/* a post at A reaches B once */
	CHECK_EQ(room_post(&sites[0].room, author, 1750000001, "one", 3, &dup), ERR_OK);
	CHECK_EQ(nq, 0); /* published by the next tick, after the ACK went out */
	fed_tick(&sites[0].fed, t_ms, 1750000000000ull + t_ms);
	CHECK_EQ(nq, 1);
	pump();
	CHECK_EQ(post_count(1), 1);
	CHECK(has_text(1, "one"));
	CHECK_EQ(sites[1].fed.stats.posts_applied, 1);
	/* the same message again (QoS 1 may deliver twice): stored once */
	CHECK_EQ(room_post(&sites[0].room, author, 1750000002, "two", 3, &dup), ERR_OK);
	fed_tick(&sites[0].fed, t_ms, 1750000000000ull + t_ms);
	memcpy(&queue[1], &queue[0], sizeof(queue[0]));
	nq = 2;
	pump();
	CHECK_EQ(post_count(1), 2);
	CHECK_EQ(sites[1].fed.stats.posts_dup, 1);
	/* B posts while cut off: lost on the way, fetched by the next hello */
	sites[1].down = true;
	CHECK_EQ(room_post(&sites[1].room, author, 1750000003, "three", 5, &dup), ERR_OK);
	fed_tick(&sites[1].fed, t_ms, 1750000000000ull + t_ms);
	pump();
	CHECK_EQ(post_count(0), 2);
	sites[1].down = false;
	fed_set_up(&sites[1].fed, false, t_ms, 0);
	fed_set_up(&sites[1].fed, true, t_ms, 1750000000000ull + t_ms);
	for (int i = 0; i < 5 && nq; i++)
		pump();
	CHECK_EQ(post_count(0), 3);
	CHECK(has_text(0, "three"));
	/* a site started empty from the key gets the whole history, also the
	 * posts of origins that are not there to answer */
	site_close(0);
	for (int i = 0; i < 300; i++) {
		char t[16];
		snprintf(t, sizeof(t), "bulk %d", i);
		CHECK_EQ(
		    room_post(&sites[1].room, author, 1750000100 + (uint32_t)i, t, strlen(t), &dup),
		    ERR_OK);
	}
	nq = 0;
	site_open(2, db[2]);
	for (int i = 0; i < 20; i++) {
		t_ms += FED_HELLO_MIN_MS;
		fed_tick(&sites[2].fed, t_ms, 1750000000000ull + t_ms);
		fed_tick(&sites[1].fed, t_ms, 1750000000000ull + t_ms);
		pump();
	}
	CHECK_EQ(post_count(2), 303);
	CHECK(has_text(2, "one"));
	CHECK(has_text(2, "bulk 299"));
	uint64_t hw = 0;
	CHECK_EQ(store_fed_hw(sites[2].st, sites[2].room.store_id, "sa", &hw), ERR_OK);
	CHECK_EQ(hw, 2);
	CHECK_EQ(store_fed_hw(sites[2].st, sites[2].room.store_id, "sb", &hw), ERR_OK);
	CHECK_EQ(hw, 301);

	/* members: a login at B is known at C with its role and replay mark; the
	 * site that heard it last pushes */
	struct room_member *mb = room_member_put(&sites[1].room, author, ACL_ROLE_READ_WRITE);
	CHECK(mb != NULL);
	if (!mb)
		return;
	mb->last_ts = 1750000500;
	mb->last_activity = room_rtc(&sites[1].room);
	mb->sync_since = 1750000400;
	mb->dirty = true;
	sites[1].room.any_dirty = true;
	room_tick(&sites[1].room, t_ms);
	pump();
	struct room_member *mc = room_member_find(&sites[2].room, author);
	CHECK(mc != NULL);
	if (mc) {
		CHECK_EQ(mc->perms, ACL_ROLE_READ_WRITE);
		CHECK_EQ(mc->last_ts, 1750000500);
		CHECK_EQ(mc->sync_since, 1750000400);
		CHECK_EQ(mc->last_activity, 0); /* not heard here: C does not push */
		CHECK(mc->remote_heard > 0);
	}

	/* who pushes: B heard the member; once C says it heard it later, B
	 * leaves it alone (and pushes again when it hears it itself) */
	struct ident mk;
	seed_ident(&mk, 0x66); /* not the author of B's posts: they are due to it */
	mb = room_member_put(&sites[1].room, mk.pub, ACL_ROLE_READ_WRITE);
	CHECK(mb != NULL);
	if (!mb)
		return;
	mb->sync_since = 0; /* behind: every post of B is due */
	mb->caught_up = 0;
	mb->last_activity = room_rtc(&sites[1].room);
	uint32_t pushes = sites[1].room.stats.pushes;
	CHECK_EQ(room_member_merge(&sites[1].room, mk.pub, ACL_ROLE_READ_WRITE, 0, 0,
	                           mb->last_activity + 10, false),
	         ERR_OK);
	CHECK(mb->remote_heard > mb->last_activity);
	/* kept in the store: after a restart B still leaves the member to C */
	struct store_member sm;
	CHECK_EQ(store_member_get(sites[1].st, sites[1].room.store_id, mk.pub, &sm), ERR_OK);
	CHECK_EQ(sm.remote_heard, mb->remote_heard);
	for (int i = 0; i < 20; i++) {
		t_ms += 500;
		mesh_tick(&sites[1].mesh, t_ms);
		room_tick(&sites[1].room, t_ms);
	}
	CHECK_EQ(sites[1].room.stats.pushes, pushes);
	mb->last_activity = mb->remote_heard + 1; /* heard here again */
	mb->caught_up = 0;
	for (int i = 0; i < 20; i++) {
		t_ms += 500;
		mesh_tick(&sites[1].mesh, t_ms);
		mesh_on_tx_done(&sites[1].mesh, true, t_ms);
		room_tick(&sites[1].room, t_ms);
	}
	CHECK(sites[1].room.stats.pushes > pushes);
	nq = 0;

	/* room settings: a change at B reaches C (passwords encrypted on the way),
	 * an older version does not undo it */
	snprintf(sites[1].room.set.guest_password, ROOM_PASS_MAX, "%s", "newguest");
	snprintf(sites[1].room.set.name, ROOM_NAME_MAX, "%s", "Valley Two");
	sites[1].room.set.allow_read_only = true;
	fed_settings_changed(&sites[1].fed);
	CHECK_EQ(nq, 1);
	CHECK(nq == 1 && memmem(queue[0].b, queue[0].len, "newguest", 8) == NULL);
	CHECK(nq == 1 && memmem(queue[0].b, queue[0].len, "Valley Two", 10) != NULL);
	struct qmsg old_set = queue[0];
	pump();
	CHECK_STR(sites[2].room.set.guest_password, "newguest");
	CHECK_STR(sites[2].room.set.name, "Valley Two");
	CHECK(sites[2].room.set.allow_read_only);
	CHECK_EQ(sites[2].fed.stats.settings_applied, 1);
	snprintf(sites[2].room.set.guest_password, ROOM_PASS_MAX, "%s", "third");
	fed_settings_changed(&sites[2].fed);
	pump();
	CHECK_STR(sites[1].room.set.guest_password, "third");
	queue[0] = old_set; /* the older version again (a retained copy) */
	nq = 1;
	pump();
	CHECK_STR(sites[2].room.set.guest_password, "third");

	/* what is not ours is counted and dropped */
	uint8_t junk[200];
	memset(junk, 0x42, sizeof(junk));
	fed_receive(&sites[2].fed, junk, sizeof(junk), t_ms, 0);
	CHECK_EQ(sites[2].fed.stats.dropped_garbage, 1);
	struct fed_msg m = post_msg();
	uint8_t buf[FED_MSG_MAX];
	size_t len;
	CHECK_EQ(fed_encode(&m, &other, buf, sizeof(buf), &len), ERR_OK);
	fed_receive(&sites[2].fed, buf, len, t_ms, 0);
	CHECK_EQ(sites[2].fed.stats.dropped_wrong_room, 1);
	memcpy(buf + 5, room.pub, 32);
	fed_receive(&sites[2].fed, buf, len, t_ms, 0);
	CHECK_EQ(sites[2].fed.stats.dropped_bad_sig, 1);
	CHECK_EQ(post_count(2), 303);

	char js[1024];
	CHECK(fed_status_json(&sites[2].fed, js, sizeof(js)) > 0);
	CHECK(strstr(js, "\"dropped_bad_sig\":1") != NULL);
	site_close(1);
	site_close(2);
	for (int k = 0; k < SITES; k++)
		unlink(db[k]);
}

static void sites_open(char db[SITES][64], const char *tag)
{
	for (int k = 0; k < SITES; k++) {
		snprintf(db[k], 64, "/tmp/test_fed_%s_%d_%c.db", tag, (int)getpid(), 'a' + k);
		unlink(db[k]);
		site_open(k, db[k]);
	}
	pump();
}

static void sites_close(char db[SITES][64])
{
	for (int k = 0; k < SITES; k++) {
		if (sites[k].st)
			site_close(k);
		unlink(db[k]);
	}
	nq = 0;
}

/* The member's record written at site k now (as a login or an ACK does). */
static void member_touch(int k, struct room_member *m)
{
	m->last_activity = room_rtc(&sites[k].room);
	m->dirty = true;
	sites[k].room.any_dirty = true;
	room_tick(&sites[k].room, t_ms);
}

static int perms_at(int k, const uint8_t pub[32])
{
	struct room_member *m = room_member_find(&sites[k].room, pub);
	return m ? m->perms : -1;
}

static void site_cmd(int k, const char *fmt, const uint8_t pub[32], const char *want)
{
	char hex[65], cmd[128], reply[256];
	hex_encode(hex, sizeof(hex), pub, 32);
	snprintf(cmd, sizeof(cmd), fmt, hex);
	reply[0] = 0;
	room_cmd(&sites[k].room, cmd, 0, CMD_LOCAL, reply, sizeof(reply));
	CHECK_STR(reply, want);
	room_tick(&sites[k].room, t_ms);
	pump();
}

/*
 * Roles carry a version (the change's time and site), the newer wins at
 * every site: an admin's setperm at a site that never heard the member
 * spreads; a removal spreads as a tombstone that a late record of the
 * member (heard later, older role) does not undo; a later login does.
 */
static void test_roles(void)
{
	char db[SITES][64];
	struct ident mk;
	seed_ident(&mk, 0x77);
	sites_open(db, "roles");
	struct room_member *ma = room_member_put(&sites[0].room, mk.pub, ACL_ROLE_READ_WRITE);
	CHECK(ma != NULL);
	if (!ma)
		return;
	member_touch(0, ma); /* heard at A */
	pump();
	CHECK_EQ(perms_at(1, mk.pub), ACL_ROLE_READ_WRITE);
	CHECK_EQ(perms_at(2, mk.pub), ACL_ROLE_READ_WRITE);

	/* C never heard it; its admin makes it an admin: everywhere */
	t_ms += 2000;
	site_cmd(2, "setperm %s 3", mk.pub, "OK");
	CHECK_EQ(perms_at(0, mk.pub), ACL_ROLE_ADMIN);
	CHECK_EQ(perms_at(1, mk.pub), ACL_ROLE_ADMIN);
	/* A hears it again: its record keeps the role C set */
	t_ms += 2000;
	member_touch(0, room_member_find(&sites[0].room, mk.pub));
	pump();
	CHECK_EQ(perms_at(2, mk.pub), ACL_ROLE_ADMIN);
	CHECK_EQ(perms_at(1, mk.pub), ACL_ROLE_ADMIN);

	/* B's record, made before the removal but delivered after it, with a
	 * later hearing than any other site's */
	t_ms += 2000;
	member_touch(1, room_member_find(&sites[1].room, mk.pub));
	CHECK(nq >= 1);
	struct qmsg late = queue[nq - 1];
	nq = 0;
	t_ms += 1000;
	site_cmd(0, "setperm %s 0", mk.pub, "OK");
	CHECK_EQ(perms_at(0, mk.pub), -1);
	CHECK_EQ(perms_at(1, mk.pub), -1);
	CHECK_EQ(perms_at(2, mk.pub), -1);
	struct store_member sm;
	CHECK_EQ(store_member_get(sites[1].st, sites[1].room.store_id, mk.pub, &sm), ERR_NOT_FOUND);
	CHECK_EQ(sites[1].fed.stats.members_removed, 1);
	queue[0] = late;
	nq = 1;
	pump();
	CHECK_EQ(perms_at(0, mk.pub), -1);
	CHECK_EQ(perms_at(2, mk.pub), -1);
	CHECK(sites[0].fed.stats.members_stale >= 1);
	/* the tombstone outlives a restart */
	site_close(0);
	site_open(0, db[0]);
	nq = 0;
	queue[0] = late;
	nq = 1;
	pump();
	CHECK_EQ(perms_at(0, mk.pub), -1);

	/* a change made while the broker is away is published when it returns */
	struct ident mo;
	seed_ident(&mo, 0x78);
	struct room_member *mo_a = room_member_put(&sites[0].room, mo.pub, ACL_ROLE_READ_WRITE);
	CHECK(mo_a != NULL);
	if (mo_a)
		member_touch(0, mo_a);
	pump();
	CHECK_EQ(perms_at(1, mo.pub), ACL_ROLE_READ_WRITE);
	t_ms += 2000;
	sites[0].down = true;
	fed_set_up(&sites[0].fed, false, t_ms, 1750000000000ull + t_ms);
	site_cmd(0, "setperm %s 0", mo.pub, "OK");
	CHECK_EQ(perms_at(1, mo.pub), ACL_ROLE_READ_WRITE);
	sites[0].down = false;
	fed_set_up(&sites[0].fed, true, t_ms, 1750000000000ull + t_ms);
	pump();
	CHECK_EQ(perms_at(1, mo.pub), -1);
	CHECK_EQ(perms_at(2, mo.pub), -1);

	/* a login at B after the removal is a newer change: a member again */
	t_ms += 2000;
	struct room_member *mb = room_member_put(&sites[1].room, mk.pub, ACL_ROLE_GUEST);
	CHECK(mb != NULL);
	if (mb)
		member_touch(1, mb);
	pump();
	CHECK_EQ(perms_at(0, mk.pub), ACL_ROLE_GUEST);
	CHECK_EQ(perms_at(2, mk.pub), ACL_ROLE_GUEST);
	sites_close(db);
}

/* A post of a made-up origin site, as that site would publish it. */
static void feed_post(int k, const char *origin, uint64_t seq, uint32_t ts)
{
	struct fed_msg m = post_msg();
	uint8_t buf[FED_MSG_MAX];
	size_t len;
	snprintf(m.site, sizeof(m.site), "%s", origin);
	snprintf(m.u.post.origin, sizeof(m.u.post.origin), "%s", origin);
	m.u.post.seq = seq;
	m.u.post.origin_ts = ts;
	m.u.post.sender_ts = ts;
	snprintf(m.u.post.text, sizeof(m.u.post.text), "%s #%llu", origin, (unsigned long long)seq);
	m.u.post.text_len = (uint8_t)strlen(m.u.post.text);
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	fed_receive(&sites[k].fed, buf, len, t_ms, 1750000000000ull + t_ms);
}

/* More origins than one hello holds (FED_HELLO_MAX): a site started empty
 * still gets every origin's posts (the hello goes in pages). */
static void test_many_origins(void)
{
	char db[SITES][64];
	enum { ORIGINS = 3 * FED_HELLO_MAX / 2 };
	for (int k = 0; k < SITES; k++) {
		snprintf(db[k], 64, "/tmp/test_fed_many_%d_%c.db", (int)getpid(), 'a' + k);
		unlink(db[k]);
	}
	site_open(0, db[0]);
	nq = 0;
	for (int o = 0; o < ORIGINS; o++) {
		char name[8];
		snprintf(name, sizeof(name), "o%02d", o);
		for (uint64_t q = 1; q <= 2; q++)
			feed_post(0, name, q, 1750000000 + (uint32_t)(o * 2 + (int)q));
	}
	CHECK_EQ(post_count(0), 2 * ORIGINS);
	site_open(1, db[1]);
	uint32_t hellos = sites[0].fed.stats.hellos_sent;
	for (int i = 0; i < 10; i++) {
		t_ms += FED_HELLO_MIN_MS;
		fed_tick(&sites[0].fed, t_ms, 1750000000000ull + t_ms);
		fed_tick(&sites[1].fed, t_ms, 1750000000000ull + t_ms);
		pump();
	}
	CHECK_EQ(post_count(1), 2 * ORIGINS);
	uint64_t hw = 0;
	CHECK_EQ(store_fed_hw(sites[1].st, sites[1].room.store_id, "o47", &hw), ERR_OK);
	CHECK_EQ(hw, 2);
	CHECK(sites[0].fed.stats.hellos_sent - hellos >= 2); /* pages */
	/* and the other way: B's own posts reach A, whose hello has pages */
	bool dup;
	uint8_t author[32];
	memset(author, 0x31, sizeof(author));
	sites[1].down = true;
	CHECK_EQ(room_post(&sites[1].room, author, 1750000999, "from b", 6, &dup), ERR_OK);
	fed_tick(&sites[1].fed, t_ms, 1750000000000ull + t_ms);
	pump();
	sites[1].down = false;
	CHECK(!has_text(0, "from b"));
	for (int i = 0; i < 4; i++) {
		t_ms += FED_HELLO_MS;
		fed_tick(&sites[0].fed, t_ms, 1750000000000ull + t_ms);
		fed_tick(&sites[1].fed, t_ms, 1750000000000ull + t_ms);
		pump();
	}
	CHECK(has_text(0, "from b"));
	site_close(0);
	site_close(1);
	unlink(db[0]);
	unlink(db[1]);
	nq = 0;
}

static int newest_cb(void *ctx, const struct store_post *p)
{
	*(struct store_post *)ctx = *p;
	return 0;
}

static struct store_post newest_at(int k)
{
	struct store_post p;
	memset(&p, 0, sizeof(p));
	CHECK_EQ(store_post_list_newest(sites[k].st, sites[k].room.store_id, 1, newest_cb, &p),
	         ERR_OK);
	return p;
}

static uint32_t due_at(int k, const uint8_t pub[32])
{
	struct room_member *m = room_member_find(&sites[k].room, pub);
	uint32_t n = 0;
	CHECK(m != NULL);
	if (m)
		CHECK_EQ(store_post_count_since(sites[k].st, sites[k].room.store_id, pub,
		                                m->sync_since, STORE_TS_ANY, 255, &n),
		         ERR_OK);
	return n;
}

/*
 * A post keeps its origin's time at every site where that is still a new
 * time (so a member's sync point, replicated, means the same posts: a member
 * caught up at A and heard next at B gets nothing twice there), and a post
 * that reaches a site after a later one takes a new time there (pushed to
 * the members whose sync point is past its origin time, not missed).
 */
static void test_post_times(void)
{
	char db[SITES][64];
	struct ident au, mk;
	bool dup;
	seed_ident(&au, 0x81);
	seed_ident(&mk, 0x82);
	sites_open(db, "times");
	struct room_member *ma = room_member_put(&sites[0].room, mk.pub, ACL_ROLE_READ_WRITE);
	CHECK(ma != NULL);
	if (!ma)
		return;
	member_touch(0, ma);
	pump();
	/* B's clock runs 5 s later than A's when A's post reaches it */
	CHECK_EQ(room_post(&sites[0].room, au.pub, 1750000001, "at A", 4, &dup), ERR_OK);
	struct store_post pa = newest_at(0);
	fed_tick(&sites[0].fed, t_ms, 1750000000000ull + t_ms);
	mesh_tick(&sites[1].mesh, t_ms + 5000);
	pump();
	struct store_post pb = newest_at(1);
	CHECK_STR((const char *)pb.text, "at A");
	CHECK_EQ(pb.post_ts, pa.post_ts);
	CHECK_EQ(pb.origin_ts, pa.post_ts);
	/* a unique time B's replies took (a login answered in that second)
	 * does not push A's next post off its time */
	uint32_t reply_ts = room_unique_time(&sites[1].room);
	CHECK_EQ(room_post(&sites[0].room, au.pub, 1750000005, "at A 2", 6, &dup), ERR_OK);
	struct store_post pa2 = newest_at(0);
	CHECK(pa2.post_ts <= reply_ts);
	fed_tick(&sites[0].fed, t_ms, 1750000000000ull + t_ms);
	pump();
	CHECK_EQ(newest_at(1).post_ts, pa2.post_ts);
	pa = pa2;
	/* the member acknowledged it at A; heard next at B: nothing due twice */
	ma->sync_since = pa.post_ts;
	member_touch(0, ma);
	pump();
	CHECK_EQ(due_at(1, mk.pub), 0);

	/* C holds a post newer than A's next one when that arrives (C's clock
	 * ahead): the late post takes a new time at C, above the sync point of
	 * a member caught up there, so C still pushes it */
	mesh_tick(&sites[2].mesh, t_ms + 20000);
	CHECK_EQ(room_post(&sites[2].room, au.pub, 1750000002, "at C", 4, &dup), ERR_OK);
	struct store_post pc = newest_at(2);
	struct room_member *mc = room_member_find(&sites[2].room, mk.pub);
	CHECK(mc != NULL);
	if (!mc)
		return;
	mc->sync_since = pc.post_ts;
	mc->last_activity = room_rtc(&sites[2].room);
	nq = 0;
	CHECK_EQ(room_post(&sites[0].room, au.pub, 1750000003, "late at C", 9, &dup), ERR_OK);
	fed_tick(&sites[0].fed, t_ms, 1750000000000ull + t_ms);
	pump();
	struct store_post late = newest_at(2);
	CHECK_STR((const char *)late.text, "late at C");
	CHECK(late.post_ts > pc.post_ts);
	CHECK_EQ(due_at(2, mk.pub), 1);
	sites_close(db);
}

int main(void)
{
	if (crypto_init())
		return 1;
	seed_ident(&room, 1);
	seed_ident(&other, 2);
	test_round_trip();
	test_refused();
	test_store_apply();
	log_set_level(LOG_ERR);
	test_migration();
	test_sites();
	test_roles();
	test_many_origins();
	test_post_times();
	return harness_done("test_fed");
}
