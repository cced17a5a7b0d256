/*
 * web.c - roomd's web page on evhttp (web.h): routes, sessions, the live
 * board (Server-Sent Events), the channel recorder, /metrics and the JSON API.
 */
#include "web/web.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "proto/packet.h"
#include "room/guard.h"
#include "room/room.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "web_assets.h"

#define SUB             "web"
#define PAGE_MAX        200 /* posts per page at most */
#define RECENT_MAX      256 /* packets kept for the channel page */
#define MINUTES         60  /* airtime per minute, the last hour */
#define SESSION_IDLE_MS (60ull * 60 * 1000)
#define SESSION_MAX_MS  (12ull * 60 * 60 * 1000)
#define SSE_KEEPALIVE_S 15
#define ROOMS_TRACKED   64

struct session {
	char id[WEB_TOKEN_LEN + 1];
	char csrf[WEB_TOKEN_LEN + 1];
	uint32_t room_id; /* store id of the room it is admin of */
	uint64_t created_ms, seen_ms;
	bool used;
};

struct sse {
	struct evhttp_request *req;
	struct web *w;
	uint32_t room_id;
	int64_t last_id;
	bool used;
};

struct chan_rec {
	uint64_t ms;
	uint32_t air_ms;
	int16_t rssi, snr_x4;
	uint8_t tx, type, len;
};

struct room_seen {
	uint32_t room_id, gen;
	int64_t max_id;
};

struct web_stats {
	uint64_t requests, bad_requests, not_found, forbidden, too_big;
	uint64_t sse_pushed, sse_refused, sse_opened, sse_dropped;
	uint64_t logins_ok, logins_bad, logins_limited;
	uint64_t admin_writes;
};

struct web {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct web_host h;
	struct session sess[WEB_SESSIONS];
	struct sse sse[WEB_SSE_MAX];
	unsigned n_sse;
	struct room_seen seen[ROOMS_TRACKED];
	struct guard guard; /* login limits by client address */
	struct event *ev_keepalive;
	/* channel */
	uint64_t pkts[2][16];
	uint64_t bytes[2];
	uint64_t air_min[2][MINUTES]; /* ms of airtime per minute, ring by minute number */
	uint64_t air_min_no[MINUTES]; /* which minute each slot holds */
	struct chan_rec recent[RECENT_MAX];
	unsigned recent_next, recent_n;
	struct web_stats st;
	unsigned port;
};

/* ---- helpers ---- */

static void send_buf(struct evhttp_request *req, int code, const char *reason, const char *type,
                     struct wout *o)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	evhttp_add_header(oh, "Content-Type", type);
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
	evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
	evhttp_add_header(oh, "Content-Security-Policy",
	                  "default-src 'self'; img-src 'self' data:; style-src 'self'; "
	                  "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
	                  "form-action 'self'; base-uri 'none'");
	struct evbuffer *b = evbuffer_new();
	if (b && o && !o->oom && o->len)
		evbuffer_add(b, o->p, o->len);
	if (o && o->oom) {
		code = 500;
		reason = "Internal Server Error";
	}
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

static void send_json(struct evhttp_request *req, int code, struct wout *o)
{
	static const char *reasons[] = {[0] = "OK"};
	const char *reason = code == 200   ? reasons[0]
	                     : code == 400 ? "Bad Request"
	                     : code == 401 ? "Unauthorized"
	                     : code == 403 ? "Forbidden"
	                     : code == 404 ? "Not Found"
	                     : code == 405 ? "Method Not Allowed"
	                     : code == 413 ? "Payload Too Large"
	                     : code == 429 ? "Too Many Requests"
	                     : code == 503 ? "Service Unavailable"
	                                   : "Error";
	if (o)
		wout_put(o, "\n", 1);
	send_buf(req, code, reason, "application/json; charset=utf-8", o);
}

/* {"error": what} with a 4xx/5xx code, counted. */
static void send_error(struct web *w, struct evhttp_request *req, int code, const char *what)
{
	struct wout o;
	wout_init(&o);
	wout_puts(&o, "{\"error\":");
	web_json_c(&o, what);
	wout_puts(&o, "}");
	if (code == 404)
		w->st.not_found++;
	else if (code == 403 || code == 401)
		w->st.forbidden++;
	else if (code == 413)
		w->st.too_big++;
	else if (code >= 400 && code < 500)
		w->st.bad_requests++;
	send_json(req, code, &o);
	wout_free(&o);
}

static uint64_t now_ms(struct web *w)
{
	return w->h.now_ms();
}

/* The request's body as a NUL-terminated string (cap WEB_BODY_MAX), or NULL. */
static char *body_of(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(b);
	if (n > WEB_BODY_MAX)
		return NULL;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	evbuffer_copyout(b, s, n);
	s[n] = 0;
	*len = n;
	return s;
}

/* A room index from the form/query (default 0) checked against the rooms. */
static int room_arg(struct web *w, const char *q, size_t qlen, int *idx)
{
	uint64_t v = 0;
	int rc = web_form_u64(q, qlen, "room", &v);
	if (rc == ERR_NOT_FOUND)
		v = 0;
	else if (rc)
		return ERR_INVAL;
	if (v >= (uint64_t)w->h.n_rooms(w->h.ctx))
		return ERR_NOT_FOUND;
	*idx = (int)v;
	return ERR_OK;
}

static void key_hex(char *out, const uint8_t *pub, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[pub[i] >> 4];
		out[2 * i + 1] = hx[pub[i] & 15];
	}
	out[2 * n] = 0;
}

/* The author's name: the member's from its advert, the room's own, else "". */
static const char *author_name(struct room *r, const uint8_t *pub)
{
	if (memcmp(pub, r->ep.id.pub, 32) == 0)
		return r->set.name;
	struct room_member *m = room_member_find(r, pub);
	return m && m->name[0] ? m->name : "";
}

static void post_json(struct wout *o, struct room *r, const struct store_post *p)
{
	char key[65];
	key_hex(key, p->author, 32);
	const char *name = author_name(r, p->author);
	wout_printf(o, "{\"id\":%lld,\"ts\":%u,\"author\":\"%s\",\"name\":", (long long)p->id,
	            p->post_ts, key);
	if (name[0])
		web_json_c(o, name);
	else
		wout_printf(o, "\"%.8s\"", key);
	wout_puts(o, ",\"text\":");
	web_json(o, (const char *)p->text, p->text_len);
	wout_puts(o, "}");
}

/* ---- sessions ---- */

