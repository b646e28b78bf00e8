/*
 * query_prox_test.c: the proximity bonus (prox.c). Each ranking is checked twice, with the
 * bonus off (qry_params.proximity 0, the default) and on (QRY_PROXIMITY), so a test shows
 * that the bonus, and nothing else, changes the order: documents whose query words stand
 * together, in the typed order and in any inflection, come first. Queries the bonus must not
 * touch (one word, OR, a phrase) score the same either way. query_prune_test.c checks that pruned searches
 * still equal exhaustive ones with the bonus in the bounds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval_int.h"
#include "query_test_util.h"

#define NFILL 20

/* A segment of docs[0, n) then NFILL documents without the query words (so the words' idf
 * is not tiny). */
static struct seg *fill_segment(const struct tdoc *docs, size_t n)
{
    struct tdoc all[8 + NFILL];
    char ids[NFILL][16];
    assert_true(n <= 8);
    memcpy(all, docs, n * sizeof *docs);
    for (size_t i = 0; i < NFILL; i++) {
        snprintf(ids[i], sizeof ids[i], "fill%zu", i);
        all[n + i] = (struct tdoc){.id = ids[i], .body = "река течёт мимо старого моста к морю"};
    }
    return tseg_build(tq_stem, all, n + NFILL);
}

/* docs[0, n) and the fill, searched for text with the bonus off and on; the ids found go to
 * off and on. */
static void rank(const struct tdoc *docs, size_t n, const char *text, char *off, char *on,
                 size_t cap)
{
    struct seg *s = fill_segment(docs, n);
    struct qry_segment seg = {s, NULL};
    struct qry_params p;
    qry_params_default(&p);
    p.exact_boost = 0; /* the typed-form bonus (typed.c) would decide some orders by itself */
    p.proximity = 0;
    tsearch_ids(tq_ctx, text, &seg, 1, &p, off, cap);
    p.proximity = QRY_PROXIMITY;
    tsearch_ids(tq_ctx, text, &seg, 1, &p, on, cap);
    seg_close(s);
}

/* The example: "электронная почта" together ranks above a page with "электронная"
 * and the stem's other word "почти" (stem почт) scattered, which has the stem twice. */
static void test_qry_prox_adjacent_above_scattered(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {.id = "far", .body = "электронная книга и ещё кое что почти готово а почта придёт завтра"},
        {.id = "near", .body = "вчера мне пришла электронная почта от старого друга из города"},
    };
    char off[256], on[256];
    rank(docs, 2, "электронная почта", off, on, sizeof off);
    assert_string_equal(off, "far near"); /* BM25 alone: the stem twice wins */
    assert_string_equal(on, "near far");
}

/* A search box searching as you type (QRY_SIMPLE_PREFIX_LAST) reads the last word as it
 * and its completions: the word still counts for proximity, as when typed with a space after
 * it. */
static void test_qry_prox_word_being_typed_counts(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {.id = "far", .body = "электронная книга и ещё кое что почта готова а почта придёт завтра"},
        {.id = "near", .body = "вчера мне пришла электронная почта от старого друга из города"},
    };
    struct seg *s = fill_segment(docs, 2);
    struct qry_segment seg = {s, NULL};
    struct qry_params p;
    qry_params_default(&p);
    p.exact_boost = 0;
    for (int i = 0; i < 4; i++) {
        const char *text = i & 1 ? "электронная почт" : "электронная почта";
        p.proximity = i < 2 ? 0 : QRY_PROXIMITY;
        struct qry *q = tqry_typing(tq_ctx, text);
        char got[256];
        tsearch_query_ids(tq_ctx, q, &seg, 1, &p, got, sizeof got);
        qry_free(q);
        assert_string_equal(got, i < 2 ? "far near" : "near far"); /* tf 2 wins, unless close */
    }
    seg_close(s);
}

/* The same words, the same lengths: the typed order wins over the reversed one. */
static void test_qry_prox_typed_order_above_reversed(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {.id = "rev", .body = "пришла почта электронная от друга"},
        {.id = "typed", .body = "пришла электронная почта от друга"},
    };
    char off[256], on[256];
    rank(docs, 2, "электронная почта", off, on, sizeof off);
    assert_string_equal(off, "rev typed"); /* equal scores: document order */
    assert_string_equal(on, "typed rev");
}

