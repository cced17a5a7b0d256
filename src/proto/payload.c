/*
 * payload.c - envelopes and the login, text, ACK, PATH, CONTROL and TRACE
 * payloads (PROTOCOL.md §4, §5.1-§5.6, §5.9, §5.10).
 *
 * Builders write through a struct wbuf and check once at the end; parsers
 * read through a struct rbuf, so no field access can run past the input.
 * Requests, responses and their bodies are in request.c.
 */
#include <string.h>

#include "proto/payload.h"
#include "util/buf.h"
#include "util/err.h"

/* Encrypts pt after a clear header already written to out[0..hdr_len). */
static int seal_after(size_t hdr_len, const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt,
                      size_t pt_len, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t sealed_len;
	int rc;

	rc = cipher_encrypt(secret, pt, pt_len, out + hdr_len, cap - hdr_len, &sealed_len);
	if (rc)
		return rc;
	*out_len = hdr_len + sealed_len;
	return ERR_OK;
}

/* --- envelopes ------------------------------------------------------------ */

int dgram_build(uint8_t dest, uint8_t src, const uint8_t secret[CRYPTO_SECRET_SIZE],
                const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, size_t *out_len)
{
	if (pt_len > PL_DGRAM_MAX_PLAIN || cap < PL_DGRAM_HDR)
		return ERR_TOO_BIG;
	out[0] = dest;
	out[1] = src;
	return seal_after(PL_DGRAM_HDR, secret, pt, pt_len, out, cap, out_len);
}

int dgram_parse(struct dgram *d, const uint8_t *payload, size_t len)
{
	if (len < PL_DGRAM_MIN)
		return ERR_TRUNCATED;
	d->dest = payload[0];
	d->src = payload[1];
	d->sealed = payload + PL_DGRAM_HDR;
	d->sealed_len = len - PL_DGRAM_HDR;
	return ERR_OK;
}

int sealed_open(const uint8_t *sealed, size_t sealed_len, const uint8_t secret[CRYPTO_SECRET_SIZE],
                uint8_t *out, size_t cap, size_t *out_len)
{
	return cipher_decrypt(secret, sealed, sealed_len, out, cap, out_len);
}

int anon_build(uint8_t dest, const uint8_t sender_pub[CRYPTO_PUB_SIZE],
               const uint8_t secret[CRYPTO_SECRET_SIZE], const uint8_t *pt, size_t pt_len,
               uint8_t *out, size_t cap, size_t *out_len)
{
	if (pt_len > PL_ANON_MAX_PLAIN || cap < PL_ANON_HDR)
		return ERR_TOO_BIG;
	out[0] = dest;
	memcpy(out + 1, sender_pub, CRYPTO_PUB_SIZE);
	return seal_after(PL_ANON_HDR, secret, pt, pt_len, out, cap, out_len);
}

int anon_parse(struct anon *a, const uint8_t *payload, size_t len)
{
	if (len < PL_ANON_MIN)
		return ERR_TRUNCATED;
	a->dest = payload[0];
	memcpy(a->sender_pub, payload + 1, CRYPTO_PUB_SIZE);
	a->sealed = payload + PL_ANON_HDR;
	a->sealed_len = len - PL_ANON_HDR;
	return ERR_OK;
}

int grp_parse(struct grp *g, const uint8_t *payload, size_t len)
{
	if (len < PL_GRP_MIN)
		return ERR_TRUNCATED;
	g->channel = payload[0];
	g->sealed = payload + PL_GRP_HDR;
	g->sealed_len = len - PL_GRP_HDR;
	return ERR_OK;
}

/* --- login ---------------------------------------------------------------- */

int login_req_encode(const struct login_req *l, enum login_form form, uint8_t *out, size_t cap,
                     size_t *out_len)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, l->timestamp);
	if (form == LOGIN_FORM_ROOM)
		wbuf_put_le32(&w, l->sync_since);
	wbuf_put_bytes(&w, l->password, strnlen(l->password, LOGIN_PASSWORD_MAX));
	return wbuf_finish(&w, out_len);
}

