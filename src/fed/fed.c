/*
 * fed.c - the replication state machine of a federated room (fed.h).
 */
#include "fed/fed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room/room.h"
#include "store/store.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/log.h"

#define SUB "fed"

static bool topic_level_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	return strpbrk(s, "/+#") == NULL;
}

int fed_init(struct fed *f, struct room *room, const char *site, const char *room_name,
             fed_publish_fn *publish, void *io)
{
	if (!fed_site_valid(site) || !topic_level_ok(room_name, 64))
		return ERR_INVAL;
	memset(f, 0, sizeof(*f));
	f->room = room;
	snprintf(f->site, sizeof(f->site), "%s", site);
	char key[17];
	hex_encode(key, sizeof(key), room->ep.id.pub, 8);
	snprintf(f->prefix, sizeof(f->prefix), "roomd/%s/%s/", room_name, key);
	f->publish = publish;
	f->io = io;
	char v[16];
	if (store_setting_get(room->store, room->store_id, "fed.settings.version", "0", v,
	                      sizeof(v)) == ERR_OK)
		f->set.version = (uint32_t)strtoul(v, NULL, 10);
	snprintf(f->set.name, sizeof(f->set.name), "%s", room->set.name);
	snprintf(f->set.admin, sizeof(f->set.admin), "%s", room->set.admin_password);
	snprintf(f->set.guest, sizeof(f->set.guest), "%s", room->set.guest_password);
	f->set.allow_read_only = room->set.allow_read_only;
	/* our role changes since shortly before the link was last seen up are
	 * published again at the first connect (kept by send_hello) */
	if (store_setting_get(room->store, room->store_id, "fed.up_rtc", "0", v, sizeof(v)) ==
	    ERR_OK) {
		unsigned long up = strtoul(v, NULL, 10);
		f->down_rtc =
		    up > FED_UP_MARGIN_S && up <= UINT32_MAX ? (uint32_t)up - FED_UP_MARGIN_S : 0;
	}
	return ERR_OK;
}

static void send_msg(struct fed *f, struct fed_msg *m);

static void save_version(struct fed *f)
{
	char v[16];
	snprintf(v, sizeof(v), "%u", f->set.version);
	if (store_setting_set(f->room->store, f->room->store_id, "fed.settings.version", v))
		f->stats.dropped_store++;
}

static void publish_settings(struct fed *f)
{
	struct fed_msg m;
	if (!f->set.version)
		return; /* never changed anywhere: nothing to share */
	memset(&m, 0, sizeof(m));
	m.kind = FED_SETTINGS;
	m.u.set = f->set;
	send_msg(f, &m);
}

void fed_settings_changed(struct fed *f)
{
	const struct room_settings *s = &f->room->set;
	if (!strcmp(f->set.name, s->name) && !strcmp(f->set.admin, s->admin_password) &&
	    !strcmp(f->set.guest, s->guest_password) &&
	    f->set.allow_read_only == s->allow_read_only)
		return;
	uint32_t rtc = room_rtc(f->room);
	f->set.version = rtc > f->set.version ? rtc : f->set.version + 1;
	snprintf(f->set.name, sizeof(f->set.name), "%s", s->name);
	snprintf(f->set.admin, sizeof(f->set.admin), "%s", s->admin_password);
	snprintf(f->set.guest, sizeof(f->set.guest), "%s", s->guest_password);
	f->set.allow_read_only = s->allow_read_only;
	save_version(f);
	publish_settings(f);
}

static void on_settings(struct fed *f, struct fed_msg *m)
{
	struct room *r = f->room;
	if (fed_settings_open(m, &r->ep.id) != ERR_OK) {
		f->stats.dropped_garbage++;
		return;
	}
	const struct fed_settings *s = &m->u.set;
	/* the newest change wins; equal versions: the greater site name */
	if (s->version < f->set.version ||
	    (s->version == f->set.version && strcmp(m->site, f->site) <= 0))
		return;
	f->set = *s;
	snprintf(r->set.name, sizeof(r->set.name), "%s", s->name);
	snprintf(r->set.admin_password, sizeof(r->set.admin_password), "%s", s->admin);
	snprintf(r->set.guest_password, sizeof(r->set.guest_password), "%s", s->guest);
	r->set.allow_read_only = s->allow_read_only;
	if (room_save_settings(r) != ERR_OK)
		f->stats.dropped_store++;
	save_version(f);
	f->stats.settings_applied++;
	log_info(SUB, "room settings version %u from %s applied", s->version, m->site);
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case FED_POST: return "post";
	case FED_MEMBER: return "member";
	case FED_HELLO: return "hello";
	case FED_BAN: return "ban";
	case FED_DELETE: return "del";
	case FED_SETTINGS: return "settings";
	default: return "x";
	}
}

