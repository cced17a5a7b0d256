/* rng.c - the seeded generator of rng.h (xorshift64*, Vigna 2014). */
#include "util/rng.h"

static void seeded_fill(void *ctx, uint8_t *buf, size_t n)
{
	struct rng_seeded *s = ctx;
	for (size_t i = 0; i < n; i++) {
		s->state ^= s->state >> 12;
		s->state ^= s->state << 25;
		s->state ^= s->state >> 27;
		buf[i] = (uint8_t)((s->state * 2685821657736338717ULL) >> 56);
	}
}

void rng_seeded_init(struct rng_seeded *s, struct rng *out, uint64_t seed)
{
	s->state = seed ? seed : 0x9E3779B97F4A7C15ULL;
	out->fill = seeded_fill;
	out->ctx = s;
}
