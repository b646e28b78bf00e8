/*
 * schema_test.c: settings JSON (parse, refuse with the key named, canonical encode) and
 * typed values (the strict rules of sch_value.c, dates against known instants).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema.h"

static struct sch_schema *must_parse(const char *json)
{
    struct sch_schema *s = NULL;
    struct sd_error err = {0};
    int rc = sch_parse(json, strlen(json), &s, &err);
    if (rc) {
        fail_msg("%s: %s", json, err.msg);
    }
    return s;
}

/* Parses json, expects code, and that the message contains want. */
static void expect_refused(const char *json, int code, const char *want)
{
    struct sch_schema *s = NULL;
    struct sd_error err = {0};
    int rc = sch_parse(json, strlen(json), &s, &err);
    if (rc != code || !strstr(err.msg, want)) {
        fail_msg("%s: rc %d (want %d), msg '%s' (want '%s')", json, rc, code, err.msg, want);
    }
    assert_null(s);
}

static void expect_encoding(const struct sch_schema *s, const char *want)
{
    struct sd_buf b;
    sd_buf_init(&b);
    sch_encode(s, &b);
    assert_int_equal(b.rc, SD_OK);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0) {
        fail_msg("encoded %.*s, want %s", (int)b.len, (const char *)b.data, want);
    }
    sd_buf_free(&b);
}

static void test_sch_parse_all_types_sorted_with_default_weights(void **state)
{
    (void)state;
    struct sch_schema *s = must_parse(
        "{\"fields\": {\"year\": {\"type\": \"int\"}, \"title\": {\"type\": \"text\"},"
        " \"body\": {\"type\": \"text\", \"weight\": 0.5}, \"tags\": {\"type\": \"keyword\"},"
        " \"price\": {\"type\": \"float\"}, \"at\": {\"type\": \"date\"},"
        " \"ok\": {\"type\": \"bool\"}}}  \n");
    assert_true(s->has_fields);
    assert_int_equal(s->nfields, 7);
    const char *order[] = {"at", "body", "ok", "price", "tags", "title", "year"};
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(s->fields[i].name, order[i]);
    }
    const struct sch_field *f = sch_find(s, "title", 5);
    assert_non_null(f);
    assert_int_equal(f->type, SCH_TEXT);
    assert_true(f->weight == 2.0f);
    assert_true(sch_find(s, "body", 4)->weight == 0.5f);
    assert_int_equal(sch_find(s, "year", 4)->type, SCH_INT);
    assert_true(sch_find(s, "year", 4)->weight == 0.0f);
    assert_null(sch_find(s, "yea", 3));
    assert_null(sch_find(s, "years", 5));
    expect_encoding(s, "{\"fields\":{\"at\":{\"type\":\"date\"},\"body\":{\"type\":\"text\","
                       "\"weight\":0.5},\"ok\":{\"type\":\"bool\"},\"price\":{\"type\":\"float\"},"
                       "\"tags\":{\"type\":\"keyword\"},\"title\":{\"type\":\"text\",\"weight\":2},"
                       "\"year\":{\"type\":\"int\"}}}");
    sch_free(s);
}

static void test_sch_encode_is_canonical_fixed_point(void **state)
{
    (void)state;
    const char *inputs[] = {
        "{}",
        "{\"fields\":{}}",
        "{\"fields\":{\"b\\\"q\":{\"type\":\"keyword\"},\"a\":{\"weight\":3.25,\"type\":\"text\"}}"
        "}",
        "{\"fields\":{\"\xd0\xb3\xd0\xbe\xd0\xb4\":{\"type\":\"int\"}}}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        struct sch_schema *s = must_parse(inputs[i]);
        struct sd_buf a, b;
        sd_buf_init(&a);
        sd_buf_init(&b);
        sch_encode(s, &a);
        sd_buf_put_u8(&a, 0);
        struct sch_schema *t = must_parse((const char *)a.data);
        sch_encode(t, &b);
        sd_buf_put_u8(&b, 0);
        assert_string_equal((const char *)a.data, (const char *)b.data);
        assert_int_equal(s->has_fields, t->has_fields);
        assert_int_equal(s->nfields, t->nfields);
        sch_free(s);
        sch_free(t);
        sd_buf_free(&a);
        sd_buf_free(&b);
    }
    struct sch_schema *none = must_parse("{}");
    assert_false(none->has_fields);
    assert_null(sch_find(none, "title", 5));
    sch_free(none);
}

