/*
 * test_examples.c - the worked examples of PROTOCOL.md §12: room R (seed
 * 00..1f) and client C (seed 20..3f) log in, post, get a push, keep alive,
 * send a CLI command; R's advert, a region scope, coordinates and a TRACE
 * hash.  Every frame is built with the codecs and compared byte for byte.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "proto/advert.h"
#include "proto/packet.h"
#include "proto/payload.h"
#include "proto/region.h"
#include "proto/route_edit.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

static struct ident R, C;
static uint8_t secret[32];

static void check_hex_at(int line, const uint8_t *p, size_t n, const char *want)
{
	char got[2 * 300 + 1];

	if (n > 300 || hex_encode(got, sizeof(got), p, n) != 0 || strcmp(got, want) != 0) {
		harness_fail++;
		fprintf(stderr, "%s:%d: got %s\n  want %s\n", __FILE__, line, n > 300 ? "?" : got,
		        want);
	} else {
		harness_pass++;
	}
}
#define CHECK_HEX(p, n, want) check_hex_at(__LINE__, p, n, want)

static size_t frame_of(unsigned route, unsigned type, const uint8_t *payload, size_t n,
                       uint8_t *out)
{
	struct pkt p;
	size_t len = 0;

	memset(&p, 0, sizeof(p));
	p.header = pkt_header(route, type);
	memcpy(p.payload, payload, n);
	p.payload_len = n;
	CHECK_EQ(pkt_encode(&p, out, PKT_MAX_FRAME, &len), ERR_OK);
	return len;
}

static void hash_of_frame(const uint8_t *frame, size_t len, const char *want)
{
	struct pkt p;
	uint8_t h[PKT_HASH_SIZE];

	CHECK_EQ(pkt_decode(&p, frame, len), ERR_OK);
	pkt_hash(&p, h);
	CHECK_HEX(h, sizeof(h), want);
}

static void test_keys(void)
{
	uint8_t seed[32], s2[32];

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	ident_from_seed(&R, seed);
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0x20 + i);
	ident_from_seed(&C, seed);
	CHECK_HEX(R.prv, 64,
	          "3894eea49c580aef816935762be049559d6d1440dede12e6a125f1841fff8e6f"
	          "a9d71862a3e5746b571be3d187b0041046f52ebd850c7cbd5fde8ee38473b649");
	CHECK_HEX(C.prv, 64,
	          "887af58a36202e05c4c1cfec5bf6c61fad66bca851536004074b31f1b56e4a49"
	          "3d9c9fc20dc59e01fecab23063ef341b2d2d75c4e8e4fa1e9ba958658260e336");
	CHECK_HEX(R.pub, 32, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
	CHECK_HEX(C.pub, 32, "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7");
	CHECK_EQ(R.pub[0], 0x03);
	CHECK_EQ(C.pub[0], 0x29);
	CHECK_EQ(ident_shared_secret(&R, C.pub, secret), ERR_OK);
	CHECK_EQ(ident_shared_secret(&C, R.pub, s2), ERR_OK);
	CHECK_HEX(secret, 32, "f6f92efb32945aff683324a1c984c5001f46aaea513f3453138d740b3a604b7d");
	CHECK_MEM(secret, s2, 32);
}

static void test_login(void)
{
	struct login_req l = {.timestamp = 1735689600, .sync_since = 0, .password = "hello"};
	uint8_t pt[32], pl[PKT_MAX_PAYLOAD], frame[PKT_MAX_FRAME], back[32];
	size_t pt_len, pl_len, frame_len, back_len;
	struct pkt p;
	struct anon an;

	CHECK_EQ(login_req_encode(&l, LOGIN_FORM_ROOM, pt, sizeof(pt), &pt_len), ERR_OK);
	CHECK_HEX(pt, pt_len, "808574670000000068656c6c6f");
	CHECK_EQ(anon_build(R.pub[0], C.pub, secret, pt, pt_len, pl, sizeof(pl), &pl_len), ERR_OK);
	CHECK_HEX(pl + PL_ANON_HDR, pl_len - PL_ANON_HDR, "24730ca7cbc41c72c47b6ecf960791d00fb9");
	frame_len = frame_of(PKT_ROUTE_FLOOD, PKT_ANON_REQ, pl, pl_len, frame);
	CHECK_EQ(frame_len, 53);
	CHECK_HEX(frame, frame_len,
	          "1d000329acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"
	          "24730ca7cbc41c72c47b6ecf960791d00fb9");
	hash_of_frame(frame, frame_len, "4a873526c86fd774");

	/* the room's side */
	CHECK_EQ(pkt_decode(&p, frame, frame_len), ERR_OK);
	CHECK_EQ(anon_parse(&an, p.payload, p.payload_len), ERR_OK);
	CHECK_EQ(sealed_open(an.sealed, an.sealed_len, secret, back, sizeof(back), &back_len),
	         ERR_OK);
	CHECK_HEX(back, back_len, "808574670000000068656c6c6f000000");
	CHECK_EQ(login_req_decode(&l, LOGIN_FORM_ROOM, back, back_len), ERR_OK);
	CHECK_STR(l.password, "hello");

	/* forwarded by a node with 1-byte hash ab: path grows, hash stays */
	uint8_t fwd[3] = {0xab, 0xcd, 0xef};
	CHECK_EQ(pkt_path_append(&p, fwd), ERR_OK);
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &frame_len), ERR_OK);
	CHECK_HEX(frame, 6, "1d01ab0329ac");
	hash_of_frame(frame, frame_len, "4a873526c86fd774");
	/* sent with 2-byte hashes and forwarded by abcd... */
	CHECK_EQ(pkt_decode(&p, frame, frame_len), ERR_OK);
	CHECK_EQ(pkt_path_consume(&p), ERR_OK);
	p.path_len = path_len_make(2, 0);
	CHECK_EQ(pkt_path_append(&p, fwd), ERR_OK);
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &frame_len), ERR_OK);
	CHECK_HEX(frame, 7, "1d41abcd0329ac");
	hash_of_frame(frame, frame_len, "4a873526c86fd774");
}

