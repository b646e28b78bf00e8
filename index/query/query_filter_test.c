/*
 * query_filter_test.c: filter clauses (filter.c, filter_eval.c): every form parses and
 * evaluates against the columns, malformed ones fail with the right code and offset,
 * clauses combine with words, phrases, OR, parentheses and '-', the separate filter
 * string is ANDed, segments without the column have no value, deleted documents stay out,
 * and pruned searches with a filter return what an exhaustive one does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval_int.h"
#include "query_attr_util.h"


#define Y(v) .has_year = true, .year = (v)

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The ids of q (with filter) over segs, sorted, space-separated. */
static void ids(const char *q, const char *filter, const struct qry_segment *segs, size_t n,
                char *out)
{
    char buf[1024];
    tattr_search(tattr_ctx, tattr_schema_, q, filter, segs, n, NULL, buf, sizeof buf);
    char *parts[64];
    size_t count = 0;
    for (char *t = strtok(buf, " "); t && count < 64; t = strtok(NULL, " ")) {
        parts[count++] = t;
    }
    qsort(parts, count, sizeof *parts, cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        strcat(out, i ? " " : "");
        strcat(out, parts[i]);
    }
}

static void expect(const struct qry_segment *segs, size_t n, const char *q, const char *filter,
                   const char *want)
{
    char got[1024];
    ids(q, filter, segs, n, got);
    if (strcmp(got, want) != 0) {
        fail_msg("'%s' filter '%s': got '%s', want '%s'", q, filter ? filter : "", got, want);
    }
}

static void test_filter_parse_every_form_parses(void **state)
{
    (void)state;
    const char *ok[] = {"year:>=2010",
                        "year:>2010",
                        "year:<=2010",
                        "year:<2010",
                        "year:2000..2010",
                        "year:..2010",
                        "year:2000..",
                        "year:2012",
                        "year:-5..5",
                        "price:2.5..9.99",
                        "price:>-1e3",
                        "date:>=2015-03-01",
                        "date:2015-03-01",
                        "date:2015-03-01T10:00:00Z..2015-04-01",
                        "lang:ru",
                        "lang:\"pt-BR\"",
                        "tags:(poetry OR prose)",
                        "-collection:drafts spring" /* undeclared: a word's field */,
                        "flag:true",
                        "flag:false",
                        "spring (lang:ru OR year:2012)",
                        "\"poems of\" -lang:en",
                        "title:spring year:2012",
                        "lang:a..b",
                        "-lang:en"};
    char msg[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (tattr_parse_rc(tattr_ctx, tattr_schema_, ok[i], false, msg) != SD_OK) {
            fail_msg("'%s': %s", ok[i], msg);
        }
    }
    assert_int_equal(tattr_parse_rc(tattr_ctx, tattr_schema_, "lang:ru year:>2000", true, msg), SD_OK);
    assert_int_equal(tattr_parse_rc(tattr_ctx, tattr_schema_, "", true, msg), SD_OK);
    assert_int_equal(tattr_parse_rc(tattr_ctx, tattr_schema_, "-lang:en -flag:true", true, msg), SD_OK);
}

struct bad {
    const char *text;
    bool is_filter;
    int rc;
    const char *msg; /* a part of the message */
};

static void test_filter_parse_malformed_names_offset_and_field(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"year:>=abc", false, SD_EPARSE, "at 7: 'abc' is not an integer"},
        {"year:..", false, SD_EPARSE, "at 5: a range needs at least one bound"},
        {"year:2.5", false, SD_EPARSE, "is not an integer"},
        {"year:99999999999999999999", false, SD_EPARSE, "2^63"},
        {"year:>=", false, SD_EPARSE, "a value is missing"},
        {"a date:2015-13-01", false, SD_EPARSE, "at 7: '2015-13-01' is not a date"},
        {"date:2015-03-01..2015-02-30", false, SD_EPARSE, "at 17:"},
        {"price:1.2.3", false, SD_EPARSE, "is not a number"},
        {"price:inf", false, SD_EPARSE, "is not a number"},
        {"flag:maybe", false, SD_EPARSE, "true or false"},
        {"year:2012*", false, SD_EPARSE, "prefix"},
        {"lang:>=a", false, SD_EFIELD, "field 'lang' is a keyword"},
        {"flag:>0", false, SD_EFIELD, "field 'flag' is a bool"},
        {"foo:>1", false, SD_EFIELD, "unknown field 'foo' in filter"},
        {"title:2000..2010", false, SD_EFIELD, "field 'title' in filter is declared as text"},
        {"tags:(poetry OR title:x)", false, SD_EFIELD, "declared as text"},
        {"spring", true, SD_EPARSE, "at 0: a filter holds only clauses"},
        {"lang:ru \"a b\"", true, SD_EPARSE, "at 8: a filter holds only clauses"},
        {"title:spring", true, SD_EFIELD, "field 'title' in filter is declared as text"},
        {"foo:bar", true, SD_EFIELD, "unknown field 'foo' in filter"},
        {"(lang:ru", true, SD_EPARSE, "unbalanced"},
    };
    char msg[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tattr_parse_rc(tattr_ctx, tattr_schema_, bad[i].text, bad[i].is_filter, msg);
        if (rc != bad[i].rc || !strstr(msg, bad[i].msg)) {
            fail_msg("'%s': rc %d '%s', want %d '%s'", bad[i].text, rc, msg, bad[i].rc, bad[i].msg);
        }
    }
    /* without a schema nothing is an attribute */
    assert_int_equal(tattr_parse_rc(tattr_ctx, NULL, "year:>=2010", false, msg), SD_EFIELD);
    assert_non_null(strstr(msg, "unknown field 'year' in filter"));
}

