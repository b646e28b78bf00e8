/*
 * seg_attr_test.c: segments written by older versions still open and read the same
 * (index/seg/testdata/v2.seg: three documents written by the format-2 builder, checked in
 * before the format changed; regenerate never, compare always).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seg.h"

#ifndef SEG_TESTDATA
#error "SEG_TESTDATA (the testdata directory) is set by CMake"
#endif

static struct seg *open_fixture(const char *name)
{
    struct seg *s = NULL;
    struct sd_error err = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SEG_TESTDATA, name);
    if (seg_open_file(path, &s, &err) != SD_OK) {
        fail_msg("%s: %s", name, err.msg);
    }
    return s;
}

static uint32_t term_df(const struct seg *s, const char *field, enum seg_kind kind,
                        const char *term)
{
    int f = seg_field_find(s, field, strlen(field));
    assert_true(f >= 0);
    struct seg_term t;
    struct sd_error err;
    int rc = seg_term_find(s, (unsigned)f, kind, term, strlen(term), &t, &err);
    return rc == SD_OK ? t.df : 0;
}

static void test_seg_open_v2_fixture_reads_docs_terms_and_stored(void **state)
{
    (void)state;
    struct seg *s = open_fixture("v2.seg");
    assert_int_equal(seg_doc_count(s), 3);
    const char *id;
    size_t len;
    seg_doc_id(s, 1, &id, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(id, "b:2", 3);
    uint32_t doc;
    assert_int_equal(seg_doc_find(s, "a:3", 3, &doc), SD_OK);
    assert_int_equal(doc, 2);
    assert_int_equal(term_df(s, "body", SEG_EXACT, "river"), 1);
    assert_int_equal(term_df(s, "body", SEG_EXACT, "реки"), 1);
    assert_int_equal(term_df(s, "title", SEG_STEM, "river"), 1);
    assert_int_equal(term_df(s, "body", SEG_EXACT, "the"), 1);
    const char *title;
    assert_int_equal(seg_doc_title(s, 1, &title, &len), SD_OK);
    assert_int_equal(len, strlen("Река и горы"));
    assert_memory_equal(title, "Река и горы", len);
    struct seg_stored st;
    struct sd_error err;
    assert_int_equal(seg_doc_load(s, 2, &st, &err), SD_OK);
    assert_int_equal(st.nfields, 2);
    assert_int_equal(st.fields[1].type, SEG_RAW);
    assert_int_equal(st.fields[1].value_len, 4);
    assert_memory_equal(st.fields[1].value, "2012", 4);
    seg_stored_free(&st);
    seg_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seg_open_v2_fixture_reads_docs_terms_and_stored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
