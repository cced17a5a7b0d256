/*
 * rng.h - an injected source of random bytes.
 *
 * The protocol core never calls a random-number generator itself: it is
 * handed a struct rng.  The programs pass crypto_rng_system() (libsodium's
 * randombytes); tests and virtual-time simulations pass a scripted or seeded
 * source so that runs are reproducible.
 */
#ifndef ROOMD_UTIL_RNG_H
#define ROOMD_UTIL_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	void (*fill)(void *ctx, uint8_t *buf, size_t n);
	void *ctx;
};

static inline void rng_fill(const struct rng *r, void *buf, size_t n)
{
	r->fill(r->ctx, (uint8_t *)buf, n);
}

static inline uint32_t rng_u32(const struct rng *r)
{
	uint8_t b[4];
	r->fill(r->ctx, b, 4);
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	       ((uint32_t)b[3] << 24);
}

/*
 * The firmware's RNG::nextInt(min, max): min + (r mod (max - min)), the range
 * [min, max).  max must be greater than min.
 */
static inline uint32_t rng_range(const struct rng *r, uint32_t min, uint32_t max)
{
	return min + rng_u32(r) % (max - min);
}

/*
 * A small deterministic generator (xorshift64*) for simulations and tests:
 * not for keys.  The state must be seeded non-zero.
 */
struct rng_seeded {
	uint64_t state;
};
void rng_seeded_init(struct rng_seeded *s, struct rng *out, uint64_t seed);

#endif
