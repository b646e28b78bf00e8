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

/* A weight reads back as it was written: the fewest digits that give the float it is kept
 * in (0.1, not %.9g's 0.100000001, which a client comparing what it set with get_settings
 * would take for another value). */
static void test_sch_encode_weight_in_fewest_digits(void **state)
{
    (void)state;
    static const char *const weights[][2] = {
        {"0.1", "0.1"},
        {"2", "2"},
        {"3.25", "3.25"},
        {"1000", "1000"},
        {"1.0000001", "1.0000001"},
        {"0.3", "0.3"},
        {"123.456", "123.456"},
        {"1e-44", "1e-44"},
    };
    for (size_t i = 0; i < sizeof weights / sizeof *weights; i++) {
        char in[128], want[128];
        snprintf(in, sizeof in, "{\"fields\":{\"t\":{\"type\":\"text\",\"weight\":%s}}}",
                 weights[i][0]);
        snprintf(want, sizeof want, "{\"fields\":{\"t\":{\"type\":\"text\",\"weight\":%s}}}",
                 weights[i][1]);
        struct sch_schema *s = must_parse(in);
        expect_encoding(s, want);
        sch_free(s);
    }
}

static void test_sch_encode_is_canonical_fixed_point(void **state)
{
    (void)state;
    const char *inputs[] = {
        "{}",
        "{\"fields\":{}}",
        "{\"fields\":{\"b\\\\q\":{\"type\":\"keyword\"},\"a\":{\"weight\":3.25,\"type\":\"text\"}}"
        "}",
        "{\"fields\":{\"\xd0\xb3\xd0\xbe\xd0\xb4\":{\"type\":\"int\"}}}",
        "{\"layout\":false,\"typo\":false}",
        "{\"typo\":false,\"stopwords\":{\"lists\":[\"en\"]},\"fields\":{}}",
        "{\"fields\":{\"a\":{\"type\":\"text\",\"weight\":1e-44},\"b\":{\"type\":\"text\","
        "\"weight\":1000}}}",
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
    assert_false(none->no_typos);
    assert_false(none->no_layout);
    sch_free(none);
}

/* "typo", "layout" and "drop_words" turn the other readings off for every search of the
 * index; at their default (true) the canonical form leaves them out, and they change no
 * indexing. */
static void test_sch_typo_and_layout_switches(void **state)
{
    (void)state;
    struct sch_schema *s =
        must_parse("{\"fields\":{},\"drop_words\":false,\"layout\":false,\"typo\":false}");
    assert_true(s->no_typos);
    assert_true(s->no_layout);
    assert_true(s->no_drop_words);
    struct sd_buf b;
    sd_buf_init(&b);
    sch_encode(s, &b);
    sd_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data,
                        "{\"fields\":{},\"typo\":false,\"layout\":false,\"drop_words\":false}");
    struct sch_schema *d =
        must_parse("{\"fields\":{},\"typo\":true,\"layout\":true,\"drop_words\":true}");
    assert_false(d->no_typos);
    assert_false(d->no_layout);
    assert_false(d->no_drop_words);
    sd_buf_free(&b);
    sd_buf_init(&b);
    sch_encode(d, &b);
    sd_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data, "{\"fields\":{}}");
    assert_true(sch_same_index(s, d));
    sd_buf_free(&b);
    sch_free(d);
    sch_free(s);
    expect_refused("{\"typo\":0}", SD_EINVAL, "\"typo\" must be true or false");
    expect_refused("{\"layout\":\"off\"}", SD_EINVAL, "\"layout\" must be true or false");
    expect_refused("{\"typos\":false}", SD_EINVAL, "unknown key 'typos'");
}

/* Issue: settings took names no filter can write (a space, ':', a quote, a parenthesis, a
 * leading '-': the query lexer ends or reads the name there), so that attribute could never be
 * filtered, and names with ',' that no sort could list ("a,b:desc" is two keys). They are
 * refused naming the field; every other name stays, in any script; a SETTINGS file that holds
 * one still reads (the index opens). */
