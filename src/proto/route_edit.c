/*
 * route_edit.c - path edits of forwarders (PROTOCOL.md §6.2 flood append,
 * §6.3 Mesh::removeSelfFromPath, §6.4 TRACE SNR collection).
 */
#include <string.h>

#include "proto/route_edit.h"
#include "util/err.h"

int pkt_path_append(struct pkt *p, const uint8_t *pub)
{
	unsigned size = pkt_path_hash_size(p), count = pkt_path_count(p);

	/* The count field has 6 bits: 63 one-byte hops fill it before the 64 bytes do. */
	if (!path_len_valid(p->path_len) || count == 0x3F || (count + 1) * size > PKT_MAX_PATH)
		return ERR_PATH;
	memcpy(p->path + count * size, pub, size);
	p->path_len = path_len_make(size, count + 1);
	return ERR_OK;
}

int pkt_path_consume(struct pkt *p)
{
	unsigned size = pkt_path_hash_size(p), count = pkt_path_count(p);

	if (!path_len_valid(p->path_len) || count == 0)
		return ERR_PATH;
	memmove(p->path, p->path + size, (count - 1) * size);
	p->path_len = path_len_make(size, count - 1);
	return ERR_OK;
}

bool pkt_path_next_is(const struct pkt *p, const uint8_t *pub)
{
	if (!path_len_valid(p->path_len) || pkt_path_count(p) == 0)
		return false;
	return memcmp(p->path, pub, pkt_path_hash_size(p)) == 0;
}

int pkt_trace_add_snr(struct pkt *p, int8_t snr_x4)
{
	/* For TRACE the path bytes are SNRs and path_len is a plain count. */
	if (p->path_len >= PKT_MAX_PATH - 1)
		return ERR_PATH;
	p->path[p->path_len++] = (uint8_t)snr_x4;
	return ERR_OK;
}
