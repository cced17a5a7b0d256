/*
 * test_kiss.c - KISS framing (PROTOCOL.md §10.2): round trips of every byte
 * value, frames split at every position, noise, oversized frames, bad
 * escapes and the encoder's capacity limit.
 */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "proto/kiss.h"
#include "util/err.h"

#define MAXF 16

struct rec {
	unsigned n;
	uint8_t type[MAXF];
	size_t len[MAXF];
	uint8_t data[MAXF][KISS_MAX_FRAME];
};

static void on_frame(void *ctx, uint8_t type, const uint8_t *data, size_t len)
{
	struct rec *r = ctx;
	if (r->n < MAXF && len <= KISS_MAX_FRAME) {
		r->type[r->n] = type;
		r->len[r->n] = len;
		memcpy(r->data[r->n], data, len);
	}
	r->n++;
}

static struct rec rec;
static struct kiss_dec dec;

static void reset(void)
{
	memset(&rec, 0, sizeof(rec));
	kiss_dec_init(&dec, on_frame, &rec);
}

static void feed(const void *p, size_t n)
{
	kiss_dec_feed(&dec, p, n);
}

static void test_every_byte(void)
{
	uint8_t all[256], enc[2 * 256 + 3];

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	int n = kiss_encode(KISS_DATA, all, sizeof(all), enc, sizeof(enc));
	/* 256 bytes + 2 escaped + type + two FENDs */
	CHECK_EQ(n, 256 + 2 + 1 + 2);
	CHECK_EQ(enc[0], KISS_FEND);
	CHECK_EQ(enc[n - 1], KISS_FEND);
	for (int i = 1; i < n - 1; i++)
		CHECK(enc[i] != KISS_FEND);
	reset();
	feed(enc, (size_t)n);
	CHECK_EQ(rec.n, 1);
	CHECK_EQ(rec.type[0], KISS_DATA);
	CHECK_EQ(rec.len[0], 256);
	CHECK_MEM(rec.data[0], all, 256);

	/* every value as the type byte and as a one-byte body */
	unsigned bad = 0;
	for (int v = 0; v < 256; v++) {
		uint8_t b = (uint8_t)v;
		n = kiss_encode(b, &b, 1, enc, sizeof(enc));
		reset();
		feed(enc, (size_t)n);
		if (rec.n != 1 || rec.type[0] != b || rec.len[0] != 1 || rec.data[0][0] != b)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(dec.bad_escapes, 0);
}

static void test_split_everywhere(void)
{
	uint8_t body[40], enc[2 * 40 + 3];

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 37);
	body[3] = KISS_FEND;
	body[4] = KISS_FESC;
	body[5] = KISS_TFEND;
	body[39] = KISS_FESC; /* an escape right before the closing FEND */
	int n = kiss_encode(KISS_SETHARDWARE, body, sizeof(body), enc, sizeof(enc));
	CHECK(n > 0);
	unsigned bad = 0;
	for (int cut = 0; cut <= n; cut++) {
		reset();
		feed(enc, (size_t)cut);
		feed(enc + cut, (size_t)(n - cut));
		if (rec.n != 1 || rec.type[0] != KISS_SETHARDWARE || rec.len[0] != sizeof(body) ||
		    memcmp(rec.data[0], body, sizeof(body)) != 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* one byte at a time, twice in a row (the closing FEND opens the next) */
	reset();
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < n; i++)
			feed(enc + i, 1);
	CHECK_EQ(rec.n, 2);
	CHECK_MEM(rec.data[1], body, sizeof(body));
	CHECK_EQ(dec.noise_bytes, 0);
}

static void test_noise(void)
{
	static const uint8_t boot[] = "ESP-ROM:esp32s3-20210327\r\n";
	static const uint8_t f1[] = {0xC0, 0x00, 0x11, 0x22, 0xC0};
	static const uint8_t f2[] = {0xC0, 0x06, 0xF8, 0x01, 0xC0};

	reset();
	feed(boot, sizeof(boot) - 1);
	CHECK_EQ(rec.n, 0);
	CHECK_EQ(dec.noise_bytes, sizeof(boot) - 1);
	feed(f1, sizeof(f1));
	CHECK_EQ(rec.n, 1);
	CHECK_EQ(rec.len[0], 2);
	CHECK_EQ(rec.data[0][1], 0x22);
	/* empty frames (FEND FEND FEND) are nothing at all */
	static const uint8_t fends[] = {0xC0, 0xC0, 0xC0};
	feed(fends, sizeof(fends));
	CHECK_EQ(rec.n, 1);
	/*
	 * Bytes between two frames: KISS (and the modem) treat a FEND as the end
	 * of one frame and the start of the next, so they form a frame of their
	 * own; the host rejects it by its type byte.  The frames around it are
	 * intact.
	 */
	static const uint8_t junk[] = {'x', 'y', 'z'};
	feed(junk, sizeof(junk));
	feed(f2, sizeof(f2));
	CHECK_EQ(rec.n, 3);
	CHECK_EQ(rec.type[1], 'x');
	CHECK_EQ(rec.len[1], 2);
	CHECK_EQ(rec.type[2], KISS_SETHARDWARE);
	CHECK_EQ(rec.len[2], 2);
	CHECK_EQ(rec.data[2][0], 0xF8);
	CHECK_EQ(dec.frames, 3);
}

static void test_oversize(void)
{
	static uint8_t big[KISS_MAX_FRAME + 100], enc[2 * sizeof(big) + 3];

	memset(big, 0x5A, sizeof(big));
	/* the largest accepted: type + KISS_MAX_FRAME bytes */
	reset();
	int n = kiss_encode(KISS_DATA, big, KISS_MAX_FRAME, enc, sizeof(enc));
	feed(enc, (size_t)n);
	CHECK_EQ(rec.n, 1);
	CHECK_EQ(rec.len[0], KISS_MAX_FRAME);
	CHECK_EQ(dec.oversized, 0);
	/* one more byte: dropped up to the next FEND, which decodes normally */
	reset();
	n = kiss_encode(KISS_DATA, big, KISS_MAX_FRAME + 1, enc, sizeof(enc));
	feed(enc, (size_t)n);
	CHECK_EQ(rec.n, 0);
	CHECK_EQ(dec.oversized, 1);
	/* far over, with FESC runs inside */
	big[10] = KISS_FEND;
	big[600] = KISS_FESC;
	n = kiss_encode(KISS_DATA, big, sizeof(big), enc, sizeof(enc));
	feed(enc, (size_t)n);
	CHECK_EQ(rec.n, 0);
	CHECK_EQ(dec.oversized, 2);
	static const uint8_t ok[] = {0xC0, 0x00, 0x01, 0x02, 0x03, 0xC0};
	feed(ok, sizeof(ok));
	CHECK_EQ(rec.n, 1);
	CHECK_EQ(rec.len[0], 3);
	CHECK_EQ(rec.data[0][2], 0x03);
}

static void test_bad_escape(void)
{
	/* FESC then 'A': the 'A' is dropped (as the modem does), the rest kept */
	static const uint8_t in[] = {0xC0, 0x00, 0x10, 0xDB, 0x41, 0x42, 0xDB, 0xDC, 0xC0};
	reset();
	feed(in, sizeof(in));
	CHECK_EQ(dec.bad_escapes, 1);
	CHECK_EQ(rec.n, 1);
	CHECK_EQ(rec.len[0], 3);
	static const uint8_t want[] = {0x10, 0x42, 0xC0};
	CHECK_MEM(rec.data[0], want, 3);
	/* FESC FEND: the FEND still ends the frame */
	static const uint8_t in2[] = {0x00, 0x20, 0xDB, 0xC0, 0x00, 0x30, 0xC0};
	feed(in2, sizeof(in2));
	CHECK_EQ(rec.n, 3);
	CHECK_EQ(rec.len[1], 1);
	CHECK_EQ(rec.data[1][0], 0x20);
	CHECK_EQ(rec.data[2][0], 0x30);
}

static void test_encoder_cap(void)
{
	uint8_t d[8], out[64];

	memset(d, KISS_FEND, sizeof(d));
	/* worst case 2*len + 3 with an escaped type: type C0 -> 2 bytes */
	size_t need = 2 + 2 * sizeof(d) + 2;
	for (size_t cap = 0; cap < need; cap++) {
		memset(out, 0xEE, sizeof(out));
		CHECK_EQ(kiss_encode(KISS_FEND, d, sizeof(d), out, cap), ERR_TOO_BIG);
		CHECK_EQ(out[cap], 0xEE); /* nothing written past cap */
	}
	memset(out, 0xEE, sizeof(out));
	CHECK_EQ(kiss_encode(KISS_FEND, d, sizeof(d), out, need), (int)need);
	CHECK_EQ(out[need], 0xEE);
	CHECK_EQ(out[1], KISS_FESC);
	CHECK_EQ(out[2], KISS_TFEND);
	/* an empty body: C0 type C0 */
	CHECK_EQ(kiss_encode(KISS_DATA, NULL, 0, out, 3), 3);
	CHECK_EQ(kiss_encode(KISS_DATA, NULL, 0, out, 2), ERR_TOO_BIG);
	static const uint8_t plain[] = {1, 2, 3};
	CHECK_EQ(kiss_encode(KISS_DATA, plain, 3, out, 6), 6);
	static const uint8_t want[] = {0xC0, 0x00, 1, 2, 3, 0xC0};
	CHECK_MEM(out, want, 6);
}

int main(void)
{
	test_every_byte();
	test_split_everywhere();
	test_noise();
	test_oversize();
	test_bad_escape();
	test_encoder_cap();
	return harness_done("test_kiss");
}
