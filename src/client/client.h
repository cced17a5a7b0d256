/*
 * client.h - the room client (PROTOCOL.md §9): what a MeshCore companion
 * and its phone app do with a room server, as one pure state machine.
 *
 *   - contacts learnt from adverts (§5.8, §9.1): name, type, position,
 *     hops, when last heard, the route (out_path) and, for rooms, the sync
 *     point (newest post timestamp received);
 *   - login (§9.3) with the room form of ANON_REQ, answered by a RESPONSE or
 *     a PATH; the reciprocal PATH is the mesh layer's (ep.reciprocal_path).
 *     A login gets the firmware's time: the timeout the companion reports to
 *     the app for it (RESP_CODE_SENT est_timeout: 500 ms + 16 x airtime by
 *     flood, 500 ms + (6 x airtime + 250 ms) x (hops + 1) direct).  A flooded
 *     login is sent once more by flood halfway through that time; a direct
 *     one, once it is over, by flood with the flood's time (the route may be
 *     stale); then LOGIN_TIMEOUT (a wrong password is never answered).
 *     Posts and CLI commands queued behind a login that fails fail with it,
 *     unsent.  An ACK of our post or a push from the room while no login is
 *     known is a login whose reply was lost: LOGIN (inferred);
 *   - posts (§9.4) with the app's retry policy: the same timestamp, attempt
 *     0, 1, 2 along the current route, then the path is reset and attempt 3
 *     is flooded; "delivered" on the expected ACK (plain, multi-ACK, in
 *     transit, or a PATH extra), "failed" after the last timeout;
 *   - pushed posts (§9.5): sync point, de-duplication by (room, timestamp,
 *     author prefix, text), and the ACK exactly as the firmware client sends
 *     it (flood push: flooded PATH with the ACK; direct push: ACK along
 *     out_path, flooded if there is none; both after 200 ms);
 *   - remote CLI (§9.6), status / telemetry / access-list requests (§9.7),
 *     optional keep-alives (§9.8), for several rooms at once.
 *
 * Ordering: the room drops anything stamped older than the newest timestamp
 * it accepted from us (§7.4), so while a post to a room is being retried,
 * every later stamped send to that room would make the retry stale; and a
 * room cannot hear us while it transmits its answer (half duplex).  So each
 * room has one operation outstanding at a time (a post until its ACK or last
 * timeout, a login, CLI command or request until its answer or timeout); the
 * others wait in the room's queue.  Operations on different rooms share the
 * radio: a new one starts at least op_gap_ms after the previous one.  All
 * stamps come from one strictly increasing clock.
 *
 * Pure: no I/O and no clock.  Time comes in as a monotonic millisecond
 * count (now_ms, the mesh's time base) plus the wall clock the program sets
 * with client_set_rtc; randomness from the mesh's rng.  Everything the
 * program must see or persist is reported through one event callback.
 */
#ifndef ROOMD_CLIENT_CLIENT_H
#define ROOMD_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "proto/advert.h"
#include "proto/payload.h"

#define CLIENT_MAX_CONTACTS 256
#define CLIENT_MAX_ROOMS    16
#define CLIENT_NAME_MAX     32   /* 31 bytes + NUL: the advert name fits */
#define CLIENT_PASS_MAX     15   /* the client truncates passwords to 15 bytes (§5.2) */
#define CLIENT_TEXT_MAX     160  /* MAX_TEXT_LEN of a chat client */
#define CLIENT_QUEUE_MAX    16   /* operations waiting per room */
#define CLIENT_SEEN_MAX     8192 /* remembered posts (all rooms), for de-duplication */
#define CLIENT_MAX_ATTEMPTS 4    /* attempts 0..3: the flags byte holds them all */
#define CLIENT_MAX_REQS     4    /* outstanding requests per room */
#define CLIENT_CANDIDATES   8    /* contacts tried per source hash (searchPeersByHash) */
#define CLIENT_OP_GAP_MS    1500 /* least time between two operations started (any rooms) */

/* Contact types are ADV_TYPE_* (proto/advert.h), roles ACL_ROLE_* and request
 * kinds REQ_* (proto/payload.h).  A CLI command is kind CLIENT_REQ_CLI. */
#define CLIENT_REQ_CLI 0x100

