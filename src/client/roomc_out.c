/*
 * roomc_out.c - what roomc shows (see roomc.h): text lines for a person,
 * through the line editor, or one JSON object per line with --json; the
 * table of roomc's events (roomc_events[]) with the text and JSON formatter
 * of each event of the client.  A formatter changes no state: roomc_apply
 * has run before it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/roomc.h"
#include "mesh/mesh.h"
#include "proto/lpp.h"
#include "sys/sys.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/log.h"

/* ---- writing ---- */

void roomc_say(struct roomc *a, const char *fmt, ...)
{
	char buf[ROOMC_OUT_MAX];
	va_list ap;
	if (a->json)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lined_print(&a->ed, buf);
}

void roomc_json_emit(struct roomc *a, struct jsonl_w *w)
{
	if (jsonl_w_end(w) != ERR_OK) {
		log_warn("roomc", "event too long; dropped");
		return;
	}
	FILE *f = a->out ? a->out : stdout;
	fputs(w->buf, f);
	fputc('\n', f);
	fflush(f);
}

void roomc_json_begin(struct roomc *a, struct jsonl_w *w, char *buf, size_t cap,
                      enum roomc_event ev)
{
	jsonl_w_begin(w, buf, cap);
	jsonl_w_cstr(w, "event", roomc_events[ev].name);
	jsonl_w_int(w, "time", client_rtc(a->c, app_now_ms()));
}

const char *roomc_clean(char *buf, size_t cap, const char *s, size_t len)
{
	jsonl_clean_utf8(buf, cap, s, len, true);
	return buf;
}

void roomc_hex8(char out[9], const uint8_t *p)
{
	hex_encode(out, 9, p, 4);
}

const char *roomc_label(const struct client_contact *ct, char *buf, size_t cap)
{
	if (ct->name[0])
		return roomc_clean(buf, cap, ct->name, strlen(ct->name));
	char h[9];
	roomc_hex8(h, ct->pub);
	snprintf(buf, cap, "%s", h);
	return buf;
}

void roomc_json_room(struct jsonl_w *w, const struct client_contact *ct)
{
	char name[CLIENT_NAME_MAX * 3 + 8];
	jsonl_w_cstr(w, "room", roomc_label(ct, name, sizeof(name)));
	jsonl_w_hex(w, "key", ct->pub, CRYPTO_PUB_SIZE);
}

void roomc_error(struct roomc *a, const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->failures++;
	if (a->json) {
		char buf[2048];
		struct jsonl_w w;
		roomc_json_begin(a, &w, buf, sizeof(buf), RCE_ERROR);
		jsonl_w_cstr(&w, "message", msg);
		if (cmd)
			jsonl_w_cstr(&w, "command", cmd);
		roomc_json_emit(a, &w);
	} else {
		roomc_say(a, "! %s", msg);
	}
}

void roomc_json_ok(struct roomc *a, const char *cmd)
{
	char buf[512];
	struct jsonl_w w;
	if (!a->json)
		return;
	roomc_json_begin(a, &w, buf, sizeof(buf), RCE_OK);
	jsonl_w_cstr(&w, "command", cmd);
	roomc_json_emit(a, &w);
}

