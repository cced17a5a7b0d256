/*
 * settings.c - the room settings table (see settings.h).
 *
 * Ranges and error texts are the firmware's (CommonCLI::handleSetCmd); the
 * zero-hop advert interval is kept in minutes here, where the firmware
 * stores minutes / 2.
 */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room/settings.h"
#include "util/err.h"

/* A room key: where it lives in struct room_settings, then its range, texts
 * and spellings; the rules (.zero_off, .choices, .bad_chars) as designated
 * extras. */
#define R(k, t, field, mn, mx, err, hlp, rng, al, ...)                                             \
	{                                                                                          \
		.key = k, .type = t, .offset = offsetof(struct room_settings, field),              \
		.size = sizeof(((struct room_settings *)0)->field), .min = mn, .max = mx,          \
		.range_err = err, .help = hlp, .range = rng, .aliases = al, __VA_ARGS__            \
	}

const struct setting_def room_setting_defs[] = {
    R("name", SET_STR, name, 0, 0, "Error, bad chars", "room name shown in adverts", NULL,
      "advert_name", .bad_chars = "[]\\:,?*"),
    /* never empty: an empty password would let every blank login in */
    R("password", SET_STR, admin_password, 1, 0, "Error, password must not be empty",
      "admin password", NULL, "admin_password admin.password"),
    R("guest.password", SET_STR, guest_password, 1, 0, "Error, password must not be empty",
      "read-write password", NULL, "guest_password"),
    R("allow.read.only", SET_BOOL, allow_read_only, 0, 0, NULL,
      "on: a blank or wrong password logs in read-only", NULL,
      "allow_read_only allow_blank_password"),
    R("lat", SET_DOUBLE, lat, -90, 90, "Error, bad latitude", "latitude", NULL,
      "advert_lat latitude", .unit = "degrees"),
    R("lon", SET_DOUBLE, lon, -180, 180, "Error, bad longitude", "longitude", NULL,
      "advert_long advert_lon longitude long", .unit = "degrees"),
    R("advert.location", SET_BOOL, advert_location, 0, 0, NULL,
      "on: put lat/lon in adverts (the firmware's 'prefs' policy)", NULL, "advert_location"),
    R("advert.interval", SET_UINT, advert_interval_min, 60, 240,
      "Error: interval range is 60-240 minutes", "zero-hop advert period", "0 (off) or 60-240",
      "advert_interval", .zero_off = true, .unit = "minutes"),
    R("flood.advert.interval", SET_UINT, flood_advert_interval_h, 3, 168,
      "Error: interval range is 3-168 hours", "flood advert period", "0 (off) or 3-168",
      "flood_advert_interval", .zero_off = true, .unit = "hours"),
    R("path.hash.mode", SET_UINT, path_hash_mode, 0, 2, "Error, must be 0,1, or 2",
      "path hash size - 1 for floods the room originates", NULL, "path_hash_mode"),
    R("multi.acks", SET_UINT, multi_acks, 0, 255, NULL, "extra multi-ACKs before each ACK", NULL,
      "multi_acks"),
    R("owner.info", SET_STR, owner_info, 0, 0, NULL, "owner text ('|' is a newline)", NULL,
      "owner_info"),
    R("max.posts", SET_UINT, max_posts, 1, 10000000, "Error, must be 1-10000000",
      "posts kept per room (oldest dropped)", NULL, "max_posts"),
    R("max.guests", SET_UINT, max_guests, 0, 100000, "Error, must be 0-100000",
      "read-only guest slots (recycled, never evict members)", NULL, "max_guests"),
    R("max.members", SET_UINT, max_members, 1, 1000000, "Error, must be 1-1000000",
      "password members kept", NULL, "max_members"),
    R("push.parallel", SET_UINT, push_parallel, 1, 32, "Error, must be 1-32",
      "members pushed to at the same time", NULL, "push_parallel"),
    R("keepalive.interval", SET_UINT, keepalive_interval_s, 0, 4080, "Error, must be 0-4080",
      "keep-alive interval asked of members at login (16 s units; 0 = none, as v1.17.1)", NULL,
      "keepalive_interval", .unit = "seconds"),
    /* firmware radio tuning the KISS modem does not expose: kept and shown, no effect */
    R("rxdelay", SET_DOUBLE, rxdelay, 0, 20, "Error, must be 0-20",
      "receive delay base (firmware; no effect here)", NULL, NULL),
    R("int.thresh", SET_UINT, int_thresh, 0, 255, "Error, must be 0-255",
      "interference threshold (firmware; no effect here)", NULL, NULL),
    R("cad", SET_BOOL, cad, 0, 0, NULL, "channel activity detection (firmware; no effect here)",
      NULL, NULL),
    R("agc.reset.interval", SET_UINT, agc_reset_interval_s, 0, 1020, "Error, must be 0-1020",
      "AGC reset interval, multiple of 4 (firmware; no effect here)", NULL, NULL,
      .unit = "seconds"),
    R("loop.detect", SET_STR, loop_detect, 0, 0,
      "Error, must be: off, minimal, moderate, or strict",
      "loop detection (no effect on a room server)", "off, minimal, moderate or strict", NULL,
      .choices = "off minimal moderate strict"),
};
const size_t room_setting_count = sizeof(room_setting_defs) / sizeof(room_setting_defs[0]);