/* Inflected forms standing together get the bonus, in both languages; the typed form need
 * not occur at all. */
static void test_qry_prox_inflected_forms_adjacent(void **state)
{
    (void)state;
    static const struct tdoc ru[] = {
        {.id = "apart", .body = "электронной связи нет и почты тоже"},
        {.id = "together", .body = "электронной почты нет и связи тоже"},
    };
    char off[256], on[256];
    rank(ru, 2, "электронная почта", off, on, sizeof off);
    assert_string_equal(off, "apart together");
    assert_string_equal(on, "together apart");
    static const struct tdoc en[] = {
        {.id = "apart", .body = "the trees walked past a green river"},
        {.id = "together", .body = "the green trees walked past a river"},
    };
    rank(en, 2, "green tree", off, on, sizeof off);
    assert_string_equal(off, "apart together");
    assert_string_equal(on, "together apart");
}

/* Closer is better: one word between still counts (a quarter of adjacent), two do not; and
 * among three words, the document where all stand in a row beats one where two do. */
static void test_qry_prox_closer_and_longer_runs(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {.id = "gap3", .body = "электронная x y почта a b c d"},
        {.id = "gap2", .body = "электронная x почта y a b c d"},
        {.id = "two", .body = "электронная почта a b ящик c d e f"},
        {.id = "three", .body = "a b электронная почта ящик c d e f"},
    };
    char off[256], on[256];
    rank(docs, 2, "электронная почта", off, on, sizeof off);
    assert_string_equal(off, "gap3 gap2");
    assert_string_equal(on, "gap2 gap3");
    rank(docs + 2, 2, "электронная почта ящик", off, on, sizeof off);
    assert_string_equal(off, "two three"); /* the same words: document order */
    assert_string_equal(on, "three two");
}

/* Scores of text with the bonus off and on must be equal, bit for bit. */
static void assert_untouched(const struct qry_segment *seg, const char *text)
{
    struct qry_params p;
    struct qry_result r[2];
    struct sd_error err = {0};
    for (int i = 0; i < 2; i++) {
        qry_params_default(&p);
        p.proximity = i ? QRY_PROXIMITY : 0;
        struct qry *q = tqry(tq_ctx, text);
        assert_int_equal(qry_search(tq_ctx, q, seg, 1, &p, &r[i], &err), SD_OK);
        qry_free(q);
    }
    assert_true(r[0].nhits > 0);
    assert_int_equal(r[0].nhits, r[1].nhits);
    for (size_t k = 0; k < r[0].nhits; k++) {
        assert_int_equal(r[0].hits[k].doc, r[1].hits[k].doc);
        assert_true(r[0].hits[k].score == r[1].hits[k].score);
    }
    qry_result_free(&r[0]);
    qry_result_free(&r[1]);
}

static void test_qry_prox_leaves_other_queries_alone(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {.id = "a", .body = "электронная почта пришла"},
        {.id = "b", .body = "почта электронная пришла"},
        {.id = "c", .body = "электронная книга и почта"},
    };
    struct seg *s = tseg_build(tq_stem, docs, 3);
    struct qry_segment seg = {s, NULL};
    assert_untouched(&seg, "почта");
    assert_untouched(&seg, "электронная OR почта");
    assert_untouched(&seg, "\"электронная почта\"");
    assert_untouched(&seg, "электронная -книга"); /* one positive word */
    assert_untouched(&seg, "электрон* почта");    /* a prefix has no stem to group forms */
    assert_untouched(&seg, "почта почты");        /* one word twice (the same stem) */
    /* ... while the AND of two words does change: */
    struct qry_params p;
    qry_params_default(&p);
    p.proximity = QRY_PROXIMITY;
    struct qry_result r;
    struct sd_error err = {0};
    struct qry *q = tqry(tq_ctx, "электронная почта");
    assert_int_equal(qry_search(tq_ctx, q, &seg, 1, &p, &r, &err), SD_OK);
    assert_int_equal(r.nhits, 3);
    assert_int_equal(r.hits[0].doc, 0);
    assert_true(r.hits[0].score > r.hits[1].score);
    qry_result_free(&r);
    qry_free(q);
    seg_close(s);
}

