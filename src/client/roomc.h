/*
 * roomc.h - the room client program's parts (src/app/roomc.c is its main,
 * options and event loop):
 *
 *   - roomc_state.c: what the program keeps beside the client (client.h):
 *     one view per room (recent history, unread count, a login's password
 *     until it is known to work), the data directory (client_store.h), and
 *     roomc_apply(), the state change an event of the client makes;
 *   - roomc_out.c: output, text for a person (through the line editor) or
 *     one JSON object per line (--json), and the one table of the events
 *     roomc shows (roomc_events[]): the JSON name, the fields --help lists,
 *     and the text and JSON formatter of each client event;
 *   - roomc_cmd.c: the commands, one table (names, aliases, which mode,
 *     arguments, help) and roomc_run_line().
 *
 * An event of the client goes through roomc_on_event(): first the state
 * (roomc_apply), then the output (the event's formatter); a formatter
 * changes nothing but the screen or the JSON stream.
 */
#ifndef ROOMD_CLIENT_ROOMC_H
#define ROOMD_CLIENT_ROOMC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/client.h"
#include "client/client_store.h"
#include "client/jsonl.h"
#include "client/lined.h"
#include "sys/config.h"

#define ROOMC_LINE_MAX    1024 /* a command line, NUL included */
#define ROOMC_VIEWS       32
#define ROOMC_VIEW_RING   256
#define ROOMC_SAVE_DELAY  5000 /* ms from the first change to the save */
#define ROOMC_POST_CHUNK  150  /* what a room keeps of a post (§7.3) */
#define ROOMC_OUT_MAX     8192 /* one output line */
#define ROOMC_PENDING_MAX 256  /* stdin is not read while this many commands wait */

/* What the program shows of one room: recent history and unread count. */
struct roomc_view {
	bool used;
	uint8_t pub[CRYPTO_PUB_SIZE];
	struct cstore_post ring[ROOMC_VIEW_RING];
	unsigned head, n;
	unsigned unread;
	bool login_pending;
	char login_pw[CLIENT_PASS_MAX + 1];
};

enum roomc_wait { ROOMC_WAIT_NONE, ROOMC_WAIT_IDLE, ROOMC_WAIT_SLEEP };

struct roomc {
	bool json;
	bool remember, autologin, advert_at_start;
	unsigned wait_s;
	const char *radio_spec;
	FILE *out; /* --json events (stdout) */
	struct app_config cfg;
	struct cstore store;
	struct cstore_state state;
	struct client *c;
	bool link_up, ever_up; /* the radio's link: up now, was up once */
	struct lined ed;
	bool stdin_open;
	struct roomc_view views[ROOMC_VIEWS];
	uint8_t current[CRYPTO_PUB_SIZE];
	bool has_current;
	bool dirty;
	uint64_t save_due;
	/* commands waiting to run, in order (grows; stdin is read again only
	 * once fewer than ROOMC_PENDING_MAX wait, and -c commands are fed as
	 * the queue drains, so a long script is never dropped) */
	char **pending;
	int n_pending, cap_pending;
	int next_argv; /* the next -c command to queue */
	enum roomc_wait wait;
	uint64_t wait_until;
	bool input_done; /* no more commands will come */
	uint64_t done_deadline;
	int failures; /* operations that failed (--json: exit status 1) */
	bool retry;   /* the command waits: the room's queue is full (run it again later) */
	bool quit;
	char **argv_cmds;
	int n_argv_cmds;
};

/* ---- state (roomc_state.c) ---- */

/* The view of a room; made if create (NULL when all ROOMC_VIEWS are in use). */
struct roomc_view *roomc_view_find(struct roomc *a, const uint8_t pub[CRYPTO_PUB_SIZE],
                                   bool create);
/* The i-th oldest post a view holds. */
static inline struct cstore_post *roomc_view_at(struct roomc_view *v, unsigned i)
{
	return &v->ring[(v->head + i) % ROOMC_VIEW_RING];
}
/* The current room (interactive mode), or NULL. */
struct client_contact *roomc_current_room(struct roomc *a);
/* Contacts and state are saved ROOMC_SAVE_DELAY after the first change ... */
void roomc_mark_dirty(struct roomc *a);
/* ... or now. */
void roomc_save_now(struct roomc *a);
/* Loads the history of every room known, seeding de-duplication and sync points. */
void roomc_load_histories(struct roomc *a);
/* What an event of the client changes: views, history, remembered passwords, failures. */
void roomc_apply(struct roomc *a, const struct client_event *ev);

