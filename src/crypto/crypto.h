/*
 * crypto.h - identities and the MeshCore cryptography (PROTOCOL.md §3, §4).
 *
 * This module is the ONLY place that includes the crypto libraries:
 * libsodium (Ed25519, X25519, SHA-256/512, HMAC-SHA256, randomness, wiping)
 * and Nettle (AES-128).  Nothing here is hand-written crypto.
 *
 * Key format: the firmware's 64-byte *expanded* private key (orlp format:
 * SHA-512(seed), clamped), never libsodium's seed||pub secret key.  The ECDH
 * scalar is prv[0..31] and the shared secret is the raw X25519 output.
 * Signing works from the expanded key alone, so identities imported from a
 * device (which never stored a seed) sign exactly like generated ones.
 *
 * Every function that writes a secret zeroes its output on failure: the
 * identity (ident_generate, ident_from_prv, ident_decode), the signature,
 * the shared secret, and the whole of cipher_decrypt's out (cap bytes, or
 * the ciphertext's length after a MAC mismatch).
 */
#ifndef ROOMD_CRYPTO_CRYPTO_H
#define ROOMD_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/rng.h"

#define CRYPTO_PUB_SIZE        32
#define CRYPTO_PRV_SIZE        64
#define CRYPTO_SEED_SIZE       32
#define CRYPTO_SIG_SIZE        64
#define CRYPTO_SECRET_SIZE     32
#define CRYPTO_KEY_SIZE        16 /* AES-128 key: first half of the secret */
#define CRYPTO_BLOCK_SIZE      16
#define CRYPTO_MAC_SIZE        2
#define CRYPTO_HASH_SIZE       32
#define CRYPTO_IDENT_FILE_SIZE 96 /* pub(32) || prv(64), the firmware's _main.id */

#define CRYPTO_MUST_CHECK __attribute__((warn_unused_result))

struct ident {
	uint8_t pub[CRYPTO_PUB_SIZE];
	uint8_t prv[CRYPTO_PRV_SIZE];
};

/* Initialises libsodium; call once at start.  ERR_CRYPTO if it cannot. */
int crypto_init(void) CRYPTO_MUST_CHECK;

/* A struct rng backed by libsodium's randombytes_buf. */
const struct rng *crypto_rng_system(void);

/* The firmware key pair of a 32-byte seed (§3.1). */
void ident_from_seed(struct ident *id, const uint8_t seed[CRYPTO_SEED_SIZE]);
/*
 * Generates a fresh identity from rng, drawing again (up to 10 times, as the
 * firmware does) while pub[0] is 0x00 or 0xFF.  ERR_CRYPTO if all failed.
 */
int ident_generate(struct ident *id, const struct rng *rng) CRYPTO_MUST_CHECK;
/*
 * Imports a firmware private key with no seed: checks it as
 * LocalIdentity::validatePrivateKey does (§3.6: clamped scalar, public key
 * not starting 0x00/0xFF) and derives pub.  ERR_CRYPTO if invalid (*id
 * zeroed).
 */
int ident_from_prv(struct ident *id, const uint8_t prv[CRYPTO_PRV_SIZE]) CRYPTO_MUST_CHECK;
/* The 96-byte identity file image, pub || prv. */
void ident_encode(const struct ident *id, uint8_t out[CRYPTO_IDENT_FILE_SIZE]);
/* Parses a 96-byte image; ERR_CRYPTO if prv is invalid or pub does not match it
 * (*id zeroed). */
int ident_decode(struct ident *id, const uint8_t *in, size_t len) CRYPTO_MUST_CHECK;
/* Wipes the private key. */
void ident_wipe(struct ident *id);

/* Ed25519 signature over msg with the expanded key (§3.5 caveat 4). */
int ident_sign(const struct ident *id, const uint8_t *msg, size_t len,
               uint8_t sig[CRYPTO_SIG_SIZE]) CRYPTO_MUST_CHECK;
/* ERR_OK if sig is a valid signature of msg by pub, else ERR_AUTH. */
int ident_verify(const uint8_t pub[CRYPTO_PUB_SIZE], const uint8_t *msg, size_t len,
                 const uint8_t sig[CRYPTO_SIG_SIZE]) CRYPTO_MUST_CHECK;
