/*
 * cmd.c - the admin command table (PROTOCOL.md §8.2-§8.4).
 *
 * Matching is by prefix in table order, first match wins, as in the
 * firmware (so `advertise` is `advert`, and `reboot now` is `reboot`).  The
 * optional "NN|" tag prefix of the companion app is echoed in the reply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "room/cmd.h"
#include "room/regions.h"
#include "room/room.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/num.h"

struct cmd_ctx {
	struct room *r;
	const char *line; /* the whole command, tag removed */
	const char *args; /* text after the command name, spaces skipped */
	uint32_t sender_ts;
	enum cmd_origin origin;
	char *reply;
	size_t cap;
};

#define REPLY(c, ...) snprintf((c)->reply, (c)->cap, __VA_ARGS__)

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

/* Before this the clock cannot be right (2024-01-01). */
#define TIME_MIN 1704067200UL

/*
 * `time` moves the clock backwards too, unlike the firmware's: an admin must
 * be able to correct a clock that went ahead (issue 13.5).  Post times still
 * only increase (room_unique_time), and the time is saved at once, so a
 * restart does not bring the old one back.
 */
static void c_time(struct cmd_ctx *c)
{
	char t[40], *end;
	unsigned long v = strtoul(c->args, &end, 10);
	if (end == c->args || *skip_blanks(end) || c->args[0] == '-' || v > UINT32_MAX) {
		REPLY(c, "(ERR: '%s' is not a time: seconds since 1970 UTC, e.g. time 1738242833)",
		      c->args);
		return;
	}
	if (v < TIME_MIN) {
		format_clock(t, sizeof(t), (uint32_t)v);
		REPLY(c, "(ERR: clock cannot go before 2024: %lu is %s)", v, t);
		return;
	}
	room_clock_force(c->r->clock, c->r->mesh->now_ms, (uint32_t)v);
	room_clock_floor_save(c->r);
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
	if (!c->args[0]) {
		/* `password ` would let every blank login in as admin */
		REPLY(c, "Error, password must not be empty");
		return;
	}
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
	if (strlen(c->args) > ROOM_POST_MAX) { /* never cut silently */
		REPLY(c, "ERR too long: a post takes at most %d bytes (%zu given)", ROOM_POST_MAX,
		      strlen(c->args));
		return;
	}
	int rc = room_post(c->r, c->r->ep.id.pub, 0, c->args, strlen(c->args), NULL);
	REPLY(c, rc ? "ERR %s" : "OK", err_str(rc));
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

static bool is_local(const struct cmd_ctx *c);

static void c_stats_room(struct cmd_ctx *c)
{
	const struct room_stats *s = &c->r->stats;
	REPLY(c,
	      "{\"members\":%zu,\"logins\":%u,\"bad_logins\":%u,\"posts\":%u,\"pushes\":%u,"
	      "\"push_acks\":%u,\"push_timeouts\":%u,\"store_errors\":%u,\"given_up\":%u,"
	      "\"silent_air_s\":%u}",
	      c->r->n_members, s->logins_ok, s->logins_bad, s->posts_stored, s->pushes,
	      s->push_acks, s->push_timeouts, s->store_errors, s->push_given_up,
	      (unsigned)(s->push_silent_air_ms / 1000));
	/* the federation's status, at a local door (too long for a radio reply) */
	size_t n = strlen(c->reply);
	char fed[768];
	if (is_local(c) && c->r->hooks.status && n > 0 && c->reply[n - 1] == '}' &&
	    c->r->hooks.status(c->r->hooks.ctx, c->r, fed, sizeof(fed)) > 0)
		snprintf(c->reply + n - 1, c->cap - (n - 1), ",\"posts_federated\":%u,\"fed\":%s}",
		         s->posts_federated, fed);
}

/* ---- node-wide settings (§8.3, §8.4): the radio and the mesh ---- */

static bool is_local(const struct cmd_ctx *c)
{
	return c->origin != CMD_REMOTE; /* the firmware's sender_timestamp == 0 */
}

/* Node-wide settings are stored as global settings (room 0) under the names
 * of the config file, which the daemon reads over the file at start. */
static void node_save(struct room *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void node_save(struct room *r, const char *key, const char *fmt, ...)
{
	char v[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (store_setting_set(r->store, 0, key, v) != ERR_OK)
		r->stats.store_errors++;
}

static void node_save_radio(struct room *r)
{
	const struct lora_params *lp = &r->node->lp;
	char f[24], bw[24];
	room_decimal_format(lp->freq_hz, 6, f, sizeof(f));
	room_decimal_format(lp->bw_hz, 3, bw, sizeof(bw));
	node_save(r, "freq", "%s", f); /* exact: integer Hz, as typed */
	node_save(r, "bw", "%s", bw);
	node_save(r, "sf", "%u", lp->sf);
	node_save(r, "cr", "%u", lp->cr);
}

static void radio_changed(struct room *r)
{
	if (r->hooks.radio_changed)
		r->hooks.radio_changed(r->hooks.ctx, r);
}

static const char *get_ftoa(char *buf, size_t cap, double v)
{
	room_ftoa((float)v, buf, cap);
	return buf;
}

/* "f,bw,sf,cr[,mins]" in the firmware's ranges; frequency and bandwidth are
 * exact decimals (integer Hz: a float made 869.618 MHz 869617981 Hz). */
static int parse_radio(const char *s, struct lora_params *lp, int *mins)
{
	char buf[96], *parts[5] = {0};
	int n = 0;
	uint32_t f = 0, bw = 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = buf; n < 5;) {
		parts[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = 0;
	}
	long sf = n > 2 ? strtol(parts[2], NULL, 10) : 0,
	     cr = n > 3 ? strtol(parts[3], NULL, 10) : 0;
	long m = n > 4 ? strtol(parts[4], NULL, 10) : 0;
	if (n < 4 || room_decimal_parse(parts[0], 6, &f) != ERR_OK ||
	    room_decimal_parse(parts[1], 3, &bw) != ERR_OK)
		return ERR_INVAL;
	if (!(f >= 150000000u && f <= 2500000000u && bw >= 7000 && bw <= 500000 && sf >= 5 &&
	      sf <= 12 && cr >= 5 && cr <= 8))
		return ERR_INVAL;
	lp->freq_hz = f;
	lp->bw_hz = bw;
	lp->sf = (uint8_t)sf;
	lp->cr = (uint8_t)cr;
	lp->preamble = 0;
	if (mins) {
		if (m <= 0 || m > 1000000)
			return ERR_INVAL;
		*mins = (int)m;
	}
	return ERR_OK;
}

/* The reply to a change of the saved radio: says when the room will leave
 * the channel it is on now (its members stay there unless they move too). */
static void reply_radio_saved(struct cmd_ctx *c)
{
	const struct room_node *n = c->r->node;
	char now[64], next[64];
	room_radio_format(&n->lp, next, sizeof(next));
	room_radio_format(&n->run_lp, now, sizeof(now));
	if (strcmp(now, next) == 0)
		REPLY(c, "OK - reboot to apply");
	else
		REPLY(c,
		      "OK - reboot to apply: %s; the room is on %s now, members there will "
		      "not hear it",
		      next, now);
}

static void c_tempradio(struct cmd_ctx *c)
{
	struct room_node *n = c->r->node;
	struct lora_params lp;
	int mins;
	if (parse_radio(c->args, &lp, &mins) != ERR_OK) {
		REPLY(c, "Error, invalid params");
		return;
	}
	/* 2 s for the reply to leave on the old parameters */
	n->temp_lp = lp;
	n->temp_apply_ms = c->r->mesh->now_ms + 2000;
	n->temp_revert_ms = n->temp_apply_ms + (uint64_t)mins * 60000;
	REPLY(c, "OK - temp params for %d mins", mins);
}

static void dutycycle_text(char *out, size_t cap, double af)
{
	float dc = 100.0f / ((float)af + 1.0f);
	int i = (int)dc;
	snprintf(out, cap, "%d.%d%%", i, (int)((dc - (float)i) * 10.0f + 0.5f));
}

static void c_get(struct cmd_ctx *c)
{
	struct room *r = c->r;
	const struct mesh_cfg *mc = &r->mesh->cfg;
	const struct room_node *nd = r->node;
	char v[STORE_SETTING_VALUE_MAX], hex[129], a[24];
	char key[64];
	size_t kl = strlen(c->args);

	while (kl && c->args[kl - 1] == ' ')
		kl--;
	snprintf(key, sizeof(key), "%.*s", (int)kl, c->args);
	const struct setting_def *sd = setting_lookup(key);
	if (sd) /* the guide's spellings (advert_lat) read the key (lat) */
		snprintf(key, sizeof(key), "%s", sd->key);
#define IS(k) (strcmp(key, k) == 0)
	if (IS("prv.key") && !is_local(c)) {
		REPLY(c, "Err - get prv.key is console only");
	} else if (IS("prv.key")) {
		hex_encode_upper(hex, sizeof(hex), r->ep.id.prv, 64);
		REPLY(c, "> %s", hex);
	} else if (IS("public.key")) {
		hex_encode_upper(hex, sizeof(hex), r->ep.id.pub, 32);
		REPLY(c, "> %s", hex);
	} else if (IS("role")) {
		REPLY(c, "> room_server");
	} else if (IS("repeat")) {
		REPLY(c, "> %s", mc->repeat ? "on" : "off");
	} else if (IS("radio")) {
		/* as typed, not the firmware's float text (869.618, not 869.6179809) */
		room_radio_format(&nd->lp, v, sizeof(v));
		REPLY(c, "> %s", v);
	} else if (IS("freq")) {
		room_decimal_format(nd->lp.freq_hz, 6, a, sizeof(a));
		REPLY(c, "> %s", a);
	} else if (IS("bw")) {
		room_decimal_format(nd->lp.bw_hz, 3, a, sizeof(a));
		REPLY(c, "> %s", a);
	} else if (IS("sf") || IS("cr")) {
		REPLY(c, "> %u", IS("sf") ? nd->lp.sf : nd->lp.cr);
	} else if (IS("tx")) {
		REPLY(c, "> %d", nd->tx_dbm);
	} else if (IS("dutycycle")) {
		dutycycle_text(a, sizeof(a), mc->airtime_factor);
		REPLY(c, "> %s", a);
	} else if (IS("af")) {
		REPLY(c, "> %s", get_ftoa(a, sizeof(a), mc->airtime_factor));
	} else if (IS("txdelay")) {
		REPLY(c, "> %s", get_ftoa(a, sizeof(a), mc->tx_delay_factor));
	} else if (IS("direct.txdelay")) {
		REPLY(c, "> %s", get_ftoa(a, sizeof(a), mc->direct_tx_delay_factor));
	} else if (IS("flood.max")) {
		REPLY(c, "> %u", mc->flood_max);
	} else if (IS("flood.max.unscoped")) {
		REPLY(c, "> %u", mc->flood_max_unscoped);
	} else if (IS("flood.max.advert")) {
		REPLY(c, "> %u", mc->flood_max_advert);
	} else if (IS("owner.info")) {
		snprintf(v, sizeof(v), "%s", r->set.owner_info);
		for (char *p = v; *p; p++)
			if (*p == '\n')
				*p = '|';
		REPLY(c, "> %s", v);
	} else if (IS("radio.rxgain")) {
		REPLY(c, "> off");
	} else if (IS("radio.fem.rxgain") || IS("radio.fem.txgain") || IS("bootloader.ver") ||
	           IS("adc.multiplier")) {
		REPLY(c, "Error: unsupported");
	} else if (IS("bridge.type")) {
		REPLY(c, "> none");
	} else if (IS("pwrmgt.support")) {
		REPLY(c, "> unsupported");
	} else if (IS("pwrmgt.source") || IS("pwrmgt.bootreason") || IS("pwrmgt.bootmv")) {
		REPLY(c, "ERROR: Power management not supported");
	} else if (IS("extra.sf")) {
		REPLY(c, "No extra SF configured");
	} else {
		const struct setting_def *d = IS("prv.key") ? NULL : room_setting_find(key);
		if (!d || room_setting_format(&r->set, d, v, sizeof(v)) != ERR_OK) {
			REPLY(c, "??: %s", key);
			return;
		}
		if (d->type == SET_DOUBLE) /* lat, lon, rxdelay: the firmware's float text */
			get_ftoa(v, sizeof(v),
			         *(const double *)((const char *)&r->set + d->offset));
		REPLY(c, "> %s", v);
	}
#undef IS
}

static void set_prv_key(struct cmd_ctx *c, const char *val)
{
	uint8_t prv[CRYPTO_PRV_SIZE];
	struct ident id;
	char hex[65];
	int rc = ERR_FORMAT;
	if (hex_decode(prv, sizeof(prv), val, strlen(val)) == CRYPTO_PRV_SIZE)
		rc = ident_from_prv(&id, prv);
	crypto_wipe(prv, sizeof(prv));
	if (rc != ERR_OK) {
		REPLY(c, "Error, bad key");
		return;
	}
	rc = c->r->hooks.save_identity ? c->r->hooks.save_identity(c->r->hooks.ctx, c->r, &id)
	                               : ERR_INVAL;
	hex_encode_upper(hex, sizeof(hex), id.pub, 32);
	ident_wipe(&id);
	if (rc != ERR_OK) {
		REPLY(c, "Error, bad key");
		return;
	}
	REPLY(c, "OK, reboot to apply! New pubkey: %s", hex);
}

/* A node-wide number: parsed as the firmware does (atof), checked against
 * the key's range in the settings table. */
static bool set_num(struct cmd_ctx *c, const char *key, const char *val, double *out)
{
	const struct setting_def *d = node_setting_find(key);
	double v = strtod(val, NULL);
	if (!d || !(v >= d->min && v <= d->max)) {
		REPLY(c, "%s", d && d->range_err ? d->range_err : "Error, bad value");
		return false;
	}
	*out = v;
	return true;
}

/* set bw / sf / cr: one part of the saved radio (roomd's, as in roomd.conf). */
static bool set_radio_part(struct cmd_ctx *c, const char *key, const char *val)
{
	const struct setting_def *d = node_setting_find(key);
	struct lora_params *lp = &c->r->node->lp;
	uint32_t v;
	char *end;
	bool ok;
	if (key[0] == 'b') {
		ok = room_decimal_parse(val, 3, &v) == ERR_OK && v >= d->min * 1e3 &&
		     v <= d->max * 1e3;
	} else {
		unsigned long n = strtoul(val, &end, 10);
		ok = end != val && !*end && n >= d->min && n <= d->max;
		v = (uint32_t)n;
	}
	if (!ok) {
		REPLY(c, "%s", d->range_err);
		return false;
	}
	if (key[0] == 'b')
		lp->bw_hz = v;
	else if (key[0] == 's')
		lp->sf = (uint8_t)v;
	else
		lp->cr = (uint8_t)v;
	return true;
}

/* Keys of the mesh and the radio; returns false if key is not one of them. */
static bool set_node(struct cmd_ctx *c, const char *key, const char *val)
{
	struct room *r = c->r;
	struct mesh_cfg *mc = &r->mesh->cfg;
	double v;
	char t[24];

	if (strcmp(key, "repeat") == 0) {
		mc->repeat = strncmp(val, "off", 3) != 0;
		node_save(r, "repeat", "%s", mc->repeat ? "on" : "off");
		REPLY(c, "OK - repeat is now %s", mc->repeat ? "ON" : "OFF");
	} else if (strcmp(key, "dutycycle") == 0) {
		if (!set_num(c, key, val, &v))
			return true;
		mc->airtime_factor = 100.0 / v - 1.0;
		node_save(r, "af", "%.6f", mc->airtime_factor);
		dutycycle_text(t, sizeof(t), mc->airtime_factor);
		REPLY(c, "OK - %s", t);
	} else if (strcmp(key, "af") == 0) {
		if (!set_num(c, key, val, &v))
			return true;
		mc->airtime_factor = v;
		node_save(r, "af", "%.6f", v);
		REPLY(c, "OK");
	} else if (strcmp(key, "txdelay") == 0 || strcmp(key, "direct.txdelay") == 0) {
		if (!set_num(c, key, val, &v))
			return true;
		*(key[0] == 't' ? &mc->tx_delay_factor : &mc->direct_tx_delay_factor) = v;
		node_save(r, key, "%.6f", v);
		REPLY(c, "OK");
	} else if (strcmp(key, "flood.max") == 0 || strcmp(key, "flood.max.unscoped") == 0 ||
	           strcmp(key, "flood.max.advert") == 0) {
		if (!set_num(c, key, val, &v))
			return true;
		uint8_t *f = strcmp(key, "flood.max") == 0          ? &mc->flood_max
		             : strcmp(key, "flood.max.advert") == 0 ? &mc->flood_max_advert
		                                                    : &mc->flood_max_unscoped;
		*f = (uint8_t)v;
		node_save(r, key, "%u", *f);
		REPLY(c, "OK");
	} else if (strcmp(key, "radio") == 0) {
		struct lora_params lp;
		if (parse_radio(val, &lp, NULL) != ERR_OK) {
			REPLY(c, "Error, invalid radio params");
			return true;
		}
		r->node->lp = lp;
		node_save_radio(r);
		reply_radio_saved(c);
	} else if ((strcmp(key, "freq") == 0 || strcmp(key, "prv.key") == 0) && !is_local(c)) {
		REPLY(c, "Err - set %s is console only", key); /* as in the firmware */
	} else if (strcmp(key, "freq") == 0) {
		const struct setting_def *fd = node_setting_find("freq");
		uint32_t hz;
		if (room_decimal_parse(val, 6, &hz) != ERR_OK || hz < fd->min * 1e6 ||
		    hz > fd->max * 1e6) {
			REPLY(c, "%s", fd->range_err);
			return true;
		}
		r->node->lp.freq_hz = hz;
		node_save_radio(r);
		reply_radio_saved(c);
	} else if (strcmp(key, "bw") == 0 || strcmp(key, "sf") == 0 || strcmp(key, "cr") == 0) {
		if (!set_radio_part(c, key, val))
			return true;
		node_save_radio(r);
		reply_radio_saved(c);
	} else if (strcmp(key, "tx") == 0) {
		/* the firmware takes any number; a KISS modem takes -9..30 dBm */
		if (!set_num(c, key, val, &v))
			return true;
		r->node->tx_dbm = (int)v;
		node_save(r, "tx", "%d", r->node->tx_dbm);
		radio_changed(r);
		REPLY(c, "OK");
	} else if (strcmp(key, "radio.rxgain") == 0 || strncmp(key, "radio.fem.", 10) == 0 ||
	           strcmp(key, "adc.multiplier") == 0) {
		REPLY(c, "Error: unsupported");
	} else if (strcmp(key, "prv.key") == 0) {
		set_prv_key(c, val);
	} else {
		return false;
	}
	return true;
}

/* "unknown config: KEY; did you mean a, b?" */
static void reply_unknown_key(struct cmd_ctx *c, const char *key)
{
	char near[128];
	setting_suggest(key, 3, near, sizeof(near));
	if (near[0])
		REPLY(c, "unknown config: %s; did you mean %s? ('help set' lists every key)", key,
		      near);
	else
		REPLY(c, "unknown config: %s ('help set' lists every key)", key);
}

/* A room key: parsed on a copy, refused with the key's own error. */
static void set_room_key(struct cmd_ctx *c, const struct setting_def *d, char *val)
{
	struct room *r = c->r;
	const char *key = d->key;
	char range[64];
	if (strcmp(key, "name") == 0 && strpbrk(val, "[]\\:,?*")) {
		REPLY(c, "Error, bad chars");
		return;
	}
	if (strcmp(key, "owner.info") == 0)
		for (char *p = val; *p; p++)
			if (*p == '|')
				*p = '\n';
	struct room_settings tmp = r->set;
	int rc = room_setting_parse(&tmp, d, val);
	if (rc == ERR_OK && strcmp(key, "advert.interval") == 0 && tmp.advert_interval_min &&
	    tmp.advert_interval_min < 60)
		rc = ERR_INVAL;
	if (rc == ERR_OK && strcmp(key, "flood.advert.interval") == 0 &&
	    tmp.flood_advert_interval_h && tmp.flood_advert_interval_h < 3)
		rc = ERR_INVAL;
	if (rc == ERR_OK && strcmp(key, "loop.detect") == 0 && strcmp(val, "off") != 0 &&
	    strcmp(val, "minimal") != 0 && strcmp(val, "moderate") != 0 &&
	    strcmp(val, "strict") != 0)
		rc = ERR_INVAL;
	if (rc == ERR_TOO_BIG) {
		REPLY(c, "Error, too long: %s takes at most %zu bytes (%zu given)", key,
		      d->size - 1, strlen(val));
		return;
	}
	if (rc) {
		setting_range_text(d, range, sizeof(range));
		if (d->range_err)
			REPLY(c, "%s", d->range_err);
		else
			REPLY(c, "Error, bad value for %s: %s", key, range);
		return;
	}
	if (strcmp(key, "agc.reset.interval") == 0)
		tmp.agc_reset_interval_s -= tmp.agc_reset_interval_s % 4; /* stored as secs / 4 */
	r->set = tmp;
	settings_changed(r);
	if (strcmp(key, "agc.reset.interval") == 0)
		REPLY(c, "OK - interval rounded to %u", r->set.agc_reset_interval_s);
	else
		REPLY(c, "OK");
}

static void c_set(struct cmd_ctx *c)
{
	char key[64], val[STORE_SETTING_VALUE_MAX], range[64];
	size_t kl = strcspn(c->args, " ");
	if (kl >= sizeof(key)) {
		REPLY(c, "unknown config: %s", c->args);
		return;
	}
	snprintf(key, sizeof(key), "%.*s", (int)kl, c->args);
	const struct setting_def *d = setting_lookup(key);
	if (!d) {
		reply_unknown_key(c, key);
		return;
	}
	if (!c->args[kl]) {
		setting_range_text(d, range, sizeof(range));
		REPLY(c, "Err - set %s needs a value: %s", d->key, range);
		return;
	}
	snprintf(val, sizeof(val), "%s", c->args + kl + 1);
	setting_unquote(val); /* set name "Valley Room Server" */
	if (d->type == SET_NODE) {
		if (!set_node(c, d->key, val))
			reply_unknown_key(c, key);
	} else {
		set_room_key(c, d, val);
	}
	/* an alias is answered with the key's name, so people learn it */
	size_t n = strlen(c->reply);
	if (strcmp(key, d->key) != 0 && n < c->cap)
		snprintf(c->reply + n, c->cap - n, " (%s is %s)", key, d->key);
}

/* help set [KEY]: every key of `set` with its range, or one. */
static void c_help_set(struct cmd_ctx *c)
{
	size_t off = 0;
	c->reply[0] = 0;
	if (*c->args) {
		const struct setting_def *d = setting_lookup(c->args);
		if (!d)
			reply_unknown_key(c, c->args);
		else
			setting_help_line(d, c->reply, c->cap);
		return;
	}
	if (c->origin == CMD_REMOTE) { /* the list is longer than a radio reply */
		REPLY(c, "Err - over the radio: help set <key>; the whole list on the console");
		return;
	}
	for (size_t i = 0; i < room_setting_count + node_setting_count && off < c->cap; i++) {
		const struct setting_def *d = i < room_setting_count
		                                  ? &room_setting_defs[i]
		                                  : &node_setting_defs[i - room_setting_count];
		if (off) {
			if (off + 1 >= c->cap)
				break;
			c->reply[off++] = '\n';
			c->reply[off] = 0;
		}
		int n = setting_help_line(d, c->reply + off, c->cap - off);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* ---- log (§8.2): a packet log kept by the program ---- */

static void c_log_op(struct cmd_ctx *c, int op, const char *ok)
{
	if (op == ROOM_LOG_START || op == ROOM_LOG_STOP)
		c->r->node->log_on = op == ROOM_LOG_START;
	if (c->r->hooks.packet_log)
		c->r->hooks.packet_log(c->r->hooks.ctx, c->r, op, NULL, 0);
	REPLY(c, "%s", ok);
}

static void c_log_start(struct cmd_ctx *c)
{
	c_log_op(c, ROOM_LOG_START, "   logging on");
}

static void c_log_stop(struct cmd_ctx *c)
{
	c_log_op(c, ROOM_LOG_STOP, "   logging off");
}

static void c_log_erase(struct cmd_ctx *c)
{
	c_log_op(c, ROOM_LOG_ERASE, "   log erased");
}

static void c_log_dump(struct cmd_ctx *c)
{
	size_t off = 0;
	c->reply[0] = 0;
	if (c->r->hooks.packet_log && c->cap > 8) {
		c->r->hooks.packet_log(c->r->hooks.ctx, c->r, ROOM_LOG_DUMP, c->reply, c->cap - 8);
		off = strlen(c->reply);
	}
	snprintf(c->reply + off, c->cap - off, "   EOF");
}

/* ---- the rest of the firmware's table ---- */

static void c_region(struct cmd_ctx *c)
{
	room_region_cmd(c->r, c->line, c->reply, c->cap);
}

static void c_neighbor_remove(struct cmd_ctx *c)
{
	uint8_t key[32];
	int n = hex_decode(key, sizeof(key), c->args, strcspn(c->args, " "));
	REPLY(c, n > 0 ? "OK" : "ERR: bad pubkey");
}

static void c_start_ota(struct cmd_ctx *c)
{
	REPLY(c, "Error");
}

static void c_board(struct cmd_ctx *c)
{
	REPLY(c, "Linux (roomd)");
}

static void c_erase(struct cmd_ctx *c)
{
	/* the database is not a flash file system: never wiped by a command */
	REPLY(c, "File system erase: Err");
}

static void c_sensor(struct cmd_ctx *c)
{
	if (strncmp(c->args, "get ", 4) == 0)
		REPLY(c, "null");
	else if (strncmp(c->args, "set ", 4) == 0)
		REPLY(c, "can't find custom var");
	else if (strncmp(c->args, "list", 4) == 0)
		REPLY(c, "no custom var");
	else
		REPLY(c, "Unknown command");
}

static void c_powersaving(struct cmd_ctx *c)
{
	if (*c->args)
		REPLY(c, "Board not supported");
	else
		REPLY(c, "off");
}

/* moderation (ours) */

static void format_when(char *out, size_t cap, uint32_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t) {
		snprintf(out, cap, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

struct list_ctx {
	char *out;
	size_t cap, off;
};

struct post_list_ctx {
	struct list_ctx lc;
	const struct room *r;
};

/* "who" of a post: the room itself, or the author's key prefix */
static void author_text(const struct room *r, const uint8_t *pub, char *out, size_t cap)
{
	const struct room_member *m = room_member_find((struct room *)r, pub);
	char hex[17];
	hex_encode(hex, sizeof(hex), pub, 8);
	if (memcmp(pub, r->ep.id.pub, 32) == 0)
		snprintf(out, cap, "(room)");
	else if (m && m->name[0])
		snprintf(out, cap, "%s %.31s", hex, m->name);
	else
		snprintf(out, cap, "%s", hex);
}

static int list_post(void *ctx, const struct store_post *p)
{
	struct post_list_ctx *pc = ctx;
	struct list_ctx *lc = &pc->lc;
	char when[24], who[56];
	if (lc->off >= lc->cap)
		return 1;
	format_when(when, sizeof(when), p->post_ts);
	author_text(pc->r, p->author, who, sizeof(who));
	int n =
	    snprintf(lc->out + lc->off, lc->cap - lc->off, "\n%lld %s %s: %.*s", (long long)p->id,
	             when, who, (int)(p->text_len > 40 ? 40 : p->text_len), (const char *)p->text);
	if (n > 0)
		lc->off += (size_t)n;
	return 0;
}

/* post.list [n]: newest first, with id, time (UTC), author and the start of the text */
static void c_post_list(struct cmd_ctx *c)
{
	unsigned long n = strtoul(c->args, NULL, 10);
	struct post_list_ctx pc = {{c->reply, c->cap, 0}, c->r};
	pc.lc.off = (size_t)snprintf(c->reply, c->cap, "id time (UTC) author: text");
	size_t head = pc.lc.off;
	if (n == 0 || n > 50)
		n = c->origin == CMD_REMOTE ? 3 : 20;
	/* a positive result is list_post saying the reply is full */
	if (store_post_list_newest(c->r->store, c->r->store_id, (uint32_t)n, list_post, &pc) < 0)
		REPLY(c, "Err - store");
	else if (pc.lc.off == head)
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
	if (c->r->hooks.post_deleting)
		c->r->hooks.post_deleting(c->r->hooks.ctx, c->r, id);
	int rc = store_post_delete(c->r->store, c->r->store_id, id);
	REPLY(c, rc == ERR_OK ? "OK" : rc == ERR_NOT_FOUND ? "Err - not found" : "Err - store");
}

/* ---- keys typed by an admin: one rule for every command (issue 14) ----
 * A full key (64 hex digits), or a prefix of at least KEY_PREFIX_MIN bytes
 * that names exactly one key among the members (in memory and in the store)
 * and the banned keys; an ambiguous prefix lists its candidates. */

#define KEY_PREFIX_MIN 4
#define KEY_CANDIDATES 8

struct key_match {
	uint8_t prefix[32];
	size_t len;
	uint8_t found[KEY_CANDIDATES][32];
	unsigned n; /* distinct keys found (may exceed KEY_CANDIDATES) */
};

static void key_match_add(struct key_match *km, const uint8_t *pub)
{
	if (memcmp(pub, km->prefix, km->len) != 0)
		return;
	for (unsigned i = 0; i < km->n && i < KEY_CANDIDATES; i++)
		if (memcmp(km->found[i], pub, 32) == 0)
			return;
	if (km->n < KEY_CANDIDATES)
		memcpy(km->found[km->n], pub, 32);
	km->n++;
}

static int key_match_member(void *ctx, const struct store_member *m)
{
	key_match_add(ctx, m->pub);
	return 0;
}

static int key_match_ban(void *ctx, const struct store_ban *b)
{
	key_match_add(ctx, b->pub);
	return 0;
}

/* Resolves the first word of c->args to a full key; on failure replies with
 * what is wrong and returns an error. */
static int resolve_key(struct cmd_ctx *c, uint8_t key[32])
{
	struct room *r = c->r;
	size_t hl = strcspn(c->args, " ");
	struct key_match km;
	char hex[65];
	int n = hex_decode(km.prefix, sizeof(km.prefix), c->args, hl);
	if (n < 0 || hl % 2) {
		REPLY(c, "Err - bad pubkey: give hex digits (a prefix of at least %d)",
		      KEY_PREFIX_MIN * 2);
		return ERR_FORMAT;
	}
	if (n == 32) {
		memcpy(key, km.prefix, 32);
		return ERR_OK;
	}
	if (n < KEY_PREFIX_MIN) {
		REPLY(c, "Err - key prefix too short: give at least %d hex digits",
		      KEY_PREFIX_MIN * 2);
		return ERR_INVAL;
	}
	km.len = (size_t)n;
	km.n = 0;
	for (size_t i = 0; i < r->n_members; i++)
		key_match_add(&km, r->members[i].pub);
	if (store_member_list(r->store, r->store_id, key_match_member, &km) != ERR_OK ||
	    store_ban_list(r->store, r->store_id, key_match_ban, &km) != ERR_OK) {
		REPLY(c, "Err - store");
		return ERR_STORE;
	}
	if (km.n == 1) {
		memcpy(key, km.found[0], 32);
		return ERR_OK;
	}
	if (km.n == 0) {
		REPLY(c, "Err - no member or banned key starts with %.*s", (int)hl, c->args);
		return ERR_NOT_FOUND;
	}
	size_t off = (size_t)snprintf(c->reply, c->cap,
	                              "Err - %.*s is ambiguous (%u keys), give "
	                              "more digits:",
	                              (int)hl, c->args, km.n);
	for (unsigned i = 0; i < km.n && i < KEY_CANDIDATES && off < c->cap; i++) {
		hex_encode(hex, sizeof(hex), km.found[i], 8);
		off += (size_t)snprintf(c->reply + off, c->cap - off, " %s", hex);
	}
	return ERR_INVAL;
}

static void c_setperm(struct cmd_ctx *c)
{
	struct room *r = c->r;
	const char *sp = strchr(c->args, ' ');
	uint8_t key[32];
	char *end;
	if (!sp || !*skip_blanks(sp)) {
		REPLY(c, "Err - bad params: setperm <key or prefix> <perm>");
		return;
	}
	unsigned long perm = strtoul(skip_blanks(sp), &end, 10);
	if (*skip_blanks(end) || perm > 255) {
		REPLY(c,
		      "Err - bad params: perm is 0-255 (0 removes, 1 read, 2 read-write, 3 admin)");
		return;
	}
	if (resolve_key(c, key) != ERR_OK)
		return;
	struct room_member *m = room_member_find(r, key);
	if (acl_role(perm) == ACL_ROLE_GUEST) {
		if (!m) { /* a member only in the store */
			int rc = store_member_delete(r->store, r->store_id, key);
			REPLY(c, rc == ERR_OK          ? "OK"
			         : rc == ERR_NOT_FOUND ? "Err - not a member"
			                               : "Err - store");
			return;
		}
		room_member_remove(r, m);
		REPLY(c, "OK");
		return;
	}
	if (!m)
		m = room_member_put(r, key, (uint8_t)perm);
	if (!m) {
		REPLY(c, "Err - invalid params");
		return;
	}
	room_member_set_perms(r, m, (uint8_t)perm); /* written by the next tick */
	REPLY(c, "OK");
}

static void c_ban(struct cmd_ctx *c)
{
	uint8_t key[32];
	if (resolve_key(c, key) != ERR_OK)
		return;
	const char *reason = strchr(c->args, ' ');
	int rc = store_ban_add(c->r->store, c->r->store_id, key, room_rtc(c->r),
	                       reason ? skip_blanks(reason) : "");
	struct room_member *m = room_member_find(c->r, key);
	if (m)
		m->pending = false, m->push_failures = 99;
	if (!rc && c->r->hooks.ban_changed)
		c->r->hooks.ban_changed(c->r->hooks.ctx, c->r, key, true, room_rtc(c->r));
	REPLY(c, rc ? "Err - store" : "OK - banned");
}

static void c_unban(struct cmd_ctx *c)
{
	uint8_t key[32];
	if (resolve_key(c, key) != ERR_OK)
		return;
	/* a ban holds for both forms of a key (bit 255, crypto.h): lift both */
	int rc = store_ban_remove(c->r->store, c->r->store_id, key);
	key[CRYPTO_PUB_SIGN_BYTE] ^= CRYPTO_PUB_SIGN_BIT;
	if (store_ban_remove(c->r->store, c->r->store_id, key) == ERR_OK)
		rc = ERR_OK;
	if (rc == ERR_OK && c->r->hooks.ban_changed) {
		c->r->hooks.ban_changed(c->r->hooks.ctx, c->r, key, false, room_rtc(c->r));
		key[CRYPTO_PUB_SIGN_BYTE] ^= CRYPTO_PUB_SIGN_BIT;
		c->r->hooks.ban_changed(c->r->hooks.ctx, c->r, key, false, room_rtc(c->r));
	}
	REPLY(c, rc == ERR_OK ? "OK" : rc == ERR_NOT_FOUND ? "Err - not banned" : "Err - store");
}

static int list_ban(void *ctx, const struct store_ban *b)
{
	struct list_ctx *lc = ctx;
	char hex[17], when[24];
	if (lc->off >= lc->cap)
		return 1;
	hex_encode(hex, sizeof(hex), b->pub, 8);
	format_when(when, sizeof(when), b->when);
	int n = snprintf(lc->out + lc->off, lc->cap - lc->off, "\n%s %s %s", hex, when,
	                 b->reason[0] ? b->reason : "-");
	if (n > 0)
		lc->off += (size_t)n;
	return 0;
}

/* bans: every banned key (16 hex digits: enough for unban), when (UTC), reason */
static void c_bans(struct cmd_ctx *c)
{
	struct list_ctx lc = {c->reply, c->cap, 0};
	lc.off = (size_t)snprintf(c->reply, c->cap, "key              banned (UTC)        reason");
	size_t head = lc.off;
	if (store_ban_list(c->r->store, c->r->store_id, list_ban, &lc) < 0)
		REPLY(c, "Err - store");
	else if (lc.off == head)
		REPLY(c, "no bans");
}

/* roomd: a consistent copy of the database while running (local doors only). */
static void c_backup(struct cmd_ctx *c)
{
	if (!c->r->hooks.backup) {
		REPLY(c, "Err - no backup here");
		return;
	}
	if (c->args[0] != '/') {
		REPLY(c, "Err - give an absolute path");
		return;
	}
	/* through the program: the library writes no file it was not given */
	char note[512] = "";
	int rc = c->r->hooks.backup(c->r->hooks.ctx, c->r, c->args, note, sizeof(note));
	if (rc == ERR_OK)
		REPLY(c, "OK - backup written to %s%s%s", c->args, note[0] ? "; " : "", note);
	else if (rc == ERR_INVAL)
		REPLY(c, "Err - not there (the live database, or a batch is open)");
	else
		REPLY(c, "Err - backup failed (see the log)");
}

static const char *role_name(uint8_t perms)
{
	static const char *const names[] = {"guest", "read", "write", "admin"};
	return names[acl_role(perms)];
}

#define MEMBERS_HEADER "key              role  synced to (UTC)     last seen (UTC)     name"

/* One line of `members`; returns what snprintf returned. */
static int member_line(char *out, size_t cap, const uint8_t *pub, uint8_t perms, uint32_t sync,
                       uint32_t seen, const char *name)
{
	char hex[17], s[24], a[24];
	hex_encode(hex, sizeof(hex), pub, 8);
	format_when(s, sizeof(s), sync);
	format_when(a, sizeof(a), seen);
	return snprintf(out, cap, "\n%s %-5s %-19s %-19s %.31s", hex, role_name(perms), s, a,
	                name && name[0] ? name : "-");
}

/* members [KEY]: a header, then key (16 hex digits), role, synced to, last
 * seen (UTC) and the name from its latest advert; with a key, that member
 * (also one only in the store). */
static void c_members(struct cmd_ctx *c)
{
	size_t off = (size_t)snprintf(c->reply, c->cap, MEMBERS_HEADER);
	if (*c->args) {
		uint8_t key[32];
		struct store_member sm;
		if (resolve_key(c, key) != ERR_OK)
			return;
		const struct room_member *m = room_member_find(c->r, key);
		if (m)
			member_line(c->reply + off, c->cap - off, m->pub, m->perms, m->sync_since,
			            m->last_activity, m->name);
		else if (store_member_get(c->r->store, c->r->store_id, key, &sm) == ERR_OK)
			member_line(c->reply + off, c->cap - off, sm.pub, sm.permissions,
			            sm.sync_since, sm.last_activity, NULL);
		else
			REPLY(c, "Err - not a member (banned only)");
		return;
	}
	for (size_t i = 0; i < c->r->n_members && off < c->cap; i++) {
		const struct room_member *m = &c->r->members[i];
		int n = member_line(c->reply + off, c->cap - off, m->pub, m->perms, m->sync_since,
		                    m->last_activity, m->name);
		if (n > 0)
			off += (size_t)n;
	}
	if (!c->r->n_members)
		REPLY(c, "no members");
}

static void c_neighbors(struct cmd_ctx *c)
{
	REPLY(c, "not supported");
}

enum { LOCAL_ONLY = 1 };

/* In the firmware's order (§8.1): the first entry whose name prefixes the line wins.
 * <key>: 64 hex digits, or a unique prefix of at least 8 (resolve_key). */
static const struct cmd_def {
	const char *name; /* matched as a prefix of the line */
	void (*fn)(struct cmd_ctx *c);
	unsigned flags;
	const char *help;
} cmds[] = {
    {"setperm ", c_setperm, 0, "setperm <key> <perm>: set a member's permissions (0 removes)"},
    {"get acl", c_get_acl, LOCAL_ONLY, "get acl: list members with permissions"},
    {"room.post ", c_room_post, 0, "room.post <text>: post as the room"},
    {"reboot", c_reboot, 0, "reboot: restart the daemon"},
    {"advert.zerohop", c_advert_zerohop, 0, "advert.zerohop: zero-hop advert"},
    {"advert", c_advert, 0, "advert: flood advert"},
    {"clock sync", c_clock_sync, 0, "clock sync: set the clock from the command's time"},
    {"start ota", c_start_ota, 0, "start ota: not on Linux"},
    {"clock", c_clock, 0, "clock: show the clock"},
    {"time ", c_time, 0, "time <epoch>: set the clock (backwards too)"},
    {"neighbors", c_neighbors, 0, "neighbors: not supported on a room"},
    {"neighbor.remove ", c_neighbor_remove, 0, "neighbor.remove <hex>: no-op on a room"},
    {"tempradio ", c_tempradio, 0,
     "tempradio <f>,<bw>,<sf>,<cr>,<mins>: other radio parameters for a while"},
    {"password ", c_password, 0, "password <pw>: set the admin password"},
    {"clear stats", c_clear_stats, 0, "clear stats: reset counters"},
    {"help set", c_help_set, 0, "help set [key]: every key of set and get, its aliases, range"},
    {"get ", c_get, 0, "get <key>: show a setting"},
    {"set ", c_set, 0, "set <key> <value>: change a setting"},
    {"erase", c_erase, LOCAL_ONLY, "erase: refused (the database is kept)"},
    {"ver", c_ver, 0, "ver: version"},
    {"board", c_board, 0, "board: the platform"},
    {"sensor ", c_sensor, 0, "sensor get|set|list: no sensors"},
    {"region", c_region, 0, "region [...]: regions and the default scope (PROTOCOL.md 8.5)"},
    {"powersaving", c_powersaving, 0, "powersaving: not supported"},
    {"log start", c_log_start, 0, "log start: start the packet log (DIR/packets.log)"},
    {"log stop", c_log_stop, 0, "log stop: stop the packet log"},
    {"log erase", c_log_erase, 0, "log erase: empty the packet log"},
    {"log", c_log_dump, LOCAL_ONLY, "log: show the newest lines of the packet log"},
    {"stats-packets", c_stats_packets, LOCAL_ONLY, "stats-packets: packet counters"},
    {"stats-radio", c_stats_radio, LOCAL_ONLY, "stats-radio: radio counters"},
    {"stats-core", c_stats_core, LOCAL_ONLY, "stats-core: uptime and queue"},
    {"stats-room", c_stats_room, 0, "stats-room: room counters (roomd)"},
    {"post.list", c_post_list, 0, "post.list [n]: newest posts: id, time, author, text (roomd)"},
    {"post.delete ", c_post_delete, 0, "post.delete <id>: delete a post (roomd)"},
    {"bans", c_bans, 0, "bans: banned keys with time and reason (roomd)"},
    {"ban ", c_ban, 0, "ban <key> [reason]: ignore a key's logins and posts (roomd)"},
    {"unban ", c_unban, 0, "unban <key>: lift a ban (roomd)"},
    {"members", c_members, 0,
     "members [key]: members with role, sync point, last activity, name when known (roomd)"},
    {"backup ", c_backup, LOCAL_ONLY,
     "backup <absolute path>: copy the database (every room) while running (roomd)"},
};

int room_cmd(struct room *r, const char *line, uint32_t sender_ts, enum cmd_origin origin,
             char *reply, size_t cap)
{
	char tag[4] = "";
	const char *s = skip_blanks(line);
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
	struct cmd_ctx c = {r, s, "", sender_ts, origin, reply + tl, cap - tl};
	if (r->region_loading) {
		/* `region load` consumes every line, tag and all (§8.5) */
		room_region_load_line(r, line, reply, cap);
		return ERR_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t n = strlen(cmds[i].name);
		if (strncmp(s, cmds[i].name, n) != 0) {
			/* "password" alone: a command that takes arguments was given none */
			if (n > 1 && cmds[i].name[n - 1] == ' ' &&
			    strncmp(s, cmds[i].name, n - 1) == 0 && !*skip_blanks(s + n - 1)) {
				snprintf(reply + tl, cap - tl, "Err - %.*s needs more: %s",
				         (int)n - 1, cmds[i].name, cmds[i].help);
				goto done;
			}
			continue;
		}
		if ((cmds[i].flags & LOCAL_ONLY) && origin == CMD_REMOTE) {
			/* the firmware answers "Unknown command": say why */
			snprintf(reply + tl, cap - tl,
			         "Err - %.*s is console only (serial or roomctl)",
			         (int)(cmds[i].name[n - 1] == ' ' ? n - 1 : n), cmds[i].name);
			goto done;
		}
		c.args = skip_blanks(s + n);
		cmds[i].fn(&c);
	done:
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

bool room_cmd_reply_is_error(const char *reply)
{
	static const char *const prefixes[] = {"Err",
	                                       "ERR",
	                                       "(ERR",
	                                       "??:",
	                                       "unknown config",
	                                       "Unknown command",
	                                       "File system erase: Err"};
	const char *s = reply;
	if (strlen(s) > 3 && s[2] == '|')
		s += 3; /* a tagged reply */
	while (*s == ' ')
		s++;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
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