static void test_issue_sch_parse_refuses_names_no_filter_can_write(void **state)
{
    (void)state;
    static const char *const bad[] = {"a b", "a:b", "a\\\"b", "(a", "a)", "-a", "\\u00a0:", "a,b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"fields\":{\"%s\":{\"type\":\"keyword\"}}}", bad[i]);
        expect_refused(json, SD_EINVAL,
                       "': a filter or a sort could not name it: a name holds no white space, "
                       "':', ',', '(', ')' or '\"' and does not start with '-'");
        struct sch_schema *s = NULL;
        struct sd_error err = {0};
        if (sch_parse_stored(json, strlen(json), &s, &err) != SD_OK) {
            fail_msg("stored %s: %s", json, err.msg);
        }
        assert_int_equal(s->nfields, 1);
        sch_free(s);
    }
    expect_refused("{\"fields\":{\"a b\":{\"type\":\"int\"}}}", SD_EINVAL, "field 'a b': ");
    static const char *const good[] = {
        "\\u0433\\u043e\\u0434", "2fa",    "a-b", "a.b", "a*",     "a/b", "OR",
        "\\u00e9t\\u00e9",       "a\\\\b", "a;b", "x-",  "\\u00a0"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"fields\":{\"%s\":{\"type\":\"keyword\"}}}", good[i]);
        sch_free(must_parse(json));
    }
    assert_true(sch_name_is_writable("\xd0\xb3\xd0\xbe\xd0\xb4", 6));
    assert_false(sch_name_is_writable("a\"", 2));
}

/* sch_merge_patch is RFC 7396 over settings: keys replace, objects merge (a field's spec too),
 * null removes, arrays replace; the result parses as the settings it says. */
static void test_sch_merge_patch_changes_only_what_it_names(void **state)
{
    (void)state;
    const char *cur = "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":2},\"year\":{\"type\":"
                      "\"int\"}},\"stopwords\":{\"lists\":[\"en\"]},\"typo\":false}";
    struct {
        const char *patch, *want;
    } cases[] = {
        {"{}",
         "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":2},\"year\":{\"type\":\"int\"}},"
         "\"stopwords\":{\"lists\":[\"en\"]},\"typo\":false}"},
        {"{\"fields\":{\"lang\":{\"type\":\"keyword\"},\"year\":null}}",
         "{\"fields\":{\"lang\":{\"type\":\"keyword\"},\"title\":{\"type\":\"text\",\"weight\":2}},"
         "\"stopwords\":{\"lists\":[\"en\"]},\"typo\":false}"},
        {"{\"fields\":{\"title\":{\"weight\":3}},\"typo\":null,\"synonyms\":[{\"synonyms\":[\"a\","
         "\"b\"]}]}",
         "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":3},\"year\":{\"type\":\"int\"}},"
         "\"stopwords\":{\"lists\":[\"en\"]},\"synonyms\":[{\"synonyms\":[\"a\",\"b\"]}]}"},
        {"{\"stopwords\":{\"lists\":[\"ru\"]},\"fields\":null,\"nosuch\":null}",
         "{\"stopwords\":{\"lists\":[\"ru\"]},\"typo\":false}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct sd_buf b;
        sd_buf_init(&b);
        struct sd_error err = {0};
        if (sch_merge_patch(cur, strlen(cur), cases[i].patch, strlen(cases[i].patch), &b, &err)) {
            fail_msg("%s: %s", cases[i].patch, err.msg);
        }
        sd_buf_put_u8(&b, 0);
        struct sch_schema *s = must_parse((const char *)b.data);
        expect_encoding(s, cases[i].want);
        sch_free(s);
        sd_buf_free(&b);
    }
    struct sd_buf b;
    sd_buf_init(&b);
    struct sd_error err = {0};
    assert_int_equal(sch_merge_patch(cur, strlen(cur), "[]", 2, &b, &err), SD_EINVAL);
    assert_int_equal(sch_merge_patch(cur, strlen(cur), "{", 1, &b, &err), SD_EPARSE);
    assert_int_equal(b.len, 0);
    /* a merge that leaves a field without its type is the settings error it is */
    const char *half = "{\"fields\":{\"isbn\":{\"weight\":3}}}";
    assert_int_equal(sch_merge_patch(cur, strlen(cur), half, strlen(half), &b, &err), SD_OK);
    sd_buf_put_u8(&b, 0);
    expect_refused((const char *)b.data, SD_EINVAL, "field 'isbn': \"type\" must be a string");
    sd_buf_free(&b);
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
    /* issue: 1e-50 is above 0 but 0 as the float a weight is kept in, and the canonical form
     * then wrote "weight":0, which the SETTINGS file's reader refused: no restart */
    expect_refused("{\"fields\":{\"t\":{\"type\":\"text\",\"weight\":1e-50}}}", SD_EINVAL,
                   "field 't': weight must be above 0 and at most 1000 (1e-50 is 0 as a 32-bit "
                   "float)");
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

