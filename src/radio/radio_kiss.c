/*
 * radio_kiss.c - the KISS host side of MeshCore's kiss_modem (PROTOCOL.md
 * §10.2) over any byte-stream transport of radio_transport.h; implements
 * radio.h.
 *
 * Invariants:
 *  - At most one Data frame is in flight (the modem accepts the next only
 *    after its TxDone, §10.2; half duplex, §6.8).  A frame handed over ends
 *    in exactly one tx_done(): TxDone, a TxDone timeout, or a failed TxBusy
 *    retry window.  Across a link drop it waits (TX_SUSPENDED) and is sent
 *    again once the new connection is up.
 *  - SetHardware answers come back in request order (the modem handles one
 *    command at a time), so a FIFO of requests attributes each F0/F1/8x
 *    answer to its request.  Answers whose request was lost are skipped.
 *    TxDone (F8) and RxMeta (F9) are unsolicited.
 *  - A received Data frame is held until the next frame (attach it if it is
 *    RxMeta) or RX_META_WAIT_MS, whichever comes first.
 *  - Upcalls happen only from radio_handle()/radio_tick().  I/O errors found
 *    elsewhere (radio_send) only set `broken`; the link is torn down at the
 *    next safe point, so no upcall ever runs inside another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kiss.h"
#include "radio/radio.h"
#include "radio/radio_transport.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"

#define SUB "radio"

#define BACKOFF_MIN_MS     250
#define BACKOFF_MAX_MS     10000
#define CONNECT_TIMEOUT_MS 5000
/* Settings are re-sent while the modem has not answered GetVersion: the
 * board may be rebooting because opening the port toggled DTR/RTS. */
#define SETTINGS_RETRY_MS     1000
#define SETTINGS_RETRY_MAX_MS 30000
/* Without an answer by then, go up anyway: a KISS modem without extensions. */
#define CONFIRM_GRACE_MS      5000
#define KEEPALIVE_MS          30000
#define REPLY_TIMEOUT_MS      10000
#define RX_META_WAIT_MS       50
#define TX_BUSY_RETRY_MS      100
#define TX_SLACK_MS           2000
#define TX_DEFAULT_TXDELAY_MS 500 /* the modem's default TXDELAY of 50 */

#define OUTQ_CAP         4096
#define PENDING_MAX      32
#define READ_CHUNK       2048
#define READS_PER_HANDLE 16
#define SPEC_MAX         300
/* An encoded SetHardware request or Data frame: everything escaped, type, two FENDs. */
#define ENCODED_MAX (2 * (RADIO_MAX_FRAME + 1) + 3)

static const struct radio_transport_ops *const transports[] = {
    &radio_tcp_ops,
    &radio_serial_ops,
};

enum link_state {
	LINK_DOWN,       /* waiting for retry_at */
	LINK_CONNECTING, /* TCP connect in progress */
	LINK_CONFIRMING, /* connected, settings sent, waiting for GetVersion's answer */
	LINK_UP,         /* link(1) reported */
};

enum tx_state {
	TX_IDLE,
	TX_SENT,      /* Data written, waiting for TxDone */
	TX_BUSY,      /* modem said TxBusy, re-send at tx_retry_at */
	TX_SUSPENDED, /* link went down with the frame in flight */
};

struct pending {
	uint8_t cmd;
	uint8_t arg; /* GetAirtime's length */
	uint64_t sent_at;
};

struct radio {
	struct radio_transport t;
	char spec[SPEC_MAX];
	struct radio_cfg cfg;
	struct radio_events ev;
	uint64_t now;

	enum link_state state;
	int broken;
	char broken_why[200];
	uint64_t retry_at;
	uint32_t backoff_ms;
	uint64_t connect_deadline;
	int ever_up;
	char last_fail[200]; /* to log a repeated connect failure only once */

	int confirmed;
	int radio_rejected;
	uint64_t settings_at;
	uint32_t settings_every;
	uint64_t grace_at;
	uint64_t keepalive_at;
	uint64_t last_frame_at;

	struct pending pend[PENDING_MAX];
	unsigned pend_head, pend_n;

	uint8_t outq[OUTQ_CAP];
	size_t outq_len;

	struct kiss_dec dec;
	uint64_t base_noise, base_bad_esc, base_oversized, base_frames;

	enum tx_state tx;
	uint8_t tx_frame[RADIO_MAX_FRAME];
	size_t tx_len;
	uint64_t tx_deadline;
	uint64_t tx_retry_at;
	uint64_t busy_until; /* 0 = no TxBusy for this frame yet */

	int held;
	uint8_t held_frame[RADIO_MAX_FRAME];
	size_t held_len;
	uint64_t held_until;

	/* radio_sense(): an IsChannelBusy asked at sense_at (sense_asked), the
	 * answers counted before it, the queries in a row that got none */
	bool sense_asked;
	uint64_t sense_at;
	uint32_t sense_base;
	unsigned sense_misses;

	struct radio_stats st;
};

/* The code the modem answers a request with (§10.2 table). */
static uint8_t hw_expected(uint8_t cmd)
{
	switch (cmd) {
	case KISS_HW_SET_RADIO:
	case KISS_HW_SET_TX_POWER:
	case KISS_HW_REBOOT: return KISS_HW_OK;
	case KISS_HW_SET_SIGNAL_REPORT: return 0x9A; /* shares GetSignalReport's answer */
	}
	return (uint8_t)(cmd | 0x80);
}

