/*
 * test_members.c - a room with thousands of password members (roomd keeps
 * max.members, default 10000; the firmware 20).  With 3000 keys each one-byte
 * source hash stands for a dozen or more members, so every datagram is
 * matched by trying the candidates' keys (PROTOCOL.md §4): the test checks
 * that logins, posts and ACKs still go to the right member, also for one
 * past the 16th of its hash (the mesh asks for candidates a page at a time),
 * that a restart keeps every member with its role and sync point, and that
 * read-only guests beyond max.guests only ever recycle guest slots.
 * The world is tests/roomfix.h; the crowd's logins are handed to the room's
 * mesh directly, as frames off the air.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "mesh/mesh.h"
#include "room/room.h"
#include "roomfix.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "tmpdb.h"

#define N_MEMBERS      3000
#define N_GUESTS_EXTRA 200
#define T0             1750000000u
#define SINCE0         (T0 - 100000u)

struct who {
	struct ident id;
	uint8_t secret[CRYPTO_SECRET_SIZE];
};

static struct who *crowd;
static struct ident rid;

static void make_who(struct who *w, char tag, uint32_t i)
{
	uint8_t seed[CRYPTO_SEED_SIZE] = {'t', (uint8_t)tag};
	le32_store(seed + 4, i);
	ident_from_seed(&w->id, seed);
	CHECK_EQ(ident_shared_secret(&w->id, rid.pub, w->secret), ERR_OK);
}

/* A frame off the air for the room's node (node 0), by flood. */
static void inject(struct pkt *p)
{
	uint8_t f[PKT_MAX_FRAME];
	size_t len;
	p->header = pkt_header(PKT_ROUTE_FLOOD, pkt_type(p));
	p->transport[0] = p->transport[1] = 0;
	p->path_len = 0;
	CHECK_EQ(pkt_encode(p, f, sizeof(f), &len), ERR_OK);
	mesh_on_frame(&nodes[0].mesh, f, len, 40, -60, now);
}

static void crowd_login(const struct who *w, uint32_t ts, uint32_t since, const char *pw)
{
	uint8_t pt[8 + 15];
	struct pkt p;
	size_t len = login_plaintext(pt, ts, since, pw);
	CHECK_EQ(mesh_build_anon(&p, &w->id, rid.pub[0], w->secret, pt, len), ERR_OK);
	inject(&p);
}

static bool is_admin(size_t i)
{
	return i % 97 == 0;
}

static uint32_t since_of(size_t i)
{
	return SINCE0 + (uint32_t)i;
}

/* Members of the crowd missing, or with the wrong role or sync point. */
static unsigned crowd_wrong(struct room *r, bool after_restart)
{
	unsigned bad = 0;
	for (size_t i = 0; i < N_MEMBERS; i++) {
		const struct room_member *m = room_member_find(r, crowd[i].id.pub);
		if (!m || m->perms != (is_admin(i) ? ACL_ROLE_ADMIN : ACL_ROLE_READ_WRITE) ||
		    m->sync_since != since_of(i) || m->last_ts != T0 + 5 ||
		    (after_restart && m->last_activity != 0))
			bad++;
	}
	return bad;
}

/* A roomfix client node speaking for w. */
static struct node *client_as(const struct who *w)
{
	struct node *n = node_new();
	n->ep.id = w->id;
	n->ep.ops = &client_ops;
	n->ep.ctx = n;
	n->ep.reciprocal_path = true;
	memcpy(n->room_pub, rid.pub, 32);
	memcpy(n->secret, w->secret, 32);
	mesh_add_ep(&n->mesh, &n->ep);
	return n;
}

static int newest_post(void *ctx, const struct store_post *p)
{
	*(struct store_post *)ctx = *p;
	return 0;
}

