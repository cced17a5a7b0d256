/*
 * push.c - ACKs (PROTOCOL.md §7.7), paths (§7.6) and the push engine (§7.8)
 * that catches members up, one post per member at a time, each acknowledged
 * before the next; see room.h for how it differs from the firmware.
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

/* The ACK moved the member's sync point to post_ts: state, commit, pace. */
static void acked(struct room *r, struct room_member *m, uint32_t post_ts, uint64_t now)
{
	m->pending = false;
	m->answered = true;
	room_member_alive(m);
	m->last_activity = room_rtc(r);
	held_assumed(m, post_ts, now);
	r->stats.push_acks++;
	/* durable now: the member has shown the post, and a crash must not
	 * make it show it again (issue 18) */
	push_state_save(r, m);
	/* the next push goes out at once, but not before a frame its sender
	 * keys up straight after the ACK (a return PATH, §9.3) can be heard:
	 * carrier sense needs a few symbols of it (issue 7) */
	r->next_push_ms = now + turnaround_ms(r);
	r->push_idle_ms = now;
	room_release_held(r, now);
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
		if (!m || m->sync_since >= ts || room_is_banned(r, m->pub))
			return true; /* it has moved on (or is banned): nothing to do */
		if (m->pending && m->push_ts != ts)
			m->pending = false; /* cannot happen: copies of one post at a time */
		acked(r, m, ts, now);
		return true;
	}
	return false;
}

void room_late_ack_keep(struct room *r, const struct room_member *m)
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
		if (room_is_banned(r, m->pub)) {
			m->pending = false; /* a banned key moves no sync point */
			return true;
		}
		acked(r, m, m->push_ts, rx->now_ms);
		return true;
	}
	return match_late_ack(r, code, rx->now_ms);
}

bool room_on_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
                 const uint8_t *payload, size_t len)
{
	(void)payload;
	(void)len;
	return match_ack(room_of(ep), rx, code);
}

