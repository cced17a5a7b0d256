/*
 * airserv.c - meshair's channel server: listening sockets, radio and control
 * connections, the channel's callbacks and the trace (airserv.h).
 *
 * Every callback starts by letting the channel catch up with the clock
 * (chan_advance) and ends by setting the timer to the channel's next
 * deadline (settle).  A connection that must go (peer gone, output
 * overflow, `radio X disconnect') is marked dead and closed by the reap
 * event, never inside the callback chain that may still use it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/packet.h"
#include "sim/airserv_int.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/log.h"

#define RADIO_OUT_CAP (64 * 1024)   /* unread output before a radio client is dropped */
#define CTL_OUT_CAP   (1024 * 1024) /* the same for a control client */
#define READ_CHUNK    4096
#define JSON_MAX      (4 * 1024 * 1024) /* the largest answer or trace line */

/* ---- JSON into an evbuffer ------------------------------------------------------ */

void jw_raw(struct jw *j, const char *s)
{
	if (!j->err && evbuffer_add(j->b, s, strlen(s)) < 0)
		j->err = true;
}

void jw_printf(struct jw *j, const char *fmt, ...)
{
	va_list ap;
	if (j->err)
		return;
	va_start(ap, fmt);
	if (evbuffer_add_vprintf(j->b, fmt, ap) < 0)
		j->err = true;
	va_end(ap);
}

void jw_str(struct jw *j, const char *s)
{
	size_t len = s ? strlen(s) : 0, n = json_str(NULL, 0, s, len);
	struct evbuffer_iovec v;

	if (j->err || evbuffer_get_length(j->b) + n > JSON_MAX ||
	    evbuffer_reserve_space(j->b, (ev_ssize_t)n + 1, &v, 1) < 1) {
		j->err = true;
		return;
	}
	json_str(v.iov_base, n + 1, s, len);
	v.iov_len = n;
	if (evbuffer_commit_space(j->b, &v, 1) < 0)
		j->err = true;
}

/* ---- time ------------------------------------------------------------------------- */

static uint64_t now_us(const struct airserv *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t sec = (int64_t)ts.tv_sec - (int64_t)s->t0.tv_sec;
	int64_t ns = (int64_t)ts.tv_nsec - (int64_t)s->t0.tv_nsec;
	return (uint64_t)(sec * 1000000 + ns / 1000);
}

void air_fmt_ms(char *buf, size_t cap, uint64_t us)
{
	snprintf(buf, cap, "%llu.%03llu", (unsigned long long)(us / 1000),
	         (unsigned long long)(us % 1000));
}

/* The channel up to now. */
static void catch_up(struct airserv *s)
{
	chan_advance(s->ch, now_us(s));
}

/* The timer at the channel's next deadline (none if it has none). */
static void settle(struct airserv *s)
{
	uint64_t dl = chan_next_deadline(s->ch);
	if (dl == CHAN_NEVER) {
		evtimer_del(s->timer);
		return;
	}
	uint64_t now = now_us(s), us = dl <= now ? 0 : dl - now;
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
	                     .tv_usec = (suseconds_t)(us % 1000000)};
	evtimer_add(s->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct airserv *s = arg;
	(void)fd;
	(void)what;
	catch_up(s);
	settle(s);
}

/* ---- sockets ------------------------------------------------------------------------ */

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

static unsigned bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* A listening non-blocking socket, or -1 with a logged error. */
static int listen_on(const char *host, unsigned port, bool loopback_only, bool *not_loopback)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char ps[8];
	int fd = -1;

	snprintf(ps, sizeof(ps), "%u", port);
	int rc = getaddrinfo(*host ? host : NULL, ps, &hints, &res);
	if (rc) {
		log_err("net", "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (loopback_only && !is_loopback(ai->ai_addr)) {
			if (not_loopback)
				*not_loopback = true;
			continue;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		log_err("net", "cannot listen on %s:%u: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void peer_name(const struct sockaddr *sa, char *out, size_t cap)
{
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned p = 0;

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
		p = ntohs(in->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof(h));
		p = ntohs(in6->sin6_port);
	}
	snprintf(out, cap, "%s:%u", h, p);
}

/* ---- connections ------------------------------------------------------------------ */

/* Writes what the socket takes now; false if the connection broke. */
static bool conn_flush(struct conn *c)
{
	while (!c->dead && evbuffer_get_length(c->out) > 0) {
		int n = evbuffer_write(c->out, c->fd);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->wev, NULL);
			return true;
		}
		if (n < 0 && errno == EINTR)
			continue;
		log_info("net", "%s: write failed: %s", c->peer,
		         n < 0 ? strerror(errno) : "closed");
		conn_kill(c);
		return false;
	}
	event_del(c->wev);
	return !c->dead;
}

void conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	event_del(c->rev);
	event_del(c->wev);
	event_active(c->s->reap, EV_TIMEOUT, 1);
}

/* Queues bytes for the client; a client whose backlog would pass the cap is dropped. */
static bool conn_put(struct conn *c, const void *p, size_t n)
{
	if (c->dead)
		return false;
	if (evbuffer_get_length(c->out) + n > c->out_cap && !conn_flush(c))
		return false;
	size_t pending = evbuffer_get_length(c->out);
	if (pending + n > c->out_cap) {
		log_warn("net", "%s: client does not read its output (%zu bytes pending): dropped",
		         c->peer, pending);
		conn_kill(c);
		return false;
	}
	if (evbuffer_add(c->out, p, n) < 0) {
		log_warn("net", "%s: out of memory: dropped", c->peer);
		conn_kill(c);
		return false;
	}
	event_add(c->wev, NULL);
	return true;
}

static void conn_put_json(struct conn *c, struct jw *j)
{
	if (j->err || evbuffer_get_length(j->b) > JSON_MAX) {
		static const char big[] = "{\"ok\":false,\"error\":\"answer too large\"}\n";
		conn_put(c, big, sizeof(big) - 1);
		return;
	}
	jw_raw(j, "\n");
	size_t n = evbuffer_get_length(j->b);
	conn_put(c, evbuffer_pullup(j->b, -1), n);
}

static void conn_close(struct conn *c)
{
	struct airserv *s = c->s;

	if (c->kind == CONN_RADIO && c->radio >= 0) {
		log_info("net", "radio %s disconnected (%s)", chan_radio_name(s->ch, c->radio),
		         c->peer);
		s->by_radio[c->radio] = NULL;
		if (c->named >= 0) {
			s->named[c->named].conn = NULL;
			chan_radio_attach(s->ch, c->radio, false);
		} else {
			chan_radio_remove(s->ch, c->radio);
		}
	}
	for (int i = 0; i < AIRSERV_MAX_CONNS; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	event_free(c->rev);
	event_free(c->wev);
	evbuffer_free(c->out);
	close(c->fd);
	free(c);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct airserv *s = arg;
	(void)fd;
	(void)what;
	catch_up(s);
	for (int i = 0; i < AIRSERV_MAX_CONNS; i++)
		if (s->conns[i] && s->conns[i]->dead)
			conn_close(s->conns[i]);
	settle(s);
}

static void ctl_feed(struct conn *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && !c->dead; i++) {
		char ch = (char)p[i];
		if (ch != '\n') {
			if (c->line_len < AIRCTL_LINE_MAX)
				c->line[c->line_len++] = ch ? ch : ' ';
			else
				c->line_overflow = true;
			continue;
		}
		struct jw j = {evbuffer_new(), false};
		if (!j.b) {
			conn_kill(c);
			return;
		}
		c->line[c->line_len] = 0;
		if (c->line_overflow)
			airctl_err(&j, "line too long");
		else
			airctl_line(c->s, c, c->line, &j);
		if (j.err || evbuffer_get_length(j.b))
			conn_put_json(c, &j);
		evbuffer_free(j.b);
		c->line_len = 0;
		c->line_overflow = false;
	}
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct airserv *s = c->s;
	uint8_t buf[READ_CHUNK];
	(void)what;

	for (int k = 0; k < 16 && !c->dead; k++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			catch_up(s);
			if (c->kind == CONN_RADIO)
				kiss_dec_feed(&c->dec, buf, (size_t)n);
			else
				ctl_feed(c, buf, (size_t)n);
			if ((size_t)n < sizeof(buf))
				break;
		} else if (n == 0) {
			/* the peer is gone: what it may still read goes out first */
			conn_flush(c);
			conn_kill(c);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			log_info("net", "%s: read failed: %s", c->peer, strerror(errno));
			conn_kill(c);
		}
	}
	settle(s);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	(void)what;
	conn_flush(c);
}

static void on_kiss_frame(void *ctx, uint8_t type, const uint8_t *data, size_t len)
{
	struct conn *c = ctx;
	struct airserv *s = c->s;

	if (c->dead)
		return;
	if (log_get_level() >= LOG_TRACE) {
		char what[64];
		snprintf(what, sizeof(what), "%s host->modem type %02x",
		         chan_radio_name(s->ch, c->radio), type);
		log_hex("kiss", what, data, len);
	}
	chan_modem_input(s->ch, c->radio, type, data, len);
}