/*
 * The ECDH shared secret with a peer's Ed25519 public key (§3.4): raw X25519
 * of prv[0..31] and the peer's Montgomery u.  ERR_CRYPTO for a key that
 * cannot be converted or an all-zero result (no honest peer has one).
 */
int ident_shared_secret(const struct ident *id, const uint8_t peer_pub[CRYPTO_PUB_SIZE],
                        uint8_t secret[CRYPTO_SECRET_SIZE]) CRYPTO_MUST_CHECK;

/*
 * One identity per curve point.  Bit 255 of an Ed25519 public key is the
 * sign of x; the X25519 conversion (Montgomery u = (1+y)/(1-y)) ignores it,
 * so a key and its copy with that bit flipped give the same shared secret:
 * a captured packet with the bit flipped still carries a valid MAC.  Keys
 * that name peers (members, bans, replay marks, limits) are therefore
 * compared in canonical form, bit 255 cleared.  That is the only alias: a
 * y of p or more (a non-canonical field element) is refused by the
 * conversion for every y below 19 (libsodium 1.0.18, checked in
 * test_crypto), so ident_shared_secret fails for those keys anyway.
 */
#define CRYPTO_PUB_SIGN_BYTE 31
#define CRYPTO_PUB_SIGN_BIT  0x80
/* out = pub with bit 255 cleared (out may be pub). */
void ident_key_canonical(uint8_t out[CRYPTO_PUB_SIZE], const uint8_t pub[CRYPTO_PUB_SIZE]);
/* 1 if a and b are the same key up to bit 255, else 0. */
int ident_key_same(const uint8_t a[CRYPTO_PUB_SIZE], const uint8_t b[CRYPTO_PUB_SIZE]);

/*
 * Encrypt-then-MAC (§4): out = MAC(2) || AES-128-ECB(secret[0..15], zero-padded pt),
 * MAC = HMAC-SHA256(secret, ciphertext)[0..1].  *out_len = 2 + padded length.
 * ERR_TOO_BIG if it does not fit in cap.
 */
int cipher_encrypt(const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t pt_len,
                   uint8_t *out, size_t cap, size_t *out_len) CRYPTO_MUST_CHECK;
/*
 * MAC-then-decrypt (§4).  Rejects, before any other work, an input whose
 * ciphertext part is empty or not a multiple of 16 (ERR_FORMAT); then compares
 * the MAC in constant time (ERR_AUTH).  On success writes the padded plaintext
 * (padding kept) and sets *out_len to its length.  out must hold len-2 bytes
 * (ERR_TOO_BIG if cap is less).  On every failure *out_len is 0 and out is
 * zeroed: its first len-2 bytes after ERR_AUTH, all cap bytes otherwise.
 */
int cipher_decrypt(const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *in, size_t len,
                   uint8_t *out, size_t cap, size_t *out_len) CRYPTO_MUST_CHECK;

void hash_sha256(uint8_t out[CRYPTO_HASH_SIZE], const uint8_t *p, size_t n);
/* SHA-256 of the concatenation a || b (ack codes, packet hashes). */
void hash_sha256_2(uint8_t out[CRYPTO_HASH_SIZE], const uint8_t *a, size_t a_len, const uint8_t *b,
                   size_t b_len);
void hash_sha512(uint8_t out[64], const uint8_t *p, size_t n);
/* XChaCha20 keystream XORed into buf (libsodium): the federation hides the
 * passwords it replicates with a key of the room's (its signature covers them). */
void stream_xor(uint8_t *buf, size_t n, const uint8_t nonce[24], const uint8_t key[32]);
void hmac_sha256(uint8_t out[CRYPTO_HASH_SIZE], const uint8_t *key, size_t key_len,
                 const uint8_t *msg, size_t n);

/* Constant-time comparison: 1 if equal, 0 if not. */
int crypto_equal(const void *a, const void *b, size_t n);
/* Wipes memory in a way the compiler cannot remove. */
void crypto_wipe(void *p, size_t n);

#endif