void roomc_format_time(uint32_t ts, char *out, size_t cap)
{
	time_t t = (time_t)ts, now = time(NULL);
	struct tm tm, tn;
	localtime_r(&t, &tm);
	localtime_r(&now, &tn);
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(out, cap, "%H:%M", &tm);
	else if (tm.tm_year == tn.tm_year)
		strftime(out, cap, "%b %d %H:%M", &tm);
	else
		strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

const char *roomc_author(struct roomc *a, const struct client_contact *room,
                         const uint8_t author[4], bool self, char *buf, size_t cap)
{
	if (self || memcmp(author, a->c->ep.id.pub, 4) == 0)
		return "me";
	if (memcmp(author, room->pub, 4) == 0)
		return roomc_label(room, buf, cap);
	struct client_contact *ct = client_contact_by_prefix(a->c, author, 4);
	if (ct && ct->name[0])
		return roomc_label(ct, buf, cap);
	char h[9];
	roomc_hex8(h, author);
	snprintf(buf, cap, "%s", h);
	return buf;
}

void roomc_show_post(struct roomc *a, const struct client_contact *room,
                     const struct cstore_post *p)
{
	char when[32], who[128], text[TXT_TEXT_MAX * 3 + 8];
	const char *mark = "";
	roomc_format_time(p->self ? p->at : p->ts, when, sizeof(when));
	if (p->self)
		mark = !p->is_ack ? "" : p->ok ? "  ✓" : "  ✗ not delivered";
	roomc_say(a, "%s %s: %s%s", when,
	          roomc_author(a, room, p->author, p->self, who, sizeof(who)),
	          roomc_clean(text, sizeof(text), p->text, p->text_len), mark);
}

void roomc_update_prompt(struct roomc *a)
{
	char prompt[LINED_PROMPT_MAX], name[128];
	unsigned unread = 0;
	struct client_contact *ct = roomc_current_room(a);

	if (a->json)
		return;
	for (int i = 0; i < ROOMC_VIEWS; i++)
		if (a->views[i].used && (!ct || memcmp(a->views[i].pub, ct->pub, 32) != 0))
			unread += a->views[i].unread;
	int n = snprintf(prompt, sizeof(prompt), "%s", ct ? "[" : "roomc");
	const char *radio = !a->link_up ? (a->ever_up ? " (radio down)" : " (connecting)") : "";
	if (ct) {
		enum client_login_state ls = client_login_state(a->c, ct->pub);
		n += snprintf(prompt + n, sizeof(prompt) - (size_t)n, "%s%s]",
		              roomc_label(ct, name, sizeof(name)),
		              ls == CLIENT_LOGIN_OK        ? ""
		              : ls == CLIENT_LOGIN_PENDING ? " (logging in)"
		                                           : " (not logged in)");
	}
	if (unread && n > 0 && (size_t)n < sizeof(prompt))
		n += snprintf(prompt + n, sizeof(prompt) - (size_t)n, " %u unread", unread);
	if (*radio && n > 0 && (size_t)n < sizeof(prompt))
		n += snprintf(prompt + n, sizeof(prompt) - (size_t)n, "%s", radio);
	if (n > 0 && (size_t)n < sizeof(prompt))
		snprintf(prompt + n, sizeof(prompt) - (size_t)n, "> ");
	lined_set_prompt(&a->ed, prompt);
}

const char *roomc_req_name(unsigned kind)
{
	switch (kind) {
	case REQ_GET_STATUS: return "status";
	case REQ_GET_TELEMETRY: return "telemetry";
	case REQ_GET_ACCESS_LIST: return "acl";
	case CLIENT_REQ_CLI: return "cli";
	default: return "request";
	}
}

void roomc_json_contact(struct jsonl_w *w, const struct client_contact *ct, uint32_t now)
{
	char name[CLIENT_NAME_MAX * 3 + 8];
	jsonl_w_hex(w, "key", ct->pub, CRYPTO_PUB_SIZE);
	jsonl_w_cstr(w, "name", roomc_clean(name, sizeof(name), ct->name, strlen(ct->name)));
	jsonl_w_cstr(w, "type", client_type_name(ct->type));
	if (ct->hops != 0xFF)
		jsonl_w_int(w, "hops", ct->hops);
	else
		jsonl_w_null(w, "hops");
	if (ct->has_loc) {
		jsonl_w_num(w, "lat", ct->lat_e6 / 1e6);
		jsonl_w_num(w, "lon", ct->lon_e6 / 1e6);
	}
	jsonl_w_int(w, "last_heard", ct->last_heard);
	jsonl_w_int(w, "heard_ago",
	            ct->last_heard && now > ct->last_heard ? now - ct->last_heard : 0);
	jsonl_w_int(w, "path",
	            ct->out_path_len == MESH_NO_PATH ? -1 : (int)path_len_count(ct->out_path_len));
	if (ct->type == ADV_TYPE_ROOM)
		jsonl_w_int(w, "sync_since", ct->sync_since);
}

/* ---- the formatters of the client's events ---- */

static bool json_contact_ev(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	roomc_json_contact(w, ev->contact, client_rtc(a->c, app_now_ms()));
	jsonl_w_bool(w, "new", ev->new_contact);
	return true;
}

static void text_contact(struct roomc *a, const struct client_event *ev, const char *name)
{
	const struct client_contact *ct = ev->contact;
	if (ev->new_contact)
		roomc_say(a, "* new contact: %s (%s, %u hop%s)", name, client_type_name(ct->type),
		          ct->hops, ct->hops == 1 ? "" : "s");
}

static bool json_path(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	const struct client_contact *ct = ev->contact;
	(void)a;
	jsonl_w_int(w, "path",
	            ct->out_path_len == MESH_NO_PATH ? -1 : (int)path_len_count(ct->out_path_len));
	return true;
}

static bool json_login(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	jsonl_w_cstr(w, "role", client_role_name(ev->role));
	jsonl_w_int(w, "permissions", ev->perms);
	if (ev->inferred) {
		jsonl_w_bool(w, "inferred", true);
	} else {
		jsonl_w_int(w, "server_time", ev->server_time);
		jsonl_w_int(w, "fw_level", ev->fw_level);
	}
	return true;
}

static void text_login(struct roomc *a, const struct client_event *ev, const char *name)
{
	if (ev->inferred)
		roomc_say(a, "✓ %s has us logged in after all (its answer to the login was lost)",
		          name);
	else
		roomc_say(a, "✓ logged in to %s as %s%s", name, client_role_name(ev->role),
		          ev->role == ACL_ROLE_GUEST ? " (read only: you can read but not post)"
		                                     : "");
}

static bool json_nothing_more(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	(void)ev;
	(void)w;
	return true;
}

static void text_login_timeout(struct roomc *a, const struct client_event *ev, const char *name)
{
	(void)ev;
	roomc_say(a,
	          "✗ no answer from %s to the login: the password is wrong (a room "
	          "never answers a wrong one) or the room is out of reach",
	          name);
}

static bool json_login_failed(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	jsonl_w_int(w, "code", ev->code);
	return true;
}

static void text_login_failed(struct roomc *a, const struct client_event *ev, const char *name)
{
	roomc_say(a, "✗ %s refused the login (code %u)", name, ev->code);
}

static bool json_sent(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	jsonl_w_int(w, "id", ev->id);
	jsonl_w_int(w, "attempt", ev->attempt);
	jsonl_w_bool(w, "flood", ev->flood);
	jsonl_w_int(w, "timeout_ms", ev->timeout_ms);
	return true;
}

static void text_sent(struct roomc *a, const struct client_event *ev, const char *name)
{
	(void)name;
	if (ev->attempt > 0)
		roomc_say(a, "  … no ACK yet: attempt %u of %u%s", ev->attempt + 1,
		          a->c->cfg.max_attempts, ev->flood ? ", by flood" : "");
}

/* DELIVERED and FAILED: the outcome of a post. */
static bool json_outcome(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	jsonl_w_int(w, "id", ev->id);
	if (ev->unsent) {
		/* queued behind a login that failed: never on the air */
		jsonl_w_int(w, "attempt", -1);
		jsonl_w_bool(w, "unsent", true);
		jsonl_w_cstr(w, "reason", "the login failed");
	} else {
		jsonl_w_int(w, "attempt", ev->attempt);
		if (ev->type == CLIENT_EV_DELIVERED)
			jsonl_w_int(w, "rtt_ms", ev->rtt_ms);
	}
	jsonl_w_str(w, "text", ev->text, ev->text_len);
	return true;
}

static void text_outcome(struct roomc *a, const struct client_event *ev, const char *name)
{
	char text[TXT_TEXT_MAX * 3 + 8];
	if (ev->unsent) {
		roomc_say(a,
		          "  ✗ NOT sent to %s: \"%s\" (the login failed; post it again "
		          "once logged in)",
		          name, roomc_clean(text, sizeof(text), ev->text, ev->text_len));
		return;
	}
	size_t n = ev->text_len > 24 ? 24 : ev->text_len;
	while (n < ev->text_len && n > 0 && ((uint8_t)ev->text[n] & 0xC0) == 0x80)
		n--;
	roomc_clean(text, sizeof(text), ev->text, n);
	if (ev->type == CLIENT_EV_DELIVERED)
		roomc_say(a, "  ✓ delivered to %s: \"%s%s\" (%.1f s)", name, text,
		          n < ev->text_len ? "…" : "", ev->rtt_ms / 1000.0);
	else
		roomc_say(a, "  ✗ NOT delivered to %s: \"%s%s\" (no ACK after %u attempts)", name,
		          text, n < ev->text_len ? "…" : "", ev->attempt + 1);
}

static bool json_post(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	char who[128], h[9];
	jsonl_w_int(w, "ts", ev->ts);
	jsonl_w_cstr(w, "author",
	             roomc_author(a, ev->contact, ev->author, false, who, sizeof(who)));
	roomc_hex8(h, ev->author);
	jsonl_w_cstr(w, "author_key", h);
	jsonl_w_str(w, "text", ev->text, ev->text_len);
	return true;
}

/* Shown at once in the current room; elsewhere counted unread (the prompt says). */
static void text_post(struct roomc *a, const struct client_event *ev, const char *name)
{
	struct cstore_post p = {.ts = ev->ts};
	(void)name;
	if (!a->has_current || memcmp(a->current, ev->contact->pub, CRYPTO_PUB_SIZE) != 0)
		return;
	memcpy(p.author, ev->author, 4);
	p.text_len = ev->text_len < TXT_TEXT_MAX ? ev->text_len : TXT_TEXT_MAX;
	memcpy(p.text, ev->text, p.text_len);
	roomc_show_post(a, ev->contact, &p);
}

static bool json_cli_reply(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	jsonl_w_int(w, "id", ev->id);
	jsonl_w_int(w, "ts", ev->ts);
	jsonl_w_str(w, "text", ev->text, ev->text_len);
	return true;
}

static void text_cli_reply(struct roomc *a, const struct client_event *ev, const char *name)
{
	char text[TXT_TEXT_MAX * 3 + 8];
	/* replies may hold several lines */
	const char *s = ev->text, *end = ev->text + ev->text_len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		roomc_say(a, "  %s> %s", name, roomc_clean(text, sizeof(text), s, n));
		s += n + (nl ? 1 : 0);
	}
}

