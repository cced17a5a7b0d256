/*
 * room.c - the room server (PROTOCOL.md §7): login (§7.2), posts (§7.3, §7.4),
 * requests (§7.5), paths (§7.6), ACKs (§7.7), the push engine (§7.8) and
 * adverts (§7.9).  Admin commands are in cmd.c.
 *
 * Durability: a post is committed before its ACK is queued; a login's replay
 * mark and role are committed before the reply.  The push engine's state
 * is committed when it moves: before a push goes to the mesh (the copies
 * sent of the member's next post) and when its ACK comes in (the sync
 * point), so after a crash no acknowledged post is pushed again and no copy
 * the member may hold is sent in a new variant.  Other activity is written
 * by the next tick, and every member at a graceful close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/advert.h"
#include "room/cmd.h"
#include "room/regions.h"
#include "room/room.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/utf8.h"

#define LOGIN_PUSH_DELAY_FLOOD_MS  2000 /* let the reply and the reciprocal PATH pass */
#define LOGIN_PUSH_DELAY_DIRECT_MS 800
#define REPLY_DELAY_MS             300 /* SERVER_RESPONSE_DELAY */
#define ACK_DELAY_MS               200 /* TXT_ACK_DELAY */
#define PUSH_TIMEOUT_FLOOD_MS      12000
/*
 * A round of pushes of one post is 4 copies, each a variant of its own
 * (push_plaintext: no copy repeats one the member may already have, which
 * its duplicate table would drop without an ACK).  After a failed round
 * the firmware gives a member up until it shows activity; roomd pauses
 * instead (30 s, doubling) and starts another round, as long as the member
 * was heard in the last 10 minutes and the PUSH_SILENT_* bounds allow, so a
 * member that was briefly out of reach is caught up without having to log
 * in again.
 */
#define PUSH_FAILS_GIVE_UP      4
#define PUSH_ROUND_PAUSE_MS     30000
#define PUSH_ROUND_PAUSE_MAX_MS 900000
#define PUSH_ROUND_ACTIVE_S     600
#define PATH_ANSWER_MS          120000 /* a member's PATH answers a flood of ours within this */
#define MEMBER_KEEP_S           (30u * 86400) /* a password member seen since is never evicted */
/*
 * What a member that never answers can cost (issue 13): after a sign of
 * life at most PUSH_SILENT_ROUNDS rounds and PUSH_SILENT_FLOODS flooded
 * pushes, and never more than PUSH_SILENT_HOUR unanswered pushes an hour,
 * whatever it does (a login is a sign of life, and costs its sender one
 * packet).  Then it is given up until it shows activity (the hour: until
 * the hour is over).
 */
#define PUSH_SILENT_ROUNDS 3
#define PUSH_SILENT_FLOODS 8
#define PUSH_SILENT_HOUR   24
/* and all such members together: once pushes that were never answered took
 * this much air in an hour, only members that answer pushes get more */
#define PUSH_SILENT_ROOM_AIR_MS 108000 /* 3 % of the hour */
/*
 * A push that was out when the room stopped (its copies counted in the
 * store) may have been shown with its ACK lost while the room was down.
 * After the restart that copy goes once more unchanged (HELD_RESEND): a
 * member that has it drops it as a duplicate, one that has not shows it and
 * ACKs.  No ACK (or a second restart before one, HELD_RESENT, kept in the
 * store as PUSH_SENT_RESENT): the member has it (HELD_ASSUME), and a new
 * variant would show the post twice.
 */
enum { HELD_NONE, HELD_RESEND, HELD_RESENT, HELD_ASSUME };
#define PUSH_SENT_RESENT     0x80
#define PUSH_SENT_MAX        0x7F
#define ALIVE_KEY            "alive"
#define ALIVE_EVERY_MS       60000
#define PUSH_WALK_QUERIES    64 /* store look-ups of the push engine per tick */
#define BOOT_ADVERT_MS       5000
#define CLOCK_STEP_S         600 /* the RTC this far behind the one saved was stepped back */
#define CLOCK_FLOOR_KEY      "clock.floor" /* the RTC saved (a store setting, no config key) */
#define CLOCK_FLOOR_SAVE_MS  600000
#define RESP_SERVER_LOGIN_OK 0
#define FIRMWARE_VER_LEVEL   1

enum { REQ_GET_STATUS = 1, REQ_KEEP_ALIVE = 2, REQ_GET_TELEMETRY = 3, REQ_GET_ACCESS_LIST = 5 };
enum { TXT_PLAIN = 0, TXT_CLI = 1, TXT_SIGNED = 2 };

/* Login response byte 5: the keep-alive interval in 16 s units, rounded up. */
static uint8_t keepalive_units(unsigned secs)
{
	unsigned u = (secs + 15) / 16;
	return (uint8_t)(u > 255 ? 255 : u);
}

/* ---- clock ---- */

uint32_t room_clock_rtc(const struct room_clock *c, uint64_t mono_ms)
{
	return (uint32_t)(((int64_t)mono_ms + c->offset_ms) / 1000);
}

bool room_clock_set(struct room_clock *c, uint64_t mono_ms, uint32_t epoch)
{
	if (epoch <= room_clock_rtc(c, mono_ms))
		return false;
	c->offset_ms = (int64_t)epoch * 1000 - (int64_t)mono_ms;
	return true;
}

void room_clock_force(struct room_clock *c, uint64_t mono_ms, uint32_t epoch)
{
	c->offset_ms = (int64_t)epoch * 1000 - (int64_t)mono_ms;
}

uint32_t room_rtc(const struct room *r)
{
	return room_clock_rtc(r->clock, r->mesh->now_ms);
}

uint32_t room_unique_time(struct room *r)
{
	uint32_t t = room_rtc(r);
	if (t <= r->last_unique)
		t = r->last_unique + 1;
	r->last_unique = t;
	return t;
}

/*
 * The time a login or CLI reply carries: a unique time, as the firmware's,
 * while that runs less than REPLY_LEAD_S ahead of the RTC, else the RTC
 * (the reply's random bytes keep it unique).  A unique time is one second
 * ahead per message: 8,000 logins had put post times, and after a restart
 * the clock, 2.2 h ahead (issue 13.5).  Only stored posts take unique
 * times beyond that, one per post.
 */
#define REPLY_LEAD_S 60
static uint32_t reply_time(struct room *r)
{
	uint32_t rtc = room_rtc(r);
	if ((uint64_t)r->last_unique >= (uint64_t)rtc + REPLY_LEAD_S)
		return rtc;
	return room_unique_time(r);
}

static struct room *room_of(struct mesh_ep *ep)
{
	return ep->ctx;
}

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

static int member_save(struct room *r, const struct room_member *m)
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
	return (perms & 3) == ROLE_GUEST;
}

static size_t count_role(const struct room *r, bool guests)
{
	return guests ? r->n_guests : r->n_members - r->n_guests;
}

static void set_perms(struct room *r, struct room_member *m, uint8_t perms)
{
	r->n_guests += is_guest(perms);
	r->n_guests -= is_guest(m->perms);
	m->perms = perms;
}

void room_member_set_perms(struct room *r, struct room_member *m, uint8_t perms)
{
	set_perms(r, m, perms);
	m->dirty = true;
	r->any_dirty = true;
}

/*
 * The replay mark an evicted key left behind, kept under its canonical form
 * (bit 255 cleared); a database written before issue 13 may hold it under
 * the other form, so both are read and both deleted.
 */
static uint32_t replay_mark_get(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE])
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

static void replay_mark_delete(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE])
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
	bool guest = role == ROLE_GUEST;
	size_t limit = guest ? r->set.max_guests : r->set.max_members;
	if (count_role(r, guest) < limit)
		return grow(r);
	uint32_t rtc = room_rtc(r);
	size_t victim = SIZE_MAX;
	for (size_t i = 0; i < r->n_members; i++) {
		const struct room_member *m = &r->members[i];
		if (((m->perms & 3) == ROLE_GUEST) != guest || (m->perms & 3) == ROLE_ADMIN)
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
static struct room_member *member_add(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE],
                                      uint8_t perms, const uint8_t *known)
{
	struct room_member *m;
	uint8_t secret[CRYPTO_SECRET_SIZE];

	if (known)
		memcpy(secret, known, sizeof(secret));
	else if (ident_shared_secret(&r->ep.id, pub, secret) != ERR_OK)
		return NULL;
	int rc = make_room_for(r, perms & 3);
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
	return m ? m : member_add(r, pub, perms, NULL);
}

void room_member_remove(struct room *r, struct room_member *m)
{
	if (m >= r->members && m < r->members + r->n_members)
		member_remove_at(r, (size_t)(m - r->members));
}

struct load_ctx {
	struct room *r;
	int rc;
	uint8_t (*stale)[CRYPTO_PUB_SIZE]; /* rows merged into another: deleted after */
	size_t n_stale, cap_stale;
};

/* Derives m's shared secret if not done yet; false if m's key cannot talk to us. */
static bool member_secret(struct room *r, struct room_member *m)
{
	if (m->secret_state == 0)
		m->secret_state =
		    ident_shared_secret(&r->ep.id, m->pub, m->secret) == ERR_OK ? 1 : -1;
	return m->secret_state > 0;
}

/* A sign of life: the member is pushed to again, in full rounds. */
static void member_alive(struct room_member *m)
{
	m->push_failures = 0;
	m->push_rounds = 0;
	m->silent_floods = 0;
}

