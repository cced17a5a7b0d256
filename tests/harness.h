/*
 * harness.h - the small test harness of roomd.
 *
 * Each test program includes this once, calls CHECK* as often as it likes
 * and ends main() with `return harness_done("name");`, which prints
 * "name: N passed, N failed" and returns the exit code.  tests/run sums the
 * lines into the closing "N passed, N failed" of the whole run.
 */
#ifndef ROOMD_TESTS_HARNESS_H
#define ROOMD_TESTS_HARNESS_H

#include <stdio.h>
#include <string.h>

static unsigned harness_pass, harness_fail;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			harness_pass++;                                                            \
		} else {                                                                           \
			harness_fail++;                                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long va_ = (long long)(a), vb_ = (long long)(b);                              \
		if (va_ == vb_) {                                                                  \
			harness_pass++;                                                            \
		} else {                                                                           \
			harness_fail++;                                                            \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",        \
			        __FILE__, __LINE__, #a, va_, #b, vb_);                             \
		}                                                                                  \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                         \
	do {                                                                                       \
		if (memcmp((a), (b), (n)) == 0) {                                                  \
			harness_pass++;                                                            \
		} else {                                                                           \
			harness_fail++;                                                            \
			fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s (%zu bytes)\n",         \
			        __FILE__, __LINE__, #a, #b, (size_t)(n));                          \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *sa_ = (a), *sb_ = (b);                                                 \
		if (sa_ && sb_ && strcmp(sa_, sb_) == 0) {                                         \
			harness_pass++;                                                            \
		} else {                                                                           \
			harness_fail++;                                                            \
			fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" vs \"%s\"\n", __FILE__,   \
			        __LINE__, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");             \
		}                                                                                  \
	} while (0)

static inline int harness_done(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, harness_pass, harness_fail);
	return harness_fail ? 1 : (harness_pass ? 0 : 1);
}

#endif
