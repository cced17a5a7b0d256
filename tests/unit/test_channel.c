/*
 * test_channel.c - the simulated LoRa channel (src/sim/channel.h) in virtual
 * time: airtime (§6.9), the KISS modem's commands and transmit state machine
 * (§10.2), collisions and capture, half duplex, carrier sense, link loss,
 * radio settings, topology changes, detaching, reproducibility.
 */
#include <stdlib.h>

#include "harness.h"
#include "proto/kiss.h"
#include "sim/channel.h"
#include "util/buf.h"
#include "util/err.h"

#define MS 1000ull
#define T0 (5 * 1000000ull) /* virtual start time, not zero on purpose */

/* ---- a recorder of everything the channel reports ---------------------- */

#define MAX_EV    256
#define MAX_RADIO 16

struct hostev {
	uint64_t t;
	uint8_t type;
	uint8_t data[CHAN_MAX_FRAME + 1];
	size_t len;
};

struct rep {
	int sender;
	uint64_t start, end;
	size_t len;
	int outcome[MAX_RADIO]; /* -1: not a receiver */
};

struct world {
	struct chan *ch;
	struct rng rng;
	struct rng_seeded seeded;
	/* per radio */
	struct hostev ev[MAX_RADIO][MAX_EV];
	size_t nev[MAX_RADIO];
	unsigned rx[MAX_RADIO], done[MAX_RADIO];
	uint64_t last_rx_t[MAX_RADIO], last_done_t[MAX_RADIO];
	int last_snr[MAX_RADIO], last_rssi[MAX_RADIO];
	/* reports */
	struct rep reps[MAX_EV];
	size_t nrep;
	unsigned long long outcome_sum[CHAN_OUTCOMES];
	uint64_t trace_hash;
	/* resend on TxDone: how many more frames radio i sends back to back */
	unsigned resend[MAX_RADIO];
	size_t resend_len;
};

static void on_host(void *ctx, int radio, uint8_t type, const uint8_t *data, size_t len)
{
	struct world *w = ctx;
	if (radio < 0 || radio >= MAX_RADIO || w->nev[radio] >= MAX_EV || len > CHAN_MAX_FRAME + 1)
		return;
	struct hostev *e = &w->ev[radio][w->nev[radio]++];
	e->t = chan_now(w->ch);
	e->type = type;
	memcpy(e->data, data, len);
	e->len = len;
}

static void on_rx(void *ctx, int radio, const uint8_t *frame, size_t len, int snr, int rssi)
{
	struct world *w = ctx;
	(void)frame;
	(void)len;
	w->rx[radio]++;
	w->last_rx_t[radio] = chan_now(w->ch);
	w->last_snr[radio] = snr;
	w->last_rssi[radio] = rssi;
}

static void on_done(void *ctx, int radio, bool ok)
{
	struct world *w = ctx;
	if (!ok)
		return;
	w->done[radio]++;
	w->last_done_t[radio] = chan_now(w->ch);
	if (w->resend[radio]) {
		uint8_t f[CHAN_MAX_FRAME];
		memset(f, 0x11 * (radio + 1), sizeof(f));
		w->resend[radio]--;
		chan_radio_send(w->ch, radio, f, w->resend_len);
	}
}

static void on_report(void *ctx, const struct chan_tx_report *r)
{
	struct world *w = ctx;
	uint64_t h = w->trace_hash ^ (r->start_us * 31 + r->end_us * 7 + (uint64_t)r->sender);
	for (size_t i = 0; i < r->rx_count; i++) {
		w->outcome_sum[r->rx[i].outcome]++;
		h = h * 1099511628211ull + (uint64_t)(r->rx[i].radio * 8 + (int)r->rx[i].outcome);
	}
	w->trace_hash = h;
	if (w->nrep >= MAX_EV)
		return;
	struct rep *p = &w->reps[w->nrep++];
	p->sender = r->sender;
	p->start = r->start_us;
	p->end = r->end_us;
	p->len = r->len;
	for (int i = 0; i < MAX_RADIO; i++)
		p->outcome[i] = -1;
	for (size_t i = 0; i < r->rx_count; i++)
		if (r->rx[i].radio < MAX_RADIO)
			p->outcome[r->rx[i].radio] = (int)r->rx[i].outcome;
}

static struct world *world_new(const struct chan_config *cfg, uint64_t seed)
{
	struct world *w = calloc(1, sizeof(*w));
	struct chan_config c;
	if (!w)
		abort();
	if (cfg)
		c = *cfg;
	else
		chan_config_default(&c);
	rng_seeded_init(&w->seeded, &w->rng, seed);
	struct chan_ops ops = {.host_frame = on_host,
	                       .rx = on_rx,
	                       .tx_done = on_done,
	                       .tx_report = on_report,
	                       .ctx = w};
	w->ch = chan_new(&c, &ops, &w->rng, T0);
	if (!w->ch)
		abort();
	return w;
}

static void world_free(struct world *w)
{
	chan_free(w->ch);
	free(w);
}

static void clear_events(struct world *w)
{
	memset(w->nev, 0, sizeof(w->nev));
	w->nrep = 0;
}

static void kiss_in(struct world *w, int id, uint8_t type, const uint8_t *d, size_t n)
{
	CHECK_EQ(chan_modem_input(w->ch, id, type, d, n), ERR_OK);
}

static void set_byte(struct world *w, int id, uint8_t cmd, uint8_t v)
{
	kiss_in(w, id, cmd, &v, 1);
}

/* TXDELAY 0 and persistence 255: a frame goes out as soon as the channel is clear. */
static void fast(struct world *w, int id)
{
	set_byte(w, id, KISS_TXDELAY, 0);
	set_byte(w, id, KISS_PERSISTENCE, 255);
}

static void send_data(struct world *w, int id, size_t len, uint8_t fill)
{
	uint8_t f[CHAN_MAX_FRAME + 1];
	memset(f, fill, sizeof(f));
	kiss_in(w, id, KISS_DATA, f, len);
}