bool room_on_peer_path(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                       uint8_t path_len, const uint8_t *path, unsigned extra_type,
                       const uint8_t *extra, size_t extra_len)
{
	struct room *r = room_of(ep);
	struct room_member *m = room_peer_member(r, peer);
	if (!m || room_replayed(r, rx) || room_is_banned(r, m->pub))
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
	room_accepted(r, m, rx);
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
uint64_t room_after_tx(const struct room *r, const struct room_member *m, uint64_t span,
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
uint64_t room_push_acks_due_until(const struct room *r, uint64_t now)
{
	uint64_t until = now;
	for (unsigned j = 0; j < r->n_inflight; j++) {
		const struct room_member *m = &r->members[r->inflight[j]];
		if (!m->pending)
			continue;
		uint64_t t = room_after_tx(
		    r, m, m->answered ? m->ack_due_span_ms : m->ack_soon_span_ms, now);
		if (t > until)
			until = t;
	}
	return until;
}

/* Replies held back for a push's ACK go once no ACK is due any more (a
 * turnaround after the one that just came in, and never before their own
 * delay). */
void room_release_held(struct room *r, uint64_t now)
{
	if (!r->n_held || room_push_acks_due_until(r, now) > now)
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
		if (m->pending && now < room_after_tx(r, m, m->ack_due_span_ms, now))
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
size_t room_push_plaintext(uint8_t *pt, const struct store_post *p, unsigned n)
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
	if (!room_member_secret(r, m))
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
	size_t len = room_push_plaintext(pt, p, n);
	int rc = mesh_build_datagram(&pkt, PKT_TXT_MSG, &r->ep.id, m->pub[0], m->secret, pt, len);
	if (rc)
		return rc;
	ack_code(pt, 9 + p->text_len, m->pub, m->pending_ack);
	uint64_t now = r->mesh->now_ms;
	/* The last push of a round floods, in case the route changed, but the
	 * route is kept (replies and later pushes use it) until a PATH
	 * replaces it or the member logs in by flood (the firmware never drops
	 * it either, issue 12). */
	bool flood = m->out_path_len == MESH_NO_PATH || m->push_failures == PUSH_FAILS_GIVE_UP - 1;
	uint32_t hops = flood ? 0 : path_len_count(m->out_path_len);
	if (flood) {
		uint8_t key[16];
		rc = mesh_send_flood(r->mesh, &pkt, 0, (unsigned)room_flood_hash_size(r),
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
	room_late_ack_keep(r, m);
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
	    now < room_after_tx(r, m, m->ack_due_span_ms, now))
		return false;
	m->pending = false;
	m->push_drop_ms = 0;
	r->push_idle_ms = now;
	room_late_ack_keep(r, m);
	return true;
}

void room_push_timeouts(struct room *r, uint64_t now)
{
	for (unsigned j = 0; j < r->n_inflight; j++) {
		struct room_member *m = &r->members[r->inflight[j]];
		if (!m->pending)
			continue;
		if (push_drop(r, m, now))
			continue;
		m->ack_timeout_ms = room_after_tx(r, m, m->ack_span_ms, now);
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
 * every waiting client's next look falls into it).  Only while the room is
 * live (a post stored in the last PUSH_LIVE_MS): a conversation is when
 * members wait to post.  A member catching up on older posts gets them back
 * to back, where the gaps cost ~10 % of the catch-up time (bench_catchup:
 * one member, 16 posts on EU-SF8 17.0 s without, 18.8 s with) and gained
 * nothing measurable; a new post brings them back.  Returns true if the
 * push has to wait.
 */
#define PUSH_RUN_MAX_MS 3000
#define PUSH_GAP_MS     400
#define PUSH_LIVE_MS    60000
static bool push_gap(struct room *r, uint64_t now)
{
	if (!r->last_post_ms || now >= r->last_post_ms + PUSH_LIVE_MS)
		return false;
	if (!r->push_run_ms || now >= r->push_idle_ms + PUSH_GAP_MS) {
		r->push_run_ms = now; /* the channel was quiet: a new run */
		return false;
	}
	if (now - r->push_run_ms < PUSH_RUN_MAX_MS)
		return false;
	r->push_gap_until = r->push_idle_ms + PUSH_GAP_MS;
	return true;
}

/*
 * Nor straight after a reply of ours (an ACK, a login response, a CLI
 * reply): its recipient may key up the moment it has it (a firmware author
 * sends its next message as soon as our ACK of the previous one is in), and
 * a push keyed up with it loses both (issue 12.2: every post sent that way
 * collided, in virtual and in real time).  A turnaround after the reply's
 * TxDone lets the modem's carrier sense hear that frame first, as after a
 * member's ACK.  After a response (a login's) the silence is PUSH_GAP_MS:
 * members that log in together wait behind each other's responses, and the
 * first push keyed up a turnaround after one met the next member's login
 * retry within its carrier-sense time (bench/firmware_meshair.py, three
 * members: the login lost, ~6 s).  Returns true if the push has to wait
 * (until r->push_gap_until).
 */
static bool own_tx_turnaround(struct room *r, uint64_t now)
{
	uint64_t done = 0, until;
	if (!r->reply_sent)
		return false;
	uint64_t gap = r->reply_quiet ? PUSH_GAP_MS : turnaround_ms(r);
	int st = mesh_tx_state(r->mesh, r->reply_seq, &done);
	if (st == MESH_TX_WAITING) {
		bool busy;
		uint64_t end = mesh_last_tx_end(r->mesh, &busy);
		until = (busy && end > now ? end : now) + gap;
	} else if (st == ERR_OK && done != UINT64_MAX && now < done + gap) {
		until = done + gap;
	} else {
		r->reply_sent = false;
		return false;
	}
	if (until > r->push_gap_until)
		r->push_gap_until = until;
	return true;
}

/*
 * And only onto a channel the radio has just heard clear.  A push handed to
 * the modem is on its way: if a member keys up first (a firmware author
 * sends its next post the moment our ACK of the last one is in), the modem
 * waits for the end of that frame and sends the push straight after it,
 * before the room has even seen the post, and the author's ACK waits a
 * whole push exchange behind it (tests/interop: Delivered p50 1.54 s, not
 * 0.82 s).  So the room asks first (IsChannelBusy over KISS, a
 * millisecond); while the channel is busy it looks again every turnaround,
 * and a frame that arrives meanwhile is answered first (ack_due).  After
 * PUSH_SENSE_MAX_MS of busy channel (Dispatcher's getCADFailMaxDuration)
 * the push goes: the modem's own carrier sense has it then.  Returns true
 * if the push has to wait (until r->push_gap_until).
 */
#define PUSH_SENSE_MAX_MS   4000
#define PUSH_RX_DELIVERY_MS 30
static bool channel_heard_busy(struct room *r, uint64_t now)
{
	int s = mesh_sense(r->mesh);
	if (s == 0 && r->sense_busy_since) {
		/* The frame just ended.  If it was for us the modem is handing
		 * it over now (a 255-byte frame takes 22 ms on a 115200-baud
		 * line) and its answer goes first: the next look is a
		 * turnaround and that delivery later (tests/interop: the push
		 * went the instant alice's next post ended, ahead of its ACK). */
		r->sense_busy_since = 0;
		r->push_gap_until = now + turnaround_ms(r) + PUSH_RX_DELIVERY_MS;
		return true;
	}
	if (s == 0 || (r->sense_busy_since && now - r->sense_busy_since > PUSH_SENSE_MAX_MS)) {
		r->sense_busy_since = 0;
		return false;
	}
	if (s == ERR_AGAIN) {
		r->push_gap_until = now + 1; /* the answer is a radio input away */
		return true;
	}
	if (!r->sense_busy_since) {
		r->sense_busy_since = now;
		r->stats.pushes_held_busy++;
	}
	r->push_gap_until = now + turnaround_ms(r);
	return true;
}

void room_push_engine(struct room *r, uint64_t now)
{
	struct store_post p;

	room_push_timeouts(r, now);
	if (!r->n_members)
		return;
	/* One push per call at most: once it is out its ACK is due (ack_due),
	 * and nothing else in the walk changes these.  Nothing else may be
	 * waiting to go on the air: an ACK, a login response or a CLI reply
	 * goes before any push (the author sees "Delivered" first, issue 12),
	 * and the radio's queue stays short. */
	if (pushes_in_flight(r) >= r->set.push_parallel || mesh_queue_len(r->mesh) > 0 ||
	    ack_due(r, now) || own_tx_turnaround(r, now))
		return;
	unsigned queries = 0;
	for (size_t k = 0; k < r->n_members; k++) {
		/* a tick asks the store a bounded number of times: the walk
		 * goes on from r->rr at the next one */
		if (queries == PUSH_WALK_QUERIES)
			return;
		size_t at = r->rr;
		struct room_member *m = &r->members[at];
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
		if (room_is_banned(r, m->pub)) {
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
		if (channel_heard_busy(r, now)) {
			r->rr = at; /* this member is next when the channel is clear */
			return;
		}
		push_post(r, m, &p);
		return;
	}
}
