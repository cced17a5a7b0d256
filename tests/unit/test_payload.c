/*
 * test_payload.c - the payload codecs (PROTOCOL.md §4-§5, §6.10): round
 * trips, table-driven empty/truncated/boundary/overlong cases for every
 * decoder, builder limits, and every truncation and bit flip of the golden
 * frames and of their decrypted plaintexts through every decoder.
 */
#include <math.h>
#include <string.h>

#include "crypto/crypto.h"
#include "golden.h"
#include "harness.h"

static unsigned dissect_failures;
#define DISSECT_ASSERT(c)                                                                          \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			dissect_failures++;                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);  \
		}                                                                                  \
	} while (0)
#include "dissect.h"

#include "proto/advert.h"
#include "proto/lpp.h"
#include "proto/payload.h"
#include "proto/region.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"

static const uint8_t secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* --- envelopes -------------------------------------------------------------- */

static void test_envelopes(void)
{
	uint8_t pt[200], out[PKT_MAX_PAYLOAD + 16], back[PL_MAX_PLAIN], pub[32];
	size_t out_len, back_len;
	struct dgram d;
	struct anon a;
	struct grp g;

	memset(pt, 'x', sizeof(pt));
	memset(pub, 0x5A, sizeof(pub));
	memset(out, 0, sizeof(out));
	/* minimum lengths */
	for (size_t n = 0; n < PL_DGRAM_MIN; n++)
		CHECK_EQ(dgram_parse(&d, out, n), ERR_TRUNCATED);
	CHECK_EQ(dgram_parse(&d, out, PL_DGRAM_MIN), ERR_OK);
	CHECK_EQ(d.sealed_len, 3);
	CHECK_EQ(anon_parse(&a, out, PL_ANON_MIN - 1), ERR_TRUNCATED);
	CHECK_EQ(anon_parse(&a, out, PL_ANON_MIN), ERR_OK);
	CHECK_EQ(a.sealed_len, 3);
	CHECK_EQ(grp_parse(&g, out, PL_GRP_MIN - 1), ERR_TRUNCATED);
	CHECK_EQ(grp_parse(&g, out, PL_GRP_MIN), ERR_OK);

	/* size limits of §4: largest plaintexts fit in 184, one more does not */
	CHECK_EQ(
	    dgram_build(0x11, 0x22, secret, pt, PL_DGRAM_MAX_PLAIN, out, PKT_MAX_PAYLOAD, &out_len),
	    ERR_OK);
	CHECK_EQ(out_len, 180);
	CHECK_EQ(
	    dgram_build(0x11, 0x22, secret, pt, PL_DGRAM_MAX_PLAIN + 1, out, sizeof(out), &out_len),
	    ERR_TOO_BIG);
	CHECK_EQ(dgram_build(0x11, 0x22, secret, pt, 16, out, 19, &out_len), ERR_TOO_BIG);
	CHECK_EQ(dgram_build(0x11, 0x22, secret, pt, 16, out, 1, &out_len), ERR_TOO_BIG);
	CHECK_EQ(
	    anon_build(0x11, pub, secret, pt, PL_ANON_MAX_PLAIN, out, PKT_MAX_PAYLOAD, &out_len),
	    ERR_OK);
	CHECK_EQ(out_len, 179);
	CHECK_EQ(
	    anon_build(0x11, pub, secret, pt, PL_ANON_MAX_PLAIN + 1, out, sizeof(out), &out_len),
	    ERR_TOO_BIG);
	CHECK_EQ(anon_build(0x11, pub, secret, pt, 1, out, 20, &out_len), ERR_TOO_BIG);

	/* round trips */
	CHECK_EQ(dgram_build(0x11, 0x22, secret, pt, 20, out, sizeof(out), &out_len), ERR_OK);
	CHECK_EQ(dgram_parse(&d, out, out_len), ERR_OK);
	CHECK_EQ(d.dest, 0x11);
	CHECK_EQ(d.src, 0x22);
	CHECK_EQ(sealed_open(d.sealed, d.sealed_len, secret, back, sizeof(back), &back_len),
	         ERR_OK);
	CHECK_EQ(back_len, 32);
	CHECK_MEM(back, pt, 20);
	CHECK_EQ(back[20], 0);
	CHECK_EQ(anon_build(0x33, pub, secret, pt, 9, out, sizeof(out), &out_len), ERR_OK);
	CHECK_EQ(anon_parse(&a, out, out_len), ERR_OK);
	CHECK_EQ(a.dest, 0x33);
	CHECK_MEM(a.sender_pub, pub, 32);
	CHECK_EQ(sealed_open(a.sealed, a.sealed_len, secret, back, sizeof(back), &back_len),
	         ERR_OK);
	CHECK_MEM(back, pt, 9);

	/* sealed parts that cannot be opened */
	CHECK_EQ(sealed_open(out, 2, secret, back, sizeof(back), &back_len), ERR_FORMAT);
	CHECK_EQ(sealed_open(out, 3, secret, back, sizeof(back), &back_len), ERR_FORMAT);
	CHECK_EQ(sealed_open(a.sealed, a.sealed_len - 1, secret, back, sizeof(back), &back_len),
	         ERR_FORMAT);
	out[out_len - 1] ^= 0x80;
	CHECK_EQ(sealed_open(a.sealed, a.sealed_len, secret, back, sizeof(back), &back_len),
	         ERR_AUTH);
}

/* --- login ------------------------------------------------------------------ */

struct login_case {
	const char *hex;
	enum login_form form;
	int err;
	uint32_t ts, since;
	const char *password;
};

