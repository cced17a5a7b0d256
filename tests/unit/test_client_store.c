/*
 * test_client_store.c - roomc's data directory (src/client/client_store.c)
 * in a temporary directory: identity creation and reload, the lock,
 * contacts and state round trips, remembered passwords (mode 0600, set,
 * replace, forget), history append and de-duplicated load, and hostile
 * lines in every file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_store.h"
#include "harness.h"
#include "util/err.h"
#include "util/hex.h"

static char dir[256];

static void write_file(const char *name, const char *text, int mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
	chmod(path, (mode_t)mode);
}

static int file_mode(const char *name)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static struct client *new_client(struct mesh *m, const struct ident *id)
{
	struct mesh_cfg mc;
	struct client_cfg cc;
	struct mesh_io io = {.transmit = NULL, .ctx = NULL};
	struct client *c = calloc(1, sizeof(*c));
	mesh_cfg_defaults(&mc);
	mesh_init(m, &mc, &io, crypto_rng_system(), 0);
	client_cfg_defaults(&cc);
	CHECK_EQ(client_init(c, m, id, &cc, NULL, NULL, 0), ERR_OK);
	return c;
}

static void test_identity_and_lock(void)
{
	struct cstore s, s2;
	struct ident a, b;
	bool created;

	CHECK_EQ(cstore_open(&s, dir), ERR_OK);
	CHECK_EQ(cstore_open(&s2, dir), ERR_AGAIN); /* one roomc per directory */
	CHECK_EQ(cstore_identity(&s, &a, crypto_rng_system(), &created), ERR_OK);
	CHECK(created);
	CHECK_EQ(file_mode("identity"), 0600);
	CHECK_EQ(cstore_identity(&s, &b, crypto_rng_system(), &created), ERR_OK);
	CHECK(!created);
	CHECK_MEM(a.pub, b.pub, 32);
	CHECK_MEM(a.prv, b.prv, 64);
	cstore_close(&s);
	CHECK_EQ(cstore_open(&s2, dir), ERR_OK);
	cstore_close(&s2);

	char longdir[CSTORE_DIR_MAX + 10];
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = 0;
	CHECK_EQ(cstore_open(&s, longdir), ERR_CONFIG);
}

