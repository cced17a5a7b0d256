/*
 * bench_members.c - one room with many members: what the member table costs
 * as it grows.  Prints figures; never passes or fails on them.
 *
 *   bench_members [N ...]     default: 1000 10000 50000
 *
 * For each N, in a fresh database (under $BENCH_DIR, else /dev/shm if it
 * exists, else /tmp: the figures are CPU, not fsync), with N members whose
 * keys are real Ed25519 identities, about N/256 of them behind each
 * one-byte key hash:
 *  - open: wall time of room_open() over N stored members;
 *  - RAM: bytes of the member table (and its index) per member;
 *  - tick, none active: one room_tick() after a restart (no member has
 *    shown activity, so none is pushed to);
 *  - bulk logins: all N log in with the guest password (wall time);
 *  - ticks to find all caught up: the push engine asks the store once for
 *    each newly active member, at most 64 a tick (the longest such tick);
 *  - tick, idle: all N active and caught up, nothing to push;
 *  - next deadline: room_next_deadline() in that state (the event loop
 *    asks before every sleep);
 *  - tick after a post: the first tick after a new post (one push), then
 *    the ticks of the catch-up that follows (pushes in flight, no ACKs);
 *  - CPU per received login (existing member, and a new key), and per
 *    received post from a random member, from the frame to the queued
 *    reply or ACK: median over 300 frames, thread CPU time.  Posts the room
 *    did not store are counted ("lost"), and apart the posts a wrong
 *    candidate's key decrypted first (the MAC is 2 bytes: with N/256
 *    candidates to try, one post in about 2 x 65536 x 256 / N passes a
 *    wrong key's MAC; the garbage is refused and the room goes on to the
 *    other candidates, so such a post is not lost).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mesh/mesh.h"
#include "room/room.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "tmpdb.h"

#define SAMPLES  300
#define BASE_RTC 1750000000u

struct who {
	struct ident id;
	uint8_t secret[CRYPTO_SECRET_SIZE];
	uint32_t ts;
};

static struct who *who;
static size_t n_who;
static struct ident room_id;
static struct mesh mesh;
static struct room room;
static struct room_clock rclock;
static uint64_t now = 1000;
static uint32_t frames_out;

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int transmit(void *ctx, const uint8_t *f, size_t len)
{
	(void)ctx;
	(void)f;
	(void)len;
	frames_out++;
	return ERR_OK;
}

/* Lets the room's queued frames go out (virtual time), outside any timing. */
static void drain(void)
{
	for (int i = 0; i < 2000 && (mesh_queue_len(&mesh) || mesh.tx_busy); i++) {
		mesh_tick(&mesh, now);
		if (mesh.tx_busy)
			mesh_on_tx_done(&mesh, true, now);
		now += 100;
	}
	mesh_tick(&mesh, now);
}

/* Hands the room one frame as if heard over the air; returns its CPU time. */
static double inject(struct pkt *p, unsigned route)
{
	uint8_t f[PKT_MAX_FRAME];
	size_t len;
	p->header = pkt_header(route, pkt_type(p));
	p->transport[0] = p->transport[1] = 0;
	p->path_len = 0;
	if (pkt_encode(p, f, sizeof(f), &len) != ERR_OK)
		return 0;
	double t0 = cpu_s();
	mesh_on_frame(&mesh, f, len, 40, -60, now);
	return cpu_s() - t0;
}

static double login(struct who *w, const char *pw)
{
	uint8_t pt[8 + 15];
	struct pkt p;
	size_t pl = strlen(pw);
	le32_store(pt, ++w->ts);
	le32_store(pt + 4, 0);
	memcpy(pt + 8, pw, pl);
	if (mesh_build_anon(&p, &w->id, room_id.pub[0], w->secret, pt, 8 + pl) != ERR_OK)
		return 0;
	return inject(&p, PKT_ROUTE_FLOOD);
}

static double post(struct who *w, const char *text)
{
	uint8_t pt[5 + 160];
	struct pkt p;
	size_t tl = strlen(text);
	le32_store(pt, ++w->ts);
	pt[4] = 0;
	memcpy(pt + 5, text, tl);
	if (mesh_build_datagram(&p, PKT_TXT_MSG, &w->id, room_id.pub[0], w->secret, pt, 5 + tl) !=
	    ERR_OK)
		return 0;
	return inject(&p, PKT_ROUTE_DIRECT);
}

