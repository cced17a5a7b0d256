/*
 * fuzz_fed.c - libFuzzer target for the federation message decoder
 * (src/fed/fedmsg.c).
 *
 * The input is decoded as it came (a foreign room, a bad signature or garbage:
 * never a crash), then once more with the room's key written into its header
 * and its tail re-signed by the room, so the body parsers are reached with a
 * valid signature too.  A message that decodes must encode back to exactly
 * the bytes it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fed/fedmsg.h"

static struct ident room;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FED_MSG_MAX + 1], again[FED_MSG_MAX];
	struct fed_msg m;
	size_t len;

	if (!ready) {
		uint8_t seed[CRYPTO_SEED_SIZE];
		if (crypto_init())
			abort();
		memset(seed, 1, sizeof(seed));
		ident_from_seed(&room, seed);
		ready = 1;
	}
	(void)fed_decode(data, size, room.pub, &m);
	if (size > FED_MSG_MAX || size < 5 + CRYPTO_PUB_SIZE + CRYPTO_SIG_SIZE)
		return 0;
	memcpy(buf, data, size);
	memcpy(buf, FED_MAGIC, 4);
	memcpy(buf + 5, room.pub, CRYPTO_PUB_SIZE);
	if (ident_sign(&room, buf, size - CRYPTO_SIG_SIZE, buf + size - CRYPTO_SIG_SIZE))
		abort();
	int v = fed_decode(buf, size, room.pub, &m);
	if (v != FED_OK && v != FED_GARBAGE)
		abort(); /* our key, signed by us: only garbage may be refused */
	if (v == FED_OK && m.kind == FED_SETTINGS && fed_settings_open(&m, &room) != 0)
		return 0; /* not passwords: the receiver drops it too (fed.c) */
	if (v == FED_OK) {
		if (fed_encode(&m, &room, again, sizeof(again), &len) || len != size ||
		    memcmp(again, buf, size) != 0)
			abort();
	}
	return 0;
}
