/*
 * proto_int.h: private to daemon/proto (never included from outside): what its files share.
 *
 * A request is read by one file a job, and each function below has one owner:
 *   proto_request.c    codes, op names, errors, a request's lifetime (all public, proto.h)
 *   proto_json_read.c  text -> json-c tree, with the checks json-c lacks (the prescan)
 *   proto_members.c    one member of an object read as its type; unknown members refused
 *   proto_search.c     a search's members; the checks GET /search's query string shares
 *   proto_docs.c       documents and ids: add, get, delete
 *   proto_lists.c      the "facets" and "fields" lists; the tables of known parameters
 *   proto_line.c       the line protocol: "op", "index" and the index ops' members
 *   proto_http.c       the HTTP routes and the query string
 * (proto_json.c is the other direction: answers out.) Strings a request holds point into
 * its json-c tree (req->root) or its decoded text (req->text), both owned by the request.
 */
#ifndef SEARCHD_PROTO_INT_H
#define SEARCHD_PROTO_INT_H

#include "proto.h"

struct json_object;

/* ---- proto_json_read.c ---- */

/* The message for a number past a double's range in a stored value (a document's field,
 * settings), after "what: ". */
#define PROTO_NOT_FINITE                                                                           \
    "a number past a double's range (about 1.8e308 either way); send it as a string"

/* The whole of s[0, len) must be one JSON object: bad_utf8, too_large, bad_json, or
 * bad_request (a NUL in a key, an integer out of range, a key twice). On success *out is
 * owned by the caller (json_object_put); on an error the caller owns nothing new. */
enum proto_code proto_json_parse_object(const char *s, size_t len, struct json_object **out,
                                        struct proto_error *err);

/* POST /docs's body: one JSON object or several separated by whitespace (NDJSON), checked as
 * proto_json_parse_object checks one, at most PROTO_MAX_BATCH. *root becomes a new array of
 * them, owned by the caller, and stays set when an error follows its creation (the caller
 * frees it either way). An empty body is an empty array. */
enum proto_code proto_json_parse_ndjson(const char *body, size_t len, struct json_object **root,
                                        struct proto_error *err);

/* bad_request when a string anywhere in v (borrowed) holds U+0000; what names the member
 * holding v, for the message. */
enum proto_code proto_refuse_nul_strings(struct json_object *v, const char *what,
                                         struct proto_error *err);

/* False when a double anywhere in v (borrowed) is not finite (json-c reads 1e999 as Inf). */
bool proto_json_all_finite(struct json_object *v);

/* Whether the NUL-terminated s is one JSON number and nothing else. */
bool proto_is_json_number(const char *s);

/* ---- proto_members.c (obj borrowed; values returned point into it) ---- */

/* The member key of obj, NULL when absent or null; *present says which. */
struct json_object *proto_member(struct json_object *obj, const char *key, bool *present);

/* An integer member in [0, max] into *out; absent leaves *out as it is. */
enum proto_code proto_get_uint(struct json_object *obj, const char *key, uint32_t max,
                               uint32_t *out, struct proto_error *err);

/* A boolean member; absent leaves *out as it is. */
enum proto_code proto_get_bool(struct json_object *obj, const char *key, bool *out,
                               struct proto_error *err);

/* A string member into *out and *len; absent leaves them as they are. */
enum proto_code proto_get_string(struct json_object *obj, const char *key, const char **out,
                                 size_t *len, struct proto_error *err);

/* Every member of obj must be "index", one of names (NULL-terminated), or "op" when
 * takes_op: else bad_request "unknown parameter 'x'". */
enum proto_code proto_check_members_known(struct json_object *obj, const char *const *names,
                                          bool takes_op, struct proto_error *err);

/* ---- proto_search.c ---- */

/* The members of a search in obj (borrowed from req->root) into req. */
enum proto_code proto_get_search(struct json_object *obj, struct proto_request *req,
                                 struct proto_error *err);

/* Adds the weight w of field name[0, name_len) (borrowed: it must live as long as req). */
enum proto_code proto_add_weight(struct proto_request *req, const char *name, size_t name_len,
                                 double w, struct proto_error *err);

/* "syntax": s[0, len) is "full" or "simple". */
enum proto_code proto_syntax_from(const char *s, size_t len, struct proto_request *req,
                                  struct proto_error *err);

/* "proximity": a weight in [0, QRY_MAX_PROXIMITY], else bad_request (callers pass -1 for a
 * value that is no number). */
