/*
 * cmd.c - the admin command table (PROTOCOL.md §8.2-§8.4).
 *
 * Matching is by prefix in table order, first match wins, as in the
 * firmware (so `advertise` is `advert`, and `reboot now` is `reboot`).  The
 * optional "NN|" tag prefix of the companion app is echoed in the reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "room/cmd.h"
#include "room/room.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/err.h"
#include "util/hex.h"

struct cmd_ctx {
	struct room *r;
	const char *args; /* text after the command name, spaces skipped */
	uint32_t sender_ts;
	enum cmd_origin origin;
	char *reply;
	size_t cap;
};

#define REPLY(c, ...) snprintf((c)->reply, (c)->cap, __VA_ARGS__)

static const char *skip_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

static void format_clock(char *out, size_t cap, uint32_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(out, cap, "%02d:%02d - %d/%d/%d UTC", tm.tm_hour, tm.tm_min, tm.tm_mday,
		 tm.tm_mon + 1, tm.tm_year + 1900);
}

static void settings_changed(struct room *r)
{
	room_save_settings(r);
	if (r->hooks.settings_changed)
		r->hooks.settings_changed(r->hooks.ctx, r);
}

/* ---- handlers ---- */

static void c_clock_sync(struct cmd_ctx *c)
{
	char t[40];
	if (!c->sender_ts || !room_clock_set(c->r->clock, c->r->mesh->now_ms, c->sender_ts + 1)) {
		REPLY(c, "ERR: clock cannot go backwards");
		return;
	}
	format_clock(t, sizeof(t), room_rtc(c->r));
	REPLY(c, "OK - clock set: %s", t);
}

static void c_clock(struct cmd_ctx *c)
{
	format_clock(c->reply, c->cap, room_rtc(c->r));
}

static void c_time(struct cmd_ctx *c)
{
	char t[40], *end;
	unsigned long v = strtoul(c->args, &end, 10);
	if (end == c->args || v > UINT32_MAX ||
	    !room_clock_set(c->r->clock, c->r->mesh->now_ms, (uint32_t)v)) {
		REPLY(c, "(ERR: clock cannot go backwards)");
		return;
	}
	format_clock(t, sizeof(t), room_rtc(c->r));
	REPLY(c, "OK - clock set: %s", t);
}

static void c_advert_zerohop(struct cmd_ctx *c)
{
	c->r->pending_zero_hop_ms = c->r->mesh->now_ms + 1500;
	REPLY(c, "OK - zerohop advert sent");
}

static void c_advert(struct cmd_ctx *c)
{
	c->r->pending_flood_ms = c->r->mesh->now_ms + 1500;
	REPLY(c, "OK - Advert sent");
}

static void c_password(struct cmd_ctx *c)
{
	snprintf(c->r->set.admin_password, sizeof(c->r->set.admin_password), "%s", c->args);
	settings_changed(c->r);
	REPLY(c, "password now: %s", c->r->set.admin_password);
}

static void c_room_post(struct cmd_ctx *c)
{
	if (!*c->args) {
		REPLY(c, "ERR empty message");
		return;
	}
	int rc = room_post(c->r, c->r->ep.id.pub, 0, c->args, strlen(c->args), NULL);
	REPLY(c, rc ? "ERR %s" : "OK", err_str(rc));
}