static struct conn *conn_new(struct airserv *s, int fd, enum conn_kind kind,
                             const struct sockaddr *sa)
{
	int slot = -1;
	for (int i = 0; i < AIRSERV_MAX_CONNS && slot < 0; i++)
		if (!s->conns[i])
			slot = i;
	if (slot < 0)
		return NULL;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = (struct conn){.kind = kind, .s = s, .fd = fd, .radio = -1, .named = -1};
	c->out_cap = kind == CONN_RADIO ? RADIO_OUT_CAP : CTL_OUT_CAP;
	c->out = evbuffer_new();
	c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	c->wev = event_new(s->base, fd, EV_WRITE, on_writable, c);
	if (!c->out || !c->rev || !c->wev || event_add(c->rev, NULL) < 0) {
		if (c->out)
			evbuffer_free(c->out);
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		free(c);
		return NULL;
	}
	peer_name(sa, c->peer, sizeof(c->peer));
	kiss_dec_init(&c->dec, on_kiss_frame, c);
	s->conns[slot] = c;
	return c;
}

/* The channel radio of a new anonymous connection: ERR_OK or ERR_FULL. */
static int anon_attach(struct airserv *s, struct conn *c)
{
	char name[CHAN_NAME_MAX];
	int id = ERR_FULL;
	unsigned anon = 0;

	for (int i = 0; i < AIRSERV_MAX_CONNS; i++)
		if (s->conns[i] && s->conns[i]->kind == CONN_RADIO && s->conns[i]->named < 0 &&
		    s->conns[i]->radio >= 0)
			anon++;
	for (int tries = 0; anon < AIRSERV_MAX_ANON && tries < 1000; tries++) {
		snprintf(name, sizeof(name), "anon%u", ++s->anon_seq);
		id = chan_radio_add(s->ch, name, true, c);
		if (id != ERR_INVAL)
			break;
	}
	if (id < 0)
		return ERR_FULL;
	c->radio = id;
	return ERR_OK;
}

static void accept_conn(struct listener *l, int fd, const struct sockaddr *sa)
{
	struct airserv *s = l->s;
	char peer[64];

	peer_name(sa, peer, sizeof(peer));
	if (l->named >= 0 && s->named[l->named].conn) {
		log_warn("net", "radio %s already has a client; refused %s",
		         s->named[l->named].t->name, peer);
		close(fd);
		return;
	}
	struct conn *c = conn_new(s, fd, l->kind, sa);
	if (!c) {
		log_warn("net", "too many connections; refused %s", peer);
		close(fd);
		return;
	}
	if (l->kind == CONN_CTL) {
		log_debug("ctl", "control client %s", c->peer);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (l->named >= 0) {
		struct named *r = &s->named[l->named];
		c->radio = r->id;
		c->named = l->named;
		r->conn = c;
		chan_radio_attach(s->ch, r->id, true);
	} else if (anon_attach(s, c) != ERR_OK) {
		log_warn("net", "no room for another radio; refused %s", c->peer);
		conn_close(c);
		return;
	}
	s->by_radio[c->radio] = c;
	log_info("net", "radio %s connected (%s)", chan_radio_name(s->ch, c->radio), c->peer);
}

static void on_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
	struct listener *l = arg;
	(void)ev;
	(void)salen;
	catch_up(l->s);
	accept_conn(l, fd, sa);
	settle(l->s);
}

static void on_accept_error(struct evconnlistener *ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
		log_warn("net", "accept: %s", strerror(errno));
}

/* Listens for l: ERR_OK, ERR_PERM (not a loopback address when one is needed), ERR_SYS. */
static int listener_open(struct airserv *s, struct listener *l, const char *host, unsigned port)
{
	bool not_lo = false;
	int fd = listen_on(host, port, l->kind == CONN_CTL, &not_lo);

	l->s = s;
	if (fd < 0)
		return not_lo ? ERR_PERM : ERR_SYS;
	l->port = bound_port(fd);
	l->ev = evconnlistener_new(s->base, on_accept, l,
	                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!l->ev) {
		close(fd);
		log_err("net", "cannot watch %s:%u", host, l->port);
		return ERR_NOMEM;
	}
	evconnlistener_set_error_cb(l->ev, on_accept_error);
	return ERR_OK;
}

/* ---- channel callbacks ------------------------------------------------------------ */

