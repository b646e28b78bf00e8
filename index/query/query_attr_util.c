/*
 * query_attr_util.c: see query_attr_util.h.
 */
#include "query_attr_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define Y(v) .has_year = true, .year = (v)
#define P(v) .has_price = true, .price = (v)

const struct tadoc tattr_docs[TATTR_NDOCS] = {
    {"d1",
     "Poems of spring",
     "poetry about spring",
     Y(2012),
     P(2.5),
     "ru",
     {"poetry"},
     "2015-03-01T10:00:00Z",
     1},
    {"d2",
     "Prose of winter",
     "prose about winter",
     Y(2005),
     P(9.99),
     "en",
     {"prose", "drama"},
     "2015-03-02",
     0},
    {"d3",
     "Spring notes",
     "spring essay",
     Y(2010),
     P(15.0),
     "pt-BR",
     {"essay"},
     "2014-12-31T23:59:59Z",
     1},
    {"d4", "Drafts", "spring draft", Y(1999), .lang = "en", .flag = -1},
    {"d5", "Winter poems", "winter poetry", P(0.5), .lang = "ru", .tags = {"poetry", "prose"},
     .date = "2016-01-01", .flag = 0},
};

struct sch_schema *tattr_schema(void)
{
    struct sch_schema *s = NULL;
    struct sd_error err = {0};
    if (sch_parse(TATTR_SCHEMA, strlen(TATTR_SCHEMA), &s, &err)) {
        fail_msg("sch_parse: %s", err.msg);
    }
    return s;
}

static void add_text(struct seg_field *f, size_t *n, const char *name, const char *value)
{
    if (value) {
        f[(*n)++] = (struct seg_field){name, strlen(name), value, strlen(value), SEG_TEXT};
    }
}

struct seg *tattr_build(struct stem_ctx *stem, const struct tadoc *docs, size_t n, bool has_columns)
{
    struct sd_error err = {0};
    struct seg_builder *b;
    struct seg_analyzer *a;
    struct seg_analysis *an;
    assert_int_equal(seg_builder_new(stem, &b, &err), SD_OK);
    if (has_columns) {
        assert_int_equal(seg_builder_set_attrs(b, 1, tattr_specs, TATTR_NSPECS, &err), SD_OK);
    }
    assert_int_equal(seg_analyzer_new(stem, &a, &err), SD_OK);
    assert_int_equal(seg_analysis_new(&an, &err), SD_OK);
    for (size_t i = 0; i < n; i++) {
        struct seg_field f[2];
        size_t nf = 0;
        add_text(f, &nf, "title", docs[i].title);
        add_text(f, &nf, "body", docs[i].body);
        struct seg_doc d = {docs[i].id, strlen(docs[i].id), f, nf};
        struct seg_attr_vals v[TATTR_NSPECS];
        int64_t ints[3];
        double price;
        size_t lang_len, tag_lens[TATTR_MAX_TAGS];
        if (!tattr_doc_vals(&docs[i], v, ints, &price, &lang_len, tag_lens)) {
            fail_msg("bad test date %s", docs[i].date);
        }
        assert_int_equal(seg_analyze(a, &d, an, &err), SD_OK);
        if (seg_builder_add_analyzed_attrs(b, an, has_columns ? v : NULL, &err)) {
            fail_msg("add %s: %s", docs[i].id, err.msg);
        }
    }
    struct sd_buf img;
    sd_buf_init(&img);
    if (seg_builder_finish(b, &img, &err)) {
        fail_msg("seg_builder_finish: %s", err.msg);
    }
    seg_builder_free(b);
    seg_analyzer_free(a);
    seg_analysis_free(an);
    size_t len;
    uint8_t *data = sd_buf_detach(&img, &len);
    struct seg *s;
    if (seg_open_mem(data, len, "test", &s, &err)) {
        fail_msg("seg_open_mem: %s", err.msg);
    }
    return s;
}

uint64_t tattr_search(struct qry_ctx *ctx, const struct sch_schema *schema, const char *q,
                      const char *filter, const struct qry_segment *segs, size_t nsegs,
                      const struct qry_params *params, char *buf, size_t cap)
{
    struct qry_params p;
    if (params) {
        p = *params;
    } else {
        qry_params_default(&p);
        p.limit = QRY_MAX_LIMIT;
    }
    struct sd_error err = {0};
    struct qry *qq = NULL, *fq = NULL;
    if (qry_parse_schema(ctx, q, strlen(q), schema, &qq, &err)) {
        fail_msg("parse '%s': %s", q, err.msg);
    }
    if (filter && qry_parse_filter(ctx, filter, strlen(filter), schema, &fq, &err)) {
        fail_msg("parse filter '%s': %s", filter, err.msg);
    }
    p.filter = fq;
    struct qry_result r;
    if (qry_search(ctx, qq, segs, nsegs, &p, &r, &err)) {
        fail_msg("qry_search '%s': %s", q, err.msg);
    }
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < r.nhits; i++) {
        const char *id;
        size_t id_len;
        seg_doc_id(segs[r.hits[i].segment].seg, r.hits[i].doc, &id, &id_len);
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", i ? " " : "", (int)id_len, id);
        assert_true(len < cap);
    }
    uint64_t total = r.total;
    assert_true(r.total_is_exact || !qry_is_browse(qq));
    qry_result_free(&r);
    qry_free(qq);
    qry_free(fq);
    return total;
}

int tattr_parse_rc(struct qry_ctx *ctx, const struct sch_schema *schema, const char *text,
                   bool is_filter, char *msg)
{
    struct sd_error err = {0};
    struct qry *q = NULL;
    int rc = is_filter ? qry_parse_filter(ctx, text, strlen(text), schema, &q, &err)
                       : qry_parse_schema(ctx, text, strlen(text), schema, &q, &err);
    snprintf(msg, 256, "%s", err.msg);
    qry_free(q);
    return rc;
}

uint64_t tattr_sorted(struct qry_ctx *ctx, const struct sch_schema *schema, const char *q,
                      const char *sort, const struct qry_segment *segs, size_t nsegs,
                      uint32_t limit, uint32_t offset, char *buf, size_t cap)
{
    struct qry_params p;
    qry_params_default(&p);
    p.limit = limit;
    p.offset = offset;
    struct qry_sort *so = NULL;
    struct sd_error err = {0};
    if (qry_sort_parse(sort, strlen(sort), schema, &so, &err)) {
        fail_msg("sort '%s': %s", sort, err.msg);
    }
    p.sort = so;
    uint64_t total = tattr_search(ctx, schema, q, NULL, segs, nsegs, &p, buf, cap);
    qry_sort_free(so);
    return total;
}

struct qry_ctx *tattr_ctx;
struct stem_ctx *tattr_stem;
struct sch_schema *tattr_schema_;

int tattr_setup(void **state)
{
    (void)state;
    if (qry_ctx_new(&tattr_ctx) || stem_ctx_new(&tattr_stem)) {
        return -1;
    }
    tattr_schema_ = tattr_schema();
    return 0;
}

int tattr_teardown(void **state)
{
    (void)state;
    qry_ctx_free(tattr_ctx);
    stem_ctx_free(tattr_stem);
    sch_free(tattr_schema_);
    return 0;
}
