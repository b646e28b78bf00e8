/*
 * proto_docs.c: documents and ids, the members of add ("doc" or "docs"), get ("id") and
 * delete ("id" or "ids"), read for the line protocol and the HTTP routes alike. A document's
 * fields point into the json-c tree the request owns (req->root).
 *
 * Limits (PROTOCOL.md): ids 1..512 bytes (an integer id becomes its decimal string), field
 * names 1..64 bytes, at most 64 fields besides the id, at most 10000 documents a batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto.h"
#include "proto_int.h"

/* An id, named name ("'id'", "ids[3]") in what's messages: 1 to PROTO_MAX_ID bytes, no NUL. */
enum proto_code proto_check_id(const char *what, const char *name, const char *id, size_t len,
                               struct proto_error *err)
{
    if (len == 0 || len > PROTO_MAX_ID) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: %s must be 1 to %d bytes", what, name,
                            PROTO_MAX_ID);
    }
    if (memchr(id, '\0', len)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: %s must not contain NUL", what, name);
    }
    return PROTO_OK;
}

/* An id's value v: a string, or an integer stored as its decimal string (the text lives in
 * v's own print buffer, valid as long as v). */
static enum proto_code id_value(struct json_object *v, const char *what, const char *name,
                                const char **id, size_t *len, struct proto_error *err)
{
    if (json_object_is_type(v, json_type_string)) {
        *id = json_object_get_string(v);
        *len = (size_t)json_object_get_string_len(v);
    } else if (json_object_is_type(v, json_type_int)) {
        *id = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        *len = strlen(*id);
    } else {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: %s must be a string or an integer", what,
                            name);
    }
    return proto_check_id(what, name, *id, *len, err);
}

/* An id member. */
enum proto_code proto_get_id(struct json_object *obj, const char *what, const char **id,
                             size_t *len, struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, "id", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: missing 'id'", what);
    }
    return id_value(v, what, "'id'", id, len, err);
}

/* delete: "id", one document (not_found when it is missing), or "ids", 1 to PROTO_MAX_BATCH of
 * them deleted in one write, as add's "docs" are added (the answer counts the missing ones). */
enum proto_code proto_get_delete(struct json_object *obj, struct proto_request *req,
                                 struct proto_error *err)
{
    bool has_id, has_ids;
    proto_member(obj, "id", &has_id);
    struct json_object *ids = proto_member(obj, "ids", &has_ids);
    if (has_id == has_ids) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "delete needs 'id' or 'ids' (one of them)");
    }
    if (has_id) {
        return proto_get_id(obj, "delete", &req->id, &req->id_len, err);
    }
    size_t n = json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    if (n == 0 || n > PROTO_MAX_BATCH) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "delete: 'ids' must be an array of 1 to %d ids",
                            PROTO_MAX_BATCH);
    }
    req->ops = calloc(n, sizeof *req->ops);
    if (!req->ops) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "ids[%zu]", i);
        req->ops[i].type = IDX_OP_DELETE;
        struct seg_doc *d = &req->ops[i].doc;
        enum proto_code rc =
            id_value(json_object_array_get_idx(ids, i), "delete", name, &d->id, &d->id_len, err);
        if (rc) {
            return rc;
        }
    }
    req->nops = n;
    return PROTO_OK;
}

/* Fills op from one document object, docs[n] of a batch, or the one "doc" (is_one: messages
 * name it so); its fields go to fields[0..] (room for SEG_MAX_FIELDS). */
static enum proto_code parse_doc(struct json_object *doc, size_t n, bool is_one, struct idx_op *op,
                                 struct seg_field *fields, struct proto_error *err)
{
    char what[32] = "doc";
    if (!is_one) {
        snprintf(what, sizeof what, "docs[%zu]", n);
    }
    if (!json_object_is_type(doc, json_type_object)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: not a JSON object", what);
    }
    op->type = IDX_OP_UPSERT;
    enum proto_code rc = proto_get_id(doc, what, &op->doc.id, &op->doc.id_len, err);
    if (rc) {
        return rc;
    }
    size_t nf = 0;
    json_object_object_foreach(doc, key, val)
    {
        size_t klen = strlen(key);
        if (klen == 2 && memcmp(key, "id", 2) == 0) {
            continue;
        }
        if (klen == 0 || klen > SEG_MAX_NAME) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "%s: field names are 1 to %d bytes", what,
                                SEG_MAX_NAME);
        }
        if (nf >= SEG_MAX_FIELDS) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "%s: more than %d fields", what,
                                SEG_MAX_FIELDS);
        }
        struct seg_field *f = &fields[nf++];
        f->name = key;
        f->name_len = klen;
        if (json_object_is_type(val, json_type_string)) {
            f->value = json_object_get_string(val);
            f->value_len = (size_t)json_object_get_string_len(val);
            f->type = SEG_TEXT;
        } else {
            if (!proto_json_all_finite(val)) {
                return proto_errorf(err, PROTO_BAD_REQUEST, "%s: '%.*s': " PROTO_NOT_FINITE, what,
                                    (int)sd_utf8_cut(key, strlen(key), 64), key);
            }
            /* stored as given, not indexed; "null" for a JSON null (val NULL) */
            f->value = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
            f->value_len = strlen(f->value);
            f->type = SEG_RAW;
        }
    }
    op->doc.fields = fields;
    op->doc.nfields = nf;
    return PROTO_OK;
}

/* docs[0, n) are json objects (borrowed from req->root). */
enum proto_code proto_parse_docs(struct json_object **docs, size_t n, bool is_one,
                                 struct proto_request *req, struct proto_error *err)
{
    if (n > PROTO_MAX_BATCH) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "at most %d documents a request",
                            PROTO_MAX_BATCH);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = json_object_is_type(docs[i], json_type_object)
                       ? (size_t)json_object_object_length(docs[i])
                       : 0;
        total += c < SEG_MAX_FIELDS ? c : SEG_MAX_FIELDS; /* parse_doc stops beyond */
    }
    req->ops = calloc(n ? n : 1, sizeof *req->ops);
    req->fields = calloc(total + SEG_MAX_FIELDS, sizeof *req->fields);
    if (!req->ops || !req->fields) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        enum proto_code rc = parse_doc(docs[i], i, is_one, &req->ops[i], req->fields + used, err);
        if (rc) {
            return rc;
        }
        used += req->ops[i].doc.nfields;
    }
    req->nops = n;
    return PROTO_OK;
}

enum proto_code proto_get_add(struct json_object *obj, struct proto_request *req,
                              struct proto_error *err)
{
    bool has_doc, has_docs;
    struct json_object *doc = proto_member(obj, "doc", &has_doc);
    struct json_object *docs = proto_member(obj, "docs", &has_docs);
    if (has_doc == has_docs) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "add needs 'doc' or 'docs' (one of them)");
    }
    if (has_doc) {
        return proto_parse_docs(&doc, 1, true, req, err);
    }
    if (!json_object_is_type(docs, json_type_array)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'docs' must be an array");
    }
    size_t n = json_object_array_length(docs);
    if (n > PROTO_MAX_BATCH) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "at most %d documents a request",
                            PROTO_MAX_BATCH);
    }
    struct json_object **items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = json_object_array_get_idx(docs, i);
    }
    enum proto_code rc = proto_parse_docs(items, n, false, req, err);
    free(items);
    return rc;
}
