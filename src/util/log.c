/* log.c - see log.h. */
#include <stdarg.h>
#include <stdio.h>

#include "util/hex.h"
#include "util/log.h"

static enum log_level level = LOG_INFO;
static const char *prefix = "";

void log_set_level(enum log_level lvl) { level = lvl; }
enum log_level log_get_level(void) { return level; }
void log_set_prefix(const char *p) { prefix = p ? p : ""; }

static const char *names[] = { "error", "warn", "info", "debug", "trace" };

void log_msg(enum log_level lvl, const char *subsys, const char *fmt, ...)
{
	if (lvl > level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s%s %s: %s\n", prefix, *prefix ? ": " : "", names[lvl], subsys, line);
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
