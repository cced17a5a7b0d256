/*
 * node.h - one node: a mesh (mesh.h) wired to a radio, with the packet-log
 * hook.  The one copy of the radio <-> mesh glue, for roomd, roomc and the
 * simulator (src/sim/world.c).
 *
 * The radio is whatever the caller has: src/radio's KISS modem in the
 * programs, a radio of the simulated channel in the simulator.  The node
 * reaches it through node_io only, so this stays in the pure core: no I/O,
 * no clock of its own (io.now gives the time: app_now_ms() in the programs,
 * virtual time in the simulator).
 *
 * What the caller owns: the struct node_link, the struct mesh it names and
 * everything io points to.  The mesh keeps a pointer to the node_link (as
 * its mesh_io ctx), so the node_link must not move and must outlive the
 * mesh's use; node_open() may be called again to re-initialise the mesh
 * (e.g. a simulated reboot).  There is nothing to close.
 *
 * Wiring a src/radio radio:
 *	struct radio_events ev = {node_rx, node_tx_done, node_link_changed, &link};
 *	radio_open(&radio, spec, &cfg, &ev, now);
 * and io.send calls radio_send() on it.
 */
#ifndef ROOMD_MESH_NODE_H
#define ROOMD_MESH_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

struct node_io {
	/* Hands one frame to the radio: ERR_OK (then tx_done follows), ERR_AGAIN
	 * (busy: the mesh retries) or another error (mesh_io.transmit). */
	int (*send)(void *ctx, const uint8_t *frame, size_t len);
	/* The time now, monotonic milliseconds. */
	uint64_t (*now)(void *ctx);
	/* The packet-log hook, or NULL: every frame received (tx false, before
	 * the mesh sees it), and every frame the radio took (tx true, snr and
	 * rssi 0).  The frame is valid during the call only. */
	void (*packet)(void *ctx, bool tx, const uint8_t *frame, size_t len, int snr_x4, int rssi);
	/* The radio's link came up (1) or went down (0), or NULL. */
	void (*link)(void *ctx, int up);
	void *ctx;
	/* Is the channel busy now (mesh_io.sense: 1, 0 or ERR_AGAIN), or NULL
	 * if the radio cannot tell. */
	int (*sense)(void *ctx);
};

struct node_link {
	struct mesh *mesh;
	struct node_io io;
};

/* Initialises m with cfg (mesh_init) and wires it to the radio through io;
 * the mesh transmits through io.send. */
void node_open(struct node_link *n, struct mesh *m, const struct mesh_cfg *cfg,
               const struct node_io *io, const struct rng *rng);

/* From the radio (the shapes of struct radio_events' members; ctx is the
 * node_link): a received frame, the end of a transmission, the link. */
void node_rx(void *ctx, const uint8_t *frame, size_t len, int snr_x4, int rssi);
void node_tx_done(void *ctx, int ok);
void node_link_changed(void *ctx, int up);

#endif
