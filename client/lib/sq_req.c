/*
 * sq_req.c: a request object for every op of docs/PROTOCOL.md ("Line protocol", "Index
 * management", "API keys", snapshot), and the one-call wrappers that send one and wait for its
 * answer.
 *
 * The builders only shape requests: what the values mean (a filter's syntax, a settings
 * object, an index name) is the server's to check, so its messages name what is wrong and
 * this library needs no update when the server learns a new filter or setting. Members are
 * added in a fixed order (op, index, then the op's own), so a request reads the same in logs.
 * The one value checked here is proximity, a double: it has sentinels (on, off, the server's
 * default) beside the weights, and NaN or an infinity could not even be written as JSON.
 *
 * sq_req_delete_ids, sq_req_merge_settings and their calls are new in 1.5.0 (SEARCHQ_1.5).
 *
 * The functions taking struct sq_search_params here are its 1.4 layout (SEARCHQ_1.4);
 * sq_compat.c serves programs built against the 1.1, 1.2 and 1.3 layouts (searchq.h, "ABI").
 * sq_search_check, exported once (SEARCHQ_1.2), must read only fields of the 1.2 layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq_int.h"

/* {"op":op} plus "index" when index is set; NULL when out of memory. */
static struct json_object *req_new(const char *op, const char *index)
{
    struct json_object *req = json_object_new_object();
    if (!req) {
        return NULL;
    }
    if (json_object_object_add(req, "op", json_object_new_string(op)) != 0 ||
        (index && json_object_object_add(req, "index", json_object_new_string(index)) != 0)) {
        json_object_put(req);
        return NULL;
    }
    return req;
}

/* Adds name:val (taken) to *req; on failure frees *req and sets it NULL, so that a chain of
 * adds ends in NULL once any of them failed. */
static void req_put(struct json_object **req, const char *name, struct json_object *val)
{
    if (!*req) {
        json_object_put(val);
        return;
    }
    if (!val || json_object_object_add(*req, name, val) != 0) {
        json_object_put(val);
        json_object_put(*req);
        *req = NULL;
    }
}

static void req_put_str(struct json_object **req, const char *name, const char *val)
{
    if (val) {
        req_put(req, name, json_object_new_string(val));
    }
}

static void req_put_int(struct json_object **req, const char *name, int64_t val)
{
    if (val >= 0) {
        req_put(req, name, json_object_new_int64(val));
    }
}

static void req_put_bool(struct json_object **req, const char *name, int tri)
{
    if (tri >= 0) {
        req_put(req, name, json_object_new_boolean(tri != 0));
    }
}

/* name: a reference to val (the caller keeps its own), when val is set; a missing value is
 * left for the server to name in its error. */
static void req_put_ref(struct json_object **req, const char *name, struct json_object *val)
{
    if (val) {
        req_put(req, name, json_object_get(val));
    }
}

/* name: val as the shortest of %.15g, %.16g, %.17g that reads back as val, so that 0.35 is
 * sent as 0.35, not json-c's default 0.34999999999999998. json-c prints the object with our
 * format and puts '.' for a locale's decimal comma; the round trip is checked in the same
 * locale, so it holds whatever the caller's LC_NUMERIC. */
static void req_put_double(struct json_object **req, const char *name, double val)
{
    static const char *const formats[] = {"%.15g", "%.16g", "%.17g"};
    size_t i = 0;
    for (; i < 2; i++) {
        char text[64];
        snprintf(text, sizeof text, formats[i], val);
        if (strtod(text, NULL) == val) {
            break;
        }
    }
    struct json_object *num = json_object_new_double(val);
    if (num) {
        json_object_set_serializer(num, json_object_double_to_json_string, (void *)formats[i],
                                   NULL);
    }
    req_put(req, name, num);
}

static bool req_is_proximity_weight(double w)
{
    return w >= 0 && w <= SQ_PROXIMITY_MAX; /* false for NaN */
}

