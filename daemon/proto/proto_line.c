/*
 * proto_line.c: one line of the line protocol -> struct proto_request, or an error code; and
 * the members that are neither a search's nor a document's: "index", auth's "key",
 * "settings" and a snapshot's "name" (the HTTP routes read all but "key" with these too).
 *
 * Order of checks, the same for both protocols (parse -> validate; nothing
 * here acts): the raw bytes must be valid UTF-8 (bad_utf8), then parse as JSON
 * with json-c in strict mode and a depth limit (bad_json), then the members:
 * "op" (bad_request when missing, unknown_op when unknown), "index"
 * ([a-z0-9_-], 1..64 bytes), then the op's own members (bad_request for a
 * missing member, a wrong type or a value out of range). A member the op does
 * not take, like an HTTP query-string key or a search body member the route
 * does not take, is bad_request "unknown parameter 'x'" (issue 11): a
 * misspelt "fitler" would otherwise answer unfiltered hits with 200.
 *
 * The size of the whole request is the server's check (--max-request), made before any byte
 * is parsed.
 */
#include <string.h>

#include <json-c/json.h>

#include "proto.h"
#include "proto_int.h"

enum proto_code proto_set_index(struct proto_request *req, const char *name, size_t len,
                                struct proto_error *err)
{
    if (!idx_name_valid(name, len) || len > IDX_MAX_NAME) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "bad index name: use [a-z0-9_-], 1 to %d bytes, not starting with '-'",
                            IDX_MAX_NAME);
    }
    memcpy(req->index, name, len);
    req->index[len] = '\0';
    return PROTO_OK;
}

enum proto_code proto_get_index(struct json_object *obj, struct proto_request *req,
                                struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, "index", &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'index' must be a string");
    }
    return proto_set_index(req, json_object_get_string(v), (size_t)json_object_get_string_len(v),
                           err);
}

/* auth: "key", a string of 1 to PROTO_MAX_KEY bytes. */
static enum proto_code get_key(struct json_object *obj, struct proto_request *req,
                               struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, "key", &present);
    if (!present || !json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "auth: 'key' must be a string");
    }
    req->key = json_object_get_string(v);
    req->key_len = (size_t)json_object_get_string_len(v);
    if (req->key_len == 0 || req->key_len > PROTO_MAX_KEY) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "auth: 'key' must be 1 to %d bytes",
                            PROTO_MAX_KEY);
    }
    return PROTO_OK;
}

/* What each line op takes besides "op": its members, and whether "index" is refused (the
 * op is about no index), optional ("default" when absent) or required (index management,
 * where a default would make a typo drop or replace the wrong index). */
enum line_index { LINE_INDEX_NONE, LINE_INDEX_OPTIONAL, LINE_INDEX_REQUIRED };

static const char *const no_members[] = {NULL};
static const char *const add_members[] = {"doc", "docs", NULL};
static const char *const id_members[] = {"id", NULL};
static const char *const delete_members[] = {"id", "ids", NULL};
static const char *const key_members[] = {"key", NULL};
static const char *const settings_members[] = {"settings", NULL};
static const char *const set_settings_members[] = {"settings", "merge", NULL};
const char *const proto_snapshot_members[] = {"name", NULL};

static const struct line_op {
    const char *name;
    enum proto_op op;
    const char *const *members;
    enum line_index index;
} line_ops[] = {
    {"search", PROTO_OP_SEARCH, proto_search_params, LINE_INDEX_OPTIONAL},
    {"add", PROTO_OP_ADD, add_members, LINE_INDEX_OPTIONAL},
    {"get", PROTO_OP_GET, id_members, LINE_INDEX_OPTIONAL},
    {"delete", PROTO_OP_DELETE, delete_members, LINE_INDEX_OPTIONAL},
    {"stats", PROTO_OP_STATS, no_members, LINE_INDEX_OPTIONAL},
    {"health", PROTO_OP_HEALTH, no_members, LINE_INDEX_NONE},
    {"auth", PROTO_OP_AUTH, key_members, LINE_INDEX_NONE},
    {"indexes", PROTO_OP_INDEXES, no_members, LINE_INDEX_NONE},
    {"create_index", PROTO_OP_CREATE_INDEX, settings_members, LINE_INDEX_REQUIRED},
    {"set_settings", PROTO_OP_SET_SETTINGS, set_settings_members, LINE_INDEX_REQUIRED},
    {"get_settings", PROTO_OP_GET_SETTINGS, no_members, LINE_INDEX_REQUIRED},
    {"drop_index", PROTO_OP_DROP_INDEX, no_members, LINE_INDEX_REQUIRED},
    {"snapshot", PROTO_OP_SNAPSHOT, proto_snapshot_members, LINE_INDEX_REQUIRED},
};

static const struct line_op *line_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof line_ops / sizeof line_ops[0]; i++) {
        if (strcmp(name, line_ops[i].name) == 0) {
            return &line_ops[i];
        }
    }
    return NULL;
}

