/*
 * member.c - the member table of a room (the ACL of PROTOCOL.md §7.1, plus
 * push state): the index by key byte, roles counted, eviction to make room
 * for a login, loading from the store; and the replay defences (guard.h)
 * applied to a member's packets.
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

/* ---- members ---- */

static void member_to_store(const struct room_member *m, struct store_member *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->pub, m->pub, sizeof(s->pub));
	s->permissions = m->perms;
	s->sync_since = m->sync_since;
	s->last_timestamp = m->last_ts;
	s->last_activity = m->last_activity;
	s->remote_heard = m->remote_heard;
	s->out_path_len = m->out_path_len;
	if (m->out_path_len != MESH_NO_PATH)
		memcpy(s->out_path, m->out_path, path_len_bytes(m->out_path_len));
	s->push_failures =
	    (uint8_t)(m->push_sent | (m->held == HELD_RESENT ? PUSH_SENT_RESENT : 0));
}

int room_member_save(struct room *r, const struct room_member *m)
{
	struct store_member s;
	member_to_store(m, &s);
	int rc = store_member_put(r->store, r->store_id, &s);
	if (rc) {
		r->stats.store_errors++;
		log_err("room", "%s: cannot save member: %s", r->set.name, err_str(rc));
	} else if (r->hooks.member_saved && !r->merging) {
		r->hooks.member_saved(r->hooks.ctx, r, m);
	}
	return rc;
}

/* Appends member i (the last of the table) to the chain of its key's first byte. */
static void index_link(struct room *r, size_t i)
{
	uint8_t h = r->members[i].pub[0];
	r->members[i].hnext = 0;
	if (r->htail[h])
		r->members[r->htail[h] - 1].hnext = (uint32_t)i + 1;
	else
		r->hhead[h] = (uint32_t)i + 1;
	r->htail[h] = (uint32_t)i + 1;
}

/* After members moved in the table: every chain anew, in table order. */
static void index_rebuild(struct room *r)
{
	memset(r->hhead, 0, sizeof(r->hhead));
	memset(r->htail, 0, sizeof(r->htail));
	for (size_t i = 0; i < r->n_members; i++)
		index_link(r, i);
}

/* One member per curve point: a key and its copy with bit 255 flipped are
 * the same peer (crypto.h, issue 13); bit 255 is outside pub[0], the index. */
struct room_member *room_member_find(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	for (uint32_t l = r->hhead[pub[0]]; l; l = r->members[l - 1].hnext)
		if (ident_key_same(r->members[l - 1].pub, pub))
			return &r->members[l - 1];
	return NULL;
}

static bool is_guest(uint8_t perms)
{
	return acl_role(perms) == ACL_ROLE_GUEST;
}

static size_t count_role(const struct room *r, bool guests)
{
	return guests ? r->n_guests : r->n_members - r->n_guests;
}

void room_set_perms(struct room *r, struct room_member *m, uint8_t perms)
{
	r->n_guests += is_guest(perms);
	r->n_guests -= is_guest(m->perms);
	m->perms = perms;
}

void room_member_set_perms(struct room *r, struct room_member *m, uint8_t perms)
{
	room_set_perms(r, m, perms);
	m->dirty = true;
	r->any_dirty = true;
}

/*
 * The replay mark an evicted key left behind, kept under its canonical form
 * (bit 255 cleared); a database written before issue 13 may hold it under
 * the other form, so both are read and both deleted.
 */
uint32_t room_replay_mark_get(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	uint8_t k[CRYPTO_PUB_SIZE];
	uint32_t best = 0, mark;
	ident_key_canonical(k, pub);
	for (int i = 0; i < 2; i++) {
		mark = 0;
		if (store_replay_get(r->store, r->store_id, k, &mark) == ERR_OK && mark > best)
			best = mark;
		k[CRYPTO_PUB_SIGN_BYTE] |= CRYPTO_PUB_SIGN_BIT;
	}
	return best;
}

void room_replay_mark_delete(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	uint8_t k[CRYPTO_PUB_SIZE];
	ident_key_canonical(k, pub);
	store_replay_delete(r->store, r->store_id, k);
	k[CRYPTO_PUB_SIGN_BYTE] |= CRYPTO_PUB_SIGN_BIT;
	store_replay_delete(r->store, r->store_id, k);
}

static void member_remove_at(struct room *r, size_t i)
{
	/* an evicted key keeps its replay mark, so its captured login cannot
	 * bring it back (store_replay_* keeps the newest STORE_REPLAY_MAX) */
	uint8_t canon[CRYPTO_PUB_SIZE];
	ident_key_canonical(canon, r->members[i].pub);
	if (r->members[i].last_ts && store_replay_set(r->store, r->store_id, canon,
	                                              r->members[i].last_ts, room_rtc(r)) != ERR_OK)
		r->stats.store_errors++;
	store_member_delete(r->store, r->store_id, r->members[i].pub);
	r->n_guests -= is_guest(r->members[i].perms);
	crypto_wipe(&r->members[i], sizeof(r->members[i]));
	memmove(&r->members[i], &r->members[i + 1], (r->n_members - i - 1) * sizeof(*r->members));
	r->n_members--;
	if (r->rr >= r->n_members)
		r->rr = 0;
	/* the members after i moved down one place */
	index_rebuild(r);
	unsigned k = 0;
	for (unsigned j = 0; j < r->n_inflight; j++) {
		uint32_t x = r->inflight[j];
		if (x != i)
			r->inflight[k++] = x > i ? x - 1 : x;
	}
	r->n_inflight = k;
}