static bool json_status(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	const struct server_stats *s = ev->stats;
	(void)a;
	jsonl_w_int(w, "id", ev->id);
	jsonl_w_int(w, "batt_mv", s->batt_mv);
	jsonl_w_int(w, "queue_len", s->queue_len);
	jsonl_w_int(w, "noise_floor", s->noise_floor);
	jsonl_w_int(w, "last_rssi", s->last_rssi);
	jsonl_w_num(w, "last_snr", s->last_snr_x4 / 4.0);
	jsonl_w_int(w, "recv", s->n_recv);
	jsonl_w_int(w, "sent", s->n_sent);
	jsonl_w_int(w, "air_secs", s->air_secs);
	jsonl_w_int(w, "uptime_secs", s->uptime_secs);
	jsonl_w_int(w, "sent_flood", s->n_sent_flood);
	jsonl_w_int(w, "sent_direct", s->n_sent_direct);
	jsonl_w_int(w, "recv_flood", s->n_recv_flood);
	jsonl_w_int(w, "recv_direct", s->n_recv_direct);
	jsonl_w_int(w, "err_flags", s->err_flags);
	jsonl_w_int(w, "direct_dups", s->n_direct_dups);
	jsonl_w_int(w, "flood_dups", s->n_flood_dups);
	jsonl_w_int(w, "posted", s->n_posted);
	jsonl_w_int(w, "pushed", s->n_post_push);
	return true;
}