/* Settings (a JSON object, borrowed from req->root) for the engine: compact JSON text in
 * json-c's print buffer of v, valid as long as req->root. */
enum proto_code proto_set_settings_text(struct json_object *v, struct proto_request *req,
                                        struct proto_error *err)
{
    if (!proto_json_all_finite(v)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "settings: " PROTO_NOT_FINITE);
    }
    req->settings =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    req->settings_len = strlen(req->settings);
    return PROTO_OK;
}

/* create_index, set_settings: "settings", a JSON object. */
static enum proto_code get_settings_member(struct json_object *obj, struct proto_request *req,
                                           struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, "settings", &present);
    if (!present || !json_object_is_type(v, json_type_object)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: 'settings' must be a JSON object",
                            proto_op_name(req->op));
    }
    return proto_set_settings_text(v, req, err);
}

/* snapshot: "name", a string that is a valid index name (it becomes a directory name under
 * --snapshot-dir, so it can never be a path). */
enum proto_code proto_get_snapshot_name(struct json_object *obj, struct proto_request *req,
                                        struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, "name", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "snapshot: missing 'name'");
    }
    if (!json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "snapshot: 'name' must be a string");
    }
    const char *name = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (!idx_name_valid(name, len) || strlen(name) != len) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "snapshot: bad name: use [a-z0-9_-], 1 to %d bytes, not starting "
                            "with '-'",
                            IDX_MAX_NAME);
    }
    memcpy(req->snapshot, name, len);
    req->snapshot[len] = '\0';
    return PROTO_OK;
}

/* The op's own members, once "op" and "index" are known good. */
static enum proto_code parse_op_members(struct proto_request *req, struct proto_error *err)
{
    switch (req->op) {
    case PROTO_OP_SEARCH:
        return proto_get_search(req->root, req, err);
    case PROTO_OP_ADD:
        return proto_get_add(req->root, req, err);
    case PROTO_OP_GET:
        return proto_get_id(req->root, proto_op_name(req->op), &req->id, &req->id_len, err);
    case PROTO_OP_DELETE:
        return proto_get_delete(req->root, req, err);
    case PROTO_OP_AUTH:
        return get_key(req->root, req, err);
    case PROTO_OP_CREATE_INDEX:
        return get_settings_member(req->root, req, err);
    case PROTO_OP_SET_SETTINGS: {
        enum proto_code rc = proto_get_bool(req->root, "merge", &req->is_settings_merge, err);
        return rc ? rc : get_settings_member(req->root, req, err);
    }
    case PROTO_OP_SNAPSHOT:
        return proto_get_snapshot_name(req->root, req, err);
    default:
        return PROTO_OK;
    }
}

/* The members of a line-protocol request object (req->root). */
static enum proto_code parse_line_members(struct proto_request *req, struct proto_error *err)
{
    bool present;
    struct json_object *opv = proto_member(req->root, "op", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "missing 'op'");
    }
    if (!json_object_is_type(opv, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'op' must be a string");
    }
    const struct line_op *lo = line_op_find(json_object_get_string(opv));
    if (!lo) {
        return proto_errorf(err, PROTO_UNKNOWN_OP, "unknown op '%.*s'",
                            (int)sd_utf8_cut(json_object_get_string(opv),
                                             (size_t)json_object_get_string_len(opv), 64),
                            json_object_get_string(opv));
    }
    req->op = lo->op;
    bool has_index = json_object_object_get_ex(req->root, "index", NULL);
    if (has_index && lo->index == LINE_INDEX_NONE) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "unknown parameter 'index' (%s names no index)",
                            lo->name);
    }
    if (!has_index && lo->index == LINE_INDEX_REQUIRED) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: missing 'index'", lo->name);
    }
    enum proto_code rc = proto_check_members_known(req->root, lo->members, true, err);
    if (rc == PROTO_OK) {
        rc = proto_get_index(req->root, req, err);
    }
    return rc ? rc : parse_op_members(req, err);
}

/* proto_refuse_nul_strings() of a line request's members but its documents. */
static enum proto_code refuse_nul_params(struct json_object *root, struct proto_error *err)
{
    json_object_object_foreach(root, key, val)
    {
        bool is_doc = strcmp(key, "doc") == 0 || strcmp(key, "docs") == 0;
        enum proto_code rc = is_doc ? PROTO_OK : proto_refuse_nul_strings(val, key, err);
        if (rc) {
            return rc;
        }
    }
    return PROTO_OK;
}

enum proto_code proto_parse_line(const char *line, size_t len, struct proto_request *req,
                                 struct proto_error *err)
{
    proto_request_free(req);
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    enum proto_code rc = proto_json_parse_object(line, len, &req->root, err);
    if (rc == PROTO_OK) {
        rc = parse_line_members(req, err);
    }
    return rc ? rc : refuse_nul_params(req->root, err);
}
