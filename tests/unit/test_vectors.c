/*
 * test_vectors.c - every vector of meshcore-v1.17.1.json (PROTOCOL.md §12),
 * produced by the upstream firmware code, reproduced byte for byte:
 * identities, ECDH, encrypt-then-MAC, adverts, both login flows, a post, a
 * push, packet hashes, forwarding edits, and every frame of the air log
 * decoded, decrypted where we hold the keys and re-encoded.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "golden.h"
#include "proto/advert.h"
#include "proto/packet.h"
#include "proto/payload.h"
#include "proto/route_edit.h"
#include "util/buf.h"
#include "util/err.h"

#define MAX_IDS 8

static struct ident ids[MAX_IDS];
static const char *id_names[MAX_IDS];
static size_t n_ids;

static const struct ident *id_by_name(const char *name)
{
	for (size_t i = 0; i < n_ids; i++) {
		if (strcmp(id_names[i], name) == 0)
			return &ids[i];
	}
	fprintf(stderr, "vectors: no identity %s\n", name);
	CHECK(0);
	return &ids[0];
}

/* The vector identities have distinct first bytes, so a hash names one. */
static const struct ident *id_by_hash(uint8_t h)
{
	for (size_t i = 0; i < n_ids; i++) {
		if (ids[i].pub[0] == h)
			return &ids[i];
	}
	return NULL;
}

static void secret_of(const struct ident *a, const uint8_t *peer_pub, uint8_t s[32])
{
	CHECK_EQ(ident_shared_secret(a, peer_pub, s), ERR_OK);
}

/* Serialises a packet built from its parts. */
static size_t frame_of(unsigned route, unsigned type, uint8_t path_len, const uint8_t *path,
                       const uint8_t *payload, size_t n, uint8_t *out)
{
	struct pkt p;
	size_t len = 0;

	memset(&p, 0, sizeof(p));
	p.header = pkt_header(route, type);
	p.path_len = path_len;
	if (path)
		memcpy(p.path, path, path_len_bytes(path_len));
	memcpy(p.payload, payload, n);
	p.payload_len = n;
	CHECK_EQ(pkt_encode(&p, out, PKT_MAX_FRAME, &len), ERR_OK);
	return len;
}

static int decode_raw(json_t *o, const char *dotted, struct pkt *p)
{
	uint8_t raw[512];
	size_t n = junhex(o, dotted, raw, sizeof(raw));
	int rc = pkt_decode(p, raw, n);

	CHECK_EQ(rc, ERR_OK);
	return rc;
}

static void check_encodes_to(const struct pkt *p, const char *want_hex, const char *what)
{
	uint8_t out[PKT_MAX_FRAME];
	size_t len = 0;

	CHECK_EQ(pkt_encode(p, out, sizeof(out), &len), ERR_OK);
	CHECK_HEX(what, out, len, want_hex);
}

/* --- identities, ECDH, encrypt-then-MAC ----------------------------------- */

static void test_identities(json_t *root)
{
	json_t *arr = jget(root, "identities");
	uint8_t seed[32];
	struct ident imported;

	n_ids = json_array_size(arr);
	CHECK(n_ids >= 4 && n_ids <= MAX_IDS);
	if (n_ids > MAX_IDS)
		n_ids = MAX_IDS;
	for (size_t i = 0; i < n_ids; i++) {
		json_t *e = json_array_get(arr, i);
		id_names[i] = jstr(e, "name");
		CHECK_EQ(junhex(e, "seed", seed, sizeof(seed)), 32);
		ident_from_seed(&ids[i], seed);
		CHECK_HEX("prv", ids[i].prv, 64, jstr(e, "private_key"));
		CHECK_HEX("pub", ids[i].pub, 32, jstr(e, "public_key"));
		CHECK_HEX("hash", ids[i].pub, 1, jstr(e, "hash"));
		CHECK_EQ(ident_from_prv(&imported, ids[i].prv), ERR_OK);
		CHECK_MEM(imported.pub, ids[i].pub, 32);
	}
}

static void test_ecdh(json_t *root)
{
	json_t *arr = jget(root, "ecdh");
	uint8_t s[32];

	CHECK(json_array_size(arr) > 0);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const struct ident *a = id_by_name(jstr(e, "a")), *b = id_by_name(jstr(e, "b"));
		secret_of(a, b->pub, s);
		CHECK_HEX("ecdh a", s, 32, jstr(e, "secret_a_with_b_pub"));
		secret_of(b, a->pub, s);
		CHECK_HEX("ecdh b", s, 32, jstr(e, "secret_b_with_a_pub"));
		CHECK(json_is_true(jget(e, "equal")));
	}
}

