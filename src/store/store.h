/*
 * store.h - persistent storage of roomd: rooms, posts, members (the ACL),
 * replay marks, settings, bans and the duplicate window, for SEVERAL rooms
 * in one database file per daemon.
 *
 * PROTOCOL.md §7.1 (client table), §7.3 (post store) and §7.10
 * (persistence).  The firmware keeps posts in a 32-slot RAM ring and saves
 * only admins; roomd persists everything, an extension clients cannot see.
 *
 * This is a domain API: no SQL type or name leaks out of it, and only
 * the files behind store_int.h know the backend.  Conventions for every function:
 *  - Returns ERR_OK or a negative code of util/err.h.  A database failure
 *    (corrupt file, read-only file, full disk, I/O error) is ERR_STORE and
 *    is logged with the backend's message under subsystem "store"; nothing
 *    aborts.  A lock held by another process past the busy timeout is
 *    ERR_AGAIN; out of memory is ERR_NOMEM.  Bad arguments (NULL pointers,
 *    room 0 where a room is needed, over-long text) are ERR_INVAL or
 *    ERR_TOO_BIG and touch nothing.
 *  - Every call is atomic: it has fully happened or not at all.  A write is
 *    durable when the call returns (synchronous=FULL: one fsync per
 *    commit), unless it runs inside store_begin()..store_commit(), where
 *    the commit is the durable point.
 *  - Time values are u32 seconds of the caller's clock (the room RTC); the
 *    store never reads a clock.
 *  - Listing functions call `cb(ctx, ...)` once per row.  A callback returns
 *    0 to go on; any other value stops the listing, which then returns that
 *    value.  Pointers handed to a callback are valid during the call only.
 *    A callback must not call any store function on the same store (such a
 *    call returns ERR_INVAL): copy what you need and act after the listing.
 *  - Out-structs are written only on ERR_OK.
 *  - One struct store is used by one thread.  Other processes (a ctl tool)
 *    may open the same file; WAL lets them read while the daemon writes.
 */
#ifndef ROOMD_STORE_STORE_H
#define ROOMD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_PUB_LEN           32   /* full Ed25519 public key */
#define STORE_TEXT_MAX          150  /* post text bytes kept (§7.3) */
#define STORE_PATH_MAX          64   /* out_path bytes (§2.4) */
#define STORE_PATH_UNKNOWN      0xFF /* out_path_len of "no route known" */
#define STORE_HASH_LEN          8    /* packet hash (§2.8) */
#define STORE_ROOM_NAME_MAX     64   /* bytes, without the terminator */
#define STORE_SETTING_KEY_MAX   64
#define STORE_SETTING_VALUE_MAX 512
#define STORE_BAN_REASON_MAX    128

#define STORE_SCHEMA_VERSION    2  /* PRAGMA user_version this code writes */
#define STORE_ORIGIN_MAX        32 /* bytes of a federated post's origin site */
#define STORE_DEFAULT_MAX_POSTS 10000
#define STORE_REPLAY_MAX        4096       /* replay marks kept per room */
#define STORE_DUP_MAX           1024       /* packet hashes kept per room id */
#define STORE_BUSY_TIMEOUT_MS   2000       /* wait for another process's lock */
#define STORE_TS_ANY            UINT32_MAX /* "no upper bound" for max_ts */

struct store;

/* ---- open, close, transactions, checks -------------------------------- */

enum {
	STORE_OPEN_READONLY = 1 << 0, /* no writes, no migration, no create */
};

/*
 * Opens (creating if needed) the database at `path`; ":memory:" gives a
 * private in-memory database (for tests).  Sets WAL mode (file databases),
 * synchronous=FULL, foreign keys, a busy timeout of STORE_BUSY_TIMEOUT_MS,
 * then brings the schema to STORE_SCHEMA_VERSION with forward-only
 * migrations, each in its own transaction.  On success *st owns the
 * connection; free it with store_close().  On failure *st is NULL.
 * At open the post counters are checked against the posts (a full pass
 * over the posts index).  Errors: ERR_STORE (cannot open, not a database,
 * corrupt, not a roomd database, file or directory not writable without
 * STORE_OPEN_READONLY), ERR_VERSION (the file's schema is newer than this
 * program, or older and STORE_OPEN_READONLY forbids migrating it),
 * ERR_NOMEM, ERR_INVAL.  A read-only store reads normally; every write
 * returns ERR_STORE.
 */
