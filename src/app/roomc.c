/*
 * roomc.c - the room client for Linux: a person (or a script) at a KISS
 * modem, or on meshair, uses MeshCore room servers the way the MeshCore app
 * does (PROTOCOL.md §9).
 *
 * Wiring: the radio (radio.h) feeds the mesh (mesh.h), the client state
 * machine (client/client.h) sits on the mesh, and this file owns what the
 * pure core may not: the clocks, the terminal or the JSON stream, the data
 * directory (client/client_store.h) and the poll() loop.
 *
 * Two faces over one command table: the interactive mode (a line editor,
 * one current room, "/command" lines, anything else is posted) and --json
 * (one command per input line, one JSON event per output line).
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "client/client_store.h"
#include "client/jsonl.h"
#include "client/lined.h"
#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "proto/lpp.h"
#include "radio/radio.h"
#include "sys/config.h"
#include "sys/sys.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/num.h"
#include "util/version.h"

#define LINE_MAX_LEN  1024
#define PENDING_HIGH  256 /* stdin is not read while this many commands wait */
#define MAX_VIEWS     32
#define VIEW_RING     256
#define SAVE_DELAY_MS 5000
#define POST_CHUNK    150 /* what a room keeps of a post (§7.3) */
#define OUT_MAX       8192

/* What the program shows of one room: recent history and unread count. */
struct view {
	bool used;
	uint8_t pub[CRYPTO_PUB_SIZE];
	struct cstore_post ring[VIEW_RING];
	unsigned head, n;
	unsigned unread;
	bool login_pending;
	char login_pw[CLIENT_PASS_MAX + 1];
};

enum wait_kind { WAIT_NONE, WAIT_IDLE, WAIT_SLEEP };