static void on_host_frame(void *ctx, int radio, uint8_t type, const uint8_t *data, size_t len)
{
	struct airserv *s = ctx;
	struct conn *c =
	    radio >= 0 && (unsigned)radio < chan_radio_cap(s->ch) ? s->by_radio[radio] : NULL;
	uint8_t buf[2 * (KISS_MAX_FRAME + 1) + 3];

	if (!c || c->dead)
		return;
	int n = kiss_encode(type, data, len, buf, sizeof(buf));
	if (n < 0)
		return;
	if (log_get_level() >= LOG_TRACE) {
		char what[64];
		snprintf(what, sizeof(what), "%s modem->host type %02x",
		         chan_radio_name(s->ch, radio), type);
		log_hex("kiss", what, data, len);
	}
	conn_put(c, buf, (size_t)n);
}

void air_trace_line(struct airserv *s, struct jw *j)
{
	if (!s->trace || j->err)
		return;
	size_t n = evbuffer_get_length(j->b);
	const unsigned char *p = evbuffer_pullup(j->b, -1);
	if ((n && fwrite(p, 1, n, s->trace) != n) || fputc('\n', s->trace) < 0 ||
	    fflush(s->trace)) {
		log_err("trace", "write failed: %s; tracing stops", strerror(errno));
		fclose(s->trace);
		s->trace = NULL;
	}
}

static void tx_receivers(struct airserv *s, const struct chan_tx_report *r, struct jw *j)
{
	for (size_t i = 0; i < r->rx_count; i++) {
		const struct chan_rx_report *x = &r->rx[i];
		jw_raw(j, i ? ",{\"radio\":" : "{\"radio\":");
		jw_str(j, chan_radio_name(s->ch, x->radio));
		jw_printf(j, ",\"outcome\":\"%s\",\"snr\":%.2f,\"rssi\":%d}",
		          chan_outcome_name(x->outcome), x->snr_x4 / 4.0, x->rssi);
	}
}

static void on_tx_report(void *ctx, const struct chan_tx_report *r)
{
	struct airserv *s = ctx;
	struct jw j = {evbuffer_new(), false};
	char st[32], e[32];
	uint8_t h = r->len ? r->frame[0] : 0;
	char hex[2 * CHAN_MAX_FRAME + 1];

	air_fmt_ms(st, sizeof(st), r->start_us);
	air_fmt_ms(e, sizeof(e), r->end_us);
	if (log_get_level() >= LOG_DEBUG) {
		unsigned del = 0;
		for (size_t i = 0; i < r->rx_count; i++)
			del += r->rx[i].outcome == CHAN_DELIVERED;
		log_debug("air", "%s sent %zu bytes %s/%s, %s..%s ms, delivered to %u of %zu",
		          r->sender_name, r->len, pkt_type_name((h >> 2) & 0x0F),
		          pkt_route_name(h & 3), st, e, del, r->rx_count);
	}
	if (!s->trace || !j.b) {
		if (j.b)
			evbuffer_free(j.b);
		return;
	}
	hex_encode(hex, sizeof(hex), r->frame, r->len);
	jw_printf(&j, "{\"event\":\"tx\",\"start_ms\":%s,\"end_ms\":%s,\"sender\":", st, e);
	jw_str(&j, r->sender_name);
	jw_printf(&j, ",\"len\":%zu,\"type\":\"%s\",\"route\":\"%s\"", r->len,
	          pkt_type_name((h >> 2) & 0x0F), pkt_route_name(h & 3));
	if (h >> 6)
		jw_printf(&j, ",\"version\":%u", h >> 6);
	jw_printf(&j, ",\"freq\":%u,\"bw\":%u,\"sf\":%u,\"cr\":%u,\"frame\":\"%s\",\"receivers\":[",
	          r->params.freq_hz, r->params.bw_hz, r->params.sf, r->params.cr, hex);
	tx_receivers(s, r, &j);
	jw_raw(&j, "]}");
	air_trace_line(s, &j);
	evbuffer_free(j.b);
}

/* ---- set-up ------------------------------------------------------------------------- */

