/*
 * client.c - the room client state machine (PROTOCOL.md §9; see client.h).
 *
 * Everything the firmware client does on the air is reproduced byte for
 * byte: the login plaintext (§5.2), the post plaintext and its expected ACK
 * (§5.4, §5.5), the ACK of a push (§9.5), the CLI and request plaintexts
 * (§9.6, §9.7), the keep-alive (§9.8) and the return-path retries
 * (BaseChatMesh::handleReturnPathRetry).  The retry policy of posts is the
 * app's (§9.4, §14 item 1), as the issue states it.
 *
 * Invariants: at most one post per room is in flight; nothing stamped is
 * sent to a room while its post is being retried; every stamp is strictly
 * greater than the one before (client_unique_time).
 *
 * This file: contacts, adverts and the receiving side; the per-room
 * operation queues, what they send and their timers are client_send.c.
 */
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "client/client_int.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/utf8.h"

#define ACK_DELAY_MS         200 /* TXT_ACK_DELAY */
#define MULTI_ACK_GAP_MS     300
#define RETURN_PATH_DELAY_MS 3000

void client_cfg_defaults(struct client_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->name, "roomc", 6);
	cfg->max_attempts = CLIENT_MAX_ATTEMPTS;
	cfg->timeout_factor = 1.0;
	cfg->op_gap_ms = CLIENT_OP_GAP_MS;
}

const char *client_role_name(unsigned role)
{
	static const char *names[] = {"guest", "read-only", "read-write", "admin"};
	return names[acl_role((uint8_t)role)];
}

const char *client_type_name(unsigned type)
{
	static const char *names[] = {"none", "chat", "repeater", "room", "sensor"};
	return type < 5 ? names[type] : "unknown";
}

/* ---- time ---- */

void client_set_rtc(struct client *c, uint64_t now_ms, uint32_t epoch)
{
	c->rtc_offset_ms = (int64_t)epoch * 1000 - (int64_t)now_ms;
}

uint32_t client_rtc(const struct client *c, uint64_t now_ms)
{
	int64_t t = ((int64_t)now_ms + c->rtc_offset_ms) / 1000;
	return t < 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

void client_set_stamp_floor(struct client *c, uint32_t floor)
{
	if (floor > c->last_unique)
		c->last_unique = floor;
}

uint32_t client_unique_time(struct client *c, uint64_t now_ms)
{
	uint32_t t = client_rtc(c, now_ms);
	if (t <= c->last_unique)
		t = c->last_unique + 1;
	c->last_unique = t;
	return t;
}

uint32_t client_timeout_ms(const struct client *c, size_t payload_len, uint8_t out_path_len)
{
	/* calcFlood/DirectTimeoutMillisFor with t taken before the route bits are
	 * set: the raw length counts header, 4 transport bytes and path_len */
	uint32_t t = lora_airtime_ms(&c->mesh->cfg.lp, payload_len + 6);
	double ms;
	if (out_path_len == MESH_NO_PATH)
		ms = 500.0 + 16.0 * t;
	else
		ms = 500.0 + (6.0 * t + 250.0) * (path_len_count(out_path_len) + 1);
	ms *= c->cfg.timeout_factor > 0 ? c->cfg.timeout_factor : 1.0;
	return ms > 3600000.0 ? 3600000u : (uint32_t)ms;
}

/* ---- events ---- */

void client_emit(struct client *c, struct client_event *ev)
{
	if (c->on_event)
		c->on_event(c->ctx, c, ev);
}

void client_emit_simple(struct client *c, enum client_event_type type,
                        const struct client_contact *ct)
{
	struct client_event ev = {.type = type, .contact = ct};
	client_emit(c, &ev);
}

/* ---- contacts ---- */

struct client_contact *client_contact_find(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++)
		if (c->contacts[i].used && memcmp(c->contacts[i].pub, pub, CRYPTO_PUB_SIZE) == 0)
			return &c->contacts[i];
	return NULL;
}