/* One more slot in the table (memory only). */
static int grow(struct room *r)
{
	if (r->n_members < r->cap_members)
		return ERR_OK;
	size_t cap = r->cap_members ? r->cap_members * 2 : 32;
	struct room_member *n = realloc(r->members, cap * sizeof(*n));
	if (!n)
		return ERR_NOMEM;
	r->members = n;
	r->cap_members = cap;
	return ERR_OK;
}

/* The newest sign of life of m, also from before the last start. */
static uint32_t seen_at(const struct room_member *m)
{
	return m->last_activity > m->stored_activity ? m->last_activity : m->stored_activity;
}

/*
 * Makes room for one more member of the given role.  Guests only ever
 * recycle guest slots (least recently active first), so strangers cannot
 * push out members who logged in with a password.  A password member is
 * evicted only if it showed no sign of life (login, post, request, ACK) for
 * MEMBER_KEEP_S and is not an admin: when every password member is newer,
 * the table is full and the login is refused (issue 13.4: a guest-password
 * holder with thousands of fresh keys evicted active members, whose later
 * posts were dropped).
 */
static int make_room_for(struct room *r, int role)
{
	bool guest = role == ACL_ROLE_GUEST;
	size_t limit = guest ? r->set.max_guests : r->set.max_members;
	if (count_role(r, guest) < limit)
		return grow(r);
	uint32_t rtc = room_rtc(r);
	size_t victim = SIZE_MAX;
	for (size_t i = 0; i < r->n_members; i++) {
		const struct room_member *m = &r->members[i];
		if ((acl_role(m->perms) == ACL_ROLE_GUEST) != guest ||
		    acl_role(m->perms) == ACL_ROLE_ADMIN)
			continue;
		if (!guest && seen_at(m) + (uint64_t)MEMBER_KEEP_S > rtc)
			continue;
		if (victim == SIZE_MAX || seen_at(m) < seen_at(&r->members[victim]))
			victim = i;
	}
	if (victim == SIZE_MAX)
		return ERR_FULL;
	member_remove_at(r, victim);
	return grow(r);
}

/* known: the shared secret with pub if the caller has it already, else NULL */
struct room_member *room_member_add(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE],
                                    uint8_t perms, const uint8_t *known)
{
	struct room_member *m;
	uint8_t secret[CRYPTO_SECRET_SIZE];

	if (known)
		memcpy(secret, known, sizeof(secret));
	else if (ident_shared_secret(&r->ep.id, pub, secret) != ERR_OK)
		return NULL;
	int rc = make_room_for(r, (int)acl_role(perms));
	if (rc != ERR_OK) {
		r->stats.logins_full += rc == ERR_FULL;
		crypto_wipe(secret, sizeof(secret));
		return NULL;
	}
	m = &r->members[r->n_members++];
	memset(m, 0, sizeof(*m));
	memcpy(m->pub, pub, CRYPTO_PUB_SIZE);
	memcpy(m->secret, secret, CRYPTO_SECRET_SIZE);
	m->secret_state = 1;
	m->perms = perms;
	m->out_path_len = MESH_NO_PATH;
	crypto_wipe(secret, sizeof(secret));
	r->n_guests += is_guest(perms);
	index_link(r, r->n_members - 1);
	return m;
}

struct room_member *room_member_put(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE],
                                    uint8_t perms)
{
	struct room_member *m = room_member_find(r, pub);
	return m ? m : room_member_add(r, pub, perms, NULL);
}

void room_member_remove(struct room *r, struct room_member *m)
{
	if (m >= r->members && m < r->members + r->n_members)
		member_remove_at(r, (size_t)(m - r->members));
}

/* Derives m's shared secret if not done yet; false if m's key cannot talk to us. */
bool room_member_secret(struct room *r, struct room_member *m)
{
	if (m->secret_state == 0)
		m->secret_state =
		    ident_shared_secret(&r->ep.id, m->pub, m->secret) == ERR_OK ? 1 : -1;
	return m->secret_state > 0;
}

/* A sign of life: the member is pushed to again, in full rounds. */
void room_member_alive(struct room_member *m)
{
	m->push_failures = 0;
	m->push_rounds = 0;
	m->silent_floods = 0;
}

