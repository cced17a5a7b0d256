/*
 * client_send.c - the room client's sending side (see client.h): each
 * room's queue of operations (login, post, CLI command, request), what goes
 * on the air for each, and the timers (retries, timeouts, keep-alives).
 * The receiving side and the contacts are in client.c.
 */
#include <string.h>

#include "client/client.h"
#include "client/client_int.h"
#include "util/buf.h"
#include "util/err.h"

#define REPLY_SLACK_MS 3000

/* ---- sending to rooms ---- */

static int send_login(struct client *c, struct client_room *rs, struct client_contact *ct,
                      const char *password, uint64_t now_ms)
{
	uint8_t pt[8 + LOGIN_PASSWORD_MAX];
	struct login_req l = {.sync_since = ct->sync_since};
	struct pkt p;
	size_t n;

	rs->login_ts = l.timestamp = client_unique_time(c, now_ms);
	memcpy(l.password, password, strnlen(password, LOGIN_PASSWORD_MAX));
	if (rs->login_pw != password) {
		memset(rs->login_pw, 0, sizeof(rs->login_pw));
		memcpy(rs->login_pw, l.password, strnlen(l.password, LOGIN_PASSWORD_MAX));
	}
	int rc = login_req_encode(&l, LOGIN_FORM_ROOM, pt, sizeof(pt), &n);
	if (rc == ERR_OK)
		rc = mesh_build_anon(&p, &c->ep.id, ct->pub[0], ct->secret, pt, n);
	crypto_wipe(pt, sizeof(pt));
	crypto_wipe(&l, sizeof(l));
	if (rc)
		return rc;
	uint32_t timeout = client_timeout_ms(c, p.payload_len, ct->out_path_len);
	uint32_t delay = rs->login_attempt > 0 ? client_retry_jitter_ms(c, &p) : 0;
	rc = client_send_to(c, ct, &p, delay);
	if (rc)
		return rc;
	rs->login = CLIENT_LOGIN_PENDING;
	/*
	 * The firmware's time: the companion hands the app est_timeout for
	 * the login it sent (CMD_SEND_LOGIN -> RESP_CODE_SENT), the §9.2 value
	 * above.  A flooded login gets that in all: a second flood (two
	 * members who pressed login together collide once, not twice) goes
	 * out halfway.  A direct one gets its own, then a flood (the route may
	 * be stale) with the flood's.
	 */
	if (rs->login_attempt == 0 && ct->out_path_len == MESH_NO_PATH) {
		rs->login_end = now_ms + timeout;
		rs->login_deadline = now_ms + timeout / 2;
	} else if (rs->login_attempt > 0 && rs->login_end) {
		rs->login_deadline =
		    rs->login_end > now_ms + delay ? rs->login_end : now_ms + delay;
	} else {
		rs->login_end = 0;
		rs->login_deadline = now_ms + delay + timeout;
	}
	return ERR_OK;
}

static int send_post_attempt(struct client *c, struct client_room *rs, struct client_contact *ct,
                             unsigned attempt, uint64_t now_ms)
{
	uint8_t pt[PL_DGRAM_MAX_PLAIN];
	struct txt_msg m = {
	    .timestamp = rs->post.ts, .type = TXT_PLAIN, .attempt = (uint8_t)attempt};
	struct pkt p;
	size_t n;

	/* the app's policy (docs/faq.md): after the failed attempts along the
	 * route, forget it and flood the last one */
	if (attempt > 0 && attempt + 1 >= c->cfg.max_attempts)
		client_reset_path(c, ct);
	memcpy(m.text, rs->post.text, rs->post.len);
	m.text_len = rs->post.len;
	int rc = txt_encode(&m, pt, sizeof(pt), &n);
	if (rc == ERR_OK)
		rc = ack_code_txt(pt, n, c->ep.id.pub, rs->post.codes[attempt]);
	if (rc == ERR_OK)
		rc = mesh_build_datagram(&p, PKT_TXT_MSG, &c->ep.id, ct->pub[0], ct->secret, pt, n);
	if (rc)
		return rc;
	uint32_t timeout = client_timeout_ms(c, p.payload_len, ct->out_path_len);
	bool flood = ct->out_path_len == MESH_NO_PATH;
	uint32_t delay = attempt > 0 ? client_retry_jitter_ms(c, &p) : 0;
	rc = client_send_to(c, ct, &p, delay);
	if (rc)
		return rc;
	rs->post.attempt = attempt;
	rs->post.sent_ms[attempt] = now_ms + delay;
	rs->post.deadline = now_ms + delay + timeout;
	struct client_event ev = {.type = CLIENT_EV_SEND,
	                          .contact = ct,
	                          .id = rs->post.id,
	                          .ts = rs->post.ts,
	                          .attempt = attempt,
	                          .flood = flood,
	                          .timeout_ms = timeout,
	                          .text = rs->post.text,
	                          .text_len = rs->post.len};
	client_emit(c, &ev);
	return ERR_OK;
}

