/*
 * idx_attr_test.c: filters, browsing, sort, facets and chosen fields through idx_search
 * (issue 11), on an index with declared attributes whose documents sit in disk segments
 * and in the in-memory segment, with a deletion and a replaced document: the request's
 * strings are parsed against the index's settings, undeclared fields and malformed values
 * are refused with the right code, and the answers are exact.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idx.h"
#include "idx_test_util.h"

static void write_sync(struct idx_db *db, const struct idx_op *ops, size_t n)
{
    struct sd_error err;
    if (tidx_write(db, "books", ops, n, NULL, &err) != SD_OK) {
        fail_msg("write: %s", err.msg);
    }
}

static const char g_settings[] =
    "{\"fields\":{\"title\":{\"type\":\"text\"},\"body\":{\"type\":\"text\"},"
    "\"year\":{\"type\":\"int\"},\"price\":{\"type\":\"float\"},\"lang\":{\"type\":\"keyword\"},"
    "\"tags\":{\"type\":\"keyword\"},\"date\":{\"type\":\"date\"},\"flag\":{\"type\":\"bool\"}}}";

/* One document: title, body, then stored JSON values (NULL: absent). */
struct bdoc {
    const char *id, *title, *body, *year, *price, *lang, *tags, *date, *flag, *note;
};

static const struct bdoc g_docs[] = {
    {"b1", "Poems of spring", "poetry about spring", "2012", "2.5", "ru", "[\"poetry\"]",
     "2015-03-01T10:00:00Z", "true", "first"},
    {"b2", "Prose of winter", "prose about winter", "2005", "9.99", "en", "[\"prose\",\"drama\"]",
     "2015-03-02", "false", NULL},
    {"b3", "Spring notes", "spring essay", "2010", "15", "pt-BR", "[\"essay\"]",
     "2014-12-31T23:59:59Z", "true", "third \"quoted\""},
    {"b4", "Drafts", "spring draft", "1999", NULL, "en", "[]", NULL, NULL, NULL},
    {"b5", "Winter poems", "winter poetry", NULL, "0.5", "ru", "[\"poetry\",\"prose\"]",
     "2016-01-01", "false", NULL},
    {"b6", "Gone", "spring winter", "2012", "1", "ru", NULL, NULL, NULL, NULL},
};

static void add(struct seg_field *f, size_t *n, const char *name, const char *v, uint8_t type)
{
    if (v) {
        f[(*n)++] = (struct seg_field){name, strlen(name), v, strlen(v), type};
    }
}

static void put_docs(struct idx_db *db, const struct bdoc *d, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct seg_field f[10];
        size_t n = 0;
        add(f, &n, "title", d[i].title, SEG_TEXT);
        add(f, &n, "body", d[i].body, SEG_TEXT);
        add(f, &n, "year", d[i].year, SEG_RAW);
        add(f, &n, "price", d[i].price, SEG_RAW);
        add(f, &n, "lang", d[i].lang, SEG_TEXT);
        add(f, &n, "tags", d[i].tags, SEG_RAW);
        add(f, &n, "date", d[i].date, SEG_TEXT);
        add(f, &n, "flag", d[i].flag, SEG_RAW);
        add(f, &n, "note", d[i].note, SEG_TEXT);
        struct idx_op op = {
            .type = IDX_OP_UPSERT,
            .doc = {.id = d[i].id, .id_len = strlen(d[i].id), .fields = f, .nfields = n}};
        write_sync(db, &op, 1);
    }
}

static char g_dir[64];
static struct idx_db *g_db;