/* Parameters for airtime estimates: the configured ones, else the firmware's. */
static struct lora_params tx_params(const struct radio *r)
{
	if (r->cfg.lp.sf >= 5 && r->cfg.lp.sf <= 12 && r->cfg.lp.bw_hz)
		return r->cfg.lp;
	if ((r->st.modem.known & RADIO_KNOWN_RADIO) && r->st.modem.radio.sf >= 5 &&
	    r->st.modem.radio.sf <= 12 && r->st.modem.radio.bw_hz)
		return r->st.modem.radio;
	return LORA_PARAMS_DEFAULT;
}

/*
 * How long the modem may take to send a frame: TXDELAY, up to 1.5 x
 * airtime(255) of channel-busy wait before it transmits anyway, 1.5 x
 * airtime(len) before it gives up on the transmission (§10.2), plus slack
 * for persistence slots and the serial line.
 */
static uint64_t tx_timeout_ms(const struct radio *r, size_t len)
{
	struct lora_params lp = tx_params(r);
	uint64_t txdelay =
	    r->cfg.txdelay_10ms >= 0 ? (uint64_t)r->cfg.txdelay_10ms * 10 : TX_DEFAULT_TXDELAY_MS;
	return txdelay + (uint64_t)lora_airtime_ms(&lp, RADIO_MAX_FRAME) * 3 / 2 +
	       (uint64_t)lora_airtime_ms(&lp, len) * 3 / 2 + TX_SLACK_MS;
}

/* ---- output queue ---------------------------------------------------- */

static int connected(const struct radio *r)
{
	return r->state == LINK_CONFIRMING || r->state == LINK_UP;
}

static void set_broken(struct radio *r, const char *why)
{
	if (r->broken)
		return;
	r->broken = 1;
	snprintf(r->broken_why, sizeof(r->broken_why), "%s", why);
}

static void outq_flush(struct radio *r)
{
	while (r->outq_len > 0 && !r->broken && connected(r)) {
		int n = r->t.ops->write(&r->t, r->outq, r->outq_len);
		if (n == ERR_AGAIN)
			break;
		if (n < 0) {
			set_broken(r, r->t.why);
			break;
		}
		if (n == 0)
			break;
		memmove(r->outq, r->outq + n, r->outq_len - (size_t)n);
		r->outq_len -= (size_t)n;
	}
}

static size_t outq_room(const struct radio *r)
{
	return OUTQ_CAP - r->outq_len;
}

/* Queues one KISS frame; ERR_FULL if it does not fit (nothing queued). */
static int outq_put(struct radio *r, uint8_t type, const uint8_t *data, size_t len)
{
	uint8_t enc[ENCODED_MAX];
	int n = kiss_encode(type, data, len, enc, sizeof(enc));
	if (n < 0)
		return n;
	if ((size_t)n > outq_room(r))
		return ERR_FULL;
	log_hex(SUB, "tx kiss", enc, (size_t)n);
	memcpy(r->outq + r->outq_len, enc, (size_t)n);
	r->outq_len += (size_t)n;
	return ERR_OK;
}

static int outq_put_byte(struct radio *r, uint8_t type, uint8_t v)
{
	return outq_put(r, type, &v, 1);
}

/* Queues a SetHardware request and remembers it for its answer. */
static int hw_request(struct radio *r, uint8_t cmd, const uint8_t *data, size_t len)
{
	uint8_t body[1 + RADIO_MAX_FRAME];
	if (len > RADIO_MAX_FRAME)
		return ERR_TOO_BIG;
	body[0] = cmd;
	if (len)
		memcpy(body + 1, data, len);
	int rc = outq_put(r, KISS_SETHARDWARE, body, len + 1);
	if (rc < 0) {
		r->st.queue_full++;
		return rc;
	}
	if (r->pend_n == PENDING_MAX) {
		/* forget the oldest: its answer will be skipped as unsolicited */
		r->pend_head = (r->pend_head + 1) % PENDING_MAX;
		r->pend_n--;
	}
	struct pending *p = &r->pend[(r->pend_head + r->pend_n) % PENDING_MAX];
	p->cmd = cmd;
	p->arg = len ? data[0] : 0;
	p->sent_at = r->now;
	r->pend_n++;
	return ERR_OK;
}

static struct pending *pend_at(struct radio *r, unsigned i)
{
	return &r->pend[(r->pend_head + i) % PENDING_MAX];
}

static void pend_pop(struct radio *r, unsigned count)
{
	r->pend_head = (r->pend_head + count) % PENDING_MAX;
	r->pend_n -= count;
}

/* ---- settings ---------------------------------------------------------- */

