/* config.c - the configuration file (see config.h). */
#include <arpa/inet.h>
#include <errno.h>
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

static int parse_double(const char *v, double min, double max, double *out)
{
	return num_double(v, min, max, out) ? ERR_OK : ERR_INVAL;
}

/* Integer keys refuse fractions ("sf = 7.5" is an error, not 7). */
static int parse_int(const char *v, long min, long max, long *out)
{
	return num_long(v, min, max, out) ? ERR_OK : ERR_INVAL;
}

/* Keys that `set` also takes: their range is the settings table's. */
static int node_double(const char *key, const char *v, double *out)
{
	const struct setting_def *d = node_setting_find(key);
	return d ? parse_double(v, d->min, d->max, out) : ERR_INVAL;
}

static int node_int(const char *key, const char *v, long *out)
{
	const struct setting_def *d = node_setting_find(key);
	return d ? parse_int(v, (long)d->min, (long)d->max, out) : ERR_INVAL;
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

/* The daemon keys: one table for parsing, the default file and the docs. */
static const struct {
	const char *key, *dflt, *help;
} daemon_keys[] = {
    {"radio", "", "radio: tcp:HOST:PORT (meshair, KISS over TCP) or serial:DEVICE[:BAUD]"},
    {"freq", "869.618", "frequency, MHz (firmware default 869.618)"},
    {"bw", "62.5", "bandwidth, kHz"},
    {"sf", "8", "spreading factor, 5..12"},
    {"cr", "5", "coding rate 4/x, 5..8"},
    {"tx", "22", "transmit power, dBm"},
    {"repeat", "off", "forward other nodes' packets (the room firmware default is off)"},
    {"af", "1.0", "airtime factor: duty cycle = 1/(1+af)"},
    {"txdelay", "0.5", "flood retransmit delay factor"},
    {"direct.txdelay", "0.2", "direct retransmit delay factor"},
    {"flood.max", "64", "most hops a forwarded flood may have"},
    {"flood.max.unscoped", "64", "most hops a forwarded unscoped flood may have"},
    {"flood.max.advert", "8", "most hops a forwarded flood advert may have"},
    {"kiss.txdelay", "0", "modem TXDELAY, units of 10 ms (MeshCore randomises itself)"},
    {"kiss.persistence", "255",
     "modem CSMA persistence 0..255: 255 sends as soon as the channel is clear\n"
     "# (fastest catch-up); the modem's own 63 is gentler on a busy channel"},
    {"kiss.slottime", "10", "modem CSMA slot time, units of 10 ms (sent only when set)"},
    {"http.listen", APP_HTTP_DEFAULT,
     "the web page (board, members, channel, admin, /metrics): ADDR:PORT, or off;\n"
     "# an address other than loopback serves it to the network (logged as a warning)"},
    {"fed.url", "",
     "federation: mqtt://[USER:PASS@]HOST:PORT/ROOM (mqtts:// for TLS) shares the first\n"
     "# room with every roomd on that broker and ROOM (the same room key file at each)"},
    {"fed.site", "",
     "this site's name in the federation, [A-Za-z0-9._-], 1..32 (default:\n"
     "# one made at first use and kept in the database); also the MQTT client id"},
    {"fed.cafile", "", "federation TLS: the broker's CA certificate (PEM)"},
    {"fed.certfile", "", "federation TLS: this site's client certificate (PEM)"},
    {"fed.keyfile", "", "federation TLS: its private key (PEM)"},
    {"fed.username", "", "federation: broker user name (or in fed.url)"},
    {"fed.password", "", "federation: broker password (or in fed.url)"},
};

int app_config_set(struct app_config *c, const char *key, const char *v)
{
	double d;
	long l;
	bool b;
	int rc = ERR_OK;

	if (!strcmp(key, "radio")) {
		snprintf(c->radio, sizeof(c->radio), "%s", v);
	} else if (!strcmp(key, "freq")) {
		/* integer Hz, exactly as written */
		uint32_t hz;
		const struct setting_def *fd = node_setting_find(key);
		if (room_decimal_parse(v, 6, &hz) || hz < fd->min * 1e6 || hz > fd->max * 1e6)
			return ERR_INVAL;
		c->radio_cfg.lp.freq_hz = hz;
	} else if (!strcmp(key, "bw")) {
		uint32_t hz;
		const struct setting_def *bd = node_setting_find(key);
		if (room_decimal_parse(v, 3, &hz) || hz < bd->min * 1e3 || hz > bd->max * 1e3)
			return ERR_INVAL;
		c->radio_cfg.lp.bw_hz = hz;
	} else if (!strcmp(key, "sf")) {
		if (!(rc = node_int(key, v, &l)))
			c->radio_cfg.lp.sf = (uint8_t)l;
	} else if (!strcmp(key, "cr")) {
		if (!(rc = node_int(key, v, &l)))
			c->radio_cfg.lp.cr = (uint8_t)l;
	} else if (!strcmp(key, "tx")) {
		if (!(rc = node_int(key, v, &l)))
			c->radio_cfg.tx_power_dbm = (int)l;
	} else if (!strcmp(key, "repeat")) {
		if (!(rc = parse_bool(v, &b)))
			c->mesh.repeat = b;
	} else if (!strcmp(key, "af")) {
		if (!(rc = node_double(key, v, &d)))
			c->mesh.airtime_factor = d;
	} else if (!strcmp(key, "txdelay")) {
		if (!(rc = node_double(key, v, &d)))
			c->mesh.tx_delay_factor = d;
	} else if (!strcmp(key, "direct.txdelay")) {
		if (!(rc = node_double(key, v, &d)))
			c->mesh.direct_tx_delay_factor = d;
	} else if (!strcmp(key, "flood.max")) {
		if (!(rc = node_int(key, v, &l)))
			c->mesh.flood_max = (uint8_t)l;
	} else if (!strcmp(key, "flood.max.unscoped")) {
		if (!(rc = node_int(key, v, &l)))
			c->mesh.flood_max_unscoped = (uint8_t)l;
	} else if (!strcmp(key, "flood.max.advert")) {
		if (!(rc = node_int(key, v, &l)))
			c->mesh.flood_max_advert = (uint8_t)l;
	} else if (!strcmp(key, "kiss.txdelay")) {
		if (!(rc = parse_int(v, 0, 255, &l)))
			c->radio_cfg.txdelay_10ms = (int)l;
	} else if (!strcmp(key, "kiss.persistence")) {
		if (!(rc = parse_int(v, 0, 255, &l)))
			c->radio_cfg.persistence = (int)l;
	} else if (!strcmp(key, "kiss.slottime")) {
		if (!(rc = parse_int(v, 0, 255, &l)))
			c->radio_cfg.slottime_10ms = (int)l;
	} else if (!strcmp(key, "http.listen")) {
		if (strcmp(v, "off") != 0 && !listen_spec_ok(v, sizeof(c->http_listen)))
			return ERR_INVAL;
		snprintf(c->http_listen, sizeof(c->http_listen), "%s", v);
	} else if (!strncmp(key, "fed.", 4)) {
		struct {
			const char *k;
			char *dst;
			size_t cap;
		} f[] = {
		    {"fed.url", c->fed.url, sizeof(c->fed.url)},
		    {"fed.site", c->fed.site, sizeof(c->fed.site)},
		    {"fed.cafile", c->fed.cafile, sizeof(c->fed.cafile)},
		    {"fed.certfile", c->fed.certfile, sizeof(c->fed.certfile)},
		    {"fed.keyfile", c->fed.keyfile, sizeof(c->fed.keyfile)},
		    {"fed.username", c->fed.username, sizeof(c->fed.username)},
		    {"fed.password", c->fed.password, sizeof(c->fed.password)},
		};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			if (strcmp(key, f[i].k))
				continue;
			if (strlen(v) >= f[i].cap)
				return ERR_INVAL;
			if (!strcmp(key, "fed.url") && v[0] && strncmp(v, "mqtt://", 7) &&
			    strncmp(v, "mqtts://", 8))
				return ERR_INVAL;
			if (!strcmp(key, "fed.site") && v[0] && !fed_site_valid(v))
				return ERR_INVAL;
			snprintf(f[i].dst, f[i].cap, "%s", v);
			return ERR_OK;
		}
		return ERR_NOT_FOUND;
	} else {
		const struct setting_def *sd = room_setting_find(key);
		if (!sd)
			return ERR_NOT_FOUND;
		rc = room_setting_parse(&c->room, sd, v);
	}
	return rc;
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
		if (r == ERR_NOT_FOUND) {
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
	           "## Radio and mesh (the whole daemon)\n");
	for (size_t i = 0; i < sizeof(daemon_keys) / sizeof(daemon_keys[0]); i++)
		fprintf(f, "# %s\n#%s = %s\n", daemon_keys[i].help, daemon_keys[i].key,
		        daemon_keys[i].dflt);
	fprintf(f, "\n## Room settings: defaults for rooms created from now on.  A room keeps\n"
	           "## its own from its creation: change them with 'roomctl set KEY VALUE'\n"
	           "## (roomd says at start which keys set here a room overrides).\n");
	for (size_t i = 0; i < room_setting_count; i++) {
		const struct setting_def *d = &room_setting_defs[i];
		room_setting_format(&s, d, v, sizeof(v));
		fprintf(f, "# %s\n#%s = %s\n", d->help, d->key, v);
	}
	return fclose(f) == 0 ? ERR_OK : ERR_SYS;
}
