/*
 * log.c: key=value lines on stderr, and the access log (see log.h for the
 * format and rules).
 */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Atomic enum log_level log_threshold = LOG_INFO;

/* The access log's descriptor, -1: off. Loop thread only (log.h). */
static int access_fd = -1;
static bool access_is_stdout;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i <= LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

/* Formats "ts=... " + prefix + fmt into line and writes it to fd with one write(2). */
static void write_line(int fd, const char *prefix, const char *fmt, va_list ap)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, prefix);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) {
        len = sizeof line - 2; /* truncated */
    }
    for (size_t i = (size_t)n; i < len; i++) {
        if ((unsigned char)line[i] < 0x20) {
            line[i] = ' ';
        }
    }
    line[len++] = '\n';
    ssize_t w = write(fd, line, len);
    (void)w; /* nowhere to report a failed log write */
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "level=%s ", level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    write_line(STDERR_FILENO, prefix, fmt, ap);
    va_end(ap);
}

int log_access_open(const char *path)
{
    int fd = -1;
    if (path && strcmp(path, "-") == 0) {
        fd = STDOUT_FILENO;
    } else if (path) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            return -1;
        }
    }
    if (access_fd >= 0 && !access_is_stdout) {
        close(access_fd);
    }
    access_fd = fd;
    access_is_stdout = fd == STDOUT_FILENO;
    return 0;
}

bool log_access_on(void)
{
    return access_fd >= 0;
}

void log_access(const char *fmt, ...)
{
    if (access_fd < 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    write_line(access_fd, "", fmt, ap);
    va_end(ap);
}

char *log_quote(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        size_t need = s[i] == '"' || s[i] == '\\' ? 2 : 1;
        if (o + need > cap - 5) { /* room for ...", NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 2) {
            out[o++] = '\\';
        }
        out[o++] = s[i];
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
