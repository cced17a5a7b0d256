/*
 * fuzz_config.c - libFuzzer target for the configuration file parser
 * (src/sys/config.c, the keys of room/settings.c).
 *
 * Any input is read as roomd.conf: it parses or reports ERR_CONFIG, never
 * crashes, and whatever it accepted is within the documented ranges (radio
 * parameters the modem takes, hop limits, terminated strings).  The default
 * file roomd writes must always read back cleanly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/config.h"
#include "util/err.h"
#include "util/log.h"

static void check_ranges(const struct app_config *c)
{
	const struct lora_params *lp = &c->radio_cfg.lp;
	if (lp->sf < 5 || lp->sf > 12 || lp->cr < 5 || lp->cr > 8 || lp->freq_hz < 150000000u ||
	    lp->freq_hz > 2500000000u || lp->bw_hz < 7000 || lp->bw_hz > 500000)
		abort();
	if (c->mesh.flood_max > 64 || c->mesh.flood_max_unscoped > 64 ||
	    c->mesh.flood_max_advert > 64)
		abort();
	if (!(c->mesh.airtime_factor >= 0 && c->mesh.airtime_factor <= 100))
		abort();
	if (!(c->room.lat >= -90 && c->room.lat <= 90 && c->room.lon >= -180 &&
	      c->room.lon <= 180 && c->room.rxdelay >= 0 && c->room.rxdelay <= 20))
		abort();
	if (c->room.max_posts < 1 || c->room.path_hash_mode > 2 || c->room.push_parallel < 1)
		abort();
	if (!memchr(c->radio, 0, sizeof(c->radio)) ||
	    !memchr(c->room.name, 0, sizeof(c->room.name)) ||
	    !memchr(c->room.admin_password, 0, sizeof(c->room.admin_password)) ||
	    !memchr(c->room.owner_info, 0, sizeof(c->room.owner_info)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct app_config c;

	if (!init) {
		char path[] = "/tmp/fuzz_config_XXXXXX";
		int fd = mkstemp(path);
		log_set_level(LOG_NONE); /* every bad input logs an error */
		if (fd < 0)
			abort();
		close(fd);
		app_config_defaults(&c);
		if (app_config_write_default(path) != ERR_OK ||
		    app_config_load(path, &c, true) != ERR_OK)
			abort();
		check_ranges(&c);
		unlink(path);
		init = 1;
	}
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	app_config_defaults(&c);
	int rc = app_config_read(f, "fuzz.conf", &c);
	fclose(f);
	if (rc != ERR_OK && rc != ERR_CONFIG)
		abort();
	check_ranges(&c);
	return 0;
}
