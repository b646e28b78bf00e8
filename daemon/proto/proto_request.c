/*
 * proto_request.c: what every request shares, whichever protocol brought it: the codes an
 * answer carries (the name and HTTP status of each, and the engine's sd_status mapped onto
 * them), the names of the ops, the error a parse fills in, and a request's lifetime.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto.h"

/* ---- codes ---- */

static const struct {
    const char *name;
    int http;
} code_table[] = {
    [PROTO_OK] = {"ok", 200},
    [PROTO_BAD_JSON] = {"bad_json", 400},
    [PROTO_BAD_UTF8] = {"bad_utf8", 400},
    [PROTO_BAD_REQUEST] = {"bad_request", 400},
    [PROTO_BAD_QUERY] = {"bad_query", 400},
    [PROTO_UNKNOWN_OP] = {"unknown_op", 400},
    [PROTO_UNKNOWN_FIELD] = {"unknown_field", 400},
    [PROTO_TOO_LARGE] = {"too_large", 413},
    [PROTO_UNKNOWN_INDEX] = {"unknown_index", 404},
    [PROTO_NOT_FOUND] = {"not_found", 404},
    [PROTO_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [PROTO_DISK_FULL] = {"disk_full", 507},
    [PROTO_BUSY] = {"busy", 503},
    [PROTO_INTERNAL] = {"internal", 500},
    [PROTO_BAD_HTTP] = {"bad_http", 400},
    [PROTO_UNKNOWN_PATH] = {"unknown_path", 404},
    [PROTO_TIMEOUT] = {"timeout", 408},
    [PROTO_HEAD_TOO_LARGE] = {"head_too_large", 431},
    [PROTO_FORBIDDEN_ORIGIN] = {"forbidden_origin", 403},
    [PROTO_FORBIDDEN_HOST] = {"forbidden_host", 403},
    [PROTO_UNAUTHORIZED] = {"unauthorized", 401},
    [PROTO_FORBIDDEN] = {"forbidden", 403},
    [PROTO_DEGRADED] = {"degraded", 503},
    [PROTO_INDEX_EXISTS] = {"index_exists", 409},
    [PROTO_INDEX_UNAVAILABLE] = {"index_unavailable", 503},
};

const char *proto_code_name(enum proto_code code)
{
    if ((unsigned)code >= sizeof code_table / sizeof code_table[0]) {
        return "internal";
    }
    return code_table[code].name;
}

int proto_code_http_status(enum proto_code code)
{
    if ((unsigned)code >= sizeof code_table / sizeof code_table[0]) {
        return 500;
    }
    return code_table[code].http;
}

const char *proto_op_name(enum proto_op op)
{
    static const char *const names[] = {
        "none",    "search",  "add",          "get",          "delete",       "stats",
        "health",  "auth",    "indexes",      "create_index", "set_settings", "get_settings",
        "drop_index", "snapshot"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "none";
}

enum proto_code proto_code_from_sd(int sd_status)
{
    switch (sd_status) {
    case SD_OK:
        return PROTO_OK;
    case SD_EPARSE:
        return PROTO_BAD_QUERY;
    case SD_EFIELD:
        return PROTO_UNKNOWN_FIELD;
    case SD_ELIMIT:
    case SD_EINVAL:
        return PROTO_BAD_REQUEST;
    case SD_ENOTFOUND:
        return PROTO_NOT_FOUND;
    case SD_ENOSPC:
        return PROTO_DISK_FULL;
    case SD_EBUSY:
        return PROTO_BUSY;
    case SD_EDEGRADED:
        return PROTO_DEGRADED;
    case SD_EEXIST:
        return PROTO_INDEX_EXISTS; /* the one name the engine creates on request */
    case SD_EUNAVAIL:
        return PROTO_INDEX_UNAVAILABLE;
    default:
        return PROTO_INTERNAL;
    }
}

enum proto_code proto_errorf(struct proto_error *err, enum proto_code code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->allow = NULL;
        va_list ap;
        va_start(ap, fmt);
        sd_vformat_utf8(err->msg, sizeof err->msg, fmt, ap); /* never half a character */
        va_end(ap);
    }
    return code;
}

/* ---- request lifetime ---- */

void proto_request_init(struct proto_request *req)
{
    memset(req, 0, sizeof *req);
    memcpy(req->index, "default", sizeof "default");
    req->limit = PROTO_DEFAULT_LIMIT;
    req->snippet = true;
    qry_hl_opts_default(&req->search_opts.hl);
}

void proto_request_free(struct proto_request *req)
{
    json_object_put(req->root);
    free(req->ops);
    free(req->fields);
    free(req->text);
    free(req->lists[0]);
    free(req->lists[1]);
    proto_request_init(req);
}
