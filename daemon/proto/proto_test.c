/*
 * proto_test.c: unit tests of the wire protocol module (test_proto).
 *
 * Every error code the parser can produce, the limits of PROTOCOL.md at and
 * past their edges, both HTTP body forms, percent-decoding, and the JSON
 * encoder: whatever bytes it is given, its output must parse as JSON (json-c,
 * strict) and be valid UTF-8.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "proto.h"

/* ---- helpers ---- */

static enum proto_code parse_line(const char *text, struct proto_request *req,
                                  struct proto_error *err)
{
    return proto_parse_line(text, strlen(text), req, err);
}

static enum proto_code line_code(const char *text)
{
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    enum proto_code rc = parse_line(text, &req, &err);
    proto_request_free(&req);
    return rc;
}

static enum proto_code http_code(enum proto_method m, const char *uri, const char *body,
                                 struct proto_error *err)
{
    struct proto_request req;
    proto_request_init(&req);
    enum proto_code rc =
        proto_parse_http(m, uri, strlen(uri), body, body ? strlen(body) : 0, &req, err);
    proto_request_free(&req);
    return rc;
}

static void assert_line(const char *text, enum proto_code code, const char *msg)
{
    struct proto_request req;
    struct proto_error err = {0};
    proto_request_init(&req);
    enum proto_code rc = parse_line(text, &req, &err);
    proto_request_free(&req);
    if (rc != code || (msg && strcmp(err.msg, msg) != 0)) {
        fail_msg("%s: got %s '%s', want %s '%s'", text, proto_code_name(rc), rc ? err.msg : "",
                 proto_code_name(code), msg ? msg : "");
    }
}

static void assert_http(enum proto_method m, const char *uri, const char *body,
                        enum proto_code code, const char *msg)
{
    struct proto_error err = {0};
    enum proto_code rc = http_code(m, uri, body, &err);
    if (rc != code || (msg && strcmp(err.msg, msg) != 0)) {
        fail_msg("%s: got %s '%s', want %s '%s'", uri, proto_code_name(rc), rc ? err.msg : "",
                 proto_code_name(code), msg ? msg : "");
    }
}

/* out must be one strict JSON value and valid UTF-8. */
static struct json_object *must_parse(const struct sd_buf *out)
{
    assert_int_equal(out->rc, 0);
    assert_true(stem_utf8_valid((const char *)out->data, out->len));
    struct json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *obj = json_tokener_parse_ex(tok, (const char *)out->data, (int)out->len);
    if (!obj) {
        fprintf(stderr, "not JSON: %.*s\n", (int)out->len, (const char *)out->data);
    }
    assert_non_null(obj);
    assert_int_equal(json_tokener_get_parse_end(tok), out->len);
    json_tokener_free(tok);
    return obj;
}

/* ---- line protocol: success ---- */

static void test_proto_line_search_all_members_parsed(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"цифровая дипломатия\",\"limit\":0,"
                                "\"offset\":100000,\"index\":\"ru_1\",\"snippet\":false,"
                                "\"weights\":{\"title\":3,\"body\":0.5}}\r",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_SEARCH);
    assert_string_equal(req.q, "цифровая дипломатия");
    assert_int_equal(req.q_len, strlen("цифровая дипломатия"));
    assert_int_equal(req.limit, 0);
    assert_int_equal(req.offset, 100000);
    assert_string_equal(req.index, "ru_1");
    assert_false(req.snippet);
    assert_int_equal(req.nweights, 2);
    assert_string_equal(req.weights[0].field, "title");
    assert_true(req.weights[0].weight == 3.0f);
    assert_string_equal(req.weights[1].field, "body");
    assert_true(req.weights[1].weight == 0.5f);
    proto_request_free(&req);
}

static void test_proto_line_search_defaults(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.limit, PROTO_DEFAULT_LIMIT);
    assert_int_equal(req.offset, 0);
    assert_true(req.snippet);
    assert_string_equal(req.index, "default");
    assert_int_equal(req.nweights, 0);
    proto_request_free(&req);
    proto_request_free(&req); /* idempotent */
}

static void test_proto_line_add_doc_fields_in_order_raw_as_json(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"add\",\"doc\":{\"title\":\"T\",\"id\":42,\"n\":1.50,"
                                "\"tags\":[\"a\", \"b/c\"],\"z\":null,\"o\":{\"k\" : true},"
                                "\"body\":\"B\\u0000x\"}}",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_ADD);
    assert_int_equal(req.nops, 1);
    const struct seg_doc *d = &req.ops[0].doc;
    assert_int_equal(req.ops[0].type, IDX_OP_UPSERT);
    assert_int_equal(d->id_len, 2);
    assert_memory_equal(d->id, "42", 2);
    assert_int_equal(d->nfields, 6);
    const char *names[] = {"title", "n", "tags", "z", "o", "body"};
    const char *values[] = {"T", "1.50", "[\"a\",\"b/c\"]", "null", "{\"k\":true}", "B\0x"};
    const uint8_t types[] = {SEG_TEXT, SEG_RAW, SEG_RAW, SEG_RAW, SEG_RAW, SEG_TEXT};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(d->fields[i].name_len, strlen(names[i]));
        assert_memory_equal(d->fields[i].name, names[i], strlen(names[i]));
        assert_int_equal(d->fields[i].type, types[i]);
        size_t vlen = i == 5 ? 3 : strlen(values[i]);
        assert_int_equal(d->fields[i].value_len, vlen);
        assert_memory_equal(d->fields[i].value, values[i], vlen);
    }
    proto_request_free(&req);
}

static void test_proto_line_add_batch_and_empty_batch(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"add\",\"index\":\"b\",\"docs\":[{\"id\":\"a\",\"body\":"
                                "\"x\"},{\"id\":\"b\"},{\"id\":\"c\",\"t\":\"y\",\"u\":\"z\"}]}",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.nops, 3);
    assert_int_equal(req.ops[1].doc.nfields, 0);
    assert_int_equal(req.ops[2].doc.nfields, 2);
    assert_memory_equal(req.ops[2].doc.fields[1].name, "u", 1);
    assert_int_equal(parse_line("{\"op\":\"add\",\"docs\":[]}", &req, &err), PROTO_OK);
    assert_int_equal(req.nops, 0);
    proto_request_free(&req);
}

