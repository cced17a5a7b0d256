/*
 * test_fed.c - federation messages (src/fed/fedmsg.c): every kind round-trips,
 * a message signed by another room, a flipped bit anywhere, a cut message and
 * garbage are refused with the verdict they are counted under.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fed/fedmsg.h"
#include "harness.h"
#include "store/store.h"
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
	m.sent_ts = 1700000100;
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
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_EQ(d.u.member.perms, 2);
	CHECK_EQ(d.u.member.sync_since, 5);
	CHECK_EQ(d.u.member.last_ts, 6);
	CHECK_EQ(d.u.member.heard_ts, 7);
	CHECK_STR(d.u.member.heard, "b");

	memset(&m, 0, sizeof(m));
	m.kind = FED_HELLO;
	strcpy(m.site, "a");
	m.u.hello.flags = FED_HELLO_ANSWER;
	m.u.hello.n = FED_HELLO_MAX;
	for (unsigned i = 0; i < FED_HELLO_MAX; i++) {
		snprintf(m.u.hello.hw[i].site, sizeof(m.u.hello.hw[i].site), "s%u", i);
		m.u.hello.hw[i].hw = (uint64_t)i << 33 | i;
	}
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(fed_decode(buf, len, room.pub, &d), FED_OK);
	CHECK_EQ(d.u.hello.n, FED_HELLO_MAX);
	CHECK_STR(d.u.hello.hw[31].site, "s31");
	CHECK(d.u.hello.hw[31].hw == ((uint64_t)31 << 33 | 31));
	m.u.hello.n = FED_HELLO_MAX + 1;
	CHECK_EQ(fed_encode(&m, &room, buf, sizeof(buf), &len), ERR_INVAL);

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

int main(void)
{
	if (crypto_init())
		return 1;
	seed_ident(&room, 1);
	seed_ident(&other, 2);
	test_round_trip();
	test_refused();
	test_store_apply();
	return harness_done("test_fed");
}
