/*
 * web.c - roomd's web page on evhttp (web.h): the routes, the helpers the
 * other files share (web_int.h), sessions, the admin writes, open and close.
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

/* ---- helpers ---- */

void web_send_buf(struct evhttp_request *req, int code, const char *reason, const char *type,
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

void web_send_json(struct evhttp_request *req, int code, struct wout *o)
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
	web_send_buf(req, code, reason, "application/json; charset=utf-8", o);
}

/* {"error": what} with a 4xx/5xx code, counted. */
void web_send_error(struct web *w, struct evhttp_request *req, int code, const char *what)
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
	web_send_json(req, code, &o);
	wout_free(&o);
}

uint64_t web_now(struct web *w)
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
int web_room_arg(struct web *w, const char *q, size_t qlen, int *idx)
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

void web_key_hex(char *out, const uint8_t *pub, size_t n)
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

void web_post_json(struct wout *o, struct room *r, const struct store_post *p)
{
	char key[65];
	web_key_hex(key, p->author, 32);
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
	uint64_t now = web_now(w);
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
	s->created_ms = s->seen_ms = web_now(w);
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
			web_send_error(w, req, 403, "cross-site request refused");
			return NULL;
		}
	} else if (origin) {
		web_send_error(w, req, 403, "cross-site request refused");
		return NULL;
	}
	struct session *s = session_of(w, req);
	if (!s) {
		web_send_error(w, req, 401, "log in first");
		return NULL;
	}
	char tok[WEB_TOKEN_LEN + 8] = "";
	const char *hdr = evhttp_find_header(ih, "X-CSRF-Token");
	if (hdr)
		snprintf(tok, sizeof(tok), "%s", hdr);
	else if (web_form_get(form, flen, "csrf", tok, sizeof(tok)) != ERR_OK)
		tok[0] = 0;
	if (!web_token_eq(tok, s->csrf)) {
		web_send_error(w, req, 403, "missing or wrong CSRF token");
		return NULL;
	}
	return s;
}

static void api_session(struct web *w, struct evhttp_request *req)
{
	struct session *s = session_of(w, req);
	struct wout o;
	wout_init(&o);
	int idx = -1;
	if (s && !web_room_by_id(w, s->room_id, &idx))
		s = NULL;
	if (s)
		wout_printf(&o, "{\"admin\":true,\"room\":%d,\"csrf\":\"%s\",\"data_dir\":", idx,
		            s->csrf);
	else
		wout_puts(&o, "{\"admin\":false,\"data_dir\":");
	web_json_c(&o, s ? w->h.data_dir : "");
	wout_puts(&o, "}");
	web_send_json(req, 200, &o);
	wout_free(&o);
}

