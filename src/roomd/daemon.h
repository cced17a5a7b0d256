/*
 * daemon.h - roomd's insides, shared by src/app/roomd.c (options, start and
 * stop, the event loop, the command doors) and the parts split from it
 * along its own sections: rooms.c (the rooms and their hooks), fed_glue.c
 * (federation over MQTT) and web_host.c (what the web page sees).  Nothing
 * else uses this header; roomd owns one struct daemon for its whole run.
 */
#ifndef ROOMD_ROOMD_DAEMON_H
#define ROOMD_ROOMD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fed/fed.h"
#include "mesh/mesh.h"
#include "mesh/node.h"
#include "radio/radio.h"
#include "room/cmd.h"
#include "room/room.h"
#include "store/store.h"
#include "sys/config.h"
#include "sys/ctlsock.h"
#include "sys/loop.h"
#include "sys/mqtt.h"

/* Exit statuses (see usage() and contrib/roomd.service). */
enum {
	EXIT_RUNTIME = 1, /* a runtime error: a restart may help */
	EXIT_CONFIG = 2,  /* usage or configuration */
	EXIT_LOCKED = 3,  /* another roomd runs on the data directory */
	EXIT_STORE = 4, /* the database is corrupt, not roomd's or too new: a restart cannot help */
};

#define MAX_ROOMS    16
#define LINE_MAX_LEN 512

struct daemon {
	struct app_config cfg;
	struct store *store;
	struct radio *radio;
	struct mesh mesh;
	struct node_link link; /* the radio <-> mesh glue */
	struct room_clock clock;
	struct room *rooms[MAX_ROOMS]; /* allocated: the mesh keeps pointers to them */
	int n_rooms;
	int console_room;
	char console[LINE_MAX_LEN];
	size_t console_len;
	bool console_open;
	int lock_fd;           /* DIR/roomd.lock, held while we run */
	struct ctlsock *ctl;   /* DIR/control.sock, NULL if it could not be bound */
	struct room_node node; /* the radio, shared by the rooms */
	FILE *log_f;           /* packet log (`log start`), DIR/packets.log */
	bool reboot;
	/* the event loop */
	struct loop *loop;
	struct loop_timer *timer; /* rearmed to the next deadline by service() */
	struct loop_fd *ev_stdin;
	struct loop_pollset radio_watch; /* the radio's descriptors */
	struct web *web;                 /* the web page, NULL when off */
	/* federation (issue 17): every room, each on its own topic
	 * (roomd/ROOM/<key>/), over one MQTT connection */
	bool fed_on;
	struct fed *feds[MAX_ROOMS];
	int n_feds;
	char fed_site[FED_SITE_MAX + 1], fed_name[80];
	struct mqtt *mq;
	struct loop_pollset mqtt_watch; /* the broker's socket */
};

struct room_list {
	struct store_room rooms[MAX_ROOMS];
	int n;
};

/* ---- roomd.c ---- */

/* Work due now (mesh, rooms, radio), the watches and the next deadline:
 * after every event. */
void roomd_service(struct daemon *d);
/* The radio's upcalls: into the node (mesh/node.h). */
void roomd_radio_events(struct daemon *d, struct radio_events *ev);
/* One command line from a door for the room *cur: ERR_OK or the error of
 * the status. */
int roomd_run_command(struct daemon *d, const char *line, enum cmd_origin origin, int *cur,
                      char *reply, size_t cap);

/* ---- rooms.c ---- */

/* Every room of the store, opened on the mesh. */
void roomd_open_rooms(struct daemon *d);
/* store_room_list's callback filling a struct room_list. */
int roomd_list_rooms_cb(void *ctx, const struct store_room *sr);
/* A new room with a fresh identity; why says what failed; *out_id its id
 * (out_id may be NULL). */
int roomd_create_room(struct daemon *d, const char *name, char *why, size_t why_cap,
                      uint32_t *out_id);
/* Identity files in the data directory with no room yet become rooms. */
int roomd_adopt_identities(struct daemon *d, const char *first_name);
/* The room named by an index or a name as `rooms` shows them; -1 if none. */
int roomd_find_room(struct daemon *d, const char *arg);
/* room.add and room.remove. */
int roomd_room_add(struct daemon *d, const char *name, char *reply, size_t cap);
int roomd_room_remove(struct daemon *d, const char *arg, char *reply, size_t cap);

/* ---- fed_glue.c ---- */

/* Starts federation of every room (fed.url): ERR_OK or ERR_CONFIG (logged). */
int roomd_fed_start(struct daemon *d);
/* Federates room r (a room added since the start) / stops (a room removed). */
void roomd_fed_add(struct daemon *d, struct room *r);
void roomd_fed_drop(struct daemon *d, const struct room *r);
/* Rewatches the broker's socket; the loop's pollset callback. */
void roomd_mqtt_watch(struct daemon *d);
void roomd_on_mqtt_fd(void *ctx, struct pollfd *fds, int n);
/* The room hooks federation answers (room.h's struct room_hooks). */
void roomd_on_fed_post(void *ctx, struct room *r, int64_t id);
void roomd_on_fed_member(void *ctx, struct room *r, const struct room_member *m);
void roomd_on_fed_removed(void *ctx, struct room *r, const uint8_t pub[32]);
void roomd_on_fed_ban(void *ctx, struct room *r, const uint8_t pub[32], bool banned, uint32_t when);
void roomd_on_fed_delete(void *ctx, struct room *r, int64_t id);
size_t roomd_on_fed_status(void *ctx, struct room *r, char *out, size_t cap);
void roomd_on_fed_settings(void *ctx, struct room *r);

/* ---- web_host.c ---- */

/* The web page on http.listen (logged when off or refused). */
void roomd_web_start(struct daemon *d);

#endif
