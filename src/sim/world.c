/*
 * world.c - the virtual-time world of world.h (PROTOCOL.md §11): nodes
 * running the real mesh, room and client code over the channel model.
 *
 * The loop.  At the current time the channel is advanced (ends of
 * transmissions deliver frames and TxDone, modem timers start
 * transmissions), then every node's timers run (room and client first, as
 * they queue packets, then the mesh, which hands frames to the radio); this
 * repeats while the channel has work due now.  Then time jumps to the
 * earliest deadline of the channel or of any node.  A node deadline that is
 * already due after its tick (e.g. a send waiting for the radio) is retried
 * one millisecond later, so the loop always moves.
 *
 * Nodes are kept in index order and processed in that order, the channel
 * orders its own events: the same seed gives the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/node.h"
#include "proto/advert.h"
#include "proto/kiss.h"
#include "radio/radio.h"
#include "room/cmd.h"
#include "room/settings.h"
#include "sim/topo.h"
#include "sim/world.h"
#include "store/store.h"
#include "util/err.h"

#define START_US   1000000u /* virtual time starts at 1 s: 0 is a sentinel in places */
#define SETTLE_MAX 64       /* channel/node rounds at one instant before time moves on */

struct node {
	struct world *w;
	int idx, radio;
	char name[CHAN_NAME_MAX];
	enum world_kind kind;
	enum world_radio rkind;
	struct rng_seeded seeded;
	struct rng rng;
	struct mesh mesh;
	struct node_link link; /* the mesh wired to the channel's radio (mesh/node.h) */
	struct mesh_ep ep;     /* repeaters: the identity whose hash they forward under */
	struct client *client;
	/* roomd */
	struct store *store;
	char db[256];
	struct room_clock clock;
	struct room *rooms[WORLD_MAX_ROOMS];
	struct ident room_ids[WORLD_MAX_ROOMS];
	uint32_t room_sids[WORLD_MAX_ROOMS];
	int n_rooms;
	bool dead; /* killed (world_roomd_kill) until world_roomd_restart */
	/* posts shown (POST events), as fingerprints, and how many twice */
	uint64_t *shown;
	size_t n_shown, cap_shown;
	unsigned shown_twice;
	/* firmware radios: looking at a busy channel since (Dispatcher's
	 * cad_busy_start), looks again after busy, sent anyway after 4 s */
	bool fw_busy;
	uint64_t fw_busy_since_ms;
	uint32_t fw_retries, fw_blind;
	/* counters */
	uint64_t frames_in, cpu_ns;
};

struct world {
	struct world_cfg cfg;
	struct chan *ch;
	struct rng_seeded chan_seeded, id_seeded;
	struct rng chan_rng, id_rng;
	uint64_t now_us;
	struct node *nodes[WORLD_MAX_NODES];
	int n_nodes;
	struct world_event *ev;
	size_t n_ev, cap_ev;
	void (*hook)(void *ctx, struct world *w, const struct world_event *ev);
	void *hook_ctx;
	void (*tx_hook)(void *ctx, struct world *w, const struct chan_tx_report *rep);
	void *tx_hook_ctx;
};

void world_cfg_defaults(struct world_cfg *cfg)
{
	struct radio_cfg rc = RADIO_CFG_DEFAULT;
	*cfg = (struct world_cfg){
	    .seed = 1,
	    .lp = LORA_PARAMS_DEFAULT,
	    .rtc_start = 1750000000u,
	    .link = CHAN_LINK_DEFAULT,
	    .all_hear_all = true,
	    .record_events = true,
	    .kiss_txdelay_10ms = rc.txdelay_10ms,
	    .kiss_persistence = rc.persistence,
	    .kiss_slottime_10ms = rc.slottime_10ms,
	    .cpu_ns = NULL,
	};
}

/* splitmix64: well-spread, non-zero seeds for the per-node generators */
static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	x ^= x >> 31;
	return x ? x : 1;
}

static uint64_t now_ms(const struct world *w)
{
	return w->now_us / 1000;
}

