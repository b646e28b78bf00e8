/*
 * query_facet_test.c: facets (facet.c, facet_count.c, facet_label.c): specs parse against
 * the schema and bad ones fail by name; value, values=, interval and ranges facets count
 * exactly over every match, once per document and bucket, with others and missing; a
 * clause on a facet's own field at the top level does not restrict that facet; keywords
 * merge by value across segments; and a facet search allocates nothing per document.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval_int.h"
#include "failalloc.h"
#include "query_attr_util.h"


static int parse_rc(const char *spec, char *msg)
{
    struct qry_facets *f = NULL;
    struct sd_error err = {0};
    int rc = qry_facets_parse(&spec, 1, tattr_schema_, &f, &err);
    snprintf(msg, 256, "%s", err.msg);
    qry_facets_free(f);
    return rc;
}

static void test_facet_parse_specs_and_errors(void **state)
{
    (void)state;
    char msg[256];
    const char *ok[] = {"lang",
                        "tags:size=20",
                        "year:interval=10",
                        "price:interval=2.5",
                        "date:interval=month",
                        "lang:values=ru|en",
                        "year:ranges=..2000|2000..2010|2010..",
                        "date:ranges=..2015-01-01|2015-01-02..",
                        "tags:values=poetry|prose",
                        "tags:size=5",
                        "flag",
                        "flag:values=true|false"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (parse_rc(ok[i], msg) != SD_OK) {
            fail_msg("'%s': %s", ok[i], msg);
        }
    }
    static const struct {
        const char *spec;
        int rc;
        const char *msg;
    } bad[] = {
        {"color", SD_EFIELD, "facet 0: unknown field 'color' in facets"},
        {"body", SD_EFIELD, "field 'body' in facets is declared as text"},
        {"lang:interval=10", SD_EFIELD, "field 'lang' is a keyword: interval= needs"},
        {"flag:ranges=0..1", SD_EFIELD, "ranges= needs an int, float or date field"},
        {"year:interval=0", SD_EPARSE, "at 14: interval= needs a positive integer (an int field)"},
        {"year:interval=0.5", SD_EPARSE, "interval= needs a positive integer (an int field)"},
        {"year:interval=x", SD_EPARSE, "interval= needs a positive integer"},
        {"lang:size=3;size=4", SD_EPARSE, "at 12: size= given twice"},
        {"date:interval=week", SD_EPARSE, "at 14: a date interval is day, month or year"},
        {"lang:size=0", SD_EPARSE, "at 10: size= needs a number from 1 to 1000"},
        {"lang:size=1001", SD_EPARSE, "size="},
        {"lang:colour=red", SD_EPARSE, "at 5: unknown option 'colour'"},
        {"lang:size", SD_EPARSE, "an option is name=value"},
        {"year:ranges=..2000|x..", SD_EPARSE, "'x' is not an integer"},
        {"year:values=2000..2010", SD_EPARSE, "values= takes values, not ranges"},
        {"year:values=2000|", SD_EPARSE, "an empty value"},
        {"year:interval=10;ranges=..5", SD_EPARSE, "only one of values=, interval= and ranges="},
        /* issue: a bucket twice made the answer's object hold its key twice ("ru":1,"ru":0) */
        {"lang:values=ru|en|ru", SD_EPARSE, "facet 0: at 18: 'ru' given twice"},
        {"year:values=5|5", SD_EPARSE, "at 14: '5' given twice"},
        {"year:ranges=..2000|..2000", SD_EPARSE, "at 19: '..2000' given twice"},
        /* issue: size= beside values= or ranges= was accepted and did nothing */
        {"lang:values=ru|en;size=1", SD_EPARSE,
         "facet 0: at 18: size= does nothing with values= or ranges="},
        {"year:size=2;ranges=..2000|2000..", SD_EPARSE, "at 12: size= does nothing with"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_rc(bad[i].spec, msg);
        if (rc != bad[i].rc || !strstr(msg, bad[i].msg)) {
            fail_msg("'%s': rc %d '%s', want %d '%s'", bad[i].spec, rc, msg, bad[i].rc, bad[i].msg);
        }
    }
    const char *many[QRY_MAX_FACETS + 1];
    for (size_t i = 0; i <= QRY_MAX_FACETS; i++) {
        many[i] = "lang";
    }
    struct qry_facets *f = NULL;
    struct sd_error err;
    assert_int_equal(qry_facets_parse(many, QRY_MAX_FACETS + 1, tattr_schema_, &f, &err), SD_ELIMIT);
}

