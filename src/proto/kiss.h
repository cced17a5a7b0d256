/*
 * kiss.h - KISS framing as MeshCore's kiss_modem speaks it (PROTOCOL.md §10.2).
 *
 * Framing only: FEND 0xC0, FESC 0xDB, TFEND 0xDC, TFESC 0xDD; a frame is
 * C0 type escaped-data C0.  It knows nothing of serial ports or sockets.
 * The decoder is incremental: feed it any number of bytes, split anywhere,
 * and it calls back once per complete frame.  Noise is counted and dropped.
 * No allocation.
 */
#ifndef ROOMD_PROTO_KISS_H
#define ROOMD_PROTO_KISS_H

#include <stddef.h>
#include <stdint.h>

#define KISS_FEND  0xC0
#define KISS_FESC  0xDB
#define KISS_TFEND 0xDC
#define KISS_TFESC 0xDD

/* Largest unescaped frame body (type byte excluded) the decoder accepts; the
 * modem's own limit is 512 unescaped bytes. */
#define KISS_MAX_FRAME 512

/* Command nibbles (type byte low nibble, port 0). */
enum kiss_cmd {
	KISS_DATA = 0x00,
	KISS_TXDELAY = 0x01,
	KISS_PERSISTENCE = 0x02,
	KISS_SLOTTIME = 0x03,
	KISS_TXTAIL = 0x04,
	KISS_FULLDUPLEX = 0x05,
	KISS_SETHARDWARE = 0x06,
	KISS_RETURN = 0xFF,
};

/* SetHardware sub-commands (first data byte of a type 0x06 frame). */
enum kiss_hw {
	KISS_HW_GET_IDENTITY = 0x01,
	KISS_HW_GET_RANDOM = 0x02,
	KISS_HW_VERIFY_SIGNATURE = 0x03,
	KISS_HW_SIGN_DATA = 0x04,
	KISS_HW_ENCRYPT_DATA = 0x05,
	KISS_HW_DECRYPT_DATA = 0x06,
	KISS_HW_KEY_EXCHANGE = 0x07,
	KISS_HW_HASH = 0x08,
	KISS_HW_SET_RADIO = 0x09,
	KISS_HW_SET_TX_POWER = 0x0A,
	KISS_HW_GET_RADIO = 0x0B,
	KISS_HW_GET_TX_POWER = 0x0C,
	KISS_HW_GET_CURRENT_RSSI = 0x0D,
	KISS_HW_IS_CHANNEL_BUSY = 0x0E,
	KISS_HW_GET_AIRTIME = 0x0F,
	KISS_HW_GET_NOISE_FLOOR = 0x10,
	KISS_HW_GET_VERSION = 0x11,
	KISS_HW_GET_STATS = 0x12,
	KISS_HW_GET_BATTERY = 0x13,
	KISS_HW_GET_MCU_TEMP = 0x14,
	KISS_HW_GET_SENSORS = 0x15,
	KISS_HW_GET_DEVICE_NAME = 0x16,
	KISS_HW_PING = 0x17,
	KISS_HW_REBOOT = 0x18,
	KISS_HW_SET_SIGNAL_REPORT = 0x19,
	KISS_HW_GET_SIGNAL_REPORT = 0x1A,
	/* modem -> host only */
	KISS_HW_TX_DONE = 0xF8,
	KISS_HW_RX_META = 0xF9,
	KISS_HW_OK = 0xF0,
	KISS_HW_ERROR = 0xF1,
};

/* Error codes carried by F1 replies. */
enum kiss_hw_err {
	KISS_ERR_INVALID_LENGTH = 0x01,
	KISS_ERR_INVALID_PARAM = 0x02,
	KISS_ERR_NOT_AVAILABLE = 0x03,
	KISS_ERR_MAC_FAILED = 0x04,
	KISS_ERR_UNKNOWN_CMD = 0x05,
	KISS_ERR_ENCRYPT_FAILED = 0x06,
	KISS_ERR_TX_BUSY = 0x07,
};

/* Called for every complete frame; type is the whole type byte. */
typedef void (*kiss_frame_cb)(void *ctx, uint8_t type, const uint8_t *data, size_t len);

struct kiss_dec {
	uint8_t buf[KISS_MAX_FRAME + 1]; /* type byte + body */
	size_t len;
	int in_frame; /* a C0 has been seen */
	int escaped;  /* the previous byte was FESC */
	int overflow; /* discarding until the next C0 */
	/* counters */
	uint64_t frames;
	uint64_t noise_bytes; /* bytes outside any frame */
	uint64_t bad_escapes; /* FESC followed by something else */
	uint64_t oversized;   /* frames dropped for exceeding KISS_MAX_FRAME */
	kiss_frame_cb cb;
	void *ctx;
};

void kiss_dec_init(struct kiss_dec *d, kiss_frame_cb cb, void *ctx);
/* Feeds n bytes; calls the callback for each frame completed. */
void kiss_dec_feed(struct kiss_dec *d, const uint8_t *p, size_t n);

/*
 * Encodes one frame (C0 type escaped-data C0) into out.  Returns the encoded
 * length, or ERR_TOO_BIG if it would not fit in cap (worst case 2*len+3).
 */
int kiss_encode(uint8_t type, const uint8_t *data, size_t len, uint8_t *out, size_t cap);

/* The name of a SetHardware request (KISS_HW_*) and of an error code
 * (KISS_ERR_*), for logs: "IsChannelBusy", "unknown command". */
const char *kiss_hw_name(uint8_t cmd);
const char *kiss_err_name(uint8_t code);

#endif