static int load_member(void *ctx, const struct store_member *s)
{
	struct load_ctx *lc = ctx;
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
		set_perms(r, m, s->permissions);
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
static bool replayed(struct room *r, const struct mesh_rx *rx)
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
static void accepted(struct room *r, const struct room_member *m, const struct mesh_rx *rx)
{
	uint8_t h[PKT_HASH_SIZE];
	if ((m->perms & 3) == ROLE_GUEST)
		return;
	pkt_hash(rx->pkt, h);
	guard_dup_add(&r->guard, h);
	if (store_dup_add(r->store, r->store_id, h, room_rtc(r)) != ERR_OK)
		r->stats.store_errors++;
}

/* The replay mark for a client timestamp: at most GUARD_TS_SKEW_S ahead. */
static uint32_t ts_mark(struct room *r, uint32_t ts)
{
	uint32_t mark = guard_ts_mark(ts, room_rtc(r));
	if (mark != ts)
		r->stats.ts_clamped++;
	return mark;
}

/* A reply about to go by flood (no route, or answering a flood): rate limited. */
static bool flood_ok(struct room *r, const struct room_member *m)
{
	if (guard_flood_reply(&r->guard, m->pub, r->mesh->now_ms))
		return true;
	r->stats.replies_limited++;
	return false;
}

/* A reply about to go along a member's route: rate limited too (issue 13.9). */
static bool direct_ok(struct room *r, const struct room_member *m)
{
	if (guard_direct_reply(&r->guard, m->pub, r->mesh->now_ms))
		return true;
	r->stats.replies_limited++;
	return false;
}

/* ---- sending helpers ---- */

static int flood_hash_size(const struct room *r)
{
	return (int)r->set.path_hash_mode + 1;
}

/* The scope of a flooded reply to req (§6.10). */
static const uint8_t *reply_scope(struct room *r, const struct pkt *req, uint8_t key[16])
{
	return room_reply_scope(r, req, key);
}

static uint64_t push_acks_due_until(const struct room *r, uint64_t now);
static void release_held(struct room *r, uint64_t now);

/*
 * The delay of a reply (an ACK, a response, a CLI reply): base, or longer
 * while a push's ACK is due.  A stock client that defers its ACK behind a
 * busy channel (120-360 ms steps, §6.7) tends to key up just when our
 * reply, timed from the same end of a frame, does; the lost ACK costs a new
 * copy, which it shows twice.  The wait is bounded by that ACK's window,
 * and ends when the ACK is in (reply_held, release_held).
 */
#define REPLY_HOLD_MAX_MS 1500
static uint32_t reply_delay(const struct room *r, uint32_t base)
{
	uint64_t now = r->mesh->now_ms, until = push_acks_due_until(r, now);
	if (until <= now + base)
		return base;
	uint64_t d = until - now;
	return (uint32_t)(d > base + REPLY_HOLD_MAX_MS ? base + REPLY_HOLD_MAX_MS : d);
}

/* After a send with reply_delay(r, base): remembers the packet if it was
 * held back, to release it early. */
static void reply_held(struct room *r, uint32_t base, uint32_t delay)
{
	if (delay == base || r->n_held == ROOM_HELD_REPLIES)
		return;
	r->held[r->n_held].seq = mesh_last_queued(r->mesh);
	r->held[r->n_held].due_ms = r->mesh->now_ms + base;
	r->n_held++;
}

/* A reply datagram to a member: direct along its route, or by flood if none is known. */
static int send_datagram(struct room *r, struct room_member *m, unsigned type, const uint8_t *body,
                         size_t len, uint32_t delay, const struct pkt *req)
{
	struct pkt p;
	uint8_t key[16];
	if (!member_secret(r, m))
		return ERR_CRYPTO;
	int rc = mesh_build_datagram(&p, type, &r->ep.id, m->pub[0], m->secret, body, len);
	if (rc)
		return rc;
	if (m->out_path_len == MESH_NO_PATH) {
		m->flood_sent_ms = r->mesh->now_ms;
		return mesh_send_flood(r->mesh, &p, delay, pkt_path_hash_size(req),
		                       reply_scope(r, req, key));
	}
	return mesh_send_direct(r->mesh, &p, m->out_path_len, m->out_path, delay);
}

/* A reply to a request: PATH-wrapped if the request came by flood. */
static void send_reply(struct room *r, struct room_member *m, const struct pkt *req, unsigned type,
                       const uint8_t *body, size_t len, uint32_t delay)
{
	struct pkt p;
	uint8_t key[16];
	int rc;

	if (!member_secret(r, m))
		return;

	if ((pkt_is_flood(req) || m->out_path_len == MESH_NO_PATH) ? !flood_ok(r, m)
	                                                           : !direct_ok(r, m))
		return;
	uint32_t base = delay;
	delay = reply_delay(r, base);
	if (pkt_is_flood(req)) {
		m->flood_sent_ms = r->mesh->now_ms;
		rc = mesh_build_path(&p, &r->ep.id, m->pub[0], m->secret, req->path_len, req->path,
		                     type, body, len, r->mesh->rng);
		if (!rc)
			rc = mesh_send_flood(r->mesh, &p, delay, pkt_path_hash_size(req),
			                     reply_scope(r, req, key));
	} else {
		rc = send_datagram(r, m, type, body, len, delay, req);
	}
	if (rc)
		log_warn("room", "%s: reply not sent: %s", r->set.name, err_str(rc));
	else
		reply_held(r, base, delay);
}

static void send_ack(struct room *r, struct room_member *m, const struct pkt *req,
                     const uint8_t code[4], const uint8_t *extra, size_t extra_len, uint32_t delay)
{
	struct pkt p;
	uint8_t key[16];
	uint32_t base = delay;
	delay = reply_delay(r, base);
	if (m->out_path_len == MESH_NO_PATH) {
		m->flood_sent_ms = r->mesh->now_ms;
		mesh_build_ack(&p, code, extra, extra_len);
		if (mesh_send_flood(r->mesh, &p, delay, pkt_path_hash_size(req),
		                    reply_scope(r, req, key)) == ERR_OK)
			reply_held(r, base, delay);
		return;
	}
	if (r->set.multi_acks) {
		mesh_build_multi_ack(&p, code, 1);
		if (mesh_send_direct(r->mesh, &p, m->out_path_len, m->out_path, delay) == ERR_OK)
			reply_held(r, base, delay);
		delay += 300;
		base += 300;
	}
	mesh_build_ack(&p, code, extra, extra_len);
	if (mesh_send_direct(r->mesh, &p, m->out_path_len, m->out_path, delay) == ERR_OK)
		reply_held(r, base, delay);
}

static void ack_code(uint8_t code[4], const uint8_t *msg, size_t len, const uint8_t *pub)
{
	uint8_t h[CRYPTO_HASH_SIZE];
	hash_sha256_2(h, msg, len, pub, CRYPTO_PUB_SIZE);
	memcpy(code, h, 4);
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
		m->last_ts = ts_mark(r, ts);
		m->dirty = true;
		r->any_dirty = true;
		return;
	}
	ident_key_canonical(k, pub);
	if (store_replay_set(r->store, r->store_id, k, ts_mark(r, ts), room_rtc(r)) != ERR_OK)
		r->stats.store_errors++;
}

/* m's key becomes pub (the same curve point, the other bit 255), in the
 * store too: the new row is written first, so a failure loses nothing. */
static bool rekey(struct room *r, struct room_member *m, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	uint8_t old[CRYPTO_PUB_SIZE];
	memcpy(old, m->pub, sizeof(old));
	memcpy(m->pub, pub, CRYPTO_PUB_SIZE);
	if (member_save(r, m) != ERR_OK) {
		memcpy(m->pub, old, sizeof(old));
		return false;
	}
	int rc = store_member_delete(r->store, r->store_id, old);
	if (rc != ERR_OK && rc != ERR_NOT_FOUND)
		r->stats.store_errors++; /* merged again at the next start */
	return true;
}

/* A ban holds for the curve point: whichever form of the key was banned. */
static bool is_banned(struct room *r, const uint8_t *pub)
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
static bool banned_member(struct room *r, const struct room_member *m)
{
	if (!is_banned(r, m->pub))
		return false;
	r->stats.logins_banned++;
	return true;
}

