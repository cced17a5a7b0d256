/*
 * limit.c - token buckets with backoff and the fixed table of them (see
 * limit.h).  Integer arithmetic only; the refill loops run at most `burst`
 * plus 32 times per call.
 */
#include <string.h>

#include "room/limit.h"

uint32_t limit_bucket_period(const struct limit_bucket *b, const struct limit_cfg *c)
{
	uint64_t p = c->period_ms ? c->period_ms : 1;
	for (unsigned i = 0; i < b->strikes && p < c->max_period_ms; i++)
		p *= 2;
	if (p > c->max_period_ms && c->max_period_ms > c->period_ms)
		p = c->max_period_ms;
	return (uint32_t)p;
}

void limit_bucket_init(struct limit_bucket *b, const struct limit_cfg *c, uint64_t now_ms)
{
	b->stamp_ms = now_ms;
	b->tokens = c->burst;
	b->strikes = 0;
}

static void refill(struct limit_bucket *b, const struct limit_cfg *c, uint64_t now_ms)
{
	if (now_ms < b->stamp_ms) {
		b->stamp_ms = now_ms; /* time never runs back; be safe if it did */
		return;
	}
	while (b->tokens < c->burst) {
		uint32_t p = limit_bucket_period(b, c);
		if (now_ms - b->stamp_ms < p)
			return;
		b->stamp_ms += p;
		b->tokens++;
	}
	/* full: each further period spent full forgets one step of backoff */
	while (b->strikes) {
		uint32_t p = limit_bucket_period(b, c);
		if (now_ms - b->stamp_ms < p)
			return;
		b->stamp_ms += p;
		b->strikes--;
	}
	b->stamp_ms = now_ms;
}

bool limit_bucket_ok(struct limit_bucket *b, const struct limit_cfg *c, uint64_t now_ms)
{
	refill(b, c, now_ms);
	return b->tokens > 0;
}

bool limit_bucket_take(struct limit_bucket *b, const struct limit_cfg *c, uint64_t now_ms)
{
	refill(b, c, now_ms);
	if (!b->tokens)
		return false;
	if (b->tokens == c->burst)
		b->stamp_ms = now_ms; /* the refill clock starts at the first take */
	b->tokens--;
	if (!b->tokens && limit_bucket_period(b, c) < c->max_period_ms)
		b->strikes++; /* no further than the cap, so that it decays quickly */
	return true;
}

void limit_table_init(struct limit_table *t, const struct limit_cfg *cfg)
{
	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
}

static struct limit_slot *find(struct limit_table *t, const uint8_t key[LIMIT_KEY_SIZE])
{
	for (unsigned i = 0; i < LIMIT_SLOTS; i++)
		if (t->slot[i].used && memcmp(t->slot[i].key, key, LIMIT_KEY_SIZE) == 0)
			return &t->slot[i];
	return NULL;
}

/* A slot for a new key: free, else full again (no loss), else least recently refilled. */
static struct limit_slot *claim(struct limit_table *t, uint64_t now_ms)
{
	struct limit_slot *oldest = NULL;
	for (unsigned i = 0; i < LIMIT_SLOTS; i++) {
		struct limit_slot *s = &t->slot[i];
		if (!s->used)
			return s;
		refill(&s->b, &t->cfg, now_ms);
		if (s->b.tokens == t->cfg.burst && !s->b.strikes)
			return s;
		if (!oldest || s->b.stamp_ms < oldest->b.stamp_ms)
			oldest = s;
	}
	t->evictions++;
	return oldest;
}

bool limit_table_ok(struct limit_table *t, const uint8_t key[LIMIT_KEY_SIZE], uint64_t now_ms)
{
	struct limit_slot *s = find(t, key);
	return !s || limit_bucket_ok(&s->b, &t->cfg, now_ms);
}

bool limit_table_take(struct limit_table *t, const uint8_t key[LIMIT_KEY_SIZE], uint64_t now_ms,
                      bool *emptied)
{
	struct limit_slot *s = find(t, key);
	if (emptied)
		*emptied = false;
	if (!s) {
		s = claim(t, now_ms);
		memcpy(s->key, key, LIMIT_KEY_SIZE);
		s->used = true;
		limit_bucket_init(&s->b, &t->cfg, now_ms);
	}
	if (!limit_bucket_take(&s->b, &t->cfg, now_ms))
		return false;
	if (emptied)
		*emptied = s->b.tokens == 0;
	return true;
}

unsigned limit_table_used(const struct limit_table *t)
{
	unsigned n = 0;
	for (unsigned i = 0; i < LIMIT_SLOTS; i++)
		n += t->slot[i].used;
	return n;
}
