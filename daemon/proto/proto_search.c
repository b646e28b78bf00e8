/*
 * proto_search.c: the members of a search given as JSON (the line protocol's "search", the
 * body of POST /search): the query, paging, weights, the search-box options, snippets and
 * highlights, filter, sort, facets and fields. The checks GET /search's query string needs
 * too (a weight, the syntax, proximity, the snippet and highlight options, the options only
 * the simple syntax takes) are functions here that proto_http.c calls, so both protocols
 * refuse the same values with the same messages.
 *
 * Limits (PROTOCOL.md): limit 0..1000, offset 0..100000, at most 64 weights each in
 * [0, 1000].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto.h"
#include "proto_int.h"

static enum proto_code check_weight_name(const char *name, size_t len, struct proto_error *err)
{
    if (len == 0 || len > SEG_MAX_NAME) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "weights: field names are 1 to %d bytes",
                            SEG_MAX_NAME);
    }
    (void)name;
    return PROTO_OK;
}

enum proto_code proto_add_weight(struct proto_request *req, const char *name, size_t name_len,
                                 double w, struct proto_error *err)
{
    enum proto_code rc = check_weight_name(name, name_len, err);
    if (rc) {
        return rc;
    }
    if (!isfinite(w) || w < 0 || w > PROTO_MAX_WEIGHT) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.*s' must be 0 to %g",
                            (int)sd_utf8_cut(name, name_len, 64), name, PROTO_MAX_WEIGHT);
    }
    if (req->nweights >= PROTO_MAX_WEIGHTS) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "weights: at most %d fields",
                            PROTO_MAX_WEIGHTS);
    }
    for (size_t i = 0; i < req->nweights; i++) {
        if (strcmp(req->weights[i].field, name) == 0) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.*s' given twice",
                                (int)sd_utf8_cut(name, name_len, 64), name);
        }
    }
    req->weights[req->nweights].field = name;
    req->weights[req->nweights].weight = w == 0 ? 0.0f : (float)w; /* -0 is 0 */
    req->nweights++;
    return PROTO_OK;
}

static enum proto_code get_weights(struct json_object *obj, struct proto_request *req,
                                   struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, "weights", &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_object)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'weights' must be an object");
    }
    json_object_object_foreach(v, key, val)
    {
        if (!json_object_is_type(val, json_type_int) &&
            !json_object_is_type(val, json_type_double)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.*s' must be a number",
                                (int)sd_utf8_cut(key, strlen(key), 64), key);
        }
        enum proto_code rc =
            proto_add_weight(req, key, strlen(key), json_object_get_double(val), err);
        if (rc) {
            return rc;
        }
    }
    return PROTO_OK;
}

enum proto_code proto_syntax_from(const char *s, size_t len, struct proto_request *req,
                                  struct proto_error *err)
{
    if (len == 4 && memcmp(s, "full", 4) == 0) {
        req->search_opts.syntax = QRY_SYNTAX_FULL;
    } else if (len == 6 && memcmp(s, "simple", 6) == 0) {
        req->search_opts.syntax = QRY_SYNTAX_SIMPLE;
    } else {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'syntax' must be \"full\" or \"simple\"");
    }
    return PROTO_OK;
}

/* The message for a snippet_len or fragments out of its range: the documented one, whatever
 * the number (a negative or huge one fails the integer reading before proto_check_hl_opts). */
enum proto_code proto_hl_range_error(const char *key, struct proto_error *err)
{
    if (strcmp(key, "fragments") == 0) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'fragments' must be 1 to %d",
                            QRY_MAX_FRAGMENTS);
    }
    return proto_errorf(err, PROTO_BAD_REQUEST, "'snippet_len' must be %d to %d", PROTO_MIN_SNIPPET,
                        PROTO_MAX_SNIPPET);
}

/* The snippet and highlight options, however given: ranges and marks checked once.
 * hl_extras: the request gave fragments, highlight_pre, highlight_post or highlight_offsets,
 * which shape highlights only, so without "highlight": true they would be ignored. */
enum proto_code proto_check_hl_opts(uint32_t snippet_len, uint32_t fragments, bool hl_extras,
                                    struct proto_request *req, struct proto_error *err)
{
    struct idx_search_opts *o = &req->search_opts;
    if (hl_extras && !o->highlight) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'fragments', 'highlight_pre', 'highlight_post' and "
                            "'highlight_offsets' shape highlights: they need 'highlight' true");
    }
    if (!req->snippet && (snippet_len != UINT32_MAX || fragments != UINT32_MAX)) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'snippet_len' and 'fragments' shape snippets: 'snippet' is false");
    }
    if (snippet_len != UINT32_MAX &&
        (snippet_len < PROTO_MIN_SNIPPET || snippet_len > PROTO_MAX_SNIPPET)) {
        return proto_hl_range_error("snippet_len", err);
    }
    if (fragments != UINT32_MAX && (fragments < 1 || fragments > QRY_MAX_FRAGMENTS)) {
        return proto_hl_range_error("fragments", err);
    }
    if (o->hl.pre_len > PROTO_MAX_MARK || o->hl.post_len > PROTO_MAX_MARK) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'highlight_pre' and 'highlight_post' must be at most %d bytes",
                            PROTO_MAX_MARK);
    }
    /* NUL is refused in every string value of a request (proto_refuse_nul_strings), with its
     * message */
    if (memchr(o->hl.pre, '\0', o->hl.pre_len) || memchr(o->hl.post, '\0', o->hl.post_len)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s': a string holds \\u0000 (NUL)",
                            memchr(o->hl.pre, '\0', o->hl.pre_len) ? "highlight_pre"
                                                                   : "highlight_post");
    }
    o->snippet_len = snippet_len == UINT32_MAX ? 0 : snippet_len;
    o->hl.fragments = fragments == UINT32_MAX ? o->hl.fragments : fragments;
    return PROTO_OK;
}