static void on_anon_req(struct mesh_ep *ep, const struct mesh_rx *rx,
                        const uint8_t pub[CRYPTO_PUB_SIZE],
                        const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t len)
{
	struct room *r = room_of(ep);
	struct room_member *m;
	uint8_t resp[13];
	char hex[9];
	int role;

	if (len < 9) {
		r->stats.malformed++; /* cannot happen: a plaintext is 16 bytes or more */
		return;
	}
	uint32_t ts = le32_load(pt), since = le32_load(pt + 4);
	const char *pw = (const char *)pt + 8;
	size_t pw_len = strnlen(pw, len - 8);
	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", pub[0], pub[1], pub[2], pub[3]);

	if (replayed(r, rx))
		return;
	if (is_banned(r, pub)) {
		r->stats.logins_banned++;
		log_info("room", "%s: login from banned key %s ignored", r->set.name, hex);
		return;
	}
	m = room_member_find(r, pub);
	if (m && m->secret_state == 0) {
		/* loaded from the store: the mesh just derived what it needs */
		memcpy(m->secret, secret, CRYPTO_SECRET_SIZE);
		m->secret_state = 1;
	}
	if (pw_len == 0 && m) {
		/* an ACL member with a blank password: no replay check, no
		 * change to its state (§7.2 step 1) */
		goto reply;
	}
	/* A login no newer than its key's mark is a replay, dropped before
	 * anything is charged: a captured typo sent again must not empty the
	 * key's bucket (issue 13.2).  A stranger's mark is in the store: left
	 * by an evicted member, or by a failed login. */
	uint32_t mark = m ? m->last_ts : replay_mark_get(r, pub);
	if (mark && ts <= mark) {
		r->stats.logins_replayed++;
		log_info("room", "%s: replayed login from %s ignored", r->set.name, hex);
		return;
	}
	/* Guessing is slowed down before anything else is looked at; a
	 * password member only ever meets its own key's limit, and a blank
	 * password (no guess: read-only guests) none. */
	bool member = m && (m->perms & 3) != ROLE_GUEST;
	if (pw_len && !guard_login_ok(&r->guard, pub, rx->now_ms)) {
		r->stats.logins_limited++;
		return;
	}
	int which = guard_password(pw, pw_len, r->set.admin_password, r->set.guest_password);
	/* While the strangers' bucket is dry only the guest password gets a
	 * stranger in: the admin password and a wrong guess meet the same
	 * silence, so the admin password is guessed no faster than the
	 * refill, and a newcomer is not locked out by whoever spends each
	 * returning token (issue 13.3, guard.h). */
	if (pw_len && !member && which != GUARD_PW_GUEST &&
	    !guard_strangers_ok(&r->guard, rx->now_ms)) {
		r->stats.logins_limited++;
		return;
	}
	switch (which) {
	case GUARD_PW_ADMIN: role = ROLE_ADMIN; break;
	case GUARD_PW_GUEST: role = ROLE_READ_WRITE; break;
	default: role = -1; break;
	}
	if (role < 0 && pw_len) {
		/* a wrong guess (a blank password is no guess), also when it
		 * still gets in read-only: the role in the reply tells */
		unsigned dry = guard_login_failed(&r->guard, pub, member, rx->now_ms);
		r->stats.logins_bad++;
		failed_login(r, m, pub, ts, rx);
		log_info("room", "%s: wrong password from %s%s", r->set.name, hex,
		         r->set.allow_read_only ? " (read-only)" : " (no reply)");
		if (dry & 1)
			log_warn("room", "%s: too many wrong passwords from %s: its logins paused",
			         r->set.name, hex);
		if (dry & 2)
			log_warn("room",
			         "%s: too many wrong passwords: logins of non-members paused",
			         r->set.name);
	}
	if (role < 0 && r->set.allow_read_only)
		role = ROLE_GUEST;
	if (role < 0)
		return;
	if (!m) {
		m = member_add(r, pub, (uint8_t)role, secret);
		if (!m) {
			log_warn("room", "%s: no slot for %s", r->set.name, hex);
			return;
		}
		if (mark || pw_len)
			replay_mark_delete(r, pub);
	} else if (memcmp(m->pub, pub, CRYPTO_PUB_SIZE) != 0) {
		/* the same member, its key sent with the other bit 255: a newer
		 * login than any seen, so from the key's holder (or a copy of one
		 * the room missed).  ACK codes hash the key the sender uses, so
		 * the member's key becomes this one; its row moves with it. */
		if (!rekey(r, m, pub))
			return;
	}
	m->last_ts = ts_mark(r, ts);
	/* a push out to the member stays out if the login does not move the
	 * sync point: its ACK may still come (a new copy would be shown twice) */
	m->pending = m->pending && since == m->sync_since;
	m->sync_since = since;
	member_alive(m);
	m->last_activity = room_rtc(r);
	set_perms(r, m, (uint8_t)((m->perms & ~3) | role));
	if (pkt_is_flood(rx->pkt))
		m->out_path_len = MESH_NO_PATH;
	if (member_save(r, m) != ERR_OK)
		return; /* no reply: the client retries, and nothing was promised */
	r->stats.logins_ok++;
	log_info("room", "%s: login %s as %s", r->set.name, hex,
	         role == ROLE_ADMIN        ? "admin"
	         : role == ROLE_READ_WRITE ? "read-write"
	                                   : "read-only");
reply:
	accepted(r, m, rx);
	if (pkt_is_flood(rx->pkt))
		m->out_path_len = MESH_NO_PATH;
	le32_store(resp, reply_time(r));
	resp[4] = RESP_SERVER_LOGIN_OK;
	resp[5] = keepalive_units(r->set.keepalive_interval_s); /* v1.17.1 sends 0 */
	resp[6] = (m->perms & 3) == ROLE_ADMIN ? 1 : m->perms == 0 ? 2 : 0;
	resp[7] = m->perms;
	rng_fill(r->mesh->rng, resp + 8, 4);
	resp[12] = FIRMWARE_VER_LEVEL;
	m->caught_up = 0;
	m->next_push_ms = rx->now_ms + (pkt_is_flood(rx->pkt) ? LOGIN_PUSH_DELAY_FLOOD_MS
	                                                      : LOGIN_PUSH_DELAY_DIRECT_MS);
	/* a push kept out by the login (its ACK may still come) is kept only
	 * until the login's own push slot: a member that logs in with the sync
	 * point it had does not have that copy, or its ACK would have come by
	 * then; an ACK after it is still taken (late_ack_keep) */
	m->push_drop_ms = m->pending ? m->next_push_ms : 0;
	send_reply(r, m, rx->pkt, PKT_RESPONSE, resp, sizeof(resp), REPLY_DELAY_MS);
}

/* ---- peers ---- */

static int peers_by_hash(struct mesh_ep *ep, uint8_t hash, int skip, struct mesh_peer *out, int max)
{
	struct room *r = room_of(ep);
	int n = 0;
	for (uint32_t l = r->hhead[hash]; l && n < max; l = r->members[l - 1].hnext) {
		struct room_member *m = &r->members[l - 1];
		if (!member_secret(r, m))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		memcpy(out[n].pub, m->pub, CRYPTO_PUB_SIZE);
		memcpy(out[n].secret, m->secret, CRYPTO_SECRET_SIZE);
		out[n].ref = m;
		n++;
	}
	return n;
}

/* The member behind a peer handle (the table may have moved since). */
static struct room_member *peer_member(struct room *r, const struct mesh_peer *peer)
{
	return room_member_find(r, peer->pub);
}

/* ---- posts (§7.3, §7.4) ---- */

int room_post(struct room *r, const uint8_t author[CRYPTO_PUB_SIZE], uint32_t sender_ts,
              const char *text, size_t len, bool *duplicate)
{
	struct store_post p;
	int64_t id;
	bool dup = false;

	memset(&p, 0, sizeof(p));
	if (len > ROOM_POST_MAX)
		len = ROOM_POST_MAX; /* cut by bytes, as the firmware does */
	p.room = r->store_id;
	memcpy(p.author, author, CRYPTO_PUB_SIZE);
	p.post_ts = room_unique_time(r);
	p.sender_ts = sender_ts;
	p.text_len = len;
	memcpy(p.text, text, len);
	int rc = store_post_add(r->store, &p, &id, &dup);
	if (rc) {
		r->stats.store_errors++;
		r->stats.posts_refused++;
		log_err("room", "%s: post not stored: %s", r->set.name, err_str(rc));
		return rc;
	}
	if (duplicate)
		*duplicate = dup;
	if (dup) {
		r->stats.posts_retried++;
		return ERR_OK;
	}
	r->stats.posts_stored++;
	/* what was posted, by whom and how long; never the text (members' words) */
	log_info("room", "%s: post %lld by %02x%02x%02x%02x, %zu bytes", r->set.name, (long long)id,
	         author[0], author[1], author[2], author[3], len);
	/* every member is behind now */
	if (++r->post_gen == 0)
		r->post_gen = 1;
	if (r->next_push_ms > r->mesh->now_ms)
		r->next_push_ms = r->mesh->now_ms;
	if (r->hooks.post_stored)
		r->hooks.post_stored(r->hooks.ctx, r, id);
	return ERR_OK;
}

int room_post_remote(struct room *r, const uint8_t author[CRYPTO_PUB_SIZE], uint32_t sender_ts,
                     const char *text, size_t len, const char *origin, uint64_t seq,
                     uint32_t origin_ts, bool *dup)
{
	struct store_post p;
	int64_t id;
	bool held = false;

	if (len > ROOM_POST_MAX)
		return ERR_TOO_BIG;
	/* a post already here takes no unique time (a resync sends many again) */
	int rc = store_fed_held(r->store, r->store_id, origin, seq, &held);
	if (rc == ERR_OK && held) {
		*dup = true;
		return ERR_OK;
	}
	memset(&p, 0, sizeof(p));
	p.room = r->store_id;
	memcpy(p.author, author, CRYPTO_PUB_SIZE);
	p.post_ts = room_unique_time(r);
	p.sender_ts = sender_ts;
	p.text_len = len;
	memcpy(p.text, text, len);
	rc = store_post_apply(r->store, &p, origin, seq, origin_ts, &id, dup);
	if (rc) {
		r->stats.store_errors++;
		log_err("room", "%s: post from %s not stored: %s", r->set.name, origin,
		        err_str(rc));
		return rc;
	}
	if (*dup)
		return ERR_OK;
	r->stats.posts_federated++;
	log_info("room", "%s: post %lld from %s #%llu by %02x%02x%02x%02x, %zu bytes", r->set.name,
	         (long long)id, origin, (unsigned long long)seq, author[0], author[1], author[2],
	         author[3], len);
	if (++r->post_gen == 0)
		r->post_gen = 1;
	if (r->next_push_ms > r->mesh->now_ms)
		r->next_push_ms = r->mesh->now_ms;
	return ERR_OK;
}

int room_member_merge(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE], uint8_t perms,
                      uint32_t sync_since, uint32_t last_ts, uint32_t heard_ts, bool heard_here)
{
	struct room_member *m = room_member_find(r, pub);
	bool fresh = !m;
	if (!m) {
		m = room_member_put(r, pub, perms);
		if (!m)
			return ERR_FULL;
		m->last_activity = 0; /* never heard here: no pushes from us */
	}
	if (fresh || heard_ts >= m->last_activity)
		room_member_set_perms(r, m, perms);
	if (sync_since > m->sync_since) {
		m->sync_since = sync_since;
		m->caught_up = 0;
	}
	if (last_ts > m->last_ts) {
		m->last_ts = last_ts;
		m->remote_ts = last_ts;
	}
	if (!heard_here && heard_ts > m->remote_heard)
		m->remote_heard = heard_ts;
	r->merging = true;
	int rc = member_save(r, m);
	r->merging = false;
	return rc;
}