static void send_msg(struct fed *f, struct fed_msg *m)
{
	uint8_t buf[FED_MSG_MAX];
	char topic[FED_TOPIC_MAX + 48];
	size_t len;

	if (!f->up)
		return; /* the next hello exchange fetches what was not sent */
	memcpy(m->site, f->site, sizeof(m->site));
	m->sent_ms = f->wall_ms;
	int rc = fed_encode(m, &f->room->ep.id, buf, sizeof(buf), &len);
	if (rc) {
		log_err(SUB, "cannot encode a %s message: %s", kind_name(m->kind), err_str(rc));
		return;
	}
	snprintf(topic, sizeof(topic), "%s%s/%s", f->prefix, f->site, kind_name(m->kind));
	if (f->publish(f->io, topic, buf, len, m->kind == FED_SETTINGS) != ERR_OK) {
		f->stats.publish_failed++;
		return;
	}
	f->stats.published++;
	f->stats.tx_bytes += len;
}

static void post_to_msg(const struct fed *f, const struct store_post *p, struct fed_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->kind = FED_POST;
	snprintf(m->u.post.origin, sizeof(m->u.post.origin), "%s",
	         p->origin[0] ? p->origin : f->site);
	m->u.post.seq = p->origin_seq;
	m->u.post.origin_ts = p->origin_ts;
	m->u.post.sender_ts = p->sender_ts;
	memcpy(m->u.post.author, p->author, CRYPTO_PUB_SIZE);
	m->u.post.text_len = (uint8_t)p->text_len;
	memcpy(m->u.post.text, p->text, p->text_len);
}

void fed_post_stored(struct fed *f, int64_t id)
{
	if (f->n_out < FED_OUTBOX)
		f->outbox[f->n_out++] = id;
}

static void flush_outbox(struct fed *f)
{
	struct store_post p;
	struct fed_msg m;
	for (unsigned i = 0; i < f->n_out; i++) {
		if (store_post_get(f->room->store, f->room->store_id, f->outbox[i], &p) != ERR_OK)
			continue;
		post_to_msg(f, &p, &m);
		send_msg(f, &m);
	}
	f->n_out = 0;
}

/* ---- members: roles with versions ---- */

/*
 * A member's role as last changed anywhere, with its version: kept in the
 * room's settings (key "fed.role." and 48 hex digits of the canonical key,
 * value "<ver> <perms> <site> <removed> <key hex>") so a restart keeps it.
 * removed: a tombstone (a record with an older role version does not bring
 * the member back).
 */
struct role {
	uint32_t ver;
	uint8_t perms;
	bool removed;
	char site[FED_SITE_MAX + 1];
	uint8_t pub[CRYPTO_PUB_SIZE];
};

#define ROLE_KEY "fed.role."

static void role_key(const uint8_t pub[CRYPTO_PUB_SIZE], char key[STORE_SETTING_KEY_MAX + 1])
{
	uint8_t k[CRYPTO_PUB_SIZE];
	ident_key_canonical(k, pub);
	snprintf(key, STORE_SETTING_KEY_MAX + 1, "%s", ROLE_KEY);
	hex_encode(key + sizeof(ROLE_KEY) - 1, 48 + 1, k, 24);
}

static bool role_parse(const char *v, struct role *ro)
{
	unsigned long ver, perms, removed;
	char hex[2 * CRYPTO_PUB_SIZE + 1];
	memset(ro, 0, sizeof(*ro));
	if (sscanf(v, "%lu %lu %32s %lu %64s", &ver, &perms, ro->site, &removed, hex) != 5 ||
	    ver > UINT32_MAX || perms > 255 || removed > 1 || !fed_site_valid(ro->site) ||
	    hex_decode(ro->pub, sizeof(ro->pub), hex, strlen(hex)) != CRYPTO_PUB_SIZE) {
		memset(ro, 0, sizeof(*ro));
		return false;
	}
	ro->ver = (uint32_t)ver;
	ro->perms = (uint8_t)perms;
	ro->removed = removed;
	return true;
}

