/*
 * radio.h - the radio: one LoRa modem reached over a byte stream, for the
 * daemon, the client and the tools (PROTOCOL.md §10.2, §6.8 half duplex).
 *
 * The modem is MeshCore's kiss_modem firmware (or meshair, the simulated
 * channel, which speaks the same protocol over TCP).  A spec string picks the
 * transport: "tcp:HOST:PORT" or "serial:/dev/ttyUSB0[:BAUD]".  The radio
 * lives in the program's single-threaded poll() loop: it never blocks (except
 * for name resolution of a non-numeric TCP host) and never reads a clock;
 * every entry point that needs the time takes now_ms (a monotonic clock in
 * milliseconds), and radio_send() uses the last now_ms it was given.
 *
 * Loop shape:
 *	n = radio_pollfds(r, fds, max);  timeout = radio_next_deadline(r) - now;
 *	poll(fds, n, timeout);  now = clock();
 *	radio_handle(r, fds, n, now);  radio_tick(r, now);
 *
 * Behaviour:
 *  - The link is kept up forever: a device or server that is absent or goes
 *    away is retried with exponential backoff (250 ms doubling to 10 s).
 *  - On every connection the settings are sent (TXDELAY, Persistence and
 *    SlotTime if configured, SetRadio, SetTxPower, SetSignalReport on) and
 *    then GetVersion.  link(1) is reported when the modem has answered
 *    GetVersion (so all settings were applied), or after a grace period if it
 *    never answers (a KISS modem without MeshCore extensions; a warning is
 *    logged and settings keep being re-sent now and then).
 *  - Half duplex, one frame in flight: radio_send() hands a frame over, the
 *    modem answers TxDone when it has left; tx_done(ok) reports it.  TxBusy
 *    answers are retried; no TxDone within the timeout is a failure.  A frame
 *    in flight when the link drops is re-sent after the reconnect: a frame
 *    accepted by radio_send() always ends in exactly one tx_done().
 *  - The modem is pinged when quiet; a confirmed modem that stops answering
 *    is disconnected and reconnected.  A modem that reports empty radio
 *    settings (it rebooted behind an open serial port) gets them again.
 *  - Noise, malformed frames, other KISS ports, unknown replies: counted in
 *    the stats and dropped.
 *
 * Upcalls run from radio_handle() and radio_tick() only (never from
 * radio_open() or radio_send()).  They may call radio_send(), radio_ready(),
 * radio_query() and the getters, but never radio_close().
 */
#ifndef ROOMD_RADIO_RADIO_H
#define ROOMD_RADIO_RADIO_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/airtime.h"

/* Largest frame the modem transmits (PROTOCOL.md §10.1). */
#define RADIO_MAX_FRAME 255

struct radio;

struct radio_events {
	/* A received frame (1..255 bytes, only valid during the call); snr_x4 and
	 * rssi_dbm come from the modem's RxMeta, 0 and 0 when unknown. */
	void (*rx)(void *ctx, const uint8_t *frame, size_t len, int snr_x4, int rssi_dbm);
	/* The frame handed to radio_send() has left (ok = 1) or failed (ok = 0). */
	void (*tx_done)(void *ctx, int ok);
	/* The modem connection came up (1) or went down (0). */
	void (*link)(void *ctx, int up);
	void *ctx;
};

struct radio_cfg {
	/* Radio parameters applied with SetRadio (preamble is not sent: the modem
	 * derives it from SF).  freq_hz 0 = passive: neither SetRadio nor
	 * SetTxPower is sent, the modem keeps what it has (used by the probe). */
	struct lora_params lp;
	int tx_power_dbm;  /* SetTxPower, -128..127 */
	int txdelay_10ms;  /* KISS TXDELAY, 0..255; MeshCore hosts want 0; -1 = modem default */
	int persistence;   /* KISS Persistence P, 0..255; -1 = modem default (63) */
	int slottime_10ms; /* KISS SlotTime, 0..255; -1 = modem default (10) */
};

