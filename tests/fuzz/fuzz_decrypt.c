/*
 * fuzz_decrypt.c - libFuzzer target for the envelopes and MAC-then-decrypt
 * (PROTOCOL.md §4, §5.1, §5.2): hostile payloads through each envelope
 * parser and cipher_decrypt with a fixed secret, and the input as a
 * plaintext through encrypt, open and the plaintext decoders.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/dissect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fixed_secret[1][CRYPTO_SECRET_SIZE] = {
    {0x21, 0x8b, 0x45, 0x75, 0x9e, 0xb8, 0x45, 0xdf, 0x42, 0xad}};

static void must(int cond)
{
	if (!cond)
		abort();
}

/* The input as a plaintext of the type picked by its first byte. */
static void seal_and_open(const uint8_t *data, size_t size)
{
	uint8_t pl[PKT_MAX_PAYLOAD], pt[PL_MAX_PLAIN];
	size_t pl_len, pt_len;
	struct dgram d;
	unsigned type;

	if (size < 1)
		return;
	type = data[0] & 0x0F;
	data++;
	size--;
	if (dgram_build(0x11, 0x22, fixed_secret[0], data, size, pl, sizeof(pl), &pl_len) !=
	    ERR_OK) {
		must(size > PL_DGRAM_MAX_PLAIN);
		return;
	}
	if (size == 0)
		return; /* a bare MAC: receivers refuse it */
	must(dgram_parse(&d, pl, pl_len) == ERR_OK && d.dest == 0x11 && d.src == 0x22);
	must(sealed_open(d.sealed, d.sealed_len, fixed_secret[0], pt, sizeof(pt), &pt_len) ==
	     ERR_OK);
	must(pt_len >= size && pt_len < size + CRYPTO_BLOCK_SIZE && memcmp(pt, data, size) == 0);
	for (size_t i = size; i < pt_len; i++)
		must(pt[i] == 0);
	dissect_plain(type, pt, pt_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct pkt p;

	if (!ready) {
		must(crypto_init() == ERR_OK);
		ready = 1;
	}
	/* the input as a payload of each encrypted type */
	if (size <= PKT_MAX_PAYLOAD) {
		static const unsigned types[] = {PKT_REQ,  PKT_RESPONSE, PKT_TXT_MSG,
		                                 PKT_PATH, PKT_ANON_REQ, PKT_GRP_TXT};
		memset(&p, 0, sizeof(p));
		memcpy(p.payload, data, size);
		p.payload_len = size;
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			p.header = pkt_header(PKT_ROUTE_DIRECT, types[i]);
			dissect_pkt(&p, fixed_secret, 1);
		}
	}
	seal_and_open(data, size);
	return 0;
}