/* Synonyms and stopwords: spaces trimmed and collapsed, members and entries sorted, repeats
 * dropped, the root kept first; the encoding parses back to itself, and the same settings written
 * in another order encode to the same bytes. */
static void test_sch_lexicon_canonical_form(void **state)
{
    (void)state;
    const char *a =
        "{\"synonyms\": [{\"root\": \" ноутбук \", \"synonyms\": [\"laptop\", \"лэптоп\", "
        "\"laptop\"]},"
        " {\"synonyms\": [\"искусственный \\t интеллект\", \"ИИ\"]},"
        " {\"synonyms\": [\"ИИ\", \"искусственный интеллект\"]}],"
        " \"stopwords\": {\"words\": [\"пожалуйста\", \"please\", \"please\"],"
        " \"lists\": [\"ru\", \"en\", \"ru\"]},"
        " \"fields\": {\"title\": {\"type\": \"text\"}}}";
    const char *b =
        "{\"fields\": {\"title\": {\"type\": \"text\"}},"
        " \"stopwords\": {\"lists\": [\"en\", \"ru\"], \"words\": [\"please\", \"пожалуйста\"]},"
        " \"synonyms\": [{\"synonyms\": [\"искусственный интеллект\", \"ИИ\"]},"
        " {\"synonyms\": [\"лэптоп\", \"laptop\"], \"root\": \"ноутбук\"}]}";
    const char *want =
        "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":2}},"
        "\"stopwords\":{\"lists\":[\"en\",\"ru\"],\"words\":[\"please\",\"пожалуйста\"]},"
        "\"synonyms\":[{\"synonyms\":[\"ИИ\",\"искусственный интеллект\"]},"
        "{\"root\":\"ноутбук\",\"synonyms\":[\"laptop\",\"лэптоп\"]}]}";
    struct sch_schema *sa = must_parse(a);
    struct sch_schema *sb = must_parse(b);
    struct sch_schema *sw = must_parse(want);
    expect_encoding(sa, want);
    expect_encoding(sb, want);
    expect_encoding(sw, want);
    assert_int_equal(sa->lex.nrules, 2);
    assert_false(sa->lex.rules[0].is_one_way);
    assert_true(sa->lex.rules[1].is_one_way);
    assert_string_equal(sch_str(&sa->lex, sa->lex.members[sa->lex.rules[1].first]), "ноутбук");
    assert_int_equal(sa->lex.rules[1].count, 3);
    assert_int_equal(sa->lex.nstopwords, 2);
    assert_int_equal(sa->lex.stoplists, SCH_STOP_EN | SCH_STOP_RU);
    sch_free(sa);
    sch_free(sb);
    sch_free(sw);

    /* without fields: only the query-time keys, and nothing declared */
    struct sch_schema *s = must_parse("{\"stopwords\": {\"lists\": [\"en\"]}, \"synonyms\": []}");
    assert_false(s->has_fields);
    expect_encoding(s, "{\"stopwords\":{\"lists\":[\"en\"]}}");
    sch_free(s);
    s = must_parse("{\"stopwords\": {}, \"synonyms\": []}");
    expect_encoding(s, "{}");
    sch_free(s);
}

