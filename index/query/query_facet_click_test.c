/*
 * query_facet_click_test.c: a facet bucket, turned into the filter clause a client sends when
 * it is clicked, keeps exactly the bucket's count (docs/QUERY.md "Facets": "clicking a
 * sidebar entry gives what it promised"):
 *   - keyword values of random bytes (quotes, backslashes, spaces, ':', '(', ')', ',', '|',
 *     Cyrillic, typographic quotes, OR...), each bucket's value quoted as docs/QUERY.md
 *     "Quoting a keyword value" says and the search page's quote() does (`"` and `\` escaped
 *     by a backslash), alone, in a group, ORed with another, in the filter and in q; and
 *     named by their bytes in a values= facet spec;
 *   - float values: each label as an equality clause (`price:50`), so labels read back;
 *   - float intervals (0.1, 0.25, 0.3, 1e-3, 7, ...) over decimal values, many on bucket
 *     boundaries: the buckets and their counts equal an exact decimal computation (integers
 *     scaled by a power of ten, no floating point), each label is its decimal start, and
 *     `price:(>=start <next start)` totals each count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_attr_util.h"

#define NDOCS 300

static uint64_t g_rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

/* Documents that own their strings: ids, keyword values. */
struct cdocs {
    struct tadoc d[NDOCS];
    char id[NDOCS][16];
    size_t n;
};

static void cdocs_add(struct cdocs *c, struct tadoc d)
{
    assert_true(c->n < NDOCS);
    snprintf(c->id[c->n], sizeof c->id[c->n], "c%03zu", c->n);
    d.id = c->id[c->n];
    d.title = "t";
    d.body = "common";
    d.flag = -1;
    c->d[c->n++] = d;
}

/* The total of q with filter (NULL: none), and with spec (NULL: none) its one facet into *f
 * (freed by the caller with qry_result_free(r)). Browsing queries: totals are exact. */
static uint64_t run(const struct qry_segment *segs, size_t nsegs, const char *q, const char *filter,
                    const char *spec, struct qry_result *r)
{
    struct sd_error err = {0};
    struct qry *qq = NULL, *fq = NULL;
    struct qry_facets *f = NULL;
    if (qry_parse_schema(tattr_ctx, q, strlen(q), tattr_schema_, &qq, &err) ||
        (filter && qry_parse_filter(tattr_ctx, filter, strlen(filter), tattr_schema_, &fq, &err)) ||
        (spec && qry_facets_parse(&spec, 1, tattr_schema_, &f, &err))) {
        fail_msg("q '%s' filter '%s' facet '%s': %s", q, filter ? filter : "", spec ? spec : "",
                 err.msg);
    }
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 0;
    p.filter = fq;
    p.facets = f;
    if (qry_search(tattr_ctx, qq, segs, nsegs, &p, r, &err)) {
        fail_msg("search q '%s' filter '%s': %s", q, filter ? filter : "", err.msg);
    }
    assert_true(r->total_is_exact);
    uint64_t total = r->total;
    qry_facets_free(f);
    qry_free(qq);
    qry_free(fq);
    return total;
}

static uint64_t total_of(const struct qry_segment *segs, size_t nsegs, const char *q,
                         const char *filter)
{
    struct qry_result r;
    uint64_t total = run(segs, nsegs, q, filter, NULL, &r);
    qry_result_free(&r);
    return total;
}

/* v as a quoted filter value (docs/QUERY.md "Quoting a keyword value"), like app.js quote(). */
static void quote(const char *v, char *out, size_t cap)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *v; v++) {
        assert_true(n + 4 < cap);
        if (*v == '"' || *v == '\\') {
            out[n++] = '\\';
        }
        out[n++] = *v;
    }
    out[n++] = '"';
    out[n] = '\0';
}

/* ---- keywords ---- */

#define NVALUES 40

/* A value of 0 to 6 pieces, every one of them something the query syntax reads. */
static void random_value(char *out, size_t cap)
{
    static const char *const pieces[] = {
        "\"",     "\\", " ", ":",    "(",  ")",     ",", "|",    ";",    "*",   "-",  "OR",
        "AND",    "..", ">", "<=",   "a",  "b",     "Z", "дом",  "Ёж",   "«",   "»",  "\u201c",
        "\u201d", "'",  "`", "\\\"", "\t", "lang:", "e", "\"\"", "\\\\", "x y", "-1", "1e3"};
    size_t n = 0;
    out[0] = '\0';
    for (uint32_t k = rnd(7); k > 0; k--) {
        const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
        size_t len = strlen(p);
        assert_true(n + len < cap);
        memcpy(out + n, p, len + 1);
        n += len;
    }
}

