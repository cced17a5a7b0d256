/*
 * roomd.c - the room server daemon: wires the radio, the mesh, the store and
 * the rooms together on one single-threaded libevent loop (the radio's
 * descriptors, the console, the control socket and its clients, signals,
 * one timer rearmed to the next deadline of the rooms, the mesh and the
 * radio, and the web page's HTTP server, src/web).
 *
 * Doors for admin commands: the console on standard input (one command per
 * line, reply on stdout as "  -> reply", like the firmware's serial console)
 * and a Unix control socket in the data directory, used by roomctl.
 *
 * Control socket protocol (DIR/control.sock, mode 0600): the client sends
 * one command per line (at most 511 bytes; a longer line closes the
 * connection).  For each command the daemon answers with the reply's lines,
 * each prefixed by one space, then one status line without the space: "OK",
 * or "ERR" when the command is unknown or its reply reports a failure.
 * `use N` (a room index or name) selects the room for this connection only.
 *
 * Settings: defaults < DIR/roomd.conf < settings changed by command (kept in
 * roomd.db) < --set KEY=VALUE flags.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sys/config.h"
#include "sys/loop.h"
#include "sys/sys.h"
#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "mesh/node.h"
#include "proto/airtime.h"
#include "radio/radio.h"
#include "room/cmd.h"
#include "room/room.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "web/web.h"
#include "fed/fed.h"
#include "sys/mqtt.h"

/* Exit statuses (see usage() and contrib/roomd.service). */
enum {
	EXIT_RUNTIME = 1, /* a runtime error: a restart may help */
	EXIT_CONFIG = 2,  /* usage or configuration */
	EXIT_LOCKED = 3,  /* another roomd runs on the data directory */
	EXIT_STORE = 4, /* the database is corrupt, not roomd's or too new: a restart cannot help */
};

#define MAX_ROOMS       16
#define MAX_CTL_CLIENTS 8
#define LINE_MAX_LEN    512

struct daemon;

struct ctl_client {
	int fd;
	struct event *ev;
	struct daemon *d;
	int room; /* selected with `use` */
	char buf[LINE_MAX_LEN];
	size_t len;
};

struct daemon {
	struct app_config cfg;
	struct store *store;
	struct radio *radio;
	struct mesh mesh;
	struct node_link link; /* the radio <-> mesh glue */
	struct room_clock clock;
	struct room *rooms[MAX_ROOMS]; /* allocated: the mesh keeps pointers to them */
	int n_rooms;
	int console_room;
	char console[LINE_MAX_LEN];
	size_t console_len;
	bool console_open;
	int ctl_fd;
	dev_t ctl_dev; /* the socket file we bound: removed at exit only if still ours */
	ino_t ctl_ino;
	int lock_fd; /* DIR/roomd.lock, held while we run */
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client ctl[MAX_CTL_CLIENTS];
	struct room_node node; /* the radio, shared by the rooms */
	FILE *log_f;           /* packet log (`log start`), DIR/packets.log */
	bool reboot;
	/* the event loop */
	struct loop *loop;
	struct loop_timer *timer; /* rearmed to the next deadline by service() */
	struct loop_fd *ev_stdin, *ev_ctl;
	struct loop_pollset radio_watch; /* the radio's descriptors */
	struct web *web;                 /* the web page, NULL when off */
	/* federation (issue 17): the first room, over MQTT */
	bool fed_on;
	struct fed fed;
	struct mqtt *mq;
	struct loop_pollset mqtt_watch; /* the broker's socket */
};

/* ---- radio <-> mesh glue ---- */

/* One line per frame: wall time, direction, signal, hex. */
static void packet_log(struct daemon *d, const char *dir, const uint8_t *frame, size_t len,
                       int snr_x4, int rssi)
{
	char ts[32];
	time_t now = (time_t)(app_wall_ms() / 1000);
	struct tm tm;
	if (!d->log_f || !d->node.log_on)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(d->log_f, "%s %s", ts, dir);
	if (dir[0] == 'R')
		fprintf(d->log_f, " snr=%.2f rssi=%d", snr_x4 / 4.0, rssi);
	fprintf(d->log_f, " len=%zu ", len);
	for (size_t i = 0; i < len; i++)
		fprintf(d->log_f, "%02x", frame[i]);
	fputc('\n', d->log_f);
	fflush(d->log_f);
}

static void on_packet(void *ctx, bool tx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct daemon *d = ctx;
	packet_log(d, tx ? "TX" : "RX", frame, len, snr_x4, rssi);
	web_packet(d->web, tx, frame, len, snr_x4, rssi, lora_airtime_ms(&d->mesh.cfg.lp, len));
}

static void on_link(void *ctx, int up)
{
	struct daemon *d = ctx;
	log_info("roomd", "radio %s %s", radio_spec(d->radio), up ? "up" : "down");
}

static int radio_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct daemon *d = ctx;
	return radio_send(d->radio, frame, len);
}

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return app_now_ms();
}

/* ---- rooms ---- */

static void on_reboot(void *ctx, struct room *r)
{
	struct daemon *d = ctx;
	(void)r;
	d->reboot = true;
}

static void radio_events_init(struct daemon *d, struct radio_events *ev);

/* tempradio, set tx: the radio is reopened with the parameters to run now. */
static void on_radio_changed(void *ctx, struct room *r)
{
	struct daemon *d = ctx;
	struct radio_cfg rc = d->cfg.radio_cfg;
	struct radio_events ev;
	struct radio *nr;
	(void)r;
	rc.lp = d->node.run_lp;
	rc.tx_power_dbm = d->node.tx_dbm;
	if (memcmp(&rc.lp, &d->cfg.radio_cfg.lp, sizeof(rc.lp)) == 0 &&
	    rc.tx_power_dbm == d->cfg.radio_cfg.tx_power_dbm)
		return;
	radio_events_init(d, &ev);
	if (radio_open(&nr, d->cfg.radio, &rc, &ev, app_now_ms()) != ERR_OK) {
		log_err("roomd", "radio: cannot apply the new parameters; keeping the old ones");
		return;
	}
	radio_close(d->radio);
	d->radio = nr;
	d->cfg.radio_cfg = rc;
	d->mesh.cfg.lp = rc.lp;
	/* a frame that was with the old radio never gets its TxDone */
	if (d->mesh.tx_busy)
		mesh_on_tx_done(&d->mesh, false, app_now_ms());
	char lp[64];
	room_radio_format(&rc.lp, lp, sizeof(lp));
	log_info("roomd", "radio reopened: %s (MHz,kHz,SF,CR), %d dBm", lp, rc.tx_power_dbm);
}

/* The newest lines of the packet log that fit in cap bytes. */
static void log_tail(struct daemon *d, char *out, size_t cap)
{
	char path[4096];
	out[0] = 0;
	snprintf(path, sizeof(path), "%s/packets.log", d->cfg.data_dir);
	FILE *f = fopen(path, "r");
	if (!f || cap < 2)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0)
		goto out;
	long size = ftell(f);
	long start = size > (long)cap - 1 ? size - (long)cap + 1 : 0;
	if (size < 0 || fseek(f, start, SEEK_SET) != 0)
		goto out;
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	if (start > 0) { /* drop the cut first line */
		char *nl = strchr(out, '\n');
		memmove(out, nl ? nl + 1 : out + n, strlen(nl ? nl + 1 : out + n) + 1);
	}
out:
	if (f)
		fclose(f);
}