/* Sends a SetHardware command and returns the last frame the modem answered. */
static const struct hostev *hw(struct world *w, int id, uint8_t sub, const uint8_t *d, size_t n)
{
	uint8_t buf[64] = {sub};
	size_t before = w->nev[id];
	if (n)
		memcpy(buf + 1, d, n);
	kiss_in(w, id, KISS_SETHARDWARE, buf, n + 1);
	if (w->nev[id] != before + 1) {
		fprintf(stderr, "hw %02x: %zu replies\n", sub, w->nev[id] - before);
		return NULL;
	}
	return &w->ev[id][w->nev[id] - 1];
}

static bool reply_is(const struct hostev *e, const uint8_t *want, size_t n)
{
	return e && e->type == KISS_SETHARDWARE && e->len == n && memcmp(e->data, want, n) == 0;
}

static void set_radio(struct world *w, int id, uint32_t freq, uint32_t bw, uint8_t sf, uint8_t cr)
{
	uint8_t d[10];
	le32_store(d, freq);
	le32_store(d + 4, bw);
	d[8] = sf;
	d[9] = cr;
	const uint8_t ok[] = {KISS_HW_OK};
	CHECK(reply_is(hw(w, id, KISS_HW_SET_RADIO, d, 10), ok, 1));
}

static void run(struct world *w, uint64_t until)
{
	chan_advance(w->ch, until);
}

/* Runs until nothing is left to do (bounded). */
static void drain(struct world *w)
{
	for (int i = 0; i < 100000; i++) {
		uint64_t t = chan_next_deadline(w->ch);
		if (t == CHAN_NEVER)
			return;
		chan_advance(w->ch, t);
	}
	CHECK(0 && "drain did not finish");
}