static void test_login_response(void)
{
	struct login_resp r = {
	    .timestamp = 1735689700,
	    .code = LOGIN_RESP_OK,
	    .legacy_role = login_resp_legacy_role(ACL_ROLE_READ_WRITE),
	    .permissions = ACL_ROLE_READ_WRITE,
	    .random = {0xa1, 0xb2, 0xc3, 0xd4},
	    .fw_level = LOGIN_FW_LEVEL,
	};
	uint8_t body[16], pt[32], pl[PKT_MAX_PAYLOAD], frame[PKT_MAX_FRAME];
	size_t body_len, pt_len, pl_len, frame_len;
	struct path_msg m = {.path_len = 0, .extra_type = PKT_RESPONSE};

	CHECK_EQ(r.legacy_role, 0);
	CHECK_EQ(login_resp_encode(&r, body, sizeof(body), &body_len), ERR_OK);
	CHECK_HEX(body, body_len, "e485746700000002a1b2c3d401");
	m.extra = body;
	m.extra_len = body_len;
	CHECK_EQ(path_msg_encode(&m, NULL, pt, sizeof(pt), &pt_len), ERR_OK);
	CHECK_HEX(pt, pt_len, "0001e485746700000002a1b2c3d401");
	CHECK_EQ(dgram_build(C.pub[0], R.pub[0], secret, pt, pt_len, pl, sizeof(pl), &pl_len),
	         ERR_OK);
	frame_len = frame_of(PKT_ROUTE_FLOOD, PKT_PATH, pl, pl_len, frame);
	CHECK_HEX(frame, frame_len, "21002903390949eef881f2ab0eb72a7361a925a73c60");
	hash_of_frame(frame, frame_len, "3a40affa8f4f4d86");
}

