/*
 * test_packet.c - the packet codec (PROTOCOL.md §2) and the forwarders'
 * path edits (§6.2-§6.4): round trips over every route type and path
 * encoding, one distinct error per malformation, the hash rules, and
 * truncations and bit flips of every golden frame.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "golden.h"
#include "harness.h"
#include "proto/packet.h"
#include "proto/route_edit.h"
#include "util/err.h"

static void fill_pkt(struct pkt *p, unsigned route, unsigned type, uint8_t path_len,
                     size_t payload_len)
{
	memset(p, 0, sizeof(*p));
	p->header = pkt_header(route, type);
	if (route == PKT_ROUTE_TRANSPORT_FLOOD || route == PKT_ROUTE_TRANSPORT_DIRECT) {
		p->transport[0] = 0xB313;
		p->transport[1] = 0x0102;
	}
	p->path_len = path_len;
	for (unsigned i = 0; i < path_len_bytes(path_len) && i < PKT_MAX_PATH; i++)
		p->path[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < payload_len; i++)
		p->payload[i] = (uint8_t)(i * 7 + 1);
	p->payload_len = payload_len;
}

static void check_same(const struct pkt *a, const struct pkt *b)
{
	CHECK_EQ(a->header, b->header);
	CHECK_EQ(a->path_len, b->path_len);
	CHECK_MEM(a->path, b->path, path_len_bytes(a->path_len));
	CHECK_EQ(a->payload_len, b->payload_len);
	CHECK_MEM(a->payload, b->payload, a->payload_len);
	if (pkt_has_transport(a)) {
		CHECK_EQ(a->transport[0], b->transport[0]);
		CHECK_EQ(a->transport[1], b->transport[1]);
	}
}

static void test_round_trips(void)
{
	static const uint8_t path_lens[] = {0x00, 0x01, 0x3F, 0x40, 0x41, 0x60, 0x80, 0x95};
	static const size_t payload_lens[] = {0, 1, 5, 100, PKT_MAX_PAYLOAD};
	uint8_t frame[PKT_MAX_FRAME], again[PKT_MAX_FRAME];
	size_t len, len2;
	struct pkt p, q;

	for (unsigned route = 0; route < 4; route++) {
		for (size_t i = 0; i < sizeof(path_lens); i++) {
			for (size_t j = 0; j < sizeof(payload_lens) / sizeof(payload_lens[0]);
			     j++) {
				fill_pkt(&p, route, (unsigned)(i + j) & 0x0F, path_lens[i],
				         payload_lens[j]);
				CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &len), ERR_OK);
				CHECK_EQ(len, pkt_frame_len(&p));
				CHECK_EQ(pkt_decode(&q, frame, len), ERR_OK);
				check_same(&p, &q);
				CHECK_EQ(pkt_encode(&q, again, sizeof(again), &len2), ERR_OK);
				CHECK_EQ(len, len2);
				CHECK_MEM(frame, again, len);
			}
		}
	}
	/* the largest frame: transport codes, 64 path bytes, 184 payload bytes */
	fill_pkt(&p, PKT_ROUTE_TRANSPORT_FLOOD, PKT_TXT_MSG, 0x60, PKT_MAX_PAYLOAD);
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &len), ERR_OK);
	CHECK_EQ(len, 254);
	CHECK_EQ(pkt_decode(&q, frame, len), ERR_OK);
}

struct bad_frame {
	const char *what;
	const char *hex;
	int err;
};

