/*
 * room_int.h - what the files of the room server share (internal to
 * src/room): its constants and the functions one file calls in another.
 * room.c (clock, sending helpers, adverts, lifecycle), member.c (the member
 * table, replay defences), login.c (§7.2), post.c (posts, requests: §7.3-7.5)
 * and push.c (ACKs, paths, the push engine: §7.6-7.8).
 */
#ifndef ROOMD_ROOM_ROOM_INT_H
#define ROOMD_ROOM_ROOM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "room/room.h"
#include "store/store.h"

#define LOGIN_PUSH_DELAY_FLOOD_MS  2000 /* let the reply and the reciprocal PATH pass */
#define LOGIN_PUSH_DELAY_DIRECT_MS 800
#define REPLY_DELAY_MS             300 /* SERVER_RESPONSE_DELAY */
#define ACK_DELAY_MS               200 /* TXT_ACK_DELAY */
#define PUSH_TIMEOUT_FLOOD_MS      12000
/*
 * A round of pushes of one post is 4 copies, each a variant of its own
 * (push_plaintext: no copy repeats one the member may already have, which
 * its duplicate table would drop without an ACK).  After a failed round
 * the firmware gives a member up until it shows activity; roomd pauses
 * instead (30 s, doubling) and starts another round, as long as the member
 * was heard in the last 10 minutes and the PUSH_SILENT_* bounds allow, so a
 * member that was briefly out of reach is caught up without having to log
 * in again.
 */
#define PUSH_FAILS_GIVE_UP      4
#define PUSH_ROUND_PAUSE_MS     30000
#define PUSH_ROUND_PAUSE_MAX_MS 900000
#define PUSH_ROUND_ACTIVE_S     600
#define PATH_ANSWER_MS          120000 /* a member's PATH answers a flood of ours within this */
#define MEMBER_KEEP_S           (30u * 86400) /* a password member seen since is never evicted */
/*
 * What a member that never answers can cost (issue 13): after a sign of
 * life at most PUSH_SILENT_ROUNDS rounds and PUSH_SILENT_FLOODS flooded
 * pushes, and never more than PUSH_SILENT_HOUR unanswered pushes an hour,
 * whatever it does (a login is a sign of life, and costs its sender one
 * packet).  Then it is given up until it shows activity (the hour: until
 * the hour is over).
 */
#define PUSH_SILENT_ROUNDS 3
#define PUSH_SILENT_FLOODS 8
#define PUSH_SILENT_HOUR   24
/* and all such members together: once pushes that were never answered took
 * this much air in an hour, only members that answer pushes get more */
#define PUSH_SILENT_ROOM_AIR_MS 108000 /* 3 % of the hour */
/*
 * A push that was out when the room stopped (its copies counted in the
 * store) may have been shown with its ACK lost while the room was down.
 * After the restart that copy goes once more unchanged (HELD_RESEND): a
 * member that has it drops it as a duplicate, one that has not shows it and
 * ACKs.  No ACK (or a second restart before one, HELD_RESENT, kept in the
 * store as PUSH_SENT_RESENT): the member has it (HELD_ASSUME), and a new
 * variant would show the post twice.
 */
enum { HELD_NONE, HELD_RESEND, HELD_RESENT, HELD_ASSUME };
#define PUSH_SENT_RESENT    0x80
#define PUSH_SENT_MAX       0x7F
#define ALIVE_KEY           "alive"
#define ALIVE_EVERY_MS      60000
#define PUSH_WALK_QUERIES   64 /* store look-ups of the push engine per tick */
#define BOOT_ADVERT_MS      5000
#define CLOCK_STEP_S        600 /* the RTC this far behind the one saved was stepped back */
#define CLOCK_FLOOR_KEY     "clock.floor" /* the RTC saved (a store setting, no config key) */
#define CLOCK_FLOOR_SAVE_MS 600000

/* room_open's loading of the members (room_load_member) */
struct room_load_ctx {
	struct room *r;
	int rc;
	uint8_t (*stale)[CRYPTO_PUB_SIZE]; /* rows merged into another: deleted after */
	size_t n_stale, cap_stale;
};

static inline struct room *room_of(struct mesh_ep *ep)
{
	return ep->ctx;
}

/* room.c */
uint32_t room_reply_time(struct room *r);
int room_flood_hash_size(const struct room *r);
uint32_t room_reply_delay(const struct room *r, uint32_t base);
void room_reply_held(struct room *r, uint32_t base, uint32_t delay);
int room_send_datagram(struct room *r, struct room_member *m, unsigned type, const uint8_t *body,
                       size_t len, uint32_t delay, const struct pkt *req);
void room_send_reply(struct room *r, struct room_member *m, const struct pkt *req, unsigned type,
                     const uint8_t *body, size_t len, uint32_t delay);
void room_send_ack(struct room *r, struct room_member *m, const struct pkt *req,
                   const uint8_t code[4], const uint8_t *extra, size_t extra_len, uint32_t delay);
/* member.c */
int room_member_save(struct room *r, const struct room_member *m);
void room_set_perms(struct room *r, struct room_member *m, uint8_t perms);
uint32_t room_replay_mark_get(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE]);
void room_replay_mark_delete(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE]);
struct room_member *room_member_add(struct room *r, const uint8_t pub[CRYPTO_PUB_SIZE],
                                    uint8_t perms, const uint8_t *known);
bool room_member_secret(struct room *r, struct room_member *m);
void room_member_alive(struct room_member *m);
int room_load_member(void *ctx, const struct store_member *s);
bool room_replayed(struct room *r, const struct mesh_rx *rx);
void room_accepted(struct room *r, const struct room_member *m, const struct mesh_rx *rx);
uint32_t room_ts_mark(struct room *r, uint32_t ts);
bool room_flood_ok(struct room *r, const struct room_member *m);
bool room_direct_ok(struct room *r, const struct room_member *m);
/* login.c */
bool room_is_banned(struct room *r, const uint8_t *pub);
bool room_banned_member(struct room *r, const struct room_member *m);
void room_on_anon_req(struct mesh_ep *ep, const struct mesh_rx *rx,
                      const uint8_t pub[CRYPTO_PUB_SIZE], const uint8_t secret[CRYPTO_SECRET_SIZE],
                      const uint8_t *pt, size_t len);
/* post.c */
int room_peers_by_hash(struct mesh_ep *ep, uint8_t hash, int skip, struct mesh_peer *out, int max);
struct room_member *room_peer_member(struct room *r, const struct mesh_peer *peer);
bool room_on_peer_data(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                       unsigned type, const uint8_t *pt, size_t len);
/* push.c */
void room_late_ack_keep(struct room *r, const struct room_member *m);
bool room_on_ack(struct mesh_ep *ep, const struct mesh_rx *rx, const uint8_t code[4],
                 const uint8_t *payload, size_t len);
bool room_on_peer_path(struct mesh_ep *ep, const struct mesh_rx *rx, const struct mesh_peer *peer,
                       uint8_t path_len, const uint8_t *path, unsigned extra_type,
                       const uint8_t *extra, size_t extra_len);
uint64_t room_after_tx(const struct room *r, const struct room_member *m, uint64_t span,
                       uint64_t now);
uint64_t room_push_acks_due_until(const struct room *r, uint64_t now);
void room_release_held(struct room *r, uint64_t now);
size_t room_push_plaintext(uint8_t *pt, const struct store_post *p, unsigned n);
void room_push_timeouts(struct room *r, uint64_t now);
void room_push_engine(struct room *r, uint64_t now);

#endif
