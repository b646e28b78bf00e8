/*
 * event.c: the engine's events, formatted once and handed to the log
 * callback the daemon installs (struct idx_config.log). index/ never writes a
 * log itself (STYLE.md 2.7): without a callback, an event costs one test.
 */
#include <stdarg.h>
#include <stdio.h>

#include "engine_int.h"

void idx_event(const struct idx_db *db, enum idx_log_level level, const char *fmt, ...)
{
    if (!db->cfg.log) {
        return;
    }
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    db->cfg.log(db->cfg.log_arg, level, line); /* a longer line arrives truncated */
}