int store_open(struct store **st, const char *path);
/* The same with STORE_OPEN_* flags; store_open(st, p) == store_open_flags(st, p, 0). */
int store_open_flags(struct store **st, const char *path, unsigned flags);

/*
 * Closes and frees; NULL is a no-op.  A transaction still open from
 * store_begin() is rolled back (its writes are lost).  The WAL is
 * checkpointed into the main file when this is the last connection.
 */
void store_close(struct store *st);

/*
 * Batching: everything between store_begin() and store_commit() becomes
 * durable at the commit, with one fsync.  No nesting: store_begin() while a
 * transaction is open is ERR_INVAL; on a read-only store it is ERR_STORE.
 * A call that fails inside the batch leaves no partial effect and the batch
 * stays open, except after a disk error (disk full, I/O) that made the
 * backend abort the whole batch: from then on every call but commit and
 * rollback returns ERR_STORE, store_commit() returns ERR_STORE, and nothing
 * of the batch was kept.  store_rollback() discards the batch (ERR_OK also
 * when it was already aborted; ERR_INVAL if none is open).
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);

/*
 * Quick integrity check of the file (page structure, indexes, foreign
 * keys).  ERR_OK if sound; ERR_STORE with the problems logged otherwise.
 * Costs a read of the whole file: for tests and start-up.
 */
int store_check(struct store *st);

/* The schema version recorded in the file (STORE_SCHEMA_VERSION once open). */
int store_schema_version(struct store *st, int *version);

/* Current size of the database in bytes (pages in use and free pages). */
int store_db_bytes(struct store *st, uint64_t *bytes);

/*
 * Caps the size of the database file at about `max_bytes` (rounded down to
 * whole pages, never below the current size); 0 removes the cap.  A write
 * that would grow the file past it fails with ERR_STORE like a full disk.
 * Not persisted: applies to this connection.
 */
int store_set_max_bytes(struct store *st, uint64_t max_bytes);

/*
 * With `on`, every write fails with ERR_STORE as on a database that became
 * read-only under the running program (a file system remounted read-only);
 * reads go on.  `off` allows writes again.  For fault tests; not persisted.
 */
int store_set_query_only(struct store *st, bool on);

/*
 * Writes a consistent copy of the whole database (every room) to `path`
 * while the store stays in use: the copy goes to a temporary file beside
 * path, is synced, then renamed over path, so path is either the old file
 * or a complete backup.  `path` may not be the live database or its WAL
 * or shared-memory file (ERR_INVAL).  ERR_SYS when the file cannot be
 * written (logged); a copy of an in-memory store is allowed.
 */
int store_backup(struct store *st, const char *path);

/* ---- rooms ---------------------------------------------------------------- */

struct store_room {
	uint32_t id; /* >= 1; 0 is never a room (it means "global" for settings) */
	uint8_t pub[STORE_PUB_LEN];
	char name[STORE_ROOM_NAME_MAX + 1]; /* NUL-terminated */
	uint32_t max_posts;                 /* retention: posts kept, 0 = no count limit */
	uint32_t max_age_s;                 /* retention: age limit in seconds, 0 = none */
	uint32_t last_post_ts;              /* newest post_ts ever stored, 0 = none */
	uint32_t post_count;                /* posts stored now */
};

/*
 * Registers a room by its identity key.  If a room with this key exists its
 * name is updated and its id returned; otherwise a new room gets the next
 * id (ids are never reused) and retention max_posts =
 * STORE_DEFAULT_MAX_POSTS, max_age_s = 0.  `name` is a C string of at most
 * STORE_ROOM_NAME_MAX bytes (ERR_TOO_BIG).
 */
int store_room_add(struct store *st, const char *name, const uint8_t pub[STORE_PUB_LEN],
                   uint32_t *id);
/* By id, or by identity key; ERR_NOT_FOUND if no such room. */
int store_room_get(struct store *st, uint32_t id, struct store_room *out);
int store_room_find(struct store *st, const uint8_t pub[STORE_PUB_LEN], struct store_room *out);
/* Every room, by id. */
typedef int store_room_cb(void *ctx, const struct store_room *room);
int store_room_list(struct store *st, store_room_cb *cb, void *ctx);
/*
 * Deletes a room and everything it owns (posts, members, replay marks,
 * settings, bans, duplicate hashes).  ERR_NOT_FOUND if no such room.
 */
int store_room_delete(struct store *st, uint32_t id);
/*
 * Sets the room's retention limits (persisted): at most `max_posts` posts
 * (0 = no count limit) and none older than `max_age_s` seconds (0 = no age
 * limit).  They are applied by every store_post_add() and by
 * store_retention(); this call itself deletes nothing.
 */