static void c_setperm(struct cmd_ctx *c)
{
	struct room *r = c->r;
	const char *sp = strchr(c->args, ' ');
	uint8_t key[32];
	if (!sp) {
		REPLY(c, "Err - bad params");
		return;
	}
	size_t hex_len = (size_t)(sp - c->args);
	int n = hex_decode(key, sizeof(key), c->args, hex_len);
	if (n < 0) {
		REPLY(c, "Err - bad pubkey");
		return;
	}
	unsigned long perm = strtoul(sp + 1, NULL, 10) & 0xFF;
	if ((perm & 3) == 0) {
		for (size_t i = 0; i < r->n_members; i++) {
			if (memcmp(r->members[i].pub, key, (size_t)n) == 0) {
				store_member_delete(r->store, r->store_id, r->members[i].pub);
				memmove(&r->members[i], &r->members[i + 1],
					(r->n_members - i - 1) * sizeof(*r->members));
				r->n_members--;
				r->rr = 0;
				REPLY(c, "OK");
				return;
			}
		}
		REPLY(c, "Err - invalid params");
		return;
	}
	if (n != 32) {
		REPLY(c, "Err - invalid params");
		return;
	}
	struct room_member *m = room_member_find(r, key);
	if (!m) {
		struct store_member sm = { 0 };
		memcpy(sm.pub, key, 32);
		sm.permissions = (uint8_t)perm;
		sm.out_path_len = STORE_PATH_UNKNOWN;
		if (store_member_put(r->store, r->store_id, &sm) != ERR_OK) {
			REPLY(c, "Err - store");
			return;
		}
		/* reload so the member gets its secret */
		uint8_t secret[32];
		if (ident_shared_secret(&r->ep.id, key, secret) != ERR_OK) {
			REPLY(c, "Err - bad pubkey");
			return;
		}
		if (r->n_members == r->cap_members) {
			size_t cap = r->cap_members ? r->cap_members * 2 : 32;
			struct room_member *nm = realloc(r->members, cap * sizeof(*nm));
			if (!nm) {
				REPLY(c, "Err - no memory");
				return;
			}
			r->members = nm;
			r->cap_members = cap;
		}
		m = &r->members[r->n_members++];
		memset(m, 0, sizeof(*m));
		memcpy(m->pub, key, 32);
		memcpy(m->secret, secret, 32);
		m->out_path_len = MESH_NO_PATH;
		crypto_wipe(secret, sizeof(secret));
	}
	m->perms = (uint8_t)perm;
	m->dirty = true;
	REPLY(c, "OK");
}

static void c_get_acl(struct cmd_ctx *c)
{
	size_t off = 0;
	char hex[65];
	off += (size_t)snprintf(c->reply, c->cap, "ACL:");
	for (size_t i = 0; i < c->r->n_members && off < c->cap; i++) {
		const struct room_member *m = &c->r->members[i];
		if (!m->perms)
			continue;
		hex_encode_upper(hex, sizeof(hex), m->pub, 32);
		off += (size_t)snprintf(c->reply + off, c->cap - off, "\n%02X %s", m->perms, hex);
	}
}

static void c_ver(struct cmd_ctx *c)
{
	REPLY(c, "%s (Build: roomd)", ROOM_FW_VERSION);
}

static void c_reboot(struct cmd_ctx *c)
{
	if (c->r->hooks.reboot)
		c->r->hooks.reboot(c->r->hooks.ctx, c->r);
	c->reply[0] = 0;
}

static void c_clear_stats(struct cmd_ctx *c)
{
	memset(&c->r->stats, 0, sizeof(c->r->stats));
	memset(&c->r->mesh->stats, 0, sizeof(c->r->mesh->stats));
	REPLY(c, "(OK - stats reset)");
}

static void c_stats_packets(struct cmd_ctx *c)
{
	const struct mesh_stats *s = &c->r->mesh->stats;
	uint32_t bad = 0;
	for (int i = 0; i < 16; i++)
		bad += s->bad_frame[i];
	REPLY(c,
	      "{\"recv\":%u,\"sent\":%u,\"flood_tx\":%u,\"direct_tx\":%u,\"flood_rx\":%u,"
	      "\"direct_rx\":%u,\"recv_errors\":%u}",
	      s->recv, s->sent, s->flood_tx, s->direct_tx, s->flood_rx, s->direct_rx, bad);
}

static void c_stats_radio(struct cmd_ctx *c)
{
	const struct mesh_stats *s = &c->r->mesh->stats;
	REPLY(c,
	      "{\"noise_floor\":0,\"last_rssi\":%d,\"last_snr\":%.2f,\"tx_air_secs\":%llu,"
	      "\"rx_air_secs\":%llu}",
	      s->last_rssi, s->last_snr_x4 / 4.0, (unsigned long long)(s->tx_air_ms / 1000),
	      (unsigned long long)(s->rx_air_ms / 1000));
}

