/*
 * payload.h - the payloads a room server and its clients exchange
 * (PROTOCOL.md §4 size limits, §5.1-§5.7, §5.9-§5.10).
 *
 * Two layers:
 *   - envelopes: the clear part of an encrypted payload (dest/src hashes, or
 *     the sender's key for ANON_REQ) and the sealed part MAC || ciphertext;
 *     builders encrypt, parsers only split (decryption is dgram_open);
 *   - plaintexts: the fields inside, encoded into and decoded from a flat
 *     buffer (login, login response, text message, PATH, requests...).
 *
 * All pure: no I/O, no clock, no allocation; randomness comes from a struct
 * rng.  Decoders never read past their input and return ERR_TRUNCATED for
 * a short input, ERR_FORMAT for a forbidden value, ERR_TOO_BIG for a field
 * over its cap and ERR_PATH for a bad path_len.  Parsed views that point
 * into the input ("ref" fields) are valid only as long as the input is.
 * Decrypted plaintexts carry their zero padding (§4): text ends at the first
 * 0x00 and trailing zero bytes of binary fields are indistinguishable from
 * padding.
 */
#ifndef ROOMD_PROTO_PAYLOAD_H
#define ROOMD_PROTO_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "proto/packet.h"
#include "util/rng.h"

/* --- envelopes (§5.1, §5.2, §5.9) --------------------------------------- */

#define PL_DGRAM_HDR       2  /* dest hash, src hash (PATH_HASH_SIZE 1 each) */
#define PL_DGRAM_MIN       5  /* Mesh::onRecvPacket */
#define PL_ANON_HDR        33 /* dest hash, sender public key */
#define PL_ANON_MIN        36
#define PL_GRP_HDR         1 /* channel hash */
#define PL_GRP_MIN         4
#define PL_DGRAM_MAX_PLAIN 167 /* len + 2 + 15 <= 184, Mesh::createDatagram */
#define PL_ANON_MAX_PLAIN  136 /* len + 1 + 32 + 15 <= 184, Mesh::createAnonDatagram */
#define PL_GRP_MAX_PLAIN   168 /* len + 1 + 15 <= 184, Mesh::createGroupDatagram */
/* The longest plaintext any envelope can carry once decrypted (184-4-2, in blocks). */
#define PL_MAX_PLAIN 176

/* A peer datagram (REQ, RESPONSE, TXT_MSG, PATH). */
struct dgram {
	uint8_t dest;          /* recipient pub[0] */
	uint8_t src;           /* sender pub[0] */
	const uint8_t *sealed; /* ref: MAC || ciphertext */
	size_t sealed_len;
};

/*
 * Builds dest || src || MAC || ciphertext of pt into out.  ERR_TOO_BIG if
 * pt_len > PL_DGRAM_MAX_PLAIN or out is too small (cap 184 always suffices).
 */
int dgram_build(uint8_t dest, uint8_t src, const uint8_t secret[CRYPTO_SECRET_SIZE],
                const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, size_t *out_len);
/* Splits a datagram payload; ERR_TRUNCATED below PL_DGRAM_MIN bytes. */
int dgram_parse(struct dgram *d, const uint8_t *payload, size_t len);
/*
 * MAC-checks and decrypts a sealed part (of any envelope) into out, padding
 * kept; cap >= sealed_len - 2 (PL_MAX_PLAIN always suffices).  ERR_FORMAT for
 * a ciphertext that is empty or not whole blocks, ERR_AUTH for a wrong MAC.
 */
int sealed_open(const uint8_t *sealed, size_t sealed_len, const uint8_t secret[CRYPTO_SECRET_SIZE],
                uint8_t *out, size_t cap, size_t *out_len);

/* ANON_REQ: the sender's key travels in clear so a stranger can log in. */
struct anon {
	uint8_t dest;
	uint8_t sender_pub[CRYPTO_PUB_SIZE];
	const uint8_t *sealed; /* ref */
	size_t sealed_len;
};

