/*
 * radio_tcp.c - KISS over TCP: "tcp:HOST:PORT" (meshair, or any KISS-TCP
 * server such as a serial-to-TCP bridge in front of a kiss_modem).
 *
 * The connect is non-blocking (the caller waits for POLLOUT and calls
 * finish); only the name lookup of a non-numeric host blocks.  Nagle is off:
 * KISS frames are small and latency matters for half-duplex turnarounds.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "radio/radio_transport.h"
#include "util/err.h"

static int tcp_parse(struct radio_transport *t, const char *arg)
{
	const char *host = arg, *colon;
	size_t host_len;

	if (arg[0] == '[') {
		/* [v6-address]:port */
		const char *end = strchr(arg, ']');
		if (!end || end[1] != ':')
			goto bad;
		host = arg + 1;
		host_len = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon)
			goto bad;
		host_len = (size_t)(colon - arg);
		if (memchr(arg, ':', host_len))
			goto bad; /* a bare IPv6 address needs brackets */
	}
	if (host_len == 0 || host_len >= sizeof(t->addr))
		goto bad;
	const char *port = colon + 1;
	size_t port_len = strlen(port);
	if (port_len == 0 || port_len >= sizeof(t->port) || strspn(port, "0123456789") != port_len)
		goto bad;
	unsigned long p = strtoul(port, NULL, 10);
	if (p == 0 || p > 65535)
		goto bad;
	memcpy(t->addr, host, host_len);
	t->addr[host_len] = 0;
	snprintf(t->port, sizeof(t->port), "%lu", p);
	return ERR_OK;
bad:
	snprintf(t->why, sizeof(t->why), "expected tcp:HOST:PORT (port 1..65535), got \"tcp:%s\"",
	         arg);
	return ERR_CONFIG;
}

static int tcp_open(struct radio_transport *t, int *in_progress)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int rc = ERR_SYS;

	*in_progress = 0;
	t->fd = -1;
	int gai = getaddrinfo(t->addr, t->port, &hints, &res);
	if (gai != 0) {
		snprintf(t->why, sizeof(t->why), "cannot resolve %.150s: %s", t->addr,
		         gai_strerror(gai));
		return ERR_SYS;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			radio_fd_why(t, "socket", errno);
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			t->fd = fd;
			rc = ERR_OK;
			break;
		}
		if (errno == EINPROGRESS) {
			t->fd = fd;
			*in_progress = 1;
			rc = ERR_OK;
			break;
		}
		snprintf(t->why, sizeof(t->why), "connect to %.150s port %s: %s", t->addr, t->port,
		         strerror(errno));
		close(fd);
	}
	freeaddrinfo(res);
	return rc;
}

static int tcp_finish(struct radio_transport *t)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0)
		return ERR_OK;
	snprintf(t->why, sizeof(t->why), "connect to %.150s port %s: %s", t->addr, t->port,
	         strerror(err));
	return ERR_SYS;
}

const struct radio_transport_ops radio_tcp_ops = {
    .scheme = "tcp",
    .usage = "tcp:HOST:PORT",
    .parse = tcp_parse,
    .open = tcp_open,
    .finish = tcp_finish,
    .read = radio_fd_read,
    .write = radio_fd_write,
    .close = radio_fd_close,
};