struct client_contact *client_contact_by_prefix(struct client *c, const uint8_t *prefix, size_t n)
{
	struct client_contact *found = NULL;
	if (n == 0 || n > CRYPTO_PUB_SIZE)
		return NULL;
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
		if (!c->contacts[i].used || memcmp(c->contacts[i].pub, prefix, n) != 0)
			continue;
		if (found)
			return NULL;
		found = &c->contacts[i];
	}
	return found;
}

struct client_room *client_room_find(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	for (int i = 0; i < CLIENT_MAX_ROOMS; i++)
		if (c->rooms[i].used && memcmp(c->rooms[i].pub, pub, CRYPTO_PUB_SIZE) == 0)
			return &c->rooms[i];
	return NULL;
}

/* A session nobody needs: not logged in, nothing queued or awaited. */
static bool room_idle(const struct client_room *rs)
{
	return rs->login == CLIENT_LOGIN_NONE && !rs->q_len && !client_room_busy(rs) &&
	       !rs->ka_pending;
}

struct client_room *client_room_get(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	struct client_room *rs = client_room_find(c, pub), *victim = NULL;
	if (rs)
		return rs;
	for (int i = 0; i < CLIENT_MAX_ROOMS && !victim; i++)
		if (!c->rooms[i].used)
			victim = &c->rooms[i];
	/* all in use: an idle session is reused (a failed login, a room left) */
	for (int i = 0; i < CLIENT_MAX_ROOMS && !victim; i++)
		if (room_idle(&c->rooms[i]))
			victim = &c->rooms[i];
	if (!victim)
		return NULL;
	crypto_wipe(victim, sizeof(*victim));
	victim->used = true;
	memcpy(victim->pub, pub, CRYPTO_PUB_SIZE);
	return victim;
}

int client_contact_add(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE],
                       struct client_contact **out)
{
	struct client_contact *ct = client_contact_find(c, pub), *victim = NULL;
	uint8_t secret[CRYPTO_SECRET_SIZE];

	if (ct) {
		*out = ct;
		return ERR_OK;
	}
	if (memcmp(pub, c->ep.id.pub, CRYPTO_PUB_SIZE) == 0)
		return ERR_INVAL;
	/* a key that gives no shared secret can never talk to us (§3.5 caveat 2) */
	if (ident_shared_secret(&c->ep.id, pub, secret) != ERR_OK)
		return ERR_CRYPTO;
	for (int i = 0; i < CLIENT_MAX_CONTACTS && !victim; i++)
		if (!c->contacts[i].used)
			victim = &c->contacts[i];
	/* full: the node heard longest ago, rooms we talk to last */
	for (int pass = 0; pass < 2 && !victim; pass++) {
		for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
			struct client_contact *x = &c->contacts[i];
			if (client_room_find(c, x->pub))
				continue;
			if (pass == 0 && x->type == ADV_TYPE_ROOM)
				continue;
			if (!victim || x->last_heard < victim->last_heard)
				victim = x;
		}
	}
	if (!victim) {
		crypto_wipe(secret, sizeof(secret));
		return ERR_FULL;
	}
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	memcpy(victim->pub, pub, CRYPTO_PUB_SIZE);
	victim->hops = 0xFF;
	victim->out_path_len = MESH_NO_PATH;
	memcpy(victim->secret, secret, sizeof(secret));
	victim->secret_state = 1;
	crypto_wipe(secret, sizeof(secret));
	*out = victim;
	return ERR_OK;
}

int client_contact_remove(struct client *c, struct client_contact *ct)
{
	struct client_room *rs;
	if (!ct || !ct->used)
		return ERR_NOT_FOUND;
	if ((rs = client_room_find(c, ct->pub))) {
		if (client_room_busy(rs) || rs->q_len)
			return ERR_AGAIN;
		crypto_wipe(rs, sizeof(*rs));
	}
	crypto_wipe(ct, sizeof(*ct));
	return ERR_OK;
}