static void test_proto_line_get_delete_stats_health(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"get\",\"id\":\"a1\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_GET);
    assert_int_equal(req.id_len, 2);
    assert_int_equal(parse_line("{\"op\":\"delete\",\"id\":-7}", &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_DELETE);
    assert_memory_equal(req.id, "-7", 2);
    assert_int_equal(parse_line("{\"op\":\"stats\",\"index\":\"x-1\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_STATS);
    assert_string_equal(req.index, "x-1");
    assert_int_equal(parse_line(" {\"op\":\"health\"} ", &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_HEALTH);
    proto_request_free(&req);
}

/* ---- line protocol: every error ---- */

static void test_proto_line_bad_json(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "   ",
                         "garbage",
                         "{\"op\":\"search\"",
                         "[1,2]",
                         "\"op\"",
                         "5",
                         "null",
                         "{\"op\":\"stats\"} x",
                         "{\"op\":\"stats\"}{}",
                         "{'op':'stats'}",
                         "{\"op\":\"stats\",}",
                         "{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"x\":[1,{\"y\":NaN}]}}",
                         "{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"x\":-Infinity}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum proto_code rc = line_code(bad[i]);
        if (rc != PROTO_BAD_JSON) {
            fprintf(stderr, "case %zu: %s -> %s\n", i, bad[i], proto_code_name(rc));
        }
        assert_int_equal(rc, PROTO_BAD_JSON);
    }
}

static void test_proto_line_depth_over_limit_is_bad_json(void **state)
{
    (void)state;
    char text[512];
    size_t n = 0;
    n += (size_t)sprintf(text, "{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"x\":");
    for (int i = 0; i < PROTO_MAX_DEPTH + 2; i++) {
        text[n++] = '[';
    }
    for (int i = 0; i < PROTO_MAX_DEPTH + 2; i++) {
        text[n++] = ']';
    }
    memcpy(text + n, "}}", 3);
    assert_int_equal(line_code(text), PROTO_BAD_JSON);
}

static void test_proto_line_bad_utf8(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"op\":\"search\",\"q\":\"\xff\"}",             /* never valid */
        "{\"op\":\"search\",\"q\":\"\xc0\xaf\"}",         /* overlong '/' */
        "{\"op\":\"search\",\"q\":\"\xed\xa0\x80\"}",     /* surrogate */
        "{\"op\":\"search\",\"q\":\"\xd0\"}",             /* truncated sequence */
        "{\"op\":\"search\",\"q\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
        "\xef\xbb",                                       /* garbage that is also bad UTF-8 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(line_code(bad[i]), PROTO_BAD_UTF8);
    }
}

static void test_proto_line_bad_request(void **state)
{
    (void)state;
    char big_id[700], too_many[4096], long_name[256];
    snprintf(big_id, sizeof big_id, "{\"op\":\"get\",\"id\":\"%0513d\"}", 0);
    size_t n = (size_t)sprintf(too_many, "{\"op\":\"add\",\"doc\":{\"id\":\"a\"");
    for (int i = 0; i < SEG_MAX_FIELDS + 1; i++) {
        n += (size_t)sprintf(too_many + n, ",\"f%d\":\"v\"", i);
    }
    memcpy(too_many + n, "}}", 3);
    snprintf(long_name, sizeof long_name, "{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"%065d\":\"v\"}}",
             0);
    const char *bad[] = {
        "{}",
        "{\"op\":5}",
        "{\"op\":\"search\"}",
        "{\"op\":\"search\",\"q\":5}",
        "{\"op\":\"search\",\"q\":\"x\",\"limit\":-1}",
        "{\"op\":\"search\",\"q\":\"x\",\"limit\":1001}",
        "{\"op\":\"search\",\"q\":\"x\",\"limit\":1.5}",
        "{\"op\":\"search\",\"q\":\"x\",\"limit\":\"10\"}",
        "{\"op\":\"search\",\"q\":\"x\",\"limit\":99999999999999999999}",
        "{\"op\":\"search\",\"q\":\"x\",\"offset\":100001}",
        "{\"op\":\"search\",\"q\":\"x\",\"weights\":[1]}",
        "{\"op\":\"search\",\"q\":\"x\",\"weights\":{\"title\":-1}}",
        "{\"op\":\"search\",\"q\":\"x\",\"weights\":{\"title\":\"3\"}}",
        "{\"op\":\"search\",\"q\":\"x\",\"weights\":{\"title\":1001}}",
        "{\"op\":\"search\",\"q\":\"x\",\"weights\":{\"\":1}}",
        "{\"op\":\"search\",\"q\":\"x\",\"snippet\":0}",
        "{\"op\":\"search\",\"q\":\"x\",\"index\":\"Bad\"}",
        "{\"op\":\"search\",\"q\":\"x\",\"index\":\"\"}",
        "{\"op\":\"search\",\"q\":\"x\",\"index\":\"-x\"}",
        "{\"op\":\"search\",\"q\":\"x\",\"index\":7}",
        "{\"op\":\"get\"}",
        "{\"op\":\"get\",\"id\":\"\"}",
        "{\"op\":\"get\",\"id\":1.5}",
        "{\"op\":\"get\",\"id\":null}",
        "{\"op\":\"delete\",\"id\":\"a\\u0000b\"}",
        big_id,
        "{\"op\":\"add\"}",
        "{\"op\":\"add\",\"doc\":{\"id\":\"a\"},\"docs\":[]}",
        "{\"op\":\"add\",\"doc\":[1]}",
        "{\"op\":\"add\",\"doc\":{\"title\":\"no id\"}}",
        "{\"op\":\"add\",\"docs\":{\"id\":\"a\"}}",
        "{\"op\":\"add\",\"docs\":[{\"id\":\"a\"},5]}",
        "{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"\":\"v\"}}",
        too_many,
        long_name,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct proto_request req;
        struct proto_error err;
        proto_request_init(&req);
        enum proto_code rc = parse_line(bad[i], &req, &err);
        if (rc != PROTO_BAD_REQUEST) {
            fprintf(stderr, "case %zu: %s -> %s\n", i, bad[i], proto_code_name(rc));
        }
        assert_int_equal(rc, PROTO_BAD_REQUEST);
        assert_true(err.msg[0] != '\0');
        proto_request_free(&req);
    }
}

static void test_proto_line_limits_at_edge_accepted(void **state)
{
    (void)state;
    char id[700], fields[4096], name[256];
    snprintf(id, sizeof id, "{\"op\":\"get\",\"id\":\"%0512d\"}", 0);
    assert_int_equal(line_code(id), PROTO_OK);
    size_t n = (size_t)sprintf(fields, "{\"op\":\"add\",\"doc\":{\"id\":\"a\"");
    for (int i = 0; i < SEG_MAX_FIELDS; i++) {
        n += (size_t)sprintf(fields + n, ",\"f%d\":\"v\"", i);
    }
    memcpy(fields + n, "}}", 3);
    assert_int_equal(line_code(fields), PROTO_OK);
    snprintf(name, sizeof name, "{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"%064d\":\"v\"}}", 0);
    assert_int_equal(line_code(name), PROTO_OK);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"limit\":1000,\"offset\":0}"),
                     PROTO_OK);
}

static void test_proto_line_batch_over_limit_rejected(void **state)
{
    (void)state;
    size_t cap = (PROTO_MAX_BATCH + 2) * 12 + 64;
    char *text = malloc(cap);
    size_t n = (size_t)sprintf(text, "{\"op\":\"add\",\"docs\":[");
    for (int i = 0; i <= PROTO_MAX_BATCH; i++) {
        n += (size_t)sprintf(text + n, "%s{\"id\":%d}", i ? "," : "", i);
    }
    memcpy(text + n, "]}", 3);
    assert_int_equal(line_code(text), PROTO_BAD_REQUEST);
    free(text);
}

static void test_proto_line_unknown_op(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"frobnicate\"}", &req, &err), PROTO_UNKNOWN_OP);
    assert_non_null(strstr(err.msg, "frobnicate"));
    assert_int_equal(parse_line("{\"op\":\"SEARCH\",\"q\":\"x\"}", &req, &err), PROTO_UNKNOWN_OP);
    proto_request_free(&req);
}

/* ---- HTTP ---- */

static void test_proto_http_get_search_params(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    const char *uri = "/search?q=%D1%86%D0%B8%D1%84%D1%80%D0%BE%D0%B2%D0%B0%D1%8F+x&limit=5&"
                      "offset=7&weights=title:3,body:1.5&snippet=false&index=ru&&";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_SEARCH);
    assert_string_equal(req.q, "цифровая x");
    assert_int_equal(req.limit, 5);
    assert_int_equal(req.offset, 7);
    assert_false(req.snippet);
    assert_string_equal(req.index, "ru");
    assert_int_equal(req.nweights, 2);
    assert_string_equal(req.weights[1].field, "body");
    assert_true(req.weights[1].weight == 1.5f);
    proto_request_free(&req);
}

static void test_proto_http_search_errors(void **state)
{
    (void)state;
    struct proto_error err;
    assert_int_equal(http_code(PROTO_GET, "/search", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&limit=abc", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&limit=1001", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&limit=-1", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&offset=99999999999", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&weights=title", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&weights=title:z", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&snippet=maybe", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=%ZZ", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=%4", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=%FF", NULL, &err), PROTO_BAD_UTF8);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&index=A", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_POST, "/search", "{\"q\":\"x\",\"limit\":2}", &err), PROTO_OK);
    assert_int_equal(http_code(PROTO_POST, "/search", "{\"q\":", &err), PROTO_BAD_JSON);
    assert_int_equal(http_code(PROTO_POST, "/search", "{\"limit\":2}", &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_POST, "/search", "\"\xff\"", &err), PROTO_BAD_UTF8);
}

/* The index of a POST /search comes from the query string or from the body; named in both,
 * one of them would be ignored (it was: the query string's won). */
static void test_proto_http_post_search_index_from_either_not_both(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    const char *uri = "/search?index=a";
    const char *body = "{\"q\":\"x\",\"weights\":{\"title\":2}}";
    assert_int_equal(proto_parse_http(PROTO_POST, uri, strlen(uri), body, strlen(body), &req, &err),
                     PROTO_OK);
    assert_string_equal(req.index, "a");
    assert_int_equal(req.nweights, 1);
    proto_request_free(&req);
    proto_request_init(&req);
    body = "{\"q\":\"x\",\"index\":\"b\"}";
    assert_int_equal(
        proto_parse_http(PROTO_POST, "/search", strlen("/search"), body, strlen(body), &req, &err),
        PROTO_OK);
    assert_string_equal(req.index, "b");
    proto_request_free(&req);
    assert_http(PROTO_POST, "/search?index=a", "{\"q\":\"x\",\"index\":\"b\"}", PROTO_BAD_REQUEST,
                "the index is named twice: in the query string and in the body");
    assert_http(PROTO_POST, "/search?index=a", "{\"q\":\"x\",\"index\":\"a\"}", PROTO_BAD_REQUEST,
                NULL);
}

static void test_proto_http_routes_and_methods(void **state)
{
    (void)state;
    struct proto_error err;
    assert_int_equal(http_code(PROTO_GET, "/nope", NULL, &err), PROTO_UNKNOWN_PATH);
    assert_string_equal(err.msg, "no such path");
    assert_int_equal(http_code(PROTO_GET, "/", NULL, &err), PROTO_UNKNOWN_PATH);
    assert_int_equal(http_code(PROTO_GET, "/search/", NULL, &err), PROTO_UNKNOWN_PATH);
    assert_int_equal(http_code(PROTO_GET, "/statsx", NULL, &err), PROTO_UNKNOWN_PATH);
    assert_int_equal(http_code(PROTO_GET, "/stats?index=x", NULL, &err), PROTO_OK);
    assert_int_equal(http_code(PROTO_HEAD, "/health", NULL, &err), PROTO_OK);
    assert_int_equal(http_code(PROTO_POST, "/health", NULL, &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "GET, HEAD"); /* HEAD is answered as GET is: Allow says so */
    assert_int_equal(http_code(PROTO_DELETE, "/search?q=x", NULL, &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "GET, HEAD, POST");
    assert_int_equal(http_code(PROTO_GET, "/docs", NULL, &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "POST");
    assert_int_equal(http_code(PROTO_POST, "/docs/a", NULL, &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "GET, HEAD, DELETE");
    /* /docs/delete is POST's too (a batch of ids): its Allow said only "GET, DELETE" */
    assert_int_equal(http_code(PROTO_PUT, "/docs/delete", "{}", &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "GET, HEAD, POST, DELETE");
    assert_int_equal(http_code(PROTO_PATCH, "/docs/deletex", "{}", &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "GET, HEAD, DELETE");
    assert_int_equal(http_code(PROTO_POST, "/indexes", "{}", &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "GET, HEAD");
    assert_int_equal(http_code(PROTO_POST, "/indexes/books", "{}", &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "GET, HEAD, PUT, PATCH, DELETE");
    assert_int_equal(http_code(PROTO_OTHER, "/stats", NULL, &err), PROTO_METHOD_NOT_ALLOWED);
    assert_int_equal(proto_code_http_status(PROTO_METHOD_NOT_ALLOWED), 405);
}

/* A body on a GET, HEAD or DELETE route, which reads none, was ignored: GET /stats with
 * {"index":"books"} answered the default index, GET /search?q=a with {"q":"b"} searched a. */
static void test_proto_http_body_where_none_is_read_is_refused(void **state)
{
    (void)state;
    static const struct {
        enum proto_method method;
        const char *uri;
    } bodiless[] = {
        {PROTO_GET, "/search?q=a"}, {PROTO_HEAD, "/search?q=a"},   {PROTO_GET, "/stats"},
        {PROTO_GET, "/health"},     {PROTO_GET, "/docs/a"},        {PROTO_DELETE, "/docs/a"},
        {PROTO_GET, "/indexes"},    {PROTO_GET, "/indexes/books"}, {PROTO_DELETE, "/indexes/books"},
    };
    for (size_t i = 0; i < sizeof bodiless / sizeof *bodiless; i++) {
        struct proto_error err;
        assert_int_equal(http_code(bodiless[i].method, bodiless[i].uri, NULL, &err), PROTO_OK);
        if (http_code(bodiless[i].method, bodiless[i].uri, "{\"index\":\"b\"}", &err) !=
            PROTO_BAD_REQUEST) {
            fail_msg("%s with a body: not refused", bodiless[i].uri);
        }
        assert_non_null(strstr(err.msg, "takes no body"));
    }
    assert_http(PROTO_GET, "/stats", "{\"index\":\"b\"}", PROTO_BAD_REQUEST,
                "GET takes no body here: its parameters are the path and the query string (POST "
                "/search takes a search as JSON)");
    assert_http(PROTO_DELETE, "/docs/a", " ", PROTO_BAD_REQUEST, NULL);
    /* the routes that read a body read it, and another error of the route comes first */
    assert_http(PROTO_POST, "/search", "{\"q\":\"a\"}", PROTO_OK, NULL);
    assert_http(PROTO_PUT, "/indexes/books", "{}", PROTO_OK, NULL);
    assert_http(PROTO_PATCH, "/indexes/books", "{}", PROTO_OK, NULL);
    assert_http(PROTO_GET, "/nope", "{}", PROTO_UNKNOWN_PATH, NULL);
    assert_http(PROTO_GET, "/docs", "{}", PROTO_METHOD_NOT_ALLOWED, NULL);
}

static void test_proto_snapshot_line_and_http_parse_and_refuse_paths(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"snapshot\",\"index\":\"books\",\"name\":\"nightly-1\"}",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_SNAPSHOT);
    assert_string_equal(req.index, "books");
    assert_string_equal(req.snapshot, "nightly-1");
    assert_string_equal(proto_op_name(req.op), "snapshot");
    const char *bad[] = {"{\"op\":\"snapshot\"}", "{\"op\":\"snapshot\",\"name\":7}",
                         "{\"op\":\"snapshot\",\"name\":\"\"}",
                         "{\"op\":\"snapshot\",\"name\":\"../etc\"}",
                         "{\"op\":\"snapshot\",\"name\":\"/tmp/x\"}",
                         "{\"op\":\"snapshot\",\"name\":\".hidden\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(line_code(bad[i]), PROTO_BAD_REQUEST);
    }
    const char *uri = "/indexes/books/snapshot";
    assert_int_equal(proto_parse_http(PROTO_POST, uri, strlen(uri), "{\"name\":\"s1\"}", 13,
                                      &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_SNAPSHOT);
    assert_string_equal(req.index, "books");
    assert_string_equal(req.snapshot, "s1");
    proto_request_free(&req);
    assert_int_equal(http_code(PROTO_GET, uri, NULL, &err), PROTO_METHOD_NOT_ALLOWED);
    assert_string_equal(err.allow, "POST");
    assert_int_equal(http_code(PROTO_POST, uri, "{\"name\":\"../x\"}", &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_POST, uri, "{}", &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_POST, "/indexes/books/snapshot?index=x", "{\"name\":\"a\"}",
                               &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_POST, "/indexes/BAD/snapshot", "{\"name\":\"a\"}", &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_POST, "/indexes/a/b/snapshot", "{\"name\":\"a\"}", &err),
                     PROTO_UNKNOWN_PATH);
    assert_int_equal(http_code(PROTO_POST, "/indexes//snapshot", "{\"name\":\"a\"}", &err),
                     PROTO_UNKNOWN_PATH);
}

static void test_proto_http_doc_id_percent_decoded(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    const char *uri = "/docs/a%20b+c%2Fd%D0%B6?index=idx";
    assert_int_equal(proto_parse_http(PROTO_DELETE, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_DELETE);
    assert_int_equal(req.id_len, strlen("a b+c/dж"));
    assert_memory_equal(req.id, "a b+c/dж", req.id_len);
    assert_string_equal(req.index, "idx");
    proto_request_free(&req);
    assert_int_equal(http_code(PROTO_GET, "/docs/", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/docs/%FF", NULL, &err), PROTO_BAD_UTF8);
    assert_int_equal(http_code(PROTO_GET, "/docs/%C0%AF", NULL, &err), PROTO_BAD_UTF8);
    assert_int_equal(http_code(PROTO_GET, "/docs/a%00b", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/docs/a%G0", NULL, &err), PROTO_BAD_REQUEST);
}

static void test_proto_http_post_docs_single_and_pretty(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    const char *body = "{\n  \"id\": \"p1\",\n  \"title\": \"multi\\nline\"\n}\n";
    assert_int_equal(proto_parse_http(PROTO_POST, "/docs", 5, body, strlen(body), &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_ADD);
    assert_int_equal(req.nops, 1);
    assert_memory_equal(req.ops[0].doc.id, "p1", 2);
    proto_request_free(&req);
}

static void test_proto_http_post_docs_ndjson_split(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    const char *body = "{\"id\":\"a\",\"title\":\"1\"}\r\n\n  \n{\"id\":2,\"body\":\"2\"}\n"
                       "{\"id\":\"c\"}";
    assert_int_equal(
        proto_parse_http(PROTO_POST, "/docs?index=n", 13, body, strlen(body), &req, &err),
        PROTO_OK);
    assert_int_equal(req.nops, 3);
    assert_memory_equal(req.ops[1].doc.id, "2", 1);
    assert_int_equal(req.ops[1].doc.nfields, 1);
    assert_memory_equal(req.ops[2].doc.id, "c", 1);
    assert_string_equal(req.index, "n");
    proto_request_free(&req);
}

static void test_proto_http_post_docs_errors_name_the_line(void **state)
{
    (void)state;
    struct proto_error err;
    assert_int_equal(http_code(PROTO_POST, "/docs", "{\"id\":\"a\"}\n{\"id\":\"b\"\n", &err),
                     PROTO_BAD_JSON);
    assert_non_null(strstr(err.msg, "document 2 (line 2)"));
    assert_int_equal(http_code(PROTO_POST, "/docs", "{\"id\":\"a\"}\n[1]\n", &err), PROTO_BAD_JSON);
    assert_int_equal(http_code(PROTO_POST, "/docs", "{\"id\":\"a\"}\n{\"x\":1}\n", &err),
                     PROTO_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "docs[1]"));
    assert_int_equal(http_code(PROTO_POST, "/docs", "", &err), PROTO_BAD_JSON);
    assert_int_equal(http_code(PROTO_POST, "/docs", " \n\n", &err), PROTO_BAD_JSON);
    assert_int_equal(http_code(PROTO_POST, "/docs", "{\"id\":\"\xff\"}", &err), PROTO_BAD_UTF8);
}

static void test_proto_percent_decode(void **state)
{
    (void)state;
    char out[64];
    size_t n = proto_percent_decode("a+b%20c%2b%41%e2%82%ac", 22, out, true);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "a b c+A\xe2\x82\xac", 10);
    n = proto_percent_decode("a+b", 3, out, false);
    assert_memory_equal(out, "a+b", 3);
    assert_int_equal(proto_percent_decode("%", 1, out, true), (size_t)-1);
    assert_int_equal(proto_percent_decode("%1", 2, out, true), (size_t)-1);
    assert_int_equal(proto_percent_decode("%1g", 3, out, true), (size_t)-1);
    assert_int_equal(proto_percent_decode("", 0, out, true), 0);
}

/* ---- encoding ---- */

static void test_proto_json_string_escapes_controls(void **state)
{
    (void)state;
    struct sd_buf b;
    sd_buf_init(&b);
    char in[40];
    for (int i = 0; i < 32; i++) {
        in[i] = (char)i;
    }
    memcpy(in + 32, "\"\\/\x7f", 4);
    proto_json_string(&b, in, 36);
    const char *want = "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
                       "\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015"
                       "\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
                       "\\\"\\\\/\x7f\"";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    struct json_object *o = must_parse(&b);
    assert_int_equal(json_object_get_string_len(o), 36);
    assert_memory_equal(json_object_get_string(o), in, 36);
    json_object_put(o);
    sd_buf_free(&b);
}

static void test_proto_json_string_keeps_utf8_replaces_invalid(void **state)
{
    (void)state;
    struct sd_buf b;
    sd_buf_init(&b);
    const char *in = "ж€😀\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82";
    proto_json_string(&b, in, strlen(in));
    const char *want = "\"ж€😀\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    json_object_put(must_parse(&b));
    sd_buf_free(&b);
}

static void test_proto_json_string_random_bytes_always_valid_json(void **state)
{
    (void)state;
    srand(12345);
    struct sd_buf b;
    sd_buf_init(&b);
    char in[64];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand() % 64);
        for (size_t i = 0; i < len; i++) {
            int r = rand();
            /* bias towards interesting bytes: controls, quotes, UTF-8 leads/continuations */
            in[i] = (char)(r % 4 == 0 ? 0x80 + (r >> 8) % 0x80 : (r >> 8) % 256);
        }
        sd_buf_reset(&b);
        proto_json_string(&b, in, len);
        json_object_put(must_parse(&b));
    }
    sd_buf_free(&b);
}

static void test_proto_encode_answers_are_json(void **state)
{
    (void)state;
    struct sd_buf b;
    sd_buf_init(&b);

    proto_encode_error(&b, PROTO_BAD_QUERY, "at 7: unbalanced '(' \"x\"\n");
    struct json_object *o = must_parse(&b), *v, *e;
    assert_true(json_object_object_get_ex(o, "error", &e));
    assert_true(json_object_object_get_ex(e, "code", &v));
    assert_string_equal(json_object_get_string(v), "bad_query");
    json_object_put(o);

    struct idx_hit hits[2] = {{.id = "a\"1", .score = 1.25f, .title = "T\x01", .snippet = "s…"},
                              {.id = "b", .score = 0.0f / 0.0f, .title = "", .snippet = ""}};
    struct idx_search_res res = {.total = 12345678901ull, .hits = hits, .nhits = 2};
    sd_buf_reset(&b);
    proto_encode_search(&b, &res, true, 0.125);
    o = must_parse(&b);
    assert_true(json_object_object_get_ex(o, "total", &v));
    assert_int_equal(json_object_get_int64(v), 12345678901ll);
    assert_true(json_object_object_get_ex(o, "hits", &v));
    assert_int_equal(json_object_array_length(v), 2);
    json_object_put(o);
    sd_buf_reset(&b);
    proto_encode_search(&b, &res, false, 1);
    assert_null(memmem(b.data, b.len, "snippet", 7));
    json_object_put(must_parse(&b));

    struct seg_stored doc = {.id = "d1", .id_len = 2, .nfields = 3};
    doc.fields[0] = (struct seg_field){"title", 5, "Ti\ttle", 6, SEG_TEXT};
    doc.fields[1] = (struct seg_field){"n", 1, "[1,{\"a\":null}]", 14, SEG_RAW};
    doc.fields[2] = (struct seg_field){"body", 4, "b", 1, SEG_TEXT};
    sd_buf_reset(&b);
    proto_encode_doc(&b, &doc);
    const char *want = "{\"ok\":true,\"doc\":{\"id\":\"d1\",\"title\":\"Ti\\ttle\","
                       "\"n\":[1,{\"a\":null}],\"body\":\"b\"}}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    json_object_put(must_parse(&b));

    struct idx_stats st = {.docs = 3,
                           .degraded = true,
                           .mem_bytes = 4096,
                           .engine_memory_bytes = 1 << 20,
                           .engine_memory_peak_bytes = 3 << 20,
                           .engine_memory_limit = 1ull << 33};
    snprintf(st.degraded_reason, sizeof st.degraded_reason, "seg-1: bad \"checksum\"");
    sd_buf_reset(&b);
    proto_encode_stats(&b, "default", &st);
    o = must_parse(&b);
    assert_true(json_object_object_get_ex(o, "docs", &v));
    assert_int_equal(json_object_get_int(v), 3);
    /* issue 13: the memory --memory-limit counts, and this index's share of it */
    assert_int_equal(json_object_get_int64(json_object_object_get(o, "mem_bytes")), 4096);
    assert_int_equal(json_object_get_int64(json_object_object_get(o, "engine_memory_bytes")),
                     1 << 20);
    assert_int_equal(json_object_get_int64(json_object_object_get(o, "engine_memory_peak_bytes")),
                     3 << 20);
    assert_int_equal(json_object_get_int64(json_object_object_get(o, "engine_memory_limit")),
                     1ll << 33);
    assert_true(json_object_object_get_ex(o, "degraded", &v));
    assert_true(json_object_get_boolean(v));
    json_object_put(o);

    struct idx_write_result wr = {.added = 2, .replaced = 1, .deleted = 1};
    sd_buf_reset(&b);
    proto_encode_write(&b, PROTO_OP_ADD, false, &wr);
    assert_memory_equal(b.data, "{\"ok\":true,\"added\":2,\"replaced\":1}", b.len);
    sd_buf_reset(&b);
    proto_encode_write(&b, PROTO_OP_DELETE, false, &wr);
    assert_memory_equal(b.data, "{\"ok\":true,\"deleted\":1}", b.len);
    sd_buf_reset(&b);
    wr.not_found = 3;
    proto_encode_write(&b, PROTO_OP_DELETE, true, &wr);
    assert_memory_equal(b.data, "{\"ok\":true,\"deleted\":1,\"not_found\":3}", b.len);
    sd_buf_reset(&b);
    struct proto_health h = {.version = "1.2.3"};
    proto_encode_health(&b, &h);
    const char *ok = "{\"ok\":true,\"status\":\"ok\",\"version\":\"1.2.3\"}";
    assert_int_equal(b.len, strlen(ok));
    assert_memory_equal(b.data, ok, b.len);
    sd_buf_reset(&b);
    h = (struct proto_health){.version = "1.2.3", .degraded = true, .reason = "index a: \"x\"",
                              .torn_tails = 2, .torn_bytes = 300, .torn_at = 1700000000};
    proto_encode_health(&b, &h);
    const char *torn = "{\"ok\":true,\"status\":\"degraded\",\"version\":\"1.2.3\","
                       "\"reason\":\"index a: \\\"x\\\"\",\"torn_tails\":2,\"torn_bytes\":300,"
                       "\"torn_at\":1700000000}";
    assert_int_equal(b.len, strlen(torn));
    assert_memory_equal(b.data, torn, b.len);
    sd_buf_free(&b);
}

/* Issue 15, item 6: a weight of exactly PROTO_MAX_WEIGHT is accepted (a `>=` in
 * place of `>` in proto_search.c would refuse it), over JSON and the query string. */
static void test_proto_weight_of_exactly_the_maximum_is_accepted(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(
        parse_line("{\"op\":\"search\",\"q\":\"x\",\"weights\":{\"title\":1000}}", &req, &err),
        PROTO_OK);
    assert_int_equal(req.nweights, 1);
    assert_true(req.weights[0].weight == (float)PROTO_MAX_WEIGHT);
    proto_request_free(&req);
    proto_request_init(&req);
    assert_int_equal(
        parse_line("{\"op\":\"search\",\"q\":\"x\",\"weights\":{\"title\":1000.001}}", &req, &err),
        PROTO_BAD_REQUEST);
    proto_request_free(&req);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&weights=title:1000", NULL, &err), PROTO_OK);
}

/* Issue 15, item 6: a '%' with fewer than two characters left is refused even
 * when the bytes after the given length are hex digits (a `< 2` in place of
 * `< 3` would read one past the end and decode "%4" + '1' as 'A'). */
static void test_proto_percent_escape_cut_at_the_end_is_refused(void **state)
{
    (void)state;
    const char *s = "ab%41";
    char out[8];
    assert_int_equal(proto_percent_decode(s, 5, out, false), 3);
    assert_memory_equal(out, "abA", 3);
    assert_int_equal(proto_percent_decode(s, 4, out, false), (size_t)-1); /* "ab%4" */
    assert_int_equal(proto_percent_decode(s, 3, out, false), (size_t)-1); /* "ab%" */
    struct proto_error err;
    assert_int_equal(http_code(PROTO_GET, "/docs/a%4", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=a%4", NULL, &err), PROTO_BAD_REQUEST);
}

static void test_proto_checks_utf8_with_the_stemmer_validator(void **state)
{
    (void)state;
    assert_true(stem_utf8_valid("", 0));
    assert_true(stem_utf8_valid("plain ascii longer than eight bytes", 35));
    assert_true(stem_utf8_valid("ёЁй€😀\xf4\x8f\xbf\xbf", strlen("ёЁй€😀\xf4\x8f\xbf\xbf")));
    assert_false(stem_utf8_valid("abcdefgh\x80", 9));
    assert_false(stem_utf8_valid("\xc1\xbf", 2));
    assert_false(stem_utf8_valid("\xe0\x9f\xbf", 3));
    assert_false(stem_utf8_valid("\xf0\x8f\xbf\xbf", 4));
    assert_false(stem_utf8_valid("\xf5\x80\x80\x80", 4));
    assert_false(stem_utf8_valid("\xe2\x82", 2));
}

/* ---- issue 10: input edge cases, one rule each (PROTOCOL.md "Edge cases") ---- */

static void test_issue_10_lone_surrogate_escapes_are_bad_utf8(void **state)
{
    (void)state;
    assert_line("{\"op\":\"search\",\"q\":\"\\ud800\"}", PROTO_BAD_UTF8,
                "at 20: \\ud800 is a high surrogate without a low one after it");
    assert_line("{\"op\":\"search\",\"q\":\"a\\udc00\"}", PROTO_BAD_UTF8,
                "at 21: \\udc00 is a lone low surrogate");
    assert_line("{\"op\":\"search\",\"q\":\"\\uD800\\u0041\"}", PROTO_BAD_UTF8, NULL);
    assert_line("{\"op\":\"search\",\"q\":\"\\udc00\\ud800\"}", PROTO_BAD_UTF8,
                NULL);                                                         /* reversed */
    assert_line("{\"op\":\"search\",\"q\":\"\\ud800\"", PROTO_BAD_UTF8, NULL); /* then EOF */
    /* malformed escapes are JSON syntax: bad_json, as json-c reports them */
    assert_line("{\"op\":\"search\",\"q\":\"\\q\"}", PROTO_BAD_JSON, NULL);
    assert_line("{\"op\":\"search\",\"q\":\"\\u12G4\"}", PROTO_BAD_JSON, NULL);
    assert_line("{\"op\":\"search\",\"q\":\"\\u12", PROTO_BAD_JSON, NULL);
    /* in keys and in documents too */
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"t\\udfff\":\"x\"}}", PROTO_BAD_UTF8, NULL);
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"body\":\"x \\ud83d y\"}}", PROTO_BAD_UTF8,
                NULL);
    assert_http(PROTO_POST, "/docs",
                "{\"id\":\"a\",\"body\":\"ok\"}\n{\"id\":\"b\",\"body\":\"\\udc00\"}",
                PROTO_BAD_UTF8, NULL);
    assert_http(PROTO_POST, "/search", "{\"q\":\"\\ud800x\"}", PROTO_BAD_UTF8, NULL);
    assert_http(PROTO_GET, "/search?q=%ED%A0%80", NULL, PROTO_BAD_UTF8, NULL);
    /* valid escapes: a pair, an escaped backslash before a 'u', all the short ones */
    assert_line("{\"op\":\"search\",\"q\":\"\\ud83d\\ude00 \\\\ud800 \\\"\\/\\b\\f\\n\\r\\t\"}",
                PROTO_OK, NULL);
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"\\ud83d\\ude00\"}", &req, &err),
                     PROTO_OK);
    assert_int_equal(req.q_len, 4);
    assert_memory_equal(req.q, "\xf0\x9f\x98\x80", 4);
    proto_request_free(&req);
}

static void test_issue_10_minus_zero_is_zero(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"limit\":-0,\"offset\":-0,"
                                "\"weights\":{\"title\":-0,\"body\":-0.0}}",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.limit, 0);
    assert_int_equal(req.offset, 0);
    assert_int_equal(req.nweights, 2);
    assert_false(signbit(req.weights[0].weight));
    assert_false(signbit(req.weights[1].weight));
    assert_int_equal(proto_parse_http(PROTO_GET, "/search?q=x&limit=-0&offset=-00&weights=title:-0",
                                      strlen("/search?q=x&limit=-0&offset=-00&weights=title:-0"),
                                      NULL, 0, &req, &err),
                     PROTO_OK);
    assert_int_equal(req.limit, 0);
    assert_int_equal(req.offset, 0);
    assert_false(signbit(req.weights[0].weight));
    proto_request_free(&req);
    /* a sign on anything but zero, and -0.0 where an integer is wanted, stay errors */
    assert_http(PROTO_GET, "/search?q=x&limit=-1", NULL, PROTO_BAD_REQUEST,
                "'limit' must be 0 to 1000");
    assert_http(PROTO_GET, "/search?q=x&limit=-", NULL, PROTO_BAD_REQUEST, NULL);
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"limit\":-0.0}", PROTO_BAD_REQUEST,
                "'limit' must be an integer");
}

static void test_issue_10_repeated_parameters_are_bad_request(void **state)
{
    (void)state;
    assert_http(PROTO_GET, "/search?q=a&q=b", NULL, PROTO_BAD_REQUEST, "parameter 'q' given twice");
    assert_http(PROTO_GET, "/search?q=a&limit=1&limit=1", NULL, PROTO_BAD_REQUEST,
                "parameter 'limit' given twice");
    assert_http(PROTO_GET, "/search?q=a&index=x&ind%65x=y", NULL, PROTO_BAD_REQUEST,
                "parameter 'index' given twice");
    assert_http(PROTO_GET, "/search?q=a&&&&limit=1&", NULL, PROTO_OK, NULL);
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"q\":\"b\"}", PROTO_BAD_REQUEST,
                "key 'q' given twice");
    assert_line("{\"op\":\"search\",\"op\":\"search\",\"q\":\"a\"}", PROTO_BAD_REQUEST,
                "key 'op' given twice");
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"weights\":{\"t\":1,\"t\":2}}", PROTO_BAD_REQUEST,
                "key 't' given twice");
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"title\":\"x\",\"title\":\"y\"}}",
                PROTO_BAD_REQUEST, "key 'title' given twice");
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"\\u0071\":\"b\"}", PROTO_BAD_REQUEST,
                "at 0: an object has a key twice"); /* the same key spelled with an escape */
    assert_http(PROTO_POST, "/docs", "{\"id\":\"a\"}\n{\"id\":\"b\",\"id\":\"c\"}",
                PROTO_BAD_REQUEST, "key 'id' given twice");
    /* the same key in different objects, and a key that looks repeated inside a string */
    assert_line("{\"op\":\"add\",\"docs\":[{\"id\":\"a\",\"t\":\"x\"},{\"id\":\"b\",\"t\":\"{"
                "\\\"t\\\":1,\\\"t\\\":2}\"}]}",
                PROTO_OK, NULL);
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":{\"id\":1,\"x\":[{\"id\":2}]}}}",
                PROTO_OK, NULL);
}

static void test_issue_10_more_than_32_parameters_is_bad_request(void **state)
{
    (void)state;
    char uri[512] = "/search?q=x";
    for (int i = 1; i < 32; i++) {
        snprintf(uri + strlen(uri), sizeof uri - strlen(uri), "&p%d=1", i);
    }
    /* 32 pass the count; then, since issue 11, the first unknown one is named */
    assert_http(PROTO_GET, uri, NULL, PROTO_BAD_REQUEST, "unknown parameter 'p1'");
    strcat(uri, "&limit=1");
    assert_http(PROTO_GET, uri, NULL, PROTO_BAD_REQUEST, "more than 32 query-string parameters");
}

/* Issue 10: the never-written default index is answered with a zeroed result; 0 matches (any
 * total under QRY_TOTAL_EXACT_UPTO) is an exact count whoever filled the result. */
static void test_issue_10_small_totals_are_exact(void **state)
{
    (void)state;
    struct sd_buf b;
    sd_buf_init(&b);
    struct idx_search_res zero = {0};
    proto_encode_search(&b, &zero, true, 0);
    const char *want = "\"total\":0,\"total_exact\":true";
    assert_non_null(memmem(b.data, b.len, want, strlen(want)));
    struct idx_search_res big = {.total = QRY_TOTAL_EXACT_UPTO};
    sd_buf_reset(&b);
    proto_encode_search(&b, &big, true, 0);
    want = "\"total_exact\":false";
    assert_non_null(memmem(b.data, b.len, want, strlen(want)));
    sd_buf_free(&b);
}

static void test_proto_codes_match_protocol_table(void **state)
{
    (void)state;
    const struct {
        enum proto_code code;
        const char *name;
        int http;
    } table[] = {
        {PROTO_BAD_JSON, "bad_json", 400},
        {PROTO_BAD_UTF8, "bad_utf8", 400},
        {PROTO_BAD_REQUEST, "bad_request", 400},
        {PROTO_BAD_QUERY, "bad_query", 400},
        {PROTO_UNKNOWN_OP, "unknown_op", 400},
        {PROTO_UNKNOWN_FIELD, "unknown_field", 400},
        {PROTO_TOO_LARGE, "too_large", 413},
        {PROTO_UNKNOWN_INDEX, "unknown_index", 404},
        {PROTO_NOT_FOUND, "not_found", 404},
        {PROTO_METHOD_NOT_ALLOWED, "method_not_allowed", 405},
        {PROTO_DISK_FULL, "disk_full", 507},
        {PROTO_BUSY, "busy", 503},
        {PROTO_INTERNAL, "internal", 500},
        {PROTO_BAD_HTTP, "bad_http", 400},
        {PROTO_UNKNOWN_PATH, "unknown_path", 404},
        {PROTO_TIMEOUT, "timeout", 408},
        {PROTO_HEAD_TOO_LARGE, "head_too_large", 431},
        {PROTO_DEGRADED, "degraded", 503},
        {PROTO_INDEX_EXISTS, "index_exists", 409},
        {PROTO_INDEX_UNAVAILABLE, "index_unavailable", 503},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(proto_code_name(table[i].code), table[i].name);
        assert_int_equal(proto_code_http_status(table[i].code), table[i].http);
    }
    assert_int_equal(proto_code_from_sd(SD_ENOSPC), PROTO_DISK_FULL);
    assert_int_equal(proto_code_from_sd(SD_EBUSY), PROTO_BUSY);
    assert_int_equal(proto_code_from_sd(SD_EDEGRADED), PROTO_DEGRADED);
    assert_int_equal(proto_code_from_sd(SD_EEXIST), PROTO_INDEX_EXISTS);
    assert_int_equal(proto_code_from_sd(SD_EUNAVAIL), PROTO_INDEX_UNAVAILABLE);
    assert_int_equal(proto_code_from_sd(SD_EIO), PROTO_INTERNAL);
}

/* ---- issue 12: the search-box options ---- */

/* prefix_last: off by default, a boolean, and only with the simple syntax (the full one has
 * word* and would ignore it). */
static void test_proto_prefix_last_needs_the_simple_syntax(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"syntax\":\"simple\"}", &req, &err),
                     PROTO_OK);
    assert_false(req.search_opts.prefix_last);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"syntax\":\"simple\","
                                "\"prefix_last\":true}",
                                &req, &err),
                     PROTO_OK);
    assert_true(req.search_opts.prefix_last);
    proto_request_free(&req);
    proto_request_init(&req);
    const char *uri = "/search?q=x&prefix_last=true&syntax=simple";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.search_opts.prefix_last);
    proto_request_free(&req);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"prefix_last\":true}"),
                     PROTO_BAD_REQUEST);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"syntax\":\"simple\","
                               "\"prefix_last\":1}"),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&prefix_last=true", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "simple"));
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&syntax=simple&prefix_last=yes", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&syntax=full&prefix_last=false", NULL, &err),
                     PROTO_OK);
}

