/*
 * airctl.c - meshair's control commands and its summary (airserv.h).
 *
 * One command a line, one JSON answer a line with "ok": true, or "ok":
 * false and "error".  The table below is the only list of commands: the
 * dispatcher, `help' and meshair --help all read it.
 */
#include <event2/buffer.h>
#include <string.h>

#include "sim/airserv_int.h"
#include "sim/channel.h"
#include "sim/topo.h"
#include "util/err.h"
#include "util/log.h"

/* ---- summary ------------------------------------------------------------------ */

static void radio_summary(struct airserv *s, unsigned id, const struct chan_radio_stats *rs,
                          bool first, struct jw *j)
{
	char air[32];

	air_fmt_ms(air, sizeof(air), rs->tx_airtime_us);
	jw_raw(j, first ? "{\"radio\":" : ",{\"radio\":");
	jw_str(j, chan_radio_name(s->ch, (int)id));
	jw_printf(j, ",\"tx\":%u,\"airtime_ms\":%s", rs->tx, air);
	for (int o = 0; o < CHAN_OUTCOMES; o++)
		jw_printf(j, ",\"%s\":%u", chan_outcome_name((enum chan_outcome)o), rs->rx[o]);
	jw_printf(j, ",\"busy_rejects\":%u,\"csma_slots\":%u,\"busy_timeouts\":%u}",
	          rs->tx_busy_rejects, rs->csma_slots, rs->busy_timeouts);
}

void airctl_summary(struct airserv *s, struct jw *j)
{
	struct chan_stats st;
	char t[32], air[32];

	chan_stats(s->ch, &st);
	air_fmt_ms(t, sizeof(t), chan_now(s->ch));
	air_fmt_ms(air, sizeof(air), st.airtime_us);
	jw_printf(j, "\"time_ms\":%s,\"transmissions\":%u,\"airtime_ms\":%s,\"tx_collided\":%u", t,
	          st.tx, air, st.tx_collided);
	for (int o = 0; o < CHAN_OUTCOMES; o++)
		jw_printf(j, ",\"%s\":%u", chan_outcome_name((enum chan_outcome)o), st.rx[o]);
	jw_raw(j, ",\"radios\":[");
	bool first = true;
	for (unsigned id = 0; id < chan_radio_cap(s->ch); id++) {
		struct chan_radio_stats rs;
		if (chan_radio_stats(s->ch, (int)id, &rs))
			continue;
		radio_summary(s, id, &rs, first, j);
		first = false;
	}
	jw_raw(j, "]");
}

void airctl_trace_summary(struct airserv *s)
{
	struct jw j = {evbuffer_new(), false};
	if (!j.b)
		return;
	jw_raw(&j, "{\"event\":\"summary\",");
	airctl_summary(s, &j);
	jw_raw(&j, "}");
	air_trace_line(s, &j);
	evbuffer_free(j.b);
}

/* ---- commands ------------------------------------------------------------------- */

void airctl_err(struct jw *j, const char *msg)
{
	jw_raw(j, "{\"ok\":false,\"error\":");
	jw_str(j, msg);
	jw_raw(j, "}");
}

static int find_radio(struct airserv *s, const char *name, struct jw *j)
{
	int id = chan_radio_find(s->ch, name);
	if (id < 0) {
		char msg[AIRCTL_LINE_MAX + 32];
		snprintf(msg, sizeof(msg), "no such radio: %s", name);
		airctl_err(j, msg);
	}
	return id;
}

/* The topology's index of radio id, -1 if anonymous. */
static int named_of(const struct airserv *s, unsigned id)
{
	const struct conn *rc = s->by_radio[id];
	if (rc)
		return rc->named;
	for (size_t k = 0; k < s->n_named; k++)
		if (s->named[k].id == (int)id)
			return (int)k;
	return -1;
}

static void radio_info(struct airserv *s, unsigned id, const struct chan_radio_info *in,
                       struct jw *j)
{
	const struct conn *rc = s->by_radio[id];
	int named = named_of(s, id);

