/*
 * room.h - one MeshCore room server (PROTOCOL.md §7): login, posts, the push
 * engine that catches members up, requests, adverts, and the admin CLI.
 *
 * A room is a mesh endpoint (its own identity on a shared radio) backed by
 * the store: posts, members with role and sync point, replay high-water marks
 * and settings are durable, and a post is acknowledged only after its commit.
 *
 * On the wire a room is indistinguishable from firmware v1.17.1, but:
 *  - history is durable and deep (store retention, default 10,000 posts);
 *  - pushes go out as soon as the previous ACK is in, to several members at
 *    once, with no 6 s hold and no 1.2 s gap, still one post per member at a
 *    time and each acknowledged before the next;
 *  - no copy of a push repeats one the member may hold (attempt bits, then
 *    a tail byte), so the client's duplicate table never drops a retry;
 *  - the push state is committed when it moves (a push out, an ACK in), and
 *    after a restart the members active before it are pushed to again;
 *  - strangers can never evict password members, a password member seen in
 *    the last 30 days is never evicted (a full table refuses logins), and a
 *    member is not given up while it keeps showing activity;
 *  - failed logins and flood replies are rate limited, passwords compared
 *    in constant time, replays refused across restarts (a persisted window
 *    of accepted packets and the replay marks of evicted members), and ACKs
 *    that come back faster than radio allows are ignored (guard.h).
 *
 * Pure: no I/O of its own beyond the store API; time comes from the mesh
 * (monotonic ms) and the shared struct room_clock (RTC).
 */
#ifndef ROOMD_ROOM_ROOM_H
#define ROOMD_ROOM_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "proto/payload.h" /* ACL_ROLE_*: the role in the permissions byte (§7.1) */
#include "room/guard.h"

struct store;

#define ROOM_NAME_MAX          32  /* firmware char[32]: 31 bytes + NUL */
#define ROOM_PASS_MAX          16  /* 15 characters + NUL */
#define ROOM_POST_MAX          150 /* bytes of text kept per post (§7.3) */
#define ROOM_REPLY_MAX         161 /* CLI reply buffer (§8.1) */
#define ROOM_FW_VERSION        "v1.17.1"
#define ROOM_PUSH_PARALLEL_MAX 32 /* the most push.parallel can be set to */

/*
 * The wall clock shared by the rooms of a daemon: rtc = (mono_ms + offset) / 1000.
 * Built on the monotonic clock, so a system clock stepped backwards does not
 * move it; `clock sync` only ever moves it forwards (§7.11), an admin's
 * `time` backwards too (issue 13.5).  Nothing a client sends moves it.
 */
struct room_clock {
	int64_t offset_ms;
};
uint32_t room_clock_rtc(const struct room_clock *c, uint64_t mono_ms);
/* Sets the RTC to `epoch` if that is later; returns false if it would go backwards. */
bool room_clock_set(struct room_clock *c, uint64_t mono_ms, uint32_t epoch);
/* Sets the RTC to `epoch`, also backwards: an admin's `time` correcting a
 * clock that was ahead (post times still only increase: room_unique_time). */
void room_clock_force(struct room_clock *c, uint64_t mono_ms, uint32_t epoch);

/* Settings of one room: every key of the config file and of `set`. */
struct room_settings {
	char name[ROOM_NAME_MAX];
	char admin_password[ROOM_PASS_MAX];
	char guest_password[ROOM_PASS_MAX];
	bool allow_read_only;
	double lat, lon;
	bool advert_location;             /* "prefs" policy: lat/lon in every advert */
	unsigned advert_interval_min;     /* zero-hop advert period; 0 = off */
	unsigned flood_advert_interval_h; /* 0 = off */
	unsigned path_hash_mode;          /* 0..2: hash size - 1 for originated floods */
	unsigned multi_acks;
	char owner_info[120];
	unsigned max_posts;            /* retention: posts kept per room */
	unsigned max_guests;           /* read-only guest slots */
	unsigned max_members;          /* password members */
	unsigned push_parallel;        /* members pushed to at once */
	unsigned keepalive_interval_s; /* login response byte 5, in 16 s units; 0 = none */
	/* firmware radio tuning with no effect here, kept so get/set behave */
	double rxdelay;
	unsigned int_thresh;
	bool cad;
	unsigned agc_reset_interval_s;
	char loop_detect[12];
};
void room_settings_defaults(struct room_settings *s);

