/*
 * fedmsg.c - encoding, decoding and signing of federation messages (fedmsg.h).
 */
#include "fed/fedmsg.h"

#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"

int fed_site_valid(const char *s)
{
	size_t n = strnlen(s, FED_SITE_MAX + 1);
	if (n == 0 || n > FED_SITE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void put_le64(struct wbuf *w, uint64_t v)
{
	wbuf_put_le32(w, (uint32_t)v);
	wbuf_put_le32(w, (uint32_t)(v >> 32));
}

static int get_le64(struct rbuf *r, uint64_t *v)
{
	uint32_t lo, hi;
	if (rbuf_get_le32(r, &lo) || rbuf_get_le32(r, &hi))
		return ERR_TRUNCATED;
	*v = (uint64_t)hi << 32 | lo;
	return ERR_OK;
}

static int put_site(struct wbuf *w, const char *s)
{
	if (!fed_site_valid(s))
		return ERR_INVAL;
	size_t n = strlen(s);
	wbuf_put_u8(w, (uint8_t)n);
	wbuf_put_bytes(w, s, n);
	return ERR_OK;
}

static int get_site(struct rbuf *r, char out[FED_SITE_MAX + 1])
{
	uint8_t n;
	if (rbuf_get_u8(r, &n) || n == 0 || n > FED_SITE_MAX || rbuf_get_bytes(r, out, n))
		return ERR_FORMAT;
	out[n] = 0;
	/* a NUL inside would make two encodings of one name */
	return !memchr(out, 0, n) && fed_site_valid(out) ? ERR_OK : ERR_FORMAT;
}

/* A hello page's origins ascend, all above `after`; a page with more after
 * it is not empty (its last origin bounds it). */
static int hello_ok(const struct fed_hello *h)
{
	if (h->n > FED_HELLO_MAX || ((h->flags & FED_HELLO_MORE) && h->n == 0))
		return 0;
	if (h->after[0] && !fed_site_valid(h->after))
		return 0;
	for (unsigned i = 0; i < h->n; i++)
		if (strcmp(h->hw[i].site, i ? h->hw[i - 1].site : h->after) <= 0)
			return 0;
	return 1;
}

static int text_ok(const char *t, size_t n)
{
	return n <= FED_TEXT_MAX && memchr(t, 0, n) == NULL && utf8_valid_prefix_len(t, n, n) == n;
}

/* The passwords' key: of the room's private key, so any site can read them. */
static void settings_key(const uint8_t *prv, uint8_t key[32])
{
	static const char label[] = "roomd fed settings v1";
	hash_sha256_2(key, (const uint8_t *)label, sizeof(label) - 1, prv, CRYPTO_PRV_SIZE);
}

static void settings_nonce(const char *site, uint32_t version, uint8_t nonce[24])
{
	uint8_t h[CRYPTO_HASH_SIZE], v[4];
	le32_store(v, version);
	hash_sha256_2(h, (const uint8_t *)site, strlen(site), v, 4);
	memcpy(nonce, h, 24);
}

static int pass_ok(const char *p, size_t n)
{
	return n >= 1 && n <= FED_PASS_MAX && memchr(p, 0, n) == NULL;
}

int fed_settings_open(struct fed_msg *m, const struct ident *id)
{
	struct fed_settings *st = &m->u.set;
	uint8_t key[32], nonce[24], both[2 * FED_PASS_MAX];
	size_t al = st->admin_len, gl = st->guest_len;
	if (m->kind != FED_SETTINGS || al > FED_PASS_MAX || gl > FED_PASS_MAX)
		return ERR_INVAL;
	settings_key(id->prv, key);
	settings_nonce(m->site, st->version, nonce);
	memcpy(both, st->admin, al);
	memcpy(both + al, st->guest, gl);
	stream_xor(both, al + gl, nonce, key);
	memcpy(st->admin, both, al);
	st->admin[al] = 0;
	memcpy(st->guest, both + al, gl);
	st->guest[gl] = 0;
	crypto_wipe(both, sizeof(both));
	crypto_wipe(key, sizeof(key));
	return pass_ok(st->admin, al) && pass_ok(st->guest, gl) ? ERR_OK : ERR_FORMAT;
}

static int encode_settings(struct wbuf *w, const struct fed_msg *m, const struct ident *id)
{
	const struct fed_settings *st = &m->u.set;
	size_t nl = strnlen(st->name, FED_NAME_MAX + 1), al = strnlen(st->admin, FED_PASS_MAX + 1),
	       gl = strnlen(st->guest, FED_PASS_MAX + 1);
	uint8_t key[32], nonce[24], both[2 * FED_PASS_MAX];
	if (nl > FED_NAME_MAX || !text_ok(st->name, nl) || !pass_ok(st->admin, al) ||
	    !pass_ok(st->guest, gl) || st->allow_read_only > 1)
		return ERR_INVAL;
	settings_key(id->prv, key);
	settings_nonce(m->site, st->version, nonce);
	wbuf_put_le32(w, st->version);
	wbuf_put_u8(w, (uint8_t)nl);
	wbuf_put_bytes(w, st->name, nl);
	wbuf_put_u8(w, st->allow_read_only);
	wbuf_put_bytes(w, nonce, 24);
	/* one keystream over both: admin, then guest */
	memcpy(both, st->admin, al);
	memcpy(both + al, st->guest, gl);
	stream_xor(both, al + gl, nonce, key);
	wbuf_put_u8(w, (uint8_t)al);
	wbuf_put_bytes(w, both, al);
	wbuf_put_u8(w, (uint8_t)gl);
	wbuf_put_bytes(w, both + al, gl);
	crypto_wipe(both, sizeof(both));
	crypto_wipe(key, sizeof(key));
	return ERR_OK;
}

static int encode_body(struct wbuf *w, const struct fed_msg *m, const struct ident *id)
{
	int rc = ERR_OK;

	switch (m->kind) {
	case FED_POST: {
		const struct fed_post *p = &m->u.post;
		if (!text_ok(p->text, p->text_len) || p->seq == 0)
			return ERR_INVAL;
		rc = put_site(w, p->origin);
		put_le64(w, p->seq);
		wbuf_put_le32(w, p->origin_ts);
		wbuf_put_le32(w, p->sender_ts);
		wbuf_put_bytes(w, p->author, CRYPTO_PUB_SIZE);
		wbuf_put_u8(w, p->text_len);
		wbuf_put_bytes(w, p->text, p->text_len);
		break;
	}
	case FED_MEMBER: {
		const struct fed_member *mb = &m->u.member;
		wbuf_put_bytes(w, mb->pub, CRYPTO_PUB_SIZE);
		wbuf_put_u8(w, mb->perms);
		wbuf_put_le32(w, mb->sync_since);
		wbuf_put_le32(w, mb->last_ts);
		wbuf_put_le32(w, mb->heard_ts);
		rc = put_site(w, mb->heard);
		wbuf_put_le32(w, mb->role_ver);
		if (!rc)
			rc = put_site(w, mb->role_site);
		if (mb->removed > 1)
			return ERR_INVAL;
		wbuf_put_u8(w, mb->removed);
		break;
	}
	case FED_HELLO: {
		const struct fed_hello *h = &m->u.hello;
		if (!hello_ok(h))
			return ERR_INVAL;
		wbuf_put_u8(w, h->flags);
		if (h->after[0]) {
			rc = put_site(w, h->after);
		} else {
			wbuf_put_u8(w, 0);
		}
		wbuf_put_u8(w, h->n);
		for (unsigned i = 0; i < h->n && !rc; i++) {
			rc = put_site(w, h->hw[i].site);
			put_le64(w, h->hw[i].hw);
		}
		break;
	}
	case FED_BAN:
		wbuf_put_bytes(w, m->u.ban.pub, CRYPTO_PUB_SIZE);
		wbuf_put_u8(w, m->u.ban.banned ? 1 : 0);
		wbuf_put_le32(w, m->u.ban.when);
		break;
	case FED_DELETE:
		if (m->u.del.seq == 0)
			return ERR_INVAL;
		rc = put_site(w, m->u.del.origin);
		put_le64(w, m->u.del.seq);
		break;
	case FED_SETTINGS: return encode_settings(w, m, id);
	default: return ERR_INVAL;
	}
	return rc;
}

int fed_encode(const struct fed_msg *m, const struct ident *id, uint8_t *out, size_t cap,
               size_t *len)
{
	struct wbuf w;
	int rc = ERR_OK;

	wbuf_init(&w, out, cap);
	wbuf_put_bytes(&w, FED_MAGIC, 4);
	wbuf_put_u8(&w, m->kind);
	wbuf_put_bytes(&w, id->pub, CRYPTO_PUB_SIZE);
	if (put_site(&w, m->site))
		return ERR_INVAL;
	put_le64(&w, m->sent_ms);
	rc = encode_body(&w, m, id);
	if (rc)
		return rc;
	if (w.err || w.cap - w.len < CRYPTO_SIG_SIZE)
		return ERR_TOO_BIG;
	rc = ident_sign(id, out, w.len, out + w.len);
	if (rc)
		return rc;
	*len = w.len + CRYPTO_SIG_SIZE;
	return ERR_OK;
}

static int decode_body(struct rbuf *r, struct fed_msg *m)
{
	switch (m->kind) {
	case FED_POST: {
		struct fed_post *p = &m->u.post;
		if (get_site(r, p->origin) || get_le64(r, &p->seq) || p->seq == 0 ||
		    rbuf_get_le32(r, &p->origin_ts) || rbuf_get_le32(r, &p->sender_ts) ||
		    rbuf_get_bytes(r, p->author, CRYPTO_PUB_SIZE) || rbuf_get_u8(r, &p->text_len) ||
		    p->text_len > FED_TEXT_MAX || rbuf_get_bytes(r, p->text, p->text_len))
			return ERR_FORMAT;
		p->text[p->text_len] = 0;
		return text_ok(p->text, p->text_len) ? ERR_OK : ERR_FORMAT;
	}
	case FED_MEMBER: {
		struct fed_member *mb = &m->u.member;
		if (rbuf_get_bytes(r, mb->pub, CRYPTO_PUB_SIZE) || rbuf_get_u8(r, &mb->perms) ||
		    rbuf_get_le32(r, &mb->sync_since) || rbuf_get_le32(r, &mb->last_ts) ||
		    rbuf_get_le32(r, &mb->heard_ts) || get_site(r, mb->heard) ||
		    rbuf_get_le32(r, &mb->role_ver) || get_site(r, mb->role_site) ||
		    rbuf_get_u8(r, &mb->removed) || mb->removed > 1)
			return ERR_FORMAT;
		return ERR_OK;
	}
	case FED_HELLO: {
		struct fed_hello *h = &m->u.hello;
		uint8_t al;
		if (rbuf_get_u8(r, &h->flags) || h->flags > (FED_HELLO_ANSWER | FED_HELLO_MORE))
			return ERR_FORMAT;
		struct rbuf peek = *r;
		if (rbuf_get_u8(&peek, &al) || (al ? get_site(r, h->after) : rbuf_skip(r, 1)) ||
		    rbuf_get_u8(r, &h->n) || h->n > FED_HELLO_MAX)
			return ERR_FORMAT;
		for (unsigned i = 0; i < h->n; i++)
			if (get_site(r, h->hw[i].site) || get_le64(r, &h->hw[i].hw))
				return ERR_FORMAT;
		return hello_ok(h) ? ERR_OK : ERR_FORMAT;
	}
	case FED_BAN:
		if (rbuf_get_bytes(r, m->u.ban.pub, CRYPTO_PUB_SIZE) ||
		    rbuf_get_u8(r, &m->u.ban.banned) || m->u.ban.banned > 1 ||
		    rbuf_get_le32(r, &m->u.ban.when))
			return ERR_FORMAT;
		return ERR_OK;
	case FED_DELETE:
		if (get_site(r, m->u.del.origin) || get_le64(r, &m->u.del.seq) || m->u.del.seq == 0)
			return ERR_FORMAT;
		return ERR_OK;
	case FED_SETTINGS: {
		struct fed_settings *st = &m->u.set;
		uint8_t nl, al, gl, nonce[24], want[24];
		if (rbuf_get_le32(r, &st->version) || rbuf_get_u8(r, &nl) || nl > FED_NAME_MAX ||
		    rbuf_get_bytes(r, st->name, nl) || rbuf_get_u8(r, &st->allow_read_only) ||
		    st->allow_read_only > 1 || rbuf_get_bytes(r, nonce, 24))
			return ERR_FORMAT;
		settings_nonce(m->site, st->version, want);
		if (memcmp(nonce, want, 24) != 0 || rbuf_get_u8(r, &al) || al == 0 ||
		    al > FED_PASS_MAX || rbuf_get_bytes(r, st->admin, al) || rbuf_get_u8(r, &gl) ||
		    gl == 0 || gl > FED_PASS_MAX || rbuf_get_bytes(r, st->guest, gl))
			return ERR_FORMAT;
		st->name[nl] = 0;
		st->admin[al] = 0; /* encrypted (a NUL byte possible): fed_settings_open */
		st->guest[gl] = 0;
		st->admin_len = al;
		st->guest_len = gl;
		return text_ok(st->name, nl) ? ERR_OK : ERR_FORMAT;
	}
	default: return ERR_FORMAT;
	}
}

int fed_decode(const uint8_t *in, size_t len, const uint8_t room_pub[CRYPTO_PUB_SIZE],
               struct fed_msg *out)
{
	struct fed_msg m;
	struct rbuf r;

	if (len > FED_MSG_MAX || len < 4 + 1 + CRYPTO_PUB_SIZE + CRYPTO_SIG_SIZE ||
	    memcmp(in, FED_MAGIC, 4) != 0)
		return FED_GARBAGE;
	memset(&m, 0, sizeof(m));
	rbuf_init(&r, in, len - CRYPTO_SIG_SIZE);
	rbuf_skip(&r, 4);
	if (rbuf_get_u8(&r, &m.kind) || rbuf_get_bytes(&r, m.room, CRYPTO_PUB_SIZE))
		return FED_GARBAGE;
	/* the room is checked before anything else: another room's messages on
	 * a shared broker are counted as such, not as garbage */
	if (memcmp(m.room, room_pub, CRYPTO_PUB_SIZE) != 0)
		return FED_WRONG_ROOM;
	if (get_site(&r, m.site) || get_le64(&r, &m.sent_ms) || decode_body(&r, &m) ||
	    rbuf_left(&r) != 0)
		return FED_GARBAGE;
	if (ident_verify(room_pub, in, len - CRYPTO_SIG_SIZE, in + len - CRYPTO_SIG_SIZE))
		return FED_BAD_SIG;
	*out = m;
	return FED_OK;
}
