/*
 * test_cmd.c - the admin command table (PROTOCOL.md §8) on a room with a
 * temporary store and a fake clock: the firmware's replies word for word,
 * float formats, every get key, node-wide settings, tempradio timing, the
 * region table, setperm, commands kept to the console, persistence across a
 * reopen, and the retention rule (max.posts; oldest posts dropped).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "proto/advert.h"
#include "proto/packet.h"
#include "proto/region.h"
#include "room/cmd.h"
#include "room/regions.h"
#include "room/room.h"
#include "room/settings.h"
#include "store/store.h"
#include "sys/config.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/log.h"
#include "tmpdb.h"

static int sent;
static int radio_changes, identity_saves, log_ops[4];
static uint8_t saved_pub[32];

static int transmit(void *ctx, const uint8_t *f, size_t len)
{
	(void)ctx;
	(void)f;
	(void)len;
	sent++;
	return ERR_OK;
}

static void on_radio(void *ctx, struct room *r)
{
	(void)ctx;
	(void)r;
	radio_changes++;
}

static int on_identity(void *ctx, struct room *r, const struct ident *id)
{
	(void)ctx;
	(void)r;
	identity_saves++;
	memcpy(saved_pub, id->pub, 32);
	return ERR_OK;
}

static int on_log(void *ctx, struct room *r, int op, char *out, size_t cap)
{
	(void)ctx;
	(void)r;
	log_ops[op]++;
	if (op == ROOM_LOG_DUMP && out)
		snprintf(out, cap, "line1\n");
	return ERR_OK;
}

static struct room room;
static char reply[4096];

/* Runs a command from the given door and returns the reply. */
static const char *run_as(const char *line, enum cmd_origin o)
{
	room_cmd(&room, line, o == CMD_REMOTE ? 1750000000 : 0, o, reply, sizeof(reply));
	return reply;
}

static const char *run(const char *line)
{
	return run_as(line, CMD_SERIAL);
}

static void test_ftoa(void)
{
	static const struct {
		float f;
		const char *s, *s3;
	} v[] = {
	    {869.618f, "869.6179809", "869.618"},
	    {0.2f, "0.1999999", "0.2"},
	    {62.5f, "62.5", "62.5"},
	    {250.0f, "250.0", "250"},
	    {0.0f, "0.0", "0"},
	    {-1.5f, "-1.5", "-1.5"},
	    {52.370216f, "52.3702163", "52.37"},
	    {4.895168f, "4.8951678", "4.895"},
	    {7.8f, "7.8000001", "7.8"},
	    {1.0f, "1.0", "1"},
	    {0.5f, "0.5", "0.5"},
	    {3e9f, "0", "0"},
	};
	char out[32];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		room_ftoa(v[i].f, out, sizeof(out));
		CHECK_STR(out, v[i].s);
		room_ftoa3(v[i].f, out, sizeof(out));
		CHECK_STR(out, v[i].s3);
	}
	room_ftoa(1e-9f, out, sizeof(out));
	CHECK_STR(out, "0"); /* below 2^-23: the firmware's fallback */
	room_ftoa(869.618f, out, 4);
	CHECK_EQ(strlen(out), 3);
}

/* Frequencies are integer Hz, printed as typed (issue 14: 869.618 became
 * 869617981 Hz through a float, and the room went deaf after a restart). */
static void test_radio_hz(void)
{
	static const struct {
		const char *in;
		unsigned dec;
		int rc;
		uint32_t v;
		const char *out;
	} v[] = {
	    {"869.618", 6, ERR_OK, 869618000u, "869.618"},
	    {"910.525", 6, ERR_OK, 910525000u, "910.525"},
	    {"869.6179809", 6, ERR_OK, 869617981u, "869.617981"},
	    {"868", 6, ERR_OK, 868000000u, "868"},
	    {"2500", 6, ERR_OK, 2500000000u, "2500"},
	    {"62.5", 3, ERR_OK, 62500u, "62.5"},
	    {".5", 3, ERR_OK, 500u, "0.5"},
	    {"4295", 6, ERR_INVAL, 0, NULL},
	    {"", 6, ERR_FORMAT, 0, NULL},
	    {".", 6, ERR_FORMAT, 0, NULL},
	    {"-1", 6, ERR_FORMAT, 0, NULL},
	    {"8e2", 6, ERR_FORMAT, 0, NULL},
	    {"1.2.3", 6, ERR_FORMAT, 0, NULL},
	    {"869.618 ", 6, ERR_FORMAT, 0, NULL},
	};
	char out[32];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t got = 0;
		CHECK_EQ(room_decimal_parse(v[i].in, v[i].dec, &got), v[i].rc);
		if (v[i].rc != ERR_OK)
			continue;
		CHECK_EQ(got, v[i].v);
		room_decimal_format(got, v[i].dec, out, sizeof(out));
		CHECK_STR(out, v[i].out);
	}
	struct lora_params saved = room.node->lp;
	CHECK(strncmp(run("set freq 869.618"), "OK - reboot to apply", 20) == 0);
	CHECK_EQ(room.node->lp.freq_hz, 869618000u);
	CHECK_STR(run("get freq"), "> 869.618");
	CHECK(strncmp(run("set radio 910.525,62.5,7,5"), "OK - reboot to apply", 20) == 0);
	CHECK_EQ(room.node->lp.freq_hz, 910525000u);
	CHECK_STR(run("get radio"), "> 910.525,62.5,7,5");
	/* one part at a time, as in roomd.conf */
	CHECK(strncmp(run("set sf 9"), "OK - reboot to apply", 20) == 0);
	CHECK(strncmp(run("set bandwidth 125"), "OK - reboot to apply", 20) == 0);
	CHECK(strstr(reply, "(bandwidth is bw)") != NULL);
	CHECK(strncmp(run("set cr 8"), "OK - reboot to apply", 20) == 0);
	CHECK_STR(run("get radio"), "> 910.525,125,9,8");
	CHECK_STR(run("get bw"), "> 125");
	CHECK_STR(run("get sf"), "> 9");
	CHECK_STR(run("set sf 13"), "Error, invalid radio params (sf is 5-12)");
	CHECK_STR(run("set cr 4"), "Error, invalid radio params (cr is 5-8, for 4/5-4/8)");
	CHECK_STR(run("set bw 600"), "Error, invalid radio params (bw is 7-500 kHz)");
	CHECK_STR(run("get radio"), "> 910.525,125,9,8");
	room.node->lp = saved;
}

