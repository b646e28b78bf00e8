/*
 * proto_http.c: an HTTP request (method, target, body) -> struct proto_request, or an error
 * code. The path chooses the op (the routes of PROTOCOL.md) and may name the document or the
 * index; GET /search takes its members from the query string, which parse_query splits and
 * decodes; every JSON body is read by the functions that read the line protocol's members,
 * so both protocols check the same things in the same order (proto_line.c says which).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto.h"
#include "proto_int.h"

size_t proto_percent_decode(const char *s, size_t len, char *out, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3) {
                return (size_t)-1;
            }
            int hi = proto_hex_value(s[i + 1]), lo = proto_hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return (size_t)-1;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    return o;
}

/* One decoded query-string parameter; key and value are NUL-terminated
 * and point into req->text. */
struct http_param {
    const char *key;
    const char *value;
    size_t value_len;
};

#define HTTP_MAX_PARAMS 32

/* Splits and decodes query[0, len) into params, writing decoded text at *dst.
 * More than HTTP_MAX_PARAMS pieces, or a key given twice, is bad_request: a
 * parameter is never silently dropped or overridden (PROTOCOL.md). */
static enum proto_code parse_query(const char *query, size_t len, char **dst,
                                   struct http_param *params, size_t *nparams,
                                   struct proto_error *err)
{
    size_t i = 0;
    *nparams = 0;
    /* Every piece costs at most 2 bytes more than its source (two NULs); at
     * most HTTP_MAX_PARAMS pieces are decoded, so the caller's buffer of
     * len + 2 * HTTP_MAX_PARAMS bytes is enough. */
    size_t pieces = 0;
    while (i < len) {
        const char *amp = memchr(query + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - query) : len;
        if (end == i) {
            i = end + 1;
            continue;
        }
        if (pieces++ == HTTP_MAX_PARAMS) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "more than %d query-string parameters",
                                HTTP_MAX_PARAMS);
        }
        const char *eq = memchr(query + i, '=', end - i);
        size_t kend = eq ? (size_t)(eq - query) : end;
        struct http_param *p = &params[*nparams];
        size_t klen = proto_percent_decode(query + i, kend - i, *dst, true);
        if (klen == (size_t)-1) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the query string");
        }
        if (klen == 0) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "a query-string parameter without a name");
        }
        if (!stem_utf8_valid(*dst, klen)) {
            return proto_errorf(err, PROTO_BAD_UTF8,
                                "a query-string parameter's name is not "
                                "valid UTF-8");
        }
        if (memchr(*dst, '\0', klen)) {
            return proto_errorf(err, PROTO_BAD_REQUEST,
                                "%%00 (NUL) in a query-string "
                                "parameter's name");
        }
        p->key = *dst;
        (*dst)[klen] = '\0';
        *dst += klen + 1;
        size_t vstart = eq ? kend + 1 : end;
        size_t vlen = proto_percent_decode(query + vstart, end - vstart, *dst, true);
        if (vlen == (size_t)-1) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the query string");
        }
        if (!stem_utf8_valid(*dst, vlen)) {
            return proto_errorf(err, PROTO_BAD_UTF8, "parameter '%.32s' is not valid UTF-8",
                                p->key);
        }
        if (memchr(*dst, '\0', vlen)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "parameter '%.32s' holds %%00 (NUL)",
                                p->key);
        }
        p->value = *dst;
        p->value_len = vlen;
        (*dst)[vlen] = '\0';
        *dst += vlen + 1;
        (*nparams)++;
        i = end + 1;
    }
    for (size_t a = 1; a < *nparams; a++) {
        for (size_t b = 0; b < a; b++) {
            if (strcmp(params[a].key, params[b].key) == 0) {
                return proto_errorf(err, PROTO_BAD_REQUEST, "parameter '%.32s' given twice",
                                    params[a].key);
            }
        }
    }
    return PROTO_OK;
}

static const struct http_param *find_param(const struct http_param *params, size_t n,
                                           const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(params[i].key, key) == 0) {
            return &params[i];
        }
    }
    return NULL;
}