/*
 * What the rooms of a daemon share about their one radio (§8.3, §8.4): the
 * saved LoRa parameters (`set radio`, `set freq`: used from the next start),
 * the ones running now (the saved ones, or tempradio's for a while), the
 * transmit power and the packet log switch.  The program applies run_lp and
 * tx_dbm to the radio when the radio_changed hook fires.
 */
struct room_node {
	struct lora_params lp;
	struct lora_params run_lp;
	int tx_dbm;
	struct lora_params temp_lp; /* tempradio: pending parameters */
	uint64_t temp_apply_ms;     /* 0 = nothing pending */
	uint64_t temp_revert_ms;    /* 0 = not running temporary parameters */
	bool log_on;
};
void room_node_init(struct room_node *n, const struct lora_params *lp, int tx_dbm);

/* Regions (§6.10, §8.5): a small tree under the wildcard '*'. */
#define ROOM_REGIONS_MAX     16
#define ROOM_REGION_NAME_MAX 31
struct room_region {
	char name[ROOM_REGION_NAME_MAX]; /* as given, '#' included */
	int parent;                      /* index, -1 = the wildcard */
	bool flood;                      /* flood allowed */
};
struct room_regions {
	struct room_region r[ROOM_REGIONS_MAX];
	int n;
	int dflt, home;     /* index, -1 = none */
	bool wildcard_deny; /* the wildcard denies flood */
};

/* A member (the ACL entry of §7.1, plus push state). */
struct room_member {
	uint8_t pub[CRYPTO_PUB_SIZE];
	uint8_t secret[CRYPTO_SECRET_SIZE];
	uint8_t perms;
	uint32_t sync_since;
	uint32_t last_ts;         /* replay high-water mark (client clock) */
	uint32_t last_activity;   /* room RTC; 0 = none since start */
	uint32_t stored_activity; /* last_activity as stored before this start (eviction) */
	uint8_t out_path_len;     /* MESH_NO_PATH = unknown */
	uint8_t out_path[PKT_MAX_PATH];
	uint64_t flood_sent_ms; /* the last flood to it (a PATH answers one); 0 = none */
	/* push engine */
	bool pending;
	uint8_t pending_ack[4];
	uint32_t push_ts; /* post_ts of the outstanding push */
	uint64_t push_sent_ms;
	uint32_t push_min_ack_ms; /* an ACK sooner than this after push_sent_ms is forged */
	uint64_t ack_timeout_ms;  /* when the push times out (ack_span_ms after its TxDone) */
	uint32_t ack_span_ms;
	uint32_t ack_due_span_ms;  /* the ACK should be back this long after the push's
	                            * TxDone: other pushes wait */
	uint32_t ack_soon_span_ms; /* ... and is expected about this long after it (the
	                            * client's 200 ms, the ACK on the air, a margin): a reply
	                            * waits this long for a member that has answered no push */
	uint64_t push_seq;         /* the push in the mesh's transmit queue (mesh_tx_state) */
	uint32_t push_retry_ts;    /* the post push_sent counts copies of (0 = the next one) */
	uint8_t push_sent;         /* copies of it sent and not acknowledged, each one a
	                            * different variant (attempt bits, then a tail byte),
	                            * so none repeats a copy the member may hold; durable */
	uint8_t held;              /* after a restart: the last copy sent again unchanged
	                            * (a member that has it drops it), HELD_* of room.c */
	bool push_flood;           /* the outstanding push went by flood */
	bool push_resend;          /* ... and is that unchanged copy */
	bool answered;             /* has ACKed a push (this run, or before a restart that
	                            * resumed it): replies wait for its ACKs */
	uint32_t push_air_ms;      /* its airtime */
	unsigned push_failures;    /* in this round (PUSH_FAILS_GIVE_UP) */
	unsigned push_rounds;      /* failed rounds since the last sign of life */
	unsigned silent_floods;    /* flooded pushes unanswered since the last sign of life */
	uint32_t silent_hour;      /* room RTC at the start of the hour counted below */
	unsigned silent_pushes;    /* unanswered pushes in that hour */
	uint64_t next_push_ms;     /* no push before this */
	uint64_t push_drop_ms;     /* a login kept the outstanding push out until this
	                            * (0 = none): then it is dropped, not failed */
	uint32_t caught_up;        /* == the room's post_gen: the store had nothing newer at
	                            * the last look, and no post came since (0 = not caught up) */
	bool dirty;                /* sync/replay state not yet written */
	int8_t secret_state;       /* 1: secret derived, 0: not yet (loaded: derived when
	                            * first needed), -1: a key that cannot talk to us */
	uint32_t hnext;            /* the next member with the same pub[0], index + 1 (0 = none) */
	char name[32];             /* from its latest advert heard since start ("" = none) */
	uint32_t remote_heard;     /* federation: when another site heard it last (its RTC);
	                            * while newer than last_activity that site pushes, not us */
	uint32_t remote_ts;        /* federation: the replay mark another site set (a post
	                            * with this timestamp was accepted there: a replay here) */
};

