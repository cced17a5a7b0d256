/*
 * login.c - the room's login (PROTOCOL.md §7.2): the anonymous request, its
 * password, ban and limits, the member admitted and the reply.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/advert.h"
#include "room/cmd.h"
#include "room/regions.h"
#include "room/room.h"
#include "room/room_int.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/utf8.h"

/* Login response byte 5: the keep-alive interval in 16 s units, rounded up. */
static uint8_t keepalive_units(unsigned secs)
{
	unsigned u = (secs + 15) / 16;
	return (uint8_t)(u > 255 ? 255 : u);
}

/* ---- login (§7.2) ---- */

/* Remembers a failed login as its key's replay mark (the member's, or a
 * stranger's in the store: one write per charged guess, which the limits
 * bound), and in the window. */
static void failed_login(struct room *r, struct room_member *m, const uint8_t *pub, uint32_t ts,
                         const struct mesh_rx *rx)
{
	uint8_t h[PKT_HASH_SIZE], k[CRYPTO_PUB_SIZE];
	pkt_hash(rx->pkt, h);
	guard_dup_add(&r->guard, h);
	if (m) {
		m->last_ts = room_ts_mark(r, ts);
		m->dirty = true;
		r->any_dirty = true;
		return;
	}
	ident_key_canonical(k, pub);
	if (store_replay_set(r->store, r->store_id, k, room_ts_mark(r, ts), room_rtc(r)) != ERR_OK)
		r->stats.store_errors++;
}

/* m's key becomes pub (the same curve point, the other bit 255), in the
 * store too: the new row is written first, so a failure loses nothing. */
static bool rekey(struct room *r, struct room_member *m, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	uint8_t old[CRYPTO_PUB_SIZE];
	memcpy(old, m->pub, sizeof(old));
	memcpy(m->pub, pub, CRYPTO_PUB_SIZE);
	if (room_member_save(r, m) != ERR_OK) {
		memcpy(m->pub, old, sizeof(old));
		return false;
	}
	int rc = store_member_delete(r->store, r->store_id, old);
	if (rc != ERR_OK && rc != ERR_NOT_FOUND)
		r->stats.store_errors++; /* merged again at the next start */
	return true;
}

/* A ban holds for the curve point: whichever form of the key was banned. */
bool room_is_banned(struct room *r, const uint8_t *pub)
{
	uint8_t k[CRYPTO_PUB_SIZE];
	bool banned = false;
	ident_key_canonical(k, pub);
	for (int i = 0; i < 2 && !banned; i++) {
		if (store_ban_check(r->store, r->store_id, k, &banned) != ERR_OK)
			banned = false;
		k[CRYPTO_PUB_SIGN_BYTE] |= CRYPTO_PUB_SIGN_BIT;
	}
	return banned;
}

/* A banned key gets nothing: no reply, no ACK, no push, no sync point moved
 * (issue 13); what it sends is counted and dropped. */
bool room_banned_member(struct room *r, const struct room_member *m)
{
	if (!room_is_banned(r, m->pub))
		return false;
	r->stats.logins_banned++;
	return true;
}

/* A login as decoded (§7.2). */
struct login {
	struct login_req req;
	size_t pw_len; /* 0: blank, which is no guess */
	bool pw_long;  /* over 15 bytes: a guess no password matches */
	uint32_t mark; /* the key's replay mark before this login (0 = none) */
	char hex[9];   /* the key's first bytes, for the log */
};

/* Decodes the login plaintext through the codec; false: malformed (counted). */
static bool login_decode(struct room *r, const uint8_t *pub, const uint8_t *pt, size_t len,
                         struct login *lg)
{
	memset(lg, 0, sizeof(*lg));
	int rc = login_req_decode(&lg->req, LOGIN_FORM_ROOM, pt, len);
	if (rc == ERR_TOO_BIG) {
		/* timestamp and sync point are read: a guess no password matches */
		lg->pw_long = true;
	} else if (rc != ERR_OK) {
		r->stats.malformed++; /* cannot happen: a plaintext is 16 bytes or more */
		return false;
	}
	lg->pw_len = lg->pw_long ? LOGIN_PASSWORD_MAX + 1 : strlen(lg->req.password);
	snprintf(lg->hex, sizeof(lg->hex), "%02x%02x%02x%02x", pub[0], pub[1], pub[2], pub[3]);
	return true;
}