static int send_stamped(struct client *c, struct client_contact *ct, unsigned type,
                        const uint8_t *pt, size_t len, uint32_t *timeout)
{
	struct pkt p;
	int rc = mesh_build_datagram(&p, type, &c->ep.id, ct->pub[0], ct->secret, pt, len);
	if (rc)
		return rc;
	*timeout = client_timeout_ms(c, p.payload_len, ct->out_path_len);
	return client_send_to(c, ct, &p, 0);
}

/* A reply is a whole message back, queued at the room behind its pushes:
 * twice the §9.2 estimate, plus some slack. */
static uint64_t reply_timeout(uint32_t timeout)
{
	return 2 * (uint64_t)timeout + REPLY_SLACK_MS;
}

/* A free entry of a room's reqs[] or cli[], or NULL if all are in use. */
static struct client_wait *free_wait(struct client_wait w[CLIENT_MAX_REQS])
{
	for (int i = 0; i < CLIENT_MAX_REQS; i++)
		if (!w[i].used)
			return &w[i];
	return NULL;
}

static int send_cli(struct client *c, struct client_room *rs, struct client_contact *ct,
                    const struct client_op *op, uint64_t now_ms)
{
	uint8_t pt[PL_DGRAM_MAX_PLAIN];
	struct txt_msg m = {.type = TXT_CLI};
	uint32_t timeout;
	size_t n;
	struct client_wait *w = free_wait(rs->cli);

	if (!w)
		return ERR_FULL;
	/* sendCommandData: a fresh stamp, CLI_DATA, attempt 0; no ACK is expected */
	m.timestamp = client_unique_time(c, now_ms);
	memcpy(m.text, op->text, op->len);
	m.text_len = op->len;
	int rc = txt_encode(&m, pt, sizeof(pt), &n);
	if (rc == ERR_OK)
		rc = send_stamped(c, ct, PKT_TXT_MSG, pt, n, &timeout);
	if (rc)
		return rc;
	*w = (struct client_wait){.used = true,
	                          .kind = CLIENT_REQ_CLI,
	                          .id = op->id,
	                          .deadline = now_ms + reply_timeout(timeout)};
	return ERR_OK;
}

static int send_req(struct client *c, struct client_room *rs, struct client_contact *ct,
                    const struct client_op *op, uint64_t now_ms)
{
	uint8_t pt[16], params[8] = {0};
	struct req q = {.type = (uint8_t)op->kind, .params = params};
	size_t len;
	uint32_t timeout;
	struct client_wait *w = free_wait(rs->reqs);

	if (!w)
		return ERR_FULL;
	uint32_t tag = q.timestamp = client_unique_time(c, now_ms);
	if (op->kind == REQ_GET_ACCESS_LIST) {
		/* CMD_SEND_BINARY_REQ with the app's bytes 05 00 00 */
		q.params_len = 2;
	} else {
		/* sendRequest: 4 zero bytes (telemetry: byte 5 = 0, all permissions),
		 * then 4 random bytes */
		rng_fill(c->mesh->rng, params + 4, 4);
		q.params_len = 8;
	}
	int rc = req_encode(&q, pt, sizeof(pt), &len);
	if (rc == ERR_OK)
		rc = send_stamped(c, ct, PKT_REQ, pt, len, &timeout);
	if (rc)
		return rc;
	*w = (struct client_wait){.used = true,
	                          .kind = op->kind,
	                          .id = op->id,
	                          .tag = tag,
	                          .deadline = now_ms + reply_timeout(timeout)};
	return ERR_OK;
}