static bool on_txt(struct room *r, const struct mesh_rx *rx, struct room_member *m,
                   const uint8_t *pt, size_t len)
{
	uint32_t ts = le32_load(pt);
	unsigned txt_type = pt[4] >> 2;
	const char *text = (const char *)pt + 5;
	size_t text_len = strnlen(text, len - 5);
	uint8_t code[4];

	if (txt_type != TXT_PLAIN && txt_type != TXT_CLI) {
		r->stats.malformed++;
		return false;
	}
	/* text is UTF-8; a code point cut short at the very end (a client
	 * that cut the text to a byte limit) is left out of what is stored */
	size_t text_ok = utf8_valid_prefix_len(text, text_len, text_len);
	if (text_ok < text_len && !utf8_cut_tail(text + text_ok, text_len - text_ok)) {
		r->stats.malformed++;
		return false; /* a wrong key's garbage, or not text at all */
	}
	if (banned_member(r, m))
		return true;
	/* a retry keeps its timestamp, but one whose mark came from another site
	 * (room_member_merge) was accepted there, not here: a replay (issue 17) */
	bool remote_mark = ts == m->last_ts && m->remote_ts && m->remote_ts == m->last_ts;
	if (ts < m->last_ts || remote_mark || replayed(r, rx)) {
		r->stats.replays += ts < m->last_ts || remote_mark;
		return true;
	}
	bool is_retry = ts == m->last_ts;
	m->last_ts = ts_mark(r, ts);
	accepted(r, m, rx);
	uint32_t now = reply_time(r);
	m->last_activity = now;
	member_alive(m);
	m->dirty = true;
	r->any_dirty = true;
	ack_code(code, pt, 5 + text_len, m->pub);

	if (txt_type == TXT_CLI) {
		char reply[ROOM_REPLY_MAX];
		uint8_t out[5 + ROOM_REPLY_MAX];
		if ((m->perms & 3) != ROLE_ADMIN || is_retry)
			return true;
		r->stats.cli_cmds++;
		char cmd[ROOM_REPLY_MAX];
		snprintf(cmd, sizeof(cmd), "%.*s", (int)text_ok, text);
		reply[0] = 0;
		room_cmd(r, cmd, ts, CMD_REMOTE, reply, sizeof(reply));
		size_t rl = strlen(reply);
		if (!rl)
			return true;
		le32_store(out, now == ts ? now + 1 : now);
		out[4] = TXT_CLI << 2;
		memcpy(out + 5, reply, rl);
		if (m->out_path_len == MESH_NO_PATH ? !flood_ok(r, m) : !direct_ok(r, m))
			return true;
		uint32_t delay = reply_delay(r, REPLY_DELAY_MS);
		if (send_datagram(r, m, PKT_TXT_MSG, out, 5 + rl, delay, rx->pkt))
			log_warn("room", "%s: CLI reply not sent", r->set.name);
		else
			reply_held(r, REPLY_DELAY_MS, delay);
		return true;
	}
	if ((m->perms & 3) == ROLE_GUEST)
		return true; /* read-only: no post, no ACK */
	if (is_banned(r, m->pub)) {
		r->stats.posts_refused++;
		return true;
	}
	if (room_post(r, m->pub, ts, text, text_ok, NULL) != ERR_OK)
		return true; /* not stored: no ACK, the client will retry */
	member_save(r, m);
	m->dirty = false;
	send_ack(r, m, rx->pkt, code, NULL, 0, ACK_DELAY_MS);
	return true;
}

/* ---- requests (§7.5) ---- */

static uint8_t unsynced_count(struct room *r, const struct room_member *m)
{
	uint32_t n = 0;
	if (store_post_count_since(r->store, r->store_id, m->pub, m->sync_since, STORE_TS_ANY, 255,
	                           &n) != ERR_OK)
		return 0;
	return (uint8_t)(n > 255 ? 255 : n);
}

/* The 52-byte ServerStats of §5.7, from our real counters. */
static size_t status_body(struct room *r, uint8_t *out)
{
	const struct mesh_stats *s = &r->mesh->stats;
	struct wbuf w;
	wbuf_init(&w, out, 52);
	wbuf_put_le16(&w, 0); /* battery mV: mains powered */
	wbuf_put_le16(&w, (uint16_t)mesh_queue_len(r->mesh));
	wbuf_put_le16(&w, 0); /* noise floor: unknown */
	wbuf_put_le16(&w, (uint16_t)(int16_t)s->last_rssi);
	wbuf_put_le32(&w, s->recv);
	wbuf_put_le32(&w, s->sent);
	wbuf_put_le32(&w, (uint32_t)(s->tx_air_ms / 1000));
	wbuf_put_le32(&w, (uint32_t)((r->mesh->now_ms - r->start_ms) / 1000));
	wbuf_put_le32(&w, s->flood_tx);
	wbuf_put_le32(&w, s->direct_tx);
	wbuf_put_le32(&w, s->flood_rx);
	wbuf_put_le32(&w, s->direct_rx);
	wbuf_put_le16(&w, s->err_flags);
	wbuf_put_le16(&w, (uint16_t)(int16_t)s->last_snr_x4);
	wbuf_put_le16(&w, (uint16_t)s->dup_direct);
	wbuf_put_le16(&w, (uint16_t)s->dup_flood);
	wbuf_put_le16(&w, (uint16_t)r->stats.posts_stored);
	wbuf_put_le16(&w, (uint16_t)r->stats.pushes);
	return w.len;
}

static bool on_req(struct room *r, const struct mesh_rx *rx, struct room_member *m,
                   const uint8_t *pt, size_t len)
{
	uint32_t ts = le32_load(pt);
	uint8_t out[4 + 180];
	size_t n = 4;

	if (len < 9) {
		r->stats.malformed++; /* a decrypted request is at least one 16-byte block */
		return false;
	}
	switch (pt[4]) {
	case REQ_KEEP_ALIVE:
	case REQ_GET_STATUS:
	case REQ_GET_TELEMETRY:
	case REQ_GET_ACCESS_LIST: break;
	default:
		/* checked before the replay mark moves: a wrong key's garbage
		 * must not move the member's mark to a random time */
		r->stats.malformed++;
		return false;
	}
	if (banned_member(r, m))
		return true;
	/* A client stamps each request anew (a post's retry keeps its stamp,
	 * a request's does not): one no newer than the key's mark is a replay,
	 * refused by the mark alone, not by the shared window that a member's
	 * own traffic can flush (issue 13.8). */
	if (ts <= m->last_ts || replayed(r, rx)) {
		r->stats.replays += ts <= m->last_ts;
		return true;
	}
	m->last_ts = ts_mark(r, ts);
	accepted(r, m, rx);
	m->last_activity = room_rtc(r);
	member_alive(m);
	m->dirty = true;
	r->any_dirty = true;
	r->stats.requests++;
	unsigned type = pt[4];

	if (type == REQ_KEEP_ALIVE && pkt_is_direct(rx->pkt)) {
		/* the plaintext is at least 16 bytes, so forceSince is always there */
		uint32_t force = le32_load(pt + 5);
		uint8_t code[4], cnt;
		if (force) {
			m->sync_since = force;
			m->caught_up = 0;
		}
		m->pending = false; /* abandoned without counting a failure (§7.5) */
		if (m->out_path_len == MESH_NO_PATH)
			return true;
		ack_code(code, pt, 9, m->pub);
		cnt = unsynced_count(r, m);
		send_ack(r, m, rx->pkt, code, &cnt, 1, REPLY_DELAY_MS);
		return true;
	}
	memcpy(out, pt, 4); /* the tag echoes the request's timestamp */
	switch (type) {
	case REQ_GET_STATUS: n += status_body(r, out + 4); break;
	case REQ_GET_TELEMETRY:
		/* Cayenne LPP: channel 1 voltage (0.00 V: no battery) */
		out[n++] = 1;
		out[n++] = 0x74;
		out[n++] = 0;
		out[n++] = 0;
		break;
	case REQ_GET_ACCESS_LIST:
		if ((m->perms & 3) != ROLE_ADMIN || pt[5] != 0 || pt[6] != 0) {
			r->stats.malformed += (m->perms & 3) == ROLE_ADMIN;
			return true;
		}
		for (size_t i = 0; i < r->n_members && n + 7 <= 180; i++) {
			if ((r->members[i].perms & 3) != ROLE_ADMIN)
				continue;
			memcpy(out + n, r->members[i].pub, 6);
			out[n + 6] = r->members[i].perms;
			n += 7;
		}
		break;
	default:
		r->stats.malformed++; /* unknown request type */
		return true;
	}
	send_reply(r, m, rx->pkt, PKT_RESPONSE, out, n, REPLY_DELAY_MS);
	return true;
}

/* False when the plaintext cannot be this member's: the mesh then tries the
 * other members behind the same key hash (a 2-byte MAC lets one wrong key in
 * 65536 through, which in a room of thousands is not rare). */
static bool on_peer_data(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                         unsigned type, const uint8_t *pt, size_t len)
{
	struct room *r = room_of(ep);
	struct room_member *m = peer_member(r, peer);
	if (!m)
		return true;
	if (len <= 5) {
		r->stats.malformed++;
		return false;
	}
	if (type == PKT_TXT_MSG)
		return on_txt(r, rx, m, pt, len);
	if (type == PKT_REQ)
		return on_req(r, rx, m, pt, len);
	return true;
}

/* ---- ACKs (§7.7) and paths (§7.6) ---- */

/* Eight LoRa symbols of our settings, in ms (rounded up). */
static uint64_t turnaround_ms(const struct room *r)
{
	const struct lora_params *lp = &r->mesh->cfg.lp;
	uint64_t sym_us = lp->bw_hz ? ((uint64_t)1000000 << lp->sf) / lp->bw_hz : 0;
	return (8 * sym_us + 999) / 1000;
}

/*
 * Any member can compute the ACK of a push it was also sent; one that
 * arrives before the push can have reached its recipient is forged (issues
 * 8, 13).  The clock starts when the push left the air (its TxDone): a
 * modem may hold a frame for seconds before it keys up, so the time it was
 * queued says nothing.  While the push has not been sent every ACK is early.
 */
static bool ack_too_early(struct room *r, const struct room_member *m, uint64_t now)
{
	uint64_t done = 0;
	int st = mesh_tx_state(r->mesh, m->push_seq, &done);
	if (st == MESH_TX_WAITING)
		return true;
	if (st == ERR_OK)
		return done == UINT64_MAX || now < done + m->push_min_ack_ms;
	/* the mesh has forgotten it (long ago): measure from queueing */
	return now < m->push_sent_ms + m->push_air_ms + m->push_min_ack_ms;
}

/* The member's push state as it stands, in one commit (before a push goes
 * out, and when its ACK moves the sync point). */
static int push_state_save(struct room *r, const struct room_member *m)
{
	int rc = store_member_set_push(
	    r->store, r->store_id, m->pub, m->sync_since, m->last_activity,
	    (uint8_t)(m->push_sent | (m->held == HELD_RESENT ? PUSH_SENT_RESENT : 0)));
	if (rc)
		r->stats.store_errors++;
	return rc;
}