/* drop_words: on with the simple syntax unless turned off, off with the full one, where true
 * is a bad_request (its operators say what must match). */
static void test_proto_drop_words_follows_the_syntax(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(
        parse_line("{\"op\":\"search\",\"q\":\"x\",\"syntax\":\"simple\"}", &req, &err), PROTO_OK);
    assert_true(req.search_opts.drop_words);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"syntax\":\"simple\","
                                "\"drop_words\":false}",
                                &req, &err),
                     PROTO_OK);
    assert_false(req.search_opts.drop_words);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\"}", &req, &err), PROTO_OK);
    assert_false(req.search_opts.drop_words);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"drop_words\":false}", &req, &err),
                     PROTO_OK);
    assert_false(req.search_opts.drop_words);
    proto_request_free(&req);
    proto_request_init(&req);
    const char *uri = "/search?q=x&syntax=simple";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.search_opts.drop_words);
    proto_request_free(&req);
    proto_request_init(&req);
    uri = "/search?q=x&syntax=simple&drop_words=false";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_false(req.search_opts.drop_words);
    proto_request_free(&req);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"drop_words\":true}"),
                     PROTO_BAD_REQUEST);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"syntax\":\"simple\","
                               "\"drop_words\":\"yes\"}"),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&drop_words=true", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "simple"));
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&syntax=simple&drop_words=2", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&syntax=simple&drop_word=1", NULL, &err),
                     PROTO_BAD_REQUEST); /* misspelt: unknown parameter */
}

