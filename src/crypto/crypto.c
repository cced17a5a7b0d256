/*
 * crypto.c - identities, signatures, ECDH and encrypt-then-MAC for MeshCore
 * (PROTOCOL.md §3, §4), on libsodium and Nettle's AES-128.
 *
 * The firmware keeps a 64-byte expanded private key (SHA-512(seed), clamped)
 * and nothing else, so every operation here works from that key alone:
 * signing is composed from libsodium's Ed25519 scalar primitives exactly as
 * RFC 8032 signs (§3.5 caveat 4), and the X25519 scalar is prv[0..31] used
 * directly, never re-hashed (caveat 1).
 */
#include <string.h>

#include <nettle/aes.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "util/err.h"

int crypto_init(void)
{
	return sodium_init() < 0 ? ERR_CRYPTO : ERR_OK;
}

static void system_fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

const struct rng *crypto_rng_system(void)
{
	static const struct rng sys = {system_fill, NULL};
	return &sys;
}

static void clamp(uint8_t s[32])
{
	s[0] &= 0xF8;
	s[31] &= 0x3F;
	s[31] |= 0x40;
}

/* pub = a * B with a = prv[0..31] taken as is (ed25519_derive_pub). */
static int derive_pub(uint8_t pub[CRYPTO_PUB_SIZE], const uint8_t prv[CRYPTO_PRV_SIZE])
{
	uint8_t wide[64], a[32];
	int rc = ERR_OK;

	memcpy(wide, prv, 32);
	memset(wide + 32, 0, 32);
	crypto_core_ed25519_scalar_reduce(a, wide);
	if (crypto_scalarmult_ed25519_base_noclamp(pub, a) != 0)
		rc = ERR_CRYPTO;
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(a, sizeof(a));
	return rc;
}

void ident_from_seed(struct ident *id, const uint8_t seed[CRYPTO_SEED_SIZE])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	crypto_hash_sha512(id->prv, seed, CRYPTO_SEED_SIZE);
	clamp(id->prv);
	crypto_sign_seed_keypair(id->pub, sk, seed);
	sodium_memzero(sk, sizeof(sk));
}

int ident_generate(struct ident *id, const struct rng *rng)
{
	uint8_t seed[CRYPTO_SEED_SIZE];

	for (int tries = 0; tries < 10; tries++) {
		rng_fill(rng, seed, sizeof(seed));
		ident_from_seed(id, seed);
		sodium_memzero(seed, sizeof(seed));
		if (id->pub[0] != 0x00 && id->pub[0] != 0xFF)
			return ERR_OK;
	}
	ident_wipe(id);
	return ERR_CRYPTO;
}

/*
 * LocalIdentity::validatePrivateKey accepts exactly the keys whose scalar is
 * already clamped and whose public key does not start with a reserved hash
 * byte (§3.6); testing those properties directly is equivalent.
 */
int ident_from_prv(struct ident *id, const uint8_t prv[CRYPTO_PRV_SIZE])
{
	uint8_t pub[CRYPTO_PUB_SIZE];

	if ((prv[0] & 0x07) || (prv[31] & 0x80) || !(prv[31] & 0x40) || derive_pub(pub, prv) ||
	    pub[0] == 0x00 || pub[0] == 0xFF) {
		ident_wipe(id); /* the output is zeroed on failure (crypto.h) */
		return ERR_CRYPTO;
	}
	memcpy(id->pub, pub, sizeof(pub));
	memcpy(id->prv, prv, CRYPTO_PRV_SIZE);
	return ERR_OK;
}

void ident_encode(const struct ident *id, uint8_t out[CRYPTO_IDENT_FILE_SIZE])
{
	memcpy(out, id->pub, CRYPTO_PUB_SIZE);
	memcpy(out + CRYPTO_PUB_SIZE, id->prv, CRYPTO_PRV_SIZE);
}