/* ERR_TOO_BIG if pt_len > PL_ANON_MAX_PLAIN or out is too small. */
int anon_build(uint8_t dest, const uint8_t sender_pub[CRYPTO_PUB_SIZE],
               const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t pt_len,
               uint8_t *out, size_t cap, size_t *out_len);
/* ERR_TRUNCATED below PL_ANON_MIN bytes. */
int anon_parse(struct anon *a, const uint8_t *payload, size_t len);

/* GRP_TXT / GRP_DATA: recognised, never decrypted by the room. */
struct grp {
	uint8_t channel;       /* SHA-256(channel secret)[0] */
	const uint8_t *sealed; /* ref: MAC(2) || ciphertext */
	size_t sealed_len;
};

/* ERR_TRUNCATED below PL_GRP_MIN bytes. */
int grp_parse(struct grp *g, const uint8_t *payload, size_t len);

/* --- login (§5.2, §5.3) -------------------------------------------------- */

#define LOGIN_PASSWORD_MAX 15
#define LOGIN_RESP_SIZE    13
#define LOGIN_RESP_OK      0x00 /* RESP_SERVER_LOGIN_OK */
#define LOGIN_FW_LEVEL     1    /* FIRMWARE_VER_LEVEL */

/* The two plaintext layouts: a room needs sync_since, repeaters/sensors do not. */
enum login_form {
	LOGIN_FORM_ROOM = 0,     /* timestamp, sync_since, password */
	LOGIN_FORM_REPEATER = 1, /* timestamp, password */
};

struct login_req {
	uint32_t timestamp;                    /* client clock, replay protection */
	uint32_t sync_since;                   /* room form only: newest post the client has */
	char password[LOGIN_PASSWORD_MAX + 1]; /* NUL-terminated */
};

/*
 * Encodes a login plaintext; the password is cut to 15 bytes like the
 * client does and is written without a terminator.
 */
int login_req_encode(const struct login_req *l, enum login_form form, uint8_t *out, size_t cap,
                     size_t *out_len);
/*
 * Decodes a login plaintext (padding included); the password ends at the
 * first 0x00 or at the end.  ERR_TOO_BIG for a password over 15 bytes (no
 * stored password can match it): timestamp and sync_since are read then,
 * the password left empty, so a room can still charge it as a wrong guess.
 */
int login_req_decode(struct login_req *l, enum login_form form, const uint8_t *pt, size_t len);

/* Permission byte: bits 0-1 are the role. */
enum acl_role {
	ACL_ROLE_GUEST = 0,
	ACL_ROLE_READ_ONLY = 1,
	ACL_ROLE_READ_WRITE = 2,
	ACL_ROLE_ADMIN = 3,
};
#define ACL_ROLE_MASK 0x03

/* The role in a permissions byte (ACL_ROLE_*). */
static inline unsigned acl_role(uint8_t permissions)
{
	return permissions & ACL_ROLE_MASK;
}

/* A permissions byte with its role replaced, the other bits kept. */
static inline uint8_t acl_with_role(uint8_t permissions, unsigned role)
{
	return (uint8_t)((permissions & ~ACL_ROLE_MASK) | (role & ACL_ROLE_MASK));
}

struct login_resp {
	uint32_t timestamp;  /* room clock, not an echo */
	uint8_t code;        /* LOGIN_RESP_OK */
	uint8_t keep_alive;  /* legacy, always 0 in v1.17.1 */
	uint8_t legacy_role; /* login_resp_legacy_role() */
	uint8_t permissions;
	uint8_t random[4];
	uint8_t fw_level; /* LOGIN_FW_LEVEL */
};

/* The legacy role byte for a permissions byte: 1 admin, 2 all-zero "guest", else 0. */
uint8_t login_resp_legacy_role(uint8_t permissions);
/* Writes the 13-byte body. */
int login_resp_encode(const struct login_resp *r, uint8_t *out, size_t cap, size_t *out_len);
/* Reads the first 13 bytes; more (padding) is allowed. */
int login_resp_decode(struct login_resp *r, const uint8_t *p, size_t len);