int room_load_member(void *ctx, const struct store_member *s)
{
	struct room_load_ctx *lc = ctx;
	struct room *r = lc->r;
	struct room_member *m;

	/* A database written before issue 13 may hold a member twice, under
	 * both forms of its key (a flipped login was a new member then): the
	 * row of the newer login wins, with the higher replay mark of both. */
	m = room_member_find(r, s->pub);
	if (m) {
		if (lc->n_stale == lc->cap_stale) {
			size_t cap = lc->cap_stale ? lc->cap_stale * 2 : 8;
			void *n = realloc(lc->stale, cap * sizeof(*lc->stale));
			if (!n) {
				lc->rc = ERR_NOMEM;
				return 1;
			}
			lc->stale = n;
			lc->cap_stale = cap;
		}
		bool newer = s->last_timestamp > m->last_ts;
		memcpy(lc->stale[lc->n_stale++], newer ? m->pub : s->pub, CRYPTO_PUB_SIZE);
		log_warn("room", "room %u: member %02x%02x%02x%02x stored twice (bit 255), merged",
		         r->store_id, s->pub[0], s->pub[1], s->pub[2], s->pub[3]);
		if (!newer)
			return 0;
		memcpy(m->pub, s->pub, CRYPTO_PUB_SIZE);
		if (s->last_activity > m->stored_activity)
			m->stored_activity = s->last_activity;
		room_set_perms(r, m, s->permissions);
		m->sync_since = s->sync_since;
		m->last_ts = s->last_timestamp;
		m->out_path_len = s->out_path_len;
		if (s->out_path_len != STORE_PATH_UNKNOWN && path_len_valid(s->out_path_len))
			memcpy(m->out_path, s->out_path, path_len_bytes(s->out_path_len));
		else
			m->out_path_len = MESH_NO_PATH;
		return 0;
	}
	/* every stored member is loaded, also beyond max.members (lowered
	 * since): only logins evict */
	if (grow(r) != ERR_OK) {
		lc->rc = ERR_NOMEM;
		return 1;
	}
	m = &r->members[r->n_members];
	memset(m, 0, sizeof(*m));
	memcpy(m->pub, s->pub, CRYPTO_PUB_SIZE);
	m->secret_state = 0; /* an X25519 per member would make a big room slow to open */
	m->perms = s->permissions;
	m->sync_since = s->sync_since;
	m->last_ts = s->last_timestamp;
	m->last_activity = s->last_activity; /* resume_members() decides */
	m->remote_heard = s->remote_heard;
	m->push_sent = s->push_failures & PUSH_SENT_MAX;
	m->held = (s->push_failures & PUSH_SENT_RESENT) ? HELD_ASSUME
	          : m->push_sent                        ? HELD_RESEND
	                                                : HELD_NONE;
	m->stored_activity = s->last_activity;
	m->out_path_len = s->out_path_len;
	if (s->out_path_len != STORE_PATH_UNKNOWN && path_len_valid(s->out_path_len))
		memcpy(m->out_path, s->out_path, path_len_bytes(s->out_path_len));
	else
		m->out_path_len = MESH_NO_PATH;
	r->n_members++;
	r->n_guests += is_guest(m->perms);
	index_link(r, r->n_members - 1);
	return 0;
}

/* ---- replay defences (guard.h) ---- */

/* A packet already accepted from a password member (this run or, through the
 * store, an earlier one): count it and drop it. */
bool room_replayed(struct room *r, const struct mesh_rx *rx)
{
	uint8_t h[PKT_HASH_SIZE];
	pkt_hash(rx->pkt, h);
	if (!guard_dup_seen(&r->guard, h))
		return false;
	r->stats.replays++;
	return true;
}

/* Remembers a packet accepted from m.  Guests' packets are not kept: they
 * would let anyone flush the window and cost a disk write each. */
void room_accepted(struct room *r, const struct room_member *m, const struct mesh_rx *rx)
{
	uint8_t h[PKT_HASH_SIZE];
	if (acl_role(m->perms) == ACL_ROLE_GUEST)
		return;
	pkt_hash(rx->pkt, h);
	guard_dup_add(&r->guard, h);
	if (store_dup_add(r->store, r->store_id, h, room_rtc(r)) != ERR_OK)
		r->stats.store_errors++;
}

/* The replay mark for a client timestamp: at most GUARD_TS_SKEW_S ahead. */
uint32_t room_ts_mark(struct room *r, uint32_t ts)
{
	uint32_t mark = guard_ts_mark(ts, room_rtc(r));
	if (mark != ts)
		r->stats.ts_clamped++;
	return mark;
}

/* A reply about to go by flood (no route, or answering a flood): rate limited. */
bool room_flood_ok(struct room *r, const struct room_member *m)
{
	if (guard_flood_reply(&r->guard, m->pub, r->mesh->now_ms))
		return true;
	r->stats.replies_limited++;
	return false;
}

/* A reply about to go along a member's route: rate limited too (issue 13.9). */
bool room_direct_ok(struct room *r, const struct room_member *m)
{
	if (guard_direct_reply(&r->guard, m->pub, r->mesh->now_ms))
		return true;
	r->stats.replies_limited++;
	return false;
}