static void text_status(struct roomc *a, const struct client_event *ev, const char *name)
{
	const struct server_stats *s = ev->stats;
	roomc_say(a, "status of %s:", name);
	roomc_say(a, "  up %ud %02uh%02um, battery %u mV, %u posts stored, %u pushes since boot",
	          s->uptime_secs / 86400, s->uptime_secs / 3600 % 24, s->uptime_secs / 60 % 60,
	          s->batt_mv, s->n_posted, s->n_post_push);
	roomc_say(a, "  radio: rx %u (flood %u, direct %u), tx %u (flood %u, direct %u), air %u s",
	          s->n_recv, s->n_recv_flood, s->n_recv_direct, s->n_sent, s->n_sent_flood,
	          s->n_sent_direct, s->air_secs);
	roomc_say(a, "  last RSSI %d dBm, SNR %.2f dB, noise floor %d dBm, queue %u, errors 0x%x",
	          s->last_rssi, s->last_snr_x4 / 4.0, s->noise_floor, s->queue_len, s->err_flags);
}

/* Adds the array aw as field, after the request id; false if it did not fit. */
static bool put_array(struct jsonl_w *w, const struct client_event *ev, const char *field,
                      struct jsonl_w *aw)
{
	jsonl_w_end_array(aw);
	if (aw->err)
		return false;
	jsonl_w_int(w, "id", ev->id);
	jsonl_w_raw(w, field, aw->buf);
	return true;
}

