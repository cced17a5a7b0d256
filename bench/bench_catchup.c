/*
 * bench_catchup.c - how fast roomd catches up members who were away
 * (issue 7), in virtual time on the simulated channel (src/sim/world.h):
 * the real room, mesh and client code, a roomd KISS radio with roomd's
 * modem settings, firmware-like client radios, all in range of each other.
 *
 *   bench_catchup [TSV-FILE]        (or CATCHUP_TSV=FILE; default: no file)
 *
 * For each preset (EU: 869.618 MHz BW 62.5 SF8 CR 4/5, the firmware
 * default; US: 910.525 MHz BW 62.5 SF7 CR 4/5, PROTOCOL.md §10.1), for 1
 * and for 10 members returning together and for k = 1, 16, 32, 100 posts
 * missed: the members go off the air, an author posts k posts, the room
 * gives up pushing to the absent members (15 minutes), then the members come back
 * (within 3 s of each other) and log in.  Measured: the time from the first
 * login request to the last member's k-th post (login_s: to the last
 * login answer), the airtime spent meanwhile, collisions, push timeouts,
 * logins that timed out and were retried (as a user would: members that
 * key up together collide) and members the room gave up on.
 *
 * The physical bound is the time on air of one push and one ACK per post
 * per member, back to back (lora_airtime_ms of the real frame sizes: a
 * direct push with no hops, a direct ACK), with no login, no turnaround and
 * no delay at all; "ratio" is time / bound.  A stock client answers a push
 * 200 ms after it (TXT_ACK_DELAY, §9.5), so the ratio cannot go below
 * 1 + 200 ms / (push + ACK airtime): 1.26 for SF8, 1.47 for SF7 here.
 * Benchmarks print figures and never pass or fail on them.
 *
 * Environment: CATCHUP_ONLY=EU-SF8:10:16 runs one row, CATCHUP_TRACE=1
 * prints every transmission of the catch-up phase on stderr (CATCHUP_TRACE_ALL
 * of the setup too), CATCHUP_LOG=1 logs at debug level, CATCHUP_P=N sets the
 * roomd modem's KISS persistence (default roomd's, 255).  Exits 1 if a
 * case's setup (logins, the k posts stored) failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/airtime.h"
#include "proto/packet.h"
#include "room/room.h"
#include "sim/world.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_MEMBERS 10
#define TEXT_LEN    40 /* bytes of each post's text */

struct preset {
	const char *name;
	struct lora_params lp;
};

static const struct preset presets[] = {
    {"EU-SF8", {869618000u, 62500u, 8, 5, 0}},
    {"US-SF7", {910525000u, 62500u, 7, 5, 0}},
};

struct result {
	double time_s, login_s, bound_s, air_s, bound_air_s;
	unsigned collisions, timeouts, pushes, giveups, complete, members, k, relogins;
};

/* Bytes on the air: header, path_len, dest and src hashes, MAC, ciphertext
 * (16-byte blocks) of timestamp, flags, author prefix and text (§5.1, §5.4). */
static size_t push_frame_len(size_t text_len)
{
	size_t pt = 9 + text_len;
	return 1 + 1 + 1 + 1 + 2 + (pt + 15) / 16 * 16;
}

#define ACK_FRAME_LEN 6 /* header, path_len, 4-byte code (§5.5) */

static void text_for(char *out, unsigned i)
{
	static const char filler[] = "the quick brown fox jumps over the lazy dog";
	int n = snprintf(out, TEXT_LEN + 1, "post %04u: ", i % 10000);
	memcpy(out + n, filler, TEXT_LEN - (size_t)n);
	out[TEXT_LEN] = 0;
}

struct state {
	int members[MAX_MEMBERS];
	int author;
	unsigned n, k;
	const uint8_t *room;
};

