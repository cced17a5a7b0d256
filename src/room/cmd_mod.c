/*
 * cmd_mod.c - the room's moderation commands (ours, PROTOCOL.md §8): post.list,
 * post.delete, and the commands that take a key typed by an admin (setperm,
 * ban, unban, bans, members) through one rule (resolve_key), and backup.
 * Their rows are in the command table of cmd.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "room/cmd.h"
#include "room/cmd_int.h"
#include "room/room.h"
#include "store/store.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/num.h"

/* moderation (ours) */

static void format_when(char *out, size_t cap, uint32_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t) {
		snprintf(out, cap, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

struct list_ctx {
	char *out;
	size_t cap, off;
};

struct post_list_ctx {
	struct list_ctx lc;
	const struct room *r;
};

/* "who" of a post: the room itself, or the author's key prefix */
static void author_text(const struct room *r, const uint8_t *pub, char *out, size_t cap)
{
	const struct room_member *m = room_member_find((struct room *)r, pub);
	char hex[17];
	hex_encode(hex, sizeof(hex), pub, 8);
	if (memcmp(pub, r->ep.id.pub, 32) == 0)
		snprintf(out, cap, "(room)");
	else if (m && m->name[0])
		snprintf(out, cap, "%s %.31s", hex, m->name);
	else
		snprintf(out, cap, "%s", hex);
}

static int list_post(void *ctx, const struct store_post *p)
{
	struct post_list_ctx *pc = ctx;
	struct list_ctx *lc = &pc->lc;
	char when[24], who[56];
	if (lc->off >= lc->cap)
		return 1;
	format_when(when, sizeof(when), p->post_ts);
	author_text(pc->r, p->author, who, sizeof(who));
	int n =
	    snprintf(lc->out + lc->off, lc->cap - lc->off, "\n%lld %s %s: %.*s", (long long)p->id,
	             when, who, (int)(p->text_len > 40 ? 40 : p->text_len), (const char *)p->text);
	if (n > 0)
		lc->off += (size_t)n;
	return 0;
}

/* post.list [n]: newest first, with id, time (UTC), author and the start of the text */
void cmd_post_list(struct cmd_ctx *c)
{
	unsigned long n = strtoul(c->args, NULL, 10);
	struct post_list_ctx pc = {{c->reply, c->cap, 0}, c->r};
	pc.lc.off = (size_t)snprintf(c->reply, c->cap, "id time (UTC) author: text");
	size_t head = pc.lc.off;
	if (n == 0 || n > 50)
		n = c->origin == CMD_REMOTE ? 3 : 20;
	/* a positive result is list_post saying the reply is full */
	if (store_post_list_newest(c->r->store, c->r->store_id, (uint32_t)n, list_post, &pc) < 0)
		REPLY(c, "Err - store");
	else if (pc.lc.off == head)
		REPLY(c, "no posts");
}

void cmd_post_delete(struct cmd_ctx *c)
{
	char *end;
	long long id = strtoll(c->args, &end, 10);
	if (end == c->args) {
		REPLY(c, "Err - bad params");
		return;
	}
	if (c->r->hooks.post_deleting)
		c->r->hooks.post_deleting(c->r->hooks.ctx, c->r, id);
	int rc = store_post_delete(c->r->store, c->r->store_id, id);
	REPLY(c, rc == ERR_OK ? "OK" : rc == ERR_NOT_FOUND ? "Err - not found" : "Err - store");
}

/* ---- keys typed by an admin: one rule for every command (issue 14) ----
 * A full key (64 hex digits), or a prefix of at least KEY_PREFIX_MIN bytes
 * that names exactly one key among the members (in memory and in the store)
 * and the banned keys; an ambiguous prefix lists its candidates. */

#define KEY_PREFIX_MIN 4
#define KEY_CANDIDATES 8

struct key_match {
	uint8_t prefix[32];
	size_t len;
	uint8_t found[KEY_CANDIDATES][32];
	unsigned n; /* distinct keys found (may exceed KEY_CANDIDATES) */
};

static void key_match_add(struct key_match *km, const uint8_t *pub)
{
	if (memcmp(pub, km->prefix, km->len) != 0)
		return;
	for (unsigned i = 0; i < km->n && i < KEY_CANDIDATES; i++)
		if (memcmp(km->found[i], pub, 32) == 0)
			return;
	if (km->n < KEY_CANDIDATES)
		memcpy(km->found[km->n], pub, 32);
	km->n++;
}

static int key_match_member(void *ctx, const struct store_member *m)
{
	key_match_add(ctx, m->pub);
	return 0;
}

static int key_match_ban(void *ctx, const struct store_ban *b)
{
	key_match_add(ctx, b->pub);
	return 0;
}

/* Resolves the first word of c->args to a full key; on failure replies with
 * what is wrong and returns an error. */
static int resolve_key(struct cmd_ctx *c, uint8_t key[32])
{
	struct room *r = c->r;
	size_t hl = strcspn(c->args, " ");
	struct key_match km;
	char hex[65];
	int n = hex_decode(km.prefix, sizeof(km.prefix), c->args, hl);
	if (n < 0 || hl % 2) {
		REPLY(c, "Err - bad pubkey: give hex digits (a prefix of at least %d)",
		      KEY_PREFIX_MIN * 2);
		return ERR_FORMAT;
	}
	if (n == 32) {
		memcpy(key, km.prefix, 32);
		return ERR_OK;
	}
	if (n < KEY_PREFIX_MIN) {
		REPLY(c, "Err - key prefix too short: give at least %d hex digits",
		      KEY_PREFIX_MIN * 2);
		return ERR_INVAL;
	}
	km.len = (size_t)n;
	km.n = 0;
	for (size_t i = 0; i < r->n_members; i++)
		key_match_add(&km, r->members[i].pub);
	if (store_member_list(r->store, r->store_id, key_match_member, &km) != ERR_OK ||
	    store_ban_list(r->store, r->store_id, key_match_ban, &km) != ERR_OK) {
		REPLY(c, "Err - store");
		return ERR_STORE;
	}
	if (km.n == 1) {
		memcpy(key, km.found[0], 32);
		return ERR_OK;
	}
	if (km.n == 0) {
		REPLY(c, "Err - no member or banned key starts with %.*s", (int)hl, c->args);
		return ERR_NOT_FOUND;
	}
	size_t off = (size_t)snprintf(c->reply, c->cap,
	                              "Err - %.*s is ambiguous (%u keys), give "
	                              "more digits:",
	                              (int)hl, c->args, km.n);
	for (unsigned i = 0; i < km.n && i < KEY_CANDIDATES && off < c->cap; i++) {
		hex_encode(hex, sizeof(hex), km.found[i], 8);
		off += (size_t)snprintf(c->reply + off, c->cap - off, " %s", hex);
	}
	return ERR_INVAL;
}

void cmd_setperm(struct cmd_ctx *c)
{
	struct room *r = c->r;
	const char *sp = strchr(c->args, ' ');
	uint8_t key[32];
	char *end;
	if (!sp || !*skip_blanks(sp)) {
		REPLY(c, "Err - bad params: setperm <key or prefix> <perm>");
		return;
	}
	unsigned long perm = strtoul(skip_blanks(sp), &end, 10);
	if (*skip_blanks(end) || perm > 255) {
		REPLY(c,
		      "Err - bad params: perm is 0-255 (0 removes, 1 read, 2 read-write, 3 admin)");
		return;
	}
	if (resolve_key(c, key) != ERR_OK)
		return;
	struct room_member *m = room_member_find(r, key);
	if (acl_role(perm) == ACL_ROLE_GUEST) {
		if (!m) { /* a member only in the store */
			int rc = store_member_delete(r->store, r->store_id, key);
			REPLY(c, rc == ERR_OK          ? "OK"
			         : rc == ERR_NOT_FOUND ? "Err - not a member"
			                               : "Err - store");
			if (rc == ERR_OK && r->hooks.member_removed)
				r->hooks.member_removed(r->hooks.ctx, r, key);
			return;
		}
		memcpy(key, m->pub, sizeof(key));
		room_member_remove(r, m);
		if (r->hooks.member_removed)
			r->hooks.member_removed(r->hooks.ctx, r, key);
		REPLY(c, "OK");
		return;
	}
	if (!m)
		m = room_member_put(r, key, (uint8_t)perm);
	if (!m) {
		REPLY(c, "Err - invalid params");
		return;
	}
	room_member_set_perms(r, m, (uint8_t)perm); /* written by the next tick */
	REPLY(c, "OK");
}

void cmd_ban(struct cmd_ctx *c)
{
	uint8_t key[32];
	if (resolve_key(c, key) != ERR_OK)
		return;
	const char *reason = strchr(c->args, ' ');
	int rc = store_ban_add(c->r->store, c->r->store_id, key, room_rtc(c->r),
	                       reason ? skip_blanks(reason) : "");
	struct room_member *m = room_member_find(c->r, key);
	if (m)
		m->pending = false, m->push_failures = 99;
	if (!rc && c->r->hooks.ban_changed)
		c->r->hooks.ban_changed(c->r->hooks.ctx, c->r, key, true, room_rtc(c->r));
	REPLY(c, rc ? "Err - store" : "OK - banned");
}

void cmd_unban(struct cmd_ctx *c)
{
	uint8_t key[32];
	if (resolve_key(c, key) != ERR_OK)
		return;
	/* a ban holds for both forms of a key (bit 255, crypto.h): lift both */
	int rc = store_ban_remove(c->r->store, c->r->store_id, key);
	key[CRYPTO_PUB_SIGN_BYTE] ^= CRYPTO_PUB_SIGN_BIT;
	if (store_ban_remove(c->r->store, c->r->store_id, key) == ERR_OK)
		rc = ERR_OK;
	if (rc == ERR_OK && c->r->hooks.ban_changed) {
		c->r->hooks.ban_changed(c->r->hooks.ctx, c->r, key, false, room_rtc(c->r));
		key[CRYPTO_PUB_SIGN_BYTE] ^= CRYPTO_PUB_SIGN_BIT;
		c->r->hooks.ban_changed(c->r->hooks.ctx, c->r, key, false, room_rtc(c->r));
	}
	REPLY(c, rc == ERR_OK ? "OK" : rc == ERR_NOT_FOUND ? "Err - not banned" : "Err - store");
}

static int list_ban(void *ctx, const struct store_ban *b)
{
	struct list_ctx *lc = ctx;
	char hex[17], when[24];
	if (lc->off >= lc->cap)
		return 1;
	hex_encode(hex, sizeof(hex), b->pub, 8);
	format_when(when, sizeof(when), b->when);
	int n = snprintf(lc->out + lc->off, lc->cap - lc->off, "\n%s %s %s", hex, when,
	                 b->reason[0] ? b->reason : "-");
	if (n > 0)
		lc->off += (size_t)n;
	return 0;
}

/* bans: every banned key (16 hex digits: enough for unban), when (UTC), reason */
void cmd_bans(struct cmd_ctx *c)
{
	struct list_ctx lc = {c->reply, c->cap, 0};
	lc.off = (size_t)snprintf(c->reply, c->cap, "key              banned (UTC)        reason");
	size_t head = lc.off;
	if (store_ban_list(c->r->store, c->r->store_id, list_ban, &lc) < 0)
		REPLY(c, "Err - store");
	else if (lc.off == head)
		REPLY(c, "no bans");
}

/* roomd: a consistent copy of the database while running (local doors only). */
void cmd_backup(struct cmd_ctx *c)
{
	if (!c->r->hooks.backup) {
		REPLY(c, "Err - no backup here");
		return;
	}
	if (c->args[0] != '/') {
		REPLY(c, "Err - give an absolute path");
		return;
	}
	/* through the program: the library writes no file it was not given */
	char note[512] = "";
	int rc = c->r->hooks.backup(c->r->hooks.ctx, c->r, c->args, note, sizeof(note));
	if (rc == ERR_OK)
		REPLY(c, "OK - backup written to %s%s%s", c->args, note[0] ? "; " : "", note);
	else if (rc == ERR_INVAL)
		REPLY(c, "Err - not there (the live database, or a batch is open)");
	else
		REPLY(c, "Err - backup failed (see the log)");
}

static const char *role_name(uint8_t perms)
{
	static const char *const names[] = {"guest", "read", "write", "admin"};
	return names[acl_role(perms)];
}

#define MEMBERS_HEADER "key              role  synced to (UTC)     last seen (UTC)     name"

/* One line of `members`; returns what snprintf returned. */
static int member_line(char *out, size_t cap, const uint8_t *pub, uint8_t perms, uint32_t sync,
                       uint32_t seen, const char *name)
{
	char hex[17], s[24], a[24];
	hex_encode(hex, sizeof(hex), pub, 8);
	format_when(s, sizeof(s), sync);
	format_when(a, sizeof(a), seen);
	return snprintf(out, cap, "\n%s %-5s %-19s %-19s %.31s", hex, role_name(perms), s, a,
	                name && name[0] ? name : "-");
}

/* members [KEY]: a header, then key (16 hex digits), role, synced to, last
 * seen (UTC) and the name from its latest advert; with a key, that member
 * (also one only in the store). */
void cmd_members(struct cmd_ctx *c)
{
	size_t off = (size_t)snprintf(c->reply, c->cap, MEMBERS_HEADER);
	if (*c->args) {
		uint8_t key[32];
		struct store_member sm;
		if (resolve_key(c, key) != ERR_OK)
			return;
		const struct room_member *m = room_member_find(c->r, key);
		if (m)
			member_line(c->reply + off, c->cap - off, m->pub, m->perms, m->sync_since,
			            m->last_activity, m->name);
		else if (store_member_get(c->r->store, c->r->store_id, key, &sm) == ERR_OK)
			member_line(c->reply + off, c->cap - off, sm.pub, sm.permissions,
			            sm.sync_since, sm.last_activity, NULL);
		else
			REPLY(c, "Err - not a member (banned only)");
		return;
	}
	for (size_t i = 0; i < c->r->n_members && off < c->cap; i++) {
		const struct room_member *m = &c->r->members[i];
		int n = member_line(c->reply + off, c->cap - off, m->pub, m->perms, m->sync_since,
		                    m->last_activity, m->name);
		if (n > 0)
			off += (size_t)n;
	}
	if (!c->r->n_members)
		REPLY(c, "no members");
}