/* proto_get_uint for snippet_len and fragments: an integer out of range says the documented range
 * (proto_hl_range_error); a value that is no integer says so. */
static enum proto_code get_hl_uint(struct json_object *obj, const char *key, uint32_t *out,
                                   struct proto_error *err)
{
    enum proto_code rc = proto_get_uint(obj, key, UINT32_MAX - 1, out, err);
    struct json_object *v = NULL;
    if (rc != PROTO_OK && json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, json_type_int)) {
        return proto_hl_range_error(key, err);
    }
    return rc;
}

static enum proto_code get_hl_opts(struct json_object *obj, struct proto_request *req,
                                   struct proto_error *err)
{
    struct idx_search_opts *o = &req->search_opts;
    uint32_t snippet_len = UINT32_MAX;
    uint32_t fragments = UINT32_MAX;
    enum proto_code rc = proto_get_bool(obj, "highlight", &o->highlight, err);
    if (rc == PROTO_OK) {
        rc = proto_get_bool(obj, "highlight_offsets", &o->hl.wants_offsets, err);
    }
    if (rc == PROTO_OK) {
        rc = proto_get_string(obj, "highlight_pre", &o->hl.pre, &o->hl.pre_len, err);
    }
    if (rc == PROTO_OK) {
        rc = proto_get_string(obj, "highlight_post", &o->hl.post, &o->hl.post_len, err);
    }
    if (rc == PROTO_OK) {
        rc = get_hl_uint(obj, "snippet_len", &snippet_len, err);
    }
    if (rc == PROTO_OK) {
        rc = get_hl_uint(obj, "fragments", &fragments, err);
    }
    bool hl_extras = json_object_object_get_ex(obj, "fragments", NULL) ||
                     json_object_object_get_ex(obj, "highlight_pre", NULL) ||
                     json_object_object_get_ex(obj, "highlight_post", NULL) ||
                     json_object_object_get_ex(obj, "highlight_offsets", NULL);
    return rc ? rc : proto_check_hl_opts(snippet_len, fragments, hl_extras, req, err);
}

/* "proximity": a weight in [0, QRY_MAX_PROXIMITY] (true is QRY_PROXIMITY, false 0). */
enum proto_code proto_set_proximity(double w, struct proto_request *req, struct proto_error *err)
{
    if (!(w >= 0 && w <= QRY_MAX_PROXIMITY)) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'proximity' must be true, false or a weight in [0, %g]",
                            QRY_MAX_PROXIMITY);
    }
    req->proximity = (float)w;
    return PROTO_OK;
}

static enum proto_code get_proximity(struct json_object *obj, struct proto_request *req,
                                     struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, "proximity", &present);
    if (!present) {
        return PROTO_OK;
    }
    if (json_object_is_type(v, json_type_boolean)) {
        return proto_set_proximity(json_object_get_boolean(v) ? QRY_PROXIMITY : 0, req, err);
    }
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        return proto_set_proximity(json_object_get_double(v), req, err);
    }
    return proto_set_proximity(-1, req, err); /* the message says what is wanted */
}

/* "prefix_last" reads the last word as still being typed, which only the simple syntax does: with
 * the full one it would be accepted and ignored, so it is refused. */
enum proto_code proto_check_prefix_last(const struct proto_request *req, struct proto_error *err)
{
    if (req->search_opts.prefix_last && req->search_opts.syntax != QRY_SYNTAX_SIMPLE) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'prefix_last' needs \"syntax\":\"simple\" (in the full syntax, "
                            "write the prefix: word*)");
    }
    return PROTO_OK;
}

/* "drop_words" (present: *value) leaves words out of a query that finds nothing with all of
 * them, which only the simple syntax does (its words are each a word of the box; the full
 * syntax's operators say what must match). Absent, it follows the syntax. */
enum proto_code proto_set_drop_words(struct proto_request *req, bool present, bool value,
                                     struct proto_error *err)
{
    bool is_simple = req->search_opts.syntax == QRY_SYNTAX_SIMPLE;
    if (present && value && !is_simple) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'drop_words' needs \"syntax\":\"simple\" (the full syntax matches "
                            "what its operators say)");
    }
    req->search_opts.drop_words = present ? value : is_simple;
    return PROTO_OK;
}