/* The setup guide's commands, word for word (issue 14), the errors that name
 * what is wrong, and `help set`. */
static void test_guide(void)
{
	struct room_settings saved = room.set;
	struct mesh_cfg mc = room.mesh->cfg;
	struct lora_params lp = room.node->lp;

	CHECK_STR(run("set admin_password Adm1n"), "OK (admin_password is password)");
	CHECK_STR(run("get password"), "> Adm1n");
	CHECK_STR(run("set guest_password G3st"), "OK (guest_password is guest.password)");
	CHECK_STR(run("get guest.password"), "> G3st");
	CHECK_STR(run("set allow_blank_password on"),
	          "OK (allow_blank_password is allow.read.only)");
	CHECK(room.set.allow_read_only);
	CHECK_STR(run("set flood_advert_interval 4"),
	          "OK (flood_advert_interval is flood.advert.interval)");
	CHECK_EQ(room.set.flood_advert_interval_h, 4);
	CHECK_STR(run("set advert_lat 37.3352"), "OK (advert_lat is lat)");
	CHECK_STR(run("get advert_lat"), "> 37.3352012");
	CHECK_STR(run("set advert_long -121.8811"), "OK (advert_long is lon)");
	CHECK(room.set.lon < -121.88 && room.set.lon > -121.89);
	CHECK_STR(run("set advert_name \"Valley Room Server\""), "OK (advert_name is name)");
	CHECK_STR(run("get name"), "> Valley Room Server");
	CHECK_STR(run("set name 'Quoted Once'"), "OK");
	CHECK_STR(run("get name"), "> Quoted Once");
	CHECK_STR(run("set owner.info \"\"x\"\""), "OK"); /* one pair only */
	CHECK_STR(run("get owner.info"), "> \"x\"");
	CHECK(strncmp(run("set freq 910.525"), "OK - reboot to apply", 20) == 0);
	CHECK_EQ(room.node->lp.freq_hz, 910525000u);
	CHECK_STR(run("set repeat on"), "OK - repeat is now ON");
	CHECK(room.mesh->cfg.repeat);
	/* the clock is already past the guide's time: `time` moves it back (issue 13.5) */
	uint32_t was = room_rtc(&room);
	CHECK_STR(run("time 1738242833"), "OK - clock set: 13:13 - 30/1/2025 UTC");
	char again[40];
	snprintf(again, sizeof(again), "time %u", (unsigned)was);
	CHECK(strncmp(run(again), "OK - clock set: ", 16) == 0);

	/* errors name what is wrong */
	CHECK_STR(run("time abc"),
	          "(ERR: 'abc' is not a time: seconds since 1970 UTC, e.g. time 1738242833)");
	CHECK_STR(run("set guest.password"),
	          "Err - set guest.password needs a value: text, at most 15 bytes");
	CHECK_STR(run("password"),
	          "Err - password needs more: password <pw>: set the admin password");
	CHECK_STR(run("set lat"), "Err - set lat needs a value: -90 to 90 degrees");
	CHECK_STR(run("set name 0123456789012345678901234567890123"),
	          "Error, too long: name takes at most 31 bytes (34 given)");
	CHECK_STR(run("get name"), "> Quoted Once");
	CHECK_STR(run("set guest.password 0123456789abcdef"),
	          "Error, too long: guest.password takes at most 15 bytes (16 given)");
	CHECK_STR(run("set allow.read.only maybe"),
	          "Error, bad value for allow.read.only: on or off");
	/* unknown keys: the nearest ones */
	CHECK_STR(run("set guest.pasword x"),
	          "unknown config: guest.pasword; did you mean guest.password? ('help set' lists "
	          "every key)");
	CHECK(strstr(run("set advert.lat 1"), "did you mean lat") != NULL);
	CHECK(strstr(run("set flod.max 3"), "flood.max") != NULL);
	CHECK(room_cmd_reply_is_error(reply));

	/* help set: every key, with its range */
	run("help set");
	for (size_t i = 0; i < room_setting_count; i++) {
		char k[80];
		snprintf(k, sizeof(k), "%s%s", i ? "\n" : "", room_setting_defs[i].key);
		CHECK(strstr(reply, k) != NULL);
	}
	for (size_t i = 0; i < node_setting_count; i++)
		CHECK(strstr(reply, node_setting_defs[i].key) != NULL);
	/* the unit, from the table, after the range */
	CHECK(strstr(reply, "\nlat (advert_lat, latitude): latitude; -90 to 90 degrees\n") != NULL);
	CHECK(strstr(reply, "\nadvert.interval (advert_interval): zero-hop advert period; "
	                    "0 (off) or 60-240 minutes\n") != NULL);
	CHECK(strstr(reply, "\nfreq (frequency): saved frequency, exact to 1 Hz (next start; "
	                    "console only); 150 to 2500 MHz (not over the radio)\n") != NULL);
	CHECK(strstr(reply, "\ntx (tx_power): transmit power (now); -9 to 30 dBm\n") != NULL);
	CHECK(strstr(reply, "\nfreq (frequency): ") != NULL);
	/* whole numbers in full, as a user types them (not 1e+07) */
	CHECK(strstr(reply, "\nmax.posts (max_posts): posts kept per room (oldest dropped); "
	                    "1 to 10000000\n") != NULL);
	CHECK(strstr(reply, "e+0") == NULL);
	CHECK_STR(run_as("help set", CMD_REMOTE),
	          "Err - over the radio: help set <key>; the whole list on the console");
	CHECK_STR(run_as("help set lat", CMD_REMOTE),
	          "lat (advert_lat, latitude): latitude; -90 to 90 degrees");
	CHECK_STR(run("help set advert_long"),
	          "lon (advert_long, advert_lon, longitude, long): longitude; -180 to 180 degrees");

	room.set = saved;
	room_save_settings(&room);
	room.mesh->cfg = mc;
	room.node->lp = lp;
}