struct app {
	bool json;
	bool remember, autologin, advert_at_start;
	unsigned wait_s;
	const char *radio_spec;
	struct app_config cfg;
	struct cstore store;
	struct cstore_state state;
	struct mesh mesh;
	struct client *c;
	struct radio *radio;
	bool link_up, ever_up;
	struct lined ed;
	bool stdin_open;
	struct view views[MAX_VIEWS];
	uint8_t current[CRYPTO_PUB_SIZE];
	bool has_current;
	bool dirty;
	uint64_t save_due;
	/* commands waiting to run, in order (grows; stdin is read again only
	 * once fewer than PENDING_HIGH wait, and -c commands are fed as the
	 * queue drains, so a long script is never dropped) */
	char **pending;
	int n_pending, cap_pending;
	int next_argv; /* the next -c command to queue */
	enum wait_kind wait;
	uint64_t wait_until;
	bool input_done; /* no more commands will come */
	uint64_t done_deadline;
	int failures;
	bool retry; /* the command waits: the room's queue is full (run it again later) */
	bool quit;
	char **argv_cmds;
	int n_argv_cmds;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- output ---- */

/* Prints one line to the person (interactive mode). */
static void say(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct app *a, const char *fmt, ...)
{
	char buf[OUT_MAX];
	va_list ap;
	if (a->json)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lined_print(&a->ed, buf);
}

/* Emits one JSON event line (--json mode). */
static void emit_json(struct app *a, struct jsonl_w *w)
{
	if (jsonl_w_end(w) != ERR_OK) {
		log_warn("roomc", "event too long; dropped");
		return;
	}
	fputs(w->buf, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	(void)a;
}

static void json_begin(struct app *a, struct jsonl_w *w, char *buf, size_t cap, const char *ev)
{
	jsonl_w_begin(w, buf, cap);
	jsonl_w_cstr(w, "event", ev);
	jsonl_w_int(w, "time", client_rtc(a->c, app_now_ms()));
}

/* A terminal-safe copy of untrusted text. */
static const char *clean(char *buf, size_t cap, const char *s, size_t len)
{
	jsonl_clean_utf8(buf, cap, s, len, true);
	return buf;
}

static void hex8(char out[9], const uint8_t *p)
{
	hex_encode(out, 9, p, 4);
}

/* A room's display name: its advert name, or its key prefix. */
static const char *contact_label(const struct client_contact *ct, char *buf, size_t cap)
{
	if (ct->name[0])
		return clean(buf, cap, ct->name, strlen(ct->name));
	char h[9];
	hex8(h, ct->pub);
	snprintf(buf, cap, "%s", h);
	return buf;
}

static void json_room(struct jsonl_w *w, const struct client_contact *ct)
{
	char name[CLIENT_NAME_MAX * 3 + 8];
	jsonl_w_cstr(w, "room", contact_label(ct, name, sizeof(name)));
	jsonl_w_hex(w, "key", ct->pub, CRYPTO_PUB_SIZE);
}

static void error_out(struct app *a, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_out(struct app *a, const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->json) {
		char buf[2048];
		struct jsonl_w w;
		json_begin(a, &w, buf, sizeof(buf), "error");
		jsonl_w_cstr(&w, "message", msg);
		if (cmd)
			jsonl_w_cstr(&w, "command", cmd);
		emit_json(a, &w);
		a->failures++;
	} else {
		say(a, "! %s", msg);
	}
}

static void format_time(uint32_t ts, char *out, size_t cap)
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

static void ago(uint32_t then, uint32_t now, char *out, size_t cap)
{
	if (!then) {
		snprintf(out, cap, "never");
		return;
	}
	uint32_t d = now > then ? now - then : 0;
	if (d < 90)
		snprintf(out, cap, "%us ago", d);
	else if (d < 5400)
		snprintf(out, cap, "%um ago", d / 60);
	else if (d < 172800)
		snprintf(out, cap, "%uh ago", d / 3600);
	else
		snprintf(out, cap, "%ud ago", d / 86400);
}

/* ---- views (per-room display state) ---- */

static struct view *view_find(struct app *a, const uint8_t pub[CRYPTO_PUB_SIZE], bool create)
{
	struct view *free_v = NULL;
	for (int i = 0; i < MAX_VIEWS; i++) {
		if (a->views[i].used && memcmp(a->views[i].pub, pub, CRYPTO_PUB_SIZE) == 0)
			return &a->views[i];
		if (!a->views[i].used && !free_v)
			free_v = &a->views[i];
	}
	if (!create || !free_v)
		return NULL;
	memset(free_v, 0, sizeof(*free_v));
	free_v->used = true;
	memcpy(free_v->pub, pub, CRYPTO_PUB_SIZE);
	return free_v;
}

static void view_add(struct view *v, const struct cstore_post *p)
{
	v->ring[(v->head + v->n) % VIEW_RING] = *p;
	if (v->n < VIEW_RING)
		v->n++;
	else
		v->head = (v->head + 1) % VIEW_RING;
}

/* The outcome of one of our posts, found by its stamp. */
static void view_ack(struct view *v, uint32_t ts, bool ok)
{
	for (unsigned i = 0; i < v->n; i++) {
		struct cstore_post *p = &v->ring[(v->head + i) % VIEW_RING];
		if (p->self && p->ts == ts) {
			p->is_ack = true; /* reused in the ring as "outcome known" */
			p->ok = ok;
		}
	}
}

static const char *author_label(struct app *a, const struct client_contact *room,
                                const uint8_t author[4], bool self, char *buf, size_t cap)
{
	if (self || memcmp(author, a->c->ep.id.pub, 4) == 0)
		return "me";
	if (memcmp(author, room->pub, 4) == 0)
		return contact_label(room, buf, cap);
	struct client_contact *ct = client_contact_by_prefix(a->c, author, 4);
	if (ct && ct->name[0])
		return contact_label(ct, buf, cap);
	char h[9];
	hex8(h, author);
	snprintf(buf, cap, "%s", h);
	return buf;
}

static void show_post(struct app *a, const struct client_contact *room, const struct cstore_post *p)
{
	char when[32], who[128], text[TXT_TEXT_MAX * 3 + 8];
	const char *mark = "";
	format_time(p->self ? p->at : p->ts, when, sizeof(when));
	if (p->self)
		mark = !p->is_ack ? "" : p->ok ? "  ✓" : "  ✗ not delivered";
	say(a, "%s %s: %s%s", when, author_label(a, room, p->author, p->self, who, sizeof(who)),
	    clean(text, sizeof(text), p->text, p->text_len), mark);
}

/* ---- prompt ---- */

static struct client_contact *current_room(struct app *a)
{
	return a->has_current ? client_contact_find(a->c, a->current) : NULL;
}

static void update_prompt(struct app *a)
{
	char prompt[LINED_PROMPT_MAX], name[128];
	unsigned unread = 0;
	struct client_contact *ct = current_room(a);

	if (a->json)
		return;
	for (int i = 0; i < MAX_VIEWS; i++)
		if (a->views[i].used && (!ct || memcmp(a->views[i].pub, ct->pub, 32) != 0))
			unread += a->views[i].unread;
	int n = snprintf(prompt, sizeof(prompt), "%s", ct ? "[" : "roomc");
	const char *radio = !a->link_up ? (a->ever_up ? " (radio down)" : " (connecting)") : "";
	if (ct) {
		enum client_login_state ls = client_login_state(a->c, ct->pub);
		n += snprintf(prompt + n, sizeof(prompt) - (size_t)n, "%s%s]",
		              contact_label(ct, name, sizeof(name)),
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

/* ---- persistence ---- */

static void mark_dirty(struct app *a)
{
	if (!a->dirty)
		a->save_due = app_now_ms() + SAVE_DELAY_MS;
	a->dirty = true;
}

static void save_now(struct app *a)
{
	a->state.stamp = a->c->last_unique;
	if (cstore_contacts_save(&a->store, a->c) != ERR_OK ||
	    cstore_state_save(&a->store, &a->state) != ERR_OK)
		log_warn("roomc", "could not save the data directory %s", a->store.dir);
	a->dirty = false;
}

struct load_ctx {
	struct app *a;
	struct view *v;
	const uint8_t *room;
	uint32_t newest;
};

static void history_cb(void *ctx, const struct cstore_post *p)
{
	struct load_ctx *x = ctx;
	if (p->is_ack) {
		view_ack(x->v, p->ts, p->ok);
		return;
	}
	view_add(x->v, p);
	if (!p->self && p->ts > x->newest)
		x->newest = p->ts;
}

/* Loads the history of every room we know, seeding de-duplication and sync points. */
static void load_histories(struct app *a)
{
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
		struct client_contact *ct = &a->c->contacts[i];
		if (!ct->used || ct->type != ADV_TYPE_ROOM)
			continue;
		static struct view scratch; /* more rooms than views: still seeded */
		struct view *v = view_find(a, ct->pub, true);
		if (!v) {
			memset(&scratch, 0, sizeof(scratch));
			v = &scratch;
		}
		struct load_ctx x = {a, v, ct->pub, 0};
		cstore_history_load(&a->store, ct->pub, history_cb, &x);
		if (x.newest > ct->sync_since)
			ct->sync_since = x.newest;
		/* the newest posts of each room (a repeated push is a recent one) */
		for (unsigned k = 0; k < v->n; k++) {
			const struct cstore_post *p = &v->ring[(v->head + k) % VIEW_RING];
			if (!p->self)
				client_mark_seen(a->c, ct->pub, p->ts, p->author, p->text,
				                 p->text_len);
		}
		if (!v->n)
			v->used = false;
	}
}

static void history_append(struct app *a, const uint8_t room[CRYPTO_PUB_SIZE],
                           const struct cstore_post *p)
{
	if (cstore_history_append(&a->store, room, p) != ERR_OK)
		log_warn("roomc", "history not saved");
}

/* ---- client events ---- */

static const char *req_name(unsigned kind)
{
	switch (kind) {
	case REQ_GET_STATUS: return "status";
	case REQ_GET_TELEMETRY: return "telemetry";
	case REQ_GET_ACCESS_LIST: return "acl";
	case CLIENT_REQ_CLI: return "cli";
	default: return "request";
	}
}

static void json_contact(struct jsonl_w *w, const struct client_contact *ct, uint32_t now)
{
	char name[CLIENT_NAME_MAX * 3 + 8];
	jsonl_w_hex(w, "key", ct->pub, CRYPTO_PUB_SIZE);
	jsonl_w_cstr(w, "name", clean(name, sizeof(name), ct->name, strlen(ct->name)));
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

static void on_status(struct app *a, const struct client_event *ev)
{
	const struct server_stats *s = ev->stats;
	char name[128];
	if (a->json) {
		char buf[2048];
		struct jsonl_w w;
		json_begin(a, &w, buf, sizeof(buf), "status");
		json_room(&w, ev->contact);
		jsonl_w_int(&w, "id", ev->id);
		jsonl_w_int(&w, "batt_mv", s->batt_mv);
		jsonl_w_int(&w, "queue_len", s->queue_len);
		jsonl_w_int(&w, "noise_floor", s->noise_floor);
		jsonl_w_int(&w, "last_rssi", s->last_rssi);
		jsonl_w_num(&w, "last_snr", s->last_snr_x4 / 4.0);
		jsonl_w_int(&w, "recv", s->n_recv);
		jsonl_w_int(&w, "sent", s->n_sent);
		jsonl_w_int(&w, "air_secs", s->air_secs);
		jsonl_w_int(&w, "uptime_secs", s->uptime_secs);
		jsonl_w_int(&w, "sent_flood", s->n_sent_flood);
		jsonl_w_int(&w, "sent_direct", s->n_sent_direct);
		jsonl_w_int(&w, "recv_flood", s->n_recv_flood);
		jsonl_w_int(&w, "recv_direct", s->n_recv_direct);
		jsonl_w_int(&w, "err_flags", s->err_flags);
		jsonl_w_int(&w, "direct_dups", s->n_direct_dups);
		jsonl_w_int(&w, "flood_dups", s->n_flood_dups);
		jsonl_w_int(&w, "posted", s->n_posted);
		jsonl_w_int(&w, "pushed", s->n_post_push);
		emit_json(a, &w);
		return;
	}
	say(a, "status of %s:", contact_label(ev->contact, name, sizeof(name)));
	say(a, "  up %ud %02uh%02um, battery %u mV, %u posts stored, %u pushes since boot",
	    s->uptime_secs / 86400, s->uptime_secs / 3600 % 24, s->uptime_secs / 60 % 60,
	    s->batt_mv, s->n_posted, s->n_post_push);
	say(a, "  radio: rx %u (flood %u, direct %u), tx %u (flood %u, direct %u), air %u s",
	    s->n_recv, s->n_recv_flood, s->n_recv_direct, s->n_sent, s->n_sent_flood,
	    s->n_sent_direct, s->air_secs);
	say(a, "  last RSSI %d dBm, SNR %.2f dB, noise floor %d dBm, queue %u, errors 0x%x",
	    s->last_rssi, s->last_snr_x4 / 4.0, s->noise_floor, s->queue_len, s->err_flags);
}

/*
 * Ends the array aw and, in --json mode, emits it as the event name with the
 * room, the request id and the array as field (an array that did not fit in
 * its buffer is not emitted).
 */
static void emit_room_array(struct app *a, const struct client_event *ev, const char *name,
                            const char *field, struct jsonl_w *aw)
{
	jsonl_w_end_array(aw);
	if (a->json && !aw->err) {
		char buf[OUT_MAX];
		struct jsonl_w w;
		json_begin(a, &w, buf, sizeof(buf), name);
		json_room(&w, ev->contact);
		jsonl_w_int(&w, "id", ev->id);
		jsonl_w_raw(&w, field, aw->buf);
		emit_json(a, &w);
	}
}

static void on_telemetry(struct app *a, const struct client_event *ev)
{
	struct rbuf r;
	struct lpp_record rec;
	char arr[2048], item[256], name[128];
	struct jsonl_w aw, iw;

	rbuf_init(&r, ev->data, ev->data_len);
	jsonl_w_begin_array(&aw, arr, sizeof(arr));
	if (!a->json)
		say(a, "telemetry of %s:", contact_label(ev->contact, name, sizeof(name)));
	while (lpp_next(&r, &rec) == ERR_OK) {
		jsonl_w_begin(&iw, item, sizeof(item));
		jsonl_w_int(&iw, "channel", rec.channel);
		jsonl_w_int(&iw, "type", rec.type);
		if (rec.type == LPP_VOLTAGE) {
			double v = lpp_voltage_centi(&rec) / 100.0;
			jsonl_w_num(&iw, "voltage", v);
			say(a, "  channel %u: %.2f V", rec.channel, v);
		} else if (rec.type == LPP_TEMPERATURE) {
			double t = lpp_temperature_deci(&rec) / 10.0;
			jsonl_w_num(&iw, "temperature", t);
			say(a, "  channel %u: %.1f °C", rec.channel, t);
		} else {
			char h[64];
			hex_encode(h, sizeof(h), rec.value,
			           rec.value_len < 31 ? rec.value_len : 31);
			jsonl_w_cstr(&iw, "value", h);
			say(a, "  channel %u: type 0x%02x value %s", rec.channel, rec.type, h);
		}
		if (jsonl_w_end(&iw) == ERR_OK)
			jsonl_w_raw(&aw, NULL, item);
	}
	emit_room_array(a, ev, "telemetry", "records", &aw);
}

static void on_acl(struct app *a, const struct client_event *ev)
{
	char arr[4096], item[128], name[128];
	struct jsonl_w aw, iw;

	jsonl_w_begin_array(&aw, arr, sizeof(arr));
	if (!a->json)
		say(a, "admins of %s (%zu):", contact_label(ev->contact, name, sizeof(name)),
		    ev->n_acl);
	for (size_t i = 0; i < ev->n_acl; i++) {
		char h[13];
		hex_encode(h, sizeof(h), ev->acl[i].prefix, ACL_PREFIX_SIZE);
		jsonl_w_begin(&iw, item, sizeof(item));
		jsonl_w_cstr(&iw, "prefix", h);
		jsonl_w_int(&iw, "permissions", ev->acl[i].permissions);
		jsonl_w_cstr(&iw, "role", client_role_name(ev->acl[i].permissions));
		if (jsonl_w_end(&iw) == ERR_OK)
			jsonl_w_raw(&aw, NULL, item);
		struct client_contact *ct = client_contact_by_prefix(a->c, ev->acl[i].prefix, 6);
		say(a, "  %s %s%s%s", h, client_role_name(ev->acl[i].permissions), ct ? " " : "",
		    ct ? contact_label(ct, name, sizeof(name)) : "");
	}
	emit_room_array(a, ev, "acl", "admins", &aw);
}

static void on_post(struct app *a, const struct client_event *ev)
{
	struct cstore_post p = {.ts = ev->ts, .at = client_rtc(a->c, app_now_ms())};
	char who[128];

	memcpy(p.author, ev->author, 4);
	p.text_len = ev->text_len < TXT_TEXT_MAX ? ev->text_len : TXT_TEXT_MAX;
	memcpy(p.text, ev->text, p.text_len);
	history_append(a, ev->contact->pub, &p);
	struct view *v = view_find(a, ev->contact->pub, true);
	if (v)
		view_add(v, &p);
	if (a->json) {
		char buf[2048], h[9];
		struct jsonl_w w;
		json_begin(a, &w, buf, sizeof(buf), "post");
		json_room(&w, ev->contact);
		jsonl_w_int(&w, "ts", ev->ts);
		jsonl_w_cstr(&w, "author",
		             author_label(a, ev->contact, ev->author, false, who, sizeof(who)));
		hex8(h, ev->author);
		jsonl_w_cstr(&w, "author_key", h);
		jsonl_w_str(&w, "text", ev->text, ev->text_len);
		emit_json(a, &w);
		return;
	}
	if (a->has_current && memcmp(a->current, ev->contact->pub, 32) == 0) {
		show_post(a, ev->contact, &p);
	} else if (v) {
		v->unread++;
		update_prompt(a);
	}
}

static void on_event(void *ctx, struct client *c, const struct client_event *ev)
{
	struct app *a = ctx;
	const struct client_contact *ct = ev->contact;
	char buf[4096], name[128], text[TXT_TEXT_MAX * 3 + 8];
	struct jsonl_w w;
	struct view *v;
	uint32_t now = client_rtc(c, app_now_ms());

	contact_label(ct, name, sizeof(name));
	switch (ev->type) {
	case CLIENT_EV_CONTACT:
		mark_dirty(a);
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), "contact");
			json_contact(&w, ct, now);
			jsonl_w_bool(&w, "new", ev->new_contact);
			emit_json(a, &w);
		} else if (ev->new_contact) {
			say(a, "* new contact: %s (%s, %u hop%s)", name, client_type_name(ct->type),
			    ct->hops, ct->hops == 1 ? "" : "s");
		}
		break;
	case CLIENT_EV_PATH:
	case CLIENT_EV_SYNC:
		mark_dirty(a);
		if (a->json && ev->type == CLIENT_EV_PATH) {
			json_begin(a, &w, buf, sizeof(buf), "path");
			json_room(&w, ct);
			jsonl_w_int(&w, "path",
			            ct->out_path_len == MESH_NO_PATH
			                ? -1
			                : (int)path_len_count(ct->out_path_len));
			emit_json(a, &w);
		}
		break;
	case CLIENT_EV_LOGIN:
		v = view_find(a, ct->pub, true);
		if (v && v->login_pending && a->remember) {
			/* a blank login of a known member works without the password:
			 * keep a real one remembered rather than forget it */
			char old[CLIENT_PASS_MAX + 1];
			bool found = false;
			cstore_password_get(&a->store, ct->pub, old, &found);
			bool change =
			    v->login_pw[0] ? !found || strcmp(old, v->login_pw) != 0 : !found;
			if (change &&
			    cstore_password_set(&a->store, ct->pub, v->login_pw) != ERR_OK)
				log_warn("roomc", "password not remembered");
			crypto_wipe(old, sizeof(old));
		}
		if (v) {
			v->login_pending = false;
			crypto_wipe(v->login_pw, sizeof(v->login_pw));
		}
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), "login");
			json_room(&w, ct);
			jsonl_w_cstr(&w, "role", client_role_name(ev->role));
			jsonl_w_int(&w, "permissions", ev->perms);
			if (ev->inferred) {
				jsonl_w_bool(&w, "inferred", true);
			} else {
				jsonl_w_int(&w, "server_time", ev->server_time);
				jsonl_w_int(&w, "fw_level", ev->fw_level);
			}
			emit_json(a, &w);
		} else if (ev->inferred) {
			say(a, "✓ %s has us logged in after all (its answer to the login was lost)",
			    name);
			update_prompt(a);
		} else {
			say(a, "✓ logged in to %s as %s%s", name, client_role_name(ev->role),
			    ev->role == ACL_ROLE_GUEST ? " (read only: you can read but not post)"
			                               : "");
			update_prompt(a);
		}
		break;
	case CLIENT_EV_LOGIN_FAILED:
	case CLIENT_EV_LOGIN_TIMEOUT:
		v = view_find(a, ct->pub, false);
		if (v) {
			v->login_pending = false;
			crypto_wipe(v->login_pw, sizeof(v->login_pw));
		}
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf),
			           ev->type == CLIENT_EV_LOGIN_TIMEOUT ? "login_timeout"
			                                               : "login_failed");
			json_room(&w, ct);
			if (ev->type == CLIENT_EV_LOGIN_FAILED)
				jsonl_w_int(&w, "code", ev->code);
			emit_json(a, &w);
			a->failures++;
		} else if (ev->type == CLIENT_EV_LOGIN_TIMEOUT) {
			say(a,
			    "✗ no answer from %s to the login: the password is wrong (a room "
			    "never answers a wrong one) or the room is out of reach",
			    name);
			update_prompt(a);
		} else {
			say(a, "✗ %s refused the login (code %u)", name, ev->code);
			update_prompt(a);
		}
		break;
	case CLIENT_EV_SEND:
		if (ev->attempt == 0) {
			struct cstore_post p = {.self = true, .ts = ev->ts, .at = now};
			memcpy(p.author, c->ep.id.pub, 4);
			p.text_len = ev->text_len;
			memcpy(p.text, ev->text, ev->text_len);
			history_append(a, ct->pub, &p);
			if ((v = view_find(a, ct->pub, true)))
				view_add(v, &p);
		}
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), "sent");
			json_room(&w, ct);
			jsonl_w_int(&w, "id", ev->id);
			jsonl_w_int(&w, "attempt", ev->attempt);
			jsonl_w_bool(&w, "flood", ev->flood);
			jsonl_w_int(&w, "timeout_ms", ev->timeout_ms);
			emit_json(a, &w);
		} else if (ev->attempt > 0) {
			say(a, "  … no ACK yet: attempt %u of %u%s", ev->attempt + 1,
			    c->cfg.max_attempts, ev->flood ? ", by flood" : "");
		}
		break;
	case CLIENT_EV_FAILED:
		if (ev->unsent) {
			/* queued behind a login that failed: never on the air */
			if (a->json) {
				json_begin(a, &w, buf, sizeof(buf), "failed");
				json_room(&w, ct);
				jsonl_w_int(&w, "id", ev->id);
				jsonl_w_int(&w, "attempt", -1);
				jsonl_w_bool(&w, "unsent", true);
				jsonl_w_cstr(&w, "reason", "the login failed");
				jsonl_w_str(&w, "text", ev->text, ev->text_len);
				emit_json(a, &w);
				a->failures++;
			} else {
				say(a,
				    "  ✗ NOT sent to %s: \"%s\" (the login failed; post it again "
				    "once logged in)",
				    name, clean(text, sizeof(text), ev->text, ev->text_len));
			}
			break;
		}
		/* fall through */
	case CLIENT_EV_DELIVERED: {
		bool ok = ev->type == CLIENT_EV_DELIVERED;
		struct cstore_post p = {.is_ack = true, .ok = ok, .ts = ev->ts, .at = now};
		history_append(a, ct->pub, &p);
		if ((v = view_find(a, ct->pub, false)))
			view_ack(v, ev->ts, ok);
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), ok ? "delivered" : "failed");
			json_room(&w, ct);
			jsonl_w_int(&w, "id", ev->id);
			jsonl_w_int(&w, "attempt", ev->attempt);
			if (ok)
				jsonl_w_int(&w, "rtt_ms", ev->rtt_ms);
			jsonl_w_str(&w, "text", ev->text, ev->text_len);
			emit_json(a, &w);
			if (!ok)
				a->failures++;
		} else {
			size_t n = ev->text_len > 24 ? 24 : ev->text_len;
			while (n < ev->text_len && n > 0 && ((uint8_t)ev->text[n] & 0xC0) == 0x80)
				n--;
			clean(text, sizeof(text), ev->text, n);
			if (ok)
				say(a, "  ✓ delivered to %s: \"%s%s\" (%.1f s)", name, text,
				    n < ev->text_len ? "…" : "", ev->rtt_ms / 1000.0);
			else
				say(a,
				    "  ✗ NOT delivered to %s: \"%s%s\" (no ACK after %u attempts)",
				    name, text, n < ev->text_len ? "…" : "", ev->attempt + 1);
		}
		break;
	}
	case CLIENT_EV_POST: on_post(a, ev); break;
	case CLIENT_EV_CLI_REPLY:
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), "cli_reply");
			json_room(&w, ct);
			jsonl_w_int(&w, "id", ev->id);
			jsonl_w_int(&w, "ts", ev->ts);
			jsonl_w_str(&w, "text", ev->text, ev->text_len);
			emit_json(a, &w);
		} else {
			/* replies may hold several lines */
			const char *s = ev->text, *end = ev->text + ev->text_len;
			while (s < end) {
				const char *nl = memchr(s, '\n', (size_t)(end - s));
				size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
				say(a, "  %s> %s", name, clean(text, sizeof(text), s, n));
				s += n + (nl ? 1 : 0);
			}
		}
		break;
	case CLIENT_EV_STATUS: on_status(a, ev); break;
	case CLIENT_EV_TELEMETRY: on_telemetry(a, ev); break;
	case CLIENT_EV_ACL: on_acl(a, ev); break;
	case CLIENT_EV_TIMEOUT:
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), "timeout");
			json_room(&w, ct);
			jsonl_w_int(&w, "id", ev->id);
			jsonl_w_cstr(&w, "request", req_name(ev->kind));
			if (ev->unsent)
				jsonl_w_bool(&w, "unsent", true);
			emit_json(a, &w);
			a->failures++;
		} else if (ev->unsent) {
			say(a, "✗ command not sent to %s: the login failed", name);
		} else if (ev->kind == CLIENT_REQ_CLI) {
			say(a, "✗ no reply from %s to the command (only an admin gets replies)",
			    name);
		} else {
			say(a, "✗ no reply from %s to the %s request", name, req_name(ev->kind));
		}
		break;
	case CLIENT_EV_KEEPALIVE:
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), "keepalive");
			json_room(&w, ct);
			jsonl_w_int(&w, "unsynced", ev->unsynced);
			emit_json(a, &w);
		}
		break;
	case CLIENT_EV_KEEPALIVE_LOST:
		if (a->json) {
			json_begin(a, &w, buf, sizeof(buf), "keepalive_lost");
			json_room(&w, ct);
			emit_json(a, &w);
		} else {
			say(a, "* %s has not answered keep-alives for a while", name);
		}
		break;
	}
}

