/* test_airtime.c - the time-on-air table of PROTOCOL.md §6.9, every cell. */
#include "harness.h"
#include "proto/airtime.h"

int main(void)
{
	static const size_t lens[6] = {6, 22, 53, 119, 164, 255};
	static const struct {
		uint32_t bw;
		uint8_t sf;
		uint32_t ms[6];
	} rows[] = {
	    {62500, 8, {222, 304, 467, 816, 1041, 1512}},
	    {62500, 7, {121, 162, 254, 449, 582, 848}},
	    {62500, 9, {313, 477, 722, 1337, 1746, 2566}},
	    {250000, 10, {156, 218, 340, 607, 791, 1180}},
	    {250000, 11, {313, 395, 641, 1132, 1460, 2156}},
	    {125000, 12, {1253, 1744, 2727, 4857, 6332, 9281}},
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct lora_params lp = {869618000u, rows[r].bw, rows[r].sf, 5, 0};
		for (int i = 0; i < 6; i++)
			CHECK_EQ(lora_airtime_ms(&lp, lens[i]), rows[r].ms[i]);
	}
	/* invalid settings give 0 rather than garbage */
	struct lora_params bad = {0, 0, 8, 5, 0};
	CHECK_EQ(lora_airtime_ms(&bad, 10), 0);
	bad = (struct lora_params){0, 62500, 13, 5, 0};
	CHECK_EQ(lora_airtime_ms(&bad, 10), 0);
	/* longer preamble, longer airtime */
	struct lora_params lp = LORA_PARAMS_DEFAULT;
	uint32_t base = lora_airtime_ms(&lp, 50);
	lp.preamble = 64;
	CHECK(lora_airtime_ms(&lp, 50) > base);
	return harness_done("test_airtime");
}
