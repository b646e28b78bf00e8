/*
 * seg_attr_test.c: segments written by older versions still open and read the same
 * (index/seg/testdata/v2.seg: three documents written by the format-2 builder; v3.seg: the
 * first 40 documents of doc_vals() written by the format-3 builder, before keyword columns
 * carried the documents of each value; checked in before the format changed: regenerate
 * never, compare always), and the columns' values, doc sets and merges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "seg.h"
#include "seg_test_util.h"

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

/* ---- columns ---- */

#define NDOCS 3000


/* Doc k's values, a pure function of k: year dense (1990 + k*7 % 35), tags 0..3 keywords,
 * price on two docs in three, big alternating between the int64 extremes on every 5th. */
struct doc_vals {
    int64_t year[1];
    const char *tags[3];
    size_t tag_lens[3];
    double price[1];
    int64_t big[1];
    struct seg_attr_vals v[4]; /* in spec order: year, tags, price, big */
};

static const char *const g_tags[] = {"poetry", "prose", "drama", "essay", "ру", "z"};

static const struct seg_attr_spec g_specs[] = {
    {"year", 4, SEG_ATTR_INT},
    {"tags", 4, SEG_ATTR_KEYWORD},
    {"price", 5, SEG_ATTR_FLOAT},
    {"big", 3, SEG_ATTR_INT},
};

static void doc_vals(uint32_t k, struct doc_vals *d)
{
    memset(d, 0, sizeof *d);
    d->year[0] = 1990 + (int64_t)(k * 7 % 35);
    uint32_t ntags = k % 4;
    for (uint32_t i = 0; i < ntags; i++) {
        d->tags[i] = g_tags[(k + i * 3) % 6];
        d->tag_lens[i] = strlen(d->tags[i]);
    }
    d->price[0] = (double)k * 0.25 - 100.0;
    d->big[0] = k % 10 == 0 ? INT64_MIN : INT64_MAX - (int64_t)k;
    d->v[0] = (struct seg_attr_vals){.count = 1, .ints = d->year};
    d->v[1] = (struct seg_attr_vals){.count = ntags, .strs = d->tags, .lens = d->tag_lens};
    d->v[2] = (struct seg_attr_vals){.count = k % 3 != 0, .floats = d->price};
    d->v[3] = (struct seg_attr_vals){.count = k % 5 == 0, .ints = d->big};
}

static void add_doc(struct seg_builder *b, struct seg_analyzer *an_, struct seg_analysis *an,
                    uint32_t k)
{
    char id[16], body[64];
    snprintf(id, sizeof id, "d%u", k);
    snprintf(body, sizeof body, "word%u common", k % 50);
    struct seg_field f = {"body", 4, body, strlen(body), SEG_TEXT};
    struct seg_doc doc = {id, strlen(id), &f, 1};
    struct doc_vals d;
    doc_vals(k, &d);
    struct sd_error err;
    assert_int_equal(seg_analyze(an_, &doc, an, &err), SD_OK);
    if (seg_builder_add_analyzed_attrs(b, an, d.v, &err) != SD_OK) {
        fail_msg("add %u: %s", k, err.msg);
    }
}

/* A segment image of docs ks[0, n), owned by the caller. */
static uint8_t *build(const uint32_t *ks, size_t n, size_t *len)
{
    struct seg_builder *b;
    struct seg_analyzer *a;
    struct seg_analysis *an;
    struct sd_error err;
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    assert_int_equal(seg_builder_set_attrs(b, 7, g_specs, 4, &err), SD_OK);
    assert_int_equal(seg_analyzer_new(g_stem, &a, &err), SD_OK);
    assert_int_equal(seg_analysis_new(&an, &err), SD_OK);
    for (size_t i = 0; i < n; i++) {
        add_doc(b, a, an, ks[i]);
    }
    struct sd_buf out;
    sd_buf_init(&out);
    assert_int_equal(seg_builder_finish(b, &out, &err), SD_OK);
    seg_builder_free(b);
    seg_analyzer_free(a);
    seg_analysis_free(an);
    return sd_buf_detach(&out, len);
}