/* The ACK moved the member's sync point to post_ts: state, commit, pace. */
static void acked(struct room *r, struct room_member *m, uint32_t post_ts, uint64_t now)
{
	m->pending = false;
	m->answered = true;
	member_alive(m);
	m->last_activity = room_rtc(r);
	m->sync_since = post_ts;
	m->push_sent = 0;
	m->push_retry_ts = 0;
	m->held = HELD_NONE;
	m->caught_up = 0;
	m->next_push_ms = now;
	r->stats.push_acks++;
	/* durable now: the member has shown the post, and a crash must not
	 * make it show it again (issue 18) */
	push_state_save(r, m);
	/* the next push goes out at once, but not before a frame its sender
	 * keys up straight after the ACK (a return PATH, §9.3) can be heard:
	 * carrier sense needs a few symbols of it (issue 7) */
	r->next_push_ms = now + turnaround_ms(r);
	r->push_idle_ms = now;
	release_held(r, now);
}

/* The ACK of an earlier copy of a post, after that copy timed out (the
 * firmware's "TODO: keep prev expected_ack's in a list"). */
static bool match_late_ack(struct room *r, const uint8_t code[4], uint64_t now)
{
	for (unsigned i = 0; i < ROOM_LATE_ACKS; i++) {
		if (!r->late[i].post_ts || memcmp(r->late[i].code, code, 4) != 0)
			continue;
		struct room_member *m = room_member_find(r, r->late[i].pub);
		uint32_t ts = r->late[i].post_ts;
		r->late[i].post_ts = 0;
		if (!m || m->sync_since >= ts || is_banned(r, m->pub))
			return true; /* it has moved on (or is banned): nothing to do */
		if (m->pending && m->push_ts != ts)
			m->pending = false; /* cannot happen: copies of one post at a time */
		acked(r, m, ts, now);
		return true;
	}
	return false;
}

static void late_ack_keep(struct room *r, const struct room_member *m)
{
	unsigned i = r->late_next;
	memcpy(r->late[i].pub, m->pub, CRYPTO_PUB_SIZE);
	r->late[i].post_ts = m->push_ts;
	memcpy(r->late[i].code, m->pending_ack, 4);
	r->late_next = (i + 1) % ROOM_LATE_ACKS;
}

static bool match_ack(struct room *r, const struct mesh_rx *rx, const uint8_t code[4])
{
	for (unsigned j = 0; j < r->n_inflight; j++) {
		struct room_member *m = &r->members[r->inflight[j]];
		if (!m->pending || memcmp(m->pending_ack, code, 4) != 0)
			continue;
		if (ack_too_early(r, m, rx->now_ms)) {
			/* ignored: the push stays out, and its member's own ACK
			 * (the same bytes: forgotten by the duplicate table) is
			 * taken when it comes; a new copy instead would show
			 * the post twice on a stock client */
			uint8_t h[PKT_HASH_SIZE];
			pkt_hash(rx->pkt, h);
			mesh_dup_clear(r->mesh, h);
			r->stats.push_acks_forged++;
			return true;
		}
		if (is_banned(r, m->pub)) {
			m->pending = false; /* a banned key moves no sync point */
			return true;
		}
		acked(r, m, m->push_ts, rx->now_ms);
		return true;
	}
	return match_late_ack(r, code, rx->now_ms);
}

static bool on_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
                   const uint8_t *payload, size_t len)
{
	(void)payload;
	(void)len;
	return match_ack(room_of(ep), rx, code);
}

static bool on_peer_path(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                         uint8_t path_len, const uint8_t *path, unsigned extra_type,
                         const uint8_t *extra, size_t extra_len)
{
	struct room *r = room_of(ep);
	struct room_member *m = peer_member(r, peer);
	if (!m || replayed(r, rx) || is_banned(r, m->pub))
		return false;
	/* A PATH has no timestamp.  A client sends one only in answer to a
	 * flood of ours (a flooded reply, push, ACK or PATH: BaseChatMesh's
	 * reciprocal path and handleReturnPathRetry), so one is taken only while
	 * the member has no route or shortly after such a flood: an old PATH
	 * replayed once the shared window was flushed by a member's own
	 * requests, or after a restart, is refused (issue 13.8). */
	if (m->out_path_len != MESH_NO_PATH &&
	    (!m->flood_sent_ms || rx->now_ms > m->flood_sent_ms + PATH_ANSWER_MS)) {
		r->stats.replays++;
		return false;
	}
	accepted(r, m, rx);
	m->out_path_len = path_len;
	memcpy(m->out_path, path, path_len_bytes(path_len));
	m->last_activity = room_rtc(r);
	if (store_member_set_out_path(r->store, r->store_id, m->pub, path_len, m->out_path))
		r->stats.store_errors++;
	if (extra_type == PKT_ACK && extra_len >= 4)
		match_ack(r, rx, extra);
	return false; /* the room never sends a reciprocal path */
}

/* ---- push engine (§7.8) ---- */

/* Drops from the in-flight list the members no longer pending (an ACK, a
 * timeout, a login or a keep-alive ended their push); returns how many are.
 * push_post() calls it before it appends, so no member is listed twice. */
static unsigned pushes_in_flight(struct room *r)
{
	unsigned k = 0;
	for (unsigned j = 0; j < r->n_inflight; j++) {
		uint32_t x = r->inflight[j];
		if (r->members[x].pending)
			r->inflight[k++] = x;
	}
	r->n_inflight = k;
	return k;
}

/*
 * Pushes to different members take turns with their ACKs (issue 7).  A
 * member answers a push 200 ms after it ends (TXT_ACK_DELAY, §9.5) from a
 * firmware radio that merely defers while it hears a carrier (120-360 ms,
 * §6.7).  A second push started in that gap keeps the ACK off the air; with
 * several members the deferred ACKs then collide with each other and with
 * our next push, and members are given up although they are in range.  So
 * while one push's ACK is due no other push starts.  The wait covers the
 * push and a PATH-sized ACK on the air once per hop each way, up to one
 * direct retransmit delay per hop (§6.7: at most 5 x 0.2 x airtime), the
 * client's 200 ms and one busy retry (360 ms); a flooded push counts one
 * hop.  After that a silent member no longer holds the others up (up to
 * push_parallel of them may be pending), as before.
 */
#define ACK_FRAME_MAX       22 /* a PATH carrying the ACK, no hops */
#define CLIENT_ACK_DELAY_MS 200
#define BUSY_RETRY_MAX_MS   360

static uint64_t ack_wait_ms(const struct room *r, size_t push_len, unsigned hops)
{
	const struct lora_params *lp = &r->mesh->cfg.lp;
	uint64_t leg = lora_airtime_ms(lp, push_len) + lora_airtime_ms(lp, ACK_FRAME_MAX + hops);
	return (2 * (uint64_t)hops + 1) * leg + CLIENT_ACK_DELAY_MS + BUSY_RETRY_MAX_MS;
}

/* When a member's ACK is expected after the push left our radio: the push
 * over the other hops, the client's 200 ms, the ACK back over every hop, and
 * one busy retry (up to 360 ms) of a client that heard something else (a
 * post that came in meanwhile: our reply to it would meet the ACK).  A
 * flooded push counts no hops here: the answer of a member in range is the
 * one our reply could meet, and a silent key's flood must not hold a
 * reply up for a second (the author's ACK within 1 s, issue 13). */
static uint32_t ack_soon_ms(const struct room *r, size_t push_len, unsigned hops)
{
	const struct lora_params *lp = &r->mesh->cfg.lp;
	uint64_t fwd = (uint64_t)hops * lora_airtime_ms(lp, push_len);
	uint64_t back = ((uint64_t)hops + 1) * lora_airtime_ms(lp, ACK_FRAME_MAX + hops);
	return (uint32_t)(fwd + CLIENT_ACK_DELAY_MS + back + BUSY_RETRY_MAX_MS);
}

/*
 * A push's waits (its ACK due, its timeout) run from when it left the air:
 * while the radio holds it (a busy channel) they have not begun.
 */
static uint64_t after_tx(const struct room *r, const struct room_member *m, uint64_t span,
                         uint64_t now)
{
	uint64_t done = 0;
	int st = mesh_tx_state(r->mesh, m->push_seq, &done);
	if (st == MESH_TX_WAITING)
		return now + span;
	if (st == ERR_OK && done != UINT64_MAX)
		return done + span;
	return m->push_sent_ms + span;
}

/* When the last ACK now due from a push is due by (now if none).  A member
 * that has answered pushes is waited for over its ACK's whole window; one
 * that has not (a newcomer's first push, or a silent login, issue 13) only
 * around the moment its ACK is expected: a newcomer's first ACK is not met
 * by our reply, and a key that never ACKs holds a reply up by a few hundred
 * ms, not by a whole window. */
static uint64_t push_acks_due_until(const struct room *r, uint64_t now)
{
	uint64_t until = now;
	for (unsigned j = 0; j < r->n_inflight; j++) {
		const struct room_member *m = &r->members[r->inflight[j]];
		if (!m->pending)
			continue;
		uint64_t t =
		    after_tx(r, m, m->answered ? m->ack_due_span_ms : m->ack_soon_span_ms, now);
		if (t > until)
			until = t;
	}
	return until;
}

/* Replies held back for a push's ACK go once no ACK is due any more (a
 * turnaround after the one that just came in, and never before their own
 * delay). */
static void release_held(struct room *r, uint64_t now)
{
	if (!r->n_held || push_acks_due_until(r, now) > now)
		return;
	for (unsigned i = 0; i < r->n_held; i++) {
		uint64_t due = now + turnaround_ms(r);
		mesh_set_due(r->mesh, r->held[i].seq,
		             due > r->held[i].due_ms ? due : r->held[i].due_ms);
	}
	r->n_held = 0;
}

static bool ack_due(const struct room *r, uint64_t now)
{
	for (unsigned j = 0; j < r->n_inflight; j++) {
		const struct room_member *m = &r->members[r->inflight[j]];
		if (m->pending && now < after_tx(r, m, m->ack_due_span_ms, now))
			return true;
	}
	return false;
}