/* The search-box options (syntax, prefix_last, layout, typo, proximity, drop_words); absent
 * members keep their defaults. */
static enum proto_code get_search_opts(struct json_object *obj, struct proto_request *req,
                                       struct proto_error *err)
{
    bool present;
    bool layout = !req->search_opts.no_layout;
    bool typo = !req->search_opts.no_typos;
    enum proto_code rc = proto_get_bool(obj, "layout", &layout, err);
    if (rc == PROTO_OK) {
        rc = proto_get_bool(obj, "typo", &typo, err);
    }
    if (rc == PROTO_OK) {
        rc = proto_get_bool(obj, "prefix_last", &req->search_opts.prefix_last, err);
    }
    if (rc == PROTO_OK) {
        rc = get_proximity(obj, req, err);
    }
    req->search_opts.no_layout = !layout;
    req->search_opts.no_typos = !typo;
    struct json_object *v = proto_member(obj, "syntax", &present);
    if (rc == PROTO_OK && present && !json_object_is_type(v, json_type_string)) {
        rc = proto_errorf(err, PROTO_BAD_REQUEST, "'syntax' must be \"full\" or \"simple\"");
    }
    if (rc == PROTO_OK && present) {
        rc = proto_syntax_from(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                               req, err);
    }
    bool drop_words = false;
    bool has_drop_words = false;
    proto_member(obj, "drop_words", &has_drop_words);
    if (rc == PROTO_OK) {
        rc = proto_get_bool(obj, "drop_words", &drop_words, err);
    }
    if (rc == PROTO_OK) {
        rc = proto_set_drop_words(req, has_drop_words, drop_words, err);
    }
    return rc == PROTO_OK ? proto_check_prefix_last(req, err) : rc;
}

/* "facets" or "fields": an array of strings, or one comma-separated string (split in a copy
 * the request owns, req->lists[which]). */
static enum proto_code get_list(struct json_object *obj, enum proto_list which,
                                struct proto_request *req, struct proto_error *err)
{
    bool present;
    const char *what = proto_list_name(which);
    struct json_object *v = proto_member(obj, what, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (json_object_is_type(v, json_type_string)) {
        size_t len = (size_t)json_object_get_string_len(v);
        req->lists[which] = malloc(len + 1);
        if (!req->lists[which]) {
            return proto_errorf(err, PROTO_INTERNAL, "out of memory");
        }
        memcpy(req->lists[which], json_object_get_string(v), len + 1);
        return proto_list_split(req, which, req->lists[which], len, err);
    }
    if (!json_object_is_type(v, json_type_array)) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'%s' must be an array of strings or a comma-separated string", what);
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        struct json_object *item = json_object_array_get_idx(v, i);
        if (!json_object_is_type(item, json_type_string)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "'%s'[%zu] must be a string", what, i);
        }
        enum proto_code rc = proto_list_add(req, which, json_object_get_string(item),
                                            (size_t)json_object_get_string_len(item), err);
        if (rc) {
            return rc;
        }
    }
    return PROTO_OK;
}

/* filter, sort, facets, fields (issue 11). */
static enum proto_code get_attr_params(struct json_object *obj, struct proto_request *req,
                                       struct proto_error *err)
{
    enum proto_code rc = proto_get_string(obj, "filter", &req->filter, &req->filter_len, err);
    if (rc == PROTO_OK) {
        rc = proto_get_string(obj, "sort", &req->sort, &req->sort_len, err);
    }
    if (rc == PROTO_OK) {
        rc = get_list(obj, PROTO_LIST_FACETS, req, err);
    }
    return rc ? rc : get_list(obj, PROTO_LIST_FIELDS, req, err);
}

enum proto_code proto_get_search(struct json_object *obj, struct proto_request *req,
                                 struct proto_error *err)
{
    bool present;
    struct json_object *q = proto_member(obj, "q", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "missing 'q'"); /* as the query string says */
    }
    if (!json_object_is_type(q, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'q' must be a string");
    }
    req->q = json_object_get_string(q);
    req->q_len = (size_t)json_object_get_string_len(q);
    enum proto_code rc = proto_get_uint(obj, "limit", QRY_MAX_LIMIT, &req->limit, err);
    if (rc == PROTO_OK) {
        rc = proto_get_uint(obj, "offset", QRY_MAX_OFFSET, &req->offset, err);
    }
    if (rc == PROTO_OK) {
        rc = get_weights(obj, req, err);
    }
    if (rc == PROTO_OK) {
        rc = get_search_opts(obj, req, err);
    }
    if (rc == PROTO_OK) {
        /* before the options it makes moot */
        rc = proto_get_bool(obj, "snippet", &req->snippet, err);
    }
    if (rc == PROTO_OK) {
        rc = get_hl_opts(obj, req, err);
    }
    return rc == PROTO_OK ? get_attr_params(obj, req, err) : rc;
}