/* values= names keyword values by their bytes, quotes and backslashes included (no escapes;
 * a value with '|' or ';' cannot be named): its buckets count what the value facet did. */
static void check_values_spec(const struct qry_segment *segs, size_t nsegs, const char *field,
                              const struct qry_facet *all)
{
    char spec[4096];
    size_t len = (size_t)snprintf(spec, sizeof spec, "%s:values=", field);
    uint64_t want[64];
    size_t n = 0;
    for (size_t i = 0; i < all->nbuckets && n < 64; i++) {
        const char *v = all->buckets[i].value;
        if (v[0] && !strpbrk(v, "|;") && len + strlen(v) + 2 < sizeof spec) {
            len += (size_t)snprintf(spec + len, sizeof spec - len, "%s%s", n ? "|" : "", v);
            want[n++] = all->buckets[i].count;
        }
    }
    struct qry_result r;
    run(segs, nsegs, "-year:0", NULL, spec, &r);
    assert_int_equal(r.facets[0].nbuckets, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r.facets[0].buckets[i].count, want[i]);
    }
    qry_result_free(&r);
}

static void check_keyword_buckets(const struct qry_segment *segs, size_t nsegs, const char *field)
{
    char spec[32], filter[512], q[512], either[1024];
    snprintf(spec, sizeof spec, "%s:size=1000", field);
    struct qry_result r;
    run(segs, nsegs, "-year:0", NULL, spec, &r);
    const struct qry_facet *fc = &r.facets[0];
    assert_true(fc->nbuckets > 10);
    for (size_t i = 0; i < fc->nbuckets; i++) {
        const struct qry_facet_bucket *b = &fc->buckets[i];
        char v[256];
        quote(b->value, v, sizeof v);
        snprintf(filter, sizeof filter, "%s:%s", field, v);
        uint64_t got = total_of(segs, nsegs, "-year:0", filter);
        if (got != b->count) {
            fail_msg("bucket '%s' counts %llu, filter '%s' totals %llu", b->value,
                     (unsigned long long)b->count, filter, (unsigned long long)got);
        }
        snprintf(filter, sizeof filter, "%s:(%s)", field, v); /* app.js: field:(v OR v) */
        assert_int_equal(total_of(segs, nsegs, "-year:0", filter), b->count);
        snprintf(q, sizeof q, "-year:0 %s:%s", field, v); /* in q, not the filter */
        assert_int_equal(total_of(segs, nsegs, q, NULL), b->count);
        if (i > 0 && strcmp(field, "lang") == 0) { /* one value per document: counts add up */
            char w[256];
            quote(fc->buckets[i - 1].value, w, sizeof w);
            snprintf(either, sizeof either, "%s:(%s OR %s)", field, w, v);
            assert_int_equal(total_of(segs, nsegs, "-year:0", either),
                             b->count + fc->buckets[i - 1].count);
        }
    }
    check_values_spec(segs, nsegs, field, fc);
    qry_result_free(&r);
}

static void test_keyword_bucket_quoted_as_filter_totals_its_count(void **state)
{
    (void)state;
    static char values[NVALUES][256];
    for (size_t i = 0; i < NVALUES; i++) {
        random_value(values[i], sizeof values[i]);
    }
    strcpy(values[0], "a\"b"); /* the values of the issue */
    strcpy(values[1], "a\\b");
    static struct cdocs c;
    for (size_t i = 0; i < NDOCS; i++) {
        struct tadoc d = {.lang = values[rnd(NVALUES)]};
        for (uint32_t t = 0, nt = rnd(4); t < nt; t++) {
            d.tags[t] = values[rnd(NVALUES)]; /* duplicates too: counted once */
        }
        cdocs_add(&c, d);
    }
    struct seg *a = tattr_build(tattr_stem, c.d, NDOCS / 2, true);
    struct seg *b = tattr_build(tattr_stem, c.d + NDOCS / 2, NDOCS - NDOCS / 2, true);
    struct qry_segment segs[] = {{a, NULL}, {b, NULL}};
    check_keyword_buckets(segs, 2, "lang");
    check_keyword_buckets(segs, 2, "tags");
    seg_close(a);
    seg_close(b);
}