/* Settings accept a field name in any script (or starting with a digit), and the query's own
 * ASCII name rule made `год:2012` two words: a declared attribute no filter could reach. A
 * declared name is a field name before ':'; an undeclared one stays words as it was. */
static void test_issue_filter_declared_names_in_any_script(void **state)
{
    (void)state;
    static const char json[] = "{\"fields\":{\"год\":{\"type\":\"int\"},"
                               "\"2fa\":{\"type\":\"bool\"},"
                               "\"année\":{\"type\":\"keyword\"},"
                               "\"заголовок\":{\"type\":\"text\"}}}";
    struct sch_schema *schema = NULL;
    struct sd_error err = {0};
    assert_int_equal(sch_parse(json, strlen(json), &schema, &err), SD_OK);
    const char *filters[] = {"год:>=2000", "год:1990..2000 -2fa:true", "année:\"été\" 2fa:false",
                             "(год:2012 OR année:x)"};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        struct qry *q = NULL;
        if (qry_parse_filter(tattr_ctx, filters[i], strlen(filters[i]), schema, &q, &err)) {
            fail_msg("filter '%s': %s", filters[i], err.msg);
        }
        qry_free(q);
        if (qry_parse_schema(tattr_ctx, filters[i], strlen(filters[i]), schema, &q, &err)) {
            fail_msg("q '%s': %s", filters[i], err.msg);
        }
        assert_true(qry_is_browse(q)); /* clauses only */
        qry_free(q);
    }
    struct qry *q = NULL;
    const char *text = "заголовок:весна итог:5";
    assert_int_equal(qry_parse_schema(tattr_ctx, text, strlen(text), schema, &q, &err), SD_OK);
    assert_int_equal(qry_field_count(q), 1); /* a declared text field restricts its word */
    assert_string_equal(qry_field_name(q, 0), "заголовок");
    qry_free(q);
    char msg[256];
    assert_int_equal(tattr_parse_rc(tattr_ctx, schema, "итог:5", true, msg), SD_EPARSE);
    assert_non_null(strstr(msg, "a filter holds only clauses"));
    sch_free(schema);
}

/* Issue: settings accepted names the query could not write before ':' ("a b", "a:b", "(a",
 * "-a"), attributes no filter reached, and names no sort could list ("a,b"). Now every name
 * settings accept is a field name of a clause, alone, excluded and in a group, and a sort key
 * beside another: each printable ASCII byte is tried at the start, inside and at the end of a
 * name, and names in other scripts. */
/* Declares name (an int); when settings accept it, a clause on it must parse alone, excluded
 * and in a group, and a sort on it and _score must read as two keys. Counts which. */