static void c_stats_core(struct cmd_ctx *c)
{
	REPLY(c, "{\"battery_mv\":0,\"uptime_secs\":%llu,\"errors\":%u,\"queue_len\":%u}",
	      (unsigned long long)((c->r->mesh->now_ms - c->r->start_ms) / 1000),
	      c->r->mesh->stats.err_flags, mesh_queue_len(c->r->mesh));
}

static void c_stats_room(struct cmd_ctx *c)
{
	const struct room_stats *s = &c->r->stats;
	REPLY(c,
	      "{\"members\":%zu,\"logins\":%u,\"bad_logins\":%u,\"posts\":%u,\"pushes\":%u,"
	      "\"push_acks\":%u,\"push_timeouts\":%u,\"store_errors\":%u}",
	      c->r->n_members, s->logins_ok, s->logins_bad, s->posts_stored, s->pushes, s->push_acks,
	      s->push_timeouts, s->store_errors);
}

static void c_get(struct cmd_ctx *c)
{
	struct room *r = c->r;
	char v[STORE_SETTING_VALUE_MAX], hex[129];
	const char *key = c->args;

	if (strcmp(key, "prv.key") == 0) {
		if (c->origin == CMD_REMOTE) {
			REPLY(c, "??: %s", key);
			return;
		}
		hex_encode_upper(hex, sizeof(hex), r->ep.id.prv, 64);
		REPLY(c, "> %s", hex);
		return;
	}
	if (strcmp(key, "public.key") == 0) {
		hex_encode_upper(hex, sizeof(hex), r->ep.id.pub, 32);
		REPLY(c, "> %s", hex);
		return;
	}
	if (strcmp(key, "role") == 0) {
		REPLY(c, "> room_server");
		return;
	}
	if (strcmp(key, "repeat") == 0) {
		REPLY(c, "> %s", r->mesh->cfg.repeat ? "on" : "off");
		return;
	}
	if (strcmp(key, "radio") == 0) {
		const struct lora_params *lp = &r->mesh->cfg.lp;
		REPLY(c, "> %.7g,%g,%u,%u", lp->freq_hz / 1e6, lp->bw_hz / 1000.0, lp->sf, lp->cr);
		return;
	}
	if (strcmp(key, "acl") == 0 && c->origin == CMD_REMOTE) {
		REPLY(c, "??: acl");
		return;
	}
	const struct setting_def *d = room_setting_find(key);
	if (!d || room_setting_format(&r->set, d, v, sizeof(v)) != ERR_OK) {
		REPLY(c, "??: %s", key);
		return;
	}
	REPLY(c, "> %s", v);
}

static void c_set(struct cmd_ctx *c)
{
	struct room *r = c->r;
	char key[64];
	const char *sp = strchr(c->args, ' ');
	if (!sp || (size_t)(sp - c->args) >= sizeof(key)) {
		REPLY(c, "unknown config: %s", c->args);
		return;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(sp - c->args), c->args);
	const char *val = sp + 1;
	if (strcmp(key, "repeat") == 0) {
		r->mesh->cfg.repeat = strncmp(val, "off", 3) != 0;
		if (r->hooks.radio_changed)
			r->hooks.radio_changed(r->hooks.ctx, r);
		REPLY(c, "OK - repeat is now %s", r->mesh->cfg.repeat ? "ON" : "OFF");
		return;
	}
	if (strcmp(key, "name") == 0 && strpbrk(val, "[]\\:,?*")) {
		REPLY(c, "Error, bad chars");
		return;
	}
	const struct setting_def *d = room_setting_find(key);
	if (!d) {
		REPLY(c, "unknown config: %s", c->args);
		return;
	}
	struct room_settings tmp = r->set;
	int rc = room_setting_parse(&tmp, d, val);
	if (rc == ERR_OK && strcmp(key, "advert.interval") == 0 && tmp.advert_interval_min &&
	    tmp.advert_interval_min < 60)
		rc = ERR_INVAL;
	if (rc == ERR_OK && strcmp(key, "flood.advert.interval") == 0 &&
	    tmp.flood_advert_interval_h && tmp.flood_advert_interval_h < 3)
		rc = ERR_INVAL;
	if (rc) {
		REPLY(c, "%s", d->range_err ? d->range_err : "Error, bad value");
		return;
	}
	r->set = tmp;
	settings_changed(r);
	REPLY(c, "OK");
}