static void test_cipher(json_t *root)
{
	json_t *etm = jget(root, "encrypt_then_mac"), *cases = jget(etm, "cases");
	json_t *rej = jget(etm, "rejected_cases");
	uint8_t secret[32], other[32], pt[256], out[300], back[300];
	size_t pt_len, out_len, back_len, in_len;
	const struct ident *room = id_by_name("room"), *a = id_by_name("client_a");

	junhex(etm, "secret", secret, sizeof(secret));
	secret_of(room, a->pub, other);
	CHECK_MEM(secret, other, 32);
	CHECK_HEX("aes key", secret, 16, jstr(etm, "aes128_key"));
	CHECK_HEX("hmac key", secret, 32, jstr(etm, "hmac_key"));
	CHECK(json_array_size(cases) > 0);
	for (size_t i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i);
		pt_len = junhex(c, "plaintext", pt, sizeof(pt));
		CHECK_EQ(pt_len, jint(c, "plaintext_len"));
		CHECK_EQ(cipher_encrypt(secret, pt, pt_len, out, sizeof(out), &out_len), ERR_OK);
		CHECK_HEX("etm output", out, out_len, jstr(c, "output"));
		CHECK_HEX("etm mac", out, 2, jstr(c, "mac"));
		CHECK_HEX("etm ciphertext", out + 2, out_len - 2, jstr(c, "ciphertext"));
		if (jint(c, "mac_then_decrypt_len") == 0) {
			/* The empty ciphertext: the firmware rejects an input of 2 bytes. */
			CHECK(sealed_open(out, out_len, secret, back, sizeof(back), &back_len) !=
			      0);
			continue;
		}
		CHECK_EQ(sealed_open(out, out_len, secret, back, sizeof(back), &back_len), ERR_OK);
		CHECK_EQ(back_len, jint(c, "mac_then_decrypt_len"));
		CHECK_HEX("mtd output", back, back_len, jstr(c, "mac_then_decrypt_output"));
	}
	CHECK(json_array_size(rej) > 0);
	for (size_t i = 0; i < json_array_size(rej); i++) {
		json_t *c = json_array_get(rej, i);
		const uint8_t *key = secret;
		in_len = junhex(c, "input", out, sizeof(out));
		if (json_object_get(c, "secret")) {
			junhex(c, "secret", other, sizeof(other));
			key = other;
		}
		CHECK_EQ(jint(c, "mac_then_decrypt_len"), 0);
		CHECK_EQ(sealed_open(out, in_len, key, back, sizeof(back), &back_len), ERR_AUTH);
		CHECK_EQ(back_len, 0);
	}
}

/* --- packet objects -------------------------------------------------------- */

/* Every field of a "packet" object follows from its raw bytes. */
static void check_packet_obj(json_t *o)
{
	struct pkt p;
	uint8_t h[PKT_HASH_SIZE];

	if (decode_raw(o, "raw", &p))
		return;
	CHECK_EQ(p.header, jint(o, "header"));
	CHECK_STR(pkt_route_name(pkt_route(&p)), jstr(o, "route_type"));
	CHECK_STR(pkt_type_name(pkt_type(&p)), jstr(o, "payload_type"));
	CHECK_EQ(pkt_version(&p), jint(o, "payload_version"));
	CHECK_EQ(p.path_len, jint(o, "path_len_byte"));
	CHECK_EQ(pkt_path_hash_size(&p), jint(o, "path_hash_size"));
	CHECK_EQ(pkt_path_count(&p), jint(o, "path_hash_count"));
	CHECK_HEX("path", p.path, pkt_path_bytes(&p), jstr(o, "path"));
	CHECK_HEX("payload", p.payload, p.payload_len, jstr(o, "payload"));
	if (json_object_get(o, "transport_codes")) {
		json_t *tc = json_object_get(o, "transport_codes");
		CHECK(pkt_has_transport(&p));
		CHECK_EQ(p.transport[0], json_integer_value(json_array_get(tc, 0)));
		CHECK_EQ(p.transport[1], json_integer_value(json_array_get(tc, 1)));
	} else {
		CHECK(!pkt_has_transport(&p));
	}
	pkt_hash(&p, h);
	CHECK_HEX("packet hash", h, sizeof(h), jstr(o, "packet_hash"));
	check_encodes_to(&p, jstr(o, "raw"), "re-encoded packet");
}

static size_t walk_packets(json_t *o)
{
	size_t n = 0;

	if (json_is_object(o)) {
		const char *k;
		json_t *v;
		if (json_object_get(o, "raw") && json_object_get(o, "header")) {
			check_packet_obj(o);
			return 1;
		}
		json_object_foreach(o, k, v)
		{
			n += walk_packets(v);
		}
	} else if (json_is_array(o)) {
		for (size_t i = 0; i < json_array_size(o); i++)
			n += walk_packets(json_array_get(o, i));
	}
	return n;
}

/* --- adverts --------------------------------------------------------------- */