static struct node *node_get(const struct world *w, int i)
{
	return i >= 0 && i < w->n_nodes ? w->nodes[i] : NULL;
}

/* ---- profiling ---- */

static uint64_t prof_start(const struct node *n)
{
	return n->kind == WORLD_ROOMD && n->w->cfg.cpu_ns ? n->w->cfg.cpu_ns() : 0;
}

static void prof_stop(struct node *n, uint64_t t0)
{
	if (n->kind == WORLD_ROOMD && n->w->cfg.cpu_ns)
		n->cpu_ns += n->w->cfg.cpu_ns() - t0;
}

/* ---- radio glue ---- */

static int node_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct node *n = ctx;
	struct chan *ch = n->w->ch;

	/* The firmware's Dispatcher looks at the channel itself (isReceiving)
	 * and defers; the modem then keys up at once (full duplex, TXDELAY 0
	 * below stands for "no modem in between").  A KISS host just hands the
	 * frame over: the modem listens before talking. */
	if (n->rkind == WORLD_RADIO_FIRMWARE && chan_radio_busy(ch, n->radio)) {
		uint64_t t = now_ms(n->w);
		if (!n->fw_busy) {
			n->fw_busy = true;
			n->fw_busy_since_ms = t;
		}
		/* Dispatcher::checkSend: busy for longer than
		 * getCADFailMaxDuration (4 s), it transmits anyway */
		if (t - n->fw_busy_since_ms <= CHAN_FW_BUSY_MAX_MS) {
			n->fw_retries++;
			return ERR_AGAIN;
		}
		n->fw_blind++;
	}
	n->fw_busy = false;
	return chan_radio_send(ch, n->radio, frame, len);
}

/* A KISS host asks its modem (IsChannelBusy); the answer is the channel's. */
static int node_sense(void *ctx)
{
	struct node *n = ctx;
	return chan_radio_busy(n->w->ch, n->radio) ? 1 : 0;
}

static uint64_t node_now(void *ctx)
{
	struct node *n = ctx;
	return now_ms(n->w);
}

static void node_packet(void *ctx, bool tx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct node *n = ctx;
	(void)frame, (void)len, (void)snr_x4, (void)rssi;
	if (!tx)
		n->frames_in++;
}

/* (Re)starts the node's mesh on its radio. */
static void node_mesh_open(struct node *n, const struct mesh_cfg *mc)
{
	struct node_io io = {.send = node_transmit,
	                     .now = node_now,
	                     .packet = node_packet,
	                     .ctx = n,
	                     .sense = node_sense};
	node_open(&n->link, &n->mesh, mc, &io, &n->rng);
}

static void on_rx(void *ctx, int radio, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct world *w = ctx;
	struct node *n = chan_radio_user(w->ch, radio);
	if (!n || n->dead)
		return;
	uint64_t t0 = prof_start(n);
	node_rx(&n->link, frame, len, snr_x4, rssi);
	prof_stop(n, t0);
}

static void on_tx_done(void *ctx, int radio, bool ok)
{
	struct world *w = ctx;
	struct node *n = chan_radio_user(w->ch, radio);
	if (!n || n->dead)
		return;
	uint64_t t0 = prof_start(n);
	node_tx_done(&n->link, ok);
	prof_stop(n, t0);
}

static void on_tx_report(void *ctx, const struct chan_tx_report *rep)
{
	struct world *w = ctx;
	if (w->tx_hook)
		w->tx_hook(w->tx_hook_ctx, w, rep);
}

static void modem_byte(struct world *w, struct node *n, uint8_t type, int v)
{
	uint8_t b = (uint8_t)v;
	if (v >= 0)
		chan_modem_input(w->ch, n->radio, type, &b, 1);
}

/* Sets the modem up for the node's kind of host (after every modem boot). */
static void modem_setup(struct world *w, struct node *n)
{
	if (n->rkind == WORLD_RADIO_FIRMWARE) {
		modem_byte(w, n, KISS_TXDELAY, 0);
		modem_byte(w, n, KISS_FULLDUPLEX, 1);
	} else {
		modem_byte(w, n, KISS_FULLDUPLEX, 0);
		modem_byte(w, n, KISS_TXDELAY, w->cfg.kiss_txdelay_10ms);
		modem_byte(w, n, KISS_PERSISTENCE, w->cfg.kiss_persistence);
		modem_byte(w, n, KISS_SLOTTIME, w->cfg.kiss_slottime_10ms);
	}
}