static void random_token(char out[WEB_TOKEN_LEN + 1])
{
	uint8_t raw[16];
	const struct rng *rng = crypto_rng_system();
	rng->fill(rng->ctx, raw, sizeof(raw));
	web_token_hex(out, raw);
}

static struct session *session_of(struct web *w, struct evhttp_request *req)
{
	const char *ck = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
	char id[WEB_TOKEN_LEN + 8];
	if (web_cookie_get(ck, "roomd_session", id, sizeof(id)) != ERR_OK)
		return NULL;
	uint64_t now = now_ms(w);
	for (int i = 0; i < WEB_SESSIONS; i++) {
		struct session *s = &w->sess[i];
		if (!s->used || !web_token_eq(id, s->id))
			continue;
		if (now - s->seen_ms > SESSION_IDLE_MS || now - s->created_ms > SESSION_MAX_MS) {
			memset(s, 0, sizeof(*s));
			return NULL;
		}
		s->seen_ms = now;
		return s;
	}
	return NULL;
}

static struct session *session_new(struct web *w, uint32_t room_id)
{
	struct session *s = &w->sess[0];
	for (int i = 0; i < WEB_SESSIONS; i++) {
		if (!w->sess[i].used) {
			s = &w->sess[i];
			break;
		}
		if (w->sess[i].seen_ms < s->seen_ms)
			s = &w->sess[i];
	}
	memset(s, 0, sizeof(*s));
	random_token(s->id);
	random_token(s->csrf);
	s->room_id = room_id;
	s->created_ms = s->seen_ms = now_ms(w);
	s->used = true;
	return s;
}

/* The client address as a limiter key (IPv4 or the /64 of IPv6). */
static void client_key(struct evhttp_request *req, uint8_t key[32])
{
	char *addr = NULL;
	uint16_t port = 0;
	memset(key, 0, 32);
	key[0] = 0xFE; /* never a member's key prefix by chance of layout */
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
	if (!addr)
		return;
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		memcpy(key + 1, &a4, 4);
	else if (inet_pton(AF_INET6, addr, &a6) == 1)
		memcpy(key + 1, &a6, 7);
}

/* Writes: the session's, the CSRF token in the form (or X-CSRF-Token) and,
 * if the browser says where the form came from, our own origin. */
static struct session *admin_check(struct web *w, struct evhttp_request *req, const char *form,
                                   size_t flen)
{
	struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(ih, "Origin");
	const char *host = evhttp_find_header(ih, "Host");
	if (origin && strcmp(origin, "null") != 0) {
		/* https too: behind a TLS proxy that keeps the Host header */
		const char *o = strncmp(origin, "http://", 7) == 0    ? origin + 7
		                : strncmp(origin, "https://", 8) == 0 ? origin + 8
		                                                      : NULL;
		if (!o || !host || strcmp(o, host) != 0) {
			send_error(w, req, 403, "cross-site request refused");
			return NULL;
		}
	} else if (origin) {
		send_error(w, req, 403, "cross-site request refused");
		return NULL;
	}
	struct session *s = session_of(w, req);
	if (!s) {
		send_error(w, req, 401, "log in first");
		return NULL;
	}
	char tok[WEB_TOKEN_LEN + 8] = "";
	const char *hdr = evhttp_find_header(ih, "X-CSRF-Token");
	if (hdr)
		snprintf(tok, sizeof(tok), "%s", hdr);
	else if (web_form_get(form, flen, "csrf", tok, sizeof(tok)) != ERR_OK)
		tok[0] = 0;
	if (!web_token_eq(tok, s->csrf)) {
		send_error(w, req, 403, "missing or wrong CSRF token");
		return NULL;
	}
	return s;
}

/* ---- the live board ---- */

static void sse_close(struct sse *c)
{
	if (c->used && c->w)
		c->w->n_sse--;
	memset(c, 0, sizeof(*c));
}

/* The page went away.  A request libevent detached from its connection (the
 * peer closed while the reply was still open) is ours to free, which
 * evhttp_send_reply_end does; one still attached goes with its connection. */
static void on_sse_gone(struct evhttp_connection *con, void *arg)
{
	struct sse *c = arg;
	struct evhttp_request *req = c->req;
	(void)con;
	sse_close(c);
	if (req && !evhttp_request_get_connection(req))
		evhttp_send_reply_end(req);
}

/* A page that does not read what it is sent is dropped past this backlog
 * (beside the socket's own buffers), so it cannot make roomd hold every post. */
#define SSE_BACKLOG (256 * 1024)

static void sse_send(struct sse *c, const char *s, size_t n)
{
	struct evhttp_connection *con = evhttp_request_get_connection(c->req);
	struct bufferevent *bev = con ? evhttp_connection_get_bufferevent(con) : NULL;
	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > SSE_BACKLOG) {
		c->w->st.sse_dropped++;
		log_info(SUB, "a live page that does not read was dropped");
		evhttp_connection_free(con); /* on_sse_gone forgets it */
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return;
	evbuffer_add(b, s, n);
	evhttp_send_reply_chunk(c->req, b);
	evbuffer_free(b);
}

static struct room *room_by_id(struct web *w, uint32_t id, int *idx)
{
	int n = w->h.n_rooms(w->h.ctx);
	for (int i = 0; i < n; i++) {
		struct room *r = w->h.room(w->h.ctx, i);
		if (r->store_id == id) {
			if (idx)
				*idx = i;
			return r;
		}
	}
	return NULL;
}

struct push_ctx {
	struct web *w;
	struct room *r;
	int64_t max_id;
	struct wout o;
	unsigned n;
};

static int push_one(void *ctx, const struct store_post *p)
{
	struct push_ctx *pc = ctx;
	wout_printf(&pc->o, "id: %lld\nevent: post\ndata: ", (long long)p->id);
	post_json(&pc->o, pc->r, p);
	wout_puts(&pc->o, "\n\n");
	if (p->id > pc->max_id)
		pc->max_id = p->id;
	pc->n++;
	return 0;
}

static struct room_seen *seen_of(struct web *w, uint32_t id)
{
	struct room_seen *free_slot = NULL;
	for (int i = 0; i < ROOMS_TRACKED; i++) {
		if (w->seen[i].room_id == id)
			return &w->seen[i];
		if (!w->seen[i].room_id && !free_slot)
			free_slot = &w->seen[i];
	}
	if (free_slot) {
		free_slot->room_id = id;
		free_slot->max_id = -1; /* not known yet */
	}
	return free_slot;
}

static int64_t newest_id(struct web *w, uint32_t room_id);

static bool room_has_pages(struct web *w, uint32_t room_id)
{
	for (int k = 0; k < WEB_SSE_MAX; k++)
		if (w->sse[k].used && w->sse[k].room_id == room_id)
			return true;
	return false;
}

