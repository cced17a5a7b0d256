/*
 * world.h - a whole MeshCore mesh in one process on a virtual clock
 * (PROTOCOL.md §6, §7, §9 and §11): the simulated channel of channel.h
 * carrying the REAL node code, unchanged:
 *
 *   - roomd nodes: one mesh (one radio) hosting one or more rooms (room.h),
 *     each backed by a store (":memory:" or a file, so a restart can be
 *     simulated); the radio is a KISS modem configured as roomd configures
 *     it (RADIO_CFG_DEFAULT of radio.h);
 *   - clients: the library roomc uses (client.h), on a radio that behaves
 *     like a companion's firmware;
 *   - repeaters: a mesh with cfg.repeat on and an identity but no upcalls.
 *
 * Glue (the part that is ours).  A mesh hands a frame to io.transmit and
 * expects mesh_on_tx_done later; the channel takes a frame with
 * chan_radio_send and reports tx_done from chan_advance.  How a node keys up
 * depends on what sits between its host and the air (enum world_radio):
 * firmware nodes carrier-sense in the host (Dispatcher: a busy channel makes
 * transmit return ERR_AGAIN and the mesh retries 120-360 ms later, §6.7;
 * after 4 s of busy looks they transmit anyway, as Dispatcher::checkSend
 * does; world_node_stats counts both in radio.fw_retries and
 * radio.busy_timeouts) and then transmit at once; KISS hosts hand the frame over and the modem does
 * its p-persistent CSMA (§10.2).  Both use the channel's carrier sense.
 *
 * Time.  Virtual microseconds in the channel, milliseconds for the nodes
 * (truncated).  world_run_* advance to the earliest deadline of any node or
 * of the channel, so an idle mesh costs nothing and a run is exactly
 * repeatable from its seed: every node draws from its own seeded rng, the
 * channel from another, identities from the world seed.
 *
 * Pure in the sense of the core: no I/O but the stores, no clock (CPU time
 * for profiling comes from an optional callback), no threads.
 */
#ifndef ROOMD_SIM_WORLD_H
#define ROOMD_SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"
#include "mesh/mesh.h"
#include "room/room.h"
#include "sim/channel.h"

#define WORLD_MAX_NODES 256 /* radios in one world */
#define WORLD_MAX_ROOMS 8   /* rooms hosted by one roomd node */

enum world_kind { WORLD_ROOMD, WORLD_CLIENT, WORLD_REPEATER };

/* What sits between a node's mesh and the air. */
enum world_radio {
	WORLD_RADIO_FIRMWARE, /* MeshCore firmware: defer while busy (§6.7), then key up at once */
	WORLD_RADIO_KISS,     /* a host behind kiss_modem: the modem's TXDELAY and CSMA (§10.2) */
};

struct world_cfg {
	uint64_t seed;         /* everything derives from it */
	struct lora_params lp; /* every radio; default LORA_PARAMS_DEFAULT */
	uint32_t rtc_start;    /* wall clock (epoch s) of every node at virtual time 0 */
	struct chan_link link; /* links made by all-hear-all and world_link */
	bool all_hear_all;     /* default true: each new radio hears and is heard by all */
	bool record_events;    /* keep client events for world_events (default true) */
	/* KISS modem settings of WORLD_RADIO_KISS nodes, -1 = the modem's own
	 * default; defaults are roomd's (RADIO_CFG_DEFAULT) */
	int kiss_txdelay_10ms, kiss_persistence, kiss_slottime_10ms;
	/* optional: CPU time in ns, to profile the roomd nodes (bench only) */
	uint64_t (*cpu_ns)(void);
};

void world_cfg_defaults(struct world_cfg *cfg);

/* A client event, copied (pointers of struct client_event do not outlive it). */
struct world_event {
	int node;      /* the client's node */
	uint64_t t_ms; /* virtual time */
	enum client_event_type type;
	uint8_t room[CRYPTO_PUB_SIZE]; /* the contact concerned */
	uint32_t id, ts, server_time, sync_since;
	unsigned attempt, kind;
	bool flood, new_contact;
	uint8_t role, perms, code;
	uint8_t author[4];
	int unsynced;
	char text[CLIENT_TEXT_MAX + 1];
};

/* Traffic and cost figures of one node (channel, mesh and profiling). */
struct world_node_stats {
	struct chan_radio_stats radio; /* transmissions, airtime, receptions by outcome */
	struct mesh_stats mesh;
	uint64_t frames_in; /* frames handed to mesh_on_frame */
	uint64_t cpu_ns;    /* roomd nodes, when cfg.cpu_ns is set */
};

struct world;

/* NULL when out of memory (or the channel refused the configuration). */
struct world *world_new(const struct world_cfg *cfg);
/* Closes rooms and stores (file databases are left on disk). */
void world_free(struct world *w);

/*
 * Nodes.  Each returns the node index (>= 0) or a negative error: ERR_FULL,
 * ERR_INVAL (bad or duplicate name: [A-Za-z0-9_.:-], 1..31 bytes), ERR_STORE.
 * The identity of every node and room is drawn from the world's seed.
 *
 * A roomd node opens db_path (NULL: a private ":memory:" database, which a
 * restart loses) and hosts no room until world_add_room.
 */
