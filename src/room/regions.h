/*
 * regions.h - the room's region table and the `region` admin commands
 * (PROTOCOL.md §6.10, §8.5).
 *
 * Regions form a small tree under the wildcard '*' (index -1 here).  A name
 * is looked up ignoring a leading '#': an exact match wins, else the last
 * region whose name starts with the text.  The table is saved in the store
 * as one room setting, "regions", when the firmware saves it: on
 * `region save` and `region default`.
 */
#ifndef ROOMD_ROOM_REGIONS_H
#define ROOMD_ROOM_REGIONS_H

#include <stddef.h>

#include "room/room.h"

#define ROOM_REGION_WILDCARD (-1)
#define ROOM_REGION_NONE     (-2)

/* The table of a new room: only the wildcard, which allows flood. */
void room_regions_init(struct room_regions *t);
/* Encodes the table as the "regions" setting value; ERR_TOO_BIG if cap is short. */
int room_regions_encode(const struct room_regions *t, char *out, size_t cap);
/* Decodes a "regions" value; ERR_FORMAT (t unchanged) if malformed. */
int room_regions_decode(struct room_regions *t, const char *value);
/* Index of a name by prefix (§8.5), ROOM_REGION_WILDCARD for "*", ROOM_REGION_NONE. */
int room_regions_find_prefix(const struct room_regions *t, const char *name);

/*
 * Runs a `region ...` line (the whole line, starting "region").  Replies as
 * the firmware does; `region load` starts consuming lines, see below.
 */
void room_region_cmd(struct room *r, const char *line, char *reply, size_t cap);
/* While r->region_loading: one line of a bulk load (§8.5). */
void room_region_load_line(struct room *r, const char *line, char *reply, size_t cap);

#endif
