/*
 * channel.h - a simulated LoRa channel with a KISS modem on every radio
 * (PROTOCOL.md §6.9 airtime, §10.2 KISS modem, §11 simulated channel).
 *
 * The model is pure: no I/O, no clock, no allocation after chan_new.  Time
 * is a parameter (microseconds on any monotonic scale the caller chooses),
 * randomness comes from an injected struct rng.  A driver calls
 * chan_advance(ch, now) whenever time has passed and sleeps until
 * chan_next_deadline(ch); both meshair (sockets, real time) and in-process
 * simulations (virtual time) drive the same code.
 *
 * Radios.  Each radio has a small integer id (0 .. chan_radio_cap()-1),
 * a unique name and a modem that behaves like MeshCore's kiss_modem: one
 * pending Data frame (a second one gets F1 07), half-duplex p-persistent
 * CSMA with TXDELAY, persistence and slot time (defaults 50, 63, 10), the
 * busy timeout of 1.5 x airtime(255), FullDuplex skipping carrier sense,
 * TxDone after the transmission, RxMeta after each received frame and the
 * SetHardware commands of §10.2 (how it listens before talking depends on
 * its CSMA profile, below).  Crypto sub-commands (01..08) answer
 * F1 03: a simulated modem has no identity.
 *
 * Physics.  A transmission occupies the air for lora_airtime_us() of the
 * sender's parameters.  A receiver hears it if it is attached, up, on the
 * same frequency/bandwidth/SF/CR, and the link sender->receiver is in range
 * and up (the sender up too); it gets the frame when the transmission ends.
 * Carrier sense (IsChannelBusy, CSMA) sees an audible transmission once
 * `detect_symbols` preamble symbols have been on the air.  A receiver that
 * transmits at any time during a frame misses it (half duplex).  Two audible
 * transmissions that overlap at a receiver both fail there, unless one is
 * stronger (RSSI) by capture_db or more: that one survives.  Each link may
 * lose a frame at random (probability `loss`), decided at the end.
 *
 * Outcomes per receiver, worst first: down (receiver, sender or link down,
 * or either radio detached or removed meanwhile), deaf (the receiver transmitted meanwhile),
 * collided, lost (link loss, or the receiver changed its radio settings
 * meanwhile), delivered.  Radios on other settings or without a link in
 * range are not receivers at all.
 *
 * Callbacks run from chan_advance (and host_frame also from
 * chan_modem_input).  They may call any function here except chan_advance
 * and chan_free; frames they get are valid for the duration of the call.
 */
#ifndef ROOMD_SIM_CHANNEL_H
#define ROOMD_SIM_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/airtime.h"
#include "util/rng.h"

#define CHAN_NAME_MAX  32         /* names are 1..31 bytes of [A-Za-z0-9_.:-] */
#define CHAN_MAX_FRAME 255        /* largest LoRa frame (§2.1) */
#define CHAN_NEVER     UINT64_MAX /* "no deadline" */

/* kiss_modem defaults (§10.2). */
#define CHAN_TXDELAY_DEFAULT     50 /* x 10 ms */
#define CHAN_PERSISTENCE_DEFAULT 63 /* transmit when a random byte <= P */
#define CHAN_SLOTTIME_DEFAULT    10 /* x 10 ms */

/*
 * How a radio listens before it talks (its CSMA profile).
 *
 * MODEM: a kiss_modem (§10.2) as above: boots with TXDELAY 50, persistence
 *   63, slot time 10; the host's KISS parameters change them.
 * HOST: the same state machine, but the modem adds nothing of its own: it
 *   boots with TXDELAY 0, persistence 255, slot time 0, and only what the
 *   host's KISS parameters say applies.
 * FIRMWARE: a MeshCore node driving its own radio, as upstream
 *   Dispatcher::checkSend: a frame goes out at once if the channel is
 *   clear; while it is busy the node looks again after
 *   CHAN_FW_RETRY_MS x 1, 2 or 3 at random (Mesh::getCADFailRetryDelay:
 *   nextInt(1, 4) * 120) and, once the channel has been busy for more than
 *   CHAN_FW_BUSY_MAX_MS (getCADFailMaxDuration), transmits anyway.  No
 *   TXDELAY, no persistence draw; KISS TXDELAY/Persistence/SlotTime/
 *   FullDuplex are stored (GetRadio-like bookkeeping) but not used.
 */
enum chan_csma { CHAN_CSMA_MODEM = 0, CHAN_CSMA_HOST, CHAN_CSMA_FIRMWARE };
#define CHAN_CSMA_COUNT     3
#define CHAN_FW_RETRY_MS    120
#define CHAN_FW_BUSY_MAX_MS 4000

/* "modem", "host", "firmware". */
const char *chan_csma_name(enum chan_csma c);
/* The profile called s, or -1. */
int chan_csma_parse(const char *s);