/* ---- client events ---- */

/* Counts a post shown a second time: same room, timestamp, author and text. */
static void count_shown(struct node *n, const struct client_event *e)
{
	uint64_t h = 1469598103934665603ULL;
	uint8_t head[8];
	memcpy(head, &e->ts, 4);
	memcpy(head + 4, e->author, 4);
	for (size_t i = 0; i < 8; i++)
		h = (h ^ e->contact->pub[i]) * 1099511628211ULL;
	for (size_t i = 0; i < 8; i++)
		h = (h ^ head[i]) * 1099511628211ULL;
	for (size_t i = 0; i < e->text_len; i++)
		h = (h ^ (uint8_t)e->text[i]) * 1099511628211ULL;
	for (size_t i = 0; i < n->n_shown; i++) {
		if (n->shown[i] == h) {
			n->shown_twice++;
			return;
		}
	}
	if (n->n_shown == n->cap_shown) {
		size_t cap = n->cap_shown ? n->cap_shown * 2 : 64;
		uint64_t *ns = realloc(n->shown, cap * sizeof(*ns));
		if (!ns)
			return;
		n->shown = ns;
		n->cap_shown = cap;
	}
	n->shown[n->n_shown++] = h;
}

static void on_client_event(void *ctx, struct client *c, const struct client_event *e)
{
	struct node *n = ctx;
	struct world *w = n->w;
	struct world_event x;
	(void)c;

	if (e->type == CLIENT_EV_POST)
		count_shown(n, e);
	memset(&x, 0, sizeof(x));
	x.node = n->idx;
	x.t_ms = now_ms(w);
	x.type = e->type;
	memcpy(x.room, e->contact->pub, CRYPTO_PUB_SIZE);
	x.id = e->id;
	x.ts = e->ts;
	x.server_time = e->server_time;
	x.sync_since = e->sync_since;
	x.attempt = e->attempt;
	x.kind = e->kind;
	x.flood = e->flood;
	x.new_contact = e->new_contact;
	x.role = e->role;
	x.perms = e->perms;
	x.code = e->code;
	x.unsynced = e->unsynced;
	memcpy(x.author, e->author, 4);
	if (e->text) {
		size_t l = e->text_len < CLIENT_TEXT_MAX ? e->text_len : CLIENT_TEXT_MAX;
		memcpy(x.text, e->text, l);
	}
	if (w->cfg.record_events) {
		if (w->n_ev == w->cap_ev) {
			size_t cap = w->cap_ev ? w->cap_ev * 2 : 256;
			struct world_event *ne = realloc(w->ev, cap * sizeof(*ne));
			if (ne) {
				w->ev = ne;
				w->cap_ev = cap;
			}
		}
		if (w->n_ev < w->cap_ev)
			w->ev[w->n_ev++] = x;
	}
	if (w->hook)
		w->hook(w->hook_ctx, w, &x);
}

/* ---- life cycle ---- */

struct world *world_new(const struct world_cfg *cfg)
{
	struct world *w = calloc(1, sizeof(*w));
	struct chan_config cc;

	if (!w)
		return NULL;
	w->cfg = *cfg;
	rng_seeded_init(&w->chan_seeded, &w->chan_rng, mix(cfg->seed ^ 0x636861ULL));
	rng_seeded_init(&w->id_seeded, &w->id_rng, mix(cfg->seed ^ 0x6964ULL));
	chan_config_default(&cc);
	cc.preset = cfg->lp;
	cc.default_link = cfg->link;
	cc.max_radios = WORLD_MAX_NODES;
	cc.device_name = "world";
	struct chan_ops ops = {
	    .rx = on_rx, .tx_done = on_tx_done, .tx_report = on_tx_report, .ctx = w};
	w->now_us = START_US;
	w->ch = chan_new(&cc, &ops, &w->chan_rng, w->now_us);
	if (!w->ch) {
		free(w);
		return NULL;
	}
	return w;
}

