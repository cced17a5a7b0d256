/* test_crypto.c - identities, signatures, ECDH and encrypt-then-MAC
 * against the worked examples of PROTOCOL.md §12, plus failure paths. */
#include <string.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "util/err.h"
#include "util/hex.h"

static void unhex(uint8_t *out, size_t cap, const char *s)
{
	int n = hex_decode(out, cap, s, strlen(s));
	CHECK(n >= 0);
}

static void test_keys(void)
{
	uint8_t seed[32], prv[64], pub[32], cpub[32], secret[32], secret2[32], want[32];
	struct ident r, c, imported;

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	ident_from_seed(&r, seed);
	unhex(prv, sizeof(prv),
	      "3894eea49c580aef816935762be049559d6d1440dede12e6a125f1841fff8e6f"
	      "a9d71862a3e5746b571be3d187b0041046f52ebd850c7cbd5fde8ee38473b649");
	unhex(pub, sizeof(pub), "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
	CHECK_MEM(r.prv, prv, 64);
	CHECK_MEM(r.pub, pub, 32);

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0x20 + i);
	ident_from_seed(&c, seed);
	unhex(cpub, sizeof(cpub),
	      "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7");
	CHECK_MEM(c.pub, cpub, 32);

	unhex(want, sizeof(want),
	      "f6f92efb32945aff683324a1c984c5001f46aaea513f3453138d740b3a604b7d");
	CHECK_EQ(ident_shared_secret(&r, c.pub, secret), ERR_OK);
	CHECK_EQ(ident_shared_secret(&c, r.pub, secret2), ERR_OK);
	CHECK_MEM(secret, want, 32);
	CHECK_MEM(secret2, want, 32);

	/* import of the expanded key alone gives the same public key */
	CHECK_EQ(ident_from_prv(&imported, r.prv), ERR_OK);
	CHECK_MEM(imported.pub, r.pub, 32);
	/* unclamped scalars are refused (§3.6) */
	memcpy(prv, r.prv, 64);
	prv[0] |= 1;
	CHECK_EQ(ident_from_prv(&imported, prv), ERR_CRYPTO);
	/* and the output is zeroed, as crypto.h promises (it was left as is) */
	static const struct ident zero_id;
	CHECK_MEM(&imported, &zero_id, sizeof(zero_id));
	memcpy(prv, r.prv, 64);
	prv[31] &= 0xBF;
	CHECK_EQ(ident_from_prv(&imported, prv), ERR_CRYPTO);

	/* identity file round trip, and a file whose pub does not match */
	uint8_t file[96];
	ident_encode(&r, file);
	CHECK_EQ(ident_decode(&imported, file, sizeof(file)), ERR_OK);
	CHECK_MEM(imported.prv, r.prv, 64);
	file[5] ^= 1;
	CHECK_EQ(ident_decode(&imported, file, sizeof(file)), ERR_CRYPTO);
	CHECK_MEM(&imported, &zero_id, sizeof(zero_id));
	imported = r;
	CHECK_EQ(ident_decode(&imported, file, 95), ERR_CRYPTO);
	CHECK_MEM(&imported, &zero_id, sizeof(zero_id));

	/* a public key that is not a curve point gives no secret */
	uint8_t bad[32];
	memset(bad, 0, sizeof(bad));
	bad[0] = 1; /* the identity point: small order */
	CHECK_EQ(ident_shared_secret(&r, bad, secret), ERR_CRYPTO);
}

static void test_sign(void)
{
	uint8_t seed[32], msg[200], sig[64], want[64], app[17];
	struct ident r;
	size_t n = 0;

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	ident_from_seed(&r, seed);
	/* the §12 room advert: pub || ts || app_data */
	memcpy(msg, r.pub, 32);
	n = 32;
	unhex(msg + n, 4, "74877467");
	n += 4;
	unhex(app, sizeof(app), "9300000000000000005465737420424253");
	memcpy(msg + n, app, sizeof(app));
	n += sizeof(app);
	unhex(want, sizeof(want),
	      "417794220ca9be3023ec8f82ed6a3945f3b850152c7a371eb94cb40164f599ea"
	      "dbf382edc6098fd62f6f536f3dd31401c047d15d251e7eaea8cc3d6f0a154f05");
	CHECK_EQ(ident_sign(&r, msg, n, sig), ERR_OK);
	CHECK_MEM(sig, want, 64);
	CHECK_EQ(ident_verify(r.pub, msg, n, sig), ERR_OK);
	sig[10] ^= 0x40;
	CHECK_EQ(ident_verify(r.pub, msg, n, sig), ERR_AUTH);
	sig[10] ^= 0x40;
	msg[40] ^= 1;
	CHECK_EQ(ident_verify(r.pub, msg, n, sig), ERR_AUTH);

	/* a generated identity signs and verifies too, and has no reserved hash byte */
	struct ident g;
	CHECK_EQ(ident_generate(&g, crypto_rng_system()), ERR_OK);
	CHECK(g.pub[0] != 0 && g.pub[0] != 0xFF);
	CHECK_EQ(ident_sign(&g, msg, n, sig), ERR_OK);
	CHECK_EQ(ident_verify(g.pub, msg, n, sig), ERR_OK);
}