/* Node-wide keys: `get` and `set` read and write them through .node and
 * .offset (node_setting_format/parse), the config file through config.c's
 * bindings; here for their spellings, ranges, units, defaults, doors and help. */
#define N(k, kind, off, mn, mx, err, hlp, rng, al, dft, drs, ...)                                  \
	{                                                                                          \
		.key = k, .type = SET_NODE, .node = kind, .offset = off, .min = mn, .max = mx,     \
		.range_err = err, .help = hlp, .range = rng, .aliases = al, .dflt = dft,           \
		.doors = drs, __VA_ARGS__                                                          \
	}
#define IN_NODE(f) offsetof(struct room_node, f)
#define IN_MESH(f) offsetof(struct mesh_cfg, f)
#define ALL        SET_DOORS_ALL
const struct setting_def node_setting_defs[] = {
    N("radio", NODE_RADIO, IN_NODE(lp), 0, 0, "Error, invalid radio params",
      "saved radio: freq MHz, bandwidth kHz, SF, CR (next start)", "150-2500,7-500,5-12,5-8", NULL,
      "869.618,62.5,8,5", ALL),
    N("freq", NODE_MHZ, IN_NODE(lp.freq_hz), 150, 2500,
      "Error, invalid radio params (freq is 150-2500 MHz)",
      "saved frequency, exact to 1 Hz (next start; console only)", NULL, "frequency", "869.618",
      SET_DOORS_CONF | SET_DOOR_LOCAL, .unit = "MHz"),
    /* roomd's: one part of radio at a time, as in roomd.conf */
    N("bw", NODE_KHZ, IN_NODE(lp.bw_hz), 7, 500, "Error, invalid radio params (bw is 7-500 kHz)",
      "saved bandwidth (next start; part of radio)", NULL, "bandwidth", "62.5", ALL, .unit = "kHz"),
    N("sf", NODE_LP_U8, IN_NODE(lp.sf), 5, 12, "Error, invalid radio params (sf is 5-12)",
      "saved spreading factor (next start; part of radio)", NULL, "spreading_factor", "8", ALL),
    N("cr", NODE_LP_U8, IN_NODE(lp.cr), 5, 8,
      "Error, invalid radio params (cr is 5-8, for 4/5-4/8)",
      "saved coding rate 4/x (next start; part of radio)", NULL, "coding_rate", "5", ALL),
    /* the firmware takes any number; a KISS modem takes -9..30 dBm */
    N("tx", NODE_TX, IN_NODE(tx_dbm), -9, 30, "Error, must be -9-30", "transmit power (now)", NULL,
      "tx_power", "22", ALL, .unit = "dBm"),
    N("repeat", NODE_REPEAT, IN_MESH(repeat), 0, 0, NULL, "forward other nodes' packets",
      "on or off", "repeater", "off", ALL),
    N("af", NODE_FACTOR, IN_MESH(airtime_factor), 0, 100, "Error, must be 0-100",
      "airtime factor: duty cycle = 1/(1+af)", NULL, "airtime_factor", "1.0", ALL),
    N("dutycycle", NODE_DUTY, IN_MESH(airtime_factor), 1, 100, "ERROR: dutycycle must be 1-100",
      "share of the air time we may use (sets af)", NULL, "duty_cycle", "50", ALL,
      .unit = "percent"),
    N("txdelay", NODE_FACTOR, IN_MESH(tx_delay_factor), 0, 2, "Error, must be 0-2",
      "flood retransmit delay factor", NULL, "tx_delay", "0.5", ALL),
    N("direct.txdelay", NODE_FACTOR, IN_MESH(direct_tx_delay_factor), 0, 2, "Error, must be 0-2",
      "direct retransmit delay factor", NULL, "direct_txdelay", "0.2", ALL),
    N("flood.max", NODE_HOPS, IN_MESH(flood_max), 0, 64, "Error, max 64",
      "most hops a forwarded flood may have", NULL, "flood_max", "64", ALL),
    N("flood.max.unscoped", NODE_HOPS, IN_MESH(flood_max_unscoped), 0, 64, "Error, max 64",
      "most hops a forwarded unscoped flood may have", NULL, NULL, "64", ALL),
    N("flood.max.advert", NODE_HOPS, IN_MESH(flood_max_advert), 0, 64, "Error, max 64",
      "most hops a forwarded flood advert may have", NULL, NULL, "8", ALL),
    N("prv.key", NODE_KEY, 0, 0, 0, "Error, bad key",
      "the room's private key, 128 hex digits (next start; console only)", "128 hex digits", NULL,
      NULL, SET_DOOR_LOCAL),
    /* the firmware's, for boards with these parts: answered "unsupported" */
    N("radio.rxgain", NODE_UNSUPPORTED, 0, 0, 0, NULL,
      "boosted receive gain (firmware boards only)", "unsupported", NULL, NULL, SET_DOORS_CMD),
    N("radio.fem.rxgain", NODE_UNSUPPORTED, 0, 0, 0, NULL,
      "front-end receive gain (firmware boards only)", "unsupported", NULL, NULL, SET_DOORS_CMD),
    N("radio.fem.txgain", NODE_UNSUPPORTED, 0, 0, 0, NULL,
      "front-end transmit gain (firmware boards only)", "unsupported", NULL, NULL, SET_DOORS_CMD),
    N("adc.multiplier", NODE_UNSUPPORTED, 0, 0, 0, NULL,
      "battery voltage calibration (firmware boards only)", "unsupported", NULL, NULL,
      SET_DOORS_CMD),
};
const size_t node_setting_count = sizeof(node_setting_defs) / sizeof(node_setting_defs[0]);