/* b1..b3 in a disk segment, b4..b6 in memory, b6 deleted, b2 replaced by itself. */
static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/idx_attr_test.XXXXXX");
    if (!mkdtemp(g_dir)) {
        return -1;
    }
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = g_dir;
    struct sd_error err;
    uint64_t v;
    if (idx_open(&cfg, &g_db, &err) ||
        idx_set_settings(g_db, "books", g_settings, strlen(g_settings), IDX_SETTINGS_UPSERT, &v,
                         &err)) {
        return -1;
    }
    put_docs(g_db, g_docs, 3);
    idx_close(g_db); /* flushes b1..b3 to a disk segment */
    if (idx_open(&cfg, &g_db, &err)) {
        return -1;
    }
    put_docs(g_db, g_docs + 3, 3);
    put_docs(g_db, g_docs + 1, 1);
    struct idx_op del = {.type = IDX_OP_DELETE, .doc = {.id = "b6", .id_len = 2}};
    write_sync(g_db, &del, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    idx_close(g_db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A request over "books"; strings borrowed. */
struct rq {
    const char *q, *filter, *sort;
    const char *const *facets;
    size_t nfacets;
    const char *const *fields;
    size_t nfields;
    uint32_t limit, offset;
};

static int run(const struct rq *r, struct idx_search_res *res, struct sd_error *err)
{
    struct idx_search_req req = {.q = r->q ? r->q : "", .q_len = r->q ? strlen(r->q) : 0};
    idx_search_params_default(g_db, &req.params);
    req.params.limit = r->limit ? r->limit : 100;
    req.params.offset = r->offset;
    req.filter = r->filter;
    req.filter_len = r->filter ? strlen(r->filter) : 0;
    req.sort = r->sort;
    req.sort_len = r->sort ? strlen(r->sort) : 0;
    req.facets = r->facets;
    req.nfacets = r->nfacets;
    req.fields = r->fields;
    req.nfields = r->nfields;
    return idx_search(g_db, "books", &req, res, err);
}

/* The hit ids in order, space-separated, into buf; returns total (exact, checked). */
static uint64_t hits(const struct rq *r, char *buf, size_t cap)
{
    struct idx_search_res res;
    struct sd_error err = {0};
    if (run(r, &res, &err)) {
        fail_msg("search '%s' filter '%s': %s", r->q ? r->q : "", r->filter ? r->filter : "",
                 err.msg);
    }
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < res.nhits; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? " " : "", res.hits[i].id);
    }
    uint64_t total = res.total;
    assert_true(res.total_is_exact);
    idx_search_res_free(&res);
    return total;
}

static void expect_hits(const struct rq *r, const char *want)
{
    char got[512];
    hits(r, got, sizeof got);
    if (strcmp(got, want) != 0) {
        fail_msg("q '%s' filter '%s' sort '%s': got '%s', want '%s'", r->q ? r->q : "",
                 r->filter ? r->filter : "", r->sort ? r->sort : "", got, want);
    }
}

static void expect_error(const struct rq *r, int rc, const char *part)
{
    struct idx_search_res res;
    struct sd_error err = {0};
    int got = run(r, &res, &err);
    idx_search_res_free(&res);
    if (got != rc || !strstr(err.msg, part)) {
        fail_msg("q '%s' filter '%s': rc %d '%s', want %d '%s'", r->q ? r->q : "",
                 r->filter ? r->filter : "", got, err.msg, rc, part);
    }
}

static void test_idx_attr_filter_in_q_and_filter_string(void **state)
{
    (void)state;
    expect_hits(&(struct rq){.q = "year:2000..2010"}, "b3 b2"); /* index order: disk first */
    expect_hits(&(struct rq){.q = "spring", .filter = "lang:ru"}, "b1");
    expect_hits(&(struct rq){.q = "lang:ru"}, "b1 b5");
    expect_hits(&(struct rq){.q = "tags:(poetry OR prose) -flag:true"}, "b5 b2");
    expect_hits(&(struct rq){.q = "date:2015-03-01"}, "b1");
    expect_hits(&(struct rq){.q = "lang:\"pt-BR\" price:>10"}, "b3");
    /* browsing: an empty q with a filter, every match with an exact total */
    char buf[256];
    assert_int_equal(
        hits(&(struct rq){.q = "  ", .filter = "-lang:en", .limit = 1}, buf, sizeof buf), 3);
    assert_string_equal(buf, "b1");
}