/* ---- radio glue ---- */

static void radio_rx(void *ctx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct app *a = ctx;
	log_hex("roomc", "rx", frame, len);
	mesh_on_frame(&a->mesh, frame, len, snr_x4, rssi, app_now_ms());
}

static void radio_tx_done(void *ctx, int ok)
{
	struct app *a = ctx;
	mesh_on_tx_done(&a->mesh, ok, app_now_ms());
}

static void autologin_cb(void *ctx, const uint8_t room[CRYPTO_PUB_SIZE], const char *pw)
{
	struct app *a = ctx;
	char name[128];
	struct client_contact *ct = client_contact_find(a->c, room);
	if (!ct)
		return;
	struct client_room *rs = client_room_find(a->c, room);
	if (rs && rs->login != CLIENT_LOGIN_NONE)
		return;
	if (client_login(a->c, room, pw, app_now_ms()) != ERR_OK)
		return;
	struct view *v = view_find(a, room, true);
	if (v) {
		v->login_pending = true;
		snprintf(v->login_pw, sizeof(v->login_pw), "%s", pw);
	}
	if (a->json) {
		char buf[512];
		struct jsonl_w w;
		json_begin(a, &w, buf, sizeof(buf), "autologin");
		json_room(&w, ct);
		emit_json(a, &w);
	} else {
		say(a, "* logging in to %s (remembered password)…",
		    contact_label(ct, name, sizeof(name)));
		update_prompt(a);
	}
}

static void radio_link(void *ctx, int up)
{
	struct app *a = ctx;
	bool first = up && !a->ever_up;
	a->link_up = up;
	if (up)
		a->ever_up = true;
	if (a->json) {
		char buf[1024];
		struct jsonl_w w;
		json_begin(a, &w, buf, sizeof(buf), "radio");
		jsonl_w_bool(&w, "up", up);
		jsonl_w_cstr(&w, "spec", a->radio_spec);
		emit_json(a, &w);
	} else {
		say(a, up ? "* radio %s connected" : "* radio %s lost: reconnecting…",
		    a->radio_spec);
		update_prompt(a);
	}
	if (first) {
		if (a->advert_at_start)
			client_advert(a->c, true, app_now_ms());
		if (a->autologin)
			cstore_passwords_each(&a->store, autologin_cb, a);
	}
}

static int mesh_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct app *a = ctx;
	log_hex("roomc", "tx", frame, len);
	return radio_send(a->radio, frame, len);
}

/* ---- commands ---- */

enum { F_ROOM = 1, F_RADIO = 2, F_UI = 4, F_JSON = 8 };

struct cmd {
	const char *name;
	unsigned flags;
	const char *args_json, *args_ui;
	const char *help;
	void (*fn)(struct app *a, struct client_contact *room, char *args, const char *line);
};

static const struct cmd *cmd_find(const char *name, bool json);

static void trim_end(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
}

/*
 * Takes one argument from *pp: a "quoted string" (with \" and \\) or a run
 * of non-blanks.  Returns false if there is none or the quote is unclosed.
 */
static bool take_token(char **pp, char *out, size_t cap)
{
	char *p = skip_blanks(*pp);
	size_t n = 0;
	if (!*p)
		return false;
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			if (n + 1 < cap)
				out[n++] = *p;
			p++;
		}
		if (*p != '"')
			return false;
		p++;
	} else {
		while (*p && *p != ' ' && *p != '\t') {
			if (n + 1 < cap)
				out[n++] = *p;
			p++;
		}
	}
	out[n] = 0;
	*pp = p;
	return true;
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static bool is_room(const struct client_contact *ct)
{
	return ct->used && (ct->type == ADV_TYPE_ROOM || ct->type == ADV_TYPE_NONE);
}

/*
 * Finds a contact (a room if rooms_only) by name (exact, then
 * case-insensitive), key prefix (hex), or unique case-insensitive name
 * prefix.  *err says why not.
 */
static struct client_contact *contact_by_token(struct app *a, const char *tok, bool rooms_only,
                                               const char **err)
{
	struct client_contact *found = NULL;
	int hits;

	*err = rooms_only ? "no such room (see 'contacts'; rooms appear when their advert is heard)"
	                  : "no such contact (see 'contacts')";
	for (int pass = 0; pass < 4; pass++) {
		hits = 0;
		for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
			struct client_contact *ct = &a->c->contacts[i];
			if (rooms_only ? !is_room(ct) : !ct->used)
				continue;
			bool m = false;
			if (pass == 0)
				m = strcmp(ct->name, tok) == 0;
			else if (pass == 1)
				m = strcasecmp(ct->name, tok) == 0;
			else if (pass == 2 && is_hex(tok) && strlen(tok) >= 2 &&
			         strlen(tok) <= 64) {
				uint8_t pre[32];
				size_t n = strlen(tok) / 2;
				m = (strlen(tok) % 2) == 0 &&
				    hex_decode(pre, sizeof(pre), tok, 2 * n) == (int)n &&
				    memcmp(ct->pub, pre, n) == 0;
			} else if (pass == 3)
				m = strncasecmp(ct->name, tok, strlen(tok)) == 0;
			if (m) {
				found = ct;
				hits++;
			}
		}
		if (hits == 1)
			return found;
		if (hits > 1) {
			*err = rooms_only
			           ? "several rooms match: give more of the name or the key"
			           : "several contacts match: give more of the name or the key";
			return NULL;
		}
	}
	return NULL;
}

static struct client_contact *room_by_token(struct app *a, const char *tok, const char **err)
{
	return contact_by_token(a, tok, true, err);
}

/* JSON mode: the room at the start of *pp (a whole room name with spaces is tried first). */
static struct client_contact *take_room(struct app *a, char **pp, const char **err)
{
	char *p = skip_blanks(*pp), tok[LINE_MAX_LEN];
	struct client_contact *best = NULL;
	size_t best_len = 0;

	*err = "a room is required";
	if (!*p)
		return NULL;
	if (*p != '"') {
		for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
			struct client_contact *ct = &a->c->contacts[i];
			size_t n = strlen(ct->name);
			if (!is_room(ct) || !n || !strchr(ct->name, ' ') || n <= best_len)
				continue;
			if (strncmp(p, ct->name, n) == 0 && (p[n] == 0 || p[n] == ' ')) {
				best = ct;
				best_len = n;
			}
		}
		if (best) {
			*pp = p + best_len;
			return best;
		}
	}
	if (!take_token(&p, tok, sizeof(tok))) {
		*err = "unclosed quote";
		return NULL;
	}
	*pp = p;
	return room_by_token(a, tok, err);
}

