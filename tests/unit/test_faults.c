/*
 * test_faults.c - the room server when things go wrong underneath it (issue 8
 * item 7), in virtual time on a perfect in-test "air" (PROTOCOL.md §7.3,
 * §7.10, §7.11):
 *  - the disk fills up (simulated with the store's size cap): a post is
 *    refused with no ACK, counted and logged, the room keeps running, and
 *    the client's retry is stored and acknowledged once space is back;
 *  - the database becomes read-only under the running room (the store's
 *    query-only switch, as after a read-only remount): the same;
 *  - the wall clock is stepped back while the daemon is down: after the
 *    restart post timestamps keep increasing, sync points never go back, the
 *    RTC is not behind the newest post, and a member is pushed exactly what
 *    is new;
 *  - the room killed between a commit and its ACK: the retry is acknowledged
 *    and stored once; and killed for real (SIGKILL of a forked child running
 *    a room with clients posting flat out, FAULTS_CRASH_ROUNDS times, default
 *    20): every post a client saw acknowledged is in the database, once, and
 *    the database is intact.
 * The air, the nodes and the clients are tests/roomfix.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "room/room.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#define ROOMFIX_SEED 77
#include "roomfix.h"

#define T0 1750000000u

/* A plain post; a retry is the same ts and text with other attempt bits. */
static void client_post(struct node *n, uint32_t ts, unsigned attempt, const char *text)
{
	client_txt(n, ts, 0, attempt, text);
}

/* ---- helpers ----------------------------------------------------------------- */

struct find {
	const char *text;
	int found;
	uint32_t post_ts;
};

static int find_cb(void *ctx, const struct store_post *p)
{
	struct find *f = ctx;
	if (p->text_len == strlen(f->text) && memcmp(p->text, f->text, p->text_len) == 0) {
		f->found++;
		f->post_ts = p->post_ts;
	}
	return 0;
}

/* How many stored posts of the room have this text. */
static int stored(struct store *st, uint32_t room, const char *text)
{
	struct find f = {text, 0, 0};
	CHECK_EQ(store_post_list_newest(st, room, 100000, find_cb, &f), ERR_OK);
	return f.found;
}

static void text150(char *out, char c, int n)
{
	memset(out, c, 150);
	snprintf(out, 151, "%c%04d", c, n);
	out[5] = c;
	out[150] = 0;
}

struct world {
	struct room room;
	struct room_clock clock;
	struct store *st;
	struct ident rid;
	uint32_t id;
	char db[64];
	struct node *rn, *a, *b;
};

static void world_open(struct world *w)
{
	uint8_t seed[32];
	n_nodes = 0;
	n_air = 0;
	now = 1000;
	memset(w, 0, sizeof(*w));
	w->clock.offset_ms = (int64_t)T0 * 1000 - (int64_t)now;
	snprintf(w->db, sizeof(w->db), "/tmp/test_faults_XXXXXX");
	int fd = mkstemp(w->db);
	CHECK(fd >= 0);
	close(fd);
	unlink(w->db);
	memset(seed, 9, sizeof(seed));
	ident_from_seed(&w->rid, seed);
	CHECK_EQ(store_open(&w->st, w->db), ERR_OK);
	CHECK_EQ(store_room_add(w->st, "Faults", w->rid.pub, &w->id), ERR_OK);
	w->rn = node_new();
	CHECK_EQ(room_open(&w->room, &w->rn->mesh, w->st, w->id, &w->rid, &w->clock, now), ERR_OK);
	the_room = &w->room;
	w->a = client_new(0x11, w->rid.pub);
	w->b = client_new(0x22, w->rid.pub);
	client_login(w->a, T0 + 10, 0, "hello");
	run_for(5000);
	CHECK_EQ(w->a->logged_in, 1);
}

