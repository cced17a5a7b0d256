/*
 * mesh.h - the MeshCore mesh layer on one radio: dispatcher (transmit queue,
 * airtime budget, delays), duplicate table, routing (flood and direct
 * forwarding, ACK re-emission, TRACE) and the receive pipeline that decrypts
 * packets for the local endpoints (PROTOCOL.md §6, §5.5, §5.6).
 *
 * One struct mesh serves one radio.  Several endpoints (struct mesh_ep, an
 * identity with its upcalls) may share it: roomd hosts many rooms on one
 * radio.  The first endpoint's key is the node's hash when forwarding.
 *
 * Pure: no I/O, no clock.  The program feeds received frames
 * (mesh_on_frame), transmit completions (mesh_on_tx_done) and the time
 * (mesh_tick), and the mesh hands frames to io->transmit one at a time.
 * Time is a monotonic millisecond count; sends made from outside a mesh call
 * use the time of the latest one, so a program calls mesh_tick(now) at the
 * top of each loop iteration.
 */
#ifndef ROOMD_MESH_MESH_H
#define ROOMD_MESH_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "proto/airtime.h"
#include "proto/packet.h"
#include "util/rng.h"

#define MESH_DUP_ENTRIES    160
#define MESH_TXQ_MAX        64
#define MESH_MAX_EPS        64
#define MESH_MAX_CANDIDATES 16
#define MESH_NO_PATH        0xFF /* out_path unknown */
#define MESH_TX_DONE_LOG    16   /* transmissions whose TxDone time is remembered */

/* Priorities (§6.5): lower goes first. */
enum {
	MESH_PRI_DIRECT = 0,
	MESH_PRI_FLOOD = 1,
	MESH_PRI_PATH_FLOOD = 2,
	MESH_PRI_ADVERT = 3,
	MESH_PRI_TRACE = 5
};

/* Error flags of the status layout (§5.7). */
enum { MESH_ERR_POOL = 1, MESH_ERR_BUSY = 2, MESH_ERR_STUCK = 4 };

struct mesh_cfg {
	struct lora_params lp;
	double airtime_factor;         /* duty = 1 / (1 + af); default 1.0 */
	double tx_delay_factor;        /* flood retransmit, default 0.5 */
	double direct_tx_delay_factor; /* default 0.2 */
	bool repeat;                   /* forwarding enabled; room default off */
	uint8_t flood_max;             /* 64 */
	uint8_t flood_max_unscoped;    /* 64 */
	uint8_t flood_max_advert;      /* 8 */
	uint8_t multi_acks;            /* extra ACK transmissions when re-emitting */
};

void mesh_cfg_defaults(struct mesh_cfg *c);

/* A candidate sender offered by an endpoint for a source hash. */
struct mesh_peer {
	uint8_t pub[CRYPTO_PUB_SIZE];
	uint8_t secret[CRYPTO_SECRET_SIZE];
	void *ref; /* the endpoint's own handle */
};

/* What arrived, as the handlers see it. */
struct mesh_rx {
	const struct pkt *pkt; /* as received: flood path so far, or direct path left */
	int snr_x4;
	int rssi;
	uint64_t now_ms;
};

struct mesh_ep;

struct mesh_ep_ops {
	/*
	 * Fills out[] with up to max peers whose pub[0] == src_hash, leaving out
	 * the first skip of them (the same order on every call); returns how
	 * many.  The mesh asks again with skip moved on while a call fills out[]:
	 * a room of thousands of members has more than max behind one hash.
	 */
	int (*peers_by_hash)(struct mesh_ep *ep, uint8_t src_hash, int skip, struct mesh_peer *out,
	                     int max);
	/* An ANON_REQ decrypted with the sender's embedded key. */
	void (*on_anon_req)(struct mesh_ep *ep, const struct mesh_rx *rx,
	                    const uint8_t pub[CRYPTO_PUB_SIZE],
	                    const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt,
	                    size_t len);
	/* A decrypted REQ, RESPONSE or TXT_MSG (type) from a known peer. pt is
	 * NUL-terminated one byte past len (room for a C string).  Returns
	 * false if the plaintext cannot be this peer's (it does not parse):
	 * with a 2-byte MAC, one wrong candidate in 65536 passes it, and the
	 * mesh then goes on with the other candidates of the source hash. */
	bool (*on_peer_data)(struct mesh_ep *ep, const struct mesh_rx *rx,
	                     const struct mesh_peer *peer, unsigned type, const uint8_t *pt,
	                     size_t len);
	/* A decrypted PATH; return true to accept it (a flooded PATH that is
	 * accepted gets the reciprocal path when ep->reciprocal_path is set). */
	bool (*on_peer_path)(struct mesh_ep *ep, const struct mesh_rx *rx,
	                     const struct mesh_peer *peer, uint8_t path_len, const uint8_t *path,
	                     unsigned extra_type, const uint8_t *extra, size_t extra_len);
	/* An ACK code (plain, multi-ACK, or early in transit); len is the ACK
	 * payload length (5 for keep-alive ACKs).  Return true if it matched. */
	bool (*on_ack)(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
	               const uint8_t *payload, size_t len);
	/* A verified advert from another node. */
	void (*on_advert)(struct mesh_ep *ep, const struct mesh_rx *rx,
	                  const uint8_t pub[CRYPTO_PUB_SIZE], uint32_t ts, const uint8_t *app_data,
	                  size_t app_len);
};

