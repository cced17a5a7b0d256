/*
 * channel.c - the simulated LoRa channel and its KISS modems (PROTOCOL.md
 * §6.9, §10.2, §11); the contract is in channel.h.
 *
 * Layout: one array of radios (each with its modem), one pool of
 * transmissions on the air ("airs", at most one per radio, so the pool has
 * as many slots as there are radio ids), and a link matrix indexed
 * [from][to].  Each air carries, per radio id, the reception state at that
 * radio, so a collision check or a delivery is a walk over small arrays and
 * nothing is allocated after chan_new.
 *
 * Events are tx ends and modem timers.  Ordering at equal times: ends before
 * timers, lower index first, so runs with the same seed repeat exactly.  A
 * modem never starts a transmission from chan_modem_input: it only arms a
 * timer, and chan_advance acts on it; callbacks therefore never see the
 * channel change under them.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/kiss.h"
#include "sim/channel.h"
#include "util/buf.h"
#include "util/err.h"

/* Reception state of one air at one radio. */
enum rs {
	RS_NONE = 0, /* not a receiver (no link in range, other settings, itself) */
	RS_DOWN,     /* would be a receiver, but something is down */
	RS_RX,       /* receiving */
	RS_COLLIDED, /* receiving, but another frame overlapped */
	RS_DEAF,     /* the radio transmitted during this frame */
};

struct link {
	struct chan_link p;
	uint64_t loss_threshold; /* a 32-bit draw below this is a loss */
	bool in_range, up;
};

struct modem {
	uint8_t txdelay, persistence, slottime, txtail, fullduplex;
	bool signal_report;
	uint32_t cfg_freq, cfg_bw; /* last SetRadio, as given (GetRadio) */
	uint8_t cfg_sf, cfg_cr, tx_power;
	enum chan_tx_state state;
	uint64_t timer;      /* the firmware's _tx_timer */
	uint64_t busy_since; /* firmware profile: cad_busy_start, CHAN_NEVER if clear */
	uint64_t deadline;   /* next time this modem has work, CHAN_NEVER if none */
	bool has_pending;
	size_t pending_len;
	uint8_t pending[CHAN_MAX_FRAME];
	uint32_t rx, tx, rx_err; /* GetStats */
};

struct radio {
	bool used, attached, up;
	enum chan_csma csma;
	char name[CHAN_NAME_MAX];
	void *user;
	struct lora_params params; /* effective */
	int on_air;                /* index of its air, -1 if none */
	struct modem m;
	struct chan_radio_stats st;
};

struct air {
	bool active;
	bool notify; /* the sender still expects TxDone */
	int sender;
	char sender_name[CHAN_NAME_MAX];
	uint64_t start, end, detect;
	struct lora_params params;
	size_t len;
	uint8_t frame[CHAN_MAX_FRAME];
	uint8_t *rs;   /* [cap] enum rs */
	int16_t *rssi; /* [cap] */
	int16_t *snr;  /* [cap] */
};

struct chan {
	struct chan_config cfg;
	struct chan_ops ops;
	const struct rng *rng;
	uint64_t now;
	unsigned cap;
	bool in_advance;
	struct radio *radios;
	struct air *airs;
	struct link *links;         /* [from * cap + to] */
	struct chan_rx_report *rep; /* scratch for one tx report */
	struct chan_stats st;
	uint8_t deliver[CHAN_MAX_FRAME];
};

void chan_config_default(struct chan_config *cfg)
{
	*cfg = (struct chan_config){
	    .preset = LORA_PARAMS_DEFAULT,
	    .default_link = CHAN_LINK_DEFAULT,
	    .capture_db = 6.0,
	    .detect_symbols = 4,
	    .noise_floor = -120,
	    .max_radios = 64,
	    .device_name = "meshair",
	    .csma = CHAN_CSMA_MODEM,
	};
}

const char *chan_csma_name(enum chan_csma c)
{
	static const char *names[CHAN_CSMA_COUNT] = {"modem", "host", "firmware"};
	return (unsigned)c < CHAN_CSMA_COUNT ? names[c] : "?";
}

int chan_csma_parse(const char *s)
{
	for (int i = 0; i < CHAN_CSMA_COUNT; i++)
		if (s && strcmp(s, chan_csma_name((enum chan_csma)i)) == 0)
			return i;
	return -1;
}

const char *chan_outcome_name(enum chan_outcome o)
{
	static const char *names[CHAN_OUTCOMES] = {"delivered", "collided", "lost", "deaf", "down"};
	return (unsigned)o < CHAN_OUTCOMES ? names[o] : "?";
}

