/*
 * cmd_int.h - what the files of the command line share (internal to
 * src/room): the context a handler gets, and the handlers cmd.c's table
 * names from cmd_mod.c.
 */
#ifndef ROOMD_ROOM_CMD_INT_H
#define ROOMD_ROOM_CMD_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "room/cmd.h"

struct room;

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

/* cmd_mod.c */
void cmd_post_list(struct cmd_ctx *c);
void cmd_post_delete(struct cmd_ctx *c);
void cmd_setperm(struct cmd_ctx *c);
void cmd_ban(struct cmd_ctx *c);
void cmd_unban(struct cmd_ctx *c);
void cmd_bans(struct cmd_ctx *c);
void cmd_backup(struct cmd_ctx *c);
void cmd_members(struct cmd_ctx *c);

#endif