static void roomd_close(struct node *n)
{
	for (int i = 0; i < n->n_rooms; i++) {
		if (n->rooms[i] && n->rooms[i]->mesh)
			room_close(n->rooms[i]);
	}
	store_close(n->store);
	n->store = NULL;
}

void world_free(struct world *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n_nodes; i++) {
		struct node *n = w->nodes[i];
		if (n->kind == WORLD_ROOMD) {
			roomd_close(n);
			for (int r = 0; r < n->n_rooms; r++) {
				ident_wipe(&n->room_ids[r]);
				free(n->rooms[r]);
			}
		}
		if (n->client) {
			client_cleanup(n->client);
			free(n->client);
		}
		free(n->shown);
		ident_wipe(&n->ep.id);
		free(n);
	}
	chan_free(w->ch);
	free(w->ev);
	free(w);
}

static void random_ident(struct world *w, struct ident *id)
{
	uint8_t seed[CRYPTO_SEED_SIZE];
	rng_fill(&w->id_rng, seed, sizeof(seed));
	ident_from_seed(id, seed);
	crypto_wipe(seed, sizeof(seed));
}

static struct node *node_new(struct world *w, const char *name, enum world_kind kind, int *rc)
{
	struct node *n;
	struct mesh_cfg mc;

	if (w->n_nodes >= WORLD_MAX_NODES) {
		*rc = ERR_FULL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		*rc = ERR_NOMEM;
		return NULL;
	}
	int id = chan_radio_add(w->ch, name, w->cfg.all_hear_all, n);
	if (id < 0) {
		free(n);
		*rc = id;
		return NULL;
	}
	n->w = w;
	n->idx = w->n_nodes;
	n->radio = id;
	n->kind = kind;
	n->rkind = kind == WORLD_ROOMD ? WORLD_RADIO_KISS : WORLD_RADIO_FIRMWARE;
	snprintf(n->name, sizeof(n->name), "%s", name);
	rng_seeded_init(&n->seeded, &n->rng, mix(w->cfg.seed * 1000003ULL + (uint64_t)n->idx));
	mesh_cfg_defaults(&mc);
	mc.lp = w->cfg.lp;
	mc.repeat = kind == WORLD_REPEATER;
	node_mesh_open(n, &mc);
	modem_setup(w, n);
	w->nodes[w->n_nodes++] = n;
	*rc = ERR_OK;
	return n;
}

int world_add_roomd(struct world *w, const char *name, const char *db_path)
{
	int rc;
	struct node *n = node_new(w, name, WORLD_ROOMD, &rc);
	if (!n)
		return rc;
	snprintf(n->db, sizeof(n->db), "%s", db_path ? db_path : ":memory:");
	n->clock.offset_ms = (int64_t)w->cfg.rtc_start * 1000;
	rc = store_open(&n->store, n->db);
	if (rc) {
		/* keep the node (its radio exists) but without a store no room opens */
		return rc;
	}
	return n->idx;
}

int world_add_room(struct world *w, int node, const char *name, const struct room_settings *set)
{
	struct node *n = node_get(w, node);
	struct room tmp;
	int i, rc;

	if (!n || n->kind != WORLD_ROOMD || !n->store || !name)
		return ERR_INVAL;
	if (n->n_rooms >= WORLD_MAX_ROOMS)
		return ERR_FULL;
	i = n->n_rooms;
	random_ident(w, &n->room_ids[i]);
	rc = store_room_add(n->store, name, n->room_ids[i].pub, &n->room_sids[i]);
	if (rc)
		return rc;
	/* the settings go to the store first: room_open loads them from there */
	memset(&tmp, 0, sizeof(tmp));
	tmp.store = n->store;
	tmp.store_id = n->room_sids[i];
	if (set) {
		tmp.set = *set;
	} else {
		room_settings_defaults(&tmp.set);
		snprintf(tmp.set.name, sizeof(tmp.set.name), "%s", name);
	}
	rc = room_save_settings(&tmp);
	if (rc)
		return rc;
	n->rooms[i] = calloc(1, sizeof(struct room));
	if (!n->rooms[i])
		return ERR_NOMEM;
	rc = room_open(n->rooms[i], &n->mesh, n->store, n->room_sids[i], &n->room_ids[i], &n->clock,
	               now_ms(w));
	if (rc) {
		free(n->rooms[i]);
		n->rooms[i] = NULL;
		return rc;
	}
	n->n_rooms++;
	return i;
}