static int on_packet_log(void *ctx, struct room *r, int op, char *out, size_t cap)
{
	struct daemon *d = ctx;
	char path[4096];
	(void)r;
	snprintf(path, sizeof(path), "%s/packets.log", d->cfg.data_dir);
	switch (op) {
	case ROOM_LOG_START:
		if (!d->log_f && !(d->log_f = fopen(path, "a"))) {
			log_err("roomd", "%s: %s", path, strerror(errno));
			return ERR_SYS;
		}
		return ERR_OK;
	case ROOM_LOG_STOP: return ERR_OK; /* node.log_on stops the writing; the file stays open */
	case ROOM_LOG_ERASE:
		if (d->log_f) {
			fclose(d->log_f);
			d->log_f = NULL;
		}
		if (truncate(path, 0) < 0 && errno != ENOENT)
			return ERR_SYS;
		if (d->node.log_on && !(d->log_f = fopen(path, "a")))
			return ERR_SYS;
		return ERR_OK;
	case ROOM_LOG_DUMP:
		if (out)
			log_tail(d, out, cap);
		return ERR_OK;
	}
	return ERR_INVAL;
}

/* set prv.key: the new identity is used from the next start, as in the firmware. */
static int on_save_identity(void *ctx, struct room *r, const struct ident *id)
{
	struct daemon *d = ctx;
	char path[4096];
	snprintf(path, sizeof(path), "%s/room-%u.id", d->cfg.data_dir, r->store_id);
	int rc = app_ident_save(path, id);
	if (rc == ERR_OK)
		log_info("roomd", "room %u: new identity saved to %s; used after a restart",
		         r->store_id, path);
	return rc;
}

/* Copies the key file of room id into dir, never over a different one;
 * ERR_OK also when an identical copy is there already. */
static int backup_key(struct daemon *d, uint32_t id, const char *dir)
{
	char from[4096], to[4200];
	struct ident a, b;
	snprintf(from, sizeof(from), "%s/room-%u.id", d->cfg.data_dir, id);
	snprintf(to, sizeof(to), "%s/room-%u.id", dir, id);
	int rc = app_ident_load(from, &a);
	if (rc)
		return rc;
	int have = app_ident_load(to, &b);
	if (have == ERR_OK) {
		rc = memcmp(a.pub, b.pub, sizeof(a.pub)) == 0 ? ERR_OK : ERR_INVAL;
		ident_wipe(&b);
	} else if (have == ERR_NOT_FOUND) {
		rc = app_ident_save(to, &a);
	} else {
		rc = ERR_INVAL; /* something else is there: left alone */
	}
	ident_wipe(&a);
	return rc;
}

/* backup PATH: the whole database (every room) while running, and the room
 * keys beside it (a database without its keys restores rooms no member
 * can reach). */
static int on_backup(void *ctx, struct room *r, const char *path, char *note, size_t cap)
{
	struct daemon *d = ctx;
	char dir[4096], done[256] = "", failed[256] = "";
	(void)r;
	int rc = store_backup(d->store, path);
	if (rc)
		return rc;
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	for (int i = 0; i < d->n_rooms; i++) {
		uint32_t id = d->rooms[i]->store_id;
		char *list = backup_key(d, id, dir) == ERR_OK ? done : failed;
		size_t off = strlen(list);
		snprintf(list + off, 256 - off, "%sroom-%u.id", off ? ", " : "", id);
	}
	if (failed[0]) {
		log_warn("roomd",
		         "backup: %s not copied to %s (a different file is there, or "
		         "it cannot be written)",
		         failed, dir);
		snprintf(note, cap, "keys %s copied beside it; NOT copied: %s (see the log)",
		         done[0] ? done : "none", failed);
	} else {
		snprintf(note, cap, "with the room keys beside it (%s): keep them secret", done);
	}
	return ERR_OK;
}

/* ---- federation glue: the room's hooks -> fed, fed <-> mqtt ---- */

static bool fed_room(struct daemon *d, struct room *r)
{
	return d->fed_on && d->fed.room == r;
}

static void on_fed_post(void *ctx, struct room *r, int64_t id)
{
	struct daemon *d = ctx;
	if (fed_room(d, r)) {
		d->fed.wall_ms = (uint64_t)app_wall_ms();
		fed_post_stored(&d->fed, id); /* after the commit; the ACK does not wait */
	}
}

static void on_fed_member(void *ctx, struct room *r, const struct room_member *m)
{
	struct daemon *d = ctx;
	if (fed_room(d, r))
		fed_member_saved(&d->fed, m);
}

static void on_fed_ban(void *ctx, struct room *r, const uint8_t pub[32], bool banned, uint32_t when)
{
	struct daemon *d = ctx;
	if (fed_room(d, r))
		fed_ban_changed(&d->fed, pub, banned, when);
}

static void on_fed_delete(void *ctx, struct room *r, int64_t id)
{
	struct daemon *d = ctx;
	if (fed_room(d, r))
		fed_post_deleting(&d->fed, id);
}

static size_t on_fed_status(void *ctx, struct room *r, char *out, size_t cap)
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

static void on_fed_settings(void *ctx, struct room *r)
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

static int fed_start(struct daemon *d)
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

static void service(struct daemon *d);

static void on_mqtt_fd(void *ctx, struct pollfd *fds, int n)
{
	struct daemon *d = ctx;
	bool rd = false, wr = false;
	for (int i = 0; i < n; i++) {
		rd |= (fds[i].revents & POLLIN) != 0;
		wr |= (fds[i].revents & POLLOUT) != 0;
	}
	mqtt_io(d->mq, rd, wr, app_now_ms());
	service(d);
}

/* Watches the broker's socket (it changes at every reconnect), for writing
 * only while libmosquitto has bytes to send. */
static void mqtt_watch(struct daemon *d)
{
	struct pollfd p = {mqtt_socket(d->mq), POLLIN, 0};
	if (mqtt_want_write(d->mq))
		p.events |= POLLOUT;
	loop_pollset_set(&d->mqtt_watch, &p, p.fd < 0 ? 0 : 1);
}