static void test_adverts(json_t *root)
{
	json_t *arr = jget(root, "adverts");
	uint8_t app[64], pl[PKT_MAX_PAYLOAD], frame[PKT_MAX_FRAME], msg[128];
	size_t app_len, pl_len, frame_len, msg_len;
	struct advert_data d;
	struct advert a;

	CHECK(json_array_size(arr) > 0);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i), *dec = jget(e, "app_data_decoded");
		uint8_t pub[32];
		const struct ident *id;

		junhex(e, "public_key", pub, sizeof(pub));
		id = id_by_hash(pub[0]);
		CHECK(id != NULL);
		if (!id)
			continue;
		CHECK_MEM(id->pub, pub, 32);

		/* app_data from its decoded fields */
		memset(&d, 0, sizeof(d));
		d.type = (uint8_t)jint(dec, "type");
		d.has_loc = json_is_true(jget(dec, "has_location"));
		if (d.has_loc) {
			d.lat_e6 = (int32_t)jint(dec, "lat_e6");
			d.lon_e6 = (int32_t)jint(dec, "lon_e6");
		}
		snprintf(d.name, sizeof(d.name), "%s", jstr(dec, "name"));
		CHECK_EQ(advert_data_encode(&d, app, &app_len), ERR_OK);
		CHECK_HEX("app_data", app, app_len, jstr(e, "app_data"));
		CHECK_EQ(app[0], jint(dec, "flags"));

		/* the signed message and the whole payload and frame */
		memcpy(msg, pub, 32);
		le32_store(msg + 32, (uint32_t)jint(e, "timestamp"));
		memcpy(msg + 36, app, app_len);
		msg_len = 36 + app_len;
		CHECK_HEX("signed message", msg, msg_len, jstr(e, "signed_message"));
		CHECK_EQ(advert_build(id, (uint32_t)jint(e, "timestamp"), app, app_len, pl,
		                      sizeof(pl), &pl_len),
		         ERR_OK);
		CHECK_HEX("advert payload", pl, pl_len, jstr(e, "packet.payload"));
		CHECK_HEX("advert signature", pl + 36, 64, jstr(e, "signature"));
		frame_len = frame_of(PKT_ROUTE_FLOOD, PKT_ADVERT, 0, NULL, pl, pl_len, frame);
		CHECK_HEX("advert frame", frame, frame_len, jstr(e, "packet.raw"));

		/* parse and verify */
		CHECK(json_is_true(jget(e, "signature_valid")));
		CHECK_EQ(advert_parse(&a, pl, pl_len), ERR_OK);
		CHECK_EQ(a.timestamp, jint(e, "timestamp"));
		CHECK_EQ(a.data_err, ERR_OK);
		CHECK_EQ(a.data.flags, jint(dec, "flags"));
		CHECK_EQ(a.data.type, jint(dec, "type"));
		CHECK_EQ(a.data.has_loc, json_is_true(jget(dec, "has_location")));
		if (a.data.has_loc) {
			CHECK_EQ(a.data.lat_e6, jint(dec, "lat_e6"));
			CHECK_EQ(a.data.lon_e6, jint(dec, "lon_e6"));
		}
		CHECK_STR(a.data.name, jstr(dec, "name"));
		pl[pl_len - 1] ^= 1;
		CHECK_EQ(advert_parse(&a, pl, pl_len), ERR_AUTH);
	}
}

/* The room's location in the vectors, from its config "set lat/lon". */
static void test_advert_coords(json_t *root)
{
	CHECK_EQ(advert_coord_e6(52.370216), jint(root, "adverts.0.app_data_decoded.lat_e6"));
	CHECK_EQ(advert_coord_e6(4.895168), jint(root, "adverts.0.app_data_decoded.lon_e6"));
}

/* --- logins ---------------------------------------------------------------- */

/* Decrypts an ANON_REQ for the room and checks the login fields; returns the padded length. */
static size_t check_anon_login(json_t *pk, const struct ident *room, const struct ident *client,
                               const char *secret_hex, uint8_t *pt, struct login_req *l)
{
	struct pkt p;
	struct anon an;
	uint8_t s[32];
	size_t pt_len = 0;

	if (decode_raw(pk, "raw", &p))
		return 0;
	CHECK_EQ(pkt_type(&p), PKT_ANON_REQ);
	CHECK_EQ(anon_parse(&an, p.payload, p.payload_len), ERR_OK);
	CHECK_EQ(an.dest, room->pub[0]);
	CHECK_MEM(an.sender_pub, client->pub, 32);
	/* the room learns the key from the request itself */
	secret_of(room, an.sender_pub, s);
	CHECK_HEX("anon secret", s, 32, secret_hex);
	CHECK_EQ(sealed_open(an.sealed, an.sealed_len, s, pt, PL_MAX_PLAIN, &pt_len), ERR_OK);
	CHECK_EQ(login_req_decode(l, LOGIN_FORM_ROOM, pt, pt_len), ERR_OK);
	return pt_len;
}

/* Rebuilds an ANON_REQ login from its fields; compares plaintext and frame. */
static void rebuild_anon_login(const struct login_req *l, const struct ident *room,
                               const struct ident *client, unsigned route, const char *raw_hex)
{
	uint8_t pt[64], s[32], pl[PKT_MAX_PAYLOAD], frame[PKT_MAX_FRAME];
	size_t pt_len, pl_len, frame_len;

	CHECK_EQ(login_req_encode(l, LOGIN_FORM_ROOM, pt, sizeof(pt), &pt_len), ERR_OK);
	secret_of(client, room->pub, s);
	CHECK_EQ(anon_build(room->pub[0], client->pub, s, pt, pt_len, pl, sizeof(pl), &pl_len),
	         ERR_OK);
	frame_len = frame_of(route, PKT_ANON_REQ, 0, NULL, pl, pl_len, frame);
	CHECK_HEX("anon frame", frame, frame_len, raw_hex);
}

static void check_login_resp_fields(const struct login_resp *r, json_t *f)
{
	CHECK_EQ(r->timestamp, jint(f, "server_timestamp"));
	CHECK_EQ(r->code, jint(f, "resp_code"));
	CHECK_EQ(r->keep_alive, jint(f, "legacy_keep_alive"));
	CHECK_EQ(r->legacy_role, jint(f, "is_admin_or_guest_flag"));
	CHECK_EQ(r->permissions, jint(f, "permissions"));
	CHECK_HEX("resp random", r->random, 4, jstr(f, "random"));
	CHECK_EQ(r->fw_level, jint(f, "firmware_ver_level"));
	CHECK_EQ(login_resp_legacy_role(r->permissions), r->legacy_role);
}