/* A decimal 0..max with digits only; "-0" (any number of zeros after the '-') is 0, as the
 * JSON number -0 is on the line protocol. */
static enum proto_code text_uint(const struct http_param *p, uint32_t max, uint32_t *out,
                                 struct proto_error *err)
{
    uint64_t v = 0;
    size_t start = p->value_len > 1 && p->value[0] == '-' ? 1 : 0;
    if (p->value_len == start || p->value_len - start > 10) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", p->key, max);
    }
    for (size_t i = start; i < p->value_len; i++) {
        if (p->value[i] < '0' || p->value[i] > '9') {
            return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", p->key, max);
        }
        v = v * 10 + (uint64_t)(p->value[i] - '0');
    }
    if (v > max || (start && v != 0)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", p->key, max);
    }
    *out = (uint32_t)v;
    return PROTO_OK;
}

/* "title:3,body:1" (the value is NUL-terminated text we own: split in place). A field name
 * may hold ':' itself: the number is after the last one. */
static enum proto_code text_weights(char *s, struct proto_request *req, struct proto_error *err)
{
    while (true) {
        char *comma = strchr(s, ',');
        if (comma) {
            *comma = '\0';
        }
        char *colon = strrchr(s, ':');
        if (!colon) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: want field:number, got '%.*s'",
                                (int)sd_utf8_cut(s, strlen(s), 64), s);
        }
        *colon = '\0';
        if (!proto_is_json_number(colon + 1)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.*s' must be a number",
                                (int)sd_utf8_cut(s, strlen(s), 64), s);
        }
        double w = strtod(colon + 1, NULL);
        enum proto_code rc = proto_add_weight(req, s, strlen(s), w, err);
        if (rc) {
            return rc;
        }
        if (!comma) {
            break;
        }
        s = comma + 1;
    }
    return PROTO_OK;
}

/* proximity=true, false or a weight (as in JSON; "1" is the weight 1). The weight is checked
 * as a JSON number first, as a weight of "weights" is: strtod alone also reads "0x10", "+5",
 * " 5", "1." and ".5", which the JSON form refuses. */
static enum proto_code text_proximity(const char *s, struct proto_request *req,
                                      struct proto_error *err)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        return proto_set_proximity(s[0] == 't' ? QRY_PROXIMITY : 0, req, err);
    }
    if (!proto_is_json_number(s)) {
        return proto_set_proximity(-1, req, err); /* the message says what is wanted */
    }
    return proto_set_proximity(strtod(s, NULL), req, err);
}

/* true/1 or false/0, as for snippet=. */
static enum proto_code text_bool(const struct http_param *p, bool *out, struct proto_error *err)
{
    if (strcmp(p->value, "false") == 0 || strcmp(p->value, "0") == 0) {
        *out = false;
    } else if (strcmp(p->value, "true") == 0 || strcmp(p->value, "1") == 0) {
        *out = true;
    } else {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be true or false", p->key);
    }
    return PROTO_OK;
}

static enum proto_code hl_from_params(const struct http_param *params, size_t n,
                                      struct proto_request *req, struct proto_error *err)
{
    struct idx_search_opts *o = &req->search_opts;
    uint32_t snippet_len = UINT32_MAX;
    uint32_t fragments = UINT32_MAX;
    const struct http_param *p;
    enum proto_code rc = PROTO_OK;
    if ((p = find_param(params, n, "highlight"))) {
        rc = text_bool(p, &o->highlight, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "highlight_offsets"))) {
        rc = text_bool(p, &o->hl.wants_offsets, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "highlight_pre"))) {
        o->hl.pre = p->value;
        o->hl.pre_len = p->value_len;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "highlight_post"))) {
        o->hl.post = p->value;
        o->hl.post_len = p->value_len;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "snippet_len"))) {
        rc = text_uint(p, UINT32_MAX - 1, &snippet_len, err) ? proto_hl_range_error(p->key, err)
                                                             : PROTO_OK;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "fragments"))) {
        rc = text_uint(p, UINT32_MAX - 1, &fragments, err) ? proto_hl_range_error(p->key, err)
                                                           : PROTO_OK;
    }
    bool hl_extras = find_param(params, n, "fragments") || find_param(params, n, "highlight_pre") ||
                     find_param(params, n, "highlight_post") ||
                     find_param(params, n, "highlight_offsets");
    return rc ? rc : proto_check_hl_opts(snippet_len, fragments, hl_extras, req, err);
}