static int open_room(struct daemon *d, const struct store_room *sr)
{
	struct ident id;
	char path[4096];

	if (d->n_rooms >= MAX_ROOMS) {
		log_warn("roomd", "more than %d rooms; room %u not started", MAX_ROOMS, sr->id);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/room-%u.id", d->cfg.data_dir, sr->id);
	int rc = app_ident_load(path, &id);
	if (rc) {
		log_err("roomd", "%s: cannot load identity: %s", path, err_str(rc));
		return 0;
	}
	if (memcmp(id.pub, sr->pub, 32) != 0)
		log_warn("roomd",
		         "%s: identity differs from the one room %u was created with "
		         "(set prv.key); using the file",
		         path, sr->id);
	struct room *r = calloc(1, sizeof(*r));
	rc = r ? room_open(r, &d->mesh, d->store, sr->id, &id, &d->clock, app_now_ms()) : ERR_NOMEM;
	ident_wipe(&id);
	if (rc) {
		log_err("roomd", "room %u: %s", sr->id, err_str(rc));
		free(r);
		return 0;
	}
	d->rooms[d->n_rooms] = r;
	r->hooks = (struct room_hooks){.reboot = on_reboot,
	                               .radio_changed = on_radio_changed,
	                               .packet_log = on_packet_log,
	                               .save_identity = on_save_identity,
	                               .backup = on_backup,
	                               .post_stored = on_fed_post,
	                               .member_saved = on_fed_member,
	                               .ban_changed = on_fed_ban,
	                               .post_deleting = on_fed_delete,
	                               .status = on_fed_status,
	                               .settings_changed = on_fed_settings,
	                               .ctx = d};
	r->node = &d->node;
	d->n_rooms++;
	log_info("roomd", "room %u '%s' key %02x%02x%02x%02x... %zu members", sr->id, r->set.name,
	         r->ep.id.pub[0], r->ep.id.pub[1], r->ep.id.pub[2], r->ep.id.pub[3], r->n_members);
	return 0;
}

/* Registers a room with identity id in the store and gives it the config
 * file's room settings; *rid is its id. */
static int register_room(struct daemon *d, const char *name, const struct ident *id, uint32_t *rid)
{
	struct room_settings s;
	int rc = store_room_add(d->store, name, id->pub, rid);
	if (rc)
		return rc;
	/* the config file's room settings are the defaults of a new room */
	s = d->cfg.room;
	snprintf(s.name, sizeof(s.name), "%s", name);
	for (size_t i = 0; i < room_setting_count; i++) {
		char v[512];
		if (room_setting_format(&s, &room_setting_defs[i], v, sizeof(v)) == ERR_OK)
			store_setting_set(d->store, *rid, room_setting_defs[i].key, v);
	}
	return ERR_OK;
}

/* Creates a room with a fresh identity and the configured defaults; an
 * identity file is never overwritten (it may be the only copy of a key
 * that members know). */
static int create_room(struct daemon *d, const char *name, char *why, size_t why_cap,
                       uint32_t *out_id)
{
	struct ident id;
	char path[4096];
	uint32_t rid = 0;

	why[0] = 0;
	int rc = ident_generate(&id, crypto_rng_system());
	if (rc)
		return rc;
	rc = store_begin(d->store);
	if (rc)
		goto out;
	rc = register_room(d, name, &id, &rid);
	if (rc == ERR_OK) {
		snprintf(path, sizeof(path), "%s/room-%u.id", d->cfg.data_dir, rid);
		if (access(path, F_OK) == 0 || errno != ENOENT) {
			snprintf(why, why_cap,
			         "room-%u.id exists and belongs to no room: move it "
			         "away, or restart roomd to adopt it",
			         rid);
			rc = ERR_INVAL;
		}
	}
	if (rc == ERR_OK)
		rc = app_ident_save(path, &id);
	if (rc) {
		store_rollback(d->store);
		goto out;
	}
	rc = store_commit(d->store);
	if (rc) {
		unlink(path);
		goto out;
	}
	log_info("roomd", "created room %u '%s' (identity %s)", rid, name, path);
	if (out_id)
		*out_id = rid;
out:
	ident_wipe(&id);
	return rc;
}

/* Identity files room-N.id that no room of the database has (a deleted or
 * emptied roomd.db) are adopted: the room is registered again with the same
 * key, so members' contacts keep working.  Its posts and members are gone. */
static int adopt_identities(struct daemon *d, const char *first_name)
{
	DIR *dir = opendir(d->cfg.data_dir);
	struct dirent *e;
	uint32_t ids[64];
	size_t n = 0;
	int rc = ERR_OK;

	if (!dir)
		return ERR_SYS;
	while ((e = readdir(dir)) && n < sizeof(ids) / sizeof(ids[0])) {
		unsigned id;
		char canon[64];
		if (sscanf(e->d_name, "room-%u.id", &id) != 1 || id == 0)
			continue;
		snprintf(canon, sizeof(canon), "room-%u.id", id);
		if (strcmp(canon, e->d_name) == 0) /* not room-1.id.tmp, room-01.id */
			ids[n++] = id;
	}
	closedir(dir);
	for (size_t i = 1; i < n; i++) /* oldest room first */
		for (size_t k = i; k > 0 && ids[k - 1] > ids[k]; k--) {
			uint32_t t = ids[k];
			ids[k] = ids[k - 1];
			ids[k - 1] = t;
		}
	for (size_t i = 0; i < n && rc == ERR_OK; i++) {
		char path[4096], to[4096];
		struct store_room sr;
		struct ident id;
		uint32_t rid;
		if (store_room_get(d->store, ids[i], &sr) == ERR_OK)
			continue; /* the file of an existing room */
		snprintf(path, sizeof(path), "%s/room-%u.id", d->cfg.data_dir, ids[i]);
		rc = app_ident_load(path, &id);
		if (rc) {
			log_err("roomd", "%s: cannot read it (%s); move it away to start", path,
			        err_str(rc));
			return rc;
		}
		if (store_room_find(d->store, id.pub, &sr) == ERR_OK) {
			ident_wipe(&id);
			continue;
		}
		rc = register_room(d, i == 0 ? first_name : "roomd", &id, &rid);
		ident_wipe(&id);
		if (rc)
			break;
		snprintf(to, sizeof(to), "%s/room-%u.id", d->cfg.data_dir, rid);
		/* link, never rename: an existing file is never replaced */
		if (rid != ids[i] && (link(path, to) != 0 || unlink(path) != 0)) {
			log_err("roomd", "cannot move %s to %s: %s", path, to, strerror(errno));
			rc = ERR_SYS;
			break;
		}
		log_warn("roomd",
		         "%s has no room in the database: adopted as room %u with its "
		         "key (its posts and members are not there; settings are the "
		         "config file's)",
		         path, rid);
	}
	return rc;
}

struct room_list {
	struct store_room rooms[MAX_ROOMS];
	int n;
};

static int list_rooms_cb(void *ctx, const struct store_room *sr)
{
	struct room_list *l = ctx;
	if (l->n < MAX_ROOMS)
		l->rooms[l->n++] = *sr;
	return 0;
}

/* A start that fails after open_rooms(): every room's keys and members are
 * wiped and freed, and nothing is written to the store (room_abandon), so
 * the last "alive" mark of the previous run stays what it was. */
static void abandon_rooms(struct daemon *d)
{
	for (int i = 0; i < d->n_rooms; i++) {
		room_abandon(d->rooms[i]);
		free(d->rooms[i]);
	}
	d->n_rooms = 0;
}

/* Opens every room of the store (the store cannot be used from inside its
 * own listing callback, so the list is taken first). */
static void open_rooms(struct daemon *d)
{
	static struct room_list l;
	l.n = 0;
	store_room_list(d->store, list_rooms_cb, &l);
	for (int i = 0; i < l.n; i++)
		open_room(d, &l.rooms[i]);
}

/* ---- command doors ---- */

/* The room named by an index or a name as `rooms` shows them; -1 if none. */
static int find_room(struct daemon *d, const char *arg)
{
	for (int i = 0; i < d->n_rooms; i++) {
		char idx[12];
		snprintf(idx, sizeof(idx), "%d", i);
		if (strcmp(arg, d->rooms[i]->set.name) == 0 || strcmp(arg, idx) == 0)
			return i;
	}
	return -1;
}

/* room.add NAME: the new room is opened beside the others, which go on untouched. */
static int room_add(struct daemon *d, const char *name, char *reply, size_t cap)
{
	char why[1024];
	uint32_t rid;
	struct store_room sr;
	if (d->n_rooms >= MAX_ROOMS) {
		snprintf(reply, cap, "Err - at most %d rooms", MAX_ROOMS);
		return ERR_FULL;
	}
	if (!*name || strlen(name) >= ROOM_NAME_MAX) {
		snprintf(reply, cap, "Err - a room name has 1 to %d bytes", ROOM_NAME_MAX - 1);
		return ERR_INVAL;
	}
	int rc = create_room(d, name, why, sizeof(why), &rid);
	if (rc) {
		snprintf(reply, cap, "Err - %.900s", why[0] ? why : err_str(rc));
		return rc;
	}
	int before = d->n_rooms;
	if (store_room_get(d->store, rid, &sr) == ERR_OK)
		open_room(d, &sr);
	if (d->n_rooms == before) {
		snprintf(reply, cap, "Err - room %u created but not started (see the log)", rid);
		return ERR_SYS;
	}
	snprintf(reply, cap, "OK - %d rooms", d->n_rooms);
	return ERR_OK;
}

/* room.remove N: the room's data goes; its key file is kept under another
 * name (so it is not adopted again), in case the key is wanted back. */
static int room_remove(struct daemon *d, const char *arg, char *reply, size_t cap)
{
	char path[4096], kept[4200];
	int i = find_room(d, arg);
	if (i < 0) {
		snprintf(reply, cap, "Err - no such room (see 'rooms')");
		return ERR_NOT_FOUND;
	}
	if (d->n_rooms == 1) {
		snprintf(reply, cap, "Err - the last room cannot be removed");
		return ERR_INVAL;
	}
	struct room *r = d->rooms[i];
	uint32_t id = r->store_id;
	char name[ROOM_NAME_MAX];
	snprintf(name, sizeof(name), "%s", r->set.name);
	snprintf(path, sizeof(path), "%s/room-%u.id", d->cfg.data_dir, id);
	snprintf(kept, sizeof(kept), "%s.removed", path);
	if (link(path, kept) != 0 && errno != ENOENT) {
		snprintf(reply, cap, "Err - cannot keep room-%u.id: %s", id, strerror(errno));
		return ERR_SYS;
	}
	int rc = store_room_delete(d->store, id);
	if (rc) {
		unlink(kept);
		snprintf(reply, cap, "Err - store: %s", err_str(rc));
		return rc;
	}
	unlink(path);
	room_close(r);
	free(r);
	memmove(&d->rooms[i], &d->rooms[i + 1], (size_t)(d->n_rooms - i - 1) * sizeof(d->rooms[0]));
	d->n_rooms--;
	/* the doors that had a later room selected follow it; those on it go to room 0 */
	int *sel[MAX_CTL_CLIENTS + 1];
	sel[0] = &d->console_room;
	for (int k = 0; k < MAX_CTL_CLIENTS; k++)
		sel[k + 1] = &d->ctl[k].room;
	for (int k = 0; k <= MAX_CTL_CLIENTS; k++)
		*sel[k] = *sel[k] == i ? 0 : *sel[k] > i ? *sel[k] - 1 : *sel[k];
	log_info("roomd", "room %u '%s' removed; its key is kept in %s", id, name, kept);
	snprintf(reply, cap,
	         "OK - room '%s' removed with its posts, members and settings; "
	         "its key is kept in room-%u.id.removed",
	         name, id);
	return ERR_OK;
}

/* Runs one command line for the room *cur; returns ERR_OK or an error for the status. */
static int run_command(struct daemon *d, const char *line, enum cmd_origin origin, int *cur,
                       char *reply, size_t cap)
{
	/* daemon-level commands first: room selection */
	if (strcmp(line, "rooms") == 0) {
		size_t off = 0;
		reply[0] = 0;
		for (int i = 0; i < d->n_rooms && off < cap; i++) {
			struct room *r = d->rooms[i];
			int n = snprintf(
			    reply + off, cap - off, "%s%c%d %s %02X%02X%02X%02X %zu members",
			    i ? "\n" : "", i == *cur ? '*' : ' ', i, r->set.name, r->ep.id.pub[0],
			    r->ep.id.pub[1], r->ep.id.pub[2], r->ep.id.pub[3], r->n_members);
			if (n > 0)
				off += (size_t)n;
		}
		return ERR_OK;
	}
	if (strncmp(line, "use ", 4) == 0) {
		int i = find_room(d, line + 4);
		if (i < 0) {
			snprintf(reply, cap, "Err - no such room (see 'rooms')");
			return ERR_NOT_FOUND;
		}
		*cur = i;
		snprintf(reply, cap, "OK - using %s", d->rooms[i]->set.name);
		return ERR_OK;
	}
	if (strncmp(line, "room.add ", 9) == 0)
		return room_add(d, line + 9, reply, cap);
	if (strncmp(line, "room.remove ", 12) == 0)
		return room_remove(d, line + 12, reply, cap);
	if (strcmp(line, "help") == 0) {
		snprintf(reply, cap,
		         "  rooms: list the rooms (* = selected)\n"
		         "  use <index|name>: select a room\n"
		         "  room.add <name>: create a room with a fresh identity\n"
		         "  room.remove <index|name>: delete a room's posts, members and settings "
		         "(its key is kept as room-N.id.removed; never the last room)\n");
		size_t off = strlen(reply);
		room_cmd_help(reply + off, cap - off);
		return ERR_OK;
	}
	if (!d->n_rooms || *cur < 0 || *cur >= d->n_rooms) {
		snprintf(reply, cap, "Err - no rooms");
		return ERR_NOT_FOUND;
	}
	int rc = room_cmd(d->rooms[*cur], line, 0, origin, reply, cap);
	if (rc == ERR_OK && room_cmd_reply_is_error(reply))
		rc = ERR_INVAL;
	return rc;
}

static void console_line(struct daemon *d, char *line)
{
	char reply[4096];
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = 0;
	if (!n)
		return;
	run_command(d, line, CMD_SERIAL, &d->console_room, reply, sizeof(reply));
	if (reply[0])
		printf("  -> %s\n", reply);
	fflush(stdout);
}

static void console_read(struct daemon *d)
{
	char buf[512];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0) {
		d->console_open = false; /* EOF: keep running as a daemon */
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			d->console[d->console_len] = 0;
			console_line(d, d->console);
			d->console_len = 0;
		} else if (d->console_len < sizeof(d->console) - 1) {
			d->console[d->console_len++] = buf[i];
		}
	}
}

