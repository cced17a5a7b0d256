/*
 * bench_channel.c - how much faster than real time the channel model runs
 * (src/sim/channel.h) in virtual time: 10 radios, each handing its modem a
 * frame every few seconds on average, for 24 virtual hours.  Prints figures;
 * never passes or fails on them.
 */
#include <stdio.h>
#include <time.h>

#include "sim/channel.h"
#include "util/err.h"

struct counts {
	unsigned long rx, done, host_frames;
};

static void on_host(void *ctx, int radio, uint8_t type, const uint8_t *d, size_t n)
{
	struct counts *c = ctx;
	(void)radio;
	(void)type;
	(void)d;
	(void)n;
	c->host_frames++;
}

static void on_rx(void *ctx, int radio, const uint8_t *f, size_t n, int snr, int rssi)
{
	struct counts *c = ctx;
	(void)radio;
	(void)f;
	(void)n;
	(void)snr;
	(void)rssi;
	c->rx++;
}

static void on_done(void *ctx, int radio, bool ok)
{
	struct counts *c = ctx;
	(void)radio;
	(void)ok;
	c->done++;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	enum { N = 10 };
	const uint64_t hours = 24, end = hours * 3600ull * 1000000ull;
	struct chan_config cfg;
	struct rng_seeded s1, s2;
	struct rng chan_rng, traffic;
	struct counts c = {0};
	struct chan_ops ops = {.host_frame = on_host, .rx = on_rx, .tx_done = on_done, .ctx = &c};

	chan_config_default(&cfg);
	rng_seeded_init(&s1, &chan_rng, 1);
	rng_seeded_init(&s2, &traffic, 2);
	struct chan *ch = chan_new(&cfg, &ops, &chan_rng, 0);
	if (!ch)
		return 1;
	uint64_t next_send[N];
	for (int i = 0; i < N; i++) {
		char name[4] = {'n', (char)('0' + i), 0};
		chan_radio_add(ch, name, true, NULL);
		uint8_t zero = 0, p = 255;
		chan_modem_input(ch, i, 0x01, &zero, 1); /* TXDELAY 0, as MeshCore hosts do */
		chan_modem_input(ch, i, 0x02, &p, 1);
		next_send[i] = rng_range(&traffic, 0, 10000000);
	}

	unsigned long sent = 0, refused = 0, steps = 0;
	double t0 = wall_s();
	uint64_t now = 0;
	while (now < end) {
		uint64_t t = chan_next_deadline(ch);
		int who = -1;
		for (int i = 0; i < N; i++) {
			if (next_send[i] <= t) {
				t = next_send[i];
				who = i;
			}
		}
		if (t > end)
			t = end;
		now = t;
		chan_advance(ch, now);
		steps++;
		if (who >= 0 && next_send[who] == now) {
			uint8_t f[CHAN_MAX_FRAME];
			size_t len = 20 + rng_range(&traffic, 0, 100);
			rng_fill(&traffic, f, len);
			if (chan_radio_send(ch, who, f, len) == ERR_OK)
				sent++;
			else
				refused++;
			next_send[who] = now + rng_range(&traffic, 1000000, 20000000);
		}
	}
	double wall = wall_s() - t0;
	struct chan_stats st;
	chan_stats(ch, &st);
	printf("bench_channel: %d radios, %llu virtual hours in %.3f s wall: %.0fx real time\n", N,
	       (unsigned long long)hours, wall, (double)end / 1e6 / (wall > 0 ? wall : 1e-9));
	printf("bench_channel: %lu frames queued (%lu refused), %u sent, %lu steps, %.0f ns/step, "
	       "channel busy %.1f%%\n",
	       sent, refused, st.tx, steps, wall * 1e9 / (double)(steps ? steps : 1),
	       100.0 * (double)st.airtime_us / (double)end);
	printf("bench_channel: receptions delivered %u collided %u deaf %u; %lu rx callbacks\n",
	       st.rx[CHAN_DELIVERED], st.rx[CHAN_COLLIDED], st.rx[CHAN_DEAF], c.rx);
	chan_free(ch);
	return 0;
}