/* ---- float values ---- */

/* Each bucket of spec, its label as an equality clause, totals its count. */
static void check_value_labels(const struct qry_segment *segs, const char *spec, size_t nvalues)
{
    struct qry_result r;
    run(segs, 1, "-lang:zz", NULL, spec, &r);
    const struct qry_facet *fc = &r.facets[0];
    assert_true(fc->nbuckets >= nvalues - 2); /* all but by chance a few, -0 being 0 */
    for (size_t i = 0; i < fc->nbuckets; i++) {
        char filter[128];
        snprintf(filter, sizeof filter, "price:%s", fc->buckets[i].value);
        uint64_t got = total_of(segs, 1, "-lang:zz", filter);
        if (got != fc->buckets[i].count) {
            fail_msg("bucket '%s' counts %llu, filter '%s' totals %llu", fc->buckets[i].value,
                     (unsigned long long)fc->buckets[i].count, filter, (unsigned long long)got);
        }
    }
    qry_result_free(&r);
}

static void test_float_value_label_as_filter_totals_its_count(void **state)
{
    (void)state;
    static const double values[] = {50,    100,  120,    2.5,    0.1,  0.3,  0.1 + 0.2,
                                    -2.5,  1e21, 1.5e22, 1e-7,   1e-6, -0.0, 1e-300,
                                    1e300, 9.99, 1234.5, 0.0625, 7e-5, -120, 123456789012};
    static struct cdocs c;
    c.n = 0;
    size_t nvalues = sizeof values / sizeof values[0];
    for (size_t i = 0; i < NDOCS; i++) {
        cdocs_add(&c, (struct tadoc){.has_price = true, .price = values[rnd((uint32_t)nvalues)]});
    }
    struct seg *s = tattr_build(tattr_stem, c.d, c.n, true);
    struct qry_segment segs[] = {{s, NULL}};
    /* an interval below the values' precision (1e300 / 1e-300 overflows): each value is its
     * own bucket, labelled as itself (not "inf", not a product an ulp off) */
    static const char *const specs[] = {"price:size=1000", "price:interval=1e-300"};
    for (size_t sp = 0; sp < sizeof specs / sizeof specs[0]; sp++) {
        check_value_labels(segs, specs[sp], nvalues);
    }
    seg_close(s);
}

/* ---- float intervals, against exact decimals ---- */

/* An interval as typed and as the integer m * 10^-b. */
struct ival {
    const char *text;
    int64_t m;
    int b;
};

static int64_t pow10i(int e)
{
    int64_t p = 1;
    while (e-- > 0) {
        p *= 10;
    }
    return p;
}

static int64_t floor_div(int64_t x, int64_t y)
{
    int64_t q = x / y;
    return q - (x % y != 0 && (x < 0) != (y < 0));
}

/* n * 10^-places as the shortest decimal: no exponent, no trailing zeros ("0.3", "-12", "0"). */
static void decimal(int64_t n, int places, char *out, size_t cap)
{
    int64_t p = pow10i(places);
    int64_t a = n < 0 ? -n : n;
    int len = snprintf(out, cap, "%s%lld", n < 0 ? "-" : "", (long long)(a / p));
    int64_t frac = a % p;
    if (frac == 0) {
        return;
    }
    int digits = places;
    while (frac % 10 == 0) { /* no trailing zeros */
        frac /= 10;
        digits--;
    }
    char f[32];
    snprintf(f, sizeof f, "%020lld", (long long)frac);
    snprintf(out + len, cap - (size_t)len, ".%s", f + 20 - digits);
}

/* A value v = n * 10^-c as a decimal scaled to 10^-(b+2), its bucket k in that interval. */
struct dval {
    int64_t scaled;
    int64_t k;
};

static int cmp_dval(const void *x, const void *y)
{
    const struct dval *a = x, *b = y;
    return (a->k > b->k) - (a->k < b->k);
}

