/*
 * test_limit.c - token buckets with backoff and their fixed table
 * (src/room/limit.c), the constant-time password check and the replay-mark
 * clamp of src/room/guard.c.
 */
#include <string.h>

#include "harness.h"
#include "room/guard.h"
#include "room/limit.h"

static void test_bucket(void)
{
	const struct limit_cfg c = {3, 1000, 8000};
	struct limit_bucket b;
	uint64_t t = 5000;

	limit_bucket_init(&b, &c, t);
	CHECK(limit_bucket_take(&b, &c, t));
	CHECK(limit_bucket_take(&b, &c, t));
	CHECK(limit_bucket_take(&b, &c, t));
	CHECK(!limit_bucket_take(&b, &c, t));
	CHECK(!limit_bucket_ok(&b, &c, t));
	/* emptied once: the period doubled */
	CHECK_EQ(limit_bucket_period(&b, &c), 2000);
	CHECK(!limit_bucket_ok(&b, &c, t + 1999));
	CHECK(limit_bucket_ok(&b, &c, t + 2000));
	CHECK(limit_bucket_take(&b, &c, t + 2000));
	/* emptied again: 4 s, then 8 s, then capped at 8 s */
	CHECK_EQ(limit_bucket_period(&b, &c), 4000);
	CHECK(!limit_bucket_take(&b, &c, t + 5999));
	CHECK(limit_bucket_take(&b, &c, t + 6000));
	CHECK_EQ(limit_bucket_period(&b, &c), 8000);
	CHECK(limit_bucket_take(&b, &c, t + 14000));
	CHECK_EQ(limit_bucket_period(&b, &c), 8000);
	/* a hammering client gets one token per 8 s, whatever it does */
	int got = 0;
	for (uint64_t s = t + 14001; s < t + 14000 + 80000; s += 100)
		got += limit_bucket_take(&b, &c, s);
	CHECK_EQ(got, 9);
	/* left alone it fills (3 x 8 s) and forgets the backoff one step per
	 * period spent full (8 + 4 + 2 s) */
	uint64_t u = t + 14000 + 80000 + 24000 + 14000;
	CHECK(limit_bucket_ok(&b, &c, u));
	CHECK_EQ(b.tokens, 3);
	CHECK_EQ(b.strikes, 0);
	CHECK_EQ(limit_bucket_period(&b, &c), 1000);
	/* time running backwards does not mint tokens */
	CHECK(limit_bucket_take(&b, &c, u));
	CHECK(limit_bucket_take(&b, &c, u));
	CHECK(limit_bucket_take(&b, &c, u));
	CHECK(!limit_bucket_take(&b, &c, 0));
	CHECK(!limit_bucket_take(&b, &c, 1500));
}

static void key_of(uint8_t k[LIMIT_KEY_SIZE], unsigned i)
{
	memset(k, 0, LIMIT_KEY_SIZE);
	k[0] = (uint8_t)i;
	k[1] = (uint8_t)(i >> 8);
	k[7] = 0x5A;
}

static void test_table(void)
{
	static struct limit_table t;
	const struct limit_cfg c = {2, 10000, 60000};
	uint8_t k[LIMIT_KEY_SIZE], k2[LIMIT_KEY_SIZE];
	bool emptied;

	limit_table_init(&t, &c);
	key_of(k, 1);
	key_of(k2, 2);
	/* asking creates nothing */
	CHECK(limit_table_ok(&t, k, 0));
	CHECK_EQ(limit_table_used(&t), 0);
	CHECK(limit_table_take(&t, k, 0, &emptied) && !emptied);
	CHECK(limit_table_take(&t, k, 0, &emptied) && emptied);
	CHECK(!limit_table_take(&t, k, 1, &emptied));
	CHECK(!limit_table_ok(&t, k, 1));
	/* another key is not affected */
	CHECK(limit_table_ok(&t, k2, 1));
	CHECK(limit_table_take(&t, k2, 1, NULL));
	CHECK_EQ(limit_table_used(&t), 2);

	/* 100,000 distinct keys: the table never grows past its slots, and a
	 * blocked key survives while fresh keys keep arriving (they recycle
	 * the slots of full buckets first) */
	for (unsigned i = 100; i < 100100; i++) {
		key_of(k2, i);
		limit_table_take(&t, k2, 2 + i / 1000, NULL);
		limit_table_take(&t, k2, 2 + i / 1000, NULL); /* dry: not reusable */
	}
	CHECK_EQ(limit_table_used(&t), LIMIT_SLOTS);
	CHECK(t.evictions > 0);
	CHECK_EQ(sizeof(t), sizeof(struct limit_table)); /* fixed size, nothing allocated */

	/* the oldest goes first: a key refilled recently stays */
	limit_table_init(&t, &c);
	for (unsigned i = 0; i < LIMIT_SLOTS; i++) {
		key_of(k2, 1000 + i);
		limit_table_take(&t, k2, 100 + i, NULL);
		limit_table_take(&t, k2, 100 + i, NULL);
	}
	key_of(k, 5000);
	limit_table_take(&t, k, 1000, NULL); /* evicts key 1000, the oldest */
	key_of(k2, 1000);
	CHECK(limit_table_ok(&t, k2, 1000));
	key_of(k2, 1001);
	CHECK(!limit_table_ok(&t, k2, 1000));
}