int client_contact_rename(struct client *c, struct client_contact *ct, const char *name)
{
	size_t len = strlen(name), n;
	(void)c;
	if (!ct || !ct->used)
		return ERR_NOT_FOUND;
	if (!len) {
		ct->renamed = false;
		return ERR_OK;
	}
	n = utf8_valid_prefix_len(name, len, CLIENT_NAME_MAX - 1);
	if (n == 0)
		return ERR_INVAL;
	memset(ct->name, 0, sizeof(ct->name));
	memcpy(ct->name, name, n);
	ct->renamed = true;
	return ERR_OK;
}

static void set_path(struct client *c, struct client_contact *ct, uint8_t path_len,
                     const uint8_t *path)
{
	ct->out_path_len = path_len;
	if (path_len != MESH_NO_PATH)
		memcpy(ct->out_path, path, path_len_bytes(path_len));
	client_emit_simple(c, CLIENT_EV_PATH, ct);
}

void client_reset_path(struct client *c, struct client_contact *ct)
{
	if (ct->out_path_len != MESH_NO_PATH)
		set_path(c, ct, MESH_NO_PATH, NULL);
}

int client_send_to(struct client *c, struct client_contact *ct, struct pkt *p, uint32_t delay)
{
	return mesh_send_to(c->mesh, p, ct->out_path_len, ct->out_path, delay);
}

/*
 * A retry waits a random 0..2 times its own time on air first.  The
 * firmware's timeouts are fixed, so two clients whose first attempts
 * collided (started together, say) would retry together and collide again
 * at every retry; once apart, carrier sense keeps them apart.
 */
uint32_t client_retry_jitter_ms(struct client *c, const struct pkt *p)
{
	uint32_t t = lora_airtime_ms(&c->mesh->cfg.lp, p->payload_len + 6);
	return rng_range(c->mesh->rng, 0, 2 * t + 1);
}

/* ---- adverts (§5.8) ---- */

size_t client_app_data(const struct client *c, uint8_t out[32])
{
	struct advert_data d = {.type = ADV_TYPE_CHAT,
	                        .has_loc = c->cfg.has_loc,
	                        .lat_e6 = c->cfg.lat_e6,
	                        .lon_e6 = c->cfg.lon_e6};
	size_t n = 0;
	snprintf(d.name, sizeof(d.name), "%s", c->cfg.name);
	return advert_data_encode(&d, out, &n) == ERR_OK ? n : 0;
}

int client_advert(struct client *c, bool flood, uint64_t now_ms)
{
	struct pkt p;
	uint8_t app[32];
	size_t n = client_app_data(c, app);
	int rc = mesh_build_advert(&p, &c->ep.id, client_rtc(c, now_ms), app, n);
	if (rc)
		return rc;
	return flood ? mesh_send_flood(c->mesh, &p, 0, 1, NULL)
	             : mesh_send_zero_hop(c->mesh, &p, 0);
}

static void on_advert(struct mesh_ep *ep, const struct mesh_rx *rx,
                      const uint8_t pub[CRYPTO_PUB_SIZE], uint32_t ts, const uint8_t *app,
                      size_t app_len)
{
	struct client *c = ep->ctx;
	struct client_contact *ct;
	struct advert_data d;
	bool is_new;

	/* BaseChatMesh::onAdvertRecv: a valid parse with a name, and newer than the last */
	if (advert_data_decode(&d, app, app_len) != ERR_OK || !d.name[0])
		return;
	ct = client_contact_find(c, pub);
	if (ct && ts <= ct->advert_ts)
		return;
	is_new = !ct;
	if (!ct && client_contact_add(c, pub, &ct) != ERR_OK)
		return;
	if (!ct->renamed)
		snprintf(ct->name, sizeof(ct->name), "%s", d.name);
	ct->type = d.type;
	ct->has_loc = d.has_loc;
	ct->lat_e6 = d.lat_e6;
	ct->lon_e6 = d.lon_e6;
	ct->hops = pkt_is_flood(rx->pkt) ? (uint8_t)pkt_path_count(rx->pkt) : 0;
	ct->advert_ts = ts;
	ct->last_heard = client_rtc(c, rx->now_ms);
	struct client_event ev = {.type = CLIENT_EV_CONTACT, .contact = ct, .new_contact = is_new};
	client_emit(c, &ev);
}