/* One direction of a link. */
struct chan_link {
	int16_t snr_x4; /* SNR in quarter dB, as RxMeta carries it */
	int16_t rssi;   /* dBm at the receiver */
	double loss;    /* probability 0..1 that a frame is lost on this link */
};

/* Every receiver hears every sender at 8 dB SNR, -70 dBm, no loss. */
#define CHAN_LINK_DEFAULT ((struct chan_link){32, -70, 0.0})

struct chan_config {
	struct lora_params preset;     /* radio parameters at boot (until SetRadio) */
	struct chan_link default_link; /* used by chan_radio_add(..., link_all) */
	double capture_db;             /* capture margin; default 6 */
	unsigned detect_symbols;       /* symbols before carrier sense sees a frame; default 4 */
	int16_t noise_floor;     /* dBm, GetNoiseFloor and idle GetCurrentRssi; default -120 */
	unsigned max_radios;     /* ids 0..max_radios-1; default 64 */
	const char *device_name; /* GetDeviceName reply; default "meshair" (not copied) */
	enum chan_csma csma;     /* profile of radios added; default CHAN_CSMA_MODEM */
};

/* Fills cfg with the defaults above and LORA_PARAMS_DEFAULT. */
void chan_config_default(struct chan_config *cfg);

enum chan_outcome {
	CHAN_DELIVERED = 0,
	CHAN_COLLIDED,
	CHAN_LOST,
	CHAN_DEAF,
	CHAN_DOWN,
};
#define CHAN_OUTCOMES 5

/* "delivered", "collided", "lost", "deaf", "down". */
const char *chan_outcome_name(enum chan_outcome o);

struct chan_rx_report {
	int radio;
	enum chan_outcome outcome;
	int16_t snr_x4;
	int16_t rssi;
};

/* One finished transmission, for traces.  Pointers valid during the callback. */
struct chan_tx_report {
	int sender;              /* radio id (it may have been removed meanwhile) */
	const char *sender_name; /* the name at the start */
	uint64_t start_us, end_us;
	struct lora_params params;
	const uint8_t *frame;
	size_t len;
	const struct chan_rx_report *rx; /* every receiver in range, by id */
	size_t rx_count;
};

struct chan_ops {
	/*
	 * A KISS frame the modem sends to its host: type byte and unescaped
	 * body.  Received Data frames (type 0x00), RxMeta, TxDone and every
	 * SetHardware reply, in the order a serial line would carry them.
	 */
	void (*host_frame)(void *ctx, int radio, uint8_t type, const uint8_t *data, size_t len);
	/* The same events, decoded, for in-process users (any may be NULL). */
	void (*rx)(void *ctx, int radio, const uint8_t *frame, size_t len, int snr_x4, int rssi);
	void (*tx_done)(void *ctx, int radio, bool ok);
	/* The end of every transmission, before its deliveries and TxDone. */
	void (*tx_report)(void *ctx, const struct chan_tx_report *rep);
	void *ctx;
};

/* Counters per radio (chan_stats_reset clears them; the modem's own GetStats
 * counters are separate and cleared only by a reboot or re-attach). */
struct chan_radio_stats {
	uint32_t tx; /* transmissions finished */
	uint64_t tx_airtime_us;
	uint32_t rx[CHAN_OUTCOMES]; /* receptions by outcome */
	uint32_t tx_busy_rejects;   /* Data frames refused with F1 07 */
	uint32_t csma_slots;        /* slot-time waits after losing the persistence draw */
	uint32_t busy_timeouts;     /* sent anyway after 1.5 x airtime(255) of busy channel
	                               (firmware: after CHAN_FW_BUSY_MAX_MS) */
	uint32_t fw_retries;        /* firmware: looked again 120/240/360 ms after busy */
};

struct chan_stats {
	uint32_t tx; /* transmissions finished */
	uint64_t airtime_us;
	uint32_t tx_collided;       /* transmissions that collided at one receiver or more */
	uint32_t rx[CHAN_OUTCOMES]; /* receptions by outcome, all radios */
};

enum chan_tx_state {
	CHAN_TX_IDLE = 0,
	CHAN_TX_WAIT_CLEAR, /* listening before talking */
	CHAN_TX_SLOT_WAIT,  /* lost the persistence draw */
	CHAN_TX_DELAY,      /* TXDELAY before keying up */
	CHAN_TX_SENDING,
};

/* "idle", "wait_clear", "slot_wait", "txdelay", "sending". */
const char *chan_tx_state_name(enum chan_tx_state s);

/* A snapshot of one radio, for control interfaces. */
struct chan_radio_info {
	const char *name;
	bool attached, up, busy, on_air;
	enum chan_tx_state state;
	struct lora_params params; /* effective (preset until a valid SetRadio) */
	uint8_t txdelay, persistence, slottime, fullduplex, tx_power;
	bool signal_report;
	enum chan_csma csma;
};

