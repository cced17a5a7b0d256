/*
 * fuzz_advert.c - libFuzzer target for adverts (PROTOCOL.md §5.8): parsing
 * and verifying hostile payloads, and a build/parse round trip of app_data
 * and of signed adverts made from fuzzed fields.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "proto/advert.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static const struct ident *signer(void)
{
	static struct ident id;
	static int ready;

	if (!ready) {
		uint8_t seed[CRYPTO_SEED_SIZE] = {0x5e, 0xed};
		must(crypto_init() == ERR_OK);
		ident_from_seed(&id, seed);
		ready = 1;
	}
	return &id;
}

/* app_data fields from the input: flags byte, 12 bytes of numbers, then the name. */
static void round_trip(const uint8_t *in, size_t n)
{
	struct advert_data d, d2;
	uint8_t app[ADVERT_DATA_MAX], pl[ADVERT_MAX];
	size_t app_len, pl_len, name_len;
	struct advert a;

	if (n < 13)
		return;
	memset(&d, 0, sizeof(d));
	d.type = in[0] & ADV_TYPE_MASK;
	d.has_loc = in[0] & ADV_FLAG_LOC;
	d.has_feat1 = in[0] & ADV_FLAG_FEAT1;
	d.has_feat2 = in[0] & ADV_FLAG_FEAT2;
	d.lat_e6 = (int32_t)le32_load(in + 1);
	d.lon_e6 = (int32_t)le32_load(in + 5);
	d.feat1 = le16_load(in + 9);
	d.feat2 = le16_load(in + 11);
	name_len = n - 13 > ADVERT_NAME_MAX ? ADVERT_NAME_MAX : n - 13;
	memcpy(d.name, in + 13, name_len);
	d.name[name_len] = '\0';

	must(advert_data_encode(&d, app, &app_len) == ERR_OK);
	must(app_len <= ADVERT_DATA_MAX);
	must(advert_data_decode(&d2, app, app_len) == ERR_OK);
	must(d2.type == d.type && d2.has_loc == d.has_loc && d2.has_feat1 == d.has_feat1 &&
	     d2.has_feat2 == d.has_feat2);
	must(!d.has_loc || (d2.lat_e6 == d.lat_e6 && d2.lon_e6 == d.lon_e6));
	must(!d.has_feat1 || d2.feat1 == d.feat1);
	must(!d.has_feat2 || d2.feat2 == d.feat2);
	/* the name kept is the longest valid UTF-8 prefix that fits */
	must(d2.name_len <= strlen(d.name) && memcmp(d2.name, d.name, d2.name_len) == 0);
	must(utf8_valid_prefix_len(d2.name, d2.name_len, d2.name_len) == d2.name_len);
	must(((d2.flags & ADV_FLAG_NAME) != 0) == (d2.name_len > 0));

	must(advert_build(signer(), le32_load(in + 1), app, app_len, pl, sizeof(pl), &pl_len) ==
	     ERR_OK);
	must(advert_parse(&a, pl, pl_len) == ERR_OK);
	must(a.data_err == ERR_OK && a.data.name_len == d2.name_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct advert a;
	struct advert_data d;
	int rc;

	(void)signer();
	rc = advert_parse(&a, data, size);
	must(rc == ERR_OK || rc == ERR_TRUNCATED || rc == ERR_AUTH);
	if (rc == ERR_OK)
		must(a.app_data_len <= ADVERT_DATA_MAX);
	if (advert_data_decode(&d, data, size) == ERR_OK)
		must(d.name_len <= ADVERT_NAME_MAX && strlen(d.name) == d.name_len);
	round_trip(data, size);
	return 0;
}