static void json_ok(struct app *a, const char *cmd)
{
	char buf[512];
	struct jsonl_w w;
	if (!a->json)
		return;
	json_begin(a, &w, buf, sizeof(buf), "ok");
	jsonl_w_cstr(&w, "command", cmd);
	emit_json(a, &w);
}

static void report_rc(struct app *a, struct client_contact *room, int rc, const char *what,
                      const char *line)
{
	char name[128];
	if (rc == ERR_FULL && client_queue_space(a->c, room->pub) == 0) {
		/* CLIENT_QUEUE_MAX operations wait for this room: the command
		 * waits too, in order (run_pending), rather than fail */
		a->retry = true;
		return;
	}
	const char *why = rc == ERR_PERM        ? "not allowed with the role this room gave you"
	                  : rc == ERR_FULL      ? "too many operations waiting for this room"
	                  : rc == ERR_TOO_BIG   ? "too long"
	                  : rc == ERR_NOT_FOUND ? "unknown contact"
	                                        : err_str(rc);
	error_out(a, line, "%s %s: %s", what, contact_label(room, name, sizeof(name)), why);
}

static void cmd_help(struct app *a, struct client_contact *room, char *args, const char *line);

static void cmd_contacts(struct app *a, struct client_contact *room, char *args, const char *line)
{
	uint32_t now = client_rtc(a->c, app_now_ms());
	(void)room;
	(void)args;
	(void)line;
	if (a->json) {
		static char arr[CLIENT_MAX_CONTACTS * 400], buf[CLIENT_MAX_CONTACTS * 400 + 256];
		char item[600];
		struct jsonl_w aw, iw, w;
		int n = 0;
		jsonl_w_begin_array(&aw, arr, sizeof(arr));
		for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
			if (!a->c->contacts[i].used)
				continue;
			jsonl_w_begin(&iw, item, sizeof(item));
			json_contact(&iw, &a->c->contacts[i], now);
			if (jsonl_w_end(&iw) == ERR_OK)
				jsonl_w_raw(&aw, NULL, item);
			n++;
		}
		jsonl_w_end_array(&aw);
		json_begin(a, &w, buf, sizeof(buf), "contacts");
		jsonl_w_int(&w, "count", n);
		jsonl_w_raw(&w, "contacts", arr);
		emit_json(a, &w);
		return;
	}
	int n = 0;
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
		struct client_contact *ct = &a->c->contacts[i];
		char name[128], when[32], hops[16], where[48] = "", key[9];
		if (!ct->used)
			continue;
		if (!n++)
			say(a, "  %-20s %-8s %-6s %-10s %-8s %s", "NAME", "TYPE", "HOPS", "HEARD",
			    "KEY", "ROUTE");
		ago(ct->last_heard, now, when, sizeof(when));
		snprintf(hops, sizeof(hops), ct->hops == 0xFF ? "?" : "%u", ct->hops);
		if (ct->has_loc)
			snprintf(where, sizeof(where), "  at %.5f,%.5f", ct->lat_e6 / 1e6,
			         ct->lon_e6 / 1e6);
		hex8(key, ct->pub);
		char route[24];
		if (ct->out_path_len == MESH_NO_PATH)
			snprintf(route, sizeof(route), "flood");
		else
			snprintf(route, sizeof(route), "%u hop%s", path_len_count(ct->out_path_len),
			         path_len_count(ct->out_path_len) == 1 ? "" : "s");
		say(a, "  %-20s %-8s %-6s %-10s %-8s %s%s", contact_label(ct, name, sizeof(name)),
		    client_type_name(ct->type), hops, when, key, route, where);
	}
	if (!n)
		say(a,
		    "no contacts yet: they appear as their adverts are heard (or /add KEY NAME)");
}

static void cmd_rooms(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char arr[OUT_MAX], item[512], buf[OUT_MAX + 256];
	struct jsonl_w aw, iw, w;
	int n = 0;
	(void)room;
	(void)args;
	(void)line;
	jsonl_w_begin_array(&aw, arr, sizeof(arr));
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
		struct client_contact *ct = &a->c->contacts[i];
		if (!ct->used || ct->type != ADV_TYPE_ROOM)
			continue;
		struct client_room *rs = client_room_find(a->c, ct->pub);
		struct view *v = view_find(a, ct->pub, false);
		enum client_login_state ls = client_login_state(a->c, ct->pub);
		const char *state = ls == CLIENT_LOGIN_OK && rs  ? client_role_name(rs->perms)
		                    : ls == CLIENT_LOGIN_PENDING ? "logging in"
		                                                 : "not logged in";
		char name[128];
		n++;
		if (a->json) {
			jsonl_w_begin(&iw, item, sizeof(item));
			json_room(&iw, ct);
			jsonl_w_bool(&iw, "logged_in", rs && rs->login == CLIENT_LOGIN_OK);
			if (rs && rs->login == CLIENT_LOGIN_OK)
				jsonl_w_cstr(&iw, "role", client_role_name(rs->perms));
			jsonl_w_int(&iw, "unread", v ? v->unread : 0);
			jsonl_w_int(&iw, "sync_since", ct->sync_since);
			if (jsonl_w_end(&iw) == ERR_OK)
				jsonl_w_raw(&aw, NULL, item);
		} else {
			bool cur = a->has_current && memcmp(a->current, ct->pub, 32) == 0;
			say(a, "%s %-24s %-14s %u unread", cur ? "*" : " ",
			    contact_label(ct, name, sizeof(name)), state, v ? v->unread : 0);
		}
	}
	jsonl_w_end_array(&aw);
	if (a->json) {
		json_begin(a, &w, buf, sizeof(buf), "rooms");
		jsonl_w_int(&w, "count", n);
		jsonl_w_raw(&w, "rooms", arr);
		emit_json(a, &w);
	} else if (!n) {
		say(a, "no rooms heard yet: a room appears when its advert is heard");
	}
}

static void show_history(struct app *a, struct client_contact *room, unsigned max)
{
	struct view *v = view_find(a, room->pub, false);
	unsigned n = v ? v->n : 0, from = n > max ? n - max : 0;
	for (unsigned i = from; i < n; i++)
		show_post(a, room, &v->ring[(v->head + i) % VIEW_RING]);
	if (!n)
		say(a, "(no posts yet)");
}

static void cmd_room(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char tok[LINE_MAX_LEN], name[128];
	const char *err;
	(void)room;
	trim_end(args);
	args = skip_blanks(args);
	if (!*args) {
		cmd_rooms(a, NULL, args, line);
		return;
	}
	char *p = args;
	struct client_contact *ct = room_by_token(a, args, &err);
	if (!ct && take_token(&p, tok, sizeof(tok)) && !*skip_blanks(p))
		ct = room_by_token(a, tok, &err);
	if (!ct) {
		error_out(a, line, "%s", err);
		return;
	}
	memcpy(a->current, ct->pub, 32);
	a->has_current = true;
	struct view *v = view_find(a, ct->pub, false);
	unsigned unread = v ? v->unread : 0;
	say(a, "— %s —", contact_label(ct, name, sizeof(name)));
	show_history(a, ct, unread > 10 ? unread : 10);
	if (v)
		v->unread = 0;
	struct client_room *rs = client_room_find(a->c, ct->pub);
	if (!rs || rs->login == CLIENT_LOGIN_NONE)
		say(a, "(not logged in: /login PASSWORD)");
	update_prompt(a);
}

static void do_login(struct app *a, struct client_contact *room, const char *pw, const char *line)
{
	char name[128];
	struct view *v = view_find(a, room->pub, true);
	int rc = client_login(a->c, room->pub, pw, app_now_ms());
	if (rc) {
		report_rc(a, room, rc, "cannot log in to", line);
		return;
	}
	if (v) {
		v->login_pending = true;
		snprintf(v->login_pw, sizeof(v->login_pw), "%.*s", CLIENT_PASS_MAX, pw);
	}
	if (strlen(pw) > CLIENT_PASS_MAX)
		say(a, "* note: passwords are cut to %d bytes, as the firmware does",
		    CLIENT_PASS_MAX);
	say(a, "* logging in to %s…", contact_label(room, name, sizeof(name)));
	json_ok(a, "login");
}

static void cmd_login(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char pw[LINE_MAX_LEN];
	trim_end(args);
	args = skip_blanks(args);
	if (*args == '"') {
		if (!take_token(&args, pw, sizeof(pw))) {
			error_out(a, line, "unclosed quote in the password");
			return;
		}
	} else if (*args) {
		snprintf(pw, sizeof(pw), "%s", args);
	} else {
		bool found = false;
		pw[0] = 0;
		/* interactive: a bare /login uses the remembered password */
		if (!a->json)
			cstore_password_get(&a->store, room->pub, pw, &found);
	}
	do_login(a, room, pw, line);
	crypto_wipe(pw, sizeof(pw));
}

static void cmd_forget(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char name[128];
	(void)args;
	if (cstore_password_forget(&a->store, room->pub) != ERR_OK) {
		error_out(a, line, "could not update the password file");
		return;
	}
	say(a, "* password of %s forgotten", contact_label(room, name, sizeof(name)));
	json_ok(a, "forget");
}

/* The JSON event of an operation handed to the client: its id and key = what was queued. */
static void json_queued(struct app *a, const struct client_contact *room, uint32_t id,
                        const char *key, const char *text, size_t len)
{
	char buf[2048];
	struct jsonl_w w;
	json_begin(a, &w, buf, sizeof(buf), "queued");
	json_room(&w, room);
	jsonl_w_int(&w, "id", id);
	jsonl_w_str(&w, key, text, len);
	emit_json(a, &w);
}

/*
 * Splits text into posts a room keeps whole (<= 150 bytes), at spaces where
 * possible: parts[i] = {offset, length}; returns how many (at most max).
 */
static size_t split_post(const char *text, size_t len, size_t parts[][2], size_t max)
{
	size_t off = 0, n_parts = 0;
	while (off < len && n_parts < max) {
		size_t n = len - off;
		if (n > POST_CHUNK) {
			n = POST_CHUNK;
			while (n > 0 && ((uint8_t)text[off + n] & 0xC0) == 0x80)
				n--;
			size_t sp = n;
			while (sp > POST_CHUNK / 2 && text[off + sp] != ' ')
				sp--;
			if (sp > POST_CHUNK / 2)
				n = sp;
		}
		parts[n_parts][0] = off;
		parts[n_parts][1] = n;
		n_parts++;
		off += n;
		while (off < len && text[off] == ' ')
			off++;
	}
	return n_parts;
}

