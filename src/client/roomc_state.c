/*
 * roomc_state.c - what roomc keeps beside the client (see roomc.h): the
 * views of the rooms, the data directory, and roomc_apply(), the state
 * change each event of the client makes.  Nothing here prints.
 */
#include <string.h>

#include "client/roomc.h"
#include "crypto/crypto.h"
#include "sys/sys.h"
#include "util/err.h"
#include "util/log.h"

/* ---- views (per-room display state) ---- */

struct roomc_view *roomc_view_find(struct roomc *a, const uint8_t pub[CRYPTO_PUB_SIZE], bool create)
{
	struct roomc_view *free_v = NULL;
	for (int i = 0; i < ROOMC_VIEWS; i++) {
		if (a->views[i].used && memcmp(a->views[i].pub, pub, CRYPTO_PUB_SIZE) == 0)
			return &a->views[i];
		if (!a->views[i].used && !free_v)
			free_v = &a->views[i];
	}
	if (!create || !free_v)
		return NULL;
	memset(free_v, 0, sizeof(*free_v));
	free_v->used = true;
	memcpy(free_v->pub, pub, CRYPTO_PUB_SIZE);
	return free_v;
}

static void view_add(struct roomc_view *v, const struct cstore_post *p)
{
	v->ring[(v->head + v->n) % ROOMC_VIEW_RING] = *p;
	if (v->n < ROOMC_VIEW_RING)
		v->n++;
	else
		v->head = (v->head + 1) % ROOMC_VIEW_RING;
}

/* The outcome of one of our posts, found by its stamp. */
static void view_ack(struct roomc_view *v, uint32_t ts, bool ok)
{
	for (unsigned i = 0; i < v->n; i++) {
		struct cstore_post *p = roomc_view_at(v, i);
		if (p->self && p->ts == ts) {
			p->is_ack = true; /* reused in the ring as "outcome known" */
			p->ok = ok;
		}
	}
}

struct client_contact *roomc_current_room(struct roomc *a)
{
	return a->has_current ? client_contact_find(a->c, a->current) : NULL;
}

/* ---- persistence ---- */

void roomc_mark_dirty(struct roomc *a)
{
	if (!a->dirty)
		a->save_due = app_now_ms() + ROOMC_SAVE_DELAY;
	a->dirty = true;
}

void roomc_save_now(struct roomc *a)
{
	a->state.stamp = a->c->last_unique;
	if (cstore_contacts_save(&a->store, a->c) != ERR_OK ||
	    cstore_state_save(&a->store, &a->state) != ERR_OK)
		log_warn("roomc", "could not save the data directory %s", a->store.dir);
	a->dirty = false;
}

struct load_ctx {
	struct roomc_view *v;
	uint32_t newest;
};

static void history_cb(void *ctx, const struct cstore_post *p)
{
	struct load_ctx *x = ctx;
	if (p->is_ack) {
		view_ack(x->v, p->ts, p->ok);
		return;
	}
	view_add(x->v, p);
	if (!p->self && p->ts > x->newest)
		x->newest = p->ts;
}

void roomc_load_histories(struct roomc *a)
{
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
		struct client_contact *ct = &a->c->contacts[i];
		if (!ct->used || ct->type != ADV_TYPE_ROOM)
			continue;
		static struct roomc_view scratch; /* more rooms than views: still seeded */
		struct roomc_view *v = roomc_view_find(a, ct->pub, true);
		if (!v) {
			memset(&scratch, 0, sizeof(scratch));
			v = &scratch;
		}
		struct load_ctx x = {v, 0};
		cstore_history_load(&a->store, ct->pub, history_cb, &x);
		if (x.newest > ct->sync_since)
			ct->sync_since = x.newest;
		/* the newest posts of each room (a repeated push is a recent one) */
		for (unsigned k = 0; k < v->n; k++) {
			const struct cstore_post *p = roomc_view_at(v, k);
			if (!p->self)
				client_mark_seen(a->c, ct->pub, p->ts, p->author, p->text,
				                 p->text_len);
		}
		if (!v->n)
			v->used = false;
	}
}

static void history_append(struct roomc *a, const uint8_t room[CRYPTO_PUB_SIZE],
                           const struct cstore_post *p)
{
	if (cstore_history_append(&a->store, room, p) != ERR_OK)
		log_warn("roomc", "history not saved");
}

/* ---- events ---- */

/*
 * A login worked: its password is remembered (with --no-remember, not).  A
 * blank login of a known member works without the password: a real one
 * remembered is kept rather than forgotten.
 */
