/*
 * fuzz_packet.c - libFuzzer target for the packet codec (PROTOCOL.md §2):
 * any frame pkt_decode accepts must re-encode to exactly the same bytes,
 * and the forwarders' path edits must keep path_len valid.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/packet.h"
#include "proto/route_edit.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t self[3] = {0xAB, 0xCD, 0xEF};
	uint8_t out[PKT_MAX_FRAME], h[PKT_HASH_SIZE];
	size_t len = 0;
	struct pkt p, q;
	int rc = pkt_decode(&p, data, size);

	if (rc != ERR_OK) {
		if (rc != ERR_TRUNCATED && rc != ERR_VERSION && rc != ERR_PATH && rc != ERR_TOO_BIG)
			abort();
		return 0;
	}
	if (pkt_encode(&p, out, sizeof(out), &len) != ERR_OK || len != size ||
	    memcmp(out, data, size) != 0 || pkt_frame_len(&p) != size)
		abort();
	pkt_hash(&p, h);

	q = p;
	if (pkt_path_append(&q, self) == ERR_OK &&
	    (!path_len_valid(q.path_len) || pkt_path_count(&q) != pkt_path_count(&p) + 1))
		abort();
	q = p;
	if (pkt_path_consume(&q) == ERR_OK &&
	    (!path_len_valid(q.path_len) || pkt_path_count(&q) + 1 != pkt_path_count(&p)))
		abort();
	q = p;
	if (pkt_trace_add_snr(&q, -5) == ERR_OK && pkt_encode(&q, out, sizeof(out), &len) != ERR_OK)
		abort();
	return 0;
}