static void test_proto_search_box_options(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.search_opts.syntax, QRY_SYNTAX_FULL); /* the wire default */
    assert_int_equal(
        parse_line("{\"op\":\"search\",\"q\":\"(x\",\"syntax\":\"simple\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.search_opts.syntax, QRY_SYNTAX_SIMPLE);
    const char *uri = "/search?q=x&syntax=simple";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_int_equal(req.search_opts.syntax, QRY_SYNTAX_SIMPLE);
    uri = "/search?q=x&syntax=full";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_int_equal(req.search_opts.syntax, QRY_SYNTAX_FULL);
    proto_request_free(&req);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"syntax\":\"loose\"}"),
                     PROTO_BAD_REQUEST);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"syntax\":1}"), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&syntax=", NULL, &err), PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&layout=maybe", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"layout\":1}"), PROTO_BAD_REQUEST);
    proto_request_init(&req);
    assert_false(req.search_opts.no_layout); /* on by default */
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"layout\":false}", &req, &err),
                     PROTO_OK);
    assert_true(req.search_opts.no_layout);
    uri = "/search?q=x&layout=0";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.search_opts.no_layout);
    assert_false(req.search_opts.no_typos); /* on by default */
    uri = "/search?q=x&typo=false";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.search_opts.no_typos);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"typo\":false}", &req, &err),
                     PROTO_OK);
    assert_true(req.search_opts.no_typos);
    proto_request_free(&req);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"typo\":\"no\"}"),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&typo=2", NULL, &err), PROTO_BAD_REQUEST);

    /* proximity: off by default; true is QRY_PROXIMITY, a number its weight */
    proto_request_init(&req);
    assert_true(req.proximity == 0);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"proximity\":true}", &req, &err),
                     PROTO_OK);
    assert_true(req.proximity == QRY_PROXIMITY);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"proximity\":2.5}", &req, &err),
                     PROTO_OK);
    assert_true(req.proximity == 2.5f);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"proximity\":false}", &req, &err),
                     PROTO_OK);
    assert_true(req.proximity == 0);
    uri = "/search?q=x&proximity=true";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.proximity == QRY_PROXIMITY);
    uri = "/search?q=x&proximity=1";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.proximity == 1.0f);
    uri = "/search?q=x&proximity=2.5e1";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.proximity == 25.0f);
    proto_request_free(&req);
    const char *bad_prox[] = {"\"yes\"", "-1", "1000.5", "null", "[1]"};
    for (size_t i = 0; i < sizeof bad_prox / sizeof *bad_prox; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"op\":\"search\",\"q\":\"x\",\"proximity\":%s}", bad_prox[i]);
        assert_int_equal(line_code(line), PROTO_BAD_REQUEST);
    }
    const char *bad_prox_get[] = {
        "/search?q=x&proximity=", "/search?q=x&proximity=nan", "/search?q=x&proximity=inf",
        "/search?q=x&proximity=1x", "/search?q=x&proximity=-0.1",
        /* numbers JSON does not write, which strtod reads */
        "/search?q=x&proximity=0x10", "/search?q=x&proximity=%2B5", "/search?q=x&proximity=%205",
        "/search?q=x&proximity=1.", "/search?q=x&proximity=.5", "/search?q=x&proximity=0x1p3",
        "/search?q=x&proximity=5%20"};
    for (size_t i = 0; i < sizeof bad_prox_get / sizeof *bad_prox_get; i++) {
        assert_int_equal(http_code(PROTO_GET, bad_prox_get[i], NULL, &err), PROTO_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "proximity"));
    }

    /* snippet and highlight options */
    proto_request_init(&req);
    assert_false(req.search_opts.highlight);
    assert_int_equal(req.search_opts.hl.fragments, 1);
    assert_string_equal(req.search_opts.hl.pre, "<mark>");
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"highlight\":true,"
                                "\"highlight_pre\":\"<b>\",\"highlight_post\":\"</b>\","
                                "\"highlight_offsets\":true,\"snippet_len\":300,\"fragments\":3}",
                                &req, &err),
                     PROTO_OK);
    assert_true(req.search_opts.highlight);
    assert_true(req.search_opts.hl.wants_offsets);
    assert_int_equal(req.search_opts.hl.pre_len, 3);
    assert_memory_equal(req.search_opts.hl.post, "</b>", 4);
    assert_int_equal(req.search_opts.snippet_len, 300);
    assert_int_equal(req.search_opts.hl.fragments, 3);
    uri = "/search?q=x&highlight=1&highlight_pre=%5B&snippet_len=16&fragments=5";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_true(req.search_opts.highlight);
    assert_memory_equal(req.search_opts.hl.pre, "[", 1);
    assert_int_equal(req.search_opts.snippet_len, 16);
    assert_int_equal(req.search_opts.hl.fragments, 5);
    proto_request_free(&req);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&snippet_len=15", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&snippet_len=4097", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&fragments=0", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&fragments=6", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(http_code(PROTO_GET, "/search?q=x&highlight=yes", NULL, &err),
                     PROTO_BAD_REQUEST);
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"highlight_pre\":1}"),
                     PROTO_BAD_REQUEST);
    char line[300];
    snprintf(line, sizeof line, "{\"op\":\"search\",\"q\":\"x\",\"highlight_post\":\"%065d\"}", 0);
    assert_int_equal(line_code(line), PROTO_BAD_REQUEST); /* 65 bytes */
    assert_int_equal(line_code("{\"op\":\"search\",\"q\":\"x\",\"highlight_pre\":\"a\\u0000\"}"),
                     PROTO_BAD_REQUEST);

    struct sd_buf b;
    sd_buf_init(&b);
    struct idx_search_res res = {.total = 1, .is_truncated = true};
    proto_encode_search(&b, &res, true, 1);
    struct json_object *o = must_parse(&b), *v;
    assert_true(json_object_object_get_ex(o, "truncated", &v));
    assert_true(json_object_get_boolean(v));
    json_object_put(o);
    sd_buf_reset(&b);
    res.is_truncated = false;
    proto_encode_search(&b, &res, true, 1);
    assert_null(memmem(b.data, b.len, "truncated", 9));
    assert_null(memmem(b.data, b.len, "layout", 6));
    sd_buf_reset(&b);
    res.layout_query = "цифровая \"x";
    res.is_layout_used = true;
    proto_encode_search(&b, &res, true, 1);
    o = must_parse(&b);
    struct json_object *lq;
    assert_true(json_object_object_get_ex(o, "layout", &v));
    assert_true(json_object_object_get_ex(v, "query", &lq));
    assert_string_equal(json_object_get_string(lq), "цифровая \"x");
    assert_true(json_object_object_get_ex(v, "used", &lq));
    assert_true(json_object_get_boolean(lq));
    json_object_put(o);
    sd_buf_reset(&b);
    res.layout_query = NULL;
    res.is_layout_used = false;
    res.is_typo_used = true;
    res.did_you_mean = "diplomacy \\ \"x\"";
    proto_encode_search(&b, &res, true, 1);
    o = must_parse(&b);
    assert_true(json_object_object_get_ex(o, "typos", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "did_you_mean", &v));
    assert_string_equal(json_object_get_string(v), "diplomacy \\ \"x\"");
    json_object_put(o);
    /* the words the best hit lacks, in the order typed, as strings */
    sd_buf_reset(&b);
    res.is_typo_used = false;
    res.did_you_mean = NULL;
    char *dropped[] = {"ssh", "\"x\\"};
    res.dropped = dropped;
    res.ndropped = 2;
    proto_encode_search(&b, &res, true, 1);
    o = must_parse(&b);
    assert_true(json_object_object_get_ex(o, "dropped", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "ssh");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "\"x\\");
    json_object_put(o);
    res.dropped = NULL;
    res.ndropped = 0;
    /* a hit's highlight: title, snippets and, in offsets mode, their spans */
    static const char parts[] = "T\0s1\0s\"2";
    struct qry_hl_span spans[3] = {{0, 0, 1}, {1, 0, 2}, {2, 1, 1}};
    struct idx_hit hit = {.id = "a",
                          .title = "T",
                          .snippet = "s",
                          .hl = (char *)parts,
                          .hl_len = sizeof parts,
                          .hl_nsnippets = 2,
                          .hl_spans = spans,
                          .hl_nspans = 3,
                          .is_hl_offsets = true};
    struct idx_search_res one = {.total = 1, .hits = &hit, .nhits = 1};
    sd_buf_reset(&b);
    proto_encode_search(&b, &one, true, 1);
    const char *want = "\"highlight\":{\"title\":\"T\",\"snippets\":[\"s1\",\"s\\\"2\"],"
                       "\"title_matches\":[[0,1]],\"snippet_matches\":[[[0,2]],[[1,1]]]}";
    assert_non_null(memmem(b.data, b.len, want, strlen(want)));
    json_object_put(must_parse(&b));
    /* a hit of an answer with most of the words: the words it lacks; the answer, how many
     * documents have every word */
    char *missing[] = {"gnome", "\"x\\"};
    hit.missing = missing;
    hit.nmissing = 2;
    one.is_most_words = true;
    one.every_word = 3;
    sd_buf_reset(&b);
    proto_encode_search(&b, &one, true, 1);
    assert_non_null(memmem(b.data, b.len, ",\"every_word\":3", strlen(",\"every_word\":3")));
    want = ",\"missing\":[\"gnome\",\"\\\"x\\\\\"]}";
    assert_non_null(memmem(b.data, b.len, want, strlen(want)));
    json_object_put(must_parse(&b));
    sd_buf_free(&b);
}

