/*
 * fuzz_jsonl.c - libFuzzer target for roomc's JSON-lines reader (the data
 * directory's files are hostile input) and the UTF-8 cleaner: every parsed
 * string is NUL-free and ends where it says, every getter stays in bounds,
 * and a line written back from the parsed fields parses again.
 */
#include <stdlib.h>
#include <string.h>

#include "client/jsonl.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[4096], clean[4096 * 3 + 4], out[16384];
	struct jsonl_field f[24];
	struct jsonl_w w;
	int n;

	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = 0;

	size_t cl = jsonl_clean_utf8(clean, sizeof(clean), (const char *)data, size, true);
	must(cl < sizeof(clean) && strlen(clean) == cl);

	if (jsonl_parse(line, f, 24, &n) != ERR_OK)
		return 0;
	must(n >= 0 && n <= 24);
	jsonl_w_begin(&w, out, sizeof(out));
	for (int i = 0; i < n; i++) {
		uint32_t u;
		int32_t s;
		bool b;
		uint8_t key[32];
		must(f[i].key != NULL);
		jsonl_get_u32(f, n, f[i].key, &u);
		jsonl_get_i32(f, n, f[i].key, &s);
		jsonl_get_bool(f, n, f[i].key, &b);
		jsonl_get_hex(f, n, f[i].key, key, sizeof(key));
		if (f[i].type == JSONL_STR) {
			must(strlen(f[i].str) == f[i].str_len);
			jsonl_w_str(&w, f[i].key, f[i].str, f[i].str_len);
		} else if (f[i].type == JSONL_NUM) {
			jsonl_w_num(&w, f[i].key, f[i].num);
		} else if (f[i].type == JSONL_BOOL) {
			jsonl_w_bool(&w, f[i].key, f[i].b);
		} else {
			jsonl_w_null(&w, f[i].key);
		}
	}
	if (jsonl_w_end(&w) == ERR_OK) {
		int n2;
		must(jsonl_parse(out, f, 24, &n2) == ERR_OK && n2 == n);
	}
	return 0;
}
