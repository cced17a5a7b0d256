/*
 * store_sqlite.c - the SQLite backend of store.h (PROTOCOL.md §7.1, §7.3,
 * §7.10); the only file of roomd that includes sqlite3.h.
 *
 * One connection per struct store.  Every SQL statement used at run time is
 * declared once in the `sql` table below and prepared once at open; each use
 * binds, steps, reads and resets it through the small `q_*` helpers, which
 * keep the first failing return code so that none is ignored.  The schema
 * is created and upgraded by the `migrations` table, one forward-only step
 * per PRAGMA user_version.
 *
 * Invariants kept here:
 *  - rooms.post_count and rooms.last_post_ts follow the posts table through
 *    triggers, and are recomputed at open in case the file was edited.
 *  - A public call that runs more than one statement runs them in one
 *    transaction (BEGIN IMMEDIATE, or a savepoint inside store_begin()), so
 *    it is atomic; a single statement is atomic by itself.
 *  - The file is input like any other: every value read back is checked
 *    (blob sizes, integer ranges, text lengths) and a bad row is ERR_STORE.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define SUB            "store"
#define APPLICATION_ID 0x524d4431 /* "RMD1" in the file header: a roomd database */

/* ---- schema ------------------------------------------------------------- */

/*
 * migrations[i] takes a database from user_version i to i + 1.  Append new
 * steps; never edit a released one.  CREATE without IF NOT EXISTS: a
 * foreign database that happens to have these names fails instead of being
 * silently adopted.
 */
static const char *const migrations[] = {
    /* 0 -> 1: initial schema */
    "CREATE TABLE rooms ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " pub BLOB NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " max_posts INTEGER NOT NULL,"
    " max_age INTEGER NOT NULL DEFAULT 0,"
    " last_post_ts INTEGER NOT NULL DEFAULT 0,"
    " post_count INTEGER NOT NULL DEFAULT 0);"
    /* AUTOINCREMENT: a moderator's post id never names a later post. */
    "CREATE TABLE posts ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " post_ts INTEGER NOT NULL,"
    " sender_ts INTEGER NOT NULL,"
    " author BLOB NOT NULL,"
    " text BLOB NOT NULL);"
    "CREATE UNIQUE INDEX posts_by_ts ON posts(room_id, post_ts);"
    "CREATE UNIQUE INDEX posts_retry ON posts(room_id, author, sender_ts)"
    " WHERE sender_ts <> 0;"
    "CREATE TRIGGER posts_ins AFTER INSERT ON posts BEGIN"
    " UPDATE rooms SET post_count = post_count + 1,"
    "  last_post_ts = max(last_post_ts, new.post_ts) WHERE id = new.room_id; END;"
    "CREATE TRIGGER posts_del AFTER DELETE ON posts BEGIN"
    " UPDATE rooms SET post_count = post_count - 1 WHERE id = old.room_id; END;"
    /* seq: the insertion order of §7.1, kept when a record is replaced. */
    "CREATE TABLE members ("
    " seq INTEGER PRIMARY KEY,"
    " room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " pub BLOB NOT NULL,"
    " permissions INTEGER NOT NULL,"
    " sync_since INTEGER NOT NULL,"
    " last_timestamp INTEGER NOT NULL,"
    " last_activity INTEGER NOT NULL,"
    " out_path_len INTEGER NOT NULL,"
    " out_path BLOB NOT NULL,"
    " push_failures INTEGER NOT NULL,"
    " created INTEGER NOT NULL,"
    " UNIQUE (room_id, pub));"
    "CREATE TABLE replay ("
    " room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " pub BLOB NOT NULL,"
    " last_timestamp INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " UNIQUE (room_id, pub));"
    "CREATE INDEX replay_by_age ON replay(room_id, updated);"
    /* room_id 0 = global: no foreign key. */
    "CREATE TABLE settings ("
    " room_id INTEGER NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (room_id, key)) WITHOUT ROWID;"
    "CREATE TABLE bans ("
    " room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " pub BLOB NOT NULL,"
    " banned_at INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " PRIMARY KEY (room_id, pub)) WITHOUT ROWID;"
    /* room_id 0 = daemon-wide: no foreign key. */
    "CREATE TABLE dups ("
    " room_id INTEGER NOT NULL,"
    " hash BLOB NOT NULL,"
    " seen INTEGER NOT NULL,"
    " UNIQUE (room_id, hash));"
    "CREATE INDEX dups_by_age ON dups(room_id, seen);",
    /* 1 -> 2: federation (issue 17).  A post's global id is (origin, origin_seq):
     * origin '' is this site, whose posts are numbered 1, 2, 3... per room
     * (rooms.local_seq, never reused); origin_ts is the origin's post time.
     * fed_hw: per origin, every post up to hw was received (contiguous);
     * fed_got: received above hw, until the gap below closes. */
    "ALTER TABLE posts ADD COLUMN origin TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE posts ADD COLUMN origin_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE posts ADD COLUMN origin_ts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rooms ADD COLUMN local_seq INTEGER NOT NULL DEFAULT 0;"
    /* when another site heard the member last: that site pushes to it */
    "ALTER TABLE members ADD COLUMN remote_heard INTEGER NOT NULL DEFAULT 0;"
    "UPDATE posts SET origin_seq = w.rn, origin_ts = posts.post_ts FROM"
    " (SELECT id, row_number() OVER (PARTITION BY room_id ORDER BY id) AS rn FROM posts) AS w"
    " WHERE w.id = posts.id;"
    "UPDATE rooms SET local_seq = (SELECT count(*) FROM posts WHERE room_id = rooms.id);"
    "CREATE UNIQUE INDEX posts_origin ON posts(room_id, origin, origin_seq);"
    "CREATE TRIGGER posts_local AFTER INSERT ON posts WHEN new.origin = '' BEGIN"
    " UPDATE rooms SET local_seq = local_seq + 1 WHERE id = new.room_id;"
    " UPDATE posts SET origin_seq = (SELECT local_seq FROM rooms WHERE id = new.room_id),"
    "  origin_ts = new.post_ts WHERE id = new.id; END;"
    "CREATE TABLE fed_hw ("
    " room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " origin TEXT NOT NULL,"
    " hw INTEGER NOT NULL,"
    " PRIMARY KEY (room_id, origin)) WITHOUT ROWID;"
    "CREATE TABLE fed_got ("
    " room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " origin TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " PRIMARY KEY (room_id, origin, seq)) WITHOUT ROWID;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- statements --------------------------------------------------------- */

enum stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_QUICK_CHECK,
	S_FK_CHECK,
	S_USER_VERSION,
	S_DB_BYTES,
	S_PAGE_SIZE,
	S_ROOM_UPSERT,
	S_ROOM_ID_BY_PUB,
	S_ROOM_GET,
	S_ROOM_FIND,
	S_ROOM_LIST,
	S_ROOM_DELETE,
	S_ROOM_SET_RETENTION,
	S_ROOM_DEL_POSTS,
	S_ROOM_DEL_MEMBERS,
	S_ROOM_DEL_REPLAY,
	S_ROOM_DEL_SETTINGS,
	S_ROOM_DEL_BANS,
	S_ROOM_DEL_DUPS,
	S_POST_FIND_RETRY,
	S_POST_INSERT,
	S_POST_TRIM_COUNT,
	S_POST_TRIM_AGE,
	S_POST_NEXT,
	S_POST_COUNT_SINCE,
	S_POST_NEWEST,
	S_POST_PAGE,
	S_POST_AFTER,
	S_POST_GET,
	S_POST_DELETE,
	S_MEMBER_PUT,
	S_MEMBER_GET,
	S_MEMBER_DELETE,
	S_MEMBER_LIST,
	S_MEMBER_COUNT,
	S_MEMBER_SET_SYNC,
	S_MEMBER_SET_LAST_TS,
	S_MEMBER_SET_PATH,
	S_MEMBER_SET_ACTIVITY,
	S_MEMBER_SET_PUSH,
	S_REPLAY_UPDATE,
	S_REPLAY_INSERT,
	S_REPLAY_TRIM,
	S_REPLAY_GET,
	S_REPLAY_DELETE,
	S_REPLAY_COUNT,
	S_SETTING_GET,
	S_SETTING_SET,
	S_SETTING_DELETE,
	S_SETTING_LIST,
	S_BAN_ADD,
	S_BAN_REMOVE,
	S_BAN_CHECK,
	S_BAN_LIST,
	S_DUP_ADD,
	S_DUP_TRIM,
	S_DUP_LOAD,
	S_FED_HELD,
	S_FED_INSERT,
	S_FED_GOT_ADD,
	S_FED_GOT_TAKE,
	S_FED_GOT_TRIM,
	S_FED_HW_GET,
	S_FED_HW_SET,
	S_FED_HW_LIST,
	S_FED_LOCAL_SEQ,
	S_FED_AFTER,
	S_FED_FIND,
	S_COUNT
};

#define POST_COLS "id, room_id, author, post_ts, sender_ts, text, origin, origin_seq, origin_ts"
#define MEMBER_COLS                                                                                \
	"pub, permissions, sync_since, last_timestamp, last_activity, out_path_len, out_path, "    \
	"push_failures, created, remote_heard"
#define ROOM_COLS "id, pub, name, max_posts, max_age, last_post_ts, post_count"
/* The next-post filter; ?4 IS NULL means "exclude no author". */
#define POST_FILTER                                                                                \
	"room_id = ?1 AND post_ts > ?2 AND post_ts <= ?3 AND (?4 IS NULL OR author <> ?4)"