static void test_sch_parse_bad_settings_name_the_key(void **state)
{
    (void)state;
    expect_refused("", SD_EPARSE, "not one JSON value");
    expect_refused("{\"fields\":{}", SD_EPARSE, "not one JSON value");
    expect_refused("{\"fields\":{}} x", SD_EPARSE, "not one JSON value");
    expect_refused("[]", SD_EINVAL, "settings must be a JSON object");
    expect_refused("{\"field\":{}}", SD_EINVAL, "unknown key 'field'");
    expect_refused("{\"fields\":[]}", SD_EINVAL, "\"fields\" must be an object");
    expect_refused("{\"fields\":{\"y\":\"int\"}}", SD_EINVAL, "field 'y': expected an object");
    expect_refused("{\"fields\":{\"y\":{}}}", SD_EINVAL, "field 'y': \"type\" must be a string");
    expect_refused("{\"fields\":{\"y\":{\"type\":\"integer\"}}}", SD_EINVAL,
                   "field 'y': unknown type 'integer'");
    expect_refused("{\"fields\":{\"y\":{\"type\":\"int\",\"wieght\":1}}}", SD_EINVAL,
                   "field 'y': unknown key 'wieght'");
    expect_refused("{\"fields\":{\"y\":{\"type\":\"int\",\"weight\":1}}}", SD_EINVAL,
                   "field 'y': only text fields have a weight");
    expect_refused("{\"fields\":{\"t\":{\"type\":\"text\",\"weight\":0}}}", SD_EINVAL,
                   "field 't': weight must be above 0");
    expect_refused("{\"fields\":{\"t\":{\"type\":\"text\",\"weight\":-1}}}", SD_EINVAL,
                   "field 't': weight must be above 0");
    expect_refused("{\"fields\":{\"t\":{\"type\":\"text\",\"weight\":1e9}}}", SD_EINVAL,
                   "weight must be above 0 and at most 1000");
    expect_refused("{\"fields\":{\"t\":{\"type\":\"text\",\"weight\":\"2\"}}}", SD_EINVAL,
                   "field 't': weight must be a number");
    expect_refused("{\"fields\":{\"id\":{\"type\":\"keyword\"}}}", SD_EINVAL, "not 'id'");
    expect_refused("{\"fields\":{\"\":{\"type\":\"keyword\"}}}", SD_EINVAL, "field ''");
    expect_refused("{\"fields\":{\"a\\u0001\":{\"type\":\"keyword\"}}}", SD_EINVAL,
                   "no control characters");
    char big[200];
    snprintf(big, sizeof big, "{\"fields\":{\"%065d\":{\"type\":\"int\"}}}", 0);
    expect_refused(big, SD_EINVAL, "a name is 1 to 64 bytes");
    /* too many fields */
    struct sd_buf b;
    sd_buf_init(&b);
    sd_buf_put(&b, "{\"fields\":{", 11);
    for (int i = 0; i <= SCH_MAX_FIELDS; i++) {
        char f[64];
        int n = snprintf(f, sizeof f, "%s\"f%d\":{\"type\":\"int\"}", i ? "," : "", i);
        sd_buf_put(&b, f, (size_t)n);
    }
    sd_buf_put(&b, "}}", 3);
    expect_refused((const char *)b.data, SD_ELIMIT, "65 fields declared, at most 64");
    sd_buf_free(&b);
}

/* ---- values ---- */

static struct sch_field field_of(enum sch_type t)
{
    struct sch_field f = {.name = "f", .name_len = 1, .type = t};
    return f;
}

static void expect_ok(enum sch_type t, bool is_json, const char *v, size_t count,
                      struct sch_values *vals)
{
    struct sch_field f = field_of(t);
    struct sd_error err = {0};
    int rc = sch_convert(&f, is_json, v, strlen(v), vals, &err);
    if (rc != SD_OK) {
        fail_msg("%s %s: %s", sch_type_name(t), v, err.msg);
    }
    assert_int_equal(vals->count, count);
    assert_int_equal(vals->type, t);
}

static void expect_bad(enum sch_type t, bool is_json, const char *v, int code, const char *want)
{
    struct sch_field f = field_of(t);
    struct sd_error err = {0};
    struct sch_values vals;
    sch_values_init(&vals);
    int rc = sch_convert(&f, is_json, v, strlen(v), &vals, &err);
    if (rc != code || !strstr(err.msg, want)) {
        fail_msg("%s %s: rc %d (want %d) '%s' (want '%s')", sch_type_name(t), v, rc, code, err.msg,
                 want);
    }
    assert_int_equal(vals.count, 0);
    sch_values_free(&vals);
}