static int ctl_open(struct daemon *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(d->ctl_path, sizeof(d->ctl_path), "%s/control.sock", d->cfg.data_dir);
	if (n < 0 || (size_t)n >= sizeof(d->ctl_path)) {
		log_warn("roomd", "data directory path too long for a control socket");
		return ERR_CONFIG;
	}
	memcpy(sa.sun_path, d->ctl_path, (size_t)n + 1);
	unlink(d->ctl_path);
	d->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct stat st;
	if (d->ctl_fd < 0 || bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(d->ctl_path, 0600) < 0 || listen(d->ctl_fd, 4) < 0 ||
	    stat(d->ctl_path, &st) < 0) {
		log_warn("roomd", "control socket %s: %s", d->ctl_path, strerror(errno));
		if (d->ctl_fd >= 0)
			close(d->ctl_fd);
		d->ctl_fd = -1;
		return ERR_SYS;
	}
	d->ctl_dev = st.st_dev;
	d->ctl_ino = st.st_ino;
	return ERR_OK;
}

/* Removes the socket file if it is still the one we bound (never another's). */
static void ctl_unlink(struct daemon *d)
{
	struct stat st;
	if (stat(d->ctl_path, &st) == 0 && st.st_dev == d->ctl_dev && st.st_ino == d->ctl_ino)
		unlink(d->ctl_path);
}

static void ctl_read(struct daemon *d, struct ctl_client *c);
static void service(struct daemon *d);

static void on_ctl_client(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_client *c = arg;
	struct daemon *d = c->d;
	(void)fd;
	(void)what;
	ctl_read(d, c);
	service(d);
}