static void test_get(void)
{
	/* every key of the settings table answers "> value" */
	for (size_t i = 0; i < room_setting_count; i++) {
		char line[80];
		snprintf(line, sizeof(line), "get %s", room_setting_defs[i].key);
		CHECK(strncmp(run(line), "> ", 2) == 0);
	}
	/* and every key of the firmware's get table answers something known */
	static const char *const fw[] = {
	    "dutycycle",
	    "af",
	    "int.thresh",
	    "cad",
	    "agc.reset.interval",
	    "multi.acks",
	    "allow.read.only",
	    "flood.advert.interval",
	    "advert.interval",
	    "guest.password",
	    "prv.key",
	    "name",
	    "repeat",
	    "lat",
	    "lon",
	    "radio.rxgain",
	    "radio.fem.rxgain",
	    "radio.fem.txgain",
	    "radio",
	    "rxdelay",
	    "txdelay",
	    "direct.txdelay",
	    "flood.max.advert",
	    "flood.max.unscoped",
	    "flood.max",
	    "owner.info",
	    "path.hash.mode",
	    "loop.detect",
	    "tx",
	    "freq",
	    "public.key",
	    "role",
	    "bridge.type",
	    "bootloader.ver",
	    "adc.multiplier",
	    "pwrmgt.support",
	    "pwrmgt.source",
	    "pwrmgt.bootreason",
	    "pwrmgt.bootmv",
	    "extra.sf",
	};
	for (size_t i = 0; i < sizeof(fw) / sizeof(fw[0]); i++) {
		char line[80];
		snprintf(line, sizeof(line), "get %s", fw[i]);
		CHECK(strncmp(run(line), "??:", 3) != 0);
	}
	CHECK_STR(run("get radio"), "> 869.618,62.5,8,5"); /* as typed (issue 14) */
	CHECK_STR(run("get freq"), "> 869.618");
	CHECK_STR(run("get af"), "> 1.0");
	CHECK_STR(run("get dutycycle"), "> 50.0%");
	CHECK_STR(run("get txdelay"), "> 0.5");
	CHECK_STR(run("get direct.txdelay"), "> 0.1999999");
	CHECK_STR(run("get flood.max.advert"), "> 8");
	CHECK_STR(run("get role"), "> room_server");
	/* the firmware's fixed answers for what Linux has not */
	CHECK_STR(run("get radio.rxgain"), "> off");
	CHECK_STR(run("get radio.fem.txgain"), "Error: unsupported");
	CHECK_STR(run("get bootloader.ver"), "Error: unsupported");
	CHECK_STR(run("get adc.multiplier"), "Error: unsupported");
	CHECK_STR(run("get bridge.type"), "> none");
	CHECK_STR(run("get pwrmgt.support"), "> unsupported");
	CHECK_STR(run("get pwrmgt.bootmv"), "ERROR: Power management not supported");
	CHECK_STR(run("get extra.sf"), "No extra SF configured");
	CHECK_STR(run("get repeat"), "> off");
	CHECK_STR(run("get lat"), "> 0.0");
	CHECK_STR(run("get tx"), "> 22");
	CHECK_STR(run("get bogus"), "??: bogus");
	CHECK_STR(run("get name  "), "> Cmd Room");
	CHECK_STR(run("01|get name"), "01|> Cmd Room");
	CHECK_EQ(strlen(run("get prv.key")), 2 + 128);
	CHECK_EQ(strlen(run("get public.key")), 2 + 64);
}