/* The room's login response body for the given time and permissions, random from the script. */
static size_t make_login_resp(uint32_t ts, uint8_t perms, uint8_t out[LOGIN_RESP_SIZE])
{
	struct login_resp r = {
	    .timestamp = ts,
	    .code = LOGIN_RESP_OK,
	    .legacy_role = login_resp_legacy_role(perms),
	    .permissions = perms,
	    .fw_level = LOGIN_FW_LEVEL,
	};
	size_t len = 0;

	rng_fill(golden_rng(), r.random, sizeof(r.random));
	CHECK_EQ(login_resp_encode(&r, out, LOGIN_RESP_SIZE, &len), ERR_OK);
	return len;
}

/* Builds a whole PATH frame (flood, no path yet) from room to client. */
static size_t make_path_frame(const struct ident *from, const struct ident *to, unsigned route,
                              uint8_t route_path_len, const uint8_t *route_path,
                              const struct path_msg *m, uint8_t *frame)
{
	uint8_t pt[PL_MAX_PLAIN], s[32], pl[PKT_MAX_PAYLOAD];
	size_t pt_len = 0, pl_len = 0;

	CHECK_EQ(path_msg_encode(m, golden_rng(), pt, sizeof(pt), &pt_len), ERR_OK);
	secret_of(from, to->pub, s);
	CHECK_EQ(dgram_build(to->pub[0], from->pub[0], s, pt, pt_len, pl, sizeof(pl), &pl_len),
	         ERR_OK);
	return frame_of(route, PKT_PATH, route_path_len, route_path, pl, pl_len, frame);
}

/* Opens a datagram frame between two vector identities; returns the padded length. */
static size_t open_dgram_frame(json_t *o, const char *dotted, const struct ident *from,
                               const struct ident *to, uint8_t *pt)
{
	struct pkt p;
	struct dgram d;
	uint8_t s[32];
	size_t pt_len = 0;

	if (decode_raw(o, dotted, &p))
		return 0;
	CHECK_EQ(dgram_parse(&d, p.payload, p.payload_len), ERR_OK);
	CHECK_EQ(d.dest, to->pub[0]);
	CHECK_EQ(d.src, from->pub[0]);
	secret_of(to, from->pub, s);
	CHECK_EQ(sealed_open(d.sealed, d.sealed_len, s, pt, PL_MAX_PLAIN, &pt_len), ERR_OK);
	return pt_len;
}

static void test_login_flood(json_t *root)
{
	json_t *v = jget(root, "login_flood_path_response");
	json_t *req = jget(v, "anon_req_flood"), *ret = jget(v, "path_return_with_response");
	json_t *rec = jget(v, "reciprocal_path");
	const struct ident *room = id_by_name(jstr(req, "dest"));
	const struct ident *a = id_by_name(jstr(req, "sender"));
	const struct ident *rpt = id_by_name("repeater");
	uint8_t pt[PL_MAX_PLAIN], body[LOGIN_RESP_SIZE], frame[PKT_MAX_FRAME], s[32];
	size_t pt_len, frame_len;
	struct login_req l;
	struct login_resp r;
	struct path_msg m;
	struct pkt p;

	/* the flooded login */
	pt_len = check_anon_login(jget(req, "packet"), room, a, jstr(req, "secret"), pt, &l);
	CHECK_HEX("login plaintext", pt, pt_len, jstr(req, "plaintext_padded"));
	CHECK_EQ(l.timestamp, jint(req, "plaintext_fields.timestamp"));
	CHECK_EQ(l.sync_since, jint(req, "plaintext_fields.sync_since"));
	CHECK_STR(l.password, jstr(req, "plaintext_fields.password"));
	rebuild_anon_login(&l, room, a, PKT_ROUTE_FLOOD, jstr(req, "packet.raw"));
	/* the same login with a 16-byte password: too long for any stored one,
	 * but its timestamp and sync point are read (roomd charges it as a
	 * wrong guess against the key's replay mark) */
	uint8_t long_pt[32] = {0};
	memcpy(long_pt, pt, 8);
	memset(long_pt + 8, 'x', LOGIN_PASSWORD_MAX + 1);
	CHECK_EQ(login_req_decode(&l, LOGIN_FORM_ROOM, long_pt, sizeof(long_pt)), ERR_TOO_BIG);
	CHECK_EQ(l.timestamp, jint(req, "plaintext_fields.timestamp"));
	CHECK_EQ(l.sync_since, jint(req, "plaintext_fields.sync_since"));
	CHECK_STR(l.password, "");

	/* the room's PATH carrying the login response */
	pt_len = open_dgram_frame(ret, "packet.raw", room, a, pt);
	CHECK_HEX("path plaintext", pt, pt_len, jstr(ret, "plaintext_padded"));
	secret_of(room, a->pub, s);
	CHECK_HEX("path secret", s, 32, jstr(ret, "secret"));
	CHECK_EQ(path_msg_decode(&m, pt, pt_len), ERR_OK);
	CHECK_EQ(m.path_len, jint(ret, "plaintext_fields.path_len_byte"));
	CHECK_HEX("path", m.path, path_len_bytes(m.path_len), jstr(ret, "plaintext_fields.path"));
	CHECK_EQ(m.extra_type, jint(ret, "plaintext_fields.extra_type"));
	CHECK_EQ(m.extra_type, PKT_RESPONSE);
	CHECK(m.extra_len >= LOGIN_RESP_SIZE);
	CHECK_HEX("login response", m.extra, LOGIN_RESP_SIZE,
	          jstr(ret, "plaintext_fields.extra_response_13_bytes"));
	CHECK_EQ(login_resp_decode(&r, m.extra, m.extra_len), ERR_OK);
	check_login_resp_fields(&r, jget(ret, "response_fields"));
	/* the path it reports is the flood path the login took: the repeater */
	CHECK_EQ(m.path[0], rpt->pub[0]);

	make_login_resp(r.timestamp, r.permissions, body);
	CHECK_HEX("rebuilt response", body, LOGIN_RESP_SIZE,
	          jstr(ret, "plaintext_fields.extra_response_13_bytes"));
	m.extra = body;
	m.extra_len = LOGIN_RESP_SIZE;
	frame_len = make_path_frame(room, a, PKT_ROUTE_FLOOD, 0, NULL, &m, frame);
	CHECK_HEX("path frame", frame, frame_len, jstr(ret, "packet.raw"));

	/* ... as the client hears it after the repeater */
	if (!decode_raw(ret, "packet.raw", &p)) {
		CHECK_EQ(pkt_path_append(&p, rpt->pub), ERR_OK);
		check_encodes_to(&p, jstr(ret, "as_received_by_client_a.raw"), "path forwarded");
	}

	/* the client's reciprocal PATH, direct along the path it learned */
	pt_len = open_dgram_frame(rec, "packet.raw", a, room, pt);
	CHECK_HEX("reciprocal plaintext", pt, pt_len, jstr(rec, "plaintext_padded"));
	CHECK_EQ(path_msg_decode(&m, pt, pt_len), ERR_OK);
	CHECK_EQ(m.path_len, 1);
	CHECK_EQ(m.path[0], rpt->pub[0]);
	/* 0xFF "no extra" reads back as type 0x0F with the random bytes and padding */
	CHECK_EQ(m.extra_type, 0x0F);
	CHECK_EQ(m.extra_len, pt_len - 3);
	CHECK_HEX("reciprocal random", m.extra, 4, "a0a1a2a3");
	m.extra_type = PATH_EXTRA_NONE;
	m.extra = NULL;
	m.extra_len = 0;
	frame_len = make_path_frame(a, room, PKT_ROUTE_DIRECT, m.path_len, m.path, &m, frame);
	CHECK_HEX("reciprocal frame", frame, frame_len, jstr(rec, "packet.raw"));
}

