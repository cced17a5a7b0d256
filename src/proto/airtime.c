/*
 * airtime.c - SX126x time on air (PROTOCOL.md §6.9).
 *
 * The symbol time is computed as RadioLib does, with a float division of
 * (10000 << SF) by the bandwidth in tenths of kHz, truncated; the rest is
 * integer arithmetic on quarter symbols so the result matches the firmware's
 * estimate to the millisecond.
 */
#include "proto/airtime.h"

uint64_t lora_airtime_us(const struct lora_params *lp, size_t len)
{
	unsigned sf = lp->sf, cr = lp->cr;
	double bw_khz = lp->bw_hz / 1000.0;
	uint16_t preamble = lp->preamble ? lp->preamble : lora_preamble_for_sf(lp->sf);

	if (sf < 5 || sf > 12 || lp->bw_hz == 0)
		return 0;
	if (cr < 5 || cr > 8)
		cr = 5;
	uint64_t tsym_us = (uint64_t)((double)(10000u << sf) / (bw_khz * 10.0));
	/* low data-rate optimisation on when a symbol lasts 16 ms or more */
	int ldro = ((double)(1u << sf) / bw_khz) >= 16.0;
	long c1x4 = (sf == 5 || sf == 6) ? 25 : 17;
	long c2 = (sf == 5 || sf == 6) ? 0 : 8;
	long div = ldro ? 4 * ((long)sf - 2) : 4 * (long)sf;
	long bits = 8 * (long)len + 16 - 4 * (long)sf + c2 + 20;
	if (bits < 0)
		bits = 0;
	long n_pay = (bits + div - 1) / div;
	uint64_t n_x4 = ((uint64_t)preamble + 8) * 4 + (uint64_t)c1x4 + (uint64_t)n_pay * cr * 4;
	return tsym_us * n_x4 / 4;
}

uint32_t lora_airtime_ms(const struct lora_params *lp, size_t len)
{
	return (uint32_t)(lora_airtime_us(lp, len) / 1000);
}