static int count_type(const struct world *w, int id, uint8_t type, int sub)
{
	int n = 0;
	for (size_t i = 0; i < w->nev[id]; i++) {
		const struct hostev *e = &w->ev[id][i];
		if (e->type == type && (sub < 0 || (e->len > 0 && e->data[0] == sub)))
			n++;
	}
	return n;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_airtime_and_delivery(void)
{
	struct world *w = world_new(NULL, 1);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	CHECK_EQ(a, 0);
	CHECK_EQ(b, 1);
	CHECK_EQ(chan_radio_add(w->ch, "A", true, NULL), ERR_INVAL);
	CHECK_EQ(chan_radio_add(w->ch, "bad name", true, NULL), ERR_INVAL);
	CHECK_EQ(chan_radio_add(w->ch, "", true, NULL), ERR_INVAL);
	CHECK_EQ(chan_radio_find(w->ch, "B"), b);
	CHECK_EQ(chan_radio_find(w->ch, "C"), ERR_NOT_FOUND);
	CHECK_STR(chan_radio_name(w->ch, a), "A");

	/* defaults: TXDELAY 500 ms; persistence 255 so the draw always passes */
	set_byte(w, a, KISS_PERSISTENCE, 255);
	send_data(w, a, 22, 0x14);
	CHECK(chan_radio_tx_pending(w->ch, a));
	CHECK_EQ(chan_next_deadline(w->ch), T0);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(w->reps[0].start, T0 + 500 * MS);
	struct lora_params lp = LORA_PARAMS_DEFAULT;
	CHECK_EQ(w->reps[0].end - w->reps[0].start, lora_airtime_us(&lp, 22));
	CHECK_EQ((w->reps[0].end - w->reps[0].start) / MS, 304);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
	CHECK_EQ(w->reps[0].outcome[a], -1);
	CHECK_EQ(w->rx[b], 1);
	CHECK_EQ((w->last_rx_t[b] - w->reps[0].start) / MS, 304);
	CHECK_EQ(w->last_done_t[a], w->last_rx_t[b]);
	CHECK_EQ(w->last_snr[b], 32);
	CHECK_EQ(w->last_rssi[b], -70);
	CHECK(!chan_radio_tx_pending(w->ch, a));

	/* B's host saw Data then RxMeta (SNR x4, RSSI); A's saw TxDone 01 */
	CHECK_EQ(w->nev[b], 2);
	CHECK_EQ(w->ev[b][0].type, KISS_DATA);
	CHECK_EQ(w->ev[b][0].len, 22);
	CHECK_EQ(w->ev[b][0].data[0], 0x14);
	const uint8_t meta[] = {KISS_HW_RX_META, 32, (uint8_t)-70};
	CHECK(reply_is(&w->ev[b][1], meta, 3));
	const uint8_t done[] = {KISS_HW_TX_DONE, 1};
	CHECK_EQ(w->nev[a], 1);
	CHECK(reply_is(&w->ev[a][0], done, 2));

	/* every cell of the §6.9 table through GetAirtime after SetRadio */
	static const size_t lens[6] = {6, 22, 53, 119, 164, 255};
	static const struct {
		uint32_t bw;
		uint8_t sf;
		uint32_t ms[6];
	} rows[] = {
	    {62500, 8, {222, 304, 467, 816, 1041, 1512}},
	    {62500, 7, {121, 162, 254, 449, 582, 848}},
	    {62500, 9, {313, 477, 722, 1337, 1746, 2566}},
	    {250000, 10, {156, 218, 340, 607, 791, 1180}},
	    {250000, 11, {313, 395, 641, 1132, 1460, 2156}},
	    {125000, 12, {1253, 1744, 2727, 4857, 6332, 9281}},
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		set_radio(w, a, 869618000u, rows[r].bw, rows[r].sf, 5);
		for (int i = 0; i < 6; i++) {
			uint8_t l = (uint8_t)lens[i];
			const struct hostev *e = hw(w, a, KISS_HW_GET_AIRTIME, &l, 1);
			CHECK(e && e->len == 5 && e->data[0] == 0x8F &&
			      le32_load(e->data + 1) == rows[r].ms[i]);
		}
	}
	/* a real transmission at SF12/125 lasts as long as the table says */
	set_radio(w, b, 869618000u, 125000, 12, 5);
	fast(w, a);
	w->nrep = 0;
	send_data(w, a, 53, 1);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ((w->reps[0].end - w->reps[0].start) / MS, 2727);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
	world_free(w);
}

static void test_modem_commands(void)
{
	struct world *w = world_new(NULL, 2);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	const struct hostev *e;

	const uint8_t ver[] = {0x91, 0x01, 0x00};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_VERSION, NULL, 0), ver, 3));
	const uint8_t ping[] = {0x97};
	CHECK(reply_is(hw(w, a, KISS_HW_PING, NULL, 0), ping, 1));
	const uint8_t radio0[11] = {0x8B};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_RADIO, NULL, 0), radio0, 11));
	const uint8_t pow0[] = {0x8C, 0};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_TX_POWER, NULL, 0), pow0, 2));
	uint8_t p = 22;
	const uint8_t ok[] = {0xF0};
	CHECK(reply_is(hw(w, a, KISS_HW_SET_TX_POWER, &p, 1), ok, 1));
	const uint8_t pow22[] = {0x8C, 22};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_TX_POWER, NULL, 0), pow22, 2));
	set_radio(w, a, 869618000u, 62500, 8, 5);
	const uint8_t radio1[] = {0x8B, 0x50, 0x51, 0xD5, 0x33, 0x24, 0xF4, 0, 0, 8, 5};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_RADIO, NULL, 0), radio1, 11));
	/* an impossible setting is stored for GetRadio but the radio keeps its own */
	set_radio(w, a, 869618000u, 62500, 13, 5);
	uint8_t l22 = 22;
	e = hw(w, a, KISS_HW_GET_AIRTIME, &l22, 1);
	CHECK(e && e->len == 5 && le32_load(e->data + 1) == 304);
	set_radio(w, a, 869618000u, 62500, 8, 5);
	uint8_t short_radio[4] = {0};
	const uint8_t e_len[] = {0xF1, 0x01};
	CHECK(reply_is(hw(w, a, KISS_HW_SET_RADIO, short_radio, 4), e_len, 2));
	CHECK(reply_is(hw(w, a, KISS_HW_GET_AIRTIME, NULL, 0), e_len, 2));

	const uint8_t e_na[] = {0xF1, 0x03};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_IDENTITY, NULL, 0), e_na, 2));
	uint8_t n8 = 8;
	CHECK(reply_is(hw(w, a, KISS_HW_GET_RANDOM, &n8, 1), e_na, 2));
	CHECK(reply_is(hw(w, a, KISS_HW_HASH, &n8, 1), e_na, 2));
	CHECK(reply_is(hw(w, a, KISS_HW_GET_MCU_TEMP, NULL, 0), e_na, 2));
	const uint8_t e_unk[] = {0xF1, 0x05};
	CHECK(reply_is(hw(w, a, 0x42, NULL, 0), e_unk, 2));
	CHECK(reply_is(hw(w, a, KISS_HW_TX_DONE, NULL, 0), e_unk, 2));

	const uint8_t nf[] = {0x90, (uint8_t)-120, 0xFF};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_NOISE_FLOOR, NULL, 0), nf, 3));
	const uint8_t rssi_idle[] = {0x8D, (uint8_t)-120};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_CURRENT_RSSI, NULL, 0), rssi_idle, 2));
	const uint8_t idle[] = {0x8E, 0};
	CHECK(reply_is(hw(w, a, KISS_HW_IS_CHANNEL_BUSY, NULL, 0), idle, 2));
	const uint8_t batt[] = {0x93, 0, 0};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_BATTERY, NULL, 0), batt, 3));
	uint8_t perm = 0xFF;
	const uint8_t sens[] = {0x95};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_SENSORS, &perm, 1), sens, 1));
	e = hw(w, a, KISS_HW_GET_DEVICE_NAME, NULL, 0);
	CHECK(e && e->len == 8 && e->data[0] == 0x96 && memcmp(e->data + 1, "meshair", 7) == 0);
	const uint8_t sr1[] = {0x9A, 1}, sr0[] = {0x9A, 0};
	CHECK(reply_is(hw(w, b, KISS_HW_GET_SIGNAL_REPORT, NULL, 0), sr1, 2));
	uint8_t off = 0;
	CHECK(reply_is(hw(w, b, KISS_HW_SET_SIGNAL_REPORT, &off, 1), sr0, 2));
	CHECK(reply_is(hw(w, b, KISS_HW_GET_SIGNAL_REPORT, NULL, 0), sr0, 2));
	const uint8_t stats0[13] = {0x92};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_STATS, NULL, 0), stats0, 13));

	/* ignored: other ports, type FF, empty SetHardware, empty or oversized Data */
	size_t before = w->nev[a];
	kiss_in(w, a, 0x10, (const uint8_t *)"x", 1);
	kiss_in(w, a, 0x16, (const uint8_t *)"\x11", 1);
	kiss_in(w, a, 0xFF, NULL, 0);
	kiss_in(w, a, KISS_SETHARDWARE, NULL, 0);
	send_data(w, a, 0, 0);
	send_data(w, a, 256, 0);
	CHECK_EQ(w->nev[a], before);
	CHECK(!chan_radio_tx_pending(w->ch, a));

	/* Data while one is pending: F1 07, and the first frame still goes */
	fast(w, a);
	send_data(w, a, 10, 0xAA);
	send_data(w, a, 10, 0xBB);
	const uint8_t busy[] = {0xF1, 0x07};
	CHECK(reply_is(&w->ev[a][w->nev[a] - 1], busy, 2));
	CHECK_EQ(chan_radio_send(w->ch, a, (const uint8_t *)"x", 1), ERR_AGAIN);
	clear_events(w);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(count_type(w, a, KISS_SETHARDWARE, KISS_HW_TX_DONE), 1);
	/* B turned signal reports off: Data without RxMeta */
	CHECK_EQ(w->nev[b], 1);
	CHECK_EQ(w->ev[b][0].type, KISS_DATA);
	CHECK_EQ(w->ev[b][0].data[0], 0xAA);
	const uint8_t stats_a[13] = {0x92, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
	CHECK(reply_is(hw(w, a, KISS_HW_GET_STATS, NULL, 0), stats_a, 13));
	const uint8_t stats_b[13] = {0x92, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	CHECK(reply_is(hw(w, b, KISS_HW_GET_STATS, NULL, 0), stats_b, 13));
	struct chan_radio_stats rs;
	CHECK_EQ(chan_radio_stats(w->ch, a, &rs), ERR_OK);
	CHECK_EQ(rs.tx, 1);
	CHECK_EQ(rs.tx_busy_rejects, 1);

	/* Reboot: F0, then the boot defaults (GetRadio zeros, TXDELAY 500 ms) */
	CHECK(reply_is(hw(w, a, KISS_HW_REBOOT, NULL, 0), ok, 1));
	CHECK(reply_is(hw(w, a, KISS_HW_GET_RADIO, NULL, 0), radio0, 11));
	CHECK(reply_is(hw(w, a, KISS_HW_GET_STATS, NULL, 0), stats0, 13));
	struct chan_radio_info info;
	CHECK_EQ(chan_radio_info(w->ch, a, &info), ERR_OK);
	CHECK_EQ(info.txdelay, 50);
	CHECK_EQ(info.persistence, 63);
	CHECK_EQ(info.slottime, 10);
	CHECK_EQ(info.params.sf, 8);
	CHECK_EQ(info.state, CHAN_TX_IDLE);
	world_free(w);
}

static void test_collisions_and_capture(void)
{
	for (int variant = 0; variant < 3; variant++) {
		/* 0: equal power; 1: A stronger by 10 dB at C; 2: A stronger by 5 dB */
		struct world *w = world_new(NULL, 3);
		int a = chan_radio_add(w->ch, "A", true, NULL);
		int b = chan_radio_add(w->ch, "B", true, NULL);
		int c = chan_radio_add(w->ch, "C", true, NULL);
		struct chan_link la = CHAN_LINK_DEFAULT;
		la.rssi = (int16_t)(variant == 0 ? -70 : variant == 1 ? -60 : -65);
		CHECK_EQ(chan_link_set(w->ch, a, c, &la), ERR_OK);
		/* FullDuplex skips carrier sense: both go out although the other is on the air */
		fast(w, a);
		fast(w, b);
		set_byte(w, a, KISS_FULLDUPLEX, 1);
		set_byte(w, b, KISS_FULLDUPLEX, 1);
		send_data(w, a, 30, 0xA0);
		run(w, T0 + 100 * MS); /* B starts well after A's preamble */
		send_data(w, b, 30, 0xB0);
		drain(w);
		CHECK_EQ(w->nrep, 2);
		CHECK_EQ(w->reps[0].sender, a);
		CHECK(w->reps[1].start < w->reps[0].end); /* they overlap */
		CHECK_EQ(w->reps[0].outcome[c], variant == 1 ? CHAN_DELIVERED : CHAN_COLLIDED);
		CHECK_EQ(w->reps[1].outcome[c], CHAN_COLLIDED);
		CHECK_EQ(w->rx[c], variant == 1 ? 1u : 0u);
		/* half duplex: each was transmitting during the other's frame */
		CHECK_EQ(w->reps[0].outcome[b], CHAN_DEAF);
		CHECK_EQ(w->reps[1].outcome[a], CHAN_DEAF);
		CHECK_EQ(w->rx[a] + w->rx[b], 0);
		struct chan_stats st;
		chan_stats(w->ch, &st);
		CHECK_EQ(st.tx, 2);
		CHECK_EQ(st.rx[CHAN_DEAF], 2);
		CHECK_EQ(st.rx[CHAN_COLLIDED], variant == 1 ? 1 : 2);
		CHECK_EQ(st.tx_collided, variant == 1 ? 1 : 2);
		/* rx errors in GetStats */
		const struct hostev *e = hw(w, c, KISS_HW_GET_STATS, NULL, 0);
		CHECK(e && e->len == 13 && le32_load(e->data + 9) == (variant == 1 ? 1u : 2u));
		world_free(w);
	}

	/* non-overlapping frames do not collide; B strong and later does not capture a
	 * frame it overlaps when the margin is missing (both lost) */
	struct world *w = world_new(NULL, 4);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	int c = chan_radio_add(w->ch, "C", true, NULL);
	fast(w, a);
	fast(w, b);
	send_data(w, a, 10, 1);
	drain(w);
	send_data(w, b, 10, 2);
	drain(w);
	CHECK_EQ(w->rx[c], 2);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
	CHECK_EQ(w->reps[1].outcome[a], CHAN_DELIVERED);
	world_free(w);
}

static void test_half_duplex(void)
{
	struct world *w = world_new(NULL, 5);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	int c = chan_radio_add(w->ch, "C", true, NULL);
	fast(w, a);
	fast(w, b);
	set_byte(w, b, KISS_FULLDUPLEX, 1);
	/* A sends a long frame; B keys up in its middle with a short one */
	send_data(w, a, 200, 1);
	run(w, T0 + 300 * MS);
	CHECK(chan_radio_busy(w->ch, b));
	send_data(w, b, 10, 2);
	run(w, T0 + 301 * MS);
	struct chan_radio_info info;
	chan_radio_info(w->ch, b, &info);
	CHECK(info.on_air);
	CHECK(!chan_radio_busy(w->ch, b)); /* a transmitting radio hears nothing */
	drain(w);
	CHECK_EQ(w->nrep, 2);
	/* B's frame ended first: A was on the air, so deaf; C collided */
	CHECK_EQ(w->reps[0].sender, b);
	CHECK_EQ(w->reps[0].outcome[a], CHAN_DEAF);
	CHECK_EQ(w->reps[1].sender, a);
	CHECK_EQ(w->reps[1].outcome[b], CHAN_DEAF); /* B keyed up during A's frame */
	CHECK_EQ(w->reps[1].outcome[c], CHAN_COLLIDED);
	CHECK_EQ(w->rx[a] + w->rx[b] + w->rx[c], 0);
	world_free(w);
}

static void test_csma(void)
{
	struct world *w = world_new(NULL, 6);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	int c = chan_radio_add(w->ch, "C", true, NULL);
	fast(w, a);
	fast(w, b);
	send_data(w, a, 100, 1);
	run(w, T0 + 1 * MS);
	/* carrier sense needs 4 preamble symbols (16.4 ms at SF8/62.5) */
	const uint8_t idle[] = {0x8E, 0}, busy[] = {0x8E, 1};
	CHECK(reply_is(hw(w, b, KISS_HW_IS_CHANNEL_BUSY, NULL, 0), idle, 2));
	run(w, T0 + 20 * MS);
	CHECK(reply_is(hw(w, b, KISS_HW_IS_CHANNEL_BUSY, NULL, 0), busy, 2));
	const uint8_t rssi[] = {0x8D, (uint8_t)-70};
	CHECK(reply_is(hw(w, b, KISS_HW_GET_CURRENT_RSSI, NULL, 0), rssi, 2));
	/* B queues while the channel is busy: it waits for the end of A's frame */
	send_data(w, b, 20, 2);
	run(w, T0 + 50 * MS);
	struct chan_radio_info info;
	chan_radio_info(w->ch, b, &info);
	CHECK_EQ(info.state, CHAN_TX_WAIT_CLEAR);
	drain(w);
	CHECK_EQ(w->nrep, 2);
	CHECK_EQ(w->reps[1].sender, b);
	CHECK_EQ(w->reps[1].start, w->reps[0].end);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
	CHECK_EQ(w->reps[0].outcome[c], CHAN_DELIVERED);
	CHECK_EQ(w->reps[1].outcome[c], CHAN_DELIVERED);
	CHECK(reply_is(hw(w, b, KISS_HW_IS_CHANNEL_BUSY, NULL, 0), idle, 2));

	/* with the default TXDELAY the waiting radio keys up 500 ms after the end */
	set_byte(w, b, KISS_TXDELAY, 50);
	w->nrep = 0;
	send_data(w, a, 100, 1);
	run(w, chan_now(w->ch) + 20 * MS);
	send_data(w, b, 20, 2);
	drain(w);
	CHECK_EQ(w->nrep, 2);
	CHECK_EQ(w->reps[1].start, w->reps[0].end + 500 * MS);

	/* persistence 0: a random byte <= 0 is needed; the slot time spaces the draws */
	set_byte(w, b, KISS_TXDELAY, 0);
	set_byte(w, b, KISS_PERSISTENCE, 0);
	set_byte(w, b, KISS_SLOTTIME, 1);
	struct chan_radio_stats rs0, rs1;
	chan_radio_stats(w->ch, b, &rs0);
	w->nrep = 0;
	uint64_t q = chan_now(w->ch);
	send_data(w, b, 20, 3);
	drain(w);
	chan_radio_stats(w->ch, b, &rs1);
	CHECK_EQ(w->nrep, 1);
	unsigned slots = rs1.csma_slots - rs0.csma_slots;
	CHECK(slots >= 1); /* P(first draw passes) = 1/256; seed 6 does not */
	CHECK_EQ(w->reps[0].start, q + (uint64_t)slots * 10 * MS);
	world_free(w);

	/* busy timeout: a channel busy for 1.5 x airtime(255) = 2268 ms is used anyway */
	struct chan_config cfg;
	chan_config_default(&cfg);
	cfg.detect_symbols = 0;
	w = world_new(&cfg, 7);
	a = chan_radio_add(w->ch, "A", true, NULL);
	b = chan_radio_add(w->ch, "B", true, NULL);
	fast(w, a);
	fast(w, b);
	set_byte(w, a, KISS_FULLDUPLEX, 1);
	w->resend[a] = 3;
	w->resend_len = 255;
	send_data(w, a, 255, 1); /* four 1512 ms frames back to back */
	run(w, T0 + 10 * MS);
	send_data(w, b, 10, 2);
	drain(w);
	CHECK_EQ(w->nrep, 5);
	int bi = -1;
	for (size_t i = 0; i < w->nrep; i++)
		if (w->reps[i].sender == b)
			bi = (int)i;
	CHECK(bi >= 0);
	if (bi >= 0)
		CHECK_EQ(w->reps[bi].start, T0 + 10 * MS + 2268 * MS);
	chan_radio_stats(w->ch, b, &rs1);
	CHECK_EQ(rs1.busy_timeouts, 1);
	world_free(w);
}

/* CSMA profiles: modem (kiss_modem defaults), host (only the KISS
 * parameters), firmware (Dispatcher::checkSend: 120/240/360 ms retries, sent
 * anyway after 4 s busy, no TXDELAY, no persistence). */
static void test_csma_profiles(void)
{
	struct chan_config cfg;
	struct chan_radio_info info;
	struct chan_radio_stats rs;

	CHECK_STR(chan_csma_name(CHAN_CSMA_MODEM), "modem");
	CHECK_STR(chan_csma_name(CHAN_CSMA_HOST), "host");
	CHECK_STR(chan_csma_name(CHAN_CSMA_FIRMWARE), "firmware");
	CHECK_EQ(chan_csma_parse("firmware"), CHAN_CSMA_FIRMWARE);
	CHECK_EQ(chan_csma_parse("host"), CHAN_CSMA_HOST);
	CHECK_EQ(chan_csma_parse("modem"), CHAN_CSMA_MODEM);
	CHECK_EQ(chan_csma_parse("Firmware"), -1);
	CHECK_EQ(chan_csma_parse(""), -1);
	CHECK_EQ(chan_csma_parse(NULL), -1);
	chan_config_default(&cfg);
	CHECK_EQ(cfg.csma, CHAN_CSMA_MODEM);
	cfg.csma = (enum chan_csma)7;
	struct rng_seeded rs_seed;
	struct rng r;
	rng_seeded_init(&rs_seed, &r, 1);
	CHECK(chan_new(&cfg, NULL, &r, 0) == NULL);

	/* modem: kiss_modem defaults, as before */
	struct world *w = world_new(NULL, 11);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	chan_radio_info(w->ch, a, &info);
	CHECK_EQ(info.csma, CHAN_CSMA_MODEM);
	CHECK_EQ(info.txdelay, 50);
	CHECK_EQ(info.persistence, 63);
	CHECK_EQ(info.slottime, 10);
	CHECK_EQ(chan_radio_set_csma(w->ch, a, (enum chan_csma)3), ERR_INVAL);
	CHECK_EQ(chan_radio_set_csma(w->ch, 40, CHAN_CSMA_HOST), ERR_NOT_FOUND);

	/* host: nothing added unless the KISS parameters say so */
	CHECK_EQ(chan_radio_set_csma(w->ch, a, CHAN_CSMA_HOST), ERR_OK);
	chan_radio_info(w->ch, a, &info);
	CHECK_EQ(info.csma, CHAN_CSMA_HOST);
	CHECK_EQ(info.txdelay, 0);
	CHECK_EQ(info.persistence, 255);
	CHECK_EQ(info.slottime, 0);
	uint64_t q = chan_now(w->ch);
	send_data(w, a, 40, 1);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(w->reps[0].start, q);
	set_byte(w, a, KISS_TXDELAY, 30);
	w->nrep = 0;
	q = chan_now(w->ch);
	send_data(w, a, 40, 1);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(w->reps[0].start, q + 300 * MS);
	/* the profile survives a re-attach; the modem boots with its defaults */
	chan_radio_attach(w->ch, a, false);
	chan_radio_attach(w->ch, a, true);
	chan_radio_info(w->ch, a, &info);
	CHECK_EQ(info.csma, CHAN_CSMA_HOST);
	CHECK_EQ(info.txdelay, 0);

	/* firmware: at once on a clear channel, KISS TXDELAY/persistence ignored */
	CHECK_EQ(chan_radio_set_csma(w->ch, b, CHAN_CSMA_FIRMWARE), ERR_OK);
	set_byte(w, b, KISS_TXDELAY, 50);
	set_byte(w, b, KISS_PERSISTENCE, 0);
	w->nrep = 0;
	q = chan_now(w->ch);
	send_data(w, b, 40, 2);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(w->reps[0].start, q);
	/* busy: it looks again 120, 240 or 360 ms later, not at the frame's end */
	set_byte(w, a, KISS_TXDELAY, 0);
	for (int k = 0; k < 30; k++) {
		w->nrep = 0;
		send_data(w, a, 100, 1);
		run(w, chan_now(w->ch) + 20 * MS);
		q = chan_now(w->ch);
		send_data(w, b, 20, 2);
		drain(w);
		CHECK_EQ(w->nrep, 2);
		CHECK_EQ(w->reps[1].sender, b);
		uint64_t d = w->reps[1].start - q;
		CHECK_EQ(d % (120 * MS), 0);
		CHECK(w->reps[1].start >= w->reps[0].end);
		CHECK(w->reps[1].start - w->reps[0].end < 360 * MS);
		CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
		CHECK_EQ(w->reps[1].outcome[a], CHAN_DELIVERED);
	}
	chan_radio_stats(w->ch, b, &rs);
	CHECK(rs.fw_retries >= 30);
	CHECK_EQ(rs.busy_timeouts, 0);
	CHECK_EQ(rs.csma_slots, 0);
	world_free(w);

	/* firmware: a channel busy for more than 4 s is used anyway (at the first
	 * look after 4000 ms); the default profile comes from the config */
	chan_config_default(&cfg);
	cfg.detect_symbols = 0;
	cfg.csma = CHAN_CSMA_FIRMWARE;
	w = world_new(&cfg, 12);
	a = chan_radio_add(w->ch, "A", true, NULL);
	b = chan_radio_add(w->ch, "B", true, NULL);
	chan_radio_info(w->ch, b, &info);
	CHECK_EQ(info.csma, CHAN_CSMA_FIRMWARE);
	CHECK_EQ(chan_radio_set_csma(w->ch, a, CHAN_CSMA_HOST), ERR_OK);
	set_byte(w, a, KISS_FULLDUPLEX, 1);
	w->resend[a] = 3;
	w->resend_len = 255;
	send_data(w, a, 255, 1); /* four 1512 ms frames back to back */
	run(w, T0 + 10 * MS);
	send_data(w, b, 10, 2);
	drain(w);
	CHECK_EQ(w->nrep, 5);
	int bi = -1;
	for (size_t i = 0; i < w->nrep; i++)
		if (w->reps[i].sender == b)
			bi = (int)i;
	CHECK(bi >= 0);
	if (bi >= 0) {
		uint64_t d = w->reps[bi].start - (T0 + 10 * MS);
		CHECK(d > 4000 * MS);
		CHECK(d <= 4360 * MS);
		CHECK_EQ(d % (120 * MS), 0);
		CHECK(w->reps[bi].start < w->reps[3].end); /* A was still on the air */
	}
	chan_radio_stats(w->ch, b, &rs);
	CHECK_EQ(rs.busy_timeouts, 1);
	CHECK(rs.fw_retries >= 12);
	world_free(w);
}

static void test_loss_statistics(void)
{
	struct world *w = world_new(NULL, 12345);
	int a = chan_radio_add(w->ch, "A", false, NULL);
	int b = chan_radio_add(w->ch, "B", false, NULL);
	struct chan_link l = CHAN_LINK_DEFAULT;
	l.loss = 0.3;
	CHECK_EQ(chan_link_set(w->ch, a, b, &l), ERR_OK);
	fast(w, a);
	for (int i = 0; i < 1000; i++) {
		CHECK_EQ(chan_radio_send(w->ch, a, (const uint8_t *)"0123456789", 10), ERR_OK);
		drain(w);
	}
	printf("loss 0.3 over 1000 frames (seed 12345): %u delivered\n", w->rx[b]);
	CHECK(w->rx[b] >= 600 && w->rx[b] <= 800);
	CHECK_EQ(w->outcome_sum[CHAN_DELIVERED] + w->outcome_sum[CHAN_LOST], 1000);
	CHECK_EQ(w->outcome_sum[CHAN_DELIVERED], w->rx[b]);
	/* one-way link: B is not heard by A */
	CHECK_EQ(w->rx[a], 0);
	chan_radio_send(w->ch, b, (const uint8_t *)"x", 1);
	w->nrep = 0;
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(w->reps[0].outcome[a], -1);
	CHECK_EQ(w->rx[a], 0);
	world_free(w);
}

static void test_settings_isolate(void)
{
	struct world *w = world_new(NULL, 8);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	int c = chan_radio_add(w->ch, "C", true, NULL);
	fast(w, a);
	fast(w, b);
	set_radio(w, b, 869618000u, 62500, 9, 5);
	/* A (SF8) and B (SF9) both transmit at once: C (SF8) hears A cleanly */
	send_data(w, a, 20, 1);
	send_data(w, b, 20, 2);
	drain(w);
	CHECK_EQ(w->nrep, 2);
	for (size_t i = 0; i < 2; i++) {
		if (w->reps[i].sender == a) {
			CHECK_EQ(w->reps[i].outcome[b], -1);
			CHECK_EQ(w->reps[i].outcome[c], CHAN_DELIVERED);
		} else {
			CHECK_EQ(w->reps[i].outcome[a], -1);
			CHECK_EQ(w->reps[i].outcome[c], -1);
		}
	}
	CHECK_EQ(w->rx[b], 0);
	CHECK_EQ(w->rx[c], 1);
	/* another frequency or coding rate isolates as well */
	set_radio(w, b, 869618000u, 62500, 8, 6);
	w->nrep = 0;
	send_data(w, a, 20, 1);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[b], -1);
	set_radio(w, b, 869000000u, 62500, 8, 5);
	w->nrep = 0;
	send_data(w, a, 20, 1);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[b], -1);
	/* same settings again: heard */
	set_radio(w, b, 869618000u, 62500, 8, 5);
	w->nrep = 0;
	send_data(w, a, 20, 1);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
	/* changing settings during a reception loses the frame */
	w->nrep = 0;
	send_data(w, a, 100, 1);
	run(w, chan_now(w->ch) + 50 * MS);
	set_radio(w, b, 869618000u, 62500, 7, 5);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_LOST);
	world_free(w);
}

