/* config.c - the configuration file (see config.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room/settings.h"
#include "sys/config.h"
#include "fed/fedmsg.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"

void app_config_defaults(struct app_config *c)
{
	memset(c, 0, sizeof(*c));
	c->radio_cfg = RADIO_CFG_DEFAULT;
	mesh_cfg_defaults(&c->mesh);
	room_settings_defaults(&c->room);
	snprintf(c->http_listen, sizeof(c->http_listen), "%s", APP_HTTP_DEFAULT);
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return ERR_INVAL;
	return ERR_OK;
}

/* "ADDR:PORT" with a numeric IPv4 or [IPv6] address (the web page's http.listen). */
static bool listen_spec_ok(const char *v, size_t cap)
{
	char addr[64], *end;
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v || !colon[1] || strlen(v) >= cap)
		return false;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] < '0' || colon[1] > '9' || port > 65535)
		return false;
	const char *a = v;
	size_t n = (size_t)(colon - v);
	if (*a == '[') {
		if (n < 3 || a[n - 1] != ']')
			return false;
		a++;
		n -= 2;
	}
	if (n >= sizeof(addr))
		return false;
	memcpy(addr, a, n);
	addr[n] = 0;
	struct in_addr a4;
	struct in6_addr a6;
	return inet_pton(AF_INET, addr, &a4) == 1 || inet_pton(AF_INET6, addr, &a6) == 1;
}

/*
 * Where each key of the settings table (room/settings.h) lives in struct
 * app_config, and how its text becomes the value.  The key's range, rules,
 * default, help and doors are the table's; room keys go to c->room through
 * room_setting_parse.
 */
enum bind_kind {
	B_STR,      /* text, at most size - 1 bytes */
	B_MHZ,      /* exact decimal MHz into Hz (uint32_t) */
	B_KHZ,      /* exact decimal kHz into Hz (uint32_t) */
	B_U8,       /* integer in the key's range */
	B_INT,      /* integer in the key's range */
	B_DOUBLE,   /* number in the key's range */
	B_BOOL,     /* on/off, yes/no, true/false, 1/0 */
	B_DUTY,     /* dutycycle percent: sets the airtime factor */
	B_RADIO,    /* freq,bw,sf,cr at once */
	B_LISTEN,   /* ADDR:PORT or off */
	B_FED_URL,  /* mqtt:// or mqtts://, or empty */
	B_FED_SITE, /* fed_site_valid, or empty */
};

#define AT(field) offsetof(struct app_config, field), sizeof(((struct app_config *)0)->field)
/* clang-format off */
static const struct binding {
	const char *key;
	enum bind_kind kind;
	size_t offset, size;
} bindings[] = {
	{"modem",              B_STR,      AT(radio)},
	{"radio",              B_RADIO,    AT(radio_cfg.lp)},
	{"freq",               B_MHZ,      AT(radio_cfg.lp.freq_hz)},
	{"bw",                 B_KHZ,      AT(radio_cfg.lp.bw_hz)},
	{"sf",                 B_U8,       AT(radio_cfg.lp.sf)},
	{"cr",                 B_U8,       AT(radio_cfg.lp.cr)},
	{"tx",                 B_INT,      AT(radio_cfg.tx_power_dbm)},
	{"repeat",             B_BOOL,     AT(mesh.repeat)},
	{"af",                 B_DOUBLE,   AT(mesh.airtime_factor)},
	{"dutycycle",          B_DUTY,     AT(mesh.airtime_factor)},
	{"txdelay",            B_DOUBLE,   AT(mesh.tx_delay_factor)},
	{"direct.txdelay",     B_DOUBLE,   AT(mesh.direct_tx_delay_factor)},
	{"flood.max",          B_U8,       AT(mesh.flood_max)},
	{"flood.max.unscoped", B_U8,       AT(mesh.flood_max_unscoped)},
	{"flood.max.advert",   B_U8,       AT(mesh.flood_max_advert)},
	{"kiss.txdelay",       B_INT,      AT(radio_cfg.txdelay_10ms)},
	{"kiss.persistence",   B_INT,      AT(radio_cfg.persistence)},
	{"kiss.slottime",      B_INT,      AT(radio_cfg.slottime_10ms)},
	{"http.listen",        B_LISTEN,   AT(http_listen)},
	{"fed.url",            B_FED_URL,  AT(fed.url)},
	{"fed.site",           B_FED_SITE, AT(fed.site)},
	{"fed.cafile",         B_STR,      AT(fed.cafile)},
	{"fed.certfile",       B_STR,      AT(fed.certfile)},
	{"fed.keyfile",        B_STR,      AT(fed.keyfile)},
	{"fed.username",       B_STR,      AT(fed.username)},
	{"fed.password",       B_STR,      AT(fed.password)},
};
/* clang-format on */