/* moderation (ours) */

struct list_ctx {
	char *out;
	size_t cap, off;
};

static int list_post(void *ctx, const struct store_post *p)
{
	struct list_ctx *lc = ctx;
	if (lc->off >= lc->cap)
		return 1;
	int n = snprintf(lc->out + lc->off, lc->cap - lc->off, "%s%lld %02x%02x%02x%02x %.*s",
			 lc->off ? "\n" : "", (long long)p->id, p->author[0], p->author[1],
			 p->author[2], p->author[3], (int)(p->text_len > 40 ? 40 : p->text_len),
			 (const char *)p->text);
	if (n > 0)
		lc->off += (size_t)n;
	return 0;
}

static void c_post_list(struct cmd_ctx *c)
{
	unsigned long n = strtoul(c->args, NULL, 10);
	struct list_ctx lc = { c->reply, c->cap, 0 };
	c->reply[0] = 0;
	if (n == 0 || n > 50)
		n = c->origin == CMD_REMOTE ? 3 : 20;
	if (store_post_list_newest(c->r->store, c->r->store_id, (uint32_t)n, list_post, &lc))
		REPLY(c, "Err - store");
	else if (!lc.off)
		REPLY(c, "no posts");
}

static void c_post_delete(struct cmd_ctx *c)
{
	char *end;
	long long id = strtoll(c->args, &end, 10);
	if (end == c->args) {
		REPLY(c, "Err - bad params");
		return;
	}
	int rc = store_post_delete(c->r->store, c->r->store_id, id);
	REPLY(c, rc == ERR_OK ? "OK" : rc == ERR_NOT_FOUND ? "Err - not found" : "Err - store");
}

static int find_key(struct cmd_ctx *c, uint8_t key[32])
{
	int n = hex_decode(key, 32, c->args, strcspn(c->args, " "));
	if (n == 32)
		return ERR_OK;
	if (n <= 0)
		return ERR_FORMAT;
	for (size_t i = 0; i < c->r->n_members; i++) {
		if (memcmp(c->r->members[i].pub, key, (size_t)n) == 0) {
			memcpy(key, c->r->members[i].pub, 32);
			return ERR_OK;
		}
	}
	return ERR_NOT_FOUND;
}

static void c_ban(struct cmd_ctx *c)
{
	uint8_t key[32];
	if (find_key(c, key)) {
		REPLY(c, "Err - bad pubkey");
		return;
	}
	const char *reason = strchr(c->args, ' ');
	int rc = store_ban_add(c->r->store, c->r->store_id, key, room_rtc(c->r),
			       reason ? skip_spaces(reason) : "");
	struct room_member *m = room_member_find(c->r, key);
	if (m)
		m->pending = false, m->push_failures = 99;
	REPLY(c, rc ? "Err - store" : "OK - banned");
}

static void c_unban(struct cmd_ctx *c)
{
	uint8_t key[32];
	if (hex_decode(key, 32, c->args, strcspn(c->args, " ")) != 32) {
		REPLY(c, "Err - bad pubkey");
		return;
	}
	int rc = store_ban_remove(c->r->store, c->r->store_id, key);
	REPLY(c, rc == ERR_OK ? "OK" : "Err - not found");
}

static void c_members(struct cmd_ctx *c)
{
	size_t off = 0;
	c->reply[0] = 0;
	for (size_t i = 0; i < c->r->n_members && off < c->cap; i++) {
		const struct room_member *m = &c->r->members[i];
		int n = snprintf(c->reply + off, c->cap - off, "%s%02x%02x%02x%02x r%u s%u a%u",
				 off ? "\n" : "", m->pub[0], m->pub[1], m->pub[2], m->pub[3],
				 m->perms & 3, m->sync_since, m->last_activity);
		if (n > 0)
			off += (size_t)n;
	}
	if (!off)
		REPLY(c, "no members");
}

