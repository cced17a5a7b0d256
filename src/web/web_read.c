/*
 * web_read.c - the pages (compiled in) and the read-only API of the web page:
 * rooms, posts, members, stats, settings, and /metrics.
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
#include "web/web_int.h"

/* ---- pages and the API ---- */

static void send_asset(struct evhttp_request *req, const unsigned char *p, unsigned n,
                       const char *type)
{
	struct wout o = {.p = (char *)p, .len = n, .cap = n};
	web_send_buf(req, 200, "OK", type, &o);
}

bool web_static(struct web *w, struct evhttp_request *req, const char *path)
{
	(void)w;
	if (!strcmp(path, "/") || !strcmp(path, "/board") || !strcmp(path, "/members") ||
	    !strcmp(path, "/channel") || !strcmp(path, "/admin"))
		send_asset(req, web_index_html, web_index_html_len, "text/html; charset=utf-8");
	else if (!strcmp(path, "/static/app.js"))
		send_asset(req, web_app_js, web_app_js_len, "text/javascript; charset=utf-8");
	else if (!strcmp(path, "/static/style.css"))
		send_asset(req, web_style_css, web_style_css_len, "text/css; charset=utf-8");
	else if (!strcmp(path, "/favicon.ico"))
		web_send_buf(req, 204, "No Content", "image/x-icon", NULL); /* none: no 404 */
	else
		return false;
	return true;
}

void web_api_rooms(struct web *w, struct evhttp_request *req)
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
		web_key_hex(key, r->ep.id.pub, 32);
		wout_printf(&o, "%s{\"index\":%d,\"id\":%u,\"name\":", i ? "," : "", i,
		            r->store_id);
		web_json_c(&o, r->set.name);
		wout_printf(&o, ",\"key\":\"%s\",\"posts\":%u,\"members\":%zu,\"clock\":%u}", key,
		            posts, r->n_members, room_rtc(r));
	}
	wout_puts(&o, "]}");
	web_send_json(req, 200, &o);
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
	web_post_json(pc->o, pc->r, p);
	pc->last = p->id;
	return 0;
}

void web_api_posts(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	uint64_t before = INT64_MAX, limit = 50;
	char find[ROOM_POST_MAX * 4 + 1] = "";
	int rc = web_room_arg(w, q, qlen, &idx);
	if (rc) {
		web_send_error(w, req, rc == ERR_NOT_FOUND ? 404 : 400, "no such room");
		return;
	}
	if ((rc = web_form_u64(q, qlen, "before", &before)) == ERR_INVAL ||
	    (rc = web_form_u64(q, qlen, "limit", &limit)) == ERR_INVAL || limit == 0 ||
	    limit > PAGE_MAX || before > INT64_MAX) {
		web_send_error(w, req, 400, "before: a post id; limit: 1-200");
		return;
	}
	rc = web_form_get(q, qlen, "q", find, sizeof(find));
	if (rc != ERR_OK && rc != ERR_NOT_FOUND) {
		web_send_error(w, req, 400, "q: text to find, at most 600 bytes");
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
		web_send_error(w, req, 500, "store error");
		return;
	}
	wout_puts(&o, "],\"next\":");
	if (pc.n == limit)
		wout_printf(&o, "%lld", (long long)pc.last);
	else
		wout_puts(&o, "null");
	wout_puts(&o, "}");
	web_send_json(req, 200, &o);
	wout_free(&o);
}

static const char *role_name(uint8_t perms)
{
	switch (acl_role(perms)) {
	case ACL_ROLE_ADMIN: return "admin";
	case ACL_ROLE_READ_WRITE: return "read-write";
	case ACL_ROLE_READ_ONLY: return "read-only";
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

void web_api_members(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	int rc = web_room_arg(w, q, qlen, &idx);
	if (rc) {
		web_send_error(w, req, rc == ERR_NOT_FOUND ? 404 : 400, "no such room");
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
		web_key_hex(key, m->pub, 32);
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
	web_send_json(req, 200, &o);
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
	X(pushes_held_busy, "pushes held: the radio heard the channel busy")                       \
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

/* Airtime per minute (oldest first, the current minute last), this minute's
 * duty cycle and the recent packets, for /api/v1/stats. */
static void stats_channel_json(struct web *w, struct wout *o, uint64_t now)
{
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
}

static void stats_json(struct web *w, struct wout *o)
{
	const struct mesh_stats *ms = &w->h.mesh->stats;
	uint64_t now = web_now(w);
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
	n = w->h.fed_counters ? w->h.fed_counters(w->h.ctx, rc, 48) : 0;
	if (n > 0) { /* the federation (issue 17), when the program has one */
		wout_puts(o, "},\"fed\":{");
		for (int i = 0; i < n; i++)
			wout_printf(o, "%s\"%s\":%.17g", i ? "," : "", rc[i].name, rc[i].value);
	}
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
	stats_channel_json(w, o, now);
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

void web_api_stats(struct web *w, struct evhttp_request *req)
{
	struct wout o;
	wout_init(&o);
	stats_json(w, &o);
	web_send_json(req, 200, &o);
	wout_free(&o);
}

/* Counters a host hook gave (web_counter), as metrics named PREFIX + name. */
static void metrics_counters(struct wout *o, const char *prefix, const struct web_counter *rc,
                             int n)
{
	for (int i = 0; i < n; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s%s%s", prefix, rc[i].name,
		         rc[i].type == WEB_COUNTER ? "_total" : "");
		if (!web_metric_name_ok(name))
			continue;
		web_metric_head(o, name, rc[i].type, rc[i].help);
		web_metric_sample(o, name, NULL, NULL, NULL, NULL, rc[i].value);
	}
}

/* The federation's figures (roomd_fed_*), when the program has them. */
static void metrics_fed(struct web *w, struct wout *o)
{
	struct web_counter rc[48];
	int n = w->h.fed_counters ? w->h.fed_counters(w->h.ctx, rc, 48) : 0;
	metrics_counters(o, "roomd_fed_", rc, n);
}

/* The radio's counters and the web page's own, for /metrics. */
static void metrics_radio_web(struct web *w, struct wout *o)
{
	struct web_counter rc[48];
	metrics_counters(o, "roomd_radio_", rc, w->h.radio_counters(w->h.ctx, rc, 48));
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
		web_metric_head(o, ws[i].name, WEB_COUNTER, ws[i].help);
		web_metric_sample(o, ws[i].name, NULL, NULL, NULL, NULL, (double)ws[i].v);
	}
	web_metric_head(o, "roomd_web_live_pages", WEB_GAUGE, "live pages open");
	web_metric_sample(o, "roomd_web_live_pages", NULL, NULL, NULL, NULL, w->n_sse);
}

void web_metrics(struct web *w, struct evhttp_request *req)
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
	metrics_radio_web(w, &o);
	metrics_fed(w, &o);
	web_send_buf(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", &o);
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
	wout_puts(o, ",\"unit\":");
	web_json_c(o, d->unit ? d->unit : "");
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

void web_api_settings(struct web *w, struct evhttp_request *req, const char *q, size_t qlen)
{
	int idx;
	int rc = web_room_arg(w, q, qlen, &idx);
	if (rc) {
		web_send_error(w, req, rc == ERR_NOT_FOUND ? 404 : 400, "no such room");
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
	web_send_json(req, 200, &o);
	wout_free(&o);
}