static void test_idx_attr_bad_filters_are_refused_by_name(void **state)
{
    (void)state;
    expect_error(&(struct rq){.q = "spring", .filter = "color:red"}, SD_EFIELD,
                 "unknown field 'color' in filter");
    expect_error(&(struct rq){.q = "spring", .filter = "title:spring"}, SD_EFIELD,
                 "declared as text");
    expect_error(&(struct rq){.q = "year:>=20x0"}, SD_EPARSE, "at 7:");
    expect_error(&(struct rq){.q = "spring", .filter = "date:2015-02-30"}, SD_EPARSE,
                 "filter: at 5: '2015-02-30' is not a date");
    expect_error(&(struct rq){.q = "", .filter = "spring"}, SD_EPARSE, "only clauses");
}

/* Issue: a keyword value holding NUL was stored, counted in facets, and no filter could name it
 * (requests refuse U+0000). It is refused at write now, naming the document, the field and,
 * in an array, the value; nothing of the batch is stored. A query or filter holding NUL is an
 * error of its own, never a clause that silently matches nothing. */
static void test_issue_idx_attr_keyword_with_nul_is_refused(void **state)
{
    (void)state;
    struct sd_error err = {0};
    struct seg_field ok[] = {{"title", 5, "nul test", 8, SEG_TEXT}, {"lang", 4, "ok", 2, SEG_TEXT}};
    struct seg_field lang[] = {{"title", 5, "nul test", 8, SEG_TEXT},
                               {"lang", 4, "r\0u", 3, SEG_TEXT}};
    const char tags_json[] = "[\"a\",\"b\\u0000c\"]";
    struct seg_field tags[] = {{"title", 5, "nul test", 8, SEG_TEXT},
                               {"tags", 4, tags_json, sizeof tags_json - 1, SEG_RAW}};
    struct {
        struct seg_field *f;
        const char *want;
    } bad[] = {
        {lang, "document 'n2': field 'lang': a keyword must not hold NUL (\\u0000)"},
        {tags, "document 'n2': field 'tags'[1]: a keyword must not hold NUL (\\u0000)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct idx_op ops[] = {
            {.type = IDX_OP_UPSERT, .doc = {.id = "n1", .id_len = 2, .fields = ok, .nfields = 2}},
            {.type = IDX_OP_UPSERT,
             .doc = {.id = "n2", .id_len = 2, .fields = bad[i].f, .nfields = 2}}};
        assert_int_equal(tidx_write(g_db, "books", ops, 2, NULL, &err), SD_EINVAL);
        if (!strstr(err.msg, bad[i].want)) {
            fail_msg("'%s' does not say '%s'", err.msg, bad[i].want);
        }
    }
    assert_int_equal(tidx_count(g_db, "books", "nul"), 0); /* n1 neither */
    const char *texts[] = {"lang:r\0u", "lang:\"r\0u\"", "tags:(a OR b\0c)"};
    const size_t lens[] = {8, 10, 16};
    const char *at[] = {"at 6: ", "at 7: ", "at 12: "};
    for (size_t i = 0; i < 3; i++) {
        struct idx_search_res res;
        struct idx_search_req req = {.q = texts[i], .q_len = lens[i]};
        idx_search_params_default(g_db, &req.params);
        assert_int_equal(idx_search(g_db, "books", &req, &res, &err), SD_EPARSE);
        if (!strstr(err.msg, at[i]) ||
            !strstr(err.msg, "a keyword value holds NUL (U+0000), which no keyword may hold")) {
            fail_msg("'%s': %s", texts[i], err.msg);
        }
        idx_search_res_free(&res);
    }
}

static void test_idx_attr_sort_browse_and_pages(void **state)
{
    (void)state;
    expect_hits(&(struct rq){.sort = "year:desc"}, "b1 b3 b2 b4 b5");
    expect_hits(&(struct rq){.sort = "lang:desc,price:asc"}, "b5 b1 b3 b2 b4");
    expect_hits(&(struct rq){.q = "spring", .sort = "date:asc"}, "b3 b1 b4");
    const char *pages[] = {"b1 b3", "b2 b4", "b5"};
    for (uint32_t p = 0; p < 3; p++) {
        char got[128];
        assert_int_equal(hits(&(struct rq){.filter = "-lang:zz",
                                           .sort = "year:desc",
                                           .limit = 2,
                                           .offset = 2 * p},
                              got, sizeof got),
                         5);
        assert_string_equal(got, pages[p]);
    }
    expect_error(&(struct rq){.sort = "color"}, SD_EFIELD,
                 "sort: at 0: unknown field 'color' in sort");
    expect_error(&(struct rq){.q = "spring", .sort = "year:sideways"}, SD_EPARSE,
                 "sort: at 5: the direction must be asc or desc");
}