static void cmd_post(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char text[LINE_MAX_LEN], name[128];
	size_t len, parts[CLIENT_QUEUE_MAX][2];

	/* control characters never go on the air */
	args = skip_blanks(args);
	len = jsonl_clean_utf8(text, sizeof(text), args, strlen(args), true);
	while (len && text[len - 1] == ' ')
		len--;
	if (!len) {
		error_out(a, line, "nothing to post");
		return;
	}
	contact_label(room, name, sizeof(name));
	enum client_login_state ls = client_login_state(a->c, room->pub);
	if (ls == CLIENT_LOGIN_NONE && a->autologin) {
		/* a room ignores posts from members it has not logged in: refused
		 * now rather than after four attempts (with --no-login they go
		 * out: a room that still knows us from before takes them) */
		error_out(a, line, "not logged in to %s: %s first; nothing was posted", name,
		          a->json ? "login ROOM PASSWORD" : "/login PASSWORD");
		return;
	}
	size_t n_parts = split_post(text, len, parts, CLIENT_QUEUE_MAX);
	if (parts[n_parts - 1][0] + parts[n_parts - 1][1] < len) {
		error_out(a, line, "too long to post (%zu bytes); nothing was posted", len);
		return;
	}
	if (client_queue_space(a->c, room->pub) < n_parts) {
		a->retry = true; /* all parts at once, after what waits for this room */
		return;
	}
	if (ls == CLIENT_LOGIN_PENDING && !a->json)
		say(a,
		    "* waiting for the login to %s: this goes out once it succeeds "
		    "(and not at all if it fails)",
		    name);
	if (n_parts > 1 && !a->json)
		say(a, "* %zu bytes: sent as %zu posts (a room keeps %d bytes of a post)", len,
		    n_parts, POST_CHUNK);
	for (size_t i = 0; i < n_parts; i++) {
		const char *part = text + parts[i][0];
		size_t n = parts[i][1];
		uint32_t id = 0;
		int rc = client_post(a->c, room->pub, part, n, app_now_ms(), &id);
		if (rc) {
			report_rc(a, room, rc, "cannot post to", line);
			if (a->retry) { /* never run again with some parts queued */
				a->retry = false;
				error_out(a, line, "cannot post to %s: too many operations waiting",
				          name);
			}
			if (i)
				error_out(a, line, "only the first %zu of %zu parts were queued", i,
				          n_parts);
			return;
		}
		if (a->json) {
			char buf[2048];
			struct jsonl_w w;
			json_begin(a, &w, buf, sizeof(buf), "queued");
			json_room(&w, room);
			jsonl_w_int(&w, "id", id);
			jsonl_w_str(&w, "text", part, n);
			if (n_parts > 1) {
				jsonl_w_int(&w, "part", (long long)i + 1);
				jsonl_w_int(&w, "parts", (long long)n_parts);
			}
			if (ls == CLIENT_LOGIN_PENDING)
				jsonl_w_bool(&w, "after_login", true);
			emit_json(a, &w);
		} else {
			char when[32], t[LINE_MAX_LEN * 2];
			format_time(client_rtc(a->c, app_now_ms()), when, sizeof(when));
			say(a, "%s me: %s", when, clean(t, sizeof(t), part, n));
		}
	}
}

static void cmd_cli(struct app *a, struct client_contact *room, char *args, const char *line)
{
	uint32_t id;
	trim_end(args);
	args = skip_blanks(args);
	if (!*args) {
		error_out(a, line, "a command is required (try: cli ROOM help)");
		return;
	}
	int rc = client_cli(a->c, room->pub, args, strlen(args), app_now_ms(), &id);
	if (rc) {
		report_rc(a, room, rc, "cannot send a command to", line);
		return;
	}
	if (a->json)
		json_queued(a, room, id, "cli", args, strlen(args));
}

static void request(struct app *a, struct client_contact *room, unsigned kind, const char *line)
{
	uint32_t id;
	char name[128];
	int rc = client_request(a->c, room->pub, kind, app_now_ms(), &id);
	if (rc) {
		report_rc(a, room, rc, "cannot ask", line);
		return;
	}
	if (a->json) {
		json_queued(a, room, id, "request", req_name(kind), strlen(req_name(kind)));
	} else {
		say(a, "* asking %s for its %s…", contact_label(room, name, sizeof(name)),
		    kind == REQ_GET_ACCESS_LIST ? "admin list" : req_name(kind));
	}
}

static void cmd_status(struct app *a, struct client_contact *room, char *args, const char *line)
{
	(void)args;
	request(a, room, REQ_GET_STATUS, line);
}

static void cmd_telemetry(struct app *a, struct client_contact *room, char *args, const char *line)
{
	(void)args;
	request(a, room, REQ_GET_TELEMETRY, line);
}

static void cmd_acl(struct app *a, struct client_contact *room, char *args, const char *line)
{
	(void)args;
	request(a, room, REQ_GET_ACCESS_LIST, line);
}

static void cmd_history(struct app *a, struct client_contact *room, char *args, const char *line)
{
	unsigned max = 20;
	char *end;
	args = skip_blanks(args);
	if (*args) {
		unsigned long v = strtoul(args, &end, 10);
		if (*skip_blanks(end) || v == 0) {
			error_out(a, line, "history [N]: N is a number of posts");
			return;
		}
		max = v > VIEW_RING ? VIEW_RING : (unsigned)v;
	}
	if (!a->json) {
		show_history(a, room, max);
		return;
	}
	static char arr[VIEW_RING * 700], buf[VIEW_RING * 700 + 512];
	char item[1024], who[128], h[9];
	struct jsonl_w aw, iw, w;
	struct view *v = view_find(a, room->pub, false);
	unsigned n = v ? v->n : 0, from = n > max ? n - max : 0;
	jsonl_w_begin_array(&aw, arr, sizeof(arr));
	for (unsigned i = from; i < n; i++) {
		const struct cstore_post *p = &v->ring[(v->head + i) % VIEW_RING];
		jsonl_w_begin(&iw, item, sizeof(item));
		jsonl_w_int(&iw, "ts", p->ts);
		jsonl_w_cstr(&iw, "author",
		             author_label(a, room, p->author, p->self, who, sizeof(who)));
		hex8(h, p->author);
		jsonl_w_cstr(&iw, "author_key", h);
		jsonl_w_bool(&iw, "self", p->self);
		if (p->self) {
			if (p->is_ack)
				jsonl_w_bool(&iw, "delivered", p->ok);
			else
				jsonl_w_null(&iw, "delivered");
		}
		jsonl_w_str(&iw, "text", p->text, p->text_len);
		if (jsonl_w_end(&iw) == ERR_OK)
			jsonl_w_raw(&aw, NULL, item);
	}
	jsonl_w_end_array(&aw);
	json_begin(a, &w, buf, sizeof(buf), "history");
	json_room(&w, room);
	jsonl_w_int(&w, "count", n - from);
	jsonl_w_raw(&w, "posts", arr);
	emit_json(a, &w);
}

static void cmd_advert(struct app *a, struct client_contact *room, char *args, const char *line)
{
	(void)room;
	trim_end(args);
	args = skip_blanks(args);
	bool zero = strcmp(args, "zerohop") == 0 || strcmp(args, "zero-hop") == 0;
	if (*args && !zero && strcmp(args, "flood") != 0) {
		error_out(a, line, "advert [flood|zerohop]");
		return;
	}
	int rc = client_advert(a->c, !zero, app_now_ms());
	if (rc) {
		error_out(a, line, "advert: %s", err_str(rc));
		return;
	}
	say(a, "* advert sent (%s) as \"%s\"", zero ? "zero hop" : "flood", a->c->cfg.name);
	json_ok(a, "advert");
}

static void cmd_add(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char tok[LINE_MAX_LEN];
	uint8_t pub[CRYPTO_PUB_SIZE];
	struct client_contact *ct;
	(void)room;
	if (!take_token(&args, tok, sizeof(tok)) || strlen(tok) != 64 ||
	    hex_decode(pub, sizeof(pub), tok, 64) != 32) {
		error_out(a, line, "add KEY [NAME]: KEY is the room's 64-hex-digit public key");
		return;
	}
	int rc = client_contact_add(a->c, pub, &ct);
	if (rc) {
		error_out(a, line, "cannot add this key: %s", err_str(rc));
		return;
	}
	trim_end(args);
	args = skip_blanks(args);
	if (*args)
		jsonl_clean_utf8(ct->name, sizeof(ct->name), args, strlen(args), true);
	if (ct->type == ADV_TYPE_NONE)
		ct->type = ADV_TYPE_ROOM;
	mark_dirty(a);
	say(a, "* added %s as a room", tok);
	json_ok(a, "add");
}

/* The contact a command names: a "quoted name", a name, a key prefix; the rest stays in *pp. */
static struct client_contact *take_contact(struct app *a, char **pp, const char *line)
{
	char tok[LINE_MAX_LEN];
	const char *err;
	char *p = skip_blanks(*pp);
	struct client_contact *ct = NULL;

	/* a whole name with spaces, unquoted, as the only argument */
	if (*p && *p != '"') {
		char whole[LINE_MAX_LEN];
		snprintf(whole, sizeof(whole), "%s", p);
		trim_end(whole);
		for (int i = 0; i < CLIENT_MAX_CONTACTS && !ct; i++)
			if (a->c->contacts[i].used && strchr(whole, ' ') &&
			    strcmp(a->c->contacts[i].name, whole) == 0)
				ct = &a->c->contacts[i];
		if (ct) {
			*pp = p + strlen(p);
			return ct;
		}
	}
	if (!take_token(&p, tok, sizeof(tok))) {
		error_out(a, line,
		          "a contact is required: its name (\"quoted\" if it has "
		          "spaces) or a key prefix");
		return NULL;
	}
	if (!(ct = contact_by_token(a, tok, false, &err)))
		error_out(a, line, "%s", err);
	*pp = p;
	return ct;
}

static void cmd_remove(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char name[128], key[2 * CRYPTO_PUB_SIZE + 1];
	struct client_contact *ct;
	(void)room;
	if (!(ct = take_contact(a, &args, line)))
		return;
	if (*skip_blanks(args)) {
		error_out(a, line, "remove CONTACT: one contact at a time");
		return;
	}
	contact_label(ct, name, sizeof(name));
	hex_encode(key, sizeof(key), ct->pub, CRYPTO_PUB_SIZE);
	uint8_t pub[CRYPTO_PUB_SIZE];
	memcpy(pub, ct->pub, sizeof(pub));
	int rc = client_contact_remove(a->c, ct);
	if (rc == ERR_AGAIN) {
		error_out(a, line, "%s has operations under way: remove it once they end", name);
		return;
	}
	if (rc) {
		error_out(a, line, "cannot remove %s: %s", name, err_str(rc));
		return;
	}
	cstore_password_forget(&a->store, pub);
	struct view *v = view_find(a, pub, false);
	if (v)
		memset(v, 0, sizeof(*v));
	if (a->has_current && memcmp(a->current, pub, sizeof(pub)) == 0)
		a->has_current = false;
	save_now(a);
	say(a,
	    "* %s removed (and its remembered password); its history stays in "
	    "%s/history/%.64s.jsonl; its next advert adds it again",
	    name, a->store.dir, key);
	json_ok(a, "remove");
}

static void cmd_rename(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char old[128], name[CLIENT_NAME_MAX * 4], clean_name[CLIENT_NAME_MAX * 4];
	struct client_contact *ct;
	(void)room;
	if (!(ct = take_contact(a, &args, line)))
		return;
	args = skip_blanks(args);
	if (*args == '"') {
		if (!take_token(&args, name, sizeof(name)) || *skip_blanks(args)) {
			error_out(a, line, "rename CONTACT NEW NAME: unclosed quote");
			return;
		}
	} else {
		snprintf(name, sizeof(name), "%s", args);
		trim_end(name);
	}
	contact_label(ct, old, sizeof(old));
	size_t len = jsonl_clean_utf8(clean_name, sizeof(clean_name), name, strlen(name), true);
	if (len > CLIENT_NAME_MAX - 1) {
		error_out(a, line, "a name holds %d bytes at most (this one: %zu)",
		          CLIENT_NAME_MAX - 1, len);
		return;
	}
	int rc = client_contact_rename(a->c, ct, clean_name);
	if (rc) {
		error_out(a, line, "cannot rename %s: %s", old, err_str(rc));
		return;
	}
	save_now(a);
	if (!len)
		say(a, "* %s: its adverts name it again from the next one", old);
	else
		say(a, "* %s is now \"%s\" (its adverts no longer rename it)", old, ct->name);
	update_prompt(a);
	json_ok(a, "rename");
}

static void cmd_path(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char name[128], hex[2 * PKT_MAX_PATH + 1];
	(void)args;
	(void)line;
	if (room->out_path_len == MESH_NO_PATH) {
		say(a, "route to %s: unknown (sent by flood)",
		    contact_label(room, name, sizeof(name)));
		return;
	}
	hex_encode(hex, sizeof(hex), room->out_path, path_len_bytes(room->out_path_len));
	say(a, "route to %s: %u hop%s%s%s", contact_label(room, name, sizeof(name)),
	    path_len_count(room->out_path_len), path_len_count(room->out_path_len) == 1 ? "" : "s",
	    hex[0] ? " via " : "", hex);
}

