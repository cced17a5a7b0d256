/*
 * regions.c - the region table and the `region` commands (see regions.h;
 * PROTOCOL.md §6.10 for scopes, §8.5 for the commands and their replies).
 *
 * Saved form (one setting): "w=<0|1> d=<idx> h=<idx>" then one
 * "<name>/<parent idx>/<F|->" token per region, separated by spaces; names
 * cannot contain spaces or '/' (RegionMap::is_name_char).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/region.h"
#include "room/regions.h"
#include "store/store.h"
#include "util/err.h"

void room_regions_init(struct room_regions *t)
{
	memset(t, 0, sizeof(*t));
	t->dflt = ROOM_REGION_NONE;
	t->home = ROOM_REGION_NONE;
}

static bool is_name_char(unsigned char c)
{
	return c == '-' || c == '$' || c == '#' || (c >= '0' && c <= '9') || c >= 'A';
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) >= ROOM_REGION_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!is_name_char((unsigned char)*s))
			return false;
	return true;
}

static const char *skip_hash(const char *s)
{
	return *s == '#' ? s + 1 : s;
}

static int find_exact(const struct room_regions *t, const char *name)
{
	if (strcmp(name, "*") == 0)
		return ROOM_REGION_WILDCARD;
	name = skip_hash(name);
	for (int i = 0; i < t->n; i++)
		if (strcmp(name, skip_hash(t->r[i].name)) == 0)
			return i;
	return ROOM_REGION_NONE;
}

int room_regions_find_prefix(const struct room_regions *t, const char *name)
{
	int partial = ROOM_REGION_NONE;
	if (strcmp(name, "*") == 0)
		return ROOM_REGION_WILDCARD;
	name = skip_hash(name);
	size_t len = strlen(name);
	for (int i = 0; i < t->n; i++) {
		const char *rn = skip_hash(t->r[i].name);
		if (strcmp(name, rn) == 0)
			return i;
		if (strncmp(name, rn, len) == 0)
			partial = i;
	}
	return partial;
}

int room_regions_encode(const struct room_regions *t, char *out, size_t cap)
{
	int n = snprintf(out, cap, "w=%d d=%d h=%d", t->wildcard_deny, t->dflt, t->home);
	size_t off = n < 0 ? cap : (size_t)n;
	for (int i = 0; i < t->n && off < cap; i++) {
		n = snprintf(out + off, cap - off, " %s/%d/%c", t->r[i].name, t->r[i].parent,
		             t->r[i].flood ? 'F' : '-');
		off += n < 0 ? cap : (size_t)n;
	}
	return off < cap ? ERR_OK : ERR_TOO_BIG;
}

static bool valid_index(int i, int n, bool allow_none)
{
	return (i >= 0 && i < n) || i == ROOM_REGION_WILDCARD ||
	       (allow_none && i == ROOM_REGION_NONE);
}

int room_regions_decode(struct room_regions *t, const char *value)
{
	struct room_regions nt;
	int w, d, h, used;

	room_regions_init(&nt);
	if (sscanf(value, "w=%d d=%d h=%d%n", &w, &d, &h, &used) != 3)
		return ERR_FORMAT;
	nt.wildcard_deny = w != 0;
	const char *s = value + used;
	while (*s == ' ')
		s++;
	while (*s) {
		const char *end = strchr(s, ' ');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char tok[64], *slash1, *slash2, *e;
		if (len >= sizeof(tok) || nt.n >= ROOM_REGIONS_MAX)
			return ERR_FORMAT;
		memcpy(tok, s, len);
		tok[len] = 0;
		slash1 = strchr(tok, '/');
		slash2 = slash1 ? strchr(slash1 + 1, '/') : NULL;
		if (!slash2)
			return ERR_FORMAT;
		*slash1 = *slash2 = 0;
		if (!valid_name(tok))
			return ERR_FORMAT;
		long parent = strtol(slash1 + 1, &e, 10);
		if (e == slash1 + 1 || *e || parent < -1 || parent >= ROOM_REGIONS_MAX)
			return ERR_FORMAT;
		struct room_region *rg = &nt.r[nt.n++];
		memcpy(rg->name, tok, strlen(tok) + 1); /* valid_name: it fits */
		rg->parent = (int)parent;
		rg->flood = slash2[1] == 'F';
		s += len;
		while (*s == ' ')
			s++;
	}
	for (int i = 0; i < nt.n; i++)
		if (!valid_index(nt.r[i].parent, nt.n, false) || nt.r[i].parent == i)
			return ERR_FORMAT;
	if (!valid_index(d, nt.n, true) || !valid_index(h, nt.n, true))
		return ERR_FORMAT;
	nt.dflt = d;
	nt.home = h;
	*t = nt;
	return ERR_OK;
}