static void send_settings(struct radio *r)
{
	const struct radio_cfg *c = &r->cfg;

	if (c->txdelay_10ms >= 0)
		(void)outq_put_byte(r, KISS_TXDELAY, (uint8_t)c->txdelay_10ms);
	if (c->persistence >= 0)
		(void)outq_put_byte(r, KISS_PERSISTENCE, (uint8_t)c->persistence);
	if (c->slottime_10ms >= 0)
		(void)outq_put_byte(r, KISS_SLOTTIME, (uint8_t)c->slottime_10ms);
	if (c->lp.freq_hz) {
		uint8_t sr[10];
		le32_store(sr, c->lp.freq_hz);
		le32_store(sr + 4, c->lp.bw_hz);
		sr[8] = c->lp.sf;
		sr[9] = c->lp.cr;
		(void)hw_request(r, KISS_HW_SET_RADIO, sr, sizeof(sr));
		uint8_t pw = (uint8_t)(int8_t)c->tx_power_dbm;
		(void)hw_request(r, KISS_HW_SET_TX_POWER, &pw, 1);
	}
	uint8_t on = 1;
	(void)hw_request(r, KISS_HW_SET_SIGNAL_REPORT, &on, 1);
	(void)hw_request(r, KISS_HW_GET_VERSION, NULL, 0);
}

/* ---- transmit ---------------------------------------------------------- */

static void tx_put(struct radio *r)
{
	/* radio_send() checked the room; after a reconnect the queue held only
	 * the settings, far below OUTQ_CAP - ENCODED_MAX */
	if (outq_put(r, KISS_DATA, r->tx_frame, r->tx_len) < 0) {
		set_broken(r, "output queue full");
		return;
	}
	r->tx = TX_SENT;
	r->tx_deadline = r->now + tx_timeout_ms(r, r->tx_len);
}

static void tx_complete(struct radio *r, int ok, const char *why)
{
	r->tx = TX_IDLE;
	r->busy_until = 0;
	if (ok) {
		r->st.tx_frames++;
	} else {
		r->st.tx_failures++;
		log_debug(SUB, "%s: transmission failed: %s", r->spec, why);
	}
	if (r->ev.tx_done)
		r->ev.tx_done(r->ev.ctx, ok);
}

static void on_tx_done(struct radio *r, int ok)
{
	switch (r->tx) {
	case TX_SENT: tx_complete(r, ok, "modem reported failure"); break;
	case TX_BUSY:
		/* the modem finished an older frame (one we gave up on): it is
		 * free now, so ours can go at once */
		r->st.unknown_frames++;
		tx_put(r);
		break;
	default: r->st.unknown_frames++; break;
	}
}

static void on_tx_busy(struct radio *r)
{
	r->st.tx_busy++;
	if (r->tx != TX_SENT)
		return;
	if (r->busy_until == 0) {
		/* whatever the modem is sending ends within its own timeouts */
		r->busy_until = r->now + tx_timeout_ms(r, RADIO_MAX_FRAME);
	}
	if (r->now >= r->busy_until) {
		tx_complete(r, 0, "modem stayed busy");
		return;
	}
	r->tx = TX_BUSY;
	r->tx_retry_at = r->now + TX_BUSY_RETRY_MS;
}

/* ---- receive ----------------------------------------------------------- */

static void deliver(struct radio *r, const uint8_t *frame, size_t len, int meta, int snr_x4,
                    int rssi)
{
	r->st.rx_frames++;
	if (meta) {
		r->st.rx_with_meta++;
		r->st.last_snr_x4 = snr_x4;
		r->st.last_rssi_dbm = rssi;
		r->st.modem.known |= RADIO_KNOWN_LAST_RX;
	} else {
		snr_x4 = 0;
		rssi = 0;
	}
	if (r->ev.rx)
		r->ev.rx(r->ev.ctx, frame, len, snr_x4, rssi);
}

static void flush_held(struct radio *r, int meta, int snr_x4, int rssi)
{
	if (!r->held)
		return;
	r->held = 0;
	deliver(r, r->held_frame, r->held_len, meta, snr_x4, rssi);
}

static void on_data(struct radio *r, const uint8_t *data, size_t len)
{
	if (len == 0 || len > RADIO_MAX_FRAME) {
		r->st.rx_dropped++;
		return;
	}
	flush_held(r, 0, 0, 0);
	memcpy(r->held_frame, data, len);
	r->held_len = len;
	r->held = 1;
	r->held_until = r->now + RX_META_WAIT_MS;
}

/* ---- SetHardware answers ----------------------------------------------- */

static void check_radio(struct radio *r)
{
	const struct lora_params *m = &r->st.modem.radio, *c = &r->cfg.lp;

	if (!c->freq_hz || r->radio_rejected || !r->confirmed)
		return;
	if (m->freq_hz == c->freq_hz && m->bw_hz == c->bw_hz && m->sf == c->sf && m->cr == c->cr)
		return;
	r->st.modem_resets++;
	if (!m->freq_hz && !m->bw_hz && !m->sf && !m->cr)
		log_warn(SUB, "%s: the modem has lost its radio settings (rebooted?): re-applying",
		         r->spec);
	else
		log_warn(SUB,
		         "%s: the modem runs %u Hz BW %u SF%u CR%u, not the configured radio: "
		         "re-applying",
		         r->spec, m->freq_hz, m->bw_hz, m->sf, m->cr);
	send_settings(r);
}

static int set_radio_pending(struct radio *r)
{
	for (unsigned i = 0; i < r->pend_n; i++)
		if (pend_at(r, i)->cmd == KISS_HW_SET_RADIO)
			return 1;
	return 0;
}

static void go_up(struct radio *r);