static struct seg *open_image(const uint8_t *img, size_t len)
{
    uint8_t *copy = malloc(len);
    memcpy(copy, img, len);
    struct seg *s;
    struct sd_error err;
    if (seg_open_mem(copy, len, "attrs", &s, &err) != SD_OK) {
        fail_msg("open: %s", err.msg);
    }
    return s;
}

/* Every value of local doc d of s is what doc_vals(k) gave. */
static void check_doc(const struct seg *s, uint32_t d, uint32_t k)
{
    struct doc_vals want;
    doc_vals(k, &want);
    const struct seg_attr *year = seg_attr_find(s, "year", 4);
    const struct seg_attr *tags = seg_attr_find(s, "tags", 4);
    const struct seg_attr *price = seg_attr_find(s, "price", 5);
    const struct seg_attr *big = seg_attr_find(s, "big", 3);
    assert_non_null(year);
    assert_non_null(tags);
    assert_non_null(price);
    assert_non_null(big);
    uint64_t first;
    uint32_t count;
    seg_attr_values(year, d, &first, &count);
    assert_int_equal(count, 1);
    assert_true(seg_attr_int(year, first) == want.year[0]);
    seg_attr_values(tags, d, &first, &count);
    assert_int_equal(count, want.v[1].count);
    for (uint32_t i = 0; i < count; i++) {
        const char *kw;
        size_t len;
        seg_attr_keyword(tags, seg_attr_ord(tags, first + i), &kw, &len);
        assert_int_equal(len, want.tag_lens[i]);
        assert_memory_equal(kw, want.tags[i], len);
    }
    seg_attr_values(price, d, &first, &count);
    assert_int_equal(count, want.v[2].count);
    if (count) {
        assert_true(seg_attr_float(price, first) == want.price[0]);
    }
    seg_attr_values(big, d, &first, &count);
    assert_int_equal(count, want.v[3].count);
    if (count) {
        assert_true(seg_attr_int(big, first) == want.big[0]);
    }
}

static void test_seg_attr_build_reads_every_value_back(void **state)
{
    (void)state;
    uint32_t ks[NDOCS];
    for (uint32_t k = 0; k < NDOCS; k++) {
        ks[k] = k;
    }
    size_t len;
    uint8_t *img = build(ks, NDOCS, &len);
    struct seg *s = open_image(img, len);
    assert_int_equal(seg_attr_count(s), 4);
    assert_int_equal(seg_settings_version(s), 7);
    const char *sorted[] = {"big", "price", "tags", "year"};
    for (unsigned i = 0; i < 4; i++) {
        assert_string_equal(seg_attr_name(seg_attr_at(s, i)), sorted[i]);
    }
    assert_null(seg_attr_find(s, "yea", 3));
    assert_null(seg_attr_find(s, "body", 4)); /* text fields are not columns */
    assert_int_equal(seg_attr_type(seg_attr_find(s, "price", 5)), SEG_ATTR_FLOAT);
    for (uint32_t d = 0; d < NDOCS; d++) {
        check_doc(s, d, d);
    }
    const struct seg_attr *tags = seg_attr_find(s, "tags", 4);
    assert_int_equal(seg_attr_keyword_count(tags), 6); /* distinct, sorted bytewise */
    const char *kw;
    size_t kwlen;
    seg_attr_keyword(tags, 0, &kw, &kwlen);
    assert_memory_equal(kw, "drama", kwlen);
    seg_attr_keyword(tags, 5, &kw, &kwlen);
    assert_memory_equal(kw, "ру", kwlen);
    uint32_t ord;
    assert_int_equal(seg_attr_keyword_find(tags, "prose", 5, &ord), SD_OK);
    seg_attr_keyword(tags, ord, &kw, &kwlen);
    assert_memory_equal(kw, "prose", kwlen);
    assert_int_equal(seg_attr_keyword_find(tags, "pros", 4, &ord), SD_ENOTFOUND);
    /* issue 11's budget: an int attribute at most 4 bytes per document on disk; a year
     * (35 values, every doc one) takes 6 bits */
    size_t year_bytes = seg_attr_bytes(seg_attr_find(s, "year", 4));
    assert_true(year_bytes <= NDOCS * 6 / 8 + 32);
    seg_close(s);
    free(img);
}