/* --- TXT_MSG (§5.4) ------------------------------------------------------ */

enum txt_type {
	TXT_PLAIN = 0,
	TXT_CLI = 1,
	TXT_SIGNED = 2, /* room post: 4-byte author prefix, no signature */
};

#define TXT_HDR         5
#define TXT_AUTHOR_SIZE 4
#define TXT_TEXT_MAX    (PL_MAX_PLAIN - TXT_HDR)

struct txt_msg {
	uint32_t timestamp;
	uint8_t type; /* enum txt_type */
	/*
	 * Attempt number.  The flags byte carries attempt & 3; above 3 the
	 * encoder appends 0x00 and the whole attempt byte after the text, and
	 * the decoder reads it back from there.
	 */
	uint8_t attempt;
	uint8_t author[TXT_AUTHOR_SIZE]; /* TXT_SIGNED only */
	char text[TXT_TEXT_MAX + 1];     /* NUL-terminated, no NUL inside */
	size_t text_len;
	/* decode only: the byte after the text's terminator (or 0), which a chat
	 * client echoes in its 6-byte ACK */
	uint8_t tail;
};

static inline uint8_t txt_flags(uint8_t type, uint8_t attempt)
{
	return (uint8_t)((type << 2) | (attempt & 3));
}

/*
 * Encodes a text plaintext.  ERR_INVAL for a NUL inside the text or an
 * unknown type, ERR_TOO_BIG if it exceeds PL_DGRAM_MAX_PLAIN or cap.
 */
int txt_encode(const struct txt_msg *m, uint8_t *out, size_t cap, size_t *out_len);
/*
 * Decodes a text plaintext (padding included).  ERR_TRUNCATED for 5 bytes
 * or less (or no room for the author of TXT_SIGNED), ERR_FORMAT for an unknown type,
 * ERR_TOO_BIG for a text over TXT_TEXT_MAX.
 */
int txt_decode(struct txt_msg *m, const uint8_t *pt, size_t len);

/* --- ACK codes and ACK payloads (§5.5) ----------------------------------- */

#define ACK_CODE_SIZE  4
#define ACK_MULTI_SIZE 5

/* First 4 bytes of SHA-256(m || pub). */
void ack_code(const uint8_t *m, size_t m_len, const uint8_t pub[CRYPTO_PUB_SIZE],
              uint8_t code[ACK_CODE_SIZE]);
/*
 * The code acknowledging a text plaintext: it covers the timestamp, the
 * flags byte as sent, the author prefix for TXT_SIGNED and the text up to
 * its first 0x00 (never the extended-attempt tail or padding).  pub is the
 * client's key in both directions: the sender of a post, the recipient of a
 * push.  ERR_TRUNCATED if the fixed part does not fit.
 */
int ack_code_txt(const uint8_t *pt, size_t len, const uint8_t client_pub[CRYPTO_PUB_SIZE],
                 uint8_t code[ACK_CODE_SIZE]);
/* The code acknowledging a keep-alive REQ: its first 9 bytes, zero-filled if shorter. */
void ack_code_keepalive(const uint8_t *pt, size_t len, const uint8_t client_pub[CRYPTO_PUB_SIZE],
                        uint8_t code[ACK_CODE_SIZE]);

struct ack {
	uint8_t code[ACK_CODE_SIZE];
	const uint8_t *extra; /* ref: bytes after the code (keep-alive count, chat tail) */
	size_t extra_len;
};

int ack_encode(const uint8_t code[ACK_CODE_SIZE], const uint8_t *extra, size_t extra_len,
               uint8_t *out, size_t cap, size_t *out_len);