static void test_login(void)
{
	static const struct login_case cases[] = {
	    {"", LOGIN_FORM_ROOM, ERR_TRUNCATED, 0, 0, ""},
	    {"01020304", LOGIN_FORM_ROOM, ERR_TRUNCATED, 0, 0, ""},
	    {"01020304050607", LOGIN_FORM_ROOM, ERR_TRUNCATED, 0, 0, ""},
	    {"0102030405060708", LOGIN_FORM_ROOM, ERR_OK, 0x04030201, 0x08070605, ""},
	    {"010203040506070800", LOGIN_FORM_ROOM, ERR_OK, 0x04030201, 0x08070605, ""},
	    {"01020304050607086869", LOGIN_FORM_ROOM, ERR_OK, 0x04030201, 0x08070605, "hi"},
	    {"0102030405060708686900414243", LOGIN_FORM_ROOM, ERR_OK, 0x04030201, 0x08070605, "hi"},
	    /* 15 password bytes fill the first block exactly... */
	    {"0102030405060708414243444546474849505152535455", LOGIN_FORM_ROOM, ERR_OK, 0x04030201,
	     0x08070605, "ABCDEFGHIPQRSTU"},
	    /* ...16 cannot match any stored password */
	    {"010203040506070841424344454647484950515253545556", LOGIN_FORM_ROOM, ERR_TOO_BIG,
	     0x04030201, 0x08070605, ""},
	    {"010203", LOGIN_FORM_REPEATER, ERR_TRUNCATED, 0, 0, ""},
	    {"01020304", LOGIN_FORM_REPEATER, ERR_OK, 0x04030201, 0, ""},
	    {"0102030470617373000000000000000000", LOGIN_FORM_REPEATER, ERR_OK, 0x04030201, 0,
	     "pass"},
	};
	struct login_req l, l2;
	uint8_t buf[64];
	size_t n, len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = unhex(cases[i].hex, buf, sizeof(buf));
		CHECK_EQ(login_req_decode(&l, cases[i].form, buf, n), cases[i].err);
		if (cases[i].err == ERR_TRUNCATED)
			continue;
		CHECK_EQ(l.timestamp, cases[i].ts);
		CHECK_EQ(l.sync_since, cases[i].since);
		CHECK_STR(l.password, cases[i].password);
	}

	/* round trips in both forms; the password has no terminator */
	memset(&l, 0, sizeof(l));
	l.timestamp = 1750000220;
	l.sync_since = 1749990000;
	memcpy(l.password, "fifteen-chars!!", 15);
	CHECK_EQ(login_req_encode(&l, LOGIN_FORM_ROOM, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 23);
	CHECK_EQ(login_req_decode(&l2, LOGIN_FORM_ROOM, buf, len), ERR_OK);
	CHECK_EQ(memcmp(&l, &l2, sizeof(l)), 0);
	CHECK_EQ(login_req_encode(&l, LOGIN_FORM_REPEATER, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 19);
	CHECK_EQ(login_req_decode(&l2, LOGIN_FORM_REPEATER, buf, len), ERR_OK);
	CHECK_STR(l2.password, "fifteen-chars!!");
	CHECK_EQ(login_req_encode(&l, LOGIN_FORM_ROOM, buf, 22, &len), ERR_TOO_BIG);
	/* a blank password: byte 8 is padding */
	l.password[0] = '\0';
	CHECK_EQ(login_req_encode(&l, LOGIN_FORM_ROOM, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 8);
}

static void test_login_resp(void)
{
	struct login_resp r = {.timestamp = 0xA1B2C3D4,
	                       .code = 0,
	                       .keep_alive = 0,
	                       .legacy_role = 1,
	                       .permissions = 3,
	                       .random = {9, 8, 7, 6},
	                       .fw_level = 1};
	struct login_resp r2;
	uint8_t buf[32];
	size_t len;

	CHECK_EQ(login_resp_encode(&r, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, LOGIN_RESP_SIZE);
	CHECK_EQ(login_resp_encode(&r, buf, LOGIN_RESP_SIZE - 1, &len), ERR_TOO_BIG);
	CHECK_EQ(login_resp_decode(&r2, buf, LOGIN_RESP_SIZE - 1), ERR_TRUNCATED);
	CHECK_EQ(login_resp_decode(&r2, buf, 0), ERR_TRUNCATED);
	memset(buf + LOGIN_RESP_SIZE, 0, 3);
	CHECK_EQ(login_resp_decode(&r2, buf, 16), ERR_OK);
	CHECK_EQ(r2.timestamp, r.timestamp);
	CHECK_EQ(r2.legacy_role, 1);
	CHECK_EQ(r2.permissions, 3);
	CHECK_MEM(r2.random, r.random, 4);
	CHECK_EQ(r2.fw_level, 1);
	CHECK_HEX("login resp", buf, LOGIN_RESP_SIZE,
	          "d4c3b2a100000103090807060"
	          "1");

	CHECK_EQ(login_resp_legacy_role(0x00), 2);
	CHECK_EQ(login_resp_legacy_role(0x01), 0);
	CHECK_EQ(login_resp_legacy_role(0x02), 0);
	CHECK_EQ(login_resp_legacy_role(0x03), 1);
	CHECK_EQ(login_resp_legacy_role(0x07), 1);
	CHECK_EQ(login_resp_legacy_role(0x04), 0);
}

/* --- text messages ---------------------------------------------------------- */

struct txt_case {
	const char *hex;
	int err;
	uint8_t type, attempt, tail;
	const char *text;
};

static void set_text(struct txt_msg *m, const char *s, size_t n)
{
	memcpy(m->text, s, n);
	m->text[n] = '\0';
	m->text_len = n;
}

static void test_txt(void)
{
	static const struct txt_case cases[] = {
	    {"", ERR_TRUNCATED, 0, 0, 0, ""},
	    {"0102030400", ERR_TRUNCATED, 0, 0, 0, ""},
	    {"010203040041", ERR_OK, TXT_PLAIN, 0, 0, "A"},
	    {"01020304004100", ERR_OK, TXT_PLAIN, 0, 0, "A"},
	    {"0102030403410000", ERR_OK, TXT_PLAIN, 3, 0, "A"},
	    /* extended attempt: flags carry 5 & 3, the tail the whole byte */
	    {"0102030401410005", ERR_OK, TXT_PLAIN, 5, 5, "A"},
	    {"010203040567657400", ERR_OK, TXT_CLI, 1, 0, "get"},
	    {"0102030408deadbe", ERR_TRUNCATED, 0, 0, 0, ""},
	    {"0102030408deadbeef", ERR_OK, TXT_SIGNED, 0, 0, ""},
	    {"0102030408deadbeef4869", ERR_OK, TXT_SIGNED, 0, 0, "Hi"},
	    {"010203040c41", ERR_FORMAT, 0, 0, 0, ""},
	    {"01020304fc41", ERR_FORMAT, 0, 0, 0, ""},
	};
	uint8_t buf[256], code[4], code2[4];
	char aaa[200];
	struct txt_msg m, m2;
	size_t n, len;
	uint8_t pub[32] = {7};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = unhex(cases[i].hex, buf, sizeof(buf));
		CHECK_EQ(txt_decode(&m, buf, n), cases[i].err);
		if (cases[i].err != ERR_OK)
			continue;
		CHECK_EQ(m.timestamp, 0x04030201);
		CHECK_EQ(m.type, cases[i].type);
		CHECK_EQ(m.attempt, cases[i].attempt);
		CHECK_EQ(m.tail, cases[i].tail);
		CHECK_STR(m.text, cases[i].text);
	}

	memset(aaa, 'a', sizeof(aaa));
	/* the text may run to the very end (a full last block) or be too long */
	memset(buf, 'a', sizeof(buf));
	buf[4] = 0;
	CHECK_EQ(txt_decode(&m, buf, TXT_HDR + TXT_TEXT_MAX), ERR_OK);
	CHECK_EQ(m.text_len, TXT_TEXT_MAX);
	CHECK_EQ(txt_decode(&m, buf, TXT_HDR + TXT_TEXT_MAX + 1), ERR_TOO_BIG);

	/* encoder limits: 167-byte plaintexts */
	memset(&m, 0, sizeof(m));
	m.timestamp = 0x11223344;
	set_text(&m, aaa, 162);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 167);
	set_text(&m, aaa, 163);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_TOO_BIG);
	m.type = TXT_SIGNED;
	set_text(&m, aaa, 158);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_OK);
	set_text(&m, aaa, 159);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_TOO_BIG);
	m.type = TXT_PLAIN;
	m.attempt = 4;
	set_text(&m, aaa, 160);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_OK);
	set_text(&m, aaa, 161);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_TOO_BIG);
	set_text(&m, "a\0b", 3);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_INVAL);
	set_text(&m, "ab", 2);
	m.type = 3;
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_INVAL);
	m.type = TXT_CLI;
	CHECK_EQ(txt_encode(&m, buf, 6, &len), ERR_TOO_BIG);

	/* round trip with an extended attempt; the ACK code ignores the tail */
	memset(&m, 0, sizeof(m));
	m.timestamp = 1750000125;
	m.attempt = 6;
	set_text(&m, "retry", 5);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 5 + 5 + 2);
	CHECK_EQ(buf[4], 0x02);
	CHECK_EQ(buf[10], 0);
	CHECK_EQ(buf[11], 6);
	CHECK_EQ(txt_decode(&m2, buf, len), ERR_OK);
	CHECK_EQ(m2.attempt, 6);
	CHECK_STR(m2.text, "retry");
	CHECK_EQ(ack_code_txt(buf, len, pub, code), ERR_OK);
	ack_code(buf, 10, pub, code2);
	CHECK_MEM(code, code2, 4);

	/* signed: the code covers the author prefix */
	memset(&m, 0, sizeof(m));
	m.type = TXT_SIGNED;
	memcpy(m.author, "\x01\x02\x03\x04", 4);
	set_text(&m, "x", 1);
	CHECK_EQ(txt_encode(&m, buf, sizeof(buf), &len), ERR_OK);
	memset(buf + len, 0, 16);
	CHECK_EQ(ack_code_txt(buf, len + 6, pub, code), ERR_OK);
	ack_code(buf, 10, pub, code2);
	CHECK_MEM(code, code2, 4);
	CHECK_EQ(ack_code_txt(buf, 8, pub, code), ERR_TRUNCATED);
	CHECK_EQ(ack_code_txt(buf, 4, pub, code), ERR_TRUNCATED);
}

