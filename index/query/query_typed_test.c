/*
 * query_typed_test.c: the exact-form bonus decided per query (typed.c). When the words stand
 * as typed together in some live document, documents holding the typed forms rank first;
 * when they stand together in none, the bonus is 0 and every score equals the stems-only
 * score; a deleted document does not count; queries without required typed words (an OR)
 * keep exact_boost as it is; synonyms do not change what the typed word gets. Within an AND,
 * only a document holding every typed form gets the bonus (eval.c and_score).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query_int.h"
#include "query_test_util.h"

/* The documents' scores for text in doc order (0 for a document not found), with the given
 * exact_boost; deleted (or NULL) marks deleted documents. */
static void scores(const struct tdoc *docs, size_t n, const uint64_t *deleted, const char *text,
                   float exact_boost, float *out)
{
    struct seg *s = tseg_build(tq_stem, docs, n);
    struct qry_segment seg = {.seg = s, .deleted = deleted};
    struct qry *q = tqry(tq_ctx, text);
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 100;
    p.exact_boost = exact_boost;
    struct qry_result r;
    struct sd_error err = {0};
    if (qry_search(tq_ctx, q, &seg, 1, &p, &r, &err)) {
        fail_msg("qry_search '%s': %s", text, err.msg);
    }
    memset(out, 0, n * sizeof *out);
    for (size_t i = 0; i < r.nhits; i++) {
        out[r.hits[i].doc] = r.hits[i].score;
    }
    qry_result_free(&r);
    qry_free(q);
    seg_close(s);
}

static const struct tdoc docs[] = {
    {.id = "typed", .body = "the quick brown foxes jumped over the lazy dogs today"},
    {.id = "other", .body = "a fox jumps and a fox jumping is faster than the dog jumps"},
    {.id = "half", .body = "jumped once the fox"},
    {.id = "none", .body = "nothing to see here"},
};
#define NDOCS (sizeof docs / sizeof docs[0])

/* "foxes jumped" stands as typed in "typed": the bonus is on and large. */
static void test_typed_forms_together_rank_first(void **state)
{
    (void)state;
    float on[NDOCS], stems[NDOCS];
    scores(docs, NDOCS, NULL, "foxes jumped", 0.5f, on);
    scores(docs, NDOCS, NULL, "foxes jumped", 0, stems);
    assert_true(stems[1] > stems[0]); /* stems alone: "other" has more of them */
    assert_true(on[0] > on[1]);       /* as typed, together: "typed" first */
    assert_true(on[0] > stems[0]);
    assert_true(on[1] == stems[1]); /* "other" has none of the typed forms */
    assert_true(on[2] == stems[2]); /* "half" has one of them: not all, so nothing */
}

/* A document that repeats one word as typed but says the other otherwise gets no bonus, and
 * the one that says both as typed, once each in a longer text, ranks above it. */
static void test_bonus_needs_every_typed_form(void **state)
{
    (void)state;
    static const struct tdoc d[] = {
        {.id = "both", .body = "the quick brown foxes jumped over the lazy dogs at noon today"},
        {.id = "one", .body = "foxes foxes foxes jumping"},
        {.id = "filler", .body = "nothing to see here"},
    };
    float on[3], stems[3];
    scores(d, 3, NULL, "foxes jumped", 0.5f, on);
    scores(d, 3, NULL, "foxes jumped", 0, stems);
    assert_true(stems[1] > stems[0]); /* stems alone: "one" is short and says them more */
    assert_true(on[1] == stems[1]);   /* "foxes" as typed, "jumped" not: no bonus */
    assert_true(on[0] > stems[0]);
    assert_true(on[0] > on[1]);
}

/* "jump" as typed is in no document, so "foxes jump" stands together as typed in none: no
 * bonus, though "typed" holds "foxes". */
static void test_typed_forms_apart_score_as_stems(void **state)
{
    (void)state;
    float on[NDOCS], stems[NDOCS];
    scores(docs, NDOCS, NULL, "foxes jump", 0.5f, on);
    scores(docs, NDOCS, NULL, "foxes jump", 0, stems);
    for (size_t i = 0; i < NDOCS; i++) {
        assert_true(on[i] == stems[i]); /* "typed" holds "foxes" as typed, and gets nothing */
    }
    assert_true(on[1] > 0 && on[0] > 0);
}

/* The only document with the typed forms together is deleted: as if none had them. */
static void test_deleted_document_does_not_count(void **state)
{
    (void)state;
    uint64_t deleted = 1u; /* doc 0, "typed" */
    float on[NDOCS], stems[NDOCS];
    scores(docs, NDOCS, &deleted, "foxes jumped", 0.5f, on);
    scores(docs, NDOCS, &deleted, "foxes jumped", 0, stems);
    assert_true(on[0] == 0);
    for (size_t i = 1; i < NDOCS; i++) {
        assert_true(on[i] == stems[i]);
    }
}

/* An OR has no required words: the bonus is exact_boost as given, not switched. */
static void test_or_keeps_exact_boost(void **state)
{
    (void)state;
    float on[NDOCS], stems[NDOCS], strong[NDOCS];
    scores(docs, NDOCS, NULL, "foxes OR cats", 0.5f, on);
    scores(docs, NDOCS, NULL, "foxes OR cats", 0, stems);
    scores(docs, NDOCS, NULL, "foxes", 0.5f, strong); /* one word, as typed: switched on */
    assert_true(on[0] > stems[0]);
    assert_true(strong[0] > on[0]);
    assert_true(on[1] == stems[1]);
}

/* exact_boost 0 is off whatever the words. */
static void test_zero_boost_stays_off(void **state)
{
    (void)state;
    float a[NDOCS], b[NDOCS];
    scores(docs, NDOCS, NULL, "foxes jumped", 0, a);
    scores(docs, NDOCS, NULL, "fox jumped", 0, b);
    for (size_t i = 0; i < NDOCS; i++) {
        assert_true(a[i] == b[i]); /* same stems, so the same scores */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_forms_together_rank_first),
        cmocka_unit_test(test_bonus_needs_every_typed_form),
        cmocka_unit_test(test_typed_forms_apart_score_as_stems),
        cmocka_unit_test(test_deleted_document_does_not_count),
        cmocka_unit_test(test_or_keeps_exact_boost),
        cmocka_unit_test(test_zero_boost_stays_off),
    };
    return cmocka_run_group_tests(tests, tq_setup, tq_teardown);
}