/* The author and every member have logged in once (setup). */
static bool all_logged_in(struct world *w, void *ctx)
{
	struct state *s = ctx;
	if (!world_event_count(w, s->author, CLIENT_EV_LOGIN, s->room))
		return false;
	for (unsigned i = 0; i < s->n; i++)
		if (!world_event_count(w, s->members[i], CLIENT_EV_LOGIN, s->room))
			return false;
	return true;
}

static bool all_done(struct world *w, void *ctx)
{
	struct state *s = ctx;
	for (unsigned i = 0; i < s->n; i++)
		if (world_event_count(w, s->members[i], CLIENT_EV_POST, s->room) < s->k)
			return false;
	return true;
}

static bool delivered(struct world *w, void *ctx)
{
	int *author = ctx;
	return !client_busy(world_client(w, *author));
}

/* CATCHUP_TRACE=1: every transmission of the catch-up phase on stderr */
static bool tracing;

static void trace_tx(void *ctx, struct world *w, const struct chan_tx_report *r)
{
	struct pkt p;
	char out[256];
	size_t o = 0;
	(void)ctx;
	(void)w;
	if (!tracing || pkt_decode(&p, r->frame, r->len) != ERR_OK)
		return;
	for (size_t i = 0; i < r->rx_count && o < sizeof(out) - 32; i++)
		if (r->rx[i].outcome != CHAN_DELIVERED)
			o += (size_t)snprintf(out + o, sizeof(out) - o, " %d:%s", r->rx[i].radio,
			                      chan_outcome_name(r->rx[i].outcome));
	out[o] = 0;
	fprintf(stderr, "%10.3f-%10.3f %-7s %-9s %-6s %3zu%s\n", (double)r->start_us / 1e6,
	        (double)r->end_us / 1e6, r->sender_name, pkt_type_name(pkt_type(&p)),
	        pkt_is_flood(&p) ? "flood" : "direct", r->len, out);
}

/* A member whose login timed out tries again, as a user would. */
struct relogin {
	const uint8_t *room;
	bool active;
	unsigned count;
};

static void on_event(void *ctx, struct world *w, const struct world_event *ev)
{
	struct relogin *rl = ctx;
	if (!rl->active || ev->type != CLIENT_EV_LOGIN_TIMEOUT)
		return;
	rl->count++;
	client_login(world_client(w, ev->node), rl->room, "hello", world_now_ms(w));
}

static int run_one(const struct preset *p, unsigned n_members, unsigned k, uint64_t seed,
                   struct result *res)
{
	struct world_cfg cfg;
	struct state s = {.n = n_members, .k = k};
	char text[TEXT_LEN + 1];

	world_cfg_defaults(&cfg);
	cfg.seed = seed;
	cfg.lp = p->lp;
	if (getenv("CATCHUP_P"))
		cfg.kiss_persistence = atoi(getenv("CATCHUP_P"));
	struct world *w = world_new(&cfg);
	if (!w)
		return ERR_NOMEM;
	int rd = world_add_roomd(w, "roomd", NULL);
	world_add_room(w, rd, "Bench", NULL);
	int author = world_add_client(w, "author", NULL);
	for (unsigned i = 0; i < n_members; i++) {
		char name[16];
		snprintf(name, sizeof(name), "m%u", i);
		s.members[i] = world_add_client(w, name, NULL);
	}
	s.room = world_room_pub(w, rd, 0);
	struct room *room = world_room(w, rd, 0);
	world_set_tx_hook(w, trace_tx, NULL);
	tracing = getenv("CATCHUP_TRACE_ALL") != NULL;
	/* a login that times out is repeated, as a user would, in the setup too */
	struct relogin rl = {.room = s.room, .active = true};
	world_set_event_hook(w, on_event, &rl);
	s.author = author;

