/*
 * query_filter_skip_test.c: a keyword filter that skips (a document failing it sends the walk
 * to its value's next document, filter_eval.c) never changes the answer, in every walk:
 * the plain one, block-max (AND, phrase), MaxScore (OR) and one word over its fields.
 *
 * Three segments of a few thousand documents with Zipf-like words (so the heap fills, more
 * than QRY_TOTAL_EXACT_UPTO documents match and pruning starts), deletions, and `lang` laid
 * out three ways: long runs (a corpus imported source by source), random, and short runs;
 * `tags` multi-valued with repeats. The answer with a filter must be the answer without it
 * (every match, paged), filtered here in C from the documents' values, cut to the limit; the
 * total exact or, when pruned, a lower bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_attr_util.h"
#include "seg.h"

#define PER   2000
#define NSEG  3
#define NDOCS (PER * NSEG)

static unsigned g_seed = 77;

static unsigned rnd(unsigned n)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 8) % n;
}

static const char *const g_words[] = {"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"};
static const char *const g_langs[] = {"en", "ru", "de"};
static const char *const g_tagv[] = {"t0", "t1", "t2", "t3", "t4"};

static struct tadoc g_docs[NDOCS];
static char g_ids[NDOCS][16];
static char *g_text[NDOCS];
static struct seg *g_segs[NSEG];
static uint64_t g_del[NSEG][(PER + 63) / 64];
static struct qry_segment g_qsegs[NSEG];

static const char *zipf_word(void)
{
    double r = (double)rnd(10000) / 10000.0;
    return g_words[(unsigned)(10.0 * r * r)];
}

static const char *lang_of(size_t seg, size_t d)
{
    switch (seg) {
    case 0:
        return d < PER * 6 / 10 ? "ru" : d < PER * 9 / 10 ? "en" : "de"; /* long runs */
    case 1:
        return g_langs[rnd(3)];
    default:
        return g_langs[(d / 50) % 3]; /* runs of 50 */
    }
}

static int setup(void **state)
{
    if (tattr_setup(state)) {
        return -1;
    }
    for (size_t i = 0; i < NDOCS; i++) {
        size_t seg = i / PER, d = i % PER;
        struct tadoc *t = &g_docs[i];
        memset(t, 0, sizeof *t);
        snprintf(g_ids[i], sizeof g_ids[i], "x%zu", i);
        unsigned n = 1 + rnd(12);
        g_text[i] = calloc(n, 4);
        for (unsigned k = 0; k < n; k++) {
            strcat(g_text[i], k ? " " : "");
            strcat(g_text[i], zipf_word());
        }
        t->id = g_ids[i];
        t->title = "";
        t->body = g_text[i];
        t->lang = rnd(40) == 0 ? NULL : lang_of(seg, d);
        unsigned ntags = rnd(4);
        for (unsigned k = 0; k < ntags; k++) {
            t->tags[k] = g_tagv[rnd(5)]; /* repeats allowed */
        }
        t->flag = -1;
    }
    for (size_t s = 0; s < NSEG; s++) {
        g_segs[s] = tattr_build(tattr_stem, g_docs + s * PER, PER, true);
        for (size_t d = 0; d < PER; d++) {
            if (rnd(9) == 0) {
                g_del[s][d / 64] |= 1ull << (d % 64);
            }
        }
        g_qsegs[s] = (struct qry_segment){g_segs[s], s == 1 ? NULL : g_del[s]};
    }
    return 0;
}

static int teardown(void **state)
{
    for (size_t s = 0; s < NSEG; s++) {
        seg_close(g_segs[s]);
    }
    for (size_t i = 0; i < NDOCS; i++) {
        free(g_text[i]);
    }
    return tattr_teardown(state);
}

/* ---- the filters, and what they mean in C ---- */