/* ---- issue 11: filters, sort, facets, fields; unknown parameters; index management ---- */

static void test_proto_line_search_attr_params_parsed(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"\",\"filter\":\"year:>=2010 lang:ru\","
                                "\"sort\":\"year:desc,title\",\"facets\":[\"lang\","
                                "\"year:interval=10\"],\"fields\":\" title , year,authors\"}",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.filter_len, strlen("year:>=2010 lang:ru"));
    assert_memory_equal(req.filter, "year:>=2010 lang:ru", req.filter_len);
    assert_memory_equal(req.sort, "year:desc,title", req.sort_len);
    assert_int_equal(req.nfacets, 2);
    assert_string_equal(req.facets[0], "lang");
    assert_string_equal(req.facets[1], "year:interval=10");
    assert_int_equal(req.nchosen, 3);
    assert_string_equal(req.chosen[0], "title");
    assert_string_equal(req.chosen[1], "year");
    assert_string_equal(req.chosen[2], "authors");
    /* a comma-separated facets string and an array of fields work the same */
    assert_int_equal(parse_line("{\"op\":\"search\",\"q\":\"x\",\"facets\":\"lang,year:size=3\","
                                "\"fields\":[\"*\"]}",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.nfacets, 2);
    assert_string_equal(req.facets[1], "year:size=3");
    assert_int_equal(req.nchosen, 1);
    assert_string_equal(req.chosen[0], "*");
    assert_null(req.filter);
    proto_request_free(&req);
}

static void test_proto_http_search_attr_params_parsed(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    const char *uri = "/search?q=&filter=year%3A2000..2010+-lang%3Aen&sort=year:desc"
                      "&facets=lang,year:interval%3D10;size%3D5&fields=title,year";
    assert_int_equal(proto_parse_http(PROTO_GET, uri, strlen(uri), "", 0, &req, &err), PROTO_OK);
    assert_string_equal(req.filter, "year:2000..2010 -lang:en");
    assert_string_equal(req.sort, "year:desc");
    assert_int_equal(req.nfacets, 2);
    assert_string_equal(req.facets[0], "lang");
    assert_string_equal(req.facets[1], "year:interval=10;size=5");
    assert_int_equal(req.nchosen, 2);
    assert_string_equal(req.chosen[1], "year");
    const char *body = "{\"q\":\"x\",\"filter\":\"lang:ru\",\"facets\":[\"lang\"],"
                       "\"fields\":\"title\"}";
    assert_int_equal(proto_parse_http(PROTO_POST, "/search", 7, body, strlen(body), &req, &err),
                     PROTO_OK);
    assert_string_equal(req.facets[0], "lang");
    assert_string_equal(req.chosen[0], "title");
    proto_request_free(&req);
}