/*
 * Posts stored since the last call, to the live pages of their room: each
 * room's newest id pushed is kept while it has pages (a room without any
 * forgets it, and takes the newest id when a page joins).
 */
void web_poll(struct web *w)
{
	if (!w || !w->n_sse)
		return;
	int n = w->h.n_rooms(w->h.ctx);
	for (int i = 0; i < n; i++) {
		struct room *r = w->h.room(w->h.ctx, i);
		struct room_seen *s = seen_of(w, r->store_id);
		if (!s || s->gen == r->post_gen)
			continue;
		s->gen = r->post_gen;
		if (s->max_id < 0 || !room_has_pages(w, r->store_id)) {
			s->max_id = -1;
			continue;
		}
		/* the new posts formatted once, then to every page of this room */
		for (int round = 0; round < 64; round++) {
			struct push_ctx pc = {.w = w, .r = r, .max_id = s->max_id};
			wout_init(&pc.o);
			store_post_after(w->h.store, r->store_id, s->max_id, 64, push_one, &pc);
			if (pc.n && !pc.o.oom)
				for (int k = 0; k < WEB_SSE_MAX; k++) {
					struct sse *c = &w->sse[k];
					if (!c->used || c->room_id != r->store_id)
						continue;
					sse_send(c, pc.o.p, pc.o.len);
					c->last_id = pc.max_id;
					w->st.sse_pushed += pc.n;
				}
			s->max_id = pc.max_id;
			wout_free(&pc.o);
			if (pc.n < 64)
				break;
		}
	}
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;
	(void)fd;
	(void)what;
	for (int k = 0; k < WEB_SSE_MAX; k++)
		if (w->sse[k].used)
			sse_send(&w->sse[k], ": keep-alive\n\n", 14);
}

static int max_id_cb(void *ctx, const struct store_post *p)
{
	*(int64_t *)ctx = p->id;
	return 1;
}

static int64_t newest_id(struct web *w, uint32_t room_id)
{
	int64_t id = 0;
	store_post_page(w->h.store, room_id, INT64_MAX, NULL, 1, max_id_cb, &id);
	return id;
}

static void api_events(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	if (room_arg(w, q, qlen, &idx) != ERR_OK) {
		send_error(w, req, 404, "no such room");
		return;
	}
	if (w->n_sse >= WEB_SSE_MAX) {
		w->st.sse_refused++;
		send_error(w, req, 503, "too many live pages open");
		return;
	}
	struct sse *c = NULL;
	for (int k = 0; k < WEB_SSE_MAX && !c; k++)
		if (!w->sse[k].used)
			c = &w->sse[k];
	struct room *r = w->h.room(w->h.ctx, idx);
	struct room_seen *s = seen_of(w, r->store_id);
	if (s && (s->max_id < 0 || s->gen != r->post_gen)) {
		web_poll(w); /* the room's other pages first */
		s->gen = r->post_gen;
		s->max_id = newest_id(w, r->store_id);
	}
	c->used = true;
	c->w = w;
	c->req = req;
	c->room_id = r->store_id;
	w->n_sse++;
	w->st.sse_opened++;
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	evhttp_add_header(oh, "Content-Type", "text/event-stream");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply_start(req, 200, "OK");
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(con, on_sse_gone, c);
	/* the kernel's share of a page's backlog bounded too (SSE_BACKLOG is ours) */
	struct bufferevent *bev = evhttp_connection_get_bufferevent(con);
	int sndbuf = 64 * 1024;
	if (bev)
		setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	sse_send(c, "retry: 1000\n: hello\n\n", 21);
	/* a page coming back (EventSource sends the last id it had) gets what it
	 * missed, up to 200 posts */
	const char *last =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
	char *end;
	long long from = last ? strtoll(last, &end, 10) : -1;
	if (s && last && *last >= '0' && *last <= '9' && !*end && from >= 0 && from < s->max_id) {
		struct push_ctx pc = {.w = w, .r = r, .max_id = from};
		wout_init(&pc.o);
		store_post_after(w->h.store, r->store_id, from, 200, push_one, &pc);
		if (pc.n && !pc.o.oom)
			sse_send(c, pc.o.p, pc.o.len);
		wout_free(&pc.o);
	}
}

/* ---- the channel recorder ---- */

void web_packet(struct web *w, bool tx, const uint8_t *frame, size_t len, int snr_x4, int rssi,
                uint32_t air_ms)
{
	if (!w || !len)
		return;
	unsigned type = (frame[0] >> 2) & 0x0F;
	uint64_t now = now_ms(w);
	uint64_t minute = now / 60000;
	unsigned slot = (unsigned)(minute % MINUTES);
	if (w->air_min_no[slot] != minute) {
		w->air_min_no[slot] = minute;
		w->air_min[0][slot] = w->air_min[1][slot] = 0;
	}
	w->air_min[tx][slot] += air_ms;
	w->pkts[tx][type]++;
	w->bytes[tx] += len;
	struct chan_rec *c = &w->recent[w->recent_next];
	*c = (struct chan_rec){.ms = now,
	                       .air_ms = air_ms,
	                       .rssi = (int16_t)rssi,
	                       .snr_x4 = (int16_t)snr_x4,
	                       .tx = tx,
	                       .type = (uint8_t)type,
	                       .len = (uint8_t)(len > 255 ? 255 : len)};
	w->recent_next = (w->recent_next + 1) % RECENT_MAX;
	if (w->recent_n < RECENT_MAX)
		w->recent_n++;
}

/* ---- pages and the API ---- */

static void send_asset(struct web *w, struct evhttp_request *req, const unsigned char *p,
                       unsigned n, const char *type)
{
	struct wout o = {.p = (char *)p, .len = n, .cap = n};
	(void)w;
	send_buf(req, 200, "OK", type, &o);
}

static void api_rooms(struct web *w, struct evhttp_request *req)
{
	struct wout o;
	wout_init(&o);
	wout_puts(&o, "{\"rooms\":[");
	int n = w->h.n_rooms(w->h.ctx);
	for (int i = 0; i < n; i++) {
		struct room *r = w->h.room(w->h.ctx, i);
		uint32_t posts = 0;
		char key[65];
		store_post_count(w->h.store, r->store_id, &posts);
		key_hex(key, r->ep.id.pub, 32);
		wout_printf(&o, "%s{\"index\":%d,\"id\":%u,\"name\":", i ? "," : "", i,
		            r->store_id);
		web_json_c(&o, r->set.name);
		wout_printf(&o, ",\"key\":\"%s\",\"posts\":%u,\"members\":%zu,\"clock\":%u}", key,
		            posts, r->n_members, room_rtc(r));
	}
	wout_puts(&o, "]}");
	send_json(req, 200, &o);
	wout_free(&o);
}

