/*
 * web_live.c - the live board (Server-Sent Events: web_poll after every event
 * of the loop, Last-Event-ID, the backlog cap) and the channel recorder
 * (web_packet) of the web page.
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
#include "web/web_int.h"

/* ---- the live board ---- */

void web_sse_close(struct sse *c)
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
	web_sse_close(c);
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

struct room *web_room_by_id(struct web *w, uint32_t id, int *idx)
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
	web_post_json(&pc->o, pc->r, p);
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

void web_on_keepalive(evutil_socket_t fd, short what, void *arg)
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

void web_api_events(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	if (web_room_arg(w, q, qlen, &idx) != ERR_OK) {
		web_send_error(w, req, 404, "no such room");
		return;
	}
	if (w->n_sse >= WEB_SSE_MAX) {
		w->st.sse_refused++;
		web_send_error(w, req, 503, "too many live pages open");
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
	uint64_t now = web_now(w);
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