static double tick_once(void)
{
	double t0 = cpu_s();
	room_tick(&room, now);
	return cpu_s() - t0;
}

/* Median of up to n ticks step_ms apart, stopping early (after 3) past budget_s. */
static double ticks(size_t n, uint64_t step_ms, double budget_s)
{
	double v[64], start = wall_s();
	size_t k = 0;
	if (n > 64)
		n = 64;
	while (k < n && (k < 3 || wall_s() - start < budget_s)) {
		now += step_ms;
		mesh_tick(&mesh, now);
		v[k++] = tick_once();
		drain();
	}
	return median(v, k);
}

static void make_who(size_t n)
{
	who = calloc(n, sizeof(*who));
	if (!who)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		uint8_t seed[CRYPTO_SEED_SIZE] = {'b', 'm'};
		le32_store(seed + 4, (uint32_t)i);
		ident_from_seed(&who[i].id, seed);
		if (ident_shared_secret(&who[i].id, room_id.pub, who[i].secret) != ERR_OK)
			exit(1);
		who[i].ts = BASE_RTC;
	}
	n_who = n;
}

static const char *db_dir(void)
{
	const char *d = getenv("BENCH_DIR");
	if (d && *d)
		return d;
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* Members straight into the store, as a long-running room leaves them. */
static int seed_store(struct store *st, uint32_t id, size_t n)
{
	char v[16];
	snprintf(v, sizeof(v), "%zu", n + 2 * SAMPLES);
	int rc = store_setting_set(st, id, "max.members", v);
	if (!rc)
		rc = store_begin(st);
	for (size_t i = 0; !rc && i < n; i++) {
		struct store_member m;
		memset(&m, 0, sizeof(m));
		memcpy(m.pub, who[i].id.pub, sizeof(m.pub));
		m.permissions = ACL_ROLE_READ_WRITE;
		m.last_timestamp = BASE_RTC;
		m.out_path_len = STORE_PATH_UNKNOWN;
		m.created = BASE_RTC;
		rc = store_member_put(st, id, &m);
	}
	return rc ? rc : store_commit(st);
}

static size_t caught_up(const struct room *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n_members; i++)
		k += r->members[i].caught_up == r->post_gen;
	return k;
}

static size_t table_bytes(const struct room *r)
{
	return r->cap_members * sizeof(*r->members);
}

