/*
 * test_topo.c - the topology file (src/sim/topo.h): statements, link forms,
 * modes and defaults, every error with its line number, hostile input
 * (no terminator, NUL bytes, long lines), and applying a topology to a
 * channel.
 */
#include "harness.h"
#include "sim/topo.h"
#include "util/err.h"

static int parse(struct topo *t, const char *text, int *line, char *err, size_t cap)
{
	return topo_parse(t, text, strlen(text), line, err, cap);
}

static void test_good(void)
{
	struct topo t;
	int line;
	char err[128];
	const char *text = "# a line of three\n"
	                   "radio A 7001\n"
	                   "radio B 7002   # comment after\n"
	                   "\tradio C 0 down\r\n"
	                   "\n"
	                   "default snr=5.25 rssi=-80\n"
	                   "link A B snr=10 rssi=-60 loss=0.25\n"
	                   "link B -> C\n"
	                   "link C <- A down\n"
	                   "link1 C B loss=1\n"
	                   "link A <-> C rssi=-99";
	CHECK_EQ(parse(&t, text, &line, err, sizeof(err)), ERR_OK);
	CHECK_EQ(t.n_radios, 3);
	CHECK_STR(t.radios[0].name, "A");
	CHECK_EQ(t.radios[0].port, 7001);
	CHECK_EQ(t.radios[2].port, 0);
	CHECK(t.radios[2].down);
	CHECK(!t.radios[1].down);
	CHECK_EQ(t.radios[1].line, 3);
	CHECK_EQ(t.mode, TOPO_MODE_LINKS); /* link lines and no mode line */
	CHECK_EQ(t.def.snr_x4, 21);
	CHECK_EQ(t.def.rssi, -80);
	CHECK_EQ(t.n_links, 5);
	const struct topo_link *l = &t.links[0];
	CHECK(l->both && l->has_snr && l->has_rssi && l->has_loss && !l->down);
	CHECK_EQ(l->p.snr_x4, 40);
	CHECK_EQ(l->p.rssi, -60);
	CHECK(l->p.loss == 0.25);
	l = &t.links[1];
	CHECK(!l->both);
	CHECK_STR(l->a, "B");
	CHECK_STR(l->b, "C");
	struct chan_link p = topo_link_params(&t, l);
	CHECK_EQ(p.snr_x4, 21); /* the file's default */
	CHECK_EQ(p.rssi, -80);
	l = &t.links[2]; /* C <- A: A is heard by C */
	CHECK(!l->both && l->down);
	CHECK_STR(l->a, "A");
	CHECK_STR(l->b, "C");
	l = &t.links[3];
	CHECK(!l->both);
	CHECK_STR(l->a, "C");
	CHECK_STR(l->b, "B");
	CHECK(t.links[4].both);
	topo_free(&t);

	/* no link lines: full mode; an explicit mode wins */
	CHECK_EQ(parse(&t, "radio A 1\nradio B 2\n", &line, err, sizeof(err)), ERR_OK);
	CHECK_EQ(t.mode, TOPO_MODE_FULL);
	topo_free(&t);
	CHECK_EQ(parse(&t, "mode full\nradio A 1\nradio B 2\nlink A B\n", &line, err, sizeof(err)),
	         ERR_OK);
	CHECK_EQ(t.mode, TOPO_MODE_FULL);
	topo_free(&t);
	CHECK_EQ(parse(&t, "mode links\n", &line, err, sizeof(err)), ERR_OK);
	CHECK_EQ(t.mode, TOPO_MODE_LINKS);
	CHECK_EQ(t.n_radios, 0);
	topo_free(&t);
	CHECK_EQ(parse(&t, "", &line, err, sizeof(err)), ERR_OK);
	CHECK_EQ(t.def.rssi, -70);
	topo_free(&t);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		int line;
		const char *msg; /* start of the message */
	} cases[] = {
	    {"radio A\n", 1, "usage: radio"},
	    {"radio A 1 up\n", 1, "usage: radio"},
	    {"radio A 65536\n", 1, "PORT"},
	    {"radio A -1\n", 1, "PORT"},
	    {"radio A 1x\n", 1, "PORT"},
	    {"radio A 1 csma=fw\n", 1, "csma= wants modem, host or firmware"},
	    {"radio A 1 csma=\n", 1, "csma= wants"},
	    {"radio A 1 csma=host csma=modem\n", 1, "usage: radio"},
	    {"radio A 1 down down\n", 1, "usage: radio"},
	    {"radio A 1 down csma=host x\n", 1, "usage: radio"},
	    {"\nradio A 1\nradio A 2\n", 3, "radio A already declared on line 2"},
	    {"radio A 5\nradio B 5\n", 2, "port 5 already belongs to radio A"},
	    {"radio ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 1\n", 1, "radio name too long"},
	    {"mode\n", 1, "usage: mode"},
	    {"mode some\n", 1, "usage: mode"},
	    {"default snr=99\n", 1, "snr="},
	    {"default rssi=x\n", 1, "rssi="},
	    {"default loss=1.5\n", 1, "loss="},
	    {"default loss=nan\n", 1, "loss="},
	    {"default down\n", 1, "unknown link parameter"},
	    {"radio A 1\nradio B 2\nlink A\n", 3, "a link wants two"},
	    {"radio A 1\nradio B 2\nlink A ->\n", 3, "a link wants two"},
	    {"radio A 1\nlink A A\n", 2, "a link needs two different"},
	    {"radio A 1\nradio B 2\nlink A B loud\n", 3, "unknown link word"},
	    {"radio A 1\n\nlink A Q\n", 3, "unknown radio Q"},
	    {"link Q -> A\nradio A 1\n", 1, "unknown radio Q"},
	    {"frobnicate\n", 1, "unknown statement"},
	    {"a b c d e f g h i j k l m n o p q\n", 1, "too many words"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct topo t;
		int line = -1;
		char err[128];
		int rc = parse(&t, cases[i].text, &line, err, sizeof(err));
		CHECK_EQ(rc, ERR_CONFIG);
		CHECK_EQ(line, cases[i].line);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0) {
			CHECK_STR(err, cases[i].msg);
			fprintf(stderr, "  case %zu: %s\n", i, cases[i].text);
		}
		topo_free(&t);
	}

	/* hostile bytes: NUL inside a line, no terminator, an overlong line */
	struct topo t;
	int line;
	char err[64];
	static const char nul[] = "radio A 1\nradio B\0 2\n";
	CHECK_EQ(topo_parse(&t, nul, sizeof(nul) - 1, &line, err, sizeof(err)), ERR_CONFIG);
	CHECK_EQ(line, 2);
	topo_free(&t);
	CHECK_EQ(topo_parse(&t, "radio A 12345", 9, &line, err, sizeof(err)), ERR_OK);
	CHECK_EQ(t.radios[0].port, 1); /* only len bytes are read */
	topo_free(&t);
	static char longl[TOPO_LINE_MAX + 40];
	memset(longl, ' ', sizeof(longl));
	memcpy(longl + TOPO_LINE_MAX + 10, "radio A 1", 9);
	CHECK_EQ(topo_parse(&t, longl, sizeof(longl), &line, err, sizeof(err)), ERR_CONFIG);
	CHECK_STR(err, "line too long");
	topo_free(&t);
	/* a line of exactly the maximum is fine */
	memset(longl, ' ', sizeof(longl));
	memcpy(longl, "radio A 1", 9);
	longl[TOPO_LINE_MAX] = '\n';
	CHECK_EQ(topo_parse(&t, longl, TOPO_LINE_MAX + 1, &line, err, sizeof(err)), ERR_OK);
	topo_free(&t);
	/* a tiny error buffer is still terminated */
	char tiny[4];
	CHECK_EQ(parse(&t, "frobnicate\n", &line, tiny, sizeof(tiny)), ERR_CONFIG);
	CHECK_EQ(strlen(tiny), 3);
	topo_free(&t);
}