static void ctl_accept(struct daemon *d)
{
	int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CTL_CLIENTS; i++) {
		struct ctl_client *c = &d->ctl[i];
		if (c->fd < 0) {
			c->ev = event_new(loop_base(d->loop), fd, EV_READ | EV_PERSIST,
			                  on_ctl_client, c);
			if (!c->ev || event_add(c->ev, NULL) < 0) {
				if (c->ev)
					event_free(c->ev);
				c->ev = NULL;
				break;
			}
			c->fd = fd;
			c->d = d;
			c->len = 0;
			c->room = d->console_room;
			return;
		}
	}
	close(fd);
}

/* Writes all of buf to a control client (a short reply to a local peer). */
static int ctl_write(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {fd, POLLOUT, 0};
			if (poll(&p, 1, 1000) <= 0)
				return ERR_SYS; /* a client that does not read is dropped */
			continue;
		}
		if (n <= 0)
			return ERR_SYS;
		buf += n;
		len -= (size_t)n;
	}
	return ERR_OK;
}

static void ctl_close(struct ctl_client *c)
{
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	close(c->fd);
	c->fd = -1;
}

/* Sends a reply in the socket framing: " line" for each line, then OK or ERR. */
static int ctl_reply(struct ctl_client *c, const char *reply, int rc)
{
	char out[8192];
	size_t off = 0;
	const char *s = reply;
	while (*s && off + 2 < sizeof(out) - 16) { /* room for ' ', a byte, '\n' */
		size_t len = strcspn(s, "\n");
		if (len > sizeof(out) - 16 - off - 2)
			len = sizeof(out) - 16 - off - 2;
		out[off++] = ' ';
		memcpy(out + off, s, len);
		off += len;
		out[off++] = '\n';
		s += len;
		if (*s == '\n')
			s++;
	}
	off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", rc ? "ERR" : "OK");
	return ctl_write(c->fd, out, off);
}

static void ctl_read(struct daemon *d, struct ctl_client *c)
{
	char reply[4096];
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		ctl_close(c);
		return;
	}
	c->len += (size_t)n;
	char *nl;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		*nl = 0;
		if (nl > c->buf && nl[-1] == '\r')
			nl[-1] = 0;
		int rc = *c->buf ? run_command(d, c->buf, CMD_LOCAL, &c->room, reply, sizeof(reply))
		                 : (reply[0] = 0, ERR_OK);
		if (ctl_reply(c, reply, rc) != ERR_OK) {
			ctl_close(c);
			return;
		}
		size_t used = (size_t)(nl - c->buf) + 1;
		memmove(c->buf, nl + 1, c->len - used);
		c->len -= used;
	}
	if (c->len == sizeof(c->buf) - 1) { /* a line too long: drop the client */
		ctl_reply(c, "Err - line too long", ERR_TOO_BIG);
		ctl_close(c);
	}
}

static void radio_events_init(struct daemon *d, struct radio_events *ev)
{
	*ev = (struct radio_events){node_rx, node_tx_done, node_link_changed, &d->link};
}

/* The radio of the last run (global settings), to say when it changed. */
#define LAST_RADIO_KEY "run.radio"

/* Logs the radio settings in use, and warns when they differ from the last
 * run's: members stay on the old channel unless they move too. */
static void log_radio(struct daemon *d)
{
	const struct radio_cfg *rc = &d->cfg.radio_cfg;
	char now[64], last[STORE_SETTING_VALUE_MAX];
	room_radio_format(&rc->lp, now, sizeof(now));
	log_info("roomd", "radio %s: %s (MHz,kHz,SF,CR), %d dBm", d->cfg.radio, now,
	         rc->tx_power_dbm);
	if (store_setting_get(d->store, 0, LAST_RADIO_KEY, "", last, sizeof(last)) == ERR_OK &&
	    last[0] && strcmp(last, now) != 0)
		log_warn("roomd",
		         "the radio settings changed since the last run (were %s, now %s): "
		         "members still on %s will not hear the room",
		         last, now, last);
	if (strcmp(last, now) != 0)
		store_setting_set(d->store, 0, LAST_RADIO_KEY, now);
}

struct global_ctx {
	struct app_config *cfg;
};

/* A setting changed by command (global, room 0) over the config file. */
static int global_setting_cb(void *ctx, const char *key, const char *value)
{
	struct global_ctx *g = ctx;
	if (strcmp(key, LAST_RADIO_KEY) == 0)
		return 0; /* ours, not a setting */
	if (app_config_set(g->cfg, key, value) != ERR_OK)
		log_warn("roomd", "roomd.db: ignoring setting %s = '%s'", key, value);
	return 0;
}

/* Room keys written in roomd.conf that a room overrides with its own value
 * (from its creation or a command): said at start, so an edit of the file
 * that does not apply is not silent. */
static void log_overridden(struct daemon *d, const char *conf)
{
	for (size_t k = 0; k < room_setting_count && k < 64; k++) {
		const struct setting_def *sd = &room_setting_defs[k];
		char want[512], have[512];
		if (!(d->cfg.room_keys_in_file & (1ull << k)) ||
		    room_setting_format(&d->cfg.room, sd, want, sizeof(want)) != ERR_OK)
			continue;
		for (int i = 0; i < d->n_rooms; i++) {
			struct room *r = d->rooms[i];
			if (room_setting_format(&r->set, sd, have, sizeof(have)) != ERR_OK ||
			    strcmp(want, have) == 0)
				continue;
			bool secret = strstr(sd->key, "password") != NULL;
			log_warn("roomd",
			         "%s: %s = %s does not apply to room %d '%s', which has %s "
			         "of its own (the file gives new rooms' defaults; change it "
			         "with: roomctl -d DIR --room %d set %s ...)",
			         conf, sd->key, secret ? "***" : want, i, r->set.name,
			         secret ? "another" : have, i, sd->key);
		}
	}
}

/* --set KEY=VALUE */
static int apply_set_flag(struct app_config *cfg, const char *arg)
{
	char key[64];
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key)) {
		fprintf(stderr, "roomd: --set %s: expected KEY=VALUE\n", arg);
		return ERR_CONFIG;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	int rc = app_config_set(cfg, key, eq + 1);
	if (rc == ERR_NOT_FOUND)
		fprintf(stderr, "roomd: --set: unknown key '%s'\n", key);
	else if (rc)
		fprintf(stderr, "roomd: --set: bad value '%s' for %s\n", eq + 1, key);
	return rc ? ERR_CONFIG : ERR_OK;
}

/* ---- main loop ---- */

/*
 * Work due now (mesh, rooms, radio), then the radio's descriptors watched as
 * it asks and the timer set to the earliest deadline.  Runs after every
 * event, as the top of the old poll() loop did.
 */
static void radio_watch(struct daemon *d);

static void service(struct daemon *d)
{
	uint64_t now = app_now_ms();
	mesh_tick(&d->mesh, now);
	for (int i = 0; i < d->n_rooms; i++)
		room_tick(d->rooms[i], now);
	radio_tick(d->radio, now);
	mesh_tick(&d->mesh, now);
	if (loop_signal(d->loop) || d->reboot) {
		loop_break(d->loop);
		return;
	}
	radio_watch(d);
	if (d->fed_on) {
		mqtt_tick(d->mq, now);
		fed_tick(&d->fed, now, (uint64_t)app_wall_ms());
		mqtt_watch(d);
	}
	web_poll(d->web); /* posts stored by this event go to the live pages now */

	uint64_t next = mesh_next_deadline(&d->mesh);
	for (int i = 0; i < d->n_rooms; i++) {
		uint64_t t = room_next_deadline(d->rooms[i]);
		if (t < next)
			next = t;
	}
	uint64_t t = radio_next_deadline(d->radio);
	if (t < next)
		next = t;
	if (d->fed_on && (t = fed_next_deadline(&d->fed)) < next)
		next = t;
	uint64_t wait = next == UINT64_MAX ? 1000 : next <= now ? 0 : next - now;
	if (wait > 1000)
		wait = 1000;
	loop_timer_in(d->timer, wait);
}

