/*
 * log.h - logging to standard error.
 *
 * One line per message: "LEVEL subsystem: text".  The level threshold is
 * global and the only filter: at LOG_TRACE, log_hex dumps frames of every
 * subsystem alike (there is no per-subsystem mask).  Pure core
 * modules may log (it is not I/O they depend on), but never on a hot path
 * below LOG_DEBUG.
 */
#ifndef ROOMD_UTIL_LOG_H
#define ROOMD_UTIL_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_NONE = -1, LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* A prefix added to every line, e.g. the program name; not copied. */
void log_set_prefix(const char *prefix);
/* With on, every line starts with the UTC time ("2026-12-07T07:35:47Z "):
 * for logs that go to a file or a terminal; the journal stamps its own. */
void log_set_timestamps(int on);

void log_msg(enum log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hex dump of a frame at LOG_TRACE. */
void log_hex(const char *subsys, const char *what, const uint8_t *p, size_t n);

#define log_err(sub, ...)   log_msg(LOG_ERR, sub, __VA_ARGS__)
#define log_warn(sub, ...)  log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...)  log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) log_msg(LOG_DEBUG, sub, __VA_ARGS__)

#endif
