/*
 * store_stmt.c - the statement layer of the SQLite backend (store_int.h):
 * every SQL statement used at run time, declared once in the `sql` table
 * and prepared once at open; the q_* helpers through which each use binds,
 * steps, reads and resets it, keeping the first failing return code so that
 * none is ignored; the transaction that makes a public call atomic.
 */
#include <string.h>

#include "store/store_int.h"

/* ---- statements --------------------------------------------------------- */

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

/* ---- error mapping and statement helpers -------------------------------- */

int map_rc(int rc)
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

int db_fail(struct store *st, int rc, const char *what)
{
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
		log_debug(SUB, "%s: no such room", what);
		return ERR_NOT_FOUND;
	}
	log_err(SUB, "%s: %s (sqlite %d)", what, st->db ? sqlite3_errmsg(st->db) : "no database",
	        rc);
	return map_rc(rc);
}

void q_start(struct q *q, struct store *st, enum stmt id, const char *what)
{
	q->st = st;
	q->s = st->stmt[id];
	q->what = what;
	q->rc = SQLITE_OK;
	q->bad = false;
}

void q_int(struct q *q, int idx, int64_t v)
{
	if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_int64(q->s, idx, v);
}

/* A zero-length blob must not be bound from NULL: that binds SQL NULL. */
void q_blob(struct q *q, int idx, const void *p, size_t n)
{
	static const uint8_t empty[1];
	if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_blob(q->s, idx, p ? p : empty, (int)n, SQLITE_STATIC);
}

void q_blob_or_null(struct q *q, int idx, const void *p, size_t n)
{
	if (p)
		q_blob(q, idx, p, n);
	else if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_null(q->s, idx);
}

void q_text(struct q *q, int idx, const char *s)
{
	if (q->rc == SQLITE_OK)
		q->rc = sqlite3_bind_text(q->s, idx, s, -1, SQLITE_STATIC);
}

/* SQLITE_ROW, SQLITE_DONE, or the error (also kept in q->rc). */
int q_step(struct q *q)
{
	if (q->rc != SQLITE_OK)
		return q->rc;
	int r = sqlite3_step(q->s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		q->rc = r;
	return r;
}

int q_end(struct q *q)
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
int q_run(struct q *q)
{
	while (q_step(q) == SQLITE_ROW)
		;
	return q_end(q);
}

int64_t col_int(struct q *q, int i, int64_t min, int64_t max)
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

uint32_t col_u32(struct q *q, int i)
{
	return (uint32_t)col_int(q, i, 0, UINT32_MAX);
}
uint8_t col_u8(struct q *q, int i)
{
	return (uint8_t)col_int(q, i, 0, UINT8_MAX);
}

/* A blob of at most cap bytes; its length, or 0 with q->bad set. */
size_t col_blob(struct q *q, int i, void *dst, size_t cap)
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

void col_key(struct q *q, int i, uint8_t *dst, size_t len)
{
	if (col_blob(q, i, dst, len) != len)
		q->bad = true;
}

/* Text of at most cap - 1 bytes, NUL-terminated into dst. */
void col_text(struct q *q, int i, char *dst, size_t cap)
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
int64_t q_scalar(struct q *q, int64_t min, int64_t max)
{
	if (q_step(q) == SQLITE_ROW)
		return col_int(q, 0, min, max);
	if (q->rc == SQLITE_OK)
		q->bad = true;
	return min;
}

/* Finishes a count query; *count is set only on success. */
int q_count(struct q *q, uint32_t *count)
{
	uint32_t n = (uint32_t)q_scalar(q, 0, UINT32_MAX);
	int err = q_end(q);
	if (err == ERR_OK)
		*count = n;
	return err;
}

/*
 * Finishes a lookup of at most one row, read into *row: ERR_NOT_FOUND if
 * there is none.  Public calls read into a scratch copy and hand it out only
 * on success, so that a failed call leaves their output as it was.
 */
int q_get(struct q *q, row_reader *read, void *row)
{
	bool found = q_step(q) == SQLITE_ROW;
	if (found)
		read(q, row);
	int err = q_end(q);
	return err == ERR_OK && !found ? ERR_NOT_FOUND : err;
}

/*
 * Hands every row of a query to a callback until it returns nonzero, which
 * is then the result; a malformed row ends the listing with ERR_STORE.  The
 * callback must not call back into the store: in_cb refuses it.
 */
int q_list(struct q *q, list_row *row, union list_cb cb, void *ctx)
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
int op_begin(struct store *st)
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
int op_end(struct store *st, int err)
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
int guard(struct store *st)
{
	if (!st || st->in_cb)
		return ERR_INVAL;
	if (st->user_txn && sqlite3_get_autocommit(st->db)) {
		log_err(SUB, "the batch was aborted by an earlier error: roll it back");
		return ERR_STORE;
	}
	return ERR_OK;
}

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

int prepare_all(struct store *st)
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