static const char *const sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT store_op",
    [S_RELEASE] = "RELEASE store_op",
    [S_ROLLBACK_TO] = "ROLLBACK TO store_op",
    [S_QUICK_CHECK] = "PRAGMA quick_check",
    [S_FK_CHECK] = "PRAGMA foreign_key_check",
    [S_USER_VERSION] = "PRAGMA user_version",
    [S_DB_BYTES] = "PRAGMA page_count",
    [S_PAGE_SIZE] = "PRAGMA page_size",

    [S_ROOM_UPSERT] = "INSERT INTO rooms(pub, name, max_posts) VALUES(?1, ?2, ?3)"
                      " ON CONFLICT(pub) DO UPDATE SET name = excluded.name",
    [S_ROOM_ID_BY_PUB] = "SELECT id FROM rooms WHERE pub = ?1",
    [S_ROOM_GET] = "SELECT " ROOM_COLS " FROM rooms WHERE id = ?1",
    [S_ROOM_FIND] = "SELECT " ROOM_COLS " FROM rooms WHERE pub = ?1",
    [S_ROOM_LIST] = "SELECT " ROOM_COLS " FROM rooms ORDER BY id",
    [S_ROOM_DELETE] = "DELETE FROM rooms WHERE id = ?1",
    [S_ROOM_SET_RETENTION] = "UPDATE rooms SET max_posts = ?2, max_age = ?3 WHERE id = ?1",
    [S_ROOM_DEL_POSTS] = "DELETE FROM posts WHERE room_id = ?1",
    [S_ROOM_DEL_MEMBERS] = "DELETE FROM members WHERE room_id = ?1",
    [S_ROOM_DEL_REPLAY] = "DELETE FROM replay WHERE room_id = ?1",
    [S_ROOM_DEL_SETTINGS] = "DELETE FROM settings WHERE room_id = ?1",
    [S_ROOM_DEL_BANS] = "DELETE FROM bans WHERE room_id = ?1",
    [S_ROOM_DEL_DUPS] = "DELETE FROM dups WHERE room_id = ?1",

    /* "sender_ts <> 0" spelled as in the partial index so that it is used. */
    [S_POST_FIND_RETRY] = "SELECT id FROM posts WHERE room_id = ?1 AND author = ?2"
                          " AND sender_ts = ?3 AND sender_ts <> 0",
    [S_POST_INSERT] = "INSERT INTO posts(room_id, post_ts, sender_ts, author, text)"
                      " VALUES(?1, ?2, ?3, ?4, ?5)",
    [S_POST_TRIM_COUNT] = "DELETE FROM posts WHERE id IN (SELECT id FROM posts"
                          " WHERE room_id = ?1 ORDER BY post_ts LIMIT ?2)",
    [S_POST_TRIM_AGE] = "DELETE FROM posts WHERE room_id = ?1 AND post_ts < ?2",
    [S_POST_NEXT] =
        "SELECT " POST_COLS " FROM posts WHERE " POST_FILTER " ORDER BY post_ts LIMIT 1",
    [S_POST_COUNT_SINCE] =
        "SELECT count(*) FROM (SELECT 1 FROM posts WHERE " POST_FILTER " LIMIT ?5)",
    [S_POST_NEWEST] = "SELECT " POST_COLS " FROM posts WHERE room_id = ?1"
                      " ORDER BY post_ts DESC LIMIT ?2",
    /* the web page's board: by id, newest first, an optional text to find
     * (case-insensitive for ASCII letters).  "+room_id": walk the ids from
     * the cursor, not the whole room through posts_by_ts and a sort (which
     * made a page's time grow with the room's size) */
    [S_POST_PAGE] = "SELECT " POST_COLS " FROM posts WHERE +room_id = ?1 AND id < ?2"
                    " AND (?3 IS NULL OR instr(lower(CAST(text AS TEXT)), lower(?3)) > 0)"
                    " ORDER BY id DESC LIMIT ?4",
    [S_POST_AFTER] = "SELECT " POST_COLS " FROM posts WHERE +room_id = ?1 AND id > ?2"
                     " ORDER BY id LIMIT ?3",
    [S_POST_GET] = "SELECT " POST_COLS " FROM posts WHERE id = ?1 AND room_id = ?2",
    [S_POST_DELETE] = "DELETE FROM posts WHERE id = ?1 AND room_id = ?2",

    [S_MEMBER_PUT] = "INSERT INTO members(room_id, " MEMBER_COLS ")"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                     " ON CONFLICT(room_id, pub) DO UPDATE SET"
                     " permissions = excluded.permissions, sync_since = excluded.sync_since,"
                     " last_timestamp = excluded.last_timestamp,"
                     " last_activity = excluded.last_activity,"
                     " out_path_len = excluded.out_path_len, out_path = excluded.out_path,"
                     " push_failures = excluded.push_failures, created = excluded.created,"
                     " remote_heard = excluded.remote_heard",
    [S_MEMBER_GET] = "SELECT " MEMBER_COLS " FROM members WHERE room_id = ?1 AND pub = ?2",
    [S_MEMBER_DELETE] = "DELETE FROM members WHERE room_id = ?1 AND pub = ?2",
    [S_MEMBER_LIST] = "SELECT " MEMBER_COLS " FROM members WHERE room_id = ?1 ORDER BY seq",
    [S_MEMBER_COUNT] = "SELECT count(*) FROM members WHERE room_id = ?1",
    [S_MEMBER_SET_SYNC] = "UPDATE members SET sync_since = ?3 WHERE room_id = ?1 AND pub = ?2",
    [S_MEMBER_SET_LAST_TS] = "UPDATE members SET last_timestamp = ?3"
                             " WHERE room_id = ?1 AND pub = ?2",
    [S_MEMBER_SET_PATH] = "UPDATE members SET out_path_len = ?3, out_path = ?4"
                          " WHERE room_id = ?1 AND pub = ?2",
    [S_MEMBER_SET_ACTIVITY] = "UPDATE members SET last_activity = ?3, push_failures = ?4"
                              " WHERE room_id = ?1 AND pub = ?2",
    [S_MEMBER_SET_PUSH] = "UPDATE members SET sync_since = ?3, last_activity = ?4,"
                          " push_failures = ?5 WHERE room_id = ?1 AND pub = ?2",

    [S_REPLAY_UPDATE] = "UPDATE replay SET last_timestamp = ?3, updated = ?4"
                        " WHERE room_id = ?1 AND pub = ?2",
    [S_REPLAY_INSERT] = "INSERT INTO replay(room_id, pub, last_timestamp, updated)"
                        " VALUES(?1, ?2, ?3, ?4)",
    [S_REPLAY_TRIM] = "DELETE FROM replay WHERE rowid IN (SELECT rowid FROM replay"
                      " WHERE room_id = ?1 ORDER BY updated DESC, rowid DESC"
                      " LIMIT -1 OFFSET ?2)",
    [S_REPLAY_GET] = "SELECT last_timestamp FROM replay WHERE room_id = ?1 AND pub = ?2",
    [S_REPLAY_DELETE] = "DELETE FROM replay WHERE room_id = ?1 AND pub = ?2",
    [S_REPLAY_COUNT] = "SELECT count(*) FROM replay WHERE room_id = ?1",

    [S_SETTING_GET] = "SELECT value FROM settings WHERE room_id = ?1 AND key = ?2",
    [S_SETTING_SET] = "INSERT INTO settings(room_id, key, value) VALUES(?1, ?2, ?3)"
                      " ON CONFLICT(room_id, key) DO UPDATE SET value = excluded.value",
    [S_SETTING_DELETE] = "DELETE FROM settings WHERE room_id = ?1 AND key = ?2",
    [S_SETTING_LIST] = "SELECT key, value FROM settings WHERE room_id = ?1 ORDER BY key",

    [S_BAN_ADD] = "INSERT INTO bans(room_id, pub, banned_at, reason) VALUES(?1, ?2, ?3, ?4)"
                  " ON CONFLICT(room_id, pub) DO UPDATE SET banned_at = excluded.banned_at,"
                  " reason = excluded.reason",
    [S_BAN_REMOVE] = "DELETE FROM bans WHERE room_id = ?1 AND pub = ?2",
    [S_BAN_CHECK] = "SELECT 1 FROM bans WHERE room_id = ?1 AND pub = ?2",
    [S_BAN_LIST] = "SELECT pub, banned_at, reason FROM bans WHERE room_id = ?1"
                   " ORDER BY banned_at, pub",

    [S_DUP_ADD] = "INSERT INTO dups(room_id, hash, seen) VALUES(?1, ?2, ?3)"
                  " ON CONFLICT(room_id, hash) DO UPDATE SET seen = excluded.seen",
    [S_DUP_TRIM] = "DELETE FROM dups WHERE rowid IN (SELECT rowid FROM dups"
                   " WHERE room_id = ?1 ORDER BY seen DESC, rowid DESC LIMIT -1 OFFSET ?2)",
    [S_DUP_LOAD] = "SELECT hash, seen FROM (SELECT hash, seen, rowid AS r FROM dups"
                   " WHERE room_id = ?1 ORDER BY seen DESC, rowid DESC LIMIT ?2)"
                   " ORDER BY seen, r",
    [S_FED_HELD] =
        "SELECT 1 FROM fed_got WHERE room_id = ?1 AND origin = ?2 AND seq = ?3"
        " UNION ALL SELECT 1 FROM fed_hw WHERE room_id = ?1 AND origin = ?2 AND hw >= ?3",
    [S_FED_INSERT] = "INSERT INTO posts(room_id, post_ts, sender_ts, author, text, origin,"
                     " origin_seq, origin_ts) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_FED_GOT_ADD] = "INSERT OR IGNORE INTO fed_got(room_id, origin, seq) VALUES(?1, ?2, ?3)",
    [S_FED_GOT_TAKE] = "DELETE FROM fed_got WHERE room_id = ?1 AND origin = ?2 AND seq = ?3",
    [S_FED_GOT_TRIM] = "DELETE FROM fed_got WHERE room_id = ?1 AND origin = ?2 AND seq <= ?3",
    [S_FED_HW_GET] = "SELECT hw FROM fed_hw WHERE room_id = ?1 AND origin = ?2",
    [S_FED_HW_SET] = "INSERT INTO fed_hw(room_id, origin, hw) VALUES(?1, ?2, ?3)"
                     " ON CONFLICT(room_id, origin) DO UPDATE SET hw = excluded.hw",
    [S_FED_HW_LIST] = "SELECT origin, hw FROM fed_hw WHERE room_id = ?1 ORDER BY origin",
    [S_FED_LOCAL_SEQ] = "SELECT local_seq FROM rooms WHERE id = ?1",
    [S_FED_AFTER] = "SELECT " POST_COLS " FROM posts WHERE room_id = ?1 AND origin = ?2"
                    " AND origin_seq > ?3 ORDER BY origin_seq LIMIT ?4",
    [S_FED_FIND] = "SELECT id FROM posts WHERE room_id = ?1 AND origin = ?2 AND origin_seq = ?3",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	bool readonly;
	bool user_txn; /* inside store_begin() */
	bool in_cb;    /* inside a listing callback: refuse re-entry */
};