static void test_sch_lexicon_refused_names_the_entry(void **state)
{
    (void)state;
    expect_refused(
        "{\"synonyms\": \"a\"}", SD_EINVAL,
        "\"synonyms\" must be an array like [{\"synonyms\": [\"a\", \"b\"]}] or an object "
        "like {\"a\": [\"b\", \"c\"]}");
    /* a map's entry is no entry of the array */
    expect_refused("{\"synonyms\": [{\"a\": [\"b\"]}]}", SD_EINVAL, "synonyms[0]: unknown key 'a'");
    expect_refused("{\"synonyms\": [[\"a\", \"b\"]]}", SD_EINVAL, "synonyms[0]: expected an object");
    expect_refused("{\"synonyms\": [{\"synonyms\": [\"a\", \"b\"]}, {\"synonym\": [\"a\"]}]}",
                   SD_EINVAL, "synonyms[1]: unknown key 'synonym'");
    expect_refused("{\"synonyms\": [{\"synonyms\": [\"a\"]}]}", SD_EINVAL,
                   "synonyms[0]: a group needs at least 2 different strings");
    expect_refused("{\"synonyms\": [{\"synonyms\": [\"a\", \" a \"]}]}", SD_EINVAL,
                   "synonyms[0]: a group needs at least 2");
    expect_refused("{\"synonyms\": [{\"root\": \"a\", \"synonyms\": []}]}", SD_EINVAL,
                   "synonyms[0]: a root needs at least one synonym");
    expect_refused("{\"synonyms\": [{\"root\": \"a\", \"synonyms\": [\"b\", \"a\"]}]}", SD_EINVAL,
                   "synonyms[0]: the root 'a' is also one of its synonyms");
    expect_refused("{\"synonyms\": [{\"synonyms\": [\"a\", 5]}]}", SD_EINVAL,
                   "synonyms[0]: synonym 1: expected a string");
    expect_refused("{\"synonyms\": [{\"root\": \"  \", \"synonyms\": [\"a\"]}]}", SD_EINVAL,
                   "synonyms[0]: root: empty");
    expect_refused("{\"synonyms\": [{\"synonyms\": [\"a\", \"b\\u0001\"]}]}", SD_EINVAL,
                   "synonyms[0]: synonym 1: a control character");
    expect_refused("{\"stopwords\": [\"en\"]}", SD_EINVAL, "\"stopwords\" must be an object");
    expect_refused("{\"stopwords\": {\"lists\": [\"de\"]}}", SD_EINVAL,
                   "stopwords: lists[0]: unknown list 'de' (use en, ru)");
    expect_refused("{\"stopwords\": {\"word\": [\"a\"]}}", SD_EINVAL,
                   "stopwords: unknown key 'word' (use lists, words)");
    expect_refused("{\"stopwords\": {\"words\": [\"a\", \"\"]}}", SD_EINVAL,
                   "stopwords: words[1]: empty");
    expect_refused("{\"synonym\": []}", SD_EINVAL, "unknown key 'synonym' (use fields, synonyms");

    /* the limits: one string too long, one entry too many */
    char big[1024];
    int n = snprintf(big, sizeof big, "{\"synonyms\": [{\"synonyms\": [\"a\", \"");
    memset(big + n, 'b', SCH_MAX_TERM + 1);
    snprintf(big + n + SCH_MAX_TERM + 1, sizeof big - (size_t)n - SCH_MAX_TERM - 1, "\"]}]}");
    expect_refused(big, SD_ELIMIT, "synonyms[0]: synonym 1: 129 bytes, at most 128");
    struct sd_buf many;
    sd_buf_init(&many);
    sd_buf_put(&many, "{\"synonyms\": [", strlen("{\"synonyms\": ["));
    for (int i = 0; i <= SCH_MAX_SYNONYM_RULES; i++) {
        char e[64];
        int k = snprintf(e, sizeof e, "%s{\"synonyms\": [\"a%d\", \"b\"]}", i ? "," : "", i);
        sd_buf_put(&many, e, (size_t)k);
    }
    sd_buf_put(&many, "]}", 3); /* with the NUL */
    expect_refused((const char *)many.data, SD_ELIMIT, "1025 entries, at most 1024");
    sd_buf_free(&many);
    struct sd_buf members;
    sd_buf_init(&members);
    const char *head = "{\"synonyms\": [{\"root\": \"r\", \"synonyms\": [";
    sd_buf_put(&members, head, strlen(head));
    for (int i = 0; i < SCH_MAX_SYNONYM_MEMBERS; i++) {
        char e[16];
        int k = snprintf(e, sizeof e, "%s\"m%d\"", i ? "," : "", i);
        sd_buf_put(&members, e, (size_t)k);
    }
    sd_buf_put(&members, "]}]}", 5);
    expect_refused((const char *)members.data, SD_ELIMIT, "synonyms[0]: 33 strings, at most 32");
    sd_buf_free(&members);
}