int room_save_regions(struct room *r)
{
	char v[STORE_SETTING_VALUE_MAX];
	int rc = room_regions_encode(&r->regions, v, sizeof(v));
	if (!rc)
		rc = store_setting_set(r->store, r->store_id, "regions", v);
	if (rc)
		r->stats.store_errors++;
	return rc;
}

/* ---- scopes (§6.10) ---- */

static bool key_of(const struct room_region *rg, uint8_t key[16])
{
	return region_key(rg->name, strlen(rg->name), key) == ERR_OK;
}

const uint8_t *room_default_scope(struct room *r, uint8_t key[16])
{
	const struct room_regions *t = &r->regions;
	if (t->dflt < 0 || t->dflt >= t->n)
		return NULL;
	return key_of(&t->r[t->dflt], key) ? key : NULL;
}

const uint8_t *room_reply_scope(struct room *r, const struct pkt *req, uint8_t key[16])
{
	const struct room_regions *t = &r->regions;
	if (pkt_route(req) == PKT_ROUTE_TRANSPORT_FLOOD) {
		/* the first flood-allowing region whose code matches the request's */
		for (int i = 0; i < t->n; i++) {
			if (!t->r[i].flood || !key_of(&t->r[i], key))
				continue;
			if (region_transport_code(key, (uint8_t)pkt_type(req), req->payload,
			                          req->payload_len) == req->transport[0])
				return key;
		}
	} else if (pkt_route(req) == PKT_ROUTE_FLOOD && !t->wildcard_deny) {
		return NULL; /* an unscoped flood the wildcard accepted: unscoped reply */
	}
	return room_default_scope(r, key);
}

/* ---- commands (§8.5) ---- */

static const char *name_of(const struct room_regions *t, int i)
{
	return i >= 0 && i < t->n ? t->r[i].name : "*";
}

static bool allows_flood(const struct room_regions *t, int i)
{
	return i >= 0 ? t->r[i].flood : !t->wildcard_deny;
}

static void tree(const struct room_regions *t, int node, int depth, char *out, size_t cap,
                 size_t *off)
{
	if (depth > ROOM_REGIONS_MAX)
		return;
	int n = snprintf(out + *off, cap - *off, "%*s%s%s%s\n", depth, "",
	                 node >= 0 ? skip_hash(t->r[node].name) : "*", node == t->home ? "^" : "",
	                 allows_flood(t, node) ? " F" : "");
	*off += n < 0 ? 0 : (size_t)n;
	if (*off >= cap) {
		*off = cap - 1;
		return;
	}
	for (int i = 0; i < t->n; i++)
		if (t->r[i].parent == node)
			tree(t, i, depth + 1, out, cap, off);
}

static void export_tree(const struct room_regions *t, char *out, size_t cap)
{
	size_t off = 0;
	out[0] = 0;
	if (cap > 160)
		cap = 160; /* the firmware's tree is at most 159 characters */
	tree(t, ROOM_REGION_WILDCARD, 0, out, cap, &off);
}

