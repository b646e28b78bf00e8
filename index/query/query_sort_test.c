/*
 * query_sort_test.c: sort (sort.c): keys parse against the schema and bad ones fail by
 * name; every key type orders by value, multi-valued by its smallest (asc) or largest
 * (desc) value, documents without a value last either way, ties by score then id; pages
 * are stable; segments compare by value, not ordinal.
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


static int parse_rc(const char *text, char *msg)
{
    struct qry_sort *s = NULL;
    struct sd_error err = {0};
    int rc = qry_sort_parse(text, strlen(text), tattr_schema_, &s, &err);
    snprintf(msg, 256, "%s", err.msg);
    qry_sort_free(s);
    return rc;
}

static void test_sort_parse_keys_and_errors(void **state)
{
    (void)state;
    char msg[256];
    const char *ok[] = {"year",
                        "year:desc",
                        "year:desc,title:asc",
                        " price:asc , lang ",
                        "_score",
                        "_score:asc,date:desc",
                        "tags:desc,flag,year,title"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (parse_rc(ok[i], msg) != SD_OK) {
            fail_msg("'%s': %s", ok[i], msg);
        }
    }
    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } bad[] = {
        {"year:up", SD_EPARSE, "at 5: the direction must be asc or desc, not 'up'"},
        {"year:", SD_EPARSE, "direction"},
        {"year,,title", SD_EPARSE, "at 5: a sort key without a name"},
        {"", SD_EPARSE, "without a name"},
        {"color:desc", SD_EFIELD, "unknown field 'color' in sort"},
        {"year,body", SD_EFIELD, "at 5: field 'body' in sort is declared as text"},
        {"year,price,lang,tags,date", SD_ELIMIT, "more than 4 sort keys"},
        {"year,year", SD_EPARSE, "at 5: 'year' is a sort key twice"},
        {"title:asc, year, title:desc", SD_EPARSE, "at 17: 'title' is a sort key twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_rc(bad[i].text, msg);
        if (rc != bad[i].rc || !strstr(msg, bad[i].msg)) {
            fail_msg("'%s': rc %d '%s', want %d '%s'", bad[i].text, rc, msg, bad[i].rc, bad[i].msg);
        }
    }
}

static void expect(const struct qry_segment *segs, size_t n, const char *q, const char *sort,
                   const char *want)
{
    char got[512];
    tattr_sorted(tattr_ctx, tattr_schema_, q, sort, segs, n, 100, 0, got, sizeof got);
    if (strcmp(got, want) != 0) {
        fail_msg("'%s' sort '%s': got '%s', want '%s'", q, sort, got, want);
    }
}

static void test_sort_each_key_type_orders_by_value_missing_last(void **state)
{
    (void)state;
    struct seg *s = tattr_build(tattr_stem, tattr_docs, TATTR_NDOCS, true);
    struct qry_segment segs[] = {{s, NULL}};
    static const char *const cases[][2] = {
        {"year:desc", "d1 d3 d2 d4 d5"},
        {"year:asc", "d4 d2 d3 d1 d5"},
        {"year", "d4 d2 d3 d1 d5"},
        {"price:asc", "d5 d1 d2 d3 d4"},
        {"price:desc", "d3 d2 d1 d5 d4"},
        {"lang:asc", "d2 d4 d3 d1 d5"},
        {"lang:desc", "d1 d5 d3 d2 d4"},
        {"tags:asc", "d2 d3 d1 d5 d4"},
        {"tags:desc", "d2 d5 d1 d3 d4"},
        {"date:desc", "d5 d2 d1 d3 d4"},
        {"date:asc", "d3 d1 d2 d5 d4"},
        {"flag:asc,year:desc", "d2 d5 d1 d3 d4"},
        {"flag:desc,price", "d1 d3 d5 d2 d4"},
        {"title:asc", "d4 d1 d2 d3 d5"},
        {"title:desc", "d5 d3 d2 d1 d4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect(segs, 1, "-lang:none", cases[i][0], cases[i][1]);
    }
    expect(segs, 1, "spring", "year:asc", "d4 d3 d1");
    expect(segs, 1, "spring OR winter", "lang:desc,year:desc", "d1 d5 d3 d2 d4");
    /* _score alone (desc) is relevance; the same order as no sort */
    char a[256], b[256];
    tattr_sorted(tattr_ctx, tattr_schema_, "spring poetry OR spring", "_score", segs, 1, 100, 0, a,
                 sizeof a);
    tattr_search(tattr_ctx, tattr_schema_, "spring poetry OR spring", NULL, segs, 1, NULL, b, sizeof b);
    assert_string_equal(a, b);
    seg_close(s);
}