static int run(size_t n)
{
	char db[512];
	struct store *st = NULL;
	uint32_t id;
	struct rng_seeded seeded;
	struct rng rng;
	struct mesh_cfg cfg;
	double v[SAMPLES];
	int rc;

	snprintf(db, sizeof(db), "%s/bench_members_%d.db", db_dir(), (int)getpid());
	tmpdb_remove(db);
	if ((rc = store_open(&st, db)) || (rc = store_room_add(st, "Big Room", room_id.pub, &id)) ||
	    (rc = seed_store(st, id, n))) {
		fprintf(stderr, "bench_members: store: %s\n", err_str(rc));
		store_close(st);
		tmpdb_remove(db);
		return 1;
	}
	for (size_t i = 0; i < n_who; i++)
		who[i].ts = BASE_RTC + 10;
	mesh_cfg_defaults(&cfg);
	rng_seeded_init(&seeded, &rng, 42);
	now = 1000;
	mesh_init(&mesh, &cfg, &(struct mesh_io){.transmit = transmit, .ctx = NULL}, &rng, now);
	rclock.offset_ms = (int64_t)BASE_RTC * 1000 + 100000;

	double t0 = wall_s();
	rc = room_open(&room, &mesh, st, id, &room_id, &rclock, now);
	double t_open = wall_s() - t0;
	if (rc) {
		fprintf(stderr, "bench_members: room_open: %s\n", err_str(rc));
		store_close(st);
		tmpdb_remove(db);
		return 1;
	}
	printf("N = %zu members (%zu loaded)\n", n, room.n_members);
	printf("  open (room_open)              %10.1f ms\n", t_open * 1e3);
	printf("  member table                  %10.0f bytes/member (%zu B a member struct)\n",
	       (double)table_bytes(&room) / (double)room.n_members, sizeof(struct room_member));
	drain();
	printf("  tick, none active             %10.1f us\n", ticks(20, 150, 2.0) * 1e6);

	t0 = wall_s();
	for (size_t i = 0; i < n; i++) {
		login(&who[i], "hello");
		if (i % 16 == 15)
			drain();
	}
	double t_bulk = wall_s() - t0;
	drain();
	printf("  bulk logins                   %10.1f s (%.0f/s; %u ok)\n", t_bulk,
	       (double)n / t_bulk, room.stats.logins_ok);
	now += 3000; /* past the push delay after a login */
	mesh_tick(&mesh, now);
	/* the push engine asks the store about every active member once, 64 a
	 * tick: run until a full walk found nobody behind */
	double worst = 0;
	size_t nt = 0;
	for (; nt < n && caught_up(&room) < room.n_members; nt++) {
		double t = tick_once();
		worst = t > worst ? t : worst;
		drain();
		now += 150;
		mesh_tick(&mesh, now);
	}
	printf("  ticks to find all caught up   %10zu (the longest %.2f ms)\n", nt, worst * 1e3);
	printf("  tick, idle (all caught up)    %10.1f us\n", ticks(20, 150, 5.0) * 1e6);
	t0 = cpu_s();
	for (int i = 0; i < 100; i++)
		(void)room_next_deadline(&room);
	printf("  next deadline                 %10.2f us\n", (cpu_s() - t0) / 100 * 1e6);

	room_post(&room, room_id.pub, 0, "news", 4, NULL);
	printf("  tick after a post             %10.1f us\n", tick_once() * 1e3 * 1e3);
	drain();
	double t_catch = ticks(60, 1000, 5.0);
	printf("  ticks of the catch-up         %10.1f us (1 s apart; %u pushes, %u timeouts)\n",
	       t_catch * 1e6, room.stats.pushes, room.stats.push_timeouts);

	for (size_t k = 0; k < SAMPLES; k++) {
		v[k] = login(&who[(k * 7919) % n], "hello");
		drain();
	}
	printf("  login, member                 %10.1f us\n", median(v, SAMPLES) * 1e6);
	for (size_t k = 0; k < SAMPLES; k++) {
		v[k] = login(&who[n + k], "hello");
		drain();
	}
	printf("  login, new key                %10.1f us\n", median(v, SAMPLES) * 1e6);
	uint32_t stored = room.stats.posts_stored;
	uint32_t odd = room.stats.replays + room.stats.malformed;
	for (size_t k = 0; k < SAMPLES; k++) {
		v[k] = post(&who[(k * 104729 + 13) % n],
		            "a post of a typical length, some forty bytes");
		drain();
	}
	/* a post decrypted under another candidate's key first (a 2-byte MAC
	 * passes by chance once in 65536 tries): refused as garbage there */
	uint32_t garbage = room.stats.replays + room.stats.malformed - odd;
	printf("  post                          %10.1f us (%u of %d lost; %u met a wrong key "
	       "first)\n",
	       median(v, SAMPLES) * 1e6, SAMPLES - (room.stats.posts_stored - stored), SAMPLES,
	       garbage);
	room_close(&room);
	store_close(st);
	tmpdb_remove(db);
	return 0;
}

int main(int argc, char **argv)
{
	size_t sizes[8] = {1000, 10000, 50000};
	size_t n_sizes = 3, max = 0;
	uint8_t seed[CRYPTO_SEED_SIZE];

	log_set_level(LOG_ERR);
	if (crypto_init())
		return 1;
	if (argc > 1) {
		n_sizes = 0;
		for (int i = 1; i < argc && n_sizes < 8; i++)
			sizes[n_sizes++] = strtoul(argv[i], NULL, 10);
	}
	for (size_t i = 0; i < n_sizes; i++)
		if (sizes[i] > max)
			max = sizes[i];
	memset(seed, 7, sizeof(seed));
	ident_from_seed(&room_id, seed);
	double t0 = wall_s();
	make_who(max + SAMPLES);
	printf("bench_members: %zu identities made in %.1f s; database under %s\n", n_who,
	       wall_s() - t0, db_dir());
	int rc = 0;
	for (size_t i = 0; i < n_sizes; i++)
		if (sizes[i] >= 1)
			rc |= run(sizes[i]);
	free(who);
	return rc;
}
