/*
 * route_edit.h - the path edits forwarders make (PROTOCOL.md §6.2-§6.4).
 *
 * Only the path and path_len change; header, transport codes and payload
 * stay as they are, so the packet hash is kept (except for TRACE, whose
 * hash covers path_len).
 */
#ifndef ROOMD_PROTO_ROUTE_EDIT_H
#define ROOMD_PROTO_ROUTE_EDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/packet.h"

/*
 * Flood forwarding: appends the first hash-size bytes of pub (the size from
 * path_len).  ERR_PATH if path_len is invalid, (count + 1) * size > 64 or the
 * count is already 63.
 */
int pkt_path_append(struct pkt *p, const uint8_t *pub);
/*
 * Direct forwarding: removes the first entry (this node) and shifts the rest
 * left.  ERR_PATH if the path is empty or path_len invalid.
 */
int pkt_path_consume(struct pkt *p);
/* True if the path has an entry and its first one is pub's prefix. */
bool pkt_path_next_is(const struct pkt *p, const uint8_t *pub);
/*
 * TRACE: appends one SNR byte (SNR x 4, signed) to the path.  ERR_PATH once
 * 63 bytes are collected (path_len must stay below 64 with size code 0).
 */
int pkt_trace_add_snr(struct pkt *p, int8_t snr_x4);

#endif