static void noop_fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0, n);
}

static void test_apply(void)
{
	struct rng rng = {noop_fill, NULL};
	struct chan_config cfg;
	struct topo t;
	int line, ids[4];
	char err[64];

	chan_config_default(&cfg);
	struct chan *ch = chan_new(&cfg, NULL, &rng, 0);
	CHECK(ch != NULL);
	CHECK_EQ(parse(&t,
	               "radio A 1\nradio B 2\nradio C 3 down\nlink A B snr=-3 loss=0.5\n"
	               "link B -> C down\n",
	               &line, err, sizeof(err)),
	         ERR_OK);
	CHECK_EQ(topo_apply(&t, ch, ids), ERR_OK);
	CHECK_STR(chan_radio_name(ch, ids[2]), "C");
	struct chan_link l;
	bool up;
	CHECK_EQ(chan_link_get(ch, ids[0], ids[1], &l, &up), ERR_OK);
	CHECK(up);
	CHECK_EQ(l.snr_x4, -12);
	CHECK_EQ(l.rssi, -70);
	CHECK(l.loss == 0.5);
	CHECK_EQ(chan_link_get(ch, ids[1], ids[0], &l, NULL), ERR_OK);
	CHECK_EQ(chan_link_get(ch, ids[1], ids[2], &l, &up), ERR_OK);
	CHECK(!up);
	CHECK_EQ(chan_link_get(ch, ids[2], ids[1], &l, NULL), ERR_NOT_FOUND);
	CHECK_EQ(chan_link_get(ch, ids[0], ids[2], &l, NULL), ERR_NOT_FOUND); /* links mode */
	struct chan_radio_info info;
	chan_radio_info(ch, ids[2], &info);
	CHECK(!info.up);
	/* applying twice clashes on names */
	CHECK_EQ(topo_apply(&t, ch, NULL), ERR_INVAL);
	topo_free(&t);
	chan_free(ch);

	/* full mode: every pair with the file's default, links adjust */
	ch = chan_new(&cfg, NULL, &rng, 0);
	CHECK_EQ(parse(&t,
	               "mode full\ndefault rssi=-90\nradio A 1\nradio B 2\nradio C 3\n"
	               "link A C rssi=-40\n",
	               &line, err, sizeof(err)),
	         ERR_OK);
	CHECK_EQ(topo_apply(&t, ch, ids), ERR_OK);
	CHECK_EQ(chan_link_get(ch, ids[1], ids[2], &l, NULL), ERR_OK);
	CHECK_EQ(l.rssi, -90);
	CHECK_EQ(chan_link_get(ch, ids[2], ids[0], &l, NULL), ERR_OK);
	CHECK_EQ(l.rssi, -40);
	/* a radio joining later with link_all gets the channel's default */
	int d = chan_radio_add(ch, "anon1", true, NULL);
	CHECK_EQ(chan_link_get(ch, ids[0], d, &l, NULL), ERR_OK);
	CHECK_EQ(l.rssi, -70);
	topo_free(&t);
	chan_free(ch);

	/* CSMA profiles: csma= per radio, the channel's default for the others */
	cfg.csma = CHAN_CSMA_HOST;
	ch = chan_new(&cfg, NULL, &rng, 0);
	CHECK_EQ(parse(&t,
	               "radio A 1 csma=firmware\nradio B 2\nradio C 3 csma=modem down\n"
	               "radio D 4 down csma=firmware\n",
	               &line, err, sizeof(err)),
	         ERR_OK);
	CHECK(t.radios[0].has_csma);
	CHECK_EQ(t.radios[0].csma, CHAN_CSMA_FIRMWARE);
	CHECK(!t.radios[1].has_csma);
	CHECK(t.radios[2].down);
	CHECK(t.radios[3].down);
	CHECK_EQ(topo_apply(&t, ch, ids), ERR_OK);
	static const enum chan_csma want[] = {CHAN_CSMA_FIRMWARE, CHAN_CSMA_HOST, CHAN_CSMA_MODEM,
	                                      CHAN_CSMA_FIRMWARE};
	for (int k = 0; k < 4; k++) {
		chan_radio_info(ch, ids[k], &info);
		CHECK_EQ(info.csma, want[k]);
	}
	chan_radio_info(ch, ids[2], &info);
	CHECK_EQ(info.txdelay, CHAN_TXDELAY_DEFAULT);
	chan_radio_info(ch, ids[1], &info);
	CHECK_EQ(info.txdelay, 0);
	CHECK_EQ(info.persistence, 255);
	topo_free(&t);
	chan_free(ch);
	cfg.csma = CHAN_CSMA_MODEM;

	/* too small a channel */
	cfg.max_radios = 2;
	ch = chan_new(&cfg, NULL, &rng, 0);
	CHECK_EQ(parse(&t, "radio A 1\nradio B 2\nradio C 3\n", &line, err, sizeof(err)), ERR_OK);
	CHECK_EQ(topo_apply(&t, ch, ids), ERR_FULL);
	topo_free(&t);
	chan_free(ch);
}

static void test_helpers(void)
{
	char line[] = "  link  A -> B up snr=3 # the rest\n";
	char *w[8];
	int n = topo_split(line, w, 8);
	CHECK_EQ(n, 6);
	struct topo_link l = {0};
	const char *e = NULL;
	int i = topo_parse_link_names(w, n, &l, &e);
	CHECK_EQ(i, 4);
	CHECK(!l.both);
	CHECK_STR(w[i], "up");
	CHECK(topo_parse_link_opts(w + i + 1, n - i - 1, &l, false) == NULL);
	CHECK_EQ(l.p.snr_x4, 12);
	CHECK(topo_parse_link_opts(w + i, n - i, &l, false) != NULL); /* `up' not allowed */
	char many[] = "a b c d";
	CHECK_EQ(topo_split(many, w, 3), ERR_TOO_BIG); /* err.h codes, not a private -1 */
	char one[] = "link A";
	n = topo_split(one, w, 8);
	CHECK_EQ(topo_parse_link_names(w, n, &l, &e), ERR_FORMAT);
	CHECK_STR(e, "a link wants two radio names");
}

int main(void)
{
	test_good();
	test_errors();
	test_apply();
	test_helpers();
	return harness_done("test_topo");
}