static void test_topology_changes(void)
{
	struct world *w = world_new(NULL, 9);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	int c = chan_radio_add(w->ch, "C", true, NULL);
	fast(w, a);
	fast(w, b);

	/* B down: A's frame is not heard by B, B's frame is heard by nobody */
	CHECK_EQ(chan_radio_set_up(w->ch, b, false), ERR_OK);
	send_data(w, a, 20, 1);
	drain(w);
	send_data(w, b, 20, 2);
	drain(w);
	CHECK_EQ(w->nrep, 2);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DOWN);
	CHECK_EQ(w->reps[0].outcome[c], CHAN_DELIVERED);
	CHECK_EQ(w->reps[1].outcome[a], CHAN_DOWN);
	CHECK_EQ(w->reps[1].outcome[c], CHAN_DOWN);
	CHECK_EQ(w->done[b], 1); /* its modem still reports TxDone */
	CHECK_EQ(w->rx[b], 0);
	CHECK_EQ(chan_radio_set_up(w->ch, b, true), ERR_OK);

	/* link A->C down (one way): C misses A, A still hears C */
	CHECK_EQ(chan_link_set_up(w->ch, a, c, false), ERR_OK);
	w->nrep = 0;
	send_data(w, a, 20, 1);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[c], CHAN_DOWN);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
	fast(w, c);
	send_data(w, c, 20, 3);
	drain(w);
	CHECK_EQ(w->reps[1].outcome[a], CHAN_DELIVERED);
	CHECK_EQ(chan_link_set_up(w->ch, a, c, true), ERR_OK);
	w->nrep = 0;
	send_data(w, a, 20, 1);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[c], CHAN_DELIVERED);

	/* going down in the middle of a reception loses it */
	w->nrep = 0;
	send_data(w, a, 100, 1);
	run(w, chan_now(w->ch) + 100 * MS);
	chan_radio_set_up(w->ch, c, false);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[c], CHAN_DOWN);
	chan_radio_set_up(w->ch, c, true);

	/* out of range: not a receiver at all */
	CHECK_EQ(chan_link_clear(w->ch, a, c), ERR_OK);
	CHECK_EQ(chan_link_set_up(w->ch, a, c, true), ERR_NOT_FOUND);
	CHECK_EQ(chan_link_get(w->ch, a, c, NULL, NULL), ERR_NOT_FOUND);
	w->nrep = 0;
	send_data(w, a, 20, 1);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[c], -1);
	struct chan_link l;
	bool up;
	CHECK_EQ(chan_link_get(w->ch, c, a, &l, &up), ERR_OK);
	CHECK(up);
	CHECK_EQ(l.rssi, -70);

	/* a radio that is down is never busy, and a downed sender is not sensed */
	chan_radio_set_up(w->ch, a, false);
	send_data(w, a, 100, 1);
	run(w, chan_now(w->ch) + 50 * MS);
	CHECK(!chan_radio_busy(w->ch, b));
	drain(w);
	chan_radio_set_up(w->ch, a, true);
	world_free(w);
}