/* filter, sort, and the comma-separated facets and fields (split in place in req->text). */
static enum proto_code attr_from_params(const struct http_param *params, size_t n,
                                        struct proto_request *req, struct proto_error *err)
{
    const struct http_param *p;
    enum proto_code rc = PROTO_OK;
    if ((p = find_param(params, n, "filter"))) {
        req->filter = p->value;
        req->filter_len = p->value_len;
    }
    if ((p = find_param(params, n, "sort"))) {
        req->sort = p->value;
        req->sort_len = p->value_len;
    }
    if ((p = find_param(params, n, "facets"))) {
        rc = proto_list_split(req, PROTO_LIST_FACETS, (char *)p->value, p->value_len, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "fields"))) {
        rc = proto_list_split(req, PROTO_LIST_FIELDS, (char *)p->value, p->value_len, err);
    }
    return rc;
}

/* Every query-string key must be "index" (when the route takes it) or one of names. */
static enum proto_code check_params_known(const struct http_param *params, size_t n,
                                          const char *const *names, bool takes_index,
                                          struct proto_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key;
        if (proto_is_known(names, key) || (takes_index && strcmp(key, "index") == 0)) {
            continue;
        }
        return proto_errorf(err, PROTO_BAD_REQUEST, "unknown parameter '%.*s'",
                            (int)sd_utf8_cut(key, strlen(key), 64), key);
    }
    return PROTO_OK;
}

static enum proto_code search_from_params(const struct http_param *params, size_t n,
                                          struct proto_request *req, struct proto_error *err)
{
    const struct http_param *p = find_param(params, n, "q");
    if (!p) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "missing 'q'");
    }
    req->q = p->value;
    req->q_len = p->value_len;
    enum proto_code rc = PROTO_OK;
    if ((p = find_param(params, n, "limit"))) {
        rc = text_uint(p, QRY_MAX_LIMIT, &req->limit, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "offset"))) {
        rc = text_uint(p, QRY_MAX_OFFSET, &req->offset, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "weights"))) {
        rc = text_weights((char *)p->value, req, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "snippet"))) {
        rc = text_bool(p, &req->snippet, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "syntax"))) {
        rc = proto_syntax_from(p->value, p->value_len, req, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "layout"))) {
        bool layout = true;
        rc = text_bool(p, &layout, err);
        req->search_opts.no_layout = !layout;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "typo"))) {
        bool typo = true;
        rc = text_bool(p, &typo, err);
        req->search_opts.no_typos = !typo;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "prefix_last"))) {
        rc = text_bool(p, &req->search_opts.prefix_last, err);
    }
    if (rc == PROTO_OK) {
        rc = proto_check_prefix_last(req, err);
    }
    bool drop_words = false;
    const struct http_param *dw = find_param(params, n, "drop_words");
    if (rc == PROTO_OK && dw) {
        rc = text_bool(dw, &drop_words, err);
    }
    if (rc == PROTO_OK) {
        rc = proto_set_drop_words(req, dw != NULL, drop_words, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "proximity"))) {
        rc = text_proximity(p->value, req, err);
    }
    if (rc == PROTO_OK) {
        rc = attr_from_params(params, n, req, err);
    }
    return rc == PROTO_OK ? hl_from_params(params, n, req, err) : rc;
}

/* POST /docs: the documents of a body of one JSON object or several (NDJSON). */
static enum proto_code docs_from_body(const char *body, size_t len, struct proto_request *req,
                                      struct proto_error *err)
{
    enum proto_code rc = proto_json_parse_ndjson(body, len, &req->root, err);
    if (rc) {
        return rc;
    }
    size_t n = json_object_array_length(req->root);
    if (n == 0) {
        return proto_errorf(err, PROTO_BAD_JSON, "the body holds no JSON document");
    }
    struct json_object **items = malloc(n * sizeof *items);
    if (!items) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = json_object_array_get_idx(req->root, i);
    }
    rc = proto_parse_docs(items, n, false, req, err);
    free(items);
    return rc;
}