/* A Meilisearch map is one one-way entry per key, the key its root: the same rules, hence the
 * same canonical bytes, as the array of those entries (what is stored and what get_settings
 * answers); the encoding parses back to itself. */
static void test_sch_lexicon_meilisearch_map_is_one_way_entries(void **state)
{
    (void)state;
    const char *map = "{\"synonyms\": {\" ноутбук \": [\"лэптоп\", \"laptop\", \" laptop \"],"
                      " \"ИИ\": [\"искусственный  интеллект\"], \"new york\": [\"NYC\"]}}";
    const char *array = "{\"synonyms\": [{\"root\": \"new york\", \"synonyms\": [\"NYC\"]},"
                        " {\"root\": \"ИИ\", \"synonyms\": [\"искусственный интеллект\"]},"
                        " {\"root\": \"ноутбук\", \"synonyms\": [\"laptop\", \"лэптоп\"]}]}";
    const char *want = "{\"synonyms\":[{\"root\":\"new york\",\"synonyms\":[\"NYC\"]},"
                       "{\"root\":\"ИИ\",\"synonyms\":[\"искусственный интеллект\"]},"
                       "{\"root\":\"ноутбук\",\"synonyms\":[\"laptop\",\"лэптоп\"]}]}";
    struct sch_schema *sm = must_parse(map);
    struct sch_schema *sa = must_parse(array);
    struct sch_schema *sw = must_parse(want);
    expect_encoding(sm, want);
    expect_encoding(sa, want);
    expect_encoding(sw, want);
    const struct sch_lexicon *lex = &sm->lex;
    assert_int_equal(lex->nrules, 3);
    for (size_t i = 0; i < lex->nrules; i++) {
        assert_true(lex->rules[i].is_one_way);
    }
    const struct sch_synonym *nb = &lex->rules[2];
    assert_string_equal(sch_str(lex, lex->members[nb->first]), "ноутбук");
    assert_int_equal(nb->count, 3); /* the root, laptop, лэптоп: the repeat dropped */
    sch_free(sm);
    sch_free(sa);
    sch_free(sw);

    /* an empty map is no synonyms, as an empty array is; beside the other keys */
    struct sch_schema *s = must_parse("{\"fields\": {}, \"synonyms\": {}}");
    expect_encoding(s, "{\"fields\":{}}");
    sch_free(s);
    s = must_parse("{\"stopwords\": {\"lists\": [\"en\"]}, \"synonyms\": {\"a\": [\"b\"]}}");
    expect_encoding(s, "{\"stopwords\":{\"lists\":[\"en\"]},"
                       "\"synonyms\":[{\"root\":\"a\",\"synonyms\":[\"b\"]}]}");
    sch_free(s);
    /* two keys that trim alike are two one-way entries of one root, as two such entries are */
    s = must_parse("{\"synonyms\": {\"a\": [\"b\"], \" a\": [\"c\"]}}");
    expect_encoding(s, "{\"synonyms\":[{\"root\":\"a\",\"synonyms\":[\"b\"]},"
                       "{\"root\":\"a\",\"synonyms\":[\"c\"]}]}");
    sch_free(s);
}

