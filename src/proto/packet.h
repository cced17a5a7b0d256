/*
 * packet.h - the MeshCore packet: wire codec and packet hash
 * (PROTOCOL.md §2).
 *
 *   header(1) [transport codes 2 x u16le, route types 0 and 3] path_len(1)
 *   path(count * size) payload(rest, 0..184)
 *
 * The decoder follows Dispatcher::tryParsePacket exactly and never reads past
 * its input; each kind of malformed frame has its own error.  No allocation.
 */
#ifndef ROOMD_PROTO_PACKET_H
#define ROOMD_PROTO_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX_PAYLOAD 184
#define PKT_MAX_PATH    64
#define PKT_MAX_FRAME   255
#define PKT_HASH_SIZE   8

enum pkt_route {
	PKT_ROUTE_TRANSPORT_FLOOD = 0,
	PKT_ROUTE_FLOOD = 1,
	PKT_ROUTE_DIRECT = 2,
	PKT_ROUTE_TRANSPORT_DIRECT = 3,
};

enum pkt_type {
	PKT_REQ = 0x00,
	PKT_RESPONSE = 0x01,
	PKT_TXT_MSG = 0x02,
	PKT_ACK = 0x03,
	PKT_ADVERT = 0x04,
	PKT_GRP_TXT = 0x05,
	PKT_GRP_DATA = 0x06,
	PKT_ANON_REQ = 0x07,
	PKT_PATH = 0x08,
	PKT_TRACE = 0x09,
	PKT_MULTIPART = 0x0A,
	PKT_CONTROL = 0x0B,
	PKT_RAW_CUSTOM = 0x0F,
};

struct pkt {
	uint8_t header;
	uint16_t transport[2]; /* meaningful for route types 0 and 3 only */
	uint8_t path_len;      /* the encoded byte: count | (size-1) << 6 */
	uint8_t path[PKT_MAX_PATH];
	uint8_t payload[PKT_MAX_PAYLOAD];
	size_t payload_len;
};

static inline unsigned pkt_route(const struct pkt *p)
{
	return p->header & 0x03;
}
static inline unsigned pkt_type(const struct pkt *p)
{
	return (p->header >> 2) & 0x0F;
}
static inline unsigned pkt_version(const struct pkt *p)
{
	return p->header >> 6;
}
static inline uint8_t pkt_header(unsigned route, unsigned type)
{
	return (uint8_t)((route & 3) | ((type & 0x0F) << 2));
}
static inline bool pkt_is_flood(const struct pkt *p)
{
	return pkt_route(p) == PKT_ROUTE_FLOOD || pkt_route(p) == PKT_ROUTE_TRANSPORT_FLOOD;
}
static inline bool pkt_is_direct(const struct pkt *p)
{
	return !pkt_is_flood(p);
}
static inline bool pkt_has_transport(const struct pkt *p)
{
	return pkt_route(p) == PKT_ROUTE_TRANSPORT_FLOOD ||
	       pkt_route(p) == PKT_ROUTE_TRANSPORT_DIRECT;
}

/* path_len byte helpers (§2.4). */
static inline unsigned path_len_count(uint8_t pl)
{
	return pl & 0x3F;
}
static inline unsigned path_len_hash_size(uint8_t pl)
{
	return (pl >> 6) + 1u;
}
static inline unsigned path_len_bytes(uint8_t pl)
{
	return path_len_count(pl) * path_len_hash_size(pl);
}
/* True if the size code is not 3 and count * size <= 64 (Packet::isValidPathLen). */
bool path_len_valid(uint8_t pl);
/* Encodes a count and hash size (1..3); the caller checks validity. */
static inline uint8_t path_len_make(unsigned hash_size, unsigned count)
{
	return (uint8_t)(((hash_size - 1) << 6) | (count & 0x3F));
}

static inline unsigned pkt_path_count(const struct pkt *p)
{
	return path_len_count(p->path_len);
}
static inline unsigned pkt_path_hash_size(const struct pkt *p)
{
	return path_len_hash_size(p->path_len);
}
static inline unsigned pkt_path_bytes(const struct pkt *p)
{
	return path_len_bytes(p->path_len);
}

/*
 * Parses a radio frame into p (§2.6).  Errors:
 *   ERR_TRUNCATED  empty frame, or it ends inside the transport codes,
 *                  before path_len, or inside the path
 *   ERR_VERSION    payload version bits not 0
 *   ERR_PATH       size code 3, or count * size > 64
 *   ERR_TOO_BIG    frame over 255 bytes or payload over 184
 * A zero-length payload passes (per-type minimums are the mesh layer's).
 */
int pkt_decode(struct pkt *p, const uint8_t *frame, size_t len);
/*
 * Serialises p into out (§2.1).  ERR_PATH for an invalid path_len,
 * ERR_TOO_BIG for a payload over 184 or a frame over cap.
 */
int pkt_encode(const struct pkt *p, uint8_t *out, size_t cap, size_t *len);
/* The packet hash (§2.8): SHA-256(type || [path_len u16 for TRACE] || payload)[0..8). */
void pkt_hash(const struct pkt *p, uint8_t out[PKT_HASH_SIZE]);
/* The frame length pkt_encode would produce. */
size_t pkt_frame_len(const struct pkt *p);

const char *pkt_type_name(unsigned type);
const char *pkt_route_name(unsigned route);

#endif
