/*
 * bench_store.c - figures for the storage module (src/store/store.h).
 *
 *   bench_store [posts [members [dir]]]     defaults: 10000 1000 /tmp
 *
 * Prints, for one room in a fresh database file under dir:
 *  - posts/s of store_post_add() outside a batch: each add is a durable
 *    commit (synchronous=FULL, one fsync), as the room does before its ACK;
 *  - posts/s of the same inside batches of 500 (one fsync per batch);
 *  - posts/s of durable adds once the room is at its retention cap;
 *  - queries/s of the push engine's next-post query and of the unsynced
 *    count, each member asking from a pseudo-random sync_since;
 *  - members/s of the hot-path sync_since update (durable);
 *  - bytes per stored post: database pages x page size / posts.
 * Never passes or fails on time: it only prints.  Exit 1 on a store error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/err.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void key(uint8_t k[STORE_PUB_LEN], uint32_t n)
{
	for (unsigned i = 0; i < STORE_PUB_LEN; i++)
		k[i] = (uint8_t)(n * 131 + i * 7);
	memcpy(k, &n, sizeof(n));
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (uint32_t)((rnd_state * 0x2545F4914F6CDD1Dull) >> 32);
}

#define BASE_TS 1715770351u

static int add(struct store *st, uint32_t room, uint32_t i, uint32_t members)
{
	struct store_post p;
	memset(&p, 0, sizeof(p));
	p.room = room;
	key(p.author, i % members);
	p.post_ts = BASE_TS + i;
	p.sender_ts = BASE_TS - 1000 + i;
	/* Typical chat lines: 20..149 bytes of printable text. */
	p.text_len = 20 + rnd() % 130;
	for (size_t j = 0; j < p.text_len; j++)
		p.text[j] = (uint8_t)('a' + rnd() % 26);
	int64_t id;
	return store_post_add(st, &p, &id, NULL);
}

#define FAIL(what, err)                                                                            \
	do {                                                                                       \
		fprintf(stderr, "bench_store: %s: %s\n", what, err_str(err));                      \
		goto out;                                                                          \
	} while (0)

