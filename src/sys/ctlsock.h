/*
 * ctlsock.h - a daemon's Unix control socket on the event loop (loop.h):
 * line commands in, framed replies out, over non-blocking buffered
 * connections (libevent bufferevents).  roomd's DIR/control.sock, used by
 * roomctl.
 *
 * Protocol: the client sends one command per line (at most 511 bytes with
 * the newline; a longer line gets "Err - line too long" and the connection
 * is closed).  For each command the server answers with the reply's lines,
 * each prefixed by one space, then one status line without the space: "OK",
 * or "ERR" when the command reported an error.  An empty line answers "OK".
 *
 * Nothing here blocks the daemon: replies are queued and written as the
 * client reads them.  A client that lets more than CTLSOCK_QUEUE_MAX bytes
 * of replies pile up (beyond what the kernel buffers), or whose replies make
 * no progress for CTLSOCK_STUCK_S seconds, is cut off, counted and logged.
 * At most CTLSOCK_MAX_CLIENTS at once; more are refused (closed, counted).
 *
 * Ownership: the caller owns the loop, which must outlive the server, and
 * everything ops point to; ctlsock_close() closes the clients and the socket
 * and removes the socket file if it is still the one bound (never another
 * daemon's).
 */
#ifndef ROOMD_SYS_CTLSOCK_H
#define ROOMD_SYS_CTLSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "sys/loop.h"

#define CTLSOCK_MAX_CLIENTS 8
#define CTLSOCK_LINE_MAX    512 /* a line and its newline fit in CTLSOCK_LINE_MAX - 1 */
#define CTLSOCK_QUEUE_MAX   (1024u * 1024u)
#define CTLSOCK_STUCK_S     30

struct ctlsock;

struct ctlsock_ops {
	/* Runs one command line for a client: fills reply (cap bytes, may stay
	 * empty) and returns ERR_OK or an error (status "ERR").  *sel is the
	 * client's own state (roomd: the room chosen with `use`). */
	int (*command)(void *ctx, const char *line, int *sel, char *reply, size_t cap);
	/* The initial *sel of a new client. */
	int (*initial_sel)(void *ctx);
	/* Called after each event of the server (roomd: its service()), or NULL. */
	void (*after)(void *ctx);
	void *ctx;
};

struct ctlsock_stats {
	uint64_t accepted;  /* connections taken */
	uint64_t refused;   /* ... turned away: CTLSOCK_MAX_CLIENTS busy */
	uint64_t commands;  /* lines answered */
	uint64_t cut_slow;  /* clients cut off: replies not read (queue or stuck) */
	uint64_t long_line; /* clients closed for a line too long */
};

/* Binds path (mode 0600), listens and watches it on l.  ERR_CONFIG when the
 * path is too long, ERR_SYS (logged as a warning) when it cannot be bound. */
int ctlsock_open(struct ctlsock **out, struct loop *l, const char *path,
                 const struct ctlsock_ops *ops);
void ctlsock_close(struct ctlsock *s); /* NULL is fine */
const struct ctlsock_stats *ctlsock_stats(const struct ctlsock *s);
/* Clients connected now. */
int ctlsock_clients(const struct ctlsock *s);
/* The *sel of each client connected now (at most max): returns how many. */
int ctlsock_sels(struct ctlsock *s, int **out, int max);

#endif
