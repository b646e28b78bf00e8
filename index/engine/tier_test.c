/*
 * tier_test.c: the merge policy on numbers alone (tier.c). The tiers' bounds, which segments
 * one merge takes, and a stream of one-document group commits with a merger that runs now
 * and then (every commit, or every 50: starved by searches and writes) and then merges until
 * nothing is due: each document is rewritten about once per tier, and the segments left
 * after each catch-up are at most factor - 1 per tier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_int.h"

static void test_tier_bounds(void **state)
{
    (void)state;
    assert_int_equal(idx_tier_of(0, 1000, 8), 0);
    assert_int_equal(idx_tier_of(1000, 1000, 8), 0);
    assert_int_equal(idx_tier_of(1001, 1000, 8), 1);
    assert_int_equal(idx_tier_of(7999, 1000, 8), 1);
    assert_int_equal(idx_tier_of(8000, 1000, 8), 2);
    assert_int_equal(idx_tier_of(63999, 1000, 8), 2);
    assert_int_equal(idx_tier_of(64000, 1000, 8), 3);
    assert_int_equal(idx_tier_of(1, 1, 8), 0);
    assert_int_equal(idx_tier_of(2, 1, 8), 1);
    assert_int_equal(idx_tier_of(7, 1, 8), 1);
    assert_int_equal(idx_tier_of(8, 1, 8), 2);
    assert_int_equal(idx_tier_of(63, 1, 8), 2);
    assert_int_equal(idx_tier_of(64, 1, 8), 3);
    assert_int_equal(idx_tier_of(512, 1, 8), 4);
    assert_int_equal(idx_tier_of(UINT32_MAX, 1, 8), 11); /* 8^10 < 2^32 <= 8^11 */
    assert_int_equal(idx_tier_of(UINT32_MAX, 1, 2), 32);
    assert_int_equal(idx_tier_of(5000, 1000, 1), 0); /* no tiers without a factor */
}

static void test_tier_pick(void **state)
{
    (void)state;
    size_t pick[8];
    /* tier 0 has three, tier 1 (2-3 docs, factor 4) four: tier 1 goes, in list order */
    const uint32_t a[] = {1, 2, 9, 3, 1, 2, 1, 3};
    assert_int_equal(idx_tier_pick(a, 8, 1, 4, 8, pick), 4);
    assert_int_equal(pick[0], 1);
    assert_int_equal(pick[1], 3);
    assert_int_equal(pick[2], 5);
    assert_int_equal(pick[3], 7);
    /* the lowest full tier first, every segment of it up to max_inputs */
    const uint32_t b[] = {1, 1, 1, 1, 1, 2, 2, 2, 2};
    assert_int_equal(idx_tier_pick(b, 9, 1, 4, 8, pick), 5);
    assert_int_equal(pick[4], 4);
    assert_int_equal(idx_tier_pick(b, 9, 1, 4, 3, pick), 3);
    assert_int_equal(pick[2], 2);
    /* no tier full: nothing */
    assert_int_equal(idx_tier_pick(b, 3, 1, 4, 8, pick), 0);
    assert_int_equal(idx_tier_pick(b, 0, 1, 4, 8, pick), 0);
    /* the disk ladder: up to 1000 docs is tier 0 */
    const uint32_t c[] = {10, 999, 1000, 500, 2000};
    assert_int_equal(idx_tier_pick(c, 5, 1000, 4, 4, pick), 4);
    assert_int_equal(pick[3], 3);
}

struct sim {
    uint32_t docs[4096];
    size_t n;
    uint64_t rewritten; /* documents written by merges */
};

/* Merges as tier.c says until nothing is due. */
static void catch_up(struct sim *s, uint32_t factor)
{
    size_t pick[IDX_TIER_MAX_INPUTS];
    size_t taken;
    while ((taken = idx_tier_pick(s->docs, s->n, IDX_MEM_TIER_BASE, factor, IDX_TIER_MAX_INPUTS,
                                  pick)) > 0) {
        uint32_t sum = 0;
        for (size_t k = 0; k < taken; k++) {
            sum += s->docs[pick[k]];
        }
        s->rewritten += sum;
        /* the output takes the first input's place, the others leave (merge.c) */
        s->docs[pick[0]] = sum;
        size_t out = 0, k = 1;
        for (size_t i = 0; i < s->n; i++) {
            if (k < taken && i == pick[k]) {
                k++;
                continue;
            }
            s->docs[out++] = s->docs[i];
        }
        s->n = out;
    }
}

static void test_tier_steady_writer(void **state)
{
    (void)state;
    const uint32_t factor = idx_mem_merge_factor(8), writes = 20000; /* 4 */
    const unsigned tiers = idx_tier_of(writes, IDX_MEM_TIER_BASE, factor) + 1;
    static const unsigned every[] = {1, 10, 50, 500};
    for (size_t e = 0; e < sizeof every / sizeof every[0]; e++) {
        struct sim *s = calloc(1, sizeof *s);
        assert_non_null(s);
        size_t most = 0;
        for (uint32_t w = 1; w <= writes; w++) {
            assert_true(s->n < sizeof s->docs / sizeof s->docs[0]);
            s->docs[s->n++] = 1;
            if (w % every[e] == 0) {
                catch_up(s, factor);
                most = s->n > most ? s->n : most;
            }
        }
        uint32_t total = 0;
        for (size_t i = 0; i < s->n; i++) {
            total += s->docs[i];
        }
        assert_int_equal(total, writes);
        /* after a catch-up, fewer than factor in each tier */
        assert_true(most <= (size_t)(factor - 1) * tiers);
        /* about once per tier; the old ladder (tier 0 up to 1000 documents, 8 inputs a merge)
         * rewrote each document 72 times */
        assert_true(s->rewritten <= (uint64_t)writes * tiers);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tier_bounds),
        cmocka_unit_test(test_tier_pick),
        cmocka_unit_test(test_tier_steady_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
