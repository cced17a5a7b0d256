/*
 * json.h - the one JSON string writer of every program (RFC 8259 §7).
 *
 * roomc's events and data files, roomctl --json, kissprobe's report and
 * meshair's trace and control replies all write their strings through
 * json_str, so a text reads the same in each.  Policy for the bytes of s:
 *   - valid UTF-8 passes through unchanged (emoji, accents, any script);
 *   - each byte that does not start a valid UTF-8 sequence becomes U+FFFD
 *     (overlongs, surrogates, stray continuation bytes, cut sequences);
 *   - '"' and '\' are escaped, and so is every control character: \b \f \n
 *     \r \t by name, the rest of U+0000..U+001F, DEL, the C1 controls
 *     U+0080..U+009F and U+2028/U+2029 (line breaks to JavaScript) as \uXXXX.
 * The output is plain ASCII punctuation plus valid UTF-8: any JSON parser
 * reads it, and it holds no raw control character for a terminal or a
 * line-oriented reader.  Pure: no allocation, no I/O.
 */
#ifndef ROOMD_UTIL_JSON_H
#define ROOMD_UTIL_JSON_H

#include <stddef.h>

/* The most json_str can need for n input bytes, quotes and NUL included. */
#define JSON_STR_MAX(n) (6 * (size_t)(n) + 3)

/*
 * Writes s[0..len) as one JSON string literal, quotes included, into dst
 * (cap bytes, NUL included; dst may be NULL when cap is 0).  Returns the
 * length of the whole literal without the NUL, as snprintf does: a result
 * >= cap means dst holds a cut (invalid) prefix and the caller must treat
 * the value as too big.  With cap > 0, dst is always NUL-terminated.
 */
size_t json_str(char *dst, size_t cap, const char *s, size_t len);

#endif
