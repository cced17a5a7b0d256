/*
 * limit.h - token buckets with backoff, alone or in a fixed table keyed by a
 * short key (the first bytes of a public key).  Used by the room to slow
 * down password guessing (PROTOCOL.md §7.2) and flood replies (§6.10).
 *
 * A bucket holds up to `burst` tokens and gets one back every period.  Each
 * time a take empties it, the period doubles (up to max_period_ms): a
 * client that keeps hammering gets ever rarer tokens.  A full bucket forgets
 * one doubling per (current) period it stays full and untouched.
 *
 * The table has LIMIT_SLOTS slots and never allocates: a new key takes a
 * free slot, else a slot whose bucket is full again (that loses nothing),
 * else the least recently refilled one.  So an attacker with many keys
 * costs no memory; rotating through more keys than there are slots escapes
 * the per-key limit, which is why callers pair a table with a global bucket.
 *
 * Pure: time is a monotonic millisecond count passed in.
 */
#ifndef ROOMD_ROOM_LIMIT_H
#define ROOMD_ROOM_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define LIMIT_KEY_SIZE 8
#define LIMIT_SLOTS    64

struct limit_cfg {
	uint32_t burst;         /* tokens in a full bucket, >= 1 */
	uint32_t period_ms;     /* one token back per period, >= 1 */
	uint32_t max_period_ms; /* backoff cap; <= period_ms means no backoff */
};

struct limit_bucket {
	uint64_t stamp_ms; /* the time the token count is up to date for */
	uint32_t tokens;
	uint8_t strikes; /* times emptied since it was last full: the backoff */
};

/* A full bucket at now_ms. */
void limit_bucket_init(struct limit_bucket *b, const struct limit_cfg *c, uint64_t now_ms);
/* True if a token is there (after refilling up to now_ms); takes none. */
bool limit_bucket_ok(struct limit_bucket *b, const struct limit_cfg *c, uint64_t now_ms);
/* Takes a token: true if there was one, false (and nothing changes) if not. */
bool limit_bucket_take(struct limit_bucket *b, const struct limit_cfg *c, uint64_t now_ms);
/* The current refill period with backoff. */
uint32_t limit_bucket_period(const struct limit_bucket *b, const struct limit_cfg *c);

struct limit_slot {
	uint8_t key[LIMIT_KEY_SIZE];
	struct limit_bucket b;
	bool used;
};

struct limit_table {
	struct limit_cfg cfg;
	struct limit_slot slot[LIMIT_SLOTS];
	uint32_t evictions; /* slots reused while their bucket was not full */
};

void limit_table_init(struct limit_table *t, const struct limit_cfg *cfg);
/* True if key may take a token now; a key without a slot may (nothing is created). */
bool limit_table_ok(struct limit_table *t, const uint8_t key[LIMIT_KEY_SIZE], uint64_t now_ms);
/*
 * Takes a token for key, giving it a slot if it has none.  False if its
 * bucket is empty.  *emptied (may be NULL) is set when this take emptied it.
 */
bool limit_table_take(struct limit_table *t, const uint8_t key[LIMIT_KEY_SIZE], uint64_t now_ms,
                      bool *emptied);
/* Slots in use (for tests and stats). */
unsigned limit_table_used(const struct limit_table *t);

#endif