/*
 * An answer that only reports a value of the modem (no request waits on it):
 * stored in *m.  False if the answer is malformed or its code unknown.
 */
static bool on_info(struct radio_modem_info *m, uint8_t code, uint8_t arg, struct rbuf *b)
{
	uint8_t u8 = 0;
	uint16_t u16 = 0;
	uint32_t a = 0, c = 0, d = 0;

	switch (code) {
	case 0x8C:
		if (rbuf_get_u8(b, &u8))
			return false;
		m->tx_power_dbm = (int8_t)u8;
		m->known |= RADIO_KNOWN_TX_POWER;
		return true;
	case 0x8D:
		if (rbuf_get_u8(b, &u8))
			return false;
		m->rssi_dbm = (int8_t)u8;
		m->known |= RADIO_KNOWN_RSSI;
		return true;
	case 0x8E:
		if (rbuf_get_u8(b, &u8))
			return false;
		m->channel_busy = u8 != 0;
		m->known |= RADIO_KNOWN_BUSY;
		m->busy_answers++;
		return true;
	case 0x8F:
		if (rbuf_get_le32(b, &a))
			return false;
		m->airtime_ms = a;
		m->airtime_len = arg;
		m->known |= RADIO_KNOWN_AIRTIME;
		return true;
	case 0x90:
		if (rbuf_get_le16(b, &u16))
			return false;
		m->noise_floor_dbm = (int16_t)u16;
		m->known |= RADIO_KNOWN_NOISE_FLOOR;
		return true;
	case 0x92:
		if (rbuf_get_le32(b, &a) || rbuf_get_le32(b, &c) || rbuf_get_le32(b, &d))
			return false;
		m->rx_packets = a;
		m->tx_packets = c;
		m->rx_errors = d;
		m->known |= RADIO_KNOWN_STATS;
		return true;
	case 0x93:
		if (rbuf_get_le16(b, &u16))
			return false;
		m->battery_mv = u16;
		m->known |= RADIO_KNOWN_BATTERY;
		return true;
	case 0x94:
		if (rbuf_get_le16(b, &u16))
			return false;
		m->mcu_temp_x10 = (int16_t)u16;
		m->known |= RADIO_KNOWN_MCU_TEMP;
		return true;
	case 0x96: {
		size_t n = rbuf_left(b);
		if (n > sizeof(m->name) - 1)
			n = sizeof(m->name) - 1;
		memcpy(m->name, rbuf_cur(b), n);
		m->name[n] = 0;
		m->known |= RADIO_KNOWN_NAME;
		return true;
	}
	case 0x97: return true;
	case 0x9A:
		if (rbuf_get_u8(b, &u8))
			return false;
		m->signal_report = u8 != 0;
		m->known |= RADIO_KNOWN_SIGNAL_REPORT;
		return true;
	}
	return false;
}

/* An answer, attributed to its request `cmd` (0 if unsolicited). */
static void on_answer(struct radio *r, uint8_t code, uint8_t cmd, uint8_t arg, struct rbuf *b)
{
	struct radio_modem_info *m = &r->st.modem;
	uint32_t a = 0, c = 0;

	switch (code) {
	case KISS_HW_OK:
		if (cmd == KISS_HW_SET_RADIO)
			r->radio_rejected = 0;
		return;
	case 0x8B:
		if (rbuf_get_le32(b, &a) || rbuf_get_le32(b, &c) || rbuf_left(b) < 2)
			goto bad;
		m->radio = (struct lora_params){a, c, rbuf_cur(b)[0], rbuf_cur(b)[1], 0};
		m->known |= RADIO_KNOWN_RADIO;
		/* only our own question, asked after our SetRadio was answered */
		if (cmd == KISS_HW_GET_RADIO && !set_radio_pending(r))
			check_radio(r);
		return;
	case 0x91:
		if (rbuf_get_u8(b, &m->version_major) || rbuf_get_u8(b, &m->version_minor))
			goto bad;
		m->known |= RADIO_KNOWN_VERSION;
		if (cmd == KISS_HW_GET_VERSION && !r->confirmed) {
			/* answers come in order: every setting before it is applied */
			r->confirmed = 1;
			if (r->state == LINK_CONFIRMING)
				go_up(r);
			else
				log_info(SUB, "%s: modem answered at last (kiss_modem v%u.%u)",
				         r->spec, m->version_major, m->version_minor);
		}
		return;
	default:
		if (on_info(m, code, arg, b))
			return;
	}
bad:
	r->st.unknown_frames++;
}

static void on_error(struct radio *r, uint8_t cmd, uint8_t code)
{
	r->st.modem_errors++;
	switch (cmd) {
	case KISS_HW_SET_RADIO:
		r->radio_rejected = 1;
		log_err(SUB,
		        "%s: the modem refused SetRadio (%s): check frequency %u Hz, bandwidth %u "
		        "Hz, SF %u, CR %u",
		        r->spec, kiss_err_name(code), r->cfg.lp.freq_hz, r->cfg.lp.bw_hz,
		        r->cfg.lp.sf, r->cfg.lp.cr);
		break;
	case KISS_HW_SET_TX_POWER:
		log_err(SUB, "%s: the modem refused SetTxPower %d dBm (%s)", r->spec,
		        r->cfg.tx_power_dbm, kiss_err_name(code));
		break;
	default:
		log_debug(SUB, "%s: modem answered %s with error %u (%s)", r->spec,
		          kiss_hw_name(cmd), code, kiss_err_name(code));
		break;
	}
}