static void send_keepalive(struct client *c, struct client_room *rs, struct client_contact *ct,
                           uint64_t now_ms)
{
	uint8_t pt[KEEPALIVE_SIZE], code[ACK_CODE_SIZE];
	struct pkt p;
	size_t n;

	/* checkConnections: direct only, ts || 0x02 || sync_since */
	if (keepalive_encode(client_unique_time(c, now_ms), ct->sync_since, pt, sizeof(pt), &n) !=
	    ERR_OK)
		return;
	ack_code_keepalive(pt, n, c->ep.id.pub, code);
	if (mesh_build_datagram(&p, PKT_REQ, &c->ep.id, ct->pub[0], ct->secret, pt, n) != ERR_OK)
		return;
	if (mesh_send_direct(c->mesh, &p, ct->out_path_len, ct->out_path, 0) != ERR_OK)
		return;
	memcpy(rs->ka_code, code, 4);
	rs->ka_pending = true;
}

/* Starts one operation; an error is reported as an event since it may run late. */
static void start_op(struct client *c, struct client_room *rs, const struct client_op *op,
                     uint64_t now_ms)
{
	struct client_contact *ct = client_contact_find(c, rs->pub);
	int rc;

	if (!ct)
		return;
	c->last_start_ms = now_ms;
	switch (op->kind) {
	case OP_LOGIN:
		rs->login_attempt = 0;
		rs->ev_in = false;
		rc = send_login(c, rs, ct, op->text, now_ms);
		if (rc)
			client_login_lost(c, rs, ct, CLIENT_EV_LOGIN_TIMEOUT, 0);
		return;
	case OP_POST:
		rs->post.active = true;
		rs->post.id = op->id;
		rs->post.ts = client_unique_time(c, now_ms);
		memcpy(rs->post.text, op->text, op->len + 1);
		rs->post.len = op->len;
		rc = send_post_attempt(c, rs, ct, 0, now_ms);
		if (rc) {
			rs->post.attempt = 0;
			rs->post.sent_ms[0] = now_ms;
			client_post_done(c, rs, ct, false, 0, now_ms);
		}
		return;
	case CLIENT_REQ_CLI: rc = send_cli(c, rs, ct, op, now_ms); break;
	default: rc = send_req(c, rs, ct, op, now_ms); break;
	}
	if (rc) {
		struct client_event ev = {
		    .type = CLIENT_EV_TIMEOUT, .contact = ct, .id = op->id, .kind = op->kind};
		client_emit(c, &ev);
	}
}

void client_start_next(struct client *c, struct client_room *rs, uint64_t now_ms)
{
	/* a pause between operations on the one radio, so that a room's answer
	 * is not sent while we are transmitting (half duplex) */
	while (rs->q_len && !client_room_busy(rs) &&
	       (!c->last_start_ms || now_ms >= c->last_start_ms + c->cfg.op_gap_ms)) {
		struct client_op op = rs->queue[rs->q_head];
		rs->q_head = (rs->q_head + 1) % CLIENT_QUEUE_MAX;
		rs->q_len--;
		start_op(c, rs, &op, now_ms);
		crypto_wipe(&op, sizeof(op));
	}
}

/* Queues op; it starts at the next tick unless a post to the room is in flight. */
static int submit(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], struct client_op *op,
                  uint64_t now_ms, uint32_t *id)
{
	struct client_contact *ct = client_contact_find(c, room);
	struct client_room *rs;

	if (!ct)
		return ERR_NOT_FOUND;
	if (ct->secret_state < 0)
		return ERR_CRYPTO;
	if (ct->type != ADV_TYPE_ROOM && ct->type != ADV_TYPE_NONE)
		return ERR_INVAL; /* the room form of a login means nothing to other nodes */
	if (!(rs = client_room_get(c, room)))
		return ERR_FULL;
	c->now_ms = now_ms;
	op->id = c->next_id++;
	if (!c->next_id)
		c->next_id = 1;
	if (id)
		*id = op->id;
	/* started by the next client_tick, so that no event fires from inside this call */
	if (rs->q_len >= CLIENT_QUEUE_MAX)
		return ERR_FULL;
	rs->queue[(rs->q_head + rs->q_len) % CLIENT_QUEUE_MAX] = *op;
	rs->q_len++;
	return ERR_OK;
}

static int text_op(struct client_op *op, unsigned kind, const char *text, size_t len, size_t max)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	if (len > max)
		return ERR_TOO_BIG;
	if (memchr(text, 0, len))
		return ERR_INVAL;
	memcpy(op->text, text, len);
	op->len = len;
	return ERR_OK;
}

