/*
 * test_store.c - unit tests of the storage module (src/store/store.h;
 * PROTOCOL.md §7.1, §7.3, §7.10).
 *
 * The whole functional suite runs twice, on ":memory:" and on a file under
 * /tmp; the file-only tests then check that a reopen loses nothing, that a
 * read-only, foreign, newer, corrupt or full database gives an error and no
 * crash, and that a failed call inside a batch leaves no trace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "tmpdb.h"

static char dir[64];

/* A distinct key per n; its first byte is n mod 256. */
static void key(uint8_t k[STORE_PUB_LEN], unsigned n)
{
	for (unsigned i = 0; i < STORE_PUB_LEN; i++)
		k[i] = (uint8_t)(n * 31 + i);
	k[0] = (uint8_t)n;
	k[1] = (uint8_t)(n >> 8);
	k[2] = (uint8_t)(n >> 16);
}

static void mkpath(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int add_post(struct store *st, uint32_t room, unsigned author, uint32_t post_ts,
                    uint32_t sender_ts, const char *text, int64_t *id, bool *dup)
{
	struct store_post p;
	memset(&p, 0, sizeof(p));
	p.room = room;
	key(p.author, author);
	p.post_ts = post_ts;
	p.sender_ts = sender_ts;
	p.text_len = strlen(text);
	memcpy(p.text, text, p.text_len);
	int64_t dummy_id;
	return store_post_add(st, &p, id ? id : &dummy_id, dup);
}

/* ---- collectors for the listing callbacks ---- */

struct posts_seen {
	int n;
	int64_t id[64];
	uint32_t ts[64];
	int stop_after; /* 0 = never */
};

static int collect_post(void *ctx, const struct store_post *p)
{
	struct posts_seen *s = ctx;
	if (s->n < 64) {
		s->id[s->n] = p->id;
		s->ts[s->n] = p->post_ts;
	}
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 42 : 0;
}

struct members_seen {
	int n;
	uint8_t first_byte[16];
	uint32_t sync[16];
};

static int collect_member(void *ctx, const struct store_member *m)
{
	struct members_seen *s = ctx;
	if (s->n < 16) {
		s->first_byte[s->n] = m->pub[0];
		s->sync[s->n] = m->sync_since;
	}
	s->n++;
	return 0;
}

struct rooms_seen {
	int n;
	uint32_t id[8];
	char name[8][STORE_ROOM_NAME_MAX + 1];
};

static int collect_room(void *ctx, const struct store_room *r)
{
	struct rooms_seen *s = ctx;
	if (s->n < 8) {
		s->id[s->n] = r->id;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", r->name);
	}
	s->n++;
	return 0;
}

struct settings_seen {
	int n;
	char buf[512];
};

static int collect_setting(void *ctx, const char *k, const char *v)
{
	struct settings_seen *s = ctx;
	size_t l = strlen(s->buf);
	snprintf(s->buf + l, sizeof(s->buf) - l, "%s=%s;", k, v);
	s->n++;
	return 0;
}

struct bans_seen {
	int n;
	uint8_t first_byte[8];
	uint32_t when[8];
	char reason[8][STORE_BAN_REASON_MAX + 1];
};

static int collect_ban(void *ctx, const struct store_ban *b)
{
	struct bans_seen *s = ctx;
	if (s->n < 8) {
		s->first_byte[s->n] = b->pub[0];
		s->when[s->n] = b->when;
		snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", b->reason);
	}
	s->n++;
	return 0;
}

struct dups_seen {
	int n;
	uint32_t seen[1100];
	uint8_t first_byte[1100];
};

static int collect_dup(void *ctx, const uint8_t hash[STORE_HASH_LEN], uint32_t seen)
{
	struct dups_seen *s = ctx;
	if (s->n < 1100) {
		s->seen[s->n] = seen;
		s->first_byte[s->n] = hash[0];
	}
	s->n++;
	return 0;
}

/* A callback that tries to call back into the store. */
static int reenter(void *ctx, const struct store_post *p)
{
	struct store *st = ctx;
	uint32_t n;
	(void)p;
	return store_post_count(st, p->room, &n) == ERR_INVAL ? 7 : 8;
}

/* ---- the functional suite ---- */

static void test_open_basics(struct store *st)
{
	int v = -1;
	CHECK_EQ(store_schema_version(st, &v), ERR_OK);
	CHECK_EQ(v, STORE_SCHEMA_VERSION);
	CHECK_EQ(store_check(st), ERR_OK);
	uint64_t bytes = 0;
	CHECK_EQ(store_db_bytes(st, &bytes), ERR_OK);
	CHECK(bytes > 0);
	CHECK_EQ(store_begin(NULL), ERR_INVAL);
	CHECK_EQ(store_room_get(NULL, 1, NULL), ERR_INVAL);
}

static void test_rooms(struct store *st, uint32_t *r1, uint32_t *r2)
{
	uint8_t k1[32], k2[32], k3[32];
	key(k1, 101);
	key(k2, 102);
	key(k3, 103);
	char longname[STORE_ROOM_NAME_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	uint32_t id = 0;
	CHECK_EQ(store_room_add(st, longname, k1, &id), ERR_TOO_BIG);
	longname[STORE_ROOM_NAME_MAX] = 0;
	CHECK_EQ(store_room_add(st, "first", k1, r1), ERR_OK);
	CHECK(*r1 >= 1);
	CHECK_EQ(store_room_add(st, "second", k2, r2), ERR_OK);
	CHECK(*r2 != *r1);
	/* Same key again: the same room, renamed. */
	CHECK_EQ(store_room_add(st, "First Room", k1, &id), ERR_OK);
	CHECK_EQ(id, *r1);

	struct store_room r;
	CHECK_EQ(store_room_find(st, k1, &r), ERR_OK);
	CHECK_EQ(r.id, *r1);
	CHECK_STR(r.name, "First Room");
	CHECK_MEM(r.pub, k1, 32);
	CHECK_EQ(r.max_posts, STORE_DEFAULT_MAX_POSTS);
	CHECK_EQ(r.max_age_s, 0);
	CHECK_EQ(r.last_post_ts, 0);
	CHECK_EQ(r.post_count, 0);
	CHECK_EQ(store_room_find(st, k3, &r), ERR_NOT_FOUND);
	CHECK_EQ(store_room_get(st, *r2, &r), ERR_OK);
	CHECK_STR(r.name, "second");
	CHECK_EQ(store_room_get(st, 9999, &r), ERR_NOT_FOUND);
	CHECK_EQ(store_room_get(st, 0, &r), ERR_NOT_FOUND);

	/* A third room to delete: its id must not come back. */
	uint32_t r3;
	CHECK_EQ(store_room_add(st, longname, k3, &r3), ERR_OK);
	CHECK_EQ(store_room_delete(st, r3), ERR_OK);
	CHECK_EQ(store_room_delete(st, r3), ERR_NOT_FOUND);
	CHECK_EQ(store_room_add(st, "third again", k3, &id), ERR_OK);
	CHECK(id > r3);
	CHECK_EQ(store_room_delete(st, id), ERR_OK);

	struct rooms_seen seen = {0};
	CHECK_EQ(store_room_list(st, collect_room, &seen), ERR_OK);
	CHECK_EQ(seen.n, 2);
	CHECK_EQ(seen.id[0], *r1);
	CHECK_EQ(seen.id[1], *r2);
	CHECK_STR(seen.name[0], "First Room");
	CHECK_EQ(store_room_set_retention(st, 9999, 1, 1), ERR_NOT_FOUND);
}

static void test_posts(struct store *st, uint32_t room, uint32_t other)
{
	int64_t id1, id2, id3, id;
	bool dup = true;
	/* Author 1 posts at 100, 101 (system post, sender_ts 0), author 2 at 102. */
	CHECK_EQ(add_post(st, room, 1, 100, 5000, "hello", &id1, &dup), ERR_OK);
	CHECK(!dup);
	CHECK(id1 >= 1);
	CHECK_EQ(add_post(st, room, 1, 101, 0, "system", &id2, &dup), ERR_OK);
	CHECK(!dup);
	CHECK_EQ(add_post(st, room, 2, 102, 7000, "from two", &id3, &dup), ERR_OK);
	CHECK(!dup);
	CHECK(id1 < id2 && id2 < id3);

	/* A retry (same author and sender_ts) is stored once, whatever its post_ts. */
	CHECK_EQ(add_post(st, room, 1, 103, 5000, "hello", &id, &dup), ERR_OK);
	CHECK(dup);
	CHECK_EQ(id, id1);
	uint32_t n = 0;
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 3);
	/* sender_ts 0 never matches: two system posts are two posts. */
	CHECK_EQ(add_post(st, room, 1, 104, 0, "system", &id, &dup), ERR_OK);
	CHECK(!dup);
	CHECK(id > id3);
	/* Same sender_ts from another author, or in another room: not a retry. */
	CHECK_EQ(add_post(st, room, 3, 105, 5000, "three", &id, &dup), ERR_OK);
	CHECK(!dup);
	CHECK_EQ(add_post(st, other, 1, 50, 5000, "hello", &id, &dup), ERR_OK);
	CHECK(!dup);

	/* post_ts must move forward per room. */
	CHECK_EQ(add_post(st, room, 4, 105, 1, "same ts", &id, &dup), ERR_INVAL);
	CHECK_EQ(add_post(st, room, 4, 50, 1, "older", &id, &dup), ERR_INVAL);
	CHECK_EQ(add_post(st, room, 4, 0, 1, "zero", &id, &dup), ERR_INVAL);
	CHECK_EQ(add_post(st, 9999, 4, 500, 1, "no room", &id, &dup), ERR_NOT_FOUND);
	CHECK_EQ(add_post(st, 0, 4, 500, 1, "room 0", &id, &dup), ERR_INVAL);

	/* Text: 150 bytes of any value but NUL round-trip; 151 or a NUL do not. */
	struct store_post p, q;
	memset(&p, 0, sizeof(p));
	p.room = room;
	key(p.author, 4);
	p.post_ts = 106;
	p.sender_ts = 9;
	for (int i = 0; i < STORE_TEXT_MAX; i++)
		p.text[i] = (uint8_t)(1 + (i * 7) % 255);
	p.text_len = STORE_TEXT_MAX + 1;
	CHECK_EQ(store_post_add(st, &p, &id, &dup), ERR_TOO_BIG);
	p.text_len = 20;
	p.text[5] = 0;
	CHECK_EQ(store_post_add(st, &p, &id, &dup), ERR_INVAL);
	p.text[5] = 0xC3;
	p.text_len = STORE_TEXT_MAX;
	int64_t long_id;
	CHECK_EQ(store_post_add(st, &p, &long_id, NULL), ERR_OK);
	CHECK_EQ(store_post_get(st, room, long_id, &q), ERR_OK);
	CHECK_EQ(q.id, long_id);
	CHECK_EQ(q.room, room);
	CHECK_EQ(q.post_ts, 106);
	CHECK_EQ(q.sender_ts, 9);
	CHECK_EQ(q.text_len, STORE_TEXT_MAX);
	CHECK_MEM(q.text, p.text, STORE_TEXT_MAX);
	CHECK_EQ(q.text[STORE_TEXT_MAX], 0);
	CHECK_MEM(q.author, p.author, 32);
	/* Empty text is a post too. */
	int64_t empty_id;
	CHECK_EQ(add_post(st, room, 4, 107, 10, "", &empty_id, &dup), ERR_OK);
	CHECK_EQ(store_post_get(st, room, empty_id, &q), ERR_OK);
	CHECK_EQ(q.text_len, 0);
	CHECK_EQ(store_post_get(st, other, empty_id, &q), ERR_NOT_FOUND);

	/* Room now: 100(a1) 101(a1) 102(a2) 104(a1) 105(a3) 106(a4) 107(a4). */
	uint8_t a1[32], a2[32];
	key(a1, 1);
	key(a2, 2);
	CHECK_EQ(store_post_next(st, room, a1, 0, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 102);
	CHECK_EQ(q.id, id3);
	CHECK_EQ(q.text_len, 8);
	CHECK_MEM(q.text, "from two", 8);
	CHECK_MEM(q.author, a2, 32);
	CHECK_EQ(store_post_next(st, room, a2, 0, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 100);
	CHECK_EQ(store_post_next(st, room, a2, 100, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 101);
	CHECK_EQ(store_post_next(st, room, a1, 102, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 105);
	CHECK_EQ(store_post_next(st, room, NULL, 101, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 102);
	/* The upper bound (the 6 s rule). */
	CHECK_EQ(store_post_next(st, room, a1, 102, 104, &q), ERR_NOT_FOUND);
	CHECK_EQ(store_post_next(st, room, a1, 102, 105, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 105);
	CHECK_EQ(store_post_next(st, room, NULL, 107, STORE_TS_ANY, &q), ERR_NOT_FOUND);
	CHECK_EQ(store_post_next(st, other, a1, 0, STORE_TS_ANY, &q), ERR_NOT_FOUND);
	CHECK_EQ(store_post_next(st, other, a2, 0, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 50);

	CHECK_EQ(store_post_count_since(st, room, a1, 0, STORE_TS_ANY, 255, &n), ERR_OK);
	CHECK_EQ(n, 4);
	CHECK_EQ(store_post_count_since(st, room, a2, 0, STORE_TS_ANY, 255, &n), ERR_OK);
	CHECK_EQ(n, 6);
	CHECK_EQ(store_post_count_since(st, room, NULL, 0, STORE_TS_ANY, 255, &n), ERR_OK);
	CHECK_EQ(n, 7);
	CHECK_EQ(store_post_count_since(st, room, NULL, 0, STORE_TS_ANY, 3, &n), ERR_OK);
	CHECK_EQ(n, 3);
	CHECK_EQ(store_post_count_since(st, room, a1, 101, 105, 255, &n), ERR_OK);
	CHECK_EQ(n, 2);
	CHECK_EQ(store_post_count_since(st, room, a1, 107, STORE_TS_ANY, 255, &n), ERR_OK);
	CHECK_EQ(n, 0);

	/* Newest first, limited; a callback's non-zero return stops and is returned. */
	struct posts_seen seen = {0};
	CHECK_EQ(store_post_list_newest(st, room, 3, collect_post, &seen), ERR_OK);
	CHECK_EQ(seen.n, 3);
	CHECK_EQ(seen.ts[0], 107);
	CHECK_EQ(seen.ts[1], 106);
	CHECK_EQ(seen.ts[2], 105);
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	CHECK_EQ(store_post_list_newest(st, room, 100, collect_post, &seen), 42);
	CHECK_EQ(seen.n, 2);
	CHECK_EQ(store_post_list_newest(st, room, 1, reenter, st), 7);

	/* Delete: by id within the room only; the newest ts survives deletion. */
	CHECK_EQ(store_post_delete(st, other, empty_id), ERR_NOT_FOUND);
	CHECK_EQ(store_post_delete(st, room, empty_id), ERR_OK);
	CHECK_EQ(store_post_delete(st, room, empty_id), ERR_NOT_FOUND);
	CHECK_EQ(store_post_get(st, room, empty_id, &q), ERR_NOT_FOUND);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 6);
	uint32_t ts = 0;
	CHECK_EQ(store_post_newest_ts(st, room, &ts), ERR_OK);
	CHECK_EQ(ts, 107);
	CHECK_EQ(add_post(st, room, 4, 107, 11, "reuse ts", &id, &dup), ERR_INVAL);
	CHECK_EQ(store_post_newest_ts(st, other, &ts), ERR_OK);
	CHECK_EQ(ts, 50);
	CHECK_EQ(store_post_newest_ts(st, 9999, &ts), ERR_NOT_FOUND);
}

/* The web board's paging (by id, newest first, a text to find) and the live
 * page's posts after an id, with two rooms' posts interleaved. */
static void test_post_pages(void)
{
	struct store *st;
	uint32_t a, b;
	uint8_t pa[32] = {0xA1}, pb[32] = {0xB2};
	CHECK_EQ(store_open(&st, ":memory:"), ERR_OK);
	CHECK_EQ(store_room_add(st, "A", pa, &a), ERR_OK);
	CHECK_EQ(store_room_add(st, "B", pb, &b), ERR_OK);
	int64_t ids[10], id;
	bool dup;
	for (int i = 0; i < 10; i++) {
		char t[32];
		snprintf(t, sizeof(t), i == 4 ? "post %d Needle" : "post %d", i);
		CHECK_EQ(add_post(st, a, 1, 1000 + (uint32_t)i, 0, t, &ids[i], &dup), ERR_OK);
		CHECK_EQ(add_post(st, b, 1, 1000 + (uint32_t)i, 0, "needle in b", &id, &dup),
		         ERR_OK);
	}
	struct posts_seen seen = {0};
	CHECK_EQ(store_post_page(st, a, INT64_MAX, NULL, 3, collect_post, &seen), ERR_OK);
	CHECK_EQ(seen.n, 3);
	CHECK_EQ(seen.id[0], ids[9]);
	CHECK_EQ(seen.id[2], ids[7]);
	memset(&seen, 0, sizeof(seen)); /* the next page from the last id */
	CHECK_EQ(store_post_page(st, a, ids[7], "", 100, collect_post, &seen), ERR_OK);
	CHECK_EQ(seen.n, 7);
	CHECK_EQ(seen.id[0], ids[6]);
	CHECK_EQ(seen.id[6], ids[0]);
	memset(&seen, 0, sizeof(seen)); /* search: this room only, any case */
	CHECK_EQ(store_post_page(st, a, INT64_MAX, "nEEDLE", 100, collect_post, &seen), ERR_OK);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.id[0], ids[4]);
	memset(&seen, 0, sizeof(seen)); /* '%' and '_' are plain text, not patterns */
	CHECK_EQ(store_post_page(st, a, INT64_MAX, "%", 100, collect_post, &seen), ERR_OK);
	CHECK_EQ(seen.n, 0);
	memset(&seen, 0, sizeof(seen)); /* after an id, oldest first, this room only */
	CHECK_EQ(store_post_after(st, a, ids[6], 100, collect_post, &seen), ERR_OK);
	CHECK_EQ(seen.n, 3);
	CHECK_EQ(seen.id[0], ids[7]);
	CHECK_EQ(seen.id[2], ids[9]);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_post_after(st, a, ids[9], 100, collect_post, &seen), ERR_OK);
	CHECK_EQ(seen.n, 0);
	CHECK_EQ(store_post_page(st, a, INT64_MAX, NULL, 1, NULL, NULL), ERR_INVAL);
	store_close(st);
}

static void test_retention(struct store *st)
{
	uint8_t k[32];
	uint32_t room, n = 0, del = 99, ts;
	int64_t id;
	key(k, 200);
	CHECK_EQ(store_room_add(st, "retention", k, &room), ERR_OK);
	CHECK_EQ(store_room_set_retention(st, room, 5, 0), ERR_OK);
	for (uint32_t i = 1; i <= 8; i++)
		CHECK_EQ(add_post(st, room, i % 3, 1000 + i, i, "p", &id, NULL), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 5);
	struct store_post q;
	CHECK_EQ(store_post_next(st, room, NULL, 0, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 1004);
	/* A retry of a post removed by retention is stored again (documented). */
	bool dup = true;
	CHECK_EQ(add_post(st, room, 1, 1010, 1, "p", &id, &dup), ERR_OK);
	CHECK(!dup);

	/* Age: posts older than max_age before `now` go, by store_retention ... */
	CHECK_EQ(store_room_set_retention(st, room, 0, 100), ERR_OK);
	CHECK_EQ(store_retention(st, room, 1106, &del), ERR_OK);
	CHECK_EQ(del, 1); /* 1005 < 1006 */
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 4);
	CHECK_EQ(store_retention(st, room, 1106, &del), ERR_OK);
	CHECK_EQ(del, 0);
	/* ... and by store_post_add with its post_ts as now. */
	CHECK_EQ(add_post(st, room, 1, 1109, 77, "late", &id, NULL), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 2); /* 1006, 1007, 1008 (< 1109 - 100) went; 1010 and 1109 stay */
	CHECK_EQ(store_post_next(st, room, NULL, 0, STORE_TS_ANY, &q), ERR_OK);
	CHECK_EQ(q.post_ts, 1010);
	CHECK_EQ(store_retention(st, room, 5000, &del), ERR_OK);
	CHECK_EQ(del, 2);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 0);
	CHECK_EQ(store_post_newest_ts(st, room, &ts), ERR_OK);
	CHECK_EQ(ts, 1109);
	CHECK_EQ(store_retention(st, 9999, 5000, &del), ERR_NOT_FOUND);
}

static void test_members(struct store *st, uint32_t room, uint32_t other)
{
	struct store_member m, g;
	memset(&m, 0, sizeof(m));
	key(m.pub, 10);
	m.permissions = 0xC3;
	m.sync_since = 1715770351;
	m.last_timestamp = 0xFFFFFFFF;
	m.last_activity = 1234;
	m.out_path_len = 0x42; /* 2 hops of 2 bytes */
	for (int i = 0; i < STORE_PATH_MAX; i++)
		m.out_path[i] = (uint8_t)(0xA0 + i);
	m.push_failures = 2;
	m.created = 999;
	CHECK_EQ(store_member_put(st, room, &m), ERR_OK);
	CHECK_EQ(store_member_get(st, room, m.pub, &g), ERR_OK);
	CHECK_MEM(g.pub, m.pub, 32);
	CHECK_EQ(g.permissions, 0xC3);
	CHECK_EQ(g.sync_since, 1715770351);
	CHECK_EQ(g.last_timestamp, 0xFFFFFFFF);
	CHECK_EQ(g.last_activity, 1234);
	CHECK_EQ(g.out_path_len, 0x42);
	CHECK_MEM(g.out_path, m.out_path, 4);
	CHECK_EQ(g.out_path[4], 0); /* beyond count x size: not stored */
	CHECK_EQ(g.push_failures, 2);
	CHECK_EQ(g.created, 999);
	CHECK_EQ(store_member_get(st, other, m.pub, &g), ERR_NOT_FOUND);

	/* Path encodings (§2.4). */
	struct store_member b = m;
	key(b.pub, 11);
	b.out_path_len = 0xC1; /* size code 3 */
	CHECK_EQ(store_member_put(st, room, &b), ERR_PATH);
	b.out_path_len = 0x61; /* 33 x 2 = 66 bytes */
	CHECK_EQ(store_member_put(st, room, &b), ERR_PATH);
	b.out_path_len = 0x95; /* 21 x 3 = 63 bytes */
	CHECK_EQ(store_member_put(st, room, &b), ERR_OK);
	CHECK_EQ(store_member_get(st, room, b.pub, &g), ERR_OK);
	CHECK_MEM(g.out_path, m.out_path, 63);
	CHECK_EQ(g.out_path[63], 0);
	b.out_path_len = 0x40; /* no hops yet, 2-byte hashes: the size bits are kept */
	CHECK_EQ(store_member_put(st, room, &b), ERR_OK);
	CHECK_EQ(store_member_get(st, room, b.pub, &g), ERR_OK);
	CHECK_EQ(g.out_path_len, 0x40);
	CHECK_EQ(g.out_path[0], 0);

	/* Third member; then replace the first: it keeps its place. */
	struct store_member c;
	memset(&c, 0, sizeof(c));
	key(c.pub, 12);
	c.out_path_len = STORE_PATH_UNKNOWN;
	CHECK_EQ(store_member_put(st, room, &c), ERR_OK);
	m.sync_since = 5;
	CHECK_EQ(store_member_put(st, room, &m), ERR_OK);
	struct members_seen seen = {0};
	CHECK_EQ(store_member_list(st, room, collect_member, &seen), ERR_OK);
	CHECK_EQ(seen.n, 3);
	CHECK_EQ(seen.first_byte[0], m.pub[0]);
	CHECK_EQ(seen.first_byte[1], b.pub[0]);
	CHECK_EQ(seen.first_byte[2], c.pub[0]);
	CHECK_EQ(seen.sync[0], 5);
	uint32_t n = 0;
	CHECK_EQ(store_member_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 3);
	CHECK_EQ(store_member_count(st, other, &n), ERR_OK);
	CHECK_EQ(n, 0);
	CHECK_EQ(store_member_put(st, 9999, &c), ERR_NOT_FOUND);
	CHECK_EQ(store_member_put(st, 0, &c), ERR_INVAL);

	/* Partial updates. */
	CHECK_EQ(store_member_set_sync_since(st, room, c.pub, 4242), ERR_OK);
	CHECK_EQ(store_member_set_last_timestamp(st, room, c.pub, 77), ERR_OK);
	uint8_t path[STORE_PATH_MAX] = {9, 8, 7};
	CHECK_EQ(store_member_set_out_path(st, room, c.pub, 3, path), ERR_OK);
	CHECK_EQ(store_member_set_activity(st, room, c.pub, 555, 3), ERR_OK);
	CHECK_EQ(store_member_get(st, room, c.pub, &g), ERR_OK);
	CHECK_EQ(g.sync_since, 4242);
	CHECK_EQ(g.last_timestamp, 77);
	CHECK_EQ(g.out_path_len, 3);
	CHECK_MEM(g.out_path, path, 3);
	CHECK_EQ(g.last_activity, 555);
	CHECK_EQ(g.push_failures, 3);
	CHECK_EQ(g.permissions, 0);
	/* the push engine's state in one commit */
	CHECK_EQ(store_member_set_push(st, room, c.pub, 5000, 600, 0x81), ERR_OK);
	CHECK_EQ(store_member_get(st, room, c.pub, &g), ERR_OK);
	CHECK_EQ(g.sync_since, 5000);
	CHECK_EQ(g.last_activity, 600);
	CHECK_EQ(g.push_failures, 0x81);
	CHECK_EQ(g.last_timestamp, 77);
	CHECK_EQ(store_member_set_out_path(st, room, c.pub, 0xFF, NULL), ERR_OK);
	CHECK_EQ(store_member_get(st, room, c.pub, &g), ERR_OK);
	CHECK_EQ(g.out_path_len, 0xFF);
	CHECK_EQ(g.out_path[0], 0);
	CHECK_EQ(store_member_set_out_path(st, room, c.pub, 0xC0, path), ERR_PATH);
	uint8_t stranger[32];
	key(stranger, 13);
	CHECK_EQ(store_member_set_sync_since(st, room, stranger, 1), ERR_NOT_FOUND);
	CHECK_EQ(store_member_set_last_timestamp(st, room, stranger, 1), ERR_NOT_FOUND);
	CHECK_EQ(store_member_set_out_path(st, room, stranger, 0, path), ERR_NOT_FOUND);
	CHECK_EQ(store_member_set_activity(st, room, stranger, 1, 0), ERR_NOT_FOUND);
	CHECK_EQ(store_member_set_push(st, room, stranger, 1, 1, 1), ERR_NOT_FOUND);
	CHECK_EQ(store_member_set_sync_since(st, other, c.pub, 1), ERR_NOT_FOUND);

	CHECK_EQ(store_member_delete(st, room, b.pub), ERR_OK);
	CHECK_EQ(store_member_delete(st, room, b.pub), ERR_NOT_FOUND);
	CHECK_EQ(store_member_get(st, room, b.pub, &g), ERR_NOT_FOUND);
	CHECK_EQ(store_member_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 2);
}

static void test_replay(struct store *st, uint32_t room)
{
	uint8_t k[32];
	uint32_t v = 0, n = 0;
	key(k, 300);
	CHECK_EQ(store_replay_get(st, room, k, &v), ERR_NOT_FOUND);
	CHECK_EQ(store_replay_set(st, room, k, 1000, 1), ERR_OK);
	CHECK_EQ(store_replay_get(st, room, k, &v), ERR_OK);
	CHECK_EQ(v, 1000);
	CHECK_EQ(store_replay_set(st, room, k, 900, 2), ERR_OK); /* a plain set, no max() */
	CHECK_EQ(store_replay_get(st, room, k, &v), ERR_OK);
	CHECK_EQ(v, 900);
	CHECK_EQ(store_replay_delete(st, room, k), ERR_OK);
	CHECK_EQ(store_replay_delete(st, room, k), ERR_NOT_FOUND);
	CHECK_EQ(store_replay_set(st, 9999, k, 1, 1), ERR_NOT_FOUND);

	/*
	 * Bounded: key 1000 + i is stamped now = 10 + i; key 1000, refreshed
	 * with a late stamp, survives; the 10 next oldest are evicted.
	 */
	CHECK_EQ(store_begin(st), ERR_OK);
	for (unsigned i = 0; i < STORE_REPLAY_MAX + 10; i++) {
		key(k, 1000 + i);
		if (store_replay_set(st, room, k, i, 10 + i) != ERR_OK) {
			CHECK(0);
			break;
		}
		if (i == 100) {
			key(k, 1000);
			CHECK_EQ(store_replay_set(st, room, k, 12345, 1000000), ERR_OK);
		}
	}
	CHECK_EQ(store_commit(st), ERR_OK);
	CHECK_EQ(store_replay_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, STORE_REPLAY_MAX);
	key(k, 1000);
	CHECK_EQ(store_replay_get(st, room, k, &v), ERR_OK);
	CHECK_EQ(v, 12345);
	for (unsigned i = 1; i <= 10; i++) {
		key(k, 1000 + i);
		CHECK_EQ(store_replay_get(st, room, k, &v), ERR_NOT_FOUND);
	}
	key(k, 1000 + 11);
	CHECK_EQ(store_replay_get(st, room, k, &v), ERR_OK);
	CHECK_EQ(v, 11);
}

static void test_settings(struct store *st, uint32_t room, uint32_t other)
{
	char buf[64];
	CHECK_EQ(store_setting_get(st, 0, "name", NULL, buf, sizeof(buf)), ERR_NOT_FOUND);
	CHECK_EQ(store_setting_get(st, 0, "name", "dflt", buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "dflt");
	CHECK_EQ(store_setting_set(st, 0, "name", "global"), ERR_OK);
	CHECK_EQ(store_setting_set(st, room, "name", "roomy"), ERR_OK);
	CHECK_EQ(store_setting_set(st, room, "guest.password", "hello"), ERR_OK);
	CHECK_EQ(store_setting_set(st, room, "empty", ""), ERR_OK);
	CHECK_EQ(store_setting_get(st, 0, "name", "dflt", buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "global");
	CHECK_EQ(store_setting_get(st, room, "name", "dflt", buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "roomy");
	CHECK_EQ(store_setting_get(st, other, "name", "dflt", buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "dflt");
	CHECK_EQ(store_setting_get(st, room, "empty", "dflt", buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "");
	CHECK_EQ(store_setting_set(st, room, "name", "renamed"), ERR_OK);
	CHECK_EQ(store_setting_get(st, room, "name", NULL, buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "renamed");
	CHECK_EQ(store_setting_get(st, room, "name", NULL, buf, 7), ERR_TOO_BIG);
	CHECK_STR(buf, "");
	CHECK_EQ(store_setting_get(st, room, "name", NULL, buf, 8), ERR_OK);

	char big[STORE_SETTING_VALUE_MAX + 2];
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_EQ(store_setting_set(st, room, "big", big), ERR_TOO_BIG);
	big[STORE_SETTING_VALUE_MAX] = 0;
	CHECK_EQ(store_setting_set(st, room, "big", big), ERR_OK);
	char bigbuf[STORE_SETTING_VALUE_MAX + 1];
	CHECK_EQ(store_setting_get(st, room, "big", NULL, bigbuf, sizeof(bigbuf)), ERR_OK);
	CHECK_STR(bigbuf, big);
	CHECK_EQ(store_setting_delete(st, room, "big"), ERR_OK);
	CHECK_EQ(store_setting_delete(st, room, "big"), ERR_NOT_FOUND);
	CHECK_EQ(store_setting_set(st, room, "", "x"), ERR_INVAL);
	char longkey[STORE_SETTING_KEY_MAX + 2];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = 0;
	CHECK_EQ(store_setting_set(st, room, longkey, "x"), ERR_TOO_BIG);

	struct settings_seen seen = {0};
	CHECK_EQ(store_setting_list(st, room, collect_setting, &seen), ERR_OK);
	CHECK_EQ(seen.n, 3);
	CHECK_STR(seen.buf, "empty=;guest.password=hello;name=renamed;");
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_setting_list(st, 0, collect_setting, &seen), ERR_OK);
	CHECK_STR(seen.buf, "name=global;");
}

static void test_bans(struct store *st, uint32_t room, uint32_t other)
{
	uint8_t k1[32], k2[32];
	bool banned = true;
	key(k1, 400);
	key(k2, 401);
	CHECK_EQ(store_ban_check(st, room, k1, &banned), ERR_OK);
	CHECK(!banned);
	CHECK_EQ(store_ban_add(st, room, k1, 500, "spam"), ERR_OK);
	CHECK_EQ(store_ban_add(st, room, k2, 400, NULL), ERR_OK);
	CHECK_EQ(store_ban_check(st, room, k1, &banned), ERR_OK);
	CHECK(banned);
	CHECK_EQ(store_ban_check(st, other, k1, &banned), ERR_OK);
	CHECK(!banned);
	struct bans_seen seen = {0};
	CHECK_EQ(store_ban_list(st, room, collect_ban, &seen), ERR_OK);
	CHECK_EQ(seen.n, 2);
	CHECK_EQ(seen.first_byte[0], k2[0]);
	CHECK_EQ(seen.when[0], 400);
	CHECK_STR(seen.reason[0], "");
	CHECK_STR(seen.reason[1], "spam");
	CHECK_EQ(store_ban_add(st, room, k2, 600, "again"), ERR_OK);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_ban_list(st, room, collect_ban, &seen), ERR_OK);
	CHECK_EQ(seen.n, 2);
	CHECK_EQ(seen.first_byte[1], k2[0]);
	CHECK_EQ(seen.when[1], 600);
	CHECK_STR(seen.reason[1], "again");
	char big[STORE_BAN_REASON_MAX + 2];
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_EQ(store_ban_add(st, room, k1, 1, big), ERR_TOO_BIG);
	CHECK_EQ(store_ban_add(st, 9999, k1, 1, "x"), ERR_NOT_FOUND);
	CHECK_EQ(store_ban_remove(st, room, k1), ERR_OK);
	CHECK_EQ(store_ban_remove(st, room, k1), ERR_NOT_FOUND);
	CHECK_EQ(store_ban_check(st, room, k1, &banned), ERR_OK);
	CHECK(!banned);
}

static void test_dups(struct store *st, uint32_t room)
{
	uint8_t h[STORE_HASH_LEN];
	CHECK_EQ(store_begin(st), ERR_OK);
	for (unsigned i = 0; i < STORE_DUP_MAX + 6; i++) {
		memset(h, 0, sizeof(h));
		h[0] = (uint8_t)i;
		h[1] = (uint8_t)(i >> 8);
		if (store_dup_add(st, 0, h, 100 + i) != ERR_OK) {
			CHECK(0);
			break;
		}
	}
	CHECK_EQ(store_commit(st), ERR_OK);
	static struct dups_seen seen;
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_dup_load(st, 0, 2000, collect_dup, &seen), ERR_OK);
	CHECK_EQ(seen.n, STORE_DUP_MAX);
	CHECK_EQ(seen.seen[0], 106); /* the 6 oldest went */
	CHECK_EQ(seen.first_byte[0], 6);
	CHECK_EQ(seen.seen[STORE_DUP_MAX - 1], 100 + STORE_DUP_MAX + 5);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_dup_load(st, 0, 3, collect_dup, &seen), ERR_OK);
	CHECK_EQ(seen.n, 3);
	CHECK_EQ(seen.seen[0], 100 + STORE_DUP_MAX + 3);
	CHECK_EQ(seen.seen[2], 100 + STORE_DUP_MAX + 5);
	/* Scopes are separate; a hash seen again is refreshed, not doubled. */
	memset(h, 0xEE, sizeof(h));
	CHECK_EQ(store_dup_add(st, room, h, 5), ERR_OK);
	CHECK_EQ(store_dup_add(st, room, h, 9), ERR_OK);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_dup_load(st, room, 10, collect_dup, &seen), ERR_OK);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.seen[0], 9);
	CHECK_EQ(seen.first_byte[0], 0xEE);
}

static void test_transactions(struct store *st, uint32_t room)
{
	int64_t id;
	uint32_t n0 = 0, n = 0, ts;
	CHECK_EQ(store_post_count(st, room, &n0), ERR_OK);
	CHECK_EQ(store_post_newest_ts(st, room, &ts), ERR_OK);
	CHECK_EQ(store_commit(st), ERR_INVAL);
	CHECK_EQ(store_rollback(st), ERR_INVAL);
	CHECK_EQ(store_begin(st), ERR_OK);
	CHECK_EQ(store_begin(st), ERR_INVAL);
	CHECK_EQ(add_post(st, room, 7, ts + 1, 1, "rolled back", &id, NULL), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, n0 + 1);
	CHECK_EQ(store_rollback(st), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, n0);
	CHECK_EQ(store_post_get(st, room, id, &(struct store_post){0}), ERR_NOT_FOUND);

	/* A failing call inside a batch leaves the batch open and intact. */
	CHECK_EQ(store_begin(st), ERR_OK);
	CHECK_EQ(add_post(st, room, 7, ts + 1, 2, "kept", &id, NULL), ERR_OK);
	CHECK_EQ(add_post(st, room, 7, ts + 1, 3, "same ts", NULL, NULL), ERR_INVAL);
	CHECK_EQ(add_post(st, 9999, 7, ts + 2, 3, "no room", NULL, NULL), ERR_NOT_FOUND);
	uint8_t k[32];
	key(k, 7);
	CHECK_EQ(store_replay_set(st, room, k, 1, 1), ERR_OK);
	CHECK_EQ(store_commit(st), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, n0 + 1);
	struct store_post p;
	CHECK_EQ(store_post_get(st, room, id, &p), ERR_OK);
	CHECK_EQ(p.text_len, 4);
}

static void test_room_delete_cascade(struct store *st)
{
	uint8_t k[32], m[32];
	uint32_t room, n = 9;
	char buf[16];
	key(k, 500);
	key(m, 501);
	CHECK_EQ(store_room_add(st, "doomed", k, &room), ERR_OK);
	CHECK_EQ(add_post(st, room, 1, 10, 1, "x", NULL, NULL), ERR_OK);
	struct store_member mem = {.out_path_len = STORE_PATH_UNKNOWN};
	memcpy(mem.pub, m, 32);
	CHECK_EQ(store_member_put(st, room, &mem), ERR_OK);
	CHECK_EQ(store_replay_set(st, room, m, 1, 1), ERR_OK);
	CHECK_EQ(store_setting_set(st, room, "a", "b"), ERR_OK);
	CHECK_EQ(store_ban_add(st, room, m, 1, "x"), ERR_OK);
	CHECK_EQ(store_dup_add(st, room, k, 1), ERR_OK);
	CHECK_EQ(store_room_delete(st, room), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_NOT_FOUND);
	CHECK_EQ(store_member_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 0);
	CHECK_EQ(store_replay_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 0);
	CHECK_EQ(store_setting_get(st, room, "a", NULL, buf, sizeof(buf)), ERR_NOT_FOUND);
	bool banned = true;
	CHECK_EQ(store_ban_check(st, room, m, &banned), ERR_OK);
	CHECK(!banned);
	struct dups_seen *seen = calloc(1, sizeof(*seen));
	CHECK_EQ(store_dup_load(st, room, 10, collect_dup, seen), ERR_OK);
	CHECK_EQ(seen->n, 0);
	free(seen);
	CHECK_EQ(store_check(st), ERR_OK);
}

static void run_suite(const char *path, uint32_t *room_out, uint32_t *other_out)
{
	struct store *st = NULL;
	CHECK_EQ(store_open(&st, path), ERR_OK);
	if (!st)
		return;
	uint32_t room = 0, other = 0;
	test_open_basics(st);
	test_rooms(st, &room, &other);
	test_posts(st, room, other);
	test_retention(st);
	test_members(st, room, other);
	test_replay(st, room);
	test_settings(st, room, other);
	test_bans(st, room, other);
	test_dups(st, room);
	test_transactions(st, room);
	test_room_delete_cascade(st);
	CHECK_EQ(store_check(st), ERR_OK);
	store_close(st);
	*room_out = room;
	*other_out = other;
}

/* ---- file-only tests ---- */

/* After run_suite on `path`: everything written is found again. */
static void test_reopen(const char *path, uint32_t room, uint32_t other)
{
	struct store *st = NULL;
	CHECK_EQ(store_open(&st, path), ERR_OK);
	if (!st)
		return;
	struct rooms_seen rs = {0};
	CHECK_EQ(store_room_list(st, collect_room, &rs), ERR_OK);
	CHECK_EQ(rs.n, 3); /* first, second, retention */
	CHECK_STR(rs.name[0], "First Room");
	uint32_t n = 0, ts = 0, v = 0;
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 7);
	CHECK_EQ(store_post_newest_ts(st, room, &ts), ERR_OK);
	CHECK(ts > 107);
	CHECK_EQ(store_post_newest_ts(st, other, &ts), ERR_OK);
	CHECK_EQ(ts, 50);
	uint8_t a1[32], k[32];
	key(a1, 1);
	struct store_post p;
	CHECK_EQ(store_post_next(st, room, a1, 0, STORE_TS_ANY, &p), ERR_OK);
	CHECK_EQ(p.post_ts, 102);
	CHECK_MEM(p.text, "from two", 8);
	bool dup = false;
	int64_t id;
	CHECK_EQ(add_post(st, room, 2, 1, 7000, "from two", &id, &dup), ERR_OK);
	CHECK(dup);
	CHECK_EQ(id, p.id);
	struct members_seen ms = {0};
	CHECK_EQ(store_member_list(st, room, collect_member, &ms), ERR_OK);
	CHECK_EQ(ms.n, 2);
	struct store_member m;
	key(k, 10);
	CHECK_EQ(store_member_get(st, room, k, &m), ERR_OK);
	CHECK_EQ(m.out_path_len, 0x42);
	CHECK_EQ(m.out_path[0], 0xA0);
	CHECK_EQ(m.out_path[3], 0xA3);
	CHECK_EQ(m.permissions, 0xC3);
	key(k, 1000);
	CHECK_EQ(store_replay_get(st, room, k, &v), ERR_OK);
	CHECK_EQ(v, 12345);
	CHECK_EQ(store_replay_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, STORE_REPLAY_MAX); /* test_transactions' mark was the oldest: evicted */
	char buf[64];
	CHECK_EQ(store_setting_get(st, room, "guest.password", NULL, buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "hello");
	CHECK_EQ(store_setting_get(st, 0, "name", NULL, buf, sizeof(buf)), ERR_OK);
	CHECK_STR(buf, "global");
	bool banned = false;
	key(k, 401);
	CHECK_EQ(store_ban_check(st, room, k, &banned), ERR_OK);
	CHECK(banned);
	static struct dups_seen ds;
	memset(&ds, 0, sizeof(ds));
	CHECK_EQ(store_dup_load(st, 0, 5000, collect_dup, &ds), ERR_OK);
	CHECK_EQ(ds.n, STORE_DUP_MAX);
	CHECK_EQ(store_check(st), ERR_OK);
	store_close(st);
}

/* store_backup: a live copy that holds everything test_reopen checks. */
static void test_backup(const char *path, uint32_t room, uint32_t other)
{
	struct store *st = NULL;
	char bpath[160], wal[160], bad[160];
	CHECK_EQ(store_open(&st, path), ERR_OK);
	if (!st)
		return;
	mkpath(bpath, sizeof(bpath), "backup.db");
	mkpath(bad, sizeof(bad), "no/such/dir/backup.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);

	/* never over the live file or its companions */
	CHECK_EQ(store_backup(st, path), ERR_INVAL);
	if (access(wal, F_OK) == 0)
		CHECK_EQ(store_backup(st, wal), ERR_INVAL);
	CHECK_EQ(store_backup(st, ""), ERR_INVAL);
	CHECK_EQ(store_backup(st, NULL), ERR_INVAL);
	CHECK_EQ(store_backup(st, bad), ERR_SYS);
	/* not in the middle of a batch */
	CHECK_EQ(store_begin(st), ERR_OK);
	CHECK_EQ(store_backup(st, bpath), ERR_INVAL);
	CHECK_EQ(store_rollback(st), ERR_OK);

	/* over an older file, which is replaced whole */
	FILE *f = fopen(bpath, "w");
	if (f) {
		fputs("not a database", f);
		fclose(f);
	}
	CHECK_EQ(store_backup(st, bpath), ERR_OK);
	CHECK_EQ(store_check(st), ERR_OK); /* the live store is untouched, still usable */
	uint32_t n = 0;
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 7);
	store_close(st);

	/* no temporary file left beside it */
	DIR *d = opendir(dir);
	int tmps = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		tmps += strstr(e->d_name, ".tmp-") != NULL;
	if (d)
		closedir(d);
	CHECK_EQ(tmps, 0);

	test_reopen(bpath, room, other);
	tmpdb_remove(bpath);

	/* an in-memory store can be saved too */
	CHECK_EQ(store_open(&st, ":memory:"), ERR_OK);
	uint8_t pub[32];
	key(pub, 77);
	uint32_t id = 0;
	CHECK_EQ(store_room_add(st, "mem", pub, &id), ERR_OK);
	CHECK_EQ(store_backup(st, bpath), ERR_OK);
	store_close(st);
	st = NULL;
	CHECK_EQ(store_open(&st, bpath), ERR_OK);
	struct store_room r;
	CHECK_EQ(store_room_find(st, pub, &r), ERR_OK);
	CHECK_STR(r.name, "mem");
	store_close(st);
	tmpdb_remove(bpath);
}

static void test_readonly(const char *path, uint32_t room)
{
	struct store *st = NULL;
	CHECK_EQ(store_open_flags(&st, path, STORE_OPEN_READONLY), ERR_OK);
	if (!st)
		return;
	uint32_t n = 0;
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 7);
	CHECK_EQ(add_post(st, room, 9, 0xFFFFFF00, 1, "nope", NULL, NULL), ERR_STORE);
	uint8_t k[32];
	key(k, 10);
	CHECK_EQ(store_member_set_sync_since(st, room, k, 1), ERR_STORE);
	CHECK_EQ(store_setting_set(st, 0, "x", "y"), ERR_STORE);
	CHECK_EQ(store_begin(st), ERR_STORE);
	CHECK_EQ(store_check(st), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 7);
	store_close(st);
	CHECK_EQ(store_open_flags(&st, path, 0x80), ERR_INVAL);
	CHECK(st == NULL);

	/* Permission bits only bind a non-root user. */
	if (geteuid() != 0) {
		CHECK_EQ(chmod(path, 0444), 0);
		CHECK_EQ(chmod(dir, 0555), 0);
		int err = store_open(&st, path);
		if (err == ERR_OK) {
			CHECK_EQ(add_post(st, room, 9, 0xFFFFFF00, 1, "nope", NULL, NULL),
			         ERR_STORE);
			store_close(st);
		} else {
			CHECK_EQ(err, ERR_STORE);
		}
		CHECK_EQ(chmod(dir, 0700), 0);
		CHECK_EQ(chmod(path, 0644), 0);
	} else {
		printf("test_store: running as root, chmod read-only case skipped\n");
	}
}

static int patch_be32(const char *path, long off, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t w = pwrite(fd, b, 4, off);
	close(fd);
	return w == 4 ? 0 : -1;
}

static int write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = n ? write(fd, p, n) : 0;
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

static void test_versions(const char *path)
{
	struct store *st = NULL;
	/* user_version lives at offset 60, application_id at 68 of the header. */
	CHECK_EQ(patch_be32(path, 60, STORE_SCHEMA_VERSION + 1), 0);
	CHECK_EQ(store_open(&st, path), ERR_VERSION);
	CHECK(st == NULL);
	CHECK_EQ(patch_be32(path, 60, STORE_SCHEMA_VERSION), 0);
	CHECK_EQ(patch_be32(path, 68, 0x12345678), 0);
	CHECK_EQ(store_open(&st, path), ERR_STORE);
	CHECK_EQ(patch_be32(path, 68, 0x524d4431), 0);
	CHECK_EQ(store_open(&st, path), ERR_OK);
	int v = 0;
	CHECK_EQ(store_schema_version(st, &v), ERR_OK);
	CHECK_EQ(v, STORE_SCHEMA_VERSION);
	store_close(st);

	/* An empty file is a new database; garbage and directories are errors. */
	char p[128];
	mkpath(p, sizeof(p), "empty.db");
	CHECK_EQ(write_file(p, "", 0), 0);
	CHECK_EQ(store_open(&st, p), ERR_OK);
	CHECK_EQ(store_schema_version(st, &v), ERR_OK);
	CHECK_EQ(v, STORE_SCHEMA_VERSION);
	store_close(st);
	tmpdb_remove(p);
	mkpath(p, sizeof(p), "garbage.db");
	char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 13 + 7);
	CHECK_EQ(write_file(p, junk, sizeof(junk)), 0);
	st = (struct store *)1;
	CHECK_EQ(store_open(&st, p), ERR_STORE);
	CHECK(st == NULL);
	tmpdb_remove(p);
	CHECK_EQ(store_open(&st, dir), ERR_STORE);
	mkpath(p, sizeof(p), "no/such/dir.db");
	CHECK_EQ(store_open(&st, p), ERR_STORE);
	CHECK_EQ(store_open(&st, ""), ERR_INVAL);
	CHECK_EQ(store_open(&st, NULL), ERR_INVAL);
	CHECK_EQ(store_open(NULL, p), ERR_INVAL);
	/* A read-only open of a missing file does not create it. */
	mkpath(p, sizeof(p), "missing.db");
	CHECK_EQ(store_open_flags(&st, p, STORE_OPEN_READONLY), ERR_STORE);
	CHECK(access(p, F_OK) != 0);
}

/* Full disk, simulated by a size cap: errors, no crash, no partial batch. */
static void test_full(void)
{
	char p[128];
	struct store *st = NULL;
	mkpath(p, sizeof(p), "full.db");
	CHECK_EQ(store_open(&st, p), ERR_OK);
	if (!st)
		return;
	uint8_t k[32];
	uint32_t room = 0, n = 0;
	key(k, 600);
	CHECK_EQ(store_room_add(st, "full", k, &room), ERR_OK);
	uint64_t bytes = 0;
	CHECK_EQ(store_db_bytes(st, &bytes), ERR_OK);
	CHECK_EQ(store_set_max_bytes(st, bytes + 4096), ERR_OK);
	char text[STORE_TEXT_MAX + 1];
	memset(text, 't', STORE_TEXT_MAX);
	text[STORE_TEXT_MAX] = 0;
	uint32_t ts = 1, stored = 0;
	int err = ERR_OK;
	for (; ts < 10000; ts++) {
		err = add_post(st, room, 1, ts, ts, text, NULL, NULL);
		if (err != ERR_OK)
			break;
		stored++;
	}
	CHECK_EQ(err, ERR_STORE);
	CHECK(stored > 0 && stored < 1000);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, stored);

	/* Inside a batch: the batch is lost as a whole, and says so. */
	CHECK_EQ(store_begin(st), ERR_OK);
	err = ERR_OK;
	for (uint32_t i = 0; i < 100 && err == ERR_OK; i++)
		err = add_post(st, room, 2, ts + 1 + i, ts + 1 + i, text, NULL, NULL);
	CHECK_EQ(err, ERR_STORE);
	int cerr = store_commit(st);
	CHECK(cerr == ERR_STORE || cerr == ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK(cerr == ERR_OK || n == stored);
	if (cerr != ERR_OK)
		CHECK_EQ(n, stored);

	CHECK_EQ(store_set_max_bytes(st, 0), ERR_OK);
	CHECK_EQ(add_post(st, room, 3, 20000, 20000, text, NULL, NULL), ERR_OK);
	CHECK_EQ(store_check(st), ERR_OK);
	store_close(st);
	tmpdb_remove(p);
}

static void smash_pages(const char *path, long first, long count)
{
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	uint8_t junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 151 + 3);
	for (long pg = first; pg < first + count; pg++)
		CHECK_EQ(pwrite(fd, junk, sizeof(junk), (off_t)pg * 4096), (ssize_t)sizeof(junk));
	close(fd);
}

static int count_dup(void *ctx, const uint8_t hash[STORE_HASH_LEN], uint32_t seen)
{
	(void)hash;
	(void)seen;
	(*(unsigned *)ctx)++;
	return 0;
}

/*
 * A file damaged on disk gives ERR_STORE, never a crash: (a) the posts'
 * pages are hit, which open itself notices; (b) only the duplicate-window
 * pages at the end of the file are hit: open works, the integrity check
 * and the reads of that table fail, the posts are still readable.
 */
static void test_corrupt(void)
{
	char p[128];
	struct store *st = NULL;
	for (int scenario = 0; scenario < 2; scenario++) {
		mkpath(p, sizeof(p), "corrupt.db");
		CHECK_EQ(store_open(&st, p), ERR_OK);
		if (!st)
			return;
		uint8_t k[32], h[STORE_HASH_LEN] = {0};
		uint32_t room = 0, n = 0;
		key(k, 700);
		CHECK_EQ(store_room_add(st, "corrupt", k, &room), ERR_OK);
		CHECK_EQ(store_begin(st), ERR_OK);
		uint32_t posts = scenario == 0 ? 500 : 5;
		int err = ERR_OK;
		for (uint32_t ts = 1; ts <= posts && err == ERR_OK; ts++)
			err = add_post(st, room, ts % 5, ts, ts, "some text to fill pages", NULL,
			               NULL);
		for (uint32_t i = 0; scenario == 1 && i < 8000 && err == ERR_OK; i++) {
			memcpy(h, &i, sizeof(i));
			err = store_dup_add(st, 1000 + i % 8, h, i);
		}
		CHECK_EQ(err, ERR_OK);
		CHECK_EQ(store_commit(st), ERR_OK);
		store_close(st);

		struct stat sb;
		CHECK_EQ(stat(p, &sb), 0);
		long pages = (long)(sb.st_size / 4096);
		CHECK(pages > 20);
		if (scenario == 0)
			smash_pages(p, 3, 4); /* early pages: the posts' b-trees */
		else
			smash_pages(p, pages - 12, 8); /* late pages: only the dups' */

		err = store_open(&st, p);
		if (scenario == 0) {
			CHECK_EQ(err, ERR_STORE);
			CHECK(st == NULL);
		} else {
			CHECK_EQ(err, ERR_OK);
			if (st) {
				CHECK_EQ(store_check(st), ERR_STORE);
				CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
				CHECK_EQ(n, 5);
				struct store_post post;
				CHECK_EQ(store_post_next(st, room, NULL, 0, STORE_TS_ANY, &post),
				         ERR_OK);
				CHECK_EQ(post.post_ts, 1);
				int bad = 0;
				for (uint32_t scope = 1000; scope < 1008; scope++) {
					unsigned got = 0;
					if (store_dup_load(st, scope, 2000, count_dup, &got) ==
					    ERR_STORE)
						bad++;
				}
				CHECK(bad > 0);
				store_close(st);
			}
		}
		tmpdb_remove(p);
	}
}

/* Batching: one commit makes the batch durable; close + reopen sees it. */
static void test_batch_durable(void)
{
	char p[128];
	struct store *st = NULL;
	mkpath(p, sizeof(p), "batch.db");
	CHECK_EQ(store_open(&st, p), ERR_OK);
	if (!st)
		return;
	uint8_t k[32];
	uint32_t room = 0, n = 0;
	key(k, 800);
	CHECK_EQ(store_room_add(st, "batch", k, &room), ERR_OK);
	CHECK_EQ(store_begin(st), ERR_OK);
	for (uint32_t ts = 1; ts <= 50; ts++)
		CHECK_EQ(add_post(st, room, 1, ts, ts, "b", NULL, NULL), ERR_OK);
	CHECK_EQ(store_commit(st), ERR_OK);
	/* An open batch at close is rolled back. */
	CHECK_EQ(store_begin(st), ERR_OK);
	CHECK_EQ(add_post(st, room, 1, 51, 51, "lost", NULL, NULL), ERR_OK);
	store_close(st);
	CHECK_EQ(store_open(&st, p), ERR_OK);
	CHECK_EQ(store_post_count(st, room, &n), ERR_OK);
	CHECK_EQ(n, 50);
	store_close(st);
	tmpdb_remove(p);
}

int main(void)
{
	log_set_prefix("test_store");
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	uint32_t room = 0, other = 0;
	run_suite(":memory:", &room, &other);

	char path[128];
	mkpath(path, sizeof(path), "rooms.db");
	run_suite(path, &room, &other);
	test_reopen(path, room, other);
	test_backup(path, room, other);
	test_readonly(path, room);
	test_versions(path);
	test_full();
	test_corrupt();
	test_batch_durable();
	test_post_pages();

	tmpdb_remove(path);
	if (rmdir(dir) != 0)
		fprintf(stderr, "rmdir %s: %s\n", dir, strerror(errno));
	return harness_done("test_store");
}