int sq_search_check(const struct sq_search_params *p, struct sq_error *err)
{
    double w = p->proximity;
    if (w == SQ_PROXIMITY_DEFAULT || w == SQ_PROXIMITY_ON || w == SQ_PROXIMITY_OFF ||
        req_is_proximity_weight(w)) {
        return SQ_OK;
    }
    return sq_errorf(err, SQ_EARG,
                     "search: proximity %g is not a weight in [0, %g] nor SQ_PROXIMITY_ON, "
                     "_OFF or _DEFAULT",
                     w, SQ_PROXIMITY_MAX);
}

/* true, false, the weight, or nothing (the server's default); p checked already. */
static void req_put_proximity(struct json_object **req, double w)
{
    if (w == SQ_PROXIMITY_ON || w == SQ_PROXIMITY_OFF) {
        req_put(req, "proximity", json_object_new_boolean(w == SQ_PROXIMITY_ON));
    } else if (req_is_proximity_weight(w)) {
        req_put_double(req, "proximity", w);
    }
}

struct sq_search_params sq_search_defaults(const char *q)
{
    return (struct sq_search_params){
        .q = q,
        .highlight = -1,
        .highlight_offsets = -1,
        .snippet_len = -1,
        .fragments = -1,
        .limit = -1,
        .offset = -1,
        .snippet = -1,
        .layout = -1,
        .typo = -1,
        .proximity = SQ_PROXIMITY_DEFAULT,
        .prefix_last = -1,
        .drop_words = -1,
    };
}

struct json_object *sq_req_search(const struct sq_search_params *p)
{
    if (sq_search_check(p, NULL) != SQ_OK) {
        return NULL;
    }
    struct json_object *req = req_new("search", p->index);
    req_put_str(&req, "q", p->q ? p->q : "");
    req_put_str(&req, "syntax", p->syntax);
    req_put_bool(&req, "prefix_last", p->prefix_last);
    req_put_bool(&req, "drop_words", p->drop_words);
    req_put_bool(&req, "highlight", p->highlight);
    req_put_bool(&req, "highlight_offsets", p->highlight_offsets);
    req_put_int(&req, "snippet_len", p->snippet_len);
    req_put_int(&req, "fragments", p->fragments);
    req_put_int(&req, "limit", p->limit);
    req_put_int(&req, "offset", p->offset);
    req_put_str(&req, "filter", p->filter);
    req_put_str(&req, "sort", p->sort);
    req_put_str(&req, "facets", p->facets);
    req_put_str(&req, "fields", p->fields);
    req_put_str(&req, "highlight_pre", p->highlight_pre);
    req_put_str(&req, "highlight_post", p->highlight_post);
    req_put_bool(&req, "snippet", p->snippet);
    req_put_bool(&req, "layout", p->layout);
    req_put_bool(&req, "typo", p->typo);
    req_put_ref(&req, "weights", p->weights);
    req_put_proximity(&req, p->proximity);
    return req;
}

struct json_object *sq_req_add(const char *index, struct json_object *docs)
{
    struct json_object *req = req_new("add", index);
    bool is_batch = json_object_is_type(docs, json_type_array);
    req_put_ref(&req, is_batch ? "docs" : "doc", docs);
    return req;
}

struct json_object *sq_req_get(const char *index, const char *id)
{
    struct json_object *req = req_new("get", index);
    req_put(&req, "id", json_object_new_string(id ? id : ""));
    return req;
}

struct json_object *sq_req_delete(const char *index, const char *id)
{
    struct json_object *req = req_new("delete", index);
    req_put(&req, "id", json_object_new_string(id ? id : ""));
    return req;
}

/* "ids": every id as given, even 0 or more than the server takes: how many it takes is its
 * rule, and its bad_request says so. */
struct json_object *sq_req_delete_ids(const char *index, const char *const *ids, size_t count)
{
    struct json_object *req = req_new("delete", index);
    struct json_object *arr = req ? json_object_new_array() : NULL;
    for (size_t i = 0; arr && i < count; i++) {
        struct json_object *id = json_object_new_string(ids[i] ? ids[i] : "");
        if (!id || json_object_array_add(arr, id) != 0) {
            json_object_put(id);
            json_object_put(arr);
            arr = NULL;
        }
    }
    req_put(&req, "ids", arr);
    return req;
}

struct json_object *sq_req_stats(const char *index)
{
    return req_new("stats", index);
}

struct json_object *sq_req_health(void)
{
    return req_new("health", NULL);
}

