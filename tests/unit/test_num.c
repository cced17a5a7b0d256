/*
 * test_num.c - strict number parsing (src/util/num.c): ranges, signs,
 * trailing garbage, overflow.
 */
#include <limits.h>

#include "harness.h"
#include "util/num.h"

int main(void)
{
	double d = -1;
	long l = -1;
	unsigned long long u = 7;

	/* the one skip_blanks and u64_min (issue 15: two copies of each, one
	 * skipping spaces only) */
	const char *line = " \t \tpost hi";
	CHECK_STR(skip_blanks(line), "post hi");
	CHECK_STR(skip_blanks(""), "");
	CHECK_EQ(u64_min(3, UINT64_MAX), 3);
	CHECK_EQ(u64_min(UINT64_MAX, 0), 0);

	CHECK(num_double("869.618", 100, 1000, &d));
	CHECK(d > 869.6179 && d < 869.6181);
	CHECK(num_double("-33.5", -90, 90, &d) && d == -33.5);
	CHECK(num_double("1e2", 0, 100, &d) && d == 100);
	CHECK(!num_double("100.0001", 0, 100, &d));
	CHECK(!num_double("", 0, 100, &d));
	CHECK(!num_double("12x", 0, 100, &d));
	CHECK(!num_double("nan", -1e300, 1e300, &d));
	CHECK(!num_double("1e999", -1e300, 1e300, &d));
	CHECK(!num_double(NULL, 0, 1, &d));
	CHECK(d == 100); /* untouched by failures */

	CHECK(num_long("-5", -10, 10, &l) && l == -5);
	CHECK(num_long("+7", -10, 10, &l) && l == 7);
	CHECK(!num_long("11", -10, 10, &l));
	CHECK(!num_long("5 ", -10, 10, &l));
	CHECK(!num_long("", -10, 10, &l));
	CHECK(!num_long("99999999999999999999999", LONG_MIN, LONG_MAX, &l));
	CHECK_EQ(l, 7);

	CHECK(num_ulong("65535", 65535, &u) && u == 65535);
	CHECK(num_ulong("0", 10, &u) && u == 0);
	CHECK(!num_ulong("65536", 65535, &u));
	CHECK(!num_ulong("-1", ULLONG_MAX, &u));
	CHECK(!num_ulong("+1", 10, &u));
	CHECK(!num_ulong(" 1", 10, &u));
	CHECK(!num_ulong("18446744073709551616", ULLONG_MAX, &u));
	CHECK_EQ(u, 0);
	return harness_done("test_num");
}
