/*
 * region.h - region keys and transport codes (PROTOCOL.md §6.10).
 *
 * A scoped flood carries transport_code_1 = HMAC-SHA256(region key,
 * payload type || payload)[0..2] read little-endian, with the reserved
 * values 0x0000 and 0xFFFF moved to 0x0001 and 0xFFFE.
 */
#ifndef ROOMD_PROTO_REGION_H
#define ROOMD_PROTO_REGION_H

#include <stddef.h>
#include <stdint.h>

#define REGION_KEY_SIZE 16

/*
 * The key of a region name (len bytes, case-sensitive): '#name' ->
 * SHA-256("#name")[0..16], 'name' -> the same as '#name'.  ERR_NOT_FOUND for
 * a private '$name' (v1.17.1 has no keystore for them), ERR_INVAL for an
 * empty name.
 */
int region_key(const char *name, size_t len, uint8_t key[REGION_KEY_SIZE]);
/*
 * transport_code_1 of a packet with this type and (final, encrypted) payload;
 * a payload is at most 184 bytes, anything beyond is not hashed.
 */
uint16_t region_transport_code(const uint8_t key[REGION_KEY_SIZE], uint8_t type,
                               const uint8_t *payload, size_t len);

#endif