static void test_set(void)
{
	CHECK_STR(run("set dutycycle 25"), "OK - 25.0%");
	CHECK_STR(run("get af"), "> 3.0");
	CHECK_STR(run("set dutycycle 0"), "ERROR: dutycycle must be 1-100");
	CHECK_STR(run("set dutycycle 50"), "OK - 50.0%");
	CHECK_STR(run("set lat 52.370216"), "OK");
	CHECK_STR(run("get lat"), "> 52.3702163");
	CHECK_STR(run("set lon 4.895168"), "OK");
	CHECK_STR(run("get lon"), "> 4.8951678");
	CHECK_STR(run("set repeat on"), "OK - repeat is now ON");
	CHECK_STR(run("set repeat off"), "OK - repeat is now OFF");
	CHECK_STR(run("set txdelay 3"), "Error, must be 0-2");
	CHECK_STR(run("set flood.max 65"), "Error, max 64");
	CHECK_STR(run("set flood.max.unscoped 20"), "OK");
	CHECK_EQ(room.mesh->cfg.flood_max_unscoped, 20);
	CHECK_STR(run("set rxdelay 21"), "Error, must be 0-20");
	CHECK_STR(run("set rxdelay 1.5"), "OK");
	CHECK_STR(run("get rxdelay"), "> 1.5");
	CHECK_STR(run("set agc.reset.interval 30"), "OK - interval rounded to 28");
	CHECK_STR(run("get agc.reset.interval"), "> 28");
	CHECK_STR(run("set loop.detect sometimes"),
	          "Error, must be: off, minimal, moderate, or strict");
	CHECK_STR(run("set loop.detect strict"), "OK");
	CHECK_STR(run("set owner.info Alice|Street 1"), "OK");
	CHECK_STR(room.set.owner_info, "Alice\nStreet 1");
	CHECK_STR(run("get owner.info"), "> Alice|Street 1");
	CHECK_STR(run("set name Bad:Name"), "Error, bad chars");
	CHECK_STR(run("set path.hash.mode 3"), "Error, must be 0,1, or 2");
	CHECK_STR(run("set advert.interval 59"), "Error: interval range is 60-240 minutes");
	CHECK_STR(run("set flood.advert.interval 2"), "Error: interval range is 3-168 hours");
	CHECK_STR(run("set radio.fem.rxgain on"), "Error: unsupported");
	CHECK_STR(run("set bogus 1"), "unknown config: bogus ('help set' lists every key)");
	CHECK_STR(run("set nothing"), "unknown config: nothing ('help set' lists every key)");

	/* radio: saved for the next start, not applied now */
	CHECK_STR(run("set radio 869.525,250,11,5"),
	          "OK - reboot to apply: 869.525,250,11,5; the room is on 869.618,62.5,8,5 now, "
	          "members there will not hear it");
	CHECK_STR(run("get radio"), "> 869.525,250,11,5");
	CHECK_EQ(room.mesh->cfg.lp.sf, 8);
	CHECK_STR(run("set radio 100,250,11,5"), "Error, invalid radio params");
	CHECK_STR(run("set radio 869.525,250,13,5"), "Error, invalid radio params");
	CHECK_STR(run("set radio garbage"), "Error, invalid radio params");
	/* freq only from the console */
	CHECK_STR(run_as("set freq 868", CMD_REMOTE), "Err - set freq is console only");
	CHECK_STR(run("set freq 868"),
	          "OK - reboot to apply: 868,250,11,5; the room is on 869.618,62.5,8,5 now, "
	          "members there will not hear it");
	CHECK_STR(run("get freq"), "> 868");
	/* tx now */
	int before = radio_changes;
	CHECK_STR(run("set tx 14"), "OK");
	CHECK_STR(run("get tx"), "> 14");
	CHECK_EQ(radio_changes, before + 1);

	/* node-wide values are stored as global settings under the config keys */
	char v[64];
	CHECK_EQ(store_setting_get(room.store, 0, "tx", NULL, v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "14");
	CHECK_EQ(store_setting_get(room.store, 0, "sf", NULL, v, sizeof(v)), ERR_OK);
	CHECK_STR(v, "11");
	CHECK_EQ(store_setting_get(room.store, 0, "flood.max.unscoped", NULL, v, sizeof(v)),
	         ERR_OK);
	CHECK_STR(v, "20");
}

static void test_tempradio(uint64_t *now)
{
	int before = radio_changes;
	CHECK_STR(run("tempradio 869.5,125,9,6"), "Error, invalid params");
	CHECK_STR(run("tempradio 869.5,125,9,6,0"), "Error, invalid params");
	CHECK_STR(run("tempradio 869.5,125,9,6,2"), "OK - temp params for 2 mins");
	room_tick(&room, *now + 1999);
	CHECK_EQ(radio_changes, before);
	CHECK(room_next_deadline(&room) <= *now + 2000);
	room_tick(&room, *now + 2000);
	CHECK_EQ(radio_changes, before + 1);
	CHECK_EQ(room.node->run_lp.sf, 9);
	CHECK_EQ(room.mesh->cfg.lp.bw_hz, 125000);
	room_tick(&room, *now + 2000 + 120000);
	CHECK_EQ(radio_changes, before + 2);
	/* reverted to the saved parameters (set radio / set freq above) */
	CHECK_EQ(room.node->run_lp.sf, 11);
	CHECK_EQ(room.node->run_lp.freq_hz, 868000000u);
	*now += 2000 + 120000;
}

static void test_regions(void)
{
	CHECK_STR(run("region"), "* F\n");
	CHECK_STR(run("region put europe"), "OK - (flood allowed)");
	CHECK_STR(run("region put #nl europe"), "OK - (flood allowed)");
	CHECK_STR(run("region put de eur"), "OK - (flood allowed)");
	CHECK_STR(run("region put bad,name"), "Err - unable to put");
	CHECK_STR(run("region put x nowhere"), "Err - unknown parent");
	CHECK_STR(run("region"), "* F\n europe F\n  nl F\n  de F\n");
	CHECK_STR(run("region get nl"), " #nl (europe) F");
	CHECK_STR(run("region get e"), " europe F");
	CHECK_STR(run("region denyf de"), "OK");
	CHECK_STR(run("region list allowed"), "*,europe,nl");
	CHECK_STR(run("region list denied"), "de");
	CHECK_STR(run("region list x"), "Err - use 'allowed' or 'denied'");
	CHECK_STR(run("region remove europe"), "Err - not empty");
	CHECK_STR(run("region remove nothere"), "Err - not found");
	CHECK_STR(run("region remove de"), "OK");
	CHECK_STR(run("region home"), " home is *");
	CHECK_STR(run("region home nl"), " home is now #nl");
	CHECK_STR(run("region"), "* F\n europe F\n  nl^ F\n");
	CHECK_STR(run("region default"), " default scope is <null>");
	CHECK_STR(run("region default usa"), " default scope is now usa");
	CHECK_STR(run("region default"), " default scope is usa");
	uint8_t key[16];
	CHECK(room_default_scope(&room, key) != NULL);
	CHECK_STR(run("region default <null>"), " default scope is now <null>");
	CHECK(room_default_scope(&room, key) == NULL);
	CHECK_STR(run("region frob"), "Err - ??");
	/* a subcommand short of its arguments is no subcommand */
	CHECK_STR(run("region get"), "Err - ??");
	CHECK_STR(run("region allowf"), "Err - ??");
	CHECK_STR(run("region put"), "Err - ??");
	CHECK_STR(run("region remove"), "Err - ??");
	CHECK_STR(run("region list"), "Err - ??");
	CHECK_STR(run("region list some"), "Err - use 'allowed' or 'denied'");
	CHECK_STR(run("region remove *"), "Err - not empty");
	CHECK_STR(run("region remove nowhere"), "Err - not found");
	CHECK_STR(run("region save"), "OK");

	/* bulk load: replaces the table, ends with a blank line */
	CHECK_STR(run("region load"), "");
	CHECK_STR(run("*"), "");
	CHECK_STR(run(" asia F"), "");
	CHECK_STR(run("  japan F"), "");
	CHECK_STR(run(" europe"), ""); /* known: keeps its flags */
	CHECK_STR(run("        toodeep"), "");
	CHECK_STR(run(""), "OK - loaded 3 regions");
	CHECK_STR(run("region"), "* F\n asia F\n  japan F\n europe F\n");
	/* nothing saved until `region save` (or `region default`) */
	char stored[512];
	CHECK_EQ(
	    store_setting_get(room.store, room.store_id, "regions", NULL, stored, sizeof(stored)),
	    ERR_OK);
	CHECK(strstr(stored, " usa/") != NULL);
	CHECK(strstr(stored, "japan") == NULL);

	/* the encoded table survives a decode; garbage does not */
	char enc[512];
	struct room_regions t;
	CHECK_EQ(room_regions_encode(&room.regions, enc, sizeof(enc)), ERR_OK);
	CHECK_EQ(room_regions_decode(&t, enc), ERR_OK);
	CHECK_EQ(t.n, 3);
	CHECK_STR(t.r[1].name, "japan");
	CHECK_EQ(t.r[1].parent, 0);
	CHECK_EQ(room_regions_decode(&t, "w=0 d=5 h=-2"), ERR_FORMAT);
	CHECK_EQ(room_regions_decode(&t, "w=0 d=-2 h=-2 a/0/F"), ERR_FORMAT); /* self-parent */
	CHECK_EQ(room_regions_decode(&t, "nonsense"), ERR_FORMAT);
}

/* `region def` (CommonCLI's processRegionDefSegment), from an empty table. */
static void test_region_def(void)
{
	CHECK_STR(run("region load"), "");
	CHECK_STR(run(""), "OK - loaded 0 regions");
	CHECK_STR(run("region def"), "Err - empty def");
	CHECK_STR(run("region def   "), "Err - empty def");
	/* each name goes below the one before */
	CHECK_STR(run("region def asia japan tokyo"), "* F\n asia F\n  japan F\n   tokyo F\n");
	/* NAME|JUMP: made where the cursor is, then the cursor jumps */
	CHECK_STR(run("region def  oceania|asia korea"),
	          "* F\n asia F\n  japan F\n   tokyo F\n  korea F\n oceania F\n");
	/* NAME,JUMP; an existing name is re-parented under the cursor (the tree
	 * lists children in table order, as RegionMap::printChildRegions) */
	CHECK_STR(run("region def eu,* japan"),
	          "* F\n asia F\n  korea F\n japan F\n  tokyo F\n oceania F\n eu F\n");
	/* made regions allow flood even when they existed denied */
	CHECK_STR(run("region denyf korea"), "OK");
	CHECK_STR(run("region def asia korea"),
	          "* F\n asia F\n  korea F\n japan F\n  tokyo F\n oceania F\n eu F\n");
	/* errors stop at the bad token; the tokens before it stand */
	CHECK_STR(run("region def x|"), "Err - empty jump");
	CHECK_STR(run("region def |asia"), "Err - empty name");
	CHECK_STR(run("region def nz|nowhere"), "Err - unknown jump: nowhere");
	CHECK_STR(run("region get nz"), " nz F");
	CHECK_STR(run("region def us bad*name ca"), "Err - put failed: bad*name");
	CHECK_STR(run("region get us"), " us F");
	CHECK_EQ(room_regions_find_prefix(&room.regions, "ca"), ROOM_REGION_NONE);
	CHECK_STR(run("region def asia asia"), "Err - put failed: asia"); /* its own parent */
	CHECK_STR(run("region definitely"), "Err - ??");
}

/* Reply scopes (§6.10) from the table test_regions left: asia, japan, europe. */
static void test_scopes(void)
{
	struct pkt req;
	uint8_t key[16], want[16];
	memset(&req, 0, sizeof(req));
	req.header = pkt_header(PKT_ROUTE_TRANSPORT_FLOOD, PKT_TXT_MSG);
	req.payload_len = 20;
	memset(req.payload, 0x42, req.payload_len);
	CHECK_EQ(region_key("europe", 6, want), ERR_OK);
	req.transport[0] = region_transport_code(want, PKT_TXT_MSG, req.payload, req.payload_len);
	/* a scoped request of a flood-allowing region: the reply has its scope */
	const uint8_t *k = room_reply_scope(&room, &req, key);
	CHECK(k != NULL);
	if (k)
		CHECK_MEM(k, want, 16);
	/* a region that denies flood does not match: no default, so unscoped */
	CHECK_STR(run("region denyf europe"), "OK");
	CHECK(room_reply_scope(&room, &req, key) == NULL);
	CHECK_STR(run("region allowf europe"), "OK");
	/* an unscoped flood the wildcard accepts: unscoped, even with a default */
	CHECK_STR(run("region default asia"), " default scope is now asia");
	req.header = pkt_header(PKT_ROUTE_FLOOD, PKT_TXT_MSG);
	CHECK(room_reply_scope(&room, &req, key) == NULL);
	/* ... and the default scope when the wildcard denies flood */
	CHECK_STR(run("region denyf *"), "OK");
	CHECK_EQ(region_key("#asia", 5, want), ERR_OK);
	k = room_reply_scope(&room, &req, key);
	CHECK(k != NULL);
	if (k)
		CHECK_MEM(k, want, 16);
	/* direct: the default scope (only used if the reply has to flood) */
	req.header = pkt_header(PKT_ROUTE_DIRECT, PKT_TXT_MSG);
	CHECK(room_reply_scope(&room, &req, key) != NULL);
	CHECK_STR(run("region allowf *"), "OK");
	CHECK_STR(run("region default <null>"), " default scope is now <null>");
	CHECK(room_reply_scope(&room, &req, key) == NULL);
}

static void test_setperm(void)
{
	char line[200];
	const char *key = "A75A0B7EC7E8A0800C66A59EAB29550E7F3B0486383590DB3645080F2CFC9F59";
	size_t before = room.n_members;
	snprintf(line, sizeof(line), "setperm %s 3", key);
	CHECK_STR(run(line), "OK");
	CHECK_EQ(room.n_members, before + 1);
	CHECK_EQ(room.members[room.n_members - 1].perms, 3);
	snprintf(line, sizeof(line), "setperm %s 2", key);
	CHECK_STR(run(line), "OK");
	CHECK_EQ(room.n_members, before + 1);
	CHECK_EQ(room.members[room.n_members - 1].perms, 2);
	CHECK_STR(run("setperm A75A 3"), "Err - key prefix too short: give at least 8 hex digits");
	CHECK_STR(run("setperm A75 0"),
	          "Err - bad pubkey: give hex digits (a prefix of at least 8)");
	CHECK_STR(run("setperm A75A"), "Err - bad params: setperm <key or prefix> <perm>");
	CHECK_STR(run("setperm FFFFFFFF 0"), "Err - no member or banned key starts with FFFFFFFF");
	CHECK_STR(run("setperm A75A0B7E 1"), "OK"); /* a prefix: the member's role changes */
	CHECK_EQ(room.members[room.n_members - 1].perms, 1);
	CHECK_STR(run("setperm A75A0B7E 0"), "OK");
	CHECK_EQ(room.n_members, before);
}

/* One rule for every command that takes a key (issue 14): a full key or a
 * unique prefix of at least 4 bytes, among the members (in memory or only in
 * the store) and the banned keys; an ambiguous prefix lists the candidates. */
static void test_key_prefixes(void)
{
	static const char *const a = "C0FFEE01"
	                             "11111111111111111111111111111111111111111111111111111111";
	static const char *const b = "C0FFEE01"
	                             "22222222222222222222222222222222222222222222222222222222";
	char line[300];
	uint8_t pub[32];
	size_t before = room.n_members;

	/* members in the store only (not loaded into the room) */
	struct store_member sm;
	memset(&sm, 0, sizeof(sm));
	sm.permissions = ACL_ROLE_READ_WRITE;
	sm.out_path_len = STORE_PATH_UNKNOWN;
	CHECK_EQ(hex_decode(sm.pub, 32, a, 64), 32);
	CHECK_EQ(store_member_put(room.store, room.store_id, &sm), ERR_OK);
	CHECK_EQ(hex_decode(pub, 32, b, 64), 32);
	memcpy(sm.pub, pub, 32);
	CHECK_EQ(store_member_put(room.store, room.store_id, &sm), ERR_OK);
	CHECK(room_member_find(&room, pub) == NULL);

	CHECK_STR(run("ban C0FFEE01 spam"),
	          "Err - C0FFEE01 is ambiguous (2 keys), give more digits: "
	          "c0ffee0111111111 c0ffee0122222222");
	CHECK_STR(run("ban C0FFEE0122 spam"), "OK - banned"); /* the member only in the store */
	run("members c0ffee0122");
	CHECK(strstr(reply, "\nc0ffee0122222222 write -                   -                   -") !=
	      NULL);
	CHECK(strncmp(run("members C0FFEE01"), "Err - C0FFEE01 is ambiguous", 27) == 0);
	CHECK_STR(run("ban c0ffee0111 flood"), "OK - banned"); /* lower case too */
	run("bans");
	const char *bh = "key              banned (UTC)        reason\n";
	CHECK(strncmp(reply, bh, strlen(bh)) == 0);
	CHECK(strstr(reply, "\nc0ffee0122222222 2025-") != NULL);
	CHECK(strstr(reply, " spam") != NULL && strstr(reply, " flood") != NULL);
	CHECK_STR(run("unban C0FFEE01"), "Err - C0FFEE01 is ambiguous (2 keys), give more digits: "
	                                 "c0ffee0111111111 c0ffee0122222222");
	CHECK_STR(run("unban C0FFEE0122"), "OK"); /* 10 digits: was refused (64 needed) */
	CHECK_STR(run("unban C0FFEE0122"), "Err - not banned");
	CHECK_STR(run("unban C0FF"), "Err - key prefix too short: give at least 8 hex digits");
	/* a banned stranger (no member): its prefix works for unban */
	CHECK_STR(run("setperm C0FFEE0122 0"), "OK"); /* removes a member only in the store */
	CHECK_EQ(store_member_get(room.store, room.store_id, pub, &sm), ERR_NOT_FOUND);
	CHECK_EQ(hex_decode(pub, 32, a, 64), 32);
	CHECK_EQ(store_member_delete(room.store, room.store_id, pub), ERR_OK);
	CHECK_STR(run("unban C0FFEE0111"), "OK");
	CHECK_STR(run("bans"), "no bans");
	CHECK_EQ(room.n_members, before);
	/* members: a header and readable times */
	CHECK_STR(run("setperm A75A0B7EC7E8A0800C66A59EAB29550E7F3B0486383590DB3645080F2CFC9F59 3"),
	          "OK");
	run("members");
	const char *mh = "key              role  synced to (UTC)     last seen (UTC)     name\n";
	CHECK(strncmp(reply, mh, strlen(mh)) == 0);
	CHECK(strstr(reply, "\na75a0b7ec7e8a080 admin -                   -                   -") !=
	      NULL);
	CHECK_STR(run("setperm A75A0B7E 0"), "OK");
	/* a member's name comes from its advert */
	struct ident alice;
	uint8_t seed[32], app[ADVERT_DATA_MAX], frame[256];
	char hex[65];
	size_t app_len, frame_len;
	struct advert_data ad;
	struct pkt p;
	memset(seed, 0xA1, sizeof(seed));
	ident_from_seed(&alice, seed);
	hex_encode_upper(hex, sizeof(hex), alice.pub, 32);
	snprintf(line, sizeof(line), "setperm %s 2", hex);
	CHECK_STR(run(line), "OK");
	memset(&ad, 0, sizeof(ad));
	ad.type = ADV_TYPE_CHAT;
	snprintf(ad.name, sizeof(ad.name), "Alice");
	ad.name_len = 5;
	CHECK_EQ(advert_data_encode(&ad, app, &app_len), ERR_OK);
	CHECK_EQ(mesh_build_advert(&p, &alice, 1750000100, app, app_len), ERR_OK);
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &frame_len), ERR_OK);
	mesh_on_frame(room.mesh, frame, frame_len, 20, -50, room.mesh->now_ms);
	run("members");
	CHECK(strstr(reply, " write ") != NULL && strstr(reply, " Alice") != NULL);
	hex[8] = 0;
	snprintf(line, sizeof(line), "setperm %s 0", hex);
	CHECK_STR(run(line), "OK");
	ident_wipe(&alice);
	/* post.list: id, time, author; the room's own posts say so */
	CHECK_STR(run("room.post listed"), "OK");
	run("post.list 1");
	CHECK(strncmp(reply, "id time (UTC) author: text\n", 27) == 0);
	CHECK(strstr(reply, " 2025-06-15 ") != NULL && strstr(reply, " (room): listed") != NULL);
	/* over the radio the list is what fits in a reply, not an error */
	CHECK_STR(run("room.post listed again"), "OK");
	room_cmd(&room, "post.list 3", 1750000000, CMD_REMOTE, reply, ROOM_REPLY_MAX);
	CHECK(strncmp(reply, "id time (UTC) author: text\n", 27) == 0);
	CHECK(!room_cmd_reply_is_error(reply));
	/* room.post over 150 bytes: refused, never cut */
	char big[200];
	memset(big, 'x', 151);
	big[151] = 0;
	snprintf(line, sizeof(line), "room.post %s", big);
	CHECK_STR(run(line), "ERR too long: a post takes at most 150 bytes (151 given)");
}

