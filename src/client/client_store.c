/*
 * client_store.c - roomc's data directory (see client_store.h).
 *
 * Files are replaced by write-to-temporary, fsync, rename; history lines are
 * appended with one write() each, so a crash leaves at most a cut last line,
 * which the loader skips.  Secrets (identity, passwords) are mode 0600 and
 * wiped from buffers after use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_store.h"
#include "client/jsonl.h"
#include "sys/sys.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/log.h"

#define MAX_FIELDS 24

static void path_of(const struct cstore *s, char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", s->dir, name);
}

int cstore_open(struct cstore *s, const char *dir)
{
	char path[4096];

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (strlen(dir) >= CSTORE_DIR_MAX) {
		log_err("store", "data directory path too long");
		return ERR_CONFIG;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	if (app_mkdir(s->dir) != ERR_OK)
		return ERR_SYS;
	path_of(s, path, sizeof(path), "history");
	if (app_mkdir(path) != ERR_OK)
		return ERR_SYS;
	path_of(s, path, sizeof(path), "lock");
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		log_err("store", "%s: %s", path, strerror(errno));
		return ERR_SYS;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		close(s->lock_fd);
		s->lock_fd = -1;
		return ERR_AGAIN;
	}
	return ERR_OK;
}

void cstore_close(struct cstore *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

int cstore_identity(struct cstore *s, struct ident *id, const struct rng *rng, bool *created)
{
	char path[4096];
	path_of(s, path, sizeof(path), "identity");
	*created = false;
	int rc = app_ident_load(path, id);
	if (rc != ERR_NOT_FOUND) {
		if (rc)
			log_err("store", "%s: not a valid identity file (%s)", path, err_str(rc));
		return rc;
	}
	rc = ident_generate(id, rng);
	if (rc)
		return rc;
	rc = app_ident_save(path, id);
	*created = rc == ERR_OK;
	return rc;
}

/* ---- whole-file rewrite and line reading ---- */

struct wfile {
	char path[4096], tmp[4200];
	FILE *f;
	/* The line being written: at most what each_line() reads back. */
	char line[CSTORE_LINE_MAX];
	struct jsonl_w j;
};

static int wfile_open(struct cstore *s, struct wfile *w, const char *name)
{
	path_of(s, w->path, sizeof(w->path), name);
	snprintf(w->tmp, sizeof(w->tmp), "%s.tmp", w->path);
	int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(w->f = fdopen(fd, "w"))) {
		log_err("store", "%s: %s", w->tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ERR_SYS;
	}
	return ERR_OK;
}

/* Starts the JSON object of the next line; add its fields to the writer returned. */
static struct jsonl_w *wfile_begin(struct wfile *w)
{
	jsonl_w_begin(&w->j, w->line, sizeof(w->line));
	return &w->j;
}

/* Ends the object begun by wfile_begin() and writes it as one line; one too long is left out. */
static void wfile_line(struct wfile *w)
{
	if (jsonl_w_end(&w->j) == ERR_OK)
		fprintf(w->f, "%s\n", w->line);
}

/* Syncs the file and renames it into place; wipes the line buffer, which may have held a secret. */
static int wfile_commit(struct wfile *w)
{
	int rc = ERR_OK;
	crypto_wipe(w->line, sizeof(w->line));
	if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
		rc = ERR_SYS;
	if (fclose(w->f) != 0)
		rc = ERR_SYS;
	if (rc == ERR_OK && rename(w->tmp, w->path) != 0)
		rc = ERR_SYS;
	if (rc) {
		log_err("store", "cannot write %s: %s", w->path, strerror(errno));
		unlink(w->tmp);
	}
	return rc;
}

/*
 * Calls fn for every complete line of DIR/name that parses as a JSON object.
 * Overlong and malformed lines are skipped and counted.  A missing file has
 * no lines (ERR_OK).
 */