static size_t txt_frame(const struct txt_msg *m, const struct ident *from, const struct ident *to,
                        unsigned route, uint8_t *pt, size_t *pt_len, uint8_t *frame)
{
	uint8_t pl[PKT_MAX_PAYLOAD];
	size_t pl_len = 0;

	CHECK_EQ(txt_encode(m, pt, PL_MAX_PLAIN, pt_len), ERR_OK);
	CHECK_EQ(
	    dgram_build(to->pub[0], from->pub[0], secret, pt, *pt_len, pl, sizeof(pl), &pl_len),
	    ERR_OK);
	return frame_of(route, PKT_TXT_MSG, pl, pl_len, frame);
}

static void test_post(void)
{
	struct txt_msg m = {.timestamp = 1735689800, .type = TXT_PLAIN, .attempt = 0};
	uint8_t pt[PL_MAX_PLAIN], frame[PKT_MAX_FRAME], code[4], pl[8], h[PKT_HASH_SIZE];
	size_t pt_len, frame_len, pl_len;
	struct pkt p;

	m.text_len = strlen("Hi room");
	memcpy(m.text, "Hi room", m.text_len);
	frame_len = txt_frame(&m, &C, &R, PKT_ROUTE_DIRECT, pt, &pt_len, frame);
	CHECK_HEX(pt, pt_len, "4886746700486920726f6f6d");
	CHECK_HEX(frame, frame_len, "0a0003290006934a9917b961eff1bb825838a2189c98");

	CHECK_EQ(ack_code_txt(pt, pt_len, C.pub, code), ERR_OK);
	CHECK_HEX(code, 4, "5ff99ec6");
	CHECK_EQ(ack_encode(code, NULL, 0, pl, sizeof(pl), &pl_len), ERR_OK);
	frame_len = frame_of(PKT_ROUTE_DIRECT, PKT_ACK, pl, pl_len, frame);
	CHECK_HEX(frame, frame_len, "0e005ff99ec6");
	hash_of_frame(frame, frame_len, "9a0a06e06b3001cd");

	/* the multi-ACK and its synthetic hash: type MULTIPART over the ACK bytes */
	CHECK_EQ(multiack_encode(1, code, pl, sizeof(pl), &pl_len), ERR_OK);
	CHECK_HEX(pl, pl_len, "135ff99ec6");
	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_MULTIPART);
	memcpy(p.payload, pl + 1, pl_len - 1);
	p.payload_len = pl_len - 1;
	pkt_hash(&p, h);
	CHECK_HEX(h, PKT_HASH_SIZE, "9c1aee9e67d7c3ad");

	/* attempt 1 changes the flags byte and so the code */
	m.attempt = 1;
	CHECK_EQ(txt_encode(&m, pt, sizeof(pt), &pt_len), ERR_OK);
	CHECK_EQ(pt[4], 0x01);
	CHECK_EQ(ack_code_txt(pt, pt_len, C.pub, code), ERR_OK);
	CHECK_HEX(code, 4, "2dfaf4b7");
}

