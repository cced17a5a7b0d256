/* log.c - see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "util/hex.h"
#include "util/log.h"

static enum log_level level = LOG_INFO;
static const char *prefix = "";
static int timestamps;

void log_set_level(enum log_level lvl)
{
	level = lvl;
}
enum log_level log_get_level(void)
{
	return level;
}
void log_set_prefix(const char *p)
{
	prefix = p ? p : "";
}
void log_set_timestamps(int on)
{
	timestamps = on;
}

static const char *names[] = {"error", "warn", "info", "debug", "trace"};

void log_msg(enum log_level lvl, const char *subsys, const char *fmt, ...)
{
	if (lvl > level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	char ts[32] = "";
	if (timestamps) {
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	fprintf(stderr, "%s%s%s%s %s: %s\n", ts, prefix, *prefix ? ": " : "", names[lvl], subsys,
	        line);
}

void log_hex(const char *subsys, const char *what, const uint8_t *p, size_t n)
{
	if (level < LOG_TRACE)
		return;
	char hex[2 * 256 + 1];
	if (n > 256)
		n = 256;
	hex_encode(hex, sizeof(hex), p, n);
	log_msg(LOG_TRACE, subsys, "%s %s", what, hex);
}