static void test_login_direct(json_t *root)
{
	json_t *v = jget(root, "login_direct_response"), *first = jget(v, "first_login_flood");
	json_t *req = jget(v, "anon_req"), *resp = jget(v, "response");
	const struct ident *room = id_by_name("room"), *b = id_by_name("client_b");
	uint8_t pt[PL_MAX_PLAIN], body[LOGIN_RESP_SIZE], frame[PKT_MAX_FRAME], s[32];
	uint8_t pl[PKT_MAX_PAYLOAD];
	size_t pt_len, frame_len, pl_len;
	struct login_req l;
	struct login_resp r;
	struct path_msg m;

	/* first login by flood, zero hops: empty path in the reply */
	check_anon_login(jget(first, "anon_req"), room, b, jstr(first, "secret"), pt, &l);
	rebuild_anon_login(&l, room, b, PKT_ROUTE_FLOOD, jstr(first, "anon_req.raw"));
	pt_len = open_dgram_frame(first, "path_return.raw", room, b, pt);
	CHECK_HEX("path plaintext", pt, pt_len, jstr(first, "path_return_plaintext_padded"));
	CHECK_EQ(path_msg_decode(&m, pt, pt_len), ERR_OK);
	CHECK_EQ(m.path_len, 0);
	CHECK_EQ(m.extra_type, PKT_RESPONSE);
	CHECK_EQ(login_resp_decode(&r, m.extra, m.extra_len), ERR_OK);
	make_login_resp(r.timestamp, r.permissions, body);
	CHECK_MEM(body, m.extra, LOGIN_RESP_SIZE);
	m.extra = body;
	m.extra_len = LOGIN_RESP_SIZE;
	frame_len = make_path_frame(room, b, PKT_ROUTE_FLOOD, 0, NULL, &m, frame);
	CHECK_HEX("path frame", frame, frame_len, jstr(first, "path_return.raw"));

	/* second login, direct zero-hop */
	pt_len = check_anon_login(jget(req, "packet"), room, b, jstr(req, "secret"), pt, &l);
	CHECK_HEX("login plaintext", pt, pt_len, jstr(req, "plaintext_padded"));
	CHECK_HEX("sender key", b->pub, 32, jstr(req, "sender_public_key"));
	CHECK_HEX("dest hash", room->pub, 1, jstr(req, "dest_hash"));
	CHECK_EQ(l.timestamp, jint(req, "plaintext_fields.timestamp"));
	CHECK_EQ(l.sync_since, jint(req, "plaintext_fields.sync_since"));
	CHECK_STR(l.password, jstr(req, "plaintext_fields.password"));
	CHECK_EQ(login_req_encode(&l, LOGIN_FORM_ROOM, pt, sizeof(pt), &pt_len), ERR_OK);
	CHECK_HEX("login plaintext", pt, pt_len, jstr(req, "plaintext"));
	rebuild_anon_login(&l, room, b, PKT_ROUTE_DIRECT, jstr(req, "packet.raw"));

	/* the room answers with a plain RESPONSE, direct */
	pt_len = open_dgram_frame(resp, "packet.raw", room, b, pt);
	CHECK_HEX("response plaintext", pt, pt_len, jstr(resp, "plaintext_padded"));
	CHECK_EQ(login_resp_decode(&r, pt, pt_len), ERR_OK);
	check_login_resp_fields(&r, jget(resp, "plaintext_fields"));
	make_login_resp(r.timestamp, r.permissions, body);
	CHECK_HEX("response body", body, LOGIN_RESP_SIZE, jstr(resp, "plaintext"));
	secret_of(room, b->pub, s);
	CHECK_HEX("response secret", s, 32, jstr(resp, "secret"));
	CHECK_EQ(
	    dgram_build(b->pub[0], room->pub[0], s, body, LOGIN_RESP_SIZE, pl, sizeof(pl), &pl_len),
	    ERR_OK);
	frame_len = frame_of(PKT_ROUTE_DIRECT, PKT_RESPONSE, 0, NULL, pl, pl_len, frame);
	CHECK_HEX("response frame", frame, frame_len, jstr(resp, "packet.raw"));
}