int store_room_set_retention(struct store *st, uint32_t id, uint32_t max_posts, uint32_t max_age_s);

/* ---- posts (§7.3) ------------------------------------------------------- */

struct store_post {
	int64_t id; /* assigned by store_post_add(), >= 1, never reused */
	uint32_t room;
	uint8_t author[STORE_PUB_LEN];    /* client key, or the room's own for system posts */
	uint32_t post_ts;                 /* room clock; unique and increasing per room */
	uint32_t sender_ts;               /* the client's timestamp; 0 for system posts */
	size_t text_len;                  /* 0..STORE_TEXT_MAX */
	uint8_t text[STORE_TEXT_MAX + 1]; /* any bytes but NUL; a NUL follows text_len on output */
	/* output only: the global id (federation): origin "" = this site, whose
	 * posts are numbered 1, 2, 3... per room; origin_ts the origin's post_ts */
	char origin[STORE_ORIGIN_MAX + 1];
	uint64_t origin_seq;
	uint32_t origin_ts;
};

/*
 * Stores a post: p->room, author, post_ts, sender_ts, text, text_len are
 * read; p->id is ignored.  On ERR_OK *id is the post's id and *dup (may be
 * NULL) says whether it was already there:
 *  - Retry: if sender_ts != 0 and the room already holds a post with the
 *    same author and sender_ts, nothing is written, *id is that post's id
 *    and *dup is true (whatever the text and post_ts of the retry).  A post
 *    already removed by retention or deletion is not remembered.
 *  - Otherwise post_ts must be > 0 and greater than every post_ts the room
 *    has ever stored (store_post_newest_ts), else ERR_INVAL: the push engine
 *    relies on post_ts being a unique increasing cursor.
 *  - Retention: in the same transaction the room's limits are applied
 *    (store_room_set_retention), taking post_ts as "now": oldest posts
 *    beyond max_posts and posts with post_ts < post_ts - max_age_s go.
 * Text longer than STORE_TEXT_MAX is ERR_TOO_BIG (cut it first, §7.3), a
 * NUL byte in it ERR_INVAL; no such room is ERR_NOT_FOUND.  Durable on
 * return: send the ACK after this returns ERR_OK.
 */
int store_post_add(struct store *st, const struct store_post *p, int64_t *id, bool *dup);

/*
 * The push engine's next post for a member (§7.8): the room's post with the
 * smallest post_ts such that since < post_ts <= max_ts and author !=
 * `exclude` (pass STORE_TS_ANY for no upper bound; exclude may be NULL to
 * exclude nobody).  ERR_NOT_FOUND if there is none.
 */
int store_post_next(struct store *st, uint32_t room, const uint8_t *exclude, uint32_t since,
                    uint32_t max_ts, struct store_post *out);
/*
 * How many posts store_post_next() could still return with the same
 * arguments (the unsynced count of §7.5), counting no further than `cap`.
 */
int store_post_count_since(struct store *st, uint32_t room, const uint8_t *exclude, uint32_t since,
                           uint32_t max_ts, uint32_t cap, uint32_t *count);
/* The newest `n` posts of the room, newest first (moderation). */
typedef int store_post_cb(void *ctx, const struct store_post *p);
int store_post_list_newest(struct store *st, uint32_t room, uint32_t n, store_post_cb *cb,
                           void *ctx);
/* Up to n posts with an id below `before`, newest first, whose text holds
 * `find` (NULL or "": any; ASCII letters case-insensitive): the web board. */
int store_post_page(struct store *st, uint32_t room, int64_t before, const char *find, uint32_t n,
                    store_post_cb *cb, void *ctx);
/* Up to n posts with an id above `after`, oldest first (the live page). */
int store_post_after(struct store *st, uint32_t room, int64_t after, uint32_t n, store_post_cb *cb,
                     void *ctx);
/* One post by id, within the room; ERR_NOT_FOUND if the room has no such post. */
int store_post_get(struct store *st, uint32_t room, int64_t id, struct store_post *out);
/* Deletes one post of the room; ERR_NOT_FOUND if the room has no such post. */
int store_post_delete(struct store *st, uint32_t room, int64_t id);
/* Posts stored in the room now. */
int store_post_count(struct store *st, uint32_t room, uint32_t *count);
/*
 * The greatest post_ts the room has ever stored (0 if none), also after the
 * post was deleted or expired: start the room's unique clock above it.
 */
