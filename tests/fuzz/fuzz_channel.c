/*
 * fuzz_channel.c - libFuzzer target for the channel model and its KISS modems
 * (src/sim/channel.h) driven by a script.
 *
 * The input is a sequence of operations on a channel of up to 6 radios:
 * KISS frames from a host (any type, any bytes), time steps, radios going
 * up/down, being unplugged, removed and re-added, links set, cleared and
 * taken down.  Invariants: frames out are 1..255 bytes, host frames fit a
 * KISS frame, every report lists each receiver at most once and never the
 * sender, time never runs backwards, and the run always drains.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kiss.h"
#include "sim/channel.h"
#include "util/err.h"

#define NR 6

struct ctx {
	struct chan *ch;
	uint64_t last_report_end;
};

static void on_host(void *c, int radio, uint8_t type, const uint8_t *d, size_t n)
{
	(void)c;
	(void)type;
	(void)d;
	if (radio < 0 || radio >= NR || n > KISS_MAX_FRAME + 1)
		abort();
}

static void on_rx(void *c, int radio, const uint8_t *f, size_t n, int snr, int rssi)
{
	(void)c;
	(void)f;
	(void)snr;
	(void)rssi;
	if (radio < 0 || radio >= NR || n == 0 || n > CHAN_MAX_FRAME)
		abort();
}

static void on_report(void *c, const struct chan_tx_report *r)
{
	struct ctx *x = c;
	bool seen[NR] = {false};
	if (r->len == 0 || r->len > CHAN_MAX_FRAME || r->end_us < r->start_us || r->rx_count > NR)
		abort();
	if (r->end_us > chan_now(x->ch) || r->end_us < x->last_report_end)
		abort();
	x->last_report_end = r->end_us;
	for (size_t i = 0; i < r->rx_count; i++) {
		int id = r->rx[i].radio;
		if (id < 0 || id >= NR || id == r->sender || seen[id] ||
		    (unsigned)r->rx[i].outcome >= CHAN_OUTCOMES)
			abort();
		seen[id] = true;
	}
}

/* Reads one byte of the script (zero past its end). */
static uint8_t next(const uint8_t **p, const uint8_t *end)
{
	return *p < end ? *(*p)++ : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx x = {0};
	struct chan_config cfg;
	struct rng_seeded s;
	struct rng rng;
	const uint8_t *p = data, *end = data + size;
	static const char *names[NR] = {"a", "b", "c", "d", "e", "f"};

	chan_config_default(&cfg);
	cfg.max_radios = NR;
	rng_seeded_init(&s, &rng, 1 + (size ? data[0] : 0));
	struct chan_ops ops = {
	    .host_frame = on_host, .rx = on_rx, .tx_report = on_report, .ctx = &x};
	x.ch = chan_new(&cfg, &ops, &rng, 1000);
	if (!x.ch)
		abort();
	for (int i = 0; i < 4; i++)
		chan_radio_add(x.ch, names[i], true, NULL);

	uint64_t now = 1000;
	int ops_done = 0;
	while (p < end && ops_done++ < 2000) {
		uint8_t op = next(&p, end);
		int r = next(&p, end) % NR, r2 = next(&p, end) % NR;
		switch (op % 10) {
		case 0:
		case 1:
		case 2: { /* a KISS frame from the host */
			uint8_t type = next(&p, end);
			size_t n = next(&p, end);
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			chan_modem_input(x.ch, r, type, p, n);
			p += n;
			break;
		}
		case 3: { /* time passes */
			uint64_t step = (uint64_t)next(&p, end) << (next(&p, end) % 24);
			now += step;
			chan_advance(x.ch, now);
			if (chan_now(x.ch) != now)
				abort();
			break;
		}
		case 4:
			if (op & 0x20) /* a CSMA profile; 3 is none */
				chan_radio_set_csma(x.ch, r, (enum chan_csma)((op >> 6) & 3));
			else
				chan_radio_set_up(x.ch, r, op & 0x10);
			break;
		case 5: chan_radio_attach(x.ch, r, op & 0x10); break;
		case 6:
			if (op & 0x10)
				chan_radio_remove(x.ch, r);
			else
				chan_radio_add(x.ch, names[r], op & 0x20, NULL);
			break;
		case 7: {
			struct chan_link l = {(int16_t)(int8_t)next(&p, end),
			                      (int16_t) - (int)next(&p, end),
			                      next(&p, end) / 255.0};
			chan_link_set(x.ch, r, r2, &l);
			break;
		}
		case 8: chan_link_clear(x.ch, r, r2); break;
		case 9: chan_link_set_up(x.ch, r, r2, op & 0x10); break;
		}
	}
	/* drain: every pending frame goes out within bounded virtual time */
	for (int i = 0; i < 100000; i++) {
		uint64_t dl = chan_next_deadline(x.ch);
		if (dl == CHAN_NEVER)
			break;
		if (dl < now)
			dl = now;
		now = dl;
		chan_advance(x.ch, now);
	}
	if (chan_next_deadline(x.ch) != CHAN_NEVER)
		abort();
	chan_free(x.ch);
	return 0;
}