/* Runs q (with filter) with one facet spec; writes "v=c v=c o=N m=N" to out. Returns total. */
static uint64_t facet(const struct qry_segment *segs, size_t n, const char *q, const char *filter,
                      const char *spec, char *out, size_t cap)
{
    struct sd_error err = {0};
    struct qry *qq = NULL, *fq = NULL;
    struct qry_facets *f = NULL;
    if (qry_parse_schema(tattr_ctx, q, strlen(q), tattr_schema_, &qq, &err) ||
        (filter && qry_parse_filter(tattr_ctx, filter, strlen(filter), tattr_schema_, &fq, &err)) ||
        qry_facets_parse(&spec, 1, tattr_schema_, &f, &err)) {
        fail_msg("'%s' '%s': %s", q, spec, err.msg);
    }
    struct qry_params p;
    qry_params_default(&p);
    p.filter = fq;
    p.facets = f;
    struct qry_result r;
    if (qry_search(tattr_ctx, qq, segs, n, &p, &r, &err)) {
        fail_msg("search '%s' '%s': %s", q, spec, err.msg);
    }
    assert_int_equal(r.nfacets, 1);
    assert_true(r.total_is_exact);
    const struct qry_facet *fc = &r.facets[0];
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < fc->nbuckets; i++) {
        len += (size_t)snprintf(out + len, cap - len, "%s=%llu ", fc->buckets[i].value,
                                (unsigned long long)fc->buckets[i].count);
    }
    snprintf(out + len, cap - len, "o=%llu m=%llu", (unsigned long long)fc->others,
             (unsigned long long)fc->missing);
    uint64_t total = r.total;
    qry_result_free(&r);
    qry_facets_free(f);
    qry_free(qq);
    qry_free(fq);
    return total;
}

static void expect(const struct qry_segment *segs, size_t n, const char *q, const char *filter,
                   const char *spec, const char *want)
{
    char got[1024];
    facet(segs, n, q, filter, spec, got, sizeof got);
    if (strcmp(got, want) != 0) {
        fail_msg("'%s' filter '%s' facet '%s': got '%s', want '%s'", q, filter ? filter : "", spec,
                 got, want);
    }
}

static void test_facet_every_kind_counts_exactly(void **state)
{
    (void)state;
    struct seg *s = tattr_build(tattr_stem, tattr_docs, TATTR_NDOCS, true);
    struct qry_segment segs[] = {{s, NULL}};
    static const char *const cases[][2] = {
        {"lang", "en=2 ru=2 pt-BR=1 o=0 m=0"},
        {"tags", "poetry=2 prose=2 drama=1 essay=1 o=0 m=1"},
        {"tags:size=2", "poetry=2 prose=2 o=2 m=1"},
        {"lang:values=ru|en|xx", "ru=2 en=2 xx=0 o=1 m=0"},
        {"tags:values=prose", "prose=2 o=4 m=1"},
        {"year:interval=10", "1990=1 2000=1 2010=2 o=0 m=1"},
        {"year:interval=10;size=2", "1990=1 2000=1 o=2 m=1"},
        {"year:ranges=..2000|2000..2010|2010..", "..2000=1 2000..2010=2 2010..=2 o=0 m=1"},
        {"year:ranges=2006..2011", "2006..2011=1 o=3 m=1"},
        {"year:values=2012|1999", "2012=1 1999=1 o=2 m=1"},
        {"year", "1999=1 2005=1 2010=1 2012=1 o=0 m=1"},
        {"date:interval=month", "2014-12=1 2015-03=2 2016-01=1 o=0 m=1"},
        {"date:interval=year", "2014=1 2015=2 2016=1 o=0 m=1"},
        {"date:interval=day", "2014-12-31=1 2015-03-01=1 2015-03-02=1 2016-01-01=1 o=0 m=1"},
        {"date", "2014-12-31T23:59:59Z=1 2015-03-01T10:00:00Z=1 2015-03-02=1 2016-01-01=1 o=0 "
                 "m=1"},
        {"date:values=2015-03-01", "2015-03-01=1 o=3 m=1"},
        {"date:ranges=..2015-03-01|2015-03-02..", "..2015-03-01=2 2015-03-02..=2 o=0 m=1"},
        {"flag", "false=2 true=2 o=0 m=1"},
        {"flag:values=true", "true=2 o=2 m=1"},
        {"price:interval=5", "0=2 5=1 15=1 o=0 m=1"},
        {"price:interval=2.5", "0=1 2.5=1 7.5=1 15=1 o=0 m=1"},
        {"price:ranges=..2.5|2.5..", "..2.5=2 2.5..=3 o=0 m=1"},
        {"price", "0.5=1 2.5=1 9.99=1 15=1 o=0 m=1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect(segs, 1, "-lang:zz", NULL, cases[i][0], cases[i][1]);
    }
    seg_close(s);
}

/* The significant digits of a label: its digits from the first non-zero one to the last
 * non-zero one before any exponent. */
static int significant_digits(const char *s)
{
    int first = -1, last = -1, i = 0;
    for (const char *p = s; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9') {
            if (*p != '0') {
                first = first < 0 ? i : first;
                last = i;
            }
            i++;
        }
    }
    return first < 0 ? 1 : last - first + 1;
}