static bool role_get(struct fed *f, const uint8_t pub[CRYPTO_PUB_SIZE], struct role *ro)
{
	char key[STORE_SETTING_KEY_MAX + 1], v[STORE_SETTING_VALUE_MAX + 1];
	role_key(pub, key);
	if (store_setting_get(f->room->store, f->room->store_id, key, NULL, v, sizeof(v)) !=
	        ERR_OK ||
	    !role_parse(v, ro) || !ident_key_same(ro->pub, pub)) {
		memset(ro, 0, sizeof(*ro));
		return false;
	}
	return true;
}

static void role_put(struct fed *f, const uint8_t pub[CRYPTO_PUB_SIZE], const struct role *ro)
{
	char key[STORE_SETTING_KEY_MAX + 1], v[STORE_SETTING_VALUE_MAX + 1];
	char hex[2 * CRYPTO_PUB_SIZE + 1];
	role_key(pub, key);
	hex_encode(hex, sizeof(hex), pub, CRYPTO_PUB_SIZE);
	snprintf(v, sizeof(v), "%u %u %s %d %s", ro->ver, ro->perms, ro->site, ro->removed, hex);
	if (store_setting_set(f->room->store, f->room->store_id, key, v) != ERR_OK)
		f->stats.dropped_store++;
}

/* > 0 if a is the newer version: the later change, on a tie the greater site */
static int role_cmp(const struct role *a, const struct role *b)
{
	if (a->ver != b->ver)
		return a->ver > b->ver ? 1 : -1;
	return strcmp(a->site, b->site);
}

/* A role change made here: a version newer than any known for the member. */
static void role_local(struct fed *f, const uint8_t pub[CRYPTO_PUB_SIZE], uint8_t perms,
                       bool removed, struct role *ro)
{
	struct role old;
	bool have = role_get(f, pub, &old);
	uint32_t rtc = room_rtc(f->room);
	ro->ver = have && old.ver >= rtc ? old.ver + 1 : rtc;
	ro->perms = perms;
	ro->removed = removed;
	snprintf(ro->site, sizeof(ro->site), "%s", f->site);
	role_put(f, pub, ro);
}

/* A member's record (mb NULL: a tombstone) with its role's version. */
static void send_member(struct fed *f, const uint8_t pub[CRYPTO_PUB_SIZE], const struct role *ro,
                        const struct room_member *mb)
{
	struct fed_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = FED_MEMBER;
	memcpy(m.u.member.pub, pub, CRYPTO_PUB_SIZE);
	m.u.member.perms = mb ? mb->perms : 0;
	m.u.member.removed = !mb;
	if (mb) {
		m.u.member.sync_since = mb->sync_since;
		m.u.member.last_ts = mb->last_ts;
		m.u.member.heard_ts = mb->last_activity;
	}
	memcpy(m.u.member.heard, f->site, sizeof(m.u.member.heard));
	m.u.member.role_ver = ro->ver;
	memcpy(m.u.member.role_site, ro->site, sizeof(m.u.member.role_site));
	send_msg(f, &m);
}

void fed_member_saved(struct fed *f, const struct room_member *mb)
{
	struct role ro;
	/* a role other than the one last versioned was set here (a login, setperm) */
	if (!role_get(f, mb->pub, &ro) || ro.removed || ro.perms != mb->perms)
		role_local(f, mb->pub, mb->perms, false, &ro);
	send_member(f, mb->pub, &ro, mb);
}

void fed_member_removed(struct fed *f, const uint8_t pub[CRYPTO_PUB_SIZE])
{
	struct role ro;
	role_local(f, pub, 0, true, &ro);
	send_member(f, pub, &ro, NULL);
}

/* What another site knows of a member: the role by its version (a removal
 * too), the rest merged (room_member_merge). */