/* The daemon's keys: roomd.conf and --set only.  `modem` was `radio` in
 * roomd.conf until issue 15 (`set radio` is the LoRa parameters): the file
 * still takes `radio = tcp:...` or `radio = serial:...` for it. */
const struct setting_def daemon_setting_defs[] = {
    N("modem", NODE_NONE, 0, 0, 0, NULL,
      "the KISS modem, as --radio: tcp:HOST:PORT (meshair, KISS over TCP) or\n"
      "# serial:DEVICE[:BAUD] (a board running MeshCore kiss_modem); was 'radio'",
      "tcp:HOST:PORT or serial:DEVICE[:BAUD]", NULL, "", SET_DOORS_CONF),
    N("kiss.txdelay", NODE_NONE, 0, 0, 255, NULL,
      "modem TXDELAY, units of 10 ms (MeshCore randomises itself)", NULL, NULL, "0",
      SET_DOORS_CONF),
    N("kiss.persistence", NODE_NONE, 0, 0, 255, NULL,
      "modem CSMA persistence 0..255: 255 sends as soon as the channel is clear\n"
      "# (fastest catch-up); the modem's own 63 is gentler on a busy channel",
      NULL, NULL, "255", SET_DOORS_CONF),
    N("kiss.slottime", NODE_NONE, 0, 0, 255, NULL,
      "modem CSMA slot time, units of 10 ms (sent only when set)", NULL, NULL, "10",
      SET_DOORS_CONF),
    N("http.listen", NODE_NONE, 0, 0, 0, NULL,
      "the web page (board, members, channel, admin, /metrics): ADDR:PORT, or off;\n"
      "# an address other than loopback serves it to the network (logged as a warning)",
      "ADDR:PORT or off", NULL, "127.0.0.1:8073", SET_DOORS_CONF),
    N("fed.url", NODE_NONE, 0, 0, 0, NULL,
      "federation: mqtt://[USER:PASS@]HOST:PORT/ROOM (mqtts:// for TLS) shares the\n"
      "# rooms with every roomd on that broker and ROOM (the same room key files at each)",
      "mqtt:// or mqtts:// URL, or empty", NULL, "", SET_DOORS_CONF),
    N("fed.site", NODE_NONE, 0, 0, 0, NULL,
      "this site's name in the federation, [A-Za-z0-9._-], 1..32 (default:\n"
      "# one made at first use and kept in the database); also the MQTT client id",
      NULL, NULL, "", SET_DOORS_CONF),
    N("fed.cafile", NODE_NONE, 0, 0, 0, NULL, "federation TLS: the broker's CA certificate (PEM)",
      NULL, NULL, "", SET_DOORS_CONF),
    N("fed.certfile", NODE_NONE, 0, 0, 0, NULL,
      "federation TLS: this site's client certificate (PEM)", NULL, NULL, "", SET_DOORS_CONF),
    N("fed.keyfile", NODE_NONE, 0, 0, 0, NULL, "federation TLS: its private key (PEM)", NULL, NULL,
      "", SET_DOORS_CONF),
    N("fed.username", NODE_NONE, 0, 0, 0, NULL, "federation: broker user name (or in fed.url)",
      NULL, NULL, "", SET_DOORS_CONF),
    N("fed.password", NODE_NONE, 0, 0, 0, NULL, "federation: broker password (or in fed.url)", NULL,
      NULL, "", SET_DOORS_CONF),
};
const size_t daemon_setting_count = sizeof(daemon_setting_defs) / sizeof(daemon_setting_defs[0]);
#undef ALL
#undef IN_MESH
#undef IN_NODE
#undef N