static void test_doors(void)
{
	CHECK_STR(run_as("get prv.key", CMD_REMOTE), "Err - get prv.key is console only");
	CHECK(strncmp(run_as("get prv.key", CMD_LOCAL), "> ", 2) == 0);
	CHECK_STR(run_as("get acl", CMD_REMOTE),
	          "Err - get acl is console only (serial or roomctl)");
	CHECK(strncmp(run_as("get acl", CMD_LOCAL), "ACL:", 4) == 0);
	CHECK_STR(run_as("stats-core", CMD_REMOTE),
	          "Err - stats-core is console only (serial or roomctl)");
	CHECK_STR(run_as("erase", CMD_REMOTE), "Err - erase is console only (serial or roomctl)");
	CHECK_STR(run_as("erase", CMD_SERIAL), "File system erase: Err");
	CHECK_STR(run_as("log", CMD_REMOTE), "Err - log is console only (serial or roomctl)");
	CHECK_STR(run_as("log", CMD_LOCAL), "line1\n   EOF");
	CHECK_STR(run_as("log start", CMD_REMOTE), "   logging on");
	CHECK(room.node->log_on);
	CHECK_STR(run("log stop"), "   logging off");
	CHECK(!room.node->log_on);
	CHECK_STR(run("log erase"), "   log erased");
	CHECK_EQ(log_ops[ROOM_LOG_START], 1);
	CHECK_EQ(log_ops[ROOM_LOG_ERASE], 1);
	CHECK_STR(run("neighbors"), "not supported");
	CHECK_STR(run("neighbor.remove A7"), "OK");
	CHECK_STR(run("neighbor.remove zz"), "ERR: bad pubkey");
	CHECK_STR(run("start ota"), "Error");
	CHECK_STR(run("sensor list"), "no custom var");
	CHECK_STR(run("powersaving"), "off");
	CHECK_STR(run("ver"), "v1.17.1 (Build: roomd)");
	CHECK_STR(run("advertise"), "OK - Advert sent"); /* prefix match, as the firmware */
	CHECK_STR(run("room.post "), "ERR empty message");
	CHECK_STR(run("clock sync"), "ERR: clock cannot go backwards");
	CHECK_STR(run("time 1000"),
	          "(ERR: clock cannot go before 2024: 1000 is 00:16 - 1/1/1970 UTC)");
	CHECK_EQ(room_cmd(&room, "what", 0, CMD_SERIAL, reply, sizeof(reply)), ERR_NOT_FOUND);
	CHECK(room_cmd_reply_is_error("Err - bad pubkey"));
	CHECK(room_cmd_reply_is_error("ERROR: dutycycle must be 1-100"));
	CHECK(room_cmd_reply_is_error("01|??: x"));
	CHECK(room_cmd_reply_is_error("unknown config: a b"));
	CHECK(!room_cmd_reply_is_error("OK - reboot to apply"));
	CHECK(!room_cmd_reply_is_error("> Error"));
	CHECK(!room_cmd_reply_is_error("   logging on"));
	/* backup: local doors only, an absolute path, the copy opens as a store;
	 * a program that offers none (hooks.backup NULL) says so */
	CHECK_STR(run_as("backup /tmp/x.db", CMD_REMOTE),
	          "Err - backup is console only (serial or roomctl)");
	int (*bk)(void *, struct room *, const char *, char *, size_t) = room.hooks.backup;
	room.hooks.backup = NULL;
	CHECK_STR(run("backup /tmp/x.db"), "Err - no backup here");
	room.hooks.backup = bk;
	CHECK_STR(run("backup rooms.db"), "Err - give an absolute path");
	CHECK_STR(run("backup /nonexistent/dir/x.db"), "Err - backup failed (see the log)");
	char bdir[] = "/tmp/test_cmd.XXXXXX", line[96], want[128];
	if (mkdtemp(bdir)) {
		snprintf(line, sizeof(line), "backup %s/copy.db", bdir);
		snprintf(want, sizeof(want), "OK - backup written to %s/copy.db", bdir);
		CHECK_STR(run_as(line, CMD_LOCAL), want);
		struct store *copy = NULL;
		CHECK_EQ(store_open(&copy, line + 7), ERR_OK);
		struct store_room sr;
		CHECK_EQ(store_room_get(copy, room.store_id, &sr), ERR_OK);
		store_close(copy);
		tmpdb_remove(line + 7);
		CHECK_EQ(rmdir(bdir), 0);
	}
	/* a tiny reply buffer never overflows */
	char small[4];
	room_cmd(&room, "get public.key", 0, CMD_SERIAL, small, sizeof(small));
	CHECK_EQ(strlen(small), 3);
}