/* ---- output (roomc_out.c) ---- */

/* roomc's events: the rows of roomc_events[], in --help order. */
enum roomc_event {
	RCE_READY,
	RCE_AUTOLOGIN,
	RCE_RADIO,
	RCE_CONTACT,
	RCE_CONTACTS,
	RCE_ROOMS,
	RCE_LOGIN,
	RCE_LOGIN_TIMEOUT,
	RCE_LOGIN_FAILED,
	RCE_QUEUED,
	RCE_SENT,
	RCE_DELIVERED,
	RCE_FAILED,
	RCE_POST,
	RCE_CLI_REPLY,
	RCE_STATUS,
	RCE_TELEMETRY,
	RCE_ACL,
	RCE_TIMEOUT,
	RCE_PATH,
	RCE_KEEPALIVE,
	RCE_KEEPALIVE_LOST,
	RCE_HISTORY,
	RCE_HELP,
	RCE_OK,
	RCE_ERROR,
	RCE_COUNT
};

struct roomc_event_def {
	const char *name;   /* the JSON "event" */
	const char *fields; /* --help: its fields and meaning (lines split by \n) */
	/* a client event shown by this row (CLIENT_EV_* + 1; 0: an event of
	 * roomc's own, written by a command or the radio glue) */
	int client_ev;
	bool room; /* JSON: "room" and "key" follow "event" and "time" */
	/* the formatters: JSON fields into w (false: nothing to emit), text lines */
	bool (*json)(struct roomc *a, const struct client_event *ev, struct jsonl_w *w);
	void (*text)(struct roomc *a, const struct client_event *ev, const char *name);
};

extern const struct roomc_event_def roomc_events[RCE_COUNT];

/* An event of the client: state (roomc_apply), then output (its formatter). */
void roomc_on_event(void *ctx, struct client *c, const struct client_event *ev);
/* --help's list of the JSON events, from roomc_events[]. */
void roomc_print_events(FILE *f);

/* Prints one line to the person (interactive mode; nothing with --json). */
void roomc_say(struct roomc *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error: a line to the person, or an "error" event (counted as a failure). */
void roomc_error(struct roomc *a, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Starts a JSON event: "event" and "time". */
void roomc_json_begin(struct roomc *a, struct jsonl_w *w, char *buf, size_t cap,
                      enum roomc_event ev);
/* Ends and writes it (one line). */
void roomc_json_emit(struct roomc *a, struct jsonl_w *w);
/* "room" (its name) and "key". */
void roomc_json_room(struct jsonl_w *w, const struct client_contact *ct);
/* A contact's fields (the contact and contacts events). */
void roomc_json_contact(struct jsonl_w *w, const struct client_contact *ct, uint32_t now);
/* --json: {"event": "ok", "command": cmd}. */
void roomc_json_ok(struct roomc *a, const char *cmd);
/* A terminal-safe copy of untrusted text. */
const char *roomc_clean(char *buf, size_t cap, const char *s, size_t len);
/* 8 hex digits of a key. */
void roomc_hex8(char out[9], const uint8_t *p);
/* A contact's display name: its name, or its key prefix. */
const char *roomc_label(const struct client_contact *ct, char *buf, size_t cap);
/* Who wrote a post: "me", the room, a contact's name or the key prefix. */
const char *roomc_author(struct roomc *a, const struct client_contact *room,
                         const uint8_t author[4], bool self, char *buf, size_t cap);
/* A post's time as a person reads it (today: HH:MM). */
void roomc_format_time(uint32_t ts, char *out, size_t cap);
/* One post of a room, as a line. */
void roomc_show_post(struct roomc *a, const struct client_contact *room,
                     const struct cstore_post *p);
/* The prompt: current room, login state, unread elsewhere, radio state. */
void roomc_update_prompt(struct roomc *a);
/* The name of a request kind (status, telemetry, acl, cli). */
const char *roomc_req_name(unsigned kind);

/* ---- commands (roomc_cmd.c) ---- */

/* Runs one command line now (it is edited in place). */
void roomc_run_line(struct roomc *a, char *line);
/* Whether a line, queued, must wait for the radio. */
bool roomc_needs_radio(struct roomc *a, const char *line);

#endif