/* Whether word is one of the space-separated words of list. */
static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *a = list; a && *a;) {
		size_t l = strcspn(a, " ");
		if (l == n && strncmp(a, word, n) == 0)
			return true;
		a += l;
		a += *a == ' ';
	}
	return false;
}

static bool has_alias(const struct setting_def *d, const char *key)
{
	return word_in(d->aliases, key);
}

static const struct setting_def *find_in(const struct setting_def *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return &t[i];
	for (size_t i = 0; i < n; i++)
		if (has_alias(&t[i], key))
			return &t[i];
	return NULL;
}

const struct setting_def *node_setting_find(const char *key)
{
	return find_in(node_setting_defs, node_setting_count, key);
}

unsigned setting_doors(const struct setting_def *d)
{
	return d->doors ? d->doors : SET_DOORS_ALL;
}

const struct setting_def *setting_find_any(const char *key)
{
	const struct setting_def *d = setting_lookup(key);
	return d ? d : find_in(daemon_setting_defs, daemon_setting_count, key);
}

const struct setting_def *setting_lookup(const char *key)
{
	const struct setting_def *d = find_in(room_setting_defs, room_setting_count, key);
	return d ? d : find_in(node_setting_defs, node_setting_count, key);
}

void setting_range_text(const struct setting_def *d, char *out, size_t cap)
{
	if (d->unit) {
		struct setting_def bare = *d;
		char r[96];
		bare.unit = NULL;
		setting_range_text(&bare, r, sizeof(r));
		snprintf(out, cap, "%s %s", r, d->unit);
	} else if (d->range)
		snprintf(out, cap, "%s", d->range);
	else if (d->type == SET_STR)
		snprintf(out, cap, "text, at most %zu bytes", d->size - 1);
	else if (d->type == SET_BOOL)
		snprintf(out, cap, "on or off");
	else if (d->min != d->max)
		snprintf(out, cap, "%.15g to %.15g", d->min, d->max); /* 10000000, not 1e+07 */
	else
		snprintf(out, cap, "any");
}

