/*
 * client_int.h - what client.c (contacts, adverts, receiving) and
 * client_send.c (the per-room operation queues, sending, timers) share;
 * nothing outside src/client/client*.c includes it.
 */
#ifndef ROOMD_CLIENT_CLIENT_INT_H
#define ROOMD_CLIENT_CLIENT_INT_H

#include "client/client.h"

/* Operation kinds besides CLIENT_REQ_* (client_op.kind). */
enum { OP_LOGIN = 0x200, OP_POST = 0x201 };

/* Hands an event to the owner. */
void client_emit(struct client *c, struct client_event *ev);
void client_emit_simple(struct client *c, enum client_event_type type,
                        const struct client_contact *ct);
/* The session with a room, made (or an idle one reused) if need be; NULL if all are busy. */
struct client_room *client_room_get(struct client *c, const uint8_t pub[CRYPTO_PUB_SIZE]);
/* An operation of the room awaits its outcome. */
bool client_room_busy(const struct client_room *rs);
/* Sends p to a contact along its route (flood without one). */
int client_send_to(struct client *c, struct client_contact *ct, struct pkt *p, uint32_t delay);
/* The random wait before a retry of p. */
uint32_t client_retry_jitter_ms(struct client *c, const struct pkt *p);
/* The post in flight is over: DELIVERED or FAILED, then the next operation. */
void client_post_done(struct client *c, struct client_room *rs, struct client_contact *ct, bool ok,
                      unsigned attempt, uint64_t now_ms);
/* The login is over without a session (LOGIN_FAILED or LOGIN_TIMEOUT). */
void client_login_lost(struct client *c, struct client_room *rs, struct client_contact *ct,
                       enum client_event_type type, uint8_t code);
/* The room showed it has us logged in with at least this role. */
void client_login_inferred(struct client *c, struct client_room *rs, struct client_contact *ct,
                           unsigned role, uint64_t now_ms);
/* Starts the room's queued operations that may start now. */
void client_start_next(struct client *c, struct client_room *rs, uint64_t now_ms);

#endif
