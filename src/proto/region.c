/*
 * region.c - region keys and transport codes (PROTOCOL.md §6.10;
 * TransportKeyStore::getAutoKeyFor, TransportKey::calcTransportCode).
 */
#include <string.h>

#include "crypto/crypto.h"
#include "proto/packet.h"
#include "proto/region.h"
#include "util/buf.h"
#include "util/err.h"

int region_key(const char *name, size_t len, uint8_t key[REGION_KEY_SIZE])
{
	uint8_t digest[CRYPTO_HASH_SIZE];

	if (len == 0)
		return ERR_INVAL;
	if (name[0] == '$')
		return ERR_NOT_FOUND;
	/* "usa" and "#usa" share a key: the '#' is always hashed. */
	if (name[0] == '#')
		hash_sha256(digest, (const uint8_t *)name, len);
	else
		hash_sha256_2(digest, (const uint8_t *)"#", 1, (const uint8_t *)name, len);
	memcpy(key, digest, REGION_KEY_SIZE);
	return ERR_OK;
}

uint16_t region_transport_code(const uint8_t key[REGION_KEY_SIZE], uint8_t type,
                               const uint8_t *payload, size_t len)
{
	uint8_t msg[1 + PKT_MAX_PAYLOAD], mac[CRYPTO_HASH_SIZE];
	uint16_t code;

	if (len > PKT_MAX_PAYLOAD)
		len = PKT_MAX_PAYLOAD;
	msg[0] = type;
	if (len)
		memcpy(msg + 1, payload, len);
	hmac_sha256(mac, key, REGION_KEY_SIZE, msg, 1 + len);
	code = le16_load(mac);
	if (code == 0x0000)
		code = 0x0001;
	else if (code == 0xFFFF)
		code = 0xFFFE;
	return code;
}