/*
 * The variant of copy n of a post (issue 12): the attempt bits are n & 3 and
 * from the fifth copy on a tail byte n follows the text's NUL (the
 * companion's "extended attempt" byte of §5.4), so no two copies of a post
 * to a member are byte-identical and none is dropped by the member's
 * duplicate table.  Neither changes the ACK or the text shown.  Returns
 * the plaintext length.
 */
static size_t push_plaintext(uint8_t *pt, const struct store_post *p, unsigned n)
{
	le32_store(pt, p->post_ts);
	pt[4] = (uint8_t)((TXT_SIGNED << 2) | (n & 3));
	memcpy(pt + 5, p->author, 4);
	memcpy(pt + 9, p->text, p->text_len);
	size_t len = 9 + p->text_len;
	if (n > 3) {
		pt[len++] = 0;
		pt[len++] = (uint8_t)n;
	}
	return len;
}

static int push_post(struct room *r, struct room_member *m, const struct store_post *p)
{
	uint8_t pt[11 + STORE_TEXT_MAX];
	struct pkt pkt;

	if (pushes_in_flight(r) >= ROOM_PUSH_PARALLEL_MAX)
		return ERR_FULL; /* cannot happen: push.parallel is at most that */
	if (!member_secret(r, m))
		return ERR_CRYPTO;
	/* push_sent counts the copies of one post; loaded from the store
	 * (push_retry_ts 0) they are copies of the member's next post */
	if (m->push_retry_ts != p->post_ts) {
		if (m->push_retry_ts) {
			m->push_sent = 0;
			m->held = HELD_NONE;
		}
		m->push_retry_ts = p->post_ts;
	}
	bool resend = m->held == HELD_RESEND && m->push_sent;
	unsigned n = resend ? m->push_sent - 1u : m->push_sent;
	if (resend)
		m->held = HELD_RESENT;
	else if (m->push_sent < PUSH_SENT_MAX)
		m->push_sent++;
	/* durable before it is on the air, so a restart knows the copy */
	if (push_state_save(r, m) != ERR_OK)
		return ERR_STORE;
	size_t len = push_plaintext(pt, p, n);
	int rc = mesh_build_datagram(&pkt, PKT_TXT_MSG, &r->ep.id, m->pub[0], m->secret, pt, len);
	if (rc)
		return rc;
	ack_code(m->pending_ack, pt, 9 + p->text_len, m->pub);
	uint64_t now = r->mesh->now_ms;
	/* The last push of a round floods, in case the route changed, but the
	 * route is kept (replies and later pushes use it) until a PATH
	 * replaces it or the member logs in by flood (the firmware never drops
	 * it either, issue 12). */
	bool flood = m->out_path_len == MESH_NO_PATH || m->push_failures == PUSH_FAILS_GIVE_UP - 1;
	uint32_t hops = flood ? 0 : path_len_count(m->out_path_len);
	if (flood) {
		uint8_t key[16];
		rc = mesh_send_flood(r->mesh, &pkt, 0, (unsigned)flood_hash_size(r),
		                     room_default_scope(r, key));
		m->ack_span_ms = PUSH_TIMEOUT_FLOOD_MS;
		m->flood_sent_ms = now; /* its PATH + ACK answers this flood */
	} else {
		rc = mesh_send_direct(r->mesh, &pkt, m->out_path_len, m->out_path, 0);
		m->ack_span_ms = 4000 + 2000 * (hops + 1);
	}
	m->ack_timeout_ms = now + m->ack_span_ms;
	if (rc)
		return rc;
	m->push_seq = mesh_last_queued(r->mesh);
	m->push_flood = flood;
	m->push_resend = resend;
	m->push_air_ms =
	    lora_airtime_ms(&r->mesh->cfg.lp, 2 + pkt_path_bytes(&pkt) + pkt.payload_len);
	/* The earliest a genuine ACK can come back after the push left our
	 * radio: the push crosses the remaining hops of its route (each copy at
	 * least as long as ours) and the smallest ACK frame (header, path_len,
	 * code) crosses one more. */
	m->push_min_ack_ms = hops * lora_airtime_ms(&r->mesh->cfg.lp, 2 + pkt.payload_len) +
	                     lora_airtime_ms(&r->mesh->cfg.lp, 6);
	m->push_drop_ms = 0;
	m->pending = true;
	r->inflight[r->n_inflight++] = (uint32_t)(m - r->members);
	m->push_ts = p->post_ts;
	m->push_sent_ms = now;
	m->ack_due_span_ms =
	    ack_wait_ms(r, 2 + pkt_path_bytes(&pkt) + pkt.payload_len, flood ? 1 : hops);
	m->ack_soon_span_ms = ack_soon_ms(r, 2 + pkt_path_bytes(&pkt) + pkt.payload_len, hops);
	r->stats.pushes++;
	return ERR_OK;
}

/* The member has the post (see HELD_*): on to the next one. */
static void held_assumed(struct room_member *m, uint32_t post_ts, uint64_t now)
{
	m->sync_since = post_ts;
	m->push_sent = 0;
	m->push_retry_ts = 0;
	m->held = HELD_NONE;
	m->caught_up = 0;
	m->next_push_ms = now;
}

/* A bound on what a silent member costs was reached: given up until it
 * shows activity (or, for the hourly bound, until the hour is over). */
static void give_up(struct room *r, struct room_member *m)
{
	m->push_failures = PUSH_FAILS_GIVE_UP;
	r->stats.push_given_up++;
}

static void push_timeout(struct room *r, struct room_member *m, uint64_t now)
{
	uint32_t rtc = room_rtc(r);
	m->pending = false;
	r->push_idle_ms = now;
	late_ack_keep(r, m);
	if (m->push_resend && m->held == HELD_RESENT) {
		held_assumed(m, m->push_ts, now);
		return;
	}
	m->push_failures++;
	r->stats.push_timeouts++;
	r->stats.push_silent_air_ms += m->push_air_ms;
	if (!r->silent_hour || rtc - r->silent_hour >= 3600) {
		r->silent_hour = rtc;
		r->silent_air_ms = 0;
	}
	r->silent_air_ms += m->push_air_ms;
	if (m->push_flood)
		m->silent_floods++;
	if (!m->silent_hour || rtc - m->silent_hour >= 3600) {
		m->silent_hour = rtc;
		m->silent_pushes = 0;
	}
	m->silent_pushes++;
	if (m->silent_floods >= PUSH_SILENT_FLOODS || m->silent_pushes >= PUSH_SILENT_HOUR) {
		give_up(r, m);
		return;
	}
	if (m->push_failures < PUSH_FAILS_GIVE_UP)
		return;
	if (m->push_rounds + 1 >= PUSH_SILENT_ROUNDS || !m->last_activity ||
	    rtc < m->last_activity || rtc - m->last_activity >= PUSH_ROUND_ACTIVE_S) {
		r->stats.push_given_up++;
		return;
	}
	unsigned shift = m->push_rounds < 5 ? m->push_rounds : 5;
	uint64_t pause = (uint64_t)PUSH_ROUND_PAUSE_MS << shift;
	if (pause > PUSH_ROUND_PAUSE_MAX_MS)
		pause = PUSH_ROUND_PAUSE_MAX_MS;
	m->push_rounds++;
	m->push_failures = 0;
	m->next_push_ms = now + pause;
	r->stats.push_rounds++;
}

/* A push a login kept out, dropped at the login's push slot once its ACK
 * is no longer due (not a failure: the member showed life): the next copy
 * goes at once.  Not the unchanged copy resent after a restart, whose
 * outcome decides what the member is assumed to have (HELD_RESENT). */
static bool push_drop(struct room *r, struct room_member *m, uint64_t now)
{
	if (!m->push_drop_ms || now < m->push_drop_ms ||
	    (m->push_resend && m->held == HELD_RESENT) ||
	    now < after_tx(r, m, m->ack_due_span_ms, now))
		return false;
	m->pending = false;
	m->push_drop_ms = 0;
	r->push_idle_ms = now;
	late_ack_keep(r, m);
	return true;
}

static void push_timeouts(struct room *r, uint64_t now)
{
	for (unsigned j = 0; j < r->n_inflight; j++) {
		struct room_member *m = &r->members[r->inflight[j]];
		if (!m->pending)
			continue;
		if (push_drop(r, m, now))
			continue;
		m->ack_timeout_ms = after_tx(r, m, m->ack_span_ms, now);
		if (now >= m->ack_timeout_ms)
			push_timeout(r, m, now);
	}
}

bool room_member_given_up(const struct room_member *m)
{
	return m->push_failures >= PUSH_FAILS_GIVE_UP;
}

/* The hourly bounds on unanswered pushes hold the member back: its own, and
 * the room's for members that have not answered a push. */
static bool silent_hour_spent(const struct room *r, const struct room_member *m)
{
	uint32_t rtc = room_rtc(r);
	if (m->silent_pushes >= PUSH_SILENT_HOUR && rtc - m->silent_hour < 3600)
		return true;
	/* a member's first push after a sign of life always goes (a newcomer
	 * answers it and is free of the bound; a silent key gets one push per
	 * login, which costs it a packet) */
	bool unanswered = m->push_failures || m->push_rounds || m->silent_floods;
	return !m->answered && unanswered && r->silent_air_ms >= PUSH_SILENT_ROOM_AIR_MS &&
	       rtc - r->silent_hour < 3600;
}

/*
 * A silent gap in a long run of pushes (issue 12.2).  While the room pushes
 * to member after member, the channel is busy but for the 200 ms before each
 * ACK; a firmware client with a post to send looks again 120, 240 or 360 ms
 * after it found the channel busy (Dispatcher::checkSend), so it either
 * keys up in one of those 200 ms, where a member's ACK may start within its
 * carrier-sense time, or gives up waiting after 4 s and sends anyway.  So
 * after PUSH_RUN_MAX_MS of back-to-back exchanges the next push waits until
 * the channel has been silent PUSH_GAP_MS (longer than the longest retry:
 * every waiting client's next look falls into it).  Returns true if the
 * push has to wait.
 */