/* ---- error mapping and statement helpers -------------------------------- */

static int map_rc(int rc)
{
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return ERR_NOT_FOUND; /* the room a row refers to does not exist */
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return ERR_AGAIN;
	case SQLITE_NOMEM: return ERR_NOMEM;
	default: return ERR_STORE;
	}
}

static int db_fail(struct store *st, int rc, const char *what)
{
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
		log_debug(SUB, "%s: no such room", what);
		return ERR_NOT_FOUND;
	}
	log_err(SUB, "%s: %s (sqlite %d)", what, st->db ? sqlite3_errmsg(st->db) : "no database",
	        rc);
	return map_rc(rc);
}

/*
 * One use of a prepared statement.  Binders and column readers record the
 * first failure (rc) or a malformed row (bad); q_end() resets the statement
 * and turns the outcome into an error code, logging it.
 */
struct q {
	struct store *st;
	sqlite3_stmt *s;
	const char *what;
	int rc;
	bool bad;
};

static void q_start(struct q *q, struct store *st, enum stmt id, const char *what)
{
	q->st = st;
	q->s = st->stmt[id];
	q->what = what;
	q->rc = SQLITE_OK;
	q->bad = false;
}

static void q_int(struct q *q, int idx, int64_t v)
{
	if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_int64(q->s, idx, v);
}

/* A zero-length blob must not be bound from NULL: that binds SQL NULL. */
static void q_blob(struct q *q, int idx, const void *p, size_t n)
{
	static const uint8_t empty[1];
	if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_blob(q->s, idx, p ? p : empty, (int)n, SQLITE_STATIC);
}

static void q_blob_or_null(struct q *q, int idx, const void *p, size_t n)
{
	if (p)
		q_blob(q, idx, p, n);
	else if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_null(q->s, idx);
}

static void q_text(struct q *q, int idx, const char *s)
{
	if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_text(q->s, idx, s, -1, SQLITE_STATIC);
}

/* SQLITE_ROW, SQLITE_DONE, or the error (also kept in q->rc). */
static int q_step(struct q *q)
{
	if (q->rc != SQLITE_OK)
		return q->rc;
	int r = sqlite3_step(q->s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		q->rc = r;
	return r;
}

static int q_end(struct q *q)
{
	int err = ERR_OK;
	if (q->rc != SQLITE_OK)
		err = db_fail(q->st, q->rc, q->what);
	else if (q->bad) {
		log_err(SUB, "%s: malformed row in the database; run an integrity check", q->what);
		err = ERR_STORE;
	}
	/* Both return the last step's code again at most: already handled above. */
	(void)sqlite3_reset(q->s);
	(void)sqlite3_clear_bindings(q->s);
	return err;
}

/* Runs a statement that returns no row of interest to completion. */
static int q_run(struct q *q)
{
	while (q_step(q) == SQLITE_ROW)
		;
	return q_end(q);
}

static int64_t col_int(struct q *q, int i, int64_t min, int64_t max)
{
	if (sqlite3_column_type(q->s, i) != SQLITE_INTEGER) {
		q->bad = true;
		return min;
	}
	int64_t v = sqlite3_column_int64(q->s, i);
	if (v < min || v > max) {
		q->bad = true;
		return min;
	}
	return v;
}

static uint32_t col_u32(struct q *q, int i)
{
	return (uint32_t)col_int(q, i, 0, UINT32_MAX);
}
static uint8_t col_u8(struct q *q, int i)
{
	return (uint8_t)col_int(q, i, 0, UINT8_MAX);
}

/* A blob of at most cap bytes; its length, or 0 with q->bad set. */
static size_t col_blob(struct q *q, int i, void *dst, size_t cap)
{
	if (sqlite3_column_type(q->s, i) != SQLITE_BLOB) {
		q->bad = true;
		return 0;
	}
	const void *p = sqlite3_column_blob(q->s, i);
	int n = sqlite3_column_bytes(q->s, i);
	if (n < 0 || (size_t)n > cap || (n > 0 && !p)) {
		q->bad = true;
		return 0;
	}
	if (n > 0)
		memcpy(dst, p, (size_t)n);
	return (size_t)n;
}

static void col_key(struct q *q, int i, uint8_t *dst, size_t len)
{
	if (col_blob(q, i, dst, len) != len)
		q->bad = true;
}

/* Text of at most cap - 1 bytes, NUL-terminated into dst. */
static void col_text(struct q *q, int i, char *dst, size_t cap)
{
	dst[0] = 0;
	if (sqlite3_column_type(q->s, i) != SQLITE_TEXT) {
		q->bad = true;
		return;
	}
	const unsigned char *p = sqlite3_column_text(q->s, i);
	int n = sqlite3_column_bytes(q->s, i);
	if (!p || n < 0 || (size_t)n >= cap) {
		q->bad = true;
		return;
	}
	memcpy(dst, p, (size_t)n);
	dst[n] = 0;
}

/*
 * Steps a query that always answers one row, such as a count, and reads its
 * first column as an integer in [min, max].  No row is a malformed answer.
 */
static int64_t q_scalar(struct q *q, int64_t min, int64_t max)
{
	if (q_step(q) == SQLITE_ROW)
		return col_int(q, 0, min, max);
	if (q->rc == SQLITE_OK)
		q->bad = true;
	return min;
}

/* Finishes a count query; *count is set only on success. */
static int q_count(struct q *q, uint32_t *count)
{
	uint32_t n = (uint32_t)q_scalar(q, 0, UINT32_MAX);
	int err = q_end(q);
	if (err == ERR_OK)
		*count = n;
	return err;
}

/* Reads the current row of a query into *row. */
typedef void row_reader(struct q *q, void *row);

/*
 * Finishes a lookup of at most one row, read into *row: ERR_NOT_FOUND if
 * there is none.  Public calls read into a scratch copy and hand it out only
 * on success, so that a failed call leaves their output as it was.
 */
static int q_get(struct q *q, row_reader *read, void *row)
{
	bool found = q_step(q) == SQLITE_ROW;
	if (found)
		read(q, row);
	int err = q_end(q);
	return err == ERR_OK && !found ? ERR_NOT_FOUND : err;
}

/* The caller's callback of a listing, one member per kind of row. */
union list_cb {
	store_room_cb *room;
	store_post_cb *post;
	store_member_cb *member;
	store_setting_cb *setting;
	store_ban_cb *ban;
	store_dup_cb *dup;
};

/* Reads the current row and, unless it is malformed (q->bad), returns what cb says of it. */
typedef int list_row(struct q *q, union list_cb cb, void *ctx);

/*
 * Hands every row of a query to a callback until it returns nonzero, which
 * is then the result; a malformed row ends the listing with ERR_STORE.  The
 * callback must not call back into the store: in_cb refuses it.
 */
static int q_list(struct q *q, list_row *row, union list_cb cb, void *ctx)
{
	int stop = 0;
	while (!stop && !q->bad && q_step(q) == SQLITE_ROW) {
		q->st->in_cb = true;
		stop = row(q, cb, ctx);
		q->st->in_cb = false;
	}
	int err = q_end(q);
	return err ? err : stop;
}

/* ---- transactions --------------------------------------------------------- */

static int run_simple(struct store *st, enum stmt id, const char *what)
{
	struct q q;
	q_start(&q, st, id, what);
	return q_run(&q);
}

/* Makes the statements of one public call atomic. */
static int op_begin(struct store *st)
{
	if (st->user_txn)
		return run_simple(st, S_SAVEPOINT, "savepoint");
	return run_simple(st, S_BEGIN, "begin");
}

/*
 * Commits the call's statements if err is ERR_OK, else undoes them.  After
 * some errors (disk full, I/O) SQLite has already rolled the transaction
 * back: autocommit is on again and there is nothing left to undo.
 */
static int op_end(struct store *st, int err)
{
	if (err == ERR_OK) {
		err = run_simple(st, st->user_txn ? S_RELEASE : S_COMMIT, "commit");
		if (err == ERR_OK)
			return ERR_OK;
	}
	if (sqlite3_get_autocommit(st->db))
		return err;
	if (st->user_txn) {
		if (run_simple(st, S_ROLLBACK_TO, "rollback to savepoint") == ERR_OK)
			(void)run_simple(st, S_RELEASE, "release savepoint");
	} else {
		(void)run_simple(st, S_ROLLBACK, "rollback");
	}
	return err;
}

/*
 * Entry check of every public call but commit/rollback: no re-entry from a
 * callback, and nothing more inside a batch that SQLite already aborted
 * (a write now would commit on its own, outside the batch).
 */
static int guard(struct store *st)
{
	if (!st || st->in_cb)
		return ERR_INVAL;
	if (st->user_txn && sqlite3_get_autocommit(st->db)) {
		log_err(SUB, "the batch was aborted by an earlier error: roll it back");
		return ERR_STORE;
	}
	return ERR_OK;
}

#define GUARD(st)                                                                                  \
	do {                                                                                       \
		int guard_err_ = guard(st);                                                        \
		if (guard_err_ != ERR_OK)                                                          \
			return guard_err_;                                                         \
	} while (0)

int store_begin(struct store *st)
{
	GUARD(st);
	if (st->user_txn)
		return ERR_INVAL;
	if (st->readonly) {
		log_err(SUB, "begin: the database was opened read-only");
		return ERR_STORE;
	}
	int err = run_simple(st, S_BEGIN, "begin");
	if (err == ERR_OK)
		st->user_txn = true;
	return err;
}

int store_commit(struct store *st)
{
	if (!st || st->in_cb)
		return ERR_INVAL;
	if (!st->user_txn)
		return ERR_INVAL;
	st->user_txn = false;
	if (sqlite3_get_autocommit(st->db)) {
		log_err(SUB, "commit: the transaction was aborted by an earlier error");
		return ERR_STORE;
	}
	int err = run_simple(st, S_COMMIT, "commit");
	if (err != ERR_OK && !sqlite3_get_autocommit(st->db))
		(void)run_simple(st, S_ROLLBACK, "rollback");
	return err;
}

int store_rollback(struct store *st)
{
	if (!st || st->in_cb)
		return ERR_INVAL;
	if (!st->user_txn)
		return ERR_INVAL;
	st->user_txn = false;
	if (sqlite3_get_autocommit(st->db))
		return ERR_OK;
	return run_simple(st, S_ROLLBACK, "rollback");
}

/* ---- open and close --------------------------------------------------------- */

/*
 * Prepares a one-off statement such as a PRAGMA and steps it to its first
 * row; no row at all is a corrupt answer.  The caller finalizes *s either way.
 */
static int exec_first_row(struct store *st, const char *text, sqlite3_stmt **s)
{
	*s = NULL;
	int rc = sqlite3_prepare_v2(st->db, text, -1, s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(*s);
	if (rc == SQLITE_ROW)
		return ERR_OK;
	if (rc == SQLITE_DONE)
		rc = SQLITE_CORRUPT;
	return db_fail(st, rc, text);
}

/* One integer from a one-off statement. */
static int exec_int(struct store *st, const char *text, int64_t *v)
{
	sqlite3_stmt *s;
	int err = exec_first_row(st, text, &s);
	if (err == ERR_OK)
		*v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return err;
}

static int exec_text(struct store *st, const char *text, char *out, size_t cap)
{
	sqlite3_stmt *s;
	int err = exec_first_row(st, text, &s);
	if (err == ERR_OK) {
		const unsigned char *p = sqlite3_column_text(s, 0);
		snprintf(out, cap, "%s", p ? (const char *)p : "");
	}
	sqlite3_finalize(s);
	return err;
}

static int exec_script(struct store *st, const char *text, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, text, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return ERR_OK;
	log_err(SUB, "%s: %s (sqlite %d)", what, msg ? msg : sqlite3_errstr(rc), rc);
	sqlite3_free(msg);
	return map_rc(rc);
}

static int migrate(struct store *st, int64_t from)
{
	for (int64_t v = from; v < STORE_SCHEMA_VERSION; v++) {
		char bump[64];
		int err = exec_script(st, "BEGIN IMMEDIATE", "migration begin");
		if (err)
			return err;
		err = exec_script(st, migrations[v], "migration");
		if (err == ERR_OK && v == 0) {
			snprintf(bump, sizeof(bump), "PRAGMA application_id = %d", APPLICATION_ID);
			err = exec_script(st, bump, "migration");
		}
		if (err == ERR_OK) {
			/* user_version is transactional: it moves with the step or not at all. */
			snprintf(bump, sizeof(bump), "PRAGMA user_version = %lld",
			         (long long)(v + 1));
			err = exec_script(st, bump, "migration");
		}
		if (err == ERR_OK)
			err = exec_script(st, "COMMIT", "migration commit");
		if (err) {
			if (!sqlite3_get_autocommit(st->db))
				(void)exec_script(st, "ROLLBACK", "migration rollback");
			log_err(SUB, "schema migration %lld -> %lld failed", (long long)v,
			        (long long)(v + 1));
			return err;
		}
		log_info(SUB, "schema migrated to version %lld", (long long)(v + 1));
	}
	return ERR_OK;
}

/* Counters kept by triggers are recomputed in case the file was edited by hand. */
static const char recount_sql[] =
    "UPDATE rooms SET post_count = (SELECT count(*) FROM posts WHERE room_id = rooms.id),"
    " last_post_ts = max(last_post_ts,"
    "  coalesce((SELECT max(post_ts) FROM posts WHERE room_id = rooms.id), 0))"
    " WHERE post_count <> (SELECT count(*) FROM posts WHERE room_id = rooms.id)"
    " OR last_post_ts < coalesce((SELECT max(post_ts) FROM posts WHERE room_id = rooms.id), 0)";

static int configure(struct store *st, bool memory)
{
	int64_t v;
	int err;
	int rc = sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "busy_timeout");
	/* The file is untrusted input: no schema tricks, no functions run from it. */
	rc = sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "defensive mode");
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	rc = sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "trusted_schema");
#endif
	if (st->readonly)
		return ERR_OK;
	if (!memory) {
		char mode[16];
		err = exec_text(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
		if (err)
			return err;
		if (strcmp(mode, "wal") != 0) {
			log_err(SUB, "cannot switch the database to WAL mode (got %s)", mode);
			return ERR_STORE;
		}
	}
	err = exec_script(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "pragmas");
	if (err)
		return err;
	/* PRAGMAs ignore what they do not know: read back what matters. */
	if ((err = exec_int(st, "PRAGMA synchronous", &v)) != ERR_OK)
		return err;
	if (v != 2) {
		log_err(SUB, "synchronous=FULL not accepted (got %lld)", (long long)v);
		return ERR_STORE;
	}
	if ((err = exec_int(st, "PRAGMA foreign_keys", &v)) != ERR_OK)
		return err;
	if (v != 1) {
		log_err(SUB, "foreign keys not supported by this SQLite");
		return ERR_STORE;
	}
	return ERR_OK;
}