enum client_login_state client_login_state(const struct client *c,
                                           const uint8_t room[CRYPTO_PUB_SIZE])
{
	const struct client_room *rs = NULL;
	for (int i = 0; i < CLIENT_MAX_ROOMS && !rs; i++)
		if (c->rooms[i].used && memcmp(c->rooms[i].pub, room, CRYPTO_PUB_SIZE) == 0)
			rs = &c->rooms[i];
	if (!rs)
		return CLIENT_LOGIN_NONE;
	for (unsigned i = 0; i < rs->q_len; i++)
		if (rs->queue[(rs->q_head + i) % CLIENT_QUEUE_MAX].kind == OP_LOGIN)
			return CLIENT_LOGIN_PENDING;
	return rs->login;
}

unsigned client_queue_space(const struct client *c, const uint8_t room[CRYPTO_PUB_SIZE])
{
	for (int i = 0; i < CLIENT_MAX_ROOMS; i++)
		if (c->rooms[i].used && memcmp(c->rooms[i].pub, room, CRYPTO_PUB_SIZE) == 0)
			return CLIENT_QUEUE_MAX - c->rooms[i].q_len;
	return CLIENT_QUEUE_MAX;
}

int client_login(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], const char *password,
                 uint64_t now_ms)
{
	struct client_op op;
	size_t n = password ? strnlen(password, CLIENT_PASS_MAX) : 0;
	text_op(&op, OP_LOGIN, password ? password : "", n, CLIENT_PASS_MAX);
	int rc = submit(c, room, &op, now_ms, NULL);
	crypto_wipe(&op, sizeof(op));
	return rc;
}

/*
 * Queues a post (OP_POST) or a CLI command (CLIENT_REQ_CLI), refused at once
 * when the role of the last login cannot send it: a guest cannot post, and
 * only an admin runs commands.  Before a login the room decides.
 */
static int submit_text(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], unsigned kind,
                       const char *text, size_t len, uint64_t now_ms, uint32_t *id)
{
	struct client_op op;
	struct client_room *rs = client_room_find(c, room);
	int rc;

	if (len == 0)
		return ERR_INVAL;
	if (rs && rs->login == CLIENT_LOGIN_OK) {
		unsigned role = rs->perms & ACL_ROLE_MASK;
		if (kind == OP_POST ? role == ACL_ROLE_GUEST : role != ACL_ROLE_ADMIN)
			return ERR_PERM;
	}
	if ((rc = text_op(&op, kind, text, len, CLIENT_TEXT_MAX)))
		return rc;
	return submit(c, room, &op, now_ms, id);
}

int client_post(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], const char *text, size_t len,
                uint64_t now_ms, uint32_t *id)
{
	return submit_text(c, room, OP_POST, text, len, now_ms, id);
}

int client_cli(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], const char *cmd, size_t len,
               uint64_t now_ms, uint32_t *id)
{
	return submit_text(c, room, CLIENT_REQ_CLI, cmd, len, now_ms, id);
}

int client_request(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], unsigned kind,
                   uint64_t now_ms, uint32_t *id)
{
	struct client_op op;
	if (kind != REQ_GET_STATUS && kind != REQ_GET_TELEMETRY && kind != REQ_GET_ACCESS_LIST)
		return ERR_INVAL;
	text_op(&op, kind, "", 0, 0);
	return submit(c, room, &op, now_ms, id);
}

/* ---- timers ---- */

/* A request or CLI command whose reply is overdue is given up: TIMEOUT. */
static void wait_expire(struct client *c, struct client_contact *ct, struct client_wait *w,
                        uint64_t now_ms)
{
	if (!w->used || now_ms < w->deadline)
		return;
	struct client_event ev = {
	    .type = CLIENT_EV_TIMEOUT, .contact = ct, .id = w->id, .kind = w->kind};
	w->used = false;
	client_emit(c, &ev);
}