struct json_object *sq_req_indexes(void)
{
    return req_new("indexes", NULL);
}

struct json_object *sq_req_auth(const char *key)
{
    struct json_object *req = req_new("auth", NULL);
    req_put(&req, "key", json_object_new_string(key ? key : ""));
    return req;
}

/* The server requires "settings": NULL (the default settings) is sent as {}. */
struct json_object *sq_req_create_index(const char *name, struct json_object *settings)
{
    struct json_object *req = req_new("create_index", name);
    req_put(&req, "settings", settings ? json_object_get(settings) : json_object_new_object());
    return req;
}

struct json_object *sq_req_set_settings(const char *name, struct json_object *settings)
{
    struct json_object *req = req_new("set_settings", name);
    req_put_ref(&req, "settings", settings);
    return req;
}

/* set_settings with "merge": true; true only, as false is what sq_req_set_settings sends. */
struct json_object *sq_req_merge_settings(const char *name, struct json_object *patch)
{
    struct json_object *req = req_new("set_settings", name);
    req_put_ref(&req, "settings", patch);
    req_put_bool(&req, "merge", 1);
    return req;
}

struct json_object *sq_req_get_settings(const char *name)
{
    return req_new("get_settings", name);
}

struct json_object *sq_req_drop_index(const char *name)
{
    return req_new("drop_index", name);
}

struct json_object *sq_req_snapshot(const char *index, const char *name)
{
    struct json_object *req = req_new("snapshot", index);
    req_put(&req, "name", json_object_new_string(name ? name : ""));
    return req;
}

/* ---- one call each ---- */

int sq_search(struct sq_conn *c, const struct sq_search_params *p, struct json_object **answer,
              struct sq_error *err)
{
    *answer = NULL;
    int rc = sq_search_check(p, err);
    if (rc != SQ_OK) {
        return rc;
    }
    return sq_call(c, sq_req_search(p), answer, err);
}

int sq_add(struct sq_conn *c, const char *index, struct json_object *docs,
           struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_add(index, docs), answer, err);
}

int sq_get(struct sq_conn *c, const char *index, const char *id, struct json_object **answer,
           struct sq_error *err)
{
    return sq_call(c, sq_req_get(index, id), answer, err);
}

int sq_delete(struct sq_conn *c, const char *index, const char *id, struct json_object **answer,
              struct sq_error *err)
{
    return sq_call(c, sq_req_delete(index, id), answer, err);
}

int sq_delete_ids(struct sq_conn *c, const char *index, const char *const *ids, size_t count,
                  struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_delete_ids(index, ids, count), answer, err);
}

int sq_stats(struct sq_conn *c, const char *index, struct json_object **answer,
             struct sq_error *err)
{
    return sq_call(c, sq_req_stats(index), answer, err);
}

int sq_health(struct sq_conn *c, struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_health(), answer, err);
}

int sq_indexes(struct sq_conn *c, struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_indexes(), answer, err);
}

int sq_create_index(struct sq_conn *c, const char *name, struct json_object *settings,
                    struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_create_index(name, settings), answer, err);
}

int sq_set_settings(struct sq_conn *c, const char *name, struct json_object *settings,
                    struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_set_settings(name, settings), answer, err);
}

int sq_merge_settings(struct sq_conn *c, const char *name, struct json_object *patch,
                      struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_merge_settings(name, patch), answer, err);
}

int sq_get_settings(struct sq_conn *c, const char *name, struct json_object **answer,
                    struct sq_error *err)
{
    return sq_call(c, sq_req_get_settings(name), answer, err);
}

int sq_drop_index(struct sq_conn *c, const char *name, struct json_object **answer,
                  struct sq_error *err)
{
    return sq_call(c, sq_req_drop_index(name), answer, err);
}

int sq_snapshot(struct sq_conn *c, const char *index, const char *name, struct json_object **answer,
                struct sq_error *err)
{
    return sq_call(c, sq_req_snapshot(index, name), answer, err);
}

int sq_auth(struct sq_conn *c, const char *key, struct json_object **answer, struct sq_error *err)
{
    return sq_call(c, sq_req_auth(key), answer, err);
}
