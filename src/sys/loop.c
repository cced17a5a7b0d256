/*
 * loop.c - the programs' event loop on libevent (loop.h).
 */
#include "sys/loop.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sys/sys.h"
#include "util/err.h"
#include "util/log.h"

struct loop {
	struct event_base *base;
	struct event *ev_sig[2];
	int signal; /* the stop signal caught, 0 = none */
};

struct loop_fd {
	struct event *ev;
	int fd;
	loop_fd_fn *fn;
	void *ctx;
};

struct loop_timer {
	struct event *ev;
	loop_timer_fn *fn;
	void *ctx;
};

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;
	(void)what;
	if (!l->signal)
		l->signal = (int)sig;
	event_base_loopbreak(l->base);
}

int loop_open(struct loop **out)
{
	static const int sigs[2] = {SIGINT, SIGTERM};
	struct loop *l = calloc(1, sizeof(*l));
	struct event_config *cfg = event_config_new();
	*out = NULL;
	if (!l || !cfg) {
		free(l);
		if (cfg)
			event_config_free(cfg);
		return ERR_NOMEM;
	}
	event_config_avoid_method(cfg, "epoll");
	event_config_avoid_method(cfg, "select");
	l->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!l->base) {
		log_err("loop", "event loop: no poll() backend");
		free(l);
		return ERR_SYS;
	}
	for (int i = 0; i < 2; i++) {
		l->ev_sig[i] = evsignal_new(l->base, sigs[i], on_stop_signal, l);
		if (!l->ev_sig[i] || evsignal_add(l->ev_sig[i], NULL) < 0) {
			log_err("loop", "event loop: cannot watch signal %d", sigs[i]);
			loop_close(l);
			return ERR_SYS;
		}
	}
	*out = l;
	return ERR_OK;
}

void loop_close(struct loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < 2; i++)
		if (l->ev_sig[i])
			event_free(l->ev_sig[i]);
	if (l->base)
		event_base_free(l->base);
	free(l);
}

struct event_base *loop_base(struct loop *l)
{
	return l->base;
}

int loop_run(struct loop *l)
{
	if (l->signal)
		return ERR_OK;
	if (event_base_dispatch(l->base) < 0) {
		log_err("loop", "event loop failed");
		return ERR_SYS;
	}
	return ERR_OK;
}

void loop_break(struct loop *l)
{
	event_base_loopbreak(l->base);
}

int loop_signal(const struct loop *l)
{
	return l->signal;
}

uint64_t loop_now_ms(void)
{
	return app_now_ms();
}

/* ---- descriptors ---- */

static void on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct loop_fd *f = arg;
	f->fn(f->ctx, (int)fd,
	      (short)(((what & EV_READ) ? POLLIN : 0) | ((what & EV_WRITE) ? POLLOUT : 0)));
}

struct loop_fd *loop_fd_new(struct loop *l, int fd, short events, loop_fd_fn *fn, void *ctx)
{
	struct loop_fd *f = calloc(1, sizeof(*f));
	short what = (short)(EV_PERSIST | ((events & POLLIN) ? EV_READ : 0) |
	                     ((events & POLLOUT) ? EV_WRITE : 0));
	if (!f)
		return NULL;
	*f = (struct loop_fd){NULL, fd, fn, ctx};
	f->ev = event_new(l->base, fd, what, on_fd, f);
	if (!f->ev || event_add(f->ev, NULL) < 0) {
		log_err("loop", "event loop: cannot watch descriptor %d", fd);
		loop_fd_free(f);
		return NULL;
	}
	return f;
}

void loop_fd_free(struct loop_fd *f)
{
	if (!f)
		return;
	if (f->ev)
		event_free(f->ev);
	free(f);
}

/* ---- timers ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct loop_timer *t = arg;
	(void)fd;
	(void)what;
	t->fn(t->ctx);
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_fn *fn, void *ctx)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct loop_timer){NULL, fn, ctx};
	t->ev = evtimer_new(l->base, on_timer, t);
	if (!t->ev) {
		free(t);
		return NULL;
	}
	return t;
}

void loop_timer_in(struct loop_timer *t, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(t->ev, &tv);
}

void loop_timer_stop(struct loop_timer *t)
{
	evtimer_del(t->ev);
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}

/* ---- pollsets ---- */

static void on_pollset_fd(void *ctx, int fd, short revents)
{
	struct loop_pollset *ps = ctx;
	struct pollfd fds[LOOP_POLLSET_MAX];
	int n = ps->n;
	memcpy(fds, ps->fds, sizeof(fds[0]) * (size_t)n);
	for (int i = 0; i < n; i++)
		fds[i].revents = fds[i].fd == fd ? revents : 0;
	ps->fn(ps->ctx, fds, n);
}

void loop_pollset_init(struct loop_pollset *ps, struct loop *l, loop_pollset_fn *fn, void *ctx)
{
	memset(ps, 0, sizeof(*ps));
	ps->l = l;
	ps->fn = fn;
	ps->ctx = ctx;
}

void loop_pollset_clear(struct loop_pollset *ps)
{
	for (int i = 0; i < ps->n; i++) {
		loop_fd_free(ps->ev[i]);
		ps->ev[i] = NULL;
	}
	ps->n = 0;
}

void loop_pollset_set(struct loop_pollset *ps, const struct pollfd *fds, int n)
{
	if (n < 0)
		n = 0;
	if (n > LOOP_POLLSET_MAX)
		n = LOOP_POLLSET_MAX;
	bool same = n == ps->n;
	for (int i = 0; same && i < n; i++)
		same = fds[i].fd == ps->fds[i].fd && fds[i].events == ps->fds[i].events;
	if (same)
		return;
	loop_pollset_clear(ps);
	for (int i = 0; i < n; i++) {
		struct loop_fd *f = loop_fd_new(ps->l, fds[i].fd, fds[i].events, on_pollset_fd, ps);
		if (!f)
			continue; /* logged */
		ps->fds[ps->n] = fds[i];
		ps->ev[ps->n++] = f;
	}
}