static void test_prv_key(void)
{
	/* the vector room identity (meshcore-v1.17.1.json) */
	const char *prv = "a8a7c4f0e2f2e81684a0ea0c0964e1bc3d700163aac93d605317523ced968761"
	                  "92e78ad845b2bf1b62c1bd7a5f78777936630f894b126f3ff0c38038e27ec513";
	char line[200];
	uint8_t old_pub[32];
	memcpy(old_pub, room.ep.id.pub, 32);
	snprintf(line, sizeof(line), "set prv.key %s", prv);
	CHECK_STR(run(line), "OK, reboot to apply! New pubkey: "
	                     "A80AD8880B161DC844BD5ECF39AB9C1643C848091CC6B0227DED7384060A6316");
	CHECK_EQ(identity_saves, 1);
	CHECK_EQ(saved_pub[0], 0xa8);
	CHECK_MEM(room.ep.id.pub, old_pub, 32); /* effective after a restart only */
	CHECK_STR(run("set prv.key 1234"), "Error, bad key");
	/* a key whose scalar is not clamped fails the firmware's check */
	snprintf(line, sizeof(line), "set prv.key ff%s", prv + 2);
	CHECK_STR(run(line), "Error, bad key");
	CHECK_EQ(identity_saves, 1);
}

static void test_retention(void)
{
	uint32_t count = 0;
	CHECK_STR(run("set max.posts 0"), "Error, must be 1-10000000");
	CHECK_STR(run("set max.posts 10"), "OK");
	for (int i = 0; i < 15; i++) {
		char text[32];
		int n = snprintf(text, sizeof(text), "post %d", i);
		CHECK_EQ(room_post(&room, room.ep.id.pub, 0, text, (size_t)n, NULL), ERR_OK);
	}
	CHECK_EQ(store_post_count(room.store, room.store_id, &count), ERR_OK);
	CHECK_EQ(count, 10);
	/* the oldest five went: the oldest left is "post 5" */
	struct store_post p;
	CHECK_EQ(store_post_next(room.store, room.store_id, NULL, 0, STORE_TS_ANY, &p), ERR_OK);
	CHECK_STR((const char *)p.text, "post 5");
	CHECK_STR(run("set max.posts 10000"), "OK");
}