static void test_detach_and_remove(void)
{
	struct chan_config cfg;
	chan_config_default(&cfg);
	cfg.max_radios = 3;
	struct world *w = world_new(&cfg, 10);
	int a = chan_radio_add(w->ch, "A", true, NULL);
	int b = chan_radio_add(w->ch, "B", true, NULL);
	int c = chan_radio_add(w->ch, "C", true, NULL);
	CHECK_EQ(chan_radio_add(w->ch, "D", true, NULL), ERR_FULL);
	fast(w, a);

	/* A is unplugged while on the air: the transmission is cut (receivers see
	 * "down"), its slot stays busy until the planned end, no TxDone */
	send_data(w, a, 100, 1);
	run(w, T0 + 50 * MS);
	CHECK_EQ(chan_radio_attach(w->ch, a, false), ERR_OK);
	CHECK(!chan_radio_busy(w->ch, b));
	CHECK_EQ(chan_modem_input(w->ch, a, KISS_DATA, (const uint8_t *)"x", 1), ERR_CLOSED);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DOWN);
	CHECK_EQ(w->reps[0].outcome[c], CHAN_DOWN);
	CHECK_EQ(w->rx[b], 0);
	CHECK_EQ(w->rx[c], 0);
	CHECK_EQ(w->done[a], 0);
	CHECK_EQ(count_type(w, a, KISS_SETHARDWARE, KISS_HW_TX_DONE), 0);
	/* a detached radio hears nothing and is not a receiver */
	fast(w, b);
	w->nrep = 0;
	send_data(w, b, 10, 2);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[a], -1);
	CHECK_EQ(w->reps[0].outcome[c], CHAN_DELIVERED);
	/* plugged in again: a fresh modem (TXDELAY back to 500 ms) that hears again */
	CHECK_EQ(chan_radio_attach(w->ch, a, true), ERR_OK);
	struct chan_radio_info info;
	chan_radio_info(w->ch, a, &info);
	CHECK_EQ(info.txdelay, 50);
	w->nrep = 0;
	send_data(w, b, 10, 2);
	drain(w);
	CHECK_EQ(w->reps[0].outcome[a], CHAN_DELIVERED);

	/* C removed while on the air: its id is free again only after the frame */
	fast(w, c);
	w->nrep = 0;
	send_data(w, c, 100, 3);
	run(w, chan_now(w->ch) + 50 * MS);
	chan_radio_remove(w->ch, c);
	CHECK(!chan_radio_exists(w->ch, c));
	CHECK_EQ(chan_radio_add(w->ch, "D", true, NULL), ERR_FULL);
	drain(w);
	CHECK_EQ(w->nrep, 1);
	CHECK_EQ(w->reps[0].outcome[a], CHAN_DOWN);
	int d = chan_radio_add(w->ch, "D", true, NULL);
	CHECK_EQ(d, c);
	CHECK_STR(chan_radio_name(w->ch, d), "D");
	/* the newcomer does not inherit frames already on the air */
	fast(w, a);
	w->nrep = 0;
	send_data(w, a, 100, 1);
	run(w, chan_now(w->ch) + 50 * MS);
	chan_radio_remove(w->ch, d);
	d = -1;
	drain(w);
	CHECK_EQ(w->reps[0].outcome[b], CHAN_DELIVERED);
	CHECK_EQ(w->reps[0].outcome[c], -1); /* it left in the middle: gone from the list */
	world_free(w);
}