struct room_stats {
	uint32_t logins_ok, logins_bad, logins_replayed, logins_banned;
	uint32_t posts_stored, posts_retried, posts_refused;
	uint32_t pushes, push_acks, push_timeouts, push_acks_forged, push_rounds;
	uint32_t push_given_up;      /* members given up by a bound on unanswered pushes */
	uint32_t pushes_held_busy;   /* times a push waited: the radio heard the channel busy */
	uint64_t push_silent_air_ms; /* airtime of pushes that were never answered */
	uint32_t replays;            /* old timestamp, or a packet in the duplicate window */
	uint32_t cli_cmds, requests;
	uint32_t store_errors;
	uint32_t logins_limited;  /* dropped unread: too many failed logins */
	uint32_t replies_limited; /* flood replies not sent (rate limit) */
	uint32_t ts_clamped;      /* replay marks clamped (client clock far ahead) */
	uint32_t malformed;       /* decrypted but unusable: dropped */
	uint32_t logins_full;     /* refused: every password member active (MEMBER_KEEP_S) */
	uint32_t posts_federated; /* stored from another site (room_post_remote) */
};

struct room;

enum { ROOM_LOG_STOP, ROOM_LOG_START, ROOM_LOG_ERASE, ROOM_LOG_DUMP };

/* Called when the room wants the program to do something it cannot (reboot). */
struct room_hooks {
	void (*reboot)(void *ctx, struct room *r);
	void (*radio_changed)(void *ctx, struct room *r); /* set radio / tempradio / set tx */
	void (*settings_changed)(void *ctx, struct room *r);
	/* log start/stop/erase/dump (ROOM_LOG_*); a dump writes the newest lines
	 * of the log that fit into out; returns ERR_OK or an error */
	int (*packet_log)(void *ctx, struct room *r, int op, char *out, size_t cap);
	/* set prv.key: keep id as the room's identity from the next start */
	int (*save_identity)(void *ctx, struct room *r, const struct ident *id);
	/* backup PATH: copy the database to path (an absolute path); ERR_INVAL
	 * if path is the live database.  NULL: the program offers no backup.
	 * note (note_cap bytes, "" on entry) may say what else was written or
	 * not (the room key files): it ends the reply. */
	int (*backup)(void *ctx, struct room *r, const char *path, char *note, size_t note_cap);
	/* a post stored here (not a retry, not one from another site): the
	 * federation publishes it (NULL: none) */
	void (*post_stored)(void *ctx, struct room *r, int64_t id);
	/* a member's record written to the store (login, ACK, setperm...); not
	 * called for a record room_member_merge wrote */
	void (*member_saved)(void *ctx, struct room *r, const struct room_member *m);
	/* a member removed by a command (setperm KEY 0): the federation
	 * replicates it (not called for evictions, nor a removal from another site) */
	void (*member_removed)(void *ctx, struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE]);
	/* ban / unban of a key, delete of a post (before it goes) by a command */
	void (*ban_changed)(void *ctx, struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE],
	                    bool banned, uint32_t when);
	void (*post_deleting)(void *ctx, struct room *r, int64_t id);
	/* a JSON object stats-room adds as "fed" at a local door; its length */
	size_t (*status)(void *ctx, struct room *r, char *out, size_t cap);
	void *ctx;
};