/* A map's entry is checked as an array entry is, with the same limits, and named by its key. */
static void test_sch_lexicon_map_refused_names_the_key(void **state)
{
    (void)state;
    expect_refused("{\"synonyms\": {\"a\": \"b\"}}", SD_EINVAL,
                   "synonyms['a']: expected an array of strings like [\"b\", \"c\"]");
    expect_refused("{\"synonyms\": {\"a\": [\"b\"], \"c\": [\"d\", 5]}}", SD_EINVAL,
                   "synonyms['c']: synonym 1: expected a string");
    expect_refused("{\"synonyms\": {\"a\": []}}", SD_EINVAL,
                   "synonyms['a']: a key needs at least one synonym");
    expect_refused("{\"synonyms\": {\"a\": [\"b\", \" a \"]}}", SD_EINVAL,
                   "synonyms['a']: the key 'a' is also one of its synonyms");
    expect_refused("{\"synonyms\": {\"\": [\"b\"]}}", SD_EINVAL, "synonyms['']: key: empty");
    expect_refused("{\"synonyms\": {\" \\t \": [\"b\"]}}", SD_EINVAL, "key: empty");
    expect_refused("{\"synonyms\": {\"a\": [\"b\", \"  \"]}}", SD_EINVAL,
                   "synonyms['a']: synonym 1: empty");
    expect_refused("{\"synonyms\": {\"a\\u0001\": [\"b\"]}}", SD_EINVAL,
                   "key: a control character at byte 1");
    expect_refused("{\"synonyms\": {\"a\": [\"b\\u007f\"]}}", SD_EINVAL,
                   "synonyms['a']: synonym 0: a control character at byte 1");

    /* the limits: a key or a synonym too long, too many strings in an entry, too many keys */
    char big[1024];
    int n = snprintf(big, sizeof big, "{\"synonyms\": {\"a\": [\"");
    memset(big + n, 'b', SCH_MAX_TERM + 1);
    snprintf(big + n + SCH_MAX_TERM + 1, sizeof big - (size_t)n - SCH_MAX_TERM - 1, "\"]}}");
    expect_refused(big, SD_ELIMIT, "synonyms['a']: synonym 0: 129 bytes, at most 128");
    /* a long key is shown cut to 64 bytes, never inside a UTF-8 sequence ("ж" is 2 bytes) */
    struct sd_buf key;
    sd_buf_init(&key);
    sd_buf_put(&key, "{\"synonyms\": {\"a", strlen("{\"synonyms\": {\"a"));
    for (int i = 0; i < 70; i++) {
        sd_buf_put(&key, "ж", strlen("ж"));
    }
    sd_buf_put(&key, "\": [\"b\"]}}", strlen("\": [\"b\"]}}") + 1);
    char want[256] = "synonyms['a";
    for (int i = 0; i < 31; i++) {
        strcat(want, "ж");
    }
    strcat(want, "...']: key: 141 bytes, at most 128");
    expect_refused((const char *)key.data, SD_ELIMIT, want);
    sd_buf_free(&key);

    struct sd_buf members;
    sd_buf_init(&members);
    const char *head = "{\"synonyms\": {\"r\": [";
    sd_buf_put(&members, head, strlen(head));
    for (int i = 0; i < SCH_MAX_SYNONYM_MEMBERS; i++) {
        char e[16];
        int k = snprintf(e, sizeof e, "%s\"m%d\"", i ? "," : "", i);
        sd_buf_put(&members, e, (size_t)k);
    }
    sd_buf_put(&members, "]}}", 4);
    expect_refused((const char *)members.data, SD_ELIMIT, "synonyms['r']: 33 strings, at most 32");
    sd_buf_free(&members);
    struct sd_buf many;
    sd_buf_init(&many);
    sd_buf_put(&many, "{\"synonyms\": {", strlen("{\"synonyms\": {"));
    for (int i = 0; i <= SCH_MAX_SYNONYM_RULES; i++) {
        char e[64];
        int k = snprintf(e, sizeof e, "%s\"a%d\": [\"b\"]", i ? "," : "", i);
        sd_buf_put(&many, e, (size_t)k);
    }
    sd_buf_put(&many, "}}", 3);
    expect_refused((const char *)many.data, SD_ELIMIT, "\"synonyms\": 1025 entries, at most 1024");
    sd_buf_free(&many);
    /* and at the limits themselves it is accepted */
    struct sd_buf most;
    sd_buf_init(&most);
    sd_buf_put(&most, "{\"synonyms\": {", strlen("{\"synonyms\": {"));
    for (int i = 0; i < SCH_MAX_SYNONYM_RULES; i++) {
        char e[64];
        int k = snprintf(e, sizeof e, "%s\"a%d\": [\"b\"]", i ? "," : "", i);
        sd_buf_put(&most, e, (size_t)k);
    }
    sd_buf_put(&most, "}}", 3);
    struct sch_schema *s = must_parse((const char *)most.data);
    assert_int_equal(s->lex.nrules, SCH_MAX_SYNONYM_RULES);
    sch_free(s);
    sd_buf_free(&most);
}