static void world_close(struct world *w)
{
	room_close(&w->room);
	the_room = NULL;
	CHECK_EQ(store_check(w->st), ERR_OK);
	store_close(w->st);
	char p[96];
	unlink(w->db);
	snprintf(p, sizeof(p), "%s-wal", w->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", w->db);
	unlink(p);
}

/* ---- the disk fills up ------------------------------------------------------ */

static void test_full_disk(void)
{
	struct world w;
	char text[151];
	uint32_t count = 0, before = 0;

	world_open(&w);
	client_login(w.b, T0 + 11, 0, "hello");
	run_for(5000);
	CHECK_EQ(w.b->logged_in, 1);
	client_post(w.a, T0 + 20, 0, "before");
	run_for(3000);
	CHECK_EQ(w.a->acked, 1);

	/* fill the database up to a cap at its current size with system posts */
	uint64_t bytes = 0;
	CHECK_EQ(store_db_bytes(w.st, &bytes), ERR_OK);
	CHECK_EQ(store_set_max_bytes(w.st, bytes), ERR_OK);
	int rc = ERR_OK, n = 0;
	for (; n < 2000 && rc == ERR_OK; n++) {
		text150(text, 'f', n);
		rc = room_post(&w.room, w.rid.pub, 0, text, 150, NULL);
	}
	CHECK_EQ(rc, ERR_STORE);
	CHECK(n > 1 && n < 2000);
	CHECK_EQ(store_post_count(w.st, w.id, &before), ERR_OK);
	uint32_t refused = w.room.stats.posts_refused, errors = w.room.stats.store_errors;
	CHECK_EQ(refused, 1);

	/* a client's post: not stored, so no ACK; counted */
	text150(text, 'a', 1);
	client_post(w.a, T0 + 30, 0, text);
	run_for(3000);
	CHECK_EQ(w.a->acked, 1);
	CHECK_EQ(w.room.stats.posts_refused, refused + 1);
	CHECK(w.room.stats.store_errors > errors);
	CHECK_EQ(store_post_count(w.st, w.id, &count), ERR_OK);
	CHECK_EQ(count, before);
	/* its retry while the disk is still full: the same */
	client_post(w.a, T0 + 30, 1, text);
	run_for(3000);
	CHECK_EQ(w.a->acked, 1);
	CHECK_EQ(w.room.stats.posts_refused, refused + 2);
	CHECK_EQ(stored(w.st, w.id, text), 0);

	/* space comes back: the next retry is stored once and acknowledged */
	CHECK_EQ(store_set_max_bytes(w.st, 0), ERR_OK);
	client_post(w.a, T0 + 30, 2, text);
	run_for(3000);
	CHECK_EQ(w.a->acked, 2);
	CHECK_EQ(stored(w.st, w.id, text), 1);
	CHECK_EQ(store_post_count(w.st, w.id, &count), ERR_OK);
	CHECK_EQ(count, before + 1);
	/* B, a member from before, was pushed everything in order through it all */
	run_for(30000 + (uint64_t)count * 3000);
	CHECK_EQ(w.b->pushes, (int)count);
	CHECK_STR(w.b->last_push, text);
	uint32_t newest = 0;
	CHECK_EQ(store_post_newest_ts(w.st, w.id, &newest), ERR_OK);
	CHECK_EQ(w.b->last_push_ts, newest);
	world_close(&w);
}

/* ---- the database turns read-only under the running room --------------------- */

static void test_read_only(void)
{
	struct world w;
	uint32_t count = 0;

	world_open(&w);
	client_post(w.a, T0 + 20, 0, "before");
	run_for(3000);
	CHECK_EQ(w.a->acked, 1);

	CHECK_EQ(store_set_query_only(w.st, true), ERR_OK);
	uint32_t errors = w.room.stats.store_errors;
	client_post(w.a, T0 + 21, 0, "while read-only");
	run_for(3000);
	CHECK_EQ(w.a->acked, 1);
	CHECK_EQ(w.room.stats.posts_refused, 1);
	CHECK(w.room.stats.store_errors > errors);
	client_post(w.a, T0 + 21, 1, "while read-only");
	run_for(3000);
	CHECK_EQ(w.a->acked, 1);
	CHECK_EQ(w.room.stats.posts_refused, 2);
	/* a minute of it: the unsaved member state (A's replay mark) is retried
	 * now and then, not on every tick of the loop (each one logs an error) */
	run_for(60000);
	/* 2 posts refused, each also failing its replay-window write, and the
	 * member flush retried every 5 s, with 2 to spare */
	CHECK(w.room.stats.store_errors - errors <= 2 + 2 + 60000 / 5000 + 2);
	CHECK_EQ(store_post_count(w.st, w.id, &count), ERR_OK);
	CHECK_EQ(count, 1);

	CHECK_EQ(store_set_query_only(w.st, false), ERR_OK);
	client_post(w.a, T0 + 21, 2, "while read-only");
	run_for(3000);
	CHECK_EQ(w.a->acked, 2);
	CHECK_EQ(stored(w.st, w.id, "while read-only"), 1);
	CHECK_EQ(w.room.stats.posts_stored, 2);
	/* a second copy of the retry is a duplicate: ACKed again, stored once */
	client_post(w.a, T0 + 21, 3, "while read-only");
	run_for(3000);
	CHECK_EQ(w.a->acked, 3);
	CHECK_EQ(stored(w.st, w.id, "while read-only"), 1);
	world_close(&w);
}

/* ---- the wall clock stepped back while the daemon was down ------------------- */

struct ts_list {
	uint32_t ts[64];
	int n;
};

static int ts_cb(void *ctx, const struct store_post *p)
{
	struct ts_list *l = ctx;
	if (l->n < 64)
		l->ts[l->n++] = p->post_ts;
	return 0;
}

static void test_clock_back(void)
{
	struct world w;
	struct store_member sm;

	world_open(&w);
	client_login(w.b, T0 + 11, 0, "hello");
	run_for(5000);
	CHECK_EQ(w.b->logged_in, 1);
	for (int i = 0; i < 3; i++) {
		char t[32];
		snprintf(t, sizeof(t), "old %d", i);
		client_post(w.a, T0 + 20 + (uint32_t)i, 0, t);
		run_for(2000);
	}
	run_for(20000);
	CHECK_EQ(w.a->acked, 3);
	CHECK_EQ(w.b->pushes, 3);
	CHECK_STR(w.b->last_push, "old 2");
	uint32_t newest = 0;
	CHECK_EQ(store_post_newest_ts(w.st, w.id, &newest), ERR_OK);
	CHECK_EQ(w.b->last_push_ts, newest);
	CHECK_EQ(store_member_get(w.st, w.id, w.b->ep.id.pub, &sm), ERR_OK);
	CHECK_EQ(sm.sync_since, newest);

	/* a restart with the clock a little behind the newest post (unique times
	 * of a busy room run ahead): the RTC is left alone, posts still sort after */
	room_close(&w.room);
	w.clock.offset_ms = (int64_t)(newest - 30) * 1000 - (int64_t)now;
	CHECK_EQ(room_open(&w.room, &w.rn->mesh, w.st, w.id, &w.rid, &w.clock, now), ERR_OK);
	CHECK_EQ(room_clock_rtc(&w.clock, now), newest - 30);
	CHECK(room_unique_time(&w.room) > newest);
	room_close(&w.room);
	w.clock.offset_ms = (int64_t)T0 * 1000 - 1000;
	CHECK_EQ(room_open(&w.room, &w.rn->mesh, w.st, w.id, &w.rid, &w.clock, now), ERR_OK);

	/* a running room does not follow a clock stepped back: `time` refuses */
	CHECK(!room_clock_set(&w.clock, now, newest - 100));
	CHECK(room_rtc(&w.room) >= newest);

	/* restart with the wall clock one day behind */
	room_close(&w.room);
	now += 10000;
	w.clock.offset_ms = (int64_t)(T0 - 86400) * 1000 - (int64_t)now;
	CHECK_EQ(room_open(&w.room, &w.rn->mesh, w.st, w.id, &w.rid, &w.clock, now), ERR_OK);
	/* the RTC is not behind the newest post (adverts, login replies) */
	CHECK(room_clock_rtc(&w.clock, now) >= newest);
	CHECK(room_clock_rtc(&w.clock, now) < newest + 60);
	CHECK_EQ(store_member_get(w.st, w.id, w.b->ep.id.pub, &sm), ERR_OK);
	CHECK_EQ(sm.sync_since, newest);

	/* new posts sort after the old ones */
	client_post(w.a, T0 + 30, 0, "new 0");
	run_for(2000);
	client_post(w.a, T0 + 31, 0, "new 1");
	run_for(2000);
	CHECK_EQ(w.a->acked, 5);
	struct ts_list l = {{0}, 0};
	CHECK_EQ(store_post_list_newest(w.st, w.id, 64, ts_cb, &l), ERR_OK);
	CHECK_EQ(l.n, 5);
	for (int i = 0; i < l.n / 2; i++) { /* oldest first */
		uint32_t t = l.ts[i];
		l.ts[i] = l.ts[l.n - 1 - i];
		l.ts[l.n - 1 - i] = t;
	}
	for (int i = 1; i < l.n; i++)
		CHECK(l.ts[i] > l.ts[i - 1]);
	CHECK(l.n == 5 && l.ts[3] > newest);

	/* B comes back from its sync point: pushed exactly the two new posts, in
	 * order, and its sync point moves forwards only */
	int before = w.b->pushes;
	client_login(w.b, T0 + 40, newest, "hello");
	run_for(30000);
	CHECK_EQ(w.b->logged_in, 1);
	CHECK_EQ(w.b->pushes, before + 2);
	CHECK_STR(w.b->last_push, "new 1");
	CHECK_EQ(w.b->last_push_ts, l.ts[4]);
	CHECK_EQ(store_member_get(w.st, w.id, w.b->ep.id.pub, &sm), ERR_OK);
	CHECK_EQ(sm.sync_since, l.ts[4]);
	world_close(&w);
}

/* ---- killed between the commit and the ACK ------------------------------------ */

static void test_crash_before_ack(void)
{
	struct world w;
	struct mesh_cfg cfg;

	world_open(&w);
	client_post(w.a, T0 + 20, 0, "committed, never acknowledged");
	/* the post reaches the room, which commits it and queues its ACK... */
	mesh_tick(&w.a->mesh, now);
	deliver();
	CHECK_EQ(stored(w.st, w.id, "committed, never acknowledged"), 1);
	CHECK_EQ(w.a->acked, 0);
	/* ...and dies before the ACK is on the air: the queue is gone */
	room_close(&w.room);
	the_room = NULL;
	n_air = 0;
	mesh_cfg_defaults(&cfg);
	mesh_init(&w.rn->mesh, &cfg, &(struct mesh_io){.transmit = transmit, .ctx = w.rn}, &rngs[0],
	          now);
	run_for(10000);
	CHECK_EQ(w.a->acked, 0);
	CHECK_EQ(room_open(&w.room, &w.rn->mesh, w.st, w.id, &w.rid, &w.clock, now), ERR_OK);
	the_room = &w.room;
	/* the client's retry after the restart (its last: by flood, the route
	 * forgotten) is acknowledged, and stored once */
	w.a->room_path_len = MESH_NO_PATH;
	client_post(w.a, T0 + 20, 3, "committed, never acknowledged");
	run_for(3000);
	CHECK_EQ(w.a->acked, 1);
	CHECK_EQ(stored(w.st, w.id, "committed, never acknowledged"), 1);
	CHECK_EQ(w.room.stats.posts_retried, 1);

	/* killed after the post's commit but before the member's replay mark was
	 * written: the retry is newer than the stored mark, and still a duplicate */
	struct store_post p;
	memset(&p, 0, sizeof(p));
	p.room = w.id;
	memcpy(p.author, w.a->ep.id.pub, 32);
	p.post_ts = room_unique_time(&w.room);
	p.sender_ts = T0 + 25;
	p.text_len = 4;
	memcpy(p.text, "mark", 4);
	int64_t id;
	CHECK_EQ(store_post_add(w.st, &p, &id, NULL), ERR_OK);
	client_post(w.a, T0 + 25, 1, "mark");
	run_for(3000);
	CHECK_EQ(w.a->acked, 2);
	CHECK_EQ(stored(w.st, w.id, "mark"), 1);
	CHECK_EQ(w.room.stats.posts_retried, 2);
	world_close(&w);
}

/* ---- SIGKILL at random moments (in-process variant of tests/e2e/crash.sh) ---- */

#define CRASH_CLIENTS 3

/* The child: the room on the database and clients posting until killed; each
 * post a client saw acknowledged is written to fd as "text\n". */
static void crash_child(const char *db, int round, int fd)
{
	static struct room room;
	struct room_clock clock;
	struct store *st;
	struct ident rid;
	uint8_t seed[32];
	struct node *c[CRASH_CLIENTS];
	uint32_t id = 0;

	n_nodes = 0;
	n_air = 0;
	now = 1000;
	clock.offset_ms = (int64_t)(T0 + (uint32_t)round * 100000) * 1000 - (int64_t)now;
	memset(seed, 9, sizeof(seed));
	ident_from_seed(&rid, seed);
	if (store_open(&st, db) || store_room_add(st, "Crash", rid.pub, &id))
		_exit(2);
	struct node *rn = node_new();
	if (room_open(&room, &rn->mesh, st, id, &rid, &clock, now))
		_exit(2);
	the_room = &room;
	for (int i = 0; i < CRASH_CLIENTS; i++)
		c[i] = client_new((uint8_t)(0x31 + i), rid.pub);
	uint32_t ts = T0 + (uint32_t)round * 100000;
	for (int i = 0; i < CRASH_CLIENTS; i++)
		client_login(c[i], ts, 0, "hello");
	run_for(5000);
	for (uint32_t n = 1;; n++) {
		char text[CRASH_CLIENTS][48];
		int acked[CRASH_CLIENTS], done[CRASH_CLIENTS];
		for (int i = 0; i < CRASH_CLIENTS; i++) {
			snprintf(text[i], sizeof(text[i]), "r%d c%d n%u", round, i, n);
			acked[i] = c[i]->acked;
			done[i] = 0;
			client_post(c[i], ts + n, 0, text[i]);
		}
		for (unsigned attempt = 1; attempt <= 4; attempt++) {
			run_for(1500);
			for (int i = 0; i < CRASH_CLIENTS; i++) {
				if (done[i])
					continue;
				if (c[i]->acked == acked[i]) {
					if (attempt < 4)
						client_post(c[i], ts + n, attempt, text[i]);
					continue;
				}
				/* seen acknowledged: tell the parent at once */
				char line[64];
				int len = snprintf(line, sizeof(line), "%s\n", text[i]);
				if (write(fd, line, (size_t)len) != len)
					_exit(3);
				done[i] = 1;
			}
		}
	}
}

struct acked {
	char (*text)[48];
	size_t n, cap;
};

static void acked_add(struct acked *a, const char *t, size_t len)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->text = realloc(a->text, a->cap * sizeof(*a->text));
		if (!a->text)
			exit(2);
	}
	snprintf(a->text[a->n++], sizeof(a->text[0]), "%.*s", (int)len, t);
}