static void test_sch_convert_int_strict_int64(void **state)
{
    (void)state;
    struct sch_values v;
    sch_values_init(&v);
    expect_ok(SCH_INT, true, "2012", 1, &v);
    assert_int_equal(v.v[0].i, 2012);
    expect_ok(SCH_INT, true, "-9223372036854775808", 1, &v);
    assert_true(v.v[0].i == INT64_MIN);
    expect_ok(SCH_INT, true, "9223372036854775807", 1, &v);
    assert_true(v.v[0].i == INT64_MAX);
    expect_ok(SCH_INT, true, "[1, -2, 3]", 3, &v);
    assert_true(v.v[1].i == -2);
    expect_ok(SCH_INT, true, "null", 0, &v);
    expect_ok(SCH_INT, true, "", 0, &v);
    expect_ok(SCH_INT, true, "[]", 0, &v);
    sch_values_free(&v);
    expect_bad(SCH_INT, true, "9223372036854775808", SD_EINVAL, "field 'f': expected int");
    expect_bad(SCH_INT, true, "18446744073709551616", SD_EINVAL, "expected int");
    expect_bad(SCH_INT, true, "-9223372036854775809", SD_EINVAL, "expected int");
    expect_bad(SCH_INT, true, "1.5", SD_EINVAL, "got 1.5");
    expect_bad(SCH_INT, true, "1e3", SD_EINVAL, "expected int");
    expect_bad(SCH_INT, true, "true", SD_EINVAL, "got true");
    expect_bad(SCH_INT, true, "{\"a\":1}", SD_EINVAL, "expected int");
    expect_bad(SCH_INT, true, "[1,[2]]", SD_EINVAL, "expected int");
    expect_bad(SCH_INT, true, "[1,\"2\"]", SD_EINVAL, "got \"2\"");
    expect_bad(SCH_INT, true, "[1,null]", SD_EINVAL, "got null");
    expect_bad(SCH_INT, true, "12a", SD_EINVAL, "expected int");
    expect_bad(SCH_INT, false, "2012", SD_EINVAL, "got \"2012\"");
}

static void test_sch_convert_float_bool_keyword(void **state)
{
    (void)state;
    struct sch_values v;
    sch_values_init(&v);
    expect_ok(SCH_FLOAT, true, "1.25", 1, &v);
    assert_true(v.v[0].f == 1.25);
    expect_ok(SCH_FLOAT, true, "[3, -0.5e2]", 2, &v);
    assert_true(v.v[0].f == 3.0 && v.v[1].f == -50.0);
    expect_bad(SCH_FLOAT, true, "1e999", SD_EINVAL, "expected float (a finite number)");
    expect_bad(SCH_FLOAT, true, "NaN", SD_EINVAL, "expected float");
    expect_bad(SCH_FLOAT, false, "1.5", SD_EINVAL, "expected float");

    expect_ok(SCH_BOOL, true, "true", 1, &v);
    assert_int_equal(v.v[0].i, 1);
    expect_ok(SCH_BOOL, true, "[false,true]", 2, &v);
    assert_int_equal(v.v[0].i, 0);
    expect_bad(SCH_BOOL, true, "1", SD_EINVAL, "expected bool");
    expect_bad(SCH_BOOL, false, "true", SD_EINVAL, "expected bool");

    expect_ok(SCH_KEYWORD, false, "ru", 1, &v);
    assert_int_equal(v.v[0].len, 2);
    assert_memory_equal(v.text.data + v.v[0].off, "ru", 2);
    expect_ok(SCH_KEYWORD, true, "[\"po\\u00e9try\",\"prose\"]", 2, &v);
    assert_int_equal(v.v[0].len, 7); /* é is two bytes of UTF-8 */
    assert_memory_equal(v.text.data + v.v[0].off, "po\xc3\xa9try", 7);
    assert_memory_equal(v.text.data + v.v[1].off, "prose", 5);
    expect_bad(SCH_KEYWORD, true, "42", SD_EINVAL, "expected keyword (a string, or an array");
    expect_bad(SCH_KEYWORD, true, "[\"a\",1]", SD_EINVAL, "got 1");
    expect_bad(SCH_KEYWORD, false, "", SD_EINVAL, "a keyword is 1 to 512 bytes");
    char big[600];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    expect_bad(SCH_KEYWORD, false, big, SD_ELIMIT, "got 599");

    expect_ok(SCH_TEXT, false, "any words", 1, &v);
    expect_ok(SCH_TEXT, true, "[\"a b\",\"c\"]", 2, &v);
    assert_memory_equal(v.text.data + v.v[1].off, "c", 1);
    expect_bad(SCH_TEXT, true, "[\"a\",2]", SD_EINVAL, "expected text (a string, or an array");
    expect_bad(SCH_TEXT, true, "3", SD_EINVAL, "expected text");
    sch_values_free(&v);

    struct sd_buf many;
    sd_buf_init(&many);
    sd_buf_put_u8(&many, '[');
    for (int i = 0; i <= SCH_MAX_VALUES; i++) {
        sd_buf_put(&many, i ? ",1" : "1", i ? 2 : 1);
    }
    sd_buf_put(&many, "]", 2);
    expect_bad(SCH_INT, true, (const char *)many.data, SD_ELIMIT, "1025 values, at most 1024");
    sd_buf_free(&many);
}