/* Synonyms, stopwords and weights are read by queries only: settings that differ only there
 * index alike. */
static void test_sch_same_index_ignores_the_lexicon(void **state)
{
    (void)state;
    struct sch_schema *a = must_parse("{\"fields\": {\"body\": {\"type\": \"text\"}}}");
    struct sch_schema *b = must_parse(
        "{\"fields\": {\"body\": {\"type\": \"text\"}}, \"stopwords\": {\"lists\": [\"ru\"]},"
        " \"synonyms\": [{\"synonyms\": [\"a\", \"b\"]}]}");
    struct sch_schema *c = must_parse("{\"fields\": {\"body\": {\"type\": \"text\", \"weight\": 3}}}");
    struct sch_schema *d = must_parse("{\"synonyms\": [{\"synonyms\": [\"a\", \"b\"]}]}");
    struct sch_schema *e = must_parse("{}");
    assert_true(sch_same_index(a, b));
    assert_true(sch_same_index(a, c)); /* a weight too: searches read it from the settings */
    assert_false(sch_same_index(a, d));
    assert_true(sch_same_index(d, e));
    sch_free(a);
    sch_free(b);
    sch_free(c);
    sch_free(d);
    sch_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sch_parse_all_types_sorted_with_default_weights),
        cmocka_unit_test(test_sch_encode_is_canonical_fixed_point),
        cmocka_unit_test(test_sch_encode_weight_in_fewest_digits),
        cmocka_unit_test(test_sch_typo_and_layout_switches),
        cmocka_unit_test(test_sch_parse_bad_settings_name_the_key),
        cmocka_unit_test(test_sch_merge_patch_changes_only_what_it_names),
        cmocka_unit_test(test_issue_sch_parse_refuses_names_no_filter_can_write),
        cmocka_unit_test(test_sch_convert_int_strict_int64),
        cmocka_unit_test(test_sch_convert_float_bool_keyword),
        cmocka_unit_test(test_sch_parse_date_known_instants),
        cmocka_unit_test(test_sch_json_quote_escapes),
        cmocka_unit_test(test_sch_lexicon_canonical_form),
        cmocka_unit_test(test_sch_lexicon_refused_names_the_entry),
        cmocka_unit_test(test_sch_lexicon_meilisearch_map_is_one_way_entries),
        cmocka_unit_test(test_sch_lexicon_map_refused_names_the_key),
        cmocka_unit_test(test_sch_same_index_ignores_the_lexicon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