static void on_timer(void *ctx)
{
	service(ctx);
}

static void on_radio_fd(void *ctx, struct pollfd *fds, int n)
{
	struct daemon *d = ctx;
	uint64_t now = app_now_ms();
	mesh_tick(&d->mesh, now);
	radio_handle(d->radio, fds, n, now);
	service(d);
}

/* Watches the descriptors the radio asks for now (they change as it
 * connects, has output or is reopened; loop.h says why the base uses
 * poll()). */
static void radio_watch(struct daemon *d)
{
	struct pollfd fds[LOOP_POLLSET_MAX];
	int n = radio_pollfds(d->radio, fds, LOOP_POLLSET_MAX);
	loop_pollset_set(&d->radio_watch, fds, n);
}

static void on_stdin(void *ctx, int fd, short revents)
{
	struct daemon *d = ctx;
	(void)fd;
	(void)revents;
	console_read(d);
	if (!d->console_open && d->ev_stdin) { /* EOF: keep running as a daemon */
		loop_fd_free(d->ev_stdin);
		d->ev_stdin = NULL;
	}
	service(d);
}

static void on_ctl_listen(void *ctx, int fd, short revents)
{
	(void)fd;
	(void)revents;
	ctl_accept(ctx);
	service(ctx);
}

/* The event loop (sys/loop.h) with the daemon's fixed events. */
static int loop_start(struct daemon *d)
{
	int rc = loop_open(&d->loop);
	if (rc)
		return rc;
	loop_pollset_init(&d->radio_watch, d->loop, on_radio_fd, d);
	loop_pollset_init(&d->mqtt_watch, d->loop, on_mqtt_fd, d);
	d->timer = loop_timer_new(d->loop, on_timer, d);
	if (!d->timer)
		return ERR_NOMEM;
	if (d->console_open &&
	    !(d->ev_stdin = loop_fd_new(d->loop, STDIN_FILENO, POLLIN, on_stdin, d)))
		return ERR_SYS;
	if (d->ctl_fd >= 0 &&
	    !(d->ev_ctl = loop_fd_new(d->loop, d->ctl_fd, POLLIN, on_ctl_listen, d)))
		return ERR_SYS;
	return ERR_OK;
}

static void loop_stop(struct daemon *d)
{
	if (!d->loop)
		return;
	loop_pollset_clear(&d->radio_watch);
	loop_pollset_clear(&d->mqtt_watch);
	loop_timer_free(d->timer);
	loop_fd_free(d->ev_stdin);
	loop_fd_free(d->ev_ctl);
	d->timer = NULL;
	d->ev_stdin = d->ev_ctl = NULL;
	for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		if (d->ctl[i].ev) {
			event_free(d->ctl[i].ev);
			d->ctl[i].ev = NULL;
		}
	loop_close(d->loop);
	d->loop = NULL;
}

/* ---- what the web page sees of the daemon (web.h) ---- */

static int host_n_rooms(void *ctx)
{
	return ((struct daemon *)ctx)->n_rooms;
}

static struct room *host_room(void *ctx, int i)
{
	return ((struct daemon *)ctx)->rooms[i];
}

static int host_command(void *ctx, int i, const char *line, char *reply, size_t cap)
{
	int cur = i;
	return run_command(ctx, line, CMD_LOCAL, &cur, reply, cap);
}

static int host_fed_counters(void *ctx, struct web_counter *out, int max)
{
	struct daemon *d = ctx;
	if (!d->fed_on)
		return 0;
	const struct fed *f = &d->fed;
	const struct fed_stats *s = &f->stats;
	uint64_t now = app_now_ms();
	struct web_counter all[] = {
	    {"connected", "1 while the broker connection is up", WEB_GAUGE, f->up},
	    {"peers", "sites heard in the last 90 s", WEB_GAUGE, fed_peers_live(f)},
	    {"lag_p50_ms", "replication lag of recent live posts, median", WEB_GAUGE,
	     fed_lag_pct(f, 50)},
	    {"lag_p99_ms", "replication lag of recent live posts, 99th percentile", WEB_GAUGE,
	     fed_lag_pct(f, 99)},
	    {"queued", "messages published and not yet acknowledged by the broker", WEB_GAUGE,
	     mqtt_queued(d->mq)},
	    {"last_sync_age_seconds", "since a peer's hello showed nothing missing (-1: never)",
	     WEB_GAUGE, f->last_sync_ms ? (double)(now - f->last_sync_ms) / 1000.0 : -1},
#define C(fl, h) {#fl, h, WEB_COUNTER, (double)s->fl}
	    C(published, "messages published"),
	    C(publish_failed, "messages not handed to the broker"),
	    C(posts_applied, "posts from other sites stored"),
	    C(posts_dup, "posts from other sites already held"),
	    C(members_applied, "member records merged"),
	    C(settings_applied, "room settings applied"),
	    C(resync_posts_sent, "posts sent again to a peer that lacked them"),
	    C(dropped_garbage, "messages dropped: malformed"),
	    C(dropped_wrong_room, "messages dropped: another room's"),
	    C(dropped_bad_sig, "messages dropped: bad signature"),
	    C(dropped_store, "messages dropped: the store failed"),
#undef C
	};
	int n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		out[n++] = all[i];
	return n;
}

static int host_radio_counters(void *ctx, struct web_counter *out, int max)
{
	struct daemon *d = ctx;
	const struct radio_stats *s = radio_stats(d->radio);
	struct web_counter all[] = {
#define C(f, h) {#f, h, WEB_COUNTER, (double)s->f}
	    C(rx_frames, "frames from the modem"),
	    C(rx_dropped, "frames from the modem dropped (empty or too long)"),
	    C(tx_frames, "frames sent (TxDone ok)"),
	    C(tx_failures, "frames not sent (TxDone failed or timed out)"),
	    C(tx_timeouts, "frames with no TxDone in time"),
	    C(tx_busy, "TxBusy answers (retried)"),
	    C(tx_resent, "frames re-sent after a reconnect"),
	    C(link_ups, "modem links that came up"),
	    C(link_downs, "modem links that went down"),
	    C(reconnects, "reconnections"),
	    C(connect_failures, "failed connection attempts"),
	    C(kiss_frames, "KISS frames decoded"),
	    C(kiss_noise_bytes, "bytes outside any KISS frame"),
	    C(kiss_bad_escapes, "bad KISS escapes"),
	    C(kiss_oversized, "oversized KISS frames"),
	    C(unknown_frames, "unknown modem frames"),
	    C(modem_errors, "modem error answers"),
	    C(modem_resets, "modem resets (settings re-applied)"),
	    C(queue_full, "modem queries not sent: queue full"),
#undef C
	    {"link_up", "1 while the modem link is up", WEB_GAUGE, radio_link_up(d->radio) ? 1 : 0},
	    {"last_snr_db", "SNR of the last frame with metadata", WEB_GAUGE, s->last_snr_x4 / 4.0},
	    {"last_rssi_dbm", "RSSI of the last frame with metadata", WEB_GAUGE, s->last_rssi_dbm},
	};
	int n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		out[n++] = all[i];
	return n;
}

static void host_radio_settings(void *ctx, char *out, size_t cap)
{
	struct daemon *d = ctx;
	char lp[64];
	room_radio_format(&d->cfg.radio_cfg.lp, lp, sizeof(lp));
	snprintf(out, cap, "%s: %s (MHz,kHz,SF,CR), %d dBm%s", d->cfg.radio, lp,
	         d->cfg.radio_cfg.tx_power_dbm,
	         radio_link_up(d->radio) ? ", link up" : ", link down");
}