static void test_sch_parse_date_known_instants(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"1970-01-01", 0},
        {"1970-01-02", 86400000},
        {"1969-12-31", -86400000},
        {"2000-02-29", 951782400000},
        {"2015-03-01", 1425168000000},
        {"2015-03-01T00:00:00Z", 1425168000000},
        {"2015-03-01T12:30Z", 1425213000000},
        {"2015-03-01T12:30:15.5Z", 1425213015500},
        {"2015-03-01T12:30:15.123456Z", 1425213015123},
        {"2015-03-01T03:00:00+03:00", 1425168000000},
        {"2015-02-28T21:00:00-0300", 1425168000000},
        {"0000-01-01", -62167219200000},
        {"9999-12-31T23:59:59.999Z", 253402300799999},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t ms = 0;
        if (!sch_parse_date(ok[i].s, strlen(ok[i].s), &ms) || ms != ok[i].ms) {
            fail_msg("%s: got %lld, want %lld", ok[i].s, (long long)ms, (long long)ok[i].ms);
        }
    }
    const char *bad[] = {
        "",
        "2015",
        "2015-3-01",
        "2015-03-1",
        "2015-13-01",
        "2015-00-10",
        "2015-02-29",
        "1900-02-29",
        "2015-04-31",
        "2015-03-01T12:00:00",
        "2015-03-01 12:00:00Z",
        "2015-03-01T24:00:00Z",
        "2015-03-01T12:60Z",
        "2015-03-01T12:00:60Z",
        "2015-03-01T12:00:00.Z",
        "2015-03-01T12:00:00+24:00",
        "2015-03-01T12:00:00+0",
        "2015-03-01T12:00:00Zx",
        "2015-03-01Z",
        " 2015-03-01",
        "+2015-03-01",
        "2015/03/01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms;
        if (sch_parse_date(bad[i], strlen(bad[i]), &ms)) {
            fail_msg("accepted '%s'", bad[i]);
        }
    }
    struct sch_values v;
    sch_values_init(&v);
    expect_ok(SCH_DATE, false, "2015-03-01", 1, &v);
    assert_true(v.v[0].i == 1425168000000);
    expect_ok(SCH_DATE, true, "[\"1970-01-01\",\"1970-01-01T00:00:01Z\"]", 2, &v);
    assert_true(v.v[1].i == 1000);
    sch_values_free(&v);
    expect_bad(SCH_DATE, false, "2015-02-29", SD_EINVAL, "field 'f': expected date");
    expect_bad(SCH_DATE, true, "1425168000000", SD_EINVAL, "expected date");
}

static void test_sch_json_quote_escapes(void **state)
{
    (void)state;
    struct sd_buf b;
    sd_buf_init(&b);
    sch_json_quote("a\"b\\c\n\x01\xd1\x8f/", 10, &b);
    const char *want = "\"a\\\"b\\\\c\\n\\u0001\xd1\x8f/\"";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    sd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sch_parse_all_types_sorted_with_default_weights),
        cmocka_unit_test(test_sch_encode_is_canonical_fixed_point),
        cmocka_unit_test(test_sch_parse_bad_settings_name_the_key),
        cmocka_unit_test(test_sch_convert_int_strict_int64),
        cmocka_unit_test(test_sch_convert_float_bool_keyword),
        cmocka_unit_test(test_sch_parse_date_known_instants),
        cmocka_unit_test(test_sch_json_quote_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