/* Checks qry_format_double(v): reads back to v (through strtod and through the filter
 * syntax), no exponent for magnitudes in [1e-6, 1e21), and no %.Ng with fewer digits reads
 * back. */
static void check_float_label(double v)
{
    char got[64];
    int n = qry_format_double(v, got, sizeof got);
    assert_int_equal((size_t)n, strlen(got));
    if (strtod(got, NULL) != v) {
        fail_msg("%.17g: '%s' reads back as %.17g", v, got, strtod(got, NULL));
    }
    bool is_ordinary = fabs(v) >= 1e-6 && fabs(v) < 1e21;
    if (is_ordinary != (strchr(got, 'e') == NULL) && v != 0) {
        fail_msg("%.17g: '%s' (an exponent only outside [1e-6, 1e21))", v, got);
    }
    int digits = significant_digits(got);
    for (int prec = 1; prec < digits; prec++) {
        char shorter[400]; /* prec < 18 keeps it short, but gcc sizes %.*g for any precision */
        snprintf(shorter, sizeof shorter, "%.*g", prec, v);
        if (strtod(shorter, NULL) == v) {
            fail_msg("%.17g: '%s' has %d digits, '%s' reads back too", v, got, digits, shorter);
        }
    }
    const struct sch_field *price = sch_find(tattr_schema_, "price", 5);
    struct sd_error err = {0};
    struct qry_fval fv = {.attr = price, .err = &err};
    struct qry_filter f;
    if (qry_filter_value(&fv, got, (size_t)n, 0, false, &f) || f.flo != v || f.fhi != v) {
        fail_msg("%.17g: the clause 'price:%s' is not that value: %s", v, got, err.msg);
    }
}

/* Issue: float buckets came out as "5e+01", "1e+02", "1.2e+02" (%g at the fewest digits). */
static void test_facet_float_labels_shortest_without_exponent(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {50, "50"},
        {100, "100"},
        {120, "120"},
        {2.5, "2.5"},
        {0.1, "0.1"},
        {0.3, "0.3"},
        {0.1 + 0.2, "0.30000000000000004"},
        {-9.99, "-9.99"},
        {1e9, "1000000000"},
        {123456789012345680000.0, "123456789012345680000"},
        {1e21, "1e+21"},
        {1.5e22, "1.5e+22"},
        {1e-6, "0.000001"},
        {1.25e-6, "0.00000125"},
        {1e-7, "1e-7"},
        {-1.5e-7, "-1.5e-7"},
        {0, "0"},
        {-0.0, "0"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {9007199254740993.0, "9007199254740992"},
        {0.000123, "0.000123"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[64];
        qry_format_double(cases[i].v, got, sizeof got);
        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("%.17g: got '%s', want '%s'", cases[i].v, got, cases[i].want);
        }
        check_float_label(cases[i].v);
    }
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        if (i % 3 == 0) { /* any finite double */
            memcpy(&v, &x, sizeof v);
            if (!isfinite(v)) {
                continue;
            }
        } else { /* a decimal as people type them: up to 9 digits, a few places */
            int64_t m = (int64_t)(x % 2000000000u) - 1000000000;
            v = (double)m / pow(10, (double)((x >> 40) % 12));
        }
        check_float_label(v);
    }
}