static void login_ok(struct roomc *a, const struct client_contact *ct)
{
	struct roomc_view *v = roomc_view_find(a, ct->pub, true);
	if (v && v->login_pending && a->remember) {
		char old[CLIENT_PASS_MAX + 1];
		bool found = false;
		cstore_password_get(&a->store, ct->pub, old, &found);
		bool change = v->login_pw[0] ? !found || strcmp(old, v->login_pw) != 0 : !found;
		if (change && cstore_password_set(&a->store, ct->pub, v->login_pw) != ERR_OK)
			log_warn("roomc", "password not remembered");
		crypto_wipe(old, sizeof(old));
	}
	if (v) {
		v->login_pending = false;
		crypto_wipe(v->login_pw, sizeof(v->login_pw));
	}
}

static void login_over(struct roomc *a, const struct client_contact *ct)
{
	struct roomc_view *v = roomc_view_find(a, ct->pub, false);
	if (v) {
		v->login_pending = false;
		crypto_wipe(v->login_pw, sizeof(v->login_pw));
	}
	a->failures++;
}

/* The first attempt of one of our posts: into the history. */
static void post_sent(struct roomc *a, const struct client_event *ev, uint32_t now)
{
	struct cstore_post p = {.self = true, .ts = ev->ts, .at = now};
	struct roomc_view *v;
	memcpy(p.author, a->c->ep.id.pub, 4);
	p.text_len = ev->text_len;
	memcpy(p.text, ev->text, ev->text_len);
	history_append(a, ev->contact->pub, &p);
	if ((v = roomc_view_find(a, ev->contact->pub, true)))
		view_add(v, &p);
}

/* The outcome of one of our posts (an unsent one never was in the history). */
static void post_outcome(struct roomc *a, const struct client_event *ev, uint32_t now)
{
	bool ok = ev->type == CLIENT_EV_DELIVERED;
	struct cstore_post p = {.is_ack = true, .ok = ok, .ts = ev->ts, .at = now};
	struct roomc_view *v;
	if (!ok)
		a->failures++;
	if (ev->unsent)
		return;
	history_append(a, ev->contact->pub, &p);
	if ((v = roomc_view_find(a, ev->contact->pub, false)))
		view_ack(v, ev->ts, ok);
}

/*
 * A post the room pushed: into the history and the view; unread unless it
 * is the current room's (a --json reader gets every post as an event, so
 * nothing is unread there).
 */
static void post_pushed(struct roomc *a, const struct client_event *ev, uint32_t now)
{
	struct cstore_post p = {.ts = ev->ts, .at = now};
	const struct client_contact *ct = ev->contact;

	memcpy(p.author, ev->author, 4);
	p.text_len = ev->text_len < TXT_TEXT_MAX ? ev->text_len : TXT_TEXT_MAX;
	memcpy(p.text, ev->text, p.text_len);
	history_append(a, ct->pub, &p);
	struct roomc_view *v = roomc_view_find(a, ct->pub, true);
	if (!v)
		return;
	view_add(v, &p);
	if (!a->json && !(a->has_current && memcmp(a->current, ct->pub, CRYPTO_PUB_SIZE) == 0))
		v->unread++;
}

void roomc_apply(struct roomc *a, const struct client_event *ev)
{
	uint32_t now = client_rtc(a->c, app_now_ms());

	switch (ev->type) {
	case CLIENT_EV_CONTACT:
	case CLIENT_EV_PATH:
	case CLIENT_EV_SYNC: roomc_mark_dirty(a); break;
	case CLIENT_EV_LOGIN: login_ok(a, ev->contact); break;
	case CLIENT_EV_LOGIN_FAILED:
	case CLIENT_EV_LOGIN_TIMEOUT: login_over(a, ev->contact); break;
	case CLIENT_EV_SEND:
		if (ev->attempt == 0)
			post_sent(a, ev, now);
		break;
	case CLIENT_EV_FAILED:
	case CLIENT_EV_DELIVERED: post_outcome(a, ev, now); break;
	case CLIENT_EV_POST: post_pushed(a, ev, now); break;
	case CLIENT_EV_TIMEOUT: a->failures++; break;
	case CLIENT_EV_CLI_REPLY:
	case CLIENT_EV_STATUS:
	case CLIENT_EV_TELEMETRY:
	case CLIENT_EV_ACL:
	case CLIENT_EV_KEEPALIVE:
	case CLIENT_EV_KEEPALIVE_LOST: break;
	}
}
