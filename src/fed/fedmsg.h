/*
 * fedmsg.h - the messages federated roomd sites exchange over MQTT (issue 17):
 * encoding, decoding and the room's signature.  Pure: no I/O, no clock.
 *
 * Every message is signed with the room's Ed25519 key (each site holds a copy
 * of the room's key file), so neither the broker nor anyone else on it can
 * inject a post, a member or a resync answer.  Wire form, little-endian:
 *
 *   "RDF1" | kind u8 | room pub[32] | site_len u8 | site | sent_ms u64 |
 *   body (by kind) | sig[64] over everything before it
 *
 *   FED_POST:   origin_len u8 | origin | seq u64 | origin_ts u32 |
 *               sender_ts u32 | author[32] | text_len u8 | text
 *   FED_MEMBER: pub[32] | perms u8 | sync_since u32 | last_ts u32 |
 *               heard_ts u32 | heard_len u8 | heard site |
 *               role_ver u32 | role_len u8 | role site | removed u8
 *               (removed 1: the member was removed, a tombstone)
 *   FED_HELLO:  flags u8 | after_len u8 | after | n u8 |
 *               n x (site_len u8 | site | hw u64)
 *               (one page: the origins named above `after` ("" = from the
 *               first), in ascending order; without FED_HELLO_MORE the page
 *               covers every origin above `after`, with it only those up to
 *               its last one: an origin of that range not listed has none)
 *   FED_BAN:    pub[32] | banned u8 | when u32
 *   FED_DELETE: origin_len u8 | origin | seq u64
 *   FED_SETTINGS: version u32 | name_len u8 | name | allow_read_only u8 |
 *               nonce[24] | admin_len u8 | admin | guest_len u8 | guest
 *               (the passwords XChaCha20-encrypted with a key derived from
 *               the room's private key: the broker never reads them)
 *
 * A post's global id is (origin site, seq): seq counts the posts stored at
 * the origin (1, 2, 3..., never reused), origin_ts is the origin's post time.
 * Site names are 1..FED_SITE_MAX bytes of [A-Za-z0-9._-].
 */
#ifndef ROOMD_FED_FEDMSG_H
#define ROOMD_FED_FEDMSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define FED_SITE_MAX  32
#define FED_TEXT_MAX  150
#define FED_HELLO_MAX 32 /* origins in one hello */
#define FED_MSG_MAX   2048
#define FED_MAGIC     "RDF1"

enum fed_kind {
	FED_POST = 1,
	FED_MEMBER = 2,
	FED_HELLO = 3,
	FED_BAN = 4,
	FED_DELETE = 5,
	FED_SETTINGS = 6
};
#define FED_NAME_MAX 31 /* room name bytes */
#define FED_PASS_MAX 15 /* password bytes */

/* fed_decode's verdicts beside ERR_OK: what a dropped message is counted as */
enum fed_verdict { FED_OK = 0, FED_GARBAGE = 1, FED_WRONG_ROOM = 2, FED_BAD_SIG = 3 };

enum {
	FED_HELLO_ANSWER = 1, /* hello flag: peers, answer with your own hello */
	FED_HELLO_MORE = 2    /* more pages of this hello follow */
};

struct fed_post {
	char origin[FED_SITE_MAX + 1];
	uint64_t seq;
	uint32_t origin_ts, sender_ts;
	uint8_t author[CRYPTO_PUB_SIZE];
	uint8_t text_len;
	char text[FED_TEXT_MAX + 1]; /* NUL-terminated on decode */
};

struct fed_member {
	uint8_t pub[CRYPTO_PUB_SIZE];
	uint8_t perms;
	uint32_t sync_since, last_ts, heard_ts;
	char heard[FED_SITE_MAX + 1]; /* the site that heard it last, at heard_ts */
	/* the version of the role (perms): the RTC of the change and the site
	 * that made it; the greater (role_ver, role_site) wins everywhere */
	uint32_t role_ver;
	char role_site[FED_SITE_MAX + 1];
	uint8_t removed; /* 1: removed at role_ver (a tombstone; the rest is zero) */
};

struct fed_hello {
	uint8_t flags;
	char after[FED_SITE_MAX + 1]; /* the page starts above this origin ("" = first) */
	uint8_t n;
	struct {
		char site[FED_SITE_MAX + 1];
		uint64_t hw; /* every post of this origin up to seq hw is held */
	} hw[FED_HELLO_MAX];
};

struct fed_ban {
	uint8_t pub[CRYPTO_PUB_SIZE];
	uint8_t banned;
	uint32_t when;
};

struct fed_delete {
	char origin[FED_SITE_MAX + 1];
	uint64_t seq;
};

/* The room-level settings every site shares (radio settings stay per site). */
struct fed_settings {
	uint32_t version; /* the change's room RTC (or the last one + 1) */
	char name[FED_NAME_MAX + 1];
	uint8_t allow_read_only;
	char admin[FED_PASS_MAX + 1], guest[FED_PASS_MAX + 1]; /* NUL-terminated to encode */
	uint8_t admin_len, guest_len; /* decoded: still encrypted, fed_settings_open */
};

struct fed_msg {
	uint8_t kind;
	uint8_t room[CRYPTO_PUB_SIZE];
	char site[FED_SITE_MAX + 1]; /* the sender */
	uint64_t sent_ms;            /* the sender's wall clock, ms */
	union {
		struct fed_post post;
		struct fed_member member;
		struct fed_hello hello;
		struct fed_ban ban;
		struct fed_delete del;
		struct fed_settings set;
	} u;
};

/* True if s is a valid site name. */
int fed_site_valid(const char *s);

/*
 * Encodes and signs m with the room's identity (m->room is taken from id).
 * ERR_INVAL for a message that would not decode (bad site, text too long or
 * not UTF-8, too many origins), ERR_TOO_BIG if cap is short.
 */
int fed_encode(const struct fed_msg *m, const struct ident *id, uint8_t *out, size_t cap,
               size_t *len);

/*
 * Decodes and verifies; returns a fed_verdict.  FED_WRONG_ROOM when the
 * room key is not room_pub, FED_BAD_SIG when the signature fails,
 * FED_GARBAGE for anything malformed.  *out is written only on FED_OK.
 */
int fed_decode(const uint8_t *in, size_t len, const uint8_t room_pub[CRYPTO_PUB_SIZE],
               struct fed_msg *out);

/* Decrypts a decoded FED_SETTINGS' passwords with the room's key; ERR_FORMAT
 * if they are not passwords (a NUL inside). */
int fed_settings_open(struct fed_msg *m, const struct ident *id);

#endif