int ident_decode(struct ident *id, const uint8_t *in, size_t len)
{
	struct ident tmp;

	if (len < CRYPTO_IDENT_FILE_SIZE || ident_from_prv(&tmp, in + CRYPTO_PUB_SIZE) != ERR_OK ||
	    sodium_memcmp(tmp.pub, in, CRYPTO_PUB_SIZE) != 0) {
		ident_wipe(&tmp);
		ident_wipe(id); /* the output is zeroed on failure (crypto.h) */
		return ERR_CRYPTO;
	}
	*id = tmp;
	ident_wipe(&tmp);
	return ERR_OK;
}

void ident_wipe(struct ident *id)
{
	sodium_memzero(id, sizeof(*id));
}

static void hash_reduce(uint8_t out[32], const uint8_t *a, size_t a_len, const uint8_t *b,
                        size_t b_len, const uint8_t *m, size_t m_len)
{
	crypto_hash_sha512_state st;
	uint8_t h[64];

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, a, a_len);
	if (b_len)
		crypto_hash_sha512_update(&st, b, b_len);
	crypto_hash_sha512_update(&st, m, m_len);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(out, h);
	sodium_memzero(h, sizeof(h));
	sodium_memzero(&st, sizeof(st));
}

/* RFC 8032 signing from the expanded key: r = H(prefix||M), R = rB,
 * h = H(R||A||M), S = r + h*a (mod L). */
int ident_sign(const struct ident *id, const uint8_t *msg, size_t len, uint8_t sig[CRYPTO_SIG_SIZE])
{
	uint8_t r[32], h[32], a[32], ha[32], wide[64];
	int rc = ERR_OK;

	hash_reduce(r, id->prv + 32, 32, NULL, 0, msg, len);
	if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0) {
		rc = ERR_CRYPTO;
		goto out;
	}
	hash_reduce(h, sig, 32, id->pub, CRYPTO_PUB_SIZE, msg, len);
	memcpy(wide, id->prv, 32);
	memset(wide + 32, 0, 32);
	crypto_core_ed25519_scalar_reduce(a, wide);
	crypto_core_ed25519_scalar_mul(ha, h, a);
	crypto_core_ed25519_scalar_add(sig + 32, ha, r);
out:
	if (rc)
		memset(sig, 0, CRYPTO_SIG_SIZE);
	sodium_memzero(r, sizeof(r));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(ha, sizeof(ha));
	sodium_memzero(wide, sizeof(wide));
	return rc;
}

int ident_verify(const uint8_t pub[CRYPTO_PUB_SIZE], const uint8_t *msg, size_t len,
                 const uint8_t sig[CRYPTO_SIG_SIZE])
{
	return crypto_sign_verify_detached(sig, msg, len, pub) == 0 ? ERR_OK : ERR_AUTH;
}

int ident_shared_secret(const struct ident *id, const uint8_t peer_pub[CRYPTO_PUB_SIZE],
                        uint8_t secret[CRYPTO_SECRET_SIZE])
{
	uint8_t xpk[crypto_scalarmult_BYTES];

	/* crypto_scalarmult clamps the scalar exactly as the firmware does. */
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, peer_pub) != 0 ||
	    crypto_scalarmult(secret, id->prv, xpk) != 0) {
		sodium_memzero(secret, CRYPTO_SECRET_SIZE);
		return ERR_CRYPTO;
	}
	return ERR_OK;
}

void ident_key_canonical(uint8_t out[CRYPTO_PUB_SIZE], const uint8_t pub[CRYPTO_PUB_SIZE])
{
	if (out != pub)
		memcpy(out, pub, CRYPTO_PUB_SIZE);
	out[CRYPTO_PUB_SIGN_BYTE] &= (uint8_t)~CRYPTO_PUB_SIGN_BIT;
}

int ident_key_same(const uint8_t a[CRYPTO_PUB_SIZE], const uint8_t b[CRYPTO_PUB_SIZE])
{
	return memcmp(a, b, CRYPTO_PUB_SIGN_BYTE) == 0 &&
	       ((a[CRYPTO_PUB_SIGN_BYTE] ^ b[CRYPTO_PUB_SIGN_BYTE]) & ~CRYPTO_PUB_SIGN_BIT) == 0;
}