static void on_member(struct fed *f, const struct fed_msg *m)
{
	struct room *r = f->room;
	const struct fed_member *mb = &m->u.member;
	struct role theirs = {.ver = mb->role_ver, .perms = mb->perms, .removed = mb->removed},
	            ours;
	memcpy(theirs.site, mb->role_site, sizeof(theirs.site));
	bool have = role_get(f, mb->pub, &ours);
	bool newer = !have || role_cmp(&theirs, &ours) > 0;
	struct room_member *lm = room_member_find(r, mb->pub);

	if (mb->removed) { /* removed there */
		if (!newer)
			return;
		role_put(f, mb->pub, &theirs);
		if (lm)
			room_member_remove(r, lm);
		else
			(void)store_member_delete(r->store, r->store_id, mb->pub);
		f->stats.members_removed++;
		return;
	}
	if (!newer && ours.removed) {
		f->stats.members_stale++; /* removed after that record was made */
		return;
	}
	uint8_t perms = newer ? mb->perms : lm ? lm->perms : ours.perms;
	if (newer)
		role_put(f, mb->pub, &theirs);
	if (room_member_merge(r, mb->pub, perms, mb->sync_since, mb->last_ts, mb->heard_ts,
	                      strcmp(mb->heard, f->site) == 0) != ERR_OK) {
		f->stats.dropped_store++;
		return;
	}
	f->stats.members_applied++;
}

struct role_resend {
	struct fed *f;
	uint32_t since;
};

/* Our own role changes since the link went down (all of them after a start):
 * what send_msg dropped while it was down. */
static int role_resend_cb(void *ctx, const char *key, const char *value)
{
	struct role_resend *c = ctx;
	struct role ro;
	if (strncmp(key, ROLE_KEY, sizeof(ROLE_KEY) - 1) != 0 || !role_parse(value, &ro) ||
	    strcmp(ro.site, c->f->site) != 0 || ro.ver < c->since)
		return 0;
	struct room_member *lm = room_member_find(c->f->room, ro.pub);
	if (ro.removed || lm)
		send_member(c->f, ro.pub, &ro, ro.removed ? NULL : lm);
	return 0;
}

void fed_ban_changed(struct fed *f, const uint8_t pub[32], bool banned, uint32_t when)
{
	struct fed_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = FED_BAN;
	memcpy(m.u.ban.pub, pub, CRYPTO_PUB_SIZE);
	m.u.ban.banned = banned;
	m.u.ban.when = when;
	send_msg(f, &m);
}

void fed_post_deleting(struct fed *f, int64_t id)
{
	struct store_post p;
	struct fed_msg m;
	if (store_post_get(f->room->store, f->room->store_id, id, &p) != ERR_OK)
		return;
	memset(&m, 0, sizeof(m));
	m.kind = FED_DELETE;
	snprintf(m.u.del.origin, sizeof(m.u.del.origin), "%s", p.origin[0] ? p.origin : f->site);
	m.u.del.seq = p.origin_seq;
	send_msg(f, &m);
}

/* ---- hellos and resync ---- */

/* A site's high-water marks, sorted by origin name (a hello's pages). */
struct mark {
	char site[FED_SITE_MAX + 1];
	uint64_t hw;
};

struct marks {
	struct mark *v;
	size_t n, cap;
	bool oom;
};

static int marks_add(void *ctx, const char *origin, uint64_t hw)
{
	struct marks *ms = ctx;
	if (!fed_site_valid(origin))
		return 0; /* not a name a hello can carry */
	if (ms->n == ms->cap) {
		size_t cap = ms->cap ? 2 * ms->cap : 64;
		struct mark *v = realloc(ms->v, cap * sizeof(*v));
		if (!v) {
			ms->oom = true;
			return 1;
		}
		ms->v = v;
		ms->cap = cap;
	}
	snprintf(ms->v[ms->n].site, sizeof(ms->v[0].site), "%s", origin);
	ms->v[ms->n++].hw = hw;
	return 0;
}

static int cmp_mark(const void *a, const void *b)
{
	return strcmp(((const struct mark *)a)->site, ((const struct mark *)b)->site);
}

/* Our high-water marks: our own posts and every origin received, by name;
 * free ms->v after. */