/* A search whose matches hold no value of the field, on a context whose value maps were never
 * filled: no bucket. Found by tests/soak/search_sweep.py under UBSan (qsort of a NULL map). */
static void test_facet_nothing_to_count(void **state)
{
    (void)state;
    struct seg *s = tattr_build(tattr_stem, tattr_docs, TATTR_NDOCS, true);
    struct qry_segment segs[] = {{s, NULL}};
    struct qry_ctx *warm = tattr_ctx;
    static const char *const specs[] = {"lang", "tags",  "year", "year:interval=10",
                                        "date", "price", "flag", "year:ranges=..2000|2000.."};
    static const char *const want[] = {
        "o=0 m=0", "o=0 m=0", "o=0 m=0", "o=0 m=0",
        "o=0 m=0", "o=0 m=0", "o=0 m=0", "..2000=0 2000..=0 o=0 m=0"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        assert_int_equal(qry_ctx_new(&tattr_ctx), SD_OK);
        expect(segs, 1, "nosuchword", NULL, specs[i], want[i]);
        qry_ctx_free(tattr_ctx);
    }
    tattr_ctx = warm;
    seg_close(s);
}

static void test_facet_own_field_counts_as_if_not_filtered(void **state)
{
    (void)state;
    struct seg *s = tattr_build(tattr_stem, tattr_docs, TATTR_NDOCS, true);
    struct qry_segment segs[] = {{s, NULL}};
    char got[256];
    assert_int_equal(facet(segs, 1, "lang:ru", NULL, "lang", got, sizeof got), 2);
    assert_string_equal(got, "en=2 ru=2 pt-BR=1 o=0 m=0");
    expect(segs, 1, "lang:ru", NULL, "tags", "poetry=2 prose=1 o=0 m=0");
    assert_int_equal(facet(segs, 1, "spring", "lang:en", "lang", got, sizeof got), 1);
    assert_string_equal(got, "en=1 pt-BR=1 ru=1 o=0 m=0");
    expect(segs, 1, "spring", "lang:en", "year", "1999=1 o=0 m=0");
    /* a clause over two fields restricts both facets */
    expect(segs, 1, "spring", "lang:en OR year:2012", "lang", "en=1 ru=1 o=0 m=0");
    /* two clauses on the field: both lifted; the text and other fields still apply */
    expect(segs, 1, "spring -lang:ru", "lang:en", "lang", "en=1 pt-BR=1 ru=1 o=0 m=0");
    expect(segs, 1, "spring year:>=2010", "-lang:ru", "year", "1999=1 2010=1 o=0 m=0");
    expect(segs, 1, "spring year:>=2010", NULL, "year:interval=100", "1900=1 2000=2 o=0 m=0");
    /* a value no document has: no hit, yet the facet on its field still counts */
    assert_int_equal(facet(segs, 1, "spring", "lang:xx", "lang", got, sizeof got), 0);
    assert_string_equal(got, "en=1 pt-BR=1 ru=1 o=0 m=0");
    /* inside an OR with text the clause is part of the words' match, not lifted */
    expect(segs, 1, "winter OR lang:pt-BR", NULL, "lang", "en=1 pt-BR=1 ru=1 o=0 m=0");
    seg_close(s);
}