static const struct binding *binding_of(const char *key)
{
	for (size_t i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
		if (!strcmp(bindings[i].key, key))
			return &bindings[i];
	return NULL;
}

/* An exact decimal (freq, bw) in the key's range, scaled to Hz. */
static int parse_hz(const struct setting_def *d, const char *v, unsigned decimals, uint32_t *hz)
{
	double scale = decimals == 6 ? 1e6 : 1e3;
	uint32_t x;
	if (room_decimal_parse(v, decimals, &x) || x < d->min * scale || x > d->max * scale)
		return ERR_INVAL;
	*hz = x;
	return ERR_OK;
}

/* radio = freq,bw,sf,cr: each part checked as its own key. */
static int parse_radio(const char *v, struct lora_params *lp)
{
	char part[4][32];
	long l;
	struct lora_params n = *lp;
	if (sscanf(v, "%31[^,],%31[^,],%31[^,],%31s", part[0], part[1], part[2], part[3]) != 4 ||
	    parse_hz(node_setting_find("freq"), part[0], 6, &n.freq_hz) ||
	    parse_hz(node_setting_find("bw"), part[1], 3, &n.bw_hz) ||
	    !num_long(part[2], 5, 12, &l))
		return ERR_INVAL;
	n.sf = (uint8_t)l;
	if (!num_long(part[3], 5, 8, &l))
		return ERR_INVAL;
	n.cr = (uint8_t)l;
	*lp = n;
	return ERR_OK;
}

/* Parses v for key d into the field b names; nothing changes on an error. */
static int bind_parse(const struct binding *b, const struct setting_def *d, const char *v,
                      void *field)
{
	double x;
	long l;
	bool on;
	switch (b->kind) {
	case B_FED_URL:
		if (v[0] && strncmp(v, "mqtt://", 7) && strncmp(v, "mqtts://", 8))
			return ERR_INVAL;
		/* fall through */
	case B_STR:
	store_str:
		if (strlen(v) >= b->size)
			return ERR_INVAL;
		snprintf(field, b->size, "%s", v);
		return ERR_OK;
	case B_FED_SITE:
		if (v[0] && !fed_site_valid(v))
			return ERR_INVAL;
		goto store_str;
	case B_LISTEN:
		if (strcmp(v, "off") != 0 && !listen_spec_ok(v, b->size))
			return ERR_INVAL;
		goto store_str;
	case B_MHZ: return parse_hz(d, v, 6, field);
	case B_KHZ: return parse_hz(d, v, 3, field);
	case B_RADIO: return parse_radio(v, field);
	case B_U8:
	case B_INT:
		/* integer keys refuse fractions ("sf = 7.5" is an error, not 7) */
		if (!num_long(v, (long)d->min, (long)d->max, &l))
			return ERR_INVAL;
		if (b->kind == B_U8)
			*(uint8_t *)field = (uint8_t)l;
		else
			*(int *)field = (int)l;
		return ERR_OK;
	case B_DOUBLE:
	case B_DUTY:
		if (!num_double(v, d->min, d->max, &x))
			return ERR_INVAL;
		*(double *)field = b->kind == B_DUTY ? 100.0 / x - 1.0 : x;
		return ERR_OK;
	case B_BOOL:
		if (parse_bool(v, &on))
			return ERR_INVAL;
		*(bool *)field = on;
		return ERR_OK;
	}
	return ERR_INVAL;
}

int app_config_set_from(struct app_config *c, const char *key, const char *v, unsigned door)
{
	/* roomd.conf before issue 15: `radio` was the modem's spec */
	if (!strcmp(key, "radio") && (!strncmp(v, "tcp:", 4) || !strncmp(v, "serial:", 7)))
		key = "modem";
	const struct setting_def *d = setting_find_any(key);
	if (!d)
		return ERR_NOT_FOUND;
	if (!(setting_doors(d) & door))
		return ERR_PERM;
	if (d->type != SET_NODE)
		return room_setting_parse(&c->room, d, v);
	const struct binding *b = binding_of(d->key);
	if (!b)
		return ERR_PERM;
	return bind_parse(b, d, v, (char *)c + b->offset);
}

int app_config_set(struct app_config *c, const char *key, const char *v)
{
	return app_config_set_from(c, key, v, SET_DOOR_FILE);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

int app_config_load(const char *path, struct app_config *c, bool must_exist)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (!must_exist && errno == ENOENT)
			return ERR_OK;
		log_err("config", "%s: %s", path, strerror(errno));
		return ERR_CONFIG;
	}
	int rc = app_config_read(f, path, c);
	fclose(f);
	return rc;
}

