/*
 * room.c - the room server (PROTOCOL.md §7): the clock, the sending helpers,
 * adverts (§7.9) and the lifecycle (open, tick, close).  Login (§7.2) is in
 * login.c, posts (§7.3, §7.4), requests (§7.5) in post.c, ACKs (§7.7), paths
 * (§7.6) and the push engine (§7.8) in push.c, the member table in member.c;
 * room_int.h is what they share.  Admin commands are in cmd.c.
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
#include "room/room_int.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/utf8.h"

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
uint32_t room_reply_time(struct room *r)
{
	uint32_t rtc = room_rtc(r);
	if ((uint64_t)r->last_unique >= (uint64_t)rtc + REPLY_LEAD_S)
		return rtc;
	return room_unique_time(r);
}

/* ---- sending helpers ---- */

int room_flood_hash_size(const struct room *r)
{
	return (int)r->set.path_hash_mode + 1;
}

/* The scope of a flooded reply to req (§6.10). */
static const uint8_t *reply_scope(struct room *r, const struct pkt *req, uint8_t key[16])
{
	return room_reply_scope(r, req, key);
}

/*
 * The delay of a reply (an ACK, a response, a CLI reply): base, or longer
 * while a push's ACK is due.  A stock client that defers its ACK behind a
 * busy channel (120-360 ms steps, §6.7) tends to key up just when our
 * reply, timed from the same end of a frame, does; the lost ACK costs a new
 * copy, which it shows twice.  The wait is bounded by that ACK's window,
 * and ends when the ACK is in (room_reply_held, room_release_held).
 */
#define REPLY_HOLD_MAX_MS 1500
uint32_t room_reply_delay(const struct room *r, uint32_t base)
{
	uint64_t now = r->mesh->now_ms, until = room_push_acks_due_until(r, now);
	if (until <= now + base)
		return base;
	uint64_t d = until - now;
	return (uint32_t)(d > base + REPLY_HOLD_MAX_MS ? base + REPLY_HOLD_MAX_MS : d);
}

/* After a send with room_reply_delay(r, base): remembers the packet if it was
 * held back, to release it early. */
void room_reply_held(struct room *r, uint32_t base, uint32_t delay)
{
	r->reply_seq = mesh_last_queued(r->mesh); /* for the push engine's turnaround */
	r->reply_sent = true;
	r->reply_quiet = false;
	if (delay == base || r->n_held == ROOM_HELD_REPLIES)
		return;
	r->held[r->n_held].seq = mesh_last_queued(r->mesh);
	r->held[r->n_held].due_ms = r->mesh->now_ms + base;
	r->n_held++;
}

/* A reply datagram to a member: direct along its route, or by flood if none is known. */
int room_send_datagram(struct room *r, struct room_member *m, unsigned type, const uint8_t *body,
                       size_t len, uint32_t delay, const struct pkt *req)
{
	struct pkt p;
	uint8_t key[16];
	if (!room_member_secret(r, m))
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
void room_send_reply(struct room *r, struct room_member *m, const struct pkt *req, unsigned type,
                     const uint8_t *body, size_t len, uint32_t delay)
{
	struct pkt p;
	uint8_t key[16];
	int rc;

	if (!room_member_secret(r, m))
		return;

	if ((pkt_is_flood(req) || m->out_path_len == MESH_NO_PATH) ? !room_flood_ok(r, m)
	                                                           : !room_direct_ok(r, m))
		return;
	uint32_t base = delay;
	delay = room_reply_delay(r, base);
	if (pkt_is_flood(req)) {
		m->flood_sent_ms = r->mesh->now_ms;
		rc = mesh_build_path(&p, &r->ep.id, m->pub[0], m->secret, req->path_len, req->path,
		                     type, body, len, r->mesh->rng);
		if (!rc)
			rc = mesh_send_flood(r->mesh, &p, delay, pkt_path_hash_size(req),
			                     reply_scope(r, req, key));
	} else {
		rc = room_send_datagram(r, m, type, body, len, delay, req);
	}
	if (rc) {
		log_warn("room", "%s: reply not sent: %s", r->set.name, err_str(rc));
		return;
	}
	room_reply_held(r, base, delay);
	r->reply_quiet = type == PKT_RESPONSE; /* a login's: a silence after it (push.c) */
}

void room_send_ack(struct room *r, struct room_member *m, const struct pkt *req,
                   const uint8_t code[4], const uint8_t *extra, size_t extra_len, uint32_t delay)
{
	struct pkt p;
	uint8_t key[16];
	uint32_t base = delay;
	delay = room_reply_delay(r, base);
	if (m->out_path_len == MESH_NO_PATH) {
		m->flood_sent_ms = r->mesh->now_ms;
		mesh_build_ack(&p, code, extra, extra_len);
		if (mesh_send_flood(r->mesh, &p, delay, pkt_path_hash_size(req),
		                    reply_scope(r, req, key)) == ERR_OK)
			room_reply_held(r, base, delay);
		return;
	}
	if (r->set.multi_acks) {
		mesh_build_multi_ack(&p, code, 1);
		if (mesh_send_direct(r->mesh, &p, m->out_path_len, m->out_path, delay) == ERR_OK)
			room_reply_held(r, base, delay);
		delay += 300;
		base += 300;
	}
	mesh_build_ack(&p, code, extra, extra_len);
	if (mesh_send_direct(r->mesh, &p, m->out_path_len, m->out_path, delay) == ERR_OK)
		room_reply_held(r, base, delay);
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
		return mesh_send_flood(r->mesh, &p, 0, (unsigned)room_flood_hash_size(r),
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
		uint64_t t = room_after_tx(r, m, m->ack_due_span_ms, now);
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
    .peers_by_hash = room_peers_by_hash,
    .on_anon_req = room_on_anon_req,
    .on_peer_data = room_on_peer_data,
    .on_peer_path = room_on_peer_path,
    .on_ack = room_on_ack,
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
	struct room_load_ctx lc = {r, ERR_OK, NULL, 0, 0};
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
	int rc = store_member_list(st, store_id, room_load_member, &lc);
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
		if (room_member_save(r, m) != ERR_OK) {
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
	room_push_timeouts(r, now_ms);
	room_release_held(r, now_ms);
	if (now_ms >= r->next_push_ms) {
		room_push_engine(r, now_ms);
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
