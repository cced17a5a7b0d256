/*
 * radio_serial.c - KISS over a serial port: "serial:/dev/ttyUSB0[:BAUD]"
 * (a board running MeshCore's kiss_modem, PROTOCOL.md §10.2: 115200 8N1, no
 * flow control).
 *
 * The port is opened non-blocking, locked with flock() so that two programs
 * do not share a modem, set raw (cfmakeraw: 8 bits, no parity, no echo, no
 * line editing), one stop bit, no hardware or software flow control, modem
 * control lines ignored, and stale input is flushed.  A USB adapter pulled
 * out reads as EIO or end of file, which the caller treats as a link drop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include "radio/radio_transport.h"
#include "util/err.h"

#define SERIAL_DEFAULT_BAUD 115200

static const struct {
	unsigned baud;
	speed_t speed;
} bauds[] = {
    {9600, B9600},     {19200, B19200},   {38400, B38400},     {57600, B57600},
    {115200, B115200}, {230400, B230400}, {460800, B460800},   {500000, B500000},
    {576000, B576000}, {921600, B921600}, {1000000, B1000000},
};

static int speed_for(unsigned baud, speed_t *out)
{
	for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++) {
		if (bauds[i].baud == baud) {
			*out = bauds[i].speed;
			return ERR_OK;
		}
	}
	return ERR_CONFIG;
}

static int serial_parse(struct radio_transport *t, const char *arg)
{
	size_t path_len = strlen(arg);
	const char *colon = strrchr(arg, ':');
	speed_t sp;

	/* a trailing ":DIGITS" is the baud rate; other colons belong to the
	 * path (udev's /dev/serial/by-path names contain some) */
	t->baud = SERIAL_DEFAULT_BAUD;
	if (colon && colon[1] == 0) {
		snprintf(t->why, sizeof(t->why),
		         "expected a baud rate after the last ':' in \"serial:%s\"", arg);
		return ERR_CONFIG;
	}
	if (colon && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		const char *b = colon + 1;
		t->baud = strlen(b) > 8 ? 0 : (unsigned)strtoul(b, NULL, 10);
		path_len = (size_t)(colon - arg);
	}
	if (speed_for(t->baud, &sp) != ERR_OK) {
		snprintf(t->why, sizeof(t->why),
		         "unsupported baud rate %s (the kiss_modem uses 115200)", colon + 1);
		return ERR_CONFIG;
	}
	if (path_len == 0 || path_len >= sizeof(t->addr)) {
		snprintf(
		    t->why, sizeof(t->why),
		    "expected serial:DEVICE[:BAUD], e.g. serial:/dev/ttyUSB0, got \"serial:%s\"",
		    arg);
		return ERR_CONFIG;
	}
	memcpy(t->addr, arg, path_len);
	t->addr[path_len] = 0;
	return ERR_OK;
}

static int serial_open(struct radio_transport *t, int *in_progress)
{
	struct termios tio;
	speed_t sp;

	*in_progress = 0;
	if (speed_for(t->baud, &sp) != ERR_OK)
		return ERR_CONFIG;
	t->fd = open(t->addr, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;
		const char *hint = e == EACCES   ? " (add your user to the dialout group)"
		                   : e == ENOENT ? " (board not plugged in?)"
		                                 : "";
		snprintf(t->why, sizeof(t->why), "open %.150s: %s%s", t->addr, strerror(e), hint);
		return ERR_SYS;
	}
	if (flock(t->fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		snprintf(t->why, sizeof(t->why), "%.150s: %s", t->addr,
		         e == EWOULDBLOCK ? "in use by another program" : strerror(e));
		goto fail;
	}
	if (tcgetattr(t->fd, &tio) < 0) {
		int e = errno;
		snprintf(t->why, sizeof(t->why), "%.150s: %s", t->addr,
		         e == ENOTTY ? "not a serial device" : strerror(e));
		goto fail;
	}
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
	tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, sp) < 0 || cfsetospeed(&tio, sp) < 0 ||
	    tcsetattr(t->fd, TCSANOW, &tio) < 0) {
		radio_fd_why(t, "cannot configure the serial port", errno);
		goto fail;
	}
	/* drop whatever the board said before we were listening */
	(void)tcflush(t->fd, TCIOFLUSH);
	return ERR_OK;
fail:
	close(t->fd);
	t->fd = -1;
	return ERR_SYS;
}

static int serial_finish(struct radio_transport *t)
{
	(void)t;
	return ERR_OK;
}

const struct radio_transport_ops radio_serial_ops = {
    .scheme = "serial",
    .usage = "serial:DEVICE[:BAUD]",
    .parse = serial_parse,
    .open = serial_open,
    .finish = serial_finish,
    .read = radio_fd_read,
    .write = radio_fd_write,
    .close = radio_fd_close,
};