/* ---- receiving from peers ---- */

static int peers_by_hash(struct mesh_ep *ep, uint8_t src_hash, int skip, struct mesh_peer *out,
                         int max)
{
	struct client *c = ep->ctx;
	int n = 0;
	if (skip > 0)
		return 0; /* as the firmware: the first CLIENT_CANDIDATES only */
	if (max > CLIENT_CANDIDATES)
		max = CLIENT_CANDIDATES;
	for (int i = 0; i < CLIENT_MAX_CONTACTS && n < max; i++) {
		struct client_contact *ct = &c->contacts[i];
		if (!ct->used || ct->pub[0] != src_hash || ct->secret_state < 0)
			continue;
		if (ct->secret_state == 0) {
			ct->secret_state =
			    ident_shared_secret(&c->ep.id, ct->pub, ct->secret) == ERR_OK ? 1 : -1;
			if (ct->secret_state < 0)
				continue;
		}
		memcpy(out[n].pub, ct->pub, CRYPTO_PUB_SIZE);
		memcpy(out[n].secret, ct->secret, CRYPTO_SECRET_SIZE);
		out[n].ref = ct;
		n++;
	}
	return n;
}

/* BaseChatMesh::handleReturnPathRetry: a reply came by flood although we have
 * a route, so the room has none to us: tell it the path the reply took. */
static void return_path_retry(struct client *c, struct client_contact *ct, const struct pkt *in)
{
	struct pkt p;
	if (!pkt_is_flood(in) || ct->out_path_len == MESH_NO_PATH)
		return;
	if (mesh_build_path(&p, &c->ep.id, ct->pub[0], ct->secret, in->path_len, in->path, 0xFF,
	                    NULL, 0, c->mesh->rng) == ERR_OK)
		mesh_send_direct(c->mesh, &p, ct->out_path_len, ct->out_path, RETURN_PATH_DELAY_MS);
}

/* An operation awaits its outcome: the next one waits (one at a time per room,
 * so no retry is made stale by a newer stamp and no request goes out while
 * the room is about to transmit its answer to the previous one). */
bool client_room_busy(const struct client_room *rs)
{
	if (rs->post.active || rs->login == CLIENT_LOGIN_PENDING)
		return true;
	for (int i = 0; i < CLIENT_MAX_REQS; i++)
		if (rs->reqs[i].used || rs->cli[i].used)
			return true;
	return false;
}

void client_post_done(struct client *c, struct client_room *rs, struct client_contact *ct, bool ok,
                      unsigned attempt, uint64_t now_ms)
{
	struct client_event ev = {
	    .type = ok ? CLIENT_EV_DELIVERED : CLIENT_EV_FAILED,
	    .contact = ct,
	    .id = rs->post.id,
	    .ts = rs->post.ts,
	    .attempt = attempt,
	    .rtt_ms = ok ? (uint32_t)(now_ms - rs->post.sent_ms[attempt]) : 0,
	    .text = rs->post.text,
	    .text_len = rs->post.len,
	};
	rs->post.active = false;
	if (ok && !c->cfg.stock)
		client_login_inferred(c, rs, ct, ACL_ROLE_READ_WRITE, now_ms);
	client_emit(c, &ev);
	client_start_next(c, rs, now_ms);
}

/* Matches an ACK code against every room's post in flight and keep-alive. */
static struct client_room *match_ack(struct client *c, const uint8_t code[4],
                                     const uint8_t *payload, size_t len, uint64_t now_ms)
{
	for (int i = 0; i < CLIENT_MAX_ROOMS; i++) {
		struct client_room *rs = &c->rooms[i];
		struct client_contact *ct;
		if (!rs->used || !(ct = client_contact_find(c, rs->pub)))
			continue;
		if (rs->post.active) {
			for (unsigned a = 0; a <= rs->post.attempt && a < CLIENT_MAX_ATTEMPTS;
			     a++) {
				if (memcmp(rs->post.codes[a], code, 4) != 0)
					continue;
				rs->last_rx_ms = now_ms;
				client_post_done(c, rs, ct, true, a, now_ms);
				return rs;
			}
		}
		if (rs->ka_pending && memcmp(rs->ka_code, code, 4) == 0) {
			struct client_event ev = {.type = CLIENT_EV_KEEPALIVE,
			                          .contact = ct,
			                          .unsynced = len >= 5 ? payload[4] : -1};
			rs->ka_pending = false;
			rs->ka_lost = false;
			rs->last_rx_ms = now_ms;
			client_emit(c, &ev);
			return rs;
		}
	}
	return NULL;
}

