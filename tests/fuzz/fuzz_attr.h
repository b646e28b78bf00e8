/*
 * fuzz_attr.h: what the fuzz targets of the attribute parsers (filter, facet and sort specs,
 * docs/QUERY.md "Filters, sort and facets") share: one schema declaring every attribute type
 * and one small segment holding values of each, built once per process, so that a spec that
 * parses is also evaluated (filter_eval.c, facet_count.c, facet_label.c, sort.c) and the
 * fuzzer reaches the code behind the parser too. Setup failures abort (they are bugs of the
 * target, not findings about input). Header-only: each target is one translation unit.
 *
 * The documents cover the awkward cases on purpose: a multi-valued keyword, documents without
 * a value, a negative int, a float fraction, dates on both sides of 1970, a bool false.
 */
#ifndef SEARCHD_FUZZ_ATTR_H
#define SEARCHD_FUZZ_ATTR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "query_attr_doc.h"
#include "schema.h"
#include "seg.h"
#include "stem.h"

#define Y(v) .has_year = true, .year = (v)
#define P(v) .has_price = true, .price = (v)

static const struct tadoc fuzz_attr_docs[] = {
    {"d1", "Poems of spring", "poetry about spring", Y(2012), P(2.5), "ru", {"poetry"},
     "2015-03-01T10:00:00Z", 1},
    {"d2", "Prose of winter", "prose about winter", Y(-5), P(-9.99), "en", {"prose", "drama"},
     "1969-12-31", 0},
    {"d3", "Цифровая дипломатия", "spring essay", Y(2010), .lang = "pt-BR", .flag = -1},
    {"d4", "Drafts", "spring draft", P(1e9), .tags = {"poetry", ""}, .date = "2016-02-29",
     .flag = 0},
};
#define FUZZ_ATTR_NDOCS (sizeof fuzz_attr_docs / sizeof fuzz_attr_docs[0])

#undef Y
#undef P

static struct sch_schema *fuzz_attr_schema_;
static struct seg *fuzz_attr_seg_;

static inline void fuzz_attr_add(struct seg_builder *b, struct seg_analyzer *a,
                                 struct seg_analysis *an, const struct tadoc *d)
{
    struct sd_error err = {0};
    struct seg_field f[2] = {
        {"title", 5, d->title, strlen(d->title), SEG_TEXT},
        {"body", 4, d->body, strlen(d->body), SEG_TEXT},
    };
    struct seg_doc doc = {d->id, strlen(d->id), f, 2};
    struct seg_attr_vals v[TATTR_NSPECS];
    int64_t ints[3];
    double price;
    size_t lang_len, tag_lens[TATTR_MAX_TAGS];
    if (!tattr_doc_vals(d, v, ints, &price, &lang_len, tag_lens) || seg_analyze(a, &doc, an, &err) ||
        seg_builder_add_analyzed_attrs(b, an, v, &err)) {
        abort();
    }
}

/* Builds the schema and the segment on the first call; both live as long as the process. */
static inline void fuzz_attr_setup(void)
{
    if (fuzz_attr_seg_) {
        return;
    }
    struct sd_error err = {0};
    struct stem_ctx *stem = NULL;
    struct seg_builder *b = NULL;
    struct seg_analyzer *a = NULL;
    struct seg_analysis *an = NULL;
    if (sch_parse(TATTR_SCHEMA, strlen(TATTR_SCHEMA), &fuzz_attr_schema_, &err) ||
        stem_ctx_new(&stem) || seg_builder_new(stem, &b, &err) ||
        seg_builder_set_attrs(b, 1, tattr_specs, TATTR_NSPECS, &err) ||
        seg_analyzer_new(stem, &a, &err) || seg_analysis_new(&an, &err)) {
        abort();
    }
    for (size_t i = 0; i < FUZZ_ATTR_NDOCS; i++) {
        fuzz_attr_add(b, a, an, &fuzz_attr_docs[i]);
    }
    struct sd_buf img;
    sd_buf_init(&img);
    if (seg_builder_finish(b, &img, &err)) {
        abort();
    }
    seg_builder_free(b);
    seg_analyzer_free(a);
    seg_analysis_free(an);
    stem_ctx_free(stem);
    size_t len;
    uint8_t *data = sd_buf_detach(&img, &len);
    if (seg_open_mem(data, len, "fuzz-attr", &fuzz_attr_seg_, &err)) {
        abort();
    }
}

/* Searches q (every document when NULL) over the segment with params' filter, sort and facets
 * (borrowed); limit 2, fewer than the matches, so top-k and the sort's tie-breaks have work.
 * Errors are fine (a search of a valid spec may still refuse); the result is freed. */
static inline void fuzz_attr_search(struct qry_ctx *ctx, const struct qry *q,
                                    struct qry_params *params)
{
    struct sd_error err = {0};
    struct qry *all = NULL;
    if (!q && qry_parse_filter(ctx, "", 0, fuzz_attr_schema_, &all, &err)) {
        abort();
    }
    struct qry_segment seg = {fuzz_attr_seg_, NULL};
    params->limit = 2;
    struct qry_result r;
    if (qry_search(ctx, q ? q : all, &seg, 1, params, &r, &err) == SD_OK) {
        qry_result_free(&r);
    }
    qry_free(all);
}

#endif /* SEARCHD_FUZZ_ATTR_H */