int world_add_roomd(struct world *w, const char *name, const char *db_path);
/*
 * Creates a room on roomd node `node` with these settings (NULL: defaults
 * with the name `name`), saves them in its store and opens it.  Returns
 * the room's index on that node.
 */
int world_add_room(struct world *w, int node, const char *name, const struct room_settings *set);
/* A client; cfg NULL: client_cfg_defaults with the node name as advert name. */
int world_add_client(struct world *w, const char *name, const struct client_cfg *cfg);
/* A plain repeater: forwards floods and direct packets (repeat on), nothing else. */
int world_add_repeater(struct world *w, const char *name);

int world_node_count(const struct world *w);
int world_node_find(const struct world *w, const char *name); /* ERR_NOT_FOUND */
enum world_kind world_node_kind(const struct world *w, int node);
struct mesh *world_mesh(struct world *w, int node);
/* NULL unless node is a client. */
struct client *world_client(struct world *w, int node);
/* Room i of a roomd node, NULL if none. */
struct room *world_room(struct world *w, int node, int i);
const uint8_t *world_room_pub(struct world *w, int node, int i);
/* The key of a client's or repeater's identity (rooms: world_room_pub). */
const uint8_t *world_node_pub(struct world *w, int node);
int world_radio_id(const struct world *w, int node);
struct chan *world_chan(struct world *w);
struct store *world_store(struct world *w, int node);

/* How a node's host reaches the air; the default is by kind (roomd: KISS). */
int world_node_set_radio(struct world *w, int node, enum world_radio kind);

/*
 * Radio and links.  A node set down neither hears nor is heard (its node
 * code keeps running and transmits into the void).  world_link puts a and b
 * in range of each other with cfg.link (on) or out of range (off).
 */
int world_node_set_up(struct world *w, int node, bool up);
int world_link(struct world *w, int a, int b, bool on);
/* Takes every link out of range: nobody hears anybody until world_link. */
void world_unlink_all(struct world *w);
/*
 * Applies the links of a topology text (topo.h syntax; radio lines name
 * existing nodes and are otherwise ignored).  mode links: only the listed
 * links exist afterwards; mode full: all pairs, adjusted by the link lines.
 * ERR_CONFIG (err/err_line set) or ERR_NOT_FOUND for an unknown node name.
 */
int world_topo_apply(struct world *w, const char *text, size_t len, int *err_line, char *err,
                     size_t err_cap);

/* Rooms: a command line as the serial console types it; reply may be NULL. */
int world_room_cmd(struct world *w, int node, int i, const char *line, char *reply, size_t cap);
/* Sends the room's advert now (flood or zero-hop). */
int world_room_advert(struct world *w, int node, int i, bool flood);
/* A client learns a room's key as if typed in (no advert): a contact of type room. */
int world_client_add_room(struct world *w, int client, int roomd, int i);
/*
 * Restarts a roomd node as a process restart would: rooms closed, store
 * closed and reopened, rooms reopened from it, the mesh and the modem fresh
 * (duplicate table and transmit queue lost).  A ":memory:" store loses all.
 */
int world_roomd_restart(struct world *w, int node);
/*
 * Kills a roomd node as SIGKILL would: rooms dropped without writing
 * anything more (what was committed stays), the radio off the air, the node
 * silent until world_roomd_restart.
 */
int world_roomd_kill(struct world *w, int node);

/* Time. */
uint64_t world_now_ms(const struct world *w);
/* Runs every event up to and including t_ms (virtual). */
void world_run_until(struct world *w, uint64_t t_ms);
void world_run_for(struct world *w, uint64_t ms);
/*
 * Runs until pred(w, ctx) is true (checked after every step) or max_ms of
 * virtual time have passed; returns whether pred became true.
 */
bool world_run_until_pred(struct world *w, bool (*pred)(struct world *w, void *ctx), void *ctx,
                          uint64_t max_ms);

/* POST events of a client that repeated a post it had shown (same room,
 * timestamp, author and text): what a stock client (client_cfg.stock) shows
 * twice.  Counted whether or not events are recorded. */
unsigned world_posts_shown_twice(const struct world *w, int node);

/* Client events, oldest first (only with cfg.record_events). */
const struct world_event *world_events(const struct world *w, size_t *n);
void world_events_clear(struct world *w);
/* Events of a node of a type, for one room key (NULL: any). */
size_t world_event_count(const struct world *w, int node, enum client_event_type type,
                         const uint8_t *room);
/* The newest such event, NULL if none. */
const struct world_event *world_event_last(const struct world *w, int node,
                                           enum client_event_type type, const uint8_t *room);
/* Also called for every client event (recorded or not); NULL to remove. */
void world_set_event_hook(struct world *w,
                          void (*fn)(void *ctx, struct world *w, const struct world_event *ev),
                          void *ctx);

/* Called at the end of every transmission (traces); NULL to remove. */
void world_set_tx_hook(struct world *w,
                       void (*fn)(void *ctx, struct world *w, const struct chan_tx_report *rep),
                       void *ctx);

/* Counters. */
int world_node_stats(const struct world *w, int node, struct world_node_stats *out);
void world_chan_stats(const struct world *w, struct chan_stats *out);
/* Clears channel counters and the world's own per-node counters. */
void world_stats_reset(struct world *w);

#endif