static bool on_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
                   const uint8_t *payload, size_t len)
{
	struct client *c = ep->ctx;
	struct client_room *rs = match_ack(c, code, payload, len, rx->now_ms);
	if (!rs)
		return false;
	struct client_contact *ct = client_contact_find(c, rs->pub);
	if (ct && pkt_type(rx->pkt) == PKT_ACK)
		return_path_retry(c, ct, rx->pkt);
	return true;
}

/*
 * The login failed (refused, or no answer): posts and CLI commands queued
 * behind it were typed for a session that did not come, so they fail now,
 * unsent (FAILED / TIMEOUT with .unsent), instead of being tried for half a
 * minute against a room that does not know us.  Requests and later logins
 * stay queued.
 */
static void fail_queued(struct client *c, struct client_room *rs, struct client_contact *ct)
{
	struct client_op all[CLIENT_QUEUE_MAX];
	unsigned len = rs->q_len;

	/* the queue keeps the rest before any event runs (a handler may queue more) */
	for (unsigned i = 0; i < len; i++)
		all[i] = rs->queue[(rs->q_head + i) % CLIENT_QUEUE_MAX];
	rs->q_head = rs->q_len = 0;
	for (unsigned i = 0; i < len; i++)
		if (all[i].kind != OP_POST && all[i].kind != CLIENT_REQ_CLI)
			rs->queue[rs->q_len++] = all[i];
	for (unsigned i = 0; i < len; i++) {
		if (all[i].kind != OP_POST && all[i].kind != CLIENT_REQ_CLI)
			continue;
		struct client_event ev = {.type = all[i].kind == OP_POST ? CLIENT_EV_FAILED
		                                                         : CLIENT_EV_TIMEOUT,
		                          .contact = ct,
		                          .id = all[i].id,
		                          .kind = all[i].kind,
		                          .unsent = true,
		                          .text = all[i].text,
		                          .text_len = all[i].len};
		client_emit(c, &ev);
	}
	crypto_wipe(all, sizeof(all));
}

/* The login is over without a session: refused (code) or unanswered. */
void client_login_lost(struct client *c, struct client_room *rs, struct client_contact *ct,
                       enum client_event_type type, uint8_t code)
{
	struct client_event ev = {.type = type, .contact = ct, .code = code};
	rs->login = CLIENT_LOGIN_NONE;
	crypto_wipe(rs->login_pw, sizeof(rs->login_pw));
	client_emit(c, &ev);
	fail_queued(c, rs, ct);
}

/*
 * The room answered something only a client it has logged in gets (the
 * ACK of a post, a push): a login whose reply was lost did log us in.  The
 * state shown is the room's: logged in, with the role the evidence proves
 * at least (a post: read-write; a push: guest) unless a login said more.
 */
void client_login_inferred(struct client *c, struct client_room *rs, struct client_contact *ct,
                           unsigned role, uint64_t now_ms)
{
	if (rs->login == CLIENT_LOGIN_PENDING) {
		/* kept for the login's timeout: the room has us in already */
		if (!rs->ev_in || rs->ev_role < role)
			rs->ev_role = role;
		rs->ev_in = true;
		return;
	}
	if (rs->login != CLIENT_LOGIN_NONE)
		return;
	rs->login = CLIENT_LOGIN_OK;
	if ((rs->perms & ACL_ROLE_MASK) < role)
		rs->perms = (uint8_t)((rs->perms & ~ACL_ROLE_MASK) | role);
	rs->ka_next_ms = now_ms + (uint64_t)c->cfg.keepalive_s * 1000;
	rs->ka_lost = false;
	struct client_event ev = {.type = CLIENT_EV_LOGIN,
	                          .contact = ct,
	                          .perms = rs->perms,
	                          .role = rs->perms & ACL_ROLE_MASK,
	                          .inferred = true};
	client_emit(c, &ev);
}