/*
 * The default: firmware LoRa parameters (§10.1), 22 dBm, TXDELAY 0,
 * persistence 255 (§10.2: "a MeshCore host should set TXDELAY to 0 and may
 * set persistence to 255"), the modem's SlotTime.  With persistence 255 the
 * modem keys up as soon as it hears the channel clear, as a firmware node
 * does; the modem's default 63 adds 300 ms on average to every
 * transmission, which made a room's catch-up 1.7x its airtime instead of
 * 1.3x (bench/bench_catchup, issue 7).  MeshCore randomises its own timing
 * where it matters (flood retransmit delays, §6.7).
 */
#define RADIO_CFG_DEFAULT ((struct radio_cfg){LORA_PARAMS_DEFAULT, 22, 0, 255, -1})

/* What the modem told us about itself; see `known` for which fields are valid. */
enum radio_known {
	RADIO_KNOWN_VERSION = 1 << 0,
	RADIO_KNOWN_RADIO = 1 << 1,
	RADIO_KNOWN_TX_POWER = 1 << 2,
	RADIO_KNOWN_RSSI = 1 << 3,
	RADIO_KNOWN_BUSY = 1 << 4,
	RADIO_KNOWN_AIRTIME = 1 << 5,
	RADIO_KNOWN_NOISE_FLOOR = 1 << 6,
	RADIO_KNOWN_STATS = 1 << 7,
	RADIO_KNOWN_BATTERY = 1 << 8,
	RADIO_KNOWN_MCU_TEMP = 1 << 9,
	RADIO_KNOWN_NAME = 1 << 10,
	RADIO_KNOWN_SIGNAL_REPORT = 1 << 11,
	RADIO_KNOWN_LAST_RX = 1 << 12, /* last_snr_x4 / last_rssi_dbm */
};

struct radio_modem_info {
	unsigned known; /* enum radio_known bits */
	uint8_t version_major, version_minor;
	struct lora_params radio; /* GetRadio: what the modem runs (preamble 0) */
	int tx_power_dbm;         /* GetTxPower */
	int rssi_dbm;             /* GetCurrentRssi */
	int channel_busy;         /* IsChannelBusy: 0/1 */
	uint32_t busy_answers;    /* IsChannelBusy answers so far */
	uint32_t airtime_ms;      /* GetAirtime for airtime_len bytes */
	uint8_t airtime_len;
	int noise_floor_dbm;                        /* GetNoiseFloor */
	uint32_t rx_packets, tx_packets, rx_errors; /* GetStats (modem's own counters) */
	unsigned battery_mv;                        /* GetBattery */
	int mcu_temp_x10;                           /* GetMCUTemp, tenths of a degree C */
	char name[33];     /* GetDeviceName, NUL-terminated, cut at 32 bytes */
	int signal_report; /* SetSignalReport / GetSignalReport answer */
};

struct radio_stats {
	uint64_t rx_frames;    /* frames delivered to rx() */
	uint64_t rx_with_meta; /* ... of which with RxMeta */
	uint64_t rx_dropped;   /* Data frames empty or over 255 bytes */
	uint64_t tx_frames;    /* TxDone ok */
	uint64_t tx_failures;  /* TxDone failed, or timed out */
	uint64_t tx_timeouts;  /* ... of which no TxDone in time */
	uint64_t tx_busy;      /* TxBusy (F1 07) answers, each retried */
	uint64_t tx_resent;    /* frames re-sent after a reconnect */
	uint64_t link_ups;     /* connections that came up */
	uint64_t reconnects;   /* ... after an earlier one went down */
	uint64_t link_downs;
	uint64_t connect_failures; /* open/connect attempts that failed */
	uint64_t kiss_frames;      /* frames decoded (any type) */
	uint64_t kiss_noise_bytes; /* bytes outside any frame */
	uint64_t kiss_bad_escapes;
	uint64_t kiss_oversized;
	uint64_t unknown_frames; /* other ports, unknown types or replies, stray TxDone/RxMeta */
	uint64_t modem_errors;   /* F1 answers other than TxBusy */
	uint64_t modem_resets;   /* modem lost its settings behind an open link; re-applied */
	uint64_t queue_full;     /* output queue full: query not sent */
	uint64_t sense_misses;   /* radio_sense(): IsChannelBusy errors or no answer in time */
	int last_snr_x4, last_rssi_dbm; /* of the last rx() with RxMeta (RADIO_KNOWN_LAST_RX) */
	struct radio_modem_info modem;
};

