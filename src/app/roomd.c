/*
 * roomd.c - the room server daemon: wires the radio, the mesh, the store and
 * the rooms together in one single-threaded poll() loop.
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

#include "sys/config.h"
#include "sys/sys.h"
#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "radio/radio.h"
#include "room/cmd.h"
#include "room/room.h"
#include "room/settings.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_ROOMS 16
#define MAX_CTL_CLIENTS 8
#define LINE_MAX_LEN 512

struct ctl_client {
	int fd;
	int room; /* selected with `use` */
	char buf[LINE_MAX_LEN];
	size_t len;
};

struct daemon {
	struct app_config cfg;
	struct store *store;
	struct radio *radio;
	struct mesh mesh;
	struct room_clock clock;
	struct room rooms[MAX_ROOMS];
	int n_rooms;
	int console_room;
	char console[LINE_MAX_LEN];
	size_t console_len;
	bool console_open;
	int ctl_fd;
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client ctl[MAX_CTL_CLIENTS];
	struct room_node node; /* the radio, shared by the rooms */
	FILE *log_f;           /* packet log (`log start`), DIR/packets.log */
	bool reboot;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

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

static void radio_rx(void *ctx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct daemon *d = ctx;
	packet_log(d, "RX", frame, len, snr_x4, rssi);
	mesh_on_frame(&d->mesh, frame, len, snr_x4, rssi, app_now_ms());
}

static void radio_tx_done(void *ctx, int ok)
{
	struct daemon *d = ctx;
	mesh_on_tx_done(&d->mesh, ok, app_now_ms());
}

static void radio_link(void *ctx, int up)
{
	struct daemon *d = ctx;
	log_info("roomd", "radio %s %s", radio_spec(d->radio), up ? "up" : "down");
}

static int mesh_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct daemon *d = ctx;
	int rc = radio_send(d->radio, frame, len);
	if (rc == ERR_OK)
		packet_log(d, "TX", frame, len, 0, 0);
	return rc;
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
	log_info("roomd", "radio reopened: %.3f MHz, %.1f kHz, SF%u, CR4/%u, %d dBm",
		 rc.lp.freq_hz / 1e6, rc.lp.bw_hz / 1e3, rc.lp.sf, rc.lp.cr, rc.tx_power_dbm);
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
	case ROOM_LOG_STOP:
		return ERR_OK; /* node.log_on stops the writing; the file stays open */
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

/* backup PATH: the whole database (every room) while running */
static int on_backup(void *ctx, struct room *r, const char *path)
{
	struct daemon *d = ctx;
	(void)r;
	return store_backup(d->store, path);
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
		log_warn("roomd", "%s: identity differs from the one room %u was created with "
				  "(set prv.key); using the file", path, sr->id);
	struct room *r = &d->rooms[d->n_rooms];
	rc = room_open(r, &d->mesh, d->store, sr->id, &id, &d->clock, app_now_ms());
	ident_wipe(&id);
	if (rc) {
		log_err("roomd", "room %u: %s", sr->id, err_str(rc));
		return 0;
	}
	r->hooks = (struct room_hooks){ .reboot = on_reboot,
					.radio_changed = on_radio_changed,
					.packet_log = on_packet_log,
					.save_identity = on_save_identity,
					.backup = on_backup,
					.ctx = d };
	r->node = &d->node;
	d->n_rooms++;
	log_info("roomd", "room %u '%s' key %02x%02x%02x%02x... %zu members", sr->id, r->set.name,
		 r->ep.id.pub[0], r->ep.id.pub[1], r->ep.id.pub[2], r->ep.id.pub[3], r->n_members);
	return 0;
}

/* Creates a room with a fresh identity and the configured defaults. */
static int create_room(struct daemon *d, const char *name)
{
	struct ident id;
	char path[4096];
	uint32_t rid;
	struct room_settings s;

	int rc = ident_generate(&id, crypto_rng_system());
	if (rc)
		return rc;
	rc = store_room_add(d->store, name, id.pub, &rid);
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "%s/room-%u.id", d->cfg.data_dir, rid);
	rc = app_ident_save(path, &id);
	if (rc)
		goto out;
	/* the config file's room settings are the defaults of a new room */
	s = d->cfg.room;
	snprintf(s.name, sizeof(s.name), "%s", name);
	for (size_t i = 0; i < room_setting_count; i++) {
		char v[512];
		if (room_setting_format(&s, &room_setting_defs[i], v, sizeof(v)) == ERR_OK)
			store_setting_set(d->store, rid, room_setting_defs[i].key, v);
	}
	log_info("roomd", "created room %u '%s' (identity %s)", rid, name, path);
out:
	ident_wipe(&id);
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

/* Runs one command line for the room *cur; returns ERR_OK or an error for the status. */
static int run_command(struct daemon *d, const char *line, enum cmd_origin origin, int *cur,
		       char *reply, size_t cap)
{
	/* daemon-level commands first: room selection */
	if (strcmp(line, "rooms") == 0) {
		size_t off = 0;
		reply[0] = 0;
		for (int i = 0; i < d->n_rooms && off < cap; i++) {
			struct room *r = &d->rooms[i];
			int n = snprintf(reply + off, cap - off, "%s%c%d %s %02X%02X%02X%02X %zu members",
					 i ? "\n" : "", i == *cur ? '*' : ' ', i,
					 r->set.name, r->ep.id.pub[0], r->ep.id.pub[1],
					 r->ep.id.pub[2], r->ep.id.pub[3], r->n_members);
			if (n > 0)
				off += (size_t)n;
		}
		return ERR_OK;
	}
	if (strncmp(line, "use ", 4) == 0) {
		for (int i = 0; i < d->n_rooms; i++) {
			char idx[12];
			snprintf(idx, sizeof(idx), "%d", i);
			if (strcmp(line + 4, d->rooms[i].set.name) == 0 || strcmp(line + 4, idx) == 0) {
				*cur = i;
				snprintf(reply, cap, "OK - using %s", d->rooms[i].set.name);
				return ERR_OK;
			}
		}
		snprintf(reply, cap, "Err - no such room");
		return ERR_NOT_FOUND;
	}
	if (strncmp(line, "room.add ", 9) == 0) {
		int rc = create_room(d, line + 9);
		if (rc) {
			snprintf(reply, cap, "Err - %s", err_str(rc));
			return rc;
		}
		int before = d->n_rooms;
		d->n_rooms = 0;
		for (int i = 0; i < before; i++)
			room_close(&d->rooms[i]);
		open_rooms(d);
		snprintf(reply, cap, "OK - %d rooms", d->n_rooms);
		return ERR_OK;
	}
	if (strcmp(line, "help") == 0) {
		snprintf(reply, cap,
			 "  rooms: list the rooms (* = selected)\n"
			 "  use <index|name>: select a room\n"
			 "  room.add <name>: create a room with a fresh identity\n");
		size_t off = strlen(reply);
		room_cmd_help(reply + off, cap - off);
		return ERR_OK;
	}
	if (!d->n_rooms || *cur < 0 || *cur >= d->n_rooms) {
		snprintf(reply, cap, "Err - no rooms");
		return ERR_NOT_FOUND;
	}
	int rc = room_cmd(&d->rooms[*cur], line, 0, origin, reply, cap);
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
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(d->ctl_path, sizeof(d->ctl_path), "%s/control.sock", d->cfg.data_dir);
	if (n < 0 || (size_t)n >= sizeof(d->ctl_path)) {
		log_warn("roomd", "data directory path too long for a control socket");
		return ERR_CONFIG;
	}
	memcpy(sa.sun_path, d->ctl_path, (size_t)n + 1);
	unlink(d->ctl_path);
	d->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->ctl_fd < 0 || bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(d->ctl_path, 0600) < 0 || listen(d->ctl_fd, 4) < 0) {
		log_warn("roomd", "control socket %s: %s", d->ctl_path, strerror(errno));
		if (d->ctl_fd >= 0)
			close(d->ctl_fd);
		d->ctl_fd = -1;
		return ERR_SYS;
	}
	return ERR_OK;
}