static int is_answer_code(uint8_t code)
{
	return code == KISS_HW_OK || (code >= 0x81 && code <= 0x9A);
}

static void on_sethardware(struct radio *r, const uint8_t *data, size_t len)
{
	struct rbuf b;
	uint8_t code;

	rbuf_init(&b, data, len);
	if (rbuf_get_u8(&b, &code)) {
		r->st.unknown_frames++;
		return;
	}
	if (code == KISS_HW_RX_META) {
		if (!r->held || rbuf_left(&b) < 2) {
			r->st.unknown_frames++;
			return;
		}
		flush_held(r, 1, (int8_t)rbuf_cur(&b)[0], (int8_t)rbuf_cur(&b)[1]);
		return;
	}
	flush_held(r, 0, 0, 0);
	if (code == KISS_HW_TX_DONE) {
		if (rbuf_get_u8(&b, &code)) {
			r->st.unknown_frames++;
			return;
		}
		on_tx_done(r, code == 0x01);
		return;
	}
	if (code == KISS_HW_ERROR) {
		uint8_t e;
		if (rbuf_get_u8(&b, &e)) {
			r->st.unknown_frames++;
			return;
		}
		/* Data frames get no answer but this one */
		if (e == KISS_ERR_TX_BUSY && r->tx == TX_SENT) {
			on_tx_busy(r);
			return;
		}
		if (r->pend_n == 0) {
			r->st.modem_errors++;
			return;
		}
		uint8_t cmd = pend_at(r, 0)->cmd;
		pend_pop(r, 1);
		on_error(r, cmd, e);
		return;
	}
	if (!is_answer_code(code)) {
		r->st.unknown_frames++;
		return;
	}
	for (unsigned i = 0; i < r->pend_n; i++) {
		struct pending p = *pend_at(r, i);
		if (hw_expected(p.cmd) != code)
			continue;
		/* earlier requests whose answers never came are given up */
		pend_pop(r, i + 1);
		on_answer(r, code, p.cmd, p.arg, &b);
		return;
	}
	on_answer(r, code, 0, 0, &b);
}

static void on_frame(void *ctx, uint8_t type, const uint8_t *data, size_t len)
{
	struct radio *r = ctx;

	r->last_frame_at = r->now;
	if ((type >> 4) != 0) {
		/* other KISS ports (and the 0xFF "return" command) are not ours */
		flush_held(r, 0, 0, 0);
		r->st.unknown_frames++;
		return;
	}
	switch (type & 0x0F) {
	case KISS_DATA: on_data(r, data, len); break;
	case KISS_SETHARDWARE: on_sethardware(r, data, len); break;
	default:
		flush_held(r, 0, 0, 0);
		r->st.unknown_frames++;
		break;
	}
}

static void sync_dec_stats(struct radio *r)
{
	r->st.kiss_frames = r->base_frames + r->dec.frames;
	r->st.kiss_noise_bytes = r->base_noise + r->dec.noise_bytes;
	r->st.kiss_bad_escapes = r->base_bad_esc + r->dec.bad_escapes;
	r->st.kiss_oversized = r->base_oversized + r->dec.oversized;
}

/* A new connection starts with a fresh decoder: a partial frame from the old
 * one must not be glued to the first bytes of the new one. */
static void dec_reset(struct radio *r)
{
	sync_dec_stats(r);
	r->base_frames = r->st.kiss_frames;
	r->base_noise = r->st.kiss_noise_bytes;
	r->base_bad_esc = r->st.kiss_bad_escapes;
	r->base_oversized = r->st.kiss_oversized;
	kiss_dec_init(&r->dec, on_frame, r);
}

/* ---- connection ---------------------------------------------------------- */