struct mesh_ep {
	struct ident id;
	const struct mesh_ep_ops *ops;
	void *ctx;
	bool reciprocal_path; /* clients: answer an accepted flooded PATH (§5.6) */
};

struct mesh_io {
	/* Hands one frame to the radio; ERR_AGAIN if it cannot take one now
	 * (busy channel, radio not ready): the mesh keeps the frame and tries
	 * again 120, 240 or 360 ms later (§6.7).  After ERR_OK the mesh waits
	 * for mesh_on_tx_done before the next; transmit must not call it. */
	int (*transmit)(void *ctx, const uint8_t *frame, size_t len);
	void *ctx;
	/* Whether the channel is busy now: 1 busy, 0 clear, ERR_AGAIN asked
	 * and the answer is not in yet (ask again after the radio's next input
	 * or a millisecond).  NULL: the radio cannot tell (mesh_sense says clear). */
	int (*sense)(void *ctx);
};

struct mesh_stats {
	uint32_t recv, sent; /* frames */
	uint32_t flood_tx, direct_tx, flood_rx, direct_rx;
	uint32_t dup_flood, dup_direct;
	uint32_t forwarded;
	uint64_t tx_air_ms, rx_air_ms;
	uint32_t tx_failed;
	uint32_t queue_full;    /* packets dropped because the queue was full */
	uint32_t bad_frame[16]; /* by -error code of pkt_decode */
	uint32_t bad_payload;   /* under the per-type minimum */
	uint32_t bad_mac;       /* no candidate key decrypted */
	uint32_t bad_advert;    /* signature invalid */
	uint32_t not_for_us;
	uint16_t err_flags;
	int last_snr_x4, last_rssi;
};

struct mesh_txq_entry {
	struct pkt pkt;
	uint64_t due_ms;
	uint64_t seq;
	uint8_t pri;
	bool used;
};

struct mesh {
	struct mesh_cfg cfg;
	struct mesh_io io;
	const struct rng *rng;
	struct mesh_ep *eps[MESH_MAX_EPS];
	int n_eps;
	uint8_t dup[MESH_DUP_ENTRIES][PKT_HASH_SIZE];
	unsigned dup_next;
	struct mesh_txq_entry txq[MESH_TXQ_MAX];
	uint64_t txq_seq;
	bool tx_busy;    /* a frame is with the radio */
	uint64_t tx_seq; /* ... this one (txq_entry.seq) */
	struct {
		uint64_t seq, done_ms; /* done_ms UINT64_MAX: the radio failed it */
	} tx_done[MESH_TX_DONE_LOG];
	unsigned tx_done_next;
	uint64_t tx_start_ms;
	uint32_t tx_est_ms;
	uint64_t tx_end_ms; /* the last TxDone (0: none yet) */
	double budget_ms;   /* airtime budget (§6.8) */
	uint64_t budget_update_ms;
	uint64_t next_tx_ms;    /* not before this (budget, busy retry) */
	bool chan_busy;         /* the last transmit answered ERR_AGAIN ... */
	uint64_t busy_since_ms; /* ... since then */
	uint64_t now_ms;
	struct mesh_stats stats;
};

void mesh_init(struct mesh *m, const struct mesh_cfg *cfg, const struct mesh_io *io,
               const struct rng *rng, uint64_t now_ms);
/* Adds an endpoint (not copied: it must outlive the mesh).  ERR_FULL past MESH_MAX_EPS. */
int mesh_add_ep(struct mesh *m, struct mesh_ep *ep);
void mesh_remove_ep(struct mesh *m, struct mesh_ep *ep);

/* Input from the radio. */
void mesh_on_frame(struct mesh *m, const uint8_t *frame, size_t len, int snr_x4, int rssi,
                   uint64_t now_ms);