int store_post_newest_ts(struct store *st, uint32_t room, uint32_t *ts);
/*
 * Applies the room's retention limits now (as store_post_add() does, with
 * `now` as the reference time for the age limit); *deleted (may be NULL)
 * is the number of posts removed.  Call it now and then so that an idle
 * room's old posts also expire.
 */
int store_retention(struct store *st, uint32_t room, uint32_t now, uint32_t *deleted);

/* ---- federation (issue 17) ------------------------------------------------- */

/*
 * Stores a post received from another site, exactly once by its global id
 * (origin, seq): p->room, author, post_ts (a unique time of this room, as
 * store_post_add wants), sender_ts, text are read.  *dup is true and nothing
 * is stored when (origin, seq) was received before (also if that post was
 * deleted or expired since), or when the room holds a post of the same author
 * and sender_ts (the member's retry heard at two sites: kept once).  Either
 * way (origin, seq) counts as received: the origin's high-water mark moves
 * over every contiguous seq received.  origin is a non-empty site name of at
 * most STORE_ORIGIN_MAX bytes, seq >= 1.  *id is the stored post (0 on dup).
 */
int store_post_apply(struct store *st, const struct store_post *p, const char *origin, uint64_t seq,
                     uint32_t origin_ts, int64_t *id, bool *dup);
/* Whether (origin, seq) was received (or, for origin "", stored here). */
int store_fed_held(struct store *st, uint32_t room, const char *origin, uint64_t seq, bool *held);
/* The high-water mark of origin ("" = this site's own posts: the last seq given). */
int store_fed_hw(struct store *st, uint32_t room, const char *origin, uint64_t *hw);
/* Every remote origin with its high-water mark, by name. */
typedef int store_fed_hw_cb(void *ctx, const char *origin, uint64_t hw);
int store_fed_hw_list(struct store *st, uint32_t room, store_fed_hw_cb *cb, void *ctx);
/* Up to n posts of origin ("" = this site) with seq above `after`, by seq. */
int store_fed_after(struct store *st, uint32_t room, const char *origin, uint64_t after, uint32_t n,
                    store_post_cb *cb, void *ctx);
/* The post id of (origin, seq); ERR_NOT_FOUND if not held. */
int store_fed_find(struct store *st, uint32_t room, const char *origin, uint64_t seq, int64_t *id);

/* ---- members: the ACL (§7.1) ----------------------------------------- */

struct store_member {
	uint8_t pub[STORE_PUB_LEN];
	uint8_t permissions;              /* §7.1: bits 0-1 role, bits 2-7 as set */
	uint32_t sync_since;              /* newest post_ts the client acknowledged */
	uint32_t last_timestamp;          /* replay high-water mark (client clock) */
	uint32_t last_activity;           /* room RTC, 0 = none */
	uint8_t out_path_len;             /* encoded §2.4 byte; STORE_PATH_UNKNOWN = no route */
	uint8_t out_path[STORE_PATH_MAX]; /* the first path-bytes of it are kept */
	uint8_t push_failures;            /* pushes of the member's next post sent and not
	                                   * acknowledged: the copies it may hold (§7.8) */
	uint32_t created;                 /* room RTC of first sight */
	uint32_t remote_heard; /* federation: another site heard it last at this time (its
	                        * RTC), 0 = none: while newer than last_activity, that
	                        * site pushes to it */
};

/*
 * Inserts or replaces the whole record of m->pub in the room.  A member
 * keeps its place in the insertion order when replaced.  out_path_len is
 * checked as §2.4 (size code 3 or more than 64 bytes: ERR_PATH); only the
 * count x size bytes of out_path it names are stored, the rest reads back
 * as zeros.  ERR_NOT_FOUND if no such room.
 */
int store_member_put(struct store *st, uint32_t room, const struct store_member *m);
/* ERR_NOT_FOUND if the key is not a member of the room. */
int store_member_get(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                     struct store_member *out);
int store_member_delete(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN]);
/* Every member of the room in insertion order (first put first). */
typedef int store_member_cb(void *ctx, const struct store_member *m);
int store_member_list(struct store *st, uint32_t room, store_member_cb *cb, void *ctx);
int store_member_count(struct store *st, uint32_t room, uint32_t *count);
/*
 * Cheap single-field updates for the hot path (one indexed UPDATE; outside a
 * batch each is one durable commit); ERR_NOT_FOUND if the key is not a
 * member.  set_out_path validates as store_member_put() (out_path may be
 * NULL when out_path_len is STORE_PATH_UNKNOWN); set_activity writes
 * last_activity and push_failures together, set_push sync_since too (the
 * push engine's state after a push or an ACK, in one commit).
 */