static void test_push(void)
{
	struct txt_msg m = {.timestamp = 1735689900,
	                    .type = TXT_SIGNED,
	                    .attempt = 0,
	                    .author = {0xde, 0xad, 0xbe, 0xef}};
	uint8_t pt[PL_MAX_PLAIN], frame[PKT_MAX_FRAME], code[4], pl[PKT_MAX_PAYLOAD];
	size_t pt_len, frame_len, pl_len;
	struct path_msg pm = {.path_len = 0, .extra_type = PKT_ACK};

	m.text_len = strlen("Welcome!");
	memcpy(m.text, "Welcome!", m.text_len);
	frame_len = txt_frame(&m, &R, &C, PKT_ROUTE_FLOOD, pt, &pt_len, frame);
	CHECK_HEX(pt, pt_len, "ac86746708deadbeef57656c636f6d6521");
	CHECK_HEX(frame, frame_len,
	          "09002903ab9c943d77c73bc8515a63ea32cb857e188b922c91daf9ecb6b8180efb48911cd785");
	hash_of_frame(frame, frame_len, "0f0a75b0b3d6ed1c");
	/* acknowledged with the recipient's (C's) key */
	CHECK_EQ(ack_code_txt(pt, pt_len, C.pub, code), ERR_OK);
	CHECK_HEX(code, 4, "1bc5ffa9");

	/* C's ACK inside a flooded PATH with an empty path */
	pm.extra = code;
	pm.extra_len = 4;
	CHECK_EQ(path_msg_encode(&pm, NULL, pt, sizeof(pt), &pt_len), ERR_OK);
	CHECK_HEX(pt, pt_len, "00031bc5ffa9");
	CHECK_EQ(dgram_build(R.pub[0], C.pub[0], secret, pt, pt_len, pl, sizeof(pl), &pl_len),
	         ERR_OK);
	frame_len = frame_of(PKT_ROUTE_FLOOD, PKT_PATH, pl, pl_len, frame);
	CHECK_HEX(frame, frame_len, "21000329d16a74135396d83d3522396b6f921eeb6fee");
}

static void test_keepalive(void)
{
	uint8_t pt[16], pl[PKT_MAX_PAYLOAD], frame[PKT_MAX_FRAME], code[4], back[32];
	uint8_t count = 3;
	size_t pt_len, pl_len, frame_len, back_len;
	uint32_t ts, since;
	struct pkt p;
	struct dgram d;
	struct ack ak;

	CHECK_EQ(keepalive_encode(1735690000, 1735689900, pt, sizeof(pt), &pt_len), ERR_OK);
	CHECK_HEX(pt, pt_len, "1087746702ac867467");
	CHECK_EQ(dgram_build(R.pub[0], C.pub[0], secret, pt, pt_len, pl, sizeof(pl), &pl_len),
	         ERR_OK);
	frame_len = frame_of(PKT_ROUTE_DIRECT, PKT_REQ, pl, pl_len, frame);
	CHECK_HEX(frame, frame_len, "020003296a8b1c2b8746dc6d9c68a70a274bb2ee23ef");

	/* the room decodes it and acknowledges with the unsynced count */
	CHECK_EQ(pkt_decode(&p, frame, frame_len), ERR_OK);
	CHECK_EQ(dgram_parse(&d, p.payload, p.payload_len), ERR_OK);
	CHECK_EQ(sealed_open(d.sealed, d.sealed_len, secret, back, sizeof(back), &back_len),
	         ERR_OK);
	CHECK_EQ(keepalive_decode(back, back_len, &ts, &since), ERR_OK);
	CHECK_EQ(ts, 1735690000);
	CHECK_EQ(since, 1735689900);
	ack_code_keepalive(back, back_len, C.pub, code);
	CHECK_HEX(code, 4, "9ea44593");
	CHECK_EQ(ack_encode(code, &count, 1, pl, sizeof(pl), &pl_len), ERR_OK);
	frame_len = frame_of(PKT_ROUTE_DIRECT, PKT_ACK, pl, pl_len, frame);
	CHECK_HEX(frame, frame_len, "0e009ea4459303");
	CHECK_EQ(ack_decode(&ak, pl, pl_len), ERR_OK);
	CHECK_EQ(ack_unsynced(&ak), 3);
}

static void test_cli(void)
{
	struct txt_msg m = {.timestamp = 1735690200, .type = TXT_CLI};
	uint8_t pt[32];
	size_t pt_len;

	m.text_len = strlen("get name");
	memcpy(m.text, "get name", m.text_len);
	CHECK_EQ(txt_encode(&m, pt, sizeof(pt), &pt_len), ERR_OK);
	CHECK_HEX(pt, pt_len, "d887746704676574206e616d65");
}

