/*
 * airtime.h - LoRa time on air as the firmware estimates it (PROTOCOL.md §6.9):
 * RadioLib's SX126x formula in integer arithmetic, truncated to whole ms.
 */
#ifndef ROOMD_PROTO_AIRTIME_H
#define ROOMD_PROTO_AIRTIME_H

#include <stddef.h>
#include <stdint.h>

struct lora_params {
	uint32_t freq_hz;
	uint32_t bw_hz;    /* e.g. 62500 */
	uint8_t sf;        /* 5..12 */
	uint8_t cr;        /* 5..8 for 4/5..4/8 */
	uint16_t preamble; /* symbols; 0 = the firmware rule (32 if SF <= 8, else 16) */
};

/* The firmware default: 869.618 MHz, 62.5 kHz, SF8, CR 4/5 (§10.1). */
#define LORA_PARAMS_DEFAULT ((struct lora_params){869618000u, 62500u, 8, 5, 0})

/* The preamble the firmware sets for a spreading factor. */
static inline uint16_t lora_preamble_for_sf(uint8_t sf)
{
	return sf <= 8 ? 32 : 16;
}

/* Time on air in microseconds of a frame of len bytes (explicit header, CRC on). */
uint64_t lora_airtime_us(const struct lora_params *lp, size_t len);
/* The same, truncated to milliseconds: getEstAirtimeFor(len). */
uint32_t lora_airtime_ms(const struct lora_params *lp, size_t len);

#endif