/* A wrong guess (a blank password is no guess), also when it still gets in
 * read-only: the role in the reply tells.  Charged to the key, and to the
 * strangers unless m is a password member. */
static void login_wrong(struct room *r, const struct mesh_rx *rx, struct room_member *m,
                        const uint8_t *pub, bool member, const struct login *lg)
{
	unsigned dry = guard_login_failed(&r->guard, pub, member, rx->now_ms);
	r->stats.logins_bad++;
	failed_login(r, m, pub, lg->req.timestamp, rx);
	log_info("room", "%s: wrong password from %s%s", r->set.name, lg->hex,
	         r->set.allow_read_only ? " (read-only)" : " (no reply)");
	if (dry & 1)
		log_warn("room", "%s: too many wrong passwords from %s: its logins paused",
		         r->set.name, lg->hex);
	if (dry & 2)
		log_warn("room", "%s: too many wrong passwords: logins of non-members paused",
		         r->set.name);
}

/*
 * The gate of a login that is not a member's blank one: the replay mark,
 * the limits, the password.  Returns the role it gets (ACL_ROLE_*), or -1:
 * dropped without a reply.
 */
static int login_gate(struct room *r, const struct mesh_rx *rx, const uint8_t *pub,
                      struct room_member *m, struct login *lg)
{
	/* A login no newer than its key's mark is a replay, dropped before
	 * anything is charged: a captured typo sent again must not empty the
	 * key's bucket (issue 13.2).  A stranger's mark is in the store: left
	 * by an evicted member, or by a failed login. */
	lg->mark = m ? m->last_ts : room_replay_mark_get(r, pub);
	if (lg->mark && lg->req.timestamp <= lg->mark) {
		r->stats.logins_replayed++;
		log_info("room", "%s: replayed login from %s ignored", r->set.name, lg->hex);
		return -1;
	}
	/* Guessing is slowed down before anything else is looked at; a
	 * password member only ever meets its own key's limit, and a blank
	 * password (no guess: read-only guests) none. */
	bool member = m && acl_role(m->perms) != ACL_ROLE_GUEST;
	if (lg->pw_len && !guard_login_ok(&r->guard, pub, rx->now_ms)) {
		r->stats.logins_limited++;
		return -1;
	}
	int which = lg->pw_long ? GUARD_PW_NONE
	                        : guard_password(lg->req.password, lg->pw_len,
	                                         r->set.admin_password, r->set.guest_password);
	/* While the strangers' bucket is dry only the guest password gets a
	 * stranger in: the admin password and a wrong guess meet the same
	 * silence, so the admin password is guessed no faster than the
	 * refill, and a newcomer is not locked out by whoever spends each
	 * returning token (issue 13.3, guard.h). */
	if (lg->pw_len && !member && which != GUARD_PW_GUEST &&
	    !guard_strangers_ok(&r->guard, rx->now_ms)) {
		r->stats.logins_limited++;
		return -1;
	}
	if (which == GUARD_PW_ADMIN)
		return ACL_ROLE_ADMIN;
	if (which == GUARD_PW_GUEST)
		return ACL_ROLE_READ_WRITE;
	if (lg->pw_len)
		login_wrong(r, rx, m, pub, member, lg);
	return r->set.allow_read_only ? ACL_ROLE_GUEST : -1;
}

/* Admits a login that passed the gate with role: the member added (or its
 * key's other form taken), its state committed.  NULL: no reply (no slot, a
 * store error: the client retries, and nothing was promised). */