static void test_advert_and_region(void)
{
	struct advert_data d = {.type = ADV_TYPE_ROOM, .has_loc = true, .name = "Test BBS"};
	uint8_t app[ADVERT_DATA_MAX], pl[PKT_MAX_PAYLOAD], frame[PKT_MAX_FRAME];
	uint8_t key[REGION_KEY_SIZE], key2[REGION_KEY_SIZE];
	size_t app_len, pl_len, frame_len;
	struct advert a;
	struct pkt p;
	uint16_t code;

	CHECK_EQ(advert_data_encode(&d, app, &app_len), ERR_OK);
	CHECK_HEX(app, app_len, "9300000000000000005465737420424253");
	CHECK_EQ(advert_build(&R, 1735690100, app, app_len, pl, sizeof(pl), &pl_len), ERR_OK);
	CHECK_HEX(pl + 36, 64,
	          "417794220ca9be3023ec8f82ed6a3945f3b850152c7a371eb94cb40164f599ea"
	          "dbf382edc6098fd62f6f536f3dd31401c047d15d251e7eaea8cc3d6f0a154f05");
	frame_len = frame_of(PKT_ROUTE_DIRECT, PKT_ADVERT, pl, pl_len, frame);
	CHECK_EQ(frame_len, 119);
	CHECK_HEX(frame, frame_len,
	          "120003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b874877467"
	          "417794220ca9be3023ec8f82ed6a3945f3b850152c7a371eb94cb40164f599eadbf382edc609"
	          "8fd62f6f536f3dd31401c047d15d251e7eaea8cc3d6f0a154f059300000000000000005465737420"
	          "424253");
	hash_of_frame(frame, frame_len, "c59fe9d1dac20045");
	CHECK_EQ(advert_parse(&a, pl, pl_len), ERR_OK);
	CHECK_STR(a.data.name, "Test BBS");
	CHECK(a.data.has_loc);

	/* region #test (or test), and the advert sent scoped */
	CHECK_EQ(region_key("#test", 5, key), ERR_OK);
	CHECK_HEX(key, sizeof(key), "9cd8fcf22a47333b591d96a2b848b73f");
	CHECK_EQ(region_key("test", 4, key2), ERR_OK);
	CHECK_MEM(key, key2, sizeof(key));
	code = region_transport_code(key, PKT_ADVERT, pl, pl_len);
	CHECK_EQ(code, 0x13b3);
	CHECK_EQ(pkt_decode(&p, frame, frame_len), ERR_OK);
	p.header = pkt_header(PKT_ROUTE_TRANSPORT_FLOOD, PKT_ADVERT);
	p.transport[0] = code;
	p.transport[1] = 0;
	CHECK_EQ(pkt_encode(&p, frame, sizeof(frame), &frame_len), ERR_OK);
	CHECK_HEX(frame, 9, "10b31300000003a107");
	hash_of_frame(frame, frame_len, "c59fe9d1dac20045");
}

static void test_other(void)
{
	uint8_t b[4];
	struct pkt p;
	uint8_t h[PKT_HASH_SIZE];

	le32_store(b, (uint32_t)advert_coord_e6(51.500729));
	CHECK_HEX(b, 4, "b9d61103");
	CHECK_EQ(advert_coord_e6(51.500729), 51500729);
	le32_store(b, (uint32_t)advert_coord_e6(-0.124625));
	CHECK_HEX(b, 4, "2f19feff");
	CHECK_EQ(advert_coord_e6(-0.124625), -124625);

	memset(&p, 0, sizeof(p));
	p.header = pkt_header(PKT_ROUTE_DIRECT, PKT_TRACE);
	p.path_len = 2;
	for (int i = 0; i < 11; i++)
		p.payload[i] = (uint8_t)i;
	p.payload_len = 11;
	pkt_hash(&p, h);
	CHECK_HEX(h, sizeof(h), "e8f40f23b7bfd777");
}

int main(void)
{
	if (crypto_init() != ERR_OK)
		return 1;
	test_keys();
	test_login();
	test_login_response();
	test_post();
	test_push();
	test_keepalive();
	test_cli();
	test_advert_and_region();
	test_other();
	return harness_done("test_examples");
}