/* Refuses files that are not ours or are newer than this program. */
static int check_version(struct store *st, int64_t *version)
{
	int64_t app, tables;
	int err = exec_int(st, "PRAGMA user_version", version);
	if (err == ERR_OK)
		err = exec_int(st, "PRAGMA application_id", &app);
	if (err == ERR_OK)
		err = exec_int(st, "SELECT count(*) FROM sqlite_master", &tables);
	if (err)
		return err;
	if (app != APPLICATION_ID && (app != 0 || *version != 0 || tables != 0)) {
		log_err(SUB,
		        "not a roomd database (application_id %lld, version %lld, %lld "
		        "schema objects); refusing to touch it",
		        (long long)app, (long long)*version, (long long)tables);
		return ERR_STORE;
	}
	if (*version > STORE_SCHEMA_VERSION) {
		log_err(SUB,
		        "database schema version %lld is newer than this roomd (%d): "
		        "upgrade roomd or use another database file",
		        (long long)*version, STORE_SCHEMA_VERSION);
		return ERR_VERSION;
	}
	if (*version < 0) {
		log_err(SUB, "database schema version %lld is invalid", (long long)*version);
		return ERR_STORE;
	}
	if (*version < STORE_SCHEMA_VERSION && st->readonly) {
		log_err(SUB,
		        "database schema version %lld needs migrating to %d, "
		        "which a read-only open cannot do",
		        (long long)*version, STORE_SCHEMA_VERSION);
		return ERR_VERSION;
	}
	return ERR_OK;
}

static int prepare_all(struct store *st)
{
	for (int i = 0; i < S_COUNT; i++) {
		int rc = sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                            &st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			log_err(SUB, "prepare \"%s\": %s (sqlite %d)", sql[i],
			        sqlite3_errmsg(st->db), rc);
			return map_rc(rc);
		}
	}
	return ERR_OK;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->db && !sqlite3_get_autocommit(st->db))
		(void)exec_script(st, "ROLLBACK", "rollback at close");
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db) {
		int rc = sqlite3_close(st->db);
		if (rc != SQLITE_OK)
			log_err(SUB, "close: %s (sqlite %d)", sqlite3_errstr(rc), rc);
	}
	free(st);
}

int store_open_flags(struct store **out, const char *path, unsigned flags)
{
	if (!out)
		return ERR_INVAL;
	*out = NULL;
	if (!path || !*path || (flags & ~(unsigned)STORE_OPEN_READONLY))
		return ERR_INVAL;
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return ERR_NOMEM;
	st->readonly = flags & STORE_OPEN_READONLY;
	bool memory = strcmp(path, ":memory:") == 0;
	int oflags =
	    st->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int err, rc = sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_err(SUB, "cannot open %s: %s (sqlite %d)", path,
		        st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), rc);
		err = map_rc(rc);
		goto out;
	}
	(void)sqlite3_extended_result_codes(st->db, 1);
	if (!st->readonly && sqlite3_db_readonly(st->db, "main") == 1) {
		log_err(SUB, "%s is not writable: fix its permissions (or those of its directory)",
		        path);
		err = ERR_STORE;
		goto out;
	}
	int64_t version;
	if ((err = configure(st, memory)) != ERR_OK)
		goto out;
	if ((err = check_version(st, &version)) != ERR_OK)
		goto out;
	if (version < STORE_SCHEMA_VERSION && (err = migrate(st, version)) != ERR_OK)
		goto out;
	if (!st->readonly && (err = exec_script(st, recount_sql, "recount posts")) != ERR_OK)
		goto out;
	if ((err = prepare_all(st)) != ERR_OK)
		goto out;
	*out = st;
	return ERR_OK;
out:
	log_err(SUB, "cannot use database %s: %s", path, err_str(err));
	store_close(st);
	return err;
}

int store_open(struct store **st, const char *path)
{
	return store_open_flags(st, path, 0);
}

/* ---- checks and sizes ----------------------------------------------------- */

int store_check(struct store *st)
{
	GUARD(st);
	struct q q;
	char line[256];
	int problems = 0, err;
	q_start(&q, st, S_QUICK_CHECK, "quick_check");
	while (q_step(&q) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q.s, 0);
		snprintf(line, sizeof(line), "%s", t ? (const char *)t : "(null)");
		if (strcmp(line, "ok") != 0 && problems++ < 20)
			log_err(SUB, "integrity: %s", line);
	}
	if ((err = q_end(&q)) != ERR_OK)
		return err;
	q_start(&q, st, S_FK_CHECK, "foreign_key_check");
	while (q_step(&q) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q.s, 0);
		if (problems++ < 20)
			log_err(SUB, "integrity: row %lld of %s refers to a missing row",
			        (long long)sqlite3_column_int64(q.s, 1),
			        t ? (const char *)t : "(null)");
	}
	if ((err = q_end(&q)) != ERR_OK)
		return err;
	return problems ? ERR_STORE : ERR_OK;
}