static struct room_member *login_admit(struct room *r, const struct mesh_rx *rx, const uint8_t *pub,
                                       const uint8_t *secret, struct room_member *m,
                                       const struct login *lg, int role)
{
	if (!m) {
		m = room_member_add(r, pub, (uint8_t)role, secret);
		if (!m) {
			log_warn("room", "%s: no slot for %s", r->set.name, lg->hex);
			return NULL;
		}
		if (lg->mark || lg->pw_len)
			room_replay_mark_delete(r, pub);
	} else if (memcmp(m->pub, pub, CRYPTO_PUB_SIZE) != 0) {
		/* the same member, its key sent with the other bit 255: a newer
		 * login than any seen, so from the key's holder (or a copy of one
		 * the room missed).  ACK codes hash the key the sender uses, so
		 * the member's key becomes this one; its row moves with it. */
		if (!rekey(r, m, pub))
			return NULL;
	}
	m->last_ts = room_ts_mark(r, lg->req.timestamp);
	/* The login's sync point is the member's word on what it has shown: a
	 * stock client moves it to every post it shows (BaseChatMesh::
	 * onPeerDataRecv).  So no copy is assumed held any more (HELD_*): one
	 * of a later post was not shown, one of an earlier post is behind the
	 * sync point anyway (tests/interop seed 5: carol, away while the copy
	 * resent after a restart went out, logged in before it timed out; the
	 * timeout took it as held and she never got that post). */
	m->held = HELD_NONE;
	/* a push out to the member stays out if the login does not move the
	 * sync point: its ACK may still come (a new copy would be shown twice) */
	m->pending = m->pending && lg->req.sync_since == m->sync_since;
	m->sync_since = lg->req.sync_since;
	room_member_alive(m);
	m->last_activity = room_rtc(r);
	room_set_perms(r, m, acl_with_role(m->perms, (unsigned)role));
	if (pkt_is_flood(rx->pkt))
		m->out_path_len = MESH_NO_PATH;
	if (room_member_save(r, m) != ERR_OK)
		return NULL;
	r->stats.logins_ok++;
	log_info("room", "%s: login %s as %s", r->set.name, lg->hex,
	         role == ACL_ROLE_ADMIN        ? "admin"
	         : role == ACL_ROLE_READ_WRITE ? "read-write"
	                                       : "read-only");
	return m;
}

/* The login response (§7.2), through the codec, and the member's first push
 * slot after it. */
static void login_reply(struct room *r, const struct mesh_rx *rx, struct room_member *m)
{
	struct login_resp resp = {.code = LOGIN_RESP_OK, .fw_level = LOGIN_FW_LEVEL};
	uint8_t body[LOGIN_RESP_SIZE];
	size_t len;

	room_accepted(r, m, rx);
	if (pkt_is_flood(rx->pkt))
		m->out_path_len = MESH_NO_PATH;
	resp.timestamp = room_reply_time(r);
	resp.keep_alive = keepalive_units(r->set.keepalive_interval_s); /* v1.17.1 sends 0 */
	resp.legacy_role = login_resp_legacy_role(m->perms);
	resp.permissions = m->perms;
	rng_fill(r->mesh->rng, resp.random, sizeof(resp.random));
	if (login_resp_encode(&resp, body, sizeof(body), &len) != ERR_OK)
		return; /* cannot happen: the body is fixed-size */
	m->caught_up = 0;
	m->next_push_ms = rx->now_ms + (pkt_is_flood(rx->pkt) ? LOGIN_PUSH_DELAY_FLOOD_MS
	                                                      : LOGIN_PUSH_DELAY_DIRECT_MS);
	/* a push kept out by the login (its ACK may still come) is kept only
	 * until the login's own push slot: a member that logs in with the sync
	 * point it had does not have that copy, or its ACK would have come by
	 * then; an ACK after it is still taken (room_late_ack_keep) */
	m->push_drop_ms = m->pending ? m->next_push_ms : 0;
	room_send_reply(r, m, rx->pkt, PKT_RESPONSE, body, len, REPLY_DELAY_MS);
}

/* A login (§7.2): decode -> gate (ban, replay, limits, password -> role) ->
 * admit -> reply.  An ACL member with a blank password is answered with no
 * replay check and no change to its state (§7.2 step 1). */
void room_on_anon_req(struct mesh_ep *ep, const struct mesh_rx *rx,
                      const uint8_t pub[CRYPTO_PUB_SIZE], const uint8_t secret[CRYPTO_SECRET_SIZE],
                      const uint8_t *pt, size_t len)
{
	struct room *r = room_of(ep);
	struct login lg;

	if (!login_decode(r, pub, pt, len, &lg) || room_replayed(r, rx))
		return;
	if (room_is_banned(r, pub)) {
		r->stats.logins_banned++;
		log_info("room", "%s: login from banned key %s ignored", r->set.name, lg.hex);
		return;
	}
	struct room_member *m = room_member_find(r, pub);
	if (m && m->secret_state == 0) {
		/* loaded from the store: the mesh just derived what it needs */
		memcpy(m->secret, secret, CRYPTO_SECRET_SIZE);
		m->secret_state = 1;
	}
	if (lg.pw_len || !m) {
		int role = login_gate(r, rx, pub, m, &lg);
		if (role < 0)
			return;
		m = login_admit(r, rx, pub, secret, m, &lg, role);
		if (!m)
			return;
	}
	login_reply(r, rx, m);
}