static void login_reply(struct client *c, struct client_room *rs, struct client_contact *ct,
                        const uint8_t *body, size_t len, uint64_t now_ms)
{
	struct client_event ev = {.contact = ct};
	struct login_resp r;

	if (login_resp_decode(&r, body, len) != ERR_OK)
		return;
	rs->last_rx_ms = now_ms;
	crypto_wipe(rs->login_pw, sizeof(rs->login_pw));
	if (r.code != LOGIN_RESP_OK) {
		client_login_lost(c, rs, ct, CLIENT_EV_LOGIN_FAILED, r.code);
		return;
	}
	rs->login = CLIENT_LOGIN_OK;
	rs->perms = r.permissions;
	rs->ka_next_ms = now_ms + (uint64_t)c->cfg.keepalive_s * 1000;
	rs->ka_lost = false;
	ev.type = CLIENT_EV_LOGIN;
	ev.server_time = r.timestamp;
	ev.perms = r.permissions;
	ev.role = r.permissions & ACL_ROLE_MASK;
	ev.fw_level = r.fw_level;
	client_emit(c, &ev);
}

/* A RESPONSE body, from a datagram or a PATH extra (padding included). */
static void on_response(struct client *c, struct client_contact *ct, const uint8_t *body,
                        size_t len, uint64_t now_ms)
{
	struct client_room *rs = client_room_find(c, ct->pub);
	struct resp r;

	if (!rs || resp_decode(&r, body, len) != ERR_OK)
		return;
	for (int i = 0; i < CLIENT_MAX_REQS; i++) {
		if (!rs->reqs[i].used || rs->reqs[i].tag != r.tag)
			continue;
		unsigned kind = rs->reqs[i].kind;
		struct client_event ev = {.contact = ct, .id = rs->reqs[i].id};
		struct server_stats st;
		struct acl_entry acl[ACL_LIST_MAX / ACL_ENTRY_SIZE];
		/* the login reply starts with the room's clock, which could equal a
		 * tag: a status reply is told apart by its length */
		if (kind == REQ_GET_STATUS) {
			if (stats_decode(&st, r.data, r.data_len) != ERR_OK)
				continue;
			ev.type = CLIENT_EV_STATUS;
			ev.stats = &st;
		} else if (kind == REQ_GET_TELEMETRY) {
			ev.type = CLIENT_EV_TELEMETRY;
			ev.data = r.data;
			ev.data_len = r.data_len;
		} else {
			if (acl_list_decode(r.data, r.data_len, acl, sizeof(acl) / sizeof(acl[0]),
			                    &ev.n_acl) != ERR_OK)
				continue;
			ev.type = CLIENT_EV_ACL;
			ev.acl = acl;
		}
		rs->reqs[i].used = false;
		rs->last_rx_ms = now_ms;
		client_emit(c, &ev);
		return;
	}
	/* onContactResponse matches the pending login by the room's key alone */
	if (rs->login == CLIENT_LOGIN_PENDING)
		login_reply(c, rs, ct, body, len, now_ms);
}