/* The facets of a request as "field: v=c v=c o=N m=N; ...". */
static void facets_of(const struct rq *r, char *out, size_t cap)
{
    struct idx_search_res res;
    struct sd_error err = {0};
    if (run(r, &res, &err)) {
        fail_msg("facets: %s", err.msg);
    }
    assert_int_equal(res.nfacets, r->nfacets);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < res.nfacets; i++) {
        const struct idx_facet *f = &res.facets[i];
        len += (size_t)snprintf(out + len, cap - len, "%s%s:", i ? "; " : "", f->field);
        for (size_t k = 0; k < f->nbuckets; k++) {
            len += (size_t)snprintf(out + len, cap - len, " %s=%llu", f->buckets[k].value,
                                    (unsigned long long)f->buckets[k].count);
        }
        len += (size_t)snprintf(out + len, cap - len, " o=%llu m=%llu",
                                (unsigned long long)f->others, (unsigned long long)f->missing);
    }
    idx_search_res_free(&res);
}

/* A search box's query (simple syntax, drop_words) with a sort; hit ids and each hit's count of
 * missing words into buf ("b1:0 b5:1"); returns the total. */
static uint64_t box_hits(const char *q, const char *sort, uint32_t offset, uint32_t limit,
                         char *buf, size_t cap)
{
    struct idx_search_req req = {
        .q = q, .q_len = strlen(q), .sort = sort, .sort_len = strlen(sort)};
    idx_search_params_default(g_db, &req.params);
    req.params.offset = offset;
    req.params.limit = limit;
    req.opts.syntax = QRY_SYNTAX_SIMPLE;
    req.opts.drop_words = true;
    const char *facets[] = {"lang"};
    req.facets = facets;
    req.nfacets = 1;
    struct idx_search_res res;
    struct sd_error err = {0};
    if (idx_search(g_db, "books", &req, &res, &err)) {
        fail_msg("box '%s' sort '%s': %s", q, sort, err.msg);
    }
    assert_true(res.is_most_words);
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < res.nhits; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%s%s:%zu", i ? " " : "", res.hits[i].id,
                                res.hits[i].nmissing);
    }
    /* facets and total as without the sort: every match, whatever its words */
    assert_int_equal(res.nfacets, 1);
    assert_int_equal(res.facets[0].nbuckets, 3); /* en: b2 b4, ru: b1 b5, pt-BR: b3 */
    uint64_t total = res.total;
    idx_search_res_free(&res);
    return total;
}

/* Issue: when a box's words found nothing together and the most-words reading answered a
 * request with a sort, the hits were in the sort's order alone: a document with one of three
 * words before one with two. As Meilisearch's "words" rule before "sort": more of the words
 * first, the sort's order within each group, on every page (offset/limit slice one order). */
static void test_issue_idx_attr_most_words_sorted_by_words_then_sort(void **state)
{
    (void)state;
    /* spring+poetry: b1 (2012), b5 (no year); one word: b3 2010, b2 2005, b4 1999 */
    const char *q = "spring winter poetry";
    char got[256];
    assert_int_equal(box_hits(q, "year:desc", 0, 10, got, sizeof got), 5);
    assert_string_equal(got, "b1:1 b5:1 b3:2 b2:2 b4:2");
    const char *pages[] = {"b1:1 b5:1", "b3:2 b2:2", "b4:2"};
    for (uint32_t p = 0; p < 3; p++) {
        assert_int_equal(box_hits(q, "year:desc", 2 * p, 2, got, sizeof got), 5);
        assert_string_equal(got, pages[p]);
    }
    assert_int_equal(box_hits(q, "year:asc", 0, 10, got, sizeof got), 5);
    assert_string_equal(got, "b1:1 b5:1 b4:2 b2:2 b3:2"); /* no value last, either way */
    assert_int_equal(box_hits(q, "year:asc", 3, 1, got, sizeof got), 5);
    assert_string_equal(got, "b2:2");
    /* a sort led by _score: words, then score, then the rest */
    assert_int_equal(box_hits(q, "_score,year", 0, 10, got, sizeof got), 5);
    assert_true(strncmp(got, "b1:1 b5:1 ", 10) == 0 || strncmp(got, "b5:1 b1:1 ", 10) == 0);
}

