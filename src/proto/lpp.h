/*
 * lpp.h - the Cayenne LPP records of a telemetry RESPONSE (PROTOCOL.md §5.7).
 *
 * A record is channel(1) type(1) value(size by type), values big-endian.
 * The room sends channel 1 voltage (0x74, unsigned, V x 100) and optionally
 * channel 1 temperature (0x67, signed, degC x 10); a reader must step over
 * any other standard record, so the skipper knows every type's size.
 */
#ifndef ROOMD_PROTO_LPP_H
#define ROOMD_PROTO_LPP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum lpp_type {
	LPP_TEMPERATURE = 0x67, /* i16, 0.1 degC */
	LPP_VOLTAGE = 0x74,     /* u16, 0.01 V */
};

struct lpp_record {
	uint8_t channel;
	uint8_t type;
	const uint8_t *value; /* ref, big-endian */
	size_t value_len;
};

/* Values are scaled and truncated toward zero, clamped to the field's range. */
int lpp_put_voltage(struct wbuf *w, uint8_t channel, double volts);
int lpp_put_temperature(struct wbuf *w, uint8_t channel, double celsius);

/* Size of a type's value, or 0 for a type this reader does not know. */
size_t lpp_value_size(uint8_t type);
/*
 * Reads the next record.  ERR_NOT_FOUND at the end (or at a zero channel and
 * type, i.e. padding), ERR_FORMAT for an unknown type (nothing after it can
 * be located), ERR_TRUNCATED for a cut record.
 */
int lpp_next(struct rbuf *r, struct lpp_record *rec);
/* The value of a voltage record in hundredths of a volt. */
uint16_t lpp_voltage_centi(const struct lpp_record *rec);
/* The value of a temperature record in tenths of a degree. */
int16_t lpp_temperature_deci(const struct lpp_record *rec);

#endif
