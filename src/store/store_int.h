/*
 * store_int.h - what the files of the SQLite backend share; not for other
 * modules (they use store.h).  store_sqlite.c: schema, migrations, open and
 * close, checks, backup.  store_stmt.c: the statement table, the q_* helpers
 * that run a statement, transactions.  store_posts.c: rooms and posts.
 * store_fed.c: federation state.  store_members.c: members, replay marks,
 * settings, bans, the duplicate window.  Only these files include sqlite3.h.
 */
#ifndef ROOMD_STORE_STORE_INT_H
#define ROOMD_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define SUB "store"

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

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	bool readonly;
	bool user_txn; /* inside store_begin() */
	bool in_cb;    /* inside a listing callback: refuse re-entry */
};

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

/* Reads the current row of a query into *row. */
typedef void row_reader(struct q *q, void *row);

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

#define GUARD(st)                                                                                  \
	do {                                                                                       \
		int guard_err_ = guard(st);                                                        \
		if (guard_err_ != ERR_OK)                                                          \
			return guard_err_;                                                         \
	} while (0)

/* store_stmt.c: error mapping */
int map_rc(int rc);
int db_fail(struct store *st, int rc, const char *what);

/* store_stmt.c: one use of a statement (binders, step, column readers) */
void q_start(struct q *q, struct store *st, enum stmt id, const char *what);
void q_int(struct q *q, int idx, int64_t v);
void q_blob(struct q *q, int idx, const void *p, size_t n);
void q_blob_or_null(struct q *q, int idx, const void *p, size_t n);
void q_text(struct q *q, int idx, const char *s);
int q_step(struct q *q);
int q_end(struct q *q);
int q_run(struct q *q);
int64_t col_int(struct q *q, int i, int64_t min, int64_t max);
uint32_t col_u32(struct q *q, int i);
uint8_t col_u8(struct q *q, int i);
size_t col_blob(struct q *q, int i, void *dst, size_t cap);
void col_key(struct q *q, int i, uint8_t *dst, size_t len);
void col_text(struct q *q, int i, char *dst, size_t cap);
int64_t q_scalar(struct q *q, int64_t min, int64_t max);
int q_count(struct q *q, uint32_t *count);
int q_get(struct q *q, row_reader *read, void *row);
int q_list(struct q *q, list_row *row, union list_cb cb, void *ctx);

/* store_stmt.c: transactions, the entry check, preparing the table */
int op_begin(struct store *st);
int op_end(struct store *st, int err);
int guard(struct store *st);
int prepare_all(struct store *st);

/* store_posts.c: shared with federation and the other tables */
int room_get(struct store *st, uint32_t id, const char *what, struct store_room *r);
int change_one(struct store *st, struct q *q);
void read_post(struct q *q, void *row);
int post_row(struct q *q, union list_cb cb, void *ctx);
int trim(struct store *st, enum stmt id, const char *what, uint32_t room, int64_t n,
         uint32_t *deleted);
int trim_posts(struct store *st, uint32_t room, const struct store_room *r, uint32_t now,
               uint32_t *deleted);

#endif