static int our_marks(struct fed *f, struct marks *ms)
{
	uint64_t own = 0;
	memset(ms, 0, sizeof(*ms));
	int rc = store_fed_hw(f->room->store, f->room->store_id, "", &own);
	if (!rc)
		(void)marks_add(ms, f->site, own);
	if (!rc && !ms->oom)
		rc = store_fed_hw_list(f->room->store, f->room->store_id, marks_add, ms);
	if (rc < 0 || ms->oom) {
		free(ms->v);
		memset(ms, 0, sizeof(*ms));
		return rc < 0 ? rc : ERR_NOMEM;
	}
	qsort(ms->v, ms->n, sizeof(ms->v[0]), cmp_mark);
	return ERR_OK;
}

static uint64_t marks_find(const struct marks *ms, const char *site)
{
	struct mark key;
	snprintf(key.site, sizeof(key.site), "%s", site);
	const struct mark *m = bsearch(&key, ms->v, ms->n, sizeof(key), cmp_mark);
	return m ? m->hw : 0;
}

/* Our marks in pages of FED_HELLO_MAX origins; only the first asks for answers. */
static void send_hello(struct fed *f, bool answer)
{
	struct marks ms;
	struct fed_msg m;
	size_t i = 0;
	if (our_marks(f, &ms))
		return;
	do {
		struct fed_hello *h = &m.u.hello;
		memset(&m, 0, sizeof(m));
		m.kind = FED_HELLO;
		if (i)
			memcpy(h->after, ms.v[i - 1].site, sizeof(h->after));
		for (; h->n < FED_HELLO_MAX && i < ms.n; i++, h->n++) {
			memcpy(h->hw[h->n].site, ms.v[i].site, sizeof(h->hw[0].site));
			h->hw[h->n].hw = ms.v[i].hw;
		}
		h->flags = (answer && !h->after[0] ? FED_HELLO_ANSWER : 0) |
		           (i < ms.n ? FED_HELLO_MORE : 0);
		send_msg(f, &m);
		f->stats.hellos_sent++;
	} while (i < ms.n);
	free(ms.v);
	f->next_hello_ms = f->now_ms + FED_HELLO_MS;
	f->hello_due_ms = 0;
	if (f->up) { /* the link was up until now at least */
		char v[16];
		snprintf(v, sizeof(v), "%u", room_rtc(f->room));
		if (store_setting_set(f->room->store, f->room->store_id, "fed.up_rtc", v))
			f->stats.dropped_store++;
	}
}

static uint64_t hello_mark(const struct fed_hello *h, const char *site)
{
	for (unsigned i = 0; i < h->n; i++)
		if (strcmp(h->hw[i].site, site) == 0)
			return h->hw[i].hw;
	return 0;
}

/* Whether origin falls in the range a hello page covers. */
static bool in_page(const struct fed_hello *h, const char *origin)
{
	if (h->after[0] && strcmp(origin, h->after) <= 0)
		return false;
	return !(h->flags & FED_HELLO_MORE) || strcmp(origin, h->hw[h->n - 1].site) <= 0;
}

struct resend_ctx {
	struct fed *f;
	unsigned sent;
};

static int resend_cb(void *ctx, const struct store_post *p)
{
	struct resend_ctx *c = ctx;
	struct fed_msg m;
	post_to_msg(c->f, p, &m);
	send_msg(c->f, &m);
	c->sent++;
	c->f->stats.resync_posts_sent++;
	return 0;
}

static void hello_soon(struct fed *f, uint64_t at)
{
	if (!f->hello_due_ms || at < f->hello_due_ms)
		f->hello_due_ms = at;
}

