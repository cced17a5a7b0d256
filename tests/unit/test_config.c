/*
 * test_config.c - the daemon's configuration file (src/sys/config.c): the
 * defaults, every daemon key parsed and range-checked, room keys passed
 * through, file syntax and its errors, and the commented default file
 * read back to the defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "room/settings.h"
#include "sys/config.h"
#include "sys/mqtt.h"
#include "util/err.h"
#include "util/log.h"

/* Reads text as a config file over c. */
static int read_text(struct app_config *c, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return ERR_SYS;
	int rc = app_config_read(f, "test.conf", c);
	fclose(f);
	return rc;
}

static void test_defaults(void)
{
	struct app_config c;
	app_config_defaults(&c);
	CHECK_EQ(c.radio_cfg.lp.freq_hz, 869618000);
	CHECK_EQ(c.radio_cfg.lp.bw_hz, 62500);
	CHECK_EQ(c.radio_cfg.lp.sf, 8);
	CHECK_EQ(c.radio_cfg.lp.cr, 5);
	CHECK_EQ(c.radio_cfg.tx_power_dbm, 22);
	CHECK_EQ(c.radio_cfg.txdelay_10ms, 0);
	CHECK_EQ(c.radio_cfg.persistence, 255);
	CHECK_EQ(c.radio_cfg.slottime_10ms, -1); /* the modem's, not sent */
	CHECK(!c.mesh.repeat);
	CHECK_STR(c.radio, "");
}

