/*
 * roomc_cmd.c - roomc's commands (see roomc.h): one table of them (name,
 * which mode, arguments, help) and one of their aliases, the parsing of
 * their arguments (rooms and contacts by name, key prefix or unique name
 * prefix; "quoted" words), and roomc_run_line().  In interactive mode a
 * command starts with '/', anything else is posted to the current room; in
 * --json mode a line is a command and ROOM is its first argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/roomc.h"
#include "mesh/mesh.h"
#include "sys/sys.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/num.h"

enum { F_ROOM = 1, F_RADIO = 2, F_UI = 4, F_JSON = 8 };

struct cmd {
	const char *name;
	unsigned flags;
	const char *args_json, *args_ui;
	const char *help;
	void (*fn)(struct roomc *a, struct client_contact *room, char *args, const char *line);
};

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
static struct client_contact *contact_by_token(struct roomc *a, const char *tok, bool rooms_only,
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

static struct client_contact *room_by_token(struct roomc *a, const char *tok, const char **err)
{
	return contact_by_token(a, tok, true, err);
}

/* JSON mode: the room at the start of *pp (a whole room name with spaces is tried first). */
static struct client_contact *take_room(struct roomc *a, char **pp, const char **err)
{
	char *p = skip_blanks(*pp), tok[ROOMC_LINE_MAX];
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

static void report_rc(struct roomc *a, struct client_contact *room, int rc, const char *what,
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
	roomc_error(a, line, "%s %s: %s", what, roomc_label(room, name, sizeof(name)), why);
}

static void cmd_help(struct roomc *a, struct client_contact *room, char *args, const char *line);

static void cmd_contacts(struct roomc *a, struct client_contact *room, char *args, const char *line)
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
			roomc_json_contact(&iw, &a->c->contacts[i], now);
			if (jsonl_w_end(&iw) == ERR_OK)
				jsonl_w_raw(&aw, NULL, item);
			n++;
		}
		jsonl_w_end_array(&aw);
		roomc_json_begin(a, &w, buf, sizeof(buf), RCE_CONTACTS);
		jsonl_w_int(&w, "count", n);
		jsonl_w_raw(&w, "contacts", arr);
		roomc_json_emit(a, &w);
		return;
	}
	int n = 0;
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
		struct client_contact *ct = &a->c->contacts[i];
		char name[128], when[32], hops[16], where[48] = "", key[9];
		if (!ct->used)
			continue;
		if (!n++)
			roomc_say(a, "  %-20s %-8s %-6s %-10s %-8s %s", "NAME", "TYPE", "HOPS",
			          "HEARD", "KEY", "ROUTE");
		ago(ct->last_heard, now, when, sizeof(when));
		snprintf(hops, sizeof(hops), ct->hops == 0xFF ? "?" : "%u", ct->hops);
		if (ct->has_loc)
			snprintf(where, sizeof(where), "  at %.5f,%.5f", ct->lat_e6 / 1e6,
			         ct->lon_e6 / 1e6);
		roomc_hex8(key, ct->pub);
		char route[24];
		if (ct->out_path_len == MESH_NO_PATH)
			snprintf(route, sizeof(route), "flood");
		else
			snprintf(route, sizeof(route), "%u hop%s", path_len_count(ct->out_path_len),
			         path_len_count(ct->out_path_len) == 1 ? "" : "s");
		roomc_say(a, "  %-20s %-8s %-6s %-10s %-8s %s%s",
		          roomc_label(ct, name, sizeof(name)), client_type_name(ct->type), hops,
		          when, key, route, where);
	}
	if (!n)
		roomc_say(
		    a,
		    "no contacts yet: they appear as their adverts are heard (or /add KEY NAME)");
}