static void on_hello(struct fed *f, const struct fed_msg *msg)
{
	const struct fed_hello *h = &msg->u.hello;
	struct marks ours;
	bool behind = false;
	unsigned sent = 0;

	f->stats.hellos_rx++;
	if (our_marks(f, &ours))
		return;
	/* what the peer lacks of the origins this page covers, from our store
	 * (also other origins' posts: a site started empty gets the whole
	 * history from whoever has it) */
	for (size_t i = 0; i < ours.n && sent < FED_RESYNC_BATCH; i++) {
		if (!in_page(h, ours.v[i].site))
			continue;
		uint64_t theirs = hello_mark(h, ours.v[i].site);
		if (ours.v[i].hw <= theirs)
			continue;
		struct resend_ctx c = {f, 0};
		const char *origin = strcmp(ours.v[i].site, f->site) == 0 ? "" : ours.v[i].site;
		(void)store_fed_after(f->room->store, f->room->store_id, origin, theirs,
		                      FED_RESYNC_BATCH - sent, resend_cb, &c);
		sent += c.sent;
	}
	/* what we lack: the peer answers our hello */
	for (unsigned i = 0; i < h->n; i++) {
		if (strcmp(h->hw[i].site, f->site) == 0)
			continue;
		if (h->hw[i].hw > marks_find(&ours, h->hw[i].site))
			behind = true;
	}
	free(ours.v);
	if (!behind)
		f->last_sync_ms = f->now_ms;
	else
		hello_soon(f, f->now_ms + FED_HELLO_MIN_MS);
	if (sent >= FED_RESYNC_BATCH || (h->flags & FED_HELLO_ANSWER))
		hello_soon(f, f->now_ms); /* the asker sees there is more, asks again */
}

/* ---- receiving ---- */

static void peer_seen(struct fed *f, const struct fed_msg *m)
{
	struct fed_peer *p = NULL;
	for (unsigned i = 0; i < f->n_peers; i++)
		if (strcmp(f->peers[i].site, m->site) == 0)
			p = &f->peers[i];
	if (!p) {
		if (f->n_peers == FED_PEERS_MAX) {
			unsigned old = 0;
			for (unsigned i = 1; i < f->n_peers; i++)
				if (f->peers[i].seen_ms < f->peers[old].seen_ms)
					old = i;
			p = &f->peers[old];
		} else {
			p = &f->peers[f->n_peers++];
		}
		memset(p, 0, sizeof(*p));
		memcpy(p->site, m->site, sizeof(p->site));
		log_info(SUB, "peer %s", p->site);
	}
	p->seen_ms = f->now_ms;
	if (m->kind == FED_POST && strcmp(m->u.post.origin, m->site) == 0) {
		/* a live post (not a resync answer): its lag */
		uint64_t lag = f->wall_ms > m->sent_ms ? f->wall_ms - m->sent_ms : 0;
		p->lag_ms = lag > UINT32_MAX ? UINT32_MAX : (uint32_t)lag;
		f->lag[f->lag_next] = p->lag_ms;
		f->lag_next = (f->lag_next + 1) % FED_LAG_SAMPLES;
		if (f->n_lag < FED_LAG_SAMPLES)
			f->n_lag++;
	}
}

void fed_receive(struct fed *f, const uint8_t *payload, size_t len, uint64_t now_ms,
                 uint64_t wall_ms)
{
	struct fed_msg m;
	struct room *r = f->room;

	f->now_ms = now_ms;
	f->wall_ms = wall_ms;
	f->stats.rx_bytes += len;
	switch (fed_decode(payload, len, r->ep.id.pub, &m)) {
	case FED_OK: break;
	case FED_WRONG_ROOM: f->stats.dropped_wrong_room++; return;
	case FED_BAD_SIG: f->stats.dropped_bad_sig++; return;
	default: f->stats.dropped_garbage++; return;
	}
	if (strcmp(m.site, f->site) == 0)
		return; /* our own, back from the broker */
	peer_seen(f, &m);
	switch (m.kind) {
	case FED_POST: {
		const struct fed_post *p = &m.u.post;
		bool dup = false;
		if (strcmp(p->origin, f->site) == 0)
			return; /* ours, resent by a peer */
		if (room_post_remote(r, p->author, p->sender_ts, p->text, p->text_len, p->origin,
		                     p->seq, p->origin_ts, &dup) != ERR_OK) {
			f->stats.dropped_store++;
			return;
		}
		if (dup)
			f->stats.posts_dup++;
		else
			f->stats.posts_applied++;
		return;
	}
	case FED_MEMBER: on_member(f, &m); return;
	case FED_HELLO: on_hello(f, &m); return;
	case FED_SETTINGS: on_settings(f, &m); return;
	case FED_BAN: {
		int rc = m.u.ban.banned ? store_ban_add(r->store, r->store_id, m.u.ban.pub,
		                                        m.u.ban.when, "federated")
		                        : store_ban_remove(r->store, r->store_id, m.u.ban.pub);
		if (rc != ERR_OK && rc != ERR_NOT_FOUND) {
			f->stats.dropped_store++;
			return;
		}
		f->stats.bans_applied++;
		return;
	}
	case FED_DELETE: {
		int64_t id;
		const char *origin = strcmp(m.u.del.origin, f->site) == 0 ? "" : m.u.del.origin;
		if (store_fed_find(r->store, r->store_id, origin, m.u.del.seq, &id) == ERR_OK &&
		    store_post_delete(r->store, r->store_id, id) == ERR_OK)
			f->stats.deletes_applied++;
		return;
	}
	default: f->stats.dropped_garbage++; return;
	}
}