#define PUSH_RUN_MAX_MS 3000
#define PUSH_GAP_MS     400
static bool push_gap(struct room *r, uint64_t now)
{
	if (!r->push_run_ms || now >= r->push_idle_ms + PUSH_GAP_MS) {
		r->push_run_ms = now; /* the channel was quiet: a new run */
		return false;
	}
	if (now - r->push_run_ms < PUSH_RUN_MAX_MS)
		return false;
	r->push_gap_until = r->push_idle_ms + PUSH_GAP_MS;
	return true;
}

static void push_engine(struct room *r, uint64_t now)
{
	struct store_post p;

	push_timeouts(r, now);
	if (!r->n_members)
		return;
	/* One push per call at most: once it is out its ACK is due (ack_due),
	 * and nothing else in the walk changes these.  Nothing else may be
	 * waiting to go on the air: an ACK, a login response or a CLI reply
	 * goes before any push (the author sees "Delivered" first, issue 12),
	 * and the radio's queue stays short. */
	if (pushes_in_flight(r) >= r->set.push_parallel || mesh_queue_len(r->mesh) > 0 ||
	    ack_due(r, now))
		return;
	unsigned queries = 0;
	for (size_t k = 0; k < r->n_members; k++) {
		/* a tick asks the store a bounded number of times: the walk
		 * goes on from r->rr at the next one */
		if (queries == PUSH_WALK_QUERIES)
			return;
		struct room_member *m = &r->members[r->rr];
		r->rr = (r->rr + 1) % r->n_members;
		if (m->pending || m->caught_up == r->post_gen || !m->last_activity ||
		    m->remote_heard > m->last_activity || m->push_failures >= PUSH_FAILS_GIVE_UP ||
		    now < m->next_push_ms || silent_hour_spent(r, m))
			continue;
		int rc =
		    store_post_next(r->store, r->store_id, m->pub, m->sync_since, STORE_TS_ANY, &p);
		queries++;
		if (rc == ERR_NOT_FOUND) {
			m->caught_up = r->post_gen;
			continue;
		}
		if (rc) {
			r->stats.store_errors++;
			return;
		}
		if (is_banned(r, m->pub)) {
			m->push_failures =
			    PUSH_FAILS_GIVE_UP; /* until it is unbanned and logs in */
			continue;
		}
		if (m->held == HELD_ASSUME) {
			held_assumed(m, p.post_ts, now);
			continue;
		}
		if (push_gap(r, now))
			return;
		push_post(r, m, &p);
		return;
	}
}

/* ---- adverts (§7.9) ---- */

size_t room_app_data(const struct room *r, uint8_t out[32])
{
	size_t n = 0;
	uint8_t flags = 3; /* type: room */
	size_t name_len = strlen(r->set.name);
	size_t room_left = r->set.advert_location ? 23 : 31;

	if (name_len > room_left) {
		/* cut at a UTF-8 boundary */
		name_len = room_left;
		while (name_len > 0 && ((uint8_t)r->set.name[name_len] & 0xC0) == 0x80)
			name_len--;
	}
	if (r->set.advert_location)
		flags |= 0x10;
	if (name_len)
		flags |= 0x80;
	out[n++] = flags;
	if (r->set.advert_location) {
		le32_store(out + n, (uint32_t)(int32_t)(r->set.lat * 1000000.0));
		le32_store(out + n + 4, (uint32_t)(int32_t)(r->set.lon * 1000000.0));
		n += 8;
	}
	memcpy(out + n, r->set.name, name_len);
	return n + name_len;
}

int room_advert(struct room *r, bool flood)
{
	uint8_t app[32];
	struct pkt p;
	size_t n = room_app_data(r, app);
	int rc = mesh_build_advert(&p, &r->ep.id, room_rtc(r), app, n);
	if (rc)
		return rc;
	uint8_t key[16];
	if (flood)
		return mesh_send_flood(r->mesh, &p, 0, (unsigned)flood_hash_size(r),
		                       room_default_scope(r, key));
	return mesh_send_zero_hop(r->mesh, &p, 0);
}

static void schedule_adverts(struct room *r, uint64_t now)
{
	r->next_advert_ms = r->set.advert_interval_min
	                        ? now + (uint64_t)r->set.advert_interval_min * 60000
	                        : UINT64_MAX;
	r->next_flood_advert_ms = r->set.flood_advert_interval_h
	                              ? now + (uint64_t)r->set.flood_advert_interval_h * 3600000
	                              : UINT64_MAX;
}

/* When the last push's ACK window ends (now if none): the end of its whole
 * window, for any member. */
static uint64_t push_window_end(const struct room *r, uint64_t now)
{
	uint64_t until = now;
	for (unsigned j = 0; j < r->n_inflight; j++) {
		const struct room_member *m = &r->members[r->inflight[j]];
		if (!m->pending)
			continue;
		uint64_t t = after_tx(r, m, m->ack_due_span_ms, now);
		if (t > until)
			until = t;
	}
	return until;
}

/* An advert due while a push's ACK is due waits until that ACK's window
 * ends: keyed up on top of the ACK it loses it, and the new copy of the
 * push is shown twice by a firmware client (interop, after a restart: the
 * start's zero-hop advert 12 ms after a member's ACK).  The push engine
 * starts nothing while the advert is queued, so it is not put off again. */
static void adverts_wait(struct room *r, uint64_t until)
{
	if (r->pending_flood_ms && r->pending_flood_ms < until)
		r->pending_flood_ms = until;
	if (r->pending_zero_hop_ms && r->pending_zero_hop_ms < until)
		r->pending_zero_hop_ms = until;
	if (r->next_flood_advert_ms < until)
		r->next_flood_advert_ms = until;
	if (r->next_advert_ms < until)
		r->next_advert_ms = until;
}

static void advert_timers(struct room *r, uint64_t now)
{
	bool due = (r->pending_flood_ms && now >= r->pending_flood_ms) ||
	           (r->pending_zero_hop_ms && now >= r->pending_zero_hop_ms) ||
	           now >= r->next_flood_advert_ms || now >= r->next_advert_ms;
	uint64_t until = due ? push_window_end(r, now) : now;
	if (until > now) {
		adverts_wait(r, until);
		return;
	}
	if (r->pending_flood_ms && now >= r->pending_flood_ms) {
		r->pending_flood_ms = 0;
		room_advert(r, true);
	}
	if (r->pending_zero_hop_ms && now >= r->pending_zero_hop_ms) {
		r->pending_zero_hop_ms = 0;
		room_advert(r, false);
	}
	if (now >= r->next_flood_advert_ms) {
		room_advert(r, true);
		schedule_adverts(r, now); /* the zero-hop timer restarts too */
	} else if (now >= r->next_advert_ms) {
		room_advert(r, false);
		r->next_advert_ms = now + (uint64_t)r->set.advert_interval_min * 60000;
	}
}

/* A member's advert gives its name, for the admin's lists (members, post.list). */
static void on_advert(struct mesh_ep *ep, const struct mesh_rx *rx,
                      const uint8_t pub[CRYPTO_PUB_SIZE], uint32_t ts, const uint8_t *app_data,
                      size_t app_len)
{
	struct room *r = ep->ctx;
	struct advert_data ad;
	(void)rx;
	(void)ts;
	struct room_member *m = room_member_find(r, pub);
	if (m && advert_data_decode(&ad, app_data, app_len) == ERR_OK && ad.name[0])
		snprintf(m->name, sizeof(m->name), "%s", ad.name);
}

/* ---- lifecycle ---- */

static const struct mesh_ep_ops room_ops = {
    .peers_by_hash = peers_by_hash,
    .on_anon_req = on_anon_req,
    .on_peer_data = on_peer_data,
    .on_peer_path = on_peer_path,
    .on_ack = on_ack,
    .on_advert = on_advert,
};

void room_node_init(struct room_node *n, const struct lora_params *lp, int tx_dbm)
{
	memset(n, 0, sizeof(*n));
	n->lp = *lp;
	n->run_lp = *lp;
	n->tx_dbm = tx_dbm;
}

/* tempradio (§8.2): applied 2 s after the command, reverted to the saved parameters. */
static void node_timers(struct room *r, uint64_t now)
{
	struct room_node *n = r->node;
	bool changed = false;
	if (n->temp_apply_ms && now >= n->temp_apply_ms) {
		n->temp_apply_ms = 0;
		n->run_lp = n->temp_lp;
		changed = true;
	}
	if (n->temp_revert_ms && now >= n->temp_revert_ms) {
		n->temp_revert_ms = 0;
		n->run_lp = n->lp;
		changed = true;
	}
	if (!changed)
		return;
	r->mesh->cfg.lp = n->run_lp;
	log_info("room", "radio now %u Hz, %u Hz, SF%u, CR4/%u", n->run_lp.freq_hz, n->run_lp.bw_hz,
	         n->run_lp.sf, n->run_lp.cr);
	if (r->hooks.radio_changed)
		r->hooks.radio_changed(r->hooks.ctx, r);
}

static void load_settings(struct room *r)
{
	char buf[STORE_SETTING_VALUE_MAX];
	room_regions_init(&r->regions);
	if (store_setting_get(r->store, r->store_id, "regions", NULL, buf, sizeof(buf)) == ERR_OK &&
	    room_regions_decode(&r->regions, buf) != ERR_OK)
		log_warn("room", "room %u: ignoring stored regions '%s'", r->store_id, buf);
	room_settings_defaults(&r->set);
	for (size_t i = 0; i < room_setting_count; i++) {
		const struct setting_def *d = &room_setting_defs[i];
		if (store_setting_get(r->store, r->store_id, d->key, NULL, buf, sizeof(buf)) !=
		    ERR_OK)
			continue;
		if (room_setting_parse(&r->set, d, buf) != ERR_OK)
			log_warn("room", "room %u: ignoring stored %s = '%s'", r->store_id, d->key,
			         buf);
	}
}