static int on_backup(void *ctx, struct room *r, const char *path, char *note, size_t note_cap)
{
	(void)ctx;
	(void)note;
	(void)note_cap;
	return store_backup(r->store, path);
}

/* One table (issue 15): for every room key, the config file takes a value
 * exactly when `set` does (the file took advert.interval = 5,
 * flood.advert.interval = 1, loop.detect = bogus and name = a[b], which set
 * refused: the rules lived in cmd.c only). */
static void test_file_as_set(void)
{
	static const char *const values[] = {"0",      "1",    "2",   "3",  "5",    "59",
	                                     "60",     "240",  "241", "on", "off",  "bogus",
	                                     "strict", "a[b]", "a,b", "-1", "12.5", ""};
	struct room_settings saved = room.set;
	unsigned disagree = 0;
	for (size_t i = 0; i < room_setting_count; i++) {
		const struct setting_def *d = &room_setting_defs[i];
		for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
			struct app_config c;
			char line[128];
			app_config_defaults(&c);
			bool file_ok = app_config_set(&c, d->key, values[k]) == ERR_OK;
			snprintf(line, sizeof(line), "set %s %s", d->key, values[k]);
			bool set_ok = strncmp(run(line), "OK", 2) == 0;
			room.set = saved;
			if (file_ok != set_ok) {
				disagree++;
				fprintf(stderr, "  %s = '%s': file %s, set %s\n", d->key, values[k],
				        file_ok ? "takes" : "refuses",
				        set_ok ? "takes" : "refuses");
			}
		}
	}
	CHECK_EQ(disagree, 0);
}