static int each_line(struct cstore *s, const char *path,
                     void (*fn)(void *ctx, const struct jsonl_field *f, int n), void *ctx)
{
	char line[CSTORE_LINE_MAX];
	struct jsonl_field f[MAX_FIELDS];
	int n;
	FILE *fp = fopen(path, "re");
	if (!fp)
		return errno == ENOENT ? ERR_OK : ERR_SYS;
	while (fgets(line, sizeof(line), fp)) {
		size_t len = strlen(line);
		if (len && line[len - 1] != '\n' && !feof(fp)) {
			int ch; /* overlong: drop the rest of it */
			while ((ch = fgetc(fp)) != EOF && ch != '\n')
				;
			s->bad_lines++;
			continue;
		}
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (!len)
			continue;
		if (memchr(line, 0, len) || jsonl_parse(line, f, MAX_FIELDS, &n) != ERR_OK) {
			s->bad_lines++;
			continue;
		}
		fn(ctx, f, n);
	}
	crypto_wipe(line, sizeof(line));
	fclose(fp);
	return ERR_OK;
}

/* ---- contacts ---- */

struct contacts_ctx {
	struct cstore *s;
	struct client *c;
	int n;
};

static void contact_line(void *ctx, const struct jsonl_field *f, int n)
{
	struct contacts_ctx *x = ctx;
	struct client_contact *ct;
	uint8_t pub[CRYPTO_PUB_SIZE];
	const char *name, *path;
	size_t name_len, path_hex;
	uint32_t v;
	int32_t lat, lon;

	if (!jsonl_get_hex(f, n, "key", pub, sizeof(pub)) ||
	    client_contact_add(x->c, pub, &ct) != ERR_OK) {
		x->s->bad_lines++;
		return;
	}
	if (jsonl_get_str(f, n, "name", &name, &name_len))
		jsonl_clean_utf8(ct->name, sizeof(ct->name), name, name_len, false);
	jsonl_get_bool(f, n, "renamed", &ct->renamed);
	if (jsonl_get_u32(f, n, "type", &v) && v <= 15)
		ct->type = (uint8_t)v;
	if (jsonl_get_u32(f, n, "hops", &v) && v < 0xFF)
		ct->hops = (uint8_t)v;
	if (jsonl_get_i32(f, n, "lat_e6", &lat) && jsonl_get_i32(f, n, "lon_e6", &lon)) {
		ct->has_loc = true;
		ct->lat_e6 = lat;
		ct->lon_e6 = lon;
	}
	if (jsonl_get_u32(f, n, "advert_ts", &v))
		ct->advert_ts = v;
	if (jsonl_get_u32(f, n, "last_heard", &v))
		ct->last_heard = v;
	if (jsonl_get_u32(f, n, "sync_since", &v))
		ct->sync_since = v;
	if (jsonl_get_u32(f, n, "path_len", &v) && v < MESH_NO_PATH && path_len_valid((uint8_t)v) &&
	    jsonl_get_str(f, n, "path", &path, &path_hex) &&
	    path_hex == 2 * path_len_bytes((uint8_t)v) &&
	    hex_decode(ct->out_path, sizeof(ct->out_path), path, path_hex) >= 0)
		ct->out_path_len = (uint8_t)v;
	x->n++;
}

int cstore_contacts_load(struct cstore *s, struct client *c, int *n_loaded)
{
	char path[4096];
	struct contacts_ctx x = {s, c, 0};
	path_of(s, path, sizeof(path), "contacts.jsonl");
	int rc = each_line(s, path, contact_line, &x);
	*n_loaded = x.n;
	return rc;
}