struct count_ctx {
	const struct acked *a;
	unsigned char *seen; /* per acknowledged post: times found */
	uint32_t rows;
};

static int count_cb(void *ctx, const struct store_post *p)
{
	struct count_ctx *cc = ctx;
	cc->rows++;
	for (size_t i = 0; i < cc->a->n; i++) {
		if (strlen(cc->a->text[i]) == p->text_len &&
		    memcmp(cc->a->text[i], p->text, p->text_len) == 0 && cc->seen[i] < 255)
			cc->seen[i]++;
	}
	return 0;
}

static void test_sigkill(void)
{
	const char *env = getenv("FAULTS_CRASH_ROUNDS");
	int rounds = env ? atoi(env) : 20;
	struct acked a = {NULL, 0, 0};
	char db[64], p[96];
	struct store *st;
	uint32_t id = 0;
	int bad_checks = 0, bad_exits = 0;
	uint8_t seed[32];
	struct ident rid;

	snprintf(db, sizeof(db), "/tmp/test_faults_kill_XXXXXX");
	int tfd = mkstemp(db);
	CHECK(tfd >= 0);
	close(tfd);
	unlink(db);
	/* the room, with no retention limit so that nothing acknowledged expires */
	memset(seed, 9, sizeof(seed));
	ident_from_seed(&rid, seed);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "Crash", rid.pub, &id), ERR_OK);
	CHECK_EQ(store_room_set_retention(st, id, 0, 0), ERR_OK);
	store_close(st);
	srand(12345);
	for (int r = 0; r < rounds; r++) {
		int pfd[2];
		CHECK_EQ(pipe(pfd), 0);
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			crash_child(db, r, pfd[1]);
			_exit(0);
		}
		close(pfd[1]);
		/* 30..300 ms of real time: login, then posts */
		struct timespec d = {0, (long)(30 + rand() % 270) * 1000000L};
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		int status = 0;
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			bad_exits++;
		char buf[4096], line[64];
		size_t ll = 0;
		ssize_t n;
		while ((n = read(pfd[0], buf, sizeof(buf))) > 0) {
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == '\n') {
					acked_add(&a, line, ll);
					ll = 0;
				} else if (ll < sizeof(line)) {
					line[ll++] = buf[i];
				}
			}
		}
		close(pfd[0]);
		CHECK_EQ(store_open(&st, db), ERR_OK);
		if (store_check(st) != ERR_OK)
			bad_checks++;
		store_close(st);
	}
	CHECK_EQ(bad_exits, 0);
	CHECK_EQ(bad_checks, 0);

	struct count_ctx cc = {&a, calloc(a.n ? a.n : 1, 1), 0};
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_post_list_newest(st, id, UINT32_MAX, count_cb, &cc), ERR_OK);
	size_t lost = 0, twice = 0;
	for (size_t i = 0; i < a.n; i++) {
		lost += cc.seen[i] == 0;
		twice += cc.seen[i] > 1;
		if (cc.seen[i] != 1)
			fprintf(stderr, "test_faults: acknowledged post '%s' stored %u times\n",
			        a.text[i], cc.seen[i]);
	}
	printf("test_faults: %d SIGKILLs: %zu posts acknowledged, %u stored, lost %zu, "
	       "stored twice %zu, integrity %s\n",
	       rounds, a.n, cc.rows, lost, twice, bad_checks ? "BAD" : "ok");
	CHECK(a.n > 0);
	CHECK(cc.rows >= a.n);
	CHECK_EQ(lost, 0);
	CHECK_EQ(twice, 0);
	store_close(st);
	free(cc.seen);
	free(a.text);
	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
}

int main(void)
{
	log_set_level(getenv("FAULTS_TEST_LOG") ? LOG_TRACE : LOG_ERR);
	if (crypto_init())
		return 1;
	test_full_disk();
	test_read_only();
	test_clock_back();
	test_crash_before_ack();
	test_sigkill();
	return harness_done("test_faults");
}