static void room_tick(struct client *c, struct client_room *rs, uint64_t now_ms)
{
	struct client_contact *ct = client_contact_find(c, rs->pub);
	if (!ct) {
		rs->used = false; /* its contact was dropped */
		return;
	}
	if (rs->login == CLIENT_LOGIN_PENDING && now_ms >= rs->login_deadline) {
		/* a wrong password gets no answer at all (§7.2); neither does a
		 * login over a stale route or one lost on the air: try once more,
		 * by flood, before giving up */
		client_reset_path(c, ct);
		if (rs->login_attempt++ > 0 ||
		    send_login(c, rs, ct, rs->login_pw, now_ms) != ERR_OK) {
			if (rs->ev_in) {
				/* no answer to this login, but the room pushed to us or
				 * ACKed our post meanwhile: we are in (the state shown is
				 * the room's), and what waits for the login goes ahead */
				rs->login = CLIENT_LOGIN_NONE;
				rs->ev_in = false;
				crypto_wipe(rs->login_pw, sizeof(rs->login_pw));
				client_login_inferred(c, rs, ct, rs->ev_role, now_ms);
			} else {
				client_login_lost(c, rs, ct, CLIENT_EV_LOGIN_TIMEOUT, 0);
			}
		}
	}
	if (rs->post.active && now_ms >= rs->post.deadline) {
		unsigned next = rs->post.attempt + 1;
		unsigned max = c->cfg.max_attempts;
		if (max < 1 || max > CLIENT_MAX_ATTEMPTS)
			max = CLIENT_MAX_ATTEMPTS;
		if (next >= max || send_post_attempt(c, rs, ct, next, now_ms) != ERR_OK)
			client_post_done(c, rs, ct, false, rs->post.attempt, now_ms);
	}
	for (int i = 0; i < CLIENT_MAX_REQS; i++) {
		wait_expire(c, ct, &rs->reqs[i], now_ms);
		wait_expire(c, ct, &rs->cli[i], now_ms);
	}
	if (c->cfg.keepalive_s && rs->login == CLIENT_LOGIN_OK) {
		uint64_t iv = (uint64_t)c->cfg.keepalive_s * 1000;
		if (now_ms >= rs->ka_next_ms) {
			/* direct only, and never between a post and its retries */
			if (!client_room_busy(rs) && !rs->q_len && ct->out_path_len != MESH_NO_PATH)
				send_keepalive(c, rs, ct, now_ms);
			rs->ka_next_ms = now_ms + iv;
		}
		/* the connection counts as lost after 2.5 intervals of silence
		 * with a keep-alive unanswered */
		if (rs->ka_pending && !rs->ka_lost && now_ms >= rs->last_rx_ms + iv * 5 / 2) {
			rs->ka_lost = true;
			client_emit_simple(c, CLIENT_EV_KEEPALIVE_LOST, ct);
		}
	}
}

void client_tick(struct client *c, uint64_t now_ms)
{
	c->now_ms = now_ms;
	for (int i = 0; i < CLIENT_MAX_ROOMS; i++) {
		if (!c->rooms[i].used)
			continue;
		client_start_next(c, &c->rooms[i], now_ms);
		room_tick(c, &c->rooms[i], now_ms);
		if (c->rooms[i].used)
			client_start_next(c, &c->rooms[i], now_ms);
	}
}

static void earliest(uint64_t *best, uint64_t t)
{
	if (t < *best)
		*best = t;
}

uint64_t client_next_deadline(const struct client *c)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < CLIENT_MAX_ROOMS; i++) {
		const struct client_room *rs = &c->rooms[i];
		if (!rs->used)
			continue;
		if (rs->q_len && !client_room_busy(rs))
			earliest(&best, c->last_start_ms ? c->last_start_ms + c->cfg.op_gap_ms : 0);
		if (rs->login == CLIENT_LOGIN_PENDING)
			earliest(&best, rs->login_deadline);
		if (rs->post.active)
			earliest(&best, rs->post.deadline);
		for (int j = 0; j < CLIENT_MAX_REQS; j++) {
			if (rs->reqs[j].used)
				earliest(&best, rs->reqs[j].deadline);
			if (rs->cli[j].used)
				earliest(&best, rs->cli[j].deadline);
		}
		if (c->cfg.keepalive_s && rs->login == CLIENT_LOGIN_OK) {
			uint64_t iv = (uint64_t)c->cfg.keepalive_s * 1000;
			earliest(&best, rs->ka_next_ms);
			if (rs->ka_pending && !rs->ka_lost)
				earliest(&best, rs->last_rx_ms + iv * 5 / 2);
		}
	}
	return best;
}

bool client_busy(const struct client *c)
{
	for (int i = 0; i < CLIENT_MAX_ROOMS; i++) {
		const struct client_room *rs = &c->rooms[i];
		if (!rs->used)
			continue;
		if (client_room_busy(rs) || rs->q_len)
			return true;
	}
	return false;
}