struct page_ctx {
	struct wout *o;
	struct room *r;
	unsigned n;
	int64_t last;
};

static int page_one(void *ctx, const struct store_post *p)
{
	struct page_ctx *pc = ctx;
	if (pc->n++)
		wout_put(pc->o, ",", 1);
	post_json(pc->o, pc->r, p);
	pc->last = p->id;
	return 0;
}

static void api_posts(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	uint64_t before = INT64_MAX, limit = 50;
	char find[ROOM_POST_MAX * 4 + 1] = "";
	int rc = room_arg(w, q, qlen, &idx);
	if (rc) {
		send_error(w, req, rc == ERR_NOT_FOUND ? 404 : 400, "no such room");
		return;
	}
	if ((rc = web_form_u64(q, qlen, "before", &before)) == ERR_INVAL ||
	    (rc = web_form_u64(q, qlen, "limit", &limit)) == ERR_INVAL || limit == 0 ||
	    limit > PAGE_MAX || before > INT64_MAX) {
		send_error(w, req, 400, "before: a post id; limit: 1-200");
		return;
	}
	rc = web_form_get(q, qlen, "q", find, sizeof(find));
	if (rc != ERR_OK && rc != ERR_NOT_FOUND) {
		send_error(w, req, 400, "q: text to find, at most 600 bytes");
		return;
	}
	if (rc == ERR_NOT_FOUND)
		find[0] = 0;
	struct room *r = w->h.room(w->h.ctx, idx);
	struct wout o;
	wout_init(&o);
	struct page_ctx pc = {&o, r, 0, 0};
	wout_printf(&o, "{\"room\":%d,\"posts\":[", idx);
	if (store_post_page(w->h.store, r->store_id, (int64_t)before, find, (uint32_t)limit,
	                    page_one, &pc) < 0) {
		wout_free(&o);
		send_error(w, req, 500, "store error");
		return;
	}
	wout_puts(&o, "],\"next\":");
	if (pc.n == limit)
		wout_printf(&o, "%lld", (long long)pc.last);
	else
		wout_puts(&o, "null");
	wout_puts(&o, "}");
	send_json(req, 200, &o);
	wout_free(&o);
}

static const char *role_name(uint8_t perms)
{
	switch (perms & 3) {
	case ROLE_ADMIN: return "admin";
	case ROLE_READ_WRITE: return "read-write";
	case ROLE_READ_ONLY: return "read-only";
	default: return "guest";
	}
}

static const char *push_state(const struct room *r, const struct room_member *m)
{
	if (m->pending)
		return "in flight";
	if (room_member_given_up(m))
		return "given up";
	if (m->caught_up == r->post_gen)
		return "caught up";
	if (m->next_push_ms > r->mesh->now_ms)
		return "paused";
	return "waiting";
}

static void api_members(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	int rc = room_arg(w, q, qlen, &idx);
	if (rc) {
		send_error(w, req, rc == ERR_NOT_FOUND ? 404 : 400, "no such room");
		return;
	}
	struct room *r = w->h.room(w->h.ctx, idx);
	struct wout o;
	wout_init(&o);
	wout_printf(&o, "{\"room\":%d,\"clock\":%u,\"members\":[", idx, room_rtc(r));
	for (size_t i = 0; i < r->n_members; i++) {
		const struct room_member *m = &r->members[i];
		char key[65];
		uint32_t waiting = 0;
		key_hex(key, m->pub, 32);
		store_post_count_since(w->h.store, r->store_id, m->pub, m->sync_since, UINT32_MAX,
		                       1000, &waiting);
		wout_printf(&o, "%s{\"key\":\"%s\",\"name\":", i ? "," : "", key);
		web_json_c(&o, m->name);
		wout_printf(&o,
		            ",\"role\":\"%s\",\"last_heard\":%u,\"sync_since\":%u,"
		            "\"waiting\":%u,\"push\":\"%s\",\"hops\":",
		            role_name(m->perms),
		            m->last_activity ? m->last_activity : m->stored_activity, m->sync_since,
		            waiting, push_state(r, m));
		if (m->out_path_len == MESH_NO_PATH)
			wout_puts(&o, "null");
		else
			wout_printf(&o, "%u", m->out_path_len & 63);
		wout_puts(&o, "}");
	}
	wout_puts(&o, "]}");
	send_json(req, 200, &o);
	wout_free(&o);
}

/* Counters of one room (name, help, value), for /metrics and the API. */
#define ROOM_STAT(X)                                                                               \
	X(logins_ok, "logins accepted")                                                            \
	X(logins_bad, "logins refused (wrong password)")                                           \
	X(logins_replayed, "logins dropped as replays")                                            \
	X(logins_banned, "logins of banned keys")                                                  \
	X(logins_limited, "logins dropped unread (rate limit)")                                    \
	X(logins_full, "logins refused: every password member active")                             \
	X(posts_stored, "posts stored")                                                            \
	X(posts_retried, "post retries answered from the store")                                   \
	X(posts_refused, "posts refused")                                                          \
	X(pushes, "posts pushed to members")                                                       \
	X(push_acks, "pushes acknowledged")                                                        \
	X(push_timeouts, "pushes not acknowledged in time")                                        \
	X(push_acks_forged, "ACKs ignored (sooner than radio allows)")                             \
	X(push_rounds, "push rounds given up")                                                     \
	X(replays, "packets refused as replays")                                                   \
	X(cli_cmds, "admin commands over the air")                                                 \
	X(requests, "requests answered")                                                           \
	X(store_errors, "store errors")                                                            \
	X(replies_limited, "flood replies not sent (rate limit)")                                  \
	X(ts_clamped, "replay marks clamped")                                                      \
	X(malformed, "decrypted packets unusable")

#define MESH_STAT(X)                                                                               \
	X(recv, "frames received")                                                                 \
	X(sent, "frames sent")                                                                     \
	X(flood_tx, "flood packets sent")                                                          \
	X(direct_tx, "direct packets sent")                                                        \
	X(flood_rx, "flood packets received")                                                      \
	X(direct_rx, "direct packets received")                                                    \
	X(dup_flood, "duplicate floods dropped")                                                   \
	X(dup_direct, "duplicate direct packets dropped")                                          \
	X(forwarded, "packets forwarded")                                                          \
	X(tx_failed, "transmissions failed")                                                       \
	X(queue_full, "packets dropped: queue full")                                               \
	X(bad_payload, "payloads under the minimum")                                               \
	X(bad_mac, "packets no key decrypted")                                                     \
	X(bad_advert, "adverts with a bad signature")                                              \
	X(not_for_us, "packets for others")

