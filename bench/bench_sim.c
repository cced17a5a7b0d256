/*
 * bench_sim.c - the cost of the simulation and of roomd itself, in the
 * virtual-time world (src/sim/world.h).  Prints figures; never passes or
 * fails on them.
 *
 *   bench_sim [DIR]         (database files go to DIR, default /tmp)
 *
 *  1. Simulator speed, simulated seconds per wall-clock second, for 10 and
 *     100 nodes (one roomd, repeaters, the rest clients, all in range)
 *     with realistic traffic: every client logs in (3 s apart), then posts
 *     arrive at random (Poisson, one per 30 s in the small mesh, one per
 *     3 min in the large one, where each post is pushed to 95 members),
 *     every node adverts once an hour; each post is pushed to all members.
 *  2. roomd's processing cost: CPU time spent in the roomd node's mesh and
 *     room code (receive pipeline, timers, pushes, store with a durable
 *     SQLite file) per frame it received, over the 10-node run.
 *  3. Memory: database bytes per stored post and per member (a fresh file,
 *     1000 posts of 100 bytes and 1000 members), and RAM per member.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "room/room.h"
#include "sim/world.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "tmpdb.h"

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct run_result {
	double sim_s, wall_s;
	unsigned posts, delivered, pushed_rx;
	uint64_t room_frames, room_cpu_ns;
	struct chan_stats cs;
};

/* One mesh: n nodes (1 roomd, reps repeaters, the rest clients) for sim_s. */
static int run_mesh(unsigned n, unsigned reps, const char *db, double post_every_s, double sim_s,
                    struct run_result *res)
{
	struct world_cfg cfg;
	world_cfg_defaults(&cfg);
	cfg.seed = 4242 + n;
	cfg.record_events = false;
	cfg.cpu_ns = cpu_ns;
	struct world *w = world_new(&cfg);
	if (!w)
		return ERR_NOMEM;
	double t0 = wall_s();
	int rd = world_add_roomd(w, "roomd", db);
	if (rd < 0 || world_add_room(w, rd, "Bench", NULL) < 0) {
		world_free(w);
		return ERR_STORE;
	}
	for (unsigned i = 0; i < reps; i++) {
		char name[16];
		snprintf(name, sizeof(name), "rpt%u", i);
		world_add_repeater(w, name);
	}
	unsigned n_clients = n - 1 - reps;
	int *cl = calloc(n_clients, sizeof(*cl));
	if (!cl) {
		world_free(w);
		return ERR_NOMEM;
	}
	for (unsigned i = 0; i < n_clients; i++) {
		char name[16];
		snprintf(name, sizeof(name), "c%u", i);
		cl[i] = world_add_client(w, name, NULL);
		world_client_add_room(w, cl[i], rd, 0);
	}
	const uint8_t *rp = world_room_pub(w, rd, 0);
	for (unsigned i = 0; i < n_clients; i++) {
		client_login(world_client(w, cl[i]), rp, "hello", world_now_ms(w));
		world_run_for(w, 3000);
	}

	struct rng_seeded rs;
	struct rng rng;
	rng_seeded_init(&rs, &rng, 99 + n);
	uint64_t end = world_now_ms(w) + (uint64_t)(sim_s * 1000);
	uint64_t next_advert = world_now_ms(w);
	unsigned advert_node = 0;
	res->posts = 0;
	while (world_now_ms(w) < end) {
		/* exponential gap between posts, in ms */
		double u = (rng_u32(&rng) + 1.0) / 4294967297.0;
		uint64_t gap = (uint64_t)(-post_every_s * 1000.0 * __builtin_log(u));
		uint64_t at = world_now_ms(w) + gap;
		/* hourly adverts, spread over the hour */
		while (next_advert < at && next_advert < end) {
			world_run_until(w, next_advert);
			if (advert_node == 0)
				world_room_advert(w, rd, 0, true);
			else if (advert_node > reps)
				client_advert(world_client(w, cl[advert_node - reps - 1]), true,
				              world_now_ms(w));
			advert_node = (advert_node + 1) % n;
			next_advert += 3600000 / n;
		}
		if (at > end)
			at = end;
		world_run_until(w, at);
		if (world_now_ms(w) >= end)
			break;
		int c = cl[rng_range(&rng, 0, n_clients)];
		struct client *cc = world_client(w, c);
		if (client_busy(cc))
			continue;
		char text[100];
		memset(text, 'a' + (int)(res->posts % 26), sizeof(text));
		uint32_t id;
		if (client_post(cc, rp, text, sizeof(text), world_now_ms(w), &id) == ERR_OK)
			res->posts++;
	}
	res->wall_s = wall_s() - t0;
	res->sim_s = (double)world_now_ms(w) / 1000.0;
	struct world_node_stats st;
	world_node_stats(w, rd, &st);
	res->room_frames = st.frames_in;
	res->room_cpu_ns = st.cpu_ns;
	struct room *r = world_room(w, rd, 0);
	res->delivered = r->stats.posts_stored;
	res->pushed_rx = r->stats.push_acks;
	world_chan_stats(w, &res->cs);
	free(cl);
	world_free(w);
	return ERR_OK;
}