/* The doors as `help set` says them, when a key is not for every door. */
static const char *doors_text(unsigned doors)
{
	if (doors == SET_DOORS_ALL)
		return "";
	if (!(doors & SET_DOORS_CMD))
		return " (roomd.conf or --set only)";
	if (!(doors & SET_DOOR_FILE))
		return doors & SET_DOOR_REMOTE ? " (by command only)"
		                               : " (console only, by command)";
	return doors & SET_DOOR_REMOTE ? "" : " (not over the radio)";
}

int setting_help_line(const struct setting_def *d, char *out, size_t cap)
{
	char range[64], aliases[128] = "";
	size_t off = 0;
	setting_range_text(d, range, sizeof(range));
	for (const char *a = d->aliases; a && *a && off < sizeof(aliases) - 4;) {
		size_t l = strcspn(a, " ");
		int n = snprintf(aliases + off, sizeof(aliases) - off - 1, "%s%.*s",
		                 off ? ", " : " (", (int)l, a);
		if (n < 0)
			break;
		off +=
		    (size_t)n < sizeof(aliases) - off - 1 ? (size_t)n : sizeof(aliases) - off - 2;
		a += l;
		a += *a == ' ';
	}
	if (off)
		snprintf(aliases + off, sizeof(aliases) - off, ")");
	return snprintf(out, cap, "%s%s: %s; %s%s", d->key, aliases, d->help, range,
	                doors_text(setting_doors(d)));
}

/* Edit distance, capped: enough to rank keys of a few dozen bytes. */
static unsigned distance(const char *a, const char *b)
{
	unsigned row[65], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The distance of a typed key to a key or one of its aliases, '_' read as '.'. */
static unsigned key_distance(const char *typed, const struct setting_def *d)
{
	char t[65], name[65];
	snprintf(t, sizeof(t), "%s", typed);
	for (char *p = t; *p; p++)
		*p = *p == '_' ? '.' : *p;
	unsigned best = distance(t, d->key);
	if (strlen(t) >= 3 && (strstr(d->key, t) || strstr(t, d->key)))
		best = best > 1 ? 1 : best;
	for (const char *a = d->aliases; a && *a;) {
		size_t l = strcspn(a, " ");
		snprintf(name, sizeof(name), "%.*s", (int)l, a);
		for (char *p = name; *p; p++)
			*p = *p == '_' ? '.' : *p;
		unsigned da = distance(t, name);
		if (da < best)
			best = da;
		a += l;
		a += *a == ' ';
	}
	return best;
}

void setting_suggest(const char *key, unsigned max, char *out, size_t cap)
{
	const struct setting_def *all[64];
	unsigned dist[64], n = 0, limit = (unsigned)strlen(key) / 3;
	size_t off = 0;
	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < room_setting_count + node_setting_count && n < 64; i++) {
		const struct setting_def *d = i < room_setting_count
		                                  ? &room_setting_defs[i]
		                                  : &node_setting_defs[i - room_setting_count];
		unsigned k = key_distance(key, d);
		if (k <= limit) {
			all[n] = d;
			dist[n++] = k;
		}
	}
	out[0] = 0;
	for (unsigned want = 0; want <= limit && max; want++)
		for (unsigned i = 0; i < n && max; i++) {
			if (dist[i] != want)
				continue;
			int w =
			    snprintf(out + off, cap - off, "%s%s", off ? ", " : "", all[i]->key);
			if (w < 0 || (size_t)w >= cap - off)
				return;
			off += (size_t)w;
			max--;
		}
}