static void test_sort_pages_are_stable_and_segments_compare_by_value(void **state)
{
    (void)state;
    struct seg *a = tattr_build(tattr_stem, tattr_docs, 3, true);
    static const struct tadoc old[] = {
        {"d6", "Old spring", "spring", .has_year = true, .year = 2012, .flag = -1}};
    struct seg *b = tattr_build(tattr_stem, old, 1, false);
    struct seg *c = tattr_build(tattr_stem, tattr_docs + 3, 2, true);
    struct qry_segment segs[] = {{c, NULL}, {b, NULL}, {a, NULL}};
    expect(segs, 3, "-lang:zz", "year:desc", "d1 d3 d2 d4 d5 d6");
    /* dictionaries differ per segment ("en","ru" vs "en","pt-BR","ru"): by value */
    expect(segs, 3, "-lang:zz", "lang:asc,title", "d4 d2 d3 d1 d5 d6");
    const char *pages[] = {"d1 d3", "d2 d4", "d5 d6", ""};
    for (uint32_t p = 0; p < 4; p++) {
        char got[128];
        uint64_t total = tattr_sorted(tattr_ctx, tattr_schema_, "-lang:zz", "year:desc", segs, 3, 2, 2 * p,
                                      got, sizeof got);
        assert_int_equal(total, 6);
        assert_string_equal(got, pages[p]);
    }
    seg_close(a);
    seg_close(b);
    seg_close(c);
}

/* A sort led by _score keeps pruning; it must return what an exhaustive search does, with
 * score ties broken by the later keys (many documents here share a score). */
static void test_sort_score_first_pruned_equals_exhaustive(void **state)
{
    (void)state;
    enum { N = 5000 };
    static const char *const langs[] = {"en", "ru", "de"};
    static const char *const bodies[] = {"common", "common filler", "common common", "common rare",
                                         "other"};
    struct tadoc *docs = calloc(N, sizeof *docs);
    char(*idv)[16] = calloc(N, 16);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(idv[i], 16, "y%05u", (i * 7919u) % 100000u);
        docs[i] = (struct tadoc){.id = idv[i],
                                 .body = bodies[i % 5],
                                 .has_year = i % 11 != 0,
                                 .year = 1990 + (int64_t)(i * 2654435761u % 35),
                                 .lang = langs[i % 3],
                                 .flag = -1};
    }
    struct seg *s1 = tattr_build(tattr_stem, docs, N / 2, true);
    struct seg *s2 = tattr_build(tattr_stem, docs + N / 2, N / 2, true);
    struct qry_segment segs[] = {{s1, NULL}, {s2, NULL}};
    const char *sorts[] = {"_score,year:desc", "_score:desc,lang,year", "_score,title:desc"};
    const char *queries[] = {"common", "common OR rare", "common -lang:ru"};
    bool pruned_any = false;
    for (size_t i = 0; i < 3; i++) {
        for (size_t k = 0; k < 3; k++) {
            char pruned[512], full[512];
            qry_ctx_set_exhaustive(tattr_ctx, false);
            uint64_t tp = tattr_sorted(tattr_ctx, tattr_schema_, queries[k], sorts[i], segs, 2, 10, 5,
                                       pruned, sizeof pruned);
            qry_ctx_set_exhaustive(tattr_ctx, true);
            uint64_t tf = tattr_sorted(tattr_ctx, tattr_schema_, queries[k], sorts[i], segs, 2, 10, 5, full,
                                       sizeof full);
            qry_ctx_set_exhaustive(tattr_ctx, false);
            assert_true(tp <= tf);
            pruned_any |= tp < tf;
            if (strcmp(pruned, full) != 0) {
                fail_msg("'%s' sort '%s': pruned '%s' exhaustive '%s'", queries[k], sorts[i],
                         pruned, full);
            }
        }
    }
    assert_true(pruned_any); /* the pruned path did skip documents */
    seg_close(s1);
    seg_close(s2);
    free(docs);
    free(idv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_parse_keys_and_errors),
        cmocka_unit_test(test_sort_each_key_type_orders_by_value_missing_last),
        cmocka_unit_test(test_sort_pages_are_stable_and_segments_compare_by_value),
        cmocka_unit_test(test_sort_score_first_pruned_equals_exhaustive),
    };
    return cmocka_run_group_tests(tests, tattr_setup, tattr_teardown);
}
