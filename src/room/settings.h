/*
 * settings.h - the one table of room settings (PROTOCOL.md §8.3, §8.4, §8.6).
 *
 * Each key is declared once, with its firmware CLI spelling, its type, range
 * and default; the config file, `get`, `set`, persistence in the store and
 * the documentation all derive from the table.
 */
#ifndef ROOMD_ROOM_SETTINGS_H
#define ROOMD_ROOM_SETTINGS_H

#include <stddef.h>

#include "room/room.h"

enum setting_type { SET_STR, SET_BOOL, SET_UINT, SET_DOUBLE };

struct setting_def {
	const char *key;    /* as typed after `set` / `get`, and in the config file */
	enum setting_type type;
	size_t offset;      /* into struct room_settings */
	size_t size;        /* SET_STR: buffer size */
	double min, max;    /* SET_UINT/SET_DOUBLE range (min == max: no check);
			     * SET_STR: min 1 refuses an empty value */
	const char *range_err; /* firmware error text when out of range */
	const char *help;
};

extern const struct setting_def room_setting_defs[];
extern const size_t room_setting_count;

const struct setting_def *room_setting_find(const char *key);
/* Formats the value of key as `get` shows it (without the "> "). */
int room_setting_format(const struct room_settings *s, const struct setting_def *d, char *out,
			size_t cap);
/* Parses and stores a value; ERR_FORMAT (bad syntax) or ERR_INVAL (out of range). */
int room_setting_parse(struct room_settings *s, const struct setting_def *d, const char *value);

/*
 * The firmware's float formats (§8.3).  room_ftoa: the float32 value with its
 * binary fraction expanded to at most 7 truncated decimal digits, trailing
 * zeros dropped but one kept (869.618 -> "869.6179809", 62.5 -> "62.5");
 * "0" when out of range (|f| >= 2^31 or < 2^-23).  room_ftoa3: rounded to 3
 * decimals, trailing zeros and point dropped (62.5 -> "62.5", 125 -> "125").
 * Both write at most cap bytes, NUL-terminated.
 */
void room_ftoa(float f, char *out, size_t cap);
void room_ftoa3(float f, char *out, size_t cap);

#endif