char *setting_unquote(char *v)
{
	size_t n = strlen(v);
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		memmove(v, v + 1, n - 2);
		v[n - 2] = 0;
	}
	return v;
}

void room_settings_defaults(struct room_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "roomd");
	snprintf(s->admin_password, sizeof(s->admin_password), "password");
	snprintf(s->guest_password, sizeof(s->guest_password), "hello");
	s->advert_location = true;
	s->advert_interval_min = 60;
	s->flood_advert_interval_h = 47;
	s->max_posts = 10000;
	s->max_guests = 256;
	s->max_members = 10000;
	s->push_parallel = 4;
	snprintf(s->loop_detect, sizeof(s->loop_detect), "off");
}

const struct setting_def *room_setting_find(const char *key)
{
	return find_in(room_setting_defs, room_setting_count, key);
}

int room_setting_format(const struct room_settings *s, const struct setting_def *d, char *out,
                        size_t cap)
{
	const char *p = (const char *)s + d->offset;
	int n;
	switch (d->type) {
	case SET_STR: n = snprintf(out, cap, "%s", p); break;
	case SET_BOOL: n = snprintf(out, cap, "%s", *(const bool *)p ? "on" : "off"); break;
	case SET_UINT: n = snprintf(out, cap, "%u", *(const unsigned *)p); break;
	case SET_DOUBLE: n = snprintf(out, cap, "%.6f", *(const double *)p); break;
	default: return ERR_INVAL;
	}
	return n < 0 || (size_t)n >= cap ? ERR_TOO_BIG : ERR_OK;
}

