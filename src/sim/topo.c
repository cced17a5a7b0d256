/*
 * topo.c - the topology file of the simulated channel (see topo.h; PROTOCOL.md
 * §11).  Lines are copied into a bounded buffer before they are cut into
 * words, so the input needs no terminator and may contain anything.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/topo.h"
#include "util/err.h"
#include "util/num.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int topo_split(char *line, char **word, int max)
{
	int n = 0;
	char *hash = strchr(line, '#');

	if (hash)
		*hash = 0;
	for (char *p = line; *p;) {
		while (is_blank(*p))
			*p++ = 0;
		if (!*p)
			break;
		if (n == max)
			return ERR_TOO_BIG;
		word[n++] = p;
		while (*p && !is_blank(*p))
			p++;
	}
	return n;
}

const char *topo_parse_link_opts(char **word, int n, struct topo_link *l, bool allow_state)
{
	for (int i = 0; i < n; i++) {
		double v;
		if (strncmp(word[i], "snr=", 4) == 0) {
			if (!num_double(word[i] + 4, -32.0, 31.75, &v))
				return "snr= wants dB in -32..31.75";
			l->p.snr_x4 = (int16_t)lround(v * 4);
			l->has_snr = true;
		} else if (strncmp(word[i], "rssi=", 5) == 0) {
			if (!num_double(word[i] + 5, -200, 30, &v))
				return "rssi= wants dBm in -200..30";
			l->p.rssi = (int16_t)lround(v);
			l->has_rssi = true;
		} else if (strncmp(word[i], "loss=", 5) == 0) {
			if (!num_double(word[i] + 5, 0, 1, &v))
				return "loss= wants a probability in 0..1";
			l->p.loss = v;
			l->has_loss = true;
		} else if (allow_state && strcmp(word[i], "down") == 0) {
			l->down = true;
		} else if (allow_state && strcmp(word[i], "up") == 0) {
			l->down = false;
		} else {
			return allow_state ? "unknown link word (snr=, rssi=, loss=, up, down)"
			                   : "unknown link parameter (snr=, rssi=, loss=)";
		}
	}
	return NULL;
}

int topo_parse_link_names(char **word, int n, struct topo_link *l, const char **err)
{
	int i = 1;
	bool one_way = strcmp(word[0], "link1") == 0;
	const char *a, *b;

	if (n < 3) {
		*err = "a link wants two radio names";
		return ERR_FORMAT;
	}
	a = word[i++];
	b = word[i++];
	if (!one_way && (strcmp(b, "->") == 0 || strcmp(b, "<-") == 0 || strcmp(b, "<->") == 0)) {
		const char *arrow = b;
		if (i >= n) {
			*err = "a link wants two radio names";
			return ERR_FORMAT;
		}
		b = word[i++];
		if (strcmp(arrow, "<-") == 0) {
			const char *t = a;
			a = b;
			b = t;
		}
		one_way = strcmp(arrow, "<->") != 0;
	}
	if (strlen(a) >= CHAN_NAME_MAX || strlen(b) >= CHAN_NAME_MAX) {
		*err = "radio name too long (31 at most)";
		return ERR_FORMAT;
	}
	if (strcmp(a, b) == 0) {
		*err = "a link needs two different radios";
		return ERR_FORMAT;
	}
	memcpy(l->a, a, strlen(a) + 1);
	memcpy(l->b, b, strlen(b) + 1);
	l->both = !one_way;
	return i;
}

static int grow(void **p, size_t n, size_t size)
{
	/* capacity 8, 16, 32...: grown when n reaches it */
	if (n != 0 && (n < 8 || (n & (n - 1))))
		return ERR_OK;
	void *q = realloc(*p, (n ? 2 * n : 8) * size);
	if (!q)
		return ERR_NOMEM;
	*p = q;
	return ERR_OK;
}