/* NDOCS values around k intervals, k from -100 to 99 times spread. */
static void check_interval(const struct ival *iv, int64_t spread)
{
    static struct cdocs c;
    static struct dval dv[NDOCS];
    c.n = 0;
    int scale = iv->b + 2;      /* every value has at most b + 2 decimal places */
    int64_t unit = iv->m * 100; /* the interval at that scale */
    for (size_t i = 0; i < NDOCS; i++) {
        int64_t k = ((int64_t)rnd(200) - 100) * spread;
        int64_t scaled;
        if (rnd(2)) { /* a bucket boundary, exactly k intervals */
            scaled = k * unit;
        } else { /* anywhere, with b, b + 1 or b + 2 decimal places */
            int64_t step = pow10i((int)rnd(3));
            scaled = floor_div(k * unit + (int64_t)rnd((uint32_t)unit), step) * step;
        }
        dv[i] = (struct dval){scaled, floor_div(scaled, unit)};
        double v = (double)scaled / (double)pow10i(scale); /* the nearest double: one rounding */
        cdocs_add(&c, (struct tadoc){.has_price = true, .price = v});
    }
    qsort(dv, NDOCS, sizeof dv[0], cmp_dval);
    static int64_t ks[NDOCS]; /* the buckets' k, in order */
    size_t nk = 0;
    char want[16384], got[16384], label[64];
    size_t wl = 0, gl = 0;
    for (size_t i = 0; i < NDOCS;) {
        size_t j = i;
        while (j < NDOCS && dv[j].k == dv[i].k) {
            j++;
        }
        ks[nk++] = dv[i].k;
        decimal(dv[i].k * iv->m, iv->b, label, sizeof label);
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s=%zu ", label, j - i);
        i = j;
    }
    struct seg *s = tattr_build(tattr_stem, c.d, c.n, true);
    struct qry_segment segs[] = {{s, NULL}};
    char spec[64];
    snprintf(spec, sizeof spec, "price:interval=%s", iv->text);
    struct qry_result r;
    run(segs, 1, "-lang:zz", NULL, spec, &r);
    const struct qry_facet *fc = &r.facets[0];
    for (size_t i = 0; i < fc->nbuckets; i++) {
        gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s=%llu ", fc->buckets[i].value,
                               (unsigned long long)fc->buckets[i].count);
    }
    if (strcmp(got, want) != 0) {
        fail_msg("interval %s:\n got  %s\n want %s", iv->text, got, want);
    }
    for (size_t i = 0; i < fc->nbuckets; i++) {
        /* the click: [start, start + interval), the end as the decimal a client adds up */
        const struct qry_facet_bucket *b = &fc->buckets[i];
        char end[64], filter[160];
        decimal((ks[i] + 1) * iv->m, iv->b, end, sizeof end);
        snprintf(filter, sizeof filter, "price:(>=%s <%s)", b->value, end);
        uint64_t total = total_of(segs, 1, "-lang:zz", filter);
        if (total != b->count) {
            fail_msg("interval %s: bucket '%s' counts %llu, '%s' totals %llu", iv->text, b->value,
                     (unsigned long long)b->count, filter, (unsigned long long)total);
        }
    }
    qry_result_free(&r);
    seg_close(s);
}

/* Issue: with price:interval=0.1 the value 0.3 was counted in bucket "0.2" (floor(0.3 / 0.1)
 * is 2 in doubles), against the documented [start, start + interval). */
static void test_float_interval_buckets_equal_exact_decimals(void **state)
{
    (void)state;
    static const struct ival ivals[] = {
        {"0.1", 1, 1},  {"0.25", 25, 2},   {"0.3", 3, 1},  {"1e-3", 1, 3}, {"7", 7, 0},
        {"2.5", 25, 1}, {"0.7", 7, 1},     {"1.1", 11, 1}, {"0.05", 5, 2}, {"0.01", 1, 2},
        {"3.3", 33, 1}, {"0.123", 123, 3}, {"10", 10, 0},  {"0.2", 2, 1},  {"1e-4", 1, 4},
    };
    for (size_t i = 0; i < sizeof ivals / sizeof ivals[0]; i++) {
        for (int64_t spread = 1; spread <= 1000000; spread *= 100) { /* up to 10^8 buckets */
            check_interval(&ivals[i], spread);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_bucket_quoted_as_filter_totals_its_count),
        cmocka_unit_test(test_float_value_label_as_filter_totals_its_count),
        cmocka_unit_test(test_float_interval_buckets_equal_exact_decimals),
    };
    return cmocka_run_group_tests(tests, tattr_setup, tattr_teardown);
}