static void stats_json(struct web *w, struct wout *o)
{
	const struct mesh_stats *ms = &w->h.mesh->stats;
	uint64_t now = now_ms(w);
	wout_puts(o, "{\"mesh\":{");
#define J(f, help_) wout_printf(o, "\"" #f "\":%llu,", (unsigned long long)ms->f);
	MESH_STAT(J)
#undef J
	wout_printf(o,
	            "\"tx_air_ms\":%llu,\"rx_air_ms\":%llu,\"queue\":%u,\"last_snr\":%.2f,"
	            "\"last_rssi\":%d},",
	            (unsigned long long)ms->tx_air_ms, (unsigned long long)ms->rx_air_ms,
	            mesh_queue_len(w->h.mesh), ms->last_snr_x4 / 4.0, ms->last_rssi);
	struct web_counter rc[48];
	int n = w->h.radio_counters(w->h.ctx, rc, 48);
	wout_puts(o, "\"radio\":{");
	for (int i = 0; i < n; i++)
		wout_printf(o, "%s\"%s\":%.17g", i ? "," : "", rc[i].name, rc[i].value);
	char rs[160];
	w->h.radio_settings(w->h.ctx, rs, sizeof(rs));
	wout_puts(o, "},\"radio_settings\":");
	web_json_c(o, rs);
	wout_puts(o, ",\"packets\":{\"in\":{");
	for (int d = 0; d < 2; d++) {
		if (d)
			wout_puts(o, "},\"out\":{");
		bool first = true;
		for (unsigned t = 0; t < 16; t++) {
			if (!w->pkts[d][t])
				continue;
			wout_printf(o, "%s\"%s\":%llu", first ? "" : ",", pkt_type_name(t),
			            (unsigned long long)w->pkts[d][t]);
			first = false;
		}
	}
	/* airtime per minute, oldest first, the current minute last */
	uint64_t minute = now / 60000;
	wout_puts(o, "}},\"airtime_per_minute\":{\"tx\":[");
	for (int d = 0; d < 2; d++) {
		if (d)
			wout_puts(o, "],\"rx\":[");
		for (int k = MINUTES - 1; k >= 0; k--) {
			uint64_t m = minute - (uint64_t)k;
			unsigned slot = (unsigned)(m % MINUTES);
			wout_printf(o, "%s%llu", k == MINUTES - 1 ? "" : ",",
			            (unsigned long long)(w->air_min_no[slot] == m
			                                     ? w->air_min[d][slot]
			                                     : 0));
		}
	}
	unsigned slot = (unsigned)(minute % MINUTES);
	double elapsed = (double)(now % 60000) + 1;
	double duty =
	    w->air_min_no[slot] == minute ? 100.0 * (double)w->air_min[1][slot] / elapsed : 0;
	wout_printf(o, "]},\"duty_cycle_percent\":%.3f,\"recent\":[", duty);
	for (unsigned i = 0; i < w->recent_n; i++) {
		unsigned k = (w->recent_next + RECENT_MAX - w->recent_n + i) % RECENT_MAX;
		const struct chan_rec *c = &w->recent[k];
		wout_printf(o,
		            "%s{\"ago_ms\":%llu,\"dir\":\"%s\",\"type\":\"%s\",\"len\":%u,"
		            "\"air_ms\":%u",
		            i ? "," : "", (unsigned long long)(now - c->ms), c->tx ? "out" : "in",
		            pkt_type_name(c->type), c->len, c->air_ms);
		if (!c->tx)
			wout_printf(o, ",\"snr\":%.2f,\"rssi\":%d", c->snr_x4 / 4.0, c->rssi);
		wout_puts(o, "}");
	}
	wout_printf(o,
	            "],\"web\":{\"requests\":%llu,\"bad_requests\":%llu,\"live_pages\":%u},"
	            "\"rooms\":[",
	            (unsigned long long)w->st.requests,
	            (unsigned long long)(w->st.bad_requests + w->st.not_found + w->st.forbidden +
	                                 w->st.too_big),
	            w->n_sse);
	int nr = w->h.n_rooms(w->h.ctx);
	for (int i = 0; i < nr; i++) {
		struct room *r = w->h.room(w->h.ctx, i);
		wout_printf(o, "%s{\"index\":%d,\"name\":", i ? "," : "", i);
		web_json_c(o, r->set.name);
#define J(f, help_) wout_printf(o, ",\"" #f "\":%u", r->stats.f);
		ROOM_STAT(J)
#undef J
		wout_puts(o, "}");
	}
	wout_puts(o, "]}");
}

static void api_stats(struct web *w, struct evhttp_request *req)
{
	struct wout o;
	wout_init(&o);
	stats_json(w, &o);
	send_json(req, 200, &o);
	wout_free(&o);
}