int world_add_client(struct world *w, const char *name, const struct client_cfg *cfg)
{
	int rc;
	struct client_cfg cc;
	struct ident id;
	struct node *n = node_new(w, name, WORLD_CLIENT, &rc);
	if (!n)
		return rc;
	if (cfg) {
		cc = *cfg;
	} else {
		client_cfg_defaults(&cc);
		snprintf(cc.name, sizeof(cc.name), "%s", name);
	}
	n->client = calloc(1, sizeof(*n->client));
	if (!n->client)
		return ERR_NOMEM;
	random_ident(w, &id);
	rc = client_init(n->client, &n->mesh, &id, &cc, on_client_event, n, now_ms(w));
	ident_wipe(&id);
	if (rc)
		return rc;
	client_set_rtc(n->client, now_ms(w), w->cfg.rtc_start + (uint32_t)(now_ms(w) / 1000));
	return n->idx;
}

/* A repeater answers nothing: an endpoint without upcalls gives it the
 * identity whose hash it puts into flood paths (§6.2). */
static const struct mesh_ep_ops repeater_ops = {0};

int world_add_repeater(struct world *w, const char *name)
{
	int rc;
	struct node *n = node_new(w, name, WORLD_REPEATER, &rc);
	if (!n)
		return rc;
	random_ident(w, &n->ep.id);
	n->ep.ops = &repeater_ops;
	n->ep.ctx = n;
	rc = mesh_add_ep(&n->mesh, &n->ep);
	return rc ? rc : n->idx;
}

/* ---- accessors ---- */

int world_node_count(const struct world *w)
{
	return w->n_nodes;
}

int world_node_find(const struct world *w, const char *name)
{
	for (int i = 0; i < w->n_nodes; i++)
		if (strcmp(w->nodes[i]->name, name) == 0)
			return i;
	return ERR_NOT_FOUND;
}

enum world_kind world_node_kind(const struct world *w, int node)
{
	const struct node *n = node_get(w, node);
	return n ? n->kind : WORLD_REPEATER;
}

struct mesh *world_mesh(struct world *w, int node)
{
	struct node *n = node_get(w, node);
	return n ? &n->mesh : NULL;
}

struct client *world_client(struct world *w, int node)
{
	struct node *n = node_get(w, node);
	return n ? n->client : NULL;
}

struct room *world_room(struct world *w, int node, int i)
{
	struct node *n = node_get(w, node);
	if (!n || n->kind != WORLD_ROOMD || i < 0 || i >= n->n_rooms)
		return NULL;
	return n->rooms[i];
}

const uint8_t *world_room_pub(struct world *w, int node, int i)
{
	struct node *n = node_get(w, node);
	if (!n || n->kind != WORLD_ROOMD || i < 0 || i >= n->n_rooms)
		return NULL;
	return n->room_ids[i].pub;
}

const uint8_t *world_node_pub(struct world *w, int node)
{
	struct node *n = node_get(w, node);
	if (!n)
		return NULL;
	if (n->client)
		return n->client->ep.id.pub;
	if (n->kind == WORLD_REPEATER)
		return n->ep.id.pub;
	return n->n_rooms ? n->room_ids[0].pub : NULL;
}

int world_radio_id(const struct world *w, int node)
{
	const struct node *n = node_get(w, node);
	return n ? n->radio : ERR_NOT_FOUND;
}

struct chan *world_chan(struct world *w)
{
	return w->ch;
}

struct store *world_store(struct world *w, int node)
{
	struct node *n = node_get(w, node);
	return n ? n->store : NULL;
}