static void test_facet_segments_merge_by_value(void **state)
{
    (void)state;
    struct seg *a = tattr_build(tattr_stem, tattr_docs, 3, true);
    static const struct tadoc old[] = {
        {"d6", "Old spring", "spring", .has_year = true, .year = 2012, .lang = "ru", .flag = -1}};
    struct seg *b = tattr_build(tattr_stem, old, 1, false);
    struct seg *c = tattr_build(tattr_stem, tattr_docs + 3, 2, true);
    uint64_t del[1] = {2}; /* d5 */
    struct qry_segment segs[] = {{a, NULL}, {b, NULL}, {c, del}};
    expect(segs, 3, "-lang:zz", NULL, "lang", "en=2 pt-BR=1 ru=1 o=0 m=1");
    expect(segs, 3, "-lang:zz", NULL, "tags", "drama=1 essay=1 poetry=1 prose=1 o=0 m=2");
    expect(segs, 3, "spring", NULL, "year:interval=5", "1995=1 2010=2 o=0 m=1");
    seg_close(a);
    seg_close(b);
    seg_close(c);
}

/* The allocations of one facet search over segs (parsed before counting starts). */
static unsigned long facet_allocs(const struct qry_segment *segs, size_t n)
{
    static const char *const specs[] = {"lang", "tags:size=3",         "year:interval=10",
                                        "year", "date:interval=month", "price:ranges=..10|10.."};
    struct sd_error err = {0};
    struct qry *q = NULL;
    struct qry_facets *f = NULL;
    assert_int_equal(qry_parse_schema(tattr_ctx, "common", 6, tattr_schema_, &q, &err), SD_OK);
    assert_int_equal(qry_facets_parse(specs, 6, tattr_schema_, &f, &err), SD_OK);
    struct qry_params p;
    qry_params_default(&p);
    p.facets = f;
    struct qry_result r;
    assert_int_equal(qry_search(tattr_ctx, q, segs, n, &p, &r, &err), SD_OK); /* warms scratch */
    qry_result_free(&r);
    failalloc_arm(ULONG_MAX);
    assert_int_equal(qry_search(tattr_ctx, q, segs, n, &p, &r, &err), SD_OK);
    unsigned long count = failalloc_count();
    assert_false(failalloc_disarm());
    assert_int_equal(r.facets[0].nbuckets, 3);
    qry_result_free(&r);
    qry_facets_free(f);
    qry_free(q);
    return count;
}

static void test_facet_search_allocates_nothing_per_document(void **state)
{
    (void)state;
    enum { N = 40000 };
    static const char *const langs[] = {"en", "ru", "de"};
    static const char *const tags[] = {"a", "b", "c", "d"};
    static const char *const dates[] = {"2015-01-10", "2015-02-10T12:00:00Z", "2016-07-01"};
    struct tadoc *docs = calloc(N, sizeof *docs);
    char(*ids)[16] = calloc(N, 16);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(ids[i], 16, "x%05u", i);
        docs[i] = (struct tadoc){.id = ids[i],
                                 .body = "common words",
                                 .has_year = true,
                                 .year = 1990 + (int64_t)(i * 2654435761u % 35),
                                 .has_price = true,
                                 .price = (double)(i % 20),
                                 .lang = langs[i % 3],
                                 .tags = {tags[i % 4], tags[(i + 1) % 4]},
                                 .date = dates[i % 3],
                                 .flag = -1};
    }
    struct seg *small = tattr_build(tattr_stem, docs, 1000, true);
    struct seg *big = tattr_build(tattr_stem, docs, N, true);
    struct qry_segment s1[] = {{small, NULL}};
    struct qry_segment s2[] = {{big, NULL}};
    unsigned long few = facet_allocs(s1, 1);
    unsigned long many = facet_allocs(s2, 1);
    if (few != many) {
        fail_msg("allocations: %lu over 1000 documents, %lu over %d", few, many, N);
    }
    assert_true(many < 200);
    seg_close(small);
    seg_close(big);
    free(docs);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facet_parse_specs_and_errors),
        cmocka_unit_test(test_facet_every_kind_counts_exactly),
        cmocka_unit_test(test_facet_float_labels_shortest_without_exponent),
        cmocka_unit_test(test_facet_nothing_to_count),
        cmocka_unit_test(test_facet_own_field_counts_as_if_not_filtered),
        cmocka_unit_test(test_facet_segments_merge_by_value),
        cmocka_unit_test(test_facet_search_allocates_nothing_per_document),
    };
    return cmocka_run_group_tests(tests, tattr_setup, tattr_teardown);
}