/* allow names every method the path answers (RFC 9110 15.5.6), HEAD wherever GET is: HEAD is
 * answered as GET is, and /metrics and the page's files say so too. */
static enum proto_code method_not_allowed(struct proto_error *err, const char *allow)
{
    proto_errorf(err, PROTO_METHOD_NOT_ALLOWED, "method not allowed; use %s", allow);
    err->allow = allow;
    return PROTO_METHOD_NOT_ALLOWED;
}

static bool path_is(const char *path, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(path, want, len) == 0;
}

/* GET|DELETE /docs/{id}: raw is the still-encoded id. The id "delete" is also POST
 * /docs/delete's path (route() took that one), so its Allow names POST too. */
static enum proto_code route_doc_id(enum proto_method method, const char *raw, size_t raw_len,
                                    char **dst, struct proto_request *req, struct proto_error *err)
{
    if (method == PROTO_GET || method == PROTO_HEAD) {
        req->op = PROTO_OP_GET;
    } else if (method == PROTO_DELETE) {
        req->op = PROTO_OP_DELETE;
    } else {
        bool is_batch_path = raw_len == 6 && memcmp(raw, "delete", 6) == 0;
        return method_not_allowed(err,
                                  is_batch_path ? "GET, HEAD, POST, DELETE" : "GET, HEAD, DELETE");
    }
    size_t len = proto_percent_decode(raw, raw_len, *dst, false);
    if (len == (size_t)-1) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the document id");
    }
    if (!stem_utf8_valid(*dst, len)) {
        return proto_errorf(err, PROTO_BAD_UTF8, "the document id is not valid UTF-8");
    }
    req->id = *dst;
    req->id_len = len;
    (*dst)[len] = '\0';
    *dst += len + 1;
    return proto_check_id(proto_op_name(req->op), "'id'", req->id, req->id_len, err);
}

/* The settings body of PUT /indexes/NAME: one JSON object, as for create_index's "settings". */
static enum proto_code settings_from_body(const char *body, size_t len, struct proto_request *req,
                                          struct proto_error *err)
{
    enum proto_code rc = proto_json_parse_object(body, len, &req->root, err);
    return rc ? rc : proto_set_settings_text(req->root, req, err);
}

/* GET /indexes and GET|PUT|PATCH|DELETE /indexes/{name} (PATCH: set_settings as a merge
 * patch, "merge": true): raw is the still-encoded name (NULL for the list). The name is checked
 * like any index name before anything acts on it, so no spelling of "../x" reaches a path. */
static enum proto_code route_indexes(enum proto_method method, const char *raw, size_t raw_len,
                                     char **dst, const char *body, size_t body_len,
                                     struct proto_request *req, struct proto_error *err)
{
    bool get = method == PROTO_GET || method == PROTO_HEAD;
    if (!raw) {
        req->op = PROTO_OP_INDEXES;
        return get ? PROTO_OK : method_not_allowed(err, "GET, HEAD");
    }
    if (get) {
        req->op = PROTO_OP_GET_SETTINGS;
    } else if (method == PROTO_PUT || method == PROTO_PATCH) {
        req->op = PROTO_OP_SET_SETTINGS;
        req->is_settings_merge = method == PROTO_PATCH;
    } else if (method == PROTO_DELETE) {
        req->op = PROTO_OP_DROP_INDEX;
    } else {
        return method_not_allowed(err, "GET, HEAD, PUT, PATCH, DELETE");
    }
    size_t len = proto_percent_decode(raw, raw_len, *dst, false);
    if (len == (size_t)-1) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the index name");
    }
    enum proto_code rc = proto_set_index(req, *dst, len, err);
    if (rc == PROTO_OK && req->op == PROTO_OP_SET_SETTINGS) {
        rc = settings_from_body(body, body_len, req, err);
    }
    return rc;
}