static void test_cipher(void)
{
	uint8_t secret[32], pt[13], out[64], back[64], want[18];
	size_t len, blen;

	unhex(secret, sizeof(secret),
	      "f6f92efb32945aff683324a1c984c5001f46aaea513f3453138d740b3a604b7d");
	unhex(pt, sizeof(pt), "808574670000000068656c6c6f");
	unhex(want, sizeof(want), "24730ca7cbc41c72c47b6ecf960791d00fb9");
	CHECK_EQ(cipher_encrypt(secret, pt, sizeof(pt), out, sizeof(out), &len), ERR_OK);
	CHECK_EQ(len, 18);
	CHECK_MEM(out, want, 18);
	CHECK_EQ(cipher_decrypt(secret, out, len, back, sizeof(back), &blen), ERR_OK);
	CHECK_EQ(blen, 16);
	CHECK_MEM(back, pt, sizeof(pt));
	CHECK(back[13] == 0 && back[14] == 0 && back[15] == 0);

	/* a flipped MAC or ciphertext bit is refused and the output zeroed */
	out[0] ^= 1;
	CHECK_EQ(cipher_decrypt(secret, out, len, back, sizeof(back), &blen), ERR_AUTH);
	CHECK_EQ(blen, 0);
	out[0] ^= 1;
	out[9] ^= 0x80;
	CHECK_EQ(cipher_decrypt(secret, out, len, back, sizeof(back), &blen), ERR_AUTH);
	out[9] ^= 0x80;
	/* not a multiple of 16, or nothing after the MAC: refused before the MAC,
	 * and the output zeroed as for every failure (issue 15: it was left as is) */
	uint8_t zero[sizeof(back)] = {0};
	memset(back, 0xAA, sizeof(back));
	CHECK_EQ(cipher_decrypt(secret, out, len - 1, back, sizeof(back), &blen), ERR_FORMAT);
	CHECK_MEM(back, zero, sizeof(back));
	memset(back, 0xAA, sizeof(back));
	CHECK_EQ(cipher_decrypt(secret, out, len, back, 8, &blen), ERR_TOO_BIG);
	CHECK_MEM(back, zero, 8);
	CHECK_EQ(back[8], 0xAA);
	CHECK_EQ(cipher_decrypt(secret, out, 2, back, sizeof(back), &blen), ERR_FORMAT);
	CHECK_EQ(cipher_decrypt(secret, out, 0, back, sizeof(back), &blen), ERR_FORMAT);
	/* output capacity is respected */
	CHECK_EQ(cipher_encrypt(secret, pt, sizeof(pt), out, 17, &len), ERR_TOO_BIG);
	CHECK_EQ(cipher_decrypt(secret, want, 18, back, 15, &blen), ERR_TOO_BIG);
	/* empty plaintext: empty ciphertext, MAC only */
	CHECK_EQ(cipher_encrypt(secret, pt, 0, out, sizeof(out), &len), ERR_OK);
	CHECK_EQ(len, 2);
	CHECK(crypto_equal("abc", "abc", 3));
	CHECK(!crypto_equal("abc", "abd", 3));
}

/* Bit 255 of an Ed25519 key is the only alias of a peer's X25519 identity
 * (crypto.h): the flipped key gives the same secret, and no y below 19,
 * canonical or not (y + p), converts at all. */
static void test_key_alias(void)
{
	uint8_t seed[32], flipped[32], canon[32], s1[32], s2[32], k[32];
	struct ident r, c;

	memset(seed, 3, sizeof(seed));
	ident_from_seed(&r, seed);
	for (unsigned i = 0; i < 8; i++) {
		memset(seed, (int)(0x40 + i), sizeof(seed));
		ident_from_seed(&c, seed);
		memcpy(flipped, c.pub, 32);
		flipped[31] ^= 0x80;
		CHECK_EQ(ident_shared_secret(&r, c.pub, s1), ERR_OK);
		CHECK_EQ(ident_shared_secret(&r, flipped, s2), ERR_OK);
		CHECK_MEM(s1, s2, 32);
		CHECK(ident_key_same(c.pub, flipped));
		ident_key_canonical(canon, flipped);
		CHECK(ident_key_same(canon, c.pub));
		CHECK_EQ(canon[31] & 0x80, 0);
		flipped[0] ^= 1;
		CHECK(!ident_key_same(c.pub, flipped));
		flipped[0] ^= 1;
		flipped[31] ^= 0x01;
		CHECK(!ident_key_same(c.pub, flipped));
	}
	for (unsigned y = 0; y < 19; y++) {
		for (unsigned sign = 0; sign < 2; sign++) {
			memset(k, 0, sizeof(k));
			k[0] = (uint8_t)y;
			k[31] = (uint8_t)(sign << 7);
			CHECK_EQ(ident_shared_secret(&r, k, s1), ERR_CRYPTO);
			memset(k, 0xFF, sizeof(k));
			k[0] = (uint8_t)(0xED + y); /* y + p */
			k[31] = (uint8_t)(0x7F | (sign << 7));
			CHECK_EQ(ident_shared_secret(&r, k, s1), ERR_CRYPTO);
		}
	}
}

int main(void)
{
	if (crypto_init() != ERR_OK)
		return 1;
	test_keys();
	test_sign();
	test_cipher();
	test_key_alias();
	return harness_done("test_crypto");
}