	jw_str(j, in->name);
	jw_printf(j,
	          ",\"named\":%s,\"port\":%u,\"connected\":%s,\"up\":%s,\"state\":\"%s\","
	          "\"busy\":%s,\"freq\":%u,\"bw\":%u,\"sf\":%u,\"cr\":%u,\"txdelay\":%u,"
	          "\"persistence\":%u,\"slottime\":%u,\"fullduplex\":%u,\"tx_power\":%u,"
	          "\"signal_report\":%s,\"csma\":\"%s\"",
	          named >= 0 ? "true" : "false", named >= 0 ? s->named[named].l.port : s->anon.port,
	          in->attached ? "true" : "false", in->up ? "true" : "false",
	          chan_tx_state_name(in->state), in->busy ? "true" : "false", in->params.freq_hz,
	          in->params.bw_hz, in->params.sf, in->params.cr, in->txdelay, in->persistence,
	          in->slottime, in->fullduplex, in->tx_power, in->signal_report ? "true" : "false",
	          chan_csma_name(in->csma));
	if (rc) {
		jw_raw(j, ",\"peer\":");
		jw_str(j, rc->peer);
	}
}

static void ctl_radios(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j)
{
	(void)c;
	(void)argc;
	(void)argv;
	jw_raw(j, "{\"ok\":true,\"radios\":[");
	bool first = true;
	for (unsigned id = 0; id < chan_radio_cap(s->ch); id++) {
		struct chan_radio_info in;
		if (chan_radio_info(s->ch, (int)id, &in))
			continue;
		jw_raw(j, first ? "{\"name\":" : ",{\"name\":");
		first = false;
		radio_info(s, id, &in, j);
		jw_raw(j, "}");
	}
	jw_raw(j, "]}");
}

static void ctl_radio(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j)
{
	(void)c;
	if (argc != 3) {
		airctl_err(j, "usage: radio NAME up|down|disconnect");
		return;
	}
	int id = find_radio(s, argv[1], j);
	if (id < 0)
		return;
	if (strcmp(argv[2], "up") == 0 || strcmp(argv[2], "down") == 0) {
		bool up = argv[2][0] == 'u';
		chan_radio_set_up(s->ch, id, up);
		log_info("ctl", "radio %s %s", argv[1], up ? "up" : "down");
	} else if (strcmp(argv[2], "disconnect") == 0) {
		struct conn *rc = s->by_radio[id];
		if (!rc) {
			airctl_err(j, "radio not connected");
			return;
		}
		log_info("ctl", "radio %s: disconnect requested", argv[1]);
		conn_kill(rc); /* closed after this answer */
	} else {
		airctl_err(j, "usage: radio NAME up|down|disconnect");
		return;
	}
	jw_raw(j, "{\"ok\":true}");
}

/* One direction of `link': from -> to as l says. */
static void link_apply(struct airserv *s, int from, int to, const struct topo_link *l, bool up)
{
	struct chan_link p;
	bool in_range = chan_link_get(s->ch, from, to, &p, NULL) == ERR_OK;

	if (!in_range && !up)
		return; /* out of range is as down as it gets */
	if (!in_range)
		p = s->topo->def;
	if (topo_link_overlay(l, &p) || !in_range)
		chan_link_set(s->ch, from, to, &p);
	chan_link_set_up(s->ch, from, to, up);
}

