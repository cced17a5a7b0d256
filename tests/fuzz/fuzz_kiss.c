/*
 * fuzz_kiss.c - libFuzzer target for the KISS decoder (PROTOCOL.md §10.2).
 *
 * The input is fed in pseudo-random chunk sizes (derived from the input, so
 * a run is reproducible); every decoded frame is re-encoded and decoded
 * again and must come back identical, exactly once.  The same input fed in
 * one piece must give the same frames and counters: chunking is invisible.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kiss.h"

struct sum {
	uint64_t frames, hash;
};

struct one {
	unsigned n;
	uint8_t type;
	size_t len;
	uint8_t data[KISS_MAX_FRAME];
};

static void on_again(void *ctx, uint8_t type, const uint8_t *data, size_t len)
{
	struct one *o = ctx;
	if (o->n++ == 0 && len <= KISS_MAX_FRAME) {
		o->type = type;
		o->len = len;
		memcpy(o->data, data, len);
	}
}

static void mix(struct sum *s, uint8_t b)
{
	s->hash = (s->hash ^ b) * 0x100000001b3ull;
}

static void on_frame(void *ctx, uint8_t type, const uint8_t *data, size_t len)
{
	struct sum *s = ctx;
	uint8_t enc[2 * (KISS_MAX_FRAME + 1) + 2];
	struct kiss_dec d2;
	struct one o = {0};

	if (len > KISS_MAX_FRAME)
		abort(); /* the decoder's cap */
	s->frames++;
	mix(s, type);
	for (size_t i = 0; i < len; i++)
		mix(s, data[i]);
	mix(s, 0xC0);

	int n = kiss_encode(type, data, len, enc, sizeof(enc));
	if (n < 0)
		abort();
	kiss_dec_init(&d2, on_again, &o);
	kiss_dec_feed(&d2, enc, (size_t)n);
	if (o.n != 1 || o.type != type || o.len != len || memcmp(o.data, data, len) != 0)
		abort();
	if (d2.noise_bytes || d2.bad_escapes || d2.oversized)
		abort();
	/* a capacity one short must be refused */
	if (kiss_encode(type, data, len, enc, (size_t)n - 1) >= 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kiss_dec whole, chunked;
	struct sum a = {0, 0xcbf29ce484222325ull}, b = a;
	uint64_t x = 0x9E3779B97F4A7C15ull;

	for (size_t i = 0; i < size && i < 8; i++)
		x = (x ^ data[i]) * 0x100000001b3ull;
	kiss_dec_init(&whole, on_frame, &a);
	kiss_dec_feed(&whole, data, size);

	kiss_dec_init(&chunked, on_frame, &b);
	for (size_t off = 0; off < size;) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t n = (size_t)(x % 17); /* 0..16, zero-length feeds included */
		if (n > size - off)
			n = size - off;
		kiss_dec_feed(&chunked, data + off, n);
		off += n;
	}
	if (a.frames != b.frames || a.hash != b.hash || whole.noise_bytes != chunked.noise_bytes ||
	    whole.bad_escapes != chunked.bad_escapes || whole.oversized != chunked.oversized ||
	    whole.frames != chunked.frames)
		abort();
	return 0;
}