static bool has_tag(const struct tadoc *t, const char *v)
{
    for (unsigned k = 0; k < TATTR_MAX_TAGS && t->tags[k]; k++) {
        if (strcmp(t->tags[k], v) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_lang(const struct tadoc *t, const char *v)
{
    return t->lang && strcmp(t->lang, v) == 0;
}

static bool f_en(const struct tadoc *t)
{
    return is_lang(t, "en");
}

static bool f_de(const struct tadoc *t)
{
    return is_lang(t, "de");
}

static bool f_none(const struct tadoc *t)
{
    (void)t;
    return false;
}

static bool f_t1(const struct tadoc *t)
{
    return has_tag(t, "t1");
}

static bool f_t1_t4(const struct tadoc *t)
{
    return has_tag(t, "t1") || has_tag(t, "t4");
}

static bool f_ru_t2(const struct tadoc *t)
{
    return is_lang(t, "ru") && has_tag(t, "t2");
}

static bool f_rude_not_t0(const struct tadoc *t)
{
    return (is_lang(t, "ru") || is_lang(t, "de")) && !has_tag(t, "t0");
}

static bool f_de_or_t3(const struct tadoc *t)
{
    return is_lang(t, "de") || has_tag(t, "t3"); /* two fields: an OR that does not skip */
}

struct filter_case {
    const char *text;
    bool (*pass)(const struct tadoc *t);
};

static const struct filter_case g_filters[] = {
    {"lang:en", f_en},
    {"lang:de", f_de},
    {"lang:zz", f_none},
    {"tags:t1", f_t1},
    {"tags:(t1 OR t4)", f_t1_t4},
    {"lang:ru tags:t2", f_ru_t2},
    {"lang:(ru OR de) -tags:t0", f_rude_not_t0},
    {"(lang:de OR tags:t3)", f_de_or_t3},
};

static const char *const g_queries[] = {
    "w0",       /* one word: MaxScore over fields */
    "w3",       /* rarer */
    "w0 w1",    /* AND: block-max */
    "w0 OR w2", /* OR: MaxScore */
    "w1 OR w5 OR w8",
    "\"w0 w1\"", /* phrase */
    "w2 -w0",    /* AND with an exclusion */
};

static bool is_live(size_t i)
{
    size_t s = i / PER, d = i % PER;
    return !(g_qsegs[s].deleted && (g_qsegs[s].deleted[d / 64] >> (d % 64)) & 1u);
}

/* Every match of q (no filter), in rank order, as doc numbers; returns the count. */
static size_t all_matches(const char *q, size_t *out)
{
    static char buf[QRY_MAX_LIMIT * 16];
    size_t n = 0;
    for (uint32_t off = 0;; off += QRY_MAX_LIMIT) {
        struct qry_params p;
        qry_params_default(&p);
        p.limit = QRY_MAX_LIMIT;
        p.offset = off;
        tattr_search(tattr_ctx, tattr_schema_, q, NULL, g_qsegs, NSEG, &p, buf, sizeof buf);
        size_t got = 0;
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
            out[n++] = (size_t)strtoul(tok + 1, NULL, 10);
            got++;
        }
        if (got < QRY_MAX_LIMIT) {
            return n;
        }
    }
}

static void check(const char *q, const struct filter_case *f, uint32_t limit, uint32_t offset)
{
    static size_t all[NDOCS];
    size_t n = all_matches(q, all);
    char want[4096] = "", got[4096];
    size_t len = 0, passing = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(is_live(all[i]));
        if (!f->pass(&g_docs[all[i]])) {
            continue;
        }
        if (passing >= offset && passing < (size_t)offset + limit) {
            len +=
                (size_t)snprintf(want + len, sizeof want - len, "%sx%zu", len ? " " : "", all[i]);
        }
        passing++;
    }
    struct qry_params p;
    qry_params_default(&p);
    p.limit = limit;
    p.offset = offset;
    struct qry_result r;
    struct qry *qq = NULL, *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse_schema(tattr_ctx, q, strlen(q), tattr_schema_, &qq, &err), SD_OK);
    assert_int_equal(
        qry_parse_filter(tattr_ctx, f->text, strlen(f->text), tattr_schema_, &fq, &err), SD_OK);
    p.filter = fq;
    assert_int_equal(qry_search(tattr_ctx, qq, g_qsegs, NSEG, &p, &r, &err), SD_OK);
    len = 0;
    got[0] = '\0';
    for (size_t i = 0; i < r.nhits; i++) {
        const char *id;
        size_t id_len;
        seg_doc_id(g_segs[r.hits[i].segment], r.hits[i].doc, &id, &id_len);
        len +=
            (size_t)snprintf(got + len, sizeof got - len, "%s%.*s", i ? " " : "", (int)id_len, id);
    }
    if (strcmp(want, got) != 0) {
        fail_msg("'%s' filter '%s' limit %u offset %u:\n want %s\n got  %s", q, f->text, limit,
                 offset, want, got);
    }
    if (r.total_is_exact) {
        assert_int_equal(r.total, passing);
    } else {
        assert_true(r.total <= passing && r.total >= QRY_TOTAL_EXACT_UPTO);
    }
    qry_result_free(&r);
    qry_free(qq);
    qry_free(fq);
}

static void test_filter_skipping_keeps_every_answer(void **state)
{
    (void)state;
    const uint32_t limits[][2] = {{10, 0}, {3, 0}, {20, 15}, {1, 0}};
    for (size_t qi = 0; qi < sizeof g_queries / sizeof g_queries[0]; qi++) {
        for (size_t fi = 0; fi < sizeof g_filters / sizeof g_filters[0]; fi++) {
            for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
                check(g_queries[qi], &g_filters[fi], limits[li][0], limits[li][1]);
            }
        }
    }
}

/* Browsing (no words) with a filter that skips: every passing document, in index order. */
static void test_browse_with_a_skipping_filter_is_exact(void **state)
{
    (void)state;
    static char buf[QRY_MAX_LIMIT * 16];
    for (size_t fi = 0; fi < sizeof g_filters / sizeof g_filters[0]; fi++) {
        size_t want = 0;
        for (size_t i = 0; i < NDOCS; i++) {
            want += is_live(i) && g_filters[fi].pass(&g_docs[i]);
        }
        struct qry_params p;
        qry_params_default(&p);
        p.limit = 5;
        uint64_t total = tattr_search(tattr_ctx, tattr_schema_, g_filters[fi].text, NULL, g_qsegs,
                                      NSEG, &p, buf, sizeof buf);
        assert_int_equal(total, want);
    }
}

/* The segments are format v4: their keyword columns list each value's documents, so the
 * skipping path is the one tested above. */
static void test_segments_have_doc_sets(void **state)
{
    (void)state;
    for (size_t s = 0; s < NSEG; s++) {
        assert_true(seg_attr_has_doc_sets(seg_attr_find(g_segs[s], "lang", 4)));
        assert_true(seg_attr_has_doc_sets(seg_attr_find(g_segs[s], "tags", 4)));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_have_doc_sets),
        cmocka_unit_test(test_filter_skipping_keeps_every_answer),
        cmocka_unit_test(test_browse_with_a_skipping_filter_is_exact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