static void cmd_reset_path(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char name[128];
	(void)args;
	(void)line;
	client_reset_path(a->c, room);
	say(a, "* route to %s forgotten: the next messages flood",
	    contact_label(room, name, sizeof(name)));
	json_ok(a, "reset_path");
}

static void cmd_wait(struct app *a, struct client_contact *room, char *args, const char *line)
{
	(void)room;
	(void)line;
	(void)args;
	a->wait = WAIT_IDLE;
}

static void cmd_sleep(struct app *a, struct client_contact *room, char *args, const char *line)
{
	char *end;
	(void)room;
	double s = strtod(skip_blanks(args), &end);
	if (end == skip_blanks(args) || *skip_blanks(end) || !(s >= 0) || s > 86400) {
		error_out(a, line, "sleep SECONDS");
		return;
	}
	a->wait = WAIT_SLEEP;
	a->wait_until = app_now_ms() + (uint64_t)(s * 1000);
}

static void cmd_quit(struct app *a, struct client_contact *room, char *args, const char *line)
{
	(void)room;
	(void)args;
	(void)line;
	a->quit = true;
}

static const struct cmd cmds[] = {
    {"help", 0, "", "", "this list", cmd_help},
    {"contacts", 0, "", "", "nodes heard: name, type, hops, last heard, route", cmd_contacts},
    {"rooms", 0, "", "", "rooms with login state and unread posts", cmd_rooms},
    {"room", F_UI, "", "NAME", "switch to a room (name, unique prefix or key prefix)", cmd_room},
    {"login", F_ROOM | F_RADIO, "ROOM [PASSWORD]", "[PASSWORD]",
     "log in (remembered on success; a bare /login uses the remembered one)", cmd_login},
    {"forget", F_ROOM, "ROOM", "", "forget the room's remembered password", cmd_forget},
    {"post", F_ROOM | F_RADIO | F_JSON, "ROOM TEXT", "", "post TEXT to the room", cmd_post},
    {"history", F_ROOM, "ROOM [N]", "[N]", "the last N posts (default 20)", cmd_history},
    {"cli", F_ROOM | F_RADIO, "ROOM COMMAND", "COMMAND",
     "run an admin command on the room (admins only)", cmd_cli},
    {"status", F_ROOM | F_RADIO, "ROOM", "", "the room's status", cmd_status},
    {"telemetry", F_ROOM | F_RADIO, "ROOM", "", "the room's telemetry", cmd_telemetry},
    {"acl", F_ROOM | F_RADIO, "ROOM", "", "the room's admins (admins only)", cmd_acl},
    {"advert", F_RADIO, "[zerohop]", "[zerohop]", "send our advert (flood by default)", cmd_advert},
    {"add", 0, "KEY [NAME]", "KEY [NAME]", "add a room by its public key", cmd_add},
    {"rename", 0, "CONTACT NAME", "CONTACT NAME",
     "name a contact yourself (\"quote\" names with spaces; an empty name: the advert's)",
     cmd_rename},
    {"remove", 0, "CONTACT", "CONTACT", "forget a contact and its remembered password", cmd_remove},
    {"path", F_ROOM | F_UI, "", "", "show the route to the room", cmd_path},
    {"reset_path", F_ROOM, "ROOM", "", "forget the route to the room (next sends flood)",
     cmd_reset_path},
    {"wait", F_JSON, "", "", "wait until nothing is pending", cmd_wait},
    {"sleep", F_JSON, "SECONDS", "", "pause the command stream", cmd_sleep},
    {"quit", 0, "", "", "leave", cmd_quit},
};

static const struct cmd *cmd_find(const char *name, bool json)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, name) != 0)
			continue;
		if ((json && (cmds[i].flags & F_UI)) || (!json && (cmds[i].flags & F_JSON)))
			return NULL;
		return &cmds[i];
	}
	if (!json && (!strcmp(name, "r") || !strcmp(name, "j") || !strcmp(name, "join")))
		return cmd_find("room", false);
	if (!strcmp(name, "exit") || (!json && !strcmp(name, "q")))
		return cmd_find("quit", json);
	if (!json && !strcmp(name, "reset"))
		return cmd_find("reset_path", false);
	if (!strcmp(name, "rm") || !strcmp(name, "delete"))
		return cmd_find("remove", json);
	return NULL;
}

static void cmd_help(struct app *a, struct client_contact *room, char *args, const char *line)
{
	(void)room;
	(void)args;
	(void)line;
	if (a->json) {
		char arr[OUT_MAX], buf[OUT_MAX + 128], item[512], u[128];
		struct jsonl_w aw, iw, w;
		jsonl_w_begin_array(&aw, arr, sizeof(arr));
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			if (cmds[i].flags & F_UI)
				continue;
			snprintf(u, sizeof(u), "%s%s%s", cmds[i].name,
			         *cmds[i].args_json ? " " : "", cmds[i].args_json);
			jsonl_w_begin(&iw, item, sizeof(item));
			jsonl_w_cstr(&iw, "usage", u);
			jsonl_w_cstr(&iw, "help", cmds[i].help);
			if (jsonl_w_end(&iw) == ERR_OK)
				jsonl_w_raw(&aw, NULL, item);
		}
		jsonl_w_end_array(&aw);
		json_begin(a, &w, buf, sizeof(buf), "help");
		jsonl_w_raw(&w, "commands", arr);
		emit_json(a, &w);
		return;
	}
	say(a, "Type text to post it to the current room (//text posts a line starting with /).");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char u[128];
		if (cmds[i].flags & F_JSON)
			continue;
		snprintf(u, sizeof(u), "/%s%s%s", cmds[i].name, *cmds[i].args_ui ? " " : "",
		         cmds[i].args_ui);
		say(a, "  %-22s %s", u, cmds[i].help);
	}
	say(a, "Keys: ↑/↓ history, ←/→ ^A ^E ^W ^U ^K editing, ^L clear screen, ^D or ^C to quit.");
}

/* Runs one command line now. */
static void run_line(struct app *a, char *line)
{
	char copy[LINE_MAX_LEN], name[64];
	char *p;
	const struct cmd *cmd;
	struct client_contact *room = NULL;
	const char *err;

	trim_end(line);
	p = skip_blanks(line);
	if (!*p)
		return;
	if (strlen(p) >= sizeof(copy)) {
		error_out(a, NULL, "line too long (%zu bytes, at most %d): not run, nothing posted",
		          strlen(p), LINE_MAX_LEN - 1);
		return;
	}
	snprintf(copy, sizeof(copy), "%s", p);
	if (!a->json) {
		if (*p != '/' || p[1] == '/') {
			room = current_room(a);
			if (!room) {
				error_out(
				    a, NULL,
				    "no current room: /rooms lists them, /room NAME picks one");
				return;
			}
			cmd_post(a, room, *p == '/' ? p + 1 : p, copy);
			return;
		}
		p++;
	} else if (*p == '#') {
		return; /* a comment in a command file */
	}
	size_t n = strcspn(p, " \t");
	if (n >= sizeof(name)) {
		error_out(a, copy, "unknown command");
		return;
	}
	memcpy(name, p, n);
	name[n] = 0;
	p += n;
	if (!(cmd = cmd_find(name, a->json))) {
		error_out(a, copy, "unknown command '%s' (try %shelp)", name, a->json ? "" : "/");
		return;
	}
	if (cmd->flags & F_ROOM) {
		if (a->json) {
			if (!(room = take_room(a, &p, &err))) {
				error_out(a, copy, "%s: %s", cmd->name, err);
				return;
			}
		} else if (!(room = current_room(a))) {
			error_out(a, NULL,
			          "no current room: /rooms lists them, /room NAME picks one");
			return;
		}
	}
	cmd->fn(a, room, p, copy);
}

static bool needs_radio(struct app *a, const char *line)
{
	const char *p = line;
	char name[64];
	while (*p == ' ' || *p == '\t')
		p++;
	if (!a->json) {
		if (*p != '/' || p[1] == '/')
			return *p != 0;
		p++;
	}
	size_t n = strcspn(p, " \t");
	if (n >= sizeof(name))
		return false;
	memcpy(name, p, n);
	name[n] = 0;
	const struct cmd *cmd = cmd_find(name, a->json);
	return cmd && (cmd->flags & F_RADIO);
}

static void queue_line(struct app *a, const char *line)
{
	if (a->n_pending == a->cap_pending) {
		int cap = a->cap_pending ? 2 * a->cap_pending : 64;
		char **p = realloc(a->pending, sizeof(*p) * (size_t)cap);
		if (!p) {
			error_out(a, line, "out of memory; dropped");
			return;
		}
		a->pending = p;
		a->cap_pending = cap;
	}
	char *copy = strdup(line);
	if (!copy) {
		error_out(a, line, "out of memory; dropped");
		return;
	}
	a->pending[a->n_pending++] = copy;
}

/* Queues the -c commands that fit below PENDING_HIGH; input is done after the last. */
static void feed_argv(struct app *a)
{
	while (a->next_argv < a->n_argv_cmds && a->n_pending < PENDING_HIGH)
		queue_line(a, a->argv_cmds[a->next_argv++]);
	if (a->n_argv_cmds && a->next_argv == a->n_argv_cmds)
		a->input_done = true;
}

/* Runs queued lines while nothing holds them up; returns how many ran. */
static int run_pending(struct app *a)
{
	int ran = 0;
	while (!a->quit) {
		/* wait: also for the radio, and the logins it starts */
		if (a->wait == WAIT_IDLE && (client_busy(a->c) || !a->ever_up))
			return ran;
		if (a->wait == WAIT_SLEEP && app_now_ms() < a->wait_until)
			return ran;
		a->wait = WAIT_NONE;
		if (!a->n_pending)
			return ran;
		if (!a->link_up && needs_radio(a, a->pending[0]))
			return ran;
		char *line = a->pending[0];
		char *again = strdup(line); /* run_line edits its line */
		if (!again)
			return ran;
		memmove(a->pending, a->pending + 1,
		        sizeof(a->pending[0]) * (size_t)(a->n_pending - 1));
		a->n_pending--;
		a->retry = false;
		run_line(a, line);
		free(line);
		if (a->retry) {
			/* the room's queue is full: this line, and those after it,
			 * wait until an operation ends (order is kept) */
			a->retry = false;
			memmove(a->pending + 1, a->pending,
			        sizeof(a->pending[0]) * (size_t)a->n_pending);
			a->pending[0] = again;
			a->n_pending++;
			return ran;
		}
		free(again);
		ran++;
	}
	return ran;
}

static void on_line(void *ctx, char *line)
{
	struct app *a = ctx;
	if (!line) {
		/* a person at a terminal who types ^D means it; a script's end of
		 * input lets pending operations finish (--wait) */
		a->stdin_open = false;
		if (!a->json && a->ed.tty)
			a->quit = true;
		else
			a->input_done = true;
		return;
	}
	if (a->ed.cut) {
		/* a line that did not fit is refused whole: never post part of it */
		error_out(a, NULL,
		          "line too long (%zu bytes, at most %d): nothing was %s; post it in "
		          "pieces",
		          strlen(line) + a->ed.cut, LINED_MAX - 1, a->json ? "run" : "posted");
		return;
	}
	if (a->json) {
		queue_line(a, line);
		return;
	}
	/* interactive: at once, except radio commands while the radio is down,
	 * and radio commands typed while earlier ones wait */
	if (a->n_pending && needs_radio(a, line)) {
		say(a, "* waiting behind %d earlier line%s", a->n_pending,
		    a->n_pending == 1 ? "" : "s");
		queue_line(a, line);
		return;
	}
	if (!a->link_up && needs_radio(a, line)) {
		say(a, "* the radio is not connected yet: this will go out once it is");
		queue_line(a, line);
		return;
	}
	char *again = strdup(line);
	a->retry = false;
	run_line(a, line);
	if (a->retry && again) {
		a->retry = false;
		say(a, "* %d operations already wait for this room: this one goes out after them",
		    CLIENT_QUEUE_MAX);
		queue_line(a, again);
	}
	free(again);
	update_prompt(a);
}