struct client_contact {
	bool used;
	uint8_t pub[CRYPTO_PUB_SIZE];
	char name[CLIENT_NAME_MAX]; /* NUL-terminated; may be empty for a manual contact */
	bool renamed;               /* the name is ours (client_contact_rename): adverts keep it */
	uint8_t type;               /* ADV_TYPE_* */
	bool has_loc;
	int32_t lat_e6, lon_e6; /* degrees x 1e6 */
	uint8_t hops;           /* path count of the last advert; 0xFF = never heard */
	uint32_t advert_ts;     /* the advertiser's clock; newer adverts only */
	uint32_t last_heard;    /* our wall clock (epoch s); 0 = never */
	uint8_t out_path_len;   /* MESH_NO_PATH = unknown: send by flood */
	uint8_t out_path[PKT_MAX_PATH];
	uint32_t sync_since; /* rooms: newest post timestamp (room clock) received */
	int8_t secret_state; /* 0 not computed, 1 ok, -1 the key cannot be used */
	uint8_t secret[CRYPTO_SECRET_SIZE];
};

enum client_login_state { CLIENT_LOGIN_NONE = 0, CLIENT_LOGIN_PENDING, CLIENT_LOGIN_OK };

/* One queued stamped operation (a post, login, CLI command or request). */
struct client_op {
	unsigned kind; /* REQ_* or CLIENT_REQ_CLI, or the OP_ values of client.c */
	uint32_t id;
	char text[CLIENT_TEXT_MAX + 1];
	size_t len;
};

/* A request or CLI command awaiting its reply. */
struct client_wait {
	bool used;
	unsigned kind; /* REQ_* or CLIENT_REQ_CLI */
	uint32_t id;
	uint32_t tag; /* a request's timestamp, echoed by the RESPONSE (not for CLI) */
	uint64_t deadline;
};

/* A room we talk to: login, the post in flight, requests, keep-alive, history. */
struct client_room {
	bool used;
	uint8_t pub[CRYPTO_PUB_SIZE];

	enum client_login_state login;
	uint8_t perms;     /* the permissions byte of the last login */
	uint32_t login_ts; /* stamp of the pending login */
	uint64_t login_deadline;
	uint64_t login_end;                 /* a flooded login: when the firmware's time is up */
	unsigned login_attempt;             /* 0, then 1 for the flooded second try */
	char login_pw[CLIENT_PASS_MAX + 1]; /* kept for the second try only */

	struct {
		bool active;
		uint32_t id;
		uint32_t ts;
		char text[CLIENT_TEXT_MAX + 1];
		size_t len;
		unsigned attempt;                      /* of the last send */
		uint8_t codes[CLIENT_MAX_ATTEMPTS][4]; /* expected ACK of each attempt */
		uint64_t sent_ms[CLIENT_MAX_ATTEMPTS], deadline;
	} post;

	struct client_wait reqs[CLIENT_MAX_REQS];

	/* CLI commands awaiting a reply (replies carry no tag: oldest first) */
	struct client_wait cli[CLIENT_MAX_REQS];

	/* keep-alive */
	uint64_t ka_next_ms; /* next keep-alive due */
	uint64_t last_rx_ms; /* anything authenticated heard from the room */
	bool ka_pending;
	uint8_t ka_code[4];
	bool ka_lost;

	struct client_op queue[CLIENT_QUEUE_MAX];
	unsigned q_head, q_len;
};

struct client_cfg {
	char name[CLIENT_NAME_MAX]; /* our advert name */
	bool has_loc;
	int32_t lat_e6, lon_e6;
	unsigned keepalive_s;  /* 0 = no keep-alives */
	unsigned max_attempts; /* 1..CLIENT_MAX_ATTEMPTS, default 4 */
	double timeout_factor; /* scales the §9.2 timeouts, default 1.0 */
	unsigned multi_acks;   /* extra multi-ACK before a direct ACK (companion: 0) */
	unsigned op_gap_ms;    /* least time between operations started, default 1500 */
	/* a stock firmware client (BaseChatMesh): every push that its duplicate
	 * table lets through is shown, with no de-duplication of its own */
	bool stock;
};

void client_cfg_defaults(struct client_cfg *cfg);