static void test_seg_attr_merge_is_byte_identical_to_build(void **state)
{
    (void)state;
    uint32_t a[NDOCS / 2], b[NDOCS / 2], live[NDOCS];
    for (uint32_t k = 0; k < NDOCS / 2; k++) {
        a[k] = k;
        b[k] = NDOCS / 2 + k;
    }
    size_t alen, blen;
    uint8_t *aimg = build(a, NDOCS / 2, &alen);
    uint8_t *bimg = build(b, NDOCS / 2, &blen);
    struct seg *in[2] = {open_image(aimg, alen), open_image(bimg, blen)};
    /* every input loses docs (else its stored blocks are copied as they are) */
    uint64_t da[NDOCS / 128 + 1] = {0}, db[NDOCS / 128 + 1] = {0};
    size_t nlive = 0;
    for (uint32_t k = 0; k < NDOCS / 2; k++) {
        if (k % 7 == 3) {
            da[k / 64] |= UINT64_C(1) << (k % 64);
        } else {
            live[nlive++] = a[k];
        }
    }
    for (uint32_t k = 0; k < NDOCS / 2; k++) {
        if (k % 4 == 1) {
            db[k / 64] |= UINT64_C(1) << (k % 64);
        } else {
            live[nlive++] = b[k];
        }
    }
    const uint64_t *del[2] = {da, db};
    struct sd_buf out;
    sd_buf_init(&out);
    struct sd_error err;
    assert_int_equal(seg_merge(in, del, 2, &out, NULL, &err), SD_OK);
    size_t wlen;
    uint8_t *want = build(live, nlive, &wlen);
    assert_int_equal(out.len, wlen);
    assert_memory_equal(out.data, want, wlen);
    struct seg *m = open_image(out.data, out.len);
    for (uint32_t d = 0; d < nlive; d++) {
        check_doc(m, d, live[d]);
    }
    seg_close(m);
    /* to a file, spilling as it goes: the same bytes */
    char path[] = "/tmp/seg_attr_test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    uint64_t flen;
    assert_int_equal(seg_merge_file(in, del, 2, path, &flen, &err), SD_OK);
    struct seg *f;
    assert_int_equal(seg_open_file(path, &f, &err), SD_OK);
    size_t ilen;
    const uint8_t *fimg = seg_image(f, &ilen);
    assert_int_equal(ilen, wlen);
    assert_memory_equal(fimg, want, wlen);
    seg_close(f);
    unlink(path);
    sd_buf_free(&out);
    free(want);
    seg_close(in[0]);
    seg_close(in[1]);
    free(aimg);
    free(bimg);
}

/* A merge of segments with other columns: the union, and no values where an input lacks
 * the column or gives it another type. */