static void test_idx_attr_facets_beside_hits(void **state)
{
    (void)state;
    const char *specs[] = {"lang", "year:interval=10", "tags:values=poetry|prose",
                           "date:interval=year", "lang:size=1"};
    char got[512];
    facets_of(
        &(struct rq){.q = "spring OR winter", .filter = "lang:ru", .facets = specs, .nfacets = 5},
        got, sizeof got);
    assert_string_equal(got, "lang: en=2 ru=2 pt-BR=1 o=0 m=0; "
                             "year: 2010=1 o=0 m=1; "
                             "tags: poetry=2 prose=1 o=0 m=0; "
                             "date: 2015=1 2016=1 o=0 m=0; "
                             "lang: en=2 o=3 m=0");
    const char *bad[] = {"lang", "colour"};
    expect_error(&(struct rq){.q = "spring", .facets = bad, .nfacets = 2}, SD_EFIELD,
                 "facet 1: unknown field 'colour' in facets");
    const char *text[] = {"body"};
    expect_error(&(struct rq){.q = "spring", .facets = text, .nfacets = 1}, SD_EFIELD,
                 "declared as text");
}

/* The fields_json of each hit of a request, '|'-separated ("-" for NULL). */
static void fields_of(const struct rq *r, char *out, size_t cap)
{
    struct idx_search_res res;
    struct sd_error err = {0};
    if (run(r, &res, &err)) {
        fail_msg("fields: %s", err.msg);
    }
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < res.nhits; i++) {
        const char *j = res.hits[i].fields_json;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "|" : "", j ? j : "-");
    }
    idx_search_res_free(&res);
}

static void test_idx_attr_chosen_fields_in_request_order_as_stored(void **state)
{
    (void)state;
    char got[1024];
    const char *names[] = {"year", "note", "title", "year", "absent"};
    fields_of(&(struct rq){.q = "year:2010..", .sort = "year:desc", .fields = names, .nfields = 5},
              got, sizeof got);
    assert_string_equal(got, "{\"year\":2012,\"note\":\"first\",\"title\":\"Poems of spring\"}|"
                             "{\"year\":2010,\"note\":\"third \\\"quoted\\\"\",\"title\":\"Spring "
                             "notes\"}");
    const char *all[] = {"*"};
    fields_of(&(struct rq){.q = "date:2015-03-01", .fields = all, .nfields = 1}, got, sizeof got);
    assert_string_equal(got, "{\"title\":\"Poems of spring\",\"body\":\"poetry about spring\","
                             "\"year\":2012,\"price\":2.5,\"lang\":\"ru\",\"tags\":[\"poetry\"],"
                             "\"date\":\"2015-03-01T10:00:00Z\",\"flag\":true,\"note\":\"first\"}");
    const char *tags[] = {"tags"};
    fields_of(&(struct rq){.q = "lang:en", .sort = "year", .fields = tags, .nfields = 1}, got,
              sizeof got);
    assert_string_equal(got, "{\"tags\":[]}|{\"tags\":[\"prose\",\"drama\"]}");
    fields_of(&(struct rq){.q = "lang:en", .sort = "year"}, got, sizeof got);
    assert_string_equal(got, "-|-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_attr_filter_in_q_and_filter_string),
        cmocka_unit_test(test_idx_attr_bad_filters_are_refused_by_name),
        cmocka_unit_test(test_issue_idx_attr_keyword_with_nul_is_refused),
        cmocka_unit_test(test_idx_attr_sort_browse_and_pages),
        cmocka_unit_test(test_issue_idx_attr_most_words_sorted_by_words_then_sort),
        cmocka_unit_test(test_idx_attr_facets_beside_hits),
        cmocka_unit_test(test_idx_attr_chosen_fields_in_request_order_as_stored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