enum client_event_type {
	CLIENT_EV_CONTACT,        /* a contact was added or its advert changed it */
	CLIENT_EV_PATH,           /* out_path learnt or reset (contact->out_path_len) */
	CLIENT_EV_LOGIN,          /* logged in: perms, role, server_time, fw_level */
	CLIENT_EV_LOGIN_FAILED,   /* the room answered with a refusal (code) */
	CLIENT_EV_LOGIN_TIMEOUT,  /* no answer: wrong password, or out of reach */
	CLIENT_EV_SEND,           /* a post attempt went out: id, attempt, flood, timeout_ms */
	CLIENT_EV_DELIVERED,      /* id, attempt, rtt_ms, text */
	CLIENT_EV_FAILED,         /* id, text: no ACK after the last attempt */
	CLIENT_EV_POST,           /* a new pushed post: ts, author, text */
	CLIENT_EV_SYNC,           /* the room's sync point moved: sync_since */
	CLIENT_EV_CLI_REPLY,      /* ts, text */
	CLIENT_EV_STATUS,         /* stats, id */
	CLIENT_EV_TELEMETRY,      /* data = Cayenne LPP records (padding included; lpp_next), id */
	CLIENT_EV_ACL,            /* acl[n_acl]: the room's admins, id */
	CLIENT_EV_TIMEOUT,        /* a request or CLI command got no reply: kind, id */
	CLIENT_EV_KEEPALIVE,      /* a keep-alive was ACKed: unsynced */
	CLIENT_EV_KEEPALIVE_LOST, /* no keep-alive ACK for 2.5 intervals */
};

struct client_event {
	enum client_event_type type;
	const struct client_contact *contact; /* the room or node concerned; never NULL */
	uint32_t id;                          /* the operation's id (client_post etc.) */
	unsigned kind;                        /* TIMEOUT: REQ_* or CLIENT_REQ_CLI */
	unsigned attempt;
	bool flood;
	uint32_t timeout_ms, rtt_ms;
	uint8_t perms, role, fw_level, code;
	uint32_t server_time;
	uint32_t ts;       /* POST, CLI_REPLY: room clock; SEND, DELIVERED, FAILED: our stamp */
	uint8_t author[4]; /* POST: author key prefix */
	const char *text;  /* POST, CLI_REPLY, DELIVERED, FAILED: NUL-terminated */
	size_t text_len;
	uint32_t sync_since;
	const struct server_stats *stats; /* STATUS */
	const uint8_t *data;              /* TELEMETRY */
	size_t data_len;
	const struct acl_entry *acl; /* ACL */
	size_t n_acl;
	bool unsent;      /* FAILED, TIMEOUT: never sent, the login before it failed */
	bool inferred;    /* LOGIN: no reply, but the room acted on our session */
	int unsynced;     /* KEEPALIVE: posts waiting at the room, -1 if not said */
	bool new_contact; /* CONTACT */
};

struct client {
	struct mesh_ep ep;
	struct mesh *mesh;
	struct client_cfg cfg;
	void (*on_event)(void *ctx, struct client *c, const struct client_event *ev);
	void *ctx;
	struct client_contact contacts[CLIENT_MAX_CONTACTS];
	struct client_room rooms[CLIENT_MAX_ROOMS];
	uint32_t last_unique;  /* getCurrentTimeUnique */
	int64_t rtc_offset_ms; /* rtc = (now_ms + offset) / 1000 */
	uint32_t next_id;
	uint64_t now_ms;
	uint64_t last_start_ms; /* when the last operation started (op_gap_ms) */
	/* fingerprints of the posts shown (room, timestamp, author, text), a
	 * ring shared by every room: de-duplication needs no room session */
	uint8_t seen[CLIENT_SEEN_MAX][8];
	unsigned seen_next, seen_len;
};

/*
 * Starts a client with identity id on mesh m (the endpoint is added to it and
 * must not move: struct client is large, allocate it once).  Events go to
 * fn(ctx, ...), called from inside client and mesh calls; the callback may
 * call back into the client.
 */
int client_init(struct client *c, struct mesh *m, const struct ident *id,
                const struct client_cfg *cfg,
                void (*fn)(void *ctx, struct client *c, const struct client_event *ev), void *ctx,
                uint64_t now_ms);
void client_cleanup(struct client *c);

/* Sets the wall clock: epoch seconds at now_ms.  Call at start and whenever it may have moved. */
void client_set_rtc(struct client *c, uint64_t now_ms, uint32_t epoch);
uint32_t client_rtc(const struct client *c, uint64_t now_ms);
/* Stamps never go below floor + 1 (the newest stamp used in an earlier run). */
void client_set_stamp_floor(struct client *c, uint32_t floor);
/* The next stamp: the wall clock, or the previous stamp + 1 (strictly increasing). */
uint32_t client_unique_time(struct client *c, uint64_t now_ms);

