/*
 * airserv.h - meshair's channel server: the simulated channel (channel.c)
 * on TCP sockets, driven by a libevent base in real time (PROTOCOL.md §10.2,
 * §11).
 *
 * Every TCP connection is one radio with a MeshCore kiss_modem attached:
 * the client speaks plain KISS, nothing else.  Radios named in the topology
 * own a TCP port each (a client connecting there IS that radio; a second
 * client is refused); connections to the anonymous port are radios that come
 * and go with their connection.  A control port takes one command a line and
 * answers one JSON line (airctl.c); the trace file gets one JSON line per
 * transmission and a summary on `stats' and at the end.  Each connection is
 * a read event, a write event and a bounded libevent evbuffer of output: a
 * client that does not read its output is dropped (after one more write
 * attempt, so a socket buffer that just filled up does not count).  The
 * channel's next deadline is one timer event.
 *
 * The server lives on the caller's event base (src/sys/loop.h in meshair):
 * it adds its listeners, connections and timer there and never runs or
 * breaks the loop itself; `quit' calls cfg.on_quit.
 */
#ifndef ROOMD_SIM_AIRSERV_H
#define ROOMD_SIM_AIRSERV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/channel.h"
#include "sim/topo.h"

struct event_base;
struct airserv;

#define AIRSERV_MAX_CONNS 256 /* connections of every kind */
#define AIRSERV_MAX_ANON  128 /* anonymous radios at a time */

struct airserv_cfg {
	const char *listen_host; /* anonymous radios; "" = every address */
	unsigned listen_port;    /* 0 = a free port */
	const char *ctl_host;    /* NULL: no control port; else a loopback address */
	unsigned ctl_port;
	const char *trace; /* NULL: no trace file; else appended to */
	uint64_t seed;
	struct chan_config chan;    /* default_link and max_radios are set from the topology */
	void (*on_quit)(void *ctx); /* the `quit' command */
	void *ctx;
};

/*
 * Opens the trace, builds the channel from topo (kept by the caller until
 * airserv_free), listens on every port and logs each; the first log lines
 * are the ones meshair has always written.  Returns ERR_OK, ERR_PERM if
 * ctl_host is not a loopback address (a usage error), or ERR_SYS / ERR_NOMEM
 * / the topology's error (logged).  *out is set even on failure: free it.
 */
int airserv_open(struct airserv **out, struct event_base *base, const struct airserv_cfg *cfg,
                 const struct topo *topo);
/* The summary to the trace (if airserv_open succeeded), the last answers
 * out (one non-blocking write each: `quit'), every connection and listener
 * closed; NULL is a no-op. */
void airserv_free(struct airserv *s);

/* The ports as bound: the anonymous radios' and the control port (0 if none). */
void airserv_ports(const struct airserv *s, unsigned *anon, unsigned *ctl);

/* The control commands for --help: NAME ARGS, then the help text. */
void airserv_print_commands(FILE *f);

#endif
