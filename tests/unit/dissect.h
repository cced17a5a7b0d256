/*
 * dissect.h - runs every payload decoder that applies to a packet, for the
 * mutation tests (test_payload) and the fuzz targets.  Each decoder must
 * either fail cleanly or produce output that satisfies its invariants
 * (checked with DISSECT_ASSERT: abort by default, counted by the tests).
 * Header-only: each test or fuzz program is one translation unit.
 */
#ifndef ROOMD_TESTS_DISSECT_H
#define ROOMD_TESTS_DISSECT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "proto/advert.h"
#include "proto/lpp.h"
#include "proto/packet.h"
#include "proto/payload.h"
#include "util/buf.h"
#include "util/err.h"

#ifndef DISSECT_ASSERT
#define DISSECT_ASSERT(c)                                                                          \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
#endif

/* Decoders return 0 or one of the error codes, never anything else. */
static inline void dissect_rc(int rc)
{
	DISSECT_ASSERT(rc == ERR_OK || (rc < 0 && rc >= ERR_RATE));
}

static inline void dissect_lpp(const uint8_t *p, size_t len)
{
	struct rbuf r;
	struct lpp_record rec;
	int rc, guard = 0;

	rbuf_init(&r, p, len);
	while ((rc = lpp_next(&r, &rec)) == ERR_OK && guard++ < 256) {
		DISSECT_ASSERT(rec.value >= p && rec.value + rec.value_len <= p + len);
		if (rec.type == LPP_VOLTAGE)
			(void)lpp_voltage_centi(&rec);
		if (rec.type == LPP_TEMPERATURE)
			(void)lpp_temperature_deci(&rec);
	}
	dissect_rc(rc);
	DISSECT_ASSERT(r.off <= len);
}

/* Response bodies: which one it is depends on the request, so try them all. */
static inline void dissect_response_body(const uint8_t *pt, size_t len)
{
	struct login_resp lr;
	struct resp rs;
	struct server_stats st;
	struct acl_entry acl[32];
	size_t n;

	dissect_rc(login_resp_decode(&lr, pt, len));
	if (resp_decode(&rs, pt, len) == ERR_OK) {
		DISSECT_ASSERT(rs.data_len + RESP_HDR == len);
		dissect_rc(stats_decode(&st, rs.data, rs.data_len));
		dissect_rc(acl_list_decode(rs.data, rs.data_len, acl, 32, &n));
		DISSECT_ASSERT(n <= 32 && n * ACL_ENTRY_SIZE <= rs.data_len);
		dissect_lpp(rs.data, rs.data_len);
	}
}

static inline void dissect_txt(const uint8_t *pt, size_t len)
{
	struct txt_msg m;
	uint8_t code[ACK_CODE_SIZE];
	static const uint8_t pub[CRYPTO_PUB_SIZE];

	if (txt_decode(&m, pt, len) == ERR_OK) {
		DISSECT_ASSERT(m.text_len <= TXT_TEXT_MAX && strlen(m.text) == m.text_len);
		DISSECT_ASSERT(m.type <= TXT_SIGNED);
		DISSECT_ASSERT(ack_code_txt(pt, len, pub, code) == ERR_OK);
	}
	dissect_rc(ack_code_txt(pt, len, pub, code));
}

static inline void dissect_path(const uint8_t *pt, size_t len)
{
	struct path_msg m;
	struct ack a;

	if (path_msg_decode(&m, pt, len) != ERR_OK)
		return;
	DISSECT_ASSERT(path_len_valid(m.path_len) && m.extra_type <= 0x0F);
	DISSECT_ASSERT(m.extra >= pt && m.extra + m.extra_len == pt + len);
	DISSECT_ASSERT(1 + path_len_bytes(m.path_len) + 1 + m.extra_len == len);
	if (m.extra_type == PKT_ACK)
		dissect_rc(ack_decode(&a, m.extra, m.extra_len));
	if (m.extra_type == PKT_RESPONSE)
		dissect_response_body(m.extra, m.extra_len);
}

static inline void dissect_req(const uint8_t *pt, size_t len)
{
	struct req q;
	uint32_t ts, since;
	uint8_t code[ACK_CODE_SIZE];
	static const uint8_t pub[CRYPTO_PUB_SIZE];

	if (req_decode(&q, pt, len) == ERR_OK)
		DISSECT_ASSERT(q.params_len + REQ_HDR == len);
	dissect_rc(keepalive_decode(pt, len, &ts, &since));
	ack_code_keepalive(pt, len, pub, code);
}