static void test_seg_attr_merge_unions_columns(void **state)
{
    (void)state;
    struct sd_error err;
    struct seg_builder *b;
    struct seg *in[3];
    const struct seg_attr_spec specs[3][1] = {
        {{"n", 1, SEG_ATTR_INT}}, {{"k", 1, SEG_ATTR_KEYWORD}}, {{"n", 1, SEG_ATTR_FLOAT}}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
        assert_int_equal(seg_builder_set_attrs(b, (uint64_t)(5 - i), specs[i], 1, &err), SD_OK);
        struct seg_analyzer *a;
        struct seg_analysis *an;
        seg_analyzer_new(g_stem, &a, &err);
        seg_analysis_new(&an, &err);
        struct seg_field f = {"t", 1, "x", 1, SEG_TEXT};
        char id[4] = {'a', (char)('0' + i), 0, 0};
        struct seg_doc doc = {id, 2, &f, 1};
        assert_int_equal(seg_analyze(a, &doc, an, &err), SD_OK);
        int64_t iv = 42;
        double fv = 2.5;
        const char *kv = "kw";
        size_t kl = 2;
        struct seg_attr_vals v = {.count = 1, .ints = &iv, .floats = &fv, .strs = &kv, .lens = &kl};
        assert_int_equal(seg_builder_add_analyzed_attrs(b, an, &v, &err), SD_OK);
        struct sd_buf out;
        sd_buf_init(&out);
        assert_int_equal(seg_builder_finish(b, &out, &err), SD_OK);
        size_t len;
        uint8_t *img = sd_buf_detach(&out, &len);
        assert_int_equal(seg_open_mem(img, len, "in", &in[i], &err), SD_OK);
        seg_builder_free(b);
        seg_analyzer_free(a);
        seg_analysis_free(an);
    }
    struct sd_buf out;
    sd_buf_init(&out);
    assert_int_equal(seg_merge(in, NULL, 3, &out, NULL, &err), SD_OK);
    struct seg *m = open_image(out.data, out.len);
    assert_int_equal(seg_attr_count(m), 2);
    assert_int_equal(seg_settings_version(m), 3); /* the oldest input's (5, 4, 3) */
    const struct seg_attr *n = seg_attr_find(m, "n", 1), *k = seg_attr_find(m, "k", 1);
    assert_int_equal(seg_attr_type(n), SEG_ATTR_FLOAT); /* the last input's type */
    uint64_t first;
    uint32_t count;
    seg_attr_values(n, 0, &first, &count);
    assert_int_equal(count, 0); /* an int in input 0: not a float */
    seg_attr_values(n, 2, &first, &count);
    assert_int_equal(count, 1);
    assert_true(seg_attr_float(n, first) == 2.5);
    seg_attr_values(k, 1, &first, &count);
    assert_int_equal(count, 1);
    seg_attr_values(k, 0, &first, &count);
    assert_int_equal(count, 0);
    seg_close(m);
    sd_buf_free(&out);
    for (int i = 0; i < 3; i++) {
        seg_close(in[i]);
    }
}

static void test_seg_attr_set_attrs_refuses_bad_specs(void **state)
{
    (void)state;
    struct seg_builder *b;
    struct sd_error err;
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    struct seg_attr_spec twice[] = {{"a", 1, SEG_ATTR_INT}, {"a", 1, SEG_ATTR_FLOAT}};
    assert_int_equal(seg_builder_set_attrs(b, 0, twice, 2, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "'a' given twice"));
    struct seg_attr_spec bad[] = {{"a", 1, 9}};
    assert_int_equal(seg_builder_set_attrs(b, 0, bad, 1, &err), SD_EINVAL);
    struct seg_attr_spec noname[] = {{"", 0, SEG_ATTR_INT}};
    assert_int_equal(seg_builder_set_attrs(b, 0, noname, 1, &err), SD_EINVAL);
    struct seg_field f = {"t", 1, "x", 1, SEG_TEXT};
    struct seg_doc doc = {"d", 1, &f, 1};
    assert_int_equal(seg_builder_add(b, &doc, &err), SD_OK);
    assert_int_equal(seg_builder_set_attrs(b, 0, twice, 1, &err), SD_EINVAL);
    seg_builder_free(b);
}

/* Walks every value's doc set of a keyword column: ascending, below docs. */
static void walk_doc_sets(const struct seg_attr *a, uint32_t docs)
{
    if (seg_attr_type(a) != SEG_ATTR_KEYWORD || !seg_attr_has_doc_sets(a)) {
        return;
    }
    for (uint32_t o = 0; o < seg_attr_keyword_count(a); o++) {
        uint32_t n = 0;
        for (uint32_t d = seg_attr_keyword_next(a, o, 0); d != SEG_DOC_END;
             d = seg_attr_keyword_next(a, o, d + 1)) {
            assert_true(d < docs);
            n++;
        }
        assert_int_equal(n, seg_attr_keyword_docs(a, o));
    }
}