static void metrics(struct web *w, struct evhttp_request *req)
{
	struct wout o;
	wout_init(&o);
	const struct mesh_stats *ms = &w->h.mesh->stats;
	int nr = w->h.n_rooms(w->h.ctx);
	char idx[12];
#define M(f, help_)                                                                                \
	web_metric_head(&o, "roomd_room_" #f "_total", WEB_COUNTER, help_);                        \
	for (int i = 0; i < nr; i++) {                                                             \
		struct room *r = w->h.room(w->h.ctx, i);                                           \
		snprintf(idx, sizeof(idx), "%d", i);                                               \
		web_metric_sample(&o, "roomd_room_" #f "_total", "room", idx, "name", r->set.name, \
		                  r->stats.f);                                                     \
	}
	ROOM_STAT(M)
#undef M
	web_metric_head(&o, "roomd_room_members", WEB_GAUGE, "members in the table");
	for (int i = 0; i < nr; i++) {
		struct room *r = w->h.room(w->h.ctx, i);
		snprintf(idx, sizeof(idx), "%d", i);
		web_metric_sample(&o, "roomd_room_members", "room", idx, "name", r->set.name,
		                  (double)r->n_members);
	}
	web_metric_head(&o, "roomd_room_posts", WEB_GAUGE, "posts stored in the room");
	for (int i = 0; i < nr; i++) {
		struct room *r = w->h.room(w->h.ctx, i);
		uint32_t posts = 0;
		store_post_count(w->h.store, r->store_id, &posts);
		snprintf(idx, sizeof(idx), "%d", i);
		web_metric_sample(&o, "roomd_room_posts", "room", idx, "name", r->set.name, posts);
	}
#define M(f, help_)                                                                                \
	web_metric_head(&o, "roomd_mesh_" #f "_total", WEB_COUNTER, help_);                        \
	web_metric_sample(&o, "roomd_mesh_" #f "_total", NULL, NULL, NULL, NULL, (double)ms->f);
	MESH_STAT(M)
#undef M
	web_metric_head(&o, "roomd_mesh_tx_air_seconds_total", WEB_COUNTER, "airtime transmitting");
	web_metric_sample(&o, "roomd_mesh_tx_air_seconds_total", NULL, NULL, NULL, NULL,
	                  (double)ms->tx_air_ms / 1000.0);
	web_metric_head(&o, "roomd_mesh_rx_air_seconds_total", WEB_COUNTER, "airtime receiving");
	web_metric_sample(&o, "roomd_mesh_rx_air_seconds_total", NULL, NULL, NULL, NULL,
	                  (double)ms->rx_air_ms / 1000.0);
	web_metric_head(&o, "roomd_mesh_queue", WEB_GAUGE, "packets queued to transmit");
	web_metric_sample(&o, "roomd_mesh_queue", NULL, NULL, NULL, NULL,
	                  mesh_queue_len(w->h.mesh));
	web_metric_head(&o, "roomd_mesh_last_snr_db", WEB_GAUGE, "SNR of the last packet heard");
	web_metric_sample(&o, "roomd_mesh_last_snr_db", NULL, NULL, NULL, NULL,
	                  ms->last_snr_x4 / 4.0);
	web_metric_head(&o, "roomd_mesh_last_rssi_dbm", WEB_GAUGE, "RSSI of the last packet heard");
	web_metric_sample(&o, "roomd_mesh_last_rssi_dbm", NULL, NULL, NULL, NULL, ms->last_rssi);
	web_metric_head(&o, "roomd_packets_total", WEB_COUNTER, "packets by type and direction");
	for (int d = 0; d < 2; d++)
		for (unsigned t = 0; t < 16; t++)
			if (w->pkts[d][t])
				web_metric_sample(&o, "roomd_packets_total", "dir",
				                  d ? "out" : "in", "type", pkt_type_name(t),
				                  (double)w->pkts[d][t]);
	struct web_counter rc[48];
	int n = w->h.radio_counters(w->h.ctx, rc, 48);
	for (int i = 0; i < n; i++) {
		char name[96];
		snprintf(name, sizeof(name), "roomd_radio_%s%s", rc[i].name,
		         rc[i].type == WEB_COUNTER ? "_total" : "");
		if (!web_metric_name_ok(name))
			continue;
		web_metric_head(&o, name, rc[i].type, rc[i].help);
		web_metric_sample(&o, name, NULL, NULL, NULL, NULL, rc[i].value);
	}
	n = w->h.fed_counters ? w->h.fed_counters(w->h.ctx, rc, 48) : 0;
	for (int i = 0; i < n; i++) {
		char name[96];
		snprintf(name, sizeof(name), "roomd_fed_%s%s", rc[i].name,
			 rc[i].type == WEB_COUNTER ? "_total" : "");
		if (!web_metric_name_ok(name))
			continue;
		web_metric_head(&o, name, rc[i].type, rc[i].help);
		web_metric_sample(&o, name, NULL, NULL, NULL, NULL, rc[i].value);
	}
	struct {
		const char *name, *help;
		uint64_t v;
	} ws[] = {
	    {"roomd_web_requests_total", "HTTP requests", w->st.requests},
	    {"roomd_web_bad_requests_total", "HTTP requests refused with 400", w->st.bad_requests},
	    {"roomd_web_not_found_total", "HTTP requests answered 404", w->st.not_found},
	    {"roomd_web_forbidden_total", "HTTP requests refused with 401 or 403", w->st.forbidden},
	    {"roomd_web_too_big_total", "HTTP requests refused with 413", w->st.too_big},
	    {"roomd_web_live_updates_total", "posts pushed to live pages", w->st.sse_pushed},
	    {"roomd_web_live_refused_total", "live pages refused (too many)", w->st.sse_refused},
	    {"roomd_web_live_dropped_total", "live pages dropped: they did not read",
	     w->st.sse_dropped},
	    {"roomd_web_logins_ok_total", "admin logins on the page", w->st.logins_ok},
	    {"roomd_web_logins_bad_total", "admin logins refused on the page", w->st.logins_bad},
	    {"roomd_web_logins_limited_total", "admin logins refused by the rate limit",
	     w->st.logins_limited},
	    {"roomd_web_admin_writes_total", "admin writes from the page", w->st.admin_writes},
	};
	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		web_metric_head(&o, ws[i].name, WEB_COUNTER, ws[i].help);
		web_metric_sample(&o, ws[i].name, NULL, NULL, NULL, NULL, (double)ws[i].v);
	}
	web_metric_head(&o, "roomd_web_live_pages", WEB_GAUGE, "live pages open");
	web_metric_sample(&o, "roomd_web_live_pages", NULL, NULL, NULL, NULL, w->n_sse);
	send_buf(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", &o);
	wout_free(&o);
}

static bool secret_key(const char *key)
{
	return strstr(key, "password") != NULL || strcmp(key, "prv.key") == 0;
}

static void setting_json(struct web *w, struct wout *o, int idx, const struct setting_def *d,
                         bool first, bool node)
{
	char line[96], reply[1024], range[128];
	wout_printf(o, "%s{\"key\":", first ? "" : ",");
	web_json_c(o, d->key);
	wout_printf(o, ",\"scope\":\"%s\",\"help\":", node ? "node" : "room");
	web_json_c(o, d->help ? d->help : "");
	setting_range_text(d, range, sizeof(range));
	wout_puts(o, ",\"range\":");
	web_json_c(o, range);
	wout_puts(o, ",\"value\":");
	if (secret_key(d->key)) {
		wout_puts(o, "null,\"secret\":true}");
		return;
	}
	snprintf(line, sizeof(line), "get %s", d->key);
	reply[0] = 0;
	w->h.command(w->h.ctx, idx, line, reply, sizeof(reply));
	const char *v = strncmp(reply, "> ", 2) == 0 ? reply + 2 : reply;
	web_json_c(o, v);
	wout_puts(o, "}");
}

static void api_settings(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	int rc = room_arg(w, q, qlen, &idx);
	if (rc) {
		send_error(w, req, rc == ERR_NOT_FOUND ? 404 : 400, "no such room");
		return;
	}
	struct wout o;
	wout_init(&o);
	wout_printf(&o, "{\"room\":%d,\"settings\":[", idx);
	for (size_t i = 0; i < room_setting_count; i++)
		setting_json(w, &o, idx, &room_setting_defs[i], i == 0, false);
	for (size_t i = 0; i < node_setting_count; i++)
		setting_json(w, &o, idx, &node_setting_defs[i], false, true);
	wout_puts(&o, "]}");
	send_json(req, 200, &o);
	wout_free(&o);
}

static void api_session(struct web *w, struct evhttp_request *req)
{
	struct session *s = session_of(w, req);
	struct wout o;
	wout_init(&o);
	int idx = -1;
	if (s && !room_by_id(w, s->room_id, &idx))
		s = NULL;
	if (s)
		wout_printf(&o, "{\"admin\":true,\"room\":%d,\"csrf\":\"%s\",\"data_dir\":", idx,
		            s->csrf);
	else
		wout_puts(&o, "{\"admin\":false,\"data_dir\":");
	web_json_c(&o, s ? w->h.data_dir : "");
	wout_puts(&o, "}");
	send_json(req, 200, &o);
	wout_free(&o);
}

static void api_login(struct web *w, struct evhttp_request *req, const char *body, size_t blen)
{
	int idx;
	char pw[64];
	uint8_t key[32];
	uint64_t now = now_ms(w);
	if (room_arg(w, body, blen, &idx) != ERR_OK) {
		send_error(w, req, 404, "no such room");
		return;
	}
	int rc = web_form_get(body, blen, "password", pw, sizeof(pw));
	if (rc == ERR_TOO_BIG)
		snprintf(pw, sizeof(pw), "%s", "-"); /* longer than any password: wrong */
	else if (rc) {
		send_error(w, req, 400, "password is missing");
		return;
	}
	client_key(req, key);
	if (!guard_login_ok(&w->guard, key, now) || !guard_strangers_ok(&w->guard, now)) {
		w->st.logins_limited++;
		log_debug(SUB, "admin login refused: too many failed logins (rate limit)");
		send_error(w, req, 429, "too many failed logins; wait and try again");
		return;
	}
	struct room *r = w->h.room(w->h.ctx, idx);
	if (guard_password(pw, strlen(pw), r->set.admin_password, r->set.guest_password) !=
	    GUARD_PW_ADMIN) {
		unsigned dry = guard_login_failed(&w->guard, key, false, now);
		w->st.logins_bad++;
		log_info(SUB, "admin login to room %d refused: wrong password", idx);
		if (dry)
			log_warn(SUB,
			         "too many failed admin logins%s: further tries wait (the radio's "
			         "login limits)",
			         (dry & 2) ? " from all addresses" : " from one address");
		send_error(w, req, 403, "wrong password");
		return;
	}
	struct session *s = session_new(w, r->store_id);
	w->st.logins_ok++;
	log_info(SUB, "admin login to room %d '%s'", idx, r->set.name);
	char cookie[128];
	snprintf(cookie, sizeof(cookie), "roomd_session=%s; Path=/; HttpOnly; SameSite=Strict",
	         s->id);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", cookie);
	struct wout o;
	wout_init(&o);
	wout_printf(&o, "{\"admin\":true,\"room\":%d,\"csrf\":\"%s\"}", idx, s->csrf);
	send_json(req, 200, &o);
	wout_free(&o);
}

/* Runs one admin command and answers {"ok":..., "reply":...}. */
static void admin_run(struct web *w, struct evhttp_request *req, int idx, const char *line)
{
	char reply[8192];
	reply[0] = 0;
	for (const char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20) {
			send_error(w, req, 400, "a value must be one line");
			return;
		}
	int rc = w->h.command(w->h.ctx, idx, line, reply, sizeof(reply));
	w->st.admin_writes++;
	log_info(SUB, "admin command on room %d: %.*s", idx, (int)strcspn(line, " "), line);
	struct wout o;
	wout_init(&o);
	wout_printf(&o, "{\"ok\":%s,\"reply\":", rc == ERR_OK ? "true" : "false");
	web_json_c(&o, reply);
	wout_puts(&o, "}");
	send_json(req, rc == ERR_OK ? 200 : 400, &o);
	wout_free(&o);
}

static void api_admin(struct web *w, struct evhttp_request *req, const char *what, const char *body,
                      size_t blen, bool post)
{
	struct session *s = admin_check(w, req, body, blen);
	if (!s)
		return;
	int idx;
	if (!room_by_id(w, s->room_id, &idx)) {
		send_error(w, req, 401, "the room of this session is gone; log in again");
		return;
	}
	if (!post && strcmp(what, "bans") != 0) {
		send_error(w, req, 405, "use POST");
		return;
	}
	char a[512], b[512], line[1200];
	if (strcmp(what, "logout") == 0) {
		memset(s, 0, sizeof(*s));
		evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
		                  "roomd_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
		struct wout o;
		wout_init(&o);
		wout_puts(&o, "{\"ok\":true}");
		send_json(req, 200, &o);
		wout_free(&o);
		return;
	}
	if (strcmp(what, "bans") == 0) {
		admin_run(w, req, idx, "bans");
		return;
	}
	if (strcmp(what, "set") == 0 && web_form_get(body, blen, "key", a, sizeof(a)) == ERR_OK &&
	    web_form_get(body, blen, "value", b, sizeof(b)) == ERR_OK) {
		if (!setting_lookup(a)) {
			send_error(w, req, 400, "no such setting");
			return;
		}
		snprintf(line, sizeof(line), "set %s %s", a, b);
		admin_run(w, req, idx, line);
		return;
	}
	uint64_t id;
	if (strcmp(what, "post-delete") == 0 && web_form_u64(body, blen, "id", &id) == ERR_OK) {
		snprintf(line, sizeof(line), "post.delete %llu", (unsigned long long)id);
		admin_run(w, req, idx, line);
		return;
	}
	if (strcmp(what, "ban") == 0 && web_form_get(body, blen, "key", a, sizeof(a)) == ERR_OK) {
		if (web_form_get(body, blen, "reason", b, sizeof(b)) != ERR_OK)
			b[0] = 0;
		snprintf(line, sizeof(line), "ban %s%s%s", a, b[0] ? " " : "", b);
		admin_run(w, req, idx, line);
		return;
	}
	if (strcmp(what, "unban") == 0 && web_form_get(body, blen, "key", a, sizeof(a)) == ERR_OK) {
		snprintf(line, sizeof(line), "unban %s", a);
		admin_run(w, req, idx, line);
		return;
	}
	if (strcmp(what, "room-add") == 0 &&
	    web_form_get(body, blen, "name", a, sizeof(a)) == ERR_OK) {
		snprintf(line, sizeof(line), "room.add %s", a);
		admin_run(w, req, idx, line);
		return;
	}
	if (strcmp(what, "backup") == 0 &&
	    web_form_get(body, blen, "path", a, sizeof(a)) == ERR_OK) {
		snprintf(line, sizeof(line), "backup %s", a);
		admin_run(w, req, idx, line);
		return;
	}
	send_error(w, req, strstr("set post-delete ban unban room-add backup", what) ? 400 : 404,
	           "unknown admin action or a field missing (see docs/api.md)");
}

static bool path_is(const char *path, const char *want)
{
	return strcmp(path, want) == 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct web *w = arg;
	w->st.requests++;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool post = cmd == EVHTTP_REQ_POST;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD && !post) {
		send_error(w, req, 405, "GET or POST only");
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	size_t qlen = q ? strlen(q) : 0;
	if (!path || !*path) {
		send_error(w, req, 400, "bad request line");
		return;
	}
	if (qlen > 4096) {
		send_error(w, req, 400, "query too long");
		return;
	}
	size_t blen = 0;
	char *body = NULL;
	if (post) {
		body = body_of(req, &blen);
		if (!body) {
			send_error(w, req, 413, "request body too large");
			return;
		}
		const char *ct =
		    evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
		if (blen && (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0)) {
			free(body);
			send_error(w, req, 400,
			           "the body must be application/x-www-form-urlencoded");
			return;
		}
	}
	if (!post && (path_is(path, "/") || path_is(path, "/board") || path_is(path, "/members") ||
	              path_is(path, "/channel") || path_is(path, "/admin")))
		send_asset(w, req, web_index_html, web_index_html_len, "text/html; charset=utf-8");
	else if (!post && path_is(path, "/static/app.js"))
		send_asset(w, req, web_app_js, web_app_js_len, "text/javascript; charset=utf-8");
	else if (!post && path_is(path, "/static/style.css"))
		send_asset(w, req, web_style_css, web_style_css_len, "text/css; charset=utf-8");
	else if (!post && path_is(path, "/metrics"))
		metrics(w, req);
	else if (!post && path_is(path, "/api/v1/rooms"))
		api_rooms(w, req);
	else if (!post && path_is(path, "/api/v1/posts"))
		api_posts(w, req, q, qlen);
	else if (!post && path_is(path, "/api/v1/members"))
		api_members(w, req, q, qlen);
	else if (!post && path_is(path, "/api/v1/stats"))
		api_stats(w, req);
	else if (!post && path_is(path, "/api/v1/settings"))
		api_settings(w, req, q, qlen);
	else if (cmd == EVHTTP_REQ_GET && path_is(path, "/api/v1/events"))
		api_events(w, req, q, qlen);
	else if (!post && path_is(path, "/api/v1/session"))
		api_session(w, req);
	else if (post && path_is(path, "/api/v1/login"))
		api_login(w, req, body, blen);
	else if (strncmp(path, "/api/v1/admin/", 14) == 0)
		api_admin(w, req, path + 14, post ? body : q, post ? blen : qlen, post);
	else if (post)
		send_error(w, req, 405, "not a POST resource");
	else
		send_error(w, req, 404, "not found");
	free(body);
}

/* ---- open and close ---- */

int web_parse_listen(const char *spec, char *addr, size_t cap, unsigned *port)
{
	if (!spec || strcmp(spec, "off") == 0)
		return ERR_NOT_FOUND;
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec)
		return ERR_INVAL;
	const char *a = spec;
	size_t alen = (size_t)(colon - spec);
	if (a[0] == '[') {
		if (alen < 3 || a[alen - 1] != ']')
			return ERR_INVAL;
		a++;
		alen -= 2;
	}
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p > 65535 || alen + 1 > cap)
		return ERR_INVAL;
	memcpy(addr, a, alen);
	addr[alen] = 0;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, addr, &a4) != 1 && inet_pton(AF_INET6, addr, &a6) != 1)
		return ERR_INVAL;
	*port = (unsigned)p;
	return ERR_OK;
}

