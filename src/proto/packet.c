/*
 * packet.c - MeshCore packet codec and hash (PROTOCOL.md §2).
 *
 * Decoding follows Dispatcher::tryParsePacket step by step: version, then
 * transport codes, then path_len validity, then the path bounds, then the
 * payload cap.  The hash deliberately covers only the payload type and the
 * payload, so a flood keeps one identity at every hop; TRACE alone also
 * hashes path_len, as two bytes, because the firmware's field is a uint16_t.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "proto/packet.h"
#include "util/buf.h"
#include "util/err.h"

bool path_len_valid(uint8_t pl)
{
	if ((pl >> 6) == 3)
		return false;
	return path_len_bytes(pl) <= PKT_MAX_PATH;
}

int pkt_decode(struct pkt *p, const uint8_t *frame, size_t len)
{
	struct rbuf r;
	size_t path_bytes;

	if (len > PKT_MAX_FRAME)
		return ERR_TOO_BIG;
	rbuf_init(&r, frame, len);
	memset(p, 0, offsetof(struct pkt, path));
	p->payload_len = 0;
	if (rbuf_get_u8(&r, &p->header))
		return ERR_TRUNCATED;
	if (pkt_version(p) != 0)
		return ERR_VERSION;
	if (pkt_has_transport(p)) {
		if (rbuf_get_le16(&r, &p->transport[0]) || rbuf_get_le16(&r, &p->transport[1]))
			return ERR_TRUNCATED;
	}
	if (rbuf_get_u8(&r, &p->path_len))
		return ERR_TRUNCATED;
	if (!path_len_valid(p->path_len))
		return ERR_PATH;
	path_bytes = path_len_bytes(p->path_len);
	if (rbuf_get_bytes(&r, p->path, path_bytes))
		return ERR_TRUNCATED;
	if (rbuf_left(&r) > PKT_MAX_PAYLOAD)
		return ERR_TOO_BIG;
	p->payload_len = rbuf_left(&r);
	return rbuf_get_bytes(&r, p->payload, p->payload_len);
}

size_t pkt_frame_len(const struct pkt *p)
{
	return 1 + (pkt_has_transport(p) ? 4 : 0) + 1 + pkt_path_bytes(p) + p->payload_len;
}

int pkt_encode(const struct pkt *p, uint8_t *out, size_t cap, size_t *len)
{
	struct wbuf w;

	if (!path_len_valid(p->path_len))
		return ERR_PATH;
	if (p->payload_len > PKT_MAX_PAYLOAD)
		return ERR_TOO_BIG;
	wbuf_init(&w, out, cap);
	wbuf_put_u8(&w, p->header);
	if (pkt_has_transport(p)) {
		wbuf_put_le16(&w, p->transport[0]);
		wbuf_put_le16(&w, p->transport[1]);
	}
	wbuf_put_u8(&w, p->path_len);
	wbuf_put_bytes(&w, p->path, pkt_path_bytes(p));
	wbuf_put_bytes(&w, p->payload, p->payload_len);
	if (w.err)
		return w.err;
	*len = w.len;
	return ERR_OK;
}

void pkt_hash(const struct pkt *p, uint8_t out[PKT_HASH_SIZE])
{
	uint8_t pre[3], digest[CRYPTO_HASH_SIZE];
	size_t pre_len = 0;

	pre[pre_len++] = (uint8_t)pkt_type(p);
	if (pkt_type(p) == PKT_TRACE) {
		pre[pre_len++] = p->path_len;
		pre[pre_len++] = 0;
	}
	hash_sha256_2(digest, pre, pre_len, p->payload, p->payload_len);
	memcpy(out, digest, PKT_HASH_SIZE);
}

const char *pkt_type_name(unsigned type)
{
	static const char *names[16] = {
	    "REQ",        "RESPONSE",   "TXT_MSG",    "ACK",        "ADVERT",    "GRP_TXT",
	    "GRP_DATA",   "ANON_REQ",   "PATH",       "TRACE",      "MULTIPART", "CONTROL",
	    "RESERVED_C", "RESERVED_D", "RESERVED_E", "RAW_CUSTOM",
	};
	return names[type & 0x0F];
}

const char *pkt_route_name(unsigned route)
{
	static const char *names[4] = {"TRANSPORT_FLOOD", "FLOOD", "DIRECT", "TRANSPORT_DIRECT"};
	return names[route & 3];
}
