/*
 * settings.c - the room settings table (see settings.h).
 *
 * Ranges and error texts are the firmware's (CommonCLI::handleSetCmd); the
 * zero-hop advert interval is kept in minutes here, where the firmware
 * stores minutes / 2.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room/settings.h"
#include "util/err.h"

#define F(field) offsetof(struct room_settings, field), sizeof(((struct room_settings *)0)->field)

const struct setting_def room_setting_defs[] = {
	{ "name", SET_STR, F(name), 0, 0, NULL, "room name shown in adverts (31 bytes)" },
	/* never empty: an empty password would let every blank login in */
	{ "password", SET_STR, F(admin_password), 1, 0, "Error, password must not be empty",
	  "admin password (1-15 characters)" },
	{ "guest.password", SET_STR, F(guest_password), 1, 0, "Error, password must not be empty",
	  "read-write password (1-15 characters)" },
	{ "allow.read.only", SET_BOOL, F(allow_read_only), 0, 0, NULL,
	  "on: a blank or wrong password logs in read-only" },
	{ "lat", SET_DOUBLE, F(lat), -90, 90, "Error, bad latitude", "latitude in degrees" },
	{ "lon", SET_DOUBLE, F(lon), -180, 180, "Error, bad longitude", "longitude in degrees" },
	{ "advert.location", SET_BOOL, F(advert_location), 0, 0, NULL,
	  "on: put lat/lon in adverts (the firmware's 'prefs' policy)" },
	{ "advert.interval", SET_UINT, F(advert_interval_min), 0, 240,
	  "Error: interval range is 60-240 minutes", "zero-hop advert period, minutes (0 = off)" },
	{ "flood.advert.interval", SET_UINT, F(flood_advert_interval_h), 0, 168,
	  "Error: interval range is 3-168 hours", "flood advert period, hours (0 = off)" },
	{ "path.hash.mode", SET_UINT, F(path_hash_mode), 0, 2, "Error, must be 0,1, or 2",
	  "path hash size - 1 for floods the room originates" },
	{ "multi.acks", SET_UINT, F(multi_acks), 0, 255, NULL, "extra multi-ACKs before each ACK" },
	{ "owner.info", SET_STR, F(owner_info), 0, 0, NULL, "owner text ('|' is a newline)" },
	{ "max.posts", SET_UINT, F(max_posts), 1, 10000000, "Error, must be 1-10000000",
	  "posts kept per room (oldest dropped)" },
	{ "max.guests", SET_UINT, F(max_guests), 0, 100000, "Error, must be 0-100000",
	  "read-only guest slots (recycled, never evict members)" },
	{ "max.members", SET_UINT, F(max_members), 1, 1000000, "Error, must be 1-1000000",
	  "password members kept" },
	{ "push.parallel", SET_UINT, F(push_parallel), 1, 32, "Error, must be 1-32",
	  "members pushed to at the same time" },
	{ "keepalive.interval", SET_UINT, F(keepalive_interval_s), 0, 4080,
	  "Error, must be 0-4080",
	  "keep-alive interval asked of members at login, seconds (16 s units; 0 = none, "
	  "as v1.17.1)" },
	/* firmware radio tuning the KISS modem does not expose: kept and shown, no effect */
	{ "rxdelay", SET_DOUBLE, F(rxdelay), 0, 20, "Error, must be 0-20",
	  "receive delay base (firmware; no effect here)" },
	{ "int.thresh", SET_UINT, F(int_thresh), 0, 255, "Error, must be 0-255",
	  "interference threshold (firmware; no effect here)" },
	{ "cad", SET_BOOL, F(cad), 0, 0, NULL, "channel activity detection (firmware; no effect here)" },
	{ "agc.reset.interval", SET_UINT, F(agc_reset_interval_s), 0, 1020, "Error, must be 0-1020",
	  "AGC reset interval, seconds, multiple of 4 (firmware; no effect here)" },
	{ "loop.detect", SET_STR, F(loop_detect), 0, 0,
	  "Error, must be: off, minimal, moderate, or strict",
	  "off, minimal, moderate or strict (no effect on a room server)" },
};
const size_t room_setting_count = sizeof(room_setting_defs) / sizeof(room_setting_defs[0]);

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
	for (size_t i = 0; i < room_setting_count; i++)
		if (strcmp(room_setting_defs[i].key, key) == 0)
			return &room_setting_defs[i];
	return NULL;
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
		/* the firmware keeps what fits and drops the rest */
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
		if (d->min != d->max && (v < d->min || v > d->max))
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