static void test_keys(void)
{
	struct app_config c;
	app_config_defaults(&c);

	CHECK_EQ(app_config_set(&c, "radio", "tcp:127.0.0.1:7300"), ERR_OK);
	CHECK_STR(c.radio, "tcp:127.0.0.1:7300");
	CHECK_EQ(app_config_set(&c, "freq", "910.525"), ERR_OK);
	CHECK_EQ(c.radio_cfg.lp.freq_hz, 910525000);
	CHECK_EQ(app_config_set(&c, "bw", "250"), ERR_OK);
	CHECK_EQ(c.radio_cfg.lp.bw_hz, 250000);
	CHECK_EQ(app_config_set(&c, "sf", "7"), ERR_OK);
	CHECK_EQ(c.radio_cfg.lp.sf, 7);
	CHECK_EQ(app_config_set(&c, "cr", "8"), ERR_OK);
	CHECK_EQ(c.radio_cfg.lp.cr, 8);
	CHECK_EQ(app_config_set(&c, "tx", "-9"), ERR_OK);
	CHECK_EQ(c.radio_cfg.tx_power_dbm, -9);
	CHECK_EQ(app_config_set(&c, "repeat", "on"), ERR_OK);
	CHECK(c.mesh.repeat);
	CHECK_EQ(app_config_set(&c, "repeat", "no"), ERR_OK);
	CHECK(!c.mesh.repeat);
	CHECK_EQ(app_config_set(&c, "af", "9"), ERR_OK);
	CHECK(c.mesh.airtime_factor == 9.0);
	CHECK_EQ(app_config_set(&c, "txdelay", "1.5"), ERR_OK);
	CHECK(c.mesh.tx_delay_factor == 1.5);
	CHECK_EQ(app_config_set(&c, "direct.txdelay", "0"), ERR_OK);
	CHECK(c.mesh.direct_tx_delay_factor == 0.0);
	CHECK_EQ(app_config_set(&c, "flood.max", "3"), ERR_OK);
	CHECK_EQ(c.mesh.flood_max, 3);
	CHECK_EQ(app_config_set(&c, "flood.max.unscoped", "2"), ERR_OK);
	CHECK_EQ(c.mesh.flood_max_unscoped, 2);
	CHECK_EQ(app_config_set(&c, "flood.max.advert", "1"), ERR_OK);
	CHECK_EQ(c.mesh.flood_max_advert, 1);
	CHECK_EQ(app_config_set(&c, "kiss.txdelay", "50"), ERR_OK);
	CHECK_EQ(c.radio_cfg.txdelay_10ms, 50);
	CHECK_EQ(app_config_set(&c, "kiss.persistence", "63"), ERR_OK);
	CHECK_EQ(c.radio_cfg.persistence, 63);
	CHECK_EQ(app_config_set(&c, "kiss.slottime", "20"), ERR_OK);
	CHECK_EQ(c.radio_cfg.slottime_10ms, 20);

	/* out of range, fractions for integer keys, garbage: refused, value kept */
	static const char *const bad[][2] = {
	    {"freq", "149"},
	    {"freq", "2501"},
	    {"bw", "6.9"},
	    {"sf", "4"},
	    {"sf", "13"},
	    {"sf", "7.5"},
	    {"cr", "9"},
	    {"tx", "31"},
	    {"tx", "1e1"},
	    {"repeat", "maybe"},
	    {"af", "-1"},
	    {"af", "nan"},
	    {"txdelay", "2.1"},
	    {"flood.max", "65"},
	    {"flood.max.advert", "-1"},
	    {"kiss.txdelay", "256"},
	    {"kiss.persistence", "256"},
	    {"kiss.persistence", ""},
	    {"kiss.slottime", "x"},
	    {"freq", "869.5MHz"},
	    {"password", ""}, /* issue 13.12: every blank login would be admin */
	    {"guest.password", ""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct app_config before;
		memcpy(&before, &c, sizeof(c)); /* padding too: compared with memcmp */
		int rc = app_config_set(&c, bad[i][0], bad[i][1]);
		CHECK_EQ(rc, ERR_INVAL);
		CHECK(memcmp(&before, &c, sizeof(c)) == 0);
		if (rc != ERR_INVAL)
			fprintf(stderr, "  accepted %s = '%s'\n", bad[i][0], bad[i][1]);
	}
	CHECK_EQ(app_config_set(&c, "no.such.key", "1"), ERR_NOT_FOUND);

	/* room keys give the defaults of rooms created later */
	CHECK_EQ(app_config_set(&c, "guest.password", "s3cret"), ERR_OK);
	CHECK_STR(c.room.guest_password, "s3cret");
	CHECK_EQ(app_config_set(&c, "max.posts", "50000"), ERR_OK);
	CHECK_EQ(c.room.max_posts, 50000);
	CHECK(app_config_set(&c, "max.posts", "lots") != ERR_OK);
	CHECK_EQ(c.room.max_posts, 50000);
}

static void test_file(void)
{
	struct app_config c;
	app_config_defaults(&c);

	CHECK_EQ(read_text(&c, "# a comment\n"
	                       "\n"
	                       "   \t\n"
	                       "  sf = 9  \n"
	                       "freq=868.1\r\n"
	                       "\tname = hilltop room\n"
	                       "kiss.persistence = 63"), /* no newline at the end */
	         ERR_OK);
	CHECK_EQ(c.radio_cfg.lp.sf, 9);
	CHECK_EQ(c.radio_cfg.lp.freq_hz, 868100000);
	CHECK_STR(c.room.name, "hilltop room"); /* inner spaces kept */
	CHECK_EQ(c.radio_cfg.persistence, 63);

	/* every bad line is an error; the good lines around it still apply */
	app_config_defaults(&c);
	CHECK_EQ(read_text(&c, "sf = 10\nno equals sign\nbogus = 1\ncr = 99\ntx = 5\n"),
	         ERR_CONFIG);
	CHECK_EQ(c.radio_cfg.lp.sf, 10);
	CHECK_EQ(c.radio_cfg.lp.cr, 5);
	CHECK_EQ(c.radio_cfg.tx_power_dbm, 5);

	/* a line longer than the reader's buffer is refused, not split */
	char *longl = malloc(3000);
	CHECK(longl != NULL);
	if (longl) {
		memset(longl, 'x', 2998);
		memcpy(longl, "name = ", 7);
		longl[2998] = '\n';
		longl[2999] = 0;
		app_config_defaults(&c);
		CHECK_EQ(read_text(&c, longl), ERR_CONFIG);
		free(longl);
	}

	/* a missing file: fine unless it must exist */
	CHECK_EQ(app_config_load("/nonexistent/roomd.conf", &c, false), ERR_OK);
	CHECK_EQ(app_config_load("/nonexistent/roomd.conf", &c, true), ERR_CONFIG);
}

/* The written default file lists every key commented out: read back as is it
 * changes nothing, and with the comment marks removed it gives the defaults. */
static void test_default_file(void)
{
	char path[] = "/tmp/test_config.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	CHECK_EQ(app_config_write_default(path), ERR_OK);

	struct app_config dflt, c;
	app_config_defaults(&dflt);
	app_config_defaults(&c);
	CHECK_EQ(app_config_load(path, &c, true), ERR_OK);
	CHECK(memcmp(&dflt, &c, sizeof(c)) == 0);

	/* uncomment the "#key = value" lines (not the "# help" ones) */
	FILE *f = fopen(path, "r");
	char text[16384] = "", line[1024];
	size_t off = 0;
	int keys = 0;
	while (f && fgets(line, sizeof(line), f) && off + strlen(line) < sizeof(text)) {
		const char *l = line;
		if (line[0] == '#' && line[1] != ' ' && line[1] != '#' && strchr(line, '=')) {
			l = line + 1;
			keys++;
		}
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s", l);
	}
	if (f)
		fclose(f);
	unlink(path);
	CHECK(keys > 30);
	CHECK(strstr(text, "\nkiss.persistence = 255\n") != NULL);
	CHECK(strstr(text, "\nkiss.slottime = 10\n") != NULL);
	CHECK(strstr(text, "\nguest.password = hello\n") != NULL);
	/* the unit of each key, from the table, after its range (issue 15) */
	CHECK(strstr(text, "\n# latitude; -90 to 90 degrees\nlat = 0.000000\n") != NULL);
	CHECK(strstr(text, "\n# zero-hop advert period; 0 (off) or 60-240 minutes\n") != NULL);
	CHECK(strstr(text, "; 150 to 2500 MHz\nfreq = 869.618\n") != NULL);
	CHECK(strstr(text, "\n# transmit power (now); -9 to 30 dBm\ntx = 22\n") != NULL);
	for (size_t i = 0; i < room_setting_count + node_setting_count; i++) {
		const struct setting_def *d = i < room_setting_count
		                                  ? &room_setting_defs[i]
		                                  : &node_setting_defs[i - room_setting_count];
		char want[96];
		snprintf(want, sizeof(want), " %s\n", d->unit);
		if (d->unit && (setting_doors(d) & SET_DOOR_FILE))
			CHECK(strstr(text, want) != NULL);
	}
	CHECK_EQ(read_text(&c, text), ERR_OK);
	/* every value is the default; the slot time is now sent, as the modem's 10 */
	CHECK_EQ(c.radio_cfg.slottime_10ms, 10);
	c.radio_cfg.slottime_10ms = -1;
	CHECK(memcmp(&dflt.radio_cfg, &c.radio_cfg, sizeof(c.radio_cfg)) == 0);
	CHECK(memcmp(&dflt.mesh, &c.mesh, sizeof(c.mesh)) == 0);
	CHECK(memcmp(&dflt.room, &c.room, sizeof(c.room)) == 0);
}

/* The setup guide's spellings and quotes work in the file too (issue 14). */
static void test_guide_spellings(void)
{
	struct app_config c;
	app_config_defaults(&c);
	CHECK_EQ(read_text(&c, "advert_name = \"Valley Room Server\"\n"
	                       "guest_password = 'g3st'\n"
	                       "advert_lat = 37.3352\n"
	                       "freq = 869.618\n"),
	         ERR_OK);
	CHECK_STR(c.room.name, "Valley Room Server");
	CHECK_STR(c.room.guest_password, "g3st");
	CHECK(c.room.lat > 37.335 && c.room.lat < 37.336);
	CHECK_EQ(c.radio_cfg.lp.freq_hz, 869618000u);
	/* too long is an error, never cut */
	CHECK_EQ(read_text(&c, "name = 0123456789012345678901234567890123\n"), ERR_CONFIG);
	CHECK_STR(c.room.name, "Valley Room Server");
}

/* The file and `set` check a node key against the one range of the settings table. */
static void test_node_ranges(void)
{
	for (size_t i = 0; i < node_setting_count; i++) {
		const struct setting_def *d = &node_setting_defs[i];
		struct app_config c;
		char v[32];
		if (d->min == d->max)
			continue;
		app_config_defaults(&c);
		snprintf(v, sizeof(v), "%g", d->min);
		if (app_config_set(&c, d->key, v) == ERR_NOT_FOUND)
			continue; /* a command only (dutycycle sets af) */
		CHECK_EQ(app_config_set(&c, d->key, v), ERR_OK);
		snprintf(v, sizeof(v), "%g", d->max);
		CHECK_EQ(app_config_set(&c, d->key, v), ERR_OK);
		snprintf(v, sizeof(v), "%g", d->max + 1);
		CHECK(app_config_set(&c, d->key, v) != ERR_OK);
		snprintf(v, sizeof(v), "%g", d->min - 1);
		CHECK(app_config_set(&c, d->key, v) != ERR_OK);
	}
}

/* http.listen: the web page's address (default loopback), off, or refused. */
static void test_http_listen(void)
{
	struct app_config c;
	app_config_defaults(&c);
	CHECK_STR(c.http_listen, "127.0.0.1:8073");
	CHECK_EQ(app_config_set(&c, "http.listen", "off"), ERR_OK);
	CHECK_STR(c.http_listen, "off");
	CHECK_EQ(app_config_set(&c, "http.listen", "0.0.0.0:80"), ERR_OK);
	CHECK_EQ(app_config_set(&c, "http.listen", "[::1]:8073"), ERR_OK);
	CHECK_STR(c.http_listen, "[::1]:8073");
	const char *bad[] = {"localhost:80",    "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:x",
	                     "127.0.0.1:65536", "[::1:80",   "1.2.3.4:-1", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(app_config_set(&c, "http.listen", bad[i]), ERR_INVAL);
	CHECK_STR(c.http_listen, "[::1]:8073"); /* a refused value changes nothing */
}

/* fed.*: the federation's keys (issue 17); the URL itself is parsed by mqtt.c. */
static void test_fed_keys(void)
{
	struct app_config c;
	struct mqtt_cfg mc;
	char room[80];
	app_config_defaults(&c);
	CHECK_STR(c.fed.url, "");
	CHECK_EQ(app_config_set(&c, "fed.url", "mqtt://u:p@127.0.0.1:1883/valley"), ERR_OK);
	CHECK_EQ(app_config_set(&c, "fed.url", "http://x/valley"), ERR_INVAL);
	CHECK_STR(c.fed.url, "mqtt://u:p@127.0.0.1:1883/valley");
	CHECK_EQ(app_config_set(&c, "fed.site", "hill-1"), ERR_OK);
	CHECK_EQ(app_config_set(&c, "fed.site", "hill 1"), ERR_INVAL);
	CHECK_EQ(app_config_set(&c, "fed.site", "012345678901234567890123456789012"), ERR_INVAL);
	CHECK_STR(c.fed.site, "hill-1");
	CHECK_EQ(app_config_set(&c, "fed.cafile", "/etc/roomd/ca.crt"), ERR_OK);
	CHECK_EQ(app_config_set(&c, "fed.username", "a"), ERR_OK);
	CHECK_EQ(app_config_set(&c, "fed.password", "pw"), ERR_OK);
	CHECK_EQ(app_config_set(&c, "fed.nothing", "x"), ERR_NOT_FOUND);

	memset(&mc, 0, sizeof(mc));
	CHECK_EQ(mqtt_url_parse(c.fed.url, &mc, room, sizeof(room)), ERR_OK);
	CHECK_STR(mc.host, "127.0.0.1");
	CHECK_EQ(mc.port, 1883);
	CHECK_STR(mc.username, "u");
	CHECK_STR(mc.password, "p");
	CHECK_STR(room, "valley");
	CHECK(!mc.tls);
	memset(&mc, 0, sizeof(mc));
	CHECK_EQ(mqtt_url_parse("mqtts://broker.example.org/r1", &mc, room, sizeof(room)), ERR_OK);
	CHECK(mc.tls);
	CHECK_EQ(mc.port, 8883);
	CHECK_STR(mc.username, "");
	const char *bad[] = {"mqtt://host:1883/",   "mqtt://host:1883", "mqtt://host:0/r",
	                     "mqtt://host:65536/r", "mqtt://:1883/r",   "mqtt://host:1883/a/b",
	                     "mqtt://host:1883/r#", "mqtt://@host/r",   "tcp://host/r"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(mqtt_url_parse(bad[i], &mc, room, sizeof(room)), ERR_INVAL);
}

/* One settings table (issue 15): the room keys' rules at every door, the
 * daemon keys beside them, `radio` meaning the LoRa parameters in the file
 * as in `set` (the modem is `modem`; the old `radio = tcp:...` still works),
 * the keys only a command sets refused with their own error. */
static void test_one_table(void)
{
	struct app_config c;
	app_config_defaults(&c);
	/* rules that lived in cmd.c only: the file took these */
	CHECK_EQ(read_text(&c, "advert.interval = 5\n"), ERR_CONFIG);
	CHECK_EQ(read_text(&c, "flood.advert.interval = 1\n"), ERR_CONFIG);
	CHECK_EQ(read_text(&c, "loop.detect = bogus\n"), ERR_CONFIG);
	CHECK_EQ(read_text(&c, "name = a[b]\n"), ERR_CONFIG);
	CHECK_EQ(c.room.advert_interval_min, 60);
	CHECK_EQ(c.room.flood_advert_interval_h, 47);
	CHECK_STR(c.room.loop_detect, "off");
	CHECK_STR(c.room.name, "roomd");
	CHECK_EQ(read_text(&c, "advert.interval = 0\nflood.advert.interval = 3\n"
	                       "loop.detect = strict\n"),
	         ERR_OK);
	CHECK_EQ(c.room.advert_interval_min, 0);
	CHECK_EQ(c.room.flood_advert_interval_h, 3);
	CHECK_STR(c.room.loop_detect, "strict");

	/* radio: the LoRa parameters, as `set radio` (the file took this as
	 * the modem's spec) */
	CHECK_EQ(read_text(&c, "radio = 869.525,250,11,5\n"), ERR_OK);
	CHECK_EQ(c.radio_cfg.lp.freq_hz, 869525000u);
	CHECK_EQ(c.radio_cfg.lp.bw_hz, 250000u);
	CHECK_EQ(c.radio_cfg.lp.sf, 11);
	CHECK_EQ(c.radio_cfg.lp.cr, 5);
	CHECK_STR(c.radio, "");
	CHECK_EQ(read_text(&c, "radio = 869.525,250,13,5\n"), ERR_CONFIG);
	CHECK_EQ(c.radio_cfg.lp.sf, 11);
	/* the modem: `modem`, and `radio` with a spec as files have it */
	CHECK_EQ(read_text(&c, "radio = tcp:127.0.0.1:7300\n"), ERR_OK);
	CHECK_STR(c.radio, "tcp:127.0.0.1:7300");
	CHECK_EQ(read_text(&c, "modem = serial:/dev/ttyACM0\n"), ERR_OK);
	CHECK_STR(c.radio, "serial:/dev/ttyACM0");
	/* dutycycle, which `set` took and the file did not */
	CHECK_EQ(read_text(&c, "dutycycle = 25\n"), ERR_OK);
	CHECK(c.mesh.airtime_factor > 2.999 && c.mesh.airtime_factor < 3.001);
	/* keys a command sets only: their own error, not "unknown" */
	CHECK_EQ(app_config_set(&c, "prv.key", "00"), ERR_PERM);
	CHECK_EQ(app_config_set(&c, "radio.rxgain", "on"), ERR_PERM);
	CHECK_EQ(app_config_set_from(&c, "prv.key", "00", SET_DOOR_FLAG), ERR_PERM);
	CHECK_EQ(app_config_set_from(&c, "sf", "9", SET_DOOR_FLAG), ERR_OK);
	CHECK_EQ(read_text(&c, "prv.key = 00\n"), ERR_CONFIG);
	/* the table says which doors take a key */
	CHECK(!(setting_doors(node_setting_find("prv.key")) & SET_DOOR_FILE));
	CHECK(setting_doors(room_setting_find("name")) == SET_DOORS_ALL);
	CHECK(setting_find_any("kiss.txdelay") != NULL);
	CHECK(setting_lookup("kiss.txdelay") == NULL); /* not a key of `set` */
	/* ... and help set says it */
	char line[256];
	setting_help_line(node_setting_find("prv.key"), line, sizeof(line));
	CHECK(strstr(line, "(console only, by command)") != NULL);
	setting_help_line(node_setting_find("freq"), line, sizeof(line));
	CHECK(strstr(line, "(not over the radio)") != NULL);
	setting_help_line(node_setting_find("radio.rxgain"), line, sizeof(line));
	CHECK(strstr(line, "(by command only)") != NULL);
	setting_help_line(setting_find_any("http.listen"), line, sizeof(line));
	CHECK(strstr(line, "(roomd.conf or --set only)") != NULL);
	setting_help_line(room_setting_find("lat"), line, sizeof(line));
	CHECK_STR(line, "lat (advert_lat, latitude): latitude; -90 to 90 degrees");
}

int main(void)
{
	log_set_level(LOG_NONE); /* the reader logs each bad line */
	test_fed_keys();
	test_one_table();
	test_defaults();
	test_keys();
	test_file();
	test_default_file();
	test_guide_spellings();
	test_node_ranges();
	test_http_listen();
	return harness_done("test_config");
}