int world_node_set_radio(struct world *w, int node, enum world_radio kind)
{
	struct node *n = node_get(w, node);
	if (!n)
		return ERR_INVAL;
	n->rkind = kind;
	modem_setup(w, n);
	return ERR_OK;
}

/* ---- radio and links ---- */

int world_node_set_up(struct world *w, int node, bool up)
{
	struct node *n = node_get(w, node);
	return n ? chan_radio_set_up(w->ch, n->radio, up) : ERR_INVAL;
}

int world_link(struct world *w, int a, int b, bool on)
{
	struct node *na = node_get(w, a), *nb = node_get(w, b);
	int rc;
	if (!na || !nb || a == b)
		return ERR_INVAL;
	if (on) {
		rc = chan_link_set(w->ch, na->radio, nb->radio, &w->cfg.link);
		if (!rc)
			rc = chan_link_set(w->ch, nb->radio, na->radio, &w->cfg.link);
	} else {
		rc = chan_link_clear(w->ch, na->radio, nb->radio);
		if (!rc)
			rc = chan_link_clear(w->ch, nb->radio, na->radio);
	}
	return rc;
}

void world_unlink_all(struct world *w)
{
	for (int a = 0; a < w->n_nodes; a++)
		for (int b = 0; b < w->n_nodes; b++)
			if (a != b)
				chan_link_clear(w->ch, w->nodes[a]->radio, w->nodes[b]->radio);
}

static int link_named(struct world *w, const struct topo *t, const struct topo_link *l)
{
	int a = world_node_find(w, l->a), b = world_node_find(w, l->b);
	struct chan_link p = topo_link_params(t, l);
	int rc;

	if (a < 0 || b < 0)
		return ERR_NOT_FOUND;
	int ra = w->nodes[a]->radio, rb = w->nodes[b]->radio;
	rc = chan_link_set(w->ch, ra, rb, &p);
	if (!rc && l->down)
		rc = chan_link_set_up(w->ch, ra, rb, false);
	if (!rc && l->both) {
		rc = chan_link_set(w->ch, rb, ra, &p);
		if (!rc && l->down)
			rc = chan_link_set_up(w->ch, rb, ra, false);
	}
	return rc;
}

int world_topo_apply(struct world *w, const char *text, size_t len, int *err_line, char *err,
                     size_t err_cap)
{
	struct topo t;
	int rc = topo_parse(&t, text, len, err_line, err, err_cap);
	if (rc)
		goto out;
	for (size_t i = 0; i < t.n_radios; i++) {
		int n = world_node_find(w, t.radios[i].name);
		if (n < 0) {
			rc = ERR_NOT_FOUND;
			goto out;
		}
		if (t.radios[i].down)
			world_node_set_up(w, n, false);
	}
	world_unlink_all(w);
	if (t.mode == TOPO_MODE_FULL) {
		for (int a = 0; a < w->n_nodes; a++)
			for (int b = 0; b < w->n_nodes; b++)
				if (a != b)
					chan_link_set(w->ch, w->nodes[a]->radio, w->nodes[b]->radio,
					              &t.def);
	}
	for (size_t i = 0; i < t.n_links && !rc; i++)
		rc = link_named(w, &t, &t.links[i]);
out:
	topo_free(&t);
	return rc;
}

/* ---- rooms ---- */

int world_room_cmd(struct world *w, int node, int i, const char *line, char *reply, size_t cap)
{
	char buf[ROOM_REPLY_MAX];
	struct room *r = world_room(w, node, i);
	if (!r)
		return ERR_INVAL;
	if (!reply) {
		reply = buf;
		cap = sizeof(buf);
	}
	reply[0] = 0;
	return room_cmd(r, line, 0, CMD_SERIAL, reply, cap);
}

int world_room_advert(struct world *w, int node, int i, bool flood)
{
	struct room *r = world_room(w, node, i);
	return r ? room_advert(r, flood) : ERR_INVAL;
}