static void test_contacts_and_state(void)
{
	struct cstore s;
	struct ident me, room, chat;
	struct mesh m1, m2;
	struct client_contact *ct;
	uint8_t seed[32];
	int n;

	CHECK_EQ(cstore_open(&s, dir), ERR_OK);
	memset(seed, 1, 32);
	ident_from_seed(&me, seed);
	memset(seed, 2, 32);
	ident_from_seed(&room, seed);
	memset(seed, 3, 32);
	ident_from_seed(&chat, seed);

	struct client *c = new_client(&m1, &me);
	CHECK_EQ(client_contact_add(c, room.pub, &ct), ERR_OK);
	snprintf(ct->name, sizeof(ct->name), "Caf\xc3\xa9 \"Room\"");
	ct->type = ADV_TYPE_ROOM;
	ct->hops = 2;
	ct->has_loc = true;
	ct->lat_e6 = 52370216;
	ct->lon_e6 = -124625;
	ct->advert_ts = 1750000000;
	ct->last_heard = 1750000100;
	ct->sync_since = 1750000026;
	ct->out_path_len = 0x42; /* 2 hops of 2-byte hashes */
	memcpy(ct->out_path, "\xab\xcd\x12\x34", 4);
	CHECK_EQ(client_contact_add(c, chat.pub, &ct), ERR_OK);
	snprintf(ct->name, sizeof(ct->name), "Alice");
	ct->type = ADV_TYPE_CHAT;
	CHECK_EQ(cstore_contacts_save(&s, c), ERR_OK);
	CHECK_EQ(file_mode("contacts.jsonl"), 0600);

	struct client *c2 = new_client(&m2, &me);
	CHECK_EQ(cstore_contacts_load(&s, c2, &n), ERR_OK);
	CHECK_EQ(n, 2);
	ct = client_contact_find(c2, room.pub);
	CHECK(ct != NULL);
	if (ct) {
		CHECK_STR(ct->name, "Caf\xc3\xa9 \"Room\"");
		CHECK_EQ(ct->type, ADV_TYPE_ROOM);
		CHECK_EQ(ct->hops, 2);
		CHECK(ct->has_loc && ct->lat_e6 == 52370216 && ct->lon_e6 == -124625);
		CHECK_EQ(ct->advert_ts, 1750000000);
		CHECK_EQ(ct->last_heard, 1750000100);
		CHECK_EQ(ct->sync_since, 1750000026);
		CHECK_EQ(ct->out_path_len, 0x42);
		CHECK_MEM(ct->out_path, "\xab\xcd\x12\x34", 4);
		CHECK_EQ(ct->secret_state, 1);
	}
	ct = client_contact_find(c2, chat.pub);
	CHECK(ct && ct->out_path_len == MESH_NO_PATH && ct->hops == 0xFF && !ct->has_loc);

	/* hostile lines: skipped, the good ones still load */
	char keyhex[65];
	hex_encode(keyhex, sizeof(keyhex), room.pub, 32);
	char text[2048];
	snprintf(text, sizeof(text),
	         "garbage\n{\"key\":\"zz\"}\n{\"key\":\"%s\",\"path_len\":255,\"path\":\"\"}\n"
	         "{\"key\":\"%s\",\"path_len\":3,\"path\":\"ab\"}\n"
	         "{\"key\":\"%s\",\"path_len\":200,\"path\":\"\"}\n"
	         "{\"key\":\"0000000000000000000000000000000000000000000000000000000000000000\"}\n"
	         "{\"key\":\"%s\",\"name\":\"\\u001b[2J\\ud83d\\ude00\",\"type\":99,\"hops\":-1}\n"
	         "{\"key\":\"%s\"",
	         keyhex, keyhex, keyhex, keyhex, keyhex);
	write_file("contacts.jsonl", text, 0600);
	client_cleanup(c2);
	struct client *c3 = new_client(&m2, &me);
	s.bad_lines = 0;
	CHECK_EQ(cstore_contacts_load(&s, c3, &n), ERR_OK);
	CHECK_EQ(n, 4);
	CHECK(s.bad_lines >= 4);
	ct = client_contact_find(c3, room.pub);
	CHECK(ct && ct->out_path_len == MESH_NO_PATH && ct->type == ADV_TYPE_NONE);
	CHECK(ct &&
	      strcmp(ct->name, "\x1b[2J\xf0\x9f\x98\x80") == 0); /* kept; cleaned on display */

	/* state */
	struct cstore_state st = {.stamp = 1750000999}, st2;
	snprintf(st.name, sizeof(st.name), "Bob");
	CHECK_EQ(cstore_state_save(&s, &st), ERR_OK);
	CHECK_EQ(cstore_state_load(&s, &st2), ERR_OK);
	CHECK_EQ(st2.stamp, 1750000999);
	CHECK_STR(st2.name, "Bob");

	client_cleanup(c);
	client_cleanup(c3);
	free(c);
	free(c2);
	free(c3);
	cstore_close(&s);
}

struct pw_seen {
	int n;
	char last[16];
};

static void pw_cb(void *ctx, const uint8_t room[32], const char *pw)
{
	struct pw_seen *x = ctx;
	(void)room;
	x->n++;
	snprintf(x->last, sizeof(x->last), "%s", pw);
}

static void test_passwords(void)
{
	struct cstore s;
	uint8_t r1[32], r2[32];
	char pw[16];
	bool found;
	struct pw_seen seen = {0};

	memset(r1, 0x11, 32);
	memset(r2, 0x22, 32);
	CHECK_EQ(cstore_open(&s, dir), ERR_OK);
	CHECK_EQ(cstore_password_get(&s, r1, pw, &found), ERR_OK);
	CHECK(!found);
	CHECK_EQ(cstore_password_set(&s, r1, "hello"), ERR_OK);
	CHECK_EQ(file_mode("passwords.jsonl"), 0600);
	CHECK_EQ(cstore_password_set(&s, r2, "s3cr\"et\\"), ERR_OK);
	CHECK_EQ(cstore_password_set(&s, r1, "password123456789"), ERR_OK); /* cut to 15 */
	CHECK_EQ(cstore_password_get(&s, r1, pw, &found), ERR_OK);
	CHECK(found);
	CHECK_STR(pw, "password1234567");
	CHECK_EQ(cstore_password_get(&s, r2, pw, &found), ERR_OK);
	CHECK(found);
	CHECK_STR(pw, "s3cr\"et\\");
	CHECK_EQ(cstore_passwords_each(&s, pw_cb, &seen), ERR_OK);
	CHECK_EQ(seen.n, 2);
	CHECK_EQ(cstore_password_forget(&s, r2), ERR_OK);
	CHECK_EQ(cstore_password_get(&s, r2, pw, &found), ERR_OK);
	CHECK(!found);
	CHECK_EQ(cstore_password_forget(&s, r2), ERR_OK);
	/* a blank password is a password */
	CHECK_EQ(cstore_password_set(&s, r2, ""), ERR_OK);
	CHECK_EQ(cstore_password_get(&s, r2, pw, &found), ERR_OK);
	CHECK(found && pw[0] == 0);

	/* a file others can read is narrowed to 0600 */
	char path[512];
	snprintf(path, sizeof(path), "%s/passwords.jsonl", dir);
	chmod(path, 0644);
	CHECK_EQ(cstore_password_get(&s, r1, pw, &found), ERR_OK);
	CHECK_EQ(file_mode("passwords.jsonl"), 0600);
	cstore_close(&s);
}

