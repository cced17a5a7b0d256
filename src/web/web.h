/*
 * web.h - roomd's web page: the board, the members, the channel and the
 * radio, the admin forms, /metrics and the JSON API (docs/api.md), served by
 * libevent's evhttp on the daemon's own event loop.
 *
 * Read-only pages are public on the listen address; writes need an admin
 * session (a login with the room's admin password: HttpOnly, SameSite=Strict
 * cookie, a CSRF token on every write, the radio's login limits per client
 * address).  Every write runs through the admin command table (room/cmd.h)
 * via web_host.command, as the console and roomctl do: nothing is done here
 * that `set`, `ban` or `post.delete` would not do.
 *
 * The page itself (HTML, CSS, JavaScript in src/web/static) is compiled in;
 * nothing is fetched from elsewhere.
 */
#ifndef ROOMD_WEB_WEB_H
#define ROOMD_WEB_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "web/webfmt.h"

struct event_base;
struct room;
struct store;
struct mesh;

#define WEB_DEFAULT_LISTEN "127.0.0.1:8073"
#define WEB_SSE_MAX        128   /* live pages open at once; more get a 503 */
#define WEB_SESSIONS       16    /* admin sessions; the oldest goes first */
#define WEB_BODY_MAX       16384 /* request body bytes */
#define WEB_HEADERS_MAX    8192  /* request header bytes */

/* A counter or gauge the program has and the page shows (the radio's). */
struct web_counter {
	const char *name; /* metric name after roomd_radio_ */
	const char *help;
	enum web_metric_type type;
	double value;
};

/* What the daemon offers the page. */
struct web_host {
	void *ctx;
	struct store *store;
	struct mesh *mesh;
	const char *data_dir;
	int (*n_rooms)(void *ctx);
	struct room *(*room)(void *ctx, int i);
	/* one command line for room i through the admin command table, as a
	 * local door; ERR_OK or an error (the reply says what) */
	int (*command)(void *ctx, int i, const char *line, char *reply, size_t cap);
	/* the radio's counters and gauges, at most max; returns how many */
	int (*radio_counters)(void *ctx, struct web_counter *out, int max);
	/* the federation's counters and gauges (NULL or 0: none), as roomd_fed_* */
	int (*fed_counters)(void *ctx, struct web_counter *out, int max);
	/* the radio settings in use, one line */
	void (*radio_settings)(void *ctx, char *out, size_t cap);
	uint64_t (*now_ms)(void); /* monotonic */
};

struct web;

/* Parses "ADDR:PORT" ("[v6]:PORT" too); "off" gives ERR_NOT_FOUND. */
int web_parse_listen(const char *spec, char *addr, size_t cap, unsigned *port);

/* Listens on spec (ADDR:PORT); a non-loopback address is logged as a warning. */
int web_open(struct web **out, struct event_base *base, const char *spec,
             const struct web_host *host);
void web_close(struct web *w);
/* After every event of the loop: posts stored since the last call go to the live pages. */
void web_poll(struct web *w);
/* Every frame in or out (the channel page): air is its airtime. */
void web_packet(struct web *w, bool tx, const uint8_t *frame, size_t len, int snr_x4, int rssi,
                uint32_t air_ms);
/* The port bound (for a spec with port 0). */
unsigned web_port(const struct web *w);

#endif
