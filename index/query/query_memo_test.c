/*
 * query_memo_test.c: the lookups one reading keeps for the next (memo.c), over real
 * segments: a kept word is answered without the dictionary and as the dictionary answers
 * (found or not), a term not kept reads the dictionary, the same term in another segment is
 * another key, and qry_memo_end forgets everything. Also the unmatchable reading's early
 * stop (stats.c word_idf): the words after the first that leaves nothing to match are not
 * looked up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval_int.h"
#include "query_test_util.h"

static const struct tdoc docs_a[] = {
    {.id = "a1", .title = "public diplomacy", .body = "public diplomacy and trade"},
    {.id = "a2", .body = "diplomatic cables"},
};
static const struct tdoc docs_b[] = {
    {.id = "b1", .body = "publik records"},
};

/* Searches text over segs with default parameters (limit 10); returns the result (the
 * caller frees it). */
static struct qry_result search(struct qry *q, const struct qry_segment *segs, size_t nsegs)
{
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    struct sd_error err = {0};
    if (qry_search(tq_ctx, q, segs, nsegs, &p, &r, &err)) {
        fail_msg("qry_search: %s", err.msg);
    }
    return r;
}

/* search() of the query text on one segment; the caller frees the result. */
static struct qry_result search_text(const char *text, const struct qry_segment *seg)
{
    struct qry *q = tqry(tq_ctx, text);
    struct qry_result r = search(q, seg, 1);
    qry_free(q);
    return r;
}

static int find(const struct seg *s, const char *field, enum seg_kind kind, const char *term,
                struct seg_term *t)
{
    int f = seg_field_find(s, field, strlen(field));
    assert_true(f >= 0);
    struct sd_error err = {0};
    return qry_memo_find(tq_ctx->scratch, s, (unsigned)f, kind, term, strlen(term), t, &err);
}

static int dict_find(const struct seg *s, const char *field, enum seg_kind kind, const char *term,
                     struct seg_term *t)
{
    struct sd_error err = {0};
    return seg_term_find(s, (unsigned)seg_field_find(s, field, strlen(field)), kind, term,
                         strlen(term), t, &err);
}

static void assert_same_term(const struct seg_term *x, const struct seg_term *y)
{
    assert_int_equal(x->df, y->df);
    assert_int_equal(x->total_tf, y->total_tf);
    assert_int_equal(x->off, y->off);
    assert_int_equal(x->len, y->len);
    assert_int_equal(x->pos_off, y->pos_off);
    assert_int_equal(x->pos_len, y->pos_len);
}

/* A kept word is answered from the memo, found or not, exactly as the dictionary answers;
 * the typo reading that follows finds what it finds without the memo. */
static void test_qry_memo_kept_words_are_hits(void **state)
{
    (void)state;
    struct seg *s = tseg_build(tq_stem, docs_a, 2);
    struct qry_segment seg = {.seg = s};
    struct qry *q = tqry(tq_ctx, "diplomacy publik"); /* the unknown word last: both kept */
    struct qry_result r = search(q, &seg, 1);
    assert_int_equal(r.total, 0);
    qry_result_free(&r);
    struct qry_memo *m = &tq_ctx->scratch->memo;
    qry_memo_keep(tq_ctx, q, &seg, 1);
    assert_true(m->entries.count > 0);
    uint64_t hits = m->hits;
    struct seg_term t, want;
    assert_int_equal(find(s, "body", SEG_STEM, "publik", &t), SD_ENOTFOUND);
    assert_int_equal(dict_find(s, "body", SEG_STEM, "publik", &want), SD_ENOTFOUND);
    assert_int_equal(m->hits, hits + 1);
    /* the first word's stem, as the parser stemmed it */
    char diplo[64];
    const struct qry_term *t2 = &q->terms[q->nodes[q->nodes[q->root].first_child].term];
    snprintf(diplo, sizeof diplo, "%.*s", (int)t2->len, qry_term_str(q, t2));
    assert_int_equal(find(s, "body", SEG_STEM, diplo, &t), SD_OK);
    assert_int_equal(dict_find(s, "body", SEG_STEM, diplo, &want), SD_OK);
    assert_same_term(&t, &want);
    assert_int_equal(find(s, "title", SEG_STEM, diplo, &t), SD_OK);
    assert_int_equal(dict_find(s, "title", SEG_STEM, diplo, &want), SD_OK);
    assert_same_term(&t, &want);
    assert_int_equal(m->hits, hits + 3);

    /* the typo reading: the same hits and scores with the memo as without */
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_with_typos(q, false, &fq, &err), SD_OK);
    hits = m->hits;
    struct qry_result kept = search(fq, &seg, 1);
    assert_true(m->hits > hits);
    qry_memo_end(tq_ctx);
    hits = m->hits;
    struct qry_result plain = search(fq, &seg, 1);
    assert_int_equal(m->hits, hits); /* ended: nothing answered from it */
    assert_int_equal(kept.total, 1);
    assert_int_equal(kept.total, plain.total);
    assert_int_equal(kept.nhits, plain.nhits);
    for (size_t i = 0; i < kept.nhits; i++) {
        assert_int_equal(kept.hits[i].doc, plain.hits[i].doc);
        assert_true(kept.hits[i].score == plain.hits[i].score);
    }
    qry_result_free(&kept);
    qry_result_free(&plain);
    qry_free(fq);
    qry_free(q);
    seg_close(s);
}

