/*
 * guard.c - a room's abuse defences (see guard.h; PROTOCOL.md §7.2, §6.10,
 * §2.8).
 */
#include <string.h>

#include "crypto/crypto.h"
#include "room/guard.h"

#define PW_PAD 16 /* the firmware's char[16]: 15 characters and a NUL */

static const struct limit_cfg login_key_cfg = {GUARD_LOGIN_KEY_BURST, GUARD_LOGIN_KEY_PERIOD_MS,
                                               GUARD_LOGIN_KEY_MAX_MS};
static const struct limit_cfg login_all_cfg = {GUARD_LOGIN_ALL_BURST, GUARD_LOGIN_ALL_PERIOD_MS,
                                               GUARD_LOGIN_ALL_MAX_MS};
static const struct limit_cfg reply_key_cfg = {GUARD_REPLY_KEY_BURST, GUARD_REPLY_KEY_PERIOD_MS,
                                               GUARD_REPLY_KEY_MAX_MS};
static const struct limit_cfg direct_key_cfg = {GUARD_DIRECT_KEY_BURST, GUARD_DIRECT_KEY_PERIOD_MS,
                                                GUARD_DIRECT_KEY_MAX_MS};
static const struct limit_cfg reply_all_cfg = {GUARD_REPLY_ALL_BURST, GUARD_REPLY_ALL_PERIOD_MS,
                                               GUARD_REPLY_ALL_PERIOD_MS};

void guard_init(struct guard *g, uint64_t now_ms)
{
	memset(g, 0, sizeof(*g));
	limit_table_init(&g->login_key, &login_key_cfg);
	limit_bucket_init(&g->login_all, &login_all_cfg, now_ms);
	limit_table_init(&g->reply_key, &reply_key_cfg);
	limit_bucket_init(&g->reply_all, &reply_all_cfg, now_ms);
	limit_table_init(&g->direct_key, &direct_key_cfg);
}

static void pad(uint8_t out[PW_PAD], const char *s, size_t len)
{
	memset(out, 0, PW_PAD);
	memcpy(out, s, len < PW_PAD - 1 ? len : PW_PAD - 1);
}

int guard_password(const char *pw, size_t pw_len, const char *admin, const char *guest)
{
	uint8_t p[PW_PAD], a[PW_PAD], g[PW_PAD];
	/* the stored passwords are C strings of at most 15 bytes; the guess may
	 * hold anything up to its first NUL, so it is cut, padded and flagged */
	pad(p, pw, pw_len);
	pad(a, admin, strnlen(admin, PW_PAD - 1));
	pad(g, guest, strnlen(guest, PW_PAD - 1));
	/* an empty stored password matches nothing (the settings refuse one;
	 * an old database may still hold it) */
	int fits = pw_len < PW_PAD;
	int is_admin = crypto_equal(p, a, PW_PAD) & fits & (admin[0] != 0);
	int is_guest = crypto_equal(p, g, PW_PAD) & fits & (guest[0] != 0);
	crypto_wipe(p, sizeof(p));
	crypto_wipe(a, sizeof(a));
	crypto_wipe(g, sizeof(g));
	return is_admin ? GUARD_PW_ADMIN : is_guest ? GUARD_PW_GUEST : GUARD_PW_NONE;
}

bool guard_login_ok(struct guard *g, const uint8_t *pub, uint64_t now_ms)
{
	return limit_table_ok(&g->login_key, pub, now_ms);
}

bool guard_strangers_ok(struct guard *g, uint64_t now_ms)
{
	return limit_bucket_ok(&g->login_all, &login_all_cfg, now_ms);
}

unsigned guard_login_failed(struct guard *g, const uint8_t *pub, bool member, uint64_t now_ms)
{
	unsigned dry = 0;
	bool emptied;
	if (limit_table_take(&g->login_key, pub, now_ms, &emptied) && emptied)
		dry |= 1;
	if (!member && limit_bucket_take(&g->login_all, &login_all_cfg, now_ms) &&
	    !g->login_all.tokens)
		dry |= 2;
	return dry;
}

bool guard_flood_reply(struct guard *g, const uint8_t *pub, uint64_t now_ms)
{
	if (!limit_table_ok(&g->reply_key, pub, now_ms) ||
	    !limit_bucket_ok(&g->reply_all, &reply_all_cfg, now_ms))
		return false;
	limit_table_take(&g->reply_key, pub, now_ms, NULL);
	limit_bucket_take(&g->reply_all, &reply_all_cfg, now_ms);
	return true;
}

bool guard_direct_reply(struct guard *g, const uint8_t *pub, uint64_t now_ms)
{
	return limit_table_take(&g->direct_key, pub, now_ms, NULL);
}

bool guard_dup_seen(const struct guard *g, const uint8_t hash[PKT_HASH_SIZE])
{
	for (unsigned i = 0; i < g->dup_n; i++)
		if (memcmp(g->dup[i], hash, PKT_HASH_SIZE) == 0)
			return true;
	return false;
}

void guard_dup_add(struct guard *g, const uint8_t hash[PKT_HASH_SIZE])
{
	memcpy(g->dup[g->dup_next], hash, PKT_HASH_SIZE);
	g->dup_next = (g->dup_next + 1) % GUARD_DUP_MAX;
	if (g->dup_n < GUARD_DUP_MAX)
		g->dup_n++;
}

uint32_t guard_ts_mark(uint32_t ts, uint32_t rtc)
{
	uint64_t max = (uint64_t)rtc + GUARD_TS_SKEW_S;
	return (uint64_t)ts > max ? (uint32_t)(max > UINT32_MAX ? UINT32_MAX : max) : ts;
}
