/*
 * airserv_int.h - what airserv.c (connections) and airctl.c (control
 * commands, summary) share; not for other modules.
 */
#ifndef ROOMD_SIM_AIRSERV_INT_H
#define ROOMD_SIM_AIRSERV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "proto/kiss.h"
#include "sim/airserv.h"
#include "util/rng.h"

#define AIRCTL_LINE_MAX 512

struct evbuffer;
struct evconnlistener;
struct event;

/* What a connection or a listening socket is. */
enum conn_kind {
	CONN_RADIO, /* a radio client: KISS both ways */
	CONN_CTL,   /* a control client: command lines in, JSON lines out */
};

struct conn {
	enum conn_kind kind;
	struct airserv *s;
	int fd;
	struct event *rev, *wev; /* readable (persistent), writable (while out is not empty) */
	struct evbuffer *out;
	size_t out_cap; /* unread output before the client is dropped */
	bool dead;      /* closed by the reaper, output discarded */
	char peer[64];
	int radio; /* channel id (radios), -1 before */
	int named; /* index into s->named, -1 for anonymous and control */
	struct kiss_dec dec;
	char line[AIRCTL_LINE_MAX + 1];
	size_t line_len;
	bool line_overflow;
};

/* A listening socket: for anonymous radios, one named radio, or control. */
struct listener {
	enum conn_kind kind;
	int named; /* index into s->named, -1 if not a named radio's */
	struct airserv *s;
	struct evconnlistener *ev;
	unsigned port; /* as bound */
};

/* A radio of the topology file. */
struct named {
	const struct topo_radio *t;
	struct listener l;
	int id; /* channel id */
	struct conn *conn;
};

struct airserv {
	struct airserv_cfg cfg;
	struct event_base *base;
	const struct topo *topo;
	struct chan *ch;
	struct rng rng;
	struct rng_seeded seeded;
	struct timespec t0;
	struct event *timer; /* the channel's next deadline */
	struct event *reap;  /* closes dead connections, outside their callbacks */
	struct listener anon, ctl;
	struct named *named; /* [topo->n_radios] */
	size_t n_named;
	struct conn *conns[AIRSERV_MAX_CONNS];
	struct conn **by_radio; /* [chan cap] */
	unsigned anon_seq;
	FILE *trace;
	bool ready; /* opened cleanly: the summary is written at the end */
};

/* JSON into an evbuffer; err is sticky (out of memory or over the cap). */
struct jw {
	struct evbuffer *b;
	bool err;
};
void jw_raw(struct jw *j, const char *s);
void jw_printf(struct jw *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string through the one writer (util/json.h). */
void jw_str(struct jw *j, const char *s);

/* "1234.567": microseconds as milliseconds. */
void air_fmt_ms(char *buf, size_t cap, uint64_t us);
/* Marks c dead and lets the reaper close it after the current callback. */
void conn_kill(struct conn *c);
/* One JSON line to the trace file, if any. */
void air_trace_line(struct airserv *s, struct jw *j);

/* airctl.c */
void airctl_summary(struct airserv *s, struct jw *j);
void airctl_trace_summary(struct airserv *s);
/* One control line (NUL-terminated, may be changed); the answer into j. */
void airctl_line(struct airserv *s, struct conn *c, char *line, struct jw *j);
void airctl_err(struct jw *j, const char *msg);

#endif
