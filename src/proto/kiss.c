/*
 * kiss.c - KISS framing (PROTOCOL.md §10.2), both directions.
 *
 * Decoder rules follow the kiss_modem: a C0 ends a non-empty frame and
 * starts the next; after DB, DC means C0 and DD means DB, anything else is
 * dropped (counted); a frame over the cap is discarded up to the next C0.
 */
#include "proto/kiss.h"
#include "util/err.h"

void kiss_dec_init(struct kiss_dec *d, kiss_frame_cb cb, void *ctx)
{
	*d = (struct kiss_dec){.cb = cb, .ctx = ctx};
}

static void frame_end(struct kiss_dec *d)
{
	if (d->overflow) {
		d->overflow = 0;
	} else if (d->len > 0) {
		d->frames++;
		if (d->cb)
			d->cb(d->ctx, d->buf[0], d->buf + 1, d->len - 1);
	}
	d->len = 0;
	d->escaped = 0;
	d->in_frame = 1;
}

static void put(struct kiss_dec *d, uint8_t b)
{
	if (d->overflow)
		return;
	if (d->len >= sizeof(d->buf)) {
		d->overflow = 1;
		d->oversized++;
		d->len = 0;
		return;
	}
	d->buf[d->len++] = b;
}

void kiss_dec_feed(struct kiss_dec *d, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (b == KISS_FEND) {
			frame_end(d);
			continue;
		}
		if (!d->in_frame) {
			d->noise_bytes++;
			continue;
		}
		if (d->escaped) {
			d->escaped = 0;
			if (b == KISS_TFEND)
				put(d, KISS_FEND);
			else if (b == KISS_TFESC)
				put(d, KISS_FESC);
			else
				d->bad_escapes++;
			continue;
		}
		if (b == KISS_FESC) {
			d->escaped = 1;
			continue;
		}
		put(d, b);
	}
}

static int put_escaped(uint8_t *out, size_t cap, size_t *len, uint8_t b)
{
	if (b == KISS_FEND || b == KISS_FESC) {
		if (cap - *len < 2)
			return ERR_TOO_BIG;
		out[(*len)++] = KISS_FESC;
		out[(*len)++] = b == KISS_FEND ? KISS_TFEND : KISS_TFESC;
		return ERR_OK;
	}
	if (cap - *len < 1)
		return ERR_TOO_BIG;
	out[(*len)++] = b;
	return ERR_OK;
}

int kiss_encode(uint8_t type, const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (cap < 1)
		return ERR_TOO_BIG;
	out[n++] = KISS_FEND;
	if (put_escaped(out, cap, &n, type))
		return ERR_TOO_BIG;
	for (size_t i = 0; i < len; i++)
		if (put_escaped(out, cap, &n, data[i]))
			return ERR_TOO_BIG;
	if (cap - n < 1)
		return ERR_TOO_BIG;
	out[n++] = KISS_FEND;
	return (int)n;
}

const char *kiss_hw_name(uint8_t cmd)
{
	switch (cmd) {
	case KISS_HW_SET_RADIO: return "SetRadio";
	case KISS_HW_SET_TX_POWER: return "SetTxPower";
	case KISS_HW_GET_RADIO: return "GetRadio";
	case KISS_HW_GET_TX_POWER: return "GetTxPower";
	case KISS_HW_GET_CURRENT_RSSI: return "GetCurrentRssi";
	case KISS_HW_IS_CHANNEL_BUSY: return "IsChannelBusy";
	case KISS_HW_GET_AIRTIME: return "GetAirtime";
	case KISS_HW_GET_NOISE_FLOOR: return "GetNoiseFloor";
	case KISS_HW_GET_VERSION: return "GetVersion";
	case KISS_HW_GET_STATS: return "GetStats";
	case KISS_HW_GET_BATTERY: return "GetBattery";
	case KISS_HW_GET_MCU_TEMP: return "GetMCUTemp";
	case KISS_HW_GET_DEVICE_NAME: return "GetDeviceName";
	case KISS_HW_PING: return "Ping";
	case KISS_HW_SET_SIGNAL_REPORT: return "SetSignalReport";
	case KISS_HW_GET_SIGNAL_REPORT: return "GetSignalReport";
	}
	return "request";
}

const char *kiss_err_name(uint8_t code)
{
	switch (code) {
	case KISS_ERR_INVALID_LENGTH: return "invalid length";
	case KISS_ERR_INVALID_PARAM: return "invalid parameter";
	case KISS_ERR_NOT_AVAILABLE: return "not available";
	case KISS_ERR_MAC_FAILED: return "MAC failed";
	case KISS_ERR_UNKNOWN_CMD: return "unknown command";
	case KISS_ERR_ENCRYPT_FAILED: return "encryption failed";
	case KISS_ERR_TX_BUSY: return "busy";
	}
	return "unknown error";
}