int main(void)
{
	static struct room room;
	struct room_clock clock = {(int64_t)T0 * 1000};
	struct store *st;
	uint8_t seed[32];
	char db[64];
	uint32_t id;
	unsigned bucket[256] = {0};

	log_set_level(LOG_ERR);
	if (crypto_init())
		return 1;
	snprintf(db, sizeof(db), "%s/test_members_%d.db",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	tmpdb_remove(db);
	memset(seed, 7, sizeof(seed));
	ident_from_seed(&rid, seed);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(store_room_add(st, "Crowd", rid.pub, &id), ERR_OK);
	struct node *rn = node_new();
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	the_room = &room;

	crowd = calloc(N_MEMBERS, sizeof(*crowd));
	CHECK(crowd != NULL);
	if (!crowd)
		return harness_done("test_members");
	for (uint32_t i = 0; i < N_MEMBERS; i++) {
		make_who(&crowd[i], 'm', i);
		bucket[crowd[i].id.pub[0]]++;
	}

	/* ---- 3000 password logins, each its own key and sync point ---- */
	for (size_t i = 0; i < N_MEMBERS; i++) {
		crowd_login(&crowd[i], T0 + 5, since_of(i), is_admin(i) ? "password" : "hello");
		now += 20;
		if (i % 32 == 31)
			run_for(500);
	}
	run_for(2000);
	CHECK_EQ(room.n_members, N_MEMBERS);
	CHECK_EQ(room.stats.logins_ok, N_MEMBERS);
	CHECK_EQ(room.n_guests, 0);
	CHECK_EQ(crowd_wrong(&room, false), 0);

	/* the busiest hash: more members behind it than one page of candidates */
	unsigned hot = 0;
	for (unsigned h = 1; h < 256; h++)
		if (bucket[h] > bucket[hot])
			hot = h;
	CHECK(bucket[hot] > MESH_MAX_CANDIDATES);
	size_t in_hot[64], n_hot = 0;
	for (size_t i = 0; i < N_MEMBERS && n_hot < 64; i++)
		if (crowd[i].id.pub[0] == hot)
			in_hot[n_hot++] = i;
	/* x: the last of its hash (past the first page); y, z: two others */
	size_t xi = in_hot[n_hot - 1], yi = in_hot[n_hot - 2], zi = in_hot[0];
	CHECK(n_hot > MESH_MAX_CANDIDATES);

	/* ---- a restart from the same store (the database closed too), the
	 * crowd idle for 11 minutes before it: nobody is resumed ---- */
	run_for(11 * 60000);
	room_close(&room);
	store_close(st);
	CHECK_EQ(store_open(&st, db), ERR_OK);
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	CHECK_EQ(room.n_members, N_MEMBERS);
	CHECK_EQ(crowd_wrong(&room, true), 0);
	/* the flood-reply budget the crowd's logins used up comes back */
	run_for(60000);

	/* ---- colliding members log in again: each reply to its own key ---- */
	struct node *x = client_as(&crowd[xi]), *y = client_as(&crowd[yi]),
	            *z = client_as(&crowd[zi]);
	z->ack_pushes = false;
	client_login(x, T0 + 200, since_of(xi), is_admin(xi) ? "password" : "hello");
	client_login(y, T0 + 200, since_of(yi), is_admin(yi) ? "password" : "hello");
	client_login(z, T0 + 200, since_of(zi), is_admin(zi) ? "password" : "hello");
	run_for(8000);
	CHECK(x->logged_in && y->logged_in && z->logged_in);
	CHECK_EQ(x->role, is_admin(xi) ? ACL_ROLE_ADMIN : ACL_ROLE_READ_WRITE);
	unsigned active = 0;
	for (size_t i = 0; i < N_MEMBERS; i++) {
		const struct room_member *m = room_member_find(&room, crowd[i].id.pub);
		active += m && m->last_activity != 0;
	}
	CHECK_EQ(active, 3); /* x, y, z and nobody else of the crowd */
	struct room_member *mx = room_member_find(&room, crowd[xi].id.pub);
	CHECK(mx && mx->last_ts == T0 + 200);

	/* ---- x posts: stored as x's, ACKed with x's code ---- */
	uint32_t stored = room.stats.posts_stored;
	client_txt(x, T0 + 300, 0, 0, "hello from the crowd");
	run_for(3000);
	CHECK_EQ(x->acked, 1);
	CHECK_EQ(room.stats.posts_stored, stored + 1);
	struct store_post newest;
	memset(&newest, 0, sizeof(newest));
	CHECK_EQ(store_post_list_newest(st, id, 1, newest_post, &newest), ERR_OK);
	CHECK(memcmp(newest.author, crowd[xi].id.pub, 32) == 0);
	CHECK(newest.text_len == 20 && memcmp(newest.text, "hello from the crowd", 20) == 0);

	/* ---- y and z get it pushed; only y's own ACK moves y's sync point ---- */
	run_for(40000);
	CHECK(y->pushes >= 1 && z->pushes >= 1);
	CHECK_EQ(x->pushes, 0); /* not its own post */
	CHECK(strcmp(y->last_push, "hello from the crowd") == 0);
	unsigned moved = 0;
	for (size_t i = 0; i < N_MEMBERS; i++) {
		const struct room_member *m = room_member_find(&room, crowd[i].id.pub);
		if (!m)
			continue;
		if (i == yi)
			CHECK_EQ(m->sync_since, newest.post_ts);
		else
			moved += m->sync_since != since_of(i);
	}
	CHECK_EQ(moved, 0); /* z never ACKed; x and the rest were not pushed */
	struct room_member *mz = room_member_find(&room, crowd[zi].id.pub);
	CHECK(mz && mz->sync_since == since_of(zi));

	/* ---- strangers: blank-password read-only logins from fresh keys ---- */
	room.set.allow_read_only = true;
	unsigned max_guests = room.set.max_guests;
	CHECK_EQ(max_guests, 256);
	size_t peak = 0;
	for (uint32_t g = 0; g < max_guests + N_GUESTS_EXTRA; g++) {
		struct who w;
		make_who(&w, 'g', g);
		crowd_login(&w, T0 + 400, 0, "");
		now += 20;
		if (room.n_members > peak)
			peak = room.n_members;
		if (g % 32 == 31)
			run_for(500);
	}
	run_for(2000);
	CHECK_EQ(room.n_guests, max_guests);
	CHECK_EQ(room.n_members, N_MEMBERS + max_guests);
	CHECK_EQ(peak, N_MEMBERS + max_guests);
	unsigned lost = 0;
	for (size_t i = 0; i < N_MEMBERS; i++) {
		const struct room_member *m = room_member_find(&room, crowd[i].id.pub);
		lost +=
		    !m || (m->perms & 3) != (is_admin(i) ? ACL_ROLE_ADMIN : ACL_ROLE_READ_WRITE);
	}
	CHECK_EQ(lost, 0);

	/* ---- and once more from the store ---- */
	room_close(&room);
	CHECK_EQ(room_open(&room, &rn->mesh, st, id, &rid, &clock, now), ERR_OK);
	CHECK_EQ(room.n_members, N_MEMBERS + max_guests);
	CHECK_EQ(room.n_guests, max_guests);
	mx = room_member_find(&room, crowd[xi].id.pub);
	struct room_member *my = room_member_find(&room, crowd[yi].id.pub);
	CHECK(mx && mx->sync_since == since_of(xi) && mx->last_ts == T0 + 300);
	CHECK(my && my->sync_since == newest.post_ts);
	uint32_t count = 0;
	CHECK_EQ(store_member_count(st, id, &count), ERR_OK);
	CHECK_EQ(count, N_MEMBERS + max_guests);

	/* ---- a post whose ciphertext also passes another member's 2-byte MAC:
	 * that member (tried first) gets garbage, which is not text, so the
	 * room goes on to the other candidates and stores it as x's ---- */
	{
		const struct who *w = &crowd[in_hot[1]];
		struct room_member *mw = room_member_find(&room, w->id.pub);
		uint32_t w_ts = mw ? mw->last_ts : 0;
		uint8_t pt[5 + 32], junk[PKT_MAX_PAYLOAD];
		char text[32];
		struct pkt p;
		size_t tl = 0, jl;
		bool found = false;
		for (uint32_t k = 0; k < 2000000 && !found; k++) {
			tl = (size_t)snprintf(text, sizeof(text), "collision %u", k);
			le32_store(pt, T0 + 400);
			pt[4] = 0;
			memcpy(pt + 5, text, tl);
			if (mesh_build_datagram(&p, PKT_TXT_MSG, &crowd[xi].id, rid.pub[0],
			                        crowd[xi].secret, pt, 5 + tl) != ERR_OK ||
			    cipher_decrypt(w->secret, p.payload + 2, p.payload_len - 2, junk,
			                   sizeof(junk), &jl) != ERR_OK)
				continue;
			/* typical garbage: not a plain or CLI text message */
			found = jl > 5 && (junk[4] >> 2) > 1;
		}
		CHECK(found);
		uint32_t posts = room.stats.posts_stored, bad = room.stats.malformed;
		inject(&p);
		run_for(3000);
		CHECK_EQ(room.stats.posts_stored, posts + 1);
		CHECK_EQ(room.stats.malformed, bad + 1); /* w's try, counted */
		memset(&newest, 0, sizeof(newest));
		CHECK_EQ(store_post_list_newest(st, id, 1, newest_post, &newest), ERR_OK);
		CHECK(memcmp(newest.author, crowd[xi].id.pub, 32) == 0);
		CHECK(newest.text_len == tl && memcmp(newest.text, text, tl) == 0);
		CHECK(mw && mw->last_ts == w_ts); /* w's replay mark did not move */
	}

	the_room = NULL;
	room_close(&room);
	store_close(st);
	tmpdb_remove(db);
	free(crowd);
	return harness_done("test_members");
}