static void test_password(void)
{
	CHECK_EQ(guard_password("password", 8, "password", "hello"), GUARD_PW_ADMIN);
	CHECK_EQ(guard_password("hello", 5, "password", "hello"), GUARD_PW_GUEST);
	CHECK_EQ(guard_password("hell", 4, "password", "hello"), GUARD_PW_NONE);
	CHECK_EQ(guard_password("hello!", 6, "password", "hello"), GUARD_PW_NONE);
	CHECK_EQ(guard_password("", 0, "password", "hello"), GUARD_PW_NONE);
	/* an empty stored password matches nothing (issue 13.12; in the firmware
	 * an empty guest password makes every blank login read-write, §7.2, and
	 * an empty admin password every blank login admin) */
	CHECK_EQ(guard_password("", 0, "password", ""), GUARD_PW_NONE);
	CHECK_EQ(guard_password("", 0, "", "hello"), GUARD_PW_NONE);
	/* 15 characters is the most; a 16th makes any guess wrong */
	CHECK_EQ(guard_password("abcdefghijklmno", 15, "abcdefghijklmno", "x"), GUARD_PW_ADMIN);
	CHECK_EQ(guard_password("abcdefghijklmnop", 16, "abcdefghijklmno", "x"), GUARD_PW_NONE);
	/* bytes after the guess's length are not looked at */
	CHECK_EQ(guard_password("secretXYZ", 6, "secret", "x"), GUARD_PW_ADMIN);
	/* both equal: admin wins, as the firmware checks admin first */
	CHECK_EQ(guard_password("same", 4, "same", "same"), GUARD_PW_ADMIN);
}

static void test_ts_mark(void)
{
	uint32_t rtc = 1750000000;
	CHECK_EQ(guard_ts_mark(rtc - 100, rtc), rtc - 100);
	CHECK_EQ(guard_ts_mark(rtc + GUARD_TS_SKEW_S, rtc), rtc + GUARD_TS_SKEW_S);
	CHECK_EQ(guard_ts_mark(rtc + GUARD_TS_SKEW_S + 1, rtc), rtc + GUARD_TS_SKEW_S);
	CHECK_EQ(guard_ts_mark(UINT32_MAX, rtc), rtc + GUARD_TS_SKEW_S);
	CHECK_EQ(guard_ts_mark(UINT32_MAX, UINT32_MAX - 5), UINT32_MAX);
}

static void test_dups(void)
{
	static struct guard g;
	uint8_t h[PKT_HASH_SIZE] = {0};
	guard_init(&g, 0);
	for (unsigned i = 0; i < GUARD_DUP_MAX + 10; i++) {
		memcpy(h, &i, sizeof(i));
		guard_dup_add(&g, h);
	}
	unsigned i = 9;
	memcpy(h, &i, sizeof(i));
	CHECK(!guard_dup_seen(&g, h)); /* pushed out */
	i = 10;
	memcpy(h, &i, sizeof(i));
	CHECK(guard_dup_seen(&g, h));
	i = GUARD_DUP_MAX + 9;
	memcpy(h, &i, sizeof(i));
	CHECK(guard_dup_seen(&g, h));
	CHECK_EQ(g.dup_n, GUARD_DUP_MAX);
}

int main(void)
{
	test_bucket();
	test_table();
	test_password();
	test_ts_mark();
	test_dups();
	return harness_done("test_limit");
}
