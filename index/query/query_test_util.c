/*
 * query_test_util.c: see query_test_util.h.
 */
#include "query_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct stem_ctx *tq_stem;
struct qry_ctx *tq_ctx;

int tq_setup(void **state)
{
    (void)state;
    assert_int_equal(stem_ctx_new(&tq_stem), STEM_OK);
    assert_int_equal(qry_ctx_new(&tq_ctx), SD_OK);
    return 0;
}

int tq_teardown(void **state)
{
    (void)state;
    qry_ctx_free(tq_ctx);
    stem_ctx_free(tq_stem);
    return 0;
}

static void add_field(struct seg_field *f, size_t *n, const char *name, const char *value)
{
    if (!value) {
        return;
    }
    f[*n] = (struct seg_field){.name = name,
                               .name_len = strlen(name),
                               .value = value,
                               .value_len = strlen(value),
                               .type = SEG_TEXT};
    (*n)++;
}

struct seg *tseg_build(struct stem_ctx *stem, const struct tdoc *docs, size_t n)
{
    struct sd_error err = {0};
    struct seg_builder *b;
    assert_int_equal(seg_builder_new(stem, &b, &err), SD_OK);
    for (size_t i = 0; i < n; i++) {
        struct seg_field f[3];
        size_t nf = 0;
        add_field(f, &nf, "title", docs[i].title);
        add_field(f, &nf, "body", docs[i].body);
        add_field(f, &nf, "tags", docs[i].tags);
        struct seg_doc d = {
            .id = docs[i].id, .id_len = strlen(docs[i].id), .fields = f, .nfields = nf};
        if (seg_builder_add(b, &d, &err)) {
            fail_msg("seg_builder_add %s: %s", docs[i].id, err.msg);
        }
    }
    struct sd_buf img;
    sd_buf_init(&img);
    if (seg_builder_finish(b, &img, &err)) {
        fail_msg("seg_builder_finish: %s", err.msg);
    }
    seg_builder_free(b);
    size_t len;
    uint8_t *data = sd_buf_detach(&img, &len);
    struct seg *s;
    if (seg_open_mem(data, len, "test", &s, &err)) {
        fail_msg("seg_open_mem: %s", err.msg);
    }
    return s;
}

struct qry *tqry(struct qry_ctx *ctx, const char *text)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    if (qry_parse(ctx, text, strlen(text), &q, &err)) {
        fail_msg("qry_parse '%s': %s", text, err.msg);
    }
    return q;
}

struct qry *tqry_typing(struct qry_ctx *ctx, const char *text)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    if (qry_parse_simple(ctx, text, strlen(text), QRY_SIMPLE_PREFIX_LAST, &q, &err)) {
        fail_msg("qry_parse_simple '%s': %s", text, err.msg);
    }
    return q;
}

uint64_t tsearch_ids(struct qry_ctx *ctx, const char *text, const struct qry_segment *segs,
                     size_t nsegs, const struct qry_params *params, char *buf, size_t cap)
{
    struct qry *q = tqry(ctx, text);
    uint64_t total = tsearch_query_ids(ctx, q, segs, nsegs, params, buf, cap);
    qry_free(q);
    return total;
}

uint64_t tsearch_query_ids(struct qry_ctx *ctx, const struct qry *q, const struct qry_segment *segs,
                           size_t nsegs, const struct qry_params *params, char *buf, size_t cap)
{
    struct qry_params def;
    if (!params) {
        qry_params_default(&def);
        def.limit = QRY_MAX_LIMIT;
        params = &def;
    }
    struct qry_result r;
    struct sd_error err = {0};
    if (qry_search(ctx, q, segs, nsegs, params, &r, &err)) {
        fail_msg("qry_search: %s", err.msg);
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
    qry_result_free(&r);
    return total;
}
