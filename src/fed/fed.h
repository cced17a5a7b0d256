/*
 * fed.h - one room across several sites (issue 17): the replication state
 * machine beside the room core.  Pure: it talks to the room and the store
 * through their APIs, to the broker through one publish callback, and takes
 * time as arguments (now_ms monotonic, wall_ms the wall clock for lag); the
 * MQTT glue (src/sys/mqtt.c) feeds it messages and connection changes.
 *
 * Topics: roomd/<ROOM>/<KEY>/<SITE>/<kind> (KEY: the first 8 bytes of the
 * room's public key in hex, so every room of a roomd has its own topics and
 * sites holding the same key file meet on them; kind: post, member, hello,
 * ban, del, settings), one site writing only under its own name (the
 * broker's ACL can say so: the MQTT client id is the site name); every site
 * subscribes to roomd/<ROOM>/#.
 *
 * Replication:
 *  - a post stored here is published after its commit (the author's ACK
 *    never waits for the broker); a post from another site is stored once by
 *    its global id (room_post_remote) and pushed to the members heard here;
 *  - a member's record is published whenever the room writes it (login,
 *    ACK, role): role, sync point, replay mark, and where and when it was
 *    last heard; the site that heard it last pushes to it, the others not.
 *    The role carries a version (the RTC of the change and the site that
 *    made it): the newer version wins at every site, whoever heard the
 *    member; a removal (setperm KEY 0) is a version too (a tombstone, kept
 *    in the room's settings), so a record made before it does not bring the
 *    member back;
 *  - bans and deletions by global id; the room's name, passwords and
 *    read-only access (the newest version wins; retained at the broker, so a
 *    site that joins later gets them), radio settings stay per site;
 *  - resync: a hello carries this site's high-water mark per origin, in
 *    pages of FED_HELLO_MAX origins (by name); a peer that holds more of an
 *    origin a page covers sends what is missing (FED_RESYNC_BATCH posts an
 *    answer, then its own hello so the asker asks again).  Hellos go
 *    at connect (asking every peer to answer with theirs) and every
 *    FED_HELLO_MS, so a site back after longer than the broker keeps
 *    messages, or started empty, gets everything from its peers.
 */
#ifndef ROOMD_FED_FED_H
#define ROOMD_FED_FED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fed/fedmsg.h"

struct room;
struct room_member;

#define FED_PEERS_MAX    32
#define FED_HELLO_MS     30000
#define FED_HELLO_MIN_MS 250 /* hellos asking for more go at most this often */
#define FED_RESYNC_BATCH 200
#define FED_LAG_SAMPLES  1024
#define FED_TOPIC_MAX    128
#define FED_UP_MARGIN_S  120 /* see down_rtc */
#define FED_OUTBOX       256 /* posts stored since the last fed_tick, published by it */

/* Publishes payload on topic with QoS 1 (retained: the broker keeps the last one
 * for sites that subscribe later); ERR_OK if handed to the client. */
typedef int fed_publish_fn(void *ctx, const char *topic, const uint8_t *payload, size_t len,
                           bool retain);

struct fed_peer {
	char site[FED_SITE_MAX + 1];
	uint64_t seen_ms; /* now_ms of its last message */
	uint32_t lag_ms;  /* of its last live post */
};

struct fed_stats {
	uint32_t published, publish_failed;
	uint32_t posts_applied, posts_dup, members_applied, bans_applied, deletes_applied;
	uint32_t members_removed; /* by a removal at another site */
	uint32_t members_stale;   /* records of a member removed since: dropped */
	uint32_t dropped_garbage, dropped_wrong_room, dropped_bad_sig, dropped_store;
	uint32_t hellos_sent, hellos_rx, resync_posts_sent, settings_applied;
	uint64_t rx_bytes, tx_bytes;
};

struct fed {
	struct room *room;
	char site[FED_SITE_MAX + 1];
	char prefix[FED_TOPIC_MAX]; /* "roomd/<ROOM>/<KEY>/" */
	fed_publish_fn *publish;
	void *io;
	bool up;
	uint64_t now_ms, wall_ms;             /* the latest times given */
	uint64_t next_hello_ms, hello_due_ms; /* periodic; asked for (0 = none) */
	uint64_t last_sync_ms; /* a peer's hello showed nothing we lack (0 = never) */
	uint32_t queued;       /* published, broker's PUBACK not in (the glue counts) */
	uint32_t down_rtc;     /* room RTC when the link went down (after a start: when it
	                        * was last seen up, less FED_UP_MARGIN_S; 0 = never):
	                        * our role changes since are published again at connect */
	struct fed_peer peers[FED_PEERS_MAX];
	unsigned n_peers;
	uint32_t lag[FED_LAG_SAMPLES]; /* live posts' lag, ms, a ring */
	unsigned n_lag, lag_next;
	struct fed_stats stats;
	/* posts stored here, published at the next fed_tick: after the tick's
	 * ACK went to the radio (more than FED_OUTBOX: the next hello resyncs) */
	int64_t outbox[FED_OUTBOX];
	unsigned n_out;
	/* room-level settings: the version and values last published or applied */
	struct fed_settings set;
};

/* ERR_INVAL for a bad site or room name (topic level: no '/', '+', '#'). */
int fed_init(struct fed *f, struct room *room, const char *site, const char *room_name,
             fed_publish_fn *publish, void *io);

/* The broker connection came up (a hello asking for answers goes) or went down. */
void fed_set_up(struct fed *f, bool up, uint64_t now_ms, uint64_t wall_ms);

/* A message from the broker (any topic under the prefix). */
void fed_receive(struct fed *f, const uint8_t *payload, size_t len, uint64_t now_ms,
                 uint64_t wall_ms);

/* The room's hooks (struct room_hooks post_stored / member_saved); a post is
 * published by the next fed_tick, so the author's ACK never waits for it. */
void fed_post_stored(struct fed *f, int64_t id);
void fed_member_saved(struct fed *f, const struct room_member *m);
/* A member removed here (setperm KEY 0): a tombstone every site takes unless
 * it knows a newer role change (fed.c: roles carry a version, the RTC of the
 * change and its site; the newer wins everywhere, whoever heard the member). */
void fed_member_removed(struct fed *f, const uint8_t pub[CRYPTO_PUB_SIZE]);
/* A ban set or lifted here, a post deleted here (by its id, before the delete). */
void fed_ban_changed(struct fed *f, const uint8_t pub[32], bool banned, uint32_t when);
void fed_post_deleting(struct fed *f, int64_t id);
/* The room's settings changed here (struct room_hooks settings_changed): a
 * change of name, passwords or read-only access is published (retained). */
void fed_settings_changed(struct fed *f);

/* Publishes the posts stored since the last call, sends periodic hellos; the
 * next deadline (now_ms scale). */
void fed_tick(struct fed *f, uint64_t now_ms, uint64_t wall_ms);
uint64_t fed_next_deadline(const struct fed *f);

/* Peers heard in the last 3 hellos' time. */
unsigned fed_peers_live(const struct fed *f);
/* Lag percentile (0..100) of the recent live posts, ms; 0 if none. */
uint32_t fed_lag_pct(const struct fed *f, unsigned pct);
/* The status as a JSON object (stats-room's "fed", /metrics). */
size_t fed_status_json(const struct fed *f, char *out, size_t cap);

#endif