int login_req_decode(struct login_req *l, enum login_form form, const uint8_t *pt, size_t len)
{
	struct rbuf r;
	size_t pw_len;

	memset(l, 0, sizeof(*l));
	rbuf_init(&r, pt, len);
	if (rbuf_get_le32(&r, &l->timestamp))
		return ERR_TRUNCATED;
	if (form == LOGIN_FORM_ROOM && rbuf_get_le32(&r, &l->sync_since))
		return ERR_TRUNCATED;
	/* The password has no terminator: the zero padding ends it. */
	pw_len = strnlen((const char *)rbuf_cur(&r), rbuf_left(&r));
	if (pw_len > LOGIN_PASSWORD_MAX)
		return ERR_TOO_BIG;
	memcpy(l->password, rbuf_cur(&r), pw_len);
	return ERR_OK;
}

uint8_t login_resp_legacy_role(uint8_t permissions)
{
	if (acl_role(permissions) == ACL_ROLE_ADMIN)
		return 1;
	if (permissions == 0)
		return 2;
	return 0;
}

int login_resp_encode(const struct login_resp *r, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, r->timestamp);
	wbuf_put_u8(&w, r->code);
	wbuf_put_u8(&w, r->keep_alive);
	wbuf_put_u8(&w, r->legacy_role);
	wbuf_put_u8(&w, r->permissions);
	wbuf_put_bytes(&w, r->random, sizeof(r->random));
	wbuf_put_u8(&w, r->fw_level);
	return wbuf_finish(&w, out_len);
}

int login_resp_decode(struct login_resp *r, const uint8_t *p, size_t len)
{
	struct rbuf b;

	if (len < LOGIN_RESP_SIZE)
		return ERR_TRUNCATED;
	rbuf_init(&b, p, len);
	rbuf_get_le32(&b, &r->timestamp);
	rbuf_get_u8(&b, &r->code);
	rbuf_get_u8(&b, &r->keep_alive);
	rbuf_get_u8(&b, &r->legacy_role);
	rbuf_get_u8(&b, &r->permissions);
	rbuf_get_bytes(&b, r->random, sizeof(r->random));
	rbuf_get_u8(&b, &r->fw_level);
	return ERR_OK;
}

/* --- TXT_MSG -------------------------------------------------------------- */

static size_t txt_prefix_len(uint8_t type)
{
	return TXT_HDR + (type == TXT_SIGNED ? TXT_AUTHOR_SIZE : 0);
}

int txt_encode(const struct txt_msg *m, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w;

	if (m->type > TXT_SIGNED || m->text_len > TXT_TEXT_MAX || memchr(m->text, 0, m->text_len))
		return ERR_INVAL;
	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, m->timestamp);
	wbuf_put_u8(&w, txt_flags(m->type, m->attempt));
	if (m->type == TXT_SIGNED)
		wbuf_put_bytes(&w, m->author, TXT_AUTHOR_SIZE);
	wbuf_put_bytes(&w, m->text, m->text_len);
	/* BaseChatMesh::composeMsgPacket: attempts above 3 ride after a NUL. */
	if (m->attempt > 3) {
		wbuf_put_u8(&w, 0);
		wbuf_put_u8(&w, m->attempt);
	}
	if (!w.err && w.len > PL_DGRAM_MAX_PLAIN)
		return ERR_TOO_BIG;
	return wbuf_finish(&w, out_len);
}

int txt_decode(struct txt_msg *m, const uint8_t *pt, size_t len)
{
	struct rbuf r;
	uint8_t flags;
	size_t text_len;

	memset(m, 0, sizeof(*m));
	if (len <= TXT_HDR)
		return ERR_TRUNCATED;
	rbuf_init(&r, pt, len);
	rbuf_get_le32(&r, &m->timestamp);
	rbuf_get_u8(&r, &flags);
	m->type = flags >> 2;
	m->attempt = flags & 3;
	if (m->type > TXT_SIGNED)
		return ERR_FORMAT;
	if (m->type == TXT_SIGNED && rbuf_get_bytes(&r, m->author, TXT_AUTHOR_SIZE))
		return ERR_TRUNCATED;
	text_len = strnlen((const char *)rbuf_cur(&r), rbuf_left(&r));
	if (text_len > TXT_TEXT_MAX)
		return ERR_TOO_BIG;
	memcpy(m->text, rbuf_cur(&r), text_len);
	m->text[text_len] = '\0';
	m->text_len = text_len;
	rbuf_skip(&r, text_len);
	if (rbuf_left(&r) >= 2) {
		m->tail = rbuf_cur(&r)[1];
		if (m->tail > 3)
			m->attempt = m->tail;
	}
	return ERR_OK;
}