static int query_int(struct store *st, enum stmt id, const char *what, int64_t *v)
{
	struct q q;
	q_start(&q, st, id, what);
	*v = q_scalar(&q, 0, INT64_MAX);
	return q_end(&q);
}

int store_schema_version(struct store *st, int *version)
{
	GUARD(st);
	if (!version)
		return ERR_INVAL;
	int64_t v = 0;
	int err = query_int(st, S_USER_VERSION, "user_version", &v);
	if (err == ERR_OK)
		*version = v > INT32_MAX ? INT32_MAX : (int)v;
	return err;
}

int store_db_bytes(struct store *st, uint64_t *bytes)
{
	GUARD(st);
	if (!bytes)
		return ERR_INVAL;
	int64_t pages = 0, size = 0;
	int err = query_int(st, S_DB_BYTES, "page_count", &pages);
	if (err == ERR_OK)
		err = query_int(st, S_PAGE_SIZE, "page_size", &size);
	if (err == ERR_OK)
		*bytes = (uint64_t)pages * (uint64_t)size;
	return err;
}

int store_set_max_bytes(struct store *st, uint64_t max_bytes)
{
	GUARD(st);
	int64_t size = 0, got = 0;
	int err = query_int(st, S_PAGE_SIZE, "page_size", &size);
	if (err)
		return err;
	if (size <= 0)
		return ERR_STORE;
	uint64_t pages = max_bytes ? max_bytes / (uint64_t)size : 0xFFFFFFFEu;
	if (pages < 1)
		pages = 1;
	if (pages > 0xFFFFFFFEu)
		pages = 0xFFFFFFFEu;
	char text[64];
	snprintf(text, sizeof(text), "PRAGMA max_page_count = %llu", (unsigned long long)pages);
	return exec_int(st, text, &got);
}

int store_set_query_only(struct store *st, bool on)
{
	GUARD(st);
	return exec_script(st, on ? "PRAGMA query_only = 1" : "PRAGMA query_only = 0",
	                   "query_only");
}

/* ---- rooms ---------------------------------------------------------------- */

static void read_room(struct q *q, void *row)
{
	struct store_room *r = row;
	r->id = (uint32_t)col_int(q, 0, 1, UINT32_MAX);
	col_key(q, 1, r->pub, STORE_PUB_LEN);
	col_text(q, 2, r->name, sizeof(r->name));
	r->max_posts = col_u32(q, 3);
	r->max_age_s = col_u32(q, 4);
	r->last_post_ts = col_u32(q, 5);
	r->post_count = col_u32(q, 6);
}

int store_room_add(struct store *st, const char *name, const uint8_t pub[STORE_PUB_LEN],
                   uint32_t *id)
{
	GUARD(st);
	if (!name || !pub || !id)
		return ERR_INVAL;
	if (strlen(name) > STORE_ROOM_NAME_MAX)
		return ERR_TOO_BIG;
	struct q q;
	int64_t v = 0;
	int err = op_begin(st);
	if (err)
		return err;
	q_start(&q, st, S_ROOM_UPSERT, "room add");
	q_blob(&q, 1, pub, STORE_PUB_LEN);
	q_text(&q, 2, name);
	q_int(&q, 3, STORE_DEFAULT_MAX_POSTS);
	if ((err = q_run(&q)) != ERR_OK)
		goto out;
	q_start(&q, st, S_ROOM_ID_BY_PUB, "room add");
	q_blob(&q, 1, pub, STORE_PUB_LEN);
	v = q_scalar(&q, 1, UINT32_MAX);
	err = q_end(&q);
out:
	err = op_end(st, err);
	if (err == ERR_OK)
		*id = (uint32_t)v;
	return err;
}

/* Reads room id into *r: ERR_NOT_FOUND if there is none. */
static int room_get(struct store *st, uint32_t id, const char *what, struct store_room *r)
{
	struct q q;
	q_start(&q, st, S_ROOM_GET, what);
	q_int(&q, 1, id);
	return q_get(&q, read_room, r);
}

int store_room_get(struct store *st, uint32_t id, struct store_room *out)
{
	GUARD(st);
	struct store_room r;
	int err = room_get(st, id, "room get", &r);
	if (err == ERR_OK)
		*out = r;
	return err;
}

int store_room_find(struct store *st, const uint8_t pub[STORE_PUB_LEN], struct store_room *out)
{
	GUARD(st);
	if (!pub)
		return ERR_INVAL;
	struct q q;
	struct store_room r;
	q_start(&q, st, S_ROOM_FIND, "room find");
	q_blob(&q, 1, pub, STORE_PUB_LEN);
	int err = q_get(&q, read_room, &r);
	if (err == ERR_OK)
		*out = r;
	return err;
}

static int room_row(struct q *q, union list_cb cb, void *ctx)
{
	struct store_room r;
	read_room(q, &r);
	return q->bad ? 0 : cb.room(ctx, &r);
}

int store_room_list(struct store *st, store_room_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_ROOM_LIST, "room list");
	return q_list(&q, room_row, (union list_cb){.room = cb}, ctx);
}

/* A statement keyed by (room, pub) that must change exactly one row. */
static int change_one(struct store *st, struct q *q)
{
	int err = q_run(q);
	if (err == ERR_OK && sqlite3_changes(st->db) == 0)
		err = ERR_NOT_FOUND;
	return err;
}

int store_room_delete(struct store *st, uint32_t id)
{
	GUARD(st);
	static const enum stmt children[] = {
	    S_ROOM_DEL_POSTS,    S_ROOM_DEL_MEMBERS, S_ROOM_DEL_REPLAY,
	    S_ROOM_DEL_SETTINGS, S_ROOM_DEL_BANS,    S_ROOM_DEL_DUPS,
	};
	if (id == 0)
		return ERR_INVAL;
	struct q q;
	int err = op_begin(st);
	if (err)
		return err;
	/* Explicitly, not by cascade: tables without a foreign key go too. */
	for (size_t i = 0; err == ERR_OK && i < sizeof(children) / sizeof(children[0]); i++) {
		q_start(&q, st, children[i], "room delete");
		q_int(&q, 1, id);
		err = q_run(&q);
	}
	if (err == ERR_OK) {
		q_start(&q, st, S_ROOM_DELETE, "room delete");
		q_int(&q, 1, id);
		err = change_one(st, &q);
	}
	return op_end(st, err);
}

int store_room_set_retention(struct store *st, uint32_t id, uint32_t max_posts, uint32_t max_age_s)
{
	GUARD(st);
	struct q q;
	q_start(&q, st, S_ROOM_SET_RETENTION, "room retention");
	q_int(&q, 1, id);
	q_int(&q, 2, max_posts);
	q_int(&q, 3, max_age_s);
	return change_one(st, &q);
}

/* ---- posts ---------------------------------------------------------------- */

static void read_post(struct q *q, void *row)
{
	struct store_post *p = row;
	p->id = col_int(q, 0, 1, INT64_MAX);
	p->room = (uint32_t)col_int(q, 1, 1, UINT32_MAX);
	col_key(q, 2, p->author, STORE_PUB_LEN);
	p->post_ts = col_u32(q, 3);
	p->sender_ts = col_u32(q, 4);
	p->text_len = col_blob(q, 5, p->text, STORE_TEXT_MAX);
	p->text[p->text_len] = 0;
	if (memchr(p->text, 0, p->text_len))
		q->bad = true;
	col_text(q, 6, p->origin, sizeof(p->origin));
	p->origin_seq = (uint64_t)col_int(q, 7, 0, INT64_MAX);
	p->origin_ts = col_u32(q, 8);
}

/*
 * Runs a DELETE whose parameters are (room, n): a count to keep or drop, or
 * a cut-off time.  Adds the rows it deleted to *deleted if that is not NULL.
 */
static int trim(struct store *st, enum stmt id, const char *what, uint32_t room, int64_t n,
                uint32_t *deleted)
{
	struct q q;
	q_start(&q, st, id, what);
	q_int(&q, 1, room);
	q_int(&q, 2, n);
	int err = q_run(&q);
	if (err == ERR_OK && deleted)
		*deleted += (uint32_t)sqlite3_changes(st->db);
	return err;
}

/* Deletes the oldest posts beyond max_posts and those older than max_age_s. */
static int trim_posts(struct store *st, uint32_t room, const struct store_room *r, uint32_t now,
                      uint32_t *deleted)
{
	int err = ERR_OK;
	if (r->max_posts && r->post_count > r->max_posts)
		err = trim(st, S_POST_TRIM_COUNT, "retention", room, r->post_count - r->max_posts,
		           deleted);
	if (err == ERR_OK && r->max_age_s && now > r->max_age_s)
		err = trim(st, S_POST_TRIM_AGE, "retention", room, now - r->max_age_s, deleted);
	return err;
}

