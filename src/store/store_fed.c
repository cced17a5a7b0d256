/*
 * store_fed.c - federation state in the SQLite backend (issue 17): posts
 * from other sites by their global id (origin, origin_seq), and per origin
 * the high-water mark of contiguous posts received (fed_hw) with the posts
 * received above it (fed_got).
 */
#include <string.h>

#include "store/store_int.h"

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
