/*
 * seg_test_util.h: helpers shared by the unit tests of index/seg/ (test code only; include it
 * after cmocka.h). Building an image and opening a private copy of one is what every test
 * file of the module starts with, with one stemmer for the file; a failure fails the calling
 * test.
 */
#ifndef SEARCHD_SEG_TEST_UTIL_H
#define SEARCHD_SEG_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "stem.h"

/* The stemmer every test of a file builds its segments with: seg_test_stem_setup and
 * seg_test_stem_teardown are the group fixtures that make and free it. */
static struct stem_ctx *g_stem;

static inline int seg_test_stem_setup(void **state)
{
    (void)state;
    return stem_ctx_new(&g_stem) == STEM_OK ? 0 : -1;
}

static inline int seg_test_stem_teardown(void **state)
{
    (void)state;
    stem_ctx_free(g_stem);
    g_stem = NULL;
    return 0;
}

/* Builds docs[0, n) with seg_builder_add (stem borrowed), full stored blocks going to sched
 * when it is not NULL. Returns the image, malloc'd, *len bytes. */
static inline uint8_t *seg_test_build(struct stem_ctx *stem, const struct seg_doc *const *docs,
                                      size_t n, const struct seg_zjob_sched *sched, size_t *len)
{
    struct seg_builder *b;
    struct sd_error err = {0};
    assert_int_equal(seg_builder_new(stem, &b, &err), SD_OK);
    if (sched) {
        seg_builder_set_zjob_sched(b, sched);
    }
    for (size_t i = 0; i < n; i++) {
        if (seg_builder_add(b, docs[i], &err) != SD_OK) {
            fail_msg("add %zu: %s", i, err.msg);
        }
    }
    assert_int_equal(seg_builder_doc_count(b), n);
    assert_true(seg_builder_mem_bytes(b) > 0);
    struct sd_buf out;
    sd_buf_init(&out);
    assert_int_equal(seg_builder_finish(b, &out, &err), SD_OK);
    seg_builder_free(b);
    return sd_buf_detach(&out, len);
}

/* Opens a copy of img[0, len) (the segment owns the copy); name is for error messages. */
static inline struct seg *seg_test_open_copy(const uint8_t *img, size_t len, const char *name)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, img, len);
    struct seg *s;
    struct sd_error err = {0};
    if (seg_open_mem(copy, len, name, &s, &err) != SD_OK) {
        fail_msg("open %s: %s", name, err.msg);
    }
    return s;
}

#endif