static void schedule_retry(struct radio *r)
{
	r->state = LINK_DOWN;
	r->retry_at = r->now + r->backoff_ms;
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void connect_failed(struct radio *r)
{
	r->t.ops->close(&r->t);
	r->st.connect_failures++;
	if (strcmp(r->last_fail, r->t.why) != 0) {
		log_warn(SUB, "%s: %s; retrying", r->spec, r->t.why);
		snprintf(r->last_fail, sizeof(r->last_fail), "%s", r->t.why);
	} else {
		log_debug(SUB, "%s: %s; retrying", r->spec, r->t.why);
	}
	schedule_retry(r);
}

static void on_connected(struct radio *r)
{
	log_info(SUB, "%s: connected, configuring the modem", r->spec);
	r->state = LINK_CONFIRMING;
	r->broken = 0;
	r->confirmed = 0;
	r->radio_rejected = 0;
	r->outq_len = 0;
	r->pend_n = 0;
	r->pend_head = 0;
	r->last_frame_at = r->now;
	dec_reset(r);
	send_settings(r);
	r->settings_every = SETTINGS_RETRY_MS;
	r->settings_at = r->now + r->settings_every;
	r->grace_at = r->now + CONFIRM_GRACE_MS;
}

static void try_connect(struct radio *r)
{
	int in_progress = 0;

	r->t.why[0] = 0;
	if (r->t.ops->open(&r->t, &in_progress) < 0) {
		connect_failed(r);
		return;
	}
	if (in_progress) {
		r->state = LINK_CONNECTING;
		r->connect_deadline = r->now + CONNECT_TIMEOUT_MS;
		return;
	}
	on_connected(r);
}

static void go_up(struct radio *r)
{
	const struct radio_modem_info *m = &r->st.modem;

	r->state = LINK_UP;
	r->backoff_ms = BACKOFF_MIN_MS;
	r->last_fail[0] = 0;
	r->st.link_ups++;
	if (r->ever_up)
		r->st.reconnects++;
	r->ever_up = 1;
	r->keepalive_at = r->now + KEEPALIVE_MS;
	if (r->confirmed)
		log_info(SUB, "%s: modem up (kiss_modem v%u.%u)", r->spec, m->version_major,
		         m->version_minor);
	else
		log_warn(SUB,
		         "%s: no answer to GetVersion: not MeshCore's kiss_modem? Going on without "
		         "modem extensions",
		         r->spec);
	if (r->tx == TX_SUSPENDED) {
		r->st.tx_resent++;
		r->busy_until = 0;
		tx_put(r);
	}
	if (r->ev.link)
		r->ev.link(r->ev.ctx, 1);
}

static void link_down(struct radio *r, const char *why)
{
	int was_up = r->state == LINK_UP;

	/* a complete frame already read is still a frame */
	flush_held(r, 0, 0, 0);
	r->t.ops->close(&r->t);
	r->outq_len = 0;
	r->pend_n = 0;
	r->pend_head = 0;
	r->confirmed = 0;
	r->broken = 0;
	dec_reset(r);
	if (r->tx == TX_SENT || r->tx == TX_BUSY)
		r->tx = TX_SUSPENDED;
	if (was_up) {
		log_warn(SUB, "%s: link down (%s); reconnecting", r->spec, why);
		snprintf(r->last_fail, sizeof(r->last_fail), "%s", why);
	} else {
		/* connected but never up: as good as a failed connect */
		r->st.connect_failures++;
		if (strcmp(r->last_fail, why) != 0) {
			log_warn(SUB,
			         "%s: connection lost before the modem answered (%s); retrying",
			         r->spec, why);
			snprintf(r->last_fail, sizeof(r->last_fail), "%s", why);
		}
	}
	schedule_retry(r);
	if (was_up) {
		r->st.link_downs++;
		if (r->ev.link)
			r->ev.link(r->ev.ctx, 0);
	}
}

/* Tears down a broken link; flushes output.  Run at the end of every entry. */
static void settle(struct radio *r)
{
	outq_flush(r);
	if (r->broken && connected(r))
		link_down(r, r->broken_why);
	r->broken = 0;
}

static void read_input(struct radio *r, short revents)
{
	uint8_t buf[READ_CHUNK];

	for (int i = 0; i < READS_PER_HANDLE && connected(r) && !r->broken; i++) {
		int n = r->t.ops->read(&r->t, buf, sizeof(buf));
		if (n == ERR_AGAIN) {
			if (revents & (POLLHUP | POLLERR))
				set_broken(r, "hang-up");
			return;
		}
		if (n < 0) {
			set_broken(r, r->t.why);
			return;
		}
		if (n == 0) {
			set_broken(r, "end of stream");
			return;
		}
		log_hex(SUB, "rx bytes", buf, (size_t)n);
		kiss_dec_feed(&r->dec, buf, (size_t)n);
		sync_dec_stats(r);
	}
}

/* ---- public ---------------------------------------------------------- */

static int cfg_check(const struct radio_cfg *c)
{
	if (c->txdelay_10ms < -1 || c->txdelay_10ms > 255 || c->persistence < -1 ||
	    c->persistence > 255 || c->slottime_10ms < -1 || c->slottime_10ms > 255) {
		log_err(SUB, "radio: txdelay, persistence and slottime must be 0..255 (or -1)");
		return ERR_CONFIG;
	}
	if (c->lp.freq_hz == 0)
		return ERR_OK;
	if (c->tx_power_dbm < -128 || c->tx_power_dbm > 127) {
		log_err(SUB, "radio: tx power %d dBm is out of range", c->tx_power_dbm);
		return ERR_CONFIG;
	}
	if (c->lp.sf < 5 || c->lp.sf > 12 || c->lp.cr < 5 || c->lp.cr > 8 || c->lp.bw_hz == 0) {
		log_err(SUB,
		        "radio: need SF 5..12, CR 5..8 (4/5..4/8) and a bandwidth (got SF %u, "
		        "CR %u, BW %u Hz)",
		        c->lp.sf, c->lp.cr, c->lp.bw_hz);
		return ERR_CONFIG;
	}
	return ERR_OK;
}

int radio_open(struct radio **out, const char *spec, const struct radio_cfg *cfg,
               const struct radio_events *ev, uint64_t now_ms)
{
	const struct radio_transport_ops *ops = NULL;
	struct radio *r = NULL;
	const char *colon;
	int rc;

	*out = NULL;
	if (!spec || !(colon = strchr(spec, ':')) || strlen(spec) >= SPEC_MAX) {
		log_err(SUB, "radio \"%s\": expected tcp:HOST:PORT or serial:DEVICE[:BAUD]",
		        spec ? spec : "");
		return ERR_CONFIG;
	}
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		size_t n = strlen(transports[i]->scheme);
		if ((size_t)(colon - spec) == n && memcmp(spec, transports[i]->scheme, n) == 0)
			ops = transports[i];
	}
	if (!ops) {
		log_err(SUB,
		        "radio \"%s\": unknown scheme \"%.*s\" (use tcp:HOST:PORT or "
		        "serial:DEVICE[:BAUD])",
		        spec, (int)(colon - spec), spec);
		return ERR_CONFIG;
	}
	if ((rc = cfg_check(cfg)) < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->t.ops = ops;
	r->t.fd = -1;
	if (ops->parse(&r->t, colon + 1) < 0) {
		log_err(SUB, "radio \"%s\": %s", spec, r->t.why);
		rc = ERR_CONFIG;
		goto out;
	}
	snprintf(r->spec, sizeof(r->spec), "%s", spec);
	r->cfg = *cfg;
	if (ev)
		r->ev = *ev;
	r->now = now_ms;
	r->state = LINK_DOWN;
	r->retry_at = now_ms; /* first attempt at the first tick */
	r->backoff_ms = BACKOFF_MIN_MS;
	r->st.modem.channel_busy = -1;
	r->st.modem.signal_report = -1;
	kiss_dec_init(&r->dec, on_frame, r);
	*out = r;
	r = NULL;
	rc = ERR_OK;
out:
	free(r);
	return rc;
}

void radio_close(struct radio *r)
{
	if (!r)
		return;
	r->t.ops->close(&r->t);
	free(r);
}

int radio_link_up(const struct radio *r)
{
	return r->state == LINK_UP;
}

int radio_ready(const struct radio *r)
{
	return r->state == LINK_UP && !r->broken && r->tx == TX_IDLE && outq_room(r) >= ENCODED_MAX;
}

int radio_send(struct radio *r, const uint8_t *frame, size_t len)
{
	if (len == 0)
		return ERR_INVAL;
	if (len > RADIO_MAX_FRAME)
		return ERR_TOO_BIG;
	if (!radio_ready(r))
		return ERR_AGAIN;
	memcpy(r->tx_frame, frame, len);
	r->tx_len = len;
	r->busy_until = 0;
	log_hex(SUB, "tx frame", frame, len);
	tx_put(r);
	outq_flush(r); /* a failure only marks the link broken: settled later */
	return ERR_OK;
}

int radio_query(struct radio *r, uint8_t hw_cmd, const uint8_t *data, size_t len)
{
	switch (hw_cmd) {
	case KISS_HW_GET_AIRTIME:
		if (len != 1 || !data || data[0] == 0)
			return ERR_INVAL;
		break;
	case KISS_HW_GET_RADIO:
	case KISS_HW_GET_TX_POWER:
	case KISS_HW_GET_CURRENT_RSSI:
	case KISS_HW_IS_CHANNEL_BUSY:
	case KISS_HW_GET_NOISE_FLOOR:
	case KISS_HW_GET_VERSION:
	case KISS_HW_GET_STATS:
	case KISS_HW_GET_BATTERY:
	case KISS_HW_GET_MCU_TEMP:
	case KISS_HW_GET_DEVICE_NAME:
	case KISS_HW_PING:
	case KISS_HW_GET_SIGNAL_REPORT:
		if (len != 0)
			return ERR_INVAL;
		break;
	default: return ERR_INVAL;
	}
	if (!connected(r) || r->broken)
		return ERR_AGAIN;
	/* keep room for a Data frame: queries must never block a transmission */
	if (outq_room(r) < ENCODED_MAX + 2 * 3 + 2) {
		r->st.queue_full++;
		return ERR_FULL;
	}
	int rc = hw_request(r, hw_cmd, data, len);
	if (rc == ERR_OK)
		outq_flush(r);
	return rc;
}

int radio_queries_pending(const struct radio *r)
{
	return (int)r->pend_n;
}

int radio_pollfds(struct radio *r, struct pollfd *fds, int max)
{
	if (r->t.fd < 0 || r->state == LINK_DOWN)
		return 0;
	if (max < 1)
		return ERR_TOO_BIG;
	fds[0].fd = r->t.fd;
	fds[0].revents = 0;
	if (r->state == LINK_CONNECTING)
		fds[0].events = POLLOUT;
	else
		fds[0].events = (short)(POLLIN | (r->outq_len ? POLLOUT : 0));
	return 1;
}

void radio_handle(struct radio *r, const struct pollfd *fds, int n, uint64_t now_ms)
{
	r->now = now_ms;
	for (int i = 0; i < n; i++) {
		if (fds[i].fd < 0 || fds[i].fd != r->t.fd || !fds[i].revents)
			continue;
		short rev = fds[i].revents;
		if (rev & POLLNVAL) {
			set_broken(r, "descriptor closed");
			break;
		}
		if (r->state == LINK_CONNECTING) {
			if (r->t.ops->finish(&r->t) == ERR_OK)
				on_connected(r);
			else
				connect_failed(r);
			break;
		}
		if (!connected(r))
			break;
		if (rev & (POLLIN | POLLHUP | POLLERR))
			read_input(r, rev);
		break;
	}
	settle(r);
}

uint64_t radio_next_deadline(const struct radio *r)
{
	uint64_t t = UINT64_MAX;

	if (r->broken)
		return 0;
	switch (r->state) {
	case LINK_DOWN: return r->retry_at;
	case LINK_CONNECTING: return r->connect_deadline;
	case LINK_CONFIRMING: t = u64_min(t, r->grace_at); break;
	case LINK_UP:
		if (r->confirmed)
			t = u64_min(t, r->keepalive_at);
		if (r->tx == TX_SENT)
			t = u64_min(t, r->tx_deadline);
		if (r->tx == TX_BUSY)
			t = u64_min(t, r->tx_retry_at);
		break;
	}
	if (!r->confirmed)
		t = u64_min(t, r->settings_at);
	if (r->held)
		t = u64_min(t, r->held_until);
	if (r->pend_n)
		t = u64_min(t, r->pend[r->pend_head].sent_at + REPLY_TIMEOUT_MS);
	return t;
}

static void expire_pending(struct radio *r)
{
	while (r->pend_n && r->now >= pend_at(r, 0)->sent_at + REPLY_TIMEOUT_MS) {
		/* a confirmed modem that has said nothing at all since is gone */
		if (r->confirmed && r->state == LINK_UP &&
		    r->last_frame_at <= pend_at(r, 0)->sent_at) {
			set_broken(r, "the modem stopped answering");
			return;
		}
		log_debug(SUB, "%s: no answer to %s", r->spec, kiss_hw_name(pend_at(r, 0)->cmd));
		pend_pop(r, 1);
	}
}

void radio_tick(struct radio *r, uint64_t now_ms)
{
	r->now = now_ms;
	if (r->broken) {
		settle(r);
		return;
	}
	switch (r->state) {
	case LINK_DOWN:
		if (now_ms >= r->retry_at)
			try_connect(r);
		break;
	case LINK_CONNECTING:
		if (now_ms >= r->connect_deadline) {
			snprintf(r->t.why, sizeof(r->t.why), "connect to %.150s port %s: timed out",
			         r->t.addr, r->t.port);
			connect_failed(r);
		}
		break;
	default: break;
	}
	if (!connected(r))
		return;
	if (r->held && now_ms >= r->held_until)
		flush_held(r, 0, 0, 0);
	if (!r->confirmed && now_ms >= r->settings_at) {
		send_settings(r);
		r->settings_every = r->settings_every * 2 > SETTINGS_RETRY_MAX_MS
		                        ? SETTINGS_RETRY_MAX_MS
		                        : r->settings_every * 2;
		r->settings_at = now_ms + r->settings_every;
	}
	if (r->state == LINK_CONFIRMING && now_ms >= r->grace_at)
		go_up(r);
	if (r->state == LINK_UP) {
		if (r->tx == TX_SENT && now_ms >= r->tx_deadline) {
			r->st.tx_timeouts++;
			tx_complete(r, 0, "no TxDone in time");
		} else if (r->tx == TX_BUSY && now_ms >= r->tx_retry_at) {
			tx_put(r);
		}
		if (r->confirmed && now_ms >= r->keepalive_at) {
			(void)hw_request(r, KISS_HW_PING, NULL, 0);
			if (r->cfg.lp.freq_hz)
				(void)hw_request(r, KISS_HW_GET_RADIO, NULL, 0);
			r->keepalive_at = now_ms + KEEPALIVE_MS;
		}
	}
	expire_pending(r);
	settle(r);
}

const struct radio_stats *radio_stats(const struct radio *r)
{
	return &r->st;
}

int radio_channel_busy(const struct radio *r)
{
	return (r->st.modem.known & RADIO_KNOWN_BUSY) ? r->st.modem.channel_busy : -1;
}

static bool sense_pending(struct radio *r)
{
	for (unsigned i = 0; i < r->pend_n; i++)
		if (pend_at(r, i)->cmd == KISS_HW_IS_CHANNEL_BUSY)
			return true;
	return false;
}

int radio_sense(struct radio *r, uint64_t now_ms)
{
	if (r->sense_asked) {
		if (r->st.modem.busy_answers != r->sense_base) {
			r->sense_asked = false;
			r->sense_misses = 0;
			return r->st.modem.channel_busy ? 1 : 0;
		}
		if (sense_pending(r) && now_ms < r->sense_at + RADIO_SENSE_WAIT_MS)
			return ERR_AGAIN;
		/* an error, no answer in time, or a reconnect forgot it */
		r->sense_asked = false;
		r->st.sense_misses++;
		if (++r->sense_misses == RADIO_SENSE_GIVE_UP)
			log_info(SUB,
			         "%s: the modem does not answer IsChannelBusy: not asked again",
			         r->spec);
		return 0;
	}
	if (r->sense_misses >= RADIO_SENSE_GIVE_UP || !radio_ready(r))
		return 0;
	r->sense_base = r->st.modem.busy_answers;
	if (radio_query(r, KISS_HW_IS_CHANNEL_BUSY, NULL, 0) != ERR_OK)
		return 0;
	r->sense_asked = true;
	r->sense_at = now_ms;
	return ERR_AGAIN;
}

const char *radio_spec(const struct radio *r)
{
	return r->spec;
}