struct room {
	struct mesh_ep ep;
	struct mesh *mesh;
	struct store *store;
	struct room_clock *clock;
	struct room_hooks hooks;
	uint32_t store_id;
	struct room_settings set;
	struct room_member *members;
	size_t n_members, cap_members;
	uint32_t last_unique; /* getCurrentTimeUnique */
	uint64_t start_ms;
	uint64_t next_push_ms;
	uint64_t push_run_ms;      /* start of the current run of back-to-back pushes */
	uint64_t push_idle_ms;     /* when the last push exchange ended (ACK in, or timeout) */
	uint64_t push_gap_until;   /* a silent gap in a long run: no push before this */
	uint64_t sense_busy_since; /* the radio has heard the channel busy since (0: clear) */
	uint64_t last_post_ms;     /* when a new post was stored last (0: none since start) */
	uint64_t reply_seq; /* the mesh seq of our last reply (ACK, response, CLI reply) ... */
	bool reply_sent;    /* ... if any: no push within a turnaround after it */
	bool reply_quiet;   /* ... a response (a login's): a silence, not a turnaround */
	uint64_t next_advert_ms, next_flood_advert_ms;
	uint64_t pending_zero_hop_ms, pending_flood_ms; /* CLI adverts, 0 = none */
	size_t rr;              /* round-robin position of the push engine */
	uint64_t next_flush_ms; /* member state writes wait after a store error */
	uint64_t next_alive_ms; /* the next "alive" mark (the restart resumes members) */
	struct room_stats stats;
	struct guard guard;     /* rate limits and the replay window */
	struct room_node *node; /* shared radio state; &own_node unless the program sets it */
	struct room_node own_node;
	struct room_regions regions;
	bool region_loading; /* `region load` is consuming lines */
	struct room_regions region_load;
	/*
	 * What keeps a room of thousands of members cheap: the members by the
	 * first byte of their key (chains through room_member.hnext, in table
	 * order: the candidates of a packet's source hash, and room_member_find),
	 * the members with a push out (so timeouts, ACKs and deadlines look at
	 * these only), the guests counted, and a post counter that marks every
	 * member behind at once.
	 */
	uint32_t hhead[256], htail[256];           /* index + 1 of first and last, 0 = none */
	uint32_t inflight[ROOM_PUSH_PARALLEL_MAX]; /* indices; every pending member is here */
	unsigned n_inflight;
	size_t n_guests;        /* members whose role is ACL_ROLE_GUEST */
	uint32_t post_gen;      /* moves on with every stored post; never 0 */
	bool any_dirty;         /* some member has dirty set */
	uint64_t next_floor_ms; /* the RTC saved next (room_clock_floor_save) */
	                        /* ACK codes of copies that timed out: an ACK that comes late still
	                         * counts (a new copy would be shown twice) */
#define ROOM_LATE_ACKS 32
	struct {
		uint8_t pub[CRYPTO_PUB_SIZE];
		uint32_t post_ts; /* 0 = unused */
		uint8_t code[4];
	} late[ROOM_LATE_ACKS];
	unsigned late_next;
	/* replies held back while a push's ACK is due (reply_delay): released
	 * as soon as it is in */
#define ROOM_HELD_REPLIES 8
	struct {
		uint64_t seq, due_ms; /* due_ms: when it would have gone */
	} held[ROOM_HELD_REPLIES];
	unsigned n_held;
	uint32_t silent_hour;   /* room RTC at the start of the hour counted below */
	uint64_t silent_air_ms; /* air of pushes never answered in that hour */
	bool merging;           /* room_member_merge is writing: no member_saved hook */
};