int world_client_add_room(struct world *w, int client, int roomd, int i)
{
	struct client *c = world_client(w, client);
	struct room *r = world_room(w, roomd, i);
	struct client_contact *ct = NULL;
	if (!c || !r)
		return ERR_INVAL;
	int rc = client_contact_add(c, world_room_pub(w, roomd, i), &ct);
	if (rc)
		return rc;
	ct->type = ADV_TYPE_ROOM;
	snprintf(ct->name, sizeof(ct->name), "%s", r->set.name);
	return ERR_OK;
}

int world_roomd_restart(struct world *w, int node)
{
	struct node *n = node_get(w, node);
	int rc = ERR_OK;
	if (!n || n->kind != WORLD_ROOMD)
		return ERR_INVAL;
	if (!n->dead)
		roomd_close(n);
	n->dead = false;
	/* a new process: fresh mesh state and a rebooted modem */
	struct mesh_cfg mc = n->mesh.cfg;
	node_mesh_open(n, &mc);
	chan_radio_attach(w->ch, n->radio, false);
	chan_radio_attach(w->ch, n->radio, true);
	modem_setup(w, n);
	rc = store_open(&n->store, n->db);
	if (rc)
		return rc;
	for (int i = 0; i < n->n_rooms; i++) {
		int r = room_open(n->rooms[i], &n->mesh, n->store, n->room_sids[i], &n->room_ids[i],
		                  &n->clock, now_ms(w));
		if (r && !rc)
			rc = r;
	}
	return rc;
}

int world_roomd_kill(struct world *w, int node)
{
	struct node *n = node_get(w, node);
	if (!n || n->kind != WORLD_ROOMD || n->dead)
		return ERR_INVAL;
	for (int i = 0; i < n->n_rooms; i++)
		if (n->rooms[i] && n->rooms[i]->mesh)
			room_abandon(n->rooms[i]);
	/* what was committed is on disk; nothing else is written */
	store_close(n->store);
	n->store = NULL;
	chan_radio_attach(w->ch, n->radio, false);
	n->dead = true;
	return ERR_OK;
}

unsigned world_posts_shown_twice(const struct world *w, int node)
{
	const struct node *n = node_get(w, node);
	return n ? n->shown_twice : 0;
}

/* ---- the loop ---- */

static uint64_t node_deadline(const struct node *n)
{
	if (n->dead)
		return UINT64_MAX;
	uint64_t d = mesh_next_deadline(&n->mesh);
	for (int i = 0; i < n->n_rooms; i++) {
		if (!n->rooms[i]->mesh)
			continue;
		uint64_t t = room_next_deadline(n->rooms[i]);
		if (t < d)
			d = t;
	}
	if (n->client) {
		uint64_t t = client_next_deadline(n->client);
		if (t < d)
			d = t;
	}
	return d;
}

static void tick_nodes(struct world *w)
{
	uint64_t t = now_ms(w);
	for (int i = 0; i < w->n_nodes; i++) {
		struct node *n = w->nodes[i];
		if (n->dead || node_deadline(n) > t)
			continue;
		uint64_t t0 = prof_start(n);
		/* the mesh's clock first, as roomd and roomc do: a send the room or
		 * client makes now with a delay is due `delay` after now, not after
		 * the mesh's last event */
		mesh_tick(&n->mesh, t);
		for (int r = 0; r < n->n_rooms; r++)
			if (n->rooms[r]->mesh)
				room_tick(n->rooms[r], t);
		if (n->client)
			client_tick(n->client, t);
		mesh_tick(&n->mesh, t);
		prof_stop(n, t0);
	}
}

/* Everything due at the current instant. */
static void settle(struct world *w)
{
	for (int guard = 0; guard < SETTLE_MAX; guard++) {
		chan_advance(w->ch, w->now_us);
		tick_nodes(w);
		if (chan_next_deadline(w->ch) > w->now_us)
			break;
	}
}

