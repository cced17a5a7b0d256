/*
 * radio_transport.h - byte-stream transports under the KISS host protocol
 * (internal to src/radio).
 *
 * One file per transport (radio_tcp.c, radio_serial.c), each exporting one
 * ops table; radio_kiss.c picks the table by the spec's scheme name and owns
 * everything above the byte stream (framing, output queue, reconnects).
 * Transports open non-blocking file descriptors and never log: a failure
 * leaves a one-line reason in t->why for the caller to log (throttled).
 */
#ifndef ROOMD_RADIO_TRANSPORT_H
#define ROOMD_RADIO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

struct radio_transport {
	const struct radio_transport_ops *ops;
	int fd;         /* -1 when closed */
	char addr[256]; /* tcp: host; serial: device path */
	char port[8];   /* tcp: port number */
	unsigned baud;  /* serial */
	char why[200];  /* reason for the last failure */
};

struct radio_transport_ops {
	const char *scheme; /* "tcp" in "tcp:HOST:PORT" */
	const char *usage;  /* the syntax, for error messages */
	/* Parses the spec after "scheme:" into t; ERR_CONFIG with t->why set. */
	int (*parse)(struct radio_transport *t, const char *arg);
	/*
	 * Starts opening: ERR_OK with t->fd set, and *in_progress = 1 if the
	 * caller must wait for POLLOUT and call finish(); on failure a negative
	 * code, t->why set and t->fd -1 (the caller retries later).
	 */
	int (*open)(struct radio_transport *t, int *in_progress);
	/* After POLLOUT on an open in progress: ERR_OK if established. */
	int (*finish)(struct radio_transport *t);
	/* read(2)/write(2) on t->fd: a count (read: 0 = end of stream), ERR_AGAIN,
	 * or ERR_CLOSED/ERR_SYS with t->why set.  Never raises SIGPIPE. */
	int (*read)(struct radio_transport *t, uint8_t *buf, size_t cap);
	int (*write)(struct radio_transport *t, const uint8_t *buf, size_t len);
	/* Closes t->fd (if open) and sets it to -1. */
	void (*close)(struct radio_transport *t);
};

extern const struct radio_transport_ops radio_tcp_ops;
extern const struct radio_transport_ops radio_serial_ops;

/* Shared helpers for fd-based transports (radio_kiss.c). */
int radio_fd_read(struct radio_transport *t, uint8_t *buf, size_t cap);
int radio_fd_write(struct radio_transport *t, const uint8_t *buf, size_t len);
void radio_fd_close(struct radio_transport *t);
/* Sets t->why to "what: strerror(err)". */
void radio_fd_why(struct radio_transport *t, const char *what, int err);

#endif