/* --- ACKs ------------------------------------------------------------------- */

static void test_acks(void)
{
	uint8_t code[4] = {0xde, 0xad, 0xbe, 0xef}, code2[4], buf[200], rem;
	uint8_t pub[32] = {1};
	struct ack a;
	struct multipart mp;
	size_t len;

	CHECK_EQ(ack_decode(&a, code, 3), ERR_TRUNCATED);
	CHECK_EQ(ack_decode(&a, code, 0), ERR_TRUNCATED);
	CHECK_EQ(ack_decode(&a, code, 4), ERR_OK);
	CHECK_EQ(ack_unsynced(&a), -1);
	CHECK_EQ(ack_encode(code, (const uint8_t *)"\x07\x55", 2, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 6);
	CHECK_EQ(ack_decode(&a, buf, len), ERR_OK);
	CHECK_MEM(a.code, code, 4);
	CHECK_EQ(a.extra_len, 2);
	CHECK_EQ(ack_unsynced(&a), 7);
	CHECK_EQ(ack_encode(code, buf, PKT_MAX_PAYLOAD - 3, buf, sizeof(buf), &len), ERR_TOO_BIG);
	CHECK_EQ(ack_encode(code, NULL, 0, buf, 3, &len), ERR_TOO_BIG);

	CHECK_EQ(multiack_encode(1, code, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, ACK_MULTI_SIZE);
	CHECK_EQ(buf[0], 0x13);
	CHECK_EQ(multiack_decode(buf, len, &rem, code2), ERR_OK);
	CHECK_EQ(rem, 1);
	CHECK_MEM(code2, code, 4);
	CHECK_EQ(multiack_decode(buf, 4, &rem, code2), ERR_TRUNCATED);
	CHECK_EQ(multiack_decode(buf, 2, &rem, code2), ERR_TRUNCATED);
	CHECK_EQ(multiack_encode(16, code, buf, sizeof(buf), &len), ERR_INVAL);
	CHECK_EQ(multiack_encode(15, code, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(buf[0], 0xF3);
	buf[0] = 0x12;
	CHECK_EQ(multiack_decode(buf, 5, &rem, code2), ERR_FORMAT);
	CHECK_EQ(multipart_parse(&mp, buf, 2), ERR_TRUNCATED);
	CHECK_EQ(multipart_parse(&mp, buf, 3), ERR_OK);
	CHECK_EQ(mp.remaining, 1);
	CHECK_EQ(mp.type, 2);
	CHECK_EQ(mp.data_len, 2);

	/* keep-alive codes: an absent forceSince hashes as zeros */
	uint8_t ka[9] = {1, 2, 3, 4, REQ_KEEP_ALIVE, 0, 0, 0, 0};
	ack_code_keepalive(ka, 5, pub, code);
	ack_code_keepalive(ka, 9, pub, code2);
	CHECK_MEM(code, code2, 4);
	ack_code(ka, 9, pub, code2);
	CHECK_MEM(code, code2, 4);
	memset(buf, 0, 16);
	memcpy(buf, ka, 9);
	ack_code_keepalive(buf, 16, pub, code2);
	CHECK_MEM(code, code2, 4);
}

/* --- PATH ------------------------------------------------------------------- */

struct path_case {
	const char *hex;
	int err;
	uint8_t path_len, extra_type;
	size_t extra_len;
};

static void seq_fill(void *ctx, uint8_t *buf, size_t n)
{
	uint8_t *next = ctx;

	for (size_t i = 0; i < n; i++)
		buf[i] = (*next)++;
}

static void test_path(void)
{
	static const struct path_case cases[] = {
	    {"", ERR_TRUNCATED, 0, 0, 0},       {"00", ERR_TRUNCATED, 0, 0, 0},
	    {"0001", ERR_OK, 0, 1, 0},          {"00f3deadbeef", ERR_OK, 0, 3, 4},
	    {"00ff", ERR_OK, 0, 0x0F, 0},       {"c0", ERR_PATH, 0, 0, 0},
	    {"c00100", ERR_PATH, 0, 0, 0},      {"61", ERR_PATH, 0, 0, 0},
	    {"03aabb", ERR_TRUNCATED, 0, 0, 0}, {"03aabbcc", ERR_TRUNCATED, 0, 0, 0},
	    {"03aabbcc01", ERR_OK, 3, 1, 0},    {"41aabb0300000000", ERR_OK, 0x41, 3, 4},
	};
	uint8_t buf[256], extra[200], next = 0x10;
	struct rng rng = {seq_fill, &next};
	struct path_msg m, m2;
	size_t n, len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = unhex(cases[i].hex, buf, sizeof(buf));
		CHECK_EQ(path_msg_decode(&m, buf, n), cases[i].err);
		if (cases[i].err != ERR_OK)
			continue;
		CHECK_EQ(m.path_len, cases[i].path_len);
		CHECK_EQ(m.extra_type, cases[i].extra_type);
		CHECK_EQ(m.extra_len, cases[i].extra_len);
	}

	/* no extra: 0xFF and 4 bytes from the rng */
	memset(&m, 0, sizeof(m));
	m.path_len = path_len_make(2, 2);
	memcpy(m.path, "\x01\x02\x03\x04", 4);
	m.extra_type = PATH_EXTRA_NONE;
	CHECK_EQ(path_msg_encode(&m, &rng, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 1 + 4 + 1 + 4);
	CHECK_EQ(buf[5], 0xFF);
	CHECK_EQ(buf[6], 0x10);
	CHECK_EQ(buf[9], 0x13);
	CHECK_EQ(path_msg_encode(&m, NULL, buf, sizeof(buf), &len), ERR_INVAL);
	/* an extra with no bytes is sent as "no extra", like the firmware */
	m.extra_type = PKT_ACK;
	CHECK_EQ(path_msg_encode(&m, &rng, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(buf[5], 0xFF);
	CHECK_EQ(buf[6], 0x14);

	/* round trip with an extra; the limit path + extra + 5 <= 166 */
	memset(extra, 0xEE, sizeof(extra));
	m.extra = extra;
	m.extra_len = 13;
	m.extra_type = PKT_RESPONSE;
	CHECK_EQ(path_msg_encode(&m, NULL, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(path_msg_decode(&m2, buf, len), ERR_OK);
	CHECK_EQ(m2.path_len, m.path_len);
	CHECK_MEM(m2.path, m.path, 4);
	CHECK_EQ(m2.extra_type, PKT_RESPONSE);
	CHECK_EQ(m2.extra_len, 13);
	CHECK_MEM(m2.extra, extra, 13);
	m.path_len = path_len_make(2, 32);
	m.extra_len = 166 - 64 - 5;
	CHECK_EQ(path_msg_encode(&m, NULL, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 1 + 64 + 1 + 97);
	m.extra_len++;
	CHECK_EQ(path_msg_encode(&m, NULL, buf, sizeof(buf), &len), ERR_TOO_BIG);
	m.path_len = 0xC0;
	CHECK_EQ(path_msg_encode(&m, NULL, buf, sizeof(buf), &len), ERR_PATH);
	m.path_len = 0;
	m.extra_len = 4;
	CHECK_EQ(path_msg_encode(&m, NULL, buf, 5, &len), ERR_TOO_BIG);
}

/* --- requests and responses ------------------------------------------------- */

static void test_requests(void)
{
	uint8_t buf[256], params[8] = {0, 0, 0, 0, 0xa0, 0xa1, 0xa2, 0xa3};
	struct req q = {
	    .timestamp = 0x01020304, .type = REQ_GET_STATUS, .params = params, .params_len = 8};
	struct req q2;
	struct resp r = {.tag = 0x01020304, .data = params, .data_len = 8}, r2;
	uint32_t ts, since;
	size_t len;

	CHECK_EQ(req_encode(&q, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 13);
	CHECK_EQ(req_decode(&q2, buf, len), ERR_OK);
	CHECK_EQ(q2.timestamp, q.timestamp);
	CHECK_EQ(q2.type, REQ_GET_STATUS);
	CHECK_EQ(q2.params_len, 8);
	CHECK_MEM(q2.params, params, 8);
	CHECK_EQ(req_decode(&q2, buf, 4), ERR_TRUNCATED);
	CHECK_EQ(req_decode(&q2, buf, 5), ERR_OK);
	CHECK_EQ(q2.params_len, 0);
	CHECK_EQ(req_encode(&q, buf, 12, &len), ERR_TOO_BIG);

	CHECK_EQ(resp_encode(&r, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, 12);
	CHECK_EQ(resp_decode(&r2, buf, len), ERR_OK);
	CHECK_EQ(r2.tag, r.tag);
	CHECK_EQ(r2.data_len, 8);
	CHECK_EQ(resp_decode(&r2, buf, 3), ERR_TRUNCATED);
	CHECK_EQ(resp_decode(&r2, buf, 4), ERR_OK);

	CHECK_EQ(keepalive_encode(5, 6, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, KEEPALIVE_SIZE);
	CHECK_EQ(keepalive_decode(buf, len, &ts, &since), ERR_OK);
	CHECK_EQ(ts, 5);
	CHECK_EQ(since, 6);
	CHECK_EQ(keepalive_decode(buf, 5, &ts, &since), ERR_OK);
	CHECK_EQ(since, 0);
	CHECK_EQ(keepalive_decode(buf, 8, &ts, &since), ERR_OK);
	CHECK_EQ(since, 0);
	CHECK_EQ(keepalive_decode(buf, 4, &ts, &since), ERR_TRUNCATED);
	buf[4] = REQ_GET_STATUS;
	CHECK_EQ(keepalive_decode(buf, len, &ts, &since), ERR_FORMAT);
	CHECK_EQ(keepalive_encode(5, 6, buf, 8, &len), ERR_TOO_BIG);
}

static void test_stats(void)
{
	struct server_stats s = {
	    .batt_mv = 4100,
	    .queue_len = 3,
	    .noise_floor = -120,
	    .last_rssi = -87,
	    .n_recv = 100000,
	    .n_sent = 2000,
	    .air_secs = 300,
	    .uptime_secs = 86400,
	    .n_sent_flood = 11,
	    .n_sent_direct = 12,
	    .n_recv_flood = 13,
	    .n_recv_direct = 14,
	    .err_flags = STATS_ERR_BUSY,
	    .last_snr_x4 = -22,
	    .n_direct_dups = 15,
	    .n_flood_dups = 16,
	    .n_posted = 17,
	    .n_post_push = 18,
	};
	struct server_stats s2;
	uint8_t buf[64];
	size_t len;

	CHECK_EQ(stats_encode(&s, buf, sizeof(buf), &len), ERR_OK);
	CHECK_EQ(len, SERVER_STATS_SIZE);
	/* spot checks of the §5.7 offsets */
	CHECK_EQ(le16_load(buf + 0), 4100);
	CHECK_EQ((int16_t)le16_load(buf + 4), -120);
	CHECK_EQ(le32_load(buf + 8), 100000);
	CHECK_EQ(le32_load(buf + 20), 86400);
	CHECK_EQ(le32_load(buf + 36), 14);
	CHECK_EQ(le16_load(buf + 40), STATS_ERR_BUSY);
	CHECK_EQ((int16_t)le16_load(buf + 42), -22);
	CHECK_EQ(le16_load(buf + 48), 17);
	CHECK_EQ(le16_load(buf + 50), 18);
	CHECK_EQ(stats_decode(&s2, buf, len), ERR_OK);
	CHECK_EQ(memcmp(&s, &s2, sizeof(s)), 0);
	CHECK_EQ(stats_decode(&s2, buf, len - 1), ERR_TRUNCATED);
	CHECK_EQ(stats_decode(&s2, buf, 0), ERR_TRUNCATED);
	CHECK_EQ(stats_encode(&s, buf, len - 1, &len), ERR_TOO_BIG);
}

static void test_acl_list(void)
{
	struct acl_entry e[30], back[30];
	uint8_t buf[256];
	size_t len, n;

	for (int i = 0; i < 30; i++) {
		memset(e[i].prefix, 0x10 + i, ACL_PREFIX_SIZE);
		e[i].permissions = ACL_ROLE_ADMIN;
	}
	CHECK_EQ(acl_list_encode(7, e, 20, buf, sizeof(buf), &len, &n), ERR_OK);
	CHECK_EQ(n, 20);
	CHECK_EQ(len, 4 + 140);
	/* the 180-byte cap: 25 entries at most */
	CHECK_EQ(acl_list_encode(7, e, 30, buf, sizeof(buf), &len, &n), ERR_OK);
	CHECK_EQ(n, 25);
	CHECK_EQ(len, 179);
	CHECK_EQ(le32_load(buf), 7);
	CHECK_EQ(acl_list_decode(buf + 4, len - 4, back, 30, &n), ERR_OK);
	CHECK_EQ(n, 25);
	CHECK_MEM(back[24].prefix, e[24].prefix, ACL_PREFIX_SIZE);
	CHECK_EQ(back[24].permissions, ACL_ROLE_ADMIN);
	CHECK_EQ(acl_list_decode(buf + 4, len - 4, back, 24, &n), ERR_TOO_BIG);
	/* padding after 2 entries reads as the end; a partial entry is ignored */
	CHECK_EQ(acl_list_encode(7, e, 2, buf, sizeof(buf), &len, &n), ERR_OK);
	memset(buf + len, 0, 32);
	CHECK_EQ(acl_list_decode(buf + 4, 28, back, 30, &n), ERR_OK);
	CHECK_EQ(n, 2);
	CHECK_EQ(acl_list_decode(buf + 4, 13, back, 30, &n), ERR_OK);
	CHECK_EQ(n, 1);
	CHECK_EQ(acl_list_decode(buf + 4, 0, back, 30, &n), ERR_OK);
	CHECK_EQ(n, 0);
	CHECK_EQ(acl_list_encode(7, e, 2, buf, 10, &len, &n), ERR_TOO_BIG);
}

static void test_control_trace(void)
{
	uint8_t buf[64] = {0}, hashes[16];
	struct control c;
	struct trace t;
	size_t len;

	CHECK_EQ(control_parse(&c, buf, 0), ERR_TRUNCATED);
	buf[0] = 0x81;
	CHECK_EQ(control_parse(&c, buf, 6), ERR_OK);
	CHECK_EQ(c.subtype, CONTROL_DISCOVER_REQ);
	CHECK(c.flags & CONTROL_FLAG_APP);
	CHECK_EQ(c.data_len, 5);

	for (int i = 0; i < 16; i++)
		hashes[i] = (uint8_t)i;
	for (uint8_t flags = 0; flags < 4; flags++) {
		size_t k = 1u << flags;
		CHECK_EQ(trace_encode(0x11223344, 0x55667788, flags, hashes, 16 / k, buf,
		                      sizeof(buf), &len),
		         ERR_OK);
		CHECK_EQ(len, TRACE_HDR + 16);
		CHECK_EQ(trace_parse(&t, buf, len), ERR_OK);
		CHECK_EQ(t.tag, 0x11223344);
		CHECK_EQ(t.auth, 0x55667788);
		CHECK_EQ(t.hash_size, k);
		CHECK_EQ(t.hash_count, 16 / k);
		CHECK_MEM(t.hashes, hashes, 16);
		if (k > 1)
			CHECK_EQ(trace_parse(&t, buf, len - 1), ERR_FORMAT);
	}
	CHECK_EQ(trace_parse(&t, buf, TRACE_HDR - 1), ERR_TRUNCATED);
	CHECK_EQ(trace_parse(&t, buf, TRACE_HDR), ERR_OK);
	CHECK_EQ(trace_parse(&t, buf, 0), ERR_TRUNCATED);
	CHECK_EQ(t.hash_count, 0);
	CHECK_EQ(trace_encode(1, 2, 3, hashes, 22, buf, sizeof(buf), &len), ERR_TOO_BIG);
	CHECK_EQ(trace_encode(1, 2, 0, hashes, 16, buf, 20, &len), ERR_TOO_BIG);
}

/* --- adverts ---------------------------------------------------------------- */

struct appdata_case {
	const char *hex;
	int err;
	uint8_t type;
	bool loc;
	const char *name;
};

static void test_advert_data(void)
{
	static const struct appdata_case cases[] = {
	    {"", ERR_TRUNCATED, 0, false, ""},
	    {"01", ERR_OK, ADV_TYPE_CHAT, false, ""},
	    {"81", ERR_OK, ADV_TYPE_CHAT, false, ""},
	    {"8141", ERR_OK, ADV_TYPE_CHAT, false, "A"},
	    {"814100ff", ERR_OK, ADV_TYPE_CHAT, false, "A"},
	    {"0141", ERR_OK, ADV_TYPE_CHAT, false, ""},
	    {"1300000000000000", ERR_TRUNCATED, 0, false, ""},
	    {"130000000000000000", ERR_OK, ADV_TYPE_ROOM, true, ""},
	    {"33000000000000000001", ERR_TRUNCATED, 0, false, ""},
	    {"3300000000000000000100", ERR_OK, ADV_TYPE_ROOM, true, ""},
	    {"f3000000000000000001000200", ERR_OK, ADV_TYPE_ROOM, true, ""},
	    {"f300000000000000000100020041", ERR_OK, ADV_TYPE_ROOM, true, "A"},
	    {"c201", ERR_TRUNCATED, 0, false, ""},
	    {"c20100", ERR_OK, ADV_TYPE_REPEATER, false, ""},
	    /* 32 bytes: a 31-byte name; byte 33 is never looked at */
	    {"8241424344454647484950515253545556575859606162636465666768697071ff", ERR_OK,
	     ADV_TYPE_REPEATER, false, "ABCDEFGHIPQRSTUVWXY`abcdefghipq"},
	};
	struct advert_data d, d2;
	uint8_t buf[64], out[ADVERT_DATA_MAX];
	size_t n, len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = unhex(cases[i].hex, buf, sizeof(buf));
		CHECK_EQ(advert_data_decode(&d, buf, n), cases[i].err);
		if (cases[i].err != ERR_OK)
			continue;
		CHECK_EQ(d.type, cases[i].type);
		CHECK_EQ(d.has_loc, cases[i].loc);
		CHECK_STR(d.name, cases[i].name);
	}

	/* features and negative coordinates round trip */
	memset(&d, 0, sizeof(d));
	d.type = ADV_TYPE_SENSOR;
	d.has_loc = true;
	d.lat_e6 = -33868820;
	d.lon_e6 = 151209296;
	d.has_feat1 = true;
	d.feat1 = 0xBEEF;
	d.has_feat2 = true;
	d.feat2 = 0x1234;
	snprintf(d.name, sizeof(d.name), "%s", "Sensor");
	CHECK_EQ(advert_data_encode(&d, out, &len), ERR_OK);
	CHECK_EQ(len, 1 + 8 + 4 + 6);
	CHECK_EQ(out[0], 0xF4);
	CHECK_EQ(advert_data_decode(&d2, out, len), ERR_OK);
	CHECK_EQ(d2.lat_e6, d.lat_e6);
	CHECK_EQ(d2.lon_e6, d.lon_e6);
	CHECK_EQ(d2.feat1, 0xBEEF);
	CHECK_EQ(d2.feat2, 0x1234);
	CHECK_STR(d2.name, "Sensor");

	/* names are cut to fit: 23 bytes with a location, 31 without */
	memset(&d, 0, sizeof(d));
	d.type = ADV_TYPE_ROOM;
	d.has_loc = true;
	snprintf(d.name, sizeof(d.name), "%s", "A very long room name, over 31");
	CHECK_EQ(advert_data_encode(&d, out, &len), ERR_OK);
	CHECK_EQ(len, ADVERT_DATA_MAX);
	CHECK_EQ(advert_data_decode(&d2, out, len), ERR_OK);
	CHECK_EQ(d2.name_len, 23);
	d.has_loc = false;
	CHECK_EQ(advert_data_encode(&d, out, &len), ERR_OK);
	CHECK_EQ(len, 31);
	/* ... at a code point boundary: 21 ASCII bytes then a 4-byte emoji */
	d.has_loc = true;
	snprintf(d.name, sizeof(d.name), "%s", "123456789012345678901\xF0\x9F\x94\x8B");
	CHECK_EQ(advert_data_encode(&d, out, &len), ERR_OK);
	CHECK_EQ(len, 1 + 8 + 21);
	/* an empty name (or one cut to nothing) sets no name flag; 0,0 still a location */
	d.name[0] = '\0';
	CHECK_EQ(advert_data_encode(&d, out, &len), ERR_OK);
	CHECK_EQ(len, 9);
	CHECK_EQ(out[0], 0x13);
	snprintf(d.name, sizeof(d.name), "%s", "\x80 bad");
	CHECK_EQ(advert_data_encode(&d, out, &len), ERR_OK);
	CHECK_EQ(out[0], 0x13);

	/* coordinates: C truncation toward zero, clamped, NaN */
	CHECK_EQ(advert_coord_e6(0.0000019), 1);
	CHECK_EQ(advert_coord_e6(-0.0000019), -1);
	CHECK_EQ(advert_coord_e6(-0.0000009), 0);
	CHECK_EQ(advert_coord_e6(180.0), 180000000);
	CHECK_EQ(advert_coord_e6(1e10), INT32_MAX);
	CHECK_EQ(advert_coord_e6(-1e10), INT32_MIN);
	CHECK_EQ(advert_coord_e6(NAN), 0);
}

static void test_advert(void)
{
	uint8_t seed[32] = {42}, app[40], pl[PKT_MAX_PAYLOAD + 8];
	struct advert_data d = {.type = ADV_TYPE_ROOM, .name = "Room"};
	struct ident id;
	struct advert a;
	size_t app_len, pl_len;

	ident_from_seed(&id, seed);
	CHECK_EQ(advert_data_encode(&d, app, &app_len), ERR_OK);
	CHECK_EQ(advert_build(&id, 1234, app, app_len, pl, sizeof(pl), &pl_len), ERR_OK);
	CHECK_EQ(pl_len, ADVERT_HDR + app_len);
	CHECK_EQ(advert_parse(&a, pl, pl_len), ERR_OK);
	CHECK_MEM(a.pub, id.pub, 32);
	CHECK_EQ(a.timestamp, 1234);
	CHECK_EQ(a.data_err, ERR_OK);
	CHECK_STR(a.data.name, "Room");
	for (size_t n = 0; n < ADVERT_HDR; n++)
		CHECK_EQ(advert_parse(&a, pl, n), ERR_TRUNCATED);
	/* every bit of pub, timestamp, signature and app_data is covered */
	for (size_t bit = 0; bit < pl_len * 8; bit += 7) {
		pl[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK_EQ(advert_parse(&a, pl, pl_len), ERR_AUTH);
		pl[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}

	/* no app_data: valid signature, undecodable data */
	CHECK_EQ(advert_build(&id, 1, NULL, 0, pl, sizeof(pl), &pl_len), ERR_OK);
	CHECK_EQ(pl_len, ADVERT_HDR);
	CHECK_EQ(advert_parse(&a, pl, pl_len), ERR_OK);
	CHECK_EQ(a.data_err, ERR_TRUNCATED);

	/* more than 32 bytes of app_data: only the first 32 are signed and parsed */
	memset(app, 'n', sizeof(app));
	app[0] = 0x83;
	CHECK_EQ(advert_build(&id, 5, app, 33, pl, sizeof(pl), &pl_len), ERR_TOO_BIG);
	CHECK_EQ(advert_build(&id, 5, app, 32, pl, sizeof(pl), &pl_len), ERR_OK);
	pl[pl_len++] = 'X';
	pl[pl_len++] = 'Y';
	CHECK_EQ(advert_parse(&a, pl, pl_len), ERR_OK);
	CHECK_EQ(a.app_data_len, 32);
	CHECK_EQ(a.data.name_len, 31);
	CHECK_EQ(advert_build(&id, 5, app, 10, pl, 109, &pl_len), ERR_TOO_BIG);
}

/* --- LPP, regions, UTF-8 ---------------------------------------------------- */

static void test_lpp(void)
{
	uint8_t buf[64];
	struct wbuf w;
	struct rbuf r;
	struct lpp_record rec;
	size_t n;

	wbuf_init(&w, buf, sizeof(buf));
	CHECK_EQ(lpp_put_voltage(&w, 1, 3.999), ERR_OK);
	CHECK_EQ(lpp_put_temperature(&w, 1, -12.34), ERR_OK);
	CHECK_EQ(lpp_put_voltage(&w, 2, -1.0), ERR_OK);
	CHECK_EQ(lpp_put_temperature(&w, 3, 25.0), ERR_OK);
	CHECK_EQ(lpp_put_voltage(&w, 4, 1e9), ERR_OK);
	CHECK_EQ(w.len, 20);
	CHECK_HEX("lpp", buf, w.len, "0174018f0167ff8502740000036700fa0474ffff");

	memset(buf + w.len, 0, 12);
	rbuf_init(&r, buf, w.len + 12);
	CHECK_EQ(lpp_next(&r, &rec), ERR_OK);
	CHECK_EQ(rec.type, LPP_VOLTAGE);
	CHECK_EQ(lpp_voltage_centi(&rec), 399);
	CHECK_EQ(lpp_next(&r, &rec), ERR_OK);
	CHECK_EQ(lpp_temperature_deci(&rec), -123);
	CHECK_EQ(lpp_next(&r, &rec), ERR_OK);
	CHECK_EQ(lpp_next(&r, &rec), ERR_OK);
	CHECK_EQ(lpp_temperature_deci(&rec), 250);
	CHECK_EQ(lpp_next(&r, &rec), ERR_OK);
	CHECK_EQ(lpp_voltage_centi(&rec), 65535);
	CHECK_EQ(lpp_next(&r, &rec), ERR_NOT_FOUND);

	/* a GPS record (9 bytes) is skipped, an unknown type stops, a cut one is caught */
	n = unhex("0188000102030405060708017401f4", buf, sizeof(buf));
	rbuf_init(&r, buf, n);
	CHECK_EQ(lpp_next(&r, &rec), ERR_OK);
	CHECK_EQ(rec.value_len, 9);
	CHECK_EQ(lpp_next(&r, &rec), ERR_OK);
	CHECK_EQ(lpp_voltage_centi(&rec), 500);
	CHECK_EQ(lpp_next(&r, &rec), ERR_NOT_FOUND);
	n = unhex("01ee0000", buf, sizeof(buf));
	rbuf_init(&r, buf, n);
	CHECK_EQ(lpp_next(&r, &rec), ERR_FORMAT);
	for (size_t cut = 1; cut < 4; cut++) {
		n = unhex("017401f4", buf, sizeof(buf));
		rbuf_init(&r, buf, cut);
		CHECK_EQ(lpp_next(&r, &rec), ERR_TRUNCATED);
	}
	CHECK_EQ(lpp_value_size(0x74), 2);
	CHECK_EQ(lpp_value_size(0x88), 9);
	CHECK_EQ(lpp_value_size(0xEE), 0);
	wbuf_init(&w, buf, 3);
	CHECK_EQ(lpp_put_voltage(&w, 1, 3.3), ERR_TOO_BIG);
	/* wbuf_finish, the one end of every encoder: the sticky error, or the length */
	size_t fin = 99;
	CHECK_EQ(wbuf_finish(&w, &fin), ERR_TOO_BIG);
	CHECK_EQ(fin, 99);
	wbuf_init(&w, buf, sizeof(buf));
	CHECK_EQ(wbuf_put_le16(&w, 7), ERR_OK);
	CHECK_EQ(wbuf_finish(&w, &fin), ERR_OK);
	CHECK_EQ(fin, 2);
}

static void test_region(void)
{
	uint8_t key[REGION_KEY_SIZE], key2[REGION_KEY_SIZE], mac[32], pl[4];
	bool found0 = false, found_ff = false;

	CHECK_EQ(region_key("$private", 8, key), ERR_NOT_FOUND);
	CHECK_EQ(region_key("", 0, key), ERR_INVAL);
	CHECK_EQ(region_key("usa", 3, key), ERR_OK);
	CHECK_EQ(region_key("#usa", 4, key2), ERR_OK);
	CHECK_MEM(key, key2, sizeof(key));
	CHECK_EQ(region_key("USA", 3, key2), ERR_OK);
	CHECK(memcmp(key, key2, sizeof(key)) != 0);

	/* the reserved codes 0x0000 and 0xFFFF never go on the air */
	for (uint32_t i = 0; i < (1u << 21) && !(found0 && found_ff); i++) {
		uint8_t msg[5] = {PKT_TXT_MSG};
		uint16_t raw;
		le32_store(pl, i);
		memcpy(msg + 1, pl, 4);
		hmac_sha256(mac, key, REGION_KEY_SIZE, msg, 5);
		raw = le16_load(mac);
		if (raw == 0x0000 && !found0) {
			found0 = true;
			CHECK_EQ(region_transport_code(key, PKT_TXT_MSG, pl, 4), 0x0001);
		} else if (raw == 0xFFFF && !found_ff) {
			found_ff = true;
			CHECK_EQ(region_transport_code(key, PKT_TXT_MSG, pl, 4), 0xFFFE);
		} else if (i < 4) {
			CHECK_EQ(region_transport_code(key, PKT_TXT_MSG, pl, 4), raw);
		}
	}
	CHECK(found0 && found_ff);
}

static void test_utf8(void)
{
	const char *name = "Example RPT \xF0\x9F\x94\x8B\xF0\x9F\x87\xB5\xF0\x9F\x87\xB1";
	size_t len = strlen(name);

	CHECK_EQ(len, 24);
	CHECK_EQ(utf8_valid_prefix_len(name, len, 24), 24);
	CHECK_EQ(utf8_valid_prefix_len(name, len, 23), 20);
	CHECK_EQ(utf8_valid_prefix_len(name, len, 16), 16);
	CHECK_EQ(utf8_valid_prefix_len(name, len, 13), 12);
	CHECK_EQ(utf8_valid_prefix_len(name, len, 0), 0);
	/* a code point cut short at the end, and what is not one */
	CHECK(utf8_cut_tail("\xC3", 1));
	CHECK(utf8_cut_tail("\xE2\x82", 2));
	CHECK(utf8_cut_tail("\xF0\x9F\x98", 3));
	CHECK(!utf8_cut_tail("\xE2\x82\xAC", 3)); /* complete */
	CHECK(!utf8_cut_tail("\xC3\x28", 2));     /* not a continuation */
	CHECK(!utf8_cut_tail("\xA9", 1));         /* stray continuation */
	CHECK(!utf8_cut_tail("\xC0", 1));         /* never a lead byte */
	CHECK(!utf8_cut_tail("\xF5\x80", 2));     /* above U+10FFFF */
	CHECK(!utf8_cut_tail("", 0));
	CHECK(!utf8_cut_tail("\xF0\x9F\x98\x80", 4));
	CHECK_EQ(utf8_valid_prefix_len("A\xC0\xAF", 3, 10), 1);         /* overlong */
	CHECK_EQ(utf8_valid_prefix_len("A\xE0\x80\xAF", 4, 10), 1);     /* overlong */
	CHECK_EQ(utf8_valid_prefix_len("A\xED\xA0\x80", 4, 10), 1);     /* surrogate */
	CHECK_EQ(utf8_valid_prefix_len("A\xF4\x90\x80\x80", 5, 10), 1); /* > U+10FFFF */
	CHECK_EQ(utf8_valid_prefix_len("A\xF0\x9F", 3, 10), 1);         /* cut */
	CHECK_EQ(utf8_valid_prefix_len("A\x80"
	                               "B",
	                               3, 10),
	         1);                                                    /* stray */
	CHECK_EQ(utf8_valid_prefix_len("A\xF5\x80\x80\x80", 5, 10), 1); /* bad lead */
	CHECK_EQ(utf8_valid_prefix_len("A\xE2\x82"
	                               "A",
	                               4, 10),
	         1);                                         /* bad continuation */
	CHECK_EQ(utf8_valid_prefix_len("AB\0CD", 5, 10), 2); /* NUL ends it */
	CHECK_EQ(utf8_valid_prefix_len("ab\xC3\xA9"
	                               "cd",
	                               6, 3),
	         2);
	CHECK_EQ(utf8_valid_prefix_len("ab\xC3\xA9"
	                               "cd",
	                               6, 4),
	         4);
	CHECK_EQ(utf8_valid_prefix_len("\xEF\xBF\xBF\xF4\x8F\xBF\xBF", 7, 7), 7);
}

/* --- mutations of the golden frames ----------------------------------------- */

#define MAX_SECRETS 8

struct mut_ctx {
	uint8_t secrets[MAX_SECRETS][CRYPTO_SECRET_SIZE];
	size_t n_secrets;
	unsigned frames, opened, plaintexts;
};

static void mutate_plaintext(unsigned type, const uint8_t *pt, size_t len, struct mut_ctx *c)
{
	uint8_t buf[PL_MAX_PLAIN];

	for (size_t cut = 0; cut <= len; cut++) {
		dissect_plain(type, pt, cut);
		c->plaintexts++;
	}
	memcpy(buf, pt, len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		dissect_plain(type, buf, len);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		c->plaintexts++;
	}
}

/* Decrypts an original golden datagram and mutates its plaintext. */
static void golden_plaintexts(const struct pkt *p, struct mut_ctx *c)
{
	uint8_t pt[PL_MAX_PLAIN];
	size_t pt_len;
	struct dgram d;
	struct anon a;
	const uint8_t *sealed;
	size_t sealed_len;

	if (dgram_parse(&d, p->payload, p->payload_len) == ERR_OK && pkt_type(p) != PKT_ANON_REQ) {
		sealed = d.sealed;
		sealed_len = d.sealed_len;
	} else if (anon_parse(&a, p->payload, p->payload_len) == ERR_OK) {
		sealed = a.sealed;
		sealed_len = a.sealed_len;
	} else {
		return;
	}
	for (size_t i = 0; i < c->n_secrets; i++) {
		if (sealed_open(sealed, sealed_len, c->secrets[i], pt, sizeof(pt), &pt_len) ==
		    ERR_OK) {
			mutate_plaintext(pkt_type(p), pt, pt_len, c);
			return;
		}
	}
}

static void mutate_one(const uint8_t *frame, size_t len, struct mut_ctx *c)
{
	struct pkt p;

	c->frames++;
	if (pkt_decode(&p, frame, len) == ERR_OK)
		c->opened +=
		    (unsigned)dissect_pkt(&p, (const uint8_t(*)[32])c->secrets, c->n_secrets);
}

static void mutate_frame(const char *where, const uint8_t *raw, size_t len, void *ctx)
{
	struct mut_ctx *c = ctx;
	uint8_t buf[512];
	struct pkt p;

	(void)where;
	if (pkt_decode(&p, raw, len) != ERR_OK) {
		CHECK(!"golden frame does not decode");
		return;
	}
	switch (pkt_type(&p)) {
	case PKT_REQ:
	case PKT_RESPONSE:
	case PKT_TXT_MSG:
	case PKT_PATH:
	case PKT_ANON_REQ: golden_plaintexts(&p, c); break;
	default: break;
	}
	for (size_t cut = 0; cut <= len; cut++)
		mutate_one(raw, cut, c);
	memcpy(buf, raw, len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		mutate_one(buf, len, c);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

static void test_golden_mutations(void)
{
	json_t *root = golden_load(), *ecdh;
	static struct mut_ctx c;

	if (!root)
		return;
	ecdh = jget(root, "ecdh");
	for (size_t i = 0; i < json_array_size(ecdh) && i < MAX_SECRETS; i++) {
		junhex(json_array_get(ecdh, i), "secret_a_with_b_pub", c.secrets[i], 32);
		c.n_secrets++;
	}
	CHECK(c.n_secrets >= 6);
	golden_frames(root, mutate_frame, &c);
	json_decref(root);
	CHECK(c.frames > 10000);
	CHECK(c.opened > 50);
	CHECK(c.plaintexts > 5000);
	CHECK_EQ(dissect_failures, 0);
	printf("payload mutations: %u frames (%u decrypted), %u plaintexts\n", c.frames, c.opened,
	       c.plaintexts);
}

int main(void)
{
	if (crypto_init() != ERR_OK)
		return 1;
	test_envelopes();
	test_login();
	test_login_resp();
	test_txt();
	test_acks();
	test_path();
	test_requests();
	test_stats();
	test_acl_list();
	test_control_trace();
	test_advert_data();
	test_advert();
	test_lpp();
	test_region();
	test_utf8();
	test_golden_mutations();
	return harness_done("test_payload");
}