/* A term that was not kept (another word, another kind) reads the dictionary. */
static void test_qry_memo_other_terms_miss(void **state)
{
    (void)state;
    struct seg *s = tseg_build(tq_stem, docs_a, 2);
    struct qry_segment seg = {.seg = s};
    struct qry *q = tqry(tq_ctx, "publik diplomacy");
    struct qry_result r = search(q, &seg, 1);
    qry_result_free(&r);
    struct qry_memo *m = &tq_ctx->scratch->memo;
    qry_memo_keep(tq_ctx, q, &seg, 1);
    uint64_t hits = m->hits, misses = m->misses;
    struct seg_term t, want;
    assert_int_equal(find(s, "body", SEG_EXACT, "cables", &t), SD_OK);
    assert_int_equal(dict_find(s, "body", SEG_EXACT, "cables", &want), SD_OK);
    assert_same_term(&t, &want);
    /* the exact form of a kept stem was not looked up by the unmatchable reading */
    assert_int_equal(find(s, "body", SEG_EXACT, "publik", &t), SD_ENOTFOUND);
    assert_int_equal(m->hits, hits);
    assert_int_equal(m->misses, misses + 2);
    qry_memo_end(tq_ctx);
    /* without a keep nothing is counted: every lookup is the dictionary's */
    assert_int_equal(find(s, "body", SEG_EXACT, "cables", &t), SD_OK);
    assert_int_equal(m->misses, misses + 2);
    qry_free(q);
    seg_close(s);
}

/* The key holds the segment: a word kept as not found in one segment is looked up in
 * another, where it is; qry_memo_end forgets, and a keep over the other segment holds only
 * its own answers. */
static void test_qry_memo_is_per_segment_and_forgotten_at_end(void **state)
{
    (void)state;
    struct seg *a = tseg_build(tq_stem, docs_a, 2);
    struct seg *b = tseg_build(tq_stem, docs_b, 1);
    struct qry_segment seg_a = {.seg = a};
    struct qry *q = tqry(tq_ctx, "publik");
    struct qry_result r = search(q, &seg_a, 1);
    assert_int_equal(r.total, 0);
    qry_result_free(&r);
    struct qry_memo *m = &tq_ctx->scratch->memo;
    qry_memo_keep(tq_ctx, q, &seg_a, 1);
    uint64_t hits = m->hits, misses = m->misses;
    struct seg_term t;
    assert_int_equal(find(a, "body", SEG_STEM, "publik", &t), SD_ENOTFOUND);
    assert_int_equal(find(b, "body", SEG_STEM, "publik", &t), SD_OK);
    assert_int_equal(t.df, 1);
    assert_int_equal(m->hits, hits + 1);
    assert_int_equal(m->misses, misses + 1);
    qry_memo_end(tq_ctx);
    assert_int_equal(m->entries.count, 0);

    /* both segments searched: b's document is found, a's answer kept as not found */
    struct qry_segment both[2] = {{.seg = a}, {.seg = b}};
    r = search(q, both, 2);
    assert_int_equal(r.total, 1);
    qry_result_free(&r);
    qry_memo_keep(tq_ctx, q, both, 2);
    hits = m->hits;
    assert_int_equal(find(a, "body", SEG_STEM, "publik", &t), SD_ENOTFOUND);
    assert_int_equal(find(b, "body", SEG_STEM, "publik", &t), SD_OK);
    assert_int_equal(t.df, 1);
    assert_int_equal(m->hits, hits + 2);
    qry_memo_end(tq_ctx);
    qry_free(q);
    seg_close(a);
    seg_close(b);
}