/* The topology's radios, unplugged until a client connects to their port. */
static int named_open(struct airserv *s)
{
	size_t nn = s->topo->n_radios;
	int *ids = calloc(nn ? nn : 1, sizeof(*ids));

	s->named = calloc(nn ? nn : 1, sizeof(*s->named));
	if (!s->named || !ids) {
		free(ids);
		return ERR_NOMEM;
	}
	s->n_named = nn;
	int rc = topo_apply(s->topo, s->ch, ids);
	for (size_t k = 0; k < nn; k++) {
		s->named[k] = (struct named){.t = &s->topo->radios[k], .id = ids[k]};
		s->named[k].l = (struct listener){.kind = CONN_RADIO, .named = (int)k, .s = s};
		if (rc == ERR_OK)
			chan_radio_attach(s->ch, ids[k], false);
	}
	free(ids);
	if (rc)
		log_err("main", "topology: %s", err_str(rc));
	return rc;
}

static int listen_all(struct airserv *s)
{
	const struct airserv_cfg *cfg = &s->cfg;
	int rc = listener_open(s, &s->anon, cfg->listen_host, cfg->listen_port);
	if (rc)
		return rc;
	log_info("net", "listening on %s:%u (anonymous radios)", cfg->listen_host, s->anon.port);
	for (size_t k = 0; k < s->n_named; k++) {
		struct named *r = &s->named[k];
		rc = listener_open(s, &r->l, cfg->listen_host, r->t->port);
		if (rc)
			return rc;
		log_info("net", "radio %s on %s:%u%s, csma %s", r->t->name, cfg->listen_host,
		         r->l.port, r->t->down ? " (down)" : "",
		         chan_csma_name(r->t->has_csma ? r->t->csma : cfg->chan.csma));
	}
	if (!cfg->ctl_host)
		return ERR_OK;
	rc = listener_open(s, &s->ctl, cfg->ctl_host, cfg->ctl_port);
	if (rc == ERR_OK)
		log_info("net", "control on %s:%u", cfg->ctl_host, s->ctl.port);
	return rc;
}

int airserv_open(struct airserv **out, struct event_base *base, const struct airserv_cfg *cfg,
                 const struct topo *topo)
{
	struct airserv *s = calloc(1, sizeof(*s));

	*out = s;
	if (!s) {
		log_err("main", "out of memory");
		return ERR_NOMEM;
	}
	s->cfg = *cfg;
	s->base = base;
	s->topo = topo;
	s->anon = (struct listener){.kind = CONN_RADIO, .named = -1, .s = s};
	s->ctl = (struct listener){.kind = CONN_CTL, .named = -1, .s = s};
	s->cfg.chan.default_link = topo->def;
	s->cfg.chan.max_radios = (unsigned)topo->n_radios + AIRSERV_MAX_ANON;
	if (cfg->trace) {
		s->trace = fopen(cfg->trace, "a");
		if (!s->trace) {
			log_err("main", "cannot open trace file %s: %s", cfg->trace,
			        strerror(errno));
			return ERR_SYS;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	rng_seeded_init(&s->seeded, &s->rng, cfg->seed);
	struct chan_ops ops = {.host_frame = on_host_frame, .tx_report = on_tx_report, .ctx = s};
	s->ch = chan_new(&s->cfg.chan, &ops, &s->rng, 0);
	s->by_radio = calloc(s->cfg.chan.max_radios, sizeof(*s->by_radio));
	s->timer = evtimer_new(base, on_timer, s);
	s->reap = event_new(base, -1, 0, on_reap, s);
	if (!s->ch || !s->by_radio || !s->timer || !s->reap) {
		log_err("main", "out of memory");
		return ERR_NOMEM;
	}
	int rc = named_open(s);
	if (rc == ERR_OK)
		rc = listen_all(s);
	s->ready = rc == ERR_OK;
	return rc;
}

void airserv_ports(const struct airserv *s, unsigned *anon, unsigned *ctl)
{
	*anon = s->anon.port;
	*ctl = s->ctl.port;
}

void airserv_free(struct airserv *s)
{
	if (!s)
		return;
	if (s->ready)
		airctl_trace_summary(s);
	for (int i = 0; i < AIRSERV_MAX_CONNS; i++) {
		struct conn *c = s->conns[i];
		if (!c)
			continue;
		conn_flush(c); /* the last answers (quit) */
		conn_close(c);
	}
	if (s->anon.ev)
		evconnlistener_free(s->anon.ev);
	if (s->ctl.ev)
		evconnlistener_free(s->ctl.ev);
	for (size_t k = 0; k < s->n_named; k++)
		if (s->named[k].l.ev)
			evconnlistener_free(s->named[k].l.ev);
	if (s->timer)
		event_free(s->timer);
	if (s->reap)
		event_free(s->reap);
	if (s->trace)
		fclose(s->trace);
	chan_free(s->ch);
	free(s->by_radio);
	free(s->named);
	free(s);
}
