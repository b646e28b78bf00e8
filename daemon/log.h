/*
 * log.h: the daemon's log (prefix log_). Only daemon/ writes logs.
 *
 * One event is one line on stderr of space-separated key=value pairs, after a
 * timestamp and the level:
 *   ts=2026-11-01T12:00:00.123Z level=info event=listen proto=http addr=127.0.0.1:7700
 * The macros test the level before any formatting (like Redis's serverLog),
 * so a disabled log_debug costs one comparison. A line is written with one
 * write(2), so lines from different threads never interleave; control
 * characters in a line are replaced by spaces, so a value can never forge a
 * line. Values that may hold spaces are quoted by the caller (msg="...";
 * log_quote for text from outside). Document text is never logged at info
 * level.
 *
 * The access log is a second sink with the same line format and no level:
 * one line per request answered (srv.c), to a file opened with O_APPEND (or
 * standard output), off by default. log_access_open opens it again by name,
 * which is what logrotate's SIGHUP asks for.
 */
#ifndef SEARCHD_LOG_H
#define SEARCHD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
    LOG_ERROR = 0,
    LOG_WARN = 1,
    LOG_INFO = 2,
    LOG_DEBUG = 3,
};

/* The level logged; set at start and on a SIGHUP reload (loop thread) while other threads
 * read it, hence atomic (relaxed: a line more or less around the change does not matter). */
extern _Atomic enum log_level log_threshold;

/* "error", "warn", "info", "debug" -> level; false for anything else. */
bool log_level_parse(const char *name, enum log_level *out);
/* The inverse: "error" ... "debug" (static). */
const char *log_level_name(enum log_level level);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= log_threshold) {                                                            \
            log_write((level), __VA_ARGS__);                                                       \
        }                                                                                          \
    } while (0)

/* Opens the access log: path "-" is standard output, NULL turns it off, anything else a file
 * created 0640 if missing and appended to. The old one is closed after the new one opens;
 * on failure (errno set, -1) the old one stays. Path borrowed for the call. Loop thread only
 * (start-up and SIGHUP), like log_access. */
int log_access_open(const char *path);
bool log_access_on(void);
/* One access-log line: the timestamp, then fmt's key=value pairs; one write(2). */
void log_access(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* s[0, len) (borrowed) as a quoted value into out (cap bytes, at least 8): "..." with '"' and
 * '\\' escaped, cut with ... when it does not fit. Returns out. */
char *log_quote(char *out, size_t cap, const char *s, size_t len);

#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif
