/*
 * facet_count.c: counting facets over every match of a search (facet.c parses the specs).
 *
 * A search with facets visits every document its words match, live or not filtered out
 * alike (search.c): for each, qry_conj_failed() gives the bitmask of the predicate's
 * conjuncts it fails. It is a hit when the mask is 0; a facet counts it when the mask has
 * no bit outside the facet's own: the conjuncts that restrict only the facet's field
 * (`lang:ru` for a facet on lang), so a sidebar shows the other languages' counts "as if
 * lang were not filtered" while every other condition still applies.
 *
 * Per document and facet the work is a column read per value and an array or hash update:
 *   keyword values  counts[ordinal] in an array per segment (a stamp per ordinal makes a
 *                   document count once per distinct value); after the segment, the
 *                   non-zero counts are merged by value bytes into a hash map, since
 *                   ordinals are per segment
 *   numbers         a hash map keyed by the value, or by the interval's bucket (a day, a
 *                   month as year*12+month, a year, v - v mod interval for an int, and for
 *                   a float the start of [start, next start) holding v, starts being the
 *                   multiples of the interval's decimal: interval_start)
 *   values=, ranges= a count per clause (each tested with the filter's reader's bounds)
 * Every array and map lives in the thread's scratch and only grows: nothing is allocated
 * per document (test_query_facet counts allocations). The results, sorted and labelled,
 * are allocated once at the end.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facet_int.h"

#define DAY_MS INT64_C(86400000)

/* ---- the search's counters ---- */

int qry_facets_begin(struct qry_scratch *s, const struct qry_facets *f, struct sd_error *err)
{
    s->nfacet_acc = 0;
    if (!f || f->n == 0) {
        return SD_OK;
    }
    if (!s->facet_acc && !(s->facet_acc = calloc(QRY_MAX_FACETS, sizeof *s->facet_acc))) {
        return sd_errorf(err, SD_ENOMEM, "facets");
    }
    const struct qry_conj *c = s->conj.data;
    for (size_t i = 0; i < f->n; i++) {
        struct qry_facet_acc *a = &s->facet_acc[i];
        a->spec = &f->specs[i];
        a->missing = a->others = 0;
        a->rc = SD_OK;
        a->mask = 0;
        for (size_t k = 0; k < s->conj.count && k < 63; k++) {
            if (c[k].field && c[k].field_len == a->spec->field.name_len &&
                memcmp(c[k].field, a->spec->field.name, c[k].field_len) == 0) {
                a->mask |= UINT64_C(1) << k;
            }
        }
        qry_fmap_clear(&a->map);
        size_t n = a->spec->nconds;
        if (qry_vec_reserve(&a->cond_count, n + 1, sizeof(uint64_t)) ||
            qry_vec_reserve(&a->cond_stamp, n + 1, sizeof(uint32_t))) {
            return sd_errorf(err, SD_ENOMEM, "facets");
        }
        memset(a->cond_count.data, 0, (n + 1) * sizeof(uint64_t));
    }
    s->nfacet_acc = f->n;
    return SD_OK;
}

static int acc_segment(struct qry_facet_acc *a, const struct seg *seg)
{
    const struct qry_facet_spec *sp = a->spec;
    a->col = qry_column(seg, sp->field.name, sp->field.name_len, sp->sch_type);
    memset(a->cond_stamp.data, 0, (sp->nconds + 1) * sizeof(uint32_t));
    if (!a->col || sp->sch_type != SCH_KEYWORD) {
        return SD_OK;
    }
    size_t nkw = seg_attr_keyword_count(a->col);
    if (qry_vec_reserve(&a->ord_count, nkw + 1, sizeof(uint32_t)) ||
        qry_vec_reserve(&a->ord_stamp, nkw + 1, sizeof(uint32_t)) ||
        qry_vec_reserve(&a->ord_cond, nkw + 1, sizeof(int32_t))) {
        return SD_ENOMEM;
    }
    memset(a->ord_count.data, 0, (nkw + 1) * sizeof(uint32_t));
    memset(a->ord_stamp.data, 0, (nkw + 1) * sizeof(uint32_t));
    int32_t *oc = a->ord_cond.data;
    for (size_t k = 0; k < nkw; k++) {
        oc[k] = -1;
    }
    for (size_t k = sp->nconds; k-- > 0;) { /* the first of duplicate values wins */
        uint32_t ord;
        if (seg_attr_keyword_find(a->col, sp->labels[k], strlen(sp->labels[k]), &ord) == SD_OK) {
            oc[ord] = (int32_t)k;
        }
    }
    return SD_OK;
}

