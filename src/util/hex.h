/*
 * hex.h - hex encoding and decoding.
 *
 * hex_encode writes lowercase (protocol documents, JSON); hex_encode_upper
 * writes uppercase, as the firmware CLI prints keys.  Both NUL-terminate.
 */
#ifndef ROOMD_UTIL_HEX_H
#define ROOMD_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*n hex digits and a NUL into out (cap >= 2*n+1); ERR_TOO_BIG if not. */
int hex_encode(char *out, size_t cap, const uint8_t *p, size_t n);
int hex_encode_upper(char *out, size_t cap, const uint8_t *p, size_t n);
/*
 * Decodes the hex string s (len characters, either case) into out.
 * Returns the number of bytes written, or ERR_FORMAT for an odd length or
 * a non-hex character, ERR_TOO_BIG if it does not fit in cap.
 */
int hex_decode(uint8_t *out, size_t cap, const char *s, size_t len);

#endif