int store_post_add(struct store *st, const struct store_post *p, int64_t *id, bool *dup)
{
	GUARD(st);
	if (!p || !id || p->room == 0)
		return ERR_INVAL;
	if (p->text_len > STORE_TEXT_MAX)
		return ERR_TOO_BIG;
	if (memchr(p->text, 0, p->text_len))
		return ERR_INVAL;
	struct q q;
	struct store_room r;
	int64_t found = 0;
	bool is_dup = false;
	uint32_t deleted = 0;
	int err = op_begin(st);
	if (err)
		return err;
	if (p->sender_ts != 0) {
		q_start(&q, st, S_POST_FIND_RETRY, "post add");
		q_int(&q, 1, p->room);
		q_blob(&q, 2, p->author, STORE_PUB_LEN);
		q_int(&q, 3, p->sender_ts);
		if (q_step(&q) == SQLITE_ROW) {
			found = col_int(&q, 0, 1, INT64_MAX);
			is_dup = true;
		}
		if ((err = q_end(&q)) != ERR_OK || is_dup)
			goto out;
	}
	if ((err = room_get(st, p->room, "post add", &r)) != ERR_OK)
		goto out;
	if (p->post_ts == 0 || p->post_ts <= r.last_post_ts) {
		log_warn(SUB, "room %u: post_ts %u not above the newest %u; refused", p->room,
		         p->post_ts, r.last_post_ts);
		err = ERR_INVAL;
		goto out;
	}
	q_start(&q, st, S_POST_INSERT, "post add");
	q_int(&q, 1, p->room);
	q_int(&q, 2, p->post_ts);
	q_int(&q, 3, p->sender_ts);
	q_blob(&q, 4, p->author, STORE_PUB_LEN);
	q_blob(&q, 5, p->text, p->text_len);
	if ((err = q_run(&q)) != ERR_OK)
		goto out;
	found = sqlite3_last_insert_rowid(st->db);
	r.post_count++;
	err = trim_posts(st, p->room, &r, p->post_ts, &deleted);
	if (err == ERR_OK && deleted)
		log_debug(SUB, "room %u: retention removed %u posts", p->room, deleted);
out:
	err = op_end(st, err);
	if (err == ERR_OK) {
		*id = found;
		if (dup)
			*dup = is_dup;
	}
	return err;
}

int store_post_next(struct store *st, uint32_t room, const uint8_t *exclude, uint32_t since,
                    uint32_t max_ts, struct store_post *out)
{
	GUARD(st);
	if (!out)
		return ERR_INVAL;
	struct q q;
	struct store_post p;
	q_start(&q, st, S_POST_NEXT, "post next");
	q_int(&q, 1, room);
	q_int(&q, 2, since);
	q_int(&q, 3, max_ts);
	q_blob_or_null(&q, 4, exclude, STORE_PUB_LEN);
	int err = q_get(&q, read_post, &p);
	if (err == ERR_OK)
		*out = p;
	return err;
}

int store_post_count_since(struct store *st, uint32_t room, const uint8_t *exclude, uint32_t since,
                           uint32_t max_ts, uint32_t cap, uint32_t *count)
{
	GUARD(st);
	if (!count)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_POST_COUNT_SINCE, "post count");
	q_int(&q, 1, room);
	q_int(&q, 2, since);
	q_int(&q, 3, max_ts);
	q_blob_or_null(&q, 4, exclude, STORE_PUB_LEN);
	q_int(&q, 5, cap);
	return q_count(&q, count);
}

static int post_row(struct q *q, union list_cb cb, void *ctx)
{
	struct store_post p;
	read_post(q, &p);
	return q->bad ? 0 : cb.post(ctx, &p);
}

int store_post_list_newest(struct store *st, uint32_t room, uint32_t n, store_post_cb *cb,
                           void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_POST_NEWEST, "post list");
	q_int(&q, 1, room);
	q_int(&q, 2, n);
	return q_list(&q, post_row, (union list_cb){.post = cb}, ctx);
}

int store_post_page(struct store *st, uint32_t room, int64_t before, const char *find, uint32_t n,
                    store_post_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_POST_PAGE, "post page");
	q_int(&q, 1, room);
	q_int(&q, 2, before);
	if (find && *find)
		q_text(&q, 3, find);
	else
		q_blob_or_null(&q, 3, NULL, 0);
	q_int(&q, 4, n);
	return q_list(&q, post_row, (union list_cb){.post = cb}, ctx);
}

int store_post_after(struct store *st, uint32_t room, int64_t after, uint32_t n, store_post_cb *cb,
                     void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_POST_AFTER, "post after");
	q_int(&q, 1, room);
	q_int(&q, 2, after);
	q_int(&q, 3, n);
	return q_list(&q, post_row, (union list_cb){.post = cb}, ctx);
}

int store_post_get(struct store *st, uint32_t room, int64_t id, struct store_post *out)
{
	GUARD(st);
	if (!out)
		return ERR_INVAL;
	struct q q;
	struct store_post p;
	q_start(&q, st, S_POST_GET, "post get");
	q_int(&q, 1, id);
	q_int(&q, 2, room);
	int err = q_get(&q, read_post, &p);
	if (err == ERR_OK)
		*out = p;
	return err;
}

int store_post_delete(struct store *st, uint32_t room, int64_t id)
{
	GUARD(st);
	struct q q;
	q_start(&q, st, S_POST_DELETE, "post delete");
	q_int(&q, 1, id);
	q_int(&q, 2, room);
	return change_one(st, &q);
}

/* ---- federation ----------------------------------------------------------- */

static bool origin_ok(const char *origin, bool local_ok)
{
	if (!origin)
		return false;
	size_t n = strnlen(origin, STORE_ORIGIN_MAX + 1);
	return n <= STORE_ORIGIN_MAX && (n > 0 || local_ok);
}

static int fed_held(struct store *st, uint32_t room, const char *origin, uint64_t seq, bool *held)
{
	struct q q;
	q_start(&q, st, origin[0] ? S_FED_HELD : S_FED_FIND, "fed held");
	q_int(&q, 1, room);
	q_text(&q, 2, origin);
	q_int(&q, 3, (int64_t)seq);
	bool found = q_step(&q) == SQLITE_ROW;
	int err = q_end(&q);
	if (err == ERR_OK)
		*held = found;
	return err;
}

static int fed_hw_get(struct store *st, uint32_t room, const char *origin, uint64_t *hw)
{
	struct q q;
	q_start(&q, st, origin[0] ? S_FED_HW_GET : S_FED_LOCAL_SEQ, "fed hw");
	q_int(&q, 1, room);
	if (origin[0])
		q_text(&q, 2, origin);
	uint64_t v = 0;
	if (q_step(&q) == SQLITE_ROW)
		v = (uint64_t)col_int(&q, 0, 0, INT64_MAX);
	int err = q_end(&q);
	if (err == ERR_OK)
		*hw = v;
	return err;
}

/* Marks (origin, seq) received and moves the high-water mark over the run. */
static int fed_mark(struct store *st, uint32_t room, const char *origin, uint64_t seq)
{
	struct q q;
	uint64_t hw;
	int err = fed_hw_get(st, room, origin, &hw);
	if (err)
		return err;
	if (seq <= hw)
		return ERR_OK;
	if (seq == hw + 1) {
		hw = seq;
	} else {
		q_start(&q, st, S_FED_GOT_ADD, "fed got");
		q_int(&q, 1, room);
		q_text(&q, 2, origin);
		q_int(&q, 3, (int64_t)seq);
		return q_run(&q);
	}
	for (;;) {
		q_start(&q, st, S_FED_GOT_TAKE, "fed got");
		q_int(&q, 1, room);
		q_text(&q, 2, origin);
		q_int(&q, 3, (int64_t)(hw + 1));
		if ((err = q_run(&q)) != ERR_OK)
			return err;
		if (sqlite3_changes(st->db) == 0)
			break;
		hw++;
	}
	q_start(&q, st, S_FED_GOT_TRIM, "fed got");
	q_int(&q, 1, room);
	q_text(&q, 2, origin);
	q_int(&q, 3, (int64_t)hw);
	if ((err = q_run(&q)) != ERR_OK)
		return err;
	q_start(&q, st, S_FED_HW_SET, "fed hw");
	q_int(&q, 1, room);
	q_text(&q, 2, origin);
	q_int(&q, 3, (int64_t)hw);
	return q_run(&q);
}

int store_post_apply(struct store *st, const struct store_post *p, const char *origin, uint64_t seq,
                     uint32_t origin_ts, int64_t *id, bool *dup)
{
	GUARD(st);
	if (!p || !id || !dup || p->room == 0 || !origin_ok(origin, false) || seq == 0 ||
	    seq > INT64_MAX)
		return ERR_INVAL;
	if (p->text_len > STORE_TEXT_MAX)
		return ERR_TOO_BIG;
	if (memchr(p->text, 0, p->text_len))
		return ERR_INVAL;
	struct q q;
	struct store_room r;
	bool held = false, retry = false;
	int64_t found = 0;
	uint32_t deleted = 0;
	int err = op_begin(st);
	if (err)
		return err;
	if ((err = fed_held(st, p->room, origin, seq, &held)) != ERR_OK || held)
		goto out;
	if (p->sender_ts != 0) {
		q_start(&q, st, S_POST_FIND_RETRY, "fed apply");
		q_int(&q, 1, p->room);
		q_blob(&q, 2, p->author, STORE_PUB_LEN);
		q_int(&q, 3, p->sender_ts);
		retry = q_step(&q) == SQLITE_ROW;
		if ((err = q_end(&q)) != ERR_OK)
			goto out;
	}
	if (!retry) {
		if ((err = room_get(st, p->room, "fed apply", &r)) != ERR_OK)
			goto out;
		if (p->post_ts == 0 || p->post_ts <= r.last_post_ts) {
			err = ERR_INVAL;
			goto out;
		}
		q_start(&q, st, S_FED_INSERT, "fed apply");
		q_int(&q, 1, p->room);
		q_int(&q, 2, p->post_ts);
		q_int(&q, 3, p->sender_ts);
		q_blob(&q, 4, p->author, STORE_PUB_LEN);
		q_blob(&q, 5, p->text, p->text_len);
		q_text(&q, 6, origin);
		q_int(&q, 7, (int64_t)seq);
		q_int(&q, 8, origin_ts);
		if ((err = q_run(&q)) != ERR_OK)
			goto out;
		found = sqlite3_last_insert_rowid(st->db);
		r.post_count++;
		if ((err = trim_posts(st, p->room, &r, p->post_ts, &deleted)) != ERR_OK)
			goto out;
	}
	err = fed_mark(st, p->room, origin, seq);
out:
	err = op_end(st, err);
	if (err == ERR_OK) {
		*id = found;
		*dup = held || retry;
	}
	return err;
}