int qry_facets_segment(struct qry_scratch *s, const struct seg *seg, struct sd_error *err)
{
    for (size_t i = 0; i < s->nfacet_acc; i++) {
        if (acc_segment(&s->facet_acc[i], seg)) {
            return sd_errorf(err, SD_ENOMEM, "facets");
        }
    }
    return SD_OK;
}

static void count_keyword(struct qry_facet_acc *a, uint32_t doc, uint64_t first, uint32_t n)
{
    uint32_t *count = a->ord_count.data;
    uint32_t *stamp = a->ord_stamp.data;
    const int32_t *oc = a->ord_cond.data;
    uint64_t *cc = a->cond_count.data;
    bool has_other = false;
    for (uint64_t i = first; i < first + n; i++) {
        uint32_t ord = seg_attr_ord(a->col, i);
        if (stamp[ord] == doc + 1) {
            continue;
        }
        stamp[ord] = doc + 1;
        if (a->spec->mode == QFM_VALUES) {
            count[ord]++;
        } else if (oc[ord] >= 0) {
            cc[oc[ord]]++;
        } else {
            has_other = true;
        }
    }
    a->others += has_other;
}

/* The start of float bucket k: the double nearest the decimal k * interval, computed exactly
 * while k * fdigits is below 10^15 and the interval's power of ten within 10^±22: both
 * operands are then exact doubles, so the one division or product rounds once, to the nearest
 * (Clinger's fast path of strtod), and the bucket starts at what its label says ("0.3" for
 * 3 * 0.1, not 0.30000000000000004). Beyond, k * interval in doubles. */
static double bucket_start(const struct qry_facet_spec *sp, double k)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double m = k * (double)sp->fdigits; /* exact below 2^53 */
    if (fabs(m) < 1e15 && sp->fexp10 >= -22 && sp->fexp10 <= 22) {
        return sp->fexp10 < 0 ? m / p10[-sp->fexp10] : m * p10[sp->fexp10];
    }
    return k * sp->fval;
}

/* The start of v's float bucket: the k with start(k) <= v < start(k + 1), so that a bucket
 * holds exactly what the clause `>=start <next start` keeps. floor(v / interval) alone puts
 * 0.3 in bucket 0.2 (0.3 / 0.1 is 2.9999999999999996 in doubles): the quotient is rounded,
 * so k is corrected against the starts themselves, a step or two at most. */
static double interval_start(const struct qry_facet_spec *sp, double v)
{
    double k = floor(v / sp->fval);
    if (!(fabs(k) < 0x1p52)) {
        /* the interval is an ulp or two of v (or v / interval overflows): a bucket holds a
         * double or two, and v is its own, labelled v rather than a product off by an ulp,
         * or "inf" */
        return v;
    }
    double s = bucket_start(sp, k);
    for (int i = 0; i < 4 && s > v; i++) {
        k -= 1;
        s = bucket_start(sp, k);
    }
    for (int i = 0; i < 4; i++) {
        double next = bucket_start(sp, k + 1);
        if (next > v) {
            break;
        }
        k += 1;
        s = next;
    }
    return s;
}

/* The map key of value i (its bucket for an interval). */
static uint64_t num_key(const struct qry_facet_acc *a, uint64_t i)
{
    const struct qry_facet_spec *sp = a->spec;
    if (sp->sch_type == SCH_FLOAT) {
        double v = seg_attr_float(a->col, i);
        if (sp->mode == QFM_INTERVAL) {
            v = interval_start(sp, v);
        }
        v = v == 0 ? 0 : v; /* -0.0 and 0.0 are one bucket */
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        return bits;
    }
    int64_t v = seg_attr_int(a->col, i);
    if (sp->mode == QFM_INTERVAL && sp->sch_type == SCH_DATE) {
        int64_t day = v / DAY_MS - (v % DAY_MS < 0);
        v = sp->unit == QDU_DAY ? day : qry_date_bucket(day, sp->unit);
    } else if (sp->mode == QFM_INTERVAL) {
        int64_t r = v % sp->ival;
        r += r < 0 ? sp->ival : 0;
        /* v - r, except below INT64_MIN (the first bucket then starts at INT64_MIN) */
        v = (uint64_t)v - (uint64_t)INT64_MIN < (uint64_t)r ? INT64_MIN : v - r;
    }
    return (uint64_t)v;
}

static bool cond_match(const struct qry_facet_acc *a, const struct qry_filter *f, uint64_t i)
{
    if (f->kind == QF_FLOAT) {
        double v = seg_attr_float(a->col, i);
        return (f->is_flo_open ? v > f->flo : v >= f->flo) &&
               (f->is_fhi_open ? v < f->fhi : v <= f->fhi);
    }
    int64_t v = seg_attr_int(a->col, i);
    return v >= f->lo && v <= f->hi;
}

