/*
 * fuzz_topo.c - libFuzzer target for the topology file parser (src/sim/topo.h).
 *
 * Any input either parses or fails with a line number inside the input and
 * a terminated message; what parses applies to a channel (or fails only
 * for room), and every link it sets is then readable from the channel.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/topo.h"
#include "util/err.h"

static void zero_fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topo t;
	int line = -1;
	char err[96];
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	int rc = topo_parse(&t, (const char *)data, size, &line, err, sizeof(err));
	if (rc != ERR_OK) {
		if (rc != ERR_CONFIG || line < 1 || (size_t)line > lines ||
		    !memchr(err, 0, sizeof(err)))
			abort();
		topo_free(&t);
		return 0;
	}
	if (t.n_radios > TOPO_MAX_RADIOS)
		abort();
	struct rng rng = {zero_fill, NULL};
	struct chan_config cfg;
	chan_config_default(&cfg);
	cfg.max_radios = 32;
	struct chan *ch = chan_new(&cfg, NULL, &rng, 0);
	if (!ch)
		abort();
	rc = topo_apply(&t, ch, NULL);
	if (rc == ERR_OK) {
		for (size_t i = 0; i < t.n_links; i++) {
			int a = chan_radio_find(ch, t.links[i].a),
			    b = chan_radio_find(ch, t.links[i].b);
			if (a < 0 || b < 0 || chan_link_get(ch, a, b, NULL, NULL) != ERR_OK)
				abort();
		}
	} else if (rc != ERR_FULL && rc != ERR_INVAL) {
		abort();
	} else if (rc == ERR_FULL && t.n_radios <= 32) {
		abort();
	}
	chan_free(ch);
	topo_free(&t);
	return 0;
}