/* Adds (or re-parents) a region; its index, or ROOM_REGION_NONE if it cannot. */
static int put(struct room_regions *t, const char *name, int parent)
{
	if (!valid_name(name))
		return ROOM_REGION_NONE;
	int i = find_exact(t, name);
	if (i == ROOM_REGION_WILDCARD || (i >= 0 && i == parent))
		return ROOM_REGION_NONE;
	if (i >= 0) {
		/* no cycles: the new parent may not sit below the region */
		for (int p = parent, hops = 0; p >= 0 && hops <= ROOM_REGIONS_MAX;
		     p = t->r[p].parent, hops++)
			if (p == i)
				return ROOM_REGION_NONE;
		t->r[i].parent = parent;
		return i;
	}
	if (t->n >= ROOM_REGIONS_MAX)
		return ROOM_REGION_NONE;
	i = t->n++;
	memset(&t->r[i], 0, sizeof(t->r[i]));
	snprintf(t->r[i].name, sizeof(t->r[i].name), "%s", name);
	t->r[i].parent = parent;
	return i;
}

static int remove_at(struct room_regions *t, int i)
{
	for (int k = 0; k < t->n; k++)
		if (t->r[k].parent == i)
			return ERR_INVAL;
	memmove(&t->r[i], &t->r[i + 1], (size_t)(t->n - i - 1) * sizeof(t->r[0]));
	t->n--;
	for (int k = 0; k < t->n; k++)
		if (t->r[k].parent > i)
			t->r[k].parent--;
	if (t->dflt == i)
		t->dflt = ROOM_REGION_NONE;
	else if (t->dflt > i)
		t->dflt--;
	if (t->home == i)
		t->home = ROOM_REGION_NONE;
	else if (t->home > i)
		t->home--;
	return ERR_OK;
}

static void list_names(const struct room_regions *t, bool allowed, char *out, size_t cap)
{
	size_t off = 0;
	out[0] = 0;
	if (cap > 160)
		cap = 160;
	if (allows_flood(t, ROOM_REGION_WILDCARD) == allowed)
		off += (size_t)snprintf(out, cap, "*,");
	for (int i = 0; i < t->n; i++) {
		const char *nm = skip_hash(t->r[i].name);
		if (t->r[i].flood != allowed || off + strlen(nm) + 2 >= cap)
			continue;
		off += (size_t)snprintf(out + off, cap - off, "%s,", nm);
	}
	if (off)
		out[off - 1] = 0;
	else
		snprintf(out, cap, "-none-");
}

#define REPLY(...) snprintf(reply, cap, __VA_ARGS__)

/*
 * `region def TOKEN...` (CommonCLI's processRegionDefSegment): the cursor starts
 * at the wildcard; a token NAME creates (or re-parents) NAME under the cursor
 * and moves the cursor to it; NAME|JUMP or NAME,JUMP creates NAME, then moves
 * the cursor to the existing JUMP (found by prefix).  Regions so made allow
 * flood.  Stops at the first bad token, keeping what the tokens before it did,
 * as the firmware does.
 */