void mesh_on_tx_done(struct mesh *m, bool ok, uint64_t now_ms);
/* Runs the transmit scheduler. */
void mesh_tick(struct mesh *m, uint64_t now_ms);
/* The next time mesh_tick has work (UINT64_MAX if none). */
uint64_t mesh_next_deadline(const struct mesh *m);
/* Packets queued, due or not. */
unsigned mesh_queue_len(const struct mesh *m);
/* The sequence number of the packet queued last (after a successful send). */
uint64_t mesh_last_queued(const struct mesh *m);
/*
 * Where a queued packet is: MESH_TX_WAITING while it waits in the queue or
 * is with the radio; ERR_OK once the radio reported its TxDone (*done_ms:
 * when; UINT64_MAX if the radio failed it); ERR_NOT_FOUND if unknown (dropped,
 * or more than MESH_TX_DONE_LOG transmissions ago).
 */
#define MESH_TX_WAITING 1
int mesh_tx_state(const struct mesh *m, uint64_t seq, uint64_t *done_ms);
/* When our last frame left the air: while one is with the radio (*busy set)
 * the estimated end of it, else the last TxDone (0 if nothing was sent). */
uint64_t mesh_last_tx_end(const struct mesh *m, bool *busy);
/* The channel as the radio hears it now (mesh_io.sense): 1 busy, 0 clear or
 * unknown, ERR_AGAIN asked and not answered yet. */
int mesh_sense(struct mesh *m);
/* Moves the time a queued packet is due (not yet with the radio); ERR_NOT_FOUND if none. */
int mesh_set_due(struct mesh *m, uint64_t seq, uint64_t due_ms);

/* Duplicate table (§6.6). */
bool mesh_dup_seen(struct mesh *m, const uint8_t hash[PKT_HASH_SIZE]);
void mesh_dup_mark(struct mesh *m, const uint8_t hash[PKT_HASH_SIZE]);
/* Forgets a hash, so the same packet is taken again (MeshTables::clear):
 * for a packet refused on its timing whose genuine twin may still come. */
void mesh_dup_clear(struct mesh *m, const uint8_t hash[PKT_HASH_SIZE]);

/*
 * Sending (§6.5).  The packet's header type and payload must be set; the
 * route bits, transport codes and path are set here.  All mark the packet
 * seen.  scope_key: a 16-byte region key for TRANSPORT_FLOOD, or NULL.
 * mesh_send_direct of a TRACE (tag, auth code and flags in the payload)
 * appends path (path_len bytes of node hashes, not a path_len code) to the
 * payload and starts with an empty path, as Mesh::sendDirect does (§6.4).
 */
int mesh_send_flood(struct mesh *m, struct pkt *p, uint32_t delay_ms, unsigned hash_size,
                    const uint8_t *scope_key);
int mesh_send_direct(struct mesh *m, struct pkt *p, uint8_t path_len, const uint8_t *path,
                     uint32_t delay_ms);
int mesh_send_zero_hop(struct mesh *m, struct pkt *p, uint32_t delay_ms);
/* Sends along out_path, or by flood (hash size 1, unscoped) if it is MESH_NO_PATH. */
int mesh_send_to(struct mesh *m, struct pkt *p, uint8_t out_path_len, const uint8_t *out_path,
                 uint32_t delay_ms);

/* Packet builders (§5). */
/* REQ/RESPONSE/TXT_MSG datagram from `from` to the peer whose key starts with dest_hash. */
int mesh_build_datagram(struct pkt *p, unsigned type, const struct ident *from, uint8_t dest_hash,
                        const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t len);
/* ANON_REQ carrying from's public key. */
int mesh_build_anon(struct pkt *p, const struct ident *from, uint8_t dest_hash,
                    const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t len);
/* PATH (§5.6); extra NULL or extra_len 0 means "no extra": type 0xFF and 4 random bytes. */
int mesh_build_path(struct pkt *p, const struct ident *from, uint8_t dest_hash,
                    const uint8_t secret[CRYPTO_SECRET_SIZE], uint8_t path_len, const uint8_t *path,
                    unsigned extra_type, const uint8_t *extra, size_t extra_len,
                    const struct rng *rng);
int mesh_build_ack(struct pkt *p, const uint8_t code[4], const uint8_t *extra, size_t extra_len);
int mesh_build_multi_ack(struct pkt *p, const uint8_t code[4], unsigned remaining);
/* ADVERT signed by id (§5.8). */
int mesh_build_advert(struct pkt *p, const struct ident *id, uint32_t ts, const uint8_t *app_data,
                      size_t app_len);

/* Retransmit delays (§6.7), drawn from the mesh's rng. */
uint32_t mesh_flood_delay(struct mesh *m, const struct pkt *p);
uint32_t mesh_direct_delay(struct mesh *m, const struct pkt *p);

#endif