int app_config_read(FILE *f, const char *path, struct app_config *c)
{
	char line[1024];
	int lineno = 0, rc = ERR_OK;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			log_err("config", "%s:%d: line too long", path, lineno);
			rc = ERR_CONFIG;
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			log_err("config", "%s:%d: expected 'key = value'", path, lineno);
			rc = ERR_CONFIG;
			continue;
		}
		*eq = 0;
		char *key = trim(s), *val = setting_unquote(trim(eq + 1));
		int r = app_config_set(c, key, val);
		if (r == ERR_PERM) {
			log_err("config", "%s:%d: %s is not set in the file (by command only)",
			        path, lineno, key);
			rc = ERR_CONFIG;
		} else if (r == ERR_NOT_FOUND) {
			char near[128];
			setting_suggest(key, 3, near, sizeof(near));
			log_err("config", "%s:%d: unknown key '%s'%s%s", path, lineno, key,
			        near[0] ? "; did you mean " : "", near);
			rc = ERR_CONFIG;
		} else if (r == ERR_TOO_BIG) {
			log_err("config", "%s:%d: value of %s too long", path, lineno, key);
			rc = ERR_CONFIG;
		} else if (r) {
			log_err("config", "%s:%d: bad value '%s' for %s", path, lineno, val, key);
			rc = ERR_CONFIG;
		} else {
			const struct setting_def *sd = room_setting_find(key);
			if (sd && sd - room_setting_defs < 64)
				c->room_keys_in_file |= 1ull << (sd - room_setting_defs);
		}
	}
	return rc;
}

/* One key as the default file shows it: its help, then "#key = default". */
static void write_key(FILE *f, const struct setting_def *d, const char *dflt)
{
	char range[128];
	setting_range_text(d, range, sizeof(range));
	fprintf(f, "# %s", d->help);
	if ((d->unit || (d->type == SET_NODE && d->range)) && !strchr(d->help, '\n'))
		fprintf(f, "; %s", range);
	fprintf(f, "\n#%s = %s\n", d->key, dflt);
}

int app_config_write_default(const char *path)
{
	struct room_settings s;
	char v[512];
	FILE *f = fopen(path, "w");
	if (!f)
		return ERR_SYS;
	room_settings_defaults(&s);
	fprintf(f, "# roomd configuration. Lines are 'key = value'; '#' starts a comment.\n"
	           "# Every key is shown, commented out, with its default.\n"
	           "# Precedence: defaults < this file < changes made by admin command (kept\n"
	           "# in roomd.db) < roomd --set KEY=VALUE.\n\n"
	           "## The modem, the web page and federation (the whole daemon)\n");
	for (size_t i = 0; i < daemon_setting_count; i++)
		write_key(f, &daemon_setting_defs[i], daemon_setting_defs[i].dflt);
	fprintf(f, "\n## Radio and mesh (the whole daemon; also 'roomctl set KEY VALUE')\n");
	for (size_t i = 0; i < node_setting_count; i++)
		if (setting_doors(&node_setting_defs[i]) & SET_DOOR_FILE)
			write_key(f, &node_setting_defs[i], node_setting_defs[i].dflt);
	fprintf(f, "\n## Room settings: defaults for rooms created from now on.  A room keeps\n"
	           "## its own from its creation: change them with 'roomctl set KEY VALUE'\n"
	           "## (roomd says at start which keys set here a room overrides).\n");
	for (size_t i = 0; i < room_setting_count; i++) {
		const struct setting_def *d = &room_setting_defs[i];
		room_setting_format(&s, d, v, sizeof(v));
		write_key(f, d, v);
	}
	return fclose(f) == 0 ? ERR_OK : ERR_SYS;
}