/* --- ACKs ----------------------------------------------------------------- */

void ack_code(const uint8_t *m, size_t m_len, const uint8_t pub[CRYPTO_PUB_SIZE],
              uint8_t code[ACK_CODE_SIZE])
{
	uint8_t digest[CRYPTO_HASH_SIZE];

	hash_sha256_2(digest, m, m_len, pub, CRYPTO_PUB_SIZE);
	memcpy(code, digest, ACK_CODE_SIZE);
}

int ack_code_txt(const uint8_t *pt, size_t len, const uint8_t client_pub[CRYPTO_PUB_SIZE],
                 uint8_t code[ACK_CODE_SIZE])
{
	size_t prefix;

	if (len < TXT_HDR)
		return ERR_TRUNCATED;
	prefix = txt_prefix_len(pt[4] >> 2);
	if (len < prefix)
		return ERR_TRUNCATED;
	ack_code(pt, prefix + strnlen((const char *)pt + prefix, len - prefix), client_pub, code);
	return ERR_OK;
}

void ack_code_keepalive(const uint8_t *pt, size_t len, const uint8_t client_pub[CRYPTO_PUB_SIZE],
                        uint8_t code[ACK_CODE_SIZE])
{
	/* An absent forceSince is hashed as the zeros the padding puts there. */
	uint8_t m[KEEPALIVE_SIZE] = {0};

	memcpy(m, pt, len < KEEPALIVE_SIZE ? len : KEEPALIVE_SIZE);
	ack_code(m, KEEPALIVE_SIZE, client_pub, code);
}

int ack_encode(const uint8_t code[ACK_CODE_SIZE], const uint8_t *extra, size_t extra_len,
               uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w;

	if (ACK_CODE_SIZE + extra_len > PKT_MAX_PAYLOAD)
		return ERR_TOO_BIG;
	wbuf_init(&w, out, cap);
	wbuf_put_bytes(&w, code, ACK_CODE_SIZE);
	wbuf_put_bytes(&w, extra, extra_len);
	return wbuf_finish(&w, out_len);
}

int ack_decode(struct ack *a, const uint8_t *payload, size_t len)
{
	if (len < ACK_CODE_SIZE)
		return ERR_TRUNCATED;
	memcpy(a->code, payload, ACK_CODE_SIZE);
	a->extra = payload + ACK_CODE_SIZE;
	a->extra_len = len - ACK_CODE_SIZE;
	return ERR_OK;
}

int multipart_parse(struct multipart *m, const uint8_t *payload, size_t len)
{
	if (len < MULTIPART_MIN)
		return ERR_TRUNCATED;
	m->remaining = payload[0] >> 4;
	m->type = payload[0] & 0x0F;
	m->data = payload + 1;
	m->data_len = len - 1;
	return ERR_OK;
}

int multiack_encode(uint8_t remaining, const uint8_t code[ACK_CODE_SIZE], uint8_t *out, size_t cap,
                    size_t *out_len)
{
	struct wbuf w;

	if (remaining > 15)
		return ERR_INVAL;
	wbuf_init(&w, out, cap);
	wbuf_put_u8(&w, (uint8_t)((remaining << 4) | PKT_ACK));
	wbuf_put_bytes(&w, code, ACK_CODE_SIZE);
	return wbuf_finish(&w, out_len);
}

int multiack_decode(const uint8_t *payload, size_t len, uint8_t *remaining,
                    uint8_t code[ACK_CODE_SIZE])
{
	struct multipart m;
	int rc = multipart_parse(&m, payload, len);

	if (rc)
		return rc;
	if (m.type != PKT_ACK)
		return ERR_FORMAT;
	if (m.data_len < ACK_CODE_SIZE)
		return ERR_TRUNCATED;
	*remaining = m.remaining;
	memcpy(code, m.data, ACK_CODE_SIZE);
	return ERR_OK;
}