/* The hits and scores of text with the bonus on, into r. */
static void search_on(const struct qry_segment *seg, const char *text, struct qry_result *r)
{
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 100;
    p.proximity = QRY_PROXIMITY;
    struct sd_error err = {0};
    struct qry *q = tqry(tq_ctx, text);
    assert_int_equal(qry_search(tq_ctx, q, seg, 1, &p, r, &err), SD_OK);
    qry_free(q);
}

/* A word's forms come from the segment's memo once a search has scanned them (prox.c): every
 * query, typed in any form of its stems, scores bit for bit as on a fresh segment that scans,
 * whichever query put the forms there. */
static void test_qry_prox_forms_from_the_memo_score_the_same(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {.id = "a", .title = "почта", .body = "электронная почта пришла вчера"},
        {.id = "b", .body = "электронной почты нет и связи тоже"},
        {.id = "c", .body = "электронную почту читают все, электронной почтой пишут"},
        {.id = "d", .body = "почти электронная книга и почта"},
        {.id = "e", .title = "электронные письма", .body = "почтой электронной"},
    };
    static const char *const texts[] = {
        "электронная почта", "электронной почты", "почтой электронной",
        "электронную почту", "почта электронные", "электронная почта",
    };
    struct seg *warm = tseg_build(tq_stem, docs, sizeof docs / sizeof *docs);
    struct qry_segment wseg = {warm, NULL};
    assert_int_equal(seg_memo_bytes(warm), 0);
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        struct seg *fresh = tseg_build(tq_stem, docs, sizeof docs / sizeof *docs);
        struct qry_segment fseg = {fresh, NULL};
        struct qry_result want, got;
        search_on(&fseg, texts[i], &want);
        search_on(&wseg, texts[i], &got);
        assert_true(want.nhits >= 4);
        assert_int_equal(got.nhits, want.nhits);
        for (size_t k = 0; k < want.nhits; k++) {
            assert_int_equal(got.hits[k].doc, want.hits[k].doc);
            assert_true(got.hits[k].score == want.hits[k].score);
        }
        qry_result_free(&want);
        qry_result_free(&got);
        seg_close(fresh);
        assert_true(seg_memo_bytes(warm) > 0); /* the forms stay with the segment */
    }
    seg_close(warm);
}

/* doc -> score of text over seg, into score[ndocs] (0 for a document not found). */
static void scores_of(const struct qry_segment *seg, const char *text, float exact_boost,
                      float proximity, float *score, size_t ndocs)
{
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 100;
    p.exact_boost = exact_boost;
    p.proximity = proximity;
    struct qry_result r;
    struct sd_error err = {0};
    struct qry *q = tqry(tq_ctx, text);
    assert_int_equal(qry_search(tq_ctx, q, seg, 1, &p, &r, &err), SD_OK);
    memset(score, 0, ndocs * sizeof *score);
    for (size_t k = 0; k < r.nhits; k++) {
        assert_true(r.hits[k].doc < ndocs);
        score[r.hits[k].doc] = r.hits[k].score;
    }
    qry_result_free(&r);
    qry_free(q);
}

/* With an exact-form bonus the typed form's positions are read from its postings (plan.c
 * shares them), without one from postings of its own: the proximity bonus of every document
 * (its score on less off) is the same either way. */