static void send_push_ack(struct client *c, struct client_contact *ct, const struct pkt *in,
                          const uint8_t code[4])
{
	struct pkt p;

	if (pkt_is_flood(in)) {
		/* the push's flood path tells the room its route to us */
		if (mesh_build_path(&p, &c->ep.id, ct->pub[0], ct->secret, in->path_len, in->path,
		                    PKT_ACK, code, 4, c->mesh->rng) == ERR_OK)
			mesh_send_flood(c->mesh, &p, ACK_DELAY_MS, 1, NULL);
		return;
	}
	/* BaseChatMesh::sendAckTo */
	if (ct->out_path_len == MESH_NO_PATH) {
		mesh_build_ack(&p, code, NULL, 0);
		mesh_send_flood(c->mesh, &p, ACK_DELAY_MS, 1, NULL);
		return;
	}
	uint32_t delay = ACK_DELAY_MS;
	if (c->cfg.multi_acks) {
		mesh_build_multi_ack(&p, code, 1);
		mesh_send_direct(c->mesh, &p, ct->out_path_len, ct->out_path, delay);
		delay += MULTI_ACK_GAP_MS;
	}
	mesh_build_ack(&p, code, NULL, 0);
	mesh_send_direct(c->mesh, &p, ct->out_path_len, ct->out_path, delay);
}

/* A post's identity: room, timestamp, author prefix and text (§9.5). */
static void fingerprint(const uint8_t room[CRYPTO_PUB_SIZE], uint32_t ts, const uint8_t author[4],
                        const char *text, size_t len, uint8_t out[8])
{
	uint8_t head[CRYPTO_PUB_SIZE + 8], h[CRYPTO_HASH_SIZE];
	memcpy(head, room, CRYPTO_PUB_SIZE);
	le32_store(head + CRYPTO_PUB_SIZE, ts);
	memcpy(head + CRYPTO_PUB_SIZE + 4, author, 4);
	hash_sha256_2(h, head, sizeof(head), (const uint8_t *)text, len);
	memcpy(out, h, 8);
}

static bool seen_has(const struct client *c, const uint8_t fp[8])
{
	for (unsigned i = 0; i < c->seen_len; i++)
		if (memcmp(c->seen[i], fp, 8) == 0)
			return true;
	return false;
}

static void seen_put(struct client *c, const uint8_t fp[8])
{
	memcpy(c->seen[c->seen_next], fp, 8);
	c->seen_next = (c->seen_next + 1) % CLIENT_SEEN_MAX;
	if (c->seen_len < CLIENT_SEEN_MAX)
		c->seen_len++;
}

void client_mark_seen(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], uint32_t ts,
                      const uint8_t author[4], const char *text, size_t len)
{
	uint8_t fp[8];
	fingerprint(room, ts, author, text, len, fp);
	if (!seen_has(c, fp))
		seen_put(c, fp);
}

/* §9.5: a post pushed by the room. */
static void on_push(struct client *c, struct client_contact *ct, const struct mesh_rx *rx,
                    const struct txt_msg *m, const uint8_t *pt, size_t len)
{
	uint8_t code[ACK_CODE_SIZE], fp[8];

	/* the ACK covers timestamp, flags, author prefix and the text, keyed by our key */
	if (ack_code_txt(pt, len, c->ep.id.pub, code) != ERR_OK)
		return;
	send_push_ack(c, ct, rx->pkt, code);

	if (m->timestamp > ct->sync_since) {
		ct->sync_since = m->timestamp;
		struct client_event ev = {
		    .type = CLIENT_EV_SYNC, .contact = ct, .sync_since = m->timestamp};
		client_emit(c, &ev);
	}
	struct client_room *rs = client_room_find(c, ct->pub);
	if (rs) {
		rs->last_rx_ms = rx->now_ms;
		if (!c->cfg.stock)
			client_login_inferred(c, rs, ct, ACL_ROLE_GUEST, rx->now_ms);
	}
	fingerprint(ct->pub, m->timestamp, m->author, m->text, m->text_len, fp);
	if (!seen_has(c, fp))
		seen_put(c, fp);
	else if (!c->cfg.stock)
		return; /* a re-push after a lost ACK: acknowledged again, shown once */
	struct client_event ev = {.type = CLIENT_EV_POST,
	                          .contact = ct,
	                          .ts = m->timestamp,
	                          .text = m->text,
	                          .text_len = m->text_len};
	memcpy(ev.author, m->author, 4);
	client_emit(c, &ev);
}