static void web_start(struct daemon *d)
{
	struct web_host h = {
	    .ctx = d,
	    .store = d->store,
	    .mesh = &d->mesh,
	    .data_dir = d->cfg.data_dir,
	    .n_rooms = host_n_rooms,
	    .room = host_room,
	    .command = host_command,
	    .radio_counters = host_radio_counters,
	    .fed_counters = host_fed_counters,
	    .radio_settings = host_radio_settings,
	    .now_ms = app_now_ms,
	};
	int rc = web_open(&d->web, loop_base(d->loop), d->cfg.http_listen, &h);
	if (rc == ERR_NOT_FOUND)
		log_info("roomd", "web page off");
	else if (rc == ERR_INVAL)
		log_err("roomd",
		        "http.listen %s: expected ADDR:PORT (e.g. 127.0.0.1:8073) or off; "
		        "the web page is off",
		        d->cfg.http_listen);
	else if (rc)
		log_err("roomd", "the web page is off (cannot listen on %s); the rooms run on",
		        d->cfg.http_listen);
}

static int run(struct daemon *d)
{
	if (loop_start(d) != ERR_OK) {
		log_err("roomd", "event loop: cannot start");
		return 1;
	}
	web_start(d);
	service(d);
	int rc = 0;
	if (!loop_signal(d->loop) && !d->reboot && loop_run(d->loop) != ERR_OK)
		rc = 1;
	return rc;
}

