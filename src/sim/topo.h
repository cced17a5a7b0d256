/*
 * topo.h - the topology file of the simulated channel: which radios exist
 * and who hears whom (PROTOCOL.md §11 "Topology").  Shared by meshair and by
 * in-process simulations, so one file describes both.
 *
 * Text, one statement per line, `#' starts a comment, words separated by
 * blanks:
 *
 *   radio NAME PORT [down] [csma=modem|host|firmware]
 *                                  a named radio (PORT: meshair's TCP port
 *                                  for it; 0 = any; ignored in process);
 *                                  csma= its CSMA profile (channel.h),
 *                                  else the channel's default
 *   default [snr=DB] [rssi=DBM] [loss=P]   parameters of links that give none
 *   mode full|links                full: every pair hears each other with the
 *                                  defaults, link lines adjust; links: only
 *                                  link lines connect named radios.  Unset:
 *                                  links if there is a link line, else full.
 *   link A B [opts] [down]         both directions (also "link A <-> B")
 *   link A -> B [opts] [down]      one way, B hears A (also "link1 A B",
 *                                  "link B <- A")
 *
 * The parser is pure (the caller reads the file), bounds every input and
 * reports the first error with its line number.
 */
#ifndef ROOMD_SIM_TOPO_H
#define ROOMD_SIM_TOPO_H

#include <stdbool.h>
#include <stddef.h>

#include "sim/channel.h"

#define TOPO_MAX_RADIOS 256
#define TOPO_MAX_LINKS  65536
#define TOPO_LINE_MAX   1024
#define TOPO_MAX_WORDS  16

enum topo_mode { TOPO_MODE_FULL = 0, TOPO_MODE_LINKS = 1 };

struct topo_radio {
	char name[CHAN_NAME_MAX];
	unsigned port;
	bool down;
	bool has_csma; /* else the channel's default profile */
	enum chan_csma csma;
	int line;
};

/* Link parameters as written: only the has_* ones override the defaults. */
struct topo_link {
	char a[CHAN_NAME_MAX], b[CHAN_NAME_MAX]; /* a is heard by b (and b by a if both) */
	bool both, down;
	bool has_snr, has_rssi, has_loss;
	struct chan_link p;
	int line;
};

struct topo {
	struct topo_radio *radios;
	size_t n_radios;
	struct topo_link *links;
	size_t n_links;
	enum topo_mode mode;
	struct chan_link def; /* CHAN_LINK_DEFAULT unless a default line says otherwise */
};

/*
 * Parses text (len bytes, need not be NUL-terminated) into t, which the
 * caller frees with topo_free in every case.  Returns ERR_OK, or ERR_CONFIG
 * with *err_line (1-based) and err (a message, NUL-terminated) set;
 * ERR_NOMEM when out of memory.
 */
int topo_parse(struct topo *t, const char *text, size_t len, int *err_line, char *err,
               size_t err_cap);
void topo_free(struct topo *t);

/*
 * Adds t's radios to ch (in order; ids[i] gets radio i's id, ids may be NULL)
 * and sets their links: in full mode each with link_all, then the link lines
 * with t->def for parameters they do not give.  Radios declared down are
 * set down.  Returns ERR_OK, or the first error of chan_radio_add (a name
 * clash with a radio already in ch: ERR_INVAL; no room: ERR_FULL).
 */
int topo_apply(const struct topo *t, struct chan *ch, int *ids);

/* Puts the parameters l gives over *p; whether it gave any. */
bool topo_link_overlay(const struct topo_link *l, struct chan_link *p);
/* The parameters link l gets: t->def with l's own values on top. */
struct chan_link topo_link_params(const struct topo *t, const struct topo_link *l);

/*
 * Helpers shared with control interfaces that speak the same words.
 * topo_split cuts line (modified in place; a `#' ends it) into at most max
 * words; returns the count or ERR_TOO_BIG when there are more.
 */
int topo_split(char *line, char **word, int max);
/*
 * The names of "link A B", "link A <-> B", "link A -> B", "link A <- B" or
 * "link1 A B" (word[0] is the keyword) into l.  Returns the index of the
 * first word after the names, or ERR_FORMAT with *err set to a message.
 */
int topo_parse_link_names(char **word, int n, struct topo_link *l, const char **err);
/* snr=DB rssi=DBM loss=P (and `down'/`up' if allow_state).  NULL or a message. */
const char *topo_parse_link_opts(char **word, int n, struct topo_link *l, bool allow_state);

#endif