static void c_neighbors(struct cmd_ctx *c)
{
	REPLY(c, "not supported");
}

enum { LOCAL_ONLY = 1 };

static const struct cmd_def {
	const char *name; /* matched as a prefix of the line */
	void (*fn)(struct cmd_ctx *c);
	unsigned flags;
	const char *help;
} cmds[] = {
	{ "setperm ", c_setperm, 0, "setperm <hex> <perm>: set a member's permissions (0 removes)" },
	{ "get acl", c_get_acl, LOCAL_ONLY, "get acl: list members with permissions" },
	{ "room.post ", c_room_post, 0, "room.post <text>: post as the room" },
	{ "reboot", c_reboot, 0, "reboot: restart the daemon" },
	{ "advert.zerohop", c_advert_zerohop, 0, "advert.zerohop: zero-hop advert" },
	{ "advert", c_advert, 0, "advert: flood advert" },
	{ "clock sync", c_clock_sync, 0, "clock sync: set the clock from the command's time" },
	{ "clock", c_clock, 0, "clock: show the clock" },
	{ "time ", c_time, 0, "time <epoch>: set the clock (never backwards)" },
	{ "neighbors", c_neighbors, 0, "neighbors: not supported on a room" },
	{ "password ", c_password, 0, "password <pw>: set the admin password" },
	{ "clear stats", c_clear_stats, 0, "clear stats: reset counters" },
	{ "get ", c_get, 0, "get <key>: show a setting" },
	{ "set ", c_set, 0, "set <key> <value>: change a setting" },
	{ "ver", c_ver, 0, "ver: version" },
	{ "stats-packets", c_stats_packets, LOCAL_ONLY, "stats-packets: packet counters" },
	{ "stats-radio", c_stats_radio, LOCAL_ONLY, "stats-radio: radio counters" },
	{ "stats-core", c_stats_core, LOCAL_ONLY, "stats-core: uptime and queue" },
	{ "stats-room", c_stats_room, 0, "stats-room: room counters (roomd)" },
	{ "post.list", c_post_list, 0, "post.list [n]: newest posts with ids (roomd)" },
	{ "post.delete ", c_post_delete, 0, "post.delete <id>: delete a post (roomd)" },
	{ "ban ", c_ban, 0, "ban <hex> [reason]: ignore a key's logins and posts (roomd)" },
	{ "unban ", c_unban, 0, "unban <hex>: lift a ban (roomd)" },
	{ "members", c_members, 0, "members: members with role, sync point, activity (roomd)" },
};

int room_cmd(struct room *r, const char *line, uint32_t sender_ts, enum cmd_origin origin,
	     char *reply, size_t cap)
{
	char tag[4] = "";
	const char *s = skip_spaces(line);
	size_t tl = 0;

	reply[0] = 0;
	/* the companion app's "NN|" tag is echoed back at the start of the reply */
	if (strlen(s) > 4 && s[2] == '|') {
		memcpy(tag, s, 3);
		tag[3] = 0;
		s += 3;
		tl = 3;
	}
	if (cap <= tl + 1)
		return ERR_TOO_BIG;
	struct cmd_ctx c = { r, "", sender_ts, origin, reply + tl, cap - tl };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t n = strlen(cmds[i].name);
		if (strncmp(s, cmds[i].name, n) != 0)
			continue;
		if ((cmds[i].flags & LOCAL_ONLY) && origin == CMD_REMOTE)
			continue;
		c.args = skip_spaces(s + n);
		cmds[i].fn(&c);
		if (tl && reply[tl]) {
			memcpy(reply, tag, 3);
		} else if (tl) {
			memmove(reply, reply + tl, strlen(reply + tl) + 1);
		}
		return ERR_OK;
	}
	snprintf(reply, cap, "%sUnknown command", tag);
	return ERR_NOT_FOUND;
}

void room_cmd_help(char *out, size_t cap)
{
	size_t off = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]) && off < cap; i++) {
		int n = snprintf(out + off, cap - off, "  %s\n", cmds[i].help);
		if (n > 0)
			off += (size_t)n;
	}
}
