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
#include "schema.h"
#include "seg.h"
#include "stem.h"

#define FUZZ_ATTR_SCHEMA                                                                           \
    "{\"fields\":{\"title\":{\"type\":\"text\"},\"body\":{\"type\":\"text\"},"                     \
    "\"year\":{\"type\":\"int\"},\"price\":{\"type\":\"float\"},\"lang\":{\"type\":\"keyword\"},"  \
    "\"tags\":{\"type\":\"keyword\"},\"date\":{\"type\":\"date\"},\"flag\":{\"type\":\"bool\"}}}"

/* The columns, sorted by name as seg_builder_set_attrs keeps them; doc values follow it. */
static const struct seg_attr_spec fuzz_attr_specs[] = {
    {"date", 4, SEG_ATTR_INT},    {"flag", 4, SEG_ATTR_INT},     {"lang", 4, SEG_ATTR_KEYWORD},
    {"price", 5, SEG_ATTR_FLOAT}, {"tags", 4, SEG_ATTR_KEYWORD}, {"year", 4, SEG_ATTR_INT},
};
#define FUZZ_ATTR_NCOLS (sizeof fuzz_attr_specs / sizeof fuzz_attr_specs[0])

struct fuzz_attr_doc {
    const char *id, *title, *body;
    const char *date; /* NULL: no value */
    int flag;         /* -1: no value */
    const char *lang;
    bool has_price;
    double price;
    const char *tags[3]; /* NULL-terminated */
    bool has_year;
    int64_t year;
};

static const struct fuzz_attr_doc fuzz_attr_docs[] = {
    {"d1",
     "Poems of spring",
     "poetry about spring",
     "2015-03-01T10:00:00Z",
     1,
     "ru",
     true,
     2.5,
     {"poetry", NULL},
     true,
     2012},
    {"d2",
     "Prose of winter",
     "prose about winter",
     "1969-12-31",
     0,
     "en",
     true,
     -9.99,
     {"prose", "drama", NULL},
     true,
     -5},
    {"d3", "Цифровая дипломатия", "spring essay", NULL, -1, "pt-BR", false, 0, {NULL}, true, 2010},
    {"d4",
     "Drafts",
     "spring draft",
     "2016-02-29",
     0,
     NULL,
     true,
     1e9,
     {"poetry", "", NULL},
     false,
     0},
};
#define FUZZ_ATTR_NDOCS (sizeof fuzz_attr_docs / sizeof fuzz_attr_docs[0])

static struct sch_schema *fuzz_attr_schema_;
static struct seg *fuzz_attr_seg_;

/* The column values of d into v (FUZZ_ATTR_NCOLS entries); storage in the caller's arrays. */
static inline void fuzz_attr_vals(const struct fuzz_attr_doc *d, struct seg_attr_vals *v,
                                  int64_t *ints, double *price, size_t *lang_len, size_t *tag_lens)
{
    memset(v, 0, FUZZ_ATTR_NCOLS * sizeof *v);
    if (d->date && !sch_parse_date(d->date, strlen(d->date), &ints[0])) {
        abort();
    }
    if (d->date) {
        v[0] = (struct seg_attr_vals){.count = 1, .ints = &ints[0]};
    }
    if (d->flag >= 0) {
        ints[1] = d->flag;
        v[1] = (struct seg_attr_vals){.count = 1, .ints = &ints[1]};
    }
    if (d->lang) {
        *lang_len = strlen(d->lang);
        v[2] = (struct seg_attr_vals){.count = 1, .strs = &d->lang, .lens = lang_len};
    }
    if (d->has_price) {
        *price = d->price;
        v[3] = (struct seg_attr_vals){.count = 1, .floats = price};
    }
    uint32_t ntags = 0;
    while (d->tags[ntags]) {
        tag_lens[ntags] = strlen(d->tags[ntags]);
        ntags++;
    }
    v[4] = (struct seg_attr_vals){.count = ntags, .strs = d->tags, .lens = tag_lens};
    if (d->has_year) {
        ints[2] = d->year;
        v[5] = (struct seg_attr_vals){.count = 1, .ints = &ints[2]};
    }
}

static inline void fuzz_attr_add(struct seg_builder *b, struct seg_analyzer *a,
                                 struct seg_analysis *an, const struct fuzz_attr_doc *d)
{
    struct sd_error err = {0};
    struct seg_field f[2] = {
        {"title", 5, d->title, strlen(d->title), SEG_TEXT},
        {"body", 4, d->body, strlen(d->body), SEG_TEXT},
    };
    struct seg_doc doc = {d->id, strlen(d->id), f, 2};
    struct seg_attr_vals v[FUZZ_ATTR_NCOLS];
    int64_t ints[3];
    double price;
    size_t lang_len, tag_lens[3];
    fuzz_attr_vals(d, v, ints, &price, &lang_len, tag_lens);
    if (seg_analyze(a, &doc, an, &err) || seg_builder_add_analyzed_attrs(b, an, v, &err)) {
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
    if (sch_parse(FUZZ_ATTR_SCHEMA, strlen(FUZZ_ATTR_SCHEMA), &fuzz_attr_schema_, &err) ||
        stem_ctx_new(&stem) || seg_builder_new(stem, &b, &err) ||
        seg_builder_set_attrs(b, 1, fuzz_attr_specs, FUZZ_ATTR_NCOLS, &err) ||
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