static const char *const no_params[] = {NULL};
static const char *const ids_members[] = {"ids", NULL}; /* POST /docs/delete */

/* POST /search: the body holds the search; the query string may only name the index, and
 * then the body may not (one of the two would be ignored). */
static enum proto_code route_search_post(const char *body, size_t body_len, bool index_in_query,
                                         struct proto_request *req, struct proto_error *err)
{
    enum proto_code rc = proto_json_parse_object(body, body_len, &req->root, err);
    if (rc == PROTO_OK) {
        rc = proto_check_members_known(req->root, proto_search_params, false, err);
    }
    if (rc == PROTO_OK && index_in_query && json_object_object_get_ex(req->root, "index", NULL)) {
        rc = proto_errorf(err, PROTO_BAD_REQUEST,
                          "the index is named twice: in the query string and in the body");
    }
    if (rc == PROTO_OK) {
        rc = proto_get_index(req->root, req, err);
    }
    return rc ? rc : proto_get_search(req->root, req, err);
}

/* POST /indexes/{index}/snapshot with {"name":…}: the index from the path, which no
 * ?index= may contradict (checked by the caller). */
static enum proto_code route_snapshot(enum proto_method method, const char *path, size_t path_len,
                                      const char *body, size_t body_len, struct proto_request *req,
                                      struct proto_error *err)
{
    static const char suffix[] = "/snapshot";
    size_t name_len = path_len - 9 - (sizeof suffix - 1); /* "/indexes/" NAME suffix */
    req->op = PROTO_OP_SNAPSHOT;
    enum proto_code rc = proto_set_index(req, path + 9, name_len, err);
    if (rc) {
        return rc;
    }
    if (method != PROTO_POST) {
        return method_not_allowed(err, "POST");
    }
    rc = proto_json_parse_object(body, body_len, &req->root, err);
    if (rc == PROTO_OK) {
        rc = proto_check_members_known(req->root, proto_snapshot_members, false, err);
    }
    return rc ? rc : proto_get_snapshot_name(req->root, req, err);
}

static bool is_snapshot_path(const char *path, size_t len)
{
    return len > 9 + 9 && memcmp(path, "/indexes/", 9) == 0 &&
           memcmp(path + len - 9, "/snapshot", 9) == 0 &&
           !memchr(path + 9, '/', len - 18);
}

static enum proto_code route(enum proto_method method, const char *path, size_t path_len,
                             char **dst, const struct http_param *params, size_t nparams,
                             const char *body, size_t body_len, struct proto_request *req,
                             struct proto_error *err)
{
    bool get = method == PROTO_GET || method == PROTO_HEAD;
    if (path_is(path, path_len, "/search")) {
        req->op = PROTO_OP_SEARCH;
        if (get) {
            enum proto_code rc =
                check_params_known(params, nparams, proto_search_params, true, err);
            return rc ? rc : search_from_params(params, nparams, req, err);
        }
        if (method != PROTO_POST) {
            return method_not_allowed(err, "GET, HEAD, POST");
        }
        enum proto_code rc = check_params_known(params, nparams, no_params, true, err);
        return rc ? rc
                  : route_search_post(body, body_len, find_param(params, nparams, "index"), req,
                                      err);
    }
    if (path_is(path, path_len, "/indexes") ||
        (path_len > 9 && memcmp(path, "/indexes/", 9) == 0)) {
        enum proto_code rc = check_params_known(params, nparams, no_params, false, err);
        if (rc == PROTO_OK && is_snapshot_path(path, path_len)) {
            return route_snapshot(method, path, path_len, body, body_len, req, err);
        }
        if (rc == PROTO_OK && path_len > 9 && memchr(path + 9, '/', path_len - 9)) {
            return proto_errorf(err, PROTO_UNKNOWN_PATH, "no such path");
        }
        bool is_list = path_len == 8;
        return rc ? rc
                  : route_indexes(method, is_list ? NULL : path + 9, is_list ? 0 : path_len - 9,
                                  dst, body, body_len, req, err);
    }
    bool is_health = path_is(path, path_len, "/health");
    enum proto_code rc = check_params_known(params, nparams, no_params, !is_health, err);
    if (path_is(path, path_len, "/docs")) {
        req->op = PROTO_OP_ADD;
        if (method != PROTO_POST) {
            return method_not_allowed(err, "POST");
        }
        return rc ? rc : docs_from_body(body, body_len, req, err);
    }
    if (path_is(path, path_len, "/docs/delete") && method == PROTO_POST) {
        req->op = PROTO_OP_DELETE; /* (GET and DELETE of it are the document "delete"'s) */
        rc = rc ? rc : proto_json_parse_object(body, body_len, &req->root, err);
        rc = rc ? rc : proto_check_members_known(req->root, ids_members, false, err);
        return rc ? rc : proto_get_delete(req->root, req, err);
    }
    if (path_len >= 6 && memcmp(path, "/docs/", 6) == 0) {
        return rc ? rc : route_doc_id(method, path + 6, path_len - 6, dst, req, err);
    }
    if (path_is(path, path_len, "/stats") || is_health) {
        req->op = is_health ? PROTO_OP_HEALTH : PROTO_OP_STATS;
        return !get ? method_not_allowed(err, "GET, HEAD") : rc;
    }
    return proto_errorf(err, PROTO_UNKNOWN_PATH, "no such path");
}

