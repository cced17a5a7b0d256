/*
 * fed_glue.c - roomd's federation glue (issue 17): every room's hooks into
 * src/fed, each room on its own topic, and fed over MQTT (src/sys/mqtt.c) on the event loop.  Part
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

static struct fed *fed_of(struct daemon *d, const struct room *r)
{
	for (int i = 0; d->fed_on && i < d->n_feds; i++)
		if (d->feds[i]->room == r)
			return d->feds[i];
	return NULL;
}

void roomd_on_fed_post(void *ctx, struct room *r, int64_t id)
{
	struct fed *f = fed_of(ctx, r);
	if (f) {
		f->wall_ms = (uint64_t)app_wall_ms();
		fed_post_stored(f, id); /* after the commit; the ACK does not wait */
	}
}

void roomd_on_fed_member(void *ctx, struct room *r, const struct room_member *m)
{
	struct fed *f = fed_of(ctx, r);
	if (f)
		fed_member_saved(f, m);
}

void roomd_on_fed_removed(void *ctx, struct room *r, const uint8_t pub[32])
{
	struct fed *f = fed_of(ctx, r);
	if (f)
		fed_member_removed(f, pub);
}

void roomd_on_fed_ban(void *ctx, struct room *r, const uint8_t pub[32], bool banned, uint32_t when)
{
	struct fed *f = fed_of(ctx, r);
	if (f)
		fed_ban_changed(f, pub, banned, when);
}

void roomd_on_fed_delete(void *ctx, struct room *r, int64_t id)
{
	struct fed *f = fed_of(ctx, r);
	if (f)
		fed_post_deleting(f, id);
}

size_t roomd_on_fed_status(void *ctx, struct room *r, char *out, size_t cap)
{
	struct daemon *d = ctx;
	struct fed *f = fed_of(d, r);
	if (!f)
		return 0;
	f->queued = mqtt_queued(d->mq);
	f->now_ms = app_now_ms();
	return fed_status_json(f, out, cap);
}

static int fed_publish(void *ctx, const char *topic, const uint8_t *p, size_t len, bool retain)
{
	struct daemon *d = ctx;
	return mqtt_publish(d->mq, topic, p, len, retain);
}

void roomd_on_fed_settings(void *ctx, struct room *r)
{
	struct fed *f = fed_of(ctx, r);
	if (f)
		fed_settings_changed(f);
}

/* A message goes to the room whose topic it came on; one on no room's topic
 * to the first room, which counts it (another room's, or garbage). */
static void on_mqtt_msg(void *ctx, const char *topic, const uint8_t *p, size_t len)
{
	struct daemon *d = ctx;
	struct fed *to = d->n_feds ? d->feds[0] : NULL;
	for (int i = 0; i < d->n_feds; i++)
		if (strncmp(topic, d->feds[i]->prefix, strlen(d->feds[i]->prefix)) == 0)
			to = d->feds[i];
	if (to)
		fed_receive(to, p, len, app_now_ms(), (uint64_t)app_wall_ms());
}

static void on_mqtt_conn(void *ctx, bool up)
{
	struct daemon *d = ctx;
	for (int i = 0; i < d->n_feds; i++)
		fed_set_up(d->feds[i], up, app_now_ms(), (uint64_t)app_wall_ms());
}

/* Federates room r (at start, or a room added since). */
void roomd_fed_add(struct daemon *d, struct room *r)
{
	struct fed *f = calloc(1, sizeof(*f));
	if (!f || fed_init(f, r, d->fed_site, d->fed_name, fed_publish, d) != ERR_OK) {
		log_err("roomd", "federation: room '%s' not federated", r->set.name);
		free(f);
		return;
	}
	d->feds[d->n_feds++] = f;
	log_info("roomd", "federation: room '%s' on topic %s", r->set.name, f->prefix);
	if (d->mq && mqtt_connected(d->mq))
		fed_set_up(f, true, app_now_ms(), (uint64_t)app_wall_ms());
}

void roomd_fed_drop(struct daemon *d, const struct room *r)
{
	for (int i = 0; i < d->n_feds; i++) {
		if (d->feds[i]->room != r)
			continue;
		free(d->feds[i]);
		memmove(&d->feds[i], &d->feds[i + 1],
		        (size_t)(d->n_feds - i - 1) * sizeof(d->feds[0]));
		d->n_feds--;
		return;
	}
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
	if (!fed_site_valid(site) || strlen(room_name) > 64 || strpbrk(room_name, "/+#")) {
		log_err("roomd", "federation: bad site or room name");
		return ERR_CONFIG;
	}
	snprintf(d->fed_site, sizeof(d->fed_site), "%s", site);
	snprintf(d->fed_name, sizeof(d->fed_name), "%s", room_name);
	int rc = mqtt_open(&d->mq, &mc, on_mqtt_msg, on_mqtt_conn, d, app_now_ms());
	if (rc)
		return rc;
	d->fed_on = true;
	for (int i = 0; i < d->n_rooms; i++)
		roomd_fed_add(d, d->rooms[i]);
	log_info("roomd", "federation: %d room(s) as site %s on %s:%d, topics roomd/%s/", d->n_feds,
	         site, mc.host, mc.port, room_name);
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