const char *chan_tx_state_name(enum chan_tx_state s)
{
	static const char *names[] = {"idle", "wait_clear", "slot_wait", "txdelay", "sending"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* ---- small helpers ---------------------------------------------------- */

static struct radio *radio_get(const struct chan *ch, int id)
{
	if (id < 0 || (unsigned)id >= ch->cap || !ch->radios[id].used)
		return NULL;
	return &ch->radios[id];
}

static struct link *link_at(const struct chan *ch, int from, int to)
{
	return &ch->links[(size_t)from * ch->cap + (size_t)to];
}

static bool params_eq(const struct lora_params *a, const struct lora_params *b)
{
	return a->freq_hz == b->freq_hz && a->bw_hz == b->bw_hz && a->sf == b->sf && a->cr == b->cr;
}

static bool params_valid(const struct lora_params *p)
{
	return p->freq_hz > 0 && p->bw_hz > 0 && p->sf >= 5 && p->sf <= 12 && p->cr >= 5 &&
	       p->cr <= 8;
}

static int8_t clamp_i8(int v)
{
	return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

static uint64_t symbol_us(const struct lora_params *p)
{
	return p->bw_hz ? ((uint64_t)1000000u << p->sf) / p->bw_hz : 0;
}

/* The modem's busy timeout: 1.5 x getEstAirtimeFor(255), in whole ms. */
static uint64_t busy_timeout_us(const struct radio *r)
{
	return (uint64_t)lora_airtime_ms(&r->params, CHAN_MAX_FRAME) * 1500u;
}

static bool audible_now(const struct chan *ch, int from, int to)
{
	const struct radio *s = &ch->radios[from], *r = &ch->radios[to];
	const struct link *l = link_at(ch, from, to);
	return s->used && s->attached && s->up && r->used && r->attached && r->up && l->in_range &&
	       l->up;
}

/* The modems in WAIT_CLEAR look at the channel again (it may be clear now). */
static void wake_waiters(struct chan *ch)
{
	for (unsigned i = 0; i < ch->cap; i++) {
		struct radio *r = &ch->radios[i];
		if (r->used && r->attached && r->m.state == CHAN_TX_WAIT_CLEAR)
			r->m.deadline = ch->now;
	}
}

static void emit(struct chan *ch, int id, uint8_t type, const uint8_t *data, size_t len)
{
	if (ch->ops.host_frame)
		ch->ops.host_frame(ch->ops.ctx, id, type, data, len);
}

static void emit_hw(struct chan *ch, int id, uint8_t sub, const uint8_t *data, size_t len)
{
	uint8_t buf[1 + 16];

	if (len > sizeof(buf) - 1)
		return;
	buf[0] = sub;
	if (len)
		memcpy(buf + 1, data, len);
	emit(ch, id, KISS_SETHARDWARE, buf, len + 1);
}

static void emit_err(struct chan *ch, int id, uint8_t code)
{
	emit_hw(ch, id, KISS_HW_ERROR, &code, 1);
}

/* The CSMA parameters a modem of r's profile boots with. */
static void modem_csma_defaults(struct radio *r)
{
	bool kiss_modem = r->csma == CHAN_CSMA_MODEM;
	r->m.txdelay = kiss_modem ? CHAN_TXDELAY_DEFAULT : 0;
	r->m.persistence = kiss_modem ? CHAN_PERSISTENCE_DEFAULT : 255;
	r->m.slottime = kiss_modem ? CHAN_SLOTTIME_DEFAULT : 0;
}

static void modem_boot(struct chan *ch, struct radio *r)
{
	r->m = (struct modem){
	    .signal_report = true,
	    .state = CHAN_TX_IDLE,
	    .deadline = CHAN_NEVER,
	    .busy_since = CHAN_NEVER,
	};
	modem_csma_defaults(r);
	r->params = ch->cfg.preset;
	r->params.preamble = 0;
	if (r->on_air >= 0)
		ch->airs[r->on_air].notify = false;
}

/* ---- life cycle --------------------------------------------------------- */

struct chan *chan_new(const struct chan_config *cfg, const struct chan_ops *ops,
                      const struct rng *rng, uint64_t now_us)
{
	struct chan *ch;
	unsigned cap = cfg->max_radios;

	if (cap == 0 || cap > 4096 || !rng || (unsigned)cfg->csma >= CHAN_CSMA_COUNT)
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->cfg = *cfg;
	if (!ch->cfg.device_name)
		ch->cfg.device_name = "meshair";
	if (ops)
		ch->ops = *ops;
	ch->rng = rng;
	ch->now = now_us;
	ch->cap = cap;
	ch->radios = calloc(cap, sizeof(*ch->radios));
	ch->airs = calloc(cap, sizeof(*ch->airs));
	ch->links = calloc((size_t)cap * cap, sizeof(*ch->links));
	ch->rep = calloc(cap, sizeof(*ch->rep));
	if (!ch->radios || !ch->airs || !ch->links || !ch->rep)
		goto fail;
	for (unsigned i = 0; i < cap; i++) {
		struct air *a = &ch->airs[i];
		a->rs = calloc(cap, 1);
		a->rssi = calloc(cap, sizeof(*a->rssi));
		a->snr = calloc(cap, sizeof(*a->snr));
		if (!a->rs || !a->rssi || !a->snr)
			goto fail;
		ch->radios[i].on_air = -1;
	}
	return ch;
fail:
	chan_free(ch);
	return NULL;
}

void chan_free(struct chan *ch)
{
	if (!ch)
		return;
	if (ch->airs) {
		for (unsigned i = 0; i < ch->cap; i++) {
			free(ch->airs[i].rs);
			free(ch->airs[i].rssi);
			free(ch->airs[i].snr);
		}
	}
	free(ch->airs);
	free(ch->radios);
	free(ch->links);
	free(ch->rep);
	free(ch);
}

/* ---- radios and links --------------------------------------------------- */

static bool name_ok(const char *name)
{
	size_t n = name ? strnlen(name, CHAN_NAME_MAX) : 0;

	if (n == 0 || n >= CHAN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

static void link_fill(struct link *l, const struct chan_link *p)
{
	double loss = p->loss < 0 ? 0 : p->loss > 1 ? 1 : p->loss;

	l->p = *p;
	l->p.loss = loss;
	l->loss_threshold = (uint64_t)(loss * 4294967296.0);
	l->in_range = true;
	l->up = true;
}

int chan_radio_add(struct chan *ch, const char *name, bool link_all, void *user)
{
	int id = -1;

	if (!name_ok(name) || chan_radio_find(ch, name) >= 0)
		return ERR_INVAL;
	/* A removed radio's id is reused only once its last frame left the air. */
	for (unsigned i = 0; i < ch->cap; i++) {
		if (!ch->radios[i].used && ch->radios[i].on_air < 0) {
			id = (int)i;
			break;
		}
	}
	if (id < 0)
		return ERR_FULL;
	struct radio *r = &ch->radios[id];
	*r = (struct radio){.used = true,
	                    .attached = true,
	                    .up = true,
	                    .csma = ch->cfg.csma,
	                    .user = user,
	                    .on_air = -1};
	memcpy(r->name, name, strlen(name) + 1);
	modem_boot(ch, r);
	for (unsigned i = 0; i < ch->cap; i++) {
		*link_at(ch, id, (int)i) = (struct link){0};
		*link_at(ch, (int)i, id) = (struct link){0};
		/* frames already on the air were not meant for the newcomer */
		if (ch->airs[i].active)
			ch->airs[i].rs[id] = RS_NONE;
		if (link_all && i != (unsigned)id && ch->radios[i].used) {
			link_fill(link_at(ch, id, (int)i), &ch->cfg.default_link);
			link_fill(link_at(ch, (int)i, id), &ch->cfg.default_link);
		}
	}
	return id;
}

void chan_radio_remove(struct chan *ch, int id)
{
	struct radio *r = radio_get(ch, id);

	if (!r)
		return;
	if (r->on_air >= 0)
		ch->airs[r->on_air].notify = false;
	r->used = false;
	r->attached = false;
	r->name[0] = 0;
	r->user = NULL;
	r->m.state = CHAN_TX_IDLE;
	r->m.deadline = CHAN_NEVER;
	r->m.has_pending = false;
	/* gone, not down: it leaves the receiver lists of frames on the air */
	for (unsigned i = 0; i < ch->cap; i++)
		if (ch->airs[i].active)
			ch->airs[i].rs[id] = RS_NONE;
	wake_waiters(ch);
}

int chan_radio_find(const struct chan *ch, const char *name)
{
	if (!name)
		return ERR_NOT_FOUND;
	for (unsigned i = 0; i < ch->cap; i++)
		if (ch->radios[i].used && strcmp(ch->radios[i].name, name) == 0)
			return (int)i;
	return ERR_NOT_FOUND;
}

unsigned chan_radio_cap(const struct chan *ch)
{
	return ch->cap;
}

bool chan_radio_exists(const struct chan *ch, int id)
{
	return radio_get(ch, id) != NULL;
}

const char *chan_radio_name(const struct chan *ch, int id)
{
	const struct radio *r = radio_get(ch, id);
	return r ? r->name : NULL;
}

void *chan_radio_user(const struct chan *ch, int id)
{
	const struct radio *r = radio_get(ch, id);
	return r ? r->user : NULL;
}

int chan_radio_info(const struct chan *ch, int id, struct chan_radio_info *out)
{
	const struct radio *r = radio_get(ch, id);

	if (!r)
		return ERR_NOT_FOUND;
	*out = (struct chan_radio_info){
	    .name = r->name,
	    .attached = r->attached,
	    .up = r->up,
	    .busy = chan_radio_busy(ch, id),
	    .on_air = r->on_air >= 0,
	    .state = r->m.state,
	    .params = r->params,
	    .txdelay = r->m.txdelay,
	    .persistence = r->m.persistence,
	    .slottime = r->m.slottime,
	    .fullduplex = r->m.fullduplex,
	    .tx_power = r->m.tx_power,
	    .signal_report = r->m.signal_report,
	    .csma = r->csma,
	};
	return ERR_OK;
}

int chan_radio_set_csma(struct chan *ch, int id, enum chan_csma c)
{
	struct radio *r = radio_get(ch, id);

	if (!r)
		return ERR_NOT_FOUND;
	if ((unsigned)c >= CHAN_CSMA_COUNT)
		return ERR_INVAL;
	r->csma = c;
	modem_csma_defaults(r);
	return ERR_OK;
}

int chan_radio_attach(struct chan *ch, int id, bool attached)
{
	struct radio *r = radio_get(ch, id);

	if (!r)
		return ERR_NOT_FOUND;
	if (r->attached == attached)
		return ERR_OK;
	r->attached = attached;
	modem_boot(ch, r);
	wake_waiters(ch);
	return ERR_OK;
}

int chan_radio_set_up(struct chan *ch, int id, bool up)
{
	struct radio *r = radio_get(ch, id);

	if (!r)
		return ERR_NOT_FOUND;
	r->up = up;
	wake_waiters(ch);
	return ERR_OK;
}

int chan_link_set(struct chan *ch, int from, int to, const struct chan_link *l)
{
	if (!radio_get(ch, from) || !radio_get(ch, to) || from == to || !l)
		return ERR_INVAL;
	link_fill(link_at(ch, from, to), l);
	wake_waiters(ch);
	return ERR_OK;
}

int chan_link_clear(struct chan *ch, int from, int to)
{
	if (!radio_get(ch, from) || !radio_get(ch, to) || from == to)
		return ERR_INVAL;
	*link_at(ch, from, to) = (struct link){0};
	wake_waiters(ch);
	return ERR_OK;
}

int chan_link_set_up(struct chan *ch, int from, int to, bool up)
{
	if (!radio_get(ch, from) || !radio_get(ch, to) || from == to)
		return ERR_INVAL;
	struct link *l = link_at(ch, from, to);
	if (!l->in_range)
		return ERR_NOT_FOUND;
	l->up = up;
	wake_waiters(ch);
	return ERR_OK;
}

int chan_link_get(const struct chan *ch, int from, int to, struct chan_link *out, bool *up)
{
	if (!radio_get(ch, from) || !radio_get(ch, to) || from == to)
		return ERR_INVAL;
	const struct link *l = link_at(ch, from, to);
	if (!l->in_range)
		return ERR_NOT_FOUND;
	if (out)
		*out = l->p;
	if (up)
		*up = l->up;
	return ERR_OK;
}

/* ---- carrier sense -------------------------------------------------------- */

bool chan_radio_busy(const struct chan *ch, int id)
{
	const struct radio *r = radio_get(ch, id);

	if (!r || !r->attached || !r->up || r->on_air >= 0)
		return false;
	for (unsigned i = 0; i < ch->cap; i++) {
		const struct air *a = &ch->airs[i];
		if (a->active && (a->rs[id] == RS_RX || a->rs[id] == RS_COLLIDED) &&
		    ch->now >= a->detect && audible_now(ch, a->sender, id))
			return true;
	}
	return false;
}

/* GetCurrentRssi: the strongest signal on the air here, else the noise floor. */
static int current_rssi(const struct chan *ch, int id)
{
	const struct radio *r = &ch->radios[id];
	int best = ch->cfg.noise_floor;

	if (!r->attached || !r->up || r->on_air >= 0)
		return best;
	for (unsigned i = 0; i < ch->cap; i++) {
		const struct air *a = &ch->airs[i];
		if (a->active && a->rs[id] >= RS_RX && audible_now(ch, a->sender, id) &&
		    a->rssi[id] > best)
			best = a->rssi[id];
	}
	return best;
}

bool chan_radio_tx_pending(const struct chan *ch, int id)
{
	const struct radio *r = radio_get(ch, id);
	return r && r->m.has_pending;
}

/* ---- transmissions ---------------------------------------------------------- */

/* Two frames overlap at one receiver: the weaker one fails unless the other
 * is not stronger by the capture margin, then both fail. */
static void collide(struct chan *ch, struct air *a, struct air *b, int rx)
{
	double diff = (double)a->rssi[rx] - (double)b->rssi[rx];

	if (diff < ch->cfg.capture_db && a->rs[rx] == RS_RX)
		a->rs[rx] = RS_COLLIDED;
	if (-diff < ch->cfg.capture_db && b->rs[rx] == RS_RX)
		b->rs[rx] = RS_COLLIDED;
}

static void tx_start(struct chan *ch, int sid)
{
	struct radio *s = &ch->radios[sid];
	struct air *a = NULL;
	int ai = -1;

	for (unsigned i = 0; i < ch->cap; i++) {
		if (!ch->airs[i].active) {
			a = &ch->airs[i];
			ai = (int)i;
			break;
		}
	}
	if (!a)
		return; /* cannot happen: one air per radio id */
	a->active = true;
	a->notify = true;
	a->sender = sid;
	memcpy(a->sender_name, s->name, sizeof(a->sender_name));
	a->params = s->params;
	a->len = s->m.pending_len;
	memcpy(a->frame, s->m.pending, a->len);
	a->start = ch->now;
	a->end = ch->now + lora_airtime_us(&a->params, a->len);
	a->detect = ch->now + (uint64_t)ch->cfg.detect_symbols * symbol_us(&a->params);
	s->on_air = ai;
	s->m.state = CHAN_TX_SENDING;
	s->m.deadline = CHAN_NEVER;

	/* Half duplex: keying up ends every reception in progress here. */
	for (unsigned i = 0; i < ch->cap; i++) {
		struct air *b = &ch->airs[i];
		if (b != a && b->active && (b->rs[sid] == RS_RX || b->rs[sid] == RS_COLLIDED))
			b->rs[sid] = RS_DEAF;
	}

	for (unsigned ri = 0; ri < ch->cap; ri++) {
		int rid = (int)ri;
		struct radio *r = &ch->radios[ri];
		const struct link *l = link_at(ch, sid, rid);

		a->rs[ri] = RS_NONE;
		if (rid == sid || !r->used || !r->attached || !l->in_range ||
		    !params_eq(&r->params, &a->params))
			continue;
		a->rssi[ri] = l->p.rssi;
		a->snr[ri] = l->p.snr_x4;
		if (!audible_now(ch, sid, rid)) {
			a->rs[ri] = RS_DOWN;
			continue;
		}
		a->rs[ri] = r->on_air >= 0 ? RS_DEAF : RS_RX;
		for (unsigned bi = 0; bi < ch->cap; bi++) {
			struct air *b = &ch->airs[bi];
			if (b != a && b->active && b->rs[ri] >= RS_RX &&
			    audible_now(ch, b->sender, rid))
				collide(ch, a, b, rid);
		}
	}
}

/* What receiver ri makes of transmission a as it ends. */
static enum chan_outcome rx_outcome(struct chan *ch, const struct air *a, unsigned ri)
{
	int rid = (int)ri;
	const struct link *l = link_at(ch, a->sender, rid);

	if (a->rs[ri] == RS_DOWN || !audible_now(ch, a->sender, rid))
		return CHAN_DOWN;
	if (a->rs[ri] == RS_DEAF)
		return CHAN_DEAF;
	if (a->rs[ri] == RS_COLLIDED)
		return CHAN_COLLIDED;
	if (!params_eq(&ch->radios[ri].params, &a->params))
		return CHAN_LOST;
	if (l->loss_threshold && (uint64_t)rng_u32(ch->rng) < l->loss_threshold)
		return CHAN_LOST;
	return CHAN_DELIVERED;
}

/* Fills ch->rep with one report per receiver and counts the outcomes;
 * returns the number of reports, *collided if any receiver lost it so. */
static size_t tx_outcomes(struct chan *ch, const struct air *a, bool *collided)
{
	size_t n = 0;

	*collided = false;
	for (unsigned ri = 0; ri < ch->cap; ri++) {
		struct radio *r = &ch->radios[ri];
		if (a->rs[ri] == RS_NONE)
			continue;
		enum chan_outcome o = rx_outcome(ch, a, ri);
		ch->rep[n++] = (struct chan_rx_report){
		    .radio = (int)ri, .outcome = o, .snr_x4 = a->snr[ri], .rssi = a->rssi[ri]};
		ch->st.rx[o]++;
		r->st.rx[o]++;
		if (o == CHAN_COLLIDED) {
			*collided = true;
			r->m.rx_err++;
		}
	}
	return n;
}

/* The frame in ch->deliver to every receiver that got it (Data, then RxMeta). */
static void tx_deliver(struct chan *ch, size_t n, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		const struct chan_rx_report *rr = &ch->rep[i];
		struct radio *r = &ch->radios[rr->radio];
		if (rr->outcome != CHAN_DELIVERED || !r->used || !r->attached)
			continue;
		r->m.rx++;
		int8_t snr = clamp_i8(rr->snr_x4), rssi = clamp_i8(rr->rssi);
		emit(ch, rr->radio, KISS_DATA, ch->deliver, len);
		if (r->m.signal_report) {
			uint8_t meta[2] = {(uint8_t)snr, (uint8_t)rssi};
			emit_hw(ch, rr->radio, KISS_HW_RX_META, meta, 2);
		}
		if (ch->ops.rx)
			ch->ops.rx(ch->ops.ctx, rr->radio, ch->deliver, len, snr, rssi);
	}
}

static void tx_end(struct chan *ch, int ai)
{
	struct air *a = &ch->airs[ai];
	size_t len = a->len;
	bool collided;
	size_t n = tx_outcomes(ch, a, &collided);

	ch->st.tx++;
	ch->st.airtime_us += a->end - a->start;
	if (collided)
		ch->st.tx_collided++;
	struct radio *s = &ch->radios[a->sender];
	bool notify = a->notify && s->used && s->on_air == ai;
	if (s->on_air == ai) {
		s->on_air = -1;
		s->st.tx++;
		s->st.tx_airtime_us += a->end - a->start;
	}
	/* The slot is free from here; callbacks work on copies. */
	memcpy(ch->deliver, a->frame, len);
	a->active = false;

	if (ch->ops.tx_report) {
		struct chan_tx_report rep = {
		    .sender = a->sender,
		    .sender_name = a->sender_name,
		    .start_us = a->start,
		    .end_us = a->end,
		    .params = a->params,
		    .frame = ch->deliver,
		    .len = len,
		    .rx = ch->rep,
		    .rx_count = n,
		};
		ch->ops.tx_report(ch->ops.ctx, &rep);
	}
	tx_deliver(ch, n, len);
	if (notify && s->used && s->attached && s->m.state == CHAN_TX_SENDING) {
		uint8_t ok = 1;
		s->m.tx++;
		s->m.has_pending = false;
		s->m.state = CHAN_TX_IDLE;
		s->m.deadline = CHAN_NEVER;
		emit_hw(ch, a->sender, KISS_HW_TX_DONE, &ok, 1);
		if (ch->ops.tx_done)
			ch->ops.tx_done(ch->ops.ctx, a->sender, true);
	} else if (s->used && s->m.state == CHAN_TX_DELAY) {
		/* rebooted while on the air: the next frame waited for this one */
		s->m.deadline = ch->now;
	}
	wake_waiters(ch);
}

/* ---- the modem's transmit state machine (KissModem::processTx) ----------- */

static void modem_queue(struct chan *ch, struct radio *r, const uint8_t *frame, size_t len)
{
	memcpy(r->m.pending, frame, len);
	r->m.pending_len = len;
	r->m.has_pending = true;
	r->m.timer = ch->now;
	r->m.busy_since = CHAN_NEVER;
	if (r->m.fullduplex && r->csma != CHAN_CSMA_FIRMWARE) {
		r->m.state = CHAN_TX_DELAY;
		r->m.deadline = ch->now + (uint64_t)r->m.txdelay * 10000u;
	} else {
		r->m.state = CHAN_TX_WAIT_CLEAR;
		r->m.deadline = ch->now;
	}
}

/*
 * WAIT_CLEAR of a firmware node (Dispatcher::checkSend): clear -> key up now;
 * busy -> look again in 120, 240 or 360 ms, or transmit anyway once busy
 * for more than 4 s.  Between looks it does not listen (SLOT_WAIT).
 */
static void firmware_check(struct chan *ch, int id)
{
	struct radio *r = &ch->radios[id];
	struct modem *m = &r->m;

	if (chan_radio_busy(ch, id)) {
		if (m->busy_since == CHAN_NEVER)
			m->busy_since = ch->now;
		if (ch->now - m->busy_since <= (uint64_t)CHAN_FW_BUSY_MAX_MS * 1000u) {
			uint32_t v;
			rng_fill(ch->rng, &v, sizeof(v));
			r->st.fw_retries++;
			m->state = CHAN_TX_SLOT_WAIT;
			m->deadline = ch->now + (uint64_t)(v % 3u + 1u) * CHAN_FW_RETRY_MS * 1000u;
			return;
		}
		r->st.busy_timeouts++;
	}
	m->busy_since = CHAN_NEVER;
	m->timer = ch->now;
	m->state = CHAN_TX_DELAY; /* with no delay: only waits for a frame still going out */
	m->deadline = ch->now;
}

static void modem_run(struct chan *ch, int id)
{
	struct radio *r = &ch->radios[id];
	struct modem *m = &r->m;

	m->deadline = CHAN_NEVER;
	if (r->csma == CHAN_CSMA_FIRMWARE && m->state == CHAN_TX_WAIT_CLEAR) {
		firmware_check(ch, id);
		return;
	}
	switch (m->state) {
	case CHAN_TX_IDLE:
	case CHAN_TX_SENDING: break;
	case CHAN_TX_WAIT_CLEAR:
		if (!chan_radio_busy(ch, id)) {
			uint8_t v;
			rng_fill(ch->rng, &v, 1);
			m->timer = ch->now;
			if (v <= m->persistence) {
				m->state = CHAN_TX_DELAY;
				m->deadline = ch->now + (uint64_t)m->txdelay * 10000u;
			} else {
				r->st.csma_slots++;
				m->state = CHAN_TX_SLOT_WAIT;
				/* at least 1 us, so that a zero slot time still lets time run */
				m->deadline =
				    ch->now + (m->slottime ? (uint64_t)m->slottime * 10000u : 1);
			}
		} else if (ch->now - m->timer >= busy_timeout_us(r)) {
			r->st.busy_timeouts++;
			m->timer = ch->now;
			m->state = CHAN_TX_DELAY;
			m->deadline = ch->now + (uint64_t)m->txdelay * 10000u;
		} else {
			m->deadline = m->timer + busy_timeout_us(r);
		}
		break;
	case CHAN_TX_SLOT_WAIT:
		m->timer = ch->now;
		m->state = CHAN_TX_WAIT_CLEAR;
		m->deadline = ch->now;
		break;
	case CHAN_TX_DELAY:
		if (r->on_air >= 0)
			break; /* the previous frame is still going out; tx_end re-arms */
		tx_start(ch, id);
		break;
	}
}

/* ---- host input (KissModem::processFrame and handleHardwareCommand) ------- */

static void hw_set_radio(struct chan *ch, int id, const uint8_t *d, size_t len)
{
	struct radio *r = &ch->radios[id];

	if (len < 10) {
		emit_err(ch, id, KISS_ERR_INVALID_LENGTH);
		return;
	}
	r->m.cfg_freq = le32_load(d);
	r->m.cfg_bw = le32_load(d + 4);
	r->m.cfg_sf = d[8];
	r->m.cfg_cr = d[9];
	struct lora_params p = {r->m.cfg_freq, r->m.cfg_bw, r->m.cfg_sf, r->m.cfg_cr, 0};
	/* A real radio refuses impossible settings and keeps the old ones. */
	if (params_valid(&p))
		r->params = p;
	emit_hw(ch, id, KISS_HW_OK, NULL, 0);
	wake_waiters(ch);
}

/* The modem's answers to the Get commands (and Ping); false for any other. */
static bool hw_get(struct chan *ch, int id, uint8_t sub, const uint8_t *d, size_t len)
{
	struct radio *r = &ch->radios[id];
	uint8_t b[12];
	size_t n = 0;

	switch (sub) {
	case KISS_HW_GET_RADIO:
		le32_store(b, r->m.cfg_freq);
		le32_store(b + 4, r->m.cfg_bw);
		b[8] = r->m.cfg_sf;
		b[9] = r->m.cfg_cr;
		n = 10;
		break;
	case KISS_HW_GET_TX_POWER: b[n++] = r->m.tx_power; break;
	case KISS_HW_GET_CURRENT_RSSI: b[n++] = (uint8_t)clamp_i8(current_rssi(ch, id)); break;
	case KISS_HW_IS_CHANNEL_BUSY: b[n++] = chan_radio_busy(ch, id) ? 1 : 0; break;
	case KISS_HW_GET_AIRTIME:
		if (len < 1) {
			emit_err(ch, id, KISS_ERR_INVALID_LENGTH);
			return true;
		}
		le32_store(b, lora_airtime_ms(&r->params, d[0]));
		n = 4;
		break;
	case KISS_HW_GET_NOISE_FLOOR:
		le16_store(b, (uint16_t)ch->cfg.noise_floor);
		n = 2;
		break;
	case KISS_HW_GET_VERSION:
		b[0] = 1;
		b[1] = 0;
		n = 2;
		break;
	case KISS_HW_GET_STATS:
		le32_store(b, r->m.rx);
		le32_store(b + 4, r->m.tx);
		le32_store(b + 8, r->m.rx_err);
		n = 12;
		break;
	case KISS_HW_GET_BATTERY:
		/* boards without a battery sense report 0 mV */
		le16_store(b, 0);
		n = 2;
		break;
	case KISS_HW_GET_SENSORS:
		if (len < 1) {
			emit_err(ch, id, KISS_ERR_INVALID_LENGTH);
			return true;
		}
		break;
	case KISS_HW_GET_DEVICE_NAME: {
		uint8_t nb[1 + 64];
		size_t nl = strnlen(ch->cfg.device_name, sizeof(nb) - 1);
		nb[0] = KISS_HW_GET_DEVICE_NAME | 0x80;
		memcpy(nb + 1, ch->cfg.device_name, nl);
		emit(ch, id, KISS_SETHARDWARE, nb, nl + 1);
		return true;
	}
	case KISS_HW_PING: break;
	case KISS_HW_GET_SIGNAL_REPORT: b[n++] = r->m.signal_report ? 1 : 0; break;
	default: return false;
	}
	emit_hw(ch, id, (uint8_t)(sub | 0x80), n ? b : NULL, n);
	return true;
}

static void hw_command(struct chan *ch, int id, uint8_t sub, const uint8_t *d, size_t len)
{
	struct radio *r = &ch->radios[id];

	switch (sub) {
	case KISS_HW_GET_IDENTITY:
	case KISS_HW_GET_RANDOM:
	case KISS_HW_VERIFY_SIGNATURE:
	case KISS_HW_SIGN_DATA:
	case KISS_HW_ENCRYPT_DATA:
	case KISS_HW_DECRYPT_DATA:
	case KISS_HW_KEY_EXCHANGE:
	case KISS_HW_HASH:
	case KISS_HW_GET_MCU_TEMP: emit_err(ch, id, KISS_ERR_NOT_AVAILABLE); break;
	case KISS_HW_SET_RADIO: hw_set_radio(ch, id, d, len); break;
	case KISS_HW_SET_TX_POWER:
		if (len < 1) {
			emit_err(ch, id, KISS_ERR_INVALID_LENGTH);
			break;
		}
		r->m.tx_power = d[0];
		emit_hw(ch, id, KISS_HW_OK, NULL, 0);
		break;
	case KISS_HW_REBOOT:
		emit_hw(ch, id, KISS_HW_OK, NULL, 0);
		modem_boot(ch, r);
		wake_waiters(ch);
		break;
	case KISS_HW_SET_SIGNAL_REPORT:
		if (len < 1) {
			emit_err(ch, id, KISS_ERR_INVALID_LENGTH);
			break;
		}
		r->m.signal_report = d[0] != 0;
		/* the reply carries GetSignalReport's code, 9A */
		hw_get(ch, id, KISS_HW_GET_SIGNAL_REPORT, d, len);
		break;
	default:
		if (!hw_get(ch, id, sub, d, len))
			emit_err(ch, id, KISS_ERR_UNKNOWN_CMD);
		break;
	}
}

int chan_modem_input(struct chan *ch, int id, uint8_t type, const uint8_t *data, size_t len)
{
	struct radio *r = radio_get(ch, id);

	if (!r)
		return ERR_NOT_FOUND;
	if (!r->attached)
		return ERR_CLOSED;
	if (type == KISS_RETURN || (type >> 4) != 0)
		return ERR_OK; /* only port 0; 0xFF is ignored */
	switch (type & 0x0F) {
	case KISS_DATA:
		if (r->m.has_pending) {
			r->st.tx_busy_rejects++;
			emit_err(ch, id, KISS_ERR_TX_BUSY);
		} else if (len > 0 && len <= CHAN_MAX_FRAME) {
			modem_queue(ch, r, data, len);
		}
		break;
	case KISS_TXDELAY:
		if (len >= 1)
			r->m.txdelay = data[0];
		break;
	case KISS_PERSISTENCE:
		if (len >= 1)
			r->m.persistence = data[0];
		break;
	case KISS_SLOTTIME:
		if (len >= 1)
			r->m.slottime = data[0];
		break;
	case KISS_TXTAIL:
		if (len >= 1)
			r->m.txtail = data[0];
		break;
	case KISS_FULLDUPLEX:
		if (len >= 1)
			r->m.fullduplex = data[0];
		break;
	case KISS_SETHARDWARE:
		if (len >= 1)
			hw_command(ch, id, data[0], data + 1, len - 1);
		break;
	default: break;
	}
	return ERR_OK;
}

int chan_radio_send(struct chan *ch, int id, const uint8_t *frame, size_t len)
{
	struct radio *r = radio_get(ch, id);

	if (!r)
		return ERR_NOT_FOUND;
	if (!r->attached)
		return ERR_CLOSED;
	if (len == 0 || len > CHAN_MAX_FRAME)
		return ERR_INVAL;
	if (r->m.has_pending)
		return ERR_AGAIN;
	modem_queue(ch, r, frame, len);
	return ERR_OK;
}

/* ---- time ------------------------------------------------------------------ */

uint64_t chan_next_deadline(const struct chan *ch)
{
	uint64_t t = CHAN_NEVER;

	for (unsigned i = 0; i < ch->cap; i++) {
		const struct air *a = &ch->airs[i];
		const struct radio *r = &ch->radios[i];
		if (a->active && a->end < t)
			t = a->end;
		if (r->used && r->attached && r->m.deadline < t)
			t = r->m.deadline;
	}
	return t;
}

uint64_t chan_now(const struct chan *ch)
{
	return ch->now;
}

void chan_advance(struct chan *ch, uint64_t now_us)
{
	if (ch->in_advance)
		return;
	ch->in_advance = true;
	for (;;) {
		uint64_t t_air = CHAN_NEVER, t_radio = CHAN_NEVER;
		int ai = -1, ri = -1;

		for (unsigned i = 0; i < ch->cap; i++) {
			const struct air *a = &ch->airs[i];
			const struct radio *r = &ch->radios[i];
			if (a->active && a->end < t_air) {
				t_air = a->end;
				ai = (int)i;
			}
			if (r->used && r->attached && r->m.deadline < t_radio) {
				t_radio = r->m.deadline;
				ri = (int)i;
			}
		}
		if (ai >= 0 && t_air <= t_radio && t_air <= now_us) {
			if (t_air > ch->now)
				ch->now = t_air;
			tx_end(ch, ai);
		} else if (ri >= 0 && t_radio <= now_us) {
			if (t_radio > ch->now)
				ch->now = t_radio;
			modem_run(ch, ri);
		} else {
			break;
		}
	}
	if (now_us > ch->now)
		ch->now = now_us;
	ch->in_advance = false;
}

/* ---- statistics ------------------------------------------------------------ */

int chan_radio_stats(const struct chan *ch, int id, struct chan_radio_stats *out)
{
	const struct radio *r = radio_get(ch, id);

	if (!r)
		return ERR_NOT_FOUND;
	*out = r->st;
	return ERR_OK;
}

void chan_stats(const struct chan *ch, struct chan_stats *out)
{
	*out = ch->st;
}

void chan_stats_reset(struct chan *ch)
{
	ch->st = (struct chan_stats){0};
	for (unsigned i = 0; i < ch->cap; i++)
		ch->radios[i].st = (struct chan_radio_stats){0};
}
