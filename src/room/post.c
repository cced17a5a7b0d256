/*
 * post.c - what members send a room: posts (PROTOCOL.md §7.3, §7.4), from
 * here and from another site (federation), CLI commands and requests (§7.5),
 * and the peers of a packet's source hash.
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

/* ---- peers ---- */

int room_peers_by_hash(struct mesh_ep *ep, uint8_t hash, int skip, struct mesh_peer *out, int max)
{
	struct room *r = room_of(ep);
	int n = 0;
	for (uint32_t l = r->hhead[hash]; l && n < max; l = r->members[l - 1].hnext) {
		struct room_member *m = &r->members[l - 1];
		if (!room_member_secret(r, m))
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
struct room_member *room_peer_member(struct room *r, const struct mesh_peer *peer)
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
	r->last_post_ms = r->mesh->now_ms ? r->mesh->now_ms : 1; /* the pushes' gaps: live */
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

/*
 * A remote post's time here: its origin's, where that is still above every
 * post time this room has stored and not ahead of our clock by more than
 * REMOTE_TS_SKEW_S (so every site shows it with the same time and a member's
 * sync point, replicated, means the same posts everywhere; a unique time a
 * login or CLI reply took does not count: only posts are the push cursor's);
 * else a unique time of ours (it came after a later post: above every
 * member's sync point here, so it is still pushed to all of them).
 */
#define REMOTE_TS_SKEW_S 2
static uint32_t remote_time(struct room *r, uint32_t origin_ts)
{
	uint32_t newest = UINT32_MAX;
	if (store_post_newest_ts(r->store, r->store_id, &newest) == ERR_OK && origin_ts > newest &&
	    origin_ts <= room_rtc(r) + REMOTE_TS_SKEW_S) {
		if (origin_ts > r->last_unique)
			r->last_unique = origin_ts; /* later posts go on from it */
		return origin_ts;
	}
	return room_unique_time(r);
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
	p.post_ts = remote_time(r, origin_ts);
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
	if (!m) {
		m = room_member_put(r, pub, perms);
		if (!m)
			return ERR_FULL;
		m->last_activity = 0; /* never heard here: no pushes from us */
	}
	if (m->perms != perms) /* the caller chose the role (fed.c: by its version) */
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
	int rc = room_member_save(r, m);
	r->merging = false;
	return rc;
}

/*
 * A post whose timestamp another site accepted (its replay mark came with the
 * member's record): the member's retry after that site's ACK was lost, sent
 * here because it roamed.  If the post is held here (replicated), the same
 * ACK goes (nothing stored again); if not yet, silence: the client retries.
 * The member's last hearing stays that site's: a captured packet replayed here
 * gets at most the ACK it already had, and moves no pushes.
 */
static bool roamed_retry(struct room *r, const struct mesh_rx *rx, struct room_member *m,
                         const uint8_t *pt, size_t text_len)
{
	uint8_t code[4];
	int64_t id;
	uint32_t ts = le32_load(pt);
	if (acl_role(m->perms) == ACL_ROLE_GUEST || room_is_banned(r, m->pub) ||
	    store_post_find_retry(r->store, r->store_id, m->pub, ts, &id) != ERR_OK) {
		r->stats.replays++;
		return true;
	}
	room_accepted(r, m, rx); /* this packet again: a replay */
	r->stats.posts_retried++;
	ack_code(pt, 5 + text_len, m->pub, code);
	room_send_ack(r, m, rx->pkt, code, NULL, 0, ACK_DELAY_MS);
	return true;
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
	if (room_banned_member(r, m))
		return true;
	/* a retry keeps its timestamp, but one whose mark came from another site
	 * (room_member_merge) was accepted there, not here: a replay (issue 17),
	 * unless it is the retry of a post that site stored and replicated here */
	bool remote_mark = ts == m->last_ts && m->remote_ts && m->remote_ts == m->last_ts;
	if (remote_mark && txt_type == TXT_PLAIN && !room_replayed(r, rx))
		return roamed_retry(r, rx, m, pt, text_len);
	if (ts < m->last_ts || remote_mark || room_replayed(r, rx)) {
		r->stats.replays += ts < m->last_ts || remote_mark;
		return true;
	}
	bool is_retry = ts == m->last_ts;
	m->last_ts = room_ts_mark(r, ts);
	room_accepted(r, m, rx);
	uint32_t now = room_reply_time(r);
	m->last_activity = now;
	room_member_alive(m);
	m->dirty = true;
	r->any_dirty = true;
	ack_code(pt, 5 + text_len, m->pub, code);

	if (txt_type == TXT_CLI) {
		char reply[ROOM_REPLY_MAX];
		uint8_t out[5 + ROOM_REPLY_MAX];
		if (acl_role(m->perms) != ACL_ROLE_ADMIN || is_retry)
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
		if (m->out_path_len == MESH_NO_PATH ? !room_flood_ok(r, m) : !room_direct_ok(r, m))
			return true;
		uint32_t delay = room_reply_delay(r, REPLY_DELAY_MS);
		if (room_send_datagram(r, m, PKT_TXT_MSG, out, 5 + rl, delay, rx->pkt))
			log_warn("room", "%s: CLI reply not sent", r->set.name);
		else
			room_reply_held(r, REPLY_DELAY_MS, delay);
		return true;
	}
	if (acl_role(m->perms) == ACL_ROLE_GUEST)
		return true; /* read-only: no post, no ACK */
	if (room_is_banned(r, m->pub)) {
		r->stats.posts_refused++;
		return true;
	}
	if (room_post(r, m->pub, ts, text, text_ok, NULL) != ERR_OK)
		return true; /* not stored: no ACK, the client will retry */
	room_member_save(r, m);
	m->dirty = false;
	room_send_ack(r, m, rx->pkt, code, NULL, 0, ACK_DELAY_MS);
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

/* A direct keep-alive (§7.5): forceSince moves the sync point, the push
 * out is abandoned, and the ACK carries the count of posts not yet synced. */
static void keep_alive(struct room *r, const struct mesh_rx *rx, struct room_member *m,
                       const uint8_t *pt)
{
	/* the plaintext is at least 16 bytes, so forceSince is always there */
	uint32_t force = le32_load(pt + 5);
	uint8_t code[4], cnt;
	if (force) {
		m->sync_since = force;
		m->caught_up = 0;
	}
	m->pending = false; /* abandoned without counting a failure (§7.5) */
	if (m->out_path_len == MESH_NO_PATH)
		return;
	ack_code(pt, 9, m->pub, code);
	cnt = unsynced_count(r, m);
	room_send_ack(r, m, rx->pkt, code, &cnt, 1, REPLY_DELAY_MS);
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
	if (room_banned_member(r, m))
		return true;
	/* A client stamps each request anew (a post's retry keeps its stamp,
	 * a request's does not): one no newer than the key's mark is a replay,
	 * refused by the mark alone, not by the shared window that a member's
	 * own traffic can flush (issue 13.8). */
	if (ts <= m->last_ts || room_replayed(r, rx)) {
		r->stats.replays += ts <= m->last_ts;
		return true;
	}
	m->last_ts = room_ts_mark(r, ts);
	room_accepted(r, m, rx);
	m->last_activity = room_rtc(r);
	room_member_alive(m);
	m->dirty = true;
	r->any_dirty = true;
	r->stats.requests++;
	unsigned type = pt[4];

	if (type == REQ_KEEP_ALIVE && pkt_is_direct(rx->pkt)) {
		keep_alive(r, rx, m, pt);
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
		if (acl_role(m->perms) != ACL_ROLE_ADMIN || pt[5] != 0 || pt[6] != 0) {
			r->stats.malformed += acl_role(m->perms) == ACL_ROLE_ADMIN;
			return true;
		}
		for (size_t i = 0; i < r->n_members && n + 7 <= 180; i++) {
			if (acl_role(r->members[i].perms) != ACL_ROLE_ADMIN)
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
	room_send_reply(r, m, rx->pkt, PKT_RESPONSE, out, n, REPLY_DELAY_MS);
	return true;
}

/* False when the plaintext cannot be this member's: the mesh then tries the
 * other members behind the same key hash (a 2-byte MAC lets one wrong key in
 * 65536 through, which in a room of thousands is not rare). */
bool room_on_peer_data(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                       unsigned type, const uint8_t *pt, size_t len)
{
	struct room *r = room_of(ep);
	struct room_member *m = room_peer_member(r, peer);
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
