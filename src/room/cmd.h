/*
 * cmd.h - the admin command line of a room (PROTOCOL.md §8).
 *
 * One table serves the three doors: the console on standard input (the
 * firmware's serial console), the local control socket (roomctl), and admins
 * over the radio.  Commands the firmware keeps to the serial console (sender
 * timestamp 0: get prv.key, get acl, set freq, erase, log, stats-*) stay
 * local here.  Spelling and replies are the firmware's; where Linux has no
 * equivalent the firmware's "unsupported" answer is given (board features,
 * sensors, OTA, power saving, erase).  Node-wide settings (the radio and the
 * mesh: set radio/freq/tx/af/repeat/txdelay/flood.max...) act on the shared
 * struct room_node and mesh and are saved as global settings (store room 0)
 * under the names of the config file.  Moderation commands (post.list,
 * post.delete, ban, unban, members, stats-room) are ours.
 */
#ifndef ROOMD_ROOM_CMD_H
#define ROOMD_ROOM_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct room;

enum cmd_origin {
	CMD_SERIAL, /* the console on stdin */
	CMD_LOCAL,  /* the control socket */
	CMD_REMOTE, /* an admin over the radio */
};

/*
 * Runs one command line for room r; writes the reply (possibly empty) into
 * reply.  sender_ts is the remote command's timestamp (0 for local doors).
 * Returns ERR_OK, or ERR_NOT_FOUND for an unknown command (reply set too).
 */
int room_cmd(struct room *r, const char *line, uint32_t sender_ts, enum cmd_origin origin,
             char *reply, size_t cap);

/*
 * True if a reply reports a failure (the firmware's "Err...", "ERR...",
 * "Error...", "??: key", "unknown config: ...", "Unknown command"), for the
 * exit status of roomctl.  The firmware has no status besides the text.
 */
bool room_cmd_reply_is_error(const char *reply);

/* Writes the help text (one line per command) into out. */
void room_cmd_help(char *out, size_t cap);

#endif
