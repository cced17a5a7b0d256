/*
 * store_posts.c - rooms and posts in the SQLite backend (PROTOCOL.md §7.3):
 * rooms.post_count and rooms.last_post_ts follow the posts table through
 * triggers; retention trims a room's oldest posts by count and by age.
 */
#include <string.h>

#include "store/store_int.h"

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
int room_get(struct store *st, uint32_t id, const char *what, struct store_room *r)
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
int change_one(struct store *st, struct q *q)
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

void read_post(struct q *q, void *row)
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
int trim(struct store *st, enum stmt id, const char *what, uint32_t room, int64_t n,
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
int trim_posts(struct store *st, uint32_t room, const struct store_room *r, uint32_t now,
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

int post_row(struct q *q, union list_cb cb, void *ctx)
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