static void ctl_link(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j)
{
	static const char usage[] = "usage: link A B up|down [snr=DB] [rssi=DBM] [loss=P]";
	struct topo_link l = {0};
	const char *e = NULL;
	(void)c;

	int i = topo_parse_link_names(argv, argc, &l, &e);
	if (i < 0 || i >= argc || (strcmp(argv[i], "up") && strcmp(argv[i], "down"))) {
		airctl_err(j, e ? e : usage);
		return;
	}
	bool up = strcmp(argv[i], "up") == 0;
	e = topo_parse_link_opts(argv + i + 1, argc - i - 1, &l, false);
	if (e) {
		airctl_err(j, e);
		return;
	}
	int a = find_radio(s, l.a, j);
	if (a < 0)
		return;
	int b = find_radio(s, l.b, j);
	if (b < 0)
		return;
	if (a == b) {
		airctl_err(j, "a link needs two different radios");
		return;
	}
	link_apply(s, a, b, &l, up);
	if (l.both)
		link_apply(s, b, a, &l, up);
	log_info("ctl", "link %s %s %s %s", l.a, l.both ? "<->" : "->", l.b, up ? "up" : "down");
	jw_raw(j, "{\"ok\":true}");
}

static void ctl_stats(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j)
{
	(void)c;
	(void)argc;
	(void)argv;
	jw_raw(j, "{\"ok\":true,");
	airctl_summary(s, j);
	jw_raw(j, "}");
	airctl_trace_summary(s);
}

static void ctl_reset_stats(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j)
{
	(void)c;
	(void)argc;
	(void)argv;
	chan_stats_reset(s->ch);
	jw_raw(j, "{\"ok\":true}");
}

static void ctl_quit(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j)
{
	(void)argc;
	(void)argv;
	log_info("ctl", "quit requested by %s", c->peer);
	if (s->cfg.on_quit)
		s->cfg.on_quit(s->cfg.ctx);
	jw_raw(j, "{\"ok\":true}");
}

static void ctl_help(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j);

static const struct ctl_cmd {
	const char *name;
	const char *args;
	const char *help;
	void (*fn)(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j);
} ctl_cmds[] = {
    {"radios", "", "list the radios: name, port, connected, up, tx state, settings", ctl_radios},
    {"radio", "NAME up|down|disconnect",
     "down takes a radio off the air (it neither hears nor is heard; its connection "
     "stays open), up puts it back; disconnect closes its TCP connection (an unplugged modem)",
     ctl_radio},
    {"link", "A B up|down [snr=DB] [rssi=DBM] [loss=P]",
     "both directions; `up' creates a missing link with the default parameters; "
     "A -> B or link1 for one way",
     ctl_link},
    {"link1", "A B up|down [...]", "one way: B hears A (same as link A -> B)", ctl_link},
    {"stats", "", "the summary (also written to the trace)", ctl_stats},
    {"reset-stats", "", "zero the summary counters", ctl_reset_stats},
    {"quit", "", "exit meshair (status 0)", ctl_quit},
    {"help", "", "this list", ctl_help},
};
#define N_CMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static void ctl_help(struct airserv *s, struct conn *c, int argc, char **argv, struct jw *j)
{
	(void)s;
	(void)c;
	(void)argc;
	(void)argv;
	jw_raw(j, "{\"ok\":true,\"commands\":[");
	for (size_t i = 0; i < N_CMDS; i++) {
		char w[128];
		snprintf(w, sizeof(w), "%s%s%s", ctl_cmds[i].name, *ctl_cmds[i].args ? " " : "",
		         ctl_cmds[i].args);
		if (i)
			jw_raw(j, ",");
		jw_str(j, w);
	}
	jw_raw(j, "]}");
}

void airserv_print_commands(FILE *f)
{
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(f, "    %s%s%s\n        %s.\n", ctl_cmds[i].name,
		        *ctl_cmds[i].args ? " " : "", ctl_cmds[i].args, ctl_cmds[i].help);
}

void airctl_line(struct airserv *s, struct conn *c, char *line, struct jw *j)
{
	char *tok[16];
	int n = topo_split(line, tok, 16);

	if (n == 0)
		return;
	if (n < 0) {
		airctl_err(j, "too many words");
		return;
	}
	for (size_t i = 0; i < N_CMDS; i++)
		if (strcmp(ctl_cmds[i].name, tok[0]) == 0) {
			ctl_cmds[i].fn(s, c, n, tok, j);
			return;
		}
	airctl_err(j, "unknown command (try help)");
}