/* --- post and push --------------------------------------------------------- */

static size_t make_txt_frame(const struct txt_msg *msg, const struct ident *from,
                             const struct ident *to, uint8_t route_path_len,
                             const uint8_t *route_path, uint8_t *frame, uint8_t *pt, size_t *pt_len)
{
	uint8_t s[32], pl[PKT_MAX_PAYLOAD];
	size_t pl_len = 0;

	CHECK_EQ(txt_encode(msg, pt, PL_MAX_PLAIN, pt_len), ERR_OK);
	secret_of(from, to->pub, s);
	CHECK_EQ(dgram_build(to->pub[0], from->pub[0], s, pt, *pt_len, pl, sizeof(pl), &pl_len),
	         ERR_OK);
	return frame_of(PKT_ROUTE_DIRECT, PKT_TXT_MSG, route_path_len, route_path, pl, pl_len,
	                frame);
}

static void check_ack_frame(json_t *o, const uint8_t code[4], uint8_t path_len, const uint8_t *path)
{
	uint8_t pl[16], frame[PKT_MAX_FRAME];
	size_t pl_len = 0, frame_len;
	struct pkt p;
	struct ack ak;

	CHECK_EQ(ack_encode(code, NULL, 0, pl, sizeof(pl), &pl_len), ERR_OK);
	frame_len = frame_of(PKT_ROUTE_DIRECT, PKT_ACK, path_len, path, pl, pl_len, frame);
	CHECK_HEX("ack frame", frame, frame_len, jstr(o, "raw"));
	if (decode_raw(o, "raw", &p))
		return;
	CHECK_EQ(ack_decode(&ak, p.payload, p.payload_len), ERR_OK);
	CHECK_MEM(ak.code, code, 4);
	CHECK_EQ(ak.extra_len, 0);
	CHECK_EQ(ack_unsynced(&ak), -1);
}

static void test_txt_post(json_t *root)
{
	json_t *v = jget(root, "txt_post");
	const struct ident *room = id_by_name("room"), *a = id_by_name("client_a");
	const struct ident *rpt = id_by_name("repeater");
	uint8_t pt[PL_MAX_PLAIN], frame[PKT_MAX_FRAME], code[4], s[32];
	size_t pt_len = 0, frame_len;
	struct txt_msg msg;
	struct pkt p;

	memset(&msg, 0, sizeof(msg));
	msg.timestamp = (uint32_t)jint(v, "timestamp");
	msg.type = TXT_PLAIN;
	msg.attempt = (uint8_t)jint(v, "attempt");
	msg.text_len = strlen(jstr(v, "text"));
	memcpy(msg.text, jstr(v, "text"), msg.text_len);
	secret_of(a, room->pub, s);
	CHECK_HEX("post secret", s, 32, jstr(v, "secret"));
	frame_len = make_txt_frame(&msg, a, room, 1, rpt->pub, frame, pt, &pt_len);
	CHECK_HEX("post plaintext", pt, pt_len, jstr(v, "plaintext"));
	CHECK_HEX("post frame", frame, frame_len, jstr(v, "packet.raw"));

	/* the repeater consumes its hop; the room decrypts */
	if (!decode_raw(v, "packet.raw", &p)) {
		CHECK(pkt_path_next_is(&p, rpt->pub));
		CHECK_EQ(pkt_path_consume(&p), ERR_OK);
		check_encodes_to(&p, jstr(v, "packet_as_received_by_room.raw"), "post at room");
	}
	pt_len = open_dgram_frame(v, "packet_as_received_by_room.raw", a, room, pt);
	CHECK_HEX("post padded", pt, pt_len, jstr(v, "plaintext_padded"));
	CHECK_EQ(txt_decode(&msg, pt, pt_len), ERR_OK);
	CHECK_EQ(msg.type, TXT_PLAIN);
	CHECK_EQ(msg.attempt, jint(v, "attempt"));
	CHECK_EQ(msg.timestamp, jint(v, "timestamp"));
	CHECK_STR(msg.text, jstr(v, "text"));

	/* the ACK code is over the unpadded part only, with the sender's key */
	CHECK_EQ(ack_code_txt(pt, pt_len, a->pub, code), ERR_OK);
	CHECK_HEX("post ack code", code, 4, jstr(v, "ack_hash"));
	check_ack_frame(jget(v, "ack_packet"), code, 1, rpt->pub);
	if (!decode_raw(v, "ack_packet.raw", &p)) {
		CHECK_EQ(pkt_path_consume(&p), ERR_OK);
		check_encodes_to(&p, jstr(v, "ack_packet_as_received_by_client_a.raw"), "ack at a");
	}
}