static void test_proto_attr_params_bad_input_is_bad_request(void **state)
{
    (void)state;
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"filter\":5}", PROTO_BAD_REQUEST,
                "'filter' must be a string");
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"sort\":[\"year\"]}", PROTO_BAD_REQUEST,
                "'sort' must be a string");
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"facets\":{\"lang\":1}}", PROTO_BAD_REQUEST,
                "'facets' must be an array of strings or a comma-separated string");
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"fields\":[\"title\",3]}", PROTO_BAD_REQUEST,
                "'fields'[1] must be a string");
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"facets\":[\"lang\",\"lang:size=3\"]}",
                PROTO_BAD_REQUEST, "'facets': two specs on the field 'lang'");
    assert_http(PROTO_GET, "/search?q=x&facets=year,lang,year:interval=5", NULL, PROTO_BAD_REQUEST,
                "'facets': two specs on the field 'year'");
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"fields\":\"title,title\"}", PROTO_BAD_REQUEST,
                "'fields': 'title' given twice");
    assert_http(PROTO_GET, "/search?q=x&fields=title,,year", NULL, PROTO_BAD_REQUEST,
                "'fields': an empty item");
    assert_http(PROTO_GET, "/search?q=x&facets=lang,", NULL, PROTO_BAD_REQUEST,
                "'facets': an empty item");
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"facets\":[\":size=3\"]}", PROTO_BAD_REQUEST,
                "'facets': field names are 1 to 64 bytes");
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"fields\":[\"a\\u0000b\"]}", PROTO_BAD_REQUEST,
                "'fields': an item contains NUL");
    /* counts: IDX_MAX_FACETS specs and IDX_MAX_CHOSEN names pass, one more does not */
    char uri[1024] = "/search?q=x&facets=f0";
    for (int i = 1; i < IDX_MAX_FACETS; i++) {
        snprintf(uri + strlen(uri), sizeof uri - strlen(uri), ",f%d", i);
    }
    assert_http(PROTO_GET, uri, NULL, PROTO_OK, NULL);
    strcat(uri, ",extra");
    assert_http(PROTO_GET, uri, NULL, PROTO_BAD_REQUEST, "'facets': at most 16 items");
    char line[2048] = "{\"op\":\"search\",\"q\":\"x\",\"fields\":[\"f0\"";
    for (int i = 1; i < IDX_MAX_CHOSEN; i++) {
        snprintf(line + strlen(line), sizeof line - strlen(line), ",\"f%d\"", i);
    }
    char more[2100];
    snprintf(more, sizeof more, "%s]}", line);
    assert_line(more, PROTO_OK, NULL);
    snprintf(more, sizeof more, "%s,\"extra\"]}", line);
    assert_line(more, PROTO_BAD_REQUEST, "'fields': at most 64 items");
}

static void test_issue_11_unknown_parameters_are_bad_request(void **state)
{
    (void)state;
    /* line protocol: every op */
    assert_line("{\"op\":\"search\",\"q\":\"x\",\"fitler\":\"lang:ru\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'fitler'");
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\"},\"sync\":true}", PROTO_BAD_REQUEST,
                "unknown parameter 'sync'");
    assert_line("{\"op\":\"get\",\"id\":\"a\",\"fields\":[\"title\"]}", PROTO_BAD_REQUEST,
                "unknown parameter 'fields'");
    assert_line("{\"op\":\"delete\",\"id\":\"a\",\"q\":\"x\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'q'");
    assert_line("{\"op\":\"stats\",\"verbose\":true}", PROTO_BAD_REQUEST,
                "unknown parameter 'verbose'");
    assert_line("{\"op\":\"health\",\"x\":1}", PROTO_BAD_REQUEST, "unknown parameter 'x'");
    assert_line("{\"op\":\"auth\",\"key\":\"k\",\"role\":\"admin\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'role'");
    assert_line("{\"op\":\"indexes\",\"limit\":5}", PROTO_BAD_REQUEST, "unknown parameter 'limit'");
    assert_line("{\"op\":\"drop_index\",\"index\":\"a\",\"force\":true}", PROTO_BAD_REQUEST,
                "unknown parameter 'force'");
    assert_line("{\"op\":\"get_settings\",\"index\":\"a\",\"settings\":{}}", PROTO_BAD_REQUEST,
                "unknown parameter 'settings'");
    assert_line("{\"op\":\"create_index\",\"index\":\"a\",\"settings\":{},\"replace\":1}",
                PROTO_BAD_REQUEST, "unknown parameter 'replace'");
    /* "index" where the op names no index */
    assert_line("{\"op\":\"indexes\",\"index\":\"a\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'index' (indexes names no index)");
    assert_line("{\"op\":\"health\",\"index\":\"a\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'index' (health names no index)");
    /* HTTP: query-string keys of every route, and the members of a POST /search body */
    assert_http(PROTO_GET, "/search?q=x&lmit=5", NULL, PROTO_BAD_REQUEST,
                "unknown parameter 'lmit'");
    assert_http(PROTO_POST, "/search?limit=5", "{\"q\":\"x\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'limit'");
    assert_http(PROTO_POST, "/search", "{\"q\":\"x\",\"op\":\"search\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'op'");
    assert_http(PROTO_POST, "/search", "{\"q\":\"x\",\"facet\":[\"lang\"]}", PROTO_BAD_REQUEST,
                "unknown parameter 'facet'");
    assert_http(PROTO_POST, "/docs?refresh=1", "{\"id\":\"a\"}", PROTO_BAD_REQUEST,
                "unknown parameter 'refresh'");
    assert_http(PROTO_GET, "/docs/a?fields=title", NULL, PROTO_BAD_REQUEST,
                "unknown parameter 'fields'");
    assert_http(PROTO_DELETE, "/docs/a?x=1", NULL, PROTO_BAD_REQUEST, "unknown parameter 'x'");
    assert_http(PROTO_GET, "/stats?all=1", NULL, PROTO_BAD_REQUEST, "unknown parameter 'all'");
    assert_http(PROTO_GET, "/health?index=a", NULL, PROTO_BAD_REQUEST, "unknown parameter 'index'");
    assert_http(PROTO_GET, "/indexes?index=a", NULL, PROTO_BAD_REQUEST,
                "unknown parameter 'index'");
    assert_http(PROTO_PUT, "/indexes/a?mode=create", "{}", PROTO_BAD_REQUEST,
                "unknown parameter 'mode'");
    /* the known ones still pass */
    assert_http(PROTO_GET, "/stats?index=a", NULL, PROTO_OK, NULL);
    assert_http(PROTO_GET, "/health", NULL, PROTO_OK, NULL);
    assert_line("{\"op\":\"stats\",\"index\":\"a\"}", PROTO_OK, NULL);
}

static void test_proto_index_management_parsed(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"indexes\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_INDEXES);
    assert_int_equal(parse_line("{\"op\":\"create_index\",\"index\":\"books\",\"settings\":"
                                "{\"fields\":{\"year\":{\"type\":\"int\"}}}}",
                                &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_CREATE_INDEX);
    assert_string_equal(req.index, "books");
    assert_memory_equal(req.settings, "{\"fields\":{\"year\":{\"type\":\"int\"}}}",
                        req.settings_len);
    assert_int_equal(
        parse_line("{\"op\":\"set_settings\",\"index\":\"b\",\"settings\":{}}", &req, &err),
        PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_SET_SETTINGS);
    assert_int_equal(parse_line("{\"op\":\"get_settings\",\"index\":\"b\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_GET_SETTINGS);
    assert_int_equal(parse_line("{\"op\":\"drop_index\",\"index\":\"b\"}", &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_DROP_INDEX);
    assert_string_equal(proto_op_name(PROTO_OP_DROP_INDEX), "drop_index");

    const char *body = "{\"fields\":{\"lang\":{\"type\":\"keyword\"}}}";
    assert_int_equal(
        proto_parse_http(PROTO_PUT, "/indexes/my-books", 17, body, strlen(body), &req, &err),
        PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_SET_SETTINGS);
    assert_string_equal(req.index, "my-books");
    assert_memory_equal(req.settings, body, req.settings_len);
    assert_false(req.is_settings_merge);
    assert_int_equal(
        proto_parse_http(PROTO_PATCH, "/indexes/my-books", 17, body, strlen(body), &req, &err),
        PROTO_OK); /* PATCH: the same settings, as a merge patch */
    assert_int_equal(req.op, PROTO_OP_SET_SETTINGS);
    assert_true(req.is_settings_merge);
    assert_memory_equal(req.settings, body, req.settings_len);
    assert_int_equal(proto_parse_http(PROTO_GET, "/indexes/b%5F1", 14, "", 0, &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_GET_SETTINGS);
    assert_string_equal(req.index, "b_1");
    assert_int_equal(proto_parse_http(PROTO_DELETE, "/indexes/b", 10, "", 0, &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_DROP_INDEX);
    assert_int_equal(proto_parse_http(PROTO_GET, "/indexes", 8, "", 0, &req, &err), PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_INDEXES);
    proto_request_free(&req);
}

static void test_proto_index_management_bad_input(void **state)
{
    (void)state;
    const char *bad_name = "bad index name: use [a-z0-9_-], 1 to 64 bytes, not starting with '-'";
    /* a name that would leave the data directory is refused before anything acts */
    assert_line("{\"op\":\"drop_index\",\"index\":\"../x\"}", PROTO_BAD_REQUEST, bad_name);
    assert_http(PROTO_DELETE, "/indexes/..%2Fx", NULL, PROTO_BAD_REQUEST, bad_name);
    assert_http(PROTO_DELETE, "/indexes/%2e%2e", NULL, PROTO_BAD_REQUEST, bad_name);
    assert_http(PROTO_PUT, "/indexes/A", "{}", PROTO_BAD_REQUEST, bad_name);
    assert_http(PROTO_GET, "/indexes/..", NULL, PROTO_BAD_REQUEST, bad_name);
    assert_http(PROTO_GET, "/indexes/", NULL, PROTO_UNKNOWN_PATH, NULL);
    /* the index is required where a default would act on the wrong one */
    assert_line("{\"op\":\"drop_index\"}", PROTO_BAD_REQUEST, "drop_index: missing 'index'");
    assert_line("{\"op\":\"set_settings\",\"settings\":{}}", PROTO_BAD_REQUEST,
                "set_settings: missing 'index'");
    assert_line("{\"op\":\"create_index\",\"index\":\"a\"}", PROTO_BAD_REQUEST,
                "create_index: 'settings' must be a JSON object");
    assert_line("{\"op\":\"set_settings\",\"index\":\"a\",\"settings\":\"{}\"}", PROTO_BAD_REQUEST,
                "set_settings: 'settings' must be a JSON object");
    assert_line("{\"op\":\"set_settings\",\"index\":\"a\",\"settings\":{\"w\":NaN}}",
                PROTO_BAD_JSON, NULL);
    assert_http(PROTO_PUT, "/indexes/a", "{\"w\":-Infinity}", PROTO_BAD_JSON, NULL);
    assert_http(PROTO_PUT, "/indexes/a", "[]", PROTO_BAD_JSON, NULL);
    assert_http(PROTO_PUT, "/indexes/a", "", PROTO_BAD_JSON, NULL);
    assert_http(PROTO_PUT, "/indexes/a", "{\"fields\":{},\"fields\":{}}", PROTO_BAD_REQUEST,
                "key 'fields' given twice");
    /* methods */
    assert_http(PROTO_POST, "/indexes", "{}", PROTO_METHOD_NOT_ALLOWED, NULL);
    assert_http(PROTO_POST, "/indexes/a", "{}", PROTO_METHOD_NOT_ALLOWED, NULL);
}

static void test_proto_encode_facets_and_fields(void **state)
{
    (void)state;
    struct idx_facet_bucket lang[] = {{"en", 30}, {"ru", 12}};
    struct idx_facet_bucket year[] = {{"1990", 4}, {"2000", 7}};
    struct idx_facet facets[] = {
        {.field = "lang", .buckets = lang, .nbuckets = 2, .others = 1, .missing = 3},
        {.field = "year", .buckets = year, .nbuckets = 2, .others = 0, .missing = 0},
    };
    struct idx_hit hits[] = {
        {.id = "a", .title = "A", .snippet = "", .fields_json = "{\"year\":1995,\"lang\":\"en\"}"},
        {.id = "b", .title = "B", .snippet = ""},
    };
    struct idx_search_res res = {.total = 2,
                                 .total_is_exact = true,
                                 .hits = hits,
                                 .nhits = 2,
                                 .facets = facets,
                                 .nfacets = 2};
    struct sd_buf b;
    sd_buf_init(&b);
    proto_encode_search(&b, &res, false, 0.5);
    struct json_object *o = must_parse(&b);
    const char *want =
        "\"facets\":{\"lang\":{\"en\":30,\"ru\":12},\"year\":{\"1990\":4,\"2000\":7}},"
        "\"facet_stats\":{\"lang\":{\"others\":1,\"missing\":3},"
        "\"year\":{\"others\":0,\"missing\":0}},"
        "\"facet_order\":{\"lang\":[\"en\",\"ru\"],\"year\":[\"1990\",\"2000\"]}";
    if (!memmem(b.data, b.len, want, strlen(want))) {
        fail_msg("no facets in %.*s", (int)b.len, (const char *)b.data);
    }
    struct json_object *hs = json_object_object_get(o, "hits");
    struct json_object *f0 = json_object_object_get(json_object_array_get_idx(hs, 0), "fields");
    assert_non_null(f0);
    assert_int_equal(json_object_get_int(json_object_object_get(f0, "year")), 1995);
    /* a hit without chosen fields has no "fields"; an answer without facets no "facets" */
    assert_false(json_object_object_get_ex(json_object_array_get_idx(hs, 1), "fields", NULL));
    json_object_put(o);
    res.nfacets = 0;
    sd_buf_reset(&b);
    proto_encode_search(&b, &res, false, 0.5);
    o = must_parse(&b);
    assert_false(json_object_object_get_ex(o, "facets", NULL));
    assert_false(json_object_object_get_ex(o, "facet_stats", NULL));
    assert_false(json_object_object_get_ex(o, "facet_order", NULL));
    json_object_put(o);
    sd_buf_free(&b);
}

static void test_proto_encode_index_management(void **state)
{
    (void)state;
    struct sd_buf b;
    sd_buf_init(&b);
    struct idx_index_info info[] = {
        {.name = "a", .docs = 3, .disk_bytes = 100, .settings_version = 2}, {.name = "b"}};
    proto_encode_indexes(&b, info, 2);
    struct json_object *o = must_parse(&b);
    struct json_object *v = json_object_object_get(o, "indexes");
    assert_int_equal(json_object_array_length(v), 2);
    struct json_object *a = json_object_array_get_idx(v, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(a, "name")), "a");
    assert_int_equal(json_object_get_int(json_object_object_get(a, "settings_version")), 2);
    assert_int_equal(json_object_get_int(json_object_object_get(a, "disk_bytes")), 100);
    json_object_put(o);

    sd_buf_reset(&b);
    struct idx_stats st = {.docs = 7, .settings_version = 4, .reindex_pending = true};
    const char *settings = "{\"fields\":{\"year\":{\"type\":\"int\"}}}";
    proto_encode_settings(&b, "a", settings, strlen(settings), 4, &st);
    o = must_parse(&b);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "version")), 4);
    struct json_object *so = json_object_object_get(o, "settings");
    assert_non_null(json_object_object_get(so, "fields"));
    struct json_object *sto = json_object_object_get(o, "stats");
    assert_int_equal(json_object_get_int(json_object_object_get(sto, "docs")), 7);
    assert_true(json_object_get_boolean(json_object_object_get(sto, "reindex_pending")));
    json_object_put(o);

    sd_buf_reset(&b);
    proto_encode_settings(&b, "default", NULL, 0, 0, &(struct idx_stats){0});
    o = must_parse(&b);
    assert_int_equal(json_object_object_length(json_object_object_get(o, "settings")), 0);
    json_object_put(o);

    sd_buf_reset(&b);
    proto_encode_settings_set(&b, "a", 5);
    o = must_parse(&b);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "version")), 5);
    json_object_put(o);

    sd_buf_reset(&b);
    proto_encode_dropped(&b, "a");
    o = must_parse(&b);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "dropped")), "a");
    json_object_put(o);

    sd_buf_reset(&b);
    proto_encode_stats(&b, "a", &st);
    o = must_parse(&b);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "settings_version")), 4);
    json_object_put(o);
    sd_buf_free(&b);
    assert_int_equal(proto_code_from_sd(SD_EFIELD), PROTO_UNKNOWN_FIELD);
}