/* True when local doc d holds value ord of keyword column a: from the column's values. */
static bool holds(const struct seg_attr *a, uint32_t d, uint32_t ord)
{
    uint64_t first;
    uint32_t count;
    seg_attr_values(a, d, &first, &count);
    for (uint32_t i = 0; i < count; i++) {
        if (seg_attr_ord(a, first + i) == ord) {
            return true;
        }
    }
    return false;
}

/* seg_attr_keyword_next(ord, d) against a scan of the values, for every value and every
 * start d, on segments of n docs. Counts the sets of each kind seen (bitmap: the value's
 * docs would take more bytes as u32 ids than a bit per doc). */
static void check_doc_sets(size_t n, unsigned *bitmaps, unsigned *arrays)
{
    uint32_t *ks = malloc(n * sizeof *ks);
    for (uint32_t k = 0; k < n; k++) {
        ks[k] = (uint32_t)(k * 7 + n) % 97 == 0 ? 5 : k; /* some docs repeat doc 5's values */
    }
    size_t len;
    uint8_t *img = build(ks, n, &len);
    struct seg *s = open_image(img, len);
    const struct seg_attr *tags = seg_attr_find(s, "tags", 4);
    assert_true(seg_attr_has_doc_sets(tags));
    uint32_t docs = seg_doc_count(s);
    for (uint32_t o = 0; o < seg_attr_keyword_count(tags); o++) {
        uint32_t want = SEG_DOC_END, count = 0;
        for (uint32_t d = docs + 1; d-- > 0;) {
            if (d < docs && holds(tags, d, o)) {
                want = d;
                count++;
            }
            assert_int_equal(seg_attr_keyword_next(tags, o, d), want);
        }
        assert_int_equal(seg_attr_keyword_docs(tags, o), count);
        if ((uint64_t)count * 4 > ((uint64_t)docs + 63) / 64 * 8) {
            (*bitmaps)++;
        } else {
            (*arrays)++;
        }
    }
    seg_close(s);
    free(img);
    free(ks);
}

static void test_seg_attr_doc_sets_match_the_values(void **state)
{
    (void)state;
    unsigned bitmaps = 0, arrays = 0;
    const size_t sizes[] = {1, 3, 40, 64, 65, 200, NDOCS};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        check_doc_sets(sizes[i], &bitmaps, &arrays);
    }
    assert_true(bitmaps > 0 && arrays > 0); /* both kinds of set were read */
}

static void test_seg_open_v3_fixture_reads_columns_without_doc_sets(void **state)
{
    (void)state;
    struct seg *s = open_fixture("v3.seg");
    assert_int_equal(seg_doc_count(s), 40);
    assert_int_equal(seg_settings_version(s), 7);
    for (uint32_t d = 0; d < 40; d++) {
        check_doc(s, d, d);
    }
    assert_false(seg_attr_has_doc_sets(seg_attr_find(s, "tags", 4)));
    seg_close(s);
}

/* Every truncation and every flipped byte of the ATTRS section, opened without the checksum
 * (as a _written open would, or a checksum collision): an error or a sound segment whose
 * values stay in bounds, never a crash (ASan watches the reads). */