int cstore_contacts_save(struct cstore *s, const struct client *c)
{
	struct wfile w;
	int rc = wfile_open(s, &w, "contacts.jsonl");
	if (rc)
		return rc;
	for (int i = 0; i < CLIENT_MAX_CONTACTS; i++) {
		const struct client_contact *ct = &c->contacts[i];
		if (!ct->used)
			continue;
		struct jsonl_w *j = wfile_begin(&w);
		jsonl_w_hex(j, "key", ct->pub, sizeof(ct->pub));
		jsonl_w_cstr(j, "name", ct->name);
		if (ct->renamed)
			jsonl_w_bool(j, "renamed", true);
		jsonl_w_int(j, "type", ct->type);
		jsonl_w_cstr(j, "type_name", client_type_name(ct->type));
		if (ct->hops != 0xFF)
			jsonl_w_int(j, "hops", ct->hops);
		if (ct->has_loc) {
			jsonl_w_int(j, "lat_e6", ct->lat_e6);
			jsonl_w_int(j, "lon_e6", ct->lon_e6);
		}
		jsonl_w_int(j, "advert_ts", ct->advert_ts);
		jsonl_w_int(j, "last_heard", ct->last_heard);
		if (ct->sync_since)
			jsonl_w_int(j, "sync_since", ct->sync_since);
		if (ct->out_path_len != MESH_NO_PATH) {
			jsonl_w_int(j, "path_len", ct->out_path_len);
			jsonl_w_hex(j, "path", ct->out_path, path_len_bytes(ct->out_path_len));
		}
		wfile_line(&w);
	}
	return wfile_commit(&w);
}

/* ---- state ---- */

static void state_line(void *ctx, const struct jsonl_field *f, int n)
{
	struct cstore_state *st = ctx;
	const char *name;
	size_t len;
	jsonl_get_u32(f, n, "stamp", &st->stamp);
	if (jsonl_get_str(f, n, "name", &name, &len))
		jsonl_clean_utf8(st->name, sizeof(st->name), name, len, true);
}

int cstore_state_load(struct cstore *s, struct cstore_state *st)
{
	char path[4096];
	memset(st, 0, sizeof(*st));
	path_of(s, path, sizeof(path), "state.jsonl");
	return each_line(s, path, state_line, st);
}

int cstore_state_save(struct cstore *s, const struct cstore_state *st)
{
	struct wfile w;
	int rc = wfile_open(s, &w, "state.jsonl");
	if (rc)
		return rc;
	struct jsonl_w *j = wfile_begin(&w);
	jsonl_w_int(j, "stamp", st->stamp);
	jsonl_w_cstr(j, "name", st->name);
	wfile_line(&w);
	return wfile_commit(&w);
}

/* ---- passwords ---- */

#define MAX_PASSWORDS 64

struct pw_entry {
	uint8_t room[CRYPTO_PUB_SIZE];
	char pw[CLIENT_PASS_MAX + 1];
};

struct pw_list {
	struct cstore *s;
	struct pw_entry e[MAX_PASSWORDS];
	int n;
};

static void pw_line(void *ctx, const struct jsonl_field *f, int n)
{
	struct pw_list *l = ctx;
	const char *pw;
	size_t len;
	uint8_t room[CRYPTO_PUB_SIZE];

	if (!jsonl_get_hex(f, n, "room", room, sizeof(room)) ||
	    !jsonl_get_str(f, n, "password", &pw, &len) || len > CLIENT_PASS_MAX) {
		l->s->bad_lines++;
		return;
	}
	for (int i = 0; i < l->n; i++) {
		if (memcmp(l->e[i].room, room, sizeof(room)) == 0) {
			memcpy(l->e[i].pw, pw, len + 1); /* the last line wins */
			return;
		}
	}
	if (l->n >= MAX_PASSWORDS)
		return;
	memcpy(l->e[l->n].room, room, sizeof(room));
	memcpy(l->e[l->n].pw, pw, len + 1);
	l->n++;
}

/*
 * Reads passwords.jsonl into a new list *lp (NULL if out of memory), which
 * the caller wipes and frees with pw_free() whatever this returns.
 */
static int pw_load(struct cstore *s, struct pw_list **lp)
{
	char path[4096];
	struct stat st;
	struct pw_list *l = *lp = calloc(1, sizeof(*l));

	if (!l)
		return ERR_NOMEM;
	l->s = s;
	path_of(s, path, sizeof(path), "passwords.jsonl");
	if (stat(path, &st) == 0 && (st.st_mode & 077)) {
		log_warn("store", "%s was readable by others: mode set to 0600", path);
		if (chmod(path, 0600) != 0)
			log_warn("store", "chmod %s: %s", path, strerror(errno));
	}
	return each_line(s, path, pw_line, l);
}