int room_save_settings(struct room *r)
{
	char buf[STORE_SETTING_VALUE_MAX];
	int rc = store_begin(r->store);
	for (size_t i = 0; !rc && i < room_setting_count; i++) {
		const struct setting_def *d = &room_setting_defs[i];
		rc = room_setting_format(&r->set, d, buf, sizeof(buf));
		if (!rc)
			rc = store_setting_set(r->store, r->store_id, d->key, buf);
	}
	if (rc) {
		store_rollback(r->store);
		r->stats.store_errors++;
		return rc;
	}
	rc = store_commit(r->store);
	if (!rc)
		store_room_set_retention(r->store, r->store_id, r->set.max_posts, 0);
	return rc;
}

bool room_default_passwords(const struct room *r)
{
	return strcmp(r->set.admin_password, "password") == 0 ||
	       strcmp(r->set.guest_password, "hello") == 0 || !r->set.admin_password[0] ||
	       !r->set.guest_password[0];
}

/* The RTC the room last saved (0: none); see room_open. */
static uint32_t clock_floor_load(struct room *r)
{
	char buf[32], *end;
	if (store_setting_get(r->store, r->store_id, CLOCK_FLOOR_KEY, NULL, buf, sizeof(buf)) !=
	    ERR_OK)
		return 0;
	unsigned long v = strtoul(buf, &end, 10);
	return end != buf && !*end && v <= UINT32_MAX ? (uint32_t)v : 0;
}

void room_clock_floor_save(struct room *r)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%u", room_rtc(r));
	if (store_setting_set(r->store, r->store_id, CLOCK_FLOOR_KEY, buf) != ERR_OK)
		r->stats.store_errors++;
}

/*
 * After a restart the room goes on pushing to the members that were active
 * in the PUSH_ROUND_ACTIVE_S before it stopped (issue 18): their apps still
 * show them logged in.  The stop is the room's last "alive" mark (written
 * every ALIVE_EVERY_MS and at a graceful close), or else the newest
 * activity or post the store holds; the time the room was down does not
 * count as idle time, so they get the rounds of a member briefly out of
 * reach.  Anyone else waits for a sign of life, as after a firmware reboot.
 */
static void resume_members(struct room *r, uint32_t newest, uint64_t now_ms)
{
	uint32_t stop = newest, rtc = room_clock_rtc(r->clock, now_ms);
	char buf[16];
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].last_activity > stop)
			stop = r->members[i].last_activity;
	if (store_setting_get(r->store, r->store_id, ALIVE_KEY, NULL, buf, sizeof(buf)) == ERR_OK) {
		unsigned long v = strtoul(buf, NULL, 10);
		if (v > stop && v <= UINT32_MAX)
			stop = (uint32_t)v;
	}
	for (size_t i = 0; i < r->n_members; i++) {
		struct room_member *m = &r->members[i];
		uint32_t la = m->last_activity;
		if (!la || stop - la >= PUSH_ROUND_ACTIVE_S) {
			m->last_activity = 0;
			continue;
		}
		m->last_activity = rtc > stop ? la + (rtc - stop) : la;
		m->answered = true;
	}
}

/* The room's "alive" mark: the RTC it last ran at, for resume_members(). */
static void mark_alive(struct room *r, uint64_t now_ms)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u", room_clock_rtc(r->clock, now_ms));
	if (store_setting_set(r->store, r->store_id, ALIVE_KEY, buf) != ERR_OK)
		r->stats.store_errors++;
	r->next_alive_ms = now_ms + ALIVE_EVERY_MS;
}

static int load_dup(void *ctx, const uint8_t hash[STORE_HASH_LEN], uint32_t seen)
{
	(void)seen;
	guard_dup_add(ctx, hash);
	return 0;
}

int room_open(struct room *r, struct mesh *mesh, struct store *st, uint32_t store_id,
              const struct ident *id, struct room_clock *clock, uint64_t now_ms)
{
	struct load_ctx lc = {r, ERR_OK, NULL, 0, 0};
	uint32_t newest = 0;

	memset(r, 0, sizeof(*r));
	r->mesh = mesh;
	r->store = st;
	r->store_id = store_id;
	r->clock = clock;
	r->ep.id = *id;
	r->ep.ops = &room_ops;
	r->ep.ctx = r;
	r->start_ms = now_ms;
	r->post_gen = 1;
	guard_init(&r->guard, now_ms);
	load_settings(r);
	/* the retention limit follows max.posts, also when it came from the config file */
	struct store_room sr;
	if (store_room_get(st, store_id, &sr) == ERR_OK && sr.max_posts != r->set.max_posts)
		store_room_set_retention(st, store_id, r->set.max_posts, sr.max_age_s);
	room_node_init(&r->own_node, &mesh->cfg.lp, 22);
	r->node = &r->own_node;
	int rc = store_member_list(st, store_id, load_member, &lc);
	for (size_t i = 0; !rc && !lc.rc && i < lc.n_stale; i++)
		if (store_member_delete(st, store_id, lc.stale[i]) != ERR_OK)
			r->stats.store_errors++;
	free(lc.stale);
	if (rc || lc.rc) {
		room_close(r);
		return rc ? rc : lc.rc;
	}
	/* the replay window of the previous run (oldest first, so the ring ends
	 * up in the same order) */
	if (store_dup_load(st, store_id, GUARD_DUP_MAX, load_dup, &r->guard) != ERR_OK)
		r->stats.store_errors++;
	/* Post timestamps keep increasing across restarts, whatever the clock
	 * did.  A wall clock stepped back far while we were down would also date
	 * our adverts before the last ones (clients drop those as replays): then
	 * the RTC is moved forwards to the clock the room last saved (never to a
	 * time clients made: unique times run ahead by one per post, and a
	 * flood of posts must not push the clock ahead, issue 13.5), or to the
	 * newest post if that is only a little later. */
	if (store_post_newest_ts(st, store_id, &newest) == ERR_OK)
		r->last_unique = newest;
	uint32_t floor = clock_floor_load(r), rtc = room_clock_rtc(clock, now_ms);
	if (floor > rtc + CLOCK_STEP_S) {
		uint32_t to = newest > floor && newest <= floor + CLOCK_STEP_S ? newest : floor;
		if (room_clock_set(clock, now_ms, to))
			log_warn("room",
			         "room %u: clock %u s behind the last one saved, moved forwards",
			         store_id, to - rtc);
	}
	r->next_floor_ms = now_ms + CLOCK_FLOOR_SAVE_MS;
	resume_members(r, newest, now_ms);
	schedule_adverts(r, now_ms);
	r->pending_zero_hop_ms = now_ms + BOOT_ADVERT_MS;
	rc = mesh_add_ep(mesh, &r->ep);
	if (rc) {
		room_close(r);
		return rc;
	}
	return ERR_OK;
}

#define FLUSH_RETRY_MS 5000

/* Writes dirty member state; after a store error (full disk, read-only
 * database) waits FLUSH_RETRY_MS instead of retrying and logging every tick. */
static void flush_members(struct room *r, uint64_t now_ms)
{
	if (!r->any_dirty)
		return;
	for (size_t i = 0; i < r->n_members; i++) {
		struct room_member *m = &r->members[i];
		if (!m->dirty)
			continue;
		if (member_save(r, m) != ERR_OK) {
			r->next_flush_ms = now_ms + FLUSH_RETRY_MS;
			return;
		}
		m->dirty = false;
	}
	r->any_dirty = false;
}

static void close_room(struct room *r, bool save)
{
	if (r->mesh)
		mesh_remove_ep(r->mesh, &r->ep);
	if (r->store && save) {
		flush_members(r, 0);
		if (r->mesh)
			mark_alive(r, r->mesh->now_ms);
		if (r->mesh && r->clock)
			room_clock_floor_save(r);
	}
	if (r->members) {
		crypto_wipe(r->members, r->cap_members * sizeof(*r->members));
		free(r->members);
	}
	ident_wipe(&r->ep.id);
	r->members = NULL;
	r->n_members = r->cap_members = 0;
	r->n_guests = 0;
	r->n_inflight = 0;
	memset(r->hhead, 0, sizeof(r->hhead));
	memset(r->htail, 0, sizeof(r->htail));
	r->mesh = NULL;
}

void room_close(struct room *r)
{
	close_room(r, true);
}

void room_abandon(struct room *r)
{
	close_room(r, false);
}

void room_tick(struct room *r, uint64_t now_ms)
{
	node_timers(r, now_ms);
	advert_timers(r, now_ms);
	/* ack timeouts are deadlines of their own (room_next_deadline): act on
	 * them now, not at the next push slot, or the caller's loop spins */
	push_timeouts(r, now_ms);
	release_held(r, now_ms);
	if (now_ms >= r->next_push_ms) {
		push_engine(r, now_ms);
		r->next_push_ms = r->push_gap_until > now_ms ? r->push_gap_until : now_ms + 150;
	}
	if (now_ms >= r->next_flush_ms)
		flush_members(r, now_ms);
	if (now_ms >= r->next_floor_ms) {
		room_clock_floor_save(r);
		r->next_floor_ms = now_ms + CLOCK_FLOOR_SAVE_MS;
	}
	if (now_ms >= r->next_alive_ms)
		mark_alive(r, now_ms);
}

uint64_t room_next_deadline(const struct room *r)
{
	uint64_t d = r->next_push_ms;
	if (r->next_advert_ms < d)
		d = r->next_advert_ms;
	if (r->next_flood_advert_ms < d)
		d = r->next_flood_advert_ms;
	if (r->pending_flood_ms && r->pending_flood_ms < d)
		d = r->pending_flood_ms;
	if (r->pending_zero_hop_ms && r->pending_zero_hop_ms < d)
		d = r->pending_zero_hop_ms;
	if (r->node->temp_apply_ms && r->node->temp_apply_ms < d)
		d = r->node->temp_apply_ms;
	if (r->node->temp_revert_ms && r->node->temp_revert_ms < d)
		d = r->node->temp_revert_ms;
	if (r->next_floor_ms < d)
		d = r->next_floor_ms;
	for (unsigned j = 0; j < r->n_inflight; j++) {
		const struct room_member *m = &r->members[r->inflight[j]];
		if (m->pending && m->ack_timeout_ms < d)
			d = m->ack_timeout_ms;
	}
	return d;
}