static void test_seg_attr_damaged_section_is_an_error_not_a_crash(void **state)
{
    (void)state;
    uint32_t ks[40];
    for (uint32_t k = 0; k < 40; k++) {
        ks[k] = k;
    }
    size_t len;
    uint8_t *img = build(ks, 40, &len);
    struct seg *s = open_image(img, len);
    uint64_t at = 0;
    size_t attrs_len = 0;
    {
        /* the ATTRS entry of the footer table (14 pairs since format 5): the 13th (offset,
         * length) pair; the flips start past the settings version (any value is valid) */
        const uint8_t *foot = img + len - (4 + 14 * 16 + 16 + 16);
        at = sd_get_le64(foot + 4 + 12 * 16) + 8;
        attrs_len = (size_t)sd_get_le64(foot + 4 + 12 * 16 + 8) - 8;
    }
    seg_close(s);
    assert_true(attrs_len > 0);
    size_t opened = 0;
    for (size_t i = 0; i < attrs_len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            uint8_t *copy = malloc(len);
            memcpy(copy, img, len);
            copy[at + i] ^= (uint8_t)(1u << bit);
            struct seg *d;
            struct sd_error err;
            if (seg_open_mem_written(copy, len, "flipped", &d, &err) == SD_OK) {
                for (unsigned c = 0; c < seg_attr_count(d); c++) {
                    const struct seg_attr *a = seg_attr_at(d, c);
                    for (uint32_t doc = 0; doc < seg_doc_count(d); doc++) {
                        uint64_t first;
                        uint32_t count;
                        seg_attr_values(a, doc, &first, &count);
                        for (uint32_t v = 0; v < count; v++) {
                            if (seg_attr_type(a) == SEG_ATTR_KEYWORD) {
                                const char *kw;
                                size_t kl;
                                seg_attr_keyword(a, seg_attr_ord(a, first + v), &kw, &kl);
                            } else {
                                (void)seg_attr_int(a, first + v);
                            }
                        }
                    }
                    walk_doc_sets(a, seg_doc_count(d));
                }
                opened++;
                seg_close(d);
            } else {
                assert_int_equal(err.code, SD_ECORRUPT);
            }
        }
    }
    assert_true(opened < attrs_len * 3); /* the checks do catch damage */
    free(img);
}

static void test_seg_open_v2_fixture_has_no_columns(void **state)
{
    (void)state;
    struct seg *s = open_fixture("v2.seg");
    assert_int_equal(seg_attr_count(s), 0);
    assert_int_equal(seg_settings_version(s), 0);
    assert_null(seg_attr_find(s, "year", 4));
    seg_close(s);
}

/* ---- text arrays (SEG_TEXT_ARRAY) ---- */

/* Doc k's "authors": k % 4 strings, some long enough (over 31 tokens) that a merge counts a
 * deleted doc's length again from its strings. */
static void authors_of(uint32_t k, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "[");
    for (uint32_t i = 0; i < k % 4; i++) {
        n += (size_t)snprintf(out + n, cap - n, "%s\"author%u \\u00e9crit \\\"q\\\"", i ? "," : "",
                              (k + i) % 9);
        for (uint32_t w = 0; k % 5 == 0 && w < 40; w++) {
            n += (size_t)snprintf(out + n, cap - n, " w%u", w);
        }
        n += (size_t)snprintf(out + n, cap - n, "\"");
    }
    snprintf(out + n, cap - n, "]");
}

static uint8_t *build_arrays(const uint32_t *ks, size_t n, size_t *len)
{
    struct seg_builder *b;
    struct sd_error err;
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    for (size_t i = 0; i < n; i++) {
        char id[16], authors[2048];
        snprintf(id, sizeof id, "t%u", ks[i]);
        authors_of(ks[i], authors, sizeof authors);
        struct seg_field f[2] = {{"title", 5, "book", 4, SEG_TEXT},
                                 {"authors", 7, authors, strlen(authors), SEG_TEXT_ARRAY}};
        struct seg_doc doc = {id, strlen(id), f, 2};
        if (seg_builder_add(b, &doc, &err) != SD_OK) {
            fail_msg("add %u: %s", ks[i], err.msg);
        }
    }
    struct sd_buf out;
    sd_buf_init(&out);
    assert_int_equal(seg_builder_finish(b, &out, &err), SD_OK);
    seg_builder_free(b);
    return sd_buf_detach(&out, len);
}

