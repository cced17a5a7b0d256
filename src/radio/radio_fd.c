/*
 * radio_fd.c - helpers shared by the file-descriptor transports of
 * radio_transport.h (serial and TCP).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "radio/radio_transport.h"
#include "util/err.h"

void radio_fd_why(struct radio_transport *t, const char *what, int err)
{
	snprintf(t->why, sizeof(t->why), "%s: %s", what, strerror(err));
}

int radio_fd_read(struct radio_transport *t, uint8_t *buf, size_t cap)
{
	for (;;) {
		ssize_t n = read(t->fd, buf, cap);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return ERR_AGAIN;
		radio_fd_why(t, "read", errno);
		/* a pty whose other side closed and a USB serial adapter pulled out
		 * both answer EIO: the device went away */
		return errno == EIO || errno == ECONNRESET ? ERR_CLOSED : ERR_SYS;
	}
}

int radio_fd_write(struct radio_transport *t, const uint8_t *buf, size_t len)
{
	for (;;) {
		/* send() so that a vanished TCP peer cannot raise SIGPIPE; a serial
		 * device is not a socket and takes write() */
		ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(t->fd, buf, len);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return ERR_AGAIN;
		radio_fd_why(t, "write", errno);
		return errno == EIO || errno == EPIPE || errno == ECONNRESET ? ERR_CLOSED : ERR_SYS;
	}
}

void radio_fd_close(struct radio_transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