/* Ten radios, random traffic, two runs with the same seed give the same trace;
 * every frame ends in exactly one outcome per receiver. */
static uint64_t random_run(uint64_t seed, struct chan_stats *st, unsigned *sent)
{
	struct world *w = world_new(NULL, seed);
	struct rng_seeded traffic_s;
	struct rng traffic;
	rng_seeded_init(&traffic_s, &traffic, seed * 7 + 1);
	for (int i = 0; i < 10; i++) {
		char name[8] = {'n', (char)('0' + i), 0};
		CHECK_EQ(chan_radio_add(w->ch, name, true, NULL), i);
		set_byte(w, i, KISS_TXDELAY, 0);
	}
	*sent = 0;
	uint64_t t = T0;
	for (int k = 0; k < 2000; k++) {
		t += rng_range(&traffic, 1, 400) * MS;
		run(w, t);
		int id = (int)rng_range(&traffic, 0, 10);
		uint8_t f[64];
		rng_fill(&traffic, f, sizeof(f));
		if (chan_radio_send(w->ch, id, f, 1 + f[0] % 64) == ERR_OK)
			(*sent)++;
	}
	drain(w);
	chan_stats(w->ch, st);
	uint64_t h = w->trace_hash;
	world_free(w);
	return h;
}

static void test_reproducible(void)
{
	struct chan_stats s1, s2;
	unsigned n1, n2;
	uint64_t h1 = random_run(42, &s1, &n1);
	uint64_t h2 = random_run(42, &s2, &n2);
	CHECK(h1 == h2);
	CHECK_EQ(n1, n2);
	CHECK_EQ(s1.tx, n1);
	unsigned total = 0;
	for (int o = 0; o < CHAN_OUTCOMES; o++)
		total += s1.rx[o];
	CHECK_EQ(total, 9 * s1.tx); /* everyone hears everyone */
	CHECK(s1.rx[CHAN_DELIVERED] > 0);
	CHECK(s1.rx[CHAN_COLLIDED] > 0); /* busy traffic collides sometimes */
	printf("10 radios, %u frames: delivered %u collided %u deaf %u\n", s1.tx,
	       s1.rx[CHAN_DELIVERED], s1.rx[CHAN_COLLIDED], s1.rx[CHAN_DEAF]);
	struct chan_stats s3;
	unsigned n3;
	CHECK(random_run(43, &s3, &n3) != h1);
}

int main(void)
{
	test_airtime_and_delivery();
	test_modem_commands();
	test_collisions_and_capture();
	test_half_duplex();
	test_csma();
	test_csma_profiles();
	test_loss_statistics();
	test_settings_isolate();
	test_topology_changes();
	test_detach_and_remove();
	test_reproducible();
	return harness_done("test_channel");
}