static void mac2(uint8_t mac[CRYPTO_MAC_SIZE], const uint8_t secret[CRYPTO_SECRET_SIZE],
                 const uint8_t *ct, size_t n)
{
	uint8_t full[CRYPTO_HASH_SIZE];

	hmac_sha256(full, secret, CRYPTO_SECRET_SIZE, ct, n);
	memcpy(mac, full, CRYPTO_MAC_SIZE);
}

int cipher_encrypt(const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t pt_len,
                   uint8_t *out, size_t cap, size_t *out_len)
{
	struct aes128_ctx aes;
	uint8_t block[CRYPTO_BLOCK_SIZE];
	size_t padded = (pt_len + CRYPTO_BLOCK_SIZE - 1) / CRYPTO_BLOCK_SIZE * CRYPTO_BLOCK_SIZE;

	if (cap < CRYPTO_MAC_SIZE || cap - CRYPTO_MAC_SIZE < padded)
		return ERR_TOO_BIG;
	aes128_set_encrypt_key(&aes, secret);
	/* ECB: each block on its own; the last one zero-padded (§4). */
	for (size_t off = 0; off < padded; off += CRYPTO_BLOCK_SIZE) {
		size_t n = pt_len - off < CRYPTO_BLOCK_SIZE ? pt_len - off : CRYPTO_BLOCK_SIZE;
		memset(block, 0, sizeof(block));
		memcpy(block, pt + off, n);
		aes128_encrypt(&aes, CRYPTO_BLOCK_SIZE, out + CRYPTO_MAC_SIZE + off, block);
	}
	mac2(out, secret, out + CRYPTO_MAC_SIZE, padded);
	*out_len = CRYPTO_MAC_SIZE + padded;
	sodium_memzero(&aes, sizeof(aes));
	sodium_memzero(block, sizeof(block));
	return ERR_OK;
}

int cipher_decrypt(const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *in, size_t len,
                   uint8_t *out, size_t cap, size_t *out_len)
{
	struct aes128_ctx aes;
	uint8_t mac[CRYPTO_MAC_SIZE];
	size_t ct_len;

	*out_len = 0;
	/* The firmware would decrypt a partial last block from beyond its
	 * buffer; such input never comes from an honest peer, so it is refused
	 * before any other work. */
	if (len <= CRYPTO_MAC_SIZE || (len - CRYPTO_MAC_SIZE) % CRYPTO_BLOCK_SIZE) {
		if (cap)
			memset(out, 0, cap); /* the output is zeroed on failure (crypto.h) */
		return ERR_FORMAT;
	}
	ct_len = len - CRYPTO_MAC_SIZE;
	if (cap < ct_len) {
		if (cap)
			memset(out, 0, cap);
		return ERR_TOO_BIG;
	}
	mac2(mac, secret, in + CRYPTO_MAC_SIZE, ct_len);
	if (sodium_memcmp(mac, in, CRYPTO_MAC_SIZE) != 0) {
		memset(out, 0, ct_len);
		return ERR_AUTH;
	}
	aes128_set_decrypt_key(&aes, secret);
	aes128_decrypt(&aes, ct_len, out, in + CRYPTO_MAC_SIZE);
	sodium_memzero(&aes, sizeof(aes));
	*out_len = ct_len;
	return ERR_OK;
}

void hash_sha256(uint8_t out[CRYPTO_HASH_SIZE], const uint8_t *p, size_t n)
{
	crypto_hash_sha256(out, p, n);
}

void stream_xor(uint8_t *buf, size_t n, const uint8_t nonce[24], const uint8_t key[32])
{
	crypto_stream_xchacha20_xor(buf, buf, n, nonce, key);
}

void hash_sha256_2(uint8_t out[CRYPTO_HASH_SIZE], const uint8_t *a, size_t a_len, const uint8_t *b,
                   size_t b_len)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, a_len);
	crypto_hash_sha256_update(&st, b, b_len);
	crypto_hash_sha256_final(&st, out);
}

void hash_sha512(uint8_t out[64], const uint8_t *p, size_t n)
{
	crypto_hash_sha512(out, p, n);
}

void hmac_sha256(uint8_t out[CRYPTO_HASH_SIZE], const uint8_t *key, size_t key_len,
                 const uint8_t *msg, size_t n)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, msg, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int crypto_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

void crypto_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}
