/*
 * fed_glue.c - roomd's federation glue (issue 17): the first room's hooks
 * into src/fed, and fed over MQTT (src/sys/mqtt.c) on the event loop.  Part
 * of roomd (daemon.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roomd/daemon.h"
#include "room/settings.h"
#include "sys/sys.h"
#include "util/err.h"
#include "util/log.h"

/* ---- federation glue: the room's hooks -> fed, fed <-> mqtt ---- */

static bool fed_room(struct daemon *d, struct room *r)
{
	return d->fed_on && d->fed.room == r;
}

void roomd_on_fed_post(void *ctx, struct room *r, int64_t id)
{
	struct daemon *d = ctx;
	if (fed_room(d, r)) {
		d->fed.wall_ms = (uint64_t)app_wall_ms();
		fed_post_stored(&d->fed, id); /* after the commit; the ACK does not wait */
	}
}

void roomd_on_fed_member(void *ctx, struct room *r, const struct room_member *m)
{
	struct daemon *d = ctx;
	if (fed_room(d, r))
		fed_member_saved(&d->fed, m);
}

void roomd_on_fed_ban(void *ctx, struct room *r, const uint8_t pub[32], bool banned, uint32_t when)
{
	struct daemon *d = ctx;
	if (fed_room(d, r))
		fed_ban_changed(&d->fed, pub, banned, when);
}

void roomd_on_fed_delete(void *ctx, struct room *r, int64_t id)
{
	struct daemon *d = ctx;
	if (fed_room(d, r))
		fed_post_deleting(&d->fed, id);
}

size_t roomd_on_fed_status(void *ctx, struct room *r, char *out, size_t cap)
{
	struct daemon *d = ctx;
	if (!fed_room(d, r))
		return 0;
	d->fed.queued = mqtt_queued(d->mq);
	d->fed.now_ms = app_now_ms();
	return fed_status_json(&d->fed, out, cap);
}

static int fed_publish(void *ctx, const char *topic, const uint8_t *p, size_t len, bool retain)
{
	struct daemon *d = ctx;
	return mqtt_publish(d->mq, topic, p, len, retain);
}

void roomd_on_fed_settings(void *ctx, struct room *r)
{
	struct daemon *d = ctx;
	if (fed_room(d, r))
		fed_settings_changed(&d->fed);
}

static void on_mqtt_msg(void *ctx, const char *topic, const uint8_t *p, size_t len)
{
	struct daemon *d = ctx;
	(void)topic;
	fed_receive(&d->fed, p, len, app_now_ms(), (uint64_t)app_wall_ms());
}

static void on_mqtt_conn(void *ctx, bool up)
{
	struct daemon *d = ctx;
	fed_set_up(&d->fed, up, app_now_ms(), (uint64_t)app_wall_ms());
}

/* The site's name: fed.site, else the one kept in the database, else a new one. */
static int fed_site(struct daemon *d, char *site, size_t cap)
{
	if (d->cfg.fed.site[0]) {
		snprintf(site, cap, "%s", d->cfg.fed.site);
		return ERR_OK;
	}
	if (store_setting_get(d->store, 0, "fed.site.made", NULL, site, cap) == ERR_OK &&
	    fed_site_valid(site))
		return ERR_OK;
	uint8_t rnd[4];
	crypto_rng_system()->fill(crypto_rng_system()->ctx, rnd, sizeof(rnd));
	snprintf(site, cap, "site-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	log_info("roomd", "federation: this site is %s (set fed.site to name it)", site);
	return store_setting_set(d->store, 0, "fed.site.made", site);
}

int roomd_fed_start(struct daemon *d)
{
	struct mqtt_cfg mc;
	char room_name[80], site[FED_SITE_MAX + 1];

	memset(&mc, 0, sizeof(mc));
	if (mqtt_url_parse(d->cfg.fed.url, &mc, room_name, sizeof(room_name)) != ERR_OK) {
		log_err("roomd", "fed.url %s: expected mqtt://[user:pass@]HOST:PORT/ROOM",
		        d->cfg.fed.url);
		return ERR_CONFIG;
	}
	if (fed_site(d, site, sizeof(site)) != ERR_OK)
		return ERR_STORE;
	if (!mc.username[0])
		snprintf(mc.username, sizeof(mc.username), "%s", d->cfg.fed.username);
	if (!mc.password[0])
		snprintf(mc.password, sizeof(mc.password), "%s", d->cfg.fed.password);
	snprintf(mc.cafile, sizeof(mc.cafile), "%s", d->cfg.fed.cafile);
	snprintf(mc.certfile, sizeof(mc.certfile), "%s", d->cfg.fed.certfile);
	snprintf(mc.keyfile, sizeof(mc.keyfile), "%s", d->cfg.fed.keyfile);
	snprintf(mc.client_id, sizeof(mc.client_id), "%s", site);
	snprintf(mc.subscribe, sizeof(mc.subscribe), "roomd/%s/#", room_name);
	if (fed_init(&d->fed, d->rooms[0], site, room_name, fed_publish, d) != ERR_OK) {
		log_err("roomd", "federation: bad site or room name");
		return ERR_CONFIG;
	}
	int rc = mqtt_open(&d->mq, &mc, on_mqtt_msg, on_mqtt_conn, d, app_now_ms());
	if (rc)
		return rc;
	d->fed_on = true;
	log_info("roomd", "federation: room '%s' as site %s on %s:%d, topic roomd/%s/",
	         d->rooms[0]->set.name, site, mc.host, mc.port, room_name);
	return ERR_OK;
}

void roomd_service(struct daemon *d);

void roomd_on_mqtt_fd(void *ctx, struct pollfd *fds, int n)
{
	struct daemon *d = ctx;
	bool rd = false, wr = false;
	for (int i = 0; i < n; i++) {
		rd |= (fds[i].revents & POLLIN) != 0;
		wr |= (fds[i].revents & POLLOUT) != 0;
	}
	mqtt_io(d->mq, rd, wr, app_now_ms());
	roomd_service(d);
}

/* Watches the broker's socket (it changes at every reconnect), for writing
 * only while libmosquitto has bytes to send. */
void roomd_mqtt_watch(struct daemon *d)
{
	struct pollfd p = {mqtt_socket(d->mq), POLLIN, 0};
	if (mqtt_want_write(d->mq))
		p.events |= POLLOUT;
	loop_pollset_set(&d->mqtt_watch, &p, p.fd < 0 ? 0 : 1);
}
