/*
 * node.c - a mesh wired to a radio (node.h).
 */
#include "mesh/node.h"

#include "util/err.h"

static int node_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct node_link *n = ctx;
	int rc = n->io.send(n->io.ctx, frame, len);
	if (rc == ERR_OK && n->io.packet)
		n->io.packet(n->io.ctx, true, frame, len, 0, 0);
	return rc;
}

static int node_sense(void *ctx)
{
	struct node_link *n = ctx;
	return n->io.sense(n->io.ctx);
}

void node_open(struct node_link *n, struct mesh *m, const struct mesh_cfg *cfg,
               const struct node_io *io, const struct rng *rng)
{
	n->mesh = m;
	n->io = *io;
	struct mesh_io mio = {
	    .transmit = node_transmit, .ctx = n, .sense = io->sense ? node_sense : NULL};
	mesh_init(m, cfg, &mio, rng, io->now(io->ctx));
}

void node_rx(void *ctx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct node_link *n = ctx;
	if (n->io.packet)
		n->io.packet(n->io.ctx, false, frame, len, snr_x4, rssi);
	mesh_on_frame(n->mesh, frame, len, snr_x4, rssi, n->io.now(n->io.ctx));
}

void node_tx_done(void *ctx, int ok)
{
	struct node_link *n = ctx;
	mesh_on_tx_done(n->mesh, ok != 0, n->io.now(n->io.ctx));
}

void node_link_changed(void *ctx, int up)
{
	struct node_link *n = ctx;
	if (n->io.link)
		n->io.link(n->io.ctx, up);
}