static void check_name(const char *name, size_t *accepted, size_t *refused)
{
    struct sd_buf json;
    sd_buf_init(&json);
    sd_buf_put(&json, "{\"fields\":{", 11);
    sch_json_quote(name, strlen(name), &json);
    const char *tail = ":{\"type\":\"int\"}}}";
    sd_buf_put(&json, tail, strlen(tail));
    struct sch_schema *schema = NULL;
    struct sd_error err = {0};
    int rc = sch_parse((const char *)json.data, json.len, &schema, &err);
    sd_buf_free(&json);
    if (rc) {
        if (!strstr(err.msg, "a filter or a sort could not name it")) {
            fail_msg("name %s: %s", name, err.msg);
        }
        ++*refused;
        return;
    }
    ++*accepted;
    char text[3][64];
    snprintf(text[0], sizeof text[0], "%s:1", name);
    snprintf(text[1], sizeof text[1], "-%s:>1", name);
    snprintf(text[2], sizeof text[2], "(%s:1 OR %s:2..3)", name, name);
    for (int k = 0; k < 3; k++) {
        struct qry *q = NULL;
        if (qry_parse_filter(tattr_ctx, text[k], strlen(text[k]), schema, &q, &err)) {
            fail_msg("name '%s': filter '%s': %s", name, text[k], err.msg);
        }
        qry_free(q);
    }
    char sort[64];
    snprintf(sort, sizeof sort, "%s:desc,_score", name);
    struct qry_sort *so = NULL;
    if (qry_sort_parse(sort, strlen(sort), schema, &so, &err)) {
        fail_msg("name '%s': sort '%s': %s", name, sort, err.msg);
    }
    qry_sort_free(so);
    sch_free(schema);
}

static void test_issue_filter_every_name_settings_accept_can_be_filtered(void **state)
{
    (void)state;
    size_t accepted = 0, refused = 0;
    for (int c = 0x20; c < 0x7f; c++) {
        for (int at = 0; at < 3; at++) {
            char name[8];
            snprintf(name, sizeof name, at == 0 ? "%cab" : at == 1 ? "a%cb" : "ab%c", c);
            check_name(name, &accepted, &refused);
        }
    }
    assert_int_equal(refused, 6 * 3 + 1); /* space ( ) " : , anywhere, and a first - */
    assert_true(accepted > 250);
    static const char *const words[] = {"OR", "AND", "год", "année", "*", "a*", "2fa", "x-", "-"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        check_name(words[i], &accepted, &refused);
    }
    assert_int_equal(refused, 6 * 3 + 2); /* and "-" */
}