static void pw_free(struct pw_list *l)
{
	if (!l)
		return;
	crypto_wipe(l, sizeof(*l));
	free(l);
}

static int pw_save(struct cstore *s, struct pw_list *l)
{
	struct wfile w;
	int rc = wfile_open(s, &w, "passwords.jsonl");
	if (rc)
		return rc;
	for (int i = 0; i < l->n; i++) {
		struct jsonl_w *j = wfile_begin(&w);
		jsonl_w_hex(j, "room", l->e[i].room, CRYPTO_PUB_SIZE);
		jsonl_w_cstr(j, "password", l->e[i].pw);
		wfile_line(&w);
	}
	return wfile_commit(&w);
}

int cstore_password_get(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE],
                        char out[CLIENT_PASS_MAX + 1], bool *found)
{
	struct pw_list *l;
	*found = false;
	out[0] = 0;
	int rc = pw_load(s, &l);
	for (int i = 0; rc == ERR_OK && i < l->n; i++) {
		if (memcmp(l->e[i].room, room, CRYPTO_PUB_SIZE) == 0) {
			memcpy(out, l->e[i].pw, sizeof(l->e[i].pw));
			*found = true;
		}
	}
	pw_free(l);
	return rc;
}

static int pw_update(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE], const char *pw)
{
	struct pw_list *l;
	int i, rc = pw_load(s, &l);
	if (rc)
		goto out;
	for (i = 0; i < l->n; i++)
		if (memcmp(l->e[i].room, room, CRYPTO_PUB_SIZE) == 0)
			break;
	if (!pw) {
		if (i == l->n)
			goto out; /* nothing to forget */
		l->e[i] = l->e[--l->n];
	} else {
		if (i == l->n) {
			if (l->n >= MAX_PASSWORDS) {
				rc = ERR_FULL;
				goto out;
			}
			l->n++;
		}
		memcpy(l->e[i].room, room, CRYPTO_PUB_SIZE);
		snprintf(l->e[i].pw, sizeof(l->e[i].pw), "%.*s", CLIENT_PASS_MAX, pw);
	}
	rc = pw_save(s, l);
out:
	pw_free(l);
	return rc;
}

int cstore_password_set(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE], const char *pw)
{
	return pw_update(s, room, pw);
}

int cstore_password_forget(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE])
{
	return pw_update(s, room, NULL);
}

int cstore_passwords_each(struct cstore *s,
                          void (*cb)(void *ctx, const uint8_t room[CRYPTO_PUB_SIZE],
                                     const char *pw),
                          void *ctx)
{
	struct pw_list *l;
	int rc = pw_load(s, &l);
	for (int i = 0; rc == ERR_OK && i < l->n; i++)
		cb(ctx, l->e[i].room, l->e[i].pw);
	pw_free(l);
	return rc;
}

/* ---- history ---- */

static void history_path(const struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE], char *out,
                         size_t cap)
{
	char hex[2 * CRYPTO_PUB_SIZE + 1];
	hex_encode(hex, sizeof(hex), room, CRYPTO_PUB_SIZE);
	snprintf(out, cap, "%s/history/%s.jsonl", s->dir, hex);
}