static bool json_telemetry(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	struct rbuf r;
	struct lpp_record rec;
	char arr[2048], item[256];
	struct jsonl_w aw, iw;
	(void)a;

	rbuf_init(&r, ev->data, ev->data_len);
	jsonl_w_begin_array(&aw, arr, sizeof(arr));
	while (lpp_next(&r, &rec) == ERR_OK) {
		jsonl_w_begin(&iw, item, sizeof(item));
		jsonl_w_int(&iw, "channel", rec.channel);
		jsonl_w_int(&iw, "type", rec.type);
		if (rec.type == LPP_VOLTAGE) {
			jsonl_w_num(&iw, "voltage", lpp_voltage_centi(&rec) / 100.0);
		} else if (rec.type == LPP_TEMPERATURE) {
			jsonl_w_num(&iw, "temperature", lpp_temperature_deci(&rec) / 10.0);
		} else {
			char h[64];
			hex_encode(h, sizeof(h), rec.value,
			           rec.value_len < 31 ? rec.value_len : 31);
			jsonl_w_cstr(&iw, "value", h);
		}
		if (jsonl_w_end(&iw) == ERR_OK)
			jsonl_w_raw(&aw, NULL, item);
	}
	return put_array(w, ev, "records", &aw);
}

static void text_telemetry(struct roomc *a, const struct client_event *ev, const char *name)
{
	struct rbuf r;
	struct lpp_record rec;

	rbuf_init(&r, ev->data, ev->data_len);
	roomc_say(a, "telemetry of %s:", name);
	while (lpp_next(&r, &rec) == ERR_OK) {
		if (rec.type == LPP_VOLTAGE) {
			roomc_say(a, "  channel %u: %.2f V", rec.channel,
			          lpp_voltage_centi(&rec) / 100.0);
		} else if (rec.type == LPP_TEMPERATURE) {
			roomc_say(a, "  channel %u: %.1f °C", rec.channel,
			          lpp_temperature_deci(&rec) / 10.0);
		} else {
			char h[64];
			hex_encode(h, sizeof(h), rec.value,
			           rec.value_len < 31 ? rec.value_len : 31);
			roomc_say(a, "  channel %u: type 0x%02x value %s", rec.channel, rec.type,
			          h);
		}
	}
}

static bool json_acl(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	char arr[4096], item[128];
	struct jsonl_w aw, iw;
	(void)a;

	jsonl_w_begin_array(&aw, arr, sizeof(arr));
	for (size_t i = 0; i < ev->n_acl; i++) {
		char h[13];
		hex_encode(h, sizeof(h), ev->acl[i].prefix, ACL_PREFIX_SIZE);
		jsonl_w_begin(&iw, item, sizeof(item));
		jsonl_w_cstr(&iw, "prefix", h);
		jsonl_w_int(&iw, "permissions", ev->acl[i].permissions);
		jsonl_w_cstr(&iw, "role", client_role_name(ev->acl[i].permissions));
		if (jsonl_w_end(&iw) == ERR_OK)
			jsonl_w_raw(&aw, NULL, item);
	}
	return put_array(w, ev, "admins", &aw);
}

static void text_acl(struct roomc *a, const struct client_event *ev, const char *name)
{
	char who[128];
	roomc_say(a, "admins of %s (%zu):", name, ev->n_acl);
	for (size_t i = 0; i < ev->n_acl; i++) {
		char h[13];
		hex_encode(h, sizeof(h), ev->acl[i].prefix, ACL_PREFIX_SIZE);
		struct client_contact *ct = client_contact_by_prefix(a->c, ev->acl[i].prefix, 6);
		roomc_say(a, "  %s %s%s%s", h, client_role_name(ev->acl[i].permissions),
		          ct ? " " : "", ct ? roomc_label(ct, who, sizeof(who)) : "");
	}
}

static bool json_timeout(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	jsonl_w_int(w, "id", ev->id);
	jsonl_w_cstr(w, "request", roomc_req_name(ev->kind));
	if (ev->unsent)
		jsonl_w_bool(w, "unsent", true);
	return true;
}