static void api_login(struct web *w, struct evhttp_request *req, const char *body, size_t blen)
{
	int idx;
	char pw[64];
	uint8_t key[32];
	uint64_t now = web_now(w);
	if (web_room_arg(w, body, blen, &idx) != ERR_OK) {
		web_send_error(w, req, 404, "no such room");
		return;
	}
	int rc = web_form_get(body, blen, "password", pw, sizeof(pw));
	if (rc == ERR_TOO_BIG)
		snprintf(pw, sizeof(pw), "%s", "-"); /* longer than any password: wrong */
	else if (rc) {
		web_send_error(w, req, 400, "password is missing");
		return;
	}
	client_key(req, key);
	if (!guard_login_ok(&w->guard, key, now) || !guard_strangers_ok(&w->guard, now)) {
		w->st.logins_limited++;
		log_debug(SUB, "admin login refused: too many failed logins (rate limit)");
		web_send_error(w, req, 429, "too many failed logins; wait and try again");
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
		web_send_error(w, req, 403, "wrong password");
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
	web_send_json(req, 200, &o);
	wout_free(&o);
}

/* Runs one admin command and answers {"ok":..., "reply":...}. */
static void admin_run(struct web *w, struct evhttp_request *req, int idx, const char *line)
{
	char reply[8192];
	reply[0] = 0;
	for (const char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20) {
			web_send_error(w, req, 400, "a value must be one line");
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
	web_send_json(req, rc == ERR_OK ? 200 : 400, &o);
	wout_free(&o);
}

static void api_admin(struct web *w, struct evhttp_request *req, const char *what, const char *body,
                      size_t blen, bool post)
{
	struct session *s = admin_check(w, req, body, blen);
	if (!s)
		return;
	int idx;
	if (!web_room_by_id(w, s->room_id, &idx)) {
		web_send_error(w, req, 401, "the room of this session is gone; log in again");
		return;
	}
	if (!post && strcmp(what, "bans") != 0) {
		web_send_error(w, req, 405, "use POST");
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
		web_send_json(req, 200, &o);
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
			web_send_error(w, req, 400, "no such setting");
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
		/* the console's backup writes anywhere roomd may; the page's stays in
		 * the data directory (the page may be reachable from the network) */
		size_t dl = strlen(w->h.data_dir);
		if (strncmp(a, w->h.data_dir, dl) != 0 || a[dl] != '/' || strstr(a, "/..") ||
		    !a[dl + 1]) {
			web_send_error(w, req, 400,
			               "a backup from the page goes into the data directory");
			return;
		}
		snprintf(line, sizeof(line), "backup %s", a);
		admin_run(w, req, idx, line);
		return;
	}
	web_send_error(w, req,
	               strstr("set post-delete ban unban room-add backup", what) ? 400 : 404,
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
		web_send_error(w, req, 405, "GET or POST only");
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	size_t qlen = q ? strlen(q) : 0;
	if (!path || !*path) {
		web_send_error(w, req, 400, "bad request line");
		return;
	}
	if (qlen > 4096) {
		web_send_error(w, req, 400, "query too long");
		return;
	}
	size_t blen = 0;
	char *body = NULL;
	if (post) {
		body = body_of(req, &blen);
		if (!body) {
			web_send_error(w, req, 413, "request body too large");
			return;
		}
		const char *ct =
		    evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
		if (blen && (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0)) {
			free(body);
			web_send_error(w, req, 400,
			               "the body must be application/x-www-form-urlencoded");
			return;
		}
	}
	if (!post && web_static(w, req, path))
		; /* a page, its script or its style */
	else if (!post && path_is(path, "/metrics"))
		web_metrics(w, req);
	else if (!post && path_is(path, "/api/v1/rooms"))
		web_api_rooms(w, req);
	else if (!post && path_is(path, "/api/v1/posts"))
		web_api_posts(w, req, q, qlen);
	else if (!post && path_is(path, "/api/v1/members"))
		web_api_members(w, req, q, qlen);
	else if (!post && path_is(path, "/api/v1/stats"))
		web_api_stats(w, req);
	else if (!post && path_is(path, "/api/v1/settings"))
		web_api_settings(w, req, q, qlen);
	else if (cmd == EVHTTP_REQ_GET && path_is(path, "/api/v1/events"))
		web_api_events(w, req, q, qlen);
	else if (!post && path_is(path, "/api/v1/session"))
		api_session(w, req);
	else if (post && path_is(path, "/api/v1/login"))
		api_login(w, req, body, blen);
	else if (strncmp(path, "/api/v1/admin/", 14) == 0)
		api_admin(w, req, path + 14, post ? body : q, post ? blen : qlen, post);
	else if (post)
		web_send_error(w, req, 405, "not a POST resource");
	else
		web_send_error(w, req, 404, "not found");
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
	guard_init(&w->guard, web_now(w));
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
	w->ev_keepalive = event_new(base, -1, EV_PERSIST, web_on_keepalive, w);
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
			web_sse_close(&w->sse[k]);
		}
	evhttp_free(w->http);
	memset(w->sess, 0, sizeof(w->sess));
	free(w);
}
