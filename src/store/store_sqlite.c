/*
 * store_sqlite.c - the SQLite backend of store.h (PROTOCOL.md §7.1, §7.3,
 * §7.10): the schema, open and close, checks and sizes, backup.  The
 * backend's other files are listed in store_int.h; only they include
 * sqlite3.h.
 *
 * One connection per struct store.  Every SQL statement used at run time is
 * declared once in the `sql` table of store_stmt.c and prepared once at
 * open; each use binds, steps, reads and resets it through the small `q_*`
 * helpers, which keep the first failing return code so that none is
 * ignored.  The schema is created and upgraded by the `migrations` table,
 * one forward-only step per PRAGMA user_version.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

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