static void usage(FILE *f)
{
	fputs(
	    "NAME\n"
	    "    roomd - MeshCore room server for Linux\n"
	    "\n"
	    "SYNOPSIS\n"
	    "    roomd --data DIR --radio SPEC [OPTIONS]\n"
	    "\n"
	    "DESCRIPTION\n"
	    "    roomd hosts one or more MeshCore room servers on one LoRa radio. It is\n"
	    "    wire-compatible with MeshCore firmware v1.17.1: stock apps and companion\n"
	    "    radios see an ordinary room server. Posts are stored in SQLite in DIR and\n"
	    "    acknowledged only after they are durably committed; members who come back\n"
	    "    are pushed everything they missed, oldest first, each post acknowledged.\n"
	    "\n"
	    "    When DIR is new, roomd creates it with a first room (fresh identity,\n"
	    "    default settings) and a commented configuration file DIR/roomd.conf.\n"
	    "    The console on standard input takes the admin commands of the firmware's\n"
	    "    serial console (type 'help'); replies are printed as '  -> reply'.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -d, --data DIR        data directory (database, identities, config, socket)\n"
	    "    -r, --radio SPEC      tcp:HOST:PORT (meshair or any KISS-TCP server) or\n"
	    "                          serial:DEVICE[:BAUD] (a board running MeshCore kiss_modem)\n"
	    "    -c, --config FILE     configuration file (default DIR/roomd.conf)\n"
	    "    -n, --name NAME       name of the first room when DIR is new\n"
	    "    -s, --set KEY=VALUE   set a configuration key for this run, over the file and\n"
	    "                          over changes made by command (repeatable; keys as in\n"
	    "                          roomd.conf, e.g. --set freq=869.525 --set max.posts=50000)\n"
	    "        --refuse-default-passwords\n"
	    "                          exit if a room still has the factory admin or guest "
	    "password,\n"
	    "                          or an empty one\n"
	    "        --federate mqtt://[USER:PASS@]HOST:PORT/ROOM\n"
	    "                          share the first room with the other roomd sites on that\n"
	    "                          MQTT broker (same room key file at each; fed.* keys in\n"
	    "                          roomd.conf: site name, TLS files, user and password)\n"
	    "        --http ADDR:PORT  the web page: board, members, channel, admin, /metrics and\n"
	    "                          /api/v1 (default 127.0.0.1:8073, http.listen in "
	    "roomd.conf);\n"
	    "                          --http off: none\n"
	    "    -v, --verbose         more logging (repeat for trace)\n"
	    "    -q, --quiet           errors only\n"
	    "    -h, --help            this text\n"
	    "        --version         print the version\n"
	    "\n"
	    "FILES\n"
	    "    DIR/roomd.conf        settings (every key with its default, commented)\n"
	    "    DIR/roomd.db          SQLite database: rooms, posts, members, settings, bans\n"
	    "    DIR/room-N.id         identity of room N: pub(32) || prv(64), mode 0600\n"
	    "    DIR/control.sock      control socket; send command lines with roomctl\n"
	    "    DIR/roomd.lock        held while roomd runs (one roomd per DIR); has its pid\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 clean stop (SIGINT, SIGTERM, 'reboot' re-executes), 1 runtime error,\n"
	    "    2 usage or configuration error, 3 another roomd runs on DIR (its pid is\n"
	    "    logged), 4 the database is corrupt, not roomd's or from a newer roomd\n"
	    "    (restore a backup; restarting cannot help).\n"
	    "\n"
	    "EXAMPLES\n"
	    "    meshair --listen 127.0.0.1:7300 &\n"
	    "    roomd --data ~/.roomd --radio tcp:127.0.0.1:7300\n"
	    "    roomd --data /var/lib/roomd --radio serial:/dev/ttyACM0\n",
	    f);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	const char *config = NULL, *name = "roomd";
	bool refuse_defaults = false;
	int verbose = 0;
	static const struct option opts[] = {
	    {"data", required_argument, 0, 'd'},
	    {"radio", required_argument, 0, 'r'},
	    {"config", required_argument, 0, 'c'},
	    {"name", required_argument, 0, 'n'},
	    {"verbose", no_argument, 0, 'v'},
	    {"quiet", no_argument, 0, 'q'},
	    {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},
	    {"refuse-default-passwords", no_argument, 0, 'R'},
	    {"set", required_argument, 0, 's'},
	    {"http", required_argument, 0, 'H'},
	    {"federate", required_argument, 0, 'F'},
	    {0, 0, 0, 0},
	};
	int c, rc;

	log_set_prefix("roomd");
	/* systemd's journal stamps each line itself (it sets JOURNAL_STREAM) */
	log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	app_config_defaults(&d.cfg);
	while ((c = getopt_long(argc, argv, "d:r:c:n:s:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 's': break; /* applied after the file and the database */
		case 'H': break; /* likewise */
		case 'F': break;
		case 'd': snprintf(d.cfg.data_dir, sizeof(d.cfg.data_dir), "%s", optarg); break;
		case 'r': snprintf(d.cfg.radio, sizeof(d.cfg.radio), "%s", optarg); break;
		case 'c': config = optarg; break;
		case 'n': name = optarg; break;
		case 'v': verbose++; break;
		case 'q': verbose = -1; break;
		case 'R': refuse_defaults = true; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("roomd %s (MeshCore %s compatible)\n", APP_VERSION, ROOM_FW_VERSION);
			return 0;
		default: /* getopt named the option; the manual is one --help away */
			fprintf(stderr, "roomd: see 'roomd --help'\n");
			return EXIT_CONFIG;
		}
	}
	log_set_level(verbose < 0    ? LOG_ERR
	              : verbose == 0 ? LOG_INFO
	              : verbose == 1 ? LOG_DEBUG
	                             : LOG_TRACE);
	if (!d.cfg.data_dir[0]) {
		fprintf(stderr, "roomd: --data DIR is required (see roomd --help)\n");
		return 2;
	}
	if (!*name || strlen(name) >= ROOM_NAME_MAX) {
		fprintf(stderr, "roomd: --name takes 1 to %d bytes\n", ROOM_NAME_MAX - 1);
		return 2;
	}
	if (crypto_init() != ERR_OK) {
		fprintf(stderr, "roomd: libsodium failed to initialise\n");
		return 1;
	}
	app_private_files(); /* database, WAL, config, keys, backups, packet log: 0600 */
	if (app_mkdir(d.cfg.data_dir) != ERR_OK)
		return EXIT_RUNTIME;
	app_check_private(d.cfg.data_dir);
	/* one roomd per data directory: two would transmit as one identity */
	long holder;
	rc = app_dir_lock(d.cfg.data_dir, "roomd.lock", &d.lock_fd, &holder);
	if (rc == ERR_AGAIN) {
		if (holder > 0)
			log_err("roomd", "%s is in use by another roomd (pid %ld); stop it first",
			        d.cfg.data_dir, holder);
		else
			log_err("roomd", "%s is in use by another roomd; stop it first",
			        d.cfg.data_dir);
		return EXIT_LOCKED;
	}
	if (rc)
		return EXIT_RUNTIME;
	char path[4096];
	if (!config) {
		snprintf(path, sizeof(path), "%s/roomd.conf", d.cfg.data_dir);
		if (access(path, F_OK) != 0 && app_config_write_default(path) != ERR_OK)
			log_warn("roomd", "cannot write %s", path);
		config = path;
	}
	if (app_config_load(config, &d.cfg, access(config, F_OK) == 0) != ERR_OK)
		return 2;
	char db[4096];
	snprintf(db, sizeof(db), "%s/roomd.db", d.cfg.data_dir);
	rc = store_open(&d.store, db);
	if (rc) {
		log_err("roomd", "%s: %s", db, err_str(rc));
		if (rc == ERR_STORE || rc == ERR_VERSION) {
			log_err("roomd",
			        "restore %s from a backup (roomctl backup) or move it "
			        "away; roomd will not retry",
			        db);
			return EXIT_STORE;
		}
		return EXIT_RUNTIME;
	}
	/* settings changed by command win over the file ... */
	struct global_ctx g = {&d.cfg};
	store_setting_list(d.store, 0, global_setting_cb, &g);
	/* ... and flags over both */
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:r:c:n:s:vqh", opts, NULL)) != -1) {
		if (c == 'r')
			snprintf(d.cfg.radio, sizeof(d.cfg.radio), "%s", optarg);
		if (c == 'H' && app_config_set(&d.cfg, "http.listen", optarg) != ERR_OK) {
			fprintf(stderr, "roomd: --http %s: expected ADDR:PORT or off\n", optarg);
			store_close(d.store);
			return 2;
		}
		if (c == 's' && apply_set_flag(&d.cfg, optarg) != ERR_OK) {
			store_close(d.store);
			return 2;
		}
		if (c == 'F' && app_config_set(&d.cfg, "fed.url", optarg) != ERR_OK) {
			fprintf(
			    stderr,
			    "roomd: --federate %s: expected mqtt://[user:pass@]HOST:PORT/ROOM\n",
			    optarg);
			store_close(d.store);
			return 2;
		}
	}
	if (!d.cfg.radio[0]) {
		fprintf(stderr, "roomd: --radio SPEC is required (see roomd --help)\n");
		store_close(d.store);
		return 2;
	}
	static struct room_list existing;
	if (adopt_identities(&d, name) != ERR_OK) {
		store_close(d.store);
		return EXIT_RUNTIME;
	}
	store_room_list(d.store, list_rooms_cb, &existing);
	char why[1024];
	if (existing.n == 0 && (rc = create_room(&d, name, why, sizeof(why), NULL)) != ERR_OK) {
		log_err("roomd", "cannot create the first room: %s", why[0] ? why : err_str(rc));
		store_close(d.store);
		return 1;
	}

	d.clock.offset_ms = app_wall_ms() - (int64_t)app_now_ms();
	d.cfg.mesh.lp = d.cfg.radio_cfg.lp;
	room_node_init(&d.node, &d.cfg.radio_cfg.lp, d.cfg.radio_cfg.tx_power_dbm);
	struct node_io io = {
	    .send = radio_transmit, .now = now_ms, .packet = on_packet, .link = on_link, .ctx = &d};
	node_open(&d.link, &d.mesh, &d.cfg.mesh, &io, crypto_rng_system());
	open_rooms(&d);
	/* a --set of a room key applies to every room for this run (not saved) */
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:r:c:n:s:vqh", opts, NULL)) != -1) {
		const char *eq = c == 's' ? strchr(optarg, '=') : NULL;
		char key[64];
		if (!eq || (size_t)(eq - optarg) >= sizeof(key))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)(eq - optarg), optarg);
		const struct setting_def *sd = room_setting_find(key);
		for (int i = 0; sd && i < d.n_rooms; i++)
			room_setting_parse(&d.rooms[i]->set, sd, eq + 1);
	}
	log_overridden(&d, config);
	if (!d.n_rooms) {
		log_err("roomd", "no room could be started");
		store_close(d.store);
		return 1;
	}
	for (int i = 0; i < d.n_rooms; i++) {
		struct room *r = d.rooms[i];
		/* after --set, which may have changed them */
		if (!room_default_passwords(r))
			continue;
		log_warn("roomd",
		         "room '%s' still has a factory default password (admin 'password' "
		         "or guest 'hello') or an empty one: anyone can log in; change them with "
		         "'password <pw>' and 'set guest.password <pw>'",
		         r->set.name);
		if (refuse_defaults) {
			log_err("roomd", "refusing to start (--refuse-default-passwords)");
			abandon_rooms(&d);
			store_close(d.store);
			return 2;
		}
	}

	struct radio_events ev;
	radio_events_init(&d, &ev);
	rc = radio_open(&d.radio, d.cfg.radio, &d.cfg.radio_cfg, &ev, app_now_ms());
	if (rc) {
		log_err("roomd", "radio %s: %s", d.cfg.radio, err_str(rc));
		abandon_rooms(&d);
		store_close(d.store);
		return 2;
	}
	log_radio(&d);
	for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		d.ctl[i].fd = -1;
	ctl_open(&d);
	d.console_open = true;
	signal(SIGPIPE, SIG_IGN);
	if (d.cfg.fed.url[0] && fed_start(&d) != ERR_OK) {
		radio_close(d.radio);
		store_close(d.store);
		return 2;
	}
	log_info("roomd", "ready: %d room(s) on %s; type 'help' for commands", d.n_rooms,
	         d.cfg.radio);

	rc = run(&d);
	web_close(d.web);
	d.web = NULL;
	int stopped_by = d.loop ? loop_signal(d.loop) : 0;
	loop_stop(&d);
	mqtt_close(d.mq);
	d.mq = NULL;

	for (int i = 0; i < d.n_rooms; i++) {
		room_close(d.rooms[i]);
		free(d.rooms[i]);
	}
	radio_close(d.radio);
	store_close(d.store);
	if (d.ctl_fd >= 0) {
		close(d.ctl_fd);
		ctl_unlink(&d);
	}
	for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		if (d.ctl[i].fd >= 0)
			close(d.ctl[i].fd);
	if (d.log_f)
		fclose(d.log_f);
	if (d.reboot && !stopped_by) {
		log_info("roomd", "reboot");
		close(d.lock_fd); /* the new image takes it again */
		execv("/proc/self/exe", argv);
		log_err("roomd", "re-exec failed: %s", strerror(errno));
		return 1;
	}
	log_info("roomd", "stopped");
	return rc;
}