int room_setting_parse(struct room_settings *s, const struct setting_def *d, const char *value)
{
	char *p = (char *)s + d->offset, *end;
	switch (d->type) {
	case SET_STR:
		if (d->min > 0 && !value[0])
			return ERR_INVAL;
		/* the firmware keeps what fits and drops the rest: we refuse, so that
		 * a name or a password is never silently another one */
		if (d->bad_chars && strpbrk(value, d->bad_chars))
			return ERR_INVAL; /* before the length, as `set name` always said */
		if (strlen(value) >= d->size)
			return ERR_TOO_BIG;
		if (d->choices && !word_in(d->choices, value))
			return ERR_INVAL;
		snprintf(p, d->size, "%s", value);
		return ERR_OK;
	case SET_BOOL:
		if (strncmp(value, "on", 2) == 0 || strcmp(value, "1") == 0 ||
		    strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
			*(bool *)p = true;
		else if (strncmp(value, "off", 3) == 0 || strcmp(value, "0") == 0 ||
		         strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
			*(bool *)p = false;
		else
			return ERR_FORMAT;
		return ERR_OK;
	case SET_UINT: {
		errno = 0;
		unsigned long v = strtoul(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-')
			return ERR_FORMAT;
		if (d->min != d->max && (v < d->min || v > d->max) && !(d->zero_off && v == 0))
			return ERR_INVAL;
		*(unsigned *)p = (unsigned)v;
		return ERR_OK;
	}
	case SET_DOUBLE: {
		errno = 0;
		double v = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(v))
			return ERR_FORMAT;
		if (d->min != d->max && (v < d->min || v > d->max))
			return ERR_INVAL;
		*(double *)p = v;
		return ERR_OK;
	}
	case SET_NODE: break;
	}
	return ERR_INVAL;
}

void room_ftoa(float f, char *out, size_t cap)
{
	char buf[48];
	size_t n = 0;
	uint32_t bits, mant, ip = 0, frac = 0;
	int e;

	if (!cap)
		return;
	if (f == 0.0f) {
		snprintf(out, cap, "0.0");
		return;
	}
	memcpy(&bits, &f, sizeof(bits));
	e = (int)((bits >> 23) & 0xFF) - 127;
	mant = (bits & 0x7FFFFF) | 0x800000;
	if (e >= 31 || e < -23) {
		snprintf(out, cap, "0"); /* the firmware's fallback */
		return;
	}
	/* a 24-bit binary fraction, expanded digit by digit and truncated */
	if (e >= 23) {
		ip = mant << (e - 23);
	} else if (e >= 0) {
		ip = mant >> (23 - e);
		frac = (mant << (e + 1)) & 0xFFFFFF;
	} else {
		frac = mant >> -(e + 1);
	}
	n = (size_t)snprintf(buf, sizeof(buf), "%s%u.", bits >> 31 ? "-" : "", ip);
	if (!frac) {
		buf[n++] = '0';
	} else {
		for (int i = 0; i < 7; i++) {
			frac *= 10;
			buf[n++] = (char)('0' + (frac >> 24));
			frac &= 0xFFFFFF;
		}
		while (buf[n - 1] == '0' && buf[n - 2] != '.')
			n--;
	}
	buf[n] = 0;
	snprintf(out, cap, "%s", buf);
}

void room_ftoa3(float f, char *out, size_t cap)
{
	char buf[32];
	if (!cap)
		return;
	if (!(fabsf(f) < 2e6f)) {
		snprintf(out, cap, "0");
		return;
	}
	int v = (int)(f * 1000.0f + (f >= 0 ? 0.5f : -0.5f));
	int n = snprintf(buf, sizeof(buf), "%d.%03d", v / 1000, abs(v % 1000));
	while (n > 1 && buf[n - 1] == '0')
		buf[--n] = 0;
	if (buf[n - 1] == '.')
		buf[--n] = 0;
	snprintf(out, cap, "%s", buf);
}

int room_decimal_parse(const char *s, unsigned decimals, uint32_t *out)
{
	uint64_t v = 0;
	unsigned frac = 0;
	int next = -1; /* the first digit past the precision: rounds */
	bool digits = false, point = false;

	for (; *s; s++) {
		if (*s == '.' && !point) {
			point = true;
		} else if (*s >= '0' && *s <= '9') {
			digits = true;
			if (point && frac == decimals) {
				if (next < 0)
					next = *s - '0';
				continue;
			}
			v = v * 10 + (uint64_t)(*s - '0');
			frac += point;
			if (v > UINT32_MAX)
				return ERR_INVAL;
		} else {
			return ERR_FORMAT;
		}
	}
	if (!digits)
		return ERR_FORMAT;
	for (; frac < decimals; frac++)
		if ((v *= 10) > UINT32_MAX)
			return ERR_INVAL;
	v += next >= 5;
	if (v > UINT32_MAX)
		return ERR_INVAL;
	*out = (uint32_t)v;
	return ERR_OK;
}

void room_decimal_format(uint32_t v, unsigned decimals, char *out, size_t cap)
{
	uint32_t div = 1;
	for (unsigned i = 0; i < decimals; i++)
		div *= 10;
	int n = snprintf(out, cap, "%u.%0*u", v / div, (int)decimals, v % div);
	if (n <= 0 || (size_t)n >= cap)
		return;
	while (n > 0 && out[n - 1] == '0')
		out[--n] = 0;
	if (n > 0 && out[n - 1] == '.')
		out[--n] = 0;
}

void room_radio_format(const struct lora_params *lp, char *out, size_t cap)
{
	char f[24], bw[24];
	room_decimal_format(lp->freq_hz, 6, f, sizeof(f));
	room_decimal_format(lp->bw_hz, 3, bw, sizeof(bw));
	snprintf(out, cap, "%s,%s,%u,%u", f, bw, lp->sf, lp->cr);
}

int room_radio_parse(const char *s, struct lora_params *lp, int *mins)
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

/* The field of a node key: in the radio node or in the mesh's settings. */
static void *node_field(const struct setting_def *d, const struct mesh_cfg *mc,
                        const struct room_node *nd)
{
	bool mesh = d->node == NODE_REPEAT || d->node == NODE_FACTOR || d->node == NODE_DUTY ||
	            d->node == NODE_HOPS;
	return (char *)(mesh ? (const void *)mc : (const void *)nd) + d->offset;
}

int node_setting_format(const struct setting_def *d, const struct mesh_cfg *mc,
                        const struct room_node *nd, char *out, size_t cap)
{
	const void *p = node_field(d, mc, nd);
	switch (d->node) {
	case NODE_RADIO: room_radio_format(p, out, cap); break;
	case NODE_MHZ: room_decimal_format(*(const uint32_t *)p, 6, out, cap); break;
	case NODE_KHZ: room_decimal_format(*(const uint32_t *)p, 3, out, cap); break;
	case NODE_LP_U8:
	case NODE_HOPS: snprintf(out, cap, "%u", *(const uint8_t *)p); break;
	case NODE_TX: snprintf(out, cap, "%d", *(const int *)p); break;
	case NODE_REPEAT: snprintf(out, cap, "%s", *(const bool *)p ? "on" : "off"); break;
	case NODE_FACTOR: room_ftoa((float)*(const double *)p, out, cap); break;
	case NODE_DUTY: {
		float dc = 100.0f / ((float)*(const double *)p + 1.0f);
		int i = (int)dc;
		snprintf(out, cap, "%d.%d%%", i, (int)((dc - (float)i) * 10.0f + 0.5f));
		break;
	}
	default: return ERR_NOT_FOUND;
	}
	return ERR_OK;
}

int node_setting_parse(const struct setting_def *d, struct mesh_cfg *mc, struct room_node *nd,
                       const char *val)
{
	void *p = node_field(d, mc, nd);
	double v = strtod(val, NULL); /* the firmware's atof: "abc" is 0 */
	bool in = v >= d->min && v <= d->max;
	uint32_t hz;
	char *end;
	switch (d->node) {
	case NODE_RADIO: return room_radio_parse(val, p, NULL);
	case NODE_MHZ:
	case NODE_KHZ: {
		double scale = d->node == NODE_MHZ ? 1e6 : 1e3;
		if (room_decimal_parse(val, d->node == NODE_MHZ ? 6 : 3, &hz) != ERR_OK ||
		    hz < d->min * scale || hz > d->max * scale)
			return ERR_INVAL;
		*(uint32_t *)p = hz;
		return ERR_OK;
	}
	case NODE_LP_U8: {
		unsigned long n = strtoul(val, &end, 10);
		if (end == val || *end || n < d->min || n > d->max)
			return ERR_INVAL;
		*(uint8_t *)p = (uint8_t)n;
		return ERR_OK;
	}
	case NODE_REPEAT: *(bool *)p = strncmp(val, "off", 3) != 0; return ERR_OK;
	case NODE_TX:
	case NODE_FACTOR:
	case NODE_DUTY:
	case NODE_HOPS:
		if (!in)
			return ERR_INVAL;
		if (d->node == NODE_TX)
			*(int *)p = (int)v;
		else if (d->node == NODE_HOPS)
			*(uint8_t *)p = (uint8_t)v;
		else
			*(double *)p = d->node == NODE_DUTY ? 100.0 / v - 1.0 : v;
		return ERR_OK;
	default: return ERR_NOT_FOUND;
	}
}