int store_fed_held(struct store *st, uint32_t room, const char *origin, uint64_t seq, bool *held)
{
	GUARD(st);
	if (!held || !origin_ok(origin, true) || seq > INT64_MAX)
		return ERR_INVAL;
	return fed_held(st, room, origin, seq, held);
}

int store_fed_hw(struct store *st, uint32_t room, const char *origin, uint64_t *hw)
{
	GUARD(st);
	if (!hw || !origin_ok(origin, true))
		return ERR_INVAL;
	return fed_hw_get(st, room, origin, hw);
}

int store_fed_hw_list(struct store *st, uint32_t room, store_fed_hw_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	int stop = 0;
	q_start(&q, st, S_FED_HW_LIST, "fed hw list");
	q_int(&q, 1, room);
	while (!stop && !q.bad && q_step(&q) == SQLITE_ROW) {
		char origin[STORE_ORIGIN_MAX + 1];
		col_text(&q, 0, origin, sizeof(origin));
		uint64_t hw = (uint64_t)col_int(&q, 1, 0, INT64_MAX);
		if (q.bad)
			break;
		st->in_cb = true;
		stop = cb(ctx, origin, hw);
		st->in_cb = false;
	}
	int err = q_end(&q);
	return err ? err : stop;
}

int store_fed_after(struct store *st, uint32_t room, const char *origin, uint64_t after, uint32_t n,
                    store_post_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb || !origin_ok(origin, true) || after > INT64_MAX)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_FED_AFTER, "fed after");
	q_int(&q, 1, room);
	q_text(&q, 2, origin);
	q_int(&q, 3, (int64_t)after);
	q_int(&q, 4, n);
	return q_list(&q, post_row, (union list_cb){.post = cb}, ctx);
}

int store_fed_find(struct store *st, uint32_t room, const char *origin, uint64_t seq, int64_t *id)
{
	GUARD(st);
	if (!id || !origin_ok(origin, true) || seq > INT64_MAX)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_FED_FIND, "fed find");
	q_int(&q, 1, room);
	q_text(&q, 2, origin);
	q_int(&q, 3, (int64_t)seq);
	int64_t v = 0;
	bool found = q_step(&q) == SQLITE_ROW;
	if (found)
		v = col_int(&q, 0, 1, INT64_MAX);
	int err = q_end(&q);
	if (err == ERR_OK && !found)
		return ERR_NOT_FOUND;
	if (err == ERR_OK)
		*id = v;
	return err;
}

int store_post_count(struct store *st, uint32_t room, uint32_t *count)
{
	GUARD(st);
	if (!count)
		return ERR_INVAL;
	struct store_room r;
	int err = store_room_get(st, room, &r);
	if (err == ERR_OK)
		*count = r.post_count;
	return err;
}

int store_post_newest_ts(struct store *st, uint32_t room, uint32_t *ts)
{
	GUARD(st);
	if (!ts)
		return ERR_INVAL;
	struct store_room r;
	int err = store_room_get(st, room, &r);
	if (err == ERR_OK)
		*ts = r.last_post_ts;
	return err;
}

int store_retention(struct store *st, uint32_t room, uint32_t now, uint32_t *deleted)
{
	GUARD(st);
	struct store_room r;
	uint32_t n = 0;
	int err = op_begin(st);
	if (err)
		return err;
	err = room_get(st, room, "retention", &r);
	if (err == ERR_OK)
		err = trim_posts(st, room, &r, now, &n);
	err = op_end(st, err);
	if (err == ERR_OK && deleted)
		*deleted = n;
	return err;
}

/* ---- members -------------------------------------------------------------- */

/* Bytes of out_path named by an encoded path_len byte (PROTOCOL.md §2.4). */
static int path_bytes(uint8_t len, size_t *n)
{
	if (len == STORE_PATH_UNKNOWN) {
		*n = 0;
		return ERR_OK;
	}
	size_t size = (size_t)(len >> 6) + 1, bytes = (size_t)(len & 0x3F) * size;
	if (size == 4 || bytes > STORE_PATH_MAX)
		return ERR_PATH;
	*n = bytes;
	return ERR_OK;
}

static void read_member(struct q *q, void *row)
{
	struct store_member *m = row;
	size_t want = 0;
	memset(m, 0, sizeof(*m));
	col_key(q, 0, m->pub, STORE_PUB_LEN);
	m->permissions = col_u8(q, 1);
	m->sync_since = col_u32(q, 2);
	m->last_timestamp = col_u32(q, 3);
	m->last_activity = col_u32(q, 4);
	m->out_path_len = col_u8(q, 5);
	if (path_bytes(m->out_path_len, &want) != ERR_OK ||
	    col_blob(q, 6, m->out_path, STORE_PATH_MAX) != want)
		q->bad = true;
	m->push_failures = col_u8(q, 7);
	m->created = col_u32(q, 8);
	m->remote_heard = col_u32(q, 9);
}

static void bind_key(struct q *q, uint32_t room, const uint8_t *pub)
{
	q_int(q, 1, room);
	q_blob(q, 2, pub, STORE_PUB_LEN);
}

/* Runs a one-row statement keyed by (room, pub): ERR_NOT_FOUND if no row changed. */
static int keyed_change(struct store *st, enum stmt id, const char *what, uint32_t room,
                        const uint8_t *pub)
{
	if (!pub)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, id, what);
	bind_key(&q, room, pub);
	return change_one(st, &q);
}

int store_member_put(struct store *st, uint32_t room, const struct store_member *m)
{
	GUARD(st);
	if (!m || room == 0)
		return ERR_INVAL;
	size_t n;
	int err = path_bytes(m->out_path_len, &n);
	if (err)
		return err;
	struct q q;
	q_start(&q, st, S_MEMBER_PUT, "member put");
	bind_key(&q, room, m->pub);
	q_int(&q, 3, m->permissions);
	q_int(&q, 4, m->sync_since);
	q_int(&q, 5, m->last_timestamp);
	q_int(&q, 6, m->last_activity);
	q_int(&q, 7, m->out_path_len);
	q_blob(&q, 8, m->out_path, n);
	q_int(&q, 9, m->push_failures);
	q_int(&q, 10, m->created);
	q_int(&q, 11, m->remote_heard);
	return q_run(&q);
}

int store_member_get(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                     struct store_member *out)
{
	GUARD(st);
	if (!pub || !out)
		return ERR_INVAL;
	struct q q;
	struct store_member m;
	q_start(&q, st, S_MEMBER_GET, "member get");
	bind_key(&q, room, pub);
	int err = q_get(&q, read_member, &m);
	if (err == ERR_OK)
		*out = m;
	return err;
}

int store_member_delete(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN])
{
	GUARD(st);
	return keyed_change(st, S_MEMBER_DELETE, "member delete", room, pub);
}

static int member_row(struct q *q, union list_cb cb, void *ctx)
{
	struct store_member m;
	read_member(q, &m);
	return q->bad ? 0 : cb.member(ctx, &m);
}

int store_member_list(struct store *st, uint32_t room, store_member_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_MEMBER_LIST, "member list");
	q_int(&q, 1, room);
	return q_list(&q, member_row, (union list_cb){.member = cb}, ctx);
}

static int count_rows(struct store *st, enum stmt id, const char *what, uint32_t room,
                      uint32_t *count)
{
	if (!count)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, id, what);
	q_int(&q, 1, room);
	return q_count(&q, count);
}

int store_member_count(struct store *st, uint32_t room, uint32_t *count)
{
	GUARD(st);
	return count_rows(st, S_MEMBER_COUNT, "member count", room, count);
}

/* UPDATE ... SET <field> = ?3 WHERE room_id = ?1 AND pub = ?2 */
static int member_set(struct store *st, enum stmt id, const char *what, uint32_t room,
                      const uint8_t *pub, uint32_t v)
{
	GUARD(st);
	if (!pub)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, id, what);
	bind_key(&q, room, pub);
	q_int(&q, 3, v);
	return change_one(st, &q);
}

int store_member_set_sync_since(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                                uint32_t sync_since)
{
	return member_set(st, S_MEMBER_SET_SYNC, "member sync_since", room, pub, sync_since);
}

int store_member_set_last_timestamp(struct store *st, uint32_t room,
                                    const uint8_t pub[STORE_PUB_LEN], uint32_t last_timestamp)
{
	return member_set(st, S_MEMBER_SET_LAST_TS, "member last_timestamp", room, pub,
	                  last_timestamp);
}

int store_member_set_out_path(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                              uint8_t out_path_len, const uint8_t out_path[STORE_PATH_MAX])
{
	GUARD(st);
	size_t n;
	if (!pub || (!out_path && out_path_len != STORE_PATH_UNKNOWN))
		return ERR_INVAL;
	int err = path_bytes(out_path_len, &n);
	if (err)
		return err;
	struct q q;
	q_start(&q, st, S_MEMBER_SET_PATH, "member out_path");
	bind_key(&q, room, pub);
	q_int(&q, 3, out_path_len);
	q_blob(&q, 4, n ? out_path : NULL, n);
	return change_one(st, &q);
}

int store_member_set_push(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                          uint32_t sync_since, uint32_t last_activity, uint8_t push_failures)
{
	GUARD(st);
	if (!pub)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_MEMBER_SET_PUSH, "member push state");
	bind_key(&q, room, pub);
	q_int(&q, 3, sync_since);
	q_int(&q, 4, last_activity);
	q_int(&q, 5, push_failures);
	return change_one(st, &q);
}

int store_member_set_activity(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                              uint32_t last_activity, uint8_t push_failures)
{
	GUARD(st);
	if (!pub)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_MEMBER_SET_ACTIVITY, "member activity");
	bind_key(&q, room, pub);
	q_int(&q, 3, last_activity);
	q_int(&q, 4, push_failures);
	return change_one(st, &q);
}

/* ---- replay marks --------------------------------------------------------- */