/*
 * Opens room `store_id` from the store (settings, members, clock floor) on the
 * mesh with identity id.  The room keeps pointers to mesh, store and clock.
 */
int room_open(struct room *r, struct mesh *mesh, struct store *st, uint32_t store_id,
              const struct ident *id, struct room_clock *clock, uint64_t now_ms);
void room_close(struct room *r);
/* Drops the room as a killed process would: nothing more is written to the
 * store (simulations of SIGKILL). */
void room_abandon(struct room *r);

/* True if the push engine has given m up until it shows activity. */
bool room_member_given_up(const struct room_member *m);

/* Work due at now_ms: pushes, timeouts, adverts, flushing member state. */
void room_tick(struct room *r, uint64_t now_ms);
uint64_t room_next_deadline(const struct room *r);

/* Stores a post and schedules its pushes; the room's own key for system posts. */
int room_post(struct room *r, const uint8_t author[CRYPTO_PUB_SIZE], uint32_t sender_ts,
              const char *text, size_t len, bool *duplicate);

/*
 * Federation (src/fed): stores a post made at another site, exactly once by
 * its global id (origin, seq), with a unique time of this room, and
 * schedules its pushes.  *dup: it was there already (nothing stored).
 */
int room_post_remote(struct room *r, const uint8_t author[CRYPTO_PUB_SIZE], uint32_t sender_ts,
                     const char *text, size_t len, const char *origin, uint64_t seq,
                     uint32_t origin_ts, bool *dup);
/*
 * Federation: what another site knows of a member.  The member is added if
 * new (not pushed to here until it is heard here); the sync point and the
 * replay mark become the greater of both; the role becomes perms (the
 * caller decides which role wins: src/fed compares the roles' versions, so
 * the newest change wins whoever heard the member); heard_ts from another site
 * (heard_here false) newer than our own last hearing leaves its pushes to
 * that site.  Written to the store at once, without the member_saved hook.
 */
int room_member_merge(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE], uint8_t perms,
                      uint32_t sync_since, uint32_t last_ts, uint32_t heard_ts, bool heard_here);

/* Sends an advert now (flood or zero-hop). */
int room_advert(struct room *r, bool flood);
/* Builds the advert app_data (§5.8); returns its length. */
size_t room_app_data(const struct room *r, uint8_t out[32]);

/* Member table. */
struct room_member *room_member_find(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE]);
/*
 * The member with this key, added with permissions perms if new (making room
 * as a login does); NULL if the key cannot talk to us or no slot is free.
 * The permissions of an existing member are not changed.
 */
struct room_member *room_member_put(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE],
                                    uint8_t perms);
/* Sets a member's permissions byte (its role counted); written by the next tick. */
void room_member_set_perms(struct room *r, struct room_member *m, uint8_t perms);
/* Removes a member (and its stored row). */
void room_member_remove(struct room *r, struct room_member *m);
/* Saves the region table (§8.5) with the settings. */
int room_save_regions(struct room *r);
/* The region key of the scope for a flooded reply to req (§6.10), or NULL (unscoped). */
const uint8_t *room_reply_scope(struct room *r, const struct pkt *req, uint8_t key[16]);
/* The key of the default scope for floods the room originates, or NULL. */
const uint8_t *room_default_scope(struct room *r, uint8_t key[16]);
/* Persists the settings (after a change by command). */
int room_save_settings(struct room *r);
uint32_t room_rtc(const struct room *r);
/* True while the admin password is "password" or the guest password "hello" (§8.6),
 * or either is empty. */
bool room_default_passwords(const struct room *r);
uint32_t room_unique_time(struct room *r);
/* Saves the RTC: at the next start a wall clock stepped back while the room
 * was down is moved forwards to it (room_open). */
void room_clock_floor_save(struct room *r);

#endif