/* --- PATH ----------------------------------------------------------------- */

int path_msg_encode(const struct path_msg *m, const struct rng *rng, uint8_t *out, size_t cap,
                    size_t *out_len)
{
	bool none = m->extra_len == 0 || m->extra_type == PATH_EXTRA_NONE;
	uint8_t nonce[PATH_NONE_RANDOM];
	struct wbuf w;

	if (!path_len_valid(m->path_len))
		return ERR_PATH;
	if (path_len_bytes(m->path_len) + (none ? 0 : m->extra_len) + 5 > PATH_MSG_MAX)
		return ERR_TOO_BIG;
	if (none && !rng)
		return ERR_INVAL;
	wbuf_init(&w, out, cap);
	wbuf_put_u8(&w, m->path_len);
	wbuf_put_bytes(&w, m->path, path_len_bytes(m->path_len));
	if (none) {
		/* Random bytes keep every PATH (and its packet hash) unique. */
		rng_fill(rng, nonce, sizeof(nonce));
		wbuf_put_u8(&w, PATH_EXTRA_NONE);
		wbuf_put_bytes(&w, nonce, sizeof(nonce));
	} else {
		wbuf_put_u8(&w, m->extra_type);
		wbuf_put_bytes(&w, m->extra, m->extra_len);
	}
	return wbuf_finish(&w, out_len);
}

int path_msg_decode(struct path_msg *m, const uint8_t *pt, size_t len)
{
	struct rbuf r;
	uint8_t type;

	rbuf_init(&r, pt, len);
	if (rbuf_get_u8(&r, &m->path_len))
		return ERR_TRUNCATED;
	if (!path_len_valid(m->path_len))
		return ERR_PATH;
	if (rbuf_get_bytes(&r, m->path, path_len_bytes(m->path_len)))
		return ERR_TRUNCATED;
	if (rbuf_get_u8(&r, &type))
		return ERR_TRUNCATED;
	/* The upper nibble is reserved and ignored (Mesh::onRecvPacket). */
	m->extra_type = type & 0x0F;
	m->extra = rbuf_cur(&r);
	m->extra_len = rbuf_left(&r);
	return ERR_OK;
}

/* --- CONTROL and TRACE ---------------------------------------------------- */

int control_parse(struct control *c, const uint8_t *payload, size_t len)
{
	if (len < 1)
		return ERR_TRUNCATED;
	c->flags = payload[0];
	c->subtype = payload[0] >> 4;
	c->data = payload + 1;
	c->data_len = len - 1;
	return ERR_OK;
}

int trace_parse(struct trace *t, const uint8_t *payload, size_t len)
{
	struct rbuf r;
	size_t list_len;

	rbuf_init(&r, payload, len);
	if (rbuf_get_le32(&r, &t->tag) || rbuf_get_le32(&r, &t->auth) || rbuf_get_u8(&r, &t->flags))
		return ERR_TRUNCATED;
	t->hash_size = (uint8_t)(1u << (t->flags & 3));
	list_len = rbuf_left(&r);
	if (list_len % t->hash_size)
		return ERR_FORMAT;
	t->hashes = rbuf_cur(&r);
	t->hash_count = list_len / t->hash_size;
	return ERR_OK;
}

int trace_encode(uint32_t tag, uint32_t auth, uint8_t flags, const uint8_t *hashes,
                 size_t hash_count, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t list_len = hash_count << (flags & 3);
	struct wbuf w;

	if (hash_count > PKT_MAX_PAYLOAD || TRACE_HDR + list_len > PKT_MAX_PAYLOAD)
		return ERR_TOO_BIG;
	wbuf_init(&w, out, cap);
	wbuf_put_le32(&w, tag);
	wbuf_put_le32(&w, auth);
	wbuf_put_u8(&w, flags);
	wbuf_put_bytes(&w, hashes, list_len);
	return wbuf_finish(&w, out_len);
}
