/*
 * fuzz.h - what the libFuzzer targets with fixed identities share: the
 * harness check and the one-time setup.  Header-only, since each target is
 * built from its one .c file (see the Makefile's fuzz rule).
 */
#ifndef ROOMD_TESTS_FUZZ_H
#define ROOMD_TESTS_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "crypto/crypto.h"
#include "proto/packet.h"
#include "util/err.h"
#include "util/log.h"

/* A broken harness invariant or oracle: stop here, the input found something. */
#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

/*
 * Readies the crypto library and logs errors only, on the first call;
 * true on that call, for the target's own one-time setup.
 */
static inline bool fuzz_first_setup(void)
{
	static bool done;
	if (done)
		return false;
	done = true;
	REQUIRE(crypto_init() == ERR_OK);
	log_set_level(LOG_ERR);
	return true;
}

/*
 * The oracle of every transmission: none while the radio is still busy with
 * the last, and each frame fits the radio and decodes (into *p).
 */
static inline void fuzz_check_tx(bool busy, const uint8_t *frame, size_t len, struct pkt *p)
{
	REQUIRE(!busy);
	REQUIRE(len >= 2 && len <= PKT_MAX_FRAME);
	REQUIRE(pkt_decode(p, frame, len) == ERR_OK);
}

/* A fixed identity: its seed is CRYPTO_SEED_SIZE bytes of b. */
static inline void fuzz_ident(struct ident *id, uint8_t b)
{
	uint8_t seed[CRYPTO_SEED_SIZE];
	memset(seed, b, sizeof(seed));
	ident_from_seed(id, seed);
}

#endif
