/*
 * sd_error.c: status names and formatted error messages.
 *
 * Errors travel as a status code returned by every fallible function plus a
 * message in a caller-owned struct sd_error, so no error state is global and
 * a message can name the file, offset or request that failed.
 *
 * Messages reach clients inside JSON, so they stay valid UTF-8: a quoted name
 * is cut with sd_utf8_cut, and a message longer than struct sd_error holds is
 * cut on a character boundary too (vsnprintf cuts at a byte).
 */
#include <stdio.h>

#include "sd_base.h"
#include "stem.h"

static void sd_vformat(struct sd_error *err, int code, const char *suffix, const char *fmt,
                       va_list ap)
{
    if (!err) {
        return;
    }
    err->code = code;
    int n = sd_vformat_utf8(err->msg, sizeof err->msg, fmt, ap);
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

size_t sd_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    size_t i = 0;
    while (i < max) {
        size_t n = stem_utf8_len(s + i, len - i);
        if (n == 0) {
            n = 1; /* an invalid byte: one character, as the JSON writer replaces it */
        }
        if (n > max - i) {
            break;
        }
        i += n;
    }
    return i;
}

int sd_vformat_utf8(char *out, size_t cap, const char *fmt, va_list ap)
{
    char full[SD_FORMAT_ROOM]; /* room to spare, so the cut sees whole characters */
    int n = vsnprintf(full, sizeof full, fmt, ap);
    size_t len = n < 0 ? 0 : strnlen(full, sizeof full);
    size_t kept = sd_utf8_cut(full, len, cap - 1);
    memcpy(out, full, kept);
    out[kept] = '\0';
    return n;
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