static inline void dissect_login(const uint8_t *pt, size_t len)
{
	struct login_req l;

	for (int form = LOGIN_FORM_ROOM; form <= LOGIN_FORM_REPEATER; form++) {
		if (login_req_decode(&l, (enum login_form)form, pt, len) == ERR_OK)
			DISSECT_ASSERT(strlen(l.password) <= LOGIN_PASSWORD_MAX);
	}
}

/* The plaintext decoders for an encrypted payload type. */
static inline void dissect_plain(unsigned type, const uint8_t *pt, size_t len)
{
	switch (type) {
	case PKT_REQ: dissect_req(pt, len); break;
	case PKT_RESPONSE: dissect_response_body(pt, len); break;
	case PKT_TXT_MSG: dissect_txt(pt, len); break;
	case PKT_PATH: dissect_path(pt, len); break;
	case PKT_ANON_REQ: dissect_login(pt, len); break;
	default: break;
	}
}

/* Tries each secret on a sealed part; on success runs the plaintext decoders. */
static inline int dissect_sealed(unsigned type, const uint8_t *sealed, size_t sealed_len,
                                 const uint8_t (*secrets)[CRYPTO_SECRET_SIZE], size_t n_secrets)
{
	uint8_t pt[PL_MAX_PLAIN];
	size_t pt_len;
	int rc;

	for (size_t i = 0; i < n_secrets; i++) {
		rc = sealed_open(sealed, sealed_len, secrets[i], pt, sizeof(pt), &pt_len);
		dissect_rc(rc);
		if (rc == ERR_OK) {
			DISSECT_ASSERT(pt_len % CRYPTO_BLOCK_SIZE == 0 && pt_len <= PL_MAX_PLAIN);
			dissect_plain(type, pt, pt_len);
			return 1;
		}
	}
	return 0;
}

/* Every decoder for p's payload type; returns 1 if a secret opened it. */
static inline int dissect_pkt(const struct pkt *p, const uint8_t (*secrets)[CRYPTO_SECRET_SIZE],
                              size_t n_secrets)
{
	const uint8_t *pl = p->payload;
	size_t len = p->payload_len;
	struct dgram d;
	struct anon an;
	struct grp g;
	struct ack a;
	struct multipart mp;
	struct control c;
	struct trace t;
	struct advert adv;
	uint8_t rem, code[ACK_CODE_SIZE];

	switch (pkt_type(p)) {
	case PKT_REQ:
	case PKT_RESPONSE:
	case PKT_TXT_MSG:
	case PKT_PATH:
		if (dgram_parse(&d, pl, len) != ERR_OK)
			return 0;
		DISSECT_ASSERT(d.sealed + d.sealed_len == pl + len);
		return dissect_sealed(pkt_type(p), d.sealed, d.sealed_len, secrets, n_secrets);
	case PKT_ANON_REQ:
		if (anon_parse(&an, pl, len) != ERR_OK)
			return 0;
		DISSECT_ASSERT(an.sealed + an.sealed_len == pl + len);
		return dissect_sealed(PKT_ANON_REQ, an.sealed, an.sealed_len, secrets, n_secrets);
	case PKT_ACK: dissect_rc(ack_decode(&a, pl, len)); break;
	case PKT_ADVERT:
		if (advert_parse(&adv, pl, len) == ERR_OK) {
			DISSECT_ASSERT(adv.app_data_len <= ADVERT_DATA_MAX);
			DISSECT_ASSERT(adv.data.name_len <= ADVERT_NAME_MAX);
		}
		break;
	case PKT_GRP_TXT:
	case PKT_GRP_DATA: dissect_rc(grp_parse(&g, pl, len)); break;
	case PKT_MULTIPART:
		dissect_rc(multipart_parse(&mp, pl, len));
		dissect_rc(multiack_decode(pl, len, &rem, code));
		break;
	case PKT_CONTROL: dissect_rc(control_parse(&c, pl, len)); break;
	case PKT_TRACE:
		if (trace_parse(&t, pl, len) == ERR_OK)
			DISSECT_ASSERT(TRACE_HDR + t.hash_count * t.hash_size == len);
		break;
	default: break;
	}
	return 0;
}

#endif