static void test_decode_errors(void)
{
	static const struct bad_frame cases[] = {
	    {"empty", "", ERR_TRUNCATED},
	    {"header only", "09", ERR_TRUNCATED},
	    {"version 1", "4900", ERR_VERSION},
	    {"version 3", "c900", ERR_VERSION},
	    {"transport cut after 0 bytes", "08", ERR_TRUNCATED},
	    {"transport cut after 3 bytes", "08010203", ERR_TRUNCATED},
	    {"direct transport cut", "0b0102", ERR_TRUNCATED},
	    {"transport, no path_len", "0b01020304", ERR_TRUNCATED},
	    {"size code 3", "09c0", ERR_PATH},
	    {"size code 3 with a count", "09c1aa", ERR_PATH},
	    {"2-byte hashes, 33 of them", "0961", ERR_PATH},
	    {"3-byte hashes, 22 of them", "0996", ERR_PATH},
	    {"path cut", "0905aabbcc", ERR_TRUNCATED},
	    {"2-byte path cut", "0941aa", ERR_TRUNCATED},
	};
	uint8_t frame[300];
	struct pkt p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = unhex(cases[i].hex, frame, sizeof(frame));
		int rc = pkt_decode(&p, frame, n);
		if (rc != cases[i].err)
			fprintf(stderr, "case %s: %d\n", cases[i].what, rc);
		CHECK_EQ(rc, cases[i].err);
	}

	/* payload over 184 and frame over 255 */
	memset(frame, 0, sizeof(frame));
	frame[0] = pkt_header(PKT_ROUTE_FLOOD, PKT_TXT_MSG);
	frame[1] = 0;
	CHECK_EQ(pkt_decode(&p, frame, 2 + PKT_MAX_PAYLOAD), ERR_OK);
	CHECK_EQ(p.payload_len, PKT_MAX_PAYLOAD);
	CHECK_EQ(pkt_decode(&p, frame, 2 + PKT_MAX_PAYLOAD + 1), ERR_TOO_BIG);
	CHECK_EQ(pkt_decode(&p, frame, 255), ERR_TOO_BIG);
	CHECK_EQ(pkt_decode(&p, frame, 256), ERR_TOO_BIG);
	frame[1] = 63; /* 63 path bytes + 184 payload = 249 bytes: fine; +1 over */
	CHECK_EQ(pkt_decode(&p, frame, 2 + 63 + PKT_MAX_PAYLOAD), ERR_OK);
	CHECK_EQ(pkt_decode(&p, frame, 2 + 63 + PKT_MAX_PAYLOAD + 1), ERR_TOO_BIG);
	/* a zero-length payload passes framing */
	CHECK_EQ(pkt_decode(&p, frame, 2 + 63), ERR_OK);
	CHECK_EQ(p.payload_len, 0);

	/* the path_len validity table of §2.4 */
	CHECK(path_len_valid(0x3F));
	CHECK(path_len_valid(0x60));
	CHECK(!path_len_valid(0x61));
	CHECK(path_len_valid(0x95));
	CHECK(!path_len_valid(0x96));
	CHECK(path_len_valid(0x40));
	CHECK(path_len_valid(0x80));
	CHECK(!path_len_valid(0xC0));
}

static void test_encode_errors(void)
{
	uint8_t frame[PKT_MAX_FRAME];
	size_t len;
	struct pkt p;

	fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_REQ, 0xC0, 10);
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &len), ERR_PATH);
	fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_REQ, 0x61, 10);
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &len), ERR_PATH);
	fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_REQ, 0, 10);
	p.payload_len = PKT_MAX_PAYLOAD + 1;
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &len), ERR_TOO_BIG);
	fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_REQ, 0, 10);
	CHECK_EQ(pkt_encode(&p, frame, 11, &len), ERR_TOO_BIG);
	CHECK_EQ(pkt_encode(&p, frame, 12, &len), ERR_OK);
	CHECK_EQ(len, 12);
}

static void test_hash_rules(void)
{
	uint8_t h1[PKT_HASH_SIZE], h2[PKT_HASH_SIZE];
	struct pkt p;

	/* not covered: route bits, transport codes, path */
	fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_TXT_MSG, 0x02, 20);
	pkt_hash(&p, h1);
	fill_pkt(&p, PKT_ROUTE_TRANSPORT_DIRECT, PKT_TXT_MSG, 0x45, 20);
	pkt_hash(&p, h2);
	CHECK_MEM(h1, h2, PKT_HASH_SIZE);
	/* covered: type and payload */
	fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_REQ, 0x02, 20);
	pkt_hash(&p, h2);
	CHECK(memcmp(h1, h2, PKT_HASH_SIZE) != 0);
	fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_TXT_MSG, 0x02, 20);
	p.payload[19] ^= 1;
	pkt_hash(&p, h2);
	CHECK(memcmp(h1, h2, PKT_HASH_SIZE) != 0);
	/* TRACE alone covers path_len */
	fill_pkt(&p, PKT_ROUTE_DIRECT, PKT_TRACE, 0x01, 11);
	pkt_hash(&p, h1);
	p.path_len = 2;
	pkt_hash(&p, h2);
	CHECK(memcmp(h1, h2, PKT_HASH_SIZE) != 0);
}