/* Numbers json-c's strict mode lets through: outside JSON's grammar (kept as written, so a
 * stored field came back as invalid JSON), or integers it clamps (two ids, one document). */
static void test_proto_numbers_outside_json_or_range_are_refused(void **state)
{
    (void)state;
    static const char *const malformed[] = {"1.",  "-.5",  "01.5", "00",  "-00", "-01", "0.",
                                            "-0.", "1.e5", "1e",   "1e+", "-",   ".5"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":%s}}",
                 malformed[i]);
        assert_line(line, PROTO_BAD_JSON, NULL);
    }
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":1.}}", PROTO_BAD_JSON,
                "at 32: malformed number (no digit after the point)");
    /* the ends of the range are taken, one past them is not */
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":18446744073709551615,"
                "\"n\":-9223372036854775808,\"f\":-0,\"g\":1.5e-7,\"h\":2E+2}}",
                PROTO_OK, NULL);
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":18446744073709551616}}", PROTO_BAD_REQUEST,
                "at 24: integer out of range (-2^63 to 2^64-1; send a larger one as a string)");
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":-9223372036854775809}}",
                PROTO_BAD_REQUEST, NULL);
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":123456789012345678901234567890}}",
                PROTO_BAD_REQUEST, NULL);
    /* past a double's range is not NaN or Infinity, which are not JSON: each is named */
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":[1,{\"m\":-1e999}]}}",
                PROTO_BAD_REQUEST,
                "doc: 'n': a number past a double's range (about 1.8e308 either way); send "
                "it as a string");
    assert_line("{\"op\":\"set_settings\",\"index\":\"a\",\"settings\":{\"w\":1e400}}",
                PROTO_BAD_REQUEST,
                "settings: a number past a double's range (about 1.8e308 either way); send it as "
                "a string");
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":-Infinity}}", PROTO_BAD_JSON,
                "at 32: NaN and Infinity are not JSON");
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":NaN,\"s\":\"NaN\"}}", PROTO_BAD_JSON,
                "at 32: NaN and Infinity are not JSON");
    assert_line("{\"op\":Nope}", PROTO_BAD_JSON, NULL);
    /* a float of any size is a double, as JSON has it; digits in strings are not numbers */
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"n\":1e300,\"s\":\"00 1. -\"}}", PROTO_OK,
                NULL);
    /* the same check for HTTP bodies and NDJSON lines */
    assert_http(PROTO_POST, "/docs", "{\"id\":\"a\",\"n\":01}", PROTO_BAD_JSON, NULL);
    assert_http(PROTO_POST, "/docs", "{\"id\":\"a\"}\n{\"id\":\"b\",\"n\":1.}\n", PROTO_BAD_JSON,
                NULL);
    /* a request that is not an object is said to be one, whatever it is */
    assert_line("5", PROTO_BAD_JSON, "the request is not a JSON object");
    assert_line("null", PROTO_BAD_JSON, "the request is not a JSON object");
    assert_line(" [1]", PROTO_BAD_JSON, "the request is not a JSON object");
}

/* json-c keeps keys as C strings, and parameters are read as C strings: "\u0000" cut them
 * ("search\u0000junk" ran as search). It is refused in every key and in every value but a
 * document's (kept whole, with its length), as %00 in every HTTP query-string key and value. */
static void test_proto_nul_is_refused_but_in_documents(void **state)
{
    (void)state;
    assert_line("{\"op\":\"search\\u0000x\",\"q\":\"a\"}", PROTO_BAD_REQUEST,
                "'op': a string holds \\u0000 (NUL)");
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"limit\\u0000z\":0}", PROTO_BAD_REQUEST,
                "at 23: a key holds \\u0000 (NUL)");
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"ti\\u0000tle\":\"x\"}}", PROTO_BAD_REQUEST,
                NULL);
    assert_line("{\"op\":\"search\",\"q\":\"a\\u0000b\"}", PROTO_BAD_REQUEST,
                "'q': a string holds \\u0000 (NUL)");
    assert_line("{\"op\":\"auth\",\"key\":\"k\\u0000\"}", PROTO_BAD_REQUEST, NULL);
    assert_line("{\"op\":\"set_settings\",\"index\":\"b\",\"settings\":{\"synonyms\":"
                "[[\"a\\u0000\",\"b\"]]}}",
                PROTO_BAD_REQUEST, "'synonyms': a string holds \\u0000 (NUL)");
    assert_line("{\"op\":\"add\",\"doc\":{\"id\":\"a\",\"body\":\"x\\u0000y\"}}", PROTO_OK, NULL);
    assert_line("{\"op\":\"add\",\"docs\":[{\"id\":\"a\",\"t\":[\"\\u0000\"]}]}", PROTO_OK, NULL);
    assert_http(PROTO_POST, "/docs", "{\"id\":\"a\",\"body\":\"x\\u0000y\"}", PROTO_OK, NULL);
    assert_http(PROTO_POST, "/search", "{\"q\":\"a\\u0000\"}", PROTO_BAD_REQUEST,
                "'q': a string holds \\u0000 (NUL)");
    assert_http(PROTO_GET, "/search?q=a&highlight=true%00junk", NULL, PROTO_BAD_REQUEST,
                "parameter 'highlight' holds %00 (NUL)");
    assert_http(PROTO_GET, "/search?q=a&li%00mit=1", NULL, PROTO_BAD_REQUEST,
                "%00 (NUL) in a query-string parameter's name");
    assert_http(PROTO_GET, "/search?q=a&%ff=1", NULL, PROTO_BAD_UTF8,
                "a query-string parameter's name is not valid UTF-8");
    assert_http(PROTO_GET, "/search?q=a&=x", NULL, PROTO_BAD_REQUEST,
                "a query-string parameter without a name");
    assert_http(PROTO_GET, "/search?q=a&&", NULL, PROTO_OK, NULL); /* empty pieces: nothing */
}

/* weights in a query string take what the JSON form takes: numbers as JSON writes them, each
 * field once, no empty entries. */
static void test_proto_http_weights_as_strict_as_json(void **state)
{
    (void)state;
    assert_http(PROTO_GET, "/search?q=a&weights=title:3,body:0.5,x:1e1", NULL, PROTO_OK, NULL);
    assert_http(PROTO_GET, "/search?q=a&weights=title:3,title:4", NULL, PROTO_BAD_REQUEST,
                "weights: 'title' given twice");
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"weights\":{\"t\":1,\"t\":2}}", PROTO_BAD_REQUEST,
                NULL);
    static const char *const bad[] = {"title:3,",   ",title:3",  "title:3,,body:1", "",
                                      "title:0x10", "title:inf", "title: 3",        "title:3 ",
                                      "title:+3",   "title:.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char uri[128];
        snprintf(uri, sizeof uri, "/search?q=a&weights=%s", bad[i]);
        assert_http(PROTO_GET, uri, NULL, PROTO_BAD_REQUEST, NULL);
    }
}

/* fragments and the marks shape highlights; without "highlight": true they did nothing. */
static void test_proto_highlight_shapes_need_highlight(void **state)
{
    (void)state;
    static const char *const shapes[] = {"\"fragments\":2", "\"highlight_pre\":\"[\"",
                                         "\"highlight_post\":\"]\"", "\"highlight_offsets\":true"};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        char line[160];
        snprintf(line, sizeof line, "{\"op\":\"search\",\"q\":\"a\",%s}", shapes[i]);
        assert_line(line, PROTO_BAD_REQUEST,
                    "'fragments', 'highlight_pre', 'highlight_post' and 'highlight_offsets' shape "
                    "highlights: they need 'highlight' true");
        snprintf(line, sizeof line, "{\"op\":\"search\",\"q\":\"a\",\"highlight\":false,%s}",
                 shapes[i]);
        assert_line(line, PROTO_BAD_REQUEST, NULL);
        snprintf(line, sizeof line, "{\"op\":\"search\",\"q\":\"a\",\"highlight\":true,%s}",
                 shapes[i]);
        assert_line(line, PROTO_OK, NULL);
    }
    assert_http(PROTO_GET, "/search?q=a&fragments=2", NULL, PROTO_BAD_REQUEST, NULL);
    assert_http(PROTO_GET, "/search?q=a&fragments=2&highlight=true", NULL, PROTO_OK, NULL);
    /* snippet_len shapes the plain snippet too */
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"snippet_len\":100}", PROTO_OK, NULL);
    /* with "snippet": false there is no snippet or fragment to shape (only the title is
     * highlighted): they were taken and did nothing; the order of the members does not matter */
    static const char *const snippet_shapes[] = {
        "{\"op\":\"search\",\"q\":\"a\",\"snippet\":false,\"snippet_len\":100}",
        "{\"op\":\"search\",\"q\":\"a\",\"fragments\":2,\"highlight\":true,\"snippet\":false}",
    };
    for (size_t i = 0; i < sizeof snippet_shapes / sizeof *snippet_shapes; i++) {
        assert_line(snippet_shapes[i], PROTO_BAD_REQUEST,
                    "'snippet_len' and 'fragments' shape snippets: 'snippet' is false");
    }
    assert_http(PROTO_GET, "/search?q=a&snippet=false&snippet_len=100", NULL, PROTO_BAD_REQUEST,
                "'snippet_len' and 'fragments' shape snippets: 'snippet' is false");
    assert_http(PROTO_GET, "/search?q=a&highlight=true&fragments=2&snippet=0", NULL,
                PROTO_BAD_REQUEST, NULL);
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"highlight\":true,\"snippet\":false}", PROTO_OK,
                NULL);
}