/* Starts queued operations and runs the timers: post retries, timeouts, keep-alives. */
void client_tick(struct client *c, uint64_t now_ms);
uint64_t client_next_deadline(const struct client *c);
/* True while any post, login, request or CLI command awaits its outcome. */
bool client_busy(const struct client *c);

/* --- contacts --- */

struct client_contact *client_contact_find(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE]);
/* The contact whose key starts with prefix (n bytes); NULL if none or several. */
struct client_contact *client_contact_by_prefix(struct client *c, const uint8_t *prefix, size_t n);
/*
 * Adds or returns the contact with this key (from a file, or typed in).  When
 * the table is full the contact heard longest ago that has no room session
 * is replaced.  ERR_FULL if none can be, ERR_CRYPTO for a key that cannot be
 * used (§3.5).
 */
int client_contact_add(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE],
                       struct client_contact **out);
/*
 * Forgets a contact (CMD_REMOVE_CONTACT): its route, sync point, room
 * session and the posts it de-duplicates stay gone until its next advert
 * adds it again.  ERR_AGAIN while an operation on it is under way or
 * queued (a login, post, command or request).
 */
int client_contact_remove(struct client *c, struct client_contact *ct);
/*
 * Names a contact ourselves (1..31 bytes, no NUL; cut at a code point):
 * later adverts change everything but the name.  An empty name gives the
 * naming back to the adverts (the next one sets it).
 */
int client_contact_rename(struct client *c, struct client_contact *ct, const char *name);
/* Forgets the route: the next sends flood (CMD_RESET_PATH). */
void client_reset_path(struct client *c, struct client_contact *ct);
/* Sends our advert now: flooded, or zero-hop. */
int client_advert(struct client *c, bool flood, uint64_t now_ms);
/* Builds our advert app_data (§5.8); returns its length. */
size_t client_app_data(const struct client *c, uint8_t out[32]);

/* --- rooms --- */

struct client_room *client_room_find(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE]);
/*
 * Operations on a room are queued and go out from client_tick, in order, one
 * at a time (see the top of this file); no event fires from inside these
 * calls.  client_next_deadline is "now" while something queued can start.
 *
 * Logs in to a room (§9.3).  The password is cut to 15 bytes.  Outcome:
 * LOGIN, LOGIN_FAILED or LOGIN_TIMEOUT.  ERR_NOT_FOUND for an unknown
 * contact, ERR_INVAL if it is known not to be a room, ERR_FULL if no room
 * session or queue slot is free.
 */
int client_login(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], const char *password,
                 uint64_t now_ms);
/*
 * Posts text (1..CLIENT_TEXT_MAX bytes, no NUL) to a room; *id identifies the
 * outcome event (DELIVERED or FAILED).  ERR_PERM if the room made us a guest
 * (it never stores a guest's post), ERR_TOO_BIG, ERR_INVAL, ERR_FULL.
 */
int client_post(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], const char *text, size_t len,
                uint64_t now_ms, uint32_t *id);
/* A CLI command (§9.6): outcome CLI_REPLY or TIMEOUT.  ERR_PERM if logged in below admin. */
int client_cli(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], const char *cmd, size_t len,
               uint64_t now_ms, uint32_t *id);
/* A request (§9.7): REQ_GET_STATUS, _TELEMETRY or _ACL; outcome its event or TIMEOUT. */
int client_request(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], unsigned kind,
                   uint64_t now_ms, uint32_t *id);
/*
 * The login state of a room as it stands: PENDING while a login is on the
 * air or queued (what is posted now goes out after it), OK once the room
 * has answered one (or acted on our session), NONE otherwise.
 */
enum client_login_state client_login_state(const struct client *c,
                                           const uint8_t room[CRYPTO_PUB_SIZE]);
/* How many more operations the room's queue takes now (CLIENT_QUEUE_MAX at most). */
unsigned client_queue_space(const struct client *c, const uint8_t room[CRYPTO_PUB_SIZE]);
/*
 * Seeds the de-duplication set from history kept on disk (a room session is
 * not needed: any number of rooms).  Seed the newest posts of each room last
 * and at most CLIENT_SEEN_MAX in all.
 */
void client_mark_seen(struct client *c, const uint8_t room[CRYPTO_PUB_SIZE], uint32_t ts,
                      const uint8_t author[4], const char *text, size_t len);

/* --- helpers --- */

const char *client_role_name(unsigned role);
const char *client_type_name(unsigned type);
/* Suggested timeouts of §9.2 for a payload of payload_len bytes. */
uint32_t client_timeout_ms(const struct client *c, size_t payload_len, uint8_t out_path_len);

#endif