static void test_qry_prox_bonus_same_with_shared_typed_form(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {.id = "a", .title = "электронная почта", .body = "электронная почта пришла вчера"},
        {.id = "b", .body = "электронной почты нет, а электронная почта есть"},
        {.id = "c", .body = "почта и электронная книга, электронная x почта"},
        {.id = "d", .title = "почта", .body = "электронную почту читают все"},
        {.id = "e", .body = "почтой электронной"},
    };
    enum { N = sizeof docs / sizeof *docs };
    struct tdoc all[N + NFILL]; /* fillers without the words: their idf is not tiny */
    char ids[NFILL][16];
    memcpy(all, docs, sizeof docs);
    for (size_t i = 0; i < NFILL; i++) {
        snprintf(ids[i], sizeof ids[i], "fill%zu", i);
        all[N + i] = (struct tdoc){.id = ids[i], .body = "река течёт мимо старого моста к морю"};
    }
    struct seg *s = tseg_build(tq_stem, all, N + NFILL);
    struct qry_segment seg = {s, NULL};
    static const char *const texts[] = {"электронная почта", "электронную почту"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        float off[2][N], on[2][N];
        for (int b = 0; b < 2; b++) {
            scores_of(&seg, texts[i], b ? 0.5f : 0.0f, 0, off[b], N);
            scores_of(&seg, texts[i], b ? 0.5f : 0.0f, QRY_PROXIMITY, on[b], N);
        }
        int lifted = 0;
        for (size_t d = 0; d < N; d++) {
            double plain = (double)on[0][d] - off[0][d];
            double shared = (double)on[1][d] - off[1][d];
            assert_true(fabs(plain - shared) <= 1e-5 * (1 + fabs(on[1][d])));
            lifted += plain > 1e-3;
        }
        assert_true(lifted >= 2); /* the bonus is there to compare */
    }
    seg_close(s);
}

static void test_qry_prox_weight_is_checked(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {{.id = "a", .body = "электронная почта"}};
    struct seg *s = tseg_build(tq_stem, docs, 1);
    struct qry_segment seg = {s, NULL};
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    struct sd_error err = {0};
    struct qry *q = tqry(tq_ctx, "электронная почта");
    static const float bad[] = {-1.0f, 1001.0f, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p.proximity = bad[i];
        assert_int_equal(qry_search(tq_ctx, q, &seg, 1, &p, &r, &err), SD_EINVAL);
        assert_non_null(strstr(err.msg, "proximity"));
    }
    qry_free(q);
    seg_close(s);
}

/* qry_prox_closest() (a walk of the shorter list, galloping in the longer) against every
 * pair, on random ascending lists of every length balance, positions from 0. */
static void test_qry_prox_closest_equals_brute_force(void **state)
{
    (void)state;
    unsigned seed = 99;
    uint32_t a[64], b[64];
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t na = (seed >> 8) % 40, nb = (seed >> 16) % 40, span = 1 + (seed >> 4) % 200;
        for (uint32_t *v = a, n = na, k = 0; k < 2; k++, v = b, n = nb) {
            uint32_t pos = 0;
            for (uint32_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                pos += (i > 0) + (seed >> 8) % span; /* ascending, the first may be 0 */
                v[i] = pos;
            }
        }
        uint32_t want = UINT32_MAX;
        for (uint32_t i = 0; i < na; i++) {
            for (uint32_t j = 0; j < nb; j++) {
                if (b[j] > a[i] && b[j] - a[i] < want) {
                    want = b[j] - a[i];
                }
            }
        }
        uint32_t got = UINT32_MAX;
        qry_prox_closest(a, na, b, nb, &got);
        assert_int_equal(got, want);
        uint32_t capped = 3; /* a smaller distance found earlier is kept */
        qry_prox_closest(a, na, b, nb, &capped);
        assert_int_equal(capped, want < 3 ? want : 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_prox_adjacent_above_scattered),
        cmocka_unit_test(test_qry_prox_word_being_typed_counts),
        cmocka_unit_test(test_qry_prox_typed_order_above_reversed),
        cmocka_unit_test(test_qry_prox_inflected_forms_adjacent),
        cmocka_unit_test(test_qry_prox_closer_and_longer_runs),
        cmocka_unit_test(test_qry_prox_leaves_other_queries_alone),
        cmocka_unit_test(test_qry_prox_forms_from_the_memo_score_the_same),
        cmocka_unit_test(test_qry_prox_bonus_same_with_shared_typed_form),
        cmocka_unit_test(test_qry_prox_weight_is_checked),
        cmocka_unit_test(test_qry_prox_closest_equals_brute_force),
    };
    return cmocka_run_group_tests(tests, tq_setup, tq_teardown);
}