static void test_seg_text_array_indexes_each_string_stores_the_json(void **state)
{
    (void)state;
    uint32_t ks[] = {3};
    size_t len;
    uint8_t *img =
        build_arrays(ks, 1, &len); /* ["author3 écrit \"q\"","author4 ...","author5 ..."] */
    struct seg *s = open_image(img, len);
    int f = seg_field_find(s, "authors", 7);
    assert_true(f >= 0);
    struct seg_term t;
    struct sd_error err;
    assert_int_equal(seg_term_find(s, (unsigned)f, SEG_EXACT, "author4", 7, &t, &err), SD_OK);
    assert_int_equal(seg_term_find(s, (unsigned)f, SEG_EXACT, "écrit", strlen("écrit"), &t, &err),
                     SD_OK);
    assert_int_equal(t.total_tf, 3);
    assert_int_equal(seg_field_len(s, 0, (unsigned)f), 9); /* 3 tokens in each of 3 strings */
    /* positions: 0 1 2 | gap | 4 5 6 | gap | 8 9 10: no phrase spans two strings */
    struct seg_postings *p;
    assert_int_equal(seg_postings_open(s, &t, SEG_WANT_POSITIONS, &p, &err), SD_OK);
    assert_int_equal(seg_postings_next(p), 0);
    const uint32_t *pos;
    uint32_t npos;
    assert_int_equal(seg_postings_positions(p, &pos, &npos), SD_OK);
    assert_int_equal(npos, 3);
    assert_int_equal(pos[0], 1);
    assert_int_equal(pos[1], 5);
    assert_int_equal(pos[2], 9);
    seg_postings_free(p);
    struct seg_stored st;
    assert_int_equal(seg_doc_load(s, 0, &st, &err), SD_OK);
    char want[2048];
    authors_of(3, want, sizeof want);
    assert_int_equal(st.fields[1].type, SEG_RAW); /* the JSON value it was */
    assert_int_equal(st.fields[1].value_len, strlen(want));
    assert_memory_equal(st.fields[1].value, want, strlen(want));
    seg_stored_free(&st);
    seg_close(s);
    free(img);

    /* not an array of strings: refused, never half-indexed */
    struct seg_builder *b;
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    const char *bad[] = {"[1]", "[\"a\",]", "\"a\"", "[\"a\\x\"]", "[\"\\ud800\"] x", "["};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct seg_field fb = {"authors", 7, bad[i], strlen(bad[i]), SEG_TEXT_ARRAY};
        struct seg_doc doc = {"x", 1, &fb, 1};
        assert_int_equal(seg_builder_add(b, &doc, &err), SD_EINVAL);
    }
    struct seg_field ok = {"authors", 7, "[\"\\ud800 lone\"]", 15, SEG_TEXT_ARRAY};
    struct seg_doc doc = {"x", 1, &ok, 1};
    assert_int_equal(seg_builder_add(b, &doc, &err), SD_OK); /* U+FFFD for the lone half */
    seg_builder_free(b);
}

static void test_seg_text_array_merge_is_byte_identical_to_build(void **state)
{
    (void)state;
    enum { H = 200 };
    uint32_t a[H], b[H], live[2 * H];
    for (uint32_t k = 0; k < H; k++) {
        a[k] = k;
        b[k] = H + k;
    }
    size_t alen, blen;
    uint8_t *aimg = build_arrays(a, H, &alen), *bimg = build_arrays(b, H, &blen);
    struct seg *in[2] = {open_image(aimg, alen), open_image(bimg, blen)};
    uint64_t da[H / 64 + 1] = {0}, db[H / 64 + 1] = {0};
    size_t nlive = 0;
    for (uint32_t k = 0; k < H; k++) { /* deleted: some with long arrays (k % 5 == 0) */
        if (k % 3 == 0) {
            da[k / 64] |= UINT64_C(1) << (k % 64);
        } else {
            live[nlive++] = a[k];
        }
    }
    for (uint32_t k = 0; k < H; k++) {
        if (k % 10 == 5) {
            db[k / 64] |= UINT64_C(1) << (k % 64);
        } else {
            live[nlive++] = b[k];
        }
    }
    const uint64_t *del[2] = {da, db};
    struct sd_buf out;
    sd_buf_init(&out);
    struct sd_error err;
    assert_int_equal(seg_merge(in, del, 2, &out, NULL, &err), SD_OK);
    size_t wlen;
    uint8_t *want = build_arrays(live, nlive, &wlen);
    assert_int_equal(out.len, wlen);
    assert_memory_equal(out.data, want, wlen); /* field stats included: lengths recounted */
    sd_buf_free(&out);
    free(want);
    seg_close(in[0]);
    seg_close(in[1]);
    free(aimg);
    free(bimg);
}