/* (room, pub, last_timestamp, updated): the replay mark's UPDATE or INSERT. */
static int replay_write(struct store *st, enum stmt id, uint32_t room, const uint8_t *pub,
                        uint32_t last_timestamp, uint32_t now)
{
	struct q q;
	q_start(&q, st, id, "replay set");
	bind_key(&q, room, pub);
	q_int(&q, 3, last_timestamp);
	q_int(&q, 4, now);
	return q_run(&q);
}

int store_replay_set(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                     uint32_t last_timestamp, uint32_t now)
{
	GUARD(st);
	if (!pub || room == 0)
		return ERR_INVAL;
	int err = op_begin(st);
	if (err)
		return err;
	err = replay_write(st, S_REPLAY_UPDATE, room, pub, last_timestamp, now);
	if (err == ERR_OK && sqlite3_changes(st->db) == 0) {
		err = replay_write(st, S_REPLAY_INSERT, room, pub, last_timestamp, now);
		/* Only an insert can push the room over the cap. */
		if (err == ERR_OK)
			err = trim(st, S_REPLAY_TRIM, "replay set", room, STORE_REPLAY_MAX, NULL);
	}
	return op_end(st, err);
}

static void read_u32(struct q *q, void *row)
{
	*(uint32_t *)row = col_u32(q, 0);
}

int store_replay_get(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN],
                     uint32_t *last_timestamp)
{
	GUARD(st);
	if (!pub || !last_timestamp)
		return ERR_INVAL;
	struct q q;
	uint32_t v;
	q_start(&q, st, S_REPLAY_GET, "replay get");
	bind_key(&q, room, pub);
	int err = q_get(&q, read_u32, &v);
	if (err == ERR_OK)
		*last_timestamp = v;
	return err;
}

int store_replay_delete(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN])
{
	GUARD(st);
	return keyed_change(st, S_REPLAY_DELETE, "replay delete", room, pub);
}

int store_replay_count(struct store *st, uint32_t room, uint32_t *count)
{
	GUARD(st);
	return count_rows(st, S_REPLAY_COUNT, "replay count", room, count);
}

/* ---- settings ------------------------------------------------------------- */

static int check_key(const char *key)
{
	if (!key || !*key)
		return ERR_INVAL;
	return strlen(key) > STORE_SETTING_KEY_MAX ? ERR_TOO_BIG : ERR_OK;
}

int store_setting_get(struct store *st, uint32_t room, const char *key, const char *def, char *buf,
                      size_t cap)
{
	GUARD(st);
	if (!buf || cap == 0)
		return ERR_INVAL;
	buf[0] = 0;
	int err = check_key(key);
	if (err)
		return err;
	struct q q;
	char value[STORE_SETTING_VALUE_MAX + 1];
	bool found = false;
	q_start(&q, st, S_SETTING_GET, "setting get");
	q_int(&q, 1, room);
	q_text(&q, 2, key);
	if (q_step(&q) == SQLITE_ROW) {
		col_text(&q, 0, value, sizeof(value));
		found = true;
	}
	if ((err = q_end(&q)) != ERR_OK)
		return err;
	const char *v = found ? value : def;
	if (!v)
		return ERR_NOT_FOUND;
	if (strlen(v) >= cap)
		return ERR_TOO_BIG;
	memcpy(buf, v, strlen(v) + 1);
	return ERR_OK;
}

int store_setting_set(struct store *st, uint32_t room, const char *key, const char *value)
{
	GUARD(st);
	int err = check_key(key);
	if (err)
		return err;
	if (!value)
		return ERR_INVAL;
	if (strlen(value) > STORE_SETTING_VALUE_MAX)
		return ERR_TOO_BIG;
	struct q q;
	q_start(&q, st, S_SETTING_SET, "setting set");
	q_int(&q, 1, room);
	q_text(&q, 2, key);
	q_text(&q, 3, value);
	return q_run(&q);
}

int store_setting_delete(struct store *st, uint32_t room, const char *key)
{
	GUARD(st);
	int err = check_key(key);
	if (err)
		return err;
	struct q q;
	q_start(&q, st, S_SETTING_DELETE, "setting delete");
	q_int(&q, 1, room);
	q_text(&q, 2, key);
	return change_one(st, &q);
}

static int setting_row(struct q *q, union list_cb cb, void *ctx)
{
	char key[STORE_SETTING_KEY_MAX + 1], value[STORE_SETTING_VALUE_MAX + 1];
	col_text(q, 0, key, sizeof(key));
	col_text(q, 1, value, sizeof(value));
	return q->bad ? 0 : cb.setting(ctx, key, value);
}

int store_setting_list(struct store *st, uint32_t room, store_setting_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_SETTING_LIST, "setting list");
	q_int(&q, 1, room);
	return q_list(&q, setting_row, (union list_cb){.setting = cb}, ctx);
}

/* ---- bans ----------------------------------------------------------------- */

int store_ban_add(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN], uint32_t when,
                  const char *reason)
{
	GUARD(st);
	if (!pub || room == 0)
		return ERR_INVAL;
	if (!reason)
		reason = "";
	if (strlen(reason) > STORE_BAN_REASON_MAX)
		return ERR_TOO_BIG;
	struct q q;
	q_start(&q, st, S_BAN_ADD, "ban add");
	bind_key(&q, room, pub);
	q_int(&q, 3, when);
	q_text(&q, 4, reason);
	return q_run(&q);
}

int store_ban_remove(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN])
{
	GUARD(st);
	return keyed_change(st, S_BAN_REMOVE, "ban remove", room, pub);
}

int store_ban_check(struct store *st, uint32_t room, const uint8_t pub[STORE_PUB_LEN], bool *banned)
{
	GUARD(st);
	if (!pub || !banned)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_BAN_CHECK, "ban check");
	bind_key(&q, room, pub);
	bool found = q_step(&q) == SQLITE_ROW;
	int err = q_end(&q);
	if (err == ERR_OK)
		*banned = found;
	return err;
}

static int ban_row(struct q *q, union list_cb cb, void *ctx)
{
	struct store_ban b;
	col_key(q, 0, b.pub, STORE_PUB_LEN);
	b.when = col_u32(q, 1);
	col_text(q, 2, b.reason, sizeof(b.reason));
	return q->bad ? 0 : cb.ban(ctx, &b);
}

int store_ban_list(struct store *st, uint32_t room, store_ban_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_BAN_LIST, "ban list");
	q_int(&q, 1, room);
	return q_list(&q, ban_row, (union list_cb){.ban = cb}, ctx);
}

/* ---- duplicate window ----------------------------------------------------- */

int store_dup_add(struct store *st, uint32_t room, const uint8_t hash[STORE_HASH_LEN],
                  uint32_t seen)
{
	GUARD(st);
	if (!hash)
		return ERR_INVAL;
	struct q q;
	int err = op_begin(st);
	if (err)
		return err;
	q_start(&q, st, S_DUP_ADD, "dup add");
	q_int(&q, 1, room);
	q_blob(&q, 2, hash, STORE_HASH_LEN);
	q_int(&q, 3, seen);
	if ((err = q_run(&q)) == ERR_OK)
		err = trim(st, S_DUP_TRIM, "dup add", room, STORE_DUP_MAX, NULL);
	return op_end(st, err);
}

static int dup_row(struct q *q, union list_cb cb, void *ctx)
{
	uint8_t hash[STORE_HASH_LEN];
	col_key(q, 0, hash, STORE_HASH_LEN);
	uint32_t seen = col_u32(q, 1);
	return q->bad ? 0 : cb.dup(ctx, hash, seen);
}

int store_dup_load(struct store *st, uint32_t room, uint32_t n, store_dup_cb *cb, void *ctx)
{
	GUARD(st);
	if (!cb)
		return ERR_INVAL;
	struct q q;
	q_start(&q, st, S_DUP_LOAD, "dup load");
	q_int(&q, 1, room);
	q_int(&q, 2, n);
	return q_list(&q, dup_row, (union list_cb){.dup = cb}, ctx);
}

/* ---- backup ----------------------------------------------------------------- */

/* True if path names the same file as base + suffix (which exists). */
static bool same_file(const char *path, const char *base, const char *suffix)
{
	char f[4096];
	struct stat a, b;
	if (snprintf(f, sizeof(f), "%s%s", base, suffix) >= (int)sizeof(f))
		return false;
	return stat(path, &a) == 0 && stat(f, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int store_backup(struct store *st, const char *path)
{
	GUARD(st);
	if (!path || !*path || st->user_txn) /* a batch's rows are not committed yet */
		return ERR_INVAL;
	const char *live = sqlite3_db_filename(st->db, "main");
	if (live && *live &&
	    (same_file(path, live, "") || same_file(path, live, "-wal") ||
	     same_file(path, live, "-shm"))) {
		log_err(SUB, "backup: %s is the live database", path);
		return ERR_INVAL;
	}

	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return ERR_INVAL;
	int fd = mkstemp(tmp);
	if (fd < 0) {
		log_err(SUB, "backup: %s: %s", path, strerror(errno));
		return ERR_SYS;
	}
	close(fd); /* an empty file is an empty database to SQLite */

	sqlite3 *dst = NULL;
	int err = ERR_SYS;
	int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", st->db, "main");
		if (b) {
			rc = sqlite3_backup_step(b, -1); /* all pages, in one read transaction */
			int fin = sqlite3_backup_finish(b);
			if (rc == SQLITE_DONE && fin == SQLITE_OK)
				err = ERR_OK;
		}
		if (err)
			log_err(SUB, "backup: %s: %s", path, sqlite3_errmsg(dst));
	} else {
		log_err(SUB, "backup: %s: %s", tmp, sqlite3_errstr(rc));
	}
	if (sqlite3_close(dst) != SQLITE_OK && !err)
		err = ERR_SYS;
	if (!err && (fsync_path(tmp, O_RDONLY) != 0 || rename(tmp, path) != 0)) {
		log_err(SUB, "backup: %s: %s", path, strerror(errno));
		err = ERR_SYS;
	}
	if (err) {
		unlink(tmp);
		return err;
	}
	/* the rename itself is durable once the directory is synced */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	fsync_path(dir, O_RDONLY | O_DIRECTORY);
	return ERR_OK;
}