enum proto_code proto_set_proximity(double w, struct proto_request *req, struct proto_error *err);

/* bad_request with the documented range of key, "snippet_len" or "fragments". */
enum proto_code proto_hl_range_error(const char *key, struct proto_error *err);

/* The snippet and highlight options once read (UINT32_MAX: not given): checked, then stored
 * in req->search_opts. */
enum proto_code proto_check_hl_opts(uint32_t snippet_len, uint32_t fragments, bool hl_extras,
                                    struct proto_request *req, struct proto_error *err);

/* "prefix_last" needs the simple syntax. */
enum proto_code proto_check_prefix_last(const struct proto_request *req, struct proto_error *err);

/* "drop_words" (present: value) needs the simple syntax; absent, it follows the syntax. */
enum proto_code proto_set_drop_words(struct proto_request *req, bool present, bool value,
                                     struct proto_error *err);

/* ---- proto_docs.c ---- */

/* An id[0, len), named name in what's messages: 1 to PROTO_MAX_ID bytes, no NUL. */
enum proto_code proto_check_id(const char *what, const char *name, const char *id, size_t len,
                               struct proto_error *err);

/* The "id" member of obj (borrowed): a string or an integer (as its decimal string). */
enum proto_code proto_get_id(struct json_object *obj, const char *what, const char **id,
                             size_t *len, struct proto_error *err);

/* delete's "id" (req->id) or "ids" (a batch in req->ops, owned by req). */
enum proto_code proto_get_delete(struct json_object *obj, struct proto_request *req,
                                 struct proto_error *err);

/* add's "doc" or "docs" (into req->ops and req->fields, owned by req). */
enum proto_code proto_get_add(struct json_object *obj, struct proto_request *req,
                              struct proto_error *err);

/* Upserts for docs[0, n) (json objects borrowed from req->root; is_one: the one "doc"). */
enum proto_code proto_parse_docs(struct json_object **docs, size_t n, bool is_one,
                                 struct proto_request *req, struct proto_error *err);

/* ---- proto_line.c ---- */

/* The members snapshot takes (NULL-terminated), in a line or in POST .../snapshot's body. */
extern const char *const proto_snapshot_members[];

/* req->index from name[0, len) (copied), a valid index name. */
enum proto_code proto_set_index(struct proto_request *req, const char *name, size_t len,
                                struct proto_error *err);

/* The "index" member of obj, when present, as proto_set_index. */
enum proto_code proto_get_index(struct json_object *obj, struct proto_request *req,
                                struct proto_error *err);

/* req->settings: the settings object v (borrowed from req->root) as compact JSON text. */
enum proto_code proto_set_settings_text(struct json_object *v, struct proto_request *req,
                                        struct proto_error *err);

/* snapshot's "name" (copied into req->snapshot), a valid index name. */
enum proto_code proto_get_snapshot_name(struct json_object *obj, struct proto_request *req,
                                        struct proto_error *err);

/* ---- proto_lists.c ---- */

/* A list parameter of a search: "facets" or "fields". */
enum proto_list {
    PROTO_LIST_FACETS = 0,
    PROTO_LIST_FIELDS = 1,
};

/* The parameter's wire name: "facets" or "fields". */
const char *proto_list_name(enum proto_list which);

/* Appends item (NUL-terminated, len bytes, borrowed: it must live as long as req) to the list
 * of req, after checking it: not empty, no NUL inside, a field name of 1..SEG_MAX_NAME bytes
 * (a facet spec's field is the part before ':'), at most IDX_MAX_FACETS / IDX_MAX_CHOSEN
 * items, and no facet field or chosen name twice. bad_request naming the parameter. */
enum proto_code proto_list_add(struct proto_request *req, enum proto_list which, const char *item,
                               size_t len, struct proto_error *err);

/* Splits s[0, len) at commas, trimming spaces around each item, and adds every item with
 * proto_list_add. s must be writable, NUL-terminated at len, and live as long as req: the
 * items are cut in place. An empty s is an empty list. */
enum proto_code proto_list_split(struct proto_request *req, enum proto_list which, char *s,
                                 size_t len, struct proto_error *err);

/* True when key is one of names[0..] (a NULL-terminated table). */
bool proto_is_known(const char *const *names, const char *key);

/* The members every search takes, on both protocols, besides "index" (NULL-terminated). */
extern const char *const proto_search_params[];

#endif
