/*
 * roomd.c - the room server daemon: wires the radio, the mesh, the store and
 * the rooms together on one single-threaded event loop (src/sys/loop.c on
 * libevent: the radio's descriptors, the console, the control socket and its
 * clients, signals, one timer rearmed to the next deadline of the rooms, the
 * mesh and the radio, and the web page's HTTP server, src/web).  Its rooms,
 * federation glue and web host are in src/roomd/ (daemon.h).
 *
 * Doors for admin commands: the console on standard input (one command per
 * line, reply on stdout as "  -> reply", like the firmware's serial console)
 * and a Unix control socket in the data directory, used by roomctl.
 *
 * Control socket protocol (DIR/control.sock, mode 0600; src/sys/ctlsock.h,
 * never blocking the daemon): the client sends one command per line (at
 * most 511 bytes; a longer line closes the connection).  For each command the daemon answers with
 * the reply's lines, each prefixed by one space, then one status line without the space: "OK", or
 * "ERR" when the command is unknown or its reply reports a failure. `use N` (a room index or name)
 * selects the room for this connection only.
 *
 * Settings: defaults < DIR/roomd.conf < settings changed by command (kept in
 * roomd.db) < --set KEY=VALUE flags.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "roomd/daemon.h"
#include "sys/config.h"
#include "sys/ctlsock.h"
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

static int radio_sense_now(void *ctx)
{
	struct daemon *d = ctx;
	return radio_sense(d->radio, app_now_ms());
}

/* Runs one command line for the room *cur; returns ERR_OK or an error for the status. */
int roomd_run_command(struct daemon *d, const char *line, enum cmd_origin origin, int *cur,
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
		int i = roomd_find_room(d, line + 4);
		if (i < 0) {
			snprintf(reply, cap, "Err - no such room (see 'rooms')");
			return ERR_NOT_FOUND;
		}
		*cur = i;
		snprintf(reply, cap, "OK - using %s", d->rooms[i]->set.name);
		return ERR_OK;
	}
	if (strncmp(line, "room.add ", 9) == 0)
		return roomd_room_add(d, line + 9, reply, cap);
	if (strncmp(line, "room.remove ", 12) == 0)
		return roomd_room_remove(d, line + 12, reply, cap);
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
	roomd_run_command(d, line, CMD_SERIAL, &d->console_room, reply, sizeof(reply));
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

/* ---- the control socket (sys/ctlsock.h) ---- */

void roomd_service(struct daemon *d);

static int ctl_command(void *ctx, const char *line, int *sel, char *reply, size_t cap)
{
	return roomd_run_command(ctx, line, CMD_LOCAL, sel, reply, cap);
}

static int ctl_initial_sel(void *ctx)
{
	return ((struct daemon *)ctx)->console_room;
}

static void ctl_after(void *ctx)
{
	roomd_service(ctx);
}

static void ctl_start(struct daemon *d)
{
	char path[4096];
	struct ctlsock_ops ops = {
	    .command = ctl_command, .initial_sel = ctl_initial_sel, .after = ctl_after, .ctx = d};
	snprintf(path, sizeof(path), "%s/control.sock", d->cfg.data_dir);
	ctlsock_open(&d->ctl, d->loop, path, &ops); /* logged; roomd runs without it */
}

void roomd_radio_events(struct daemon *d, struct radio_events *ev)
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
	int rc = app_config_set_from(cfg, key, eq + 1, SET_DOOR_FLAG);
	if (rc == ERR_NOT_FOUND)
		fprintf(stderr, "roomd: --set: unknown key '%s'\n", key);
	else if (rc == ERR_PERM)
		fprintf(stderr, "roomd: --set: %s is set by command only\n", key);
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

void roomd_service(struct daemon *d)
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
		for (int i = 0; i < d->n_feds; i++)
			fed_tick(d->feds[i], now, (uint64_t)app_wall_ms());
		roomd_mqtt_watch(d);
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
	for (int i = 0; d->fed_on && i < d->n_feds; i++)
		if ((t = fed_next_deadline(d->feds[i])) < next)
			next = t;
	uint64_t wait = next == UINT64_MAX ? 1000 : next <= now ? 0 : next - now;
	if (wait > 1000)
		wait = 1000;
	loop_timer_in(d->timer, wait);
}

static void on_timer(void *ctx)
{
	roomd_service(ctx);
}

