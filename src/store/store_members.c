/*
 * store_members.c - the per-room tables keyed by a member's key in the
 * SQLite backend (PROTOCOL.md §7.1, §7.10): members (the ACL), replay
 * marks, settings, bans and the duplicate window.
 */
#include <string.h>

#include "store/store_int.h"

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