/* ERR_TRUNCATED below 4 bytes. */
int ack_decode(struct ack *a, const uint8_t *payload, size_t len);
/* The room's unsynced-post count after a keep-alive ACK code, or -1 if absent. */
static inline int ack_unsynced(const struct ack *a)
{
	return a->extra_len ? a->extra[0] : -1;
}

/* MULTIPART (§5.10): (remaining << 4 | inner type) || data. */
#define MULTIPART_MIN 3

struct multipart {
	uint8_t remaining;
	uint8_t type;        /* inner payload type; only PKT_ACK is understood */
	const uint8_t *data; /* ref */
	size_t data_len;
};

/* ERR_TRUNCATED below MULTIPART_MIN bytes. */
int multipart_parse(struct multipart *m, const uint8_t *payload, size_t len);
/* The multi-ACK payload (remaining << 4 | 3) || code; ERR_INVAL if remaining > 15. */
int multiack_encode(uint8_t remaining, const uint8_t code[ACK_CODE_SIZE], uint8_t *out, size_t cap,
                    size_t *out_len);
/* ERR_FORMAT if the inner type is not ACK, ERR_TRUNCATED below 5 bytes. */
int multiack_decode(const uint8_t *payload, size_t len, uint8_t *remaining,
                    uint8_t code[ACK_CODE_SIZE]);

/* --- PATH plaintext (§5.6) ----------------------------------------------- */

#define PATH_EXTRA_NONE  0xFF /* written with 4 random bytes when there is no extra */
#define PATH_NONE_RANDOM 4
#define PATH_MSG_MAX     166 /* path bytes + extra_len + 5 <= 166 (MAX_COMBINED_PATH) */

struct path_msg {
	uint8_t path_len; /* encoded byte, §2.4 */
	uint8_t path[PKT_MAX_PATH];
	uint8_t extra_type;   /* a payload type; decoded as the low nibble */
	const uint8_t *extra; /* ref; decoded: includes the padding */
	size_t extra_len;
};

/*
 * Encodes a PATH plaintext.  With extra_len 0 (or extra_type
 * PATH_EXTRA_NONE) writes 0xFF and 4 bytes from rng.  ERR_PATH for an
 * invalid path_len, ERR_TOO_BIG over the PATH_MSG_MAX rule or cap,
 * ERR_INVAL if randomness is needed and rng is NULL.
 */
int path_msg_encode(const struct path_msg *m, const struct rng *rng, uint8_t *out, size_t cap,
                    size_t *out_len);
/* ERR_PATH for an invalid path_len, ERR_TRUNCATED if the path or the type byte is cut. */
int path_msg_decode(struct path_msg *m, const uint8_t *pt, size_t len);

/* --- REQ and RESPONSE (§5.7) --------------------------------------------- */

enum req_type {
	REQ_GET_STATUS = 0x01,
	REQ_KEEP_ALIVE = 0x02,
	REQ_GET_TELEMETRY = 0x03,
	REQ_GET_ACCESS_LIST = 0x05,
};

#define REQ_HDR  5
#define RESP_HDR 4

struct req {
	uint32_t timestamp;
	uint8_t type;
	const uint8_t *params; /* ref; decoded: includes padding */
	size_t params_len;
};

int req_encode(const struct req *q, uint8_t *out, size_t cap, size_t *out_len);
/* ERR_TRUNCATED below 5 bytes. */
int req_decode(struct req *q, const uint8_t *pt, size_t len);

struct resp {
	uint32_t tag;        /* the request's timestamp */
	const uint8_t *data; /* ref */
	size_t data_len;
};

int resp_encode(const struct resp *r, uint8_t *out, size_t cap, size_t *out_len);
/* ERR_TRUNCATED below 4 bytes. */
int resp_decode(struct resp *r, const uint8_t *pt, size_t len);

/* Keep-alive: timestamp || 0x02 || forceSince u32 (always written; 0 reads as absent). */
#define KEEPALIVE_SIZE 9
int keepalive_encode(uint32_t timestamp, uint32_t force_since, uint8_t *out, size_t cap,
                     size_t *out_len);