/* An AND that a word leaves nothing to match looks up the words after it only up to a second
 * unknown one: the words after that are not looked up (nor counted as unknown); an OR still
 * looks every word up. A long word found as typed beside an unknown one is counted
 * (known_long_words: the typo beside a word typed right), one found only by its stem is not. */
static void test_qry_unmatchable_reading_stops_at_the_second_unknown_word(void **state)
{
    (void)state;
    struct seg *s = tseg_build(tq_stem, docs_a, 2);
    struct qry_segment seg = {.seg = s};
    struct qry *q = tqry(tq_ctx, "zqxjv wqxjv diplomacy");
    struct qry_result r = search(q, &seg, 1);
    assert_int_equal(r.total, 0);
    assert_int_equal(r.unknown_words, 2);
    assert_int_equal(r.nunknown_at, 2);
    assert_int_equal(r.unknown_at[0] + r.unknown_at[1], 0 + 6); /* "zqxjv", "wqxjv" */
    assert_int_equal(r.known_long_words, 0);
    const struct qry_sterm *st = tq_ctx->scratch->sterms.data;
    int32_t w3 = q->nodes[q->nodes[q->nodes[q->root].first_child].next_sibling].next_sibling;
    assert_false(st[q->nodes[w3].term].has_idf);
    qry_result_free(&r);
    qry_free(q);
    r = search_text("zqxjv diplomacy", &seg);
    assert_int_equal(r.total, 0);
    assert_int_equal(r.unknown_words, 1);
    assert_int_equal(r.known_long_words, 1);
    qry_result_free(&r);
    r = search_text("zqxjv diplomacies", &seg); /* its stem is diplomacy's, the form no one's */
    assert_int_equal(r.known_long_words, 0);
    qry_result_free(&r);
    r = search_text("zqxjv OR wqxjv OR diplomacy", &seg);
    assert_int_equal(r.total, 1);
    assert_int_equal(r.unknown_words, 2);
    assert_int_equal(r.nunknown_at, 2);
    assert_int_equal(r.unknown_at[0] + r.unknown_at[1], 0 + 9); /* "zqxjv", "wqxjv" */
    qry_result_free(&r);
    /* a compound with a part no document has is where the other layout may help too (it is
     * not an unknown word: its parts are exact forms, looked up after the words) */
    r = search_text("diplomacy b,zqxjv", &seg);
    assert_int_equal(r.total, 0);
    assert_int_equal(r.nunknown_at, 1);
    assert_int_equal(r.unknown_at[0], 10);
    qry_result_free(&r);
    seg_close(s);
}

/* A search that stops before looking anything up (a simple query of exclusions only matches
 * nothing) leaves the scratch as the search before it set it up, for other segments: nothing
 * of it is kept. The daemon crashed here when writes changed the segments between the two
 * (found by tests/soak/search_sweep.py --writes: "-averia" read stale rows). */
static void test_qry_memo_keeps_nothing_of_a_search_that_looked_nothing_up(void **state)
{
    (void)state;
    struct seg *a = tseg_build(tq_stem, docs_a, 2);
    struct seg *b = tseg_build(tq_stem, docs_b, 1);
    struct qry_segment one[] = {{.seg = b}};
    struct qry_segment two[] = {{.seg = a}, {.seg = b}};
    struct qry_result r = search_text("publik", one); /* the scratch: "publik" on b alone */
    qry_result_free(&r);
    struct qry *q = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse_simple(tq_ctx, "-publik", 7, 0, &q, &err), SD_OK);
    r = search(q, two, 2);
    assert_int_equal(r.total, 0);
    qry_result_free(&r);
    struct qry_memo *m = &tq_ctx->scratch->memo;
    qry_memo_keep(tq_ctx, q, two, 2);
    assert_int_equal(m->entries.count, 0);
    qry_memo_end(tq_ctx);
    qry_free(q);
    seg_close(b);
    seg_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_memo_kept_words_are_hits),
        cmocka_unit_test(test_qry_memo_other_terms_miss),
        cmocka_unit_test(test_qry_memo_is_per_segment_and_forgotten_at_end),
        cmocka_unit_test(test_qry_unmatchable_reading_stops_at_the_second_unknown_word),
        cmocka_unit_test(test_qry_memo_keeps_nothing_of_a_search_that_looked_nothing_up),
    };
    return cmocka_run_group_tests(tests, tq_setup, tq_teardown);
}
