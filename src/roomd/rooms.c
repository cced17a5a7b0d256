/*
 * rooms.c - roomd's rooms: opened from the store, created (with a fresh
 * identity), adopted from identity files, added and removed by command, and
 * the room hooks the daemon answers (reboot, radio changes, the packet log,
 * identities, backups).  Part of roomd (daemon.h).
 */
#include <dirent.h>
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

/* ---- rooms ---- */

static void on_reboot(void *ctx, struct room *r)
{
	struct daemon *d = ctx;
	(void)r;
	d->reboot = true;
}

void roomd_radio_events(struct daemon *d, struct radio_events *ev);

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
	roomd_radio_events(d, &ev);
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
	                               .post_stored = roomd_on_fed_post,
	                               .member_saved = roomd_on_fed_member,
	                               .member_removed = roomd_on_fed_removed,
	                               .ban_changed = roomd_on_fed_ban,
	                               .post_deleting = roomd_on_fed_delete,
	                               .status = roomd_on_fed_status,
	                               .settings_changed = roomd_on_fed_settings,
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
int roomd_create_room(struct daemon *d, const char *name, char *why, size_t why_cap,
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
int roomd_adopt_identities(struct daemon *d, const char *first_name)
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

int roomd_list_rooms_cb(void *ctx, const struct store_room *sr)
{
	struct room_list *l = ctx;
	if (l->n < MAX_ROOMS)
		l->rooms[l->n++] = *sr;
	return 0;
}

/* Opens every room of the store (the store cannot be used from inside its
 * own listing callback, so the list is taken first). */
void roomd_open_rooms(struct daemon *d)
{
	static struct room_list l;
	l.n = 0;
	store_room_list(d->store, roomd_list_rooms_cb, &l);
	for (int i = 0; i < l.n; i++)
		open_room(d, &l.rooms[i]);
}

/* ---- command doors ---- */

/* The room named by an index or a name as `rooms` shows them; -1 if none. */
int roomd_find_room(struct daemon *d, const char *arg)
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
int roomd_room_add(struct daemon *d, const char *name, char *reply, size_t cap)
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
	int rc = roomd_create_room(d, name, why, sizeof(why), &rid);
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
	if (d->fed_on)
		roomd_fed_add(d, d->rooms[d->n_rooms - 1]);
	snprintf(reply, cap, "OK - %d rooms", d->n_rooms);
	return ERR_OK;
}

/* room.remove N: the room's data goes; its key file is kept under another
 * name (so it is not adopted again), in case the key is wanted back. */
int roomd_room_remove(struct daemon *d, const char *arg, char *reply, size_t cap)
{
	char path[4096], kept[4200];
	int i = roomd_find_room(d, arg);
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
	roomd_fed_drop(d, r);
	room_close(r);
	free(r);
	memmove(&d->rooms[i], &d->rooms[i + 1], (size_t)(d->n_rooms - i - 1) * sizeof(d->rooms[0]));
	d->n_rooms--;
	/* the doors that had a later room selected follow it; those on it go to room 0 */
	int *sel[CTLSOCK_MAX_CLIENTS + 1];
	sel[0] = &d->console_room;
	int n_sel = 1 + ctlsock_sels(d->ctl, sel + 1, CTLSOCK_MAX_CLIENTS);
	for (int k = 0; k < n_sel; k++)
		*sel[k] = *sel[k] == i ? 0 : *sel[k] > i ? *sel[k] - 1 : *sel[k];
	log_info("roomd", "room %u '%s' removed; its key is kept in %s", id, name, kept);
	snprintf(reply, cap,
	         "OK - room '%s' removed with its posts, members and settings; "
	         "its key is kept in room-%u.id.removed",
	         name, id);
	return ERR_OK;
}