/* ERR_FORMAT if not a KEEP_ALIVE request; force_since is 0 when absent. */
int keepalive_decode(const uint8_t *pt, size_t len, uint32_t *timestamp, uint32_t *force_since);

/* GET_STATUS reply body after the tag: 52 bytes, no padding. */
#define SERVER_STATS_SIZE 52

/* error flags */
#define STATS_ERR_POOL  0x01 /* packet pool exhausted */
#define STATS_ERR_BUSY  0x02 /* channel-busy timeout */
#define STATS_ERR_STUCK 0x04 /* radio out of RX for more than 8 s */

struct server_stats {
	uint16_t batt_mv;
	uint16_t queue_len;
	int16_t noise_floor;
	int16_t last_rssi;
	uint32_t n_recv;
	uint32_t n_sent;
	uint32_t air_secs;
	uint32_t uptime_secs;
	uint32_t n_sent_flood;
	uint32_t n_sent_direct;
	uint32_t n_recv_flood;
	uint32_t n_recv_direct;
	uint16_t err_flags;
	int16_t last_snr_x4;
	uint16_t n_direct_dups;
	uint16_t n_flood_dups;
	uint16_t n_posted;
	uint16_t n_post_push;
};

int stats_encode(const struct server_stats *s, uint8_t *out, size_t cap, size_t *out_len);
int stats_decode(struct server_stats *s, const uint8_t *p, size_t len);

/* GET_ACCESS_LIST reply entries: pub prefix(6) || permissions(1). */
#define ACL_PREFIX_SIZE 6
#define ACL_ENTRY_SIZE  7
#define ACL_LIST_MAX    180 /* entries are added while offset + 7 <= 180 (tag included) */

struct acl_entry {
	uint8_t prefix[ACL_PREFIX_SIZE];
	uint8_t permissions;
};

/*
 * Writes tag || entries, as many as fit under ACL_LIST_MAX (and cap);
 * *n_written says how many.
 */
int acl_list_encode(uint32_t tag, const struct acl_entry *e, size_t n, uint8_t *out, size_t cap,
                    size_t *out_len, size_t *n_written);
/*
 * Reads entries from the data after the tag.  Stops at the end, at a partial
 * entry or at an all-zero entry (padding: an admin entry is never all zero).
 * ERR_TOO_BIG if more than max entries are present.
 */
int acl_list_decode(const uint8_t *data, size_t len, struct acl_entry *e, size_t max, size_t *n);

/* --- CONTROL and TRACE headers (§5.10) ----------------------------------- */

#define CONTROL_DISCOVER_REQ  0x8
#define CONTROL_DISCOVER_RESP 0x9
#define CONTROL_FLAG_APP      0x80

struct control {
	uint8_t flags;
	uint8_t subtype;     /* flags >> 4 */
	const uint8_t *data; /* ref: after the flags byte */
	size_t data_len;
};

/* ERR_TRUNCATED for an empty payload. */
int control_parse(struct control *c, const uint8_t *payload, size_t len);

#define TRACE_HDR 9

struct trace {
	uint32_t tag;
	uint32_t auth;
	uint8_t flags;
	uint8_t hash_size;     /* 1 << (flags & 3): 1, 2, 4 or 8 */
	const uint8_t *hashes; /* ref */
	size_t hash_count;
};

/*
 * ERR_TRUNCATED below 9 bytes, ERR_FORMAT if the hash list is not a whole
 * number of hashes.
 */
int trace_parse(struct trace *t, const uint8_t *payload, size_t len);
/* hashes: hash_count * (1 << (flags & 3)) bytes. */
int trace_encode(uint32_t tag, uint32_t auth, uint8_t flags, const uint8_t *hashes,
                 size_t hash_count, uint8_t *out, size_t cap, size_t *out_len);

#endif
