/*
 * test_loop.c - the programs' event loop (src/sys/loop.c) and the radio <->
 * mesh glue (src/mesh/node.c): the poll() backend, timers, descriptors, a
 * pollset rewatched as it changes, a stop signal as an event; a node's
 * frames through the packet-log hook to the mesh and back.
 */
#include <signal.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness.h"
#include "mesh/node.h"
#include "sys/loop.h"
#include "util/err.h"
#include "util/rng.h"

struct seen {
	struct loop *l;
	int timers, fds, sets;
	short revents;
	int last_fd;
	struct pollfd got[LOOP_POLLSET_MAX];
	int n_got;
};

static void on_timer(void *ctx)
{
	struct seen *s = ctx;
	s->timers++;
	loop_break(s->l);
}

static void on_fd(void *ctx, int fd, short revents)
{
	struct seen *s = ctx;
	char b[16];
	s->fds++;
	s->last_fd = fd;
	s->revents = revents;
	if (revents & POLLIN)
		(void)!read(fd, b, sizeof(b));
	loop_break(s->l);
}

static void on_set(void *ctx, struct pollfd *fds, int n)
{
	struct seen *s = ctx;
	char b[16];
	s->sets++;
	s->n_got = n;
	for (int i = 0; i < n; i++) {
		s->got[i] = fds[i];
		if (fds[i].revents & POLLIN)
			(void)!read(fds[i].fd, b, sizeof(b));
	}
	loop_break(s->l);
}

static void on_raise(void *ctx)
{
	(void)ctx;
	raise(SIGTERM);
}

static void test_loop(void)
{
	struct loop *l;
	struct seen s = {0};
	int p[2], q[2];
	CHECK_EQ(loop_open(&l), ERR_OK);
	s.l = l;
	/* the poll() backend: a descriptor closed and reopened under its number
	 * stays watched (loop.h) */
	CHECK_STR(event_base_get_method(loop_base(l)), "poll");
	CHECK(loop_now_ms() > 0);
	struct loop_timer *t = loop_timer_new(l, on_timer, &s);
	loop_timer_in(t, 20);
	CHECK_EQ(loop_run(l), ERR_OK);
	CHECK_EQ(s.timers, 1);

	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(pipe(q), 0);
	struct loop_fd *f = loop_fd_new(l, p[0], POLLIN, on_fd, &s);
	CHECK(f != NULL);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(loop_run(l), ERR_OK);
	CHECK_EQ(s.fds, 1);
	CHECK_EQ(s.last_fd, p[0]);
	CHECK_EQ(s.revents, POLLIN);
	loop_fd_free(f);

	/* a pollset: revents for the descriptor that fired, 0 for the other */
	struct loop_pollset ps;
	loop_pollset_init(&ps, l, on_set, &s);
	struct pollfd want[2] = {{p[0], POLLIN, 0}, {q[0], POLLIN, 0}};
	loop_pollset_set(&ps, want, 2);
	struct loop_fd *first = ps.ev[0];
	loop_pollset_set(&ps, want, 2); /* unchanged: not rewatched */
	CHECK(ps.ev[0] == first);
	CHECK_EQ(write(q[1], "y", 1), 1);
	CHECK_EQ(loop_run(l), ERR_OK);
	CHECK_EQ(s.sets, 1);
	CHECK_EQ(s.n_got, 2);
	CHECK_EQ(s.got[0].revents, 0);
	CHECK_EQ(s.got[1].fd, q[0]);
	CHECK_EQ(s.got[1].revents, POLLIN);
	loop_pollset_set(&ps, want, 1); /* changed: only p[0] now */
	CHECK_EQ(ps.n, 1);
	CHECK_EQ(write(p[1], "z", 1), 1);
	CHECK_EQ(loop_run(l), ERR_OK);
	CHECK_EQ(s.sets, 2);
	CHECK_EQ(s.got[0].revents, POLLIN);
	loop_pollset_set(&ps, want, -1);
	CHECK_EQ(ps.n, 0);
	loop_pollset_clear(&ps);

	/* a stop signal is an event: loop_run returns, loop_signal says which */
	CHECK_EQ(loop_signal(l), 0);
	struct loop_timer *r = loop_timer_new(l, on_raise, NULL);
	loop_timer_in(r, 0);
	CHECK_EQ(loop_run(l), ERR_OK);
	CHECK_EQ(loop_signal(l), SIGTERM);
	CHECK_EQ(loop_run(l), ERR_OK); /* stopped: returns at once */
	loop_timer_free(r);
	loop_timer_free(t);
	loop_close(l);
	close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

/* ---- node ---- */

struct radio_fake {
	uint64_t now;
	int sent, logged_tx, logged_rx, links, send_rc;
	uint8_t last[256];
	size_t last_len;
};

static int fake_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct radio_fake *f = ctx;
	if (f->send_rc != ERR_OK)
		return f->send_rc;
	f->sent++;
	memcpy(f->last, frame, len);
	f->last_len = len;
	return ERR_OK;
}

static uint64_t fake_now(void *ctx)
{
	return ((struct radio_fake *)ctx)->now;
}

static void fake_packet(void *ctx, bool tx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct radio_fake *f = ctx;
	(void)frame, (void)len;
	if (tx) {
		f->logged_tx++;
		CHECK_EQ(snr_x4, 0);
	} else {
		f->logged_rx++;
		CHECK_EQ(snr_x4, 26);
		CHECK_EQ(rssi, -90);
	}
}

static void fake_link(void *ctx, int up)
{
	((struct radio_fake *)ctx)->links += up;
}

static void test_node(void)
{
	struct radio_fake f = {.now = 5000};
	struct node_io io = {.send = fake_send,
	                     .now = fake_now,
	                     .packet = fake_packet,
	                     .link = fake_link,
	                     .ctx = &f};
	struct mesh m;
	struct mesh_cfg mc;
	struct node_link n;
	struct rng_seeded seeded;
	struct rng rng;
	rng_seeded_init(&seeded, &rng, 1);
	mesh_cfg_defaults(&mc);
	mc.repeat = true;
	node_open(&n, &m, &mc, &io, &rng);
	CHECK(n.mesh == &m);
	node_link_changed(&n, 1);
	CHECK_EQ(f.links, 1);
	/* a frame heard is logged before the mesh sees it */
	uint8_t junk[] = {0x11, 0x00, 0x01, 0x02};
	node_rx(&n, junk, sizeof(junk), 26, -90);
	CHECK_EQ(f.logged_rx, 1);
	/* what the mesh sends goes through io.send and is logged as sent */
	struct pkt p;
	static const uint8_t code[4] = {1, 2, 3, 4};
	CHECK_EQ(mesh_build_ack(&p, code, NULL, 0), ERR_OK);
	CHECK_EQ(mesh_send_zero_hop(&m, &p, 0), ERR_OK);
	mesh_tick(&m, f.now);
	CHECK_EQ(f.sent, 1);
	CHECK_EQ(f.logged_tx, 1);
	CHECK(m.tx_busy);
	node_tx_done(&n, 1);
	CHECK(!m.tx_busy);
	/* a refused frame is not logged as sent */
	f.send_rc = ERR_AGAIN;
	CHECK_EQ(mesh_build_ack(&p, code, NULL, 0), ERR_OK);
	CHECK_EQ(mesh_send_zero_hop(&m, &p, 0), ERR_OK);
	mesh_tick(&m, f.now);
	CHECK_EQ(f.sent, 1);
	CHECK_EQ(f.logged_tx, 1);
	CHECK(!m.tx_busy);
}

int main(void)
{
	test_loop();
	test_node();
	return harness_done("test_loop");
}
