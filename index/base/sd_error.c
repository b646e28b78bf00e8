/*
 * sd_error.c: status names and formatted error messages.
 *
 * Errors travel as a status code returned by every fallible function plus a
 * message in a caller-owned struct sd_error, so no error state is global and
 * a message can name the file, offset or request that failed.
 */
#include "sd_base.h"

#include <stdio.h>

static void sd_vformat(struct sd_error *err, int code, const char *suffix, const char *fmt,
                       va_list ap)
{
    if (!err) {
        return;
    }
    err->code = code;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (suffix && n >= 0 && (size_t)n < sizeof err->msg) {
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, "%s", suffix);
    }
}

int sd_errorf(struct sd_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sd_vformat(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int sd_corruptf(struct sd_error *err, const char *file, int line, const char *fmt, ...)
{
    char where[96];
    const char *base = strrchr(file, '/');
    snprintf(where, sizeof where, " [%s:%d]", base ? base + 1 : file, line);
    va_list ap;
    va_start(ap, fmt);
    sd_vformat(err, SD_ECORRUPT, where, fmt, ap);
    va_end(ap);
    return SD_ECORRUPT;
}

const char *sd_status_name(int code)
{
    switch (code) {
    case SD_OK:
        return "ok";
    case SD_ENOMEM:
        return "out_of_memory";
    case SD_EIO:
        return "io_error";
    case SD_ECORRUPT:
        return "corrupt";
    case SD_EPARSE:
        return "parse_error";
    case SD_ELIMIT:
        return "limit_exceeded";
    case SD_ENOTFOUND:
        return "not_found";
    case SD_EINVAL:
        return "invalid";
    case SD_ENOSPC:
        return "disk_full";
    case SD_EBUSY:
        return "busy";
    case SD_EDEGRADED:
        return "degraded";
    case SD_EFIELD:
        return "unknown_field";
    case SD_EEXIST:
        return "exists";
    case SD_EUNAVAIL:
        return "unavailable";
    default:
        return "internal";
    }
}