/* ---- main loop ---- */

static int run(struct app *a)
{
	struct pollfd fds[8];

	while (!stop_signal && !a->quit) {
		uint64_t now = app_now_ms();
		client_set_rtc(a->c, now, (uint32_t)(app_wall_ms() / 1000));
		radio_tick(a->radio, now);
		mesh_tick(&a->mesh, now);
		client_tick(a->c, now);
		int ran = run_pending(a);
		mesh_tick(&a->mesh, now);
		if (a->dirty && now >= a->save_due)
			save_now(a);

		/*
		 * The end of a script's input ends the program once nothing is
		 * pending, or after --wait seconds without progress (a command
		 * run, or a sleep going on).
		 */
		if (a->input_done) {
			if (!a->n_pending && a->wait == WAIT_NONE && !client_busy(a->c))
				break;
			if (ran || !a->done_deadline || a->wait == WAIT_SLEEP)
				a->done_deadline = now + (uint64_t)a->wait_s * 1000;
			else if (now >= a->done_deadline) {
				error_out(a, NULL, "gave up after %u s: %s", a->wait_s,
				          !a->ever_up ? "the radio never connected"
				                      : "operations still pending");
				break;
			}
		}

		uint64_t next = mesh_next_deadline(&a->mesh);
		next = u64_min(next, client_next_deadline(a->c));
		next = u64_min(next, radio_next_deadline(a->radio));
		if (a->dirty)
			next = u64_min(next, a->save_due);
		if (a->wait == WAIT_SLEEP)
			next = u64_min(next, a->wait_until);
		if (a->done_deadline)
			next = u64_min(next, a->done_deadline);
		int timeout = next == UINT64_MAX ? 1000
		              : next <= now      ? 0
		                                 : (int)u64_min(next - now, 1000);

		int n = 0, in_idx = -1;
		feed_argv(a);
		if (a->stdin_open && a->n_pending < PENDING_HIGH) {
			in_idx = n;
			fds[n++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
		}
		int radio_base = n;
		int rn = radio_pollfds(a->radio, fds + n, (int)(sizeof(fds) / sizeof(fds[0])) - n);
		if (rn > 0)
			n += rn;
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_err("roomc", "poll: %s", strerror(errno));
			return 1;
		}
		now = app_now_ms();
		mesh_tick(&a->mesh, now);
		radio_handle(a->radio, fds + radio_base, n - radio_base, now);
		if (in_idx >= 0 && (fds[in_idx].revents & (POLLIN | POLLHUP | POLLERR)))
			lined_read(&a->ed);
	}
	return 0;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fputs(
	    "NAME\n"
	    "    roomc - MeshCore room client for Linux\n"
	    "\n"
	    "SYNOPSIS\n"
	    "    roomc --data DIR --radio SPEC [OPTIONS]\n"
	    "    roomc --data DIR --radio SPEC --json [-c COMMAND]... [--wait SECONDS]\n"
	    "\n"
	    "DESCRIPTION\n"
	    "    roomc uses MeshCore room servers (firmware v1.17.1, or roomd) the way the\n"
	    "    MeshCore app does with a companion radio: rooms appear in the contacts as\n"
	    "    their adverts are heard, you log in with a password, post and see each post\n"
	    "    delivered, and when you come back the room pushes what you missed.\n"
	    "\n"
	    "    A post is sent with the firmware clients' retry policy: the same timestamp\n"
	    "    every time, attempts 0, 1 and 2 along the known route, then the route is\n"
	    "    forgotten and attempt 3 is flooded; it is \"delivered\" when the room's ACK\n"
	    "    arrives, \"failed\" when the last attempt times out. A room never answers a\n"
	    "    wrong password, so a failed login is reported after a timeout: the one the\n"
	    "    firmware companion gives the app (500 ms + 16 x the login's airtime by\n"
	    "    flood, about 8 s at the default preset; a second flood goes out halfway).\n"
	    "    A post needs a login: typed while one is under way it waits for it (and\n"
	    "    fails, unsent, if the login fails); typed with none it is refused (unless\n"
	    "    --no-login). A login whose answer was lost is noticed when the room ACKs\n"
	    "    a post or pushes one. A line holds at most 1023 bytes: a longer one is\n"
	    "    refused whole. Pushed posts are acknowledged exactly as the firmware\n"
	    "    client does, kept in DIR and shown once even when a room pushes one\n"
	    "    twice. Several rooms can be used at once, each with its own login, sync\n"
	    "    point and history. Passwords that worked are remembered\n"
	    "    (DIR/passwords.jsonl, mode 0600) and used to log in again at the next\n"
	    "    start.\n"
	    "\n"
	    "    Interactive mode (the default) is a line-oriented terminal client: pick a\n"
	    "    room with /room NAME, type text to post it, /help lists the commands. The\n"
	    "    prompt shows the current room and the number of unread posts elsewhere.\n"
	    "\n"
	    "    With --json, roomc reads one command per line from standard input (or from\n"
	    "    -c arguments) and writes one JSON object per line for each event. Any\n"
	    "    number of commands may be queued: while 16 operations wait for one room\n"
	    "    (the client's queue), later commands wait in order until one ends.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -d, --data DIR        data directory (created if missing): identity, contacts,\n"
	    "                          passwords, history\n"
	    "    -r, --radio SPEC      tcp:HOST:PORT (meshair or any KISS-TCP server) or\n"
	    "                          serial:DEVICE[:BAUD] (a board running MeshCore kiss_modem)\n"
	    "        --json            scriptable mode: commands in, JSON events out\n"
	    "    -c, --command CMD     a --json command to run (repeatable; stdin is then not "
	    "read)\n"
	    "        --wait SECONDS    --json: at the end of the commands, wait at most this long\n"
	    "                          for pending posts, logins and requests (default 60)\n"
	    "    -n, --name NAME       our name in adverts (remembered; default roomc-KEYPREFIX)\n"
	    "        --location LAT,LON  put a position in our adverts\n"
	    "        --advert          send our advert (flood) when the radio comes up\n"
	    "        --keepalive SECONDS  send keep-alives to logged-in rooms this often\n"
	    "                          (off by default, as in the v1.17.1 companion)\n"
	    "        --no-login        do not log in again with remembered passwords at start;\n"
	    "                          posts then go out without a login (a room that still\n"
	    "                          knows you takes them) instead of being refused\n"
	    "        --no-remember     do not remember passwords that worked\n"
	    "        --freq MHZ, --bw KHZ, --sf N, --cr N, --tx DBM\n"
	    "                          radio settings sent to the modem (firmware defaults:\n"
	    "                          869.618 MHz, 62.5 kHz, SF8, CR 4/5, 22 dBm)\n"
	    "        --timeout-factor X  scale the firmware's suggested timeouts (default 1)\n"
	    "    -v, --verbose         more logging on stderr (repeat for frame dumps)\n"
	    "    -q, --quiet           errors only\n"
	    "    -h, --help            this text\n"
	    "        --version         print the version\n"
	    "\n"
	    "COMMANDS\n"
	    "    Interactive mode: text is posted to the current room; commands start with /.\n"
	    "    In --json mode commands have no slash, and ROOM is a room's name (quote it\n"
	    "    with \"...\" if it has spaces, or write it whole), a unique name prefix, or a\n"
	    "    hex prefix of its key.\n"
	    "    contacts              the nodes heard: name, type, hops, last heard, route\n"
	    "    rooms                 rooms with login state, role and unread count\n"
	    "    /room NAME            (interactive) switch room and show what is new\n"
	    "    login ROOM [PASSWORD] log in; an empty password is \"\" or nothing (in\n"
	    "                          interactive mode a bare /login uses the remembered one)\n"
	    "    post ROOM TEXT        post (logged in, or a login under way); text over 150\n"
	    "                          bytes is split into several posts, and says so\n"
	    "    cli ROOM COMMAND      an admin command (the room's CLI), e.g. cli Room get name\n"
	    "    status ROOM           the room's status (uptime, battery, radio counters)\n"
	    "    telemetry ROOM        the room's telemetry (voltage, temperature)\n"
	    "    acl ROOM              the room's admins (admins only)\n"
	    "    history ROOM [N]      the last N posts kept in DIR\n"
	    "    forget ROOM           forget the remembered password\n"
	    "    advert [zerohop]      send our advert\n"
	    "    add KEY [NAME]        add a room by its 64-hex-digit key without its advert\n"
	    "    rename CONTACT NAME   name a contact yourself; its adverts no longer rename it\n"
	    "                          (an empty NAME gives the naming back to them)\n"
	    "    remove CONTACT        forget a contact, its route, session and remembered\n"
	    "                          password (history stays in DIR); its next advert adds\n"
	    "                          it again. CONTACT: a name (\"quoted\" with spaces) or key\n"
	    "                          prefix\n"
	    "    reset_path ROOM       forget the route: the next sends flood\n"
	    "    wait                  (--json) hold later commands until nothing is pending\n"
	    "    sleep SECONDS         (--json) hold later commands for a while\n"
	    "    quit                  leave (end of input does too)\n"
	    "\n"
	    "JSON EVENTS\n"
	    "    One object per line, with \"event\" and \"time\" (our clock, epoch seconds);\n"
	    "    events about a room carry \"room\" (its name) and \"key\" (64 hex digits).\n"
	    "    ready          {key, name, contacts}: our identity, at start\n"
	    "    autologin      {room, key}: logging in with a remembered password\n"
	    "    radio          {up, spec}: the modem link came up or went down\n"
	    "    contact        {key, name, type, hops, lat, lon, last_heard, path, new}: an\n"
	    "                   advert was heard (path: route hops, -1 = flood)\n"
	    "    contacts       {count, contacts: [...]}: answer to 'contacts'\n"
	    "    rooms          {count, rooms: [{room, key, logged_in, role, unread}]}\n"
	    "    login          {room, key, role, permissions, server_time, fw_level}; or\n"
	    "                   {room, key, role, permissions, inferred: true}: the answer\n"
	    "                   was lost but the room ACKed a post (role read-write) or\n"
	    "                   pushed one (guest)\n"
	    "    login_timeout  {room, key}: no answer (wrong password, or out of reach)\n"
	    "    login_failed   {room, key, code}: the room refused\n"
	    "    queued         {room, key, id, text | cli | request}: accepted, with its id;\n"
	    "                   a long post: {part, parts}; behind a login: {after_login}\n"
	    "    sent           {room, key, id, attempt, flood, timeout_ms}: an attempt went out\n"
	    "    delivered      {room, key, id, attempt, rtt_ms, text}: the room ACKed the post\n"
	    "    failed         {room, key, id, attempt, text}: no ACK after the last attempt;\n"
	    "                   {unsent: true, reason}: never sent, the login before it failed\n"
	    "    post           {room, key, ts, author, author_key, text}: a post pushed by the\n"
	    "                   room (ts: room clock; author: name when known, else key prefix)\n"
	    "    cli_reply      {room, key, id, ts, text}\n"
	    "    status         {room, key, id, batt_mv, uptime_secs, posted, pushed, recv, sent,\n"
	    "                   ... every ServerStats field}\n"
	    "    telemetry      {room, key, id, records: [{channel, type, "
	    "voltage|temperature|value}]}\n"
	    "    acl            {room, key, id, admins: [{prefix, permissions, role}]}\n"
	    "    timeout        {room, key, id, request}: no reply to cli/status/telemetry/acl\n"
	    "    path           {room, key, path}: the route changed (-1 = forgotten)\n"
	    "    keepalive      {room, key, unsynced}; keepalive_lost {room, key}\n"
	    "    history        {room, key, count, posts: [...]}; help {commands: [...]}\n"
	    "    ok             {command}: a command without a later outcome was done\n"
	    "    error          {message, command}: a command could not be run\n"
	    "\n"
	    "FILES\n"
	    "    DIR/identity              our key pair, pub(32) || prv(64), mode 0600\n"
	    "    DIR/contacts.jsonl        contacts, one JSON object per line\n"
	    "    DIR/passwords.jsonl       remembered passwords {room, password}, mode 0600\n"
	    "    DIR/history/KEY.jsonl     per room: posts {ts, author, text, at[, self]} and\n"
	    "                              outcomes of ours {type: ack, ts, ok}; append-only\n"
	    "    DIR/state.jsonl           newest timestamp used, advert name\n"
	    "    DIR/roomc.log             interactive mode's log (unless -v)\n"
	    "    DIR/lock                  held while roomc runs: one roomc per DIR\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0  done (--json: every operation succeeded)\n"
	    "    1  runtime error; --json: some operation failed (error, failed, login_timeout,\n"
	    "       login_failed or timeout event) or was still pending after --wait\n"
	    "    2  usage error\n"
	    "\n"
	    "EXAMPLES\n"
	    "    scripts/demo &        # meshair on 127.0.0.1:7300 and a room server\n"
	    "    roomc --data ~/.roomc --radio tcp:127.0.0.1:7300\n"
	    "        /rooms\n"
	    "        /room roomd\n"
	    "        /login hello\n"
	    "        Hello everyone!\n"
	    "\n"
	    "    roomc -d ~/.roomc -r tcp:127.0.0.1:7300 --json -c 'login roomd hello' \\\n"
	    "          -c wait -c 'post roomd hi from a script' --wait 30\n"
	    "\n"
	    "    roomc -d ~/.roomc -r serial:/dev/ttyACM0 --keepalive 300\n",
	    f);
}

