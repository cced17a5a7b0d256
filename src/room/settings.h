/*
 * settings.h - the one table of room settings (PROTOCOL.md §8.3, §8.4, §8.6).
 *
 * Each key is declared once, with its firmware CLI spelling, its type, range
 * and rule, default, help and the doors that may set it; the config file,
 * roomd --set, `get`, `set`, `help set`, persistence in the store, the web
 * page's settings form and the default roomd.conf all derive from the table.
 * Three parts: the room keys (stored per room), the node keys (the radio and
 * the mesh, shared by the rooms, also set by command) and the daemon keys
 * (the modem, the web page, federation: roomd.conf and --set only).
 */
#ifndef ROOMD_ROOM_SETTINGS_H
#define ROOMD_ROOM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "room/room.h"

/* SET_NODE: a node-wide key (the radio, the mesh) that cmd.c applies itself;
 * it is in node_setting_defs[] for its spellings, range and help. */
enum setting_type { SET_STR, SET_BOOL, SET_UINT, SET_DOUBLE, SET_NODE };

/* The doors that may set a key: the config file, roomd --set KEY=VALUE,
 * `set` on the console or the control socket, `set` over the radio. */
enum setting_door {
	SET_DOOR_FILE = 1,
	SET_DOOR_FLAG = 2,
	SET_DOOR_LOCAL = 4,
	SET_DOOR_REMOTE = 8,
};
#define SET_DOORS_CONF (SET_DOOR_FILE | SET_DOOR_FLAG)
#define SET_DOORS_CMD  (SET_DOOR_LOCAL | SET_DOOR_REMOTE)
#define SET_DOORS_ALL  (SET_DOORS_CONF | SET_DOORS_CMD)

/* Where a node key lives and how `get` shows it and `set` reads it: in
 * struct room_node (the radio) or struct mesh_cfg (the mesh), at .offset. */
enum node_kind {
	NODE_NONE,        /* the daemon's keys: roomd.conf only */
	NODE_RADIO,       /* room_node.lp: "freq,bw,sf,cr" */
	NODE_MHZ,         /* room_node uint32_t Hz, shown and typed in MHz (exact) */
	NODE_KHZ,         /* room_node uint32_t Hz, shown and typed in kHz (exact) */
	NODE_LP_U8,       /* room_node uint8_t (sf, cr): digits only */
	NODE_TX,          /* room_node int (dBm) */
	NODE_REPEAT,      /* mesh_cfg bool: anything but "off..." is on */
	NODE_FACTOR,      /* mesh_cfg double, the firmware's float text */
	NODE_DUTY,        /* mesh_cfg double airtime factor, typed as a duty cycle % */
	NODE_HOPS,        /* mesh_cfg uint8_t */
	NODE_KEY,         /* the identity: cmd.c's own */
	NODE_UNSUPPORTED, /* firmware board parts: "Error: unsupported" */
};

struct setting_def {
	const char *key; /* as typed after `set` / `get`, and in the config file */
	enum setting_type type;
	enum node_kind node;   /* SET_NODE: where the value lives */
	const char *unit;      /* "minutes", "MHz": shown after the range */
	size_t offset;         /* into struct room_settings (node keys: see node) */
	size_t size;           /* SET_STR: buffer size */
	double min, max;       /* SET_UINT/SET_DOUBLE range (min == max: no check);
	                        * SET_STR: min 1 refuses an empty value */
	const char *range_err; /* firmware error text when out of range */
	const char *help;
	const char *range;   /* what `help set` shows when min/max do not say it */
	const char *aliases; /* other spellings, space-separated (a popular setup
	                      * guide's: advert_lat for lat); replies name the key */
	/* the rules beyond min..max, the same at every door */
	bool zero_off;         /* SET_UINT: 0 (off) is taken besides min..max */
	const char *choices;   /* SET_STR: the values taken, space-separated */
	const char *bad_chars; /* SET_STR: bytes refused */
	unsigned doors;        /* enum setting_door bits; 0 = every door */
	const char *dflt;      /* node and daemon keys: the default as written in
	                        * roomd.conf (room keys: room_settings_defaults) */
};