	/* everyone knows the room and is a member, the room a path to each */
	world_room_advert(w, rd, 0, true);
	world_run_for(w, 5000);
	client_login(world_client(w, author), s.room, "hello", world_now_ms(w));
	world_run_for(w, 4000);
	for (unsigned i = 0; i < n_members; i++) {
		client_login(world_client(w, s.members[i]), s.room, "hello", world_now_ms(w));
		world_run_for(w, 4000);
	}
	world_run_for(w, 10000);
	if (!world_run_until_pred(w, all_logged_in, &s, 300000)) {
		world_free(w);
		return ERR_AGAIN; /* the setup failed: no row */
	}

	/* the members leave; k posts are made (a failed one is posted again) */
	for (unsigned i = 0; i < n_members; i++)
		world_node_set_up(w, s.members[i], false);
	for (unsigned i = 0; i < k; i++) {
		uint32_t id, stored = 0;
		text_for(text, i);
		for (int tries = 0; tries < 5 && stored <= i; tries++) {
			client_post(world_client(w, author), s.room, text, TEXT_LEN,
			            world_now_ms(w), &id);
			world_run_until_pred(w, delivered, &author, 120000);
			store_post_count(world_store(w, rd), room->store_id, &stored);
		}
		if (stored <= i) {
			world_free(w);
			return ERR_AGAIN;
		}
	}
	/* away for 15 minutes: long enough for the room to stop its rounds of
	 * pushes to the absent members (they were last heard 10 minutes ago) */
	world_run_for(w, 900000);

	/* they come back within 3 s of each other and log in */
	struct chan_stats c0, c1;
	struct room_stats r0 = room->stats;
	world_stats_reset(w);
	world_chan_stats(w, &c0);
	tracing = getenv("CATCHUP_TRACE") != NULL;
	rl.count = 0;
	uint64_t t0 = world_now_ms(w);
	struct rng_seeded rs;
	struct rng rng;
	rng_seeded_init(&rs, &rng, seed * 7 + 3);
	uint64_t start[MAX_MEMBERS];
	for (unsigned i = 0; i < n_members; i++)
		start[i] = t0 + (n_members > 1 ? rng_range(&rng, 0, 3000) : 0);
	for (unsigned i = 0; i < n_members; i++)
		world_node_set_up(w, s.members[i], true);
	unsigned started = 0;
	while (started < n_members) {
		uint64_t next = UINT64_MAX;
		for (unsigned i = 0; i < n_members; i++)
			if (start[i] != UINT64_MAX && start[i] < next)
				next = start[i];
		world_run_until(w, next);
		for (unsigned i = 0; i < n_members; i++) {
			if (start[i] == next) {
				client_login(world_client(w, s.members[i]), s.room, "hello",
				             world_now_ms(w));
				start[i] = UINT64_MAX;
				started++;
			}
		}
	}
	world_run_until_pred(w, all_done, &s, (uint64_t)k * n_members * 20000 + 120000);

	/* the time each member got its k-th post, and its login */
	uint64_t last = t0, login_last = t0;
	size_t nev;
	const struct world_event *ev = world_events(w, &nev);
	res->complete = 0;
	for (unsigned i = 0; i < n_members; i++) {
		size_t got = 0;
		uint64_t done = 0, lg = 0;
		for (size_t e = 0; e < nev; e++) {
			if (ev[e].node != s.members[i] || ev[e].t_ms < t0)
				continue;
			if (ev[e].type == CLIENT_EV_LOGIN && !lg)
				lg = ev[e].t_ms;
			if (ev[e].type == CLIENT_EV_POST && ++got == k)
				done = ev[e].t_ms;
		}
		if (got >= k) {
			res->complete++;
			if (done > last)
				last = done;
		}
		if (lg > login_last)
			login_last = lg;
	}
	world_chan_stats(w, &c1);
	tracing = false;
	res->relogins = rl.count;
	res->giveups = 0;
	for (unsigned i = 0; i < n_members; i++) {
		struct room_member *m = room_member_find(room, world_node_pub(w, s.members[i]));
		if (!m || room_member_given_up(m))
			res->giveups++;
	}
	double per_post = (double)lora_airtime_ms(&p->lp, push_frame_len(TEXT_LEN)) +
	                  (double)lora_airtime_ms(&p->lp, ACK_FRAME_LEN);
	res->members = n_members;
	res->k = k;
	res->time_s = (double)(last - t0) / 1000.0;
	res->login_s = (double)(login_last - t0) / 1000.0;
	res->bound_s = per_post * k * n_members / 1000.0;
	res->air_s = (double)(c1.airtime_us - c0.airtime_us) / 1e6;
	res->collisions = c1.tx_collided - c0.tx_collided;
	res->timeouts = room->stats.push_timeouts - r0.push_timeouts;
	res->pushes = room->stats.pushes - r0.pushes;
	world_free(w);
	return ERR_OK;
}