/* Every node key of the table: what `set` stores is what `get` answers, and
 * what the store keeps (under the config file's name) for the next start. */
static void test_node_table(struct store *st)
{
	static const struct {
		const char *key, *val, *get, *saved_key, *saved;
	} rows[] = {
	    {"radio", "915.1,125,9,6", "> 915.1,125,9,6", "freq", "915.1"},
	    {"freq", "869.618", "> 869.618", "freq", "869.618"},
	    {"bw", "62.5", "> 62.5", "bw", "62.5"},
	    {"sf", "8", "> 8", "sf", "8"},
	    {"cr", "5", "> 5", "cr", "5"},
	    {"tx", "17", "> 17", "tx", "17"},
	    {"repeat", "on", "> on", "repeat", "on"},
	    {"af", "2", "> 2.0", "af", "2.000000"},
	    {"dutycycle", "25", "> 25.0%", "af", "3.000000"},
	    {"txdelay", "1.5", "> 1.5", "txdelay", "1.500000"},
	    {"direct.txdelay", "0.25", "> 0.25", "direct.txdelay", "0.250000"},
	    {"flood.max", "10", "> 10", "flood.max", "10"},
	    {"flood.max.unscoped", "11", "> 11", "flood.max.unscoped", "11"},
	    {"flood.max.advert", "12", "> 12", "flood.max.advert", "12"},
	};
	struct mesh_cfg saved_cfg = room.mesh->cfg;
	struct room_node saved_node = *room.node;
	char line[96], v[64];
	for (size_t i = 0; i < node_setting_count; i++) {
		const struct setting_def *d = &node_setting_defs[i];
		size_t j = 0;
		while (j < sizeof(rows) / sizeof(rows[0]) && strcmp(rows[j].key, d->key) != 0)
			j++;
		if (d->node == NODE_KEY || d->node == NODE_UNSUPPORTED) {
			CHECK(j == sizeof(rows) / sizeof(rows[0]));
			continue;
		}
		if (j == sizeof(rows) / sizeof(rows[0])) { /* a key of the table with no row */
			CHECK_STR(d->key, "(a row in test_node_table)");
			continue;
		}
		snprintf(line, sizeof(line), "set %s %s", d->key, rows[j].val);
		CHECK(!room_cmd_reply_is_error(run(line)));
		snprintf(line, sizeof(line), "get %s", d->key);
		CHECK_STR(run(line), rows[j].get);
		CHECK_EQ(node_setting_format(d, &room.mesh->cfg, room.node, v, sizeof(v)), ERR_OK);
		CHECK_STR(v, rows[j].get + 2);
		CHECK_EQ(store_setting_get(st, 0, rows[j].saved_key, NULL, v, sizeof(v)), ERR_OK);
		CHECK_STR(v, rows[j].saved);
	}
	/* a value out of range changes nothing, and says the table's error */
	CHECK_STR(run("set flood.max 65"), "Error, max 64");
	CHECK_STR(run("get flood.max"), "> 10");
	CHECK_STR(run("set sf 7.5"), "Error, invalid radio params (sf is 5-12)");
	CHECK_STR(run("get sf"), "> 8");
	room.mesh->cfg = saved_cfg;
	*room.node = saved_node;
}

int main(void)
{
	struct room_clock clock = {(int64_t)1750000000 * 1000};
	struct mesh mesh;
	struct mesh_cfg cfg;
	struct rng_seeded seeded;
	struct rng rng;
	struct store *st;
	struct ident rid;
	uint8_t seed[32];
	char db[] = "/tmp/test_cmd_XXXXXX";
	uint32_t id;
	uint64_t now = 1000;

	log_set_level(LOG_ERR);
	if (crypto_init() || mkstemp(db) < 0)
		return 1;
	memset(seed, 9, sizeof(seed));
	ident_from_seed(&rid, seed);
	unlink(db);
	rng_seeded_init(&seeded, &rng, 42);
	mesh_cfg_defaults(&cfg);
	mesh_init(&mesh, &cfg, &(struct mesh_io){.transmit = transmit, .ctx = NULL}, &rng, now);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "Cmd Room", rid.pub, &id), ERR_OK);
	CHECK_EQ(store_setting_set(st, id, "name", "Cmd Room"), ERR_OK);
	CHECK_EQ(room_open(&room, &mesh, st, id, &rid, &clock, now), ERR_OK);
	room.hooks = (struct room_hooks){.radio_changed = on_radio,
	                                 .save_identity = on_identity,
	                                 .packet_log = on_log,
	                                 .backup = on_backup};

	test_ftoa();
	test_radio_hz();
	test_guide();
	test_get();
	test_set();
	test_tempradio(&now);
	test_regions();
	test_scopes();
	test_region_def();
	test_setperm();
	test_key_prefixes();
	test_doors();
	test_prv_key();
	test_retention();
	test_file_as_set();
	test_node_table(st);

	/* persistence: what commands set is there after a reopen */
	CHECK_STR(run("set guest.password s3cret"), "OK");
	room_tick(&room, now);
	room_close(&room);
	CHECK_EQ(room_open(&room, &mesh, st, id, &rid, &clock, now), ERR_OK);
	CHECK_STR(run("get guest.password"), "> s3cret");
	CHECK_STR(run("get lat"), "> 52.3702163");
	CHECK_STR(run("get loop.detect"), "> strict");
	CHECK_STR(run("get owner.info"), "> Alice|Street 1");
	/* the table as `region default` saved it in test_scopes */
	CHECK_STR(run("region"), "* F\n asia F\n  japan F\n europe F\n");
	room_close(&room);
	store_close(st);
	unlink(db);
	return harness_done("test_cmd");
}