static void cmd_rooms(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char arr[ROOMC_OUT_MAX], item[512], buf[ROOMC_OUT_MAX + 256];
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
		struct roomc_view *v = roomc_view_find(a, ct->pub, false);
		enum client_login_state ls = client_login_state(a->c, ct->pub);
		const char *state = ls == CLIENT_LOGIN_OK && rs  ? client_role_name(rs->perms)
		                    : ls == CLIENT_LOGIN_PENDING ? "logging in"
		                                                 : "not logged in";
		char name[128];
		n++;
		if (a->json) {
			jsonl_w_begin(&iw, item, sizeof(item));
			roomc_json_room(&iw, ct);
			jsonl_w_bool(&iw, "logged_in", rs && rs->login == CLIENT_LOGIN_OK);
			if (rs && rs->login == CLIENT_LOGIN_OK)
				jsonl_w_cstr(&iw, "role", client_role_name(rs->perms));
			jsonl_w_int(&iw, "unread", v ? v->unread : 0);
			jsonl_w_int(&iw, "sync_since", ct->sync_since);
			if (jsonl_w_end(&iw) == ERR_OK)
				jsonl_w_raw(&aw, NULL, item);
		} else {
			bool cur = a->has_current && memcmp(a->current, ct->pub, 32) == 0;
			roomc_say(a, "%s %-24s %-14s %u unread", cur ? "*" : " ",
			          roomc_label(ct, name, sizeof(name)), state, v ? v->unread : 0);
		}
	}
	jsonl_w_end_array(&aw);
	if (a->json) {
		roomc_json_begin(a, &w, buf, sizeof(buf), RCE_ROOMS);
		jsonl_w_int(&w, "count", n);
		jsonl_w_raw(&w, "rooms", arr);
		roomc_json_emit(a, &w);
	} else if (!n) {
		roomc_say(a, "no rooms heard yet: a room appears when its advert is heard");
	}
}

static void show_history(struct roomc *a, struct client_contact *room, unsigned max)
{
	struct roomc_view *v = roomc_view_find(a, room->pub, false);
	unsigned n = v ? v->n : 0, from = n > max ? n - max : 0;
	for (unsigned i = from; i < n; i++)
		roomc_show_post(a, room, roomc_view_at(v, i));
	if (!n)
		roomc_say(a, "(no posts yet)");
}

static void cmd_room(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char tok[ROOMC_LINE_MAX], name[128];
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
		roomc_error(a, line, "%s", err);
		return;
	}
	memcpy(a->current, ct->pub, 32);
	a->has_current = true;
	struct roomc_view *v = roomc_view_find(a, ct->pub, false);
	unsigned unread = v ? v->unread : 0;
	roomc_say(a, "— %s —", roomc_label(ct, name, sizeof(name)));
	show_history(a, ct, unread > 10 ? unread : 10);
	if (v)
		v->unread = 0;
	struct client_room *rs = client_room_find(a->c, ct->pub);
	if (!rs || rs->login == CLIENT_LOGIN_NONE)
		roomc_say(a, "(not logged in: /login PASSWORD)");
	roomc_update_prompt(a);
}

static void do_login(struct roomc *a, struct client_contact *room, const char *pw, const char *line)
{
	char name[128];
	struct roomc_view *v = roomc_view_find(a, room->pub, true);
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
		roomc_say(a, "* note: passwords are cut to %d bytes, as the firmware does",
		          CLIENT_PASS_MAX);
	roomc_say(a, "* logging in to %s…", roomc_label(room, name, sizeof(name)));
	roomc_json_ok(a, "login");
}