int main(int argc, char **argv)
{
	const char *tsv_path = argc > 1 ? argv[1] : getenv("CATCHUP_TSV");
	static const unsigned ks[] = {1, 16, 32, 100};
	static const unsigned ms[] = {1, 10};
	FILE *tsv = NULL;
	int failed = 0;

	log_set_level(getenv("CATCHUP_LOG") ? LOG_DEBUG : LOG_ERR);
	if (crypto_init())
		return 1;
	if (tsv_path && tsv_path[0]) {
		tsv = fopen(tsv_path, "w");
		if (!tsv) {
			perror(tsv_path);
			return 1;
		}
		fprintf(tsv, "preset\tmembers\tk\ttime_s\tlogin_s\tbound_s\tratio\tairtime_s\t"
		             "collisions\tpush_timeouts\trelogins\tgiveups\tcomplete\n");
	}
	printf("catch-up of returning members (virtual time; push %zu B, ACK %d B on the air)\n",
	       push_frame_len(TEXT_LEN), ACK_FRAME_LEN);
	printf("%-7s %7s %4s %8s %7s %8s %6s %9s %6s %8s %8s %7s %8s\n", "preset", "members", "k",
	       "time_s", "login_s", "bound_s", "ratio", "airtime_s", "colls", "timeouts",
	       "relogins", "giveups", "complete");
	for (size_t p = 0; p < sizeof(presets) / sizeof(presets[0]); p++) {
		for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++) {
			for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
				struct result r;
				char tag[64];
				const char *only = getenv("CATCHUP_ONLY");
				snprintf(tag, sizeof(tag), "%s:%u:%u", presets[p].name, ms[mi],
				         ks[ki]);
				if (only && strcmp(only, tag) != 0)
					continue;
				uint64_t seed = 1000 + p * 100 + mi * 10 + ki;
				int rc = run_one(&presets[p], ms[mi], ks[ki], seed, &r);
				if (rc == ERR_AGAIN) {
					/* not a figure: the world never got ready */
					printf("%-7s %7u %4u setup failed (logins or posts)\n",
					       presets[p].name, ms[mi], ks[ki]);
					failed = 1;
					continue;
				}
				if (rc != ERR_OK)
					return 1;
				double ratio = r.time_s / r.bound_s;
				printf("%-7s %7u %4u %8.1f %7.1f %8.1f %6.2f %9.1f %6u %8u %8u %7u "
				       "%5u/%-2u\n",
				       presets[p].name, r.members, r.k, r.time_s, r.login_s,
				       r.bound_s, ratio, r.air_s, r.collisions, r.timeouts,
				       r.relogins, r.giveups, r.complete, r.members);
				if (tsv)
					fprintf(tsv,
					        "%s\t%u\t%u\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%u\t%"
					        "u\t%u\t%u\t%u\n",
					        presets[p].name, r.members, r.k, r.time_s,
					        r.login_s, r.bound_s, ratio, r.air_s, r.collisions,
					        r.timeouts, r.relogins, r.giveups, r.complete);
				fflush(stdout);
			}
		}
	}
	if (tsv)
		fclose(tsv);
	return failed;
}