int store_member_set_sync_since(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                                uint32_t sync_since);
int store_member_set_last_timestamp(struct store *st, uint32_t room,
                                    const uint8_t pub[STORE_PUB_LEN], uint32_t last_timestamp);
int store_member_set_out_path(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                              uint8_t out_path_len, const uint8_t out_path[STORE_PATH_MAX]);
int store_member_set_activity(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                              uint32_t last_activity, uint8_t push_failures);
int store_member_set_push(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                          uint32_t sync_since, uint32_t last_activity, uint8_t push_failures);

/* ---- replay marks of non-members ------------------------------------ */

/*
 * The replay high-water mark (last_timestamp, client clock) of keys that are
 * not members (guests, strangers), so that replays stay refused across a
 * restart.  set inserts or overwrites the mark (no max() is taken) and
 * stamps it with `now`.  At most STORE_REPLAY_MAX marks are kept per room:
 * inserting one more evicts the mark with the oldest `now` stamp (the
 * earliest inserted on ties).  get: ERR_NOT_FOUND if no mark.
 * The store does not look at the members table: the room decides which of
 * the two holds a key (e.g. delete the mark when the key becomes a member).
 */
int store_replay_set(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                     uint32_t last_timestamp, uint32_t now);
int store_replay_get(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                     uint32_t *last_timestamp);
int store_replay_delete(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN]);
int store_replay_count(struct store *st, uint32_t room, uint32_t *count);

/* ---- settings ---------------------------------------------------------- */

/*
 * Text key/value pairs per room; room 0 holds the global ones (no room
 * needs to exist for them).  Keys are 1..STORE_SETTING_KEY_MAX bytes,
 * values 0..STORE_SETTING_VALUE_MAX bytes (ERR_TOO_BIG).
 *
 * get copies the value into buf (cap bytes, NUL-terminated).  If the key is
 * not set, `def` is copied instead, or ERR_NOT_FOUND is returned when def
 * is NULL.  ERR_TOO_BIG (buf set to "") if it does not fit.
 */
int store_setting_get(struct store *st, uint32_t room, const char *key, const char *def, char *buf,
                      size_t cap);
int store_setting_set(struct store *st, uint32_t room, const char *key, const char *value);
/* ERR_NOT_FOUND if the key was not set. */
int store_setting_delete(struct store *st, uint32_t room, const char *key);
/* Every setting of the room (0 = the global ones), by key. */
typedef int store_setting_cb(void *ctx, const char *key, const char *value);
int store_setting_list(struct store *st, uint32_t room, store_setting_cb *cb, void *ctx);

/* ---- bans ---------------------------------------------------------------- */

struct store_ban {
	uint8_t pub[STORE_PUB_LEN];
	uint32_t when; /* room RTC */
	char reason[STORE_BAN_REASON_MAX + 1];
};

/*
 * Bans a full key in the room; banning again overwrites time and reason.
 * reason may be NULL (stored as "").  ERR_NOT_FOUND if no such room.
 */
int store_ban_add(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN], uint32_t when,
                  const char *reason);
/* ERR_NOT_FOUND if the key was not banned. */
int store_ban_remove(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN]);
int store_ban_check(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                    bool *banned);
/* Every ban of the room, oldest first. */
typedef int store_ban_cb(void *ctx, const struct store_ban *ban);
int store_ban_list(struct store *st, uint32_t room, store_ban_cb *cb, void *ctx);

/* ---- duplicate window (§6.6) ------------------------------------------- */

/*
 * Recently seen packet hashes, so the duplicate table survives a restart.
 * `room` is a scope id: a room id, or 0 for a daemon-wide table (no room
 * needs to exist).  add inserts the hash or refreshes its `seen` time; at
 * most STORE_DUP_MAX hashes are kept per scope, the oldest `seen` (earliest
 * inserted on ties) evicted first.  Each add is a durable write: on a busy
 * channel batch them with store_begin()/store_commit() (losing the last
 * few on a crash is harmless).
 */
int store_dup_add(struct store *st, uint32_t room, const uint8_t hash[STORE_HASH_LEN],
                  uint32_t seen);
/* The newest `n` hashes of the scope, delivered oldest first. */
typedef int store_dup_cb(void *ctx, const uint8_t hash[STORE_HASH_LEN], uint32_t seen);
int store_dup_load(struct store *st, uint32_t room, uint32_t n, store_dup_cb *cb, void *ctx);

#endif