static void count_conds(struct qry_facet_acc *a, uint32_t doc, uint64_t first, uint32_t n)
{
    uint64_t *cc = a->cond_count.data;
    uint32_t *stamp = a->cond_stamp.data;
    bool has_other = false;
    for (uint64_t i = first; i < first + n; i++) {
        bool is_in = false;
        for (size_t k = 0; k < a->spec->nconds; k++) {
            if (cond_match(a, &a->spec->conds[k], i)) {
                is_in = true;
                cc[k] += stamp[k] != doc + 1;
                stamp[k] = doc + 1;
            }
        }
        has_other |= !is_in;
    }
    a->others += has_other;
}

static void count_numbers(struct qry_facet_acc *a, uint64_t first, uint32_t n)
{
    for (uint64_t i = first; i < first + n; i++) {
        uint64_t key = num_key(a, i);
        bool is_seen = false;
        for (uint64_t j = first; j < i && !is_seen; j++) {
            is_seen = num_key(a, j) == key; /* once per bucket; multi-valued docs only */
        }
        struct qry_fslot *e = is_seen ? NULL : qry_fmap_num(&a->map, key);
        if (e) {
            e->count++;
        } else if (!is_seen) {
            a->rc = SD_ENOMEM;
        }
    }
}

void qry_facets_doc(struct qry_scratch *s, uint32_t doc, uint64_t failed)
{
    for (size_t f = 0; f < s->nfacet_acc; f++) {
        struct qry_facet_acc *a = &s->facet_acc[f];
        if (failed & ~a->mask) {
            continue;
        }
        uint64_t first = 0;
        uint32_t n = 0;
        if (a->col) {
            seg_attr_values(a->col, doc, &first, &n);
        }
        if (n == 0) {
            a->missing++;
        } else if (a->spec->sch_type == SCH_KEYWORD) {
            count_keyword(a, doc, first, n);
        } else if (a->spec->mode == QFM_CHOSEN || a->spec->mode == QFM_RANGES) {
            count_conds(a, doc, first, n);
        } else {
            count_numbers(a, first, n);
        }
    }
}

int qry_facets_segment_end(struct qry_scratch *s, struct sd_error *err)
{
    for (size_t f = 0; f < s->nfacet_acc; f++) {
        struct qry_facet_acc *a = &s->facet_acc[f];
        if (a->rc) {
            return sd_errorf(err, a->rc, "facets: out of memory");
        }
        if (!a->col || a->spec->sch_type != SCH_KEYWORD || a->spec->mode != QFM_VALUES) {
            continue;
        }
        const uint32_t *count = a->ord_count.data;
        uint32_t nkw = seg_attr_keyword_count(a->col);
        for (uint32_t ord = 0; ord < nkw; ord++) {
            if (!count[ord]) {
                continue;
            }
            const char *v;
            size_t len;
            seg_attr_keyword(a->col, ord, &v, &len);
            struct qry_fslot *e = qry_fmap_bytes(&a->map, v, len);
            if (!e) {
                return sd_errorf(err, SD_ENOMEM, "facets: out of memory");
            }
            e->count += count[ord];
        }
    }
    return SD_OK;
}

void qry_facets_acc_free(struct qry_facet_acc *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        qry_vec_free(&a[i].cond_count);
        qry_vec_free(&a[i].cond_stamp);
        qry_vec_free(&a[i].ord_count);
        qry_vec_free(&a[i].ord_stamp);
        qry_vec_free(&a[i].ord_cond);
        qry_vec_free(&a[i].map.pool);
        free(a[i].map.slots);
    }
    free(a);
}

/* ---- results ---- */

struct fsort {
    const struct qry_facet_acc *a;
    bool by_count;
};

static int cmp_key(const struct qry_facet_acc *a, const struct qry_fslot *x,
                   const struct qry_fslot *y)
{
    if (a->spec->sch_type == SCH_KEYWORD) {
        const char *p = (const char *)a->map.pool.data;
        int c = memcmp(p + x->key, p + y->key, x->len < y->len ? x->len : y->len);
        return c ? c : (x->len > y->len) - (x->len < y->len);
    }
    if (a->spec->sch_type == SCH_FLOAT) {
        double u, v;
        memcpy(&u, &x->key, sizeof u);
        memcpy(&v, &y->key, sizeof v);
        return (u > v) - (u < v);
    }
    int64_t u = (int64_t)x->key, v = (int64_t)y->key;
    return (u > v) - (u < v);
}

