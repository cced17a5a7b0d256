/*
 * guard.h - the abuse defences of one room (issue 8), apart from the room
 * logic that calls them (room.c):
 *
 *  - password check in constant time: both passwords are always compared,
 *    over 16 padded bytes, whichever the guess (PROTOCOL.md §7.2);
 *  - failed logins (a non-blank password that matches neither) are rate
 *    limited per key and, for keys that are not password members, all
 *    together.  A key whose own bucket is dry is dropped before its
 *    password is looked at.  While the strangers' bucket is dry a stranger
 *    still gets in with the guest password, and with nothing else: the
 *    admin password and wrong guesses get the same silence, so the admin
 *    password is guessed no faster than the refill, and an attacker who
 *    spends every returning token cannot keep newcomers out (issue 13.3).
 *    The price: the guest password (which lets one post, and is meant to
 *    be shared) can be guessed at the rate logins fit on the air, from
 *    ever new keys.  Password members only ever face their own key's
 *    bucket, so strangers cannot lock them out;
 *  - a login no newer than its key's replay mark is dropped before any
 *    bucket is charged, and a failed login moves that mark (the member's,
 *    or a stranger's mark in the store), so a captured typo replayed
 *    cannot empty its key's bucket (issue 13.2);
 *  - replies that go out by flood (login responses, request responses, CLI
 *    replies without a route) are rate limited per requester and globally:
 *    a flooded request must not buy a flood reply at will (§6.10); direct
 *    replies per requester, so that one member's requests cannot fill the
 *    channel with the room's answers;
 *  - a window of the hashes (§2.8) of packets accepted from password
 *    members, which the room persists through the store so that a capture
 *    replayed after a restart is still refused;
 *  - the bounded clock skew of replay marks (guard_ts_mark).
 *
 * The tables are keyed by the first LIMIT_KEY_SIZE bytes of a key, so the
 * two forms of one key (bit 255, crypto.h) share their limits.
 *
 * Fixed size, no allocation.  Pure: time is passed in.
 */
#ifndef ROOMD_ROOM_GUARD_H
#define ROOMD_ROOM_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/packet.h"
#include "room/limit.h"

/* Failed logins of one key: 8 (a client that re-sends an unanswered login spends 2 per
 * typo), then one per 10 min (the period doubles when the bucket first runs dry),
 * backing off to one per hour. */
#define GUARD_LOGIN_KEY_BURST     8
#define GUARD_LOGIN_KEY_PERIOD_MS 300000
#define GUARD_LOGIN_KEY_MAX_MS    3600000
/* Failed logins of all non-members: 10, then one per 2 min (doubled at the first
 * emptying), backing off to one per 15 min. */
#define GUARD_LOGIN_ALL_BURST     10
#define GUARD_LOGIN_ALL_PERIOD_MS 60000
#define GUARD_LOGIN_ALL_MAX_MS    900000
/* Flood replies to one key: 10 (an admin's login, CLI commands and requests in a
 * row, before the room has its route), then one per 5 s, backing off to one per 5 min. */
#define GUARD_REPLY_KEY_BURST     10
#define GUARD_REPLY_KEY_PERIOD_MS 5000
#define GUARD_REPLY_KEY_MAX_MS    300000
/* Direct replies to one key (request responses, CLI replies): 20, then one per
 * 2 s (4 s after the first emptying), backing off to one a minute (issue 13.9). */
#define GUARD_DIRECT_KEY_BURST     20
#define GUARD_DIRECT_KEY_PERIOD_MS 2000
#define GUARD_DIRECT_KEY_MAX_MS    60000
/* Flood replies of the room: 20, then one per 2 s (no backoff). */
#define GUARD_REPLY_ALL_BURST     20
#define GUARD_REPLY_ALL_PERIOD_MS 2000

#define GUARD_DUP_MAX 1024 /* accepted packet hashes kept (STORE_DUP_MAX) */
/*
 * A client timestamp more than this ahead of the room's clock is accepted,
 * but the replay mark recorded is the room's clock plus this: a client whose
 * clock ran far ahead is not locked out for longer than this once it is
 * fixed.  Replays of such messages are then refused by the duplicate window.
 */
#define GUARD_TS_SKEW_S 3600

enum { GUARD_PW_NONE = 0, GUARD_PW_GUEST = 1, GUARD_PW_ADMIN = 2 };

struct guard {
	struct limit_table login_key;
	struct limit_bucket login_all;
	struct limit_table reply_key;
	struct limit_bucket reply_all;
	struct limit_table direct_key;
	uint8_t dup[GUARD_DUP_MAX][PKT_HASH_SIZE];
	unsigned dup_next, dup_n;
};

void guard_init(struct guard *g, uint64_t now_ms);

/*
 * Which password pw (pw_len bytes, no NUL needed) is: GUARD_PW_ADMIN,
 * GUARD_PW_GUEST or GUARD_PW_NONE.  Compares both, in constant time for any
 * guess; a guess over 15 bytes matches nothing.  The admin password wins
 * when both are equal.
 */
int guard_password(const char *pw, size_t pw_len, const char *admin, const char *guest);

/* May pub try a password now (its own bucket)? */
bool guard_login_ok(struct guard *g, const uint8_t *pub, uint64_t now_ms);
/* False while the strangers' bucket is dry: only the guest password gets a stranger in. */
bool guard_strangers_ok(struct guard *g, uint64_t now_ms);
/*
 * Charges a failed guess to pub (and to all strangers unless member).
 * Returns a bit set: 1 if pub's bucket just ran dry, 2 if the global one did
 * (for edge-triggered logging).
 */
unsigned guard_login_failed(struct guard *g, const uint8_t *pub, bool member, uint64_t now_ms);

/* Takes a flood-reply token for pub: false if the reply must not be sent.
 * pub's own budget is looked at first: a requester that spent it takes
 * nothing from the room's, which newcomers' login replies need. */
bool guard_flood_reply(struct guard *g, const uint8_t *pub, uint64_t now_ms);
/* Takes a direct-reply token for pub: false if the reply must not be sent. */
bool guard_direct_reply(struct guard *g, const uint8_t *pub, uint64_t now_ms);

/* The duplicate window of accepted packets. */
bool guard_dup_seen(const struct guard *g, const uint8_t hash[PKT_HASH_SIZE]);
void guard_dup_add(struct guard *g, const uint8_t hash[PKT_HASH_SIZE]);

/* The replay mark to record for client timestamp ts at room clock rtc. */
uint32_t guard_ts_mark(uint32_t ts, uint32_t rtc);

#endif