static void region_def(struct room_regions *t, char *defs, char *reply, size_t cap)
{
	int cursor = ROOM_REGION_WILDCARD;
	char *save = NULL;

	if (!defs[strspn(defs, " ")]) {
		REPLY("Err - empty def");
		return;
	}
	for (char *tok = strtok_r(defs, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *jump = NULL;
		size_t cut = strcspn(tok, "|,");
		if (tok[cut]) {
			tok[cut] = 0;
			jump = tok + cut + 1;
		}
		if (!*tok) {
			REPLY("Err - empty name");
			return;
		}
		if (jump && !*jump) {
			REPLY("Err - empty jump");
			return;
		}
		int i = put(t, tok, cursor);
		if (i == ROOM_REGION_NONE) {
			REPLY("Err - put failed: %s", tok);
			return;
		}
		t->r[i].flood = true;
		cursor = i;
		if (jump) {
			cursor = room_regions_find_prefix(t, jump);
			if (cursor == ROOM_REGION_NONE) {
				REPLY("Err - unknown jump: %s", jump);
				return;
			}
		}
	}
	export_tree(t, reply, cap);
}

/* One `region` subcommand: parts[0] is "region", parts[1] its name, n parts. */
struct region_sub {
	const char *name;
	int min_parts; /* fewer: "Err - ??" */
	void (*fn)(struct room *r, char **parts, int n, char *reply, size_t cap);
};

static void sub_load(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	(void)parts, (void)n, (void)reply, (void)cap;
	room_regions_init(&r->region_load);
	r->region_loading = true;
}

static void sub_save(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	(void)parts, (void)n;
	REPLY(room_save_regions(r) == ERR_OK ? "OK" : "Err - save failed");
}

/* allowf / denyf NAME */
static void sub_flood(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	struct room_regions *t = &r->regions;
	int i = room_regions_find_prefix(t, parts[2]);
	(void)n;
	if (i == ROOM_REGION_NONE) {
		REPLY("Err - unknown region");
		return;
	}
	bool allow = parts[1][0] == 'a';
	if (i == ROOM_REGION_WILDCARD)
		t->wildcard_deny = !allow;
	else
		t->r[i].flood = allow;
	REPLY("OK");
}

static void sub_get(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	const struct room_regions *t = &r->regions;
	int i = room_regions_find_prefix(t, parts[2]);
	(void)n;
	if (i == ROOM_REGION_NONE)
		REPLY("Err - unknown region");
	else if (i >= 0 && t->r[i].parent >= 0)
		REPLY(" %s (%s) %s", t->r[i].name, name_of(t, t->r[i].parent),
		      allows_flood(t, i) ? "F" : "");
	else
		REPLY(" %s %s", name_of(t, i), allows_flood(t, i) ? "F" : "");
}

static void sub_home(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	struct room_regions *t = &r->regions;
	if (n == 2) {
		REPLY(" home is %s", name_of(t, t->home));
		return;
	}
	int i = room_regions_find_prefix(t, parts[2]);
	if (i == ROOM_REGION_NONE) {
		REPLY("Err - unknown region");
		return;
	}
	t->home = i;
	REPLY(" home is now %s", name_of(t, i));
}

static void sub_default(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	struct room_regions *t = &r->regions;
	if (n == 2) {
		REPLY(" default scope is %s", t->dflt >= 0 ? t->r[t->dflt].name : "<null>");
		return;
	}
	if (strcmp(parts[2], "<null>") == 0) {
		t->dflt = ROOM_REGION_NONE;
		room_save_regions(r);
		REPLY(" default scope is now <null>");
		return;
	}
	int i = room_regions_find_prefix(t, parts[2]);
	if (i == ROOM_REGION_NONE)
		i = put(t, parts[2], ROOM_REGION_WILDCARD);
	if (i == ROOM_REGION_NONE) {
		REPLY("Err - region table full");
		return;
	}
	/* the wildcard has no key: a default of '*' means unscoped */
	if (i >= 0)
		t->r[i].flood = true;
	else
		t->wildcard_deny = false;
	t->dflt = i >= 0 ? i : ROOM_REGION_NONE;
	room_save_regions(r);
	REPLY(" default scope is now %s", name_of(t, i));
}

/* put NAME [PARENT] */
static void sub_put(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	struct room_regions *t = &r->regions;
	int parent = n >= 4 ? room_regions_find_prefix(t, parts[3]) : ROOM_REGION_WILDCARD;
	if (parent == ROOM_REGION_NONE) {
		REPLY("Err - unknown parent");
		return;
	}
	int i = put(t, parts[2], parent);
	if (i == ROOM_REGION_NONE) {
		REPLY("Err - unable to put");
		return;
	}
	t->r[i].flood = true;
	REPLY("OK - (flood allowed)");
}

static void sub_remove(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	struct room_regions *t = &r->regions;
	int i = find_exact(t, parts[2]);
	(void)n;
	if (i == ROOM_REGION_NONE)
		REPLY("Err - not found");
	else if (i == ROOM_REGION_WILDCARD || remove_at(t, i) != ERR_OK)
		REPLY("Err - not empty");
	else
		REPLY("OK");
}

static void sub_list(struct room *r, char **parts, int n, char *reply, size_t cap)
{
	(void)n;
	if (strcmp(parts[2], "allowed") == 0)
		list_names(&r->regions, true, reply, cap);
	else if (strcmp(parts[2], "denied") == 0)
		list_names(&r->regions, false, reply, cap);
	else
		REPLY("Err - use 'allowed' or 'denied'");
}

static const struct region_sub region_subs[] = {
    {"load", 2, sub_load},       {"save", 2, sub_save}, {"allowf", 3, sub_flood},
    {"denyf", 3, sub_flood},     {"get", 3, sub_get},   {"home", 2, sub_home},
    {"default", 2, sub_default}, {"put", 3, sub_put},   {"remove", 3, sub_remove},
    {"list", 3, sub_list},
};

void room_region_cmd(struct room *r, const char *line, char *reply, size_t cap)
{
	char buf[200], *parts[4];
	int n = 0;

	reply[0] = 0;
	snprintf(buf, sizeof(buf), "%s", line);
	{
		/* `region def` takes the rest of the line as tokens */
		char *s = buf + strspn(buf, " ");
		if (strncmp(s, "region def", 10) == 0 && (s[10] == ' ' || !s[10])) {
			region_def(&r->regions, s + 10, reply, cap);
			return;
		}
	}
	for (char *s = buf; n < 4 && *s;) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		parts[n++] = s;
		s += strcspn(s, " ");
		if (*s)
			*s++ = 0;
	}
	if (n == 1) {
		export_tree(&r->regions, reply, cap);
		return;
	}
	for (size_t k = 0; n >= 2 && k < sizeof(region_subs) / sizeof(region_subs[0]); k++) {
		if (strcmp(parts[1], region_subs[k].name) == 0 && n >= region_subs[k].min_parts) {
			region_subs[k].fn(r, parts, n, reply, cap);
			return;
		}
	}
	REPLY("Err - ??");
}

