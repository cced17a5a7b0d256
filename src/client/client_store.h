/*
 * client_store.h - roomc's data directory: plain files, one JSON object per
 * line (jsonl.h), so a person can read them and a crash loses at most a line.
 *
 *   DIR/identity                 pub(32) || prv(64), mode 0600 (PROTOCOL.md §3.1)
 *   DIR/contacts.jsonl           one contact per line, rewritten atomically
 *   DIR/passwords.jsonl          remembered room passwords, mode 0600
 *   DIR/state.jsonl              the newest stamp used (stamps never repeat across
 *                                runs) and our advert name
 *   DIR/history/<KEY>.jsonl      per room, append-only: posts received, our posts and
 *                                their outcome; de-duplicated when loaded
 *   DIR/lock                     flock()ed while a roomc runs on DIR
 *
 * This is the programs' side of the client: it does file I/O and is never
 * called by client.c.  Every line read is hostile: malformed lines are
 * skipped (and counted), never fatal.
 */
#ifndef ROOMD_CLIENT_CLIENT_STORE_H
#define ROOMD_CLIENT_CLIENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

#define CSTORE_DIR_MAX  3800 /* every derived path fits in 4096 */
#define CSTORE_LINE_MAX 2048

struct cstore {
	char dir[CSTORE_DIR_MAX];
	int lock_fd;
	unsigned bad_lines; /* malformed lines skipped while loading */
};

/* A history record: a post, or the outcome of one of ours (is_ack). */
struct cstore_post {
	bool is_ack;
	bool ok;           /* is_ack: delivered (true) or failed */
	bool self;         /* our own post: ts is our stamp, not the room's clock */
	uint32_t ts;       /* pushed: the room's post timestamp */
	uint8_t author[4]; /* key prefix of the author */
	uint32_t at;       /* our wall clock when received or sent */
	char text[TXT_TEXT_MAX + 1];
	size_t text_len;
};

/*
 * Opens (creating it, mode 0700) the data directory and takes its lock.
 * ERR_CONFIG if the path is too long, ERR_AGAIN if another roomc holds the lock,
 * ERR_SYS for other failures (logged).
 */
int cstore_open(struct cstore *s, const char *dir);
void cstore_close(struct cstore *s);

/* Loads DIR/identity, or creates it with rng; *created says which. */
int cstore_identity(struct cstore *s, struct ident *id, const struct rng *rng, bool *created);

/* Contacts: loaded into c (client_contact_add), saved atomically from c. */
int cstore_contacts_load(struct cstore *s, struct client *c, int *n_loaded);
int cstore_contacts_save(struct cstore *s, const struct client *c);

struct cstore_state {
	uint32_t stamp;
	char name[CLIENT_NAME_MAX]; /* empty: never set */
};

int cstore_state_load(struct cstore *s, struct cstore_state *st);
int cstore_state_save(struct cstore *s, const struct cstore_state *st);

/* Remembered passwords (mode 0600; a wider mode is narrowed with a warning). */
int cstore_password_get(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE],
                        char out[CLIENT_PASS_MAX + 1], bool *found);
int cstore_password_set(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE], const char *pw);
int cstore_password_forget(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE]);
/* Calls cb for each remembered password, in file order. */
int cstore_passwords_each(struct cstore *s,
                          void (*cb)(void *ctx, const uint8_t room[CRYPTO_PUB_SIZE],
                                     const char *pw),
                          void *ctx);

/* Appends a record to the room's history. */
int cstore_history_append(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE],
                          const struct cstore_post *p);
/*
 * Reads the room's history in file order, dropping repeated posts (same
 * self flag, timestamp, author and text); cb gets posts and outcomes.
 * ERR_OK with no calls if there is no history yet.
 */
int cstore_history_load(struct cstore *s, const uint8_t room[CRYPTO_PUB_SIZE],
                        void (*cb)(void *ctx, const struct cstore_post *p), void *ctx);

#endif
