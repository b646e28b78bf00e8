/*
 * sq_error.c: filling struct sq_error, and the names of the statuses. One place, so that
 * every message is truncated safely and every status has a name.
 */
#include <stdarg.h>
#include <stdio.h>

#include "sq_int.h"

int sq_errorf(struct sq_error *err, int status, const char *fmt, ...)
{
    if (err) {
        err->status = status;
        err->code[0] = '\0';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *sq_status_name(int status)
{
    switch (status) {
    case SQ_OK:
        return "SQ_OK";
    case SQ_EADDR:
        return "SQ_EADDR";
    case SQ_ECONNECT:
        return "SQ_ECONNECT";
    case SQ_ETLS:
        return "SQ_ETLS";
    case SQ_ECAFILE:
        return "SQ_ECAFILE";
    case SQ_ESERVER:
        return "SQ_ESERVER";
    case SQ_EPROTO:
        return "SQ_EPROTO";
    case SQ_ENOMEM:
        return "SQ_ENOMEM";
    case SQ_ELIMIT:
        return "SQ_ELIMIT";
    case SQ_EARG:
        return "SQ_EARG";
    default:
        return "SQ_E(unknown)";
    }
}