static void cmd_login(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char pw[ROOMC_LINE_MAX];
	trim_end(args);
	args = skip_blanks(args);
	if (*args == '"') {
		if (!take_token(&args, pw, sizeof(pw))) {
			roomc_error(a, line, "unclosed quote in the password");
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

static void cmd_forget(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char name[128];
	(void)args;
	if (cstore_password_forget(&a->store, room->pub) != ERR_OK) {
		roomc_error(a, line, "could not update the password file");
		return;
	}
	roomc_say(a, "* password of %s forgotten", roomc_label(room, name, sizeof(name)));
	roomc_json_ok(a, "forget");
}

/* The JSON event of an operation handed to the client: its id and key = what was queued. */
static void json_queued(struct roomc *a, const struct client_contact *room, uint32_t id,
                        const char *key, const char *text, size_t len)
{
	char buf[2048];
	struct jsonl_w w;
	roomc_json_begin(a, &w, buf, sizeof(buf), RCE_QUEUED);
	roomc_json_room(&w, room);
	jsonl_w_int(&w, "id", id);
	jsonl_w_str(&w, key, text, len);
	roomc_json_emit(a, &w);
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
		if (n > ROOMC_POST_CHUNK) {
			n = ROOMC_POST_CHUNK;
			while (n > 0 && ((uint8_t)text[off + n] & 0xC0) == 0x80)
				n--;
			size_t sp = n;
			while (sp > ROOMC_POST_CHUNK / 2 && text[off + sp] != ' ')
				sp--;
			if (sp > ROOMC_POST_CHUNK / 2)
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

static void cmd_post(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char text[ROOMC_LINE_MAX], name[128];
	size_t len, parts[CLIENT_QUEUE_MAX][2];

	/* control characters never go on the air */
	args = skip_blanks(args);
	len = jsonl_clean_utf8(text, sizeof(text), args, strlen(args), true);
	while (len && text[len - 1] == ' ')
		len--;
	if (!len) {
		roomc_error(a, line, "nothing to post");
		return;
	}
	roomc_label(room, name, sizeof(name));
	enum client_login_state ls = client_login_state(a->c, room->pub);
	if (ls == CLIENT_LOGIN_NONE && a->autologin) {
		/* a room ignores posts from members it has not logged in: refused
		 * now rather than after four attempts (with --no-login they go
		 * out: a room that still knows us from before takes them) */
		roomc_error(a, line, "not logged in to %s: %s first; nothing was posted", name,
		            a->json ? "login ROOM PASSWORD" : "/login PASSWORD");
		return;
	}
	size_t n_parts = split_post(text, len, parts, CLIENT_QUEUE_MAX);
	if (parts[n_parts - 1][0] + parts[n_parts - 1][1] < len) {
		roomc_error(a, line, "too long to post (%zu bytes); nothing was posted", len);
		return;
	}
	if (client_queue_space(a->c, room->pub) < n_parts) {
		a->retry = true; /* all parts at once, after what waits for this room */
		return;
	}
	if (ls == CLIENT_LOGIN_PENDING && !a->json)
		roomc_say(a,
		          "* waiting for the login to %s: this goes out once it succeeds "
		          "(and not at all if it fails)",
		          name);
	if (n_parts > 1 && !a->json)
		roomc_say(a, "* %zu bytes: sent as %zu posts (a room keeps %d bytes of a post)",
		          len, n_parts, ROOMC_POST_CHUNK);
	for (size_t i = 0; i < n_parts; i++) {
		const char *part = text + parts[i][0];
		size_t n = parts[i][1];
		uint32_t id = 0;
		int rc = client_post(a->c, room->pub, part, n, app_now_ms(), &id);
		if (rc) {
			report_rc(a, room, rc, "cannot post to", line);
			if (a->retry) { /* never run again with some parts queued */
				a->retry = false;
				roomc_error(a, line,
				            "cannot post to %s: too many operations waiting", name);
			}
			if (i)
				roomc_error(a, line, "only the first %zu of %zu parts were queued",
				            i, n_parts);
			return;
		}
		if (a->json) {
			char buf[2048];
			struct jsonl_w w;
			roomc_json_begin(a, &w, buf, sizeof(buf), RCE_QUEUED);
			roomc_json_room(&w, room);
			jsonl_w_int(&w, "id", id);
			jsonl_w_str(&w, "text", part, n);
			if (n_parts > 1) {
				jsonl_w_int(&w, "part", (long long)i + 1);
				jsonl_w_int(&w, "parts", (long long)n_parts);
			}
			if (ls == CLIENT_LOGIN_PENDING)
				jsonl_w_bool(&w, "after_login", true);
			roomc_json_emit(a, &w);
		} else {
			char when[32], t[ROOMC_LINE_MAX * 2];
			roomc_format_time(client_rtc(a->c, app_now_ms()), when, sizeof(when));
			roomc_say(a, "%s me: %s", when, roomc_clean(t, sizeof(t), part, n));
		}
	}
}

static void cmd_cli(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	uint32_t id;
	trim_end(args);
	args = skip_blanks(args);
	if (!*args) {
		roomc_error(a, line, "a command is required (try: cli ROOM help)");
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

static void request(struct roomc *a, struct client_contact *room, unsigned kind, const char *line)
{
	uint32_t id;
	char name[128];
	int rc = client_request(a->c, room->pub, kind, app_now_ms(), &id);
	if (rc) {
		report_rc(a, room, rc, "cannot ask", line);
		return;
	}
	if (a->json) {
		json_queued(a, room, id, "request", roomc_req_name(kind),
		            strlen(roomc_req_name(kind)));
	} else {
		roomc_say(a, "* asking %s for its %s…", roomc_label(room, name, sizeof(name)),
		          kind == REQ_GET_ACCESS_LIST ? "admin list" : roomc_req_name(kind));
	}
}

static void cmd_status(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	(void)args;
	request(a, room, REQ_GET_STATUS, line);
}

static void cmd_telemetry(struct roomc *a, struct client_contact *room, char *args,
                          const char *line)
{
	(void)args;
	request(a, room, REQ_GET_TELEMETRY, line);
}

static void cmd_acl(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	(void)args;
	request(a, room, REQ_GET_ACCESS_LIST, line);
}

/* --json: the last max posts of a room kept in its view. */
static void json_history(struct roomc *a, struct client_contact *room, unsigned max)
{
	static char arr[ROOMC_VIEW_RING * 700], buf[ROOMC_VIEW_RING * 700 + 512];
	char item[1024], who[128], h[9];
	struct jsonl_w aw, iw, w;
	struct roomc_view *v = roomc_view_find(a, room->pub, false);
	unsigned n = v ? v->n : 0, from = n > max ? n - max : 0;
	jsonl_w_begin_array(&aw, arr, sizeof(arr));
	for (unsigned i = from; i < n; i++) {
		const struct cstore_post *p = roomc_view_at(v, i);
		jsonl_w_begin(&iw, item, sizeof(item));
		jsonl_w_int(&iw, "ts", p->ts);
		jsonl_w_cstr(&iw, "author",
		             roomc_author(a, room, p->author, p->self, who, sizeof(who)));
		roomc_hex8(h, p->author);
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
	roomc_json_begin(a, &w, buf, sizeof(buf), RCE_HISTORY);
	roomc_json_room(&w, room);
	jsonl_w_int(&w, "count", n - from);
	jsonl_w_raw(&w, "posts", arr);
	roomc_json_emit(a, &w);
}

static void cmd_history(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	unsigned long long want = 20;
	trim_end(args);
	args = skip_blanks(args);
	if (*args && (!num_ulong(args, UINT64_MAX, &want) || want == 0)) {
		roomc_error(a, line, "history [N]: N is a number of posts");
		return;
	}
	unsigned max = want > ROOMC_VIEW_RING ? ROOMC_VIEW_RING : (unsigned)want;
	if (a->json)
		json_history(a, room, max);
	else
		show_history(a, room, max);
}

static void cmd_advert(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	(void)room;
	trim_end(args);
	args = skip_blanks(args);
	bool zero = strcmp(args, "zerohop") == 0 || strcmp(args, "zero-hop") == 0;
	if (*args && !zero && strcmp(args, "flood") != 0) {
		roomc_error(a, line, "advert [flood|zerohop]");
		return;
	}
	int rc = client_advert(a->c, !zero, app_now_ms());
	if (rc) {
		roomc_error(a, line, "advert: %s", err_str(rc));
		return;
	}
	roomc_say(a, "* advert sent (%s) as \"%s\"", zero ? "zero hop" : "flood", a->c->cfg.name);
	roomc_json_ok(a, "advert");
}

static void cmd_add(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char tok[ROOMC_LINE_MAX];
	uint8_t pub[CRYPTO_PUB_SIZE];
	struct client_contact *ct;
	(void)room;
	if (!take_token(&args, tok, sizeof(tok)) || strlen(tok) != 64 ||
	    hex_decode(pub, sizeof(pub), tok, 64) != 32) {
		roomc_error(a, line, "add KEY [NAME]: KEY is the room's 64-hex-digit public key");
		return;
	}
	int rc = client_contact_add(a->c, pub, &ct);
	if (rc) {
		roomc_error(a, line, "cannot add this key: %s", err_str(rc));
		return;
	}
	trim_end(args);
	args = skip_blanks(args);
	if (*args)
		jsonl_clean_utf8(ct->name, sizeof(ct->name), args, strlen(args), true);
	if (ct->type == ADV_TYPE_NONE)
		ct->type = ADV_TYPE_ROOM;
	roomc_mark_dirty(a);
	roomc_say(a, "* added %s as a room", tok);
	roomc_json_ok(a, "add");
}

/* The contact a command names: a "quoted name", a name, a key prefix; the rest stays in *pp. */
static struct client_contact *take_contact(struct roomc *a, char **pp, const char *line)
{
	char tok[ROOMC_LINE_MAX];
	const char *err;
	char *p = skip_blanks(*pp);
	struct client_contact *ct = NULL;

	/* a whole name with spaces, unquoted, as the only argument */
	if (*p && *p != '"') {
		char whole[ROOMC_LINE_MAX];
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
		roomc_error(a, line,
		            "a contact is required: its name (\"quoted\" if it has "
		            "spaces) or a key prefix");
		return NULL;
	}
	if (!(ct = contact_by_token(a, tok, false, &err)))
		roomc_error(a, line, "%s", err);
	*pp = p;
	return ct;
}

static void cmd_remove(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char name[128], key[2 * CRYPTO_PUB_SIZE + 1];
	struct client_contact *ct;
	(void)room;
	if (!(ct = take_contact(a, &args, line)))
		return;
	if (*skip_blanks(args)) {
		roomc_error(a, line, "remove CONTACT: one contact at a time");
		return;
	}
	roomc_label(ct, name, sizeof(name));
	hex_encode(key, sizeof(key), ct->pub, CRYPTO_PUB_SIZE);
	uint8_t pub[CRYPTO_PUB_SIZE];
	memcpy(pub, ct->pub, sizeof(pub));
	int rc = client_contact_remove(a->c, ct);
	if (rc == ERR_AGAIN) {
		roomc_error(a, line, "%s has operations under way: remove it once they end", name);
		return;
	}
	if (rc) {
		roomc_error(a, line, "cannot remove %s: %s", name, err_str(rc));
		return;
	}
	cstore_password_forget(&a->store, pub);
	struct roomc_view *v = roomc_view_find(a, pub, false);
	if (v)
		memset(v, 0, sizeof(*v));
	if (a->has_current && memcmp(a->current, pub, sizeof(pub)) == 0)
		a->has_current = false;
	roomc_save_now(a);
	roomc_say(a,
	          "* %s removed (and its remembered password); its history stays in "
	          "%s/history/%.64s.jsonl; its next advert adds it again",
	          name, a->store.dir, key);
	roomc_json_ok(a, "remove");
}

static void cmd_rename(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char old[128], name[CLIENT_NAME_MAX * 4], clean_name[CLIENT_NAME_MAX * 4];
	struct client_contact *ct;
	(void)room;
	if (!(ct = take_contact(a, &args, line)))
		return;
	args = skip_blanks(args);
	if (*args == '"') {
		if (!take_token(&args, name, sizeof(name)) || *skip_blanks(args)) {
			roomc_error(a, line, "rename CONTACT NEW NAME: unclosed quote");
			return;
		}
	} else {
		snprintf(name, sizeof(name), "%s", args);
		trim_end(name);
	}
	roomc_label(ct, old, sizeof(old));
	size_t len = jsonl_clean_utf8(clean_name, sizeof(clean_name), name, strlen(name), true);
	if (len > CLIENT_NAME_MAX - 1) {
		roomc_error(a, line, "a name holds %d bytes at most (this one: %zu)",
		            CLIENT_NAME_MAX - 1, len);
		return;
	}
	int rc = client_contact_rename(a->c, ct, clean_name);
	if (rc) {
		roomc_error(a, line, "cannot rename %s: %s", old, err_str(rc));
		return;
	}
	roomc_save_now(a);
	if (!len)
		roomc_say(a, "* %s: its adverts name it again from the next one", old);
	else
		roomc_say(a, "* %s is now \"%s\" (its adverts no longer rename it)", old, ct->name);
	roomc_update_prompt(a);
	roomc_json_ok(a, "rename");
}

static void cmd_path(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	char name[128], hex[2 * PKT_MAX_PATH + 1];
	(void)args;
	(void)line;
	if (room->out_path_len == MESH_NO_PATH) {
		roomc_say(a, "route to %s: unknown (sent by flood)",
		          roomc_label(room, name, sizeof(name)));
		return;
	}
	hex_encode(hex, sizeof(hex), room->out_path, path_len_bytes(room->out_path_len));
	roomc_say(a, "route to %s: %u hop%s%s%s", roomc_label(room, name, sizeof(name)),
	          path_len_count(room->out_path_len),
	          path_len_count(room->out_path_len) == 1 ? "" : "s", hex[0] ? " via " : "", hex);
}

static void cmd_reset_path(struct roomc *a, struct client_contact *room, char *args,
                           const char *line)
{
	char name[128];
	(void)args;
	(void)line;
	client_reset_path(a->c, room);
	roomc_say(a, "* route to %s forgotten: the next messages flood",
	          roomc_label(room, name, sizeof(name)));
	roomc_json_ok(a, "reset_path");
}

static void cmd_wait(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	(void)room;
	(void)line;
	(void)args;
	a->wait = ROOMC_WAIT_IDLE;
}

static void cmd_sleep(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	double s;
	(void)room;
	trim_end(args);
	if (!num_double(skip_blanks(args), 0, 86400, &s)) {
		roomc_error(a, line, "sleep SECONDS");
		return;
	}
	a->wait = ROOMC_WAIT_SLEEP;
	a->wait_until = app_now_ms() + (uint64_t)(s * 1000);
}

static void cmd_quit(struct roomc *a, struct client_contact *room, char *args, const char *line)
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

/* Other names of commands: an alias with F_UI works in interactive mode only. */
static const struct alias {
	const char *name, *cmd;
	unsigned flags;
} aliases[] = {
    {"r", "room", F_UI}, {"j", "room", F_UI},     {"join", "room", F_UI},
    {"q", "quit", F_UI}, {"exit", "quit", 0},     {"reset", "reset_path", F_UI},
    {"rm", "remove", 0}, {"delete", "remove", 0},
};

/* Whether a command (or alias) with these flags exists in this mode. */
static bool in_mode(unsigned flags, bool json)
{
	return !(json ? flags & F_UI : flags & F_JSON);
}

/* The command a name (or an alias) means in this mode, or NULL. */
static const struct cmd *cmd_find(const char *name, bool json)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return in_mode(cmds[i].flags, json) ? &cmds[i] : NULL;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].name, name) == 0 && in_mode(aliases[i].flags, json))
			return cmd_find(aliases[i].cmd, json);
	return NULL;
}

static void cmd_help(struct roomc *a, struct client_contact *room, char *args, const char *line)
{
	(void)room;
	(void)args;
	(void)line;
	if (a->json) {
		char arr[ROOMC_OUT_MAX], buf[ROOMC_OUT_MAX + 128], item[512], u[128];
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
		roomc_json_begin(a, &w, buf, sizeof(buf), RCE_HELP);
		jsonl_w_raw(&w, "commands", arr);
		roomc_json_emit(a, &w);
		return;
	}
	roomc_say(
	    a, "Type text to post it to the current room (//text posts a line starting with /).");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char u[128];
		if (cmds[i].flags & F_JSON)
			continue;
		snprintf(u, sizeof(u), "/%s%s%s", cmds[i].name, *cmds[i].args_ui ? " " : "",
		         cmds[i].args_ui);
		roomc_say(a, "  %-22s %s", u, cmds[i].help);
	}
	roomc_say(
	    a, "Keys: ↑/↓ history, ←/→ ^A ^E ^W ^U ^K editing, ^L clear screen, ^D or ^C to quit.");
}

/* Runs one command line now. */
void roomc_run_line(struct roomc *a, char *line)
{
	char copy[ROOMC_LINE_MAX], name[64];
	char *p;
	const struct cmd *cmd;
	struct client_contact *room = NULL;
	const char *err;

	trim_end(line);
	p = skip_blanks(line);
	if (!*p)
		return;
	if (strlen(p) >= sizeof(copy)) {
		roomc_error(a, NULL,
		            "line too long (%zu bytes, at most %d): not run, nothing posted",
		            strlen(p), ROOMC_LINE_MAX - 1);
		return;
	}
	snprintf(copy, sizeof(copy), "%s", p);
	if (!a->json) {
		if (*p != '/' || p[1] == '/') {
			room = roomc_current_room(a);
			if (!room) {
				roomc_error(
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
		roomc_error(a, copy, "unknown command");
		return;
	}
	memcpy(name, p, n);
	name[n] = 0;
	p += n;
	if (!(cmd = cmd_find(name, a->json))) {
		roomc_error(a, copy, "unknown command '%s' (try %shelp)", name, a->json ? "" : "/");
		return;
	}
	if (cmd->flags & F_ROOM) {
		if (a->json) {
			if (!(room = take_room(a, &p, &err))) {
				roomc_error(a, copy, "%s: %s", cmd->name, err);
				return;
			}
		} else if (!(room = roomc_current_room(a))) {
			roomc_error(a, NULL,
			            "no current room: /rooms lists them, /room NAME picks one");
			return;
		}
	}
	cmd->fn(a, room, p, copy);
}

bool roomc_needs_radio(struct roomc *a, const char *line)
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