static int set_radio_opt(struct app *a, const char *key, const char *v)
{
	if (app_config_set(&a->cfg, key, v) != ERR_OK) {
		fprintf(stderr, "roomc: bad --%s value '%s'\n", key, v);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct app app;
	struct app *a = &app;
	const char *data = NULL, *name = NULL;
	struct client_cfg ccfg;
	int verbose = 0, c, rc;
	enum {
		O_JSON = 256,
		O_WAIT,
		O_LOC,
		O_ADVERT,
		O_KA,
		O_NOLOGIN,
		O_NOREM,
		O_FREQ,
		O_BW,
		O_SF,
		O_CR,
		O_TX,
		O_TF,
		O_VERSION
	};
	static const struct option opts[] = {
	    {"data", required_argument, 0, 'd'},
	    {"radio", required_argument, 0, 'r'},
	    {"json", no_argument, 0, O_JSON},
	    {"command", required_argument, 0, 'c'},
	    {"wait", required_argument, 0, O_WAIT},
	    {"name", required_argument, 0, 'n'},
	    {"location", required_argument, 0, O_LOC},
	    {"advert", no_argument, 0, O_ADVERT},
	    {"keepalive", required_argument, 0, O_KA},
	    {"no-login", no_argument, 0, O_NOLOGIN},
	    {"no-remember", no_argument, 0, O_NOREM},
	    {"freq", required_argument, 0, O_FREQ},
	    {"bw", required_argument, 0, O_BW},
	    {"sf", required_argument, 0, O_SF},
	    {"cr", required_argument, 0, O_CR},
	    {"tx", required_argument, 0, O_TX},
	    {"timeout-factor", required_argument, 0, O_TF},
	    {"verbose", no_argument, 0, 'v'},
	    {"quiet", no_argument, 0, 'q'},
	    {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, O_VERSION},
	    {0, 0, 0, 0},
	};

	setlocale(LC_CTYPE, "");
	a->remember = a->autologin = true;
	a->wait_s = 60;
	app_config_defaults(&a->cfg);
	/* the modem transmits as soon as the channel is free (persistence 255,
	 * RADIO_CFG_DEFAULT), so a push is ACKed after the stock client's
	 * 200 ms; the client library jitters its retries, so members that
	 * started together do not collide in lockstep */
	client_cfg_defaults(&ccfg);
	a->argv_cmds = calloc((size_t)argc, sizeof(char *));
	if (!a->argv_cmds)
		return 1;
	int oi = -1;
	while ((c = getopt_long(argc, argv, "d:r:c:n:vqh", opts, &oi)) != -1) {
		char *end;
		switch (c) {
		case 'd': data = optarg; break;
		case 'r': a->radio_spec = optarg; break;
		case O_JSON: a->json = true; break;
		case 'c': a->argv_cmds[a->n_argv_cmds++] = optarg; break;
		case O_WAIT: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v > 86400) {
				fprintf(stderr, "roomc: --wait takes seconds (0..86400)\n");
				return 2;
			}
			a->wait_s = (unsigned)v;
			break;
		}
		case 'n': name = optarg; break;
		case O_LOC: {
			double lat, lon;
			if (sscanf(optarg, "%lf,%lf", &lat, &lon) != 2 || fabs(lat) > 90 ||
			    fabs(lon) > 180) {
				fprintf(stderr, "roomc: --location LAT,LON in degrees\n");
				return 2;
			}
			ccfg.has_loc = true;
			ccfg.lat_e6 = advert_coord_e6(lat);
			ccfg.lon_e6 = advert_coord_e6(lon);
			break;
		}
		case O_ADVERT: a->advert_at_start = true; break;
		case O_KA: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v > 86400) {
				fprintf(stderr, "roomc: --keepalive takes seconds (0 = off)\n");
				return 2;
			}
			ccfg.keepalive_s = (unsigned)v;
			break;
		}
		case O_NOLOGIN: a->autologin = false; break;
		case O_NOREM: a->remember = false; break;
		case O_FREQ:
		case O_BW:
		case O_SF:
		case O_CR:
		case O_TX: /* the option's name is the config key */
			if ((rc = set_radio_opt(a, opts[oi].name, optarg)))
				return rc;
			break;
		case O_TF: {
			double v = strtod(optarg, &end);
			if (*end || !(v >= 0.1 && v <= 100)) {
				fprintf(stderr, "roomc: --timeout-factor takes 0.1..100\n");
				return 2;
			}
			ccfg.timeout_factor = v;
			break;
		}
		case 'v': verbose++; break;
		case 'q': verbose = -1; break;
		case 'h': usage(stdout); return 0;
		case O_VERSION:
			printf("roomc %s (MeshCore %s compatible)\n", ROOMD_VERSION,
			       ROOMD_MESHCORE_COMPAT);
			return 0;
		default: /* getopt said what was wrong, on one line */
			fprintf(stderr, "Try 'roomc --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "roomc: unexpected argument '%s' (see roomc --help)\n",
		        argv[optind]);
		return 2;
	}
	if (!data || !a->radio_spec) {
		fprintf(stderr,
		        "roomc: --data DIR and --radio SPEC are required (see roomc --help)\n");
		return 2;
	}
	if (a->n_argv_cmds && !a->json) {
		fprintf(stderr, "roomc: -c needs --json\n");
		return 2;
	}
	log_set_prefix("roomc");
	log_set_level(verbose < 0    ? LOG_ERR
	              : verbose == 0 ? LOG_WARN
	              : verbose == 1 ? LOG_INFO
	                             : LOG_TRACE);
	if (crypto_init() != ERR_OK) {
		fprintf(stderr, "roomc: libsodium failed to initialise\n");
		return 1;
	}
	app_private_files(); /* the remembered room passwords and the key */
	rc = cstore_open(&a->store, data);
	if (rc == ERR_AGAIN) {
		fprintf(stderr, "roomc: another roomc is using %s\n", data);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "roomc: cannot use the data directory %s: %s\n", data, err_str(rc));
		return 1;
	}

	/* interactive on a terminal: the log goes to a file so it cannot break the screen */
	if (!a->json && verbose <= 0 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		char path[4096];
		snprintf(path, sizeof(path), "%.3800s/roomc.log", a->store.dir);
		if (!freopen(path, "a", stderr))
			log_warn("roomc", "cannot open %s", path);
		log_set_level(verbose < 0 ? LOG_ERR : LOG_INFO);
	}

	struct ident id;
	bool created;
	rc = cstore_identity(&a->store, &id, crypto_rng_system(), &created);
	if (rc) {
		fprintf(stderr, "roomc: no usable identity in %s: %s\n", data, err_str(rc));
		return 1;
	}
	cstore_state_load(&a->store, &a->state);
	if (name)
		snprintf(a->state.name, sizeof(a->state.name), "%.*s", CLIENT_NAME_MAX - 1, name);
	if (!a->state.name[0]) {
		char h[9];
		hex8(h, id.pub);
		snprintf(a->state.name, sizeof(a->state.name), "roomc-%.4s", h);
	}
	snprintf(ccfg.name, sizeof(ccfg.name), "%.*s", CLIENT_NAME_MAX - 1, a->state.name);

	a->cfg.mesh.lp = a->cfg.radio_cfg.lp;
	struct mesh_io io = {mesh_transmit, a};
	mesh_init(&a->mesh, &a->cfg.mesh, &io, crypto_rng_system(), app_now_ms());
	a->c = calloc(1, sizeof(*a->c));
	if (!a->c)
		return 1;
	rc = client_init(a->c, &a->mesh, &id, &ccfg, on_event, a, app_now_ms());
	ident_wipe(&id);
	if (rc) {
		fprintf(stderr, "roomc: %s\n", err_str(rc));
		return 1;
	}
	client_set_rtc(a->c, app_now_ms(), (uint32_t)(app_wall_ms() / 1000));
	client_set_stamp_floor(a->c, a->state.stamp);
	int n_contacts = 0;
	cstore_contacts_load(&a->store, a->c, &n_contacts);
	load_histories(a);
	if (a->store.bad_lines)
		log_warn("roomc", "%u unreadable lines skipped in %s", a->store.bad_lines, data);
	mark_dirty(a); /* the name or a new identity */

	struct radio_events ev = {radio_rx, radio_tx_done, radio_link, a};
	rc = radio_open(&a->radio, a->radio_spec, &a->cfg.radio_cfg, &ev, app_now_ms());
	if (rc) {
		fprintf(stderr, "roomc: radio %s: %s\n", a->radio_spec, err_str(rc));
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	a->stdin_open = !a->n_argv_cmds;
	lined_open(&a->ed, STDIN_FILENO, STDOUT_FILENO, on_line, a);
	feed_argv(a);

	char key[2 * CRYPTO_PUB_SIZE + 1];
	hex_encode(key, sizeof(key), a->c->ep.id.pub, CRYPTO_PUB_SIZE);
	if (a->json) {
		char buf[512];
		struct jsonl_w w;
		json_begin(a, &w, buf, sizeof(buf), "ready");
		jsonl_w_cstr(&w, "key", key);
		jsonl_w_cstr(&w, "name", a->state.name);
		jsonl_w_int(&w, "contacts", n_contacts);
		emit_json(a, &w);
	} else {
		say(a, "roomc %s — MeshCore room client. You are \"%s\" (key %.8s…)%s.",
		    ROOMD_VERSION, a->state.name, key, created ? ", a new identity" : "");
		say(a, "Data in %s, %d contact%s. Connecting to the radio %s…", data, n_contacts,
		    n_contacts == 1 ? "" : "s", a->radio_spec);
		say(a, "Type /help for commands; /rooms lists rooms, /room NAME picks one.");
		update_prompt(a);
	}

	rc = run(a);

	if (!a->json && !stop_signal && client_busy(a->c))
		say(a, "* leaving with operations still pending");
	save_now(a);
	lined_close(&a->ed);
	radio_close(a->radio);
	client_cleanup(a->c);
	free(a->c);
	cstore_close(&a->store);
	for (int i = 0; i < a->n_pending; i++)
		free(a->pending[i]);
	free(a->pending);
	free(a->argv_cmds);
	if (rc)
		return rc;
	return a->json && a->failures ? 1 : 0;
}
