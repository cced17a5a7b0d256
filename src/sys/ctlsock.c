/*
 * ctlsock.c - a daemon's control socket on bufferevents (ctlsock.h).
 */
#include "sys/ctlsock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "util/err.h"
#include "util/log.h"

struct client {
	struct ctlsock *s;
	struct bufferevent *bev; /* NULL: a free slot */
	int sel;
	bool closing; /* close once the replies are written */
};

struct ctlsock {
	struct loop *l;
	struct ctlsock_ops ops;
	int fd;
	struct loop_fd *ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file we bound: removed only if still ours */
	ino_t ino;
	struct client clients[CTLSOCK_MAX_CLIENTS];
	struct ctlsock_stats st;
};

static void client_free(struct client *c)
{
	if (c->bev)
		bufferevent_free(c->bev); /* closes the descriptor (BEV_OPT_CLOSE_ON_FREE) */
	c->bev = NULL;
	c->closing = false;
}

static void cut_off(struct client *c, const char *why)
{
	struct ctlsock *s = c->s;
	size_t queued = evbuffer_get_length(bufferevent_get_output(c->bev));
	s->st.cut_slow++;
	log_warn("ctl", "control client cut off: %s (%zu bytes of replies unread; %llu so far)",
	         why, queued, (unsigned long long)s->st.cut_slow);
	client_free(c);
}

/* Queues a reply in the socket framing: " line" for each line, then OK or ERR. */
static void frame_reply(struct evbuffer *out, const char *reply, int rc)
{
	const char *p = reply;
	while (*p) {
		size_t len = strcspn(p, "\n");
		evbuffer_add(out, " ", 1);
		evbuffer_add(out, p, len);
		evbuffer_add(out, "\n", 1);
		p += len;
		if (*p == '\n')
			p++;
	}
	evbuffer_add_printf(out, "%s\n", rc ? "ERR" : "OK");
}

/* Answers a line too long and closes the connection once that is written. */
static void line_too_long(struct client *c)
{
	c->s->st.long_line++;
	frame_reply(bufferevent_get_output(c->bev), "Err - line too long", ERR_TOO_BIG);
	bufferevent_disable(c->bev, EV_READ);
	c->closing = true;
}

/* Answers every whole line in the input; false if the client was closed. */
static bool answer_lines(struct client *c)
{
	struct ctlsock *s = c->s;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char reply[4096];
	char *line;
	size_t n;
	while (!c->closing && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
		int rc = ERR_OK;
		if (n >= CTLSOCK_LINE_MAX - 1) { /* with its newline over the limit */
			free(line);
			line_too_long(c);
			break;
		}
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		reply[0] = 0;
		if (*line)
			rc = s->ops.command(s->ops.ctx, line, &c->sel, reply, sizeof(reply));
		free(line);
		s->st.commands++;
		frame_reply(out, reply, rc);
		if (evbuffer_get_length(out) > CTLSOCK_QUEUE_MAX) {
			/* what the kernel takes now first (never blocks: the socket
			 * is non-blocking), then the bound.  A socket bufferevent
			 * keeps its output's front frozen and unfreezes it around
			 * its own writes (bufferevent_writecb); so do we. */
			evbuffer_unfreeze(out, 1);
			evbuffer_write(out, bufferevent_getfd(c->bev));
			evbuffer_freeze(out, 1);
			if (evbuffer_get_length(out) > CTLSOCK_QUEUE_MAX) {
				cut_off(c, "too many replies queued");
				return false;
			}
		}
	}
	/* what is left has no newline yet */
	if (!c->closing && evbuffer_get_length(in) >= CTLSOCK_LINE_MAX - 1)
		line_too_long(c);
	return true;
}

static void after(struct ctlsock *s)
{
	if (s->ops.after)
		s->ops.after(s->ops.ctx);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct ctlsock *s = c->s;
	(void)bev;
	if (answer_lines(c) && c->closing &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_free(c);
	after(s);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	(void)bev;
	if (c->closing) /* everything written */
		client_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	struct ctlsock *s = c->s;
	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		cut_off(c, "replies not read for too long");
	} else if (what & BEV_EVENT_EOF) {
		/* the client is done sending: answer what it sent, then close */
		if (answer_lines(c)) {
			c->closing = true;
			bufferevent_disable(c->bev, EV_READ);
			if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
				client_free(c);
		}
	} else if (what & BEV_EVENT_ERROR) {
		client_free(c);
	}
	after(s);
}

static void accept_one(struct ctlsock *s, int fd)
{
	struct event_base *base = loop_base(s->l);
	for (int i = 0; i < CTLSOCK_MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];
		if (c->bev)
			continue;
		c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			break;
		c->s = s;
		c->closing = false;
		c->sel = s->ops.initial_sel ? s->ops.initial_sel(s->ops.ctx) : 0;
		struct timeval stuck = {CTLSOCK_STUCK_S, 0};
		bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
		bufferevent_set_timeouts(c->bev, NULL, &stuck);
		if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
			client_free(c);
			return;
		}
		s->st.accepted++;
		return;
	}
	s->st.refused++;
	close(fd);
}

static void on_listen(void *ctx, int lfd, short revents)
{
	struct ctlsock *s = ctx;
	(void)revents;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		accept_one(s, fd);
	after(s);
}

int ctlsock_open(struct ctlsock **out, struct loop *l, const char *path,
                 const struct ctlsock_ops *ops)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctlsock *s;
	struct stat st;
	size_t n = strlen(path);
	*out = NULL;
	if (n >= sizeof(sa.sun_path)) {
		log_warn("ctl", "data directory path too long for a control socket");
		return ERR_CONFIG;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return ERR_NOMEM;
	s->l = l;
	s->ops = *ops;
	memcpy(sa.sun_path, path, n + 1);
	memcpy(s->path, path, n + 1);
	unlink(path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(s->fd, 4) < 0 || stat(path, &st) < 0) {
		log_warn("ctl", "control socket %s: %s", path, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return ERR_SYS;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (!(s->ev = loop_fd_new(l, s->fd, POLLIN, on_listen, s))) {
		s->path[0] = 0; /* leave the file: the next start replaces it */
		ctlsock_close(s);
		return ERR_SYS;
	}
	*out = s;
	return ERR_OK;
}

void ctlsock_close(struct ctlsock *s)
{
	struct stat st;
	if (!s)
		return;
	for (int i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		client_free(&s->clients[i]);
	loop_fd_free(s->ev);
	close(s->fd);
	if (s->path[0] && stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s);
}

const struct ctlsock_stats *ctlsock_stats(const struct ctlsock *s)
{
	return &s->st;
}

int ctlsock_clients(const struct ctlsock *s)
{
	int n = 0;
	for (int i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		n += s->clients[i].bev != NULL;
	return n;
}

int ctlsock_sels(struct ctlsock *s, int **out, int max)
{
	int n = 0;
	for (int i = 0; s && i < CTLSOCK_MAX_CLIENTS && n < max; i++)
		if (s->clients[i].bev)
			out[n++] = &s->clients[i].sel;
	return n;
}
