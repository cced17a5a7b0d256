/*
 * fuzz_payload.c - libFuzzer target for every payload decoder (PROTOCOL.md
 * §5): the first input byte picks the decoder, the rest is its input.  Where
 * a format has an exact encoding, decode then encode must give the input
 * back.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/dissect.h"
#include "proto/region.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void fixed_round_trips(unsigned which, const uint8_t *p, size_t n)
{
	uint8_t out[256];
	size_t len = 0;
	struct login_resp lr;
	struct server_stats st;
	struct trace t;
	struct path_msg m;
	uint8_t rem, code[ACK_CODE_SIZE];

	switch (which) {
	case 0:
		if (login_resp_decode(&lr, p, n) == ERR_OK) {
			must(login_resp_encode(&lr, out, sizeof(out), &len) == ERR_OK);
			must(len == LOGIN_RESP_SIZE && memcmp(out, p, len) == 0);
		}
		break;
	case 1:
		if (stats_decode(&st, p, n) == ERR_OK) {
			must(stats_encode(&st, out, sizeof(out), &len) == ERR_OK);
			must(len == SERVER_STATS_SIZE && memcmp(out, p, len) == 0);
		}
		break;
	case 2:
		if (trace_parse(&t, p, n) == ERR_OK && n <= PKT_MAX_PAYLOAD) {
			must(trace_encode(t.tag, t.auth, t.flags, t.hashes, t.hash_count, out,
			                  sizeof(out), &len) == ERR_OK);
			must(len == n && memcmp(out, p, n) == 0);
		}
		break;
	case 3:
		if (multiack_decode(p, n, &rem, code) == ERR_OK) {
			must(multiack_encode(rem, code, out, sizeof(out), &len) == ERR_OK);
			must(memcmp(out, p, len) == 0);
		}
		break;
	case 4:
		/* exact when there is an extra and the reserved nibble is clear */
		if (path_msg_decode(&m, p, n) == ERR_OK && m.extra_len > 0 &&
		    p[1 + path_len_bytes(m.path_len)] < 0x10) {
			int rc = path_msg_encode(&m, NULL, out, sizeof(out), &len);
			must(rc == ERR_OK || rc == ERR_TOO_BIG);
			if (rc == ERR_OK)
				must(len == n && memcmp(out, p, n) == 0);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt p;
	uint8_t key[REGION_KEY_SIZE];

	if (size < 1)
		return 0;
	unsigned sel = data[0];
	const uint8_t *in = data + 1;
	size_t n = size - 1;

	if (sel < 16) {
		/* a payload of type sel, through the packet-level dissector */
		if (n > PKT_MAX_PAYLOAD)
			return 0;
		memset(&p, 0, sizeof(p));
		p.header = pkt_header(PKT_ROUTE_FLOOD, sel);
		memcpy(p.payload, in, n);
		p.payload_len = n;
		dissect_pkt(&p, NULL, 0);
	} else if (sel < 32) {
		/* a plaintext of type sel - 16 */
		dissect_plain(sel - 16, in, n);
	} else if (sel < 40) {
		fixed_round_trips(sel - 32, in, n);
	} else if (sel < 48) {
		dissect_lpp(in, n);
		dissect_response_body(in, n);
	} else if (sel < 56) {
		size_t max = n ? in[0] : 0;
		size_t v = utf8_valid_prefix_len((const char *)in, n, max);
		must(v <= n && v <= max);
		must(utf8_valid_prefix_len((const char *)in, v, v) == v);
	} else if (sel < 64) {
		if (region_key((const char *)in, n, key) == ERR_OK)
			(void)region_transport_code(key, PKT_ADVERT, in, n > 184 ? 184 : n);
	} else {
		struct advert_data d;
		if (advert_data_decode(&d, in, n) == ERR_OK)
			must(d.name_len <= ADVERT_NAME_MAX && strlen(d.name) == d.name_len);
	}
	return 0;
}