/*
 * Creates a channel (the one allocation; ERR-free: NULL only when out of
 * memory, cfg->max_radios is 0 or over 4096, or cfg->csma is unknown).
 * rng is not copied and must outlive the channel; ops is copied.  now_us is
 * the start time.
 */
struct chan *chan_new(const struct chan_config *cfg, const struct chan_ops *ops,
                      const struct rng *rng, uint64_t now_us);
void chan_free(struct chan *ch);

/*
 * Adds a radio, attached and up, its modem freshly booted.  With link_all
 * it hears and is heard by every radio present (default_link both ways);
 * radios added later with link_all link to it as well.  Without, it has no
 * links until chan_link_set.  Returns the id, ERR_INVAL for a bad or
 * duplicate name, ERR_FULL when no id is free.
 */
int chan_radio_add(struct chan *ch, const char *name, bool link_all, void *user);
/*
 * Removes a radio.  A frame it has on the air is cut (its receivers see it
 * "down"; its id is free again at the frame's planned end); it leaves the
 * receiver lists of frames on the air.
 */
void chan_radio_remove(struct chan *ch, int id);
/* The id of the radio called name, or ERR_NOT_FOUND. */
int chan_radio_find(const struct chan *ch, const char *name);
unsigned chan_radio_cap(const struct chan *ch);
bool chan_radio_exists(const struct chan *ch, int id);
const char *chan_radio_name(const struct chan *ch, int id);
void *chan_radio_user(const struct chan *ch, int id);
int chan_radio_info(const struct chan *ch, int id, struct chan_radio_info *out);

/*
 * Sets a radio's CSMA profile (it stays across reboots and re-attaches).
 * Its CSMA parameters become those a modem of that profile boots with.
 * ERR_NOT_FOUND, ERR_INVAL for an unknown profile, else ERR_OK.
 */
int chan_radio_set_csma(struct chan *ch, int id, enum chan_csma c);

/*
 * Plugs the modem in or out.  Detached, a radio neither hears nor is heard
 * and ignores input; attaching boots its modem afresh (defaults, GetRadio
 * zeros).  A frame on the air when it is unplugged is cut: receivers see it
 * "down", no TxDone, and the radio sends nothing new before its planned end.
 */
int chan_radio_attach(struct chan *ch, int id, bool attached);
/* Administrative state: a radio that is down neither hears nor is heard; its
 * modem keeps working (it transmits into the void and gets TxDone). */
int chan_radio_set_up(struct chan *ch, int id, bool up);

/* Puts `to` in range of `from` (one direction) with these parameters, up. */
int chan_link_set(struct chan *ch, int from, int to, const struct chan_link *l);
/* Takes `to` out of range of `from`. */
int chan_link_clear(struct chan *ch, int from, int to);
/* Administrative state of an existing link; ERR_NOT_FOUND if not in range. */
int chan_link_set_up(struct chan *ch, int from, int to, bool up);
/* ERR_NOT_FOUND if `to` is not in range of `from`; up may be NULL. */
int chan_link_get(const struct chan *ch, int from, int to, struct chan_link *out, bool *up);

/*
 * One decoded KISS frame from the host of radio id, at chan_now(): the whole
 * type byte and the unescaped body (kiss_frame_cb's arguments).  Replies go
 * out through host_frame before this returns; a transmission it queues
 * starts from chan_advance (chan_next_deadline tells when).  Returns ERR_OK,
 * ERR_NOT_FOUND for no such radio, ERR_CLOSED if it is detached.
 */
int chan_modem_input(struct chan *ch, int id, uint8_t type, const uint8_t *data, size_t len);
/*
 * Queues a frame as a Data frame would, for in-process users: ERR_AGAIN if
 * one is pending (nothing sent to the host), ERR_INVAL for len 0 or over 255.
 */
int chan_radio_send(struct chan *ch, int id, const uint8_t *frame, size_t len);
/* IsChannelBusy: an audible, detected transmission at this radio now. */
bool chan_radio_busy(const struct chan *ch, int id);
/* A Data frame is pending (queued, waiting or on the air). */
bool chan_radio_tx_pending(const struct chan *ch, int id);

/* Processes every event due at or before now_us, in time order. */
void chan_advance(struct chan *ch, uint64_t now_us);
/* The time of the next event, CHAN_NEVER if none; may be <= chan_now(). */
uint64_t chan_next_deadline(const struct chan *ch);
uint64_t chan_now(const struct chan *ch);

int chan_radio_stats(const struct chan *ch, int id, struct chan_radio_stats *out);
void chan_stats(const struct chan *ch, struct chan_stats *out);
void chan_stats_reset(struct chan *ch);

#endif
