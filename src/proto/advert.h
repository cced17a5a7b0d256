/*
 * advert.h - ADVERT payloads and their app_data (PROTOCOL.md §5.8).
 *
 *   pub(32) timestamp(u32) signature(64) app_data(0..32)
 *   app_data = flags [lat i32 lon i32] [feature1 u16] [feature2 u16] [name]
 *
 * The signature covers pub || timestamp || app_data.  A receiver uses only
 * the first 32 bytes of app_data, for the signature check and for parsing.
 */
#ifndef ROOMD_PROTO_ADVERT_H
#define ROOMD_PROTO_ADVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define ADVERT_DATA_MAX 32  /* MAX_ADVERT_DATA_SIZE */
#define ADVERT_HDR      100 /* pub + timestamp + signature; the receiver's minimum */
#define ADVERT_MAX      (ADVERT_HDR + ADVERT_DATA_MAX)
#define ADVERT_NAME_MAX (ADVERT_DATA_MAX - 1)

enum advert_type {
	ADV_TYPE_NONE = 0,
	ADV_TYPE_CHAT = 1,
	ADV_TYPE_REPEATER = 2,
	ADV_TYPE_ROOM = 3,
	ADV_TYPE_SENSOR = 4,
};

#define ADV_TYPE_MASK  0x0F
#define ADV_FLAG_LOC   0x10
#define ADV_FLAG_FEAT1 0x20
#define ADV_FLAG_FEAT2 0x40
#define ADV_FLAG_NAME  0x80

struct advert_data {
	uint8_t flags; /* decode: as received; encode: ignored, computed */
	uint8_t type;  /* enum advert_type, low nibble */
	bool has_loc;
	int32_t lat_e6; /* degrees x 1e6 */
	int32_t lon_e6;
	bool has_feat1;
	uint16_t feat1;
	bool has_feat2;
	uint16_t feat2;
	char name[ADVERT_NAME_MAX + 1]; /* NUL-terminated; empty = no name */
	size_t name_len;
};

/*
 * Degrees to the advert's integer form: deg x 1e6 truncated toward zero, as
 * the firmware's (int32_t) cast does.  NaN gives 0; out-of-range values are
 * clamped (the cast would be undefined).
 */
int32_t advert_coord_e6(double deg);

/*
 * Encodes app_data into out (ADVERT_DATA_MAX bytes).  The flags are computed:
 * the location flag whenever has_loc (even at 0,0), the name flag only if the
 * name, cut to the room left at a UTF-8 boundary, is not empty.
 */
int advert_data_encode(const struct advert_data *d, uint8_t out[ADVERT_DATA_MAX], size_t *out_len);
/*
 * Decodes app_data; only the first ADVERT_DATA_MAX bytes are looked at.
 * ERR_TRUNCATED if empty or if a flagged fixed field does not fit.  The name
 * is the rest, up to a 0x00 if one is present (the firmware copies it as a C
 * string).
 */
int advert_data_decode(struct advert_data *d, const uint8_t *p, size_t len);

/* A received advert. */
struct advert {
	uint8_t pub[CRYPTO_PUB_SIZE];
	uint32_t timestamp;
	uint8_t sig[CRYPTO_SIG_SIZE];
	uint8_t app_data[ADVERT_DATA_MAX];
	size_t app_data_len; /* at most 32: extra bytes are ignored */
	struct advert_data data;
	int data_err; /* result of decoding app_data into data */
};

/*
 * Builds the payload: pub, timestamp, signature by id, app_data (at most 32
 * bytes, else ERR_TOO_BIG).
 */
int advert_build(const struct ident *id, uint32_t timestamp, const uint8_t *app_data,
                 size_t app_data_len, uint8_t *out, size_t cap, size_t *out_len);
/*
 * Parses and verifies an advert payload.  ERR_TRUNCATED below 100 bytes,
 * ERR_AUTH for a bad signature.  A valid signature with undecodable app_data
 * still returns ERR_OK (the advert is forwarded); see data_err.
 */
int advert_parse(struct advert *a, const uint8_t *payload, size_t len);

#endif
