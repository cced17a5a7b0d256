/*
 * golden.h - helpers shared by the tests that read the upstream vectors
 * (/work/shared/vectors/meshcore-v1.17.1.json, PROTOCOL.md §12): loading,
 * hex, dotted-path lookups, the scripted RNG of the vector generator, and a
 * walk over every raw frame in the file.  Header-only: each test program is
 * one translation unit.
 */
#ifndef ROOMD_TESTS_GOLDEN_H
#define ROOMD_TESTS_GOLDEN_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/hex.h"
#include "util/rng.h"

#define GOLDEN_DEFAULT_PATH "../shared/vectors/meshcore-v1.17.1.json"

/* The vectors, from $ROOMD_VECTORS or the default path (tests run from the repo root). */
static inline json_t *golden_load(void)
{
	const char *path = getenv("ROOMD_VECTORS");
	json_error_t e;
	json_t *root;

	if (!path || !*path)
		path = GOLDEN_DEFAULT_PATH;
	root = json_load_file(path, 0, &e);
	if (!root)
		fprintf(stderr, "%s:%d: cannot load vectors: %s\n", path, e.line, e.text);
	CHECK(root != NULL);
	return root;
}

/* Looks up a dotted path ("a.b.0.c": numbers index arrays); NULL if absent. */
static inline json_t *jget(json_t *o, const char *dotted)
{
	char key[64];
	const char *p = dotted;

	while (o && *p) {
		size_t n = strcspn(p, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		p += n + (p[n] == '.');
		if (json_is_array(o))
			o = json_array_get(o, strtoul(key, NULL, 10));
		else
			o = json_object_get(o, key);
	}
	if (!o)
		fprintf(stderr, "vectors: no %s\n", dotted);
	return o;
}

static inline const char *jstr(json_t *o, const char *dotted)
{
	const char *s = json_string_value(jget(o, dotted));
	return s ? s : "";
}

static inline long long jint(json_t *o, const char *dotted)
{
	return json_integer_value(jget(o, dotted));
}

/* Decodes hex into out; returns the length (0 and a failed check on bad hex). */
static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	int n = hex_decode(out, cap, s, strlen(s));
	CHECK(n >= 0);
	return n < 0 ? 0 : (size_t)n;
}

static inline size_t junhex(json_t *o, const char *dotted, uint8_t *out, size_t cap)
{
	return unhex(jstr(o, dotted), out, cap);
}

/* One check: p[0..n) must equal the hex string want. */
static inline void check_hex_at(const char *file, int line, const char *what, const uint8_t *p,
                                size_t n, const char *want)
{
	char got[2 * 512 + 1];

	if (n > 512 || hex_encode(got, sizeof(got), p, n) != 0) {
		harness_fail++;
		fprintf(stderr, "%s:%d: %s: %zu bytes, too long to compare\n", file, line, what, n);
		return;
	}
	if (strcmp(got, want) == 0) {
		harness_pass++;
	} else {
		harness_fail++;
		fprintf(stderr, "%s:%d: %s:\n  got  %s\n  want %s\n", file, line, what, got, want);
	}
}
#define CHECK_HEX(what, p, n, want) check_hex_at(__FILE__, __LINE__, what, p, n, want)

/* The generator's RNG: every call writes a0 a1 a2 ... from the start. */
static inline void golden_rng_fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(0xA0 + i);
}
static inline const struct rng *golden_rng(void)
{
	static const struct rng r = {golden_rng_fill, NULL};
	return &r;
}

typedef void (*golden_frame_cb)(const char *where, const uint8_t *raw, size_t len, void *ctx);

static inline void golden_walk(json_t *o, char *where, size_t cap, golden_frame_cb cb, void *ctx)
{
	size_t base = strlen(where);

	if (json_is_object(o)) {
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v)
		{
			snprintf(where + base, cap - base, ".%s", k);
			if (strcmp(k, "raw") == 0 && json_is_string(v)) {
				uint8_t raw[512];
				size_t n = unhex(json_string_value(v), raw, sizeof(raw));
				cb(where, raw, n, ctx);
			} else {
				golden_walk(v, where, cap, cb, ctx);
			}
		}
	} else if (json_is_array(o)) {
		for (size_t i = 0; i < json_array_size(o); i++) {
			snprintf(where + base, cap - base, ".%zu", i);
			golden_walk(json_array_get(o, i), where, cap, cb, ctx);
		}
	}
	where[base] = '\0';
}

/* Calls cb for every "raw" frame in the file (packet objects, hashes, air log). */
static inline void golden_frames(json_t *root, golden_frame_cb cb, void *ctx)
{
	char where[256] = "";

	golden_walk(root, where, sizeof(where), cb, ctx);
}

#endif