static const struct topo_radio *find(const struct topo *t, const char *name)
{
	for (size_t i = 0; i < t->n_radios; i++)
		if (strcmp(t->radios[i].name, name) == 0)
			return &t->radios[i];
	return NULL;
}

/* One statement; NULL or an error message (into buf when it needs details). */
static const char *statement(struct topo *t, char **w, int n, int ln, int *mode, char *buf,
                             size_t cap)
{
	if (strcmp(w[0], "radio") == 0) {
		unsigned long long port_ull;
		bool down = false, has_csma = false;
		int csma = CHAN_CSMA_MODEM;
		if (n < 3 || n > 5)
			return "usage: radio NAME PORT [down] [csma=modem|host|firmware]";
		for (int i = 3; i < n; i++) {
			if (strcmp(w[i], "down") == 0 && !down) {
				down = true;
			} else if (strncmp(w[i], "csma=", 5) == 0 && !has_csma) {
				csma = chan_csma_parse(w[i] + 5);
				if (csma < 0)
					return "csma= wants modem, host or firmware";
				has_csma = true;
			} else {
				return "usage: radio NAME PORT [down] [csma=modem|host|firmware]";
			}
		}
		if (strlen(w[1]) >= CHAN_NAME_MAX)
			return "radio name too long (31 at most)";
		if (!num_ulong(w[2], 65535, &port_ull))
			return "PORT wants 0..65535";
		unsigned port = (unsigned)port_ull;
		const struct topo_radio *old = find(t, w[1]);
		if (old) {
			snprintf(buf, cap, "radio %s already declared on line %d", w[1], old->line);
			return buf;
		}
		for (size_t i = 0; port && i < t->n_radios; i++) {
			if (t->radios[i].port == port) {
				snprintf(buf, cap, "port %u already belongs to radio %s", port,
				         t->radios[i].name);
				return buf;
			}
		}
		if (t->n_radios >= TOPO_MAX_RADIOS)
			return "too many radios";
		if (grow((void **)&t->radios, t->n_radios, sizeof(*t->radios)))
			return "out of memory";
		struct topo_radio *r = &t->radios[t->n_radios++];
		*r = (struct topo_radio){.port = port,
		                         .down = down,
		                         .has_csma = has_csma,
		                         .csma = (enum chan_csma)csma,
		                         .line = ln};
		memcpy(r->name, w[1], strlen(w[1]) + 1);
		return NULL;
	}
	if (strcmp(w[0], "default") == 0) {
		struct topo_link l = {.p = t->def};
		const char *e = topo_parse_link_opts(w + 1, n - 1, &l, false);
		if (!e)
			t->def = l.p;
		return e;
	}
	if (strcmp(w[0], "mode") == 0) {
		if (n != 2 || (strcmp(w[1], "full") && strcmp(w[1], "links")))
			return "usage: mode full|links";
		*mode = strcmp(w[1], "links") == 0 ? TOPO_MODE_LINKS : TOPO_MODE_FULL;
		return NULL;
	}
	if (strcmp(w[0], "link") == 0 || strcmp(w[0], "link1") == 0) {
		struct topo_link l = {.line = ln};
		const char *e = NULL;
		int i = topo_parse_link_names(w, n, &l, &e);
		if (i < 0)
			return e;
		e = topo_parse_link_opts(w + i, n - i, &l, true);
		if (e)
			return e;
		if (t->n_links >= TOPO_MAX_LINKS)
			return "too many links";
		if (grow((void **)&t->links, t->n_links, sizeof(*t->links)))
			return "out of memory";
		t->links[t->n_links++] = l;
		return NULL;
	}
	return "unknown statement (radio, default, mode, link, link1)";
}