static uint64_t next_event_us(const struct world *w)
{
	uint64_t best = chan_next_deadline(w->ch);
	uint64_t t = now_ms(w);
	for (int i = 0; i < w->n_nodes; i++) {
		uint64_t d = node_deadline(w->nodes[i]);
		if (d == UINT64_MAX)
			continue;
		if (d <= t)
			d = t + 1; /* due but blocked (radio busy): look again shortly */
		if (d * 1000 < best)
			best = d * 1000;
	}
	if (best <= w->now_us)
		best = w->now_us + 1;
	return best;
}

static bool run(struct world *w, uint64_t until_us, bool (*pred)(struct world *, void *), void *ctx)
{
	settle(w);
	if (pred && pred(w, ctx))
		return true;
	for (;;) {
		uint64_t next = next_event_us(w);
		if (next > until_us)
			break;
		w->now_us = next;
		settle(w);
		if (pred && pred(w, ctx))
			return true;
	}
	if (until_us > w->now_us) {
		w->now_us = until_us;
		settle(w);
	}
	return pred ? pred(w, ctx) : false;
}

uint64_t world_now_ms(const struct world *w)
{
	return now_ms(w);
}

void world_run_until(struct world *w, uint64_t t_ms)
{
	run(w, t_ms * 1000, NULL, NULL);
}

void world_run_for(struct world *w, uint64_t ms)
{
	run(w, w->now_us + ms * 1000, NULL, NULL);
}

bool world_run_until_pred(struct world *w, bool (*pred)(struct world *w, void *ctx), void *ctx,
                          uint64_t max_ms)
{
	return run(w, w->now_us + max_ms * 1000, pred, ctx);
}

/* ---- events and counters ---- */

const struct world_event *world_events(const struct world *w, size_t *n)
{
	*n = w->n_ev;
	return w->ev;
}

void world_events_clear(struct world *w)
{
	w->n_ev = 0;
}

static bool ev_match(const struct world_event *e, int node, enum client_event_type type,
                     const uint8_t *room)
{
	return e->node == node && e->type == type &&
	       (!room || memcmp(e->room, room, CRYPTO_PUB_SIZE) == 0);
}

size_t world_event_count(const struct world *w, int node, enum client_event_type type,
                         const uint8_t *room)
{
	size_t k = 0;
	for (size_t i = 0; i < w->n_ev; i++)
		k += ev_match(&w->ev[i], node, type, room);
	return k;
}

const struct world_event *world_event_last(const struct world *w, int node,
                                           enum client_event_type type, const uint8_t *room)
{
	for (size_t i = w->n_ev; i-- > 0;)
		if (ev_match(&w->ev[i], node, type, room))
			return &w->ev[i];
	return NULL;
}

void world_set_event_hook(struct world *w,
                          void (*fn)(void *ctx, struct world *w, const struct world_event *ev),
                          void *ctx)
{
	w->hook = fn;
	w->hook_ctx = ctx;
}

void world_set_tx_hook(struct world *w,
                       void (*fn)(void *ctx, struct world *w, const struct chan_tx_report *rep),
                       void *ctx)
{
	w->tx_hook = fn;
	w->tx_hook_ctx = ctx;
}

int world_node_stats(const struct world *w, int node, struct world_node_stats *out)
{
	const struct node *n = node_get(w, node);
	if (!n)
		return ERR_INVAL;
	memset(out, 0, sizeof(*out));
	chan_radio_stats(w->ch, n->radio, &out->radio);
	out->radio.fw_retries += n->fw_retries;
	out->radio.busy_timeouts += n->fw_blind;
	out->mesh = n->mesh.stats;
	out->frames_in = n->frames_in;
	out->cpu_ns = n->cpu_ns;
	return ERR_OK;
}

void world_chan_stats(const struct world *w, struct chan_stats *out)
{
	chan_stats(w->ch, out);
}

void world_stats_reset(struct world *w)
{
	chan_stats_reset(w->ch);
	for (int i = 0; i < w->n_nodes; i++) {
		w->nodes[i]->frames_in = 0;
		w->nodes[i]->cpu_ns = 0;
		w->nodes[i]->fw_retries = w->nodes[i]->fw_blind = 0;
		memset(&w->nodes[i]->mesh.stats, 0, sizeof(w->nodes[i]->mesh.stats));
	}
}