/* Only POST, PUT and PATCH routes read a body (every one of them does); a GET, HEAD or DELETE
 * answers from its path and query string. A body sent with one of those would be silently
 * ignored (GET /stats with {"index":"books"} answered the default index), so it is refused, as
 * an unknown parameter is (PROTOCOL.md "Unknown parameters"). */
static enum proto_code refuse_unread_body(enum proto_method method, size_t body_len,
                                          struct proto_error *err)
{
    bool reads_body = method == PROTO_POST || method == PROTO_PUT || method == PROTO_PATCH;
    if (reads_body || body_len == 0) {
        return PROTO_OK;
    }
    return proto_errorf(err, PROTO_BAD_REQUEST,
                        "%s takes no body here: its parameters are the path and the query string "
                        "(POST /search takes a search as JSON)",
                        method == PROTO_DELETE ? "DELETE"
                        : method == PROTO_HEAD ? "HEAD"
                                               : "GET");
}

enum proto_code proto_parse_http(enum proto_method method, const char *uri, size_t uri_len,
                                 const char *body, size_t body_len, struct proto_request *req,
                                 struct proto_error *err)
{
    proto_request_free(req);
    const char *qm = memchr(uri, '?', uri_len);
    size_t path_len = qm ? (size_t)(qm - uri) : uri_len;
    const char *hash = memchr(uri, '#', uri_len);
    size_t end = hash ? (size_t)(hash - uri) : uri_len;
    if (path_len > end) {
        path_len = end;
    }
    /* decoded text is never longer than its source, plus a NUL per piece */
    req->text = malloc(uri_len + 2 * HTTP_MAX_PARAMS + 4);
    if (!req->text) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    char *dst = req->text;
    struct http_param params[HTTP_MAX_PARAMS];
    size_t nparams = 0;
    enum proto_code rc = PROTO_OK;
    if (qm && (size_t)(qm - uri) < end) {
        size_t qstart = (size_t)(qm - uri) + 1;
        rc = parse_query(uri + qstart, end - qstart, &dst, params, &nparams, err);
    }
    if (rc) {
        return rc;
    }
    rc = route(method, uri, path_len, &dst, params, nparams, body, body_len, req, err);
    if (rc == PROTO_OK) {
        rc = refuse_unread_body(method, body_len, err);
    }
    if (rc == PROTO_OK && req->op != PROTO_OP_ADD && req->root) {
        rc = proto_refuse_nul_strings(req->root, "body", err); /* a search, settings, a snapshot */
    }
    if (rc) {
        return rc;
    }
    const struct http_param *ix = find_param(params, nparams, "index");
    return ix ? proto_set_index(req, ix->value, ix->value_len, err) : PROTO_OK;
}