static bool loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

int web_open(struct web **out, struct event_base *base, const char *spec,
             const struct web_host *host)
{
	char addr[64];
	unsigned port;
	int rc = web_parse_listen(spec, addr, sizeof(addr), &port);
	if (rc)
		return rc;
	struct web *w = calloc(1, sizeof(*w));
	if (!w)
		return ERR_NOMEM;
	w->base = base;
	w->h = *host;
	guard_init(&w->guard, now_ms(w));
	w->http = evhttp_new(base);
	if (!w->http) {
		free(w);
		return ERR_NOMEM;
	}
	evhttp_set_max_headers_size(w->http, WEB_HEADERS_MAX);
	evhttp_set_max_body_size(w->http, WEB_BODY_MAX);
	evhttp_set_timeout(w->http, 30);
	evhttp_set_gencb(w->http, on_request, w);
	w->sock = evhttp_bind_socket_with_handle(w->http, addr, (uint16_t)port);
	if (!w->sock) {
		log_err(SUB, "cannot listen on %s", spec);
		evhttp_free(w->http);
		free(w);
		return ERR_SYS;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(w->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		w->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
		                                        : ((struct sockaddr_in6 *)&ss)->sin6_port);
	w->ev_keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, w);
	struct timeval tv = {SSE_KEEPALIVE_S, 0};
	if (w->ev_keepalive)
		event_add(w->ev_keepalive, &tv);
	if (!loopback(addr))
		log_warn(SUB,
		         "the web page listens on %s, not on loopback: anyone who can reach it "
		         "reads the board (admin needs the password)",
		         spec);
	log_info(SUB, "web page on http://%s%s%s:%u/", strchr(addr, ':') ? "[" : "", addr,
	         strchr(addr, ':') ? "]" : "", w->port);
	*out = w;
	return ERR_OK;
}

unsigned web_port(const struct web *w)
{
	return w ? w->port : 0;
}

void web_close(struct web *w)
{
	if (!w)
		return;
	if (w->ev_keepalive)
		event_free(w->ev_keepalive);
	for (int k = 0; k < WEB_SSE_MAX; k++)
		if (w->sse[k].used) {
			evhttp_connection_set_closecb(evhttp_request_get_connection(w->sse[k].req),
			                              NULL, NULL);
			evhttp_send_reply_end(w->sse[k].req);
			sse_close(&w->sse[k]);
		}
	evhttp_free(w->http);
	memset(w->sess, 0, sizeof(w->sess));
	free(w);
}