int main(int argc, char **argv)
{
	uint32_t posts = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
	uint32_t members = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000;
	const char *base = argc > 3 ? argv[3] : "/tmp";
	if (posts < 10 || members < 1) {
		fprintf(stderr, "usage: bench_store [posts>=10 [members>=1 [dir]]]\n");
		return 2;
	}
	char dir[256], path[300], p2[320];
	snprintf(dir, sizeof(dir), "%s/bench_store.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bench.db", dir);

	struct store *st = NULL;
	int err, rc = 1;
	uint32_t room, n;
	uint8_t k[STORE_PUB_LEN];
	double t0, t;
	if ((err = store_open(&st, path)) != ERR_OK)
		FAIL("open", err);
	key(k, 0xFFFFFFFF);
	if ((err = store_room_add(st, "bench", k, &room)) != ERR_OK)
		FAIL("room add", err);
	if ((err = store_room_set_retention(st, room, posts, 0)) != ERR_OK)
		FAIL("retention", err);

	/* Members, batched. */
	if ((err = store_begin(st)) != ERR_OK)
		FAIL("begin", err);
	for (uint32_t i = 0; i < members; i++) {
		struct store_member m;
		memset(&m, 0, sizeof(m));
		key(m.pub, i);
		m.permissions = 2;
		m.out_path_len = (uint8_t)(i % 4);
		m.created = BASE_TS;
		if ((err = store_member_put(st, room, &m)) != ERR_OK)
			FAIL("member put", err);
	}
	if ((err = store_commit(st)) != ERR_OK)
		FAIL("commit", err);

	/* Half the posts durable one by one, half in batches of 500. */
	uint32_t durable = posts / 2, i = 0;
	t0 = now_s();
	for (; i < durable; i++)
		if ((err = add(st, room, i, members)) != ERR_OK)
			FAIL("post add", err);
	t = now_s() - t0;
	printf("post add, durable (fsync each): %u posts in %.3f s = %.0f posts/s\n", durable, t,
	       durable / t);
	t0 = now_s();
	while (i < posts) {
		if ((err = store_begin(st)) != ERR_OK)
			FAIL("begin", err);
		for (uint32_t j = 0; j < 500 && i < posts; j++, i++)
			if ((err = add(st, room, i, members)) != ERR_OK)
				FAIL("post add", err);
		if ((err = store_commit(st)) != ERR_OK)
			FAIL("commit", err);
	}
	t = now_s() - t0;
	printf("post add, batches of 500:       %u posts in %.3f s = %.0f posts/s\n",
	       posts - durable, t, (posts - durable) / t);

	uint64_t bytes = 0;
	if ((err = store_post_count(st, room, &n)) != ERR_OK)
		FAIL("count", err);
	if ((err = store_db_bytes(st, &bytes)) != ERR_OK)
		FAIL("db bytes", err);
	printf("database: %u posts, %u members, %llu bytes = %.1f bytes/post (all tables)\n", n,
	       members, (unsigned long long)bytes, (double)bytes / n);

	/* At the cap: each add also drops the oldest post. */
	uint32_t extra = posts / 10;
	t0 = now_s();
	for (uint32_t j = 0; j < extra; j++, i++)
		if ((err = add(st, room, i, members)) != ERR_OK)
			FAIL("post add at cap", err);
	t = now_s() - t0;
	if ((err = store_post_count(st, room, &n)) != ERR_OK)
		FAIL("count", err);
	printf("post add, durable, at the cap:  %u posts in %.3f s = %.0f posts/s (%u kept)\n",
	       extra, t, extra / t, n);

	/* The push engine's queries, members in turn. */
	uint32_t queries = 20000, found = 0;
	t0 = now_s();
	for (uint32_t q = 0; q < queries; q++) {
		struct store_post p;
		key(k, q % members);
		uint32_t since = BASE_TS + rnd() % i;
		err = store_post_next(st, room, k, since, BASE_TS + i - 6, &p);
		if (err == ERR_OK)
			found++;
		else if (err != ERR_NOT_FOUND)
			FAIL("post next", err);
	}
	t = now_s() - t0;
	printf("next-post query:   %u queries in %.3f s = %.0f queries/s (%u found)\n", queries, t,
	       queries / t, found);
	uint64_t total = 0;
	t0 = now_s();
	for (uint32_t q = 0; q < queries; q++) {
		key(k, q % members);
		uint32_t since = BASE_TS + rnd() % i;
		if ((err = store_post_count_since(st, room, k, since, STORE_TS_ANY, 255, &n)) !=
		    ERR_OK)
			FAIL("count since", err);
		total += n;
	}
	t = now_s() - t0;
	printf("unsynced count:    %u queries in %.3f s = %.0f queries/s (cap 255, mean %.1f)\n",
	       queries, t, queries / t, (double)total / queries);
	t0 = now_s();
	for (uint32_t q = 0; q < members; q++) {
		key(k, q);
		if ((err = store_member_set_sync_since(st, room, k, BASE_TS + q)) != ERR_OK)
			FAIL("set sync_since", err);
	}
	t = now_s() - t0;
	printf("sync_since update, durable: %u in %.3f s = %.0f updates/s\n", members, t,
	       members / t);
	if ((err = store_db_bytes(st, &bytes)) != ERR_OK)
		FAIL("db bytes", err);
	if ((err = store_post_count(st, room, &n)) != ERR_OK)
		FAIL("count", err);
	printf("final: %llu bytes for %u posts = %.1f bytes/post\n", (unsigned long long)bytes, n,
	       (double)bytes / n);
	rc = 0;
out:
	store_close(st);
	unlink(path);
	snprintf(p2, sizeof(p2), "%s-wal", path);
	unlink(p2);
	snprintf(p2, sizeof(p2), "%s-shm", path);
	unlink(p2);
	rmdir(dir);
	return rc;
}
