/*
 * web_int.h - what the files of the web page share: web.c (routes, sessions,
 * admin, open/close), web_live.c (live posts, the channel recorder) and
 * web_read.c (the pages, the read-only API, /metrics).  Not for other modules.
 */
#ifndef ROOMD_WEB_WEB_INT_H
#define ROOMD_WEB_WEB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "room/guard.h"
#include "web/web.h"

struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;
struct event;
struct room;
struct store_post;

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

void web_send_buf(struct evhttp_request *req, int code, const char *reason, const char *type,
                  struct wout *o);
void web_send_json(struct evhttp_request *req, int code, struct wout *o);
/* {"error": what} with a 4xx/5xx code, counted. */
void web_send_error(struct web *w, struct evhttp_request *req, int code, const char *what);
uint64_t web_now(struct web *w);
/* A room index from the form/query (default 0) checked against the rooms. */
int web_room_arg(struct web *w, const char *q, size_t qlen, int *idx);
void web_key_hex(char *out, const uint8_t *pub, size_t n);
void web_post_json(struct wout *o, struct room *r, const struct store_post *p);
struct room *web_room_by_id(struct web *w, uint32_t id, int *idx);

/* web_live.c: the live board (Server-Sent Events) */
void web_sse_close(struct sse *c);
void web_on_keepalive(evutil_socket_t fd, short what, void *arg);
void web_api_events(struct web *w, struct evhttp_request *req, const char *q, size_t qlen);

/* web_read.c: the pages and the read-only API */
/* Serves the page, its script or its style if path names one (the files of
 * src/web/static, compiled in); false otherwise. */
bool web_static(struct web *w, struct evhttp_request *req, const char *path);
void web_api_rooms(struct web *w, struct evhttp_request *req);
void web_api_posts(struct web *w, struct evhttp_request *req, const char *q, size_t qlen);
void web_api_members(struct web *w, struct evhttp_request *req, const char *q, size_t qlen);
void web_api_stats(struct web *w, struct evhttp_request *req);
void web_metrics(struct web *w, struct evhttp_request *req);
void web_api_settings(struct web *w, struct evhttp_request *req, const char *q, size_t qlen);

#endif
