/*
 * config.h - the daemon's configuration file (DIR/roomd.conf).
 *
 * `key = value` lines, `#` comments.  Every key is declared once, in the
 * settings table of room/settings.h (daemon, node and room keys, with their
 * ranges, rules, defaults, help and doors); config.c only says where each
 * lands in struct app_config.  Room keys give the defaults of rooms created
 * later.  Settings changed by
 * command live in the database and win over the file.  Errors read
 * "file:line: message".
 */
#ifndef ROOMD_SYS_CONFIG_H
#define ROOMD_SYS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mesh/mesh.h"
#include "radio/radio.h"
#include "room/room.h"

struct app_config {
	char data_dir[1024];
	char radio[512];
	struct radio_cfg radio_cfg;
	struct mesh_cfg mesh;
	struct room_settings room;
	char http_listen[128]; /* the web page: ADDR:PORT or "off" */
	/* federation (issue 17): fed.url mqtt://[user:pass@]HOST:PORT/ROOM or "" */
	struct {
		char url[512];
		char site[33]; /* "" = the one saved in the database (made at first use) */
		char cafile[512], certfile[512], keyfile[512];
		char username[128], password[128];
	} fed;
	/* the room keys the file itself set (bit i: room_setting_defs[i]), so
	 * that roomd can say which of them an existing room overrides */
	uint64_t room_keys_in_file;
};

#define APP_HTTP_DEFAULT "127.0.0.1:8073"

void app_config_defaults(struct app_config *c);
/* Loads path over c; a missing file is an error only if must_exist. */
int app_config_load(const char *path, struct app_config *c, bool must_exist);
/* Reads config lines from f over c; path names it in errors.  ERR_CONFIG if any line is bad. */
int app_config_read(FILE *f, const char *path, struct app_config *c);
/*
 * Parses one "key value" pair arriving through door (SET_DOOR_FILE or
 * SET_DOOR_FLAG, room/settings.h) with the settings table's range and
 * rules: ERR_NOT_FOUND for an unknown key, ERR_PERM for a key that door
 * does not set (prv.key, the firmware-only ones), ERR_INVAL, ERR_FORMAT or
 * ERR_TOO_BIG for a value refused (nothing changes).
 */
int app_config_set_from(struct app_config *c, const char *key, const char *value, unsigned door);
/* The same from the file (SET_DOOR_FILE). */
int app_config_set(struct app_config *c, const char *key, const char *value);
/* Writes the commented default file. */
int app_config_write_default(const char *path);

#endif
