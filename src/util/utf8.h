/*
 * utf8.h - UTF-8 prefix validation.
 *
 * Names in adverts are cut to fit their 32-byte app_data at a code-point
 * boundary (PROTOCOL.md §5.8, the firmware's validUtf8PrefixLength).  The
 * check is strict: overlong forms, surrogates, code points above U+10FFFF and
 * stray continuation bytes end the valid prefix.
 */
#ifndef ROOMD_UTIL_UTF8_H
#define ROOMD_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length of the longest prefix of s[0..len) that is valid UTF-8, contains no
 * NUL and is at most max bytes long.  A code point that would cross max is
 * left out whole.
 */
size_t utf8_valid_prefix_len(const char *s, size_t len, size_t max);

/*
 * Decodes the code point at s (len > 0 bytes available) into *cp and returns
 * its length in bytes (1..4), or 0 if the bytes there are not valid UTF-8
 * (malformed, overlong, a surrogate, above U+10FFFF or cut short).
 */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/*
 * True if s[0..len) is the start of one code point cut short: a lead byte
 * (C2..F4) and fewer continuation bytes than it announces.  What a sender
 * leaves at the end when it cuts a text to a byte limit mid-character.
 */
bool utf8_cut_tail(const char *s, size_t len);

#endif