static void text_timeout(struct roomc *a, const struct client_event *ev, const char *name)
{
	if (ev->unsent)
		roomc_say(a, "✗ command not sent to %s: the login failed", name);
	else if (ev->kind == CLIENT_REQ_CLI)
		roomc_say(a, "✗ no reply from %s to the command (only an admin gets replies)",
		          name);
	else
		roomc_say(a, "✗ no reply from %s to the %s request", name,
		          roomc_req_name(ev->kind));
}

static bool json_keepalive(struct roomc *a, const struct client_event *ev, struct jsonl_w *w)
{
	(void)a;
	jsonl_w_int(w, "unsynced", ev->unsynced);
	return true;
}

static void text_keepalive_lost(struct roomc *a, const struct client_event *ev, const char *name)
{
	(void)ev;
	roomc_say(a, "* %s has not answered keep-alives for a while", name);
}

/* ---- the table ---- */

#define EV(t) ((int)(t) + 1)

// clang-format off
const struct roomc_event_def roomc_events[RCE_COUNT] = {
    [RCE_READY] = {.name = "ready",
        .fields = "{key, name, contacts}: our identity, at start"},
    [RCE_AUTOLOGIN] = {.name = "autologin",
        .fields = "{room, key}: logging in with a remembered password"},
    [RCE_RADIO] = {.name = "radio",
        .fields = "{up, spec}: the modem link came up or went down"},
    [RCE_CONTACT] = {.name = "contact",
        .fields = "{key, name, type, hops, lat, lon, last_heard, path, new}: an\n"
                  "advert was heard (path: route hops, -1 = flood)",
        .client_ev = EV(CLIENT_EV_CONTACT), .json = json_contact_ev, .text = text_contact},
    [RCE_CONTACTS] = {.name = "contacts",
        .fields = "{count, contacts: [...]}: answer to 'contacts'"},
    [RCE_ROOMS] = {.name = "rooms",
        .fields = "{count, rooms: [{room, key, logged_in, role, unread}]}"},
    [RCE_LOGIN] = {.name = "login",
        .fields = "{room, key, role, permissions, server_time, fw_level}; or\n"
                  "{room, key, role, permissions, inferred: true}: the answer\n"
                  "was lost but the room ACKed a post (role read-write) or\n"
                  "pushed one (guest)",
        .client_ev = EV(CLIENT_EV_LOGIN), .room = true, .json = json_login, .text = text_login},
    [RCE_LOGIN_TIMEOUT] = {.name = "login_timeout",
        .fields = "{room, key}: no answer (wrong password, or out of reach)",
        .client_ev = EV(CLIENT_EV_LOGIN_TIMEOUT), .room = true, .json = json_nothing_more,
        .text = text_login_timeout},
    [RCE_LOGIN_FAILED] = {.name = "login_failed",
        .fields = "{room, key, code}: the room refused",
        .client_ev = EV(CLIENT_EV_LOGIN_FAILED), .room = true, .json = json_login_failed,
        .text = text_login_failed},
    [RCE_QUEUED] = {.name = "queued",
        .fields = "{room, key, id, text | cli | request}: accepted, with its id;\n"
                  "a long post: {part, parts}; behind a login: {after_login}"},
    [RCE_SENT] = {.name = "sent",
        .fields = "{room, key, id, attempt, flood, timeout_ms}: an attempt went out",
        .client_ev = EV(CLIENT_EV_SEND), .room = true, .json = json_sent, .text = text_sent},
    [RCE_DELIVERED] = {.name = "delivered",
        .fields = "{room, key, id, attempt, rtt_ms, text}: the room ACKed the post",
        .client_ev = EV(CLIENT_EV_DELIVERED), .room = true, .json = json_outcome,
        .text = text_outcome},
    [RCE_FAILED] = {.name = "failed",
        .fields = "{room, key, id, attempt, text}: no ACK after the last attempt;\n"
                  "{unsent: true, reason}: never sent, the login before it failed",
        .client_ev = EV(CLIENT_EV_FAILED), .room = true, .json = json_outcome,
        .text = text_outcome},
    [RCE_POST] = {.name = "post",
        .fields = "{room, key, ts, author, author_key, text}: a post pushed by the\n"
                  "room (ts: room clock; author: name when known, else key prefix)",
        .client_ev = EV(CLIENT_EV_POST), .room = true, .json = json_post, .text = text_post},
    [RCE_CLI_REPLY] = {.name = "cli_reply",
        .fields = "{room, key, id, ts, text}",
        .client_ev = EV(CLIENT_EV_CLI_REPLY), .room = true, .json = json_cli_reply,
        .text = text_cli_reply},
    [RCE_STATUS] = {.name = "status",
        .fields = "{room, key, id, batt_mv, uptime_secs, posted, pushed, recv, sent,\n"
                  "... every ServerStats field}",
        .client_ev = EV(CLIENT_EV_STATUS), .room = true, .json = json_status,
        .text = text_status},
    [RCE_TELEMETRY] = {.name = "telemetry",
        .fields = "{room, key, id, records: [{channel, type, voltage|temperature|value}]}",
        .client_ev = EV(CLIENT_EV_TELEMETRY), .room = true, .json = json_telemetry,
        .text = text_telemetry},
    [RCE_ACL] = {.name = "acl",
        .fields = "{room, key, id, admins: [{prefix, permissions, role}]}",
        .client_ev = EV(CLIENT_EV_ACL), .room = true, .json = json_acl, .text = text_acl},
    [RCE_TIMEOUT] = {.name = "timeout",
        .fields = "{room, key, id, request}: no reply to cli/status/telemetry/acl",
        .client_ev = EV(CLIENT_EV_TIMEOUT), .room = true, .json = json_timeout,
        .text = text_timeout},
    [RCE_PATH] = {.name = "path",
        .fields = "{room, key, path}: the route changed (-1 = forgotten)",
        .client_ev = EV(CLIENT_EV_PATH), .room = true, .json = json_path},
    [RCE_KEEPALIVE] = {.name = "keepalive",
        .fields = "{room, key, unsynced}: the room ACKed a keep-alive",
        .client_ev = EV(CLIENT_EV_KEEPALIVE), .room = true, .json = json_keepalive},
    [RCE_KEEPALIVE_LOST] = {.name = "keepalive_lost",
        .fields = "{room, key}: no keep-alive ACK for 2.5 intervals",
        .client_ev = EV(CLIENT_EV_KEEPALIVE_LOST), .room = true, .json = json_nothing_more,
        .text = text_keepalive_lost},
    [RCE_HISTORY] = {.name = "history",
        .fields = "{room, key, count, posts: [...]}: answer to 'history'"},
    [RCE_HELP] = {.name = "help",
        .fields = "{commands: [{usage, help}]}: answer to 'help'"},
    [RCE_OK] = {.name = "ok",
        .fields = "{command}: a command without a later outcome was done"},
    [RCE_ERROR] = {.name = "error",
        .fields = "{message, command}: a command could not be run"},
};
// clang-format on