static int memory_figures(const char *dir)
{
	char db[512];
	struct store *st;
	uint32_t room;
	uint64_t b0, b1, b2;
	snprintf(db, sizeof(db), "%s/bench_sim_mem.db", dir);
	tmpdb_remove(db);
	int rc = store_open(&st, db);
	if (rc)
		return rc;
	uint8_t pub[32] = {1};
	rc = store_room_add(st, "Mem", pub, &room);
	if (!rc)
		rc = store_db_bytes(st, &b0);
	if (!rc)
		rc = store_begin(st);
	for (uint32_t i = 0; i < 1000 && !rc; i++) {
		struct store_post p;
		memset(&p, 0, sizeof(p));
		p.room = room;
		p.author[0] = (uint8_t)i;
		p.author[1] = (uint8_t)(i >> 8);
		p.post_ts = 1750000000u + i;
		p.sender_ts = p.post_ts;
		p.text_len = 100;
		memset(p.text, 'x', 100);
		int64_t id;
		bool dup;
		rc = store_post_add(st, &p, &id, &dup);
	}
	if (!rc)
		rc = store_commit(st);
	if (!rc)
		rc = store_db_bytes(st, &b1);
	if (!rc)
		rc = store_begin(st);
	for (uint32_t i = 0; i < 1000 && !rc; i++) {
		struct store_member m;
		memset(&m, 0, sizeof(m));
		m.pub[0] = (uint8_t)i;
		m.pub[1] = (uint8_t)(i >> 8);
		m.pub[31] = 7;
		m.permissions = ACL_ROLE_READ_WRITE;
		m.out_path_len = 2;
		m.out_path[0] = 0x11;
		m.out_path[1] = 0x22;
		m.created = 1750000000u;
		rc = store_member_put(st, room, &m);
	}
	if (!rc)
		rc = store_commit(st);
	if (!rc)
		rc = store_db_bytes(st, &b2);
	store_close(st);
	tmpdb_remove(db);
	if (rc)
		return rc;
	printf("memory: %.0f database bytes per stored post (100-byte text), %.0f per member; "
	       "%zu bytes of RAM per member in a room\n",
	       (double)(b1 - b0) / 1000.0, (double)(b2 - b1) / 1000.0, sizeof(struct room_member));
	return ERR_OK;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	char db[512];
	struct run_result r;

	log_set_level(LOG_ERR);
	if (crypto_init())
		return 1;
	snprintf(db, sizeof(db), "%s/bench_sim_%d.db", dir, (int)getpid());

	static const struct {
		unsigned nodes, reps;
		double post_every_s, sim_s;
		bool file;
	} runs[] = {
	    {10, 1, 30.0, 6 * 3600.0, true},
	    {10, 1, 30.0, 6 * 3600.0, false},
	    {100, 4, 180.0, 3600.0, false},
	};
	printf("%-6s %-7s %9s %8s %10s %6s %8s %9s %8s %10s\n", "nodes", "store", "sim_s", "wall_s",
	       "sim/wall", "posts", "pushACK", "frames", "colls", "room_us/rx");
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		tmpdb_remove(db);
		if (run_mesh(runs[i].nodes, runs[i].reps, runs[i].file ? db : NULL,
		             runs[i].post_every_s, runs[i].sim_s, &r) != ERR_OK) {
			fprintf(stderr, "bench_sim: run failed\n");
			tmpdb_remove(db);
			return 1;
		}
		tmpdb_remove(db);
		printf("%-6u %-7s %9.0f %8.2f %10.0f %6u %8u %9u %8u %10.1f\n", runs[i].nodes,
		       runs[i].file ? "file" : "memory", r.sim_s, r.wall_s, r.sim_s / r.wall_s,
		       r.delivered, r.pushed_rx, r.cs.tx, r.cs.tx_collided,
		       r.room_frames ? (double)r.room_cpu_ns / 1000.0 / (double)r.room_frames
		                     : 0.0);
		fflush(stdout);
	}
	printf("(room_us/rx: CPU microseconds in the roomd node's mesh, room and store code per "
	       "frame it received, timers and pushes included)\n");
	if (memory_figures(dir) != ERR_OK) {
		fprintf(stderr, "bench_sim: store error\n");
		return 1;
	}
	return 0;
}