/* A search without "q" says that it is missing, on both protocols (the line protocol said
 * "'q' must be a string", as for a q of another type). */
static void test_proto_search_without_q_says_missing(void **state)
{
    (void)state;
    assert_line("{\"op\":\"search\",\"limit\":1}", PROTO_BAD_REQUEST, "missing 'q'");
    assert_http(PROTO_POST, "/search", "{\"limit\":1}", PROTO_BAD_REQUEST, "missing 'q'");
    assert_http(PROTO_GET, "/search?limit=1", NULL, PROTO_BAD_REQUEST, "missing 'q'");
    assert_line("{\"op\":\"search\",\"q\":5}", PROTO_BAD_REQUEST, "'q' must be a string");
    assert_line("{\"op\":\"search\",\"q\":null}", PROTO_BAD_REQUEST, "'q' must be a string");
}

/* A number out of range says the documented range, however far out it is (a negative or huge
 * one too, on both protocols), and a NUL in a mark is refused as in any string value
 * (docs/PROTOCOL.md "NUL"), not as a mark too long. */
static void test_proto_highlight_range_messages(void **state)
{
    (void)state;
    static const char *const snippet_len[] = {"-1", "0", "15", "4097", "5000000000"};
    for (size_t i = 0; i < sizeof snippet_len / sizeof *snippet_len; i++) {
        char text[160];
        snprintf(text, sizeof text, "{\"op\":\"search\",\"q\":\"a\",\"snippet_len\":%s}",
                 snippet_len[i]);
        assert_line(text, PROTO_BAD_REQUEST, "'snippet_len' must be 16 to 4096");
        snprintf(text, sizeof text, "/search?q=a&snippet_len=%s", snippet_len[i]);
        assert_http(PROTO_GET, text, NULL, PROTO_BAD_REQUEST, "'snippet_len' must be 16 to 4096");
    }
    static const char *const fragments[] = {"-1", "0", "6", "5000000000"};
    for (size_t i = 0; i < sizeof fragments / sizeof *fragments; i++) {
        char text[160];
        snprintf(text, sizeof text,
                 "{\"op\":\"search\",\"q\":\"a\",\"highlight\":true,\"fragments\":%s}",
                 fragments[i]);
        assert_line(text, PROTO_BAD_REQUEST, "'fragments' must be 1 to 5");
        snprintf(text, sizeof text, "/search?q=a&highlight=true&fragments=%s", fragments[i]);
        assert_http(PROTO_GET, text, NULL, PROTO_BAD_REQUEST, "'fragments' must be 1 to 5");
    }
    assert_http(PROTO_GET, "/search?q=a&snippet_len=", NULL, PROTO_BAD_REQUEST,
                "'snippet_len' must be 16 to 4096");
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"snippet_len\":\"200\"}", PROTO_BAD_REQUEST,
                "'snippet_len' must be an integer");
    assert_line("{\"op\":\"search\",\"q\":\"a\",\"highlight\":true,\"highlight_pre\":\"a\\u0000\"}",
                PROTO_BAD_REQUEST, "'highlight_pre': a string holds \\u0000 (NUL)");
}

/* A fault of the one "doc" of an add is named "doc", of a batch's "docs[i]"; a missing member is
 * said to be missing. */
static void test_proto_messages_name_what_is_wrong(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"add\",\"doc\":{\"x\":1}}", &req, &err),
                     PROTO_BAD_REQUEST);
    assert_string_equal(err.msg, "doc: missing 'id'");
    assert_int_equal(parse_line("{\"op\":\"add\",\"docs\":[{\"id\":\"a\"},{\"x\":1}]}", &req, &err),
                     PROTO_BAD_REQUEST);
    assert_string_equal(err.msg, "docs[1]: missing 'id'");
    /* and snapshot says what is missing, apart from what has the wrong type */
    assert_int_equal(parse_line("{\"op\":\"snapshot\",\"index\":\"a\"}", &req, &err),
                     PROTO_BAD_REQUEST);
    assert_string_equal(err.msg, "snapshot: missing 'name'");
    assert_int_equal(parse_line("{\"op\":\"snapshot\",\"index\":\"a\",\"name\":1}", &req, &err),
                     PROTO_BAD_REQUEST);
    assert_string_equal(err.msg, "snapshot: 'name' must be a string");
    proto_request_free(&req);
}

/* delete with "ids": one write of deletes, over both protocols; each id checked by its place. */
static void test_proto_delete_ids_is_one_batch(void **state)
{
    (void)state;
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    assert_int_equal(parse_line("{\"op\":\"delete\",\"ids\":[\"a\",7,\"a\"]}", &req, &err),
                     PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_DELETE);
    assert_int_equal(req.nops, 3);
    assert_int_equal(req.ops[0].type, IDX_OP_DELETE);
    assert_memory_equal(req.ops[1].doc.id, "7", req.ops[1].doc.id_len);
    assert_int_equal(req.ops[2].doc.id_len, 1);
    static const struct {
        const char *line;
        const char *msg;
    } bad[] = {
        {"{\"op\":\"delete\",\"ids\":[]}", "'ids' must be an array of 1 to 10000 ids"},
        {"{\"op\":\"delete\",\"ids\":\"a\"}", "'ids' must be an array of 1 to 10000 ids"},
        {"{\"op\":\"delete\",\"ids\":[\"a\",null]}", "ids[1] must be a string or an integer"},
        {"{\"op\":\"delete\",\"ids\":[\"\"]}", "ids[0] must be 1 to 512 bytes"},
        {"{\"op\":\"delete\",\"id\":\"a\",\"ids\":[\"b\"]}", "'id' or 'ids' (one of them)"},
        {"{\"op\":\"delete\"}", "'id' or 'ids' (one of them)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse_line(bad[i].line, &req, &err), PROTO_BAD_REQUEST);
        if (!strstr(err.msg, bad[i].msg)) {
            fail_msg("%s: %s", bad[i].line, err.msg);
        }
    }
    char many[80000] = "{\"op\":\"delete\",\"ids\":[1"; /* one over PROTO_MAX_BATCH */
    for (int i = 0; i < PROTO_MAX_BATCH; i++) {
        strcat(many, ",1");
    }
    strcat(many, "]}");
    assert_int_equal(parse_line(many, &req, &err), PROTO_BAD_REQUEST);
    /* HTTP: POST /docs/delete with {"ids": [...]}; GET and DELETE of it are a document's */
    const char *body = "{\"ids\":[\"x\",\"y\"]}";
    assert_int_equal(
        proto_parse_http(PROTO_POST, "/docs/delete?index=b", 20, body, strlen(body), &req, &err),
        PROTO_OK);
    assert_int_equal(req.op, PROTO_OP_DELETE);
    assert_int_equal(req.nops, 2);
    assert_string_equal(req.index, "b");
    body = "{\"ids\":[\"x\"],\"id\":\"y\"}";
    assert_int_equal(
        proto_parse_http(PROTO_POST, "/docs/delete", 12, body, strlen(body), &req, &err),
        PROTO_BAD_REQUEST);
    assert_int_equal(proto_parse_http(PROTO_DELETE, "/docs/delete", 12, "", 0, &req, &err),
                     PROTO_OK);
    assert_int_equal(req.nops, 0);
    assert_memory_equal(req.id, "delete", req.id_len);
    proto_request_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_line_search_all_members_parsed),
        cmocka_unit_test(test_proto_delete_ids_is_one_batch),
        cmocka_unit_test(test_proto_messages_name_what_is_wrong),
        cmocka_unit_test(test_proto_highlight_range_messages),
        cmocka_unit_test(test_proto_search_without_q_says_missing),
        cmocka_unit_test(test_proto_line_search_defaults),
        cmocka_unit_test(test_proto_line_add_doc_fields_in_order_raw_as_json),
        cmocka_unit_test(test_proto_line_add_batch_and_empty_batch),
        cmocka_unit_test(test_proto_line_get_delete_stats_health),
        cmocka_unit_test(test_proto_line_bad_json),
        cmocka_unit_test(test_proto_line_depth_over_limit_is_bad_json),
        cmocka_unit_test(test_proto_line_bad_utf8),
        cmocka_unit_test(test_proto_line_bad_request),
        cmocka_unit_test(test_proto_line_limits_at_edge_accepted),
        cmocka_unit_test(test_proto_line_batch_over_limit_rejected),
        cmocka_unit_test(test_proto_line_unknown_op),
        cmocka_unit_test(test_proto_http_get_search_params),
        cmocka_unit_test(test_proto_http_search_errors),
        cmocka_unit_test(test_proto_http_post_search_index_from_either_not_both),
        cmocka_unit_test(test_proto_http_routes_and_methods),
        cmocka_unit_test(test_proto_http_body_where_none_is_read_is_refused),
        cmocka_unit_test(test_proto_snapshot_line_and_http_parse_and_refuse_paths),
        cmocka_unit_test(test_proto_http_doc_id_percent_decoded),
        cmocka_unit_test(test_proto_http_post_docs_single_and_pretty),
        cmocka_unit_test(test_proto_http_post_docs_ndjson_split),
        cmocka_unit_test(test_proto_http_post_docs_errors_name_the_line),
        cmocka_unit_test(test_proto_percent_decode),
        cmocka_unit_test(test_proto_json_string_escapes_controls),
        cmocka_unit_test(test_proto_json_string_keeps_utf8_replaces_invalid),
        cmocka_unit_test(test_proto_json_string_random_bytes_always_valid_json),
        cmocka_unit_test(test_proto_encode_answers_are_json),
        cmocka_unit_test(test_proto_weight_of_exactly_the_maximum_is_accepted),
        cmocka_unit_test(test_proto_percent_escape_cut_at_the_end_is_refused),
        cmocka_unit_test(test_proto_checks_utf8_with_the_stemmer_validator),
        cmocka_unit_test(test_issue_10_lone_surrogate_escapes_are_bad_utf8),
        cmocka_unit_test(test_issue_10_small_totals_are_exact),
        cmocka_unit_test(test_issue_10_minus_zero_is_zero),
        cmocka_unit_test(test_issue_10_repeated_parameters_are_bad_request),
        cmocka_unit_test(test_issue_10_more_than_32_parameters_is_bad_request),
        cmocka_unit_test(test_proto_codes_match_protocol_table),
        cmocka_unit_test(test_proto_search_box_options),
        cmocka_unit_test(test_proto_prefix_last_needs_the_simple_syntax),
        cmocka_unit_test(test_proto_drop_words_follows_the_syntax),
        cmocka_unit_test(test_proto_line_search_attr_params_parsed),
        cmocka_unit_test(test_proto_http_search_attr_params_parsed),
        cmocka_unit_test(test_proto_attr_params_bad_input_is_bad_request),
        cmocka_unit_test(test_issue_11_unknown_parameters_are_bad_request),
        cmocka_unit_test(test_proto_index_management_parsed),
        cmocka_unit_test(test_proto_index_management_bad_input),
        cmocka_unit_test(test_proto_encode_facets_and_fields),
        cmocka_unit_test(test_proto_encode_index_management),
        cmocka_unit_test(test_proto_numbers_outside_json_or_range_are_refused),
        cmocka_unit_test(test_proto_nul_is_refused_but_in_documents),
        cmocka_unit_test(test_proto_http_weights_as_strict_as_json),
        cmocka_unit_test(test_proto_highlight_shapes_need_highlight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