static void ctl_accept(struct daemon *d)
{
	int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CTL_CLIENTS; i++) {
		if (d->ctl[i].fd < 0) {
			d->ctl[i].fd = fd;
			d->ctl[i].len = 0;
			d->ctl[i].room = d->console_room;
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
			struct pollfd p = { fd, POLLOUT, 0 };
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
	close(c->fd);
	c->fd = -1;
}

/* Sends a reply in the socket framing: " line" for each line, then OK or ERR. */
static int ctl_reply(struct ctl_client *c, const char *reply, int rc)
{
	char out[8192];
	size_t off = 0;
	const char *s = reply;
	while (*s && off < sizeof(out) - 16) {
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
	*ev = (struct radio_events){ radio_rx, radio_tx_done, radio_link, d };
}

struct global_ctx {
	struct app_config *cfg;
};

/* A setting changed by command (global, room 0) over the config file. */
static int global_setting_cb(void *ctx, const char *key, const char *value)
{
	struct global_ctx *g = ctx;
	if (app_config_set(g->cfg, key, value) != ERR_OK)
		log_warn("roomd", "roomd.db: ignoring setting %s = '%s'", key, value);
	return 0;
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

static int run(struct daemon *d)
{
	struct pollfd fds[4 + MAX_CTL_CLIENTS + 8];

	while (!stop_signal && !d->reboot) {
		uint64_t now = app_now_ms();
		mesh_tick(&d->mesh, now);
		for (int i = 0; i < d->n_rooms; i++)
			room_tick(&d->rooms[i], now);
		radio_tick(d->radio, now);
		mesh_tick(&d->mesh, now);

		uint64_t next = mesh_next_deadline(&d->mesh);
		for (int i = 0; i < d->n_rooms; i++) {
			uint64_t t = room_next_deadline(&d->rooms[i]);
			if (t < next)
				next = t;
		}
		uint64_t t = radio_next_deadline(d->radio);
		if (t < next)
			next = t;
		int timeout = next == UINT64_MAX ? 1000 : next <= now ? 0 : (int)(next - now);
		if (timeout > 1000)
			timeout = 1000;

		int n = 0;
		if (d->console_open)
			fds[n++] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		int ctl_base = n;
		if (d->ctl_fd >= 0)
			fds[n++] = (struct pollfd){ d->ctl_fd, POLLIN, 0 };
		for (int i = 0; i < MAX_CTL_CLIENTS; i++)
			if (d->ctl[i].fd >= 0)
				fds[n++] = (struct pollfd){ d->ctl[i].fd, POLLIN, 0 };
		int radio_base = n;
		n += radio_pollfds(d->radio, fds + n, (int)(sizeof(fds) / sizeof(fds[0])) - n);
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_err("roomd", "poll: %s", strerror(errno));
			return 1;
		}
		now = app_now_ms();
		mesh_tick(&d->mesh, now);
		radio_handle(d->radio, fds + radio_base, n - radio_base, now);
		if (d->console_open && (fds[0].revents & (POLLIN | POLLHUP)))
			console_read(d);
		for (int i = ctl_base; i < radio_base; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (fds[i].fd == d->ctl_fd) {
				ctl_accept(d);
				continue;
			}
			for (int k = 0; k < MAX_CTL_CLIENTS; k++)
				if (d->ctl[k].fd == fds[i].fd)
					ctl_read(d, &d->ctl[k]);
		}
	}
	return 0;
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
"                          exit if a room still has the factory admin or guest password,\n"
"                          or an empty one\n"
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
"\n"
"EXIT STATUS\n"
"    0 clean stop (SIGINT, SIGTERM, 'reboot' re-executes), 1 runtime error,\n"
"    2 usage or configuration error.\n"
"\n"
"EXAMPLES\n"
"    meshair --listen 127.0.0.1:7300 &\n"
"    roomd --data ~/.roomd --radio tcp:127.0.0.1:7300\n"
"    roomd --data /var/lib/roomd --radio serial:/dev/ttyACM0\n", f);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	const char *config = NULL, *name = "roomd";
	bool refuse_defaults = false;
	int verbose = 0;
	static const struct option opts[] = {
		{ "data", required_argument, 0, 'd' },	 { "radio", required_argument, 0, 'r' },
		{ "config", required_argument, 0, 'c' }, { "name", required_argument, 0, 'n' },
		{ "verbose", no_argument, 0, 'v' },	 { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },	 { "version", no_argument, 0, 'V' },
		{ "refuse-default-passwords", no_argument, 0, 'R' },
		{ "set", required_argument, 0, 's' },
		{ 0, 0, 0, 0 },
	};
	int c;

	log_set_prefix("roomd");
	app_config_defaults(&d.cfg);
	while ((c = getopt_long(argc, argv, "d:r:c:n:s:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 's': break; /* applied after the file and the database */
		case 'd': snprintf(d.cfg.data_dir, sizeof(d.cfg.data_dir), "%s", optarg); break;
		case 'r': snprintf(d.cfg.radio, sizeof(d.cfg.radio), "%s", optarg); break;
		case 'c': config = optarg; break;
		case 'n': name = optarg; break;
		case 'v': verbose++; break;
		case 'q': verbose = -1; break;
		case 'R': refuse_defaults = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("roomd %s (MeshCore %s compatible)\n", APP_VERSION, ROOM_FW_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	log_set_level(verbose < 0 ? LOG_ERR : verbose == 0 ? LOG_INFO : verbose == 1 ? LOG_DEBUG : LOG_TRACE);
	if (!d.cfg.data_dir[0]) {
		fprintf(stderr, "roomd: --data DIR is required (see roomd --help)\n");
		return 2;
	}
	if (crypto_init() != ERR_OK) {
		fprintf(stderr, "roomd: libsodium failed to initialise\n");
		return 1;
	}
	app_private_files(); /* database, WAL, config, keys, backups, packet log: 0600 */
	if (app_mkdir(d.cfg.data_dir) != ERR_OK)
		return 1;
	app_check_private(d.cfg.data_dir);
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
	int rc = store_open(&d.store, db);
	if (rc) {
		log_err("roomd", "%s: %s", db, err_str(rc));
		return 1;
	}
	/* settings changed by command win over the file ... */
	struct global_ctx g = { &d.cfg };
	store_setting_list(d.store, 0, global_setting_cb, &g);
	/* ... and flags over both */
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:r:c:n:s:vqh", opts, NULL)) != -1) {
		if (c == 'r')
			snprintf(d.cfg.radio, sizeof(d.cfg.radio), "%s", optarg);
		if (c == 's' && apply_set_flag(&d.cfg, optarg) != ERR_OK) {
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
	store_room_list(d.store, list_rooms_cb, &existing);
	if (existing.n == 0 && (rc = create_room(&d, name)) != ERR_OK) {
		log_err("roomd", "cannot create the first room: %s", err_str(rc));
		store_close(d.store);
		return 1;
	}

	d.clock.offset_ms = app_wall_ms() - (int64_t)app_now_ms();
	struct mesh_io io = { mesh_transmit, &d };
	d.cfg.mesh.lp = d.cfg.radio_cfg.lp;
	room_node_init(&d.node, &d.cfg.radio_cfg.lp, d.cfg.radio_cfg.tx_power_dbm);
	mesh_init(&d.mesh, &d.cfg.mesh, &io, crypto_rng_system(), app_now_ms());
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
			room_setting_parse(&d.rooms[i].set, sd, eq + 1);
	}
	if (!d.n_rooms) {
		log_err("roomd", "no room could be started");
		store_close(d.store);
		return 1;
	}
	for (int i = 0; i < d.n_rooms; i++) {
		struct room *r = &d.rooms[i];
		/* after --set, which may have changed them */
		if (!room_default_passwords(r))
			continue;
		log_warn("roomd", "room '%s' still has a factory default password (admin 'password' "
				  "or guest 'hello') or an empty one: anyone can log in; change them with "
				  "'password <pw>' and 'set guest.password <pw>'", r->set.name);
		if (refuse_defaults) {
			log_err("roomd", "refusing to start (--refuse-default-passwords)");
			store_close(d.store);
			return 2;
		}
	}

	struct radio_events ev;
	radio_events_init(&d, &ev);
	rc = radio_open(&d.radio, d.cfg.radio, &d.cfg.radio_cfg, &ev, app_now_ms());
	if (rc) {
		log_err("roomd", "radio %s: %s", d.cfg.radio, err_str(rc));
		store_close(d.store);
		return 2;
	}
	for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		d.ctl[i].fd = -1;
	ctl_open(&d);
	d.console_open = true;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	log_info("roomd", "ready: %d room(s) on %s; type 'help' for commands", d.n_rooms,
		 d.cfg.radio);

	rc = run(&d);

	for (int i = 0; i < d.n_rooms; i++)
		room_close(&d.rooms[i]);
	radio_close(d.radio);
	store_close(d.store);
	if (d.ctl_fd >= 0) {
		close(d.ctl_fd);
		unlink(d.ctl_path);
	}
	for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		if (d.ctl[i].fd >= 0)
			close(d.ctl[i].fd);
	if (d.log_f)
		fclose(d.log_f);
	if (d.reboot && !stop_signal) {
		log_info("roomd", "reboot");
		execv("/proc/self/exe", argv);
		log_err("roomd", "re-exec failed: %s", strerror(errno));
		return 1;
	}
	log_info("roomd", "stopped");
	return rc;
}