static void test_room_push(json_t *root)
{
	json_t *v = jget(root, "room_push"), *f = jget(v, "plaintext_fields");
	const struct ident *room = id_by_name("room"), *b = id_by_name("client_b");
	uint8_t pt[PL_MAX_PLAIN], frame[PKT_MAX_FRAME], code[4], s[32];
	size_t pt_len = 0, frame_len;
	struct txt_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.timestamp = (uint32_t)jint(f, "post_timestamp");
	msg.type = (uint8_t)jint(f, "txt_type");
	msg.attempt = (uint8_t)jint(f, "attempt");
	junhex(f, "author_prefix", msg.author, sizeof(msg.author));
	msg.text_len = strlen(jstr(f, "text"));
	memcpy(msg.text, jstr(f, "text"), msg.text_len);
	CHECK_EQ(txt_flags(msg.type, msg.attempt), jint(f, "flags_byte"));
	secret_of(room, b->pub, s);
	CHECK_HEX("push secret", s, 32, jstr(v, "secret"));
	frame_len = make_txt_frame(&msg, room, b, 0, NULL, frame, pt, &pt_len);
	CHECK_HEX("push plaintext", pt, pt_len, jstr(v, "plaintext"));
	CHECK_HEX("push frame", frame, frame_len, jstr(v, "packet.raw"));

	pt_len = open_dgram_frame(v, "packet.raw", room, b, pt);
	CHECK_HEX("push padded", pt, pt_len, jstr(v, "plaintext_padded"));
	CHECK_EQ(txt_decode(&msg, pt, pt_len), ERR_OK);
	CHECK_EQ(msg.type, TXT_SIGNED);
	CHECK_EQ(msg.timestamp, jint(v, "client_b_decoded.timestamp"));
	CHECK_HEX("push author", msg.author, 4, jstr(v, "client_b_decoded.author_prefix"));
	CHECK_STR(msg.text, jstr(v, "client_b_decoded.text"));
	/* acknowledged with the recipient's key */
	CHECK_EQ(ack_code_txt(pt, pt_len, b->pub, code), ERR_OK);
	CHECK_HEX("push ack code", code, 4, jstr(v, "expected_ack_hash"));
	check_ack_frame(jget(v, "ack_packet"), code, 0, NULL);
}

/* --- hashes, forwarding, air log ------------------------------------------ */

static void test_packet_hashes(json_t *root)
{
	json_t *arr = jget(root, "packet_hashes");
	uint8_t in[PKT_MAX_FRAME + 3], h[PKT_HASH_SIZE], digest[32];
	size_t in_len;
	struct pkt p;

	CHECK(json_array_size(arr) > 0);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		if (decode_raw(e, "raw", &p))
			continue;
		CHECK_EQ(pkt_type(&p), jint(e, "payload_type"));
		CHECK_HEX("hash payload", p.payload, p.payload_len, jstr(e, "payload"));
		in_len = 0;
		in[in_len++] = (uint8_t)pkt_type(&p);
		if (pkt_type(&p) == PKT_TRACE) {
			in[in_len++] = p.path_len;
			in[in_len++] = 0;
			CHECK_HEX("trace path_len", in + 1, 2, jstr(e, "path_len_u16le"));
		}
		memcpy(in + in_len, p.payload, p.payload_len);
		in_len += p.payload_len;
		CHECK_HEX("hash input", in, in_len, jstr(e, "hash_input"));
		hash_sha256(digest, in, in_len);
		CHECK_HEX("hash of input", digest, PKT_HASH_SIZE, jstr(e, "packet_hash"));
		pkt_hash(&p, h);
		CHECK_HEX("packet hash", h, PKT_HASH_SIZE, jstr(e, "packet_hash"));
	}
}

static void check_flood_append(json_t *v, const struct ident *fwd)
{
	struct pkt p;
	uint8_t h1[PKT_HASH_SIZE], h2[PKT_HASH_SIZE];

	if (decode_raw(v, "before.raw", &p))
		return;
	pkt_hash(&p, h1);
	CHECK_EQ(pkt_path_append(&p, fwd->pub), ERR_OK);
	pkt_hash(&p, h2);
	CHECK_MEM(h1, h2, PKT_HASH_SIZE);
	check_encodes_to(&p, jstr(v, "after_one_repeater.raw"), "flood append");
}

static void check_direct_consume(json_t *v, const struct ident *fwd)
{
	struct pkt p;

	if (decode_raw(v, "before.raw", &p))
		return;
	CHECK(pkt_path_next_is(&p, fwd->pub));
	CHECK_EQ(pkt_path_consume(&p), ERR_OK);
	CHECK(!pkt_path_next_is(&p, fwd->pub));
	check_encodes_to(&p, jstr(v, "after_one_hop.raw"), "direct consume");
}