/* ---- time ---- */

void fed_set_up(struct fed *f, bool up, uint64_t now_ms, uint64_t wall_ms)
{
	f->now_ms = now_ms;
	f->wall_ms = wall_ms;
	if (up == f->up)
		return;
	f->up = up;
	log_info(SUB, "broker %s", up ? "connected" : "lost");
	if (up) {
		struct role_resend c = {f, f->down_rtc};
		send_hello(f, true);
		publish_settings(f); /* retained: also for sites that come later */
		(void)store_setting_list(f->room->store, f->room->store_id, role_resend_cb, &c);
	} else {
		f->down_rtc = room_rtc(f->room);
	}
}

void fed_tick(struct fed *f, uint64_t now_ms, uint64_t wall_ms)
{
	f->now_ms = now_ms;
	f->wall_ms = wall_ms;
	if (!f->up) {
		f->n_out = 0; /* the hello at reconnect sends them */
		return;
	}
	flush_outbox(f);
	if (now_ms >= f->next_hello_ms || (f->hello_due_ms && now_ms >= f->hello_due_ms))
		send_hello(f, false);
}

uint64_t fed_next_deadline(const struct fed *f)
{
	if (!f->up)
		return UINT64_MAX;
	if (f->n_out)
		return f->now_ms;
	if (f->hello_due_ms && f->hello_due_ms < f->next_hello_ms)
		return f->hello_due_ms;
	return f->next_hello_ms;
}

unsigned fed_peers_live(const struct fed *f)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->n_peers; i++)
		n += f->now_ms - f->peers[i].seen_ms <= 3 * FED_HELLO_MS;
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

uint32_t fed_lag_pct(const struct fed *f, unsigned pct)
{
	uint32_t v[FED_LAG_SAMPLES];
	if (!f->n_lag)
		return 0;
	memcpy(v, f->lag, f->n_lag * sizeof(v[0]));
	qsort(v, f->n_lag, sizeof(v[0]), cmp_u32);
	size_t i = ((size_t)f->n_lag * pct + 99) / 100;
	return v[i ? i - 1 : 0];
}

size_t fed_status_json(const struct fed *f, char *out, size_t cap)
{
	long long sync_ago =
	    f->last_sync_ms ? (long long)((f->now_ms - f->last_sync_ms) / 1000) : -1;
	int n = snprintf(
	    out, cap,
	    "{\"site\":\"%s\",\"connected\":%s,\"peers\":%u,\"lag_ms_p50\":%u,"
	    "\"lag_ms_p99\":%u,\"queued\":%u,\"last_sync_s_ago\":%lld,"
	    "\"published\":%u,\"publish_failed\":%u,\"applied\":%u,\"duplicates\":%u,"
	    "\"members_applied\":%u,\"members_removed\":%u,\"resync_sent\":%u,\"dropped_garbage\":%"
	    "u,"
	    "\"dropped_wrong_room\":%u,\"dropped_bad_sig\":%u,\"dropped_store\":%u}",
	    f->site, f->up ? "true" : "false", fed_peers_live(f), fed_lag_pct(f, 50),
	    fed_lag_pct(f, 99), f->queued, sync_ago, f->stats.published, f->stats.publish_failed,
	    f->stats.posts_applied, f->stats.posts_dup, f->stats.members_applied,
	    f->stats.members_removed, f->stats.resync_posts_sent, f->stats.dropped_garbage,
	    f->stats.dropped_wrong_room, f->stats.dropped_bad_sig, f->stats.dropped_store);
	if (n < 0)
		n = 0;
	return (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}