int topo_parse(struct topo *t, const char *text, size_t len, int *err_line, char *err,
               size_t err_cap)
{
	char line[TOPO_LINE_MAX + 1];
	char buf[128];
	int ln = 0, mode = -1;
	size_t off = 0;

	*t = (struct topo){.def = CHAN_LINK_DEFAULT};
	*err_line = 0;
	if (err_cap)
		err[0] = 0;
	while (off < len) {
		const char *msg = NULL;
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;

		ln++;
		if (n > TOPO_LINE_MAX) {
			msg = "line too long";
		} else if (memchr(text + off, 0, n)) {
			msg = "NUL byte in line";
		} else {
			char *w[TOPO_MAX_WORDS];
			memcpy(line, text + off, n);
			line[n] = 0;
			int nw = topo_split(line, w, TOPO_MAX_WORDS);
			if (nw < 0)
				msg = "too many words";
			else if (nw > 0)
				msg = statement(t, w, nw, ln, &mode, buf, sizeof(buf));
		}
		if (msg) {
			*err_line = ln;
			snprintf(err, err_cap, "%s", msg);
			return strcmp(msg, "out of memory") == 0 ? ERR_NOMEM : ERR_CONFIG;
		}
		off += n + (nl ? 1 : 0);
	}
	for (size_t i = 0; i < t->n_links; i++) {
		const struct topo_link *l = &t->links[i];
		const char *missing = !find(t, l->a) ? l->a : !find(t, l->b) ? l->b : NULL;
		if (missing) {
			*err_line = l->line;
			snprintf(err, err_cap, "unknown radio %s (declare it with a radio line)",
			         missing);
			return ERR_CONFIG;
		}
	}
	t->mode = mode >= 0 ? (enum topo_mode)mode : t->n_links ? TOPO_MODE_LINKS : TOPO_MODE_FULL;
	return ERR_OK;
}

void topo_free(struct topo *t)
{
	free(t->radios);
	free(t->links);
	*t = (struct topo){0};
}

bool topo_link_overlay(const struct topo_link *l, struct chan_link *p)
{
	if (l->has_snr)
		p->snr_x4 = l->p.snr_x4;
	if (l->has_rssi)
		p->rssi = l->p.rssi;
	if (l->has_loss)
		p->loss = l->p.loss;
	return l->has_snr || l->has_rssi || l->has_loss;
}

struct chan_link topo_link_params(const struct topo *t, const struct topo_link *l)
{
	struct chan_link p = t->def;
	topo_link_overlay(l, &p);
	return p;
}

int topo_apply(const struct topo *t, struct chan *ch, int *ids)
{
	int rc = ERR_OK;
	int *id = malloc((t->n_radios ? t->n_radios : 1) * sizeof(*id));

	if (!id)
		return ERR_NOMEM;
	for (size_t i = 0; i < t->n_radios; i++) {
		id[i] = chan_radio_add(ch, t->radios[i].name, t->mode == TOPO_MODE_FULL, NULL);
		if (id[i] < 0) {
			rc = id[i];
			goto out;
		}
		if (ids)
			ids[i] = id[i];
		if (t->radios[i].down)
			chan_radio_set_up(ch, id[i], false);
		if (t->radios[i].has_csma)
			chan_radio_set_csma(ch, id[i], t->radios[i].csma);
	}
	/* full mode: the pairs of the file get the file's default (link_all gave
	 * them the channel's, which may differ) */
	for (size_t i = 0; t->mode == TOPO_MODE_FULL && i < t->n_radios; i++)
		for (size_t k = 0; k < t->n_radios; k++)
			if (i != k)
				chan_link_set(ch, id[i], id[k], &t->def);
	for (size_t i = 0; i < t->n_links; i++) {
		const struct topo_link *l = &t->links[i];
		int a = chan_radio_find(ch, l->a), b = chan_radio_find(ch, l->b);
		struct chan_link p = topo_link_params(t, l);
		for (int dir = 0; dir < (l->both ? 2 : 1); dir++) {
			int from = dir ? b : a, to = dir ? a : b;
			rc = chan_link_set(ch, from, to, &p);
			if (rc)
				goto out;
			if (l->down)
				chan_link_set_up(ch, from, to, false);
		}
	}
out:
	free(id);
	return rc;
}