int cstore_history_append(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE],
                          const struct cstore_post *p)
{
	char path[4096], line[CSTORE_LINE_MAX];
	struct jsonl_w j;

	history_path(s, room, path, sizeof(path));
	jsonl_w_begin(&j, line, sizeof(line) - 1);
	if (p->is_ack) {
		jsonl_w_cstr(&j, "type", "ack");
		jsonl_w_int(&j, "ts", p->ts);
		jsonl_w_bool(&j, "ok", p->ok);
	} else {
		jsonl_w_int(&j, "ts", p->ts);
		jsonl_w_hex(&j, "author", p->author, 4);
		if (p->self)
			jsonl_w_bool(&j, "self", true);
		jsonl_w_str(&j, "text", p->text, p->text_len);
	}
	jsonl_w_int(&j, "at", p->at);
	if (jsonl_w_end(&j) != ERR_OK)
		return ERR_TOO_BIG;
	size_t n = strlen(line);
	line[n++] = '\n';
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("store", "%s: %s", path, strerror(errno));
		return ERR_SYS;
	}
	ssize_t w = write(fd, line, n);
	int rc = w == (ssize_t)n ? ERR_OK : ERR_SYS;
	if (close(fd) != 0)
		rc = ERR_SYS;
	if (rc)
		log_err("store", "cannot append to %s: %s", path, strerror(errno));
	return rc;
}

struct hist_ctx {
	struct cstore *s;
	void (*cb)(void *ctx, const struct cstore_post *p);
	void *ctx;
	uint64_t *seen; /* open addressing, 0 = empty */
	size_t cap, n;
};

static uint64_t post_fp(const struct cstore_post *p)
{
	uint8_t head[10], h[CRYPTO_HASH_SIZE];
	uint64_t v = 0;
	head[0] = p->self;
	head[1] = 0;
	memcpy(head + 2, &p->ts, 4);
	memcpy(head + 6, p->author, 4);
	hash_sha256_2(h, head, sizeof(head), (const uint8_t *)p->text, p->text_len);
	memcpy(&v, h, sizeof(v));
	return v ? v : 1;
}

/* Adds fp; false if it was there. */
static bool seen_add(struct hist_ctx *x, uint64_t fp)
{
	if ((x->n + 1) * 2 > x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 1024;
		uint64_t *t = calloc(ncap, sizeof(*t));
		if (!t)
			return true; /* no memory: show rather than lose */
		for (size_t i = 0; i < x->cap; i++) {
			if (!x->seen[i])
				continue;
			size_t k = x->seen[i] & (ncap - 1);
			while (t[k])
				k = (k + 1) & (ncap - 1);
			t[k] = x->seen[i];
		}
		free(x->seen);
		x->seen = t;
		x->cap = ncap;
	}
	size_t k = fp & (x->cap - 1);
	while (x->seen[k]) {
		if (x->seen[k] == fp)
			return false;
		k = (k + 1) & (x->cap - 1);
	}
	x->seen[k] = fp;
	x->n++;
	return true;
}

static void hist_line(void *ctx, const struct jsonl_field *f, int n)
{
	struct hist_ctx *x = ctx;
	struct cstore_post p = {0};
	const char *type, *text;
	size_t len;

	jsonl_get_u32(f, n, "at", &p.at);
	if (!jsonl_get_u32(f, n, "ts", &p.ts)) {
		x->s->bad_lines++;
		return;
	}
	if (jsonl_get_str(f, n, "type", &type, NULL) && strcmp(type, "ack") == 0) {
		p.is_ack = true;
		if (!jsonl_get_bool(f, n, "ok", &p.ok)) {
			x->s->bad_lines++;
			return;
		}
		x->cb(x->ctx, &p);
		return;
	}
	if (!jsonl_get_hex(f, n, "author", p.author, 4) ||
	    !jsonl_get_str(f, n, "text", &text, &len) || len > TXT_TEXT_MAX) {
		x->s->bad_lines++;
		return;
	}
	jsonl_get_bool(f, n, "self", &p.self);
	memcpy(p.text, text, len);
	p.text[len] = 0;
	p.text_len = len;
	if (seen_add(x, post_fp(&p)))
		x->cb(x->ctx, &p);
}

int cstore_history_load(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE],
                        void (*cb)(void *ctx, const struct cstore_post *p), void *ctx)
{
	char path[4096];
	struct hist_ctx x = {s, cb, ctx, NULL, 0, 0};
	history_path(s, room, path, sizeof(path));
	int rc = each_line(s, path, hist_line, &x);
	free(x.seen);
	return rc;
}