static void on_radio_fd(void *ctx, struct pollfd *fds, int n)
{
	struct daemon *d = ctx;
	uint64_t now = app_now_ms();
	mesh_tick(&d->mesh, now);
	radio_handle(d->radio, fds, n, now);
	roomd_service(d);
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
	roomd_service(d);
}

/* The event loop (sys/loop.h) with the daemon's fixed events. */
static int loop_start(struct daemon *d)
{
	int rc = loop_open(&d->loop);
	if (rc)
		return rc;
	loop_pollset_init(&d->radio_watch, d->loop, on_radio_fd, d);
	loop_pollset_init(&d->mqtt_watch, d->loop, roomd_on_mqtt_fd, d);
	d->timer = loop_timer_new(d->loop, on_timer, d);
	if (!d->timer)
		return ERR_NOMEM;
	if (d->console_open &&
	    !(d->ev_stdin = loop_fd_new(d->loop, STDIN_FILENO, POLLIN, on_stdin, d)))
		return ERR_SYS;
	ctl_start(d);
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
	ctlsock_close(d->ctl);
	d->ctl = NULL;
	d->timer = NULL;
	d->ev_stdin = NULL;
	loop_close(d->loop);
	d->loop = NULL;
}

static int run(struct daemon *d)
{
	roomd_web_start(d);
	roomd_service(d);
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
	    "                          share the rooms with the other roomd sites on that\n"
	    "                          MQTT broker (same room key files at each; fed.* keys in\n"
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

/* ---- start and stop ---- */

/* The command line, parsed once (it was parsed three times for the
 * precedence defaults < file < database < flags). */
#define MAX_FLAGS 64
struct args {
	const char *config, *name;
	bool refuse_defaults;
	int verbose;
	/* the settings it gives, in order: --radio, --http, --federate, --set */
	struct {
		int opt;
		const char *arg;
	} flags[MAX_FLAGS];
	int n_flags;
};

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct args *a, struct app_config *cfg)
{
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
	int c;
	while ((c = getopt_long(argc, argv, "d:r:c:n:s:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
		case 'H':
		case 'F':
		case 's': /* applied after the file and the database */
			if (a->n_flags == MAX_FLAGS) {
				fprintf(stderr, "roomd: more than %d settings flags\n", MAX_FLAGS);
				return EXIT_CONFIG;
			}
			a->flags[a->n_flags].opt = c;
			a->flags[a->n_flags++].arg = optarg;
			break;
		case 'd': snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", optarg); break;
		case 'c': a->config = optarg; break;
		case 'n': a->name = optarg; break;
		case 'v': a->verbose++; break;
		case 'q': a->verbose = -1; break;
		case 'R': a->refuse_defaults = true; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("roomd %s (MeshCore %s compatible)\n", APP_VERSION, ROOM_FW_VERSION);
			return 0;
		default: /* getopt named the option; the manual is one --help away */
			fprintf(stderr, "roomd: see 'roomd --help'\n");
			return EXIT_CONFIG;
		}
	}
	if (!cfg->data_dir[0]) {
		fprintf(stderr, "roomd: --data DIR is required (see roomd --help)\n");
		return EXIT_CONFIG;
	}
	if (!*a->name || strlen(a->name) >= ROOM_NAME_MAX) {
		fprintf(stderr, "roomd: --name takes 1 to %d bytes\n", ROOM_NAME_MAX - 1);
		return EXIT_CONFIG;
	}
	return -1;
}

/* The flags' settings over the file and the database. */
static int apply_flags(struct app_config *cfg, const struct args *a)
{
	for (int i = 0; i < a->n_flags; i++) {
		const char *arg = a->flags[i].arg;
		switch (a->flags[i].opt) {
		case 'r': app_config_set_from(cfg, "modem", arg, SET_DOOR_FLAG); break;
		case 's':
			if (apply_set_flag(cfg, arg) != ERR_OK)
				return ERR_CONFIG;
			break;
		case 'H':
			if (app_config_set_from(cfg, "http.listen", arg, SET_DOOR_FLAG) != ERR_OK) {
				fprintf(stderr, "roomd: --http %s: expected ADDR:PORT or off\n",
				        arg);
				return ERR_CONFIG;
			}
			break;
		case 'F':
			if (app_config_set_from(cfg, "fed.url", arg, SET_DOOR_FLAG) != ERR_OK) {
				fprintf(stderr,
				        "roomd: --federate %s: expected "
				        "mqtt://[user:pass@]HOST:PORT/ROOM\n",
				        arg);
				return ERR_CONFIG;
			}
			break;
		}
	}
	if (!cfg->radio[0]) {
		fprintf(stderr, "roomd: --radio SPEC is required (see roomd --help)\n");
		return ERR_CONFIG;
	}
	return ERR_OK;
}

/* A --set of a room key applies to every room for this run (not saved). */
static void apply_room_flags(struct daemon *d, const struct args *a)
{
	for (int i = 0; i < a->n_flags; i++) {
		const char *arg = a->flags[i].arg, *eq = strchr(arg, '=');
		char key[64];
		if (a->flags[i].opt != 's' || !eq || (size_t)(eq - arg) >= sizeof(key))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
		const struct setting_def *sd = room_setting_find(key);
		for (int k = 0; sd && k < d->n_rooms; k++)
			room_setting_parse(&d->rooms[k]->set, sd, eq + 1);
	}
}

/* The data directory, created if new, and its lock: 0 or the exit status. */
static int open_data_dir(struct daemon *d)
{
	long holder;
	if (crypto_init() != ERR_OK) {
		fprintf(stderr, "roomd: libsodium failed to initialise\n");
		return EXIT_RUNTIME;
	}
	app_private_files(); /* database, WAL, config, keys, backups, packet log: 0600 */
	if (app_mkdir(d->cfg.data_dir) != ERR_OK)
		return EXIT_RUNTIME;
	app_check_private(d->cfg.data_dir);
	/* one roomd per data directory: two would transmit as one identity */
	int rc = app_dir_lock(d->cfg.data_dir, "roomd.lock", &d->lock_fd, &holder);
	if (rc == ERR_AGAIN) {
		if (holder > 0)
			log_err("roomd", "%s is in use by another roomd (pid %ld); stop it first",
			        d->cfg.data_dir, holder);
		else
			log_err("roomd", "%s is in use by another roomd; stop it first",
			        d->cfg.data_dir);
		return EXIT_LOCKED;
	}
	return rc ? EXIT_RUNTIME : 0;
}

/* Settings: defaults < the file < the database < the flags; opens the store.
 * 0 or the exit status (the store closed again). */
static int load_settings(struct daemon *d, const struct args *a, char *conf, size_t cap)
{
	char db[4096];
	if (a->config) {
		snprintf(conf, cap, "%s", a->config);
	} else {
		snprintf(conf, cap, "%s/roomd.conf", d->cfg.data_dir);
		if (access(conf, F_OK) != 0 && app_config_write_default(conf) != ERR_OK)
			log_warn("roomd", "cannot write %s", conf);
	}
	if (app_config_load(conf, &d->cfg, access(conf, F_OK) == 0) != ERR_OK)
		return EXIT_CONFIG;
	snprintf(db, sizeof(db), "%s/roomd.db", d->cfg.data_dir);
	int rc = store_open(&d->store, db);
	if (rc) {
		log_err("roomd", "%s: %s", db, err_str(rc));
		if (rc != ERR_STORE && rc != ERR_VERSION)
			return EXIT_RUNTIME;
		log_err("roomd",
		        "restore %s from a backup (roomctl backup) or move it away; roomd will "
		        "not retry",
		        db);
		return EXIT_STORE;
	}
	struct global_ctx g = {&d->cfg};
	store_setting_list(d->store, 0, global_setting_cb, &g);
	if (apply_flags(&d->cfg, a) != ERR_OK) {
		store_close(d->store);
		return EXIT_CONFIG;
	}
	return 0;
}

/* Refuses to start on a factory password if asked: 0 or the exit status. */
static int check_passwords(struct daemon *d, bool refuse)
{
	for (int i = 0; i < d->n_rooms; i++) {
		struct room *r = d->rooms[i];
		/* after --set, which may have changed them */
		if (!room_default_passwords(r))
			continue;
		log_warn("roomd",
		         "room '%s' still has a factory default password (admin 'password' "
		         "or guest 'hello') or an empty one: anyone can log in; change them with "
		         "'password <pw>' and 'set guest.password <pw>'",
		         r->set.name);
		if (refuse) {
			log_err("roomd", "refusing to start (--refuse-default-passwords)");
			return EXIT_CONFIG;
		}
	}
	return 0;
}

/* The rooms on the mesh: 0 or the exit status (rooms opened are left for
 * daemon_stop() to close). */
static int start_rooms(struct daemon *d, const struct args *a, const char *conf)
{
	static struct room_list existing;
	char why[1024];
	int rc;
	if (roomd_adopt_identities(d, a->name) != ERR_OK)
		return EXIT_RUNTIME;
	store_room_list(d->store, roomd_list_rooms_cb, &existing);
	if (existing.n == 0 &&
	    (rc = roomd_create_room(d, a->name, why, sizeof(why), NULL)) != ERR_OK) {
		log_err("roomd", "cannot create the first room: %s", why[0] ? why : err_str(rc));
		return EXIT_RUNTIME;
	}
	d->clock.offset_ms = app_wall_ms() - (int64_t)app_now_ms();
	d->cfg.mesh.lp = d->cfg.radio_cfg.lp;
	room_node_init(&d->node, &d->cfg.radio_cfg.lp, d->cfg.radio_cfg.tx_power_dbm);
	struct node_io io = {.send = radio_transmit,
	                     .now = now_ms,
	                     .packet = on_packet,
	                     .link = on_link,
	                     .ctx = d,
	                     .sense = radio_sense_now};
	node_open(&d->link, &d->mesh, &d->cfg.mesh, &io, crypto_rng_system());
	roomd_open_rooms(d);
	apply_room_flags(d, a);
	log_overridden(d, conf);
	if (!d->n_rooms) {
		log_err("roomd", "no room could be started");
		return EXIT_RUNTIME;
	}
	return check_passwords(d, a->refuse_defaults);
}

/* The radio, the loop with the console and the control socket, federation:
 * 0 or the exit status. */
static int start_io(struct daemon *d)
{
	struct radio_events ev;
	roomd_radio_events(d, &ev);
	int rc = radio_open(&d->radio, d->cfg.radio, &d->cfg.radio_cfg, &ev, app_now_ms());
	if (rc) {
		log_err("roomd", "radio %s: %s", d->cfg.radio, err_str(rc));
		return EXIT_CONFIG;
	}
	log_radio(d);
	d->console_open = true;
	signal(SIGPIPE, SIG_IGN);
	if (loop_start(d) != ERR_OK) {
		log_err("roomd", "event loop: cannot start");
		return EXIT_RUNTIME;
	}
	if (d->cfg.fed.url[0] && roomd_fed_start(d) != ERR_OK)
		return EXIT_CONFIG;
	return 0;
}

/* Closes everything that is open; the rooms saved (a clean stop) or not: a
 * start that fails after roomd_open_rooms() writes nothing to the store
 * (room_abandon), so the last "alive" mark of the previous run stays what it
 * was.  Every room's keys and members are wiped and freed either way. */
static void daemon_stop(struct daemon *d, bool save)
{
	web_close(d->web);
	d->web = NULL;
	loop_stop(d);
	mqtt_close(d->mq);
	d->mq = NULL;
	for (int i = 0; i < d->n_feds; i++)
		free(d->feds[i]);
	d->n_feds = 0;
	for (int i = 0; i < d->n_rooms; i++) {
		if (save)
			room_close(d->rooms[i]);
		else
			room_abandon(d->rooms[i]);
		free(d->rooms[i]);
	}
	d->n_rooms = 0;
	radio_close(d->radio);
	d->radio = NULL;
	store_close(d->store);
	d->store = NULL;
	if (d->log_f)
		fclose(d->log_f);
	d->log_f = NULL;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	static struct args a = {.name = "roomd"};
	char conf[4096];

	log_set_prefix("roomd");
	/* systemd's journal stamps each line itself (it sets JOURNAL_STREAM) */
	log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	app_config_defaults(&d.cfg);
	int rc = parse_args(argc, argv, &a, &d.cfg);
	if (rc >= 0)
		return rc;
	log_set_level(a.verbose < 0    ? LOG_ERR
	              : a.verbose == 0 ? LOG_INFO
	              : a.verbose == 1 ? LOG_DEBUG
	                               : LOG_TRACE);
	if ((rc = open_data_dir(&d)) || (rc = load_settings(&d, &a, conf, sizeof(conf))))
		return rc;
	if ((rc = start_rooms(&d, &a, conf)) || (rc = start_io(&d))) {
		daemon_stop(&d, false);
		return rc;
	}
	log_info("roomd", "ready: %d room(s) on %s; type 'help' for commands", d.n_rooms,
	         d.cfg.radio);
	rc = run(&d);
	int stopped_by = loop_signal(d.loop);
	daemon_stop(&d, true);
	if (d.reboot && !stopped_by) {
		log_info("roomd", "reboot");
		close(d.lock_fd); /* the new image takes it again */
		execv("/proc/self/exe", argv);
		log_err("roomd", "re-exec failed: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	log_info("roomd", "stopped");
	return rc;
}
