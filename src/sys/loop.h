/*
 * loop.h - the programs' event loop: one libevent event_base on the poll()
 * backend, the stop signals as events, a monotonic millisecond clock,
 * descriptors and timers.  Lifted from roomd; roomd, roomc and meshair run
 * on it, so sockets and timers beside the radio (the web page, MQTT, the
 * control socket) share one loop.
 *
 * Why poll(), not epoll: the radio closes a descriptor and reopens another
 * under the same number as it reconnects; epoll watches the open file, not
 * the number, and a descriptor closed behind its back stays silently dead.
 * poll() takes the numbers afresh every round.  (select() is avoided for its
 * FD_SETSIZE limit.)
 *
 * Signals: SIGINT and SIGTERM are loop events (no async handler runs our
 * code): the first one breaks loop_run(), and loop_signal() says which it
 * was.  SIGPIPE is the caller's to ignore (a write to a closed socket).
 *
 * The clock is app_now_ms() (sys.h, CLOCK_MONOTONIC); timers take a delay in
 * milliseconds from now.
 *
 * Ownership: the caller owns the loop and every loop_fd, loop_timer and
 * loop_pollset it creates, and frees them before loop_close().  The
 * event_base is the loop's: loop_base() lends it to code that builds its own
 * libevent objects on it (bufferevents, evhttp), which must be freed before
 * loop_close() too.  Callbacks run from loop_run() only.
 */
#ifndef ROOMD_SYS_LOOP_H
#define ROOMD_SYS_LOOP_H

#include <poll.h>
#include <stdint.h>

struct event_base;
struct loop;
struct loop_fd;
struct loop_timer;

/* A new loop (poll backend, SIGINT/SIGTERM watched).  ERR_NOMEM, or ERR_SYS
 * (logged) when libevent has no poll() backend. */
int loop_open(struct loop **out);
void loop_close(struct loop *l);
struct event_base *loop_base(struct loop *l);

/* Runs until loop_break() or a stop signal: ERR_OK, or ERR_SYS (logged)
 * when the event base fails.  Returns at once if already stopped. */
int loop_run(struct loop *l);
/* Makes loop_run() return after the current callback. */
void loop_break(struct loop *l);
/* The stop signal caught (SIGINT or SIGTERM), 0 while none was. */
int loop_signal(const struct loop *l);
/* Monotonic milliseconds: app_now_ms(). */
uint64_t loop_now_ms(void);

/* A descriptor watched for events (POLLIN, POLLOUT or both) until freed;
 * fn gets what happened as POLLIN/POLLOUT bits.  NULL when out of memory or
 * libevent refuses (logged). */
typedef void loop_fd_fn(void *ctx, int fd, short revents);
struct loop_fd *loop_fd_new(struct loop *l, int fd, short events, loop_fd_fn *fn, void *ctx);
void loop_fd_free(struct loop_fd *f); /* NULL is fine */

/* A one-shot timer: loop_timer_in() (re)arms it ms from now. */
typedef void loop_timer_fn(void *ctx);
struct loop_timer *loop_timer_new(struct loop *l, loop_timer_fn *fn, void *ctx);
void loop_timer_in(struct loop_timer *t, uint64_t ms);
void loop_timer_stop(struct loop_timer *t);
void loop_timer_free(struct loop_timer *t); /* NULL is fine */

/*
 * The descriptors a module asks for with a pollfd array that changes as it
 * connects and has output (radio_pollfds(), mqtt's socket): set it after
 * every event with what the module wants now; it is rewatched only when it
 * changed.  fn gets the whole array with revents filled for the descriptor
 * that fired (0 for the others), as after a poll().
 */
#define LOOP_POLLSET_MAX 8
typedef void loop_pollset_fn(void *ctx, struct pollfd *fds, int n);
struct loop_pollset {
	struct loop *l;
	loop_pollset_fn *fn;
	void *ctx;
	struct pollfd fds[LOOP_POLLSET_MAX]; /* what is watched */
	struct loop_fd *ev[LOOP_POLLSET_MAX];
	int n;
};
void loop_pollset_init(struct loop_pollset *ps, struct loop *l, loop_pollset_fn *fn, void *ctx);
/* Watches fds[0..n) (n past LOOP_POLLSET_MAX is cut, n < 0 is none). */
void loop_pollset_set(struct loop_pollset *ps, const struct pollfd *fds, int n);
void loop_pollset_clear(struct loop_pollset *ps);

#endif