/*
 * Creates a radio for spec and starts connecting (on the first
 * radio_tick()/radio_handle(); no upcall happens inside radio_open()).  ev is
 * copied; its callbacks may be NULL.  Returns ERR_CONFIG (logged with the
 * reason) for an unknown scheme, a malformed spec or an out-of-range cfg,
 * ERR_NOMEM; an absent device or server is not an error: it is retried.
 */
int radio_open(struct radio **out, const char *spec, const struct radio_cfg *cfg,
               const struct radio_events *ev, uint64_t now_ms);
/* Closes the connection and frees r (NULL is fine).  No upcalls. */
void radio_close(struct radio *r);

/*
 * Hands one frame (1..255 bytes, copied) to the modem.  ERR_INVAL for an empty
 * frame, ERR_TOO_BIG over 255 bytes, ERR_AGAIN when not radio_ready().
 * On ERR_OK exactly one tx_done() follows, later.
 */
int radio_send(struct radio *r, const uint8_t *frame, size_t len);
/* Link up, no frame in flight and room to send one. */
int radio_ready(const struct radio *r);
/* Link up (link(1) reported and no link(0) since). */
int radio_link_up(const struct radio *r);

/*
 * Sends a read-only SetHardware query whose answer lands in
 * radio_stats()->modem: KISS_HW_GET_RADIO, GET_TX_POWER, GET_CURRENT_RSSI,
 * IS_CHANNEL_BUSY, GET_AIRTIME (data: 1 length byte), GET_NOISE_FLOOR,
 * GET_VERSION, GET_STATS, GET_BATTERY, GET_MCU_TEMP, GET_DEVICE_NAME, PING,
 * GET_SIGNAL_REPORT.  ERR_INVAL for other commands or bad data, ERR_AGAIN if
 * no connection, ERR_FULL if the output queue is full.
 */
int radio_query(struct radio *r, uint8_t hw_cmd, const uint8_t *data, size_t len);
/* Number of SetHardware requests sent and not yet answered. */
int radio_queries_pending(const struct radio *r);

/* Fills fds (at most max) with what to poll; returns the count (0 when
 * disconnected), or ERR_TOO_BIG if max is too small (1 is always enough). */
int radio_pollfds(struct radio *r, struct pollfd *fds, int max);
/* Processes the poll() results for the fds radio_pollfds() filled. */
void radio_handle(struct radio *r, const struct pollfd *fds, int n, uint64_t now_ms);
/* Earliest time radio_tick() has work (reconnect, timeouts, held frames,
 * keepalive, pending queries); UINT64_MAX if none; a past time means now. */
uint64_t radio_next_deadline(const struct radio *r);
/* Runs the timers due at now_ms. */
void radio_tick(struct radio *r, uint64_t now_ms);

const struct radio_stats *radio_stats(const struct radio *r);
/* Last IsChannelBusy answer (radio_query(KISS_HW_IS_CHANNEL_BUSY)): 0/1, -1 unknown. */
int radio_channel_busy(const struct radio *r);
/*
 * Listen before talk for the host (the room's pushes, issue 12.2): is the
 * channel busy now?  Asks the modem (IsChannelBusy) and returns ERR_AGAIN
 * until the answer is in (call again after the radio's next input), then 1
 * busy or 0 clear.  0 also when the link is not ready, the query cannot be
 * sent, or no answer came within RADIO_SENSE_WAIT_MS (counted in
 * sense_misses); after RADIO_SENSE_GIVE_UP misses in a row the modem is
 * taken not to know the query and is not asked again (its own CSMA still
 * holds: a frame handed over waits for a clear channel in the modem).
 */
#define RADIO_SENSE_WAIT_MS 100
#define RADIO_SENSE_GIVE_UP 3
int radio_sense(struct radio *r, uint64_t now_ms);
/* The spec given to radio_open(), for logs. */
const char *radio_spec(const struct radio *r);

#endif