static void test_filter_eval_each_form_matches_its_documents(void **state)
{
    (void)state;
    struct seg *s = tattr_build(tattr_stem, tattr_docs, 5, true);
    struct qry_segment segs[] = {{s, NULL}};
    static const char *const cases[][2] = {
        {"year:>=2010", "d1 d3"},
        {"year:>2010", "d1"},
        {"year:<2010", "d2 d4"},
        {"year:<=2010", "d2 d3 d4"},
        {"year:2000..2010", "d2 d3"},
        {"year:..2005", "d2 d4"},
        {"year:2010..", "d1 d3"},
        {"year:2012", "d1"},
        {"year:2011", ""},
        {"price:2.5..9.99", "d1 d2"},
        {"price:>2.5", "d2 d3"},
        {"price:<2.5", "d5"},
        {"price:2.5", "d1"},
        {"date:>=2015-03-01", "d1 d2 d5"},
        {"date:2015-03-01", "d1"},
        {"date:<2015-03-01", "d3"},
        {"date:>2015-03-01", "d2 d5"},
        {"date:2015-03-01..2015-03-02", "d1 d2"},
        {"date:2015-03-01T10:00:00Z", "d1"},
        {"date:..2014-12-31", "d3"},
        {"lang:ru", "d1 d5"},
        {"lang:\"pt-BR\"", "d3"},
        {"lang:zz", ""},
        {"tags:(poetry OR prose)", "d1 d2 d5"},
        {"tags:(poetry prose)", "d5"},
        {"tags:(poetry -prose)", "d1"},
        {"-lang:ru", "d2 d3 d4"},
        {"-tags:poetry lang:ru", ""},
        {"flag:true", "d1 d3"},
        {"flag:false", "d2 d5"},
        {"spring year:>=2010", "d1 d3"},
        {"spring OR year:2005", "d1 d2 d3 d4"},
        {"winter (poetry OR lang:en)", "d2 d5"},
        {"spring -lang:en", "d1 d3"},
        {"\"spring essay\" flag:true", "d3"},
        {"(spring OR winter) AND (lang:ru OR year:..2000)", "d1 d4 d5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect(segs, 1, cases[i][0], NULL, cases[i][1]);
    }
    expect(segs, 1, "spring", "lang:ru OR year:2010", "d1 d3");
    expect(segs, 1, "spring OR winter", "-tags:poetry", "d2 d3 d4");
    expect(segs, 1, "lang:ru", "flag:false", "d5");
    seg_close(s);
}

static void test_filter_browse_is_index_order_with_exact_total(void **state)
{
    (void)state;
    struct seg *s = tattr_build(tattr_stem, tattr_docs, 5, true);
    struct qry_segment segs[] = {{s, NULL}};
    char buf[256];
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 2;
    assert_int_equal(
        tattr_search(tattr_ctx, tattr_schema_, "-lang:pt-BR", NULL, segs, 1, &p, buf, sizeof buf), 4);
    assert_string_equal(buf, "d1 d2");
    p.offset = 2;
    assert_int_equal(
        tattr_search(tattr_ctx, tattr_schema_, "-lang:pt-BR", NULL, segs, 1, &p, buf, sizeof buf), 4);
    assert_string_equal(buf, "d4 d5");
    /* an empty filter string browses everything */
    struct qry *all = NULL;
    struct sd_error err;
    assert_int_equal(qry_parse_filter(tattr_ctx, "", 0, tattr_schema_, &all, &err), SD_OK);
    assert_true(qry_is_browse(all));
    struct qry_result r;
    p.offset = 0;
    p.limit = 10;
    assert_int_equal(qry_search(tattr_ctx, all, segs, 1, &p, &r, &err), SD_OK);
    assert_int_equal(r.total, 5);
    assert_true(r.total_is_exact);
    assert_int_equal(r.nhits, 5);
    qry_result_free(&r);
    qry_free(all);
    seg_close(s);
}

static void test_filter_segments_without_column_and_deleted_docs(void **state)
{
    (void)state;
    struct seg *a = tattr_build(tattr_stem, tattr_docs, 3, true);
    static const struct tadoc old[] = {{"d6", "Old spring", "spring", Y(2012), .flag = -1}};
    struct seg *b = tattr_build(tattr_stem, old, 1, false); /* built before any attribute */
    struct seg *c = tattr_build(tattr_stem, tattr_docs + 3, 2, true);
    uint64_t del[1] = {1}; /* d4 */
    struct qry_segment segs[] = {{a, NULL}, {b, NULL}, {c, del}};
    expect(segs, 3, "spring year:>=1990", NULL, "d1 d3");
    expect(segs, 3, "spring -year:2012", NULL, "d3 d6");
    expect(segs, 3, "lang:en", NULL, "d2");
    expect(segs, 3, "spring", "-lang:ru", "d3 d6");
    char buf[256];
    assert_int_equal(
        tattr_search(tattr_ctx, tattr_schema_, "-flag:true", NULL, segs, 3, NULL, buf, sizeof buf), 3);
    assert_string_equal(buf, "d2 d6 d5");
    seg_close(a);
    seg_close(b);
    seg_close(c);
}

/* Issue: a keyword value holding '"' could not be filtered (the quote ended the value) and
 * `"a\\b"`, what the search page sends for a\b, found nothing. Inside quotes `\"` and `\\`
 * are escapes; any other backslash is an error; a word outside quotes is bytes as typed. */
static void test_filter_quoted_escapes_quote_and_backslash(void **state)
{
    (void)state;
    static const struct tadoc docs[] = {
        {"q1", "one", "spring", .lang = "a\"b", .tags = {"\"", "\\"}, .flag = -1},
        {"q2", "two", "spring", .lang = "a\\b", .tags = {"x y"}, .flag = -1},
        {"q3", "three", "spring", .lang = "a\\\"b", .tags = {"\\\\"}, .flag = -1},
        {"q4", "four", "spring", .lang = "a\\", .tags = {"(\"OR\")"}, .flag = -1},
    };
    struct seg *s = tattr_build(tattr_stem, docs, 4, true);
    struct qry_segment segs[] = {{s, NULL}};
    static const char *const cases[][2] = {
        {"lang:\"a\\\"b\"", "q1"},
        {"lang:(\"a\\\\b\")", "q2"},
        {"lang:\"a\\\\\\\"b\"", "q3"},
        {"lang:\"a\\\\\"", "q4"},
        {"lang:a\\b", "q2"}, /* unquoted: the backslash is a byte */
        {"lang:(\"a\\\"b\" OR \"a\\\\b\")", "q1 q2"},
        {"tags:\"\\\"\"", "q1"},
        {"tags:\"\\\\\"", "q1"},
        {"tags:\"\\\\\\\\\"", "q3"},
        {"tags:\"(\\\"OR\\\")\"", "q4"},
        {"-lang:\"a\\\"b\"", "q2 q3 q4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect(segs, 1, "spring", cases[i][0], cases[i][1]);
        expect(segs, 1, cases[i][0], NULL, cases[i][1]);
    }
    /* a phrase of words: both escapes separate words, like the characters they stand for */
    expect(segs, 1, "\"spring\\\"\"", NULL, "q1 q2 q3 q4");
    static const struct bad bad[] = {
        {"lang:\"a\\b\"", true, SD_EPARSE, "at 7: a backslash in a quoted value must escape"},
        {"lang:\"a\\n\"", false, SD_EPARSE, "at 7: a backslash"},
        {"lang:\"a\\\"", true, SD_EPARSE, "at 5: unterminated '\"'"},
        {"lang:\"\\u0041\"", true, SD_EPARSE, "at 6: a backslash"},
    };
    char msg[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tattr_parse_rc(tattr_ctx, tattr_schema_, bad[i].text, bad[i].is_filter, msg);
        if (rc != bad[i].rc || !strstr(msg, bad[i].msg)) {
            fail_msg("'%s': rc %d '%s', want %d '%s'", bad[i].text, rc, msg, bad[i].rc, bad[i].msg);
        }
    }
    seg_close(s);
}

/* With a filter, pruning (block-max, MaxScore) and the bulk walk of a wide OR must return the
 * hits an exhaustive search does: a filter only removes documents. */
static void test_filter_pruned_search_equals_exhaustive(void **state)
{
    (void)state;
    enum { N = 6000 };
    struct tadoc *docs = calloc(N, sizeof *docs);
    char(*idv)[16] = calloc(N, 16);
    char(*body)[96] = calloc(N, 96);
    static const char *const langs[] = {"en", "ru", "de"};
    for (uint32_t i = 0; i < N; i++) {
        snprintf(idv[i], 16, "x%05u", i);
        snprintf(body[i], 96, "common %s %s pre%02u", i % 7 == 0 ? "rare rare common" : "filler",
                 i % 3 == 0 ? "word" : "other common", i * 7 % 40);
        docs[i] = (struct tadoc){.id = idv[i],
                                 .body = body[i],
                                 .has_year = true,
                                 .year = 1990 + (int64_t)(i * 2654435761u % 35),
                                 .lang = langs[i % 3],
                                 .flag = -1};
    }
    struct seg *s1 = tattr_build(tattr_stem, docs, N / 2, true);
    struct seg *s2 = tattr_build(tattr_stem, docs + N / 2, N / 2, true);
    struct qry_segment segs[] = {{s1, NULL}, {s2, NULL}};
    const char *queries[] = {"common",
                             "common OR rare",
                             "rare common",
                             "common OR word",
                             "common (rare OR year:2000..2001)",
                             "rare OR lang:de",
                             "pre*", /* 40 words: scored in bulk (bulk.c) */
                             "rare OR pre*"};
    const char *filters[] = {"year:2000..2010", "-lang:ru", "lang:en year:>2015"};
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 10;
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        for (size_t f = 0; f < 3; f++) {
            char pruned[512], full[512];
            qry_ctx_set_exhaustive(tattr_ctx, false);
            tattr_search(tattr_ctx, tattr_schema_, queries[i], filters[f], segs, 2, &p, pruned,
                         sizeof pruned);
            qry_ctx_set_exhaustive(tattr_ctx, true);
            tattr_search(tattr_ctx, tattr_schema_, queries[i], filters[f], segs, 2, &p, full, sizeof full);
            qry_ctx_set_exhaustive(tattr_ctx, false);
            if (strcmp(pruned, full) != 0) {
                fail_msg("'%s' filter '%s': pruned '%s' exhaustive '%s'", queries[i], filters[f],
                         pruned, full);
            }
        }
    }
    seg_close(s1);
    seg_close(s2);
    free(docs);
    free(idv);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_parse_every_form_parses),
        cmocka_unit_test(test_filter_parse_malformed_names_offset_and_field),
        cmocka_unit_test(test_issue_filter_declared_names_in_any_script),
        cmocka_unit_test(test_issue_filter_every_name_settings_accept_can_be_filtered),
        cmocka_unit_test(test_filter_eval_each_form_matches_its_documents),
        cmocka_unit_test(test_filter_browse_is_index_order_with_exact_total),
        cmocka_unit_test(test_filter_segments_without_column_and_deleted_docs),
        cmocka_unit_test(test_filter_pruned_search_equals_exhaustive),
        cmocka_unit_test(test_filter_quoted_escapes_quote_and_backslash),
    };
    return cmocka_run_group_tests(tests, tattr_setup, tattr_teardown);
}