/* The settings of a room (stored per room) and the node-wide keys of `set`. */
extern const struct setting_def room_setting_defs[];
extern const size_t room_setting_count;
extern const struct setting_def node_setting_defs[];
extern const size_t node_setting_count;
/* The daemon's own keys (roomd.conf and --set only): type SET_NODE. */
extern const struct setting_def daemon_setting_defs[];
extern const size_t daemon_setting_count;

/* The doors of d (every door when the table leaves them 0). */
unsigned setting_doors(const struct setting_def *d);
/* Any key of the table (room, node or daemon) by name or alias; NULL if none. */
const struct setting_def *setting_find_any(const char *key);

/* A room key by its name or an alias (NULL if none). */
const struct setting_def *room_setting_find(const char *key);
/* A node-wide key (its min/max are the range the config file and `set` check). */
const struct setting_def *node_setting_find(const char *key);
/* Any key of `set` (room or node) by its name or an alias; NULL if none. */
const struct setting_def *setting_lookup(const char *key);
/* "-90 to 90", "on or off", "text, at most 31 bytes": the range as help shows it. */
void setting_range_text(const struct setting_def *d, char *out, size_t cap);
/* "key (alias, alias): help; range" for `help set`. */
int setting_help_line(const struct setting_def *d, char *out, size_t cap);
/*
 * The keys nearest to an unknown one (edit distance after '_' -> '.', or
 * one containing the other), comma-separated, at most `max` of them; ""
 * if none is near.
 */
void setting_suggest(const char *key, unsigned max, char *out, size_t cap);
/*
 * A node key's value as `get` shows it (without the "> "): ERR_NOT_FOUND
 * for the kinds that have none here (NODE_NONE, NODE_KEY, NODE_UNSUPPORTED).
 */
int node_setting_format(const struct setting_def *d, const struct mesh_cfg *mc,
                        const struct room_node *nd, char *out, size_t cap);
/*
 * Parses a node key as the firmware's `set` does (numbers as atof, checked
 * against min..max; sf/cr digits only; freq/bw exact decimals) and stores it:
 * ERR_INVAL (say d->range_err) or ERR_NOT_FOUND for the kinds set elsewhere.
 */
int node_setting_parse(const struct setting_def *d, struct mesh_cfg *mc, struct room_node *nd,
                       const char *val);
/* "f,bw,sf,cr[,mins]" in the firmware's ranges (mins NULL: none taken). */
int room_radio_parse(const char *s, struct lora_params *lp, int *mins);
/* Strips one pair of surrounding double or single quotes, in place. */
char *setting_unquote(char *v);
/* Formats the value of key as `get` shows it (without the "> "). */
int room_setting_format(const struct room_settings *s, const struct setting_def *d, char *out,
                        size_t cap);
/* Parses and stores a value; ERR_FORMAT (bad syntax), ERR_INVAL (out of
 * range) or ERR_TOO_BIG (text longer than the key takes: never cut). */
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
/*
 * Exact decimals for the radio (frequencies are integer Hz, never a float):
 * room_decimal_parse("869.618", 6, &hz) gives 869618000.  Digits past
 * `decimals` round half up; a sign, spaces, an exponent or garbage are
 * ERR_FORMAT; a value over UINT32_MAX is ERR_INVAL.  room_decimal_format
 * prints it back as typed: trailing zeros and a bare point dropped
 * (869618000, 6 -> "869.618"; 62500, 3 -> "62.5"; 250000, 3 -> "250").
 */
int room_decimal_parse(const char *s, unsigned decimals, uint32_t *out);
void room_decimal_format(uint32_t v, unsigned decimals, char *out, size_t cap);
/* "869.618,62.5,8,5": the radio as `get radio` shows it. */
void room_radio_format(const struct lora_params *lp, char *out, size_t cap);
void room_ftoa3(float f, char *out, size_t cap);

#endif
