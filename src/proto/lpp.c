/*
 * lpp.c - Cayenne LPP writer and reader (PROTOCOL.md §5.7 telemetry).
 * The size table is the standard Cayenne LPP type list.
 */
#include <math.h>

#include "proto/lpp.h"
#include "util/err.h"

static const struct {
	uint8_t type;
	uint8_t size;
} lpp_sizes[] = {
    {0x00, 1}, /* digital input */
    {0x01, 1}, /* digital output */
    {0x02, 2}, /* analog input */
    {0x03, 2}, /* analog output */
    {0x64, 4}, /* generic sensor */
    {0x65, 2}, /* illuminance */
    {0x66, 1}, /* presence */
    {0x67, 2}, /* temperature */
    {0x68, 1}, /* relative humidity */
    {0x71, 6}, /* accelerometer */
    {0x73, 2}, /* barometric pressure */
    {0x74, 2}, /* voltage */
    {0x75, 2}, /* current */
    {0x76, 4}, /* frequency */
    {0x78, 1}, /* percentage */
    {0x79, 2}, /* altitude */
    {0x7A, 3}, /* load */
    {0x7D, 2}, /* concentration */
    {0x80, 2}, /* power */
    {0x82, 4}, /* distance */
    {0x83, 4}, /* energy */
    {0x84, 2}, /* direction */
    {0x85, 4}, /* unix time */
    {0x86, 6}, /* gyrometer */
    {0x87, 3}, /* colour */
    {0x88, 9}, /* GPS location */
    {0x8E, 1}, /* switch */
};

size_t lpp_value_size(uint8_t type)
{
	for (size_t i = 0; i < sizeof(lpp_sizes) / sizeof(lpp_sizes[0]); i++) {
		if (lpp_sizes[i].type == type)
			return lpp_sizes[i].size;
	}
	return 0;
}

static double scaled(double v, double scale, double lo, double hi)
{
	v *= scale;
	if (isnan(v))
		return 0;
	return v < lo ? lo : v > hi ? hi : v;
}

static int put_be16(struct wbuf *w, uint8_t channel, uint8_t type, uint16_t v)
{
	wbuf_put_u8(w, channel);
	wbuf_put_u8(w, type);
	wbuf_put_u8(w, (uint8_t)(v >> 8));
	return wbuf_put_u8(w, (uint8_t)v);
}

int lpp_put_voltage(struct wbuf *w, uint8_t channel, double volts)
{
	return put_be16(w, channel, LPP_VOLTAGE, (uint16_t)scaled(volts, 100, 0, 65535));
}

int lpp_put_temperature(struct wbuf *w, uint8_t channel, double celsius)
{
	int16_t v = (int16_t)scaled(celsius, 10, -32768, 32767);

	return put_be16(w, channel, LPP_TEMPERATURE, (uint16_t)v);
}

int lpp_next(struct rbuf *r, struct lpp_record *rec)
{
	size_t size;

	if (rbuf_left(r) < 2)
		return rbuf_left(r) == 0 || rbuf_cur(r)[0] == 0 ? ERR_NOT_FOUND : ERR_TRUNCATED;
	rec->channel = rbuf_cur(r)[0];
	rec->type = rbuf_cur(r)[1];
	/* Decrypted bodies end in zero padding; channel 0 type 0 is never sent. */
	if (rec->channel == 0 && rec->type == 0)
		return ERR_NOT_FOUND;
	size = lpp_value_size(rec->type);
	if (size == 0)
		return ERR_FORMAT;
	if (rbuf_left(r) < 2 + size)
		return ERR_TRUNCATED;
	rec->value = rbuf_cur(r) + 2;
	rec->value_len = size;
	r->off += 2 + size;
	return ERR_OK;
}

uint16_t lpp_voltage_centi(const struct lpp_record *rec)
{
	return (uint16_t)((rec->value[0] << 8) | rec->value[1]);
}

int16_t lpp_temperature_deci(const struct lpp_record *rec)
{
	return (int16_t)((rec->value[0] << 8) | rec->value[1]);
}