struct hist {
	struct cstore_post p[16];
	int n;
};

static void hist_cb(void *ctx, const struct cstore_post *p)
{
	struct hist *h = ctx;
	if (h->n < 16)
		h->p[h->n++] = *p;
}

static void test_history(void)
{
	struct cstore s;
	uint8_t room[32];
	struct hist h = {.n = 0};
	struct cstore_post p = {.ts = 100, .at = 5};

	memset(room, 0x33, 32);
	CHECK_EQ(cstore_open(&s, dir), ERR_OK);
	CHECK_EQ(cstore_history_load(&s, room, hist_cb, &h), ERR_OK);
	CHECK_EQ(h.n, 0);

	memcpy(p.author, "\xde\xad\xbe\xef", 4);
	snprintf(p.text, sizeof(p.text), "first \xe2\x9c\x93 \"q\"\nline");
	p.text_len = strlen(p.text);
	CHECK_EQ(cstore_history_append(&s, room, &p), ERR_OK);
	CHECK_EQ(cstore_history_append(&s, room, &p), ERR_OK); /* pushed twice */
	struct cstore_post self = p;
	self.self = true; /* the same text and stamp, ours: not a duplicate of theirs */
	CHECK_EQ(cstore_history_append(&s, room, &self), ERR_OK);
	struct cstore_post ack = {.is_ack = true, .ok = true, .ts = 100, .at = 6};
	CHECK_EQ(cstore_history_append(&s, room, &ack), ERR_OK);
	p.ts = 101;
	CHECK_EQ(cstore_history_append(&s, room, &p), ERR_OK);

	char hex[65], name[128];
	hex_encode(hex, sizeof(hex), room, 32);
	snprintf(name, sizeof(name), "history/%s.jsonl", hex);
	CHECK_EQ(file_mode(name), 0600);
	/* a crash mid-line and garbage */
	FILE *f;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "a");
	if (f) {
		fputs("not json\n{\"ts\":1}\n{\"ts\":2,\"author\":\"00\",\"text\":\"x\"}\n", f);
		fputs("{\"type\":\"ack\",\"ts\":3}\n{\"ts\":102,\"author\":\"deadbeef\",\"text\":"
		      "\"cut",
		      f);
		fclose(f);
	}
	s.bad_lines = 0;
	CHECK_EQ(cstore_history_load(&s, room, hist_cb, &h), ERR_OK);
	CHECK_EQ(h.n, 4);
	CHECK_EQ(s.bad_lines, 5);
	if (h.n == 4) {
		CHECK(!h.p[0].is_ack && !h.p[0].self && h.p[0].ts == 100);
		CHECK_STR(h.p[0].text, "first \xe2\x9c\x93 \"q\"\nline");
		CHECK_MEM(h.p[0].author, "\xde\xad\xbe\xef", 4);
		CHECK_EQ(h.p[0].at, 5);
		CHECK(h.p[1].self && h.p[1].ts == 100);
		CHECK(h.p[2].is_ack && h.p[2].ok && h.p[2].ts == 100);
		CHECK(h.p[3].ts == 101);
	}
	cstore_close(&s);
}

int main(void)
{
	if (crypto_init() != ERR_OK)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/test_client_store.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_identity_and_lock();
	test_contacts_and_state();
	test_passwords();
	test_history();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return harness_done("test_client_store");
}