void room_region_load_line(struct room *r, const char *line, char *reply, size_t cap)
{
	struct room_regions *t = &r->region_load;
	static const int max_depth = 7;
	int depth = 0;
	char name[ROOM_REGION_NAME_MAX + 1];

	reply[0] = 0;
	while (line[depth] == ' ')
		depth++;
	if (!line[depth]) {
		/* the end: the loaded table replaces the current one */
		int loaded = t->n;
		r->regions = *t;
		r->region_loading = false;
		REPLY("OK - loaded %d regions", loaded);
		return;
	}
	if (depth < 1 || depth > max_depth)
		return;
	size_t len = strcspn(line + depth, " ");
	if (len >= sizeof(name))
		return;
	memcpy(name, line + depth, len);
	name[len] = 0;
	/* the parent is the region read last one level up */
	int parent = ROOM_REGION_WILDCARD;
	if (depth > 1) {
		parent = ROOM_REGION_NONE;
		for (int i = t->n - 1; i >= 0; i--) {
			int d = 1;
			for (int p = t->r[i].parent; p >= 0 && d <= max_depth; p = t->r[p].parent)
				d++;
			if (d == depth - 1) {
				parent = i;
				break;
			}
		}
		if (parent == ROOM_REGION_NONE)
			return;
	}
	int known = find_exact(&r->regions, name);
	int i = put(t, name, parent);
	if (i < 0)
		return;
	if (known >= 0)
		t->r[i].flood = r->regions.r[known].flood;
	else
		t->r[i].flood = strchr(line + depth + len, 'F') != NULL;
}