/* The row that shows a client event; NULL for one roomc does not show (SYNC). */
static const struct roomc_event_def *def_of(enum client_event_type type)
{
	for (int i = 0; i < RCE_COUNT; i++)
		if (roomc_events[i].client_ev == EV(type))
			return &roomc_events[i];
	return NULL;
}

void roomc_on_event(void *ctx, struct client *c, const struct client_event *ev)
{
	struct roomc *a = ctx;
	const struct roomc_event_def *d = def_of(ev->type);
	(void)c;

	roomc_apply(a, ev);
	if (!d)
		return;
	if (a->json) {
		char buf[ROOMC_OUT_MAX];
		struct jsonl_w w;
		roomc_json_begin(a, &w, buf, sizeof(buf), (enum roomc_event)(d - roomc_events));
		if (d->room)
			roomc_json_room(&w, ev->contact);
		if (d->json(a, ev, &w))
			roomc_json_emit(a, &w);
		return;
	}
	if (d->text) {
		char name[128];
		d->text(a, ev, roomc_label(ev->contact, name, sizeof(name)));
	}
	roomc_update_prompt(a);
}

void roomc_print_events(FILE *f)
{
	for (int i = 0; i < RCE_COUNT; i++) {
		const char *s = roomc_events[i].fields;
		fprintf(f, "    %-14s ", roomc_events[i].name);
		while (*s) {
			size_t n = strcspn(s, "\n");
			fprintf(f, "%.*s\n", (int)n, s);
			s += n;
			if (*s == '\n' && *++s)
				fprintf(f, "%19s", "");
		}
	}
}
