/*
 * proto_members.c: one member of a request object, read as the type it must have (an integer
 * in a range, a boolean, a string): absent, the caller's default stays; present with another
 * type or out of range, it is bad_request naming the member. And the check that an object
 * holds no member its op does not take (issue 11).
 */
#include <string.h>

#include <json-c/json.h>

#include "proto.h"
#include "proto_int.h"

struct json_object *proto_member(struct json_object *obj, const char *key, bool *present)
{
    struct json_object *v = NULL;
    *present = json_object_object_get_ex(obj, key, &v);
    return v;
}

enum proto_code proto_get_uint(struct json_object *obj, const char *key, uint32_t max,
                               uint32_t *out, struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, key, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be an integer", key);
    }
    int64_t n = json_object_get_int64(v);
    if (n < 0 || n > (int64_t)max) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", key, max);
    }
    *out = (uint32_t)n;
    return PROTO_OK;
}

/* A boolean member; absent leaves *out as it is. */
enum proto_code proto_get_bool(struct json_object *obj, const char *key, bool *out,
                               struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, key, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be true or false", key);
    }
    *out = json_object_get_boolean(v);
    return PROTO_OK;
}

enum proto_code proto_get_string(struct json_object *obj, const char *key, const char **out,
                                 size_t *len, struct proto_error *err)
{
    bool present;
    struct json_object *v = proto_member(obj, key, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be a string", key);
    }
    *out = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return PROTO_OK;
}

/* Every member of obj must be "index" or one of names (NULL-terminated). */
enum proto_code proto_check_members_known(struct json_object *obj, const char *const *names,
                                          bool takes_op, struct proto_error *err)
{
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        if (proto_is_known(names, key) || strcmp(key, "index") == 0 ||
            (takes_op && strcmp(key, "op") == 0)) {
            continue;
        }
        return proto_errorf(err, PROTO_BAD_REQUEST, "unknown parameter '%.*s'",
                            (int)sd_utf8_cut(key, strlen(key), 64), key);
    }
    return PROTO_OK;
}