static int cmp_slot(const void *x, const void *y, void *arg)
{
    const struct fsort *fs = arg;
    const struct qry_fslot *a = x, *b = y;
    if (fs->by_count && a->count != b->count) {
        return a->count > b->count ? -1 : 1;
    }
    return cmp_key(fs->a, a, b);
}

/* The label of a bucket into buf (at least 64 bytes) or, for a keyword, its bytes. */
static int label(const struct qry_facet_acc *a, const struct qry_fslot *e, char *buf, size_t cap)
{
    const struct qry_facet_spec *sp = a->spec;
    if (sp->sch_type == SCH_FLOAT) {
        double v;
        memcpy(&v, &e->key, sizeof v);
        return qry_format_double(v, buf, cap);
    }
    int64_t v = (int64_t)e->key;
    if (sp->sch_type == SCH_BOOL) {
        return snprintf(buf, cap, "%s", v ? "true" : "false");
    }
    if (sp->sch_type == SCH_DATE) {
        return sp->mode == QFM_INTERVAL ? qry_format_bucket(v, sp->unit, buf, cap)
                                        : qry_format_date(v, buf, cap);
    }
    return snprintf(buf, cap, "%" PRId64, v);
}

static int put_bucket(struct qry_facet_bucket *b, const char *s, size_t len, uint64_t count)
{
    b->value = strndup(s, len);
    b->count = count;
    return b->value ? SD_OK : SD_ENOMEM;
}

static int finish_map(struct qry_facet_acc *a, struct qry_facet *out)
{
    struct qry_fslot *e = a->map.slots;
    size_t n = 0;
    for (size_t i = 0; i < a->map.cap; i++) {
        if (e[i].is_used) {
            e[n++] = e[i]; /* compacts in place: the map is cleared before its next use */
        }
    }
    struct fsort fs = {.a = a, .by_count = a->spec->mode == QFM_VALUES};
    if (n > 1) { /* a map that never held a value has no slots at all: e is NULL */
        qsort_r(e, n, sizeof *e, cmp_slot, &fs);
    }
    size_t keep = n < a->spec->size ? n : a->spec->size;
    out->buckets = calloc(keep ? keep : 1, sizeof *out->buckets);
    if (!out->buckets) {
        return SD_ENOMEM;
    }
    for (size_t i = keep; i < n; i++) {
        out->others += e[i].count;
    }
    for (size_t i = 0; i < keep; i++) {
        char buf[64];
        const char *s = buf;
        size_t len;
        if (a->spec->sch_type == SCH_KEYWORD) {
            s = (const char *)a->map.pool.data + e[i].key;
            len = e[i].len;
        } else {
            len = (size_t)label(a, &e[i], buf, sizeof buf);
        }
        if (put_bucket(&out->buckets[i], s, len, e[i].count)) {
            return SD_ENOMEM;
        }
        out->nbuckets = i + 1;
    }
    qry_fmap_clear(&a->map);
    return SD_OK;
}

static int finish_one(struct qry_facet_acc *a, struct qry_facet *out)
{
    out->field = strdup(a->spec->field.name);
    out->missing = a->missing;
    out->others = a->others;
    if (!out->field) {
        return SD_ENOMEM;
    }
    if (a->spec->mode == QFM_VALUES || a->spec->mode == QFM_INTERVAL) {
        return finish_map(a, out);
    }
    const uint64_t *cc = a->cond_count.data;
    out->buckets = calloc(a->spec->nconds, sizeof *out->buckets);
    if (!out->buckets) {
        return SD_ENOMEM;
    }
    for (size_t k = 0; k < a->spec->nconds; k++) {
        const char *l = a->spec->labels[k];
        if (put_bucket(&out->buckets[k], l, strlen(l), cc[k])) {
            return SD_ENOMEM;
        }
        out->nbuckets = k + 1;
    }
    return SD_OK;
}

int qry_facets_finish(struct qry_scratch *s, struct qry_result *out, struct sd_error *err)
{
    if (s->nfacet_acc == 0) {
        return SD_OK;
    }
    out->facets = calloc(s->nfacet_acc, sizeof *out->facets);
    if (!out->facets) {
        return sd_errorf(err, SD_ENOMEM, "facets");
    }
    out->nfacets = s->nfacet_acc;
    for (size_t f = 0; f < s->nfacet_acc; f++) {
        if (finish_one(&s->facet_acc[f], &out->facets[f])) {
            return sd_errorf(err, SD_ENOMEM, "facets");
        }
    }
    return SD_OK;
}