static void on_cli_reply(struct client *c, struct client_contact *ct, const struct mesh_rx *rx,
                         const struct txt_msg *m)
{
	struct client_room *rs = client_room_find(c, ct->pub);
	struct client_event ev = {.type = CLIENT_EV_CLI_REPLY,
	                          .contact = ct,
	                          .ts = m->timestamp,
	                          .text = m->text,
	                          .text_len = m->text_len};
	if (rs) {
		rs->last_rx_ms = rx->now_ms;
		for (int i = 0; i < CLIENT_MAX_REQS; i++) {
			if (rs->cli[i].used) {
				ev.id = rs->cli[i].id;
				rs->cli[i].used = false;
				break;
			}
		}
	}
	if (pkt_is_flood(rx->pkt)) {
		/* §9.6: a flooded reply is answered with a PATH so the room learns the route */
		struct pkt p;
		if (mesh_build_path(&p, &c->ep.id, ct->pub[0], ct->secret, rx->pkt->path_len,
		                    rx->pkt->path, 0xFF, NULL, 0, c->mesh->rng) == ERR_OK)
			mesh_send_flood(c->mesh, &p, 0, 1, NULL);
	}
	client_emit(c, &ev);
}

static bool on_peer_data(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                         unsigned type, const uint8_t *pt, size_t len)
{
	struct client *c = ep->ctx;
	struct client_contact *ct = peer->ref;

	ct->last_heard = client_rtc(c, rx->now_ms);
	if (type == PKT_RESPONSE) {
		on_response(c, ct, pt, len, rx->now_ms);
		return_path_retry(c, ct, rx->pkt);
		return true;
	}
	struct txt_msg m;
	if (type != PKT_TXT_MSG || txt_decode(&m, pt, len) != ERR_OK)
		return true;
	switch (m.type) {
	case TXT_SIGNED: on_push(c, ct, rx, &m, pt, len); break;
	case TXT_CLI: on_cli_reply(c, ct, rx, &m); break;
	default: break; /* a room never sends plain text; direct chat is not ours */
	}
	return true;
}

static bool on_peer_path(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                         uint8_t path_len, const uint8_t *path, unsigned extra_type,
                         const uint8_t *extra, size_t extra_len)
{
	struct client *c = ep->ctx;
	struct client_contact *ct = peer->ref;

	ct->last_heard = client_rtc(c, rx->now_ms);
	set_path(c, ct, path_len, path);
	if (extra_type == PKT_ACK && extra_len >= 4)
		match_ack(c, extra, extra, extra_len, rx->now_ms);
	else if (extra_type == PKT_RESPONSE)
		on_response(c, ct, extra, extra_len, rx->now_ms);
	return true; /* a flooded PATH gets the reciprocal path (ep.reciprocal_path) */
}

/* ---- life cycle ---- */

static const struct mesh_ep_ops client_ops = {
    .peers_by_hash = peers_by_hash,
    .on_anon_req = NULL, /* a client takes no logins */
    .on_peer_data = on_peer_data,
    .on_peer_path = on_peer_path,
    .on_ack = on_ack,
    .on_advert = on_advert,
};

int client_init(struct client *c, struct mesh *m, const struct ident *id,
                const struct client_cfg *cfg,
                void (*fn)(void *ctx, struct client *c, const struct client_event *ev), void *ctx,
                uint64_t now_ms)
{
	memset(c, 0, sizeof(*c));
	c->mesh = m;
	c->cfg = *cfg;
	if (c->cfg.max_attempts < 1 || c->cfg.max_attempts > CLIENT_MAX_ATTEMPTS)
		c->cfg.max_attempts = CLIENT_MAX_ATTEMPTS;
	c->cfg.name[CLIENT_NAME_MAX - 1] = 0;
	c->on_event = fn;
	c->ctx = ctx;
	c->next_id = 1;
	c->now_ms = now_ms;
	c->ep.id = *id;
	c->ep.ops = &client_ops;
	c->ep.ctx = c;
	c->ep.reciprocal_path = true;
	return mesh_add_ep(m, &c->ep);
}

void client_cleanup(struct client *c)
{
	if (c->mesh)
		mesh_remove_ep(c->mesh, &c->ep);
	crypto_wipe(c, sizeof(*c));
}