static void test_forwarding(json_t *root)
{
	json_t *v = jget(root, "forwarding");
	const struct ident *rpt = id_by_name("repeater"), *room = id_by_name("room");
	struct pkt p;
	struct trace t;

	CHECK_HEX("repeater hash", rpt->pub, 1, jstr(v, "flood_advert.repeater_hash"));
	check_flood_append(jget(v, "flood_advert"), rpt);
	check_flood_append(jget(v, "flood_anon_req"), rpt);
	check_direct_consume(jget(v, "direct_path_packet"), rpt);
	check_direct_consume(jget(v, "direct_ack"), rpt);

	/* TRACE: tag 0x11223344, auth 0x55667788, flags 0, hashes [repeater, room];
	 * the repeater heard it at 10 dB and appends SNR x 4 = 0x28 */
	if (decode_raw(v, "trace.before.raw", &p))
		return;
	CHECK_EQ(trace_parse(&t, p.payload, p.payload_len), ERR_OK);
	CHECK_EQ(t.tag, 0x11223344);
	CHECK_EQ(t.auth, 0x55667788);
	CHECK_EQ(t.flags, 0);
	CHECK_EQ(t.hash_size, 1);
	CHECK_EQ(t.hash_count, 2);
	CHECK_EQ(t.hashes[0], rpt->pub[0]);
	CHECK_EQ(t.hashes[1], room->pub[0]);
	CHECK_EQ(pkt_trace_add_snr(&p, 10 * 4), ERR_OK);
	check_encodes_to(&p, jstr(v, "trace.after_one_hop.raw"), "trace snr");
}

/* Decodes one air-log payload with its type's decoder, decrypting with the vector keys. */
static void check_air_payload(const struct pkt *p)
{
	uint8_t pt[PL_MAX_PLAIN], s[32];
	size_t pt_len = 0;
	struct advert a;
	struct anon an;
	struct dgram d;
	struct ack ak;
	struct trace t;
	struct path_msg m;
	struct txt_msg msg;
	struct login_req l;
	const struct ident *to, *from;

	switch (pkt_type(p)) {
	case PKT_ADVERT:
		CHECK_EQ(advert_parse(&a, p->payload, p->payload_len), ERR_OK);
		CHECK_EQ(a.data_err, ERR_OK);
		CHECK(a.data.name_len > 0);
		break;
	case PKT_ANON_REQ:
		CHECK_EQ(anon_parse(&an, p->payload, p->payload_len), ERR_OK);
		to = id_by_hash(an.dest);
		CHECK(to != NULL);
		if (!to)
			break;
		secret_of(to, an.sender_pub, s);
		CHECK_EQ(sealed_open(an.sealed, an.sealed_len, s, pt, sizeof(pt), &pt_len), ERR_OK);
		CHECK_EQ(login_req_decode(&l, LOGIN_FORM_ROOM, pt, pt_len), ERR_OK);
		CHECK_STR(l.password, "hello");
		break;
	case PKT_PATH:
	case PKT_TXT_MSG:
	case PKT_RESPONSE:
		CHECK_EQ(dgram_parse(&d, p->payload, p->payload_len), ERR_OK);
		to = id_by_hash(d.dest);
		from = id_by_hash(d.src);
		CHECK(to && from);
		if (!to || !from)
			break;
		secret_of(to, from->pub, s);
		CHECK_EQ(sealed_open(d.sealed, d.sealed_len, s, pt, sizeof(pt), &pt_len), ERR_OK);
		if (pkt_type(p) == PKT_PATH)
			CHECK_EQ(path_msg_decode(&m, pt, pt_len), ERR_OK);
		else if (pkt_type(p) == PKT_TXT_MSG)
			CHECK_EQ(txt_decode(&msg, pt, pt_len), ERR_OK);
		else
			CHECK(pt_len >= LOGIN_RESP_SIZE);
		break;
	case PKT_ACK: CHECK_EQ(ack_decode(&ak, p->payload, p->payload_len), ERR_OK); break;
	case PKT_TRACE: CHECK_EQ(trace_parse(&t, p->payload, p->payload_len), ERR_OK); break;
	default: fprintf(stderr, "air log: unexpected type %u\n", pkt_type(p)); CHECK(0);
	}
}

static void test_air_log(json_t *root)
{
	json_t *arr = jget(root, "air_log");
	struct pkt p;

	CHECK(json_array_size(arr) > 0);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		if (decode_raw(e, "raw", &p))
			continue;
		check_encodes_to(&p, jstr(e, "raw"), "air log frame");
		CHECK_STR(pkt_route_name(pkt_route(&p)), jstr(e, "route_type"));
		CHECK_STR(pkt_type_name(pkt_type(&p)), jstr(e, "payload_type"));
		CHECK(id_by_name(jstr(e, "from")) != NULL);
		check_air_payload(&p);
	}
}

int main(void)
{
	json_t *root;
	size_t n_packets;

	if (crypto_init() != ERR_OK)
		return 1;
	root = golden_load();
	if (!root)
		return harness_done("test_vectors");
	CHECK_EQ(jint(root, "checks_failed"), 0);
	test_identities(root);
	test_ecdh(root);
	test_cipher(root);
	n_packets = walk_packets(root);
	CHECK(n_packets >= 27);
	test_adverts(root);
	test_advert_coords(root);
	test_login_flood(root);
	test_login_direct(root);
	test_txt_post(root);
	test_room_push(root);
	test_packet_hashes(root);
	test_forwarding(root);
	test_air_log(root);
	json_decref(root);
	printf("vectors: %u checks (%zu packet objects)\n", harness_pass + harness_fail, n_packets);
	return harness_done("test_vectors");
}