static void test_path_edits(void)
{
	static const uint8_t pub[32] = {0xA1, 0xB2, 0xC3, 0xD4};
	struct pkt p;
	unsigned n;

	/* appends until the path is full, for each hash size */
	for (unsigned size = 1; size <= 3; size++) {
		fill_pkt(&p, PKT_ROUTE_FLOOD, PKT_ADVERT, path_len_make(size, 0), 100);
		for (n = 0; pkt_path_append(&p, pub) == ERR_OK; n++)
			CHECK_MEM(p.path + n * size, pub, size);
		CHECK_EQ(n, PKT_MAX_PATH / size > 63 ? 63 : PKT_MAX_PATH / size);
		CHECK_EQ(pkt_path_count(&p), n);
		CHECK_EQ(pkt_path_hash_size(&p), size);
		CHECK(path_len_valid(p.path_len));
	}
	p.path_len = 0xC0;
	CHECK_EQ(pkt_path_append(&p, pub), ERR_PATH);
	CHECK_EQ(pkt_path_consume(&p), ERR_PATH);
	CHECK(!pkt_path_next_is(&p, pub));

	/* consuming shifts whole entries: 2-byte path 4041 4243 4445 */
	fill_pkt(&p, PKT_ROUTE_DIRECT, PKT_TXT_MSG, path_len_make(2, 3), 10);
	CHECK_EQ(pkt_path_consume(&p), ERR_OK);
	CHECK_EQ(p.path_len, path_len_make(2, 2));
	CHECK_EQ(p.path[0], 0x42);
	CHECK_EQ(p.path[3], 0x45);
	CHECK_EQ(pkt_path_consume(&p), ERR_OK);
	CHECK_EQ(pkt_path_consume(&p), ERR_OK);
	CHECK_EQ(p.path_len, 0x40);
	CHECK_EQ(pkt_path_consume(&p), ERR_PATH);
	CHECK(!pkt_path_next_is(&p, pub));
	p.path_len = path_len_make(2, 1);
	memcpy(p.path, pub, 2);
	CHECK(pkt_path_next_is(&p, pub));
	p.path[1] ^= 1;
	CHECK(!pkt_path_next_is(&p, pub));

	/* TRACE collects one SNR byte per hop, at most 63 */
	fill_pkt(&p, PKT_ROUTE_DIRECT, PKT_TRACE, 0, 11);
	for (n = 0; pkt_trace_add_snr(&p, (int8_t)-n) == ERR_OK; n++)
		CHECK_EQ((int8_t)p.path[n], -(int)n);
	CHECK_EQ(n, 63);
	CHECK_EQ(p.path_len, 63);
}

/* Any frame that decodes must re-encode to exactly its bytes. */
static unsigned n_mutations, n_decoded;

static void mutate_one(const uint8_t *frame, size_t len)
{
	uint8_t out[PKT_MAX_FRAME];
	size_t out_len;
	struct pkt p;
	int rc = pkt_decode(&p, frame, len);

	n_mutations++;
	if (rc != ERR_OK) {
		if (!(rc == ERR_TRUNCATED || rc == ERR_VERSION || rc == ERR_PATH ||
		      rc == ERR_TOO_BIG))
			CHECK_EQ(rc, ERR_TRUNCATED);
		return;
	}
	n_decoded++;
	if (pkt_encode(&p, out, sizeof(out), &out_len) != ERR_OK || out_len != len ||
	    memcmp(out, frame, len) != 0)
		CHECK(!"decoded frame does not re-encode to itself");
}

static void mutate_frame(const char *where, const uint8_t *raw, size_t len, void *ctx)
{
	uint8_t buf[512];

	(void)where;
	(void)ctx;
	for (size_t cut = 0; cut <= len; cut++)
		mutate_one(raw, cut);
	memcpy(buf, raw, len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		mutate_one(buf, len);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

static void test_golden_mutations(void)
{
	json_t *root = golden_load();

	if (!root)
		return;
	golden_frames(root, mutate_frame, NULL);
	json_decref(root);
	CHECK(n_mutations > 10000);
	CHECK(n_decoded > 0 && n_decoded < n_mutations);
	printf("packet mutations: %u frames tried, %u decoded\n", n_mutations, n_decoded);
}

int main(void)
{
	if (crypto_init() != ERR_OK)
		return 1;
	test_round_trips();
	test_decode_errors();
	test_encode_errors();
	test_hash_rules();
	test_path_edits();
	test_golden_mutations();
	return harness_done("test_packet");
}