/* Issue 11: "an int attribute costs <= 4 bytes per document on disk". The benchmark's year
 * column, 1990 + (xxh64(id) mod 35) over 40k documents, is packed at its bit width above the
 * column's minimum (6 bits here). */
static void test_seg_attr_int_column_costs_under_4_bytes_per_doc(void **state)
{
    (void)state;
    enum { N = 40000 };
    static const struct seg_attr_spec spec[] = {{"year", 4, SEG_ATTR_INT}};
    struct seg_builder *b;
    struct seg_analyzer *a;
    struct seg_analysis *an;
    struct sd_error err;
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    assert_int_equal(seg_builder_set_attrs(b, 1, spec, 1, &err), SD_OK);
    assert_int_equal(seg_analyzer_new(g_stem, &a, &err), SD_OK);
    assert_int_equal(seg_analysis_new(&an, &err), SD_OK);
    for (uint32_t k = 0; k < N; k++) {
        char id[16];
        snprintf(id, sizeof id, "doc:%u", k);
        int64_t year = 1990 + (int64_t)(XXH64(id, strlen(id), 0) % 35);
        struct seg_field f = {"body", 4, "x", 1, SEG_TEXT};
        struct seg_doc doc = {id, strlen(id), &f, 1};
        struct seg_attr_vals v = {.count = 1, .ints = &year};
        assert_int_equal(seg_analyze(a, &doc, an, &err), SD_OK);
        assert_int_equal(seg_builder_add_analyzed_attrs(b, an, &v, &err), SD_OK);
    }
    struct sd_buf out;
    sd_buf_init(&out);
    assert_int_equal(seg_builder_finish(b, &out, &err), SD_OK);
    size_t len;
    uint8_t *img = sd_buf_detach(&out, &len);
    struct seg *s;
    assert_int_equal(seg_open_mem(img, len, "year", &s, &err), SD_OK);
    double per_doc = (double)seg_attr_bytes(seg_attr_find(s, "year", 4)) / N;
    print_message("int column: %.3f bytes per document\n", per_doc);
    assert_true(per_doc <= 4.0);
    seg_close(s);
    seg_builder_free(b);
    seg_analyzer_free(a);
    seg_analysis_free(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seg_open_v2_fixture_reads_docs_terms_and_stored),
        cmocka_unit_test(test_seg_open_v2_fixture_has_no_columns),
        cmocka_unit_test(test_seg_attr_doc_sets_match_the_values),
        cmocka_unit_test(test_seg_open_v3_fixture_reads_columns_without_doc_sets),
        cmocka_unit_test(test_seg_attr_build_reads_every_value_back),
        cmocka_unit_test(test_seg_attr_merge_is_byte_identical_to_build),
        cmocka_unit_test(test_seg_attr_merge_unions_columns),
        cmocka_unit_test(test_seg_attr_set_attrs_refuses_bad_specs),
        cmocka_unit_test(test_seg_attr_damaged_section_is_an_error_not_a_crash),
        cmocka_unit_test(test_seg_text_array_indexes_each_string_stores_the_json),
        cmocka_unit_test(test_seg_text_array_merge_is_byte_identical_to_build),
        cmocka_unit_test(test_seg_attr_int_column_costs_under_4_bytes_per_doc),
    };
    return cmocka_run_group_tests(tests, seg_test_stem_setup, seg_test_stem_teardown);
}
